/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia diff A.img B.img`: how two images differ, from the outside in: the partition
 * table, then each partition, then each ext2/3/4 filesystem down to its files (paths, types,
 * modes, owners, sizes, symlink targets, devices, contents), and last the byte ranges that
 * differ for no reason said above, each named by what holds it (lib/imgmap). Prints nothing
 * and exits 0 when the images are the same bytes; 1 when they differ; 2 on a usage error or
 * an image that cannot be read. */
#include <fcntl.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "cli.h"
#include "imgmap.h"
#include "log.h"

#define CHUNK (1u << 20)
#define MERGE_GAP 64   /* differing bytes this close make one range */
#define MAX_RANGES 200 /* unexplained ranges printed; the rest are counted */

struct range {
	uint64_t start, end; /* [start, end) */
};

struct diff {
	const char *a_name, *b_name;
	struct imgmap *a, *b;
	bool differ;
	bool table_said; /* a difference of the partition table was reported */
	/* per partition index of a: what the file-level comparison reported */
	struct part_notes {
		bool *ino_a, *ino_b; /* inodes whose file (or, for a directory, a child) differs */
		size_t n_ino_a, n_ino_b;
		bool super; /* a superblock field was reported */
		bool any;   /* a file was reported */
	} * notes;
	struct range *unexplained;
	size_t n_unexplained;
};

static void say(struct diff *d, const char *fmt, ...) _printf_(2, 3);
static void say(struct diff *d, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	d->differ = true;
	/* Names come from the images: no control character reaches the terminal. */
	log_escape_to(stdout, text, false);
	fputc('\n', stdout);
}

/* ---- the partition table ---- */

static const char *table_name(enum imgmap_table_type t)
{
	return t == IMGMAP_TABLE_MSDOS ? "msdos" : t == IMGMAP_TABLE_GPT ? "gpt" : "none";
}

static const struct imgmap_part *part_number(const struct imgmap *m, unsigned n)
{
	for (size_t i = 0; i < m->n_parts; i++)
		if (m->parts[i].number == n)
			return &m->parts[i];
	return NULL;
}

static void diff_table_fields(struct diff *d);

static void diff_table(struct diff *d)
{
	bool before = d->differ;

	d->differ = false;
	diff_table_fields(d);
	d->table_said = d->differ;
	d->differ |= before;
}

static void diff_table_fields(struct diff *d)
{
	const struct imgmap *a = d->a, *b = d->b;

	if (a->size != b->size)
		say(d, "image size: %llu -> %llu bytes", (unsigned long long)a->size,
		    (unsigned long long)b->size);
	if (a->table != b->table)
		say(d, "partition table: %s -> %s", table_name(a->table), table_name(b->table));
	else if (!streq(a->disk_id, b->disk_id))
		say(d, "partition table: disk id %s -> %s", a->disk_id, b->disk_id);
	for (size_t i = 0; i < a->n_parts; i++) {
		const struct imgmap_part *p = &a->parts[i], *q = part_number(b, p->number);

		if (!q) {
			say(d, "partition %u: only in %s", p->number, d->a_name);
			continue;
		}
		if (p->offset != q->offset || p->size != q->size)
			say(d, "partition %u: bytes %llu+%llu -> %llu+%llu", p->number,
			    (unsigned long long)p->offset, (unsigned long long)p->size,
			    (unsigned long long)q->offset, (unsigned long long)q->size);
		if (!streq(p->type, q->type))
			say(d, "partition %u: type %s -> %s", p->number, p->type, q->type);
		if (!streq(p->uuid, q->uuid))
			say(d, "partition %u: uuid %s -> %s", p->number, p->uuid, q->uuid);
		if (!streq(p->name, q->name))
			say(d, "partition %u: name '%s' -> '%s'", p->number, p->name, q->name);
		if (p->bootable != q->bootable)
			say(d, "partition %u: bootable %s -> %s", p->number,
			    p->bootable ? "yes" : "no", q->bootable ? "yes" : "no");
	}
	for (size_t i = 0; i < b->n_parts; i++)
		if (!part_number(a, b->parts[i].number))
			say(d, "partition %u: only in %s", b->parts[i].number, d->b_name);
}

/* ---- filesystems ---- */

static const char *type_name(unsigned mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		return "file";
	case LINUX_S_IFDIR:
		return "directory";
	case LINUX_S_IFLNK:
		return "symlink";
	case LINUX_S_IFCHR:
		return "character device";
	case LINUX_S_IFBLK:
		return "block device";
	case LINUX_S_IFIFO:
		return "fifo";
	case LINUX_S_IFSOCK:
		return "socket";
	default:
		return "unknown";
	}
}

static void note_ino(bool *set, size_t n, ext2_ino_t ino)
{
	if (ino && ino < n)
		set[ino] = true;
}

/* The directory holding path, in f (its inode), so that its blocks count as explained. */
static ext2_ino_t parent_ino(const struct imgmap_fs *f, const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const struct imgmap_file *e;

	if (!slash)
		return 0;
	if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	e = imgmap_fs_find(f, dir);
	return e ? e->ino : 0;
}

static void note_path(struct part_notes *n, const struct imgmap_fs *fa, const struct imgmap_fs *fb,
		      const struct imgmap_file *x, const struct imgmap_file *y)
{
	n->any = true;
	if (x) {
		note_ino(n->ino_a, n->n_ino_a, x->ino);
		note_ino(n->ino_a, n->n_ino_a, parent_ino(fa, x->path));
	}
	if (y) {
		note_ino(n->ino_b, n->n_ino_b, y->ino);
		note_ino(n->ino_b, n->n_ino_b, parent_ino(fb, y->path));
	}
}

static void hex8(const uint8_t *h, char out[static 17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void diff_file(struct diff *d, unsigned part, struct part_notes *n,
		      const struct imgmap_fs *fa, const struct imgmap_fs *fb,
		      const struct imgmap_file *x, const struct imgmap_file *y)
{
	bool before = d->differ;

	d->differ = false;
	if ((x->mode & LINUX_S_IFMT) != (y->mode & LINUX_S_IFMT)) {
		say(d, "partition %u: %s: %s -> %s", part, x->path, type_name(x->mode),
		    type_name(y->mode));
	} else {
		if ((x->mode & 07777) != (y->mode & 07777))
			say(d, "partition %u: %s: mode %04o -> %04o", part, x->path,
			    x->mode & 07777, y->mode & 07777);
		if (x->uid != y->uid || x->gid != y->gid)
			say(d, "partition %u: %s: owner %u:%u -> %u:%u", part, x->path, x->uid,
			    x->gid, y->uid, y->gid);
		if (LINUX_S_ISREG(x->mode) && x->size != y->size)
			say(d, "partition %u: %s: size %llu -> %llu", part, x->path,
			    (unsigned long long)x->size, (unsigned long long)y->size);
		if (LINUX_S_ISREG(x->mode) && memcmp(x->sha256, y->sha256, 32) != 0) {
			char ha[17], hb[17];

			hex8(x->sha256, ha);
			hex8(y->sha256, hb);
			say(d, "partition %u: %s: contents differ (sha256 %s... -> %s...)", part,
			    x->path, ha, hb);
		}
		if (x->target && y->target && !streq(x->target, y->target))
			say(d, "partition %u: %s: symlink to '%s' -> '%s'", part, x->path,
			    x->target, y->target);
		if (x->rdev != y->rdev)
			say(d, "partition %u: %s: device %#lx -> %#lx", part, x->path, x->rdev,
			    y->rdev);
		if (x->nlink != y->nlink && !LINUX_S_ISDIR(x->mode))
			say(d, "partition %u: %s: links %u -> %u", part, x->path, x->nlink,
			    y->nlink);
	}
	if (d->differ)
		note_path(n, fa, fb, x, y);
	d->differ |= before;
}

static void diff_super(struct diff *d, unsigned part, struct part_notes *n,
		       const struct imgmap_fs *fa, const struct imgmap_fs *fb)
{
	struct ext2_super_block *x = fa->fs->super, *y = fb->fs->super;
	char ua[40], ub[40];

	if (memcmp(x->s_uuid, y->s_uuid, 16)) {
		uuid_unparse(x->s_uuid, ua);
		uuid_unparse(y->s_uuid, ub);
		say(d, "partition %u: filesystem UUID %s -> %s", part, ua, ub);
		n->super = true;
	}
	if (memcmp(x->s_volume_name, y->s_volume_name, sizeof(x->s_volume_name))) {
		say(d, "partition %u: filesystem label '%.16s' -> '%.16s'", part,
		    (const char *)x->s_volume_name, (const char *)y->s_volume_name);
		n->super = true;
	}
	if (x->s_mkfs_time != y->s_mkfs_time || x->s_wtime != y->s_wtime ||
	    x->s_mtime != y->s_mtime || x->s_lastcheck != y->s_lastcheck) {
		say(d, "partition %u: filesystem times (created %u, written %u) -> (%u, %u)", part,
		    x->s_mkfs_time, x->s_wtime, y->s_mkfs_time, y->s_wtime);
		n->super = true;
	}
	if (memcmp(x->s_hash_seed, y->s_hash_seed, 16)) {
		say(d, "partition %u: filesystem directory hash seed differs", part);
		n->super = true;
	}
	if (ext2fs_free_blocks_count(x) != ext2fs_free_blocks_count(y) ||
	    x->s_free_inodes_count != y->s_free_inodes_count) {
		say(d, "partition %u: free blocks %llu -> %llu, free inodes %u -> %u", part,
		    (unsigned long long)ext2fs_free_blocks_count(x),
		    (unsigned long long)ext2fs_free_blocks_count(y), x->s_free_inodes_count,
		    y->s_free_inodes_count);
		n->super = true;
	}
}

static void diff_fs(struct diff *d, unsigned part, struct part_notes *n, const struct imgmap_fs *fa,
		    const struct imgmap_fs *fb)
{
	size_t i = 0, k = 0;

	n->n_ino_a = fa->fs->super->s_inodes_count + 1;
	n->n_ino_b = fb->fs->super->s_inodes_count + 1;
	n->ino_a = xcalloc(n->n_ino_a, sizeof(bool));
	n->ino_b = xcalloc(n->n_ino_b, sizeof(bool));
	diff_super(d, part, n, fa, fb);
	while (i < fa->n_files || k < fb->n_files) {
		const struct imgmap_file *x = i < fa->n_files ? &fa->files[i] : NULL;
		const struct imgmap_file *y = k < fb->n_files ? &fb->files[k] : NULL;
		int c = !x ? 1 : !y ? -1 : strcmp(x->path, y->path);

		if (c < 0) {
			say(d, "partition %u: %s: only in %s (%s)", part, x->path, d->a_name,
			    type_name(x->mode));
			note_path(n, fa, fb, x, NULL);
			i++;
		} else if (c > 0) {
			say(d, "partition %u: %s: only in %s (%s)", part, y->path, d->b_name,
			    type_name(y->mode));
			note_path(n, fa, fb, NULL, y);
			k++;
		} else {
			diff_file(d, part, n, fa, fb, x, y);
			i++;
			k++;
		}
	}
}

/* ---- the bytes ---- */

/* Whether byte off of partition p (index pi of a) differs for a reason already said. */
static bool explained_at(const struct diff *d, size_t pi, const struct imgmap_part *q, uint64_t off,
			 uint64_t *ret_next)
{
	const struct imgmap_part *p = &d->a->parts[pi];
	const struct part_notes *n = &d->notes[pi];
	const struct imgmap_fs *fa = p->fs, *fb = q->fs;
	uint64_t rel = off - p->offset, bs = fa->blocksize;
	ext2_ino_t ia, ib;
	uint32_t oa = imgmap_fs_owner(fa, rel, &ia), ob = imgmap_fs_owner(fb, rel, &ib);

	*ret_next = off - rel % bs + bs;
	if (oa == IMGMAP_OWNER_ITABLE || ob == IMGMAP_OWNER_ITABLE) {
		uint64_t isz = EXT2_INODE_SIZE(fa->fs->super);

		*ret_next = off - rel % isz + isz;
	}
	if ((ia && ia < n->n_ino_a && n->ino_a[ia]) || (ib && ib < n->n_ino_b && n->ino_b[ib]))
		return true;
	/* Bitmaps, free counts and descriptors follow the files said to differ. */
	if ((oa == IMGMAP_OWNER_BBITMAP || oa == IMGMAP_OWNER_IBITMAP ||
	     oa == IMGMAP_OWNER_SUPER) &&
	    (n->any || n->super))
		return true;
	return false;
}

static void add_unexplained(struct diff *d, uint64_t start, uint64_t end)
{
	struct range *last = d->n_unexplained ? &d->unexplained[d->n_unexplained - 1] : NULL;

	if (last && start <= last->end + MERGE_GAP) {
		if (end > last->end)
			last->end = end;
		return;
	}
	d->unexplained = xrealloc(d->unexplained, (d->n_unexplained + 1) * sizeof(*d->unexplained));
	d->unexplained[d->n_unexplained++] = (struct range){ start, end };
}

/* A range of differing bytes: the parts no file-level difference explains are kept. */
static void classify(struct diff *d, uint64_t start, uint64_t end)
{
	const struct imgmap_part *p = imgmap_part_at(d->a, start), *q;
	size_t pi;

	d->differ = true;
	if (!p && d->table_said && (end <= 34 * 512 || start >= d->a->size - 33 * 512))
		return; /* the table's bytes, whose fields were said to differ */
	if (!p || !p->fs) {
		add_unexplained(d, start, end);
		return;
	}
	pi = (size_t)(p - d->a->parts);
	q = part_number(d->b, p->number);
	if (!q || !q->fs || q->offset != p->offset || q->fs->blocksize != p->fs->blocksize) {
		add_unexplained(d, start, end);
		return;
	}
	for (uint64_t off = start; off < end;) {
		uint64_t next;
		bool ok = explained_at(d, pi, q, off, &next);

		if (next > end || next <= off)
			next = end;
		if (!ok)
			add_unexplained(d, off, next);
		off = next;
	}
}

/* Every byte range that differs (and the tail of the longer image). */
static int compare_bytes(struct diff *d, const char *a, const char *b)
{
	_cleanup_close_ int fa = open(a, O_RDONLY | O_CLOEXEC), fb = -1;
	_cleanup_free_ uint8_t *x = xmalloc(CHUNK), *y = xmalloc(CHUNK);
	uint64_t size = d->a->size < d->b->size ? d->a->size : d->b->size;
	uint64_t run_start = 0, run_end = 0;
	bool in_run = false;
	int r;

	fb = open(b, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0)
		return log_errno(errno, "cannot open '%s'", fa < 0 ? a : b);
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		if ((r = pread_all(fa, x, n, off)) < 0 || (r = pread_all(fb, y, n, off)) < 0)
			return log_errno(r, "cannot read the images");
		if (!memcmp(x, y, n))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (x[i] == y[i])
				continue;
			if (in_run && off + i <= run_end + MERGE_GAP) {
				run_end = off + i + 1;
				continue;
			}
			if (in_run)
				classify(d, run_start, run_end);
			in_run = true;
			run_start = off + i;
			run_end = off + i + 1;
		}
	}
	if (in_run)
		classify(d, run_start, run_end);
	if (d->a->size != d->b->size) {
		d->differ = true;
		add_unexplained(d, size, d->a->size > d->b->size ? d->a->size : d->b->size);
	}
	return 0;
}

static char *describe_both(const struct diff *d, uint64_t off)
{
	_cleanup_free_ char *wa = off < d->a->size ? imgmap_describe(d->a, off) :
						     xstrdup("past its end");
	_cleanup_free_ char *wb = off < d->b->size ? imgmap_describe(d->b, off) :
						     xstrdup("past its end");

	if (streq(wa, wb))
		return TAKE_PTR(wa);
	return xasprintf("%s: %s; %s: %s", d->a_name, wa, d->b_name, wb);
}

/* Neighbouring ranges in the same place (one block) are said once. */
static void print_unexplained(struct diff *d)
{
	size_t shown = 0;

	for (size_t i = 0; i < d->n_unexplained;) {
		_cleanup_free_ char *what = describe_both(d, d->unexplained[i].start);
		uint64_t start = d->unexplained[i].start, end = d->unexplained[i].end, bytes = 0;
		size_t k = i;

		for (; k < d->n_unexplained; k++) {
			_cleanup_free_ char *w = k == i ? NULL :
							  describe_both(d, d->unexplained[k].start);

			if (w && !streq(w, what))
				break;
			end = d->unexplained[k].end;
			bytes += d->unexplained[k].end - d->unexplained[k].start;
		}
		if (shown++ < MAX_RANGES)
			say(d, "bytes %llu-%llu (%llu differ): %s", (unsigned long long)start,
			    (unsigned long long)end - 1, (unsigned long long)bytes, what);
		i = k;
	}
	if (shown > MAX_RANGES)
		say(d, "... and %zu more places", shown - MAX_RANGES);
}

static int usage_error(const char *what)
{
	log_error("diff: %s", what);
	fprintf(stderr, "Try 'mkbootmedia diff --help'.\n");
	return 2;
}

int diff_main(int argc, char **argv)
{
	const struct cli_command *cmd = cli_command_find("diff");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	enum log_level level = LOG_INFO;
	struct diff d = { 0 };
	int c, r;

	cli_getopt(cmd, &longopts, &shortopts);
	opterr = 0; /* one message, ours */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		r = cli_common(c, cmd, &level);
		if (r < 0)
			return 0;
		if (r == 0) {
			_cleanup_free_ char *what =
				xasprintf("unknown option '%s' (it takes two images)",
					  argv[optind - 1]);

			return usage_error(what);
		}
	}
	log_set_level(level);
	if (argc - optind != 2)
		return usage_error("expected two images (mkbootmedia diff A.img B.img)");
	d.a_name = argv[optind];
	d.b_name = argv[optind + 1];
	if (imgmap_open(d.a_name, &d.a) < 0)
		return 2;
	if (imgmap_open(d.b_name, &d.b) < 0) {
		imgmap_free(d.a);
		return 2;
	}
	d.notes = xcalloc(d.a->n_parts + 1, sizeof(*d.notes));
	diff_table(&d);
	for (size_t i = 0; i < d.a->n_parts; i++) {
		const struct imgmap_part *p = &d.a->parts[i], *q = part_number(d.b, p->number);

		if (q && p->fs && q->fs)
			diff_fs(&d, p->number, &d.notes[i], p->fs, q->fs);
		else if (q && !p->fs != !q->fs)
			say(&d, "partition %u: %s -> %s", p->number,
			    p->fs ? "ext2/3/4" : "no ext2/3/4 filesystem",
			    q->fs ? "ext2/3/4" : "no ext2/3/4 filesystem");
	}
	r = compare_bytes(&d, d.a_name, d.b_name);
	if (r >= 0)
		print_unexplained(&d);
	for (size_t i = 0; i < d.a->n_parts; i++) {
		free(d.notes[i].ino_a);
		free(d.notes[i].ino_b);
	}
	free(d.notes);
	free(d.unexplained);
	imgmap_free(d.a);
	imgmap_free(d.b);
	if (r < 0)
		return 2;
	return d.differ ? 1 : 0;
}
