/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal unit-test macros (after cryptsetup's api tests): a failed CHECK prints the
 * expression, file and line, marks the current test failed and returns from it.
 * Each test prints "PASS: name" or "FAIL: name"; tests/run counts those lines. */
#pragma once

#include <stdio.h>
#include <string.h>

static int check_failed_tests;
static int check_current_failed;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "  check failed: %s (%s:%d)\n", #expr, __FILE__, __LINE__); \
			check_current_failed = 1;                                                  \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "  check failed: %s == %s\n    got:      '%s'\n    expected: '%s'\n    (%s:%d)\n", \
				#a, #b, _a ? _a : "(null)", _b ? _b : "(null)", __FILE__, __LINE__); \
			check_current_failed = 1;                                                  \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define RUN_TEST(fn)                                                                               \
	do {                                                                                       \
		check_current_failed = 0;                                                          \
		fn();                                                                              \
		printf("%s: %s\n", check_current_failed ? "FAIL" : "PASS", #fn);                  \
		fflush(stdout);                                                                    \
		check_failed_tests += check_current_failed;                                        \
	} while (0)

#define CHECK_EXIT() return check_failed_tests ? 1 : 0
