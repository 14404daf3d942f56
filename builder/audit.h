/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia boot --audit-writes`: the guest runs on a private copy of the image, and
 * afterwards every 512-byte sector that differs from the image is mapped back (lib/imgmap)
 * to its partition and, in ext2/3/4, to the file or metadata holding it. */
#pragma once

#include <stdio.h>

/* A sparse copy of `image` in $TMPDIR (or /tmp): *ret_path, a new string. */
int audit_copy(const char *image, char **ret_path);
/* Prints what `copy` changed against `image`: per partition (every one, 0 bytes too), and
 * per file or metadata within it. Returns 0 or -errno (logged). */
int audit_report(const char *image, const char *copy, FILE *out);
