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
 * `variables:` is a mapping merged the same way; -D NAME=VALUE overrides it. `${name}` in any
 * scalar is replaced by the variable's value; `$${` stands for a literal `${`. */
#pragma once

#include <sys/types.h>

#include "util.h"

enum node_kind {
	NODE_SCALAR,
	NODE_MAP,
	NODE_SEQ,
};

struct node {
	enum node_kind kind;
	const char *file; /* the file as named (for messages); owned by the recipe */
	const char *dir;  /* directory of that file, for relative paths; owned by the recipe */
	unsigned line, col; /* 1-based position of the node's first character */
	char *path;         /* key path from the root: "partitions[1].size" ("" for the root) */
	char *scalar;       /* NODE_SCALAR: the value, after ${} substitution */
	bool plain;         /* NODE_SCALAR: written without quotes */
	size_t n;           /* NODE_MAP: number of pairs; NODE_SEQ: number of items */
	struct node **keys; /* NODE_MAP: the key nodes (scalars), in file order */
	struct node **items; /* NODE_MAP: the values; NODE_SEQ: the items */
};

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

/* Logs "file:line:col: path: message" and returns -EINVAL. */
int node_error(const struct node *n, const char *fmt, ...) _printf_(2, 3);

/* The value under `key` in a mapping, or NULL (also when map is NULL or not a mapping). */
struct node *node_get(const struct node *map, const char *key);
/* Fails on any key of `map` not in `allowed` (NULL-terminated), suggesting the nearest:
 * "image.tabel: unknown key (did you mean 'table'?)". */
int node_check_keys(const struct node *map, const char *const *allowed);
/* One recipe key, declared once. The tables (one per stage, core/stage.h) drive the parser's
 * allowed keys and its "did you mean", the README's recipe reference, the man page and the
 * shell completion; tests compare the README with them. */
struct recipe_key {
	/* The key path: "image.size", "partitions[].filesystem.type" ("[]": each item of a list;
	 * a top-level key alone, "files", documents the list or mapping itself). */
	const char *path;
	const char *type;            /* as documented: "size", "bool", "string", "list", ... */
	const char *def;             /* the default, as documented; NULL: none (or required) */
	const char *const *values;   /* the allowed names, the very array the parser uses */
	const char *doc;             /* one line */
};
/* The names declared right under `path` ("image", "partitions[]"), in table order: a new
 * NULL-terminated list of borrowed strings (free only the array). */
const char **recipe_keys_under(const struct recipe_key *table, const char *path);
/* node_check_keys() with the keys `table` declares under `path`. */
int node_check_table(const struct node *map, const struct recipe_key *table, const char *path);
/* Checks every mapping of the recipe whose path `table` declares keys under (lists' items as
 * "path[]"), all at once, before any stage parses: the unknown keys, each with its position
 * and the nearest declared name. Mappings nothing is declared under (variables:) are free;
 * a value of the wrong kind is left to the stage that reads it. */
int node_check_tree(const struct node *root, const struct recipe_key *table);

/* Fails unless n is of the kind: "partitions: expected a list, got a mapping". */
int node_expect(const struct node *n, enum node_kind kind);
const char *node_kind_to_string(enum node_kind kind);

/* Typed getters: 0 and *ret set on success, node_error() otherwise. */
int node_get_string(const struct node *n, const char **ret);
int node_get_bool(const struct node *n, bool *ret); /* true/false/yes/no/on/off */
int node_get_u64(const struct node *n, uint64_t min, uint64_t max, uint64_t *ret);
/* "0640", 0640, "640": octal, at most 07777. */
int node_get_mode(const struct node *n, mode_t *ret);
/* A list of scalars, or one comma-separated string; returns a new NULL-terminated list. */
int node_get_strv(const struct node *n, char ***ret);
/* One value of a NULL-terminated table of names; returns its index. The error lists them. */
int node_get_enum(const struct node *n, const char *const *names, int *ret);

/* A UUID/GUID in its string form; `what` names it in the error ("partition GUID"). */
int node_get_uuid(const struct node *n, const char *what, uint8_t ret[16]);

/* Sizes: "2GiB", "512 MiB", "1048576", "1G" (binary: K, M, G, T, KiB...), "1GB" (decimal:
 * kB, MB, GB, TB), "50%" (with SIZE_ALLOW_PERCENT), "rest" (with SIZE_ALLOW_REST). */
enum size_kind {
	SIZE_BYTES,
	SIZE_PERCENT,
	SIZE_REST,
};
struct size {
	enum size_kind kind;
	uint64_t bytes;    /* SIZE_BYTES */
	unsigned permille; /* SIZE_PERCENT: tenths of a percent, 1..1000 */
};
#define SIZE_ALLOW_PERCENT 1u
#define SIZE_ALLOW_REST 2u
/* Pure parser: 0 or -EINVAL (-ERANGE on overflow). */
int size_parse(const char *s, unsigned flags, struct size *ret);
int node_get_size(const struct node *n, unsigned flags, struct size *ret);

/* Resolves a path from the recipe relative to the directory of the file that wrote it;
 * absolute paths are returned as they are. Returns a new string. */
char *node_path_resolve(const struct node *n, const char *relpath);
