/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A dm-verity hash tree made at build time, without root or device-mapper: the adapter
 * around libcryptsetup's CRYPT_VERITY format.
 *
 * libcryptsetup hashes a data device from its byte 0, so verity_make() copies the data
 * (sparse) into a scratch file in `scratch_dir`, formats a second scratch file as the hash
 * device (a verity superblock, then the tree: format 1, SHA-256, 4096-byte hash blocks; the
 * data block size is the caller's: at most the filesystem's block size, which the kernel
 * cannot mount on a device with larger logical blocks) and copies that into the image at hash_off. Both scratch files are removed on
 * every path. The kernel opens it with
 *   veritysetup open DATA-DEV NAME HASH-DEV ROOT-HASH
 * Errors are logged here, once, prefixed "verity: ". */
#pragma once

#include <stdint.h>

#define VERITY_BLOCK 4096u /* hash blocks, and the superblock's room */

/* The hash device's size for data_len bytes of data in data_block-byte blocks: the
 * superblock and every level. */
uint64_t verity_hash_size(uint64_t data_len, unsigned data_block);

/* Hashes data_len bytes (a multiple of data_block: 512..4096, a power of 2) at data_off of
 * fd and writes the hash device at hash_off (at most hash_len bytes). salt: 32 bytes; uuid: 16. On success
 * *ret_root_hash is the root hash in lowercase hex (a new string). */
int verity_make(int fd, uint64_t data_off, uint64_t data_len, unsigned data_block,
		uint64_t hash_off, uint64_t hash_len, const uint8_t salt[32],
		const uint8_t uuid[16], const char *scratch_dir, char **ret_root_hash);
