/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libext2fs adapter's messages: error codes print their text, not "Unknown code". What
 * is removed leaves nothing: a name's bytes, its place in the block, a freed block's data,
 * a freed inode. */
#include <fcntl.h>

#include "capture.h"
#include "check.h"
#include "ext2.h"

static void test_strerror(void)
{
	/* The first message printed must already be right: nothing was registered before. */
	CHECK_STREQ(ext2_strerror(EXT2_ET_SHORT_WRITE),
		    "Attempt to write block to filesystem resulted in short write");
	CHECK_STREQ(ext2_strerror(EXT2_ET_DIR_NO_SPACE), "No free space in the directory");
	CHECK_STREQ(ext2_strerror(ENOSPC), "No space left on device");
}

static void test_log_error(void)
{
	_cleanup_free_ char *out = NULL;
	int r;

	capture_begin();
	r = ext2_log_error(EXT2_ET_BLOCK_ALLOC_FAIL, "cannot write '%s'", "/big");
	out = capture_end();
	CHECK(r == -ENOSPC);
	CHECK_STREQ(out, "error: cannot write '/big': Could not allocate block in ext2 filesystem");
}

/* A fresh ext4 (with metadata checksums) in a temporary file; NULL on failure. */
static ext2_filsys make_fs(char *path)
{
	struct ext2_params p = { .type = EXT2_KIND_EXT4,
				 .size = 16 << 20,
				 .now = 1700000000,
				 .zeroed = true };
	ext2_filsys fs = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, p.size) < 0 || ext2_mkfs(path, &p, &fs) < 0)
		fs = NULL;
	if (fd >= 0)
		close(fd);
	return fs;
}

/* Directory dir's first block, from its third entry on (after "." and ".."). */
static void dir_block(ext2_filsys fs, ext2_ino_t dir, char *buf)
{
	struct ext2_inode in;
	blk64_t pblk = 0;

	CHECK(ext2fs_read_inode(fs, dir, &in) == 0);
	CHECK(ext2fs_bmap2(fs, dir, &in, NULL, 0, 0, NULL, &pblk) == 0 && pblk);
	CHECK(ext2fs_read_dir_block4(fs, pblk, buf, 0, dir) == 0);
}

static void test_dir_unlink(void)
{
	char path[] = "/tmp/test-ext2-XXXXXX";
	ext2_filsys fs = make_fs(path);
	_cleanup_free_ char *a = NULL, *b = NULL, *scratch = NULL;
	ext2_ino_t da, db;

	CHECK(fs);
	a = xmalloc(fs->blocksize);
	b = xmalloc(fs->blocksize);
	scratch = xmalloc(fs->blocksize);

	CHECK(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "a") == 0);
	CHECK(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "b") == 0);
	CHECK(ext2fs_lookup(fs, EXT2_ROOT_INO, "a", 1, NULL, &da) == 0);
	CHECK(ext2fs_lookup(fs, EXT2_ROOT_INO, "b", 1, NULL, &db) == 0);
	/* a: one, a temporary name with a PID, two, the temporary name removed (then the
	 * first entry after ".." and the last one); b: one, two from the start. */
	CHECK(ext2_dir_append(fs, da, "one", 20, EXT2_FT_REG_FILE, scratch, NULL) == 0);
	CHECK(ext2_dir_append(fs, da, "two.tmp.123456789", 21, EXT2_FT_REG_FILE, scratch, NULL) ==
	      0);
	CHECK(ext2_dir_append(fs, da, "two", 22, EXT2_FT_REG_FILE, scratch, NULL) == 0);
	CHECK(ext2_dir_append(fs, da, "three.987", 23, EXT2_FT_REG_FILE, scratch, NULL) == 0);
	CHECK(ext2_dir_unlink(fs, da, "two.tmp.123456789", 21) == 0);
	CHECK(ext2_dir_unlink(fs, da, "three.987", 0) == 0);
	CHECK(ext2_dir_unlink(fs, da, "three.987", 0) == EXT2_ET_FILE_NOT_FOUND);
	CHECK(ext2_dir_append(fs, db, "one", 20, EXT2_FT_REG_FILE, scratch, NULL) == 0);
	CHECK(ext2_dir_append(fs, db, "two", 22, EXT2_FT_REG_FILE, scratch, NULL) == 0);
	dir_block(fs, da, a);
	dir_block(fs, db, b);
	/* The checksum tail (ext4) differs: it covers the directory's inode number. */
	CHECK(memcmp(a + 24, b + 24, fs->blocksize - 24 - 12) == 0);
	CHECK(!memmem(a, fs->blocksize, "123456789", 9) && !memmem(a, fs->blocksize, "987", 3));
	/* Alone in a block: an unused entry, its name gone. */
	CHECK(ext2_dir_unlink(fs, db, "one", 0) == 0);
	CHECK(ext2_dir_unlink(fs, db, "two", 0) == 0);
	dir_block(fs, db, b);
	CHECK(!memmem(b, fs->blocksize, "one", 3) && !memmem(b, fs->blocksize, "two", 3));
	CHECK(ext2_close(&fs, "test") == 0);
	unlink(path);
}

static void test_scrub(void)
{
	char path[] = "/tmp/test-ext2-XXXXXX";
	ext2_filsys fs = make_fs(path);
	_cleanup_free_ char *buf = NULL, *zero = NULL;
	_cleanup_free_ struct ext2_inode_large *in = NULL;
	ext2_ino_t ino;
	blk64_t blk;

	CHECK(fs);
	buf = xmalloc(fs->blocksize);
	zero = xcalloc(1, fs->blocksize);
	in = xcalloc(1, EXT2_INODE_SIZE(fs->super));

	/* A freed block reads as zeros. (libext2fs 1.47.0 calls the range callback with the
	 * range's end and a count of 0: ranges are not tested here.) */
	CHECK(ext2fs_new_block2(fs, 0, NULL, &blk) == 0);
	ext2fs_block_alloc_stats2(fs, blk, +1);
	memset(buf, 'S', fs->blocksize);
	CHECK(io_channel_write_blk64(fs->io, blk, 1, buf) == 0);
	ext2fs_block_alloc_stats2(fs, blk, -1);
	CHECK(io_channel_read_blk64(fs->io, blk, 1, buf) == 0);
	CHECK(memcmp(buf, zero, fs->blocksize) == 0);
	/* A cleared inode: zeros but its dtime. */
	CHECK(ext2fs_new_inode(fs, EXT2_ROOT_INO, LINUX_S_IFREG | 0644, NULL, &ino) == 0);
	in->i_mode = LINUX_S_IFREG | 0644;
	in->i_links_count = 1;
	in->i_size = 1234;
	in->i_uid = 77;
	CHECK(ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)in,
				      (int)EXT2_INODE_SIZE(fs->super)) == 0);
	CHECK(ext2_inode_clear(fs, ino, 1700000000) == 0);
	CHECK(ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in,
				     (int)EXT2_INODE_SIZE(fs->super)) == 0);
	CHECK(in->i_dtime == 1700000000);
	in->i_dtime = 0;
	in->osd2.linux2.l_i_checksum_lo = 0; /* metadata_csum's */
	CHECK(memcmp(in, zero, 128) == 0);
	CHECK(ext2_close(&fs, "test") == 0);
	unlink(path);
}

int main(void)
{
	RUN_TEST(test_strerror);
	RUN_TEST(test_log_error);
	RUN_TEST(test_dir_unlink);
	RUN_TEST(test_scrub);
	CHECK_EXIT();
}
