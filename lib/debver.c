/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debian version comparison, after dpkg's lib/dpkg/version.c. The parts are compared as
 * ranges of the original string, so nothing is allocated or copied. */
#include "debver.h"

#include <limits.h>

struct ver {
	const char *epoch, *epoch_end;
	const char *upstream, *upstream_end;
	const char *revision, *revision_end;
};

static inline bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void ver_split(const char *v, struct ver *r)
{
	const char *end = v + strlen(v), *colon = strchr(v, ':'), *hyphen;

	r->epoch = v;
	r->epoch_end = colon ? colon : v;
	r->upstream = colon ? colon + 1 : v;
	hyphen = strrchr(r->upstream, '-');
	r->upstream_end = hyphen ? hyphen : end;
	r->revision = hyphen ? hyphen + 1 : end;
	r->revision_end = end;
}

/* dpkg's order(): '~' before the end of the string, letters before other characters;
 * digit runs are handled by the caller. */
static int order(int c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

#define AT(p, e) ((p) < (e) ? *(p) : 0)

static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		int first_diff = 0;

		while ((a < ae && !is_digit(*a)) || (b < be && !is_digit(*b))) {
			int ac = order(AT(a, ae)), bc = order(AT(b, be));

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && b < be && is_digit(*a) && is_digit(*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (a < ae && is_digit(*a))
			return 1;
		if (b < be && is_digit(*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

/* Epochs compare as numbers of any length: without leading zeros, longer is larger. */
static int epoch_cmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae && *a == '0')
		a++;
	while (b < be && *b == '0')
		b++;
	if (ae - a != be - b)
		return ae - a < be - b ? -1 : 1;
	return memcmp(a, b, ae - a);
}

int debver_cmp(const char *a, const char *b)
{
	struct ver va, vb;
	int r;

	ver_split(a, &va);
	ver_split(b, &vb);
	r = epoch_cmp(va.epoch, va.epoch_end, vb.epoch, vb.epoch_end);
	if (r)
		return r;
	r = verrevcmp(va.upstream, va.upstream_end, vb.upstream, vb.upstream_end);
	if (r)
		return r;
	return verrevcmp(va.revision, va.revision_end, vb.revision, vb.revision_end);
}

bool debver_valid(const char *v)
{
	struct ver r;

	if (!v || !*v)
		return false;
	for (const char *p = v; *p; p++)
		if (!is_digit(*p) && !is_alpha(*p) && !strchr(".+~:-", *p))
			return false;
	ver_split(v, &r);
	if (r.upstream != v) {
		const char *e = r.epoch;

		if (r.epoch == r.epoch_end)
			return false;
		for (const char *p = r.epoch; p < r.epoch_end; p++)
			if (!is_digit(*p))
				return false;
		while (e < r.epoch_end - 1 && *e == '0')
			e++;
		/* dpkg keeps the epoch in an int. */
		if (r.epoch_end - e > 10 ||
		    (r.epoch_end - e == 10 && memcmp(e, "2147483647", 10) > 0))
			return false;
	}
	if (r.upstream == r.upstream_end || !is_digit(*r.upstream))
		return false;
	if (r.upstream_end != r.revision_end) {
		if (r.revision == r.revision_end)
			return false;
		for (const char *p = r.revision; p < r.revision_end; p++)
			if (!is_digit(*p) && !is_alpha(*p) && !strchr(".+~", *p))
				return false;
	}
	return true;
}
