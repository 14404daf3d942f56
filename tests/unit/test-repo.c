/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/fetch.c and lib/repo.c against small signed file:// repositories built
 * by tests/mkrepo (dpkg-deb, dpkg-scanpackages, gpg) in a temporary directory: loading,
 * the cache (reuse, offline, corrupt files), and every way verification must fail. Log
 * output is captured to check the messages. */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "fetch.h"
#include "log.h"
#include "repo.h"
#include "util.h"

static char dir[] = "/tmp/test-repo.XXXXXX";
static char *mkrepo, *repo_url, *keyring;
static char *comps_main[] = { (char *)"main", NULL };

/* ---- helpers ---- */

/* Runs a shell command, its output shown only when it fails; returns its exit status. */
static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL, *full = NULL, *out = NULL;
	size_t n = 0, cap = 8192;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("(%s) 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	out = xmalloc(cap);
	for (size_t k; (k = fread(out + n, 1, cap - n - 1, p)) > 0;) {
		n += k;
		if (cap - n < 4096)
			out = xrealloc(out, cap *= 2);
	}
	out[n] = 0;
	status = pclose(p);
	if (status != 0)
		fprintf(stderr, "  command failed: %s\n%s", cmd, out);
	return status < 0 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

static int saved_stderr = -1;
static char *log_path;

static void capture_begin(void)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Restores stderr, echoes what was logged (indented) and returns it. */
static char *capture_end(void)
{
	char *text = NULL;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	if (read_file(log_path, 1 << 20, &text, NULL) < 0)
		text = xstrdup("");
	for (const char *l = text; *l;) {
		size_t k = strcspn(l, "\n");

		fprintf(stderr, "    | %.*s\n", (int)k, l);
		l += k + (l[k] == '\n');
	}
	return text;
}

struct load {
	struct deb822 **idx;
	size_t n;
	char *log;
	int r;
};

static void load_done(struct load *l)
{
	for (size_t i = 0; i < l->n; i++)
		deb822_free(l->idx[i]);
	free(l->idx);
	free(l->log);
	*l = (struct load){};
}

/* repo_load through a new fetcher on cache, with the log captured into l->log. */
static bool ignore_valid_until;

static void load(struct load *l, const char *cache, bool offline, const char *url,
		 const char *suite, char **components, const char *arch, const char *kr)
{
	struct repo_opts o = {
		.mirror = url,
		.suite = suite,
		.components = components,
		.arch = arch,
		.keyring = kr,
		.ignore_valid_until = ignore_valid_until,
	};
	struct fetcher *f = NULL;

	*l = (struct load){};
	capture_begin();
	l->r = fetcher_new(cache, offline, 4, &f);
	if (l->r == 0)
		l->r = repo_load(f, &o, &l->idx, &l->n);
	fetcher_free(f);
	l->log = capture_end();
}

static void load_main(struct load *l, const char *cache, bool offline)
{
	load(l, cache, offline, repo_url, "bookworm", comps_main, "amd64", keyring);
}

static bool has_package(const struct deb822 *d, const char *name)
{
	for (size_t i = 0; d && i < d->n_stanzas; i++)
		if (streq_ptr(deb822_get(&d->stanzas[i], "Package"), name))
			return true;
	return false;
}

static char *cache_path(const char *name)
{
	return xasprintf("%s/cache-%s", dir, name);
}

/* The cache file of the repository's main Packages.xz. */
static char *cached_index(const char *cache, const char *repo)
{
	_cleanup_free_ char *p = xasprintf("%s/dists/bookworm/main/binary-amd64/Packages.xz",
					   repo);
	char hex[65];

	if (sha256_file(p, hex) < 0)
		return xstrdup("(none)");
	return xasprintf("%s/sha256/%s", cache, hex);
}

/* The decompressed index, cached under the SHA-256 the Release lists for it. */
static char *cached_plain_index(const char *cache, const char *repo)
{
	_cleanup_free_ char *out = NULL;
	char hex[65] = "";
	FILE *p;

	out = xasprintf("xz -dc '%s/dists/bookworm/main/binary-amd64/Packages.xz' | sha256sum",
			repo);
	p = popen(out, "r");
	if (!p || fscanf(p, "%64s", hex) != 1)
		hex[0] = 0;
	if (p)
		pclose(p);
	return xasprintf("%s/sha256/%s", cache, hex[0] ? hex : "(none)");
}

/* No temporary file left anywhere in the cache. */
static bool cache_clean(const char *cache)
{
	return run("test -z \"$(find '%s' -name '.tmp-*' -o -name '.verify-*')\"", cache) == 0;
}

/* A copy of the good repository to spoil. */
static char *repo_copy(const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);

	if (run("rm -rf '%s' && cp -a '%s/repo' '%s'", p, dir, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static int build_deb(const char *name, const char *arch)
{
	return run("d='%s/src/%s' && mkdir -p \"$d/DEBIAN\" \"$d/usr/share/%s\" && "
		   "printf 'Package: %s\\nVersion: 1.0-1\\nArchitecture: %s\\n"
		   "Maintainer: Test <test@example.invalid>\\nDescription: test package\\n' "
		   ">\"$d/DEBIAN/control\" && echo %s >\"$d/usr/share/%s/README\" && "
		   "dpkg-deb --root-owner-group --build \"$d\" '%s/%s.deb' >/dev/null",
		   dir, name, name, name, arch, name, name, dir, name);
}

static int setup(void)
{
	char exe[PATH_MAX];
	ssize_t k;

	if (!mkdtemp(dir))
		return -errno;
	/* tests/run starts unit tests in a scratch directory: find mkrepo next to the binary
	 * (tests/unit/test-repo -> tests/mkrepo), else from the top of the tree. */
	k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k > 0) {
		exe[k] = 0;
		*strrchr(exe, '/') = 0;
		mkrepo = xasprintf("%s/../mkrepo", exe);
	}
	if (!mkrepo || access(mkrepo, X_OK) < 0) {
		free(mkrepo);
		mkrepo = xstrdup("tests/mkrepo");
	}
	log_path = xasprintf("%s/log", dir);
	repo_url = xasprintf("file://%s/repo", dir);
	keyring = xasprintf("%s/gnupg/keyring.gpg", dir);
	if (build_deb("hello-mkbm", "amd64") || build_deb("extra-mkbm", "all") ||
	    run("%s '%s/repo' '%s/gnupg' bookworm main amd64 '%s/hello-mkbm.deb'", mkrepo, dir,
		dir, dir) ||
	    run("%s '%s/repo' '%s/gnupg' bookworm contrib amd64 '%s/extra-mkbm.deb'", mkrepo, dir,
		dir, dir))
		return -EIO;
	return 0;
}

/* ---- repo_load ---- */

static void test_good_repo(void)
{
	_cleanup_free_ char *cache = cache_path("good");
	char *both[] = { (char *)"contrib", (char *)"main", NULL };
	struct load l;

	load_main(&l, cache, false);
	CHECK(l.r == 0);
	CHECK(l.n == 1);
	CHECK(has_package(l.idx[0], "hello-mkbm"));
	CHECK(strstr(l.log, "bookworm (amd64; main): 1 packages"));
	CHECK(cache_clean(cache));
	load_done(&l);

	/* Several components, in the order asked. */
	load(&l, cache, false, repo_url, "bookworm", both, "amd64", keyring);
	CHECK(l.r == 0);
	CHECK(l.n == 2);
	CHECK(has_package(l.idx[0], "extra-mkbm") && !has_package(l.idx[0], "hello-mkbm"));
	CHECK(has_package(l.idx[1], "hello-mkbm"));
	CHECK(strstr(l.log, "bookworm (amd64; contrib main): 2 packages"));
	load_done(&l);

	/* A trailing slash on the mirror is fine. */
	{
		_cleanup_free_ char *url = xasprintf("%s/", repo_url);

		load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
		CHECK(l.r == 0 && l.n == 1);
		load_done(&l);
	}
}

static void test_cache_reused(void)
{
	_cleanup_free_ char *cache = cache_path("reuse"), *repo = xasprintf("%s/repo", dir);
	_cleanup_free_ char *idx = cached_index(cache, repo);
	struct stat a, b;
	struct load l;

	load_main(&l, cache, false);
	CHECK(l.r == 0);
	load_done(&l);
	CHECK(stat(idx, &a) == 0);
	/* A second run must not fetch the index again: the file stays the same inode. */
	usleep(20000);
	load_main(&l, cache, false);
	CHECK(l.r == 0);
	CHECK(has_package(l.idx[0], "hello-mkbm"));
	load_done(&l);
	CHECK(stat(idx, &b) == 0);
	CHECK(a.st_ino == b.st_ino);
	CHECK(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
	CHECK((a.st_mode & 07777) == 0644);
	/* The decompressed index that the cached InRelease names was hashed while the
	 * InRelease was fetched and checked again (test_corrupt_cache: a corrupt one is still
	 * caught). */
	{
		_cleanup_free_ char *plain = cached_plain_index(cache, repo);
		_cleanup_free_ char *msg = xasprintf("using cached '%s' (hashed ahead)", plain);

		log_set_level(LOG_DEBUG);
		load_main(&l, cache, false);
		log_set_level(LOG_INFO);
		CHECK(l.r == 0 && has_package(l.idx[0], "hello-mkbm"));
		CHECK(strstr(l.log, msg));
		load_done(&l);
	}
}

static void test_offline(void)
{
	_cleanup_free_ char *cache = cache_path("offline"), *empty = cache_path("offline-empty");
	_cleanup_free_ char *msg = NULL;
	struct load l;

	load_main(&l, cache, false);
	CHECK(l.r == 0);
	load_done(&l);

	load_main(&l, cache, true);
	CHECK(l.r == 0);
	CHECK(l.n == 1 && has_package(l.idx[0], "hello-mkbm"));
	load_done(&l);

	load_main(&l, empty, true);
	CHECK(l.r < 0);
	msg = xasprintf("error: '%s/dists/bookworm/InRelease' is not in the cache '%s' (--offline)",
			repo_url, empty);
	CHECK(strstr(l.log, msg));
	load_done(&l);
}

static void test_tampered_packages(void)
{
	_cleanup_free_ char *cache = cache_path("tampered-packages"), *repo = NULL, *url = NULL;
	_cleanup_free_ char *msg = NULL;
	struct load l;

	repo = repo_copy("tampered-packages");
	CHECK(repo);
	/* Same length, so that only the hash can tell (a longer file is cut short: "larger
	 * than the expected N bytes"): one bit flipped in place. (Compressing an edited
	 * Packages again kept the size only most of the time: the index holds the test
	 * package's hash, different at each run.) */
	CHECK(run("cd '%s/dists/bookworm/main/binary-amd64' && s=$(wc -c <Packages.xz) && "
		  "b=$(od -An -tu1 -j $((s / 2)) -N 1 Packages.xz) && "
		  "printf \"\\\\$(printf %%o $((b ^ 1)))\" | "
		  "dd of=Packages.xz bs=1 seek=$((s / 2)) conv=notrunc status=none && "
		  "test $(wc -c <Packages.xz) = $s",
		  repo) == 0);
	url = xasprintf("file://%s", repo);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	msg = xasprintf("error: '%s/dists/bookworm/main/binary-amd64/Packages.xz': SHA256 "
			"mismatch: expected ", url);
	CHECK(strstr(l.log, msg));
	CHECK(strstr(l.log, ", got "));
	CHECK(cache_clean(cache));
	/* Nothing was stored under the expected hash. */
	CHECK(run("test -z \"$(ls -A '%s/sha256')\"", cache) == 0);
	load_done(&l);
}

static void test_tampered_inrelease(void)
{
	_cleanup_free_ char *cache = cache_path("tampered-inrelease"), *repo = NULL, *url = NULL;
	_cleanup_free_ char *msg = NULL;
	struct load l;

	repo = repo_copy("tampered-inrelease");
	CHECK(repo);
	CHECK(run("sed -i 's/^Label: mkbootmedia-test/Label: evil/' '%s/dists/bookworm/InRelease'",
		  repo) == 0);
	url = xasprintf("file://%s", repo);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	msg = xasprintf("error: '%s/dists/bookworm/InRelease': bad signature (keyring '%s'); "
			"is the keyring right?", url, keyring);
	CHECK(strstr(l.log, msg));
	CHECK(cache_clean(cache));
	load_done(&l);
}

static void test_other_key(void)
{
	_cleanup_free_ char *cache = cache_path("other-key"), *other = NULL, *msg = NULL;
	struct load l;

	/* A second repository with its own, newly generated key. */
	CHECK(run("%s '%s/other' '%s/gnupg-other' bookworm main amd64 '%s/hello-mkbm.deb'",
		  mkrepo, dir, dir, dir) == 0);
	other = xasprintf("%s/gnupg-other/keyring.gpg", dir);
	load(&l, cache, false, repo_url, "bookworm", comps_main, "amd64", other);
	CHECK(l.r < 0);
	msg = xasprintf("error: '%s/dists/bookworm/InRelease': signed by key ", repo_url);
	CHECK(strstr(l.log, msg));
	free(TAKE_PTR(msg));
	msg = xasprintf(", which is not in the keyring (keyring '%s'); is the keyring right?",
			other);
	CHECK(strstr(l.log, msg));
	load_done(&l);
}

static void test_missing_component(void)
{
	_cleanup_free_ char *cache = cache_path("component"), *msg = NULL;
	char *comps[] = { (char *)"main", (char *)"non-free", NULL };
	struct load l;

	load(&l, cache, false, repo_url, "bookworm", comps, "amd64", keyring);
	CHECK(l.r < 0);
	msg = xasprintf("error: suite 'bookworm' of '%s' has no component 'non-free' (it has: "
			"contrib main)", repo_url);
	CHECK(strstr(l.log, msg));
	load_done(&l);

	load(&l, cache, false, repo_url, "bookworm", comps_main, "arm64", keyring);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "has no architecture 'arm64' (it has: amd64)"));
	load_done(&l);

	load(&l, cache, false, repo_url, "trixie", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "/dists/trixie/InRelease' nor '"));
	CHECK(strstr(l.log, "/dists/trixie/Release' exists; is the suite right?"));
	load_done(&l);
}

static void test_corrupt_cache(void)
{
	_cleanup_free_ char *cache = cache_path("corrupt"), *repo = xasprintf("%s/repo", dir);
	_cleanup_free_ char *idx = cached_index(cache, repo);
	_cleanup_free_ char *plain = cached_plain_index(cache, repo);
	char want[65], got[65];
	struct load l;

	load_main(&l, cache, false);
	CHECK(l.r == 0);
	load_done(&l);
	CHECK(sha256_file(idx, want) == 0);
	CHECK(access(plain, F_OK) == 0);

	/* A corrupt decompressed index is dropped; the intact .xz serves, offline too. */
	CHECK(run("echo garbage >'%s'", plain) == 0);
	load_main(&l, cache, true);
	CHECK(l.r == 0);
	CHECK(has_package(l.idx[0], "hello-mkbm"));
	CHECK(strstr(l.log, "was corrupt"));
	load_done(&l);
	CHECK(access(plain, F_OK) == 0);

	/* Without it, the compressed copy is what counts. */
	CHECK(unlink(plain) == 0);
	CHECK(run("echo garbage >'%s'", idx) == 0);

	/* Offline, it cannot be replaced: an error, and the bad file is gone. */
	load_main(&l, cache, true);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "was corrupt"));
	CHECK(strstr(l.log, "(--offline)"));
	CHECK(access(idx, F_OK) < 0);
	load_done(&l);

	CHECK(run("echo garbage >'%s'", idx) == 0);
	load_main(&l, cache, false);
	CHECK(l.r == 0);
	CHECK(has_package(l.idx[0], "hello-mkbm"));
	CHECK(strstr(l.log, "warning: cached file '"));
	load_done(&l);
	CHECK(sha256_file(idx, got) == 0);
	CHECK_STREQ(got, want);
	CHECK(cache_clean(cache));
}

static void test_release_fallback(void)
{
	_cleanup_free_ char *cache = cache_path("fallback"), *repo = NULL, *url = NULL;
	_cleanup_free_ char *msg = NULL;
	struct load l;

	repo = repo_copy("detached");
	CHECK(repo);
	url = xasprintf("file://%s", repo);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r == 0);
	load_done(&l);

	/* InRelease is gone now: Release and Release.gpg are used, the stale InRelease
	 * copy in the cache is dropped. */
	CHECK(run("rm '%s/dists/bookworm/InRelease'", repo) == 0);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r == 0);
	CHECK(l.n == 1 && has_package(l.idx[0], "hello-mkbm"));
	load_done(&l);
	CHECK(run("test -z \"$(ls '%s/url' | grep InRelease)\"", cache) == 0);

	/* ... and offline too. */
	load(&l, cache, true, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r == 0);
	load_done(&l);

	/* A tampered Release fails against Release.gpg. */
	CHECK(run("sed -i 's/^Label: .*/Label: evil/' '%s/dists/bookworm/Release'", repo) == 0);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	msg = xasprintf("error: '%s/dists/bookworm/Release': bad signature (keyring '%s')", url,
			keyring);
	CHECK(strstr(l.log, msg));
	load_done(&l);

	/* No signature at all. */
	CHECK(run("rm '%s/dists/bookworm/Release.gpg'", repo) == 0);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "/dists/bookworm/Release': not signed"));
	load_done(&l);
}

static void test_unsigned_inrelease(void)
{
	_cleanup_free_ char *cache = cache_path("unsigned"), *repo = NULL, *url = NULL;
	struct load l;

	repo = repo_copy("unsigned");
	CHECK(repo);
	CHECK(run("cp '%s/dists/bookworm/Release' '%s/dists/bookworm/InRelease'", repo, repo) ==
	      0);
	url = xasprintf("file://%s", repo);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "/dists/bookworm/InRelease': not signed (keyring '"));
	load_done(&l);
}

static void test_keyring_missing(void)
{
	_cleanup_free_ char *cache = cache_path("nokeyring"), *kr = xasprintf("%s/nope.gpg", dir);
	_cleanup_free_ char *msg = xasprintf("error: keyring '%s' does not exist", kr);
	struct load l;

	load(&l, cache, false, repo_url, "bookworm", comps_main, "amd64", kr);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, msg));
	load_done(&l);
}

/* Architecture: all packages listed only in binary-all are read when the Release lists
 * "all" without No-Support-for-Architecture-all: Packages; with the field, apt reads only
 * binary-amd64, and so does repo_load. */
static void test_binary_all(void)
{
	_cleanup_free_ char *cache = cache_path("all"), *url = NULL;
	struct load l;

	/* hello-mkbm alone in binary-amd64 (scanned first), extra-mkbm only in binary-all. */
	for (int field = 0; field < 2; field++) {
		CHECK(run("rm -rf '%s/all' && %s%s '%s/all' '%s/gnupg' bookworm main amd64 "
			  "'%s/hello-mkbm.deb' && %s%s '%s/all' '%s/gnupg' bookworm main all "
			  "'%s/extra-mkbm.deb'",
			  dir, field ? "NO_ARCH_ALL=1 " : "", mkrepo, dir, dir, dir,
			  field ? "NO_ARCH_ALL=1 " : "", mkrepo, dir, dir, dir) == 0);
		free(TAKE_PTR(url));
		url = xasprintf("file://%s/all", dir);
		load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
		CHECK(l.r == 0);
		if (!field) {
			CHECK(l.n == 2);
			CHECK(l.n == 2 && has_package(l.idx[0], "hello-mkbm") &&
			      !has_package(l.idx[0], "extra-mkbm") &&
			      has_package(l.idx[1], "extra-mkbm"));
		} else {
			CHECK(l.n == 1 && has_package(l.idx[0], "hello-mkbm") &&
			      !has_package(l.idx[0], "extra-mkbm"));
		}
		load_done(&l);
	}
}

static void test_expired(void)
{
	_cleanup_free_ char *cache = cache_path("expired"), *url = NULL;
	struct load l;

	CHECK(run("VALID_UNTIL=1000000000 %s '%s/expired' '%s/gnupg' bookworm main amd64 "
		  "'%s/hello-mkbm.deb'", mkrepo, dir, dir, dir) == 0);
	url = xasprintf("file://%s/expired", dir);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r < 0);
	CHECK(strstr(l.log, "/dists/bookworm/InRelease' expired at Sun, 09 Sep 2001 01:46:40 UTC "
			    "(Valid-Until)"));
	load_done(&l);
	/* check-valid-until: false: used, with a warning. */
	ignore_valid_until = true;
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	ignore_valid_until = false;
	CHECK(l.r == 0 && l.n == 1 && has_package(l.idx[0], "hello-mkbm"));
	CHECK(strstr(l.log, "warning: ") && strstr(l.log, "used anyway"));
	load_done(&l);

	/* Still valid: fine. */
	CHECK(run("VALID_UNTIL=4000000000 %s '%s/valid' '%s/gnupg' bookworm main amd64 "
		  "'%s/hello-mkbm.deb'", mkrepo, dir, dir, dir) == 0);
	free(TAKE_PTR(url));
	url = xasprintf("file://%s/valid", dir);
	load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
	CHECK(l.r == 0);
	load_done(&l);
}

static void test_compressions(void)
{
	static const char *const kinds[] = { "gz", "none" };
	_cleanup_free_ char *cache = cache_path("compress");

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		_cleanup_free_ char *url = xasprintf("file://%s/repo-%s", dir, kinds[i]);
		struct load l;

		CHECK(run("COMPRESS=%s %s '%s/repo-%s' '%s/gnupg' bookworm main amd64 "
			  "'%s/hello-mkbm.deb'", kinds[i], mkrepo, dir, kinds[i], dir, dir) == 0);
		load(&l, cache, false, url, "bookworm", comps_main, "amd64", keyring);
		CHECK(l.r == 0);
		CHECK(l.n == 1 && has_package(l.idx[0], "hello-mkbm"));
		load_done(&l);
	}
}

/* ---- the fetcher alone ---- */

static void clear3(char **a, char **b, char **c)
{
	free(*a), free(*b), free(*c);
	*a = *b = *c = NULL;
}

static void test_fetcher(void)
{
	_cleanup_free_ char *cache = cache_path("fetcher"), *file = xasprintf("%s/blob", dir);
	_cleanup_free_ char *url = xasprintf("file://%s", file), *msg = NULL, *log = NULL;
	_cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL, *expect = NULL;
	const char *bad = "0000000000000000000000000000000000000000000000000000000000000000";
	struct fetcher *f = NULL;
	char hex[65];
	int r;

	CHECK(run("printf 'hello, cache\\n' >'%s'", file) == 0);
	CHECK(sha256_file(file, hex) == 0);
	CHECK(fetcher_new(cache, false, 2, &f) == 0);

	/* The same hash queued twice, even from another URL, is fetched once. */
	log_set_level(LOG_DEBUG);
	capture_begin();
	r = fetcher_add(f, url, hex, 13, &p1);
	if (r == 0) {
		_cleanup_free_ char *other = xasprintf("file://localhost%s", file);

		r = fetcher_add(f, other, hex, 0, &p2);
	}
	if (r == 0)
		r = fetcher_run(f);
	log = capture_end();
	log_set_level(LOG_INFO);
	CHECK(r == 0);
	expect = xasprintf("%s/sha256/%s", cache, hex);
	CHECK_STREQ(p1, expect);
	CHECK_STREQ(p2, expect);
	CHECK(strstr(log, "fetching '") && !strstr(strstr(log, "fetching '") + 1, "fetching '"));
	CHECK(access(expect, R_OK) == 0);

	/* A wrong hash: the whole message, and nothing stored. */
	clear3(&p1, &msg, &log);
	capture_begin();
	r = fetcher_add(f, url, bad, 0, &p1);
	if (r == 0)
		r = fetcher_run(f);
	log = capture_end();
	CHECK(r < 0);
	msg = xasprintf("error: '%s': SHA256 mismatch: expected %s, got %s\n", url, bad, hex);
	CHECK(strstr(log, msg));
	CHECK(access(p1, F_OK) < 0);

	/* Larger than announced. */
	clear3(&p1, &msg, &log);
	capture_begin();
	r = fetcher_add(f, url, bad, 5, &p1);
	if (r == 0)
		r = fetcher_run(f);
	log = capture_end();
	CHECK(r < 0);
	msg = xasprintf("error: '%s': larger than the expected 5 bytes", url);
	CHECK(strstr(log, msg));

	/* By URL, a missing file, and an unsupported scheme. */
	clear3(&p1, &msg, &log);
	capture_begin();
	r = fetcher_add(f, url, NULL, 0, &p1);
	if (r == 0)
		r = fetcher_add(f, "file:///nonexistent/x", NULL, 0, &p3);
	if (r == 0)
		r = fetcher_run(f);
	log = capture_end();
	CHECK(r < 0);
	CHECK(strstr(log, "error: cannot download 'file:///nonexistent/x': "));
	CHECK(strstr(p1, "/url/file%3A%2F%2F"));
	CHECK(access(p1, R_OK) == 0); /* the other transfer still succeeded */
	clear3(&p3, &msg, &log);
	capture_begin();
	r = fetcher_add(f, "ftp://example.invalid/x", NULL, 0, &p3);
	log = capture_end();
	CHECK(r < 0);
	CHECK(strstr(log, "error: 'ftp://example.invalid/x': unsupported URL"));
	CHECK(cache_clean(cache));
	fetcher_free(f);
}

/* Cached copies are hashed on several threads when there are enough bytes: each item still
 * gets its own verdict. */
static void test_fetcher_cache_threads(void)
{
	enum { N = 6 };
	_cleanup_free_ char *cache = cache_path("fetcher-threads"), *log = NULL;
	char *urls[N], *paths[N] = { 0 }, hex[N][65];
	struct fetcher *f = NULL;
	int r = 0;

	for (size_t i = 0; i < N; i++) {
		_cleanup_free_ char *file = xasprintf("%s/blob%zu", dir, i);

		/* 3-8 MiB each, 33 MiB in all */
		CHECK(run("head -c %zu /dev/urandom >'%s'", (3 + i) << 20, file) == 0);
		CHECK(sha256_file(file, hex[i]) == 0);
		urls[i] = xasprintf("file://%s", file);
	}
	CHECK(fetcher_new(cache, false, 2, &f) == 0);
	for (size_t i = 0; i < N && r == 0; i++)
		r = fetcher_add(f, urls[i], hex[i], (3 + i) << 20, &paths[i]);
	CHECK(r == 0 && fetcher_run(f) == 0);
	/* The largest and a small one corrupt: both refetched, the others used. */
	CHECK(run("printf X | dd of='%s' bs=1 seek=4096 conv=notrunc status=none", paths[N - 1]) ==
	      0);
	CHECK(run("printf X | dd of='%s' bs=1 seek=1 conv=notrunc status=none", paths[1]) == 0);
	log_set_level(LOG_DEBUG);
	capture_begin();
	for (size_t i = 0; i < N && r == 0; i++) {
		free(paths[i]);
		r = fetcher_add(f, urls[i], hex[i], (3 + i) << 20, &paths[i]);
	}
	if (r == 0)
		r = fetcher_run(f);
	log = capture_end();
	log_set_level(LOG_INFO);
	CHECK(r == 0);
	for (size_t i = 0; i < N; i++) {
		char got[65];
		_cleanup_free_ char *used = xasprintf("using cached '%s'", paths[i]);
		_cleanup_free_ char *warned =
			xasprintf("warning: cached file '%s' was corrupt", paths[i]);
		bool bad = i == 1 || i == N - 1;

		CHECK(sha256_file(paths[i], got) == 0 && streq(got, hex[i]));
		CHECK(!strstr(log, used) == bad);
		CHECK(!strstr(log, warned) == !bad);
	}
	for (size_t i = 0; i < N; i++)
		free(urls[i]), free(paths[i]);
	fetcher_free(f);
}

int main(void)
{
	int r;

	setenv("MKBOOTMEDIA_NO_PROGRESS", "1", 1);
	r = setup();
	if (r < 0) {
		fprintf(stderr, "cannot set up the test repository in '%s': %s\n", dir,
			strerror(-r));
		if (!streq(dir, "/tmp/test-repo.XXXXXX"))
			run("rm -rf '%s'", dir);
		return 1;
	}
	RUN_TEST(test_good_repo);
	RUN_TEST(test_cache_reused);
	RUN_TEST(test_offline);
	RUN_TEST(test_tampered_packages);
	RUN_TEST(test_tampered_inrelease);
	RUN_TEST(test_other_key);
	RUN_TEST(test_missing_component);
	RUN_TEST(test_corrupt_cache);
	RUN_TEST(test_release_fallback);
	RUN_TEST(test_unsigned_inrelease);
	RUN_TEST(test_keyring_missing);
	RUN_TEST(test_expired);
	RUN_TEST(test_binary_all);
	RUN_TEST(test_compressions);
	RUN_TEST(test_fetcher);
	RUN_TEST(test_fetcher_cache_threads);
	run("rm -rf '%s'", dir);
	CHECK_EXIT();
}
