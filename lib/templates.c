/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "templates.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* Each template between two symbols, plus a NUL, in .rodata. Paths are relative to the top of
 * the source tree, where make runs the compiler (the Makefile lists them as prerequisites). */
#define EMBED(sym, file)                                                       \
	__asm__(".pushsection .rodata\n"                                       \
		".global " #sym "_start\n" #sym "_start:\n"                    \
		".incbin \"" file "\"\n"                                       \
		".global " #sym "_end\n" #sym "_end:\n"                        \
		".byte 0\n"                                                    \
		".popsection\n");                                              \
	extern const char sym##_start[], sym##_end[]

EMBED(tpl_init, "templates/init");
EMBED(tpl_grub_cfg, "templates/grub.cfg");
EMBED(tpl_vm_init, "templates/vm-init");
EMBED(tpl_first_boot, "templates/first-boot");
EMBED(tpl_kernel_postinst, "templates/kernel-postinst");
EMBED(tpl_kernel_postrm, "templates/kernel-postrm");

static const struct {
	const char *name;
	const char *start, *end;
} templates[] = {
	{ "init", tpl_init_start, tpl_init_end },
	{ "grub.cfg", tpl_grub_cfg_start, tpl_grub_cfg_end },
	{ "vm-init", tpl_vm_init_start, tpl_vm_init_end },
	{ "first-boot", tpl_first_boot_start, tpl_first_boot_end },
	{ "kernel-postinst", tpl_kernel_postinst_start, tpl_kernel_postinst_end },
	{ "kernel-postrm", tpl_kernel_postrm_start, tpl_kernel_postrm_end },
};

const char *template_get(const char *name, size_t *ret_size)
{
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (streq(templates[i].name, name)) {
			if (ret_size)
				*ret_size = (size_t)(templates[i].end - templates[i].start);
			return templates[i].start;
		}
	return NULL;
}

int template_expand(const char *name, const char *text, const char *const *vars, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = text;

	while (*p) {
		const char *at = strchr(p, '@'), *val = NULL, *end;
		size_t n;

		if (!at)
			at = p + strlen(p);
		n = (size_t)(at - p);
		if (*at == '@') {
			end = strchr(at + 1, '@');
			if (!end)
				return log_fail("template '%s': unterminated placeholder", name);
			if (end == at + 1) {
				val = "@";
			} else {
				for (const char *const *v = vars; v && *v; v += 2)
					if (strlen(*v) == (size_t)(end - at - 1) &&
					    !memcmp(*v, at + 1, (size_t)(end - at - 1)))
						val = v[1];
				if (!val)
					return log_fail("template '%s': no value for @%.*s@", name,
							(int)(end - at - 1), at + 1);
			}
		}
		if (len + n + (val ? strlen(val) : 0) + 1 > cap) {
			cap = 2 * (len + n + (val ? strlen(val) : 0)) + 64;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, p, n);
		len += n;
		if (val) {
			memcpy(out + len, val, strlen(val));
			len += strlen(val);
			p = strchr(at + 1, '@') + 1;
		} else {
			p = at;
		}
		out[len] = 0;
	}
	if (!out)
		out = xstrdup("");
	*ret = TAKE_PTR(out);
	return 0;
}
