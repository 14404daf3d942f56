/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stage runner: parse every stage, verify every stage, then run them in order into a
 * temporary file next to the output, renamed only when everything succeeded. */
#include "driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include <inttypes.h>
#include <linux/magic.h>

#include <openssl/evp.h>

#include "bmap.h"
#include "boot.h"
#include "compress.h"
#include "fs.h"
#include "log.h"
#include "sbom.h"
#include "stage.h"

/* The temporary files (the image, then the compressed image and the files beside it), for
 * the signal handler only. */
#define MAX_TMP 5
static volatile sig_atomic_t n_tmp_armed;
static char tmp_for_signal[MAX_TMP][4096];

static void on_signal(int sig)
{
	for (int i = 0; i < n_tmp_armed; i++)
		unlink(tmp_for_signal[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm_signals(const char *path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

	if (n_tmp_armed) {
		if (n_tmp_armed < MAX_TMP) {
			snprintf(tmp_for_signal[n_tmp_armed], sizeof(tmp_for_signal[0]), "%s",
				 path);
			n_tmp_armed++;
		}
		return;
	}
	snprintf(tmp_for_signal[0], sizeof(tmp_for_signal[0]), "%s", path);
	n_tmp_armed = 1;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction old, sa = { .sa_handler = on_signal };

		/* A signal the caller ignores (nohup, trap '' HUP) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static void disarm_signals(void)
{
	n_tmp_armed = 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every stage's key table, then test:'s, in one table (b->keys). */
static struct recipe_key *all_keys(void)
{
	size_t n = 0, k = 0;
	struct recipe_key *t;

	for (size_t i = 0; i < n_stages; i++)
		for (const struct recipe_key *e = stages[i]->key_table; e && e->path; e++)
			n++;
	for (const struct recipe_key *e = boot_key_table; e->path; e++)
		n++;
	t = xcalloc(n + 1, sizeof(*t));
	for (size_t i = 0; i < n_stages; i++)
		for (const struct recipe_key *e = stages[i]->key_table; e && e->path; e++)
			t[k++] = *e;
	for (const struct recipe_key *e = boot_key_table; e->path; e++)
		t[k++] = *e;
	return t;
}

static int init_time(struct build *b)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");

	if (sde && *sde) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(sde, &end, 10);
		if (errno || *end || v < 0 || v > UINT32_MAX)
			return log_fail("SOURCE_DATE_EPOCH '%s' is not a time in seconds since 1970",
					sde);
		b->now = (time_t)v;
		b->clamp_mtime = true;
	} else {
		b->now = time(NULL);
	}
	return 0;
}

static void remove_tmp(struct build *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->tmp_path)
		unlink(b->tmp_path);
	ext2_set_image(-1, NULL);
	disarm_signals();
}

/* The output path itself, before the recipe is read: one message for a name that cannot be
 * an image file, rather than a failed rename after the whole build. */
static int check_output_path(const char *out)
{
	_cleanup_free_ char *copy = NULL, *copy2 = NULL;
	const char *dir, *base;
	struct stat st;

	if (!*out)
		return log_fail("the output path is empty: give an image file name with -o");
	copy = xstrdup(out);
	copy2 = xstrdup(out);
	dir = dirname(copy);
	base = basename(copy2);
	if (endswith(out, "/") || streq(base, ".") || streq(base, ".."))
		return log_fail("output '%s' names a directory: give an image file name (like "
				"'%s%simage.img')", out, out, endswith(out, "/") ? "" : "/");
	if (strlen(base) > NAME_MAX)
		return log_fail("output '%.40s...': file name longer than %d bytes", out, NAME_MAX);
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode))
		return log_fail("output '%s' exists and is not a regular file (mkbootmedia writes "
				"image files; dd them to a device)", out);
	if (stat(dir, &st) < 0)
		return log_errno(errno, "cannot write output '%s': directory '%s'", out, dir);
	if (!S_ISDIR(st.st_mode))
		return log_fail("cannot write output '%s': '%s' is not a directory", out, dir);
	return 0;
}

/* The files written beside the image: each must be a file name the rename can take. The
 * block map, which nobody asked for by name, is left out with a warning when its name
 * would be too long (*no_bmap is set). */
static int check_side_paths(const struct driver_options *o, bool *no_bmap)
{
	_cleanup_free_ char *bmap = o->no_bmap ? NULL : driver_bmap_path(o->output);
	_cleanup_free_ char *sbom = o->sbom ? xasprintf("%s.spdx.json", o->output) : NULL;
	_cleanup_free_ char *sum = o->checksum ? xasprintf("%s.sha256", o->output) : NULL;
	const char *paths[] = { bmap, sbom, sum };
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (!paths[i])
			continue;
		const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];

		if (strlen(base) > NAME_MAX && i == 0) {
			log_warn("no block map: '%.40s...' would be a file name longer than %d "
				 "bytes",
				 base, NAME_MAX);
			*no_bmap = true;
			continue;
		}
		if (strlen(base) > NAME_MAX)
			return log_fail(
				"output '%.40s...': the file '%.40s...' beside it would "
				"have a name longer than %d bytes; use a shorter output name",
				o->output, base, NAME_MAX);
		if (lstat(paths[i], &st) == 0 && !S_ISREG(st.st_mode))
			return log_fail("'%s' exists and is not a regular file: the build would "
					"write it beside the image; move it away%s",
					paths[i], i == 0 ? " or use --no-bmap" : "");
	}
	return 0;
}

/* The output must not be a file the build reads: the recipe or one it includes. (The
 * stages check their own inputs, e.g. overlays and sources, against b->out_path.) */
static int check_output_not_input(struct build *b)
{
	struct stat out, st;

	if (stat(b->out_path, &out) < 0)
		return 0; /* nothing there yet: not an input */
	for (char **f = b->recipe->files; f && *f; f++)
		if (stat(*f, &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino)
			return log_fail("output '%s' is the recipe file '%s': the build would "
					"overwrite it; write the image elsewhere", b->out_path, *f);
	return 0;
}

/* The temporary image's name in the output's directory: ".NAME.XXXXXX", with NAME cut so
 * that the name, and the scratch names other stages derive from it (".grub-XXXXXX"), stay
 * within NAME_MAX. */
#define TMP_SUFFIX_MAX 12
static char *tmp_prefix(const char *base)
{
	int keep = NAME_MAX - TMP_SUFFIX_MAX - (int)strlen("..XXXXXX");

	return xasprintf(".%.*s.", keep, base);
}

/* A build killed with SIGKILL leaves its temporary image: the next build to the same
 * output removes those no running build holds (each build keeps a lock on its own). */
static void remove_stale_tmp(const char *dir, const char *prefix)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	size_t plen = strlen(prefix);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (strncmp(e->d_name, prefix, plen) != 0 || strlen(e->d_name) != plen + 6)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		if (unlink(path) == 0)
			log_info("removed '%s', left by an interrupted build", path);
	}
}

/* Creates the temporary image next to the output: this is where an unwritable output path
 * is found, before any work is done. */
static int create_tmp(struct build *b)
{
	_cleanup_free_ char *copy = xstrdup(b->out_path), *copy2 = xstrdup(b->out_path);
	_cleanup_free_ char *prefix = NULL;
	const char *dir = dirname(copy), *base = basename(copy2);
	mode_t mask;
	int fd;

	prefix = tmp_prefix(base);
	remove_stale_tmp(dir, prefix);
	b->tmp_path = xasprintf("%s/%sXXXXXX", dir, prefix);
	fd = mkostemp(b->tmp_path, O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		free(b->tmp_path);
		b->tmp_path = NULL;
		return log_errno(r, "cannot write output '%s'", b->out_path);
	}
	/* Held until the end: tells remove_stale_tmp() this one is in use. */
	flock(fd, LOCK_EX | LOCK_NB);
	arm_signals(b->tmp_path);
	b->fd = fd;
	ext2_set_image(fd, b->out_path);
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		int r = log_errno(errno, "cannot write output '%s'", b->out_path);

		remove_tmp(b);
		return r;
	}
	return 0;
}

char *driver_bmap_path(const char *output)
{
	size_t cut = compress_suffix_len(output);

	return xasprintf("%.*s.bmap", (int)(strlen(output) - cut), output);
}

/* A file written beside the image: made under a temporary name in the same directory,
 * renamed with the image. */
struct side_file {
	char *path; /* the final name */
	char *tmp;  /* NULL until created */
	char sha256[65];
	bool renamed;
};

static void side_free(struct side_file *f)
{
	if (f->tmp && !f->renamed)
		unlink(f->tmp);
	free(f->tmp);
	free(f->path);
	*f = (struct side_file){ 0 };
}

/* Creates f->tmp next to f->path, with the image's permissions; returns the descriptor. */
static int side_create(struct side_file *f)
{
	_cleanup_free_ char *copy = xstrdup(f->path), *copy2 = xstrdup(f->path);
	_cleanup_free_ char *prefix = tmp_prefix(basename(copy2));
	const char *dir = dirname(copy);
	mode_t mask = umask(0);
	int fd;

	umask(mask);
	remove_stale_tmp(dir, prefix);
	f->tmp = xasprintf("%s/%sXXXXXX", dir, prefix);
	fd = mkostemp(f->tmp, O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		free(f->tmp);
		f->tmp = NULL;
		return log_errno(r, "cannot write '%s'", f->path);
	}
	flock(fd, LOCK_EX | LOCK_NB);
	arm_signals(f->tmp);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		int r = log_errno(errno, "cannot write '%s'", f->path);

		close(fd);
		return r;
	}
	return fd;
}

/* Writes text as the side file f, and its SHA-256 into f->sha256. */
static int side_write(struct side_file *f, const char *text)
{
	_cleanup_close_ int fd = side_create(f);
	size_t len = strlen(text);
	int r;

	if (fd < 0)
		return fd;
	r = pwrite_all(fd, text, len, 0);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		return log_errno(r, "cannot write '%s'", f->path);
	sha256_hex(text, len, f->sha256);
	return 0;
}

static int md_sink(void *md, const void *buf, size_t n)
{
	EVP_DigestUpdate(md, buf, n);
	return 0;
}

/* Counts what passes to the compressor, for the progress line. */
struct progress_sink {
	struct compressor *c;
	uint64_t done;
	bool failed; /* the compressor failed (and said why) */
};

static int progress_sink(void *ctx, const void *buf, size_t n)
{
	struct progress_sink *p = ctx;
	int r = compressor_write(p->c, buf, n);

	p->failed = r < 0;
	p->done += n;
	progress_update(p->done);
	return r;
}

/* Each installed package's copyright file as the image holds it, read while the
 * filesystems are still open (NULL where it has none: the SBOM reads the .deb). */
static char **read_copyrights(struct build *b)
{
	char **texts = xcalloc(b->n_installed + 1, sizeof(*texts));

	for (size_t i = 0; b->tree && i < b->n_installed; i++) {
		_cleanup_free_ char *path =
			xasprintf("/usr/share/doc/%s/copyright", b->installed[i].name);

		if (tree_read(b->tree, path, 4u << 20, &texts[i], NULL) < 0)
			texts[i] = NULL;
	}
	return texts;
}

static void free_copyrights(char **texts, size_t n)
{
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
}

/* The SBOM's view of what the packages stage installed. */
static char *make_sbom(struct build *b, char **copyrights, const char *image_name,
		       const char *image_sha256)
{
	_cleanup_free_ struct sbom_package *pk = xcalloc(b->n_installed + 1, sizeof(*pk));
	struct sbom_info info = {
		.image_name = image_name,
		.image_sha256 = image_sha256,
		.tool_version = MKBOOTMEDIA_VERSION,
		.created = b->now,
		.threads = b->jobs,
	};

	for (size_t i = 0; i < b->n_installed; i++) {
		const struct build_package *p = &b->installed[i];

		pk[i] = (struct sbom_package){ p->name,     p->version, p->arch, p->source,
					       p->deb_path, p->sha256,  p->url };
		if (copyrights && copyrights[i]) {
			pk[i].copyright = copyrights[i];
			pk[i].copyright_len = strlen(copyrights[i]);
		}
	}
	info.packages = pk;
	info.n_packages = b->n_installed;
	return sbom_spdx_json(&info);
}

/* After the last stage: the image's block map, the compressed image, the SBOM and the
 * checksums, each under a temporary name; then everything is renamed, the image last.
 * Holes are never read: the ranges are the image file's data extents. */
static int finish_outputs(struct build *b, const struct driver_options *o, char **copyrights)
{
	enum compress_type ct = compress_type_from_name(b->out_path);
	struct side_file bmapf = { 0 }, sbomf = { 0 }, sumf = { 0 }, imgf = { 0 };
	_cleanup_(bmap_freep) struct bmap *map = NULL;
	_cleanup_free_ char *bmap_text = NULL, *sbom_text = NULL, *copy = NULL;
	struct side_file *sides[3] = { &bmapf, &sbomf, &sumf };
	char image_sha256[65] = "";
	bool want_hash = o->checksum || o->sbom;
	struct stat st;
	int r;

	if (fstat(b->fd, &st) < 0)
		return log_errno(errno, "cannot read the image '%s'", b->tmp_path);
	r = bmap_from_file(b->fd, (uint64_t)st.st_size, &map);
	if (r < 0)
		return log_errno(r, "cannot find the data extents of '%s'", b->tmp_path);
	if (!o->no_bmap)
		bmapf.path = driver_bmap_path(b->out_path);
	if (o->sbom)
		sbomf.path = xasprintf("%s.spdx.json", b->out_path);
	if (o->checksum)
		sumf.path = xasprintf("%s.sha256", b->out_path);
	if (ct != COMPRESS_NONE) {
		struct compressor *c = NULL;
		_cleanup_close_ int cfd = -1;
		struct progress_sink ps = { 0 };
		char sz[32], isz[32];

		imgf.path = xstrdup(b->out_path);
		cfd = side_create(&imgf);
		if (cfd < 0) {
			r = cfd;
			goto out;
		}
		r = compressor_new(ct, cfd, b->out_path, b->jobs, &c);
		if (r < 0)
			goto out;
		compressor_set_size(c, map->image_size);
		log_info("compressing the image (%s of data, %s) with %s",
			 format_bytes(sz, map->mapped_blocks * map->block_size),
			 format_bytes(isz, map->image_size), compress_type_to_string(ct));
		ps.c = c;
		progress_begin("compressing", map->image_size);
		r = bmap_scan(b->fd, map, progress_sink, &ps, true);
		progress_end();
		if (r < 0 && !ps.failed)
			log_errno(r, "cannot read the image '%s'", b->tmp_path);
		if (r >= 0)
			r = compressor_finish(c, image_sha256);
		compressor_free(c);
		if (r >= 0 && fsync(cfd) < 0)
			r = log_errno(errno, "cannot write '%s'", b->out_path);
		if (r < 0)
			goto out;
	} else if (want_hash) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char d[32];
		unsigned n = 0;

		if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
			EVP_MD_CTX_free(md);
			r = log_errno(ENOMEM, "cannot hash the image");
			goto out;
		}
		r = bmap_scan(b->fd, map, md_sink, md, true);
		EVP_DigestFinal_ex(md, d, &n);
		EVP_MD_CTX_free(md);
		for (unsigned i = 0; i < n; i++)
			sprintf(image_sha256 + 2 * i, "%02x", d[i]);
	} else if (bmapf.path) {
		r = bmap_hash(b->fd, map, b->jobs);
	}
	if (r < 0) {
		r = log_errno(r, "cannot read the image '%s'", b->tmp_path);
		goto out;
	}
	if (bmapf.path) {
		bmap_text = bmap_format(map);
		if ((r = side_write(&bmapf, bmap_text)) < 0)
			goto out;
	}
	if (sbomf.path) {
		copy = xstrdup(b->out_path);
		sbom_text = make_sbom(b, copyrights, basename(copy), image_sha256);
		if (!sbom_text) {
			r = -EINVAL;
			goto out;
		}
		if ((r = side_write(&sbomf, sbom_text)) < 0)
			goto out;
	}
	if (sumf.path) {
		struct strbuf s = { 0 };
		_cleanup_free_ char *text = NULL;
		const struct side_file *listed[] = { &bmapf, &sbomf };
		char *c2 = xstrdup(b->out_path);

		/* sha256sum -c runs in the output's directory: names without it. */
		strbuf_adds(&s, image_sha256);
		strbuf_adds(&s, "  ");
		strbuf_adds(&s, basename(c2));
		strbuf_adds(&s, "\n");
		free(c2);
		for (size_t i = 0; i < ARRAY_SIZE(listed); i++) {
			if (!listed[i]->path)
				continue;
			c2 = xstrdup(listed[i]->path);
			strbuf_adds(&s, listed[i]->sha256);
			strbuf_adds(&s, "  ");
			strbuf_adds(&s, basename(c2));
			strbuf_adds(&s, "\n");
			free(c2);
		}
		text = strbuf_take(&s);
		if ((r = side_write(&sumf, text)) < 0)
			goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sides); i++) {
		if (!sides[i]->tmp)
			continue;
		if (rename(sides[i]->tmp, sides[i]->path) < 0) {
			r = log_errno(errno, "cannot write '%s' (renaming '%s')", sides[i]->path,
				      sides[i]->tmp);
			goto out;
		}
		sides[i]->renamed = true;
	}
	if (imgf.tmp) {
		if (rename(imgf.tmp, b->out_path) < 0) {
			r = log_errno(errno,
				      "cannot write output '%s' (renaming the finished "
				      "image '%s')",
				      b->out_path, imgf.tmp);
			goto out;
		}
		imgf.renamed = true;
		unlink(b->tmp_path);
	} else if (rename(b->tmp_path, b->out_path) < 0) {
		r = log_errno(errno, "cannot write output '%s' (renaming the finished image '%s')",
			      b->out_path, b->tmp_path);
		goto out;
	}
	if (bmapf.path)
		log_info("block map: '%s' (%" PRIu64 " of %" PRIu64 " blocks mapped)", bmapf.path,
			 map->mapped_blocks,
			 (map->image_size + map->block_size - 1) / map->block_size);
	if (sbomf.path)
		log_info("SBOM: '%s' (%zu packages)", sbomf.path, b->n_installed);
	if (sumf.path)
		log_info("checksums: '%s'", sumf.path);
	r = 0;
out:
	/* On failure the renamed ones go too: nothing of this build is left. */
	for (size_t i = 0; r < 0 && i < ARRAY_SIZE(sides); i++)
		if (sides[i]->renamed)
			unlink(sides[i]->path);
	for (size_t i = 0; i < ARRAY_SIZE(sides); i++)
		side_free(sides[i]);
	side_free(&imgf);
	return r;
}

static int print_plan(struct build *b, void **priv, bool *active)
{
	printf("stages:");
	for (size_t i = 0; i < n_stages; i++)
		if (active[i])
			printf(" %s", stages[i]->name);
	printf("\n");
	for (size_t i = 0; i < n_stages; i++) {
		if (active[i] && stages[i]->plan) {
			_cleanup_free_ char *text = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&text, &len);
			int r;

			log_set_scope(stages[i]->name);
			r = stages[i]->plan(b, priv[i], f);
			log_set_scope(NULL);
			fclose(f);
			/* Paths and names come from the recipe: no control character reaches
			 * the terminal. */
			log_escape_to(stdout, text, true);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void print_summary(struct build *b, const double *secs, const bool *active)
{
	char sz[32];

	log_info("==> %s: %s, %s table, %zu partition%s", b->out_path,
		 format_bytes(sz, b->image_size), table_type_to_string(b->table), b->n_parts,
		 b->n_parts == 1 ? "" : "s");
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];
		char osz[32];

		log_info("    %u %-10s %10s at %-10s %-5s %s", p->number, p->name,
			 format_bytes(sz, p->length), format_bytes(osz, p->offset),
			 fs_type_to_string(p->fs.type), p->fs.mount ? p->fs.mount : "");
	}
	if (b->n_packages)
		log_info("    %zu packages", b->n_packages);
	for (size_t i = 0; i < n_stages; i++)
		if (active[i])
			log_debug("    stage %-10s %.2fs", stages[i]->name, secs[i]);
}

/* Writeback of the image while the stages run, so that the fsync at the end waits only for
 * the last changes (on this machine's disk it waited 0.7 s of a 5.5 s unpack). A thread
 * asks the kernel every quarter second to write what is dirty, and the stages' CPU work goes
 * on meanwhile. Where an fsync does not hold up the writes made meanwhile (ext4, XFS), the
 * thread commits with fdatasync(): a virtual machine's disk then also gets its flush in
 * parts, and the closing fsync took 0.10-0.13 s instead of 0.15-0.46 s (packages bench,
 * five builds each). Elsewhere (btrfs holds the file's lock during an fsync) it only starts
 * the writeback, with sync_file_range(). */
struct flusher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;
	bool commit; /* fdatasync(), not sync_file_range() */
	bool stop, running;
};

static void *flusher_main(void *userdata)
{
	struct flusher *f = userdata;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) == ETIMEDOUT && !f->stop) {
			pthread_mutex_unlock(&f->lock);
			if (f->commit)
				(void)fdatasync(f->fd);
			else
				(void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
			pthread_mutex_lock(&f->lock);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void flusher_start(struct flusher *f, int fd)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct statfs sf;

	*f = (struct flusher){ .fd = fd };
	if (fstatfs(fd, &sf) == 0)
		f->commit = sf.f_type == EXT4_SUPER_MAGIC || sf.f_type == XFS_SUPER_MAGIC;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals stay with the main thread (the handler removes the temporary files). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	f->running = pthread_create(&f->thread, NULL, flusher_main, f) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!f->running)
		log_debug("no writeback thread: the image is written at the end");
}

static void flusher_stop(struct flusher *f)
{
	if (f->running) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
		f->running = false;
	}
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
}

static int run_stages(struct build *b, const struct driver_options *o, void **priv, bool *active)
{
	/* A compressed output reads the image back and removes it: nothing to keep on disk. */
	bool raw = compress_type_from_name(b->out_path) == COMPRESS_NONE;
	struct flusher flusher = { .running = false };
	bool started[64] = { false };
	double secs[64] = { 0 };
	char **copyrights = NULL;
	size_t total = 0, k = 0;
	int r = 0;

	for (size_t i = 0; i < n_stages; i++)
		total += active[i];
	r = create_tmp(b);
	if (r < 0)
		return r;
	if (raw)
		flusher_start(&flusher, b->fd);
	for (size_t i = 0; i < n_stages && r >= 0; i++) {
		double t0;

		if (!active[i])
			continue;
		log_info("==> [%zu/%zu] %s", ++k, total, stages[i]->name);
		log_set_scope(stages[i]->name);
		started[i] = true;
		t0 = now_seconds();
		r = stages[i]->run(b, priv[i]);
		secs[i] = now_seconds() - t0;
		log_set_scope(NULL);
		if (r < 0)
			log_error("stage '%s' failed", stages[i]->name);
	}
	for (size_t i = n_stages; i-- > 0;)
		if (started[i] && stages[i]->cleanup)
			stages[i]->cleanup(b, priv[i], r < 0);
	if (r >= 0 && o->sbom)
		copyrights = read_copyrights(b);
	if (r >= 0)
		r = build_fs_finish(b, false);
	else
		build_fs_finish(b, true);
	if (raw)
		flusher_stop(&flusher);
	if (r >= 0 && raw && fsync(b->fd) < 0)
		r = log_errno(errno, "cannot write output '%s'", b->out_path);
	if (r >= 0)
		r = finish_outputs(b, o, copyrights);
	free_copyrights(copyrights, b->n_installed);
	if (r < 0) {
		remove_tmp(b);
		return r;
	}
	close(b->fd);
	b->fd = -1;
	ext2_set_image(-1, NULL);
	disarm_signals();
	print_summary(b, secs, active);
	return 0;
}

static void build_free(struct build *b, void **priv)
{
	for (size_t i = 0; i < n_stages; i++)
		if (priv[i] && stages[i]->free)
			stages[i]->free(priv[i]);
	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *p = &b->parts[i];

		free(p->name);
		free(p->fs.label);
		free(p->fs.mount);
		strv_free(p->fs.options);
		encrypt_spec_free(p->enc);
	}
	free(b->parts);
	free(b->fs);
	free(b->seed);
	free(b->kernel_version);
	free(b->kernel_name);
	free(b->initrd_name);
	free(b->apt_sources);
	free(b->first_boot);
	free(b->tmp_path);
	for (size_t i = 0; i < b->n_installed; i++) {
		struct build_package *p = &b->installed[i];

		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->source);
		free(p->deb_path);
		free(p->sha256);
		free(p->url);
	}
	free(b->installed);
	tree_free(b->tree);
	recipe_free(b->recipe);
}

int driver_main(const struct driver_options *o)
{
	struct build b = {
		.fd = -1,
		.recipe_path = o->recipe,
		.out_path = o->output,
		.cache_dir = o->cache_dir,
		.offline = o->offline,
		.jobs = o->jobs,
		.no_unpack_cache = o->no_unpack_cache,
		.image_shred = -1,
		.passphrase_fd = o->passphrase_fd,
		.configure = CONFIGURE_NONE,
		.init = INIT_UNSET,
	};
	void *priv[64] = { NULL };
	bool active[64] = { false };
	bool no_bmap = o->no_bmap;
	struct driver_options oo;
	int r;

	_cleanup_free_ struct recipe_key *keys = all_keys();

	b.keys = keys;
	b.lock_path = o->lock;
	b.locked_path = o->locked;
	r = init_time(&b);
	if (r < 0)
		return r;
	if (o->output && (r = check_output_path(o->output)) < 0)
		return r;
	if (o->output && (r = check_side_paths(o, &no_bmap)) < 0)
		return r;
	r = recipe_load(o->recipe, o->defines, &b.recipe);
	if (r < 0)
		return r;
	if (o->output && (r = check_output_not_input(&b)) < 0) {
		recipe_free(b.recipe);
		return r;
	}
	if (o->seed)
		b.seed = xstrdup(o->seed);
	r = node_check_tree(b.recipe->root, b.keys);
	if (r >= 0)
		r = boot_test_check(b.recipe);
	for (size_t i = 0; i < n_stages && r >= 0; i++) {
		r = stages[i]->parse(&b, &priv[i]);
		active[i] = r > 0;
	}
	for (size_t i = 0; i < n_stages && r >= 0; i++)
		if (stages[i]->settle) {
			r = stages[i]->settle(&b, priv[i]);
			active[i] = r > 0;
		}
	if (r >= 0 && (o->lock || o->locked) && !b.packages)
		r = log_fail("--%s: the recipe has no packages: section: nothing to lock",
			     o->lock ? "lock" : "locked");
	for (size_t i = 0; i < n_stages && r >= 0; i++)
		if (active[i] && stages[i]->verify)
			r = stages[i]->verify(&b, priv[i]);
	if (r >= 0 && !o->output) {
		r = print_plan(&b, priv, active);
	} else if (r >= 0) {
		oo = *o;
		oo.no_bmap = no_bmap;
		r = run_stages(&b, &oo, priv, active);
	}
	build_free(&b, priv);
	return r < 0 ? r : 0;
}
