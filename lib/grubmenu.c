/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "grubmenu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debver.h"
#include "log.h"

static bool good_version(const char *v)
{
	return v[0] && v[0] != '.' && strlen(v) < 128 &&
	       v[strspn(v,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~_-")] ==
		       0;
}

static int cmp_newest_first(const void *a, const void *b)
{
	return -debver_cmp(*(char *const *)a, *(char *const *)b);
}

int grubmenu_kernels(const struct kmod_io *io, const char *dir, const char *pin, char ***ret)
{
	struct kmod_dirent *d = NULL;
	size_t n = 0;
	char **l = xcalloc(1, sizeof(*l));
	int r = io->list(io->userdata, dir, &d, &n);

	if (r < 0 && r != -ENOENT) {
		free(l);
		return log_errno(r, "cannot list '%s'", dir);
	}
	for (size_t i = 0; i < n; i++) {
		const char *v = d[i].name + strlen("vmlinuz-");
		_cleanup_free_ char *initrd = NULL;

		if (!startswith(d[i].name, "vmlinuz-") || d[i].type == 'd' || !good_version(v))
			continue;
		initrd = xasprintf("initrd.img-%s", v);
		for (size_t j = 0; j < n; j++)
			if (streq(d[j].name, initrd) && d[j].type != 'd') {
				l = strv_append(l, v);
				break;
			}
	}
	for (size_t i = 0; i < n; i++)
		free(d[i].name);
	free(d);
	qsort(l, strv_length(l), sizeof(*l), cmp_newest_first);
	for (size_t i = 0; pin && l[i]; i++) {
		if (i && streq(l[i], pin)) {
			char *k = l[i];

			memmove(l + 1, l, i * sizeof(*l));
			l[0] = k;
			break;
		}
	}
	*ret = l;
	return 0;
}

static void put_expanded(struct strbuf *out, const char *s, size_t n, const char *version)
{
	static const char key[] = "@VERSION@";

	while (n) {
		const char *at = memmem(s, n, key, strlen(key));
		size_t k = at ? (size_t)(at - s) : n;

		strbuf_add(out, s, k);
		s += k;
		n -= k;
		if (at) {
			strbuf_adds(out, version);
			s += strlen(key);
			n -= strlen(key);
		}
	}
}

struct chunk {
	struct strbuf text;
	bool kernel;
};

int grubmenu_expand(const char *template, char *const *kernels, char **ret)
{
	struct strbuf out = { 0 }, header = { 0 };
	struct chunk *chunks = NULL;
	size_t n = 0, n_kernel = 0;
	int r = 0;

	if (!kernels || !kernels[0])
		return log_fail("no kernel to list in the menu");
	for (const char *l = template; *l;) {
		size_t len = strcspn(l, "\n");
		const char *next = l + len + (l[len] == '\n');

		if ((len == 8 && startswith(l, "#@kernel")) ||
		    (len == 7 && startswith(l, "#@other"))) {
			chunks = xrealloc(chunks, (n + 1) * sizeof(*chunks));
			chunks[n] = (struct chunk){ { 0 }, l[2] == 'k' };
			n_kernel += chunks[n++].kernel;
		} else if (startswith(l, "#@#")) {
			/* a comment of the template's own */
		} else if (startswith(l, "#@")) {
			r = log_fail("menu template: unknown marker '%.*s'", (int)len, l);
			goto out;
		} else {
			strbuf_add(n ? &chunks[n - 1].text : &header, l, (size_t)(next - l));
		}
		l = next;
	}
	if (!n_kernel) {
		r = log_fail("menu template: no '#@kernel' chunk");
		goto out;
	}
	if (header.s)
		strbuf_add(&out, header.s, header.len);
	for (size_t i = 0; i < n; i++)
		if (chunks[i].text.s)
			put_expanded(&out, chunks[i].text.s, chunks[i].text.len,
				     chunks[i].kernel ? kernels[0] : "");
	for (char *const *k = kernels + 1; *k; k++) {
		strbuf_adds(&out, "submenu 'Linux ");
		strbuf_adds(&out, *k);
		strbuf_adds(&out, "' {\n");
		for (size_t i = 0; i < n; i++) {
			struct strbuf e = { 0 };

			if (!chunks[i].kernel || !chunks[i].text.s)
				continue;
			put_expanded(&e, chunks[i].text.s, chunks[i].text.len, *k);
			/* indented, one tab a line (blank lines left blank) */
			for (const char *l = e.s; *l;) {
				size_t len = strcspn(l, "\n");

				if (len)
					strbuf_adds(&out, "\t");
				strbuf_add(&out, l, len + (l[len] == '\n'));
				l += len + (l[len] == '\n');
			}
			strbuf_freep(&e);
		}
		strbuf_adds(&out, "}\n");
	}
	*ret = strbuf_take(&out);
out:
	for (size_t i = 0; i < n; i++)
		strbuf_freep(&chunks[i].text);
	free(chunks);
	strbuf_freep(&header);
	strbuf_freep(&out);
	return r;
}
