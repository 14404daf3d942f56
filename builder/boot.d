builder/boot.o: builder/boot.c builder/boot.h lib/qemu.h base/util.h \
 lib/recipe.h builder/cli.h base/log.h
builder/boot.h:
lib/qemu.h:
base/util.h:
lib/recipe.h:
builder/cli.h:
base/log.h:
