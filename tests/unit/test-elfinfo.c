/* SPDX-License-Identifier: GPL-2.0-or-later */
/* elfinfo: PT_INTERP and DT_NEEDED of programs gcc makes here, compared with what readelf
 * (binutils) reads from the same files; malformed files refused without over-reading. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "elfinfo.h"
#include "util.h"

static char *run(const char *cmd)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = popen(cmd, "r"), *m = open_memstream(&out, &len);
	int c;

	while (f && (c = fgetc(f)) != EOF)
		fputc(c, m);
	if (f)
		pclose(f);
	fclose(m);
	return out;
}

static bool built;

static void build(void)
{
	if (built)
		return;
	built = system("printf '#include <math.h>\\n#include <stdio.h>\\nint main(int c, char **v) "
		       "{ printf(\"%%f\\\\n\", sin(c)); return 0; }\\n' >prog.c && "
		       "gcc -o dyn prog.c -lm && gcc -static -o static prog.c -lm") == 0;
}

static void test_dynamic(void)
{
	_cleanup_free_ char *data = NULL, *interp = NULL, *expect = NULL, *got = NULL;
	_cleanup_strv_free_ char **needed = NULL;
	size_t size;
	FILE *m;
	size_t len = 0;

	build();
	CHECK(built);
	CHECK(read_file("dyn", 1 << 24, &data, &size) == 0);
	CHECK(elf_interp(data, size, &interp) == 0);
	expect = run("readelf -l dyn | sed -n 's/.*Requesting program interpreter: \\(.*\\)]$/\\1/p'");
	expect[strcspn(expect, "\n")] = 0;
	CHECK_STREQ(interp, expect);
	CHECK(elf_needed(data, size, &needed) == 0);
	m = open_memstream(&got, &len);
	for (char **n = needed; *n; n++)
		fprintf(m, "%s\n", *n);
	fclose(m);
	free(expect);
	expect = run("readelf -d dyn | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]$/\\1/p'");
	CHECK_STREQ(got, expect);
	CHECK(strv_contains(needed, "libm.so.6"));
	CHECK(strv_contains(needed, "libc.so.6"));
}

static void test_static(void)
{
	_cleanup_free_ char *data = NULL, *interp = NULL;
	_cleanup_strv_free_ char **needed = NULL;
	size_t size;

	build();
	CHECK(built);
	CHECK(read_file("static", 1 << 26, &data, &size) == 0);
	CHECK(elf_interp(data, size, &interp) == 0);
	CHECK(interp == NULL);
	CHECK(elf_needed(data, size, &needed) == 0);
	CHECK(needed && !needed[0]);
}

static void test_malformed(void)
{
	_cleanup_free_ char *data = NULL;
	size_t size;

	build();
	CHECK(built);
	CHECK(read_file("dyn", 1 << 24, &data, &size) == 0);
	CHECK(elf_needed("#!/bin/sh\n", 10, &(char **){ NULL }) == -ENOEXEC);
	/* Every truncation: an error or a (shorter) answer, never a read past the end (ASan). */
	for (size_t n = 0; n < size; n += n < 4096 ? 1 : 4093) {
		char *copy = xmalloc(n ? n : 1), **needed = NULL, *interp = NULL;
		int r;

		memcpy(copy, data, n);
		r = elf_needed(copy, n, &needed);
		CHECK(r == 0 || r == -EBADMSG || r == -ENOEXEC);
		strv_free(needed);
		r = elf_interp(copy, n, &interp);
		CHECK(r == 0 || r == -EBADMSG || r == -ENOEXEC);
		free(interp);
		free(copy);
	}
	/* Program headers pointing past the end. */
	{
		char *copy = xmalloc(size), **needed = NULL;

		memcpy(copy, data, size);
		memset(copy + 32, 0xff, 8); /* e_phoff */
		CHECK(elf_needed(copy, size, &needed) == -EBADMSG);
		free(copy);
	}
}

int main(void)
{
	char dir[] = "/tmp/test-elfinfo.XXXXXX";

	if (!mkdtemp(dir) || chdir(dir) < 0)
		return 1;
	RUN_TEST(test_dynamic);
	RUN_TEST(test_static);
	RUN_TEST(test_malformed);
	if (chdir("/") == 0)
		rm_rf(dir);
	CHECK_EXIT();
}
