/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "identity": no machine's identity in the image. An image is copied to many keys, and
 * builds are reproducible, so identical bytes must not mean identical secrets: what makes one
 * machine itself is made on each key's first boot instead.
 *
 * identity: per-device       per-device (the default), or image: keep what the maintainer
 *                            scripts, files: and run: made (one identity for every copy)
 *
 * per-device, after run: (so it also covers what the recipe's steps made), in a configured
 * root (with configure: none nothing made an identity, and the root stays as unpacked):
 *  - /etc/machine-id is "uninitialized" with systemd (its first-boot semantics: PID 1 makes
 *    one and commits it), empty otherwise; /var/lib/dbus/machine-id is removed unless it is
 *    the usual symlink to it;
 *  - systemd's random seed and credential secret are removed;
 *  - SSH host keys are removed, and where openssh-server is installed a boot-time job makes
 *    new ones (ssh-keygen -A) before sshd starts: a systemd unit, or an init script for
 *    sysvinit. */
#include "log.h"
#include "stage.h"

enum identity_mode { IDENTITY_PER_DEVICE, IDENTITY_IMAGE };
static const char *const identity_names[] = { "per-device", "image", NULL };

#define KEYGEN_UNIT "mkbootmedia-ssh-host-keys.service"
#define KEYGEN_SCRIPT "mkbootmedia-ssh-host-keys"

static const char keygen_unit[] =
	"# Written by mkbootmedia: this machine's own SSH host keys, made on its first boot\n"
	"# (the image holds none, so every key flashed from it gets its own).\n"
	"[Unit]\n"
	"Description=Make this machine's SSH host keys\n"
	"DefaultDependencies=no\n"
	"After=local-fs.target\n"
	"Before=ssh.service sshd.service\n"
	"ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/bin/ssh-keygen -A\n"
	"\n"
	"[Install]\n"
	"WantedBy=ssh.service\n";

static const char keygen_script[] =
	"#!/bin/sh\n"
	"### BEGIN INIT INFO\n"
	"# Provides:          " KEYGEN_SCRIPT "\n"
	"# Required-Start:    $local_fs\n"
	"# Required-Stop:\n"
	"# X-Start-Before:    ssh\n"
	"# Default-Start:     2 3 4 5\n"
	"# Default-Stop:\n"
	"# Short-Description: this machine's own SSH host keys (written by mkbootmedia)\n"
	"### END INIT INFO\n"
	"# The image holds no SSH host keys, so every key flashed from it makes its own.\n"
	"case \"$1\" in\n"
	"start)\n"
	"\tfor k in /etc/ssh/ssh_host_*_key; do [ -e \"$k\" ] && exit 0; done\n"
	"\t[ -x /usr/bin/ssh-keygen ] && /usr/bin/ssh-keygen -A\n"
	"\t;;\n"
	"esac\n"
	"exit 0\n";

struct identity_priv {
	enum identity_mode mode;
};

static int identity_parse(struct build *b, void **ret_priv)
{
	const struct node *n = node_get(b->recipe->root, "identity");
	struct identity_priv *p;
	int mode = IDENTITY_PER_DEVICE, r;

	if (n && (r = node_get_enum(n, identity_names, &mode)) < 0)
		return r;
	if (!b->packages) {
		if (n)
			return node_error(n, "identity is about a Debian root's machine id and SSH "
					  "keys, and the recipe has no packages:");
		return 0;
	}
	if (mode == IDENTITY_IMAGE)
		return 0;
	p = xcalloc(1, sizeof(*p));
	p->mode = mode;
	*ret_priv = p;
	return 1;
}

static int identity_plan(struct build *b, void *priv, FILE *out)
{
	if (b->configure == CONFIGURE_NONE)
		return 0;
	fputs("identity:\n  per-device: no machine-id, random seed or SSH host keys in the image; "
	      "made on each key's first boot\n", out);
	return 0;
}

/* Removes path when it exists (a symlink itself, not what it points at). */
static int remove_if_there(struct build *b, const char *path)
{
	int r = tree_remove(b->tree, path);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_errno(r, "cannot remove '%s' from the target", path);
	log_debug("removed %s", path);
	return 1;
}

static int remove_host_keys(struct build *b, unsigned *ret_n)
{
	_cleanup_free_ struct tree_dirent *d = NULL;
	size_t n = 0;
	int r = tree_list(b->tree, "/etc/ssh", &d, &n);

	*ret_n = 0;
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return log_errno(r, "cannot list /etc/ssh of the target");
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *path = NULL;

		if (!startswith(d[i].name, "ssh_host_") ||
		    (!endswith(d[i].name, "_key") && !endswith(d[i].name, "_key.pub")))
			continue;
		path = xasprintf("/etc/ssh/%s", d[i].name);
		r = remove_if_there(b, path);
		if (r > 0)
			(*ret_n)++;
	}
	tree_dirents_free(TAKE_PTR(d), n);
	return r < 0 ? r : 0;
}

/* A boot-time job that makes the host keys, where sshd is installed. */
/* sysv-rc's makefile-style boot (startpar) starts only what insserv wrote into
 * /etc/init.d/.depend.start, in its order: the script joins TARGETS and ssh waits for it,
 * as insserv would have written it from the script's X-Start-Before. */
static int depend_start_add(struct build *b)
{
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *data = NULL, *out = NULL;
	size_t len = 0;
	bool ssh_line = false;
	FILE *f;
	int r = tree_read(b->tree, "/etc/init.d/.depend.start", 1u << 20, &data, NULL);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_errno(r, "cannot read /etc/init.d/.depend.start of the target");
	f = open_memstream(&out, &len);
	for (char *line = data, *end; *line; line = end + !!*end) {
		end = line + strcspn(line, "\n");
		fprintf(f, "%.*s", (int)(end - line), line);
		if (startswith(line, "TARGETS =") || startswith(line, "ssh:"))
			fputs(" " KEYGEN_SCRIPT, f);
		ssh_line |= startswith(line, "ssh:");
		fputc('\n', f);
	}
	if (!ssh_line)
		fputs("ssh: " KEYGEN_SCRIPT "\n", f);
	fclose(f);
	return tree_write(b->tree, "/etc/init.d/.depend.start", &file, out, len);
}

static int install_keygen(struct build *b, bool systemd)
{
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	const struct tree_attr exe = { .mode = 0755, .mtime = b->now };
	const struct tree_attr link = { .mode = 0777, .mtime = b->now };
	int r;

	if ((r = tree_exists(b->tree, "/usr/sbin/sshd")) <= 0)
		return r;
	if (systemd) {
		if ((r = tree_write(b->tree, "/etc/systemd/system/" KEYGEN_UNIT, &file, keygen_unit,
				    strlen(keygen_unit))) < 0 ||
		    (r = tree_symlink(b->tree, "/etc/systemd/system/ssh.service.wants/" KEYGEN_UNIT,
				      "/etc/systemd/system/" KEYGEN_UNIT, &link)) < 0)
			return r;
		log_info("SSH host keys are made on first boot (%s)", KEYGEN_UNIT);
		return 0;
	}
	if ((r = tree_write(b->tree, "/etc/init.d/" KEYGEN_SCRIPT, &exe, keygen_script,
			    strlen(keygen_script))) < 0)
		return r;
	for (char level = '2'; level <= '5'; level++) {
		_cleanup_free_ char *l = xasprintf("/etc/rc%c.d/S01" KEYGEN_SCRIPT, level);

		if ((r = tree_symlink(b->tree, l, "../init.d/" KEYGEN_SCRIPT, &link)) < 0)
			return r;
	}
	if ((r = depend_start_add(b)) < 0)
		return r;
	log_info("SSH host keys are made on first boot (/etc/init.d/%s)", KEYGEN_SCRIPT);
	return 0;
}

static int identity_run(struct build *b, void *priv)
{
	const struct tree_attr ro = { .mode = 0444, .mtime = b->now };
	struct tree_stat st;
	unsigned keys = 0;
	bool systemd;
	int r;

	/* Unconfigured, nothing made an identity (a missing machine-id is systemd's first boot
	 * too): the root stays as the packages unpacked it. */
	if (b->configure == CONFIGURE_NONE)
		return 0;
	r = tree_exists(b->tree, "/usr/lib/systemd/systemd");
	if (r < 0)
		return r;
	systemd = b->init == INIT_SYSTEMD || (b->init == INIT_UNSET && r > 0);
	/* systemd: "uninitialized" is its first boot (machine-id(5)); others: empty. */
	if ((r = tree_write(b->tree, "/etc/machine-id", &ro, systemd ? "uninitialized\n" : "",
			    systemd ? strlen("uninitialized\n") : 0)) < 0)
		return r;
	r = tree_lstat(b->tree, "/var/lib/dbus/machine-id", &st);
	if (r >= 0 && !S_ISLNK(st.mode) && (r = remove_if_there(b, "/var/lib/dbus/machine-id")) < 0)
		return r;
	if ((r = remove_if_there(b, "/var/lib/systemd/random-seed")) < 0 ||
	    (r = remove_if_there(b, "/var/lib/systemd/credential.secret")) < 0 ||
	    (r = remove_host_keys(b, &keys)) < 0 || (r = install_keygen(b, systemd)) < 0)
		return r;
	log_info("no machine identity in the image: machine-id %s%s", systemd ? "uninitialized" :
		 "empty", keys ? ", SSH host keys removed" : "");
	return 0;
}

/* Every key this stage reads (lib/recipe.h). */
static const struct recipe_key identity_key_table[] = {
	{ "identity", "enum", "per-device", identity_names,
	  "per-device: no machine-id, random seed or SSH host keys in the image, made on each "
	  "key's first boot; image: keep them (every copy shares them)" },
	{ NULL },
};

const struct stage stage_identity = {
	.name = "identity",
	.key_table = identity_key_table,
	.summary = "no machine identity in the image: machine-id, random seed, SSH host keys",
	.parse = identity_parse,
	.plan = identity_plan,
	.run = identity_run,
	.free = free,
};
