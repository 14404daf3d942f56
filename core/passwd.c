/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Owner and group names of the target: its /etc/passwd and /etc/group, then Debian's static
 * allocations. */
#include "passwd.h"

#include "tree.h"

/* Debian's static allocations (base-passwd's master files), used when the target has no
 * /etc/passwd or /etc/group yet, or does not list the name. */
static const struct {
	const char *name;
	unsigned id;
} base_users[] = {
	{ "root", 0 },	  { "daemon", 1 }, { "bin", 2 },	{ "sys", 3 },	 { "sync", 4 },
	{ "games", 5 },	  { "man", 6 },	   { "lp", 7 },		{ "mail", 8 },	 { "news", 9 },
	{ "uucp", 10 },	  { "proxy", 13 }, { "www-data", 33 }, { "backup", 34 }, { "list", 38 },
	{ "irc", 39 },	  { "nobody", 65534 },
}, base_groups[] = {
	{ "root", 0 },	    { "daemon", 1 },  { "bin", 2 },	    { "sys", 3 },     { "adm", 4 },
	{ "tty", 5 },	    { "disk", 6 },    { "lp", 7 },	    { "mail", 8 },    { "news", 9 },
	{ "uucp", 10 },	    { "man", 12 },    { "proxy", 13 },	    { "kmem", 15 },   { "dialout", 20 },
	{ "fax", 21 },	    { "voice", 22 },  { "cdrom", 24 },	    { "floppy", 25 }, { "tape", 26 },
	{ "sudo", 27 },	    { "audio", 29 },  { "dip", 30 },	    { "www-data", 33 }, { "backup", 34 },
	{ "operator", 37 }, { "list", 38 },   { "irc", 39 },	    { "src", 40 },    { "shadow", 42 },
	{ "utmp", 43 },	    { "video", 44 },  { "sasl", 45 },	    { "plugdev", 46 }, { "staff", 50 },
	{ "games", 60 },    { "users", 100 }, { "nogroup", 65534 },
};

static int parse_id(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Looks `name` up in a colon-separated database of the target ("/etc/passwd"): field 3. */
static int lookup_db(struct tree *t, const char *db, const char *name, unsigned *ret)
{
	_cleanup_free_ char *data = NULL;
	size_t nl = strlen(name);

	if (!t || tree_read(t, db, 16 << 20, &data, NULL) < 0)
		return -ENOENT;
	for (char *line = data; line && *line;) {
		char *next = strchr(line, '\n');

		if (next)
			*next++ = 0;
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			char *f = strchr(line + nl + 1, ':');

			if (f && parse_id(strndupa(f + 1, strcspn(f + 1, ":")), ret) == 0)
				return 0;
		}
		line = next;
	}
	return -ENOENT;
}

int passwd_resolve_user(struct tree *t, const char *name, uid_t *ret)
{
	unsigned id;

	if (parse_id(name, &id) == 0 || lookup_db(t, "/etc/passwd", name, &id) == 0) {
		*ret = id;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(base_users); i++)
		if (streq(base_users[i].name, name)) {
			*ret = base_users[i].id;
			return 0;
		}
	return -ENOENT;
}

int passwd_resolve_group(struct tree *t, const char *name, gid_t *ret)
{
	unsigned id;

	if (parse_id(name, &id) == 0 || lookup_db(t, "/etc/group", name, &id) == 0) {
		*ret = id;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(base_groups); i++)
		if (streq(base_groups[i].name, name)) {
			*ret = base_groups[i].id;
			return 0;
		}
	return -ENOENT;
}
