/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reader for Debian binary packages. The ar container is parsed here (it is trivial and
 * must be strict); control.tar is read whole into memory; data.tar is streamed: xz is decoded
 * with liblzma directly (the blocks of a large multi-block member partly by helper threads,
 * see xz_par_start()), the other compressions by libarchive's filters, and the decompressed bytes go
 * to libarchive's tar reader through callbacks, so file data is copied once, into the
 * caller's buffer. */
#include "deb.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <lzma.h>
#include <pthread.h>
#include <strings.h>
#include <sys/stat.h>

#include "deb822.h"
#include "debver.h"

#define AR_MAGIC "!<arch>\n"
#define AR_HDR 60
#define CHUNK (1u << 20)                          /* pread and decode in pieces this large */
#define CONTROL_MEMBER_MAX (UINT64_C(64) << 20)  /* compressed control.tar */
#define XZ_MT_MIN (UINT64_C(8) << 20)            /* smaller members do not gain from threads */
#define XZ_PAR_RINGS (UINT64_C(48) << 20)        /* helpers' output rings together, at most */
#define XZ_PAR_INDEX_MAX (UINT64_C(16) << 20)    /* an xz index larger than this: no helpers */
#define XZ_PAR_CHUNK (256u << 10)                /* helpers read compressed data in these */
#define XZ_MEMLIMIT (UINT64_C(1) << 30)          /* refuse dictionaries beyond any real package */
#define TAIL 4096                                 /* see tar_read_cb() */

enum comp { COMP_NONE, COMP_GZ, COMP_XZ, COMP_ZST, COMP_BZ2, COMP_LZMA };

static const struct {
	const char *suffix;
	const char *name;
	int filter; /* libarchive's code */
} comps[] = {
	[COMP_NONE] = { "", "none", ARCHIVE_FILTER_NONE },
	[COMP_GZ] = { ".gz", "gz", ARCHIVE_FILTER_GZIP },
	[COMP_XZ] = { ".xz", "xz", ARCHIVE_FILTER_XZ },
	[COMP_ZST] = { ".zst", "zst", ARCHIVE_FILTER_ZSTD },
	[COMP_BZ2] = { ".bz2", "bz2", ARCHIVE_FILTER_BZIP2 },
	[COMP_LZMA] = { ".lzma", "lzma", ARCHIVE_FILTER_LZMA },
};

/* Paths of regular files (and hard links to them) seen so far: a hard link may only point
 * back at one of these. Open addressing, grown at half full. */
struct seen {
	char **keys;
	size_t n, cap;
};

/* A block of a single-stream xz member, from its index. */
struct xz_blk {
	uint64_t off; /* of its header, in the member */
	uint64_t total, unpadded, usize;
};

/* A helper thread decoding every (n_helpers + 1)-th block, starting with block 1 + its
 * number, into its ring, ahead of the reader, which decodes the other blocks itself. */
struct xz_helper {
	struct deb *d;
	size_t first;
	pthread_t thread;
	bool started;
	char *ring;
	size_t cap;
	uint64_t produced, consumed; /* bytes, since the start */
	lzma_ret err;                /* LZMA_OK, or why the helper stopped */
	bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct xz_par {
	lzma_check check;
	struct xz_blk *blocks;
	size_t n_blocks, cur; /* the block being handed out */
	uint64_t cur_left;    /* its bytes not handed out yet */
	bool cur_open;        /* the reader's own block decoder is set up for cur */
	lzma_block block;     /* what it decodes */
	uint64_t in_pos, in_end;
	struct xz_helper *helpers;
	size_t n_helpers;
	struct xz_helper *release; /* handed out by the last call, released on the next */
	size_t release_len;
};

struct deb {
	int fd;
	char *what;
	unsigned threads;
	char *error;
	int failed; /* sticky error of the data stream */

	struct deb_member *members;
	size_t n_members;

	char *data_name; /* "data.tar.xz" */
	uint64_t data_off, data_size;
	enum comp data_comp;

	/* The compressed member, read in CHUNKs. */
	uint64_t raw_pos;
	char *inbuf;

	/* Decompression: liblzma for xz, a libarchive "raw" reader for the others. */
	lzma_stream lz;
	bool lz_init, lz_end;
	struct xz_par *par; /* helpers decode blocks ahead */
	struct archive *raw;
	char *outbuf;

	/* The decompressed stream as handed to the tar reader. */
	const char *cur;
	size_t cur_len;
	uint64_t cur_off;
	char tail[TAIL];
	size_t tail_len;
	uint64_t tail_off;
	uint64_t handed;
	bool src_eof;
	int src_err; /* failure inside a callback; message already in error */

	/* The unpack cache (deb_use_cache()): read from cr, or written to cw as decoded. */
	struct deb_cache cache;
	uint64_t cache_min;
	bool cache_on;
	uint8_t cache_key[DEB_CACHE_KEY_SIZE];
	struct deb_cache_reader *cr;
	struct deb_cache_writer *cw;
	enum deb_cache_event cache_event;

	struct archive *tar;
	bool finished, in_regular;
	uint64_t declared; /* sum of regular file sizes */
	char *path, *link;
	struct seen seen;
};

static int fail(struct deb *d, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(struct deb *d, int r, const char *fmt, ...)
{
	va_list ap;

	free(d->error);
	va_start(ap, fmt);
	d->error = xvasprintf(fmt, ap);
	va_end(ap);
	return r;
}

/* Names go into messages: make control characters (a hostile '\n') visible. */
static char *printable(const char *s)
{
	char *out = xmalloc(strlen(s) * 4 + 1), *p = out;

	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '\n')
			p += sprintf(p, "\\n");
		else if (c == '\r')
			p += sprintf(p, "\\r");
		else if (c < 0x20 || c == 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = c;
	}
	*p = 0;
	return out;
}

static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* ---- seen paths ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static char **seen_slot(struct seen *s, const char *key)
{
	size_t i = hash_str(key) & (s->cap - 1);

	while (s->keys[i] && !streq(s->keys[i], key))
		i = (i + 1) & (s->cap - 1);
	return &s->keys[i];
}

static bool seen_has(struct seen *s, const char *key)
{
	return s->cap && *seen_slot(s, key);
}

static void seen_add(struct seen *s, const char *key)
{
	char **slot;

	if (2 * (s->n + 1) > s->cap) {
		struct seen g = { .keys = xcalloc(s->cap ? s->cap * 2 : 256, sizeof(char *)),
				  .n = s->n,
				  .cap = s->cap ? s->cap * 2 : 256 };

		for (size_t i = 0; i < s->cap; i++)
			if (s->keys[i])
				*seen_slot(&g, s->keys[i]) = s->keys[i];
		free(s->keys);
		*s = g;
	}
	slot = seen_slot(s, key);
	if (!*slot) {
		*slot = xstrdup(key);
		s->n++;
	}
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
}

/* ---- paths ---- */

/* Normalizes a name from a tar header. Returns 0 and the path ("" for the root), or -EINVAL
 * and the reason. */
static int normalize(const char *name, char **ret, const char **ret_reason)
{
	_cleanup_free_ char *out = NULL;
	int r;

	if (!*name) {
		*ret_reason = "empty name";
		return -EINVAL;
	}
	if (strpbrk(name, "\n\r")) {
		*ret_reason = "name contains a newline or carriage return";
		return -EINVAL;
	}
	if (name[0] == '/') {
		*ret_reason = "absolute path";
		return -EINVAL;
	}
	r = path_normalize(name, &out);
	if (r < 0) {
		*ret_reason = r == -EINVAL ? "path leaves the package root" :
					     "a component is longer than 255 bytes";
		return r;
	}
	if (strlen(out) > DEB_PATH_MAX) {
		*ret_reason = "path too long";
		return -ENAMETOOLONG;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- the ar container ---- */

static int parse_decimal(const char *field, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < len && field[i] >= '0' && field[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(field[i] - '0');
	}
	if (i == 0)
		return -EINVAL;
	for (; i < len; i++)
		if (field[i] != ' ')
			return -EINVAL;
	*ret = v;
	return 0;
}

/* Which compression a member name ends in after `base` ("control.tar"), or -1. */
static int member_comp(const char *name, const char *base, bool data)
{
	if (!startswith(name, base))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
		if (!data && (i == COMP_BZ2 || i == COMP_LZMA))
			continue;
		if (streq(name + strlen(base), comps[i].suffix))
			return (int)i;
	}
	return -1;
}

static int support_filter(struct archive *a, enum comp c)
{
	switch (c) {
	case COMP_NONE:
		return archive_read_support_filter_none(a);
	case COMP_GZ:
		return archive_read_support_filter_gzip(a);
	case COMP_XZ:
		return archive_read_support_filter_xz(a);
	case COMP_ZST:
		return archive_read_support_filter_zstd(a);
	case COMP_BZ2:
		return archive_read_support_filter_bzip2(a);
	case COMP_LZMA:
		return archive_read_support_filter_lzma(a);
	}
	return ARCHIVE_FATAL;
}

/* libarchive's errno is a real one for I/O and memory; format errors are EILSEQ or -1
 * (ARCHIVE_ERRNO_FILE_FORMAT, _MISC, both private), which callers want as EIO or EINVAL. */
static int archive_err(struct archive *a, int fallback)
{
	int e = archive_errno(a);

	return e > 0 && e != EILSEQ ? -e : fallback;
}

static const char *archive_msg(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown libarchive error";
}

/* ---- control.tar ---- */

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct deb_member *)a)->name, ((const struct deb_member *)b)->name);
}

/* dpkg's package names: a lowercase letter or digit, then those and "+-." */
static bool valid_name(const char *s)
{
	if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (const char *p = s + 1; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (!islower(c) && !isdigit(c) && !strchr("+-.", c))
			return false;
	}
	return true;
}

static bool valid_arch(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return false;
	return true;
}

/* The control file as dpkg checks it before unpacking: one stanza, each field once, none of
 * the fields only dpkg's own database may hold, and a valid name, version and architecture
 * (the name and architecture become file names under /var/lib/dpkg/info). An unpacker copies
 * the fields into the status file, where any of these would make dpkg refuse the database. */
static int control_check(struct deb *d, const struct deb_member *c)
{
	static const char *const status_only[] = {
		"Status", "Config-Version", "Conffiles", "Triggers-Pending", "Triggers-Awaited",
	};
	static const char *const required[] = { "Package", "Version", "Architecture" };
	struct deb822 *ctl = NULL;
	const struct deb822_stanza *st;
	const char *v;
	int r;
	_cleanup_free_ char *msg = NULL;

	r = deb822_parse_quiet(xstrndup(c->data, c->size), c->size, "control", &msg, &ctl);
	if (r < 0) {
		_cleanup_free_ char *pr = printable(msg);

		return fail(d, r, "%s", pr);
	}
	if (ctl->n_stanzas != 1) {
		r = fail(d, -EINVAL, "control: %zu stanzas, a package has exactly one",
			 ctl->n_stanzas);
		goto out;
	}
	st = &ctl->stanzas[0];
	for (size_t i = 0; i < st->n_fields; i++) {
		_cleanup_free_ char *name = printable(st->fields[i].name);

		for (size_t k = 0; k < i; k++)
			if (strcasecmp(st->fields[k].name, st->fields[i].name) == 0) {
				r = fail(d, -EINVAL, "control:%u: duplicate value for '%s' field",
					 st->fields[i].line, name);
				goto out;
			}
		for (size_t k = 0; k < ARRAY_SIZE(status_only); k++)
			if (strcasecmp(st->fields[i].name, status_only[k]) == 0) {
				r = fail(d, -EINVAL, "control:%u: value for '%s' field not allowed "
					 "in a package (only dpkg's status file has it)",
					 st->fields[i].line, status_only[k]);
				goto out;
			}
	}
	for (size_t k = 0; k < ARRAY_SIZE(required); k++)
		if (!deb822_get(st, required[k]) || !*deb822_get(st, required[k])) {
			r = fail(d, -EINVAL, "control: missing '%s' field", required[k]);
			goto out;
		}
	v = deb822_get(st, "Package");
	if (!valid_name(v)) {
		_cleanup_free_ char *pr = printable(v);

		r = fail(d, -EINVAL, "control: invalid package name '%s' (lowercase letters, "
			 "digits and '+-.', starting with a letter or digit)", pr);
		goto out;
	}
	v = deb822_get(st, "Version");
	if (!debver_valid(v)) {
		_cleanup_free_ char *pr = printable(v);

		r = fail(d, -EINVAL, "control: invalid version '%s'", pr);
		goto out;
	}
	v = deb822_get(st, "Architecture");
	if (!valid_arch(v)) {
		_cleanup_free_ char *pr = printable(v);

		r = fail(d, -EINVAL, "control: invalid architecture '%s'", pr);
		goto out;
	}
	r = 0;
out:
	deb822_free(ctl);
	return r;
}

static int control_read(struct deb *d, const char *member, enum comp comp, const char *buf,
			size_t size)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	uint64_t total = 0;
	int r;

	if (!a)
		return fail(d, -ENOMEM, "%s: cannot allocate a reader", member);
	archive_read_support_format_tar(a);
	support_filter(a, comp);
	if (archive_read_open_memory(a, buf, size) != ARCHIVE_OK) {
		r = fail(d, archive_err(a, -EINVAL), "%s: %s", member, archive_msg(a));
		goto out;
	}
	if (archive_filter_code(a, 0) != comps[comp].filter) {
		r = fail(d, -EINVAL, "%s: not %s data", member, comps[comp].name);
		goto out;
	}
	for (;;) {
		_cleanup_free_ char *name = NULL, *pr = NULL;
		struct deb_member *m;
		const char *reason;
		char *data;
		int64_t sz;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			r = fail(d, archive_err(a, -EINVAL), "%s: %s", member, archive_msg(a));
			goto out;
		}
		pr = printable(archive_entry_pathname(e) ?: "");
		r = normalize(archive_entry_pathname(e) ?: "", &name, &reason);
		if (r < 0) {
			r = fail(d, r, "%s: entry '%s': %s", member, pr, reason);
			goto out;
		}
		if (!*name && archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e))
			continue;
		if (!*name || strchr(name, '/')) {
			r = fail(d, -EINVAL, "%s: entry '%s': not a file at the top level", member,
				 pr);
			goto out;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
			r = fail(d, -EINVAL, "%s: entry '%s': not a regular file", member, pr);
			goto out;
		}
		sz = archive_entry_size(e);
		if (sz < 0 || (uint64_t)sz > DEB_CONTROL_MAX - total) {
			r = fail(d, -EFBIG, "%s: control files exceed 32 MiB", member);
			goto out;
		}
		total += (uint64_t)sz;
		data = xmalloc((size_t)sz + 1);
		for (size_t done = 0; done < (size_t)sz;) {
			la_ssize_t k = archive_read_data(a, data + done, (size_t)sz - done);

			if (k <= 0) {
				free(data);
				if (k == 0)
					r = fail(d, -EIO, "%s: truncated archive", member);
				else
					r = fail(d, archive_err(a, -EIO), "%s: entry '%s': %s",
						 member, pr, archive_msg(a));
				goto out;
			}
			done += (size_t)k;
		}
		data[sz] = 0;
		d->members = xrealloc(d->members, (d->n_members + 1) * sizeof(*d->members));
		m = &d->members[d->n_members++];
		*m = (struct deb_member){ .name = TAKE_PTR(name),
					  .data = data,
					  .size = (size_t)sz,
					  .mode = archive_entry_perm(e) & 07777 };
	}
	if (d->n_members > 1) /* an empty control.tar leaves members NULL */
		qsort(d->members, d->n_members, sizeof(*d->members), member_cmp);
	for (size_t i = 1; i < d->n_members; i++)
		if (streq(d->members[i - 1].name, d->members[i].name)) {
			r = fail(d, -EINVAL, "%s: entry '%s' appears twice", member,
				 d->members[i].name);
			goto out;
		}
	if (!deb_control(d, "control")) {
		r = fail(d, -EINVAL, "%s: no 'control' file", member);
		goto out;
	}
	r = control_check(d, deb_control(d, "control"));
out:
	archive_read_free(a);
	return r;
}

#define NOT_DEB "not a Debian package: "

/* Reads the ar header at off: the member's name (trailing blanks and '/' removed) and size,
 * which must fit in the file. */
static int ar_header(struct deb *d, uint64_t off, uint64_t file_size, char ret_name[static 17],
		     uint64_t *ret_size)
{
	char hdr[AR_HDR];
	uint64_t size;
	size_t n;
	int r;

	if (file_size - off < AR_HDR)
		return fail(d, -EINVAL, NOT_DEB "truncated ar header at offset %llu",
			    (unsigned long long)off);
	r = pread_all(d->fd, hdr, AR_HDR, off);
	if (r < 0)
		return fail(d, r, "cannot read: %s", strerror(-r));
	memcpy(ret_name, hdr, 16);
	for (n = 16; n > 0 && ret_name[n - 1] == ' '; n--)
		;
	if (n > 0 && ret_name[n - 1] == '/')
		n--;
	ret_name[n] = 0;
	if (memcmp(hdr + 58, "`\n", 2) != 0 || parse_decimal(hdr + 48, 10, &size) < 0 || !n)
		return fail(d, -EINVAL, NOT_DEB "bad ar header at offset %llu",
			    (unsigned long long)off);
	if (size > file_size - off - AR_HDR)
		return fail(d, -EIO, "%s: truncated archive (%llu bytes, %llu in the file)",
			    ret_name, (unsigned long long)size,
			    (unsigned long long)(file_size - off - AR_HDR));
	*ret_size = size;
	return 0;
}

static int check_version(struct deb *d, uint64_t off, uint64_t size)
{
	_cleanup_free_ char *pr = NULL;
	char v[65];
	size_t n = size < sizeof(v) - 1 ? size : sizeof(v) - 1;
	int r;

	r = pread_all(d->fd, v, n, off);
	if (r < 0)
		return fail(d, r, "cannot read: %s", strerror(-r));
	v[n] = 0;
	v[strcspn(v, "\n")] = 0;
	if (startswith(v, "2."))
		return 0;
	pr = printable(v);
	return fail(d, -EINVAL, "debian-binary: unsupported format version '%s'", pr);
}

int deb_open(int fd, const char *what, unsigned threads, struct deb **ret)
{
	struct deb *d = xcalloc(1, sizeof(*d));
	_cleanup_free_ char *control_name = NULL, *control = NULL;
	uint64_t control_off = 0, control_size = 0, off, file_size;
	enum comp control_comp = COMP_NONE;
	enum { WANT_VERSION, WANT_CONTROL, WANT_DATA, AFTER_DATA } state = WANT_VERSION;
	char magic[8];
	struct stat st;
	int r;

	d->fd = fd;
	d->what = xstrdup(what ?: "");
	d->threads = threads;
	d->lz = (lzma_stream)LZMA_STREAM_INIT;
	*ret = d; /* for deb_error() even when opening fails; the caller closes it */

	if (fstat(fd, &st) < 0)
		return fail(d, -errno, "cannot stat: %m");
	file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (file_size < 8 || pread_all(fd, magic, 8, 0) < 0 || memcmp(magic, AR_MAGIC, 8) != 0)
		return fail(d, -EINVAL, NOT_DEB "bad ar magic");

	for (off = 8; off < file_size;) {
		char name[17];
		uint64_t size = 0;
		int c;

		r = ar_header(d, off, file_size, name, &size);
		if (r < 0)
			return r;
		off += AR_HDR;
		if (state == WANT_VERSION) {
			if (!streq(name, "debian-binary"))
				return fail(d, -EINVAL, NOT_DEB "first member is '%s'", name);
			r = check_version(d, off, size);
			if (r < 0)
				return r;
			state = WANT_CONTROL;
		} else if (name[0] == '_') {
			/* reserved for extensions (signatures); dpkg ignores them too */
		} else if (state == WANT_CONTROL &&
			   (c = member_comp(name, "control.tar", false)) >= 0) {
			control_name = xstrdup(name);
			control_comp = (enum comp)c;
			control_off = off;
			control_size = size;
			state = WANT_DATA;
		} else if (state == WANT_DATA && (c = member_comp(name, "data.tar", true)) >= 0) {
			d->data_name = xstrdup(name);
			d->data_comp = (enum comp)c;
			d->data_off = off;
			d->data_size = size;
			state = AFTER_DATA;
		} else {
			_cleanup_free_ char *pr = printable(name);

			return fail(d, -EINVAL, NOT_DEB "unexpected ar member '%s'", pr);
		}
		off += size + (size & 1);
	}
	if (state != AFTER_DATA)
		return fail(d, -EINVAL, NOT_DEB "no %s member",
			    state == WANT_VERSION ? "debian-binary" :
			    state == WANT_CONTROL ? "control.tar" : "data.tar");

	if (control_size > CONTROL_MEMBER_MAX)
		return fail(d, -EFBIG, "%s: larger than %llu MiB", control_name,
			    (unsigned long long)(CONTROL_MEMBER_MAX >> 20));
	control = xmalloc(control_size + 1);
	r = pread_all(fd, control, control_size, control_off);
	if (r < 0)
		return fail(d, r, "%s: cannot read: %s", control_name, strerror(-r));
	return control_read(d, control_name, control_comp, control, control_size);
}

/* ---- data.tar: the compressed member ---- */

static int raw_chunk(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	uint64_t left = d->data_size - d->raw_pos;
	size_t n = left < CHUNK ? (size_t)left : CHUNK;
	int r;

	if (!d->inbuf)
		d->inbuf = xmalloc(CHUNK);
	r = pread_all(d->fd, d->inbuf, n, d->data_off + d->raw_pos);
	if (r < 0)
		return fail(d, r, "%s: cannot read: %s", d->data_name, strerror(-r));
	d->raw_pos += n;
	*ret_buf = d->inbuf;
	*ret_len = n;
	return 0;
}

static la_ssize_t raw_read_cb(struct archive *a, void *userdata, const void **ret_buf)
{
	struct deb *d = userdata;
	size_t n;
	int r;

	r = raw_chunk(d, ret_buf, &n);
	if (r < 0) {
		d->src_err = r;
		archive_set_error(a, -r, "%s", d->error);
		return -1;
	}
	return (la_ssize_t)n;
}

static int xz_fail(struct deb *d, lzma_ret ret)
{
	switch (ret) {
	case LZMA_BUF_ERROR:
		return fail(d, -EIO, "%s: truncated archive", d->data_name);
	case LZMA_FORMAT_ERROR:
		return fail(d, -EINVAL, "%s: not xz data", d->data_name);
	case LZMA_DATA_ERROR:
		return fail(d, -EIO, "%s: corrupt compressed data", d->data_name);
	case LZMA_MEM_ERROR:
		return fail(d, -ENOMEM, "%s: out of memory decompressing", d->data_name);
	case LZMA_MEMLIMIT_ERROR:
		return fail(d, -E2BIG, "%s: needs more than %llu MiB to decompress", d->data_name,
			    (unsigned long long)(XZ_MEMLIMIT >> 20));
	case LZMA_OPTIONS_ERROR:
		return fail(d, -EINVAL, "%s: unsupported xz options", d->data_name);
	default:
		return fail(d, -EIO, "%s: xz decoder error %d", d->data_name, (int)ret);
	}
}

/* ---- data.tar.xz: blocks decoded ahead by helper threads ----
 *
 * liblzma's own multi-threaded decoder holds a whole block's input and output for each
 * thread and more in its output queue: about 100 MiB for a kernel package's 24 MiB blocks
 * on two threads. Here the reader decodes every (n + 1)-th block itself, straight into the
 * buffer it hands out, and each of n helpers decodes its blocks into a ring of one block's
 * size, which the reader hands out from without a copy when it gets there. The stream
 * header, index and footer are checked first, and each block is decoded with the sizes the
 * index gives, which its decoder checks. Anything unusual (several streams, padding, one
 * block, blocks above the rings' budget) takes the single-threaded stream decoder. */

/* Sets s up for block b, whose header is read from the member; *ret_in_pos: where its
 * compressed data starts. The decoder keeps using *block (the sizes it checks at the end):
 * it must live as long as the decoding. */
static lzma_ret xz_block_open(struct deb *d, const struct xz_blk *b, lzma_check check,
			      lzma_stream *s, lzma_block *block, uint64_t *ret_in_pos)
{
	lzma_filter filters[LZMA_FILTERS_MAX + 1] = { { .id = LZMA_VLI_UNKNOWN } };
	uint8_t hdr[LZMA_BLOCK_HEADER_SIZE_MAX];
	lzma_ret ret;

	*block = (lzma_block){ .version = 1, .check = check, .filters = filters };
	if (pread_all(d->fd, hdr, 1, d->data_off + b->off) < 0)
		return LZMA_BUF_ERROR;
	block->header_size = lzma_block_header_size_decode(hdr[0]);
	if (hdr[0] == 0 || block->header_size > b->total)
		return LZMA_DATA_ERROR;
	if (pread_all(d->fd, hdr, block->header_size, d->data_off + b->off) < 0)
		return LZMA_BUF_ERROR;
	ret = lzma_block_header_decode(block, NULL, hdr);
	if (ret != LZMA_OK)
		return ret;
	ret = lzma_block_compressed_size(block, b->unpadded);
	if (ret == LZMA_OK && block->uncompressed_size != LZMA_VLI_UNKNOWN &&
	    block->uncompressed_size != b->usize)
		ret = LZMA_DATA_ERROR;
	block->uncompressed_size = b->usize;
	if (ret == LZMA_OK && lzma_raw_decoder_memusage(filters) > XZ_MEMLIMIT)
		ret = LZMA_MEMLIMIT_ERROR;
	if (ret == LZMA_OK)
		ret = lzma_block_decoder(s, block);
	lzma_filters_free(filters, NULL); /* the decoder has taken what it needs */
	block->filters = NULL;
	s->avail_in = 0;
	*ret_in_pos = b->off + block->header_size;
	return ret;
}

/* One call of the decoder, its input refilled from the member when empty. */
static lzma_ret xz_step(struct deb *d, lzma_stream *s, char *inbuf, size_t insize, uint64_t *in_pos,
			uint64_t in_end)
{
	if (s->avail_in == 0 && *in_pos < in_end) {
		size_t n = in_end - *in_pos < insize ? (size_t)(in_end - *in_pos) : insize;

		if (pread_all(d->fd, inbuf, n, d->data_off + *in_pos) < 0)
			return LZMA_BUF_ERROR;
		s->next_in = (const uint8_t *)inbuf;
		s->avail_in = n;
		*in_pos += n;
	}
	return lzma_code(s, LZMA_RUN);
}

static void *xz_helper_run(void *userdata)
{
	struct xz_helper *h = userdata;
	struct deb *d = h->d;
	const struct xz_par *par = d->par;
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_block block;
	char *inbuf = xmalloc(XZ_PAR_CHUNK);
	lzma_ret ret = LZMA_OK;

	for (size_t b = h->first; b < par->n_blocks && ret == LZMA_OK; b += par->n_helpers + 1) {
		const struct xz_blk *bk = &par->blocks[b];
		uint64_t in_pos = 0, in_end = bk->off + bk->total;

		ret = xz_block_open(d, bk, par->check, &s, &block, &in_pos);
		while (ret == LZMA_OK) {
			size_t at, room;
			bool stop;

			pthread_mutex_lock(&h->lock);
			while (!h->stop && h->produced - h->consumed == h->cap)
				pthread_cond_wait(&h->cond, &h->lock);
			stop = h->stop;
			at = (size_t)(h->produced % h->cap);
			room = h->cap - (size_t)(h->produced - h->consumed);
			pthread_mutex_unlock(&h->lock);
			if (stop) {
				ret = LZMA_PROG_ERROR;
				break;
			}
			if (room > h->cap - at)
				room = h->cap - at;
			s.next_out = (uint8_t *)h->ring + at;
			s.avail_out = room;
			ret = xz_step(d, &s, inbuf, XZ_PAR_CHUNK, &in_pos, in_end);
			pthread_mutex_lock(&h->lock);
			h->produced += room - s.avail_out;
			pthread_cond_broadcast(&h->cond);
			pthread_mutex_unlock(&h->lock);
		}
		if (ret == LZMA_STREAM_END)
			ret = s.avail_in || in_pos != in_end ? LZMA_DATA_ERROR : LZMA_OK;
	}
	pthread_mutex_lock(&h->lock);
	h->err = ret == LZMA_OK ? LZMA_STREAM_END : ret; /* done, or why not */
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	lzma_end(&s);
	free(inbuf);
	return NULL;
}

static void xz_par_free(struct deb *d)
{
	struct xz_par *par = d->par;

	if (!par)
		return;
	for (size_t i = 0; i < par->n_helpers; i++) {
		struct xz_helper *h = &par->helpers[i];

		if (h->started) {
			pthread_mutex_lock(&h->lock);
			h->stop = true;
			pthread_cond_broadcast(&h->cond);
			pthread_mutex_unlock(&h->lock);
			pthread_join(h->thread, NULL);
		}
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h->ring);
	}
	free(par->helpers);
	free(par->blocks);
	free(par);
	d->par = NULL;
}

/* Reads the member's index and starts the helpers; false when it does not apply. */
static bool xz_par_start(struct deb *d)
{
	uint8_t hdr[LZMA_STREAM_HEADER_SIZE], ftr[LZMA_STREAM_HEADER_SIZE];
	lzma_stream_flags hf, ff;
	lzma_index *idx = NULL;
	lzma_index_iter it;
	uint64_t memlimit = XZ_MEMLIMIT, max = 0;
	_cleanup_free_ uint8_t *ib = NULL;
	struct xz_par *par;
	size_t pos = 0, n_helpers;

	if (d->data_size < 2 * LZMA_STREAM_HEADER_SIZE ||
	    pread_all(d->fd, hdr, sizeof(hdr), d->data_off) < 0 ||
	    pread_all(d->fd, ftr, sizeof(ftr), d->data_off + d->data_size - sizeof(ftr)) < 0 ||
	    lzma_stream_header_decode(&hf, hdr) != LZMA_OK ||
	    lzma_stream_footer_decode(&ff, ftr) != LZMA_OK ||
	    lzma_stream_flags_compare(&hf, &ff) != LZMA_OK || ff.backward_size > XZ_PAR_INDEX_MAX ||
	    ff.backward_size > d->data_size - 2 * LZMA_STREAM_HEADER_SIZE)
		return false;
	ib = xmalloc(ff.backward_size);
	if (pread_all(d->fd, ib, ff.backward_size,
		      d->data_off + d->data_size - sizeof(ftr) - ff.backward_size) < 0 ||
	    lzma_index_buffer_decode(&idx, &memlimit, NULL, ib, &pos, ff.backward_size) != LZMA_OK)
		return false;
	if (pos != ff.backward_size || lzma_index_stream_flags(idx, &ff) != LZMA_OK ||
	    lzma_index_file_size(idx) != d->data_size || lzma_index_block_count(idx) < 2) {
		lzma_index_end(idx, NULL);
		return false;
	}
	par = xcalloc(1, sizeof(*par));
	par->check = hf.check;
	par->blocks = xcalloc(lzma_index_block_count(idx), sizeof(*par->blocks));
	lzma_index_iter_init(&it, idx);
	while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
		struct xz_blk *b = &par->blocks[par->n_blocks++];

		*b = (struct xz_blk){ it.block.compressed_file_offset, it.block.total_size,
				      it.block.unpadded_size, it.block.uncompressed_size };
		if (b->usize > max)
			max = b->usize;
	}
	lzma_index_end(idx, NULL);
	n_helpers = max ? (size_t)(XZ_PAR_RINGS / max) : 0;
	if (n_helpers > d->threads - 1)
		n_helpers = d->threads - 1;
	if (!n_helpers) {
		free(par->blocks);
		free(par);
		return false;
	}
	d->par = par;
	par->helpers = xcalloc(n_helpers, sizeof(*par->helpers));
	par->n_helpers = n_helpers;
	for (size_t i = 0; i < n_helpers; i++) {
		struct xz_helper *h = &par->helpers[i];

		*h = (struct xz_helper){ .d = d, .first = 1 + i, .cap = (size_t)max };
		pthread_mutex_init(&h->lock, NULL);
		pthread_cond_init(&h->cond, NULL);
		h->ring = xmalloc(h->cap);
	}
	for (size_t i = 0; i < n_helpers; i++) {
		struct xz_helper *h = &par->helpers[i];

		if (pthread_create(&h->thread, NULL, xz_helper_run, h) != 0) {
			xz_par_free(d);
			return false;
		}
		h->started = true;
	}
	if (!d->inbuf)
		d->inbuf = xmalloc(CHUNK);
	return true;
}

/* The next piece of the decompressed member: from the reader's own block decoder or, for a
 * helper's block, straight from its ring (released on the next call, once the tar reader
 * is done with it). */
static int xz_par_block(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	struct xz_par *par = d->par;

	*ret_buf = d->outbuf;
	*ret_len = 0;
	if (par->release) {
		struct xz_helper *h = par->release;

		pthread_mutex_lock(&h->lock);
		h->consumed += par->release_len;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		par->release = NULL;
	}
	while (par->cur < par->n_blocks) {
		const struct xz_blk *bk = &par->blocks[par->cur];
		size_t who = par->cur % (par->n_helpers + 1);
		struct xz_helper *h;
		lzma_ret ret = LZMA_OK;
		size_t at, n;

		if (who == 0) {
			if (!par->cur_open) {
				ret = xz_block_open(d, bk, par->check, &d->lz, &par->block,
						    &par->in_pos);
				if (ret != LZMA_OK)
					return xz_fail(d, ret);
				par->in_end = bk->off + bk->total;
				par->cur_open = true;
			}
			d->lz.next_out = (uint8_t *)d->outbuf;
			d->lz.avail_out = CHUNK;
			while (d->lz.avail_out > 0 && ret == LZMA_OK)
				ret = xz_step(d, &d->lz, d->inbuf, CHUNK, &par->in_pos,
					      par->in_end);
			if (ret == LZMA_STREAM_END) {
				if (d->lz.avail_in || par->in_pos != par->in_end)
					return xz_fail(d, LZMA_DATA_ERROR);
				par->cur++;
				par->cur_open = false;
			} else if (ret != LZMA_OK) {
				return xz_fail(d, ret);
			}
			*ret_len = CHUNK - d->lz.avail_out;
			if (*ret_len)
				return 0;
			continue;
		}
		h = &par->helpers[who - 1];
		if (!par->cur_open) {
			par->cur_left = bk->usize;
			par->cur_open = true;
		}
		if (par->cur_left == 0) {
			par->cur++;
			par->cur_open = false;
			continue;
		}
		pthread_mutex_lock(&h->lock);
		while (h->produced == h->consumed && h->err == LZMA_OK)
			pthread_cond_wait(&h->cond, &h->lock);
		ret = h->err;
		at = (size_t)(h->consumed % h->cap);
		n = (size_t)(h->produced - h->consumed);
		pthread_mutex_unlock(&h->lock);
		if (n == 0)
			return xz_fail(d, ret == LZMA_STREAM_END ? LZMA_DATA_ERROR : ret);
		if (n > h->cap - at)
			n = h->cap - at;
		if (n > par->cur_left)
			n = (size_t)par->cur_left;
		if (n > CHUNK)
			n = CHUNK;
		*ret_buf = h->ring + at;
		*ret_len = n;
		par->release = h;
		par->release_len = n;
		par->cur_left -= n;
		if (par->cur_left == 0) {
			par->cur++;
			par->cur_open = false;
		}
		return 0;
	}
	d->lz_end = true;
	return 0;
}

static int xz_start(struct deb *d)
{
	lzma_ret ret;

	d->outbuf = xmalloc(CHUNK);
	if (d->threads > 1 && d->data_size > XZ_MT_MIN && xz_par_start(d)) {
		d->lz_init = true; /* the reader's blocks */
		return 0;
	}
	ret = lzma_stream_decoder(&d->lz, XZ_MEMLIMIT, 0);
	if (ret != LZMA_OK)
		return fail(d, ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL,
			    "%s: cannot set up the xz decoder (%d)", d->data_name, (int)ret);
	d->lz_init = true;
	return 0;
}

static int xz_block(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	*ret_buf = d->outbuf;
	*ret_len = 0;
	if (d->lz_end)
		return 0;
	if (d->par)
		return xz_par_block(d, ret_buf, ret_len);
	d->lz.next_out = (uint8_t *)d->outbuf;
	d->lz.avail_out = CHUNK;
	while (d->lz.avail_out > 0) {
		lzma_ret ret;

		if (d->lz.avail_in == 0 && d->raw_pos < d->data_size) {
			const void *p;
			size_t n;
			int r = raw_chunk(d, &p, &n);

			if (r < 0)
				return r;
			d->lz.next_in = p;
			d->lz.avail_in = n;
		}
		ret = lzma_code(&d->lz, d->raw_pos == d->data_size ? LZMA_FINISH : LZMA_RUN);
		if (ret == LZMA_STREAM_END) {
			d->lz_end = true;
			if (d->lz.avail_in > 0 || d->raw_pos < d->data_size)
				return fail(d, -EINVAL, "%s: trailing data after the xz stream",
					    d->data_name);
			break;
		}
		if (ret != LZMA_OK)
			return xz_fail(d, ret);
	}
	*ret_len = CHUNK - d->lz.avail_out;
	return 0;
}

static int lib_start(struct deb *d)
{
	struct archive_entry *e;

	d->raw = archive_read_new();
	if (!d->raw)
		return fail(d, -ENOMEM, "%s: cannot allocate a reader", d->data_name);
	support_filter(d->raw, d->data_comp);
	archive_read_support_format_raw(d->raw);
	if (archive_read_open(d->raw, d, NULL, raw_read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(d->raw, &e) < ARCHIVE_WARN) {
		if (d->src_err)
			return d->src_err;
		return fail(d, archive_err(d->raw, -EINVAL), "%s: %s", d->data_name,
			    archive_msg(d->raw));
	}
	if (archive_filter_code(d->raw, 0) != comps[d->data_comp].filter)
		return fail(d, -EINVAL, "%s: not %s data", d->data_name, comps[d->data_comp].name);
	return 0;
}

static int lib_block(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	for (;;) {
		la_int64_t offset;
		int r = archive_read_data_block(d->raw, ret_buf, ret_len, &offset);

		if (r == ARCHIVE_EOF) {
			*ret_len = 0;
			return 0;
		}
		if (r < ARCHIVE_OK) {
			if (d->src_err)
				return d->src_err;
			return fail(d, archive_err(d->raw, -EIO), "%s: %s", d->data_name,
				    archive_msg(d->raw));
		}
		if (*ret_len > 0)
			return 0;
	}
}

/* The next piece of decompressed data.tar; length 0 at its end. */
static int src_block(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	if (d->cr) {
		int r = deb_cache_read(d->cr, ret_buf, ret_len);

		if (r < 0)
			return fail(d, r,
				    "%s: its copy in the unpack cache is damaged (%s): remove it",
				    d->data_name, strerror(-r));
		return 0;
	}
	switch (d->data_comp) {
	case COMP_NONE:
		return raw_chunk(d, ret_buf, ret_len);
	case COMP_XZ:
		return xz_block(d, ret_buf, ret_len);
	default:
		return lib_block(d, ret_buf, ret_len);
	}
}

/* ---- data.tar: the tar stream ---- */

static int src_next(struct deb *d, const void **ret_buf, size_t *ret_len)
{
	int r = src_block(d, ret_buf, ret_len);

	if (r < 0)
		return r;
	if (*ret_len == 0)
		d->src_eof = true;
	if (d->cw && *ret_len && deb_cache_write(d->cw, *ret_buf, *ret_len) < 0) {
		deb_cache_writer_free(d->cw); /* not cached, no harm */
		d->cw = NULL;
	}
	d->cur = *ret_buf;
	d->cur_len = *ret_len;
	d->cur_off = d->handed;
	d->handed += *ret_len;
	if (d->handed > DEB_DATA_MAX)
		return fail(d, -EFBIG, "%s: more than %llu GiB of decompressed data", d->data_name,
			    (unsigned long long)(DEB_DATA_MAX >> 30));
	return 0;
}

static la_ssize_t tar_read_cb(struct archive *a, void *userdata, const void **ret_buf)
{
	struct deb *d = userdata;
	size_t n;
	int r;

	/* Where the tar reader stopped is known only after its end-of-archive blocks, and what
	 * follows must be checked to be padding. The bytes it had not consumed can lie up to
	 * one read-ahead (512 bytes) back in the previous block, which is gone by then: keep
	 * its end. */
	if (d->cur_len > 0) {
		d->tail_len = d->cur_len < TAIL ? d->cur_len : TAIL;
		d->tail_off = d->cur_off + d->cur_len - d->tail_len;
		memcpy(d->tail, d->cur + d->cur_len - d->tail_len, d->tail_len);
	}
	r = src_next(d, ret_buf, &n);
	if (r < 0) {
		d->src_err = r;
		archive_set_error(a, -r, "%s", d->error);
		return -1;
	}
	return (la_ssize_t)n;
}

/* Uncompressed data.tar: skipping file data needs no reading at all. */
static la_int64_t tar_skip_cb(struct archive *a, void *userdata, la_int64_t request)
{
	struct deb *d = userdata;
	uint64_t n = d->data_size - d->raw_pos;

	if (request <= 0)
		return 0;
	if ((uint64_t)request < n)
		n = (uint64_t)request;
	d->raw_pos += n;
	d->handed += n;
	d->cur_len = d->tail_len = 0;
	return (la_int64_t)n;
}

/* The cache: its payload when there, else a writer for one (neither when it fails). */
static void cache_start(struct deb *d)
{
	int bad = 0, r;

	if (!d->cache_on || d->data_comp == COMP_NONE || d->data_size < d->cache_min)
		return;
	d->cache.key = d->cache_key;
	r = deb_cache_open(&d->cache, &d->cr, &bad);
	if (bad)
		d->cache_event = DEB_CACHE_BAD;
	if (r > 0)
		d->cache_event = DEB_CACHE_READ;
	else if (deb_cache_create(&d->cache, &d->cw) < 0)
		d->cw = NULL;
}

static int data_start(struct deb *d)
{
	int r;

	cache_start(d);
	if (d->cr)
		r = 0;
	else if (d->data_comp == COMP_XZ)
		r = xz_start(d);
	else if (d->data_comp != COMP_NONE)
		r = lib_start(d);
	else
		r = 0;
	if (r < 0)
		return r;

	d->tar = archive_read_new();
	if (!d->tar)
		return fail(d, -ENOMEM, "%s: cannot allocate a reader", d->data_name);
	archive_read_support_format_tar(d->tar);
	archive_read_support_filter_none(d->tar);
	archive_read_set_callback_data(d->tar, d);
	archive_read_set_read_callback(d->tar, tar_read_cb);
	if (d->data_comp == COMP_NONE)
		archive_read_set_skip_callback(d->tar, tar_skip_cb);
	if (archive_read_open1(d->tar) != ARCHIVE_OK) {
		if (d->src_err)
			return d->src_err;
		return fail(d, archive_err(d->tar, -EINVAL), "%s: %s", d->data_name,
			    archive_msg(d->tar));
	}
	return 0;
}

/* The tar reader failed: prefer what our callbacks saw to its generic message. */
static int tar_fail(struct deb *d, int fallback)
{
	if (d->src_err)
		return d->src_err;
	if (d->src_eof)
		return fail(d, -EIO, "%s: truncated archive", d->data_name);
	return fail(d, archive_err(d->tar, fallback), "%s: %s", d->data_name, archive_msg(d->tar));
}

static bool region_zero(const char *p, uint64_t p_off, size_t p_len, uint64_t from)
{
	if (from >= p_off + p_len)
		return true;
	if (from > p_off) {
		p += from - p_off;
		p_len -= (size_t)(from - p_off);
	}
	return all_zero(p, p_len);
}

/* After the end-of-archive blocks only zero padding may follow, then the end of the
 * compressed stream: anything else is a second archive or garbage that dpkg would not
 * unpack either. */
static int data_finish(struct deb *d)
{
	la_int64_t pos = archive_filter_bytes(d->tar, 0);

	if (pos < 0 || (uint64_t)pos > d->handed)
		return fail(d, -EIO, "%s: cannot tell where the tar archive ends", d->data_name);
	if (!region_zero(d->tail, d->tail_off, d->tail_len, (uint64_t)pos) ||
	    !region_zero(d->cur, d->cur_off, d->cur_len, (uint64_t)pos))
		goto garbage;
	while (!d->src_eof) {
		const void *p;
		size_t n;
		int r = src_next(d, &p, &n);

		if (r < 0)
			return r;
		if (!all_zero(p, n))
			goto garbage;
	}
	if (d->raw) {
		/* libarchive's decompressors stop quietly before trailing garbage */
		int last = archive_filter_count(d->raw) - 1;
		la_int64_t used = archive_filter_bytes(d->raw, last);

		if (used >= 0 && (uint64_t)used < d->data_size)
			return fail(d, -EINVAL, "%s: trailing data after the compressed stream",
				    d->data_name);
	}
	if (d->cw) {
		if (deb_cache_commit(d->cw) == 0 && d->cache_event == DEB_CACHE_NONE)
			d->cache_event = DEB_CACHE_STORED;
		deb_cache_writer_free(d->cw);
		d->cw = NULL;
	}
	return 0;
garbage:
	return fail(d, -EINVAL, "%s: data after the end of the tar archive", d->data_name);
}

static int entry_fail(struct deb *d, struct archive_entry *e, int r, const char *reason)
{
	_cleanup_free_ char *pr = printable(archive_entry_pathname(e) ?: "");

	return fail(d, r, "%s: entry '%s': %s", d->data_name, pr, reason);
}

static int entry_convert(struct deb *d, struct archive_entry *e, struct deb_entry *ret)
{
	const char *name = archive_entry_pathname(e), *hl = archive_entry_hardlink(e), *reason;
	int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	int r;

	r = normalize(name ?: "", &d->path, &reason);
	if (r < 0)
		return entry_fail(d, e, r, reason);
	*ret = (struct deb_entry){
		.path = d->path,
		.mode = archive_entry_perm(e) & 07777,
		.mtime = archive_entry_mtime(e),
		.rdev_major = archive_entry_rdevmajor(e),
		.rdev_minor = archive_entry_rdevminor(e),
	};
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return entry_fail(d, e, -ERANGE, "owner out of range");
	ret->uid = (uint32_t)uid;
	ret->gid = (uint32_t)gid;

	if (hl) {
		_cleanup_free_ char *pr = printable(hl);
		char buf[DEB_PATH_MAX + 128];

		r = normalize(hl, &d->link, &reason);
		if (r < 0) {
			snprintf(buf, sizeof(buf), "hard link target '%s': %s", pr, reason);
			return entry_fail(d, e, r, buf);
		}
		if (!seen_has(&d->seen, d->link)) {
			snprintf(buf, sizeof(buf),
				 "hard link target '%s' is not a regular file earlier in the "
				 "package", pr);
			return entry_fail(d, e, -EINVAL, buf);
		}
		ret->type = DEB_HARDLINK;
		ret->link = d->link;
	} else {
		switch (archive_entry_filetype(e)) {
		case AE_IFREG: {
			int64_t size = archive_entry_size(e);

			if (size < 0 || (uint64_t)size > DEB_FILE_MAX)
				return entry_fail(d, e, -EFBIG, "file larger than 64 GiB");
			d->declared += (uint64_t)size;
			if (d->declared > DEB_DATA_MAX)
				return entry_fail(d, e, -EFBIG, "files add up to more than 64 GiB");
			ret->type = DEB_REG;
			ret->size = (uint64_t)size;
			break;
		}
		case AE_IFDIR:
			ret->type = DEB_DIR;
			break;
		case AE_IFLNK: {
			const char *t = archive_entry_symlink(e);

			if (!t || !*t)
				return entry_fail(d, e, -EINVAL, "symlink with an empty target");
			d->link = xstrdup(t);
			ret->type = DEB_SYMLINK;
			ret->link = d->link;
			break;
		}
		case AE_IFCHR:
			ret->type = DEB_CHR;
			break;
		case AE_IFBLK:
			ret->type = DEB_BLK;
			break;
		case AE_IFIFO:
			ret->type = DEB_FIFO;
			break;
		case AE_IFSOCK:
			return entry_fail(d, e, -EINVAL, "sockets are not supported");
		default:
			return entry_fail(d, e, -EINVAL, "unsupported file type");
		}
	}
	if (!*d->path && ret->type != DEB_DIR)
		return entry_fail(d, e, -EINVAL, "the package root is not a directory");
	if (ret->type == DEB_REG || ret->type == DEB_HARDLINK)
		seen_add(&d->seen, d->path);
	d->in_regular = ret->type == DEB_REG;
	return 1;
}

int deb_next(struct deb *d, struct deb_entry *ret)
{
	struct archive_entry *e;
	int r;

	if (d->failed)
		return d->failed;
	if (d->finished)
		return 0;
	d->in_regular = false;
	free(d->path);
	free(d->link);
	d->path = d->link = NULL;
	if (!d->tar) {
		r = data_start(d);
		if (r < 0)
			return d->failed = r;
	}
	r = archive_read_next_header(d->tar, &e);
	if (r == ARCHIVE_EOF) {
		r = data_finish(d);
		if (r < 0)
			return d->failed = r;
		d->finished = true;
		return 0;
	}
	if (r < ARCHIVE_WARN)
		return d->failed = tar_fail(d, -EINVAL);
	r = entry_convert(d, e, ret);
	if (r < 0)
		d->failed = r;
	return r;
}

ssize_t deb_read(struct deb *d, void *buf, size_t n)
{
	la_ssize_t k;

	if (d->failed)
		return d->failed;
	if (!d->in_regular || n == 0)
		return 0;
	k = archive_read_data(d->tar, buf, n);
	if (k < 0)
		return d->failed = tar_fail(d, -EIO);
	return k;
}

/* ---- accessors ---- */

const struct deb_member *deb_control(const struct deb *d, const char *name)
{
	struct deb_member key = { .name = name };

	if (!d->n_members)
		return NULL;
	return bsearch(&key, d->members, d->n_members, sizeof(*d->members), member_cmp);
}

const struct deb_member *deb_control_members(const struct deb *d, size_t *ret_n)
{
	*ret_n = d->n_members;
	return d->members;
}

const char *deb_error(const struct deb *d)
{
	return d->error ?: "no error";
}

const char *deb_what(const struct deb *d)
{
	return d->what;
}

const char *deb_data_compression(const struct deb *d)
{
	return comps[d->data_comp].name;
}

uint64_t deb_data_size(const struct deb *d)
{
	return d->data_size;
}

void deb_use_cache(struct deb *d, const struct deb_cache *c, uint64_t min_size)
{
	free((char *)d->cache.dir);
	free((char *)d->cache.id);
	d->cache.dir = xstrdup(c->dir);
	d->cache.id = xstrdup(c->id);
	memcpy(d->cache_key, c->key, DEB_CACHE_KEY_SIZE);
	d->cache_min = min_size;
	d->cache_on = true;
}

enum deb_cache_event deb_cache_event(const struct deb *d)
{
	return d->cache_event;
}

struct deb *deb_close(struct deb *d)
{
	if (!d)
		return NULL;
	deb_cache_reader_free(d->cr);
	deb_cache_writer_free(d->cw);
	free((char *)d->cache.dir);
	free((char *)d->cache.id);
	explicit_bzero(d->cache_key, sizeof(d->cache_key));
	if (d->tar)
		archive_read_free(d->tar);
	if (d->raw)
		archive_read_free(d->raw);
	xz_par_free(d); /* its helpers read d->fd and d->par */
	if (d->lz_init)
		lzma_end(&d->lz);
	for (size_t i = 0; i < d->n_members; i++) {
		free((char *)d->members[i].name);
		free((char *)d->members[i].data);
	}
	free(d->members);
	seen_free(&d->seen);
	free(d->path);
	free(d->link);
	free(d->inbuf);
	free(d->outbuf);
	free(d->data_name);
	free(d->error);
	free(d->what);
	free(d);
	return NULL;
}
