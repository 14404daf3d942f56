lib/tree.o: lib/tree.c lib/tree.h base/util.h lib/ext2.h base/log.h
lib/tree.h:
base/util.h:
lib/ext2.h:
base/log.h:
