// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/tree.c. Each test makes two fresh filesystems with lib/ext2.c, root.img
 * (ext4) mounted at "/" and boot.img (ext2) at "/boot", works on them through the tree, reads
 * back through the tree, then closes them and asks tools that share none of our code:
 * e2fsck -fn must find both clean, and debugfs's stat, cat and ls must show each entry in the
 * filesystem it belongs to, with its owner, mode and times. */
#include "tree.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "capture.h"
#include "check.h"
#include "ext2.h"
#include "helpers.h"
#include "log.h"

#define NOW 1700000000   /* the tree's time for the directories it makes */
#define MTIME 1600000000 /* the time the tests give */
#define MIB (1024 * 1024)

/* ---- helpers ---- */

/* debugfs's answer to one request on an image of the scratch directory. */
static _printf_(2, 3) char *debugfs(const char *img, const char *fmt, ...)
{
	_cleanup_free_ char *request = NULL;
	va_list ap;

	va_start(ap, fmt);
	request = xvasprintf(fmt, ap);
	va_end(ap);
	return output("debugfs -R '%s' %s/%s 2>/dev/null", request, tmpdir, img);
}

/* The number after `key` in debugfs's text ("Links: 2", "Mode:  0640" in octal, "mtime:
 * 0x5f5e1000" in hex), or -1. */
static long long field(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? strtoll(p + strlen(key), NULL, 0) : -1;
}

static int fsck(const char *img)
{
	return run("e2fsck -fn %s/%s > %s/fsck.out 2>&1 || { cat %s/fsck.out >&2; false; }", tmpdir,
		   img, tmpdir, tmpdir);
}

/* Two filesystems in a tree: root.img at "/", boot.img at "/boot". */
struct fx {
	ext2_filsys root, boot;
	struct tree *t;
};

static int fx_mkfs(const char *name, enum ext2_kind type, uint64_t size, ext2_filsys *ret)
{
	_cleanup_free_ char *path = tmp_path(name);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct ext2_params p = { .type = type,
				 .size = size,
				 .now = NOW,
				 .zeroed = true,
				 .uuid = { type + 1 },
				 .hash_seed = { 7 } };

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return ext2_mkfs(path, &p, ret);
}

static int fx_make(struct fx *f)
{
	int r;

	*f = (struct fx){};
	if ((r = fx_mkfs("root.img", EXT2_KIND_EXT4, 16 * MIB, &f->root)) < 0 ||
	    (r = fx_mkfs("boot.img", EXT2_KIND_EXT2, 8 * MIB, &f->boot)) < 0)
		return r;
	f->t = tree_new(NOW);
	if ((r = tree_mount(f->t, "/", f->root)) < 0 ||
	    (r = tree_mount(f->t, "/boot", f->boot)) < 0)
		return r;
	return 0;
}

/* Frees the tree and closes both filesystems, so that the tools can read the images. */
static int fx_close(struct fx *f)
{
	int r = 0;

	f->t = tree_free(f->t);
	if (f->root && ext2_close(&f->root, "root") < 0)
		r = -EIO;
	if (f->boot && ext2_close(&f->boot, "boot") < 0)
		r = -EIO;
	return r;
}

static void fx_done(struct fx *f)
{
	f->t = tree_free(f->t);
	ext2_abandon(&f->root);
	ext2_abandon(&f->boot);
}

static char *read_text(struct tree *t, const char *path)
{
	char *data = NULL;

	if (tree_read(t, path, 1 << 20, &data, NULL) < 0)
		return NULL;
	return data;
}

/* Runs `call` with the log captured: the call's result and what was logged. */
#define CAPTURED(call, ret_log)                                                                    \
	({                                                                                         \
		int _r;                                                                            \
		capture_begin();                                                                   \
		_r = (call);                                                                       \
		*(ret_log) = capture_end();                                                        \
		_r;                                                                                \
	})

static const struct tree_attr root_dir = { .mode = 0755, .mtime = MTIME };

/* ---- tests ---- */

/* Files, directories, symlinks, hard links and device nodes with their owner, mode and time;
 * missing parents are made 0755 root:root with the tree's time. */
static void test_create(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr hi = { .uid = 100000, .gid = 70000, .mode = 04755, .mtime = MTIME };
	const struct tree_attr file = { .uid = 1000, .gid = 100, .mode = 0640, .mtime = MTIME },
			       dir = { .uid = 0, .gid = 50, .mode = 02775, .mtime = MTIME + 2 },
			       link = { .mode = 0777, .mtime = MTIME + 3 };
	_cleanup_free_ char *s = NULL, *hostname = NULL, *doc = NULL, *usr = NULL, *bin = NULL,
			    *suid = NULL, *staff = NULL, *null = NULL, *ls = NULL, *cat = NULL;
	struct tree_stat st;

	CHECK(fx_make(&f) == 0);
	CHECK(tree_write(f.t, "/etc/hostname", &file, "box\n", 4) == 0);
	CHECK(tree_write(f.t, "/usr/share/doc/pkg/README", &file, "read me\n", 8) == 0);
	CHECK(tree_write(f.t, "/usr/bin/su", &hi, "ELF", 3) == 0);
	CHECK(tree_mkdir(f.t, "/srv/staff", &dir) == 0);
	CHECK(tree_symlink(f.t, "/bin", "usr/bin", &link) == 0);
	CHECK(tree_link(f.t, "/etc/hostname.bak", "/etc/hostname") == 0);
	CHECK(tree_mknod(f.t, "/dev/null", 'c', &(struct tree_attr){ .mode = 0666 }, 1, 3) == 0);

	/* Read back through the tree. */
	s = read_text(f.t, "/etc/hostname.bak");
	CHECK_STREQ(s, "box\n");
	free(s);
	s = read_text(f.t, "/bin/su"); /* through the symlink */
	CHECK_STREQ(s, "ELF");
	CHECK(tree_lstat(f.t, "/etc/hostname", &st) == 0);
	CHECK(st.mode == (S_IFREG | 0640) && st.size == 4 && st.uid == 1000 && st.gid == 100);
	CHECK(tree_lstat(f.t, "/bin", &st) == 0);
	CHECK(S_ISLNK(st.mode) && st.size == 7);
	CHECK(tree_lstat(f.t, "/usr/bin/su", &st) == 0);
	CHECK(st.mode == (S_IFREG | 04755) && st.uid == 100000 && st.gid == 70000);
	CHECK(tree_exists(f.t, "/usr/share/doc/pkg") == 1);
	CHECK(tree_exists(f.t, "/usr/share/nothing") == 0);
	CHECK(fx_close(&f) == 0);

	/* What the tools see. */
	CHECK(fsck("root.img") == 0);
	CHECK(fsck("boot.img") == 0);
	hostname = debugfs("root.img", "stat /etc/hostname");
	CHECK(hostname && strstr(hostname, "Type: regular"));
	CHECK(field(hostname, "Mode:") == 0640);
	CHECK(field(hostname, "User:") == 1000 && field(hostname, "Group:") == 100);
	CHECK(field(hostname, "Size:") == 4);
	CHECK(field(hostname, "Links:") == 2); /* and hostname.bak */
	CHECK(field(hostname, "mtime:") == MTIME && field(hostname, "atime:") == MTIME &&
	      field(hostname, "ctime:") == MTIME);
	cat = debugfs("root.img", "cat /etc/hostname.bak");
	CHECK_STREQ(cat, "box\n");
	suid = debugfs("root.img", "stat /usr/bin/su");
	CHECK(field(suid, "Mode:") == 04755);
	CHECK(field(suid, "User:") == 100000 && field(suid, "Group:") == 70000);
	/* Parents made on the way: 0755 root:root at the tree's time. */
	doc = debugfs("root.img", "stat /usr/share/doc");
	CHECK(doc && strstr(doc, "Type: directory"));
	CHECK(field(doc, "Mode:") == 0755 && field(doc, "User:") == 0 && field(doc, "Group:") == 0);
	CHECK(field(doc, "mtime:") == NOW);
	usr = debugfs("root.img", "stat /usr");
	CHECK(field(usr, "Links:") == 4); /* ., .. of share, .. of bin */
	staff = debugfs("root.img", "stat /srv/staff");
	CHECK(field(staff, "Mode:") == 02775 && field(staff, "Group:") == 50);
	CHECK(field(staff, "mtime:") == MTIME + 2);
	bin = debugfs("root.img", "stat /bin");
	CHECK(bin && strstr(bin, "Type: symlink") && strstr(bin, "Fast link dest: \"usr/bin\""));
	CHECK(field(bin, "mtime:") == MTIME + 3);
	null = debugfs("root.img", "stat /dev/null");
	CHECK(null && strstr(null, "Type: character special"));
	CHECK(strstr(null, "Device major/minor number: 01:03"));
	CHECK(field(null, "Mode:") == 0666);
	ls = debugfs("root.img", "ls /boot");
	CHECK(ls && !strstr(ls, "hostname"));
}

/* A path below a mount point lands in the filesystem mounted there, however it is spelled. */
static void test_mount_points(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr a = { .mode = 0644, .mtime = MTIME },
			       bootdir = { .mode = 0700, .mtime = MTIME + 5 };
	_cleanup_free_ char *log = NULL, *vmlinuz = NULL, *config = NULL, *root_boot = NULL,
			    *boot_root = NULL, *etc_x = NULL, *map = NULL, *ls = NULL, *grub = NULL;
	struct tree_dirent *d = NULL;
	size_t n = 0;

	CHECK(fx_make(&f) == 0);
	CHECK(tree_write(f.t, "/boot/vmlinuz-6.1", &a, "kernel", 6) == 0);
	CHECK(tree_write(f.t, "/boot/grub/grub.cfg", &a, "menu", 4) == 0); /* parent in boot */
	CHECK(tree_symlink(f.t, "/kernel", "boot", &a) == 0);
	CHECK(tree_write(f.t, "/kernel/config-6.1", &a, "cfg", 3) == 0);
	CHECK(tree_write(f.t, "//boot/./grub/../System.map", &a, "map", 3) == 0);
	CHECK(tree_write(f.t, "/boot/../etc/x", &a, "x", 1) == 0);
	CHECK(tree_mkdir(f.t, "/boot", &bootdir) == 0);
	/* A hard link within /boot works; across filesystems it cannot exist. */
	CHECK(tree_link(f.t, "/boot/vmlinuz", "/boot/vmlinuz-6.1") == 0);
	CHECK(CAPTURED(tree_link(f.t, "/vmlinuz", "/boot/vmlinuz-6.1"), &log) < 0);
	CHECK(strstr(log, "different filesystems"));
	CHECK(tree_exists(f.t, "/vmlinuz") == 0);

	CHECK(tree_list(f.t, "/boot", &d, &n) == 0);
	CHECK(n == 6);
	CHECK(n == 6 && streq(d[0].name, "System.map") && streq(d[1].name, "config-6.1") &&
	      streq(d[2].name, "grub") && d[2].type == 'd' && streq(d[3].name, "lost+found") &&
	      streq(d[4].name, "vmlinuz") && streq(d[5].name, "vmlinuz-6.1"));
	tree_dirents_free(d, n);
	CHECK(fx_close(&f) == 0);

	CHECK(fsck("root.img") == 0);
	CHECK(fsck("boot.img") == 0);
	vmlinuz = debugfs("boot.img", "stat /vmlinuz-6.1");
	CHECK(field(vmlinuz, "Size:") == 6 && field(vmlinuz, "Links:") == 2);
	config = debugfs("boot.img", "cat /config-6.1");
	CHECK_STREQ(config, "cfg");
	map = debugfs("boot.img", "cat /System.map");
	CHECK_STREQ(map, "map");
	grub = debugfs("boot.img", "cat /grub/grub.cfg");
	CHECK_STREQ(grub, "menu");
	etc_x = debugfs("root.img", "cat /etc/x");
	CHECK_STREQ(etc_x, "x");
	/* In the root filesystem, /boot is an empty directory. */
	ls = debugfs("root.img", "ls /boot");
	CHECK(ls && !strstr(ls, "vmlinuz") && !strstr(ls, "grub") && !strstr(ls, "config"));
	root_boot = debugfs("root.img", "stat /boot");
	CHECK(field(root_boot, "Mode:") == 0700 && field(root_boot, "mtime:") == MTIME + 5);
	/* The attributes of the mount point go to the mounted root too: that is what is seen
	 * once booted. */
	boot_root = debugfs("boot.img", "stat /");
	CHECK(field(boot_root, "Mode:") == 0700 && field(boot_root, "mtime:") == MTIME + 5);
}

/* Symlinks are followed inside the target: an absolute target starts at the target's root,
 * ".." stops there, and neither reaches the host. */
static void test_symlinks_inside(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr a = { .mode = 0644, .mtime = MTIME };
	_cleanup_free_ char *host = xasprintf("/tmp/test-tree-escape-%d", (int)getpid());
	_cleanup_free_ char *up = xasprintf("../../../../../..%s", host);
	_cleanup_free_ char *log = NULL, *passwd = NULL, *esc = NULL, *inboot = NULL,
			    *lsroot = NULL, *loop = NULL;
	char *s = NULL;

	CHECK(fx_make(&f) == 0);
	CHECK(tree_symlink(f.t, "/abs", "/etc", &a) == 0);
	CHECK(tree_write(f.t, "/abs/passwd", &a, "root:x:0:0::/root:/bin/sh\n", 26) == 0);
	CHECK(tree_symlink(f.t, "/etc/up", up, &a) == 0);
	CHECK(tree_write(f.t, "/etc/up/file", &a, "inside", 6) == 0);
	CHECK(access(host, F_OK) < 0 && errno == ENOENT);
	CHECK(tree_symlink(f.t, "/host", host, &a) == 0);
	CHECK(tree_write(f.t, "/host/file2", &a, "inside too", 10) == 0);
	CHECK(access(host, F_OK) < 0 && errno == ENOENT);
	/* From the boot filesystem back into the root one. */
	CHECK(tree_symlink(f.t, "/boot/etc", "/etc", &a) == 0);
	CHECK(tree_write(f.t, "/boot/etc/motd", &a, "hi", 2) == 0);
	CHECK(tree_symlink(f.t, "/boot/rel", "../srv", &a) == 0);
	CHECK(tree_write(f.t, "/boot/rel/data", &a, "d", 1) == 0);
	/* The last component is replaced, not followed, when it is written. */
	CHECK(tree_symlink(f.t, "/etc/shadow", "/host-shadow", &a) == 0);
	CHECK(tree_write(f.t, "/etc/shadow", &a, "s", 1) == 0);
	CHECK(tree_exists(f.t, "/host-shadow") == 0);
	/* A loop ends with an error. */
	CHECK(tree_symlink(f.t, "/loop", "/loop/x", &a) == 0);
	CHECK(CAPTURED(tree_write(f.t, "/loop/y", &a, "", 0), &log) < 0);
	CHECK(strstr(log, "too many levels of symbolic links"));
	free(log);
	log = NULL;
	/* Strict mode (package content): climbing above the root is refused, not stopped. */
	tree_set_strict(f.t, true);
	CHECK(CAPTURED(tree_write(f.t, "/etc/up/file3", &a, "", 0), &log) == -EXDEV);
	CHECK(strstr(log, "leads outside the target through a symlink"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_write(f.t, "/../x", &a, "", 0), &log) == -EXDEV);
	CHECK(tree_write(f.t, "/abs/group", &a, "root:x:0:\n", 10) == 0);
	tree_set_strict(f.t, false);

	s = read_text(f.t, "/etc/passwd");
	CHECK(s && startswith(s, "root:x:0:0:"));
	free(s);
	s = read_text(f.t, "/host/file2");
	CHECK_STREQ(s, "inside too");
	free(s);
	CHECK(fx_close(&f) == 0);

	CHECK(access(host, F_OK) < 0 && errno == ENOENT);
	CHECK(fsck("root.img") == 0);
	CHECK(fsck("boot.img") == 0);
	passwd = debugfs("root.img", "cat /etc/passwd");
	CHECK(passwd && startswith(passwd, "root:x:0:0:"));
	esc = debugfs("root.img", "cat %s/file", host);
	CHECK_STREQ(esc, "inside");
	free(esc);
	esc = debugfs("root.img", "cat %s/file2", host);
	CHECK_STREQ(esc, "inside too");
	free(esc);
	esc = debugfs("root.img", "cat /etc/motd");
	CHECK_STREQ(esc, "hi");
	free(esc);
	esc = debugfs("root.img", "cat /srv/data");
	CHECK_STREQ(esc, "d");
	free(esc);
	esc = debugfs("root.img", "stat /etc/shadow");
	CHECK(esc && strstr(esc, "Type: regular"));
	free(esc);
	esc = debugfs("root.img", "cat /etc/group");
	CHECK_STREQ(esc, "root:x:0:\n");
	inboot = debugfs("boot.img", "ls -l /");
	CHECK(inboot && !strstr(inboot, "motd") && !strstr(inboot, "data"));
	lsroot = debugfs("root.img", "ls /");
	CHECK(lsroot && !strstr(lsroot, "host-shadow"));
	loop = debugfs("root.img", "stat /loop");
	CHECK(loop && strstr(loop, "Type: symlink"));
}

/* Writing over an entry replaces it and frees what it held; a directory is never replaced by
 * a non-directory, and a non-directory never serves as one. */
static void test_replace_and_refuse(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr a = { .mode = 0644, .mtime = MTIME },
			       b = { .uid = 5, .mode = 0600, .mtime = MTIME + 9 };
	_cleanup_free_ char *big = xmalloc(300000), *log = NULL, *motd = NULL, *old = NULL,
			    *lnk = NULL, *dir = NULL, *file = NULL, *ls = NULL;
	char *s;
	struct tree_dirent *d = NULL;
	size_t n = 0;

	memset(big, 'b', 300000);
	CHECK(fx_make(&f) == 0);
	CHECK(tree_write(f.t, "/etc/motd", &a, big, 300000) == 0);
	CHECK(tree_write(f.t, "/etc/motd", &b, "short\n", 6) == 0);
	s = read_text(f.t, "/etc/motd");
	CHECK_STREQ(s, "short\n");
	free(s);
	/* Replacing one name of a hard-linked file leaves the other name's content. */
	CHECK(tree_write(f.t, "/etc/a", &a, "old", 3) == 0);
	CHECK(tree_link(f.t, "/etc/b", "/etc/a") == 0);
	CHECK(tree_write(f.t, "/etc/a", &a, "new", 3) == 0);
	s = read_text(f.t, "/etc/b");
	CHECK_STREQ(s, "old");
	free(s);
	/* A file by a symlink and back. */
	CHECK(tree_write(f.t, "/etc/l", &a, "file", 4) == 0);
	CHECK(tree_symlink(f.t, "/etc/l", "motd", &a) == 0);
	s = read_text(f.t, "/etc/l");
	CHECK_STREQ(s, "short\n");
	free(s);
	CHECK(tree_symlink(f.t, "/etc/m", "motd", &a) == 0);
	CHECK(tree_write(f.t, "/etc/m", &a, "m", 1) == 0);
	/* An existing directory gets new attributes and keeps its content. */
	CHECK(tree_mkdir(f.t, "/etc", &b) == 0);

	/* Refused: a directory replaced by a file, a file used as a directory. */
	CHECK(CAPTURED(tree_write(f.t, "/etc", &a, "x", 1), &log) == -EISDIR);
	CHECK(strstr(log, "cannot replace directory '/etc' with a non-directory"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_symlink(f.t, "/etc", "/srv", &a), &log) == -EISDIR);
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_write(f.t, "/etc/motd/x", &a, "x", 1), &log) == -ENOTDIR);
	CHECK(strstr(log, "'/etc/motd' is not a directory"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_write(f.t, "/etc/motd/y/z", &a, "x", 1), &log) == -ENOTDIR);
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_mkdir(f.t, "/etc/motd", &a), &log) < 0);
	CHECK(strstr(log, "cannot create directory '/etc/motd': a file is in the way"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_mkdir(f.t, "/etc/motd/sub", &a), &log) == -ENOTDIR);
	CHECK(tree_list(f.t, "/etc/motd", &d, &n) == -ENOTDIR);
	CHECK(tree_list(f.t, "/nothing", &d, &n) == -ENOENT);
	CHECK(tree_read(f.t, "/etc", 100, &s, NULL) == -EINVAL);
	CHECK(tree_read(f.t, "/etc/none", 100, &s, NULL) == -ENOENT);
	CHECK(tree_read(f.t, "/etc/motd", 3, &s, NULL) == -EFBIG);
	CHECK(CAPTURED(tree_link(f.t, "/etc/d", "/etc"), &log) < 0);
	CHECK(strstr(log, "cannot link '/etc/d' to directory '/etc'"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_link(f.t, "/etc/d", "/etc/none"), &log) < 0);
	CHECK(strstr(log, "no such file"));

	CHECK(tree_list(f.t, "/etc", &d, &n) == 0);
	CHECK(n == 5 && streq(d[0].name, "a") && streq(d[1].name, "b") && streq(d[2].name, "l") &&
	      d[2].type == 'l' && streq(d[3].name, "m") && d[3].type == 'f' &&
	      streq(d[4].name, "motd"));
	tree_dirents_free(d, n);
	CHECK(fx_close(&f) == 0);

	/* e2fsck -fn finds the blocks of the 300 kB file freed and the link counts right. */
	CHECK(fsck("root.img") == 0);
	motd = debugfs("root.img", "stat /etc/motd");
	CHECK(field(motd, "Size:") == 6 && field(motd, "Mode:") == 0600);
	CHECK(field(motd, "User:") == 5 && field(motd, "mtime:") == MTIME + 9);
	old = debugfs("root.img", "stat /etc/b");
	CHECK(field(old, "Links:") == 1 && field(old, "Size:") == 3);
	lnk = debugfs("root.img", "stat /etc/l");
	CHECK(lnk && strstr(lnk, "Type: symlink"));
	file = debugfs("root.img", "cat /etc/m");
	CHECK_STREQ(file, "m");
	dir = debugfs("root.img", "stat /etc");
	CHECK(dir && strstr(dir, "Type: directory"));
	CHECK(field(dir, "Mode:") == 0600 && field(dir, "User:") == 5);
	ls = debugfs("root.img", "ls -l /etc");
	CHECK(ls && strstr(ls, " motd") && strstr(ls, " a") && strstr(ls, " b"));
}

/* A file streamed in pieces; the size given up front is enforced. */
static void test_streamed_file(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr a = { .mode = 0755, .mtime = MTIME };
	_cleanup_free_ char *data = xmalloc(3 * MIB + 17), *log = NULL, *st = NULL;
	_cleanup_free_ char *img = tmp_path("big.out"), *cmp = NULL;
	struct tree_file *tf = NULL;
	size_t off = 0;

	for (size_t i = 0; i < 3 * MIB + 17; i++)
		data[i] = (char)(i * 7 + i / 4096);
	CHECK(fx_make(&f) == 0);
	CHECK(tree_file_create(f.t, "/boot/initrd.img", &a, 3 * MIB + 17, &tf) == 0);
	while (off < 3 * MIB + 17) {
		size_t n = off % 3 == 0 ? 4097 : 65536;

		if (n > 3 * MIB + 17 - off)
			n = 3 * MIB + 17 - off;
		CHECK(tree_file_write(tf, data + off, n) == 0);
		off += n;
	}
	CHECK(tree_file_close(tf) == 0);
	CHECK(tree_file_create(f.t, "/short", &a, 10, &tf) == 0);
	CHECK(tree_file_write(tf, "12345", 5) == 0);
	CHECK(CAPTURED(tree_file_close(tf), &log) < 0);
	CHECK(fx_close(&f) == 0);

	CHECK(fsck("root.img") == 0);
	CHECK(fsck("boot.img") == 0);
	st = debugfs("boot.img", "stat /initrd.img");
	CHECK(field(st, "Size:") == 3 * MIB + 17 && field(st, "Mode:") == 0755);
	CHECK(run("debugfs -R 'dump /initrd.img %s' %s/boot.img > /dev/null 2>&1", img, tmpdir) ==
	      0);
	{
		char *back = NULL;
		size_t size = 0;

		CHECK(read_file(img, 4 * MIB, &back, &size) == 0);
		CHECK(size == 3 * MIB + 17 && memcmp(back, data, size) == 0);
		free(back);
	}
}

/* Many entries in one directory (the directory grows over many blocks): every one is there,
 * listed in order, and the filesystem is consistent. */
static void test_big_directory(void)
{
	_cleanup_(fx_done) struct fx f = {};
	const struct tree_attr a = { .mode = 0644, .mtime = MTIME };
	_cleanup_free_ char *ls = NULL, *one = NULL;
	struct tree_dirent *d = NULL;
	size_t n = 0, count = 0;
	enum { N = 3000 };

	CHECK(fx_make(&f) == 0);
	for (unsigned i = 0; i < N; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/usr/share/locale/file-with-a-longer-name-%05u",
			 (i * 7919) % N);
		CHECK(tree_write(f.t, path, &a, path, strlen(path)) == 0);
	}
	CHECK(tree_write(f.t, "/usr/share/locale/file-with-a-longer-name-01234", &a, "again", 5) ==
	      0);
	CHECK(tree_list(f.t, "/usr/share/locale", &d, &n) == 0);
	CHECK(n == N);
	for (size_t i = 0; i < n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "file-with-a-longer-name-%05zu", i);
		if (!streq(d[i].name, want))
			break;
		count++;
	}
	tree_dirents_free(d, n);
	CHECK(count == N);
	CHECK(fx_close(&f) == 0);

	CHECK(fsck("root.img") == 0);
	ls = output("debugfs -R 'ls -p /usr/share/locale' %s/root.img 2>/dev/null | grep -c "
		    "/file-with-a-longer-name-",
		    tmpdir);
	CHECK(ls && atoi(ls) == N);
	one = debugfs("root.img", "cat /usr/share/locale/file-with-a-longer-name-01234");
	CHECK_STREQ(one, "again");
}

/* Mounting: "/" first, one filesystem per mount point, the mount point made in the parent. */
static void test_mount_rules(void)
{
	_cleanup_(fx_done) struct fx f = {};
	_cleanup_free_ char *log = NULL;
	struct tree *t = tree_new(NOW);

	CHECK(fx_make(&f) == 0);
	CHECK(CAPTURED(tree_mount(t, "/boot", f.boot), &log) < 0);
	CHECK(strstr(log, "'/boot' is mounted before '/'"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_write(t, "/x", &root_dir, "", 0), &log) < 0);
	CHECK(strstr(log, "no filesystem is mounted at '/'"));
	free(log);
	log = NULL;
	CHECK(tree_mount(t, "/", f.root) == 0);
	CHECK(tree_mount(t, "/boot", f.boot) == 0);
	CHECK(CAPTURED(tree_mount(t, "/boot/", f.boot), &log) < 0);
	CHECK(strstr(log, "two filesystems are mounted at '/boot'"));
	free(log);
	log = NULL;
	CHECK(CAPTURED(tree_mount(t, "data", f.boot), &log) < 0);
	tree_free(t);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-tree.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		return 2;
	}
	log_set_level(LOG_INFO);
	if (!have("debugfs") || !have("e2fsck")) {
		printf("SKIP: debugfs or e2fsck missing\n");
		return 0;
	}

	RUN_TEST(test_create);
	RUN_TEST(test_mount_points);
	RUN_TEST(test_symlinks_inside);
	RUN_TEST(test_replace_and_refuse);
	RUN_TEST(test_streamed_file);
	RUN_TEST(test_big_directory);
	RUN_TEST(test_mount_rules);

	run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
