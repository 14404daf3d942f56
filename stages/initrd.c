/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "initrd": the kernel of the target's linux-image package, and an initramfs made
 * by lib/initrdgen from a description this stage fills from the recipe (not by the
 * target's mkinitramfs, which would have to run): a newc cpio holding a
 * static busybox, the kernel modules the root needs with their dependencies, and /init
 * (templates/init), which finds the root by label or UUID, mounts it and switch_roots.
 *
 * kernel:                    optional
 *   version: 6.1.0-13-amd64  which /boot/vmlinuz-<version> to boot (default: the newest);
 *                            it stays the menu's default while it is installed: with
 *                            generator mkbootmedia also when apt installs a newer kernel
 *                            (the description's default-kernel line)
 * initrd:                    optional
 *   compression: zstd        zstd, gzip, xz or none
 *   modules: [...]           more kernel modules (with their dependencies); a name this
 *                            kernel has neither as a module nor built in is an error
 *   files: [...]             more files: a path of the target, copied to the same path, or
 *                            {path, source: HOST-FILE | content: TEXT, mode}
 *   busybox: target          target: /bin/busybox of the target (package busybox-static);
 *                            host: this machine's /bin/busybox; or a path on this machine.
 *                            It must be statically linked.
 *   root-wait: 30            seconds /init waits for the root device (rootdelay= overrides)
 *   generator: mkbootmedia   what makes the initramfs of a kernel installed later (apt):
 *                            mkbootmedia: /usr/sbin/mkbootmedia-initrd in the target, run by
 *                            the kernel hooks, makes it as the build did (the description
 *                            in /etc/mkbootmedia/initrd.conf, the files from this machine
 *                            under /usr/lib/mkbootmedia/initrd); initramfs-tools: Debian's
 *                            (configure's mkinitramfs makes the first one too); none: no
 *                            hooks, a later kernel is not booted (always so on a dm-verity
 *                            root, which cannot change)
 *
 * The stage runs when kernel:, initrd: or a bootloader: other than none is given. The
 * modules always included, when the kernel has them as modules: disk controllers (ahci,
 * ata_piix, ata_generic, sd_mod, virtio_pci, virtio_blk, virtio_scsi), USB storage on any
 * host controller (usb_storage, uas, xhci, ehci, ohci, uhci), USB keyboards (usbhid,
 * hid_generic) and the module serving the root's filesystem (ext4 also serves ext2).
 * The initrd is written to /boot/initrd.img-<version>, with Debian's /vmlinuz and
 * /initrd.img symlinks in the root. Unless the generator is none, the kernel hooks
 * /etc/kernel/{postinst,postrm}.d/zz-mkbootmedia make or remove a kernel's initramfs and then
 * write GRUB's menu again from the bootloader stage's template (lib/grubmenu.h).
 *
 * partitions[].grow (the last partition): /init grows it to the end of the disk with the
 * target's sfdisk (package fdisk), then checks and grows its ext2/3/4 filesystem with the
 * target's e2fsck and resize2fs (e2fsprogs), before mounting the root; an encrypted root's
 * filesystem after it is opened (LUKS2's data segment follows the partition). */
#include <sys/mman.h>
#include <uuid/uuid.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cpio.h"
#include "initramfs.h"
#include "initrdgen.h"
#include "kmod.h"
#include "luks.h"
#include "fs.h"
#include "log.h"
#include "stage.h"
#include "templates.h"

#define MAX_BUSYBOX (32u << 20)
#define MAX_INITRD_FILE (256u << 20)

/* In the target (README "Kernel updates"). */
#define TARGET_PROGRAM "/usr/sbin/mkbootmedia-initrd"
#define DESC_PATH "/etc/mkbootmedia/initrd.conf"
#define SKELETON_DIR "/usr/lib/mkbootmedia/initrd"
#define UPDATE_GRUB "/usr/sbin/update-grub"
#define UPDATE_GRUB_DISTRIB "/usr/sbin/update-grub.distrib"

enum generator { GENERATOR_MKBOOTMEDIA, GENERATOR_INITRAMFS_TOOLS, GENERATOR_NONE };
static const char *const generator_names[] = { "mkbootmedia", "initramfs-tools", "none", NULL };

struct initrd_file {
	char *path;    /* in the initrd */
	char *target;  /* copied from this path of the target, or */
	char *source;  /* from this host file, or */
	char *content; /* this text */
	mode_t mode;
	bool mode_set;
	const struct node *node;
};

struct initrd_priv {
	bool asked; /* kernel: or initrd: is in the recipe */
	const char *version;
	enum cpio_compression compression;
	char **modules;
	struct initrd_file *files;
	size_t n_files;
	char *busybox; /* a host path; NULL: the target's */
	uint64_t root_wait;
	int generator; /* enum generator */
	char *program; /* this machine's build of TARGET_PROGRAM (found in verify) */
	const struct node *node, *modules_node, *kernel_node, *generator_node;
};


static const char *const default_modules[] = {
	"ahci",	      "ata_piix",  "ata_generic", "sd_mod",	"virtio_pci", "virtio_blk",
	"virtio_scsi", "usb_storage", "uas",	  "xhci_pci",	"xhci_hcd",   "ehci_pci",
	"ehci_hcd",   "ohci_pci",  "ohci_hcd",	  "uhci_hcd",	"usbhid",     "hid_generic",
	NULL,
};

static const char *const crypt_modules[] = {
	"dm_mod", "dm_crypt", "xts", "ecb", "cbc", "essiv", "aes_generic", "aesni_intel",
	"sha256_generic", NULL,
};

static int check_initrd_path(const struct node *n, const char *s)
{
	if (!path_is_safe_absolute(s) || strstr(s, "//") || streq(s, "/") || strlen(s) > 1024)
		return node_error(n, "'%s' is not an absolute path of a file", s);
	if (streq(s, "/init"))
		return node_error(n, "'/init' is the initrd's own init (templates/init)");
	return 0;
}

static int parse_files(struct initrd_priv *p, const struct node *list)
{
	int r;

	if ((r = node_expect(list, NODE_SEQ)) < 0)
		return r;
	p->files = xcalloc(list->n, sizeof(*p->files));
	for (size_t i = 0; i < list->n; i++) {
		const struct node *e = list->items[i], *v;
		struct initrd_file *f = &p->files[p->n_files++];
		const char *s;

		f->node = e;
		if (e->kind == NODE_SCALAR) {
			if ((r = node_get_string(e, &s)) < 0 || (r = check_initrd_path(e, s)) < 0)
				return r;
			f->path = xstrdup(s);
			f->target = xstrdup(s);
			continue;
		}
		if ((r = node_expect(e, NODE_MAP)) < 0)
			return r;
		if (!(v = node_get(e, "path")))
			return node_error(e, "missing 'path'");
		if ((r = node_get_string(v, &s)) < 0 || (r = check_initrd_path(v, s)) < 0)
			return r;
		f->path = xstrdup(s);
		if ((v = node_get(e, "source"))) {
			if ((r = node_get_string(v, &s)) < 0)
				return r;
			f->source = node_path_resolve(v, s);
		}
		if ((v = node_get(e, "content"))) {
			if (f->source)
				return node_error(v, "give 'source' or 'content', not both");
			if ((r = node_get_string(v, &s)) < 0)
				return r;
			f->content = xstrdup(s);
		}
		if (!f->source && !f->content)
			f->target = xstrdup(f->path);
		if ((v = node_get(e, "mode"))) {
			if ((r = node_get_mode(v, &f->mode)) < 0)
				return r;
			f->mode_set = true;
		}
	}
	return 0;
}

static int initrd_parse(struct build *b, void **ret_priv)
{
	_cleanup_free_ struct initrd_priv *p = xcalloc(1, sizeof(*p));
	const struct node *k = node_get(b->recipe->root, "kernel");
	const struct node *n = node_get(b->recipe->root, "initrd"), *v;
	int r;

	p->compression = CPIO_COMPRESSION_ZSTD;
	p->root_wait = 30;
	p->node = n;
	p->kernel_node = k;
	if (k) {
		if ((r = node_expect(k, NODE_MAP)) < 0)
			return r;
		if ((v = node_get(k, "version"))) {
			if ((r = node_get_string(v, &p->version)) < 0)
				return r;
			/* Also a word of the kernel hooks' shell command (install_generator). */
			if (!p->version[0] ||
			    strspn(p->version,
				   "0123456789abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+~_-") != strlen(p->version))
				return node_error(v, "'%s' is not a kernel version", p->version);
		}
	}
	if (n) {
		if ((r = node_expect(n, NODE_MAP)) < 0)
			return r;
		if ((v = node_get(n, "compression"))) {
			const char *s;

			if ((r = node_get_string(v, &s)) < 0)
				return r;
			r = cpio_compression_from_string(s);
			if (r < 0)
				return node_error(v, "'%s' is not a compression: use zstd, gzip, xz "
						  "or none", s);
			p->compression = r;
		}
		if ((v = node_get(n, "modules"))) {
			if ((r = node_get_strv(v, &p->modules)) < 0)
				return r;
			for (char **m = p->modules; *m; m++)
				if (!**m || strpbrk(*m, "/ \t") || strlen(*m) > 64)
					return node_error(v, "'%s' is not a module name", *m);
			p->modules_node = v;
		}
		if ((v = node_get(n, "files")) && (r = parse_files(p, v)) < 0)
			return r;
		if ((v = node_get(n, "busybox"))) {
			const char *s;

			if ((r = node_get_string(v, &s)) < 0)
				return r;
			if (streq(s, "host"))
				p->busybox = xstrdup("/bin/busybox");
			else if (!streq(s, "target"))
				p->busybox = node_path_resolve(v, s);
		}
		if ((v = node_get(n, "root-wait")) &&
		    (r = node_get_u64(v, 1, 3600, &p->root_wait)) < 0)
			return r;
		if ((v = node_get(n, "generator"))) {
			if ((r = node_get_enum(v, generator_names, &p->generator)) < 0)
				return r;
			p->generator_node = v;
		}
	}
	p->asked = k || n;
	*ret_priv = TAKE_PTR(p);
	return 1;
}

/* The stage runs when kernel: or initrd: asks for it, or when a boot loader (published by
 * the bootloader stage's parse) needs a kernel and an initramfs to boot. */
static int initrd_settle(struct build *b, void *priv)
{
	struct initrd_priv *p = priv;

	if (!p->asked && b->bootloader == BOOTLOADER_NONE)
		return 0;
	b->initrd = true;
	b->initrd_hooks = p->generator != GENERATOR_NONE;
	b->kernel_pin = p->version;
	b->initrd_node = p->kernel_node ? p->kernel_node : p->node ? p->node : b->bootloader_node;
	return 1;
}

/* This machine's build of the target program: beside the mkbootmedia binary in the source
 * tree (target/), else where make install put it. */
static char *find_program_build(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		char *slash;

		exe[n] = 0;
		if ((slash = strrchr(exe, '/'))) {
			_cleanup_free_ char *p = NULL;

			*slash = 0;
			p = xasprintf("%s/target/mkbootmedia-initrd", exe);
			if (access(p, R_OK) == 0)
				return TAKE_PTR(p);
		}
	}
	return xstrdup(MKBOOTMEDIA_LIBEXECDIR "/mkbootmedia-initrd");
}

static int verify_generator(struct build *b, struct initrd_priv *p, const struct node *where)
{
	const struct node *g = p->generator_node ? p->generator_node : where;
	struct utsname u;

	/* A dm-verity root never changes (its hash tree is made after this stage, the menu's
	 * template would come too late for it): nothing there can install a kernel. */
	if (b->root_verity && p->generator == GENERATOR_MKBOOTMEDIA) {
		if (p->generator_node)
			return node_error(
				g, "a dm-verity root cannot take a new kernel (nor the "
				   "menu's template, written after its hash tree): set "
				   "initrd.generator: none, and rebuild the image to update it");
		p->generator = GENERATOR_NONE;
		b->initrd_hooks = false;
	}
	if (p->generator == GENERATOR_NONE)
		return 0;
	/* The program is built for this machine: it runs in the target only when that is the
	 * same architecture. */
	if (uname(&u) < 0 || !streq(u.machine, "x86_64") || (b->arch && !streq(b->arch, "amd64")))
		return node_error(g,
				  "initrd.generator: %s puts this machine's build of "
				  "mkbootmedia-initrd into the target, which is %s: set "
				  "initrd.generator: none (kernel updates then need a rebuild)",
				  generator_names[p->generator], b->arch ? b->arch : "?");
	p->program = find_program_build();
	if (access(p->program, R_OK) < 0)
		return node_error(g,
				  "cannot read '%s' (mkbootmedia-initrd, the target's initramfs "
				  "generator): %s; run make, or set initrd.generator: none",
				  p->program, strerror(errno));
	if (p->generator != GENERATOR_INITRAMFS_TOOLS)
		return 0;
	/* Debian's initramfs finds a plain root by LABEL= or UUID=, no more of ours. */
	if (b->root_node)
		return node_error(
			g, "initramfs-tools cannot mount the root as "
			   "root: asks (read-only with an overlay, dm-verity): use generator "
			   "mkbootmedia");
	if (build_part_at(b, "/")->enc)
		return node_error(g, "initramfs-tools opens an encrypted root "
				     "only with cryptsetup-initramfs and /etc/crypttab, which "
				     "mkbootmedia does not write: use generator mkbootmedia");
	if (!b->packages || b->configure == CONFIGURE_NONE || b->configure == CONFIGURE_FIRST_BOOT)
		return node_error(g, "initramfs-tools makes the initramfs when "
				     "configure runs its postinst at build time: set "
				     "packages.configure to auto, userns or vm");
	if (p->modules || p->n_files || p->busybox || node_get(p->node, "compression") ||
	    node_get(p->node, "root-wait"))
		return node_error(g,
				  "initramfs-tools takes none of initrd's "
				  "other keys (its own settings are /etc/initramfs-tools/ in the "
				  "target: give them with files:)");
	return 0;
}

static int initrd_verify(struct build *b, void *priv)
{
	struct initrd_priv *p = priv;
	struct partition *root = build_part_at(b, "/");
	const struct node *where = p->node ? p->node : p->kernel_node;

	if (!where)
		where = node_get(b->recipe->root, "bootloader");
	if (!root)
		return node_error(where, "booting needs a filesystem mounted at /");
	if (!fs_driver_of(root->fs.type)->posix)
		return node_error(where, "the root filesystem is %s, which cannot hold a root "
				  "(owners, modes, symlinks): use ext2, ext3 or ext4",
				  fs_type_to_string(root->fs.type));
	for (size_t i = 0; i < p->n_files; i++)
		if (p->files[i].source && access(p->files[i].source, R_OK) < 0)
			return node_error(p->files[i].node, "cannot read '%s': %s",
					  p->files[i].source, strerror(errno));
	if (p->busybox && access(p->busybox, R_OK) < 0)
		return node_error(node_get(p->node, "busybox"), "cannot read '%s': %s%s",
				  p->busybox, strerror(errno),
				  streq(p->busybox, "/bin/busybox") ?
					  " (apt-get install busybox-static)" : "");
	for (size_t i = 0; i < b->n_parts; i++) {
		const struct partition *g = &b->parts[i];
		const struct node *gn = node_get(g->node, "grow");

		if (!g->grow)
			continue;
		if (g->fs.type != FS_EXT2 && g->fs.type != FS_EXT3 && g->fs.type != FS_EXT4)
			return node_error(gn,
					  "partition '%s' grows with its filesystem, which must "
					  "be ext2, ext3 or ext4 (resize2fs)",
					  g->name);
		if (p->generator == GENERATOR_INITRAMFS_TOOLS)
			return node_error(gn, "partitions grow in mkbootmedia's initramfs, and "
					      "initrd.generator is initramfs-tools");
		if (g->enc && g != root)
			return node_error(gn, "an encrypted partition grows only when it holds the "
					      "root (the initramfs opens no other)");
		if (b->root_verity && (g == root || g == b->root_verity_part))
			return node_error(gn, "a root checked by dm-verity cannot grow: its hash "
					      "tree covers every block");
		if (!strv_contains(b->packages_include, "fdisk"))
			return node_error(gn, "the initramfs grows the partition with the image's "
					      "sfdisk: add fdisk to packages.include");
	}
	if (root->enc && root->enc->format == LUKS_FORMAT_PLAIN) {
		struct partition *boot = build_boot_part(b);

		if (boot == root || !boot->fs.label || !boot->fs.label[0])
			return node_error(where, "a plain-encrypted root has no header to be found "
					  "by: the initrd looks for it next to the /boot filesystem "
					  "by its label; give /boot its own labelled partition");
	}
	return verify_generator(b, p, where);
}

static int initrd_plan(struct build *b, void *priv, FILE *out)
{
	struct initrd_priv *p = priv;
	_cleanup_free_ char *root = build_root_spec(b);

	if (p->generator == GENERATOR_INITRAMFS_TOOLS)
		fprintf(out, "initrd:\n  kernel %s; initrd by initramfs-tools for root=%s\n",
			p->version ? p->version : "(newest in /boot)", root);
	else
		fprintf(out, "initrd:\n  kernel %s; initrd (%s) for root=%s, busybox from %s\n",
			p->version ? p->version : "(newest in /boot)",
			cpio_compression_to_string(p->compression), root,
			p->busybox ? p->busybox : "the target");
	if (p->generator != GENERATOR_NONE)
		fprintf(out, "  kernel hooks: %s makes a later kernel's initrd, then the menu\n",
			p->generator == GENERATOR_MKBOOTMEDIA ? "mkbootmedia-initrd" :
								"initramfs-tools");
	return 0;
}

/* The kernel to boot: the recipe's, or the newest /boot/vmlinuz-*. */
static int find_kernel(struct build *b, struct initrd_priv *p, char **ret_version)
{
	int r = build_find_kernel(b, p->version, ret_version);

	if (r == -ENOENT && p->version)
		return node_error(node_get(p->kernel_node, "version"),
				  "no kernel '%s' in the target (/boot/vmlinuz-%s is missing)",
				  p->version, p->version);
	if (r == -ENOENT)
		return log_fail("no kernel in the target: /boot has no vmlinuz-*; add a kernel "
				"package (e.g. linux-image-amd64) to packages.include");
	if (r < 0)
		return log_errno(r, "cannot look for the kernel in /boot");
	return 0;
}

/* ---- the generator's view of the target: the tree, and the skeleton in memory ---- */

struct skel_file {
	char *path; /* under SKELETON_DIR */
	char *data;
	size_t size;
	mode_t mode;
};

struct tree_io {
	struct tree *tree;
	struct skel_file *skel; /* served before the tree (generator none writes no files) */
	size_t n_skel;
};

static const struct skel_file *skel_find(const struct tree_io *t, const char *path)
{
	for (size_t i = 0; i < t->n_skel; i++)
		if (streq(t->skel[i].path, path))
			return &t->skel[i];
	return NULL;
}

static int tio_read(void *userdata, const char *path, size_t max, char **ret, size_t *ret_size)
{
	struct tree_io *t = userdata;
	const struct skel_file *f = skel_find(t, path);

	if (!f)
		return tree_read(t->tree, path, max, ret, ret_size);
	if (f->size > max)
		return -EFBIG;
	*ret = xmalloc(f->size + 1);
	memcpy(*ret, f->data, f->size);
	(*ret)[f->size] = 0;
	if (ret_size)
		*ret_size = f->size;
	return 0;
}

static int tio_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	struct tree_io *t = userdata;
	struct tree_dirent *d;
	size_t n;
	int r = tree_list(t->tree, path, &d, &n);

	if (r < 0)
		return r;
	*ret = xcalloc(n ? n : 1, sizeof(**ret));
	for (size_t i = 0; i < n; i++)
		(*ret)[i] = (struct kmod_dirent){ .name = d[i].name, .type = d[i].type };
	free(d);
	*ret_n = n;
	return 0;
}

static int tio_mode(void *userdata, const char *path, mode_t *ret_mode)
{
	struct tree_io *t = userdata;
	const struct skel_file *f = skel_find(t, path);
	struct tree_stat st;
	int r;

	if (f) {
		*ret_mode = S_IFREG | f->mode;
		return 0;
	}
	if ((r = tree_lstat(t->tree, path, &st)) < 0)
		return r;
	*ret_mode = st.mode;
	return 0;
}

static void skel_add(struct tree_io *t, const char *rel, const void *data, size_t size, mode_t mode)
{
	struct skel_file *f;

	t->skel = xrealloc(t->skel, (t->n_skel + 1) * sizeof(*t->skel));
	f = &t->skel[t->n_skel++];
	f->path = xasprintf("%s/%s", SKELETON_DIR, rel);
	f->data = xmalloc(size + 1);
	memcpy(f->data, data, size);
	f->data[size] = 0;
	f->size = size;
	f->mode = mode;
}

static void tree_io_done(struct tree_io *t)
{
	for (size_t i = 0; i < t->n_skel; i++) {
		explicit_bzero(t->skel[i].data, t->skel[i].size); /* a key file may be one */
		free(t->skel[i].data);
		free(t->skel[i].path);
	}
	free(t->skel);
}

/* ---- the description ---- */

static char *initrd_conf_text(struct build *b, struct initrd_priv *p)
{
	_cleanup_free_ char *root = build_root_spec(b);
	struct partition *rp = build_part_at(b, "/");
	const struct encrypt_spec *e = rp->enc;
	char *conf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&conf, &len);

	fprintf(f, "# Defaults for /init, written by mkbootmedia; the kernel command line "
		"overrides them.\nROOT='%s'\nROOTFSTYPE='%s'\nROOTDELAY=%llu\n",
		root, fs_type_to_string(rp->fs.type), (unsigned long long)p->root_wait);
	if (e) {
		fprintf(f, "CRYPT_NAME='%s'\n", e->mapper_name);
		if (e->luks_uuid) {
			fprintf(f, "CRYPT_SOURCE='LUKS=%s'\nCRYPT_TYPE=luks\n", e->luks_uuid);
		} else {
			/* No header to find it by: the n-th partition of the disk whose /boot
			 * has this label (the seed's own trick). */
			fprintf(f, "CRYPT_SOURCE='PART=%s:%u'\nCRYPT_TYPE=plain\n"
				"CRYPT_OPTS='--cipher %s --key-size %u --hash ripemd160'\n",
				build_boot_part(b)->fs.label, rp->number, e->cipher, e->key_bits);
		}
		if (e->keyfile_in_initrd)
			fprintf(f, "CRYPT_KEYFILE='/etc/keys/%s.key'\n", e->mapper_name);
	}
	initramfs_root_conf(b, f);
	for (size_t i = 0; i < b->n_parts; i++) {
		const struct partition *g = &b->parts[i];
		char u[37];

		if (!g->grow)
			continue;
		if (g->enc)
			fputs("GROW_PART=\"$CRYPT_SOURCE\"\n", f); /* the root's, above */
		else if (g->fs.label && g->fs.label[0])
			fprintf(f, "GROW_PART='LABEL=%s'\n", g->fs.label);
		else
			fprintf(f, "GROW_PART='UUID=%s'\n", (uuid_unparse_lower(g->fs.uuid, u), u));
		fprintf(f, "GROW_ROOT=%d\n", g == rp);
	}
	fclose(f);
	return conf;
}

static bool build_grows(const struct build *b)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].grow)
			return true;
	return false;
}

/* What goes into the initramfs, for lib/initrdgen; the files that come from this machine
 * (templates/init, a host busybox, files with source: or content:, the LUKS key file) go to
 * the skeleton in io, read from there under SKELETON_DIR. */
static int make_desc(struct build *b, struct initrd_priv *p, struct tree_io *io,
		     struct initrd_desc **ret)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = initrd_desc_new();
	_cleanup_strv_free_ char **fs = build_fs_modules(b), **rm = initramfs_root_modules(b);
	const struct encrypt_spec *e = build_part_at(b, "/")->enc;
	size_t init_size;
	const char *init = template_get("init", &init_size);
	int r;

	d->compression = p->compression;
	d->mtime = b->now;
	/* the hooks' menu keeps the recipe's kernel as its default (lib/grubmenu.h) */
	if (p->version)
		d->default_kernel = xstrdup(p->version);
	skel_add(io, "init", init, init_size, 0755);
	d->init = xasprintf("%s/init", SKELETON_DIR);
	if (p->busybox) {
		_cleanup_free_ char *data = NULL;
		size_t size;

		if ((r = read_file(p->busybox, MAX_BUSYBOX, &data, &size)) < 0)
			return log_errno(r, "cannot read '%s'", p->busybox);
		skel_add(io, "bin/busybox", data, size, 0755);
		d->busybox = strv_append(NULL, SKELETON_DIR "/bin/busybox");
	} else {
		d->busybox = strv_append(strv_append(NULL, "/usr/bin/busybox"), "/bin/busybox");
	}
	initrd_desc_add_modules(d, (char *const *)default_modules, false);
	initrd_desc_add_modules(d, fs, false);
	/* dm-crypt and its ciphers; xts asks for ecb at run time, which modules.dep does not
	 * say, so both are listed (FIELD-NOTES). */
	if (e) {
		initrd_desc_add_modules(d, (char *const *)crypt_modules, false);
		initrd_desc_add_modules(d, (char *const *)(const char *const[]){ "dm_crypt", NULL },
					true);
	}
	if (p->modules)
		initrd_desc_add_modules(d, p->modules, true);
	/* root: (stage root): overlay, verity */
	if (rm)
		initrd_desc_add_modules(d, rm, true);
	if (e)
		initrd_desc_add_program(d, "cryptsetup-bin",
					(char *const *)(const char *const[]){
						"/usr/sbin/cryptsetup", "/sbin/cryptsetup", NULL });
	if (build_grows(b)) {
		initrd_desc_add_program(d, "fdisk",
					(char *const *)(const char *const[]){
						"/usr/sbin/sfdisk", "/sbin/sfdisk", NULL });
		initrd_desc_add_program(d, "e2fsprogs",
					(char *const *)(const char *const[]){
						"/usr/sbin/e2fsck", "/sbin/e2fsck", NULL });
		initrd_desc_add_program(d, "e2fsprogs",
					(char *const *)(const char *const[]){
						"/usr/sbin/resize2fs", "/sbin/resize2fs", NULL });
	}
	if (b->root_verity)
		initrd_desc_add_program(d, "cryptsetup-bin",
					(char *const *)(const char *const[]){
						"/usr/sbin/veritysetup", "/sbin/veritysetup",
						NULL });
	for (size_t i = 0; i < p->n_files; i++) {
		const struct initrd_file *f = &p->files[i];
		_cleanup_free_ char *data = NULL, *src = NULL;
		size_t size = 0;
		mode_t mode = 0644;

		if (f->target) {
			initrd_desc_add_item(d, f->path, f->target,
					     f->mode_set ? f->mode : (mode_t)-1);
			continue;
		}
		if (f->content) {
			data = xstrdup(f->content);
			size = strlen(data);
		} else {
			struct stat st;

			if ((r = read_file(f->source, MAX_INITRD_FILE, &data, &size)) < 0)
				return node_error(f->node, "cannot read '%s': %s", f->source,
						  strerror(-r));
			if (stat(f->source, &st) == 0)
				mode = st.st_mode & 07777;
		}
		if (f->mode_set)
			mode = f->mode;
		skel_add(io, f->path + 1, data, size, mode);
		src = xasprintf("%s%s", SKELETON_DIR, f->path);
		initrd_desc_add_item(d, f->path, src, mode);
	}
	if (e && e->keyfile_in_initrd) {
		_cleanup_free_ char *data = NULL, *rel = NULL, *dest = NULL, *src = NULL;
		size_t size;

		r = read_file(e->keyfile, 8u << 20, &data, &size);
		if (r < 0)
			return log_errno(r, "cannot read '%s'", e->keyfile);
		rel = xasprintf("etc/keys/%s.key", e->mapper_name);
		skel_add(io, rel, data, size, 0400);
		explicit_bzero(data, size);
		dest = xasprintf("/%s", rel);
		src = xasprintf("%s/%s", SKELETON_DIR, rel);
		initrd_desc_add_item(d, dest, src, 0400);
	}
	d->conf = initrd_conf_text(b, p);
	*ret = TAKE_PTR(d);
	return 0;
}

/* grub2-common's update-grub (which its kernel hooks zz-update-grub, GRUB's own postinst and
 * people run) would replace our menu by grub-mkconfig's: it is diverted, as dpkg-divert
 * --local --rename would (/var/lib/dpkg/diversions: from, to, ":" for a local one), to
 * UPDATE_GRUB_DISTRIB, and /usr/sbin/update-grub writes our menu instead. An upgrade of
 * grub2-common then installs its update-grub under the diverted name. */
static int divert_update_grub(struct build *b)
{
	const struct tree_attr exe = { .mode = 0755, .mtime = b->now };
	const struct tree_attr conf = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *div = NULL, *orig = NULL, *text = NULL;
	size_t div_size = 0, orig_size = 0;
	struct tree_stat st;
	int r;

	r = tree_lstat(b->tree, UPDATE_GRUB, &st);
	if (r == -ENOENT || r == -ENOTDIR || (r >= 0 && !S_ISREG(st.mode)))
		return 0;
	if (r < 0)
		return log_errno(r, "cannot look at '%s'", UPDATE_GRUB);
	r = tree_read(b->tree, "/var/lib/dpkg/diversions", 16u << 20, &div, &div_size);
	if (r == -ENOENT)
		div = xstrdup("");
	else if (r < 0)
		return log_errno(r, "cannot read /var/lib/dpkg/diversions of the target");
	for (const char *l = div; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
		if (startswith(l, UPDATE_GRUB "\n"))
			return 0; /* diverted already */
	if ((r = tree_read(b->tree, UPDATE_GRUB, 16u << 20, &orig, &orig_size)) < 0)
		return log_errno(r, "cannot read '%s'", UPDATE_GRUB);
	text = xasprintf("%s%s%s\n%s\n:\n", div, div_size && div[div_size - 1] != '\n' ? "\n" : "",
			 UPDATE_GRUB, UPDATE_GRUB_DISTRIB);
	if ((r = tree_write(b->tree, UPDATE_GRUB_DISTRIB, &exe, orig, orig_size)) < 0 ||
	    (r = tree_write(b->tree, "/var/lib/dpkg/diversions", &conf, text, strlen(text))) < 0)
		return r;
	free(text);
	text = xasprintf("#!/bin/sh\n# Written by mkbootmedia: GRUB's menu comes from "
			 "/etc/mkbootmedia/grub.cfg.in;\n# grub-mkconfig's update-grub is diverted "
			 "to %s (dpkg-divert --list).\nexec %s --update-menu\n",
			 UPDATE_GRUB_DISTRIB, TARGET_PROGRAM);
	if ((r = tree_write(b->tree, UPDATE_GRUB, &exe, text, strlen(text))) < 0)
		return r;
	log_info("%s diverted to %s: it writes mkbootmedia's menu", UPDATE_GRUB,
		 UPDATE_GRUB_DISTRIB);
	return 0;
}

/* The skeleton, the description and the program with its hooks, into the target: what
 * /usr/sbin/mkbootmedia-initrd needs to make the same initramfs for a later kernel. */
static int install_generator(struct build *b, struct initrd_priv *p, const struct tree_io *io,
			     const char *desc)
{
	const struct tree_attr dir = { .mode = 0755, .mtime = b->now };
	const struct tree_attr keydir = { .mode = 0700, .mtime = b->now };
	const struct tree_attr conf = { .mode = 0644, .mtime = b->now };
	const struct tree_attr exe = { .mode = 0755, .mtime = b->now };
	_cleanup_free_ char *prog = NULL, *postinst = NULL, *postrm = NULL, *pin = NULL;
	size_t prog_size;
	int r;

	/* The recipe's kernel.version stays the menu's default after updates, whatever the
	 * generator (initramfs-tools writes no description to carry it). */
	pin = p->version ? xasprintf(" --default-kernel %s", p->version) : xstrdup("");

	if (p->generator == GENERATOR_MKBOOTMEDIA) {
		if ((r = tree_mkdir(b->tree, SKELETON_DIR, &dir)) < 0)
			return r;
		for (size_t i = 0; i < io->n_skel; i++) {
			const struct skel_file *f = &io->skel[i];
			const struct tree_attr a = { .mode = f->mode, .mtime = b->now };
			_cleanup_free_ char *parent =
				xstrndup(f->path, strrchr(f->path, '/') - f->path);

			if ((r = tree_mkdir(b->tree, parent,
					    endswith(parent, "/etc/keys") ? &keydir : &dir)) < 0 ||
			    (r = tree_write(b->tree, f->path, &a, f->data, f->size)) < 0)
				return r;
		}
		if ((r = tree_write(b->tree, DESC_PATH, &conf, desc, strlen(desc))) < 0)
			return r;
	}
	if ((r = read_file(p->program, 64u << 20, &prog, &prog_size)) < 0)
		return log_errno(r, "cannot read '%s'", p->program);
	if ((r = tree_write(b->tree, TARGET_PROGRAM, &exe, prog, prog_size)) < 0)
		return r;
	{
		const char *vars[] = {
			"INITRD",
			p->generator == GENERATOR_MKBOOTMEDIA ?
				TARGET_PROGRAM " \"$version\"\n" :
				"# initramfs-tools made it (postinst.d/initramfs-tools)\n",
			"PIN", pin, NULL
		};
		const char *rvars[] = {
			"INITRD",
			p->generator == GENERATOR_MKBOOTMEDIA ?
				TARGET_PROGRAM " --remove \"$version\"\n" :
				"# initramfs-tools removed it (postrm.d/initramfs-tools)\n",
			"PIN", pin, NULL
		};

		if ((r = template_expand("kernel-postinst", template_get("kernel-postinst", NULL),
					 vars, &postinst)) < 0 ||
		    (r = template_expand("kernel-postrm", template_get("kernel-postrm", NULL),
					 rvars, &postrm)) < 0)
			return r;
	}
	if ((r = tree_write(b->tree, "/etc/kernel/postinst.d/zz-mkbootmedia", &exe, postinst,
			    strlen(postinst))) < 0 ||
	    (r = tree_write(b->tree, "/etc/kernel/postrm.d/zz-mkbootmedia", &exe, postrm,
			    strlen(postrm))) < 0)
		return r;
	log_info("%s and its kernel hooks (generator %s)", TARGET_PROGRAM,
		 generator_names[p->generator]);
	if (b->bootloader != BOOTLOADER_NONE && (r = divert_update_grub(b)) < 0)
		return r;
	return 0;
}

static int make_initrd(struct build *b, struct initrd_priv *p, const char *version, int fd)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = NULL, *parsed = NULL;
	_cleanup_free_ char *text = NULL;
	struct tree_io tio = { .tree = b->tree };
	const struct initrd_io io = {
		.kmod = { .userdata = &tio, .read = tio_read, .list = tio_list },
		.mode = tio_mode,
	};
	int r;

	if ((r = make_desc(b, p, &tio, &d)) < 0)
		goto out;
	/* What the target program will read: the build makes its initramfs from the same
	 * text, so the two agree by construction. */
	text = initrd_desc_format(d);
	if ((r = initrd_desc_parse(text, DESC_PATH, &parsed)) < 0)
		goto out;
	if (p->generator != GENERATOR_NONE && (r = install_generator(b, p, &tio, text)) < 0)
		goto out;
	if (p->generator == GENERATOR_MKBOOTMEDIA) {
		tree_io_done(&tio);
		tio = (struct tree_io){ .tree = b->tree };
	}
	r = initrd_make(parsed, &io, version, fd);
out:
	tree_io_done(&tio);
	return r;
}

static int initrd_run(struct build *b, void *priv)
{
	struct initrd_priv *p = priv;
	struct partition *boot = build_boot_part(b);
	_cleanup_free_ char *version = NULL, *kpath = NULL, *ipath = NULL;
	_cleanup_close_ int fd = -1;
	const struct tree_attr a = { .uid = 0, .gid = 0, .mode = 0644, .mtime = b->now };
	struct tree_stat kst;
	struct stat st;
	char b1[32], b2[32], b3[32], b4[32];
	uint64_t free_bytes;
	int r;

	if ((r = find_kernel(b, p, &version)) < 0)
		return r;
	kpath = xasprintf("/boot/vmlinuz-%s", version);
	if ((r = tree_lstat(b->tree, kpath, &kst)) < 0)
		return log_errno(r, "cannot read '%s'", kpath);
	log_info("kernel %s (%s)", version, format_bytes(b1, kst.size));

	ipath = xasprintf("/boot/initrd.img-%s", version);
	if (p->generator == GENERATOR_INITRAMFS_TOOLS) {
		struct tree_io none = { .tree = b->tree };

		if ((r = tree_lstat(b->tree, ipath, &kst)) < 0)
			return log_errno(r,
					 "initramfs-tools made no '%s' (is initramfs-tools in "
					 "packages.include, and linux-initramfs-tool not in "
					 "packages.provides?)",
					 ipath);
		log_info("%s by initramfs-tools (%s)", ipath, format_bytes(b1, kst.size));
		if ((r = install_generator(b, p, &none, NULL)) < 0)
			return r;
		goto links;
	}
	fd = memfd_create("initrd", MFD_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot create a memory file for the initrd");
	if ((r = make_initrd(b, p, version, fd)) < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return log_errno(errno, "cannot stat the initrd");

	/* Say what does not fit before libext2fs runs out of blocks halfway. */
	if ((r = build_fs_free_bytes(b, boot, &free_bytes)) < 0)
		return log_errno(r, "cannot tell the free space of partition '%s'", boot->name);
	if ((uint64_t)st.st_size + (uint64_t)st.st_size / 64 + 65536 > free_bytes)
		return log_fail("partition '%s' (%s) has %s free after the kernel (%s): too "
				"small for the initrd (%s); make the partition larger or compress "
				"harder (initrd.compression: xz)",
				boot->name, format_bytes(b1, boot->length),
				format_bytes(b2, free_bytes), format_bytes(b3, kst.size),
				format_bytes(b4, (uint64_t)st.st_size));
	if (lseek(fd, 0, SEEK_SET) < 0)
		return log_errno(errno, "cannot rewind the initrd");
	if ((r = tree_write_fd(b->tree, ipath, &a, fd, (uint64_t)st.st_size)) < 0)
		return r;
	log_info("%s (%s, %s)", ipath, cpio_compression_to_string(p->compression),
		 format_bytes(b1, (uint64_t)st.st_size));

links:
	/* Debian's symlinks (linux-base's linux-update-symlinks), relative, in the root. */
	{
		_cleanup_free_ char *kt = xasprintf("boot/vmlinuz-%s", version);
		_cleanup_free_ char *it = xasprintf("boot/initrd.img-%s", version);
		const struct tree_attr la = { .mode = 0777, .mtime = b->now };

		if ((r = tree_symlink(b->tree, "/vmlinuz", kt, &la)) < 0 ||
		    (r = tree_symlink(b->tree, "/initrd.img", it, &la)) < 0)
			return r;
	}
	/* Mount points the init moves /dev, /proc and /sys to, if no package made them. */
	for (const char *const *d = (const char *const[]){ "/dev", "/proc", "/sys", "/run",
							   NULL };
	     *d; d++) {
		const struct tree_attr da = { .mode = 0755, .mtime = b->now };

		r = tree_exists(b->tree, *d);
		if (r < 0)
			return r;
		if (!r && (r = tree_mkdir(b->tree, *d, &da)) < 0)
			return r;
	}
	b->kernel_version = TAKE_PTR(version);
	b->kernel_name = xasprintf("vmlinuz-%s", b->kernel_version);
	b->initrd_name = xasprintf("initrd.img-%s", b->kernel_version);
	return 0;
}

static void initrd_free(void *priv)
{
	struct initrd_priv *p = priv;

	if (!p)
		return;
	strv_free(p->modules);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].target);
		free(p->files[i].source);
		free(p->files[i].content);
	}
	free(p->files);
	free(p->busybox);
	free(p->program);
	free(p);
}


/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key initrd_key_table[] = {
	{ "kernel", "map", NULL, NULL, "the kernel to boot" },
	{ "kernel.version", "string", "the newest in /boot", NULL,
	  "e.g. 6.1.0-13-amd64; the menu's default while installed, also once apt installs a "
	  "newer kernel" },
	{ "initrd", "map", NULL, NULL, "mkbootmedia's initramfs" },
	{ "initrd.compression", "enum", "zstd", cpio_compression_names, "zstd, gzip, xz or none" },
	{ "initrd.modules", "list", "none", NULL, "more kernel modules, with their dependencies" },
	{ "initrd.files", "list", "none", NULL,
	  "more files: a target path (copied to the same path), or {path, source | content, mode}" },
	{ "initrd.files[].path", "path", "required", NULL, "the path in the initramfs" },
	{ "initrd.files[].source", "path", "none", NULL, "a file of the build host" },
	{ "initrd.files[].content", "string", "none", NULL, "the file's bytes" },
	{ "initrd.files[].mode", "mode", "0644", NULL, "octal" },
	{ "initrd.busybox", "string", "target", NULL,
	  "target: the image's /bin/busybox (busybox-static); host: this machine's; or a path" },
	{ "initrd.root-wait", "number", "30", NULL,
	  "seconds /init polls for the root device (rootdelay= overrides)" },
	{ "initrd.generator", "enum", "mkbootmedia", generator_names,
	  "what makes a later kernel's initramfs in the target (kernel hooks): mkbootmedia's "
	  "mkbootmedia-initrd, initramfs-tools, or none" },
	{ NULL },
};

const struct stage stage_initrd = {
	.name = "initrd",
	.key_table = initrd_key_table,
	.summary = "the kernel and a generated initramfs (busybox, modules, templates/init)",
	.parse = initrd_parse,
	.settle = initrd_settle,
	.verify = initrd_verify,
	.plan = initrd_plan,
	.run = initrd_run,
	.free = initrd_free,
};
