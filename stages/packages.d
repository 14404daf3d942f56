stages/packages.o: stages/packages.c lib/deb.h base/util.h lib/deb822.h \
 lib/fetch.h base/log.h lib/repo.h lib/resolve.h lib/depends.h \
 core/stage.h core/build.h lib/disklabel.h lib/ext2.h lib/kmod.h \
 lib/recipe.h lib/tree.h lib/unpack.h
lib/deb.h:
base/util.h:
lib/deb822.h:
lib/fetch.h:
base/log.h:
lib/repo.h:
lib/resolve.h:
lib/depends.h:
core/stage.h:
core/build.h:
lib/disklabel.h:
lib/ext2.h:
lib/kmod.h:
lib/recipe.h:
lib/tree.h:
lib/unpack.h:
