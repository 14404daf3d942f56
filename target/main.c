/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkbootmedia-initrd: the initramfs generator of an image's own system, which the kernel
 * hooks (/etc/kernel/postinst.d/zz-mkbootmedia, postrm.d) run when apt installs or removes
 * a kernel. It makes the initramfs the build would make (lib/initrdgen.h, from the
 * description the build wrote to /etc/mkbootmedia/initrd.conf) and GRUB's menu the build
 * would write (lib/grubmenu.h, from /etc/mkbootmedia/grub.cfg.in), byte for byte.
 *
 *   mkbootmedia-initrd [--root DIR] [-o FILE] VERSION   /boot/initrd.img-VERSION
 *   mkbootmedia-initrd [--root DIR] --remove VERSION    removes it
 *   mkbootmedia-initrd [--root DIR] --update-menu       /boot/grub/grub.cfg
 *                      [--default-kernel VERSION]       its default (else the description's
 *                                                       default-kernel, else the newest)
 *
 * --root DIR reads and writes the system under DIR (default /): symlinks resolve inside it
 * (openat2's RESOLVE_IN_ROOT), so tests run it over an extracted image. Files are written
 * under a temporary name, synced, and renamed. Linked statically (Makefile). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "grubmenu.h"
#include "initrdgen.h"
#include "log.h"

#define DESC_PATH "/etc/mkbootmedia/initrd.conf"
#define MENU_TEMPLATE "/etc/mkbootmedia/grub.cfg.in"
#define MENU_PATH "/boot/grub/grub.cfg"

struct root {
	int fd;
};

static int open_in_root(const struct root *rt, const char *path, int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.mode = (flags & O_CREAT) ? mode : 0,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	const char *rel = path;
	long fd;

	while (*rel == '/')
		rel++;
	fd = syscall(SYS_openat2, rt->fd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int dio_read(void *userdata, const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open_in_root(userdata, path, O_RDONLY, 0);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return read_fd(fd, max, ret, ret_size);
}

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(((const struct kmod_dirent *)a)->name, ((const struct kmod_dirent *)b)->name);
}

static int dio_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	int fd = open_in_root(userdata, path, O_RDONLY | O_DIRECTORY, 0);
	_cleanup_(closedirp) DIR *d = NULL;
	struct kmod_dirent *v = NULL;
	size_t n = 0;
	struct dirent *e;

	if (fd < 0)
		return fd;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].name = xstrdup(e->d_name);
		v[n].type = e->d_type == DT_DIR ? 'd' :
			    e->d_type == DT_REG ? 'f' :
			    e->d_type == DT_LNK ? 'l' :
						  '?';
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				v[n].type = S_ISDIR(st.st_mode) ? 'd' :
					    S_ISREG(st.st_mode) ? 'f' :
					    S_ISLNK(st.st_mode) ? 'l' :
								  '?';
		}
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_dirent);
	*ret = v ? v : xcalloc(1, sizeof(*v));
	*ret_n = n;
	return 0;
}

/* The parent directory of path (opened in the root) and its last component. */
static int open_parent(const struct root *rt, const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);

	*ret_name = slash ? slash + 1 : path;
	return open_in_root(rt, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY, 0);
}

static int dio_mode(void *userdata, const char *path, mode_t *ret_mode)
{
	const char *name;
	_cleanup_close_ int dfd = open_parent(userdata, path, &name);
	struct stat st;

	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	*ret_mode = st.st_mode;
	return 0;
}

/* Writes path in the root from fd's contents or from data: NAME.mkbootmedia-tmp, fsync,
 * rename. */
static int write_in_root(const struct root *rt, const char *path, const char *data, size_t size,
			 int src_fd)
{
	const char *name;
	_cleanup_close_ int dfd = open_parent(rt, path, &name);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (dfd < 0)
		return log_errno(dfd, "cannot open the directory of '%s'", path);
	tmp = xasprintf(".%s.mkbootmedia-tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return log_errno(errno, "cannot create '%s' beside '%s'", tmp, path);
	if (src_fd >= 0) {
		char buf[65536];
		ssize_t k;

		if (lseek(src_fd, 0, SEEK_SET) < 0)
			r = -errno;
		while (r == 0 && (k = read(src_fd, buf, sizeof(buf))) != 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 || write(fd, buf, (size_t)k) != k)
				r = errno ? -errno : -EIO;
		}
	} else if (size && (size_t)write(fd, data, size) != size) {
		r = errno ? -errno : -EIO;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return log_errno(r, "cannot write '%s'", path);
	}
	return 0;
}

/* The build's description; -ENOENT (not logged) when there is none: the image's generator is
 * initramfs-tools. */
static int read_desc(const struct root *rt, struct initrd_desc **ret)
{
	_cleanup_free_ char *text = NULL;
	int r = dio_read((void *)rt, DESC_PATH, INITRD_DESC_MAX, &text, NULL);

	if (r == -ENOENT)
		return r;
	if (r < 0)
		return log_errno(r, "cannot read '%s'", DESC_PATH);
	return initrd_desc_parse(text, DESC_PATH, ret);
}

static int make_initrd(const struct root *rt, const struct initrd_io *io, const char *version,
		       const char *output)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	r = read_desc(rt, &d);
	if (r == -ENOENT)
		return log_errno(r,
				 "cannot read '%s' (written by mkbootmedia for "
				 "initrd.generator: mkbootmedia)",
				 DESC_PATH);
	if (r < 0)
		return r;
	if (!output) {
		_cleanup_free_ char *k = xasprintf("/boot/vmlinuz-%s", version);
		mode_t m;

		if (strchr(version, '/') || dio_mode((void *)rt, k, &m) < 0)
			return log_fail("no kernel '%s' (%s is missing)", version, k);
	}
	fd = output ? open(output, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) :
		      memfd_create("initrd", MFD_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot create '%s'", output ? output : "a temporary file");
	if ((r = initrd_make(d, io, version, fd)) < 0) {
		if (output)
			unlink(output);
		return r;
	}
	if (output)
		return 0;
	path = xasprintf("/boot/initrd.img-%s", version);
	if ((r = write_in_root(rt, path, NULL, 0, fd)) < 0)
		return r;
	log_info("%s", path);
	return 0;
}

static int remove_initrd(const struct root *rt, const char *version)
{
	_cleanup_free_ char *path = xasprintf("/boot/initrd.img-%s", version);
	const char *name;
	_cleanup_close_ int dfd = -1;

	if (!version[0] || strchr(version, '/'))
		return log_fail("'%s' is not a kernel version", version);
	dfd = open_parent(rt, path, &name);
	if (dfd < 0)
		return log_errno(dfd, "cannot open /boot");
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return log_errno(errno, "cannot remove '%s'", path);
	return 0;
}

static int update_menu(const struct root *rt, const struct initrd_io *io, const char *pin)
{
	_cleanup_(initrd_desc_freep) struct initrd_desc *d = NULL;
	_cleanup_free_ char *tpl = NULL, *cfg = NULL;
	_cleanup_strv_free_ char **kernels = NULL;
	int r = dio_read((void *)rt, MENU_TEMPLATE, GRUBMENU_TEMPLATE_MAX, &tpl, NULL);

	if (r == -ENOENT) {
		log_info("no %s (the image has no GRUB menu of mkbootmedia's): nothing to update",
			 MENU_TEMPLATE);
		return 0;
	}
	if (r < 0)
		return log_errno(r, "cannot read '%s'", MENU_TEMPLATE);
	/* The recipe's kernel.version stays the default while it is installed: given by the
	 * kernel hooks (--default-kernel), else from the description; without either, the
	 * newest is. */
	r = read_desc(rt, &d);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!pin && d)
		pin = d->default_kernel;
	if ((r = grubmenu_kernels(&io->kmod, "/boot", pin, &kernels)) < 0)
		return r;
	/* Not an error: the postrm of the last kernel must not fail on it. */
	if (!kernels[0]) {
		log_warn("no kernel in /boot has an initramfs: %s left as it is; the system "
			 "will not boot until a kernel is installed",
			 MENU_PATH);
		return 0;
	}
	if ((r = grubmenu_expand(tpl, kernels, &cfg)) < 0)
		return r;
	if ((r = write_in_root(rt, MENU_PATH, cfg, strlen(cfg), -1)) < 0)
		return r;
	log_info("%s: %s%s", MENU_PATH, kernels[0],
		 kernels[1] ? " (the default), the others in submenus" : "");
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: mkbootmedia-initrd [--root DIR] [-o FILE] VERSION\n"
	      "       mkbootmedia-initrd [--root DIR] --remove VERSION\n"
	      "       mkbootmedia-initrd [--root DIR] --update-menu [--default-kernel VERSION]\n"
	      "Makes /boot/initrd.img-VERSION as mkbootmedia made the image's (from\n" DESC_PATH
	      "), removes it, or writes " MENU_PATH " for the\n"
	      "kernels in /boot (from " MENU_TEMPLATE ").\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "remove", no_argument, NULL, 'R' },
		{ "update-menu", no_argument, NULL, 'm' },
		{ "default-kernel", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/", *output = NULL, *pin = NULL;
	bool remove = false, menu = false;
	struct root rt;
	struct initrd_io io = { .kmod = { .userdata = &rt, .read = dio_read, .list = dio_list },
				.mode = dio_mode };
	int c, r;

	log_set_scope("mkbootmedia-initrd");
	while ((c = getopt_long(argc, argv, "r:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'R':
			remove = true;
			break;
		case 'm':
			menu = true;
			break;
		case 'd':
			pin = optarg;
			break;
		case 'q':
			log_set_level(LOG_WARN);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("mkbootmedia-initrd " MKBOOTMEDIA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (menu ? optind != argc || remove || output :
		   optind + 1 != argc || (remove && output) || pin) {
		usage(stderr);
		return 2;
	}
	rt.fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rt.fd < 0) {
		log_errno(errno, "cannot open '%s'", root);
		return 1;
	}
	if (menu)
		r = update_menu(&rt, &io, pin);
	else if (remove)
		r = remove_initrd(&rt, argv[optind]);
	else
		r = make_initrd(&rt, &io, argv[optind], output);
	close(rt.fd);
	return r < 0 ? 1 : 0;
}
