/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "bootloader": GRUB for BIOS, for UEFI, or both in one image, installed into the
 * image file without root, without grub-install and without grub-bios-setup (both need the
 * boot directory mounted).
 *
 * BIOS (grub-bios) is the seed's chain: the BIOS runs boot.img in the MBR, which loads
 * core.img from the sectors after it; core.img reads /boot/grub/grub.cfg from the boot
 * partition, whose menu boots the kernel with the initrd.
 *
 * UEFI (grub-efi) goes through the EFI system partition (a partition of type efi holding a
 * vfat filesystem, mounted in the tree, normally at /boot/efi). The binaries go to the
 * removable-media path /EFI/BOOT/BOOTX64.EFI, which every firmware boots from a key without
 * an NVRAM entry, and to where Debian installs them, /EFI/debian/. With Secure Boot, they are
 * Debian's signed ones: shim (BOOTX64.EFI, shimx64.efi; Microsoft's signature) and GRUB
 * (grubx64.efi, Debian's signature, a monolithic image that finds its grub.cfg in
 * /EFI/debian/), taken from the packages shim-signed and grub-efi-amd64-signed in the image.
 * Without, GRUB is made by grub-mkimage -O x86_64-efi with its modules built in. Either way
 * the ESP's grub.cfg only finds /boot by its label (UUID without one) and reads the same
 * /boot/grub/grub.cfg as the BIOS chain, so grub-hybrid has one menu for both.
 *
 * bootloader:                optional (no bootloader when absent)
 *   type: grub-bios          grub-bios, grub-efi, grub-hybrid (both), or none
 *   secure-boot: auto        grub-efi/grub-hybrid: true (Debian's signed shim and GRUB; the
 *                            recipe must include shim-signed and grub-efi-amd64-signed),
 *                            false (grub-mkimage's unsigned GRUB), auto (signed when both
 *                            packages are in packages.include)
 *   ia32: false              grub-efi/grub-hybrid: also /EFI/BOOT/BOOTIA32.EFI, an unsigned
 *                            GRUB for 32-bit UEFI firmware (grub-efi-ia32-bin; Debian signs
 *                            none, so it boots only where Secure Boot is off)
 *   timeout: 5               seconds the menu waits (0: boot the default at once)
 *   default: 0               the entry booted when the time is up (counted from 0)
 *   cmdline: quiet           appended to the kernel command line of every Linux entry
 *   serial: ttyS0,115200     a serial console for the menu and the kernel (the kernel's
 *                            last console, so the initrd's messages and shell go there);
 *                            none: the screen only
 *   grub: auto               where GRUB's module directories (i386-pc, x86_64-efi) come
 *                            from: target (the packages grub-pc-bin, grub-efi-amd64-bin in
 *                            the image, /usr/lib/grub), host (this machine's), auto (the
 *                            target's when it has them). grub-mkimage (package grub-common)
 *                            always runs on this machine
 *   modules: [...]           more GRUB modules: installed beside grub.cfg for BIOS, built
 *                            into the unsigned EFI image (the signed one has its own set)
 *   entries: [...]           the menu, instead of the default one. {title, cmdline}: the
 *                            image's kernel and initrd, cmdline replacing
 *                            bootloader.cmdline; {title, memtest: true}: Memtest86+
 *
 * The default menu is the seed's: the normal boot, a single-user (rescue) boot, and
 * Memtest86+ when /boot holds memtest86+x64.bin (the package memtest86+). Every Linux entry
 * gets root=LABEL=<root label> (UUID= without a label) and ro, like Debian's.
 *
 * core.img holds only what reads the boot partition (biosdisk, the partition map, ext2:
 * about 52 sectors, so it also fits the 62-sector gap of CHS-aligned cards); the rest is
 * loaded from /boot/grub/i386-pc/, where the modules the menu needs are copied with
 * their dependencies (moddep.lst). On msdos tables core.img goes to sector 1; on GPT into
 * a partition of type bios_grub. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grubbios.h"
#include "grubmenu.h"
#include "fs.h"
#include "log.h"
#include "spawn.h"
#include "stage.h"
#include "templates.h"

#define GRUB_LIB_DIR "/usr/lib/grub" /* the same on this machine and in the target */
#define MAX_GRUB_FILE (16u << 20)
#define ESP_MIN_SIZE (UINT64_C(16) << 20)
/* The menu's template in the target, for the kernel hooks (stages/initrd.c). */
#define MENU_TEMPLATE "/etc/mkbootmedia/grub.cfg.in"

/* Debian's signed EFI binaries, in the target. mmx64.efi (MokManager) is what shim starts
 * when it refuses a binary; fbx64.efi (fallback) is left out: on a key it would write NVRAM
 * entries and reset the machine. */
#define SHIM_SIGNED "/usr/lib/shim/shimx64.efi.signed"
#define MOKMANAGER_SIGNED "/usr/lib/shim/mmx64.efi.signed"
#define GRUB_EFI_SIGNED "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
#define PKG_SHIM_SIGNED "shim-signed"
#define PKG_GRUB_SIGNED "grub-efi-amd64-signed"

enum grub_source { GRUB_AUTO, GRUB_TARGET, GRUB_HOST };
static const char *const grub_source_names[] = { "auto", "target", "host", NULL };

enum secure_boot { SECURE_BOOT_AUTO, SECURE_BOOT_TRUE, SECURE_BOOT_FALSE };
static const char *const secure_boot_names[] = { "auto", "true", "false", NULL };

/* A GRUB platform: its module directory under /usr/lib/grub and the package shipping it. */
struct grub_platform {
	const char *name;
	const char *package;
};
static const struct grub_platform platform_pc = { "i386-pc", "grub-pc-bin" };
static const struct grub_platform platform_efi = { "x86_64-efi", "grub-efi-amd64-bin" };
static const struct grub_platform platform_efi32 = { "i386-efi", "grub-efi-ia32-bin" };

struct entry {
	char *title;
	char *cmdline; /* NULL: bootloader.cmdline */
	bool memtest;
};

struct bootloader_priv {
	int type; /* enum bootloader_type */
	bool bios, efi;
	enum secure_boot secure_boot;
	const struct node *secure_boot_node;
	bool signed_efi; /* resolved in verify */
	bool ia32;       /* also /EFI/BOOT/BOOTIA32.EFI, for 32-bit UEFI firmware */
	uint64_t timeout, def;
	const char *cmdline;
	char *serial_dev; /* "ttyS0", NULL for none */
	unsigned serial_unit;
	uint64_t serial_speed;
	enum grub_source source;
	char **modules;
	struct entry *entries;
	size_t n_entries;
	const struct node *node;
	char *tmpdir; /* extracted copies of the target's GRUB directories */
};

/* Modules the generated grub.cfg and a rescue at its prompt need, besides what core.img
 * holds; their dependencies come from moddep.lst. Those a platform lacks are skipped. */
static const char *const menu_modules[] = {
	"normal",         "linux",        "linux16",   "serial",     "terminfo",
	"terminal",       "echo",         "test",      "ext2",       "fat",
	"part_msdos",     "part_gpt",     "biosdisk",  "configfile", "search",
	"search_fs_uuid", "search_label", "ls",        "cat",        "help",
	"halt",           "reboot",       "minicmd",   "gzio",       "chain",
	"efi_gop",        "efi_uga",      "all_video", NULL,
};

static int parse_serial(struct bootloader_priv *p, const struct node *n)
{
	const char *s, *comma;
	char *end;
	int r;

	if ((r = node_get_string(n, &s)) < 0)
		return r;
	if (streq(s, "none"))
		return 0;
	comma = strchr(s, ',');
	p->serial_dev = comma ? xstrndup(s, (size_t)(comma - s)) : xstrdup(s);
	p->serial_speed = 115200;
	if (!startswith(p->serial_dev, "ttyS") || !p->serial_dev[4] ||
	    strspn(p->serial_dev + 4, "0123456789") != strlen(p->serial_dev + 4) ||
	    strlen(p->serial_dev) > 6)
		return node_error(n, "'%s' is not a serial console: use ttyS<N>[,<speed>], e.g. "
				  "ttyS0,115200, or none", s);
	p->serial_unit = (unsigned)strtoul(p->serial_dev + 4, NULL, 10);
	if (comma) {
		errno = 0;
		p->serial_speed = strtoull(comma + 1, &end, 10);
		if (errno || end == comma + 1 || *end || p->serial_speed < 50 ||
		    p->serial_speed > 4000000)
			return node_error(n, "'%s': '%s' is not a speed in bits per second", s,
					  comma + 1);
	}
	return 0;
}

static int parse_entries(struct bootloader_priv *p, const struct node *list)
{
	int r;

	if ((r = node_expect(list, NODE_SEQ)) < 0)
		return r;
	if (!list->n)
		return node_error(list, "the menu needs at least one entry");
	p->entries = xcalloc(list->n, sizeof(*p->entries));
	for (size_t i = 0; i < list->n; i++) {
		const struct node *e = list->items[i], *v;
		struct entry *en = &p->entries[p->n_entries++];
		const char *s;

		if ((r = node_expect(e, NODE_MAP)) < 0)
			return r;
		if (!(v = node_get(e, "title")))
			return node_error(e, "missing 'title'");
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!s[0] || strpbrk(s, "'\n"))
			return node_error(v, "a title must be one line without single quotes");
		en->title = xstrdup(s);
		if ((v = node_get(e, "cmdline"))) {
			if ((r = node_get_string(v, &s)) < 0)
				return r;
			if (strpbrk(s, "\n;{}"))
				return node_error(v, "a command line is one line without ';', '{' "
						  "or '}'");
			en->cmdline = xstrdup(s);
		}
		if ((v = node_get(e, "memtest")) && (r = node_get_bool(v, &en->memtest)) < 0)
			return r;
		if (en->memtest && en->cmdline)
			return node_error(e, "a memtest entry takes no cmdline");
	}
	return 0;
}

static void bootloader_free(void *priv);
static void bootloader_freep(struct bootloader_priv **p)
{
	bootloader_free(*p);
}

static int bootloader_parse(struct build *b, void **ret_priv)
{
	const struct node *n = node_get(b->recipe->root, "bootloader"), *v;
	_cleanup_(bootloader_freep) struct bootloader_priv *p = NULL;
	int type = BOOTLOADER_GRUB_BIOS, r;

	if (!n)
		return 0;
	if (n->kind == NODE_SCALAR) {
		if ((r = node_get_enum(n, bootloader_type_names, &type)) < 0)
			return r;
	} else {
		if ((r = node_expect(n, NODE_MAP)) < 0)
			return r;
		if ((v = node_get(n, "type")) &&
		    (r = node_get_enum(v, bootloader_type_names, &type)) < 0)
			return r;
	}
	b->bootloader = type;
	b->bootloader_node = n;
	if (type == BOOTLOADER_NONE)
		return 0;
	if (n->kind == NODE_SCALAR)
		n = NULL;
	p = xcalloc(1, sizeof(*p));
	p->type = type;
	p->bios = type == BOOTLOADER_GRUB_BIOS || type == BOOTLOADER_GRUB_HYBRID;
	p->efi = type == BOOTLOADER_GRUB_EFI || type == BOOTLOADER_GRUB_HYBRID;
	p->timeout = 5;
	p->cmdline = "quiet";
	p->node = n ? n : node_get(b->recipe->root, "bootloader");
	p->serial_dev = xstrdup("ttyS0");
	p->serial_speed = 115200;
	if (!n)
		goto done;
	if ((v = node_get(n, "timeout")) && (r = node_get_u64(v, 0, 3600, &p->timeout)) < 0)
		return r;
	if ((v = node_get(n, "default")) && (r = node_get_u64(v, 0, 99, &p->def)) < 0)
		return r;
	if ((v = node_get(n, "cmdline"))) {
		if ((r = node_get_string(v, &p->cmdline)) < 0)
			return r;
		if (strpbrk(p->cmdline, "\n;{}"))
			return node_error(v, "a command line is one line without ';', '{' or '}'");
	}
	if ((v = node_get(n, "serial"))) {
		free(p->serial_dev);
		p->serial_dev = NULL;
		if ((r = parse_serial(p, v)) < 0)
			return r;
	}
	if ((v = node_get(n, "grub")) &&
	    (r = node_get_enum(v, grub_source_names, (int *)&p->source)) < 0)
		return r;
	if ((v = node_get(n, "secure-boot"))) {
		if ((r = node_get_enum(v, secure_boot_names, (int *)&p->secure_boot)) < 0)
			return r;
		if (!p->efi)
			return node_error(v, "secure-boot is for UEFI: use type: grub-efi or "
					     "grub-hybrid, or leave secure-boot out");
		p->secure_boot_node = v;
	}
	if ((v = node_get(n, "ia32"))) {
		if ((r = node_get_bool(v, &p->ia32)) < 0)
			return r;
		if (p->ia32 && !p->efi)
			return node_error(v, "ia32 is for UEFI: use type: grub-efi or grub-hybrid");
	}
	if ((v = node_get(n, "modules"))) {
		if ((r = node_get_strv(v, &p->modules)) < 0)
			return r;
		for (char **m = p->modules; *m; m++)
			if (!**m || strpbrk(*m, "/. \t") || strlen(*m) > 64)
				return node_error(v, "'%s' is not a GRUB module name", *m);
	}
	if ((v = node_get(n, "entries")) && (r = parse_entries(p, v)) < 0)
		return r;
	if (p->n_entries && p->def >= p->n_entries)
		return node_error(node_get(n, "default"), "default %llu: the menu has %zu "
				  "entries (counted from 0)", (unsigned long long)p->def,
				  p->n_entries);
done:
	*ret_priv = TAKE_PTR(p);
	return 1;
}

/* An ESP without a mount point is mounted where Debian mounts it, /boot/efi, so GRUB's files
 * have a place in the tree (and fstab lists it). */
static int bootloader_settle(struct build *b, void *priv)
{
	struct bootloader_priv *p = priv;
	struct partition *esp;

	if (!p)
		return 0;
	esp = build_esp(b);
	if (p->efi && esp && esp->fs.type == FS_VFAT && !esp->fs.mount &&
	    !build_part_at(b, "/boot/efi"))
		esp->fs.mount = xstrdup("/boot/efi");
	return 1;
}

/* The ESP the firmware reads: present, vfat, in clear, mounted in the tree, big enough. */
static int verify_esp(struct build *b, struct bootloader_priv *p)
{
	struct partition *esp = build_esp(b);
	const char *what = p->type == BOOTLOADER_GRUB_HYBRID ? "grub-hybrid" : "grub-efi";

	if (!esp)
		return node_error(p->node,
				  "%s needs an EFI system partition: add a partition with "
				  "type: efi and filesystem: {type: vfat, mount: /boot/efi} "
				  "(64MiB or more)",
				  what);
	if (esp->fs.type != FS_VFAT)
		return node_error(esp->fs.node ? esp->fs.node : esp->node,
				  "partition '%s' is the EFI system partition (type efi): the "
				  "firmware reads it as FAT, so give it filesystem: {type: vfat, "
				  "mount: /boot/efi}",
				  esp->name);
	if (esp->enc)
		return node_error(esp->enc->node ? esp->enc->node : esp->node,
				  "partition '%s' is the EFI system partition and is encrypted: "
				  "the firmware reads it, so it must stay in clear",
				  esp->name);
	if (!esp->fs.mount) /* settle gives it /boot/efi unless another partition has that */
		return node_error(esp->fs.node, "partition '%s' is the EFI system partition but "
				  "is not mounted, and /boot/efi is taken: give it a mount point, "
				  "where the boot loader's files are written", esp->name);
	if (esp->length < ESP_MIN_SIZE)
		return node_error(esp->node,
				  "partition '%s', the EFI system partition, is %llu "
				  "KiB: too small for shim and GRUB (about 12 MiB with Secure "
				  "Boot); give it at least 16MiB, 64MiB or more to be safe",
				  esp->name, (unsigned long long)(esp->length >> 10));
	return 0;
}

/* secure-boot: true and auto decide on packages.include, known before any download. */
static int verify_secure_boot(struct build *b, struct bootloader_priv *p)
{
	bool shim = b->packages && strv_contains(b->packages_include, PKG_SHIM_SIGNED);
	bool grub = b->packages && strv_contains(b->packages_include, PKG_GRUB_SIGNED);

	switch (p->secure_boot) {
	case SECURE_BOOT_TRUE:
		if (!b->packages)
			return node_error(p->secure_boot_node,
					  "secure-boot: true takes Debian's "
					  "signed shim and GRUB from the image's packages, and the "
					  "recipe has no packages: section");
		if (!shim || !grub)
			return node_error(p->secure_boot_node,
					  "secure-boot: true needs Debian's "
					  "signed boot loaders: add %s%s%s to packages.include",
					  shim ? "" : PKG_SHIM_SIGNED,
					  !shim && !grub ? " and " : "",
					  grub ? "" : PKG_GRUB_SIGNED);
		p->signed_efi = true;
		break;
	case SECURE_BOOT_AUTO:
		p->signed_efi = shim && grub;
		break;
	case SECURE_BOOT_FALSE:
		p->signed_efi = false;
		break;
	}
	return 0;
}

static int bootloader_verify(struct build *b, void *priv)
{
	struct bootloader_priv *p = priv;
	struct partition *boot = build_boot_part(b);
	int r;

	if (!boot)
		return node_error(p->node, "GRUB needs a filesystem mounted at /boot or /");
	if (!fs_driver_of(boot->fs.type)->grub_module)
		return node_error(p->node, "GRUB reads the kernel from partition '%s', which is "
				  "%s: use ext2, ext3 or ext4 for /boot", boot->name,
				  fs_type_to_string(boot->fs.type));
	if (boot->enc)
		return node_error(p->node,
				  "GRUB reads the kernel from partition '%s', which is "
				  "encrypted: that is not supported (the menu comes before any "
				  "passphrase); give /boot its own unencrypted partition",
				  boot->name);
	if (p->bios && b->table == TABLE_GPT) {
		bool found = false;

		for (size_t i = 0; i < b->n_parts; i++)
			found |= part_type_is_bios_grub(&b->parts[i].type);
		if (!found)
			return node_error(p->node,
					  "GRUB for BIOS on a GPT table needs a partition "
					  "of type bios-grub (1 MiB is plenty) to hold core.img; "
					  "or use table: msdos%s",
					  p->type == BOOTLOADER_GRUB_BIOS ?
						  "" :
						  ", or type: grub-efi for UEFI only");
	}
	if (p->efi && ((r = verify_esp(b, p)) < 0 || (r = verify_secure_boot(b, p)) < 0))
		return r;
	if (p->source == GRUB_HOST) {
		const struct grub_platform *need[] = {
			p->bios ? &platform_pc : NULL,
			p->efi && !p->signed_efi ? &platform_efi : NULL,
			p->ia32 ? &platform_efi32 : NULL,
		};

		for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
			_cleanup_free_ char *f = NULL;

			if (!need[i])
				continue;
			f = xasprintf(GRUB_LIB_DIR "/%s/moddep.lst", need[i]->name);
			if (access(f, R_OK) < 0)
				return node_error(node_get(p->node, "grub"),
						  "bootloader.grub is "
						  "host but this machine has no %s/%s (apt-get "
						  "install %s)",
						  GRUB_LIB_DIR, need[i]->name, need[i]->package);
		}
	}
	return 0;
}

static int bootloader_plan(struct build *b, void *priv, FILE *out)
{
	struct bootloader_priv *p = priv;
	struct partition *boot = build_boot_part(b), *esp = build_esp(b);

	fputs("bootloader:\n", out);
	if (p->bios)
		fprintf(out, "  GRUB for BIOS: boot.img in the MBR, core.img %s\n",
			b->table == TABLE_GPT ? "in the bios-grub partition" : "after it");
	if (p->efi)
		fprintf(out,
			"  GRUB for UEFI on '%s': /EFI/BOOT/BOOTX64.EFI and /EFI/debian/, %s\n",
			esp->name,
			p->signed_efi ? "Debian's signed shim and GRUB (Secure Boot)" :
					"an unsigned GRUB (no Secure Boot)");
	fprintf(out, "  /boot/grub on '%s'; menu timeout %llus, %s console\n", boot->name,
		(unsigned long long)p->timeout, p->serial_dev ? p->serial_dev : "screen");
	return 0;
}

/* Copies the target's /usr/lib/grub/<platform> out of the image, for grub-mkimage -d;
 * *ret_dir is the copy (owned by p->tmpdir). */
static int extract_target_grub(struct build *b, struct bootloader_priv *p,
			       const struct grub_platform *pf, char **ret_dir)
{
	_cleanup_free_ struct tree_dirent *d = NULL;
	_cleanup_free_ char *dir = NULL, *src_dir = xasprintf(GRUB_LIB_DIR "/%s", pf->name);
	size_t n = 0;
	int r;

	if (!p->tmpdir) {
		dir = xasprintf("%s.grub-XXXXXX", b->tmp_path);
		if (!mkdtemp(dir))
			return log_errno(errno, "cannot create a directory beside '%s'",
					 b->tmp_path);
		p->tmpdir = TAKE_PTR(dir);
	}
	dir = xasprintf("%s/%s", p->tmpdir, pf->name);
	if (mkdir(dir, 0755) < 0)
		return log_errno(errno, "cannot create '%s'", dir);
	r = tree_list(b->tree, src_dir, &d, &n);
	if (r < 0)
		return log_errno(r, "cannot list '%s' of the target", src_dir);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *src = NULL, *dst = NULL, *data = NULL;
		_cleanup_close_ int fd = -1;
		size_t size;

		if (d[i].type != 'f')
			continue;
		src = xasprintf("%s/%s", src_dir, d[i].name);
		dst = xasprintf("%s/%s", dir, d[i].name);
		if ((r = tree_read(b->tree, src, MAX_GRUB_FILE, &data, &size)) < 0) {
			log_errno(r, "cannot read '%s' of the target", src);
			break;
		}
		fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || (r = pwrite_all(fd, data, size, 0)) < 0) {
			r = log_errno(fd < 0 ? errno : r, "cannot write '%s'", dst);
			break;
		}
	}
	tree_dirents_free(TAKE_PTR(d), n);
	if (r < 0)
		return r;
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/* Where GRUB's modules for a platform come from (bootloader.grub): the target's copy
 * extracted, or this machine's directory. */
static int grub_dir(struct build *b, struct bootloader_priv *p, const struct grub_platform *pf,
		    char **ret_dir)
{
	_cleanup_free_ char *dir = xasprintf(GRUB_LIB_DIR "/%s", pf->name);
	_cleanup_free_ char *moddep = xasprintf("%s/moddep.lst", dir);
	int r;

	if (p->source != GRUB_HOST) {
		r = tree_exists(b->tree, moddep);
		if (r < 0)
			return r;
		if (r) {
			if ((r = extract_target_grub(b, p, pf, ret_dir)) < 0)
				return r;
			log_info("GRUB files from the target (%s)", pf->name);
			return 0;
		}
		if (p->source == GRUB_TARGET)
			return node_error(node_get(p->node, "grub"),
					  "bootloader.grub is target but "
					  "the image has no %s: add %s to packages.include",
					  dir, pf->package);
		if (access(moddep, R_OK) < 0)
			return log_fail("no GRUB for %s: the image has no %s and neither has this "
					"machine; add %s to packages.include, or apt-get install "
					"%s here",
					pf->name, dir, pf->package, pf->package);
	}
	log_info("GRUB files from this machine (%s)", pf->name);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/* moddep.lst: "name: dep dep ...". Adds name and everything it needs to *set. */
static int add_with_deps(const char *moddep, const char *name, char ***set, const char *dir)
{
	_cleanup_free_ char *key = xasprintf("\n%s:", name), *mod = NULL;
	const char *line;

	if (strv_contains(*set, name))
		return 0;
	mod = xasprintf("%s/%s.mod", dir, name);
	if (access(mod, R_OK) < 0)
		return -ENOENT;
	*set = strv_append(*set, name);
	line = strstr(moddep, key);
	if (!line && startswith(moddep, key + 1))
		line = moddep - 1;
	if (!line)
		return 0;
	line += strlen(key);
	while (*line && *line != '\n') {
		size_t len;
		_cleanup_free_ char *dep = NULL;

		line += strspn(line, " ");
		len = strcspn(line, " \n");
		if (!len)
			break;
		dep = xstrndup(line, len);
		if (add_with_deps(moddep, dep, set, dir) < 0)
			return log_fail("GRUB module '%s' needs '%s', which '%s' lacks", name, dep,
					dir);
		line += len;
	}
	return 0;
}

static int copy_host_file(struct build *b, const char *src, const char *dst)
{
	_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
	const struct tree_attr a = { .mode = 0644, .mtime = b->now };
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return log_errno(errno, "cannot read '%s'", src);
	return tree_write_fd(b->tree, dst, &a, fd, (uint64_t)st.st_size);
}

/* The menu's modules that `dir` has, and the recipe's (each must exist), with what they
 * need, sorted. */
static int module_set(struct bootloader_priv *p, const char *dir, char ***ret_set)
{
	_cleanup_free_ char *moddep = NULL, *path = xasprintf("%s/moddep.lst", dir);
	_cleanup_strv_free_ char **set = NULL;
	size_t size;
	int r;

	if ((r = read_file(path, MAX_GRUB_FILE, &moddep, &size)) < 0)
		return log_errno(r, "cannot read '%s'", path);
	for (const char *const *m = menu_modules; *m; m++)
		if ((r = add_with_deps(moddep, *m, &set, dir)) < 0 && r != -ENOENT)
			return r;
	for (char **m = p->modules; m && *m; m++) {
		r = add_with_deps(moddep, *m, &set, dir);
		if (r == -ENOENT)
			return node_error(node_get(p->node, "modules"), "no GRUB module '%s' in "
					  "%s", *m, dir);
		if (r < 0)
			return r;
	}
	strv_sort(set);
	*ret_set = TAKE_PTR(set);
	return 0;
}

static int install_modules(struct build *b, struct bootloader_priv *p, const char *dir,
			   const char *grubdir)
{
	_cleanup_strv_free_ char **set = NULL;
	_cleanup_(closedirp) DIR *dh = NULL;
	struct dirent *de;
	int r;

	if ((r = module_set(p, dir, &set)) < 0)
		return r;
	for (char **m = set; *m; m++) {
		_cleanup_free_ char *src = xasprintf("%s/%s.mod", dir, *m);
		_cleanup_free_ char *dst = xasprintf("%s/i386-pc/%s.mod", grubdir, *m);

		if ((r = copy_host_file(b, src, dst)) < 0)
			return r;
	}
	/* The lists normal.mod reads to load commands, filesystems and terminals on demand. */
	dh = opendir(dir);
	if (!dh)
		return log_errno(errno, "cannot open '%s'", dir);
	_cleanup_strv_free_ char **lists = NULL;
	while ((de = readdir(dh)))
		if (endswith(de->d_name, ".lst"))
			lists = strv_append(lists, de->d_name);
	strv_sort(lists);
	for (char **l = lists; l && *l; l++) {
		_cleanup_free_ char *src = xasprintf("%s/%s", dir, *l);
		_cleanup_free_ char *dst = xasprintf("%s/i386-pc/%s", grubdir, *l);

		if ((r = copy_host_file(b, src, dst)) < 0)
			return r;
	}
	log_info("%zu GRUB modules in %s/i386-pc", strv_length(set), grubdir);
	return 0;
}

/* PRETTY_NAME from the target's os-release, or NULL. */
static char *os_name(struct build *b)
{
	_cleanup_free_ char *data = NULL;
	const char *line;

	if (tree_read(b->tree, "/etc/os-release", 65536, &data, NULL) < 0 &&
	    tree_read(b->tree, "/usr/lib/os-release", 65536, &data, NULL) < 0)
		return NULL;
	for (line = data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (startswith(line, "PRETTY_NAME=")) {
			const char *v = line + strlen("PRETTY_NAME=");
			size_t len = strcspn(v, "\n");
			_cleanup_free_ char *s = NULL;

			if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
				v++;
				len -= 2;
			}
			s = xstrndup(v, len);
			if (!s[0] || strpbrk(s, "'\\$"))
				break;
			return TAKE_PTR(s);
		}
	return NULL;
}

/* A word of grub.cfg: as it is when GRUB's script reads every character of it literally, else
 * in single quotes (a quote itself as '\''); either way the kernel gets the word unquoted.
 * The partition stage already limits labels to such characters; this keeps a root spec from
 * ever becoming script. */
static void print_grub_word(FILE *f, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789._+-:@/=,";

	if (s[strspn(s, plain)] == 0)
		fputs(s, f);
	else
		fput_quoted(f, s);
}

/* root.verity (stage root): the root hash /init gives veritysetup, on every entry. */
static void print_verity_arg(FILE *f, const struct build *b)
{
	if (b->root_hash)
		fprintf(f, " roothash=%s", b->root_hash);
}

/* One kernel's entry of the menu template (lib/grubmenu.h): @VERSION@ is the kernel's. */
static void print_linux_entry(FILE *f, struct build *b, struct bootloader_priv *p,
			      const char *title, const char *cmdline, const char *kdir)
{
	_cleanup_free_ char *root = build_root_spec(b);
	_cleanup_free_ char *root_arg = xasprintf("root=%s", root);

	fprintf(f, "#@kernel\nmenuentry '%s' {\n", title);
	fprintf(f, "\tlinux\t%s/vmlinuz-@VERSION@ ", kdir);
	print_grub_word(f, root_arg);
	fputs(" ro", f);
	print_verity_arg(f, b);
	if (cmdline && cmdline[0])
		fprintf(f, " %s", cmdline);
	if (p->serial_dev)
		fprintf(f, " console=tty0 console=%s,%llu", p->serial_dev,
			(unsigned long long)p->serial_speed);
	fputc('\n', f);
	if (b->initrd_name)
		fprintf(f, "\tinitrd\t%s/initrd.img-@VERSION@\n", kdir);
	fputs("}\n", f);
}

/* Memtest86+ 6 has a BIOS binary and an EFI one; the menu picks by the platform it runs
 * on. */
static void print_memtest_entry(FILE *f, struct bootloader_priv *p, const char *title,
				const char *kdir)
{
	fprintf(f, "#@other\nmenuentry '%s' {\n", title);
	if (p->efi && p->bios)
		fprintf(f,
			"\tif [ \"$grub_platform\" = efi ]; then\n"
			"\t\tlinux\t%s/memtest86+x64.efi\n\telse\n"
			"\t\tlinux16\t%s/memtest86+x64.bin\n\tfi\n",
			kdir, kdir);
	else if (p->efi)
		fprintf(f, "\tlinux\t%s/memtest86+x64.efi\n", kdir);
	else
		fprintf(f, "\tlinux16\t%s/memtest86+x64.bin\n", kdir);
	fputs("}\n", f);
}

/* root.reset (stage root): a last entry, "Factory reset", whose /init empties the overlay
 * partition before mounting it. Returns the number of entries added. */
static size_t print_reset_entry(FILE *f, struct build *b, struct bootloader_priv *p,
				const char *kdir)
{
	_cleanup_free_ char *c = NULL;

	if (!b->root_reset)
		return 0;
	c = xasprintf("%s%smkbootmedia.reset=1", p->cmdline, p->cmdline[0] ? " " : "");
	print_linux_entry(f, b, p, "Factory reset", c, kdir);
	return 1;
}

static int write_config(struct build *b, struct bootloader_priv *p, const char *grubdir,
			const char *kdir)
{
	_cleanup_free_ char *entries = NULL, *terminal = NULL, *cfg = NULL, *name = NULL;
	_cleanup_free_ char *memtest = NULL, *path = NULL, *def = NULL, *timeout = NULL;
	_cleanup_free_ char *tpl = NULL;
	_cleanup_strv_free_ char **kernels = NULL;
	const struct tree_attr a = { .mode = 0644, .mtime = b->now };
	size_t len = 0, n_entries = 0;
	const char *recipe_name;
	FILE *f;
	int r;

	memtest = xasprintf("/boot/memtest86+x64.bin");
	r = tree_exists(b->tree, memtest);
	if (r < 0)
		return r;
	if (!r) {
		free(memtest);
		memtest = NULL;
	}
	name = os_name(b);
	f = open_memstream(&entries, &len);
	if (p->n_entries) {
		for (size_t i = 0; i < p->n_entries; i++) {
			const struct entry *e = &p->entries[i];

			if (!e->memtest) {
				print_linux_entry(f, b, p, e->title,
						  e->cmdline ? e->cmdline : p->cmdline, kdir);
				continue;
			}
			if (!memtest) {
				fclose(f);
				return node_error(p->node, "entry '%s' runs Memtest86+, but the "
						  "image has no /boot/memtest86+x64.bin: add "
						  "memtest86+ to packages.include", e->title);
			}
			print_memtest_entry(f, p, e->title, kdir);
		}
		n_entries = p->n_entries;
	} else {
		_cleanup_free_ char *t1 = NULL, *t2 = NULL;
		_cleanup_free_ char *c2 = NULL;

		if (name) {
			t1 = xasprintf("%s, Linux @VERSION@", name);
			t2 = xasprintf("%s, Linux @VERSION@ (single-user mode)", name);
		} else {
			t1 = xstrdup("Linux @VERSION@");
			t2 = xstrdup("Linux @VERSION@ (single-user mode)");
		}
		c2 = xasprintf("%s%ssingle", p->cmdline, p->cmdline[0] ? " " : "");

		print_linux_entry(f, b, p, t1, p->cmdline, kdir);
		print_linux_entry(f, b, p, t2, c2, kdir);
		n_entries = 2;
		if (memtest) {
			print_memtest_entry(f, p, "Memtest86+", kdir);
			n_entries++;
		}
	}
	n_entries += print_reset_entry(f, b, p, kdir);
	fclose(f);
	if (p->def >= n_entries)
		return node_error(p->node, "default %llu: the menu has %zu entries (counted from "
				  "0)", (unsigned long long)p->def, n_entries);
	if (p->serial_dev)
		terminal = xasprintf("serial --unit=%u --speed=%llu\n"
				     "terminal_input serial console\n"
				     "terminal_output serial console",
				     p->serial_unit, (unsigned long long)p->serial_speed);
	else
		terminal = xstrdup("terminal_output console");
	recipe_name = b->recipe_path ? strrchr(b->recipe_path, '/') : NULL;
	recipe_name = recipe_name ? recipe_name + 1 : b->recipe_path ? b->recipe_path : "";
	def = xasprintf("%llu", (unsigned long long)p->def);
	timeout = xasprintf("%llu", (unsigned long long)p->timeout);
	{
		const char *vars[] = { "RECIPE",   recipe_name,
				       "TERMINAL", terminal,
				       "DEFAULT",  def,
				       "TIMEOUT",  timeout,
				       "ENTRIES",  entries,
				       NULL };

		if ((r = template_expand("grub.cfg", template_get("grub.cfg", NULL), vars, &tpl)) <
		    0)
			return r;
	}
	/* The menu for the kernels in /boot, as the target's hooks make it again when apt
	 * installs or removes one (lib/grubmenu.h). */
	{
		const struct kmod_io io = build_tree_io(b);

		if ((r = grubmenu_kernels(&io, "/boot", b->kernel_pin, &kernels)) < 0)
			return r;
		if (!strv_contains(kernels, b->kernel_version))
			return log_fail("/boot has no initrd.img-%s beside vmlinuz-%s",
					b->kernel_version, b->kernel_version);
		if ((r = grubmenu_expand(tpl, kernels, &cfg)) < 0)
			return r;
	}
	if (b->initrd_hooks && (r = tree_write(b->tree, MENU_TEMPLATE, &a, tpl, strlen(tpl))) < 0)
		return r;
	path = xasprintf("%s/grub.cfg", grubdir);
	return tree_write(b->tree, path, &a, cfg, strlen(cfg));
}

/* grub-mkimage -O FORMAT -d DIR -p PREFIX [-c CONFIG] MODULES...: the image in *ret. */
static int grub_mkimage(struct build *b, const char *format, const char *dir, const char *prefix,
			const char *config, char *const *modules, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *out = NULL, *cfg = NULL, *output = NULL;
	_cleanup_strv_free_ char **argv = NULL;
	int r;

	out = xasprintf("%s.core-XXXXXX", b->tmp_path);
	{
		int fd = mkstemp(out);

		if (fd < 0)
			return log_errno(errno, "cannot create a file beside '%s'", b->tmp_path);
		close(fd);
	}
	if (config) {
		int fd;

		cfg = xasprintf("%s.cfg-XXXXXX", b->tmp_path);
		fd = mkstemp(cfg);
		if (fd < 0) {
			r = log_errno(errno, "cannot create a file beside '%s'", b->tmp_path);
			unlink(out);
			return r;
		}
		r = pwrite_all(fd, config, strlen(config), 0);
		close(fd);
		if (r < 0) {
			log_errno(r, "cannot write '%s'", cfg);
			goto done;
		}
	}
	argv = strv_append(argv, "grub-mkimage");
	argv = strv_append(argv, "-O");
	argv = strv_append(argv, format);
	argv = strv_append(argv, "-d");
	argv = strv_append(argv, dir);
	argv = strv_append(argv, "-p");
	argv = strv_append(argv, prefix);
	argv = strv_append(argv, "-o");
	argv = strv_append(argv, out);
	if (cfg) {
		argv = strv_append(argv, "-c");
		argv = strv_append(argv, cfg);
	}
	for (char *const *m = modules; *m; m++)
		argv = strv_append(argv, *m);
	r = spawn_capture(argv, &output);
	if (r == 127 && strstr(output, "cannot run"))
		r = log_fail("cannot run grub-mkimage: install it (apt-get install grub-common)");
	else if (r > 0)
		r = log_fail("grub-mkimage -O %s failed (exit status %d): %s", format, r, output);
	if (r == 0 && (r = read_file(out, MAX_GRUB_FILE, ret, ret_size)) < 0)
		log_errno(r, "cannot read '%s'", out);
done:
	unlink(out);
	if (cfg)
		unlink(cfg);
	return r;
}

/* GRUB for BIOS: the modules in /boot/grub/i386-pc, core.img (what reads /boot: the disk,
 * the partition map, the filesystem) after the MBR or in the bios_grub partition, boot.img
 * in the MBR. */
static int install_bios(struct build *b, struct bootloader_priv *p, const char *grubdir)
{
	struct partition *boot = build_boot_part(b);
	bool separate = build_part_at(b, "/boot") != NULL;
	_cleanup_free_ char *dir = NULL, *prefix = NULL, *core = NULL, *bootimg = NULL;
	_cleanup_free_ char *path = NULL;
	const char *partmap = b->table == TABLE_GPT ? "part_gpt" : "part_msdos";
	/* verify made sure /boot's filesystem has a GRUB module */
	const char *fsmod = fs_driver_of(boot->fs.type)->grub_module;
	char *const core_modules[] = { (char *)"biosdisk", (char *)partmap, (char *)fsmod, NULL };
	uint64_t core_lba = 1, gap_end = UINT64_MAX;
	size_t core_size, boot_size;
	int r;

	if ((r = grub_dir(b, p, &platform_pc, &dir)) < 0 ||
	    (r = install_modules(b, p, dir, grubdir)) < 0)
		return r;
	prefix = xasprintf("(,%s%u)%s/grub", b->table == TABLE_GPT ? "gpt" : "msdos",
			   boot->number, separate ? "" : "/boot");
	if ((r = grub_mkimage(b, "i386-pc", dir, prefix, NULL, core_modules, &core, &core_size)) <
	    0)
		return r;
	path = xasprintf("%s/boot.img", dir);
	if ((r = read_file(path, 4096, &bootimg, &boot_size)) < 0)
		return log_errno(r, "cannot read '%s'", path);

	/* Where core.img goes: the gap after the MBR, up to the first partition; on GPT, the
	 * bios_grub partition. */
	for (size_t i = 0; i < b->n_parts; i++) {
		const struct partition *q = &b->parts[i];

		if (b->table == TABLE_GPT && part_type_is_bios_grub(&q->type)) {
			core_lba = q->offset / 512;
			gap_end = (q->offset + q->length) / 512;
			break;
		}
		if (b->table != TABLE_GPT && q->offset / 512 < gap_end)
			gap_end = q->offset / 512;
	}
	if ((r = grubbios_install(b->fd, b->out_path, bootimg, boot_size, core, core_size,
				  core_lba, gap_end)) < 0)
		return r;
	log_info("boot.img in the MBR, core.img (%zu sectors) at sector %llu, prefix %s",
		 (core_size + 511) / 512, (unsigned long long)core_lba, prefix);
	{
		_cleanup_free_ char *dst = xasprintf("%s/i386-pc/core.img", grubdir);
		_cleanup_free_ char *dst2 = xasprintf("%s/i386-pc/boot.img", grubdir);
		const struct tree_attr a = { .mode = 0644, .mtime = b->now };

		if ((r = tree_write(b->tree, dst, &a, core, core_size)) < 0 ||
		    (r = tree_write(b->tree, dst2, &a, bootimg, boot_size)) < 0)
			return r;
	}
	return 0;
}

/* The ESP's grub.cfg: finds the partition holding /boot by its label (its UUID without
 * one) and reads the menu there, the one the BIOS chain reads too. */
static char *esp_config(struct build *b, const char *grubdir)
{
	struct partition *boot = build_boot_part(b);
	bool separate = build_part_at(b, "/boot") != NULL;
	_cleanup_free_ char *cfg = NULL;
	size_t len = 0;
	char u[37];
	FILE *f = open_memstream(&cfg, &len);

	fputs("# Written by mkbootmedia: find /boot, then read its menu.\n", f);
	if (boot->fs.label && boot->fs.label[0]) {
		fputs("search --no-floppy --set=root --label ", f);
		print_grub_word(f, boot->fs.label);
	} else {
		fputs("search --no-floppy --set=root --fs-uuid ", f);
		print_grub_word(f, build_fs_uuid(boot, u));
	}
	fprintf(f, "\nset prefix=($root)%s\nconfigfile $prefix/grub.cfg\n",
		separate ? grubdir + strlen("/boot") : grubdir);
	fclose(f);
	return TAKE_PTR(cfg);
}

static int esp_write(struct build *b, const char *esp_dir, const char *path, const void *data,
		     size_t size)
{
	_cleanup_free_ char *dst = xasprintf("%s%s", esp_dir, path);
	const struct tree_attr a = { .mode = 0644, .mtime = b->now };

	return tree_write(b->tree, dst, &a, data, size);
}

/* A signed binary of the target, or -ENOENT after saying which package holds it. */
static int read_signed(struct build *b, const char *path, const char *package, char **ret,
		       size_t *ret_size)
{
	int r = tree_read(b->tree, path, MAX_GRUB_FILE, ret, ret_size);

	if (r == -ENOENT)
		return log_fail("the image has no %s: is %s in the package set?", path, package);
	if (r < 0)
		return log_errno(r, "cannot read '%s' of the target", path);
	return 0;
}

/* GRUB for UEFI on the ESP: /EFI/BOOT/BOOTX64.EFI for any firmware, /EFI/debian/ as Debian
 * installs it, each with the grub.cfg that finds /boot. */
static int install_efi(struct build *b, struct bootloader_priv *p, const char *grubdir)
{
	struct partition *esp = build_esp(b);
	const char *ed = esp->fs.mount;
	_cleanup_free_ char *cfg = esp_config(b, grubdir);
	_cleanup_free_ char *grub = NULL, *shim = NULL, *mm = NULL;
	size_t grub_size = 0, shim_size = 0, mm_size = 0;
	int r;

	if (streq(ed, "/"))
		ed = "";
	if (p->signed_efi) {
		if ((r = read_signed(b, SHIM_SIGNED, PKG_SHIM_SIGNED, &shim, &shim_size)) < 0 ||
		    (r = read_signed(b, GRUB_EFI_SIGNED, PKG_GRUB_SIGNED, &grub, &grub_size)) < 0)
			return r;
		r = tree_read(b->tree, MOKMANAGER_SIGNED, MAX_GRUB_FILE, &mm, &mm_size);
		if (r < 0 && r != -ENOENT)
			return log_errno(r, "cannot read '%s' of the target", MOKMANAGER_SIGNED);
		/* shim starts grubx64.efi (and mmx64.efi) from its own directory. */
		if ((r = esp_write(b, ed, "/EFI/BOOT/BOOTX64.EFI", shim, shim_size)) < 0 ||
		    (r = esp_write(b, ed, "/EFI/BOOT/grubx64.efi", grub, grub_size)) < 0 ||
		    (r = esp_write(b, ed, "/EFI/debian/shimx64.efi", shim, shim_size)) < 0 ||
		    (r = esp_write(b, ed, "/EFI/debian/grubx64.efi", grub, grub_size)) < 0)
			return r;
		if (mm && ((r = esp_write(b, ed, "/EFI/BOOT/mmx64.efi", mm, mm_size)) < 0 ||
			   (r = esp_write(b, ed, "/EFI/debian/mmx64.efi", mm, mm_size)) < 0))
			return r;
		log_info("Debian's signed shim and GRUB in %s/EFI/BOOT and %s/EFI/debian", ed, ed);
	} else {
		_cleanup_free_ char *dir = NULL;
		_cleanup_strv_free_ char **set = NULL;

		if ((r = grub_dir(b, p, &platform_efi, &dir)) < 0 ||
		    (r = module_set(p, dir, &set)) < 0 ||
		    (r = grub_mkimage(b, "x86_64-efi", dir, "/EFI/debian", cfg, set, &grub,
				      &grub_size)) < 0)
			return r;
		if ((r = esp_write(b, ed, "/EFI/BOOT/BOOTX64.EFI", grub, grub_size)) < 0 ||
		    (r = esp_write(b, ed, "/EFI/debian/grubx64.efi", grub, grub_size)) < 0)
			return r;
		log_info("an unsigned GRUB (%zu modules built in) in %s/EFI/BOOT and "
			 "%s/EFI/debian",
			 strv_length(set), ed, ed);
	}
	if (p->ia32) {
		/* Debian signs no 32-bit GRUB: this one boots where Secure Boot is off. */
		_cleanup_free_ char *dir = NULL, *img = NULL;
		_cleanup_strv_free_ char **set = NULL;
		size_t size;

		if ((r = grub_dir(b, p, &platform_efi32, &dir)) < 0 ||
		    (r = module_set(p, dir, &set)) < 0 ||
		    (r = grub_mkimage(b, "i386-efi", dir, "/EFI/debian", cfg, set, &img, &size)) <
			    0 ||
		    (r = esp_write(b, ed, "/EFI/BOOT/BOOTIA32.EFI", img, size)) < 0)
			return r;
		log_info("an unsigned 32-bit GRUB in %s/EFI/BOOT/BOOTIA32.EFI", ed);
	}
	if ((r = esp_write(b, ed, "/EFI/BOOT/grub.cfg", cfg, strlen(cfg))) < 0 ||
	    (r = esp_write(b, ed, "/EFI/debian/grub.cfg", cfg, strlen(cfg))) < 0)
		return r;
	return 0;
}

static int bootloader_run(struct build *b, void *priv)
{
	struct bootloader_priv *p = priv;
	bool separate = build_part_at(b, "/boot") != NULL;
	const char *grubdir = "/boot/grub", *kdir = separate ? "" : "/boot";
	int r;

	if (!b->kernel_name)
		return log_fail("no kernel to boot (the initrd stage found none)");
	if ((r = write_config(b, p, grubdir, kdir)) < 0)
		return r;
	if (p->bios && (r = install_bios(b, p, grubdir)) < 0)
		return r;
	if (p->efi && (r = install_efi(b, p, grubdir)) < 0)
		return r;
	return 0;
}

static void bootloader_cleanup(struct build *b, void *priv, bool failed)
{
	struct bootloader_priv *p = priv;

	if (p->tmpdir) {
		rm_rf(p->tmpdir);
		free(p->tmpdir);
		p->tmpdir = NULL;
	}
}

static void bootloader_free(void *priv)
{
	struct bootloader_priv *p = priv;

	if (!p)
		return;
	free(p->serial_dev);
	strv_free(p->modules);
	for (size_t i = 0; i < p->n_entries; i++) {
		free(p->entries[i].title);
		free(p->entries[i].cmdline);
	}
	free(p->entries);
	if (p->tmpdir) {
		rm_rf(p->tmpdir);
		free(p->tmpdir);
	}
	free(p);
}


/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key bootloader_key_table[] = {
	{ "bootloader", "map", NULL, NULL, "the boot loader (optional)" },
	{ "bootloader.type", "enum", "grub-bios", bootloader_type_names,
	  "grub-bios (MBR), grub-efi (/EFI/BOOT/BOOTX64.EFI on the ESP), grub-hybrid (both), "
	  "or none" },
	{ "bootloader.secure-boot", "enum", "auto", secure_boot_names,
	  "UEFI: true uses Debian's signed shim and GRUB (include shim-signed and "
	  "grub-efi-amd64-signed), false an unsigned GRUB, auto signed when both are included" },
	{ "bootloader.ia32", "bool", "false", NULL,
	  "UEFI: also /EFI/BOOT/BOOTIA32.EFI for 32-bit UEFI firmware (unsigned, from "
	  "grub-efi-ia32-bin)" },
	{ "bootloader.timeout", "number", "5", NULL, "seconds the menu waits" },
	{ "bootloader.default", "number", "0", NULL, "the entry booted when the time is up" },
	{ "bootloader.cmdline", "string", "quiet", NULL,
	  "appended to every Linux entry's command line (after root=... ro)" },
	{ "bootloader.serial", "string", "ttyS0,115200", NULL,
	  "a serial console for GRUB and the kernel; none" },
	{ "bootloader.grub", "enum", "auto", grub_source_names,
	  "GRUB's modules (i386-pc, x86_64-efi) from the target, the host, or auto (the "
	  "target's when it has them)" },
	{ "bootloader.modules", "list", "none", NULL, "more GRUB modules to install" },
	{ "bootloader.entries", "list", "the seed's menu", NULL,
	  "{title, cmdline}: the image's kernel and initrd; {title, memtest: true}: Memtest86+" },
	{ "bootloader.entries[].title", "string", "required", NULL, "the menu entry's title" },
	{ "bootloader.entries[].cmdline", "string", "bootloader.cmdline", NULL,
	  "the kernel command line's end" },
	{ "bootloader.entries[].memtest", "bool", "false", NULL, "a Memtest86+ entry" },
	{ NULL },
};

const struct stage stage_bootloader = {
	.name = "bootloader",
	.key_table = bootloader_key_table,
	.summary = "GRUB for BIOS (MBR), UEFI (the ESP, signed shim for Secure Boot) or both",
	.parse = bootloader_parse,
	.settle = bootloader_settle,
	.verify = bootloader_verify,
	.plan = bootloader_plan,
	.run = bootloader_run,
	.cleanup = bootloader_cleanup,
	.free = bootloader_free,
};
