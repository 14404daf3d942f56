/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


static void oom(void)
{
	fputs("mkbootmedia: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void strv_free(char **l)
{
	if (!l)
		return;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
}

size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

char **strv_append(char **l, const char *s)
{
	size_t n = strv_length(l);

	l = xrealloc(l, (n + 2) * sizeof(char *));
	l[n] = xstrdup(s);
	l[n + 1] = NULL;
	return l;
}

bool strv_contains(char *const *l, const char *s)
{
	for (size_t i = 0; l && l[i]; i++)
		if (streq(l[i], s))
			return true;
	return false;
}

bool str_is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

void fput_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int path_normalize(const char *path, char **ret)
{
	_cleanup_free_ char *out = xmalloc(strlen(path) + 1);
	size_t len = 0;

	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		p += strspn(p, "/");
	}
	out[len] = 0;
	*ret = TAKE_PTR(out);
	return 0;
}

bool path_is_safe_absolute(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n;
		p += strspn(p, "/");
	}
	return true;
}

unsigned levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned *row = xcalloc(lb + 1, sizeof(unsigned));
	unsigned r;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	r = row[lb];
	free(row);
	return r;
}

const char *format_bytes(char buf[static 32], uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	double v = bytes;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (uint64_t)v)
		snprintf(buf, 32, "%llu %s", (unsigned long long)v, units[u]);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}

int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	char *p = buf;

	while (n > 0) {
		ssize_t k = pread(fd, p, n, (off_t)off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

int scratch_make(const char *dir, const char *what, uint64_t size, struct scratch *s)
{
	int r;

	s->path = xasprintf("%s/.mkbootmedia-%s-XXXXXX", dir, what);
	s->fd = mkostemp(s->path, O_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		free(s->path);
		s->path = NULL;
		return r;
	}
	if (ftruncate(s->fd, (off_t)size) < 0) {
		r = -errno;
		scratch_done(s);
		return r;
	}
	return 0;
}

void scratch_done(struct scratch *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->path) {
		unlink(s->path);
		free(s->path);
	}
	s->fd = -1;
	s->path = NULL;
}

int open_regular(const char *path, int flags, struct stat *ret_st)
{
	_cleanup_close_ int fd = open(path, flags | O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	int fl;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	if (ret_st)
		*ret_st = st;
	return TAKE_FD(fd);
}

int read_fd(int fd, size_t max, char **ret_data, size_t *ret_size)
{
	_cleanup_free_ char *data = NULL;
	size_t size = 0, cap = 0;

	for (;;) {
		ssize_t k;

		if (size + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			data = xrealloc(data, cap);
		}
		k = read(fd, data + size, cap - size - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		size += (size_t)k;
		if (size > max)
			return -EFBIG;
	}
	data[size] = 0;
	*ret_data = TAKE_PTR(data);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int read_file(const char *path, size_t max, char **ret_data, size_t *ret_size)
{
	_cleanup_close_ int fd = open_regular(path, 0, NULL);

	if (fd < 0)
		return fd;
	return read_fd(fd, max, ret_data, ret_size);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level > 0 || flag == FTW_DP)
		(void)(flag == FTW_DP ? rmdir(path) : unlink(path));
	return 0;
}

void rm_rf(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l)
{
	if (l)
		qsort(l, strv_length(l), sizeof(*l), strv_cmp);
}

char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *dirs = xasprintf("%s:/usr/bin:/bin", path ? path : "");
	char *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);

		if (d[0] == '/' && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

void strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = b->cap ? b->cap : 64;
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void strbuf_adds(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

char *strbuf_take(struct strbuf *b)
{
	if (!b->s)
		return xstrdup("");
	b->cap = b->len = 0;
	return TAKE_PTR(b->s);
}

void strbuf_freep(struct strbuf *b)
{
	free(b->s);
}

/* Joins without "./" noise: ("examples", "./a.yml") -> "examples/a.yml", (".", "a") -> "a". */
char *path_join(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		while (*rel == '/')
			rel++;
	}
	if (!dir || !*dir || streq(dir, "."))
		return xstrdup(*rel ? rel : ".");
	if (!*rel)
		return xstrdup(dir);
	return xasprintf("%s%s%s", dir, endswith(dir, "/") ? "" : "/", rel);
}
