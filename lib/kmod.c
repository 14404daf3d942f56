/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The .modinfo section of kernel modules, read without trusting the file: every offset and
 * size is checked against the buffer before it is used. */
#include "kmod.h"

#include <elf.h>
#include <stddef.h>

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
