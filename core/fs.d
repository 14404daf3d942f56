core/fs.o: core/fs.c core/fs.h core/build.h lib/disklabel.h lib/ext2.h \
 base/util.h lib/kmod.h lib/recipe.h lib/tree.h lib/cryptio.h base/log.h
core/fs.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/cryptio.h:
base/log.h:
