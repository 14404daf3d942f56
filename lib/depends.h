/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dependency fields of Debian packages (Depends, Pre-Depends, Provides, ...): parsing
 * "a (>= 1) | b:any, c [amd64] <!nocheck>" into groups of alternatives, formatting them back
 * for messages, and checking a version against a relation. */
#pragma once

#include "util.h"

enum dep_op {
	DEP_ANY, /* no version relation */
	DEP_LT,  /* << (strictly earlier) */
	DEP_LE,  /* <= (also the obsolete "<") */
	DEP_EQ,  /* = */
	DEP_GE,  /* >= (also the obsolete ">") */
	DEP_GT,  /* >> (strictly later) */
};

struct dep_atom {
	char *name;
	char *arch; /* NULL, "any", "native" or an arch name: the part after ':' */
	enum dep_op op;
	char *version; /* NULL when op is DEP_ANY */
};

/* "a | b | c": any one of them will do. */
struct dep_alt {
	struct dep_atom *atoms;
	size_t n;
};

/* "x, y, z": all of them are needed. */
struct dep_list {
	struct dep_alt *alts;
	size_t n;
};

/* Parses a dependency field. Whitespace (newlines included) may appear between any two
 * tokens; "[arch list]" and "<build profile>" restrictions are checked for balance and
 * skipped; a trailing comma is allowed; empty (or NULL) text gives an empty list. Versions
 * must be valid for dpkg. A syntax error returns -EINVAL and logs nothing: the caller knows
 * which field it was. All strings live in one allocation with the list: free it only with
 * dep_list_done(). */
int dep_parse(const char *text, struct dep_list *ret);
void dep_list_done(struct dep_list *l);

/* Whether version `have` stands in relation `op` to `want` ("have >= want"); DEP_ANY is
 * always satisfied, any other op never by a NULL `have`. */
bool dep_version_satisfies(enum dep_op op, const char *have, const char *want);
/* "<<", "<=", "=", ">=", ">>"; "" for DEP_ANY. */
const char *dep_op_to_string(enum dep_op op);
/* "kmod (>= 9)", "libc6:any (>= 2.34)" (malloc'ed). */
char *dep_atom_format(const struct dep_atom *a);
/* A whole group: "a | b (>= 2)" (malloc'ed). */
char *dep_alt_format(const struct dep_alt *alt);
