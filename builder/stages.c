/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stage table, in run order. No stage registers itself. */
#include "stage.h"

extern const struct stage stage_image, stage_shred, stage_partition, stage_encrypt, stage_mkfs,
	stage_packages, stage_configure, stage_fstab, stage_files, stage_run, stage_initrd,
	stage_root, stage_bootloader, stage_identity, stage_network;

const struct stage *const stages[] = {
	&stage_image,      /* the sparse image file */
	&stage_partition,  /* the partition table (libparted) */
	&stage_shred,      /* random or zero fill where asked (AES-CTR keystream) */
	&stage_encrypt,    /* LUKS headers (libcryptsetup) and the volume keys */
	&stage_mkfs,       /* filesystems (libext2fs), mounted into the target tree */
	&stage_packages,   /* a Debian root from verified .debs (libcurl, gpgv, libarchive) */
	&stage_configure,  /* maintainer scripts (userns + FUSE, QEMU or first boot), system: */
	&stage_fstab,      /* /etc/fstab and the flash-friendly symlinks */
	&stage_network,    /* systemd-networkd's wired network, sshd's keys and passwords */
	&stage_files,      /* files: and overlays:, so they can override what packages made */
	&stage_run,        /* the recipe's run: steps, inside the configured target */
	&stage_identity,   /* no machine-id, random seed or SSH host keys in the image */
	&stage_initrd,     /* the kernel, and an initramfs made from the target's parts */
	&stage_root,       /* root: the overlay's mount point, reset command; dm-verity tree */
	&stage_bootloader, /* GRUB: grub.cfg; MBR and core.img; the ESP */
};
const size_t n_stages = ARRAY_SIZE(stages);
