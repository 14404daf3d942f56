/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A download cache on libcurl: files are queued with fetcher_add() and fetched together,
 * several at once, by fetcher_run(). A file whose SHA-256 is known is stored by content as
 * "<cache>/sha256/<hex>" and reused (after its hash is checked again) by every later run; a
 * file without one (InRelease) is stored as "<cache>/url/<escaped URL>" and fetched again
 * on every run unless offline. A file gets its final name only once its size and hash have
 * been checked, so the cache never holds a partial or unverified file under that name. */
#pragma once

#include "util.h"

struct fetcher;

enum {
	/* A missing file (HTTP 404, a file:// path that does not exist, or offline: not in
	 * the cache) is not an error: fetcher_run() succeeds and removes any stale copy, so
	 * the file is then absent at *ret_path. For InRelease, which may not exist. */
	FETCH_OPTIONAL = 1 << 0,
};

/* Creates cache_dir (mode 0755, with its parents) when missing. Offline, nothing is ever
 * downloaded: everything must already be in the cache. parallel is the most transfers run
 * at once (0: 4). */
int fetcher_new(const char *cache_dir, bool offline, unsigned parallel, struct fetcher **ret);
struct fetcher *fetcher_free(struct fetcher *f);
static inline void fetcher_freep(struct fetcher **f)
{
	fetcher_free(*f);
}
#define _cleanup_fetcher_ _cleanup_(fetcher_freep)

const char *fetcher_cache_dir(const struct fetcher *f);
bool fetcher_offline(const struct fetcher *f);

/* Queues a download of url (http://, https:// or file://). sha256_hex (64 hex digits) may
 * be NULL; size 0 is unknown. *ret_path (malloc'ed) is where the verified file will be once
 * fetcher_run() succeeded. The same hash (whatever the URL) or the same URL without a hash
 * queued twice is fetched once. */
int fetcher_add_flags(struct fetcher *f, const char *url, const char *sha256_hex, uint64_t size,
		      unsigned flags, char **ret_path);
static inline int fetcher_add(struct fetcher *f, const char *url, const char *sha256_hex,
			      uint64_t size, char **ret_path)
{
	return fetcher_add_flags(f, url, sha256_hex, size, 0, ret_path);
}

/* Fetches everything queued, up to `parallel` transfers at once, then empties the queue.
 * Every failure is logged; the first error is returned. */
int fetcher_run(struct fetcher *f);

/* What a run derives from verified files and a later run may reuse, stored by content like
 * a download: a decompressed Packages index, under the SHA-256 the signed Release gives for
 * it. fetcher_lookup(): 1 and *ret_path when "<cache>/sha256/<hex>" is there, of that size
 * (unless 0) and hash (checked again); 0 when it is not (a corrupt one is removed, with a
 * warning); -errno logged. fetcher_store(): stores data under hex once its SHA-256 is
 * checked to be hex (-EINVAL, not logged, when not), through a temporary file renamed, so
 * the cache never holds a partial file under that name. */
int fetcher_lookup(struct fetcher *f, const char *sha256_hex, uint64_t size, char **ret_path);
/* Starts hashing "<cache>/sha256/<hex>", when it is there, on a thread of its own, for the
 * next fetcher_lookup() of that hex: for a file that a signature being fetched and checked
 * meanwhile will most likely name (the index an earlier, cached Release named). */
void fetcher_prehash(struct fetcher *f, const char *sha256_hex);
/* The path under which a URL fetched without a hash is cached (it may not exist). */
char *fetcher_url_path(const struct fetcher *f, const char *url);
int fetcher_store(struct fetcher *f, const char *sha256_hex, const void *data, size_t len);

/* SHA-256 of a whole file as 64 lowercase hex digits (+ NUL) in ret_hex. */
int sha256_file(const char *path, char ret_hex[static 65]);
