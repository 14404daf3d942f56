builder/cli.o: builder/cli.c builder/cli.h base/log.h base/util.h \
 lib/qemu.h
builder/cli.h:
base/log.h:
base/util.h:
lib/qemu.h:
