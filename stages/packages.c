/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "packages": a Debian root made the way debootstrap makes one, but unpacked from the
 * .deb files straight into the image's filesystems, never into a host directory.
 *
 * packages:
 *   suite: trixie            the suite (or codename) to install from (default trixie); keep
 *                            codenames rather than stable, so a recipe keeps its meaning
 *   mirror: http://deb.debian.org/debian
 *                            http://, https:// or file:// (default Debian's mirror);
 *                            "none": no repository: packages come from debs: only
 *   components: [main]       default [main]
 *   architecture: amd64      the target's dpkg architecture (default amd64)
 *   keyring: /usr/share/keyrings/debian-archive-keyring.gpg
 *                            the keys InRelease must be signed with (binary OpenPGP)
 *   variant: minbase         none: no base set, only include and what it depends on;
 *                            required: Essential and Priority: required; minbase:
 *                            required plus apt (default); important: minbase plus
 *                            Priority: important
 *   include: [...]           more packages (and their dependencies)
 *   exclude: [...]           never installed, even when something depends on them
 *   provides: [...]          virtual packages the image satisfies itself (the seed's equivs
 *                            package): linux-initramfs-tool, since mkbootmedia makes the
 *                            initrd
 *   debs: [...]              local .deb files, or directories of them: candidates, preferred
 *                            over the mirror's packages of the same name, installed when
 *                            include names them or a package depends on them (as a local
 *                            repository); not signature-checked (the recipe author's own)
 *   path-exclude: [globs]    dpkg's --path-exclude, e.g. "/usr/share/doc/<star>" (fnmatch
 *                            without FNM_PATHNAME: '*' also matches '/')
 *   path-include: [globs]    dpkg's --path-include, applied after the excludes, e.g.
 *                            "/usr/share/doc/<star>/copyright" keeps the copyright files.
 *                            With merged-usr, a glob under /bin, /sbin or /lib* also
 *                            matches the same path under /usr and the other way round
 *                            (trixie's kernel ships /usr/lib/modules, bookworm's
 *                            /lib/modules: both are the same directory once merged).
 *                            The filters also go to the image's dpkg, for what apt
 *                            installs later: /etc/dpkg/dpkg.cfg.d/mkbootmedia
 *   extra-suites: [...]      more suites: a name on the same mirror (bookworm-updates), or
 *                            {suite, mirror, components, keyring}. Absent: SUITE-updates on
 *                            the mirror and SUITE-security on Debian's security archive
 *                            (http://deb.debian.org/debian-security, same components and
 *                            keyring), as the installer and mmdebstrap use them; not for
 *                            sid, unstable, experimental (they have neither) nor for file://
 *                            mirrors (a local repository is its own snapshot). A list
 *                            replaces these defaults; [] installs from the suite alone
 *   prefer: [...]            packages chosen over the earlier alternatives of a dependency
 *                            ("systemd | systemd-standalone-sysusers": prefer the second),
 *                            as naming one on apt-get install does
 *   check-valid-until: true  false: a Release past its Valid-Until is used (with a warning),
 *                            for a frozen mirror or a snapshot, as apt's Check-Valid-Until
 *   merged-usr: true         /bin, /sbin, /lib* as symlinks into /usr, made by mkbootmedia
 *                            as debootstrap does, so usr-is-merged is chosen over usrmerge
 *                            (whose maintainer scripts would rewrite the root)
 *
 * Everything downloaded is verified before use: InRelease's signature (gpgv), the SHA-256
 * of each Packages index and of each .deb. Downloads are cached (--cache, default
 * $XDG_CACHE_HOME/mkbootmedia) and reused when their hash matches; --offline uses the cache
 * only. The root is left as `dpkg --unpack` leaves it: packages in state "install ok
 * unpacked", with their info files and maintainer scripts, none run. */
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>

#include "deb.h"
#include "deb822.h"
#include "fetch.h"
#include "log.h"
#include "repo.h"
#include "resolve.h"
#include "stage.h"
#include "unpack.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define DEFAULT_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"
#define DEFAULT_SUITE "trixie"
/* the recipe's path filters, for dpkg in the image */
#define DPKG_FILTERS_PATH "/etc/dpkg/dpkg.cfg.d/mkbootmedia"

struct suite {
	const char *suite;
	const char *mirror;
	char **components;
	char *keyring;
	const struct node *node;
	char *owned; /* a default suite's name */
};

struct local_deb {
	char *path;
	const struct node *node;
};

struct lock_set;
static struct lock_set *lock_set_free(struct lock_set *l);
static uint64_t pkg_size(const struct pkg *k);

struct packages_priv {
	struct suite *suites;
	size_t n_suites;
	const char *arch;
	enum variant variant;
	char **include, **exclude, **provides, **prefer, **path_exclude, **path_include;
	struct local_deb *debs;
	size_t n_debs;
	bool merged_usr;
	bool check_valid_until;
	const struct node *node;
	const struct node **include_nodes; /* where each of include[] was asked for */

	/* --locked: the lock file's set; --lock: the lock written so far (renamed into place
	 * by cleanup once every stage succeeded) */
	struct lock_set *locked;
	char *lock_tmp;

	/* prepared */
	struct fetcher *fetcher;
	struct pkgdb *db;
	const struct pkg **pkgs;
	size_t n_pkgs;
	bool prepared;
};

/* The package that makes each system.init (enum init_system) /sbin/init. */
/* What each system.init needs in the package set (enum init_system): the package that makes
 * it /sbin/init; for systemd also udev, which names the disks (/dev/disk/by-label, the
 * device units fstab's mounts wait for). */
static const char *const init_packages[][3] = {
	[INIT_SYSVINIT] = { "sysvinit-core" },
	[INIT_SYSTEMD] = { "systemd-sysv", "udev" },
	[INIT_BUSYBOX] = { NULL },
};
static const char *const variant_names[] = {
	[VARIANT_NONE] = "none",
	[VARIANT_REQUIRED] = "required",
	[VARIANT_MINBASE] = "minbase",
	[VARIANT_IMPORTANT] = "important",
	NULL,
};

static void packages_free(void *priv)
{
	struct packages_priv *p = priv;

	for (size_t i = 0; i < p->n_suites; i++) {
		strv_free(p->suites[i].components);
		free(p->suites[i].keyring);
		free(p->suites[i].owned);
	}
	free(p->suites);
	for (size_t i = 0; i < p->n_debs; i++)
		free(p->debs[i].path);
	free(p->debs);
	strv_free(p->include);
	free(p->include_nodes);
	strv_free(p->exclude);
	strv_free(p->provides);
	strv_free(p->prefer);
	strv_free(p->path_exclude);
	strv_free(p->path_include);
	lock_set_free(p->locked);
	if (p->lock_tmp)
		unlink(p->lock_tmp);
	free(p->lock_tmp);
	free(p->pkgs);
	pkgdb_free(p->db);
	fetcher_free(p->fetcher);
	free(p);
}

static bool name_ok(const char *s)
{
	/* Debian package and architecture names: lowercase letters, digits, + - . */
	if (!s[0])
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("+-.", *c)))
			return false;
	return true;
}

/* Absolute, and one line of dpkg's configuration (the image gets the globs as such, see
 * write_dpkg_filters): no control characters, no blank at the end, which dpkg would drop. */
static bool glob_ok(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || s[n - 1] == ' ')
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			return false;
	return true;
}

#define NAME_HINT "is not a package name (lowercase letters, digits, '+', '-', '.')"
#define GLOB_HINT "is not an absolute glob of printable characters (like /usr/share/doc/<star>)"

static int check_mirror(const struct node *n, const char *s)
{
	if (streq(s, "none") || startswith(s, "http://") || startswith(s, "https://") ||
	    startswith(s, "file:///"))
		return 0;
	return node_error(n, "'%s' is not a mirror URL (http://, https:// or file:///...; "
			  "or none)", s);
}

static bool component_ok(const char *s)
{
	return s[0] && !strchr(s, '/') && !strstr(s, "..");
}

static int parse_suite_fields(const struct node *map, struct suite *s, const struct suite *dflt)
{
	const struct node *v;
	int r;

	s->node = map;
	s->mirror = dflt ? dflt->mirror : DEFAULT_MIRROR;
	if ((v = node_get(map, "mirror"))) {
		if ((r = node_get_string(v, &s->mirror)) < 0 || (r = check_mirror(v, s->mirror)) < 0)
			return r;
	}
	if ((v = node_get(map, "components"))) {
		if ((r = node_get_words(v, component_ok, "is not a component name",
					&s->components, NULL)) < 0)
			return r;
		if (!s->components[0])
			return node_error(v, "no components given (use [main])");
	} else if (dflt) {
		for (char **c = dflt->components; *c; c++)
			s->components = strv_append(s->components, *c);
	} else {
		s->components = strv_append(NULL, "main");
	}
	if ((v = node_get(map, "keyring"))) {
		const char *k;

		if ((r = node_get_string(v, &k)) < 0)
			return r;
		s->keyring = node_path_resolve(v, k);
	} else {
		s->keyring = xstrdup(dflt ? dflt->keyring : DEFAULT_KEYRING);
	}
	return 0;
}

static int parse_suite_name(const struct node *v, const char **ret)
{
	int r = node_get_string(v, ret);

	if (r < 0)
		return r;
	if (!(*ret)[0] || strchr(*ret, '/') || strstr(*ret, "..") || strchr(*ret, ' '))
		return node_error(v, "'%s' is not a suite name (like bookworm)", *ret);
	return 0;
}

static int parse_debs(struct packages_priv *p, const struct node *n)
{
	int r;

	if ((r = node_expect(n, NODE_SEQ)) < 0)
		return r;
	for (size_t i = 0; i < n->n; i++) {
		const struct node *item = n->items[i];
		_cleanup_free_ char *path = NULL;
		const char *s;
		struct stat st;

		if ((r = node_get_string(item, &s)) < 0)
			return r;
		path = node_path_resolve(item, s);
		if (stat(path, &st) < 0)
			return node_error(item, "cannot open '%s': %s", path, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int k = scandir(path, &ents, NULL, alphasort);

			if (k < 0)
				return node_error(item, "cannot read '%s': %s", path, strerror(errno));
			for (int e = 0; e < k; e++) {
				if (endswith(ents[e]->d_name, ".deb")) {
					p->debs = xrealloc(p->debs, (p->n_debs + 1) * sizeof(*p->debs));
					p->debs[p->n_debs].path =
						xasprintf("%s/%s", path, ents[e]->d_name);
					p->debs[p->n_debs++].node = item;
				}
				free(ents[e]);
			}
			free(ents);
		} else if (S_ISREG(st.st_mode)) {
			p->debs = xrealloc(p->debs, (p->n_debs + 1) * sizeof(*p->debs));
			p->debs[p->n_debs].path = TAKE_PTR(path);
			p->debs[p->n_debs++].node = item;
		} else {
			return node_error(item, "'%s' is neither a .deb file nor a directory", path);
		}
	}
	return 0;
}

/* Suites with no -updates and no -security. */
static const char *const rolling_suites[] = { "sid", "unstable", "experimental", "rc-buggy", NULL };
/* Suites whose apt reads sources.list rather than deb822 .sources by default. */
static const char *const one_line_suites[] = { "bookworm", "bullseye",  "buster",       "stretch",
					       "jessie",   "oldstable", "oldoldstable", NULL };

/* No extra-suites: key: SUITE-updates on the mirror and SUITE-security on Debian's security
 * archive, as the installer and mmdebstrap add them, each verified like the main suite. */
static void add_default_suites(struct packages_priv *p)
{
	const char *main_suite = p->suites[0].suite, *mirror = p->suites[0].mirror;
	bool https = startswith(mirror, "https://");

	if ((!https && !startswith(mirror, "http://")) ||
	    strv_contains((char **)rolling_suites, main_suite))
		return;
	p->suites = xrealloc(p->suites, (p->n_suites + 2) * sizeof(*p->suites));
	for (int k = 0; k < 2; k++) {
		struct suite *s = &p->suites[p->n_suites++];

		*s = (struct suite){
			.owned = xasprintf("%s-%s", main_suite, k ? "security" : "updates"),
			.mirror = !k    ? mirror :
				  https ? "https://deb.debian.org/debian-security" :
					  "http://deb.debian.org/debian-security",
			.keyring = xstrdup(p->suites[0].keyring),
			.node = p->node,
		};
		s->suite = s->owned;
		for (char **c = p->suites[0].components; *c; c++)
			s->components = strv_append(s->components, *c);
	}
}

/* What the image's apt reads: for trixie and later a deb822 debian.sources, one stanza per
 * mirror (the security archive has its own), as the installer writes it; before, one line
 * per suite in sources.list. Only http(s) mirrors: a file:// one is not in the image. */
static void apt_sources(struct build *b, const struct packages_priv *p)
{
	bool deb822 = !strv_contains((char **)one_line_suites, p->suites[0].suite);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool *done = xcalloc(p->n_suites, sizeof(*done));

	for (size_t i = 0; i < p->n_suites; i++) {
		const struct suite *s = &p->suites[i];

		if (done[i] ||
		    (!startswith(s->mirror, "http://") && !startswith(s->mirror, "https://")))
			continue;
		if (!deb822) {
			fprintf(f, "deb %s %s", s->mirror, s->suite);
			for (size_t j = 0; s->components[j]; j++)
				fprintf(f, " %s", s->components[j]);
			fputc('\n', f);
			continue;
		}
		fprintf(f, "%sTypes: deb\nURIs: %s\nSuites:", ftell(f) ? "\n" : "", s->mirror);
		for (size_t k = i; k < p->n_suites; k++) {
			const struct suite *t = &p->suites[k];
			bool same = streq(t->mirror, s->mirror) &&
				    strv_length(t->components) == strv_length(s->components);

			for (size_t j = 0; same && s->components[j]; j++)
				same = streq(t->components[j], s->components[j]);
			if (same) {
				fprintf(f, " %s", t->suite);
				done[k] = true;
			}
		}
		fputs("\nComponents:", f);
		for (size_t j = 0; s->components[j]; j++)
			fprintf(f, " %s", s->components[j]);
		fputc('\n', f);
	}
	free(done);
	fclose(f);
	if (len) {
		b->apt_sources = out;
		b->apt_sources_path = deb822 ? "/etc/apt/sources.list.d/debian.sources" :
					       "/etc/apt/sources.list";
	} else {
		free(out);
	}
}

/* With merged-usr, /lib/x and /usr/lib/x are one file: each glob under one of the merged
 * directories gets its twin under the other name, so that a filter written for bookworm's
 * /lib/modules also holds for trixie's /usr/lib/modules. */
static char **merged_usr_globs(char *const *globs)
{
	static const char *const merged[] = { "/bin/",   "/sbin/",   "/lib/", "/lib32/",
					      "/lib64/", "/libx32/", NULL };
	char **out = NULL;

	for (char *const *g = globs; g && *g; g++) {
		out = strv_append(out, *g);
		for (const char *const *m = merged; *m; m++) {
			if (startswith(*g, *m)) {
				_cleanup_free_ char *twin = xasprintf("/usr%s", *g);

				out = strv_append(out, twin);
			} else if (startswith(*g, "/usr") && startswith(*g + 4, *m)) {
				out = strv_append(out, *g + 4);
			}
		}
	}
	return out;
}

static int packages_parse(struct build *b, void **ret_priv)
{
	struct node *n = node_get(b->recipe->root, "packages");
	struct packages_priv *p;
	const struct node *v;
	int r, variant = VARIANT_MINBASE;

	if (!n)
		return 0;
	p = xcalloc(1, sizeof(*p));
	*ret_priv = p;
	p->node = n;
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;

	p->suites = xcalloc(1, sizeof(*p->suites));
	p->n_suites = 1;
	p->suites[0].suite = DEFAULT_SUITE;
	if ((v = node_get(n, "suite")) && (r = parse_suite_name(v, &p->suites[0].suite)) < 0)
		return r;
	if ((r = parse_suite_fields(n, &p->suites[0], NULL)) < 0)
		return r;
	if ((v = node_get(n, "extra-suites"))) {
		if ((r = node_expect(v, NODE_SEQ)) < 0)
			return r;
		for (size_t i = 0; i < v->n; i++) {
			const struct node *e = v->items[i];
			struct suite *s;

			p->suites = xrealloc(p->suites, (p->n_suites + 1) * sizeof(*p->suites));
			s = &p->suites[p->n_suites++];
			memset(s, 0, sizeof(*s));
			if (e->kind == NODE_MAP) {
				const struct node *sn;

				if (!(sn = node_get(e, "suite")))
					return node_error(e, "missing 'suite'");
				if ((r = parse_suite_name(sn, &s->suite)) < 0)
					return r;
				if ((r = parse_suite_fields(e, s, &p->suites[0])) < 0)
					return r;
			} else {
				struct node empty = { .kind = NODE_MAP };

				if ((r = parse_suite_name(e, &s->suite)) < 0)
					return r;
				if ((r = parse_suite_fields(&empty, s, &p->suites[0])) < 0)
					return r;
				s->node = e;
			}
			if (streq(s->mirror, "none"))
				return node_error(e, "an extra suite needs a mirror");
		}
	} else {
		add_default_suites(p);
	}
	p->arch = "amd64";
	if ((v = node_get(n, "architecture"))) {
		if ((r = node_get_string(v, &p->arch)) < 0)
			return r;
		if (!name_ok(p->arch) || streq(p->arch, "all") || streq(p->arch, "any"))
			return node_error(v, "'%s' is not a Debian architecture (like amd64, arm64, "
					  "i386)", p->arch);
	}
	if ((v = node_get(n, "variant")) && (r = node_get_enum(v, variant_names, &variant)) < 0)
		return r;
	p->variant = (enum variant)variant;
	{
		static const struct {
			const char *key;
			bool (*ok)(const char *);
			const char *hint;
		} lists[] = {
			{ "include", name_ok, NAME_HINT },
			{ "exclude", name_ok, NAME_HINT },
			{ "provides", name_ok, NAME_HINT },
			{ "prefer", name_ok, NAME_HINT },
			{ "path-exclude", glob_ok, GLOB_HINT },
			{ "path-include", glob_ok, GLOB_HINT },
		};
		char ***dst[] = { &p->include, &p->exclude,      &p->provides,
				  &p->prefer,  &p->path_exclude, &p->path_include };

		for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
			if ((v = node_get(n, lists[i].key)) &&
			    (r = node_get_words(v, lists[i].ok, lists[i].hint, dst[i],
						i == 0 ? &p->include_nodes : NULL)) < 0)
				return r;
	}
	if ((v = node_get(n, "debs")) && (r = parse_debs(p, v)) < 0)
		return r;
	p->merged_usr = true;
	if ((v = node_get(n, "merged-usr")) && (r = node_get_bool(v, &p->merged_usr)) < 0)
		return r;
	if (p->merged_usr) {
		char **l = merged_usr_globs(p->path_exclude);

		strv_free(p->path_exclude);
		p->path_exclude = l;
		l = merged_usr_globs(p->path_include);
		strv_free(p->path_include);
		p->path_include = l;
	}
	p->check_valid_until = true;
	if ((v = node_get(n, "check-valid-until")) &&
	    (r = node_get_bool(v, &p->check_valid_until)) < 0)
		return r;
	if (streq(p->suites[0].mirror, "none") && p->n_suites > 1)
		return node_error(node_get(n, "extra-suites"), "extra suites need a mirror for the "
				  "main suite too (mirror: none means local debs only)");
	if (streq(p->suites[0].mirror, "none") && !p->n_debs)
		return node_error(n, "mirror: none leaves nothing to install (add debs:)");
	if (!build_part_at(b, "/"))
		return node_error(n, "no partition has a filesystem mounted at '/' to hold the "
				  "packages (add mount: / to a partition's filesystem)");
	b->packages = true;
	b->arch = p->arch;
	b->configure = CONFIGURE_AUTO;
	if ((v = node_get(n, "configure"))) {
		int mode;

		if ((r = node_get_enum(v, configure_mode_names, &mode)) < 0)
			return r;
		b->configure = mode;
		b->configure_node = v;
	}
	apt_sources(b, p);
	return 1;
}

static bool use_mirror(const struct packages_priv *p)
{
	return !streq(p->suites[0].mirror, "none");
}

/* ---- --lock and --locked ----
 * A lock file is text, one fact a line, fields separated by one space (the last field of a
 * line may hold spaces):
 *   mkbootmedia VERSION
 *   architecture ARCH
 *   source-date-epoch SECONDS                  (absent: the build had none)
 *   seed SEED                                  (absent: no seed)
 *   suite INDEX MIRROR SUITE SHA256 DATE       InRelease's (or Release's) SHA-256 and Date
 *   package NAME VERSION ARCH SHA256 SIZE INDEX FILENAME   from suite INDEX's mirror
 *   local NAME VERSION ARCH SHA256 SIZE PATH   a packages.debs file
 * Lines starting with '#' are comments. */

#define LOCK_MAX_SIZE (16u << 20)

struct lock_suite {
	const char *mirror, *suite, *sha256, *date;
};

struct lock_set {
	char *text;
	const char *version, *arch, *seed;
	bool has_sde;
	long long sde;
	struct lock_suite *suites;
	size_t n_suites;
	struct pkg *pkgs;
	size_t n_pkgs;
};

static struct lock_set *lock_set_free(struct lock_set *l)
{
	if (!l)
		return NULL;
	free(l->text);
	free(l->suites);
	free(l->pkgs);
	free(l);
	return NULL;
}

/* Cuts `line` into at most max fields at single spaces; the last takes the rest. */
static size_t lock_fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (line && n < max) {
		f[n++] = line;
		if (n == max)
			break;
		line = strchr(line, ' ');
		if (line)
			*line++ = 0;
	}
	return n;
}

static bool is_sha256(const char *h)
{
	return strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64;
}

static int lock_parse_number(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || !*s || *end || *s == '-' || *ret > max ? -EINVAL : 0;
}

static int lock_load(const char *path, struct lock_set **ret)
{
	struct lock_set *l = xcalloc(1, sizeof(*l));
	char *line, *save = NULL;
	size_t size = 0;
	unsigned lineno = 0;
	int r;

	r = read_file(path, LOCK_MAX_SIZE, &l->text, &size);
	if (r < 0) {
		lock_set_free(l);
		return log_errno(r, "--locked: cannot read '%s'", path);
	}
	for (line = l->text; line && *line; line = save) {
		char *f[8];
		size_t n;
		unsigned long long v;

		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		lineno++;
		if (!*line || *line == '#')
			continue;
		/* The last field of each kind of line may hold spaces. */
		n = strcspn(line, " ");
		n = lock_fields(line, f,
				n == 5 && startswith(line, "suite ")   ? 6 :
				n == 7 && startswith(line, "package ") ? 8 :
				n == 5 && startswith(line, "local ")   ? 7 :
									 2);
		if (streq(f[0], "mkbootmedia") && n == 2) {
			l->version = f[1];
		} else if (streq(f[0], "architecture") && n == 2) {
			l->arch = f[1];
		} else if (streq(f[0], "seed") && n == 2) {
			l->seed = f[1];
		} else if (streq(f[0], "source-date-epoch") && n == 2 &&
			   lock_parse_number(f[1], UINT32_MAX, &v) == 0) {
			l->has_sde = true;
			l->sde = (long long)v;
		} else if (streq(f[0], "suite") && n == 6 &&
			   lock_parse_number(f[1], 1000, &v) == 0 && v == l->n_suites &&
			   (is_sha256(f[4]) || streq(f[4], "-"))) {
			l->suites = xrealloc(l->suites, (l->n_suites + 1) * sizeof(*l->suites));
			l->suites[l->n_suites++] = (struct lock_suite){ f[2], f[3], f[4], f[5] };
		} else if ((streq(f[0], "package") && n == 8) || (streq(f[0], "local") && n == 7)) {
			bool local = streq(f[0], "local");
			struct pkg *k;
			unsigned long long bytes, src = 0;

			if (!is_sha256(f[4]) ||
			    lock_parse_number(f[5], UINT64_MAX / 2, &bytes) < 0 ||
			    (!local &&
			     (lock_parse_number(f[6], 1000, &src) < 0 || src >= l->n_suites ||
			      strstr(f[7], "..") || f[7][0] == '/')))
				goto bad;
			l->pkgs = xrealloc(l->pkgs, (l->n_pkgs + 1) * sizeof(*l->pkgs));
			k = &l->pkgs[l->n_pkgs++];
			*k = (struct pkg){ .name = f[1],
					   .version = f[2],
					   .arch = f[3],
					   .sha256 = f[4],
					   .size = bytes,
					   .source = (unsigned)src };
			if (local)
				k->local_path = f[6];
			else
				k->filename = f[7];
		} else {
			goto bad;
		}
	}
	if (!l->version || !l->arch || !l->n_pkgs) {
		r = log_fail("--locked: '%s' is not a lock file written by mkbootmedia --lock (no "
			     "%s line)",
			     path,
			     !l->version ? "mkbootmedia" :
			     !l->arch    ? "architecture" :
					   "package");
		lock_set_free(l);
		return r;
	}
	*ret = l;
	return 0;
bad:
	lock_set_free(l);
	return log_fail("--locked: %s:%u: not a line of a lock file (write one with --lock)", path,
			lineno);
}

/* The lock's seed and time must be this build's: the same inputs make the same image. */
static int lock_check(struct build *b, struct packages_priv *p, const char *path)
{
	const struct lock_set *l = p->locked;

	if (!streq(l->version, MKBOOTMEDIA_VERSION))
		log_warn("--locked: '%s' was written by mkbootmedia %s, this is %s: the image "
			 "may differ",
			 path, l->version, MKBOOTMEDIA_VERSION);
	if (!streq(l->arch, p->arch))
		return log_fail("--locked: '%s' locks architecture %s, the recipe asks for %s",
				path, l->arch, p->arch);
	if (!streq_ptr(l->seed, b->seed))
		return log_fail("--locked: '%s' was made with %s%s%s, this build has %s%s%s: use "
				"the same seed (--seed or image.seed)",
				path, l->seed ? "seed '" : "no seed", l->seed ? l->seed : "",
				l->seed ? "'" : "", b->seed ? "seed '" : "no seed",
				b->seed ? b->seed : "", b->seed ? "'" : "");
	if (l->has_sde && (!b->clamp_mtime || (long long)b->now != l->sde))
		return log_fail("--locked: '%s' was made with SOURCE_DATE_EPOCH=%lld: set it to "
				"that to build the same image",
				path, l->sde);
	return 0;
}

/* The set the lock names, in place of resolving the indices. */
static void lock_use(struct packages_priv *p)
{
	const struct lock_set *l = p->locked;

	p->pkgs = xcalloc(l->n_pkgs + 1, sizeof(*p->pkgs));
	for (size_t i = 0; i < l->n_pkgs; i++)
		p->pkgs[i] = &l->pkgs[i];
	p->n_pkgs = l->n_pkgs;
}

static const char *pkg_mirror(const struct packages_priv *p, const struct pkg *k)
{
	return p->locked ? p->locked->suites[k->source].mirror : p->suites[k->source].mirror;
}

/* A suite's signed Release file as the fetcher cached it (lib/fetch.c keeps a file fetched
 * without a hash as <cache>/url/<the URL, %-escaped>): its SHA-256 and Date, "-" when not
 * cached (a file:// mirror without InRelease, a name too long to be kept as is). */
static void lock_release(const char *cache, const char *mirror, const char *suite,
			 char sha[static 65], char **ret_date)
{
	static const char *const names[] = { "InRelease", "Release" };

	strcpy(sha, "-");
	*ret_date = xstrdup("-");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *url = xasprintf("%s/dists/%s/%s", mirror, suite, names[i]);
		_cleanup_free_ char *text = NULL;
		struct strbuf path = { 0 };
		size_t size = 0;
		const char *d;

		strbuf_adds(&path, cache);
		strbuf_adds(&path, "/url/");
		for (const char *c = url; *c; c++) {
			char esc[4];

			if (isalnum((unsigned char)*c) || strchr(".-_", *c)) {
				strbuf_add(&path, c, 1);
			} else {
				snprintf(esc, sizeof(esc), "%%%02X", (unsigned char)*c);
				strbuf_adds(&path, esc);
			}
		}
		if (read_file(path.s, 64 << 20, &text, &size) < 0 || sha256_file(path.s, sha) < 0) {
			free(path.s);
			strcpy(sha, "-");
			continue;
		}
		free(path.s);
		for (d = text; d; d = strchr(d, '\n') ? strchr(d, '\n') + 1 : NULL) {
			if (startswith(d, "Date: ")) {
				free(*ret_date);
				*ret_date = xstrndup(d + 6, strcspn(d + 6, "\n"));
				break;
			}
		}
		return;
	}
}

/* Writes the lock next to its name; cleanup renames it into place once the build succeeded. */
static int lock_write(struct build *b, struct packages_priv *p, const char *cache)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	_cleanup_close_ int fd = -1;
	int r;

	fprintf(f,
		"# mkbootmedia lock file: the exact inputs of a build of '%s'.\n"
		"# 'mkbootmedia --locked FILE' installs exactly these packages, verified by "
		"hash.\n",
		b->recipe_path);
	fprintf(f, "mkbootmedia %s\narchitecture %s\n", MKBOOTMEDIA_VERSION, p->arch);
	if (b->clamp_mtime)
		fprintf(f, "source-date-epoch %lld\n", (long long)b->now);
	if (b->seed)
		fprintf(f, "seed %s\n", b->seed);
	for (size_t i = 0; use_mirror(p) && i < p->n_suites; i++) {
		const struct lock_suite *ls = p->locked ? &p->locked->suites[i] : NULL;
		const char *mirror = ls ? ls->mirror : p->suites[i].mirror;
		const char *suite = ls ? ls->suite : p->suites[i].suite;
		_cleanup_free_ char *date = NULL;
		char sha[65];

		if (p->locked && i >= p->locked->n_suites)
			break;
		if (ls) {
			snprintf(sha, sizeof(sha), "%s", ls->sha256);
			date = xstrdup(ls->date);
		} else {
			lock_release(cache, mirror, suite, sha, &date);
		}
		fprintf(f, "suite %zu %s %s %s %s\n", i, mirror, suite, sha, date);
	}
	for (size_t i = 0; i < p->n_pkgs; i++) {
		const struct pkg *k = p->pkgs[i];
		char sha[65];

		if (k->local_path) {
			r = sha256_file(k->local_path, sha);
			if (r < 0) {
				fclose(f);
				return log_errno(r, "--lock: cannot read '%s'", k->local_path);
			}
			fprintf(f, "local %s %s %s %s %" PRIu64 " %s\n", k->name, k->version,
				k->arch, sha, pkg_size(k), k->local_path);
		} else {
			fprintf(f, "package %s %s %s %s %" PRIu64 " %u %s\n", k->name, k->version,
				k->arch, k->sha256, k->size, k->source, k->filename);
		}
	}
	fclose(f);
	if (strchr(b->seed ? b->seed : "", '\n'))
		return log_fail("--lock: the seed holds a newline, which a lock file cannot");
	p->lock_tmp = xasprintf("%s.XXXXXX", b->lock_path);
	fd = mkostemp(p->lock_tmp, O_CLOEXEC);
	if (fd < 0) {
		r = log_errno(errno, "--lock: cannot write '%s'", b->lock_path);
		free(p->lock_tmp);
		p->lock_tmp = NULL;
		return r;
	}
	(void)fchmod(fd, 0644);
	r = pwrite_all(fd, text, len, 0);
	if (r < 0)
		return log_errno(r, "--lock: cannot write '%s'", p->lock_tmp);
	return 0;
}

/* A locked local .deb must still be the file that was locked. */
static int lock_check_local(const struct pkg *k)
{
	char sha[65];
	int r = sha256_file(k->local_path, sha);

	if (r < 0)
		return log_errno(r, "--locked: package '%s' %s: cannot read '%s'", k->name,
				 k->version, k->local_path);
	if (!streq(sha, k->sha256))
		return log_fail("--locked: package '%s' %s: '%s' has SHA-256 %s, the lock says "
				"%s: it is not the file that was locked",
				k->name, k->version, k->local_path, sha, k->sha256);
	return 0;
}

/* Every stage succeeded: the lock takes its name. */
static void packages_cleanup(struct build *b, void *priv, bool failed)
{
	struct packages_priv *p = priv;

	if (!p || !p->lock_tmp)
		return;
	if (!failed && rename(p->lock_tmp, b->lock_path) < 0)
		log_error("--lock: cannot write '%s': %s", b->lock_path, strerror(errno));
	else if (!failed)
		log_info("lock file '%s': %zu packages", b->lock_path, b->n_packages);
	if (failed)
		unlink(p->lock_tmp);
	free(p->lock_tmp);
	p->lock_tmp = NULL;
}

static int packages_verify(struct build *b, void *priv)
{
	struct packages_priv *p = priv;
	int r;

	if (b->locked_path) {
		r = lock_load(b->locked_path, &p->locked);
		if (r >= 0)
			r = lock_check(b, p, b->locked_path);
		if (r < 0)
			return r;
		return 0; /* the lock's hashes are what packages are verified with */
	}

	if (!use_mirror(p))
		return 0;
	for (size_t i = 0; i < p->n_suites; i++) {
		const struct node *k = node_get(p->suites[i].node, "keyring");

		if (access(p->suites[i].keyring, R_OK) < 0)
			return node_error(k ? k : p->suites[i].node,
					  "keyring '%s': %s (install debian-archive-keyring, or "
					  "name the keyring: key)", p->suites[i].keyring,
					  strerror(errno));
	}
	return 0;
}

static int default_cache(char **ret)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (x && x[0] == '/')
		*ret = xasprintf("%s/mkbootmedia", x);
	else if (home && home[0] == '/')
		*ret = xasprintf("%s/.cache/mkbootmedia", home);
	else
		return log_fail("no cache directory: set XDG_CACHE_HOME or HOME, or use --cache DIR");
	return 0;
}

static int load_local(struct packages_priv *p, unsigned source)
{
	for (size_t i = 0; i < p->n_debs; i++) {
		struct local_deb *l = &p->debs[i];
		/* a FIFO named x.deb in a debs directory must not block check */
		_cleanup_close_ int fd = open_regular(l->path, 0, NULL);
		struct deb *d = NULL;
		const struct deb_member *c;
		struct deb822 *ctl = NULL;
		int r;

		if (fd == -EINVAL || fd == -EISDIR)
			return node_error(l->node, "'%s' is not a regular file", l->path);
		if (fd < 0)
			return node_error(l->node, "cannot open '%s': %s", l->path, strerror(-fd));
		r = deb_open(fd, l->path, 1, &d);
		if (r < 0) {
			r = node_error(l->node, "'%s': %s", l->path, deb_error(d));
			deb_close(d);
			return r;
		}
		c = deb_control(d, "control");
		if (c) {
			_cleanup_free_ char *what = xasprintf("control of '%s'", l->path);

			r = deb822_parse(xstrndup(c->data, c->size), c->size, what, &ctl);
		}
		deb_close(d);
		if (!c || r < 0 || ctl->n_stanzas != 1) {
			deb822_free(ctl);
			return node_error(l->node, "'%s': the control file is not one stanza",
					  l->path);
		}
		r = pkgdb_add_local(p->db, ctl, l->path, source);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_kernel(struct build *b, struct packages_priv *p)
{
	const struct node *why_node;
	const char *why;

	/* Said now rather than after every .deb is unpacked. */
	if ((why_node = build_kernel_needed(b, &why))) {
		bool kernel = false;

		for (size_t i = 0; i < p->n_pkgs && !kernel; i++)
			kernel = startswith(p->pkgs[i]->name, "linux-image-");
		if (!kernel)
			return node_error(why_node,
					  "%s, but no kernel is in the package set: add "
					  "linux-image-amd64 (or another linux-image-*) to "
					  "packages.include",
					  why);
	}
	return 0;
}

/* --locked: the lock's set, fetched from its mirrors (no index is read). */
static int lock_prepare(struct build *b, struct packages_priv *p)
{
	_cleanup_free_ char *cache = NULL;
	int r;

	if (p->locked->n_suites) {
		if (b->cache_dir)
			cache = xstrdup(b->cache_dir);
		else if ((r = default_cache(&cache)) < 0)
			return r;
		r = fetcher_new(cache, b->offline, 4, &p->fetcher);
		if (r < 0)
			return r;
	}
	lock_use(p);
	r = check_kernel(b, p);
	if (r < 0)
		return r;
	p->prepared = true;
	return 0;
}

struct add_index_ctx {
	struct pkgdb *db;
	unsigned source;
};

static int add_index(char *text, size_t len, const char *what, void *userdata)
{
	struct add_index_ctx *c = userdata;

	return pkgdb_add_index_text(c->db, text, len, c->source, what);
}

/* Fetches and verifies the indices, then resolves the package set (for plan and run). */
static int prepare(struct build *b, struct packages_priv *p)
{
	struct resolve_opts ro = {
		.variant = p->variant,
		.include = p->include,
		.provides = p->provides,
		.prefer = p->prefer,
	};
	_cleanup_strv_free_ char **exclude = NULL;
	_cleanup_free_ char *cache = NULL;
	int r;

	if (p->prepared)
		return 0;
	if (p->locked)
		return lock_prepare(b, p);
	p->db = pkgdb_new(p->arch);
	if (use_mirror(p)) {
		if (b->cache_dir)
			cache = xstrdup(b->cache_dir);
		else if ((r = default_cache(&cache)) < 0)
			return r;
		r = fetcher_new(cache, b->offline, 4, &p->fetcher);
		if (r < 0)
			return r;
		for (size_t i = 0; i < p->n_suites; i++) {
			struct suite *s = &p->suites[i];
			struct add_index_ctx ctx = { .db = p->db, .source = (unsigned)i };
			struct repo_opts o = {
				.mirror = s->mirror,
				.suite = s->suite,
				.components = s->components,
				.arch = p->arch,
				.keyring = s->keyring,
				.ignore_valid_until = !p->check_valid_until,
				/* straight into the package set, stanza by stanza */
				.add_index = add_index,
				.userdata = &ctx,
			};
			struct deb822 **idx = NULL;
			size_t n_idx = 0;

			r = repo_load(p->fetcher, &o, &idx, &n_idx);
			if (r < 0)
				return r;
		}
	}
	r = load_local(p, (unsigned)p->n_suites);
	if (r < 0)
		return r;

	/* Unknown includes are named at their place in the recipe. */
	for (size_t i = 0; p->include && p->include[i]; i++)
		if (!pkgdb_known(p->db, p->include[i]))
			return node_error(p->include_nodes[i], "no package '%s' in %s",
					  p->include[i],
					  use_mirror(p) ? "the package lists" : "the local debs");

	for (char **e = p->exclude; e && *e; e++)
		exclude = strv_append(exclude, *e);
	/* The layout is made here, so the package that would convert a root must not be. */
	if (p->merged_usr && !strv_contains(p->include, "usrmerge"))
		exclude = strv_append(exclude, "usrmerge");
	ro.exclude = exclude;
	r = resolve(p->db, &ro, &p->pkgs, &p->n_pkgs);
	if (r < 0)
		return r;
	if (!p->n_pkgs)
		return node_error(p->node, "nothing to install: variant: none installs only what "
				  "include: names (debs: are candidates, not an install list)");
	r = check_kernel(b, p);
	if (r < 0)
		return r;
	p->prepared = true;
	return 0;
}

/* Index packages carry their Size; a local one is measured. */
static uint64_t pkg_size(const struct pkg *k)
{
	struct stat st;

	if (k->size || !k->local_path || stat(k->local_path, &st) < 0)
		return k->size;
	return (uint64_t)st.st_size;
}

static int packages_plan(struct build *b, void *priv, FILE *out)
{
	struct packages_priv *p = priv;
	uint64_t dl = 0, inst = 0;
	char s1[32], s2[32];
	int r = prepare(b, p);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_pkgs; i++) {
		dl += pkg_size(p->pkgs[i]);
		inst += p->pkgs[i]->installed_size * 1024;
	}
	if (use_mirror(p))
		fprintf(out, "packages: %zu from %s %s (%s), %s of .debs, %s installed\n",
			p->n_pkgs, p->suites[0].mirror, p->suites[0].suite, p->arch,
			format_bytes(s1, dl), format_bytes(s2, inst));
	else
		fprintf(out, "packages: %zu from local debs (%s), %s of .debs, %s installed\n",
			p->n_pkgs, p->arch, format_bytes(s1, dl), format_bytes(s2, inst));
	for (size_t i = 0; i < p->n_pkgs; i++) {
		const struct pkg *k = p->pkgs[i];

		fprintf(out, "  %-40s %-28s %-6s %10s%s\n", k->name, k->version, k->arch,
			format_bytes(s1, pkg_size(k)), k->local_path ? "  (local)" : "");
	}
	/* dpkg's filters as the unpack applies them (merged-usr twins included), one per
	 * line, outside the package table that scripts read. */
	for (char **g = p->path_exclude; g && *g; g++)
		fprintf(out, "path-exclude %s\n", *g);
	for (char **g = p->path_include; g && *g; g++)
		fprintf(out, "path-include %s\n", *g);
	return 0;
}

/* /bin -> usr/bin and friends, as debootstrap's setup_merged_usr makes them. */
static int make_merged_usr(struct build *b, const char *arch)
{
	static const struct {
		const char *arch, *dirs;
	} extra[] = {
		{ "amd64", "lib32 lib64 libx32" }, { "i386", "lib64 libx32" },
		{ "mips64el", "lib32 lib64 libo32" }, { "ppc64el", "lib64" },
		{ "s390x", "lib32" }, { "x32", "lib32 lib64 libx32" },
	};
	struct tree_attr a = { .mode = 0755, .mtime = b->now };
	_cleanup_free_ char *dirs = xstrdup("bin sbin lib");
	char *save = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		if (streq(arch, extra[i].arch)) {
			free(dirs);
			dirs = xasprintf("bin sbin lib %s", extra[i].dirs);
		}
	}
	for (char *d = strtok_r(dirs, " ", &save); d; d = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *usr = xasprintf("/usr/%s", d), *link = xasprintf("/%s", d);
		_cleanup_free_ char *target = xasprintf("usr/%s", d);
		int r;

		if ((r = tree_mkdir(b->tree, usr, &a)) < 0 ||
		    (r = tree_symlink(b->tree, link, target, &a)) < 0)
			return r;
	}
	return 0;
}

/* The seed's equivs package, for real: an installed package "mkbootmedia-provides" that
 * Provides what the recipe's provides: names, so that dpkg and apt in the image see those
 * dependencies satisfied (apt would otherwise install initramfs-tools at the first
 * apt-get install). */
static int write_provides(struct build *b, struct packages_priv *p)
{
	struct tree_attr a = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *status = NULL, *out = NULL;
	size_t size = 0, len = 0;
	FILE *f;
	int r;

	r = tree_read(b->tree, "/var/lib/dpkg/status", 64 << 20, &status, &size);
	if (r < 0)
		return log_errno(r, "cannot read /var/lib/dpkg/status");
	f = open_memstream(&out, &len);
	fputs(status, f);
	if (size && status[size - 1] != '\n')
		fputc('\n', f);
	if (size)
		fputc('\n', f);
	fprintf(f, "Package: mkbootmedia-provides\nStatus: install ok installed\n"
		"Priority: optional\nSection: misc\nInstalled-Size: 0\n"
		"Maintainer: mkbootmedia <mkbootmedia@localhost>\nArchitecture: all\n"
		"Version: 1\nProvides: ");
	for (size_t i = 0; p->provides[i]; i++)
		fprintf(f, "%s%s", i ? ", " : "", p->provides[i]);
	fputs("\nDescription: what this image provides without packages (mkbootmedia)\n"
	      " Written by mkbootmedia for its recipe's packages.provides, as the equivs package\n"
	      " of a hand-made system would be.\n", f);
	fclose(f);
	if ((r = tree_write(b->tree, "/var/lib/dpkg/status", &a, out, len)) < 0 ||
	    (r = tree_write(b->tree, "/var/lib/dpkg/info/mkbootmedia-provides.list", &a, "/.\n",
			    3)) < 0 ||
	    (r = tree_write(b->tree, "/var/lib/dpkg/info/mkbootmedia-provides.md5sums", &a, "",
			    0)) < 0)
		return log_errno(r, "cannot record the provided packages in the dpkg database");
	return 0;
}

/* The recipe's path filters for what dpkg installs later on the running system (a kernel
 * apt brings): the globs the unpack applied, merged-usr twins included, as dpkg's own
 * configuration. dpkg lets the last matching line decide, so the excludes come first and the
 * includes after them, as unpack_path_skipped() applies them. */
static int write_dpkg_filters(struct build *b, const struct packages_priv *p)
{
	const struct tree_attr a = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!strv_length(p->path_exclude) && !strv_length(p->path_include))
		return 0;
	f = open_memstream(&text, &len);
	fputs("# Written by mkbootmedia from the recipe's packages.path-exclude and path-include\n"
	      "# (with merged-usr, a glob under /bin, /sbin or /lib* is also given under /usr, and\n"
	      "# the other way round): the build unpacked its packages with these filters, and\n"
	      "# dpkg applies them to every package installed later. The last matching line\n"
	      "# decides. Edit the recipe and rebuild rather than this file.\n",
	      f);
	for (char **g = p->path_exclude; g && *g; g++)
		fprintf(f, "path-exclude=%s\n", *g);
	for (char **g = p->path_include; g && *g; g++)
		fprintf(f, "path-include=%s\n", *g);
	fclose(f);
	if ((r = tree_write(b->tree, DPKG_FILTERS_PATH, &a, text, len)) < 0)
		return log_errno(r, "cannot write '%s'", DPKG_FILTERS_PATH);
	return 0;
}

static int packages_run(struct build *b, void *priv)
{
	struct packages_priv *p = priv;
	struct unpack_pkg *up = NULL;
	char **paths = NULL, **names = NULL;
	struct unpack_stats st = { 0 };
	_cleanup_free_ char *cache_dir = NULL;
	uint8_t cache_key[DEB_CACHE_KEY_SIZE];
	size_t n;
	uint64_t dl = 0;
	char sz[32];
	int r;

	r = prepare(b, p);
	if (r < 0)
		return r;
	n = p->n_pkgs;
	if (b->configure != CONFIGURE_NONE) {
		bool dpkg = false;

		for (size_t i = 0; i < n; i++)
			dpkg |= streq(p->pkgs[i]->name, "dpkg");
		if (!dpkg && b->configure_node)
			return node_error(b->configure_node, "configure: %s runs dpkg --configure, "
					  "and dpkg is not in the package set (add it to include:, "
					  "or use configure: none)", configure_mode_names[b->configure]);
		if (!dpkg) {
			log_info("no dpkg in the package set: the packages stay unpacked "
				 "(configure: none)");
			b->configure = CONFIGURE_NONE;
		}
	}
	up = xcalloc(n ? n : 1, sizeof(*up));
	b->installed = xcalloc(n ? n : 1, sizeof(*b->installed));
	paths = xcalloc(n + 1, sizeof(*paths));
	names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		const struct pkg *k = p->pkgs[i];

		struct build_package *bp = &b->installed[i];

		names[i] = xstrdup(k->name);
		up[i].name = names[i];
		up[i].size = pkg_size(k);
		*bp = (struct build_package){ xstrdup(k->name), xstrdup(k->version),
					      xstrdup(k->arch),
					      k->source_pkg ? xstrdup(k->source_pkg) : NULL };
		b->n_installed = i + 1;
		if (k->local_path) {
			if (p->locked && (r = lock_check_local(k)) < 0)
				goto out;
			paths[i] = xstrdup(k->local_path);
			up[i].path = paths[i];
			bp->deb_path = xstrdup(k->local_path);
			continue;
		}
		if (!k->filename || !k->sha256 || strstr(k->filename, "..")) {
			r = log_fail("package '%s' %s has no Filename or SHA256 in its index: it "
				     "cannot be verified", k->name, k->version);
			goto out;
		}
		{
			_cleanup_free_ char *url =
				xasprintf("%s/%s", pkg_mirror(p, k), k->filename);

			r = fetcher_add(p->fetcher, url, k->sha256, k->size, &paths[i]);
			if (r < 0)
				goto out;
			bp->deb_path = xstrdup(paths[i]);
			bp->sha256 = xstrdup(k->sha256);
			bp->url = TAKE_PTR(url);
		}
		up[i].path = paths[i];
		up[i].sha256 = bp->sha256; /* b's copy: the index goes before the unpacking */
		dl += k->size;
	}
	if (b->lock_path &&
	    (r = lock_write(b, p, p->fetcher ? fetcher_cache_dir(p->fetcher) : "")) < 0)
		goto out;
	/* The indices (a hundred MiB or more for Debian's main) are not needed any more. */
	free(p->pkgs);
	p->pkgs = NULL;
	p->n_pkgs = 0;
	p->db = pkgdb_free(p->db);
	malloc_trim(0); /* give it back before the decompressors take theirs */
	/* glibc raises its mmap threshold to the size of each mapped block freed, up to 32 MiB:
	 * after the first package's 4 MiB ring or the xz decoder's 24 MiB block buffers, those
	 * came from the worker threads' heaps and stayed there, 60-90 MiB of peak RSS. A fixed
	 * threshold gives every large buffer back to the system when it is freed. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (p->fetcher) {
		log_info("fetching %zu packages (%s)", n, format_bytes(sz, dl));
		r = fetcher_run(p->fetcher);
		if (r < 0)
			goto out;
	}
	if (p->merged_usr && (r = make_merged_usr(b, p->arch)) < 0)
		goto out;
	/* Decoded data members kept for the next build (lib/deb-cache.h). */
	if (p->fetcher && !b->no_unpack_cache) {
		cache_dir = xasprintf("%s/unpack", fetcher_cache_dir(p->fetcher));
		r = deb_cache_key(cache_dir, cache_key);
		if (r < 0) {
			log_debug("no unpack cache: cannot use '%s/key': %s", cache_dir,
				  strerror(-r));
			free(TAKE_PTR(cache_dir));
		}
	}
	{
		struct unpack_opts o = {
			.tree = b->tree,
			.arch = p->arch,
			.path_exclude = p->path_exclude,
			.path_include = p->path_include,
			.clamp_mtime = b->clamp_mtime ? b->now : 0,
			.now = b->now,
			.threads = b->jobs,
			/* As `dpkg --unpack` leaves them, for `dpkg --configure` to install. */
			.conffiles_new = b->configure != CONFIGURE_NONE,
			.cache_dir = cache_dir,
			.cache_key = cache_key,
		};

		r = unpack_debs(&o, up, n, &st);
		if (r < 0)
			goto out;
	}
	if (p->provides && p->provides[0] && (r = write_provides(b, p)) < 0)
		goto out;
	if ((r = write_dpkg_filters(b, p)) < 0)
		goto out;
	b->n_packages = st.packages;
	log_info("unpacked %zu packages: %zu entries (%zu filtered out), %s of files",
		 st.packages, st.entries, st.filtered, format_bytes(sz, st.bytes));
	explicit_bzero(cache_key, sizeof(cache_key));
	if (st.cache_read || st.cache_stored)
		log_debug("unpack cache '%s': %zu read, %zu stored", cache_dir, st.cache_read,
			  st.cache_stored);
	if (st.cache_bad)
		log_warn(
			"%zu decoded packages in the unpack cache '%s' failed their check and were "
			"removed (decoded again instead)",
			st.cache_bad, cache_dir);
out:
	strv_free(paths);
	strv_free(names);
	free(up);
	return r;
}

/* system.init, published by the configure stage's parse, adds the packages it needs. */
static int packages_settle(struct build *b, void *priv)
{
	struct packages_priv *p = priv;

	if (!p)
		return 0;
	for (size_t i = 0; b->init != INIT_UNSET && i < ARRAY_SIZE(init_packages[0]); i++) {
		const char *pkg = init_packages[b->init][i];
		size_t k;

		if (!pkg || strv_contains(p->include, pkg))
			continue;
		k = strv_length(p->include);
		p->include = strv_append(p->include, pkg);
		p->include_nodes = xrealloc(p->include_nodes, (k + 2) * sizeof(*p->include_nodes));
		p->include_nodes[k] = b->init_node; /* a missing package is said at system.init */
		p->include_nodes[k + 1] = NULL;
	}
	b->packages_include = p->include;
	return 1;
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key packages_key_table[] = {
	{ "packages", "map", NULL, NULL, "a Debian root from verified .debs (optional)" },
	{ "packages.suite", "string", "trixie", NULL,
	  "the suite or codename (keep codenames: bookworm, trixie, sid)" },
	{ "packages.mirror", "string", "http://deb.debian.org/debian", NULL,
	  "http://, https:// or file://; none: no repository, packages come from debs only" },
	{ "packages.components", "list", "[main]", NULL, "the archive components" },
	{ "packages.architecture", "string", "amd64", NULL, "the target's dpkg architecture" },
	{ "packages.keyring", "path", "Debian's archive keyring", NULL,
	  "binary OpenPGP keyring InRelease must be signed with" },
	{ "packages.variant", "enum", "minbase", variant_names,
	  "as debootstrap: required, minbase (required plus apt), important; none: no base set, "
	  "only include and what it depends on" },
	{ "packages.include", "list", "none", NULL, "more packages, with their dependencies" },
	{ "packages.exclude", "list", "none", NULL,
	  "never installed, even when depended on (debootstrap --exclude)" },
	{ "packages.provides", "list", "none", NULL,
	  "virtual package names taken as present (the seed's equivs trick)" },
	{ "packages.prefer", "list", "none", NULL,
	  "packages chosen over earlier alternatives of a dependency (systemd-standalone-sysusers "
	  "over systemd)" },
	{ "packages.debs", "list", "none", NULL,
	  "local .deb files or directories of them: candidates preferred over the mirror's, "
	  "installed when include names them or a package depends on them; not signature-checked" },
	{ "packages.path-exclude", "list", "none", NULL,
	  "dpkg's --path-exclude globs (* also matches /), also set for the image's dpkg" },
	{ "packages.path-include", "list", "none", NULL,
	  "dpkg's --path-include globs, applied after the excludes" },
	{ "packages.extra-suites", "list", "SUITE-updates, SUITE-security", NULL,
	  "more suites: a name on the same mirror, or {suite, mirror, components, keyring}; the "
	  "list replaces the default (none for sid, unstable and file:// mirrors), [] turns it "
	  "off" },
	{ "packages.extra-suites[].suite", "string", "required", NULL, "the suite" },
	{ "packages.extra-suites[].mirror", "string", "packages.mirror", NULL, "its mirror" },
	{ "packages.extra-suites[].components", "list", "packages.components", NULL,
	  "its components" },
	{ "packages.extra-suites[].keyring", "path", "packages.keyring", NULL, "its keyring" },
	{ "packages.check-valid-until", "bool", "true", NULL,
	  "false: a Release past its Valid-Until is used, with a warning (a frozen mirror, a "
	  "snapshot)" },
	{ "packages.merged-usr", "bool", "true", NULL,
	  "/bin, /sbin, /lib* as symlinks into /usr, as debootstrap makes them" },
	{ "packages.configure", "enum", "auto", configure_mode_names,
	  "how the maintainer scripts run: userns, vm, first-boot, none (unpacked only); auto: "
	  "userns when this host allows it, else vm" },
	{ NULL },
};

const struct stage stage_packages = {
	.name = "packages",
	.key_table = packages_key_table,
	.summary = "a Debian root unpacked from verified .deb files",
	.parse = packages_parse,
	.settle = packages_settle,
	.verify = packages_verify,
	.plan = packages_plan,
	.run = packages_run,
	.cleanup = packages_cleanup,
	.free = packages_free,
};
