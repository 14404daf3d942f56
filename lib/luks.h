/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The LUKS header of an encrypted partition, made without root or device-mapper: the one
 * adapter around libcryptsetup.
 *
 * libcryptsetup formats devices, not "the header at offset N of this file", so luks_make()
 * formats a sparse scratch file of the partition's size (in the directory given: the
 * output's, so the disk space is where the image goes; removed on every path), reads its
 * first data-offset bytes back, and luks_write_header() copies them into the image at the
 * partition's offset. Those bytes hold the encrypted key slots and no plaintext. The data
 * area after them is the caller's to fill, encrypted with the volume key and the cipher
 * returned (dm-crypt's IV is the 512-byte sector number from the start of the data area,
 * whatever the encryption sector size).
 *
 * Formats:
 * - LUKS2: data offset 16 MiB; sector size 512..4096 (default 4096, the partition size must
 *   be a multiple of it); PBKDF argon2id (default), argon2i or pbkdf2; optional label.
 *   libcryptsetup benchmarks Argon2 on the build host and would take up to 1 GiB of memory
 *   there; its memory is capped (default 64 MiB) so that small targets can unlock.
 * - LUKS1: data offset 2 MiB; sector size 512; PBKDF pbkdf2 only; no label.
 * - plain (`cryptsetup open --type plain`, formerly `cryptsetup create`): no header, data
 *   offset 0, no UUID; the volume key is derived from the passphrase exactly as cryptsetup
 *   2.6 does by default: aes-cbc-essiv:sha256, 256-bit key, passphrase hashed with
 *   ripemd160. A passphrase only (no keyfile): a keyfile is not hashed in plain mode.
 * Ciphers: aes-xts-plain64 (256 or 512-bit keys; default, 512), aes-xts-plain, and
 * aes-cbc-essiv:sha256 (128, 192 or 256), what the initramfs' kernel modules can open.
 *
 * A LUKS volume gets one key slot per secret given: the passphrase's (slot 0) and the
 * keyfile's (slot 1, or 0 alone). The volume key is random unless given.
 *
 * Errors are logged here, once, prefixed "luks: "; libcryptsetup's messages go to our
 * logger at debug level, and its error messages become the reason of ours. */
#pragma once

#include <stdint.h>

#include "secret.h"
#include "util.h"

#define LUKS_MIN_DATA_SIZE (1u << 20) /* room for a minimal filesystem after the header */
#define LUKS_PBKDF_MEMORY_DEFAULT_KIB (64u << 10)
#define LUKS_PBKDF_ITER_MS_DEFAULT 2000u
#define LUKS_LABEL_MAX 47u

enum luks_format {
	LUKS_FORMAT_LUKS2,
	LUKS_FORMAT_LUKS1,
	LUKS_FORMAT_PLAIN,
	_LUKS_FORMAT_MAX,
};
/* "luks2", "luks1", "plain"; NULL-terminated, indexed by enum luks_format. */
extern const char *const luks_format_names[];
const char *luks_format_to_string(enum luks_format f); /* "?" when unknown */
int luks_format_from_string(const char *s);            /* -EINVAL when unknown */

/* Zeros (NULL) everywhere mean the defaults. */
struct luks_opts {
	enum luks_format format;
	const char *cipher;        /* dm-crypt spec; LUKS "aes-xts-plain64", plain
				    * "aes-cbc-essiv:sha256" */
	unsigned key_bits;         /* LUKS 512, plain 256 */
	unsigned sector_size;      /* LUKS2 4096; LUKS1 and plain 512 (the only choice) */
	const char *pbkdf;         /* "argon2id" (LUKS2), "argon2i", "pbkdf2" (LUKS1) */
	unsigned pbkdf_memory_kib; /* Argon2's cap: LUKS_PBKDF_MEMORY_DEFAULT_KIB */
	unsigned pbkdf_iter_ms;    /* unlock time on the build host: LUKS_PBKDF_ITER_MS_DEFAULT */
	const char *label;         /* LUKS2 only; NULL for none */
	const uint8_t *uuid;       /* 16 bytes; NULL: random (LUKS only) */
	const struct secret *passphrase;
	const struct secret *keyfile; /* either or both (LUKS); plain: the passphrase only */
	const struct secret *volume_key; /* NULL: random (LUKS only) */
	const char *plain_hash;          /* plain: "ripemd160" */
};

struct luks_result {
	enum luks_format format;
	uint8_t *header;      /* data_offset bytes; NULL for plain */
	uint64_t data_offset; /* bytes from the partition's start; 0 for plain */
	struct secret *volume_key;
	char *cipher;         /* for dm-crypt: "aes-xts-plain64" */
	unsigned key_bits;
	unsigned sector_size;
	char *uuid;           /* "xxxxxxxx-xxxx-..."; NULL for plain */
};

/* Validates o against partition_size (bytes) and makes the header and volume key. */
/* 0 when mkbootmedia can write and open `spec` (a dm-crypt cipher spec) with a key of
 * key_bits; else -EINVAL and *ret_why says what is wrong and what works. */
int luks_cipher_check(const char *spec, unsigned key_bits, char **ret_why);

int luks_make(const struct luks_opts *o, const char *scratch_dir, uint64_t partition_size,
	      struct luks_result **ret);
struct luks_result *luks_result_free(struct luks_result *r); /* accepts NULL, returns NULL */
static inline void luks_result_freep(struct luks_result **r)
{
	luks_result_free(*r);
}

/* Writes r's header at partition_offset of image_fd; nothing for plain. */
int luks_write_header(int image_fd, uint64_t partition_offset, const struct luks_result *r);

/* Opens the LUKS1 or LUKS2 header at partition_offset of fd (a partition of partition_size
 * bytes) with key (a passphrase or a keyfile's bytes, tried against every key slot): the
 * volume key, cipher, sector size and data offset, in a result without header. The header
 * is read into memory (a memfd) for libcryptsetup: nothing is written anywhere. A key no slot
 * takes is -EPERM, not logged (the caller knows where the key came from); other errors are
 * logged. */
int luks_unlock(int fd, uint64_t partition_offset, uint64_t partition_size,
		const struct secret *key, struct luks_result **ret);
