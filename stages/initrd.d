stages/initrd.o: stages/initrd.c lib/cpio.h base/util.h lib/elfinfo.h \
 lib/kmod.h lib/luks.h lib/secret.h core/fs.h core/build.h \
 lib/disklabel.h lib/ext2.h lib/recipe.h lib/tree.h base/log.h \
 core/stage.h lib/templates.h
lib/cpio.h:
base/util.h:
lib/elfinfo.h:
lib/kmod.h:
lib/luks.h:
lib/secret.h:
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/recipe.h:
lib/tree.h:
base/log.h:
core/stage.h:
lib/templates.h:
