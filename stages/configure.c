/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "configure": turns the unpacked packages into an installed system, then applies the
 * recipe's system settings, as debootstrap's second stage and an installer's last steps do.
 * How the scripts run (userns, vm, first-boot) is packages.configure (core/target.h).
 *
 * Written offline, before the maintainer scripts run (which then keep them):
 * system:
 *   hostname: usbkey         /etc/hostname, and /etc/hosts with localhost and this name
 *   hosts: ["10.0.0.1 nas"]  more /etc/hosts lines
 *   timezone: Europe/Paris   /etc/timezone and /etc/localtime (tzdata must be installed)
 *   locale: en_US.UTF-8      /etc/default/locale; generated with locale-gen unless it is
 *                            C, C.UTF-8 or POSIX (then the locales package is needed)
 *   apt-sources: true        apt's sources for the recipe's http(s) mirrors and suites
 *                            (default true): /etc/apt/sources.list.d/debian.sources (deb822)
 *                            for trixie and later, /etc/apt/sources.list for bookworm and
 *                            earlier; false; or a list of sources.list lines
 *   init: sysvinit           sysvinit (sysvinit-core), systemd (systemd-sysv) or busybox
 *                            (/sbin/init -> busybox); the package is added to the set
 *   root-password: {hash: '$y$...'}   a crypt(5) hash, or "!" to lock the account
 *   root-password: {file: root.pw}    a file of the build host holding the password in
 *                            clear; hashed with yescrypt (the salt comes from the seed
 *                            when there is one); the password never reaches the image
 *   users:                   accounts made with useradd -m after configuration:
 *     - {name: ada, uid: 1000, groups: [sudo], shell: /bin/bash, password: {file: ada.pw}}
 *       sudo: true             the same as groups: [sudo]; needs sudo in packages.include
 * inittab:                   /etc/inittab for sysvinit and busybox init (seed 004)
 *   default-runlevel: 2      the initdefault line (sysvinit)
 *   gettys: [tty1, ttyS0]    a getty on each; ttyS* at 115200 vt100; an entry can also be
 *                            {tty: ttyS0, command: "/sbin/getty -L ttyS0 9600 vt100"}
 *   ctrlaltdel: "/sbin/shutdown -t1 -a -r now"   what Ctrl-Alt-Del runs; false: nothing
 *   lines: ["mt::sysinit:/bin/mount -a -t tmpfs"]   more id:runlevels:action:process lines
 * Run in the target after the maintainer scripts:
 * services: {enable: [ssh], disable: [cron]}
 *                            update-rc.d enable/disable (S links become K links), or
 *                            systemctl enable/disable with systemd
 *
 * The maintainer scripts: the preinsts first (dpkg --unpack would have run them), then
 * `dpkg --configure` of base-passwd and base-files, then of everything, with a policy-rc.d
 * that answers 101 so no daemon starts, and no fsync (the image is written at the end).
 * With initramfs-tools, each kernel's initramfs is made once, after the last package. */
#include <crypt.h>
#include <ctype.h>
#include <inttypes.h>
#include <sys/utsname.h>

#include "target.h"
#include "log.h"
#include "secret.h"
#include "stage.h"


struct password {
	const char *hash;  /* given */
	char *file;        /* resolved host path */
	char *made;        /* hashed from file */
	const struct node *node;
};

struct user {
	const char *name;
	uint64_t uid;
	bool uid_set;
	char **groups;
	const char *shell;
	struct password pw;
	const struct node *node;
	const struct node *sudo_node; /* sudo: true (the user is in group sudo) */
};

struct getty {
	const char *tty;
	const char *command;
};

struct configure_priv {
	/* system */
	const char *hostname, *timezone, *locale;
	char **hosts;
	int apt;          /* -1: default */
	char **apt_lines;
	int init;         /* enum init_system (core/build.h), published as b->init */
	struct password root;
	struct user *users;
	size_t n_users;
	/* inittab */
	bool inittab;
	char runlevel;
	struct getty *gettys;
	size_t n_gettys;
	const char *ctrlaltdel; /* NULL: default; "": none */
	char **inittab_lines;
	/* services */
	char **enable, **disable;
	const struct node *node, *system_node, *services_node;
};

/* Characters a crypt(5) hash is made of; anything else could break out of the script. */
static bool hash_ok(const char *h)
{
	if (streq(h, "!") || streq(h, "*"))
		return true;
	if (h[0] != '$' || strlen(h) > 512)
		return false;
	return strspn(h, "$./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=,+-")
	       == strlen(h);
}

static bool name_ok(const char *s)
{
	/* useradd's default NAME_REGEX, roughly: lowercase, digits, _ and - */
	if (!s[0] || strlen(s) > 32 || !(islower(s[0]) || s[0] == '_'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

static bool word_ok(const char *s)
{
	/* service names, groups, ttys: no shell metacharacters */
	return s[0] && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@:+-")
	       == strlen(s);
}

static bool path_ok(const char *s)
{
	return s[0] == '/' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_./+-") == strlen(s);
}

static int parse_password(const struct node *n, struct password *pw)
{
	const struct node *h, *f;
	int r;

	pw->node = n;
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	h = node_get(n, "hash");
	f = node_get(n, "file");
	if (!!h == !!f)
		return node_error(n, "give either hash: (a crypt(5) hash, e.g. from `mkpasswd -m "
				  "yescrypt`) or file: (a file holding the password)");
	if (h) {
		if ((r = node_get_string(h, &pw->hash)) < 0)
			return r;
		if (!hash_ok(pw->hash))
			return node_error(h, "not a crypt(5) hash (like '$y$j9T$...' from `mkpasswd "
					  "-m yescrypt`, or '!' to lock the account); to give the "
					  "password itself use file:");
	} else {
		const char *s;

		if ((r = node_get_string(f, &s)) < 0)
			return r;
		pw->file = node_path_resolve(f, s);
	}
	return 0;
}

#define WORD_HINT "is not a valid name here (letters, digits and _.@:+- only)"

static int parse_system(struct configure_priv *c, const struct node *n)
{
	const struct node *v;
	int r;

	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	if ((v = node_get(n, "hostname"))) {
		if ((r = node_get_string(v, &c->hostname)) < 0)
			return r;
		/* RFC 1123 labels */
		if (!c->hostname[0] || strlen(c->hostname) > 63 || c->hostname[0] == '-' ||
		    strspn(c->hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-") != strlen(c->hostname))
			return node_error(v, "'%s' is not a host name (letters, digits and '-', at "
					  "most 63)", c->hostname);
	}
	if ((v = node_get(n, "hosts")) && (r = node_get_strv(v, &c->hosts)) < 0)
		return r;
	for (size_t i = 0; c->hosts && c->hosts[i]; i++)
		if (strchr(c->hosts[i], '\n'))
			return node_error(v, "one line per entry");
	if ((v = node_get(n, "timezone"))) {
		if ((r = node_get_string(v, &c->timezone)) < 0)
			return r;
		if (!c->timezone[0] || c->timezone[0] == '/' || strstr(c->timezone, "..") ||
		    strspn(c->timezone, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789_/+-") != strlen(c->timezone))
			return node_error(v, "'%s' is not a time zone name (like Europe/Paris or "
					  "UTC)", c->timezone);
	}
	if ((v = node_get(n, "locale"))) {
		if ((r = node_get_string(v, &c->locale)) < 0)
			return r;
		if (!c->locale[0] ||
		    strspn(c->locale, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789_.@-") != strlen(c->locale))
			return node_error(v, "'%s' is not a locale name (like en_US.UTF-8)",
					  c->locale);
	}
	c->apt = -1;
	if ((v = node_get(n, "apt-sources"))) {
		if (v->kind == NODE_SCALAR) {
			bool on;

			if ((r = node_get_bool(v, &on)) < 0)
				return r;
			c->apt = on;
		} else {
			if ((r = node_get_strv(v, &c->apt_lines)) < 0)
				return r;
			c->apt = 1;
		}
	}
	c->init = INIT_UNSET;
	if ((v = node_get(n, "init")) && (r = node_get_enum(v, init_system_names, &c->init)) < 0)
		return r;
	if ((v = node_get(n, "root-password")) && (r = parse_password(v, &c->root)) < 0)
		return r;
	if ((v = node_get(n, "users"))) {
		if ((r = node_expect(v, NODE_SEQ)) < 0)
			return r;
		c->users = xcalloc(v->n + 1, sizeof(*c->users));
		for (size_t i = 0; i < v->n; i++) {
			const struct node *e = v->items[i], *x;
			struct user *u = &c->users[c->n_users++];

			u->node = e;
			if ((r = node_expect(e, NODE_MAP)) < 0)
				return r;
			if (!(x = node_get(e, "name")))
				return node_error(e, "a user needs a name");
			if ((r = node_get_string(x, &u->name)) < 0)
				return r;
			if (!name_ok(u->name))
				return node_error(x, "'%s' is not a user name (lowercase letters, "
						  "digits, _ and -, at most 32)", u->name);
			for (size_t j = 0; j < i; j++)
				if (streq(c->users[j].name, u->name))
					return node_error(x, "user '%s' is given twice", u->name);
			if ((x = node_get(e, "uid"))) {
				if ((r = node_get_u64(x, 1, 60000, &u->uid)) < 0)
					return r;
				u->uid_set = true;
			}
			if ((x = node_get(e, "groups")) &&
			    (r = node_get_words(x, word_ok, WORD_HINT, &u->groups, NULL)) < 0)
				return r;
			if ((x = node_get(e, "sudo"))) {
				bool sudo;

				if ((r = node_get_bool(x, &sudo)) < 0)
					return r;
				if (sudo && !strv_contains(u->groups, "sudo"))
					u->groups = strv_append(u->groups, "sudo");
				if (sudo)
					u->sudo_node = x;
			}
			if ((x = node_get(e, "shell"))) {
				if ((r = node_get_string(x, &u->shell)) < 0)
					return r;
				if (!path_ok(u->shell))
					return node_error(x, "'%s' is not an absolute path",
							  u->shell);
			}
			if ((x = node_get(e, "password")) && (r = parse_password(x, &u->pw)) < 0)
				return r;
		}
	}
	return 0;
}

static int parse_inittab(struct configure_priv *c, const struct node *n)
{
	const struct node *v;
	int r;

	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	c->inittab = true;
	c->runlevel = '2';
	if ((v = node_get(n, "default-runlevel"))) {
		const char *s;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (strlen(s) != 1 || !strchr("12345", s[0]))
			return node_error(v, "'%s' is not a runlevel for initdefault (1 to 5; 0 "
					  "halts and 6 reboots)", s);
		c->runlevel = s[0];
	}
	if ((v = node_get(n, "gettys"))) {
		if ((r = node_expect(v, NODE_SEQ)) < 0)
			return r;
		c->gettys = xcalloc(v->n + 1, sizeof(*c->gettys));
		for (size_t i = 0; i < v->n; i++) {
			const struct node *e = v->items[i], *x;
			struct getty *g = &c->gettys[c->n_gettys++];

			if (e->kind == NODE_MAP) {
				if (!(x = node_get(e, "tty")))
					return node_error(e, "a getty needs a tty");
				if ((r = node_get_string(x, &g->tty)) < 0)
					return r;
				if ((x = node_get(e, "command")) &&
				    (r = node_get_string(x, &g->command)) < 0)
					return r;
			} else if ((r = node_get_string(e, &g->tty)) < 0) {
				return r;
			}
			if (startswith(g->tty, "/dev/"))
				g->tty += 5;
			if (!word_ok(g->tty) || strchr(g->tty, ':'))
				return node_error(e, "'%s' is not a terminal name (like tty1 or ttyS0)",
						  g->tty);
		}
	}
	if ((v = node_get(n, "ctrlaltdel"))) {
		bool on;

		if (v->kind == NODE_SCALAR && node_get_bool(v, &on) == 0 && !on)
			c->ctrlaltdel = "";
		else if ((r = node_get_string(v, &c->ctrlaltdel)) < 0)
			return r;
	}
	if ((v = node_get(n, "lines"))) {
		if ((r = node_get_strv(v, &c->inittab_lines)) < 0)
			return r;
		for (size_t i = 0; c->inittab_lines[i]; i++) {
			const char *l = c->inittab_lines[i];
			size_t colons = 0;

			for (const char *p = l; *p; p++)
				colons += *p == ':';
			if (colons < 3 || strchr(l, '\n'))
				return node_error(v, "'%s' is not an inittab line "
						  "(id:runlevels:action:process)", l);
		}
	}
	return 0;
}

static int configure_parse(struct build *b, void **ret_priv)
{
	const struct node *root = b->recipe->root, *v, *x;
	struct configure_priv *c;
	int r;

	c = xcalloc(1, sizeof(*c));
	*ret_priv = c;
	c->apt = -1;
	c->init = INIT_UNSET;
	c->system_node = node_get(root, "system");
	if (c->system_node && (r = parse_system(c, c->system_node)) < 0)
		return r;
	b->init = c->init;
	b->init_node = node_get(c->system_node, "init");
	if ((v = node_get(root, "inittab")) && (r = parse_inittab(c, v)) < 0)
		return r;
	if ((v = node_get(root, "services"))) {
		c->services_node = v;
		if ((r = node_expect(v, NODE_MAP)) < 0)
			return r;
		if ((x = node_get(v, "enable")) &&
		    (r = node_get_words(x, word_ok, WORD_HINT, &c->enable, NULL)) < 0)
			return r;
		if ((x = node_get(v, "disable")) &&
		    (r = node_get_words(x, word_ok, WORD_HINT, &c->disable, NULL)) < 0)
			return r;
	}
	c->node = c->system_node ? c->system_node : v;
	if (!b->packages) {
		const struct node *any = c->system_node ? c->system_node
				       : node_get(root, "inittab") ? node_get(root, "inittab")
				       : c->services_node;

		if (any)
			return node_error(any, "system:, inittab: and services: need a Debian root "
					  "(add packages:)");
		return 0;
	}
	return 1;
}

/* What needs the maintainer scripts to have run. */
static const struct node *needs_scripts(const struct configure_priv *c, const struct build *b)
{
	const struct node *s = c->system_node;

	if (node_get(s, "root-password"))
		return node_get(s, "root-password");
	if (node_get(s, "users"))
		return node_get(s, "users");
	if (c->services_node)
		return c->services_node;
	if (c->locale && !streq(c->locale, "C") && !streq(c->locale, "C.UTF-8") &&
	    !streq(c->locale, "POSIX"))
		return node_get(s, "locale");
	return NULL;
}

static int configure_verify(struct build *b, void *priv)
{
	struct configure_priv *c = priv;
	const struct node *n;
	int r;

	for (size_t i = 0; i < c->n_users; i++)
		if (c->users[i].sudo_node && !strv_contains(b->packages_include, "sudo"))
			return node_error(c->users[i].sudo_node, "sudo: true needs the sudo package: "
					  "add sudo to packages.include");
	for (size_t i = 0; i <= c->n_users; i++) {
		const struct password *pw = i < c->n_users ? &c->users[i].pw : &c->root;

		/* Read later (in locked memory); a missing file is said now, before downloads. */
		if (pw->file && access(pw->file, R_OK) < 0)
			return node_error(node_get(pw->node, "file"), "cannot read password file "
					  "'%s': %s", pw->file, strerror(errno));
	}
	if (b->configure == CONFIGURE_NONE && (n = needs_scripts(c, b)))
		return node_error(n, "this needs the configured system, and packages.configure is "
				  "none (use auto, userns, vm or first-boot)");
	if (c->inittab && c->init == INIT_SYSTEMD)
		return node_error(node_get(b->recipe->root, "inittab"), "inittab: is for sysvinit "
				  "and busybox init; with systemd, use services:");
	/* Every stage's facts are settled (a kernel, the initramfs, encrypted partitions), so
	 * whether the mode can work here is known now. */
	if (b->configure != CONFIGURE_NONE && (r = target_resolve_mode(b)) < 0)
		return r;
	return 0;
}

static int configure_plan(struct build *b, void *priv, FILE *out)
{
	int r = target_resolve_mode(b);

	if (r < 0)
		return r;
	fprintf(out, "configure: %s\n", configure_mode_names[b->configure]);
	return 0;
}

/* Hashing a password from a file: yescrypt, salted from the seed when there is one. */
static int hash_password(struct build *b, const char *user, struct password *pw)
{
	_cleanup_(secret_freep) struct secret *s = NULL, *buf = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	uint8_t rnd[16];
	_cleanup_free_ char *purpose = xasprintf("password:%s", user);
	int r;

	if (!pw->file)
		return 0;
	r = secret_from_file(pw->file, true, &s);
	if (r < 0)
		return node_error(pw->node, "password of '%s': cannot use '%s'", user, pw->file);
	build_derive(b, purpose, rnd);
	if (!crypt_gensalt_rn("$y$", 0, (const char *)rnd, sizeof(rnd), setting,
			      sizeof(setting)))
		return log_errno(errno, "cannot make a yescrypt salt");
	/* crypt_data holds the password while hashing: locked memory, wiped when freed */
	buf = secret_new(sizeof(*cd));
	cd = (struct crypt_data *)buf->data;
	if (!crypt_rn((const char *)s->data, setting, cd, sizeof(*cd)) || cd->output[0] == '*') {
		r = log_errno(errno ? errno : EINVAL, "cannot hash the password of '%s'", user);
	} else {
		pw->made = xstrdup(cd->output);
		r = 0;
	}
	return r;
}

static const char *password_hash(const struct password *pw)
{
	return pw->made ? pw->made : pw->hash;
}

static struct tree_attr file_attr(const struct build *b, mode_t mode)
{
	return (struct tree_attr){ .mode = mode, .mtime = b->now };
}

static int write_text(struct build *b, const char *path, const char *text)
{
	struct tree_attr a = file_attr(b, 0644);
	int r = tree_write(b->tree, path, &a, text, strlen(text));

	if (r < 0)
		return log_errno(r, "cannot write %s into the image", path);
	return 0;
}

static char *inittab_text(const struct configure_priv *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool bb = c->init == INIT_BUSYBOX;

	fputs("# /etc/inittab: init(8) configuration, written by mkbootmedia (see inittab(5)).\n",
	      f);
	if (bb) {
		fputs("# BusyBox init: <tty>::<action>:<process>; runlevels are ignored.\n"
		      "::sysinit:/bin/mount -t proc proc /proc\n"
		      "::sysinit:/bin/mount -a\n"
		      "::sysinit:/bin/hostname -F /etc/hostname\n", f);
	} else {
		fprintf(f, "# Runlevel %c is the default; S is single-user, 0 halts, 6 reboots.\n"
			"id:%c:initdefault:\n"
			"si::sysinit:/etc/init.d/rcS\n"
			"~~:S:wait:/sbin/sulogin --force\n", c->runlevel, c->runlevel);
		for (char l = '0'; l <= '6'; l++)
			fprintf(f, "l%c:%c:wait:/etc/init.d/rc %c\n", l, l, l);
	}
	if (!c->ctrlaltdel || c->ctrlaltdel[0])
		fprintf(f, "%s:ctrlaltdel:%s\n", bb ? ":" : "ca:12345",
			c->ctrlaltdel ? c->ctrlaltdel
			: bb ? "/sbin/reboot" : "/sbin/shutdown -t1 -a -r now");
	if (bb)
		fputs("::shutdown:/bin/umount -a -r\n", f);
	for (size_t i = 0; i < c->n_gettys; i++) {
		const struct getty *g = &c->gettys[i];
		_cleanup_free_ char *cmd = NULL, *id = NULL;

		if (g->command)
			cmd = xstrdup(g->command);
		else if (startswith(g->tty, "ttyS") || startswith(g->tty, "ttyAMA") ||
			 startswith(g->tty, "ttyUSB"))
			cmd = xasprintf("/sbin/getty -L %s 115200 vt100", g->tty);
		else
			cmd = xasprintf("/sbin/getty 38400 %s", g->tty);
		if (bb) {
			fprintf(f, "%s::respawn:%s\n", g->tty, cmd);
			continue;
		}
		/* sysvinit's ids: the seed's "1" for tty1, "T0" for ttyS0 (at most 4 chars) */
		if (startswith(g->tty, "tty") && g->tty[3] >= '0' && g->tty[3] <= '9')
			id = xasprintf("%.4s", g->tty + 3);
		else if (startswith(g->tty, "ttyS"))
			id = xasprintf("T%.3s", g->tty + 4);
		else
			id = xasprintf("g%zu", i);
		fprintf(f, "%s:2345:respawn:%s\n", id, cmd);
	}
	for (size_t i = 0; c->inittab_lines && c->inittab_lines[i]; i++)
		fprintf(f, "%s\n", c->inittab_lines[i]);
	fclose(f);
	return out;
}

/* Everything written offline, before the scripts. */
static int write_offline(struct build *b, struct configure_priv *c)
{
	int r;

	if (c->hostname) {
		_cleanup_free_ char *h = xasprintf("%s\n", c->hostname), *hosts = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&hosts, &len);

		fprintf(f, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n", c->hostname);
		for (size_t i = 0; c->hosts && c->hosts[i]; i++)
			fprintf(f, "%s\n", c->hosts[i]);
		fputs("\n# IPv6\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		      "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n", f);
		fclose(f);
		if ((r = write_text(b, "/etc/hostname", h)) < 0 ||
		    (r = write_text(b, "/etc/hosts", hosts)) < 0)
			return r;
	}
	if (c->timezone) {
		_cleanup_free_ char *zone = xasprintf("/usr/share/zoneinfo/%s", c->timezone);
		_cleanup_free_ char *text = xasprintf("%s\n", c->timezone);
		struct tree_attr a = file_attr(b, 0777);

		if (tree_exists(b->tree, zone) <= 0)
			return node_error(node_get(c->system_node, "timezone"), "time zone '%s': %s "
					  "is not in the image (add tzdata to packages.include, "
					  "or check the name)", c->timezone, zone);
		if ((r = write_text(b, "/etc/timezone", text)) < 0)
			return r;
		if ((r = tree_symlink(b->tree, "/etc/localtime", zone, &a)) < 0)
			return log_errno(r, "cannot write /etc/localtime");
	}
	if (c->locale) {
		_cleanup_free_ char *text = xasprintf("LANG=%s\n", c->locale);

		if ((r = write_text(b, "/etc/default/locale", text)) < 0)
			return r;
	}
	if (c->apt != 0 && (c->apt_lines || b->apt_sources)) {
		_cleanup_free_ char *text = NULL;

		if (c->apt_lines) {
			size_t len = 0;
			FILE *f = open_memstream(&text, &len);

			for (size_t i = 0; c->apt_lines[i]; i++)
				fprintf(f, "%s\n", c->apt_lines[i]);
			fclose(f);
		} else {
			text = xstrdup(b->apt_sources);
		}
		if ((r = write_text(b, c->apt_lines ? "/etc/apt/sources.list" : b->apt_sources_path,
				    text)) < 0)
			return r;
	}
	if (c->init == INIT_BUSYBOX) {
		struct tree_attr a = file_attr(b, 0777);

		if (tree_exists(b->tree, "/bin/busybox") <= 0)
			return node_error(node_get(c->system_node, "init"), "init: busybox needs "
					  "/bin/busybox (add busybox or busybox-static to "
					  "packages.include)");
		if ((r = tree_symlink(b->tree, "/sbin/init", "/bin/busybox", &a)) < 0)
			return log_errno(r, "cannot write /sbin/init");
	}
	if (c->inittab) {
		_cleanup_free_ char *text = inittab_text(c);

		if ((r = write_text(b, "/etc/inittab", text)) < 0)
			return r;
	}
	return 0;
}

char *target_script_prologue(const struct build *b)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputs("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	      "export HOME=/root LC_ALL=C.UTF-8 LANG=C.UTF-8 LANGUAGE= TERM=dumb\n"
	      "export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true\n"
	      "export DEBIAN_PRIORITY=critical\n"
	      "unset TMPDIR\n"
	      "cd /\n", f);
	if (b->clamp_mtime)
		fprintf(f, "export SOURCE_DATE_EPOCH=%lld\n", (long long)b->now);
	/* In the user namespace the scripts run as in a chroot build; systemd's own test
	 * (comparing / with /proc/1/root) cannot read the host's PID 1 there. */
	if (b->configure == CONFIGURE_USERNS)
		fputs("export SYSTEMD_IN_CHROOT=1\n", f);
	fclose(f);
	return out;
}

static char *configure_script(struct build *b, struct configure_priv *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	_cleanup_free_ char *pro = target_script_prologue(b);

	fputs("set -e\n", f);
	fputs(pro, f);
	fputs("mkb_say() { printf '==> %s\\n' \"$*\"; }\n"
	      /* no daemon starts (invoke-rc.d asks policy-rc.d) */
	      "printf '#!/bin/sh\\n# mkbootmedia: no daemon starts while the image is built\\n"
	      "exit 101\\n' >/usr/sbin/policy-rc.d\n"
	      "chmod 755 /usr/sbin/policy-rc.d\n"
	      /* no fsync: nothing is on a disk until the build ends */
	      "mkdir -p /etc/dpkg/dpkg.cfg.d\n"
	      "printf 'force-unsafe-io\\n' >/etc/dpkg/dpkg.cfg.d/mkbootmedia-unsafe-io\n"
	      "if [ -e /var/lib/dpkg/info/dpkg.list ] && "
	      "dpkg-query -W -f='${db:Status-Abbrev}\\n' dpkg | grep -q '^iU'; then\n"
	      "  mkb_say preinst\n"
	      "  early='base-passwd base-files dpkg libc6 perl-base mawk debconf'\n"
	      "  mkb_preinst() {\n"
	      "    p=${1%%:*}\n"
	      "    DPKG_MAINTSCRIPT_PACKAGE=$p DPKG_MAINTSCRIPT_NAME=preinst \\\n"
	      "    DPKG_MAINTSCRIPT_ARCH=$(dpkg --print-architecture) DPKG_ADMINDIR=/var/lib/dpkg \\\n"
	      "    DPKG_ROOT= DPKG_RUNNING_VERSION=$(dpkg-query -W -f='${Version}' dpkg) \\\n"
	      "      /var/lib/dpkg/info/$1.preinst install\n"
	      "  }\n"
	      "  for p in $early; do\n"
	      "    for f in /var/lib/dpkg/info/$p.preinst /var/lib/dpkg/info/$p:*.preinst; do\n"
	      "      [ -e \"$f\" ] || continue; f=${f##*/}; mkb_preinst \"${f%.preinst}\"\n"
	      "    done\n"
	      "  done\n"
	      "  for f in /var/lib/dpkg/info/*.preinst; do\n"
	      "    [ -e \"$f\" ] || continue; f=${f##*/}; f=${f%.preinst}\n"
	      "    case \" $early \" in *\" ${f%%:*} \"*) continue;; esac\n"
	      "    mkb_preinst \"$f\"\n"
	      "  done\n"
	      "fi\n"
	      /* Debian's kernel hook makes each kernel's initramfs, and initramfs-tools'
	       * trigger makes it again once every package is configured. Only the second
	       * counts: the hook is told to skip (its INITRD=No test) and the initramfs is
	       * made once, below, from the configured system (as mkosi runs kernel-install
	       * once, after its packages). */
	      "mkb_initrd_later=\n"
	      "if [ -z \"${INITRD:-}\" ] && { [ -e /etc/kernel/postinst.d/initramfs-tools ] ||\n"
	      "  [ -e /etc/kernel/postinst.d/initramfs-tools.dpkg-new ]; }; then\n"
	      "  export INITRD=No; mkb_initrd_later=1\n"
	      "fi\n"
	      "mkb_say dpkg --configure\n"
	      "for p in base-passwd base-files; do\n"
	      "  if dpkg-query -W -f='${db:Status-Abbrev}' $p 2>/dev/null | grep -q '^iU'; then\n"
	      "    dpkg --force-depends --force-confdef --force-confold --configure $p\n"
	      "  fi\n"
	      "done\n"
	      "dpkg --configure --pending --force-configure-any --force-depends "
	      "--force-confdef --force-confold\n"
	      "dpkg --configure -a --force-confdef --force-confold\n"
	      "if [ -n \"$mkb_initrd_later\" ]; then\n"
	      "  unset INITRD\n"
	      "  for v in $(linux-version list 2>/dev/null | linux-version sort); do\n"
	      "    [ ! -e /boot/initrd.img-$v ] || continue\n"
	      "    mkb_say update-initramfs -c -k $v\n"
	      "    update-initramfs -c -k \"$v\"\n"
	      "  done\n"
	      "fi\n",
	      f);
	if (c->locale && !streq(c->locale, "C") && !streq(c->locale, "C.UTF-8") &&
	    !streq(c->locale, "POSIX")) {
		fputs("mkb_say locale-gen\nmkb_locale=", f);
		fput_quoted(f, c->locale);
		fputs("\nif ! command -v locale-gen >/dev/null; then\n"
		      "  echo \"locale $mkb_locale: locale-gen is missing (add locales to "
		      "packages.include)\" >&2; exit 1\nfi\n"
		      "mkb_line=$(grep -m1 \"^$mkb_locale \" /usr/share/i18n/SUPPORTED) || {\n"
		      "  echo \"locale $mkb_locale is not in /usr/share/i18n/SUPPORTED\" >&2; exit 1; }\n"
		      "grep -qx \"$mkb_line\" /etc/locale.gen || echo \"$mkb_line\" >>/etc/locale.gen\n"
		      "locale-gen\n", f);
	}
	for (size_t i = 0; i < c->n_users; i++) {
		const struct user *u = &c->users[i];

		fprintf(f, "mkb_say user %s\n", u->name);
		fputs("useradd -m", f);
		if (u->uid_set)
			fprintf(f, " -u %" PRIu64, u->uid);
		if (u->groups && u->groups[0]) {
			fputs(" -G ", f);
			for (size_t j = 0; u->groups[j]; j++)
				fprintf(f, "%s%s", j ? "," : "", u->groups[j]);
		}
		if (u->shell)
			fprintf(f, " -s %s", u->shell);
		fprintf(f, " %s\n", u->name);
	}
	/* Hashes go through stdin, never a command line. */
	if (password_hash(&c->root) || c->n_users) {
		bool any = false;

		for (size_t i = 0; i < c->n_users; i++)
			any |= !!password_hash(&c->users[i].pw);
		if (password_hash(&c->root) || any) {
			fputs("mkb_say passwords\nchpasswd -e <<'MKB_PASSWORDS'\n", f);
			if (password_hash(&c->root))
				fprintf(f, "root:%s\n", password_hash(&c->root));
			for (size_t i = 0; i < c->n_users; i++)
				if (password_hash(&c->users[i].pw))
					fprintf(f, "%s:%s\n", c->users[i].name,
						password_hash(&c->users[i].pw));
			fputs("MKB_PASSWORDS\n", f);
		}
	}
	for (char **l = c->enable; l && *l; l++)
		fprintf(f, "mkb_say enable %s\n"
			"if [ -d /run/systemd/system ] || [ \"$(readlink /sbin/init)\" = "
			"../lib/systemd/systemd ] || [ \"$(readlink -f /sbin/init)\" = "
			"/usr/lib/systemd/systemd ]; then systemctl enable %s; "
			"else update-rc.d %s defaults; update-rc.d %s enable; fi\n", *l, *l, *l, *l);
	for (char **l = c->disable; l && *l; l++)
		fprintf(f, "mkb_say disable %s\n"
			"if [ \"$(readlink -f /sbin/init)\" = /usr/lib/systemd/systemd ]; then "
			"systemctl disable %s; else update-rc.d %s disable; fi\n", *l, *l, *l);
	fputs("rm -f /usr/sbin/policy-rc.d /etc/dpkg/dpkg.cfg.d/mkbootmedia-unsafe-io\n", f);
	fputs(TARGET_SCRIPT_CLEANUP, f);
	fclose(f);
	return out;
}

static int configure_run(struct build *b, void *priv)
{
	struct configure_priv *c = priv;
	_cleanup_free_ char *script = NULL;
	int r;

	if ((r = target_resolve_mode(b)) < 0)
		return r;
	if ((r = hash_password(b, "root", &c->root)) < 0)
		return r;
	for (size_t i = 0; i < c->n_users; i++)
		if ((r = hash_password(b, c->users[i].name, &c->users[i].pw)) < 0)
			return r;
	if ((r = write_offline(b, c)) < 0)
		return r;
	if (b->configure == CONFIGURE_NONE) {
		const struct node *n = needs_scripts(c, b);

		if (n)
			return node_error(n, "this needs the configured system, and the package set "
					  "has no dpkg to configure it (add dpkg to packages.include)");
		return 0;
	}
	script = configure_script(b, c);
	return target_script(b, "configure", script, TARGET_SCRATCH_TMP);
}

static void password_free(struct password *pw)
{
	free(pw->file);
	if (pw->made)
		explicit_bzero(pw->made, strlen(pw->made));
	free(pw->made);
}

static void configure_free(void *priv)
{
	struct configure_priv *c = priv;

	strv_free(c->hosts);
	strv_free(c->apt_lines);
	password_free(&c->root);
	for (size_t i = 0; i < c->n_users; i++) {
		strv_free(c->users[i].groups);
		password_free(&c->users[i].pw);
	}
	free(c->users);
	free(c->gettys);
	strv_free(c->inittab_lines);
	strv_free(c->enable);
	strv_free(c->disable);
	free(c);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key configure_key_table[] = {
	{ "system", "map", NULL, NULL, "the installed system's settings" },
	{ "system.hostname", "string", "none", NULL,
	  "/etc/hostname, and /etc/hosts with localhost and it" },
	{ "system.hosts", "list", "none", NULL, "more /etc/hosts lines" },
	{ "system.timezone", "string", "none", NULL,
	  "/etc/timezone and /etc/localtime (tzdata must be installed)" },
	{ "system.locale", "string", "none", NULL,
	  "/etc/default/locale; locale-gen unless C, C.UTF-8 or POSIX" },
	{ "system.apt-sources", "bool or list", "true", NULL,
	  "apt's sources for the recipe's http(s) suites (debian.sources, deb822, for trixie and "
	  "later; sources.list before); false; or a list of sources.list lines" },
	{ "system.init", "enum", "none", init_system_names,
	  "sysvinit (adds sysvinit-core), systemd (systemd-sysv), busybox (/sbin/init -> "
	  "busybox)" },
	{ "system.root-password", "map", "none", NULL, "{hash: CRYPT} or {file: HOST-FILE}" },
	{ "system.root-password.hash", "string", "none", NULL, "a crypt(5) hash; ! locks" },
	{ "system.root-password.file", "path", "none", NULL,
	  "the password in clear on the build host, hashed with yescrypt" },
	{ "system.users", "list", "none", NULL, "accounts made with useradd -m" },
	{ "system.users[].name", "string", "required", NULL, "the login name" },
	{ "system.users[].uid", "number", "useradd's", NULL, "the user id" },
	{ "system.users[].groups", "list", "none", NULL, "supplementary groups" },
	{ "system.users[].sudo", "bool", "false", NULL,
	  "true: in group sudo, so sudo gives root (add sudo to packages.include)" },
	{ "system.users[].shell", "path", "useradd's", NULL, "the login shell" },
	{ "system.users[].password", "map", "locked", NULL, "{hash} or {file}, as root-password" },
	{ "system.users[].password.hash", "string", "none", NULL, "a crypt(5) hash" },
	{ "system.users[].password.file", "path", "none", NULL, "the password in clear" },
	{ "inittab", "map", NULL, NULL, "/etc/inittab (sysvinit; busybox init's own format)" },
	{ "inittab.default-runlevel", "number", "2", NULL, "the initdefault line (sysvinit)" },
	{ "inittab.gettys", "list", "none", NULL,
	  "a getty on each tty; ttyS* at 115200 vt100; or {tty, command}" },
	{ "inittab.gettys[].tty", "string", "required", NULL, "the terminal" },
	{ "inittab.gettys[].command", "string", "a getty", NULL, "what runs on it" },
	{ "inittab.ctrlaltdel", "string", "/sbin/shutdown -t1 -a -r now", NULL,
	  "what Ctrl-Alt-Del runs; false: nothing" },
	{ "inittab.lines", "list", "none", NULL, "more id:runlevels:action:process lines" },
	{ "services", "map", NULL, NULL, "services to enable or disable after configuring" },
	{ "services.enable", "list", "none", NULL, "update-rc.d enable, or systemctl enable" },
	{ "services.disable", "list", "none", NULL,
	  "S links become K links, or systemctl disable" },
	{ NULL },
};

const struct stage stage_configure = {
	.name = "configure",
	.key_table = configure_key_table,
	.summary = "the maintainer scripts run, then users, passwords, inittab and services",
	.parse = configure_parse,
	.verify = configure_verify,
	.plan = configure_plan,
	.run = configure_run,
	.free = configure_free,
};
