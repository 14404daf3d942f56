/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkbootmedia: the command line (its options are declared in cli.c). */
#include <archive.h>
#include <curl/curl.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <parted/parted.h>
#include <yaml.h>

#include "boot.h"
#include "cli.h"
#include "driver.h"
#include "flash.h"
#include "log.h"

/* The versions of the libraries this process runs with, for bug reports; libcryptsetup
 * tells none at run time, so its version is the one it was built against (the Makefile). */
static void print_version(void)
{
	const char *e2fs = NULL, *e2fs_date = NULL;

	ext2fs_get_library_version(&e2fs, &e2fs_date);
	printf("mkbootmedia %s\n", MKBOOTMEDIA_VERSION);
	printf("libext2fs %s\n", e2fs);
	printf("libparted %s\n", ped_get_version());
	printf("libcryptsetup %s (built against)\n", MKBOOTMEDIA_CRYPTSETUP_VERSION);
	printf("%s\n", archive_version_string());
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("libyaml %s\n", yaml_get_version_string());
	printf("libfuse %s\n", fuse_pkgversion());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
}

/* After a build on a terminal: what to do with the image. */
static void print_next(const char *output)
{
	_cleanup_free_ char *q = NULL;

	if (log_get_level() < LOG_INFO || (!isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO)))
		return;
	q = strpbrk(output, " \t'\"\\$`*?[]();&|<>") ? xasprintf("'%s'", output) :
						      xstrdup(output);
	fprintf(stderr,
		"next: 'mkbootmedia boot %s' boots it in QEMU; 'sudo mkbootmedia flash "
		"%s /dev/sdX' writes it to a key (lsblk names it)\n",
		q, q);
}

static int help_main(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		cli_usage(stdout, NULL);
		return 0;
	}
	if (argc > 2 || !(c = cli_command_find(argv[1]))) {
		log_error("help: '%s' is not a command (try 'mkbootmedia help')", argv[1]);
		return 2;
	}
	cli_usage(stdout, c);
	return 0;
}

static int parse_number(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !s[0] || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd = &cli_commands[0];
	struct driver_options o = { .passphrase_fd = -1 };
	_cleanup_strv_free_ char **defines = NULL;
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	enum log_level level = LOG_INFO;
	bool command_given = false;
	int c, r;
	long v;

	if (argc > 1 && streq(argv[1], "boot"))
		return boot_main(argc - 1, argv + 1);
	if (argc > 1 && streq(argv[1], "flash"))
		return flash_main(argc - 1, argv + 1);
	if (argc > 1 && streq(argv[1], "help"))
		return help_main(argc - 1, argv + 1);
	if (argc > 1 && streq(argv[1], "doc"))
		return doc_main(argc - 1, argv + 1);
	if (argc > 1 && streq(argv[1], "diff"))
		return diff_main(argc - 1, argv + 1);
	/* build and check: build's options, which are check's and -o, -V. */
	cli_getopt(cmd, &longopts, &shortopts);
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			/* A positional argument: the command or the recipe; options may follow. */
			const char *arg = argv[optind++];

			/* The first positional argument may name the command (a recipe file
			 * called "check" is ./check). */
			if (!o.recipe && !command_given &&
			    (streq(arg, "build") || streq(arg, "check"))) {
				cmd = cli_command_find(arg);
				command_given = true;
			} else if (!o.recipe) {
				o.recipe = arg;
			} else {
				log_error("unexpected argument '%s' (one recipe per run)", arg);
				return 2;
			}
			continue;
		}
		switch (c) {
		case 'o':
			o.output = optarg;
			break;
		case 'D':
			defines = strv_append(defines, optarg);
			break;
		case CLI_SEED:
			o.seed = optarg;
			break;
		case CLI_CACHE:
			if (!optarg[0]) {
				log_error("--cache needs a directory");
				return 2;
			}
			o.cache_dir = optarg;
			break;
		case CLI_OFFLINE:
			o.offline = true;
			break;
		case CLI_NO_UNPACK_CACHE:
			o.no_unpack_cache = true;
			break;
		case CLI_PASSPHRASE_FD:
			if (parse_number(optarg, 0, 65535, &v) < 0 ||
			    fcntl((int)v, F_GETFD) < 0) {
				log_error("--passphrase-fd '%s': expected an open file descriptor "
					  "number", optarg);
				return 2;
			}
			o.passphrase_fd = (int)v;
			break;
		case 'j':
			if (parse_number(optarg, 1, 64, &v) < 0) {
				log_error("--jobs '%s': expected a number from 1 to 64", optarg);
				return 2;
			}
			o.jobs = (unsigned)v;
			break;
		case CLI_LOCK:
			o.lock = optarg;
			break;
		case CLI_LOCKED:
			o.locked = optarg;
			break;
		case CLI_NO_BMAP:
			o.no_bmap = true;
			break;
		case CLI_CHECKSUM:
			o.checksum = true;
			break;
		case CLI_SBOM:
			o.sbom = true;
			break;
		case 'V':
			print_version();
			return 0;
		default:
			r = cli_common(c, cmd, &level);
			if (r < 0)
				return 0;
			if (r > 0)
				break;
			fprintf(stderr, "Try 'mkbootmedia %s%s--help'.\n",
				command_given ? cmd->name : "", command_given ? " " : "");
			return 2;
		}
	}
	log_set_level(level);
	o.defines = defines;
	if (!o.recipe) {
		log_error("no recipe given (usage: mkbootmedia RECIPE -o IMAGE; try --help)");
		return 2;
	}
	if (streq(cmd->name, "check")) {
		if (o.output) {
			log_error("'check' writes nothing: drop -o, or use 'build'");
			return 2;
		}
		if (o.no_bmap || o.checksum || o.sbom) {
			log_error("'check' writes nothing: drop --%s, or use 'build'",
				  o.sbom     ? "sbom" :
				  o.checksum ? "checksum" :
					       "no-bmap");
			return 2;
		}
	} else if (!o.output) {
		log_error("no output given (use -o IMAGE, or 'mkbootmedia check %s' to only "
			  "validate)", o.recipe);
		return 2;
	}
	if (o.lock && !o.output) {
		log_error("--lock is written by a build: use 'build' with -o IMAGE");
		return 2;
	}
	if (o.lock && o.locked && streq(o.lock, o.locked)) {
		log_error("--lock and --locked name the same file '%s'", o.lock);
		return 2;
	}
	r = driver_main(&o);
	if (r < 0)
		return 1;
	if (o.output)
		print_next(o.output);
	return 0;
}
