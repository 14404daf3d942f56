/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkbootmedia: the command line. */
#include <fcntl.h>
#include <getopt.h>

#include "boot.h"
#include "driver.h"
#include "log.h"

static void usage(FILE *out)
{
	fputs("Usage: mkbootmedia [build] RECIPE -o IMAGE [options]\n"
	      "       mkbootmedia check RECIPE [options]\n"
	      "       mkbootmedia boot IMAGE [options]\n"
	      "\n"
	      "Builds a bootable disk image (USB key, CompactFlash card) from a YAML recipe,\n"
	      "without root: partitions, filesystems and files are written into the image file.\n"
	      "\n"
	      "Commands:\n"
	      "  build RECIPE -o IMAGE   build the image (the default command)\n"
	      "  check RECIPE            validate the recipe and print the plan; writes nothing\n"
	      "  boot IMAGE              run the image in QEMU (see 'mkbootmedia boot --help')\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output IMAGE      where to write the image\n"
	      "  -D NAME=VALUE           set a recipe variable (overrides variables:)\n"
	      "      --seed STRING       derive every identifier (UUIDs, disk id) from STRING\n"
	      "      --cache DIR         download cache (default $XDG_CACHE_HOME/mkbootmedia)\n"
	      "      --offline           download nothing: build from the cache or fail\n"
	      "  -j, --jobs N            worker threads for decompression (default: CPUs)\n"
	      "      --passphrase-fd N   read the encrypted partitions' passphrase from fd N\n"
	      "  -v, --verbose           more messages (repeat for debug output)\n"
	      "  -q, --quiet             errors only\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           print the version\n"
	      "\n"
	      "Environment: SOURCE_DATE_EPOCH sets every timestamp; MKBOOTMEDIA_NO_PROGRESS=1\n"
	      "turns progress bars off. See README.md for the recipe format.\n",
	      out);
}

int main(int argc, char **argv)
{
	enum { OPT_SEED = 0x100, OPT_CACHE, OPT_OFFLINE, OPT_PASSPHRASE_FD };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "define", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "passphrase-fd", required_argument, NULL, OPT_PASSPHRASE_FD },
		{ "jobs", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct driver_options o = { .passphrase_fd = -1 };
	_cleanup_strv_free_ char **defines = NULL;
	enum log_level level = LOG_INFO;
	const char *command = "build";
	bool command_given = false;
	int c, r;

	if (argc > 1 && streq(argv[1], "boot"))
		return boot_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "+o:D:j:vqhV", longopts, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) {
			/* A positional argument: the command or the recipe; options may follow. */
			const char *arg = argv[optind++];

			/* The first positional argument may name the command (a recipe file
			 * called "check" is ./check). */
			if (!o.recipe && !command_given &&
			    (streq(arg, "build") || streq(arg, "check"))) {
				command = arg;
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
		case OPT_SEED:
			o.seed = optarg;
			break;
		case OPT_CACHE:
			if (!optarg[0]) {
				log_error("--cache needs a directory");
				return 2;
			}
			o.cache_dir = optarg;
			break;
		case OPT_OFFLINE:
			o.offline = true;
			break;
		case OPT_PASSPHRASE_FD: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || !optarg[0] || v < 0 || v > 65535 ||
			    fcntl((int)v, F_GETFD) < 0) {
				log_error("--passphrase-fd '%s': expected an open file descriptor "
					  "number", optarg);
				return 2;
			}
			o.passphrase_fd = (int)v;
			break;
		}
		case 'j': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !optarg[0] || v < 1 || v > 64) {
				log_error("--jobs '%s': expected a number from 1 to 64", optarg);
				return 2;
			}
			o.jobs = (unsigned)v;
			break;
		}
		case 'v':
			level = level < LOG_DEBUG ? level + 1 : LOG_DEBUG;
			break;
		case 'q':
			level = LOG_ERR;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mkbootmedia %s\n", MKBOOTMEDIA_VERSION);
			return 0;
		default:
			fputs("Try 'mkbootmedia --help'.\n", stderr);
			return 2;
		}
	}
	log_set_level(level);
	o.defines = defines;
	if (!o.recipe) {
		log_error("no recipe given (usage: mkbootmedia RECIPE -o IMAGE; try --help)");
		return 2;
	}
	if (streq(command, "check")) {
		if (o.output) {
			log_error("'check' writes nothing: drop -o, or use 'build'");
			return 2;
		}
	} else if (!o.output) {
		log_error("no output given (use -o IMAGE, or 'mkbootmedia check %s' to only "
			  "validate)", o.recipe);
		return 2;
	}
	r = driver_main(&o);
	return r < 0 ? 1 : 0;
}
