/* SPDX-License-Identifier: GPL-2.0-or-later */
#define FUSE_USE_VERSION 35
#include "e2fuse.h"

#include <et/com_err.h>
#include <ext2fs/ext2_ext_attr.h>
#include <ext2fs/ext3_extents.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "ext2.h"
#include "log.h"

/* Seconds the kernel may trust what we said: we are the only writer. */
#define E2FUSE_TIMEOUT 86400.0
/* The largest read and write the kernel sends (FUSE's limit with 4 KiB pages). */
#define E2FUSE_MAX_IO (1u << 20)
/* Blocks a change leaves free for the metadata it may need on the way (extent or indirect
 * blocks, a directory block): libext2fs does not undo half-made changes when it runs out. */
#define E2FUSE_SLACK 16
/* Directories this big get their names hashed in memory (while the total stays below the
 * cap): smaller ones are read faster than the hash is built. */
#define E2FUSE_INDEX_MIN_SIZE (16u << 10)
#define E2FUSE_INDEX_MAX_BYTES (64u << 20)
/* Beyond what any file in an image needs, below every format's limit. */
#define E2FUSE_MAX_FILE (1ULL << 40)

/* What we know of an inode the kernel holds. */
struct node {
	struct node *next;
	ext2_ino_t ino;
	uint64_t nlookup; /* the kernel's references: entries replied minus forgotten */
	unsigned nopen;   /* open files */
	bool orphan;      /* no name left: freed when nopen reaches 0 */
};

/* An open directory: its entries, read at the first readdir (and again when a reader
 * rewinds), so that a readdir at offset i is entry i and costs nothing to find. */
struct dir_snap {
	struct dir_snap *prev, *next;
	struct snap_ent {
		ext2_ino_t ino;
		uint32_t name_off;
		uint8_t type; /* EXT2_FT_* */
	} *ents;
	size_t n, cap;
	char *names; /* NUL-terminated names, back to back */
	size_t names_len, names_cap;
	bool filled;
};

/* The names of a big directory, hashed: ext2fs_lookup reads the directory from its start,
 * which makes looking up all of its names quadratic. */
struct dname {
	struct dname *next;
	ext2_ino_t ino;
	uint32_t hash;
	char name[]; /* NUL-terminated */
};

struct dindex {
	struct dindex *next; /* in e2fuse.dindex */
	ext2_ino_t dir;
	struct dname **buckets;
	size_t n_buckets, n;
	size_t bytes;
};

#define DINDEX_BUCKETS 256

struct e2fuse {
	ext2_filsys fs;
	struct fuse_session *se;
	struct fuse_buf buf;
	struct e2fuse_opts opts;
	unsigned blocksize;
	unsigned inode_size;
	bool large_inodes; /* room for nanoseconds and crtime */
	char *block;       /* scratch: one block */
	char *bmap_buf;    /* scratch for ext2fs_bmap2(): three blocks */
	char *inode_buf;   /* scratch: one whole on-disk inode */
	struct node **nodes;
	size_t n_buckets, n_nodes;
	struct dir_snap *snaps; /* open directories, freed by e2fuse_free() if never released */
	struct dindex *dindex[DINDEX_BUCKETS]; /* by directory inode */
	size_t dindex_bytes;
	char *dirbuf; /* scratch: one directory block */
	struct e2fuse_stats *stats; /* MKBOOTMEDIA_FUSE_STATS=1, else NULL */
	bool no_open;               /* the kernel sends no open nor release (op_init) */
};

/* ---- request statistics (MKBOOTMEDIA_FUSE_STATS=1) ---- */

/* FUSE's opcodes (linux/fuse.h, a stable ABI) for the table's names. */
#define E2FUSE_OPCODES 64
static const char *const opcode_names[E2FUSE_OPCODES] = {
	[1] = "lookup",        [2] = "forget",     [3] = "getattr",
	[4] = "setattr",       [5] = "readlink",   [6] = "symlink",
	[8] = "mknod",         [9] = "mkdir",      [10] = "unlink",
	[11] = "rmdir",        [12] = "rename",    [13] = "link",
	[14] = "open",         [15] = "read",      [16] = "write",
	[17] = "statfs",       [18] = "release",   [20] = "fsync",
	[21] = "setxattr",     [22] = "getxattr",  [23] = "listxattr",
	[24] = "removexattr",  [25] = "flush",     [26] = "init",
	[27] = "opendir",      [28] = "readdir",   [29] = "releasedir",
	[30] = "fsyncdir",     [34] = "access",    [35] = "create",
	[36] = "interrupt",    [38] = "destroy",   [39] = "ioctl",
	[42] = "batch_forget", [43] = "fallocate", [44] = "readdirplus",
	[45] = "rename2",      [46] = "lseek",     [47] = "copy_file_range",
	[50] = "syncfs",       [51] = "tmpfile",
};

struct e2fuse_stats {
	uint64_t count[E2FUSE_OPCODES];
	uint64_t ns[E2FUSE_OPCODES];    /* answering (libext2fs and the reply) */
	uint64_t bytes[E2FUSE_OPCODES]; /* request sizes, header included */
	uint64_t started_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_print(const struct e2fuse *s)
{
	const struct e2fuse_stats *st = s->stats;
	uint64_t total_n = 0, total_ns = 0, wall = mono_ns() - st->started_ns;

	log_info("e2fuse: requests of the filesystem with UUID %02x%02x%02x%02x..., "
		 "served in %.2f s:",
		 s->fs->super->s_uuid[0], s->fs->super->s_uuid[1], s->fs->super->s_uuid[2],
		 s->fs->super->s_uuid[3], wall / 1e9);
	log_info("e2fuse:   %-16s %10s %10s %10s %12s", "request", "count", "total s", "us each",
		 "MiB in");
	for (unsigned op = 0; op < E2FUSE_OPCODES; op++) {
		if (!st->count[op])
			continue;
		total_n += st->count[op];
		total_ns += st->ns[op];
		if (opcode_names[op])
			log_info("e2fuse:   %-16s %10" PRIu64 " %10.3f %10.1f %12.1f",
				 opcode_names[op], st->count[op], st->ns[op] / 1e9,
				 st->ns[op] / 1e3 / (double)st->count[op],
				 st->bytes[op] / 1048576.0);
		else
			log_info("e2fuse:   opcode %-9u %10" PRIu64 " %10.3f %10.1f %12.1f", op,
				 st->count[op], st->ns[op] / 1e9,
				 st->ns[op] / 1e3 / (double)st->count[op],
				 st->bytes[op] / 1048576.0);
	}
	log_info("e2fuse:   %-16s %10" PRIu64 " %10.3f (%.0f%% of the time mounted)", "all",
		 total_n, total_ns / 1e9, wall ? 100.0 * total_ns / wall : 0.0);
}

/* ---- errors ---- */

static int e2_errno(errcode_t err)
{
	switch (err) {
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return -ENODATA;
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
		return -ENOSPC;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_FILE_TOO_BIG:
		return -EFBIG;
	case EXT2_ET_MISSING_EA_FEATURE:
		return -EOPNOTSUPP;
	case EXT2_ET_EA_BAD_NAME_LEN:
		return -ERANGE;
	case EXT2_ET_EA_BAD_VALUE_SIZE:
		return -E2BIG;
	case EXT2_ET_INVALID_ARGUMENT:
		return -EINVAL;
	default:
		return ext2_errno(err);
	}
}

/* The -errno for a libext2fs error. Errors that are not the caller's (I/O, corruption, our
 * own bugs) are logged: the program that sees EIO cannot say more. */
static int e2_fail(errcode_t err, const char *what, ext2_ino_t ino)
{
	int r = e2_errno(err);

	if (r == -EIO)
		log_error("e2fuse: %s (inode %u): %s", what, ino, error_message(err));
	return r;
}

/* ---- inode numbers ---- */

static ext2_ino_t to_ext2(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? EXT2_ROOT_INO : (ext2_ino_t)ino;
}

static fuse_ino_t to_fuse(ext2_ino_t ino)
{
	return ino == EXT2_ROOT_INO ? FUSE_ROOT_ID : ino;
}

/* The kernel only sends ids we gave it, but an id is still input. */
static int ino_check(const struct e2fuse *s, fuse_ino_t fino, ext2_ino_t *ret)
{
	ext2_ino_t ino = to_ext2(fino);

	if (fino == 0 || fino > s->fs->super->s_inodes_count ||
	    (ino < EXT2_FIRST_INODE(s->fs->super) && ino != EXT2_ROOT_INO))
		return -ESTALE;
	*ret = ino;
	return 0;
}

/* ---- the kernel's references ---- */

static struct node *node_find(const struct e2fuse *s, ext2_ino_t ino)
{
	for (struct node *n = s->nodes[ino & (s->n_buckets - 1)]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void nodes_grow(struct e2fuse *s)
{
	size_t nb = s->n_buckets * 2;
	struct node **t = xcalloc(nb, sizeof(*t));

	for (size_t i = 0; i < s->n_buckets; i++) {
		struct node *n = s->nodes[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = t[n->ino & (nb - 1)];
			t[n->ino & (nb - 1)] = n;
		}
	}
	free(s->nodes);
	s->nodes = t;
	s->n_buckets = nb;
}

static struct node *node_get(struct e2fuse *s, ext2_ino_t ino)
{
	struct node *n = node_find(s, ino);

	if (n)
		return n;
	if (s->n_nodes >= s->n_buckets)
		nodes_grow(s);
	n = xcalloc(1, sizeof(*n));
	n->ino = ino;
	n->next = s->nodes[ino & (s->n_buckets - 1)];
	s->nodes[ino & (s->n_buckets - 1)] = n;
	s->n_nodes++;
	return n;
}

static int inode_free(struct e2fuse *s, ext2_ino_t ino);

/* Once no file is open on n: an orphan's inode is freed; n is forgotten once the kernel holds
 * no reference either. Without open requests, orphans wait for e2fuse_free() or
 * reclaim_orphans(). */
static void node_release(struct e2fuse *s, struct node *n)
{
	struct node **p;

	if (n->nopen || (s->no_open && n->orphan))
		return;
	if (n->orphan) {
		n->orphan = false;
		(void)inode_free(s, n->ino);
	}
	if (n->nlookup)
		return;
	for (p = &s->nodes[n->ino & (s->n_buckets - 1)]; *p != n; p = &(*p)->next)
		;
	*p = n->next;
	s->n_nodes--;
	free(n);
}

static void node_forget(struct e2fuse *s, ext2_ino_t ino, uint64_t nlookup)
{
	struct node *n = node_find(s, ino);

	if (!n)
		return;
	n->nlookup = nlookup < n->nlookup ? n->nlookup - nlookup : 0;
	node_release(s, n);
}

/* ---- the names of big directories ---- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static struct dindex *dindex_find(const struct e2fuse *s, ext2_ino_t dir)
{
	for (struct dindex *x = s->dindex[dir % DINDEX_BUCKETS]; x; x = x->next)
		if (x->dir == dir)
			return x;
	return NULL;
}

static struct dname **dindex_slot(struct dindex *x, const char *name, size_t len, uint32_t h)
{
	struct dname **p = &x->buckets[h & (x->n_buckets - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->hash == h && strlen((*p)->name) == len && !memcmp((*p)->name, name, len))
			break;
	return p;
}

static void dindex_put(struct e2fuse *s, struct dindex *x, const char *name, size_t len,
		       ext2_ino_t ino)
{
	uint32_t h = name_hash(name, len);
	struct dname **p = dindex_slot(x, name, len, h), *d;

	if (*p) {
		(*p)->ino = ino;
		return;
	}
	if (x->n >= x->n_buckets) {
		size_t nb = x->n_buckets * 2;
		struct dname **t = xcalloc(nb, sizeof(*t));

		for (size_t i = 0; i < x->n_buckets; i++)
			for (struct dname *e = x->buckets[i], *next; e; e = next) {
				next = e->next;
				e->next = t[e->hash & (nb - 1)];
				t[e->hash & (nb - 1)] = e;
			}
		free(x->buckets);
		x->buckets = t;
		x->n_buckets = nb;
		p = dindex_slot(x, name, len, h);
	}
	d = xmalloc(sizeof(*d) + len + 1);
	d->next = NULL;
	d->ino = ino;
	d->hash = h;
	memcpy(d->name, name, len);
	d->name[len] = 0;
	*p = d;
	x->n++;
	x->bytes += sizeof(*d) + len + 1;
	s->dindex_bytes += sizeof(*d) + len + 1;
}

static void dindex_del(struct e2fuse *s, struct dindex *x, const char *name)
{
	size_t len = strlen(name);
	struct dname **p = dindex_slot(x, name, len, name_hash(name, len)), *d = *p;

	if (!d)
		return;
	*p = d->next;
	x->n--;
	x->bytes -= sizeof(*d) + len + 1;
	s->dindex_bytes -= sizeof(*d) + len + 1;
	free(d);
}

static void dindex_drop(struct e2fuse *s, ext2_ino_t dir)
{
	struct dindex **p = &s->dindex[dir % DINDEX_BUCKETS], *x;

	while (*p && (*p)->dir != dir)
		p = &(*p)->next;
	x = *p;
	if (!x)
		return;
	*p = x->next;
	for (size_t i = 0; i < x->n_buckets; i++)
		for (struct dname *d = x->buckets[i], *next; d; d = next) {
			next = d->next;
			free(d);
		}
	s->dindex_bytes -= x->bytes;
	free(x->buckets);
	free(x);
}

struct dindex_fill {
	struct e2fuse *s;
	struct dindex *x;
};

static int dindex_add_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
			    int blocksize, char *buf, void *priv)
{
	struct dindex_fill *f = priv;

	if (d->inode)
		dindex_put(f->s, f->x, d->name, (size_t)ext2fs_dirent_name_len(d), d->inode);
	return 0;
}

/* The index of dir, made now if dir is big enough; NULL for small directories, those whose
 * names do not compare as bytes (casefolded, encrypted), or when memory is capped. */
static struct dindex *dindex_get(struct e2fuse *s, ext2_ino_t dir)
{
	struct dindex *x = dindex_find(s, dir);
	struct ext2_inode in;
	struct dindex_fill f;

	if (x)
		return x;
	if (s->dindex_bytes > E2FUSE_INDEX_MAX_BYTES || ext2fs_read_inode(s->fs, dir, &in) ||
	    !LINUX_S_ISDIR(in.i_mode) || EXT2_I_SIZE(&in) < E2FUSE_INDEX_MIN_SIZE ||
	    (in.i_flags & (EXT4_CASEFOLD_FL | EXT4_ENCRYPT_FL)))
		return NULL;
	x = xcalloc(1, sizeof(*x));
	x->dir = dir;
	x->n_buckets = 1024;
	x->buckets = xcalloc(x->n_buckets, sizeof(*x->buckets));
	x->next = s->dindex[dir % DINDEX_BUCKETS];
	s->dindex[dir % DINDEX_BUCKETS] = x;
	f = (struct dindex_fill){ s, x };
	if (ext2fs_dir_iterate2(s->fs, dir, 0, NULL, dindex_add_entry, &f)) {
		dindex_drop(s, dir);
		return NULL;
	}
	return x;
}

/* ---- inodes ---- */

static int inode_get(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t err;

	memset(in, 0, sizeof(*in));
	err = ext2fs_read_inode_full(s->fs, ino, (struct ext2_inode *)in, sizeof(*in));
	if (err)
		return e2_fail(err, "cannot read inode", ino);
	if (!s->large_inodes)
		in->i_extra_isize = 0; /* not part of a 128-byte inode */
	return 0;
}

static int inode_put(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t err = ext2fs_write_inode_full(s->fs, ino, (struct ext2_inode *)in, sizeof(*in));

	return err ? e2_fail(err, "cannot write inode", ino) : 0;
}

/* A new inode: written whole, so that nothing of a former one (extended attributes in the
 * spare room past the large inode's fields) comes back with it. */
static int inode_put_new(struct e2fuse *s, ext2_ino_t ino, const struct ext2_inode_large *in)
{
	size_t n = s->inode_size < sizeof(*in) ? s->inode_size : sizeof(*in);
	errcode_t err;

	memset(s->inode_buf, 0, s->inode_size);
	memcpy(s->inode_buf, in, n);
	err = ext2fs_write_inode_full(s->fs, ino, (struct ext2_inode *)s->inode_buf,
				      (int)s->inode_size);
	return err ? e2_fail(err, "cannot write inode", ino) : 0;
}

/* Whether the inode has room for a field of the large inode. */
#define IN_FITS(in, field)                                                                         \
	(offsetof(struct ext2_inode_large, field) + sizeof((in)->field) <=                         \
	 EXT2_GOOD_OLD_INODE_SIZE + (size_t)(in)->i_extra_isize)

static struct timespec now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/* ext4's encoding: 32 bits of seconds as a signed number, extended by 2 epoch bits and
 * nanoseconds in the _extra field when the inode has one. */
static void time_store(const struct e2fuse *s, __u32 *sec, __u32 *extra, struct timespec ts)
{
	const int64_t lo = INT32_MIN, hi = extra ? (int64_t)INT32_MAX + (3LL << 32) : INT32_MAX;

	if (s->opts.clamp && (ts.tv_sec > s->opts.clamp_time ||
			      (ts.tv_sec == s->opts.clamp_time && ts.tv_nsec > 0))) {
		ts.tv_sec = s->opts.clamp_time;
		ts.tv_nsec = 0;
	}
	if (ts.tv_sec < lo)
		ts = (struct timespec){ .tv_sec = lo };
	if (ts.tv_sec > hi)
		ts = (struct timespec){ .tv_sec = hi };
	if (ts.tv_nsec < 0 || ts.tv_nsec > 999999999)
		ts.tv_nsec = 0;
	*sec = (uint32_t)ts.tv_sec;
	if (extra)
		*extra = (uint32_t)(((ts.tv_sec - (int64_t)(int32_t)ts.tv_sec) >> 32) & 3) |
			 (uint32_t)ts.tv_nsec << 2;
}

static struct timespec time_load(__u32 sec, const __u32 *extra)
{
	struct timespec ts = { .tv_sec = (int32_t)sec };

	if (extra) {
		ts.tv_sec += (int64_t)(*extra & 3) << 32;
		ts.tv_nsec = *extra >> 2;
		if (ts.tv_nsec > 999999999)
			ts.tv_nsec = 999999999;
	}
	return ts;
}

#define SET_TIME(s, in, f, ts)                                                                     \
	time_store(s, &(in)->f, IN_FITS(in, f##_extra) ? &(in)->f##_extra : NULL, ts)
#define GET_TIME(in, f) time_load((in)->f, IN_FITS(in, f##_extra) ? &(in)->f##_extra : NULL)

static void set_ctime(const struct e2fuse *s, struct ext2_inode_large *in, struct timespec ts)
{
	SET_TIME(s, in, i_ctime, ts);
}

static void set_mctime(const struct e2fuse *s, struct ext2_inode_large *in, struct timespec ts)
{
	SET_TIME(s, in, i_mtime, ts);
	SET_TIME(s, in, i_ctime, ts);
}

static void set_owner(struct ext2_inode_large *in, uid_t uid, gid_t gid)
{
	in->i_uid = (__u16)uid;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	in->i_gid = (__u16)gid;
	ext2fs_set_i_gid_high(*in, gid >> 16);
}

/* Device numbers as the kernel stores them: the old 8:8 form when it fits, else the new one
 * in the second word. */
static dev_t get_rdev(const struct ext2_inode_large *in)
{
	uint32_t o = in->i_block[0], n = in->i_block[1];

	if (o)
		return makedev((o >> 8) & 0xff, o & 0xff);
	return makedev((n & 0xfff00) >> 8, (n & 0xff) | ((n >> 12) & 0xfff00));
}

static void set_rdev(struct ext2_inode_large *in, dev_t dev)
{
	unsigned ma = major(dev), mi = minor(dev);

	if (ma < 256 && mi < 256) {
		in->i_block[0] = ma << 8 | mi;
		in->i_block[1] = 0;
	} else {
		in->i_block[0] = 0;
		in->i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
		in->i_block[2] = 0;
	}
}

static void inode_stat(const struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
		       struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = in->i_mode;
	st->st_nlink = in->i_links_count;
	st->st_uid = inode_uid(*in);
	st->st_gid = inode_gid(*in);
	if (LINUX_S_ISCHR(in->i_mode) || LINUX_S_ISBLK(in->i_mode))
		st->st_rdev = get_rdev(in);
	st->st_size = (off_t)EXT2_I_SIZE(in);
	st->st_blksize = s->blocksize;
	st->st_blocks = (blkcnt_t)ext2fs_get_stat_i_blocks(s->fs, (struct ext2_inode *)in);
	st->st_atim = GET_TIME(in, i_atime);
	st->st_mtim = GET_TIME(in, i_mtime);
	st->st_ctim = GET_TIME(in, i_ctime);
}

static mode_t ftype_mode(int ftype)
{
	switch (ftype) {
	case EXT2_FT_REG_FILE:
		return S_IFREG;
	case EXT2_FT_DIR:
		return S_IFDIR;
	case EXT2_FT_CHRDEV:
		return S_IFCHR;
	case EXT2_FT_BLKDEV:
		return S_IFBLK;
	case EXT2_FT_FIFO:
		return S_IFIFO;
	case EXT2_FT_SOCK:
		return S_IFSOCK;
	case EXT2_FT_SYMLINK:
		return S_IFLNK;
	default:
		return 0; /* DT_UNKNOWN: the reader asks */
	}
}

static int cmp_ino(const void *a, const void *b)
{
	ext2_ino_t x = *(const ext2_ino_t *)a, y = *(const ext2_ino_t *)b;

	return x < y ? -1 : x > y;
}

/* Without open requests, an orphan waits for the end: when the kernel forgets it depends on
 * timing (a concurrent path walk holding its dentry delays it), and which inodes and blocks
 * the next files get must not. Only when the filesystem runs out are the orphans the kernel
 * has forgotten freed, in order (a full filesystem may cost reproducibility, never data).
 * Returns how many. */
static size_t reclaim_orphans(struct e2fuse *s)
{
	_cleanup_free_ ext2_ino_t *inos = NULL;
	size_t n = 0;

	if (!s->no_open)
		return 0;
	inos = xcalloc(s->n_nodes + 1, sizeof(*inos));
	for (size_t i = 0; i < s->n_buckets; i++)
		for (struct node *x = s->nodes[i]; x; x = x->next)
			if (x->orphan && !x->nlookup)
				inos[n++] = x->ino;
	qsort(inos, n, sizeof(*inos), cmp_ino);
	for (size_t i = 0; i < n; i++) {
		struct node *x = node_find(s, inos[i]);

		x->orphan = false;
		(void)inode_free(s, x->ino);
		node_release(s, x); /* forgets it */
	}
	return n;
}

static bool room_for(const struct e2fuse *s, uint64_t n, bool root)
{
	uint64_t free_blocks = ext2fs_free_blocks_count(s->fs->super);
	uint64_t keep = E2FUSE_SLACK + n / 256;

	if (!root)
		keep += ext2fs_r_blocks_count(s->fs->super);
	return free_blocks >= keep && free_blocks - keep >= n;
}

/* Whether n more blocks (and the slack) may be taken: root may use the reserved blocks. */
static bool can_alloc(struct e2fuse *s, uint64_t n, bool root)
{
	return room_for(s, n, root) || (reclaim_orphans(s) && room_for(s, n, root));
}

static bool req_root(fuse_req_t req)
{
	return fuse_req_ctx(req)->uid == 0;
}

/* Returns every block of ino to the filesystem and frees the inode. */
static int inode_free(struct e2fuse *s, ext2_ino_t ino)
{
	struct ext2_inode_large in;
	__u32 dtime;
	errcode_t err;
	int r;

	r = inode_get(s, ino, &in);
	if (r < 0)
		return r;
	err = ext2fs_free_ext_attr(s->fs, ino, &in);
	if (err)
		return e2_fail(err, "cannot free extended attributes", ino);
	if (ext2fs_inode_has_valid_blocks2(s->fs, (struct ext2_inode *)&in)) {
		err = ext2fs_punch(s->fs, ino, (struct ext2_inode *)&in, NULL, 0, ~0ULL);
		if (err)
			return e2_fail(err, "cannot free blocks", ino);
	}
	/* Nothing of it stays: every byte zero but the deletion time (clamped as any time). */
	time_store(s, &dtime, NULL, now());
	err = ext2_inode_clear(s->fs, ino, (int32_t)dtime);
	if (err)
		return e2_fail(err, "cannot write inode", ino);
	ext2fs_inode_alloc_stats2(s->fs, ino, -1, LINUX_S_ISDIR(in.i_mode));
	if (LINUX_S_ISDIR(in.i_mode))
		dindex_drop(s, ino); /* the number may come back as another directory */
	return 0;
}

/* After ino's link count reached 0: freed now, or at the last release of a file open on it.
 * The kernel's lookup references do not count: its forgets come when it likes (when it
 * evicts the inode), and the inode numbers and blocks the next files get must not depend on
 * that (reproducible builds). A number the kernel still knows may come back for a new file:
 * FUSE knows an inode by its number, and a stale forget only makes the new node's count too
 * low, which no longer decides anything. */
static int inode_unlinked(struct e2fuse *s, ext2_ino_t ino)
{
	struct node *n = node_find(s, ino);

	if (n && (n->nopen || s->no_open)) {
		n->orphan = true;
		return 0;
	}
	return inode_free(s, ino);
}

/* ---- file data ---- */

static uint64_t max_file_size(const struct e2fuse *s, const struct ext2_inode_large *in)
{
	uint64_t p = s->blocksize / 4, blocks;

	if (in->i_flags & EXT4_EXTENTS_FL)
		blocks = (1ULL << 32) - 1;
	else
		blocks = EXT2_NDIR_BLOCKS + p + p * p + p * p * p;
	return blocks * s->blocksize < E2FUSE_MAX_FILE ? blocks * s->blocksize : E2FUSE_MAX_FILE;
}

/* The physical block of lblk; 0 for a hole. An uninitialised extent reads as zeros, like a
 * hole, and is reported in *uninit. */
static errcode_t map_block(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
			   blk64_t lblk, blk64_t *pblk, bool *uninit)
{
	int flags = 0;
	errcode_t err;

	*pblk = 0;
	err = ext2fs_bmap2(s->fs, ino, (struct ext2_inode *)in, s->bmap_buf, 0, lblk, &flags,
			   pblk);
	*uninit = *pblk && (flags & BMAP_RET_UNINIT);
	return err;
}

/* Inline data (ext4's inline_data feature): libext2fs's file API knows it. */
static int inline_read(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
		       uint64_t off, size_t size, char *out, size_t *ret_n)
{
	ext2_file_t f;
	unsigned got = 0;
	errcode_t err;

	err = ext2fs_file_open2(s->fs, ino, (struct ext2_inode *)in, 0, &f);
	if (err)
		return e2_fail(err, "cannot open", ino);
	err = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL);
	if (!err)
		err = ext2fs_file_read(f, out, (unsigned)size, &got);
	ext2fs_file_close(f);
	if (err)
		return e2_fail(err, "cannot read", ino);
	*ret_n = got;
	return 0;
}

static int inline_write(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
			uint64_t off, const char *data, size_t size, bool truncate)
{
	ext2_file_t f;
	unsigned done = 0;
	errcode_t err, err2;

	err = ext2fs_file_open2(s->fs, ino, (struct ext2_inode *)in, EXT2_FILE_WRITE, &f);
	if (err)
		return e2_fail(err, "cannot open", ino);
	if (truncate)
		err = ext2fs_file_set_size2(f, off);
	else
		err = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL);
	if (!err && !truncate)
		err = ext2fs_file_write(f, data, (unsigned)size, &done);
	err2 = ext2fs_file_close(f);
	if (!err && !truncate && done != size)
		err = EXT2_ET_SHORT_WRITE;
	if (err || err2)
		return e2_fail(err ? err : err2, "cannot write", ino);
	/* The file API wrote its own copy of the inode. */
	return inode_get(s, ino, in);
}

/* Reads up to size bytes at off (fewer at the end of the file). Whole blocks that follow each
 * other on disk are read in one go, straight into out. */
static int file_read(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t off,
		     size_t size, char *out, size_t *ret_n)
{
	uint64_t isize = EXT2_I_SIZE(in), bs = s->blocksize;
	blk64_t first, last, run_p = 0, run_n = 0;
	char *run_dest = NULL;
	errcode_t err;

	if (off >= isize || size == 0) {
		*ret_n = 0;
		return 0;
	}
	if (size > isize - off)
		size = isize - off;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		return inline_read(s, ino, in, off, size, out, ret_n);

	first = off / bs;
	last = (off + size - 1) / bs;
	for (blk64_t l = first; l <= last; l++) {
		uint64_t from = l == first ? off % bs : 0;
		uint64_t to = l == last ? (off + size - 1) % bs + 1 : bs;
		char *dest = out + (l * bs + from - off);
		blk64_t p;
		bool uninit;

		err = map_block(s, ino, in, l, &p, &uninit);
		if (err)
			return e2_fail(err, "cannot map a block", ino);
		if (run_n && (p != run_p + run_n || from || to != bs || uninit)) {
			err = io_channel_read_blk64(s->fs->io, run_p, (int)run_n, run_dest);
			if (err)
				return e2_fail(err, "cannot read", ino);
			run_n = 0;
		}
		if (!p || uninit) {
			memset(dest, 0, to - from);
		} else if (from == 0 && to == bs) {
			if (!run_n) {
				run_p = p;
				run_dest = dest;
			}
			run_n++;
		} else {
			err = io_channel_read_blk64(s->fs->io, p, 1, s->block);
			if (err)
				return e2_fail(err, "cannot read", ino);
			memcpy(dest, s->block + from, to - from);
		}
	}
	if (run_n) {
		err = io_channel_read_blk64(s->fs->io, run_p, (int)run_n, run_dest);
		if (err)
			return e2_fail(err, "cannot read", ino);
	}
	*ret_n = size;
	return 0;
}

/* Zeros the bytes of block lblk from byte `from` on, if the block is on disk: the part of the
 * last block past the end of the file must read as zeros once the file grows. */
static int zero_tail(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in, blk64_t lblk,
		     unsigned from)
{
	blk64_t p;
	bool uninit;
	errcode_t err;

	err = map_block(s, ino, in, lblk, &p, &uninit);
	if (err)
		return e2_fail(err, "cannot map a block", ino);
	if (!p || uninit)
		return 0;
	err = io_channel_read_blk64(s->fs->io, p, 1, s->block);
	if (!err) {
		memset(s->block + from, 0, s->blocksize - from);
		err = io_channel_write_blk64(s->fs->io, p, 1, s->block);
	}
	return err ? e2_fail(err, "cannot write", ino) : 0;
}

struct alloc_run {
	blk64_t lblk, len;
};

/* Gives the allocated runs back (after a failure half-way through a write). */
static void alloc_undo(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
		       const struct alloc_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)ext2fs_punch(s->fs, ino, (struct ext2_inode *)in, NULL, runs[i].lblk,
				   runs[i].lblk + runs[i].len - 1);
}

/* Maps the holes among blocks [first, first + n) (map[i]: the physical block of first + i, 0
 * for a hole) to free ranges near their neighbours, without writing to them: the caller
 * writes every byte of them. The data blocks are claimed in whole ranges; ext2fs_bmap2 with
 * BMAP_SET then records each block (merging extents, adding indirect blocks). */
static int alloc_holes(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
		       blk64_t first, blk64_t n, blk64_t *map, struct alloc_run **runs,
		       size_t *n_runs)
{
	ext2_filsys fs = s->fs;
	errcode_t err = 0;

	for (blk64_t i = 0; i < n;) {
		blk64_t len = 0, goal, pblk, plen;

		if (map[i]) {
			i++;
			continue;
		}
		while (i + len < n && !map[i + len])
			len++;
		if (i > 0)
			goal = map[i - 1] + 1;
		else
			goal = ext2fs_find_inode_goal(fs, ino, (struct ext2_inode *)in, first + i);
		err = ext2fs_new_range(fs, 0, goal, len, NULL, &pblk, &plen);
		if (err)
			break;
		if (plen > len)
			plen = len;
		ext2fs_block_alloc_stats_range(fs, pblk, (unsigned)plen, +1);
		*runs = xrealloc(*runs, (*n_runs + 1) * sizeof(**runs));
		(*runs)[(*n_runs)++] = (struct alloc_run){ first + i, 0 };
		for (blk64_t k = 0; k < plen; k++) {
			blk64_t p = pblk + k;

			err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)in, s->bmap_buf,
					   BMAP_SET | BMAP_ALLOC, first + i + k, NULL, &p);
			if (err) {
				/* The rest of the range was never mapped. */
				ext2fs_block_alloc_stats_range(fs, pblk + k, (unsigned)(plen - k),
							       -1);
				break;
			}
			map[i + k] = p;
			(*runs)[*n_runs - 1].len++;
			err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)in, 1);
			if (err)
				break;
		}
		if (err)
			break;
		i += plen;
	}
	return err ? e2_fail(err, "cannot allocate blocks", ino) : 0;
}

/* Writes size bytes at off, allocating what is missing, and grows the file. Whole blocks that
 * follow each other on disk are written in one go, straight from data; only the first and last
 * block of a write may need a read first. */
static int file_write(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in, uint64_t off,
		      const char *data, size_t size, bool root)
{
	uint64_t old_size = EXT2_I_SIZE(in), bs = s->blocksize, end = off + size;
	blk64_t first, last, n, holes = 0, run_p = 0, run_n = 0;
	const char *run_src = NULL;
	_cleanup_free_ blk64_t *map = NULL;
	_cleanup_free_ bool *fresh = NULL;
	_cleanup_free_ struct alloc_run *runs = NULL;
	size_t n_runs = 0;
	errcode_t err;
	int r;

	if (size == 0)
		return 0;
	if (off > max_file_size(s, in) || size > max_file_size(s, in) - off)
		return -EFBIG;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		return inline_write(s, ino, in, off, data, size, false);

	/* The old last block's bytes past the end become part of the file. */
	if (off > old_size && old_size % bs && old_size / bs < off / bs) {
		r = zero_tail(s, ino, in, old_size / bs, old_size % bs);
		if (r < 0)
			return r;
	}

	first = off / bs;
	last = (end - 1) / bs;
	n = last - first + 1;
	map = xcalloc(n, sizeof(*map));
	fresh = xcalloc(n, sizeof(*fresh));
	for (blk64_t i = 0; i < n; i++) {
		bool uninit;

		err = map_block(s, ino, in, first + i, &map[i], &uninit);
		if (err)
			return e2_fail(err, "cannot map a block", ino);
		if (uninit) {
			/* Written as initialised from now on; what the write does not cover
			 * stays zeros. */
			err = ext2fs_bmap2(s->fs, ino, (struct ext2_inode *)in, s->bmap_buf,
					   BMAP_SET, first + i, NULL, &map[i]);
			if (err)
				return e2_fail(err, "cannot map a block", ino);
			fresh[i] = true;
		} else if (!map[i]) {
			holes++;
			fresh[i] = true;
		}
	}
	if (holes) {
		if (!can_alloc(s, holes, root))
			return -ENOSPC;
		r = alloc_holes(s, ino, in, first, n, map, &runs, &n_runs);
		if (r < 0) {
			alloc_undo(s, ino, in, runs, n_runs);
			return r;
		}
	}

	for (blk64_t i = 0; i < n; i++) {
		blk64_t l = first + i;
		uint64_t from = i == 0 ? off % bs : 0;
		uint64_t to = l == last ? (end - 1) % bs + 1 : bs;
		const char *src = data + (l * bs + from - off);

		if (run_n && (map[i] != run_p + run_n || from || to != bs)) {
			err = io_channel_write_blk64(s->fs->io, run_p, (int)run_n, run_src);
			if (err)
				goto fail;
			run_n = 0;
		}
		if (from == 0 && to == bs) {
			if (!run_n) {
				run_p = map[i];
				run_src = src;
			}
			run_n++;
			continue;
		}
		if (fresh[i]) {
			memset(s->block, 0, bs);
		} else {
			err = io_channel_read_blk64(s->fs->io, map[i], 1, s->block);
			if (err)
				goto fail;
			/* Past the old end: zeros, whatever the block held. */
			if (l * bs + bs > old_size) {
				uint64_t keep = old_size > l * bs ? old_size - l * bs : 0;

				memset(s->block + keep, 0, bs - keep);
			}
		}
		memcpy(s->block + from, src, to - from);
		err = io_channel_write_blk64(s->fs->io, map[i], 1, s->block);
		if (err)
			goto fail;
	}
	if (run_n) {
		err = io_channel_write_blk64(s->fs->io, run_p, (int)run_n, run_src);
		if (err)
			goto fail;
	}
	if (end > old_size) {
		err = ext2fs_inode_size_set(s->fs, (struct ext2_inode *)in, end);
		if (err)
			return e2_fail(err, "cannot set the size", ino);
	}
	return 0;
fail:
	return e2_fail(err, "cannot write", ino);
}

/* Sets the size: blocks past the new end are freed, the bytes past it in the last block
 * zeroed (they would show if the file grew again). */
static int file_truncate(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
			 uint64_t size)
{
	uint64_t old = EXT2_I_SIZE(in), bs = s->blocksize;
	errcode_t err;
	int r;

	if (size > max_file_size(s, in))
		return -EFBIG;
	if (size == old)
		return 0;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		return inline_write(s, ino, in, size, NULL, 0, true);
	if (size < old) {
		err = ext2fs_punch(s->fs, ino, (struct ext2_inode *)in, NULL, (size + bs - 1) / bs,
				   ~0ULL);
		if (err)
			return e2_fail(err, "cannot free blocks", ino);
		if (size % bs) {
			r = zero_tail(s, ino, in, size / bs, size % bs);
			if (r < 0)
				return r;
		}
	} else if (old % bs) {
		r = zero_tail(s, ino, in, old / bs, old % bs);
		if (r < 0)
			return r;
	}
	err = ext2fs_inode_size_set(s->fs, (struct ext2_inode *)in, size);
	return err ? e2_fail(err, "cannot set the size", ino) : 0;
}

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- directories ---- */

/* The inode named name in dir: -ENOENT when there is none. */
static int dir_lookup(struct e2fuse *s, ext2_ino_t dir, const char *name, ext2_ino_t *ret)
{
	struct dindex *x;
	errcode_t err;
	int r = check_name(name);

	if (r < 0)
		return r;
	x = dindex_get(s, dir);
	if (x) {
		size_t len = strlen(name);
		struct dname *d = *dindex_slot(x, name, len, name_hash(name, len));

		if (!d)
			return -ENOENT;
		*ret = d->ino;
		return 0;
	}
	err = ext2fs_lookup(s->fs, dir, name, (int)strlen(name), NULL, ret);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	return err ? e2_fail(err, "cannot look up a name", dir) : 0;
}

static int dir_link(struct e2fuse *s, ext2_ino_t dir, const char *name, ext2_ino_t ino,
		    unsigned mode)
{
	struct dindex *x = dindex_get(s, dir);
	int ftype = ext2_mode_ftype(mode);
	errcode_t err = ext2_dir_append(s->fs, dir, name, ino, ftype, s->dirbuf, NULL);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(s->fs, dir);
		if (!err)
			err = ext2_dir_append(s->fs, dir, name, ino, ftype, s->dirbuf, NULL);
	}
	if (err)
		return e2_fail(err, "cannot add a name", dir);
	if (x)
		dindex_put(s, x, name, strlen(name), ino);
	return 0;
}

static int dir_unlink(struct e2fuse *s, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct dindex *x = dindex_find(s, dir);
	errcode_t err = ext2_dir_unlink(s->fs, dir, name, ino);

	if (err)
		return e2_fail(err, "cannot remove a name", dir);
	if (x)
		dindex_del(s, x, name);
	return 0;
}

struct dirent_edit {
	const char *name;
	unsigned len;
	ext2_ino_t ino;
	int ftype;
	bool done;
};

/* Points the entry named e->name at e->ino. */
static int edit_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		      int blocksize, char *buf, void *priv)
{
	struct dirent_edit *e = priv;

	if (!d->inode || (unsigned)ext2fs_dirent_name_len(d) != e->len ||
	    memcmp(d->name, e->name, e->len) != 0)
		return 0;
	d->inode = e->ino;
	if (e->ftype >= 0)
		ext2fs_dirent_set_file_type(d, e->ftype);
	e->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Points dir's entry name at ino, in place: a rename over an existing name cannot fail for
 * lack of room. ftype < 0 leaves the type alone. */
static int dir_set_entry(struct e2fuse *s, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			 int ftype)
{
	struct dirent_edit e = { name, (unsigned)strlen(name), ino, ftype, false };
	errcode_t err;

	if (!ext2fs_has_feature_filetype(s->fs->super))
		e.ftype = -1;
	err = ext2fs_dir_iterate2(s->fs, dir, 0, NULL, edit_entry,
				  &e);
	if (err)
		return e2_fail(err, "cannot change a name", dir);
	if (!e.done)
		return -ENOENT;
	if (dindex_find(s, dir))
		dindex_put(s, dindex_find(s, dir), name, e.len, ino);
	return 0;
}

static int count_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		       int blocksize, char *buf, void *priv)
{
	unsigned len = (unsigned)ext2fs_dirent_name_len(d);

	if (!d->inode || (len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	*(bool *)priv = false;
	return DIRENT_ABORT;
}

/* 0 when dir holds nothing but "." and "..", -ENOTEMPTY otherwise. */
static int dir_empty(struct e2fuse *s, ext2_ino_t dir)
{
	bool empty = true;
	errcode_t err = ext2fs_dir_iterate2(s->fs, dir, 0, NULL,
					    count_entry, &empty);

	if (err)
		return e2_fail(err, "cannot read a directory", dir);
	return empty ? 0 : -ENOTEMPTY;
}

/* A directory's link count: 2 and one per subdirectory; 1 means "many" (dir_nlink). */
static int dir_links_inc(const struct e2fuse *s, struct ext2_inode_large *dir, bool dry_run)
{
	if (dir->i_links_count == 1)
		return 0;
	if (dir->i_links_count >= EXT2_LINK_MAX - 1) {
		if (!ext2fs_has_feature_dir_nlink(s->fs->super))
			return -EMLINK;
		if (!dry_run)
			dir->i_links_count = 1;
		return 0;
	}
	if (!dry_run)
		dir->i_links_count++;
	return 0;
}

static void dir_links_dec(struct ext2_inode_large *dir)
{
	if (dir->i_links_count > 2)
		dir->i_links_count--;
}

/* Changes a directory's mtime and ctime, and its link count by delta (a subdirectory came or
 * went). */
static int dir_touch(struct e2fuse *s, ext2_ino_t dir, int delta, struct timespec ts)
{
	struct ext2_inode_large in;
	int r = inode_get(s, dir, &in);

	if (r < 0)
		return r;
	if (delta > 0)
		(void)dir_links_inc(s, &in, false); /* checked beforehand */
	else if (delta < 0)
		dir_links_dec(&in);
	set_mctime(s, &in, ts);
	return inode_put(s, dir, &in);
}

/* Whether dir is anc or below it: a directory cannot move into itself. */
static int dir_is_below(struct e2fuse *s, ext2_ino_t dir, ext2_ino_t anc)
{
	for (unsigned depth = 0; depth < 4096; depth++) {
		ext2_ino_t up;
		errcode_t err;

		if (dir == anc)
			return 1;
		if (dir == EXT2_ROOT_INO)
			return 0;
		err = ext2fs_lookup(s->fs, dir, "..", 2, NULL, &up);
		if (err)
			return e2_fail(err, "cannot look up '..'", dir);
		dir = up;
	}
	return -ELOOP;
}

/* ---- creating inodes ---- */

struct new_inode {
	unsigned mode; /* with the type */
	dev_t rdev;
	const char *target; /* symlinks */
};

/* Creates name in dir: a regular file, directory, symlink, device, FIFO or socket, owned by the
 * caller (the group of a setgid directory), with every time now. */
static int inode_create(struct e2fuse *s, fuse_req_t req, ext2_ino_t dir, const char *name,
			const struct new_inode *ni, ext2_ino_t *ret_ino,
			struct ext2_inode_large *ret_in)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	ext2_filsys fs = s->fs;
	struct ext2_inode_large pin, in = { 0 };
	unsigned type = ni->mode & LINUX_S_IFMT, mode = ni->mode & ~ctx->umask & 07777;
	bool is_dir = type == LINUX_S_IFDIR;
	size_t target_len = ni->target ? strlen(ni->target) : 0;
	bool slow_link = type == LINUX_S_IFLNK && target_len >= sizeof(in.i_block);
	struct timespec ts = now();
	gid_t gid = ctx->gid;
	ext2_ino_t ino, found;
	errcode_t err;
	int r;

	r = dir_lookup(s, dir, name, &found);
	if (r == 0)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	r = inode_get(s, dir, &pin);
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(pin.i_mode))
		return -ENOTDIR;
	if (pin.i_links_count == 0)
		return -ENOENT; /* removed while open */
	if (is_dir) {
		r = dir_links_inc(s, &pin, true);
		if (r < 0)
			return r;
	}
	if (type == LINUX_S_IFLNK && (target_len == 0 || target_len >= s->blocksize))
		return target_len ? -ENAMETOOLONG : -ENOENT;
	/* A block for a directory or slow symlink, one more if dir must grow. */
	if (!can_alloc(s, 1 + is_dir + slow_link, ctx->uid == 0))
		return -ENOSPC;
	if (pin.i_mode & LINUX_S_ISGID) {
		gid = inode_gid(pin);
		if (is_dir)
			mode |= LINUX_S_ISGID;
	}

	err = ext2fs_new_inode(fs, dir, (int)(type | mode), NULL, &ino);
	if (err == EXT2_ET_INODE_ALLOC_FAIL && reclaim_orphans(s))
		err = ext2fs_new_inode(fs, dir, (int)(type | mode), NULL, &ino);
	if (err)
		return e2_fail(err, "cannot allocate an inode", dir);
	in.i_mode = (__u16)(type | mode);
	set_owner(&in, ctx->uid, gid);
	in.i_links_count = is_dir ? 2 : 1;
	if (s->large_inodes)
		in.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	SET_TIME(s, &in, i_atime, ts);
	SET_TIME(s, &in, i_mtime, ts);
	SET_TIME(s, &in, i_ctime, ts);
	if (IN_FITS(&in, i_crtime))
		SET_TIME(s, &in, i_crtime, ts);
	if (type == LINUX_S_IFCHR || type == LINUX_S_IFBLK)
		set_rdev(&in, ni->rdev);
	if (type == LINUX_S_IFLNK && !slow_link) {
		memcpy(in.i_block, ni->target, target_len);
		in.i_size = (__u32)target_len;
	}
	if ((type == LINUX_S_IFREG || is_dir || slow_link) &&
	    ext2fs_has_feature_extents(fs->super)) {
		struct ext3_extent_header *eh = (struct ext3_extent_header *)in.i_block;

		eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
		eh->eh_max = ext2fs_cpu_to_le16((sizeof(in.i_block) - sizeof(*eh)) /
						sizeof(struct ext3_extent));
		in.i_flags |= EXT4_EXTENTS_FL;
	}
	r = inode_put_new(s, ino, &in);
	if (r < 0)
		return r;
	ext2fs_inode_alloc_stats2(fs, ino, +1, is_dir);

	if (is_dir) {
		/* The block first, with "." and "..": its checksum needs the inode on disk. */
		blk64_t blk;
		char *block = NULL;

		blk64_t goal = ext2fs_find_inode_goal(fs, ino, (struct ext2_inode *)&in, 0);

		err = ext2fs_new_block2(fs, goal, NULL, &blk);
		if (!err) {
			ext2fs_block_alloc_stats2(fs, blk, +1);
			err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)&in, s->bmap_buf, BMAP_SET,
					   0, NULL, &blk);
			if (err)
				ext2fs_block_alloc_stats2(fs, blk, -1);
		}
		if (!err)
			err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)&in, 1);
		if (!err)
			err = ext2fs_inode_size_set(fs, (struct ext2_inode *)&in, s->blocksize);
		if (!err)
			err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in,
						      sizeof(in));
		if (!err)
			err = ext2fs_new_dir_block(fs, ino, dir, &block);
		if (!err)
			err = ext2fs_write_dir_block4(fs, blk, block, 0, ino);
		ext2fs_free_mem(&block);
		if (err) {
			r = e2_fail(err, "cannot create a directory", ino);
			goto undo;
		}
	} else if (slow_link) {
		r = file_write(s, ino, &in, 0, ni->target, target_len, true);
		if (r >= 0)
			r = inode_put(s, ino, &in);
		if (r < 0)
			goto undo;
	}

	r = dir_link(s, dir, name, ino, in.i_mode);
	if (r < 0)
		goto undo;
	r = dir_touch(s, dir, is_dir, ts);
	if (r < 0)
		return r;
	*ret_ino = ino;
	*ret_in = in;
	return 0;
undo:
	(void)inode_free(s, ino);
	return r;
}

/* ---- replies ---- */

static void reply_entry(struct e2fuse *s, fuse_req_t req, ext2_ino_t ino,
			struct ext2_inode_large *in)
{
	struct fuse_entry_param e = {
		.ino = to_fuse(ino),
		.generation = in->i_generation,
		.attr_timeout = E2FUSE_TIMEOUT,
		.entry_timeout = E2FUSE_TIMEOUT,
	};

	inode_stat(s, ino, in, &e.attr);
	node_get(s, ino)->nlookup++;
	if (fuse_reply_entry(req, &e) != 0)
		node_forget(s, ino, 1); /* the request was interrupted: the kernel has nothing */
}

static void reply_attr(struct e2fuse *s, fuse_req_t req, ext2_ino_t ino,
		       struct ext2_inode_large *in)
{
	struct stat st;

	inode_stat(s, ino, in, &st);
	fuse_reply_attr(req, &st, E2FUSE_TIMEOUT);
}

/* ---- operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct e2fuse *s = userdata;

	/* The kernel clears setuid bits and capabilities on write and chown itself. */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* Nobody else changes the files: no need to drop cached pages when times change. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* No writeback cache: with it, write(2) always succeeds and a full filesystem shows only
	 * at close or fsync, which shell redirections and many programs never check (and a
	 * writer that stops at ENOSPC never stops). tar -x is no faster with it either. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* No open and release requests: two round trips for every file a program opens (the
	 * loader's libraries and locale files at each exec). op_open answers ENOSYS, after which
	 * the kernel keeps the page cache (keep_cache) and sends O_TRUNC as a setattr. Orphans
	 * are then freed when the kernel forgets them (node_release). */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		s->no_open = true;
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	}
	if (conn->max_write > E2FUSE_MAX_IO)
		conn->max_write = E2FUSE_MAX_IO;
	conn->time_gran = s->large_inodes ? 1 : 1000000000;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	int r;

	r = ino_check(s, parent, &dir);
	if (r >= 0)
		r = dir_lookup(s, dir, name, &ino);
	if (r == -ENOENT) {
		/* Cached too: the name cannot appear behind the kernel's back. */
		struct fuse_entry_param e = { .entry_timeout = E2FUSE_TIMEOUT };

		fuse_reply_entry(req, &e);
		return;
	}
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(s, req, ino, &in);
}

static void op_forget(fuse_req_t req, fuse_ino_t fino, uint64_t nlookup)
{
	struct e2fuse *s = fuse_req_userdata(req);

	node_forget(s, to_ext2(fino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct e2fuse *s = fuse_req_userdata(req);

	for (size_t i = 0; i < count; i++)
		node_forget(s, to_ext2(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_attr(s, req, ino, &in);
}

static void op_setattr(fuse_req_t req, fuse_ino_t fino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct timespec ts = now();
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0)
		goto out;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			r = -EINVAL;
			goto out;
		}
		if (!LINUX_S_ISREG(in.i_mode)) {
			r = LINUX_S_ISDIR(in.i_mode) ? -EISDIR : -EINVAL;
			goto out;
		}
		if ((uint64_t)attr->st_size != EXT2_I_SIZE(&in)) {
			r = file_truncate(s, ino, &in, (uint64_t)attr->st_size);
			if (r < 0)
				goto out;
			/* truncate(2) changes the times itself; ftruncate says so. */
			if (!(to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)))
				SET_TIME(s, &in, i_mtime, ts);
		}
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		in.i_mode = (__u16)((in.i_mode & LINUX_S_IFMT) | (attr->st_mode & 07777));
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		set_owner(&in, to_set & FUSE_SET_ATTR_UID ? attr->st_uid : inode_uid(in),
			  to_set & FUSE_SET_ATTR_GID ? attr->st_gid : inode_gid(in));
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		SET_TIME(s, &in, i_atime, ts);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		SET_TIME(s, &in, i_atime, attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		SET_TIME(s, &in, i_mtime, ts);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		SET_TIME(s, &in, i_mtime, attr->st_mtim);
	/* Any change is one of the inode: its ctime is now, unless the kernel says when. */
	if (to_set & FUSE_SET_ATTR_CTIME)
		set_ctime(s, &in, attr->st_ctim);
	else
		set_ctime(s, &in, ts);
	r = inode_put(s, ino, &in);
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_attr(s, req, ino, &in);
}

static void op_readlink(fuse_req_t req, fuse_ino_t fino)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	_cleanup_free_ char *target = NULL;
	uint64_t size;
	size_t got = 0;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0)
		goto out;
	size = EXT2_I_SIZE(&in);
	if (!LINUX_S_ISLNK(in.i_mode) || size == 0 || size >= s->blocksize) {
		r = LINUX_S_ISLNK(in.i_mode) ? -EIO : -EINVAL;
		goto out;
	}
	target = xmalloc(size + 1);
	if (!(in.i_flags & EXT4_INLINE_DATA_FL) &&
	    ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
		memcpy(target, in.i_block, size < sizeof(in.i_block) ? size : sizeof(in.i_block));
		got = size < sizeof(in.i_block) ? size : sizeof(in.i_block);
	} else {
		r = file_read(s, ino, &in, 0, size, target, &got);
	}
	target[got] = 0;
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
}

static void do_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      const struct new_inode *ni)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	int r;

	r = ino_check(s, parent, &dir);
	if (r >= 0)
		r = inode_create(s, req, dir, name, ni, &ino, &in);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(s, req, ino, &in);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		do_create(req, parent, name, &(struct new_inode){ .mode = mode, .rdev = rdev });
		return;
	default:
		fuse_reply_err(req, EINVAL);
	}
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	do_create(req, parent, name, &(struct new_inode){ .mode = S_IFDIR | (mode & 07777) });
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	do_create(req, parent, name, &(struct new_inode){ .mode = S_IFLNK | 0777, .target = link });
}

/* Takes a name away from ino (a directory: its only one). */
static int drop_link(struct e2fuse *s, ext2_ino_t ino, struct timespec ts)
{
	struct ext2_inode_large in;
	int r = inode_get(s, ino, &in);

	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode) || in.i_links_count <= 1)
		in.i_links_count = 0;
	else
		in.i_links_count--;
	set_ctime(s, &in, ts);
	r = inode_put(s, ino, &in);
	if (r < 0 || in.i_links_count)
		return r;
	return inode_unlinked(s, ino);
}

static int do_remove(struct e2fuse *s, fuse_ino_t parent, const char *name, bool rmdir)
{
	struct timespec ts = now();
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	int r;

	r = ino_check(s, parent, &dir);
	if (r >= 0)
		r = dir_lookup(s, dir, name, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0)
		return r;
	if (rmdir) {
		if (!LINUX_S_ISDIR(in.i_mode))
			return -ENOTDIR;
		if (ino == EXT2_ROOT_INO)
			return -EBUSY;
		r = dir_empty(s, ino);
		if (r < 0)
			return r;
	} else if (LINUX_S_ISDIR(in.i_mode)) {
		return -EISDIR;
	}
	r = dir_unlink(s, dir, name, ino);
	if (r < 0)
		return r;
	r = dir_touch(s, dir, rmdir ? -1 : 0, ts);
	if (r < 0)
		return r;
	return drop_link(s, ino, ts);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(fuse_req_userdata(req), parent, name, false));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -do_remove(fuse_req_userdata(req), parent, name, true));
}

static int do_rename(struct e2fuse *s, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned flags)
{
	struct timespec ts = now();
	struct ext2_inode_large sin, din, pin;
	ext2_ino_t sdir, ddir, sino, dino = 0;
	bool is_dir, moves;
	int r;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	r = ino_check(s, parent, &sdir);
	if (r >= 0)
		r = ino_check(s, newparent, &ddir);
	if (r >= 0)
		r = dir_lookup(s, sdir, name, &sino);
	if (r >= 0)
		r = check_name(newname);
	if (r < 0)
		return r;
	r = dir_lookup(s, ddir, newname, &dino);
	if (r == -ENOENT)
		dino = 0;
	else if (r < 0)
		return r;
	if (dino && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (dino == sino)
		return 0; /* two names of one file: nothing to do */
	r = inode_get(s, sino, &sin);
	if (r < 0)
		return r;
	is_dir = LINUX_S_ISDIR(sin.i_mode);
	if (dino) {
		r = inode_get(s, dino, &din);
		if (r < 0)
			return r;
		if (is_dir && !LINUX_S_ISDIR(din.i_mode))
			return -ENOTDIR;
		if (!is_dir && LINUX_S_ISDIR(din.i_mode))
			return -EISDIR;
		if (LINUX_S_ISDIR(din.i_mode)) {
			r = dir_empty(s, dino);
			if (r < 0)
				return r;
		}
	}
	moves = is_dir && sdir != ddir;
	if (moves) {
		r = dir_is_below(s, ddir, sino);
		if (r != 0)
			return r > 0 ? -EINVAL : r;
		if (!dino || !LINUX_S_ISDIR(din.i_mode)) {
			r = inode_get(s, ddir, &pin);
			if (r >= 0)
				r = dir_links_inc(s, &pin, true);
			if (r < 0)
				return r;
		}
	}

	/* The new name first: a failure leaves the old one. */
	if (dino)
		r = dir_set_entry(s, ddir, newname, sino, ext2_mode_ftype(sin.i_mode));
	else
		r = dir_link(s, ddir, newname, sino, sin.i_mode);
	if (r < 0)
		return r;
	r = dir_unlink(s, sdir, name, sino);
	if (r < 0)
		return r;
	if (moves) {
		r = dir_set_entry(s, sino, "..", ddir, -1);
		if (r < 0)
			return r;
	}
	r = inode_get(s, sino, &sin);
	if (r < 0)
		return r;
	set_ctime(s, &sin, ts);
	r = inode_put(s, sino, &sin);
	if (r < 0)
		return r;
	/* Link counts: a directory's ".." moves from sdir to ddir; a directory replaced at ddir
	 * takes its ".." away. */
	r = dir_touch(s, sdir, moves ? -1 : 0, ts);
	if (r >= 0 && ddir != sdir)
		r = dir_touch(s, ddir, (moves ? 1 : 0) - (dino && LINUX_S_ISDIR(din.i_mode)), ts);
	else if (r >= 0 && dino && LINUX_S_ISDIR(din.i_mode))
		r = dir_touch(s, ddir, -1, ts);
	if (r < 0)
		return r;
	return dino ? drop_link(s, dino, ts) : 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	fuse_reply_err(req,
		       -do_rename(fuse_req_userdata(req), parent, name, newparent, newname, flags));
}

static void op_link(fuse_req_t req, fuse_ino_t fino, fuse_ino_t newparent, const char *newname)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct timespec ts = now();
	struct ext2_inode_large in;
	ext2_ino_t ino, dir, found;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = ino_check(s, newparent, &dir);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r < 0)
		goto out;
	if (LINUX_S_ISDIR(in.i_mode)) {
		r = -EPERM;
		goto out;
	}
	if (in.i_links_count == 0) {
		r = -ENOENT;
		goto out;
	}
	if (in.i_links_count >= EXT2_LINK_MAX) {
		r = -EMLINK;
		goto out;
	}
	r = dir_lookup(s, dir, newname, &found);
	if (r == 0)
		r = -EEXIST;
	else if (r == -ENOENT)
		r = can_alloc(s, 1, req_root(req)) ? 0 : -ENOSPC;
	if (r < 0)
		goto out;
	r = dir_link(s, dir, newname, ino, in.i_mode);
	if (r < 0)
		goto out;
	in.i_links_count++;
	set_ctime(s, &in, ts);
	r = inode_put(s, ino, &in);
	if (r >= 0)
		r = dir_touch(s, dir, 0, ts);
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(s, req, ino, &in);
}

/* What open and create share: O_TRUNC (the kernel leaves it to us; a file just created has
 * nothing to lose), the kernel's page cache kept across opens. */
static int open_file(struct e2fuse *s, ext2_ino_t ino, struct ext2_inode_large *in,
		     struct fuse_file_info *fi, bool created)
{
	int r;

	if (LINUX_S_ISDIR(in->i_mode))
		return -EISDIR;
	if ((fi->flags & O_TRUNC) && LINUX_S_ISREG(in->i_mode) && !created) {
		struct timespec ts = now();

		r = file_truncate(s, ino, in, 0);
		if (r < 0)
			return r;
		set_mctime(s, in, ts);
		r = inode_put(s, ino, in);
		if (r < 0)
			return r;
	}
	fi->keep_cache = 1;
	fi->fh = 0;
	if (!s->no_open) /* else the kernel sends no release */
		node_get(s, ino)->nopen++;
	return 0;
}

static void open_failed(struct e2fuse *s, ext2_ino_t ino)
{
	struct node *n = node_find(s, ino);

	if (n && n->nopen) {
		n->nopen--;
		node_release(s, n);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	if (s->no_open) {
		fuse_reply_err(req, ENOSYS); /* see op_init */
		return;
	}
	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r >= 0)
		r = open_file(s, ino, &in, fi, false);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) != 0)
		open_failed(s, ino);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct new_inode ni = { .mode = S_IFREG | (mode & 07777) };
	struct fuse_entry_param e = {
		.attr_timeout = E2FUSE_TIMEOUT,
		.entry_timeout = E2FUSE_TIMEOUT,
	};
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	bool created = true;
	int r;

	r = ino_check(s, parent, &dir);
	if (r >= 0)
		r = inode_create(s, req, dir, name, &ni, &ino, &in);
	if (r == -EEXIST && !(fi->flags & O_EXCL)) {
		/* Only if the kernel's view was stale: open what is there. */
		created = false;
		r = dir_lookup(s, dir, name, &ino);
		if (r >= 0)
			r = inode_get(s, ino, &in);
	}
	if (r >= 0)
		r = open_file(s, ino, &in, fi, created);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = to_fuse(ino);
	e.generation = in.i_generation;
	inode_stat(s, ino, &in, &e.attr);
	node_get(s, ino)->nlookup++;
	if (fuse_reply_create(req, &e, fi) != 0) {
		node_forget(s, ino, 1);
		open_failed(s, ino);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	_cleanup_free_ char *buf = NULL;
	size_t got = 0;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r >= 0 && off < 0)
		r = -EINVAL;
	if (r >= 0 && !LINUX_S_ISREG(in.i_mode))
		r = LINUX_S_ISDIR(in.i_mode) ? -EISDIR : -EINVAL;
	if (r >= 0) {
		if (size > E2FUSE_MAX_IO)
			size = E2FUSE_MAX_IO;
		buf = xmalloc(size ? size : 1);
		r = file_read(s, ino, &in, (uint64_t)off, size, buf, &got);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, got);
}

static void op_write(fuse_req_t req, fuse_ino_t fino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r >= 0 && off < 0)
		r = -EINVAL;
	if (r >= 0 && !LINUX_S_ISREG(in.i_mode))
		r = LINUX_S_ISDIR(in.i_mode) ? -EISDIR : -EINVAL;
	/* O_APPEND needs nothing here: the kernel, which knows the size, gives the offset. */
	if (r >= 0)
		r = file_write(s, ino, &in, (uint64_t)off, buf, size, req_root(req));
	if (r >= 0) {
		set_mctime(s, &in, now());
		r = inode_put(s, ino, &in);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

static void op_release(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	open_failed(fuse_req_userdata(req), to_ext2(fino));
	fuse_reply_err(req, 0);
}

static void snap_free(struct e2fuse *s, struct dir_snap *d)
{
	if (!d)
		return;
	if (d->prev)
		d->prev->next = d->next;
	else
		s->snaps = d->next;
	if (d->next)
		d->next->prev = d->prev;
	free(d->ents);
	free(d->names);
	free(d);
}

static int snap_add(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct dir_snap *d = priv;
	size_t len = (size_t)ext2fs_dirent_name_len(de);

	if (!de->inode)
		return 0;
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->ents = xrealloc(d->ents, d->cap * sizeof(*d->ents));
	}
	if (d->names_len + len + 1 > d->names_cap) {
		d->names_cap = d->names_cap ? 2 * d->names_cap : 4096;
		while (d->names_len + len + 1 > d->names_cap)
			d->names_cap *= 2;
		d->names = xrealloc(d->names, d->names_cap);
	}
	d->ents[d->n++] = (struct snap_ent){
		.ino = de->inode,
		.name_off = (uint32_t)d->names_len,
		.type = (uint8_t)ext2fs_dirent_file_type(de),
	};
	memcpy(d->names + d->names_len, de->name, len);
	d->names[d->names_len + len] = 0;
	d->names_len += len + 1;
	return 0;
}

static void op_opendir(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_inode_large in;
	struct dir_snap *d;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = inode_get(s, ino, &in);
	if (r >= 0 && !LINUX_S_ISDIR(in.i_mode))
		r = -ENOTDIR;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->next = s->snaps;
	if (s->snaps)
		s->snaps->prev = d;
	s->snaps = d;
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		snap_free(s, d);
}

/* readdir, and readdirplus (plus): the attributes of each entry along, as lookup gives them
 * (a reference each, but for "." and ".."), which saves a lookup per name to ls -l or find. */
static void do_readdir(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct dir_snap *d = (struct dir_snap *)(uintptr_t)fi->fh;
	_cleanup_free_ char *buf = NULL;
	size_t pos = 0;
	ext2_ino_t ino;
	int r;

	r = ino_check(s, fino, &ino);
	if (r < 0 || !d) {
		fuse_reply_err(req, r < 0 ? -r : EBADF);
		return;
	}
	if (off == 0 || !d->filled) {
		errcode_t err;

		d->n = 0;
		d->names_len = 0;
		err = ext2fs_dir_iterate2(s->fs, ino, 0, NULL, snap_add, d);
		if (err) {
			d->filled = false;
			fuse_reply_err(req, -e2_fail(err, "cannot read a directory", ino));
			return;
		}
		d->filled = true;
	}
	if (size > E2FUSE_MAX_IO)
		size = E2FUSE_MAX_IO;
	buf = xmalloc(size ? size : 1);
	for (size_t i = off < 0 ? d->n : (size_t)off; i < d->n; i++) {
		const char *name = d->names + d->ents[i].name_off;
		struct fuse_entry_param e = {
			.attr.st_ino = d->ents[i].ino,
			.attr.st_mode = ftype_mode(d->ents[i].type),
		};
		struct ext2_inode_large in;
		size_t len;

		if (!plus) {
			len = fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr,
						(off_t)i + 1);
		} else {
			/* No attributes for "." and "..", nor for an entry whose inode cannot
			 * be read: the kernel looks those up. */
			if (!streq(name, ".") && !streq(name, "..") &&
			    inode_get(s, d->ents[i].ino, &in) == 0) {
				e.ino = to_fuse(d->ents[i].ino);
				e.generation = in.i_generation;
				e.attr_timeout = E2FUSE_TIMEOUT;
				e.entry_timeout = E2FUSE_TIMEOUT;
				inode_stat(s, d->ents[i].ino, &in, &e.attr);
			}
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e,
						     (off_t)i + 1);
		}
		if (len > size - pos)
			break;
		pos += len;
		if (e.ino)
			node_get(s, d->ents[i].ino)->nlookup++;
	}
	/* Should the reply not reach the kernel (an interrupted request), the references
	 * above are never forgotten: the node stays until e2fuse_free(). */
	fuse_reply_buf(req, buf, pos);
}

static void op_readdir(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, fino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, fino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	snap_free(fuse_req_userdata(req), (struct dir_snap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t fino)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_super_block *sb = s->fs->super;
	uint64_t bfree = ext2fs_free_blocks_count(sb), resv = ext2fs_r_blocks_count(sb);
	struct statvfs st = {
		.f_bsize = s->blocksize,
		.f_frsize = s->blocksize,
		.f_blocks = ext2fs_blocks_count(sb),
		.f_bfree = bfree,
		.f_bavail = bfree > resv ? bfree - resv : 0,
		.f_files = sb->s_inodes_count,
		.f_ffree = sb->s_free_inodes_count,
		.f_favail = sb->s_free_inodes_count,
		.f_namemax = EXT2_NAME_LEN,
	};
	uint64_t fsid;

	memcpy(&fsid, sb->s_uuid, sizeof(fsid));
	st.f_fsid = (unsigned long)fsid;
	fuse_reply_statfs(req, &st);
}

/* ---- extended attributes ---- */

/* The namespaces ext2 stores; "system.data" (inline data) is the filesystem's own. */
static int xattr_name_check(const char *name)
{
	if (strlen(name) > 255)
		return -ERANGE;
	if ((startswith(name, "user.") || startswith(name, "trusted.") ||
	     startswith(name, "security.")) &&
	    strchr(name, '.')[1])
		return 0;
	if (streq(name, "system.posix_acl_access") || streq(name, "system.posix_acl_default"))
		return 0;
	return -EOPNOTSUPP;
}

/* Whether the inode has any extended attribute (in an EA block or in the inode's spare room):
 * the kernel asks for security.capability before every write, and most files have none. */
static int has_xattrs(struct e2fuse *s, ext2_ino_t ino, bool *ret)
{
	struct ext2_inode_large *in = (struct ext2_inode_large *)s->inode_buf;
	errcode_t err;
	size_t off;
	uint32_t magic;

	err = ext2fs_read_inode_full(s->fs, ino, (struct ext2_inode *)in, s->inode_size);
	if (err)
		return e2_fail(err, "cannot read inode", ino);
	*ret = true;
	if (ext2fs_file_acl_block(s->fs, (struct ext2_inode *)in) ||
	    (in->i_flags & EXT4_INLINE_DATA_FL))
		return 0;
	if (s->large_inodes) {
		off = EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize;
		if (off + sizeof(magic) <= s->inode_size) {
			memcpy(&magic, s->inode_buf + off, sizeof(magic));
			if (ext2fs_le32_to_cpu(magic) == EXT2_EXT_ATTR_MAGIC)
				return 0;
		}
	}
	*ret = false;
	return 0;
}

static int xattrs_open(struct e2fuse *s, ext2_ino_t ino, struct ext2_xattr_handle **ret)
{
	struct ext2_xattr_handle *h;
	errcode_t err = ext2fs_xattrs_open(s->fs, ino, &h);

	if (err)
		return e2_fail(err, "cannot read extended attributes", ino);
	err = ext2fs_xattrs_read(h);
	if (err) {
		ext2fs_xattrs_close(&h);
		return e2_fail(err, "cannot read extended attributes", ino);
	}
	*ret = h;
	return 0;
}

/* The permission bits an access ACL (the kernel's xattr form: a version, then tag, perm, id
 * entries) stands for, and whether it says nothing more than they do. */
#define ACL_XATTR_VERSION 2
enum { ACL_USER_OBJ = 1, ACL_USER = 2, ACL_GROUP_OBJ = 4, ACL_GROUP = 8, ACL_MASK = 16,
       ACL_OTHER = 32 };

static int acl_mode(const char *value, size_t size, unsigned *ret_perm, bool *ret_equiv)
{
	unsigned perm = 0, group = 0, mask = 0, seen = 0;
	uint32_t version;

	if (size < 4 || (size - 4) % 8)
		return -EINVAL;
	memcpy(&version, value, 4);
	if (ext2fs_le32_to_cpu(version) != ACL_XATTR_VERSION)
		return -EINVAL;
	for (size_t off = 4; off < size; off += 8) {
		uint16_t tag, p;

		memcpy(&tag, value + off, 2);
		memcpy(&p, value + off + 2, 2);
		tag = ext2fs_le16_to_cpu(tag);
		p = ext2fs_le16_to_cpu(p) & 7;
		switch (tag) {
		case ACL_USER_OBJ:
			perm |= p << 6;
			break;
		case ACL_GROUP_OBJ:
			group = p;
			break;
		case ACL_MASK:
			mask = p;
			break;
		case ACL_OTHER:
			perm |= p;
			break;
		case ACL_USER:
		case ACL_GROUP:
			break;
		default:
			return -EINVAL;
		}
		seen |= tag;
	}
	if ((seen & (ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER)) !=
	    (ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER))
		return -EINVAL;
	*ret_perm = perm | (seen & ACL_MASK ? mask : group) << 3;
	*ret_equiv = !(seen & (ACL_USER | ACL_GROUP | ACL_MASK));
	return 0;
}

/* The inode's ctime is now, and its permission bits perm when perm >= 0. */
static int xattr_touch(struct e2fuse *s, ext2_ino_t ino, int perm)
{
	struct ext2_inode_large in;
	int r = inode_get(s, ino, &in);

	if (r < 0)
		return r;
	if (perm >= 0)
		in.i_mode = (__u16)((in.i_mode & ~0777) | perm);
	set_ctime(s, &in, now());
	return inode_put(s, ino, &in);
}

static int do_setxattr(struct e2fuse *s, fuse_ino_t fino, const char *name, const char *value,
		       size_t size, int flags)
{
	struct ext2_xattr_handle *h;
	void *old = NULL;
	size_t old_len;
	ext2_ino_t ino;
	unsigned perm = 0;
	bool is_acl = streq(name, "system.posix_acl_access"), equiv = false;
	errcode_t err;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = xattr_name_check(name);
	if (r >= 0 && size > s->blocksize)
		r = -E2BIG;
	/* Without FUSE's ACL support the kernel hands ACLs over as they are; the mode must
	 * follow them, as on any filesystem (cp -a sets permissions that way). An ACL that
	 * says no more than the mode is not stored. */
	if (r >= 0 && is_acl)
		r = acl_mode(value, size, &perm, &equiv);
	if (r >= 0)
		r = xattrs_open(s, ino, &h);
	if (r < 0)
		return r;
	err = ext2fs_xattr_get(h, name, &old, &old_len);
	ext2fs_free_mem(&old);
	if (err && err != EXT2_ET_EA_KEY_NOT_FOUND)
		r = e2_fail(err, "cannot read extended attributes", ino);
	else if (!err && (flags & XATTR_CREATE))
		r = -EEXIST;
	else if (err && (flags & XATTR_REPLACE))
		r = -ENODATA;
	if (r >= 0) {
		if (equiv)
			err = err ? 0 : ext2fs_xattr_remove(h, name);
		else
			err = ext2fs_xattr_set(h, name, value, size);
		if (err)
			r = e2_fail(err, "cannot write extended attributes", ino);
	}
	ext2fs_xattrs_close(&h);
	return r < 0 ? r : xattr_touch(s, ino, is_acl ? (int)perm : -1);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t fino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, -do_setxattr(fuse_req_userdata(req), fino, name, value, size, flags));
}

static void op_getxattr(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct ext2_xattr_handle *h;
	void *value = NULL;
	size_t len = 0;
	ext2_ino_t ino;
	errcode_t err;
	bool any;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = xattr_name_check(name);
	if (r == -EOPNOTSUPP)
		r = -ENODATA;
	if (r >= 0)
		r = has_xattrs(s, ino, &any);
	if (r >= 0 && !any)
		r = -ENODATA;
	if (r >= 0)
		r = xattrs_open(s, ino, &h);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	err = ext2fs_xattr_get(h, name, &value, &len);
	ext2fs_xattrs_close(&h);
	if (err)
		fuse_reply_err(req, -e2_fail(err, "cannot read extended attributes", ino));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
	ext2fs_free_mem(&value);
}

struct xattr_list {
	char *buf;
	size_t len, cap;
};

static int list_one(char *name, char *value, size_t value_len, void *priv)
{
	struct xattr_list *l = priv;
	size_t n = strlen(name) + 1;

	if (xattr_name_check(name) < 0)
		return 0; /* system.data */
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2;
		l->buf = xrealloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, name, n);
	l->len += n;
	return 0;
}

static void op_listxattr(fuse_req_t req, fuse_ino_t fino, size_t size)
{
	struct e2fuse *s = fuse_req_userdata(req);
	struct xattr_list l = { 0 };
	struct ext2_xattr_handle *h;
	ext2_ino_t ino;
	errcode_t err;
	bool any = false;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = has_xattrs(s, ino, &any);
	if (r >= 0 && any) {
		r = xattrs_open(s, ino, &h);
		if (r >= 0) {
			err = ext2fs_xattrs_iterate(h, list_one, &l);
			if (err)
				r = e2_fail(err, "cannot read extended attributes", ino);
			ext2fs_xattrs_close(&h);
		}
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, l.len);
	else if (l.len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, l.buf, l.len);
	free(l.buf);
}

static int do_removexattr(struct e2fuse *s, fuse_ino_t fino, const char *name)
{
	struct ext2_xattr_handle *h;
	void *value = NULL;
	size_t len;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	r = ino_check(s, fino, &ino);
	if (r >= 0)
		r = xattr_name_check(name);
	if (r == -EOPNOTSUPP)
		r = -ENODATA;
	if (r >= 0)
		r = xattrs_open(s, ino, &h);
	if (r < 0)
		return r;
	err = ext2fs_xattr_get(h, name, &value, &len);
	ext2fs_free_mem(&value);
	if (!err)
		err = ext2fs_xattr_remove(h, name);
	ext2fs_xattrs_close(&h);
	if (err)
		return e2_fail(err, "cannot remove an extended attribute", ino);
	return xattr_touch(s, ino, -1);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t fino, const char *name)
{
	fuse_reply_err(req, -do_removexattr(fuse_req_userdata(req), fino, name));
}

/* Not implemented, on purpose: flush and fsync (ENOSYS, which the kernel takes as success
 * and stops sending: a round trip saved on every close), fallocate (EOPNOTSUPP; callers such
 * as dpkg go on without it), access (default_permissions). */
static const struct fuse_lowlevel_ops e2fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};

/* ---- sessions ---- */

static void fuse_log_cb(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (level <= FUSE_LOG_ERR)
		log_error("e2fuse: %s", buf);
	else if (level <= FUSE_LOG_WARNING)
		log_warn("e2fuse: %s", buf);
	else
		log_debug("e2fuse: %s", buf);
}

int e2fuse_new(ext2_filsys fs, int fuse_fd, const struct e2fuse_opts *o, struct e2fuse **ret)
{
	char *argv[] = { (char *)"mkbootmedia", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct e2fuse *s;
	char path[32];
	errcode_t err;
	int fd;

	if (!(fs->flags & EXT2_FLAG_RW))
		return log_errno(EROFS, "e2fuse: the filesystem is open read-only");
	err = ext2fs_read_bitmaps(fs);
	if (err)
		return ext2_log_error(err, "e2fuse: cannot read the bitmaps");
	ext2_scrub_frees(fs); /* whoever opened it: what is removed leaves nothing */
	fd = fcntl(fuse_fd, F_DUPFD_CLOEXEC, 3);
	/* Non-blocking (for the caller's descriptor too: they share the flag), so that a read
	 * after poll never waits: the kernel may withdraw an interrupted request meanwhile. */
	if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return log_errno(e, "e2fuse: cannot use /dev/fuse descriptor %d", fuse_fd);
	}

	fuse_set_log_func(fuse_log_cb);
	s = xcalloc(1, sizeof(*s));
	s->fs = fs;
	if (o)
		s->opts = *o;
	s->blocksize = fs->blocksize;
	s->inode_size = EXT2_INODE_SIZE(fs->super);
	s->large_inodes = s->inode_size > EXT2_GOOD_OLD_INODE_SIZE;
	s->block = xmalloc(fs->blocksize);
	s->dirbuf = xmalloc(fs->blocksize);
	s->bmap_buf = xmalloc(3 * (size_t)fs->blocksize);
	s->inode_buf = xcalloc(1, s->inode_size > sizeof(struct ext2_inode_large) ?
					  s->inode_size :
					  sizeof(struct ext2_inode_large));
	s->n_buckets = 1024;
	s->nodes = xcalloc(s->n_buckets, sizeof(*s->nodes));
	if (getenv("MKBOOTMEDIA_FUSE_STATS") && streq(getenv("MKBOOTMEDIA_FUSE_STATS"), "1")) {
		s->stats = xcalloc(1, sizeof(*s->stats));
		s->stats->started_ns = mono_ns();
	}

	s->se = fuse_session_new(&args, &e2fuse_ops, sizeof(e2fuse_ops), s);
	fuse_opt_free_args(&args);
	if (!s->se) {
		close(fd);
		e2fuse_free(s);
		return log_fail("e2fuse: cannot create a FUSE session");
	}
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	if (fuse_session_mount(s->se, path) != 0) {
		close(fd);
		e2fuse_free(s);
		return log_fail("e2fuse: cannot attach to /dev/fuse descriptor %d", fuse_fd);
	}
	*ret = s;
	return 0;
}

void e2fuse_free(struct e2fuse *s)
{
	_cleanup_free_ ext2_ino_t *orphans = NULL;
	size_t n_orphans = 0;

	if (!s)
		return;
	if (s->stats)
		stats_print(s);
	free(s->stats);
	orphans = xcalloc(s->n_nodes + 1, sizeof(*orphans));
	for (size_t i = 0; s->nodes && i < s->n_buckets; i++) {
		struct node *n = s->nodes[i], *next;

		for (; n; n = next) {
			next = n->next;
			if (n->orphan)
				orphans[n_orphans++] = n->ino;
			free(n);
		}
	}
	/* In order: the bitmaps' history must not follow the hash table's. */
	qsort(orphans, n_orphans, sizeof(*orphans), cmp_ino);
	for (size_t i = 0; i < n_orphans; i++)
		(void)inode_free(s, orphans[i]);
	while (s->snaps)
		snap_free(s, s->snaps);
	for (size_t i = 0; i < DINDEX_BUCKETS; i++)
		while (s->dindex[i])
			dindex_drop(s, s->dindex[i]->dir);
	if (s->se)
		fuse_session_destroy(s->se); /* closes our descriptor */
	free(s->buf.mem);
	free(s->nodes);
	free(s->block);
	free(s->dirbuf);
	free(s->bmap_buf);
	free(s->inode_buf);
	free(s);
}

/* Reads and answers one request. */
static int serve_one(struct e2fuse *s)
{
	int r = fuse_session_receive_buf(s->se, &s->buf);

	if (r == -EINTR || r == -EAGAIN || r == -ENOENT)
		return 0; /* ENOENT: the request was interrupted before we read it */
	if (r < 0) {
		if (fuse_session_exited(s->se))
			return 0;
		return log_errno(r, "e2fuse: cannot read from /dev/fuse");
	}
	if (r > 0 && s->stats && !(s->buf.flags & FUSE_BUF_IS_FD) && (size_t)r >= 8) {
		uint32_t opcode;
		uint64_t t0 = mono_ns();

		/* struct fuse_in_header: len, opcode, ... */
		memcpy(&opcode, (const char *)s->buf.mem + 4, sizeof(opcode));
		fuse_session_process_buf(s->se, &s->buf);
		opcode = opcode < E2FUSE_OPCODES ? opcode : 0;
		s->stats->count[opcode]++;
		s->stats->ns[opcode] += mono_ns() - t0;
		s->stats->bytes[opcode] += (uint64_t)r;
	} else if (r > 0) {
		fuse_session_process_buf(s->se, &s->buf);
	}
	return 0;
}

/* Answers what is pending on every live session, without waiting for more. */
static int drain(struct e2fuse *const *servers, size_t n, struct pollfd *pfd)
{
	for (;;) {
		size_t busy = 0;
		int r;

		for (size_t i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){ .fd = -1 };
			if (!fuse_session_exited(servers[i]->se))
				pfd[i] = (struct pollfd){ .fd = fuse_session_fd(servers[i]->se),
							  .events = POLLIN };
		}
		r = poll(pfd, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return log_errno(errno, "e2fuse: poll");
		for (size_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			busy++;
			r = serve_one(servers[i]);
			if (r < 0)
				return r;
		}
		if (!busy)
			return 0;
	}
}

int e2fuse_serve(struct e2fuse *const *servers, size_t n, int stop_fd)
{
	_cleanup_free_ struct pollfd *pfd = xcalloc(n + 1, sizeof(*pfd));

	for (;;) {
		size_t live = 0;
		int r;

		for (size_t i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){ .fd = -1 };
			if (!fuse_session_exited(servers[i]->se)) {
				pfd[i] = (struct pollfd){ .fd = fuse_session_fd(servers[i]->se),
							  .events = POLLIN };
				live++;
			}
		}
		if (!live)
			return 0;
		pfd[n] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		r = poll(pfd, n + 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return log_errno(errno, "e2fuse: poll");
		for (size_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			r = serve_one(servers[i]);
			if (r < 0)
				return r;
		}
		if (stop_fd >= 0 && pfd[n].revents)
			return drain(servers, n, pfd);
	}
}
