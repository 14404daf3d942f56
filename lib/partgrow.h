/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Growing the last partition of a disk's table to the end of the disk (flash --grow), with
 * libparted: an msdos table's last primary partition, or a GPT's last partition with the
 * backup header moved to the disk's new end. libparted's exceptions are translated here:
 * the two questions a GPT copied to a larger disk raises (the backup is not at the end, not
 * all the space is used) are answered "fix"; any other error is logged and fails. */
#pragma once

#include <stdint.h>

struct partgrow {
	unsigned number;             /* the partition grown, 1-based */
	uint64_t offset;             /* its start, bytes */
	uint64_t old_size, new_size; /* bytes; equal when it already reached the end */
};

/* Grows the last partition of the table on `path` to end at the last MiB boundary the
 * table allows; its start does not move. Returns 0 (ret filled) or -errno, logged. */
int partgrow_last(const char *path, struct partgrow *ret);
