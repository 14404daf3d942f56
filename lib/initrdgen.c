/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "initrdgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elfinfo.h"
#include "log.h"

#define MAX_BUSYBOX (32u << 20)
#define MAX_PROGRAM (64u << 20)
#define MAX_ITEM (256u << 20)
#define MAX_INIT (1u << 20)

struct initrd_desc *initrd_desc_new(void)
{
	struct initrd_desc *d = xcalloc(1, sizeof(*d));

	d->compression = CPIO_COMPRESSION_ZSTD;
	return d;
}

struct initrd_desc *initrd_desc_free(struct initrd_desc *d)
{
	if (!d)
		return NULL;
	strv_free(d->busybox);
	free(d->init);
	free(d->default_kernel);
	for (size_t i = 0; i < d->n_modules; i++)
		strv_free(d->modules[i].names);
	free(d->modules);
	for (size_t i = 0; i < d->n_programs; i++) {
		free(d->programs[i].package);
		strv_free(d->programs[i].paths);
	}
	free(d->programs);
	for (size_t i = 0; i < d->n_items; i++) {
		free(d->items[i].dest);
		free(d->items[i].source);
	}
	free(d->items);
	free(d->conf);
	free(d);
	return NULL;
}

static char **strv_copy(char *const *l)
{
	char **c = xcalloc(1, sizeof(*c));

	for (; l && *l; l++)
		c = strv_append(c, *l);
	return c;
}

void initrd_desc_add_modules(struct initrd_desc *d, char *const *names, bool required)
{
	d->modules = xrealloc(d->modules, (d->n_modules + 1) * sizeof(*d->modules));
	d->modules[d->n_modules++] = (struct initrd_modules){ strv_copy(names), required };
}

void initrd_desc_add_program(struct initrd_desc *d, const char *package, char *const *paths)
{
	d->programs = xrealloc(d->programs, (d->n_programs + 1) * sizeof(*d->programs));
	d->programs[d->n_programs++] =
		(struct initrd_program){ xstrdup(package), strv_copy(paths) };
}

void initrd_desc_add_item(struct initrd_desc *d, const char *dest, const char *source, mode_t mode)
{
	d->items = xrealloc(d->items, (d->n_items + 1) * sizeof(*d->items));
	d->items[d->n_items++] = (struct initrd_item){ xstrdup(dest), xstrdup(source), mode };
}

/* ---- the text form ---- */

static void put_word(FILE *f, const char *s)
{
	fputc(' ', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

char *initrd_desc_format(const struct initrd_desc *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fputs("# What mkbootmedia puts into an initramfs (lib/initrdgen.h): written by the build,\n"
	      "# read by /usr/sbin/mkbootmedia-initrd, which the kernel hooks in\n"
	      "# /etc/kernel/postinst.d run. Edit the recipe and rebuild rather than this file.\n",
	      f);
	fprintf(f, "compression %s\nmtime %lld\nbusybox",
		cpio_compression_to_string(d->compression), (long long)d->mtime);
	for (char **p = d->busybox; p && *p; p++)
		put_word(f, *p);
	fputs("\ninit", f);
	put_word(f, d->init ? d->init : "");
	fputc('\n', f);
	if (d->default_kernel) {
		fputs("default-kernel", f);
		put_word(f, d->default_kernel);
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->n_modules; i++) {
		fputs(d->modules[i].required ? "modules required" : "modules optional", f);
		for (char **n = d->modules[i].names; *n; n++)
			put_word(f, *n);
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->n_programs; i++) {
		fputs("program", f);
		put_word(f, d->programs[i].package);
		for (char **p = d->programs[i].paths; *p; p++)
			put_word(f, *p);
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->n_items; i++) {
		fputs("file", f);
		put_word(f, d->items[i].dest);
		if (d->items[i].mode == (mode_t)-1)
			fputs(" -", f);
		else
			fprintf(f, " %04o", (unsigned)d->items[i].mode);
		put_word(f, d->items[i].source);
		fputc('\n', f);
	}
	for (const char *l = d->conf; l && *l;) {
		size_t n = strcspn(l, "\n");

		fprintf(f, "conf%s%.*s\n", n ? " " : "", (int)n, l);
		l += n + (l[n] == '\n');
	}
	fclose(f);
	return text;
}

/* Splits a line into words at single spaces, decoding \xNN. */
static int split_words(const char *line, char ***ret)
{
	_cleanup_strv_free_ char **w = xcalloc(1, sizeof(*w));

	while (*line) {
		size_t n = strcspn(line, " ");
		_cleanup_free_ char *s = xmalloc(n + 1);
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (line[i] == '\\') {
				int hi, lo;

				if (i + 3 >= n || line[i + 1] != 'x' ||
				    (hi = hex_digit(line[i + 2])) < 0 ||
				    (lo = hex_digit(line[i + 3])) < 0 || !(hi | lo))
					return -EINVAL;
				s[k++] = (char)(hi << 4 | lo);
				i += 3;
			} else {
				s[k++] = line[i];
			}
		}
		s[k] = 0;
		if (!k)
			return -EINVAL;
		w = strv_append(w, s);
		line += n;
		if (*line == ' ')
			line++;
	}
	*ret = TAKE_PTR(w);
	return 0;
}

static bool good_path(const char *p)
{
	return path_is_safe_absolute(p) && !strstr(p, "//") && strlen(p) < CPIO_PATH_MAX;
}

int initrd_desc_parse(const char *text, const char *where, struct initrd_desc **ret)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = initrd_desc_new();
	struct strbuf conf = { 0 };
	bool have_mtime = false, have_comp = false;
	unsigned lineno = 0;
	int r = 0;

	if (strlen(text) > INITRD_DESC_MAX)
		return log_fail("%s: longer than %u bytes", where, INITRD_DESC_MAX);
	for (const char *l = text; *l;
	     l += l[strcspn(l, "\n")] ? strcspn(l, "\n") + 1 : strlen(l)) {
		_cleanup_free_ char *line = xstrndup(l, strcspn(l, "\n"));
		_cleanup_strv_free_ char **w = NULL;
		size_t n;

		lineno++;
		if (!line[0] || line[0] == '#')
			continue;
		if (startswith(line, "conf ") || streq(line, "conf")) {
			strbuf_adds(&conf, line[4] ? line + 5 : "");
			strbuf_adds(&conf, "\n");
			continue;
		}
		if (split_words(line, &w) < 0) {
			r = log_fail("%s:%u: a bad word (an empty field or a bad \\x escape)",
				     where, lineno);
			goto out;
		}
		n = strv_length(w);
		if (streq(w[0], "compression") && n == 2) {
			r = cpio_compression_from_string(w[1]);
			if (r < 0) {
				r = log_fail("%s:%u: '%s' is not a compression", where, lineno,
					     w[1]);
				goto out;
			}
			d->compression = r;
			have_comp = true;
		} else if (streq(w[0], "mtime") && n == 2) {
			char *end;

			errno = 0;
			d->mtime = strtoll(w[1], &end, 10);
			if (errno || *end || !is_digit(w[1][0]) || d->mtime > CPIO_MTIME_MAX) {
				r = log_fail("%s:%u: '%s' is not a time (0..%u)", where, lineno,
					     w[1], CPIO_MTIME_MAX);
				goto out;
			}
			have_mtime = true;
		} else if (streq(w[0], "busybox") && n >= 2) {
			strv_free(d->busybox);
			d->busybox = strv_copy(w + 1);
		} else if (streq(w[0], "init") && n == 2) {
			free(d->init);
			d->init = xstrdup(w[1]);
		} else if (streq(w[0], "default-kernel") && n == 2) {
			if (strchr(w[1], '/')) {
				r = log_fail("%s:%u: '%s' is not a kernel version", where, lineno,
					     w[1]);
				goto out;
			}
			free(d->default_kernel);
			d->default_kernel = xstrdup(w[1]);
		} else if (streq(w[0], "modules") && n >= 2 &&
			   (streq(w[1], "optional") || streq(w[1], "required"))) {
			initrd_desc_add_modules(d, w + 2, streq(w[1], "required"));
		} else if (streq(w[0], "program") && n >= 3) {
			initrd_desc_add_program(d, w[1], w + 2);
		} else if (streq(w[0], "file") && n == 4) {
			mode_t mode = (mode_t)-1;

			if (!streq(w[2], "-")) {
				char *end;
				unsigned long m = strtoul(w[2], &end, 8);

				if (*end || m > 07777 || !is_digit(w[2][0])) {
					r = log_fail("%s:%u: '%s' is not a mode", where, lineno,
						     w[2]);
					goto out;
				}
				mode = (mode_t)m;
			}
			initrd_desc_add_item(d, w[1], w[3], mode);
		} else {
			r = log_fail(
				"%s:%u: '%s' is not an item with its fields (compression, "
				"mtime, busybox, init, default-kernel, modules, program, file, "
				"conf)",
				where, lineno, w[0]);
			goto out;
		}
		/* every path field: busybox's and program's (after the package), init's, file's
		 * destination and source */
		for (size_t i = 1; i < n; i++)
			if ((streq(w[0], "busybox") || streq(w[0], "init") ||
			     (streq(w[0], "program") && i >= 2) ||
			     (streq(w[0], "file") && i != 2)) &&
			    !good_path(w[i])) {
				r = log_fail("%s:%u: '%s' is not a clean absolute path", where,
					     lineno, w[i]);
				goto out;
			}
	}
	if (!have_comp || !have_mtime || !d->busybox || !d->init) {
		r = log_fail("%s: incomplete: it needs compression, mtime, busybox and init",
			     where);
		goto out;
	}
	d->conf = strbuf_take(&conf);
	*ret = TAKE_PTR(d);
	r = 0;
out:
	strbuf_freep(&conf);
	return r;
}

/* ---- making the initramfs ---- */

static int io_read(const struct initrd_io *io, const char *path, size_t max, char **ret,
		   size_t *ret_size)
{
	return io->kmod.read(io->kmod.userdata, path, max, ret, ret_size);
}

/* The first of paths that exists, whole. */
static int read_first(const struct initrd_io *io, char *const *paths, size_t max, char **ret,
		      size_t *ret_size, const char **ret_path)
{
	for (; *paths; paths++) {
		int r = io_read(io, *paths, max, ret, ret_size);

		if (r != -ENOENT && r != -ENOTDIR) {
			if (r >= 0)
				*ret_path = *paths;
			return r;
		}
	}
	return -ENOENT;
}

static int read_busybox(const struct initrd_desc *d, const struct initrd_io *io, char **ret,
			size_t *ret_size)
{
	_cleanup_free_ char *data = NULL, *interp = NULL;
	const char *where = NULL;
	size_t size = 0;
	int r;

	r = read_first(io, d->busybox, MAX_BUSYBOX, &data, &size, &where);
	if (r == -ENOENT)
		return log_fail("no busybox in the target for the initrd (%s): add busybox-static "
				"to packages.include, or set initrd.busybox: host",
				d->busybox[0]);
	if (r < 0)
		return log_errno(r, "cannot read '%s' of the target", d->busybox[0]);
	if (elf_interp(data, size, &interp) < 0)
		return log_fail("'%s' is not a usable busybox executable", where);
	if (interp)
		return log_fail("'%s' is dynamically linked (it needs %s): the initrd needs a "
				"static busybox, from the package busybox-static",
				where, interp);
	*ret = TAKE_PTR(data);
	*ret_size = size;
	return 0;
}

int initrd_add_base(struct cpio *c, const char *const *dirs, size_t n_dirs, const char *busybox,
		    size_t busybox_size, const char *init, size_t init_size)
{
	int r;

	for (size_t i = 0; i < n_dirs; i++)
		if ((r = cpio_add_dir(c, dirs[i], streq(dirs[i], "tmp") ? 01777 : 0755)) < 0)
			return r;
	if ((r = cpio_add_file(c, "bin/busybox", 0755, busybox, busybox_size)) < 0 ||
	    (r = cpio_add_symlink(c, "bin/sh", "busybox")) < 0 ||
	    (r = cpio_add_file(c, "init", 0755, init, init_size)) < 0 ||
	    (r = cpio_add_node(c, "dev/console", 'c', 0600, 5, 1)) < 0 ||
	    (r = cpio_add_node(c, "dev/null", 'c', 0666, 1, 3)) < 0)
		return r;
	return 0;
}

static int add_modules(const struct initrd_desc *d, const struct initrd_io *io, struct cpio *c,
		       const char *version)
{
	_cleanup_(kmod_freep) struct kmod *k = NULL;
	_cleanup_free_ char *moddir = xasprintf("/lib/modules/%s", version), *dep = NULL,
			    *order = NULL, *deppath = NULL;
	_cleanup_fclose_ FILE *orderf = NULL;
	size_t order_len = 0;
	bool required = false;
	mode_t mode;
	int r;

	if (!d->n_modules)
		return 0;
	for (size_t i = 0; i < d->n_modules; i++)
		required |= d->modules[i].required && d->modules[i].names[0];
	r = io->mode(io->kmod.userdata, moddir, &mode);
	if (r == -ENOENT || r == -ENOTDIR || (r >= 0 && !S_ISDIR(mode))) {
		if (required)
			return log_fail("kernel %s has no modules in the target (%s is missing)",
					version, moddir);
		log_warn("kernel %s has no %s: the initrd holds no modules", version, moddir);
		return 0;
	}
	if (r < 0)
		return log_errno(r, "cannot look at '%s'", moddir);
	if ((r = kmod_open(&io->kmod, moddir, &k)) < 0)
		return r;
	for (size_t i = 0; i < d->n_modules; i++)
		if ((r = kmod_resolve(k, d->modules[i].names, d->modules[i].required, NULL, NULL)) <
		    0)
			return r;
	orderf = open_memstream(&order, &order_len);
	for (size_t i = 0; i < kmod_count(k); i++) {
		_cleanup_free_ char *data = NULL, *path = NULL;
		size_t size;

		if ((r = kmod_module_data(k, i, &data, &size)) < 0)
			return r;
		path = xasprintf("lib/modules/%s/%s", version, kmod_initrd_path(k, i));
		if ((r = cpio_add_file(c, path, 0644, data, size)) < 0)
			return r;
		fprintf(orderf, "/%s\n", path);
	}
	fclose(TAKE_PTR(orderf));
	if ((r = kmod_dep_text(k, &dep)) < 0)
		return r;
	deppath = xasprintf("lib/modules/%s/modules.dep", version);
	if ((r = cpio_add_file(c, deppath, 0644, dep, strlen(dep))) < 0 ||
	    (r = cpio_add_file(c, "etc/modules.load", 0644, order, order_len)) < 0)
		return r;
	log_info("%zu kernel modules", kmod_count(k));
	return 0;
}

/* A dynamically linked program of the target with every library it loads, found from
 * DT_NEEDED in the directories ld.so searches, copied at the same paths. */
static int add_program(const struct initrd_io *io, struct cpio *c, const struct initrd_program *pg)
{
	static const char *const libdirs[] = { "/lib/x86_64-linux-gnu",
					       "/usr/lib/x86_64-linux-gnu",
					       "/lib/aarch64-linux-gnu",
					       "/usr/lib/aarch64-linux-gnu",
					       "/lib/i386-linux-gnu",
					       "/usr/lib/i386-linux-gnu",
					       "/lib64",
					       "/usr/lib64",
					       "/lib",
					       "/usr/lib",
					       NULL };
	_cleanup_strv_free_ char **queue = NULL, **done = NULL;
	_cleanup_free_ char *data = NULL, *interp = NULL;
	const char *where = NULL;
	size_t size;
	int r;

	r = read_first(io, pg->paths, MAX_PROGRAM, &data, &size, &where);
	if (r == -ENOENT)
		return log_fail("the initrd needs the target's %s, which is missing: add %s to "
				"packages.include",
				pg->paths[0], pg->package);
	if (r < 0)
		return log_errno(r, "cannot read '%s' of the target", pg->paths[0]);
	if ((r = elf_interp(data, size, &interp)) < 0 || (r = elf_needed(data, size, &queue)) < 0)
		return log_fail("'%s' of the target is not a usable program", where);
	if ((r = cpio_add_file(c, where + 1, 0755, data, size)) < 0)
		return r;
	if (interp) {
		_cleanup_free_ char *ld = NULL;

		if ((r = io_read(io, interp, 16u << 20, &ld, &size)) < 0)
			return log_errno(r, "cannot read the dynamic loader '%s' of the target",
					 interp);
		if (!cpio_contains(c, interp + 1) &&
		    (r = cpio_add_file(c, interp + 1, 0755, ld, size)) < 0)
			return r;
	}
	/* glibc dlopen()s libgcc_s for pthread_exit and cancellation, which cryptsetup's
	 * threads reach: DT_NEEDED does not say so. */
	queue = strv_append(queue, "libgcc_s.so.1");
	while (queue && queue[0]) {
		_cleanup_free_ char *soname = queue[0], *lib = NULL;
		_cleanup_strv_free_ char **more = NULL;
		const char *dir = NULL;
		size_t n = strv_length(queue);

		memmove(queue, queue + 1, n * sizeof(*queue)); /* the NULL too */
		if (strv_contains(done, soname))
			continue;
		done = strv_append(done, soname);
		for (const char *const *dd = libdirs; *dd && !dir; dd++) {
			_cleanup_free_ char *path = xasprintf("%s/%s", *dd, soname);

			free(lib);
			lib = NULL;
			r = io_read(io, path, MAX_PROGRAM, &lib, &size);
			if (r >= 0)
				dir = *dd;
			else if (r != -ENOENT && r != -ENOTDIR)
				return log_errno(r, "cannot read '%s' of the target", path);
		}
		if (!dir && streq(soname, "libgcc_s.so.1"))
			continue; /* only dlopen()ed: no error if it is not there */
		if (!dir)
			return log_fail("'%s' needs %s, which is in none of the target's library "
					"directories",
					where, soname);
		{
			_cleanup_free_ char *path = xasprintf("%s/%s", dir + 1, soname);

			if (!cpio_contains(c, path) &&
			    (r = cpio_add_file(c, path, 0644, lib, size)) < 0)
				return r;
		}
		if ((r = elf_needed(lib, size, &more)) < 0)
			return log_fail("'%s/%s' of the target is not a usable library", dir,
					soname);
		for (char **m = more; *m; m++)
			if (!strv_contains(done, *m))
				queue = strv_append(queue, *m);
	}
	log_info("%s with %zu libraries", where, strv_length(done));
	return 0;
}

static int add_items(const struct initrd_desc *d, const struct initrd_io *io, struct cpio *c)
{
	int r;

	for (size_t i = 0; i < d->n_items; i++) {
		const struct initrd_item *it = &d->items[i];
		_cleanup_free_ char *data = NULL;
		size_t size = 0;
		mode_t mode = it->mode, st;

		r = io_read(io, it->source, MAX_ITEM, &data, &size);
		if (r < 0)
			return log_errno(r, "cannot copy '%s' of the target into the initrd",
					 it->source);
		if (mode == (mode_t)-1)
			mode = io->mode(io->kmod.userdata, it->source, &st) == 0 && S_ISREG(st) ?
				       (st & 07777) :
				       0644;
		if ((r = cpio_add_file(c, it->dest + 1, mode, data, size)) < 0)
			return r;
	}
	return 0;
}

int initrd_make(const struct initrd_desc *d, const struct initrd_io *io, const char *version,
		int fd)
{
	static const char *const dirs[] = { "bin",  "dev",     "etc",     "lib", "proc",
					    "root", "run",     "sbin",    "sys", "tmp",
					    "usr",  "usr/bin", "usr/sbin" };
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *busybox = NULL, *init = NULL;
	size_t size = 0, init_size = 0;
	int r;

	if (!version[0] || strchr(version, '/') || streq(version, ".") || streq(version, ".."))
		return log_fail("'%s' is not a kernel version", version);
	if ((r = read_busybox(d, io, &busybox, &size)) < 0)
		return r;
	r = io_read(io, d->init, MAX_INIT, &init, &init_size);
	if (r < 0)
		return log_errno(r, "cannot read the initrd's init '%s' of the target", d->init);
	if ((r = cpio_new(fd, d->compression, d->mtime, &c)) < 0)
		return r;
	if ((r = initrd_add_base(c, dirs, ARRAY_SIZE(dirs), busybox, size, init, init_size)) < 0 ||
	    (r = cpio_add_file(c, "etc/initrd.conf", 0644, d->conf ? d->conf : "",
			       d->conf ? strlen(d->conf) : 0)) < 0 ||
	    (r = add_modules(d, io, c, version)) < 0)
		return r;
	for (size_t i = 0; i < d->n_programs; i++)
		if ((r = add_program(io, c, &d->programs[i])) < 0)
			return r;
	if ((r = add_items(d, io, c)) < 0)
		return r;
	return cpio_close(c);
}
