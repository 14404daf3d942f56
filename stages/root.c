/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "root": how the root filesystem is used at run time (the seed's CompactFlash
 * system): mounted read-only, with an overlay that makes the running system's / writable,
 * the changes kept in RAM or on a partition of their own, and a factory reset that wipes
 * them. The initramfs (templates/init) does the mounting; this stage validates the keys,
 * publishes them to the build context for the initrd, fstab and bootloader stages, puts
 * the overlay's mount point and the reset command into the image, and makes the dm-verity
 * hash tree (it runs after the initrd stage, when the root is final).
 *
 * root:                      optional
 *   read-only: false         the root is mounted read-only and never remounted rw (true
 *                            when an overlay is given)
 *   overlay: none            none; tmpfs (changes lost at power-off); or the name of a
 *                            partition whose filesystem keeps them (changes survive). The
 *                            initramfs mounts the root read-only as the lower layer, the
 *                            tmpfs or partition at /overlay (upper/, work/, and the root
 *                            under lower/), and switch_roots into the overlayfs. The
 *                            partition is mounted with its filesystem.options, and must
 *                            have no mount: of its own.
 *   overlay-size: 50%        the tmpfs's size (bytes or a percentage of RAM)
 *   reset: false             a GRUB entry "Factory reset" (mkbootmedia.reset=1 on the
 *                            kernel command line) and /usr/sbin/mkbootmedia-reset, which
 *                            arms a reset for the next boot (/overlay/factory-reset). A
 *                            reset empties the overlay partition before it is used; the
 *                            root itself is never written. Needs an overlay partition.
 *   verity: false            dm-verity over the read-only root: the hash tree is made at
 *                            build time (libcryptsetup, on scratch files) into the partition
 *                            verity-partition names, the root hash goes on every GRUB entry
 *                            (roothash=), the initramfs opens the root with veritysetup;
 *                            a modified block then reads as an I/O error. Needs /boot on its
 *                            own partition and a labelled root; not over an encrypted root.
 *   verity-partition: verity the partition (without filesystem) holding the hash tree
 *
 * What verity does not protect: the initramfs and grub.cfg on /boot are not signed, so the
 * root hash is only as trustworthy as the boot partition; and the overlay's changes are
 * not checked.
 *
 * The overlay needs the kernel's overlay module in the target (fs/overlayfs: a path-include
 * when the kernel's modules are trimmed). */
#include <libgen.h>

#include "fs.h"
#include "log.h"
#include "stage.h"
#include "verity.h"

struct root_priv {
	const struct node *node, *ro_node, *overlay_node, *size_node, *reset_node, *verity_node;
	const struct node *verity_part_node;
	char *overlay_name; /* the partition's name */
	char *verity_name;
	char *root_hash; /* published as b->root_hash */
	char *size;
};

static void root_free(void *priv);
static void root_freep(struct root_priv **p)
{
	root_free(*p);
}

static int root_parse(struct build *b, void **ret_priv)
{
	_cleanup_(root_freep) struct root_priv *p = xcalloc(1, sizeof(*p));
	const struct node *n = node_get(b->recipe->root, "root"), *v;
	bool ro = false;
	int r;

	if (!n) {
		*ret_priv = NULL;
		return 0;
	}
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	p->node = n;
	b->root_node = n;
	if ((v = node_get(n, "read-only"))) {
		if ((r = node_get_bool(v, &ro)) < 0)
			return r;
		p->ro_node = v;
	}
	if ((v = node_get(n, "overlay"))) {
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		p->overlay_node = v;
		if (streq(s, "none")) {
			b->root_overlay = ROOT_OVERLAY_NONE;
		} else if (streq(s, "tmpfs")) {
			b->root_overlay = ROOT_OVERLAY_TMPFS;
		} else {
			if (!str_is_word(s) || strlen(s) > 64)
				return node_error(v, "'%s' is not none, tmpfs or a partition name",
						  s);
			b->root_overlay = ROOT_OVERLAY_PARTITION;
			p->overlay_name = xstrdup(s);
		}
	}
	if ((v = node_get(n, "overlay-size"))) {
		struct size sz;

		if ((r = node_get_size(v, SIZE_ALLOW_PERCENT, &sz)) < 0)
			return r;
		p->size_node = v;
		if (sz.kind == SIZE_PERCENT)
			p->size = xasprintf("%u%%", sz.permille / 10);
		else
			p->size = xasprintf("%llu", (unsigned long long)sz.bytes);
	}
	if ((v = node_get(n, "reset"))) {
		if ((r = node_get_bool(v, &b->root_reset)) < 0)
			return r;
		p->reset_node = v;
	}
	if ((v = node_get(n, "verity"))) {
		if ((r = node_get_bool(v, &b->root_verity)) < 0)
			return r;
		p->verity_node = v;
	}
	if ((v = node_get(n, "verity-partition"))) {
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		p->verity_part_node = v;
		p->verity_name = xstrdup(s);
	}
	if (b->root_verity && !p->verity_name)
		p->verity_name = xstrdup("verity");
	/* An overlay is over a read-only lower layer: read-only unless said otherwise, which
	 * verify refuses. */
	b->root_read_only = p->ro_node ? ro : b->root_overlay != ROOT_OVERLAY_NONE;
	b->root_overlay_size = p->size;
	*ret_priv = TAKE_PTR(p);
	return 1;
}

/* The partition named by overlay:, now that every stage has parsed. */
static int root_settle(struct build *b, void *priv)
{
	struct root_priv *p = priv;

	if (!p)
		return 0;
	for (size_t i = 0; i < b->n_parts; i++) {
		if (p->overlay_name && streq(b->parts[i].name, p->overlay_name))
			b->root_overlay_part = &b->parts[i];
		if (b->root_verity && streq(b->parts[i].name, p->verity_name))
			b->root_verity_part = &b->parts[i];
	}
	return 1;
}

/* dm-verity's data block: the device's logical block size, which must not exceed the
 * filesystem's (ext2 on a small partition has 1024-byte blocks). */
static unsigned verity_block(const struct partition *root)
{
	return root->fs.block_size ? root->fs.block_size : 1024;
}

static int verify_verity(struct build *b, struct root_priv *p, struct partition *root)
{
	const struct partition *v = b->root_verity_part;
	const struct node *where = p->verity_part_node ? p->verity_part_node : p->verity_node;
	char s1[32], s2[32], s3[32];

	if (!b->root_verity)
		return node_error(p->verity_part_node, "verity-partition is for verity: true");
	if (!v)
		return node_error(where,
				  "dm-verity keeps the root's hash tree on a partition of "
				  "its own: add a partition named '%s' without a filesystem, or "
				  "name one with verity-partition",
				  p->verity_name);
	if (v == root || v == b->root_overlay_part || fs_driver_of(v->fs.type) || v->enc)
		return node_error(where,
				  "partition '%s' cannot hold the hash tree: it must be "
				  "a partition of its own, without filesystem or encryption",
				  v->name);
	if (verity_hash_size(root->length, verity_block(root)) > v->length)
		return node_error(where,
				  "partition '%s' (%s) is too small for the hash tree of "
				  "the root's %s: it needs %s",
				  v->name, format_bytes(s1, v->length),
				  format_bytes(s2, root->length),
				  format_bytes(s3,
					       verity_hash_size(root->length, verity_block(root))));
	if (root->length % verity_block(root))
		return node_error(p->verity_node,
				  "the root partition's size is not a multiple "
				  "of %u bytes, dm-verity's block",
				  verity_block(root));
	if (!b->initrd)
		return node_error(p->verity_node,
				  "dm-verity is opened by mkbootmedia's "
				  "initramfs: add a kernel: or a bootloader: section");
	if (build_boot_part(b) == root)
		return node_error(p->verity_node,
				  "the root hash goes into grub.cfg, which is "
				  "written after the root is hashed: give /boot its own partition");
	if (!root->fs.label || !root->fs.label[0])
		return node_error(p->verity_node,
				  "the initramfs finds the hash partition next to "
				  "the root by the root's label: give the root filesystem a label");
	return 0;
}

static int root_verify(struct build *b, void *priv)
{
	struct root_priv *p = priv;
	struct partition *root = build_part_at(b, "/"), *ov = b->root_overlay_part;

	if (!root)
		return node_error(p->node, "root: needs a partition whose filesystem is mounted "
					   "at /");
	if (b->root_overlay != ROOT_OVERLAY_NONE && !b->root_read_only)
		return node_error(p->ro_node, "an overlay lies over a read-only root: remove "
					      "read-only: false, or set overlay: none");
	if (b->root_overlay != ROOT_OVERLAY_NONE && !b->initrd)
		return node_error(p->overlay_node,
				  "the overlay is made by mkbootmedia's "
				  "initramfs: add a kernel: or a bootloader: section");
	if (p->overlay_name && !ov) {
		_cleanup_free_ char *names = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&names, &len);

		for (size_t i = 0; i < b->n_parts; i++)
			fprintf(f, "%s'%s'", i ? ", " : "", b->parts[i].name);
		fclose(f);
		return node_error(p->overlay_node,
				  "no partition is named '%s' (the partitions: "
				  "%s); name one, or use tmpfs",
				  p->overlay_name, names);
	}
	if (ov == root)
		return node_error(p->overlay_node,
				  "partition '%s' is the root itself: the "
				  "overlay's changes need a partition of their own",
				  ov->name);
	if (ov && !fs_driver_of(ov->fs.type))
		return node_error(p->overlay_node,
				  "partition '%s' has no filesystem to hold the "
				  "overlay: give it filesystem: {type: ext4}",
				  ov->name);
	if (ov && !fs_driver_of(ov->fs.type)->posix)
		return node_error(p->overlay_node,
				  "partition '%s' is %s, which cannot hold an "
				  "overlay's upper layer (owners, modes, xattrs): use ext2, ext3 "
				  "or ext4",
				  ov->name, fs_type_to_string(ov->fs.type));
	if (ov && ov->fs.mount)
		return node_error(p->overlay_node,
				  "partition '%s' is mounted at '%s', but the "
				  "initramfs mounts the overlay partition at " ROOT_OVERLAY_DIR
				  ": remove its filesystem.mount",
				  ov->name, ov->fs.mount);
	for (size_t i = 0; ov && ov->fs.options && ov->fs.options[i]; i++)
		if (strpbrk(ov->fs.options[i], "'\"$`\\"))
			return node_error(
				ov->fs.node,
				"mount option '%s' of the overlay partition "
				"holds a quote, '$' or '\\': the initramfs's shell reads it",
				ov->fs.options[i]);
	if (ov && ov->enc)
		return node_error(p->overlay_node,
				  "partition '%s' is encrypted: an encrypted "
				  "overlay partition is not supported yet",
				  ov->name);
	if (p->size_node && b->root_overlay != ROOT_OVERLAY_TMPFS)
		return node_error(p->size_node, "overlay-size is the size of a tmpfs overlay: "
						"remove it, or set overlay: tmpfs");
	if (b->root_reset && b->root_overlay != ROOT_OVERLAY_PARTITION)
		return node_error(p->reset_node,
				  "a factory reset empties the overlay partition: "
				  "it needs overlay: <partition name> (a tmpfs overlay is empty at "
				  "every boot)");
	if (b->root_read_only && b->configure == CONFIGURE_FIRST_BOOT)
		return node_error(
			p->ro_node ? p->ro_node : p->overlay_node,
			"packages.configure: first-boot writes to the root at its first "
			"boot, which a read-only root forbids: configure it at build time "
			"(userns or vm)");
	if (b->root_verity && !b->root_read_only)
		return node_error(p->verity_node, "dm-verity protects a root that is never "
						  "written: set read-only: true (or an overlay)");
	if (b->root_verity && root->enc)
		return node_error(p->verity_node,
				  "dm-verity over an encrypted root is not "
				  "supported: remove the root partition's encrypt:, or verity");
	if (b->root_verity || p->verity_part_node)
		return verify_verity(b, p, root);
	return 0;
}

static int root_plan(struct build *b, void *priv, FILE *out)
{
	(void)priv;
	fprintf(out, "root:\n  %s", b->root_read_only ? "read-only" : "read-write");
	if (b->root_overlay == ROOT_OVERLAY_TMPFS)
		fprintf(out, ", overlay on a tmpfs (size %s)",
			b->root_overlay_size ? b->root_overlay_size : "the kernel's default");
	else if (b->root_overlay == ROOT_OVERLAY_PARTITION)
		fprintf(out, ", overlay on partition '%s'%s", b->root_overlay_part->name,
			b->root_reset ? ", factory reset" : "");
	if (b->root_verity)
		fprintf(out, ", dm-verity (hash tree on '%s')", b->root_verity_part->name);
	fputc('\n', out);
	return 0;
}

/* The command that arms a reset: a flag on the overlay partition, which /init reads at
 * the next boot before it mounts the overlay. */
static const char reset_script[] =
	"#!/bin/sh\n"
	"# mkbootmedia-reset: arms a factory reset for the next boot (written by mkbootmedia).\n"
	"# The initramfs then empties the overlay partition (your changes to the root) before\n"
	"# it mounts it; the read-only root itself is never written.\n"
	"set -e\n"
	"case \"$1\" in\n"
	"-n|--cancel) rm -f " ROOT_RESET_FLAG "; echo \"mkbootmedia-reset: cancelled\"; exit 0 ;;\n"
	"'') ;;\n"
	"*) echo \"usage: mkbootmedia-reset [--cancel]\" >&2; exit 2 ;;\n"
	"esac\n"
	"if ! grep -q ' " ROOT_OVERLAY_DIR " ' /proc/mounts; then\n"
	"\techo \"mkbootmedia-reset: " ROOT_OVERLAY_DIR " is not mounted: no overlay partition "
	"to reset\" >&2\n"
	"\texit 1\n"
	"fi\n"
	"echo \"armed by mkbootmedia-reset\" >" ROOT_RESET_FLAG "\n"
	"sync\n"
	"echo \"mkbootmedia-reset: your changes will be erased at the next boot "
	"(mkbootmedia-reset --cancel undoes this)\"\n";

/* The root is final once the initrd is written (/boot is elsewhere): the filesystems are
 * closed (written out), the hash tree made from the image's bytes, and they are reopened
 * for the bootloader, which writes only to /boot. */
static int make_verity(struct build *b, struct root_priv *p)
{
	struct partition *root = build_part_at(b, "/"), *v = b->root_verity_part;
	_cleanup_free_ char *dir_copy = xstrdup(b->tmp_path);
	uint8_t salt[32], uuid[16];
	int r;

	build_derive(b, "verity-salt-1", salt);
	build_derive(b, "verity-salt-2", salt + 16);
	build_derive_uuid(b, "verity-uuid", uuid);
	if ((r = build_fs_close(b)) < 0)
		return r;
	r = verity_make(b->fd, root->offset, root->length, verity_block(root), v->offset, v->length,
			salt, uuid, dirname(dir_copy), &p->root_hash);
	if (r < 0)
		return r;
	if ((r = build_fs_reopen(b)) < 0)
		return r;
	b->root_hash = p->root_hash;
	log_info("dm-verity hash tree of '%s' on '%s', root hash %s", root->name, v->name,
		 b->root_hash);
	return 0;
}

static int root_run(struct build *b, void *priv)
{
	const struct tree_attr dir = { .mode = 0755, .mtime = b->now };
	const struct tree_attr exe = { .mode = 0755, .mtime = b->now };
	int r;

	(void)priv;
	if (b->root_overlay != ROOT_OVERLAY_NONE) {
		r = tree_exists(b->tree, ROOT_OVERLAY_DIR);
		if (r == 0)
			r = tree_mkdir(b->tree, ROOT_OVERLAY_DIR, &dir);
		if (r < 0)
			return r;
	}
	if (b->root_reset) {
		if ((r = tree_exists(b->tree, "/usr/sbin")) == 0)
			r = tree_mkdir(b->tree, "/usr/sbin", &dir);
		if (r < 0 || (r = tree_write(b->tree, "/usr/sbin/mkbootmedia-reset", &exe,
					     reset_script, strlen(reset_script))) < 0)
			return r;
		log_info("/usr/sbin/mkbootmedia-reset");
	}
	if (b->root_verity)
		return make_verity(b, priv);
	return 0;
}

static void root_free(void *priv)
{
	struct root_priv *p = priv;

	if (!p)
		return;
	free(p->overlay_name);
	free(p->verity_name);
	free(p->root_hash);
	free(p->size);
	free(p);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key root_key_table[] = {
	{ "root", "map", NULL, NULL, "how the root is mounted: read-only, under an overlay" },
	{ "root.read-only", "bool", "false (true with an overlay)", NULL,
	  "mounted read-only by the initramfs and never remounted rw" },
	{ "root.overlay", "string", "none", NULL,
	  "none, tmpfs (changes lost at power-off) or a partition name (changes kept there)" },
	{ "root.overlay-size", "size", "the kernel's (50%)", NULL,
	  "the tmpfs overlay's size: bytes or a percentage of RAM" },
	{ "root.reset", "bool", "false", NULL,
	  "a \"Factory reset\" GRUB entry and /usr/sbin/mkbootmedia-reset" },
	{ "root.verity", "bool", "false", NULL,
	  "dm-verity over the read-only root; the root hash goes on the kernel command line" },
	{ "root.verity-partition", "string", "verity", NULL,
	  "the partition (no filesystem) that holds the hash tree" },
	{ NULL },
};

const struct stage stage_root = {
	.name = "root",
	.key_table = root_key_table,
	.summary = "a read-only root under an overlay, and its factory reset",
	.parse = root_parse,
	.settle = root_settle,
	.verify = root_verify,
	.plan = root_plan,
	.run = root_run,
	.free = root_free,
};
