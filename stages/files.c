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
 *   Modes, symlinks and mtimes are kept (mtimes clamped to SOURCE_DATE_EPOCH when set);
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
#include <sys/stat.h>

#include "log.h"
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
	if (s[0] != '/' || streq(s, "/") || strstr(s, "/../") || endswith(s, "/..") ||
	    strlen(s) >= 4096)
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
		for (size_t i = 0; i < overlays->n; i++, p->n_overlays++)
			if ((r = parse_overlay(&p->overlays[i], overlays->items[i])) < 0)
				return r;
	}
	if (files) {
		if ((r = node_expect(files, NODE_SEQ)) < 0)
			return r;
		p->files = xcalloc(files->n, sizeof(*p->files));
		for (size_t i = 0; i < files->n; i++, p->n_files++)
			if ((r = parse_file(&p->files[i], files->items[i])) < 0)
				return r;
	}
	if (!p->n_files && !p->n_overlays)
		return 0;
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
		if (build_resolve_user(b, s, &a->uid) < 0)
			return node_error(owner, "'%s' is not a user of the target (not in its "
					  "/etc/passwd nor one of Debian's fixed ids); use a number",
					  s);
	}
	if (group) {
		if ((r = node_get_string(group, &s)) < 0)
			return r;
		if (build_resolve_group(b, s, &a->gid) < 0)
			return node_error(group, "'%s' is not a group of the target (not in its "
					  "/etc/group nor one of Debian's fixed ids); use a number",
					  s);
	}
	return 0;
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

static int name_cmp(const struct dirent **x, const struct dirent **y)
{
	return strcmp((*x)->d_name, (*y)->d_name);
}

static int copy_tree(struct build *b, const char *src, const char *dst,
		     const struct tree_attr *owner)
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
				r = copy_tree(b, s, d, owner);
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int fd = open(s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

			if (fd < 0)
				r = log_errno(errno, "cannot open '%s'", s);
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
		if ((r = copy_tree(b, o->source, o->target, &owner)) < 0)
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
			_cleanup_close_ int fd = open(f->source, O_RDONLY | O_CLOEXEC);
			struct stat st;

			if (fd < 0 || fstat(fd, &st) < 0)
				return log_errno(errno, "cannot open '%s'", f->source);
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
	for (size_t i = 0; i < p->n_overlays; i++)
		fprintf(out, "  overlay %s -> %s\n", p->overlays[i].source, p->overlays[i].target);
	for (size_t i = 0; i < p->n_files; i++) {
		struct file_entry *f = &p->files[i];

		fprintf(out, "  %s (%s%s%s)\n", f->path, kinds[f->kind],
			f->kind == FILE_SOURCE || f->kind == FILE_SYMLINK ? " " : "",
			f->kind == FILE_SOURCE ? f->source : f->kind == FILE_SYMLINK ? f->data : "");
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
	.plan = files_plan,
	.run = files_run,
	.free = files_free,
};
