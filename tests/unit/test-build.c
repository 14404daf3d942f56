// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for core/fs.c's filesystem handover (configure: vm gives the image to
 * QEMU between two stages): build_fs_create(), build_fs_close() then build_fs_reopen() on a plain ext4
 * partition and an encrypted ext2 one (lib/cryptio's channel), with a change made by an
 * outside writer (debugfs) in between; the tree sees both, writes go on, e2fsck agrees;
 * and a journal left needing recovery is refused. */
#include <fcntl.h>
#include <sys/stat.h>

#include "build.h"
#include "capture.h"
#include "check.h"
#include "cryptio.h"
#include "helpers.h"
#include "fs.h"
#include "log.h"

#define MIB (UINT64_C(1) << 20)

struct two {
	struct build b;
	struct partition parts[2];
};

static void two_done(struct two *t)
{
	build_fs_finish(&t->b, true);
	free(t->b.fs);
	encrypt_spec_free(t->parts[1].enc);
	free(t->b.tmp_path);
	if (t->b.fd >= 0)
		close(t->b.fd);
}

/* An image with partition 1 (ext4, "/", at 1 MiB) and partition 2 (ext2 inside
 * aes-xts-plain64, "/data", at 10 MiB), both mounted into the tree. */
static int two_make(struct two *t)
{
	static const uint8_t key[64] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int r;

	memset(t, 0, sizeof(*t));
	t->b.now = 1700000000;
	t->b.tmp_path = tmp_path("two.img");
	t->b.fd = open(t->b.tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (t->b.fd < 0 || ftruncate(t->b.fd, 20 * MIB) < 0)
		return -errno;
	t->parts[0] = (struct partition){ .name = (char *)"root", .number = 1, .offset = MIB,
					  .length = 8 * MIB,
					  .fs = { .type = FS_EXT4, .mount = (char *)"/" } };
	t->parts[1] = (struct partition){ .name = (char *)"data", .number = 2, .offset = 10 * MIB,
					  .length = 8 * MIB,
					  .fs = { .type = FS_EXT2, .mount = (char *)"/data" } };
	t->parts[1].enc = xcalloc(1, sizeof(*t->parts[1].enc));
	t->b.parts = t->parts;
	t->b.n_parts = 2;
	r = cryptio_cipher_new("aes-xts-plain64", key, sizeof(key), 4096,
			       &t->parts[1].enc->cipher_ctx);
	if (r < 0)
		return r;
	memset(t->parts[0].fs.uuid, 1, 16);
	memset(t->parts[1].fs.uuid, 2, 16);
	return build_fs_create(&t->b);
}

static char *read_text(struct build *b, const char *path)
{
	char *data = NULL;
	size_t size;

	if (tree_read(b->tree, path, 4096, &data, &size) < 0)
		return NULL;
	return data;
}

static void test_close_reopen(void)
{
	const struct tree_attr a = { .mode = 0644, .mtime = 1700000000 };
	_cleanup_(two_done) struct two t = { .b.fd = -1 };
	_cleanup_free_ char *one = NULL, *two = NULL, *three = NULL, *four = NULL, *part = NULL;

	CHECK(two_make(&t) == 0);
	CHECK(tree_write(t.b.tree, "/one", &a, "1\n", 2) == 0);
	CHECK(tree_write(t.b.tree, "/data/two", &a, "2\n", 2) == 0);

	CHECK(build_fs_close(&t.b) == 0);
	CHECK(!t.b.tree && !t.b.fs[0].ext2 && !t.b.fs[1].ext2);
	/* Someone else writes the plain filesystem meanwhile. */
	CHECK(run("printf '3\\n' >%s/three && "
		  "debugfs -w -R 'write %s/three three' '%s?offset=%llu' >/dev/null 2>&1", tmpdir,
		  tmpdir, t.b.tmp_path, (unsigned long long)t.parts[0].offset) == 0);

	CHECK(build_fs_reopen(&t.b) == 0);
	CHECK(t.b.tree && t.b.fs[0].ext2 && t.b.fs[1].ext2);
	CHECK(!t.b.fs[0].io && !t.b.fs[1].io);
	one = read_text(&t.b, "/one");
	two = read_text(&t.b, "/data/two");
	three = read_text(&t.b, "/three");
	CHECK_STREQ(one, "1\n");
	CHECK_STREQ(two, "2\n");
	CHECK_STREQ(three, "3\n");
	/* Writable again, with the build's time, through the same channels. */
	CHECK(tree_write(t.b.tree, "/data/four", &a, "4\n", 2) == 0);
	four = read_text(&t.b, "/data/four");
	CHECK_STREQ(four, "4\n");
	CHECK(t.b.fs[1].ext2->now == 1700000000);
	CHECK(build_fs_finish(&t.b, false) == 0);
	part = tmp_path("root.fs");
	CHECK(run("dd if=%s of=%s bs=1M skip=1 count=8 status=none && "
		  "e2fsck -fn %s >/dev/null 2>&1", t.b.tmp_path, part, part) == 0);
}

static void test_needs_recovery_refused(void)
{
	_cleanup_(two_done) struct two t = { .b.fd = -1 };
	_cleanup_free_ char *err = NULL;
	int r;

	CHECK(two_make(&t) == 0);
	CHECK(build_fs_close(&t.b) == 0);
	/* As a guest that died with the filesystem mounted leaves it. */
	CHECK(run("debugfs -w -R 'feature needs_recovery' '%s?offset=%llu' >/dev/null 2>&1",
		  t.b.tmp_path, (unsigned long long)t.parts[0].offset) == 0);
	capture_begin();
	r = build_fs_reopen(&t.b);
	err = capture_end();
	CHECK(r < 0);
	CHECK_STREQ(err, "error: the filesystem of partition 'root' was not unmounted cleanly "
			 "(its journal needs recovery)");
	CHECK(!t.b.fs[0].ext2);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-build.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		return 2;
	}
	log_set_level(LOG_INFO);
	if (!have("debugfs") || !have("e2fsck")) {
		printf("SKIP: debugfs or e2fsck missing\n");
		return 0;
	}

	RUN_TEST(test_close_reopen);
	RUN_TEST(test_needs_recovery_refused);

	run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
