/* SPDX-License-Identifier: GPL-2.0-or-later */
/* packages.configure: first-boot. Nothing runs at build time: each script is appended to
 * b->first_boot as a step, and the hook /usr/lib/mkbootmedia/first-boot (0755,
 * templates/first-boot) is written again with every step so far. On the image's first boot,
 * mkbootmedia's initramfs (templates/init) finds the hook, mounts the root read-write and
 * runs it as PID 1 instead of /sbin/init: it mounts /proc, /sys, /dev, /run and the local
 * filesystems of /etc/fstab, runs the steps in order with their output on the console and
 * in /var/log/mkbootmedia-first-boot.log, then removes itself and execs /sbin/init.
 *
 * A failing step leaves the hook in place for the next boot (the steps that passed are not
 * run again) and gives a shell on the console rather than the init of a half-configured
 * system; leaving the shell tries again. The steps run before any network is configured.
 * The hook needs mkbootmedia's initramfs, and the root filesystem to hold /usr (the
 * configure stage's verify refuses other recipes). */
#include "target.h"
#include "log.h"
#include "templates.h"

#define FIRST_BOOT_HOOK "/usr/lib/mkbootmedia/first-boot"

int target_run_first_boot(struct build *b, const char *what, const char *script)
{
	const struct tree_attr a = { .mode = 0755, .mtime = b->now };
	_cleanup_free_ char *name = xstrdup(what), *prefix = NULL, *delim = NULL, *hook = NULL;
	const char *tpl = template_get("first-boot", NULL);
	size_t len = strlen(script);
	unsigned n;
	int r;

	if (!b->initrd)
		return log_fail("%s: configure: first-boot needs mkbootmedia's initramfs, which "
				"runs the hook", what);
	if (!b->tree)
		return log_fail("%s: configure: first-boot needs a filesystem mounted at /", what);
	/* The step's name is shown by the hook: letters, digits and a few marks only. */
	for (char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-",
			    *p))
			*p = '_';
	n = ++b->n_first_boot;
	prefix = xasprintf("MKB_FIRST_BOOT_%u", n);
	delim = target_heredoc_delimiter(script, prefix);
	{
		char *steps = NULL;
		size_t slen = 0;
		FILE *f = open_memstream(&steps, &slen);

		fprintf(f, "%smkb_step %u '%s' <<'%s' || return 1\n%s%s%s\n",
			b->first_boot ? b->first_boot : "", n, name, delim, script,
			len && script[len - 1] != '\n' ? "\n" : "", delim);
		fclose(f);
		free(b->first_boot);
		b->first_boot = steps;
	}
	r = template_expand("first-boot", tpl, (const char *const[]){ "STEPS", b->first_boot,
								       NULL },
			    &hook);
	if (r < 0)
		return r;
	r = tree_write(b->tree, FIRST_BOOT_HOOK, &a, hook, strlen(hook));
	if (r < 0)
		return log_errno(r, "cannot write %s into the image", FIRST_BOOT_HOOK);
	log_info("left for the first boot: step %u of %s", n, FIRST_BOOT_HOOK);
	return 0;
}
