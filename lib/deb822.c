/* SPDX-License-Identifier: GPL-2.0-or-later */
/* deb822 parser: splits control data into stanzas and fields in one pass over the text.
 * Names and values are NUL-terminated in place and continuation lines are compacted in
 * place (the joined value is never longer than the lines it came from), so the only
 * allocations are the two growing arrays of fields and stanzas. */
#include "deb822.h"

#include <strings.h>

#include "log.h"

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Grows an array when n reaches its capacity; the capacity is kept alongside. */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	return xrealloc(p, *cap * size);
}

static unsigned line_of(const char *text, const char *pos)
{
	unsigned line = 1;

	for (const char *p = text; (p = memchr(p, '\n', pos - p)); p++)
		line++;
	return line;
}

/* The message of a parse error, kept for the caller to log or pass on. */
/* Hands the one stanza parsed so far to fn, then forgets it. */
static int hand_over(deb822_stanza_fn fn, void *userdata, struct deb822_stanza *stanzas,
		     struct deb822_field *fields, size_t *n_stanzas, size_t *n_fields)
{
	stanzas[0].fields = fields;
	*n_stanzas = *n_fields = 0;
	return fn(&stanzas[0], userdata);
}

static int parse_error(char **ret_msg, const char *fmt, ...) _printf_(2, 3);
static int parse_error(char **ret_msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*ret_msg = xvasprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The parser. With fn, each stanza is handed to it as soon as it ends and the fields array
 * is reused for the next one, so that a whole Packages index never holds its fields at once. */
static int parse(char *text, size_t len, const char *what, unsigned first_line, char **ret_msg,
		 deb822_stanza_fn fn, void *userdata, size_t *ret_count, struct deb822 **ret)
{
	_cleanup_free_ struct deb822_field *fields = NULL;
	_cleanup_free_ struct deb822_stanza *stanzas = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t n_fields = 0, cap_fields = 0, n_stanzas = 0, cap_stanzas = 0;
	char *p, *end, *w = NULL, *vstart = NULL, *nul;
	bool in_stanza = false;
	unsigned line = first_line - 1;
	size_t count = 0;
	struct deb822 *d;
	int r;

	/* One extra byte so that a value ending the text can be terminated in place. */
	buf = xrealloc(text, len + 1);
	buf[len] = 0;
	nul = memchr(buf, 0, len);
	if (nul)
		return parse_error(ret_msg, "%s:%u: NUL byte in control data", what,
				   first_line - 1 + line_of(buf, nul));

	p = buf;
	end = buf + len;
	while (p < end) {
		char *eol = memchr(p, '\n', end - p);
		char *next = eol ? eol + 1 : end;
		char *e = eol ? eol : end;
		char *q, *colon;

		line++;
		if (e > p && e[-1] == '\r')
			e--;
		for (q = p; q < e && is_blank(*q); q++)
			;
		if (q == e) {
			/* Blank (or whitespace-only) line: ends the field and the stanza. */
			if (w)
				*w = 0;
			w = NULL;
			if (in_stanza && fn &&
			    (r = hand_over(fn, userdata, stanzas, fields, &n_stanzas, &n_fields)) <
				    0)
				return r;
			in_stanza = false;
			p = next;
			continue;
		}
		if (*p == '#') {
			p = next;
			continue;
		}
		while (e > q && is_blank(e[-1]))
			e--;

		if (is_blank(*p)) {
			if (!w)
				return parse_error(ret_msg, "%s:%u: continuation line outside a "
						   "field", what, line);
			/* An empty first line ("Conffiles:") does not start the value with '\n'. */
			if (w > vstart)
				*w++ = '\n';
			memmove(w, p + 1, e - (p + 1));
			w += e - (p + 1);
			p = next;
			continue;
		}

		if (w)
			*w = 0;
		colon = memchr(p, ':', e - p);
		if (!colon)
			return parse_error(ret_msg, "%s:%u: expected 'Name: value', found no "
					   "':'", what, line);
		if (colon == p)
			return parse_error(ret_msg, "%s:%u: empty field name", what, line);
		for (q = p; q < colon; q++)
			if (is_blank(*q))
				return parse_error(ret_msg, "%s:%u: blank in field name '%.*s'",
						   what, line, (int)(colon - p), p);
		*colon = 0;
		for (q = colon + 1; q < e && is_blank(*q); q++)
			;
		vstart = q;
		w = e;

		if (!in_stanza) {
			count++;
			stanzas = grow(stanzas, n_stanzas, &cap_stanzas, sizeof(*stanzas));
			/* fields is still growing: the pointers are filled in at the end. */
			stanzas[n_stanzas++] = (struct deb822_stanza){ .line = line };
			in_stanza = true;
		}
		fields = grow(fields, n_fields, &cap_fields, sizeof(*fields));
		fields[n_fields++] =
			(struct deb822_field){ .name = p, .value = vstart, .line = line };
		stanzas[n_stanzas - 1].n_fields++;
		p = next;
	}
	if (w)
		*w = 0;
	if (in_stanza && fn &&
	    (r = hand_over(fn, userdata, stanzas, fields, &n_stanzas, &n_fields)) < 0)
		return r;
	if (ret_count)
		*ret_count = count;

	/* Stanzas own consecutive runs of fields; stanzas[0].fields is the whole array. */
	for (size_t i = 0, k = 0; i < n_stanzas; k += stanzas[i].n_fields, i++)
		stanzas[i].fields = fields + k;
	d = xmalloc(sizeof(*d));
	*d = (struct deb822){
		.text = TAKE_PTR(buf),
		.stanzas = n_stanzas ? TAKE_PTR(stanzas) : NULL,
		.n_stanzas = n_stanzas,
	};
	if (n_stanzas)
		fields = NULL;
	*ret = d;
	return 0;
}

int deb822_parse_quiet(char *text, size_t len, const char *what, char **ret_msg,
		       struct deb822 **ret)
{
	return parse(text, len, what, 1, ret_msg, NULL, NULL, NULL, ret);
}

int deb822_parse(char *text, size_t len, const char *what, struct deb822 **ret)
{
	_cleanup_free_ char *msg = NULL;
	int r = deb822_parse_quiet(text, len, what, &msg, ret);

	if (r < 0)
		log_error("%s", msg);
	return r;
}

int deb822_parse_each(char *text, size_t len, const char *what, deb822_stanza_fn fn, void *userdata,
		      size_t *ret_count, struct deb822 **ret)
{
	_cleanup_free_ char *msg = NULL;
	int r = parse(text, len, what, 1, &msg, fn, userdata, ret_count, ret);

	if (r < 0 && msg)
		log_error("%s", msg);
	return r;
}

int deb822_parse_each_quiet(char *text, size_t len, const char *what, unsigned first_line,
			    deb822_stanza_fn fn, void *userdata, size_t *ret_count, char **ret_msg,
			    struct deb822 **ret)
{
	return parse(text, len, what, first_line, ret_msg, fn, userdata, ret_count, ret);
}

struct deb822 *deb822_free(struct deb822 *d)
{
	if (!d)
		return NULL;
	if (d->n_stanzas)
		free(d->stanzas[0].fields);
	free(d->stanzas);
	free(d->text);
	free(d);
	return NULL;
}

const char *deb822_get(const struct deb822_stanza *s, const char *name)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (strcasecmp(s->fields[i].name, name) == 0)
			return s->fields[i].value;
	return NULL;
}
