/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The initramfs archive writer: a "newc" (SVR4, no CRC) cpio archive, the format the kernel
 * unpacks into its rootfs, compressed with gzip, zstd or xz, or not at all.
 *
 * Entries are collected in memory and written by cpio_close(), sorted by path, so that the
 * same calls give the same bytes and every directory precedes what it holds (the kernel
 * creates entries in archive order). Every entry is owned by 0:0 and carries the one mtime
 * given to cpio_new(); inode numbers count up from 1 in output order; files and symlinks have
 * one link, directories two; device fields are 0. Paths are stored relative ("init",
 * "bin/busybox"), as the kernel and cpio -i expect; a leading "/" or "./", repeated slashes
 * and "." components are dropped from the paths given. Parent directories nobody added are
 * created with mode 0755; one added explicitly later (or earlier) takes its own mode.
 * Adding a path twice is an error (-EEXIST): callers that may meet a path again ask
 * cpio_contains() first.
 *
 * The compressed stream carries nothing from the host or the clock: gzip's MTIME is 0, and xz
 * uses the CRC32 check, the only one (with none) the kernel's XZ decoder accepts, and a
 * 1 MiB dictionary, as the kernel's own build uses for initramfs images.
 *
 * Errors are logged here, once, prefixed "cpio: ". */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define CPIO_PATH_MAX (PATH_MAX - 1) /* bytes of a stored path, without its NUL */
#define CPIO_FILE_MAX UINT32_MAX     /* newc's size fields are 32 bits */
#define CPIO_MTIME_MAX UINT32_MAX    /* and so is its mtime, unsigned */

enum cpio_compression {
	CPIO_COMPRESSION_NONE,
	CPIO_COMPRESSION_GZIP,
	CPIO_COMPRESSION_ZSTD,
	CPIO_COMPRESSION_XZ,
	_CPIO_COMPRESSION_MAX,
};
/* "none", "gzip", "zstd", "xz"; NULL-terminated, indexed by enum cpio_compression. */
extern const char *const cpio_compression_names[];
const char *cpio_compression_to_string(enum cpio_compression c); /* "?" when unknown */
int cpio_compression_from_string(const char *s);                 /* -EINVAL when unknown */

struct cpio;

/* Starts an archive that cpio_close() will write to fd at its current offset with write(2)
 * (a pipe works; fd is not closed). mtime: 0..CPIO_MTIME_MAX. */
int cpio_new(int fd, enum cpio_compression comp, int64_t mtime, struct cpio **ret);

/* mode: permission bits only (07777). */
int cpio_add_dir(struct cpio *c, const char *path, unsigned mode);
/* Copies data (size bytes, at most CPIO_FILE_MAX; data may be NULL when size is 0). */
int cpio_add_file(struct cpio *c, const char *path, unsigned mode, const void *data,
		  uint64_t size);
/* Mode 0777, as symlinks have. target: not empty, at most CPIO_PATH_MAX bytes, stored as is. */
int cpio_add_symlink(struct cpio *c, const char *path, const char *target);
/* A device node: type 'c' (character) or 'b' (block); major < 4096, minor < 2^20 (Linux's
 * dev_t). E.g. cpio_add_node(c, "dev/console", 'c', 0600, 5, 1). */
int cpio_add_node(struct cpio *c, const char *path, char type, unsigned mode, unsigned major,
		  unsigned minor);

/* Whether path (normalized as for the cpio_add_*() calls) was added, implicitly or not. */
bool cpio_contains(const struct cpio *c, const char *path);
/* Entries so far, implicit parents included. */
size_t cpio_count(const struct cpio *c);

/* Writes the whole archive and finishes the compressed stream; once. After a failure what
 * was written to fd is garbage. */
int cpio_close(struct cpio *c);
struct cpio *cpio_free(struct cpio *c); /* accepts NULL, returns NULL; does not write */
static inline void cpio_freep(struct cpio **c)
{
	cpio_free(*c);
}
