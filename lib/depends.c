/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dependency field parser. The text is parsed twice with the same code: once to count groups,
 * atoms and string bytes, once to fill a single allocation holding all of them. A Packages
 * index has a few hundred thousand of these fields, so one malloc per field matters. */
#include "depends.h"

#include "debver.h"

struct dep_parser {
	const char *p;
	bool fill; /* second pass: write into alts, atoms and str */
	size_t n_alts, n_atoms, n_bytes;
	struct dep_alt *alts;
	struct dep_atom *atoms;
	char *str;
};

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void skip_space(struct dep_parser *d)
{
	while (is_space(*d->p))
		d->p++;
}

static char *put_string(struct dep_parser *d, const char *s, size_t n)
{
	char *r = NULL;

	if (d->fill) {
		r = d->str + d->n_bytes;
		memcpy(r, s, n);
		r[n] = 0;
	}
	d->n_bytes += n + 1;
	return r;
}

/* Skips a "[...]" or "<...>" restriction, whose content is only checked for balance. */
static int skip_restriction(struct dep_parser *d, char close)
{
	for (d->p++; *d->p != close; d->p++)
		if (!*d->p || strchr("[]<>(),|", *d->p))
			return -EINVAL;
	d->p++;
	return 0;
}

static int parse_op(struct dep_parser *d, enum dep_op *ret)
{
	static const struct {
		const char *s;
		enum dep_op op;
	} ops[] = {
		/* Two-character operators first; "<" and ">" are dpkg's obsolete <= and >=. */
		{ "<<", DEP_LT }, { "<=", DEP_LE }, { ">=", DEP_GE }, { ">>", DEP_GT },
		{ "=", DEP_EQ },  { "<", DEP_LE },  { ">", DEP_GE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (startswith(d->p, ops[i].s)) {
			d->p += strlen(ops[i].s);
			*ret = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

static bool version_valid(const char *s, size_t n)
{
	_cleanup_free_ char *heap = NULL;
	char buf[128];

	if (n < sizeof(buf)) {
		memcpy(buf, s, n);
		buf[n] = 0;
		return debver_valid(buf);
	}
	heap = xstrndup(s, n);
	return debver_valid(heap);
}

static int parse_atom(struct dep_parser *d)
{
	struct dep_atom a = {};
	const char *s;
	int r;

	skip_space(d);
	s = d->p;
	if (!is_alnum(*d->p))
		return -EINVAL;
	while (is_alnum(*d->p) || (*d->p && strchr("+-._", *d->p)))
		d->p++;
	a.name = put_string(d, s, d->p - s);

	if (*d->p == ':') {
		s = ++d->p;
		while (is_alnum(*d->p) || *d->p == '-')
			d->p++;
		if (d->p == s)
			return -EINVAL;
		a.arch = put_string(d, s, d->p - s);
	}

	skip_space(d);
	if (*d->p == '(') {
		d->p++;
		skip_space(d);
		r = parse_op(d, &a.op);
		if (r < 0)
			return r;
		skip_space(d);
		s = d->p;
		while (*d->p && !is_space(*d->p) && *d->p != ')')
			d->p++;
		if (!d->fill && !version_valid(s, d->p - s))
			return -EINVAL;
		a.version = put_string(d, s, d->p - s);
		skip_space(d);
		if (*d->p != ')')
			return -EINVAL;
		d->p++;
		skip_space(d);
	}

	while (*d->p == '[' || *d->p == '<') {
		r = skip_restriction(d, *d->p == '[' ? ']' : '>');
		if (r < 0)
			return r;
		skip_space(d);
	}

	if (d->fill) {
		d->atoms[d->n_atoms] = a;
		d->alts[d->n_alts - 1].n++;
	}
	d->n_atoms++;
	return 0;
}

static int parse_list(struct dep_parser *d)
{
	skip_space(d);
	while (*d->p) {
		if (d->fill)
			d->alts[d->n_alts] = (struct dep_alt){ .atoms = d->atoms + d->n_atoms };
		d->n_alts++;
		for (;;) {
			int r = parse_atom(d);

			if (r < 0)
				return r;
			if (*d->p != '|')
				break;
			d->p++;
		}
		if (*d->p == ',') {
			d->p++;
			skip_space(d);
		} else if (*d->p)
			return -EINVAL;
	}
	return 0;
}

int dep_parse(const char *text, struct dep_list *ret)
{
	struct dep_parser d = { .p = text ? text : "" };
	struct dep_alt *block;
	int r;

	r = parse_list(&d);
	if (r < 0)
		return r;
	if (d.n_alts == 0) {
		*ret = (struct dep_list){};
		return 0;
	}

	/* Groups, then atoms, then strings: the first two keep pointer alignment. */
	block = xmalloc(d.n_alts * sizeof(struct dep_alt) + d.n_atoms * sizeof(struct dep_atom) +
			d.n_bytes);
	d = (struct dep_parser){
		.p = text,
		.fill = true,
		.alts = block,
		.atoms = (struct dep_atom *)(block + d.n_alts),
		.str = (char *)((struct dep_atom *)(block + d.n_alts) + d.n_atoms),
	};
	r = parse_list(&d);
	if (r < 0) {
		/* Cannot happen: the first pass accepted the same text. */
		free(block);
		return r;
	}
	*ret = (struct dep_list){ .alts = block, .n = d.n_alts };
	return 0;
}

void dep_list_done(struct dep_list *l)
{
	free(l->alts);
	*l = (struct dep_list){};
}

bool dep_version_satisfies(enum dep_op op, const char *have, const char *want)
{
	int c;

	if (op == DEP_ANY)
		return true;
	if (!have || !want)
		return false;
	c = debver_cmp(have, want);
	switch (op) {
	case DEP_LT:
		return c < 0;
	case DEP_LE:
		return c <= 0;
	case DEP_EQ:
		return c == 0;
	case DEP_GE:
		return c >= 0;
	case DEP_GT:
		return c > 0;
	default:
		return false;
	}
}

const char *dep_op_to_string(enum dep_op op)
{
	static const char *const names[] = {
		[DEP_ANY] = "", [DEP_LT] = "<<", [DEP_LE] = "<=", [DEP_EQ] = "=",
		[DEP_GE] = ">=", [DEP_GT] = ">>",
	};

	return (unsigned)op < ARRAY_SIZE(names) ? names[op] : "?";
}

char *dep_atom_format(const struct dep_atom *a)
{
	bool v = a->op != DEP_ANY && a->version;

	return xasprintf("%s%s%s%s%s%s%s%s", a->name, a->arch ? ":" : "", a->arch ? a->arch : "",
			 v ? " (" : "", v ? dep_op_to_string(a->op) : "", v ? " " : "",
			 v ? a->version : "", v ? ")" : "");
}

char *dep_alt_format(const struct dep_alt *alt)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < alt->n; i++) {
		_cleanup_free_ char *atom = dep_atom_format(&alt->atoms[i]);
		char *t = xasprintf("%s%s%s", s, i ? " | " : "", atom);

		free(s);
		s = t;
	}
	return s;
}
