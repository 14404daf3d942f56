lib/grubbios.o: lib/grubbios.c lib/grubbios.h base/util.h base/log.h
lib/grubbios.h:
base/util.h:
base/log.h:
