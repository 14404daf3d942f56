/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fstab generator, separate from the stage so unit tests can call it. */
#pragma once

#include "build.h"

enum fstab_by {
	FSTAB_BY_LABEL, /* LABEL= when the filesystem has a label, else UUID= */
	FSTAB_BY_UUID,
	FSTAB_BY_PARTUUID,
	_FSTAB_BY_MAX,
};

struct fstab_line {
	char *spec, *file, *type, *options;
	unsigned pass;
};

struct fstab_config {
	enum fstab_by by;
	struct fstab_line *tmpfs; /* spec "tmpfs" */
	size_t n_tmpfs;
	struct fstab_line *extra; /* copied verbatim after the generated lines */
	size_t n_extra;
};

/* Mount options for a filesystem: the ones given (or "defaults", plus errors=remount-ro for
 * the root), with noatime added unless an atime option is already there. */
char *fstab_options(char *const *given, bool root);
/* The whole file. */
char *fstab_generate(const struct build *b, const struct fstab_config *c);
/* The file the stage would write, from its parsed private data (for tests and plans). */
char *fstab_render(const struct build *b, const void *stage_priv);
