/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An expect engine over any child process whose stdin and stdout are a console (QEMU with
 * `-serial stdio`, or a /bin/sh script pretending to be one in the unit tests). What the
 * child prints is cleaned before matching: \r, ANSI/VT100 escape sequences (GRUB draws its
 * menu with them) and the other control characters except \n and \t are removed. Patterns
 * are POSIX extended regular expressions matched line by line (REG_NEWLINE: ^ and $ match at
 * line boundaries, . never matches a newline), and each step only sees what was printed
 * after the previous step's match. */
#pragma once

#include <sys/types.h>

#include "util.h"

enum console_step_kind {
	CONSOLE_EXPECT,   /* wait until the output matches `text` */
	CONSOLE_SEND,     /* type the `size` bytes of `text` */
	CONSOLE_RUN,      /* type the command `text` and a marker that reports its exit status */
	CONSOLE_POWEROFF, /* type `poweroff -f`; end the child when that does not */
	CONSOLE_HOST,     /* run `text` with /bin/sh on this machine while the guest runs (e.g.
			   * ssh into it); `output` and `status` as for RUN */
};

struct console_step {
	enum console_step_kind kind;
	/* EXPECT: the pattern; SEND: the bytes (escapes decoded); RUN: the command. */
	char *text;
	size_t size;    /* SEND: length of text (it may hold NUL bytes) */
	char *output;   /* RUN, HOST: a pattern the command's output must match; NULL: any */
	int status;     /* RUN, HOST: the exit status expected */
	double timeout; /* seconds for this step; 0: only the overall timeout applies */
	bool secret;    /* SEND: never shown, not even at debug level */
	char *label;    /* RUN: what messages call the step instead of its command; NULL: the
			 * command */
};
void console_step_done(struct console_step *s);
/* "step 3 (expect 'login:')", for messages; sent text is not shown. Returns a new string. */
char *console_step_describe(const struct console_step *s, size_t index);

/* Checks a pattern as console_run() will compile it. On failure returns -EINVAL and puts
 * regerror()'s message in errbuf (the caller reports it with its own context). */
int console_pattern_check(const char *pattern, char *errbuf, size_t errlen);
/* Decodes C escapes: \n \r \t \\ \e \xNN (two hex digits). -EINVAL on any other escape or a
 * trailing backslash. *ret is NUL-terminated; *ret_size excludes the NUL. */
int console_unescape(const char *s, char **ret, size_t *ret_size);

struct console_opts {
	double timeout;       /* seconds for the whole run, from the spawn; 0: none */
	double poweroff_wait; /* seconds `poweroff -f` has to end the child; 0: 10 */
	int log_fd;           /* everything the child prints, as printed; -1: none */
	int echo_fd;          /* the cleaned output as it arrives (stdout); -1: none */
	/* Each line of the cleaned output as it completes, without its \n (a last line without
	 * one when the child's output ends); NULL: none. */
	void (*on_line)(void *userdata, const char *line);
	void *userdata;
};

struct console;

/* Starts argv[0] (from PATH) with stdin and stdout on pipes to us and stderr kept (the
 * last lines are shown when the child ends early). The child gets SIGTERM if we die. */
int console_spawn(char *const *argv, const struct console_opts *o, struct console **ret);
/* Runs the steps in order. Returns 0 when every step passed, otherwise logs the first
 * failure ("step 3 (expect 'login:') timed out after 120 s") once and returns -ETIME (a
 * timeout), -ECHILD (the child ended first), -EBADMSG (a command's status or output was
 * wrong) or another -errno. At info level, tells the time from the spawn to the first match
 * of a pattern containing "login:" (else of the last expect). The child is left running. */
int console_run(struct console *c, const struct console_step *steps, size_t n);
/* Ends the child (SIGTERM, SIGKILL after a few seconds) if it still runs, and frees. */
struct console *console_free(struct console *c);
static inline void console_freep(struct console **c)
{
	console_free(*c);
}
/* Reads the child's output (copies, on_line) until it ends and everything it printed has
 * been read: 0; -ETIME when `timeout` seconds (from now; the overall timeout still applies)
 * passed first, the child left running. Logs only a failure to poll. */
int console_wait_exit(struct console *c, double timeout);
/* The last bytes (at most 4 KiB) the child wrote to its stderr, NUL-terminated. */
const char *console_child_stderr(const struct console *c);
/* The child's exit status as waitpid() gives it, or -1 while it runs. */
int console_child_status(const struct console *c);
