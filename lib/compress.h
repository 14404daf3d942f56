/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Compressed images: zstd (libzstd) and xz (liblzma), both multi-threaded, and gzip (zlib).
 * The writer takes the image's bytes in order and writes the compressed stream to a file
 * descriptor, hashing what it writes; the reader decompresses a file as a stream, with a
 * truncated or damaged stream reported as such. libzstd's, liblzma's and zlib's error codes
 * stay in here: callers see -errno and one logged message. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

enum compress_type { COMPRESS_NONE, COMPRESS_ZSTD, COMPRESS_XZ, COMPRESS_GZIP, _COMPRESS_MAX };

/* "none", "zstd", "xz", "gzip" */
const char *compress_type_to_string(enum compress_type t);
/* By the suffix of a file name: ".zst", ".xz", ".gz"; COMPRESS_NONE for anything else. */
enum compress_type compress_type_from_name(const char *name);
/* The suffix's length (4 for ".zst"), 0 for none. */
size_t compress_suffix_len(const char *name);

struct compressor;

/* A compressor writing to fd (not closed); `what` names the output in messages; threads 0:
 * one per CPU (zstd and xz; gzip uses one). */
int compressor_new(enum compress_type t, int fd, const char *what, unsigned threads,
		   struct compressor **ret);
/* The number of bytes that will be written, when known before the first write: zstd then
 * tunes itself to it as `zstd FILE` does, and records it in the frame. */
void compressor_set_size(struct compressor *c, uint64_t size);
int compressor_write(struct compressor *c, const void *buf, size_t n);
/* Ends the stream; ret_sha256 (optional): SHA-256 of the compressed file, lowercase hex. */
int compressor_finish(struct compressor *c, char *ret_sha256);
void compressor_free(struct compressor *c); /* accepts NULL */
/* bmap_sink's signature (bmap.h). */
int compressor_sink(void *c, const void *buf, size_t n);

struct decompressor;

/* A reader of the stream in fd (not closed), its type from its magic bytes (COMPRESS_NONE:
 * read as it is). */
int decompressor_new(int fd, const char *what, struct decompressor **ret);
enum compress_type decompressor_type(const struct decompressor *d);
/* Up to n bytes; 0 only at the end of the stream (a truncated stream is an error). */
ssize_t decompressor_read(struct decompressor *d, void *buf, size_t n);
void decompressor_free(struct decompressor *d);
