/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/initrdgen.c's description (format, then parse, gives the same
 * description; escapes; refused lines) and lib/grubmenu.c (the template's chunks, newest
 * kernel first by dpkg's order or the pinned one, the others in indented submenus, the
 * kernel list from a directory). */
#include "grubmenu.h"
#include "initrdgen.h"

#include <stdlib.h>

#include "check.h"
#include "log.h"
#include "util.h"

static void test_desc_roundtrip(void)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = initrd_desc_new(), *p = NULL;
	_cleanup_free_ char *t1 = NULL, *t2 = NULL;

	d->compression = CPIO_COMPRESSION_XZ;
	d->mtime = 1700000000;
	d->busybox = strv_append(strv_append(NULL, "/usr/bin/busybox"), "/bin/busybox");
	d->init = xstrdup("/usr/lib/mkbootmedia/initrd/init");
	d->default_kernel = xstrdup("6.1.0-9-amd64");
	initrd_desc_add_modules(d, (char *const *)(const char *const[]){ "ahci", "ext4", NULL },
				false);
	initrd_desc_add_modules(d, (char *const *)(const char *const[]){ "dm_crypt", NULL }, true);
	initrd_desc_add_program(d, "cryptsetup-bin",
				(char *const *)(const char *const[]){ "/usr/sbin/cryptsetup",
								      "/sbin/cryptsetup", NULL });
	initrd_desc_add_item(d, "/etc/my file", "/usr/lib/mkbootmedia/initrd/etc/my file", 0600);
	initrd_desc_add_item(d, "/etc/a\\b", "/etc/a\\b", (mode_t)-1);
	d->conf = xstrdup("# c\nROOT='LABEL=R'\n\nX=1\n");
	t1 = initrd_desc_format(d);
	CHECK(strstr(t1,
		     "\nfile /etc/my\\x20file 0600 /usr/lib/mkbootmedia/initrd/etc/my\\x20file\n"));
	CHECK(strstr(t1, "\nfile /etc/a\\x5cb - /etc/a\\x5cb\n"));
	CHECK(strstr(t1, "\nconf\n"));
	CHECK(strstr(t1,
		     "\ninit /usr/lib/mkbootmedia/initrd/init\ndefault-kernel 6.1.0-9-amd64\n"));
	CHECK(initrd_desc_parse(t1, "t", &p) == 0);
	CHECK(p->compression == CPIO_COMPRESSION_XZ && p->mtime == 1700000000);
	CHECK(p->n_modules == 2 && p->modules[1].required && !p->modules[0].required);
	CHECK_STREQ(p->items[0].dest, "/etc/my file");
	CHECK(p->items[0].mode == 0600 && p->items[1].mode == (mode_t)-1);
	CHECK_STREQ(p->items[1].source, "/etc/a\\b");
	CHECK_STREQ(p->conf, d->conf);
	CHECK_STREQ(p->default_kernel, "6.1.0-9-amd64");
	t2 = initrd_desc_format(p);
	CHECK_STREQ(t2, t1);
}

static void test_desc_refused(void)
{
	static const char *const bad[] = {
		"compression lz4\nmtime 0\nbusybox /b\ninit /i\n",
		"compression zstd\nmtime -1\nbusybox /b\ninit /i\n",
		"compression zstd\nmtime 4294967296\nbusybox /b\ninit /i\n",
		"compression zstd\nmtime 0\nbusybox /b\n", /* no init */
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nfile /a 9999 /b\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nfile /a - ../b\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nfile /a -  /b\n", /* empty field */
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nfile /a\\x0 - /b\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nfile /a\\x00 - /b\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\nmodules maybe x\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /../i\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\ndefault-kernel ../x\n",
		"compression zstd\nmtime 0\nbusybox /b\ninit /i\ndefault-kernel a b\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct initrd_desc *d = NULL;

		if (initrd_desc_parse(bad[i], "t", &d) == 0) {
			fprintf(stderr, "  accepted: %s", bad[i]);
			initrd_desc_free(d);
			CHECK(0);
		}
	}
}

static const char tpl[] = "#@# a comment of the template\n"
			  "set default=0\n"
			  "\n"
			  "#@kernel\n"
			  "menuentry 'Linux @VERSION@' {\n"
			  "\tlinux /vmlinuz-@VERSION@\n"
			  "}\n"
			  "#@other\n"
			  "menuentry 'Memtest86+' {\n"
			  "}\n"
			  "#@kernel\n"
			  "menuentry 'Reset @VERSION@' {\n"
			  "}\n";

static void test_menu(void)
{
	_cleanup_free_ char *one = NULL, *two = NULL;
	char *const k1[] = { (char *)"6.1.0-50-amd64", NULL };
	char *const k2[] = { (char *)"6.12.95+deb12-amd64", (char *)"6.1.0-50-amd64", NULL };

	CHECK(grubmenu_expand(tpl, k1, &one) == 0);
	CHECK_STREQ(one, "set default=0\n\nmenuentry 'Linux 6.1.0-50-amd64' {\n"
			 "\tlinux /vmlinuz-6.1.0-50-amd64\n}\nmenuentry 'Memtest86+' {\n}\n"
			 "menuentry 'Reset 6.1.0-50-amd64' {\n}\n");
	CHECK(grubmenu_expand(tpl, k2, &two) == 0);
	CHECK_STREQ(two,
		    "set default=0\n\nmenuentry 'Linux 6.12.95+deb12-amd64' {\n"
		    "\tlinux /vmlinuz-6.12.95+deb12-amd64\n}\nmenuentry 'Memtest86+' {\n}\n"
		    "menuentry 'Reset 6.12.95+deb12-amd64' {\n}\n"
		    "submenu 'Linux 6.1.0-50-amd64' {\n"
		    "\tmenuentry 'Linux 6.1.0-50-amd64' {\n\t\tlinux /vmlinuz-6.1.0-50-amd64\n\t}\n"
		    "\tmenuentry 'Reset 6.1.0-50-amd64' {\n\t}\n}\n");
}

static void test_menu_refused(void)
{
	char *out = NULL;
	char *const k1[] = { (char *)"1", NULL };
	char *const none[] = { NULL };

	CHECK(grubmenu_expand("set a=1\n#@other\nx\n", k1, &out) < 0);
	CHECK(grubmenu_expand("#@kernels\nx\n", k1, &out) < 0);
	CHECK(grubmenu_expand(tpl, none, &out) < 0);
	CHECK(!out);
}

/* A fake /boot for grubmenu_kernels. */
static int fake_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	static const char *const names[] = {
		"config-6.1.0-50-amd64",    "initrd.img-6.1.0-50-amd64",
		"initrd.img-6.1.0-9-amd64", "initrd.img-6.12.95+deb12-amd64",
		"initrd.img-bad version",   "vmlinuz-6.1.0-50-amd64",
		"vmlinuz-6.1.0-9-amd64",    "vmlinuz-6.12.95+deb12-amd64",
		"vmlinuz-6.2.0-1-amd64",    "vmlinuz-bad version",
	};

	*ret = xcalloc(ARRAY_SIZE(names), sizeof(**ret));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		(*ret)[i] = (struct kmod_dirent){ xstrdup(names[i]), 'f' };
	*ret_n = ARRAY_SIZE(names);
	return 0;
}

static void test_kernels(void)
{
	const struct kmod_io io = { .list = fake_list };
	_cleanup_strv_free_ char **k = NULL;

	CHECK(grubmenu_kernels(&io, "/boot", NULL, &k) == 0);
	/* dpkg's order: 6.12 > 6.1.0-50 > 6.1.0-9; 6.2.0-1 has no initrd */
	CHECK(strv_length(k) == 3);
	CHECK_STREQ(k[0], "6.12.95+deb12-amd64");
	CHECK_STREQ(k[1], "6.1.0-50-amd64");
	CHECK_STREQ(k[2], "6.1.0-9-amd64");
}

/* kernel.version: the pinned kernel first, the others newest first; a pin that cannot boot
 * (no initrd) or is not there changes nothing. */
static void test_kernels_pinned(void)
{
	const struct kmod_io io = { .list = fake_list };
	static const struct {
		const char *pin, *order;
	} cases[] = {
		{ "6.1.0-9-amd64", "6.1.0-9-amd64 6.12.95+deb12-amd64 6.1.0-50-amd64" },
		{ "6.1.0-50-amd64", "6.1.0-50-amd64 6.12.95+deb12-amd64 6.1.0-9-amd64" },
		{ "6.12.95+deb12-amd64", "6.12.95+deb12-amd64 6.1.0-50-amd64 6.1.0-9-amd64" },
		{ "6.2.0-1-amd64", "6.12.95+deb12-amd64 6.1.0-50-amd64 6.1.0-9-amd64" },
		{ "7.0", "6.12.95+deb12-amd64 6.1.0-50-amd64 6.1.0-9-amd64" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_strv_free_ char **k = NULL;
		_cleanup_free_ char *order = NULL;

		CHECK(grubmenu_kernels(&io, "/boot", cases[i].pin, &k) == 0);
		order = xasprintf("%s %s %s", k[0], k[1], k[2]);
		CHECK(strv_length(k) == 3);
		CHECK_STREQ(order, cases[i].order);
	}
}

/* An empty /boot, pinned or not: an empty list. */
static int empty_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	*ret = xcalloc(1, sizeof(**ret));
	*ret_n = 0;
	return 0;
}

static void test_kernels_none(void)
{
	const struct kmod_io io = { .list = empty_list };
	_cleanup_strv_free_ char **k = NULL;

	CHECK(grubmenu_kernels(&io, "/boot", "6.1.0-9-amd64", &k) == 0);
	CHECK(k && !k[0]);
}

int main(void)
{
	RUN_TEST(test_desc_roundtrip);
	RUN_TEST(test_desc_refused);
	RUN_TEST(test_menu);
	RUN_TEST(test_menu_refused);
	RUN_TEST(test_kernels);
	RUN_TEST(test_kernels_pinned);
	RUN_TEST(test_kernels_none);
	CHECK_EXIT();
}
