lib/deb822.o: lib/deb822.c lib/deb822.h base/util.h base/log.h
lib/deb822.h:
base/util.h:
base/log.h:
