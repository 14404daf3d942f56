/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the libFuzzer targets (tests/fuzz/README). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Only errors are logged (run with -close_fd_mask=3 to silence those too: libFuzzer and
 * the sanitizers keep their own copy of stderr). */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_ERR);
}

/* A malloc'ed, NUL-terminated copy of the input. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = 0;
	return s;
}
