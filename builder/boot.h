/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia boot IMAGE`: runs a disk image in QEMU, on this terminal or scripted by
 * steps from the command line or from a recipe's `test:` section (syntax in boot.c). */
#pragma once

#include "console.h"
#include "qemu.h"
#include "recipe.h"
#include "util.h"

/* A writes: step of a test: section, checked after the run (--audit-writes). */
struct boot_writes {
	char *partition; /* the recipe's name */
	unsigned number; /* resolved from the recipe's partitions: (1-based, in order) */
	uint64_t max;    /* bytes */
	const struct node *node;
};

/* A recipe's test: section. */
struct boot_test {
	int bus;             /* an enum qemu_bus, -1 when not given */
	int firmware;        /* an enum qemu_firmware, -1 when not given */
	uint64_t memory_mib; /* 0 when not given */
	double timeout;      /* seconds for the whole run, 0 when not given */
	struct console_step *steps;
	size_t n_steps;
	unsigned *only; /* per step: the firmwares it runs under (bits 1 << enum qemu_firmware),
			 * 0 for every one; NULL when there are no steps */
	struct boot_writes *writes; /* writes: steps, in order */
	size_t n_writes;
};
void boot_test_done(struct boot_test *t);
/* Drops the steps that do not run under firmware f (their `firmware:` does not name it). */
void boot_test_select(struct boot_test *t, enum qemu_firmware f);

/* Parses the value of `test:` of the recipe whose root is `root` (for the partition names
 * of writes: steps); errors are reported at the node (file:line:col). */
int boot_test_parse(const struct node *root, const struct node *test, struct boot_test *ret);
/* Validates the recipe's test: section if it has one (for `check` and `build`). */
int boot_test_check(const struct recipe *r);

/* The command: argv[0] is "boot". Returns the exit status: 0 when QEMU ran (interactive) or
 * every step passed, 1 when a step failed or QEMU could not run, 2 for a usage error. */
int boot_main(int argc, char **argv);

/* The keys of the recipe's test: section, declared as the stages declare theirs. */
extern const struct recipe_key boot_key_table[];
