lib/repo.o: lib/repo.c lib/repo.h lib/deb822.h base/util.h lib/fetch.h \
 base/log.h
lib/repo.h:
lib/deb822.h:
base/util.h:
lib/fetch.h:
base/log.h:
