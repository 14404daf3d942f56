/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The filesystem interface (core/fs.h), its build-wide operations, and the ext2/3/4 driver. */
#include "fs.h"

#include "cryptio.h"
#include "log.h"

/* ---- ext2, ext3, ext4: lib/ext2 creates them, the tree writes them ---- */

static enum ext2_kind ext2_kind_of(enum fs_type type)
{
	return type == FS_EXT4 ? EXT2_KIND_EXT4 : type == FS_EXT3 ? EXT2_KIND_EXT3 : EXT2_KIND_EXT2;
}

static uint64_t extfs_min_size(enum fs_type type)
{
	return ext2_min_size(ext2_kind_of(type));
}

static int extfs_verify(const struct build *b, const struct partition *p)
{
	if (p->type.mbr_id == 0x82 || p->type.mbr_id == 0xef)
		return node_error(p->fs.node, "partition '%s' is of type %s but would hold %s",
				  p->name, p->type.name ? p->type.name : "swap/efi",
				  fs_type_to_string(p->fs.type));
	/* Without 64bit, 2^32 blocks; above 512 MiB the automatic block size is 4096. */
	if (p->length / (p->fs.block_size ? p->fs.block_size : 4096) > UINT32_MAX &&
	    p->fs.type != FS_EXT4)
		return node_error(p->fs.node, "partition '%s' has more blocks than %s can address "
				  "(use ext4)", p->name, fs_type_to_string(p->fs.type));
	return 0;
}

static int extfs_create(struct build *b, struct partition *p, struct build_fs *fs)
{
	struct ext2_params ep = {
		.type = ext2_kind_of(p->fs.type),
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
	int r;

	if (p->enc) {
		/* The filesystem fills the encrypted segment, written through dm-crypt's sector
		 * format (lib/cryptio). */
		ep.offset = p->offset + p->enc->data_offset;
		ep.size = p->length - p->enc->data_offset;
		r = cryptio_manager_register(b->fd, ep.offset, ep.size, p->enc->cipher_ctx,
					     &ep.manager, &p->enc->io_name);
		if (r < 0)
			return log_errno(r, "cannot open the encrypted partition '%s'", p->name);
		ep.io_name = p->enc->io_name;
	}
	memcpy(ep.uuid, p->fs.uuid, 16);
	build_derive_uuid(b, purpose, ep.hash_seed);
	return ext2_mkfs(b->tmp_path, &ep, &fs->ext2);
}

static int extfs_free_bytes(const struct build_fs *fs, uint64_t *ret)
{
	*ret = ext2fs_free_blocks_count(fs->ext2->super) * (uint64_t)fs->ext2->blocksize;
	return 0;
}

static int extfs_close(struct build *b, struct partition *p, struct build_fs *fs, bool keep)
{
	if (keep)
		fs->io = fs->ext2->io->manager;
	return ext2_close(&fs->ext2, p->name);
}

static int extfs_reopen(struct build *b, struct partition *p, struct build_fs *fs)
{
	char opts[64] = "";
	const char *name = b->tmp_path;
	ext2_filsys e = NULL;
	errcode_t err;

	if (p->enc)
		name = p->enc->io_name; /* the manager places the data itself */
	else
		snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)p->offset);
	err = ext2fs_open2(name, opts[0] ? opts : NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			   fs->io, &e);
	if (err)
		return ext2_log_error(err, "cannot open the filesystem of partition '%s' again",
				      p->name);
	if (ext2fs_has_feature_journal_needs_recovery(e->super)) {
		ext2fs_free(e);
		return log_fail("the filesystem of partition '%s' was not unmounted cleanly (its "
				"journal needs recovery)", p->name);
	}
	err = ext2fs_read_bitmaps(e);
	if (err) {
		ext2fs_free(e);
		return ext2_log_error(err, "cannot read the bitmaps of partition '%s'", p->name);
	}
	e->now = b->now;
	e->umask = 022;
	fs->ext2 = e;
	fs->io = NULL;
	return 0;
}

static void extfs_abandon(struct build_fs *fs)
{
	ext2_abandon(&fs->ext2);
}

static const struct fs_driver extfs_driver = {
	.name = "ext2/3/4",
	.kernel_module = "ext4",
	.grub_module = "ext2",
	.posix = true,
	.min_size = extfs_min_size,
	.verify = extfs_verify,
	.create = extfs_create,
	.free_bytes = extfs_free_bytes,
	.close = extfs_close,
	.reopen = extfs_reopen,
	.abandon = extfs_abandon,
};

const struct fs_driver *fs_driver_of(enum fs_type type)
{
	switch (type) {
	case FS_EXT2:
	case FS_EXT3:
	case FS_EXT4:
		return &extfs_driver;
	case FS_VFAT:
		return &fs_vfat_driver;
	default:
		return NULL;
	}
}

/* ---- the build's filesystems ---- */

int build_fs_create(struct build *b)
{
	int r;

	b->fs = xcalloc(b->n_parts + 1, sizeof(*b->fs));
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		const struct fs_driver *d = fs_driver_of(p->fs.type);
		char sz[32];

		if (!d)
			continue;
		log_info("%s: %s of %s%s%s", p->name, fs_type_to_string(p->fs.type),
			 format_bytes(sz, p->length), p->fs.label ? ", label " : "",
			 p->fs.label ? p->fs.label : "");
		r = d->create(b, p, &b->fs[i]);
		if (r < 0)
			return r;
		b->fs[i].drv = d;
	}
	return build_tree_mount(b);
}

int build_fs_free_bytes(const struct build *b, const struct partition *p, uint64_t *ret)
{
	const struct build_fs *fs = b->fs ? &b->fs[p - b->parts] : NULL;

	if (!fs || !fs->drv || !fs->ext2)
		return -ENOENT;
	return fs->drv->free_bytes(fs, ret);
}

static int by_mount_depth(const void *a, const void *c)
{
	const struct partition *x = *(struct partition *const *)a;
	const struct partition *y = *(struct partition *const *)c;
	size_t lx = strlen(x->fs.mount), ly = strlen(y->fs.mount);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->fs.mount, y->fs.mount);
}

size_t build_mount_order(const struct build *b, struct partition **out)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].fs.type != FS_NONE && b->parts[i].fs.mount)
			out[n++] = &b->parts[i];
	qsort(out, n, sizeof(*out), by_mount_depth);
	return n;
}

int build_tree_mount(struct build *b)
{
	_cleanup_free_ struct partition **mounted = xcalloc(b->n_parts + 1, sizeof(*mounted));
	size_t n = build_mount_order(b, mounted);
	int r;

	/* The tree needs "/" first, then parents before children. */
	if (!n || !streq(mounted[0]->fs.mount, "/")) {
		if (n)
			log_info("no filesystem is mounted at '/': files cannot be written");
		return 0;
	}
	b->tree = tree_new(b->now);
	for (size_t i = 0; i < n; i++) {
		const struct build_fs *fs = &b->fs[mounted[i] - b->parts];

		if (!fs->ext2)
			continue;
		r = tree_mount(b->tree, mounted[i]->fs.mount, fs->ext2);
		if (r < 0)
			return r;
	}
	return 0;
}

int build_fs_close(struct build *b)
{
	int r;

	b->tree = tree_free(b->tree);
	for (size_t i = 0; b->fs && i < b->n_parts; i++) {
		struct build_fs *fs = &b->fs[i];

		if (!fs->drv || !fs->ext2)
			continue;
		r = fs->drv->close(b, &b->parts[i], fs, true);
		if (r < 0)
			return r;
	}
	return 0;
}

int build_fs_reopen(struct build *b)
{
	int r;

	for (size_t i = 0; b->fs && i < b->n_parts; i++) {
		struct build_fs *fs = &b->fs[i];

		if (!fs->drv || fs->ext2 || !fs->io)
			continue;
		r = fs->drv->reopen(b, &b->parts[i], fs);
		if (r < 0)
			return r;
	}
	return build_tree_mount(b);
}

int build_fs_finish(struct build *b, bool failed)
{
	int ret = 0;

	b->tree = tree_free(b->tree);
	for (size_t i = 0; b->fs && i < b->n_parts; i++) {
		struct build_fs *fs = &b->fs[i];

		if (!fs->drv || !fs->ext2)
			continue;
		if (failed) {
			fs->drv->abandon(fs);
		} else {
			int r = fs->drv->close(b, &b->parts[i], fs, false);

			if (r < 0 && ret == 0)
				ret = r;
		}
	}
	return ret;
}

char **build_fs_modules(const struct build *b)
{
	char **l = strv_append(NULL, "ext4");

	for (size_t i = 0; i < b->n_parts; i++) {
		const struct partition *p = &b->parts[i];
		const struct fs_driver *d = fs_driver_of(p->fs.type);

		if (!d || !p->fs.mount || !d->posix)
			continue; /* the initramfs mounts only what can be the root */
		if (!strv_contains(l, d->kernel_module))
			l = strv_append(l, d->kernel_module);
		if (!strv_contains(l, fs_type_to_string(p->fs.type)))
			l = strv_append(l, fs_type_to_string(p->fs.type));
	}
	return l;
}
