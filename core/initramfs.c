/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The skeleton every busybox initramfs of ours starts with: the boot initrd (stages/initrd.c)
 * and the configure VM's (core/target-vm.c). */
#include "initramfs.h"

int initramfs_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		       size_t busybox_size, const char *init, size_t init_size)
{
	int r;

	for (size_t i = 0; i < n_dirs; i++)
		if ((r = cpio_add_dir(c, dirs[i], streq(dirs[i], "tmp") ? 01777 : 0755)) < 0)
			return r;
	if ((r = cpio_add_file(c, "bin/busybox", 0755, busybox, busybox_size)) < 0 ||
	    (r = cpio_add_symlink(c, "bin/sh", "busybox")) < 0 ||
	    (r = cpio_add_file(c, "init", 0755, init, init_size)) < 0 ||
	    (r = cpio_add_node(c, "dev/console", 'c', 0600, 5, 1)) < 0 ||
	    (r = cpio_add_node(c, "dev/null", 'c', 0666, 1, 3)) < 0)
		return r;
	return 0;
}
