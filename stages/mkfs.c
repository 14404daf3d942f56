/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "mkfs": an ext2/ext3/ext4 filesystem in every partition that asks for one (the
 * `filesystem:` key of partitions, see stages/partition.c), written with libext2fs at the
 * partition's offset in the image, then mounted into the target tree at its mount point so
 * later stages write paths, not partitions.
 *
 * Every timestamp is the build time (SOURCE_DATE_EPOCH when set); the UUID and the directory
 * hash seed come from the recipe's seed, so the same recipe and seed give the same bytes. */
#include <uuid/uuid.h>

#include "cryptio.h"
#include "log.h"
#include "stage.h"

static int mkfs_parse(struct build *b, void **ret_priv)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].fs.type != FS_NONE)
			return 1;
	return 0;
}

static int mkfs_verify(struct build *b, void *priv)
{
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		char a[32], c[32];

		if (p->fs.type == FS_NONE)
			continue;
		if (p->length < ext2_min_size(p->fs.type))
			return node_error(p->fs.node, "partition '%s' (%s) is too small for %s "
					  "(at least %s)", p->name, format_bytes(a, p->length),
					  fs_type_to_string(p->fs.type),
					  format_bytes(c, ext2_min_size(p->fs.type)));
		/* Without 64bit, 2^32 blocks; above 512 MiB the automatic block size is 4096. */
		if (p->length / (p->fs.block_size ? p->fs.block_size : 4096) > UINT32_MAX &&
		    p->fs.type != FS_EXT4)
			return node_error(p->fs.node, "partition '%s' has more blocks than %s "
					  "can address (use ext4)", p->name,
					  fs_type_to_string(p->fs.type));
		if (p->type.mbr_id == 0x82 || p->type.mbr_id == 0xef)
			return node_error(p->fs.node, "partition '%s' is of type %s but would hold %s",
					  p->name, p->type.name ? p->type.name : "swap/efi",
					  fs_type_to_string(p->fs.type));
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
		uuid_unparse_lower(p->fs.uuid, u);
		fprintf(out, "  %-12s %-5s label=%-16s uuid=%s mount=%s\n", p->name,
			fs_type_to_string(p->fs.type), p->fs.label ? p->fs.label : "-", u,
			p->fs.mount ? p->fs.mount : "-");
	}
	return 0;
}

static int mkfs_run(struct build *b, void *priv)
{
	int r;

	b->fs = xcalloc(b->n_parts, sizeof(*b->fs));
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		struct ext2_params ep = {
			.type = p->fs.type,
			.offset = p->offset,
			.size = p->length,
			.block_size = p->fs.block_size,
			.inode_size = p->fs.inode_size,
			.inode_ratio = p->fs.inode_ratio,
			.inodes = p->fs.inodes,
			.reserved_percent = p->fs.reserved_percent,
			.label = p->fs.label,
			.now = b->now,
			/* the image stage made a sparse file, unless shredded or encrypted */
			.zeroed = !p->enc && p->shred <= SHRED_NONE && b->image_shred <= SHRED_NONE,
		};
		_cleanup_free_ char *purpose = xasprintf("hash-seed:%s", p->name);
		char sz[32];

		if (p->fs.type == FS_NONE)
			continue;
		if (p->enc) {
			/* The filesystem fills the encrypted segment, written through dm-crypt's
			 * sector format (lib/cryptio). */
			ep.offset = p->offset + p->enc->data_offset;
			ep.size = p->length - p->enc->data_offset;
			r = cryptio_manager_register(b->fd, ep.offset, ep.size, p->enc->cipher_ctx,
						     &ep.manager, &p->enc->io_name);
			if (r < 0)
				return log_errno(r, "cannot open the encrypted partition '%s'",
						 p->name);
			ep.io_name = p->enc->io_name;
		}
		memcpy(ep.uuid, p->fs.uuid, 16);
		build_derive_uuid(b, purpose, ep.hash_seed);
		log_info("%s: %s of %s%s%s", p->name, fs_type_to_string(p->fs.type),
			 format_bytes(sz, p->length), p->fs.label ? ", label " : "",
			 p->fs.label ? p->fs.label : "");
		r = ext2_mkfs(b->tmp_path, &ep, &b->fs[i]);
		if (r < 0)
			return r;
	}

	return build_tree_mount(b);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key mkfs_key_table[] = {
	{ "partitions[].filesystem", "map", "none", NULL, "the partition's filesystem" },
	{ "partitions[].filesystem.type", "enum", "required", fs_type_names,
	  "the filesystem type (none: no filesystem)" },
	{ "partitions[].filesystem.label", "string", "none", NULL,
	  "at most 16 bytes; fstab uses LABEL= when set" },
	{ "partitions[].filesystem.uuid", "uuid", "from the seed", NULL, "filesystem UUID" },
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
