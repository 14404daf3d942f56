/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tree.h"

#include "ext2.h"
#include "log.h"

#define TREE_MAX_SYMLINKS 40
#define TREE_MAX_PATH 4096
#define TREE_PROGRESS_MIN (64 << 20) /* files this large show progress */

struct tree_mount {
	char *path; /* "/" or "/boot" (no trailing slash) */
	ext2_filsys fs;
};

struct tree {
	struct tree_mount *mounts;
	size_t n_mounts;
	int64_t now;
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

struct tree *tree_free(struct tree *t)
{
	if (!t)
		return NULL;
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

/* Links `ino` as `name` in `dir`, growing the directory when it is full. */
static errcode_t link_grow(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			   int ftype)
{
	errcode_t err = ext2fs_link(fs, dir, name, ino, ftype);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(fs, dir);
		if (!err)
			err = ext2fs_link(fs, dir, name, ino, ftype);
	}
	return err;
}

static int mkdir_in(struct tree *t, struct tree_mount *m, ext2_ino_t dir, const char *name,
		    const struct tree_attr *a, ext2_ino_t *ret_ino)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;

	err = ext2fs_mkdir(m->fs, dir, 0, name);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(m->fs, dir);
		if (!err)
			err = ext2fs_mkdir(m->fs, dir, 0, name);
	}
	if (!err)
		err = ext2fs_lookup(m->fs, dir, name, (int)strlen(name), NULL, &ino);
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
	int r;

	if (!t->n_mounts || !mount_at(t, ""))
		return log_fail("no filesystem is mounted at '/' to hold '%s'", path);
	if (strlen(path) >= TREE_MAX_PATH)
		return log_fail("path too long: '%.64s...'", path);
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
			return log_fail("file name too long in '%s'", path);
		memcpy(comp, p, len);
		comp[len] = 0;
		p += len;
		last = p[strspn(p, "/")] == 0;

		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			if (depth > 0)
				depth--;
			continue;
		}
		if (clen + 1 + len >= TREE_MAX_PATH)
			return log_fail("path too long: '%.64s...'", path);
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

		err = ext2fs_lookup(m->fs, stack[depth].ino, comp, (int)len, NULL, &ino);
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
				return log_fail("too many levels of symbolic links in '%s'", path);
			r = read_symlink(m, ino, &inode, target);
			if (r < 0)
				return r;
			tl = strlen(target);
			if (tl + 1 + rl >= sizeof(rem))
				return log_fail("path too long after following symlinks: '%s'", path);
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
			log_error("cannot resolve '%s': '%s' is not a directory", path, canon);
			return -ENOTDIR;
		}
		if (depth + 1 >= ARRAY_SIZE(stack))
			return log_fail("path too deep: '%.64s...'", path);
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
	t->n_mounts++;
	return 0;
}

static int lookup_loc(struct tree_loc *loc, ext2_ino_t *ret_ino, struct ext2_inode *ret_inode)
{
	errcode_t err;

	err = ext2fs_lookup(loc->m->fs, loc->dir, loc->name, (int)strlen(loc->name), NULL,
			    ret_ino);
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
static int remove_entry(struct tree_loc *loc, ext2_ino_t ino, struct ext2_inode *inode)
{
	ext2_filsys fs = loc->m->fs;
	char path[TREE_MAX_PATH * 2];
	errcode_t err;

	loc_path(loc, path, sizeof(path));
	if (LINUX_S_ISDIR(inode->i_mode)) {
		log_error("cannot replace directory '%s' with a non-directory", path);
		return -EISDIR;
	}
	err = ext2fs_unlink(fs, loc->dir, loc->name, ino, 0);
	if (err)
		return ext2_log_error(err, "cannot remove '%s'", path);
	if (inode->i_links_count > 1) {
		inode->i_links_count--;
		err = ext2fs_write_inode(fs, ino, inode);
	} else {
		if (ext2fs_inode_has_valid_blocks2(fs, inode))
			err = ext2fs_punch(fs, ino, inode, NULL, 0, ~0ULL);
		if (!err) {
			inode->i_links_count = 0;
			inode->i_dtime = fs->now ? (uint32_t)fs->now : (uint32_t)time(NULL);
			err = ext2fs_write_inode(fs, ino, inode);
		}
		if (!err)
			ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	}
	if (err)
		return ext2_log_error(err, "cannot remove '%s'", path);
	return 0;
}

/* Resolves the parent of `path`, creating parents, and clears the way for a new entry. */
static int prepare_new(struct tree *t, const char *path, struct tree_loc *loc)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r;

	r = resolve(t, path, false, true, loc);
	if (r < 0)
		return r;
	if (!loc->name[0])
		return log_fail("cannot replace the root directory with '%s'", path);
	r = lookup_loc(loc, &ino, &inode);
	if (r <= 0)
		return r;
	return remove_entry(loc, ino, &inode);
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
		r = lookup_loc(&loc, &ino, &inode);
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
static int new_inode(struct tree_loc *loc, unsigned type, int ftype, const struct tree_attr *a,
		     ext2_ino_t *ret_ino)
{
	ext2_filsys fs = loc->m->fs;
	struct ext2_inode_large inode = { 0 };
	ext2_ino_t ino;
	errcode_t err;

	err = ext2fs_new_inode(fs, loc->dir, (int)(type | (a->mode & 07777)), NULL, &ino);
	if (err)
		goto fail;
	err = link_grow(fs, loc->dir, loc->name, ino, ftype);
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

typedef int (*fill_fn)(void *userdata, void *buf, size_t n);

static int write_file(struct tree *t, const char *path, const struct tree_attr *a, uint64_t size,
		      fill_fn fill, void *userdata)
{
	struct tree_loc loc;
	ext2_file_t f = NULL;
	ext2_ino_t ino = 0;
	char *buf = NULL;
	uint64_t done = 0;
	errcode_t err = 0;
	int r;

	r = prepare_new(t, path, &loc);
	if (r < 0)
		return r;
	r = new_inode(&loc, LINUX_S_IFREG, EXT2_FT_REG_FILE, a, &ino);
	if (r < 0)
		return r;
	err = ext2fs_file_open(loc.m->fs, ino, EXT2_FILE_WRITE, &f);
	if (err)
		goto fail;
	buf = xmalloc(1 << 20);
	if (size >= TREE_PROGRESS_MIN)
		progress_begin(path, size);
	while (done < size) {
		size_t n = size - done > (1 << 20) ? (1 << 20) : (size_t)(size - done);
		unsigned written = 0;

		r = fill(userdata, buf, n);
		if (r < 0)
			goto out;
		for (size_t off = 0; off < n; off += written) {
			err = ext2fs_file_write(f, buf + off, (unsigned)(n - off), &written);
			if (err)
				goto fail;
		}
		done += n;
		progress_update(done);
	}
	progress_end();
	err = ext2fs_file_close(f);
	f = NULL;
	if (err)
		goto fail;
	free(buf);
	return 0;
fail:
	r = ext2_log_error(err, "cannot write '%s'", path);
out:
	progress_end();
	if (f)
		ext2fs_file_close(f);
	free(buf);
	return r;
}

struct mem_src {
	const char *p;
};

static int fill_mem(void *userdata, void *buf, size_t n)
{
	struct mem_src *s = userdata;

	memcpy(buf, s->p, n);
	s->p += n;
	return 0;
}

int tree_write(struct tree *t, const char *path, const struct tree_attr *a, const void *data,
	       size_t size)
{
	struct mem_src s = { data };

	return write_file(t, path, a, size, fill_mem, &s);
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
	err = ext2fs_symlink(loc.m->fs, loc.dir, 0, loc.name, target);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(loc.m->fs, loc.dir);
		if (!err)
			err = ext2fs_symlink(loc.m->fs, loc.dir, 0, loc.name, target);
	}
	if (!err)
		err = ext2fs_lookup(loc.m->fs, loc.dir, loc.name, (int)strlen(loc.name), NULL,
				    &ino);
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
	return lookup_loc(loc, ino, inode);
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
