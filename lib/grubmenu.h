/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GRUB's menu from a template and the kernels in /boot, made the same way by the build
 * (stages/bootloader.c) and by the target's kernel hooks (/usr/sbin/mkbootmedia-initrd
 * --update-menu): for the same kernels the two menus are the same bytes.
 *
 * The template (/etc/mkbootmedia/grub.cfg.in in the target) is grub.cfg's text cut into
 * chunks by marker lines:
 *
 *   #@# COMMENT      left out of grub.cfg
 *   #@kernel         what follows, up to the next marker, is one kernel's entries, with
 *                    @VERSION@ for the kernel's version
 *   #@other          what follows belongs to no kernel (Memtest86+)
 *
 * Text before the first marker is the header (terminal, default, timeout). grub.cfg is the
 * header, then every chunk in order with @VERSION@ the first kernel of the list: the newest
 * (Debian version order, dpkg's), or the recipe's kernel.version while it is installed;
 * then for each other kernel, newest first, "submenu 'Linux VERSION' { ... }" holding its
 * kernel chunks (indented by a tab): after the top-level entries, so a default's index still
 * counts the first kernel's entries. */
#pragma once

#include "kmod.h"
#include "util.h"

#define GRUBMENU_TEMPLATE_MAX (1u << 20)

/* The kernels in dir ("/boot") that can boot: a vmlinuz-VERSION with an initrd.img-VERSION
 * beside it, VERSION only of [A-Za-z0-9.+~_-]. Newest first, except `pin` (kernel.version;
 * NULL: none), which comes first while it is among them. An empty list when none. */
int grubmenu_kernels(const struct kmod_io *io, const char *dir, const char *pin, char ***ret);

/* grub.cfg from the template for kernels (newest first, at least one). -EINVAL, logged, when
 * the template has no #@kernel chunk. */
int grubmenu_expand(const char *template, char *const *kernels, char **ret);
