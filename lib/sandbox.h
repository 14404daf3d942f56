/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sandbox in which the target system's maintainer scripts and the recipe's `run:` steps
 * execute: mmdebstrap's unshare mode, with the target's filesystems served over FUSE by the
 * calling process. Nothing a script does can write to the host outside the target.
 *
 * A sandbox is new user, mount, PID, IPC, UTS and cgroup namespaces; the network namespace
 * is the host's, so `run:` steps can reach the mirror. Inside:
 *
 * - ids: uid and gid 0 of the namespace and 1..65535 (at least) are mapped to host ids
 *   that are never the host's root:
 *     as a user: 0 -> the caller's uid (and gid), 1.. -> the caller's range in /etc/subuid
 *     (/etc/subgid), at least SANDBOX_SUBID_MIN ids, set with newuidmap/newgidmap (package
 *     uidmap), as mmdebstrap does;
 *     as root: 0.. -> root's range in /etc/subuid (/etc/subgid) when there is one (at
 *     least SANDBOX_ID_COUNT ids), else SANDBOX_ROOT_ID_BASE.. (SANDBOX_ROOT_ID_COUNT
 *     ids), written to /proc/PID/uid_map and gid_map (setgroups stays allowed);
 *     a range starting at 0, the host's root, is refused;
 *   the script runs as uid 0, gid 0, no supplementary groups, full capabilities of the
 *   namespace only. As a user, uid 0 of the sandbox is that user for the kernel: what the
 *   user reaches without a path (keys granted to the user, say) the scripts reach too;
 * - mounts, all in the sandbox's private mount namespace (the host sees none of them): the
 *   caller's mounts, nosuid and nodev (the target root at scratch_dir, then the others
 *   under it), a new /proc, /dev (a 1 MiB tmpfs with null, zero, full, random, urandom and
 *   tty from the host, the fd, stdin, stdout, stderr and ptmx symlinks, a new devpts at
 *   /dev/pts, a tmpfs at /dev/shm), the host's /sys read-only (left out when the kernel
 *   refuses it), a tmpfs at /run. Missing mount points are created in the target (as its
 *   root). Mount points are resolved inside the target: a symlink in the target never
 *   leads to a host path. The target is mounted at /target of an outer root (a tiny
 *   read-only tmpfs) into which the sandbox pivots, detaching the old root: no host path
 *   is reachable, and no host file descriptor is open in it;
 * - processes: PID 1 is a reaper of ours, rooted in the outer root; it runs `/bin/sh` on
 *   the script as its child, chrooted into /target as debootstrap and mmdebstrap run
 *   maintainer scripts (so ischroot, which compares its mounts with PID 1's, says
 *   "chroot", and the scripts leave the running system alone), with stdin on /dev/null, in a new session (no controlling terminal) with a session
 *   keyring of its own, umask 022, every signal at its default; it waits for it, reaps
 *   orphans, and ends when the script does: the kernel then kills whatever the script
 *   left running. The sandbox dies with the caller's thread (PR_SET_PDEATHSIG) and is
 *   killed on every error path.
 *
 * The script reaches the shell through a sealed memfd, not the command line (a script may
 * hold a password hash; the host's ps shows every process): the shell runs
 * `/bin/sh /proc/self/fd/3`, and the script is prefixed by `exec 3<&-; ` on its first line,
 * so the descriptor does not leak into what it starts and line numbers stay right ($0 is
 * "/proc/self/fd/3"). PID 1 is not dumpable: its memory, a copy of the caller's, cannot be
 * read from the sandbox.
 *
 * FUSE mounts: the sandbox's PID 1 opens /dev/fuse and creates each FUSE filesystem as a
 * detached mount (fsopen/fsmount: type "fuse", source "mkbootmedia", nosuid, nodev,
 * rootmode=40000, user_id=0, group_id=0, allow_other, default_permissions). The /dev/fuse
 * descriptors are passed to the caller (SCM_RIGHTS), whose serve() runs before anything
 * touches the mounts, since every access blocks until the server answers; only then are
 * the mounts attached, so a mount under a FUSE root is served too.
 *
 * Errors are logged here, once, naming the step that failed and what to do.
 *
 * Needs Linux 5.12 or later (fsopen/fsmount/move_mount/open_tree, openat2, pidfd_open,
 * close_range, mount_setattr); Debian 12 has 6.1. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The namespace ids a sandbox needs: Debian's system users and groups go up to 65534
 * (nobody, nogroup), so 0..65535. */
#define SANDBOX_ID_COUNT 65536u
/* A user's /etc/subuid range maps 1..: it must hold at least this many ids. */
#define SANDBOX_SUBID_MIN (SANDBOX_ID_COUNT - 1)
/* Run as root without an /etc/subuid (/etc/subgid) entry for root: namespace ids 0..65535
 * are host ids 0x70000000.. (1879048192..1879113727), a range no distribution gives out. */
#define SANDBOX_ROOT_ID_BASE 0x70000000u
#define SANDBOX_ROOT_ID_COUNT SANDBOX_ID_COUNT

/* The most mounts a sandbox takes. */
#define SANDBOX_MOUNTS_MAX 64

enum sandbox_mount_kind {
	SANDBOX_FUSE, /* a FUSE filesystem served by opts.serve() */
	SANDBOX_BIND, /* a host directory, bound recursively (for tests, and as a fallback) */
};

struct sandbox_mount {
	/* The mount point inside the target: absolute, no "." or ".." parts, no trailing or
	 * double '/'. The first is "/"; a mount comes after the one it is under ("/boot"
	 * before "/boot/efi"; sorted paths are). */
	const char *path;
	enum sandbox_mount_kind kind;
	const char *source; /* SANDBOX_BIND: the host directory; SANDBOX_FUSE: unused */
};

struct sandbox_opts {
	const struct sandbox_mount *mounts;
	size_t n_mounts; /* 1 (the root) to SANDBOX_MOUNTS_MAX */
	/* A /bin/sh script, run by the target's /bin/sh as uid 0 of the namespace, with the
	 * target's / as its working directory. A first line "#!/bin/sh -e" is honoured (its
	 * one argument is passed to sh); another interpreter is refused. */
	const char *script;
	/* Its environment (NULL-terminated); NULL: sandbox_default_env. Nothing of the
	 * caller's environment is passed on otherwise. */
	char *const *env;
	/* The script's stdout and stderr: a file, or a pipe read while sandbox_run() runs
	 * (another thread, or the serve() loop: sandbox_run() does not read it, and a full
	 * pipe stops the script). Not a terminal: a terminal is the host's, whatever the
	 * namespaces. */
	int out_fd;
	/* An existing empty host directory on which the target is mounted, inside the
	 * sandbox's mount namespace only (the host's view of it does not change). */
	const char *scratch_dir;
	const char *hostname; /* set in the sandbox's UTS namespace; NULL: the host's */
	/* Directories of the target (absolute, NULL-terminated list; NULL: none) that get an
	 * empty tmpfs of their own, with the directory's mode, for the script's scratch
	 * files: what the script writes there never reaches the target. A path the target
	 * lacks is skipped. */
	const char *const *tmpfs;
	/* Called once every FUSE filesystem exists, before any of them is touched, with the
	 * /dev/fuse descriptors in mounts order (n = n_mounts, -1 for SANDBOX_BIND). It must
	 * answer their requests until child_fd (a pidfd) becomes readable, i.e. the sandbox
	 * has ended, then return 0; or return -errno at any time (the sandbox is then
	 * killed; serve() logs why, sandbox_run() adds nothing). The descriptors stay
	 * sandbox_run()'s: it closes them after serve() returns. Required when a mount is
	 * SANDBOX_FUSE, else never called. */
	int (*serve)(void *userdata, const int *fuse_fds, size_t n, int child_fd);
	void *userdata;
};

/* PATH=/usr/sbin:/usr/bin:/sbin:/bin, HOME=/root, LC_ALL=C.UTF-8, LANG=C.UTF-8,
 * DEBIAN_FRONTEND=noninteractive, DEBCONF_NONINTERACTIVE_SEEN=true, TERM=dumb. */
extern char *const sandbox_default_env[];

/* Runs o->script in a new sandbox (see above) and waits for it and everything it started
 * (when it returns, no process of the sandbox is left). 0 with *ret_status = the script's
 * wait status (WIFEXITED/WEXITSTATUS apply; 127: no /bin/sh in the target), or -errno with
 * one message logged: bad options, setup failed, serve() failed (its own message), or the
 * sandbox died without a status. Call it from a thread that lives until it returns: the
 * sandbox is killed when that thread ends (PR_SET_PDEATHSIG). */
int sandbox_run(const struct sandbox_opts *o, int *ret_status);

/* Whether sandbox_run() can work here: user namespaces allowed, an id range to map (see
 * above; newuidmap and newgidmap installed), /dev/fuse usable, a FUSE filesystem and a
 * /proc creatable in a user namespace. It forks a short-lived child that goes through the
 * first steps of a sandbox. 0, or -errno with *ret_why (free it) a one-line, actionable
 * explanation; nothing is logged (but debug lines). */
int sandbox_probe(char **ret_why);

/* The first range of at least min_count ids for the user called name or numbered id in an
 * /etc/subuid-style file (lines "NAME-OR-ID:START:COUNT"). 0; -ENOENT when the user has none
 * (or there is no file); -ERANGE when all of them are smaller; -EINVAL for a malformed
 * range of the user's in the way. */
int sandbox_subid_find(const char *file, const char *name, uint32_t id, uint32_t min_count,
		       uint32_t *ret_start, uint32_t *ret_count);
