/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for builder/recipe.c: sizes, positions in error messages, include merging,
 * variables, typed getters. Fixtures are written at run time into a mkdtemp directory,
 * which is also the working directory so that messages carry short relative names. */
#include "recipe.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "check.h"
#include "log.h"

static char tmpdir[] = "/tmp/test-recipe-XXXXXX";
static int saved_stderr = -1;
static char captured[16384];

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Writes text to name (relative to the test directory), creating parent directories. */
static void write_file(const char *name, const char *text)
{
	_cleanup_free_ char *copy = xstrdup(name);
	FILE *f;

	for (char *p = strchr(copy, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			die(copy);
		*p = '/';
	}
	f = fopen(name, "w");
	if (!f)
		die(name);
	fputs(text, f);
	if (fclose(f) != 0)
		die(name);
}

/* Errors go to stderr through the logger: send fd 2 to a file around the call. */
static void capture_start(void)
{
	int fd;

	fflush(stderr);
	fd = open(".stderr", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(".stderr");
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		die("dup2");
	close(fd);
}

static const char *capture_end(void)
{
	ssize_t n;
	int fd;

	fflush(stderr);
	if (dup2(saved_stderr, STDERR_FILENO) < 0)
		die("dup2");
	close(saved_stderr);
	saved_stderr = -1;
	fd = open(".stderr", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(".stderr");
	n = read(fd, captured, sizeof(captured) - 1);
	close(fd);
	captured[n > 0 ? n : 0] = 0;
	return captured;
}

static int load(const char *path, char *const *defines, struct recipe **ret, const char **err)
{
	int r;

	capture_start();
	r = recipe_load(path, defines, ret);
	*err = capture_end();
	return r;
}

/* Writes text to t.yml and loads it. */
static int load_text(const char *text, struct recipe **ret, const char **err)
{
	write_file("t.yml", text);
	return load("t.yml", NULL, ret, err);
}

static void recipe_freep(struct recipe **r)
{
	recipe_free(*r);
}
#define _cleanup_recipe_ _cleanup_(recipe_freep)

/* Looks up a dotted path with [i] indices ("partitions[1].size"); NULL if absent. */
static const struct node *lookup(const struct node *n, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *p = copy;

	while (n && *p) {
		if (*p == '[') {
			char *end;
			unsigned long i = strtoul(p + 1, &end, 10);

			if (n->kind != NODE_SEQ || i >= n->n)
				return NULL;
			n = n->items[i];
			p = end + 1;
		} else {
			size_t len = strcspn(p, ".[");
			char c = p[len];

			p[len] = 0;
			n = node_get(n, p);
			p[len] = c;
			p += len;
		}
		if (*p == '.')
			p++;
	}
	return n;
}

static const char *scalar_at(const struct recipe *r, const char *path)
{
	const struct node *n = lookup(r->root, path);

	return n && n->kind == NODE_SCALAR ? n->scalar : NULL;
}

/* ---- sizes ---- */

static void test_size_parse(void)
{
	static const struct {
		const char *s;
		unsigned flags;
		int r;
		enum size_kind kind;
		uint64_t bytes;
		unsigned permille;
	} cases[] = {
		{ "0", 0, 0, SIZE_BYTES, 0, 0 },
		{ "512", 0, 0, SIZE_BYTES, 512, 0 },
		{ "1048576", 0, 0, SIZE_BYTES, 1048576, 0 },
		{ "1B", 0, 0, SIZE_BYTES, 1, 0 },
		{ "7 b", 0, 0, SIZE_BYTES, 7, 0 },
		{ "1K", 0, 0, SIZE_BYTES, 1024, 0 },
		{ "1k", 0, 0, SIZE_BYTES, 1024, 0 },
		{ "1KiB", 0, 0, SIZE_BYTES, 1024, 0 },
		{ "1kib", 0, 0, SIZE_BYTES, 1024, 0 },
		{ "2M", 0, 0, SIZE_BYTES, 2ull << 20, 0 },
		{ "2MiB", 0, 0, SIZE_BYTES, 2ull << 20, 0 },
		{ "512 MiB", 0, 0, SIZE_BYTES, 512ull << 20, 0 },
		{ "3G", 0, 0, SIZE_BYTES, 3ull << 30, 0 },
		{ "3GiB", 0, 0, SIZE_BYTES, 3ull << 30, 0 },
		{ "2g", 0, 0, SIZE_BYTES, 2ull << 30, 0 },
		{ "1T", 0, 0, SIZE_BYTES, 1ull << 40, 0 },
		{ "1TiB", 0, 0, SIZE_BYTES, 1ull << 40, 0 },
		{ "1kB", 0, 0, SIZE_BYTES, 1000, 0 },
		{ "1KB", 0, 0, SIZE_BYTES, 1000, 0 },
		{ "4MB", 0, 0, SIZE_BYTES, 4000000, 0 },
		{ "1GB", 0, 0, SIZE_BYTES, 1000000000, 0 },
		{ "2 TB", 0, 0, SIZE_BYTES, 2000000000000ull, 0 },
		{ "1.5GiB", 0, 0, SIZE_BYTES, 1610612736, 0 },
		{ "1.5 GB", 0, 0, SIZE_BYTES, 1500000000, 0 },
		{ "0.5K", 0, 0, SIZE_BYTES, 512, 0 },
		{ "0.1K", 0, 0, SIZE_BYTES, 102, 0 }, /* 102.4, rounded down */
		{ "1.9", 0, 0, SIZE_BYTES, 1, 0 },
		{ "2.25MiB", SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, 0, SIZE_BYTES, 2359296, 0 },
		{ "18446744073709551615", 0, 0, SIZE_BYTES, UINT64_MAX, 0 },
		{ "16777215TiB", 0, 0, SIZE_BYTES, UINT64_MAX - (1ull << 40) + 1, 0 },
		{ "16777215.9999999999999999999999TiB", 0, 0, SIZE_BYTES, UINT64_MAX, 0 },
		/* overflow */
		{ "18446744073709551616", 0, -ERANGE, 0, 0, 0 },
		{ "99999999999999999999999999", 0, -ERANGE, 0, 0, 0 },
		{ "16777216TiB", 0, -ERANGE, 0, 0, 0 },
		{ "16777216T", 0, -ERANGE, 0, 0, 0 },
		{ "18446744073709551615.5K", 0, -ERANGE, 0, 0, 0 },
		{ "17179869183.999999999G", 0, 0, SIZE_BYTES, UINT64_MAX - 1, 0 },
		{ "17179869184G", 0, -ERANGE, 0, 0, 0 },
		/* percent */
		{ "50%", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 500 },
		{ "50 %", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 500 },
		{ "12.5%", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 125 },
		{ "12.50%", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 125 },
		{ "0.1%", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 1 },
		{ "100%", SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, 0, SIZE_PERCENT, 0, 1000 },
		{ "100.0%", SIZE_ALLOW_PERCENT, 0, SIZE_PERCENT, 0, 1000 },
		{ "0%", SIZE_ALLOW_PERCENT, -ERANGE, 0, 0, 0 },
		{ "0.0%", SIZE_ALLOW_PERCENT, -ERANGE, 0, 0, 0 },
		{ "100.1%", SIZE_ALLOW_PERCENT, -ERANGE, 0, 0, 0 },
		{ "101%", SIZE_ALLOW_PERCENT, -ERANGE, 0, 0, 0 },
		{ "99999999999999999999999%", SIZE_ALLOW_PERCENT, -ERANGE, 0, 0, 0 },
		{ "12.55%", SIZE_ALLOW_PERCENT, -EINVAL, 0, 0, 0 },
		{ "50%", 0, -EINVAL, 0, 0, 0 },
		{ "50%", SIZE_ALLOW_REST, -EINVAL, 0, 0, 0 },
		{ "%", SIZE_ALLOW_PERCENT, -EINVAL, 0, 0, 0 },
		{ "50%%", SIZE_ALLOW_PERCENT, -EINVAL, 0, 0, 0 },
		/* rest */
		{ "rest", SIZE_ALLOW_REST, 0, SIZE_REST, 0, 0 },
		{ "REST", SIZE_ALLOW_REST | SIZE_ALLOW_PERCENT, 0, SIZE_REST, 0, 0 },
		{ "rest", 0, -EINVAL, 0, 0, 0 },
		{ "rest", SIZE_ALLOW_PERCENT, -EINVAL, 0, 0, 0 },
		/* garbage */
		{ "12XB", SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, -EINVAL, 0, 0, 0 },
		{ "", SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, -EINVAL, 0, 0, 0 },
		{ "-1", 0, -EINVAL, 0, 0, 0 },
		{ "+1", 0, -EINVAL, 0, 0, 0 },
		{ "GiB", 0, -EINVAL, 0, 0, 0 },
		{ " 1G", 0, -EINVAL, 0, 0, 0 },
		{ "1G ", 0, -EINVAL, 0, 0, 0 },
		{ "1.", 0, -EINVAL, 0, 0, 0 },
		{ ".5G", 0, -EINVAL, 0, 0, 0 },
		{ "1.5.5G", 0, -EINVAL, 0, 0, 0 },
		{ "1 G B", 0, -EINVAL, 0, 0, 0 },
		{ "1e3", 0, -EINVAL, 0, 0, 0 },
		{ "0x10", 0, -EINVAL, 0, 0, 0 },
		{ "1Gi", 0, -EINVAL, 0, 0, 0 },
		{ "1PiB", 0, -EINVAL, 0, 0, 0 },
		{ "restful", SIZE_ALLOW_REST, -EINVAL, 0, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct size sz = { .kind = SIZE_REST, .bytes = 4242, .permille = 4242 };
		int r = size_parse(cases[i].s, cases[i].flags, &sz);

		if (r != cases[i].r)
			fprintf(stderr, "  size_parse('%s', %u) = %d, expected %d\n", cases[i].s,
				cases[i].flags, r, cases[i].r);
		CHECK(r == cases[i].r);
		if (r < 0) {
			/* untouched on failure */
			CHECK(sz.kind == SIZE_REST && sz.bytes == 4242 && sz.permille == 4242);
			continue;
		}
		if (sz.kind != cases[i].kind || sz.bytes != cases[i].bytes ||
		    (sz.kind == SIZE_PERCENT && sz.permille != cases[i].permille))
			fprintf(stderr, "  size_parse('%s') = kind %d bytes %llu permille %u\n",
				cases[i].s, sz.kind, (unsigned long long)sz.bytes, sz.permille);
		CHECK(sz.kind == cases[i].kind);
		if (sz.kind == SIZE_BYTES)
			CHECK(sz.bytes == cases[i].bytes);
		if (sz.kind == SIZE_PERCENT)
			CHECK(sz.permille == cases[i].permille);
	}
	CHECK(size_parse(NULL, 0, &(struct size){}) == -EINVAL);
}

static void test_node_get_size(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	const struct node *n;
	const char *err;
	struct size sz;
	int k;

	CHECK(load_text("partitions:\n"
			"  - size: 1MiB\n"
			"  - size: 12XB\n"
			"  - size: 50%\n"
			"  - size: rest\n"
			"  - size: 99999999999TiB\n"
			"  - size: 150%\n"
			"  - size: [1]\n",
			&r, &err) == 0);
	CHECK_STREQ(err, "");

	CHECK(node_get_size(lookup(r->root, "partitions[0].size"), 0, &sz) == 0);
	CHECK(sz.kind == SIZE_BYTES && sz.bytes == 1048576);

	n = lookup(r->root, "partitions[1].size");
	capture_start();
	k = node_get_size(n, SIZE_ALLOW_PERCENT, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:11: partitions[1].size: '12XB' is not a size (use B, KiB, MiB, GiB, or %)\n");

	capture_start();
	k = node_get_size(n, 0, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:11: partitions[1].size: '12XB' is not a size (use B, KiB, MiB, or GiB)\n");

	capture_start();
	k = node_get_size(n, SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:11: partitions[1].size: '12XB' is not a size (use B, KiB, MiB, GiB, %, or rest)\n");

	capture_start();
	k = node_get_size(n, SIZE_ALLOW_REST, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:11: partitions[1].size: '12XB' is not a size (use B, KiB, MiB, GiB, or rest)\n");

	CHECK(node_get_size(lookup(r->root, "partitions[2].size"), SIZE_ALLOW_PERCENT, &sz) == 0);
	CHECK(sz.kind == SIZE_PERCENT && sz.permille == 500);
	capture_start();
	k = node_get_size(lookup(r->root, "partitions[2].size"), 0, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:4:11: partitions[2].size: '50%' is not a size (use B, KiB, MiB, or GiB)\n");

	CHECK(node_get_size(lookup(r->root, "partitions[3].size"), SIZE_ALLOW_REST, &sz) == 0);
	CHECK(sz.kind == SIZE_REST);

	capture_start();
	k = node_get_size(lookup(r->root, "partitions[4].size"), 0, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:6:11: partitions[4].size: '99999999999TiB' is too large\n");

	capture_start();
	k = node_get_size(lookup(r->root, "partitions[5].size"), SIZE_ALLOW_PERCENT, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:7:11: partitions[5].size: '150%' is out of range (more than 0% and at most 100%)\n");

	capture_start();
	k = node_get_size(lookup(r->root, "partitions[6].size"), 0, &sz);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:8:11: partitions[6].size: expected a value, got a list\n");
}

/* ---- positions ---- */

static void test_positions_and_paths(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	const struct node *n;
	const char *err;

	CHECK(load_text("image:\n"
			"  size: 2GiB\n"
			"partitions:\n"
			"  - name: boot\n"
			"    filesystem: {type: ext4, label: BOOT}\n"
			"  -   name: root\n"
			"      filesystem:\n"
			"        label: \"ROOT\"\n",
			&r, &err) == 0);
	CHECK_STREQ(err, "");
	CHECK(r->root->kind == NODE_MAP);
	CHECK_STREQ(r->root->path, "");
	CHECK_STREQ(r->path, "t.yml");
	CHECK_STREQ(r->files[0], "t.yml");
	CHECK(r->files[1] == NULL);
	CHECK_STREQ(r->dirs[0], ".");

	n = lookup(r->root, "image.size");
	CHECK(n && n->line == 2 && n->col == 9);
	CHECK_STREQ(n->path, "image.size");
	CHECK_STREQ(n->file, "t.yml");
	CHECK(n->plain);
	/* key nodes carry the value's path and their own position */
	n = lookup(r->root, "image");
	CHECK(n->keys[0]->line == 2 && n->keys[0]->col == 3);
	CHECK_STREQ(n->keys[0]->path, "image.size");
	CHECK_STREQ(r->root->keys[0]->path, "image");

	n = lookup(r->root, "partitions[1]");
	CHECK(n && n->kind == NODE_MAP && n->line == 6 && n->col == 7);
	CHECK_STREQ(n->path, "partitions[1]");
	n = lookup(r->root, "partitions[1].filesystem.label");
	CHECK(n && n->line == 8 && n->col == 16 && !n->plain);
	CHECK_STREQ(n->path, "partitions[1].filesystem.label");
	CHECK_STREQ(n->scalar, "ROOT");
	n = lookup(r->root, "partitions[0].filesystem.label");
	CHECK(n && n->line == 5 && n->col == 37);
	CHECK_STREQ(n->path, "partitions[0].filesystem.label");

	/* node_error formats, with and without a path */
	capture_start();
	CHECK(node_error(n, "bad label '%s'", n->scalar) == -EINVAL);
	err = capture_end();
	CHECK_STREQ(err, "error: t.yml:5:37: partitions[0].filesystem.label: bad label 'BOOT'\n");
	capture_start();
	CHECK(node_error(r->root, "something") == -EINVAL);
	err = capture_end();
	CHECK_STREQ(err, "error: t.yml:1:1: something\n");
}

static void test_unknown_keys(void)
{
	static const char *const image_keys[] = { "size", "table", "seed", NULL };
	static const char *const part_keys[] = { "name", "size", "filesystem", NULL };
	_cleanup_recipe_ struct recipe *r = NULL;
	const char *err;
	int k;

	CHECK(load_text("image:\n"
			"  size: 2GiB\n"
			"  tabel: gpt\n"
			"partitions:\n"
			"  - name: a\n"
			"    foo: 1\n"
			"  - name: b\n"
			"    file: x\n",
			&r, &err) == 0);

	capture_start();
	k = node_check_keys(node_get(r->root, "image"), image_keys);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:3: image.tabel: unknown key (did you mean 'table'?)\n");

	capture_start();
	k = node_check_keys(lookup(r->root, "partitions[0]"), part_keys);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:6:5: partitions[0].foo: unknown key (valid keys: name, size, filesystem)\n");

	/* a prefix counts as close */
	capture_start();
	k = node_check_keys(lookup(r->root, "partitions[1]"), part_keys);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:8:5: partitions[1].file: unknown key (did you mean 'filesystem'?)\n");

	{
		static const char *const top[] = { "image", "partitions", NULL };

		CHECK(node_check_keys(r->root, top) == 0);
		CHECK(node_check_keys(NULL, top) == 0);
	}
	/* every unknown key is reported */
	{
		static const char *const none[] = { "x", NULL };

		capture_start();
		k = node_check_keys(r->root, none);
		err = capture_end();
		CHECK(k == -EINVAL);
		CHECK_STREQ(err, "error: t.yml:1:1: image: unknown key (valid keys: x)\n"
				 "error: t.yml:4:1: partitions: unknown key (valid keys: x)\n");
	}
	capture_start();
	k = node_check_keys(node_get(r->root, "partitions"), part_keys);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:5:3: partitions: expected a mapping, got a list\n");
}

static void test_syntax_errors(void)
{
	struct recipe *r = NULL;
	const char *err;

	/* a tab-less indentation mistake */
	CHECK(load_text("image:\n"
			"  size: 1G\n"
			" table: gpt\n",
			&r, &err) == -EINVAL);
	CHECK(r == NULL);
	CHECK_STREQ(err, "error: t.yml:3:2: did not find expected key\n");

	CHECK(load_text("a: b: c\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:5: mapping values are not allowed in this context\n");

	CHECK(load_text("a: [1, 2\nb: 3\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:2: did not find expected ',' or ']'\n");

	CHECK(load_text("a: \"unterminated\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:1: found unexpected end of stream\n");

	CHECK(load_text("a: 1\nb: \xff\xfe\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:4: invalid leading UTF-8 octet (0xff)\n");

	CHECK(load_text("a: *nothing\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:4: unknown alias '*nothing'\n");

	CHECK(load_text("a: \"x\\0y\"\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:4: NUL character in a value\n");

	CHECK(load_text("? [a, b]\n: c\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:3: a key must be a plain value, not a list\n");

	CHECK(load_text("a: 1\n---\nb: 2\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:1: more than one YAML document in one file\n");

	CHECK(load_text("- a\n- b\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:1: expected a mapping at the top level, got a list\n");

	CHECK(load_text("just text\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:1: expected a mapping at the top level, got a value\n");

	CHECK(load("missing.yml", NULL, &r, &err) == -ENOENT);
	CHECK_STREQ(err, "error: cannot open 'missing.yml': No such file or directory\n");

	mkdir("adir", 0755);
	CHECK(load("adir", NULL, &r, &err) == -EISDIR);
	CHECK_STREQ(err, "error: cannot open 'adir': Is a directory\n");
	CHECK(r == NULL);
}

static void test_limits(void)
{
	_cleanup_free_ char *deep = NULL, *big = NULL;
	struct recipe *r = NULL;
	const char *err;
	size_t n = 0;
	FILE *f;

	/* nesting depth */
	f = open_memstream(&deep, &n);
	fputs("a: ", f);
	for (int i = 0; i < 100; i++)
		fputc('[', f);
	for (int i = 0; i < 100; i++)
		fputc(']', f);
	fputc('\n', f);
	fclose(f);
	CHECK(load_text(deep, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:68: nesting too deep (more than 64 levels)\n");

	/* file size */
	big = xmalloc(17u << 20);
	memset(big, '#', 17u << 20);
	big[(17u << 20) - 1] = 0;
	write_file("big.yml", big);
	CHECK(load("big.yml", NULL, &r, &err) == -EFBIG);
	CHECK_STREQ(err, "error: 'big.yml' is too large (more than 16 MiB)\n");
	unlink("big.yml");

	/* an alias bomb stops at the node limit instead of eating the memory */
	CHECK(load_text("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
			&r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:6:36: too many values (more than 1000000, aliases included)\n");
	CHECK(r == NULL);
}

/* ---- includes ---- */

static void test_include_merge(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	_cleanup_free_ char *p = NULL;
	_cleanup_strv_free_ char **files = NULL;
	const struct node *n;
	const char *err;

	write_file("inc/common.yml", "image:\n"
				     "  size: 1GiB\n"
				     "  table: msdos\n"
				     "  seed: 42\n"
				     "partitions:\n"
				     "  - name: a\n"
				     "files:\n"
				     "  - src: a\n"
				     "packages: [base]\n"
				     "variables:\n"
				     "  who: common\n");
	write_file("inc/devices/cf.yml", "include: ../common.yml\n"
					 "image:\n"
					 "  table: gpt\n"
					 "partitions:\n"
					 "  - name: b\n"
					 "files+:\n"
					 "  - src: b\n"
					 "packages+: [cf-tools]\n");
	write_file("inc/usb.yml", "include:\n"
				  "  - devices/cf.yml\n"
				  "image:\n"
				  "  size: 2GiB\n"
				  "files+:\n"
				  "  - src: c\n"
				  "extra+: [1]\n"
				  "packages: [only]\n"
				  "packages+: [more]\n");
	CHECK(load("inc/usb.yml", NULL, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: inc/usb.yml:9:1: packages+: 'packages+' and 'packages' (at line 8) in one mapping\n");
	r = recipe_free(r);

	write_file("inc/usb.yml", "include:\n"
				  "  - devices/cf.yml\n"
				  "image:\n"
				  "  size: 2GiB\n"
				  "files+:\n"
				  "  - src: c\n"
				  "extra+: [1]\n"
				  "nested:\n"
				  "  - list+: [x]\n");
	CHECK(load("inc/usb.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(err, "");

	/* the including file's keys win, mappings merge key by key */
	CHECK_STREQ(scalar_at(r, "image.size"), "2GiB");
	CHECK_STREQ(scalar_at(r, "image.table"), "gpt");
	CHECK_STREQ(scalar_at(r, "image.seed"), "42");
	n = node_get(r->root, "image");
	CHECK(n->n == 3);
	CHECK_STREQ(n->keys[0]->scalar, "size");
	CHECK_STREQ(n->keys[1]->scalar, "table");
	CHECK_STREQ(n->keys[2]->scalar, "seed");
	/* lists are replaced */
	n = node_get(r->root, "partitions");
	CHECK(n && n->n == 1);
	CHECK_STREQ(scalar_at(r, "partitions[0].name"), "b");
	/* name+ appends, in include order */
	n = node_get(r->root, "files");
	CHECK(n && n->n == 3);
	CHECK_STREQ(scalar_at(r, "files[0].src"), "a");
	CHECK_STREQ(scalar_at(r, "files[1].src"), "b");
	CHECK_STREQ(scalar_at(r, "files[2].src"), "c");
	CHECK_STREQ(lookup(r->root, "files[2].src")->path, "files[2].src");
	CHECK(node_get_strv(node_get(r->root, "packages"), &files) == 0);
	CHECK(strv_length(files) == 2);
	CHECK_STREQ(files[0], "base");
	CHECK_STREQ(files[1], "cf-tools");
	/* name+ with nothing before is just name, also inside lists */
	CHECK_STREQ(scalar_at(r, "extra[0]"), "1");
	CHECK_STREQ(scalar_at(r, "nested[0].list[0]"), "x");
	for (size_t i = 0; i < r->root->n; i++) {
		CHECK(!endswith(r->root->keys[i]->scalar, "+"));
		CHECK(!streq(r->root->keys[i]->scalar, "include"));
		CHECK(!streq(r->root->keys[i]->scalar, "variables"));
	}
	CHECK(node_get(r->root, "files+") == NULL);

	/* every node remembers its file, for messages and relative paths */
	CHECK_STREQ(r->files[0], "inc/usb.yml");
	CHECK_STREQ(r->files[1], "inc/devices/cf.yml");
	CHECK_STREQ(r->files[2], "inc/devices/../common.yml");
	CHECK(r->files[3] == NULL);
	CHECK_STREQ(r->dirs[0], "inc");
	CHECK_STREQ(r->dirs[1], "inc/devices");
	CHECK_STREQ(r->dirs[2], "inc/devices/..");
	n = lookup(r->root, "image.size");
	CHECK_STREQ(n->file, "inc/usb.yml");
	CHECK(n->line == 4 && n->col == 9);
	n = lookup(r->root, "image.table");
	CHECK_STREQ(n->file, "inc/devices/cf.yml");
	CHECK(n->line == 3 && n->col == 10);
	n = lookup(r->root, "files[1].src");
	CHECK_STREQ(n->file, "inc/devices/cf.yml");
	CHECK(n->line == 7 && n->col == 10);
	n = lookup(r->root, "image.seed");
	CHECK_STREQ(n->file, "inc/devices/../common.yml");
	p = node_path_resolve(n, "keys/root.pass");
	CHECK_STREQ(p, "inc/devices/../keys/root.pass");
	free(p);
	p = node_path_resolve(n, "./x");
	CHECK_STREQ(p, "inc/devices/../x");
	free(p);
	p = node_path_resolve(n, "/etc/hostname");
	CHECK_STREQ(p, "/etc/hostname");
	free(p);
	p = node_path_resolve(lookup(r->root, "image.size"), "a/b");
	CHECK_STREQ(p, "inc/a/b");

	capture_start();
	node_error(lookup(r->root, "files[1].src"), "cannot read '%s'", "b");
	err = capture_end();
	CHECK_STREQ(err, "error: inc/devices/cf.yml:7:10: files[1].src: cannot read 'b'\n");
}

/* Alternatives replace each other across includes; within one file both stay (the stage
 * refuses them). */
/* Fragments included side by side compose: each one's name+ appends to what the ones before
 * it gave (slim.yml's path-exclude+ and kernel-slim.yml's), not only to its own includes. */
static void test_include_siblings(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	_cleanup_strv_free_ char **l = NULL;
	const char *err;

	write_file("sib/docs.yml", "packages:\n  path-exclude+: [/usr/share/doc/*]\n");
	write_file("sib/kernel.yml", "packages:\n  path-exclude+: [/lib/modules/*]\n"
				     "  path-include+: [/lib/modules/*/ext4/*]\n");
	write_file("sib/net.yml", "packages:\n  path-include+: [/lib/modules/*/net/*]\n");
	write_file("sib/a.yml", "include: [docs.yml, kernel.yml, net.yml]\n"
				"packages:\n  suite: trixie\n  path-include+: [/x]\n");
	CHECK(load("sib/a.yml", NULL, &r, &err) == 0);
	CHECK(node_get_strv(lookup(r->root, "packages.path-exclude"), &l) == 0);
	CHECK(strv_length(l) == 2);
	CHECK_STREQ(l[0], "/usr/share/doc/*");
	CHECK_STREQ(l[1], "/lib/modules/*");
	strv_free(l);
	l = NULL;
	CHECK(node_get_strv(lookup(r->root, "packages.path-include"), &l) == 0);
	CHECK(strv_length(l) == 3);
	CHECK_STREQ(l[0], "/lib/modules/*/ext4/*");
	CHECK_STREQ(l[1], "/lib/modules/*/net/*");
	CHECK_STREQ(l[2], "/x");
	strv_free(l);
	l = NULL;
	CHECK(lookup(r->root, "packages.path-include+") == NULL);
	r = recipe_free(r);

	/* a plain key replaces what the appends gave */
	write_file("sib/b.yml", "include: [docs.yml, kernel.yml]\n"
				"packages: {path-exclude: [/only]}\n");
	CHECK(load("sib/b.yml", NULL, &r, &err) == 0);
	CHECK(node_get_strv(lookup(r->root, "packages.path-exclude"), &l) == 0);
	CHECK(strv_length(l) == 1);
	CHECK_STREQ(l[0], "/only");
	CHECK(lookup(r->root, "packages.path-exclude+") == NULL);
}

static void test_include_alternatives(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	const char *err;

	write_file("alt/hash.yml", "system:\n"
				   "  hostname: h\n"
				   "  root-password: {hash: '$6$x$y'}\n");
	write_file("alt/file.yml", "system:\n"
				   "  root-password: {file: pw.txt}\n");
	write_file("alt/a.yml", "include: [hash.yml]\n"
				"system:\n"
				"  root-password: {file: mine.txt}\n");
	CHECK(load("alt/a.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "system.root-password.file"), "mine.txt");
	CHECK(lookup(r->root, "system.root-password.hash") == NULL);
	CHECK_STREQ(scalar_at(r, "system.hostname"), "h");
	r = recipe_free(r);

	/* the other way round, and through two levels of includes */
	write_file("alt/b.yml", "include: [file.yml]\n");
	write_file("alt/c.yml", "include: [b.yml]\n"
				"system: {root-password: {hash: '!'}}\n");
	CHECK(load("alt/c.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "system.root-password.hash"), "!");
	CHECK(lookup(r->root, "system.root-password.file") == NULL);
	r = recipe_free(r);

	/* two includes: the later one's choice */
	write_file("alt/d.yml", "include: [file.yml, hash.yml]\n");
	CHECK(load("alt/d.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "system.root-password.hash"), "$6$x$y");
	CHECK(lookup(r->root, "system.root-password.file") == NULL);
	r = recipe_free(r);

	/* both in one file: both kept, for the configure stage to refuse */
	write_file("alt/e.yml", "include: [hash.yml]\n"
				"system: {root-password: {hash: '!', file: f}}\n");
	CHECK(load("alt/e.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "system.root-password.hash"), "!");
	CHECK_STREQ(scalar_at(r, "system.root-password.file"), "f");
	r = recipe_free(r);

	/* elsewhere the same key names merge as any keys do */
	write_file("alt/f.yml", "variables: {hash: a}\nother: {hash: 1}\n");
	write_file("alt/g.yml", "include: [f.yml]\nvariables: {file: b}\nother: {file: 2}\n");
	CHECK(load("alt/g.yml", NULL, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "other.hash"), "1");
	CHECK_STREQ(scalar_at(r, "other.file"), "2");

	/* alternatives in list items: the later list replaces the earlier one whole */
	r = recipe_free(r);
	write_file("alt/h.yml", "files: [{path: /a, content: x}]\n"
				"partitions: [{name: r, encrypt: {passphrase-file: p}}]\n"
				"run: [{name: s, script: x}]\n");
	write_file("alt/i.yml", "include: [h.yml]\n"
				"files: [{path: /a, source: y}]\n"
				"partitions: [{name: r, encrypt: {passphrase-env: P}}]\n"
				"run: [{name: s, command: y}]\n");
	CHECK(load("alt/i.yml", NULL, &r, &err) == 0);
	CHECK(lookup(r->root, "files[0].content") == NULL);
	CHECK_STREQ(scalar_at(r, "files[0].source"), "y");
	CHECK(lookup(r->root, "partitions[0].encrypt.passphrase-file") == NULL);
	CHECK_STREQ(scalar_at(r, "partitions[0].encrypt.passphrase-env"), "P");
	CHECK(lookup(r->root, "run[0].script") == NULL);
	CHECK_STREQ(scalar_at(r, "run[0].command"), "y");
}

static void test_include_relative(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	_cleanup_free_ char *p = NULL;
	const char *err;
	int k;

	/* a recipe named without a directory, including from a subdirectory that includes
	 * its sibling: every path is relative to the file that wrote it */
	write_file("rel/top.yml", "include: sub/a.yml\nname: top\n");
	write_file("rel/sub/a.yml", "include: [./b.yml]\nfrom_a: yes\n");
	write_file("rel/sub/b.yml", "from_b: true\nname: b\n");
	if (chdir("rel") < 0)
		die("chdir");
	k = load("top.yml", NULL, &r, &err);
	if (chdir("..") < 0)
		die("chdir");
	CHECK(k == 0);
	CHECK_STREQ(err, "");
	CHECK_STREQ(scalar_at(r, "name"), "top");
	CHECK_STREQ(scalar_at(r, "from_a"), "yes");
	CHECK_STREQ(scalar_at(r, "from_b"), "true");
	CHECK_STREQ(r->files[1], "sub/a.yml");
	CHECK_STREQ(r->files[2], "sub/b.yml");
	CHECK_STREQ(lookup(r->root, "from_b")->file, "sub/b.yml");
	p = node_path_resolve(lookup(r->root, "name"), "x.img");
	CHECK_STREQ(p, "x.img");
	free(p);
	p = node_path_resolve(lookup(r->root, "from_b"), "x.img");
	CHECK_STREQ(p, "sub/x.img");
}

static void test_include_errors(void)
{
	struct recipe *r = NULL;
	const char *err;

	/* missing file: the position of the include entry */
	write_file("usb.yml", "# a recipe\n"
			      "include:\n"
			      "  - devices/cf.yml\n");
	CHECK(load("usb.yml", NULL, &r, &err) == -ENOENT);
	CHECK_STREQ(err, "error: usb.yml:3:5: include[0]: cannot open 'devices/cf.yml': No such file or directory\n");
	CHECK(r == NULL);

	write_file("sub/x.yml", "include: nothere.yml\n");
	CHECK(load("sub/x.yml", NULL, &r, &err) == -ENOENT);
	CHECK_STREQ(err, "error: sub/x.yml:1:10: include: cannot open 'sub/nothere.yml': No such file or directory\n");

	/* cycles name the chain */
	write_file("a.yml", "include: b.yml\n");
	write_file("b.yml", "x: 1\ninclude: [a.yml]\n");
	CHECK(load("a.yml", NULL, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: b.yml:2:11: include[0]: include cycle: a.yml includes 'b.yml', which includes 'a.yml'\n");

	write_file("self.yml", "include: ./self.yml\n");
	CHECK(load("self.yml", NULL, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: self.yml:1:10: include: include cycle: self.yml includes './self.yml'\n");

	write_file("c1.yml", "include: c2.yml\n");
	write_file("c2.yml", "include: cyc/c3.yml\n");
	write_file("cyc/c3.yml", "include: ../c2.yml\n");
	CHECK(load("c1.yml", NULL, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: cyc/c3.yml:1:10: include: include cycle: c2.yml includes 'cyc/c3.yml', which includes '../c2.yml'\n");

	/* the same file twice without a cycle is fine */
	write_file("leaf.yml", "leaf: 1\n");
	write_file("diamond.yml", "include: [leaf.yml, leaf.yml]\n");
	CHECK(load("diamond.yml", NULL, &r, &err) == 0);
	CHECK(strv_length(r->files) == 2);
	r = recipe_free(r);

	/* depth */
	for (int i = 0; i < 18; i++) {
		_cleanup_free_ char *name = xasprintf("deep/%d.yml", i);
		_cleanup_free_ char *text = xasprintf("include: %d.yml\n", i + 1);

		write_file(name, text);
	}
	write_file("deep/18.yml", "x: 1\n");
	CHECK(load("deep/2.yml", NULL, &r, &err) == 0);
	r = recipe_free(r);
	CHECK(load("deep/1.yml", NULL, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: deep/17.yml:1:10: include: includes nested too deeply (more than 16 levels)\n");

	/* bad include values */
	CHECK(load_text("include: {a: b}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:10: include: expected a file name or a list of them, got a mapping\n");
	CHECK(load_text("include: [leaf.yml, [x]]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:21: include[1]: expected a file name, got a list\n");
	CHECK(load_text("include: ''\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:10: include: expected a file name, got an empty value\n");
	CHECK(load_text("include+: [leaf.yml]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:1: include+: 'include+' is not supported: list every file under 'include'\n");

	/* errors inside an included file point into it */
	write_file("broken.yml", "a:\n  - b\n  c: d\n");
	CHECK(load_text("include: broken.yml\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: broken.yml:3:3: did not find expected '-' indicator\n");

	/* name+ needs lists on both sides */
	write_file("base.yml", "files:\n  src: x\nlist: [1]\n");
	CHECK(load_text("include: base.yml\nfiles+: [y]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:1: files+: cannot append to 'files' (base.yml:2:3), which is a mapping, not a list\n");
	CHECK(load_text("include: base.yml\nlist+: 2\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:8: list+: 'list+' appends a list, got a value\n");
	CHECK(load_text("new+: {a: 1}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:7: new+: 'new+' appends a list, got a mapping\n");
	CHECK(load_text("l:\n  - m:\n      new+: x\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:13: l[0].m.new+: 'new+' appends a list, got a value\n");
	CHECK(r == NULL);
}

/* ---- variables ---- */

static void test_variables(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	char *defines[] = { "arch=arm64", "extra=from -D", NULL };
	const struct node *n;
	const char *err;
	int k;

	write_file("vars-base.yml", "variables:\n"
				    "  arch: amd64\n"
				    "  suite: bookworm\n");
	write_file("vars.yml", "include: vars-base.yml\n"
			       "variables:\n"
			       "  name: debian-${suite}-${arch}\n"
			       "  img: ${name}.img\n"
			       "  empty: ''\n"
			       "output: out/${img}\n"
			       "label: \"${suite}\"\n"
			       "text: 'cost: $$5, literal $${suite} and ${empty}end'\n"
			       "list: [\"${arch}\", plain, $x, $]\n"
			       "keys:\n  ${arch}: keys are not substituted\n"
			       "extra: ${extra}\n");

	k = load("vars.yml", defines, &r, &err);
	CHECK_STREQ(err, "");
	CHECK(k == 0);
	CHECK_STREQ(scalar_at(r, "output"), "out/debian-bookworm-arm64.img");
	n = lookup(r->root, "output");
	CHECK(n->plain);
	CHECK_STREQ(scalar_at(r, "label"), "bookworm");
	CHECK(!lookup(r->root, "label")->plain);
	CHECK_STREQ(scalar_at(r, "text"), "cost: $$5, literal ${suite} and end");
	CHECK_STREQ(scalar_at(r, "list[0]"), "arm64");
	CHECK_STREQ(scalar_at(r, "list[2]"), "$x");
	CHECK_STREQ(scalar_at(r, "list[3]"), "$");
	CHECK_STREQ(scalar_at(r, "keys.${arch}"), "keys are not substituted");
	CHECK_STREQ(scalar_at(r, "extra"), "from -D");
	/* variables: is gone from the tree */
	CHECK(node_get(r->root, "variables") == NULL);
	r = recipe_free(r);

	/* without -D the recipe's values */
	CHECK(load("vars.yml", (char *[]){ "extra=", NULL }, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "output"), "out/debian-bookworm-amd64.img");
	CHECK_STREQ(scalar_at(r, "extra"), "");
	r = recipe_free(r);

	/* -D values may refer to variables too */
	CHECK(load("vars.yml", (char *[]){ "extra=${suite}!", NULL }, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "extra"), "bookworm!");
}

static void test_variable_errors(void)
{
	struct recipe *r = NULL;
	const char *err;

	CHECK(load_text("image:\n  name: ${nope}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:9: image.name: unknown variable 'nope' (define it under variables: or with -D nope=VALUE)\n");
	CHECK(r == NULL);

	CHECK(load_text("variables:\n"
			"  a: x${b}\n"
			"  b: ${c}\n"
			"  c: ${a}\n"
			"v: ${a}\n",
			&r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:6: variables.a: variables refer to each other: a -> b -> c -> a\n");

	CHECK(load_text("variables:\n  a: ${a}\nv: ${a}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:6: variables.a: variables refer to each other: a -> a\n");

	CHECK(load_text("variables:\n  a: ${zz}\nv: ${a}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:6: variables.a: unknown variable 'zz' (define it under variables: or with -D zz=VALUE)\n");

	CHECK(load_text("v: ${a\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:4: v: unterminated '${' (write '$${' for a literal '${')\n");

	CHECK(load_text("v: [ok, '${a b}']\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:9: v[1]: '${a b}' is not a valid variable reference\n");

	CHECK(load_text("variables: [a]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:12: variables: expected a mapping, got a list\n");

	CHECK(load_text("variables:\n  a: [1]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:6: variables.a: expected a value, got a list\n");

	CHECK(load_text("variables:\n  1a: x\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:3: variables.1a: '1a' is not a valid variable name (use letters, digits, '_' and '-')\n");

	/* bad -D, with no file position */
	write_file("ok.yml", "a: 1\n");
	CHECK(load("ok.yml", (char *[]){ "x", NULL }, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: -D 'x': expected NAME=VALUE\n");
	CHECK(load("ok.yml", (char *[]){ "a=1", "=v", NULL }, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: -D '=v': expected NAME=VALUE\n");
	CHECK(load("ok.yml", (char *[]){ "a b=1", NULL }, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: -D 'a b=1': expected NAME=VALUE\n");
	CHECK(load("ok.yml", (char *[]){ "9a=1", NULL }, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: -D '9a=1': expected NAME=VALUE\n");

	write_file("d.yml", "v: ${a}\n");
	CHECK(load("d.yml", (char *[]){ "a=${b}", NULL }, &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: -D 'a=${b}': unknown variable 'b' (define it under variables: or with -D b=VALUE)\n");
	CHECK(load("d.yml", (char *[]){ "my-var_1=ok", "a=${my-var_1}", NULL }, &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "v"), "ok");
	r = recipe_free(r);

	/* exponential expansion is bounded */
	CHECK(load_text("variables:\n"
			"  a: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
			"  b: ${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\n"
			"  c: ${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}\n"
			"  d: ${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}\n"
			"  e: ${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}\n"
			"  f: ${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}\n"
			"  g: ${f}${f}${f}${f}${f}${f}${f}${f}${f}${f}\n"
			"v: ${g}\n",
			&r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:8:6: variables.g: variables expand to too much text (more than 64 MiB)\n");
	CHECK(r == NULL);
}

/* ---- typed getters ---- */

static void test_getters(void)
{
	static const char *const tables[] = { "msdos", "gpt", NULL };
	_cleanup_recipe_ struct recipe *r = NULL;
	_cleanup_strv_free_ char **l = NULL;
	const char *err, *s;
	uint64_t u;
	mode_t m;
	bool b;
	int k, e;

	CHECK(load_text("partitions:\n"
			"  a: 1\n"
			"x:\n"
			"  bootable: maybe\n"
			"  yes1: Yes\n"
			"  no1: OFF\n"
			"  on: on\n"
			"  f: FALSE\n"
			"files:\n"
			"  - mode: \"0999\"\n"
			"  - mode: 0640\n"
			"  - mode: '640'\n"
			"  - mode: 0o755\n"
			"  - mode: 17777\n"
			"  - mode: 4755\n"
			"image:\n"
			"  table: dos\n"
			"  t2: gpt\n"
			"  t3: GPT\n"
			"  t4: zfs\n"
			"n:\n"
			"  port: 70000\n"
			"  ok: 65535\n"
			"  hex: 0x1F\n"
			"  neg: -1\n"
			"  big: 18446744073709551616\n"
			"  word: ten\n"
			"s:\n"
			"  csv: ' a, b ,,c ,'\n"
			"  one: single\n"
			"  empty: ''\n"
			"  list: [x, 'y, z']\n"
			"  badlist: [x, [y]]\n"
			"  map: {a: b}\n"
			"  nul: ~\n"
			"  nul2: null\n"
			"  notnul: 'null'\n"
			"  blank:\n",
			&r, &err) == 0);
	CHECK_STREQ(err, "");

	/* node_expect */
	capture_start();
	k = node_expect(node_get(r->root, "partitions"), NODE_SEQ);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:3: partitions: expected a list, got a mapping\n");
	CHECK(node_expect(node_get(r->root, "partitions"), NODE_MAP) == 0);
	CHECK_STREQ(node_kind_to_string(NODE_SCALAR), "a value");
	CHECK_STREQ(node_kind_to_string(NODE_MAP), "a mapping");
	CHECK_STREQ(node_kind_to_string(NODE_SEQ), "a list");
	CHECK(node_get(NULL, "x") == NULL);
	CHECK(node_get(lookup(r->root, "x.bootable"), "x") == NULL);
	CHECK(node_get(r->root, "nothere") == NULL);

	/* bool */
	capture_start();
	k = node_get_bool(lookup(r->root, "x.bootable"), &b);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:4:13: x.bootable: 'maybe' is not a boolean (use true or false)\n");
	CHECK(node_get_bool(lookup(r->root, "x.yes1"), &b) == 0 && b);
	CHECK(node_get_bool(lookup(r->root, "x.no1"), &b) == 0 && !b);
	CHECK(node_get_bool(lookup(r->root, "x.on"), &b) == 0 && b);
	CHECK(node_get_bool(lookup(r->root, "x.f"), &b) == 0 && !b);

	/* mode */
	capture_start();
	k = node_get_mode(lookup(r->root, "files[0].mode"), &m);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:10:11: files[0].mode: '0999' is not an octal mode such as \"0644\"\n");
	CHECK(node_get_mode(lookup(r->root, "files[1].mode"), &m) == 0 && m == 0640);
	CHECK(node_get_mode(lookup(r->root, "files[2].mode"), &m) == 0 && m == 0640);
	CHECK(node_get_mode(lookup(r->root, "files[3].mode"), &m) == 0 && m == 0755);
	capture_start();
	k = node_get_mode(lookup(r->root, "files[4].mode"), &m);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:14:11: files[4].mode: '17777' is not an octal mode such as \"0644\"\n");
	CHECK(node_get_mode(lookup(r->root, "files[5].mode"), &m) == 0 && m == 04755);

	/* enum */
	capture_start();
	k = node_get_enum(lookup(r->root, "image.table"), tables, &e);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:17:10: image.table: 'dos' is not one of msdos, gpt (did you mean 'msdos'?)\n");
	CHECK(node_get_enum(lookup(r->root, "image.t2"), tables, &e) == 0 && e == 1);
	capture_start();
	k = node_get_enum(lookup(r->root, "image.t3"), tables, &e);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:19:7: image.t3: 'GPT' is not one of msdos, gpt (did you mean 'gpt'?)\n");
	capture_start();
	k = node_get_enum(lookup(r->root, "image.t4"), tables, &e);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:20:7: image.t4: 'zfs' is not one of msdos, gpt\n");

	/* u64 */
	capture_start();
	k = node_get_u64(lookup(r->root, "n.port"), 0, 65535, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:22:9: n.port: '70000' is out of range (0..65535)\n");
	CHECK(node_get_u64(lookup(r->root, "n.ok"), 0, 65535, &u) == 0 && u == 65535);
	CHECK(node_get_u64(lookup(r->root, "n.hex"), 0, 65535, &u) == 0 && u == 31);
	capture_start();
	k = node_get_u64(lookup(r->root, "n.hex"), 32, 64, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:24:8: n.hex: '0x1F' is out of range (32..64)\n");
	capture_start();
	k = node_get_u64(lookup(r->root, "n.neg"), 0, 10, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:25:8: n.neg: '-1' is not a number\n");
	capture_start();
	k = node_get_u64(lookup(r->root, "n.big"), 0, UINT64_MAX, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:26:8: n.big: '18446744073709551616' is out of range (0..18446744073709551615)\n");
	capture_start();
	k = node_get_u64(lookup(r->root, "n.word"), 0, 10, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:27:9: n.word: 'ten' is not a number\n");

	/* strv */
	CHECK(node_get_strv(lookup(r->root, "s.csv"), &l) == 0);
	CHECK(strv_length(l) == 3);
	CHECK_STREQ(l[0], "a");
	CHECK_STREQ(l[1], "b");
	CHECK_STREQ(l[2], "c");
	strv_free(TAKE_PTR(l));
	CHECK(node_get_strv(lookup(r->root, "s.one"), &l) == 0);
	CHECK(strv_length(l) == 1);
	CHECK_STREQ(l[0], "single");
	strv_free(TAKE_PTR(l));
	CHECK(node_get_strv(lookup(r->root, "s.empty"), &l) == 0);
	CHECK(l && l[0] == NULL);
	strv_free(TAKE_PTR(l));
	CHECK(node_get_strv(lookup(r->root, "s.list"), &l) == 0);
	CHECK(strv_length(l) == 2);
	CHECK_STREQ(l[0], "x");
	CHECK_STREQ(l[1], "y, z");
	strv_free(TAKE_PTR(l));
	capture_start();
	k = node_get_strv(lookup(r->root, "s.badlist"), &l);
	err = capture_end();
	CHECK(k == -EINVAL && !l);
	CHECK_STREQ(err, "error: t.yml:33:16: s.badlist[1]: expected a value, got a list\n");
	capture_start();
	k = node_get_strv(lookup(r->root, "s.map"), &l);
	err = capture_end();
	CHECK(k == -EINVAL && !l);
	CHECK_STREQ(err, "error: t.yml:34:8: s.map: expected a list, got a mapping\n");

	/* string; nulls are empty strings */
	capture_start();
	k = node_get_string(lookup(r->root, "s.list"), &s);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:32:9: s.list: expected a value, got a list\n");
	CHECK(node_get_string(lookup(r->root, "s.one"), &s) == 0);
	CHECK_STREQ(s, "single");
	CHECK(node_get_string(lookup(r->root, "s.nul"), &s) == 0);
	CHECK_STREQ(s, "");
	CHECK(node_get_string(lookup(r->root, "s.nul2"), &s) == 0);
	CHECK_STREQ(s, "");
	CHECK(node_get_string(lookup(r->root, "s.notnul"), &s) == 0);
	CHECK_STREQ(s, "null");
	CHECK(node_get_string(lookup(r->root, "s.blank"), &s) == 0);
	CHECK_STREQ(s, "");
}

static void test_duplicates_and_aliases(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	const struct node *n;
	const char *err;

	CHECK(load_text("image:\n"
			"  size: 1G\n"
			"  table: gpt\n"
			"  size: 2G\n",
			&r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:4:3: image.size: duplicate key 'size' (first at line 2)\n");
	CHECK(load_text("l:\n  - {a: 1, a: 2}\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:12: l[0].a: duplicate key 'a' (first at line 2)\n");
	CHECK(load_text("files: [a]\nfiles+: [b]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:1: files+: 'files+' and 'files' (at line 1) in one mapping\n");
	CHECK(r == NULL);

	CHECK(load_text("defaults: &defs\n"
			"  fs: ext4\n"
			"  opts: [a, b]\n"
			"one: *defs\n"
			"two:\n"
			"  x: &word hello\n"
			"  y: *word\n"
			"list: [*word, *defs]\n",
			&r, &err) == 0);
	CHECK_STREQ(err, "");
	CHECK_STREQ(scalar_at(r, "one.fs"), "ext4");
	CHECK_STREQ(scalar_at(r, "one.opts[1]"), "b");
	CHECK_STREQ(scalar_at(r, "two.y"), "hello");
	CHECK_STREQ(scalar_at(r, "list[0]"), "hello");
	CHECK_STREQ(scalar_at(r, "list[1].opts[0]"), "a");
	/* copies are separate nodes with their own paths; positions are where the text is */
	n = lookup(r->root, "one.opts[1]");
	CHECK(n != lookup(r->root, "defaults.opts[1]"));
	CHECK_STREQ(n->path, "one.opts[1]");
	CHECK(n->line == 3 && n->col == 13);
	CHECK_STREQ(lookup(r->root, "list[1].fs")->path, "list[1].fs");
}

static void test_empty_and_misc(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	const char *err;

	CHECK(load_text("", &r, &err) == 0);
	CHECK(r->root->kind == NODE_MAP && r->root->n == 0);
	r = recipe_free(r);
	CHECK(load_text("# only a comment\n", &r, &err) == 0);
	CHECK(r->root->kind == NODE_MAP && r->root->n == 0);
	r = recipe_free(r);
	CHECK(load_text("---\n...\n", &r, &err) == 0);
	CHECK(r->root->kind == NODE_MAP && r->root->n == 0);
	r = recipe_free(r);
	CHECK(load_text("--- # start\na: 1\n...\n", &r, &err) == 0);
	CHECK_STREQ(scalar_at(r, "a"), "1");
	CHECK(recipe_free(NULL) == NULL);
}

/* What messages show of the recipe: values quoted in a message are cut and escaped, key
 * paths escaped; a file whose top-level keys are not keys is refused without its text. */
static void test_message_values(void)
{
	_cleanup_recipe_ struct recipe *r = NULL;
	_cleanup_free_ char *long_value = NULL, *text = NULL;
	const char *err;
	uint64_t u;
	int k;

	long_value = xmalloc(100001);
	memset(long_value, 'A', 100000);
	long_value[100000] = 0;
	text = xasprintf("a: %s\nb: \"x\\e[31my\\tz\\u009b\"\nc: {\"k\\ey\": 1}\n", long_value);
	CHECK(load_text(text, &r, &err) == 0);

	capture_start();
	k = node_get_u64(node_get(r->root, "a"), 0, 10, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:1:4: a: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...' is not a number\n");

	capture_start();
	k = node_get_u64(node_get(r->root, "b"), 0, 10, &u);
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:2:4: b: 'x\\x1b[31my\\tz\\xc2\\x9b' is not a number\n");

	capture_start();
	k = node_check_keys(node_get(r->root, "c"), (const char *const[]){ "key", NULL });
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:5: c.k\\x1by: unknown key (did you mean 'key'?)\n");

	/* other conversions are formatted as printf does */
	capture_start();
	k = node_error(node_get(r->root, "c"), "%d %u %zu %llx %5.1f %-3s| %c %.*s %% '%s'", -1, 2u,
		       (size_t)3, 255ULL, 1.25, "ab", 'z', 2, "xyz", "q");
	err = capture_end();
	CHECK(k == -EINVAL);
	CHECK_STREQ(err, "error: t.yml:3:4: c: -1 2 3 ff   1.2 ab | z xy % 'q'\n");
	r = recipe_free(r);

	/* a host file that only looks like YAML: one message, none of its text */
	write_file("shadow", "root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\n"
			     "daemon:*:19000:0:99999:7:::\n");
	CHECK(load_text("include: [shadow]\n", &r, &err) == -EINVAL);
	CHECK_STREQ(err, "error: shadow:1:1: not a recipe: line 1 holds no recipe key (a recipe is "
			 "a YAML mapping of keys such as image: and partitions:)\n");
	CHECK(load_text("image: {}\nfiles+: []\nsnake_case-key: 1\n", &r, &err) == 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	if (chdir(tmpdir) < 0)
		die(tmpdir);

	RUN_TEST(test_size_parse);
	RUN_TEST(test_node_get_size);
	RUN_TEST(test_positions_and_paths);
	RUN_TEST(test_unknown_keys);
	RUN_TEST(test_syntax_errors);
	RUN_TEST(test_limits);
	RUN_TEST(test_include_merge);
	RUN_TEST(test_include_siblings);
	RUN_TEST(test_include_alternatives);
	RUN_TEST(test_include_relative);
	RUN_TEST(test_include_errors);
	RUN_TEST(test_variables);
	RUN_TEST(test_variable_errors);
	RUN_TEST(test_getters);
	RUN_TEST(test_duplicates_and_aliases);
	RUN_TEST(test_empty_and_misc);
	RUN_TEST(test_message_values);

	if (chdir("/") == 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_EXIT();
}
