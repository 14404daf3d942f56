stages/fstab.o: stages/fstab.c core/fs.h core/build.h lib/disklabel.h \
 lib/ext2.h base/util.h lib/kmod.h lib/recipe.h lib/tree.h stages/fstab.h \
 base/log.h core/stage.h
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
stages/fstab.h:
base/log.h:
core/stage.h:
