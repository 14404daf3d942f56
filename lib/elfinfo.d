lib/elfinfo.o: lib/elfinfo.c lib/elfinfo.h base/util.h
lib/elfinfo.h:
base/util.h:
