builder/doc.o: builder/doc.c builder/boot.h lib/qemu.h base/util.h \
 lib/recipe.h builder/cli.h base/log.h core/stage.h core/build.h \
 lib/disklabel.h lib/ext2.h lib/kmod.h lib/tree.h
builder/boot.h:
lib/qemu.h:
base/util.h:
lib/recipe.h:
builder/cli.h:
base/log.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/tree.h:
