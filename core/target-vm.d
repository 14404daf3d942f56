core/target-vm.o: core/target-vm.c core/target.h core/build.h \
 lib/disklabel.h lib/ext2.h base/util.h lib/kmod.h lib/recipe.h \
 lib/tree.h lib/cpio.h lib/elfinfo.h core/fs.h base/log.h lib/qemu.h \
 lib/templates.h
core/target.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/cpio.h:
lib/elfinfo.h:
core/fs.h:
base/log.h:
lib/qemu.h:
lib/templates.h:
