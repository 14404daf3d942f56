core/target.o: core/target.c core/target.h core/build.h lib/disklabel.h \
 lib/ext2.h base/util.h lib/kmod.h lib/recipe.h lib/tree.h lib/e2fuse.h \
 core/fs.h base/log.h lib/sandbox.h
core/target.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/e2fuse.h:
core/fs.h:
base/log.h:
lib/sandbox.h:
