lib/luks.o: lib/luks.c lib/luks.h lib/secret.h base/util.h \
 /usr/include/uuid/uuid.h base/log.h
lib/luks.h:
lib/secret.h:
base/util.h:
/usr/include/uuid/uuid.h:
base/log.h:
