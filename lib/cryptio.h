/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dm-crypt's data format in user space: a filesystem inside an encrypted partition is written
 * through libext2fs with no plaintext touching the image.
 *
 * Ciphers (dm-crypt spec strings), each applied sector by sector, a sector being 512, 1024,
 * 2048 or 4096 bytes:
 *   aes-xts-plain64        key 32 or 64 bytes (AES-128/256-XTS), IV = LE u64 sector number;
 *   aes-cbc-essiv:sha256   key 16, 24 or 32 bytes, IV = AES-256 (keyed with SHA-256(key)) of
 *                          the LE u64 sector number (plain mode's default in cryptsetup 2.6);
 *   aes-cbc-plain64        key 16, 24 or 32 bytes, IV = LE u64 sector number.
 * The sector number in the IV always counts 512-byte units from the start of the encrypted
 * segment, whatever the sector size (dm-crypt without iv_large_sectors, as LUKS2 sets it
 * up): the sector at byte offset o of the segment has IV o / 512.
 *
 * The I/O manager reads and writes an image file's encrypted segment (partition offset plus
 * LUKS data offset) for libext2fs, decrypting on read and encrypting on write, with
 * read-modify-write for anything not aligned to the crypt sector. It refuses I/O past the
 * segment's end. zeroout writes encrypted zeros (so the mapped device reads zeros); discard
 * is not implemented (holes would read as garbage and show which blocks are used).
 * The channel option "offset=N" places the filesystem N bytes into the segment (default 0);
 * IVs still count from the segment's start.
 *
 * Errors are logged here, once, prefixed "cryptio: ". Cipher contexts are not thread-safe. */
#pragma once

#include <ext2fs/ext2fs.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct cryptio_cipher;

/* A cipher context for spec ("aes-xts-plain64", ...) with the volume key. The key is not
 * kept outside OpenSSL's key schedule, which OpenSSL wipes when the context is freed. */
int cryptio_cipher_new(const char *spec, const uint8_t *key, size_t key_len, unsigned sector_size,
		       struct cryptio_cipher **ret);
struct cryptio_cipher *cryptio_cipher_free(struct cryptio_cipher *c);
static inline void cryptio_cipher_freep(struct cryptio_cipher **c)
{
	cryptio_cipher_free(*c);
}
#define _cleanup_cryptio_cipher_ _cleanup_(cryptio_cipher_freep)
unsigned cryptio_cipher_sector_size(const struct cryptio_cipher *c);

/* In place; len and segment_offset (the bytes' offset in the encrypted segment) are multiples
 * of the sector size. -EINVAL otherwise, -EIO if OpenSSL fails. */
int cryptio_encrypt(struct cryptio_cipher *c, void *buf, size_t len, uint64_t segment_offset);
int cryptio_decrypt(struct cryptio_cipher *c, void *buf, size_t len, uint64_t segment_offset);

/* Registers an I/O manager over [segment_offset, segment_offset + segment_size) of the file
 * open at fd (dup'ed: the caller may close its own). Channels are opened by the returned name
 * (ext2fs_initialize(*ret_name, ...) or ext2fs_open2(*ret_name, ...) with *ret_manager);
 * c must stay alive until every channel is closed. segment_size is a multiple of the
 * sector size. */
int cryptio_manager_register(int fd, uint64_t segment_offset, uint64_t segment_size,
			     struct cryptio_cipher *c, io_manager *ret_manager, char **ret_name);
/* Forgets name (channels already open keep working until closed) and frees the manager's
 * state once its last channel is closed. Accepts NULL. */
void cryptio_manager_unregister(const char *name);

/* Fills [offset, offset + length) of fd with an AES-256-CTR keystream keyed by seed, or by
 * a random key when seed is NULL. The byte at a given offset depends only on the seed and
 * that offset, so adjacent fills equal one big fill. */
int cryptio_fill_random(int fd, uint64_t offset, uint64_t length, const uint8_t seed[32]);
