/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "image": the sparse image file.
 *
 * image:                     optional mapping
 *   size: 2GiB               the image size (B, KiB, MiB, GiB, kB, MB, GB); default: just
 *                            large enough for the partitions (not allowed with % or rest)
 *   table: msdos             msdos (default) or gpt
 *   id: 0x5eed0001           disk identifier: the msdos disk signature (8 hex digits) or the
 *                            GPT disk GUID; default: derived from the seed, else random
 *   seed: my-usb-key         derives every identifier (disk id, partition and filesystem
 *                            UUIDs, hash seeds); --seed overrides; default: random
 *   align: 1MiB              partition alignment (a multiple of 512); default 1 MiB
 *
 * The file is created by the driver next to the output and only extended here: every byte
 * no later stage writes stays a hole. */
#include <uuid/uuid.h>

#include "log.h"
#include "stage.h"

struct image_priv {
	const struct node *id;
	const struct node *size;
};

static const char *const table_names[] = { "msdos", "gpt", NULL };

static int image_parse(struct build *b, void **ret_priv)
{
	struct node *img = node_get(b->recipe->root, "image"), *n;
	struct image_priv *p;
	int r;

	b->table = TABLE_MSDOS;
	b->align = 1 << 20;
	p = xcalloc(1, sizeof(*p));
	*ret_priv = p;
	if (!img)
		return 1;
	if ((r = node_expect(img, NODE_MAP)) < 0)
		return r;
	if ((n = node_get(img, "size"))) {
		struct size s;

		r = node_get_size(n, 0, &s);
		if (r < 0)
			return r;
		if (s.bytes == 0 || s.bytes % 512)
			return node_error(n, "'%s' is not a whole number of 512-byte sectors",
					  n->scalar);
		b->image_size = s.bytes;
		p->size = n;
	}
	if ((n = node_get(img, "table"))) {
		int t;

		r = node_get_enum(n, table_names, &t);
		if (r < 0)
			return r;
		b->table = (enum table_type)t;
	}
	if ((n = node_get(img, "align"))) {
		struct size s;

		r = node_get_size(n, 0, &s);
		if (r < 0)
			return r;
		if (s.bytes < 512 || s.bytes % 512)
			return node_error(n, "'%s' is not a multiple of 512 bytes", n->scalar);
		b->align = s.bytes;
	}
	if ((n = node_get(img, "seed"))) {
		const char *seed;

		r = node_get_string(n, &seed);
		if (r < 0)
			return r;
		if (!b->seed)
			b->seed = xstrdup(seed);
	}
	p->id = node_get(img, "id");
	return 1;
}

static int image_verify(struct build *b, void *priv)
{
	struct image_priv *p = priv;
	const char *s;
	int r;

	if (!p->id) {
		uint8_t d[16];

		build_derive(b, "disk-id", d);
		b->mbr_id = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
			    (uint32_t)d[3] << 24;
		if (!b->mbr_id)
			b->mbr_id = 1;
		build_derive_uuid(b, "disk-guid", b->disk_guid);
		return 0;
	}
	r = node_get_string(p->id, &s);
	if (r < 0)
		return r;
	if (b->table == TABLE_MSDOS) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 16);
		if (errno || *end || !*s || v == 0 || v > UINT32_MAX || strlen(s) > 10)
			return node_error(p->id, "'%s' is not an msdos disk identifier (8 hex digits "
					  "such as 0x1234abcd, not 0)", s);
		b->mbr_id = (uint32_t)v;
		build_derive_uuid(b, "disk-guid", b->disk_guid);
	} else {
		r = node_get_uuid(p->id, "GPT disk GUID", b->disk_guid);
		if (r < 0)
			return r;
		b->mbr_id = 0;
	}
	return 0;
}

static int image_plan(struct build *b, void *priv, FILE *out)
{
	char sz[32];

	fprintf(out, "image: %s (%llu MiB), %s table", format_bytes(sz, b->image_size),
		(unsigned long long)(b->image_size >> 20), table_type_to_string(b->table));
	if (b->table == TABLE_MSDOS) {
		fprintf(out, ", disk id 0x%08x", b->mbr_id);
	} else {
		char g[37];

		uuid_unparse_lower(b->disk_guid, g);
		fprintf(out, ", disk GUID %s", g);
	}
	fprintf(out, "%s\n", b->seed ? "" : " (random: no seed)");
	return 0;
}

static int image_run(struct build *b, void *priv)
{
	char sz[32];

	if (ftruncate(b->fd, (off_t)b->image_size) < 0)
		return log_errno(errno, "cannot size '%s' to %s", b->tmp_path,
				 format_bytes(sz, b->image_size));
	log_info("sparse image of %s", format_bytes(sz, b->image_size));
	return 0;
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key image_key_table[] = {
	{ "image", "map", NULL, NULL, "the image file (optional)" },
	{ "image.size", "size", "sum of the partitions", NULL,
	  "image size, a whole number of 512-byte sectors (no % or rest)" },
	{ "image.table", "enum", "msdos", table_names, "the partition table" },
	{ "image.id", "string", "from the seed", NULL,
	  "msdos disk signature (0x1234abcd) or GPT disk GUID" },
	{ "image.seed", "string", "random", NULL,
	  "derives every identifier, for reproducible images (--seed overrides)" },
	{ "image.align", "size", "1MiB", NULL, "partition alignment, a multiple of 512" },
	{ NULL },
};

const struct stage stage_image = {
	.name = "image",
	.key_table = image_key_table,
	.summary = "create the sparse image file",
	.parse = image_parse,
	.verify = image_verify,
	.plan = image_plan,
	.run = image_run,
	.free = free,
};
