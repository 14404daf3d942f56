/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel module resolution. The modules are indexed once, by name (from modules.dep, else
 * from a sorted walk of the tree); everything else (a module's .modinfo, its full
 * dependency list, the alias table) is read or computed the first time it is needed, so a
 * kernel without modules.dep costs a directory walk plus the modules actually selected.
 * Load order follows libkmod's probe list: for a module, its dependencies from the end of
 * its modules.dep line (each with its own soft dependencies), then its "pre:" soft
 * dependencies, the module, its "post:" soft dependencies. */
#include "kmod.h"

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <elf.h>
#include <fnmatch.h>
#include <stddef.h>

#include "log.h"

#define MODULES_MAX 65536 /* module files in one tree; Debian's 6.1 has about 4000 */
#define WALK_DEPTH_MAX 32
#define NONE SIZE_MAX

enum comp { COMP_NONE, COMP_XZ, COMP_ZST, COMP_GZ };

static const struct {
	const char *suffix;
	const char *name;
} comps[] = {
	[COMP_NONE] = { ".ko", "none" },
	[COMP_XZ] = { ".ko.xz", "xz" },
	[COMP_ZST] = { ".ko.zst", "zstd" },
	[COMP_GZ] = { ".ko.gz", "gzip" },
};

enum visit_state { NOT_SEEN, VISITING, DONE };

struct module {
	char *name;        /* normalised */
	char *path;        /* relative to moddir, as in the tree */
	char *initrd_path; /* the same ending in ".ko" */
	enum comp comp;
	bool updates; /* under updates/: wins over other files of its name */
	size_t order; /* position in modules.dep or in the walk: the tie-breaker for duplicates */

	char *dep_line;  /* modules.dep: the dependency paths after ':'; NULL without it */
	char **softdeps; /* "pre: a b post: c" values, from modules.softdep or softdep= */

	bool info_read; /* .modinfo read: depends, aliases, and softdeps unless from the file */
	char **depends; /* depends= names, normalised */
	char **aliases; /* alias= patterns, normalised */

	bool deps_known;
	size_t *deps; /* every dependency, module indices in depmod's order */
	size_t n_deps;

	enum visit_state state;
	size_t sel; /* position in the selection, NONE when not selected */
};

struct alias {
	char *pattern; /* normalised */
	size_t mod;    /* module index; NONE for a built-in one */
};

struct sel {
	size_t mod;
	size_t *deps; /* selection indices */
	size_t n_deps;
};

struct kmod {
	struct kmod_io io;
	char *moddir, *version;

	struct module *mods; /* sorted by name */
	size_t n_mods;
	char **builtin; /* normalised names, sorted */
	size_t n_builtin;
	bool have_dep, have_softdep;

	bool aliases_loaded, builtin_aliases_loaded;
	struct alias *aliases, *builtin_aliases;
	size_t n_aliases, n_builtin_aliases;

	struct sel *sel;
	size_t n_sel;
};

static int fail(int r, const char *fmt, ...) _printf_(2, 3);
static int fail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msgv(LOG_ERR, fmt, ap);
	va_end(ap);
	return r;
}

/* Appends to a list of *len strings; the caller keeps the length, so appending is linear. */
static char **strv_push(char **l, size_t *len, const char *s, size_t n)
{
	/* Room for *len + 2 pointers, doubled whenever *len + 1 reaches a power of two. */
	if ((*len & (*len + 1)) == 0)
		l = xrealloc(l, (*len + 1) * 2 * sizeof(char *));
	l[(*len)++] = xstrndup(s, n);
	l[*len] = NULL;
	return l;
}

/* ---- names and paths ---- */

/* The kernel's rule: '-' and '_' are the same character in module names. */
static char *name_normalize(const char *s, size_t n)
{
	char *r = xstrndup(s, n);

	for (char *p = r; *p; p++)
		if (*p == '-')
			*p = '_';
	return r;
}

/* Aliases too, except inside a glob's brackets (as libkmod's alias_normalize). */
static char *alias_normalize(const char *s)
{
	char *r = xstrdup(s);
	bool bracket = false;

	for (char *p = r; *p; p++) {
		if (*p == '[')
			bracket = true;
		else if (*p == ']')
			bracket = false;
		else if (*p == '-' && !bracket)
			*p = '_';
	}
	return r;
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Whether a file name is a module's: the length of its name part and its compression, or
 * 0 when it is not a module file. */
static size_t module_suffix(const char *file, enum comp *ret_comp)
{
	size_t n = strlen(file);

	for (size_t c = 0; c < ARRAY_SIZE(comps); c++) {
		size_t s = strlen(comps[c].suffix);

		if (n > s && streq(file + n - s, comps[c].suffix)) {
			*ret_comp = c;
			return n - s;
		}
	}
	return 0;
}

/* A module path of modules.dep: relative, no empty, "." or ".." component, printable. */
static bool dep_path_ok(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	for (const char *c = p; c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = e ? e + 1 : NULL;
	}
	return true;
}

static char *initrd_path_of(const char *path, enum comp c)
{
	size_t n = strlen(path) - strlen(comps[c].suffix);

	return xasprintf("%.*s.ko", (int)n, path);
}

static int module_cmp(const void *a, const void *b)
{
	const struct module *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	if (x->updates != y->updates)
		return x->updates ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t find_module(const struct kmod *k, const char *name)
{
	size_t lo = 0, hi = k->n_mods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, k->mods[mid].name);

		if (r == 0)
			return mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NONE;
}

static bool is_builtin(const struct kmod *k, const char *name)
{
	return k->n_builtin &&
	       bsearch(&name, k->builtin, k->n_builtin, sizeof(char *), str_cmp) != NULL;
}

/* Splits on any of `sep`, skipping empty fields. */
static char **split(const char *s, const char *sep)
{
	char **l = NULL;
	size_t len = 0;

	while (*s) {
		size_t n = strcspn(s, sep);

		if (n)
			l = strv_push(l, &len, s, n);
		s += n;
		s += strspn(s, sep);
	}
	return l;
}

/* ---- reading ---- */

static char *full_path(const struct kmod *k, const char *rel)
{
	return *rel ? xasprintf("%s/%s", k->moddir, rel) : xstrdup(k->moddir);
}

/* An index file of moddir; *ret_data is NULL when it is absent. */
static int read_index(struct kmod *k, const char *file, char **ret_data, size_t *ret_size)
{
	_cleanup_free_ char *path = full_path(k, file);
	char *data = NULL;
	size_t size = 0;
	int r;

	r = k->io.read(k->io.userdata, path, KMOD_INDEX_MAX, &data, &size);
	if (r == -ENOENT) {
		log_debug("no '%s'", path);
		*ret_data = NULL;
		*ret_size = 0;
		return 0;
	}
	if (r == -EFBIG)
		return fail(-EFBIG, "'%s' is larger than %llu MiB", path,
			    (unsigned long long)(KMOD_INDEX_MAX >> 20));
	if (r < 0)
		return log_errno(r, "cannot read '%s'", path);
	*ret_data = data;
	*ret_size = size;
	return 0;
}

static const char *archive_msg(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown libarchive error";
}

static int support_filter(struct archive *a, enum comp c)
{
	switch (c) {
	case COMP_XZ:
		return archive_read_support_filter_xz(a);
	case COMP_ZST:
		return archive_read_support_filter_zstd(a);
	case COMP_GZ:
		return archive_read_support_filter_gzip(a);
	default:
		return ARCHIVE_FATAL;
	}
}

static int filter_code(enum comp c)
{
	switch (c) {
	case COMP_XZ:
		return ARCHIVE_FILTER_XZ;
	case COMP_ZST:
		return ARCHIVE_FILTER_ZSTD;
	case COMP_GZ:
		return ARCHIVE_FILTER_GZIP;
	default:
		return ARCHIVE_FILTER_NONE;
	}
}

static int decompress(const char *path, enum comp c, const char *in, size_t n, char **ret_data,
		      size_t *ret_size)
{
	struct archive *a = archive_read_new();
	_cleanup_free_ char *out = NULL;
	struct archive_entry *e;
	size_t size = 0, cap = 0;
	int r;

	if (!a)
		return log_errno(ENOMEM, "cannot decompress '%s'", path);
	if (support_filter(a, c) < ARCHIVE_WARN) {
		r = fail(-EOPNOTSUPP, "cannot decompress '%s': this libarchive has no %s support",
			 path, comps[c].name);
		goto out;
	}
	archive_read_support_format_raw(a);
	r = archive_read_open_memory(a, in, n);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_EOF) {
		r = fail(-EBADMSG, "'%s' is empty once decompressed", path);
		goto out;
	}
	if (r != ARCHIVE_OK) {
		r = fail(-EBADMSG, "cannot decompress '%s': %s", path, archive_msg(a));
		goto out;
	}
	if (archive_filter_code(a, 0) != filter_code(c)) {
		r = fail(-EBADMSG, "cannot decompress '%s': not %s data", path, comps[c].name);
		goto out;
	}
	for (;;) {
		ssize_t k;

		if (cap - size < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if (cap > KMOD_FILE_MAX + 1)
				cap = KMOD_FILE_MAX + 1;
			out = xrealloc(out, cap + 1);
		}
		k = archive_read_data(a, out + size, cap - size);
		if (k < 0) {
			r = fail(-EBADMSG, "cannot decompress '%s': %s", path, archive_msg(a));
			goto out;
		}
		if (k == 0)
			break;
		size += (size_t)k;
		if (size > KMOD_FILE_MAX) {
			r = fail(-EFBIG, "'%s' is larger than %llu MiB once decompressed", path,
				 (unsigned long long)(KMOD_FILE_MAX >> 20));
			goto out;
		}
	}
	out = xrealloc(out, size + 1);
	out[size] = 0;
	*ret_data = TAKE_PTR(out);
	*ret_size = size;
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* A module file's bytes, decompressed. */
static int module_read(struct kmod *k, const struct module *m, char **ret_data, size_t *ret_size)
{
	_cleanup_free_ char *path = full_path(k, m->path), *data = NULL;
	size_t size = 0;
	int r;

	r = k->io.read(k->io.userdata, path, KMOD_FILE_MAX, &data, &size);
	if (r == -EFBIG)
		return fail(-EFBIG, "'%s' is larger than %llu MiB", path,
			    (unsigned long long)(KMOD_FILE_MAX >> 20));
	if (r < 0)
		return log_errno(r, "cannot read '%s'", path);
	if (m->comp == COMP_NONE) {
		*ret_data = TAKE_PTR(data);
		*ret_size = size;
		return 0;
	}
	return decompress(path, m->comp, data, size, ret_data, ret_size);
}

/* ---- .modinfo ---- */

struct elf {
	const unsigned char *p;
	size_t size;
	bool is64, be;
};

/* An n-byte field at off; the caller has checked the bounds. */
static uint64_t elf_get(const struct elf *e, uint64_t off, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | e->p[off + (e->be ? i : n - 1 - i)];
	return v;
}

#define EHDR(e, field)                                                                             \
	((e)->is64 ? elf_get(e, offsetof(Elf64_Ehdr, field), sizeof(((Elf64_Ehdr *)0)->field)) :   \
		     elf_get(e, offsetof(Elf32_Ehdr, field), sizeof(((Elf32_Ehdr *)0)->field)))
#define SHDR(e, base, field)                                                                       \
	((e)->is64 ? elf_get(e, (base) + offsetof(Elf64_Shdr, field),                              \
			     sizeof(((Elf64_Shdr *)0)->field)) :                                   \
		     elf_get(e, (base) + offsetof(Elf32_Shdr, field),                              \
			     sizeof(((Elf32_Shdr *)0)->field)))

struct section {
	uint64_t name, type, offset, size, link;
};

static void elf_section(const struct elf *e, uint64_t base, struct section *s)
{
	s->name = SHDR(e, base, sh_name);
	s->type = SHDR(e, base, sh_type);
	s->offset = SHDR(e, base, sh_offset);
	s->size = SHDR(e, base, sh_size);
	s->link = SHDR(e, base, sh_link);
}

/* Whether [off, off + n) lies inside the file. */
static bool elf_in(const struct elf *e, uint64_t off, uint64_t n)
{
	return off <= e->size && n <= e->size - off;
}

int modinfo_parse(const void *elf, size_t size, char ***ret_strv)
{
	struct elf e = { .p = elf, .size = size };
	uint64_t shoff, shentsize, shnum, shstrndx, ehsize, shsize;
	struct section strtab, s;
	const char *data;
	char **l = NULL;
	size_t len = 0;

	if (size < EI_NIDENT || memcmp(e.p, ELFMAG, SELFMAG) != 0)
		return -EBADMSG;
	if (e.p[EI_CLASS] != ELFCLASS32 && e.p[EI_CLASS] != ELFCLASS64)
		return -EBADMSG;
	if (e.p[EI_DATA] != ELFDATA2LSB && e.p[EI_DATA] != ELFDATA2MSB)
		return -EBADMSG;
	e.is64 = e.p[EI_CLASS] == ELFCLASS64;
	e.be = e.p[EI_DATA] == ELFDATA2MSB;
	ehsize = e.is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	shsize = e.is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (size < ehsize)
		return -EBADMSG;

	shoff = EHDR(&e, e_shoff);
	shentsize = EHDR(&e, e_shentsize);
	shnum = EHDR(&e, e_shnum);
	shstrndx = EHDR(&e, e_shstrndx);
	if (shoff == 0 || shentsize < shsize || !elf_in(&e, shoff, shsize))
		return -EBADMSG;
	/* Extended numbering: the real values are in section 0. */
	elf_section(&e, shoff, &s);
	if (shnum == 0)
		shnum = s.size;
	if (shstrndx == SHN_XINDEX)
		shstrndx = s.link;
	if (shnum > (size - shoff) / shentsize || shstrndx == SHN_UNDEF || shstrndx >= shnum)
		return -EBADMSG;

	elf_section(&e, shoff + shstrndx * shentsize, &strtab);
	if (strtab.type == SHT_NOBITS || !elf_in(&e, strtab.offset, strtab.size))
		return -EBADMSG;

	for (uint64_t i = 1; i < shnum; i++) {
		static const char name[] = ".modinfo";

		elf_section(&e, shoff + i * shentsize, &s);
		if (s.name >= strtab.size)
			return -EBADMSG;
		if (strtab.size - s.name < sizeof(name) ||
		    memcmp(e.p + strtab.offset + s.name, name, sizeof(name)) != 0)
			continue;
		if (s.type == SHT_NOBITS) {
			*ret_strv = xcalloc(1, sizeof(char *));
			return 0;
		}
		if (!elf_in(&e, s.offset, s.size))
			return -EBADMSG;
		data = (const char *)e.p + s.offset;
		for (uint64_t at = 0; at < s.size;) {
			const char *nul = memchr(data + at, 0, s.size - at);
			size_t n = nul ? (size_t)(nul - (data + at)) : s.size - at;

			if (n)
				l = strv_push(l, &len, data + at, n);
			at += n + 1;
		}
		*ret_strv = l ?: xcalloc(1, sizeof(char *));
		return 0;
	}
	return -ENODATA;
}

/* Reads a module's .modinfo once: depends=, alias= and (without modules.softdep)
 * softdep=. */
static int module_info(struct kmod *k, struct module *m)
{
	_cleanup_free_ char *data = NULL, *path = NULL;
	_cleanup_strv_free_ char **info = NULL;
	size_t size, n_aliases = 0;
	int r;

	if (m->info_read)
		return 0;
	r = module_read(k, m, &data, &size);
	if (r < 0)
		return r;
	r = modinfo_parse(data, size, &info);
	if (r < 0) {
		path = full_path(k, m->path);
		if (r == -ENODATA)
			return fail(-EBADMSG, "'%s' is not a kernel module: no .modinfo section",
				    path);
		return fail(r, "'%s' is not a kernel module: malformed or truncated ELF file",
			    path);
	}
	for (char **i = info; *i; i++) {
		if (startswith(*i, "depends=")) {
			_cleanup_strv_free_ char **names = split(*i + strlen("depends="), ",");

			for (char **n = names; n && *n; n++) {
				_cleanup_free_ char *norm = name_normalize(*n, strlen(*n));

				if (!strv_contains(m->depends, norm))
					m->depends = strv_append(m->depends, norm);
			}
		} else if (startswith(*i, "alias=")) {
			_cleanup_free_ char *a = alias_normalize(*i + strlen("alias="));

			/* Drivers may have thousands (one per device id). */
			m->aliases = strv_push(m->aliases, &n_aliases, a, strlen(a));
		} else if (startswith(*i, "softdep=") && !k->have_softdep) {
			m->softdeps = strv_append(m->softdeps, *i + strlen("softdep="));
		}
	}
	m->info_read = true;
	return 0;
}

/* ---- the index ---- */

static void module_done(struct module *m)
{
	free(m->name);
	free(m->path);
	free(m->initrd_path);
	free(m->dep_line);
	strv_free(m->softdeps);
	strv_free(m->depends);
	strv_free(m->aliases);
	free(m->deps);
}

static int module_add(struct kmod *k, const char *path, const char *dep_line)
{
	const char *base = basename_of(path);
	struct module *m;
	enum comp c;
	size_t n = module_suffix(base, &c);

	if (n == 0)
		return 0;
	if (k->n_mods >= MODULES_MAX)
		return fail(-E2BIG, "'%s' holds more than %d modules", k->moddir, MODULES_MAX);
	if ((k->n_mods & (k->n_mods - 1)) == 0)
		k->mods = xrealloc(k->mods, (k->n_mods ? k->n_mods * 2 : 1) * sizeof(*k->mods));
	m = &k->mods[k->n_mods];
	*m = (struct module){
		.name = name_normalize(base, n),
		.path = xstrdup(path),
		.initrd_path = initrd_path_of(path, c),
		.comp = c,
		.updates = startswith(path, "updates/"),
		.order = k->n_mods,
		.dep_line = dep_line ? xstrdup(dep_line) : NULL,
		.sel = NONE,
	};
	k->n_mods++;
	return 0;
}

/* Sorts the modules by name and keeps one per name. */
static void index_finish(struct kmod *k)
{
	size_t n = 0;

	if (k->n_mods) /* mods is NULL then, and qsort wants an array */
		qsort(k->mods, k->n_mods, sizeof(*k->mods), module_cmp);
	for (size_t i = 0; i < k->n_mods; i++) {
		if (n && streq(k->mods[n - 1].name, k->mods[i].name)) {
			log_debug("module '%s': using '%s', not '%s'", k->mods[i].name,
				  k->mods[n - 1].path, k->mods[i].path);
			module_done(&k->mods[i]);
			continue;
		}
		k->mods[n++] = k->mods[i];
	}
	k->n_mods = n;
}

static int parse_dep(struct kmod *k, char *data)
{
	unsigned line = 0;

	for (char *s = data, *next; s && *s; s = next) {
		char *colon;

		next = strchr(s, '\n');
		if (next)
			*next++ = 0;
		line++;
		if (!*s || *s == '#')
			continue;
		colon = strchr(s, ':');
		if (colon)
			*colon = 0;
		if (!colon || !dep_path_ok(s))
			return fail(-EBADMSG, "%s/modules.dep:%u: not a line of modules.dep",
				    k->moddir, line);
		/* A path without a module suffix is not a module: ignored, as by modprobe. */
		if (module_add(k, s, colon + 1) < 0)
			return -E2BIG;
	}
	return 0;
}

static int walk(struct kmod *k, const char *rel, unsigned depth)
{
	_cleanup_free_ char *path = full_path(k, rel);
	struct kmod_dirent *ents = NULL;
	size_t n = 0;
	int r;

	r = k->io.list(k->io.userdata, path, &ents, &n);
	if (r < 0)
		return log_errno(r, "cannot list '%s'", path);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *sub = NULL;
		enum comp c;

		if (r < 0)
			goto next;
		sub = *rel ? xasprintf("%s/%s", rel, ents[i].name) : xstrdup(ents[i].name);
		if (ents[i].type == 'd') {
			/* Links to the kernel's build tree, when they are directories. */
			if (!*rel &&
			    (streq(ents[i].name, "build") || streq(ents[i].name, "source")))
				goto next;
			if (depth >= WALK_DEPTH_MAX) {
				r = fail(-ELOOP, "'%s/%s' is nested too deeply", k->moddir, sub);
				goto next;
			}
			r = walk(k, sub, depth + 1);
		} else if (module_suffix(ents[i].name, &c)) {
			r = module_add(k, sub, NULL);
		}
next:
		free(ents[i].name);
	}
	free(ents);
	return r;
}

static void parse_builtin(struct kmod *k, const char *data)
{
	_cleanup_strv_free_ char **lines = split(data, "\n");

	for (char **l = lines; l && *l; l++) {
		const char *base = basename_of(*l);
		enum comp c;
		size_t n = module_suffix(base, &c);

		if (n == 0)
			continue;
		if ((k->n_builtin & (k->n_builtin + 1)) == 0)
			k->builtin = xrealloc(k->builtin, (k->n_builtin + 1) * 2 * sizeof(char *));
		k->builtin[k->n_builtin++] = name_normalize(base, n);
	}
	if (k->builtin)
		qsort(k->builtin, k->n_builtin, sizeof(char *), str_cmp);
}

/* "softdep NAME pre: a b post: c": the part after NAME goes to NAME's list. */
static void parse_softdep(struct kmod *k, const char *data)
{
	_cleanup_strv_free_ char **lines = split(data, "\n");

	for (char **l = lines; l && *l; l++) {
		_cleanup_free_ char *name = NULL;
		const char *s = *l + strspn(*l, " \t");
		size_t n, i;

		if (!startswith(s, "softdep") || !strchr(" \t", s[strlen("softdep")]))
			continue;
		s += strlen("softdep");
		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (n == 0)
			continue;
		name = name_normalize(s, n);
		i = find_module(k, name);
		if (i == NONE) {
			log_debug("%s/modules.softdep: no module '%s'", k->moddir, name);
			continue;
		}
		k->mods[i].softdeps = strv_append(k->mods[i].softdeps, s + n);
	}
}

static void free_aliases(struct alias *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].pattern);
	free(a);
}

struct kmod *kmod_free(struct kmod *k)
{
	if (!k)
		return NULL;
	for (size_t i = 0; i < k->n_mods; i++)
		module_done(&k->mods[i]);
	free(k->mods);
	for (size_t i = 0; i < k->n_builtin; i++)
		free(k->builtin[i]);
	free(k->builtin);
	free_aliases(k->aliases, k->n_aliases);
	free_aliases(k->builtin_aliases, k->n_builtin_aliases);
	for (size_t i = 0; i < k->n_sel; i++)
		free(k->sel[i].deps);
	free(k->sel);
	free(k->moddir);
	free(k->version);
	free(k);
	return NULL;
}

int kmod_open(const struct kmod_io *io, const char *moddir, struct kmod **ret)
{
	_cleanup_(kmod_freep) struct kmod *k = xcalloc(1, sizeof(*k));
	_cleanup_free_ char *builtin = NULL, *dep = NULL, *softdep = NULL;
	size_t n, size;
	int r;

	k->io = *io;
	n = strlen(moddir);
	while (n > 1 && moddir[n - 1] == '/')
		n--;
	k->moddir = xstrndup(moddir, n);
	k->version = xstrdup(basename_of(k->moddir));

	r = read_index(k, "modules.builtin", &builtin, &size);
	if (r < 0)
		return r;
	if (builtin)
		parse_builtin(k, builtin);

	r = read_index(k, "modules.dep", &dep, &size);
	if (r < 0)
		return r;
	k->have_dep = dep != NULL;
	r = dep ? parse_dep(k, dep) : walk(k, "", 0);
	if (r < 0)
		return r;
	index_finish(k);

	r = read_index(k, "modules.softdep", &softdep, &size);
	if (r < 0)
		return r;
	k->have_softdep = softdep != NULL;
	if (softdep)
		parse_softdep(k, softdep);

	log_debug("kernel %s: %zu modules (%s), %zu built in", k->version, k->n_mods,
		  k->have_dep ? "from modules.dep" : "found under the tree", k->n_builtin);
	*ret = TAKE_PTR(k);
	return 0;
}

const char *kmod_version(const struct kmod *k)
{
	return k->version;
}

/* ---- aliases ---- */

static void alias_add(struct alias **a, size_t *n, const char *pattern, size_t mod)
{
	if ((*n & (*n - 1)) == 0)
		*a = xrealloc(*a, (*n ? *n * 2 : 1) * sizeof(**a));
	(*a)[(*n)++] = (struct alias){ .pattern = xstrdup(pattern), .mod = mod };
}

static bool crypto_path(const char *p)
{
	if (startswith(p, "kernel/crypto/"))
		return true;
	if (!startswith(p, "kernel/arch/"))
		return false;
	p = strchr(p + strlen("kernel/arch/"), '/');
	return p && startswith(p, "/crypto/");
}

static int path_cmp(const void *a, const void *b, void *userdata)
{
	const struct module *mods = userdata;

	return strcmp(mods[*(const size_t *)a].path, mods[*(const size_t *)b].path);
}

/* The aliases of the modules: modules.alias when depmod wrote one, else the alias= fields
 * of the crypto modules, which is where soft dependencies point ("crypto-crc32c"). */
static int load_aliases(struct kmod *k)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_free_ size_t *crypto = NULL;
	size_t size, n = 0;
	int r;

	if (k->aliases_loaded)
		return 0;
	r = read_index(k, "modules.alias", &data, &size);
	if (r < 0)
		return r;
	if (data) {
		_cleanup_strv_free_ char **lines = split(data, "\n");

		for (char **l = lines; l && *l; l++) {
			_cleanup_strv_free_ char **f = split(*l, " \t");
			_cleanup_free_ char *name = NULL, *pattern = NULL;
			size_t i;

			if (strv_length(f) != 3 || !streq(f[0], "alias"))
				continue;
			name = name_normalize(f[2], strlen(f[2]));
			i = find_module(k, name);
			if (i == NONE)
				continue;
			pattern = alias_normalize(f[1]);
			alias_add(&k->aliases, &k->n_aliases, pattern, i);
		}
		k->aliases_loaded = true;
		return 0;
	}

	crypto = xcalloc(k->n_mods, sizeof(size_t));
	for (size_t i = 0; i < k->n_mods; i++)
		if (crypto_path(k->mods[i].path))
			crypto[n++] = i;
	qsort_r(crypto, n, sizeof(size_t), path_cmp, k->mods);
	log_debug("reading the aliases of %zu crypto modules", n);
	for (size_t j = 0; j < n; j++) {
		struct module *m = &k->mods[crypto[j]];

		r = module_info(k, m);
		if (r < 0)
			return r;
		for (char **a = m->aliases; a && *a; a++)
			alias_add(&k->aliases, &k->n_aliases, *a, crypto[j]);
	}
	k->aliases_loaded = true;
	return 0;
}

/* modules.builtin.modinfo: "NAME.alias=PATTERN" strings, NUL-separated. */
static int load_builtin_aliases(struct kmod *k)
{
	_cleanup_free_ char *data = NULL;
	size_t size;
	int r;

	if (k->builtin_aliases_loaded)
		return 0;
	r = read_index(k, "modules.builtin.modinfo", &data, &size);
	if (r < 0)
		return r;
	for (size_t at = 0; data && at < size;) {
		const char *s = data + at, *dot = strchr(s, '.');

		if (dot && startswith(dot + 1, "alias=")) {
			_cleanup_free_ char *pattern = alias_normalize(dot + 1 + strlen("alias="));

			alias_add(&k->builtin_aliases, &k->n_builtin_aliases, pattern, NONE);
		}
		at += strlen(s) + 1;
	}
	k->builtin_aliases_loaded = true;
	return 0;
}

/* Looks a name up in libkmod's order: module names, aliases of modules, then built-in
 * modules ("crc32" is built in, and an alias of crc32_generic: modprobe loads
 * crc32_generic). For KMOD_MODULE, *ret_mods (malloc'ed) holds the modules: one for a
 * module name, every provider for an alias, in alias table order. */
static int lookup(struct kmod *k, const char *name, enum kmod_kind *ret_kind, size_t **ret_mods,
		  size_t *ret_n)
{
	_cleanup_free_ char *norm = name_normalize(name, strlen(name));
	_cleanup_free_ char *anorm = alias_normalize(name);
	_cleanup_free_ size_t *mods = NULL;
	size_t i, n = 0;
	int r;

	*ret_mods = NULL;
	*ret_n = 0;
	i = find_module(k, norm);
	if (i != NONE) {
		*ret_mods = xmalloc(sizeof(size_t));
		(*ret_mods)[0] = i;
		*ret_n = 1;
		*ret_kind = KMOD_MODULE;
		return 0;
	}
	r = load_aliases(k);
	if (r < 0)
		return r;
	/* A module matched twice is visited once. */
	for (size_t a = 0; a < k->n_aliases; a++) {
		if (fnmatch(k->aliases[a].pattern, anorm, 0) != 0)
			continue;
		if ((n & (n - 1)) == 0)
			mods = xrealloc(mods, (n ? n * 2 : 1) * sizeof(size_t));
		mods[n++] = k->aliases[a].mod;
	}
	if (n) {
		*ret_mods = TAKE_PTR(mods);
		*ret_n = n;
		*ret_kind = KMOD_MODULE;
		return 0;
	}
	if (is_builtin(k, norm)) {
		*ret_kind = KMOD_BUILTIN;
		return 0;
	}
	r = load_builtin_aliases(k);
	if (r < 0)
		return r;
	for (size_t a = 0; a < k->n_builtin_aliases; a++)
		if (fnmatch(k->builtin_aliases[a].pattern, anorm, 0) == 0) {
			*ret_kind = KMOD_BUILTIN;
			return 0;
		}
	*ret_kind = KMOD_UNKNOWN;
	return 0;
}

int kmod_lookup(struct kmod *k, const char *name, enum kmod_kind *ret_kind)
{
	_cleanup_free_ size_t *mods = NULL;
	enum kmod_kind kind;
	size_t n;
	int r;

	r = lookup(k, name, &kind, &mods, &n);
	if (r < 0)
		return r;
	*ret_kind = kind;
	return 0;
}

/* ---- dependencies ---- */

/* Depth-first over depends=, appending in post-order: the reverse is depmod's order. */
static int deps_dfs(struct kmod *k, size_t i, uint8_t *seen, size_t *post, size_t *n_post)
{
	struct module *m = &k->mods[i];
	int r;

	seen[i] = 1;
	r = module_info(k, m);
	if (r < 0)
		return r;
	for (char **d = m->depends; d && *d; d++) {
		size_t j = find_module(k, *d);

		if (j == NONE) {
			if (is_builtin(k, *d)) {
				log_debug("module '%s' depends on '%s', built in", m->name, *d);
				continue;
			}
			return fail(-ENOENT,
				    "module '%s' (%s/%s) depends on '%s', which is not under %s "
				    "and not built in",
				    m->name, k->moddir, m->path, *d, k->moddir);
		}
		/* A cycle (seen but not finished) is reported when the selection meets it. */
		if (!seen[j]) {
			r = deps_dfs(k, j, seen, post, n_post);
			if (r < 0)
				return r;
		}
	}
	post[(*n_post)++] = i;
	return 0;
}

/* Every dependency of module i, in depmod's order (a module before those it needs). */
static int module_deps(struct kmod *k, size_t i)
{
	struct module *m = &k->mods[i];
	_cleanup_free_ uint8_t *seen = NULL;
	_cleanup_free_ size_t *post = NULL;
	size_t n_post = 0;
	int r;

	if (m->deps_known)
		return 0;
	if (k->have_dep) {
		_cleanup_strv_free_ char **paths = split(m->dep_line ?: "", " \t");
		size_t n = strv_length(paths), n_deps = 0;
		_cleanup_free_ size_t *deps = xcalloc(n, sizeof(size_t));

		for (size_t p = 0; p < n; p++) {
			const char *base = basename_of(paths[p]);
			_cleanup_free_ char *name = NULL;
			size_t j, len;
			enum comp c;

			len = module_suffix(base, &c);
			name = name_normalize(base, len);
			j = len ? find_module(k, name) : NONE;
			if (j == NONE || !streq(k->mods[j].path, paths[p]))
				return fail(-EBADMSG,
					    "%s/modules.dep: dependency '%s' of '%s' is not a "
					    "module of modules.dep",
					    k->moddir, paths[p], m->path);
			if (j != i)
				deps[n_deps++] = j;
		}
		m->deps = TAKE_PTR(deps);
		m->n_deps = n_deps;
		m->deps_known = true;
		return 0;
	}

	seen = xcalloc(k->n_mods, 1);
	post = xcalloc(k->n_mods, sizeof(size_t));
	r = deps_dfs(k, i, seen, post, &n_post);
	if (r < 0)
		return r;
	/* post ends with i itself */
	m->deps = xcalloc(n_post, sizeof(size_t));
	for (size_t p = n_post - 1; p-- > 0;)
		m->deps[m->n_deps++] = post[p];
	m->deps_known = true;
	return 0;
}

/* ---- selection ---- */

static int visit(struct kmod *k, size_t i, const char *from, bool hard);

/* Resolves and visits the "pre:" (want_pre) or "post:" soft dependencies of module i. */
static int visit_softdeps(struct kmod *k, size_t i, bool want_pre)
{
	struct module *m = &k->mods[i];
	int r;

	if (!k->have_softdep) {
		r = module_info(k, m);
		if (r < 0)
			return r;
	}
	for (char **s = m->softdeps; s && *s; s++) {
		_cleanup_strv_free_ char **words = split(*s, " \t");
		enum { NO_MODE, PRE, POST } mode = NO_MODE;

		for (char **w = words; w && *w; w++) {
			_cleanup_free_ size_t *mods = NULL;
			enum kmod_kind kind;
			size_t n;

			if (streq(*w, "pre:")) {
				mode = PRE;
				continue;
			}
			if (streq(*w, "post:")) {
				mode = POST;
				continue;
			}
			/* Names before "pre:" or "post:" are ignored, as by modprobe. */
			if (mode == NO_MODE || (mode == PRE) != want_pre)
				continue;
			r = lookup(k, *w, &kind, &mods, &n);
			if (r < 0)
				return r;
			if (kind == KMOD_BUILTIN)
				log_debug("softdep '%s' of '%s' is built in", *w, m->name);
			else if (kind == KMOD_UNKNOWN)
				log_debug("softdep '%s' of '%s' is not a module, skipped", *w,
					  m->name);
			for (size_t j = 0; j < n; j++) {
				r = visit(k, mods[j], m->name, false);
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

static int visit(struct kmod *k, size_t i, const char *from, bool hard)
{
	struct module *m = &k->mods[i];
	int r;

	if (m->state == DONE)
		return 0;
	if (m->state == VISITING) {
		if (hard)
			log_warn("dependency cycle between modules '%s' and '%s': loading '%s' "
				 "first",
				 from, m->name, from);
		else
			log_debug("softdep cycle between modules '%s' and '%s'", from, m->name);
		return 0;
	}
	m->state = VISITING;
	r = module_deps(k, i);
	if (r < 0)
		return r;
	for (size_t d = m->n_deps; d-- > 0;) {
		r = visit(k, m->deps[d], m->name, true);
		if (r < 0)
			return r;
	}
	r = visit_softdeps(k, i, true);
	if (r < 0)
		return r;

	if ((k->n_sel & (k->n_sel - 1)) == 0)
		k->sel = xrealloc(k->sel, (k->n_sel ? k->n_sel * 2 : 1) * sizeof(*k->sel));
	k->sel[k->n_sel] = (struct sel){ .mod = i };
	m->sel = k->n_sel++;
	m->state = DONE;
	log_debug("selected module '%s' (%s)", m->name, m->path);

	return visit_softdeps(k, i, false);
}

/* For "did you mean": the closest module or built-in name, at most one edit per four
 * characters away (the first by name among equals); NULL when none is that close. */
static const char *closest_name(const struct kmod *k, const char *norm)
{
	unsigned limit = strlen(norm) / 4 + 1, best_d = limit + 1;
	const char *best = NULL;

	for (size_t i = 0; i < k->n_mods + k->n_builtin; i++) {
		const char *c = i < k->n_mods ? k->mods[i].name : k->builtin[i - k->n_mods];
		unsigned d = levenshtein(norm, c);

		if (d <= limit && (d < best_d || (d == best_d && strcmp(c, best) < 0))) {
			best = c;
			best_d = d;
		}
	}
	return best;
}

static int resolve_name(struct kmod *k, const char *name, bool required, size_t *n_builtin,
			size_t *n_unknown)
{
	_cleanup_free_ size_t *mods = NULL;
	enum kmod_kind kind;
	size_t n;
	int r;

	r = lookup(k, name, &kind, &mods, &n);
	if (r < 0)
		return r;
	if (kind == KMOD_BUILTIN) {
		log_debug("module '%s' is built into kernel %s", name, k->version);
		(*n_builtin)++;
		return 0;
	}
	if (kind == KMOD_UNKNOWN) {
		_cleanup_free_ char *norm = name_normalize(name, strlen(name));
		const char *close;

		(*n_unknown)++;
		if (!required) {
			log_debug("module '%s' is not in kernel %s, skipped", name, k->version);
			return 0;
		}
		close = closest_name(k, norm);
		if (close)
			return fail(-ENOENT,
				    "module '%s' is not in kernel %s: not under %s and not "
				    "built in (did you mean '%s'?)",
				    name, k->version, k->moddir, close);
		return fail(-ENOENT,
			    "module '%s' is not in kernel %s: not under %s and not built in "
			    "(check the name with modinfo, or remove it from the list)",
			    name, k->version, k->moddir);
	}
	if (n > 1 || !streq(k->mods[mods[0]].name, name))
		log_debug("'%s' is an alias of %zu module(s)", name, n);
	for (size_t j = 0; j < n; j++) {
		r = visit(k, mods[j], name, false);
		if (r < 0)
			return r;
	}
	return 0;
}

int kmod_resolve(struct kmod *k, char *const *names, bool required, size_t *ret_builtin,
		 size_t *ret_unknown)
{
	size_t before = k->n_sel, n_builtin = 0, n_unknown = 0;
	int r = 0;

	for (char *const *s = names; s && *s && r >= 0; s++)
		r = resolve_name(k, *s, required, &n_builtin, &n_unknown);
	if (r < 0) {
		/* Back to the selection before the call. */
		for (size_t i = 0; i < k->n_mods; i++)
			if (k->mods[i].state == VISITING ||
			    (k->mods[i].state == DONE && k->mods[i].sel >= before)) {
				k->mods[i].state = NOT_SEEN;
				k->mods[i].sel = NONE;
			}
		k->n_sel = before;
		return r;
	}
	for (size_t s = before; s < k->n_sel; s++) {
		const struct module *m = &k->mods[k->sel[s].mod];

		k->sel[s].deps = xcalloc(m->n_deps, sizeof(size_t));
		for (size_t d = 0; d < m->n_deps; d++) {
			assert(k->mods[m->deps[d]].sel != NONE);
			k->sel[s].deps[d] = k->mods[m->deps[d]].sel;
		}
		k->sel[s].n_deps = m->n_deps;
	}
	if (ret_builtin)
		*ret_builtin = n_builtin;
	if (ret_unknown)
		*ret_unknown = n_unknown;
	return 0;
}

size_t kmod_count(const struct kmod *k)
{
	return k->n_sel;
}

const char *kmod_name(const struct kmod *k, size_t i)
{
	return k->mods[k->sel[i].mod].name;
}

const char *kmod_path(const struct kmod *k, size_t i)
{
	return k->mods[k->sel[i].mod].path;
}

const char *kmod_initrd_path(const struct kmod *k, size_t i)
{
	return k->mods[k->sel[i].mod].initrd_path;
}

const size_t *kmod_deps(const struct kmod *k, size_t i, size_t *ret_n)
{
	*ret_n = k->sel[i].n_deps;
	return k->sel[i].deps;
}

int kmod_module_data(struct kmod *k, size_t i, char **ret_data, size_t *ret_size)
{
	return module_read(k, &k->mods[k->sel[i].mod], ret_data, ret_size);
}

/* ---- output ---- */

struct text {
	char *s;
	size_t n, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->n, s, n + 1);
	t->n += n;
}

int kmod_dep_text(const struct kmod *k, char **ret)
{
	struct text t = { .s = xstrdup(""), .cap = 1 };

	for (size_t i = 0; i < k->n_sel; i++) {
		text_add(&t, kmod_initrd_path(k, i));
		text_add(&t, ":");
		for (size_t d = 0; d < k->sel[i].n_deps; d++) {
			text_add(&t, " ");
			text_add(&t, kmod_initrd_path(k, k->sel[i].deps[d]));
		}
		text_add(&t, "\n");
	}
	*ret = t.s;
	return 0;
}

int kmod_order_text(const struct kmod *k, char **ret)
{
	struct text t = { .s = xstrdup(""), .cap = 1 };

	for (size_t i = 0; i < k->n_sel; i++) {
		text_add(&t, kmod_initrd_path(k, i));
		text_add(&t, "\n");
	}
	*ret = t.s;
	return 0;
}
