/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "files": overlays and single files written into the target tree, last of all so
 * they can replace anything an earlier stage wrote.
 *
 * overlays:                  directories copied into the target, in order
 *   - overlays/common        a path (relative to the recipe that names it): copied to /
 *   - source: overlays/cf    or a mapping:
 *     target: /              where it lands (default /)
 *     owner: root            owner and group of everything copied (default root:root: the
 *     group: root            builder's uid never reaches the image)
 *   Modes, symlinks, hard links (within one target filesystem) and mtimes are kept
 *   (mtimes clamped to SOURCE_DATE_EPOCH when set);
 *   devices, fifos and sockets are refused. Entries are copied in sorted order.
 * files:                     then each file, in order; exactly one of:
 *   - path: /etc/motd
 *     content: "text"        the file's bytes
 *     source: files/motd     a file of the build host (relative to the recipe)
 *     symlink: /proc/mounts  a symlink to this target
 *     directory: true        a directory
 *     mode: "0644"           octal; default 0644 (directories 0755; source: its mode)
 *     owner: root            a name (looked up in the target's /etc/passwd, then Debian's
 *     group: root            fixed ids) or a number; default root
 * Missing parent directories are created 0755 root:root. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <search.h>
#include <sys/stat.h>

#include "log.h"
#include "passwd.h"
#include "stage.h"

enum file_kind {
	FILE_CONTENT,
	FILE_SOURCE,
	FILE_SYMLINK,
	FILE_DIRECTORY,
};

struct file_entry {
	enum file_kind kind;
	const char *path;
	const char *data; /* content, or the symlink target */
	char *source;     /* resolved host path */
	mode_t mode;
	bool mode_set;
	const struct node *node, *owner, *group;
};

struct overlay {
	char *source;
	const char *target;
	const struct node *node, *owner, *group;
};

struct files_priv {
	struct file_entry *files;
	size_t n_files;
	struct overlay *overlays;
	size_t n_overlays;
	const struct node *node;
};

static int check_target_path(const struct node *n, const char *s)
{
	if (!path_is_safe_absolute(s) || streq(s, "/") || strlen(s) >= 4096)
		return node_error(n, "'%s' is not an absolute path in the target (like /etc/motd, "
				  "without '..')", s);
	return 0;
}

static int parse_file(struct file_entry *f, const struct node *e)
{
	static const char *const kinds[] = { "content", "source", "symlink", "directory" };
	const struct node *v, *which = NULL;
	int r, found = 0;

	f->node = e;
	if ((r = node_expect(e, NODE_MAP)) < 0)
		return r;
	if (!(v = node_get(e, "path")))
		return node_error(e, "missing 'path'");
	if ((r = node_get_string(v, &f->path)) < 0 || (r = check_target_path(v, f->path)) < 0)
		return r;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if ((v = node_get(e, kinds[k]))) {
			if (found++)
				return node_error(v, "give only one of content, source, symlink or "
						  "directory");
			f->kind = (enum file_kind)k;
			which = v;
		}
	if (!found)
		return node_error(e, "missing one of 'content', 'source', 'symlink' or 'directory'");
	switch (f->kind) {
	case FILE_CONTENT:
		r = node_get_string(which, &f->data);
		break;
	case FILE_SYMLINK:
		r = node_get_string(which, &f->data);
		if (r == 0 && !*f->data)
			r = node_error(which, "a symlink needs a target");
		break;
	case FILE_SOURCE: {
		const char *s;
		struct stat st;

		if ((r = node_get_string(which, &s)) < 0)
			return r;
		f->source = node_path_resolve(which, s);
		if (stat(f->source, &st) < 0)
			return node_error(which, "cannot open '%s': %s", f->source, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return node_error(which, "'%s' is not a regular file (use overlays: for "
					  "directories)", f->source);
		f->mode = st.st_mode & 07777;
		break;
	}
	case FILE_DIRECTORY: {
		bool on;

		if ((r = node_get_bool(which, &on)) < 0)
			return r;
		if (!on)
			return node_error(which, "directory: false makes no entry; remove it");
		f->mode = 0755;
		break;
	}
	}
	if (r < 0)
		return r;
	if (f->kind == FILE_CONTENT)
		f->mode = 0644;
	if ((v = node_get(e, "mode"))) {
		if (f->kind == FILE_SYMLINK)
			return node_error(v, "a symlink has no mode of its own");
		if ((r = node_get_mode(v, &f->mode)) < 0)
			return r;
	}
	f->owner = node_get(e, "owner");
	f->group = node_get(e, "group");
	return 0;
}

static int parse_overlay(struct overlay *o, const struct node *e)
{
	const struct node *src = e, *v;
	const char *s;
	struct stat st;
	int r;

	o->node = e;
	o->target = "/";
	if (e->kind == NODE_MAP) {
		if (!(src = node_get(e, "source")))
			return node_error(e, "missing 'source' (the directory to copy)");
		if ((v = node_get(e, "target"))) {
			if ((r = node_get_string(v, &o->target)) < 0)
				return r;
			if (!streq(o->target, "/") && (r = check_target_path(v, o->target)) < 0)
				return r;
		}
		o->owner = node_get(e, "owner");
		o->group = node_get(e, "group");
	}
	if ((r = node_get_string(src, &s)) < 0)
		return r;
	o->source = node_path_resolve(src, s);
	if (stat(o->source, &st) < 0)
		return node_error(src, "overlay directory '%s': %s", o->source, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return node_error(src, "overlay '%s' is not a directory", o->source);
	return 0;
}

static void files_free(void *priv)
{
	struct files_priv *p = priv;

	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].source);
	for (size_t i = 0; i < p->n_overlays; i++)
		free(p->overlays[i].source);
	free(p->files);
	free(p->overlays);
	free(p);
}

/* The output (-o) must not be in an overlay directory (the build would copy its own
 * temporary image into itself) nor be a source file (overwritten at the end). */
static int check_output_outside(struct build *b, struct files_priv *p)
{
	_cleanup_free_ char *copy = NULL, *copy2 = NULL, *dir = NULL, *out = NULL;
	struct stat ost;
	bool out_exists;

	if (!b->out_path)
		return 0; /* check: nothing is written */
	copy = xstrdup(b->out_path);
	copy2 = xstrdup(b->out_path);
	dir = realpath(dirname(copy), NULL);
	if (!dir)
		return 0; /* the driver reports a missing directory */
	out = xasprintf("%s/%s", streq(dir, "/") ? "" : dir, basename(copy2));
	out_exists = stat(out, &ost) == 0;
	for (size_t i = 0; i < p->n_overlays; i++) {
		_cleanup_free_ char *src = realpath(p->overlays[i].source, NULL);
		size_t len = src ? strlen(src) : 0;

		if (src && strncmp(out, src, len) == 0 && (out[len] == '/' || streq(src, "/")))
			return node_error(p->overlays[i].node, "the output '%s' is inside overlay "
					  "directory '%s', which the build copies: write the image "
					  "elsewhere", b->out_path, p->overlays[i].source);
	}
	for (size_t i = 0; out_exists && i < p->n_files; i++) {
		struct stat st;

		const struct file_entry *f = &p->files[i];

		if (f->kind == FILE_SOURCE && stat(f->source, &st) == 0 &&
		    st.st_dev == ost.st_dev && st.st_ino == ost.st_ino)
			return node_error(node_get(f->node, "source"), "'%s' is the output (-o "
					  "'%s'): the build would overwrite it; write the image "
					  "elsewhere", f->source, b->out_path);
	}
	return 0;
}

static int files_parse(struct build *b, void **ret_priv)
{
	struct node *files = node_get(b->recipe->root, "files");
	struct node *overlays = node_get(b->recipe->root, "overlays");
	struct files_priv *p = xcalloc(1, sizeof(*p));
	int r;

	*ret_priv = p;
	if (overlays) {
		if ((r = node_expect(overlays, NODE_SEQ)) < 0)
			return r;
		p->overlays = xcalloc(overlays->n, sizeof(*p->overlays));
		for (size_t i = 0; i < overlays->n; i++) {
			p->n_overlays++; /* first: a failed entry's source is freed too */
			if ((r = parse_overlay(&p->overlays[i], overlays->items[i])) < 0)
				return r;
		}
	}
	if (files) {
		if ((r = node_expect(files, NODE_SEQ)) < 0)
			return r;
		p->files = xcalloc(files->n, sizeof(*p->files));
		for (size_t i = 0; i < files->n; i++) {
			p->n_files++; /* first: a failed entry's source is freed too */
			if ((r = parse_file(&p->files[i], files->items[i])) < 0)
				return r;
		}
	}
	if (!p->n_files && !p->n_overlays)
		return 0;
	if ((r = check_output_outside(b, p)) < 0)
		return r;
	p->node = files ? files : overlays;
	if (!build_part_at(b, "/"))
		return node_error(p->node, "no partition has a filesystem mounted at '/' to hold "
				  "these files (add mount: / to a partition's filesystem)");
	return 1;
}

static int resolve_owner(struct build *b, const struct node *owner, const struct node *group,
			 struct tree_attr *a)
{
	const char *s;
	int r;

	a->uid = 0;
	a->gid = 0;
	if (owner) {
		if ((r = node_get_string(owner, &s)) < 0)
			return r;
		if (passwd_resolve_user(b->tree, s, &a->uid) < 0)
			return node_error(owner, "'%s' is not a user of the target (not in its "
					  "/etc/passwd nor one of Debian's fixed ids); use a number",
					  s);
	}
	if (group) {
		if ((r = node_get_string(group, &s)) < 0)
			return r;
		if (passwd_resolve_group(b->tree, s, &a->gid) < 0)
			return node_error(group, "'%s' is not a group of the target (not in its "
					  "/etc/group nor one of Debian's fixed ids); use a number",
					  s);
	}
	return 0;
}

/* ---- verify: what the tree would refuse, found before anything is written ---- */

/* The paths the overlays and files make, in run order, and what each is: enough to refuse a
 * file over a directory, a directory over a file, or a path through a file, as the tree
 * would in the middle of the build. What earlier stages make (the packages) is not known
 * here; a path through a symlink is not followed. */
enum made_kind {
	MADE_DIR,
	MADE_FILE,
	MADE_LINK,
};

struct made {
	char *path;
	enum made_kind kind;
};

static int made_cmp(const void *a, const void *b)
{
	return strcmp(((const struct made *)a)->path, ((const struct made *)b)->path);
}

static void made_free(void *m)
{
	free(((struct made *)m)->path);
	free(m);
}

static int made_get(void *const *root, const char *path)
{
	struct made key = { .path = (char *)path };
	struct made **m = tfind(&key, root, made_cmp);

	return m ? (int)(*m)->kind : -1;
}

static void made_set(void **root, const char *path, enum made_kind kind)
{
	struct made *m = xcalloc(1, sizeof(*m)), **found;

	m->path = xstrdup(path);
	m->kind = kind;
	found = tsearch(m, root, made_cmp);
	if (!found)
		abort(); /* out of memory, as x*alloc() do */
	if (*found != m) {
		(*found)->kind = kind;
		made_free(m);
	}
}

/* "/etc//x/./y/" -> "/etc/x/y": the paths were checked (absolute, no ".."). */
static char *target_normalize(const char *path)
{
	_cleanup_free_ char *rel = NULL;

	if (path_normalize(path, &rel) < 0)
		return xstrdup(path);
	return xasprintf("/%s", rel);
}

/* Records that `path` (normalized) becomes `kind`, its missing parents directories; fails
 * at n, with the tree's words, where the tree would. */
static int made_place(void **root, const struct node *n, const char *path, enum made_kind kind)
{
	_cleanup_free_ char *prefix = xstrdup(path);
	int k;

	for (char *slash = strchr(prefix + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		k = made_get(root, prefix);
		if (k == MADE_FILE)
			return node_error(n, "cannot resolve '%s': '%s' is not a directory", path,
					  prefix);
		if (k == MADE_LINK)
			return 0; /* where it leads is not known here */
		if (k < 0)
			made_set(root, prefix, MADE_DIR);
		*slash = '/';
	}
	k = made_get(root, path);
	if (kind != MADE_DIR && k == MADE_DIR)
		return node_error(n, "cannot replace directory '%s' with a non-directory", path);
	if (kind == MADE_DIR && (k == MADE_FILE || k == MADE_LINK))
		return node_error(n, "cannot create directory '%s': a file is in the way", path);
	made_set(root, path, kind);
	return 0;
}

/* The entries of an overlay's source directory, as copy_tree() will make them. */
static int made_overlay(void **root, const struct node *n, const char *src, const char *dst)
{
	_cleanup_(closedirp) DIR *d = opendir(src);
	struct dirent *e;
	int r;

	if (!d)
		return node_error(n, "cannot read overlay directory '%s': %s", src,
				  strerror(errno));
	while ((e = readdir(d))) {
		_cleanup_free_ char *s = NULL, *t = NULL;
		struct stat st;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		s = xasprintf("%s/%s", src, e->d_name);
		t = xasprintf("%s/%s", streq(dst, "/") ? "" : dst, e->d_name);
		if (lstat(s, &st) < 0)
			return node_error(n, "cannot read '%s': %s", s, strerror(errno));
		r = made_place(root, n, t, S_ISDIR(st.st_mode) ? MADE_DIR :
					   S_ISLNK(st.st_mode) ? MADE_LINK : MADE_FILE);
		if (r == 0 && S_ISDIR(st.st_mode))
			r = made_overlay(root, n, s, t);
		if (r < 0)
			return r;
	}
	return 0;
}

static int resolve_owner(struct build *b, const struct node *owner, const struct node *group,
			 struct tree_attr *a);

static int files_verify(struct build *b, void *priv)
{
	struct files_priv *p = priv;
	void *made = NULL;
	bool passwd, group;
	int r = 0;

	/* The filesystems' mount points are directories of the tree. */
	made_set(&made, "/", MADE_DIR);
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].fs.mount && b->parts[i].fs.type != FS_NONE)
			made_place(&made, NULL, b->parts[i].fs.mount, MADE_DIR);
	for (size_t i = 0; i < p->n_overlays && r >= 0; i++) {
		struct overlay *o = &p->overlays[i];
		_cleanup_free_ char *t = target_normalize(o->target);

		r = made_place(&made, o->node, t, MADE_DIR);
		if (r >= 0)
			r = made_overlay(&made, o->node, o->source, t);
	}
	for (size_t i = 0; i < p->n_files && r >= 0; i++) {
		struct file_entry *f = &p->files[i];
		_cleanup_free_ char *t = target_normalize(f->path);

		r = made_place(&made, f->node, t,
			       f->kind == FILE_DIRECTORY ? MADE_DIR :
			       f->kind == FILE_SYMLINK	 ? MADE_LINK :
							   MADE_FILE);
	}

	/* Owner names: without packages (whose scripts may add any user) and without an
	 * /etc/passwd or /etc/group of the recipe's own, only numbers and Debian's fixed ids
	 * (base-passwd's) can resolve: say so now rather than halfway through the build. */
	passwd = made_get(&made, "/etc/passwd") == MADE_FILE;
	group = made_get(&made, "/etc/group") == MADE_FILE;
	for (size_t i = 0; i < p->n_overlays + p->n_files && r >= 0 && !b->packages; i++) {
		const struct node *owner = i < p->n_overlays ? p->overlays[i].owner :
							       p->files[i - p->n_overlays].owner;
		const struct node *grp = i < p->n_overlays ? p->overlays[i].group :
							     p->files[i - p->n_overlays].group;
		struct tree_attr a = { 0 };

		r = resolve_owner(b, passwd ? NULL : owner, group ? NULL : grp, &a);
	}
	tdestroy(made, made_free);
	return r < 0 ? r : 0;
}

/* Errors from the tree name the recipe entry they come from: "recipe.yml:8:5: files[1]: ". */
static void scope_entry(const struct node *n)
{
	_cleanup_free_ char *s = xasprintf("%s:%u:%u: %s", n->file, n->line, n->col, n->path);

	log_set_scope(s);
}

static int64_t clamp_time(struct build *b, int64_t t)
{
	return b->clamp_mtime && t > b->now ? b->now : t;
}

/* Overlay files with several names on the host: the first name each got in the target, so
 * the others become hard links to it (same inode, right link count), as in a package. */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path;              /* in the target */
	const struct partition *part; /* the filesystem holding it */
};

struct links {
	struct link_seen *v;
	size_t n;
};

static void links_done(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

/* The partition whose filesystem holds `path` of the target: the longest mount point above
 * it. Hard links cannot cross filesystems. */
static const struct partition *part_holding(struct build *b, const char *path)
{
	const struct partition *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < b->n_parts; i++) {
		const char *m = b->parts[i].fs.mount;
		size_t len = m ? strlen(m) : 0;

		if (!m || (best && len <= best_len))
			continue;
		if (streq(m, "/") || (strncmp(path, m, len) == 0 && path[len] == '/')) {
			best = &b->parts[i];
			best_len = len;
		}
	}
	return best;
}

/* Writes the overlay file s (nlink > 1) as a link to an earlier name of it, if there is one
 * on the same filesystem: 1 when linked, 0 when the caller copies it (and it is recorded). */
static int link_known(struct build *b, struct links *l, const struct stat *st, const char *d)
{
	const struct partition *part = part_holding(b, d);

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].dev == st->st_dev && l->v[i].ino == st->st_ino &&
		    l->v[i].part == part) {
			int r = tree_link(b->tree, d, l->v[i].path);

			return r < 0 ? r : 1;
		}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct link_seen){
		.dev = st->st_dev, .ino = st->st_ino, .path = xstrdup(d), .part = part,
	};
	return 0;
}

static int name_cmp(const struct dirent **x, const struct dirent **y)
{
	return strcmp((*x)->d_name, (*y)->d_name);
}

static int copy_tree(struct build *b, const char *src, const char *dst,
		     const struct tree_attr *owner, struct links *links)
{
	struct dirent **list = NULL;
	int n, r = 0;

	n = scandir(src, &list, NULL, name_cmp);
	if (n < 0)
		return log_errno(errno, "cannot read overlay directory '%s'", src);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *s = NULL, *d = NULL;
		struct stat st;
		struct tree_attr a = *owner;

		if (r < 0 || streq(name, ".") || streq(name, ".."))
			continue;
		s = xasprintf("%s/%s", src, name);
		d = xasprintf("%s/%s", streq(dst, "/") ? "" : dst, name);
		if (lstat(s, &st) < 0) {
			r = log_errno(errno, "cannot read '%s'", s);
			continue;
		}
		a.mode = st.st_mode & 07777;
		a.mtime = clamp_time(b, st.st_mtime);
		if (S_ISDIR(st.st_mode)) {
			r = tree_mkdir(b->tree, d, &a);
			if (r >= 0)
				r = copy_tree(b, s, d, owner, links);
		} else if (S_ISREG(st.st_mode) && st.st_nlink > 1 &&
			   (r = link_known(b, links, &st, d)) != 0) {
			r = r < 0 ? r : 0; /* linked to its earlier name */
		} else if (S_ISREG(st.st_mode)) {
			/* Not blocking on a FIFO put in its place since the lstat */
			_cleanup_close_ int fd = open_regular(s, O_NOFOLLOW, NULL);

			if (fd == -EINVAL || fd == -EISDIR || fd == -ELOOP)
				r = log_fail("overlay entry '%s' changed while it was copied", s);
			else if (fd < 0)
				r = log_errno(fd, "cannot open '%s'", s);
			else
				r = tree_write_fd(b->tree, d, &a, fd, (uint64_t)st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlink(s, target, sizeof(target) - 1);

			if (k < 0) {
				r = log_errno(errno, "cannot read symlink '%s'", s);
			} else {
				target[k] = 0;
				r = tree_symlink(b->tree, d, target, &a);
			}
		} else {
			r = log_fail("overlay entry '%s' is a device, fifo or socket: only "
				     "directories, files and symlinks are copied", s);
		}
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return r;
}

static int files_run(struct build *b, void *priv)
{
	struct files_priv *p = priv;
	_cleanup_(links_done) struct links links = { 0 };
	int r;

	for (size_t i = 0; i < p->n_overlays; i++) {
		struct overlay *o = &p->overlays[i];
		struct tree_attr owner = { 0 };

		if ((r = resolve_owner(b, o->owner, o->group, &owner)) < 0)
			return r;
		log_info("overlay %s -> %s", o->source, o->target);
		scope_entry(o->node);
		if (!streq(o->target, "/")) {
			struct stat st;
			struct tree_attr a = owner;

			if (stat(o->source, &st) < 0)
				return log_errno(errno, "cannot read '%s'", o->source);
			a.mode = st.st_mode & 07777;
			a.mtime = clamp_time(b, st.st_mtime);
			if ((r = tree_mkdir(b->tree, o->target, &a)) < 0)
				return r;
		}
		if ((r = copy_tree(b, o->source, o->target, &owner, &links)) < 0)
			return r;
		log_set_scope("files");
	}
	for (size_t i = 0; i < p->n_files; i++) {
		struct file_entry *f = &p->files[i];
		struct tree_attr a = { .mode = f->mode, .mtime = b->now };

		if ((r = resolve_owner(b, f->owner, f->group, &a)) < 0)
			return r;
		log_debug("%s", f->path);
		scope_entry(f->node);
		switch (f->kind) {
		case FILE_CONTENT:
			r = tree_write(b->tree, f->path, &a, f->data, strlen(f->data));
			break;
		case FILE_SYMLINK:
			r = tree_symlink(b->tree, f->path, f->data, &a);
			break;
		case FILE_DIRECTORY:
			r = tree_mkdir(b->tree, f->path, &a);
			break;
		case FILE_SOURCE: {
			/* Checked again on the descriptor: the file may have been replaced by a
			 * FIFO or a device since parse, and opening one would block. */
			struct stat st;
			_cleanup_close_ int fd = open_regular(f->source, 0, &st);

			if (fd == -EINVAL)
				return log_fail("'%s' is no longer a regular file", f->source);
			if (fd < 0)
				return log_errno(fd, "cannot open '%s'", f->source);
			a.mtime = clamp_time(b, st.st_mtime);
			r = tree_write_fd(b->tree, f->path, &a, fd, (uint64_t)st.st_size);
			break;
		}
		}
		if (r < 0)
			return r;
		log_set_scope("files");
	}
	log_info("%zu file%s, %zu overlay%s", p->n_files, p->n_files == 1 ? "" : "s",
		 p->n_overlays, p->n_overlays == 1 ? "" : "s");
	return 0;
}

static int files_plan(struct build *b, void *priv, FILE *out)
{
	struct files_priv *p = priv;
	static const char *const kinds[] = { "file", "copy of", "symlink to", "directory" };

	fprintf(out, "files:\n");
	/* Newlines in paths are escaped here; the driver escapes the other controls. */
	for (size_t i = 0; i < p->n_overlays; i++) {
		_cleanup_free_ char *src = log_escape(p->overlays[i].source),
				    *dst = log_escape(p->overlays[i].target);

		fprintf(out, "  overlay %s -> %s\n", src, dst);
	}
	for (size_t i = 0; i < p->n_files; i++) {
		struct file_entry *f = &p->files[i];
		_cleanup_free_ char *path = log_escape(f->path), *what = log_escape(
			f->kind == FILE_SOURCE ? f->source : f->kind == FILE_SYMLINK ? f->data : "");

		fprintf(out, "  %s (%s%s%s)\n", path, kinds[f->kind],
			f->kind == FILE_SOURCE || f->kind == FILE_SYMLINK ? " " : "", what);
	}
	return 0;
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key files_key_table[] = {
	{ "overlays", "list", "none", NULL,
	  "directories copied into the target, in order: a path (copied to /) or a mapping" },
	{ "overlays[].source", "path", "required", NULL, "the directory on the build host" },
	{ "overlays[].target", "path", "/", NULL, "where it lands" },
	{ "overlays[].owner", "string", "root", NULL, "owner of everything copied" },
	{ "overlays[].group", "string", "root", NULL, "group of everything copied" },
	{ "files", "list", "none", NULL, "single files, after the overlays, in order" },
	{ "files[].path", "path", "required", NULL, "the path in the target" },
	{ "files[].content", "string", "none", NULL, "the file's bytes" },
	{ "files[].source", "path", "none", NULL, "a file of the build host" },
	{ "files[].symlink", "string", "none", NULL, "a symlink to this target" },
	{ "files[].directory", "bool", "false", NULL, "a directory" },
	{ "files[].mode", "mode", "0644 (directories 0755; source: its mode)", NULL, "octal" },
	{ "files[].owner", "string", "root", NULL,
	  "a name (the target's /etc/passwd, then Debian's fixed ids) or a number" },
	{ "files[].group", "string", "root", NULL, "a name or a number" },
	{ NULL },
};

const struct stage stage_files = {
	.name = "files",
	.key_table = files_key_table,
	.summary = "copy overlays and write files into the target",
	.parse = files_parse,
	.verify = files_verify,
	.plan = files_plan,
	.run = files_run,
	.free = files_free,
};
