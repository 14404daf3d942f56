lib/unpack.o: lib/unpack.c lib/unpack.h lib/tree.h base/util.h lib/deb.h \
 base/log.h
lib/unpack.h:
lib/tree.h:
base/util.h:
lib/deb.h:
base/log.h:
