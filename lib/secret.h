/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Secrets in memory: passphrases, keyfiles and volume keys.
 *
 * The bytes live in their own anonymous mapping, locked in RAM (best effort: when mlock fails,
 * e.g. over RLIMIT_MEMLOCK, that is said once at debug level), left out of core dumps
 * (MADV_DONTDUMP) and wiped with explicit_bzero() when freed.
 *
 * Sources:
 * - a passphrase (file, fd, environment, terminal) is what one types at the boot prompt:
 *   one trailing "\n" is dropped; it must not be empty, nor hold another newline or a NUL
 *   byte (no prompt can type those); at most SECRET_PASSPHRASE_MAX bytes are read;
 * - a keyfile is taken byte for byte, as `cryptsetup --key-file` does; not empty, at most
 *   SECRET_KEYFILE_MAX bytes.
 * A file readable by group or others is used, with a warning.
 *
 * Nothing here ever prints a secret: messages name the source ("passphrase file
 * 'keys/root.pass'", "fd 3", "environment variable 'ROOT_PASS'"), never the content.
 * Errors are logged here, once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SECRET_PASSPHRASE_MAX (8u << 10)
#define SECRET_KEYFILE_MAX (8u << 20)

struct secret {
	uint8_t *data; /* len bytes, then zeros up to the end of the mapping */
	size_t len;
	size_t alloc; /* private: the mapping's size */
};

/* len zero bytes (len may be 0; data is never NULL). Aborts when out of memory, like
 * xmalloc(). */
struct secret *secret_new(size_t len);
/* Wipes and unmaps; accepts NULL, returns NULL. */
struct secret *secret_free(struct secret *s);
static inline void secret_freep(struct secret **s)
{
	secret_free(*s);
}

/* A copy of len bytes. */
struct secret *secret_dup(const void *data, size_t len);
/* Constant time in len when both lengths are equal. */
bool secret_equal(const struct secret *a, const struct secret *b);

/* passphrase: the passphrase rules above; false: a keyfile. */
int secret_from_file(const char *path, bool passphrase, struct secret **ret);
/* Reads fd to its end (fd is neither closed nor rewound); messages call it "fd N". */
int secret_from_fd(int fd, bool passphrase, struct secret **ret);
/* A passphrase from the environment variable name, which is then wiped and unset. */
int secret_from_env(const char *name, struct secret **ret);
/* Asks on /dev/tty with echo off; with confirm, twice, and both must match. Without a
 * terminal: an error pointing at passphrase-file and --passphrase-fd. */
int secret_prompt(const char *prompt, bool confirm, struct secret **ret);
