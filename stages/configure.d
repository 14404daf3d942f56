stages/configure.o: stages/configure.c core/target.h core/build.h \
 lib/disklabel.h lib/ext2.h base/util.h lib/kmod.h lib/recipe.h \
 lib/tree.h base/log.h lib/secret.h core/stage.h
core/target.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
base/util.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
base/log.h:
lib/secret.h:
core/stage.h:
