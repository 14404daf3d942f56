/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line, declared once: every command with its options. The table drives the
 * option parsers (main.c, boot.c), the usage text (`--help`, `mkbootmedia help COMMAND`),
 * and the man page and shell completion (`mkbootmedia doc`, doc.c). */
#pragma once

#include <getopt.h>

#include "log.h"
#include "util.h"

/* What an argument is, for the shell completion. */
enum cli_arg {
	CLI_ARG_NONE,   /* no argument */
	CLI_ARG_TEXT,   /* free text: nothing to complete */
	CLI_ARG_FILE,   /* any file */
	CLI_ARG_RECIPE, /* a recipe: *.yml, *.yaml */
	CLI_ARG_DIR,    /* a directory */
	CLI_ARG_PROGRAM,/* a command */
	CLI_ARG_VALUES, /* one of `values` */
	CLI_ARG_COMMAND,/* a command of this table */
};

/* The value getopt returns for an option without a short name. */
enum {
	CLI_SEED = 0x100,
	CLI_CACHE,
	CLI_OFFLINE,
	CLI_NO_UNPACK_CACHE,
	CLI_PASSPHRASE_FD,
	CLI_BUS,
	CLI_ACCEL,
	CLI_FIRMWARE,
	CLI_LOG,
	CLI_TIMEOUT,
	CLI_WRITE,
	CLI_AUDIT_WRITES,
	CLI_QEMU,
	CLI_TEST,
	CLI_EXPECT,
	CLI_SEND,
	CLI_RUN,
	CLI_OUTPUT_RE,
	CLI_POWEROFF,
	CLI_PASSPHRASE_FILE,
	CLI_SEND_PASSPHRASE,
	CLI_SECURE_BOOT,
	CLI_HOST,
	CLI_NET,
	CLI_FORWARD,
	CLI_LOCK,
	CLI_LOCKED,
	CLI_NO_BMAP,
	CLI_CHECKSUM,
	CLI_SBOM,
	CLI_FORCE,
	CLI_YES,
	CLI_VERIFY_ONLY,
	CLI_GROW,
	CLI_BMAP,
	CLI_NO_VERIFY,
};

struct cli_option {
	const char *name;            /* the long name, without "--" */
	int id;                      /* the short name ('o'), or a CLI_* value above */
	enum cli_arg arg;
	const char *metavar;         /* "IMAGE"; NULL when arg is CLI_ARG_NONE */
	const char *const *values;   /* CLI_ARG_VALUES: the names the parser accepts */
	bool repeat;                 /* may be given more than once */
	bool step;                   /* a `boot` step: order matters */
	const char *doc;             /* one line */
};

struct cli_command {
	const char *name;
	const char *synopsis;        /* after "mkbootmedia NAME " */
	const char *summary;         /* one line */
	const char *description;     /* paragraphs separated by "\n\n" */
	enum cli_arg operand;        /* what the positional argument is */
	const struct cli_option *options; /* ends with { NULL } */
	const char *const *values;   /* CLI_ARG_VALUES: the operand's values */
};

/* The commands, in the order the help lists them; the first one is the default command. */
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
/* -v, -q, -h: every command has them (they end each command's options). */
extern const struct cli_option cli_common_options[];

struct cli_text {
	const char *name, *doc;
};
extern const struct cli_text cli_exit_status[], cli_environment[], cli_files[],
	cli_examples[]; /* each ends with { NULL } */

const struct cli_command *cli_command_find(const char *name);

/* getopt_long's arguments for a command (its options and the common ones): *ret_long ends
 * with a zero entry; free both. */
void cli_getopt(const struct cli_command *c, struct option **ret_long, char **ret_short);

/* The help of one command (NULL: the overview of all commands). */
void cli_usage(FILE *out, const struct cli_command *c);

/* The common options: -v raises *level, -q sets it to errors only, -h prints the command's
 * help. Returns 1 when `opt` was one of them (and the parse goes on), -1 after the help (the
 * program exits 0), 0 otherwise. */
int cli_common(int opt, const struct cli_command *c, enum log_level *level);

/* `mkbootmedia doc FORMAT [STAGE]` (doc.c); returns the exit status. */
int doc_main(int argc, char **argv);
/* `mkbootmedia diff A.img B.img` (diff.c): 0 the same bytes, 1 they differ, 2 an error. */
int diff_main(int argc, char **argv);
/* Its formats: man1, man5, bash, zsh, markdown (NULL-terminated). */
extern const char *const doc_formats[];
