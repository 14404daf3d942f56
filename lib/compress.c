/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Compressed streams (compress.h): the writer for image outputs, the reader for `flash`. */
#include "compress.h"

#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <openssl/evp.h>

#include "gzpar.h"
#include "log.h"
#include "util.h"

#define OUT_CHUNK (1u << 20)
#define ZSTD_LEVEL 3 /* zstd's own default, as `zstd -T0` */
#define XZ_PRESET 6  /* xz's default */
#define GZIP_LEVEL 6 /* gzip's default */

static const char *const compress_names[] = { "none", "zstd", "xz", "gzip", NULL };
static const char *const compress_suffixes[] = { "", ".zst", ".xz", ".gz", NULL };

const char *compress_type_to_string(enum compress_type t)
{
	return t < _COMPRESS_MAX ? compress_names[t] : "?";
}

enum compress_type compress_type_from_name(const char *name)
{
	for (int t = COMPRESS_ZSTD; t < _COMPRESS_MAX; t++)
		if (endswith(name, compress_suffixes[t]) &&
		    strlen(name) > strlen(compress_suffixes[t]))
			return (enum compress_type)t;
	return COMPRESS_NONE;
}

size_t compress_suffix_len(const char *name)
{
	return strlen(compress_suffixes[compress_type_from_name(name)]);
}

static unsigned cpu_threads(unsigned threads)
{
	long n;

	if (threads)
		return threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct compressor {
	enum compress_type type;
	int fd;
	char *what;
	uint8_t *out;
	EVP_MD_CTX *md;
	ZSTD_CCtx *zstd;
	lzma_stream xz;
	struct gzpar *gz;
};

void compressor_free(struct compressor *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zstd);
	lzma_end(&c->xz);
	gzpar_free(c->gz);
	EVP_MD_CTX_free(c->md);
	free(c->out);
	free(c->what);
	free(c);
}

static int emit_buf(void *userdata, const void *buf, size_t n)
{
	struct compressor *c = userdata;
	const uint8_t *p = buf;
	size_t done = 0;

	EVP_DigestUpdate(c->md, p, n);
	while (done < n) {
		ssize_t k = write(c->fd, p + done, n - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return log_errno(errno, "cannot write '%s'", c->what);
		done += (size_t)k;
	}
	return 0;
}

static int emit(struct compressor *c, size_t n)
{
	return emit_buf(c, c->out, n);
}

int compressor_new(enum compress_type t, int fd, const char *what, unsigned threads,
		   struct compressor **ret)
{
	struct compressor *c = xcalloc(1, sizeof(*c));
	int r = 0;

	c->type = t;
	c->fd = fd;
	c->what = xstrdup(what);
	c->out = xmalloc(OUT_CHUNK);
	c->xz = (lzma_stream)LZMA_STREAM_INIT;
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
		compressor_free(c);
		return -ENOMEM;
	}
	threads = cpu_threads(threads);
	switch (t) {
	case COMPRESS_ZSTD:
		c->zstd = ZSTD_createCCtx();
		if (!c->zstd) {
			r = -ENOMEM;
			break;
		}
		ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_checksumFlag, 1);
		/* Workers even for one thread: zstd's output then does not depend on their
		 * number (it differs without any), so that an image compresses to the same
		 * bytes on any machine. A libzstd built without threads refuses. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_nbWorkers, (int)threads)))
			log_debug("libzstd without threads: compressing in this one");
		break;
	case COMPRESS_XZ: {
		/* The multi-threaded encoder also for one thread: its blocks, and so its
		 * output, do not depend on the number of threads. */
		lzma_mt mt = { .threads = threads, .preset = XZ_PRESET, .check = LZMA_CHECK_CRC64 };
		lzma_ret lr = lzma_stream_encoder_mt(&c->xz, &mt);

		if (lr != LZMA_OK)
			r = log_fail("cannot start the xz compressor for '%s' (liblzma error %d)",
				     what, (int)lr);
		break;
	}
	case COMPRESS_GZIP:
		/* In blocks on every thread, as pigz: the bytes do not depend on their number. */
		r = gzpar_new(threads, GZIP_LEVEL, emit_buf, c, &c->gz);
		break;
	default:
		r = log_fail("'%s': no compression to write", what);
	}
	if (r < 0) {
		compressor_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* One step of the stream: `end` finishes it. Returns 1 when the stream is complete. */
static int step(struct compressor *c, const void *buf, size_t n, bool end)
{
	switch (c->type) {
	case COMPRESS_ZSTD: {
		ZSTD_inBuffer in = { buf, n, 0 };

		for (;;) {
			ZSTD_outBuffer out = { c->out, OUT_CHUNK, 0 };
			size_t left = ZSTD_compressStream2(c->zstd, &out, &in,
							   end ? ZSTD_e_end : ZSTD_e_continue);
			int r;

			if (ZSTD_isError(left))
				return log_fail("cannot compress '%s': %s", c->what,
						ZSTD_getErrorName(left));
			if (out.pos && (r = emit(c, out.pos)) < 0)
				return r;
			if (end ? left == 0 : in.pos == in.size)
				return end;
		}
	}
	case COMPRESS_XZ:
		c->xz.next_in = buf;
		c->xz.avail_in = n;
		for (;;) {
			lzma_ret lr;
			int r;

			c->xz.next_out = c->out;
			c->xz.avail_out = OUT_CHUNK;
			lr = lzma_code(&c->xz, end ? LZMA_FINISH : LZMA_RUN);
			if (lr != LZMA_OK && lr != LZMA_STREAM_END)
				return log_fail("cannot compress '%s' (liblzma error %d)", c->what,
						(int)lr);
			if (OUT_CHUNK - c->xz.avail_out &&
			    (r = emit(c, OUT_CHUNK - c->xz.avail_out)) < 0)
				return r;
			if (lr == LZMA_STREAM_END)
				return 1;
			if (!end && c->xz.avail_in == 0)
				return 0;
		}
	case COMPRESS_GZIP: {
		int r = end ? gzpar_finish(c->gz) : gzpar_write(c->gz, buf, n);

		return r < 0 ? r : end;
	}
	default:
		return -EINVAL;
	}
}

void compressor_set_size(struct compressor *c, uint64_t size)
{
	if (c->type == COMPRESS_ZSTD)
		ZSTD_CCtx_setPledgedSrcSize(c->zstd, size);
}

int compressor_write(struct compressor *c, const void *buf, size_t n)
{
	/* zlib counts in uInt. */
	while (n) {
		size_t k = n < (1u << 30) ? n : (1u << 30);
		int r = step(c, buf, k, false);

		if (r < 0)
			return r;
		buf = (const uint8_t *)buf + k;
		n -= k;
	}
	return 0;
}

int compressor_sink(void *c, const void *buf, size_t n)
{
	return compressor_write(c, buf, n);
}

int compressor_finish(struct compressor *c, char *ret_sha256)
{
	int r = step(c, NULL, 0, true);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (r < 0)
		return r;
	EVP_DigestFinal_ex(c->md, d, &n);
	if (ret_sha256)
		for (unsigned i = 0; i < n; i++)
			sprintf(ret_sha256 + 2 * i, "%02x", d[i]);
	return 0;
}

struct decompressor {
	enum compress_type type;
	int fd;
	char *what;
	uint8_t *in;
	size_t in_len, in_pos;
	bool eof;  /* no more input */
	bool done; /* the stream ended */
	ZSTD_DCtx *zstd;
	lzma_stream xz;
	z_stream gz;
	bool gz_init;
};

void decompressor_free(struct decompressor *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->zstd);
	lzma_end(&d->xz);
	if (d->gz_init)
		inflateEnd(&d->gz);
	free(d->in);
	free(d->what);
	free(d);
}

static int fill(struct decompressor *d)
{
	ssize_t k;

	if (d->in_pos < d->in_len || d->eof)
		return 0;
	do
		k = read(d->fd, d->in, OUT_CHUNK);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return log_errno(errno, "cannot read '%s'", d->what);
	d->in_len = (size_t)k;
	d->in_pos = 0;
	d->eof = k == 0;
	return 0;
}

int decompressor_new(int fd, const char *what, struct decompressor **ret)
{
	struct decompressor *d = xcalloc(1, sizeof(*d));
	static const uint8_t zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const uint8_t xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	int r;

	d->fd = fd;
	d->what = xstrdup(what);
	d->in = xmalloc(OUT_CHUNK);
	d->xz = (lzma_stream)LZMA_STREAM_INIT;
	/* The magic: read up to 6 bytes (a short file is a raw image or a truncated one). */
	while (d->in_len < 6 && !d->eof) {
		ssize_t k = read(fd, d->in + d->in_len, 6 - d->in_len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = log_errno(errno, "cannot read '%s'", what);
			decompressor_free(d);
			return r;
		}
		d->eof = k == 0;
		d->in_len += (size_t)k;
	}
	d->eof = false;
	if (d->in_len >= 4 && !memcmp(d->in, zstd_magic, 4)) {
		d->type = COMPRESS_ZSTD;
		d->zstd = ZSTD_createDCtx();
		r = d->zstd ? 0 : -ENOMEM;
	} else if (d->in_len >= 6 && !memcmp(d->in, xz_magic, 6)) {
		d->type = COMPRESS_XZ;
		r = lzma_stream_decoder(&d->xz, UINT64_MAX, 0) == LZMA_OK ? 0 : -ENOMEM;
	} else if (d->in_len >= 2 && d->in[0] == 0x1f && d->in[1] == 0x8b) {
		d->type = COMPRESS_GZIP;
		r = inflateInit2(&d->gz, 15 + 16) == Z_OK ? 0 : -ENOMEM;
		d->gz_init = r == 0;
	} else {
		d->type = COMPRESS_NONE;
		r = 0;
	}
	if (r < 0) {
		decompressor_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

enum compress_type decompressor_type(const struct decompressor *d)
{
	return d->type;
}

static int truncated(struct decompressor *d)
{
	return log_fail("'%s': the %s stream ends early: the file is truncated (download it "
			"again)",
			d->what, compress_type_to_string(d->type));
}

ssize_t decompressor_read(struct decompressor *d, void *buf, size_t n)
{
	int r;

	if (d->done || n == 0)
		return 0;
	for (;;) {
		size_t produced = 0;

		if ((r = fill(d)) < 0)
			return r;
		switch (d->type) {
		case COMPRESS_NONE: {
			size_t k = d->in_len - d->in_pos < n ? d->in_len - d->in_pos : n;

			memcpy(buf, d->in + d->in_pos, k);
			d->in_pos += k;
			if (d->eof)
				d->done = true;
			return (ssize_t)k;
		}
		case COMPRESS_ZSTD: {
			ZSTD_inBuffer in = { d->in + d->in_pos, d->in_len - d->in_pos, 0 };
			ZSTD_outBuffer out = { buf, n, 0 };
			size_t z = ZSTD_decompressStream(d->zstd, &out, &in);

			d->in_pos += in.pos;
			if (ZSTD_isError(z))
				return log_fail("'%s': the zstd stream is damaged: %s", d->what,
						ZSTD_getErrorName(z));
			produced = out.pos;
			if (z == 0) {
				/* A frame ended; another may follow. */
				if ((r = fill(d)) < 0)
					return r;
				if (d->eof)
					d->done = true;
			} else if (d->eof && !produced) {
				return truncated(d);
			}
			break;
		}
		case COMPRESS_XZ: {
			lzma_ret lr;

			d->xz.next_in = d->in + d->in_pos;
			d->xz.avail_in = d->in_len - d->in_pos;
			d->xz.next_out = buf;
			d->xz.avail_out = n;
			lr = lzma_code(&d->xz, d->eof ? LZMA_FINISH : LZMA_RUN);
			d->in_pos = d->in_len - d->xz.avail_in;
			produced = n - d->xz.avail_out;
			if (lr == LZMA_STREAM_END)
				d->done = true;
			else if (lr == LZMA_BUF_ERROR && d->eof)
				return truncated(d);
			else if (lr != LZMA_OK)
				return log_fail("'%s': the xz stream is damaged (liblzma error %d)",
						d->what, (int)lr);
			break;
		}
		case COMPRESS_GZIP: {
			int zr;

			d->gz.next_in = d->in + d->in_pos;
			d->gz.avail_in = (uInt)(d->in_len - d->in_pos);
			d->gz.next_out = buf;
			d->gz.avail_out = (uInt)(n < (1u << 30) ? n : (1u << 30));
			zr = inflate(&d->gz, Z_NO_FLUSH);
			produced = (n < (1u << 30) ? n : (1u << 30)) - d->gz.avail_out;
			d->in_pos = d->in_len - d->gz.avail_in;
			if (zr == Z_STREAM_END) {
				d->done = true;
			} else if (zr == Z_BUF_ERROR && d->eof) {
				return truncated(d);
			} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
				return log_fail("'%s': the gzip stream is damaged (zlib error %d)",
						d->what, zr);
			}
			break;
		}
		default:
			return -EINVAL;
		}
		if (produced || d->done)
			return (ssize_t)produced;
		if (d->eof && d->in_pos >= d->in_len)
			return truncated(d);
	}
}
