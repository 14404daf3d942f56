lib/resolve.o: lib/resolve.c lib/resolve.h lib/deb822.h base/util.h \
 lib/depends.h lib/debver.h base/log.h
lib/resolve.h:
lib/deb822.h:
base/util.h:
lib/depends.h:
lib/debver.h:
base/log.h:
