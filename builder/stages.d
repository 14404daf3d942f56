builder/stages.o: builder/stages.c core/stage.h core/build.h \
 lib/disklabel.h lib/ext2.h base/util.h lib/kmod.h lib/recipe.h \
 lib/tree.h
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
