/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running things inside the target as root, shared by the stages "configure" (maintainer
 * scripts, users, services) and "run" (the recipe's steps). How is packages.configure:
 *
 *   userns      the target's filesystems served over FUSE (lib/e2fuse) to a user namespace
 *               (lib/sandbox), the script run there as the namespace's root: native speed
 *   vm          the image's own kernel booted in QEMU with a build-time initramfs that never
 *               lands in the image (core/target-vm.c)
 *   first-boot  the script is stored in the image and run by its initramfs on the first
 *               boot, which then removes it (core/target-firstboot.c)
 *   none        nothing runs: the packages stay unpacked
 *   auto        userns when this host can, else vm, else an error suggesting first-boot */
#pragma once

#include "build.h"

/* Resolves CONFIGURE_AUTO into b->configure (once); logs why userns was not chosen. */
int target_resolve_mode(struct build *b);

/* target_script()'s flags. */
enum {
	/* /tmp and /var/tmp are the script's scratch space, in memory: what it leaves there
	 * never reaches the image (userns; the other modes write through to the image). */
	TARGET_SCRATCH_TMP = 1 << 0,
};

/* Runs `script` (/bin/sh, `set -e` is the script's own business) as root inside the target
 * the way b->configure says; `what` names it in messages ("configure", "run step 'x'").
 * A non-zero exit fails with the script's last output lines and its exit status. */
int target_script(struct build *b, const char *what, const char *script, unsigned flags);

/* The modes' implementations, same contract as target_script(). */
int target_run_userns(struct build *b, const char *what, const char *script, unsigned flags);
int target_run_vm(struct build *b, const char *what, const char *script);
/* A partition configure: vm cannot mount in QEMU (an encrypted one), or NULL. */
const struct partition *target_vm_unsupported(const struct build *b);
/* Appends `script` to the image's first-boot hook (created on the first call). */
int target_run_first_boot(struct build *b, const char *what, const char *script);

/* What the scripts leave that differs at every build (timestamps, inode numbers) or only
 * makes the image bigger, removed as mmdebstrap removes it: ldconfig's aux-cache, dpkg's,
 * update-alternatives' and apt's logs, apt's package caches and downloaded lists. */
#define TARGET_SCRIPT_CLEANUP \
	"rm -f /var/cache/ldconfig/aux-cache /var/log/dpkg.log /var/log/alternatives.log \\\n" \
	"  /var/log/apt/history.log /var/log/apt/term.log /var/log/apt/eipp.log.xz \\\n" \
	"  /var/cache/apt/pkgcache.bin /var/cache/apt/srcpkgcache.bin \\\n" \
	"  /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb\n" \
	"find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete 2>/dev/null || true\n"

/* The environment every script starts with: a shell fragment (exports). */
char *target_script_prologue(const struct build *b);

/* How the modes report a script's output, the same way: */
#define TARGET_TAIL_LINES 40
/* one line it printed, as it comes: "==> " lines at info level, the rest at debug; */
void target_log_line(const char *what, const char *line);
/* its failure: the last lines it printed (oldest first, at most TARGET_TAIL_LINES) at error
 * level, then the exit status (`status` as waitpid() gives it). Returns -EINVAL. */
int target_report_failure(const char *what, char *const *tail, size_t n, int status);

/* A here-document delimiter "PREFIX_N" that is no line of `text`. */
char *target_heredoc_delimiter(const char *text, const char *prefix);
