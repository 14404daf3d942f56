/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The partition planner and the fstab generator, driven through the stages' own parse and
 * verify phases on small recipes: offsets, alignment, rest, percentages, automatic image
 * size, and the fstab text. */
#include <fcntl.h>
#include <sys/stat.h>

#include "check.h"
#include "fstab.h"
#include "log.h"
#include "stage.h"

extern const struct stage stage_image, stage_partition, stage_mkfs, stage_fstab;

static char dir[] = "/tmp/test-layout.XXXXXX";

struct plan {
	struct build b;
	void *priv[4];
	int r;
};

static void plan_free(struct plan *p)
{
	const struct stage *st[] = { &stage_image, &stage_partition, &stage_mkfs, &stage_fstab };

	for (size_t i = 0; i < 4; i++)
		if (p->priv[i] && st[i]->free)
			st[i]->free(p->priv[i]);
	for (size_t i = 0; i < p->b.n_parts; i++) {
		free(p->b.parts[i].name);
		free(p->b.parts[i].fs.label);
		free(p->b.parts[i].fs.mount);
		strv_free(p->b.parts[i].fs.options);
	}
	free(p->b.parts);
	free(p->b.seed);
	recipe_free(p->b.recipe);
}

/* Loads `yaml`, then parses and verifies image, partition, mkfs and fstab; r < 0 on error. */
static void plan(struct plan *p, const char *yaml)
{
	_cleanup_free_ char *path = xasprintf("%s/r.yml", dir);
	const struct stage *st[] = { &stage_image, &stage_partition, &stage_mkfs, &stage_fstab };
	FILE *f = fopen(path, "w");

	memset(p, 0, sizeof(*p));
	fputs(yaml, f);
	fclose(f);
	p->b.now = 1700000000;
	p->r = recipe_load(path, NULL, &p->b.recipe);
	for (size_t i = 0; i < 4 && p->r >= 0; i++)
		p->r = st[i]->parse(&p->b, &p->priv[i]);
	for (size_t i = 0; i < 4 && p->r >= 0; i++)
		if (st[i]->verify)
			p->r = st[i]->verify(&p->b, p->priv[i]);
}

#define MiB (1ULL << 20)

static void test_alignment_and_rest(void)
{
	struct plan p;

	plan(&p, "image: {size: 100MiB, seed: s}\n"
		 "partitions:\n"
		 "  - {name: a, size: 1000}\n"      /* rounded up to 1024 bytes */
		 "  - {name: b, size: rest}\n"
		 "  - {name: c, size: 10%}\n");
	CHECK(p.r >= 0);
	CHECK(p.b.n_parts == 3);
	CHECK(p.b.parts[0].offset == MiB && p.b.parts[0].length == 1024);
	CHECK(p.b.parts[1].offset == 2 * MiB);
	/* 10% of 100 MiB = 10 MiB, aligned down to 1 MiB; rest fills up to the end */
	CHECK(p.b.parts[2].length == 10 * MiB);
	CHECK(p.b.parts[2].offset == p.b.parts[1].offset + p.b.parts[1].length);
	CHECK(p.b.parts[2].offset + p.b.parts[2].length == 100 * MiB);
	CHECK(p.b.parts[1].length % MiB == 0);
	plan_free(&p);
}

static void test_gpt_rest_leaves_backup(void)
{
	struct plan p;

	plan(&p, "image: {size: 64MiB, table: gpt}\n"
		 "partitions: [{name: a, size: rest}]\n");
	CHECK(p.r >= 0);
	CHECK(p.b.parts[0].offset == MiB);
	CHECK(p.b.parts[0].offset + p.b.parts[0].length == 63 * MiB);
	plan_free(&p);
}

static void test_auto_size(void)
{
	struct plan p;

	plan(&p, "partitions: [{name: a, size: 10MiB}, {name: b, size: 5MiB}]\n");
	CHECK(p.r >= 0);
	CHECK(p.b.image_size == 16 * MiB);
	plan_free(&p);
	plan(&p, "image: {table: gpt}\npartitions: [{name: a, size: 10MiB}]\n");
	CHECK(p.r >= 0);
	CHECK(p.b.image_size == 12 * MiB); /* 11 MiB + the backup table, aligned */
	plan_free(&p);
	plan(&p, "partitions: [{name: a, size: rest}]\n");
	CHECK(p.r < 0); /* rest needs a size */
	plan_free(&p);
}

static void test_custom_align(void)
{
	struct plan p;

	plan(&p, "image: {size: 64MiB, align: 4MiB}\n"
		 "partitions: [{name: a, size: 1MiB}, {name: b, size: 1MiB}]\n");
	CHECK(p.r >= 0);
	CHECK(p.b.parts[0].offset == 4 * MiB && p.b.parts[1].offset == 8 * MiB);
	plan_free(&p);
	plan(&p, "image: {size: 64MiB, align: 1000}\n");
	CHECK(p.r < 0);
	plan_free(&p);
}

static void test_exact_fit(void)
{
	struct plan p;

	plan(&p, "image: {size: 64MiB}\npartitions: [{name: a, size: 63MiB}]\n");
	CHECK(p.r >= 0);
	plan_free(&p);
	plan(&p, "image: {size: 64MiB}\npartitions: [{name: a, size: 63MiB}, {name: b, size: 512}]\n");
	CHECK(p.r < 0);
	plan_free(&p);
}

static void test_seeded_ids(void)
{
	struct plan p, q;

	plan(&p, "image: {size: 8MiB, seed: one}\npartitions: [{name: a, size: 1MiB, "
		 "filesystem: {type: ext2}}]\n");
	plan(&q, "image: {size: 8MiB, seed: one}\npartitions: [{name: a, size: 1MiB, "
		 "filesystem: {type: ext2}}]\n");
	CHECK(p.r >= 0 && q.r >= 0);
	CHECK(p.b.mbr_id == q.b.mbr_id);
	CHECK(memcmp(p.b.parts[0].fs.uuid, q.b.parts[0].fs.uuid, 16) == 0);
	CHECK(memcmp(p.b.parts[0].uuid, p.b.parts[0].fs.uuid, 16) != 0);
	CHECK((p.b.parts[0].fs.uuid[6] >> 4) == 4); /* a version-4 UUID */
	plan_free(&q);
	plan(&q, "image: {size: 8MiB, seed: two}\npartitions: [{name: a, size: 1MiB, "
		 "filesystem: {type: ext2}}]\n");
	CHECK(p.b.mbr_id != q.b.mbr_id);
	plan_free(&p);
	plan_free(&q);
}

static void test_fstab_options(void)
{
	char *given[] = { "ro", "nodev", NULL }, *atime[] = { "relatime", NULL };
	_cleanup_free_ char *a = fstab_options(NULL, true), *b = fstab_options(NULL, false),
			    *c = fstab_options(given, true), *d = fstab_options(atime, false);

	CHECK_STREQ(a, "defaults,errors=remount-ro,noatime");
	CHECK_STREQ(b, "defaults,noatime");
	CHECK_STREQ(c, "ro,nodev,noatime");
	CHECK_STREQ(d, "relatime");
}

static int fstab_text(struct plan *p, char **ret)
{
	if (!p->priv[3])
		return -1;
	*ret = fstab_render(&p->b, p->priv[3]);
	return 0;
}

static bool has_line(const char *text, const char *spec, const char *file, const char *type,
		     const char *opts, const char *tail)
{
	char want[512];

	snprintf(want, sizeof(want), "%-40s %-15s %-6s %-30s %s\n", spec, file, type, opts, tail);
	return strstr(text, want) != NULL;
}

static void test_fstab_generate(void)
{
	struct plan p;
	_cleanup_free_ char *text = NULL;

	plan(&p, "image: {size: 64MiB, seed: f, id: '0x00c0ffee'}\n"
		 "partitions:\n"
		 "  - {name: boot, size: 8MiB, filesystem: {type: ext2, label: BOOT, mount: /boot}}\n"
		 "  - {name: root, size: 32MiB, filesystem: {type: ext4, mount: /, uuid: 01234567-89ab-4cde-8f01-23456789abcd}}\n"
		 "  - {name: raw, size: 8MiB}\n"
		 "  - {name: data, size: rest, filesystem: {type: ext3, label: D, mount: /data, options: 'nodev,noexec'}}\n"
		 "fstab:\n"
		 "  tmpfs: [/tmp, {path: /run/lock, size: 5MiB}]\n"
		 "  extra: [{spec: proc, file: /proc, type: proc}]\n");
	CHECK(p.r > 0 || p.r == 0);
	CHECK(fstab_text(&p, &text) == 0);
	CHECK(has_line(text, "LABEL=BOOT", "/boot", "ext2", "defaults,noatime", "0 2"));
	CHECK(has_line(text, "UUID=01234567-89ab-4cde-8f01-23456789abcd", "/", "ext4",
		       "defaults,errors=remount-ro,noatime", "0 1"));
	CHECK(has_line(text, "LABEL=D", "/data", "ext3", "nodev,noexec,noatime", "0 2"));
	CHECK(has_line(text, "tmpfs", "/tmp", "tmpfs", "defaults,noatime,nosuid,nodev,mode=1777",
		       "0 0"));
	CHECK(has_line(text, "tmpfs", "/run/lock", "tmpfs",
		       "defaults,noatime,nosuid,nodev,size=5242880", "0 0"));
	CHECK(has_line(text, "proc", "/proc", "proc", "defaults", "0 0"));
	CHECK(strstr(text, "/var/log") == NULL); /* the list replaced the default */
	/* in mount order, whatever the partitions' order: "/" before "/boot" (mount -a) */
	CHECK(strstr(text, "UUID=01234567") < strstr(text, "LABEL=BOOT"));
	free(text);
	text = NULL;
	plan_free(&p);

	plan(&p, "image: {size: 64MiB, id: '0x00c0ffee'}\n"
		 "partitions:\n"
		 "  - {name: root, size: rest, filesystem: {type: ext2, label: R, mount: /}}\n"
		 "fstab: {by: partuuid}\n");
	CHECK(p.r >= 0);
	CHECK(fstab_text(&p, &text) == 0);
	CHECK(has_line(text, "PARTUUID=00c0ffee-01", "/", "ext2", "defaults,errors=remount-ro,noatime",
		       "0 1"));
	CHECK(strstr(text, "/var/log") != NULL); /* the default list */
	plan_free(&p);
}

static void test_fstab_needs_root(void)
{
	struct plan p;

	plan(&p, "image: {size: 64MiB}\n"
		 "partitions: [{name: d, size: rest, filesystem: {type: ext2, mount: /data}}]\n"
		 "fstab: {by: uuid}\n");
	CHECK(p.r < 0);
	plan_free(&p);
	/* Without an explicit fstab: the stage just does not run. */
	plan(&p, "image: {size: 64MiB}\n"
		 "partitions: [{name: d, size: rest, filesystem: {type: ext2, mount: /data}}]\n");
	CHECK(p.r == 0);
	plan_free(&p);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	log_set_level(getenv("VERBOSE") ? LOG_DEBUG : LOG_ERR);
	RUN_TEST(test_alignment_and_rest);
	RUN_TEST(test_gpt_rest_leaves_backup);
	RUN_TEST(test_auto_size);
	RUN_TEST(test_custom_align);
	RUN_TEST(test_exact_fit);
	RUN_TEST(test_seeded_ids);
	RUN_TEST(test_fstab_options);
	RUN_TEST(test_fstab_generate);
	RUN_TEST(test_fstab_needs_root);
	{
		_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			return 1;
	}
	CHECK_EXIT();
}
