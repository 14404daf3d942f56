/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reader for Debian binary packages (.deb): the ar container, the control members in
 * memory, and the entries of data.tar one at a time, with every path checked so that an
 * unpacker can write them without looking again. Several packages are read at once from
 * worker threads: no globals, no logging; a failure returns -errno and leaves a message for
 * deb_error() that names the member and the entry (the caller adds the package name). */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "deb-cache.h"
#include "util.h"

#define DEB_CONTROL_MAX (UINT64_C(32) << 20) /* all control members together */
#define DEB_FILE_MAX (UINT64_C(64) << 30)    /* one regular file */
#define DEB_DATA_MAX (UINT64_C(64) << 30)    /* the whole decompressed data.tar */
#define DEB_PATH_MAX 4095

enum deb_type { DEB_REG, DEB_DIR, DEB_SYMLINK, DEB_HARDLINK, DEB_CHR, DEB_BLK, DEB_FIFO };

/* A file of control.tar ("control", "md5sums", "conffiles", "postinst", ...). */
struct deb_member {
	const char *name; /* without "./" */
	const char *data; /* NUL-terminated (size does not count the NUL) */
	size_t size;
	unsigned mode;
};

struct deb_entry {
	const char *path; /* normalized: no leading "./" or "/", no trailing '/', no "." or empty
			   * components; "" for the package root "./" itself */
	enum deb_type type;
	unsigned mode; /* permission bits, 07777 */
	uint32_t uid, gid;
	int64_t mtime;
	uint64_t size;    /* regular files; 0 otherwise */
	const char *link; /* symlink target as stored; for a hard link the normalized path of
			   * its target (a regular file seen earlier); NULL otherwise */
	unsigned rdev_major, rdev_minor;
}; /* pointers valid until the next deb_next() */

struct deb;

/* Parses the ar container of the .deb open at fd (read with pread; not closed by deb) and
 * reads control.tar into memory. `what` is only stored. threads > 1 lets a large xz data
 * member be decoded by liblzma's multi-threaded decoder. *ret is set even on failure, so
 * that deb_error() can say why: the caller always deb_close()s it. */
int deb_open(int fd, const char *what, unsigned threads, struct deb **ret);
struct deb *deb_close(struct deb *d); /* accepts NULL, returns NULL */

const struct deb_member *deb_control(const struct deb *d, const char *name); /* NULL if absent */
const struct deb_member *deb_control_members(const struct deb *d, size_t *ret_n); /* by name */

/* Before the first deb_next(): a compressed data member of at least min_size bytes is read
 * from the unpack cache c when it holds a payload for it that checks (lib/deb-cache.h),
 * else decoded as usual and stored there once read to its end. c's strings and key are
 * copied. Storing is best effort: a cache that cannot be written only costs the speed. */
void deb_use_cache(struct deb *d, const struct deb_cache *c, uint64_t min_size);
enum deb_cache_event {
	DEB_CACHE_NONE,   /* not used (no cache, a small or uncompressed member) */
	DEB_CACHE_READ,   /* the data.tar came from the cache */
	DEB_CACHE_STORED, /* decoded, and stored in the cache */
	DEB_CACHE_BAD,    /* a payload that failed its check was removed; decoded instead */
};
enum deb_cache_event deb_cache_event(const struct deb *d);

/* Next entry of data.tar: 1, 0 at the end (after checking nothing follows the archive),
 * < 0 on error. Unread data of the previous entry is skipped. Errors are sticky. */
int deb_next(struct deb *d, struct deb_entry *ret);
/* Data of the current regular file: bytes read, 0 at its end, < 0 on error. */
ssize_t deb_read(struct deb *d, void *buf, size_t n);

const char *deb_error(const struct deb *d);
const char *deb_what(const struct deb *d);
/* "xz", "zst", "gz", "bz2", "lzma" or "none" */
const char *deb_data_compression(const struct deb *d);
uint64_t deb_data_size(const struct deb *d);           /* compressed size of the data member */
