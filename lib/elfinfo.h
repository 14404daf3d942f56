/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Just enough of ELF to tell how a program of the target must be shipped: whether it is
 * static (no PT_INTERP) or which interpreter it asks for. Every offset is bounds-checked:
 * the file comes from a package. */
#pragma once

#include <stddef.h>

/* 0 with *ret_interp = NULL for a static executable, or a copy of its PT_INTERP path;
 * -ENOEXEC when data is not an ELF executable, -EBADMSG when it is malformed. */
int elf_interp(const void *data, size_t size, char **ret_interp);
