core/build.o: core/build.c core/build.h lib/disklabel.h lib/ext2.h \
 base/util.h lib/kmod.h lib/recipe.h lib/tree.h lib/cpio.h lib/cryptio.h \
 base/log.h
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/cpio.h:
lib/cryptio.h:
base/log.h:
