/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plaintext of a dm-crypt segment as one file, for a program that knows only files
 * (resize2fs growing the filesystem inside a LUKS partition), without device-mapper.
 *
 * A child process makes itself a private mount namespace, mounts a small tmpfs on /tmp there
 * (so nothing is created on the host's), and serves a FUSE filesystem on /tmp/volume with one
 * file, /tmp/volume/plain, of the segment's size: reads decrypt, writes encrypt (lib/cryptio,
 * read-modify-write for a partial crypt sector), fsync reaches the device. The file is open
 * with direct I/O, so no plaintext stays in the kernel's page cache. The program runs in that
 * namespace and sees the file; nobody else does, and it vanishes with the child.
 *
 * Needs root (mount namespaces and FUSE mounts without a user namespace) and /dev/fuse. */
#pragma once

#include <stdint.h>

#include "cryptio.h"

#define CRYPTFILE_PATH "/tmp/volume/plain"

/* An encrypted segment: [offset, offset + size) of fd (open read-write), encrypted with
 * cipher; size is a multiple of the cipher's sector size. */
struct cryptfile_volume {
	int fd;
	uint64_t offset, size;
	struct cryptio_cipher *cipher;
};

/* Runs argv (one of its strings may be CRYPTFILE_PATH) with v's plaintext at
 * CRYPTFILE_PATH. Returns the program's exit status (0..254), or -errno with a message
 * logged when the file could not be served; *ret_output gets what the program printed
 * (stdout and stderr). */
int cryptfile_run(const struct cryptfile_volume *v, char *const *argv, char **ret_output);
