/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image's filesystems behind one interface. A filesystem type has a driver: how big a
 * partition must be, how to create the filesystem at the partition's offset, how much is
 * free, how to close it (for good, or so that QEMU can use the image for a while, then to
 * open it again) and what the boot chain needs to read it. The stages see only this and the
 * target tree: every driver mounts a filesystem into the tree at its mount point, through
 * the tree's writer (lib/tree, libext2fs). ext2, ext3 and ext4 are that writer's own
 * filesystems; a type the tree cannot write directly (FAT, read-only images) mounts a
 * staging filesystem and renders it into the partition when it is closed. */
#pragma once

#include "build.h"

struct fs_driver;

/* One filesystem of the build, indexed like the partitions (b->fs[i]). */
struct build_fs {
	const struct fs_driver *drv; /* NULL: the partition has no filesystem */
	ext2_filsys ext2;            /* what the tree writes through; NULL while closed */
	io_manager io;               /* while closed for QEMU: how to open it again */
	void *priv;                  /* the driver's own */
};

struct fs_driver {
	const char *name;
	const char *kernel_module; /* the module serving it in Debian's kernels */
	const char *grub_module;   /* GRUB's module reading /boot from it; NULL: none can */
	bool posix;                /* owners, modes, symlinks, devices: it can hold a root */
	const char *default_options; /* fstab's options when the recipe gives none */
	/* The tree writes a staging filesystem, made into the real one at close: QEMU (configure:
	 * vm) does not see it until then. */
	bool staged;
	uint64_t (*min_size)(enum fs_type type);
	/* The driver's own rules for the partition's filesystem: keys, size (mkfs's verify). */
	int (*verify)(const struct build *b, const struct partition *p);
	/* Creates the filesystem, open for writing, in fs. */
	int (*create)(struct build *b, struct partition *p, struct build_fs *fs);
	int (*free_bytes)(const struct build_fs *fs, uint64_t *ret);
	/* Writes everything out and frees; with `keep`, remembers how to open it again. */
	int (*close)(struct build *b, struct partition *p, struct build_fs *fs, bool keep);
	int (*reopen)(struct build *b, struct partition *p, struct build_fs *fs);
	/* Frees without writing (the image is discarded). */
	void (*abandon)(struct build_fs *fs);
};

extern const struct fs_driver fs_vfat_driver; /* core/fs-vfat.c */

/* The driver of a type (NULL for FS_NONE). */
const struct fs_driver *fs_driver_of(enum fs_type type);

/* Creates every partition's filesystem (b->fs) and mounts them into a new b->tree. */
int build_fs_create(struct build *b);
/* Bytes free in the filesystem of partition p (-ENOENT: it has none open). */
int build_fs_free_bytes(const struct build *b, const struct partition *p, uint64_t *ret);
/* The partitions whose filesystem has a mount point, "/" first, then parents before
 * children; `out` has room for n_parts. Returns how many. */
size_t build_mount_order(const struct build *b, struct partition **out);
/* Mounts every open filesystem that has a mount point into a new b->tree: "/" first, then
 * parents before children. Without a filesystem at "/" there is no tree (logged, 0). */
int build_tree_mount(struct build *b);
/* Flushes and closes every filesystem and frees the tree, so that something else (QEMU)
 * can write the image; b->fs and b->tree are unusable until build_fs_reopen(). */
int build_fs_close(struct build *b);
/* Opens the filesystems build_fs_close() closed, with the same I/O managers (an encrypted
 * partition's too), and rebuilds b->tree. A filesystem left needing journal recovery is
 * refused: libext2fs does not replay journals. */
int build_fs_reopen(struct build *b);
/* At the end of the build: every filesystem written out and closed for good, or, after a
 * failure, dropped unwritten. Frees the tree. */
int build_fs_finish(struct build *b, bool failed);
/* The kernel modules for the image's mounted filesystems that can hold a root (ext4 always:
 * Debian's kernels serve ext2 and ext3 with it). A new list. */
char **build_fs_modules(const struct build *b);
