// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/deb.c. Good packages are built by dpkg-deb from a tree the test writes
 * and read back field by field; hostile ones are assembled here (ar written by hand, tar by
 * libarchive's writer, xz by liblzma) and must fail with a message naming what is wrong. */
#include "deb.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "helpers.h"
#include "util.h"

#define MTIME 1600000000
#define KiB (1u << 10)
#define MiB (1u << 20)


/* ---- helpers ---- */

static int write_data(const char *path, const void *data, size_t size, unsigned mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || pwrite_all(fd, data, size, 0) < 0 || fchmod(fd, mode) < 0)
		return -errno;
	return 0;
}

static int write_str(const char *path, const char *s, unsigned mode)
{
	return write_data(path, s, strlen(s), mode);
}

struct buf {
	char *data;
	size_t size;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	b->data = xrealloc(b->data, b->size + n);
	memcpy(b->data + b->size, p, n);
	b->size += n;
}

/* One tar entry for make_tar(). */
struct tent {
	const char *path;
	unsigned type; /* AE_IF*; 0 for a hard link */
	unsigned mode;
	const char *data; /* regular files */
	const char *link; /* symlink or hard link target */
};

static struct buf make_tar(int format, const struct tent *t, size_t n)
{
	struct archive *a = archive_write_new();
	size_t cap = 4 * MiB, used = 0;
	struct buf b;

	for (size_t i = 0; i < n; i++)
		cap += t[i].data ? strlen(t[i].data) : 0;
	b = (struct buf){ .data = xmalloc(cap) };

	archive_write_set_format(a, format);
	archive_write_add_filter_none(a);
	if (archive_write_open_memory(a, b.data, cap, &used) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t size = t[i].data ? strlen(t[i].data) : 0;

		archive_entry_set_pathname(e, t[i].path);
		archive_entry_set_mtime(e, MTIME, 0);
		archive_entry_set_perm(e, t[i].mode);
		if (t[i].type == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, t[i].link);
		} else {
			archive_entry_set_filetype(e, t[i].type);
			if (t[i].type == AE_IFLNK)
				archive_entry_set_symlink(e, t[i].link);
			if (t[i].type == AE_IFREG)
				archive_entry_set_size(e, (int64_t)size);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			fprintf(stderr, "archive_write_header: %s\n", archive_error_string(a));
			abort();
		}
		if (size)
			archive_write_data(a, t[i].data, size);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	b.size = used;
	return b;
}

static struct buf xz(const struct buf *in)
{
	struct buf b = { .data = xmalloc(in->size + in->size / 2 + 4096) };

	if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, (const uint8_t *)in->data, in->size,
				    (uint8_t *)b.data, &b.size, in->size + in->size / 2 + 4096) !=
	    LZMA_OK)
		abort();
	return b;
}

/* Compresses with libarchive's writer (filter: archive_write_add_filter_gzip, ...). */
static struct buf compress_with(const struct buf *in, int (*filter)(struct archive *))
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap = in->size + 64 * KiB, used = 0;
	struct buf b = { .data = xmalloc(cap) };

	archive_write_set_format_raw(a);
	filter(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, b.data, cap, &used) != ARCHIVE_OK)
		abort();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "data");
	archive_write_header(a, e);
	archive_write_data(a, in->data, in->size);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	b.size = used;
	return b;
}

struct member {
	const char *name;
	struct buf data;
};

/* Writes an ar archive: the exact layout dpkg-deb uses (names with '/', even padding). */
static int write_ar(const char *path, const struct member *m, size_t n)
{
	struct buf b = { 0 };
	int r;

	buf_add(&b, "!<arch>\n", 8);
	for (size_t i = 0; i < n; i++) {
		char hdr[61];

		snprintf(hdr, sizeof(hdr), "%-16s%-12u%-6u%-6u%-8o%-10zu`\n", m[i].name, MTIME,
			 0, 0, 0100644, m[i].data.size);
		buf_add(&b, hdr, 60);
		buf_add(&b, m[i].data.data, m[i].data.size);
		if (m[i].data.size & 1)
			buf_add(&b, "\n", 1);
	}
	r = write_data(path, b.data, b.size, 0644);
	free(b.data);
	return r;
}

static struct buf str_buf(const char *s)
{
	struct buf b = { 0 };

	buf_add(&b, s, strlen(s));
	return b;
}

/* control.tar.xz with this control file (none when NULL). */
static struct buf control_tar_with(const char *control)
{
	const struct tent t[] = {
		{ "./", AE_IFDIR, 0755 },
		{ "./control", AE_IFREG, 0644, control },
	};
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, control ? 2 : 1);
	struct buf c = xz(&tar);

	free(tar.data);
	return c;
}

static struct buf control_tar_xz(void)
{
	return control_tar_with("Package: evil\nVersion: 1\nArchitecture: all\n");
}

/* A .deb at tmpdir/name whose data member is `data` (already compressed as data_name says). */
static char *make_deb(const char *name, const char *data_name, struct buf data)
{
	struct member m[] = {
		{ "debian-binary/", str_buf("2.0\n") },
		{ "control.tar.xz/", control_tar_xz() },
		{ data_name, data },
	};
	char *path = tmp_path(name);

	if (write_ar(path, m, ARRAY_SIZE(m)) < 0)
		abort();
	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		free(m[i].data.data);
	return path;
}

/* A .deb whose data.tar.xz holds the given entries. */
static char *make_deb_entries(const char *name, int format, const struct tent *t, size_t n)
{
	struct buf tar = make_tar(format, t, n);
	struct buf c = xz(&tar);

	free(tar.data);
	return make_deb(name, "data.tar.xz/", c);
}

/* Reads every entry and all data; returns the first error (or 0) and the entry count. */
static int read_all(struct deb *d, size_t *ret_n)
{
	struct deb_entry e;
	char buf[64 * KiB];
	size_t n = 0;
	int r;

	while ((r = deb_next(d, &e)) > 0) {
		ssize_t k;

		n++;
		while ((k = deb_read(d, buf, sizeof(buf))) > 0)
			;
		if (k < 0) {
			r = (int)k;
			break;
		}
	}
	if (ret_n)
		*ret_n = n;
	return r;
}

/* Opens path and reads it all: 0 if the package is good, else the error, with deb_error()
 * copied to ret_msg. */
static int try_deb(const char *path, unsigned threads, char **ret_msg)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct deb *d = NULL;
	int r;

	if (fd < 0)
		return -errno;
	r = deb_open(fd, path, threads, &d);
	if (r >= 0)
		r = read_all(d, NULL);
	*ret_msg = xstrdup(deb_error(d));
	deb_close(d);
	return r;
}

#define CHECK_FAILS(path, msg)                                                                     \
	do {                                                                                       \
		_cleanup_free_ char *_m = NULL;                                                    \
		int _r = try_deb(path, 1, &_m);                                                    \
		if (_r >= 0 || !strstr(_m, msg)) {                                                 \
			fprintf(stderr, "  %s: got %d '%s', expected '%s'\n", path, _r, _m, msg);  \
		}                                                                                  \
		CHECK(_r < 0);                                                                     \
		CHECK(strstr(_m, msg));                                                            \
	} while (0)

/* ---- packages built by dpkg-deb ---- */

static const char conffiles[] = "/etc/foo.conf\n";
static const char postinst[] = "#!/bin/sh\nset -e\necho configured\n";
static const char control[] = "Package: hello\n"
			      "Version: 1.0-1\n"
			      "Architecture: all\n"
			      "Maintainer: Test <test@example.org>\n"
			      "Description: test package\n";
static const char conf[] = "key = value\n";
static const char tool[] = "#!/bin/sh\necho tool\n";
static const char suid[] = "\177ELF pretend\n";

/* The tree under tmpdir/tree, every mtime MTIME. */
static int make_tree(void)
{
	_cleanup_free_ char *root = tmp_path("tree");
	static const char *const dirs[] = { "", "/DEBIAN", "/etc", "/usr", "/usr/bin",
					    "/usr/share", "/usr/share/empty" };
	char p[256];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		if (mkdir(p, 0755) < 0 || chmod(p, 0755) < 0)
			return -errno;
	}
#define W(rel, s, mode)                                                                            \
	do {                                                                                       \
		snprintf(p, sizeof(p), "%s/%s", root, rel);                                        \
		if (write_str(p, s, mode) < 0)                                                     \
			return -1;                                                                 \
	} while (0)
	W("DEBIAN/control", control, 0644);
	W("DEBIAN/conffiles", conffiles, 0644);
	W("DEBIAN/postinst", postinst, 0755);
	W("etc/foo.conf", conf, 0644);
	W("usr/bin/tool", tool, 0755);
	W("usr/bin/suid", suid, 04755);
#undef W
	if (run("ln %s/usr/bin/tool %s/usr/bin/hard && ln -s tool %s/usr/bin/link", root, root,
		root) != 0)
		return -1;
	/* dpkg-deb clamps mtimes to SOURCE_DATE_EPOCH; keep ours below it */
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	return run("find %s -exec touch -h -d @%d {} +", root, MTIME) == 0 ? 0 : -1;
}

struct expect {
	const char *path;
	enum deb_type type;
	unsigned mode;
	const char *data; /* regular files */
	const char *link;
};

/* dpkg-deb sorts by name, so "hard" comes first and "tool" is the link to it; symlinks go
 * last. */
static const struct expect tree_entries[] = {
	{ "", DEB_DIR, 0755 },
	{ "etc", DEB_DIR, 0755 },
	{ "etc/foo.conf", DEB_REG, 0644, conf },
	{ "usr", DEB_DIR, 0755 },
	{ "usr/bin", DEB_DIR, 0755 },
	{ "usr/bin/hard", DEB_REG, 0755, tool },
	{ "usr/bin/suid", DEB_REG, 04755, suid },
	{ "usr/bin/tool", DEB_HARDLINK, 0755, NULL, "usr/bin/hard" },
	{ "usr/share", DEB_DIR, 0755 },
	{ "usr/share/empty", DEB_DIR, 0755 },
	{ "usr/bin/link", DEB_SYMLINK, 0777, NULL, "tool" },
};

static void check_built(const char *z, const char *comp, const char *data_member)
{
	_cleanup_free_ char *deb = NULL, *root = tmp_path("tree");
	_cleanup_close_ int fd = -1;
	const struct deb_member *m;
	struct deb *d = NULL;
	struct deb_entry e;
	size_t n, i;
	int r;

	deb = xasprintf("%s/hello-%s.deb", tmpdir, z);
	CHECK(run("dpkg-deb --build --root-owner-group -Z%s %s %s >/dev/null", z, root, deb) == 0);
	CHECK(run("ar t %s | grep -qx %s", deb, data_member) == 0);
	fd = open(deb, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	lseek(fd, 17, SEEK_SET); /* reads use pread: the position does not matter */
	r = deb_open(fd, "hello.deb", 2, &d);
	if (r < 0)
		fprintf(stderr, "  deb_open: %s\n", deb_error(d));
	CHECK(r == 0);
	CHECK_STREQ(deb_what(d), "hello.deb");
	CHECK_STREQ(deb_data_compression(d), comp);
	CHECK(deb_data_size(d) > 0);

	m = deb_control_members(d, &n);
	CHECK(n == 3);
	CHECK_STREQ(m[0].name, "conffiles");
	CHECK_STREQ(m[1].name, "control");
	CHECK_STREQ(m[2].name, "postinst");
	CHECK_STREQ(m[0].data, conffiles);
	CHECK(m[0].size == strlen(conffiles) && m[0].mode == 0644);
	CHECK_STREQ(m[1].data, control);
	CHECK(m[1].size == strlen(control));
	CHECK_STREQ(m[2].data, postinst);
	CHECK(m[2].mode == 0755);
	CHECK(deb_control(d, "control") == &m[1]);
	CHECK(deb_control(d, "postinst") == &m[2]);
	CHECK(deb_control(d, "preinst") == NULL);
	CHECK(deb_control(d, "md5sums") == NULL);

	for (i = 0; (r = deb_next(d, &e)) > 0; i++) {
		const struct expect *x = &tree_entries[i];
		char buf[4096];
		size_t got = 0;
		ssize_t k;

		CHECK(i < ARRAY_SIZE(tree_entries));
		CHECK_STREQ(e.path, x->path);
		CHECK(e.type == x->type);
		CHECK(e.mode == x->mode);
		CHECK(e.uid == 0 && e.gid == 0);
		CHECK(e.mtime == MTIME);
		CHECK(e.size == (x->data ? strlen(x->data) : 0));
		if (x->link)
			CHECK_STREQ(e.link, x->link);
		else
			CHECK(e.link == NULL);
		/* read in small pieces to cross the buffer boundaries */
		while ((k = deb_read(d, buf + got, 5)) > 0)
			got += (size_t)k;
		CHECK(k == 0);
		CHECK(got == e.size);
		if (x->data)
			CHECK(memcmp(buf, x->data, got) == 0);
	}
	if (r < 0)
		fprintf(stderr, "  deb_next: %s\n", deb_error(d));
	CHECK(r == 0);
	CHECK(i == ARRAY_SIZE(tree_entries));
	CHECK(deb_next(d, &e) == 0); /* stays at the end */
	deb_close(d);
}

static void test_dpkg_xz(void)
{
	check_built("xz", "xz", "data.tar.xz");
}

static void test_dpkg_zstd(void)
{
	check_built("zstd", "zst", "data.tar.zst");
}

static void test_dpkg_gzip(void)
{
	check_built("gzip", "gz", "data.tar.gz");
}

static void test_dpkg_none(void)
{
	check_built("none", "none", "data.tar");
}

/* Skipping unread data: entries only, with deb_read never called. */
static void test_skip_data(void)
{
	static const char *const z[] = { "xz", "zstd", "gzip", "none" };

	for (size_t i = 0; i < ARRAY_SIZE(z); i++) {
		_cleanup_free_ char *deb = xasprintf("%s/hello-%s.deb", tmpdir, z[i]);
		_cleanup_close_ int fd = open(deb, O_RDONLY | O_CLOEXEC);
		struct deb *d = NULL;
		struct deb_entry e;
		size_t n = 0;
		int r;

		CHECK(fd >= 0);
		CHECK(deb_open(fd, deb, 1, &d) == 0);
		while ((r = deb_next(d, &e)) > 0)
			n++;
		deb_close(d);
		CHECK(r == 0);
		CHECK(n == ARRAY_SIZE(tree_entries));
	}
}

/* Deterministic incompressible bytes. */
static void fill_random(char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		p[i] = (char)(seed >> 56);
	}
}

/* A data.tar.xz above the multi-threading threshold, built by dpkg-deb (which writes
 * multi-block streams), read with threads and without. */
static void test_big_xz_threads(void)
{
	_cleanup_free_ char *root = tmp_path("big"), *deb = tmp_path("big.deb"), *f = NULL;
	_cleanup_free_ char *data = xmalloc(12 * MiB), *got = xmalloc(12 * MiB + 1);
	static const char ctl[] = "Package: big\nVersion: 1\nArchitecture: all\n"
				  "Maintainer: T <t@e.org>\nDescription: big\n";

	fill_random(data, 12 * MiB, 42);
	CHECK(run("mkdir -p -m 0755 %s/DEBIAN %s/usr/share/big", root, root) == 0);
	f = xasprintf("%s/DEBIAN/control", root);
	CHECK(write_str(f, ctl, 0644) == 0);
	free(f);
	f = xasprintf("%s/usr/share/big/blob", root);
	CHECK(write_data(f, data, 12 * MiB, 0644) == 0);
	CHECK(run("chmod 0755 %s && dpkg-deb --build --root-owner-group -Zxz -z0 %s %s >/dev/null",
		  root, root, deb) == 0);

	for (unsigned threads = 1; threads <= 2; threads++) {
		_cleanup_close_ int fd = open(deb, O_RDONLY | O_CLOEXEC);
		struct deb *d = NULL;
		struct deb_entry e;
		bool seen = false;
		int r;

		CHECK(deb_open(fd, deb, threads, &d) == 0);
		CHECK(deb_data_size(d) > 8 * MiB);
		while ((r = deb_next(d, &e)) > 0) {
			size_t n = 0;
			ssize_t k;

			if (!streq(e.path, "usr/share/big/blob"))
				continue;
			seen = true;
			CHECK(e.size == 12 * MiB);
			while ((k = deb_read(d, got + n, 12 * MiB + 1 - n)) > 0)
				n += (size_t)k;
			CHECK(k == 0 && n == 12 * MiB);
			CHECK(memcmp(got, data, n) == 0);
		}
		if (r < 0)
			fprintf(stderr, "  %s\n", deb_error(d));
		deb_close(d);
		CHECK(r == 0 && seen);
	}
}

/* A multi-block data.tar.xz (1 MiB blocks, as xz -T writes them), damaged in one block: read
 * with two threads, the blocks are decoded by the reader (even) and a helper (odd), and
 * either must fail with the message of the single-threaded decoder, nothing hangs; intact,
 * both read the same bytes. */
static struct buf buf_copy(const struct buf *b);

static void test_xz_blocks_threads(void)
{
	_cleanup_free_ char *data = xmalloc(16 * MiB);
	struct tent t[] = { { "./", AE_IFDIR, 0755, NULL, NULL },
			    { "./blob", AE_IFREG, 0644, NULL, NULL } };
	struct buf tar, c = { 0 };
	lzma_mt mt = { .threads = 1, .block_size = MiB, .preset = 0, .check = LZMA_CHECK_CRC64 };
	lzma_stream s = LZMA_STREAM_INIT;

	/* letters: no NUL in the file, and still above the threads' 8 MiB once compressed */
	fill_random(data, 16 * MiB - 1, 7);
	for (size_t i = 0; i < 16 * MiB - 1; i++)
		data[i] = (char)('a' + (unsigned char)data[i] % 26);
	data[16 * MiB - 1] = 0;
	t[1].data = data;
	tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, ARRAY_SIZE(t));
	c.data = xmalloc(tar.size + tar.size / 8 + 65536);
	CHECK(lzma_stream_encoder_mt(&s, &mt) == LZMA_OK);
	s.next_in = (const uint8_t *)tar.data;
	s.avail_in = tar.size;
	s.next_out = (uint8_t *)c.data;
	s.avail_out = tar.size + tar.size / 8 + 65536;
	CHECK(lzma_code(&s, LZMA_FINISH) == LZMA_STREAM_END);
	c.size = (size_t)s.total_out;
	lzma_end(&s);
	free(tar.data);
	CHECK(c.size > 8 * MiB);
	{
		_cleanup_free_ char *good = make_deb("blocks.deb", "data.tar.xz/", buf_copy(&c));
		_cleanup_free_ char *m1 = NULL, *m2 = NULL;

		CHECK(try_deb(good, 1, &m1) == 0);
		CHECK(try_deb(good, 2, &m2) == 0);
	}
	/* The 16 blocks compress alike: block k is around 12 + (k + 1/2) * c.size / 16. */
	for (unsigned k = 4; k <= 5; k++) {
		struct buf bad = buf_copy(&c);
		_cleanup_free_ char *name = xasprintf("blocks-bad%u.deb", k), *deb = NULL;
		_cleanup_free_ char *m = NULL;
		int r;

		bad.data[12 + k * (c.size / 16) + c.size / 32] ^= 0x5a;
		deb = make_deb(name, "data.tar.xz/", bad);
		r = try_deb(deb, 2, &m);
		if (r >= 0 || !strstr(m, "data.tar.xz: corrupt compressed data"))
			fprintf(stderr, "  block %u: got %d '%s'\n", k, r, m);
		CHECK(r < 0 && strstr(m, "data.tar.xz: corrupt compressed data"));
	}
	free(c.data);
}

/* ---- unusual but valid layouts ---- */

static void test_no_dot_prefix(void)
{
	static const struct tent t[] = {
		{ "usr/", AE_IFDIR, 0755 },
		{ "usr//bin/./", AE_IFDIR, 0700 },
		{ "usr/bin/x", AE_IFREG, 0644, "x\n" },
		{ "usr/bin/y", 0, 0644, NULL, "usr/bin/./x" },
	};
	_cleanup_free_ char *deb = make_deb_entries("nodot.deb", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
						     t, ARRAY_SIZE(t));
	_cleanup_close_ int fd = open(deb, O_RDONLY | O_CLOEXEC);
	struct deb *d = NULL;
	struct deb_entry e;

	CHECK(deb_open(fd, deb, 1, &d) == 0);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "usr");
	CHECK(e.type == DEB_DIR && e.mode == 0755 && e.mtime == MTIME);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "usr/bin");
	CHECK(e.type == DEB_DIR && e.mode == 0700);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "usr/bin/x");
	CHECK(e.type == DEB_REG && e.size == 2);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "usr/bin/y");
	CHECK(e.type == DEB_HARDLINK);
	CHECK_STREQ(e.link, "usr/bin/x");
	CHECK(deb_next(d, &e) == 0);
	deb_close(d);
}

static void test_root_and_devices(void)
{
	static const struct tent t[] = {
		{ "./", AE_IFDIR, 0755 },
		{ ".", AE_IFDIR, 01777 },
		{ "./dev/", AE_IFDIR, 0755 },
		{ "./dev/fifo", AE_IFIFO, 0600 },
		{ "./dev/empty", AE_IFREG, 0400, "" },
	};
	_cleanup_free_ char *deb = make_deb_entries("root.deb", ARCHIVE_FORMAT_TAR_GNUTAR, t,
						     ARRAY_SIZE(t));
	_cleanup_close_ int fd = open(deb, O_RDONLY | O_CLOEXEC);
	struct deb *d = NULL;
	struct deb_entry e;
	char buf[16];

	CHECK(deb_open(fd, deb, 1, &d) == 0);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "");
	CHECK(e.type == DEB_DIR && e.mode == 0755);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "");
	CHECK(e.mode == 01777);
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "dev");
	CHECK(deb_next(d, &e) == 1);
	CHECK_STREQ(e.path, "dev/fifo");
	CHECK(e.type == DEB_FIFO && e.mode == 0600);
	CHECK(deb_read(d, buf, sizeof(buf)) == 0);
	CHECK(deb_next(d, &e) == 1);
	CHECK(e.type == DEB_REG && e.size == 0 && e.mode == 0400);
	CHECK(deb_read(d, buf, sizeof(buf)) == 0);
	CHECK(deb_next(d, &e) == 0);
	deb_close(d);
}

/* Members starting with '_' are skipped; names may lack the trailing '/'. */
static void test_extra_member(void)
{
	static const struct tent t[] = { { "./", AE_IFDIR, 0755 } };
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1);
	struct member m[] = {
		{ "debian-binary", str_buf("2.0\n") },
		{ "_gpgbuilder", str_buf("signature") },
		{ "control.tar.xz", control_tar_xz() },
		{ "data.tar", tar },
		{ "_trailer", str_buf("x") },
	};
	_cleanup_free_ char *path = tmp_path("extra.deb"), *msg = NULL;

	CHECK(write_ar(path, m, ARRAY_SIZE(m)) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(m); i++)
		free(m[i].data.data);
	CHECK(try_deb(path, 1, &msg) == 0);
}

/* ---- hostile packages ---- */

static void test_bad_paths(void)
{
	_cleanup_free_ char *abs = NULL, *dotdot = NULL, *dotdot2 = NULL, *nl = NULL, *cr = NULL,
			    *hl_unseen = NULL, *hl_dotdot = NULL, *hl_dir = NULL, *longp = NULL,
			    *empty = NULL, *root_file = NULL;
	char long_name[5000];

	abs = make_deb_entries("abs.deb", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
			       (struct tent[]){ { "/etc/passwd", AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(abs, "data.tar.xz: entry '/etc/passwd': absolute path");

	dotdot = make_deb_entries("dotdot.deb", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
				  (struct tent[]){ { "../etc/passwd", AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(dotdot, "data.tar.xz: entry '../etc/passwd': path leaves the package root");

	dotdot2 = make_deb_entries(
		"dotdot2.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
		(struct tent[]){ { "./", AE_IFDIR, 0755 }, { "./usr/../../x", AE_IFDIR, 0755 } },
		2);
	CHECK_FAILS(dotdot2, "entry './usr/../../x/': path leaves the package root");

	nl = make_deb_entries("nl.deb", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
			      (struct tent[]){ { "./etc/a\nb", AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(nl, "entry './etc/a\\nb': name contains a newline");

	cr = make_deb_entries("cr.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
			      (struct tent[]){ { "./etc/a\rb", AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(cr, "entry './etc/a\\rb': name contains a newline or carriage return");

	hl_unseen = make_deb_entries("hl-unseen.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				     (struct tent[]){ { "./a", AE_IFREG, 0644, "a" },
						      { "./b", 0, 0644, NULL, "./c" },
						      { "./c", AE_IFREG, 0644, "c" } },
				     3);
	CHECK_FAILS(hl_unseen, "entry './b': hard link target './c' is not a regular file "
			       "earlier in the package");

	hl_dotdot = make_deb_entries("hl-dotdot.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				     (struct tent[]){ { "./b", 0, 0644, NULL, "../etc/shadow" } },
				     1);
	CHECK_FAILS(hl_dotdot,
		    "entry './b': hard link target '../etc/shadow': path leaves the package root");

	hl_dir = make_deb_entries("hl-dir.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				  (struct tent[]){ { "./usr/", AE_IFDIR, 0755 },
						   { "./b", 0, 0644, NULL, "./usr" } },
				  2);
	CHECK_FAILS(hl_dir, "hard link target './usr' is not a regular file earlier");

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	for (size_t i = 100; i < sizeof(long_name) - 1; i += 100)
		long_name[i] = '/';
	longp = make_deb_entries("long.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				 (struct tent[]){ { long_name, AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(longp, "path too long");

	empty = make_deb_entries("empty-link.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				 (struct tent[]){ { "./l", AE_IFLNK, 0777, NULL, "" } }, 1);
	CHECK_FAILS(empty, "entry './l': symlink with an empty target");

	root_file = make_deb_entries("root-file.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
				     (struct tent[]){ { ".", AE_IFREG, 0644, "x" } }, 1);
	CHECK_FAILS(root_file, "the package root is not a directory");
}

/* Sets the size field of the tar header at `hdr` in GNU base-256 form, fixing its checksum:
 * a header can claim more than any test could write. */
static void tar_set_size(char *hdr, uint64_t size)
{
	unsigned sum = 0;

	memset(hdr + 124, 0, 12);
	hdr[124] = (char)0x80;
	for (int i = 0; i < 8; i++)
		hdr[135 - i] = (char)(size >> (8 * i));
	memset(hdr + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)hdr[i];
	snprintf(hdr + 148, 8, "%06o", sum);
}

static void test_huge_file(void)
{
	static const struct tent t[] = { { "./huge", AE_IFREG, 0644, "" } };
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1), c;
	_cleanup_free_ char *ok = NULL, *huge = NULL;
	struct deb *d = NULL;
	struct deb_entry e;
	int fd;

	/* exactly 64 GiB is allowed (the header is; its data is missing) */
	tar_set_size(tar.data, DEB_FILE_MAX);
	ok = make_deb("64g.deb", "data.tar.xz/", xz(&tar));
	fd = open(ok, O_RDONLY | O_CLOEXEC);
	CHECK(deb_open(fd, ok, 1, &d) == 0);
	CHECK(deb_next(d, &e) == 1);
	CHECK(e.type == DEB_REG && e.size == DEB_FILE_MAX);
	deb_close(d);
	close(fd);

	tar_set_size(tar.data, DEB_FILE_MAX + 1);
	c = xz(&tar);
	free(tar.data);
	huge = make_deb("huge.deb", "data.tar.xz/", c);
	CHECK_FAILS(huge, "data.tar.xz: entry './huge': file larger than 64 GiB");
}

/* Messages name the package layer that failed. */
static void test_bad_container(void)
{
	static const struct tent t[] = { { "./", AE_IFDIR, 0755 } };
	_cleanup_free_ char *magic = tmp_path("magic.deb"), *ver = tmp_path("ver.deb"),
			    *first = tmp_path("first.deb"), *unknown = tmp_path("unknown.deb"),
			    *noctl = tmp_path("noctl.deb"), *nodata = tmp_path("nodata.deb"),
			    *order = tmp_path("order.deb");
	struct tent no_control[] = { { "./", AE_IFDIR, 0755 },
				     { "./md5sums", AE_IFREG, 0644, "" } };
	struct tent dir_control[] = { { "./", AE_IFDIR, 0755 },
				      { "./control", AE_IFREG, 0644, "Package: x\n" },
				      { "./sub/", AE_IFDIR, 0755 } };
	struct buf tar;

	CHECK(write_str(magic, "!<arch>\r\nfoo", 0644) == 0);
	CHECK_FAILS(magic, "not a Debian package: bad ar magic");

#define AR(path, ...)                                                                              \
	do {                                                                                       \
		struct member _m[] = { __VA_ARGS__ };                                              \
		CHECK(write_ar(path, _m, ARRAY_SIZE(_m)) == 0);                                    \
		for (size_t _i = 0; _i < ARRAY_SIZE(_m); _i++)                                     \
			free(_m[_i].data.data);                                                    \
	} while (0)

	AR(ver, { "debian-binary", str_buf("3.0\n") }, { "control.tar.xz", control_tar_xz() },
	   { "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	CHECK_FAILS(ver, "debian-binary: unsupported format version '3.0'");

	AR(first, { "control.tar.xz", control_tar_xz() }, { "debian-binary", str_buf("2.0\n") });
	CHECK_FAILS(first, "not a Debian package: first member is 'control.tar.xz'");

	AR(unknown, { "debian-binary", str_buf("2.0\n") }, { "control.tar.xz", control_tar_xz() },
	   { "foo", str_buf("x") }, { "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	CHECK_FAILS(unknown, "not a Debian package: unexpected ar member 'foo'");

	AR(order, { "debian-binary", str_buf("2.0\n") },
	   { "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) },
	   { "control.tar.xz", control_tar_xz() });
	CHECK_FAILS(order, "unexpected ar member 'data.tar'");

	AR(nodata, { "debian-binary", str_buf("2.0\n") }, { "control.tar.xz", control_tar_xz() });
	CHECK_FAILS(nodata, "not a Debian package: no data.tar member");

	tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, no_control, ARRAY_SIZE(no_control));
	AR(noctl, { "debian-binary", str_buf("2.0\n") }, { "control.tar.xz", xz(&tar) },
	   { "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	free(tar.data);
	CHECK_FAILS(noctl, "control.tar.xz: no 'control' file");

	tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, dir_control, ARRAY_SIZE(dir_control));
	AR(noctl, { "debian-binary", str_buf("2.0\n") }, { "control.tar", tar },
	   { "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	CHECK_FAILS(noctl, "control.tar: entry './sub/': not a regular file");

	/* the member says xz, the bytes are not */
	AR(noctl, { "debian-binary", str_buf("2.0\n") }, { "control.tar.xz", control_tar_xz() },
	   { "data.tar.xz", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	CHECK_FAILS(noctl, "data.tar.xz: not xz data");
	AR(noctl, { "debian-binary", str_buf("2.0\n") }, { "control.tar.xz", control_tar_xz() },
	   { "data.tar.zst", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) });
	CHECK_FAILS(noctl, "data.tar.zst: not zst data");
#undef AR
}

/* The control file is checked as dpkg checks it: what would break the status file or name a
 * file outside /var/lib/dpkg/info is refused. An empty control.tar has no control file. */
static void test_control_fields(void)
{
	static const struct {
		const char *control, *msg;
	} bad[] = {
		{ "Package: a\nVersion: 1\nArchitecture: all\nStatus: install ok installed\n",
		  "control:4: value for 'Status' field not allowed in a package" },
		{ "Package: a\nVersion: 1\nArchitecture: all\nversion: 2\n",
		  "control:4: duplicate value for 'version' field" },
		{ "Package: a\nVersion: 1\nArchitecture: all\nConffiles:\n /etc/x 0\n",
		  "value for 'Conffiles' field not allowed" },
		{ "Package: a\nVersion: 1\nArchitecture: all\n\nPackage: b\n",
		  "control: 2 stanzas, a package has exactly one" },
		{ "Package: ../../x\nVersion: 1\nArchitecture: all\n",
		  "control: invalid package name '../../x'" },
		{ "Package: Ab\nVersion: 1\nArchitecture: all\n", "invalid package name 'Ab'" },
		{ "Package: a\nVersion: x1\nArchitecture: all\n", "control: invalid version 'x1'" },
		{ "Package: a\nVersion: 1\nArchitecture: ../x\n", "invalid architecture '../x'" },
		{ "Package: a\nVersion: 1\n", "control: missing 'Architecture' field" },
		{ "Package: a\nVersion: 1\nArchitecture: all\n bad\nnocolon\n",
		  "control:5: expected 'Name: value'" },
		{ NULL, "control.tar.xz: no 'control' file" },
	};
	static const struct tent t[] = { { "./", AE_IFDIR, 0755 } };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *path = tmp_path("control.deb");
		struct member m[] = {
			{ "debian-binary", str_buf("2.0\n") },
			{ "control.tar.xz", control_tar_with(bad[i].control) },
			{ "data.tar", make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, t, 1) },
		};

		CHECK(write_ar(path, m, ARRAY_SIZE(m)) == 0);
		for (size_t k = 0; k < ARRAY_SIZE(m); k++)
			free(m[k].data.data);
		CHECK_FAILS(path, bad[i].msg);
	}
}

static const struct tent plain[] = {
	{ "./", AE_IFDIR, 0755 },
	{ "./usr/", AE_IFDIR, 0755 },
	{ "./usr/file", AE_IFREG, 0644,
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
	{ "./usr/z", AE_IFREG, 0644, "z" },
};

static void test_truncated(void)
{
	_cleanup_free_ char *cut = NULL, *inner = NULL, *plain_cut = NULL;
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, plain, ARRAY_SIZE(plain));
	struct buf c = xz(&tar);
	struct stat st;

	/* the file ends inside the ar member */
	cut = make_deb("cut.deb", "data.tar.xz/", c);
	CHECK(stat(cut, &st) == 0);
	CHECK(truncate(cut, st.st_size - 10) == 0);
	CHECK_FAILS(cut, "data.tar.xz: truncated archive");

	/* the ar member is whole but holds a cut xz stream */
	c = xz(&tar);
	c.size -= 20;
	inner = make_deb("cut-xz.deb", "data.tar.xz/", c);
	CHECK_FAILS(inner, "data.tar.xz: truncated archive");

	/* uncompressed, ending inside the first file's data */
	tar.size = 512 * 3 + 100;
	plain_cut = make_deb("cut-plain.deb", "data.tar/", tar);
	CHECK_FAILS(plain_cut, "data.tar: truncated archive");
}

static void test_corrupt_xz(void)
{
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, plain, ARRAY_SIZE(plain));
	struct buf c = xz(&tar);
	_cleanup_free_ char *deb = NULL;

	free(tar.data);
	for (size_t i = 40; i < 60 && i < c.size; i++)
		c.data[i] ^= 0x5a;
	deb = make_deb("corrupt.deb", "data.tar.xz/", c);
	CHECK_FAILS(deb, "data.tar.xz: corrupt compressed data");
}

static struct buf buf_copy(const struct buf *b)
{
	struct buf c = { 0 };

	buf_add(&c, b->data, b->size);
	return c;
}

static void test_trailing(void)
{
	struct buf tar = make_tar(ARCHIVE_FORMAT_TAR_GNUTAR, plain, ARRAY_SIZE(plain));
	struct buf two = { 0 }, c;
	_cleanup_free_ char *second = NULL, *second_plain = NULL, *after_xz = NULL;

	/* a second tar archive after the first one's end (and its zero padding) */
	buf_add(&two, tar.data, tar.size);
	buf_add(&two, tar.data, tar.size);
	second = make_deb("second.deb", "data.tar.xz/", xz(&two));
	CHECK_FAILS(second, "data.tar.xz: data after the end of the tar archive");
	second_plain = make_deb("second-plain.deb", "data.tar/", buf_copy(&two));
	CHECK_FAILS(second_plain, "data.tar: data after the end of the tar archive");

	/* garbage after the xz stream inside the member */
	c = xz(&tar);
	buf_add(&c, "garbage!", 8);
	after_xz = make_deb("after-xz.deb", "data.tar.xz/", c);
	CHECK_FAILS(after_xz, "data.tar.xz: trailing data after the xz stream");

	/* the same through libarchive's decompressors */
	for (size_t i = 0; i < 2; i++) {
		int (*filter)(struct archive *) =
			i == 0 ? archive_write_add_filter_gzip : archive_write_add_filter_zstd;
		const char *member = i == 0 ? "data.tar.gz/" : "data.tar.zst/";
		/* libarchive's gzip reader stops before garbage, its zstd reader fails on it */
		const char *msg_garbage = i == 0 ?
			"data.tar.gz: trailing data after the compressed stream" :
			"data.tar.zst: Zstd decompression failed";
		_cleanup_free_ char *good = NULL, *bad = NULL, *bad2 = NULL, *msg = NULL;

		good = make_deb("good-lib.deb", member, compress_with(&tar, filter));
		CHECK(try_deb(good, 1, &msg) == 0);
		c = compress_with(&tar, filter);
		buf_add(&c, "garbage!", 8);
		bad = make_deb("bad-lib.deb", member, c);
		CHECK_FAILS(bad, msg_garbage);
		bad2 = make_deb("second-lib.deb", member, compress_with(&two, filter));
		CHECK_FAILS(bad2, "data after the end of the tar archive");
	}
	free(two.data);
	free(tar.data);
}

/* A failure is sticky and deb_close() takes NULL. */
static void test_sticky(void)
{
	_cleanup_free_ char *deb = make_deb_entries(
		"sticky.deb", ARCHIVE_FORMAT_TAR_GNUTAR,
		(struct tent[]){ { "./", AE_IFDIR, 0755 }, { "../x", AE_IFDIR, 0755 } }, 2);
	_cleanup_close_ int fd = open(deb, O_RDONLY | O_CLOEXEC);
	struct deb *d = NULL;
	struct deb_entry e;
	char buf[8];
	int r;

	CHECK(deb_open(fd, deb, 1, &d) == 0);
	CHECK(deb_next(d, &e) == 1);
	r = deb_next(d, &e);
	CHECK(r == -EINVAL);
	CHECK(deb_next(d, &e) == r);
	CHECK(deb_read(d, buf, sizeof(buf)) == r);
	CHECK(strstr(deb_error(d), "path leaves the package root"));
	CHECK(deb_close(d) == NULL);
	CHECK(deb_close(NULL) == NULL);
}

/* Under UBSan a report fails the test (qsort(NULL, 0) on an empty control.tar was one). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-deb.XXXXXX");
	if (!mkdtemp(tmpdir) || make_tree() < 0) {
		perror("setup");
		return 1;
	}

	RUN_TEST(test_dpkg_xz);
	RUN_TEST(test_dpkg_zstd);
	RUN_TEST(test_dpkg_gzip);
	RUN_TEST(test_dpkg_none);
	RUN_TEST(test_skip_data);
	RUN_TEST(test_big_xz_threads);
	RUN_TEST(test_xz_blocks_threads);
	RUN_TEST(test_no_dot_prefix);
	RUN_TEST(test_root_and_devices);
	RUN_TEST(test_extra_member);
	RUN_TEST(test_bad_paths);
	RUN_TEST(test_huge_file);
	RUN_TEST(test_bad_container);
	RUN_TEST(test_control_fields);
	RUN_TEST(test_truncated);
	RUN_TEST(test_corrupt_xz);
	RUN_TEST(test_trailing);
	RUN_TEST(test_sticky);

	if (!getenv("TEST_DEB_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
