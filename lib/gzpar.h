/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A gzip stream compressed in blocks on several threads (pigz's scheme): the input is cut
 * into 1 MiB blocks, each deflated on its own with the 32 KiB before it as dictionary and
 * ended by a sync flush, so the blocks join into one deflate stream; the CRC-32s combine.
 * The bytes do not depend on the number of threads. */
#pragma once

#include <stddef.h>

struct gzpar;

/* emit(userdata, data, n) receives the stream in order; a negative return stops it. */
typedef int (*gzpar_emit_t)(void *userdata, const void *data, size_t n);

/* threads 1: everything in the caller's thread. */
int gzpar_new(unsigned threads, int level, gzpar_emit_t emit, void *userdata, struct gzpar **ret);
int gzpar_write(struct gzpar *z, const void *buf, size_t n);
int gzpar_finish(struct gzpar *z); /* the last block and the trailer */
void gzpar_free(struct gzpar *z);  /* accepts NULL; stops the threads */
