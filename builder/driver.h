/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

struct driver_options {
	const char *recipe;
	const char *output;  /* NULL: check only */
	char **defines;      /* -D NAME=VALUE, NULL-terminated */
	const char *seed;    /* --seed, overrides image.seed */
	const char *cache_dir; /* --cache; NULL: $XDG_CACHE_HOME/mkbootmedia */
	bool offline;        /* --offline: nothing is downloaded */
	bool no_unpack_cache; /* --no-unpack-cache: no decoded packages kept in the cache */
	unsigned jobs;       /* --jobs: worker threads; 0: one per CPU */
	int passphrase_fd;   /* --passphrase-fd: the encrypted partitions' passphrase; -1 */
	const char *lock;    /* --lock FILE: write the build's exact inputs there */
	const char *locked;  /* --locked FILE: build exactly the inputs FILE names */
	bool no_bmap;        /* --no-bmap: no block map beside the image */
	bool checksum;       /* --checksum: OUTPUT.sha256 */
	bool sbom;           /* --sbom: OUTPUT.spdx.json */
};

/* Loads and verifies the recipe; prints the plan when `output` is NULL, builds otherwise.
 * Returns 0 or -errno; every error has been logged. */
int driver_main(const struct driver_options *o);

/* The files a build with these options writes besides the image (new strings; NULL when not
 * written): the block map is named after the uncompressed image ("usb.img.bmap" for
 * "usb.img.zst"), where `bmaptool copy usb.img.zst` looks for it. */
char *driver_bmap_path(const char *output);
