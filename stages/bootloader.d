stages/bootloader.o: stages/bootloader.c lib/grubbios.h base/util.h \
 base/log.h base/spawn.h core/stage.h core/build.h lib/disklabel.h \
 lib/ext2.h lib/kmod.h lib/recipe.h lib/tree.h lib/templates.h
lib/grubbios.h:
base/util.h:
base/log.h:
base/spawn.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/templates.h:
