/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The initramfs generator, shared by the build (stages/initrd.c, over the image's tree) and
 * the target's /usr/sbin/mkbootmedia-initrd (target/main.c, over a directory): the same
 * description and the same target files give the same bytes.
 *
 * A description says what goes in (and which kernel the menu prefers); it is text, one item a
 * line, written into the target as /etc/mkbootmedia/initrd.conf so the target program makes
 * the initrd of a later kernel, and GRUB's menu, as the build made the first ones:
 *
 *   compression zstd            none, gzip, zstd or xz
 *   mtime 1700000000            every entry's mtime, 0..2^32-1
 *   busybox PATH [PATH...]      the first of these target files that exists; static
 *   init PATH                   the target file that becomes /init
 *   default-kernel VERSION      optional: GRUB's menu (lib/grubmenu.h) boots this kernel
 *                               by default while it is installed (kernel.version)
 *   modules optional|required NAME...   one kmod_resolve() call, in the order given
 *   program PACKAGE PATH [PATH...]      the first that exists, with its libraries
 *   file DEST MODE|- SOURCE     SOURCE of the target at DEST; '-': SOURCE's mode
 *   conf LINE                   one line of /etc/initrd.conf (for templates/init)
 *
 * Fields are separated by one space; in paths a byte <= ' ', 0x7f or '\' is written as
 * \xNN. '#' lines and empty lines are comments. What else goes in: the directories of the
 * skeleton, bin/sh -> busybox, dev/console, dev/null, the modules' modules.dep and
 * etc/modules.load (their load order).
 *
 * Errors are logged here, once. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cpio.h"
#include "kmod.h"

#define INITRD_DESC_MAX (1u << 20) /* bytes of a description */

/* How the generator reads the target: kmod's read and list, and lstat's mode. Paths are
 * absolute in the target. */
struct initrd_io {
	struct kmod_io kmod;
	/* st_mode of path itself (a final symlink not followed); -ENOENT when absent. */
	int (*mode)(void *userdata, const char *path, mode_t *ret_mode);
};

struct initrd_modules {
	char **names;
	bool required;
};

struct initrd_program {
	char *package;
	char **paths;
};

struct initrd_item {
	char *dest;   /* absolute, in the initramfs */
	char *source; /* absolute, in the target */
	mode_t mode;  /* 07777 bits, or (mode_t)-1: the source's (0644 if not a regular file) */
};

struct initrd_desc {
	enum cpio_compression compression;
	int64_t mtime;
	char **busybox;
	char *init;
	char *default_kernel; /* NULL: the newest kernel is the menu's default */
	struct initrd_modules *modules;
	size_t n_modules;
	struct initrd_program *programs;
	size_t n_programs;
	struct initrd_item *items;
	size_t n_items;
	char *conf; /* the text of /etc/initrd.conf */
};

struct initrd_desc *initrd_desc_new(void);
struct initrd_desc *initrd_desc_free(struct initrd_desc *d); /* accepts NULL, returns NULL */
static inline void initrd_desc_freep(struct initrd_desc **d)
{
	initrd_desc_free(*d);
}
/* Appends to the lists (copies everything). names, paths: NULL-terminated. */
void initrd_desc_add_modules(struct initrd_desc *d, char *const *names, bool required);
void initrd_desc_add_program(struct initrd_desc *d, const char *package, char *const *paths);
void initrd_desc_add_item(struct initrd_desc *d, const char *dest, const char *source, mode_t mode);

/* The description as text (the format above). */
char *initrd_desc_format(const struct initrd_desc *d);
/* Parses text; `where` names it in messages ("/etc/mkbootmedia/initrd.conf:3: ..."). */
int initrd_desc_parse(const char *text, const char *where, struct initrd_desc **ret);

/* The skeleton every busybox initramfs of ours starts with (this one's and the configure VM's,
 * core/target-vm.c): dirs (0755, tmp 01777), a static busybox at bin/busybox with bin/sh
 * linked to it, init (0755), dev/console and dev/null. */
int initrd_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		    size_t busybox_size, const char *init, size_t init_size);

/* Writes the initramfs of kernel `version` (its modules from /lib/modules/VERSION) to fd,
 * as cpio_new() does. When logging is at info level, says how many modules went in. */
int initrd_make(const struct initrd_desc *d, const struct initrd_io *io, const char *version,
		int fd);
