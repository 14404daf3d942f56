// SPDX-License-Identifier: GPL-2.0-or-later
/* Three processes make a sandbox:
 *
 * - the caller (the parent) writes the id maps, serves FUSE and waits;
 * - the helper, its child, enters a new user namespace and opens /dev/fuse there with the
 *   caller's credentials still (the kernel wants a FUSE mount made from the user namespace
 *   that opened the device, and only the caller may open the device), waits for the maps,
 *   creates the mount, PID, IPC, UTS and cgroup namespaces and forks PID 1;
 * - PID 1 of the new PID namespace takes what it needs from the host while it still has the
 *   caller's credentials (the bind sources, the device nodes, /sys: looked up after the
 *   mount namespace exists, or they could not be mounted in it), becomes root of the
 *   namespace, creates every filesystem detached, hands the /dev/fuse descriptors to the
 *   parent, attaches the filesystems (only now can a path lookup reach a FUSE server),
 *   pivots into the target and runs the script.
 *
 * They talk over a SOCK_SEQPACKET socketpair. The children never log: the caller may have
 * threads, so between fork() and _exit() they make system calls and format text into
 * buffers, nothing that takes a lock; what went wrong is sent to the parent, which logs it.
 * Every host descriptor is closed in the children first thing, but those they need. */
#include "sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "spawn.h"

char *const sandbox_default_env[] = {
	(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	(char *)"HOME=/root",
	(char *)"LC_ALL=C.UTF-8",
	(char *)"LANG=C.UTF-8",
	(char *)"DEBIAN_FRONTEND=noninteractive",
	(char *)"DEBCONF_NONINTERACTIVE_SEEN=true",
	(char *)"TERM=dumb",
	NULL,
};

/* The children's descriptors, placed right after fork(). SCRIPT_PREFIX closes FD_SCRIPT. */
enum {
	FD_IN = 0,
	FD_OUT = 1,
	FD_ERR = 2,
	FD_SCRIPT = 3,
	FD_SOCK = 4,
	FD_FIRST_FREE = 5,
};
#define SCRIPT_PREFIX "exec 3<&-; "
#define SCRIPT_PATH "/proc/self/fd/3"
/* Where the target is mounted in the sandbox's outer root, the directory the script is
 * chrooted into. */
#define TARGET_DIR "target"

/* A helper that failed after telling the parent why. */
#define EXIT_SETUP 125

enum msg_type {
	MSG_USERNS = 1, /* child: in the new user namespace, waiting for the maps */
	MSG_GO,         /* parent: mapped */
	MSG_FUSE,       /* child: the /dev/fuse descriptors (SCM_RIGHTS), in mounts order */
	MSG_PROBED,     /* child, probe: every step worked */
	MSG_NOTE,       /* child: something left out, for the debug log */
	MSG_ERROR,      /* child: a step failed (err, text, hint) */
	MSG_STATUS,     /* child: the script's wait status (value) */
};

struct msg {
	int type;
	int err;
	int value;
	char text[512];
	char hint[384];
};

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const char *const dev_links[][2] = {
	{ "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

#define HINT_USERNS                                                                                \
	"user namespaces are disabled or used up here: see `sysctl user.max_user_namespaces` "     \
	"(and kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns)"
#define HINT_FUSE_MISSING "load the fuse module: `modprobe fuse`"
#define HINT_FUSE_ACCESS                                                                           \
	"make /dev/fuse readable and writable by everyone: `chmod 0666 /dev/fuse` as root (the "   \
	"mode Debian's fuse3 package gives it)"
#define HINT_FUSE_USERNS "the kernel must allow FUSE in a user namespace (Linux 4.18 or later)"
#define HINT_NEW_MOUNT_API "Linux 5.2 or later is needed (fsopen, fsmount, move_mount)"
#define HINT_PROC                                                                                  \
	"the kernel refuses a new /proc where the host's is partly hidden (a container?): run "    \
	"mkbootmedia on a host or in a virtual machine"

/* What a child knows; filled by the parent before fork(), so that the children need no
 * memory allocation. */
struct child {
	const struct sandbox_opts *o;
	bool probe;
	pid_t parent;
	int null_fd, out_fd, script_fd, sock; /* the parent's numbers, until placed */
	char shell_arg[64];                   /* from a "#!/bin/sh -e" line, or "" */
	int *fuse_fds;                        /* n_mounts, -1 for SANDBOX_BIND */
	int *mnt_fds;                         /* n_mounts: the detached mounts */
	int dev_fds[ARRAY_SIZE(dev_nodes)];
	int sys_fd, proc_fd, scratch_fd;
};

/* ---- messages ---- */

static int msg_send(int sock, const struct msg *m, const int *fds, size_t n_fds)
{
	char control[CMSG_SPACE(sizeof(int) * SANDBOX_MOUNTS_MAX)] = {};
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n_fds > SANDBOX_MOUNTS_MAX)
		return -E2BIG;
	if (n_fds) {
		struct cmsghdr *cm;

		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* One message; its descriptors (at most max_fds, the count in *n_fds) are closed on exec.
 * 1, 0 at the end (every child has exited or closed its end), or -errno. */
static int msg_recv(int sock, struct msg *m, int flags, int *fds, size_t max_fds, size_t *n_fds)
{
	char control[CMSG_SPACE(sizeof(int) * SANDBOX_MOUNTS_MAX)];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	size_t got = 0;
	ssize_t k;

	*m = (struct msg){};
	while ((k = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (n_fds)
		*n_fds = got;
	if (k == 0)
		return 0;
	if (k != sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < got; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	m->text[sizeof(m->text) - 1] = 0;
	m->hint[sizeof(m->hint) - 1] = 0;
	return 1;
}

/* ---- the children ---- */

static void child_sendv(int type, int err, const char *hint, const char *fmt, va_list ap)
{
	struct msg m = { .type = type, .err = err };

	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	if (hint)
		snprintf(m.hint, sizeof(m.hint), "%s", hint);
	(void)msg_send(FD_SOCK, &m, NULL, 0);
}

static _printf_(1, 2) void child_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_sendv(MSG_NOTE, 0, NULL, fmt, ap);
	va_end(ap);
}

/* Tells the parent which step failed (a message in the log's style, without the error's
 * text, which the parent adds) and what to do (hint, or NULL), and exits. */
static _Noreturn _printf_(3, 4) void child_fail(int err, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_sendv(MSG_ERROR, err, hint, fmt, ap);
	va_end(ap);
	_exit(EXIT_SETUP);
}

static void child_send(int type, int value)
{
	struct msg m = { .type = type, .value = value };

	(void)msg_send(FD_SOCK, &m, NULL, 0);
}

/* The descriptors the children keep at their fixed numbers, every other one closed. */
static int place_fds(struct child *c)
{
	int from[] = { c->null_fd, c->out_fd >= 0 ? c->out_fd : c->null_fd,
		       c->out_fd >= 0 ? c->out_fd : c->null_fd,
		       c->script_fd >= 0 ? c->script_fd : c->null_fd, c->sock };
	int tmp[ARRAY_SIZE(from)];

	/* Copies above every target first, so that no dup2() overwrites a source. */
	for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
		tmp[i] = fcntl(from[i], F_DUPFD_CLOEXEC, FD_FIRST_FREE);
		if (tmp[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(from); i++)
		if (dup2(tmp[i], (int)i) < 0)
			return -errno;
	if (close_range(FD_FIRST_FREE, ~0U, 0) < 0 || fcntl(FD_SOCK, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	/* The kernel's struct sigaction: glibc refuses its two internal signals (32 and 33,
	 * below SIGRTMIN), and GNU make, for one, starts its commands with them ignored; an
	 * ignored signal stays ignored across exec, so they are reset with the system call. */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ksa = { .handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, &sa, NULL) < 0 && errno == EINVAL && sig >= 32 && sig < SIGRTMIN)
			(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A new filesystem of type as a detached mount; opts are key, value pairs (a NULL value: a
 * flag), ending with NULL. -errno. */
static int fs_create(const char *type, const char *const *opts, unsigned attrs)
{
	int fs = fsopen(type, FSOPEN_CLOEXEC), mnt, err;

	if (fs < 0)
		return -errno;
	for (; opts && opts[0]; opts += 2) {
		unsigned cmd = opts[1] ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG;

		if (fsconfig(fs, cmd, opts[0], opts[1], 0) < 0)
			goto fail;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		goto fail;
	close(fs);
	return mnt;
fail:
	err = errno;
	close(fs);
	return -err;
}

/* A copy of the host's tree at path (recursive), detached, with attrs added. -errno. */
static int tree_clone(const char *path, bool recursive, uint64_t attrs)
{
	struct mount_attr attr = { .attr_set = attrs };
	int fd = open_tree(AT_FDCWD, path,
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	int err;

	if (fd < 0)
		return -errno;
	if (attrs && mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
				   sizeof(attr)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int openat2_in(int rootfd, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The directory path (absolute) of the target whose root is rootfd, made with its missing
 * parents (0755, owned by the namespace's root). Every lookup is confined to the target
 * (RESOLVE_IN_ROOT): a symlink in it is followed as the target would see it, never to the
 * host. -errno. */
static int target_dir(int rootfd, const char *path)
{
	char buf[PATH_MAX];
	int fd, dir;

	fd = openat2_in(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	dir = openat2_in(rootfd, "/");
	if (dir < 0)
		return -errno;
	for (char *p = buf + 1;;) {
		char *slash = strchr(p, '/');

		if (slash)
			*slash = 0;
		fd = openat2_in(rootfd, buf);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(dir, p, 0755) < 0 && errno != EEXIST) {
				int err = errno;

				close(dir);
				return -err;
			}
			fd = openat2_in(rootfd, buf);
		}
		if (fd < 0) {
			int err = errno;

			close(dir);
			return -err;
		}
		close(dir);
		dir = fd;
		if (!slash)
			return dir;
		*slash = '/';
		p = slash + 1;
	}
}

static int attach(int mnt, int dirfd, const char *path)
{
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (path ? 0 : MOVE_MOUNT_T_EMPTY_PATH);

	return move_mount(mnt, "", dirfd, path ? path : "", flags) < 0 ? -errno : 0;
}

/* Mounts mnt on path of the target, or fails the sandbox saying what. */
static void attach_in_target(int rootfd, int mnt, const char *path, const char *what)
{
	int dir = target_dir(rootfd, path);

	if (dir < 0)
		child_fail(-dir, NULL, "cannot make the mount point '%s' in the target", path);
	if (attach(mnt, dir, NULL) < 0)
		child_fail(errno, NULL, "cannot mount %s on '%s' in the target", what, path);
	close(dir);
}

/* PID 1, with the caller's credentials: what comes from the host. */
static void take_host(struct child *c)
{
	const struct sandbox_opts *o = c->o;
	int fd;

	c->scratch_fd = open(o->scratch_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->scratch_fd < 0)
		child_fail(errno, NULL, "cannot open the scratch directory '%s'", o->scratch_dir);
	for (size_t i = 0; i < o->n_mounts; i++) {
		if (o->mounts[i].kind != SANDBOX_BIND)
			continue;
		fd = tree_clone(o->mounts[i].source, true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
		if (fd < 0)
			child_fail(-fd, NULL, "cannot bind '%s' for '%s'", o->mounts[i].source,
				   o->mounts[i].path);
		c->mnt_fds[i] = fd;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		fd = tree_clone(path, false, 0);
		if (fd < 0)
			child_fail(-fd, NULL, "cannot bind the host's '%s'", path);
		c->dev_fds[i] = fd;
	}
	fd = tree_clone("/sys", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC);
	if (fd < 0)
		child_note("no /sys in the sandbox: cannot bind the host's read-only: %s",
			   strerrordesc_np(-fd));
	c->sys_fd = fd;
}

/* PID 1: uid and gid 0 of the namespace, no other group; then what depended on the old
 * credentials, which a change resets. */
static void become_root(struct child *c)
{
	struct pollfd p = { .fd = FD_SOCK, .events = POLLRDHUP };

	if (setresgid(0, 0, 0) < 0)
		child_fail(errno, NULL, "cannot become gid 0 in the user namespace");
	if (setgroups(0, NULL) < 0)
		child_fail(errno, NULL, "cannot drop the supplementary groups");
	if (setresuid(0, 0, 0) < 0)
		child_fail(errno, NULL, "cannot become uid 0 in the user namespace");
	/* Dies with the helper; it died already if the parent is gone (which closed its end
	 * of the socket before killing it). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(errno, NULL, "cannot set the parent death signal");
	if (poll(&p, 1, 0) != 0)
		_exit(EXIT_SETUP);
	/* Our memory is a copy of the caller's: no script may read it through ptrace or
	 * /proc/1/mem. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		child_fail(errno, NULL, "cannot make the sandbox's init undumpable");
	if (setsid() < 0)
		child_fail(errno, NULL, "cannot start a new session");
	/* The caller's session keyring (Kerberos tickets, say) is not the sandbox's. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
		child_fail(errno, NULL, "cannot give the sandbox a session keyring of its own");
	if (c->o->hostname && sethostname(c->o->hostname, strlen(c->o->hostname)) < 0)
		child_fail(errno, NULL, "cannot set the host name '%s'", c->o->hostname);
}

/* PID 1: the FUSE filesystems and /proc, detached: nothing can touch them yet. */
static void make_filesystems(struct child *c)
{
	static const char *const proc_opts[] = { "source", "proc", NULL };
	const struct sandbox_opts *o = c->o;

	for (size_t i = 0; i < o->n_mounts; i++) {
		char fd[16];
		const char *opts[] = { "source", "mkbootmedia", "fd", fd, "rootmode", "40000",
				       "user_id", "0", "group_id", "0", "allow_other", NULL,
				       "default_permissions", NULL, NULL };
		int mnt;

		if (o->mounts[i].kind != SANDBOX_FUSE)
			continue;
		snprintf(fd, sizeof(fd), "%d", c->fuse_fds[i]);
		mnt = fs_create("fuse", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
		if (mnt < 0)
			child_fail(-mnt, mnt == -ENOSYS ? HINT_NEW_MOUNT_API :
					 mnt == -ENODEV ? HINT_FUSE_MISSING : HINT_FUSE_USERNS,
				   "cannot create a FUSE filesystem for '%s'", o->mounts[i].path);
		c->mnt_fds[i] = mnt;
	}
	c->proc_fd = fs_create("proc", proc_opts,
			       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (c->proc_fd < 0)
		child_fail(-c->proc_fd, c->proc_fd == -EPERM ? HINT_PROC : NULL,
			   "cannot create the sandbox's /proc");
}

static void hand_fuse(struct child *c)
{
	const struct sandbox_opts *o = c->o;
	int fds[SANDBOX_MOUNTS_MAX];
	size_t n = 0;
	struct msg m = { .type = MSG_FUSE };

	for (size_t i = 0; i < o->n_mounts; i++)
		if (c->fuse_fds[i] >= 0)
			fds[n++] = c->fuse_fds[i];
	if (n == 0)
		return;
	m.value = (int)n;
	if (msg_send(FD_SOCK, &m, fds, n) < 0)
		_exit(EXIT_SETUP); /* the parent is gone */
	for (size_t i = 0; i < o->n_mounts; i++)
		if (c->fuse_fds[i] >= 0)
			close(c->fuse_fds[i]);
}

static void make_dev(struct child *c, int rootfd)
{
	static const char *const dev_opts[] = { "source", "tmpfs", "mode", "755", "size", "1m",
						NULL };
	static const char *const shm_opts[] = { "source", "tmpfs", "mode", "1777", NULL };
	static const char *const pts_opts[] = { "source", "devpts", "ptmxmode", "666", "mode",
						"620", "gid", "5", NULL };
	int dev, fd;

	dev = fs_create("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (dev < 0)
		child_fail(-dev, NULL, "cannot create the sandbox's /dev (tmpfs)");
	attach_in_target(rootfd, dev, "/dev", "a tmpfs");
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		fd = openat(dev, dev_nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			child_fail(errno, NULL, "cannot create '/dev/%s' in the sandbox",
				   dev_nodes[i]);
		close(fd);
		if (attach(c->dev_fds[i], dev, dev_nodes[i]) < 0)
			child_fail(errno, NULL, "cannot bind the host's '/dev/%s' in the sandbox",
				   dev_nodes[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i][1], dev, dev_links[i][0]) < 0)
			child_fail(errno, NULL, "cannot make the symlink '/dev/%s'",
				   dev_links[i][0]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		child_fail(errno, NULL, "cannot make the directories of the sandbox's /dev");
	fd = fs_create("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (fd < 0 || attach(fd, dev, "pts") < 0)
		child_fail(fd < 0 ? -fd : errno, NULL, "cannot mount a new devpts on '/dev/pts'");
	close(fd);
	fd = fs_create("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (fd < 0 || attach(fd, dev, "shm") < 0)
		child_fail(fd < 0 ? -fd : errno, NULL, "cannot mount a tmpfs on '/dev/shm'");
	close(fd);
	close(dev);
}

/* PID 1: an empty tmpfs over the target's directory path, with its mode; none when the
 * target has no such directory. */
static void attach_scratch(int rootfd, const char *path)
{
	char mode[8];
	const char *opts[] = { "source", "tmpfs", "mode", mode, NULL };
	struct stat st;
	int dir, fd;

	dir = openat2_in(rootfd, path);
	if (dir < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (dir < 0 || fstat(dir, &st) < 0)
		child_fail(errno, NULL, "cannot open '%s' in the target", path);
	snprintf(mode, sizeof(mode), "%o", (unsigned)(st.st_mode & 07777));
	fd = fs_create("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (fd < 0)
		child_fail(-fd, NULL, "cannot create a tmpfs for '%s'", path);
	if (attach(fd, dir, NULL) < 0)
		child_fail(errno, NULL, "cannot mount a tmpfs on '%s' in the target", path);
	close(fd);
	close(dir);
}

/* PID 1, root of the namespace: the target and the API filesystems in place, under an
 * outer root of their own. Returns the outer root. */
static int attach_all(struct child *c)
{
	static const char *const outer_opts[] = { "source", "tmpfs", "mode", "755", "size", "16k",
						  NULL };
	static const char *const run_opts[] = { "source", "tmpfs", "mode", "755", NULL };
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	const struct sandbox_opts *o = c->o;
	int rootfd = c->mnt_fds[0], outer, fd;

	outer = fs_create("tmpfs", outer_opts,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (outer < 0)
		child_fail(-outer, NULL, "cannot create the sandbox's outer root (tmpfs)");
	if (attach(outer, c->scratch_fd, NULL) < 0)
		child_fail(errno, NULL, "cannot mount the sandbox's root on '%s'", o->scratch_dir);
	if (mkdirat(outer, TARGET_DIR, 0755) < 0 || attach(rootfd, outer, TARGET_DIR) < 0)
		child_fail(errno, NULL, "cannot mount the target in the sandbox's root");
	if (mount_setattr(outer, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		child_fail(errno, NULL, "cannot make the sandbox's outer root read-only");
	for (size_t i = 1; i < o->n_mounts; i++)
		attach_in_target(rootfd, c->mnt_fds[i], o->mounts[i].path,
				 o->mounts[i].kind == SANDBOX_FUSE ? "its FUSE filesystem" :
								    o->mounts[i].source);
	attach_in_target(rootfd, c->proc_fd, "/proc", "a new proc");
	make_dev(c, rootfd);
	if (c->sys_fd >= 0) {
		fd = target_dir(rootfd, "/sys");
		if (fd < 0 || attach(c->sys_fd, fd, NULL) < 0)
			child_note("no /sys in the sandbox: cannot mount it on '/sys': %s",
				   strerrordesc_np(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
	}
	fd = fs_create("tmpfs", run_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (fd < 0)
		child_fail(-fd, NULL, "cannot create the sandbox's /run (tmpfs)");
	attach_in_target(rootfd, fd, "/run", "a tmpfs");
	for (const char *const *p = o->tmpfs; p && *p; p++)
		attach_scratch(rootfd, *p);
	return outer;
}

/* PID 1: the outer root becomes the root of the mount namespace and the host's tree leaves
 * it; unlike chroot(), no ".." leads out of it, whatever a process does. */
static void enter(int outer)
{
	int fd;

	if (fchdir(outer) < 0)
		child_fail(errno, NULL, "cannot enter the sandbox's root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(errno, NULL, "cannot make the sandbox's root the root (pivot_root)");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(errno, NULL, "cannot detach the host's tree from the sandbox");
	if (chdir("/") < 0)
		child_fail(errno, NULL, "cannot enter the sandbox's /");
	if (close_range(FD_FIRST_FREE, ~0U, 0) < 0)
		child_fail(errno, NULL, "cannot close the host's descriptors");
	/* The host's /dev/null no longer; the sandbox's own. */
	fd = open("/" TARGET_DIR "/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, FD_IN) < 0)
		child_fail(errno, NULL, "cannot open '/dev/null' in the sandbox");
	close(fd);
}

/* PID 1: runs the script, reaps whatever ends meanwhile, and returns its wait status. */
static int run_script(struct child *c)
{
	const struct sandbox_opts *o = c->o;
	char *argv[] = { (char *)"/bin/sh", c->shell_arg, (char *)SCRIPT_PATH, NULL };
	int status = 0;
	pid_t pid, p;

	if (!c->shell_arg[0]) {
		argv[1] = argv[2];
		argv[2] = NULL;
	}

	pid = fork();
	if (pid < 0)
		child_fail(errno, NULL, "cannot fork the script's shell");
	if (pid == 0) {
		/* The script is chrooted into the target, as debootstrap and mmdebstrap run
		 * it: its mounts are not PID 1's, which is how ischroot tells maintainer
		 * scripts not to touch the running system (sysvinit's postinst would wait 45 s
		 * for init to re-exec). A ".." out of the chroot reaches only the read-only
		 * outer root. */
		if (chroot("/" TARGET_DIR) < 0 || chdir("/") < 0) {
			dprintf(FD_ERR, "sandbox: cannot enter the target: %s\n",
				strerrordesc_np(errno));
			_exit(127);
		}
		umask(022);
		execve(argv[0], argv, o->env ? o->env : sandbox_default_env);
		dprintf(FD_ERR, "sandbox: cannot run '/bin/sh' in the target: %s\n",
			strerrordesc_np(errno));
		_exit(127);
	}
	for (;;) {
		p = waitpid(-1, &status, 0);
		if (p == pid)
			return status;
		if (p < 0 && errno != EINTR)
			child_fail(errno, NULL, "cannot wait for the script");
	}
}

static _Noreturn void init_main(struct child *c)
{
	int outer, status;

	if (!c->probe)
		take_host(c);
	become_root(c);
	make_filesystems(c);
	if (c->probe) {
		child_send(MSG_PROBED, 0);
		_exit(0);
	}
	hand_fuse(c);
	outer = attach_all(c);
	enter(outer);
	status = run_script(c);
	child_send(MSG_STATUS, status);
	/* The kernel kills what is left in the namespace before our parent sees us exit. */
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static _Noreturn void helper_main(struct child *c)
{
	const struct sandbox_opts *o = c->o;
	struct msg m;
	int status;
	pid_t pid;

	if (place_fds(c) < 0)
		_exit(EXIT_SETUP);
	reset_signals();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->parent)
		_exit(EXIT_SETUP);
	if (chdir("/") < 0)
		child_fail(errno, NULL, "cannot change to '/'");
	if (unshare(CLONE_NEWUSER) < 0)
		child_fail(errno, HINT_USERNS, "cannot create a user namespace (unshare)");
	for (size_t i = 0; i < o->n_mounts; i++) {
		if (o->mounts[i].kind != SANDBOX_FUSE)
			continue;
		c->fuse_fds[i] = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (c->fuse_fds[i] < 0)
			child_fail(errno, errno == ENOENT ? HINT_FUSE_MISSING : HINT_FUSE_ACCESS,
				   "cannot open '/dev/fuse'");
	}
	child_send(MSG_USERNS, 0);
	if (msg_recv(FD_SOCK, &m, 0, NULL, 0, NULL) <= 0 || m.type != MSG_GO)
		_exit(EXIT_SETUP); /* the parent knows why */
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) <
	    0)
		child_fail(errno, NULL, "cannot create the mount, PID, IPC, UTS and cgroup "
			   "namespaces (unshare)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(errno, NULL, "cannot make the sandbox's mounts private");
	pid = fork();
	if (pid < 0)
		child_fail(errno, NULL, "cannot fork the sandbox's init");
	if (pid == 0)
		init_main(c);
	(void)close_range(FD_SCRIPT, ~0U, 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(EXIT_SETUP);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* ---- id maps ---- */

int sandbox_subid_find(const char *file, const char *name, uint32_t id, uint32_t min_count,
		       uint32_t *ret_start, uint32_t *ret_count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	while (getline(&line, &cap, f) >= 0) {
		char *who = line, *start, *count, *end;
		unsigned long long s, n;

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		start = strchr(who, ':');
		count = start ? strchr(start + 1, ':') : NULL;
		if (!count)
			continue;
		*start++ = 0;
		*count++ = 0;
		if (!streq(who, name)) {
			char *e;
			unsigned long long v;

			errno = 0;
			v = strtoull(who, &e, 10);
			if (!who[0] || *e || errno || v != id)
				continue;
		}
		errno = 0;
		s = strtoull(start, &end, 10);
		if (!start[0] || *end || errno)
			return -EINVAL;
		n = strtoull(count, &end, 10);
		if (!count[0] || *end || errno || s + n > (1ull << 32))
			return -EINVAL;
		if (n < min_count) {
			r = -ERANGE;
			continue;
		}
		*ret_start = (uint32_t)s;
		*ret_count = (uint32_t)n;
		return 0;
	}
	return r;
}

struct id_line {
	uint32_t inside, outside, count;
};

struct idmap {
	bool privileged; /* write the maps ourselves */
	char user[64];
	struct id_line uid[2], gid[2];
	size_t n; /* lines in each */
	char *newuidmap, *newgidmap;
};

static void idmap_done(struct idmap *m)
{
	free(m->newuidmap);
	free(m->newgidmap);
}

/* A range from 0 would make root of the host one of the namespace's ids. */
static int refuse_host_root(uint32_t start, const char *who, const char *kind, const char *file,
			    char **ret_why)
{
	if (start > 0)
		return 0;
	*ret_why = xasprintf("the subordinate %s range of %s in %s starts at 0, the host's root: "
			     "give it one above the host's ids (e.g. 100000-165535)", kind, who,
			     file);
	return -EPERM;
}

/* The subordinate range of the caller in file (/etc/subuid or /etc/subgid), for a user. */
static int idmap_sub(struct idmap *m, const char *file, const char *kind, uint32_t id,
		     struct id_line *line, char **ret_why)
{
	uint32_t start, count;
	int r = sandbox_subid_find(file, m->user, id, SANDBOX_SUBID_MIN, &start, &count);

	if (r == -ENOENT)
		*ret_why = xasprintf("no subordinate %s range for %s in %s: add one with "
				     "`usermod --add-sub%ss 100000-165535 %s` (as root)",
				     kind, m->user, file, kind, m->user);
	else if (r == -ERANGE)
		*ret_why = xasprintf("the subordinate %s ranges of %s in %s are too small (%u ids "
				     "needed): add one with `usermod --add-sub%ss "
				     "100000-165535 %s` (as root)",
				     kind, m->user, file, SANDBOX_SUBID_MIN, kind, m->user);
	else if (r < 0)
		*ret_why = xasprintf("cannot read %s: %s", file, strerror(-r));
	if (r == 0)
		r = refuse_host_root(start, m->user, kind, file, ret_why);
	if (r < 0)
		return r;
	*line = (struct id_line){ 1, start, count };
	return 0;
}

/* Root's range in file, else SANDBOX_ROOT_ID_BASE. */
static int idmap_root(const char *file, const char *kind, struct id_line *line, char **ret_why)
{
	uint32_t start = SANDBOX_ROOT_ID_BASE, count = SANDBOX_ROOT_ID_COUNT;
	int r = sandbox_subid_find(file, "root", 0, SANDBOX_ID_COUNT, &start, &count);

	if (r == -ERANGE) {
		*ret_why = xasprintf("root's subordinate %s range in %s is too small (%u ids "
				     "needed): make it larger, or remove it to use %u-%u",
				     kind, file, SANDBOX_ID_COUNT, SANDBOX_ROOT_ID_BASE,
				     SANDBOX_ROOT_ID_BASE + SANDBOX_ROOT_ID_COUNT - 1);
		return r;
	}
	if (r < 0 && r != -ENOENT) {
		*ret_why = xasprintf("cannot read %s: %s", file, strerror(-r));
		return r;
	}
	r = refuse_host_root(start, "root", kind, file, ret_why);
	if (r < 0)
		return r;
	*line = (struct id_line){ 0, start, count };
	return 0;
}

static int idmap_get(struct idmap *m, char **ret_why)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	*m = (struct idmap){};
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(m->user, sizeof(m->user), "%s", pw.pw_name);
	else
		snprintf(m->user, sizeof(m->user), "%u", (unsigned)uid);
	if (uid == 0) {
		m->privileged = true;
		m->n = 1;
		r = idmap_root("/etc/subuid", "uid", &m->uid[0], ret_why);
		if (r == 0)
			r = idmap_root("/etc/subgid", "gid", &m->gid[0], ret_why);
		return r;
	}
	m->n = 2;
	m->uid[0] = (struct id_line){ 0, uid, 1 };
	m->gid[0] = (struct id_line){ 0, gid, 1 };
	r = idmap_sub(m, "/etc/subuid", "uid", uid, &m->uid[1], ret_why);
	if (r == 0)
		r = idmap_sub(m, "/etc/subgid", "gid", uid, &m->gid[1], ret_why);
	if (r < 0)
		return r;
	m->newuidmap = find_program("newuidmap");
	m->newgidmap = find_program("newgidmap");
	if (!m->newuidmap || !m->newgidmap) {
		*ret_why = xstrdup("newuidmap and newgidmap are not installed: install the uidmap "
				   "package (`apt-get install uidmap`)");
		return -ENOENT;
	}
	return 0;
}

static bool in_user_namespace(void)
{
	_cleanup_free_ char *map = NULL;
	unsigned a, b, n;

	if (read_file("/proc/self/uid_map", 4096, &map, NULL) < 0)
		return false;
	return sscanf(map, "%u %u %u", &a, &b, &n) != 3 || a != 0 || b != 0 || n != 4294967295u;
}

static int idmap_write(pid_t pid, const char *file, const struct id_line *l, size_t n,
		       char **ret_why)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	char text[128];
	int len = 0, err;

	for (size_t i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - (size_t)len, "%u %u %u\n", l[i].inside,
				l[i].outside, l[i].count);

	if (fd >= 0 && write(fd, text, (size_t)len) == len)
		return 0;
	err = errno;
	text[strcspn(text, "\n")] = 0;
	*ret_why = xasprintf("cannot write '%s' (%s): %s%s", path, text, strerror(err),
			     err == EPERM && in_user_namespace() ?
				     "; mkbootmedia runs as root of a user namespace (a "
				     "container?) that does not hold these ids: give root a range "
				     "of 65536 ids it holds in /etc/subuid and /etc/subgid" :
				     "");
	return -err;
}

static int idmap_run(const char *prog, pid_t pid, const struct id_line *l, size_t n,
		     const char *user, char **ret_why)
{
	char args[7][16];
	char *argv[9] = { (char *)prog };
	_cleanup_free_ char *out = NULL;
	int k = 0, r;

	snprintf(args[k], sizeof(args[k]), "%d", (int)pid);
	argv[1 + k] = args[k];
	k++;
	for (size_t i = 0; i < n && k + 3 <= 7; i++) {
		snprintf(args[k], sizeof(args[k]), "%u", l[i].inside);
		snprintf(args[k + 1], sizeof(args[k + 1]), "%u", l[i].outside);
		snprintf(args[k + 2], sizeof(args[k + 2]), "%u", l[i].count);
		for (int j = 0; j < 3; j++, k++)
			argv[1 + k] = args[k];
	}
	argv[1 + k] = NULL;
	r = spawn_capture(argv, &out);
	if (r == 0)
		return 0;
	if (out) {
		size_t len = strcspn(out, "\n");

		while (len > 0 && (out[len - 1] == '.' || out[len - 1] == ' '))
			len--;
		out[len] = 0;
	}
	*ret_why = xasprintf("%s failed%s%s: check the ranges of %s in /etc/subuid and "
			     "/etc/subgid", strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog,
			     out && out[0] ? ": " : "", out ? out : "", user);
	return -EPERM;
}

static int idmap_apply(const struct idmap *m, pid_t pid, char **ret_why)
{
	int r;

	if (m->privileged) {
		r = idmap_write(pid, "uid_map", m->uid, m->n, ret_why);
		if (r == 0)
			r = idmap_write(pid, "gid_map", m->gid, m->n, ret_why);
		return r;
	}
	r = idmap_run(m->newuidmap, pid, m->uid, m->n, m->user, ret_why);
	if (r == 0)
		r = idmap_run(m->newgidmap, pid, m->gid, m->n, m->user, ret_why);
	return r;
}

/* ---- the parent ---- */

static bool path_ok(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	if (streq(p, "/"))
		return true;
	for (const char *s = p; *s;) {
		size_t n;

		s++; /* the '/' */
		n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
	}
	return true;
}

/* Whether b is below a ("/boot" below "/"; "/boot/efi" below "/boot"). */
static bool path_below(const char *b, const char *a)
{
	size_t n = strlen(a);

	if (streq(a, "/"))
		return !streq(b, "/");
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int opts_check(const struct sandbox_opts *o, char **ret_why)
{
	size_t n_fuse = 0;
	struct stat st;

	if (o->n_mounts == 0 || !o->mounts || !streq_ptr(o->mounts[0].path, "/")) {
		*ret_why = xstrdup("the sandbox's first mount must be the target's root '/'");
		return -EINVAL;
	}
	if (o->n_mounts > SANDBOX_MOUNTS_MAX) {
		*ret_why = xasprintf("too many mounts in the sandbox (%zu, at most %d)",
				     o->n_mounts, SANDBOX_MOUNTS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->n_mounts; i++) {
		const struct sandbox_mount *m = &o->mounts[i];

		if (!path_ok(m->path) || (i > 0 && streq(m->path, "/"))) {
			*ret_why = xasprintf("'%s' is not a mount point for the sandbox (an "
					     "absolute path without '.', '..' or empty parts)",
					     m->path ? m->path : "(null)");
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			const char *before = o->mounts[j].path;

			if (streq(before, m->path) || path_below(before, m->path)) {
				*ret_why = xasprintf("the sandbox's mount '%s' comes after '%s': "
						     "mounts must be in order, each once",
						     m->path, before);
				return -EINVAL;
			}
		}
		if (m->kind == SANDBOX_FUSE)
			n_fuse++;
		else if (m->kind != SANDBOX_BIND || !m->source) {
			*ret_why = xasprintf("the sandbox's mount '%s' has no source", m->path);
			return -EINVAL;
		}
	}
	if (n_fuse && !o->serve) {
		*ret_why = xstrdup("the sandbox has FUSE mounts but no server");
		return -EINVAL;
	}
	if (!o->script) {
		*ret_why = xstrdup("the sandbox has no script to run");
		return -EINVAL;
	}
	if (!o->scratch_dir || stat(o->scratch_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*ret_why = xasprintf("the sandbox's scratch directory '%s' is not a directory",
				     o->scratch_dir ? o->scratch_dir : "(null)");
		return -ENOTDIR;
	}
	if (o->out_fd < 0 || fcntl(o->out_fd, F_GETFD) < 0) {
		*ret_why = xasprintf("the sandbox's output descriptor %d is not open", o->out_fd);
		return -EBADF;
	}
	return 0;
}

static int script_memfd(const char *script, char **ret_why)
{
	_cleanup_close_ int fd =
		memfd_create("mkbootmedia-script", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t n = strlen(script);
	int r;

	if (fd < 0) {
		*ret_why = xasprintf("cannot create a memfd for the script: %s", strerror(errno));
		return -errno;
	}
	r = pwrite_all(fd, SCRIPT_PREFIX, strlen(SCRIPT_PREFIX), 0);
	if (r == 0)
		r = pwrite_all(fd, script, n, strlen(SCRIPT_PREFIX));
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
						     F_SEAL_WRITE) < 0)
		r = -errno;
	if (r < 0) {
		*ret_why = xasprintf("cannot write the script to a memfd: %s", strerror(-r));
		return r;
	}
	return TAKE_FD(fd);
}

/* The argument of a first line "#!/bin/sh ARG" (one, as the kernel reads it): the script
 * is read by sh, for which that line is a comment, but its "-e" must hold. "" without one;
 * -EINVAL for another interpreter, which would not read the script as we run it. */
static int shebang_arg(const char *script, char ret_arg[static 64], char **ret_why)
{
	const char *p = script + 2, *interp, *arg, *end;
	size_t n;

	ret_arg[0] = 0;
	if (!startswith(script, "#!"))
		return 0;
	p += strspn(p, " \t");
	interp = p;
	p += strcspn(p, " \t\n");
	n = (size_t)(p - interp);
	if (!(n == 7 && strncmp(interp, "/bin/sh", 7) == 0)) {
		*ret_why = xasprintf("the sandbox runs /bin/sh scripts, not '%.*s' ones", (int)n,
				     interp);
		return -EINVAL;
	}
	arg = p + strspn(p, " \t");
	end = arg + strcspn(arg, "\n");
	while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - arg >= 64) {
		*ret_why = xasprintf("the script's \"#!/bin/sh\" line has too long an argument");
		return -EINVAL;
	}
	memcpy(ret_arg, arg, (size_t)(end - arg));
	ret_arg[end - arg] = 0;
	return 0;
}

static char *msg_why(const struct msg *m)
{
	return xasprintf("%s%s%s%s%s", m->text, m->err ? ": " : "", m->err ? strerror(m->err) : "",
			 m->hint[0] ? "; " : "", m->hint);
}

struct run {
	const struct sandbox_opts *o;
	int sock;
	pid_t pid;
	int pidfd;
	bool reaped;
	int helper_status;
	char *why; /* the first error */
	int err;   /* its errno */
	bool have_status;
	int status;
};

/* The next message of the child but notes (logged); -errno with r->why on an error
 * message or the end. */
static int expect(struct run *r, int type, int *fds, size_t max_fds, size_t *n_fds)
{
	struct msg m;

	for (;;) {
		int k = msg_recv(r->sock, &m, 0, fds, max_fds, n_fds);

		if (k < 0) {
			r->why = xasprintf("cannot read from the sandbox: %s", strerror(-k));
			return k;
		}
		if (k == 0) {
			r->why = xstrdup("the sandbox ended before it was set up");
			return -ECHILD;
		}
		if (m.type == MSG_NOTE) {
			log_debug("sandbox: %s", m.text);
			continue;
		}
		if (m.type == MSG_ERROR) {
			r->why = msg_why(&m);
			return m.err ? -m.err : -EIO;
		}
		if (m.type != type) {
			r->why = xasprintf("the sandbox sent message %d, not %d", m.type, type);
			return -EBADMSG;
		}
		return m.value;
	}
}

static void reap(struct run *r)
{
	if (r->pid <= 0 || r->reaped)
		return;
	while (waitpid(r->pid, &r->helper_status, 0) < 0)
		if (errno != EINTR) {
			r->helper_status = -1;
			break;
		}
	r->reaped = true;
}

/* After the helper ended: what the children said last. */
static void drain(struct run *r)
{
	struct msg m;

	while (msg_recv(r->sock, &m, MSG_DONTWAIT, NULL, 0, NULL) > 0) {
		if (m.type == MSG_NOTE)
			log_debug("sandbox: %s", m.text);
		else if (m.type == MSG_ERROR && !r->why) {
			r->why = msg_why(&m);
			r->err = m.err;
		}
		else if (m.type == MSG_STATUS) {
			r->have_status = true;
			r->status = m.value;
		}
	}
}

static int serve_fuse(struct run *r, size_t n_fuse)
{
	const struct sandbox_opts *o = r->o;
	_cleanup_free_ int *fds = xmalloc(sizeof(int) * o->n_mounts);
	int got[SANDBOX_MOUNTS_MAX];
	size_t n = 0, k = 0;
	int ret;

	ret = expect(r, MSG_FUSE, got, ARRAY_SIZE(got), &n);
	if (ret >= 0 && n != n_fuse) {
		r->why = xasprintf("the sandbox sent %zu FUSE descriptors, not %zu", n, n_fuse);
		ret = -EBADMSG;
	}
	if (ret < 0) {
		for (size_t i = 0; i < n; i++)
			close(got[i]);
		return ret;
	}
	for (size_t i = 0; i < o->n_mounts; i++)
		fds[i] = o->mounts[i].kind == SANDBOX_FUSE ? got[k++] : -1;
	ret = o->serve(o->userdata, fds, o->n_mounts, r->pidfd);
	for (size_t i = 0; i < n; i++)
		close(got[i]);
	if (ret < 0)
		return ret; /* serve() said why */
	/* The connections also end when the sandbox's last process exits and its mount
	 * namespace goes: the server can see that a moment before the pidfd says so. */
	if (poll(&(struct pollfd){ .fd = r->pidfd, .events = POLLIN }, 1, 10000) == 0) {
		r->why = xstrdup("the FUSE server returned before the sandbox ended");
		return -EPROTO;
	}
	return 0;
}

static void child_init(struct child *c, const struct sandbox_opts *o, bool probe)
{
	*c = (struct child){ .o = o, .probe = probe, .parent = getpid(), .sys_fd = -1,
			     .proc_fd = -1, .scratch_fd = -1 };
	c->fuse_fds = xmalloc(sizeof(int) * o->n_mounts);
	c->mnt_fds = xmalloc(sizeof(int) * o->n_mounts);
	for (size_t i = 0; i < o->n_mounts; i++)
		c->fuse_fds[i] = c->mnt_fds[i] = -1;
	for (size_t i = 0; i < ARRAY_SIZE(c->dev_fds); i++)
		c->dev_fds[i] = -1;
}

/* A sandbox from start to end (probe: up to the filesystems). 0 with the script's status,
 * or -errno with *ret_why set (NULL when serve() failed: it said why). */
static int sandbox_do(const struct sandbox_opts *o, bool probe, int *ret_status, char **ret_why)
{
	struct run r = { .o = o, .sock = -1, .pidfd = -1 };
	_cleanup_close_ int null_fd = -1, script_fd = -1;
	char shell_arg[64] = "";
	struct idmap map;
	struct child c;
	size_t n_fuse = 0;
	int sv[2], ret;

	ret = idmap_get(&map, &r.why);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < o->n_mounts; i++)
		n_fuse += o->mounts[i].kind == SANDBOX_FUSE;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0) {
		ret = -errno;
		r.why = xasprintf("cannot open '/dev/null': %s", strerror(errno));
		goto out;
	}
	if (!probe) {
		ret = shebang_arg(o->script, shell_arg, &r.why);
		if (ret < 0)
			goto out;
		script_fd = ret = script_memfd(o->script, &r.why);
		if (ret < 0)
			goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		r.why = xasprintf("cannot create a socket pair: %s", strerror(errno));
		goto out;
	}
	child_init(&c, o, probe);
	memcpy(c.shell_arg, shell_arg, sizeof(shell_arg));
	c.null_fd = null_fd;
	c.out_fd = probe ? -1 : o->out_fd;
	c.script_fd = script_fd;
	c.sock = sv[1];
	r.pid = fork();
	if (r.pid == 0)
		helper_main(&c);
	ret = r.pid < 0 ? -errno : 0;
	free(c.fuse_fds);
	free(c.mnt_fds);
	close(sv[1]);
	r.sock = sv[0];
	if (r.pid < 0) {
		r.why = xasprintf("cannot fork: %s", strerror(-ret));
		goto out;
	}
	r.pidfd = pidfd_open(r.pid, 0);
	if (r.pidfd < 0) {
		ret = -errno;
		r.why = xasprintf("cannot open a pidfd: %s (Linux 5.3 or later is needed)",
				  strerror(errno));
		goto out;
	}

	ret = expect(&r, MSG_USERNS, NULL, 0, NULL);
	if (ret < 0)
		goto out;
	ret = idmap_apply(&map, r.pid, &r.why);
	if (ret < 0)
		goto out;
	ret = msg_send(r.sock, &(struct msg){ .type = MSG_GO }, NULL, 0);
	if (ret < 0) {
		r.why = xasprintf("cannot write to the sandbox: %s", strerror(-ret));
		goto out;
	}
	if (probe)
		ret = expect(&r, MSG_PROBED, NULL, 0, NULL);
	else if (n_fuse)
		ret = serve_fuse(&r, n_fuse);
	if (ret < 0)
		goto out;
	reap(&r);
	drain(&r);
	if (r.why) {
		ret = r.err > 0 ? -r.err : -EIO;
	} else if (!probe && !r.have_status) {
		ret = -EIO;
		if (r.helper_status >= 0 && WIFSIGNALED(r.helper_status))
			r.why = xasprintf("the sandbox was killed by signal %d before the script "
					  "ended", WTERMSIG(r.helper_status));
		else
			r.why = xasprintf("the sandbox ended without the script's status "
					  "(helper status %d)", r.helper_status);
	} else {
		ret = 0;
	}
out:
	if (ret < 0 && r.pid > 0 && !r.reaped) {
		/* Closing our end first: PID 1 checks it once it can die with the helper. */
		close(TAKE_FD(r.sock));
		if (r.pidfd >= 0)
			(void)pidfd_send_signal(r.pidfd, SIGKILL, NULL, 0);
		else
			(void)kill(r.pid, SIGKILL);
	}
	reap(&r);
	if (r.sock >= 0)
		close(r.sock);
	if (r.pidfd >= 0)
		close(r.pidfd);
	idmap_done(&map);
	if (ret < 0) {
		*ret_why = r.why;
		return ret;
	}
	free(r.why);
	if (ret_status)
		*ret_status = r.status;
	return 0;
}

int sandbox_run(const struct sandbox_opts *o, int *ret_status)
{
	_cleanup_free_ char *why = NULL;
	int status = 0, r;

	r = opts_check(o, &why);
	if (r == 0)
		r = sandbox_do(o, false, &status, &why);
	if (r < 0) {
		if (why)
			log_error("%s", why);
		return r;
	}
	*ret_status = status;
	return 0;
}

static bool sysctl_is(const char *path, const char *value)
{
	_cleanup_free_ char *s = NULL;

	if (read_file(path, 64, &s, NULL) < 0)
		return false;
	s[strcspn(s, "\n")] = 0;
	return streq(s, value);
}

int sandbox_probe(char **ret_why)
{
	static const struct sandbox_mount root = { .path = "/", .kind = SANDBOX_FUSE };
	const struct sandbox_opts o = { .mounts = &root, .n_mounts = 1, .out_fd = -1 };
	struct idmap map;
	char *why = NULL;
	struct stat st;
	int r;

	if (sysctl_is("/proc/sys/user/max_user_namespaces", "0")) {
		*ret_why = xstrdup("user namespaces are disabled (user.max_user_namespaces = 0): "
				   "enable them with `sysctl -w user.max_user_namespaces=10000` as "
				   "root");
		return -EPERM;
	}
	if (getuid() != 0 && sysctl_is("/proc/sys/kernel/unprivileged_userns_clone", "0")) {
		*ret_why = xstrdup("user namespaces are disabled for users "
				   "(kernel.unprivileged_userns_clone = 0): enable them with "
				   "`sysctl -w kernel.unprivileged_userns_clone=1` as root");
		return -EPERM;
	}
	if (getuid() != 0 &&
	    sysctl_is("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1")) {
		*ret_why = xstrdup("AppArmor keeps users from using user namespaces "
				   "(kernel.apparmor_restrict_unprivileged_userns = 1): allow them "
				   "with `sysctl -w "
				   "kernel.apparmor_restrict_unprivileged_userns=0` as root, or an "
				   "AppArmor profile for mkbootmedia");
		return -EPERM;
	}
	r = idmap_get(&map, &why);
	idmap_done(&map);
	if (r < 0) {
		*ret_why = why;
		return r;
	}
	if (stat("/dev/fuse", &st) < 0 || !S_ISCHR(st.st_mode)) {
		*ret_why = xstrdup("'/dev/fuse' does not exist: " HINT_FUSE_MISSING);
		return -ENOENT;
	}
	if (getuid() != 0 && access("/dev/fuse", R_OK | W_OK) < 0) {
		*ret_why = xasprintf("'/dev/fuse' (mode %04o) is not usable by you: %s",
				     (unsigned)(st.st_mode & 07777), HINT_FUSE_ACCESS);
		return -EACCES;
	}
	r = sandbox_do(&o, true, NULL, &why);
	if (r < 0) {
		*ret_why = why ? why : xstrdup("the sandbox cannot be set up");
		return r;
	}
	return 0;
}
