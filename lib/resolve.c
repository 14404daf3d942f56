/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Package universe and resolver. Every name (real or virtual) has one entry in a hashed
 * table, holding the packages of that name best first and the packages providing it by
 * name. Both lists are kept sorted on insertion with total orders, so neither the order of
 * the stanzas nor the hash layout can change a resolution. */
#include "resolve.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <strings.h>
#include <unistd.h>

#include "debver.h"
#include "log.h"

struct provider {
	const struct pkg *pkg;
	const struct dep_atom *atom; /* the Provides entry: DEP_ANY or DEP_EQ */
	size_t pkg_entry;            /* entry of pkg->name */
};

struct entry {
	const char *name; /* points into a stanza or a Provides list */
	struct pkg **pkgs; /* packages of this name, best first: local ones, then by version */
	size_t n_pkgs;
	size_t n_local; /* the first n_local are local and hide the others */
	struct provider *provs; /* by provider name, then best first */
	size_t n_provs;
};

struct pkgdb {
	char *arch;
	struct entry *entries;
	size_t n_entries, cap_entries;
	size_t *table; /* open addressing: entry index + 1, 0 for an empty slot */
	size_t table_size;
	struct deb822 **docs;
	size_t n_docs;
	struct pkg **pkgs; /* every pkg, for freeing */
	size_t n_pkgs, cap_pkgs;
};

#define NO_ENTRY SIZE_MAX

/* Grows an array holding n elements before one more is added, doubling at powers of two
 * so that no capacity needs to be stored. */
static void *grow_pow2(void *p, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		return xrealloc(p, (n ? n * 2 : 1) * size);
	return p;
}

static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	return xrealloc(p, *cap * size);
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static size_t db_find(const struct pkgdb *db, const char *name)
{
	size_t mask = db->table_size - 1;

	if (!db->table_size)
		return NO_ENTRY;
	for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
		size_t k = db->table[i];

		if (!k)
			return NO_ENTRY;
		if (streq(db->entries[k - 1].name, name))
			return k - 1;
	}
}

static void table_put(size_t *table, size_t size, const char *name, size_t idx)
{
	size_t i = hash_name(name) & (size - 1);

	while (table[i])
		i = (i + 1) & (size - 1);
	table[i] = idx + 1;
}

/* Room in the table for n more names at a load of at most one half, and in the entries. */
static void db_reserve(struct pkgdb *db, size_t n)
{
	size_t size = db->table_size ? db->table_size : 1024;
	size_t *table;

	while ((db->n_entries + n) * 2 > size)
		size *= 2;
	if (db->n_entries + n > db->cap_entries) {
		db->cap_entries = db->n_entries + n > 2 * db->cap_entries ? db->n_entries + n :
									    2 * db->cap_entries;
		db->entries = xrealloc(db->entries, db->cap_entries * sizeof(*db->entries));
	}
	if (size == db->table_size)
		return;
	table = xcalloc(size, sizeof(*table));
	for (size_t i = 0; i < db->n_entries; i++)
		table_put(table, size, db->entries[i].name, i);
	free(db->table);
	db->table = table;
	db->table_size = size;
}

static size_t db_find_or_add(struct pkgdb *db, const char *name)
{
	size_t idx = db_find(db, name);

	if (idx != NO_ENTRY)
		return idx;
	db_reserve(db, 1);
	db->entries[db->n_entries] = (struct entry){ .name = name };
	table_put(db->table, db->table_size, name, db->n_entries);
	return db->n_entries++;
}

static int strcmp_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* Total order on packages of one name, best first. */
static int pkg_cmp(const struct pkg *a, const struct pkg *b)
{
	int r;

	if (!a->local_path != !b->local_path)
		return a->local_path ? -1 : 1;
	r = debver_cmp(b->version, a->version);
	if (r)
		return r;
	if (a->source != b->source)
		return a->source < b->source ? -1 : 1;
	r = strcmp(a->arch, b->arch);
	if (r)
		return r;
	r = strcmp_null(a->filename, b->filename);
	if (r)
		return r;
	r = strcmp_null(a->sha256, b->sha256);
	if (r)
		return r;
	return strcmp_null(a->local_path, b->local_path);
}

static int provider_cmp(const struct provider *a, const struct provider *b)
{
	int r = strcmp(a->pkg->name, b->pkg->name);

	if (r)
		return r;
	r = pkg_cmp(a->pkg, b->pkg);
	if (r)
		return r;
	return strcmp_null(a->atom->version, b->atom->version);
}

static void entry_add_pkg(struct entry *e, struct pkg *p)
{
	size_t lo = 0, hi = e->n_pkgs;

	/* After every package that compares equal, so duplicates keep their order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pkg_cmp(e->pkgs[mid], p) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	e->pkgs = grow_pow2(e->pkgs, e->n_pkgs, sizeof(*e->pkgs));
	memmove(e->pkgs + lo + 1, e->pkgs + lo, (e->n_pkgs - lo) * sizeof(*e->pkgs));
	e->pkgs[lo] = p;
	e->n_pkgs++;
	if (p->local_path)
		e->n_local++;
}

static void entry_add_provider(struct entry *e, const struct provider *pv)
{
	size_t lo = 0, hi = e->n_provs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (provider_cmp(&e->provs[mid], pv) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	e->provs = grow_pow2(e->provs, e->n_provs, sizeof(*e->provs));
	memmove(e->provs + lo + 1, e->provs + lo, (e->n_provs - lo) * sizeof(*e->provs));
	e->provs[lo] = *pv;
	e->n_provs++;
}

/* Packages of this name that are candidates: the local ones hide the rest. */
static size_t entry_n_visible(const struct entry *e)
{
	return e->n_local ? e->n_local : e->n_pkgs;
}

static bool pkg_visible(const struct pkgdb *db, const struct pkg *p, size_t entry)
{
	return p->local_path || db->entries[entry].n_local == 0;
}

struct pkgdb *pkgdb_new(const char *arch)
{
	struct pkgdb *db = xcalloc(1, sizeof(*db));

	db->arch = xstrdup(arch);
	return db;
}

static void pkg_free(struct pkg *p)
{
	if (!p)
		return;
	dep_list_done(&p->pre_depends);
	dep_list_done(&p->depends);
	dep_list_done(&p->provides);
	free((char *)p->local_path);
	free(p);
}

struct pkgdb *pkgdb_free(struct pkgdb *db)
{
	if (!db)
		return NULL;
	for (size_t i = 0; i < db->n_entries; i++) {
		free(db->entries[i].pkgs);
		free(db->entries[i].provs);
	}
	for (size_t i = 0; i < db->n_pkgs; i++)
		pkg_free(db->pkgs[i]);
	for (size_t i = 0; i < db->n_docs; i++)
		deb822_free(db->docs[i]);
	free(db->entries);
	free(db->table);
	free(db->docs);
	free(db->pkgs);
	free(db->arch);
	free(db);
	return NULL;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

static bool provides_valid(const struct dep_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->alts[i].n != 1 || l->alts[i].atoms[0].arch ||
		    (l->alts[i].atoms[0].op != DEP_ANY && l->alts[i].atoms[0].op != DEP_EQ))
			return false;
	return true;
}

/* Builds a pkg from a stanza. Returns 1 and the pkg, 0 when the stanza is not a candidate
 * (no Package/Version/Architecture, another arch), or -EINVAL after logging (or, with
 * ret_msg, putting the message there). */
static int pkg_from_stanza(const struct pkgdb *db, const struct deb822_stanza *s, unsigned source,
			   const char *what, char **ret_msg, struct pkg **ret)
{
	const struct deb822_field *f_version = NULL, *f_size = NULL, *f_isize = NULL,
				  *f_pre = NULL, *f_dep = NULL, *f_prov = NULL;
	struct pkg p = { .stanza = s, .source = source };
	const struct deb822_field *bad = NULL;

	/* One pass over the fields: a Packages stanza has about twenty. */
	for (size_t i = 0; i < s->n_fields; i++) {
		const struct deb822_field *f = &s->fields[i];
		const char *n = f->name;

#define IS(x) (strcasecmp(n, x) == 0)
		switch (n[0] | 0x20) {
		case 'a':
			if (IS("Architecture"))
				p.arch = f->value;
			break;
		case 'd':
			if (IS("Depends"))
				f_dep = f;
			break;
		case 'e':
			if (IS("Essential"))
				p.essential = streq(f->value, "yes");
			break;
		case 'f':
			if (IS("Filename"))
				p.filename = f->value;
			break;
		case 'i':
			if (IS("Installed-Size"))
				f_isize = f;
			break;
		case 'm':
			if (IS("Multi-Arch"))
				p.multi_arch = f->value;
			break;
		case 'p':
			if (IS("Package"))
				p.name = f->value;
			else if (IS("Priority"))
				p.priority = f->value;
			else if (IS("Pre-Depends"))
				f_pre = f;
			else if (IS("Provides"))
				f_prov = f;
			break;
		case 's':
			if (IS("SHA256"))
				p.sha256 = f->value;
			else if (IS("Section"))
				p.section = f->value;
			else if (IS("Size"))
				f_size = f;
			else if (IS("Source"))
				p.source_pkg = f->value;
			break;
		case 'v':
			if (IS("Version")) {
				p.version = f->value;
				f_version = f;
			}
			break;
		}
#undef IS
	}
	if (!p.name || !p.version || !p.arch)
		return 0;
	if (!streq(p.arch, db->arch) && !streq(p.arch, "all"))
		return 0;

	if (!debver_valid(p.version))
		bad = f_version;
	else if (f_size && parse_u64(f_size->value, &p.size) < 0)
		bad = f_size;
	else if (f_isize && parse_u64(f_isize->value, &p.installed_size) < 0)
		bad = f_isize;
	else if (f_pre && dep_parse(f_pre->value, &p.pre_depends) < 0)
		bad = f_pre;
	else if (f_dep && dep_parse(f_dep->value, &p.depends) < 0)
		bad = f_dep;
	else if (f_prov && (dep_parse(f_prov->value, &p.provides) < 0 ||
			    !provides_valid(&p.provides)))
		bad = f_prov;
	if (bad) {
		char *msg = xasprintf("%s:%u: package '%s': invalid %s field", what, bad->line,
				      p.name, bad->name);

		if (ret_msg)
			*ret_msg = msg;
		else {
			log_error("%s", msg);
			free(msg);
		}
		dep_list_done(&p.pre_depends);
		dep_list_done(&p.depends);
		dep_list_done(&p.provides);
		return -EINVAL;
	}
	*ret = xmalloc(sizeof(p));
	**ret = p;
	return 1;
}

static void db_insert(struct pkgdb *db, struct pkg *p)
{
	size_t idx = db_find_or_add(db, p->name);

	db->pkgs = grow(db->pkgs, db->n_pkgs, &db->cap_pkgs, sizeof(*db->pkgs));
	db->pkgs[db->n_pkgs++] = p;
	entry_add_pkg(&db->entries[idx], p);
	for (size_t i = 0; i < p->provides.n; i++) {
		const struct dep_atom *a = &p->provides.alts[i].atoms[0];
		struct provider pv = { .pkg = p, .atom = a, .pkg_entry = idx };
		/* Not inside the argument below: adding an entry may move db->entries. */
		size_t vidx = db_find_or_add(db, a->name);

		entry_add_provider(&db->entries[vidx], &pv);
	}
}

static void db_keep_doc(struct pkgdb *db, struct deb822 *d)
{
	db->docs = grow_pow2(db->docs, db->n_docs, sizeof(*db->docs));
	db->docs[db->n_docs++] = d;
}

int pkgdb_add_index(struct pkgdb *db, struct deb822 *d, unsigned source, const char *what)
{
	_cleanup_free_ struct pkg **new = xmalloc((d->n_stanzas + 1) * sizeof(*new));
	size_t n = 0;

	/* Everything is checked before anything is added, so a failure leaves db as it was. */
	for (size_t i = 0; i < d->n_stanzas; i++) {
		int r = pkg_from_stanza(db, &d->stanzas[i], source, what, NULL, &new[n]);

		if (r < 0) {
			while (n > 0)
				pkg_free(new[--n]);
			deb822_free(d);
			return r;
		}
		n += r;
	}
	for (size_t i = 0; i < n; i++)
		db_insert(db, new[i]);
	db_keep_doc(db, d);
	return 0;
}

struct add_text {
	struct pkgdb *db;
	unsigned source;
	const char *what;
	struct pkg **new;
	size_t n, cap;
	/* A part of the text parsed on a thread of its own: */
	char *text;
	size_t len, count;
	unsigned first_line;
	char *msg; /* the error, not logged */
	struct deb822 *doc;
	int r;
};

static int add_stanza(const struct deb822_stanza *s, void *userdata)
{
	struct add_text *a = userdata;
	struct pkg *p = NULL;
	int r = pkg_from_stanza(a->db, s, a->source, a->what, &a->msg, &p);

	if (r <= 0)
		return r;
	p->stanza = NULL; /* the stanza does not outlive this call */
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 1024;
		a->new = xrealloc(a->new, a->cap * sizeof(*a->new));
	}
	a->new[a->n++] = p;
	return 0;
}

/* Parses a->text (taken) into a->new and a->doc; a->r, a->msg. pkg_from_stanza() only reads
 * db->arch, so parts of one index parse side by side. */
static void *add_part(void *userdata)
{
	struct add_text *a = userdata;

	a->r = deb822_parse_each_quiet(TAKE_PTR(a->text), a->len, a->what, a->first_line,
				       add_stanza, a, &a->count, &a->msg, &a->doc);
	return NULL;
}

static void add_part_free(struct add_text *a)
{
	while (a->n > 0)
		pkg_free(a->new[--a->n]);
	free(a->new);
	free(a->text);
	free(a->msg);
	deb822_free(a->doc);
}

/* Where a large index splits in two for two threads: just after the first blank line past
 * its middle (a blank line always ends a stanza), or 0. */
#define SPLIT_MIN ((size_t)4 << 20)
static size_t split_point(const char *text, size_t len)
{
	const char *p;

	if (len < SPLIT_MIN || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return 0;
	p = memmem(text + len / 2, len - len / 2, "\n\n", 2);
	return p && p + 2 < text + len ? (size_t)(p + 2 - text) : 0;
}

int pkgdb_add_index_text(struct pkgdb *db, char *text, size_t len, unsigned source,
			 const char *what)
{
	/* A 50 MB Packages parses in 0.14 s: halves on two threads. */
	struct add_text part[2] = {
		{ .db = db, .source = source, .what = what, .len = len, .first_line = 1 },
		{ .db = db, .source = source, .what = what }
	};
	size_t split = split_point(text, len), count;
	pthread_t thread;
	bool threaded = false;
	int r;

	if (split) {
		part[1].len = len - split;
		part[1].text = xmalloc(part[1].len);
		memcpy(part[1].text, text + split, part[1].len);
		part[1].first_line = 1;
		for (const char *p = text; (p = memchr(p, '\n', text + split - p)); p++)
			part[1].first_line++;
		part[0].len = split;
		threaded = pthread_create(&thread, NULL, add_part, &part[1]) == 0;
	}
	part[0].text = text;
	add_part(&part[0]);
	if (split && !threaded)
		add_part(&part[1]);
	else if (threaded)
		pthread_join(thread, NULL);
	/* Everything is checked before anything is added, as in pkgdb_add_index(); the
	 * first error in the text's order is the one said. */
	r = part[0].r < 0 ? part[0].r : part[1].r;
	if (r < 0) {
		const char *msg = part[0].r < 0 ? part[0].msg : part[1].msg;

		if (msg)
			log_error("%s", msg);
		add_part_free(&part[0]);
		add_part_free(&part[1]);
		return r;
	}
	count = part[0].count + part[1].count;
	/* At most a name per package and per provided name: the table grows once. */
	{
		size_t names = 0;

		for (size_t k = 0; k < 2; k++)
			for (size_t i = 0; i < part[k].n; i++)
				names += 1 + part[k].new[i]->provides.n;
		db_reserve(db, names);
	}
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < part[k].n; i++)
			db_insert(db, part[k].new[i]);
		part[k].n = 0;
		if (part[k].doc)
			db_keep_doc(db, TAKE_PTR(part[k].doc));
		add_part_free(&part[k]);
	}
	return count > INT_MAX ? INT_MAX : (int)count;
}

int pkgdb_add_local(struct pkgdb *db, struct deb822 *control, const char *local_path,
		    unsigned source)
{
	const struct deb822_stanza *s;
	struct pkg *p = NULL;
	int r;

	if (control->n_stanzas != 1) {
		log_error("%s: expected one stanza in the control file, found %zu", local_path,
			  control->n_stanzas);
		deb822_free(control);
		return -EINVAL;
	}
	s = &control->stanzas[0];
	r = pkg_from_stanza(db, s, source, local_path, NULL, &p);
	if (r == 0) {
		const char *arch = deb822_get(s, "Architecture");

		if (!deb822_get(s, "Package") || !deb822_get(s, "Version") || !arch)
			log_error("%s: control file lacks Package, Version or Architecture",
				  local_path);
		else
			log_error("%s: package '%s' is for architecture '%s', not '%s'", local_path,
				  deb822_get(s, "Package"), arch, db->arch);
		r = -EINVAL;
	}
	if (r < 0) {
		deb822_free(control);
		return r;
	}
	p->local_path = xstrdup(local_path);
	db_insert(db, p);
	db_keep_doc(db, control);
	return 0;
}

const struct pkg *pkgdb_lookup(const struct pkgdb *db, const char *name)
{
	size_t idx = db_find(db, name);

	if (idx == NO_ENTRY || db->entries[idx].n_pkgs == 0)
		return NULL;
	return db->entries[idx].pkgs[0];
}

bool pkgdb_known(const struct pkgdb *db, const char *name)
{
	size_t idx = db_find(db, name);
	const struct entry *e;

	if (idx == NO_ENTRY)
		return false;
	e = &db->entries[idx];
	if (e->n_pkgs)
		return true;
	for (size_t i = 0; i < e->n_provs; i++)
		if (pkg_visible(db, e->provs[i].pkg, e->provs[i].pkg_entry))
			return true;
	return false;
}

/* ---- resolver ---- */

struct resolver {
	const struct pkgdb *db;
	const struct resolve_opts *o;
	const struct pkg **sel; /* by entry: the selected package of that name */
	size_t *parent;         /* by entry: who pulled it in, NO_ENTRY for a root */
	size_t *queue;          /* selected entries in selection order */
	size_t n_queue;
};

static bool excluded(const struct resolver *r, const char *name)
{
	return strv_contains(r->o->exclude, name);
}

static bool arch_ok(const struct resolver *r, const struct dep_atom *a)
{
	return !a->arch || streq(a->arch, "any") || streq(a->arch, "native") ||
	       streq(a->arch, r->db->arch);
}

static bool provide_matches(const struct dep_atom *prov, const struct dep_atom *dep)
{
	if (dep->op == DEP_ANY)
		return true;
	return prov->op == DEP_EQ && dep_version_satisfies(dep->op, prov->version, dep->version);
}

static bool atom_satisfied(const struct resolver *r, const struct dep_atom *a)
{
	const struct entry *e;
	size_t idx;

	if (strv_contains(r->o->provides, a->name))
		return true;
	if (!arch_ok(r, a))
		return false;
	idx = db_find(r->db, a->name);
	if (idx == NO_ENTRY)
		return false;
	if (r->sel[idx] && dep_version_satisfies(a->op, r->sel[idx]->version, a->version))
		return true;
	e = &r->db->entries[idx];
	for (size_t i = 0; i < e->n_provs; i++)
		if (r->sel[e->provs[i].pkg_entry] == e->provs[i].pkg &&
		    provide_matches(e->provs[i].atom, a))
			return true;
	return false;
}

/* The package to select for an alternative, or NULL; *conflict is set to the selected
 * package of that name when another of its versions would have matched. */
static const struct pkg *atom_choose(const struct resolver *r, const struct dep_atom *a,
				     size_t *ret_entry, const struct pkg **conflict)
{
	const struct entry *e;
	size_t idx;

	if (!arch_ok(r, a))
		return NULL;
	idx = db_find(r->db, a->name);
	if (idx == NO_ENTRY)
		return NULL;
	e = &r->db->entries[idx];
	if (!excluded(r, a->name))
		for (size_t i = 0; i < entry_n_visible(e); i++) {
			if (!dep_version_satisfies(a->op, e->pkgs[i]->version, a->version))
				continue;
			if (r->sel[idx]) {
				if (!*conflict)
					*conflict = r->sel[idx];
				break;
			}
			*ret_entry = idx;
			return e->pkgs[i];
		}
	for (size_t i = 0; i < e->n_provs; i++) {
		const struct provider *pv = &e->provs[i];

		if (!pkg_visible(r->db, pv->pkg, pv->pkg_entry) || excluded(r, pv->pkg->name) ||
		    !provide_matches(pv->atom, a))
			continue;
		if (r->sel[pv->pkg_entry] && r->sel[pv->pkg_entry] != pv->pkg)
			continue;
		*ret_entry = pv->pkg_entry;
		return pv->pkg;
	}
	return NULL;
}

static void select_pkg(struct resolver *r, size_t idx, const struct pkg *p, size_t parent)
{
	r->sel[idx] = p;
	r->parent[idx] = parent;
	r->queue[r->n_queue++] = idx;
}

static int fail_chain(const struct resolver *r, size_t idx, const struct dep_alt *alt,
		      const struct pkg *conflict)
{
	_cleanup_free_ char *group = dep_alt_format(alt), *chain = xstrdup(""), *reason = NULL;

	for (size_t i = idx; i != NO_ENTRY; i = r->parent[i]) {
		char *s = xasprintf("%s -> %s", r->sel[i]->name, chain);

		free(chain);
		chain = s;
	}
	if (conflict)
		reason = xasprintf("'%s' %s is already selected", conflict->name,
				   conflict->version);
	log_error("%s%s: %s", chain, group, reason ? reason : "no candidate");
	return -ENOENT;
}

static int resolve_group(struct resolver *r, size_t idx, const struct dep_alt *alt)
{
	const struct pkg *conflict = NULL;

	for (size_t i = 0; i < alt->n; i++)
		if (atom_satisfied(r, &alt->atoms[i]))
			return 0;
	/* The recipe's preference among alternatives, as apt's "install the one named": e.g.
	 * systemd-standalone-sysusers over systemd in a sysvinit image. */
	for (size_t i = 0; r->o->prefer && i < alt->n; i++) {
		const struct pkg *ignored = NULL;
		size_t e;
		const struct pkg *p = atom_choose(r, &alt->atoms[i], &e, &ignored);

		if (p && strv_contains(r->o->prefer, p->name)) {
			select_pkg(r, e, p, idx);
			return 0;
		}
	}
	for (size_t i = 0; i < alt->n; i++) {
		size_t e;
		const struct pkg *p = atom_choose(r, &alt->atoms[i], &e, &conflict);

		if (p) {
			select_pkg(r, e, p, idx);
			return 0;
		}
	}
	for (size_t i = 0; i < alt->n; i++)
		if (excluded(r, alt->atoms[i].name))
			return 0;
	return fail_chain(r, idx, alt, conflict);
}

/* Roots are marked in sel right away, so that a name is a root once; they are queued once
 * all are known, in name order. */
static void add_root(struct resolver *r, size_t idx, const struct pkg *p, size_t **roots,
		     size_t *n_roots)
{
	if (r->sel[idx])
		return;
	r->sel[idx] = p;
	*roots = grow_pow2(*roots, *n_roots, sizeof(**roots));
	(*roots)[(*n_roots)++] = idx;
}

static int add_include(struct resolver *r, const char *name, size_t **roots, size_t *n_roots)
{
	const struct entry *e;
	size_t idx;

	if (excluded(r, name))
		return 0;
	if (!pkgdb_known(r->db, name)) {
		log_error("no package '%s' in the package lists", name);
		return -ENOENT;
	}
	idx = db_find(r->db, name);
	e = &r->db->entries[idx];
	if (e->n_pkgs) {
		add_root(r, idx, e->pkgs[0], roots, n_roots);
		return 0;
	}
	for (size_t i = 0; i < e->n_provs; i++) {
		const struct provider *pv = &e->provs[i];

		if (!pkg_visible(r->db, pv->pkg, pv->pkg_entry) || excluded(r, pv->pkg->name))
			continue;
		add_root(r, pv->pkg_entry, pv->pkg, roots, n_roots);
		return 0;
	}
	log_error("'%s' is a virtual package and all its providers are excluded", name);
	return -ENOENT;
}

static int entry_name_cmp(const void *a, const void *b, void *userdata)
{
	const struct pkgdb *db = userdata;

	return strcmp(db->entries[*(const size_t *)a].name, db->entries[*(const size_t *)b].name);
}

static int pkg_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct pkg *const *)a)->name, (*(const struct pkg *const *)b)->name);
}

static bool is_variant_root(const struct pkg *p, enum variant v)
{
	if (v == VARIANT_NONE)
		return false;
	if (p->essential || streq_ptr(p->priority, "required"))
		return true;
	return v == VARIANT_IMPORTANT && streq_ptr(p->priority, "important");
}

int resolve(const struct pkgdb *db, const struct resolve_opts *o, const struct pkg ***ret_pkgs,
	    size_t *ret_n)
{
	static const struct resolve_opts no_opts = {};
	_cleanup_free_ const struct pkg **sel = xcalloc(db->n_entries + 1, sizeof(*sel));
	_cleanup_free_ size_t *parent = xcalloc(db->n_entries + 1, sizeof(*parent));
	_cleanup_free_ size_t *queue = xcalloc(db->n_entries + 1, sizeof(*queue));
	_cleanup_free_ size_t *roots = NULL;
	_cleanup_free_ const struct pkg **out = NULL;
	struct resolver r = {
		.db = db, .o = o ? o : &no_opts, .sel = sel, .parent = parent, .queue = queue,
	};
	size_t n_roots = 0;
	int ret;

	for (size_t i = 0; i < db->n_entries; i++) {
		const struct entry *e = &db->entries[i];

		if (e->n_pkgs && is_variant_root(e->pkgs[0], r.o->variant) &&
		    !excluded(&r, e->name))
			add_root(&r, i, e->pkgs[0], &roots, &n_roots);
	}
	if (r.o->variant == VARIANT_MINBASE || r.o->variant == VARIANT_IMPORTANT) {
		ret = add_include(&r, "apt", &roots, &n_roots);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; r.o->include && r.o->include[i]; i++) {
		ret = add_include(&r, r.o->include[i], &roots, &n_roots);
		if (ret < 0)
			return ret;
	}

	qsort_r(roots, n_roots, sizeof(*roots), entry_name_cmp, (void *)db);
	for (size_t i = 0; i < n_roots; i++)
		select_pkg(&r, roots[i], sel[roots[i]], NO_ENTRY);

	for (size_t q = 0; q < r.n_queue; q++) {
		size_t idx = r.queue[q];
		const struct pkg *p = sel[idx];
		const struct dep_list *lists[] = { &p->pre_depends, &p->depends };

		for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
			for (size_t i = 0; i < lists[l]->n; i++) {
				ret = resolve_group(&r, idx, &lists[l]->alts[i]);
				if (ret < 0)
					return ret;
			}
	}

	out = xmalloc((r.n_queue + 1) * sizeof(*out));
	for (size_t i = 0; i < r.n_queue; i++)
		out[i] = sel[r.queue[i]];
	qsort(out, r.n_queue, sizeof(*out), pkg_name_cmp);
	*ret_pkgs = TAKE_PTR(out);
	*ret_n = r.n_queue;
	return 0;
}
