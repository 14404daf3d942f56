/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes N MiB through the encrypting libext2fs channel (lib/cryptio) as the mkfs and
 * later stages do (4 KiB filesystem blocks, 4 MiB writes, aes-xts-plain64 with a 512-bit
 * key and 4096-byte sectors, 4 MiB writes as a large file's runs) into FILE, filled with random data first as the shred stage
 * fills an encrypted partition, and prints the MB/s. bench/encrypt.sh compares it
 * with `openssl speed` in the same run.
 *   bench/cryptio-bench FILE MIB */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cryptio.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t key[64];
	struct cryptio_cipher *c = NULL;
	io_manager m;
	io_channel ch;
	char *name = NULL, *buf;
	unsigned long mib;
	double t0, t;
	int fd;

	if (argc != 3 || !(mib = strtoul(argv[2], NULL, 10))) {
		fputs("usage: cryptio-bench FILE MIB\n", stderr);
		return 2;
	}
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 1);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	buf = calloc(1, 4 << 20);
	if (fd < 0 || !buf || cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) < 0 ||
	    cryptio_manager_register(fd, 0, (uint64_t)mib << 20, c, &m, &name) < 0 ||
	    m->open(name, IO_FLAG_RW, &ch))
		return 1;
	io_channel_set_blksize(ch, 4096);
	/* As in a build, where the shred stage has filled an encrypted partition with random
	 * data first: the filesystem overwrites pages that exist. */
	if (cryptio_fill_random(fd, 0, (uint64_t)mib << 20, NULL) < 0)
		return 1;
	for (size_t i = 0; i < 4 << 20; i++)
		buf[i] = (char)(i * 7);
	t0 = now();
	for (unsigned long i = 0; i < mib / 4; i++)
		if (io_channel_write_blk64(ch, (unsigned long long)i * 1024, 1024, buf))
			return 1;
	io_channel_flush(ch);
	t = now() - t0;
	io_channel_close(ch);
	cryptio_manager_unregister(name);
	cryptio_cipher_free(c);
	printf("%.0f\n", (double)mib * 1048576 / t / 1e6);
	return 0;
}
