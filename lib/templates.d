lib/templates.o: lib/templates.c lib/templates.h base/log.h base/util.h
lib/templates.h:
base/log.h:
base/util.h:
