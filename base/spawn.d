base/spawn.o: base/spawn.c base/spawn.h base/util.h base/log.h
base/spawn.h:
base/util.h:
base/log.h:
