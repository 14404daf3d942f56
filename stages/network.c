/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "network": a key that is a machine people reach: its wired network, and SSH logins
 * by key.
 *
 * system:
 *   network: dhcp            none (the default: networking left as the packages made it),
 *                            dhcp on every wired interface, or {address: 192.0.2.10/24,
 *                            gateway: 192.0.2.1, dns: [192.0.2.53]}. With systemd:
 *                            systemd-networkd (part of the systemd package). With
 *                            sysvinit: ifupdown, the interfaces named en* or eth* brought
 *                            up at boot (auto); it needs udev (drivers, names), and DHCP
 *                            isc-dhcp-client or dhcpcd-base
 *   ssh:
 *     authorized-keys: [...] root's ~/.ssh/authorized_keys: key lines ("ssh-ed25519 AAAA...
 *                            comment"), or {file: HOST-PATH} (relative to the recipe)
 *     password-authentication: false
 *                            sshd refuses passwords (and keyboard-interactive); true
 *                            allows them; absent: as packaged
 *   users:
 *     - name: ada
 *       authorized-keys: [...]  ada's ~/.ssh/authorized_keys, in the same forms (the
 *                            configure stage makes the user; this stage only reads these)
 *
 * SSH needs openssh-server in packages.include. The files are written after configure, so
 * the packages' own defaults are in place and the recipe's win. */
#include "log.h"
#include "stage.h"

#define NETWORK_FILE "/etc/systemd/network/80-mkbootmedia-wired.network"
#define IFUPDOWN_FILE "/etc/network/interfaces.d/mkbootmedia"
#define SSHD_DROPIN "/etc/ssh/sshd_config.d/50-mkbootmedia.conf"

enum network_mode { NETWORK_NONE, NETWORK_DHCP, NETWORK_STATIC };
static const char *const network_names[] = { "none", "dhcp", NULL };

struct network_priv {
	enum network_mode network;
	char *address, *gateway;
	char **dns;
	const struct node *network_node;
	bool ssh;
	char *authorized_keys; /* the file's content */
	int password_auth;     /* -1: as packaged */
	const struct node *ssh_node;
	struct user_keys {
		const char *name;
		char *keys;
		const struct node *node;
	} * user_keys; /* system.users[].authorized-keys */
	size_t n_user_keys;
};

static void network_free(void *priv)
{
	struct network_priv *p = priv;

	if (!p)
		return;
	free(p->address);
	free(p->gateway);
	strv_free(p->dns);
	free(p->authorized_keys);
	for (size_t i = 0; i < p->n_user_keys; i++)
		free(p->user_keys[i].keys);
	free(p->user_keys);
	free(p);
}

static void network_freep(struct network_priv **p)
{
	network_free(*p);
}

/* An address with an optional /prefix, IPv4 or IPv6: characters only; systemd-networkd
 * checks the rest at boot, so this keeps the file well-formed. */
static bool address_ok(const char *s, bool prefix)
{
	const char *slash = strchr(s, '/');

	if (!s[0] || strlen(s) > 64 || s[strspn(s, "0123456789abcdefABCDEF.:/")] ||
	    (slash && (!prefix || !slash[1] || strchr(slash + 1, '/'))))
		return false;
	return strchr(s, '.') || strchr(s, ':');
}

static int parse_network(struct network_priv *p, const struct node *n)
{
	const struct node *v;
	const char *s;
	int mode, r;

	p->network_node = n;
	if (n->kind == NODE_SCALAR) {
		if ((r = node_get_enum(n, network_names, &mode)) < 0)
			return r;
		p->network = mode;
		return 0;
	}
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	p->network = NETWORK_STATIC;
	if (!(v = node_get(n, "address")))
		return node_error(n, "a static network needs address: (e.g. 192.0.2.10/24), or "
				  "write network: dhcp");
	if ((r = node_get_string(v, &s)) < 0)
		return r;
	if (!address_ok(s, true) || !strchr(s, '/'))
		return node_error(v, "'%s' is not an address with its prefix length, e.g. "
				  "192.0.2.10/24", s);
	p->address = xstrdup(s);
	if ((v = node_get(n, "gateway"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!address_ok(s, false))
			return node_error(v, "'%s' is not an IP address", s);
		p->gateway = xstrdup(s);
	}
	if ((v = node_get(n, "dns"))) {
		if ((r = node_get_strv(v, &p->dns)) < 0)
			return r;
		for (char **d = p->dns; *d; d++)
			if (!address_ok(*d, false))
				return node_error(v, "'%s' is not an IP address", *d);
	}
	return 0;
}

/* One authorized_keys line: a key type, its base64, an optional comment; one line. */
static bool key_line_ok(const char *s)
{
	return (startswith(s, "ssh-") || startswith(s, "ecdsa-") || startswith(s, "sk-")) &&
	       strchr(s, ' ') && !strpbrk(s, "\n\r");
}

/* An authorized-keys list: key lines, or {file: PATH} (relative to the recipe), into one
 * authorized_keys text. */
static int parse_keys(const struct node *v, char **ret)
{
	_cleanup_free_ char *keys = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if ((r = node_expect(v, NODE_SEQ)) < 0)
		return r;
	f = open_memstream(&keys, &len);
	for (size_t i = 0; i < v->n && r >= 0; i++) {
		const struct node *e = v->items[i], *file;
		const char *s;

		if (e->kind == NODE_SCALAR) {
			if ((r = node_get_string(e, &s)) < 0)
				break;
			if (!key_line_ok(s)) {
				r = node_error(e, "not an SSH public key line (\"ssh-ed25519 AAAA... "
					       "comment\"); give {file: PATH} for a key file");
				break;
			}
			fprintf(f, "%s\n", s);
			continue;
		}
		if ((r = node_expect(e, NODE_MAP)) < 0)
			break;
		if (!(file = node_get(e, "file")) || e->n != 1) {
			r = node_error(e, "an authorized key is a key line or {file: PATH}");
			break;
		}
		if ((r = node_get_string(file, &s)) < 0)
			break;
		{
			_cleanup_free_ char *path = node_path_resolve(file, s), *data = NULL;
			size_t size;
			const char *line;

			if ((r = read_file(path, 1u << 20, &data, &size)) < 0) {
				r = node_error(file, "cannot read key file '%s': %s", s, strerror(-r));
				break;
			}
			for (line = data; *line; line += strcspn(line, "\n"), line += !!*line) {
				_cleanup_free_ char *l = xstrndup(line, strcspn(line, "\n"));

				if (!l[0] || l[0] == '#')
					continue;
				if (!key_line_ok(l)) {
					r = node_error(file, "'%s' holds a line that is not an SSH "
						       "public key (a private key? give the .pub file)",
						       s);
					break;
				}
				fprintf(f, "%s\n", l);
			}
		}
	}
	fclose(f);
	if (r < 0)
		return r;
	if (!len)
		return node_error(v, "no key: list key lines or {file: PATH}, or leave "
				  "authorized-keys out");
	*ret = TAKE_PTR(keys);
	return 0;
}

static int parse_ssh(struct network_priv *p, const struct node *n)
{
	const struct node *v;
	int r;

	p->ssh_node = n;
	p->ssh = true;
	p->password_auth = -1;
	if ((r = node_expect(n, NODE_MAP)) < 0)
		return r;
	if ((v = node_get(n, "password-authentication"))) {
		bool b;

		if ((r = node_get_bool(v, &b)) < 0)
			return r;
		p->password_auth = b;
	}
	if (!(v = node_get(n, "authorized-keys")))
		return 0;
	return parse_keys(v, &p->authorized_keys);
}

/* system.users[].authorized-keys; the rest of each entry is the configure stage's. */
static int parse_user_keys(struct network_priv *p, const struct node *users)
{
	int r;

	if (!users || users->kind != NODE_SEQ)
		return 0; /* the configure stage says what is wrong */
	for (size_t i = 0; i < users->n; i++) {
		const struct node *e = users->items[i], *v, *name;
		struct user_keys *u;
		const char *s;

		if (e->kind != NODE_MAP || !(v = node_get(e, "authorized-keys")))
			continue;
		if (!(name = node_get(e, "name")) || node_get_string(name, &s) < 0)
			continue;
		p->user_keys = xrealloc(p->user_keys, (p->n_user_keys + 1) * sizeof(*p->user_keys));
		u = &p->user_keys[p->n_user_keys++];
		*u = (struct user_keys){ .name = s, .node = v };
		if ((r = parse_keys(v, &u->keys)) < 0)
			return r;
	}
	return 0;
}

static int network_parse(struct build *b, void **ret_priv)
{
	const struct node *sys = node_get(b->recipe->root, "system"), *n, *s;
	_cleanup_(network_freep) struct network_priv *p = NULL;
	int r;

	n = sys && sys->kind == NODE_MAP ? node_get(sys, "network") : NULL;
	s = sys && sys->kind == NODE_MAP ? node_get(sys, "ssh") : NULL;
	p = xcalloc(1, sizeof(*p));
	p->password_auth = -1;
	if ((n && (r = parse_network(p, n)) < 0) || (s && (r = parse_ssh(p, s)) < 0) ||
	    (sys && sys->kind == NODE_MAP && (r = parse_user_keys(p, node_get(sys, "users"))) < 0))
		return r;
	if (!n && !s && !p->n_user_keys)
		return 0;
	if (!b->packages)
		return node_error(n ? n :
				  s ? s :
				      p->user_keys[0].node,
				  "system.%s needs a Debian root (add packages:)",
				  n ? "network" :
				  s ? "ssh" :
				      "users[].authorized-keys");
	*ret_priv = TAKE_PTR(p);
	return 1;
}

static int network_verify(struct build *b, void *priv)
{
	struct network_priv *p = priv;
	static const char *const dhcp_clients[] = { "isc-dhcp-client", "dhcpcd-base", "dhcpcd",
						    NULL };
	bool client = false;

	if (p->network != NETWORK_NONE && b->init != INIT_SYSTEMD) {
		if (b->init != INIT_SYSVINIT)
			return node_error(p->network_node,
					  "system.network needs system.init: "
					  "systemd (systemd-networkd) or sysvinit (ifupdown)");
		if (b->configure == CONFIGURE_NONE)
			return node_error(
				p->network_node,
				"system.network with sysvinit needs "
				"ifupdown's networking service enabled, which its "
				"maintainer scripts do: set packages.configure (not none)");
		if (!strv_contains(b->packages_include, "ifupdown"))
			return node_error(p->network_node,
					  "system.network with sysvinit is "
					  "written for ifupdown: add ifupdown to packages.include");
		if (!strv_contains(b->packages_include, "udev"))
			return node_error(p->network_node,
					  "system.network with sysvinit needs udev, "
					  "which loads the network card's driver and names it: add "
					  "udev to packages.include");
		for (const char *const *c = dhcp_clients; *c; c++)
			client |= strv_contains(b->packages_include, *c);
		if (p->network == NETWORK_DHCP && !client)
			return node_error(
				p->network_node,
				"system.network: dhcp with ifupdown "
				"needs a DHCP client: add isc-dhcp-client or dhcpcd-base to "
				"packages.include");
	}
	if ((p->ssh || p->n_user_keys) && !strv_contains(b->packages_include, "openssh-server"))
		return node_error(p->ssh ? p->ssh_node : p->user_keys[0].node,
				  "%s configures sshd: add openssh-server to packages.include",
				  p->ssh ? "system.ssh" : "users[].authorized-keys");
	return 0;
}

static int network_plan(struct build *b, void *priv, FILE *out)
{
	struct network_priv *p = priv;

	const char *how = b->init == INIT_SYSTEMD ? "systemd-networkd" : "ifupdown";

	fputs("network:\n", out);
	if (p->network == NETWORK_DHCP)
		fprintf(out, "  %s: DHCP on every wired interface\n", how);
	else if (p->network == NETWORK_STATIC)
		fprintf(out, "  %s: %s%s%s on every wired interface\n", how, p->address,
			p->gateway ? " via " : "", p->gateway ? p->gateway : "");
	if (p->authorized_keys)
		fputs("  ssh: root's authorized_keys\n", out);
	for (size_t i = 0; i < p->n_user_keys; i++)
		fprintf(out, "  ssh: %s's authorized_keys\n", p->user_keys[i].name);
	if (p->password_auth >= 0)
		fprintf(out, "  ssh: password logins %s\n", p->password_auth ? "on" : "off");
	return 0;
}

static int enable_unit(struct build *b, const char *target, const char *unit)
{
	const struct tree_attr link = { .mode = 0777, .mtime = b->now };
	_cleanup_free_ char *src = xasprintf("/usr/lib/systemd/system/%s", unit);
	_cleanup_free_ char *dst = xasprintf("/etc/systemd/system/%s.wants/%s", target, unit);
	int r = tree_exists(b->tree, src);

	if (r < 0)
		return r;
	if (!r)
		return log_fail("the image has no %s to enable", src);
	return tree_symlink(b->tree, dst, src, &link);
}

/* Without systemd-resolved, nothing writes resolv.conf: the static servers go there. */
static int write_resolv_conf(struct build *b, struct network_priv *p)
{
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *rc = NULL;
	size_t n = 0;
	FILE *f;
	int r;

	if (!p->dns || (r = tree_exists(b->tree, "/usr/lib/systemd/systemd-resolved")) > 0)
		return 0;
	if (r < 0)
		return r;
	f = open_memstream(&rc, &n);
	fputs("# Written by mkbootmedia (system.network.dns).\n", f);
	for (char **d = p->dns; *d; d++)
		fprintf(f, "nameserver %s\n", *d);
	fclose(f);
	if ((r = tree_remove(b->tree, "/etc/resolv.conf")) < 0 && r != -ENOENT)
		return r;
	return tree_write(b->tree, "/etc/resolv.conf", &file, rc, n);
}

static int write_networkd(struct build *b, struct network_priv *p)
{
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	fputs("# Written by mkbootmedia (system.network).\n[Match]\nType=ether\n\n[Network]\n", f);
	if (p->network == NETWORK_DHCP) {
		fputs("DHCP=yes\n", f);
	} else {
		fprintf(f, "Address=%s\n", p->address);
		if (p->gateway)
			fprintf(f, "Gateway=%s\n", p->gateway);
		for (char **d = p->dns; d && *d; d++)
			fprintf(f, "DNS=%s\n", *d);
	}
	fclose(f);
	if ((r = tree_write(b->tree, NETWORK_FILE, &file, text, len)) < 0 ||
	    (r = enable_unit(b, "multi-user.target", "systemd-networkd.service")) < 0 ||
	    (r = enable_unit(b, "sockets.target", "systemd-networkd.socket")) < 0)
		return r;
	return 0;
}

/* ifupdown (sysvinit): every interface named en* (udev's names) or eth* (the kernel's) is
 * the logical interface mkb-wired, brought up at boot by the networking service (auto, so
 * ifup -a expands the patterns; allow-hotplug's boot path does not). */
static int write_ifupdown(struct build *b, struct network_priv *p)
{
	static const char source_line[] = "source /etc/network/interfaces.d/*";
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	_cleanup_free_ char *text = NULL, *main_file = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	fputs("# Written by mkbootmedia (system.network): every wired interface.\n"
	      "auto /en*=mkb-wired /eth*=mkb-wired\n",
	      f);
	if (p->network == NETWORK_DHCP) {
		fputs("iface mkb-wired inet dhcp\n", f);
	} else {
		fprintf(f, "iface mkb-wired inet%s static\n\taddress %s\n",
			strchr(p->address, ':') ? "6" : "", p->address);
		if (p->gateway)
			fprintf(f, "\tgateway %s\n", p->gateway);
	}
	fclose(f);
	if ((r = tree_write(b->tree, IFUPDOWN_FILE, &file, text, len)) < 0)
		return r;
	/* ifupdown's postinst makes /etc/network/interfaces with that line; keep it there. */
	r = tree_read(b->tree, "/etc/network/interfaces", 1u << 20, &main_file, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT || !strstr(main_file, "/etc/network/interfaces.d")) {
		_cleanup_free_ char *t =
			xasprintf("%s# Added by mkbootmedia (system.network):\n%s\n",
				  r == -ENOENT ? "" : main_file, source_line);

		if ((r = tree_write(b->tree, "/etc/network/interfaces", &file, t, strlen(t))) < 0)
			return r;
	}
	return 0;
}

static int write_network(struct build *b, struct network_priv *p)
{
	int r;

	if (b->init == INIT_SYSTEMD)
		r = write_networkd(b, p);
	else
		r = write_ifupdown(b, p);
	if (r < 0 || (r = write_resolv_conf(b, p)) < 0)
		return r;
	log_info("%s: %s on the wired interfaces",
		 b->init == INIT_SYSTEMD ? "systemd-networkd" : "ifupdown",
		 p->network == NETWORK_DHCP ? "DHCP" : p->address);
	return 0;
}

/* USER's uid, gid and home from the target's /etc/passwd (the configure stage made it). */
static int passwd_entry(struct build *b, const char *user, uid_t *uid, gid_t *gid, char **home)
{
	_cleanup_free_ char *data = NULL;
	size_t n = strlen(user);
	int r = tree_read(b->tree, "/etc/passwd", 16u << 20, &data, NULL);

	if (r < 0)
		return log_errno(r, "cannot read /etc/passwd of the target");
	for (char *line = data; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long u, g;
		char h[4096];

		if (strncmp(line, user, n) || line[n] != ':')
			continue;
		if (sscanf(line + n, ":%*[^:]:%lu:%lu:%*[^:]:%4095[^:\n]", &u, &g, h) != 3 &&
		    sscanf(line + n, ":%*[^:]:%lu:%lu::%4095[^:\n]", &u, &g, h) != 3)
			break;
		*uid = u;
		*gid = g;
		*home = xstrdup(h);
		return 0;
	}
	return log_fail("user '%s' is not in the target's /etc/passwd (system.users makes it "
			"when packages.configure runs)",
			user);
}

static int write_ssh(struct build *b, struct network_priv *p)
{
	const struct tree_attr dir = { .mode = 0700, .mtime = b->now };
	const struct tree_attr secret = { .mode = 0600, .mtime = b->now };
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	int r;

	if (p->authorized_keys &&
	    ((r = tree_mkdir(b->tree, "/root/.ssh", &dir)) < 0 ||
	     (r = tree_write(b->tree, "/root/.ssh/authorized_keys", &secret, p->authorized_keys,
			     strlen(p->authorized_keys))) < 0))
		return r;
	if (p->password_auth >= 0) {
		_cleanup_free_ char *text = xasprintf(
			"# Written by mkbootmedia (system.ssh.password-authentication).\n"
			"PasswordAuthentication %s\nKbdInteractiveAuthentication %s\n",
			p->password_auth ? "yes" : "no", p->password_auth ? "yes" : "no");

		if ((r = tree_write(b->tree, SSHD_DROPIN, &file, text, strlen(text))) < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_user_keys; i++) {
		const struct user_keys *u = &p->user_keys[i];
		_cleanup_free_ char *home = NULL, *sshdir = NULL, *path = NULL;
		struct tree_attr da = dir, fa = secret;

		if ((r = passwd_entry(b, u->name, &da.uid, &da.gid, &home)) < 0)
			return r;
		fa.uid = da.uid;
		fa.gid = da.gid;
		sshdir = xasprintf("%s/.ssh", home);
		path = xasprintf("%s/authorized_keys", sshdir);
		if ((r = tree_mkdir(b->tree, sshdir, &da)) < 0 ||
		    (r = tree_write(b->tree, path, &fa, u->keys, strlen(u->keys))) < 0)
			return r;
		log_info("ssh: %s's authorized_keys", u->name);
	}
	if (p->ssh && (p->authorized_keys || p->password_auth >= 0))
		log_info("ssh: %s%s%s", p->authorized_keys ? "root's authorized_keys" : "",
			 p->authorized_keys && p->password_auth >= 0 ? ", " : "",
			 p->password_auth < 0 ? "" :
			 p->password_auth     ? "password logins on" :
						"password logins off");
	return 0;
}

static int network_run(struct build *b, void *priv)
{
	struct network_priv *p = priv;
	int r;

	if (p->network != NETWORK_NONE && (r = write_network(b, p)) < 0)
		return r;
	if ((p->ssh || p->n_user_keys) && (r = write_ssh(b, p)) < 0)
		return r;
	return 0;
}

/* Every key this stage reads (lib/recipe.h). */
static const struct recipe_key network_key_table[] = {
	{ "system.network", "enum or map", "none", network_names,
	  "the wired interfaces (systemd-networkd, or ifupdown with sysvinit): dhcp, or "
	  "{address, gateway, dns}; none: left alone" },
	{ "system.network.address", "string", "required", NULL, "an address with its prefix" },
	{ "system.network.gateway", "string", "none", NULL, "the default gateway" },
	{ "system.network.dns", "list", "none", NULL, "name servers" },
	{ "system.ssh", "map", "none", NULL, "sshd for logins by key (openssh-server)" },
	{ "system.ssh.authorized-keys", "list", "none", NULL,
	  "root's authorized_keys: key lines, or {file: PATH}" },
	{ "system.ssh.authorized-keys[].file", "path", "none", NULL, "a public key file" },
	{ "system.ssh.password-authentication", "bool", "as packaged", NULL,
	  "false: sshd refuses passwords" },
	{ "system.users[].authorized-keys", "list", "none", NULL,
	  "the user's authorized_keys: key lines, or {file: PATH}" },
	{ "system.users[].authorized-keys[].file", "path", "none", NULL, "a public key file" },
	{ NULL },
};

const struct stage stage_network = {
	.name = "network",
	.key_table = network_key_table,
	.summary = "the wired network (systemd-networkd or ifupdown) and SSH logins by key",
	.parse = network_parse,
	.verify = network_verify,
	.plan = network_plan,
	.run = network_run,
	.free = network_free,
};
