/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "mkfs": a filesystem in every partition that asks for one, created by its type's
 * driver (core/fs) at the partition's offset in the image, then mounted into the target tree
 * at its mount point so later stages write paths, not partitions.
 *
 * partitions:
 *   - filesystem:
 *       type: ext2           ext2, ext3, ext4 (libext2fs), vfat (mtools) or none
 *       label: BOOT          at most 16 bytes (vfat: 11)
 *       uuid: ...            default derived from the seed; vfat: the volume id, 8 hex
 *                            digits (1234ABCD or 1234-ABCD)
 *       mount: /boot         where it is mounted in the target (and in fstab)
 *       options: [noatime]   mount options: a list or "a,b,c"
 *       block-size: 4096     ext*: 1024, 2048 or 4096; default by size as mke2fs does
 *       inode-size: 256      ext*: 128, 256, 512 or 1024
 *       inode-ratio: 16384   ext*: bytes per inode
 *       inodes: 65536        ext*: inode count (overrides inode-ratio)
 *       reserved: 5          ext*: percent of blocks reserved for root (0-50)
 *       fat-size: 32         vfat: 12, 16 or 32; default by size (32 from 64 MiB, 16 from
 *                            4 MiB, else 12)
 *
 * Every timestamp is the build time (SOURCE_DATE_EPOCH when set); the UUID and the directory
 * hash seed come from the recipe's seed, so the same recipe and seed give the same bytes. */
#include <uuid/uuid.h>

#include "fs.h"
#include "log.h"
#include "stage.h"

static int parse_mount(const struct node *n, char **ret)
{
	const char *s;
	_cleanup_free_ char *m = NULL;
	size_t l;
	int r = node_get_string(n, &s);

	if (r < 0)
		return r;
	if (s[0] != '/' || strstr(s, "/../") || endswith(s, "/..") || strstr(s, "//") ||
	    strpbrk(s, " \t\n\\"))
		return node_error(n, "'%s' is not a mount point (an absolute path such as /boot, "
				  "without spaces or '..')", s);
	m = xstrdup(s);
	l = strlen(m);
	while (l > 1 && m[l - 1] == '/')
		m[--l] = 0;
	*ret = TAKE_PTR(m);
	return 0;
}

static int parse_fs(struct partition *p, const struct node *n)
{
	struct fs_spec *f = &p->fs;
	struct node *v;
	int r, t;
	uint64_t u;

	f->node = n;
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	if (!(v = node_get(n, "type")))
		return node_error(n, "missing 'type' (ext2, ext3, ext4, vfat or none)");
	if ((r = node_get_enum(v, fs_type_names, &t)) < 0)
		return r;
	f->type = (enum fs_type)t;
	f->reserved_percent = 5;
	if ((v = node_get(n, "label"))) {
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (f->type == FS_VFAT && strlen(s) > 11)
			return node_error(v, "'%s' is longer than the 11 bytes a FAT label holds", s);
		if (strlen(s) > 16)
			return node_error(v, "'%s' is longer than the 16 bytes an ext2 label holds", s);
		if (strpbrk(s, " \t\n/\\"))
			return node_error(v, "'%s' has spaces or slashes: fstab and the initramfs "
					  "find the filesystem by it", s);
		f->label = xstrdup(s);
	}
	if ((v = node_get(n, "uuid")) && f->type == FS_VFAT) {
		const char *s;
		char *end;
		unsigned long id;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		errno = 0;
		id = strlen(s) == 9 && s[4] == '-' ? strtoul(s, &end, 16) << 16 |
							     strtoul(s + 5, &end, 16)
						   : strtoul(s, &end, 16);
		if (errno || *end || !(strlen(s) == 8 || (strlen(s) == 9 && s[4] == '-')) ||
		    strspn(s, "0123456789abcdefABCDEF-") != strlen(s) || id > UINT32_MAX)
			return node_error(v, "'%s' is not a FAT volume id (8 hex digits, such as "
					  "1234ABCD or 1234-ABCD)", s);
		f->uuid[0] = id >> 24, f->uuid[1] = id >> 16, f->uuid[2] = id >> 8, f->uuid[3] = id;
		f->uuid_set = true;
	} else if (v) {
		if ((r = node_get_uuid(v, "filesystem UUID", f->uuid)) < 0)
			return r;
		f->uuid_set = true;
	}
	if ((v = node_get(n, "fat-size"))) {
		if (f->type != FS_VFAT)
			return node_error(v, "fat-size is for vfat filesystems");
		if ((r = node_get_u64(v, 12, 32, &u)) < 0)
			return r;
		if (u != 12 && u != 16 && u != 32)
			return node_error(v, "'%s' is not a FAT size (12, 16 or 32)", v->scalar);
		f->fat_bits = (unsigned)u;
	}
	if (f->type == FS_VFAT)
		for (const char *const *k = (const char *const[]){ "block-size", "inode-size",
								   "inode-ratio", "inodes",
								   "reserved", NULL };
		     *k; k++)
			if ((v = node_get(n, *k)))
				return node_error(v, "%s is for ext2, ext3 and ext4", *k);
	if ((v = node_get(n, "mount")) && (r = parse_mount(v, &f->mount)) < 0)
		return r;
	if ((v = node_get(n, "options")) && (r = node_get_strv(v, &f->options)) < 0)
		return r;
	if ((v = node_get(n, "block-size"))) {
		if ((r = node_get_u64(v, 1024, 4096, &u)) < 0)
			return r;
		if (u != 1024 && u != 2048 && u != 4096)
			return node_error(v, "'%s' is not a block size (1024, 2048 or 4096)",
					  v->scalar);
		f->block_size = (unsigned)u;
	}
	if ((v = node_get(n, "inode-size"))) {
		if ((r = node_get_u64(v, 128, 1024, &u)) < 0)
			return r;
		if (u & (u - 1))
			return node_error(v, "'%s' is not an inode size (128, 256, 512 or 1024)",
					  v->scalar);
		f->inode_size = (unsigned)u;
	}
	if ((v = node_get(n, "inode-ratio"))) {
		if ((r = node_get_u64(v, 1024, 64 << 20, &u)) < 0)
			return r;
		f->inode_ratio = (unsigned)u;
	}
	if ((v = node_get(n, "inodes")) && (r = node_get_u64(v, 16, UINT32_MAX, &f->inodes)) < 0)
		return r;
	if ((v = node_get(n, "reserved"))) {
		if ((r = node_get_u64(v, 0, 50, &u)) < 0)
			return r;
		f->reserved_percent = (unsigned)u;
	}
	if (f->type == FS_NONE && (f->mount || f->label))
		return node_error(n, "a filesystem of type none cannot have a label or mount point");
	return 0;
}

static int mkfs_parse(struct build *b, void **ret_priv)
{
	bool any = false;
	int r;

	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		const struct node *v = node_get(p->node, "filesystem");

		if (v && (r = parse_fs(p, v)) < 0)
			return r;
		if (!p->fs.uuid_set) {
			_cleanup_free_ char *purpose = xasprintf("filesystem:%s", p->name);

			build_derive_uuid(b, purpose, p->fs.uuid);
		}
		any |= p->fs.type != FS_NONE;
	}
	return any;
}

static int mkfs_verify(struct build *b, void *priv)
{
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		const struct fs_driver *d;
		char a[32], c[32];
		int r;

		if (p->fs.type == FS_NONE)
			continue;
		d = fs_driver_of(p->fs.type);
		if (p->length < d->min_size(p->fs.type))
			return node_error(p->fs.node, "partition '%s' (%s) is too small for %s "
					  "(at least %s)", p->name, format_bytes(a, p->length),
					  fs_type_to_string(p->fs.type),
					  format_bytes(c, d->min_size(p->fs.type)));
		if (d->verify && (r = d->verify(b, p)) < 0)
			return r;
		if (!p->fs.mount)
			continue;
		for (size_t j = 0; j < i; j++)
			if (b->parts[j].fs.mount && streq(b->parts[j].fs.mount, p->fs.mount))
				return node_error(node_get(p->fs.node, "mount"),
						  "'%s' is already the mount point of partition '%s'",
						  p->fs.mount, b->parts[j].name);
	}
	return 0;
}

static int mkfs_plan(struct build *b, void *priv, FILE *out)
{
	fprintf(out, "filesystems:\n");
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		char u[37];

		if (p->fs.type == FS_NONE)
			continue;
		fprintf(out, "  %-12s %-5s label=%-16s uuid=%s mount=%s\n", p->name,
			fs_type_to_string(p->fs.type), p->fs.label ? p->fs.label : "-",
			build_fs_uuid(p, u),
			p->fs.mount ? p->fs.mount : "-");
	}
	return 0;
}

static int mkfs_run(struct build *b, void *priv)
{
	return build_fs_create(b);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key mkfs_key_table[] = {
	{ "partitions[].filesystem", "map", "none", NULL, "the partition's filesystem" },
	{ "partitions[].filesystem.type", "enum", "required", fs_type_names,
	  "ext2, ext3, ext4, vfat (an EFI system partition) or none" },
	{ "partitions[].filesystem.label", "string", "none", NULL,
	  "at most 16 bytes (vfat: 11); fstab uses LABEL= when set" },
	{ "partitions[].filesystem.uuid", "uuid", "from the seed", NULL,
	  "filesystem UUID; vfat: the volume id, 8 hex digits (1234-ABCD)" },
	{ "partitions[].filesystem.mount", "path", "none", NULL,
	  "mount point in the target; paths below it are written into this filesystem" },
	{ "partitions[].filesystem.options", "list", "defaults", NULL,
	  "mount options, a list or a,b,c; noatime is added unless an atime option is given; "
	  "the root gets errors=remount-ro when none are given" },
	{ "partitions[].filesystem.block-size", "number", "1024 below 512 MiB, else 4096", NULL,
	  "1024, 2048 or 4096, as mke2fs.conf" },
	{ "partitions[].filesystem.inode-size", "number", "256", NULL, "128, 256, 512 or 1024" },
	{ "partitions[].filesystem.inode-ratio", "number", "4096 below 512 MiB, else 16384", NULL,
	  "bytes per inode" },
	{ "partitions[].filesystem.inodes", "number", "from the ratio", NULL,
	  "inode count (overrides inode-ratio)" },
	{ "partitions[].filesystem.reserved", "number", "5", NULL,
	  "percent of blocks reserved for root (0-50)" },
	{ "partitions[].filesystem.fat-size", "number", "32 from 64 MiB, 16 from 4 MiB, else 12",
	  NULL, "vfat: 12, 16 or 32 (the FAT's entry size)" },
	{ NULL },
};

const struct stage stage_mkfs = {
	.name = "mkfs",
	.key_table = mkfs_key_table,
	.summary = "create ext2/ext3/ext4 filesystems (libext2fs)",
	.parse = mkfs_parse,
	.verify = mkfs_verify,
	.plan = mkfs_plan,
	.run = mkfs_run,
};
