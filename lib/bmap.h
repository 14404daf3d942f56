/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block maps in bmaptool's XML format 2.0: which 4096-byte blocks of an image hold data, with
 * the SHA-256 of each range. A map is made from the data extents of a sparse image file
 * (SEEK_DATA/SEEK_HOLE: what the build wrote, never a scan for zeros), written next to the
 * image, and read back by `flash` (any block size, SHA-256 ranges only). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BMAP_BLOCK_SIZE 4096u
#define BMAP_FILE_MAX (UINT64_C(64) << 20)
#define BMAP_RANGE_MAX 4096u /* blocks in one range made here: 16 MiB */

struct bmap_range {
	uint64_t first, last; /* blocks, inclusive */
	char sha256[65];      /* lowercase hex; "" until hashed */
};

struct bmap {
	uint64_t image_size; /* bytes; the last block may be partial */
	unsigned block_size;
	uint64_t mapped_blocks;
	struct bmap_range *ranges;
	size_t n_ranges;
};

void bmap_free(struct bmap *m); /* accepts NULL */
static inline void bmap_freep(struct bmap **m)
{
	bmap_free(*m);
}

/* Bytes of range r within the image: [*ret_off, *ret_off + *ret_len). */
void bmap_range_bytes(const struct bmap *m, const struct bmap_range *r, uint64_t *ret_off,
		      uint64_t *ret_len);

/* The data extents of the first `size` bytes of the file open at fd, rounded out to whole
 * blocks and merged, then cut into ranges of at most BMAP_RANGE_MAX blocks; the ranges
 * are not hashed yet. Filesystems without SEEK_DATA report
 * one extent: the whole file. -errno on failure (not logged). */
int bmap_from_file(int fd, uint64_t size, struct bmap **ret);

/* Called by bmap_scan() with every byte of the image in order, or only with the mapped
 * ranges when `holes` is false: data read from the file, or holes as zeros (never read). */
typedef int (*bmap_sink)(void *ctx, const void *buf, size_t n);

/* Reads the mapped ranges of the image open at fd in order and hashes each one into m;
 * with a sink, hands the bytes on (holes too, as zeros, when `holes`). A short read is
 * -EIO; sink errors are returned as they are. Nothing is logged. */
int bmap_scan(int fd, struct bmap *m, bmap_sink sink, void *ctx, bool holes);

/* The same hashes without a sink, the ranges read by `threads` threads (0: one per CPU). */
int bmap_hash(int fd, struct bmap *m, unsigned threads);

/* The XML document (bmaptool 2.0) with its BmapFileChecksum, as a new string. */
char *bmap_format(const struct bmap *m);

/* Parses and checks a bmap document: format 1.4 or 2.0, ChecksumType sha256, the file's own
 * checksum, the block counts, ranges in order, not overlapping, inside the image. Errors
 * are logged naming `what` (the file). */
int bmap_parse(const char *text, size_t len, const char *what, struct bmap **ret);
int bmap_load(const char *path, struct bmap **ret);

/* SHA-256 of buf as lowercase hex. */
void sha256_hex(const void *buf, size_t n, char ret_hex[static 65]);
