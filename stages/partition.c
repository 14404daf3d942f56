/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "partition": the partition table, written with libparted.
 *
 * partitions:                an ordered list; each entry:
 *   - name: rootfs           required, unique ([A-Za-z0-9._-], at most 36 characters)
 *     size: 1GiB             B, KiB, MiB, GiB (or kB, MB, GB), N% of the image, or "rest"
 *                            (the space left; one partition at most)
 *     type: linux            linux (default), efi, swap, bios-grub (GPT), fat32, lvm, raid,
 *                            linux-root-x86-64, linux-home, a hex msdos id ("0x83"), or a
 *                            GPT type GUID
 *     bootable: false        msdos: the active flag the stage-1 loader looks for (one
 *                            partition at most); GPT: the legacy BIOS bootable attribute
 *     uuid: ...              GPT partition GUID; default derived from the seed
 *     grow: false            true: on the first boot from a larger medium, the initramfs
 *                            grows this partition (the last one) to the end of the disk and
 *                            its ext2/3/4 filesystem with it (stages/initrd.c)
 *     filesystem:            optional: the mkfs stage's (stages/mkfs.c)
 *
 * Partitions start at the next multiple of image.align (1 MiB) after the previous one; a size
 * is rounded up to whole 512-byte sectors. msdos holds at most 4 (primary) partitions. */
#include <uuid/uuid.h>

#include "log.h"
#include "stage.h"

/* What the tables can describe (libparted refuses more): GPT as libparted writes it has 128
 * entries; an msdos entry holds the start and the length in 32-bit sector counts. */
#define GPT_PARTS_MAX 128
#define MSDOS_SECTORS_MAX UINT32_MAX

static int parse_part(struct build *b, struct partition *p, const struct node *n)
{
	struct node *v;
	int r;

	p->node = n;
	p->shred = -1;
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	if (!(v = node_get(n, "name")))
		return node_error(n, "missing 'name' (each partition needs a unique name)");
	{
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!*s || strlen(s) > 36 || s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
						  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")])
			return node_error(v, "'%s' is not a partition name (1-36 of A-Z a-z 0-9 . _ -)",
					  s);
		p->name = xstrdup(s);
	}
	if (!(v = node_get(n, "size")))
		return node_error(n, "missing 'size' (such as 512MiB, 50%%, or rest)");
	if ((r = node_get_size(v, SIZE_ALLOW_PERCENT | SIZE_ALLOW_REST, &p->size)) < 0)
		return r;
	if (p->size.kind == SIZE_BYTES && p->size.bytes == 0)
		return node_error(v, "a partition cannot be empty");
	if ((v = node_get(n, "type"))) {
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (part_type_from_string(s, &p->type) < 0)
			return node_error(v, "'%s' is not a partition type (linux, efi, swap, "
					  "bios-grub, fat32, lvm, raid, a hex msdos id such as 0x83, "
					  "or a GPT type GUID)", s);
	} else {
		part_type_from_string("linux", &p->type);
	}
	if ((v = node_get(n, "bootable")) && (r = node_get_bool(v, &p->bootable)) < 0)
		return r;
	if ((v = node_get(n, "grow")) && (r = node_get_bool(v, &p->grow)) < 0)
		return r;
	if ((v = node_get(n, "uuid"))) {
		if ((r = node_get_uuid(v, "partition GUID", p->uuid)) < 0)
			return r;
	} else {
		_cleanup_free_ char *purpose = xasprintf("partition:%s", p->name);

		build_derive_uuid(b, purpose, p->uuid);
	}
	return 0;
}

static int partition_parse(struct build *b, void **ret_priv)
{
	struct node *list = node_get(b->recipe->root, "partitions");
	int r;

	if (!list)
		return 1; /* an image with an empty table is still an image */
	if ((r = node_expect(list, NODE_SEQ)) < 0)
		return r;
	b->parts = xcalloc(list->n, sizeof(*b->parts));
	for (size_t i = 0; i < list->n; i++) {
		b->n_parts++;
		b->parts[i].number = (unsigned)i + 1;
		r = parse_part(b, &b->parts[i], list->items[i]);
		if (r < 0)
			return r;
	}
	return 1;
}

/* v rounded up to a multiple of a, or false when that does not fit in 64 bits. */
static bool align_up_checked(uint64_t v, uint64_t a, uint64_t *ret)
{
	uint64_t t;

	if (__builtin_add_overflow(v, a - 1, &t))
		return false;
	*ret = t / a * a;
	return true;
}

/* Places every partition; `rest` is the length given to the "rest" partition. Sets *ret_end
 * to the end of the last partition. Fails with the partition whose end does not fit in 64
 * bits (a size near 2^64), which no image could hold. */
static int layout(struct build *b, uint64_t first, uint64_t rest, uint64_t *ret_end,
		  struct partition **ret_bad)
{
	uint64_t cursor = first;

	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		bool ok = align_up_checked(cursor, b->align, &p->offset);

		switch (p->size.kind) {
		case SIZE_BYTES:
			ok = ok && align_up_checked(p->size.bytes, 512, &p->length);
			break;
		case SIZE_PERCENT:
			p->length = align_down((uint64_t)((unsigned __int128)b->image_size *
						       p->size.permille / 1000),
					       b->align);
			break;
		case SIZE_REST:
			p->length = rest;
			break;
		}
		if (!ok || __builtin_add_overflow(p->offset, p->length, &cursor)) {
			*ret_bad = p;
			return -ERANGE;
		}
	}
	*ret_end = cursor;
	return 0;
}

static const struct node *size_node(const struct partition *p)
{
	const struct node *n = node_get(p->node, "size");

	return n ? n : p->node;
}

/* The partition whose end is past 2^64 bytes, or the last one when the image size is. */
static int too_large(struct build *b, struct partition *bad)
{
	struct partition *p = bad ? bad : &b->parts[b->n_parts - 1];

	return node_error(size_node(p), "partition '%s' ends beyond 16 EiB: no image can hold it",
			  p->name);
}

static int partition_verify(struct build *b, void *priv)
{
	uint64_t first, end, last;
	struct partition *rest = NULL, *bad = NULL;
	size_t n_boot = 0;
	char a[32], c[32];

	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];

		for (size_t j = 0; j < i; j++)
			if (streq(b->parts[j].name, p->name))
				return node_error(node_get(p->node, "name"),
						  "duplicate partition name '%s' (also partitions[%zu])",
						  p->name, j);
		if (p->size.kind == SIZE_REST) {
			if (rest)
				return node_error(size_node(p), "only one partition can take the "
						  "rest (partition '%s' already does)", rest->name);
			rest = p;
		}
		if (p->size.kind != SIZE_BYTES && !b->image_size)
			return node_error(size_node(p), "'%s' needs image.size to be set",
					  p->size.kind == SIZE_REST ? "rest" : "a percentage");
		if (part_type_check(&p->type, b->table) < 0)
			return node_error(node_get(p->node, "type"), "type '%s' has no %s id",
					  node_get(p->node, "type")->scalar,
					  table_type_to_string(b->table));
		if (p->grow && b->bootloader == BOOTLOADER_NONE &&
		    !node_get(b->recipe->root, "initrd") && !node_get(b->recipe->root, "kernel"))
			return node_error(
				node_get(p->node, "grow"),
				"partitions grow in "
				"mkbootmedia's initramfs, which this image does not boot: "
				"add a bootloader: (or initrd:)");
		if (p->grow && i + 1 < b->n_parts)
			return node_error(node_get(p->node, "grow"),
					  "only the last partition can "
					  "grow to the end of the medium: '%s' comes after '%s'",
					  b->parts[b->n_parts - 1].name, p->name);
		if (p->bootable)
			n_boot++;
		if (p->bootable && b->table == TABLE_MSDOS && n_boot > 1)
			return node_error(node_get(p->node, "bootable"),
					  "only one msdos partition can be active (bootable): the "
					  "MBR's loader refuses a table with two");
	}
	if (b->table == TABLE_MSDOS && b->n_parts > 4)
		return node_error(b->parts[4].node, "an msdos table holds at most 4 primary "
				  "partitions (use image.table: gpt for more)");

	if (b->table == TABLE_GPT && b->n_parts > GPT_PARTS_MAX)
		return node_error(b->parts[GPT_PARTS_MAX].node, "a GPT table holds at most %d "
				  "partitions", GPT_PARTS_MAX);

	if (!b->image_size) {
		/* No size given: just enough for the partitions (and GPT's backup table). */
		disklabel_usable(b->table, 1ULL << 40, &first, &end);
		if (layout(b, first, 0, &last, &bad) < 0 ||
		    __builtin_add_overflow(last, b->table == TABLE_GPT ? 33 * 512 : 0, &last) ||
		    !align_up_checked(last, b->align, &b->image_size))
			return too_large(b, bad);
		if (!b->n_parts)
			b->image_size = b->align;
	}
	disklabel_usable(b->table, b->image_size, &first, &end);
	if (layout(b, first, 0, &last, &bad) < 0)
		return too_large(b, bad);
	if (rest) {
		if (last > end || align_down(end - last, b->align) == 0)
			return node_error(size_node(rest), "no space is left for partition '%s' "
					  "(size: rest) in the %s image", rest->name,
					  format_bytes(a, b->image_size));
		if (layout(b, first, align_down(end - last, b->align), &last, &bad) < 0)
			return too_large(b, bad);
	}
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];

		if (p->length == 0)
			return node_error(size_node(p), "partition '%s' rounds down to nothing in "
					  "the %s image", p->name, format_bytes(a, b->image_size));
		if (p->offset + p->length > end) /* no overflow: layout() checked */
			return node_error(size_node(p), "partition '%s' (%s at %s) does not fit: it "
					  "ends %s past the usable end of the %s image (make "
					  "image.size larger or the partitions smaller)",
					  p->name, format_bytes(a, p->length),
					  format_bytes(c, p->offset),
					  format_bytes((char[32]){ 0 }, p->offset + p->length - end),
					  format_bytes((char[32]){ 0 }, b->image_size));
		if (b->table == TABLE_MSDOS && (p->offset / 512 > MSDOS_SECTORS_MAX ||
						p->length / 512 > MSDOS_SECTORS_MAX))
			return node_error(size_node(p), "partition '%s' (%s at %s) %s beyond the 2 "
					  "TiB an msdos entry can describe (use image.table: gpt)",
					  p->name, format_bytes(a, p->length),
					  format_bytes(c, p->offset),
					  p->offset / 512 > MSDOS_SECTORS_MAX ? "starts"
									      : "reaches");
	}
	return 0;
}

static int partition_plan(struct build *b, void *priv, FILE *out)
{
	fprintf(out, "partitions:\n  %-3s %-12s %10s %10s %-8s %-5s %-16s %s\n", "#", "name",
		"start MiB", "size MiB", "type", "fs", "label", "mount");
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		char type[40];

		if (p->type.name)
			snprintf(type, sizeof(type), "%s", p->type.name);
		else if (b->table == TABLE_MSDOS)
			snprintf(type, sizeof(type), "0x%02x", p->type.mbr_id);
		else
			uuid_unparse_lower(p->type.guid, type);
		fprintf(out, "  %-3u %-12s %10.2f %10.2f %-8s %-5s %-16s %s%s%s\n", p->number,
			p->name, (double)p->offset / (1 << 20), (double)p->length / (1 << 20), type,
			fs_type_to_string(p->fs.type), p->fs.label ? p->fs.label : "-",
			p->fs.mount ? p->fs.mount : "-", p->bootable ? " (bootable)" : "",
			p->grow ? " (grows on first boot)" : "");
	}
	return 0;
}

static int partition_run(struct build *b, void *priv)
{
	_cleanup_free_ struct dl_part *dl = xcalloc(b->n_parts, sizeof(*dl));
	struct disklabel label = {
		.table = b->table,
		.disk_size = b->image_size,
		.mbr_id = b->mbr_id,
		.n_parts = b->n_parts,
		.parts = dl,
	};

	memcpy(label.disk_guid, b->disk_guid, 16);
	for (size_t i = 0; i < b->n_parts; i++) {
		dl[i].offset = b->parts[i].offset;
		dl[i].size = b->parts[i].length;
		dl[i].name = b->parts[i].name;
		dl[i].type = b->parts[i].type;
		dl[i].bootable = b->parts[i].bootable;
		memcpy(dl[i].uuid, b->parts[i].uuid, 16);
	}
	log_info("%s table with %zu partition%s", table_type_to_string(b->table), b->n_parts,
		 b->n_parts == 1 ? "" : "s");
	return disklabel_write(b->tmp_path, &label);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key partition_key_table[] = {
	{ "partitions", "list", NULL, NULL, "the partitions, in table order" },
	{ "partitions[].name", "string", "required", NULL,
	  "unique, [A-Za-z0-9._-], at most 36 characters (the GPT name)" },
	{ "partitions[].size", "size", "required", NULL,
	  "a size, N% of the image, or rest (the space left; one partition at most)" },
	{ "partitions[].type", "string", "linux", NULL,
	  "linux, efi, swap, bios-grub (GPT), fat32, lvm, raid, linux-root-x86-64, linux-home, "
	  "a hex msdos id (0x83) or a GPT type GUID" },
	{ "partitions[].bootable", "bool", "false", NULL,
	  "msdos: the active flag (one partition at most); GPT: the legacy BIOS bootable "
	  "attribute" },
	{ "partitions[].uuid", "uuid", "from the seed", NULL, "GPT partition GUID" },
	{ "partitions[].grow", "bool", "false", NULL,
	  "the last partition and its ext2/3/4 filesystem grow to the medium's end on the first "
	  "boot (in the initramfs)" },
	{ NULL },
};

const struct stage stage_partition = {
	.name = "partition",
	.key_table = partition_key_table,
	.summary = "write the partition table (libparted)",
	.parse = partition_parse,
	.verify = partition_verify,
	.plan = partition_plan,
	.run = partition_run,
};
