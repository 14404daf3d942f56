/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unpacking .deb files straight into the target tree, as `dpkg --unpack` leaves a root:
 * every data.tar entry written through libext2fs, and the dpkg database (status, the info
 * directory's lists, md5sums, conffiles, maintainer scripts). Several packages are decompressed at once on
 * worker threads, each into a bounded buffer; one writer applies them in the given order,
 * so the output does not depend on thread timing and memory stays bounded whatever the
 * package sizes. */
#pragma once

#include "tree.h"
#include "util.h"

struct unpack_pkg {
	const char *name;   /* for messages */
	const char *path;   /* the verified .deb */
	uint64_t size;      /* its size in bytes (for progress); 0 when unknown */
	const char *sha256; /* the .deb's, verified; names its payload in the unpack cache */
};

struct unpack_opts {
	struct tree *tree;
	const char *arch;        /* written to /var/lib/dpkg/arch */
	char **path_exclude;     /* dpkg's --path-exclude globs (may be NULL) */
	char **path_include;     /* dpkg's --path-include globs, applied after the excludes */
	bool conffiles_new;      /* conffiles as "*.dpkg-new", as `dpkg --unpack` leaves them */
	int64_t clamp_mtime;     /* > 0: no entry gets a later mtime */
	int64_t now;             /* mtime of the files of the dpkg database */
	unsigned threads;        /* decompression threads; 0: one per CPU */
	/* The unpack cache (lib/deb-cache.h), for the packages with a sha256; NULL: none.
	 * Data members of at least UNPACK_CACHE_MIN compressed bytes are kept there. */
	const char *cache_dir;
	const uint8_t *cache_key;
};

#define UNPACK_CACHE_MIN (UINT64_C(4) << 20)

struct unpack_stats {
	size_t packages, entries, filtered;
	uint64_t bytes;          /* regular file data written */
	size_t cache_read, cache_stored, cache_bad; /* lib/deb.h's deb_cache_event */
};

/* Unpacks pkgs in order, then writes /var/lib/dpkg/status listing them all (sorted by name)
 * in state "install ok unpacked". On failure one error names the package and the entry. */
int unpack_debs(const struct unpack_opts *o, const struct unpack_pkg *pkgs, size_t n,
		struct unpack_stats *ret_stats);

/* dpkg's filter rule: excluded by a matching exclude glob unless a matching include glob
 * brings it back; an excluded directory or symlink is kept when an include glob's literal
 * prefix covers it (so excluding everything below /usr/share/doc but including each
 * package's copyright file keeps the directories those files need). `path` starts with '/'. */
bool unpack_path_skipped(char *const *exclude, char *const *include, const char *path,
			 bool dir_or_symlink);
