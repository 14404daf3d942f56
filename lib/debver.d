lib/debver.o: lib/debver.c lib/debver.h base/util.h
lib/debver.h:
base/util.h:
