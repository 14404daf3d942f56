/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capturing what the logger writes (stderr), for tests that assert exact messages. */
#pragma once

#include <stdio.h>
#include <unistd.h>

#include "util.h"

/* stderr goes to a temporary file between capture_begin() and capture_end(). */
static int saved_stderr = -1;
static FILE *capture_file;

static void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

/* Returns what was written (malloc'ed), without the final newline. */
static char *capture_end(void)
{
	size_t n;
	char *s;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	n = (size_t)ftell(capture_file);
	s = xmalloc(n + 1);
	rewind(capture_file);
	n = fread(s, 1, n, capture_file);
	s[n] = 0;
	if (n && s[n - 1] == '\n')
		s[n - 1] = 0;
	fclose(capture_file);
	return s;
}
