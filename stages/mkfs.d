stages/mkfs.o: stages/mkfs.c core/fs.h core/build.h lib/disklabel.h \
 lib/ext2.h base/util.h lib/kmod.h lib/recipe.h lib/tree.h base/log.h \
 core/stage.h
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
base/log.h:
core/stage.h:
