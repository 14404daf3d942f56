/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stage table, in run order. Later stages (packages, encrypt, initrd, bootloader) slot
 * in here; no stage registers itself. */
#include "stage.h"

extern const struct stage stage_image, stage_partition, stage_mkfs, stage_packages,
	stage_fstab, stage_files;

const struct stage *const stages[] = {
	&stage_image,	  /* the sparse image file */
	&stage_partition, /* the partition table (libparted) */
	&stage_mkfs,	  /* filesystems (libext2fs), mounted into the target tree */
	&stage_packages,  /* a Debian root from verified .debs (libcurl, gpgv, libarchive) */
	&stage_fstab,	  /* /etc/fstab and the flash-friendly symlinks */
	&stage_files,	  /* files: and overlays:, last so they can override anything */
};
const size_t n_stages = ARRAY_SIZE(stages);
