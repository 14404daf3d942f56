/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vfat driver (core/fs.h): FAT12/16/32, for EFI system partitions, written without root by
 * mtools at the partition's offset in the image (`mformat -i IMAGE@@OFFSET`, then `mmd` and
 * `mcopy`), as genimage and systemd-repart do: no FAT writer of ours.
 *
 * While the build runs, the partition's files live in a staging ext2 filesystem in a memory
 * file, mounted into the target tree at the mount point, so every stage writes /boot/efi
 * like any other path. When the filesystem is closed for good, the FAT is made and the
 * staging tree copied into it in sorted order, every time SOURCE_DATE_EPOCH (mtools honours
 * it) and the volume id from the seed: the same inputs give the same bytes. What FAT cannot
 * hold (symlinks, devices, owners other than root, names with "*:<>?\| or a trailing dot,
 * two names differing only in case) is refused then, naming the path. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "spawn.h"

#define FAT_MAX_FILE (UINT64_C(4) << 30) /* FAT's 32-bit sizes, and what we read into memory */

struct vfat_staging {
	int fd; /* the memory file holding the staging ext2 */
};

/* Sectors per cluster for the FAT size asked (0: by size), such that the cluster count lands
 * in that size's range (FAT12 < 4085 <= FAT16 < 65525 <= FAT32), or 0 when none does. */
static unsigned vfat_geometry(uint64_t length, unsigned bits, unsigned *ret_bits)
{
	uint64_t sectors = length / 512;

	if (!bits)
		bits = length >= (UINT64_C(64) << 20) ? 32 : length >= (UINT64_C(4) << 20) ? 16 : 12;
	*ret_bits = bits;
	for (unsigned c = bits == 32 ? 8 : 1; c >= 1 && c <= 128; c = bits == 32 ? c / 2 : c * 2) {
		/* room for the boot sector, the FATs and the root directory, generously */
		uint64_t clusters = (sectors - sectors / 64 - 64) / c;

		if (bits == 12 && clusters < 4000)
			return c;
		if (bits == 16 && clusters >= 4200 && clusters < 65000)
			return c;
		if (bits == 32 && clusters >= 66000)
			return c;
		if (bits == 32 && c == 1)
			break;
	}
	return 0;
}

static uint64_t vfat_min_size(enum fs_type type)
{
	return UINT64_C(1) << 20;
}

static int vfat_verify(const struct build *b, const struct partition *p)
{
	unsigned bits;
	char s[32];

	if (p->type.mbr_id == 0x82)
		return node_error(p->fs.node, "partition '%s' is of type swap but would hold vfat",
				  p->name);
	if (p->enc)
		return node_error(p->fs.node, "partition '%s' is vfat and encrypted: the firmware "
				  "reads the EFI system partition, it must stay in clear", p->name);
	if (p->fs.mount && streq(p->fs.mount, "/"))
		return node_error(node_get(p->fs.node, "mount"), "vfat cannot hold the root (no "
				  "owners, modes or symlinks)");
	for (const char *const *t = (const char *const[]){ "mformat", "mmd", "mcopy", NULL }; *t;
	     t++) {
		_cleanup_free_ char *path = find_program(*t);

		if (!path)
			return node_error(p->fs.node,
					  "vfat is written by mtools, and '%s' is not "
					  "on this machine: install the package mtools",
					  *t);
	}
	if (!vfat_geometry(p->length, p->fs.fat_bits, &bits))
		return node_error(node_get(p->fs.node, "fat-size") ?: p->fs.node, "partition '%s' "
				  "(%s) cannot hold FAT%u (FAT12: below 256 MiB; FAT16: 3 MiB to "
				  "4 GiB; FAT32: from 34 MiB)", p->name, format_bytes(s, p->length),
				  bits);
	return 0;
}

static int vfat_create(struct build *b, struct partition *p, struct build_fs *fs)
{
	struct ext2_params ep = {
		.type = EXT2_KIND_EXT2, .size = p->length, .now = b->now, .zeroed = true,
	};
	_cleanup_free_ struct vfat_staging *st = xcalloc(1, sizeof(*st));
	_cleanup_free_ char *path = NULL;
	int r;

	st->fd = memfd_create("vfat-staging", MFD_CLOEXEC);
	if (st->fd < 0)
		return log_errno(errno, "cannot create the staging memory file of partition '%s'",
				 p->name);
	if (ftruncate(st->fd, (off_t)p->length) < 0) {
		r = log_errno(errno, "cannot size the staging memory file of partition '%s'",
			      p->name);
		close(st->fd);
		return r;
	}
	path = xasprintf("/proc/self/fd/%d", st->fd);
	build_derive_uuid(b, "vfat-staging", ep.uuid);
	r = ext2_mkfs(path, &ep, &fs->ext2);
	if (r < 0) {
		close(st->fd);
		return r;
	}
	fs->priv = TAKE_PTR(st);
	return 0;
}

static int vfat_free_bytes(const struct build_fs *fs, uint64_t *ret)
{
	*ret = ext2fs_free_blocks_count(fs->ext2->super) * (uint64_t)fs->ext2->blocksize;
	return 0;
}

/* A name FAT's long names can hold. */
static bool fat_name_ok(const char *n)
{
	size_t l = strlen(n);

	if (!l || l > 255 || n[l - 1] == '.' || n[l - 1] == ' ')
		return false;
	for (const unsigned char *c = (const unsigned char *)n; *c; c++)
		if (*c < 0x20 || *c == 0x7f || strchr("\"*/:<>?\\|", *c))
			return false;
	return true;
}

struct render {
	struct build *b;
	struct partition *p;
	struct tree *t;
	char *image;       /* "IMAGE@@OFFSET" for mtools */
	char **dirs;       /* "::/EFI", ... in order */
	char **files;      /* target paths below the mount point */
	uint64_t bytes;
};

/* Collects what goes into the FAT, refusing what it cannot hold. */
static int render_walk(struct render *rd, const char *dir)
{
	_cleanup_free_ struct tree_dirent *d = NULL;
	size_t n = 0;
	int r = tree_list(rd->t, dir, &d, &n);

	if (r < 0)
		return log_errno(r, "cannot list '%s%s' of partition '%s'", rd->p->fs.mount, dir,
				 rd->p->name);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = xasprintf("%s%s%s", dir, streq(dir, "/") ? "" : "/",
						      d[i].name);
		struct tree_stat st;

		if (streq(path, "/lost+found"))
			continue; /* the staging filesystem's own */
		if (!fat_name_ok(d[i].name)) {
			r = log_fail("'%s%s' cannot be on FAT (partition '%s'): a name holds none of "
				     "\"*:<>?\\| nor control characters, and does not end in '.' or "
				     "a space", rd->p->fs.mount, path, rd->p->name);
			break;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcasecmp(d[i].name, d[j].name)) {
				r = log_fail("'%s%s' and '%s' differ only in case: FAT cannot hold "
					     "both (partition '%s')", rd->p->fs.mount, path,
					     d[j].name, rd->p->name);
				break;
			}
		if (r < 0 || (r = tree_lstat(rd->t, path, &st)) < 0)
			break;
		if (st.uid || st.gid) {
			r = log_fail("'%s%s' is owned by %u:%u: FAT has no owners, everything on "
				     "partition '%s' belongs to root", rd->p->fs.mount, path,
				     (unsigned)st.uid, (unsigned)st.gid, rd->p->name);
			break;
		}
		if (S_ISDIR(st.mode)) {
			_cleanup_free_ char *m = xasprintf("::%s", path);

			rd->dirs = strv_append(rd->dirs, m);
			r = render_walk(rd, path);
		} else if (S_ISREG(st.mode)) {
			if (st.size >= FAT_MAX_FILE) {
				r = log_fail("'%s%s' is larger than a FAT file can be", rd->p->fs.mount,
					     path);
				break;
			}
			rd->files = strv_append(rd->files, path);
			rd->bytes += st.size;
		} else {
			r = log_fail("'%s%s' is a %s: FAT holds only files and directories "
				     "(partition '%s')", rd->p->fs.mount, path,
				     S_ISLNK(st.mode) ? "symlink" : "special file", rd->p->name);
		}
	}
	tree_dirents_free(d, n);
	d = NULL;
	return r;
}

static int mtools(struct render *rd, char **argv, const void *in, size_t in_size, bool *full)
{
	_cleanup_free_ char *sde = xasprintf("SOURCE_DATE_EPOCH=%lld", (long long)rd->b->now);
	char *env[] = { sde, (char *)"MTOOLSRC=/dev/null", (char *)"MTOOLS_SKIP_CHECK=1",
			(char *)"LC_ALL=C", NULL };
	const struct spawn_opts o = { .env = env, .input = in, .input_size = in_size };
	_cleanup_free_ char *out = NULL;
	int r = spawn_run(argv, &o, &out);

	if (r > 0 && full && out && strstr(out, "Disk full")) {
		*full = true;
		return -ENOSPC;
	}
	if (r > 0) {
		char *nl = out ? strchr(out, '\n') : NULL;

		if (nl)
			*nl = 0;
		return log_fail("%s failed for partition '%s': %s", argv[0], rd->p->name,
				out && *out ? out : "no message");
	}
	return r;
}

/* Makes the FAT at the partition's offset and copies the staging tree into it. */
static int vfat_render(struct build *b, struct partition *p, struct build_fs *fs)
{
	struct render rd = { .b = b, .p = p };
	unsigned bits, c = vfat_geometry(p->length, p->fs.fat_bits, &bits);
	char sectors[24], hidden[24], cl[8], serial[12], s1[32], s2[32];
	const char *argv[24];
	size_t k = 0;
	bool full = false;
	int r;

	rd.t = tree_new(b->now);
	r = tree_mount(rd.t, "/", fs->ext2);
	if (r >= 0)
		r = render_walk(&rd, "/");
	if (r < 0)
		goto out;
	rd.image = xasprintf("%s@@%llu", b->tmp_path, (unsigned long long)p->offset);
	snprintf(sectors, sizeof(sectors), "%llu", (unsigned long long)(p->length / 512));
	snprintf(hidden, sizeof(hidden), "%llu", (unsigned long long)(p->offset / 512));
	snprintf(cl, sizeof(cl), "%u", c);
	snprintf(serial, sizeof(serial), "%02X%02X%02X%02X", p->fs.uuid[0], p->fs.uuid[1],
		 p->fs.uuid[2], p->fs.uuid[3]);
	argv[k++] = "mformat";
	argv[k++] = "-i";
	argv[k++] = rd.image;
	argv[k++] = "-T";
	argv[k++] = sectors;
	argv[k++] = "-h";
	argv[k++] = "64";
	argv[k++] = "-s";
	argv[k++] = "32";
	argv[k++] = "-H";
	argv[k++] = hidden;
	argv[k++] = "-c";
	argv[k++] = cl;
	argv[k++] = "-N";
	argv[k++] = serial;
	if (bits == 32)
		argv[k++] = "-F";
	if (p->fs.label) {
		argv[k++] = "-v";
		argv[k++] = p->fs.label;
	}
	argv[k++] = "::";
	argv[k] = NULL;
	log_info("%s: FAT%u, %u-byte clusters, %zu files (%s)", p->name, bits, c * 512,
		 strv_length(rd.files), format_bytes(s1, rd.bytes));
	if ((r = mtools(&rd, (char **)argv, NULL, 0, NULL)) < 0)
		goto out;
	if (rd.dirs) {
		_cleanup_strv_free_ char **mmd = strv_append(NULL, "mmd");

		mmd = strv_append(mmd, "-i");
		mmd = strv_append(mmd, rd.image);
		for (char **d = rd.dirs; *d; d++)
			mmd = strv_append(mmd, *d);
		if ((r = mtools(&rd, mmd, NULL, 0, &full)) < 0)
			goto out;
	}
	for (char **f = rd.files; f && *f && r >= 0; f++) {
		_cleanup_free_ char *data = NULL, *dest = xasprintf("::%s", *f);
		char *mcopy[] = { (char *)"mcopy", (char *)"-i", rd.image, (char *)"-", dest, NULL };
		size_t size = 0;

		if ((r = tree_read(rd.t, *f, FAT_MAX_FILE, &data, &size)) < 0) {
			log_errno(r, "cannot read '%s%s' of partition '%s'", p->fs.mount, *f,
				  p->name);
			break;
		}
		r = mtools(&rd, mcopy, data ? data : "", size, &full);
	}
	if (full)
		r = log_fail("partition '%s' (%s, FAT%u) is too small for its %zu files (%s): make "
			     "it larger", p->name, format_bytes(s1, p->length), bits,
			     strv_length(rd.files), format_bytes(s2, rd.bytes));
out:
	tree_free(rd.t);
	strv_free(rd.dirs);
	strv_free(rd.files);
	free(rd.image);
	return r;
}

static void staging_free(struct build_fs *fs)
{
	struct vfat_staging *st = fs->priv;

	if (st)
		close(st->fd);
	free(st);
	fs->priv = NULL;
}

static int vfat_close(struct build *b, struct partition *p, struct build_fs *fs, bool keep)
{
	int r = 0;

	if (keep) {
		/* QEMU does not see it (core/target-vm mounts no staged filesystem): keep the
		 * staging memory file to open again. */
		fs->io = unix_io_manager;
		return ext2_close(&fs->ext2, p->name);
	}
	r = vfat_render(b, p, fs);
	if (r < 0)
		ext2_abandon(&fs->ext2);
	else
		r = ext2_close(&fs->ext2, p->name);
	staging_free(fs);
	return r;
}

static int vfat_reopen(struct build *b, struct partition *p, struct build_fs *fs)
{
	struct vfat_staging *st = fs->priv;
	_cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", st->fd);
	ext2_filsys e = NULL;
	errcode_t err;

	err = ext2fs_open2(path, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, fs->io, &e);
	if (!err)
		err = ext2fs_read_bitmaps(e);
	if (err) {
		if (e)
			ext2fs_free(e);
		return ext2_log_error(err, "cannot open the staging filesystem of partition '%s' "
				      "again", p->name);
	}
	e->now = b->now;
	e->umask = 022;
	fs->ext2 = e;
	fs->io = NULL;
	return 0;
}

static void vfat_abandon(struct build_fs *fs)
{
	ext2_abandon(&fs->ext2);
	staging_free(fs);
}

const struct fs_driver fs_vfat_driver = {
	.name = "vfat",
	.kernel_module = "vfat",
	.grub_module = "fat",
	.default_options = "umask=0077",
	.staged = true,
	.min_size = vfat_min_size,
	.verify = vfat_verify,
	.create = vfat_create,
	.free_bytes = vfat_free_bytes,
	.close = vfat_close,
	.reopen = vfat_reopen,
	.abandon = vfat_abandon,
};
