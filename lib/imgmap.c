/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The map of a disk image (imgmap.h): its partition table read by hand (nothing is trusted:
 * every entry is checked against the image's size), its ext2/3/4 filesystems through
 * libext2fs. */
#include "imgmap.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "ext2.h"
#include "log.h"

#define SECTOR 512
#define MAX_LOGICAL 128 /* logical partitions followed in an extended partition's chain */
#define MAX_GPT_ENTRIES 1024
#define MAX_DEPTH 4096

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A GUID as blkid and sfdisk show it (the first three fields little-endian on disk). */
static void guid_string(const uint8_t *g, char out[static 40])
{
	snprintf(out, 40, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

static struct imgmap_part *add_part(struct imgmap *m)
{
	m->parts = xrealloc(m->parts, (m->n_parts + 1) * sizeof(*m->parts));
	memset(&m->parts[m->n_parts], 0, sizeof(*m->parts));
	return &m->parts[m->n_parts++];
}

static bool fits(const struct imgmap *m, uint64_t off, uint64_t size)
{
	return size && off <= m->size && size <= m->size - off;
}

static int read_gpt(struct imgmap *m, int fd, const char *image)
{
	uint8_t h[SECTOR], *e = NULL;
	uint64_t lba;
	uint32_t n, esize;
	int r;

	if ((r = pread_all(fd, h, SECTOR, SECTOR)) < 0)
		return log_errno(r, "cannot read '%s'", image);
	if (memcmp(h, "EFI PART", 8) != 0)
		return log_fail("'%s': a protective MBR without a GPT header", image);
	m->table = IMGMAP_TABLE_GPT;
	guid_string(h + 56, m->disk_id);
	lba = le64(h + 72);
	n = le32(h + 80);
	esize = le32(h + 84);
	if (n > MAX_GPT_ENTRIES || esize < 128 || esize > 4096 || lba > m->size / SECTOR ||
	    !fits(m, lba * SECTOR, (uint64_t)n * esize))
		return log_fail("'%s': the GPT header's entries are out of the image", image);
	e = xmalloc((size_t)n * esize);
	if ((r = pread_all(fd, e, (size_t)n * esize, lba * SECTOR)) < 0) {
		free(e);
		return log_errno(r, "cannot read '%s'", image);
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = e + (size_t)i * esize;
		uint64_t first = le64(p + 32), last = le64(p + 40);
		struct imgmap_part *pt;
		static const uint8_t zero[16];

		if (!memcmp(p, zero, 16))
			continue;
		if (last < first || !fits(m, first * SECTOR, (last - first + 1) * SECTOR)) {
			free(e);
			return log_fail("'%s': GPT entry %u is out of the image", image, i + 1);
		}
		pt = add_part(m);
		pt->number = i + 1;
		pt->offset = first * SECTOR;
		pt->size = (last - first + 1) * SECTOR;
		guid_string(p, pt->type);
		guid_string(p + 16, pt->uuid);
		pt->bootable = le64(p + 48) & 4;
		for (size_t k = 0; k < 36 && p[56 + 2 * k]; k++)
			pt->name[k] = p[57 + 2 * k] || p[56 + 2 * k] >= 0x7f ? '?' :
									       (char)p[56 + 2 * k];
	}
	free(e);
	return 0;
}

static bool is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static int read_msdos(struct imgmap *m, int fd, const char *image, const uint8_t *mbr)
{
	unsigned logical = 5;
	int r;

	m->table = IMGMAP_TABLE_MSDOS;
	snprintf(m->disk_id, sizeof(m->disk_id), "0x%08x", le32(mbr + 440));
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *p = mbr + 446 + 16 * i;
		uint64_t start = le32(p + 8), count = le32(p + 12);
		struct imgmap_part *pt;

		if (!p[4] || !count)
			continue;
		if (!fits(m, start * SECTOR, count * SECTOR))
			return log_fail("'%s': msdos partition %u is out of the image", image,
					i + 1);
		pt = add_part(m);
		pt->number = i + 1;
		pt->offset = start * SECTOR;
		pt->size = count * SECTOR;
		snprintf(pt->type, sizeof(pt->type), "0x%02x", p[4]);
		pt->bootable = p[0] == 0x80;
		if (!is_extended(p[4]))
			continue;
		/* The chain of extended boot records: each one's first entry is a logical
		 * partition (relative to it), its second the next record (relative to the
		 * extended partition). */
		for (uint64_t ebr = start, k = 0; k < MAX_LOGICAL; k++) {
			uint8_t b[SECTOR];
			const uint8_t *l = b + 446, *next = b + 462;
			struct imgmap_part *lp;

			if ((r = pread_all(fd, b, SECTOR, ebr * SECTOR)) < 0)
				return log_errno(r, "cannot read '%s'", image);
			if (b[510] != 0x55 || b[511] != 0xaa)
				break;
			if (l[4] && le32(l + 12)) {
				uint64_t ls = ebr + le32(l + 8), lc = le32(l + 12);

				if (!fits(m, ls * SECTOR, lc * SECTOR))
					return log_fail("'%s': logical partition %u is out of the "
							"image",
							image, logical);
				lp = add_part(m);
				lp->number = logical++;
				lp->offset = ls * SECTOR;
				lp->size = lc * SECTOR;
				snprintf(lp->type, sizeof(lp->type), "0x%02x", l[4]);
				lp->bootable = l[0] == 0x80;
			}
			if (!next[4] || !le32(next + 8))
				break;
			ebr = start + le32(next + 8);
			if (ebr * SECTOR >= m->size)
				break;
		}
	}
	return 0;
}

/* ---- filesystems ---- */

struct walk {
	struct imgmap_fs *f;
	struct imgmap_file *files;
	size_t n, cap;
	errcode_t err;
};

struct child {
	char *name;
	ext2_ino_t ino;
};

static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize,
		   char *buf, void *priv)
{
	struct child **v = ((void **)priv)[0];
	size_t *n = ((void **)priv)[1];
	unsigned len = (unsigned)ext2fs_dirent_name_len(d);

	if (!d->inode || (len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrndup(d->name, len);
	(*v)[(*n)++].ino = d->inode;
	return 0;
}

static int cmp_child(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->name, ((const struct child *)b)->name);
}

static void hash_file(ext2_filsys fs, ext2_ino_t ino, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ char *buf = xmalloc(1 << 16);
	ext2_file_t file;
	unsigned got;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if (ext2fs_file_open(fs, ino, 0, &file) == 0) {
		while (ext2fs_file_read(file, buf, 1 << 16, &got) == 0 && got)
			EVP_DigestUpdate(ctx, buf, got);
		ext2fs_file_close(file);
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

static char *read_link(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *in)
{
	uint64_t size = EXT2_I_SIZE(in);
	ext2_file_t file;
	unsigned got = 0;
	char *t;

	if (size >= fs->blocksize)
		return xstrdup("?");
	if (ext2fs_is_fast_symlink(in))
		return xstrndup((const char *)in->i_block, size);
	t = xcalloc(1, size + 1);
	if (ext2fs_file_open(fs, ino, 0, &file) == 0) {
		(void)ext2fs_file_read(file, t, (unsigned)size, &got);
		ext2fs_file_close(file);
	}
	t[got] = 0;
	return t;
}

static void add_file(struct walk *w, const char *path, ext2_ino_t ino)
{
	ext2_filsys fs = w->f->fs;
	struct ext2_inode in;
	struct imgmap_file *e;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->files = xrealloc(w->files, w->cap * sizeof(*w->files));
	}
	e = &w->files[w->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->ino = ino;
	if (ext2fs_read_inode(fs, ino, &in) != 0)
		return;
	e->mode = in.i_mode;
	e->uid = inode_uid(in);
	e->gid = inode_gid(in);
	e->size = EXT2_I_SIZE(&in);
	e->nlink = in.i_links_count;
	if (ino < fs->super->s_inodes_count + 1 && !w->f->ino_path[ino]) {
		e->first = true;
		w->f->ino_path[ino] = e->path;
	}
	if (LINUX_S_ISREG(in.i_mode))
		hash_file(fs, ino, e->sha256);
	else if (LINUX_S_ISLNK(in.i_mode))
		e->target = read_link(fs, ino, &in);
	else if (LINUX_S_ISCHR(in.i_mode) || LINUX_S_ISBLK(in.i_mode))
		e->rdev = in.i_block[0] ? in.i_block[0] : in.i_block[1];
}

static errcode_t walk_dir(struct walk *w, ext2_ino_t dir, const char *path, unsigned depth)
{
	struct child *v = NULL;
	size_t n = 0;
	void *priv[2] = { &v, &n };
	errcode_t err;

	if (depth > MAX_DEPTH)
		return EXT2_ET_DIR_CORRUPTED;
	err = ext2fs_dir_iterate2(w->f->fs, dir, 0, NULL, collect, priv);
	if (!err)
		qsort(v, n, sizeof(*v), cmp_child);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p =
			xasprintf("%s/%s", streq(path, "/") ? "" : path, v[i].name);
		struct ext2_inode in;
		bool first;

		if (err || v[i].ino > w->f->fs->super->s_inodes_count) {
			free(v[i].name);
			continue;
		}
		first = !w->f->ino_path[v[i].ino];
		add_file(w, p, v[i].ino);
		if (first && ext2fs_read_inode(w->f->fs, v[i].ino, &in) == 0 &&
		    LINUX_S_ISDIR(in.i_mode))
			err = walk_dir(w, v[i].ino, w->f->ino_path[v[i].ino], depth + 1);
		free(v[i].name);
	}
	free(v);
	return err;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct imgmap_file *)a)->path, ((const struct imgmap_file *)b)->path);
}

struct own {
	uint32_t *owner;
	blk64_t n;
	ext2_ino_t ino;
};

static int own_block(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt, blk64_t ref, int ref_off,
		     void *priv)
{
	struct own *o = priv;

	if (*blk < o->n)
		o->owner[*blk] = o->ino;
	return 0;
}

static void mark(struct imgmap_fs *f, blk64_t first, blk64_t n, uint32_t what)
{
	blk64_t total = ext2fs_blocks_count(f->fs->super);

	for (blk64_t b = first; b < first + n && b < total; b++)
		f->owner[b] = what;
}

static void fs_free(struct imgmap_fs *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_files; i++) {
		free(f->files[i].path);
		free(f->files[i].target);
	}
	free(f->files);
	free(f->ino_path);
	free(f->owner);
	if (f->fs)
		ext2fs_close_free(&f->fs);
	free(f);
}

/* The filesystem at p, if it is ext2/3/4 (the magic number says). */
static int fs_open(const char *image, int fd, struct imgmap_part *p)
{
	uint8_t sb[2];
	char opts[64];
	struct imgmap_fs *f;
	ext2_filsys fs = NULL;
	struct walk w = { 0 };
	struct own o = { 0 };
	blk64_t total;
	errcode_t err;

	if (p->size < 2048 || pread_all(fd, sb, 2, p->offset + 1024 + 56) < 0 || sb[0] != 0x53 ||
	    sb[1] != 0xef)
		return 0;
	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)p->offset);
	err = ext2fs_open2(image, opts, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (err)
		return ext2_log_error(err, "'%s': partition %u: cannot open its filesystem", image,
				      p->number);
	f = xcalloc(1, sizeof(*f));
	f->fs = fs;
	f->offset = p->offset;
	f->blocksize = fs->blocksize;
	total = ext2fs_blocks_count(fs->super);
	if ((uint64_t)total * fs->blocksize > p->size + fs->blocksize ||
	    (err = ext2fs_read_bitmaps(fs))) {
		fs_free(f);
		if (!err)
			return log_fail("'%s': partition %u: its filesystem is larger than the "
					"partition",
					image, p->number);
		return ext2_log_error(err, "'%s': partition %u: cannot read the bitmaps", image,
				      p->number);
	}
	f->owner = xcalloc(total, sizeof(*f->owner));
	f->ino_path = xcalloc((size_t)fs->super->s_inodes_count + 1, sizeof(*f->ino_path));

	/* Metadata first: a reserved GDT block then goes to the resize inode that maps it. */
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0;
		blk_t used = 0;

		ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
		if (super || g == 0)
			mark(f, super, 1, IMGMAP_OWNER_SUPER);
		if (old_desc)
			mark(f, old_desc, fs->desc_blocks + fs->super->s_reserved_gdt_blocks,
			     IMGMAP_OWNER_SUPER);
		if (new_desc)
			mark(f, new_desc, 1, IMGMAP_OWNER_SUPER);
		mark(f, ext2fs_block_bitmap_loc(fs, g), 1, IMGMAP_OWNER_BBITMAP);
		mark(f, ext2fs_inode_bitmap_loc(fs, g), 1, IMGMAP_OWNER_IBITMAP);
		mark(f, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group,
		     IMGMAP_OWNER_ITABLE);
	}
	o.owner = f->owner;
	o.n = total;
	for (ext2_ino_t ino = 1; ino <= fs->super->s_inodes_count; ino++) {
		struct ext2_inode in;

		if (!ext2fs_test_inode_bitmap2(fs->inode_map, ino) ||
		    ext2fs_read_inode(fs, ino, &in) != 0)
			continue;
		o.ino = ino;
		if (ext2fs_file_acl_block(fs, &in) < total && ext2fs_file_acl_block(fs, &in))
			f->owner[ext2fs_file_acl_block(fs, &in)] = ino;
		if (ext2fs_inode_has_valid_blocks2(fs, &in) && !(in.i_flags & EXT4_INLINE_DATA_FL))
			(void)ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, own_block,
						    &o);
	}

	/* The reserved inodes that own blocks, by what they are. */
	f->ino_path[EXT2_BAD_INO] = "<bad blocks inode>";
	f->ino_path[EXT2_BOOT_LOADER_INO] = "<boot loader inode>";
	f->ino_path[EXT2_RESIZE_INO] = "<resize inode>";
	f->ino_path[EXT2_JOURNAL_INO] = "<journal>";
	w.f = f;
	add_file(&w, "/", EXT2_ROOT_INO);
	err = walk_dir(&w, EXT2_ROOT_INO, "/", 0);
	f->files = w.files;
	f->n_files = w.n;
	if (err) {
		fs_free(f);
		return ext2_log_error(err, "'%s': partition %u: cannot read its directories", image,
				      p->number);
	}
	/* ino_path points into files[]: sorting moves the structs, not the strings. */
	qsort(f->files, f->n_files, sizeof(*f->files), cmp_file);
	p->fs = f;
	return 0;
}

int imgmap_open(const char *image, struct imgmap **ret)
{
	_cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
	struct imgmap *m;
	uint8_t mbr[SECTOR];
	struct stat st;
	int r;

	if (fd < 0)
		return log_errno(errno, "cannot open '%s'", image);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return log_fail("'%s' is not an image file", image);
	m = xcalloc(1, sizeof(*m));
	m->size = (uint64_t)st.st_size;
	if (m->size >= SECTOR && (r = pread_all(fd, mbr, SECTOR, 0)) < 0) {
		imgmap_free(m);
		return log_errno(r, "cannot read '%s'", image);
	}
	r = 0;
	if (m->size >= SECTOR && mbr[510] == 0x55 && mbr[511] == 0xaa) {
		bool gpt = false;

		for (unsigned i = 0; i < 4; i++)
			gpt |= mbr[446 + 16 * i + 4] == 0xee;
		r = gpt ? read_gpt(m, fd, image) : read_msdos(m, fd, image, mbr);
	}
	for (size_t i = 0; i < m->n_parts && r >= 0; i++)
		if (!is_extended((uint8_t)strtoul(m->parts[i].type, NULL, 16)) ||
		    m->table != IMGMAP_TABLE_MSDOS)
			r = fs_open(image, fd, &m->parts[i]);
	if (r < 0) {
		imgmap_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

struct imgmap *imgmap_free(struct imgmap *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_parts; i++)
		fs_free(m->parts[i].fs);
	free(m->parts);
	free(m);
	return NULL;
}

const struct imgmap_part *imgmap_part_at(const struct imgmap *m, uint64_t off)
{
	const struct imgmap_part *best = NULL;

	/* The innermost: a logical partition rather than its extended one. */
	for (size_t i = 0; i < m->n_parts; i++) {
		const struct imgmap_part *p = &m->parts[i];

		if (off >= p->offset && off - p->offset < p->size &&
		    (!best || p->size < best->size))
			best = p;
	}
	return best;
}

const struct imgmap_file *imgmap_fs_find(const struct imgmap_fs *f, const char *path)
{
	struct imgmap_file key = { .path = (char *)path };

	return bsearch(&key, f->files, f->n_files, sizeof(key), cmp_file);
}

uint32_t imgmap_fs_owner(const struct imgmap_fs *f, uint64_t off, ext2_ino_t *ret_ino)
{
	ext2_filsys fs = f->fs;
	blk64_t blk = off / f->blocksize;
	uint32_t o = blk < ext2fs_blocks_count(fs->super) ? f->owner[blk] : 0;

	*ret_ino = o < IMGMAP_OWNER_SUPER ? o : 0;
	if (o != IMGMAP_OWNER_ITABLE)
		return o;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		blk64_t t = ext2fs_inode_table_loc(fs, g);
		uint64_t k;

		if (blk < t || blk >= t + fs->inode_blocks_per_group)
			continue;
		k = ((blk - t) * fs->blocksize + off % fs->blocksize) / EXT2_INODE_SIZE(fs->super);
		if (k < fs->super->s_inodes_per_group)
			*ret_ino = (ext2_ino_t)(g * fs->super->s_inodes_per_group + 1 + k);
		break;
	}
	return o;
}

static char *describe_fs(const struct imgmap_fs *f, uint64_t off)
{
	blk64_t blk = off / f->blocksize;
	ext2_ino_t ino;
	uint32_t o = imgmap_fs_owner(f, off, &ino);
	const char *path = ino && ino <= f->fs->super->s_inodes_count ? f->ino_path[ino] : NULL;

	switch (o) {
	case 0:
		return xasprintf("block %llu, free space", (unsigned long long)blk);
	case IMGMAP_OWNER_SUPER:
		return xasprintf("block %llu, superblock or group descriptors",
				 (unsigned long long)blk);
	case IMGMAP_OWNER_BBITMAP:
		return xasprintf("block %llu, a block bitmap", (unsigned long long)blk);
	case IMGMAP_OWNER_IBITMAP:
		return xasprintf("block %llu, an inode bitmap", (unsigned long long)blk);
	case IMGMAP_OWNER_ITABLE:
		return xasprintf("block %llu, inode table: inode %u%s%s%s", (unsigned long long)blk,
				 ino, path ? " (" : "", path ? path : "", path ? ")" : "");
	default:
		if (path)
			return xasprintf("block %llu of %s", (unsigned long long)blk, path);
		return xasprintf("block %llu of inode %u (no name)", (unsigned long long)blk, o);
	}
}

char *imgmap_describe(const struct imgmap *m, uint64_t off)
{
	const struct imgmap_part *p = imgmap_part_at(m, off);

	if (!p) {
		if (off < SECTOR && m->table != IMGMAP_TABLE_NONE)
			return xstrdup(m->table == IMGMAP_TABLE_GPT ? "the protective MBR" :
								      "the MBR (boot code and "
								      "partition table)");
		if (m->table == IMGMAP_TABLE_GPT && off < 34 * SECTOR)
			return xstrdup("the GPT header and entries");
		if (m->table == IMGMAP_TABLE_GPT && off >= m->size - 33 * SECTOR)
			return xstrdup("the backup GPT");
		return xstrdup("outside every partition");
	}
	if (p->fs) {
		_cleanup_free_ char *what = describe_fs(p->fs, off - p->offset);

		return xasprintf("partition %u, %s", p->number, what);
	}
	return xasprintf("partition %u (not ext2/3/4) at byte %llu", p->number,
			 (unsigned long long)(off - p->offset));
}
