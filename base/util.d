base/util.o: base/util.c base/util.h
base/util.h:
