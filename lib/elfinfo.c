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
