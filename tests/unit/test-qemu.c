// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/qemu.c and the test: section of builder/boot.c. The expect engine is
 * driven without QEMU: /bin/sh scripts pretend to be a serial console (a GRUB banner drawn
 * with escape sequences, \r\n line ends, a login prompt, a shell that echoes what it reads).
 * The QEMU command line is checked as a string; a real boot is tests/cases/boot-cli. */
#include "qemu.h"

#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "boot.h"
#include "capture.h"
#include "check.h"
#include "log.h"
#include "recipe.h"

static char tmpdir[] = "/tmp/test-qemu-XXXXXX";

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

static void test_names(void)
{
	CHECK(qemu_bus_from_string("usb") == QEMU_BUS_USB);
	CHECK(qemu_bus_from_string("ide") == QEMU_BUS_IDE);
	CHECK(qemu_bus_from_string("virtio") == QEMU_BUS_VIRTIO);
	CHECK(qemu_bus_from_string("uas") == -EINVAL);
	CHECK(qemu_bus_from_string(NULL) == -EINVAL);
	CHECK_STREQ(qemu_bus_to_string(QEMU_BUS_VIRTIO), "virtio");
	CHECK(qemu_bus_to_string((enum qemu_bus)7) == NULL);
	CHECK(qemu_accel_from_string("tcg") == QEMU_ACCEL_TCG);
	CHECK(qemu_accel_from_string("hvf") == -EINVAL);
	CHECK(qemu_firmware_from_string("bios") == QEMU_FIRMWARE_BIOS);
	CHECK(qemu_firmware_from_string("uefi") == -EINVAL);
}

static char *argv_join(char **argv)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fclose(f);
	return out;
}

static void test_argv(void)
{
	struct qemu_config c = { .qemu = "qemu-system-x86_64", .image = "out/usb.img",
				 .bus = QEMU_BUS_USB, .memory_mib = 512, .accel = QEMU_ACCEL_TCG };
	_cleanup_strv_free_ char **a = NULL, **b = NULL, **d = NULL, **e = NULL, **f = NULL;
	_cleanup_free_ char *sa = NULL, *sb = NULL, *sd = NULL, *sf = NULL;

	CHECK(qemu_build_argv(&c, &a) == 0);
	sa = argv_join(a);
	CHECK_STREQ(sa, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 512 -accel tcg "
			"-serial stdio -drive if=none,id=disk0,format=raw,file=./out/usb.img,"
			"snapshot=on -device qemu-xhci,id=xhci -device "
			"usb-storage,bus=xhci.0,drive=disk0,bootindex=1");

	/* A comma is doubled, a colon cannot make a protocol of an absolute path; --write. */
	c.image = "/srv/a,b:c.img";
	c.bus = QEMU_BUS_IDE;
	c.accel = QEMU_ACCEL_KVM;
	c.write = true;
	c.memory_mib = 1024;
	CHECK(qemu_build_argv(&c, &b) == 0);
	sb = argv_join(b);
	CHECK_STREQ(sb, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 1024 "
			"-accel kvm -cpu host -serial stdio -drive if=none,id=disk0,format=raw,"
			"file=/srv/a,,b:c.img -device ide-hd,bus=ide.0,drive=disk0,bootindex=1");

	c.image = "nbd:x.img";
	c.bus = QEMU_BUS_VIRTIO;
	c.write = false;
	c.interactive = true;
	c.log = "logs/con,sole.log";
	CHECK(qemu_build_argv(&c, &d) == 0);
	sd = argv_join(d);
	CHECK_STREQ(sd, "qemu-system-x86_64 -nodefaults -display none -m 1024 -accel kvm -cpu host "
			"-chardev stdio,id=console,mux=on,signal=off,"
			"logfile=./logs/con,,sole.log,logappend=on -serial chardev:console "
			"-mon chardev=console -drive if=none,id=disk0,format=raw,file=./nbd:x.img,"
			"snapshot=on -device virtio-blk-pci,drive=disk0,bootindex=1");

	/* A kernel booted directly, two CPUs on TCG threads, cache=unsafe, user networking. */
	c = (struct qemu_config){ .qemu = "qemu-system-x86_64", .image = "/tmp/.x.img",
				  .bus = QEMU_BUS_VIRTIO, .memory_mib = 1024,
				  .accel = QEMU_ACCEL_TCG, .write = true, .cpus = 2,
				  .unsafe_cache = true, .net = true, .kernel = "/dev/fd/5",
				  .initrd = "/dev/fd/6", .append = "console=ttyS0 panic=-1" };
	CHECK(qemu_build_argv(&c, &f) == 0);
	sf = argv_join(f);
	CHECK_STREQ(sf, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 1024 "
			"-accel tcg,thread=multi -smp 2 -serial stdio -kernel /dev/fd/5 "
			"-initrd /dev/fd/6 -append console=ttyS0 panic=-1 -drive if=none,id=disk0,"
			"format=raw,file=/tmp/.x.img,cache=unsafe -device "
			"virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 "
			"-device virtio-net-pci,netdev=net0");

	c.accel = QEMU_ACCEL_AUTO; /* must be resolved first */
	CHECK(qemu_build_argv(&c, &e) == -EINVAL && !e);
}

static void test_kvm_probe(void)
{
	const char *why = NULL;

	CHECK(!qemu_kvm_usable("/nonexistent/kvm", 2000, &why));
	CHECK_STREQ(why, "does not exist");
	why = NULL;
	CHECK(!qemu_kvm_usable("/dev/null", 2000, &why));
	CHECK_STREQ(why, "is not a KVM device");
	/* Whatever this machine has, the probe answers in time. */
	why = NULL;
	if (!qemu_kvm_usable("/dev/kvm", 2000, &why))
		CHECK(why && !streq(why, "did not answer in time"));
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

/* ---- the test: section ---- */

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(name);
		exit(2);
	}
}

/* Parses recipe text's test: section; returns the result and the logged text. */
static int parse_test(const char *text, struct boot_test *ret, char **ret_err)
{
	struct recipe *r = NULL;
	int rc;

	write_file("t.yml", text);
	capture_begin();
	rc = recipe_load("t.yml", NULL, &r);
	if (rc == 0)
		rc = boot_test_parse(node_get(r->root, "test"), ret);
	recipe_free(r);
	*ret_err = capture_end();
	return rc;
}

static void test_section(void)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;

	CHECK(parse_test("test:\n"
			 "  bus: virtio\n"
			 "  memory: 1GiB\n"
			 "  timeout: 120\n"
			 "  steps:\n"
			 "    - expect: 'login: $'\n"
			 "      timeout: 90\n"
			 "    - send: 'root\\n'\n"
			 "    - send: \"x\\ty\\n\"\n"
			 "    - run: uname -r\n"
			 "      output: '^6\\.1\\.'\n"
			 "    - run: 'false'\n"
			 "      status: 1\n"
			 "    - poweroff: true\n",
			 &t, &err) == 0);
	CHECK_STREQ(err, "");
	CHECK(t.bus == QEMU_BUS_VIRTIO && t.memory_mib == 1024 && t.timeout == 120);
	CHECK(t.n_steps == 6);
	CHECK(t.steps[0].kind == CONSOLE_EXPECT && t.steps[0].timeout == 90);
	CHECK_STREQ(t.steps[0].text, "login: $");
	CHECK(t.steps[1].kind == CONSOLE_SEND && t.steps[1].size == 5);
	CHECK(memcmp(t.steps[1].text, "root\n", 5) == 0);
	CHECK(t.steps[2].size == 4 && memcmp(t.steps[2].text, "x\ty\n", 4) == 0);
	CHECK(t.steps[3].kind == CONSOLE_RUN && t.steps[3].status == 0);
	CHECK_STREQ(t.steps[3].text, "uname -r");
	CHECK_STREQ(t.steps[3].output, "^6\\.1\\.");
	CHECK(t.steps[4].status == 1 && !t.steps[4].output);
	CHECK(t.steps[5].kind == CONSOLE_POWEROFF && t.steps[5].timeout == 0);
}

static void test_section_defaults(void)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;

	CHECK(parse_test("test: {steps: [{expect: 'login:'}]}\n", &t, &err) == 0);
	CHECK(t.bus == -1 && t.memory_mib == 0 && t.timeout == 0 && t.n_steps == 1);
	boot_test_done(&t);
	t = (struct boot_test){};
	free(err);
	CHECK(parse_test("test: {memory: 256, steps: [{expect: 'login:'}]}\n", &t, &err) == 0);
	CHECK(t.memory_mib == 256);
}

static void test_section_errors(void)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
		{ "test: [a]\n", "t.yml:1:7: test: expected a mapping, got a list" },
		{ "test: {stpes: []}\n",
		  "t.yml:1:8: test.stpes: unknown key (did you mean 'steps'?)" },
		{ "test: {bus: uas, steps: []}\n",
		  "t.yml:1:13: test.bus: 'uas' is not one of usb, ide, virtio" },
		{ "test: {memory: 12XB, steps: [{expect: a}]}\n",
		  "t.yml:1:16: test.memory: '12XB' is not a memory size (MiB from 16 to "
		  "1048576, or a size such as 1GiB)" },
		{ "test: {memory: 8, steps: [{expect: a}]}\n",
		  "t.yml:1:16: test.memory: '8' is not a memory size (MiB from 16 to 1048576, or a "
		  "size such as 1GiB)" },
		{ "test: {timeout: -1, steps: [{expect: a}]}\n",
		  "t.yml:1:17: test.timeout: '-1' is not a number of seconds (more than 0, at "
		  "most a week)" },
		{ "test: {bus: usb}\n", "t.yml:1:7: test: missing 'steps'" },
		{ "test: {steps: []}\n",
		  "t.yml:1:15: test.steps: no steps (add expect, send, run or poweroff steps)" },
		{ "test:\n  steps:\n    - expect: 'login:'\n    - expect: '(oops'\n",
		  "t.yml:4:15: test.steps[1].expect: '(oops' is not an extended regular "
		  "expression: " },
		{ "test:\n  steps:\n    - {timeout: 3}\n",
		  "t.yml:3:7: test.steps[0]: a step needs one of expect, send, run, poweroff" },
		{ "test:\n  steps:\n    - {expect: a, send: b}\n",
		  "t.yml:3:19: test.steps[0].send: one action per step (this one also has "
		  "'expect')" },
		{ "test:\n  steps:\n    - {expect: a, output: b}\n",
		  "t.yml:3:19: test.steps[0].output: only a 'run' step has 'output'" },
		{ "test:\n  steps:\n    - {run: ls, status: 300}\n",
		  "t.yml:3:25: test.steps[0].status: '300' is out of range (0..255)" },
		{ "test:\n  steps:\n    - {run: ls, output: ''}\n",
		  "t.yml:3:25: test.steps[0].output: empty pattern (it would match anything)" },
		{ "test:\n  steps:\n    - send: 'a\\q'\n",
		  "t.yml:3:13: test.steps[0].send: 'a\\q': bad escape (use \\n \\r \\t \\\\ \\e or "
		  "\\xNN)" },
		{ "test:\n  steps:\n    - send: ''\n",
		  "t.yml:3:13: test.steps[0].send: nothing to send" },
		{ "test:\n  steps:\n    - run: \"ls\\nrm\"\n",
		  "t.yml:3:12: test.steps[0].run: expected a command on one line" },
		{ "test:\n  steps:\n    - poweroff: false\n",
		  "t.yml:3:17: test.steps[0].poweroff: write 'poweroff: true', or leave the "
		  "step out" },
		{ "test:\n  steps:\n    - {expect: a, timeout: soon}\n",
		  "t.yml:3:28: test.steps[0].timeout: 'soon' is not a number of seconds (more "
		  "than 0, at most a week)" },
		{ "test:\n  steps:\n    - {expect: a, retries: 3}\n",
		  "t.yml:3:19: test.steps[0].retries: unknown key (valid keys: expect, send, run, "
		  "poweroff, output, status, timeout)" },
		{ "test:\n  steps:\n    - expect\n",
		  "t.yml:3:7: test.steps[0]: expected a mapping, got a value" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(boot_test_done) struct boot_test t = {};
		_cleanup_free_ char *err = NULL;
		int r = parse_test(cases[i].yaml, &t, &err);

		if (r != -EINVAL || !startswith(err, "error: ") ||
		    strncmp(err + 7, cases[i].err, strlen(cases[i].err)) != 0) {
			fprintf(stderr, "  case %zu: r=%d\n    got:      '%s'\n"
				"    expected: 'error: %s'\n", i, r, err, cases[i].err);
			CHECK(0);
		}
		CHECK(!strchr(err, '\n')); /* one message */
	}
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
	RUN_TEST(test_names);
	RUN_TEST(test_argv);
	RUN_TEST(test_kvm_probe);
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
	RUN_TEST(test_section);
	RUN_TEST(test_section_defaults);
	RUN_TEST(test_section_errors);

	if (chdir("/") == 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_EXIT();
}
