/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debian version numbers ("[epoch:]upstream[-revision]"): ordering exactly as dpkg's
 * verrevcmp() and validity as dpkg's parseversion(). */
#pragma once

#include "util.h"

/* <0, 0 or >0 as a sorts before, equal to or after b. Total on any strings: parts of an
 * invalid version are compared as they split (a missing epoch is 0, a missing revision ""). */
int debver_cmp(const char *a, const char *b);

/* What dpkg accepts in a control file: non-empty; only [A-Za-z0-9.+~:-]; an epoch, when
 * present, is decimal digits and fits an int; the upstream part is non-empty and starts
 * with a digit; a revision, when a '-' is present, is non-empty and only [A-Za-z0-9.+~]. */
bool debver_valid(const char *v);
