// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for the path and hex helpers of base/util.c that several modules share. */
#include "util.h"

#include <limits.h>

#include "check.h"

static void test_hex_digit(void)
{
	CHECK(hex_digit('0') == 0 && hex_digit('9') == 9);
	CHECK(hex_digit('a') == 10 && hex_digit('f') == 15);
	CHECK(hex_digit('A') == 10 && hex_digit('F') == 15);
	CHECK(hex_digit('g') == -1 && hex_digit('G') == -1 && hex_digit('/') == -1);
	CHECK(hex_digit(':') == -1 && hex_digit('@') == -1 && hex_digit('`') == -1);
	CHECK(hex_digit(0) == -1);
}

static void test_path_normalize(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "/usr//bin/./x", "usr/bin/x" },
		{ "usr/bin/x", "usr/bin/x" },
		{ "./etc/", "etc" },
		{ "./", "" },
		{ "/", "" },
		{ "", "" },
		{ "a/.../b", "a/.../b" },
		{ "..a/b..", "..a/b.." },
	};
	char name[NAME_MAX + 3];
	char *out = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		CHECK(path_normalize(ok[i].in, &out) == 0);
		CHECK_STREQ(out, ok[i].out);
		free(out);
		out = NULL;
	}
	CHECK(path_normalize("..", &out) == -EINVAL && !out);
	CHECK(path_normalize("a/../b", &out) == -EINVAL && !out);
	CHECK(path_normalize("/a/b/..", &out) == -EINVAL && !out);
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[NAME_MAX + 1] = 0; /* a component of NAME_MAX bytes */
	CHECK(path_normalize(name, &out) == 0 && strlen(out) == NAME_MAX);
	free(out);
	out = NULL;
	name[NAME_MAX + 1] = 'n';
	name[NAME_MAX + 2] = 0;
	CHECK(path_normalize(name, &out) == -ENAMETOOLONG && !out);
}

static void test_path_is_safe_absolute(void)
{
	CHECK(path_is_safe_absolute("/"));
	CHECK(path_is_safe_absolute("/etc/motd"));
	CHECK(path_is_safe_absolute("/etc//motd/"));
	CHECK(path_is_safe_absolute("/a/./b"));
	CHECK(path_is_safe_absolute("/..a/b../.../x"));
	CHECK(!path_is_safe_absolute(""));
	CHECK(!path_is_safe_absolute("etc/motd"));
	CHECK(!path_is_safe_absolute("/.."));
	CHECK(!path_is_safe_absolute("/../etc"));
	CHECK(!path_is_safe_absolute("/etc/.."));
	CHECK(!path_is_safe_absolute("/etc/../../x"));
	CHECK(!path_is_safe_absolute("//..//x"));
}

int main(void)
{
	RUN_TEST(test_hex_digit);
	RUN_TEST(test_path_normalize);
	RUN_TEST(test_path_is_safe_absolute);
	CHECK_EXIT();
}
