/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The last partition grown to the end of the disk (partgrow.h). */
#include "partgrow.h"

#include <parted/parted.h>

#include "log.h"
#include "util.h"

static char grow_error[512];

static PedExceptionOption grow_handler(PedException *ex)
{
	const char *msg = ex->message ? ex->message : "(no message)";
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.' || msg[n - 1] == ' '))
		n--;
	/* A GPT written for a smaller disk: move its backup to the end, use all the space. */
	if ((ex->options & PED_EXCEPTION_FIX) &&
	    (strstr(msg, "backup GPT") || strstr(msg, "space available"))) {
		log_debug("libparted: %.*s: fixing", (int)n, msg);
		return PED_EXCEPTION_FIX;
	}
	if (ex->type == PED_EXCEPTION_INFORMATION || ex->type == PED_EXCEPTION_WARNING) {
		log_debug("libparted: %.*s", (int)n, msg);
		if (ex->options & PED_EXCEPTION_IGNORE)
			return PED_EXCEPTION_IGNORE;
		if (ex->options & PED_EXCEPTION_OK)
			return PED_EXCEPTION_OK;
	}
	if (!grow_error[0])
		snprintf(grow_error, sizeof(grow_error), "%.*s", (int)n, msg);
	return ex->options & PED_EXCEPTION_CANCEL ? PED_EXCEPTION_CANCEL : PED_EXCEPTION_UNHANDLED;
}

static int grow(const char *path, struct partgrow *ret)
{
	PedDevice *dev = ped_device_get(path);
	PedDisk *disk = NULL;
	PedPartition *last = NULL;
	PedConstraint *any = NULL;
	PedSector end, mib;
	int r = 0;

	if (!dev)
		return log_fail("--grow: libparted cannot open '%s': %s", path,
				grow_error[0] ? grow_error : "unknown error");
	disk = ped_disk_new(dev);
	if (!disk) {
		r = log_fail("--grow: no partition table libparted reads on '%s'%s%s", path,
			     grow_error[0] ? ": " : "", grow_error);
		goto out;
	}
	for (PedPartition *p = ped_disk_next_partition(disk, NULL); p;
	     p = ped_disk_next_partition(disk, p)) {
		if (!ped_partition_is_active(p) || (p->type & PED_PARTITION_EXTENDED))
			continue;
		if (!last || p->geom.end > last->geom.end)
			last = p;
	}
	if (!last) {
		r = log_fail("--grow: '%s' has no partition to grow", path);
		goto out;
	}
	if (last->type & PED_PARTITION_LOGICAL) {
		r = log_fail("--grow: the last partition of '%s' is a logical one: not grown",
			     path);
		goto out;
	}
	mib = (1 << 20) / dev->sector_size;
	end = streq(disk->type->name, "gpt") ? dev->length - 34 : dev->length - 1;
	end = (end + 1) / mib * mib - 1;
	ret->number = (unsigned)last->num;
	ret->offset = (uint64_t)last->geom.start * dev->sector_size;
	ret->old_size = (uint64_t)last->geom.length * dev->sector_size;
	if (end > last->geom.end) {
		any = ped_constraint_any(dev);
		if (!any || !ped_disk_set_partition_geom(disk, last, any, last->geom.start, end)) {
			r = log_fail("--grow: cannot grow partition %d of '%s': %s", last->num,
				     path, grow_error[0] ? grow_error : "libparted refused");
			goto out;
		}
	}
	/* Also when the partition did not grow: a GPT's backup moves to the end. */
	if (!ped_disk_commit_to_dev(disk)) {
		r = log_fail("--grow: cannot write the partition table of '%s': %s", path,
			     grow_error[0] ? grow_error : "libparted failed");
		goto out;
	}
	ret->new_size = (uint64_t)last->geom.length * dev->sector_size;
out:
	if (any)
		ped_constraint_destroy(any);
	if (disk)
		ped_disk_destroy(disk);
	ped_device_destroy(dev);
	return r;
}

int partgrow_last(const char *path, struct partgrow *ret)
{
	PedExceptionHandler *old = ped_exception_get_handler();
	struct partgrow g = { 0 };
	int r;

	grow_error[0] = 0;
	ped_exception_set_handler(grow_handler);
	r = grow(path, &g);
	ped_exception_set_handler(old);
	if (r >= 0)
		*ret = g;
	return r;
}
