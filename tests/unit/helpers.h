/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the unit tests that drive outside tools share: a scratch directory (each test's
 * main() fills tmpdir with mkdtemp), shell commands, and paths in the scratch directory. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static char tmpdir[64];

/* Runs a shell command line; its exit status (0: success). A failure is shown. */
static _unused_ _printf_(1, 2) int run(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	va_list ap;
	int status;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		fprintf(stderr, "  command failed (%d): %s\n", status, cmd);
	return status;
}

/* Whether a command is on PATH. */
static _unused_ bool have(const char *command)
{
	_cleanup_free_ char *cmd = xasprintf("command -v %s > /dev/null 2>&1", command);

	return system(cmd) == 0;
}

/* NAME in the scratch directory (a new string). */
static _unused_ char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* The standard output of a shell command line; NULL when it fails. */
static _unused_ _printf_(1, 2) char *output(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	char *out = NULL;
	size_t len = 0, cap = 0;
	FILE *p;
	va_list ap;
	int c;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	while ((c = fgetc(p)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? 2 * cap : 4096;
			out = xrealloc(out, cap);
		}
		out[len++] = (char)c;
	}
	if (!out)
		out = xstrdup("");
	out[len] = 0;
	if (pclose(p) != 0) {
		fprintf(stderr, "  command failed: %s\n", cmd);
		free(out);
		return NULL;
	}
	return out;
}
