lib/cryptio.o: lib/cryptio.c lib/cryptio.h base/util.h base/log.h
lib/cryptio.h:
base/util.h:
base/log.h:
