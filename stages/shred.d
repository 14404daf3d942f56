stages/shred.o: stages/shred.c lib/cryptio.h base/util.h base/log.h \
 core/stage.h core/build.h lib/disklabel.h lib/ext2.h lib/kmod.h \
 lib/recipe.h lib/tree.h
lib/cryptio.h:
base/util.h:
base/log.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
