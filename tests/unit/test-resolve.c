/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/depends.c and lib/resolve.c: dependency field parsing and formatting,
 * the package universe, and the resolver on small inline Packages indices. Error messages
 * are captured from stderr and compared whole. */
#include "resolve.h"

#include "check.h"
#include "debver.h"
#include "log.h"
#include "capture.h"
#include "util.h"

/* ---- helpers ---- */

static void pkgdb_freep(struct pkgdb **db)
{
	pkgdb_free(*db);
}
#define _cleanup_pkgdb_ _cleanup_(pkgdb_freep)

static void dep_list_donep(struct dep_list *l)
{
	dep_list_done(l);
}
#define _cleanup_dep_list_ _cleanup_(dep_list_donep)

#define PKG(name, version) "Package: " name "\nVersion: " version "\nArchitecture: amd64\n"
#define PKG_ALL(name, version) "Package: " name "\nVersion: " version "\nArchitecture: all\n"

static int add_index(struct pkgdb *db, const char *text, unsigned source)
{
	struct deb822 *d;
	int r;

	r = deb822_parse(xstrdup(text), strlen(text), "Packages", &d);
	if (r < 0)
		return r;
	return pkgdb_add_index(db, d, source, "Packages");
}

static struct pkgdb *db_from(const char *text)
{
	struct pkgdb *db = pkgdb_new("amd64");

	if (add_index(db, text, 0) < 0)
		return pkgdb_free(db);
	return db;
}

/* Resolves and formats the selection as "name=version ..." in *ret_sel, or returns the
 * error with its message (stderr) in *ret_msg. */
static int run(const struct pkgdb *db, const struct resolve_opts *o, char **ret_sel,
	       char **ret_msg)
{
	_cleanup_free_ const struct pkg **pkgs = NULL;
	char *sel = xstrdup("");
	size_t n = 0;
	int r;

	capture_begin();
	r = resolve(db, o, &pkgs, &n);
	*ret_msg = capture_end();
	if (r < 0) {
		free(sel);
		*ret_sel = NULL;
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("%s%s%s=%s", sel, i ? " " : "", pkgs[i]->name,
				    pkgs[i]->version);

		free(sel);
		sel = s;
	}
	*ret_sel = sel;
	return r;
}

static char *strv_from(const char *s)
{
	return (char *)s;
}

/* ---- dependency fields ---- */

static void test_dep_parse_basic(void)
{
	_cleanup_dep_list_ struct dep_list l = {};
	const struct dep_atom *a;

	CHECK(dep_parse("libc6 (>= 2.34), libfoo1 | bar (<< 2:1.0-1~) | baz, qux:any, "
			"zz:amd64 (= 1.0), vv:native",
			&l) == 0);
	CHECK(l.n == 5);
	CHECK(l.alts[0].n == 1);
	a = &l.alts[0].atoms[0];
	CHECK_STREQ(a->name, "libc6");
	CHECK(!a->arch);
	CHECK(a->op == DEP_GE);
	CHECK_STREQ(a->version, "2.34");
	CHECK(l.alts[1].n == 3);
	a = l.alts[1].atoms;
	CHECK_STREQ(a[0].name, "libfoo1");
	CHECK(a[0].op == DEP_ANY && !a[0].version);
	CHECK_STREQ(a[1].name, "bar");
	CHECK(a[1].op == DEP_LT);
	CHECK_STREQ(a[1].version, "2:1.0-1~");
	CHECK_STREQ(a[2].name, "baz");
	CHECK(l.alts[2].n == 1);
	CHECK_STREQ(l.alts[2].atoms[0].name, "qux");
	CHECK_STREQ(l.alts[2].atoms[0].arch, "any");
	CHECK_STREQ(l.alts[3].atoms[0].arch, "amd64");
	CHECK(l.alts[3].atoms[0].op == DEP_EQ);
	CHECK_STREQ(l.alts[3].atoms[0].version, "1.0");
	CHECK_STREQ(l.alts[4].atoms[0].name, "vv");
	CHECK_STREQ(l.alts[4].atoms[0].arch, "native");
	dep_list_done(&l);
	CHECK(l.n == 0 && !l.alts);
}

static void test_dep_parse_ops(void)
{
	static const struct {
		const char *text;
		enum dep_op op;
	} cases[] = {
		{ "a (<< 1)", DEP_LT }, { "a (<= 1)", DEP_LE }, { "a (= 1)", DEP_EQ },
		{ "a (>= 1)", DEP_GE }, { "a (>> 1)", DEP_GT }, { "a (< 1)", DEP_LE },
		{ "a (> 1)", DEP_GE },  { "a(>=1)", DEP_GE },   { "a ( <<1 )", DEP_LT },
		{ "a\n (\n>=\n\t1\n)", DEP_GE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_dep_list_ struct dep_list l = {};

		CHECK(dep_parse(cases[i].text, &l) == 0);
		CHECK(l.n == 1 && l.alts[0].n == 1);
		CHECK_STREQ(l.alts[0].atoms[0].name, "a");
		CHECK(l.alts[0].atoms[0].op == cases[i].op);
		CHECK_STREQ(l.alts[0].atoms[0].version, "1");
	}
}

static void test_dep_parse_whitespace(void)
{
	_cleanup_dep_list_ struct dep_list l = {}, e1 = {}, e2 = {}, e3 = {}, t = {};

	CHECK(dep_parse("  a\n,\tb|c ,\n d:any|\n e (>= 1)  ,", &l) == 0);
	CHECK(l.n == 3);
	CHECK_STREQ(l.alts[0].atoms[0].name, "a");
	CHECK(l.alts[1].n == 2);
	CHECK_STREQ(l.alts[1].atoms[0].name, "b");
	CHECK_STREQ(l.alts[1].atoms[1].name, "c");
	CHECK(l.alts[2].n == 2);
	CHECK_STREQ(l.alts[2].atoms[0].name, "d");
	CHECK_STREQ(l.alts[2].atoms[0].arch, "any");
	CHECK_STREQ(l.alts[2].atoms[1].name, "e");
	CHECK_STREQ(l.alts[2].atoms[1].version, "1");

	CHECK(dep_parse("", &e1) == 0);
	CHECK(e1.n == 0 && !e1.alts);
	CHECK(dep_parse(" \n\t ", &e2) == 0);
	CHECK(e2.n == 0 && !e2.alts);
	CHECK(dep_parse(NULL, &e3) == 0);
	CHECK(e3.n == 0 && !e3.alts);
	CHECK(dep_parse("lib++-dev, g++-12, python3.11, x_y", &t) == 0);
	CHECK(t.n == 4);
	CHECK_STREQ(t.alts[0].atoms[0].name, "lib++-dev");
	CHECK_STREQ(t.alts[1].atoms[0].name, "g++-12");
	CHECK_STREQ(t.alts[2].atoms[0].name, "python3.11");
	CHECK_STREQ(t.alts[3].atoms[0].name, "x_y");
}

static void test_dep_parse_restrictions(void)
{
	_cleanup_dep_list_ struct dep_list l = {};

	CHECK(dep_parse("a [amd64 !i386] <!nocheck> <stage1 cross>, b (>= 1) [linux-any]\n"
			" <!nodoc>| c <pkg.foo.bar>[\n!hurd-any\n], d[amd64]",
			&l) == 0);
	CHECK(l.n == 3);
	CHECK(l.alts[0].n == 1);
	CHECK_STREQ(l.alts[0].atoms[0].name, "a");
	CHECK(l.alts[0].atoms[0].op == DEP_ANY);
	CHECK(l.alts[1].n == 2);
	CHECK_STREQ(l.alts[1].atoms[0].name, "b");
	CHECK(l.alts[1].atoms[0].op == DEP_GE);
	CHECK_STREQ(l.alts[1].atoms[0].version, "1");
	CHECK_STREQ(l.alts[1].atoms[1].name, "c");
	CHECK_STREQ(l.alts[2].atoms[0].name, "d");
}

static void test_dep_parse_errors(void)
{
	static const char *const bad[] = {
		"a,,b", "a |", "| a", "a||b", ",a", "a (>= )", "a (>> 1", "a (=> 1)",
		"a (~ 1)", "a (>= a1)", "a (>= 1 2)", "a [amd64", "a [amd64, b]", "a <!nocheck",
		"a <x [y]>", "a:", "a:(>= 1)", "a$", "a b", "(>= 1)", "a (>= 1) b", "-a", "a)",
		"a (>= 1))", "a (>= 1.0-)", "a (>= 1:)",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct dep_list l = { .alts = (struct dep_alt *)&l, .n = 42 };
		int r = dep_parse(bad[i], &l);

		if (r != -EINVAL)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		CHECK(r == -EINVAL);
		/* Untouched on failure. */
		CHECK(l.alts == (struct dep_alt *)&l && l.n == 42);
	}
}

static void test_dep_format(void)
{
	_cleanup_dep_list_ struct dep_list l = {};
	_cleanup_free_ char *a0 = NULL, *a1 = NULL, *a2 = NULL, *g1 = NULL, *g3 = NULL;

	CHECK(dep_parse("kmod (>= 9), libc6:any (>=2.34), a | b (<<2) | c:amd64 (= 1:1-1)", &l) ==
	      0);
	a0 = dep_atom_format(&l.alts[0].atoms[0]);
	CHECK_STREQ(a0, "kmod (>= 9)");
	a1 = dep_atom_format(&l.alts[1].atoms[0]);
	CHECK_STREQ(a1, "libc6:any (>= 2.34)");
	a2 = dep_atom_format(&l.alts[2].atoms[0]);
	CHECK_STREQ(a2, "a");
	g1 = dep_alt_format(&l.alts[0]);
	CHECK_STREQ(g1, "kmod (>= 9)");
	g3 = dep_alt_format(&l.alts[2]);
	CHECK_STREQ(g3, "a | b (<< 2) | c:amd64 (= 1:1-1)");

	CHECK_STREQ(dep_op_to_string(DEP_ANY), "");
	CHECK_STREQ(dep_op_to_string(DEP_LT), "<<");
	CHECK_STREQ(dep_op_to_string(DEP_LE), "<=");
	CHECK_STREQ(dep_op_to_string(DEP_EQ), "=");
	CHECK_STREQ(dep_op_to_string(DEP_GE), ">=");
	CHECK_STREQ(dep_op_to_string(DEP_GT), ">>");
}

static void test_dep_version_satisfies(void)
{
	CHECK(dep_version_satisfies(DEP_ANY, NULL, NULL));
	CHECK(dep_version_satisfies(DEP_ANY, "1", "2"));
	CHECK(!dep_version_satisfies(DEP_GE, NULL, "1"));

	CHECK(dep_version_satisfies(DEP_LT, "1.0~rc1", "1.0"));
	CHECK(!dep_version_satisfies(DEP_LT, "1.0", "1.0"));
	CHECK(!dep_version_satisfies(DEP_LT, "1.0+b1", "1.0"));

	CHECK(dep_version_satisfies(DEP_LE, "1.0", "1.0"));
	CHECK(dep_version_satisfies(DEP_LE, "0.9", "1.0"));
	CHECK(!dep_version_satisfies(DEP_LE, "1.0-1", "1.0"));

	CHECK(dep_version_satisfies(DEP_EQ, "0:1.0-0", "1.0"));
	CHECK(!dep_version_satisfies(DEP_EQ, "1.0-1", "1.0"));

	CHECK(dep_version_satisfies(DEP_GE, "1:0.1", "9.9"));
	CHECK(dep_version_satisfies(DEP_GE, "2.34", "2.34"));
	CHECK(!dep_version_satisfies(DEP_GE, "2.33", "2.34"));

	CHECK(dep_version_satisfies(DEP_GT, "1.10", "1.9"));
	CHECK(!dep_version_satisfies(DEP_GT, "1.9", "1.9"));
	CHECK(!dep_version_satisfies(DEP_GT, "1.0~", "1.0"));
}

/* ---- package universe ---- */

static void test_pkgdb_fields(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		"Package: foo\nVersion: 1:2.3-4\nArchitecture: amd64\nSize: 12345\n"
		"Installed-Size: 678\nEssential: yes\nPriority: required\nSection: admin\n"
		"Multi-Arch: foreign\nSource: foo-src (2.3-4)\nFilename: pool/main/f/foo.deb\n"
		"SHA256: abcd\nPre-Depends: libc6 (>= 2.34)\nDepends: a | b, c\n"
		"Provides: virt, other (= 1.0)\n\n" PKG_ALL("bar", "1") "\n"
		"Package: arm\nVersion: 1\nArchitecture: arm64\n\n"
		"Package: noversion\nArchitecture: amd64\n\n");
	const struct pkg *p;

	CHECK(db);
	p = pkgdb_lookup(db, "foo");
	CHECK(p);
	CHECK_STREQ(p->name, "foo");
	CHECK_STREQ(p->version, "1:2.3-4");
	CHECK_STREQ(p->arch, "amd64");
	CHECK(p->size == 12345);
	CHECK(p->installed_size == 678);
	CHECK(p->essential);
	CHECK_STREQ(p->priority, "required");
	CHECK_STREQ(p->section, "admin");
	CHECK_STREQ(p->multi_arch, "foreign");
	CHECK_STREQ(p->source_pkg, "foo-src (2.3-4)");
	CHECK_STREQ(p->filename, "pool/main/f/foo.deb");
	CHECK_STREQ(p->sha256, "abcd");
	CHECK(p->pre_depends.n == 1);
	CHECK_STREQ(p->pre_depends.alts[0].atoms[0].name, "libc6");
	CHECK(p->depends.n == 2 && p->depends.alts[0].n == 2);
	CHECK(p->provides.n == 2);
	CHECK_STREQ(p->provides.alts[1].atoms[0].version, "1.0");
	CHECK(p->stanza && p->stanza->line == 1);
	CHECK(p->source == 0);
	CHECK(!p->local_path);

	p = pkgdb_lookup(db, "bar");
	CHECK(p);
	CHECK_STREQ(p->arch, "all");
	CHECK(!p->essential && !p->priority && !p->filename && p->size == 0);
	CHECK(p->depends.n == 0 && p->provides.n == 0);
	CHECK(p->stanza->line == 17);
	/* Other architectures and incomplete stanzas are not candidates; virtual names have
	 * no candidate of their own. */
	CHECK(!pkgdb_lookup(db, "arm"));
	CHECK(!pkgdb_lookup(db, "noversion"));
	CHECK(!pkgdb_lookup(db, "virt"));
	CHECK(!pkgdb_lookup(db, "nothing"));
	CHECK(pkgdb_known(db, "foo"));
	CHECK(pkgdb_known(db, "virt"));
	CHECK(pkgdb_known(db, "other"));
	CHECK(!pkgdb_known(db, "arm"));
	CHECK(!pkgdb_known(db, "nothing"));
	/* Named in a Depends field only. */
	CHECK(!pkgdb_known(db, "libc6"));
}

static void test_pkgdb_versions(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
	const struct pkg *p;

	CHECK(add_index(db, PKG("foo", "1.0~rc1") "\n" PKG("foo", "1.0+b1") "Size: 2\n", 1) == 0);
	CHECK(add_index(db, PKG("foo", "1.0") "\n" PKG("foo", "1.0+b1") "\n", 0) == 0);
	p = pkgdb_lookup(db, "foo");
	CHECK_STREQ(p->version, "1.0+b1");
	/* Equal versions: the lower source number wins. */
	CHECK(p->source == 0 && p->size == 0);
	CHECK(add_index(db, PKG("foo", "1:0.1") "\n", 7) == 0);
	p = pkgdb_lookup(db, "foo");
	CHECK_STREQ(p->version, "1:0.1");
	CHECK(p->source == 7);
}

static void test_pkgdb_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ PKG("ok", "1") "\n" PKG("x", "1") "Depends: a (>= )\n",
		  "error: Packages:8: package 'x': invalid Depends field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "pre-depends: a,, b\n",
		  "error: Packages:8: package 'x': invalid pre-depends field" },
		{ PKG("ok", "1") "\n" PKG("x", "a1") "\n",
		  "error: Packages:6: package 'x': invalid Version field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "Provides: a | b\n",
		  "error: Packages:8: package 'x': invalid Provides field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "Provides: a (>= 1)\n",
		  "error: Packages:8: package 'x': invalid Provides field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "Provides: a:any\n",
		  "error: Packages:8: package 'x': invalid Provides field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "Size: 12k\n",
		  "error: Packages:8: package 'x': invalid Size field" },
		{ PKG("ok", "1") "\n" PKG("x", "1") "Installed-Size: -1\n",
		  "error: Packages:8: package 'x': invalid Installed-Size field" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
		_cleanup_free_ char *msg = NULL;
		int r;

		capture_begin();
		r = add_index(db, cases[i].text, 0);
		msg = capture_end();
		CHECK(r == -EINVAL);
		CHECK_STREQ(msg, cases[i].msg);
		/* Nothing was added. */
		CHECK(!pkgdb_lookup(db, "ok"));

		/* The same read stanza by stanza (pkgdb_add_index_text): same message, nothing
		 * added either; without the bad stanza, both packages and the count. */
		{
			_cleanup_pkgdb_ struct pkgdb *db2 = pkgdb_new("amd64");
			_cleanup_free_ char *msg2 = NULL;
			const char *bad = strstr(cases[i].text, "\n\n") + 2;

			capture_begin();
			r = pkgdb_add_index_text(db2, xstrdup(cases[i].text), strlen(cases[i].text),
						 0, "Packages");
			msg2 = capture_end();
			CHECK(r == -EINVAL);
			CHECK_STREQ(msg2, cases[i].msg);
			CHECK(!pkgdb_lookup(db2, "ok"));
			r = pkgdb_add_index_text(db2, xstrndup(cases[i].text, bad - cases[i].text),
						 (size_t)(bad - cases[i].text), 3, "Packages");
			CHECK(r == 1);
			CHECK(pkgdb_lookup(db2, "ok") && pkgdb_lookup(db2, "ok")->source == 3 &&
			      !pkgdb_lookup(db2, "ok")->stanza);
		}
	}
	/* A stanza of another architecture is not checked. */
	{
		_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");

		CHECK(add_index(db, "Package: x\nVersion: 1\nArchitecture: i386\nDepends: ,,\n",
				0) == 0);
	}
}

/* An index of n filler stanzas (over 4 MiB, so pkgdb_add_index_text() parses it in two
 * halves on two threads), with "dup" at both ends (equal but for their Size) and
 * the stanzas `extra` (or nothing) inserted before stanza at. */
static char *big_index(size_t n, size_t at, const char *extra)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fputs("Package: dup\nVersion: 1\nArchitecture: amd64\nSize: 1\n\n", f);
	for (size_t i = 0; i < n; i++) {
		if (i == at && extra)
			fputs(extra, f);
		fprintf(f,
			"Package: p%zu\nVersion: 1.%zu\nArchitecture: amd64\nDepends: p%zu\n"
			"Description: a filler stanza, long enough for the index to pass 4 MiB\n\n",
			i, i, i + 1);
	}
	fputs("Package: dup\nVersion: 1\nArchitecture: amd64\nSize: 2\n", f);
	fclose(f);
	return buf;
}

static unsigned line_of_text(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	unsigned line = 1;

	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static void test_pkgdb_index_halves(void)
{
	const size_t n = 50000;
	_cleanup_free_ char *text = big_index(n, 0, NULL);
	_cleanup_free_ char *bad2 = big_index(n, n - 10,
					      "Package: bad2\nVersion: 1\n"
					      "Architecture: amd64\nDepends: ,,\n\n");
	_cleanup_free_ char *bad12 = NULL, *expect = NULL, *msg = NULL;
	_cleanup_pkgdb_ struct pkgdb *whole = pkgdb_new("amd64"), *halves = pkgdb_new("amd64");
	struct deb822 *d;
	const char *names[] = { "dup", "p0", "p24999", "p25000", "p49999" };
	int r;

	CHECK(strlen(text) > (4u << 20));
	/* The same packages as the whole index parsed at once (pkgdb_add_index), in the same
	 * order: of two equal stanzas, the first is the candidate. */
	CHECK(deb822_parse(xstrdup(text), strlen(text), "Packages", &d) == 0);
	CHECK(pkgdb_add_index(whole, d, 0, "Packages") == 0);
	r = pkgdb_add_index_text(halves, xstrdup(text), strlen(text), 0, "Packages");
	CHECK(r == (int)n + 2);
	CHECK(pkgdb_lookup(halves, "dup") && pkgdb_lookup(halves, "dup")->size == 1);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct pkg *a = pkgdb_lookup(whole, names[i]),
				 *b = pkgdb_lookup(halves, names[i]);

		CHECK(a && b);
		if (a && b) {
			CHECK_STREQ(a->version, b->version);
			CHECK(a->size == b->size && a->depends.n == b->depends.n);
		}
	}
	/* An error in the second half: its line in the whole text, nothing added. */
	{
		_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");

		expect = xasprintf("error: Packages:%u: package 'bad2': invalid Depends field",
				   line_of_text(bad2, "Depends: ,,"));
		capture_begin();
		r = pkgdb_add_index_text(db, xstrdup(bad2), strlen(bad2), 0, "Packages");
		msg = capture_end();
		CHECK(r == -EINVAL);
		CHECK_STREQ(msg, expect);
		CHECK(!pkgdb_lookup(db, "p0"));
	}
	/* Errors in both halves: the first is said. */
	{
		_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
		_cleanup_free_ char *both = NULL;
		char *at = strstr(bad2, "Package: p10\n");

		both = xasprintf("%.*sPackage: bad1\nVersion: x\nArchitecture: amd64\n\n%s",
				 (int)(at - bad2), bad2, at);
		free(expect);
		free(msg);
		expect = xasprintf("error: Packages:%u: package 'bad1': invalid Version field",
				   line_of_text(both, "Version: x"));
		capture_begin();
		r = pkgdb_add_index_text(db, xstrdup(both), strlen(both), 0, "Packages");
		msg = capture_end();
		CHECK(r == -EINVAL);
		CHECK_STREQ(msg, expect);
	}
}

static int add_local(struct pkgdb *db, const char *text, const char *path)
{
	struct deb822 *d;
	int r;

	r = deb822_parse(xstrdup(text), strlen(text), path, &d);
	if (r < 0)
		return r;
	return pkgdb_add_local(db, d, path, 9);
}

static void test_pkgdb_local(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(PKG("foo", "5") "Provides: virt\n\n"
						   PKG("bar", "1") "Depends: foo (>= 2)\n\n"
						   PKG("baz", "1") "Depends: virt\n\n");
	_cleanup_free_ char *sel = NULL, *msg = NULL, *m1 = NULL, *m2 = NULL, *sel2 = NULL,
			    *msg2 = NULL;
	char *inc_bar[] = { strv_from("bar"), NULL };
	char *inc_baz[] = { strv_from("baz"), NULL };
	const struct pkg *p;
	int r1, r2, r3;

	CHECK(db);
	CHECK(add_local(db, PKG("foo", "1") "Depends: bar\n", "/tmp/foo_1.deb") == 0);
	p = pkgdb_lookup(db, "foo");
	CHECK(p);
	CHECK_STREQ(p->version, "1");
	CHECK_STREQ(p->local_path, "/tmp/foo_1.deb");
	CHECK(p->source == 9);
	/* The local foo hides foo 5, which bar would need. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc_bar }, &sel, &msg) == -ENOENT);
	CHECK_STREQ(msg, "error: bar -> foo (>= 2): no candidate");
	/* The index foo no longer provides virt either. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc_baz }, &sel2, &msg2) == -ENOENT);
	CHECK_STREQ(msg2, "error: baz -> virt: no candidate");
	CHECK(!pkgdb_known(db, "virt"));
	CHECK(pkgdb_known(db, "foo"));

	/* No CHECK() while stderr is captured: it would return with stderr redirected. */
	capture_begin();
	r1 = add_local(db, PKG("x", "1") "\n" PKG("y", "1"), "two.deb");
	r2 = add_local(db, "Package: z\nVersion: 1\nArchitecture: arm64\n", "z.deb");
	r3 = add_local(db, "Package: z\nVersion: 1\n", "z.deb");
	m1 = capture_end();
	CHECK(r1 == -EINVAL && r2 == -EINVAL && r3 == -EINVAL);
	CHECK_STREQ(m1, "error: two.deb: expected one stanza in the control file, found 2\n"
			"error: z.deb: package 'z' is for architecture 'arm64', not 'amd64'\n"
			"error: z.deb: control file lacks Package, Version or Architecture");
	capture_begin();
	r1 = add_local(db, PKG("z", "1") "Depends: (\n", "z.deb");
	m2 = capture_end();
	CHECK(r1 == -EINVAL);
	CHECK_STREQ(m2, "error: z.deb:4: package 'z': invalid Depends field");
	CHECK(!pkgdb_lookup(db, "z"));
}

/* ---- resolver ---- */

static void test_resolve_alternatives_in_order(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Depends: missing | c | b\n\n" PKG("b", "1") "\n" PKG("c", "1") "\n"
		PKG("d", "1") "Depends: b (>= 5) | c (<< 1) | e\n\n" PKG("e", "1") "\n");
	_cleanup_free_ char *sel = NULL, *msg = NULL, *sel2 = NULL, *msg2 = NULL;
	char *inc_a[] = { strv_from("a"), NULL };
	char *inc_d[] = { strv_from("d"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc_a }, &sel, &msg) == 0);
	CHECK_STREQ(sel, "a=1 c=1");
	CHECK_STREQ(msg, "");
	/* Alternatives whose versions do not match are passed over. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc_d }, &sel2, &msg2) == 0);
	CHECK_STREQ(sel2, "d=1 e=1");
}

static void test_resolve_already_satisfied(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(PKG("a", "1") "Depends: x, b | c\n\n"
						   PKG("b", "1") "\n" PKG("c", "1") "\n"
						   PKG("x", "1") "Depends: c\n\n"
						   PKG("r", "1") "Depends: b | c\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL,
			    *m3 = NULL;
	char *inc1[] = { strv_from("a"), NULL };
	char *inc2[] = { strv_from("r"), strv_from("c"), NULL };
	char *inc3[] = { strv_from("a"), strv_from("r"), NULL };

	CHECK(db);
	/* Breadth-first: a's "b | c" is resolved before x pulls in c. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "a=1 b=1 c=1 x=1");
	/* Every root is selected before any dependency is looked at. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "c=1 r=1");
	/* r's group is satisfied by the b that a pulled in. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc3 }, &s3, &m3) == 0);
	CHECK_STREQ(s3, "a=1 b=1 c=1 r=1 x=1");
}

static void test_resolve_pre_depends_first(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(PKG("a", "1") "Depends: b | c\n"
							      "Pre-Depends: c\n\n" PKG("b", "1")
						   "\n" PKG("c", "1") "\n");
	_cleanup_free_ char *sel = NULL, *msg = NULL;
	char *inc[] = { strv_from("a"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc }, &sel, &msg) == 0);
	CHECK_STREQ(sel, "a=1 c=1");
}

static void test_resolve_virtual(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Depends: mail-transport-agent\n\n"
		PKG("postfix", "3") "Provides: mail-transport-agent\n\n"
		PKG("exim4-daemon-light", "4") "Provides: mail-transport-agent\n\n"
		PKG("b", "1") "Depends: foo (>= 2)\n\n"
		PKG("foo-a", "1") "Provides: foo (= 1)\n\n"
		PKG("foo-b", "1") "Provides: foo\n\n"
		PKG("foo-c", "1") "Provides: foo (= 3)\n\n"
		PKG("c", "1") "Depends: foo-b, foo (>= 2)\n\n"
		PKG("d", "1") "Depends: foo-c, foo (<< 4)\n\n"
		PKG("e", "1") "Depends: real\n\n" PKG("real", "1") "\n"
		PKG("aaa-provider", "1") "Provides: real\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL,
			    *m3 = NULL, *s4 = NULL, *m4 = NULL, *s5 = NULL, *m5 = NULL,
			    *s6 = NULL, *m6 = NULL;
	char *inc1[] = { strv_from("a"), NULL };
	char *inc2[] = { strv_from("b"), NULL };
	char *inc3[] = { strv_from("c"), NULL };
	char *inc4[] = { strv_from("d"), NULL };
	char *inc5[] = { strv_from("e"), NULL };
	char *inc6[] = { strv_from("foo"), NULL };

	CHECK(db);
	/* The first provider by name. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "a=1 exim4-daemon-light=4");
	/* A versioned dependency needs a versioned Provides that matches. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "b=1 foo-c=1");
	/* A selected unversioned provider does not satisfy a versioned dependency ... */
	CHECK(run(db, &(struct resolve_opts){ .include = inc3 }, &s3, &m3) == 0);
	CHECK_STREQ(s3, "c=1 foo-b=1 foo-c=1");
	/* ... a selected versioned one does. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc4 }, &s4, &m4) == 0);
	CHECK_STREQ(s4, "d=1 foo-c=1");
	/* A real package comes before providers of its name. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc5 }, &s5, &m5) == 0);
	CHECK_STREQ(s5, "e=1 real=1");
	/* A virtual include picks its first provider by name. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc6 }, &s6, &m6) == 0);
	CHECK_STREQ(s6, "foo-a=1");
}

static void test_resolve_versions(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL,
			    *m3 = NULL, *s4 = NULL, *m4 = NULL, *s5 = NULL, *m5 = NULL;
	char *inc1[] = { strv_from("lt"), NULL };
	char *inc2[] = { strv_from("ge"), NULL };
	char *inc3[] = { strv_from("eq"), NULL };
	char *inc4[] = { strv_from("b"), NULL };
	char *inc5[] = { strv_from("lt"), strv_from("ge"), NULL };

	CHECK(add_index(db, PKG("b", "2") "\n" PKG("lt", "1") "Depends: b (<< 3)\n\n", 0) == 0);
	CHECK(add_index(db, PKG("b", "3") "\n" PKG("b", "1") "\n" PKG("ge", "1")
			"Depends: b (>= 2)\n\n" PKG("eq", "1") "Depends: b (= 1)\n\n", 1) == 0);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "b=2 lt=1");
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "b=3 ge=1");
	CHECK(run(db, &(struct resolve_opts){ .include = inc3 }, &s3, &m3) == 0);
	CHECK_STREQ(s3, "b=1 eq=1");
	/* An include takes the highest version. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc4 }, &s4, &m4) == 0);
	CHECK_STREQ(s4, "b=3");
	/* ge comes first and takes b 3; no backtracking to b 2, which would suit both. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc5 }, &s5, &m5) == -ENOENT);
	CHECK_STREQ(m5, "error: lt -> b (<< 3): 'b' 3 is already selected");
}

static void test_resolve_cycles(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Depends: b\nPre-Depends: a\n\n"
		PKG("b", "1") "Depends: c, a | zz\n\n"
		PKG("c", "1") "Depends: a (>= 1), b\n\n" PKG("d", "1") "Depends: d, e\n\n"
		PKG("e", "1") "Provides: e-virt\nDepends: e-virt\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *inc1[] = { strv_from("a"), NULL };
	char *inc2[] = { strv_from("d"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "a=1 b=1 c=1");
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "d=1 e=1");
}

static void test_resolve_missing_chain(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("linux-image-amd64", "6.1.38-1")
		"Depends: linux-image-6.1.0-9-amd64 (= 6.1.38-1)\n\n"
		PKG("linux-image-6.1.0-9-amd64", "6.1.38-1")
		"Depends: kmod (>= 99), linux-base\n\n"
		PKG("kmod", "30+20221128-1") "\n" PKG("linux-base", "4.9") "\n"
		PKG("a", "1") "Depends: x | y (>= 2) | z:arm64\n\n" PKG("y", "1") "\n"
		PKG("z", "1") "\n" PKG("m", "1") "Depends: n\n\n"
		PKG("n", "1") "Depends: o (>= 1) | o:any (<< 2), foo\n\n" PKG("o", "3") "\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL,
			    *m3 = NULL;
	char *inc1[] = { strv_from("linux-image-amd64"), NULL };
	char *inc2[] = { strv_from("a"), NULL };
	char *inc3[] = { strv_from("m"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == -ENOENT);
	CHECK(!s1);
	CHECK_STREQ(m1, "error: linux-image-amd64 -> linux-image-6.1.0-9-amd64 -> kmod (>= 99): "
			"no candidate");
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == -ENOENT);
	CHECK_STREQ(m2, "error: a -> x | y (>= 2) | z:arm64: no candidate");
	/* The group is satisfied (o 3 >= 1), the failure is the next one. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc3 }, &s3, &m3) == -ENOENT);
	CHECK_STREQ(m3, "error: m -> n -> foo: no candidate");
}

static void test_resolve_already_selected(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Depends: foo (<< 3)\n\n" PKG("b", "1") "Depends: c\n\n"
		PKG("c", "1") "Depends: foo (>= 3)\n\n" PKG("foo", "2") "\n" PKG("foo", "3") "\n"
		PKG("d", "1") "Depends: foo (>= 4) | bar (>= 3)\n\n" PKG("bar", "2") "\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *inc1[] = { strv_from("b"), strv_from("a"), NULL };
	char *inc2[] = { strv_from("d"), strv_from("bar"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == -ENOENT);
	CHECK_STREQ(m1, "error: b -> c -> foo (>= 3): 'foo' 2 is already selected");
	/* No version of foo matches: no candidate, even though bar 2 is selected. */
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == -ENOENT);
	CHECK_STREQ(m2, "error: d -> foo (>= 4) | bar (>= 3): no candidate");
}

static void test_resolve_exclude(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Priority: required\nDepends: b, c | d, v, w (>= 2) | b\n\n"
		PKG("b", "1") "\n" PKG("c", "1") "\n" PKG("d", "1") "\n"
		PKG("p1", "1") "Provides: v\n\n" PKG("p2", "1") "Provides: v\n\n"
		PKG("e", "1") "Priority: required\n\n" PKG("f", "1") "\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL,
			    *m3 = NULL;
	char *ex1[] = { strv_from("b"), strv_from("c"), strv_from("p1"), strv_from("e"), NULL };
	char *inc2[] = { strv_from("f"), NULL };
	char *ex2[] = { strv_from("f"), strv_from("a"), NULL };
	char *ex3[] = { strv_from("p1"), strv_from("p2"), NULL };

	CHECK(db);
	/* b's group counts as satisfied; c is skipped for d; p1 for p2; e is not a root. */
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_REQUIRED, .exclude = ex1 }, &s1,
		  &m1) == 0);
	CHECK_STREQ(s1, "a=1 d=1 p2=1");
	/* Excluded includes and roots are not selected. */
	CHECK(run(db,
		  &(struct resolve_opts){ .variant = VARIANT_REQUIRED, .include = inc2,
					  .exclude = ex2 },
		  &s2, &m2) == 0);
	CHECK_STREQ(s2, "e=1");
	/* Excluding every provider of a virtual name leaves nothing to pick. */
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_REQUIRED, .exclude = ex3 }, &s3,
		  &m3) == -ENOENT);
	CHECK_STREQ(m3, "error: a -> v: no candidate");
}

static void test_resolve_provides_opt(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1")
		"Depends: systemd-sysv | sysvinit-core, foo (>= 9), bar:any (<< 1)\n\n"
		PKG("systemd-sysv", "252") "\n" PKG("foo", "1") "\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *inc[] = { strv_from("a"), NULL };
	char *prov1[] = { strv_from("sysvinit-core"), strv_from("foo"), strv_from("bar"), NULL };
	char *prov2[] = { strv_from("bar"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc, .provides = prov1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "a=1");
	CHECK(run(db, &(struct resolve_opts){ .include = inc, .provides = prov2 }, &s2, &m2) ==
	      -ENOENT);
	CHECK_STREQ(m2, "error: a -> foo (>= 9): no candidate");
}

/* prefer picks a later alternative, also through a provider, and only when it can. */
static void test_resolve_prefer(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("cron", "1") "Depends: systemd | systemd-standalone-sysusers | sysusers\n\n" PKG(
			"systemd", "257") "\n" PKG("systemd-standalone-sysusers",
						   "257") "\n" PKG("opensysusers",
								   "1") "Provides: sysusers\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL, *s3 = NULL, *m3 = NULL;
	char *inc[] = { strv_from("cron"), NULL };
	char *pref1[] = { strv_from("systemd-standalone-sysusers"), NULL };
	char *pref2[] = { strv_from("opensysusers"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "cron=1 systemd=257");
	CHECK(run(db, &(struct resolve_opts){ .include = inc, .prefer = pref1 }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "cron=1 systemd-standalone-sysusers=257");
	CHECK(run(db, &(struct resolve_opts){ .include = inc, .prefer = pref2 }, &s3, &m3) == 0);
	CHECK_STREQ(s3, "cron=1 opensysusers=1");
}

static const char variant_index[] =
	PKG("base-files", "12.4") "Essential: yes\nPriority: required\n\n"
	PKG("dash", "0.5") "Essential: yes\nPriority: optional\nPre-Depends: libc6\n\n"
	PKG("libc6", "2.36") "Priority: optional\n\n"
	PKG("mawk", "1.3") "Priority: required\nDepends: libc6 (>= 2.34)\n\n"
	PKG("apt", "2.6") "Priority: important\nDepends: libapt-pkg6.0\n\n"
	PKG("libapt-pkg6.0", "2.6") "Priority: optional\n\n"
	PKG("vim-tiny", "9.0") "Priority: important\n\n"
	PKG("hello", "2.10") "Priority: optional\n\n";

static void test_resolve_variants(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(variant_index);
	_cleanup_free_ char *s0 = NULL, *m0 = NULL, *s1 = NULL, *m1 = NULL, *s2 = NULL,
			    *m2 = NULL, *s3 = NULL, *m3 = NULL, *s4 = NULL, *m4 = NULL;
	char *inc[] = { strv_from("hello"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_NONE }, &s0, &m0) == 0);
	CHECK_STREQ(s0, "");
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_REQUIRED }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "base-files=12.4 dash=0.5 libc6=2.36 mawk=1.3");
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_MINBASE }, &s2, &m2) == 0);
	CHECK_STREQ(s2, "apt=2.6 base-files=12.4 dash=0.5 libapt-pkg6.0=2.6 libc6=2.36 mawk=1.3");
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_IMPORTANT, .include = inc }, &s3,
		  &m3) == 0);
	CHECK_STREQ(s3, "apt=2.6 base-files=12.4 dash=0.5 hello=2.10 libapt-pkg6.0=2.6 "
			"libc6=2.36 mawk=1.3 vim-tiny=9.0");
	/* NULL options: nothing. */
	CHECK(run(db, NULL, &s4, &m4) == 0);
	CHECK_STREQ(s4, "");
}

static void test_resolve_minbase_without_apt(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(PKG("base-files", "1") "Essential: yes\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *ex[] = { strv_from("apt"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_MINBASE }, &s1, &m1) == -ENOENT);
	CHECK_STREQ(m1, "error: no package 'apt' in the package lists");
	CHECK(run(db, &(struct resolve_opts){ .variant = VARIANT_MINBASE, .exclude = ex }, &s2,
		  &m2) == 0);
	CHECK_STREQ(s2, "base-files=1");
}

static void test_resolve_unknown_include(void)
{
	_cleanup_pkgdb_ struct pkgdb *db =
		db_from(PKG("a", "1") "\n" PKG("b", "1") "Provides: v\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *inc1[] = { strv_from("a"), strv_from("foo"), NULL };
	char *inc2[] = { strv_from("v"), NULL };
	char *ex2[] = { strv_from("b"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == -ENOENT);
	CHECK(!s1);
	CHECK_STREQ(m1, "error: no package 'foo' in the package lists");
	CHECK(run(db, &(struct resolve_opts){ .include = inc2, .exclude = ex2 }, &s2, &m2) ==
	      -ENOENT);
	CHECK_STREQ(m2, "error: 'v' is a virtual package and all its providers are excluded");
}

static void test_resolve_arch_qualifiers(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = db_from(
		PKG("a", "1") "Depends: b:any, c:amd64 (>= 1), d:native, e:arm64 | f\n\n"
		PKG("b", "1") "\n" PKG("c", "1") "\n" PKG("d", "1") "\n" PKG("e", "1") "\n"
		PKG("f", "1") "\n" PKG_ALL("g", "1") "Depends: e:i386\n\n"
		"Package: e\nVersion: 2\nArchitecture: i386\n\n");
	_cleanup_free_ char *s1 = NULL, *m1 = NULL, *s2 = NULL, *m2 = NULL;
	char *inc1[] = { strv_from("a"), NULL };
	char *inc2[] = { strv_from("g"), NULL };

	CHECK(db);
	CHECK(run(db, &(struct resolve_opts){ .include = inc1 }, &s1, &m1) == 0);
	CHECK_STREQ(s1, "a=1 b=1 c=1 d=1 f=1");
	CHECK(run(db, &(struct resolve_opts){ .include = inc2 }, &s2, &m2) == -ENOENT);
	CHECK_STREQ(m2, "error: g -> e:i386: no candidate");
}

/* The same universe, stanza by stanza in reverse order, resolves the same way. */
static const char *const universe[] = {
	PKG("app", "1") "Depends: mta, lib (>= 2) | lib-compat, tool | tool2\n",
	PKG("zmta", "1") "Provides: mta\nDepends: lib\n",
	PKG("amta", "1") "Provides: mta\nDepends: lib (<< 2)\n",
	PKG("amta", "2") "Provides: mta\nDepends: lib (>= 3)\n",
	PKG("lib", "1") "\n",
	PKG("lib", "3") "Priority: required\n",
	PKG("lib", "2") "Depends: lib-data\n",
	PKG_ALL("lib-data", "1") "Depends: app\n",
	PKG("tool2", "1") "Provides: tool\n",
	PKG("tool3", "1") "Provides: tool\n",
	PKG("base", "1") "Essential: yes\nDepends: tool (>= 1) | tool3\n",
};

static char *resolve_universe(bool reverse, unsigned split)
{
	_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
	_cleanup_free_ char *a = xstrdup(""), *b = xstrdup(""), *msg = NULL;
	char *sel = NULL;
	char *inc[] = { strv_from("app"), NULL };
	size_t n = ARRAY_SIZE(universe);

	/* Two indices: the first `split` stanzas (in the order given) and the rest. */
	for (size_t k = 0; k < n; k++) {
		const char *s = universe[reverse ? n - 1 - k : k];
		char **to = k < split ? &a : &b;
		char *t = xasprintf("%s%s\n", *to, s);

		free(*to);
		*to = t;
	}
	if (add_index(db, a, 0) < 0 || add_index(db, b, 0) < 0)
		return NULL;
	if (run(db, &(struct resolve_opts){ .variant = VARIANT_REQUIRED, .include = inc }, &sel,
		&msg) < 0)
		return NULL;
	return sel;
}

static void test_resolve_deterministic(void)
{
	_cleanup_free_ char *fwd = resolve_universe(false, 100);
	_cleanup_free_ char *rev = resolve_universe(true, 100);
	_cleanup_free_ char *split1 = resolve_universe(false, 3);
	_cleanup_free_ char *split2 = resolve_universe(true, 5);

	CHECK_STREQ(fwd, "amta=2 app=1 base=1 lib=3 tool2=1 tool3=1");
	CHECK_STREQ(rev, fwd);
	CHECK_STREQ(split1, fwd);
	CHECK_STREQ(split2, fwd);
}

/* A universe the size of bookworm's main index: the lookups must be hashed. */
static void test_resolve_large(void)
{
	_cleanup_pkgdb_ struct pkgdb *db = pkgdb_new("amd64");
	_cleanup_free_ char *text = NULL, *sel = NULL, *msg = NULL;
	size_t n = 64000, len = 0, cap = n * 200;
	char *inc[] = { strv_from("p0"), NULL };
	const struct pkg **pkgs = NULL;
	size_t n_sel = 0;

	text = xmalloc(cap);
	/* A chain p0 -> p1 -> ... with alternatives through virtual names. */
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"Package: p%zu\nVersion: 1.%zu\nArchitecture: amd64\n"
					"Provides: v%zu\nDepends: v%zu | x, libc6 (>= 2)\n\n",
					i, i, i, i + 1 < n ? i + 1 : 0);
	len += (size_t)snprintf(text + len, cap - len, PKG("libc6", "2.36"));
	CHECK(add_index(db, text, 0) == 0);
	CHECK_STREQ(pkgdb_lookup(db, "p63999")->version, "1.63999");
	CHECK(resolve(db, &(struct resolve_opts){ .include = inc }, &pkgs, &n_sel) == 0);
	CHECK(n_sel == n + 1);
	CHECK_STREQ(pkgs[0]->name, "libc6");
	CHECK_STREQ(pkgs[1]->name, "p0");
	CHECK_STREQ(pkgs[2]->name, "p1");
	CHECK_STREQ(pkgs[3]->name, "p10");
	free(pkgs);
}

int main(void)
{
	log_set_scope(NULL);
	RUN_TEST(test_dep_parse_basic);
	RUN_TEST(test_dep_parse_ops);
	RUN_TEST(test_dep_parse_whitespace);
	RUN_TEST(test_dep_parse_restrictions);
	RUN_TEST(test_dep_parse_errors);
	RUN_TEST(test_dep_format);
	RUN_TEST(test_dep_version_satisfies);
	RUN_TEST(test_pkgdb_fields);
	RUN_TEST(test_pkgdb_versions);
	RUN_TEST(test_pkgdb_errors);
	RUN_TEST(test_pkgdb_index_halves);
	RUN_TEST(test_pkgdb_local);
	RUN_TEST(test_resolve_alternatives_in_order);
	RUN_TEST(test_resolve_already_satisfied);
	RUN_TEST(test_resolve_pre_depends_first);
	RUN_TEST(test_resolve_virtual);
	RUN_TEST(test_resolve_versions);
	RUN_TEST(test_resolve_cycles);
	RUN_TEST(test_resolve_missing_chain);
	RUN_TEST(test_resolve_already_selected);
	RUN_TEST(test_resolve_exclude);
	RUN_TEST(test_resolve_provides_opt);
	RUN_TEST(test_resolve_prefer);
	RUN_TEST(test_resolve_variants);
	RUN_TEST(test_resolve_minbase_without_apt);
	RUN_TEST(test_resolve_unknown_include);
	RUN_TEST(test_resolve_arch_qualifiers);
	RUN_TEST(test_resolve_deterministic);
	RUN_TEST(test_resolve_large);
	CHECK_EXIT();
}
