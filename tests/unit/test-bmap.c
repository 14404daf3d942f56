// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/bmap (extents of a sparse file, the XML and its parser), lib/compress
 * (each format through the system's own decompressor, and our reader's refusal of a
 * truncated stream) and lib/sbom's DEP-5 license mapping. */
#include "bmap.h"

#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "compress.h"
#include "helpers.h"
#include "log.h"
#include "sbom.h"

/* A 1 MiB sparse file with data at 5000..5003 (block 1), 8192..12287 (block 2, next to
 * block 1: merged) and the last byte (block 255). */
static int make_sparse(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char page[4096];

	if (fd < 0)
		return -1;
	memset(page, 'p', sizeof(page));
	if (ftruncate(fd, 1 << 20) < 0 || pwrite(fd, "abcd", 4, 5000) != 4 ||
	    pwrite(fd, page, sizeof(page), 8192) != 4096 ||
	    pwrite(fd, "z", 1, (1 << 20) - 1) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_extents(void)
{
	_cleanup_free_ char *path = xasprintf("%s/sparse", tmpdir);
	_cleanup_close_ int fd = make_sparse(path);
	_cleanup_(bmap_freep) struct bmap *m = NULL;
	char hex[65];

	CHECK(fd >= 0);
	CHECK(bmap_from_file(fd, 1 << 20, &m) == 0);
	CHECK(m->n_ranges == 2);
	CHECK(m->ranges[0].first == 1 && m->ranges[0].last == 2);
	CHECK(m->ranges[1].first == 255 && m->ranges[1].last == 255);
	CHECK(m->mapped_blocks == 3);
	CHECK(bmap_scan(fd, m, NULL, NULL, false) == 0);
	{
		char buf[8192];

		CHECK(pread(fd, buf, sizeof(buf), 4096) == sizeof(buf));
		sha256_hex(buf, sizeof(buf), hex);
		CHECK_STREQ(m->ranges[0].sha256, hex);
	}
}

/* A 40 MiB data extent is cut into 16 MiB ranges; the threads' hashes are the sequential
 * scan's, and each is sha256sum's of its bytes. */
static void test_split_parallel(void)
{
	_cleanup_free_ char *path = xasprintf("%s/big", tmpdir);
	_cleanup_(bmap_freep) struct bmap *a = NULL, *b = NULL;
	_cleanup_close_ int fd = -1;

	CHECK(run("head -c %u /dev/urandom >%s && truncate -s %u %s", 40u << 20, path, 64u << 20,
		  path) == 0);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(bmap_from_file(fd, 64u << 20, &a) == 0);
	CHECK(bmap_from_file(fd, 64u << 20, &b) == 0);
	CHECK(a->n_ranges == 3);
	CHECK(a->ranges[0].first == 0 && a->ranges[0].last == 4095);
	CHECK(a->ranges[1].first == 4096 && a->ranges[1].last == 8191);
	CHECK(a->ranges[2].first == 8192 && a->ranges[2].last == 10239);
	CHECK(a->mapped_blocks == 10240);
	CHECK(bmap_scan(fd, a, NULL, NULL, false) == 0);
	CHECK(bmap_hash(fd, b, 3) == 0);
	for (size_t i = 0; i < a->n_ranges; i++) {
		CHECK_STREQ(a->ranges[i].sha256, b->ranges[i].sha256);
		CHECK(run("test \"$(dd if=%s bs=4096 skip=%llu count=%llu status=none | sha256sum "
			  "| cut -d' ' -f1)\" = %s",
			  path, (unsigned long long)a->ranges[i].first,
			  (unsigned long long)(a->ranges[i].last - a->ranges[i].first + 1),
			  a->ranges[i].sha256) == 0);
	}
}

/* What bmap_format writes, bmap_parse reads back; and bmaptool accepts it. */
static void test_format_parse(void)
{
	_cleanup_free_ char *path = xasprintf("%s/img", tmpdir);
	_cleanup_free_ char *bpath = xasprintf("%s/img.bmap", tmpdir);
	_cleanup_close_ int fd = make_sparse(path);
	_cleanup_(bmap_freep) struct bmap *m = NULL, *back = NULL;
	_cleanup_free_ char *text = NULL;
	FILE *f;

	CHECK(fd >= 0);
	CHECK(bmap_from_file(fd, 1 << 20, &m) == 0);
	CHECK(bmap_scan(fd, m, NULL, NULL, false) == 0);
	text = bmap_format(m);
	CHECK(bmap_parse(text, strlen(text), "t", &back) == 0);
	CHECK(back->image_size == m->image_size && back->block_size == 4096);
	CHECK(back->n_ranges == m->n_ranges && back->mapped_blocks == 3);
	for (size_t i = 0; i < m->n_ranges; i++) {
		CHECK(back->ranges[i].first == m->ranges[i].first);
		CHECK(back->ranges[i].last == m->ranges[i].last);
		CHECK_STREQ(back->ranges[i].sha256, m->ranges[i].sha256);
	}
	f = fopen(bpath, "w");
	CHECK(f);
	fputs(text, f);
	fclose(f);
	if (have("bmaptool"))
		CHECK(run("bmaptool copy %s %s/copy 2>/dev/null && cmp %s %s/copy", path, tmpdir,
			  path, tmpdir) == 0);
}

static void expect_refused(const char *text, const char *why)
{
	struct bmap *m = NULL;
	int r;

	r = bmap_parse(text, strlen(text), why, &m);
	if (r >= 0)
		fprintf(stderr, "  accepted: %s\n", why);
	bmap_free(m);
	CHECK(r < 0);
}

/* Each kind of damage is refused: the file's checksum, counts, order, overlap. */
static void test_parse_refusals(void)
{
	struct bmap m = { .image_size = 1 << 20, .block_size = 4096, .mapped_blocks = 3 };
	struct bmap_range r[2] = { { 1, 2, "" }, { 255, 255, "" } };
	_cleanup_free_ char *good = NULL, *bad = NULL;
	char *p;

	memset(r[0].sha256, 'a', 64);
	memset(r[1].sha256, 'b', 64);
	m.ranges = r;
	m.n_ranges = 2;
	good = bmap_format(&m);
	{
		struct bmap *ok = NULL;

		CHECK(bmap_parse(good, strlen(good), "good", &ok) == 0);
		bmap_free(ok);
	}
	/* An edited byte: the file checksum no longer matches. */
	bad = xstrdup(good);
	p = strstr(bad, "> 255 <");
	CHECK(p);
	p[2] = '4';
	expect_refused(bad, "edited range");
	free(bad);
	/* Unsorted ranges, with the file checksum made right again by bmap_format. */
	r[0] = (struct bmap_range){ 255, 255, "" };
	r[1] = (struct bmap_range){ 1, 2, "" };
	memset(r[0].sha256, 'a', 64);
	memset(r[1].sha256, 'b', 64);
	bad = bmap_format(&m);
	expect_refused(bad, "unsorted");
	free(bad);
	/* A range past the end. */
	r[0] = (struct bmap_range){ 1, 2, "" };
	r[1] = (struct bmap_range){ 256, 256, "" };
	memset(r[0].sha256, 'a', 64);
	memset(r[1].sha256, 'b', 64);
	bad = bmap_format(&m);
	expect_refused(bad, "past the end");
	free(bad);
	/* MappedBlocksCount that disagrees with the ranges. */
	r[1] = (struct bmap_range){ 255, 255, "" };
	memset(r[1].sha256, 'b', 64);
	m.mapped_blocks = 4;
	bad = bmap_format(&m);
	expect_refused(bad, "mapped count");
	free(bad);
	bad = NULL;
	expect_refused("not xml at all", "garbage");
	expect_refused("<bmap version=\"3.0\"></bmap>", "version 3");
}

/* Each compressor's stream, decompressed by the system's tool and by our reader; a
 * truncated stream is an error for our reader, never a short image. */
static void test_compress(void)
{
	static const char *const tools[] = { NULL, "zstd -dc", "xz -dc", "gzip -dc" };
	static const char *const ext[] = { NULL, "zst", "xz", "gz" };
	size_t n = 3u << 20;
	_cleanup_free_ uint8_t *data = xmalloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i % 251 < 100 ? 0 : (i * 7) >> 3);
	for (int t = COMPRESS_ZSTD; t <= COMPRESS_GZIP; t++) {
		_cleanup_free_ char *raw = xasprintf("%s/data", tmpdir);
		_cleanup_free_ char *out = xasprintf("%s/data.%s", tmpdir, ext[t]);
		_cleanup_free_ uint8_t *back = xmalloc(n + 1);
		struct compressor *c = NULL;
		struct decompressor *d = NULL;
		char sha[65];
		size_t got = 0;
		ssize_t k;
		int fd;

		CHECK(compress_type_from_name(out) == (enum compress_type)t);
		fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && write(fd, data, n) == (ssize_t)n);
		close(fd);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0);
		CHECK(compressor_new(t, fd, out, 2, &c) == 0);
		CHECK(compressor_write(c, data, n / 2) == 0);
		CHECK(compressor_write(c, data + n / 2, n - n / 2) == 0);
		CHECK(compressor_finish(c, sha) == 0);
		compressor_free(c);
		close(fd);
		CHECK(run("%s %s | cmp - %s", tools[t], out, raw) == 0);
		CHECK(run("test \"$(sha256sum <%s | cut -d' ' -f1)\" = %s", out, sha) == 0);
		fd = open(out, O_RDONLY);
		CHECK(fd >= 0);
		CHECK(decompressor_new(fd, out, &d) == 0);
		CHECK(decompressor_type(d) == (enum compress_type)t);
		while ((k = decompressor_read(d, back + got, n + 1 - got)) > 0)
			got += (size_t)k;
		decompressor_free(d);
		close(fd);
		CHECK(k == 0 && got == n && memcmp(back, data, n) == 0);
		/* Truncated to half. */
		CHECK(run("head -c $(($(stat -c %%s %s) / 2)) %s >%s.half", out, out, out) == 0);
		{
			_cleanup_free_ char *half = xasprintf("%s.half", out);

			fd = open(half, O_RDONLY);
			CHECK(fd >= 0);
			CHECK(decompressor_new(fd, half, &d) == 0);
			got = 0;
			while ((k = decompressor_read(d, back, n)) > 0)
				got += (size_t)k;
			decompressor_free(d);
			close(fd);
			CHECK(k < 0);
		}
	}
}

static void test_dep5(void)
{
	static const char *const dep5 =
		"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
		"Files: *\nCopyright: x\nLicense: GPL-2+ or Artistic\n\n"
		"Files: a/*\nCopyright: y\nLicense: BSD-3-clause, LGPL-2.1\n\n"
		"Files: b/*\nCopyright: z\nLicense: GPL-3+ with OpenSSL exception\n\n"
		"License: GPL-2+\n text\n";
	_cleanup_strv_free_ char **refs = NULL;
	_cleanup_free_ char *e = sbom_dep5_license(dep5, strlen(dep5), &refs);

	CHECK_STREQ(e, "(GPL-2.0-or-later OR Artistic-1.0-Perl) AND BSD-3-Clause AND "
		       "LGPL-2.1-only AND LicenseRef-GPL-3--with-OpenSSL-exception");
	CHECK(refs && streq(refs[0], "LicenseRef-GPL-3--with-OpenSSL-exception") && !refs[1]);
	CHECK(sbom_dep5_license("Just text.\n", 11, NULL) == NULL);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-bmap.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN_TEST(test_extents);
	RUN_TEST(test_split_parallel);
	RUN_TEST(test_format_parse);
	RUN_TEST(test_parse_refusals);
	RUN_TEST(test_compress);
	RUN_TEST(test_dep5);
	run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
