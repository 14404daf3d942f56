/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Owner and group names resolved in the target: its /etc/passwd and /etc/group (read through
 * the tree), then Debian's base-passwd allocations; numbers pass through. Never the host's
 * databases. */
#pragma once

#include <sys/types.h>

#include "util.h"

struct tree;

/* `t` may be NULL (nothing written yet): numbers and the base-passwd names only. -ENOENT
 * (not logged) when the name is unknown. */
int passwd_resolve_user(struct tree *t, const char *name, uid_t *ret);
int passwd_resolve_group(struct tree *t, const char *name, gid_t *ret);
