/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "elfinfo.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

static uint64_t get(const uint8_t *p, unsigned n, bool be)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[be ? n - 1 - i : i] << (8 * i);
	return v;
}

int elf_interp(const void *data, size_t size, char **ret_interp)
{
	const uint8_t *d = data;
	bool is64, be;
	uint64_t phoff, phentsize, phnum;

	if (size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (d[EI_CLASS] != ELFCLASS32 && d[EI_CLASS] != ELFCLASS64)
		return -EBADMSG;
	is64 = d[EI_CLASS] == ELFCLASS64;
	be = d[EI_DATA] == ELFDATA2MSB;
	if (size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return -EBADMSG;
	if (get(d + 16, 2, be) != ET_EXEC && get(d + 16, 2, be) != ET_DYN)
		return -ENOEXEC;
	phoff = get(d + (is64 ? 32 : 28), is64 ? 8 : 4, be);
	phentsize = get(d + (is64 ? 54 : 42), 2, be);
	phnum = get(d + (is64 ? 56 : 44), 2, be);
	if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phoff > size ||
	    phnum > (size - phoff) / phentsize)
		return -EBADMSG;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = d + phoff + i * phentsize;
		uint64_t off, len;

		if (get(ph, 4, be) != PT_INTERP)
			continue;
		off = get(ph + (is64 ? 8 : 4), is64 ? 8 : 4, be);
		len = get(ph + (is64 ? 32 : 16), is64 ? 8 : 4, be);
		if (off > size || len > size - off || len == 0 || len > 4096)
			return -EBADMSG;
		*ret_interp = xstrndup((const char *)d + off, strnlen((const char *)d + off, len));
		return 0;
	}
	*ret_interp = NULL;
	return 0;
}

/* The file offset of virtual address `addr`, through the PT_LOAD segments. */
static int vaddr_to_offset(const uint8_t *d, size_t size, bool is64, bool be, uint64_t phoff,
			   uint64_t phentsize, uint64_t phnum, uint64_t addr, uint64_t *ret)
{
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = d + phoff + i * phentsize;
		uint64_t off, vaddr, filesz;

		if (get(ph, 4, be) != PT_LOAD)
			continue;
		off = get(ph + (is64 ? 8 : 4), is64 ? 8 : 4, be);
		vaddr = get(ph + (is64 ? 16 : 8), is64 ? 8 : 4, be);
		filesz = get(ph + (is64 ? 32 : 16), is64 ? 8 : 4, be);
		if (addr >= vaddr && addr - vaddr < filesz) {
			if (off > size || addr - vaddr > size - off)
				return -EBADMSG;
			*ret = off + (addr - vaddr);
			return 0;
		}
	}
	return -EBADMSG;
}

int elf_needed(const void *data, size_t size, char ***ret_needed)
{
	const uint8_t *d = data;
	_cleanup_strv_free_ char **needed = NULL;
	bool is64, be;
	uint64_t phoff, phentsize, phnum, dyn_off = 0, dyn_size = 0, strtab = 0, strsz = 0;
	uint64_t stroff, entsize;
	bool have_dyn = false;
	int r;

	if (size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (d[EI_CLASS] != ELFCLASS32 && d[EI_CLASS] != ELFCLASS64)
		return -EBADMSG;
	is64 = d[EI_CLASS] == ELFCLASS64;
	be = d[EI_DATA] == ELFDATA2MSB;
	if (size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return -EBADMSG;
	phoff = get(d + (is64 ? 32 : 28), is64 ? 8 : 4, be);
	phentsize = get(d + (is64 ? 54 : 42), 2, be);
	phnum = get(d + (is64 ? 56 : 44), 2, be);
	if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phoff > size ||
	    phnum > (size - phoff) / phentsize)
		return -EBADMSG;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = d + phoff + i * phentsize;

		if (get(ph, 4, be) != PT_DYNAMIC)
			continue;
		dyn_off = get(ph + (is64 ? 8 : 4), is64 ? 8 : 4, be);
		dyn_size = get(ph + (is64 ? 32 : 16), is64 ? 8 : 4, be);
		have_dyn = true;
	}
	if (!have_dyn) {
		*ret_needed = xcalloc(1, sizeof(char *));
		return 0;
	}
	entsize = is64 ? 16 : 8;
	if (dyn_off > size || dyn_size > size - dyn_off)
		return -EBADMSG;
	for (uint64_t o = dyn_off; o + entsize <= dyn_off + dyn_size; o += entsize) {
		uint64_t tag = get(d + o, is64 ? 8 : 4, be), val = get(d + o + entsize / 2,
								  is64 ? 8 : 4, be);

		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB)
			strtab = val;
		else if (tag == DT_STRSZ)
			strsz = val;
	}
	if (!strtab || !strsz)
		return -EBADMSG;
	r = vaddr_to_offset(d, size, is64, be, phoff, phentsize, phnum, strtab, &stroff);
	if (r < 0)
		return r;
	if (strsz > size - stroff)
		return -EBADMSG;
	for (uint64_t o = dyn_off; o + entsize <= dyn_off + dyn_size; o += entsize) {
		uint64_t tag = get(d + o, is64 ? 8 : 4, be), val = get(d + o + entsize / 2,
								  is64 ? 8 : 4, be);
		const char *s;
		size_t len;

		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED)
			continue;
		if (val >= strsz)
			return -EBADMSG;
		s = (const char *)d + stroff + val;
		len = strnlen(s, strsz - val);
		if (len == strsz - val || len == 0 || memchr(s, '/', len))
			return -EBADMSG;
		needed = strv_append(needed, s);
	}
	if (!needed)
		needed = xcalloc(1, sizeof(char *));
	*ret_needed = TAKE_PTR(needed);
	return 0;
}
