/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One logger for the whole program. Lines carry the current stage as a prefix
 * ("mkfs(rootfs): ..."); -v and -q move the threshold. */
#pragma once

#include "util.h"

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* The stage (and item) named in front of each line; NULL for none. */
void log_set_scope(const char *scope);

void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);
void log_msgv(enum log_level level, const char *fmt, va_list ap);
/* Writes s with control characters escaped ("\x1b", "\n"; newlines kept when asked), so a
 * name from a recipe or a package never drives the terminal. */
void log_escape_to(FILE *out, const char *s, bool keep_newlines);
char *log_escape(const char *s); /* the same, as a new string */

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Logs an error and returns -abs(err), so callers can `return log_errno(r, ...)`. The
 * message is followed by ": strerror(err)". */
int log_errno(int err, const char *fmt, ...) _printf_(2, 3);
/* Logs an error and returns -EINVAL (for messages that carry their own reason). */
int log_fail(const char *fmt, ...) _printf_(1, 2);

/* Progress: a bar on a terminal, a line every few seconds otherwise, nothing when
 * MKBOOTMEDIA_NO_PROGRESS is set or the level is below info. */
void progress_begin(const char *what, uint64_t total);
void progress_update(uint64_t done);
void progress_end(void);
