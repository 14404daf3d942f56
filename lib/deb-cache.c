// SPDX-License-Identifier: GPL-2.0-or-later
#include "deb-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "util.h"

#define MAGIC "mkbootmedia unpack cache 1\n" /* padded with zeros to MAGIC_SIZE */
#define MAGIC_SIZE 32
#define HEADER (MAGIC_SIZE + 32)
#define BUF (1u << 20)
#define LEVEL 1 /* fast to write on the first build; decoding speed hardly depends on it */

/* The key file at path: -ENOENT when there is none. */
static int key_read(const char *path, uint8_t key[static DEB_CACHE_KEY_SIZE])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != DEB_CACHE_KEY_SIZE)
		return -EINVAL;
	return pread_all(fd, key, DEB_CACHE_KEY_SIZE, 0);
}

int deb_cache_key(const char *dir, uint8_t key[static DEB_CACHE_KEY_SIZE])
{
	_cleanup_free_ char *path = xasprintf("%s/key", dir), *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r = key_read(path, key);

	if (r != -ENOENT)
		return r;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (getrandom(key, DEB_CACHE_KEY_SIZE, 0) != DEB_CACHE_KEY_SIZE)
		return -EIO;
	tmp = xasprintf("%s/.key-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -errno;
	r = pwrite_all(fd, key, DEB_CACHE_KEY_SIZE, 0);
	/* Two builds at once: the first key to be linked wins, the other reads it. */
	if (r >= 0 && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	return r == -EEXIST ? key_read(path, key) : r;
}

static EVP_MAC_CTX *mac_new(const struct deb_cache *c)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (ctx && (!EVP_MAC_init(ctx, c->key, DEB_CACHE_KEY_SIZE, params) ||
		    !EVP_MAC_update(ctx, (const unsigned char *)c->id, strlen(c->id) + 1))) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int mac_final(EVP_MAC_CTX *ctx, uint8_t out[static 32])
{
	size_t n = 0;

	return EVP_MAC_final(ctx, out, &n, 32) && n == 32 ? 0 : -EIO;
}

static char *payload_path(const struct deb_cache *c)
{
	return xasprintf("%s/%s.zst", c->dir, c->id);
}

/* ---- reading ---- */

struct deb_cache_reader {
	int fd;
	uint64_t pos, size;
	ZSTD_DCtx *z;
	ZSTD_inBuffer in;
	uint8_t *inbuf, *outbuf;
	size_t last; /* ZSTD_decompressStream()'s last hint: 0 when a frame just ended */
};

void deb_cache_reader_free(struct deb_cache_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->z);
	free(r->inbuf);
	free(r->outbuf);
	free(r);
}

/* The HMAC of the open payload, over the id and everything after the header. */
static int payload_check(const struct deb_cache *c, int fd, uint64_t size, uint8_t *buf)
{
	uint8_t head[HEADER], mac[32];
	EVP_MAC_CTX *ctx;
	int r;

	if (size < HEADER || (r = pread_all(fd, head, HEADER, 0)) < 0)
		return 0;
	if (memcmp(head, MAGIC, sizeof(MAGIC) - 1) != 0)
		return 0;
	ctx = mac_new(c);
	if (!ctx)
		return -ENOMEM;
	for (uint64_t off = HEADER; off < size;) {
		size_t k = size - off < BUF ? (size_t)(size - off) : BUF;

		if ((r = pread_all(fd, buf, k, off)) < 0) {
			EVP_MAC_CTX_free(ctx);
			return r;
		}
		EVP_MAC_update(ctx, buf, k);
		off += k;
	}
	r = mac_final(ctx, mac);
	EVP_MAC_CTX_free(ctx);
	if (r < 0)
		return r;
	return CRYPTO_memcmp(mac, head + MAGIC_SIZE, 32) == 0;
}

int deb_cache_open(const struct deb_cache *c, struct deb_cache_reader **ret, int *ret_bad)
{
	_cleanup_free_ char *path = payload_path(c);
	struct deb_cache_reader *r;
	struct stat st;
	int k;

	*ret_bad = 0;
	r = xcalloc(1, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0) {
		k = errno == ENOENT ? 0 : -errno;
		goto fail;
	}
	if (fstat(r->fd, &st) < 0) {
		k = -errno;
		goto fail;
	}
	r->inbuf = xmalloc(BUF);
	r->outbuf = xmalloc(BUF);
	k = S_ISREG(st.st_mode) ? payload_check(c, r->fd, (uint64_t)st.st_size, r->inbuf) : 0;
	if (k <= 0) {
		if (k == 0) {
			*ret_bad = 1;
			unlink(path);
		}
		goto fail;
	}
	r->z = ZSTD_createDCtx();
	if (!r->z) {
		k = -ENOMEM;
		goto fail;
	}
	r->pos = HEADER;
	r->size = (uint64_t)st.st_size;
	r->last = 1;
	*ret = r;
	return 1;
fail:
	deb_cache_reader_free(r);
	return k;
}

int deb_cache_read(struct deb_cache_reader *r, const void **ret_buf, size_t *ret_len)
{
	ZSTD_outBuffer out = { r->outbuf, BUF, 0 };

	while (out.pos == 0) {
		if (r->in.pos == r->in.size) {
			size_t k = r->size - r->pos < BUF ? (size_t)(r->size - r->pos) : BUF;
			int e;

			if (k == 0) {
				/* The end of the file: a frame must have ended with it. */
				if (r->last != 0)
					return -EIO;
				break;
			}
			if ((e = pread_all(r->fd, r->inbuf, k, r->pos)) < 0)
				return e;
			r->pos += k;
			r->in = (ZSTD_inBuffer){ r->inbuf, k, 0 };
		}
		r->last = ZSTD_decompressStream(r->z, &out, &r->in);
		if (ZSTD_isError(r->last))
			return -EIO;
	}
	*ret_buf = r->outbuf;
	*ret_len = out.pos;
	return 0;
}

/* ---- writing ---- */

struct deb_cache_writer {
	int fd;
	char *tmp, *path;
	uint64_t pos;
	ZSTD_CCtx *z;
	EVP_MAC_CTX *mac;
	uint8_t *outbuf;
	bool committed;
};

void deb_cache_writer_free(struct deb_cache_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp && !w->committed)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	ZSTD_freeCCtx(w->z);
	EVP_MAC_CTX_free(w->mac);
	free(w->outbuf);
	free(w);
}

int deb_cache_create(const struct deb_cache *c, struct deb_cache_writer **ret)
{
	static const uint8_t zero[HEADER];
	struct deb_cache_writer *w = xcalloc(1, sizeof(*w));
	int r;

	w->path = payload_path(c);
	w->tmp = xasprintf("%s/.tmp-XXXXXX", c->dir);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		free(w->tmp);
		w->tmp = NULL;
		goto fail;
	}
	w->z = ZSTD_createCCtx();
	w->mac = mac_new(c);
	w->outbuf = xmalloc(BUF);
	if (!w->z || !w->mac ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, LEVEL))) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = pwrite_all(w->fd, zero, HEADER, 0)) < 0)
		goto fail;
	w->pos = HEADER;
	*ret = w;
	return 0;
fail:
	deb_cache_writer_free(w);
	return r;
}

static int put(struct deb_cache_writer *w, const void *buf, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { buf, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { w->outbuf, BUF, 0 };
		size_t left = ZSTD_compressStream2(w->z, &out, &in, end);
		int r;

		if (ZSTD_isError(left))
			return -EIO;
		if (out.pos) {
			if ((r = pwrite_all(w->fd, w->outbuf, out.pos, w->pos)) < 0)
				return r;
			EVP_MAC_update(w->mac, w->outbuf, out.pos);
			w->pos += out.pos;
		}
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

int deb_cache_write(struct deb_cache_writer *w, const void *buf, size_t len)
{
	return put(w, buf, len, ZSTD_e_continue);
}

int deb_cache_commit(struct deb_cache_writer *w)
{
	uint8_t head[HEADER] = { 0 };
	int r;

	if ((r = put(w, NULL, 0, ZSTD_e_end)) < 0)
		return r;
	memcpy(head, MAGIC, sizeof(MAGIC) - 1);
	if ((r = mac_final(w->mac, head + MAGIC_SIZE)) < 0 ||
	    (r = pwrite_all(w->fd, head, HEADER, 0)) < 0)
		return r;
	if (fchmod(w->fd, 0644) < 0 || rename(w->tmp, w->path) < 0)
		return -errno;
	w->committed = true;
	return 0;
}
