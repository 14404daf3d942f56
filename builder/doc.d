builder/doc.o: builder/doc.c builder/cli.h base/log.h base/util.h \
 lib/recipe.h core/stage.h core/build.h lib/disklabel.h lib/ext2.h \
 lib/kmod.h lib/tree.h
builder/cli.h:
base/log.h:
base/util.h:
lib/recipe.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/tree.h:
