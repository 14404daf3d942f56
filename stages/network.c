/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "network": a key that is a machine people reach: its wired network, and SSH logins
 * by key.
 *
 * system:
 *   network: dhcp            none (the default: networking left as the packages made it),
 *                            dhcp on every wired interface, or {address: 192.0.2.10/24,
 *                            gateway: 192.0.2.1, dns: [192.0.2.53]}. systemd-networkd
 *                            (system.init: systemd; it is part of the systemd package)
 *   ssh:
 *     authorized-keys: [...] root's ~/.ssh/authorized_keys: key lines ("ssh-ed25519 AAAA...
 *                            comment"), or {file: HOST-PATH} (relative to the recipe)
 *     password-authentication: false
 *                            sshd refuses passwords (and keyboard-interactive); true
 *                            allows them; absent: as packaged
 *
 * SSH needs openssh-server in packages.include. The files are written after configure, so
 * the packages' own defaults are in place and the recipe's win. */
#include "log.h"
#include "stage.h"

#define NETWORK_FILE "/etc/systemd/network/80-mkbootmedia-wired.network"
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

static int parse_ssh(struct network_priv *p, const struct node *n)
{
	const struct node *v;
	_cleanup_free_ char *keys = NULL;
	size_t len = 0;
	FILE *f;
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
	p->authorized_keys = TAKE_PTR(keys);
	return 0;
}

static int network_parse(struct build *b, void **ret_priv)
{
	const struct node *sys = node_get(b->recipe->root, "system"), *n, *s;
	_cleanup_(network_freep) struct network_priv *p = NULL;
	int r;

	n = sys && sys->kind == NODE_MAP ? node_get(sys, "network") : NULL;
	s = sys && sys->kind == NODE_MAP ? node_get(sys, "ssh") : NULL;
	if (!n && !s)
		return 0;
	p = xcalloc(1, sizeof(*p));
	if ((n && (r = parse_network(p, n)) < 0) || (s && (r = parse_ssh(p, s)) < 0))
		return r;
	if (!b->packages)
		return node_error(n ? n : s, "system.%s needs a Debian root (add packages:)",
				  n ? "network" : "ssh");
	*ret_priv = TAKE_PTR(p);
	return 1;
}

static int network_verify(struct build *b, void *priv)
{
	struct network_priv *p = priv;

	if (p->network != NETWORK_NONE && b->init != INIT_SYSTEMD)
		return node_error(p->network_node, "system.network is written for systemd-networkd: "
				  "set system.init: systemd (with sysvinit, write "
				  "/etc/network/interfaces with files: and add ifupdown)");
	if (p->ssh && !strv_contains(b->packages_include, "openssh-server"))
		return node_error(p->ssh_node, "system.ssh configures sshd: add openssh-server to "
				  "packages.include");
	return 0;
}

static int network_plan(struct build *b, void *priv, FILE *out)
{
	struct network_priv *p = priv;

	fputs("network:\n", out);
	if (p->network == NETWORK_DHCP)
		fputs("  systemd-networkd: DHCP on every wired interface\n", out);
	else if (p->network == NETWORK_STATIC)
		fprintf(out, "  systemd-networkd: %s%s%s on every wired interface\n", p->address,
			p->gateway ? " via " : "", p->gateway ? p->gateway : "");
	if (p->authorized_keys)
		fputs("  ssh: root's authorized_keys\n", out);
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

static int write_network(struct build *b, struct network_priv *p)
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
	/* Without systemd-resolved, nothing writes resolv.conf: the static servers go there. */
	if (p->dns && (r = tree_exists(b->tree, "/usr/lib/systemd/systemd-resolved")) == 0) {
		_cleanup_free_ char *rc = NULL;
		size_t n = 0;

		f = open_memstream(&rc, &n);
		fputs("# Written by mkbootmedia (system.network.dns).\n", f);
		for (char **d = p->dns; *d; d++)
			fprintf(f, "nameserver %s\n", *d);
		fclose(f);
		if ((r = tree_remove(b->tree, "/etc/resolv.conf")) < 0 && r != -ENOENT)
			return r;
		r = tree_write(b->tree, "/etc/resolv.conf", &file, rc, n);
	}
	if (r < 0)
		return r;
	log_info("systemd-networkd: %s on the wired interfaces",
		 p->network == NETWORK_DHCP ? "DHCP" : p->address);
	return 0;
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
	log_info("ssh: %s%s", p->authorized_keys ? "root's authorized_keys" : "",
		 p->password_auth < 0 ? "" : p->password_auth ? ", password logins on" :
								", password logins off");
	return 0;
}

static int network_run(struct build *b, void *priv)
{
	struct network_priv *p = priv;
	int r;

	if (p->network != NETWORK_NONE && (r = write_network(b, p)) < 0)
		return r;
	if (p->ssh && (r = write_ssh(b, p)) < 0)
		return r;
	return 0;
}

/* Every key this stage reads (lib/recipe.h). */
static const struct recipe_key network_key_table[] = {
	{ "system.network", "enum or map", "none", network_names,
	  "systemd-networkd on the wired interfaces: dhcp, or {address, gateway, dns}; none: "
	  "left alone" },
	{ "system.network.address", "string", "required", NULL, "an address with its prefix" },
	{ "system.network.gateway", "string", "none", NULL, "the default gateway" },
	{ "system.network.dns", "list", "none", NULL, "name servers" },
	{ "system.ssh", "map", "none", NULL, "sshd for logins by key (openssh-server)" },
	{ "system.ssh.authorized-keys", "list", "none", NULL,
	  "root's authorized_keys: key lines, or {file: PATH}" },
	{ "system.ssh.authorized-keys[].file", "path", "none", NULL, "a public key file" },
	{ "system.ssh.password-authentication", "bool", "as packaged", NULL,
	  "false: sshd refuses passwords" },
	{ NULL },
};

const struct stage stage_network = {
	.name = "network",
	.key_table = network_key_table,
	.summary = "the wired network (systemd-networkd) and SSH logins by key",
	.parse = network_parse,
	.verify = network_verify,
	.plan = network_plan,
	.run = network_run,
	.free = network_free,
};
