lib/ext2.o: lib/ext2.c lib/ext2.h base/util.h base/log.h
lib/ext2.h:
base/util.h:
base/log.h:
