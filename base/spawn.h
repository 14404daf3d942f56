/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a host program and keeping what it printed (above util and log, which it uses). */
#pragma once

#include "util.h"

/* Runs argv (argv[0] from PATH, no shell) with stdin from /dev/null; its stdout and stderr
 * together land in *ret_output (when not NULL). Returns the exit status, or -errno. */
int spawn_capture(char *const *argv, char **ret_output);
/* The same with more: `env` ("NAME=VALUE" strings) added to the child's environment, and
 * `input` (input_size bytes) as its standard input. */
struct spawn_opts {
	char *const *env;
	const void *input;
	size_t input_size;
};
int spawn_run(char *const *argv, const struct spawn_opts *o, char **ret_output);
