lib/kmod.o: lib/kmod.c lib/kmod.h base/util.h base/log.h
lib/kmod.h:
base/util.h:
base/log.h:
