// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/blockdev against a made-up sysfs tree and mountinfo: a USB stick with
 * a partition, a removable card reader slot, a fixed SATA disk with a mounted partition,
 * a disk held by device-mapper, a partition looked up directly. */
#include "blockdev.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "helpers.h"

static char *sys, *mountinfo;

static void put(const char *rel, const char *content)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", sys, rel);
	_cleanup_free_ char *dir = xstrdup(path);
	FILE *f;

	*strrchr(dir, '/') = 0;
	run("mkdir -p '%s'", dir);
	f = fopen(path, "w");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

/* A disk at devices/PATH/block/NAME with MAJ:MIN, and /sys/dev/block/MAJ:MIN -> it. */
static void disk(const char *path, const char *name, const char *devno, const char *removable,
		 const char *size)
{
	_cleanup_free_ char *d = xasprintf("devices/%s/block/%s", path, name);
	_cleanup_free_ char *f = NULL;

	free(f), f = xasprintf("%s/dev", d), put(f, devno);
	free(f), f = xasprintf("%s/removable", d), put(f, removable);
	free(f), f = xasprintf("%s/size", d), put(f, size);
	run("mkdir -p '%s/%s/holders' '%s/dev/block' && ln -sfn '../../%s' '%s/dev/block/%s'", sys,
	    d, sys, d, sys, devno);
}

static void part(const char *path, const char *disk_name, const char *name, const char *devno)
{
	_cleanup_free_ char *d = xasprintf("devices/%s/block/%s/%s", path, disk_name, name);
	_cleanup_free_ char *f = NULL;

	free(f), f = xasprintf("%s/dev", d), put(f, devno);
	free(f), f = xasprintf("%s/partition", d), put(f, "1\n");
	free(f), f = xasprintf("%s/size", d), put(f, "2048\n");
	run("mkdir -p '%s/%s/holders' && ln -sfn '../../%s' '%s/dev/block/%s'", sys, d, d, sys,
	    devno);
}

static void setup(void)
{
	FILE *f;

	sys = xasprintf("%s/sys", tmpdir);
	mountinfo = xasprintf("%s/mountinfo", tmpdir);
	/* A USB stick (sdb): not flagged removable (many are not), but on USB. */
	disk("pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", "sdb", "8:16",
	     "0\n", "31277232\n");
	put("devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/vendor",
	    "SanDisk \n");
	put("devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/model",
	    "Cruzer Blade    \n");
	run("ln -sfn ../.. '%s/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/"
	    "target6:0:0/6:0:0:0/block/sdb/device'",
	    sys);
	part("pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", "sdb", "sdb1",
	     "8:17");
	/* A card reader slot (mmcblk0): removable. */
	disk("platform/mmc0/mmc_host/mmc0/mmc0:0001", "mmcblk0", "179:0", "1\n", "62521344\n");
	/* A fixed SATA disk (sda) whose partition sda2 is mounted at /. */
	disk("pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0", "sda", "8:0", "0\n",
	     "1000215216\n");
	part("pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0", "sda", "sda1", "8:1");
	part("pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0", "sda", "sda2", "8:2");
	/* A removable disk (sdc) held by dm-0 through its partition, not mounted. */
	disk("pci0000:00/0000:00:14.0/usb3/3-1/host7/target7:0:0/7:0:0:0", "sdc", "8:32", "1\n",
	     "2048000\n");
	part("pci0000:00/0000:00:14.0/usb3/3-1/host7/target7:0:0/7:0:0:0", "sdc", "sdc1", "8:33");
	run("mkdir -p '%s/devices/pci0000:00/0000:00:14.0/usb3/3-1/host7/target7:0:0/7:0:0:0/"
	    "block/sdc/sdc1/holders/dm-0'",
	    sys);
	f = fopen(mountinfo, "w");
	if (f) {
		fputs("22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n"
		      "23 22 0:21 / /proc rw shared:12 - proc proc rw\n",
		      f);
		fclose(f);
	}
}

static void test_usb_stick(void)
{
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(8, 16), &d) == 0);
	CHECK_STREQ(d->name, "sdb");
	CHECK(!d->disk);
	CHECK(!d->removable && d->usb);
	CHECK(d->size == UINT64_C(31277232) * 512);
	CHECK_STREQ(d->vendor, "SanDisk");
	CHECK_STREQ(d->model, "Cruzer Blade");
	CHECK(d->partitions && streq(d->partitions[0], "sdb1") && !d->partitions[1]);
	CHECK(!d->in_use);
}

static void test_partition(void)
{
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(8, 17), &d) == 0);
	CHECK_STREQ(d->name, "sdb1");
	CHECK_STREQ(d->disk, "sdb");
	CHECK(d->usb); /* the disk's transport */
}

static void test_removable_card(void)
{
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(179, 0), &d) == 0);
	CHECK(d->removable && !d->usb && !d->disk);
	CHECK(!d->in_use);
}

static void test_fixed_mounted(void)
{
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(8, 0), &d) == 0);
	CHECK(!d->removable && !d->usb);
	CHECK_STREQ(d->in_use, "sda2 is mounted at '/'");
	CHECK(d->partitions && strv_length(d->partitions) == 2);
}

static void test_held(void)
{
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(8, 32), &d) == 0);
	CHECK(d->removable && d->usb);
	CHECK_STREQ(d->in_use, "sdc1 is held by dm-0");
}

static void test_missing(void)
{
	struct blockdev *d = NULL;

	CHECK(blockdev_get(sys, mountinfo, makedev(9, 9), &d) == -ENODEV);
	CHECK(!d);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-blockdev.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	setup();
	RUN_TEST(test_usb_stick);
	RUN_TEST(test_partition);
	RUN_TEST(test_removable_card);
	RUN_TEST(test_fixed_mounted);
	RUN_TEST(test_held);
	RUN_TEST(test_missing);
	run("rm -rf %s", tmpdir);
	free(sys);
	free(mountinfo);
	CHECK_EXIT();
}
