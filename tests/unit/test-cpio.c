// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/cpio.c. The archives are read back by independent tools: bsdtar and
 * GNU cpio list them (after gzip/zstd/xz -dc for cpio), cpio -idm extracts them, xz and zstd
 * describe their streams; the newc headers themselves are parsed here to check the fields
 * no listing shows (inode numbers, device fields, order, no padding after the trailer). */
#include "cpio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "util.h"

#define MTIME 1600000000 /* Sep 13 2020 */
#define BIG_SIZE 300001u /* several of libarchive's 64 KiB output blocks; not a multiple of 4 */

static char *big;

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *ret_size)
{
	char *data = NULL;
	size_t size = 0;

	if (read_file(path, 64u << 20, &data, &size) < 0)
		return NULL;
	if (ret_size)
		*ret_size = size;
	return data;
}

static const char *const decompressor[] = {
	[CPIO_COMPRESSION_NONE] = "cat",
	[CPIO_COMPRESSION_GZIP] = "gzip -dc",
	[CPIO_COMPRESSION_ZSTD] = "zstd -qdc",
	[CPIO_COMPRESSION_XZ] = "xz -dc",
};

/* Pseudo-random bytes with some repetition, so that every compressor has work to do. */
static void make_big(void)
{
	uint32_t x = 12345;

	big = xmalloc(BIG_SIZE);
	for (size_t i = 0; i < BIG_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = i % 1024 < 512 ? (char)(x >> 16) : (char)('a' + i % 26);
	}
}

#define INIT_TEXT "#!/bin/sh\nexec /bin/sh\n"
#define MOTD_TEXT "hello\n"

/* The standard archive, its entries added out of order and in the path styles callers use. */
static int build(enum cpio_compression comp, const char *path)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return -errno;
	if ((r = cpio_new(fd, comp, MTIME, &c)) < 0 ||
	    (r = cpio_add_file(c, "/init", 0755, INIT_TEXT, strlen(INIT_TEXT))) < 0 ||
	    (r = cpio_add_file(c, "bin/busybox", 0755, big, BIG_SIZE)) < 0 ||
	    (r = cpio_add_symlink(c, "bin/sh", "busybox")) < 0 ||
	    (r = cpio_add_node(c, "dev/console", 'c', 0600, 5, 1)) < 0 ||
	    (r = cpio_add_node(c, "/dev/null", 'c', 0666, 1, 3)) < 0 ||
	    (r = cpio_add_node(c, "dev/sda", 'b', 0660, 8, 0)) < 0 ||
	    (r = cpio_add_dir(c, "dev/", 0750)) < 0 || /* after its children */
	    (r = cpio_add_file(c, "./etc/motd", 0644, MOTD_TEXT, strlen(MOTD_TEXT))) < 0 ||
	    (r = cpio_add_file(c, "etc/empty", 0600, NULL, 0)) < 0 ||
	    (r = cpio_add_dir(c, "root", 0700)) < 0 ||
	    (r = cpio_add_dir(c, "usr//lib/modules/./6.1.0", 0755)) < 0 ||
	    (r = cpio_add_symlink(c, "lib", "usr/lib")) < 0)
		return r;
	return cpio_close(c);
}

/* bsdtar -tv, with TZ=UTC and LC_ALL=C */
static const char bsdtar_listing[] =
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 bin\n"
	"-rwxr-xr-x  1 0      0      300001 Sep 13  2020 bin/busybox\n"
	"lrwxrwxrwx  1 0      0           7 Sep 13  2020 bin/sh -> busybox\n"
	"drwxr-x---  2 0      0           0 Sep 13  2020 dev\n"
	"crw-------  1 0      0         5,1 Sep 13  2020 dev/console\n"
	"crw-rw-rw-  1 0      0         1,3 Sep 13  2020 dev/null\n"
	"brw-rw----  1 0      0         8,0 Sep 13  2020 dev/sda\n"
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 etc\n"
	"-rw-------  1 0      0           0 Sep 13  2020 etc/empty\n"
	"-rw-r--r--  1 0      0           6 Sep 13  2020 etc/motd\n"
	"-rwxr-xr-x  1 0      0          23 Sep 13  2020 init\n"
	"lrwxrwxrwx  1 0      0           7 Sep 13  2020 lib -> usr/lib\n"
	"drwx------  2 0      0           0 Sep 13  2020 root\n"
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 usr\n"
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 usr/lib\n"
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 usr/lib/modules\n"
	"drwxr-xr-x  2 0      0           0 Sep 13  2020 usr/lib/modules/6.1.0\n";

/* GNU cpio -itvn */
static const char cpio_listing[] =
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 bin\n"
	"-rwxr-xr-x   1 0        0          300001 Sep 13  2020 bin/busybox\n"
	"lrwxrwxrwx   1 0        0               7 Sep 13  2020 bin/sh -> busybox\n"
	"drwxr-x---   2 0        0               0 Sep 13  2020 dev\n"
	"crw-------   1 0        0          5,   1 Sep 13  2020 dev/console\n"
	"crw-rw-rw-   1 0        0          1,   3 Sep 13  2020 dev/null\n"
	"brw-rw----   1 0        0          8,   0 Sep 13  2020 dev/sda\n"
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 etc\n"
	"-rw-------   1 0        0               0 Sep 13  2020 etc/empty\n"
	"-rw-r--r--   1 0        0               6 Sep 13  2020 etc/motd\n"
	"-rwxr-xr-x   1 0        0              23 Sep 13  2020 init\n"
	"lrwxrwxrwx   1 0        0               7 Sep 13  2020 lib -> usr/lib\n"
	"drwx------   2 0        0               0 Sep 13  2020 root\n"
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 usr\n"
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 usr/lib\n"
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 usr/lib/modules\n"
	"drwxr-xr-x   2 0        0               0 Sep 13  2020 usr/lib/modules/6.1.0\n";

static uint32_t hex8(const char *p)
{
	char s[9];

	memcpy(s, p, 8);
	s[8] = 0;
	return (uint32_t)strtoul(s, NULL, 16);
}

/* Walks the newc headers of an uncompressed archive: 0 when every field we promise holds
 * and the archive ends right after the trailer, else the offset of the bad header + 1. */
static size_t check_newc(const char *data, size_t size, size_t *ret_entries)
{
	_cleanup_free_ char *prev = NULL;
	size_t off = 0, n = 0;

	for (;;) {
		const char *h = data + off;
		uint32_t ino, mode, nlink, filesize, namesize;
		const char *name;

		if (size - off < 110 || memcmp(h, "070701", 6) != 0)
			return off + 1;
		ino = hex8(h + 6);
		mode = hex8(h + 14);
		nlink = hex8(h + 38);
		filesize = hex8(h + 54);
		namesize = hex8(h + 94);
		name = h + 110;
		if (namesize == 0 || size - off - 110 < namesize || name[namesize - 1])
			return off + 1;
		if (streq(name, "TRAILER!!!")) {
			off = align_up(off + 110 + namesize, 4);
			*ret_entries = n;
			return off == size ? 0 : off + 1;
		}
		/* ino sequential from 1; uid, gid 0; one mtime; dev, check 0 */
		if (ino != n + 1 || hex8(h + 22) || hex8(h + 30) || hex8(h + 46) != MTIME ||
		    hex8(h + 62) || hex8(h + 70) || hex8(h + 102))
			return off + 1;
		if (nlink != (S_ISDIR(mode) ? 2u : 1u))
			return off + 1;
		if (!S_ISCHR(mode) && !S_ISBLK(mode) && (hex8(h + 78) || hex8(h + 86)))
			return off + 1;
		/* sorted, relative */
		if (name[0] == '/' || startswith(name, "./") || (prev && strcmp(prev, name) >= 0))
			return off + 1;
		free(prev);
		prev = xstrdup(name);
		off = align_up(align_up(off + 110 + namesize, 4) + filesize, 4);
		if (off > size)
			return off + 1;
		n++;
	}
}

/* ---- tests ---- */

static void test_names(void)
{
	CHECK_STREQ(cpio_compression_to_string(CPIO_COMPRESSION_GZIP), "gzip");
	CHECK_STREQ(cpio_compression_to_string(CPIO_COMPRESSION_ZSTD), "zstd");
	CHECK_STREQ(cpio_compression_to_string(CPIO_COMPRESSION_XZ), "xz");
	CHECK_STREQ(cpio_compression_to_string(CPIO_COMPRESSION_NONE), "none");
	CHECK_STREQ(cpio_compression_to_string(_CPIO_COMPRESSION_MAX), "?");
	for (int i = 0; i < _CPIO_COMPRESSION_MAX; i++)
		CHECK(cpio_compression_from_string(cpio_compression_names[i]) == i);
	CHECK(cpio_compression_from_string("gz") == -EINVAL);
	CHECK(cpio_compression_from_string("") == -EINVAL);
	CHECK(cpio_compression_from_string(NULL) == -EINVAL);
	CHECK(cpio_compression_names[_CPIO_COMPRESSION_MAX] == NULL);
}

/* Builds the standard archive in one compression and reads it back every way. */
static void check_archive(enum cpio_compression comp)
{
	const char *name = cpio_compression_to_string(comp);
	_cleanup_free_ char *arch = NULL, *again = NULL, *plain = NULL, *listing = NULL,
			    *dir = NULL, *p = NULL, *a = NULL, *b = NULL, *d = NULL;
	size_t a_size, b_size, d_size, entries = 0, bad;
	struct stat st;
	char target[64];
	ssize_t n;

	arch = xasprintf("%s/initrd.%s", tmpdir, name);
	again = xasprintf("%s/initrd-again.%s", tmpdir, name);
	plain = xasprintf("%s/initrd-%s.cpio", tmpdir, name);
	listing = xasprintf("%s/listing-%s", tmpdir, name);
	dir = xasprintf("%s/x-%s", tmpdir, name);
	CHECK(build(comp, arch) == 0);

	/* the same calls, the same bytes */
	CHECK(build(comp, again) == 0);
	a = slurp(arch, &a_size);
	b = slurp(again, &b_size);
	CHECK(a && b);
	CHECK(a_size == b_size && memcmp(a, b, a_size) == 0);

	/* the stream format, with nothing from the host */
	switch (comp) {
	case CPIO_COMPRESSION_GZIP:
		CHECK(a_size > 10 && memcmp(a, "\x1f\x8b\x08", 3) == 0);
		CHECK(a[3] == 0);                            /* FLG: no name, no comment */
		CHECK(memcmp(a + 4, "\0\0\0\0", 4) == 0);    /* MTIME */
		CHECK(run("gzip -t %s", arch) == 0);         /* and nothing after the stream */
		break;
	case CPIO_COMPRESSION_ZSTD:
		CHECK(a_size > 4 && memcmp(a, "\x28\xb5\x2f\xfd", 4) == 0);
		CHECK(run("zstd -lv %s 2>&1 | grep -q '^# Zstandard Frames: 1$'", arch) == 0);
		break;
	case CPIO_COMPRESSION_XZ:
		CHECK(a_size > 12 && memcmp(a, "\xfd" "7zXZ\0", 6) == 0);
		CHECK(a[6] == 0 && a[7] == 0x01); /* stream flags: CRC32 */
		CHECK(a[a_size - 2 - 2 + 0] == 0 && a[a_size - 2 - 2 + 1] == 0x01); /* footer */
		CHECK(run("xz --robot -lvv %s | grep -q '^stream\t1\t1\t.*\tCRC32\t'", arch) == 0);
		CHECK(run("xz --robot -lvv %s | grep -q -- '--lzma2=dict=1MiB$'", arch) == 0);
		break;
	case CPIO_COMPRESSION_NONE:
	case _CPIO_COMPRESSION_MAX:
		CHECK(a_size > 6 && memcmp(a, "070701", 6) == 0);
		break;
	}

	/* bsdtar reads every compression itself */
	CHECK(run("bsdtar -tvf %s > %s", arch, listing) == 0);
	p = slurp(listing, NULL);
	CHECK_STREQ(p, bsdtar_listing);
	free(p);

	/* GNU cpio reads the decompressed stream */
	CHECK(run("%s %s > %s", decompressor[comp], arch, plain) == 0);
	CHECK(run("cpio --quiet -itvn < %s > %s", plain, listing) == 0);
	p = slurp(listing, NULL);
	CHECK_STREQ(p, cpio_listing);

	/* the headers themselves */
	d = slurp(plain, &d_size);
	CHECK(d);
	bad = check_newc(d, d_size, &entries);
	if (bad)
		fprintf(stderr, "  bad newc header at offset %zu\n", bad - 1);
	CHECK(bad == 0);
	CHECK(entries == 17);

	/* extracted: contents, modes, mtimes, the symlink (device nodes left out: no root) */
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(run("cd %s && cpio --quiet -idm --no-absolute-filenames -f 'dev/*' < %s", dir,
		  plain) == 0);
	free(p);
	p = xasprintf("cmp -s %s/init - <<'EOF'\n" INIT_TEXT "EOF", dir);
	CHECK(run("%s", p) == 0);
	free(p);
	p = xasprintf("%s/etc/motd", dir);
	free(a);
	a = slurp(p, &a_size);
	CHECK(a && a_size == strlen(MOTD_TEXT) && memcmp(a, MOTD_TEXT, a_size) == 0);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644 && st.st_mtime == MTIME);
	free(p);
	p = xasprintf("%s/bin/busybox", dir);
	free(a);
	a = slurp(p, &a_size);
	CHECK(a && a_size == BIG_SIZE && memcmp(a, big, BIG_SIZE) == 0);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_mtime == MTIME);
	free(p);
	p = xasprintf("%s/etc/empty", dir);
	CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
	CHECK((st.st_mode & 07777) == 0600);
	free(p);
	p = xasprintf("%s/bin/sh", dir);
	n = readlink(p, target, sizeof(target));
	CHECK(n == 7 && memcmp(target, "busybox", 7) == 0);
	free(p);
	p = xasprintf("%s/root", dir);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	free(p);
	p = xasprintf("%s/usr/lib/modules/6.1.0", dir);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	free(p);
	p = xasprintf("%s/dev/console", dir);
	CHECK(lstat(p, &st) < 0 && errno == ENOENT);
}

static void test_none(void)
{
	check_archive(CPIO_COMPRESSION_NONE);
}

static void test_gzip(void)
{
	check_archive(CPIO_COMPRESSION_GZIP);
}

static void test_zstd(void)
{
	check_archive(CPIO_COMPRESSION_ZSTD);
}

static void test_xz(void)
{
	check_archive(CPIO_COMPRESSION_XZ);
}

/* Each compression gives other bytes, and another mtime other bytes again. */
static void test_mtime(void)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *path = tmp_path("mtime.cpio"), *listing = tmp_path("mtime.list"),
			    *l = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK(cpio_new(fd, CPIO_COMPRESSION_GZIP, 0, &c) == 0);
	CHECK(cpio_add_file(c, "a/b", 0644, "x", 1) == 0);
	CHECK(cpio_close(c) == 0);
	CHECK(run("gzip -dc %s | cpio --quiet -itvn > %s", path, listing) == 0);
	l = slurp(listing, NULL);
	CHECK_STREQ(l, "drwxr-xr-x   2 0        0               0 Jan  1  1970 a\n"
		       "-rw-r--r--   1 0        0               1 Jan  1  1970 a/b\n");
}

/* No entries: just the trailer. */
static void test_empty(void)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *path = tmp_path("empty.cpio"), *d = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t size, entries = 1;

	CHECK(fd >= 0);
	CHECK(cpio_new(fd, CPIO_COMPRESSION_NONE, MTIME, &c) == 0);
	CHECK(cpio_count(c) == 0);
	CHECK(cpio_close(c) == 0);
	d = slurp(path, &size);
	CHECK(d && size == 124);
	CHECK(check_newc(d, size, &entries) == 0 && entries == 0);
	CHECK(run("cpio --quiet -it < %s", path) == 0);
}

/* Two archives one after the other, as the kernel takes them (an early microcode archive
 * first): each ends right after its trailer, so the second starts where the first ends. */
static void test_concatenated(void)
{
	_cleanup_free_ char *path = tmp_path("two.cpio"), *listing = tmp_path("two.list"),
			    *l = NULL, *d = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	off_t first = 0;
	size_t size;

	CHECK(fd >= 0);
	for (int i = 0; i < 2; i++) {
		_cleanup_(cpio_freep) struct cpio *c = NULL;

		CHECK(cpio_new(fd, i == 0 ? CPIO_COMPRESSION_NONE : CPIO_COMPRESSION_GZIP, MTIME,
			       &c) == 0);
		CHECK(cpio_add_file(c, i == 0 ? "kernel/x86/microcode/GenuineIntel.bin" : "init",
				    0644, "x", 1) == 0);
		CHECK(cpio_close(c) == 0);
		if (i == 0)
			first = lseek(fd, 0, SEEK_CUR);
	}
	d = slurp(path, &size);
	CHECK(d && first > 0 && (size_t)first < size);
	CHECK(memcmp(d + first, "\x1f\x8b", 2) == 0);
	CHECK(run("cpio --quiet -it < %s > %s", path, listing) == 0);
	l = slurp(listing, NULL);
	CHECK_STREQ(l, "kernel\nkernel/x86\nkernel/x86/microcode\n"
		       "kernel/x86/microcode/GenuineIntel.bin\n");
	free(l);
	CHECK(run("tail -c +%lld %s | gzip -dc | cpio --quiet -it > %s", (long long)first + 1, path,
		  listing) == 0);
	l = slurp(listing, NULL);
	CHECK_STREQ(l, "init\n");
}

#define EXPECT_FAIL(expect, call, message)                                                         \
	do {                                                                                       \
		_cleanup_free_ char *_m = NULL;                                                    \
		int _r;                                                                            \
                                                                                                   \
		capture_begin();                                                                   \
		_r = (call);                                                                       \
		_m = capture_end();                                                                \
		if (_r != (expect))                                                                \
			fprintf(stderr, "  %s returned %d\n", #call, _r);                          \
		CHECK(_r == (expect));                                                             \
		CHECK_STREQ(_m, message);                                                          \
	} while (0)

static void test_conflicts(void)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *path = tmp_path("conflicts.cpio"), *listing = NULL, *l = NULL;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK(cpio_new(fd, CPIO_COMPRESSION_NONE, MTIME, &c) == 0);
	CHECK(cpio_add_file(c, "etc/a", 0644, "a", 1) == 0);
	CHECK(cpio_count(c) == 2);
	CHECK(cpio_contains(c, "etc/a") && cpio_contains(c, "/etc/a") && cpio_contains(c, "etc"));
	CHECK(cpio_contains(c, "./etc//a") && !cpio_contains(c, "etc/b"));
	CHECK(!cpio_contains(c, "/") && !cpio_contains(c, "../etc"));

	EXPECT_FAIL(-EEXIST, cpio_add_file(c, "/etc/a", 0600, "b", 1),
		    "error: cpio: 'etc/a' added twice");
	EXPECT_FAIL(-EEXIST, cpio_add_dir(c, "etc/a", 0755), "error: cpio: 'etc/a' added twice");
	EXPECT_FAIL(-EEXIST, cpio_add_symlink(c, "etc", "x"),
		    "error: cpio: cannot add 'etc' as a symlink: it is the directory of entries "
		    "added before");
	EXPECT_FAIL(-ENOTDIR, cpio_add_file(c, "etc/a/b", 0644, "x", 1),
		    "error: cpio: cannot add 'etc/a/b': 'etc/a' is a file");
	CHECK(cpio_add_symlink(c, "lib", "usr/lib") == 0);
	EXPECT_FAIL(-ENOTDIR, cpio_add_node(c, "lib/x/y", 'c', 0600, 1, 3),
		    "error: cpio: cannot add 'lib/x/y': 'lib' is a symlink");
	CHECK(cpio_add_node(c, "dev/null", 'c', 0666, 1, 3) == 0);
	EXPECT_FAIL(-ENOTDIR, cpio_add_dir(c, "dev/null/x", 0755),
		    "error: cpio: cannot add 'dev/null/x': 'dev/null' is a character device");
	/* a failed add adds nothing, not even parents */
	CHECK(!cpio_contains(c, "lib/x") && !cpio_contains(c, "etc/a/b"));
	CHECK(cpio_count(c) == 5);

	/* an implicit directory taken over: its mode, once */
	CHECK(cpio_add_dir(c, "etc", 0700) == 0);
	EXPECT_FAIL(-EEXIST, cpio_add_dir(c, "etc", 0700), "error: cpio: 'etc' added twice");
	CHECK(cpio_count(c) == 5);
	CHECK(cpio_close(c) == 0);
	listing = tmp_path("conflicts.list");
	CHECK(run("cpio --quiet -itvn < %s > %s", path, listing) == 0);
	l = slurp(listing, NULL);
	CHECK_STREQ(l, "drwxr-xr-x   2 0        0               0 Sep 13  2020 dev\n"
		       "crw-rw-rw-   1 0        0          1,   3 Sep 13  2020 dev/null\n"
		       "drwx------   2 0        0               0 Sep 13  2020 etc\n"
		       "-rw-r--r--   1 0        0               1 Sep 13  2020 etc/a\n"
		       "lrwxrwxrwx   1 0        0               7 Sep 13  2020 lib -> usr/lib\n");
}

static void test_bad_input(void)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	struct cpio *none = NULL;
	char long_path[CPIO_PATH_MAX + 2], long_name[NAME_MAX + 2];
	_cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	EXPECT_FAIL(-EINVAL, cpio_new(fd, CPIO_COMPRESSION_XZ, -1, &none),
		    "error: cpio: mtime -1 does not fit in a newc archive (0..4294967295)");
	EXPECT_FAIL(-EINVAL, cpio_new(fd, CPIO_COMPRESSION_XZ, INT64_C(1) << 32, &none),
		    "error: cpio: mtime 4294967296 does not fit in a newc archive (0..4294967295)");
	EXPECT_FAIL(-EINVAL, cpio_new(fd, _CPIO_COMPRESSION_MAX, 0, &none),
		    "error: cpio: unknown compression 4");
	CHECK(none == NULL);
	CHECK(cpio_new(fd, CPIO_COMPRESSION_NONE, UINT32_MAX, &c) == 0);

	EXPECT_FAIL(-EINVAL, cpio_add_dir(c, "", 0755), "error: cpio: '': empty path");
	EXPECT_FAIL(-EINVAL, cpio_add_dir(c, "/", 0755),
		    "error: cpio: '/': the root directory is not an entry");
	EXPECT_FAIL(-EINVAL, cpio_add_dir(c, "./", 0755),
		    "error: cpio: './': the root directory is not an entry");
	EXPECT_FAIL(-EINVAL, cpio_add_file(c, "usr/../etc/x", 0644, "", 0),
		    "error: cpio: 'usr/../etc/x': '..' is not allowed");
	EXPECT_FAIL(-EINVAL, cpio_add_file(c, NULL, 0644, "", 0), "error: cpio: no path given");
	EXPECT_FAIL(-EINVAL, cpio_add_file(c, "x", 010644, "", 0),
		    "error: cpio: 'x': mode 010644 is more than permission bits");
	EXPECT_FAIL(-EINVAL, cpio_add_dir(c, "d", 040755),
		    "error: cpio: 'd': mode 040755 is more than permission bits");
	EXPECT_FAIL(-EINVAL, cpio_add_symlink(c, "l", ""),
		    "error: cpio: 'l': symlink target empty");
	EXPECT_FAIL(-EINVAL, cpio_add_symlink(c, "l", NULL),
		    "error: cpio: 'l': symlink target empty");
	EXPECT_FAIL(-EINVAL, cpio_add_node(c, "dev/x", 'p', 0600, 1, 3),
		    "error: cpio: 'dev/x': device type 'p' is not 'c' or 'b'");
	EXPECT_FAIL(-EINVAL, cpio_add_node(c, "dev/x", 'b', 0600, 4096, 0),
		    "error: cpio: 'dev/x': device 4096:0 out of range (major at most 4095, minor "
		    "at most 1048575)");
	EXPECT_FAIL(-EINVAL, cpio_add_node(c, "dev/x", 'c', 0600, 0, 1u << 20),
		    "error: cpio: 'dev/x': device 0:1048576 out of range (major at most 4095, "
		    "minor at most 1048575)");

	/* sizes: checked before anything is read from data */
	EXPECT_FAIL(-EFBIG, cpio_add_file(c, "huge", 0644, "", UINT64_C(1) << 32),
		    "error: cpio: 'huge': 4294967296 bytes do not fit in a newc archive (at most "
		    "4294967295 per file)");

	/* paths: 4095 bytes fit, 4096 do not; components up to 255 bytes */
	memset(long_path, 'a', sizeof(long_path));
	for (size_t i = 200; i < sizeof(long_path); i += 200)
		long_path[i] = '/';
	long_path[CPIO_PATH_MAX] = 0;
	CHECK(cpio_add_file(c, long_path, 0644, "", 0) == 0);
	long_path[CPIO_PATH_MAX - 1] = 'b';
	long_path[CPIO_PATH_MAX] = 'c';
	long_path[CPIO_PATH_MAX + 1] = 0;
	EXPECT_FAIL(-ENAMETOOLONG, cpio_add_file(c, long_path, 0644, "", 0),
		    "error: cpio: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "...': path longer than 4095 bytes");
	/* "/" and "./" do not count */
	memmove(long_path + 2, long_path, strlen(long_path) - 1);
	memcpy(long_path, "./", 2);
	long_path[CPIO_PATH_MAX + 1] = 0;
	CHECK(strlen(long_path) == CPIO_PATH_MAX + 1);
	CHECK(cpio_add_file(c, long_path, 0644, "", 0) == 0);
	memset(long_name, 'n', sizeof(long_name));
	long_name[NAME_MAX] = 0;
	CHECK(cpio_add_file(c, long_name, 0644, "", 0) == 0);
	long_name[NAME_MAX] = 'n';
	long_name[NAME_MAX + 1] = 0;
	EXPECT_FAIL(-ENAMETOOLONG, cpio_add_file(c, long_name, 0644, "", 0),
		    "error: cpio: 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		    "...': a component is longer than 255 bytes");
	CHECK(cpio_close(c) == 0);
}

static void test_long_target(void)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *t = xmalloc(CPIO_PATH_MAX + 2);
	_cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(cpio_new(fd, CPIO_COMPRESSION_GZIP, 0, &c) == 0);
	memset(t, 'x', CPIO_PATH_MAX + 1);
	t[CPIO_PATH_MAX + 1] = 0;
	EXPECT_FAIL(-ENAMETOOLONG, cpio_add_symlink(c, "l", t),
		    "error: cpio: 'l': symlink target longer than 4095 bytes");
	t[CPIO_PATH_MAX] = 0;
	CHECK(cpio_add_symlink(c, "l", t) == 0);
	CHECK(cpio_close(c) == 0);
}

/* A failed write is reported once, with the reason, in every compression. */
static void test_write_error(void)
{
	_cleanup_close_ int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	for (int i = 0; i < _CPIO_COMPRESSION_MAX; i++) {
		_cleanup_(cpio_freep) struct cpio *c = NULL;
		_cleanup_free_ char *m = NULL;
		int r;

		CHECK(cpio_new(fd, i, MTIME, &c) == 0);
		CHECK(cpio_add_file(c, "bin/busybox", 0755, big, BIG_SIZE) == 0);
		capture_begin();
		r = cpio_close(c);
		m = capture_end();
		if (r != -ENOSPC)
			fprintf(stderr, "  %s: %d: %s\n", cpio_compression_names[i], r, m);
		CHECK(r == -ENOSPC);
		CHECK(startswith(m, "error: cpio: cannot write "));
		CHECK(endswith(m, ": No space left on device"));
		CHECK(!strchr(m, '\n'));
	}
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	setenv("LC_ALL", "C", 1);
	tzset();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-cpio.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	make_big();

	RUN_TEST(test_names);
	RUN_TEST(test_none);
	RUN_TEST(test_gzip);
	RUN_TEST(test_zstd);
	RUN_TEST(test_xz);
	RUN_TEST(test_mtime);
	RUN_TEST(test_empty);
	RUN_TEST(test_concatenated);
	RUN_TEST(test_conflicts);
	RUN_TEST(test_bad_input);
	RUN_TEST(test_long_target);
	RUN_TEST(test_write_error);

	free(big);
	if (!getenv("TEST_CPIO_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
