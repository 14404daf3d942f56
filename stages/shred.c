/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "shred": what the space of the image or of a partition holds before anything is
 * written there.
 *
 * image:
 *   shred: none              none, zero or random, for the whole image (default none)
 * partitions:
 *   - shred: random          the same, for one partition (default: random for an encrypted
 *                            partition, as the seed says zeroed filesystems are bad for
 *                            encrypted ones; none otherwise)
 *
 * none: a fresh image file is sparse and reads as zeros, which is what most of it should
 * be on a key written with dd; zero: the same zeros, written out (a card that must not hold
 * anything older than the image after dd'ing only the used part is better served by
 * bmaptool); random: an AES-CTR keystream, so that on an encrypted partition free blocks
 * cannot be told from used ones. Everything else stays sparse. */
#include <fcntl.h>

#include "cryptio.h"
#include "log.h"
#include "stage.h"


struct range {
	uint64_t offset, length;
	enum shred_mode mode;
	const char *what;
};

struct shred_priv {
	struct range *ranges;
	size_t n;
};

static int shred_parse(struct build *b, void **ret_priv)
{
	const struct node *img = node_get(b->recipe->root, "image");
	const struct node *parts = node_get(b->recipe->root, "partitions"), *v;
	bool any = false;
	int mode, r;

	if (img && img->kind == NODE_MAP && (v = node_get(img, "shred"))) {
		if ((r = node_get_enum(v, shred_mode_names, &mode)) < 0)
			return r;
		b->image_shred = mode;
		any |= mode != SHRED_NONE;
	}
	/* The encrypt stage, parsed after this one, says which partitions are encrypted. */
	for (size_t i = 0; parts && parts->kind == NODE_SEQ && i < parts->n; i++)
		if (parts->items[i]->kind == NODE_MAP)
			any |= node_get(parts->items[i], "shred") || node_get(parts->items[i], "encrypt");
	if (!any)
		return 0;
	*ret_priv = xcalloc(1, sizeof(struct shred_priv));
	return 1;
}

static int shred_verify(struct build *b, void *priv)
{
	const struct node *v;
	int r;

	for (size_t i = 0; i < b->n_parts; i++)
		if ((v = node_get(b->parts[i].node, "shred")) &&
		    (r = node_get_enum(v, shred_mode_names, &b->parts[i].shred)) < 0)
			return r;
	return 0;
}

/* The ranges to fill. */
static void shred_ranges(struct build *b, struct shred_priv *p)
{
	if (p->ranges)
		return;
	p->ranges = xcalloc(b->n_parts + 1, sizeof(*p->ranges));
	/* After the partition table: its sectors stay (msdos: sector 0; GPT: the primary
	 * header and entries at the start, the backup at the end). libparted clears other
	 * labels' signatures when it writes a table, which would leave zeros in a shred done
	 * before it. */
	if (b->image_shred > SHRED_NONE) {
		uint64_t head = b->table == TABLE_GPT ? 34 * 512 : 512;
		uint64_t tail = b->table == TABLE_GPT ? 33 * 512 : 0;

		p->ranges[p->n++] = (struct range){ head, b->image_size - head - tail,
						    b->image_shred, "the image" };
	}
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *q = &b->parts[i];
		int mode = q->shred >= 0 ? q->shred : q->enc ? SHRED_RANDOM : SHRED_NONE;

		/* The whole image is done already, the same way. */
		if (mode == SHRED_NONE || mode == b->image_shred)
			continue;
		p->ranges[p->n++] = (struct range){ q->offset, q->length, mode, q->name };
	}
}

static int shred_plan(struct build *b, void *priv, FILE *out)
{
	struct shred_priv *p = priv;
	char s[32];

	shred_ranges(b, p);
	fprintf(out, "shred:\n");
	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "  %s: %s (%s)\n", p->ranges[i].what,
			shred_mode_names[p->ranges[i].mode], format_bytes(s, p->ranges[i].length));
	return 0;
}

static int fill_zero(int fd, uint64_t offset, uint64_t length)
{
	static const uint8_t zeros[1 << 16];

	for (uint64_t done = 0; done < length;) {
		size_t n = length - done < sizeof(zeros) ? (size_t)(length - done) : sizeof(zeros);
		int r = pwrite_all(fd, zeros, n, offset + done);

		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static int shred_run(struct build *b, void *priv)
{
	struct shred_priv *p = priv;
	char s[32];
	int r;

	shred_ranges(b, p);
	for (size_t i = 0; i < p->n; i++) {
		const struct range *g = &p->ranges[i];
		uint8_t seed[32], *seedp = NULL;

		/* With a build seed, the same bytes every time; otherwise a random key. */
		if (b->seed) {
			_cleanup_free_ char *p1 = xasprintf("shred:%s", g->what);
			_cleanup_free_ char *p2 = xasprintf("shred:%s/2", g->what);

			build_derive(b, p1, seed);
			build_derive(b, p2, seed + 16);
			seedp = seed;
		}
		if (g->mode == SHRED_RANDOM)
			r = cryptio_fill_random(b->fd, g->offset, g->length, seedp);
		else
			r = fill_zero(b->fd, g->offset, g->length);
		explicit_bzero(seed, sizeof(seed));
		if (r < 0)
			return log_errno(r, "cannot fill %s", g->what);
		log_info("%s: %s, %s", g->what, shred_mode_names[g->mode],
			 format_bytes(s, g->length));
	}
	return 0;
}

static void shred_free(void *priv)
{
	struct shred_priv *p = priv;

	if (p)
		free(p->ranges);
	free(p);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key shred_key_table[] = {
	{ "image.shred", "enum", "none", shred_mode_names,
	  "fill the whole image first: zero bytes, or random ones (AES-CTR keystream)" },
	{ "partitions[].shred", "enum", "random when encrypted, else none", shred_mode_names,
	  "fill this partition first" },
	{ NULL },
};

const struct stage stage_shred = {
	.name = "shred",
	.key_table = shred_key_table,
	.summary = "random or zero bytes where the recipe asks, before anything else",
	.parse = shred_parse,
	.verify = shred_verify,
	.plan = shred_plan,
	.run = shred_run,
	.free = shred_free,
};
