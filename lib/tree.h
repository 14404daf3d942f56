/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The target tree: the image's filesystems, each mounted at its mount point, seen as one
 * directory tree. Paths are resolved inside the target only (absolute symlinks point at the
 * target's root, never the host's; ".." stops at the root) and a path below a mount point
 * lands in that filesystem, so "/boot/vmlinuz" is written into the boot partition and
 * "/bin/sh" follows "/bin -> usr/bin". Everything is written through libext2fs. */
#pragma once

#include <sys/types.h>
#include <ext2fs/ext2fs.h>

#include "util.h"

struct tree;

struct tree_attr {
	uid_t uid;
	gid_t gid;
	mode_t mode;   /* permission bits (07777); the type comes from the call */
	int64_t mtime; /* also used for atime and ctime */
};

/* `now` is the time given to directories the tree creates on its own (parents). */
struct tree *tree_new(int64_t now);
struct tree *tree_free(struct tree *t);

/* Adds a filesystem at `mountpoint` ("/" first). Below "/", the mount point directory is
 * created in the filesystem that holds it, so the tree also works once booted. */
int tree_mount(struct tree *t, const char *mountpoint, ext2_filsys fs);

/* Creates a directory (and missing parents, 0755 root:root); an existing directory gets the
 * attributes given. Fails when a non-directory is in the way. */
int tree_mkdir(struct tree *t, const char *path, const struct tree_attr *a);
/* Creates or replaces a regular file with `data`. Missing parents are created. */
int tree_write(struct tree *t, const char *path, const struct tree_attr *a, const void *data,
	       size_t size);
/* Same, streaming `size` bytes from fd (a host file). */
int tree_write_fd(struct tree *t, const char *path, const struct tree_attr *a, int fd,
		  uint64_t size);
/* Streaming a regular file of known size: the blocks are allocated together, then data is
 * written in whole runs straight to the image (no per-block copies, no zeroing first).
 * tree_file_close fails unless exactly `size` bytes were written. */
struct tree_file;
int tree_file_create(struct tree *t, const char *path, const struct tree_attr *a, uint64_t size,
		     struct tree_file **ret);
int tree_file_write(struct tree_file *f, const void *data, size_t n);
int tree_file_close(struct tree_file *f);
/* After a failure: releases the handle (the file stays, with whatever was written). */
void tree_file_abort(struct tree_file *f);

/* Creates or replaces a symlink. */
int tree_symlink(struct tree *t, const char *path, const char *target, const struct tree_attr *a);
/* Creates `path` as another name for the existing non-directory `target` (a hard link; both
 * must be in the same filesystem). */
int tree_link(struct tree *t, const char *path, const char *target);
/* Creates a character or block device (type 'c' or 'b') or a FIFO ('p'). */
int tree_mknod(struct tree *t, const char *path, char type, const struct tree_attr *a,
	       unsigned major, unsigned minor);
/* Forgets every resolved directory: needed after something else (the configure stage's
 * FUSE server) changed the filesystems behind the tree's back. */
void tree_forget(struct tree *t);
/* Strict mode, for content from packages: a path that would climb above the root through
 * ".." (in the path or in a symlink on the way) is refused instead of stopping at the root,
 * since such an entry was written to escape. */
void tree_set_strict(struct tree *t, bool strict);

/* Reads a regular file of the target (at most max bytes, else -EFBIG); NUL-terminated. */
int tree_read(struct tree *t, const char *path, size_t max, char **ret_data, size_t *ret_size);
/* 1 when path exists (following symlinks), 0 when not, -errno on error. */
int tree_exists(struct tree *t, const char *path);

/* The entries of a directory (following symlinks to it), without "." and "..", sorted by
 * name. type: 'd', 'f', 'l' or '?' (other). -ENOENT, -ENOTDIR. */
struct tree_dirent {
	char *name;
	char type;
	ext2_ino_t ino;
};
int tree_list(struct tree *t, const char *path, struct tree_dirent **ret, size_t *ret_n);
void tree_dirents_free(struct tree_dirent *v, size_t n);

/* The type and permission bits, size and owner of path itself (a final symlink is not
 * followed). -ENOENT when absent. */
struct tree_stat {
	unsigned mode;
	uint64_t size;
	uid_t uid;
	gid_t gid;
};
int tree_lstat(struct tree *t, const char *path, struct tree_stat *ret);
/* The same, following a final symlink (the type of what it leads to). */
int tree_stat(struct tree *t, const char *path, struct tree_stat *ret);
/* Removes a non-directory (the name; the inode with its last link). -ENOENT when absent,
 * -EISDIR for a directory. */
int tree_remove(struct tree *t, const char *path);
