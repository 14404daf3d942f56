/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gzip in blocks on several threads (gzpar.h). The caller's thread cuts the input into
 * blocks and hands out the results in order; workers deflate the blocks. A block's slot is
 * reused once its output went out, so at most 2 * threads + 2 blocks are in memory. */
#include "gzpar.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "log.h"
#include "util.h"

#define BLOCK (1u << 20)
#define DICT 32768u /* deflate's window */

struct slot {
	uint8_t *in;
	size_t in_len;
	uint8_t dict[DICT]; /* the input just before this block */
	size_t dict_len;
	bool last;
	uint8_t *out;
	size_t out_len, out_cap;
	uLong crc;
	int err;
	bool done; /* deflated, not yet handed out */
};

struct gzpar {
	int level;
	gzpar_emit_t emit;
	void *userdata;
	struct slot *slots;
	size_t n_slots;
	uint64_t fill_seq;  /* the block being filled */
	uint64_t submitted; /* blocks handed to the workers (or done inline) */
	uint64_t taken;     /* blocks a worker took */
	uint64_t emitted;   /* blocks whose output went out */
	uint8_t tail[DICT]; /* the end of the last full block: the next one's dictionary */
	size_t tail_len;
	uLong crc;
	uint64_t total;
	bool header_done;
	z_stream inline_zs; /* no threads: the caller deflates */
	bool inline_init;
	pthread_t *threads;
	size_t n_threads;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	bool stop;
};

static int deflate_block(z_stream *zs, bool *init, int level, struct slot *s)
{
	int flush = s->last ? Z_FINISH : Z_SYNC_FLUSH, zr;

	if (!*init) {
		if (deflateInit2(zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		*init = true;
	} else if (deflateReset(zs) != Z_OK) {
		return -EIO;
	}
	if (s->dict_len && deflateSetDictionary(zs, s->dict, (uInt)s->dict_len) != Z_OK)
		return -EIO;
	s->crc = crc32(0L, s->in, (uInt)s->in_len);
	if (s->out_cap < deflateBound(zs, s->in_len) + 64) {
		s->out_cap = deflateBound(zs, s->in_len) + 64;
		free(s->out);
		s->out = xmalloc(s->out_cap);
	}
	zs->next_in = s->in;
	zs->avail_in = (uInt)s->in_len;
	zs->next_out = s->out;
	zs->avail_out = (uInt)s->out_cap;
	s->out_len = 0;
	for (;;) {
		zr = deflate(zs, flush);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return -EIO;
		s->out_len = s->out_cap - zs->avail_out;
		if (s->last ? zr == Z_STREAM_END : zs->avail_in == 0 && zs->avail_out > 0)
			return 0;
		/* More room than deflateBound() said: grow, keep going. */
		s->out_cap *= 2;
		s->out = xrealloc(s->out, s->out_cap);
		zs->next_out = s->out + s->out_len;
		zs->avail_out = (uInt)(s->out_cap - s->out_len);
	}
}

static void *worker(void *userdata)
{
	struct gzpar *z = userdata;
	z_stream zs = { 0 };
	bool init = false;

	pthread_mutex_lock(&z->lock);
	for (;;) {
		struct slot *s;
		int r;

		while (!z->stop && z->taken == z->submitted)
			pthread_cond_wait(&z->work, &z->lock);
		if (z->stop)
			break;
		s = &z->slots[z->taken++ % z->n_slots];
		pthread_mutex_unlock(&z->lock);
		r = deflate_block(&zs, &init, z->level, s);
		pthread_mutex_lock(&z->lock);
		s->err = r;
		s->done = true;
		pthread_cond_broadcast(&z->done);
	}
	pthread_mutex_unlock(&z->lock);
	if (init)
		deflateEnd(&zs);
	return NULL;
}

static int emit_slot(struct gzpar *z, struct slot *s)
{
	/* gzip's header: deflate, no name, no time, as zlib writes it on Unix (OS 3). */
	static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	int r;

	if (s->err < 0)
		return log_fail("cannot compress: zlib failed on block %" PRIu64 " (%s)",
				z->emitted, strerror(-s->err));
	if (!z->header_done) {
		if ((r = z->emit(z->userdata, header, sizeof(header))) < 0)
			return r;
		z->header_done = true;
	}
	if (s->out_len && (r = z->emit(z->userdata, s->out, s->out_len)) < 0)
		return r;
	z->crc = crc32_combine(z->crc, s->crc, (z_off_t)s->in_len);
	z->total += s->in_len;
	s->in_len = 0;
	s->done = false;
	z->emitted++;
	return 0;
}

/* Hands out, in order, the blocks before `upto` that are done; with wait, waits for each. */
static int emit_until(struct gzpar *z, uint64_t upto, bool wait)
{
	while (z->emitted < upto) {
		struct slot *s = &z->slots[z->emitted % z->n_slots];
		int r;

		if (z->n_threads) {
			pthread_mutex_lock(&z->lock);
			while (wait && !s->done)
				pthread_cond_wait(&z->done, &z->lock);
			r = s->done;
			pthread_mutex_unlock(&z->lock);
			if (!r)
				return 0;
		}
		if ((r = emit_slot(z, s)) < 0)
			return r;
	}
	return 0;
}

/* The slot of the block to fill, once the block that used it before went out. */
static int acquire(struct gzpar *z)
{
	if (z->fill_seq < z->n_slots)
		return 0;
	return emit_until(z, z->fill_seq - z->n_slots + 1, true);
}

static int submit(struct gzpar *z, bool last)
{
	struct slot *s = &z->slots[z->fill_seq % z->n_slots];
	int r;

	s->last = last;
	memcpy(s->dict, z->tail, z->tail_len);
	s->dict_len = z->tail_len;
	if (!last) { /* every block but the last is BLOCK bytes */
		memcpy(z->tail, s->in + s->in_len - DICT, DICT);
		z->tail_len = DICT;
	}
	z->fill_seq++;
	if (!z->n_threads) {
		s->err = deflate_block(&z->inline_zs, &z->inline_init, z->level, s);
		return emit_slot(z, s);
	}
	pthread_mutex_lock(&z->lock);
	z->submitted++;
	pthread_cond_signal(&z->work);
	pthread_mutex_unlock(&z->lock);
	r = emit_until(z, z->fill_seq, false);
	return r;
}

int gzpar_new(unsigned threads, int level, gzpar_emit_t emit, void *userdata, struct gzpar **ret)
{
	struct gzpar *z = xcalloc(1, sizeof(*z));

	z->level = level;
	z->emit = emit;
	z->userdata = userdata;
	z->crc = crc32(0L, Z_NULL, 0);
	z->n_threads = threads > 1 ? threads : 0;
	z->n_slots = z->n_threads ? 2 * z->n_threads + 2 : 1;
	z->slots = xcalloc(z->n_slots, sizeof(*z->slots));
	for (size_t i = 0; i < z->n_slots; i++)
		z->slots[i].in = xmalloc(BLOCK);
	pthread_mutex_init(&z->lock, NULL);
	pthread_cond_init(&z->work, NULL);
	pthread_cond_init(&z->done, NULL);
	if (z->n_threads) {
		z->threads = xcalloc(z->n_threads, sizeof(*z->threads));
		for (size_t i = 0; i < z->n_threads; i++)
			if (pthread_create(&z->threads[i], NULL, worker, z) != 0) {
				z->n_threads = i; /* the blocks' bytes do not depend on it */
				break;
			}
		if (!z->n_threads) {
			gzpar_free(z);
			return log_errno(EAGAIN, "cannot start a compression thread");
		}
	}
	*ret = z;
	return 0;
}

int gzpar_write(struct gzpar *z, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		struct slot *s;
		size_t k;
		int r;

		if ((r = acquire(z)) < 0)
			return r;
		s = &z->slots[z->fill_seq % z->n_slots];
		k = BLOCK - s->in_len < n ? BLOCK - s->in_len : n;
		memcpy(s->in + s->in_len, p, k);
		s->in_len += k;
		p += k;
		n -= k;
		if (s->in_len == BLOCK && (r = submit(z, false)) < 0)
			return r;
	}
	return 0;
}

int gzpar_finish(struct gzpar *z)
{
	uint8_t trailer[8];
	int r;

	if ((r = acquire(z)) < 0 || (r = submit(z, true)) < 0 ||
	    (r = emit_until(z, z->fill_seq, true)) < 0)
		return r;
	for (int i = 0; i < 4; i++) {
		trailer[i] = (uint8_t)(z->crc >> (8 * i));
		trailer[4 + i] = (uint8_t)(z->total >> (8 * i)); /* ISIZE: modulo 2^32 */
	}
	return z->emit(z->userdata, trailer, sizeof(trailer));
}

void gzpar_free(struct gzpar *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->lock);
	z->stop = true;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->lock);
	for (size_t i = 0; i < z->n_threads; i++)
		pthread_join(z->threads[i], NULL);
	if (z->inline_init)
		deflateEnd(&z->inline_zs);
	for (size_t i = 0; i < z->n_slots; i++) {
		free(z->slots[i].in);
		free(z->slots[i].out);
	}
	free(z->slots);
	free(z->threads);
	pthread_mutex_destroy(&z->lock);
	pthread_cond_destroy(&z->work);
	pthread_cond_destroy(&z->done);
	free(z);
}
