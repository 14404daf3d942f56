/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Just enough of ELF to tell how a program of the target must be shipped: whether it is
 * static (no PT_INTERP) or which interpreter it asks for. Every offset is bounds-checked:
 * the file comes from a package. */
#pragma once

#include <stddef.h>

/* 0 with *ret_interp = NULL for a static executable, or a copy of its PT_INTERP path;
 * -ENOEXEC when data is not an ELF executable, -EBADMSG when it is malformed. */
int elf_interp(const void *data, size_t size, char **ret_interp);

/* The DT_NEEDED entries of a dynamically linked ELF file (sonames such as "libc.so.6"),
 * in order; an empty list for a static one. -ENOEXEC, -EBADMSG as above. */
int elf_needed(const void *data, size_t size, char ***ret_needed);
