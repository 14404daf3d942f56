/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <pthread.h>
#include <time.h>

/* The logger is process-wide state on purpose: every layer logs, none owns it. */
static enum log_level log_level = LOG_INFO;
static char log_scope[128];
/* Worker threads (package decompression) may log too: one line at a time. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	bool active, bar;
	char what[64];
	uint64_t total, done;
	time_t last;
	int last_permille;
} progress;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_scope(const char *scope)
{
	snprintf(log_scope, sizeof(log_scope), "%s", scope ? scope : "");
}

static void progress_clear_line(void)
{
	if (progress.active && progress.bar)
		fputs("\r\033[K", stderr);
}

void log_escape_to(FILE *out, const char *s, bool keep_newlines)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' && keep_newlines)
			fputc(c, out);
		else if (c == '\n')
			fputs("\\n", out);
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

char *log_escape(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	log_escape_to(f, s, false);
	fclose(f);
	return buf;
}

void log_msgv(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[LOG_ERR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	FILE *out = stderr;
	_cleanup_free_ char *msg = NULL;

	if (level > log_level)
		return;
	/* Names from recipes and packages go into messages: a control character in one (an
	 * escape sequence) is shown escaped, never sent to the terminal. Newlines stay: some
	 * messages quote output line by line. */
	msg = xvasprintf(fmt, ap);
	pthread_mutex_lock(&log_lock);
	progress_clear_line();
	fputs(prefix[level], out);
	if (log_scope[0]) {
		log_escape_to(out, log_scope, false);
		fputs(": ", out);
	}
	log_escape_to(out, msg, true);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msgv(level, fmt, ap);
	va_end(ap);
}

int log_errno(int err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	err = err < 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s: %s", buf, strerror(err));
	return -err;
}

int log_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msgv(LOG_ERR, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void progress_begin(const char *what, uint64_t total)
{
	if (log_level < LOG_INFO || getenv("MKBOOTMEDIA_NO_PROGRESS"))
		return;
	progress.active = true;
	progress.bar = isatty(STDERR_FILENO);
	snprintf(progress.what, sizeof(progress.what), "%s", what);
	progress.total = total ? total : 1;
	progress.done = 0;
	progress.last = time(NULL);
	progress.last_permille = -1;
}

void progress_update(uint64_t done)
{
	int permille;

	if (!progress.active)
		return;
	progress.done = done;
	permille = (int)(done * 1000 / progress.total);
	if (permille > 1000)
		permille = 1000;
	if (progress.bar) {
		char bar[41];
		int fill = permille * 40 / 1000;

		if (permille / 5 == progress.last_permille / 5)
			return;
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(40 - fill));
		bar[40] = 0;
		fprintf(stderr, "\r%s [%s] %3d%%", progress.what, bar, permille / 10);
		fflush(stderr);
	} else {
		time_t now = time(NULL);

		if (now - progress.last < 5)
			return;
		progress.last = now;
		fprintf(stderr, "%s: %d%%\n", progress.what, permille / 10);
	}
	progress.last_permille = permille;
}

void progress_end(void)
{
	if (!progress.active)
		return;
	progress_clear_line();
	progress.active = false;
}
