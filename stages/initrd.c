/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "initrd": the kernel of the target's linux-image package, and an initramfs made
 * here (not by the target's mkinitramfs, which would have to run): a newc cpio holding a
 * static busybox, the kernel modules the root needs with their dependencies, and /init
 * (templates/init), which finds the root by label or UUID, mounts it and switch_roots.
 *
 * kernel:                    optional
 *   version: 6.1.0-13-amd64  which /boot/vmlinuz-<version> to boot (default: the newest)
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
 *
 * The stage runs when kernel:, initrd: or a bootloader: other than none is given. The
 * modules always included, when the kernel has them as modules: disk controllers (ahci,
 * ata_piix, ata_generic, sd_mod, virtio_pci, virtio_blk, virtio_scsi), USB storage on any
 * host controller (usb_storage, uas, xhci, ehci, ohci, uhci), USB keyboards (usbhid,
 * hid_generic) and the module serving the root's filesystem (ext4 also serves ext2).
 * The initrd is written to /boot/initrd.img-<version>, with Debian's /vmlinuz and
 * /initrd.img symlinks in the root.
 *
 * partitions[].grow (the last partition): /init grows it to the end of the disk with the
 * target's sfdisk (package fdisk), then checks and grows its ext2/3/4 filesystem with the
 * target's e2fsck and resize2fs (e2fsprogs), before mounting the root; an encrypted root's
 * filesystem after it is opened (LUKS2's data segment follows the partition). */
#include <sys/mman.h>
#include <uuid/uuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpio.h"
#include "elfinfo.h"
#include "initramfs.h"
#include "kmod.h"
#include "luks.h"
#include "fs.h"
#include "log.h"
#include "stage.h"
#include "templates.h"

#define MAX_BUSYBOX (32u << 20)
#define MAX_INITRD_FILE (256u << 20)

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
	const struct node *node, *modules_node, *kernel_node;
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
			if (!p->version[0] || strchr(p->version, '/'))
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
	b->initrd_node = p->kernel_node ? p->kernel_node : p->node ? p->node : b->bootloader_node;
	return 1;
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
	return 0;
}

static int initrd_plan(struct build *b, void *priv, FILE *out)
{
	struct initrd_priv *p = priv;
	_cleanup_free_ char *root = build_root_spec(b);

	fprintf(out, "initrd:\n  kernel %s; initrd (%s) for root=%s, busybox from %s\n",
		p->version ? p->version : "(newest in /boot)",
		cpio_compression_to_string(p->compression), root,
		p->busybox ? p->busybox : "the target");
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

/* The target's file at one of the paths, whole. */
static int read_target(struct build *b, const char *const *paths, size_t max, char **ret,
		       size_t *ret_size, const char **ret_path)
{
	int r = -ENOENT;

	for (; *paths; paths++) {
		r = tree_read(b->tree, *paths, max, ret, ret_size);
		if (r != -ENOENT && r != -ENOTDIR) {
			if (r >= 0 && ret_path)
				*ret_path = *paths;
			return r;
		}
	}
	return -ENOENT;
}

static int read_busybox(struct build *b, struct initrd_priv *p, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *data = NULL, *interp = NULL;
	const char *where = p->busybox;
	size_t size = 0;
	int r;

	if (!p->busybox) {
		r = read_target(b, (const char *const[]){ "/usr/bin/busybox", "/bin/busybox", NULL },
				MAX_BUSYBOX, &data, &size, &where);
		if (r == -ENOENT)
			return log_fail("no busybox in the target for the initrd: add "
					"busybox-static to packages.include, or set "
					"initrd.busybox: host");
		if (r < 0)
			return log_errno(r, "cannot read busybox of the target");
	} else {
		r = read_file(p->busybox, MAX_BUSYBOX, &data, &size);
		if (r < 0)
			return log_errno(r, "cannot read '%s'", p->busybox);
	}
	r = elf_interp(data, size, &interp);
	if (r < 0)
		return log_fail("'%s' is not a usable busybox executable", where);
	if (interp)
		return log_fail("'%s' is dynamically linked (it needs %s): the initrd needs a "
				"static busybox, from the package busybox-static", where, interp);
	*ret = TAKE_PTR(data);
	*ret_size = size;
	return 0;
}

static int add_modules(struct build *b, struct initrd_priv *p, struct cpio *c,
		       const char *version)
{
	_cleanup_(kmod_freep) struct kmod *k = NULL;
	_cleanup_free_ char *moddir = xasprintf("/lib/modules/%s", version), *dep = NULL,
			    *order = NULL, *deppath = NULL;
	size_t order_len = 0;
	_cleanup_fclose_ FILE *orderf = NULL;
	_cleanup_strv_free_ char **fs = NULL;
	int r;

	r = build_kmod_open(b, version, &k);
	if (r == -ENOENT) {
		if (p->modules)
			return node_error(p->modules_node, "kernel %s has no modules in the "
					  "target (%s is missing)", version, moddir);
		log_warn("kernel %s has no %s: the initrd holds no modules", version, moddir);
		return 0;
	}
	if (r < 0)
		return r;
	fs = build_fs_modules(b);
	if ((r = kmod_resolve(k, (char *const *)default_modules, false, NULL, NULL)) < 0 ||
	    (r = kmod_resolve(k, fs, false, NULL, NULL)) < 0)
		return r;
	/* dm-crypt and its ciphers; xts asks for ecb at run time, which modules.dep does not
	 * say, so both are listed (FIELD-NOTES). */
	if (build_part_at(b, "/")->enc &&
	    ((r = kmod_resolve(k, (char *const *)crypt_modules, false, NULL, NULL)) < 0 ||
	     (r = kmod_resolve(k, (char *const *)(const char *const[]){ "dm_crypt", NULL }, true,
			       NULL, NULL)) < 0))
		return r;
	if (p->modules && (r = kmod_resolve(k, p->modules, true, NULL, NULL)) < 0)
		return r;
	/* root: (stage root): overlay */
	{
		_cleanup_strv_free_ char **rm = initramfs_root_modules(b);

		if (rm && (r = kmod_resolve(k, rm, true, NULL, NULL)) < 0)
			return log_fail("root: needs these kernel modules (overlay: "
					"fs/overlayfs; verity: drivers/md): add "
					"\"/lib/modules/*/kernel/fs/overlayfs/*\" to "
					"packages.path-include if the modules are trimmed");
	}
	orderf = open_memstream(&order, &order_len);
	for (size_t i = 0; i < kmod_count(k); i++) {
		_cleanup_free_ char *data = NULL, *path = NULL;
		size_t size;

		if ((r = kmod_module_data(k, i, &data, &size)) < 0)
			return r;
		path = xasprintf("lib/modules/%s/%s", version, kmod_initrd_path(k, i));
		if ((r = cpio_add_file(c, path, 0644, data, size)) < 0)
			return r;
		fprintf(orderf, "/%s\n", path);
	}
	fclose(TAKE_PTR(orderf));
	if ((r = kmod_dep_text(k, &dep)) < 0)
		return r;
	deppath = xasprintf("lib/modules/%s/modules.dep", version);
	if ((r = cpio_add_file(c, deppath, 0644, dep, strlen(dep))) < 0 ||
	    (r = cpio_add_file(c, "etc/modules.load", 0644, order, order_len)) < 0)
		return r;
	log_info("%zu kernel modules", kmod_count(k));
	return 0;
}

static int add_files(struct build *b, struct initrd_priv *p, struct cpio *c)
{
	int r;

	for (size_t i = 0; i < p->n_files; i++) {
		const struct initrd_file *f = &p->files[i];
		_cleanup_free_ char *data = NULL;
		size_t size = 0;
		mode_t mode = 0644;

		if (f->content) {
			data = xstrdup(f->content);
			size = strlen(data);
		} else if (f->source) {
			struct stat st;

			if ((r = read_file(f->source, MAX_INITRD_FILE, &data, &size)) < 0)
				return node_error(f->node, "cannot read '%s': %s", f->source,
						  strerror(-r));
			if (stat(f->source, &st) == 0)
				mode = st.st_mode & 07777;
		} else {
			struct tree_stat st;

			r = tree_read(b->tree, f->target, MAX_INITRD_FILE, &data, &size);
			if (r < 0)
				return node_error(f->node, "cannot copy '%s' of the target into "
						  "the initrd: %s", f->target, strerror(-r));
			if (tree_lstat(b->tree, f->target, &st) == 0 && S_ISREG(st.mode))
				mode = st.mode & 07777;
		}
		if (f->mode_set)
			mode = f->mode;
		if ((r = cpio_add_file(c, f->path + 1, mode, data, size)) < 0)
			return r;
	}
	return 0;
}

static int write_conf(struct build *b, struct initrd_priv *p, struct cpio *c)
{
	_cleanup_free_ char *root = build_root_spec(b), *conf = NULL;
	struct partition *rp = build_part_at(b, "/");
	const struct encrypt_spec *e = rp->enc;
	size_t len = 0;
	FILE *f = open_memstream(&conf, &len);
	int r;

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
	r = cpio_add_file(c, "etc/initrd.conf", 0644, conf, strlen(conf));
	if (r < 0 || !e || !e->keyfile_in_initrd)
		return r;
	{
		_cleanup_free_ char *data = NULL, *path = NULL;
		size_t size;

		r = read_file(e->keyfile, 8u << 20, &data, &size);
		if (r < 0)
			return log_errno(r, "cannot read '%s'", e->keyfile);
		path = xasprintf("etc/keys/%s.key", e->mapper_name);
		r = cpio_add_file(c, path, 0400, data, size);
		explicit_bzero(data, size);
		return r;
	}
}

/* A dynamically linked program of the target with every library it loads, found from
 * DT_NEEDED in the directories ld.so searches, copied at the same paths. */
static int add_program(struct build *b, struct cpio *c, const char *const *paths,
		       const char *package, const char *why)
{
	static const char *const libdirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					       "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
					       "/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu",
					       "/lib64", "/usr/lib64", "/lib", "/usr/lib", NULL };
	_cleanup_strv_free_ char **queue = NULL, **done = NULL;
	_cleanup_free_ char *data = NULL, *interp = NULL;
	bool gcc_s = false;
	const char *where = NULL;
	size_t size;
	int r;

	r = read_target(b, paths, 64u << 20, &data, &size, &where);
	if (r == -ENOENT)
		return log_fail("%s, and the initrd opens it with the target's %s: add %s to "
				"packages.include",
				why, paths[0], package);
	if (r < 0)
		return log_errno(r, "cannot read '%s' of the target", paths[0]);
	if ((r = elf_interp(data, size, &interp)) < 0 || (r = elf_needed(data, size, &queue)) < 0)
		return log_fail("'%s' of the target is not a usable program", where);
	if ((r = cpio_add_file(c, where + 1, 0755, data, size)) < 0)
		return r;
	if (interp) {
		_cleanup_free_ char *ld = NULL;

		if ((r = tree_read(b->tree, interp, 16u << 20, &ld, &size)) < 0)
			return log_errno(r, "cannot read the dynamic loader '%s' of the target",
					 interp);
		if (!cpio_contains(c, interp + 1) &&
		    (r = cpio_add_file(c, interp + 1, 0755, ld, size)) < 0)
			return r;
	}
	/* glibc dlopen()s libgcc_s for pthread_exit and cancellation, which cryptsetup's
	 * threads reach: DT_NEEDED does not say so. */
	queue = strv_append(queue, "libgcc_s.so.1");
	while (queue && queue[0]) {
		_cleanup_free_ char *soname = queue[0], *lib = NULL;
		_cleanup_strv_free_ char **more = NULL;
		const char *dir = NULL;
		size_t n = strv_length(queue);

		memmove(queue, queue + 1, n * sizeof(*queue)); /* the NULL too */
		if (strv_contains(done, soname))
			continue;
		done = strv_append(done, soname);
		for (const char *const *d = libdirs; *d && !dir; d++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", *d, soname);

			free(lib);
			lib = NULL;
			r = tree_read(b->tree, path, 64u << 20, &lib, &size);
			if (r >= 0)
				dir = *d;
			else if (r != -ENOENT && r != -ENOTDIR)
				return log_errno(r, "cannot read '%s' of the target", path);
		}
		if (!dir && streq(soname, "libgcc_s.so.1") && !gcc_s)
			continue; /* only dlopen()ed: no error if it is not there */
		if (!dir)
			return log_fail("'%s' needs %s, which is in none of the target's library "
					"directories", where, soname);
		{
			_cleanup_free_ char *path = xasprintf("%s/%s", dir + 1, soname);

			if (!cpio_contains(c, path) && (r = cpio_add_file(c, path, 0644, lib, size)) < 0)
				return r;
		}
		if ((r = elf_needed(lib, size, &more)) < 0)
			return log_fail("'%s/%s' of the target is not a usable library", dir, soname);
		for (char **m = more; *m; m++)
			if (!strv_contains(done, *m))
				queue = strv_append(queue, *m);
	}
	log_info("%s with %zu libraries", where, strv_length(done));
	return 0;
}

static bool build_grows(const struct build *b)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].grow)
			return true;
	return false;
}

static int build_cpio(struct build *b, struct initrd_priv *p, const char *version, int fd)
{
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *busybox = NULL;
	static const char *const dirs[] = { "bin", "dev", "etc", "lib", "proc", "root", "run",
					    "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin" };
	const char *init;
	size_t size = 0, init_size = 0;
	int r;

	if ((r = read_busybox(b, p, &busybox, &size)) < 0)
		return r;
	init = template_get("init", &init_size);
	if ((r = cpio_new(fd, p->compression, b->now, &c)) < 0)
		return r;
	r = initramfs_add_base(c, dirs, ARRAY_SIZE(dirs), busybox, size, init, init_size);
	if (r < 0 || (r = write_conf(b, p, c)) < 0 || (r = add_modules(b, p, c, version)) < 0 ||
	    (build_part_at(b, "/")->enc &&
	     (r = add_program(b, c,
			      (const char *const[]){ "/usr/sbin/cryptsetup", "/sbin/cryptsetup",
						     NULL },
			      "cryptsetup-bin", "the root is encrypted")) < 0) ||
	    (build_grows(b) &&
	     ((r = add_program(b, c,
			       (const char *const[]){ "/usr/sbin/sfdisk", "/sbin/sfdisk", NULL },
			       "fdisk", "a partition grows on the first boot")) < 0 ||
	      (r = add_program(b, c,
			       (const char *const[]){ "/usr/sbin/e2fsck", "/sbin/e2fsck", NULL },
			       "e2fsprogs", "a partition grows on the first boot")) < 0 ||
	      (r = add_program(b, c,
			       (const char *const[]){ "/usr/sbin/resize2fs", "/sbin/resize2fs",
						      NULL },
			       "e2fsprogs", "a partition grows on the first boot")) < 0)) ||
	    (b->root_verity &&
	     (r = add_program(b, c,
			      (const char *const[]){ "/usr/sbin/veritysetup", "/sbin/veritysetup",
						     NULL },
			      "cryptsetup-bin", "the root is checked by dm-verity")) < 0) ||
	    (r = add_files(b, p, c)) < 0)
		return r;
	return cpio_close(c);
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

	fd = memfd_create("initrd", MFD_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot create a memory file for the initrd");
	if ((r = build_cpio(b, p, version, fd)) < 0)
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
	ipath = xasprintf("/boot/initrd.img-%s", version);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return log_errno(errno, "cannot rewind the initrd");
	if ((r = tree_write_fd(b->tree, ipath, &a, fd, (uint64_t)st.st_size)) < 0)
		return r;
	log_info("%s (%s, %s)", ipath, cpio_compression_to_string(p->compression),
		 format_bytes(b1, (uint64_t)st.st_size));

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
	free(p);
}


/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key initrd_key_table[] = {
	{ "kernel", "map", NULL, NULL, "the kernel to boot" },
	{ "kernel.version", "string", "the newest in /boot", NULL, "e.g. 6.1.0-13-amd64" },
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
