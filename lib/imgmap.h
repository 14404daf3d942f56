/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each byte of a disk image holds, read-only: the partition table (msdos, with its
 * logical partitions, or GPT), the partitions, and in an ext2/3/4 filesystem which file or
 * which metadata owns each block, with every file's path, type, mode, owner, size, symlink
 * target and content hash. `mkbootmedia diff` explains the bytes two images differ in with
 * it; a write audit (which files a boot changed) can use the same mapping.
 *
 * The filesystem is read with libext2fs from the image file at the partition's offset; the
 * tree is walked from the root in name order, so a file with several names is known by the
 * first in that order. Limits: 4096 levels of directories, 1 << 20 partitions' worth of
 * input is never trusted (a table's entries are checked against the image's size). */
#pragma once

#include <ext2fs/ext2fs.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum imgmap_table_type {
	IMGMAP_TABLE_NONE,
	IMGMAP_TABLE_MSDOS,
	IMGMAP_TABLE_GPT,
};

struct imgmap_part {
	unsigned number;      /* as Linux numbers them: msdos logical partitions from 5 */
	uint64_t offset;      /* bytes from the start of the image */
	uint64_t size;        /* bytes */
	char type[40];        /* msdos: "0x83"; GPT: the type GUID */
	char uuid[40];        /* GPT: the partition GUID; msdos: "" */
	char name[80];        /* GPT: the name (its ASCII characters); msdos: "" */
	bool bootable;        /* msdos: active; GPT: legacy BIOS bootable attribute */
	struct imgmap_fs *fs; /* an ext2/3/4 filesystem found there, or NULL */
};

/* One name in a filesystem. */
struct imgmap_file {
	char *path; /* "/etc/hostname" ("/" for the root) */
	ext2_ino_t ino;
	unsigned mode; /* with the type bits (LINUX_S_IF*) */
	unsigned uid, gid;
	uint64_t size;
	unsigned nlink;
	char *target;       /* a symlink's target, else NULL */
	unsigned long rdev; /* devices: the encoded number from i_block */
	uint8_t sha256[32]; /* a regular file's contents; zeros otherwise */
	bool first;         /* the first name of its inode, in path order */
};

struct imgmap_fs {
	ext2_filsys fs;
	uint64_t offset; /* of the filesystem in the image */
	unsigned blocksize;
	struct imgmap_file *files; /* sorted by path */
	size_t n_files;
	const char **ino_path; /* [ino]: the inode's first path ("<journal>" and such for the
				 * reserved inodes), or NULL */
	uint32_t *owner;       /* [block]: an inode number, an IMGMAP_OWNER_*, or 0: none */
};

/* Blocks no inode owns, in owner[]: */
#define IMGMAP_OWNER_SUPER 0xfffffff0u /* superblock or group descriptors (or their backups) */
#define IMGMAP_OWNER_BBITMAP 0xfffffff1u
#define IMGMAP_OWNER_IBITMAP 0xfffffff2u
#define IMGMAP_OWNER_ITABLE 0xfffffff3u

struct imgmap {
	uint64_t size; /* of the image */
	enum imgmap_table_type table;
	char disk_id[40]; /* msdos: "0x1234abcd"; GPT: the disk GUID */
	struct imgmap_part *parts;
	size_t n_parts;
};

/* Reads the table of `image`, and each partition's ext2/3/4 filesystem when it holds one
 * (anything else is left unmapped: parts[i].fs NULL). Logs errors; returns 0 or -errno. */
int imgmap_open(const char *image, struct imgmap **ret);
struct imgmap *imgmap_free(struct imgmap *m);
static inline void imgmap_freep(struct imgmap **m)
{
	imgmap_free(*m);
}
#define _cleanup_imgmap_ _cleanup_(imgmap_freep)

/* What holds byte `off` of the image, as a phrase: "the partition table",
 * "partition 2, /etc/hostname", "partition 2, inode table of group 0 (inode 12, /etc/x)",
 * "partition 1, free space", "outside every partition". A new string. */
char *imgmap_describe(const struct imgmap *m, uint64_t off);

/* The partition holding byte `off`, or NULL. */
const struct imgmap_part *imgmap_part_at(const struct imgmap *m, uint64_t off);

/* A filesystem's name lookup: the entry for `path`, or NULL. */
const struct imgmap_file *imgmap_fs_find(const struct imgmap_fs *f, const char *path);

/* Who owns byte `off` of the filesystem: 0 (nothing: free space), an IMGMAP_OWNER_*, or an
 * inode number. *ret_ino: that inode, or for IMGMAP_OWNER_ITABLE the inode whose bytes
 * these are (0 otherwise). */
uint32_t imgmap_fs_owner(const struct imgmap_fs *f, uint64_t off, ext2_ino_t *ret_ino);
