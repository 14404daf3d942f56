builder/driver.o: builder/driver.c builder/driver.h base/util.h \
 builder/boot.h lib/qemu.h lib/recipe.h core/fs.h core/build.h \
 lib/disklabel.h lib/ext2.h lib/kmod.h lib/tree.h base/log.h core/stage.h
builder/driver.h:
base/util.h:
builder/boot.h:
lib/qemu.h:
lib/recipe.h:
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/tree.h:
base/log.h:
core/stage.h:
