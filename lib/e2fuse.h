/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A FUSE server for a filesystem open through libext2fs, so that programs (Debian maintainer
 * scripts: dpkg --configure, useradd, ldconfig, depmod...) can run on the image's tree
 * without root and without a loop device.
 *
 * The mount itself is not made here: a process in a user and mount namespace opens /dev/fuse,
 * mounts it (type "fuse", options "fd=N,rootmode=40000,user_id=0,group_id=0,allow_other,
 * default_permissions") and hands the descriptor over; this side answers the kernel's
 * requests with the libfuse low-level API. The kernel checks permissions
 * (default_permissions); uids and gids arrive as the namespace sees them and are stored as
 * given. Inode numbers are the filesystem's own (FUSE's root id 1 is inode 2).
 *
 * We are the filesystem's only writer while it is mounted, so the kernel is told to cache
 * what it reads for a day (entries, attributes, negative lookups, file pages, symlinks,
 * directory listings). Writes are not cached by the kernel (no writeback cache): write(2)
 * reports a full filesystem itself. Timestamps are the real time, clamped to
 * opts->clamp_time when asked; reading does not change atime (noatime). fsync and flush are
 * not implemented, which the kernel takes as success: the data reaches the image when the
 * caller closes the filesystem.
 * The kernel is asked not to send open and release requests (two round trips for each file a
 * program opens; kernels without that feature send them and are answered as before).
 * An inode whose last name goes is freed by e2fuse_free() (in inode order), or earlier when
 * the filesystem is full and the kernel has forgotten it (it holds the inode of every file
 * open or mapped); with open requests, then or at the last release of a file open on it (a
 * running binary replaced by rename). Never as soon as the kernel forgets it, which comes when
 * the kernel likes (a concurrent path walk holding the name delays it): which inodes and
 * blocks the next files get must not depend on timing. What is freed leaves nothing behind: a removed
 * name's bytes are zeroed in its directory block, a freed inode is zeroed but for its dtime
 * (clamped like every time), freed blocks are zeroed (lib/ext2's ext2_scrub_frees()).
 *
 * libext2fs is not thread-safe: everything runs in the thread that calls e2fuse_serve(),
 * which must not touch the filesystem otherwise until it returns. Not supported: fallocate
 * (EOPNOTSUPP: dpkg goes on without it, posix_fallocate() writes zeros instead),
 * RENAME_EXCHANGE and RENAME_WHITEOUT (EINVAL), file locks (the kernel keeps them locally),
 * ioctls, POSIX ACLs beyond storing them (an access ACL sets the mode, as it must; the kernel
 * does not enforce them, nor are default ACLs inherited). */
#pragma once

#include <ext2fs/ext2fs.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

struct e2fuse;

struct e2fuse_opts {
	bool clamp;        /* reproducible builds: no timestamp later than clamp_time is stored */
	time_t clamp_time;
};

/* A server for fs (open read-write; its bitmaps are loaded here, and the blocks it frees
 * from now on are zeroed: ext2_scrub_frees()) on fuse_fd, an open
 * /dev/fuse already mounted with fd=N. fs stays the caller's, and so does fuse_fd: the server
 * works on a duplicate, which e2fuse_free() closes, so the caller closes its own whenever it
 * likes (the duplicate shares its file status flags: both become non-blocking). o may be
 * NULL (no clamping). */
int e2fuse_new(ext2_filsys fs, int fuse_fd, const struct e2fuse_opts *o, struct e2fuse **ret);

/* Answers the requests of all n servers, in this thread, until stop_fd (a pidfd of the child
 * that mounted, or a pipe; -1 for none) becomes readable, or every connection has ended
 * (unmounted or aborted). Once stop_fd is readable, the requests already queued (the
 * releases and forgets of exiting processes) are still answered. Returns 0, or -errno with a
 * message logged. May be called again. */
int e2fuse_serve(struct e2fuse *const *servers, size_t n, int stop_fd);

/* Frees the inodes that lost their last name while in use (their blocks go back to the
 * filesystem), closes the server's duplicate of fuse_fd and frees the server. Does not close
 * fs: call it before ext2fs_close(). Accepts NULL. */
void e2fuse_free(struct e2fuse *s);
static inline void e2fuse_freep(struct e2fuse **s)
{
	e2fuse_free(*s);
}
#define _cleanup_e2fuse_ _cleanup_(e2fuse_freep)
