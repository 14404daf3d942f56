/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ext2.h"

#include <et/com_err.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "log.h"

/* The image file the filesystems live in, to explain a failed write (ext2_set_image). */
static int image_fd = -1;
static char image_name[4096];

const char *ext2_kind_to_string(enum ext2_kind k)
{
	static const char *const names[] = { "ext2", "ext3", "ext4" };

	return k < _EXT2_KIND_MAX ? names[k] : "?";
}

int ext2_errno(errcode_t err)
{
	if (err > 0 && err < 4096)
		return -(int)err; /* libext2fs passes errno values through */
	switch (err) {
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_DIR_EXISTS:
	case EXT2_ET_FILE_EXISTS:
		return -EEXIST;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_TOOSMALL:
		return -ENOSPC;
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_NO_DIRECTORY:
		return -ENOTDIR;
	case EXT2_ET_SYMLINK_LOOP:
		return -ELOOP;
	default:
		return -EIO;
	}
}

static void register_table(void)
{
	initialize_ext2_error_table();
}

const char *ext2_strerror(errcode_t err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	/* com_err knows libext2fs's codes only once its table is added; without it every
	 * message reads "Unknown code ext2 N". */
	pthread_once(&once, register_table);
	return error_message(err);
}

void ext2_set_image(int fd, const char *name)
{
	image_fd = fd;
	snprintf(image_name, sizeof(image_name), "%s", name ? name : "");
}

/* Messages name the output, not the temporary file it is built in. */
static const char *shown_image(const char *image)
{
	struct stat a, b;

	if (image_fd >= 0 && stat(image, &a) == 0 && fstat(image_fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return image_name;
	return image;
}

/* When a write to the image failed because the disk holding it is full, says so: how much
 * is free there and how much more the image may need (its unallocated part, the image being
 * sparse). False when that is not the cause. */
static bool explain_full(errcode_t err, const char *what)
{
	char fr[32], nd[32];
	struct statvfs vfs;
	struct stat st;
	uint64_t avail, alloc, need;

	if (image_fd < 0 || (err != EXT2_ET_SHORT_WRITE && err != ENOSPC && err != EDQUOT))
		return false;
	if (fstatvfs(image_fd, &vfs) < 0 || fstat(image_fd, &st) < 0)
		return false;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	alloc = (uint64_t)st.st_blocks * 512;
	need = (uint64_t)st.st_size > alloc ? (uint64_t)st.st_size - alloc : 0;
	/* A short write with room to spare has another cause. */
	if (err == EXT2_ET_SHORT_WRITE && (need == 0 || avail >= need))
		return false;
	log_error("%s: no space left on the disk holding '%s' (%s free; the image may need up "
		  "to %s more): free space there, or write the image elsewhere", what,
		  image_name, format_bytes(fr, avail), format_bytes(nd, need));
	return true;
}

int ext2_log_error(errcode_t err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (explain_full(err, buf))
		return -ENOSPC;
	log_error("%s: %s", buf, ext2_strerror(err));
	return ext2_errno(err);
}

uint64_t ext2_min_size(enum ext2_kind type)
{
	/* ext3/ext4 need room for the smallest journal (1024 blocks) on top. */
	return type == EXT2_KIND_EXT2 ? 64 * 1024 : 2 * 1024 * 1024;
}

static void set_features(struct ext2_super_block *sb, enum ext2_kind type)
{
	/* The defaults of mke2fs.conf in e2fsprogs 1.47 for each type. */
	ext2fs_set_feature_sparse_super(sb);
	ext2fs_set_feature_large_file(sb);
	ext2fs_set_feature_filetype(sb);
	ext2fs_set_feature_resize_inode(sb);
	ext2fs_set_feature_dir_index(sb);
	ext2fs_set_feature_xattr(sb);
	if (type >= EXT2_KIND_EXT3)
		ext2fs_set_feature_journal(sb);
	if (type == EXT2_KIND_EXT4) {
		ext2fs_set_feature_extents(sb);
		ext2fs_set_feature_huge_file(sb);
		ext2fs_set_feature_flex_bg(sb);
		ext2fs_set_feature_metadata_csum(sb);
		ext2fs_set_feature_64bit(sb);
		ext2fs_set_feature_dir_nlink(sb);
		ext2fs_set_feature_extra_isize(sb);
		sb->s_log_groups_per_flex = 4;
		sb->s_min_extra_isize = sb->s_want_extra_isize =
			sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	}
}

static errcode_t create_lost_and_found(ext2_filsys fs)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	errcode_t err;

	err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
	if (err)
		return err;
	err = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
	if (err)
		return err;
	/* e2fsck wants lost+found pre-grown (16 KiB, at least two blocks) so it never has to
	 * allocate while repairing. */
	for (unsigned size = fs->blocksize; size < 16384 || size < 2 * fs->blocksize;
	     size += fs->blocksize) {
		err = ext2fs_expand_dir(fs, ino);
		if (err)
			return err;
	}
	err = ext2fs_read_inode(fs, ino, &inode);
	if (err)
		return err;
	inode.i_mode = LINUX_S_IFDIR | 0700;
	return ext2fs_write_inode(fs, ino, &inode);
}

int ext2_mkfs(const char *image, const struct ext2_params *p, ext2_filsys *ret_fs)
{
	struct ext2_super_block param = { 0 };
	ext2_filsys fs = NULL;
	unsigned bs = p->block_size, isize = p->inode_size, ratio = p->inode_ratio;
	uint64_t blocks, inodes;
	char opts[64];
	errcode_t err;

	ext2_strerror(0); /* registers the error table, for everyone that prints one */
	if (!bs)
		bs = p->size < 512ULL << 20 ? 1024 : 4096;
	if (!isize)
		isize = p->size < 3ULL << 20 ? 128 : 256;
	if (!ratio)
		ratio = p->size < 512ULL << 20 ? 4096 : 16384;
	blocks = p->size / bs;
	inodes = p->inodes ? p->inodes : p->size / ratio;
	if (inodes < 16)
		inodes = 16;
	if (inodes > UINT32_MAX)
		inodes = UINT32_MAX;

	param.s_log_block_size = (uint32_t)(__builtin_ctz(bs) - 10);
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_inode_size = (uint16_t)isize;
	param.s_inodes_count = (uint32_t)inodes;
	ext2fs_blocks_count_set(&param, blocks);
	ext2fs_r_blocks_count_set(&param, blocks * p->reserved_percent / 100);
	set_features(&param, p->type);

	err = ext2fs_initialize(p->manager ? p->io_name : image, EXT2_FLAG_64BITS, &param,
				p->manager ? p->manager : unix_io_manager, &fs);
	if (err)
		return ext2_log_error(err, "cannot create a filesystem in '%s'",
				      shown_image(image));
	/* ext2fs_initialize() takes no I/O options: place the filesystem before any write. */
	if (!p->manager) {
		snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)p->offset);
		err = io_channel_set_options(fs->io, opts);
		if (err)
			goto fail;
	}

	fs->now = p->now;
	fs->umask = 022;
	memcpy(fs->super->s_uuid, p->uuid, 16);
	memcpy(fs->super->s_hash_seed, p->hash_seed, 16);
	fs->super->s_def_hash_version = EXT2_HASH_HALF_MD4;
	fs->super->s_max_mnt_count = (uint16_t)-1;
	fs->super->s_checkinterval = 0;
	fs->super->s_mkfs_time = fs->super->s_wtime = fs->super->s_lastcheck = (uint32_t)p->now;
	fs->super->s_kbytes_written = 0;
	if (p->label)
		strncpy((char *)fs->super->s_volume_name, p->label,
			sizeof(fs->super->s_volume_name));
	if (ext2fs_has_feature_metadata_csum(fs->super))
		fs->super->s_checksum_type = EXT2_CRC32C_CHKSUM;
	ext2fs_init_csum_seed(fs);

	err = ext2fs_allocate_tables(fs);
	if (err)
		goto fail;
	err = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
	if (err)
		goto fail;

	/* The inode tables must read as zeros. A fresh sparse image already does (and libext2fs's
	 * zeroout would allocate them with FALLOC_FL_ZERO_RANGE); anything else, such as a
	 * shredded or encrypted region, gets them written. */
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		if (!p->zeroed) {
			err = ext2fs_zero_blocks2(fs, ext2fs_inode_table_loc(fs, g),
						  (int)fs->inode_blocks_per_group, NULL, NULL);
			if (err)
				goto fail;
		}
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}

	err = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL);
	if (err)
		goto fail;
	err = create_lost_and_found(fs);
	if (err)
		goto fail;
	for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(fs->super); i++)
		ext2fs_inode_alloc_stats2(fs, i, +1, 0);
	ext2fs_mark_ib_dirty(fs);
	ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	err = ext2fs_update_bb_inode(fs, NULL);
	if (err)
		goto fail;
	if (ext2fs_has_feature_resize_inode(fs->super)) {
		err = ext2fs_create_resize_inode(fs);
		if (err)
			goto fail;
	}
	if (ext2fs_has_feature_journal(fs->super)) {
		struct ext2fs_journal_params jp;

		err = ext2fs_get_journal_params(&jp, fs);
		if (err)
			goto fail;
		/* The flag is cleared first: ext2fs_add_journal_inode3() sets it again. */
		ext2fs_clear_feature_journal(fs->super);
		err = ext2fs_add_journal_inode3(fs, &jp, ~0ULL, 0);
		if (err)
			goto fail;
	}
	ext2fs_mark_super_dirty(fs);
	ext2_scrub_frees(fs);
	*ret_fs = fs;
	return 0;
fail:
	ext2fs_free(fs);
	return ext2_log_error(err, "cannot create %s filesystem at offset %llu of '%s'",
			      ext2_kind_to_string(p->type), (unsigned long long)p->offset,
			      shown_image(image));
}

/* Freed blocks are zeroed as they are freed: what a deleted file held (a temporary file, a
 * key a script generated and removed) must not stay in the image, and two builds must not
 * differ by what their free blocks held. Written through the I/O channel, whose cache may
 * hold the block. */
static void zero_blocks(ext2_filsys fs, blk64_t blk, blk64_t num)
{
	static const char zeros[64 << 10];
	blk64_t per = sizeof(zeros) / fs->blocksize;

	while (num) {
		blk64_t n = num < per ? num : per;

		/* Errors show when the filesystem is flushed; nothing to undo here. */
		(void)io_channel_write_blk64(fs->io, blk, (int)n, zeros);
		blk += n;
		num -= n;
	}
}

static void scrub_block(ext2_filsys fs, blk64_t blk, int inuse)
{
	if (inuse < 0)
		zero_blocks(fs, blk, 1);
}

/* libext2fs 1.47.0 calls this with the range's end and a count of 0 (fixed in 1.47.1): then
 * nothing is zeroed. Its own frees (ext2fs_punch) go block by block through scrub_block(),
 * and the ranges we free ourselves were never written. */
static void scrub_range(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	if (inuse < 0)
		zero_blocks(fs, blk, num);
}

void ext2_scrub_frees(ext2_filsys fs)
{
	ext2fs_set_block_alloc_stats_callback(fs, scrub_block, NULL);
	ext2fs_set_block_alloc_stats_range_callback(fs, scrub_range, NULL);
}

errcode_t ext2_inode_clear(ext2_filsys fs, ext2_ino_t ino, time_t dtime)
{
	size_t size = EXT2_INODE_SIZE(fs->super) > sizeof(struct ext2_inode_large) ?
			      EXT2_INODE_SIZE(fs->super) :
			      sizeof(struct ext2_inode_large);
	_cleanup_free_ struct ext2_inode_large *in = xcalloc(1, size);

	in->i_dtime = dtime > 0 && dtime <= UINT32_MAX ? (uint32_t)dtime : 1;
	return ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)in,
				       (int)EXT2_INODE_SIZE(fs->super));
}

int ext2_close(ext2_filsys *fs, const char *what)
{
	errcode_t err;

	if (!*fs)
		return 0;
	err = ext2fs_close_free(fs);
	if (err)
		return ext2_log_error(err, "cannot write filesystem '%s'", what);
	return 0;
}

void ext2_abandon(ext2_filsys *fs)
{
	if (*fs)
		ext2fs_free(*fs);
	*fs = NULL;
}

int ext2_mode_ftype(unsigned mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR:
		return EXT2_FT_DIR;
	case LINUX_S_IFLNK:
		return EXT2_FT_SYMLINK;
	case LINUX_S_IFCHR:
		return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK:
		return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO:
		return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK:
		return EXT2_FT_SOCK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* ext2fs_link looks for room from the directory's first block on, which makes filling a
 * directory quadratic (libext2fs 1.47.1 has EXT2FS_LINK_APPEND for this; Debian 12 has
 * 1.47.0). Only the last block is tried here; directories of another kind (hashed, inline,
 * casefolded, encrypted) and anything unexpected are left to ext2fs_link. */
errcode_t ext2_dir_append(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			  int ftype, char *buf, blk64_t *ret_lblk)
{
	unsigned bs = fs->blocksize, len = (unsigned)strlen(name), need = EXT2_DIR_REC_LEN(len);
	unsigned limit, off, rec_len;
	struct ext2_inode in;
	blk64_t pblk = 0;
	uint64_t size;
	errcode_t err;

	if (ret_lblk)
		*ret_lblk = EXT2_DIR_BLOCK_UNKNOWN;
	err = ext2fs_read_inode(fs, dir, &in);
	if (err)
		return err;
	size = EXT2_I_SIZE(&in);
	if ((in.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL | EXT4_CASEFOLD_FL |
			   EXT4_ENCRYPT_FL)) ||
	    size < bs || size % bs)
		return ext2fs_link(fs, dir, name, ino, ftype);
	err = ext2fs_bmap2(fs, dir, &in, NULL, 0, size / bs - 1, NULL, &pblk);
	if (err || !pblk)
		return ext2fs_link(fs, dir, name, ino, ftype);
	err = ext2fs_read_dir_block4(fs, pblk, buf, 0, dir);
	if (err)
		return err;
	limit = bs;
	if (ext2fs_dirent_has_tail(fs, (struct ext2_dir_entry *)buf))
		limit -= sizeof(struct ext2_dir_entry_tail);
	for (off = 0; off < limit; off += rec_len) {
		struct ext2_dir_entry *d = (struct ext2_dir_entry *)(buf + off), *nd = d;
		unsigned used;

		err = ext2fs_get_rec_len(fs, d, &rec_len);
		if (err || rec_len < 8 || rec_len > limit - off)
			return ext2fs_link(fs, dir, name, ino, ftype); /* let it judge */
		used = d->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d)) : 0;
		if (rec_len < used || rec_len - used < need)
			continue;
		if (d->inode) {
			nd = (struct ext2_dir_entry *)(buf + off + used);
			err = ext2fs_set_rec_len(fs, used, d);
			if (!err)
				err = ext2fs_set_rec_len(fs, rec_len - used, nd);
			if (err)
				return err;
		}
		nd->inode = ino;
		ext2fs_dirent_set_name_len(nd, (int)len);
		ext2fs_dirent_set_file_type(nd, ext2fs_has_feature_filetype(fs->super) ? ftype : 0);
		memcpy(nd->name, name, len);
		err = ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
		if (!err && ret_lblk)
			*ret_lblk = size / bs - 1;
		return err;
	}
	return EXT2_ET_DIR_NO_SPACE;
}

/* Takes the entry at `off` (rec_len bytes) out of its block of directory entries (limit
 * bytes of them, before any checksum tail), leaving no byte of its name. The entries after it
 * move up and the last one takes the room, zeroed: a block's free room is always at its end.
 * So a block holds the same bytes whatever names came and went in it (dpkg's and depmod's
 * temporary files carry a PID), and where a new name goes does not depend on them either.
 * Alone in its block, it becomes an unused entry with nothing after its header. */
static errcode_t dirent_erase(ext2_filsys fs, char *buf, unsigned limit, unsigned off,
			      unsigned rec_len)
{
	unsigned end = off + rec_len, o = 0, len = 0;
	struct ext2_dir_entry *d = (struct ext2_dir_entry *)(buf + off);
	errcode_t err;

	if (end >= limit && off == 0) {
		d->inode = 0;
		d->name_len = 0; /* the name's length and the file type */
		memset(d->name, 0, rec_len - 8);
		return 0;
	}
	if (end < limit) {
		memmove(buf + off, buf + end, limit - end);
		o = off;
	}
	memset(buf + limit - rec_len, 0, rec_len);
	/* The entry now last in the block: the one ending where the zeroed room starts. */
	for (;; o += len) {
		err = ext2fs_get_rec_len(fs, (struct ext2_dir_entry *)(buf + o), &len);
		if (err)
			return err;
		if (len < 8 || o + len > limit - rec_len)
			return EXT2_ET_DIR_CORRUPTED;
		if (o + len == limit - rec_len)
			break;
	}
	return ext2fs_set_rec_len(fs, len + rec_len, (struct ext2_dir_entry *)(buf + o));
}

/* The bytes of a directory block that hold entries: all but a checksum tail. */
static unsigned dirent_limit(ext2_filsys fs, char *buf, unsigned blocksize)
{
	if (ext2fs_dirent_has_tail(fs, (struct ext2_dir_entry *)buf))
		return blocksize - sizeof(struct ext2_dir_entry_tail);
	return blocksize;
}

struct dir_unlink_ctx {
	ext2_filsys fs;
	const char *name;
	unsigned len;
	ext2_ino_t ino;
	errcode_t err;
	bool done;
};

static int dir_unlink_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
			    int blocksize, char *buf, void *priv)
{
	struct dir_unlink_ctx *c = priv;
	unsigned rec_len;

	if (!d->inode || (unsigned)ext2fs_dirent_name_len(d) != c->len ||
	    memcmp(d->name, c->name, c->len) != 0 || (c->ino && d->inode != c->ino))
		return 0;
	c->err = ext2fs_get_rec_len(c->fs, d, &rec_len);
	if (!c->err)
		c->err = dirent_erase(c->fs, buf, dirent_limit(c->fs, buf, (unsigned)blocksize),
				      (unsigned)offset, rec_len);
	if (c->err)
		return DIRENT_ABORT;
	c->done = true;
	return DIRENT_ABORT | DIRENT_CHANGED;
}

errcode_t ext2_dir_unlink(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct dir_unlink_ctx c = { fs, name, (unsigned)strlen(name), ino, 0, false };
	errcode_t err;

	err = ext2fs_dir_iterate2(fs, dir, 0, NULL, dir_unlink_entry, &c);
	if (err)
		return err;
	if (c.err)
		return c.err;
	return c.done ? 0 : EXT2_ET_FILE_NOT_FOUND;
}

/* ext2_dir_unlink() in the one block that holds the name, instead of reading the directory
 * from its start. */
errcode_t ext2_dir_remove(ext2_filsys fs, ext2_ino_t dir, blk64_t lblk, const char *name,
			  char *buf)
{
	unsigned bs = fs->blocksize, len = (unsigned)strlen(name), limit, off, rec_len;
	struct ext2_inode in;
	blk64_t pblk = 0;
	errcode_t err;

	err = ext2fs_read_inode(fs, dir, &in);
	if (err)
		return err;
	if ((in.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) || lblk >= EXT2_I_SIZE(&in) / bs)
		return EXT2_ET_FILE_NOT_FOUND;
	err = ext2fs_bmap2(fs, dir, &in, NULL, 0, lblk, NULL, &pblk);
	if (err)
		return err;
	if (!pblk)
		return EXT2_ET_FILE_NOT_FOUND;
	err = ext2fs_read_dir_block4(fs, pblk, buf, 0, dir);
	if (err)
		return err;
	limit = dirent_limit(fs, buf, bs);
	for (off = 0; off < limit; off += rec_len) {
		struct ext2_dir_entry *d = (struct ext2_dir_entry *)(buf + off);

		err = ext2fs_get_rec_len(fs, d, &rec_len);
		if (err || rec_len < 8 || rec_len > limit - off)
			return EXT2_ET_FILE_NOT_FOUND;
		if (!d->inode || (unsigned)ext2fs_dirent_name_len(d) != len ||
		    memcmp(d->name, name, len) != 0)
			continue;
		err = dirent_erase(fs, buf, limit, off, rec_len);
		if (err)
			return err;
		return ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
	}
	return EXT2_ET_FILE_NOT_FOUND;
}
