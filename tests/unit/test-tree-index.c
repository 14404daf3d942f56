/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tree writer's directory index (lib/tree.c): many names in one directory, replaced,
 * also after the index was dropped and read back from the disk; checked with e2fsck -fn
 * and debugfs. */
#include "tree.h"

#include <stdlib.h>
#include <sys/wait.h>

#include "capture.h"
#include "check.h"
#include "log.h"

#define N_FILES 3000
#define N_DIRS 300

static char work[] = "/tmp/test-tree-index.XXXXXX";
static char img[64];

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The output of a shell command, without the final newline. */
static char *sh_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char buf[256] = "";
	size_t n;

	if (!p)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	pclose(p);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return xstrdup(buf);
}

static ext2_filsys open_fs(void)
{
	ext2_filsys fs = NULL;

	if (ext2fs_open2(img, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return NULL;
	if (ext2fs_read_bitmaps(fs)) {
		ext2fs_free(fs);
		return NULL;
	}
	return fs;
}

static void test_big_directory(void)
{
	const struct tree_attr a = { .mode = 0644, .mtime = 1700000000 };
	_cleanup_free_ char *count = NULL, *dups = NULL, *content = NULL, *log = NULL;
	struct tree_dirent *ents = NULL;
	struct tree *t = tree_new(1700000000);
	ext2_filsys fs;
	size_t n = 0;
	char path[64], cmd[512];

	/* 1 KiB blocks: many directory blocks. */
	CHECK(sh("mke2fs -q -F -t ext4 -b 1024 -N 16384 -E root_owner=0:0 '%s' 32M", img) == 0);
	fs = open_fs();
	CHECK(fs);
	CHECK(tree_mount(t, "/", fs) == 0);
	for (int i = 0; i < N_FILES; i++) {
		snprintf(path, sizeof(path), "/d/file-%05d", i);
		CHECK(tree_write(t, path, &a, "a", 1) == 0);
	}
	for (int i = 0; i < N_DIRS; i++) {
		snprintf(path, sizeof(path), "/d/dir-%05d", i);
		CHECK(tree_mkdir(t, path, &a) == 0);
		snprintf(path, sizeof(path), "/d/link-%05d", i);
		CHECK(tree_symlink(t, path, "file-00001", &a) == 0);
	}
	/* Replaced while the index is the one the writes built... */
	for (int i = 0; i < N_FILES; i += 2) {
		snprintf(path, sizeof(path), "/d/file-%05d", i);
		CHECK(tree_write(t, path, &a, "b", 1) == 0);
	}
	/* ...and after it was dropped and read back from the directory's blocks: every name
	 * must be found in the block the index says, with no search of the whole directory. */
	tree_forget(t);
	log_set_level(LOG_DEBUG);
	capture_begin();
	for (int i = 1; i < N_FILES; i += 2) {
		snprintf(path, sizeof(path), "/d/file-%05d", i);
		if (tree_write(t, path, &a, "b", 1) < 0)
			break;
	}
	for (int i = 0; i < N_DIRS; i++) {
		snprintf(path, sizeof(path), "/d/link-%05d", i);
		if (tree_symlink(t, path, "file-00002", &a) < 0)
			break;
	}
	log = capture_end();
	log_set_level(LOG_INFO);
	CHECK(!strstr(log, "searching it all") && !strstr(log, "error"));
	CHECK(tree_exists(t, "/d/file-02999") == 1);
	CHECK(tree_exists(t, "/d/file-03000") == 0);
	CHECK(tree_list(t, "/d", &ents, &n) == 0);
	tree_dirents_free(ents, n);
	CHECK(n == N_FILES + 2 * N_DIRS);
	t = tree_free(t);
	CHECK(ext2fs_close_free(&fs) == 0);

	CHECK(sh("e2fsck -fn '%s' >/dev/null 2>&1", img) == 0);
	/* debugfs lists a removed name that opened a block (inode 0): live names only. */
	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'ls -p /d' '%s' 2>/dev/null | awk -F/ '$6 != \"\" && $2 != 0' |"
		 " wc -l", img);
	count = sh_out(cmd);
	CHECK_STREQ(count, "3602"); /* with "." and ".." */
	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'ls -p /d' '%s' 2>/dev/null | awk -F/ '$6 != \"\" && $2 != 0 "
		 "{ print $6 }' | sort | uniq -d | wc -l", img);
	dups = sh_out(cmd);
	CHECK_STREQ(dups, "0");
	snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /d/file-01501' '%s' 2>/dev/null", img);
	content = sh_out(cmd);
	CHECK_STREQ(content, "b");
}

int main(void)
{
	int r;

	log_set_scope(NULL);
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 0);
	if (!mkdtemp(work))
		return 1;
	snprintf(img, sizeof(img), "%s/fs.img", work);
	RUN_TEST(test_big_directory);
	r = check_failed_tests;
	if (!getenv("TEST_TREE_KEEP"))
		sh("rm -rf '%s'", work);
	return r ? 1 : 0;
}
