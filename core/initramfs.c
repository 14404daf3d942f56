/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The skeleton every busybox initramfs of ours starts with: the boot initrd (stages/initrd.c)
 * and the configure VM's (core/target-vm.c). */
#include "initramfs.h"
#include "fs.h"
#include "initrdgen.h"

int initramfs_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		       size_t busybox_size, const char *init, size_t init_size)
{
	return initrd_add_base(c, dirs, n_dirs, busybox, busybox_size, init, init_size);
}

char **initramfs_root_modules(const struct build *b)
{
	char **l = NULL;

	if (b->root_verity) {
		l = strv_append(l, "dm_mod");
		l = strv_append(l, "dm_verity");
	}
	if (b->root_overlay == ROOT_OVERLAY_NONE)
		return l;
	l = strv_append(l, "overlay");
	if (b->root_overlay_part)
		l = strv_append(l, fs_driver_of(b->root_overlay_part->fs.type)->kernel_module);
	return l;
}

void initramfs_root_conf(const struct build *b, FILE *f)
{
	const struct partition *ov = b->root_overlay_part;

	if (!b->root_node)
		return;
	fprintf(f, "ROOT_RO=%d\n", b->root_read_only);
	if (b->root_overlay == ROOT_OVERLAY_TMPFS)
		fprintf(f, "OVERLAY=tmpfs\nOVERLAY_SIZE='%s'\n",
			b->root_overlay_size ? b->root_overlay_size : "");
	if (ov) {
		char u[37];

		/* The partition stage limits labels and mkfs options to words without quotes
		 * or spaces. */
		if (ov->fs.label && ov->fs.label[0])
			fprintf(f, "OVERLAY='LABEL=%s'\n", ov->fs.label);
		else
			fprintf(f, "OVERLAY='UUID=%s'\n", build_fs_uuid(ov, u));
		fprintf(f, "OVERLAY_FSTYPE='%s'\nOVERLAY_OPTS='", fs_type_to_string(ov->fs.type));
		for (size_t i = 0; ov->fs.options && ov->fs.options[i]; i++)
			fprintf(f, "%s%s", i ? "," : "", ov->fs.options[i]);
		if (!ov->fs.options || !ov->fs.options[0])
			fputs("noatime", f);
		fputs("'\n", f);
	}
	fprintf(f, "RESET=%d\n", b->root_reset);
	/* The hash partition: partition n of the disk holding the root's label (it has no
	 * filesystem to be found by); the root hash comes from the command line. */
	if (b->root_verity)
		fprintf(f, "VERITY_NAME=%s\nVERITY_HASHDEV='PART=%s:%u'\n", ROOT_VERITY_NAME,
			build_part_at((struct build *)b, "/")->fs.label,
			b->root_verity_part->number);
}
