/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The end of a build on an existing image, as builder/driver.c does it (lib/bmap and
 * lib/compress), timed: for bench/output.sh to compare with zstd -T0 and bmaptool create.
 *   bench/output-bench bmap IMAGE OUT.bmap      the block map: data extents, SHA-256 per range
 *   bench/output-bench zst|xz|gz IMAGE OUT      the compressed image (with the range hashes)
 * Prints the seconds taken. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bmap.h"
#include "compress.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct bmap *m = NULL;
	struct stat st;
	double t0;
	int in, out, r;

	if (argc != 4) {
		fprintf(stderr, "usage: %s bmap|zst|xz|gz IMAGE OUT\n", argv[0]);
		return 2;
	}
	in = open(argv[2], O_RDONLY);
	out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0 || fstat(in, &st) < 0) {
		perror("open");
		return 1;
	}
	t0 = now();
	r = bmap_from_file(in, (uint64_t)st.st_size, &m);
	if (r >= 0 && strcmp(argv[1], "bmap") == 0) {
		char *text;

		r = bmap_hash(in, m, 0);
		if (r >= 0) {
			text = bmap_format(m);
			r = write(out, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -EIO;
			free(text);
		}
	} else if (r >= 0) {
		struct compressor *c = NULL;
		char sha[65];

		r = compressor_new(compress_type_from_name(argv[3]), out, argv[3], 0, &c);
		if (r >= 0) {
			compressor_set_size(c, m->image_size);
			r = bmap_scan(in, m, compressor_sink, c, true);
		}
		if (r >= 0)
			r = compressor_finish(c, sha);
		compressor_free(c);
	}
	if (r >= 0 && fsync(out) < 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	printf("%.3f\n", now() - t0);
	bmap_free(m);
	return 0;
}
