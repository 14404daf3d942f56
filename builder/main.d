builder/main.o: builder/main.c builder/boot.h lib/qemu.h base/util.h \
 lib/recipe.h builder/driver.h base/log.h
builder/boot.h:
lib/qemu.h:
base/util.h:
lib/recipe.h:
builder/driver.h:
base/log.h:
