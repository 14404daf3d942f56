lib/recipe.o: lib/recipe.c lib/recipe.h base/util.h base/log.h
lib/recipe.h:
base/util.h:
base/log.h:
