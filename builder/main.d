builder/main.o: builder/main.c /usr/include/fuse3/fuse_lowlevel.h \
 /usr/include/fuse3/fuse_common.h /usr/include/fuse3/libfuse_config.h \
 /usr/include/fuse3/fuse_opt.h /usr/include/fuse3/fuse_log.h \
 builder/boot.h lib/qemu.h base/util.h lib/recipe.h builder/cli.h \
 base/log.h builder/driver.h
/usr/include/fuse3/fuse_lowlevel.h:
/usr/include/fuse3/fuse_common.h:
/usr/include/fuse3/libfuse_config.h:
/usr/include/fuse3/fuse_opt.h:
/usr/include/fuse3/fuse_log.h:
builder/boot.h:
lib/qemu.h:
base/util.h:
lib/recipe.h:
builder/cli.h:
base/log.h:
builder/driver.h:
