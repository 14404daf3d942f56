/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dpkg's path filters as unpack applies them (the rest of unpack is covered by the case
 * tests, which read the image back with debugfs). */
#include "check.h"
#include "unpack.h"

static char *excl[] = { "/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", NULL };
static char *incl[] = { "/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias", NULL };

static void test_files(void)
{
	CHECK(!unpack_path_skipped(excl, incl, "/usr/bin/bash", false));
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/doc/bash/changelog.gz", false));
	CHECK(!unpack_path_skipped(excl, incl, "/usr/share/doc/bash/copyright", false));
	/* '*' matches '/' (no FNM_PATHNAME), as in dpkg */
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/man/de/man1/ls.1.gz", false));
	CHECK(!unpack_path_skipped(excl, incl, "/usr/share/locale/locale.alias", false));
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/locale/de/LC_MESSAGES/x.mo", false));
	/* the directory itself is not matched by "dir/<star>" */
	CHECK(!unpack_path_skipped(excl, incl, "/usr/share/doc", true));
}

static void test_dirs(void)
{
	/* kept: an include's literal prefix ("/usr/share/doc") covers them */
	CHECK(!unpack_path_skipped(excl, incl, "/usr/share/doc/bash", true));
	CHECK(!unpack_path_skipped(excl, incl, "/usr/share/doc/libc6-link", true));
	/* not for files */
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/doc/README", false));
	/* no include under man: man1 goes */
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/man/man1", true));
	/* the locale include's prefix is the whole path: de/ is not covered */
	CHECK(unpack_path_skipped(excl, incl, "/usr/share/locale/de", true));
}

static void test_empty(void)
{
	CHECK(!unpack_path_skipped(NULL, NULL, "/usr/share/doc/x", false));
	CHECK(!unpack_path_skipped(NULL, incl, "/usr/share/doc/x", false));
	CHECK(unpack_path_skipped(excl, NULL, "/usr/share/doc/x", true));
}

int main(void)
{
	RUN_TEST(test_files);
	RUN_TEST(test_dirs);
	RUN_TEST(test_empty);
	return check_failed_tests ? 1 : 0;
}
