stages/fstab.o: stages/fstab.c stages/fstab.h core/build.h \
 lib/disklabel.h lib/ext2.h base/util.h lib/kmod.h lib/recipe.h \
 lib/tree.h base/log.h core/stage.h
stages/fstab.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
base/log.h:
core/stage.h:
