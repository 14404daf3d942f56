/* SPDX-License-Identifier: GPL-2.0-or-later */
/* deb822 control data: Packages and Release indices, .deb control files, dpkg's status.
 * Stanzas are separated by blank lines; a final stanza without a trailing blank line is
 * still a stanza (debootstrap drops it). Parsing is in place: the parser owns the text and
 * fields point into it, so a 50 MB Packages index parses without an allocation per field. */
#pragma once

#include "util.h"

struct deb822_field {
	const char *name;  /* as written ("Pre-Depends"); compare case-insensitively */
	const char *value; /* leading/trailing blanks removed; continuation lines joined with
			    * '\n', each with its leading blank removed ("." lines kept as ".") */
	unsigned line;     /* 1-based line of the field name */
};

struct deb822_stanza {
	struct deb822_field *fields;
	size_t n_fields;
	unsigned line; /* 1-based line of the first field */
};

struct deb822 {
	char *text; /* owned */
	struct deb822_stanza *stanzas;
	size_t n_stanzas;
};

/* Parses `text` (len bytes, need not be NUL-terminated; the parser takes ownership of the
 * malloc'ed buffer either way). `what` names the source in messages ("Packages for
 * bookworm/main", "control of 'foo.deb'"). Comment lines ("#") are skipped. A line that is
 * neither "Name: value", a continuation, nor blank is an error logged as
 * "what:LINE: ..." and returned as -EINVAL. A PGP-signed InRelease is not handled here. */
int deb822_parse(char *text, size_t len, const char *what, struct deb822 **ret);
/* The same without logging (for worker threads): the message goes to *ret_msg instead. */
int deb822_parse_quiet(char *text, size_t len, const char *what, char **ret_msg,
		       struct deb822 **ret);
/* Called with each stanza of deb822_parse_each(): 0 to go on, a negative errno to stop. */
typedef int (*deb822_stanza_fn)(const struct deb822_stanza *s, void *userdata);
/* Parses like deb822_parse(), but hands each stanza to fn as soon as it ends and keeps none,
 * so that a large index never holds all its fields at once: the stanza and its fields are
 * valid during the call only, the names and values (in the text) as long as *ret, which
 * holds the text and no stanzas. *ret_count (may be NULL): the number of stanzas. When fn
 * stops the parse, its value is returned (fn logs its own error). */
int deb822_parse_each(char *text, size_t len, const char *what, deb822_stanza_fn fn, void *userdata,
		      size_t *ret_count, struct deb822 **ret);
/* The same without logging (for worker threads), for a text that starts at line first_line
 * (1: the first) of what: a parse error's message goes to *ret_msg (free it), and fn's own
 * errors are fn's business. */
int deb822_parse_each_quiet(char *text, size_t len, const char *what, unsigned first_line,
			    deb822_stanza_fn fn, void *userdata, size_t *ret_count, char **ret_msg,
			    struct deb822 **ret);
struct deb822 *deb822_free(struct deb822 *d);

/* The field's value, or NULL; the name is compared case-insensitively. */
const char *deb822_get(const struct deb822_stanza *s, const char *name);
