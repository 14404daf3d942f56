/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The expect engine over a child's console: one poll() loop with a deadline over the child's
 * stdout (the console), its stderr (kept for messages) and its stdin (what we type, written
 * only as fast as the child reads, so neither side can block the other). It knows nothing
 * of what the child is: QEMU with `-serial stdio` for `mkbootmedia boot` and the VM runner,
 * /bin/sh scripts in the unit tests. */
#include "console.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"

#define CONSOLE_READ_CHUNK 65536
#define CONSOLE_WINDOW_MAX (1u << 20)  /* unmatched text kept for matching */
#define CONSOLE_TAIL_KEEP 8192         /* text kept before the match floor, for messages */
#define CONSOLE_STDERR_KEEP 4096       /* the child's stderr kept, for messages */
#define CONSOLE_TAIL_LINES 10          /* lines shown when a step fails */
#define CONSOLE_STRING_MAX 512         /* longest OSC/DCS string skipped as an escape */
#define CONSOLE_TERM_WAIT 3.0          /* seconds between SIGTERM and SIGKILL */
#define CONSOLE_POWEROFF_WAIT 10.0     /* default seconds for `poweroff -f` */
#define CONSOLE_EXIT_TICK_MS 50        /* polling for the child's exit once stdout is closed */
#define CONSOLE_LINE_MAX 65536         /* longest line given to on_line in one piece */

/* ---- steps ---- */

void console_step_done(struct console_step *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->output);
	free(s->label);
	*s = (struct console_step){};
}

char *console_step_describe(const struct console_step *s, size_t index)
{
	switch (s->kind) {
	case CONSOLE_EXPECT:
		return xasprintf("step %zu (expect '%s')", index + 1, s->text);
	case CONSOLE_SEND:
		return xasprintf("step %zu (send)", index + 1);
	case CONSOLE_RUN:
		if (s->label)
			return xasprintf("step %zu (%s)", index + 1, s->label);
		return xasprintf("step %zu (run '%s')", index + 1, s->text);
	case CONSOLE_POWEROFF:
		return xasprintf("step %zu (poweroff)", index + 1);
	case CONSOLE_HOST:
		return xasprintf("step %zu (host '%s')", index + 1, s->text);
	}
	return xasprintf("step %zu", index + 1);
}

static int pattern_compile(regex_t *re, const char *pattern, char *errbuf, size_t errlen)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NEWLINE);

	if (rc != 0) {
		if (errbuf && errlen)
			regerror(rc, re, errbuf, errlen);
		regfree(re);
		return -EINVAL;
	}
	return 0;
}

int console_pattern_check(const char *pattern, char *errbuf, size_t errlen)
{
	regex_t re;
	int r = pattern_compile(&re, pattern, errbuf, errlen);

	if (r < 0)
		return r;
	regfree(&re);
	return 0;
}

int console_unescape(const char *s, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *out = xmalloc(strlen(s) + 1);
	size_t k = 0;

	for (const char *p = s; *p; p++) {
		int hi, lo;

		if (*p != '\\') {
			out[k++] = *p;
			continue;
		}
		switch (*++p) {
		case 'n':
			out[k++] = '\n';
			break;
		case 'r':
			out[k++] = '\r';
			break;
		case 't':
			out[k++] = '\t';
			break;
		case 'e':
			out[k++] = '\033';
			break;
		case '\\':
			out[k++] = '\\';
			break;
		case 'x':
			hi = hex_digit(p[1]);
			lo = hi < 0 ? -1 : hex_digit(p[2]);
			if (lo < 0)
				return -EINVAL;
			out[k++] = (char)(hi << 4 | lo);
			p += 2;
			break;
		default: /* also the NUL after a trailing backslash */
			return -EINVAL;
		}
	}
	out[k] = 0;
	*ret = TAKE_PTR(out);
	*ret_size = k;
	return 0;
}

/* ---- the console ---- */

/* The escape sequence filter's state, kept across reads: a sequence may be split. */
enum filter_state {
	F_TEXT,
	F_ESC,     /* after ESC */
	F_CSI,     /* ESC [ parameters... final */
	F_STRING,  /* OSC (ESC ]), DCS (ESC P), SOS, PM, APC: up to BEL or ESC \ */
	F_STR_ESC, /* ESC inside a string */
	F_CHARSET, /* ESC ( and the like: one more byte */
};

struct console {
	pid_t pid;
	int status;         /* waitpid() status once the child ended, else -1 */
	char *name;         /* argv[0]'s base name, for messages */
	int in_fd, out_fd, err_fd;
	struct console_opts o;
	double start;       /* CLOCK_MONOTONIC seconds at the spawn */

	/* The cleaned output. Offsets are absolute (bytes since the spawn); text[0] is at
	 * offset base. Text before floor may not match anymore; a little is kept for messages. */
	char *text;
	size_t len, cap;
	uint64_t base, floor;
	enum filter_state fstate;
	unsigned fstring;   /* bytes of the current escape string */
	bool echo_bol;      /* the echo copy is at the start of a line */

	/* The line being completed, for on_line. */
	char *line;
	size_t line_len, line_cap;

	/* What is being typed, written as the child takes it. */
	const char *pending;
	size_t pending_len;

	char err[CONSOLE_STDERR_KEEP + 1]; /* NUL-terminated */
	size_t err_len;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t text_end(const struct console *c)
{
	return c->base + c->len;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes to the child's stdin without dying of SIGPIPE when it has gone: the signal is
 * blocked around the write and a SIGPIPE it raised is consumed. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n)
{
	sigset_t set, old, pending;
	bool was_pending;
	ssize_t k;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	k = write(fd, buf, n);
	err = errno;
	if (k < 0 && err == EPIPE && !was_pending) {
		static const struct timespec zero = { 0, 0 };

		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return k;
}

static void text_add(struct console *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		c->cap = c->cap ? c->cap : 4096;
		while (c->len + n + 1 > c->cap)
			c->cap *= 2;
		c->text = xrealloc(c->text, c->cap);
	}
	memcpy(c->text + c->len, s, n);
	c->len += n;
	c->text[c->len] = 0;
}

/* Drops text nobody can match anymore, keeping a tail for messages; bounds the text a
 * step waits on (a pattern longer than the window cannot match anyway). */
static void text_compact(struct console *c)
{
	uint64_t keep_from;
	size_t drop;

	if (text_end(c) - c->floor > CONSOLE_WINDOW_MAX)
		c->floor = text_end(c) - CONSOLE_WINDOW_MAX;
	keep_from = c->floor > CONSOLE_TAIL_KEEP ? c->floor - CONSOLE_TAIL_KEEP : 0;
	if (keep_from <= c->base || keep_from - c->base < CONSOLE_WINDOW_MAX / 4)
		return;
	drop = (size_t)(keep_from - c->base);
	memmove(c->text, c->text + drop, c->len - drop + 1);
	c->len -= drop;
	c->base += drop;
}

/* Removes \r, escape sequences and control characters except \n and \t; out has room for
 * n bytes. Returns the bytes written. */
static size_t filter(struct console *c, const char *in, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		switch (c->fstate) {
		case F_TEXT:
			if (ch == 033)
				c->fstate = F_ESC;
			else if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7f))
				out[k++] = (char)ch;
			break;
		case F_ESC:
			c->fstring = 0;
			if (ch == '[')
				c->fstate = F_CSI;
			else if (ch == ']' || ch == 'P' || ch == 'X' || ch == '^' || ch == '_')
				c->fstate = F_STRING;
			else if (ch >= 0x20 && ch <= 0x2f) /* ( ) * + # % ...: designations */
				c->fstate = F_CHARSET;
			else if (ch != 033)
				c->fstate = F_TEXT; /* ESC 7, ESC c, ESC M...: two bytes */
			if (ch == '\n')
				out[k++] = '\n'; /* not a sequence after all: keep the line end */
			break;
		case F_CSI:
			if (ch >= 0x40 && ch <= 0x7e)
				c->fstate = F_TEXT;
			else if (ch == 033)
				c->fstate = F_ESC;
			else if (ch == '\n') /* controls act inside a sequence */
				out[k++] = '\n';
			else if (ch >= 0x80 || ++c->fstring > CONSOLE_STRING_MAX)
				c->fstate = F_TEXT; /* not a sequence after all */
			break;
		case F_STRING:
			if (ch == 007)
				c->fstate = F_TEXT;
			else if (ch == 033)
				c->fstate = F_STR_ESC;
			else if (++c->fstring > CONSOLE_STRING_MAX)
				c->fstate = F_TEXT;
			break;
		case F_STR_ESC:
			c->fstate = ch == '\\' ? F_TEXT : F_STRING;
			break;
		case F_CHARSET:
			c->fstate = F_TEXT;
			break;
		}
	}
	return k;
}

static void echo_text(struct console *c, const char *s, size_t n)
{
	if (c->o.echo_fd < 0 || n == 0)
		return;
	(void)write_all(c->o.echo_fd, s, n);
	c->echo_bol = s[n - 1] == '\n';
}

/* Ends the echo copy's current line, so that a message printed next starts on its own. */
static void echo_break_line(struct console *c)
{
	if (c->o.echo_fd >= 0 && !c->echo_bol)
		echo_text(c, "\n", 1);
}

static void line_flush(struct console *c)
{
	if (!c->o.on_line)
		return;
	if (!c->line)
		c->line = xmalloc(c->line_cap = 256);
	c->line[c->line_len] = 0;
	c->o.on_line(c->o.userdata, c->line);
	c->line_len = 0;
}

/* Cuts the cleaned output into lines for on_line; an endless line is passed on in pieces. */
static void line_add(struct console *c, const char *s, size_t n)
{
	if (!c->o.on_line)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			line_flush(c);
			continue;
		}
		if (c->line_len + 2 > c->line_cap) {
			c->line_cap = c->line_cap ? 2 * c->line_cap : 256;
			c->line = xrealloc(c->line, c->line_cap);
		}
		c->line[c->line_len++] = s[i];
		if (c->line_len >= CONSOLE_LINE_MAX)
			line_flush(c);
	}
}

static void console_consume(struct console *c, const char *buf, size_t n)
{
	_cleanup_free_ char *clean = xmalloc(n);
	size_t k;

	if (c->o.log_fd >= 0 && write_all(c->o.log_fd, buf, n) < 0) {
		log_warn("cannot write the console log: %s (logging stops)", strerror(errno));
		c->o.log_fd = -1;
	}
	k = filter(c, buf, n, clean);
	text_add(c, clean, k);
	echo_text(c, clean, k);
	line_add(c, clean, k);
	text_compact(c);
}

static void stderr_consume(struct console *c, const char *buf, size_t n)
{
	if (n >= CONSOLE_STDERR_KEEP) {
		buf += n - CONSOLE_STDERR_KEEP;
		n = CONSOLE_STDERR_KEEP;
	}
	if (c->err_len + n > CONSOLE_STDERR_KEEP) {
		size_t drop = c->err_len + n - CONSOLE_STDERR_KEEP;

		memmove(c->err, c->err + drop, c->err_len - drop);
		c->err_len -= drop;
	}
	memcpy(c->err + c->err_len, buf, n);
	c->err_len += n;
	c->err[c->err_len] = 0;
}

static void child_reap(struct console *c, bool block)
{
	int status;
	pid_t p;

	if (c->status >= 0 || c->pid <= 0)
		return;
	do
		p = waitpid(c->pid, &status, block ? 0 : WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p == c->pid)
		c->status = status;
	else if (p < 0)
		c->status = 0xff00; /* not our child anymore: say "status 255" */
}

const char *console_child_stderr(const struct console *c)
{
	return c->err;
}

int console_child_status(const struct console *c)
{
	return c->status;
}

/* One round of the loop: waits until something happens or the deadline passes, reads what
 * the child printed, writes what is pending. Returns 0, or -ETIME at the deadline. */
static int console_pump(struct console *c, double deadline)
{
	struct pollfd p[3];
	char buf[CONSOLE_READ_CHUNK];
	double left = deadline - now_seconds();
	int n = 0, timeout_ms, i_out = -1, i_err = -1, i_in = -1, k;

	if (left <= 0)
		return -ETIME;
	if (c->out_fd >= 0) {
		i_out = n;
		p[n++] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
	}
	if (c->err_fd >= 0) {
		i_err = n;
		p[n++] = (struct pollfd){ .fd = c->err_fd, .events = POLLIN };
	}
	if (c->pending_len && c->in_fd >= 0) {
		i_in = n;
		p[n++] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
	}
	timeout_ms = left > 3600 ? 3600 * 1000 : (int)(left * 1000) + 1;
	/* Once stdout is closed, the only way to learn that the child ended is to ask. */
	if (c->out_fd < 0 && c->status < 0 && timeout_ms > CONSOLE_EXIT_TICK_MS)
		timeout_ms = CONSOLE_EXIT_TICK_MS;
	k = poll(p, (nfds_t)n, timeout_ms);
	if (k < 0 && errno != EINTR)
		return log_errno(errno, "cannot poll the console");
	if (k > 0 && i_out >= 0 && p[i_out].revents) {
		ssize_t r = read(c->out_fd, buf, sizeof(buf));

		if (r > 0) {
			console_consume(c, buf, (size_t)r);
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(c->out_fd);
			c->out_fd = -1;
			if (c->line_len)
				line_flush(c);
		}
	}
	if (k > 0 && i_err >= 0 && p[i_err].revents) {
		ssize_t r = read(c->err_fd, buf, sizeof(buf));

		if (r > 0) {
			stderr_consume(c, buf, (size_t)r);
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(c->err_fd);
			c->err_fd = -1;
		}
	}
	if (k > 0 && i_in >= 0 && p[i_in].revents) {
		ssize_t r = write_nosigpipe(c->in_fd, c->pending, c->pending_len);

		if (r > 0) {
			c->pending += r;
			c->pending_len -= (size_t)r;
		} else if (r < 0 && errno != EINTR && errno != EAGAIN) {
			/* The child closed its stdin (it ended): nothing more can be typed. */
			close(c->in_fd);
			c->in_fd = -1;
		}
	}
	if (c->out_fd < 0)
		child_reap(c, false);
	return 0;
}

/* The child is gone for good: it ended and everything it printed has been read. */
static bool console_gone(const struct console *c)
{
	return c->out_fd < 0 && c->status >= 0;
}

static bool pattern_has_newline(const char *pattern)
{
	return strchr(pattern, '\n') != NULL;
}

/* Matches re against the text from `from` on (absolute); so/eo are absolute offsets of the
 * match and of its first group (gso/geo, may be NULL). */
static bool text_match(const struct console *c, const regex_t *re, uint64_t from,
		       uint64_t *ret_so, uint64_t *ret_eo, uint64_t *ret_gso, uint64_t *ret_geo)
{
	regmatch_t m[2];
	size_t at;
	int flags = 0;

	if (from < c->base)
		from = c->base;
	at = (size_t)(from - c->base);
	/* ^ matches at the start only when that is the start of a line. */
	if (from > 0 && (at == 0 || c->text[at - 1] != '\n'))
		flags |= REG_NOTBOL;
	if (regexec(re, c->text ? c->text + at : "", 2, m, flags) != 0)
		return false;
	*ret_so = from + (uint64_t)m[0].rm_so;
	*ret_eo = from + (uint64_t)m[0].rm_eo;
	if (ret_gso && m[1].rm_so >= 0) {
		*ret_gso = from + (uint64_t)m[1].rm_so;
		*ret_geo = from + (uint64_t)m[1].rm_eo;
	}
	return true;
}

/* Where the next attempt has to start: text that was scanned already cannot hold a match,
 * except one that reaches into the new text, and (for a pattern without a newline) that
 * starts on the line where the new text begins. */
static uint64_t rescan_from(const struct console *c, uint64_t floor, uint64_t scanned,
			    bool multiline)
{
	uint64_t from = scanned;

	if (multiline || scanned <= floor)
		return floor;
	while (from > floor && from > c->base && c->text[from - 1 - c->base] != '\n')
		from--;
	return from;
}

enum wait_result {
	WAIT_MATCH,
	WAIT_TIMEOUT,
	WAIT_GONE,
};

/* Waits until re matches text after c->floor; returns a wait_result or -errno. */
static int console_wait(struct console *c, const regex_t *re, bool multiline, double deadline,
			uint64_t *ret_so, uint64_t *ret_eo, uint64_t *ret_gso, uint64_t *ret_geo)
{
	uint64_t scanned = c->floor;
	bool first = true;

	for (;;) {
		int r;

		if (first || text_end(c) > scanned) {
			uint64_t from = rescan_from(c, c->floor, scanned, multiline);

			first = false;
			scanned = text_end(c);
			if (text_match(c, re, from, ret_so, ret_eo, ret_gso, ret_geo))
				return WAIT_MATCH;
		}
		if (console_gone(c))
			return WAIT_GONE;
		r = console_pump(c, deadline);
		if (r == -ETIME)
			return WAIT_TIMEOUT;
		if (r < 0)
			return r;
	}
}

/* Types data (the pointer must stay valid until it returns). Returns 0, a wait_result or
 * -errno. */
static int console_type(struct console *c, const char *data, size_t n, double deadline)
{
	int r = 0;

	c->pending = data;
	c->pending_len = n;
	while (r == 0 && c->pending_len && c->in_fd >= 0 && !console_gone(c))
		r = console_pump(c, deadline);
	/* A child that closed its stdin has ended or is about to: wait for that. */
	while (r == 0 && c->pending_len && !console_gone(c))
		r = console_pump(c, deadline);
	if (r == 0 && c->pending_len)
		r = WAIT_GONE;
	c->pending_len = 0;
	return r == -ETIME ? WAIT_TIMEOUT : r;
}

/* The last `lines` lines of s (n bytes), each as "\n    | line", appended to f. */
static void tail_lines(FILE *f, const char *s, size_t n, unsigned lines)
{
	unsigned seen = 0;
	size_t start;

	while (n > 0 && s[n - 1] == '\n')
		n--;
	start = n;
	while (start > 0 && seen < lines) {
		if (s[start - 1] == '\n' && ++seen == lines)
			break;
		start--;
	}
	for (size_t i = start; i < n;) {
		size_t e = i;

		while (e < n && s[e] != '\n')
			e++;
		fprintf(f, "\n    | %.*s", (int)(e - i), s + i);
		i = e + 1;
	}
}

static void describe_status(FILE *f, const char *name, int status)
{
	if (WIFEXITED(status))
		fprintf(f, "%s exited with status %d", name, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(f, "%s was killed by signal %d (%s)", name, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	else
		fprintf(f, "%s ended (status 0x%x)", name, status);
}

/* Logs a step's failure once, with what explains it: the last console lines (when they
 * were not shown as they came), a command's output, what the child said on stderr. */
static int step_fail(struct console *c, const struct console_step *s, size_t index, int err,
		     bool show_console, const char *output, const char *fmt, ...) _printf_(7, 8);
static int step_fail(struct console *c, const struct console_step *s, size_t index, int err,
		     bool show_console, const char *output, const char *fmt, ...)
{
	_cleanup_free_ char *what = console_step_describe(s, index), *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);
	va_list ap;

	if (!f)
		abort();
	fprintf(f, "%s ", what);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (output && output[0]) {
		fputs("\nits output:", f);
		tail_lines(f, output, strlen(output), CONSOLE_TAIL_LINES);
	}
	if (show_console && c->len) {
		fputs("\nlast console lines:", f);
		tail_lines(f, c->text, c->len, CONSOLE_TAIL_LINES);
	}
	if (c->status >= 0 && c->err_len) {
		fprintf(f, "\n%s said:", c->name);
		tail_lines(f, c->err, c->err_len, CONSOLE_TAIL_LINES);
	}
	fclose(f);
	echo_break_line(c);
	log_error("%s", msg);
	return err;
}

static int fail_gone(struct console *c, const struct console_step *s, size_t index)
{
	_cleanup_free_ char *why = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&why, &len);

	if (!f)
		abort();
	describe_status(f, c->name, c->status);
	fclose(f);
	return step_fail(c, s, index, -ECHILD, true, NULL, "failed: %s", why);
}

static int fail_timeout(struct console *c, const struct console_step *s, size_t index,
			double step_start, bool overall)
{
	if (overall)
		return step_fail(c, s, index, -ETIME, c->o.echo_fd < 0, NULL,
				 "timed out after %.1f s (the overall timeout of %g s)",
				 now_seconds() - step_start, c->o.timeout);
	return step_fail(c, s, index, -ETIME, c->o.echo_fd < 0, NULL, "timed out after %g s",
			 s->timeout);
}

/* Sends SIGTERM, then SIGKILL when the child is still there after a while; reaps it. */
static void console_terminate(struct console *c)
{
	double until;

	if (c->pid <= 0 || c->status >= 0)
		return;
	child_reap(c, false);
	if (c->status >= 0)
		return;
	kill(c->pid, SIGTERM);
	until = now_seconds() + CONSOLE_TERM_WAIT;
	while (c->status < 0 && now_seconds() < until) {
		static const struct timespec tick = { 0, 20 * 1000 * 1000 };

		nanosleep(&tick, NULL);
		child_reap(c, false);
	}
	if (c->status < 0) {
		kill(c->pid, SIGKILL);
		child_reap(c, true);
	}
}

static int run_expect(struct console *c, const struct console_step *s, size_t index,
		      double deadline, bool overall, double step_start)
{
	regex_t re;
	uint64_t so, eo;
	int r;

	if (pattern_compile(&re, s->text, NULL, 0) < 0)
		return log_fail("'%s' is not a valid pattern", s->text);
	r = console_wait(c, &re, pattern_has_newline(s->text), deadline, &so, &eo, NULL, NULL);
	regfree(&re);
	if (r == WAIT_MATCH) {
		c->floor = eo;
		return 0;
	}
	if (r == WAIT_TIMEOUT)
		return fail_timeout(c, s, index, step_start, overall);
	if (r == WAIT_GONE)
		return fail_gone(c, s, index);
	return r;
}

/* The output of a --run: what follows the echoed command line (the last line holding the
 * marker's unexpanded tail) up to the marker; everything since the command was typed when
 * nothing echoed it. One trailing newline is dropped. */
static char *run_output(const struct console *c, uint64_t typed, uint64_t marker, const char *tail,
			const char *begin)
{
	size_t from, to;
	const char *t, *hit = NULL;

	if (typed < c->base)
		typed = c->base;
	from = (size_t)(typed - c->base);
	to = (size_t)(marker - c->base);
	/* The begin marker the command printed itself: the output follows its line, whatever
	 * the terminal echoed or the shell prompted before it (type-ahead can put the prompt
	 * after the echo). */
	for (t = c->text + from; (t = memmem(t, (size_t)(c->text + to - t), begin, strlen(begin)));
	     t++)
		hit = t;
	if (hit) {
		const char *nl = memchr(hit, '\n', (size_t)(c->text + to - hit));

		from = nl ? (size_t)(nl + 1 - c->text) : to;
		if (to > from && c->text[to - 1] == '\n')
			to--;
		return xstrndup(c->text + from, to > from ? to - from : 0);
	}
	for (t = c->text + from; (t = memmem(t, (size_t)(c->text + to - t), tail, strlen(tail)));
	     t++)
		hit = t;
	if (hit) {
		const char *nl = memchr(hit, '\n', (size_t)(c->text + to - hit));

		from = nl ? (size_t)(nl + 1 - c->text) : to;
	}
	if (to > from && c->text[to - 1] == '\n')
		to--;
	return xstrndup(c->text + from, to > from ? to - from : 0);
}

/* A RUN or HOST step's end: the exit status it must give, and the pattern its output must
 * match. */
static int check_result(struct console *c, const struct console_step *s, size_t index,
			const char *output, long status)
{
	regex_t re;
	bool ok;

	if (status != s->status)
		return step_fail(c, s, index, -EBADMSG, false, output,
				 "failed: exit status %ld (expected %d)", status, s->status);
	if (!s->output)
		return 0;
	if (pattern_compile(&re, s->output, NULL, 0) < 0)
		return log_fail("'%s' is not a valid pattern", s->output);
	ok = regexec(&re, output, 0, NULL, 0) == 0;
	regfree(&re);
	if (!ok)
		return step_fail(c, s, index, -EBADMSG, false, output,
				 "failed: output does not match '%s'", s->output);
	return 0;
}

static int run_command(struct console *c, const struct console_step *s, size_t index,
		       double deadline, bool overall, double step_start)
{
	_cleanup_free_ char *line = NULL, *marker = NULL, *tail = NULL, *output = NULL;
	_cleanup_free_ char *status_text = NULL, *begin = NULL;
	uint64_t typed = text_end(c), so, eo, gso = 0, geo = 0;
	regex_t re;
	long status;
	int r;

	/* "$?" is not digits: the terminal's echo of the command line cannot match. Nor can it
	 * match the begin marker, which printf assembles from two words. */
	line = xasprintf("printf '@@mkb-%%s@@\\n' %zu-go; %s; echo \"@@mkb-%zu-$?@@\"\n", index + 1,
			 s->text, index + 1);
	begin = xasprintf("@@mkb-%zu-go@@", index + 1);
	marker = xasprintf("@@mkb-%zu-([0-9]+)@@", index + 1);
	tail = xasprintf("-%zu-$?@@\"", index + 1);
	if (pattern_compile(&re, marker, NULL, 0) < 0)
		return -EINVAL;
	r = console_type(c, line, strlen(line), deadline);
	if (r == 0)
		r = console_wait(c, &re, false, deadline, &so, &eo, &gso, &geo);
	regfree(&re);
	if (r == WAIT_TIMEOUT)
		return fail_timeout(c, s, index, step_start, overall);
	if (r == WAIT_GONE)
		return fail_gone(c, s, index);
	if (r < 0)
		return r;
	c->floor = eo;
	output = run_output(c, typed, so, tail, begin);
	status_text = xstrndup(c->text + (gso - c->base), (size_t)(geo - gso));
	status = strtol(status_text, NULL, 10);
	return check_result(c, s, index, output, status);
}

/* A command on this machine, run while the guest's console keeps being read (so the guest
 * never blocks on a full pipe); its output (stdout and stderr) and exit status are checked
 * as a RUN step's. */
static int run_host(struct console *c, const struct console_step *s, size_t index,
		    double deadline, bool overall, double step_start)
{
	_cleanup_free_ char *output = NULL;
	size_t len = 0, cap = 0;
	int p[2], status = 0, r = 0;
	bool open_out = true;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return log_errno(errno, "cannot create a pipe");
	pid = fork();
	if (pid < 0) {
		r = log_errno(errno, "cannot fork");
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", s->text, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		pid_t w;

		while (open_out) {
			ssize_t k;

			if (cap - len < 4096) {
				cap = cap ? 2 * cap : 8192;
				output = xrealloc(output, cap + 1);
			}
			k = read(p[0], output + len, cap - len);
			if (k > 0) {
				len += (size_t)k;
				continue;
			}
			if (k == 0)
				open_out = false;
			break;
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid && !open_out)
			break;
		if (now_seconds() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(p[0]);
			return fail_timeout(c, s, index, step_start, overall);
		}
		r = console_pump(c, now_seconds() + 0.1 < deadline ? now_seconds() + 0.1 : deadline);
		if (r < 0 && r != -ETIME) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(p[0]);
			return r;
		}
		if (w == pid && open_out) /* exited: drain what is left on the next read */
			continue;
	}
	close(p[0]);
	output = output ? output : xstrdup("");
	output[len] = 0;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return check_result(c, s, index, output, status);
}

static int run_poweroff(struct console *c, const struct console_step *s, size_t index,
			double deadline)
{
	static const char cmd[] = "poweroff -f\n";
	double wait = c->o.poweroff_wait > 0 ? c->o.poweroff_wait : CONSOLE_POWEROFF_WAIT;
	double until = now_seconds() + wait;
	int r;

	if (until > deadline)
		until = deadline;
	r = console_type(c, cmd, strlen(cmd), until);
	if (r < 0)
		return r;
	while (r == 0 && !console_gone(c))
		r = console_pump(c, until);
	if (r < 0 && r != -ETIME)
		return r;
	if (!console_gone(c)) {
		echo_break_line(c);
		log_info("'poweroff -f' did not end %s within %g s: stopping it", c->name, wait);
		console_terminate(c);
	}
	return 0;
}

int console_wait_exit(struct console *c, double timeout)
{
	double deadline = now_seconds() + timeout;

	if (c->o.timeout > 0 && c->start + c->o.timeout < deadline)
		deadline = c->start + c->o.timeout;
	while (!console_gone(c)) {
		int r = console_pump(c, deadline);

		if (r < 0)
			return r;
	}
	return 0;
}

int console_run(struct console *c, const struct console_step *steps, size_t n)
{
	double overall = c->o.timeout > 0 ? c->start + c->o.timeout : INFINITY;
	double login_at = -1, last_at = -1;
	const char *login = NULL, *last = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct console_step *s = &steps[i];
		double t0 = now_seconds(), deadline = overall;
		bool by_overall = true;
		int r;

		if (s->timeout > 0 && t0 + s->timeout < overall) {
			deadline = t0 + s->timeout;
			by_overall = false;
		}
		if (log_get_level() >= LOG_DEBUG) {
			_cleanup_free_ char *what = console_step_describe(s, i);

			log_debug("%s", what);
		}
		switch (s->kind) {
		case CONSOLE_EXPECT:
			r = run_expect(c, s, i, deadline, by_overall, t0);
			if (r == 0) {
				last_at = now_seconds() - c->start;
				last = s->text;
				if (!login && strstr(s->text, "login:")) {
					login = s->text;
					login_at = last_at;
				}
			}
			break;
		case CONSOLE_SEND:
			r = console_type(c, s->text, s->size, deadline);
			if (r == WAIT_TIMEOUT)
				r = fail_timeout(c, s, i, t0, by_overall);
			else if (r == WAIT_GONE)
				r = fail_gone(c, s, i);
			break;
		case CONSOLE_RUN:
			r = run_command(c, s, i, deadline, by_overall, t0);
			break;
		case CONSOLE_POWEROFF:
			r = run_poweroff(c, s, i, deadline);
			break;
		case CONSOLE_HOST:
			r = run_host(c, s, i, deadline, by_overall, t0);
			break;
		default:
			r = -EINVAL;
		}
		if (r < 0)
			return r;
	}
	echo_break_line(c);
	if (login)
		log_info("'%s' after %.1f s", login, login_at);
	else if (last)
		log_info("'%s' after %.1f s", last, last_at);
	return 0;
}

int console_spawn(char *const *argv, const struct console_opts *o, struct console **ret)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
	_cleanup_(console_freep) struct console *c = NULL;
	const char *slash;
	pid_t parent = getpid();
	ssize_t k;
	int e = 0, r;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0) {
		r = log_errno(errno, "cannot create a pipe");
		goto fail;
	}
	c = xcalloc(1, sizeof(*c));
	*c = (struct console){ .pid = -1, .status = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1,
			       .o = *o, .echo_bol = true };
	slash = strrchr(argv[0], '/');
	c->name = xstrdup(slash ? slash + 1 : argv[0]);
	c->start = now_seconds();
	c->pid = fork();
	if (c->pid < 0) {
		r = log_errno(errno, "cannot fork");
		goto fail;
	}
	if (c->pid == 0) {
		sigset_t none;

		/* Never outlive us: a killed mkbootmedia must not leave the child (QEMU) running. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			goto child_fail;
		execvp(argv[0], argv);
	child_fail:
		e = errno;
		(void)!write(ex[1], &e, sizeof(e));
		_exit(127);
	}
	close(TAKE_FD(in[0]));
	close(TAKE_FD(out[1]));
	close(TAKE_FD(err[1]));
	close(TAKE_FD(ex[1]));
	c->in_fd = TAKE_FD(in[1]);
	c->out_fd = TAKE_FD(out[0]);
	c->err_fd = TAKE_FD(err[0]);
	do
		k = read(ex[0], &e, sizeof(e));
	while (k < 0 && errno == EINTR);
	close(TAKE_FD(ex[0]));
	if (k == sizeof(e)) {
		child_reap(c, true);
		return log_errno(e, "cannot run '%s'", argv[0]);
	}
	if (fcntl(c->in_fd, F_SETFL, O_NONBLOCK) < 0)
		return log_errno(errno, "cannot set up the console");
	*ret = TAKE_PTR(c);
	return 0;
fail:
	for (size_t i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	return r;
}

struct console *console_free(struct console *c)
{
	if (!c)
		return NULL;
	console_terminate(c);
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	free(c->name);
	free(c->text);
	free(c->line);
	free(c);
	return NULL;
}
