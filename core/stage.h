/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One interface for every stage (stages/<name>.c). The driver runs, for every stage in the
 * table's order: parse (recipe keys to a private struct; > 0 means the stage will run; the
 * facts other stages need from this stage's keys are published into the build context
 * here), then settle, then verify for all of them (every cross-stage rule is checked here,
 * so `mkbootmedia check` reports it), and only then run; cleanup runs in reverse order for the
 * stages whose run started, whether the build failed or not. */
#pragma once

#include "build.h"

struct stage {
	const char *name;
	const char *summary;
	/* Every key this stage owns, declared once (lib/recipe.h); ends with { NULL }. The
	 * driver checks the whole recipe against all the tables before any parse. */
	const struct recipe_key *key_table;
	int (*parse)(struct build *b, void **ret_priv);
	/* Optional, after every stage's parse: derives what depends on facts other stages
	 * published in their parse, and says whether the stage runs after all (> 0), instead
	 * of parse's answer. Called whenever parse succeeded, even with 0. */
	int (*settle)(struct build *b, void *priv);
	int (*verify)(struct build *b, void *priv);
	/* Prints this stage's part of the plan (`mkbootmedia check`); optional. May do the
	 * work needed to know the plan (the packages stage resolves its package set). */
	int (*plan)(struct build *b, void *priv, FILE *out);
	int (*run)(struct build *b, void *priv);
	/* Releases what run acquired; `failed` says whether the build failed. Optional. */
	void (*cleanup)(struct build *b, void *priv, bool failed);
	void (*free)(void *priv);
};

/* The table, in run order (builder/stages.c). */
extern const struct stage *const stages[];
extern const size_t n_stages;
