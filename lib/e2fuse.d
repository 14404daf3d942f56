lib/e2fuse.o: lib/e2fuse.c lib/e2fuse.h base/util.h \
 /usr/include/fuse3/fuse_lowlevel.h /usr/include/fuse3/fuse_common.h \
 /usr/include/fuse3/libfuse_config.h /usr/include/fuse3/fuse_opt.h \
 /usr/include/fuse3/fuse_log.h lib/ext2.h base/log.h
lib/e2fuse.h:
base/util.h:
/usr/include/fuse3/fuse_lowlevel.h:
/usr/include/fuse3/fuse_common.h:
/usr/include/fuse3/libfuse_config.h:
/usr/include/fuse3/fuse_opt.h:
/usr/include/fuse3/fuse_log.h:
lib/ext2.h:
base/log.h:
