lib/deb.o: lib/deb.c lib/deb.h base/util.h
lib/deb.h:
base/util.h:
