/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The recipe loader and every stage's parse and verify, as `mkbootmedia check --offline`
 * runs them: the input is written to a recipe file in a private temporary directory and
 * driver_main() checks it (no output: nothing is built, nothing downloaded).
 *
 * Confined: the target is linked with -Wl,--wrap=read_file, so that the loader reads
 * (includes) only regular files inside the temporary directory (which holds a copy of
 * recipes/, for the examples' includes), and inputs naming /dev,
 * /proc or /sys are skipped (a device or a FIFO would block or never end). Other host paths
 * a recipe names (overlay sources, local .debs, keyrings) are only looked at by verify. */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "fuzz.h"

static char dir[PATH_MAX], recipe[PATH_MAX], cache[PATH_MAX];

int __real_read_file(const char *path, size_t max, char **ret_data, size_t *ret_size);
int __wrap_read_file(const char *path, size_t max, char **ret_data, size_t *ret_size);

int __wrap_read_file(const char *path, size_t max, char **ret_data, size_t *ret_size)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	size_t n = strlen(dir);
	struct stat st;

	if (!real || strncmp(real, dir, n) != 0 || real[n] != '/' || stat(real, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return -EACCES;
	return __real_read_file(real, max, ret_data, ret_size);
}

static void cleanup(void)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove '%s'\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *cmd = NULL;
	char examples[PATH_MAX];

	fuzz_quiet();
	snprintf(dir, sizeof(dir), "%s/mkbootmedia-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	/* The recipe sits where the examples do, next to a copy of recipes/, so that the
	 * examples' includes (../recipes/fragments/...) resolve inside the directory. */
	snprintf(recipe, sizeof(recipe), "%s/examples/recipe.yml", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(examples, sizeof(examples), "%s/examples", dir);
	if (mkdir(cache, 0700) < 0 || mkdir(examples, 0755) < 0 || chdir(examples) < 0)
		abort();
	cmd = xasprintf("cp -r '%s/recipes' '%s/'", FUZZ_SRCDIR, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-recipe: cannot copy recipes/: includes will not resolve\n");
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	setenv("MKBOOTMEDIA_NO_PROGRESS", "1", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const refused[] = { "/dev", "/proc", "/sys" };
	struct driver_options o = {
		.recipe = recipe, .cache_dir = cache, .offline = true, .jobs = 1,
		.passphrase_fd = -1,
	};
	FILE *f;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (memmem(data, size, refused[i], strlen(refused[i])))
			return 0;
	f = fopen(recipe, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	(void)driver_main(&o);
	return 0;
}
