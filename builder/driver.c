/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stage runner: parse every stage, verify every stage, then run them in order into a
 * temporary file next to the output, renamed only when everything succeeded. */
#include "driver.h"

#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "boot.h"
#include "fs.h"
#include "log.h"
#include "stage.h"

/* The temporary image, for the signal handler only. */
static volatile sig_atomic_t tmp_armed;
static char tmp_for_signal[4096];

static void on_signal(int sig)
{
	if (tmp_armed)
		unlink(tmp_for_signal);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm_signals(const char *path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

	snprintf(tmp_for_signal, sizeof(tmp_for_signal), "%s", path);
	tmp_armed = 1;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], on_signal);
}

static void disarm_signals(void)
{
	tmp_armed = 0;
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
	disarm_signals();
}

/* Creates the temporary image next to the output: this is where an unwritable output path
 * is found, before any work is done. */
static int create_tmp(struct build *b)
{
	_cleanup_free_ char *copy = xstrdup(b->out_path), *copy2 = xstrdup(b->out_path);
	const char *dir = dirname(copy), *base = basename(copy2);
	struct stat st;
	mode_t mask;
	int fd;

	if (stat(b->out_path, &st) == 0 && !S_ISREG(st.st_mode))
		return log_fail("output '%s' exists and is not a regular file (mkbootmedia writes "
				"image files; dd them to a device)", b->out_path);
	b->tmp_path = xasprintf("%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(b->tmp_path, O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		free(b->tmp_path);
		b->tmp_path = NULL;
		return log_errno(r, "cannot write output '%s'", b->out_path);
	}
	arm_signals(b->tmp_path);
	b->fd = fd;
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		int r = log_errno(errno, "cannot write output '%s'", b->out_path);

		remove_tmp(b);
		return r;
	}
	return 0;
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
			int r;

			log_set_scope(stages[i]->name);
			r = stages[i]->plan(b, priv[i], stdout);
			log_set_scope(NULL);
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

static int run_stages(struct build *b, void **priv, bool *active)
{
	bool started[64] = { false };
	double secs[64] = { 0 };
	size_t total = 0, k = 0;
	int r = 0;

	for (size_t i = 0; i < n_stages; i++)
		total += active[i];
	r = create_tmp(b);
	if (r < 0)
		return r;
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
	if (r >= 0)
		r = build_fs_finish(b, false);
	else
		build_fs_finish(b, true);
	if (r >= 0 && fsync(b->fd) < 0)
		r = log_errno(errno, "cannot write '%s'", b->tmp_path);
	if (r >= 0 && rename(b->tmp_path, b->out_path) < 0)
		r = log_errno(errno, "cannot rename '%s' to '%s'", b->tmp_path, b->out_path);
	if (r < 0) {
		remove_tmp(b);
		return r;
	}
	close(b->fd);
	b->fd = -1;
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
	tree_free(b->tree);
	recipe_free(b->recipe);
}

int driver_main(const struct driver_options *o)
{
	struct build b = {
		.fd = -1, .recipe_path = o->recipe, .out_path = o->output,
		.cache_dir = o->cache_dir, .offline = o->offline, .jobs = o->jobs,
		.image_shred = -1, .passphrase_fd = o->passphrase_fd,
		.configure = CONFIGURE_NONE, .init = INIT_UNSET,
	};
	void *priv[64] = { NULL };
	bool active[64] = { false };
	int r;

	_cleanup_free_ struct recipe_key *keys = all_keys();

	b.keys = keys;
	r = init_time(&b);
	if (r < 0)
		return r;
	r = recipe_load(o->recipe, o->defines, &b.recipe);
	if (r < 0)
		return r;
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
	for (size_t i = 0; i < n_stages && r >= 0; i++)
		if (active[i] && stages[i]->verify)
			r = stages[i]->verify(&b, priv[i]);
	if (r >= 0) {
		if (!o->output)
			r = print_plan(&b, priv, active);
		else
			r = run_stages(&b, priv, active);
	}
	build_free(&b, priv);
	return r < 0 ? r : 0;
}
