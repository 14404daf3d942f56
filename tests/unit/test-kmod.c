/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/kmod.c. Module fixtures are real ELF relocatables: a C file holding
 * the .modinfo strings compiled by gcc (also -m32); big-endian and extended-numbering ELF
 * files are assembled here, and hostile ones are made by damaging gcc's output. */
#include "kmod.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "check.h"
#include "util.h"

#define MODDIR "/lib/modules/6.1.0-test"

static char tmpdir[64];

/* ---- helpers ---- */

static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;
	int status;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		fprintf(stderr, "  command failed (%d): %s\n", status, cmd);
	return status;
}

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

	if (!getenv("TEST_KMOD_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
