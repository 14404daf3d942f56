/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The skeleton of our busybox initramfs images, shared by the boot initrd and the configure
 * VM. */
#pragma once

#include "cpio.h"

/* Adds dirs (0755, tmp 01777), a static busybox at bin/busybox with bin/sh linked to it,
 * init (0755), dev/console and dev/null. */
int initramfs_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		       size_t busybox_size, const char *init, size_t init_size);

#include <stdio.h>

#include "build.h"

/* The kernel modules root: needs in the initramfs (dm_verity; overlay, the overlay
 * partition's filesystem), for kmod_resolve(..., required = true); NULL when none. */
char **initramfs_root_modules(const struct build *b);
/* Appends root:'s settings for templates/init to its /etc/initrd.conf (shell assignments):
 * ROOT_RO, OVERLAY (tmpfs or the partition's LABEL=/UUID=), OVERLAY_FSTYPE, OVERLAY_OPTS,
 * OVERLAY_SIZE, RESET, VERITY_NAME, VERITY_HASHDEV. Nothing without a root: section. */
void initramfs_root_conf(const struct build *b, FILE *f);
