/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every part of mkbootmedia: cleanup attributes, allocation that
 * never returns NULL, alignment math and string lists. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		typeof(p) _tp = (p);                                                               \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tfd = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_tfd;                                                                              \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
void strv_free(char **l);
static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Allocation failure is not an input error: abort with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* NULL-terminated string lists. */
size_t strv_length(char *const *l);
char **strv_append(char **l, const char *s); /* copies s */
bool strv_contains(char *const *l, const char *s);
void strv_sort(char **l); /* by strcmp */

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}
/* Non-empty, without blanks or control characters: one field of a line such as fstab(5)'s,
 * whose fields are separated by blanks and lines by newlines. */
bool str_is_word(const char *s);
/* s in single quotes, a quote itself as '\'': one word for the shell and for GRUB's script. */
void fput_quoted(FILE *f, const char *s);
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* Paths inside an archive or an image. path_normalize() joins the components of `path` with
 * single slashes, dropping empty and "." ones (so a leading '/' too): "/usr//bin/./x" gives
 * "usr/bin/x", "./" gives "". -EINVAL when a component is "..", -ENAMETOOLONG when one is
 * longer than NAME_MAX; the caller limits the whole length. */
int path_normalize(const char *path, char **ret);
/* Whether `path` is absolute and never climbs: it starts with '/' and has no ".." component
 * (so it cannot leave the tree it is resolved in). Nothing else is checked. */
bool path_is_safe_absolute(const char *path);
/* An ASCII digit, whatever the locale. */
static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}
/* The value of one hex digit (either case), or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}
static inline uint64_t align_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

/* Edit distance, for "did you mean" suggestions. */
unsigned levenshtein(const char *a, const char *b);

/* Formats a byte count for humans ("1.5 GiB", "512 KiB"); returns buf. */
const char *format_bytes(char buf[static 32], uint64_t bytes);

/* Write all of buf at offset; -errno on failure. */
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
int pread_all(int fd, void *buf, size_t n, uint64_t off);
/* Opens a regular file for reading without ever blocking on a FIFO or a device (O_NONBLOCK
 * at open, the type checked on the descriptor, then O_NONBLOCK cleared): the descriptor, or
 * -errno; -EINVAL when path is not a regular file (-EISDIR for a directory). *ret_st
 * (optional) is the descriptor's fstat. */
int open_regular(const char *path, int flags, struct stat *ret_st);
/* Read a whole regular file (at most max bytes) into a NUL-terminated buffer; errors as
 * open_regular(), -EFBIG beyond max. */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_size);
/* The same from an open fd, read to its end. */
int read_fd(int fd, size_t max, char **ret_data, size_t *ret_size);

/* A scratch file: made empty of `size` bytes (sparse) in dir as .mkbootmedia-WHAT-XXXXXX
 * (-errno, nothing left, on failure), removed by scratch_done (safe on a failed one). For libraries
 * that only work on a file of their own (libcryptsetup's headers and hash trees). */
struct scratch {
	char *path;
	int fd;
};
int scratch_make(const char *dir, const char *what, uint64_t size, struct scratch *s);
void scratch_done(struct scratch *s);

/* The absolute path of an executable `name` in $PATH (then /usr/bin, /bin), or NULL. */
char *find_program(const char *name);
/* Removes a directory tree we made (no symlinks followed); errors are ignored. */
void rm_rf(const char *path);

/* A growing string. */
struct strbuf {
	char *s;
	size_t len, cap;
};
void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_adds(struct strbuf *b, const char *s);
/* The string (never NULL), which the caller frees; b is empty again. */
char *strbuf_take(struct strbuf *b);
void strbuf_freep(struct strbuf *b);

/* Joins without "./" noise: ("examples", "./a.yml") -> "examples/a.yml", (".", "a") -> "a";
 * an absolute rel is returned as it is. A new string. */
char *path_join(const char *dir, const char *rel);
