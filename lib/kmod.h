/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel modules for the initramfs: for now, what a module file says about itself. */
#pragma once

#include <stddef.h>

#include "util.h"

/* The strings of the ELF .modinfo section of a module ("license=GPL", "depends=a,b", ...),
 * in order, empty strings (padding) left out, as a NULL-terminated list. ELF32 and ELF64,
 * either byte order. Every offset and size is checked against `size`: a truncated or
 * malformed ELF returns -EBADMSG; one without a .modinfo section -ENODATA. Does not log:
 * the caller names the file. */
int modinfo_parse(const void *elf, size_t size, char ***ret_strv);
