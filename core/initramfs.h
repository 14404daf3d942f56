/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The skeleton of our busybox initramfs images, shared by the boot initrd and the configure
 * VM. */
#pragma once

#include "cpio.h"

/* Adds dirs (0755, tmp 01777), a static busybox at bin/busybox with bin/sh linked to it,
 * init (0755), dev/console and dev/null. */
int initramfs_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		       size_t busybox_size, const char *init, size_t init_size);
