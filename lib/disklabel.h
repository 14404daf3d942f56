/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Partition tables (msdos and GPT) written into an image file with libparted, then made
 * deterministic: libparted (3.5) cannot set type bytes/GUIDs, disk identifiers or partition
 * GUIDs, so those fields are patched afterwards and the GPT CRCs recomputed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

enum table_type {
	TABLE_MSDOS,
	TABLE_GPT,
};

const char *table_type_to_string(enum table_type t);
int table_type_from_string(const char *s); /* -EINVAL when unknown */

/* A partition type as the recipe names it: "linux", "efi", "swap", "bios-grub", "fat32",
 * a hex msdos id ("0x83", "83"), or a GPT type GUID. */
struct part_type {
	uint8_t mbr_id;      /* 0 when the type has no msdos id */
	uint8_t guid[16];    /* canonical (string) byte order; all zero when no GPT type */
	const char *name;    /* the well-known name, or NULL */
};
/* 0, or -EINVAL when `s` is not a known name, a hex byte or a GUID. */
int part_type_from_string(const char *s, struct part_type *ret);
/* Fails with -EOPNOTSUPP when the type has no id for that table (e.g. bios-grub on msdos). */
int part_type_check(const struct part_type *t, enum table_type table);
/* Whether t is GRUB's BIOS boot partition type (GPT). */
bool part_type_is_bios_grub(const struct part_type *t);
/* Whether t is the EFI system partition's type on that table (0xef, or the ESP GUID). */
bool part_type_is_esp(const struct part_type *t, enum table_type table);

struct dl_part {
	uint64_t offset; /* bytes, multiple of 512 */
	uint64_t size;   /* bytes, multiple of 512 */
	const char *name; /* GPT partition name (UTF-8, <= 36 UTF-16 units); NULL for none */
	struct part_type type;
	uint8_t uuid[16]; /* GPT unique partition GUID, canonical byte order */
	bool bootable;    /* msdos: active flag (0x80); GPT: legacy BIOS bootable attribute (bit 2) */
};

struct disklabel {
	enum table_type table;
	uint64_t disk_size;    /* bytes, multiple of 512 */
	uint32_t mbr_id;       /* msdos disk signature (also kept in GPT's protective MBR) */
	uint8_t disk_guid[16]; /* GPT disk GUID, canonical byte order */
	size_t n_parts;
	const struct dl_part *parts;
};

/* First and last usable byte ranges for partitions of a table on a disk of `disk_size`:
 * msdos: [512, size); GPT: [34 sectors, size - 33 sectors). */
void disklabel_usable(enum table_type t, uint64_t disk_size, uint64_t *ret_first,
		      uint64_t *ret_end);

/* Writes the table into the existing image file at `path` (already disk_size long).
 * Logs errors; returns 0 or -errno. Bytes 0..439 of sector 0 (boot code) are left zero. */
int disklabel_write(const char *path, const struct disklabel *dl);
