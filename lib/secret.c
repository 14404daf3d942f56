// SPDX-License-Identifier: GPL-2.0-or-later
/* Each secret has a mapping of its own so that mlock() and MADV_DONTDUMP cover exactly its
 * pages. Reads grow a secret by copying into a bigger one and wiping the old, so no plain
 * copy is ever left in the heap. */
#include "secret.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>

#include "log.h"

static bool mlock_warned;

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return n ? (n + page - 1) / page * page : page;
}

struct secret *secret_new(size_t len)
{
	struct secret *s = xmalloc(sizeof(*s));
	void *p;

	s->alloc = page_round(len);
	p = mmap(NULL, s->alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fputs("mkbootmedia: out of memory\n", stderr);
		abort();
	}
	if (mlock(p, s->alloc) < 0 && !mlock_warned) {
		mlock_warned = true;
		log_debug("cannot lock secrets in memory (mlock): %s", strerror(errno));
	}
	(void)madvise(p, s->alloc, MADV_DONTDUMP);
	s->data = p;
	s->len = len;
	return s;
}

struct secret *secret_free(struct secret *s)
{
	if (!s)
		return NULL;
	explicit_bzero(s->data, s->alloc);
	munlock(s->data, s->alloc);
	munmap(s->data, s->alloc);
	free(s);
	return NULL;
}

struct secret *secret_dup(const void *data, size_t len)
{
	struct secret *s = secret_new(len);

	if (len)
		memcpy(s->data, data, len);
	return s;
}

bool secret_equal(const struct secret *a, const struct secret *b)
{
	uint8_t d = 0;

	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		d |= a->data[i] ^ b->data[i];
	return d == 0;
}

/* Applies the passphrase or keyfile rules to what was read; what: "passphrase file 'x'". */
static int secret_finish(struct secret *s, bool passphrase, const char *what)
{
	if (passphrase && s->len && s->data[s->len - 1] == '\n')
		s->data[--s->len] = 0;
	if (s->len == 0)
		return log_fail("%s is empty", what);
	if (passphrase && memchr(s->data, '\n', s->len))
		return log_fail("%s holds more than one line (a passphrase is one line)", what);
	if (passphrase && memchr(s->data, 0, s->len))
		return log_fail("%s holds a NUL byte, which no prompt can type", what);
	return 0;
}

/* Reads fd to its end into a secret; size_hint: the file's size, 0 when unknown. */
static int secret_read(int fd, bool passphrase, uint64_t size_hint, const char *what,
		       struct secret **ret)
{
	size_t max = passphrase ? SECRET_PASSPHRASE_MAX : SECRET_KEYFILE_MAX;
	_cleanup_(secret_freep) struct secret *s = NULL;
	size_t cap, len = 0;
	char limit[32];
	int r;

	/* One byte more than the limit, to tell "at the limit" from "over it". */
	cap = size_hint && size_hint < max ? (size_t)size_hint + 1 : 4096;
	s = secret_new(cap);
	for (;;) {
		ssize_t k;

		if (len == cap) {
			struct secret *t;

			if (cap > max)
				break;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			t = secret_new(cap);
			memcpy(t->data, s->data, len);
			secret_free(s);
			s = t;
		}
		k = read(fd, s->data + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return log_errno(errno, "cannot read %s", what);
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	if (len > max)
		return log_fail("%s is larger than %s", what, format_bytes(limit, max));
	s->len = len;
	r = secret_finish(s, passphrase, what);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int secret_from_file(const char *path, bool passphrase, struct secret **ret)
{
	_cleanup_free_ char *what = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	what = xasprintf("%s '%s'", passphrase ? "passphrase file" : "keyfile", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_errno(errno, "cannot open %s", what);
	if (fstat(fd, &st) < 0)
		return log_errno(errno, "cannot stat %s", what);
	if (S_ISDIR(st.st_mode))
		return log_errno(EISDIR, "cannot read %s", what);
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)))
		log_warn("%s is readable by %s (mode %04o); chmod go-r it", what,
			 (st.st_mode & S_IROTH) ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
	return secret_read(fd, passphrase, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, what,
			   ret);
}

int secret_from_fd(int fd, bool passphrase, struct secret **ret)
{
	char what[64];

	snprintf(what, sizeof(what), "%s from fd %d", passphrase ? "passphrase" : "keyfile", fd);
	return secret_read(fd, passphrase, 0, what, ret);
}

int secret_from_env(const char *name, struct secret **ret)
{
	_cleanup_free_ char *what = xasprintf("environment variable '%s'", name);
	_cleanup_(secret_freep) struct secret *s = NULL;
	char *v = getenv(name);
	size_t len;
	int r;

	if (!v)
		return log_fail("%s is not set", what);
	len = strlen(v);
	if (len > SECRET_PASSPHRASE_MAX) {
		char limit[32];

		return log_fail("%s is longer than %s", what,
				format_bytes(limit, SECRET_PASSPHRASE_MAX));
	}
	s = secret_dup(v, len);
	/* The value also sits in /proc/self/environ's memory: wipe it there too. */
	explicit_bzero(v, len);
	unsetenv(name);
	r = secret_finish(s, true, what);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

/* One line from the terminal, echo off; the prompt goes to the terminal too. */
static int prompt_once(int tty, const char *prompt, struct secret **ret)
{
	_cleanup_(secret_freep) struct secret *s = secret_new(SECRET_PASSPHRASE_MAX + 1);
	struct termios old, quiet;
	size_t len = 0;
	int r = 0;

	if (tcgetattr(tty, &old) < 0)
		return log_errno(errno, "cannot ask for the passphrase: /dev/tty");
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(tty, TCSAFLUSH, &quiet) < 0)
		return log_errno(errno, "cannot turn the terminal's echo off");
	if (write(tty, prompt, strlen(prompt)) < 0)
		r = -errno;
	while (r == 0) {
		ssize_t k = read(tty, s->data + len, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0 || s->data[len] == '\n')
			break;
		if (++len > SECRET_PASSPHRASE_MAX) {
			r = -EFBIG;
			break;
		}
	}
	s->data[len] = 0;
	tcsetattr(tty, TCSAFLUSH, &old);
	(void)!write(tty, "\n", 1);
	if (r == -EFBIG) {
		char limit[32];

		return log_fail("the passphrase typed is longer than %s",
				format_bytes(limit, SECRET_PASSPHRASE_MAX));
	}
	if (r < 0)
		return log_errno(r, "cannot read the passphrase from the terminal");
	s->len = len;
	r = secret_finish(s, true, "the passphrase typed");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int secret_prompt(const char *prompt, bool confirm, struct secret **ret)
{
	_cleanup_(secret_freep) struct secret *a = NULL, *b = NULL;
	_cleanup_close_ int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int r;

	if (tty < 0)
		return log_fail("cannot ask for the passphrase: no terminal (%s); give it with "
				"passphrase-file or --passphrase-fd", strerror(errno));
	r = prompt_once(tty, prompt, &a);
	if (r < 0)
		return r;
	if (confirm) {
		r = prompt_once(tty, "Verify passphrase: ", &b);
		if (r < 0)
			return r;
		if (!secret_equal(a, b))
			return log_fail("the passphrases typed do not match");
	}
	*ret = TAKE_PTR(a);
	return 0;
}
