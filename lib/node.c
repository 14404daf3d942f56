/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Recipe nodes: the tree the loader (lib/recipe) builds, its messages (every value quoted
 * short and escaped, at the node's file:line:col), the typed getters and the key tables. */
#include "node.h"

#include <inttypes.h>
#include <strings.h>
#include <uuid/uuid.h>

#include "log.h"

/* Limits on what messages show of a recipe. */
#define QUOTE_MAX 64       /* bytes of a value quoted in a message: '%s' */
#define PATH_SHOWN_MAX 256 /* bytes of a file name or key path before a message */

/* The nearest of `names` to `word`, for "did you mean": same up to case, an edit distance of
 * at most 2 (and less than the whole name), or one a prefix of the other, which ranks like a
 * distance of 1 ("file" suggests "filesystem" before "size"). */
static const char *suggest(const char *word, const char *const *names)
{
	const char *best = NULL;
	unsigned best_d = UINT32_MAX;

	for (size_t i = 0; names && names[i]; i++) {
		const char *name = names[i];
		unsigned d;

		if (strcasecmp(word, name) == 0)
			d = 0;
		else {
			bool prefix = word[0] && name[0] &&
				      (startswith(name, word) || startswith(word, name));

			d = levenshtein(word, name);
			if (prefix && d > 1)
				d = 1;
			else if (d > 2 || d >= strlen(name))
				continue;
		}
		if (d < best_d) {
			best = name;
			best_d = d;
		}
	}
	return best;
}

/* ---- nodes ---- */

struct node *node_new(enum node_kind kind, const char *file, const char *dir,
			     unsigned line, unsigned col)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->file = file;
	n->dir = dir;
	n->line = line;
	n->col = col;
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			node_free(n->keys[i]);
		if (n->items)
			node_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->path);
	free(n->scalar);
	free(n);
}

void node_freep(struct node **n)
{
	node_free(*n);
}

/* Arrays grow to the next power of two, so the capacity never needs storing: it is at least
 * the smallest power of two >= n, and removing entries keeps that true. */
void node_push(struct node *parent, struct node *key, struct node *value)
{
	size_t n = parent->n;

	if ((n & (n - 1)) == 0) {
		size_t cap = n ? 2 * n : 1;

		parent->items = xrealloc(parent->items, cap * sizeof(*parent->items));
		if (parent->kind == NODE_MAP)
			parent->keys = xrealloc(parent->keys, cap * sizeof(*parent->keys));
	}
	if (parent->kind == NODE_MAP)
		parent->keys[n] = key;
	parent->items[n] = value;
	parent->n++;
}

ssize_t node_find(const struct node *map, const char *key)
{
	if (!map || map->kind != NODE_MAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (streq(map->keys[i]->scalar, key))
			return (ssize_t)i;
	return -1;
}

/* Takes the pair at i out of the map; the caller owns the returned key and value. */
void node_detach(struct node *map, size_t i, struct node **ret_key, struct node **ret_value)
{
	*ret_key = map->keys[i];
	*ret_value = map->items[i];
	memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof(*map->keys));
	memmove(map->items + i, map->items + i + 1, (map->n - i - 1) * sizeof(*map->items));
	map->n--;
}

struct node *node_copy(const struct node *src)
{
	struct node *n = node_new(src->kind, src->file, src->dir, src->line, src->col);

	n->plain = src->plain;
	if (src->scalar)
		n->scalar = xstrdup(src->scalar);
	for (size_t i = 0; i < src->n; i++)
		node_push(n, src->kind == NODE_MAP ? node_copy(src->keys[i]) : NULL,
			  node_copy(src->items[i]));
	return n;
}

size_t node_count(const struct node *n)
{
	size_t c = 1;

	for (size_t i = 0; i < n->n; i++)
		c += (n->kind == NODE_MAP ? node_count(n->keys[i]) : 0) + node_count(n->items[i]);
	return c;
}

unsigned node_height(const struct node *n)
{
	unsigned h = 0;

	for (size_t i = 0; i < n->n; i++) {
		unsigned c = node_height(n->items[i]) + 1;

		if (c > h)
			h = c;
	}
	return h;
}

void node_set_paths(struct node *n, const char *path)
{
	free(n->path);
	n->path = xstrdup(path);
	for (size_t i = 0; i < n->n; i++) {
		_cleanup_free_ char *p = NULL;

		if (n->kind == NODE_MAP) {
			p = *path ? xasprintf("%s.%s", path, n->keys[i]->scalar)
				  : xstrdup(n->keys[i]->scalar);
			free(n->keys[i]->path);
			n->keys[i]->path = xstrdup(p);
		} else
			p = xasprintf("%s[%zu]", path, i);
		node_set_paths(n->items[i], p);
	}
}

const char *node_kind_to_string(enum node_kind kind)
{
	switch (kind) {
	case NODE_SCALAR:
		return "a value";
	case NODE_MAP:
		return "a mapping";
	case NODE_SEQ:
		return "a list";
	}
	return "something";
}

/* Appends s escaped for a one-line message: control characters, DEL and every byte above
 * 0x7f as \n, \t or \xNN (a value cannot move the cursor or start an escape sequence on the
 * reader's terminal), and only the first `max` bytes of s, then "...". */
static void strbuf_add_escaped(struct strbuf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c < 0x7f) {
			strbuf_add(b, s + i, 1);
			continue;
		}
		if (c == '\n')
			strbuf_adds(b, "\\n");
		else if (c == '\t')
			strbuf_adds(b, "\\t");
		else {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			strbuf_adds(b, esc);
		}
	}
	if (s[i])
		strbuf_adds(b, "...");
}

/* Formats like vasprintf, but string arguments are escaped (strbuf_add_escaped), and a value
 * quoted in the format, '%s', is cut to QUOTE_MAX bytes: a recipe, or a host file an include
 * names, cannot put a whole file or terminal escapes into the log. The formats are ours and
 * checked by the compiler (_printf_); this handles printf's conversions without positional
 * arguments. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *format_message(const char *fmt, va_list ap)
{
	_cleanup_(strbuf_freep) struct strbuf b = {};
	const char *p = fmt;

	while (*p) {
		const char *start = p;
		char spec[32], out[512];
		int stars[2], n_stars = 0, longs = 0;
		size_t speclen;

		if (*p != '%' || p[1] == '%') {
			const char *q = *p == '%' ? p + 1 : strchrnul(p, '%');

			strbuf_add(&b, p, (size_t)(q - p));
			p = *p == '%' ? p + 2 : q;
			continue;
		}
		p += 1 + strspn(p + 1, "-+ #0'");
		for (int part = 0; part < 2; part++) { /* width, then .precision */
			if (part == 1 && *p != '.')
				break;
			p += part;
			if (*p == '*') {
				stars[n_stars++] = va_arg(ap, int);
				p++;
			} else
				p += strspn(p, "0123456789");
		}
		/* l, z, t: a long's size (twice: long long); j, q, L: a long long's */
		for (; *p && strchr("hlqjztL", *p); p++)
			longs += *p == 'h' ? 0 : strchr("lzt", *p) ? 1 : 2;
		speclen = (size_t)(p - start) + 1;
		if (!*p || speclen >= sizeof(spec))
			break; /* not a conversion: the rest is dropped rather than misread */
		memcpy(spec, start, speclen);
		spec[speclen] = 0;
		out[0] = 0;
#define FORMAT_ONE(arg)                                                                            \
	(n_stars == 2 ? snprintf(out, sizeof(out), spec, stars[0], stars[1], arg) :                \
	 n_stars == 1 ? snprintf(out, sizeof(out), spec, stars[0], arg) :                          \
			snprintf(out, sizeof(out), spec, arg))
		switch (*p++) {
		case 's': {
			const char *arg = va_arg(ap, const char *);

			if (!arg)
				arg = "(null)";
			if (speclen == 2) {
				bool quoted = start > fmt && start[-1] == '\'' && *p == '\'';

				strbuf_add_escaped(&b, arg, quoted ? QUOTE_MAX : SIZE_MAX);
				continue;
			}
			FORMAT_ONE(arg); /* a width or precision: at most sizeof(out) */
			break;
		}
		case 'c':
			FORMAT_ONE(va_arg(ap, int));
			break;
		case 'd':
		case 'i':
			if (longs >= 2)
				FORMAT_ONE(va_arg(ap, long long));
			else if (longs == 1)
				FORMAT_ONE(va_arg(ap, long));
			else
				FORMAT_ONE(va_arg(ap, int));
			break;
		case 'u':
		case 'o':
		case 'x':
		case 'X':
			if (longs >= 2)
				FORMAT_ONE(va_arg(ap, unsigned long long));
			else if (longs == 1)
				FORMAT_ONE(va_arg(ap, unsigned long));
			else
				FORMAT_ONE(va_arg(ap, unsigned));
			break;
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G':
			FORMAT_ONE(va_arg(ap, double));
			break;
		case 'p':
			FORMAT_ONE(va_arg(ap, void *));
			break;
		case 'm':
			snprintf(out, sizeof(out), "%s", strerror(errno));
			break;
		default:
			return strbuf_take(&b); /* not a conversion: as above */
		}
#undef FORMAT_ONE
		strbuf_add_escaped(&b, out, SIZE_MAX);
	}
	return strbuf_take(&b);
}
#pragma GCC diagnostic pop

int node_error(const struct node *n, const char *fmt, ...)
{
	_cleanup_(strbuf_freep) struct strbuf where = {};
	_cleanup_free_ char *msg = NULL;
	char pos[32];
	va_list ap;

	va_start(ap, fmt);
	msg = format_message(fmt, ap);
	va_end(ap);
	if (!n || !n->file) {
		log_error("%s", msg);
		return -EINVAL;
	}
	strbuf_add_escaped(&where, n->file, PATH_SHOWN_MAX);
	snprintf(pos, sizeof(pos), ":%u:%u: ", n->line, n->col);
	strbuf_adds(&where, pos);
	if (n->path && *n->path) {
		strbuf_add_escaped(&where, n->path, PATH_SHOWN_MAX);
		strbuf_adds(&where, ": ");
	}
	log_error("%s%s", where.s, msg);
	return -EINVAL;
}

/* ---- getters ---- */

struct node *node_get(const struct node *map, const char *key)
{
	ssize_t i = node_find(map, key);

	return i < 0 ? NULL : map->items[i];
}

int node_expect(const struct node *n, enum node_kind kind)
{
	if (!n)
		return log_fail("expected %s, got nothing", node_kind_to_string(kind));
	if (n->kind == kind)
		return 0;
	return node_error(n, "expected %s, got %s", node_kind_to_string(kind),
			  node_kind_to_string(n->kind));
}

int node_check_keys(const struct node *map, const char *const *allowed)
{
	int r = 0;

	if (!map)
		return 0;
	if (map->kind != NODE_MAP)
		return node_expect(map, NODE_MAP);
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = map->keys[i];
		const char *s;
		bool known = false;

		for (size_t j = 0; allowed && allowed[j]; j++)
			if (streq(allowed[j], k->scalar))
				known = true;
		if (known)
			continue;
		s = suggest(k->scalar, allowed);
		if (s)
			r = node_error(k, "unknown key (did you mean '%s'?)", s);
		else {
			_cleanup_(strbuf_freep) struct strbuf b = {};

			for (size_t j = 0; allowed && allowed[j]; j++) {
				if (j)
					strbuf_adds(&b, ", ");
				strbuf_adds(&b, allowed[j]);
			}
			if (b.s)
				r = node_error(k, "unknown key (valid keys: %s)", b.s);
			else
				r = node_error(k, "unknown key (no keys are allowed here)");
		}
	}
	return r;
}

const char **recipe_keys_under(const struct recipe_key *table, const char *path)
{
	size_t plen = strlen(path), n = 0;
	const char **l = xcalloc(1, sizeof(*l));

	for (const struct recipe_key *k = table; k && k->path; k++) {
		const char *rest = k->path + plen;

		if (plen && (strncmp(k->path, path, plen) || *rest != '.'))
			continue;
		rest += plen ? 1 : 0;
		if (!*rest || strpbrk(rest, ".["))
			continue; /* the path itself, or deeper */
		l = xrealloc(l, (n + 2) * sizeof(*l));
		l[n++] = rest;
		l[n] = NULL;
	}
	return l;
}

int node_check_table(const struct node *map, const struct recipe_key *table, const char *path)
{
	_cleanup_free_ const char **allowed = recipe_keys_under(table, path);

	return node_check_keys(map, (const char *const *)allowed);
}

static bool keys_declared_under(const struct recipe_key *table, const char *path)
{
	_cleanup_free_ const char **l = recipe_keys_under(table, path);

	return l[0] != NULL;
}

static int check_tree(const struct node *map, const struct recipe_key *table, const char *path)
{
	int r = node_check_table(map, table, path);

	for (size_t i = 0; i < map->n; i++) {
		const struct node *v = map->items[i];
		_cleanup_free_ char *child = *path ? xasprintf("%s.%s", path, map->keys[i]->scalar)
						   : xstrdup(map->keys[i]->scalar);
		_cleanup_free_ char *item = xasprintf("%s[]", child);
		int k = 0;

		if (v->kind == NODE_MAP && keys_declared_under(table, child))
			k = check_tree(v, table, child);
		else if (v->kind == NODE_SEQ && keys_declared_under(table, item))
			for (size_t j = 0; j < v->n; j++)
				if (v->items[j]->kind == NODE_MAP) {
					int kk = check_tree(v->items[j], table, item);

					if (kk < 0 && k == 0)
						k = kk;
				}
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

int node_check_tree(const struct node *root, const struct recipe_key *table)
{
	if (!root)
		return 0;
	if (root->kind != NODE_MAP)
		return node_expect(root, NODE_MAP);
	return check_tree(root, table, "");
}

int node_get_string(const struct node *n, const char **ret)
{
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	*ret = n->scalar;
	return 0;
}

int node_get_bool(const struct node *n, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(n->scalar, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(n->scalar, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return node_error(n, "'%s' is not a boolean (use true or false)", n->scalar);
}

/* Decimal or 0x hex, nothing else (no sign, no spaces). */
static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool range = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (is_digit(*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			range = true;
		else
			v = v * base + d;
	}
	if (range)
		return -ERANGE;
	*ret = v;
	return 0;
}

int node_get_u64(const struct node *n, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	r = parse_u64(n->scalar, &v);
	if (r == -EINVAL)
		return node_error(n, "'%s' is not a number", n->scalar);
	if (r < 0 || v < min || v > max)
		return node_error(n, "'%s' is out of range (%" PRIu64 "..%" PRIu64 ")", n->scalar,
				  min, max);
	*ret = v;
	return 0;
}

int node_get_mode(const struct node *n, mode_t *ret)
{
	const char *s;
	unsigned v = 0;
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	s = n->scalar;
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		s += 2;
	if (!*s)
		goto fail;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			goto fail;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 07777)
			goto fail;
	}
	*ret = (mode_t)v;
	return 0;
fail:
	return node_error(n, "'%s' is not an octal mode such as \"0644\"", n->scalar);
}

int node_get_words(const struct node *n, bool (*ok)(const char *), const char *hint, char ***ret,
		   const struct node ***ret_nodes)
{
	_cleanup_strv_free_ char **l = xcalloc(1, sizeof(char *));
	_cleanup_free_ const struct node **nodes = NULL;
	size_t count = 0;
	int r;

	if (!n)
		return node_expect(n, NODE_SEQ);
	if (n->kind == NODE_SEQ) {
		nodes = xcalloc(n->n + 1, sizeof(*nodes));
		for (size_t i = 0; i < n->n; i++) {
			r = node_expect(n->items[i], NODE_SCALAR);
			if (r < 0)
				return r;
			l = strv_append(l, n->items[i]->scalar);
			nodes[count++] = n->items[i];
		}
	} else if (n->kind == NODE_SCALAR) {
		const char *p = n->scalar;

		/* at most one item per 2 bytes */
		nodes = xcalloc(strlen(p) / 2 + 2, sizeof(*nodes));
		while (*p) {
			const char *e = strchr(p, ','), *a = p, *b;
			_cleanup_free_ char *item = NULL;

			if (!e)
				e = p + strlen(p);
			b = e;
			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b > a) {
				item = xstrndup(a, (size_t)(b - a));
				l = strv_append(l, item);
				nodes[count++] = n;
			}
			p = *e ? e + 1 : e;
		}
	} else
		return node_error(n, "expected a list, got %s", node_kind_to_string(n->kind));
	for (size_t i = 0; ok && i < count; i++)
		if (!ok(l[i]))
			return node_error(nodes[i], "'%s' %s", l[i], hint);
	*ret = TAKE_PTR(l);
	if (ret_nodes)
		*ret_nodes = TAKE_PTR(nodes);
	return 0;
}

int node_get_strv(const struct node *n, char ***ret)
{
	return node_get_words(n, NULL, NULL, ret, NULL);
}

int node_get_enum(const struct node *n, const char *const *names, int *ret)
{
	_cleanup_(strbuf_freep) struct strbuf b = {};
	const char *s;
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	for (size_t i = 0; names[i]; i++)
		if (streq(names[i], n->scalar)) {
			*ret = (int)i;
			return 0;
		}
	for (size_t i = 0; names[i]; i++) {
		if (i)
			strbuf_adds(&b, ", ");
		strbuf_adds(&b, names[i]);
	}
	s = suggest(n->scalar, names);
	if (s)
		return node_error(n, "'%s' is not one of %s (did you mean '%s'?)", n->scalar,
				  b.s ? b.s : "", s);
	return node_error(n, "'%s' is not one of %s", n->scalar, b.s ? b.s : "");
}

/* ---- sizes ---- */

static const struct {
	const char *suffix;
	uint64_t factor;
} size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "K", UINT64_C(1) << 10 },
	{ "KiB", UINT64_C(1) << 10 },
	{ "M", UINT64_C(1) << 20 },
	{ "MiB", UINT64_C(1) << 20 },
	{ "G", UINT64_C(1) << 30 },
	{ "GiB", UINT64_C(1) << 30 },
	{ "T", UINT64_C(1) << 40 },
	{ "TiB", UINT64_C(1) << 40 },
	{ "kB", UINT64_C(1000) },
	{ "MB", UINT64_C(1000000) },
	{ "GB", UINT64_C(1000000000) },
	{ "TB", UINT64_C(1000000000000) },
};

int size_parse(const char *s, unsigned flags, struct size *ret)
{
	uint64_t ip = 0, fp = 0, fscale = 1, factor = 0;
	unsigned fdigits = 0;
	bool overflow = false, frac_rest = false;
	const char *p = s;

	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "rest") == 0) {
		if (!(flags & SIZE_ALLOW_REST))
			return -EINVAL;
		*ret = (struct size){ .kind = SIZE_REST };
		return 0;
	}
	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (ip > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			ip = ip * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return -EINVAL;
		/* 19 digits fit in a u64; the rest can only round down. */
		for (; is_digit(*p); p++) {
			if (fdigits < 19) {
				fp = fp * 10 + (unsigned)(*p - '0');
				fscale *= 10;
				fdigits++;
			} else if (*p != '0')
				frac_rest = true;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;

	if (streq(p, "%")) {
		uint64_t tenths = 0;

		if (!(flags & SIZE_ALLOW_PERCENT))
			return -EINVAL;
		if (fdigits > 0) {
			uint64_t scale = fscale / 10;

			tenths = fp / scale;
			if (fp % scale || frac_rest)
				return -EINVAL; /* finer than a tenth of a percent */
		}
		if (overflow || ip > 100 || ip * 10 + tenths > 1000 || ip * 10 + tenths == 0)
			return -ERANGE;
		*ret = (struct size){
			.kind = SIZE_PERCENT,
			.permille = (unsigned)(ip * 10 + tenths),
		};
		return 0;
	}

	for (size_t i = 0; i < ARRAY_SIZE(size_units); i++)
		if (strcasecmp(p, size_units[i].suffix) == 0) {
			factor = size_units[i].factor;
			break;
		}
	if (!factor)
		return -EINVAL;
	if (overflow || ip > UINT64_MAX / factor)
		return -ERANGE;
	ip *= factor;
	if (fdigits > 0) {
		uint64_t extra = (uint64_t)((unsigned __int128)fp * factor / fscale);

		if (ip > UINT64_MAX - extra)
			return -ERANGE;
		ip += extra;
	}
	*ret = (struct size){ .kind = SIZE_BYTES, .bytes = ip };
	return 0;
}

int node_get_size(const struct node *n, unsigned flags, struct size *ret)
{
	const char *hint;
	int r = node_expect(n, NODE_SCALAR);

	if (r < 0)
		return r;
	r = size_parse(n->scalar, flags, ret);
	if (r == 0)
		return 0;
	if (r == -ERANGE && endswith(n->scalar, "%"))
		return node_error(n, "'%s' is out of range (more than 0%% and at most 100%%)",
				  n->scalar);
	if (r == -ERANGE)
		return node_error(n, "'%s' is too large", n->scalar);
	switch (flags & (SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST)) {
	case SIZE_ALLOW_PERCENT:
		hint = "B, KiB, MiB, GiB, or %";
		break;
	case SIZE_ALLOW_REST:
		hint = "B, KiB, MiB, GiB, or rest";
		break;
	case SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST:
		hint = "B, KiB, MiB, GiB, %, or rest";
		break;
	default:
		hint = "B, KiB, MiB, or GiB";
		break;
	}
	return node_error(n, "'%s' is not a size (use %s)", n->scalar, hint);
}

char *node_path_resolve(const struct node *n, const char *relpath)
{
	if (relpath[0] == '/' || !n || !n->dir)
		return xstrdup(relpath);
	return path_join(n->dir, relpath);
}

int node_get_uuid(const struct node *n, const char *what, uint8_t ret[16])
{
	const char *s;
	uuid_t u;
	int r = node_get_string(n, &s);

	if (r < 0)
		return r;
	if (uuid_parse(s, u) < 0)
		return node_error(n, "'%s' is not a %s (like 8a3a4c5e-0f8b-4a5c-9a3e-2b1c0d9e8f7a)",
				  s, what);
	memcpy(ret, u, 16);
	return 0;
}

