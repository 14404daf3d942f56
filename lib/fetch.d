lib/fetch.o: lib/fetch.c lib/fetch.h base/util.h base/log.h
lib/fetch.h:
base/util.h:
base/log.h:
