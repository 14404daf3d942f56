stages/partition.o: stages/partition.c base/log.h base/util.h \
 core/stage.h core/build.h lib/disklabel.h lib/ext2.h lib/kmod.h \
 lib/recipe.h lib/tree.h
base/log.h:
base/util.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
