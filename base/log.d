base/log.o: base/log.c base/log.h base/util.h
base/log.h:
base/util.h:
