/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia boot --audit-writes`: the guest runs on a private copy of the image (or, with
 * --write, on the image, a copy made before), and afterwards every 512-byte sector that
 * differs between the two is mapped back (lib/imgmap, on the one written) to its partition
 * and, in ext2/3/4, to the file or metadata holding it. */
#pragma once

#include <stdint.h>
#include <stdio.h>

/* A sparse copy of `image` in $TMPDIR (or /tmp): *ret_path, a new string. */
int audit_copy(const char *image, char **ret_path);
/* What each partition of the image was written, in bytes. */
struct audit_result {
	unsigned *numbers; /* the partitions' numbers, as Linux numbers them */
	uint64_t *bytes;
	size_t n;
};
void audit_result_done(struct audit_result *a);

/* Prints what `copy` (the one written) changed against `image` (the one before): per partition (every one, 0 bytes too), and
 * per file or metadata within it; the per-partition totals in *ret. Returns 0 or -errno
 * (logged). */
int audit_report(const char *image, const char *copy, FILE *out, struct audit_result *ret);
