/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tree.h"

#include <assert.h>
#include <inttypes.h>

#include "ext2.h"
#include "log.h"

#define TREE_MAX_SYMLINKS 40
#define TREE_MAX_PATH 4096
#define TREE_PROGRESS_MIN (64 << 20) /* files this large show progress */

struct tree_mount {
	char *path; /* "/" or "/boot" (no trailing slash) */
	ext2_filsys fs;
	blk64_t goal; /* where the next file's blocks go: files written in a row stay together */
};

/* Resolved parent directories, by the path text that named them. Unpacking thousands of
 * files into a few hundred directories would otherwise walk every path from the root and
 * re-read each directory on the way. Dropped whenever a symlink (which may be on a cached
 * path) is removed or a filesystem is mounted; directories themselves are never removed. */
struct dir_entry {
	char *key;
	size_t mount; /* index into mounts */
	ext2_ino_t ino;
	char *canon;
	struct dir_entry *next;
};
#define TREE_DIR_BUCKETS 4096

/* The names of each directory the tree writes to, hashed, while the tree is open: a lookup
 * with ext2fs_lookup reads the directory from its start, and so does ext2fs_link looking for
 * room, which made filling one directory with n names cost n^2 (a directory of 40,000 files
 * took minutes). With the index, a lookup is one hash probe and a new name is appended to
 * the directory's last block (ext2_dir_append); the index keeps the block each name is in,
 * so that replacing a name reads one block too (ext2_dir_remove). Dropped by tree_forget,
 * when something else changed the filesystems; past TREE_INDEX_MAX_BYTES, directories go
 * unindexed (slow, not wrong). */
struct dir_name {
	struct dir_name *next;
	ext2_ino_t ino;
	uint32_t hash;
	blk64_t lblk; /* the directory block holding the name, or EXT2_DIR_BLOCK_UNKNOWN */
	char name[]; /* NUL-terminated */
};

struct dir_index {
	struct dir_index *next; /* in tree.index */
	ext2_filsys fs;
	ext2_ino_t dir;
	struct dir_name **buckets;
	size_t n_buckets, n, bytes;
};
#define TREE_INDEX_BUCKETS 1024
#define TREE_INDEX_MAX_BYTES (512u << 20)

struct tree {
	struct tree_mount *mounts;
	size_t n_mounts;
	int64_t now;
	bool strict;
	const char *msg_path; /* the path messages name while its parent is resolved */
	struct dir_entry *dirs[TREE_DIR_BUCKETS];
	struct dir_index *index[TREE_INDEX_BUCKETS]; /* by directory inode */
	size_t index_bytes;
	char *dirbuf; /* scratch: one directory block (the largest block size) */
};

/* Where a resolved name lives: a directory inode in one filesystem, and the name in it. */
struct tree_loc {
	struct tree_mount *m;
	ext2_ino_t dir;
	char name[EXT2_NAME_LEN + 1]; /* "" when the path names the directory itself */
	char canon[TREE_MAX_PATH];    /* canonical path of the directory */
};

struct tree *tree_new(int64_t now)
{
	struct tree *t = xcalloc(1, sizeof(*t));

	t->now = now;
	return t;
}

static unsigned dir_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % TREE_DIR_BUCKETS;
}

static void dirs_clear(struct tree *t)
{
	for (size_t i = 0; i < TREE_DIR_BUCKETS; i++) {
		while (t->dirs[i]) {
			struct dir_entry *e = t->dirs[i];

			t->dirs[i] = e->next;
			free(e->key);
			free(e->canon);
			free(e);
		}
	}
}

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static struct dir_name **index_slot(struct dir_index *x, const char *name, size_t len,
				    uint32_t h)
{
	struct dir_name **p = &x->buckets[h & (x->n_buckets - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->hash == h && !strncmp((*p)->name, name, len) && !(*p)->name[len])
			break;
	return p;
}

static void index_put(struct tree *t, struct dir_index *x, const char *name, size_t len,
		      ext2_ino_t ino, blk64_t lblk)
{
	uint32_t h = name_hash(name, len);
	struct dir_name **p = index_slot(x, name, len, h), *d;

	if (*p) {
		(*p)->ino = ino;
		(*p)->lblk = lblk;
		return;
	}
	if (x->n >= x->n_buckets) {
		size_t nb = x->n_buckets * 2;
		struct dir_name **b = xcalloc(nb, sizeof(*b));

		for (size_t i = 0; i < x->n_buckets; i++)
			for (struct dir_name *e = x->buckets[i], *next; e; e = next) {
				next = e->next;
				e->next = b[e->hash & (nb - 1)];
				b[e->hash & (nb - 1)] = e;
			}
		free(x->buckets);
		x->buckets = b;
		x->n_buckets = nb;
		p = index_slot(x, name, len, h);
	}
	d = xmalloc(sizeof(*d) + len + 1);
	d->next = NULL;
	d->ino = ino;
	d->hash = h;
	d->lblk = lblk;
	memcpy(d->name, name, len);
	d->name[len] = 0;
	*p = d;
	x->n++;
	x->bytes += sizeof(*d) + len + 1;
	t->index_bytes += sizeof(*d) + len + 1;
}

static void index_del(struct tree *t, struct dir_index *x, const char *name)
{
	size_t len = strlen(name);
	struct dir_name **p = index_slot(x, name, len, name_hash(name, len)), *d = *p;

	if (!d)
		return;
	*p = d->next;
	x->n--;
	x->bytes -= sizeof(*d) + len + 1;
	t->index_bytes -= sizeof(*d) + len + 1;
	free(d);
}

static void index_free(struct dir_index *x)
{
	for (size_t i = 0; i < x->n_buckets; i++)
		for (struct dir_name *d = x->buckets[i], *next; d; d = next) {
			next = d->next;
			free(d);
		}
	free(x->buckets);
	free(x);
}

static void index_clear(struct tree *t)
{
	for (size_t i = 0; i < TREE_INDEX_BUCKETS; i++)
		while (t->index[i]) {
			struct dir_index *x = t->index[i];

			t->index[i] = x->next;
			index_free(x);
		}
	t->index_bytes = 0;
}

static struct dir_index *index_find(struct tree *t, ext2_filsys fs, ext2_ino_t dir)
{
	for (struct dir_index *x = t->index[dir % TREE_INDEX_BUCKETS]; x; x = x->next)
		if (x->dir == dir && x->fs == fs)
			return x;
	return NULL;
}

struct index_fill {
	struct tree *t;
	struct dir_index *x;
	blk64_t lblk; /* counts the blocks: each one's first entry is at offset 0 */
};

static int index_add_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
			   int blocksize, char *buf, void *priv)
{
	struct index_fill *f = priv;

	if (offset == 0)
		f->lblk++;
	if (d->inode)
		index_put(f->t, f->x, d->name, (size_t)ext2fs_dirent_name_len(d), d->inode,
			  f->lblk - 1);
	return 0;
}

/* The index of dir, read now when there is none yet; NULL for directories whose names do not
 * compare as bytes (casefolded, encrypted), on a read error (ext2fs_lookup will report it),
 * or past the memory cap. */
static struct dir_index *index_get(struct tree *t, ext2_filsys fs, ext2_ino_t dir)
{
	struct dir_index *x = index_find(t, fs, dir);
	struct ext2_inode in;
	struct index_fill f;

	if (x)
		return x;
	if (t->index_bytes > TREE_INDEX_MAX_BYTES || ext2fs_read_inode(fs, dir, &in) ||
	    !LINUX_S_ISDIR(in.i_mode) || (in.i_flags & (EXT4_CASEFOLD_FL | EXT4_ENCRYPT_FL)))
		return NULL;
	x = xcalloc(1, sizeof(*x));
	x->fs = fs;
	x->dir = dir;
	x->n_buckets = 16;
	x->buckets = xcalloc(x->n_buckets, sizeof(*x->buckets));
	f = (struct index_fill){ t, x, 0 };
	/* Empty entries too: a block may start with one. A wrong block number (a hole in the
	 * directory) costs only a fallback to ext2_dir_unlink. */
	if (ext2fs_dir_iterate2(fs, dir, DIRENT_FLAG_INCLUDE_EMPTY, NULL, index_add_entry, &f)) {
		t->index_bytes -= x->bytes;
		index_free(x);
		return NULL;
	}
	x->next = t->index[dir % TREE_INDEX_BUCKETS];
	t->index[dir % TREE_INDEX_BUCKETS] = x;
	return x;
}

/* ext2fs_lookup through the index: 0, EXT2_ET_FILE_NOT_FOUND or another error. */
static errcode_t dir_lookup(struct tree *t, ext2_filsys fs, ext2_ino_t dir, const char *name,
			    size_t len, ext2_ino_t *ret_ino)
{
	struct dir_index *x = index_get(t, fs, dir);
	struct dir_name *d;

	if (!x)
		return ext2fs_lookup(fs, dir, name, (int)len, NULL, ret_ino);
	d = *index_slot(x, name, len, name_hash(name, len));
	if (!d)
		return EXT2_ET_FILE_NOT_FOUND;
	*ret_ino = d->ino;
	return 0;
}

/* Links ino as name in dir (which must not hold name yet), growing the directory when its
 * last block is full. */
static errcode_t dir_link(struct tree *t, ext2_filsys fs, ext2_ino_t dir, const char *name,
			  ext2_ino_t ino, int ftype)
{
	struct dir_index *x = index_get(t, fs, dir);
	blk64_t lblk;
	errcode_t err;

	if (!t->dirbuf)
		t->dirbuf = xmalloc(EXT2_MAX_BLOCK_SIZE);
	err = ext2_dir_append(fs, dir, name, ino, ftype, t->dirbuf, &lblk);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(fs, dir);
		if (!err)
			err = ext2_dir_append(fs, dir, name, ino, ftype, t->dirbuf, &lblk);
	}
	if (!err && x)
		index_put(t, x, name, strlen(name), ino, lblk);
	return err;
}

static errcode_t dir_unlink(struct tree *t, ext2_filsys fs, ext2_ino_t dir, const char *name,
			    ext2_ino_t ino)
{
	struct dir_index *x = index_find(t, fs, dir);
	struct dir_name *d = x ? *index_slot(x, name, strlen(name), name_hash(name, strlen(name)))
			       : NULL;
	errcode_t err = EXT2_ET_FILE_NOT_FOUND;

	if (d && d->lblk != EXT2_DIR_BLOCK_UNKNOWN) {
		if (!t->dirbuf)
			t->dirbuf = xmalloc(EXT2_MAX_BLOCK_SIZE);
		err = ext2_dir_remove(fs, dir, d->lblk, name, t->dirbuf);
	}
	if (err == EXT2_ET_FILE_NOT_FOUND) {
		if (d && d->lblk != EXT2_DIR_BLOCK_UNKNOWN)
			log_debug("'%s' is not in block %llu of directory inode %u: "
				  "searching it all", name, (unsigned long long)d->lblk, dir);
		err = ext2_dir_unlink(fs, dir, name, ino);
	}
	if (!err && x)
		index_del(t, x, name);
	return err;
}

void tree_forget(struct tree *t)
{
	dirs_clear(t);
	index_clear(t);
}

void tree_set_strict(struct tree *t, bool strict)
{
	t->strict = strict;
	dirs_clear(t);
}

struct tree *tree_free(struct tree *t)
{
	if (!t)
		return NULL;
	dirs_clear(t);
	index_clear(t);
	free(t->dirbuf);
	for (size_t i = 0; i < t->n_mounts; i++)
		free(t->mounts[i].path);
	free(t->mounts);
	free(t);
	return NULL;
}

static struct tree_mount *mount_at(struct tree *t, const char *canon)
{
	const char *p = canon[0] ? canon : "/";

	for (size_t i = 0; i < t->n_mounts; i++)
		if (streq(t->mounts[i].path, p))
			return &t->mounts[i];
	return NULL;
}

static int read_inode(struct tree_mount *m, ext2_ino_t ino, struct ext2_inode *inode)
{
	errcode_t err = ext2fs_read_inode(m->fs, ino, inode);

	if (err)
		return ext2_log_error(err, "cannot read inode %u", ino);
	return 0;
}

static int read_symlink(struct tree_mount *m, ext2_ino_t ino, struct ext2_inode *inode,
			char buf[static TREE_MAX_PATH])
{
	uint64_t size = EXT2_I_SIZE(inode);
	ext2_file_t f;
	unsigned got = 0;
	errcode_t err;

	if (size >= TREE_MAX_PATH)
		return -ENAMETOOLONG;
	if (ext2fs_is_fast_symlink(inode)) {
		memcpy(buf, (char *)inode->i_block, size);
		buf[size] = 0;
		return 0;
	}
	err = ext2fs_file_open(m->fs, ino, 0, &f);
	if (err)
		return ext2_log_error(err, "cannot open symlink inode %u", ino);
	err = ext2fs_file_read(f, buf, (unsigned)size, &got);
	ext2fs_file_close(f);
	if (err)
		return ext2_log_error(err, "cannot read symlink inode %u", ino);
	buf[got] = 0;
	return 0;
}

static void set_times(struct ext2_inode *inode, int64_t t)
{
	inode->i_atime = inode->i_ctime = inode->i_mtime = (uint32_t)t;
}

static void set_owner(struct ext2_inode *inode, uid_t uid, gid_t gid)
{
	inode->i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(*inode, uid >> 16);
	inode->i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(*inode, gid >> 16);
}

static int mkdir_in(struct tree *t, struct tree_mount *m, ext2_ino_t dir, const char *name,
		    const struct tree_attr *a, ext2_ino_t *ret_ino)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;

	/* ext2fs_mkdir would look for the name and link it the slow way: it gets no name. */
	err = ext2fs_new_inode(m->fs, dir, LINUX_S_IFDIR | 0755, NULL, &ino);
	if (!err)
		err = ext2fs_mkdir(m->fs, dir, ino, NULL);
	if (!err)
		err = dir_link(t, m->fs, dir, name, ino, EXT2_FT_DIR);
	if (!err)
		err = ext2fs_read_inode(m->fs, ino, &inode);
	if (err)
		return ext2_log_error(err, "cannot create directory '%s'", name);
	inode.i_mode = (uint16_t)(LINUX_S_IFDIR | (a ? a->mode & 07777 : 0755));
	set_owner(&inode, a ? a->uid : 0, a ? a->gid : 0);
	set_times(&inode, a ? a->mtime : t->now);
	err = ext2fs_write_inode(m->fs, ino, &inode);
	if (err)
		return ext2_log_error(err, "cannot write directory '%s'", name);
	*ret_ino = ino;
	return 0;
}

/* Resolves `path` to the directory that holds its last component. Intermediate symlinks are
 * followed inside the target; the last one too when `follow`. Missing parents are created
 * when `create`. On return loc->name is the final name ("" for the root of the tree). */
static int resolve(struct tree *t, const char *path, bool follow, bool create,
		   struct tree_loc *loc)
{
	struct {
		struct tree_mount *m;
		ext2_ino_t ino;
		size_t canon_len;
	} stack[TREE_MAX_PATH / 2];
	size_t depth = 0, links = 0;
	char rem[TREE_MAX_PATH * 2], canon[TREE_MAX_PATH] = "";
	char *p;
	/* Messages name the entry being written, even when its parent is what is resolved. */
	const char *shown = t->msg_path ? t->msg_path : path;
	int r;

	if (!t->n_mounts || !mount_at(t, ""))
		return log_fail("no filesystem is mounted at '/' to hold '%s'", shown);
	if (strlen(path) >= TREE_MAX_PATH)
		return log_fail("path too long: '%.64s...'", shown);
	snprintf(rem, sizeof(rem), "%s", path);
	stack[0].m = mount_at(t, "");
	stack[0].ino = EXT2_ROOT_INO;
	stack[0].canon_len = 0;
	p = rem;

	for (;;) {
		char comp[EXT2_NAME_LEN + 1], target[TREE_MAX_PATH];
		struct ext2_inode inode;
		struct tree_mount *m = stack[depth].m, *sub;
		size_t len, clen = stack[depth].canon_len;
		bool last;
		ext2_ino_t ino;
		errcode_t err;

		while (*p == '/')
			p++;
		if (!*p) {
			/* The path names a directory itself ("/", "/etc/"). */
			loc->m = depth ? stack[depth - 1].m : m;
			loc->dir = depth ? stack[depth - 1].ino : EXT2_ROOT_INO;
			canon[clen] = 0;
			if (!depth) {
				loc->name[0] = 0;
			} else {
				const char *slash = strrchr(canon, '/');

				snprintf(loc->name, sizeof(loc->name), "%s", slash + 1);
				canon[slash - canon] = 0;
				/* A mount point as last component: its directory in the parent. */
			}
			snprintf(loc->canon, sizeof(loc->canon), "%s", canon);
			return 0;
		}
		len = strcspn(p, "/");
		if (len > EXT2_NAME_LEN)
			return log_fail("file name too long in '%s'", shown);
		memcpy(comp, p, len);
		comp[len] = 0;
		p += len;
		last = p[strspn(p, "/")] == 0;

		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			if (depth > 0) {
				depth--;
			} else if (t->strict) {
				log_error("'%s' leads outside the target%s", shown,
					  links ? " through a symlink" : "");
				return -EXDEV;
			}
			continue;
		}
		if (clen + 1 + len >= TREE_MAX_PATH)
			return log_fail("path too long: '%.64s...'", shown);
		canon[clen] = '/';
		memcpy(canon + clen + 1, comp, len + 1);

		if (last && !follow) {
			loc->m = m;
			loc->dir = stack[depth].ino;
			snprintf(loc->name, sizeof(loc->name), "%s", comp);
			canon[clen] = 0;
			snprintf(loc->canon, sizeof(loc->canon), "%s", canon);
			return 0;
		}

		err = dir_lookup(t, m->fs, stack[depth].ino, comp, len, &ino);
		if (err == EXT2_ET_FILE_NOT_FOUND) {
			if (last) {
				loc->m = m;
				loc->dir = stack[depth].ino;
				snprintf(loc->name, sizeof(loc->name), "%s", comp);
				canon[clen] = 0;
				snprintf(loc->canon, sizeof(loc->canon), "%s", canon);
				return 0;
			}
			if (!create)
				return -ENOENT;
			r = mkdir_in(t, m, stack[depth].ino, comp, NULL, &ino);
			if (r < 0)
				return r;
		} else if (err) {
			return ext2_log_error(err, "cannot look up '%s' in '%s'", comp,
					      canon[0] ? canon : "/");
		}
		r = read_inode(m, ino, &inode);
		if (r < 0)
			return r;
		if (LINUX_S_ISLNK(inode.i_mode)) {
			size_t tl, rl = strlen(p);

			if (++links > TREE_MAX_SYMLINKS)
				return log_fail("too many levels of symbolic links in '%s'", shown);
			r = read_symlink(m, ino, &inode, target);
			if (r < 0)
				return r;
			tl = strlen(target);
			if (tl + 1 + rl >= sizeof(rem))
				return log_fail("path too long after following symlinks: '%s'", shown);
			/* rem = target + rest; p points into rem, so move the rest first. */
			memmove(rem + tl + 1, p, rl + 1);
			memcpy(rem, target, tl);
			rem[tl] = '/';
			p = rem;
			if (target[0] == '/')
				depth = 0;
			continue;
		}
		if (last && !LINUX_S_ISDIR(inode.i_mode)) {
			loc->m = m;
			loc->dir = stack[depth].ino;
			snprintf(loc->name, sizeof(loc->name), "%s", comp);
			canon[clen] = 0;
			snprintf(loc->canon, sizeof(loc->canon), "%s", canon);
			return 0;
		}
		if (!LINUX_S_ISDIR(inode.i_mode)) {
			canon[clen + 1 + len] = 0;
			log_error("cannot resolve '%s': '%s' is not a directory", shown, canon);
			return -ENOTDIR;
		}
		if (depth + 1 >= ARRAY_SIZE(stack))
			return log_fail("path too deep: '%.64s...'", shown);
		depth++;
		sub = mount_at(t, canon);
		stack[depth].m = sub ? sub : m;
		stack[depth].ino = sub ? EXT2_ROOT_INO : ino;
		stack[depth].canon_len = clen + 1 + len;
	}
}

static void loc_path(const struct tree_loc *loc, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", loc->canon, loc->name);
}

int tree_mount(struct tree *t, const char *mountpoint, ext2_filsys fs)
{
	char canon[TREE_MAX_PATH];
	size_t l;

	snprintf(canon, sizeof(canon), "%s", mountpoint);
	l = strlen(canon);
	while (l > 1 && canon[l - 1] == '/')
		canon[--l] = 0;
	if (canon[0] != '/')
		return log_fail("mount point '%s' is not absolute", mountpoint);
	if (mount_at(t, streq(canon, "/") ? "" : canon))
		return log_fail("two filesystems are mounted at '%s'", canon);
	if (!streq(canon, "/")) {
		int r;

		if (!mount_at(t, ""))
			return log_fail("'%s' is mounted before '/'", canon);
		r = tree_mkdir(t, canon, NULL);
		if (r < 0)
			return r;
	}
	t->mounts = xrealloc(t->mounts, (t->n_mounts + 1) * sizeof(*t->mounts));
	t->mounts[t->n_mounts].path = xstrdup(canon);
	t->mounts[t->n_mounts].fs = fs;
	t->mounts[t->n_mounts].goal = 0;
	t->n_mounts++;
	dirs_clear(t);
	return 0;
}

static int lookup_loc(struct tree *t, struct tree_loc *loc, ext2_ino_t *ret_ino,
		      struct ext2_inode *ret_inode)
{
	errcode_t err;

	err = dir_lookup(t, loc->m->fs, loc->dir, loc->name, strlen(loc->name), ret_ino);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		return 0;
	if (err)
		return ext2_log_error(err, "cannot look up '%s/%s'", loc->canon, loc->name);
	err = ext2fs_read_inode(loc->m->fs, *ret_ino, ret_inode);
	if (err)
		return ext2_log_error(err, "cannot read '%s/%s'", loc->canon, loc->name);
	return 1;
}

/* Removes a non-directory entry, freeing its inode when it was the last link. */
static int remove_entry(struct tree *t, struct tree_loc *loc, ext2_ino_t ino,
			struct ext2_inode *inode)
{
	ext2_filsys fs = loc->m->fs;
	char path[TREE_MAX_PATH * 2];
	errcode_t err;

	loc_path(loc, path, sizeof(path));
	if (LINUX_S_ISDIR(inode->i_mode)) {
		log_error("cannot replace directory '%s' with a non-directory", path);
		return -EISDIR;
	}
	if (LINUX_S_ISLNK(inode->i_mode))
		dirs_clear(t);
	err = dir_unlink(t, fs, loc->dir, loc->name, ino);
	if (err)
		return ext2_log_error(err, "cannot remove '%s'", path);
	if (inode->i_links_count > 1) {
		inode->i_links_count--;
		err = ext2fs_write_inode(fs, ino, inode);
	} else {
		if (ext2fs_inode_has_valid_blocks2(fs, inode))
			err = ext2fs_punch(fs, ino, inode, NULL, 0, ~0ULL);
		if (!err)
			err = ext2_inode_clear(fs, ino, fs->now ? fs->now : time(NULL));
		if (!err)
			ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	}
	if (err)
		return ext2_log_error(err, "cannot remove '%s'", path);
	return 0;
}

/* The directory `dir` names (created with its parents when missing), through the cache. */
static int resolve_dir(struct tree *t, const char *dir, struct tree_mount **ret_m,
		       ext2_ino_t *ret_ino, const char **ret_canon)
{
	unsigned h = dir_hash(dir);
	struct dir_entry *e;
	struct tree_loc dl;
	struct tree_mount *m, *sub;
	ext2_ino_t ino;
	char full[TREE_MAX_PATH * 2];
	int r;

	for (e = t->dirs[h]; e; e = e->next) {
		if (streq(e->key, dir)) {
			*ret_m = &t->mounts[e->mount];
			*ret_ino = e->ino;
			*ret_canon = e->canon;
			return 0;
		}
	}
	r = resolve(t, dir, true, true, &dl);
	if (r < 0)
		return r;
	if (!dl.name[0]) {
		m = mount_at(t, "");
		ino = EXT2_ROOT_INO;
		full[0] = 0;
	} else {
		struct ext2_inode inode;

		r = lookup_loc(t, &dl, &ino, &inode);
		if (r < 0)
			return r;
		loc_path(&dl, full, sizeof(full));
		if (r == 0) {
			r = mkdir_in(t, dl.m, dl.dir, dl.name, NULL, &ino);
			if (r < 0)
				return r;
		} else if (!LINUX_S_ISDIR(inode.i_mode)) {
			log_error("cannot resolve '%s': '%s' is not a directory", dir, full);
			return -ENOTDIR;
		}
		m = dl.m;
		sub = mount_at(t, full);
		if (sub) {
			m = sub;
			ino = EXT2_ROOT_INO;
		}
	}
	if (strlen(full) >= TREE_MAX_PATH)
		return log_fail("path too long: '%.64s...'", dir);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(dir);
	e->mount = (size_t)(m - t->mounts);
	e->ino = ino;
	e->canon = xstrdup(full);
	e->next = t->dirs[h];
	t->dirs[h] = e;
	*ret_m = m;
	*ret_ino = ino;
	*ret_canon = e->canon;
	return 0;
}

/* Where a new entry `path` goes: its parent resolved (and created), the name in it. */
static int locate_new(struct tree *t, const char *path, struct tree_loc *loc)
{
	char dir[TREE_MAX_PATH];
	const char *base, *canon = NULL;
	size_t len = strlen(path);
	struct tree_mount *m = NULL;
	ext2_ino_t ino = 0;
	int r;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= TREE_MAX_PATH)
		return log_fail("path too long: '%.64s...'", path);
	memcpy(dir, path, len);
	dir[len] = 0;
	base = strrchr(dir, '/');
	/* Anything unusual in the last component takes the slow path. */
	if (!base || !base[1] || streq(base + 1, ".") || streq(base + 1, "..") ||
	    strlen(base + 1) > EXT2_NAME_LEN)
		return resolve(t, path, false, true, loc);
	dir[base - dir] = 0;
	t->msg_path = path;
	r = resolve_dir(t, dir[0] ? dir : "/", &m, &ino, &canon);
	t->msg_path = NULL;
	if (r < 0)
		return r;
	loc->m = m;
	loc->dir = ino;
	snprintf(loc->name, sizeof(loc->name), "%s", base + 1);
	snprintf(loc->canon, sizeof(loc->canon), "%s", canon);
	return 0;
}

/* Resolves the parent of `path`, creating parents, and clears the way for a new entry. */
static int prepare_new(struct tree *t, const char *path, struct tree_loc *loc)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r;

	r = locate_new(t, path, loc);
	if (r < 0)
		return r;
	if (!loc->name[0])
		return log_fail("cannot replace the root directory with '%s'", path);
	r = lookup_loc(t, loc, &ino, &inode);
	if (r <= 0)
		return r;
	return remove_entry(t, loc, ino, &inode);
}

int tree_mkdir(struct tree *t, const char *path, const struct tree_attr *a)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	r = resolve(t, path, true, true, &loc);
	if (r < 0)
		return r;
	if (!loc.name[0]) {
		ino = EXT2_ROOT_INO;
		err = ext2fs_read_inode(loc.m->fs, ino, &inode);
		if (err)
			return ext2_log_error(err, "cannot read '/'");
	} else {
		r = lookup_loc(t, &loc, &ino, &inode);
		if (r < 0)
			return r;
		if (r == 0)
			return mkdir_in(t, loc.m, loc.dir, loc.name, a, &ino);
		if (!LINUX_S_ISDIR(inode.i_mode))
			return log_fail("cannot create directory '%s': a file is in the way", path);
		/* The directory in a parent filesystem that another is mounted on: set the
		 * attributes on the mounted root too, which is what is seen once booted. */
		{
			char full[TREE_MAX_PATH * 2];
			struct tree_mount *sub;

			loc_path(&loc, full, sizeof(full));
			sub = mount_at(t, full);
			if (sub && a) {
				struct ext2_inode root;

				err = ext2fs_read_inode(sub->fs, EXT2_ROOT_INO, &root);
				if (!err) {
					root.i_mode = (uint16_t)(LINUX_S_IFDIR | (a->mode & 07777));
					set_owner(&root, a->uid, a->gid);
					set_times(&root, a->mtime);
					err = ext2fs_write_inode(sub->fs, EXT2_ROOT_INO, &root);
				}
				if (err)
					return ext2_log_error(err, "cannot update '%s'", full);
			}
		}
	}
	if (!a)
		return 0;
	inode.i_mode = (uint16_t)(LINUX_S_IFDIR | (a->mode & 07777));
	set_owner(&inode, a->uid, a->gid);
	set_times(&inode, a->mtime);
	err = ext2fs_write_inode(loc.m->fs, ino, &inode);
	if (err)
		return ext2_log_error(err, "cannot update directory '%s'", path);
	return 0;
}

/* Allocates and links a new inode of `type` at loc with the attributes. */
static int new_inode(struct tree *t, struct tree_loc *loc, unsigned type, int ftype,
		     const struct tree_attr *a, ext2_ino_t *ret_ino)
{
	ext2_filsys fs = loc->m->fs;
	struct ext2_inode_large inode = { 0 };
	ext2_ino_t ino;
	errcode_t err;

	err = ext2fs_new_inode(fs, loc->dir, (int)(type | (a->mode & 07777)), NULL, &ino);
	if (err)
		goto fail;
	err = dir_link(t, fs, loc->dir, loc->name, ino, ftype);
	if (err)
		goto fail;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	inode.i_mode = (uint16_t)(type | (a->mode & 07777));
	set_owner((struct ext2_inode *)&inode, a->uid, a->gid);
	set_times((struct ext2_inode *)&inode, a->mtime);
	inode.i_links_count = 1;
	if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE) {
		inode.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		inode.i_crtime = (uint32_t)a->mtime;
	}
	if (type == LINUX_S_IFREG && ext2fs_has_feature_extents(fs->super)) {
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)&inode, &h);
		if (err)
			goto fail;
		ext2fs_extent_free(h);
	}
	err = ext2fs_write_new_inode(fs, ino, (struct ext2_inode *)&inode);
	if (err)
		goto fail;
	*ret_ino = ino;
	return 0;
fail:
	return ext2_log_error(err, "cannot create '%s/%s'", loc->canon, loc->name);
}

#define TREE_WBUF (1u << 20) /* bytes gathered before one write to the image */

struct tree_run {
	blk64_t lblk, pblk, len;
};

struct tree_file {
	struct tree *t;
	struct tree_mount *m;
	ext2_ino_t ino;
	struct ext2_inode_large inode;
	uint64_t size, done, flushed; /* bytes: total, received, written to the image */
	struct tree_run *runs;
	size_t n_runs;
	char *buf;
	size_t buf_len;
	char path[TREE_MAX_PATH];
};

static void tree_file_free(struct tree_file *f)
{
	if (!f)
		return;
	free(f->runs);
	free(f->buf);
	free(f);
}

static void add_run(struct tree_file *f, blk64_t lblk, blk64_t pblk, blk64_t len)
{
	struct tree_run *last = f->n_runs ? &f->runs[f->n_runs - 1] : NULL;

	if (last && last->lblk + last->len == lblk && last->pblk + last->len == pblk) {
		last->len += len;
		return;
	}
	f->runs = xrealloc(f->runs, (f->n_runs + 1) * sizeof(*f->runs));
	f->runs[f->n_runs++] = (struct tree_run){ lblk, pblk, len };
}

/* Block-mapped files (ext2, ext3): claim free ranges near the last file, then map them. The
 * library's own allocation (ext2fs_bmap2 with BMAP_ALLOC) would write zeros to every block
 * before the data, one block at a time. */
static errcode_t alloc_blockmap(struct tree_file *f, blk64_t nblocks)
{
	ext2_filsys fs = f->m->fs;
	struct ext2_inode *inode = (struct ext2_inode *)&f->inode;
	blk64_t lblk = 0, goal = f->m->goal;
	_cleanup_free_ char *block_buf = xmalloc(fs->blocksize * 3);
	errcode_t err;

	if (!goal)
		goal = ext2fs_find_inode_goal(fs, f->ino, inode, 0);
	while (lblk < nblocks) {
		blk64_t pblk, plen;

		err = ext2fs_new_range(fs, 0, goal, nblocks - lblk, NULL, &pblk, &plen);
		if (err)
			return err;
		ext2fs_block_alloc_stats_range(fs, pblk, (unsigned)plen, +1);
		for (blk64_t i = 0; i < plen; i++) {
			blk64_t p = pblk + i;

			/* BMAP_ALLOC only for the indirect blocks the mapping needs. */
			err = ext2fs_bmap2(fs, f->ino, inode, block_buf, BMAP_SET | BMAP_ALLOC,
					   lblk + i, NULL, &p);
			if (err)
				return err;
		}
		err = ext2fs_iblk_add_blocks(fs, inode, plen);
		if (err)
			return err;
		add_run(f, lblk, pblk, plen);
		lblk += plen;
		goal = pblk + plen;
	}
	f->m->goal = goal;
	return 0;
}

/* Extent-mapped files (ext4): the library allocates whole extents; read back where. */
static errcode_t alloc_extents(struct tree_file *f, blk64_t nblocks)
{
	ext2_filsys fs = f->m->fs;
	struct ext2_inode *inode = (struct ext2_inode *)&f->inode;
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	blk64_t goal = f->m->goal ? f->m->goal : ~0ULL;
	errcode_t err;

	err = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT, f->ino, inode, goal, 0, nblocks);
	if (err)
		return err;
	err = ext2fs_extent_open2(fs, f->ino, inode, &h);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
	while (!err) {
		if ((ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) &&
		    !(ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT)) {
			add_run(f, ext.e_lblk, ext.e_pblk, ext.e_len);
			f->m->goal = ext.e_pblk + ext.e_len;
		}
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext);
	}
	ext2fs_extent_free(h);
	return err == EXT2_ET_EXTENT_NO_NEXT ? 0 : err;
}

int tree_file_create(struct tree *t, const char *path, const struct tree_attr *a, uint64_t size,
		     struct tree_file **ret)
{
	struct tree_file *f;
	struct tree_loc loc;
	ext2_filsys fs;
	ext2_ino_t ino;
	blk64_t nblocks;
	errcode_t err = 0;
	int r;

	r = prepare_new(t, path, &loc);
	if (r < 0)
		return r;
	fs = loc.m->fs;
	nblocks = (size + fs->blocksize - 1) / fs->blocksize;
	if (nblocks > ext2fs_free_blocks_count(fs->super)) {
		char want[32], have[32];

		log_error("no space for '%s' (%s) in the filesystem at '%s' (%s free)", path,
			  format_bytes(want, size), loc.m->path,
			  format_bytes(have, ext2fs_free_blocks_count(fs->super) * fs->blocksize));
		return -ENOSPC;
	}
	r = new_inode(t, &loc, LINUX_S_IFREG, EXT2_FT_REG_FILE, a, &ino);
	if (r < 0)
		return r;
	f = xcalloc(1, sizeof(*f));
	f->t = t;
	f->m = loc.m;
	f->ino = ino;
	f->size = size;
	snprintf(f->path, sizeof(f->path), "%s", path);
	err = ext2fs_read_inode_full(fs, f->ino, (struct ext2_inode *)&f->inode,
				     sizeof(f->inode));
	if (!err && nblocks) {
		if (f->inode.i_flags & EXT4_EXTENTS_FL)
			err = alloc_extents(f, nblocks);
		else
			err = alloc_blockmap(f, nblocks);
	}
	if (!err)
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)&f->inode, size);
	if (!err)
		err = ext2fs_write_inode_full(fs, f->ino, (struct ext2_inode *)&f->inode,
					      sizeof(f->inode));
	if (err) {
		tree_file_free(f);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			return log_errno(ENOSPC, "cannot write '%s'", path);
		return ext2_log_error(err, "cannot allocate '%s'", path);
	}
	if (nblocks)
		f->buf = xmalloc(nblocks * fs->blocksize < TREE_WBUF ? nblocks * fs->blocksize
								      : TREE_WBUF);
	*ret = f;
	return 0;
}

/* Writes the buffered bytes (from f->flushed, a block boundary) to their blocks; the last
 * partial block is padded with zeros. */
static int file_flush(struct tree_file *f)
{
	ext2_filsys fs = f->m->fs;
	unsigned bs = fs->blocksize;
	blk64_t lblk = f->flushed / bs, nblk;
	size_t off = 0;

	if (!f->buf_len)
		return 0;
	if (f->buf_len % bs)
		memset(f->buf + f->buf_len, 0, bs - f->buf_len % bs);
	nblk = (f->buf_len + bs - 1) / bs;
	for (size_t i = 0; i < f->n_runs && nblk; i++) {
		struct tree_run *run = &f->runs[i];
		blk64_t n;
		errcode_t err;

		if (lblk >= run->lblk + run->len || lblk < run->lblk)
			continue;
		n = run->lblk + run->len - lblk;
		if (n > nblk)
			n = nblk;
		err = io_channel_write_blk64(fs->io, run->pblk + (lblk - run->lblk), (int)n,
					     f->buf + off);
		if (err)
			return ext2_log_error(err, "cannot write '%s'", f->path);
		off += n * bs;
		lblk += n;
		nblk -= n;
	}
	assert(nblk == 0);
	f->flushed += f->buf_len;
	f->buf_len = 0;
	return 0;
}

int tree_file_write(struct tree_file *f, const void *data, size_t n)
{
	const char *p = data;
	size_t cap = f->buf ? (f->size - f->flushed < TREE_WBUF ? (size_t)align_up(
			f->size - f->flushed, f->m->fs->blocksize) : TREE_WBUF) : 0;

	if (n > f->size - f->done)
		return log_fail("'%s' is longer than its declared %" PRIu64 " bytes", f->path,
				f->size);
	while (n > 0) {
		size_t k = cap - f->buf_len < n ? cap - f->buf_len : n;
		int r;

		memcpy(f->buf + f->buf_len, p, k);
		f->buf_len += k;
		f->done += k;
		p += k;
		n -= k;
		if (f->buf_len == cap) {
			r = file_flush(f);
			if (r < 0)
				return r;
			cap = f->size - f->flushed < TREE_WBUF
				      ? (size_t)align_up(f->size - f->flushed, f->m->fs->blocksize)
				      : TREE_WBUF;
		}
	}
	return 0;
}

int tree_file_close(struct tree_file *f)
{
	int r = 0;

	if (f->done != f->size)
		r = log_fail("'%s' ended after %" PRIu64 " of %" PRIu64 " bytes", f->path, f->done,
			     f->size);
	if (r == 0)
		r = file_flush(f);
	tree_file_free(f);
	return r;
}

void tree_file_abort(struct tree_file *f)
{
	tree_file_free(f);
}

typedef int (*fill_fn)(void *userdata, void *buf, size_t n);

static int write_file(struct tree *t, const char *path, const struct tree_attr *a, uint64_t size,
		      fill_fn fill, void *userdata)
{
	struct tree_file *f;
	_cleanup_free_ char *buf = xmalloc(TREE_WBUF);
	uint64_t done = 0;
	int r;

	r = tree_file_create(t, path, a, size, &f);
	if (r < 0)
		return r;
	if (size >= TREE_PROGRESS_MIN)
		progress_begin(path, size);
	while (done < size) {
		size_t n = size - done > TREE_WBUF ? TREE_WBUF : (size_t)(size - done);

		r = fill(userdata, buf, n);
		if (r >= 0)
			r = tree_file_write(f, buf, n);
		if (r < 0) {
			progress_end();
			tree_file_abort(f);
			return r;
		}
		done += n;
		progress_update(done);
	}
	progress_end();
	return tree_file_close(f);
}

int tree_write(struct tree *t, const char *path, const struct tree_attr *a, const void *data,
	       size_t size)
{
	struct tree_file *f;
	int r = tree_file_create(t, path, a, size, &f);

	if (r < 0)
		return r;
	r = tree_file_write(f, data, size);
	if (r < 0) {
		tree_file_abort(f);
		return r;
	}
	return tree_file_close(f);
}

struct fd_src {
	int fd;
	const char *path;
};

static int fill_fd(void *userdata, void *buf, size_t n)
{
	struct fd_src *s = userdata;
	char *p = buf;

	while (n > 0) {
		ssize_t k = read(s->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return log_errno(errno, "cannot read source of '%s'", s->path);
		if (k == 0)
			return log_fail("source of '%s' shrank while it was copied", s->path);
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int tree_write_fd(struct tree *t, const char *path, const struct tree_attr *a, int fd,
		  uint64_t size)
{
	struct fd_src s = { fd, path };

	return write_file(t, path, a, size, fill_fd, &s);
}

int tree_symlink(struct tree *t, const char *path, const char *target, const struct tree_attr *a)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	if (!target[0] || strlen(target) >= TREE_MAX_PATH)
		return log_fail("invalid symlink target for '%s'", path);
	r = prepare_new(t, path, &loc);
	if (r < 0)
		return r;
	/* As in mkdir_in: ext2fs_symlink gets no name, the index links it. */
	err = ext2fs_new_inode(loc.m->fs, loc.dir, LINUX_S_IFLNK | 0777, NULL, &ino);
	if (!err)
		err = ext2fs_symlink(loc.m->fs, loc.dir, ino, NULL, target);
	if (!err)
		err = dir_link(t, loc.m->fs, loc.dir, loc.name, ino, EXT2_FT_SYMLINK);
	if (!err)
		err = ext2fs_read_inode(loc.m->fs, ino, &inode);
	if (err)
		return ext2_log_error(err, "cannot create symlink '%s'", path);
	set_owner(&inode, a->uid, a->gid);
	set_times(&inode, a->mtime);
	err = ext2fs_write_inode(loc.m->fs, ino, &inode);
	if (err)
		return ext2_log_error(err, "cannot write symlink '%s'", path);
	return 0;
}

static int open_existing(struct tree *t, const char *path, struct tree_loc *loc, ext2_ino_t *ino,
			 struct ext2_inode *inode)
{
	int r = resolve(t, path, true, false, loc);

	if (r < 0)
		return r;
	if (!loc->name[0]) {
		*ino = EXT2_ROOT_INO;
		return ext2fs_read_inode(loc->m->fs, *ino, inode) ? -EIO : 1;
	}
	return lookup_loc(t, loc, ino, inode);
}

int tree_exists(struct tree *t, const char *path)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r = open_existing(t, path, &loc, &ino, &inode);

	return r == -ENOENT ? 0 : r;
}

int tree_read(struct tree *t, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	ext2_file_t f;
	uint64_t size;
	unsigned got = 0;
	char *data;
	errcode_t err;
	int r;

	r = open_existing(t, path, &loc, &ino, &inode);
	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	size = EXT2_I_SIZE(&inode);
	if (size > max)
		return -EFBIG;
	err = ext2fs_file_open(loc.m->fs, ino, 0, &f);
	if (err)
		return ext2_log_error(err, "cannot open '%s'", path);
	data = xmalloc(size + 1);
	err = ext2fs_file_read(f, data, (unsigned)size, &got);
	ext2fs_file_close(f);
	if (err) {
		free(data);
		return ext2_log_error(err, "cannot read '%s'", path);
	}
	data[got] = 0;
	*ret_data = data;
	if (ret_size)
		*ret_size = got;
	return 0;
}

int tree_link(struct tree *t, const char *path, const char *target)
{
	struct tree_loc tl, loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;
	int r;

	r = resolve(t, target, false, false, &tl);
	if (r == -ENOENT || (r == 0 && !tl.name[0]))
		return log_fail("cannot link '%s' to '%s': no such file", path, target);
	if (r < 0)
		return r;
	r = lookup_loc(t, &tl, &ino, &inode);
	if (r < 0)
		return r;
	if (r == 0)
		return log_fail("cannot link '%s' to '%s': no such file", path, target);
	if (LINUX_S_ISDIR(inode.i_mode))
		return log_fail("cannot link '%s' to directory '%s'", path, target);
	r = locate_new(t, path, &loc);
	if (r < 0)
		return r;
	if (loc.m != tl.m)
		return log_fail("cannot link '%s' to '%s': they are on different filesystems",
				path, target);
	if (loc.dir == tl.dir && streq(loc.name, tl.name))
		return 0;
	r = prepare_new(t, path, &loc);
	if (r < 0)
		return r;
	/* Removing the old entry may have changed the target's link count. */
	err = ext2fs_read_inode(loc.m->fs, ino, &inode);
	if (!err && inode.i_links_count >= EXT2_LINK_MAX)
		return log_fail("cannot link '%s' to '%s': too many links", path, target);
	if (!err)
		err = dir_link(t, loc.m->fs, loc.dir, loc.name, ino,
			       ext2_mode_ftype(inode.i_mode));
	if (!err) {
		inode.i_links_count++;
		err = ext2fs_write_inode(loc.m->fs, ino, &inode);
	}
	if (err)
		return ext2_log_error(err, "cannot link '%s' to '%s'", path, target);
	return 0;
}

int tree_mknod(struct tree *t, const char *path, char type, const struct tree_attr *a,
	       unsigned major, unsigned minor)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	unsigned mode;
	int ftype, r;
	ext2_ino_t ino;
	errcode_t err;

	switch (type) {
	case 'c':
		mode = LINUX_S_IFCHR;
		ftype = EXT2_FT_CHRDEV;
		break;
	case 'b':
		mode = LINUX_S_IFBLK;
		ftype = EXT2_FT_BLKDEV;
		break;
	case 'p':
		mode = LINUX_S_IFIFO;
		ftype = EXT2_FT_FIFO;
		break;
	default:
		return log_fail("cannot create '%s': unknown node type '%c'", path, type);
	}
	r = prepare_new(t, path, &loc);
	if (r < 0)
		return r;
	r = new_inode(t, &loc, mode, ftype, a, &ino);
	if (r < 0)
		return r;
	err = ext2fs_read_inode(loc.m->fs, ino, &inode);
	if (!err && type != 'p') {
		/* The kernel's encoding: old 8:8 when it fits, else the new 12:20 form. */
		if (major < 256 && minor < 256) {
			inode.i_block[0] = major * 256 + minor;
			inode.i_block[1] = 0;
		} else {
			inode.i_block[0] = 0;
			inode.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
		}
		err = ext2fs_write_inode(loc.m->fs, ino, &inode);
	}
	if (err)
		return ext2_log_error(err, "cannot create '%s'", path);
	return 0;
}

struct list_ctx {
	struct tree_dirent *v;
	size_t n, cap;
};

static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct list_ctx *c = priv;
	unsigned len = ext2fs_dirent_name_len(d);
	char type;

	if ((len == 1 && d->name[0] == '.') || (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	switch (ext2fs_dirent_file_type(d)) {
	case EXT2_FT_DIR:
		type = 'd';
		break;
	case EXT2_FT_REG_FILE:
		type = 'f';
		break;
	case EXT2_FT_SYMLINK:
		type = 'l';
		break;
	default:
		type = '?';
		break;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].name = xstrndup(d->name, len);
	c->v[c->n].type = type;
	c->v[c->n].ino = d->inode;
	c->n++;
	return 0;
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_dirent *)a)->name, ((const struct tree_dirent *)b)->name);
}

int tree_list(struct tree *t, const char *path, struct tree_dirent **ret, size_t *ret_n)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	struct list_ctx c = { 0 };
	ext2_ino_t ino;
	errcode_t err;
	int r;

	struct tree_mount *m;

	r = open_existing(t, path, &loc, &ino, &inode);
	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return -ENOTDIR;
	m = loc.m;
	if (loc.name[0]) {
		/* resolve() names a directory by its entry in the parent: a mount point's
		 * contents are the root of the filesystem mounted there. */
		_cleanup_free_ char *canon = xasprintf("%s/%s", loc.canon, loc.name);
		struct tree_mount *sub = mount_at(t, canon);

		if (sub) {
			m = sub;
			ino = EXT2_ROOT_INO;
		}
	}
	err = ext2fs_dir_iterate2(m->fs, ino, 0, NULL, list_one, &c);
	if (err) {
		tree_dirents_free(c.v, c.n);
		return ext2_log_error(err, "cannot list '%s'", path);
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), dirent_cmp);
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}

void tree_dirents_free(struct tree_dirent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void stat_fill(const struct ext2_inode *inode, struct tree_stat *ret)
{
	ret->mode = inode->i_mode;
	ret->size = EXT2_I_SIZE(inode);
	ret->uid = inode_uid(*inode);
	ret->gid = inode_gid(*inode);
}

int tree_lstat(struct tree *t, const char *path, struct tree_stat *ret)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r;

	r = resolve(t, path, false, false, &loc);
	if (r < 0)
		return r;
	if (!loc.name[0]) {
		ino = EXT2_ROOT_INO;
		if (ext2fs_read_inode(loc.m->fs, ino, &inode))
			return -EIO;
	} else {
		r = lookup_loc(t, &loc, &ino, &inode);
		if (r <= 0)
			return r == 0 ? -ENOENT : r;
	}
	stat_fill(&inode, ret);
	return 0;
}

int tree_stat(struct tree *t, const char *path, struct tree_stat *ret)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r = open_existing(t, path, &loc, &ino, &inode);

	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	stat_fill(&inode, ret);
	return 0;
}

int tree_remove(struct tree *t, const char *path)
{
	struct tree_loc loc;
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r;

	r = resolve(t, path, false, false, &loc);
	if (r < 0)
		return r;
	if (!loc.name[0])
		return log_fail("cannot remove the root directory");
	r = lookup_loc(t, &loc, &ino, &inode);
	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	return remove_entry(t, &loc, ino, &inode);
}
