/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/imgmap on images made by outside tools (sfdisk, mke2fs -d, debugfs): the partition
 * tables it reads, the files it lists and hashes (sha256sum), and what it says holds a byte
 * (debugfs's block numbers). */
#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "imgmap.h"

/* An image of 16 MiB with a table made by sfdisk from `script` and an ext4 made by mke2fs
 * from the directory tree/ in partition 1 (at 1 MiB, 8 MiB). */
static int make_image(const char *img, const char *script)
{
	return run(
		"cd %s && rm -rf tree && mkdir -p tree/etc tree/empty && "
		"printf 'hello\\n' >tree/etc/motd && head -c 100000 /dev/urandom >tree/big && "
		"ln -s etc/motd tree/link && ln tree/etc/motd tree/hard && chmod 0600 tree/big && "
		"truncate -s 16M %s && printf '%s' | sfdisk -q %s && "
		"mke2fs -q -F -t ext4 -E offset=1048576 -d tree %s 8M",
		tmpdir, img, script, img, img);
}

static void test_msdos(void)
{
	_cleanup_free_ char *img = tmp_path("msdos.img"), *bmap = NULL, *sum = NULL;
	_cleanup_imgmap_ struct imgmap *m = NULL;
	const struct imgmap_file *f, *h;
	_cleanup_free_ char *what = NULL, *want = NULL;
	char hex[65];

	CHECK(make_image(img, "label: dos\\nlabel-id: 0x12345678\\n"
			      "start=2048, size=16384, type=83, bootable\\n"
			      "start=18432, type=5\\nstart=20480, size=2048, type=83\\n") == 0);
	CHECK(imgmap_open(img, &m) == 0);
	CHECK(m->table == IMGMAP_TABLE_MSDOS);
	CHECK_STREQ(m->disk_id, "0x12345678");
	CHECK(m->n_parts == 3);
	CHECK(m->parts[0].number == 1 && m->parts[0].offset == 1 << 20 &&
	      m->parts[0].size == 8 << 20 && m->parts[0].bootable);
	CHECK_STREQ(m->parts[0].type, "0x83");
	CHECK(m->parts[1].number == 2 && !m->parts[1].fs);
	CHECK(m->parts[2].number == 5 && m->parts[2].offset == 20480 * 512ULL);
	CHECK(m->parts[0].fs);
	f = imgmap_fs_find(m->parts[0].fs, "/etc/motd");
	h = imgmap_fs_find(m->parts[0].fs, "/hard");
	CHECK(f && h && f->ino == h->ino && f->nlink == 2 && f->size == 6);
	CHECK(f->first != h->first);
	f = imgmap_fs_find(m->parts[0].fs, "/big");
	CHECK(f && (f->mode & 07777) == 0600 && f->size == 100000);
	sum = output("sha256sum < %s/tree/big | cut -c1-64", tmpdir);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", f->sha256[i]);
	CHECK(sum && strncmp(sum, hex, 64) == 0);
	CHECK(imgmap_fs_find(m->parts[0].fs, "/link") &&
	      streq_ptr(imgmap_fs_find(m->parts[0].fs, "/link")->target, "etc/motd"));
	CHECK(imgmap_fs_find(m->parts[0].fs, "/empty") && !imgmap_fs_find(m->parts[0].fs, "/no"));
	/* The block debugfs says holds /big's 3rd block is /big's. */
	bmap = output("debugfs -R 'bmap /big 2' %s/msdos.img?offset=1048576 2>/dev/null", tmpdir);
	CHECK(bmap && atoll(bmap) > 0);
	what = imgmap_describe(m, (1 << 20) + atoll(bmap) * 1024ULL + 10);
	want = xasprintf("partition 1, block %lld of /big", atoll(bmap));
	CHECK_STREQ(what, want);
	free(what);
	what = imgmap_describe(m, 100);
	CHECK_STREQ(what, "the MBR (boot code and partition table)");
	free(what);
	what = imgmap_describe(m, 100 * 512);
	CHECK_STREQ(what, "outside every partition");
	free(what);
	what = imgmap_describe(m, (9 << 20) + 4096);
	CHECK_STREQ(what, "partition 2 (not ext2/3/4) at byte 4096");
}

static void test_gpt(void)
{
	_cleanup_free_ char *img = tmp_path("gpt.img");
	_cleanup_imgmap_ struct imgmap *m = NULL;
	_cleanup_free_ char *what = NULL;

	CHECK(make_image(img, "label: gpt\\nlabel-id: 01234567-89AB-CDEF-0123-456789ABCDEF\\n"
			      "start=2048, size=16384, name=root, "
			      "uuid=11111111-2222-3333-4444-555555555555\\n") == 0);
	CHECK(imgmap_open(img, &m) == 0);
	CHECK(m->table == IMGMAP_TABLE_GPT);
	CHECK_STREQ(m->disk_id, "01234567-89AB-CDEF-0123-456789ABCDEF");
	CHECK(m->n_parts == 1 && m->parts[0].fs);
	CHECK_STREQ(m->parts[0].uuid, "11111111-2222-3333-4444-555555555555");
	CHECK_STREQ(m->parts[0].name, "root");
	CHECK_STREQ(m->parts[0].type, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	what = imgmap_describe(m, 1024);
	CHECK_STREQ(what, "the GPT header and entries");
	free(what);
	/* The superblock, then free space at the end of the filesystem. */
	what = imgmap_describe(m, (1 << 20) + 1024);
	CHECK_STREQ(what, "partition 1, block 1, superblock or group descriptors");
	free(what);
	what = imgmap_describe(m, (9 << 20) - 10);
	CHECK_STREQ(what, "partition 1, block 8191, free space");
}

static void test_refused(void)
{
	_cleanup_free_ char *img = tmp_path("bad.img"), *out = NULL, *want = NULL;
	struct imgmap *m = NULL;

	/* An msdos partition past the end of the image: type 0x83 at sector 2048, 4096 long,
	 * in an image of 1 MiB. */
	CHECK(run("truncate -s 1M %s && printf '\\203\\000\\000\\000\\000\\010\\000\\000"
		  "\\000\\020\\000\\000' | dd of=%s bs=1 seek=450 conv=notrunc status=none && "
		  "printf '\\125\\252' | dd of=%s bs=1 seek=510 conv=notrunc status=none",
		  img, img, img) == 0);
	capture_begin();
	CHECK(imgmap_open(img, &m) < 0 && !m);
	out = capture_end();
	want = xasprintf("error: '%s': msdos partition 1 is out of the image", img);
	CHECK_STREQ(out, want);
	free(out);
	capture_begin();
	CHECK(imgmap_open(tmpdir, &m) < 0 && !m);
	out = capture_end();
	free(want);
	want = xasprintf("error: '%s' is not an image file", tmpdir);
	CHECK_STREQ(out, want);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-imgmap-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN_TEST(test_msdos);
	RUN_TEST(test_gpt);
	RUN_TEST(test_refused);
	run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
