/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The package universe (candidates from Packages indices and local .deb files) and a
 * deterministic dependency resolver in the manner of debootstrap: pick roots by priority,
 * then follow Pre-Depends and Depends breadth-first, always taking the first alternative
 * that can be installed. No conflicts, no backtracking, no scoring. */
#pragma once

#include "deb822.h"
#include "depends.h"
#include "util.h"

struct pkg {
	/* Point into the stanza; NULL when absent. */
	const char *name, *version, *arch, *filename, *sha256, *priority, *section, *multi_arch,
		*source_pkg;
	uint64_t size;           /* "Size:" of the .deb in bytes */
	uint64_t installed_size; /* "Installed-Size:" in KiB */
	bool essential;
	struct dep_list pre_depends, depends, provides;
	const struct deb822_stanza *stanza; /* NULL when added by pkgdb_add_index_text() */
	unsigned source;        /* the number given when the index was added */
	const char *local_path; /* a local .deb file, or NULL */
};

struct pkgdb;

/* `arch` is the native architecture: candidates are packages of that arch or "all". */
struct pkgdb *pkgdb_new(const char *arch);
struct pkgdb *pkgdb_free(struct pkgdb *db);

/* Adds every stanza of a Packages index that has Package, Version and Architecture (others
 * are skipped, as are other architectures). Takes ownership of d, even on failure. A bad
 * Version, Size, Installed-Size, Pre-Depends, Depends or Provides field is logged as
 * "what:LINE: package 'x': invalid Depends field" and returns -EINVAL, adding nothing.
 * `source` is copied into each pkg; among equal versions of a name the lower source wins. */
int pkgdb_add_index(struct pkgdb *db, struct deb822 *d, unsigned source, const char *what);
/* The same from an index's text (takes ownership of the malloc'ed buffer), parsed stanza by
 * stanza so that its fields are never all held at once (a third of the memory a parsed
 * Debian main index takes); its packages' `stanza` is NULL. Returns the number of stanzas
 * read, or a negative errno after logging (a parse error as deb822_parse() logs it). */
int pkgdb_add_index_text(struct pkgdb *db, char *text, size_t len, unsigned source,
			 const char *what);
/* Adds one local .deb's control stanza (takes ownership). A local package replaces the
 * index packages of its name whatever their versions, as installing the file would: they
 * are no longer candidates, nor providers. Its architecture must be native or "all". */
int pkgdb_add_local(struct pkgdb *db, struct deb822 *control, const char *local_path,
		    unsigned source);

/* The candidate for a real package name: the local one, else the highest version; NULL
 * when there is none (virtual names included). */
const struct pkg *pkgdb_lookup(const struct pkgdb *db, const char *name);
/* Whether resolve() knows `name` as an include: a real package or a virtual name that some
 * candidate provides. */
bool pkgdb_known(const struct pkgdb *db, const char *name);

enum variant {
	VARIANT_NONE,      /* no roots but the includes */
	VARIANT_REQUIRED,  /* Essential: yes and Priority: required */
	VARIANT_MINBASE,   /* required plus apt */
	VARIANT_IMPORTANT, /* minbase plus Priority: important */
};

struct resolve_opts {
	enum variant variant;
	char **include;  /* more roots */
	char **exclude;  /* never selected */
	char **provides; /* names taken as present (any version) */
	char **prefer;   /* packages chosen over earlier alternatives (step 2 below) */
			 /* NULL-terminated string lists, may be NULL */
};

/* Selects the packages to install.
 *
 * Roots: the variant's (the candidate of every name whose candidate matches) plus every
 * `include` name. An include name with no package is an error ("no package 'foo' in the
 * package lists", -ENOENT); a virtual include name picks its first provider by name.
 * MINBASE's apt counts as an include. Excluded names are never selected, roots included.
 *
 * All roots are selected first, then the closure is computed breadth-first, in the order
 * of selection (roots sorted by name), over the Pre-Depends and then the Depends of each
 * selected package. For each group of alternatives ("a | b | c"):
 *  1. it is satisfied if any alternative is: by the selected package of that name when its
 *     version matches, by a selected package that provides the name (an unversioned
 *     Provides satisfies only unversioned dependencies, "Provides: x (= 1)" also versioned
 *     ones), or when the name is in o->provides (whatever the version);
 *  2. else the first alternative whose candidate (found as below) is named in o->prefer is
 *     selected; else the first alternative, in order, that has a candidate: a real
 *     package of that name whose version matches (every version is considered, highest
 *     first), else a package providing it (the first by name, then highest version).
 *     Excluded packages are skipped, and so is a version of a name of which another version
 *     is already selected;
 *  3. else, if an alternative names an excluded package, the group counts as satisfied
 *     (the user excluded it on purpose, as with debootstrap --exclude);
 *  4. else resolution fails.
 * Arch qualifiers ":any", ":native" and the native arch match like no qualifier; any other
 * has no candidate. Cycles are harmless: a selected package is never selected again.
 *
 * A failure logs one error naming the chain from a root, e.g. "linux-image-amd64 ->
 * linux-image-6.1.0-9-amd64 -> kmod (>= 99): no candidate" or "... -> foo (>= 3): 'foo' 2
 * is already selected", and returns -ENOENT. The result depends only on the candidates and
 * options, not on the order stanzas were added in.
 *
 * On success, *ret_pkgs is a malloc'ed array of *ret_n packages sorted by name; the
 * packages themselves belong to db. */
int resolve(const struct pkgdb *db, const struct resolve_opts *o, const struct pkg ***ret_pkgs,
	    size_t *ret_n);
