/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel modules (lib/kmod.c, lib/elfinfo.c). The whole input goes to the ELF readers
 * (modinfo_parse, elf_needed, elf_interp). Split at lines "@@@", its parts are also a module
 * tree: modules.builtin, modules.dep, modules.softdep, modules.alias,
 * modules.builtin.modinfo, then the bytes of every module file (.ko, .ko.xz, ...), read
 * by kmod_open and kmod_resolve as the initrd stage reads a kernel's. */
#include "elfinfo.h"
#include "fuzz.h"
#include "kmod.h"

#define MODDIR "/lib/modules/6.1.0-fuzz"
#define SEP "\n@@@\n"

static const char *const files[] = { "modules.builtin", "modules.dep", "modules.softdep",
				     "modules.alias", "modules.builtin.modinfo", NULL };

struct parts {
	const char *p[6];
	size_t n[6];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int io_read(void *userdata, const char *path, size_t max, char **ret_data,
		   size_t *ret_size)
{
	const struct parts *s = userdata;
	int i;

	if (!startswith(path, MODDIR "/"))
		return -ENOENT;
	path += strlen(MODDIR "/");
	for (i = 0; files[i]; i++)
		if (streq(path, files[i]))
			break;
	if (!files[i] && !strstr(path, ".ko"))
		return -ENOENT;
	if (!s->p[i])
		return -ENOENT;
	if (s->n[i] > max)
		return -EFBIG;
	*ret_data = xmalloc(s->n[i] + 1);
	memcpy(*ret_data, s->p[i], s->n[i]);
	(*ret_data)[s->n[i]] = 0;
	*ret_size = s->n[i];
	return 0;
}

static int io_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	struct kmod_dirent *v;

	if (streq(path, MODDIR)) {
		v = xcalloc(1, sizeof(*v));
		v[0] = (struct kmod_dirent){ xstrdup("kernel"), 'd' };
		*ret_n = 1;
	} else if (streq(path, MODDIR "/kernel")) {
		v = xcalloc(2, sizeof(*v));
		v[0] = (struct kmod_dirent){ xstrdup("a.ko"), 'f' };
		v[1] = (struct kmod_dirent){ xstrdup("b.ko.xz"), 'f' };
		*ret_n = 2;
	} else {
		return -ENOENT;
	}
	*ret = v;
	return 0;
}

static void elf_parsers(const uint8_t *data, size_t size)
{
	char **info = NULL, **needed = NULL, *interp = NULL;

	if (modinfo_parse(data, size, &info) >= 0)
		strv_free(info);
	if (elf_needed(data, size, &needed) >= 0)
		strv_free(needed);
	if (elf_interp(data, size, &interp) >= 0)
		free(interp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const names[] = { "a", "ext4", "usb-storage", "b", NULL };
	struct parts s = { { NULL } };
	const char *p = (const char *)data, *end = p + size;
	struct kmod *k = NULL;
	char *text = NULL;

	elf_parsers(data, size);
	for (size_t i = 0; i < ARRAY_SIZE(s.p) && p; i++) {
		const char *sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));

		s.p[i] = p;
		s.n[i] = sep && i + 1 < ARRAY_SIZE(s.p) ? (size_t)(sep - p) : (size_t)(end - p);
		p = sep && i + 1 < ARRAY_SIZE(s.p) ? sep + strlen(SEP) : NULL;
	}
	if (kmod_open(&(struct kmod_io){ &s, io_read, io_list }, MODDIR, &k) < 0)
		return 0;
	(void)kmod_version(k);
	if (kmod_resolve(k, names, false, NULL, NULL) == 0) {
		for (size_t i = 0; i < kmod_count(k); i++) {
			char *mod = NULL;
			size_t n = 0, mod_size;

			(void)kmod_name(k, i);
			(void)kmod_path(k, i);
			(void)kmod_initrd_path(k, i);
			(void)kmod_deps(k, i, &n);
			if (kmod_module_data(k, i, &mod, &mod_size) == 0)
				free(mod);
		}
		if (kmod_dep_text(k, &text) == 0)
			free(text);
		if (kmod_order_text(k, &text) == 0)
			free(text);
	}
	kmod_free(k);
	return 0;
}
