/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/kmod.c. Module fixtures are real ELF relocatables: a C file holding
 * the .modinfo strings compiled by gcc (also -m32); big-endian and extended-numbering ELF
 * files are assembled here, and hostile ones are made by damaging gcc's output. Each test
 * builds a small /lib/modules/VERSION tree under a temporary directory and reads it
 * through a kmod_io over that directory. Messages are captured from stderr and compared
 * whole. */
#include "kmod.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "log.h"
#include "util.h"

#define VERSION "6.1.0-test"
#define MODDIR "/lib/modules/" VERSION


/* ---- helpers ---- */

static int write_data(const char *path, const void *data, size_t size)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || pwrite_all(fd, data, size, 0) < 0)
		return -errno;
	return 0;
}

/* A fresh tree tmpdir/NAME with an empty MODDIR; returns tmpdir/NAME, the root. */
static char *tree(const char *name)
{
	char *root = xasprintf("%s/%s", tmpdir, name);

	if (run("mkdir -p '%s%s'", root, MODDIR) != 0)
		abort();
	return root;
}

/* A file below MODDIR of the tree; parents are created. */
static int put(const char *root, const char *rel, const void *data, size_t size)
{
	_cleanup_free_ char *path = xasprintf("%s%s/%s", root, MODDIR, rel);

	if (run("mkdir -p \"$(dirname '%s')\"", path) != 0)
		return -EIO;
	return write_data(path, data, size);
}

static int put_str(const char *root, const char *rel, const char *s)
{
	return put(root, rel, s, strlen(s));
}

/* The NULL-terminated strings, each followed by a NUL, as a C string literal. */
static char *c_literal(va_list ap)
{
	char *out = xstrdup("\"");
	const char *s;

	while ((s = va_arg(ap, const char *))) {
		for (; *s; s++) {
			char *t = *s == '"' || *s == '\\' ? xasprintf("%s\\%c", out, *s) :
							    xasprintf("%s%c", out, *s);

			free(out);
			out = t;
		}
		s = xasprintf("%s\\000", out);
		free(out);
		out = (char *)s;
	}
	s = xasprintf("%s\"", out);
	free(out);
	return (char *)s;
}

/* Compiles a module whose .modinfo holds the given strings to MODDIR/REL (with flags, e.g.
 * "-m32"); a .xz, .zst or .gz suffix compresses it with the command of that name. */
static int module_flags(const char *root, const char *flags, const char *rel, ...)
{
	_cleanup_free_ char *lit = NULL, *src = NULL, *code = NULL, *out = NULL, *plain = NULL;
	va_list ap;
	int r;

	va_start(ap, rel);
	lit = c_literal(ap);
	va_end(ap);
	src = xasprintf("%s/module.c", tmpdir);
	code = xasprintf("__attribute__((section(\".modinfo\"), used)) static const char mi[] = "
			 "%s;\nint init_module(void) { return 0; }\n",
			 lit);
	if (write_data(src, code, strlen(code)) < 0)
		return -EIO;
	out = xasprintf("%s%s/%s", root, MODDIR, rel);
	plain = endswith(out, ".ko") ? xstrdup(out) : xstrndup(out, strrchr(out, '.') - out);
	if (run("mkdir -p \"$(dirname '%s')\" && gcc %s -c -o '%s' '%s'", out, flags, plain, src) !=
	    0)
		return -EIO;
	if (endswith(out, ".xz"))
		r = run("xz -f '%s'", plain);
	else if (endswith(out, ".zst"))
		r = run("zstd -q -f --rm '%s'", plain);
	else if (endswith(out, ".gz"))
		r = run("gzip -n -f '%s'", plain);
	else
		r = 0;
	return r ? -EIO : 0;
}

#define module(root, rel, ...) module_flags(root, "", rel, ##__VA_ARGS__, NULL)

/* kmod_io over a host directory: target paths are below userdata. */
static int host_read(void *userdata, const char *path, size_t max, char **ret_data,
		     size_t *ret_size)
{
	_cleanup_free_ char *p = xasprintf("%s%s", (const char *)userdata, path);

	return read_file(p, max, ret_data, ret_size);
}

static int dirent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kmod_dirent *)a)->name, ((const struct kmod_dirent *)b)->name);
}

static int host_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	_cleanup_free_ char *p = xasprintf("%s%s", (const char *)userdata, path);
	struct kmod_dirent *l = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(p);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		l = xrealloc(l, (n + 1) * sizeof(*l));
		l[n].name = xstrdup(de->d_name);
		l[n].type = de->d_type == DT_DIR ? 'd' :
			    de->d_type == DT_REG ? 'f' :
			    de->d_type == DT_LNK ? 'l' :
						   '?';
		n++;
	}
	closedir(d);
	if (l)
		qsort(l, n, sizeof(*l), dirent_cmp);
	*ret = l;
	*ret_n = n;
	return 0;
}

#define _cleanup_kmod_ _cleanup_(kmod_freep)

static int open_tree(const char *root, struct kmod **ret)
{
	/* io is copied by kmod_open */
	struct kmod_io io = { .userdata = (void *)root, .read = host_read, .list = host_list };

	return kmod_open(&io, MODDIR, ret);
}

/* Resolves a space-separated list; the messages logged (all levels when debug) go to
 * *ret_msg. */
static int resolve(struct kmod *k, const char *names, bool required, bool debug, char **ret_msg)
{
	_cleanup_strv_free_ char **l = NULL;
	int r;

	for (const char *s = names; *s;) {
		size_t n = strcspn(s, " ");
		_cleanup_free_ char *w = xstrndup(s, n);

		if (n)
			l = strv_append(l, w);
		s += n + strspn(s + n, " ");
	}
	if (debug)
		log_set_level(LOG_DEBUG);
	capture_begin();
	r = kmod_resolve(k, l, required, NULL, NULL);
	*ret_msg = capture_end();
	log_set_level(LOG_INFO);
	return r;
}

/* The selection's names, space-separated. */
static char *selection(const struct kmod *k)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < kmod_count(k); i++) {
		char *t = xasprintf("%s%s%s", s, i ? " " : "", kmod_name(k, i));

		free(s);
		s = t;
	}
	return s;
}

static char *dep_text(const struct kmod *k)
{
	char *s = NULL;

	if (kmod_dep_text(k, &s) < 0)
		return NULL;
	return s;
}

static char *read_host(const char *path, size_t *ret_size)
{
	char *data = NULL;

	if (read_file(path, 64 << 20, &data, ret_size) < 0)
		return NULL;
	return data;
}

/* ---- .modinfo ---- */

static char *strv_join(char **l)
{
	char *s = xstrdup("");

	for (size_t i = 0; l && l[i]; i++) {
		char *t = xasprintf("%s%s%s", s, i ? "|" : "", l[i]);

		free(s);
		s = t;
	}
	return s;
}

/* Parses `size` bytes copied to the very end of a mapping followed by an inaccessible page,
 * so that reading one byte too far crashes the test, with or without ASan; joins the
 * strings with '|'. */
static int parse(const void *data, size_t size, char **ret_joined)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = align_up(size, page) + page;
	_cleanup_strv_free_ char **l = NULL;
	char *map, *copy;
	int r;

	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + len - page, page, PROT_NONE) < 0)
		abort();
	copy = map + len - page - size;
	memcpy(copy, data, size);
	r = modinfo_parse(copy, size, &l);
	munmap(map, len);
	if (r < 0)
		return r;
	*ret_joined = strv_join(l);
	return 0;
}

static void test_modinfo_gcc(void)
{
	_cleanup_free_ char *root = tree("modinfo-gcc"), *p64 = NULL, *p32 = NULL, *d64 = NULL,
			    *d32 = NULL, *j64 = NULL, *j32 = NULL;
	size_t n64, n32;

	CHECK(module(root, "a.ko", "name=a", "depends=b,c-d", "softdep=pre: e") == 0);
	CHECK(module_flags(root, "-m32", "a32.ko", "name=a32", "alias=x", NULL) == 0);
	p64 = xasprintf("%s%s/a.ko", root, MODDIR);
	p32 = xasprintf("%s%s/a32.ko", root, MODDIR);
	CHECK((d64 = read_host(p64, &n64)));
	CHECK((d32 = read_host(p32, &n32)));
	CHECK(d64[EI_CLASS] == ELFCLASS64 && d32[EI_CLASS] == ELFCLASS32);
	CHECK(parse(d64, n64, &j64) == 0);
	CHECK_STREQ(j64, "name=a|depends=b,c-d|softdep=pre: e");
	CHECK(parse(d32, n32, &j32) == 0);
	CHECK_STREQ(j32, "name=a32|alias=x");
}

/* An ELF file assembled here: the header, the sections' data, .shstrtab, then the section
 * headers. */
struct sec {
	const char *name;
	uint32_t type;
	const char *data;
	size_t size;
};

enum {
	EXT_SHNUM = 1,    /* e_shnum in section 0 */
	EXT_SHSTRNDX = 2, /* e_shstrndx in section 0 */
	STRTAB_CUT = 4,   /* .shstrtab one byte short: the last name loses its NUL */
};

static void put_n(char *p, uint64_t v, size_t n, bool be)
{
	for (size_t i = 0; i < n; i++)
		p[be ? n - 1 - i : i] = (char)(v >> (8 * i));
}

static char *elf_build(bool is64, bool be, const struct sec *secs, size_t n_secs, unsigned flags,
		       size_t *ret_size)
{
	size_t ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40;
	size_t n = n_secs + 2; /* the null section and .shstrtab */
	size_t strsize = 1 + strlen(".shstrtab") + 1, off = ehsize, shoff, size;
	size_t *data_off = xcalloc(n, sizeof(size_t)), *name_off = xcalloc(n, sizeof(size_t));
	char *e, *strtab;

	for (size_t i = 0; i < n_secs; i++) {
		name_off[i + 1] = strsize;
		strsize += strlen(secs[i].name) + 1;
		data_off[i + 1] = off;
		off += secs[i].type == SHT_NOBITS ? 0 : secs[i].size;
	}
	name_off[n - 1] = 1;
	data_off[n - 1] = off;
	off += strsize;
	shoff = align_up(off, 8);
	size = shoff + n * shentsize;
	e = xcalloc(1, size);

	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	e[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	put_n(e + 16, ET_REL, 2, be);
	put_n(e + (is64 ? 40 : 32), shoff, is64 ? 8 : 4, be);          /* e_shoff */
	put_n(e + (is64 ? 52 : 40), ehsize, 2, be);                    /* e_ehsize */
	put_n(e + (is64 ? 58 : 46), shentsize, 2, be);                 /* e_shentsize */
	put_n(e + (is64 ? 60 : 48), flags & EXT_SHNUM ? 0 : n, 2, be); /* e_shnum */
	put_n(e + (is64 ? 62 : 50), flags & EXT_SHSTRNDX ? SHN_XINDEX : n - 1, 2, be);

	strtab = e + data_off[n - 1];
	strcpy(strtab + 1, ".shstrtab");
	for (size_t i = 0; i < n_secs; i++) {
		strcpy(strtab + name_off[i + 1], secs[i].name);
		if (secs[i].type != SHT_NOBITS)
			memcpy(e + data_off[i + 1], secs[i].data, secs[i].size);
	}
	for (size_t i = 0; i < n; i++) {
		char *sh = e + shoff + i * shentsize;
		uint32_t type = i == 0 ? SHT_NULL : i == n - 1 ? SHT_STRTAB : secs[i - 1].type;
		uint64_t sz = i == 0     ? (flags & EXT_SHNUM ? n : 0) :
			      i == n - 1 ? strsize - !!(flags & STRTAB_CUT) :
					   secs[i - 1].size;

		if (i == 0 && (flags & EXT_SHSTRNDX))
			put_n(sh + (is64 ? 40 : 24), n - 1, 4, be); /* sh_link */
		if (i == 0 && type == SHT_NULL && !sz)
			continue;
		put_n(sh, i ? name_off[i] : 0, 4, be);
		put_n(sh + 4, type, 4, be);
		put_n(sh + (is64 ? 24 : 16), i ? data_off[i] : 0, is64 ? 8 : 4, be); /* sh_offset */
		put_n(sh + (is64 ? 32 : 20), sz, is64 ? 8 : 4, be);                  /* sh_size */
	}
	free(data_off);
	free(name_off);
	*ret_size = size;
	return e;
}

static const char modinfo_text[] = "license=GPL\0\0\0depends=x,y\0name=big"; /* no final NUL */

static void test_modinfo_crafted(void)
{
	const struct sec secs[] = {
		{ ".text", SHT_PROGBITS, "\x90\x90", 2 },
		{ ".modinfo", SHT_PROGBITS, modinfo_text, sizeof(modinfo_text) - 1 },
		{ ".bss", SHT_NOBITS, NULL, 4096 },
		{ ".data", SHT_PROGBITS, "XYZ", 3 }, /* right after "name=big" */
	};

	for (unsigned v = 0; v < 16; v++) {
		bool is64 = v & 1, be = v & 2;
		size_t size;
		_cleanup_free_ char *e = elf_build(is64, be, secs, ARRAY_SIZE(secs), v >> 2, &size),
				    *j = NULL;

		CHECK(parse(e, size, &j) == 0);
		CHECK_STREQ(j, "license=GPL|depends=x,y|name=big");
	}
}

static void test_modinfo_empty(void)
{
	const struct sec none[] = { { ".text", SHT_PROGBITS, "\x90", 1 } };
	const struct sec nobits[] = { { ".modinfo", SHT_NOBITS, NULL, 64 } };
	const struct sec pad[] = { { ".modinfo", SHT_PROGBITS, "\0\0\0", 3 } };
	const struct sec prefix[] = { { ".modinfo.x", SHT_PROGBITS, "a=b", 3 } };
	const struct sec last[] = { { ".modinfo", SHT_PROGBITS, "a=b", 3 } };
	size_t size;
	_cleanup_free_ char *e1 = elf_build(true, false, none, 1, 0, &size), *e2 = NULL, *e3 = NULL,
			    *e4 = NULL, *e5 = NULL, *j = NULL;

	CHECK(parse(e1, size, &j) == -ENODATA);
	e2 = elf_build(false, true, nobits, 1, 0, &size);
	CHECK(parse(e2, size, &j) == 0);
	CHECK_STREQ(j, "");
	free(j);
	j = NULL;
	e3 = elf_build(true, true, pad, 1, 0, &size);
	CHECK(parse(e3, size, &j) == 0);
	CHECK_STREQ(j, "");
	/* a section whose name only starts with ".modinfo" is not it */
	e4 = elf_build(true, false, prefix, 1, 0, &size);
	CHECK(parse(e4, size, &j) == -ENODATA);
	/* nor one whose NUL lies just past the end of .shstrtab */
	e5 = elf_build(false, false, last, 1, STRTAB_CUT, &size);
	CHECK(parse(e5, size, &j) == -ENODATA);
}

/* A copy of gcc's ELF64 module with one thing damaged. */
struct damage {
	const char *what;
	void (*fn)(char *e, size_t size);
	int expect;
};

static Elf64_Shdr *shdr(char *e, size_t i)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	return (Elf64_Shdr *)(e + h->e_shoff + i * h->e_shentsize);
}

static Elf64_Shdr *modinfo_shdr(char *e)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;
	const char *strtab = e + shdr(e, h->e_shstrndx)->sh_offset;

	for (size_t i = 1; i < h->e_shnum; i++)
		if (streq(strtab + shdr(e, i)->sh_name, ".modinfo"))
			return shdr(e, i);
	abort();
}

static void d_shoff_past_end(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shoff = size;
}
static void d_shoff_overflow(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shoff = UINT64_MAX - 8;
}
static void d_shoff_zero(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shoff = 0;
}
static void d_shnum_huge(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shnum = 0xfeff;
}
static void d_shnum_ext_huge(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shnum = 0;
	shdr(e, 0)->sh_size = UINT64_MAX / 2;
}
static void d_shentsize_small(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shentsize = sizeof(Elf64_Shdr) - 1;
}
/* Entries overlapping, the last one running past the end of the file. */
static void d_shentsize_overlap(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	h->e_shentsize = 1;
	h->e_shnum = (uint16_t)(size - h->e_shoff);
	h->e_shstrndx = h->e_shnum - 1;
}
static void d_shentsize_huge(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shentsize = 0xffff;
}
static void d_shstrndx_range(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	h->e_shstrndx = h->e_shnum;
}
static void d_shstrndx_xindex(char *e, size_t size)
{
	((Elf64_Ehdr *)e)->e_shstrndx = SHN_XINDEX;
	shdr(e, 0)->sh_link = 0x7fffffff;
}
static void d_modinfo_size(char *e, size_t size)
{
	modinfo_shdr(e)->sh_size = size;
}
static void d_modinfo_size_overflow(char *e, size_t size)
{
	modinfo_shdr(e)->sh_size = UINT64_MAX;
}
static void d_modinfo_offset(char *e, size_t size)
{
	modinfo_shdr(e)->sh_offset = UINT64_MAX - 4;
}
static void d_strtab_size(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	shdr(e, h->e_shstrndx)->sh_size = size;
}
static void d_strtab_nobits(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	shdr(e, h->e_shstrndx)->sh_type = SHT_NOBITS;
}
static void d_name_past_strtab(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	shdr(e, 1)->sh_name = (uint32_t)shdr(e, h->e_shstrndx)->sh_size;
}
static void d_bad_magic(char *e, size_t size)
{
	e[1] = 'F';
}
static void d_bad_class(char *e, size_t size)
{
	e[EI_CLASS] = 3;
}
static void d_bad_data(char *e, size_t size)
{
	e[EI_DATA] = 0;
}
static void d_renamed(char *e, size_t size)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)e;

	e[shdr(e, h->e_shstrndx)->sh_offset + modinfo_shdr(e)->sh_name + 8] = 'x'; /* ".modinfox" */
}

static void test_modinfo_hostile(void)
{
	static const struct damage damages[] = {
		{ "section headers past the end", d_shoff_past_end, -EBADMSG },
		{ "e_shoff overflowing", d_shoff_overflow, -EBADMSG },
		{ "no section headers", d_shoff_zero, -EBADMSG },
		{ "e_shnum huge", d_shnum_huge, -EBADMSG },
		{ "extended e_shnum huge", d_shnum_ext_huge, -EBADMSG },
		{ "e_shentsize too small", d_shentsize_small, -EBADMSG },
		{ "section headers overlapping", d_shentsize_overlap, -EBADMSG },
		{ "e_shentsize huge", d_shentsize_huge, -EBADMSG },
		{ "e_shstrndx out of range", d_shstrndx_range, -EBADMSG },
		{ "SHN_XINDEX to nowhere", d_shstrndx_xindex, -EBADMSG },
		{ ".modinfo size past the end", d_modinfo_size, -EBADMSG },
		{ ".modinfo size overflowing", d_modinfo_size_overflow, -EBADMSG },
		{ ".modinfo offset overflowing", d_modinfo_offset, -EBADMSG },
		{ ".shstrtab past the end", d_strtab_size, -EBADMSG },
		{ ".shstrtab NOBITS", d_strtab_nobits, -EBADMSG },
		{ "section name past .shstrtab", d_name_past_strtab, -EBADMSG },
		{ "bad magic", d_bad_magic, -EBADMSG },
		{ "bad class", d_bad_class, -EBADMSG },
		{ "bad byte order", d_bad_data, -EBADMSG },
		{ "no .modinfo", d_renamed, -ENODATA },
	};
	_cleanup_free_ char *root = tree("modinfo-hostile"), *path = NULL, *good = NULL;
	size_t size;
	unsigned seed = 12345;

	CHECK(module(root, "h.ko", "name=h", "depends=") == 0);
	path = xasprintf("%s%s/h.ko", root, MODDIR);
	CHECK((good = read_host(path, &size)));

	for (size_t i = 0; i < ARRAY_SIZE(damages); i++) {
		_cleanup_free_ char *e = xmalloc(size), *j = NULL;
		int r;

		memcpy(e, good, size);
		damages[i].fn(e, size);
		r = parse(e, size, &j);
		if (r != damages[i].expect)
			fprintf(stderr, "  %s: got %d\n", damages[i].what, r);
		CHECK(r == damages[i].expect);
	}

	/* gcc writes the section headers last: every truncation cuts them */
	for (size_t n = 0; n < size; n++) {
		_cleanup_free_ char *j = NULL;

		CHECK(parse(good, n, &j) == -EBADMSG);
	}

	/* random damage to the headers: any answer but a crash or an over-read (ASan) */
	for (unsigned iter = 0; iter < 3000; iter++) {
		_cleanup_free_ char *e = xmalloc(size), *j = NULL;
		size_t shoff = ((Elf64_Ehdr *)good)->e_shoff;
		int r;

		memcpy(e, good, size);
		for (unsigned k = 0; k < 1 + iter % 4; k++) {
			size_t at = rand_r(&seed) % 2 ?
					    (size_t)rand_r(&seed) % sizeof(Elf64_Ehdr) :
					    shoff + (size_t)rand_r(&seed) % (size - shoff);

			e[at] = (char)rand_r(&seed);
		}
		r = parse(e, size, &j);
		CHECK(r == 0 || r == -EBADMSG || r == -ENODATA);
	}
}

/* ---- resolution ---- */

/* The tree of most tests, without modules.dep:
 *   a: depends b, c-d; softdep pre: e     c-d: depends b     b, e: nothing
 *   unused: depends b (never selected) */
static char *basic_tree(const char *name)
{
	char *root = tree(name);

	if (module(root, "kernel/x/a.ko", "name=a", "depends=b,c-d", "softdep=pre: e") < 0 ||
	    module(root, "kernel/x/b.ko", "name=b", "depends=") < 0 ||
	    module(root, "kernel/y/c-d.ko", "name=c_d", "depends=b") < 0 ||
	    module(root, "kernel/y/e.ko", "name=e") < 0 ||
	    module(root, "kernel/z/unused.ko", "depends=b") < 0)
		abort();
	return root;
}

static void test_modinfo_deps(void)
{
	_cleanup_free_ char *root = basic_tree("modinfo-deps"), *msg = NULL, *sel = NULL,
			    *dep = NULL, *order = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	const size_t *deps;
	size_t n;

	CHECK(open_tree(root, &k) == 0);
	CHECK_STREQ(kmod_version(k), VERSION);
	CHECK(resolve(k, "a", true, false, &msg) == 0);
	CHECK_STREQ(msg, "");
	CHECK_STREQ((sel = selection(k)), "b c_d e a");
	CHECK_STREQ(kmod_path(k, 1), "kernel/y/c-d.ko");
	CHECK_STREQ(kmod_initrd_path(k, 1), "kernel/y/c-d.ko");
	deps = kmod_deps(k, 3, &n);
	CHECK(n == 2 && deps[0] == 1 && deps[1] == 0);
	kmod_deps(k, 2, &n);
	CHECK(n == 0);
	CHECK_STREQ((dep = dep_text(k)), "kernel/x/b.ko:\n"
					 "kernel/y/c-d.ko: kernel/x/b.ko\n"
					 "kernel/y/e.ko:\n"
					 "kernel/x/a.ko: kernel/y/c-d.ko kernel/x/b.ko\n");
	CHECK(kmod_order_text(k, &order) == 0);
	CHECK_STREQ(order, "kernel/x/b.ko\nkernel/y/c-d.ko\nkernel/y/e.ko\nkernel/x/a.ko\n");
}

/* modules.dep, when present, is the truth about dependencies (and the module list); softdeps
 * still come from .modinfo until modules.softdep exists. */
static void test_dep_file_wins(void)
{
	_cleanup_free_ char *root = basic_tree("dep-file"), *msg = NULL, *sel = NULL, *dep = NULL,
			    *sel2 = NULL;
	_cleanup_kmod_ struct kmod *k = NULL, *k2 = NULL;

	CHECK(module(root, "kernel/z/x.ko", "name=x") == 0);
	CHECK(module(root, "kernel/z/w.ko", "name=w") == 0);
	/* a needs w and x (x loaded first: from the end of the line); b is not listed */
	CHECK(put_str(root, "modules.dep",
		      "kernel/x/a.ko: kernel/z/w.ko kernel/z/x.ko\n"
		      "kernel/z/x.ko:\n"
		      "# a comment\n"
		      "\n"
		      "kernel/z/w.ko: kernel/z/x.ko\n"
		      "kernel/y/e.ko:\n"
		      "kernel/y/c-d.ko:\n") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "a", true, false, &msg) == 0);
	CHECK_STREQ((sel = selection(k)), "x w e a");
	CHECK_STREQ((dep = dep_text(k)), "kernel/z/x.ko:\n"
					 "kernel/z/w.ko: kernel/z/x.ko\n"
					 "kernel/y/e.ko:\n"
					 "kernel/x/a.ko: kernel/z/w.ko kernel/z/x.ko\n");
	free(msg);
	msg = NULL;
	/* b has a file but no line: it is not a module of this kernel */
	CHECK(resolve(k, "b", true, false, &msg) == -ENOENT);

	CHECK(put_str(root, "modules.softdep",
		      "# Soft dependencies\n"
		      "softdep a post: c-d\n"
		      "softdep nosuch pre: e\n") == 0);
	CHECK(open_tree(root, &k2) == 0);
	free(msg);
	msg = NULL;
	CHECK(resolve(k2, "a", true, false, &msg) == 0);
	CHECK_STREQ((sel2 = selection(k2)), "x w a c_d");
}

static void test_dash_underscore(void)
{
	_cleanup_free_ char *root = basic_tree("dash"), *msg = NULL, *sel = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	enum kmod_kind kind;
	size_t nb = 9, nu = 9;
	char *names[] = { "c-d", "c_d", "c-d", NULL };

	CHECK(put_str(root, "modules.builtin", "kernel/fs/foo-bar.ko\nkernel/fs/baz_qux.ko\n") ==
	      0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(kmod_lookup(k, "c_d", &kind) == 0 && kind == KMOD_MODULE);
	CHECK(kmod_lookup(k, "c-d", &kind) == 0 && kind == KMOD_MODULE);
	CHECK(kmod_lookup(k, "foo_bar", &kind) == 0 && kind == KMOD_BUILTIN);
	CHECK(kmod_lookup(k, "baz-qux", &kind) == 0 && kind == KMOD_BUILTIN);
	CHECK(kmod_lookup(k, "c_e", &kind) == 0 && kind == KMOD_UNKNOWN);
	CHECK(kmod_resolve(k, names, true, &nb, &nu) == 0);
	CHECK(nb == 0 && nu == 0);
	CHECK_STREQ((sel = selection(k)), "b c_d");
	(void)msg;
}

/* top needs left and right, both need base: base once, before both. */
static void test_diamond(void)
{
	_cleanup_free_ char *root = tree("diamond"), *msg = NULL, *sel = NULL, *dep = NULL,
			    *sel2 = NULL;
	_cleanup_kmod_ struct kmod *k = NULL, *k2 = NULL;

	CHECK(module(root, "kernel/top.ko", "depends=left,right") == 0);
	CHECK(module(root, "kernel/left.ko", "depends=base") == 0);
	CHECK(module(root, "kernel/right.ko", "depends=base") == 0);
	CHECK(module(root, "kernel/base.ko") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "top", true, false, &msg) == 0);
	CHECK_STREQ((sel = selection(k)), "base left right top");
	CHECK_STREQ((dep = dep_text(k)),
		    "kernel/base.ko:\n"
		    "kernel/left.ko: kernel/base.ko\n"
		    "kernel/right.ko: kernel/base.ko\n"
		    "kernel/top.ko: kernel/right.ko kernel/left.ko kernel/base.ko\n");
	/* names in the order given, each selected once, across calls too */
	CHECK(open_tree(root, &k2) == 0);
	free(msg);
	msg = NULL;
	CHECK(resolve(k2, "right", true, false, &msg) == 0);
	free(msg);
	msg = NULL;
	CHECK(resolve(k2, "top base right", true, false, &msg) == 0);
	CHECK_STREQ((sel2 = selection(k2)), "base right left top");
}

static void test_cycle(void)
{
	_cleanup_free_ char *root = tree("cycle"), *msg = NULL, *msg2 = NULL, *sel = NULL,
			    *sel2 = NULL, *dep = NULL;
	_cleanup_kmod_ struct kmod *k = NULL, *k2 = NULL;

	CHECK(module(root, "kernel/x.ko", "depends=y") == 0);
	CHECK(module(root, "kernel/y.ko", "depends=x") == 0);
	CHECK(module(root, "kernel/p.ko", "softdep=pre: q") == 0);
	CHECK(module(root, "kernel/q.ko", "softdep=pre: p post: p") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "x", true, false, &msg) == 0);
	CHECK_STREQ(msg, "warning: dependency cycle between modules 'y' and 'x': loading 'y' "
			 "first");
	CHECK_STREQ((sel = selection(k)), "y x");
	CHECK_STREQ((dep = dep_text(k)), "kernel/y.ko: kernel/x.ko\nkernel/x.ko: kernel/y.ko\n");
	CHECK(open_tree(root, &k2) == 0);
	CHECK(resolve(k2, "p", true, false, &msg2) == 0);
	CHECK_STREQ(msg2, "");
	CHECK_STREQ((sel2 = selection(k2)), "q p");
}

static void test_unknown(void)
{
	_cleanup_free_ char *root = basic_tree("unknown"), *msg = NULL, *msg2 = NULL, *msg3 = NULL,
			    *msg4 = NULL, *sel = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	char *names[] = { "a", "nosuch", "zzz", NULL };
	size_t nb = 9, nu = 9;

	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "a nosuch", true, false, &msg) == -ENOENT);
	CHECK_STREQ(msg, "error: module 'nosuch' is not in kernel " VERSION ": not under " MODDIR
			 " and not built in (check the name with modinfo, or remove it from the "
			 "list)");
	/* a failed call leaves the selection as it was */
	CHECK(kmod_count(k) == 0);
	CHECK(resolve(k, "unsed", true, false, &msg2) == -ENOENT);
	CHECK_STREQ(msg2, "error: module 'unsed' is not in kernel " VERSION ": not under " MODDIR
			  " and not built in (did you mean 'unused'?)");

	/* optional names: skipped, said at debug level only */
	CHECK(resolve(k, "nosuch a", false, false, &msg3) == 0);
	CHECK_STREQ(msg3, "");
	CHECK(resolve(k, "nosuch", false, true, &msg4) == 0);
	CHECK(strstr(msg4, "debug: module 'nosuch' is not in kernel " VERSION ", skipped"));
	CHECK(kmod_resolve(k, names, false, &nb, &nu) == 0);
	CHECK(nb == 0 && nu == 2);
	CHECK_STREQ((sel = selection(k)), "b c_d e a");
}

static void test_builtin(void)
{
	_cleanup_free_ char *root = tree("builtin"), *msg = NULL, *sel = NULL, *dep = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	static const char builtin_modinfo[] = "aes_generic.alias=crypto-aes\0"
					      "aes_generic.alias=aes\0"
					      "aes_generic.license=GPL\0"
					      "crc32.license=GPL\0";
	char *names[] = { "ext4", "mod", "aes", "crypto-aes", "crc32", NULL };
	enum kmod_kind kind;
	size_t nb = 0, nu = 0;

	CHECK(put_str(root, "modules.builtin",
		      "kernel/fs/ext4/ext4.ko\n"
		      "kernel/lib/crc32.ko\n"
		      "kernel/crypto/aes_generic.ko\n") == 0);
	CHECK(put(root, "modules.builtin.modinfo", builtin_modinfo, sizeof(builtin_modinfo) - 1) ==
	      0);
	/* mod depends on a built-in module: no dependency at all */
	CHECK(module(root, "kernel/mod.ko", "depends=crc32") == 0);
	/* a module alias wins over a built-in name (modprobe's order) */
	CHECK(module(root, "kernel/crypto/crc32_generic.ko", "alias=crc32", "alias=crypto-crc32") ==
	      0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(kmod_lookup(k, "ext4", &kind) == 0 && kind == KMOD_BUILTIN);
	CHECK(kmod_lookup(k, "aes", &kind) == 0 && kind == KMOD_BUILTIN);
	CHECK(kmod_lookup(k, "crc32", &kind) == 0 && kind == KMOD_MODULE);
	CHECK(kmod_resolve(k, names, true, &nb, &nu) == 0);
	CHECK(nb == 3 && nu == 0);
	CHECK_STREQ((sel = selection(k)), "mod crc32_generic");
	CHECK_STREQ((dep = dep_text(k)), "kernel/mod.ko:\nkernel/crypto/crc32_generic.ko:\n");
	(void)msg;
}

/* ext4 pre: crypto-crc32c brings every provider under the crypto directories. */
static void test_alias_softdep(void)
{
	_cleanup_free_ char *root = tree("alias"), *msg = NULL, *msg2 = NULL, *sel = NULL,
			    *sel2 = NULL;
	_cleanup_kmod_ struct kmod *k = NULL, *k2 = NULL;

	/* names before "pre:" or "post:" mean nothing */
	CHECK(module(root, "kernel/fs/ext4/ext4.ko", "depends=", "softdep=lonely",
		     "softdep=pre: crypto-crc32c nothere", "softdep=post: crc32") == 0);
	CHECK(module(root, "kernel/lonely.ko") == 0);
	CHECK(module(root, "kernel/crypto/crc32c_generic.ko", "alias=crypto-crc32c",
		     "alias=crc32c") == 0);
	CHECK(module(root, "kernel/arch/x86/crypto/crc32c-intel.ko", "alias=crypto-crc32c",
		     "alias=crc32c-intel", "alias=cpu:type:x86,ven*fam*mod*:feature:*0094*") == 0);
	/* outside the crypto directories: not scanned */
	CHECK(module(root, "kernel/drivers/fake.ko", "alias=crypto-crc32c", "alias=crc32") == 0);
	CHECK(put_str(root, "modules.builtin", "kernel/lib/crc32.ko\n") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "ext4", true, true, &msg) == 0);
	CHECK(strstr(msg, "debug: softdep 'nothere' of 'ext4' is not a module, skipped\n"));
	CHECK(endswith(msg, "\ndebug: softdep 'crc32' of 'ext4' is built in"));
	CHECK_STREQ((sel = selection(k)), "crc32c_intel crc32c_generic ext4");

	/* with modules.alias, it alone says who provides what (patterns allowed) */
	CHECK(put_str(root, "modules.alias",
		      "# Aliases extracted from modules themselves.\n"
		      "alias crypto-crc32c* fake\n"
		      "alias crc32 fake\n"
		      "alias crypto-crc32c crc32c_generic\n"
		      "alias crypto-crc32c nosuchmodule\n") == 0);
	CHECK(open_tree(root, &k2) == 0);
	CHECK(resolve(k2, "ext4", true, false, &msg2) == 0);
	CHECK_STREQ((sel2 = selection(k2)), "fake crc32c_generic ext4");
}

static void test_compressed(void)
{
	_cleanup_free_ char *root = tree("compressed"), *msg = NULL, *sel = NULL, *dep = NULL,
			    *plain = NULL, *path = NULL, *data = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	size_t plain_size, size;

	CHECK(module(root, "kernel/top.ko.xz", "depends=z-std,gz") == 0);
	CHECK(module(root, "kernel/z-std.ko.zst", "depends=plain") == 0);
	CHECK(module(root, "kernel/gz.ko.gz") == 0);
	CHECK(module(root, "kernel/plain.ko") == 0);
	CHECK(module(root, "kernel/copy.ko", "depends=z-std,gz") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "top", true, false, &msg) == 0);
	CHECK_STREQ((sel = selection(k)), "plain z_std gz top");
	CHECK_STREQ(kmod_path(k, 3), "kernel/top.ko.xz");
	CHECK_STREQ(kmod_initrd_path(k, 3), "kernel/top.ko");
	CHECK_STREQ((dep = dep_text(k)),
		    "kernel/plain.ko:\n"
		    "kernel/z-std.ko: kernel/plain.ko\n"
		    "kernel/gz.ko:\n"
		    "kernel/top.ko: kernel/gz.ko kernel/z-std.ko kernel/plain.ko\n");
	/* the same bytes as the uncompressed file gcc made from the same source */
	path = xasprintf("%s%s/kernel/copy.ko", root, MODDIR);
	CHECK((plain = read_host(path, &plain_size)));
	CHECK(kmod_module_data(k, 3, &data, &size) == 0);
	CHECK(size == plain_size && memcmp(data, plain, size) == 0 && data[size] == 0);
	for (size_t i = 0; i < 3; i++) {
		char *d;

		CHECK(kmod_module_data(k, i, &d, &size) == 0);
		CHECK(size > 64 && memcmp(d, ELFMAG, SELFMAG) == 0);
		free(d);
	}
}

static void test_bad_files(void)
{
	_cleanup_free_ char *root = tree("bad"), *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL,
			    *m5 = NULL, *elf = NULL, *path = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;
	size_t size;

	CHECK(module(root, "kernel/garbage-user.ko", "depends=garbage") == 0);
	CHECK(put_str(root, "kernel/garbage.ko", "this is not ELF\n") == 0);
	CHECK(module(root, "kernel/gone-user.ko", "depends=gone") == 0);
	CHECK(put_str(root, "kernel/fake.ko.xz", "not xz data at all\n") == 0);
	/* truncated after the ELF header: the section headers are missing */
	CHECK(module(root, "kernel/whole.ko", "name=whole") == 0);
	path = xasprintf("%s%s/kernel/whole.ko", root, MODDIR);
	CHECK((elf = read_host(path, &size)));
	CHECK(put(root, "kernel/short.ko", elf, 200) == 0);
	CHECK(open_tree(root, &k) == 0);

	CHECK(resolve(k, "garbage-user", true, false, &m1) == -EBADMSG);
	CHECK_STREQ(m1, "error: '" MODDIR "/kernel/garbage.ko' is not a kernel module: malformed "
			"or truncated ELF file");
	CHECK(resolve(k, "gone-user", true, false, &m2) == -ENOENT);
	CHECK_STREQ(m2, "error: module 'gone_user' (" MODDIR "/kernel/gone-user.ko) depends on "
			"'gone', which is not under " MODDIR " and not built in");
	CHECK(resolve(k, "fake", true, false, &m3) == -EBADMSG);
	CHECK(startswith(m3, "error: cannot decompress '" MODDIR "/kernel/fake.ko.xz': "));
	CHECK(resolve(k, "short", true, false, &m4) == -EBADMSG);
	CHECK_STREQ(m4, "error: '" MODDIR "/kernel/short.ko' is not a kernel module: malformed "
			"or truncated ELF file");
	CHECK(kmod_count(k) == 0);
	(void)m5;
}

static void test_bad_index(void)
{
	_cleanup_free_ char *r1 = tree("bad-index1"), *r2 = tree("bad-index2"), *r3 = NULL,
			    *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	struct kmod *k = NULL;
	_cleanup_kmod_ struct kmod *k2 = NULL;
	int r;

	CHECK(put_str(r1, "modules.dep", "kernel/a.ko:\n../../etc/evil.ko:\n") == 0);
	capture_begin();
	r = open_tree(r1, &k);
	m1 = capture_end();
	CHECK(r == -EBADMSG && !k);
	CHECK_STREQ(m1, "error: " MODDIR "/modules.dep:2: not a line of modules.dep");

	CHECK(put_str(r2, "modules.dep", "kernel/a.ko: kernel/b.ko\nkernel/c.ko\n") == 0);
	capture_begin();
	r = open_tree(r2, &k);
	m2 = capture_end();
	CHECK(r == -EBADMSG);
	CHECK_STREQ(m2, "error: " MODDIR "/modules.dep:2: not a line of modules.dep");

	/* a dependency without a line of its own (b's line has another path); the same
	 * answer every time */
	CHECK(put_str(r2, "modules.dep",
		      "kernel/a.ko: kernel/c.ko kernel/b.ko\nkernel/c.ko:\nkernel/x/b.ko:\n") == 0);
	CHECK(open_tree(r2, &k2) == 0);
	for (unsigned i = 0; i < 3; i++) {
		free(m3);
		m3 = NULL;
		CHECK(resolve(k2, "a", true, false, &m3) == -EBADMSG);
		CHECK_STREQ(m3, "error: " MODDIR "/modules.dep: dependency 'kernel/b.ko' of "
				"'kernel/a.ko' is not a module of modules.dep");
		CHECK(kmod_count(k2) == 0);
	}

	/* no module directory at all */
	r3 = xasprintf("%s/nothing", tmpdir);
	capture_begin();
	r = open_tree(r3, &k);
	m4 = capture_end();
	CHECK(r == -ENOENT);
	CHECK_STREQ(m4, "error: cannot list '" MODDIR "': No such file or directory");
}

/* A module of updates/ replaces the kernel's; otherwise the first path wins. */
static void test_duplicates(void)
{
	_cleanup_free_ char *root = tree("dup"), *msg = NULL, *sel = NULL;
	_cleanup_kmod_ struct kmod *k = NULL;

	CHECK(module(root, "kernel/drivers/dup.ko", "depends=") == 0);
	CHECK(module(root, "updates/dkms/dup.ko.xz", "depends=") == 0);
	CHECK(module(root, "extra/twice.ko") == 0);
	CHECK(module(root, "kernel/twice.ko") == 0);
	/* build/ and source/ at the top are the kernel's build tree, never modules */
	CHECK(module(root, "build/only.ko") == 0);
	CHECK(open_tree(root, &k) == 0);
	CHECK(resolve(k, "dup twice", true, false, &msg) == 0);
	CHECK_STREQ((sel = selection(k)), "dup twice");
	CHECK_STREQ(kmod_path(k, 0), "updates/dkms/dup.ko.xz");
	CHECK_STREQ(kmod_path(k, 1), "extra/twice.ko");
	free(msg);
	msg = NULL;
	CHECK(resolve(k, "only", true, false, &msg) == -ENOENT);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-kmod.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}

	RUN_TEST(test_modinfo_gcc);
	RUN_TEST(test_modinfo_crafted);
	RUN_TEST(test_modinfo_empty);
	RUN_TEST(test_modinfo_hostile);
	RUN_TEST(test_modinfo_deps);
	RUN_TEST(test_dep_file_wins);
	RUN_TEST(test_dash_underscore);
	RUN_TEST(test_diamond);
	RUN_TEST(test_cycle);
	RUN_TEST(test_unknown);
	RUN_TEST(test_builtin);
	RUN_TEST(test_alias_softdep);
	RUN_TEST(test_compressed);
	RUN_TEST(test_bad_files);
	RUN_TEST(test_bad_index);
	RUN_TEST(test_duplicates);

	if (!getenv("TEST_KMOD_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
