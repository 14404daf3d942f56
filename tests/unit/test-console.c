// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/console.c, the expect engine. It is driven without QEMU: /bin/sh scripts
 * pretend to be a serial console (a GRUB banner drawn with escape sequences, \r\n line ends,
 * a login prompt, a shell that echoes what it reads). */
#include "console.h"

#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "capture.h"
#include "check.h"
#include "log.h"

static char tmpdir[] = "/tmp/test-console-XXXXXX";

#define EXPECT(p, ...) { .kind = CONSOLE_EXPECT, .text = (char *)(p), __VA_ARGS__ }
#define SEND(s, ...)                                                                               \
	{ .kind = CONSOLE_SEND, .text = (char *)(s), .size = sizeof(s) - 1, __VA_ARGS__ }
#define RUN(c, ...) { .kind = CONSOLE_RUN, .text = (char *)(c), __VA_ARGS__ }
#define POWEROFF(...) { .kind = CONSOLE_POWEROFF, __VA_ARGS__ }

/* A console: a GRUB banner with colours and cursor moves, a kernel line, a login prompt; then
 * a shell that echoes each line it reads (as a terminal would), runs it with \r\n line ends,
 * and ends on `poweroff -f`. */
static const char fake_console[] =
	"printf '\\033[2J\\033[H\\033[1;37;44m GNU GRUB  version 2.06 \\033[0m\\r\\n'\n"
	"printf '\\033]0;grub\\007Booting `Debian GNU/Linux`\\r\\n\\r\\n'\n"
	"printf 'Debian GNU/Linux 12 box ttyS0\\r\\n\\r\\nbox login: '\n"
	"IFS= read -r user\n"
	"printf '%s\\r\\n' \"$user\"\n"
	"printf 'root@box:~# '\n"
	"while IFS= read -r line; do\n"
	"\tprintf '%s\\r\\n' \"$line\"\n"
	"\t[ \"$line\" = 'poweroff -f' ] && exit 0\n"
	"\teval \"$line\" 2>&1 | sed 's/$/\\r/'\n"
	"\tprintf 'root@box:~# '\n"
	"done\n";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct outcome {
	int r;
	char *err;    /* what was logged */
	double secs;  /* spawn to the end of the steps */
	int status;   /* the child's wait status when the steps ended, -1 if it was running */
};

static void outcome_done(struct outcome *o)
{
	free(o->err);
}

/* Runs script under /bin/sh -c with the steps; o may be NULL (timeout 10 s, poweroff wait
 * 0.5 s, no copies). */
static struct outcome run_console(const char *script, const struct console_step *steps,
				  size_t n, const struct console_opts *o)
{
	struct console_opts def = { .timeout = 10, .poweroff_wait = 0.5, .log_fd = -1,
				    .echo_fd = -1 };
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
	struct outcome out = { .status = -1 };
	struct console *c = NULL;
	double t0 = now();

	capture_begin();
	out.r = console_spawn(argv, o ? o : &def, &c);
	if (out.r == 0) {
		out.r = console_run(c, steps, n);
		out.status = console_child_status(c);
	}
	out.secs = now() - t0;
	console_free(c);
	out.err = capture_end();
	return out;
}

static bool matches(const char *s, const char *pattern)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static char *read_all(int fd)
{
	struct stat st;
	char *s;

	if (fstat(fd, &st) < 0)
		return xstrdup("");
	s = xmalloc((size_t)st.st_size + 1);
	if (pread_all(fd, s, (size_t)st.st_size, 0) < 0)
		st.st_size = 0;
	s[st.st_size] = 0;
	return s;
}

/* ---- pure helpers ---- */

static void test_unescape(void)
{
	_cleanup_free_ char *s = NULL;
	char *bad = NULL;
	size_t n = 0;

	CHECK(console_unescape("a\\tb\\\\c\\ed\\x41\\x00z\\r\\n", &s, &n) == 0);
	CHECK(n == 12);
	CHECK(memcmp(s, "a\tb\\c\033dA\0z\r\n", 12) == 0);
	CHECK(console_unescape("plain text", &bad, &n) == 0);
	CHECK_STREQ(bad, "plain text");
	free(bad);
	bad = NULL;
	CHECK(console_unescape("a\\q", &bad, &n) == -EINVAL && !bad);
	CHECK(console_unescape("a\\", &bad, &n) == -EINVAL && !bad);
	CHECK(console_unescape("\\x4", &bad, &n) == -EINVAL && !bad);
	CHECK(console_unescape("\\xg1", &bad, &n) == -EINVAL && !bad);
}

static void test_pattern_check(void)
{
	char err[128] = "";

	CHECK(console_pattern_check("login: $", err, sizeof(err)) == 0);
	CHECK(console_pattern_check("^[a-z]+@box:~# $", err, sizeof(err)) == 0);
	CHECK(console_pattern_check("(unclosed", err, sizeof(err)) == -EINVAL);
	CHECK(err[0] != 0);
	CHECK(console_pattern_check("a{2,1}", err, sizeof(err)) == -EINVAL);
}

static void test_describe(void)
{
	struct console_step e = EXPECT("login:"), s = SEND("secret\n"), r = RUN("uname -r"),
			    p = POWEROFF();
	_cleanup_free_ char *de = console_step_describe(&e, 2), *ds = console_step_describe(&s, 0);
	_cleanup_free_ char *dr = console_step_describe(&r, 3), *dp = console_step_describe(&p, 4);

	CHECK_STREQ(de, "step 3 (expect 'login:')");
	CHECK_STREQ(ds, "step 1 (send)"); /* the text could be a passphrase */
	CHECK_STREQ(dr, "step 4 (run 'uname -r')");
	CHECK_STREQ(dp, "step 5 (poweroff)");
}

/* ---- the engine ---- */

static void test_escapes_stripped(void)
{
	static const struct console_step steps[] = {
		EXPECT("^ GNU GRUB  version 2\\.06 $"),
		EXPECT("^Booting `Debian GNU/Linux`$"),
		EXPECT("^Debian GNU/Linux 12 box ttyS0$"),
		EXPECT("box login: $"),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(fake_console, steps, 4, NULL);

	CHECK(o.r == 0);
	CHECK(matches(o.err, "^'box login: \\$' after [0-9]+\\.[0-9] s$"));
}

static void test_escape_kinds(void)
{
	/* A charset designation, cursor save and restore, a private CSI, a DCS and an OSC ended
	 * by ST, BEL and backspace: only the letters are left. */
	static const char script[] = "printf 'a\\033(Bb\\0337c\\0338d\\033[?25le\\033P1$r\\033\\\\f"
				     "\\033]2;x\\033\\\\g\\007h\\010i\\r\\n'; exec sleep 5";
	static const struct console_step steps[] = { EXPECT("^abcdefghi$", .timeout = 3) };
	_cleanup_(outcome_done) struct outcome o = run_console(script, steps, 1, NULL);

	CHECK(o.r == 0);
}

static void test_chunk_boundaries(void)
{
	/* A word and an escape sequence split across writes, \r\n split too. */
	static const char script[] = "printf 'lo'; sleep 0.2; printf 'g\\033'; sleep 0.2;"
				     "printf '[1;3'; sleep 0.2; printf '1min:\\r'; sleep 0.2;"
				     "printf '\\nnext\\r\\n'; exec sleep 5";
	static const struct console_step steps[] = {
		EXPECT("^login:$", .timeout = 3),
		EXPECT("^next$", .timeout = 3),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(script, steps, 2, NULL);

	CHECK(o.r == 0);
}

static void test_copies(void)
{
	static const struct console_step steps[] = { EXPECT("login: $") };
	_cleanup_close_ int log_fd = open(".", O_TMPFILE | O_RDWR, 0600);
	_cleanup_close_ int echo_fd = open(".", O_TMPFILE | O_RDWR, 0600);
	struct console_opts opts = { .timeout = 10, .log_fd = log_fd, .echo_fd = echo_fd };
	_cleanup_free_ char *log = NULL, *echo = NULL;
	_cleanup_(outcome_done) struct outcome o = { .err = NULL };

	CHECK(log_fd >= 0 && echo_fd >= 0);
	o = run_console(fake_console, steps, 1, &opts);
	CHECK(o.r == 0);
	/* The log is the console as printed; the echo is what was matched, and ends its line. */
	log = read_all(log_fd);
	echo = read_all(echo_fd);
	CHECK(strstr(log, "\033[2J\033[H\033[1;37;44m GNU GRUB  version 2.06 \033[0m\r\n"));
	CHECK(strstr(log, "box login: ") && !strstr(log, "box login: \n"));
	CHECK_STREQ(echo, " GNU GRUB  version 2.06 \nBooting `Debian GNU/Linux`\n\n"
			  "Debian GNU/Linux 12 box ttyS0\n\nbox login: \n");
}

struct lines {
	char **v;
};

static void collect_line(void *userdata, const char *line)
{
	struct lines *l = userdata;

	l->v = strv_append(l->v, line);
}

/* on_line gets each cleaned line as it completes, the unterminated last one at the end;
 * console_wait_exit() reads until the child has gone. */
static void test_lines_and_exit(void)
{
	static const char script[] = "printf 'one\r\ntw'; sleep 0.2; printf 'o\033[1m!\r\n\n'; "
				     "sleep 0.2; printf 'last'; exit 3";
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
	struct lines l = { NULL };
	struct console_opts opts = { .timeout = 10, .log_fd = -1, .echo_fd = -1,
				     .on_line = collect_line, .userdata = &l };
	struct console *c = NULL;
	_cleanup_strv_free_ char **v = NULL;
	double t0 = now();
	int r;

	CHECK(console_spawn(argv, &opts, &c) == 0);
	r = console_wait_exit(c, 5);
	v = l.v;
	CHECK(r == 0);
	CHECK(now() - t0 < 3);
	CHECK(WIFEXITED(console_child_status(c)) && WEXITSTATUS(console_child_status(c)) == 3);
	console_free(c);
	CHECK(strv_length(v) == 4);
	CHECK_STREQ(v[0], "one");
	CHECK_STREQ(v[1], "two!");
	CHECK_STREQ(v[2], "");
	CHECK_STREQ(v[3], "last");
}

static void test_wait_exit_timeout(void)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"echo up; exec sleep 10", NULL };
	struct lines l = { NULL };
	struct console_opts opts = { .timeout = 10, .log_fd = -1, .echo_fd = -1,
				     .on_line = collect_line, .userdata = &l };
	struct console *c = NULL;
	_cleanup_strv_free_ char **v = NULL;
	double t0 = now();
	int r, status;

	capture_begin();
	CHECK(console_spawn(argv, &opts, &c) == 0);
	r = console_wait_exit(c, 0.3);
	status = console_child_status(c);
	console_free(c); /* ends it */
	free(capture_end());
	v = l.v;
	CHECK(r == -ETIME);
	CHECK(status == -1);
	CHECK(now() - t0 < 5);
	CHECK(strv_length(v) == 1);
	CHECK_STREQ(v[0], "up");
}

static void test_timeout(void)
{
	static const struct console_step steps[] = {
		EXPECT("hello"),
		EXPECT("login:", .timeout = 0.3),
	};
	_cleanup_(outcome_done) struct outcome o =
		run_console("echo hello; echo booting; exec sleep 10", steps, 2, NULL);

	CHECK(o.r == -ETIME);
	CHECK(o.secs < 3);
	CHECK_STREQ(o.err, "error: step 2 (expect 'login:') timed out after 0.3 s\n"
			   "last console lines:\n"
			   "    | hello\n"
			   "    | booting");
}

static void test_overall_timeout(void)
{
	static const struct console_step steps[] = { EXPECT("login:", .timeout = 60) };
	struct console_opts opts = { .timeout = 0.4, .log_fd = -1, .echo_fd = -1 };
	_cleanup_(outcome_done) struct outcome o =
		run_console("echo hello; exec sleep 10", steps, 1, &opts);

	CHECK(o.r == -ETIME);
	CHECK(o.secs < 3);
	CHECK(matches(o.err, "^error: step 1 \\(expect 'login:'\\) timed out after 0\\.[0-9] s "
			     "\\(the overall timeout of 0\\.4 s\\)\n"));
}

static void test_send(void)
{
	/* The shell prints the bytes it read in hex. */
	static const char script[] = "IFS= read -r l; printf '%s' \"$l\" | od -An -tx1 | "
				     "tr -d ' \\n'; echo; exec sleep 5";
	struct console_step steps[] = {
		{ .kind = CONSOLE_SEND },
		EXPECT("^6109625c631b6441$", .timeout = 3),
	};
	_cleanup_(outcome_done) struct outcome o = { .err = NULL };
	_cleanup_free_ char *data = NULL;
	size_t n;

	CHECK(console_unescape("a\\tb\\\\c\\ed\\x41\\n", &data, &n) == 0);
	steps[0].text = data;
	steps[0].size = n;
	o = run_console(script, steps, 2, NULL);
	CHECK(o.r == 0);
}

static void test_run(void)
{
	static const struct console_step steps[] = {
		EXPECT("login: $"),
		SEND("root\n"),
		EXPECT("# $"),
		RUN("echo hello; echo world", .output = "^hello\nworld$"),
		RUN("uname -s", .output = "^Linux$"),
		RUN("f() { return 3; }; f", .status = 3),
		RUN("echo one two", .output = "^one two$", .timeout = 5),
		POWEROFF(),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(fake_console, steps, 8, NULL);

	CHECK(o.r == 0);
	CHECK(o.secs < 3); /* the console ended on poweroff -f: no waiting */
	CHECK(o.status == 0);
}

static void test_run_status(void)
{
	static const struct console_step steps[] = {
		EXPECT("login: $"),
		SEND("root\n"),
		RUN("echo checking; false"),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(fake_console, steps, 3, NULL);

	CHECK(o.r == -EBADMSG);
	CHECK_STREQ(o.err, "error: step 3 (run 'echo checking; false') failed: exit status 1 "
			   "(expected 0)\n"
			   "its output:\n"
			   "    | checking");
}

static void test_run_output(void)
{
	/* The echoed command line is not the output: 'echo' appears only there. */
	static const struct console_step steps[] = {
		EXPECT("login: $"),
		SEND("root\n"),
		RUN("echo abc; echo def", .output = "echo"),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(fake_console, steps, 3, NULL);

	CHECK(o.r == -EBADMSG);
	CHECK_STREQ(o.err, "error: step 3 (run 'echo abc; echo def') failed: output does not "
			   "match 'echo'\n"
			   "its output:\n"
			   "    | abc\n"
			   "    | def");
}

static void test_run_without_echo(void)
{
	/* A console that does not echo: the output is everything up to the marker. */
	static const char script[] = "while IFS= read -r l; do eval \"$l\"; done";
	static const struct console_step steps[] = {
		RUN("echo quiet", .output = "^quiet$"),
		RUN("echo a; echo b", .output = "^a\nb$", .timeout = 3),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(script, steps, 2, NULL);

	CHECK(o.r == 0);
}

static void test_run_prompt_after_echo(void)
{
	/* Type-ahead: the terminal echoes the command before the shell prints its prompt, so
	 * the prompt lands in front of the output. The output must still start at the
	 * command's own first line. */
	static const char script[] = "while IFS= read -r l; do printf '%s\\r\\n' \"$l\"; "
				     "printf '# '; eval \"$l\"; done";
	static const struct console_step steps[] = {
		RUN("echo one", .output = "^one$"),
		RUN("echo two; echo three", .output = "^two\nthree$"),
	};
	_cleanup_(outcome_done) struct outcome o = run_console(script, steps, 2, NULL);

	CHECK(o.r == 0);
}

static void test_child_exits(void)
{
	static const struct console_step steps[] = { EXPECT("login:") };
	_cleanup_(outcome_done) struct outcome o = run_console(
		"echo 'Kernel panic - not syncing: VFS: Unable to mount root fs'; "
		"echo 'end Kernel panic'; echo 'qemu: terminating' >&2; exit 3",
		steps, 1, NULL);

	CHECK(o.r == -ECHILD);
	CHECK(o.secs < 3);
	CHECK_STREQ(o.err, "error: step 1 (expect 'login:') failed: sh exited with status 3\n"
			   "last console lines:\n"
			   "    | Kernel panic - not syncing: VFS: Unable to mount root fs\n"
			   "    | end Kernel panic\n"
			   "sh said:\n"
			   "    | qemu: terminating");
}

static void test_child_killed(void)
{
	static const struct console_step steps[] = { EXPECT("x"), SEND("more\n") };
	_cleanup_(outcome_done) struct outcome o =
		run_console("echo x; sleep 0.2; kill -9 $$", steps, 2, NULL);
	_cleanup_(outcome_done) struct outcome o2 = { .err = NULL };

	CHECK(o.r == 0); /* the send went into the pipe before the child died */
	o2 = run_console("echo x; kill -9 $$", (const struct console_step[]){ EXPECT("x"),
									    EXPECT("y") },
			 2, NULL);
	CHECK(o2.r == -ECHILD);
	CHECK(matches(o2.err,
		      "^error: step 2 \\(expect 'y'\\) failed: sh was killed by signal 9 "));
}

static void test_output_before_match_cannot_match(void)
{
	static const struct console_step wrong[] = { EXPECT("second"),
						     EXPECT("first", .timeout = 0.3) };
	static const struct console_step right[] = { EXPECT("first"), EXPECT("second") };
	static const struct console_step same_line[] = { EXPECT("a"),
							 EXPECT("^b", .timeout = 0.3) };
	_cleanup_(outcome_done) struct outcome o =
		run_console("echo first; echo second; exec sleep 5", wrong, 2, NULL);
	_cleanup_(outcome_done) struct outcome o2 = { .err = NULL }, o3 = { .err = NULL };

	CHECK(o.r == -ETIME);
	CHECK(matches(o.err, "^error: step 2 \\(expect 'first'\\) timed out after 0\\.3 s\n"));
	o2 = run_console("echo first; echo second; exec sleep 5", right, 2, NULL);
	CHECK(o2.r == 0);
	/* After a match in the middle of a line, ^ does not match there. */
	o3 = run_console("echo ab; exec sleep 5", same_line, 2, NULL);
	CHECK(o3.r == -ETIME);
}

static void test_poweroff_ignored(void)
{
	static const struct console_step steps[] = { EXPECT("up"), POWEROFF() };
	_cleanup_(outcome_done) struct outcome o =
		run_console("echo up; exec sleep 10", steps, 2, NULL);

	CHECK(o.r == 0);
	CHECK(o.secs < 3);
	CHECK(o.status >= 0 && WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGTERM);
	CHECK(strstr(o.err, "'poweroff -f' did not end sh within 0.5 s: stopping it"));
}

static void test_after_poweroff(void)
{
	static const struct console_step steps[] = { EXPECT("login:"), SEND("root\n"), POWEROFF(),
						     EXPECT("anything") };
	_cleanup_(outcome_done) struct outcome o = run_console(fake_console, steps, 4, NULL);

	CHECK(o.r == -ECHILD);
	CHECK(matches(o.err, "^error: step 4 \\(expect 'anything'\\) failed: sh exited with "
			     "status 0\n"));
}

static void test_spawn_missing(void)
{
	char *argv[] = { (char *)"/nonexistent/qemu-system-x86_64", NULL };
	struct console_opts opts = { .log_fd = -1, .echo_fd = -1 };
	struct console *c = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	capture_begin();
	r = console_spawn(argv, &opts, &c);
	err = capture_end();
	CHECK(r == -ENOENT && !c);
	CHECK_STREQ(err, "error: cannot run '/nonexistent/qemu-system-x86_64': No such file or "
			 "directory");
}

static void test_much_output(void)
{
	/* 1.5 MB in many reads before the match: more than the window kept for matching. */
	static const char script[] = "i=0; while [ $i -lt 60000 ]; do "
				     "echo \"line $i of the boot log\"; i=$((i + 1)); done; "
				     "printf 'box login: '; exec sleep 5";
	static const struct console_step steps[] = { EXPECT("^line 59999 of"), EXPECT("login: $") };
	_cleanup_(outcome_done) struct outcome o = run_console(script, steps, 2, NULL);

	CHECK(o.r == 0);
	CHECK(o.secs < 5);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir) || chdir(tmpdir) < 0) {
		perror(tmpdir);
		return 2;
	}
	log_set_level(LOG_INFO);

	RUN_TEST(test_unescape);
	RUN_TEST(test_pattern_check);
	RUN_TEST(test_describe);
	RUN_TEST(test_escapes_stripped);
	RUN_TEST(test_escape_kinds);
	RUN_TEST(test_chunk_boundaries);
	RUN_TEST(test_copies);
	RUN_TEST(test_lines_and_exit);
	RUN_TEST(test_wait_exit_timeout);
	RUN_TEST(test_timeout);
	RUN_TEST(test_overall_timeout);
	RUN_TEST(test_send);
	RUN_TEST(test_run);
	RUN_TEST(test_run_status);
	RUN_TEST(test_run_output);
	RUN_TEST(test_run_without_echo);
	RUN_TEST(test_run_prompt_after_echo);
	RUN_TEST(test_child_exits);
	RUN_TEST(test_child_killed);
	RUN_TEST(test_output_before_match_cannot_match);
	RUN_TEST(test_poweroff_ignored);
	RUN_TEST(test_after_poweroff);
	RUN_TEST(test_spawn_missing);
	RUN_TEST(test_much_output);

	if (chdir("/") == 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_EXIT();
}
