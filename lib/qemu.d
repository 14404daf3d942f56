lib/qemu.o: lib/qemu.c lib/qemu.h base/util.h base/log.h
lib/qemu.h:
base/util.h:
base/log.h:
