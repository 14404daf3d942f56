lib/depends.o: lib/depends.c lib/depends.h base/util.h lib/debver.h
lib/depends.h:
base/util.h:
lib/debver.h:
