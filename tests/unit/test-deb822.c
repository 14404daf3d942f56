/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/deb822.c: stanzas, fields, continuation lines, the odd shapes real files
 * take (CRLF, comments, no final newline, runs of blank lines) and error messages, which
 * are captured from stderr. */
#include "deb822.h"

#include <time.h>

#include "check.h"
#include "capture.h"
#include "log.h"
#include "util.h"

/* Parses a copy of `text` in a buffer of exactly its length (no NUL after it). */
static int parse(const char *text, struct deb822 **ret)
{
	size_t len = strlen(text);
	char *buf = xmalloc(len ? len : 1);

	memcpy(buf, text, len);
	return deb822_parse(buf, len, "Packages", ret);
}

/* Parses text that must fail; returns the error message. */
static char *parse_error(const char *text, int *ret_r)
{
	struct deb822 *d = NULL;

	capture_begin();
	*ret_r = parse(text, &d);
	deb822_free(d);
	return capture_end();
}

static void test_multi_stanza(void)
{
	struct deb822 *d = NULL;
	const struct deb822_stanza *s;

	CHECK(parse("\n\nPackage: a\nVersion: 1\n\n\n\nPackage: b\nVersion:2\nEssential: yes\n\n"
		    "Package: c\n\n\n",
		    &d) == 0);
	CHECK(d->n_stanzas == 3);
	s = &d->stanzas[0];
	CHECK(s->n_fields == 2 && s->line == 3);
	CHECK_STREQ(s->fields[0].name, "Package");
	CHECK_STREQ(s->fields[0].value, "a");
	CHECK(s->fields[0].line == 3);
	CHECK_STREQ(s->fields[1].name, "Version");
	CHECK_STREQ(s->fields[1].value, "1");
	CHECK(s->fields[1].line == 4);
	s = &d->stanzas[1];
	CHECK(s->n_fields == 3 && s->line == 8);
	CHECK_STREQ(s->fields[1].value, "2");
	CHECK_STREQ(s->fields[2].name, "Essential");
	CHECK_STREQ(s->fields[2].value, "yes");
	CHECK(s->fields[2].line == 10);
	s = &d->stanzas[2];
	CHECK(s->n_fields == 1 && s->line == 12);
	CHECK_STREQ(s->fields[0].value, "c");
	d = deb822_free(d);
	CHECK(!d);
}

static void test_continuation(void)
{
	struct deb822 *d = NULL;
	const struct deb822_stanza *s;

	CHECK(parse("Package: a\n"
		    "Description: short text  \n"
		    " First line of the long text.\n"
		    " .\n"
		    "   indented, two blanks kept\n"
		    "\tafter a tab\n"
		    "Depends: x,\n"
		    "  y\n"
		    "Conffiles:\n"
		    " /etc/a 0123\n"
		    " /etc/b 4567\n"
		    "Empty:\n"
		    "Blanks:   \t \n"
		    "Last: z\n",
		    &d) == 0);
	CHECK(d->n_stanzas == 1);
	s = &d->stanzas[0];
	CHECK(s->n_fields == 7);
	CHECK_STREQ(deb822_get(s, "Description"), "short text\nFirst line of the long text.\n.\n"
						   "  indented, two blanks kept\nafter a tab");
	CHECK(s->fields[1].line == 2);
	CHECK_STREQ(deb822_get(s, "Depends"), "x,\n y");
	CHECK(s->fields[2].line == 7);
	/* An empty first line does not put a newline in front of the value. */
	CHECK_STREQ(deb822_get(s, "Conffiles"), "/etc/a 0123\n/etc/b 4567");
	CHECK_STREQ(deb822_get(s, "Empty"), "");
	CHECK_STREQ(deb822_get(s, "Blanks"), "");
	CHECK_STREQ(deb822_get(s, "Last"), "z");
	CHECK(s->fields[6].line == 14);
	deb822_free(d);
}

static void test_no_final_newline(void)
{
	struct deb822 *d = NULL;

	CHECK(parse("Package: a\n\nPackage: b\nDescription: x\n more", &d) == 0);
	CHECK(d->n_stanzas == 2);
	CHECK(d->stanzas[1].n_fields == 2);
	CHECK_STREQ(deb822_get(&d->stanzas[1], "Package"), "b");
	CHECK_STREQ(deb822_get(&d->stanzas[1], "Description"), "x\nmore");
	deb822_free(d);

	CHECK(parse("Package: c", &d) == 0);
	CHECK(d->n_stanzas == 1);
	CHECK_STREQ(deb822_get(&d->stanzas[0], "package"), "c");
	deb822_free(d);
}

static void test_crlf(void)
{
	struct deb822 *d = NULL;

	CHECK(parse("Package: a\r\nDescription: s \r\n long\r\n .\r\n\r\n \t\r\nPackage: b\r\n",
		    &d) == 0);
	CHECK(d->n_stanzas == 2);
	CHECK_STREQ(deb822_get(&d->stanzas[0], "Package"), "a");
	CHECK_STREQ(deb822_get(&d->stanzas[0], "Description"), "s\nlong\n.");
	CHECK_STREQ(deb822_get(&d->stanzas[1], "Package"), "b");
	CHECK(d->stanzas[1].line == 7);
	deb822_free(d);
}

static void test_comments_and_blank_lines(void)
{
	struct deb822 *d = NULL;

	/* Comments neither end a stanza nor break a continuation; whitespace-only lines are
	 * blank lines. */
	CHECK(parse("# header\nPackage: a\n# inside\nDescription: x\n# between\n y\n  \t \n"
		    "#\n\t\nPackage: b\n#Package: c\n",
		    &d) == 0);
	CHECK(d->n_stanzas == 2);
	CHECK(d->stanzas[0].n_fields == 2);
	CHECK(d->stanzas[0].line == 2);
	CHECK_STREQ(deb822_get(&d->stanzas[0], "Description"), "x\ny");
	CHECK(d->stanzas[1].n_fields == 1);
	CHECK(d->stanzas[1].line == 10);
	CHECK_STREQ(deb822_get(&d->stanzas[1], "Package"), "b");
	deb822_free(d);
}

static void test_empty(void)
{
	struct deb822 *d = NULL;

	CHECK(parse("", &d) == 0);
	CHECK(d->n_stanzas == 0 && !d->stanzas);
	deb822_free(d);
	CHECK(parse("\n\n# only a comment\n \n\r\n", &d) == 0);
	CHECK(d->n_stanzas == 0);
	deb822_free(d);
}

static void test_get_case_insensitive(void)
{
	struct deb822 *d = NULL;
	const struct deb822_stanza *s;

	CHECK(parse("Package: a\nPRE-DEPENDS: x\nsha256: abc\nMulti-Arch: foreign\n", &d) == 0);
	s = &d->stanzas[0];
	CHECK_STREQ(deb822_get(s, "Pre-Depends"), "x");
	CHECK_STREQ(deb822_get(s, "pre-depends"), "x");
	CHECK_STREQ(deb822_get(s, "SHA256"), "abc");
	CHECK_STREQ(deb822_get(s, "multi-arch"), "foreign");
	CHECK_STREQ(s->fields[1].name, "PRE-DEPENDS");
	CHECK(!deb822_get(s, "Depends"));
	CHECK(!deb822_get(s, "Pre-Depend"));
	CHECK(!deb822_get(s, "Pre-Dependss"));
	deb822_free(d);
}

static void test_value_with_colons(void)
{
	struct deb822 *d = NULL;

	CHECK(parse("Version: 1:2.3-4\nHomepage: https://example.org:8080/x\n", &d) == 0);
	CHECK_STREQ(deb822_get(&d->stanzas[0], "Version"), "1:2.3-4");
	CHECK_STREQ(deb822_get(&d->stanzas[0], "Homepage"), "https://example.org:8080/x");
	deb822_free(d);
}

static void test_errors(void)
{
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL,
			    *m6 = NULL, *m7 = NULL;
	int r = 0;

	m1 = parse_error(" continued\nPackage: a\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m1, "error: Packages:1: continuation line outside a field");

	m2 = parse_error("Package: a\n\n # after a blank line\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m2, "error: Packages:3: continuation line outside a field");

	m3 = parse_error("Package: a\nVersion 1\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m3, "error: Packages:2: expected 'Name: value', found no ':'");

	m4 = parse_error("Package: a\r\n\r\nPackage: b\r\n: value\r\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m4, "error: Packages:4: empty field name");

	m5 = parse_error("Package: a\nPre Depends: x\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m5, "error: Packages:2: blank in field name 'Pre Depends'");

	m6 = parse_error("Package: a\nVersion: 1\n\nPackage: b\n  \n x\n", &r);
	CHECK(r == -EINVAL);
	CHECK_STREQ(m6, "error: Packages:6: continuation line outside a field");

	{
		static const char text[] = "Package: a\n\nVersion: 1\nDescrip\0tion: x\n";
		char *buf = xmalloc(sizeof(text) - 1);
		struct deb822 *d = NULL;

		memcpy(buf, text, sizeof(text) - 1);
		capture_begin();
		r = deb822_parse(buf, sizeof(text) - 1, "control of 'a.deb'", &d);
		m7 = capture_end();
		CHECK(r == -EINVAL);
		CHECK(!d);
		CHECK_STREQ(m7, "error: control of 'a.deb':4: NUL byte in control data");
	}
}

static void test_error_keeps_ret(void)
{
	struct deb822 *d = (struct deb822 *)&d;
	_cleanup_free_ char *m = NULL;
	int r;

	capture_begin();
	r = parse("Package: a\nbroken\n", &d);
	m = capture_end();
	CHECK(r == -EINVAL);
	CHECK(d == (struct deb822 *)&d);
	CHECK_STREQ(m, "error: Packages:2: expected 'Name: value', found no ':'");
}

/* A synthetic index the size of bookworm's main Packages (about 64,000 stanzas). */
static void test_large(void)
{
	size_t n = 64000, len = 0, cap = n * 700;
	char *buf = xmalloc(cap);
	struct deb822 *d = NULL;
	struct timespec t0, t1;
	double secs;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
			buf + len, cap - len,
			"Package: pkg%zu\nSource: src%zu\nVersion: 1.%zu-1\nInstalled-Size: %zu\n"
			"Maintainer: Someone <someone@example.org>\nArchitecture: amd64\n"
			"Depends: libc6 (>= 2.34), libfoo%zu (= 1.%zu-1) | bar\n"
			"Description: package number %zu\n Long description line one.\n .\n"
			" Line two.\nSection: misc\nPriority: optional\nFilename: pool/main/p/"
			"pkg%zu_1.%zu-1_amd64.deb\nSize: %zu\nSHA256: 0123456789abcdef01234567"
			"89abcdef0123456789abcdef0123456789abcdef\n\n",
			i, i, i, i * 3, i, i, i, i, i, i * 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(deb822_parse(buf, len, "big", &d) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "  %zu bytes parsed in %.3f s\n", len, secs);
	CHECK(d->n_stanzas == n);
	CHECK(d->stanzas[n - 1].n_fields == 13);
	CHECK_STREQ(deb822_get(&d->stanzas[n - 1], "Package"), "pkg63999");
	CHECK_STREQ(deb822_get(&d->stanzas[12345], "Description"),
		    "package number 12345\nLong description line one.\n.\nLine two.");
	CHECK(d->stanzas[n - 1].line == (n - 1) * 17 + 1);
	deb822_free(d);
}

/* deb822_parse_each: the same stanzas and values as deb822_parse, one at a time, none kept;
 * a callback's error stops the parse and is returned; a parse error is still logged. */
struct each {
	char seen[256];
	int stop_at;
	int n;
};

static int each_cb(const struct deb822_stanza *s, void *userdata)
{
	struct each *e = userdata;
	size_t len = strlen(e->seen);

	if (++e->n == e->stop_at)
		return -ENOTSUP;
	for (size_t i = 0; i < s->n_fields; i++)
		len += (size_t)snprintf(e->seen + len, sizeof(e->seen) - len, "%s=%s;",
					s->fields[i].name, s->fields[i].value);
	snprintf(e->seen + len, sizeof(e->seen) - len, "|");
	return 0;
}

static void test_each(void)
{
	static const char text[] = "# c\nPackage: a\nDescription: x\n y\n .\n z\n\n\n"
				   "Package: b\nVersion: 2\n\nPackage: c\nDepends: a,\n b";
	struct each e = { .stop_at = 0 };
	struct deb822 *d = NULL;
	size_t count = 0;
	char *msg;
	int r;

	CHECK(deb822_parse_each(xstrdup(text), strlen(text), "Packages", each_cb, &e, &count, &d) ==
	      0);
	CHECK(count == 3 && d && d->n_stanzas == 0 && e.n == 3);
	CHECK(streq(e.seen, "Package=a;Description=x\ny\n.\nz;|Package=b;Version=2;|"
			    "Package=c;Depends=a,\nb;|"));
	deb822_free(d);

	e = (struct each){ .stop_at = 2 };
	d = NULL;
	CHECK(deb822_parse_each(xstrdup(text), strlen(text), "Packages", each_cb, &e, NULL, &d) ==
	      -ENOTSUP);
	CHECK(e.n == 2 && streq(e.seen, "Package=a;Description=x\ny\n.\nz;|"));
	deb822_free(d);

	e = (struct each){ .stop_at = 0 };
	capture_begin();
	r = deb822_parse_each(xstrdup("Package: a\n\nbad line\n"), 20, "Packages", each_cb, &e,
			      NULL, &d);
	msg = capture_end();
	CHECK(r == -EINVAL && e.n == 1);
	CHECK(strstr(msg, "Packages:3: expected 'Name: value', found no ':'"));
	free(msg);
}

int main(void)
{
	log_set_scope(NULL);
	RUN_TEST(test_multi_stanza);
	RUN_TEST(test_continuation);
	RUN_TEST(test_no_final_newline);
	RUN_TEST(test_crlf);
	RUN_TEST(test_comments_and_blank_lines);
	RUN_TEST(test_empty);
	RUN_TEST(test_get_case_insensitive);
	RUN_TEST(test_value_with_colons);
	RUN_TEST(test_errors);
	RUN_TEST(test_error_keeps_ret);
	RUN_TEST(test_large);
	RUN_TEST(test_each);
	CHECK_EXIT();
}
