// SPDX-License-Identifier: GPL-2.0-or-later
/* The newc archive is written by libarchive, and so are its gzip and zstd streams (the gzip
 * header without a timestamp: libarchive puts the current time there unless told
 * "!timestamp"). libarchive's xz filter always uses the CRC64 check, which the kernel
 * refuses, so for xz libarchive writes plain cpio to our callback and liblzma compresses it.
 * The kernel's build compresses initramfs images with `xz --check=crc32 --lzma2=dict=1MiB`;
 * we do the same. */
#include "cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <inttypes.h>
#include <lzma.h>
#include <sys/stat.h>

#include "log.h"

#define OUT_BLOCK (64u << 10)   /* libarchive hands the output over in pieces this large */
#define XZ_DICT (1u << 20)
#define DEV_MAJOR_MAX 4095u     /* Linux's dev_t: 12 bits of major, 20 of minor */
#define DEV_MINOR_MAX 0xfffffu

const char *const cpio_compression_names[] = {
	[CPIO_COMPRESSION_NONE] = "none",
	[CPIO_COMPRESSION_GZIP] = "gzip",
	[CPIO_COMPRESSION_ZSTD] = "zstd",
	[CPIO_COMPRESSION_XZ] = "xz",
	[_CPIO_COMPRESSION_MAX] = NULL,
};

const char *cpio_compression_to_string(enum cpio_compression c)
{
	return (unsigned)c < _CPIO_COMPRESSION_MAX ? cpio_compression_names[c] : "?";
}

int cpio_compression_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < _CPIO_COMPRESSION_MAX; i++)
		if (streq(s, cpio_compression_names[i]))
			return (int)i;
	return -EINVAL;
}

struct cpio_entry {
	char *path;    /* normalized */
	unsigned mode; /* file type and permission bits */
	char *data;    /* file contents or symlink target; NULL when empty */
	uint32_t size;
	unsigned major, minor;
	bool implicit; /* a parent directory nobody added */
};

struct cpio {
	int fd;
	enum cpio_compression comp;
	int64_t mtime;
	bool closed;

	struct cpio_entry *entries;
	size_t n, cap;
	size_t *slots; /* open addressing by path: index + 1, 0 for a free slot */
	size_t n_slots;

	/* Output. */
	int write_err; /* errno of a failed write(2), for the message */
	lzma_stream lz;
	bool lz_init;
	uint8_t *xzbuf;
};

/* ---- paths ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static size_t *slot_of(const struct cpio *c, const char *path)
{
	size_t i = hash_str(path) & (c->n_slots - 1);

	while (c->slots[i] && !streq(c->entries[c->slots[i] - 1].path, path))
		i = (i + 1) & (c->n_slots - 1);
	return &c->slots[i];
}

static struct cpio_entry *entry_find(const struct cpio *c, const char *path)
{
	size_t *s;

	if (!c->n_slots)
		return NULL;
	s = slot_of(c, path);
	return *s ? &c->entries[*s - 1] : NULL;
}

/* Appends an entry (taking path) and indexes it; the path must be new. */
static struct cpio_entry *entry_append(struct cpio *c, char *path)
{
	struct cpio_entry *e;

	if (2 * (c->n + 1) > c->n_slots) {
		size_t n_slots = c->n_slots ? 2 * c->n_slots : 256;

		free(c->slots);
		c->slots = xcalloc(n_slots, sizeof(*c->slots));
		c->n_slots = n_slots;
		for (size_t i = 0; i < c->n; i++)
			*slot_of(c, c->entries[i].path) = i + 1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->entries = xrealloc(c->entries, c->cap * sizeof(*c->entries));
	}
	e = &c->entries[c->n++];
	*e = (struct cpio_entry){ .path = path };
	*slot_of(c, path) = c->n;
	return e;
}

/* "/usr//bin/./x" -> "usr/bin/x". Leaves a message for what is wrong in *ret_reason. */
static int entry_path(const char *in, char **ret, const char **ret_reason)
{
	_cleanup_free_ char *out = NULL;
	int r = path_normalize(in, &out);

	if (r < 0) {
		*ret_reason = r == -EINVAL ? "'..' is not allowed" :
					     "a component is longer than 255 bytes";
		return r;
	}
	if (!*out) {
		*ret_reason = *in ? "the root directory is not an entry" : "empty path";
		return -EINVAL;
	}
	if (strlen(out) > CPIO_PATH_MAX) {
		*ret_reason = "path longer than 4095 bytes";
		return -ENAMETOOLONG;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

static int log_path_error(int r, const char *path, const char *reason)
{
	/* a path too long for the archive is too long for a message too */
	if (strlen(path) > 64)
		log_error("cpio: '%.64s...': %s", path, reason);
	else
		log_error("cpio: '%s': %s", path, reason);
	return r;
}

static const char *type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFREG:
		return "a file";
	case S_IFLNK:
		return "a symlink";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	}
	return "?";
}

/* Checks a new entry: its path (normalized into *ret_path), its permission bits, that the
 * path is new (or a parent directory created implicitly, which a directory may take over)
 * and that none of its parents is something other than a directory. Changes nothing. */
static int entry_check(const struct cpio *c, const char *path_in, unsigned fmt, unsigned perm,
		       char **ret_path)
{
	_cleanup_free_ char *path = NULL;
	const struct cpio_entry *e;
	const char *reason;
	int r;

	assert(c && !c->closed);
	if (!path_in)
		return log_fail("cpio: no path given");
	r = entry_path(path_in, &path, &reason);
	if (r < 0)
		return log_path_error(r, path_in, reason);
	if (perm > 07777)
		return log_fail("cpio: '%s': mode 0%o is more than permission bits", path, perm);

	e = entry_find(c, path);
	if (e && !(e->implicit && fmt == S_IFDIR)) {
		if (e->implicit)
			log_error("cpio: cannot add '%s' as %s: it is the directory of entries "
				  "added before",
				  path, type_name(fmt));
		else
			log_error("cpio: '%s' added twice", path);
		return -EEXIST;
	}
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		e = entry_find(c, path);
		if (e && !S_ISDIR(e->mode)) {
			log_error("cpio: cannot add '%s/%s': '%s' is %s", path, s + 1, path,
				  type_name(e->mode));
			return -ENOTDIR;
		}
		*s = '/';
	}
	*ret_path = TAKE_PTR(path);
	return 0;
}

/* Adds what entry_check() accepted (taking path), with the parents still missing. */
static struct cpio_entry *entry_commit(struct cpio *c, char *path, unsigned mode)
{
	struct cpio_entry *e = entry_find(c, path);

	if (e) { /* an implicit directory, now explicit */
		free(path);
		e->mode = mode;
		e->implicit = false;
		return e;
	}
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (!entry_find(c, path)) {
			e = entry_append(c, xstrdup(path));
			e->mode = S_IFDIR | 0755;
			e->implicit = true;
		}
		*s = '/';
	}
	e = entry_append(c, path);
	e->mode = mode;
	return e;
}

int cpio_add_dir(struct cpio *c, const char *path, unsigned mode)
{
	char *norm;
	int r;

	r = entry_check(c, path, S_IFDIR, mode, &norm);
	if (r < 0)
		return r;
	entry_commit(c, norm, S_IFDIR | mode);
	return 0;
}

int cpio_add_file(struct cpio *c, const char *path, unsigned mode, const void *data,
		  uint64_t size)
{
	struct cpio_entry *e;
	char *norm;
	int r;

	r = entry_check(c, path, S_IFREG, mode, &norm);
	if (r < 0)
		return r;
	if (size > CPIO_FILE_MAX) {
		log_error("cpio: '%s': %" PRIu64 " bytes do not fit in a newc archive (at most "
			  "%" PRIu32 " per file)",
			  norm, size, CPIO_FILE_MAX);
		free(norm);
		return -EFBIG;
	}
	e = entry_commit(c, norm, S_IFREG | mode);
	e->size = (uint32_t)size;
	if (size) {
		e->data = xmalloc(size);
		memcpy(e->data, data, size);
	}
	return 0;
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target)
{
	struct cpio_entry *e;
	char *norm;
	size_t len;
	int r;

	r = entry_check(c, path, S_IFLNK, 0777, &norm);
	if (r < 0)
		return r;
	len = target ? strlen(target) : 0;
	if (len == 0 || len > CPIO_PATH_MAX) {
		log_error("cpio: '%s': symlink target %s", norm,
			  len ? "longer than 4095 bytes" : "empty");
		free(norm);
		return len ? -ENAMETOOLONG : -EINVAL;
	}
	e = entry_commit(c, norm, S_IFLNK | 0777);
	e->data = xstrdup(target);
	e->size = (uint32_t)len;
	return 0;
}

int cpio_add_node(struct cpio *c, const char *path, char type, unsigned mode, unsigned major,
		  unsigned minor)
{
	unsigned fmt = type == 'b' ? S_IFBLK : S_IFCHR;
	struct cpio_entry *e;
	char *norm;
	int r;

	r = entry_check(c, path, fmt, mode, &norm);
	if (r < 0)
		return r;
	if (type != 'c' && type != 'b')
		r = log_fail("cpio: '%s': device type '%c' is not 'c' or 'b'", norm, type);
	else if (major > DEV_MAJOR_MAX || minor > DEV_MINOR_MAX)
		r = log_fail("cpio: '%s': device %u:%u out of range (major at most %u, minor at "
			     "most %u)",
			     norm, major, minor, DEV_MAJOR_MAX, DEV_MINOR_MAX);
	if (r < 0) {
		free(norm);
		return r;
	}
	e = entry_commit(c, norm, fmt | mode);
	e->major = major;
	e->minor = minor;
	return 0;
}

bool cpio_contains(const struct cpio *c, const char *path)
{
	_cleanup_free_ char *norm = NULL;
	const char *reason;

	if (!path || entry_path(path, &norm, &reason) < 0)
		return false;
	return entry_find(c, norm) != NULL;
}

size_t cpio_count(const struct cpio *c)
{
	return c->n;
}

/* ---- output ---- */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Runs the xz encoder over in (action LZMA_RUN) or to its end (LZMA_FINISH), writing what
 * comes out. */
static int xz_code(struct cpio *c, const void *in, size_t n, lzma_action action)
{
	c->lz.next_in = in;
	c->lz.avail_in = n;
	for (;;) {
		lzma_ret lr;
		int r;

		c->lz.next_out = c->xzbuf;
		c->lz.avail_out = OUT_BLOCK;
		lr = lzma_code(&c->lz, action);
		if (lr != LZMA_OK && lr != LZMA_STREAM_END)
			return lr == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
		r = write_all(c->fd, c->xzbuf, OUT_BLOCK - c->lz.avail_out);
		if (r < 0) {
			c->write_err = -r;
			return r;
		}
		if (lr == LZMA_STREAM_END || (action == LZMA_RUN && c->lz.avail_in == 0 &&
					      c->lz.avail_out > 0))
			return 0;
	}
}

static la_ssize_t write_cb(struct archive *a, void *data, const void *buf, size_t n)
{
	struct cpio *c = data;
	int r;

	if (c->comp == CPIO_COMPRESSION_XZ)
		r = xz_code(c, buf, n, LZMA_RUN);
	else {
		r = write_all(c->fd, buf, n);
		if (r < 0)
			c->write_err = -r;
	}
	if (r < 0) {
		archive_set_error(a, -r, "%s", strerror(-r));
		return -1;
	}
	return (la_ssize_t)n;
}

static int xz_start(struct cpio *c)
{
	lzma_options_lzma opt;
	lzma_filter filters[2];
	lzma_ret lr;

	if (lzma_lzma_preset(&opt, LZMA_PRESET_DEFAULT))
		return log_fail("cpio: liblzma has no default preset");
	opt.dict_size = XZ_DICT;
	filters[0] = (lzma_filter){ .id = LZMA_FILTER_LZMA2, .options = &opt };
	filters[1] = (lzma_filter){ .id = LZMA_VLI_UNKNOWN };
	lr = lzma_stream_encoder(&c->lz, filters, LZMA_CHECK_CRC32);
	if (lr != LZMA_OK)
		return log_errno(lr == LZMA_MEM_ERROR ? ENOMEM : EINVAL,
				 "cpio: cannot start the xz encoder");
	c->lz_init = true;
	c->xzbuf = xmalloc(OUT_BLOCK);
	return 0;
}

/* libarchive's part of the compression: 0, or -1 with the reason in a. */
static int add_filter(struct archive *a, enum cpio_compression comp)
{
	int r;

	switch (comp) {
	case CPIO_COMPRESSION_GZIP:
		r = archive_write_add_filter_gzip(a);
		if (r == ARCHIVE_OK) /* no MTIME in the gzip header */
			r = archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
		break;
	case CPIO_COMPRESSION_ZSTD:
		r = archive_write_add_filter_zstd(a);
		break;
	default: /* none, and xz (ours: see xz_start()) */
		r = archive_write_add_filter_none(a);
		break;
	}
	return r == ARCHIVE_OK ? 0 : -1;
}

/* Logs libarchive's failure (ours, when our callback failed to write) after "cpio: what". */
static int archive_fail(struct cpio *c, struct archive *a, const char *what)
{
	const char *msg = archive_error_string(a);

	if (c->write_err)
		return log_errno(c->write_err, "cpio: %s", what);
	log_error("cpio: %s: %s", what, msg ? msg : "unknown libarchive error");
	return archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
}

static int write_entry(struct cpio *c, struct archive *a, struct archive_entry *ae,
		       const struct cpio_entry *e, uint32_t ino)
{
	_cleanup_free_ char *what = NULL;

	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_mode(ae, e->mode);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, c->mtime, 0);
	archive_entry_set_nlink(ae, S_ISDIR(e->mode) ? 2 : 1);
	archive_entry_set_ino(ae, ino);
	archive_entry_set_dev(ae, 0);
	archive_entry_set_size(ae, S_ISREG(e->mode) ? e->size : 0);
	if (S_ISLNK(e->mode))
		archive_entry_set_symlink(ae, e->data);
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode)) {
		archive_entry_set_rdevmajor(ae, e->major);
		archive_entry_set_rdevminor(ae, e->minor);
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		goto fail;
	if (S_ISREG(e->mode))
		for (uint32_t done = 0; done < e->size;) {
			la_ssize_t k = archive_write_data(a, e->data + done, e->size - done);

			if (k <= 0)
				goto fail;
			done += (uint32_t)k;
		}
	return 0;
fail:
	what = xasprintf("cannot write '%s'", e->path);
	return archive_fail(c, a, what);
}

static int entry_cmp(const void *a, const void *b)
{
	/* a prefix sorts first, so every directory precedes its contents */
	return strcmp((*(const struct cpio_entry *const *)a)->path,
		      (*(const struct cpio_entry *const *)b)->path);
}

int cpio_new(int fd, enum cpio_compression comp, int64_t mtime, struct cpio **ret)
{
	struct cpio *c;

	if ((unsigned)comp >= _CPIO_COMPRESSION_MAX)
		return log_fail("cpio: unknown compression %d", (int)comp);
	if (mtime < 0 || mtime > (int64_t)CPIO_MTIME_MAX)
		return log_fail("cpio: mtime %" PRId64 " does not fit in a newc archive (0..%" PRIu32
				")",
				mtime, CPIO_MTIME_MAX);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->comp = comp;
	c->mtime = mtime;
	c->lz = (lzma_stream)LZMA_STREAM_INIT;
	*ret = c;
	return 0;
}

int cpio_close(struct cpio *c)
{
	_cleanup_free_ struct cpio_entry **order = NULL;
	struct archive_entry *ae = NULL;
	struct archive *a = NULL;
	int r;

	assert(c && !c->closed);
	c->closed = true;
	if (c->n > UINT32_MAX)
		return log_fail("cpio: %zu entries do not fit in a newc archive", c->n);
	order = xmalloc((c->n ? c->n : 1) * sizeof(*order));
	for (size_t i = 0; i < c->n; i++)
		order[i] = &c->entries[i];
	qsort(order, c->n, sizeof(*order), entry_cmp);

	if (c->comp == CPIO_COMPRESSION_XZ) {
		r = xz_start(c);
		if (r < 0)
			return r;
	}
	a = archive_write_new();
	ae = archive_entry_new();
	if (!a || !ae) {
		r = log_errno(ENOMEM, "cpio: cannot allocate the archive writer");
		goto out;
	}
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK || add_filter(a, c->comp) < 0 ||
	    archive_write_set_bytes_per_block(a, OUT_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		r = archive_fail(c, a, "cannot set up the archive writer");
		goto out;
	}
	if (archive_write_open2(a, c, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		r = archive_fail(c, a, "cannot start the archive");
		goto out;
	}
	for (size_t i = 0; i < c->n; i++) {
		r = write_entry(c, a, ae, order[i], (uint32_t)(i + 1));
		if (r < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = archive_fail(c, a, "cannot write the archive");
		goto out;
	}
	if (c->comp == CPIO_COMPRESSION_XZ) {
		r = xz_code(c, NULL, 0, LZMA_FINISH);
		if (r < 0) {
			r = log_errno(r, c->write_err ? "cpio: cannot write the archive" :
							 "cpio: xz compression failed");
			goto out;
		}
	}
	r = 0;
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return r;
}

struct cpio *cpio_free(struct cpio *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].path);
		free(c->entries[i].data);
	}
	free(c->entries);
	free(c->slots);
	if (c->lz_init)
		lzma_end(&c->lz);
	free(c->xzbuf);
	free(c);
	return NULL;
}
