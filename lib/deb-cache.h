/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The unpack cache: a large data member's decompressed data.tar kept as zstd, so that a later
 * unpack of the same .deb skips the xz decoding (for a kernel package, most of an image's
 * unpacking time).
 *
 * A cached payload is "<dir>/<id>.zst", id being the .deb's SHA-256 (which the signed index
 * vouches for). Its first bytes are a header: a magic line and an HMAC-SHA256, keyed by
 * "<dir>/key" (32 random bytes made on first use, mode 0600), over the id and every byte
 * that follows the header. Only a payload whose HMAC checks is read, so a file put into
 * the cache by anyone who cannot read the key is never unpacked; one that does not check is
 * removed. A payload is written beside its final name and renamed once complete.
 *
 * Internal to the deb module (lib/deb.c); no logging: failures are -errno, and the caller
 * decides (a payload that cannot be written is simply not cached). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DEB_CACHE_KEY_SIZE 32

struct deb_cache {
	const char *dir;    /* "<cache>/unpack" */
	const uint8_t *key; /* DEB_CACHE_KEY_SIZE bytes */
	const char *id;     /* the .deb's SHA-256, lowercase hex */
};

/* Reads "<dir>/key", or makes it (and dir) when missing. -EINVAL when it is not a regular
 * file of DEB_CACHE_KEY_SIZE bytes. */
int deb_cache_key(const char *dir, uint8_t key[static DEB_CACHE_KEY_SIZE]);

struct deb_cache_reader;
/* 1 and a reader when the payload is there and its HMAC checks; 0 when it is not there, or
 * did not check (then it is removed, and *ret_bad is set); -errno on another error. */
int deb_cache_open(const struct deb_cache *c, struct deb_cache_reader **ret, int *ret_bad);
/* The next piece of the data.tar: length 0 at its end; -EIO when the zstd data is bad. */
int deb_cache_read(struct deb_cache_reader *r, const void **ret_buf, size_t *ret_len);
void deb_cache_reader_free(struct deb_cache_reader *r);

struct deb_cache_writer;
int deb_cache_create(const struct deb_cache *c, struct deb_cache_writer **ret);
int deb_cache_write(struct deb_cache_writer *w, const void *buf, size_t len);
/* Ends the stream, writes the header and gives the file its name. */
int deb_cache_commit(struct deb_cache_writer *w);
/* Removes the temporary file unless committed. */
void deb_cache_writer_free(struct deb_cache_writer *w);
