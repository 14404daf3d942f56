/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block devices from sysfs (blockdev.h). */
#include "blockdev.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

void blockdev_free(struct blockdev *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->disk);
	free(d->vendor);
	free(d->model);
	strv_free(d->partitions);
	free(d->in_use);
	free(d);
}

/* The first line of dir/name, trimmed; NULL when absent or empty. */
static char *read_attr(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name), *data = NULL;
	size_t len = 0, a = 0;

	if (read_file(path, 4096, &data, &len) < 0)
		return NULL;
	len = strcspn(data, "\n");
	while (len && (data[len - 1] == ' ' || data[len - 1] == '\t'))
		len--;
	while (a < len && (data[a] == ' ' || data[a] == '\t'))
		a++;
	return len > a ? xstrndup(data + a, len - a) : NULL;
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);

	return access(path, F_OK) == 0;
}

/* The first entry of dir/holders, or NULL. */
static char *first_holder(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/holders", dir);
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			return xstrdup(e->d_name);
	return NULL;
}

/* "MAJ:MIN" of dir/dev. */
static bool read_devno(const char *dir, unsigned *ret_major, unsigned *ret_minor)
{
	_cleanup_free_ char *v = read_attr(dir, "dev");

	return v && sscanf(v, "%u:%u", ret_major, ret_minor) == 2;
}

/* Where a device (MAJ:MIN) is mounted according to mountinfo (a new string), or NULL. */
static char *mounted_at(const char *mountinfo, unsigned major, unsigned minor)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	char line[8192];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned ma, mi;
		char point[4096];

		/* 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, point) == 3 && ma == major &&
		    mi == minor) {
			/* mountinfo escapes blanks as \040: shown as they are. */
			return xstrdup(point);
		}
	}
	return NULL;
}

/* Why the device in sysfs directory `dir` (named `name`) is in use, or NULL. */
static char *why_in_use(const char *dir, const char *name, const char *mountinfo)
{
	unsigned ma, mi;
	_cleanup_free_ char *holder = first_holder(dir);

	if (read_devno(dir, &ma, &mi)) {
		_cleanup_free_ char *at = mounted_at(mountinfo, ma, mi);

		if (at)
			return xasprintf("%s is mounted at '%s'", name, at);
	}
	if (holder)
		return xasprintf("%s is held by %s", name, holder);
	return NULL;
}

int blockdev_get(const char *sysfs_root, const char *mountinfo, dev_t dev, struct blockdev **ret)
{
	_cleanup_free_ char *link =
		xasprintf("%s/dev/block/%u:%u", sysfs_root, major(dev), minor(dev));
	_cleanup_free_ char *dir = NULL, *size = NULL;
	_cleanup_(blockdev_freep) struct blockdev *d = NULL;
	const char *diskdir;
	_cleanup_free_ char *parent = NULL;
	char *slash;

	dir = realpath(link, NULL);
	if (!dir)
		return errno == ENOENT ? -ENODEV : -errno;
	d = xcalloc(1, sizeof(*d));
	slash = strrchr(dir, '/');
	d->name = xstrdup(slash ? slash + 1 : dir);
	diskdir = dir;
	if (exists(dir, "partition")) {
		parent = xstrndup(dir, (size_t)(slash - dir));
		slash = strrchr(parent, '/');
		d->disk = xstrdup(slash ? slash + 1 : parent);
		diskdir = parent;
	}
	{
		_cleanup_free_ char *rem = read_attr(diskdir, "removable");

		d->removable = rem && streq(rem, "1");
	}
	/* USB storage: the device's path runs through a USB host controller's tree. */
	d->usb = strstr(diskdir, "/usb") != NULL;
	{
		_cleanup_free_ char *dev_dir = xasprintf("%s/device", diskdir);

		d->vendor = read_attr(dev_dir, "vendor");
		d->model = read_attr(dev_dir, "model");
		if (!d->model)
			d->model = read_attr(dev_dir, "name"); /* mmc */
	}
	size = read_attr(dir, "size");
	if (size) {
		char *end;
		unsigned long long v = strtoull(size, &end, 10);

		if (!*end && v < UINT64_MAX / 512)
			d->size = v * 512;
	}
	/* The device itself, then each partition of a whole disk. */
	d->in_use = why_in_use(dir, d->name, mountinfo);
	if (!d->disk) {
		_cleanup_(closedirp) DIR *dd = opendir(dir);
		struct dirent *e;
		char **names = NULL;

		while (dd && (e = readdir(dd))) {
			_cleanup_free_ char *sub = NULL;

			if (e->d_name[0] == '.')
				continue;
			sub = xasprintf("%s/%s", dir, e->d_name);
			if (exists(sub, "partition"))
				names = strv_append(names, e->d_name);
		}
		strv_sort(names);
		d->partitions = names;
		for (size_t i = 0; names && names[i] && !d->in_use; i++) {
			_cleanup_free_ char *sub = xasprintf("%s/%s", dir, names[i]);

			d->in_use = why_in_use(sub, names[i], mountinfo);
		}
	}
	*ret = TAKE_PTR(d);
	return 0;
}
