stages/bootloader.o: stages/bootloader.c lib/grubbios.h base/util.h \
 core/fs.h core/build.h lib/disklabel.h lib/ext2.h lib/kmod.h \
 lib/recipe.h lib/tree.h base/log.h base/spawn.h core/stage.h \
 lib/templates.h
lib/grubbios.h:
base/util.h:
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
base/log.h:
base/spawn.h:
core/stage.h:
lib/templates.h:
