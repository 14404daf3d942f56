/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The files of templates/, compiled into the binary so an installed mkbootmedia needs no
 * data directory to find them, and filled in with @NAME@ placeholders. */
#pragma once

#include <stddef.h>

/* The template's text (NUL-terminated), or NULL when there is no such template. */
const char *template_get(const char *name, size_t *ret_size);

/* Replaces each @NAME@ of text with the value given for NAME in vars ("NAME", "value", ...,
 * NULL). A placeholder with no value is a bug in the caller: -EINVAL, logged. "@@" is a
 * literal '@'. */
int template_expand(const char *name, const char *text, const char *const *vars, char **ret);
