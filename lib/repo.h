/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One suite of an apt repository, loaded and verified: InRelease (or Release and
 * Release.gpg) checked with gpgv against a keyring, then each component's Packages index
 * fetched by the SHA-256 that the signed Release gives for it, decompressed and parsed. */
#pragma once

#include "deb822.h"
#include "fetch.h"
#include "util.h"

struct repo_opts {
	const char *mirror;  /* "http://deb.debian.org/debian", "file:///srv/repo" */
	const char *suite;   /* "bookworm"; must be the Release's Suite or Codename */
	char **components;   /* NULL-terminated: { "main", NULL } */
	const char *arch;    /* "amd64" */
	const char *keyring; /* an OpenPGP keyring file in binary form, as gpgv reads it */
	bool ignore_valid_until; /* an expired Release is used (a frozen mirror, a snapshot) */
	/* When set, each decompressed Packages index is handed to it (which takes the malloc'ed
	 * text, returns its number of packages or a negative errno after logging; `what`
	 * names the index for messages) instead of being parsed and returned: a large index
	 * can then be read without all its fields held at once (pkgdb_add_index_text). */
	int (*add_index)(char *text, size_t len, const char *what, void *userdata);
	void *userdata;
};

/* Loads the suite through f: on success *ret_indices is a malloc'ed array of *ret_n parsed
 * (with o->add_index: NULL, and *ret_n the number of indices handed over)
 * Packages indices, per component in the components' order its binary-ARCH index, then its
 * binary-all index when the Release lists architecture "all" without
 * "No-Support-for-Architecture-all: Packages" (free each with deb822_free() and the array
 * with free()). */
int repo_load(struct fetcher *f, const struct repo_opts *o, struct deb822 ***ret_indices,
	      size_t *ret_n);
