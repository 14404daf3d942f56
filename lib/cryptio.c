/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cryptio.h"

#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "log.h"

/* Bytes encrypted and written per pwrite: large enough to amortise the system call, small
 * enough to stay in the cache. A multiple of every sector size. */
#define CRYPTIO_CHUNK (4u << 20)

/* Large writes go through mapped windows of the segment (see struct cryptio_channel): a
 * window is big enough that mapping it costs little per byte, small enough that the next
 * one is faulted in while this one is encrypted. Writes from CRYPTIO_MAP_MIN bytes map. */
#define CRYPTIO_WINDOW (32ull << 20)
#define CRYPTIO_MAP_MIN (1u << 20)

enum cryptio_iv {
	CRYPTIO_IV_PLAIN64,
	CRYPTIO_IV_ESSIV,
};

struct cryptio_cipher {
	EVP_CIPHER_CTX *enc, *dec;
	EVP_CIPHER_CTX *essiv; /* AES-256-ECB keyed with SHA-256(key); NULL for plain64 */
	enum cryptio_iv iv;
	unsigned sector_size;
};

struct cryptio_cipher *cryptio_cipher_free(struct cryptio_cipher *c)
{
	if (!c)
		return NULL;
	/* EVP_CIPHER_CTX_free() cleanses the key schedules. */
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_CIPHER_CTX_free(c->essiv);
	free(c);
	return NULL;
}

unsigned cryptio_cipher_sector_size(const struct cryptio_cipher *c)
{
	return c->sector_size;
}

static const EVP_CIPHER *aes_cipher(bool xts, size_t key_len)
{
	if (xts)
		return key_len == 32 ? EVP_aes_128_xts() : key_len == 64 ? EVP_aes_256_xts() : NULL;
	switch (key_len) {
	case 16:
		return EVP_aes_128_cbc();
	case 24:
		return EVP_aes_192_cbc();
	case 32:
		return EVP_aes_256_cbc();
	default:
		return NULL;
	}
}

static EVP_CIPHER_CTX *ctx_new(const EVP_CIPHER *type, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return NULL;
	if (!EVP_CipherInit_ex2(ctx, type, key, NULL, enc, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0)) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int cryptio_cipher_new(const char *spec, const uint8_t *key, size_t key_len, unsigned sector_size,
		       struct cryptio_cipher **ret)
{
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	const EVP_CIPHER *type;
	bool xts;

	if (sector_size != 512 && sector_size != 1024 && sector_size != 2048 &&
	    sector_size != 4096)
		return log_fail("cryptio: sector size %u is not 512, 1024, 2048 or 4096",
				sector_size);
	c = xcalloc(1, sizeof(*c));
	c->sector_size = sector_size;
	if (streq(spec, "aes-xts-plain64")) {
		xts = true;
		c->iv = CRYPTIO_IV_PLAIN64;
	} else if (streq(spec, "aes-cbc-essiv:sha256")) {
		xts = false;
		c->iv = CRYPTIO_IV_ESSIV;
	} else if (streq(spec, "aes-cbc-plain64")) {
		xts = false;
		c->iv = CRYPTIO_IV_PLAIN64;
	} else {
		return log_fail("cryptio: cipher '%s' is not supported (aes-xts-plain64, "
				"aes-cbc-essiv:sha256 or aes-cbc-plain64)",
				spec);
	}
	type = aes_cipher(xts, key_len);
	if (!type)
		return log_fail("cryptio: a %zu-bit key does not fit '%s' (%s)", key_len * 8, spec,
				xts ? "256 or 512 bits" : "128, 192 or 256 bits");

	c->enc = ctx_new(type, key, 1);
	c->dec = ctx_new(type, key, 0);
	if (!c->enc || !c->dec)
		/* OpenSSL refuses XTS keys whose two halves are equal. */
		return log_fail("cryptio: OpenSSL refused the key for '%s'", spec);

	if (c->iv == CRYPTIO_IV_ESSIV) {
		uint8_t salt[32];
		unsigned salt_len = 0;

		if (!EVP_Digest(key, key_len, salt, &salt_len, EVP_sha256(), NULL))
			return log_fail("cryptio: cannot hash the key for ESSIV");
		c->essiv = ctx_new(EVP_aes_256_ecb(), salt, 1);
		explicit_bzero(salt, sizeof(salt));
		if (!c->essiv)
			return log_fail("cryptio: cannot set up the ESSIV cipher");
	}
	*ret = TAKE_PTR(c);
	return 0;
}

static int make_iv(struct cryptio_cipher *c, uint64_t sector, uint8_t iv[static 16])
{
	int n;

	memset(iv, 0, 16);
	for (unsigned i = 0; i < 8; i++)
		iv[i] = (uint8_t)(sector >> (8 * i));
	if (c->iv == CRYPTIO_IV_ESSIV &&
	    (!EVP_EncryptUpdate(c->essiv, iv, &n, iv, 16) || n != 16))
		return -EIO;
	return 0;
}

/* in and out may be the same buffer. */
static int crypt_sectors(struct cryptio_cipher *c, EVP_CIPHER_CTX *ctx, void *out,
			 const void *in, size_t len, uint64_t segment_offset)
{
	unsigned ss = c->sector_size;
	uint8_t *p = out;
	const uint8_t *q = in;
	uint8_t iv[16];

	if (len % ss || segment_offset % ss)
		return log_fail("cryptio: %zu bytes at offset %" PRIu64 " are not whole %u-byte "
				"sectors",
				len, segment_offset, ss);
	for (size_t done = 0; done < len; done += ss) {
		int n;

		if (make_iv(c, (segment_offset + done) / 512, iv) < 0 ||
		    !EVP_CipherInit_ex2(ctx, NULL, NULL, iv, -1, NULL) ||
		    !EVP_CipherUpdate(ctx, p + done, &n, q + done, (int)ss) || n != (int)ss) {
			explicit_bzero(iv, sizeof(iv));
			return log_fail("cryptio: OpenSSL failed on the sector at offset %" PRIu64,
					segment_offset + done);
		}
	}
	explicit_bzero(iv, sizeof(iv));
	return 0;
}

int cryptio_encrypt(struct cryptio_cipher *c, void *buf, size_t len, uint64_t segment_offset)
{
	return crypt_sectors(c, c->enc, buf, buf, len, segment_offset);
}

int cryptio_decrypt(struct cryptio_cipher *c, void *buf, size_t len, uint64_t segment_offset)
{
	return crypt_sectors(c, c->dec, buf, buf, len, segment_offset);
}

/* ---- the libext2fs I/O manager ---- */

/* One registered segment; channels hold a reference. */
struct cryptio_reg {
	char *name;
	int fd;
	uint64_t segment_offset, segment_size;
	struct cryptio_cipher *cipher;
	unsigned refs;
	struct cryptio_reg *next;
};

struct cryptio_channel {
	struct cryptio_reg *reg;
	uint64_t fs_offset; /* "offset=": where the channel's byte 0 is in the segment */
	uint8_t *buf;       /* CRYPTIO_CHUNK bytes of bounce buffer */
	bool dirty;         /* written since the last flush */
	struct struct_io_stats stats;

	/* Large whole-sector writes are encrypted straight into the image's page cache through
	 * two mapped windows of the segment: window w lives in slot w % 2. A mapper thread maps
	 * (and prefaults) the next window while the caller's thread encrypts into the current
	 * one, so the cipher and the page-table work use both cores and no encrypted copy is
	 * made. Reads and small writes use pread/pwrite, which see the same pages. Anything
	 * the mapping cannot do (a file shorter than the segment, a failed mmap) falls back to
	 * the bounce buffer. */
	pthread_t mapper;
	bool mapper_started, quit, map_off;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cryptio_window {
		enum { WIN_EMPTY, WIN_PENDING, WIN_READY, WIN_FAILED } state;
		uint64_t idx;  /* which window of the segment */
		uint8_t *map;  /* page-aligned mapping start */
		size_t map_len;
		uint8_t *data; /* segment byte idx * CRYPTIO_WINDOW */
		size_t len;    /* bytes of the segment in this window */
	} win[2];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cryptio_reg *registry;
static unsigned registry_counter;

/* Drops a reference; called with registry_lock held. */
static void reg_unref(struct cryptio_reg *r)
{
	if (--r->refs > 0)
		return;
	close(r->fd);
	free(r->name);
	free(r);
}

/* Reads ciphertext; bytes past the end of the file read as zeros (a sparse image). */
static errcode_t raw_read(struct cryptio_reg *r, uint64_t pos, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t k = pread(r->fd, p, len, (off_t)(r->segment_offset + pos));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return (errcode_t)-log_errno(errno, "cryptio: cannot read %zu bytes at "
						     "offset %" PRIu64 " of '%s'",
						     len, r->segment_offset + pos, r->name);
		}
		if (k == 0) {
			memset(p, 0, len);
			break;
		}
		p += k;
		pos += (uint64_t)k;
		len -= (size_t)k;
	}
	return 0;
}

static errcode_t raw_write(struct cryptio_reg *r, uint64_t pos, const void *buf, size_t len)
{
	int k = pwrite_all(r->fd, buf, len, r->segment_offset + pos);

	if (k < 0)
		return (errcode_t)-log_errno(k, "cryptio: cannot write %zu bytes at offset %" PRIu64
					     " of '%s'",
					     len, r->segment_offset + pos, r->name);
	return 0;
}

static void window_unmap(struct cryptio_window *w)
{
	if (w->map)
		munmap(w->map, w->map_len);
	w->map = w->data = NULL;
}

/* Maps window w->idx (state WIN_PENDING) for writing, faulting its pages in, in place of
 * what the slot held; returns the slot's new state (set by the caller, under the lock). */
static int window_map(struct cryptio_channel *ch, struct cryptio_window *w)
{
	struct cryptio_reg *r = ch->reg;
	uint64_t start = w->idx * CRYPTIO_WINDOW, file_start, aligned;
	size_t len = (size_t)(r->segment_size - start < CRYPTIO_WINDOW ? r->segment_size - start
								 : CRYPTIO_WINDOW);
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	void *m;

	window_unmap(w);
	file_start = r->segment_offset + start;
	aligned = file_start - file_start % (uint64_t)page;
	/* A mapping past the end of the file would fault (SIGBUS) instead of growing it. */
	if (fstat(r->fd, &st) < 0 || (uint64_t)st.st_size < file_start + len)
		return WIN_FAILED;
	m = mmap(NULL, len + (size_t)(file_start - aligned), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, r->fd, (off_t)aligned);
	if (m == MAP_FAILED)
		return WIN_FAILED;
	w->map = m;
	w->map_len = len + (size_t)(file_start - aligned);
	w->data = (uint8_t *)m + (file_start - aligned);
	w->len = len;
	return WIN_READY;
}

static void *mapper_main(void *arg)
{
	struct cryptio_channel *ch = arg;

	pthread_mutex_lock(&ch->lock);
	for (;;) {
		struct cryptio_window *w = NULL;
		int state;

		for (unsigned i = 0; i < 2 && !w; i++)
			if (ch->win[i].state == WIN_PENDING)
				w = &ch->win[i];
		if (!w) {
			if (ch->quit)
				break;
			pthread_cond_wait(&ch->cond, &ch->lock);
			continue;
		}
		/* The caller's thread never touches a pending slot's mapping: no lock needed. */
		pthread_mutex_unlock(&ch->lock);
		state = window_map(ch, w);
		pthread_mutex_lock(&ch->lock);
		w->state = state;
		pthread_cond_broadcast(&ch->cond);
	}
	pthread_mutex_unlock(&ch->lock);
	return NULL;
}

/* Asks the mapper for window idx in its slot (unmapping what the slot held); returns false
 * when no mapper can be started. Called with ch->lock held, the slot not pending. */
static bool window_request(struct cryptio_channel *ch, uint64_t idx)
{
	struct cryptio_window *w = &ch->win[idx % 2];

	if (!ch->mapper_started) {
		if (pthread_create(&ch->mapper, NULL, mapper_main, ch) != 0)
			return false;
		ch->mapper_started = true;
	}
	w->idx = idx; /* the mapper unmaps what the slot held */
	w->state = WIN_PENDING;
	pthread_cond_broadcast(&ch->cond);
	return true;
}

/* The mapped window holding segment byte pos, mapping it (and asking for the next one) if
 * want_map; NULL when the write should go through the bounce buffer instead. */
static struct cryptio_window *window_get(struct cryptio_channel *ch, uint64_t pos, bool want_map)
{
	uint64_t idx = pos / CRYPTIO_WINDOW;
	struct cryptio_window *w = &ch->win[idx % 2], *next = &ch->win[(idx + 1) % 2];

	if (ch->map_off)
		return NULL;
	pthread_mutex_lock(&ch->lock);
	while (w->state == WIN_PENDING)
		pthread_cond_wait(&ch->cond, &ch->lock);
	if (w->idx != idx || w->state != WIN_READY) {
		if (!want_map || !window_request(ch, idx)) {
			pthread_mutex_unlock(&ch->lock);
			return NULL;
		}
		while (w->state == WIN_PENDING)
			pthread_cond_wait(&ch->cond, &ch->lock);
		if (w->state != WIN_READY) {
			/* This file cannot be mapped (too short, or mmap refused): stop trying. */
			ch->map_off = true;
			pthread_mutex_unlock(&ch->lock);
			return NULL;
		}
	}
	/* Sequential writes come next: prefault the following window meanwhile. */
	if (want_map && (idx + 1) * CRYPTIO_WINDOW < ch->reg->segment_size &&
	    next->state != WIN_PENDING && !(next->idx == idx + 1 && next->state == WIN_READY))
		window_request(ch, idx + 1);
	pthread_mutex_unlock(&ch->lock);
	return w;
}

static void mapper_stop(struct cryptio_channel *ch)
{
	if (ch->mapper_started) {
		pthread_mutex_lock(&ch->lock);
		ch->quit = true;
		pthread_cond_broadcast(&ch->cond);
		pthread_mutex_unlock(&ch->lock);
		pthread_join(ch->mapper, NULL);
		ch->mapper_started = false;
	}
	window_unmap(&ch->win[0]);
	window_unmap(&ch->win[1]);
}

static errcode_t check_range(struct cryptio_reg *r, const char *what, uint64_t pos, uint64_t len)
{
	if (pos > r->segment_size || len > r->segment_size - pos) {
		log_error("cryptio: cannot %s %" PRIu64 " bytes at offset %" PRIu64 " of '%s': "
			  "past the end of the encrypted segment (%" PRIu64 " bytes)",
			  what, len, pos, r->name, r->segment_size);
		return ENOSPC;
	}
	return 0;
}

/* Reads len bytes at pos of the segment, decrypted. */
static errcode_t seg_read(struct cryptio_channel *ch, uint64_t pos, void *data, size_t len)
{
	struct cryptio_reg *r = ch->reg;
	unsigned ss = r->cipher->sector_size;
	uint8_t *dst = data;
	errcode_t err;

	err = check_range(r, "read", pos, len);
	if (err)
		return err;
	while (len > 0) {
		uint64_t sector = align_down(pos, ss);
		size_t n;

		if (pos != sector || len < ss) {
			/* A partial sector, through the bounce buffer. */
			n = ss - (size_t)(pos - sector);
			if (n > len)
				n = len;
			err = raw_read(r, sector, ch->buf, ss);
			if (err)
				return err;
			if (cryptio_decrypt(r->cipher, ch->buf, ss, sector) < 0)
				return EXT2_ET_SHORT_READ;
			memcpy(dst, ch->buf + (pos - sector), n);
		} else {
			/* Whole sectors, decrypted where they land. */
			n = align_down(len, ss);
			err = raw_read(r, pos, dst, n);
			if (err)
				return err;
			if (cryptio_decrypt(r->cipher, dst, n, pos) < 0)
				return EXT2_ET_SHORT_READ;
		}
		dst += n;
		pos += n;
		len -= n;
	}
	ch->stats.bytes_read += dst - (uint8_t *)data;
	return 0;
}

/* Writes len bytes at pos of the segment, encrypted; data NULL writes zeros. */
static errcode_t seg_write(struct cryptio_channel *ch, uint64_t pos, const void *data, uint64_t len)
{
	struct cryptio_reg *r = ch->reg;
	unsigned ss = r->cipher->sector_size;
	const uint8_t *src = data;
	bool big = len >= CRYPTIO_MAP_MIN;
	errcode_t err;

	err = check_range(r, "write", pos, len);
	if (err)
		return err;
	ch->dirty = true;
	while (len > 0) {
		uint64_t sector = align_down(pos, ss), start = pos, n;
		size_t in = (size_t)(pos - sector), out;
		struct cryptio_window *w = NULL;

		if (in || len < ss) {
			/* A partial sector: read, decrypt, patch, encrypt, write back. */
			n = ss - in < len ? ss - in : len;
			err = raw_read(r, sector, ch->buf, ss);
			if (err)
				return err;
			if (cryptio_decrypt(r->cipher, ch->buf, ss, sector) < 0)
				return EXT2_ET_SHORT_WRITE;
			start = sector;
			out = ss;
		} else {
			/* Whole sectors, a chunk at a time through the bounce buffer. */
			n = align_down(len, ss);
			if (n > CRYPTIO_CHUNK)
				n = CRYPTIO_CHUNK;
			out = (size_t)n;
		}
		/* Whole sectors from the caller's buffer: encrypted straight into the mapped page
		 * cache when the write is large or its window is mapped. */
		if (src && !in && n == out)
			w = window_get(ch, pos, big);
		if (w) {
			uint64_t off = pos - w->idx * CRYPTIO_WINDOW;

			n = align_down(len, ss);
			if (n > w->len - off)
				n = w->len - off;
			if (crypt_sectors(r->cipher, r->cipher->enc, w->data + off, src, n, pos) < 0)
				return EXT2_ET_SHORT_WRITE;
		} else {
			if (src)
				memcpy(ch->buf + in, src, n);
			else
				memset(ch->buf + in, 0, n);
			if (cryptio_encrypt(r->cipher, ch->buf, out, start) < 0)
				return EXT2_ET_SHORT_WRITE;
			err = raw_write(r, start, ch->buf, out);
			if (err)
				return err;
		}
		if (src)
			src += n;
		pos += n;
		len -= n;
		ch->stats.bytes_written += n;
	}
	return 0;
}

static errcode_t cryptio_open(const char *name, int flags, io_channel *ret);

static errcode_t cryptio_close(io_channel channel)
{
	struct cryptio_channel *ch = channel->private_data;
	errcode_t err = 0;

	if (--channel->refcount > 0)
		return 0;
	mapper_stop(ch);
	pthread_mutex_destroy(&ch->lock);
	pthread_cond_destroy(&ch->cond);
	if (ch->dirty && fdatasync(ch->reg->fd) < 0)
		err = (errcode_t)-log_errno(errno, "cryptio: cannot sync '%s'", ch->reg->name);
	pthread_mutex_lock(&registry_lock);
	reg_unref(ch->reg);
	pthread_mutex_unlock(&registry_lock);
	free(ch->buf);
	free(ch);
	free(channel->name);
	free(channel);
	return err;
}

static errcode_t cryptio_set_blksize(io_channel channel, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	channel->block_size = blksize;
	return 0;
}

/* A block count is blocks of channel->block_size; a negative one is bytes. */
static uint64_t count_bytes(io_channel channel, int count)
{
	if (count < 0)
		return (uint64_t)-(int64_t)count;
	return (uint64_t)count * (uint64_t)channel->block_size;
}

static errcode_t cryptio_read_blk64(io_channel channel, unsigned long long block, int count,
				    void *data)
{
	struct cryptio_channel *ch = channel->private_data;
	uint64_t len = count_bytes(channel, count);

	if (len > SIZE_MAX)
		return EXT2_ET_INVALID_ARGUMENT;
	return seg_read(ch, ch->fs_offset + block * (uint64_t)channel->block_size, data, len);
}

static errcode_t cryptio_write_blk64(io_channel channel, unsigned long long block, int count,
				     const void *data)
{
	struct cryptio_channel *ch = channel->private_data;

	return seg_write(ch, ch->fs_offset + block * (uint64_t)channel->block_size, data,
			 count_bytes(channel, count));
}

static errcode_t cryptio_read_blk(io_channel channel, unsigned long block, int count, void *data)
{
	return cryptio_read_blk64(channel, block, count, data);
}

static errcode_t cryptio_write_blk(io_channel channel, unsigned long block, int count,
				   const void *data)
{
	return cryptio_write_blk64(channel, block, count, data);
}

static errcode_t cryptio_write_byte(io_channel channel, unsigned long offset, int count,
				    const void *data)
{
	struct cryptio_channel *ch = channel->private_data;

	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	return seg_write(ch, ch->fs_offset + offset, data, (uint64_t)count);
}

static errcode_t cryptio_flush(io_channel channel)
{
	struct cryptio_channel *ch = channel->private_data;

	if (ch->dirty && fdatasync(ch->reg->fd) < 0)
		return (errcode_t)-log_errno(errno, "cryptio: cannot sync '%s'", ch->reg->name);
	ch->dirty = false;
	return 0;
}

static errcode_t cryptio_set_option(io_channel channel, const char *option, const char *arg)
{
	struct cryptio_channel *ch = channel->private_data;

	if (streq(option, "offset")) {
		unsigned long long v;
		char *end;

		if (!arg || !*arg)
			return EXT2_ET_INVALID_ARGUMENT;
		errno = 0;
		v = strtoull(arg, &end, 0);
		if (errno || *end || arg[0] == '-')
			return EXT2_ET_INVALID_ARGUMENT;
		ch->fs_offset = v;
		return 0;
	}
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t cryptio_get_stats(io_channel channel, io_stats *ret)
{
	struct cryptio_channel *ch = channel->private_data;

	if (ret)
		*ret = &ch->stats;
	return 0;
}

/* Not implemented on purpose: a hole reads as garbage through dm-crypt and shows which blocks
 * are in use. libext2fs falls back to writing (or skips discarding). */
static errcode_t cryptio_discard(io_channel channel, unsigned long long block,
				 unsigned long long count)
{
	return EXT2_ET_UNIMPLEMENTED;
}

static errcode_t cryptio_cache_readahead(io_channel channel, unsigned long long block,
					 unsigned long long count)
{
	return 0;
}

/* Encrypted zeros, so that the mapped device reads zeros. */
static errcode_t cryptio_zeroout(io_channel channel, unsigned long long block,
				 unsigned long long count)
{
	struct cryptio_channel *ch = channel->private_data;
	uint64_t bs = (uint64_t)channel->block_size;

	if (count > UINT64_MAX / bs)
		return EXT2_ET_INVALID_ARGUMENT;
	return seg_write(ch, ch->fs_offset + block * bs, NULL, count * bs);
}

static struct struct_io_manager cryptio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "cryptio",
	.open = cryptio_open,
	.close = cryptio_close,
	.set_blksize = cryptio_set_blksize,
	.read_blk = cryptio_read_blk,
	.write_blk = cryptio_write_blk,
	.flush = cryptio_flush,
	.write_byte = cryptio_write_byte,
	.set_option = cryptio_set_option,
	.get_stats = cryptio_get_stats,
	.read_blk64 = cryptio_read_blk64,
	.write_blk64 = cryptio_write_blk64,
	.discard = cryptio_discard,
	.cache_readahead = cryptio_cache_readahead,
	.zeroout = cryptio_zeroout,
};

static errcode_t cryptio_open(const char *name, int flags, io_channel *ret)
{
	struct cryptio_reg *r;
	struct cryptio_channel *ch;
	io_channel channel;
	void *buf;

	if (!name)
		return EXT2_ET_BAD_DEVICE_NAME;
	pthread_mutex_lock(&registry_lock);
	for (r = registry; r; r = r->next)
		if (streq(r->name, name))
			break;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&registry_lock);
	if (!r) {
		log_error("cryptio: no encrypted segment registered as '%s'", name);
		return EXT2_ET_BAD_DEVICE_NAME;
	}

	if (posix_memalign(&buf, 4096, CRYPTIO_CHUNK) != 0) {
		log_error("cryptio: out of memory");
		abort();
	}
	ch = xcalloc(1, sizeof(*ch));
	ch->reg = r;
	ch->buf = buf;
	ch->stats.num_fields = 2;
	pthread_mutex_init(&ch->lock, NULL);
	pthread_cond_init(&ch->cond, NULL);
	channel = xcalloc(1, sizeof(*channel));
	channel->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	channel->manager = &cryptio_manager;
	channel->name = xstrdup(name);
	channel->block_size = 1024;
	channel->refcount = 1;
	channel->private_data = ch;
	*ret = channel;
	return 0;
}

int cryptio_manager_register(int fd, uint64_t segment_offset, uint64_t segment_size,
			     struct cryptio_cipher *c, io_manager *ret_manager, char **ret_name)
{
	struct cryptio_reg *r;
	int dfd;

	if (segment_size % c->sector_size)
		return log_fail("cryptio: the encrypted segment (%" PRIu64 " bytes) is not a "
				"whole number of %u-byte sectors",
				segment_size, c->sector_size);
	if (segment_offset > UINT64_MAX - segment_size || segment_offset + segment_size > INT64_MAX)
		return log_fail("cryptio: the encrypted segment is out of range");
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return log_errno(errno, "cryptio: cannot duplicate the image's descriptor");

	r = xcalloc(1, sizeof(*r));
	r->fd = dfd;
	r->segment_offset = segment_offset;
	r->segment_size = segment_size;
	r->cipher = c;
	r->refs = 1;
	pthread_mutex_lock(&registry_lock);
	r->name = xasprintf("cryptio:%u", ++registry_counter);
	r->next = registry;
	registry = r;
	pthread_mutex_unlock(&registry_lock);

	*ret_manager = &cryptio_manager;
	*ret_name = xstrdup(r->name);
	return 0;
}

void cryptio_manager_unregister(const char *name)
{
	if (!name)
		return;
	pthread_mutex_lock(&registry_lock);
	for (struct cryptio_reg **p = &registry; *p; p = &(*p)->next) {
		struct cryptio_reg *r = *p;

		if (streq(r->name, name)) {
			*p = r->next;
			reg_unref(r);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* ---- shred ---- */

int cryptio_fill_random(int fd, uint64_t offset, uint64_t length, const uint8_t seed[32])
{
	static const uint8_t zeros[CRYPTIO_CHUNK];
	_cleanup_free_ uint8_t *buf = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t key[32], iv[16] = { 0 };
	uint64_t block = offset / 16;
	int n, r = 0;

	if (offset > UINT64_MAX - length)
		return log_fail("cryptio: cannot fill %" PRIu64 " bytes at offset %" PRIu64
				": out of range",
				length, offset);
	if (seed)
		memcpy(key, seed, 32);
	else if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return log_errno(errno, "cryptio: cannot get a random key");
	/* The counter block is the 16-byte block index, big-endian, so that each byte depends
	 * on its offset only. */
	for (unsigned i = 0; i < 8; i++)
		iv[15 - i] = (uint8_t)(block >> (8 * i));
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_EncryptInit_ex2(ctx, EVP_aes_256_ctr(), key, iv, NULL)) {
		r = log_fail("cryptio: cannot set up AES-256-CTR");
		goto out;
	}
	buf = xmalloc(CRYPTIO_CHUNK);
	if (offset % 16 && !EVP_EncryptUpdate(ctx, buf, &n, zeros, (int)(offset % 16))) {
		r = log_fail("cryptio: AES-256-CTR failed");
		goto out;
	}
	while (length > 0) {
		size_t len = length < CRYPTIO_CHUNK ? (size_t)length : CRYPTIO_CHUNK;

		if (!EVP_EncryptUpdate(ctx, buf, &n, zeros, (int)len) || n != (int)len) {
			r = log_fail("cryptio: AES-256-CTR failed");
			goto out;
		}
		r = pwrite_all(fd, buf, len, offset);
		if (r < 0) {
			log_errno(r, "cryptio: cannot write %zu random bytes at offset %" PRIu64,
				  len, offset);
			goto out;
		}
		offset += len;
		length -= len;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(key, sizeof(key));
	return r;
}
