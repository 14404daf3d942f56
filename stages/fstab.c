/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "fstab": /etc/fstab for flash media, and the flash-friendly symlinks of the seed.
 *
 * fstab:                     optional; false turns the stage off
 *   by: label                how partitions are named: label (LABEL= when labelled, else
 *                            UUID=), uuid, or partuuid
 *   tmpfs: [/tmp, /var/tmp, /var/log]
 *                            tmpfs mounts (the default list); each entry a path or
 *                            {path, options, size, mode}; [] for none
 *   extra:                   lines copied as they are: {spec, file, type, options, pass}
 * flash:                     optional; false turns both off
 *   mtab: /proc/mounts       /etc/mtab becomes a symlink to this (the seed's, and what
 *                            Debian's initscripts insist on; false: left alone)
 *   blkid-cache: /dev/null   /etc/blkid.tab becomes a symlink to this (false: left alone)
 *   journal: volatile        systemd: journald keeps the logs in RAM (bounded); persistent:
 *                            left as the packages made it
 *   timers: off              systemd: the timers that write the flash on a schedule
 *                            (apt-daily, apt-daily-upgrade, dpkg-db-backup, man-db,
 *                            e2scrub_all, fstrim) are masked; on: left alone
 *
 * Every partition with a mount point gets a line with its options plus noatime (the root
 * also errors=remount-ro when no options are given), pass 1 for / and 2 for the others. No
 * swap: writing to swap wears flash out. The tmpfs mount points are created in the target
 * (1777 for /tmp and /var/tmp) since mount fails on a missing directory. The stage runs when
 * a filesystem is mounted at /. */
#include <uuid/uuid.h>

#include "fs.h"
#include "fstab.h"
#include "log.h"
#include "stage.h"

struct fstab_priv {
	bool enabled;
	struct fstab_config c;
	char *mtab, *blkid;
	bool flash; /* flash: given (or true): the systemd defaults below apply */
	bool journal_volatile, timers_off;
	const struct node *node;
};

static const char *const by_names[] = { "label", "uuid", "partuuid", NULL };

static bool has_atime_option(char *const *opts)
{
	static const char *const atime[] = { "noatime", "relatime", "strictatime", "atime",
					     "lazytime", NULL };

	for (size_t i = 0; opts && opts[i]; i++)
		for (size_t j = 0; atime[j]; j++)
			if (streq(opts[i], atime[j]))
				return true;
	return false;
}

char *fstab_options(char *const *given, bool root)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!given || !given[0])
		fputs(root ? "defaults,errors=remount-ro" : "defaults", f);
	for (size_t i = 0; given && given[i]; i++)
		fprintf(f, "%s%s", i ? "," : "", given[i]);
	if (!has_atime_option(given))
		fputs(",noatime", f);
	fclose(f);
	return out;
}

static void print_line(FILE *f, const char *spec, const char *file, const char *type,
		       const char *options, unsigned pass)
{
	fprintf(f, "%-40s %-15s %-6s %-30s 0 %u\n", spec, file, type, options, pass);
}

/* root: read-only (stage root): the root is never remounted rw and never checked (fsck
 * would be the only writer); under an overlay, / is the overlay the initramfs made, and the
 * root partition its lower layer. */
static void print_read_only_root(FILE *f, const struct build *b, const char *spec, const char *type,
				 const char *opts)
{
	_cleanup_free_ char *ro = NULL, *all = xasprintf(",%s,", opts);

	if (b->root_verity)
		spec = "/dev/mapper/" ROOT_VERITY_NAME; /* the verified device, not the raw one */
	if (b->root_overlay != ROOT_OVERLAY_NONE) {
		fprintf(f,
			"# / is an overlay made by the initramfs: %s (%s, read-only) under "
			"%s, changes in %s/upper\n",
			spec, type,
			b->root_overlay == ROOT_OVERLAY_TMPFS ? "a tmpfs" :
								b->root_overlay_part->name,
			ROOT_OVERLAY_DIR);
		print_line(f, "overlay", "/", "overlay", "defaults,noatime", 0);
		return;
	}
	if (!strstr(all, ",ro,"))
		opts = ro = xasprintf("ro,%s", opts);
	print_line(f, spec, "/", type, opts, 0);
}

char *fstab_generate(const struct build *b, const struct fstab_config *c)
{
	_cleanup_free_ struct partition **order = xcalloc(b->n_parts + 1, sizeof(*order));
	size_t n = build_mount_order(b, order), len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);

	fputs("# /etc/fstab: static file system information (written by mkbootmedia).\n"
	      "# Flash media: noatime everywhere, no swap, logs and temporary files in RAM.\n"
	      "#\n", f);
	fprintf(f, "# %-38s %-15s %-6s %-30s %s\n", "<file system>", "<mount point>", "<type>",
		"<options>", "<dump> <pass>");
	/* In mount order ("/" first, parents before children): mount -a goes down the file. */
	for (size_t i = 0; i < n; i++) {
		const struct partition *p = order[i];
		_cleanup_free_ char *spec = NULL, *opts = NULL;
		char u[37], *dflt[2] = { NULL, NULL };
		bool root;

		root = streq(p->fs.mount, "/");
		if (p->enc) {
			spec = xasprintf("/dev/mapper/%s", p->enc->mapper_name);
		} else if (c->by == FSTAB_BY_LABEL && p->fs.label) {
			spec = xasprintf("LABEL=%s", p->fs.label);
		} else if (c->by == FSTAB_BY_PARTUUID) {
			if (b->table == TABLE_MSDOS) {
				spec = xasprintf("PARTUUID=%08x-%02x", b->mbr_id, p->number);
			} else {
				uuid_unparse_lower(p->uuid, u);
				spec = xasprintf("PARTUUID=%s", u);
			}
		} else {
			spec = xasprintf("UUID=%s", build_fs_uuid(p, u));
		}
		dflt[0] = (char *)fs_driver_of(p->fs.type)->default_options;
		opts = fstab_options(p->fs.options ? p->fs.options : dflt[0] ? dflt : NULL, root);
		if (root && b->root_read_only) {
			print_read_only_root(f, b, spec, fs_type_to_string(p->fs.type), opts);
			continue;
		}
		print_line(f, spec, p->fs.mount, fs_type_to_string(p->fs.type), opts, root ? 1 : 2);
	}
	for (size_t i = 0; i < c->n_tmpfs; i++)
		print_line(f, "tmpfs", c->tmpfs[i].file, "tmpfs", c->tmpfs[i].options, 0);
	for (size_t i = 0; i < c->n_extra; i++)
		print_line(f, c->extra[i].spec, c->extra[i].file, c->extra[i].type,
			   c->extra[i].options, c->extra[i].pass);
	fclose(f);
	return out;
}

static void add_tmpfs(struct fstab_config *c, const char *path, const char *options,
		      const char *size, const char *mode)
{
	char *opts = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&opts, &len);

	fputs(options ? options : "defaults", f);
	if (!options || !strstr(options, "atime"))
		fputs(",noatime", f);
	if (!(options && strstr(options, "nosuid")))
		fputs(",nosuid,nodev", f);
	if (size)
		fprintf(f, ",size=%s", size);
	if (mode)
		fprintf(f, ",mode=%s", mode);
	else if ((streq(path, "/tmp") || streq(path, "/var/tmp")) &&
		 !(options && strstr(options, "mode=")))
		fputs(",mode=1777", f);
	fclose(f);
	c->tmpfs = xrealloc(c->tmpfs, (c->n_tmpfs + 1) * sizeof(*c->tmpfs));
	c->tmpfs[c->n_tmpfs++] = (struct fstab_line){ .spec = xstrdup("tmpfs"),
						       .file = xstrdup(path),
						       .type = xstrdup("tmpfs"),
						       .options = opts };
}

#define OPTION_HINT \
	"is not a mount option (no spaces or control characters: it goes into /etc/fstab)"

static int check_path(const struct node *n, const char *s)
{
	if (s[0] != '/' || !str_is_word(s) || strstr(s, ".."))
		return node_error(n, "'%s' is not an absolute path without spaces or '..'", s);
	return 0;
}

static int parse_tmpfs(struct fstab_priv *p, const struct node *list)
{
	int r;

	if ((r = node_expect(list, NODE_SEQ)) < 0)
		return r;
	for (size_t i = 0; i < list->n; i++) {
		const struct node *e = list->items[i], *v;
		const char *path, *options = NULL, *mode = NULL;
		struct size size;
		char sz[32] = "";

		if (e->kind == NODE_SCALAR) {
			if ((r = node_get_string(e, &path)) < 0 || (r = check_path(e, path)) < 0)
				return r;
			add_tmpfs(&p->c, path, NULL, NULL, NULL);
			continue;
		}
		if ((r = node_expect(e, NODE_MAP)) < 0)
			return r;
		if (!(v = node_get(e, "path")))
			return node_error(e, "missing 'path'");
		if ((r = node_get_string(v, &path)) < 0 || (r = check_path(v, path)) < 0)
			return r;
		if ((v = node_get(e, "options"))) {
			if ((r = node_get_string(v, &options)) < 0)
				return r;
			if (!str_is_word(options))
				return node_error(v, "'%s' " OPTION_HINT, options);
		}
		if ((v = node_get(e, "size"))) {
			if ((r = node_get_size(v, SIZE_ALLOW_PERCENT, &size)) < 0)
				return r;
			if (size.kind == SIZE_PERCENT)
				snprintf(sz, sizeof(sz), "%u%%", size.permille / 10);
			else
				snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size.bytes);
		}
		if ((v = node_get(e, "mode"))) {
			mode_t m;

			if ((r = node_get_mode(v, &m)) < 0)
				return r;
			mode = xasprintf("%04o", m);
		}
		add_tmpfs(&p->c, path, options, sz[0] ? sz : NULL, mode);
		free((char *)mode);
	}
	return 0;
}

static int parse_extra(struct fstab_priv *p, const struct node *list)
{
	static const char *const req[] = { "spec", "file", "type", NULL };
	int r;

	if ((r = node_expect(list, NODE_SEQ)) < 0)
		return r;
	p->c.extra = xcalloc(list->n, sizeof(*p->c.extra));
	for (size_t i = 0; i < list->n; i++) {
		const struct node *e = list->items[i], *v;
		struct fstab_line *l = &p->c.extra[i];
		const char *s[3];
		uint64_t pass = 0;

		if ((r = node_expect(e, NODE_MAP)) < 0)
			return r;
		for (size_t k = 0; req[k]; k++) {
			if (!(v = node_get(e, req[k])))
				return node_error(e, "missing '%s'", req[k]);
			if ((r = node_get_string(v, &s[k])) < 0)
				return r;
			if (!str_is_word(s[k]))
				return node_error(v, "'%s' cannot be empty or hold spaces or "
						  "control characters", s[k]);
		}
		l->spec = xstrdup(s[0]);
		l->file = xstrdup(s[1]);
		l->type = xstrdup(s[2]);
		if ((v = node_get(e, "options"))) {
			_cleanup_strv_free_ char **o = NULL;

			if ((r = node_get_words(v, str_is_word, OPTION_HINT, &o, NULL)) < 0)
				return r;
			l->options = fstab_options(o, false);
		} else {
			l->options = xstrdup("defaults");
		}
		if ((v = node_get(e, "pass")) && (r = node_get_u64(v, 0, 2, &pass)) < 0)
			return r;
		l->pass = (unsigned)pass;
		p->c.n_extra++;
	}
	return 0;
}

/* A symlink target, or NULL for false. */
static int parse_link(const struct node *n, const char *dflt, char **ret)
{
	bool on;
	const char *s;
	int r;

	if (!n) {
		*ret = xstrdup(dflt);
		return 0;
	}
	if (n->kind == NODE_SCALAR && n->plain && n->scalar[0] != '/') {
		if ((r = node_get_bool(n, &on)) < 0)
			return r;
		*ret = on ? xstrdup(dflt) : NULL;
		return 0;
	}
	if ((r = node_get_string(n, &s)) < 0 || (r = check_path(n, s)) < 0)
		return r;
	*ret = xstrdup(s);
	return 0;
}

static void fstab_free(void *priv)
{
	struct fstab_priv *p = priv;
	struct fstab_line *lists[] = { p->c.tmpfs, p->c.extra };
	size_t counts[] = { p->c.n_tmpfs, p->c.n_extra };

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < counts[k]; i++) {
			free(lists[k][i].spec);
			free(lists[k][i].file);
			free(lists[k][i].type);
			free(lists[k][i].options);
		}
		free(lists[k]);
	}
	free(p->mtab);
	free(p->blkid);
	free(p);
}

static const char *const journal_names[] = { "volatile", "persistent", NULL };
static const char *const timers_names[] = { "off", "on", NULL };

/* flash.journal and flash.timers: on by default in a flash: mapping. */
static int parse_flash_systemd(struct fstab_priv *p, const struct node *flash)
{
	const struct node *v;
	int x, r;

	if (!flash)
		return 0;
	p->flash = p->journal_volatile = p->timers_off = true;
	if ((v = node_get(flash, "journal"))) {
		if ((r = node_get_enum(v, journal_names, &x)) < 0)
			return r;
		p->journal_volatile = x == 0;
	}
	if ((v = node_get(flash, "timers"))) {
		if ((r = node_get_enum(v, timers_names, &x)) < 0)
			return r;
		p->timers_off = x == 0;
	}
	return 0;
}

/* With systemd in the target: journald in RAM, the flash-writing timers masked. */
static int write_flash_systemd(struct build *b, struct fstab_priv *p)
{
	static const char *const timers[] = { "apt-daily.timer",
					      "apt-daily-upgrade.timer",
					      "dpkg-db-backup.timer",
					      "man-db.timer",
					      "e2scrub_all.timer",
					      "fstrim.timer",
					      NULL };
	static const char journald[] = "# Written by mkbootmedia (flash.journal: volatile): the "
				       "journal stays in RAM,\n# so logging does not wear the "
				       "flash out.\n[Journal]\nStorage=volatile\n"
				       "RuntimeMaxUse=16M\n";
	const struct tree_attr file = { .mode = 0644, .mtime = b->now };
	const struct tree_attr link = { .mode = 0777, .mtime = b->now };
	unsigned masked = 0;
	int r;

	if (!p->flash || (r = tree_exists(b->tree, "/usr/lib/systemd/systemd")) == 0)
		return 0;
	if (r < 0)
		return r;
	if (p->journal_volatile &&
	    (r = tree_write(b->tree, "/etc/systemd/journald.conf.d/mkbootmedia-flash.conf", &file,
			    journald, strlen(journald))) < 0)
		return r;
	for (const char *const *t = p->timers_off ? timers : NULL; t && *t; t++) {
		_cleanup_free_ char *unit = xasprintf("/usr/lib/systemd/system/%s", *t);
		_cleanup_free_ char *mask = xasprintf("/etc/systemd/system/%s", *t);

		if ((r = tree_exists(b->tree, unit)) < 0)
			return r;
		if (!r)
			continue;
		if ((r = tree_symlink(b->tree, mask, "/dev/null", &link)) < 0)
			return r;
		masked++;
	}
	log_info("systemd: journal %s, %u flash-writing timers masked",
		 p->journal_volatile ? "in RAM" : "as packaged", masked);
	return 0;
}

static int fstab_parse(struct build *b, void **ret_priv)
{
	struct node *n = node_get(b->recipe->root, "fstab"), *flash, *v;
	struct fstab_priv *p = xcalloc(1, sizeof(*p));
	bool on = true;
	int r, by;

	*ret_priv = p;
	p->node = n;
	p->enabled = true;
	if (n && n->kind == NODE_SCALAR) {
		if ((r = node_get_bool(n, &on)) < 0)
			return r;
		p->enabled = on;
	} else if (n) {
		if ((r = node_expect(n, NODE_MAP)) < 0)
			return r;
	}
	if ((v = node_get(n, "by"))) {
		if ((r = node_get_enum(v, by_names, &by)) < 0)
			return r;
		p->c.by = (enum fstab_by)by;
	}
	if ((v = node_get(n, "tmpfs"))) {
		if ((r = parse_tmpfs(p, v)) < 0)
			return r;
	} else {
		add_tmpfs(&p->c, "/tmp", NULL, NULL, NULL);
		add_tmpfs(&p->c, "/var/tmp", NULL, NULL, NULL);
		add_tmpfs(&p->c, "/var/log", NULL, NULL, NULL);
	}
	if ((v = node_get(n, "extra")) && (r = parse_extra(p, v)) < 0)
		return r;

	flash = node_get(b->recipe->root, "flash");
	if (flash && flash->kind == NODE_SCALAR) {
		if ((r = node_get_bool(flash, &on)) < 0)
			return r;
		if (on) {
			p->mtab = xstrdup("/proc/mounts");
			p->blkid = xstrdup("/dev/null");
			p->flash = p->journal_volatile = p->timers_off = true;
		}
	} else {
		if (flash && ((r = node_expect(flash, NODE_MAP)) < 0))
			return r;
		if ((r = parse_link(node_get(flash, "mtab"), "/proc/mounts", &p->mtab)) < 0 ||
		    (r = parse_link(node_get(flash, "blkid-cache"), "/dev/null", &p->blkid)) < 0 ||
		    (r = parse_flash_systemd(p, flash)) < 0)
			return r;
	}
	if (!p->enabled && !p->mtab && !p->blkid && !p->flash)
		return 0;
	if (!build_part_at(b, "/")) {
		if (n && p->enabled && n->kind == NODE_MAP)
			return node_error(n, "no partition has a filesystem mounted at '/' to hold "
					  "/etc/fstab (add mount: / to one, or set fstab: false)");
		return 0;
	}
	return 1;
}

char *fstab_render(const struct build *b, const void *stage_priv)
{
	const struct fstab_priv *p = stage_priv;

	return fstab_generate(b, &p->c);
}

static int fstab_plan(struct build *b, void *priv, FILE *out)
{
	struct fstab_priv *p = priv;

	if (p->enabled) {
		_cleanup_free_ char *text = fstab_render(b, p);

		fprintf(out, "fstab:\n");
		for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
			if (l[0] != '#')
				fprintf(out, "  %s\n", l);
	}
	if (p->mtab)
		fprintf(out, "  /etc/mtab -> %s\n", p->mtab);
	if (p->blkid)
		fprintf(out, "  /etc/blkid.tab -> %s\n", p->blkid);
	return 0;
}

/* /etc/crypttab names the encrypted partitions for the system's own tools (the initrd
 * has its own copy of what it needs): LUKS by UUID; plain by PARTUUID with its cipher. */
static int write_crypttab(struct build *b)
{
	_cleanup_free_ char *text = NULL;
	struct tree_attr file = { .mode = 0644, .mtime = b->now };
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	fputs("# /etc/crypttab: encrypted block devices (written by mkbootmedia).\n"
	      "# <target name>\t<source device>\t<key file>\t<options>\n", f);
	for (size_t i = 0; i < b->n_parts; i++) {
		const struct partition *p = &b->parts[i];
		const struct encrypt_spec *e = p->enc;

		if (!e)
			continue;
		n++;
		if (e->luks_uuid) {
			fprintf(f, "%s\tUUID=%s\tnone\tluks\n", e->mapper_name, e->luks_uuid);
		} else if (b->table == TABLE_MSDOS) {
			fprintf(f, "%s\tPARTUUID=%08x-%02x\tnone\tplain,cipher=%s,size=%u,hash=ripemd160\n",
				e->mapper_name, b->mbr_id, p->number, e->cipher, e->key_bits);
		} else {
			char u[37];

			uuid_unparse_lower(p->uuid, u);
			fprintf(f, "%s\tPARTUUID=%s\tnone\tplain,cipher=%s,size=%u,hash=ripemd160\n",
				e->mapper_name, u, e->cipher, e->key_bits);
		}
	}
	fclose(f);
	if (!n)
		return 0;
	r = tree_write(b->tree, "/etc/crypttab", &file, text, strlen(text));
	if (r >= 0)
		log_info("/etc/crypttab: %zu encrypted partition%s", n, n == 1 ? "" : "s");
	return r;
}

static int fstab_run(struct build *b, void *priv)
{
	struct fstab_priv *p = priv;
	struct tree_attr dir = { .mode = 0755, .mtime = b->now };
	struct tree_attr file = { .mode = 0644, .mtime = b->now };
	int r;

	if (p->enabled) {
		_cleanup_free_ char *text = fstab_generate(b, &p->c);

		r = tree_write(b->tree, "/etc/fstab", &file, text, strlen(text));
		if (r < 0)
			return r;
		log_info("/etc/fstab: %zu partition%s, %zu tmpfs", b->n_parts,
			 b->n_parts == 1 ? "" : "s", p->c.n_tmpfs);
		for (size_t i = 0; i < p->c.n_tmpfs; i++) {
			const char *d = p->c.tmpfs[i].file;
			struct tree_attr a = dir;

			if (streq(d, "/tmp") || streq(d, "/var/tmp"))
				a.mode = 01777;
			r = tree_exists(b->tree, d);
			if (r == 0)
				r = tree_mkdir(b->tree, d, &a);
			if (r < 0)
				return r;
		}
	}
	if ((r = write_crypttab(b)) < 0)
		return r;
	if (p->mtab && (r = tree_symlink(b->tree, "/etc/mtab", p->mtab, &file)) < 0)
		return r;
	if (p->blkid && (r = tree_symlink(b->tree, "/etc/blkid.tab", p->blkid, &file)) < 0)
		return r;
	return write_flash_systemd(b, p);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key fstab_key_table[] = {
	{ "fstab", "map", NULL, NULL, "/etc/fstab for flash media; false turns it off" },
	{ "fstab.by", "enum", "label", by_names,
	  "how partitions are named: label (LABEL= when labelled, else UUID=), uuid, partuuid" },
	{ "fstab.tmpfs", "list", "[/tmp, /var/tmp, /var/log]", NULL,
	  "tmpfs mounts: a path or {path, options, size, mode}; [] for none" },
	{ "fstab.tmpfs[].path", "path", "required", NULL, "the mount point" },
	{ "fstab.tmpfs[].options", "list", "defaults,noatime,nosuid,nodev", NULL, "mount options" },
	{ "fstab.tmpfs[].size", "size", "the kernel's", NULL, "the tmpfs size" },
	{ "fstab.tmpfs[].mode", "mode", "1777 for /tmp and /var/tmp", NULL, "the root's mode" },
	{ "fstab.extra", "list", "none", NULL, "lines copied as they are" },
	{ "fstab.extra[].spec", "string", "required", NULL, "the device" },
	{ "fstab.extra[].file", "path", "required", NULL, "the mount point" },
	{ "fstab.extra[].type", "string", "required", NULL, "the filesystem type" },
	{ "fstab.extra[].options", "list", "defaults", NULL, "mount options" },
	{ "fstab.extra[].pass", "number", "0", NULL, "fsck pass" },
	{ "flash", "map", NULL, NULL, "the seed's flash-friendly symlinks; false turns both off" },
	{ "flash.mtab", "path", "/proc/mounts", NULL,
	  "/etc/mtab becomes a symlink to this; false: left alone" },
	{ "flash.blkid-cache", "path", "/dev/null", NULL,
	  "/etc/blkid.tab becomes a symlink to this; false: left alone" },
	{ "flash.journal", "enum", "volatile", journal_names,
	  "systemd: journald keeps logs in RAM (16 MiB at most); persistent: as packaged" },
	{ "flash.timers", "enum", "off", timers_names,
	  "systemd: mask apt-daily, apt-daily-upgrade, dpkg-db-backup, man-db, e2scrub_all and "
	  "fstrim timers; on: left alone" },
	{ NULL },
};

const struct stage stage_fstab = {
	.name = "fstab",
	.key_table = fstab_key_table,
	.summary = "write /etc/fstab and the flash-friendly symlinks",
	.parse = fstab_parse,
	.plan = fstab_plan,
	.run = fstab_run,
	.free = fstab_free,
};
