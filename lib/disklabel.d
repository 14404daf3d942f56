lib/disklabel.o: lib/disklabel.c lib/disklabel.h base/log.h base/util.h
lib/disklabel.h:
base/log.h:
base/util.h:
