lib/sandbox.o: lib/sandbox.c lib/sandbox.h base/util.h base/log.h \
 base/spawn.h
lib/sandbox.h:
base/util.h:
base/log.h:
base/spawn.h:
