/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The download cache: a queue of files fetched with libcurl's multi interface, several at a
 * time, each into a temporary file in the cache that is hashed as it is written and renamed
 * to its final name only once its size and SHA-256 match. See fetch.h for the layout. */
#include "fetch.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "log.h"

#ifndef MKBOOTMEDIA_VERSION
#define MKBOOTMEDIA_VERSION "0"
#endif

#define DEFAULT_PARALLEL 4
#define MAX_ATTEMPTS 3		/* tries per file on a transient error */
#define CONNECT_TIMEOUT 10	/* seconds */
#define LOW_SPEED_LIMIT 1024	/* bytes per second ... */
#define LOW_SPEED_TIME 20	/* ... for this many seconds is a dead transfer */
#define MAX_UNSIZED (UINT64_C(1) << 30) /* a file of unknown size larger than this is refused */
#define MAX_NAME 200		/* longest escaped URL kept as is in <cache>/url/ */

enum item_state {
	ITEM_QUEUED,
	ITEM_WAITING, /* for a retry at retry_at */
	ITEM_ACTIVE,
	ITEM_DONE,
};

struct item {
	struct fetcher *f;
	char *url;
	char *sha256; /* lowercase hex, or NULL */
	uint64_t size; /* 0: unknown */
	unsigned flags;
	char *path;

	enum item_state state;
	CURL *curl;
	int fd;
	char *tmp_path;
	EVP_MD_CTX *md;
	uint64_t got;
	unsigned attempts;
	uint64_t retry_at; /* CLOCK_MONOTONIC, ms */
	bool too_big;
	int write_err;
	char errbuf[CURL_ERROR_SIZE];
};

/* What the cache holds for an item: looked at (and hashed) by cache_probe_all() on
 * several threads before item_check_cache() decides, or ahead by fetcher_prehash(). */
struct probe {
	int err;       /* -errno of stat or of the read; -ENOENT: not cached */
	uint64_t size; /* the cached file's */
	char hex[65];  /* its SHA-256 */
};

/* A cached file hashed ahead, on a thread, for fetcher_lookup(). */
struct prehash {
	char hex[65]; /* the hash it is stored under */
	char *path;
	struct probe pr;
	pthread_t thread;
	bool joined;
};
#define PREHASH_MAX 8

struct fetcher {
	char *cache_dir;
	bool offline;
	unsigned parallel;
	struct item **items;
	size_t n_items;
	bool progress;
	uint64_t done_bytes;
	struct prehash *prehash[PREHASH_MAX];
	size_t n_prehash;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void hex_encode(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = 0;
}

static void md_final_hex(EVP_MD_CTX *md, char out[static 65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	hex_encode(d, n, out);
}

int sha256_file(const char *path, char ret_hex[static 65])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *md;
	char buf[65536];
	int r = 0;

	if (fd < 0)
		return -errno;
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)k);
	}
	if (r == 0)
		md_final_hex(md, ret_hex);
	EVP_MD_CTX_free(md);
	return r;
}

/* mkdir -p with mode 0755 for every directory created. */
static int mkdir_p(const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1;; s++) {
		bool end = *s == 0;

		if (*s != '/' && !end)
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (end)
			break;
		*s = '/';
	}
	return 0;
}

/* One safe file name for a URL: letters, digits, '.', '-' and '_' are kept, everything
 * else is %XX; a long result keeps its start and ends with the URL's SHA-256 instead. */
static char *url_to_name(const char *url)
{
	size_t n = strlen(url);
	char *s = xmalloc(n * 3 + 1), *p = s;

	for (const char *c = url; *c; c++) {
		if (isalnum((unsigned char)*c) || strchr(".-_", *c))
			*p++ = *c;
		else
			p += sprintf(p, "%%%02X", (unsigned char)*c);
	}
	*p = 0;
	if (p - s > MAX_NAME) {
		unsigned char d[32];
		unsigned dn = 0;

		EVP_Digest(url, n, d, &dn, EVP_sha256(), NULL);
		hex_encode(d, 32, s + MAX_NAME - 65 + 1);
		s[MAX_NAME - 65] = '-';
	}
	return s;
}

static bool url_supported(const char *url)
{
	return startswith(url, "http://") || startswith(url, "https://") ||
	       startswith(url, "file://");
}

int fetcher_new(const char *cache_dir, bool offline, unsigned parallel, struct fetcher **ret)
{
	static bool curl_ready;
	const char *const subdirs[] = { "sha256", "url" };
	struct fetcher *f;
	int r;

	if (!curl_ready) {
		CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);

		if (cc != CURLE_OK)
			return log_fail("cannot initialise libcurl: %s", curl_easy_strerror(cc));
		curl_ready = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", cache_dir, subdirs[i]);

		r = mkdir_p(d);
		if (r < 0)
			return log_errno(r, "cannot create the download cache '%s'", d);
	}
	f = xcalloc(1, sizeof(*f));
	f->cache_dir = xstrdup(cache_dir);
	f->offline = offline;
	f->parallel = parallel ? parallel : DEFAULT_PARALLEL;
	*ret = f;
	return 0;
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	if (it->curl)
		curl_easy_cleanup(it->curl);
	if (it->fd >= 0)
		close(it->fd);
	if (it->tmp_path)
		unlink(it->tmp_path);
	EVP_MD_CTX_free(it->md);
	free(it->tmp_path);
	free(it->url);
	free(it->sha256);
	free(it->path);
	free(it);
}

static void fetcher_clear(struct fetcher *f)
{
	for (size_t i = 0; i < f->n_items; i++)
		item_free(f->items[i]);
	free(f->items);
	f->items = NULL;
	f->n_items = 0;
}

static void prehash_join(struct prehash *h)
{
	if (!h->joined)
		pthread_join(h->thread, NULL);
	h->joined = true;
}

struct fetcher *fetcher_free(struct fetcher *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n_prehash; i++) {
		prehash_join(f->prehash[i]);
		free(f->prehash[i]->path);
		free(f->prehash[i]);
	}
	fetcher_clear(f);
	free(f->cache_dir);
	free(f);
	return NULL;
}

const char *fetcher_cache_dir(const struct fetcher *f)
{
	return f->cache_dir;
}

bool fetcher_offline(const struct fetcher *f)
{
	return f->offline;
}

char *fetcher_url_path(const struct fetcher *f, const char *url)
{
	_cleanup_free_ char *name = url_to_name(url);

	return xasprintf("%s/url/%s", f->cache_dir, name);
}

/* Where content of that SHA-256 (lowercase hex) is cached. */
static char *hash_path(const struct fetcher *f, const char *hex)
{
	return xasprintf("%s/sha256/%s", f->cache_dir, hex);
}

/* Items are the same when they are stored at the same place: same hash, or same URL
 * without a hash. */
static struct item *find_item(struct fetcher *f, const char *path)
{
	for (size_t i = 0; i < f->n_items; i++)
		if (streq(f->items[i]->path, path))
			return f->items[i];
	return NULL;
}

int fetcher_add_flags(struct fetcher *f, const char *url, const char *sha256_hex, uint64_t size,
		      unsigned flags, char **ret_path)
{
	_cleanup_free_ char *hex = NULL, *path = NULL;
	struct item *it;

	if (!url_supported(url))
		return log_fail("'%s': unsupported URL (use http://, https:// or file://)", url);
	if (sha256_hex) {
		hex = xstrdup(sha256_hex);
		for (char *c = hex; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
			return log_fail("'%s': '%s' is not a SHA-256 hash", url, sha256_hex);
	}

	path = hex ? hash_path(f, hex) : fetcher_url_path(f, url);

	it = find_item(f, path);
	if (it) {
		if (size && it->size && size != it->size)
			return log_fail("'%s' queued with two sizes: %" PRIu64 " and %" PRIu64,
					url, it->size, size);
		if (size)
			it->size = size;
		it->flags &= flags; /* optional only if every caller said so */
		*ret_path = TAKE_PTR(path);
		return 0;
	}

	it = xcalloc(1, sizeof(*it));
	it->f = f;
	it->fd = -1;
	it->url = xstrdup(url);
	it->sha256 = TAKE_PTR(hex);
	it->size = size;
	it->flags = flags;
	it->path = xstrdup(path);
	f->items = xrealloc(f->items, (f->n_items + 1) * sizeof(*f->items));
	f->items[f->n_items++] = it;
	*ret_path = TAKE_PTR(path);
	return 0;
}

static void probe(const char *path, struct probe *pr)
{
	struct stat st;

	*pr = (struct probe){ 0 };
	if (stat(path, &st) < 0) {
		pr->err = -errno;
		return;
	}
	pr->size = (uint64_t)st.st_size;
	pr->err = sha256_file(path, pr->hex);
}

struct probe_pool {
	struct item **items;  /* f->items */
	size_t *order;        /* indices of those with a SHA-256, largest first */
	struct probe *probes; /* by index in items */
	size_t n, next;
};

static void *probe_worker(void *userdata)
{
	struct probe_pool *p = userdata;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n)
		probe(p->items[p->order[i]]->path, &p->probes[p->order[i]]);
	return NULL;
}

static int cmp_size_desc(const void *a, const void *b, void *items)
{
	const struct item *x = ((struct item **)items)[*(const size_t *)a];
	const struct item *y = ((struct item **)items)[*(const size_t *)b];

	return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

/* Hashes the cached copies of the items that have a SHA-256, largest first, on up to 4
 * threads (a kernel package alone takes 40 ms): their probes, in f->items order. */
static struct probe *cache_probe_all(struct fetcher *f)
{
	_cleanup_free_ size_t *order = xcalloc(f->n_items + 1, sizeof(*order));
	struct probe_pool pool = { .items = f->items,
				   .order = order,
				   .probes = xcalloc(f->n_items + 1, sizeof(struct probe)) };
	pthread_t threads[3];
	size_t n_threads = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t total = 0;

	for (size_t i = 0; i < f->n_items; i++)
		if (f->items[i]->sha256) {
			order[pool.n++] = i;
			total += f->items[i]->size;
		}
	qsort_r(order, pool.n, sizeof(*order), cmp_size_desc, f->items);
	/* A thread only for enough bytes to be worth one (8 MiB: about 5 ms of hashing). */
	while (n_threads < ARRAY_SIZE(threads) && (long)n_threads + 1 < ncpu &&
	       n_threads + 1 < pool.n && total > (n_threads + 1) * (UINT64_C(8) << 20)) {
		if (pthread_create(&threads[n_threads], NULL, probe_worker, &pool) != 0)
			break;
		n_threads++;
	}
	probe_worker(&pool);
	for (size_t i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	return pool.probes;
}

/* 1: the cached copy is good and used; 0: it must be downloaded; -errno: error (logged).
 * pr: the item's probe (it has a SHA-256). */
static int item_check_cache(struct fetcher *f, struct item *it, const struct probe *pr)
{
	struct stat st;

	if (!it->sha256) {
		if (!f->offline)
			return 0;
		if (stat(it->path, &st) == 0 && S_ISREG(st.st_mode)) {
			log_debug("using cached '%s' (--offline)", it->url);
			return 1;
		}
		return 0;
	}

	if (pr->err == -ENOENT)
		return 0;
	if (pr->err < 0)
		return log_errno(pr->err, "cannot read '%s'", it->path);
	if (streq(pr->hex, it->sha256) && (!it->size || pr->size == it->size)) {
		log_debug("using cached '%s' for '%s'", it->path, it->url);
		return 1;
	}
	/* Never keep a file whose name is a lie. */
	if (unlink(it->path) < 0 && errno != ENOENT)
		return log_errno(errno, "cannot remove corrupt cached file '%s'", it->path);
	if (f->offline)
		return log_fail("'%s': cached file '%s' was corrupt (SHA256 %s, expected %s) and "
				"was removed; cannot fetch it again (--offline)",
				it->url, it->path, pr->hex, it->sha256);
	log_warn("cached file '%s' was corrupt (SHA256 %s, expected %s); fetching '%s' again",
		 it->path, pr->hex, it->sha256, it->url);
	return 0;
}

static size_t item_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct item *it = userdata;
	size_t n = size * nmemb;
	uint64_t limit = it->size ? it->size : MAX_UNSIZED;
	int r;

	if (it->got + n > limit) {
		it->too_big = true;
		return 0; /* aborts the transfer */
	}
	r = pwrite_all(it->fd, data, n, it->got);
	if (r < 0) {
		it->write_err = r;
		return 0;
	}
	EVP_DigestUpdate(it->md, data, n);
	it->got += n;
	it->f->done_bytes += n;
	if (it->f->progress)
		progress_update(it->f->done_bytes);
	return n;
}

static void *prehash_main(void *userdata)
{
	struct prehash *h = userdata;

	probe(h->path, &h->pr);
	return NULL;
}

void fetcher_prehash(struct fetcher *f, const char *sha256_hex)
{
	struct prehash *h;

	if (f->n_prehash == PREHASH_MAX || strlen(sha256_hex) != 64 ||
	    strspn(sha256_hex, "0123456789abcdef") != 64)
		return;
	for (size_t i = 0; i < f->n_prehash; i++)
		if (streq(f->prehash[i]->hex, sha256_hex))
			return;
	h = xcalloc(1, sizeof(*h));
	memcpy(h->hex, sha256_hex, sizeof(h->hex));
	h->path = hash_path(f, sha256_hex);
	if (access(h->path, F_OK) < 0 || pthread_create(&h->thread, NULL, prehash_main, h) != 0) {
		free(h->path);
		free(h);
		return;
	}
	f->prehash[f->n_prehash++] = h;
}

int fetcher_lookup(struct fetcher *f, const char *sha256_hex, uint64_t size, char **ret_path)
{
	_cleanup_free_ char *path = hash_path(f, sha256_hex);
	struct prehash *ahead = NULL;
	struct probe pr;

	/* Hashed ahead (fetcher_prehash), once: a later lookup hashes again. */
	for (size_t i = 0; i < f->n_prehash && !ahead; i++)
		if (!f->prehash[i]->joined && strcasecmp(f->prehash[i]->hex, sha256_hex) == 0)
			ahead = f->prehash[i];
	if (ahead) {
		prehash_join(ahead);
		pr = ahead->pr;
	} else {
		probe(path, &pr);
	}
	if (pr.err == -ENOENT)
		return 0;
	if (pr.err < 0)
		return log_errno(pr.err, "cannot read '%s'", path);
	if (strcasecmp(pr.hex, sha256_hex) == 0 && (!size || pr.size == size)) {
		log_debug("using cached '%s'%s", path, ahead ? " (hashed ahead)" : "");
		*ret_path = TAKE_PTR(path);
		return 1;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return log_errno(errno, "cannot remove corrupt cached file '%s'", path);
	log_warn("cached file '%s' was corrupt (SHA256 %s, expected %s) and was removed", path,
		 pr.hex, sha256_hex);
	return 0;
}

int fetcher_store(struct fetcher *f, const char *sha256_hex, const void *data, size_t len)
{
	_cleanup_free_ char *dir = xasprintf("%s/sha256", f->cache_dir), *tmp = NULL, *path = NULL;
	_cleanup_close_ int fd = -1;
	unsigned char d[32];
	char hex[65];
	int r;

	if (!EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL))
		return log_fail("cannot compute a SHA-256");
	hex_encode(d, sizeof(d), hex);
	if (strcasecmp(hex, sha256_hex) != 0)
		return -EINVAL;
	path = xasprintf("%s/%s", dir, hex);
	if ((r = mkdir_p(dir)) < 0)
		return log_errno(r, "cannot create '%s'", dir);
	tmp = xasprintf("%s/.tmp-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot create a temporary file in '%s'", dir);
	r = pwrite_all(fd, data, len, 0);
	if (r >= 0 && (fchmod(fd, 0644) < 0 || rename(tmp, path) < 0))
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return log_errno(r, "cannot store '%s'", path);
	}
	log_debug("stored '%s'", path);
	return 0;
}

/* Sets up (or resets, for a retry) the temporary file and the curl handle. */
static int item_start(struct fetcher *f, CURLM *multi, struct item *it)
{
	if (it->fd < 0) {
		_cleanup_free_ char *dir = xstrdup(it->path);

		*strrchr(dir, '/') = 0;
		free(it->tmp_path);
		it->tmp_path = xasprintf("%s/.tmp-XXXXXX", dir);
		it->fd = mkostemp(it->tmp_path, O_CLOEXEC);
		if (it->fd < 0) {
			int r = -errno;

			free(it->tmp_path);
			it->tmp_path = NULL;
			return log_errno(r, "cannot create a temporary file in '%s'", dir);
		}
	} else if (ftruncate(it->fd, 0) < 0) {
		return log_errno(errno, "cannot truncate '%s'", it->tmp_path);
	}
	if (!it->md)
		it->md = EVP_MD_CTX_new();
	if (!it->md || !EVP_DigestInit_ex(it->md, EVP_sha256(), NULL))
		return log_fail("cannot initialise SHA-256");
	f->done_bytes -= it->got;
	it->got = 0;
	it->too_big = false;
	it->write_err = 0;
	it->errbuf[0] = 0;
	it->attempts++;

	it->curl = curl_easy_init();
	if (!it->curl)
		return log_fail("cannot initialise libcurl");
	curl_easy_setopt(it->curl, CURLOPT_URL, it->url);
	curl_easy_setopt(it->curl, CURLOPT_PRIVATE, it);
	curl_easy_setopt(it->curl, CURLOPT_WRITEFUNCTION, item_write);
	curl_easy_setopt(it->curl, CURLOPT_WRITEDATA, it);
	curl_easy_setopt(it->curl, CURLOPT_ERRORBUFFER, it->errbuf);
	curl_easy_setopt(it->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(it->curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(it->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(it->curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(it->curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(it->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(it->curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT);
	curl_easy_setopt(it->curl, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_LIMIT);
	curl_easy_setopt(it->curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME);
	curl_easy_setopt(it->curl, CURLOPT_USERAGENT, "mkbootmedia/" MKBOOTMEDIA_VERSION);
	curl_easy_setopt(it->curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(it->size ? it->size : MAX_UNSIZED));
	if (curl_multi_add_handle(multi, it->curl) != CURLM_OK)
		return log_fail("cannot start downloading '%s'", it->url);
	log_debug("fetching '%s'%s", it->url, it->attempts > 1 ? " again" : "");
	it->state = ITEM_ACTIVE;
	return 0;
}

static bool is_transient(CURLcode cc, long http)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	case CURLE_HTTP_RETURNED_ERROR:
		return http >= 500 || http == 408 || http == 429;
	default:
		return false;
	}
}

static void item_discard_tmp(struct item *it)
{
	if (it->fd >= 0)
		close(it->fd);
	it->fd = -1;
	if (it->tmp_path)
		unlink(it->tmp_path);
	free(it->tmp_path);
	it->tmp_path = NULL;
}

/* The transfer ended with cc: 0 done, 1 retry later, -errno failed (logged). */
static int item_finish(struct fetcher *f, struct item *it, CURLcode cc)
{
	long http = 0;
	char hex[65];

	curl_easy_getinfo(it->curl, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_cleanup(it->curl);
	it->curl = NULL;

	if (cc == CURLE_OK) {
		md_final_hex(it->md, hex);
		if (it->size && it->got != it->size) {
			item_discard_tmp(it);
			log_error("'%s': size mismatch: expected %" PRIu64 " bytes, got %" PRIu64,
				  it->url, it->size, it->got);
			return -EBADMSG;
		}
		if (it->sha256 && !streq(hex, it->sha256)) {
			item_discard_tmp(it);
			log_error("'%s': SHA256 mismatch: expected %s, got %s", it->url, it->sha256,
				  hex);
			return -EBADMSG;
		}
		if (fchmod(it->fd, 0644) < 0 || rename(it->tmp_path, it->path) < 0) {
			int r = log_errno(errno, "cannot store '%s'", it->path);

			item_discard_tmp(it);
			return r;
		}
		free(it->tmp_path);
		it->tmp_path = NULL;
		close(it->fd);
		it->fd = -1;
		log_debug("fetched '%s' (%" PRIu64 " bytes)", it->url, it->got);
		return 0;
	}

	if (it->too_big) {
		item_discard_tmp(it);
		log_error("'%s': larger than the expected %" PRIu64 " bytes", it->url,
			  it->size ? it->size : MAX_UNSIZED);
		return -EFBIG;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED) {
		item_discard_tmp(it);
		log_error("'%s': larger than the expected %" PRIu64 " bytes", it->url,
			  it->size ? it->size : MAX_UNSIZED);
		return -EFBIG;
	}
	if (it->write_err) {
		int r = log_errno(it->write_err, "cannot write '%s'", it->tmp_path);

		item_discard_tmp(it);
		return r;
	}
	if ((it->flags & FETCH_OPTIONAL) &&
	    (http == 404 || http == 410 || cc == CURLE_FILE_COULDNT_READ_FILE ||
	     cc == CURLE_REMOTE_FILE_NOT_FOUND)) {
		item_discard_tmp(it);
		/* A copy from an earlier run is stale now. */
		if (unlink(it->path) < 0 && errno != ENOENT)
			return log_errno(errno, "cannot remove '%s'", it->path);
		log_debug("'%s' does not exist", it->url);
		return 0;
	}
	if (is_transient(cc, http) && it->attempts < MAX_ATTEMPTS) {
		unsigned delay = 1000u << (it->attempts - 1);

		log_debug("'%s': %s; retrying in %u s", it->url,
			  it->errbuf[0] ? it->errbuf : curl_easy_strerror(cc), delay / 1000);
		it->state = ITEM_WAITING;
		it->retry_at = now_ms() + delay;
		return 1;
	}
	item_discard_tmp(it);
	log_error("cannot download '%s': %s", it->url,
		  it->errbuf[0] ? it->errbuf : curl_easy_strerror(cc));
	return -EIO;
}

static int fetcher_transfer(struct fetcher *f, struct item **todo, size_t n)
{
	CURLM *multi = curl_multi_init();
	size_t remaining = n, active = 0;
	int r = 0;

	if (!multi)
		return log_fail("cannot initialise libcurl");
	while (remaining > 0) {
		uint64_t now = now_ms(), next_retry = UINT64_MAX;
		bool finished = false;
		CURLMsg *msg;
		int running, left;
		long timeout;

		for (size_t i = 0; i < n && active < f->parallel; i++) {
			struct item *it = todo[i];
			int k;

			if (it->state == ITEM_WAITING && it->retry_at > now)
				continue;
			if (it->state != ITEM_QUEUED && it->state != ITEM_WAITING)
				continue;
			k = item_start(f, multi, it);
			if (k < 0) {
				if (it->curl) {
					curl_easy_cleanup(it->curl);
					it->curl = NULL;
				}
				item_discard_tmp(it);
				it->state = ITEM_DONE;
				remaining--;
				if (r == 0)
					r = k;
				continue;
			}
			active++;
		}
		if (remaining == 0)
			break;

		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			struct item *it;
			int k;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
			curl_multi_remove_handle(multi, msg->easy_handle);
			active--;
			finished = true;
			k = item_finish(f, it, msg->data.result);
			if (k == 1)
				continue;
			it->state = ITEM_DONE;
			remaining--;
			if (k < 0 && r == 0)
				r = k;
		}
		if (finished || remaining == 0)
			continue;

		timeout = 1000;
		for (size_t i = 0; i < n; i++)
			if (todo[i]->state == ITEM_WAITING && todo[i]->retry_at < next_retry)
				next_retry = todo[i]->retry_at;
		if (next_retry != UINT64_MAX) {
			now = now_ms();
			if (next_retry <= now)
				timeout = 0;
			else if (next_retry - now < (uint64_t)timeout)
				timeout = (long)(next_retry - now);
		}
		if (timeout > 0)
			curl_multi_poll(multi, NULL, 0, (int)timeout, NULL);
	}
	curl_multi_cleanup(multi);
	return r;
}

int fetcher_run(struct fetcher *f)
{
	_cleanup_free_ struct item **todo = xcalloc(f->n_items, sizeof(*todo));
	_cleanup_free_ struct probe *probes = cache_probe_all(f);
	uint64_t total = 0;
	bool total_known = true;
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < f->n_items; i++) {
		struct item *it = f->items[i];
		int k = item_check_cache(f, it, &probes[i]);

		if (k < 0) {
			if (r == 0)
				r = k;
			continue;
		}
		if (k > 0)
			continue;
		if (f->offline) {
			if (it->flags & FETCH_OPTIONAL) {
				log_debug("'%s' is not in the cache (--offline)", it->url);
				continue;
			}
			k = log_fail("'%s' is not in the cache '%s' (--offline)", it->url,
				     f->cache_dir);
			if (r == 0)
				r = k;
			continue;
		}
		todo[n++] = it;
		total += it->size;
		if (!it->size)
			total_known = false;
	}

	if (n > 0) {
		int k;

		f->done_bytes = 0;
		f->progress = total_known && total > 0;
		if (f->progress)
			progress_begin("downloading", total);
		k = fetcher_transfer(f, todo, n);
		if (f->progress)
			progress_end();
		f->progress = false;
		if (k < 0 && r == 0)
			r = k;
	}
	fetcher_clear(f);
	return r;
}
