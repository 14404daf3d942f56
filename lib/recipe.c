/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The recipe loader: libyaml events become a tree of nodes (lib/node) that keep their file and
 * 1-based position, `include:` files are merged and `${variables}` substituted. Everything
 * libyaml-specific (0-based marks, error fields, events, anchors) stays in this file. */
#include "recipe.h"

#include <sys/stat.h>
#include <yaml.h>

#include "log.h"

/* Limits on what comes from the recipe files. */
#define RECIPE_FILE_MAX (16u * 1024 * 1024) /* bytes per file */
#define RECIPE_DEPTH_MAX 64                 /* nesting of mappings and lists */
#define RECIPE_NODES_MAX 1000000            /* nodes in all files, aliases expanded */
#define RECIPE_KEYS_MAX 10000               /* keys in one mapping (lookups are linear) */
#define RECIPE_INCLUDE_DEPTH_MAX 16         /* nesting of include: */
#define RECIPE_VAR_DEPTH_MAX 64             /* variables referring to variables */
#define RECIPE_EXPAND_MAX (64u * 1024 * 1024) /* bytes produced by ${} substitution */

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c) || c == '-';
}

/* [A-Za-z_][A-Za-z0-9_-]* */
static bool name_is_valid(const char *s, size_t n)
{
	if (n == 0 || !is_name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* "examples/usb.yml" -> "examples", "usb.yml" -> ".", "/usb.yml" -> "/" */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static bool key_is_append(const char *key)
{
	size_t n = strlen(key);

	return n > 1 && key[n - 1] == '+';
}

/* ---- parsing one file ---- */

struct anchor {
	char *name;
	const struct node *node;
	size_t count;
	unsigned height;
};

struct loader {
	struct recipe *r;
	size_t nodes;
	/* The files being loaded, top-level first, to find include cycles. */
	struct {
		dev_t dev;
		ino_t ino;
		const char *file;    /* as named */
		const char *written; /* the include entry that named it; NULL for the top */
	} chain[RECIPE_INCLUDE_DEPTH_MAX + 1];
	unsigned depth;
};

struct parser {
	struct loader *l;
	yaml_parser_t yp;
	const char *file, *dir;
	const char *buf;
	size_t size;
	struct anchor *anchors;
	size_t n_anchors;
};

static int parser_fail(struct parser *p, yaml_mark_t mark, const char *fmt, ...) _printf_(3, 4);
static int parser_fail(struct parser *p, yaml_mark_t mark, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_error("%s:%zu:%zu: %s", p->file, mark.line + 1, mark.column + 1, msg);
	return -EINVAL;
}

/* Translates libyaml's error fields (0-based marks, or a byte offset for reader errors). */
static int parser_yaml_error(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	const char *problem = yp->problem ? yp->problem : "invalid YAML";
	yaml_mark_t mark = yp->problem_mark;

	if (yp->error == YAML_MEMORY_ERROR) {
		log_error("%s: out of memory while parsing", p->file);
		return -ENOMEM;
	}
	if (yp->error == YAML_READER_ERROR) {
		size_t end = yp->problem_offset < p->size ? yp->problem_offset : p->size;

		mark.line = mark.column = 0;
		for (size_t i = 0; i < end; i++) {
			if (p->buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if (((unsigned char)p->buf[i] & 0xc0) != 0x80)
				mark.column++;
		}
		if (yp->problem_value != -1)
			return parser_fail(p, mark, "%s (0x%x)", problem,
					   (unsigned)yp->problem_value);
	}
	return parser_fail(p, mark, "%s", problem);
}

static int parser_next(struct parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->yp, ev)) {
		memset(ev, 0, sizeof(*ev));
		return parser_yaml_error(p);
	}
	return 0;
}

static void yaml_event_deletep(yaml_event_t *ev)
{
	yaml_event_delete(ev);
}
#define _cleanup_event_ _cleanup_(yaml_event_deletep)

static int parser_count(struct parser *p, yaml_mark_t mark, size_t n)
{
	if (p->l->nodes + n > RECIPE_NODES_MAX)
		return parser_fail(p, mark, "too many values (more than %d, aliases included)",
				   RECIPE_NODES_MAX);
	p->l->nodes += n;
	return 0;
}

static struct node *parser_node_new(struct parser *p, enum node_kind kind, yaml_mark_t mark)
{
	return node_new(kind, p->file, p->dir, (unsigned)mark.line + 1, (unsigned)mark.column + 1);
}

static void parser_add_anchor(struct parser *p, const yaml_char_t *name, const struct node *n)
{
	struct anchor *a;

	if (!name)
		return;
	p->anchors = xrealloc(p->anchors, (p->n_anchors + 1) * sizeof(*p->anchors));
	a = &p->anchors[p->n_anchors++];
	a->name = xstrdup((const char *)name);
	a->node = n;
	a->count = node_count(n);
	a->height = node_height(n);
}

/* YAML 1.1 nulls; recipes treat them as empty values. */
static bool scalar_is_null(const char *s)
{
	return streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL");
}

static int parse_node(struct parser *p, const yaml_event_t *ev, unsigned depth, bool key,
		      struct node **ret);

/* An alias is a deep copy of its anchor, counted against the node limit (alias bombs). */
static int parse_alias(struct parser *p, const yaml_event_t *ev, unsigned depth,
		       struct node **ret)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = NULL;
	int r;

	for (size_t i = p->n_anchors; i-- > 0;)
		if (streq(p->anchors[i].name, name)) {
			a = &p->anchors[i];
			break;
		}
	if (!a)
		return parser_fail(p, ev->start_mark, "unknown alias '*%s'", name);
	if (depth + a->height > RECIPE_DEPTH_MAX)
		return parser_fail(p, ev->start_mark, "nesting too deep (more than %d levels)",
				   RECIPE_DEPTH_MAX);
	r = parser_count(p, ev->start_mark, a->count);
	if (r < 0)
		return r;
	*ret = node_copy(a->node);
	return 0;
}

static int parse_node(struct parser *p, const yaml_event_t *ev, unsigned depth, bool key,
		      struct node **ret)
{
	_cleanup_(node_freep) struct node *n = NULL;
	const yaml_char_t *anchor = NULL;
	int r;

	if (depth > RECIPE_DEPTH_MAX)
		return parser_fail(p, ev->start_mark, "nesting too deep (more than %d levels)",
				   RECIPE_DEPTH_MAX);
	if (ev->type == YAML_ALIAS_EVENT)
		return parse_alias(p, ev, depth, ret);
	r = parser_count(p, ev->start_mark, 1);
	if (r < 0)
		return r;

	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;

		if (memchr(v, 0, len))
			return parser_fail(p, ev->start_mark, "NUL character in a value");
		n = parser_node_new(p, NODE_SCALAR, ev->start_mark);
		n->scalar = xstrndup(v, len);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (!key && n->plain && scalar_is_null(n->scalar))
			n->scalar[0] = 0;
		anchor = ev->data.scalar.anchor;
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		n = parser_node_new(p, NODE_SEQ, ev->start_mark);
		for (;;) {
			_cleanup_event_ yaml_event_t child = {};
			struct node *item;

			r = parser_next(p, &child);
			if (r < 0)
				return r;
			if (child.type == YAML_SEQUENCE_END_EVENT)
				break;
			r = parse_node(p, &child, depth + 1, false, &item);
			if (r < 0)
				return r;
			node_push(n, NULL, item);
		}
		anchor = ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		n = parser_node_new(p, NODE_MAP, ev->start_mark);
		for (;;) {
			_cleanup_event_ yaml_event_t kev = {};
			_cleanup_event_ yaml_event_t vev = {};
			_cleanup_(node_freep) struct node *k = NULL;
			struct node *v;

			r = parser_next(p, &kev);
			if (r < 0)
				return r;
			if (kev.type == YAML_MAPPING_END_EVENT)
				break;
			r = parse_node(p, &kev, depth + 1, true, &k);
			if (r < 0)
				return r;
			if (k->kind != NODE_SCALAR)
				return parser_fail(p, kev.start_mark,
						   "a key must be a plain value, not %s",
						   node_kind_to_string(k->kind));
			if (n->n >= RECIPE_KEYS_MAX)
				return parser_fail(p, kev.start_mark,
						   "too many keys in one mapping (more than %d)",
						   RECIPE_KEYS_MAX);
			r = parser_next(p, &vev);
			if (r < 0)
				return r;
			r = parse_node(p, &vev, depth + 1, false, &v);
			if (r < 0)
				return r;
			node_push(n, TAKE_PTR(k), v);
		}
		anchor = ev->data.mapping_start.anchor;
		break;
	default:
		return parser_fail(p, ev->start_mark, "unexpected YAML event %d", (int)ev->type);
	}

	parser_add_anchor(p, anchor, n);
	*ret = TAKE_PTR(n);
	return 0;
}

/* Duplicate keys, counting `name` and `name+` as the same key. Paths must be set. */
static int check_duplicates(const struct node *n)
{
	int r;

	if (n->kind == NODE_MAP)
		for (size_t i = 1; i < n->n; i++) {
			const char *a = n->keys[i]->scalar;
			size_t la = strlen(a) - key_is_append(a);

			for (size_t j = 0; j < i; j++) {
				const char *b = n->keys[j]->scalar;
				size_t lb = strlen(b) - key_is_append(b);

				if (la != lb || memcmp(a, b, la) != 0)
					continue;
				const struct node *k = n->keys[i];
				unsigned first = n->keys[j]->line;

				if (streq(a, b))
					return node_error(k, "duplicate key '%s' (first at line %u)",
							  a, first);
				return node_error(k, "'%s' and '%s' (at line %u) in one mapping",
						  a, b, first);
			}
		}
	for (size_t i = 0; i < n->n; i++) {
		r = check_duplicates(n->items[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_file(struct loader *l, const char *file, const char *dir, const char *buf,
		      size_t size, struct node **ret)
{
	struct parser p = {
		.l = l,
		.file = file,
		.dir = dir,
		.buf = buf,
		.size = size,
	};
	_cleanup_(node_freep) struct node *root = NULL;
	bool seen_document = false, done = false;
	int r = 0;

	if (!yaml_parser_initialize(&p.yp))
		return log_errno(ENOMEM, "cannot parse '%s'", file);
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)buf, size);

	while (!done) {
		_cleanup_event_ yaml_event_t ev = {};

		r = parser_next(&p, &ev);
		if (r < 0)
			break;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (seen_document)
				r = parser_fail(&p, ev.start_mark,
						"more than one YAML document in one file");
			seen_document = true;
			break;
		default:
			r = parse_node(&p, &ev, 0, false, &root);
			break;
		}
		if (r < 0)
			break;
	}

	yaml_parser_delete(&p.yp);
	for (size_t i = 0; i < p.n_anchors; i++)
		free(p.anchors[i].name);
	free(p.anchors);
	if (r < 0)
		return r;

	if (!root || (root->kind == NODE_SCALAR && !*root->scalar && root->plain)) {
		unsigned line = root ? root->line : 1, col = root ? root->col : 1;

		node_free(root);
		root = node_new(NODE_MAP, file, dir, line, col);
	}
	node_set_paths(root, "");
	if (root->kind != NODE_MAP)
		return node_error(root, "expected a mapping at the top level, got %s",
				  node_kind_to_string(root->kind));
	/* Every top-level key is a name (image, partitions, files+, ...). A file whose keys are
	 * not, such as /etc/shadow (each "name:hash:...:" line is a key), is not a recipe: one
	 * message for the whole file, none of its text in it. */
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i]->scalar;

		if (!name_is_valid(k, strlen(k) - key_is_append(k)))
			return node_error(root, "not a recipe: line %u holds no recipe key (a "
					  "recipe is a YAML mapping of keys such as image: and "
					  "partitions:)", root->keys[i]->line);
	}
	r = check_duplicates(root);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(root);
	return 0;
}

/* ---- merging ---- */

/* Turns `name+:` into `name:` where there is nothing to append to (values added whole). */
static int node_normalize(struct node *n)
{
	int r;

	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == NODE_MAP && key_is_append(n->keys[i]->scalar)) {
			struct node *k = n->keys[i];

			if (n->items[i]->kind != NODE_SEQ)
				return node_error(n->items[i], "'%s' appends a list, got %s",
						  k->scalar,
						  node_kind_to_string(n->items[i]->kind));
			k->scalar[strlen(k->scalar) - 1] = 0;
		}
		r = node_normalize(n->items[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Keys that exclude each other in one mapping (its stage accepts only one of them). When a
 * later file sets one, the others that earlier files set there are dropped, so a recipe can
 * choose another alternative than the file it includes: {file: pw} over an included {hash:
 * ...}. "[]" stands for any list index. The other alternatives of the stages (files[]:
 * content/source/symlink/directory, initrd.files[]: source/content, partitions[].encrypt:
 * passphrase-file/passphrase-env, system.users[].password, run[]: script/command,
 * test.steps[]) are in list items, which a later file replaces whole: list them here should
 * such a mapping ever merge. */
static const struct {
	const char *path; /* of the mapping */
	const char *const keys[5];
} exclusive_keys[] = {
	{ "system.root-password", { "hash", "file" } },
};

/* A key path against a pattern of exclusive_keys. */
static bool path_matches(const char *pattern, const char *path)
{
	while (*pattern) {
		if (pattern[0] == '[' && pattern[1] == ']') {
			if (*path++ != '[')
				return false;
			path += strspn(path, "0123456789");
			if (*path++ != ']')
				return false;
			pattern += 2;
		} else if (*pattern++ != *path++)
			return false;
	}
	return !*path;
}

/* Drops from dst the keys that src's keys exclude, except those src sets too: two
 * alternatives in one mapping of one file stay, for the stage to refuse there (the mapping
 * takes src's position: the choice is now src's). */
static void drop_excluded(struct node *dst, const struct node *src)
{
	for (size_t g = 0; g < ARRAY_SIZE(exclusive_keys); g++) {
		const char *const *keys = exclusive_keys[g].keys;
		bool set = false;

		if (!src->path || !path_matches(exclusive_keys[g].path, src->path))
			continue;
		for (size_t k = 0; keys[k] && !set; k++)
			set = node_find(src, keys[k]) >= 0;
		if (set) {
			dst->file = src->file;
			dst->dir = src->dir;
			dst->line = src->line;
			dst->col = src->col;
		}
		for (size_t k = 0; set && keys[k]; k++) {
			_cleanup_(node_freep) struct node *key = NULL, *value = NULL;
			ssize_t i = node_find(dst, keys[k]);

			if (i >= 0 && node_find(src, keys[k]) < 0)
				node_detach(dst, (size_t)i, &key, &value);
		}
	}
}

static int merge_map(struct node *dst, struct node *src);

/* Merges one pair into dst, taking ownership of key and value. An append (`name+:`) with
 * nothing to append to yet keeps its "+", so that a later sibling's list, or the file that
 * includes both, still composes with it: fragments included side by side each add their
 * globs. The recipe's root is normalized once everything is merged (recipe_load). */
static int merge_pair(struct node *dst, struct node *key, struct node *value)
{
	_cleanup_(node_freep) struct node *k = key, *v = value;
	_cleanup_free_ char *name = xstrdup(k->scalar), *plus = NULL;
	bool append = key_is_append(name);
	ssize_t i;

	if (append)
		name[strlen(name) - 1] = 0;
	plus = xasprintf("%s+", name);
	i = node_find(dst, name);
	if (i < 0)
		i = node_find(dst, plus); /* a pending append, a list */

	if (append) {
		struct node *old;

		if (v->kind != NODE_SEQ)
			return node_error(v, "'%s' appends a list, got %s", k->scalar,
					  node_kind_to_string(v->kind));
		if (i < 0) {
			if (dst->n >= RECIPE_KEYS_MAX)
				return node_error(k, "too many keys in one mapping (more than %d)",
						  RECIPE_KEYS_MAX);
			node_push(dst, TAKE_PTR(k), TAKE_PTR(v));
			return 0;
		}
		old = dst->items[i];
		if (old->kind != NODE_SEQ)
			return node_error(k,
					  "cannot append to '%s' (%s:%u:%u), which is %s, not a list",
					  name, old->file, old->line, old->col,
					  node_kind_to_string(old->kind));
		for (size_t j = 0; j < v->n; j++)
			node_push(old, NULL, TAKE_PTR(v->items[j]));
		return 0;
	}

	if (i >= 0 && dst->items[i]->kind == NODE_MAP && v->kind == NODE_MAP)
		return merge_map(dst->items[i], TAKE_PTR(v));

	if (i >= 0) {
		node_free(dst->keys[i]);
		node_free(dst->items[i]);
		dst->keys[i] = TAKE_PTR(k);
		dst->items[i] = TAKE_PTR(v);
		return 0;
	}
	if (dst->n >= RECIPE_KEYS_MAX)
		return node_error(k, "too many keys in one mapping (more than %d)",
				  RECIPE_KEYS_MAX);
	node_push(dst, TAKE_PTR(k), TAKE_PTR(v));
	return 0;
}

/* Merges src on top of dst; src is consumed. */
static int merge_map(struct node *dst, struct node *src)
{
	_cleanup_(node_freep) struct node *s = src;
	int r;

	drop_excluded(dst, s);
	for (size_t i = 0; i < s->n; i++) {
		struct node *k = TAKE_PTR(s->keys[i]), *v = TAKE_PTR(s->items[i]);

		r = merge_pair(dst, k, v);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- loading files and includes ---- */

/* Registers a file name in the recipe; nodes point at the stored strings. */
static void loader_add_file(struct loader *l, const char *name, const char **ret_file,
			    const char **ret_dir)
{
	struct recipe *r = l->r;
	size_t n = strv_length(r->files);

	for (size_t i = 0; i < n; i++)
		if (streq(r->files[i], name)) {
			*ret_file = r->files[i];
			*ret_dir = r->dirs[i];
			return;
		}
	_cleanup_free_ char *dir = dir_of(name);
	r->files = strv_append(r->files, name);
	r->dirs = strv_append(r->dirs, dir);
	*ret_file = r->files[n];
	*ret_dir = r->dirs[n];
}

static int load_error(const struct node *from, const char *name, int err)
{
	err = err < 0 ? -err : err;
	if (err == EFBIG) {
		if (from)
			node_error(from, "'%s' is too large (more than %u MiB)", name,
				   RECIPE_FILE_MAX >> 20);
		else
			log_error("'%s' is too large (more than %u MiB)", name,
				  RECIPE_FILE_MAX >> 20);
	} else if (err == EINVAL) {
		/* read_file() refuses FIFOs and devices before reading: they could block */
		if (from)
			node_error(from, "'%s' is not a regular file", name);
		else
			log_error("'%s' is not a regular file", name);
	} else if (from)
		node_error(from, "cannot open '%s': %s", name, strerror(err));
	else
		log_error("cannot open '%s': %s", name, strerror(err));
	return -err;
}

static int load_cycle_error(struct loader *l, unsigned start, const struct node *from)
{
	_cleanup_(strbuf_freep) struct strbuf b = {};

	strbuf_adds(&b, l->chain[start].file);
	for (unsigned i = start + 1; i <= l->depth; i++) {
		const char *w = i < l->depth ? l->chain[i].written : from->scalar;

		strbuf_adds(&b, i == start + 1 ? " includes '" : ", which includes '");
		strbuf_adds(&b, w);
		strbuf_adds(&b, "'");
	}
	return node_error(from, "include cycle: %s", b.s);
}

static int load_file(struct loader *l, const char *name, const struct node *from,
		     struct node **ret);

static int load_includes(struct loader *l, const char *dir, const struct node *inc,
			 struct node *result)
{
	const struct node *const *entries = (const struct node *const *)&inc;
	size_t n = 1;
	int r;

	if (inc->kind == NODE_SEQ) {
		entries = (const struct node *const *)inc->items;
		n = inc->n;
	} else if (inc->kind != NODE_SCALAR)
		return node_error(inc, "expected a file name or a list of them, got %s",
				  node_kind_to_string(inc->kind));

	for (size_t i = 0; i < n; i++) {
		const struct node *e = entries[i];
		_cleanup_free_ char *path = NULL;
		struct node *sub;

		if (e->kind != NODE_SCALAR)
			return node_error(e, "expected a file name, got %s",
					  node_kind_to_string(e->kind));
		if (!*e->scalar)
			return node_error(e, "expected a file name, got an empty value");
		path = path_join(dir, e->scalar);
		r = load_file(l, path, e, &sub);
		if (r < 0)
			return r;
		r = merge_map(result, sub);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_file(struct loader *l, const char *name, const struct node *from,
		     struct node **ret)
{
	_cleanup_(node_freep) struct node *tree = NULL, *result = NULL, *inc_key = NULL,
					  *inc = NULL;
	_cleanup_free_ char *buf = NULL;
	const char *file, *dir;
	struct stat st;
	size_t size;
	ssize_t i;
	int r;

	if (stat(name, &st) < 0)
		return load_error(from, name, -errno);
	for (unsigned j = 0; j < l->depth; j++)
		if (l->chain[j].dev == st.st_dev && l->chain[j].ino == st.st_ino)
			return load_cycle_error(l, j, from);
	if (l->depth > RECIPE_INCLUDE_DEPTH_MAX)
		return node_error(from, "includes nested too deeply (more than %d levels)",
				  RECIPE_INCLUDE_DEPTH_MAX);
	r = read_file(name, RECIPE_FILE_MAX, &buf, &size);
	if (r < 0)
		return load_error(from, name, r);

	loader_add_file(l, name, &file, &dir);
	r = parse_file(l, file, dir, buf, size, &tree);
	if (r < 0)
		return r;

	result = node_new(NODE_MAP, file, dir, tree->line, tree->col);
	result->path = xstrdup("");

	i = node_find(tree, "include+");
	if (i >= 0)
		return node_error(tree->keys[i],
				  "'include+' is not supported: list every file under 'include'");
	i = node_find(tree, "include");
	if (i >= 0) {
		node_detach(tree, (size_t)i, &inc_key, &inc);
		l->chain[l->depth].dev = st.st_dev;
		l->chain[l->depth].ino = st.st_ino;
		l->chain[l->depth].file = file;
		l->chain[l->depth].written = from ? from->scalar : NULL;
		l->depth++;
		r = load_includes(l, dir, inc, result);
		l->depth--;
		if (r < 0)
			return r;
	}

	r = merge_map(result, TAKE_PTR(tree));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(result);
	return 0;
}

/* ---- variables ---- */

enum var_state {
	VAR_NEW,
	VAR_BUSY,
	VAR_DONE,
};

struct var {
	char *name;
	const char *raw;          /* the value as written */
	const struct node *node;  /* where it is defined; NULL for -D */
	const char *define;       /* the -D argument; NULL otherwise */
	char *value;              /* after substitution */
	enum var_state state;
};

struct subst {
	struct var *vars;
	size_t n_vars;
	struct var *stack[RECIPE_VAR_DEPTH_MAX];
	unsigned depth;
	size_t total;
};

static void subst_done(struct subst *s)
{
	for (size_t i = 0; i < s->n_vars; i++) {
		free(s->vars[i].name);
		free(s->vars[i].value);
	}
	free(s->vars);
}

static int where_error(const struct node *n, const char *define, const char *fmt, ...)
	_printf_(3, 4);
static int where_error(const struct node *n, const char *define, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (n)
		return node_error(n, "%s", msg);
	return log_fail("-D '%s': %s", define, msg);
}

static struct var *subst_find(struct subst *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_vars; i++)
		if (strlen(s->vars[i].name) == len && memcmp(s->vars[i].name, name, len) == 0)
			return &s->vars[i];
	return NULL;
}

static struct var *subst_add(struct subst *s, const char *name, size_t len)
{
	struct var *v = subst_find(s, name, len);

	if (v)
		return v;
	s->vars = xrealloc(s->vars, (s->n_vars + 1) * sizeof(*s->vars));
	v = &s->vars[s->n_vars++];
	*v = (struct var){ .name = xstrndup(name, len) };
	return v;
}

static int var_resolve(struct subst *s, struct var *v);

/* Substitutes ${name} and $${ in text. *ret is NULL when there was nothing to substitute. */
static int expand(struct subst *s, const char *text, const struct node *wn, const char *wd,
		  char **ret)
{
	_cleanup_(strbuf_freep) struct strbuf b = {};
	const char *p = text;
	int r;

	if (!strstr(text, "${")) {
		*ret = NULL;
		return 0;
	}
	while (*p) {
		const char *start, *end;
		struct var *v;

		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			strbuf_add(&b, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			const char *q = p + 1;

			while (*q && *q != '$')
				q++;
			strbuf_add(&b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		start = p + 2;
		end = strchr(start, '}');
		if (!end)
			return where_error(wn, wd, "unterminated '${' (write '$${' for a literal '${')");
		if (!name_is_valid(start, (size_t)(end - start)))
			return where_error(wn, wd, "'%.*s' is not a valid variable reference",
					   (int)(end - p + 1), p);
		v = subst_find(s, start, (size_t)(end - start));
		if (!v)
			return where_error(wn, wd,
					   "unknown variable '%.*s' (define it under variables: or with -D %.*s=VALUE)",
					   (int)(end - start), start, (int)(end - start), start);
		r = var_resolve(s, v);
		if (r < 0)
			return r;
		s->total += strlen(v->value);
		if (s->total > RECIPE_EXPAND_MAX)
			return where_error(wn, wd,
					   "variables expand to too much text (more than %u MiB)",
					   RECIPE_EXPAND_MAX >> 20);
		strbuf_adds(&b, v->value);
		p = end + 1;
	}
	*ret = strbuf_take(&b);
	return 0;
}

static int var_resolve(struct subst *s, struct var *v)
{
	char *value;
	int r;

	if (v->state == VAR_DONE)
		return 0;
	if (v->state == VAR_BUSY) {
		_cleanup_(strbuf_freep) struct strbuf b = {};
		unsigned start = 0;

		while (start < s->depth && s->stack[start] != v)
			start++;
		for (unsigned i = start; i < s->depth; i++) {
			strbuf_adds(&b, s->stack[i]->name);
			strbuf_adds(&b, " -> ");
		}
		strbuf_adds(&b, v->name);
		return where_error(v->node, v->define, "variables refer to each other: %s", b.s);
	}
	if (s->depth >= RECIPE_VAR_DEPTH_MAX)
		return where_error(v->node, v->define,
				   "variables nested too deeply (more than %d levels)",
				   RECIPE_VAR_DEPTH_MAX);
	v->state = VAR_BUSY;
	s->stack[s->depth++] = v;
	r = expand(s, v->raw, v->node, v->define, &value);
	s->depth--;
	if (r < 0)
		return r;
	v->value = value ? value : xstrdup(v->raw);
	v->state = VAR_DONE;
	return 0;
}

static int subst_tree(struct subst *s, struct node *n)
{
	int r;

	if (n->kind == NODE_SCALAR) {
		char *value;

		r = expand(s, n->scalar, n, NULL, &value);
		if (r < 0)
			return r;
		if (value) {
			free(n->scalar);
			n->scalar = value;
		}
		return 0;
	}
	for (size_t i = 0; i < n->n; i++) {
		r = subst_tree(s, n->items[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_defines(char *const *defines)
{
	for (size_t i = 0; defines && defines[i]; i++) {
		const char *eq = strchr(defines[i], '=');

		if (!eq || !name_is_valid(defines[i], (size_t)(eq - defines[i])))
			return log_fail("-D '%s': expected NAME=VALUE", defines[i]);
	}
	return 0;
}

/* Takes `variables:` out of the tree, adds -D, and substitutes every scalar. */
static int substitute(struct node *root, char *const *defines)
{
	_cleanup_(node_freep) struct node *vkey = NULL, *vars = NULL;
	_cleanup_(subst_done) struct subst s = {};
	ssize_t i = node_find(root, "variables");
	int r = 0;

	if (i >= 0) {
		node_detach(root, (size_t)i, &vkey, &vars);
		r = node_expect(vars, NODE_MAP);
		if (r < 0)
			return r;
		for (size_t j = 0; j < vars->n; j++) {
			const struct node *k = vars->keys[j], *v = vars->items[j];
			struct var *var;

			if (!name_is_valid(k->scalar, strlen(k->scalar)))
				return node_error(k, "'%s' is not a valid variable name (use letters, "
						  "digits, '_' and '-')", k->scalar);
			r = node_expect(v, NODE_SCALAR);
			if (r < 0)
				return r;
			var = subst_add(&s, k->scalar, strlen(k->scalar));
			var->raw = v->scalar;
			var->node = v;
		}
	}
	for (size_t j = 0; defines && defines[j]; j++) {
		const char *eq = strchr(defines[j], '=');
		struct var *var = subst_add(&s, defines[j], (size_t)(eq - defines[j]));

		var->raw = eq + 1;
		var->node = NULL;
		var->define = defines[j];
	}

	return subst_tree(&s, root);
}

int recipe_load(const char *path, char *const *defines, struct recipe **ret)
{
	struct recipe *r;
	struct loader l = {};
	struct node *root = NULL;
	int k;

	k = check_defines(defines);
	if (k < 0)
		return k;

	r = xcalloc(1, sizeof(*r));
	r->path = xstrdup(path);
	r->files = xcalloc(1, sizeof(char *));
	r->dirs = xcalloc(1, sizeof(char *));
	l.r = r;

	k = load_file(&l, path, NULL, &root);
	if (k < 0)
		goto fail;
	r->root = root;
	k = node_normalize(root);
	if (k < 0)
		goto fail;
	node_set_paths(root, "");
	k = substitute(root, defines);
	if (k < 0)
		goto fail;
	*ret = r;
	return 0;
fail:
	recipe_free(r);
	return k;
}

struct recipe *recipe_free(struct recipe *r)
{
	if (!r)
		return NULL;
	node_free(r->root);
	free(r->path);
	strv_free(r->files);
	strv_free(r->dirs);
	free(r);
	return NULL;
}

