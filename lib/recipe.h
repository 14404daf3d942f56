/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The recipe: YAML files loaded with libyaml into a tree of nodes that remember where they
 * came from (file, line, column, key path), with `include:` merged and `${variables}`
 * substituted. Stages turn their part of the tree into typed structs with the node_get_*
 * helpers, which report errors as
 *     usb.yml:12:9: partitions[1].size: '12XB' is not a size (use B, KiB, MiB, GiB, or %)
 *
 * Merge rules for include: the included files are merged in order, then the including file
 * on top. Mappings merge key by key (recursively); scalars and sequences are replaced by the
 * later value, except that a key written `name+:` appends its sequence to the earlier one.
 * Keys that exclude each other (root-password's hash: and file:) replace each other: a later
 * file setting one drops the other an earlier file set.
 * `variables:` is a mapping merged the same way; -D NAME=VALUE overrides it. `${name}` in any
 * scalar is replaced by the variable's value; `$${` stands for a literal `${`. */
#pragma once

#include "node.h"

struct recipe {
	struct node *root; /* always a NODE_MAP after recipe_load() */
	char *path;        /* the top-level recipe, as named */
	char **files;      /* every file loaded (top-level first); nodes point into these */
	char **dirs;
};

/* Loads `path` and everything it includes; `defines` is a NULL-terminated list of
 * "NAME=VALUE" strings from -D (may be NULL). Errors are logged with their position. */
int recipe_load(const char *path, char *const *defines, struct recipe **ret);
struct recipe *recipe_free(struct recipe *r);
