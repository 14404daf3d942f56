/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What sysfs and mountinfo say about a block device, for `flash` to decide whether it may
 * write to it: whole disk or partition, removable or on USB, its size, vendor and model,
 * whether it or one of its partitions is mounted or held (dm-crypt, LVM, md). The sysfs
 * root and the mountinfo file are parameters, so that tests can give made-up ones. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct blockdev {
	char *name;        /* "sdb", "loop0", "mmcblk0" */
	char *disk;        /* for a partition: its disk's name; NULL for a whole disk */
	bool removable;    /* sysfs removable is 1 */
	bool usb;          /* attached through USB (a "usb" directory on the sysfs path) */
	char *vendor;      /* device/vendor, trimmed; NULL when sysfs has none */
	char *model;       /* device/model, trimmed; NULL when sysfs has none */
	uint64_t size;     /* bytes (sysfs size, in 512-byte sectors) */
	char **partitions; /* names of the disk's partitions */
	char *in_use;      /* why it is in use: "loop0p1 is mounted at /mnt", "loop0p1 is held by
			   * dm-0"; NULL when nothing says so */
};

void blockdev_free(struct blockdev *d); /* accepts NULL */
static inline void blockdev_freep(struct blockdev **d)
{
	blockdev_free(*d);
}

/* Looks up the block device with number `dev` under sysfs_root ("/sys") and checks
 * mountinfo ("/proc/self/mountinfo") for it and its partitions. -ENODEV when sysfs has no
 * such device. Nothing is logged. */
int blockdev_get(const char *sysfs_root, const char *mountinfo, dev_t dev, struct blockdev **ret);
