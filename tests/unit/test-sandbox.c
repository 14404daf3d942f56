/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/sandbox.c. Each test builds a tiny target root (a copy of the static
 * /bin/busybox with links, and the usual directories), runs a script in it and checks the
 * outcome from the host with independent tools: stat(1) for owners, the file system for
 * what must (not) exist, /proc for processes left behind. A trivial libfuse3 low-level
 * server (a read-only tree in memory) stands in for the real one in the FUSE tests. The
 * suite runs as root; the unprivileged path runs in a forked child that becomes nobody in a
 * mount namespace of its own where /etc/subuid and /etc/subgid are files of the test. */
#define FUSE_USE_VERSION 35
#include "sandbox.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/keyctl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "log.h"

static const char *const applets[] = { "sh",    "id",     "touch", "ls",       "cat",   "mkdir",
				       "chroot", "sleep", "echo",  "mount",    "cp",    "chown",
				       "kill",  "setsid", "test",  "hostname", "tr",    "stat",
				       "awk",   "grep",   "readlink" };

static char *scratch;
static uint32_t root_base; /* where uid 0 of the namespace lands as root */

/* ---- helpers ---- */

/* A shell command's output, without its trailing newline. */
static _printf_(1, 2) char *sh_out(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	char *out = NULL;
	size_t len = 0;
	va_list ap;
	FILE *p, *m;
	int c;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	m = open_memstream(&out, &len);
	while (p && (c = fgetc(p)) != EOF)
		fputc(c, m);
	if (p)
		pclose(p);
	fclose(m);
	if (len && out[len - 1] == '\n')
		out[len - 1] = 0;
	return out;
}

/* tmpdir/NAME, a fresh target root, owned by the namespace's root (as a target served over
 * FUSE appears to the sandbox). */
static char *make_target(const char *name)
{
	char *root = tmp_path(name);

	if (run("rm -rf '%1$s' && mkdir -p '%1$s/bin' '%1$s/etc' '%1$s/tmp' '%1$s/proc' '%1$s/dev' "
		"'%1$s/sys' '%1$s/run' && chmod 1777 '%1$s/tmp' && cp /bin/busybox '%1$s/bin/'",
		root) != 0)
		abort();
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		_cleanup_free_ char *link = xasprintf("%s/bin/%s", root, applets[i]);

		if (symlink("busybox", link) < 0)
			abort();
	}
	if (run("chown -hR %u:%u '%s'", root_base, root_base, root) != 0)
		abort();
	return root;
}

struct outcome {
	int r;
	int status;
	char *out; /* what the script printed */
	char *err; /* what was logged */
};

/* A check on an outcome that shows it when it fails. */
#define CHECK_OUT(o, expr)                                                                         \
	do {                                                                                       \
		if (!(expr))                                                                       \
			fprintf(stderr, "  r=%d status=%#x\n  log: %s\n  output:\n%s\n",           \
				(o).r, (o).status, (o).err, (o).out);                              \
		CHECK(expr);                                                                       \
	} while (0)

static void outcome_done(struct outcome *o)
{
	free(o->out);
	free(o->err);
}

static char *slurp_fd(int fd)
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

/* Runs o (out_fd and scratch_dir filled here) with the log captured. */
static struct outcome run_opts(struct sandbox_opts *o)
{
	struct outcome out = { .status = -1 };
	FILE *f = tmpfile();

	o->out_fd = fileno(f);
	if (!o->scratch_dir)
		o->scratch_dir = scratch;
	capture_begin();
	out.r = sandbox_run(o, &out.status);
	out.err = capture_end();
	out.out = slurp_fd(fileno(f));
	fclose(f);
	return out;
}

/* script in the target root (a SANDBOX_BIND). */
static struct outcome run_in(const char *root, const char *script)
{
	struct sandbox_mount m = { "/", SANDBOX_BIND, root };
	struct sandbox_opts o = { .mounts = &m, .n_mounts = 1, .script = script };

	return run_opts(&o);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
			return true;
	return false;
}

/* How many processes on the host have an argument equal to arg. */
static int count_procs(const char *arg)
{
	_cleanup_(closedirp) DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		_cleanup_free_ char *path = NULL, *cmd = NULL;
		size_t len = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		path = xasprintf("/proc/%s/cmdline", e->d_name);
		if (read_file(path, 1 << 16, &cmd, &len) < 0)
			continue;
		for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
			if (streq(cmd + i, arg))
				n++;
	}
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static char *owner(const char *path)
{
	return sh_out("stat -c %%u:%%g '%s' 2>&1", path);
}

static char *ids(uint32_t uid, uint32_t gid)
{
	return xasprintf("%u:%u", uid, gid);
}

/* ---- /etc/subuid ---- */

static void test_subid_find(void)
{
	_cleanup_free_ char *path = tmp_path("subuid");
	uint32_t start = 0, count = 0;
	FILE *f = fopen(path, "w");

	CHECK(f);
	fputs("# a comment\n\nalice:100000:65536\nbob:200000:1000\n1001:300000:65536\n"
	      "bob:400000:70000\nbroken-line\ncarol:x:65536\n",
	      f);
	fclose(f);
	CHECK(sandbox_subid_find(path, "alice", 1000, 65535, &start, &count) == 0);
	CHECK(start == 100000 && count == 65536);
	/* bob's first range is too small, the second is taken */
	CHECK(sandbox_subid_find(path, "bob", 1002, 65535, &start, &count) == 0);
	CHECK(start == 400000 && count == 70000);
	CHECK(sandbox_subid_find(path, "bob", 1002, 80000, &start, &count) == -ERANGE);
	/* by number */
	CHECK(sandbox_subid_find(path, "dave", 1001, 65535, &start, &count) == 0);
	CHECK(start == 300000);
	CHECK(sandbox_subid_find(path, "erin", 1003, 1, &start, &count) == -ENOENT);
	CHECK(sandbox_subid_find(path, "carol", 1004, 1, &start, &count) == -EINVAL);
	CHECK(sandbox_subid_find("/nonexistent/subuid", "alice", 1000, 1, &start, &count) ==
	      -ENOENT);
}

/* ---- as root ---- */

static void test_probe(void)
{
	char *why = NULL;
	int r = sandbox_probe(&why);

	if (r < 0)
		fprintf(stderr, "  why: %s\n", why);
	free(why);
	CHECK(r == 0);
}

static void test_basics(void)
{
	_cleanup_free_ char *root = make_target("basics");
	_cleanup_free_ char *created = xasprintf("%s/created", root);
	_cleanup_free_ char *owned = xasprintf("%s/owned", root);
	_cleanup_free_ char *o1 = NULL, *o2 = NULL, *e1 = ids(root_base, root_base);
	_cleanup_free_ char *e2 = ids(root_base + 1000, root_base + 1001);
	struct sandbox_mount m = { "/", SANDBOX_BIND, root };
	struct sandbox_opts o = { .mounts = &m, .n_mounts = 1, .hostname = "sbx-test" };
	_cleanup_(outcome_done) struct outcome out = {};

	o.script = "echo uid=$(id -u) gid=$(id -g) groups=$(id -G)\n"
		   "touch /created\n"
		   "touch /owned && chown 1000:1001 /owned\n"
		   "echo to-stderr >&2\n"
		   "[ -c /dev/null ] && echo discarded > /dev/null && echo devnull-ok\n"
		   "cd /proc && echo pids: [0-9]*\n"
		   "echo host=$(hostname)\n"
		   "echo home=$HOME path=$PATH\n"
		   "grep -v ':/$' /proc/self/cgroup || echo cgroup-root\n"
		   "exit 3\n";
	out = run_opts(&o);
	CHECK_OUT(out, out.r == 0);
	CHECK_OUT(out, WIFEXITED(out.status) && WEXITSTATUS(out.status) == 3);
	CHECK_OUT(out, has_line(out.out, "uid=0 gid=0 groups=0"));
	CHECK_OUT(out, has_line(out.out, "to-stderr"));
	CHECK_OUT(out, has_line(out.out, "devnull-ok"));
	/* PID 1 (ours) and the script's shell: nothing of the host */
	CHECK_OUT(out, has_line(out.out, "pids: 1 2"));
	CHECK_OUT(out, has_line(out.out, "host=sbx-test"));
	CHECK_OUT(out, has_line(out.out, "home=/root path=/usr/sbin:/usr/bin:/sbin:/bin"));
	CHECK_OUT(out, has_line(out.out, "cgroup-root")); /* a cgroup namespace of its own */
	CHECK_OUT(out, out.err[0] == 0);
	/* On the host: mapped, never root. */
	o1 = owner(created);
	o2 = owner(owned);
	CHECK_STREQ(o1, e1);
	CHECK_STREQ(o2, e2);
	/* The host's name did not change. */
	{
		_cleanup_free_ char *host = sh_out("hostname");

		CHECK(!streq(host, "sbx-test"));
	}
}

/* /proc, /dev, /sys and /run as documented; nothing of them lands in the target. */
static void test_api_filesystems(void)
{
	_cleanup_free_ char *root = make_target("api");
	_cleanup_free_ char *run_x = xasprintf("%s/run/x", root), *shm_x = NULL;
	_cleanup_free_ char *dev_list = NULL;
	_cleanup_(outcome_done) struct outcome out = {};

	shm_x = xasprintf("%s/dev/shm/x", root);
	out = run_in(root,
		     "for m in /proc /dev /dev/pts /dev/shm /sys /run; do\n"
		     "  awk -v m=$m '$5 == m { split($6, o, \",\"); print m, $8, $9, o[1] }' "
		     "/proc/self/mountinfo\n"
		     "done\n"
		     "for d in null zero full random urandom tty; do\n"
		     "  test -c /dev/$d || echo no-$d\n"
		     "done\n"
		     "echo links: $(for l in fd stdin stdout stderr ptmx; do\n"
		     "  readlink /dev/$l\n"
		     "done)\n"
		     "echo zero=$(cat /dev/zero | tr '\\0' z | dd bs=4 count=1 2>/dev/null)\n"
		     "test -c /dev/pts/ptmx && echo ptmx\n"
		     "touch /dev/shm/x /run/x && echo tmpfs-writable\n"
		     "touch /sys/x 2>/dev/null || echo sys-read-only\n"
		     "echo /sys: $(ls /sys | grep -c .)\n");
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "/proc proc proc rw"));
	CHECK_OUT(out, has_line(out.out, "/dev tmpfs tmpfs rw"));
	CHECK_OUT(out, has_line(out.out, "/dev/pts devpts devpts rw"));
	CHECK_OUT(out, has_line(out.out, "/dev/shm tmpfs tmpfs rw"));
	CHECK_OUT(out, has_line(out.out, "/sys sysfs sysfs ro"));
	CHECK_OUT(out, has_line(out.out, "/run tmpfs tmpfs rw"));
	CHECK_OUT(out, !strstr(out.out, "no-"));
	CHECK_OUT(out, has_line(out.out, "links: /proc/self/fd /proc/self/fd/0 /proc/self/fd/1 "
					 "/proc/self/fd/2 pts/ptmx"));
	CHECK_OUT(out, has_line(out.out, "ptmx"));
	CHECK_OUT(out, has_line(out.out, "tmpfs-writable"));
	CHECK_OUT(out, has_line(out.out, "sys-read-only"));
	CHECK_OUT(out, !has_line(out.out, "/sys: 0"));
	CHECK(!exists(run_x) && !exists(shm_x));
	dev_list = sh_out("find '%1$s/dev' '%1$s/run' '%1$s/proc' '%1$s/sys' -mindepth 1 | wc -l",
			  root);
	CHECK_STREQ(dev_list, "0");
}

static void test_environment(void)
{
	_cleanup_free_ char *root = make_target("env");
	char *env[] = { (char *)"PATH=/bin", (char *)"ONLY=this", NULL };
	struct sandbox_mount m = { "/", SANDBOX_BIND, root };
	struct sandbox_opts o = { .mounts = &m, .n_mounts = 1, .env = env };
	_cleanup_(outcome_done) struct outcome out = {};

	setenv("SANDBOX_TEST_LEAK", "leaked", 1);
	o.script = "echo only=$ONLY home=${HOME-unset} leak=${SANDBOX_TEST_LEAK-unset}\n"
		   "echo umask=$(umask)\n"
		   "grep -E '^Sig(Blk|Ign)' /proc/self/status\n";
	out = run_opts(&o);
	unsetenv("SANDBOX_TEST_LEAK");
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "only=this home=unset leak=unset"));
	CHECK_OUT(out, has_line(out.out, "umask=0022"));
	/* main() ignores SIGPIPE, as a caller may: the script starts with every signal at its
	 * default, none blocked. */
	CHECK_OUT(out, has_line(out.out, "SigBlk:\t0000000000000000"));
	CHECK_OUT(out, has_line(out.out, "SigIgn:\t0000000000000000"));
}

static void test_escape(void)
{
	_cleanup_free_ char *root = make_target("escape");
	_cleanup_free_ char *marker = tmp_path("outside-marker");
	_cleanup_free_ char *hostfile = xasprintf("/hostfile-sandbox-%d", (int)getpid());
	_cleanup_free_ char *in_target = xasprintf("%s%s", root, hostfile);
	_cleanup_free_ char *pwned = xasprintf("%s/pwned", marker);
	_cleanup_free_ char *pwned2 = tmp_path("pwned-outside-marker");
	_cleanup_free_ char *script = NULL, *after = NULL;
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(run("mkdir -p '%s'", marker) == 0);
	CHECK(!exists(hostfile));
	/* /proc/.. is the target's root. A chroot into a subdirectory with a descriptor of the
	 * old root open: below a plain chroot(), ".." from there walks up to the host (see
	 * test_escape_control); in the sandbox it stops at the outer root the target is
	 * mounted in, which holds nothing but the target's mount point and is read-only. The
	 * script's root is not PID 1's, as in a chroot: ischroot compares their mountinfo. */
	script = xasprintf(
		"touch /proc/..%s && echo touched\n"
		"mkdir -p /x/bin /x/proc && cp /bin/busybox /x/bin/\n"
		"mount -o bind /proc /x/proc\n"
		"exec 9</\n"
		"chroot /x /bin/busybox sh -c 'cd -P /proc/self/fd/9 && cd -P .. || exit 1\n"
		"  echo top: $(/bin/busybox ls -a)\n"
		"  /bin/busybox ls -d outside-marker && echo ESCAPED\n"
		"  /bin/busybox mkdir outside-marker/pwned\n"
		"  /bin/busybox touch pwned-outside-marker\n"
		"  echo chroot-done'\n"
		"cd /; for i in 1 2 3 4 5 6 7 8; do cd -P ..; done; echo cwd=$(pwd) $(ls -d bin)\n"
		"cmp -s /proc/1/mountinfo /proc/self/mountinfo || echo chrooted\n",
		hostfile);
	out = run_in(root, script);
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "touched"));
	CHECK(exists(in_target));
	CHECK(!exists(hostfile));
	CHECK_OUT(out, has_line(out.out, "chroot-done")); /* the attempt ran */
	CHECK_OUT(out, has_line(out.out, "top: . .. target"));
	CHECK_OUT(out, has_line(out.out, "chrooted"));
	CHECK_OUT(out, !strstr(out.out, "ESCAPED"));
	CHECK_OUT(out, !has_line(out.out, "outside-marker")); /* what ls -d prints if it is there */
	CHECK(!exists(pwned));
	CHECK(!exists(pwned2));
	CHECK_OUT(out, has_line(out.out, "cwd=/ bin"));
	after = sh_out("find '%s' -mindepth 1 | wc -l", marker);
	CHECK_STREQ(after, "0");
}

/* The same escape below a plain chroot() in a user namespace does reach the host: the checks
 * of test_escape can fail. */
static void test_escape_control(void)
{
	_cleanup_free_ char *root = make_target("control");
	_cleanup_free_ char *marker = tmp_path("control-marker");
	_cleanup_free_ char *out = NULL;

	if (!have("unshare")) {
		printf("  skipped: no unshare(1)\n");
		return;
	}
	/* owned by root, whom `unshare -r` maps to root */
	CHECK(run("mkdir -p '%s' && chown -hR 0:0 '%s'", marker, root) == 0);
	out = sh_out("unshare -Urmpf chroot '%s' /bin/sh -c '"
		     "mkdir -p /x/bin /x/proc && cp /bin/busybox /x/bin/ && "
		     "mount -t proc proc /proc && mount -o bind /proc /x/proc && exec 9</ && "
		     "chroot /x /bin/busybox sh -c \"cd -P /proc/self/fd/9 && cd -P .. && "
		     "/bin/busybox ls -d control-marker\"' 2>&1",
		     root);
	if (!has_line(out, "control-marker"))
		fprintf(stderr, "  output: %s\n", out);
	CHECK(has_line(out, "control-marker"));
}

static void test_daemon(void)
{
	_cleanup_free_ char *root = make_target("daemon");
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(count_procs("987654") == 0 && count_procs("987655") == 0);
	out = run_in(root, "sleep 987654 &\n"
			   "setsid sleep 987655 &\n"
			   "sleep 0.2\n"
			   "kill -0 $! && echo daemon-alive\n"
			   "cd /proc && echo procs: [0-9]*\n");
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "daemon-alive"));
	CHECK_OUT(out, has_line(out.out, "procs: 1 2 3 4"));
	CHECK(count_procs("987654") == 0);
	CHECK(count_procs("987655") == 0);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing of ours either */
}

static void test_second_mount(void)
{
	_cleanup_free_ char *root = make_target("second");
	_cleanup_free_ char *boot = tmp_path("second-boot");
	_cleanup_free_ char *host_new = xasprintf("%s/new", boot);
	_cleanup_free_ char *under = xasprintf("%s/boot/new", root);
	_cleanup_free_ char *mp = xasprintf("%s/boot", root);
	_cleanup_free_ char *mp_owner = NULL, *expect = ids(root_base, root_base);
	struct sandbox_mount m[] = { { "/", SANDBOX_BIND, root }, { "/boot", SANDBOX_BIND, boot } };
	struct sandbox_opts o = { .mounts = m, .n_mounts = 2,
				  .script = "cat /boot/vmlinuz; touch /boot/new; echo ok" };
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(run("rm -rf '%1$s' && mkdir -p '%1$s' && echo kernel-image > '%1$s/vmlinuz' && "
		  "chown -R %2$u:%2$u '%1$s'", boot, root_base) == 0);
	CHECK(!exists(mp)); /* made by the sandbox */
	out = run_opts(&o);
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "kernel-image"));
	CHECK(exists(host_new));
	CHECK(!exists(under));
	mp_owner = owner(mp);
	CHECK_STREQ(mp_owner, expect);
}

/* opts.tmpfs: an empty tmpfs with the directory's mode over each path the target has; what
 * the script writes there never reaches it; a path it lacks is not made. */
static void test_scratch_tmpfs(void)
{
	static const char *const tmpfs[] = { "/tmp", "/var/tmp", "/var/cache/none", NULL };
	_cleanup_free_ char *root = make_target("scratch-tmpfs");
	_cleanup_free_ char *old = xasprintf("%s/tmp/old", root);
	_cleanup_free_ char *new_tmp = xasprintf("%s/tmp/new", root);
	_cleanup_free_ char *new_var = xasprintf("%s/var/tmp/new", root);
	_cleanup_free_ char *none = xasprintf("%s/var/cache/none", root);
	struct sandbox_mount m = { "/", SANDBOX_BIND, root };
	struct sandbox_opts o = {
		.mounts = &m,
		.n_mounts = 1,
		.tmpfs = tmpfs,
		.script = "ls /tmp; echo new >/tmp/new; echo new >/var/tmp/new; "
			  "stat -c 'mode %a %u' /tmp /var/tmp; "
			  "awk '$5 ~ /tmp$/ { print $5, $9 }' /proc/self/mountinfo"
	};
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(run("mkdir -p '%1$s/var/tmp' '%1$s/var/cache' && chmod 1777 '%1$s/var/tmp' && "
		  "echo old >'%1$s/tmp/old' && chown -R %2$u:%2$u '%1$s'",
		  root, root_base) == 0);
	out = run_opts(&o);
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, !has_line(out.out, "old")); /* the target's own /tmp is hidden */
	CHECK_OUT(out, has_line(out.out, "mode 1777 0"));
	CHECK_OUT(out, has_line(out.out, "/tmp tmpfs") && has_line(out.out, "/var/tmp tmpfs"));
	CHECK(exists(old));
	CHECK(!exists(new_tmp) && !exists(new_var) && !exists(none));
}

/* Mount points are looked up inside the target: a symlink in it never leads to the host. */
static void test_mount_point_symlink(void)
{
	_cleanup_free_ char *root = make_target("symlinked");
	_cleanup_free_ char *efi = tmp_path("symlinked-efi");
	_cleanup_free_ char *away = xasprintf("/tmp/sandbox-away-%d", (int)getpid());
	_cleanup_free_ char *away_efi = xasprintf("%s/efi", away);
	_cleanup_free_ char *boot = xasprintf("%s/boot", root);
	_cleanup_free_ char *link = xasprintf("../../../../../../../..%s", away);
	_cleanup_free_ char *inside = xasprintf("%s%s/efi", root, away);
	struct sandbox_mount m[] = { { "/", SANDBOX_BIND, root },
				     { "/boot/efi", SANDBOX_BIND, efi } };
	struct sandbox_opts o = { .mounts = m, .n_mounts = 2, .script = "echo ran" };
	_cleanup_(outcome_done) struct outcome a = {}, b = {};

	CHECK(run("mkdir -p '%1$s' && chown %2$u:%2$u '%1$s'", efi, root_base) == 0);
	CHECK(!exists(away));
	/* /boot -> ../../(...)/tmp/sandbox-away-PID: dangling inside the target */
	CHECK(symlink(link, boot) == 0 && lchown(boot, root_base, root_base) == 0);
	a = run_opts(&o);
	CHECK_OUT(a, a.r == -ENOENT);
	CHECK_OUT(a, streq(a.err, "error: cannot make the mount point '/boot/efi' in the target: "
				  "No such file or directory"));
	CHECK(!exists(away) && !exists(away_efi));
	/* once it points to something in the target, the mount lands there */
	CHECK(run("mkdir -p '%1$s%2$s' && chown -R %3$u:%3$u '%1$s/tmp'", root, away,
		  root_base) == 0);
	b = run_opts(&o);
	CHECK_OUT(b, b.r == 0 && b.status == 0 && has_line(b.out, "ran"));
	CHECK(exists(inside));
	CHECK(!exists(away));
}

/* A mount point the namespace's root may not make: one message naming it. */
static void test_mount_point_error(void)
{
	_cleanup_free_ char *root = make_target("no-dev");
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(run("rmdir '%1$s/dev' && chown 0:0 '%1$s'", root) == 0);
	out = run_in(root, "echo ran");
	CHECK_OUT(out, out.r == -EACCES);
	CHECK_OUT(out, streq(out.err, "error: cannot make the mount point '/dev' in the target: "
				      "Permission denied"));
	CHECK_OUT(out, !strstr(out.out, "ran"));
}

static void test_descriptors(void)
{
	_cleanup_free_ char *root = make_target("fds");
	_cleanup_free_ char *script = NULL;
	_cleanup_(outcome_done) struct outcome out = {};
	int host_fd = open(tmpdir, O_RDONLY | O_DIRECTORY); /* inheritable, on purpose */

	CHECK(host_fd >= 0);
	script = xasprintf("# secret-in-script\n"
			   "test -e /proc/$$/fd/%1$d && echo host-fd-in-shell\n"
			   "test -e /proc/$$/fd/3 && echo script-fd-in-shell\n"
			   "sh -c 'for i in 3 4 5 6 7 8 9 10 11 12 %1$d; do\n"
			   "  test -e /proc/self/fd/$i && echo leaked-$i\n"
			   "done; echo checked'\n"
			   "tr '\\0' ' ' < /proc/$$/cmdline; echo\n"
			   "test -t 0 || echo stdin=$(stat -L -c %%t,%%T /proc/self/fd/0)\n"
			   /* PID 1 holds a copy of the caller's memory: not readable */
			   "ls /proc/1/fd > /dev/null 2>&1 || echo init-fds-hidden\n"
			   "cat /proc/1/environ > /dev/null 2>&1 || echo init-environ-hidden\n",
			   host_fd);
	out = run_in(root, script);
	close(host_fd);
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, has_line(out.out, "checked"));
	CHECK_OUT(out, !strstr(out.out, "host-fd-in-shell"));
	CHECK_OUT(out, !strstr(out.out, "script-fd-in-shell"));
	CHECK_OUT(out, !strstr(out.out, "leaked-"));
	CHECK_OUT(out, has_line(out.out, "/bin/sh /proc/self/fd/3 "));
	CHECK_OUT(out, !strstr(out.out, "secret-in-script"));
	CHECK_OUT(out, has_line(out.out, "stdin=1,3")); /* /dev/null */
	CHECK_OUT(out, has_line(out.out, "init-fds-hidden"));
	CHECK_OUT(out, has_line(out.out, "init-environ-hidden"));
}

/* The caller's session keyring is not the sandbox's: a key only its possessors may read
 * (owned by root, whom the sandbox does not map) stays out of reach. keyread, a static
 * program compiled here, tries. */
static void test_keyring(void)
{
	static const char keyread[] =
		"#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
		"#include <sys/syscall.h>\n#include <linux/keyctl.h>\n"
		"int main(int argc, char **argv) {\n"
		"\tchar buf[64] = \"\";\n"
		"\tlong n = syscall(SYS_keyctl, KEYCTL_READ, atol(argv[1]), buf, 63);\n"
		"\tif (n < 0) { perror(\"keyread\"); return 1; }\n"
		"\tprintf(\"read %s\\n\", buf);\n\treturn 0;\n}\n";
	_cleanup_free_ char *root = make_target("keyring"), *src = tmp_path("keyread.c");
	_cleanup_free_ char *here = NULL, *script = NULL;
	_cleanup_(outcome_done) struct outcome out = {};
	FILE *f;
	long key;

	if (!have("cc")) {
		printf("  skipped: no C compiler for the key reader\n");
		return;
	}
	f = fopen(src, "w");
	CHECK(f);
	fputs(keyread, f);
	fclose(f);
	CHECK(run("cc -static -o '%1$s/bin/keyread' '%2$s' && cp '%1$s/bin/keyread' '%3$s/'", root,
		  src, tmpdir) == 0);
	CHECK(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "test-sandbox") >= 0);
	key = syscall(SYS_add_key, "user", "sandbox-test-key", "secret", 6,
		      KEY_SPEC_SESSION_KEYRING);
	CHECK(key >= 0);
	/* the check below can fail: a process holding the keyring reads it */
	here = sh_out("%s/keyread %ld 2>&1", tmpdir, key);
	CHECK_STREQ(here, "read secret");
	script = xasprintf("keyread %ld", key);
	out = run_in(root, script);
	syscall(SYS_keyctl, KEYCTL_INVALIDATE, key);
	CHECK_OUT(out, out.r == 0 && WIFEXITED(out.status) && WEXITSTATUS(out.status) == 1);
	CHECK_OUT(out, !strstr(out.out, "secret"));
}

static void test_status(void)
{
	_cleanup_free_ char *root = make_target("status");
	_cleanup_free_ char *bare = tmp_path("bare");
	_cleanup_(outcome_done) struct outcome a = {}, b = {}, c = {};

	_cleanup_(outcome_done) struct outcome d = {}, e = {}, f = {};
	_cleanup_free_ char *big = NULL;

	/* "#!/bin/sh -e" holds, on line 1 of the script as written */
	d = run_in(root, "#!/bin/sh -e\necho $LINENO\nfalse\necho not-reached\n");
	CHECK_OUT(d, d.r == 0 && WIFEXITED(d.status) && WEXITSTATUS(d.status) == 1);
	CHECK_OUT(d, streq(d.out, "2\n"));
	e = run_in(root, "#!/usr/bin/perl\nprint 1;\n");
	CHECK_OUT(e, e.r == -EINVAL && streq(e.err, "error: the sandbox runs /bin/sh scripts, not "
						    "'/usr/bin/perl' ones"));
	/* a script far bigger than a pipe's buffer or an argv string */
	big = xmalloc(300001);
	memset(big, '#', 300000);
	big[300000] = 0;
	memcpy(big + 299980, "\necho big-script\n", 18);
	f = run_in(root, big);
	CHECK_OUT(f, f.r == 0 && f.status == 0 && streq(f.out, "big-script\n"));

	a = run_in(root, "echo before; kill -9 $$; echo after");
	CHECK_OUT(a, a.r == 0 && WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGKILL);
	CHECK_OUT(a, has_line(a.out, "before") && !strstr(a.out, "after"));
	b = run_in(root, "");
	CHECK_OUT(b, b.r == 0 && b.status == 0);
	/* No /bin/sh in the target: 127, as a shell says. */
	CHECK(run("rm -rf '%1$s' && mkdir -p '%1$s/proc' '%1$s/dev' '%1$s/run'", bare) == 0);
	c = run_in(bare, "true");
	CHECK_OUT(c, c.r == 0 && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127);
	CHECK_OUT(c, strstr(c.out, "cannot run '/bin/sh' in the target"));
}

static void test_bad_opts(void)
{
	_cleanup_free_ char *root = make_target("bad");
	static const struct {
		struct sandbox_mount m[2];
		size_t n;
		const char *err;
	} cases[] = {
		{ { { "/boot", SANDBOX_BIND, "/tmp" } }, 1,
		  "error: the sandbox's first mount must be the target's root '/'" },
		{ { { "/", SANDBOX_BIND, "/tmp" }, { "boot", SANDBOX_BIND, "/tmp" } }, 2,
		  "error: 'boot' is not a mount point for the sandbox" },
		{ { { "/", SANDBOX_BIND, "/tmp" }, { "/boot/../etc", SANDBOX_BIND, "/tmp" } }, 2,
		  "error: '/boot/../etc' is not a mount point for the sandbox" },
		{ { { "/", SANDBOX_BIND, "/tmp" }, { "/boot/", SANDBOX_BIND, "/tmp" } }, 2,
		  "error: '/boot/' is not a mount point for the sandbox" },
		{ { { "/", SANDBOX_BIND, "/tmp" }, { "/boot", SANDBOX_FUSE } }, 2,
		  "error: the sandbox has FUSE mounts but no server" },
		{ { { "/", SANDBOX_BIND, NULL } }, 1,
		  "error: the sandbox's mount '/' has no source" },
		{ { { "/", SANDBOX_BIND, "/nonexistent/target" } }, 1,
		  "error: cannot bind '/nonexistent/target' for '/': No such file or directory" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sandbox_opts o = { .mounts = cases[i].m, .n_mounts = cases[i].n,
					  .script = "true" };
		_cleanup_(outcome_done) struct outcome out = {};

		out = run_opts(&o);
		if (out.r >= 0 || !startswith(out.err, cases[i].err) || strchr(out.err, '\n')) {
			fprintf(stderr, "  case %zu: r=%d\n    got:      '%s'\n"
				"    expected: '%s'\n", i, out.r, out.err, cases[i].err);
			CHECK(0);
		}
	}
	{
		struct sandbox_mount m[] = { { "/boot", SANDBOX_BIND, root },
					     { "/", SANDBOX_BIND, root } };
		struct sandbox_mount r = { "/", SANDBOX_BIND, root };
		struct sandbox_opts o = { .mounts = m + 1, .n_mounts = 1, .script = "true",
					  .scratch_dir = "/nonexistent/scratch" };
		struct sandbox_opts o2 = { .mounts = &r, .n_mounts = 1, .script = "true" };
		_cleanup_(outcome_done) struct outcome a = {}, b = {};
		int st = 0;

		a = run_opts(&o);
		CHECK_OUT(a, a.r == -ENOTDIR);
		CHECK_OUT(a, startswith(a.err, "error: the sandbox's scratch directory "
					"'/nonexistent/scratch' is not a directory"));
		/* a mount before its parent */
		o.mounts = m;
		o.n_mounts = 2;
		o.scratch_dir = NULL;
		b = run_opts(&o);
		CHECK_OUT(b, b.r == -EINVAL);
		CHECK_OUT(b, startswith(b.err, "error: the sandbox's first mount must be"));
		/* no output descriptor */
		o2.out_fd = 99;
		o2.scratch_dir = scratch;
		capture_begin();
		CHECK(sandbox_run(&o2, &st) == -EBADF);
		free(capture_end());
	}
}

/* ---- a FUSE server ---- */

struct fnode {
	const char *name;
	fuse_ino_t parent;
	mode_t mode;
	const char *data; /* a file's content, a symlink's target */
	size_t size;
};

static char *busybox_data;
static size_t busybox_size;

/* Inode numbers are indexes. */
static struct fnode fnodes[] = {
	[1] = { "", 1, S_IFDIR | 0755 },
	[2] = { "bin", 1, S_IFDIR | 0755 },
	[3] = { "busybox", 2, S_IFREG | 0755 },
	[4] = { "sh", 2, S_IFLNK | 0777, "busybox" },
	[5] = { "cat", 2, S_IFLNK | 0777, "busybox" },
	[6] = { "ls", 2, S_IFLNK | 0777, "busybox" },
	[7] = { "touch", 2, S_IFLNK | 0777, "busybox" },
	[8] = { "hello", 1, S_IFREG | 0644, "hello from fuse\n" },
	[9] = { "proc", 1, S_IFDIR | 0755 },
	[10] = { "dev", 1, S_IFDIR | 0755 },
	[11] = { "sys", 1, S_IFDIR | 0755 },
	[12] = { "run", 1, S_IFDIR | 0755 },
	[13] = { "tmp", 1, S_IFDIR | 0755 },
	[14] = { "mnt", 1, S_IFDIR | 0755 },
};

struct server {
	unsigned requests;
	bool fail; /* serve() fails at once */
	size_t n_fds;
	int fds[8];
};

static struct fnode *fnode(fuse_ino_t ino)
{
	return ino >= 1 && ino < ARRAY_SIZE(fnodes) ? &fnodes[ino] : NULL;
}

static void fnode_attr(fuse_ino_t ino, struct stat *st)
{
	const struct fnode *n = fnode(ino);

	*st = (struct stat){ .st_ino = ino, .st_mode = n->mode, .st_mtime = 1700000000 };
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_size = (off_t)(ino == 3 ? busybox_size : n->data ? strlen(n->data) : 0);
}

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	for (fuse_ino_t i = 2; i < ARRAY_SIZE(fnodes); i++) {
		if (fnodes[i].parent == parent && streq(fnodes[i].name, name)) {
			struct fuse_entry_param e = { .ino = i, .attr_timeout = 1,
						      .entry_timeout = 1 };

			fnode_attr(i, &e.attr);
			fuse_reply_entry(req, &e);
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

static void f_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (!fnode(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fnode_attr(ino, &st);
	fuse_reply_attr(req, &st, 1);
}

static void f_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct fnode *n = fnode(ino);

	if (!n || !S_ISLNK(n->mode))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->data);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fnode *n = fnode(ino);

	if (!n || !S_ISREG(n->mode))
		fuse_reply_err(req, n ? EISDIR : ENOENT);
	else if ((fi->flags & O_ACCMODE) != O_RDONLY)
		fuse_reply_err(req, EROFS);
	else
		fuse_reply_open(req, fi);
}

static void f_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	const struct fnode *n = fnode(ino);
	const char *data = ino == 3 ? busybox_data : n->data;
	size_t len = ino == 3 ? busybox_size : strlen(n->data);

	if ((size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, data + off,
			       len - (size_t)off < size ? len - (size_t)off : size);
}

static void f_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	char buf[4096];
	size_t len = 0, max = size < sizeof(buf) ? size : sizeof(buf);
	off_t k = 0;

	for (fuse_ino_t i = 0; i < ARRAY_SIZE(fnodes); i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : fnodes[i].name;
		struct stat st = { .st_ino = i ? i : ino };
		size_t need;

		if (i >= 2 && fnodes[i].parent != ino)
			continue;
		if (k++ < off)
			continue;
		st.st_mode = i >= 2 ? fnodes[i].mode : S_IFDIR;
		need = fuse_add_direntry(req, buf + len, max - len, name, &st, k);
		if (need > max - len)
			break;
		len += need;
	}
	fuse_reply_buf(req, buf, len);
}

static const struct fuse_lowlevel_ops fops = {
	.lookup = f_lookup,
	.getattr = f_getattr,
	.readlink = f_readlink,
	.open = f_open,
	.read = f_read,
	.readdir = f_readdir,
};

static int test_serve(void *userdata, const int *fds, size_t n, int child_fd)
{
	struct server *s = userdata;
	char *argv[] = { (char *)"test-sandbox", NULL };
	struct fuse_session *se[8] = {};
	struct pollfd p[9];
	struct fuse_buf buf = {};
	size_t ns = 0;

	s->n_fds = n;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(s->fds); i++)
		s->fds[i] = fds[i];
	if (s->fail)
		return -EIO;
	for (size_t i = 0; i < n && ns < ARRAY_SIZE(se); i++) {
		struct fuse_args args = FUSE_ARGS_INIT(1, argv);
		char mp[32];

		if (fds[i] < 0)
			continue;
		se[ns] = fuse_session_new(&args, &fops, sizeof(fops), s);
		fuse_opt_free_args(&args);
		snprintf(mp, sizeof(mp), "/dev/fd/%d", fcntl(fds[i], F_DUPFD_CLOEXEC, 3));
		if (!se[ns] || fuse_session_mount(se[ns], mp) != 0)
			abort();
		p[ns] = (struct pollfd){ .fd = fuse_session_fd(se[ns]), .events = POLLIN };
		ns++;
	}
	p[ns] = (struct pollfd){ .fd = child_fd, .events = POLLIN };
	for (;;) {
		if (poll(p, ns + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[ns].revents)
			break;
		for (size_t i = 0; i < ns; i++) {
			int k;

			if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			k = fuse_session_receive_buf(se[i], &buf);
			if (k == -EINTR || k == -EAGAIN)
				continue;
			if (k <= 0) {
				p[i].fd = -1; /* unmounted */
				continue;
			}
			s->requests++;
			fuse_session_process_buf(se[i], &buf);
		}
	}
	free(buf.mem);
	for (size_t i = 0; i < ns; i++)
		fuse_session_destroy(se[i]);
	return 0;
}

static void test_fuse(void)
{
	_cleanup_free_ char *tmp = tmp_path("fuse-tmp");
	_cleanup_free_ char *written = xasprintf("%s/w", tmp);
	_cleanup_free_ char *content = NULL;
	struct sandbox_mount m[] = { { "/", SANDBOX_FUSE },
				     { "/mnt", SANDBOX_FUSE },
				     { "/tmp", SANDBOX_BIND, tmp } };
	struct server s = {};
	struct sandbox_opts o = { .mounts = m, .n_mounts = 3, .serve = test_serve, .userdata = &s };
	_cleanup_(outcome_done) struct outcome out = {};

	CHECK(run("rm -rf '%1$s' && mkdir -p '%1$s' && chown %2$u:%2$u '%1$s'", tmp,
		  root_base) == 0);
	o.script = "cat /hello /mnt/hello\n"
		   "echo root: $(ls /)\n"
		   "echo fuse-write > /tmp/w\n"
		   "touch /new 2>/dev/null || echo read-only\n"
		   "echo done\n";
	out = run_opts(&o);
	CHECK_OUT(out, out.r == 0 && out.status == 0);
	CHECK_OUT(out, strstr(out.out, "hello from fuse\nhello from fuse\n"));
	CHECK_OUT(out, has_line(out.out, "root: bin dev hello mnt proc run sys tmp"));
	CHECK_OUT(out, has_line(out.out, "read-only"));
	CHECK_OUT(out, has_line(out.out, "done"));
	CHECK(read_file(written, 100, &content, NULL) == 0);
	CHECK_STREQ(content, "fuse-write\n");
	CHECK(s.requests > 0);
	CHECK(s.n_fds == 3 && s.fds[0] >= 0 && s.fds[1] >= 0 && s.fds[2] == -1);
	/* sandbox_run() closed them */
	CHECK(fcntl(s.fds[0], F_GETFD) < 0 && fcntl(s.fds[1], F_GETFD) < 0);
}

static void test_serve_fails(void)
{
	_cleanup_free_ char *root = make_target("serve-fails");
	struct sandbox_mount m[] = { { "/", SANDBOX_BIND, root }, { "/mnt", SANDBOX_FUSE } };
	struct server s = { .fail = true };
	struct sandbox_opts o = { .mounts = m, .n_mounts = 2, .serve = test_serve, .userdata = &s,
				  .script = "sleep 987658" };
	_cleanup_(outcome_done) struct outcome out = {};

	out = run_opts(&o);
	CHECK_OUT(out, out.r == -EIO);
	CHECK(s.n_fds == 2);
	CHECK(count_procs("987658") == 0);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

/* SIGTERM to the caller: the sandbox dies with it. */
static void test_caller_killed(void)
{
	_cleanup_free_ char *root = make_target("killed");
	FILE *f = tmpfile();
	pid_t pid;
	int i;

	CHECK(count_procs("987657") == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct sandbox_mount m = { "/", SANDBOX_BIND, root };
		struct sandbox_opts o = { .mounts = &m, .n_mounts = 1, .out_fd = fileno(f),
					  .scratch_dir = scratch,
					  .script = "echo started; sleep 987657; echo not-killed" };
		int st;

		sandbox_run(&o, &st);
		_exit(0);
	}
	for (i = 0; i < 200; i++) {
		_cleanup_free_ char *s = slurp_fd(fileno(f));

		if (strstr(s, "started"))
			break;
		usleep(50000);
	}
	CHECK(i < 200);
	for (i = 0; i < 100 && count_procs("987657") == 0; i++) /* echo comes before sleep */
		usleep(50000);
	CHECK(count_procs("987657") == 1);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (i = 0; i < 100 && count_procs("987657") > 0; i++)
		usleep(50000);
	CHECK(count_procs("987657") == 0);
	{
		_cleanup_free_ char *s = slurp_fd(fileno(f));

		CHECK(!strstr(s, "not-killed"));
	}
	fclose(f);
}

/* ---- as nobody ---- */

/* In the child's mount namespace: a /dev/fuse of mode 0666 (a node of our own on a tmpfs,
 * bound over the host's), as a desktop has it. */
static int fuse_for_everyone(void)
{
	_cleanup_free_ char *dir = tmp_path("nobody-dev"), *node = tmp_path("nobody-dev/fuse");

	if (mkdir(dir, 0755) < 0 || mount("tmpfs", dir, "tmpfs", 0, "mode=755") < 0 ||
	    mknod(node, S_IFCHR | 0666, makedev(10, 229)) < 0 || chmod(node, 0666) < 0 ||
	    mount(node, "/dev/fuse", NULL, MS_BIND, NULL) < 0)
		return -errno;
	return 0;
}

/* Runs fn in a child as user (NULL: as root still), with /etc/subuid and /etc/subgid
 * replaced by a file holding subid (in the child's mount namespace only; fuse: and a
 * /dev/fuse everyone may use); what fn writes to its fd comes back. */
static char *as_user(const char *user, const char *subid, bool fuse,
		     void (*fn)(int fd, void *data), void *data)
{
	_cleanup_free_ char *file = tmp_path("user-subid");
	struct passwd *pw = user ? getpwnam(user) : NULL;
	int p[2], status;
	char *out = NULL;
	size_t len = 0;
	FILE *m;
	char buf[4096];
	ssize_t k;
	pid_t pid;

	if ((user && !pw) || pipe(p) < 0)
		return NULL;
	if (run("printf '%%s' '%s' > '%s' && chmod 644 '%s'", subid, file, file) != 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(file, "/etc/subuid", NULL, MS_BIND, NULL) < 0 ||
		    mount(file, "/etc/subgid", NULL, MS_BIND, NULL) < 0 ||
		    (fuse && fuse_for_everyone() < 0) ||
		    (pw && (setgroups(0, NULL) < 0 ||
			    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
			    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0))) {
			dprintf(p[1], "setup failed: %s", strerror(errno));
			_exit(1);
		}
		fn(p[1], data);
		_exit(0);
	}
	close(p[1]);
	m = open_memstream(&out, &len);
	while ((k = read(p[0], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)k, m);
	fclose(m);
	close(p[0]);
	waitpid(pid, &status, 0);
	if (getenv("TEST_SANDBOX_VERBOSE"))
		fprintf(stderr, "%s\n", out);
	return out;
}

/* The probe, then the script in the target (data: a SANDBOX_BIND root; NULL: the FUSE tree
 * with tmpdir/nobody-tmp bound at /tmp). */
static void nobody_probe_and_run(int fd, void *data)
{
	_cleanup_free_ char *tmp = tmp_path("nobody-tmp");
	struct sandbox_mount bind = { "/", SANDBOX_BIND, data };
	struct sandbox_mount fuse[] = { { "/", SANDBOX_FUSE }, { "/tmp", SANDBOX_BIND, tmp } };
	struct server s = {};
	struct sandbox_opts o = { .mounts = data ? &bind : fuse, .n_mounts = data ? 1 : 2,
				  .scratch_dir = scratch, .serve = test_serve, .userdata = &s };
	_cleanup_free_ char *text = NULL;
	char *why = NULL, *err;
	FILE *f = tmpfile();
	int r, status = -1;

	r = sandbox_probe(&why);
	dprintf(fd, "probe=%d why=%s\n", r, why ? why : "");
	free(why);
	o.out_fd = fileno(f);
	o.script = data ? "echo uid=$(id -u) gid=$(id -g)\n"
			  "touch /created && touch /owned && chown 1000:1001 /owned && echo wrote\n"
			  "cd /proc && echo pids: [0-9]*\n"
			  "ls /proc/1/fd > /dev/null 2>&1 || echo init-fds-hidden\n"
			  "exit 5\n" :
			  "cat /hello\n"
			  "echo fuse-write > /tmp/w && cat /tmp/w\n"
			  "exit 6\n";
	capture_begin();
	r = sandbox_run(&o, &status);
	err = capture_end();
	text = slurp_fd(fileno(f));
	dprintf(fd, "run=%d status=%d log=%s\n%s", r, status, err, text);
	dprintf(fd, "requests=%s\n", s.requests ? "some" : "none");
	free(err);
	fclose(f);
}

static bool can_be_nobody(void)
{
	if (geteuid() == 0 && getpwnam("nobody"))
		return true;
	printf("  skipped: not root or no user nobody\n");
	return false;
}

/* Unusable ranges: an actionable message from the probe and the same one logged. */
static void test_nobody_bad_subuid(void)
{
	static const struct {
		const char *subid, *why;
	} cases[] = {
		{ "", "-2 why=no subordinate uid range for nobody in /etc/subuid: add one with "
		      "`usermod --add-subuids 100000-165535 nobody` (as root)" },
		{ "nobody:100000:1000\n", "-34 why=the subordinate uid ranges of nobody in "
					   "/etc/subuid are too small (65535 ids needed)" },
		{ "nobody:0:65536\n", "-1 why=the subordinate uid range of nobody in /etc/subuid "
				      "starts at 0, the host's root" },
	};
	_cleanup_free_ char *root = make_target("nobody-bad");

	if (!can_be_nobody())
		return;
	CHECK(run("chown -R nobody: '%s'", root) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *out = as_user("nobody", cases[i].subid, false,
						   nobody_probe_and_run, root);
		_cleanup_free_ char *probe = xasprintf("probe=%s", cases[i].why);
		_cleanup_free_ char *logged =
			xasprintf("log=error: %s", strchr(cases[i].why, '=') + 1);

		if (!out || !strstr(out, probe) || !strstr(out, logged) || !strstr(out, "run=-")) {
			fprintf(stderr, "  case %zu:\n%s\n", i, out);
			CHECK(0);
		}
	}
	/* A range newuidmap refuses (it holds uid 4294967295): its words, and where to look. */
	{
		_cleanup_free_ char *out = as_user("nobody", "nobody:4294901760:65536\n", false,
						   nobody_probe_and_run, root);
		const char *log = out ? strstr(out, "log=") : NULL;
		size_t n = log ? strcspn(log, "\n") : 0;
		static const char tail[] = ": check the ranges of nobody in /etc/subuid and "
					   "/etc/subgid";

		CHECK(log && startswith(log, "log=error: newuidmap failed: newuidmap: "));
		CHECK(n > strlen(tail) && strncmp(log + n - strlen(tail), tail, strlen(tail)) == 0);
	}
}

static void test_nobody(void)
{
	_cleanup_free_ char *root = make_target("nobody");
	_cleanup_free_ char *created = xasprintf("%s/created", root);
	_cleanup_free_ char *owned = xasprintf("%s/owned", root);
	_cleanup_free_ char *out = NULL, *o1 = NULL, *o2 = NULL, *e1 = NULL;
	const uint32_t base = 0x60000000;
	_cleanup_free_ char *e2 = ids(base + 999, base + 1000);
	struct passwd *pw = getpwnam("nobody");
	struct stat st;

	if (!can_be_nobody())
		return;
	e1 = ids(pw->pw_uid, pw->pw_gid);
	CHECK(run("chown -R nobody: '%s'", root) == 0);
	out = as_user("nobody", "nobody:1610612736:65536\n", false, nobody_probe_and_run, root);
	CHECK(out);
	CHECK(strstr(out, "run=0 status=1280 log=\n")); /* exit 5, nothing logged */
	/* The probe: the host's /dev/fuse decides (0600 on some machines, 0666 on Debian). */
	CHECK(stat("/dev/fuse", &st) == 0);
	if ((st.st_mode & 0006) == 0006)
		CHECK(strstr(out, "probe=0 why=\n"));
	else
		CHECK(strstr(out, "probe=-13 why='/dev/fuse' (mode 0") &&
		      strstr(out, "is not usable by you: make /dev/fuse readable and writable by "
				  "everyone: `chmod 0666 /dev/fuse`"));
	CHECK(has_line(out, "uid=0 gid=0"));
	CHECK(has_line(out, "wrote"));
	CHECK(has_line(out, "pids: 1 2"));
	CHECK(has_line(out, "init-fds-hidden"));
	o1 = owner(created);
	o2 = owner(owned);
	CHECK_STREQ(o1, e1); /* 0 of the namespace is nobody itself */
	CHECK_STREQ(o2, e2); /* 1000 is 999 into nobody's range */
}

static void test_nobody_fuse(void)
{
	_cleanup_free_ char *tmp = tmp_path("nobody-tmp"), *w = tmp_path("nobody-tmp/w");
	_cleanup_free_ char *out = NULL, *o1 = NULL, *e1 = NULL;
	struct passwd *pw = getpwnam("nobody");

	if (!can_be_nobody())
		return;
	e1 = ids(pw->pw_uid, pw->pw_gid);
	CHECK(run("rm -rf '%1$s' && mkdir -p '%1$s' && chown nobody: '%1$s'", tmp) == 0);
	out = as_user("nobody", "nobody:1610612736:65536\n", true, nobody_probe_and_run, NULL);
	CHECK(out);
	CHECK(strstr(out, "probe=0 why=\n"));
	CHECK(strstr(out, "run=0 status=1536 log=\n")); /* exit 6 */
	CHECK(has_line(out, "hello from fuse"));
	CHECK(has_line(out, "fuse-write"));
	CHECK(has_line(out, "requests=some"));
	o1 = owner(w);
	CHECK_STREQ(o1, e1);
}

static void root_run(int fd, void *data)
{
	struct sandbox_mount m = { "/", SANDBOX_BIND, data };
	struct sandbox_opts o = { .mounts = &m, .n_mounts = 1, .scratch_dir = scratch,
				  .script = "touch /created && echo wrote" };
	_cleanup_free_ char *text = NULL;
	char *err, *why = NULL;
	FILE *f = tmpfile();
	int r, status = -1;

	r = sandbox_probe(&why);
	dprintf(fd, "probe=%d why=%s\n", r, why ? why : "");
	free(why);
	o.out_fd = fileno(f);
	capture_begin();
	r = sandbox_run(&o, &status);
	err = capture_end();
	text = slurp_fd(fileno(f));
	dprintf(fd, "run=%d status=%d log=%s\n%s", r, status, err, text);
	free(err);
	fclose(f);
}

/* Root with an /etc/subuid entry: that range, not the default one, if it is usable. */
static void test_root_subuid(void)
{
	_cleanup_free_ char *root = make_target("root-subuid");
	_cleanup_free_ char *created = xasprintf("%s/created", root);
	_cleanup_free_ char *out = NULL, *bad = NULL, *small = NULL, *o1 = NULL;

	CHECK(run("chown -hR 1342177280:1342177280 '%s'", root) == 0);
	out = as_user(NULL, "root:1342177280:65536\n", false, root_run, root);
	CHECK(out && strstr(out, "probe=0 why=\n"));
	CHECK(out && strstr(out, "run=0 status=0 log=\nwrote\n"));
	o1 = owner(created);
	CHECK_STREQ(o1, "1342177280:1342177280");
	bad = as_user(NULL, "root:0:65536\n", false, root_run, root);
	CHECK(bad && strstr(bad, "probe=-1 why=the subordinate uid range of root in /etc/subuid "
				 "starts at 0, the host's root"));
	CHECK(strstr(bad, "run=-1 status=-1 log=error: the subordinate uid range of root"));
	small = as_user(NULL, "root:1342177280:100\n", false, root_run, root);
	CHECK(small && strstr(small, "probe=-34 why=root's subordinate uid range in /etc/subuid "
				     "is too small (65536 ids needed): make it larger, or remove "
				     "it to use 1879048192-1879113727\n"));
}

/* After everything: the host's mount table never saw the sandboxes. */
static void test_no_mounts_left(void)
{
	_cleanup_free_ char *n = sh_out("grep -c '%s' /proc/self/mountinfo", tmpdir);
	_cleanup_free_ char *in_scratch = sh_out("find '%s' -mindepth 1 | wc -l", scratch);

	CHECK_STREQ(n, "0");
	CHECK_STREQ(in_scratch, "0");
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

/* TEST_SANDBOX_ONLY=test_name runs that test only. */
#define T(fn)                                                                                      \
	do {                                                                                       \
		if (!only || streq(only, #fn))                                                     \
			RUN_TEST(fn);                                                              \
	} while (0)

int main(void)
{
	const char *only;
	_cleanup_free_ char *base = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-sandbox.XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) {
		perror("mkdtemp");
		return 1;
	}
	log_set_level(LOG_INFO);
	signal(SIGPIPE, SIG_IGN); /* as mkbootmedia may: the script must not inherit it */
	scratch = tmp_path("scratch");
	if (mkdir(scratch, 0755) < 0 ||
	    read_file("/bin/busybox", 64 << 20, &busybox_data, &busybox_size) < 0) {
		perror("setup");
		return 1;
	}
	base = sh_out("awk -F: '$1 == \"root\" || $1 == \"0\" { print $2; exit }' /etc/subuid");
	root_base = base[0] ? (uint32_t)strtoul(base, NULL, 10) : SANDBOX_ROOT_ID_BASE;

	only = getenv("TEST_SANDBOX_ONLY");
	T(test_subid_find);
	if (geteuid() != 0) {
		/* The tests below need root (as CI has): the maps, chown, becoming nobody. */
		printf("  skipped the sandbox tests: not root\n");
		CHECK_EXIT();
	}
	T(test_probe);
	T(test_basics);
	T(test_api_filesystems);
	T(test_environment);
	T(test_escape);
	T(test_escape_control);
	T(test_daemon);
	T(test_second_mount);
	T(test_mount_point_symlink);
	T(test_scratch_tmpfs);
	T(test_mount_point_error);
	T(test_descriptors);
	T(test_keyring);
	T(test_status);
	T(test_bad_opts);
	T(test_fuse);
	T(test_serve_fails);
	T(test_caller_killed);
	T(test_nobody_bad_subuid);
	T(test_nobody);
	T(test_nobody_fuse);
	T(test_root_subuid);
	T(test_no_mounts_left);

	free(scratch);
	free(busybox_data);
	if (!getenv("TEST_SANDBOX_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
