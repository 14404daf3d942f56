lib/cpio.o: lib/cpio.c lib/cpio.h base/util.h base/log.h
lib/cpio.h:
base/util.h:
base/log.h:
