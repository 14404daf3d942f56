/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line's table (cli.h) and what is made from it at run time: getopt's arguments,
 * the usage text, the common options. */
#include "cli.h"

#include "qemu.h"

/* The options build and check share (build adds -o and -V). */
#define SHARED_BUILD_OPTIONS                                                                        \
	{ "define", 'D',  CLI_ARG_TEXT, "NAME=VALUE",                                               \
	  NULL,     true, false,        "set a recipe variable (overrides variables:)" },           \
		{ "seed",       CLI_SEED,                                                           \
		  CLI_ARG_TEXT, "STRING",                                                           \
		  NULL,         false,                                                              \
		  false,        "derive every identifier from STRING (overrides image.seed)" },     \
		{ "cache",     CLI_CACHE,                                                           \
		  CLI_ARG_DIR, "DIR",                                                               \
		  NULL,        false,                                                               \
		  false,       "download cache (default $XDG_CACHE_HOME/mkbootmedia)" },            \
		{ "no-unpack-cache",                                                                \
		  CLI_NO_UNPACK_CACHE,                                                              \
		  CLI_ARG_NONE,                                                                     \
		  NULL,                                                                             \
		  NULL,                                                                             \
		  false,                                                                            \
		  false,                                                                            \
		  "decode every package, neither reading nor writing the cache's decoded copies" }, \
		{ "offline",    CLI_OFFLINE,                                                        \
		  CLI_ARG_NONE, NULL,                                                               \
		  NULL,         false,                                                              \
		  false,        "download nothing: build from the cache, or fail" },                \
		{ "jobs",       'j',                                                                \
		  CLI_ARG_TEXT, "N",                                                                \
		  NULL,         false,                                                              \
		  false,        "decompression threads, 1 to 64 (default: one per CPU)" },          \
	{                                                                                           \
		"passphrase-fd", CLI_PASSPHRASE_FD, CLI_ARG_TEXT, "N", NULL, false, false,          \
			"read the encrypted partitions' passphrase from file descriptor N"          \
	}

static const struct cli_option build_options[] = {
	{ "output", 'o', CLI_ARG_FILE, "IMAGE", NULL, false, false,
	  "the image to write (only when every stage succeeded); .zst, .xz, .gz compress it" },
	{ "no-bmap", CLI_NO_BMAP, CLI_ARG_NONE, NULL, NULL, false, false,
	  "no block map (IMAGE.bmap, without the compression suffix) beside the image" },
	{ "checksum", CLI_CHECKSUM, CLI_ARG_NONE, NULL, NULL, false, false,
	  "write IMAGE.sha256 (sha256sum -c), a line for each file written" },
	{ "sbom", CLI_SBOM, CLI_ARG_NONE, NULL, NULL, false, false,
	  "write IMAGE.spdx.json, an SPDX 2.3 list of the installed packages" },
	SHARED_BUILD_OPTIONS,
	{ "lock", CLI_LOCK, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "write the build's exact inputs to FILE (packages, hashes, seed, time)" },
	{ "locked", CLI_LOCKED, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "install exactly the packages a --lock FILE names, verified by hash" },
	{ "version", 'V', CLI_ARG_NONE, NULL, NULL, false, false,
	  "print the version and the versions of the libraries in use" },
	{ NULL }
};

static const struct cli_option check_options[] = {
	SHARED_BUILD_OPTIONS,
	{ "locked", CLI_LOCKED, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "plan exactly the packages a --lock FILE names" },
	{ NULL }
};

static const char *const yes_no[] = { "yes", "no", NULL };

static const struct cli_option boot_options[] = {
	{ "bus", CLI_BUS, CLI_ARG_VALUES, "BUS", qemu_bus_names, false, false,
	  "how the disk is attached (default usb: usb-storage on xHCI)" },
	{ "memory", 'm', CLI_ARG_TEXT, "MIB", NULL, false, false,
	  "guest memory (default 512; or a size such as 1GiB)" },
	{ "accel", CLI_ACCEL, CLI_ARG_VALUES, "ACCEL", qemu_accel_names, false, false,
	  "accelerator (default auto: KVM when /dev/kvm works, else TCG)" },
	{ "firmware", CLI_FIRMWARE, CLI_ARG_VALUES, "FIRMWARE", qemu_firmware_names, false, false,
	  "bios (SeaBIOS; default), uefi (OVMF), uefi-secure (OVMF, Secure Boot on), "
	  "uefi-ia32 (32-bit OVMF)" },
	{ "log", CLI_LOG, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "append everything the console prints to FILE" },
	{ "timeout", CLI_TIMEOUT, CLI_ARG_TEXT, "SECONDS", NULL, false, false,
	  "for the whole scripted run (default 300)" },
	{ "write", CLI_WRITE, CLI_ARG_NONE, NULL, NULL, false, false,
	  "let the guest write to the image (default: a snapshot)" },
	{ "net", CLI_NET, CLI_ARG_NONE, NULL, NULL, false, false,
	  "a network card on QEMU's user network (10.0.2.15 by DHCP; default: none)" },
	{ "forward", CLI_FORWARD, CLI_ARG_TEXT, "HOSTPORT:GUESTPORT", NULL, true, false,
	  "forward 127.0.0.1:HOSTPORT to the guest's TCP port (implies --net)" },
	{ "audit-writes", CLI_AUDIT_WRITES, CLI_ARG_NONE, NULL, NULL, false, false,
	  "list what the guest wrote, per partition and file (on a private copy without --write)" },
	{ "qemu", CLI_QEMU, CLI_ARG_PROGRAM, "PATH", NULL, false, false,
	  "the QEMU binary (default qemu-system-x86_64)" },
	{ "test", CLI_TEST, CLI_ARG_RECIPE, "RECIPE", NULL, false, false,
	  "take the steps from the recipe's test: section" },
	{ "define", 'D', CLI_ARG_TEXT, "NAME=VALUE", NULL, true, false,
	  "set a variable of the --test recipe" },
	{ "expect", CLI_EXPECT, CLI_ARG_TEXT, "REGEX", NULL, true, true,
	  "wait until the console prints a match (extended regex)" },
	{ "send", CLI_SEND, CLI_ARG_TEXT, "TEXT", NULL, true, true,
	  "type TEXT (\\n \\r \\t \\\\ \\e \\xNN are decoded; never logged)" },
	{ "run", CLI_RUN, CLI_ARG_TEXT, "CMD", NULL, true, true,
	  "type CMD at a shell prompt; fails when its exit status is not 0" },
	{ "output", CLI_OUTPUT_RE, CLI_ARG_TEXT, "REGEX", NULL, true, true,
	  "what the preceding --run or --host printed must match" },
	{ "host", CLI_HOST, CLI_ARG_TEXT, "CMD", NULL, true, true,
	  "run CMD with /bin/sh on this machine while the guest runs (e.g. ssh into a "
	  "--forward); fails when its exit status is not 0" },
	{ "poweroff", CLI_POWEROFF, CLI_ARG_NONE, NULL, NULL, true, true,
	  "type 'poweroff -f'; stop QEMU if it still runs 10 s later" },
	{ "secure-boot", CLI_SECURE_BOOT, CLI_ARG_VALUES, "yes|no", yes_no, true, true,
	  "at a shell prompt: the SecureBoot EFI variable must be 1 (yes), or 0 or absent" },
	{ "passphrase-file", CLI_PASSPHRASE_FILE, CLI_ARG_FILE, "FILE", NULL, false, true,
	  "the passphrase for the initrd's prompt (never shown)" },
	{ "send-passphrase", CLI_SEND_PASSPHRASE, CLI_ARG_NONE, NULL, NULL, true, true,
	  "type the --passphrase-file passphrase here, with a newline" },
	{ NULL }
};

static const struct cli_option flash_options[] = {
	{ "bmap", CLI_BMAP, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "the block map (default: found as bmaptool finds it, IMAGE.bmap or without suffixes)" },
	{ "force", CLI_FORCE, CLI_ARG_NONE, NULL, NULL, false, false,
	  "write to a disk that is neither removable nor on USB" },
	{ "yes", 'y', CLI_ARG_NONE, NULL, NULL, false, false,
	  "do not ask before writing (needed when not on a terminal)" },
	{ "verify-only", CLI_VERIFY_ONLY, CLI_ARG_NONE, NULL, NULL, false, false,
	  "write nothing: check that DEVICE holds the image's mapped ranges" },
	{ "no-verify", CLI_NO_VERIFY, CLI_ARG_NONE, NULL, NULL, false, false,
	  "do not read the ranges back after writing" },
	{ "grow", CLI_GROW, CLI_ARG_NONE, NULL, NULL, false, false,
	  "then grow the last partition and its ext2/3/4 filesystem to the device's end" },
	{ "passphrase-file", CLI_PASSPHRASE_FILE, CLI_ARG_FILE, "FILE", NULL, false, false,
	  "--grow with an encrypted last partition: its passphrase (default: asked on the "
	  "terminal)" },
	{ NULL }
};

static const struct cli_option no_options[] = { { NULL } };

const struct cli_option cli_common_options[] = {
	{ "verbose", 'v', CLI_ARG_NONE, NULL, NULL, true, false,
	  "more messages (twice: debug output)" },
	{ "quiet", 'q', CLI_ARG_NONE, NULL, NULL, false, false, "errors only" },
	{ "help", 'h', CLI_ARG_NONE, NULL, NULL, false, false, "this help" },
	{ NULL }
};

const struct cli_command cli_commands[] = {
	{ "build", "RECIPE -o IMAGE [options]", "build the image (the default command)",
	  "Builds the disk image the recipe describes, without root: the partition table, the "
	  "filesystems, the Debian root, the initramfs and the boot loader are written into "
	  "the image file. The image is written to a temporary file next to IMAGE and renamed "
	  "only when every stage succeeded; on failure (or Ctrl-C) nothing is left behind.",
	  CLI_ARG_RECIPE, build_options },
	{ "check", "RECIPE [options]", "validate the recipe and print the plan; writes nothing",
	  "Reads and checks the whole recipe as a build would, and prints what a build would do. "
	  "It refuses everything a build would refuse.",
	  CLI_ARG_RECIPE, check_options },
	{ "boot", "IMAGE [options] [steps]", "run the image in QEMU",
	  "Runs the image in QEMU, attached with snapshot=on (booting never changes it) unless "
	  "--write. Without steps, on a terminal: the serial console here (Ctrl-A X quits).\n\n"
	  "With steps (or --test): the steps run in the order given on the serial console, each "
	  "matching only what the console printed after the previous one; the exit status is 0 "
	  "when every step passed.",
	  CLI_ARG_FILE, boot_options },
	{ "diff", "A.img B.img", "explain how two images differ",
	  "Compares two images from the outside in: the partition table, then each partition, "
	  "then each ext2/3/4 filesystem down to its files (paths, types, modes, owners, sizes, "
	  "symlink targets, contents), and last the byte ranges that differ for no reason given "
	  "above, each named by what holds it (a directory's block, an inode, free space). "
	  "Prints nothing when the images are the same bytes. Exit status: 0 the same, 1 they "
	  "differ, 2 an error.",
	  CLI_ARG_FILE, no_options },
	{ "flash", "IMAGE DEVICE [options]", "write an image to a USB key and verify it",
	  "Writes IMAGE (raw, or compressed: .zst, .xz, .gz) to the whole disk DEVICE: only the "
	  "ranges its block map lists (IMAGE.bmap, as bmaptool finds it; without one, a raw "
	  "image's data extents, or all of a compressed one), then flushes the device, reads "
	  "every range back and checks its SHA-256.\n\n"
	  "It refuses a partition, a disk that is neither removable nor on USB (unless "
	  "--force), a disk that is mounted or held by another program, and a disk smaller "
	  "than the image. It shows the disk's vendor, model and size, and asks before "
	  "writing; when not on a terminal, --yes is needed.",
	  CLI_ARG_FILE, flash_options },
	{ "help", "[COMMAND]", "the help of a command", "Prints the help of COMMAND.",
	  CLI_ARG_COMMAND, no_options },
	{ "doc", "FORMAT [STAGE]", "print the manual or the shell completion",
	  "Prints, made from this program's own tables: the man page (man1), the recipe's man "
	  "page (man5), bash or zsh completion, or the recipe reference in Markdown (with "
	  "STAGE, only that stage's table).",
	  CLI_ARG_VALUES, no_options, doc_formats },
};
const size_t cli_n_commands = ARRAY_SIZE(cli_commands);

const struct cli_text cli_exit_status[] = {
	{ "0", "success (boot: every step passed)" },
	{ "1", "a build, recipe or boot error" },
	{ "2", "a usage error" },
	{ NULL }
};

const struct cli_text cli_environment[] = {
	{ "SOURCE_DATE_EPOCH", "sets every timestamp written (and clamps copied files' mtimes)" },
	{ "MKBOOTMEDIA_NO_PROGRESS", "1 turns progress bars off" },
	{ "MKBOOTMEDIA_VM_TIMEOUT", "seconds a packages.configure: vm run in QEMU may take" },
	{ "MKBOOTMEDIA_OVMF_DIR",
	  "where boot --firmware uefi finds OVMF (default /usr/share/OVMF)" },
	{ "XDG_CACHE_HOME", "the download cache is $XDG_CACHE_HOME/mkbootmedia" },
	{ "http_proxy, https_proxy", "the proxies downloads go through" },
	{ NULL }
};

const struct cli_text cli_files[] = {
	{ "~/.cache/mkbootmedia", "downloads, stored by SHA-256 and reused while it matches" },
	{ MKBOOTMEDIA_DATADIR "/recipes", "device presets (devices/) and fragments (fragments/) "
					  "to include" },
	{ "/usr/share/keyrings/debian-archive-keyring.gpg", "the default keyring" },
	{ NULL }
};

const struct cli_text cli_examples[] = {
	{ "mkbootmedia usb.yml -o usb.img", "build an image" },
	{ "mkbootmedia check usb.yml -D hostname=key2", "check a recipe with a variable set" },
	{ "mkbootmedia boot usb.img", "boot it in QEMU (Ctrl-A X quits)" },
	{ "mkbootmedia boot --test usb.yml usb.img", "run the recipe's test: section" },
	{ "mkbootmedia boot usb.img --expect 'login: ?$' --send 'root\\n' --expect '# $' \\\n"
	  "    --run 'uname -r' --output '^6\\.' --poweroff",
	  "or steps on the command line: log in, run a command, check its output" },
	{ "mkbootmedia usb.yml -o usb.img.zst --checksum",
	  "build a compressed image, with usb.img.bmap and usb.img.zst.sha256 beside it" },
	{ "sudo mkbootmedia flash usb.img.zst /dev/sdX",
	  "write it to a USB key and verify it (check the device name with lsblk first)" },
	{ NULL }
};

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < cli_n_commands; i++)
		if (streq(cli_commands[i].name, name))
			return &cli_commands[i];
	return NULL;
}

static void add_options(const struct cli_option *opts, struct option **l, size_t *n, FILE *s)
{
	for (; opts->name; opts++) {
		*l = xrealloc(*l, (*n + 2) * sizeof(**l));
		(*l)[(*n)++] = (struct option){ opts->name,
						opts->arg ? required_argument : no_argument, NULL,
						opts->id };
		if (opts->id < 0x100)
			fprintf(s, "%c%s", opts->id, opts->arg ? ":" : "");
	}
}

void cli_getopt(const struct cli_command *c, struct option **ret_long, char **ret_short)
{
	struct option *l = NULL;
	size_t n = 0, len = 0;
	FILE *s = open_memstream(ret_short, &len);

	if (!s)
		abort();
	/* Commands take options after their operands; the default command stops at the first
	 * operand (which may be the command's name). */
	fputs(c == &cli_commands[0] ? "+" : "", s);
	add_options(c->options, &l, &n, s);
	add_options(cli_common_options, &l, &n, s);
	fclose(s);
	l[n] = (struct option){};
	*ret_long = l;
}

static void print_values(FILE *out, const char *const *v)
{
	for (size_t i = 0; v[i]; i++)
		fprintf(out, "%s%s", i ? "|" : "", v[i]);
}

static void print_options(FILE *out, const struct cli_option *o, bool steps)
{
	for (; o->name; o++) {
		FILE *f;
		size_t len = 0;
		char *buf = NULL;

		if (o->step != steps)
			continue;
		f = open_memstream(&buf, &len);
		if (!f)
			abort();
		if (o->id < 0x100)
			fprintf(f, "  -%c, --%s", o->id, o->name);
		else
			fprintf(f, "      --%s", o->name);
		if (o->values) {
			fputc(' ', f);
			print_values(f, o->values);
		} else if (o->metavar) {
			fprintf(f, " %s", o->metavar);
		}
		fclose(f);
		if (strlen(buf) < 28)
			fprintf(out, "%-28s%s\n", buf, o->doc);
		else
			fprintf(out, "%s\n%-28s%s\n", buf, "", o->doc);
		free(buf);
	}
}

static void print_paragraphs(FILE *out, const char *text)
{
	/* Wrapped at 88 columns. */
	const char *p = text;
	size_t col = 0;

	while (*p) {
		size_t w;

		if (p[0] == '\n') {
			fputs(col ? "\n" : "", out);
			fputs("\n", out);
			col = 0;
			p += p[1] == '\n' ? 2 : 1;
			continue;
		}
		w = strcspn(p, " \n");
		if (col && col + 1 + w > 88) {
			fputc('\n', out);
			col = 0;
		} else if (col) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += w;
		p += w;
		p += *p == ' ';
	}
	if (col)
		fputc('\n', out);
}

void cli_usage(FILE *out, const struct cli_command *c)
{
	if (!c) {
		for (size_t i = 0; i < cli_n_commands; i++)
			fprintf(out, "%s mkbootmedia %s%s%s %s\n", i ? "      " : "Usage:",
				i ? "" : "[", cli_commands[i].name, i ? "" : "]",
				cli_commands[i].synopsis);
		fputs("\nBuilds a bootable disk image (USB key, CompactFlash card) from a YAML "
		      "recipe,\nwithout root: partitions, filesystems and files are written into "
		      "the image file.\n\nCommands:\n",
		      out);
		for (size_t i = 0; i < cli_n_commands; i++)
			fprintf(out, "  %-26s%s\n", cli_commands[i].name, cli_commands[i].summary);
		fputs("\nOptions of build (the default command):\n", out);
		print_options(out, cli_commands[0].options, false);
		print_options(out, cli_common_options, false);
		fputs("\n'mkbootmedia help COMMAND' (or COMMAND --help) shows a command's "
		      "options;\n"
		      "'man mkbootmedia' and 'man mkbootmedia-recipe' the manual.\n",
		      out);
		return;
	}
	fprintf(out, "Usage: mkbootmedia %s %s\n\n", c->name, c->synopsis);
	print_paragraphs(out, c->description);
	if (c->values) {
		fputs("\nOne of: ", out);
		for (size_t i = 0; c->values[i]; i++)
			fprintf(out, "%s%s", i ? ", " : "", c->values[i]);
		fputs(".\n", out);
	}
	if (c->options[0].name) {
		fputs("\nOptions:\n", out);
		print_options(out, c->options, false);
		print_options(out, cli_common_options, false);
	}
	for (size_t i = 0; c->options[i].name; i++)
		if (c->options[i].step) {
			fputs("\nSteps, in order:\n", out);
			print_options(out, c->options, true);
			break;
		}
	if (c == &cli_commands[0]) {
		fputs("\nEnvironment:\n", out);
		for (size_t i = 0; cli_environment[i].name; i++)
			fprintf(out, "  %-26s%s\n", cli_environment[i].name,
				cli_environment[i].doc);
	}
}

int cli_common(int opt, const struct cli_command *c, enum log_level *level)
{
	switch (opt) {
	case 'v':
		*level = *level < LOG_DEBUG ? *level + 1 : LOG_DEBUG;
		return 1;
	case 'q':
		*level = LOG_ERR;
		return 1;
	case 'h':
		cli_usage(stdout, c == &cli_commands[0] ? NULL : c);
		return -1;
	default:
		return 0;
	}
}
