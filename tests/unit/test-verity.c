// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/verity.c. The hash device's size against what veritysetup format
 * reports for the same data; a hash tree made from data at an offset of an image file (with
 * a hole) into another offset, judged by `veritysetup verify` on the parts cut out with dd:
 * it accepts the root hash, refuses one changed byte of the data; a hash area too small is
 * refused; the scratch directory is left empty. */
#include "verity.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "check.h"
#include "log.h"
#include "util.h"

#define MiB (UINT64_C(1) << 20)
#define DATA_OFF MiB
#define DATA_LEN (8 * MiB)
#define HASH_OFF (10 * MiB)
#define HASH_LEN MiB

static char dir[] = "/tmp/test-verity-XXXXXX";
static const uint8_t salt[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t uuid[16] = { 0x5e, 0xc2, 0x37, 0x1a, 0x0b, 0x5d, 0x4c, 0x2e,
				  0x9a, 0x41, 0x33, 0x7f, 0x10, 0x22, 0x6b, 0x01 };

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	return system(cmd);
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	while (d && (e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			empty = false;
	if (d)
		closedir(d);
	return empty;
}

static void test_hash_size(void)
{
	/* veritysetup format on 8 MiB: "Hash device size: 73728 [bytes]" with 4096-byte data
	 * blocks, 270336 with --data-block-size 1024. */
	CHECK(verity_hash_size(DATA_LEN, 4096) == 73728);
	CHECK(verity_hash_size(DATA_LEN, 1024) == 270336);
	CHECK(verity_hash_size(4096, 4096) == 8192);
}

static void test_make_verify(void)
{
	_cleanup_free_ char *img = xasprintf("%s/image", dir), *root = NULL;
	_cleanup_free_ char *scratch = xasprintf("%s/scratch", dir);
	_cleanup_close_ int fd = -1;
	char buf[4096];

	CHECK(mkdir(scratch, 0700) == 0);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 12 * MiB) == 0);
	/* data in the first and last MiB of the data area, a hole between */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	for (uint64_t off = 0; off < MiB; off += sizeof(buf)) {
		CHECK(pwrite_all(fd, buf, sizeof(buf), DATA_OFF + off) == 0);
		CHECK(pwrite_all(fd, buf, sizeof(buf), DATA_OFF + DATA_LEN - MiB + off) == 0);
	}
	/* garbage where the hash goes: every byte of the tree must be written */
	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t off = 0; off < HASH_LEN; off += sizeof(buf))
		CHECK(pwrite_all(fd, buf, sizeof(buf), HASH_OFF + off) == 0);

	CHECK(verity_make(fd, DATA_OFF, DATA_LEN, 1024, HASH_OFF, HASH_LEN, salt, uuid, scratch,
			  &root) == 0);
	CHECK(root && strlen(root) == 64);
	CHECK(dir_empty(scratch));
	CHECK(sh("cd %s && dd if=image of=data bs=1M skip=1 count=8 status=none && "
		 "dd if=image of=hash bs=1M skip=10 count=1 status=none",
		 dir) == 0);
	CHECK(sh("veritysetup verify %s/data %s/hash %s", dir, dir, root) == 0);
	CHECK(sh("veritysetup dump %s/hash | grep -q 'Data block size:.*1024'", dir) == 0);
	CHECK(sh("veritysetup dump %s/hash | grep -q 'UUID:.*5ec2371a-0b5d-4c2e-9a41-337f10226b01'",
		 dir) == 0);
	/* one byte of the data changed: refused */
	CHECK(sh("printf X | dd of=%s/data bs=1 seek=5000000 conv=notrunc status=none", dir) == 0);
	CHECK(sh("veritysetup verify %s/data %s/hash %s 2>/dev/null", dir, dir, root) != 0);
}

static void test_too_small(void)
{
	_cleanup_free_ char *img = xasprintf("%s/image2", dir), *root = NULL;
	_cleanup_close_ int fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 12 * MiB) == 0);
	CHECK(verity_make(fd, DATA_OFF, DATA_LEN, 1024, HASH_OFF, 65536, salt, uuid, dir, &root) <
	      0);
	CHECK(!root);
}

int main(void)
{
	log_set_level(LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	RUN_TEST(test_hash_size);
	RUN_TEST(test_make_verify);
	RUN_TEST(test_too_small);
	sh("rm -rf %s", dir);
	CHECK_EXIT();
}
