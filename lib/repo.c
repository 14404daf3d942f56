/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading one suite of an apt repository. Trust flows from the keyring only: InRelease (or
 * Release with Release.gpg) is checked by gpgv, only the content gpgv vouches for is parsed,
 * and every Packages index is fetched by the SHA-256 that this signed Release gives for it.
 * Indices are decompressed in memory with liblzma (.xz) or zlib (.gz). */
#include "repo.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <lzma.h>
#include <zlib.h>

#include "log.h"

#define MAX_RELEASE (64u << 20)
#define MAX_INDEX ((size_t)512 << 20) /* a decompressed Packages index */

/* ---- gpgv ---- */

struct gpgv_dir {
	char *path;
};

static void gpgv_dir_done(struct gpgv_dir *d)
{
	static const char *const files[] = { "status", "stderr", "out", "Release" };

	if (!d->path)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", d->path, files[i]);

		unlink(p);
	}
	rmdir(d->path);
	free(d->path);
	d->path = NULL;
}

static int open_new(const char *dir, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return log_errno(errno, "cannot create '%s'", p);
	return fd;
}

/* Runs argv (argv[0] from PATH, no shell) with stdin from /dev/null, stdout and stderr into
 * err_fd and status_fd as fd 3; returns the exit status or -errno (logged). */
static int spawn_gpgv(char *const *argv, int status_fd, int err_fd)
{
	_cleanup_close_ int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int pfd[2], status, err = 0;
	ssize_t k;
	pid_t pid;

	if (null_fd < 0)
		return log_errno(errno, "cannot open '/dev/null'");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return log_errno(errno, "cannot create a pipe");
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(pfd[0]);
		close(pfd[1]);
		return log_errno(err, "cannot fork");
	}
	if (pid == 0) {
		if (dup2(null_fd, 0) < 0 || dup2(err_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			goto fail;
		if (status_fd == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				goto fail;
		} else if (dup2(status_fd, 3) < 0) {
			goto fail;
		}
		execvp(argv[0], argv);
	fail:
		err = errno;
		(void)!write(pfd[1], &err, sizeof(err));
		_exit(127);
	}
	close(pfd[1]);
	do
		k = read(pfd[0], &err, sizeof(err));
	while (k < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_errno(errno, "cannot wait for '%s'", argv[0]);
	if (k == sizeof(err))
		return log_errno(err, "cannot run '%s'", argv[0]);
	if (!WIFEXITED(status))
		return log_fail("'%s' was killed by signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* Verifies a signature with gpgv. Clearsigned: file is InRelease and data NULL. Detached:
 * file is Release.gpg and data the Release it signs. On success *ret_text is the signed
 * content (for InRelease, what gpgv wrote out, never the file itself). url names what is
 * verified in messages. */
static int gpg_verify(struct fetcher *f, const char *keyring, const char *url, const char *file,
		      const char *data, size_t data_len, char **ret_text, size_t *ret_len)
{
	_cleanup_(gpgv_dir_done) struct gpgv_dir tmp = {};
	_cleanup_free_ char *home = xasprintf("%s/gnupg", fetcher_cache_dir(f));
	_cleanup_free_ char *out = NULL, *signed_path = NULL, *status = NULL, *errors = NULL;
	_cleanup_free_ char *text = NULL, *status_path = NULL, *err_path = NULL;
	_cleanup_close_ int status_fd = -1, err_fd = -1;
	bool good = false, valid = false, bad = false, nodata = false, expkey = false;
	bool revkey = false, expsig = false;
	char nokey[64] = "", buf[128];
	const char *reason;
	char *argv[16];
	size_t n = 0, len = 0;
	int r, exit_status;

	/* A private, empty home so that gpgv reads no options and writes nothing in $HOME. */
	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return log_errno(errno, "cannot create '%s'", home);
	tmp.path = xasprintf("%s/.verify-XXXXXX", fetcher_cache_dir(f));
	if (!mkdtemp(tmp.path)) {
		r = log_errno(errno, "cannot create a directory in '%s'", fetcher_cache_dir(f));
		free(tmp.path);
		tmp.path = NULL;
		return r;
	}
	status_fd = open_new(tmp.path, "status");
	if (status_fd < 0)
		return status_fd;
	err_fd = open_new(tmp.path, "stderr");
	if (err_fd < 0)
		return err_fd;
	if (data) {
		/* gpgv checks this copy, and the copy in memory is what is used: nothing can
		 * change the file in the cache in between. */
		_cleanup_close_ int fd = open_new(tmp.path, "Release");

		if (fd < 0)
			return fd;
		r = pwrite_all(fd, data, data_len, 0);
		if (r < 0)
			return log_errno(r, "cannot write '%s/Release'", tmp.path);
		signed_path = xasprintf("%s/Release", tmp.path);
	}
	out = xasprintf("%s/out", tmp.path);

	argv[n++] = (char *)"gpgv";
	argv[n++] = (char *)"--homedir";
	argv[n++] = home;
	argv[n++] = (char *)"--keyring";
	argv[n++] = (char *)keyring;
	argv[n++] = (char *)"--status-fd";
	argv[n++] = (char *)"3"; /* spawn_gpgv() puts status_fd there */
	if (!data) {
		argv[n++] = (char *)"--output";
		argv[n++] = out;
	}
	argv[n++] = (char *)"--";
	argv[n++] = (char *)file;
	if (signed_path)
		argv[n++] = signed_path;
	argv[n] = NULL;

	exit_status = spawn_gpgv(argv, status_fd, err_fd);
	if (exit_status < 0)
		return exit_status;

	status_path = xasprintf("%s/status", tmp.path);
	r = read_file(status_path, 1 << 20, &status, NULL);
	if (r < 0)
		return log_errno(r, "cannot read '%s'", status_path);
	err_path = xasprintf("%s/stderr", tmp.path);
	if (read_file(err_path, 1 << 20, &errors, NULL) == 0 && errors[0])
		log_debug("gpgv on '%s' (exit status %d):\n%s", url, exit_status, errors);

	for (char *line = status, *next; line && *line; line = next) {
		const char *kw;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!startswith(line, "[GNUPG:] "))
			continue;
		kw = line + 9;
		if (startswith(kw, "GOODSIG "))
			good = true;
		else if (startswith(kw, "VALIDSIG "))
			valid = true;
		else if (startswith(kw, "BADSIG "))
			bad = true;
		else if (startswith(kw, "EXPKEYSIG "))
			expkey = true;
		else if (startswith(kw, "REVKEYSIG "))
			revkey = true;
		else if (startswith(kw, "EXPSIG "))
			expsig = true;
		else if (startswith(kw, "NODATA "))
			nodata = true;
		else if (startswith(kw, "NO_PUBKEY "))
			snprintf(nokey, sizeof(nokey), "%s", kw + 10);
	}

	if (bad)
		reason = "bad signature";
	else if (expkey)
		reason = "signed by an expired key";
	else if (revkey)
		reason = "signed by a revoked key";
	else if (expsig)
		reason = "expired signature";
	else if (nokey[0] && !good) {
		snprintf(buf, sizeof(buf), "signed by key %s, which is not in the keyring", nokey);
		reason = buf;
	} else if (nodata || (!good && !nokey[0]))
		reason = "not signed";
	else if (exit_status != 0 || !good || !valid) {
		snprintf(buf, sizeof(buf), "signature not accepted (gpgv exit status %d)",
			 exit_status);
		reason = buf;
	} else
		reason = NULL;
	if (reason)
		return log_fail("'%s': %s (keyring '%s'); is the keyring right?", url, reason,
				keyring);

	if (data) {
		text = xstrndup(data, data_len);
		len = data_len;
	} else {
		r = read_file(out, MAX_RELEASE, &text, &len);
		if (r < 0)
			return log_errno(r, "cannot read what gpgv verified in '%s'", out);
	}
	log_debug("'%s': good signature (keyring '%s')", url, keyring);
	*ret_text = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

/* Fetches and verifies base/InRelease, or base/Release with base/Release.gpg when there is
 * no InRelease. Sets the signed Release text and the URL it came from. */
static int fetch_release(struct fetcher *f, const char *base, const char *keyring,
			 char **ret_url, char **ret_text, size_t *ret_len)
{
	_cleanup_free_ char *inrelease_url = xasprintf("%s/InRelease", base);
	_cleanup_free_ char *release_url = xasprintf("%s/Release", base);
	_cleanup_free_ char *gpg_url = xasprintf("%s/Release.gpg", base);
	_cleanup_free_ char *inrelease = NULL, *release = NULL, *gpg = NULL, *data = NULL;
	_cleanup_free_ char *text = NULL;
	size_t data_len, len;
	int r;

	r = fetcher_add_flags(f, inrelease_url, NULL, 0, FETCH_OPTIONAL, &inrelease);
	if (r < 0)
		return r;
	r = fetcher_run(f);
	if (r < 0)
		return r;
	if (access(inrelease, F_OK) == 0) {
		r = gpg_verify(f, keyring, inrelease_url, inrelease, NULL, 0, &text, &len);
		if (r < 0)
			return r;
		*ret_url = TAKE_PTR(inrelease_url);
		*ret_text = TAKE_PTR(text);
		*ret_len = len;
		return 0;
	}

	log_debug("'%s' does not exist; trying Release and Release.gpg", inrelease_url);
	r = fetcher_add_flags(f, release_url, NULL, 0, FETCH_OPTIONAL, &release);
	if (r < 0)
		return r;
	r = fetcher_add_flags(f, gpg_url, NULL, 0, FETCH_OPTIONAL, &gpg);
	if (r < 0)
		return r;
	r = fetcher_run(f);
	if (r < 0)
		return r;
	if (access(release, F_OK) < 0) {
		if (fetcher_offline(f))
			return log_fail("'%s' is not in the cache '%s' (--offline)", inrelease_url,
					fetcher_cache_dir(f));
		return log_fail("neither '%s' nor '%s' exists; is the suite right?", inrelease_url,
				release_url);
	}
	if (access(gpg, F_OK) < 0)
		return log_fail("'%s': not signed: neither InRelease nor Release.gpg exists "
				"(keyring '%s'); is the keyring right?",
				release_url, keyring);
	r = read_file(release, MAX_RELEASE, &data, &data_len);
	if (r < 0)
		return log_errno(r, "cannot read '%s'", release);
	r = gpg_verify(f, keyring, release_url, gpg, data, data_len, &text, &len);
	if (r < 0)
		return r;
	*ret_url = TAKE_PTR(release_url);
	*ret_text = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

/* ---- Release ---- */

/* "Sat, 17 Aug 2024 08:10:52 UTC" (RFC 2822, as Release files write it) in seconds. */
static int parse_date(const char *s, time_t *ret)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char mon[4], zone[16] = "";
	struct tm tm = {};
	int day, year, hh, mm, ss, fields;
	long off = 0;
	const char *comma = strchr(s, ',');

	if (comma)
		s = comma + 1;
	fields = sscanf(s, " %d %3s %d %d:%d:%d %15s", &day, mon, &year, &hh, &mm, &ss, zone);
	if (fields < 6)
		return -EINVAL;
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (strcasecmp(mon, months[i]) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon < 0)
		return -EINVAL;
	if (fields == 7 && (zone[0] == '+' || zone[0] == '-') && strlen(zone) == 5 &&
	    strspn(zone + 1, "0123456789") == 4) {
		long v = strtol(zone + 1, NULL, 10);

		off = (v / 100 * 3600 + v % 100 * 60) * (zone[0] == '-' ? -1 : 1);
	} else if (fields == 7 && !streq(zone, "UTC") && !streq(zone, "GMT") &&
		   !streq(zone, "Z") && !streq(zone, "UT")) {
		return -EINVAL;
	}
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*ret = timegm(&tm) - off;
	return 0;
}

/* Whether the blank-separated list contains word. */
static bool word_in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t k;

		p += strspn(p, " \t\n");
		k = strcspn(p, " \t\n");
		if (k == n && memcmp(p, word, n) == 0)
			return true;
		p += k;
	}
	return false;
}

/* A component the Release lists, also as the last part of a path: Debian's security
 * archive lists "updates/main" for the "main" apt asks for (dists/SUITE/updates is a
 * symbolic link to the suite's directory, whose Release lists both paths' indices). */
static bool component_in_list(const char *list, const char *comp)
{
	size_t n = strlen(comp);

	for (const char *p = list; *p;) {
		size_t k;

		p += strspn(p, " \t\n");
		k = strcspn(p, " \t\n");
		if (k >= n && memcmp(p + k - n, comp, n) == 0 && (k == n || p[k - n - 1] == '/'))
			return true;
		p += k;
	}
	return false;
}

/* Finds path in the Release's SHA256 field ("hash size path" lines). */
static bool release_lookup(const char *sha256_field, const char *path, char hex[static 65],
			   uint64_t *size)
{
	for (const char *line = sha256_field; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		_cleanup_free_ char *copy = xstrndup(line, n);
		char h[65], p[PATH_MAX];
		uint64_t sz;

		line = eol ? eol + 1 : NULL;
		if (sscanf(copy, " %64s %" SCNu64 " %4095s", h, &sz, p) != 3)
			continue;
		if (streq(p, path) && strlen(h) == 64) {
			memcpy(hex, h, 65);
			*size = sz;
			return true;
		}
	}
	return false;
}

/* ---- decompression ---- */

static int grow(char **buf, size_t *cap, size_t used, const char *what)
{
	if (used < *cap)
		return 0;
	if (*cap >= MAX_INDEX)
		return log_fail("%s: larger than %zu MiB when decompressed", what, MAX_INDEX >> 20);
	*cap = *cap ? *cap * 2 : 1 << 20;
	if (*cap > MAX_INDEX)
		*cap = MAX_INDEX;
	*buf = xrealloc(*buf, *cap + 1);
	return 0;
}

static int unxz(const char *in, size_t in_len, const char *what, char **ret, size_t *ret_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	_cleanup_free_ char *out = NULL;
	size_t cap = 0;
	lzma_ret lr;
	int r = 0;

	lr = lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED);
	if (lr != LZMA_OK)
		return log_fail("%s: cannot initialise liblzma (error %d)", what, (int)lr);
	s.next_in = (const uint8_t *)in;
	s.avail_in = in_len;
	for (;;) {
		r = grow(&out, &cap, s.total_out, what);
		if (r < 0)
			break;
		s.next_out = (uint8_t *)out + s.total_out;
		s.avail_out = cap - s.total_out;
		lr = lzma_code(&s, LZMA_FINISH);
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK) {
			r = log_fail("%s: corrupt xz data (liblzma error %d)", what, (int)lr);
			break;
		}
	}
	if (r == 0) {
		out[s.total_out] = 0;
		*ret_len = s.total_out;
		*ret = TAKE_PTR(out);
	}
	lzma_end(&s);
	return r;
}

static int ungzip(const char *in, size_t in_len, const char *what, char **ret, size_t *ret_len)
{
	z_stream z = {};
	_cleanup_free_ char *out = NULL;
	size_t cap = 0, used = 0;
	int zr, r = 0;

	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return log_fail("%s: cannot initialise zlib", what);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	for (;;) {
		r = grow(&out, &cap, used, what);
		if (r < 0)
			break;
		z.next_out = (Bytef *)out + used;
		z.avail_out = (uInt)(cap - used);
		zr = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			inflateReset(&z); /* another gzip member follows */
			continue;
		}
		if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0)) {
			r = log_fail("%s: corrupt gzip data (%s)", what,
				     z.msg ? z.msg : "zlib error");
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			r = log_fail("%s: truncated gzip data", what);
			break;
		}
	}
	if (r == 0) {
		out[used] = 0;
		*ret_len = used;
		*ret = TAKE_PTR(out);
	}
	inflateEnd(&z);
	return r;
}

/* Reads and decompresses an index: parsed into *ret, or handed to o->add_index (its count
 * of packages in *ret_count). */
static int load_index(const struct repo_opts *o, struct fetcher *f, const char *path,
		      const char *name, const char *plain_hex, const char *what,
		      struct deb822 **ret, size_t *ret_count)
{
	_cleanup_free_ char *raw = NULL, *text = NULL;
	size_t raw_len, len = 0;
	int r;

	r = read_file(path, MAX_INDEX, &raw, &raw_len);
	if (r < 0)
		return log_errno(r, "cannot read '%s'", path);
	if (endswith(name, ".xz"))
		r = unxz(raw, raw_len, what, &text, &len);
	else if (endswith(name, ".gz"))
		r = ungzip(raw, raw_len, what, &text, &len);
	else {
		text = TAKE_PTR(raw);
		len = raw_len;
	}
	if (r < 0)
		return r;
	free(TAKE_PTR(raw)); /* before the parse's peak */
	/* Decompressed once: later runs read it from the cache, checked against the hash the
	 * signed Release gives for the uncompressed index. */
	if (plain_hex && text != NULL && fetcher_store(f, plain_hex, text, len) == -EINVAL)
		log_warn("%s: decompressed, it is not the Packages index the Release lists (its "
			 "SHA-256 differs); it is used, not cached",
			 what);
	if (o->add_index) {
		r = o->add_index(TAKE_PTR(text), len, what, o->userdata);
		if (r < 0)
			return r;
		*ret = NULL;
		*ret_count = (size_t)r;
		return 0;
	}
	r = deb822_parse(TAKE_PTR(text), len, what, ret);
	if (r < 0)
		return r;
	*ret_count = (*ret)->n_stanzas;
	return 0;
}

/* "63456" -> "63,456" */
static const char *format_count(char buf[static 32], size_t n)
{
	char tmp[32];
	size_t len, o = 0;

	len = (size_t)snprintf(tmp, sizeof(tmp), "%zu", n);
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

static void indices_free(struct deb822 **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		deb822_free(l[i]);
	free(l);
}

/* Starts hashing the decompressed indices that the InRelease an earlier run cached names
 * while this run fetches and checks the current one (60 ms on a 50 MB index; the archive
 * changes them a few times a month). Only a head start: what counts is the hash the
 * verified Release gives (fetcher_lookup() checks it), and the cached text is not trusted
 * for anything else. */
static void prehash_indices(struct fetcher *f, const struct repo_opts *o, const char *base)
{
	_cleanup_free_ char *url = xasprintf("%s/InRelease", base), *path = NULL, *text = NULL;
	const char *sha;
	size_t len;

	path = fetcher_url_path(f, url);
	if (read_file(path, MAX_RELEASE, &text, &len) < 0 || !(sha = strstr(text, "\nSHA256:")))
		return;
	for (size_t i = 0; o->components[i]; i++)
		for (size_t a = 0; a < 2; a++) {
			_cleanup_free_ char *plain = xasprintf("%s/binary-%s/Packages",
							       o->components[i],
							       a ? "all" : o->arch);
			char hex[65];
			uint64_t size;

			if (release_lookup(sha + 8, plain, hex, &size))
				fetcher_prehash(f, hex);
		}
}

int repo_load(struct fetcher *f, const struct repo_opts *o, struct deb822 ***ret_indices,
	      size_t *ret_n)
{
	_cleanup_free_ char *mirror = NULL, *keyring = NULL, *base = NULL, *release_url = NULL;
	_cleanup_free_ char *text = NULL, *what = NULL, *comps = NULL;
	_cleanup_free_ char **paths = NULL, **names = NULL, **plain_hexes = NULL;
	struct deb822 *release = NULL, **indices = NULL;
	const struct deb822_stanza *st;
	const char *v, *sha256;
	size_t n_comps = strv_length(o->components), n, len = 0, n_done = 0, total = 0;
	/* index i: component i / per_comp, architecture o->arch, or "all" when i % per_comp */
	size_t per_comp;
	bool by_hash, all;
	char count[32];
	int r;

	if (!o->mirror || !o->suite || !o->arch || !o->keyring || n_comps == 0)
		return log_fail("a repository needs a mirror, a suite, components, an architecture "
				"and a keyring");
	if (access(o->keyring, F_OK) < 0)
		return log_fail("keyring '%s' does not exist", o->keyring);
	keyring = realpath(o->keyring, NULL);
	if (!keyring)
		return log_errno(errno, "cannot resolve keyring '%s'", o->keyring);
	mirror = xstrdup(o->mirror);
	for (size_t k = strlen(mirror); k > 0 && mirror[k - 1] == '/'; k--)
		mirror[k - 1] = 0;
	base = xasprintf("%s/dists/%s", mirror, o->suite);

	prehash_indices(f, o, base);
	r = fetch_release(f, base, keyring, &release_url, &text, &len);
	if (r < 0)
		return r;
	what = xasprintf("'%s'", release_url);
	r = deb822_parse(TAKE_PTR(text), len, what, &release);
	if (r < 0)
		return r;
	if (release->n_stanzas == 0) {
		r = log_fail("'%s': empty Release", release_url);
		goto out;
	}
	st = &release->stanzas[0];

	if (!streq_ptr(deb822_get(st, "Suite"), o->suite) &&
	    !streq_ptr(deb822_get(st, "Codename"), o->suite)) {
		r = log_fail("'%s' is the Release of suite '%s' (codename '%s'), not of '%s'",
			     release_url, deb822_get(st, "Suite") ?: "",
			     deb822_get(st, "Codename") ?: "", o->suite);
		goto out;
	}
	v = deb822_get(st, "Valid-Until");
	if (v) {
		time_t until;

		if (parse_date(v, &until) < 0) {
			r = log_fail("'%s': cannot parse Valid-Until '%s'", release_url, v);
			goto out;
		}
		if (until < time(NULL) && o->ignore_valid_until) {
			log_warn("'%s' expired at %s (Valid-Until): used anyway "
				 "(check-valid-until: false)",
				 release_url, v);
		} else if (until < time(NULL)) {
			r = log_fail("'%s' expired at %s (Valid-Until); is the mirror up to date? "
				     "(check-valid-until: false uses it anyway)",
				     release_url, v);
			goto out;
		}
	}
	v = deb822_get(st, "Architectures") ?: "";
	if (!word_in_list(v, o->arch)) {
		r = log_fail("suite '%s' of '%s' has no architecture '%s' (it has: %s)", o->suite,
			     mirror, o->arch, v);
		goto out;
	}
	/* A Release listing "all" among its architectures keeps Architecture: all packages in
	 * binary-all indices, unless No-Support-for-Architecture-all: Packages says that they
	 * are (also) in each architecture's index, as Debian's are; apt reads binary-all only
	 * in the first case, and so does this. */
	all = word_in_list(v, "all") && !streq(o->arch, "all") &&
	      !streq_ptr(deb822_get(st, "No-Support-for-Architecture-all"), "Packages");
	per_comp = all ? 2 : 1;
	n = n_comps * per_comp;
	v = deb822_get(st, "Components") ?: "";
	for (size_t i = 0; i < n_comps; i++)
		if (!component_in_list(v, o->components[i])) {
			r = log_fail("suite '%s' of '%s' has no component '%s' (it has: %s)",
				     o->suite, mirror, o->components[i], v);
			goto out;
		}
	sha256 = deb822_get(st, "SHA256");
	if (!sha256) {
		r = log_fail("'%s' has no SHA256 field", release_url);
		goto out;
	}
	by_hash = streq_ptr(deb822_get(st, "Acquire-By-Hash"), "yes");

	paths = xcalloc(n, sizeof(*paths));
	names = xcalloc(n, sizeof(*names));
	plain_hexes = xcalloc(n, sizeof(*plain_hexes));
	for (size_t i = 0; i < n; i++) {
		static const char *const ext[] = { ".xz", ".gz", "" };
		const char *comp = o->components[i / per_comp],
			   *arch = i % per_comp ? "all" : o->arch;
		_cleanup_free_ char *url = NULL,
				    *plain = xasprintf("%s/binary-%s/Packages", comp, arch);
		char hex[65];
		uint64_t size = 0;
		bool found = false;

		/* The uncompressed index, when an earlier run stored it (load_index). */
		if (release_lookup(sha256, plain, hex, &size)) {
			r = fetcher_lookup(f, hex, size, &paths[i]);
			if (r < 0)
				goto out;
			if (r > 0) {
				names[i] = TAKE_PTR(plain);
				continue;
			}
			plain_hexes[i] = xstrdup(hex);
		}
		for (size_t e = 0; e < ARRAY_SIZE(ext) && !found; e++) {
			free(names[i]);
			names[i] = xasprintf("%s/binary-%s/Packages%s", comp, arch, ext[e]);
			found = release_lookup(sha256, names[i], hex, &size);
		}
		if (!found) {
			r = log_fail("'%s' lists no Packages index for '%s/binary-%s'", release_url,
				     comp, arch);
			goto out;
		}
		if (by_hash)
			url = xasprintf("%s/%s/binary-%s/by-hash/SHA256/%s", base, comp, arch, hex);
		else
			url = xasprintf("%s/%s", base, names[i]);
		log_debug("%s/%s: '%s' (%" PRIu64 " bytes, SHA256 %s)", o->suite, names[i], url,
			  size, hex);
		r = fetcher_add(f, url, hex, size, &paths[i]);
		if (r < 0)
			goto out;
	}
	r = fetcher_run(f);
	if (r < 0)
		goto out;

	indices = xcalloc(n, sizeof(*indices));
	for (n_done = 0; n_done < n; n_done++) {
		_cleanup_free_ char *w = xasprintf("Packages of %s/%s%s", o->suite,
						   o->components[n_done / per_comp],
						   n_done % per_comp ? " (binary-all)" : "");
		size_t n_pkgs = 0;

		r = load_index(o, f, paths[n_done], names[n_done],
			       endswith(names[n_done], "/Packages") ? NULL : plain_hexes[n_done], w,
			       &indices[n_done], &n_pkgs);
		if (r < 0)
			goto out;
		total += n_pkgs;
	}

	comps = xstrdup(o->components[0]);
	for (size_t i = 1; i < n_comps; i++) {
		char *c = xasprintf("%s %s", comps, o->components[i]);

		free(comps);
		comps = c;
	}
	log_info("%s (%s; %s): %s packages", o->suite, o->arch, comps, format_count(count, total));
	if (o->add_index) {
		free(indices);
		indices = NULL;
	}
	*ret_indices = TAKE_PTR(indices);
	*ret_n = n;
	r = 0;
out:
	if (indices)
		indices_free(indices, n_done);
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	for (size_t i = 0; plain_hexes && i < n; i++)
		free(plain_hexes[i]);
	deb822_free(release);
	return r;
}
