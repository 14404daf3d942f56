/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The build context: everything stages share. Stages never call each other; what one stage
 * produces for another (the partition map, the open filesystems, the tree) lives here. */
#pragma once

#include <time.h>

#include "disklabel.h"
#include "ext2.h"
#include "kmod.h"
#include "recipe.h"
#include "tree.h"
#include "util.h"

/* partitions[].filesystem.type; each type has a driver (core/fs.h). */
enum fs_type {
	FS_NONE,
	FS_EXT2,
	FS_EXT3,
	FS_EXT4,
	FS_VFAT,
	_FS_TYPE_MAX,
};
extern const char *const fs_type_names[]; /* NULL-terminated, indexed by enum fs_type */
const char *fs_type_to_string(enum fs_type t);

struct fs_spec {
	enum fs_type type;
	char *label;
	uint8_t uuid[16];      /* vfat: the 32-bit volume id in the first 4 bytes */
	bool uuid_set;         /* given by the recipe */
	unsigned fat_bits;     /* vfat: 12, 16 or 32; 0: by size */
	char *mount;           /* NULL when not mounted */
	char **options;        /* mount options as given (NULL: none given) */
	unsigned block_size;   /* 0: automatic */
	unsigned inode_size;   /* 0: automatic */
	unsigned inode_ratio;  /* 0: automatic */
	uint64_t inodes;       /* 0: from the ratio */
	unsigned reserved_percent;
	const struct node *node;
};

/* packages.configure (core/target.h). */
enum configure_mode {
	CONFIGURE_AUTO,
	CONFIGURE_USERNS,
	CONFIGURE_VM,
	CONFIGURE_FIRST_BOOT,
	CONFIGURE_NONE,
	_CONFIGURE_MAX,
};
extern const char *const configure_mode_names[];

enum shred_mode { SHRED_NONE, SHRED_ZERO, SHRED_RANDOM, _SHRED_MAX };

/* bootloader.type (stage bootloader). */
enum bootloader_type {
	BOOTLOADER_NONE,
	BOOTLOADER_GRUB_BIOS,   /* boot.img in the MBR, core.img after it */
	BOOTLOADER_GRUB_EFI,    /* /EFI/BOOT/BOOTX64.EFI on the EFI system partition */
	BOOTLOADER_GRUB_HYBRID, /* both, one grub.cfg */
	_BOOTLOADER_MAX,
};
extern const char *const bootloader_type_names[];

/* system.init (stage configure): what /sbin/init is. */
enum init_system { INIT_SYSVINIT, INIT_SYSTEMD, INIT_BUSYBOX, INIT_UNSET };
extern const char *const init_system_names[];
extern const char *const shred_mode_names[];

/* root.overlay (stage root): what the initramfs lays over the read-only root. */
enum root_overlay { ROOT_OVERLAY_NONE, ROOT_OVERLAY_TMPFS, ROOT_OVERLAY_PARTITION };

/* Where the initramfs mounts the overlay's tmpfs or partition in the running system: upper/,
 * work/, the read-only root under lower/, and the factory reset's flag file. */
#define ROOT_OVERLAY_DIR "/overlay"
#define ROOT_RESET_FLAG ROOT_OVERLAY_DIR "/factory-reset"
/* The device-mapper name of a dm-verity root: /dev/mapper/vroot. */
#define ROOT_VERITY_NAME "vroot"

/* partitions[].encrypt (stage encrypt). */
struct encrypt_spec {
	int format;              /* enum luks_format */
	char *cipher;            /* dm-crypt spec: "aes-xts-plain64" */
	unsigned key_bits;
	unsigned sector_size;
	char *pbkdf;             /* NULL: libcryptsetup's default for the format */
	unsigned pbkdf_memory_kib;
	unsigned pbkdf_time_ms;  /* unlock time on the build host */
	char *passphrase_file;   /* host paths (resolved against the recipe) */
	char *passphrase_env;    /* the name of an environment variable */
	char *keyfile;
	bool keyfile_in_initrd;  /* the recipe asked for it explicitly */
	char *mapper_name;       /* /dev/mapper/<name> once opened */
	char *label;             /* LUKS2 label */
	const struct node *node;
	/* Set by the encrypt stage's run. */
	uint64_t data_offset;    /* bytes from the partition's start to the encrypted data */
	char *luks_uuid;         /* NULL for plain */
	struct cryptio_cipher *cipher_ctx; /* the volume key, in locked memory */
	char *io_name;           /* the libext2fs I/O manager mkfs registered for it */
};
/* Frees e and what it holds (after the filesystems are closed). */
void encrypt_spec_free(struct encrypt_spec *e);

struct partition {
	char *name;
	unsigned number;        /* 1-based, in table order */
	struct size size;
	struct part_type type;
	bool bootable;
	bool grow;              /* partitions[].grow: to the medium's end, on the first boot */
	uint8_t uuid[16];       /* GPT partition GUID */
	uint64_t offset, length; /* bytes, computed by the partition stage's verify */
	struct fs_spec fs;
	struct encrypt_spec *enc; /* NULL: not encrypted */
	int shred;                /* enum shred_mode; -1 when not given */
	const struct node *node;
};

/* One installed package, as its index or its .deb's control file says. */
struct build_package {
	char *name, *version, *arch;
	char *source;   /* the Source field ("foo" or "foo (1.2-1)"); NULL: the package's name */
	char *deb_path; /* the verified .deb in the cache, or the local file */
	char *sha256;   /* the index's SHA256 of the .deb; NULL for a local .deb */
	char *url;      /* where it was downloaded from; NULL for a local .deb */
};

struct build {
	struct recipe *recipe;
	/* Every recipe key the stages (and `test:`) declare, in stage order; ends with { NULL }.
	 * node_check_table(map, b->keys, "partitions[]") checks a mapping against it. */
	const struct recipe_key *keys;
	const char *recipe_path;
	const char *out_path;   /* NULL for `check` */
	char *tmp_path;         /* the image being written, renamed to out_path at the end */
	int fd;                 /* open on tmp_path */

	/* image */
	uint64_t image_size;
	enum table_type table;
	uint32_t mbr_id;
	uint8_t disk_guid[16];
	uint64_t align;
	char *seed;             /* NULL: identifiers are random */

	struct partition *parts;
	size_t n_parts;

	/* The filesystems (core/fs.h), indexed like parts, and the target tree they make. */
	struct build_fs *fs;
	struct tree *tree;

	int image_shred;        /* image.shred: enum shred_mode, -1 when not given */
	int passphrase_fd;      /* --passphrase-fd, or -1 */

	/* downloads */
	const char *cache_dir;  /* --cache, or NULL for the default */
	bool offline;
	bool no_unpack_cache;   /* --no-unpack-cache (lib/deb-cache.h) */
	unsigned jobs;          /* worker threads; 0: one per CPU */
	size_t n_packages;      /* unpacked by the packages stage, for the summary */
	/* What the packages stage's run installed, in install order (for --sbom): */
	struct build_package *installed;
	size_t n_installed;
	bool packages;          /* the packages stage runs */
	int configure;          /* packages.configure: enum configure_mode (core/target.h) */
	const struct node *configure_node;
	char *apt_sources;            /* apt's sources for the recipe's http(s) mirrors, or NULL */
	const char *apt_sources_path; /* where: sources.list, or debian.sources (deb822) */
	const char *arch;       /* the target's dpkg architecture */
	char *first_boot;       /* the first-boot hook's script so far (configure: first-boot) */
	unsigned n_first_boot;  /* and how many steps it has */

	/* Facts each published by the stage owning the keys, in its parse (or settle): */
	int bootloader;         /* bootloader.type: enum bootloader_type (NONE when absent) */
	const struct node *bootloader_node;
	/* packages.include, with what settle added (the packages stage's settle; NULL without
	 * a packages stage): what the package set is asked to hold, known before any download */
	char **packages_include;
	int init;               /* system.init: enum init_system, INIT_UNSET when not given */
	const struct node *init_node;
	/* the initrd stage makes mkbootmedia's initramfs (settled: kernel:, initrd: or a boot
	 * loader), and the key that asks for it */
	bool initrd;
	const struct node *initrd_node;
	char *kernel_version;   /* chosen by the initrd stage ("6.1.0-13-amd64") */
	/* kernel.version (settled by the initrd stage), NULL when not given: the menu's default
	 * while it is installed, in the build's menu and in the one the hooks write */
	const char *kernel_pin;
	char *kernel_name;      /* "vmlinuz-<version>", in the filesystem holding /boot */
	char *initrd_name;      /* "initrd.img-<version>", or NULL without an initrd */
	/* the initrd stage installs the kernel hooks (initrd.generator is not none): the
	 * bootloader stage leaves its menu's template for them (settled) */
	bool initrd_hooks;
	/* root: (stage root, published in its parse; the partition in its settle): the root
	 * is mounted read-only (never remounted rw); an overlay makes the running system's /
	 * writable on a tmpfs or on root_overlay_part; reset offers a factory reset */
	bool root_read_only;
	int root_overlay; /* enum root_overlay */
	struct partition *root_overlay_part;
	const char *root_overlay_size; /* tmpfs size= ("64m", "25%"), NULL: the kernel's default */
	bool root_reset;
	/* root.verity: the root is opened with dm-verity, its hash tree on root_verity_part;
	 * root_hash (hex) is set by the root stage's run, before the bootloader's */
	bool root_verity;
	struct partition *root_verity_part;
	const char *root_hash;
	const struct node *root_node;

	/* --lock FILE: the packages stage writes the build's exact inputs there once every
	 * stage succeeded; --locked FILE: it installs exactly the set FILE names (NULL: none) */
	const char *lock_path;
	const char *locked_path;

	time_t now;             /* SOURCE_DATE_EPOCH, or the start of the build */
	bool clamp_mtime;       /* SOURCE_DATE_EPOCH was set: no file is newer than `now` */
};

/* 16 bytes derived from the seed and `purpose` (SHA-256), or random without a seed. A UUID
 * gets its version (4) and variant bits set. */
void build_derive(const struct build *b, const char *purpose, uint8_t out[16]);
void build_derive_uuid(const struct build *b, const char *purpose, uint8_t out[16]);

/* Whether the package set must hold a kernel, and why: the key that needs one (NULL: none
 * needed), with a phrase saying what for in *ret_why. Derived from the published facts: the
 * initramfs is made (the image boots), or configure: vm boots the image's kernel. */
const struct node *build_kernel_needed(const struct build *b, const char **ret_why);

/* The partition whose filesystem is mounted at `mount`, or NULL. */
struct partition *build_part_at(struct build *b, const char *mount);
/* The EFI system partition: the first of type efi (NULL: none). */
struct partition *build_esp(struct build *b);
/* The partition holding /boot: the one mounted there, else the root's (NULL: none). */
struct partition *build_boot_part(struct build *b);
/* The filesystem's UUID as blkid shows it and fstab names it: "0c8f...-..." for ext2/3/4,
 * "1234-ABCD" (the volume id) for vfat. */
const char *build_fs_uuid(const struct partition *p, char buf[static 37]);
/* How the kernel finds the root: "LABEL=x" when the root filesystem is labelled, else
 * "UUID=..." (a new string). NULL when nothing is mounted at /. */
char *build_root_spec(struct build *b);


/* The kernel in the target's /boot: `version` when given, else the newest vmlinuz-* by
 * version. -ENOENT (not logged) when there is no such kernel. */
int build_find_kernel(struct build *b, const char *version, char **ret_version);
/* The target tree as kmod's read/list interface (also lib/grubmenu's, lib/initrdgen's). */
struct kmod_io build_tree_io(struct build *b);
/* lib/kmod over the target tree, for /lib/modules/VERSION. -ENOENT (not logged) when the
 * target has no such directory. */
int build_kmod_open(struct build *b, const char *version, struct kmod **ret);

