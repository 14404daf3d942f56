lib/secret.o: lib/secret.c lib/secret.h base/util.h base/log.h
lib/secret.h:
base/util.h:
base/log.h:
