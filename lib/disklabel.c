// SPDX-License-Identifier: GPL-2.0-or-later
/* Partition tables written with libparted, then patched into a deterministic, exact form.
 *
 * libparted places the partitions (exact geometry, CHS values, GPT headers and backup
 * copies, the protective MBR) but picks random disk identifiers and partition GUIDs and
 * knows types only as flags. So after it commits, the table is reread with pread(2) and
 * the fields we own are rewritten:
 *   msdos: disk signature (0x1B8), type byte and active flag of each entry;
 *   gpt:   disk GUID in both headers, each entry's type GUID, unique GUID, attributes
 *          (only bit 2, legacy BIOS bootable) and name, in both entry arrays, then the
 *          entries CRC and the header CRCs; the protective MBR gets dl->mbr_id as its
 *          disk signature.
 * In both cases bytes 0..439 of sector 0 (boot code) are zeroed: libparted's msdos code
 * puts a small boot loader of its own there, and the bootloader stage writes GRUB's later.
 *
 * libparted exceptions are translated into our logger here, and only here: errors are
 * recorded and logged once by the caller with context, warnings go to debug level. */
#include "disklabel.h"

#include <fcntl.h>
#include <inttypes.h>
#include <parted/parted.h>
#include <strings.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "log.h"
#include "util.h"

#define SECTOR 512u
#define GPT_ENTRIES 128u
#define GPT_ENTRY_SIZE 128u
#define GPT_NAME_UNITS 36u
#define GPT_ATTR_LEGACY_BIOS_BOOTABLE (UINT64_C(1) << 2)
#define MBR_MAX_PARTS 4u
#define MBR_BOOT_CODE_SIZE 440u
#define MBR_SIGNATURE_OFF 0x1B8u
#define MBR_TABLE_OFF 446u
#define MBR_ENTRY_SIZE 16u

/* ---- table and partition types ---- */

static const char *const table_type_names[] = {
	[TABLE_MSDOS] = "msdos",
	[TABLE_GPT] = "gpt",
};

const char *table_type_to_string(enum table_type t)
{
	if ((size_t)t >= ARRAY_SIZE(table_type_names))
		return NULL;
	return table_type_names[t];
}

int table_type_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(table_type_names); i++)
		if (streq(s, table_type_names[i]))
			return (int)i;
	if (streq(s, "dos") || streq(s, "mbr"))
		return TABLE_MSDOS;
	return -EINVAL;
}

static const struct {
	const char *name;
	const char *alias;
	uint8_t mbr_id;
	const char *guid;
} part_types[] = {
	{ "linux", NULL, 0x83, "0FC63DAF-8483-4772-8E79-3D69D8477DE4" },
	{ "efi", "esp", 0xef, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" },
	{ "swap", NULL, 0x82, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" },
	{ "bios-grub", NULL, 0x00, "21686148-6449-6E6F-744E-656564454649" },
	{ "fat32", "vfat", 0x0c, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" },
	{ "linux-root-x86-64", NULL, 0x83, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709" },
	{ "linux-home", NULL, 0x83, "933AC7E1-2EB4-4F13-B844-0E14E2AEF915" },
	{ "lvm", NULL, 0x8e, "E6D6D379-F507-44C2-A23C-238F2A3DF928" },
	{ "raid", NULL, 0xfd, "A19D880F-05FC-4D3B-A006-743F0F84911E" },
};

static bool guid_is_null(const uint8_t g[16])
{
	for (size_t i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* "0x83", "83", "0xEF", "c": one or two hex digits, optionally prefixed by 0x. */
static bool parse_hex_byte(const char *s, uint8_t *ret)
{
	unsigned v = 0;
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n < 1 || n > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return false;
		v = v * 16 + (unsigned)d;
	}
	*ret = (uint8_t)v;
	return true;
}

int part_type_from_string(const char *s, struct part_type *ret)
{
	struct part_type t = {};
	uint8_t id;

	if (!s || !*s)
		return -EINVAL;

	for (size_t i = 0; i < ARRAY_SIZE(part_types); i++) {
		if (strcasecmp(s, part_types[i].name) != 0 &&
		    !(part_types[i].alias && strcasecmp(s, part_types[i].alias) == 0))
			continue;
		t.name = part_types[i].name;
		t.mbr_id = part_types[i].mbr_id;
		if (uuid_parse(part_types[i].guid, t.guid) < 0)
			return -EINVAL; /* not reached: the table is ours */
		*ret = t;
		return 0;
	}

	if (parse_hex_byte(s, &id)) {
		if (id == 0)
			return -EINVAL; /* 0 marks an unused msdos entry */
		t.mbr_id = id;
		*ret = t;
		return 0;
	}

	if (strlen(s) == 36 && uuid_parse(s, t.guid) == 0) {
		if (guid_is_null(t.guid))
			return -EINVAL; /* the null GUID marks an unused GPT entry */
		*ret = t;
		return 0;
	}

	return -EINVAL;
}

int part_type_check(const struct part_type *t, enum table_type table)
{
	switch (table) {
	case TABLE_MSDOS:
		return t->mbr_id ? 0 : -EOPNOTSUPP;
	case TABLE_GPT:
		return guid_is_null(t->guid) ? -EOPNOTSUPP : 0;
	}
	return -EINVAL;
}

static const char *part_type_describe(const struct part_type *t, char buf[static 40])
{
	if (t->name)
		return t->name;
	if (t->mbr_id) {
		snprintf(buf, 40, "0x%02x", t->mbr_id);
		return buf;
	}
	uuid_unparse_upper(t->guid, buf);
	return buf;
}

void disklabel_usable(enum table_type t, uint64_t disk_size, uint64_t *ret_first,
		      uint64_t *ret_end)
{
	uint64_t first, end;

	disk_size = align_down(disk_size, SECTOR);
	if (t == TABLE_GPT) {
		/* Protective MBR, header, and 32 sectors of entries at each end (minus the
		 * MBR at the back). */
		first = 34 * (uint64_t)SECTOR;
		end = disk_size > 33 * (uint64_t)SECTOR ? disk_size - 33 * (uint64_t)SECTOR : 0;
	} else {
		first = SECTOR;
		end = disk_size;
	}
	if (end < first)
		end = first;
	*ret_first = first;
	*ret_end = end;
}

/* ---- little-endian fields, CRC32, GUIDs, names ---- */

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (size_t i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (size_t i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The CRC-32 of zlib and UEFI (reflected, polynomial 0x04C11DB7). */
static uint32_t crc32_buf(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/* Canonical (RFC 4122, big-endian) GUID bytes to GPT's on-disk order, whose first three
 * fields are little-endian. */
static void guid_to_disk(uint8_t out[16], const uint8_t in[16])
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

	for (size_t i = 0; i < 16; i++)
		out[i] = in[order[i]];
}

/* UTF-8 to at most 36 UTF-16LE code units in out (zero padded); -EINVAL when the string is
 * not valid UTF-8 or too long. */
static int gpt_name_encode(const char *s, uint8_t out[GPT_NAME_UNITS * 2])
{
	const uint8_t *p = (const uint8_t *)s;
	size_t units = 0;

	memset(out, 0, GPT_NAME_UNITS * 2);
	while (*p) {
		uint32_t cp;
		size_t len;

		if (p[0] < 0x80) {
			cp = p[0];
			len = 1;
		} else if ((p[0] & 0xe0) == 0xc0) {
			cp = p[0] & 0x1f;
			len = 2;
		} else if ((p[0] & 0xf0) == 0xe0) {
			cp = p[0] & 0x0f;
			len = 3;
		} else if ((p[0] & 0xf8) == 0xf0) {
			cp = p[0] & 0x07;
			len = 4;
		} else {
			return -EINVAL;
		}
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and values beyond Unicode. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return -EINVAL;
		p += len;

		if (cp >= 0x10000) {
			if (units + 2 > GPT_NAME_UNITS)
				return -EINVAL;
			cp -= 0x10000;
			out[2 * units] = (uint8_t)(0xd800 + (cp >> 10));
			out[2 * units + 1] = (uint8_t)((0xd800 + (cp >> 10)) >> 8);
			units++;
			out[2 * units] = (uint8_t)(0xdc00 + (cp & 0x3ff));
			out[2 * units + 1] = (uint8_t)((0xdc00 + (cp & 0x3ff)) >> 8);
			units++;
		} else {
			if (units + 1 > GPT_NAME_UNITS)
				return -EINVAL;
			out[2 * units] = (uint8_t)cp;
			out[2 * units + 1] = (uint8_t)(cp >> 8);
			units++;
		}
	}
	return 0;
}

/* ---- the libparted adapter ---- */

/* The first error libparted raised since ped_error_reset(); the caller logs it once,
 * with its own context. */
static char ped_error[512];

static void ped_error_reset(void)
{
	ped_error[0] = 0;
}

static const char *ped_error_take(char buf[static sizeof(ped_error)])
{
	snprintf(buf, sizeof(ped_error), "%s",
		 ped_error[0] ? ped_error : "unknown libparted error");
	ped_error_reset();
	return buf;
}

static PedExceptionOption ped_handler(PedException *ex)
{
	static const PedExceptionOption harmless[] = {
		PED_EXCEPTION_IGNORE,
		PED_EXCEPTION_OK,
		PED_EXCEPTION_YES,
	};
	const char *msg = ex->message ? ex->message : "(no message)";
	size_t n = strlen(msg);

	/* libparted's messages sometimes end in a period or a newline. */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.' || msg[n - 1] == ' '))
		n--;

	switch (ex->type) {
	case PED_EXCEPTION_INFORMATION:
	case PED_EXCEPTION_WARNING:
		log_debug("libparted: %.*s", (int)n, msg);
		for (size_t i = 0; i < ARRAY_SIZE(harmless); i++)
			if (ex->options & harmless[i])
				return harmless[i];
		break;
	default:
		if (!ped_error[0])
			snprintf(ped_error, sizeof(ped_error), "%.*s", (int)n, msg);
		else
			log_debug("libparted: %.*s", (int)n, msg);
		break;
	}
	if (ex->options & PED_EXCEPTION_CANCEL)
		return PED_EXCEPTION_CANCEL;
	if (ex->options & PED_EXCEPTION_NO)
		return PED_EXCEPTION_NO;
	return PED_EXCEPTION_UNHANDLED;
}

static int ped_create(const char *path, const struct disklabel *dl)
{
	const char *type_name = dl->table == TABLE_GPT ? "gpt" : "msdos";
	char err[sizeof(ped_error)];
	PedDevice *dev = NULL;
	PedDisk *disk = NULL;
	PedDiskType *type;
	int r = 0;

	type = ped_disk_type_get(type_name);
	if (!type)
		return log_fail("libparted does not know the '%s' partition table", type_name);

	dev = ped_device_get(path);
	if (!dev) {
		log_error("cannot open '%s' with libparted: %s", path, ped_error_take(err));
		return -EIO;
	}
	if (dev->sector_size != SECTOR || (uint64_t)dev->length * SECTOR != dl->disk_size) {
		log_error("libparted sees '%s' as %lld sectors of %lld bytes, expected %" PRIu64
			  " sectors of %u bytes",
			  path, (long long)dev->length, (long long)dev->sector_size,
			  dl->disk_size / SECTOR, SECTOR);
		r = -EINVAL;
		goto out;
	}

	disk = ped_disk_new_fresh(dev, type);
	if (!disk) {
		log_error("cannot create a %s partition table on '%s': %s", type_name, path,
			  ped_error_take(err));
		r = -EIO;
		goto out;
	}

	for (size_t i = 0; i < dl->n_parts; i++) {
		const struct dl_part *p = &dl->parts[i];
		PedSector start = (PedSector)(p->offset / SECTOR);
		PedSector end = (PedSector)((p->offset + p->size) / SECTOR - 1);
		PedConstraint *exact;
		PedPartition *part;
		int ok;

		part = ped_partition_new(disk, PED_PARTITION_NORMAL, NULL, start, end);
		if (part) {
			exact = ped_constraint_exact(&part->geom);
			ok = exact && ped_disk_add_partition(disk, part, exact);
			if (exact)
				ped_constraint_destroy(exact);
			if (!ok) {
				ped_partition_destroy(part);
				part = NULL;
			}
		}
		if (!part) {
			log_error("cannot create partition %zu at %" PRIu64 "..%" PRIu64
				  " in '%s': %s",
				  i + 1, p->offset, p->offset + p->size, path, ped_error_take(err));
			r = -EIO;
			goto out;
		}
		/* The patching below relies on entry i being partition i. */
		if (part->num != (int)i + 1 || part->geom.start != start || part->geom.end != end) {
			log_error("libparted placed partition %zu of '%s' as number %d at sectors "
				  "%lld..%lld, expected sectors %lld..%lld",
				  i + 1, path, part->num, (long long)part->geom.start,
				  (long long)part->geom.end, (long long)start, (long long)end);
			r = -EIO;
			goto out;
		}
		/* Flags and names are rewritten when patching; setting them here only
		 * keeps libparted's own view close to the result. */
		if (p->bootable && dl->table == TABLE_MSDOS &&
		    !ped_partition_set_flag(part, PED_PARTITION_BOOT, 1)) {
			log_error("cannot mark partition %zu of '%s' bootable: %s", i + 1, path,
				  ped_error_take(err));
			r = -EIO;
			goto out;
		}
		if (dl->table == TABLE_GPT && p->name && *p->name &&
		    !ped_partition_set_name(part, p->name)) {
			log_error("cannot name partition %zu of '%s' '%s': %s", i + 1, path,
				  p->name, ped_error_take(err));
			r = -EIO;
			goto out;
		}
	}

	if (!ped_disk_commit_to_dev(disk)) {
		log_error("cannot write the partition table to '%s': %s", path,
			  ped_error_take(err));
		r = -EIO;
		goto out;
	}

out:
	if (disk)
		ped_disk_destroy(disk);
	if (dev)
		ped_device_destroy(dev);
	return r;
}

/* ---- patching ---- */

static int patch_msdos(int fd, const char *path, const struct disklabel *dl)
{
	uint8_t mbr[SECTOR];
	int r;

	r = pread_all(fd, mbr, sizeof(mbr), 0);
	if (r < 0)
		return log_errno(r, "cannot read the partition table of '%s'", path);
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		return log_errno(EIO, "no msdos partition table in '%s' after libparted wrote it",
				 path);

	memset(mbr, 0, MBR_BOOT_CODE_SIZE);
	put_le32(mbr + MBR_SIGNATURE_OFF, dl->mbr_id);
	for (size_t i = 0; i < MBR_MAX_PARTS; i++) {
		uint8_t *e = mbr + MBR_TABLE_OFF + MBR_ENTRY_SIZE * i;

		if (i >= dl->n_parts) {
			if (e[4] != 0)
				return log_errno(EIO, "unexpected entry %zu in the table of '%s'",
						 i + 1, path);
			continue;
		}
		if (get_le32(e + 8) != dl->parts[i].offset / SECTOR ||
		    get_le32(e + 12) != dl->parts[i].size / SECTOR)
			return log_errno(EIO, "entry %zu in the table of '%s' is not partition %zu",
					 i + 1, path, i + 1);
		e[0] = dl->parts[i].bootable ? 0x80 : 0x00;
		e[4] = dl->parts[i].type.mbr_id;
	}

	r = pwrite_all(fd, mbr, sizeof(mbr), 0);
	if (r < 0)
		return log_errno(r, "cannot write '%s'", path);
	return 0;
}

struct gpt_header {
	uint8_t raw[SECTOR];
	uint64_t lba;
	uint32_t size;
	uint64_t entries_lba;
};

static int gpt_header_read(int fd, const char *path, uint64_t lba, const char *which,
			   struct gpt_header *ret)
{
	uint8_t *h = ret->raw;
	int r;

	r = pread_all(fd, h, SECTOR, lba * SECTOR);
	if (r < 0)
		return log_errno(r, "cannot read the %s GPT header of '%s'", which, path);
	ret->lba = lba;
	ret->size = get_le32(h + 12);
	ret->entries_lba = get_le64(h + 72);
	/* libparted writes 128 entries of 128 bytes; anything else would be a surprise this
	 * code does not handle. */
	if (memcmp(h, "EFI PART", 8) != 0 || ret->size < 92 || ret->size > SECTOR ||
	    get_le64(h + 24) != lba || get_le32(h + 80) != GPT_ENTRIES ||
	    get_le32(h + 84) != GPT_ENTRY_SIZE)
		return log_errno(EIO, "unexpected %s GPT header in '%s' after libparted wrote it",
				 which, path);
	return 0;
}

static void gpt_header_finish(struct gpt_header *h, const uint8_t disk_guid[16],
			      uint32_t entries_crc)
{
	memcpy(h->raw + 56, disk_guid, 16);
	put_le32(h->raw + 88, entries_crc);
	put_le32(h->raw + 16, 0);
	put_le32(h->raw + 16, crc32_buf(h->raw, h->size));
}

static int patch_gpt(int fd, const char *path, const struct disklabel *dl)
{
	const size_t entries_size = GPT_ENTRIES * GPT_ENTRY_SIZE;
	const uint64_t last_lba = dl->disk_size / SECTOR - 1;
	_cleanup_free_ uint8_t *entries = NULL;
	struct gpt_header primary, backup;
	uint8_t pmbr[SECTOR], disk_guid[16];
	uint32_t entries_crc;
	int r;

	r = gpt_header_read(fd, path, 1, "primary", &primary);
	if (r < 0)
		return r;
	if (get_le64(primary.raw + 32) != last_lba)
		return log_errno(EIO, "the primary GPT header of '%s' does not point to the last "
				      "sector", path);
	r = gpt_header_read(fd, path, last_lba, "backup", &backup);
	if (r < 0)
		return r;
	if (primary.entries_lba <= 1 || backup.entries_lba >= last_lba ||
	    (backup.entries_lba + entries_size / SECTOR) > last_lba)
		return log_errno(EIO, "unexpected GPT entry array location in '%s'", path);

	entries = xmalloc(entries_size);
	r = pread_all(fd, entries, entries_size, primary.entries_lba * SECTOR);
	if (r < 0)
		return log_errno(r, "cannot read the GPT entries of '%s'", path);

	for (size_t i = 0; i < GPT_ENTRIES; i++) {
		uint8_t *e = entries + i * GPT_ENTRY_SIZE;
		const struct dl_part *p;
		uint64_t attrs;

		if (i >= dl->n_parts) {
			if (!guid_is_null(e))
				return log_errno(EIO, "unexpected GPT entry %zu in '%s'", i + 1,
						 path);
			memset(e, 0, GPT_ENTRY_SIZE);
			continue;
		}
		p = &dl->parts[i];
		if (get_le64(e + 32) != p->offset / SECTOR ||
		    get_le64(e + 40) != (p->offset + p->size) / SECTOR - 1)
			return log_errno(EIO, "GPT entry %zu of '%s' is not partition %zu", i + 1,
					 path, i + 1);
		guid_to_disk(e, p->type.guid);
		guid_to_disk(e + 16, p->uuid);
		attrs = p->bootable ? GPT_ATTR_LEGACY_BIOS_BOOTABLE : 0;
		put_le64(e + 48, attrs);
		r = gpt_name_encode(p->name ? p->name : "", e + 56);
		if (r < 0) /* checked before libparted ran */
			return log_fail("partition %zu: invalid GPT name '%s'", i + 1, p->name);
	}
	entries_crc = crc32_buf(entries, entries_size);

	guid_to_disk(disk_guid, dl->disk_guid);
	gpt_header_finish(&primary, disk_guid, entries_crc);
	gpt_header_finish(&backup, disk_guid, entries_crc);

	r = pwrite_all(fd, entries, entries_size, primary.entries_lba * SECTOR);
	if (r >= 0)
		r = pwrite_all(fd, entries, entries_size, backup.entries_lba * SECTOR);
	if (r >= 0)
		r = pwrite_all(fd, primary.raw, SECTOR, primary.lba * SECTOR);
	if (r >= 0)
		r = pwrite_all(fd, backup.raw, SECTOR, backup.lba * SECTOR);
	if (r < 0)
		return log_errno(r, "cannot write the GPT of '%s'", path);

	/* The protective MBR: boot code zeroed, our disk signature, libparted's 0xEE entry. */
	r = pread_all(fd, pmbr, sizeof(pmbr), 0);
	if (r < 0)
		return log_errno(r, "cannot read the protective MBR of '%s'", path);
	if (pmbr[510] != 0x55 || pmbr[511] != 0xaa || pmbr[MBR_TABLE_OFF + 4] != 0xee)
		return log_errno(EIO, "unexpected protective MBR in '%s' after libparted wrote it",
				 path);
	memset(pmbr, 0, MBR_BOOT_CODE_SIZE);
	put_le32(pmbr + MBR_SIGNATURE_OFF, dl->mbr_id);
	r = pwrite_all(fd, pmbr, sizeof(pmbr), 0);
	if (r < 0)
		return log_errno(r, "cannot write '%s'", path);
	return 0;
}

/* ---- the entry point ---- */

static int disklabel_validate(const char *path, const struct disklabel *dl)
{
	const char *table = table_type_to_string(dl->table);
	uint64_t first, end, prev_end;
	char buf[40];

	if (!table)
		return log_fail("'%s': unknown partition table type %d", path, (int)dl->table);
	if (dl->disk_size == 0 || dl->disk_size % SECTOR)
		return log_fail("'%s': disk size %" PRIu64 " is not a positive multiple of %u",
				path, dl->disk_size, SECTOR);
	if (dl->n_parts > 0 && !dl->parts)
		return log_fail("'%s': no partitions given", path);
	if (dl->table == TABLE_MSDOS && dl->n_parts > MBR_MAX_PARTS) {
		log_error("'%s': %zu partitions do not fit an msdos table (at most %u primary "
			  "partitions)", path, dl->n_parts, MBR_MAX_PARTS);
		return -E2BIG;
	}
	if (dl->table == TABLE_GPT && dl->n_parts > GPT_ENTRIES) {
		log_error("'%s': %zu partitions do not fit a GPT (at most %u)", path, dl->n_parts,
			  GPT_ENTRIES);
		return -E2BIG;
	}

	disklabel_usable(dl->table, dl->disk_size, &first, &end);
	prev_end = first;
	for (size_t i = 0; i < dl->n_parts; i++) {
		const struct dl_part *p = &dl->parts[i];
		uint8_t name[GPT_NAME_UNITS * 2];

		if (p->size == 0 || p->offset % SECTOR || p->size % SECTOR)
			return log_fail("'%s': partition %zu: offset %" PRIu64 " and size %" PRIu64
					" must be multiples of %u, the size not 0",
					path, i + 1, p->offset, p->size, SECTOR);
		if (p->offset < prev_end || p->size > end || p->offset > end - p->size) {
			if (p->offset < first || p->size > end || p->offset > end - p->size)
				return log_fail("'%s': partition %zu at %" PRIu64 "..%" PRIu64
						" is outside the usable area %" PRIu64 "..%" PRIu64
						" of a %s table",
						path, i + 1, p->offset, p->offset + p->size, first,
						end, table);
			return log_fail("'%s': partition %zu at %" PRIu64 "..%" PRIu64
					" overlaps or precedes partition %zu",
					path, i + 1, p->offset, p->offset + p->size, i);
		}
		prev_end = p->offset + p->size;
		if (dl->table == TABLE_MSDOS &&
		    (p->offset / SECTOR > UINT32_MAX || p->size / SECTOR > UINT32_MAX))
			return log_fail("'%s': partition %zu at %" PRIu64 "..%" PRIu64
					" does not fit the 32-bit sector fields of an msdos table",
					path, i + 1, p->offset, p->offset + p->size);
		if (part_type_check(&p->type, dl->table) < 0) {
			log_error("'%s': partition %zu: type '%s' has no %s id", path, i + 1,
				  part_type_describe(&p->type, buf), table);
			return -EOPNOTSUPP;
		}
		if (dl->table == TABLE_GPT && p->name && gpt_name_encode(p->name, name) < 0)
			return log_fail("'%s': partition %zu: name '%s' is not valid UTF-8 of at "
					"most %u UTF-16 units",
					path, i + 1, p->name, GPT_NAME_UNITS);
	}
	return 0;
}

int disklabel_write(const char *path, const struct disklabel *dl)
{
	_cleanup_close_ int fd = -1;
	PedExceptionHandler *old_handler;
	struct stat st;
	int r;

	r = disklabel_validate(path, dl);
	if (r < 0)
		return r;

	/* Opened before libparted sees the file, for a clear error if it is missing. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0)
		return log_errno(errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return log_fail("'%s' is not a regular file", path);
	if ((uint64_t)st.st_size != dl->disk_size)
		return log_fail("'%s' is %jd bytes, expected %" PRIu64, path,
				(intmax_t)st.st_size, dl->disk_size);

	old_handler = ped_exception_get_handler();
	ped_exception_set_handler(ped_handler);
	ped_error_reset();
	r = ped_create(path, dl);
	if (r >= 0 && ped_error[0]) {
		/* An error libparted raised but recovered from: still worth reporting. */
		log_error("libparted: %s", ped_error);
		r = -EIO;
	}
	ped_error_reset();
	ped_exception_set_handler(old_handler);
	if (r < 0)
		return r;

	if (dl->table == TABLE_GPT)
		return patch_gpt(fd, path, dl);
	return patch_msdos(fd, path, dl);
}

bool part_type_is_bios_grub(const struct part_type *t)
{
	struct part_type bg;

	return part_type_from_string("bios-grub", &bg) == 0 && !memcmp(bg.guid, t->guid, 16);
}

bool part_type_is_esp(const struct part_type *t, enum table_type table)
{
	struct part_type esp;

	if (part_type_from_string("efi", &esp) < 0)
		return false;
	return table == TABLE_GPT ? !memcmp(esp.guid, t->guid, 16) : t->mbr_id == esp.mbr_id;
}
