// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/e2fuse.c. Each test makes an image with mke2fs, opens it with libext2fs,
 * mounts /dev/fuse on a scratch directory (the test runs as root; without /dev/fuse or the
 * right to mount, every test is skipped) and serves it in this thread while a shell script
 * works in the mount. The results are then judged by tools that do not share our code, on the
 * closed image: e2fsck -fn, debugfs's stat, dump, rdump, ea_get, and diff/find against the
 * source tree. */
#include "e2fuse.h"

#include <assert.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "helpers.h"
#include "log.h"
#include "util.h"

#define MOUNT_OPTS "rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions"

/* ---- helpers ---- */

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* debugfs's answer to one request on img. */
static _printf_(2, 3) char *debugfs(const char *img, const char *fmt, ...)
{
	_cleanup_free_ char *request = NULL;
	va_list ap;

	va_start(ap, fmt);
	request = xvasprintf(fmt, ap);
	va_end(ap);
	return output("debugfs -R '%s' %s 2>/dev/null", request, img);
}

static int write_text(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	return pwrite_all(fd, text, strlen(text), 0);
}

/* The number after `key` in text (debugfs's "Links: 2"), or -1. */
static long long field(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? strtoll(p + strlen(key), NULL, 0) : -1;
}

static int fsck(const char *img)
{
	return run("e2fsck -fn %s > %s/fsck.out 2>&1 || { cat %s/fsck.out >&2; false; }", img,
		   tmpdir, tmpdir);
}

static int make_image(const char *img, const char *mkfs_args, const char *size)
{
	return run("rm -f %s && mke2fs -q -F %s %s %s > /dev/null", img, mkfs_args, img, size);
}

/* The fuse mount, made as mkbootmedia's namespace helper makes it. */
static int mount_fuse(const char *mnt, int *ret_fd)
{
	_cleanup_free_ char *opts = NULL;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	opts = xasprintf("fd=%d," MOUNT_OPTS, fd);
	if (mount("mkbootmedia", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

#define MAX_IMAGES 4

/* Serves the n images at $MNT, $MNT2... (all in this thread) while `sh -ec script` runs in the
 * first (with $T, the scratch directory), then unmounts and closes them. The script's exit
 * status; -1 when a server failed. */
static int serve_images(const char *const *imgs, size_t n, const struct e2fuse_opts *o,
			const char *script)
{
	struct e2fuse *s[MAX_IMAGES] = { NULL };
	ext2_filsys fs[MAX_IMAGES] = { NULL };
	char *mnt[MAX_IMAGES] = { NULL };
	int fd[MAX_IMAGES] = { -1, -1, -1, -1 };
	int stop = -1, pipefd[2] = { -1, -1 }, status = -1, r;
	pid_t pid;

	assert(n >= 1 && n <= MAX_IMAGES);
	for (size_t i = 0; i < n; i++) {
		mnt[i] = i ? xasprintf("%s/mnt%zu", tmpdir, i + 1) : tmp_path("mnt");
		(void)mkdir(mnt[i], 0755);
		if (ext2fs_open(imgs[i], EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
				&fs[i])) {
			fprintf(stderr, "  cannot open %s\n", imgs[i]);
			goto out;
		}
		r = mount_fuse(mnt[i], &fd[i]);
		if (r < 0) {
			fprintf(stderr, "  cannot mount fuse: %s\n", strerror(-r));
			goto out;
		}
		if (e2fuse_new(fs[i], fd[i], o, &s[i]) < 0)
			goto out;
	}
	/* The stop signal: a pidfd, else a pipe whose write end dies with the script. */
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		setenv("MNT", mnt[0], 1);
		if (n > 1)
			setenv("MNT2", mnt[1], 1);
		setenv("T", tmpdir, 1);
		if (chdir(mnt[0]) < 0)
			_exit(126);
		dup2(pipefd[1], 99); /* without O_CLOEXEC */
		execl("/bin/sh", "sh", "-ec", script, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	stop = (int)syscall(SYS_pidfd_open, pid, 0);
	r = e2fuse_serve(s, n, stop >= 0 ? stop : pipefd[0]);
	if (waitpid(pid, &status, 0) < 0 || r < 0)
		status = -1;
out:
	for (size_t i = 0; i < n; i++) {
		if (fd[i] >= 0 && umount2(mnt[i], MNT_DETACH) < 0)
			fprintf(stderr, "  cannot unmount %s: %s\n", mnt[i], strerror(errno));
		e2fuse_free(s[i]);
		if (fd[i] >= 0)
			close(fd[i]);
		if (fs[i] && ext2fs_close_free(&fs[i])) {
			fprintf(stderr, "  cannot close %s\n", imgs[i]);
			status = -1;
		}
		free(mnt[i]);
	}
	if (stop >= 0)
		close(stop);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (status != 0)
		fprintf(stderr, "  script exit status %d\n", status);
	return status;
}

static int serve_script(const char *img, const struct e2fuse_opts *o, const char *script)
{
	return serve_images(&img, 1, o, script);
}

/* Files, directories and symlinks under dir, one line each in out: permissions, type, owner,
 * size and mtime (seconds) for files, name, target for symlinks. Not compared here, as
 * debugfs's rdump does not restore them: the setuid, setgid and sticky bits (it chowns after
 * chmod) and the owners of symlinks. Link counts are e2fsck's business. */
static int listing(const char *dir, const char *out)
{
	return run("cd %s && find . -mindepth 1 \\( -type d -printf '%%P\\t%%m d %%U %%G\\n' \\) "
		   "-o \\( -type f -printf '%%P\\t%%m f %%U %%G %%s %%Ts\\n' \\) "
		   "-o \\( -type l -printf '%%P\\t777 l %%l\\n' \\) -o -printf '%%P\\t0 %%y\\n' | "
		   "sed -E 's/\\t[0-7]?([0-7]{3}) /\\t\\1 /' | sort > %s",
		   dir, out);
}

/* diff -u of two files, the first lines of it shown when they differ. */
static int same_files(const char *a, const char *b)
{
	return run("diff -u %s %s > %s/diff.out || { head -n 40 %s/diff.out >&2; false; }", a, b,
		   tmpdir, tmpdir);
}

/* The source tree: a slice of a real one (documentation), and files made for the corners:
 * hard links, owners beyond 16 bits, special modes, fast and slow symlinks (59 and 60
 * bytes), a sparse file, a file over 16 MiB, a directory of 3000 names, the longest name. */
static const char fixture[] =
	"rm -rf \"$T/src\"; mkdir -p \"$T/src/doc\"; cd \"$T/src\"\n"
	"if [ -d /usr/share/doc ]; then\n"
	"  for d in $(ls /usr/share/doc | head -n 120); do cp -a \"/usr/share/doc/$d\" doc/; done\n"
	"fi\n"
	"mkdir -p own/deep/a/b/c/d/e/f/g/h\n"
	"printf 'hello\\n' > own/small\n"
	"head -c 100000 /dev/urandom > own/medium\n"
	"head -c 20000000 /dev/urandom > own/big\n"
	"ln own/medium own/medium.hl; ln own/medium own/deep/medium.hl2\n"
	"ln -s small own/sym; chown -h 7:8 own/sym\n"
	"ln -s $(printf '%059d' 0) own/sym59; ln -s $(printf '%060d' 0) own/sym60\n"
	"ln -s \"$(printf '%0300d' 0 | tr 0 x)\" own/sym300\n"
	"ln -s /nonexistent/target own/dangling\n"
	"truncate -s 40000000 own/sparse\n"
	"printf middle | dd of=own/sparse bs=1 seek=30000000 conv=notrunc status=none\n"
	": > own/empty; chmod 0 own/empty\n"
	"chown 1234:5678 own/small; chown 100000:200000 own/medium; chmod 4755 own/medium\n"
	"chmod 2750 own/deep; chmod 1777 own/deep/a\n"
	"touch -d '1999-12-31 23:59:59' own/small\n"
	"mkdir own/many; cd own/many\n"
	"i=0; while [ $i -lt 3000 ]; do : > \"file-with-a-longish-name-$i\"; i=$((i+1)); done\n"
	"cd ../..; : > own/$(printf '%0255d' 0 | tr 0 n)\n";

/* ---- tests ---- */

static void check_tree(const char *img_args)
{
	_cleanup_free_ char *img = tmp_path("tree.img"), *src = tmp_path("src");
	_cleanup_free_ char *script = tmp_path("fixture.sh"), *dump_t = tmp_path("dump/t"),
			    *dump_c = tmp_path("dump/c");
	_cleanup_free_ char *want = tmp_path("list.src"), *got_t = tmp_path("list.t"),
			    *got_c = tmp_path("list.c");
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *sym = NULL;

	CHECK(write_text(script, fixture) == 0);
	CHECK(run("T=%s sh -e %s", tmpdir, script) == 0);
	CHECK(make_image(img, img_args, "256M") == 0);
	CHECK(serve_script(img, NULL,
			   "mkdir t c\n"
			   "tar -C \"$T/src\" -cf - . | tar -C t -xpf -\n"
			   "cp -a \"$T/src/.\" c/\n"
			   /* read back through the mount too */
			   "diff -r --no-dereference \"$T/src\" t\n"
			   "diff -r --no-dereference \"$T/src\" c\n") == 0);
	CHECK(fsck(img) == 0);

	CHECK(run("rm -rf %s/dump && mkdir %s/dump", tmpdir, tmpdir) == 0);
	free(debugfs(img, "rdump /t /c %s/dump", tmpdir));
	CHECK(run("diff -r --no-dereference %s %s", src, dump_t) == 0);
	CHECK(run("diff -r --no-dereference %s %s", src, dump_c) == 0);
	CHECK(listing(src, want) == 0);
	CHECK(listing(dump_t, got_t) == 0);
	CHECK(listing(dump_c, got_c) == 0);
	CHECK(run("grep -q '^own/medium	755 f 100000 200000 100000 ' %s", want) == 0);
	CHECK(same_files(want, got_t) == 0);
	CHECK(same_files(want, got_c) == 0);

	/* Hard links: one inode, three names, in both copies. */
	for (const char *top = "/t"; top; top = streq(top, "/t") ? "/c" : NULL) {
		free(a);
		free(b);
		free(c);
		a = debugfs(img, "stat %s/own/medium", top);
		b = debugfs(img, "stat %s/own/medium.hl", top);
		c = debugfs(img, "stat %s/own/deep/medium.hl2", top);
		CHECK(field(a, "Links:") == 3);
		CHECK(strstr(a, "Mode:  04755"));
		CHECK(field(a, "Inode:") > 0);
		CHECK(field(a, "Inode:") == field(b, "Inode:"));
		CHECK(field(a, "Inode:") == field(c, "Inode:"));
		free(sym);
		sym = debugfs(img, "stat %s/own/deep", top);
		CHECK(sym && strstr(sym, "Mode:  02750"));
		free(sym);
		sym = debugfs(img, "stat %s/own/deep/a", top);
		CHECK(sym && strstr(sym, "Mode:  01777"));
		free(sym);
		sym = debugfs(img, "stat %s/own/sym", top);
		CHECK(sym && strstr(sym, "User:     7   Group:     8"));
		CHECK(strstr(sym, "Fast link dest: \"small\""));
		free(sym);
		sym = debugfs(img, "stat %s/own/sym59", top);
		CHECK(sym && strstr(sym, "Fast link dest:"));
		free(sym);
		sym = debugfs(img, "stat %s/own/sym60", top);
		CHECK(sym && !strstr(sym, "Fast link dest:") && field(sym, "Size:") == 60);
		free(sym);
		/* cp -a keeps the sparse file sparse: a few blocks, not 40 MB. */
		sym = debugfs(img, "stat %s/own/sparse", top);
		CHECK(field(sym, "Size:") == 40000000);
		if (streq(top, "/c"))
			CHECK(field(sym, "Blockcount:") < 64);
	}
}

static void test_tree_ext4(void)
{
	check_tree("-t ext4 -b 4096");
}

static void test_tree_ext2(void)
{
	/* 1 KiB blocks (triple-indirect maps for the big file) and 128-byte inodes (no room for
	 * nanoseconds). */
	check_tree("-t ext2 -b 1024 -I 128");
}

static const char ops_script[] =
	/* owners, setgid directories, modes */
	"echo data > owned; chown 1000:1001 owned\n"
	"echo data > bigid; chown 4000000:70000 bigid\n"
	"mkdir sgid; chown 0:4242 sgid; chmod 2775 sgid; mkdir sgid/sub; echo x > sgid/file\n"
	"echo x > suid; chmod 4755 suid\n"
	"[ \"$(stat -c '%u %g %a' owned)\" = '1000 1001 644' ]\n"
	/* rename over a file, over an empty directory, not over a full one */
	"echo old > target; echo new > source; mv source target\n"
	"[ \"$(cat target)\" = new ]; [ ! -e source ]\n"
	"mkdir d1 d2; echo f > d1/f; mv -T d1 d2; [ -f d2/f ]; [ ! -e d1 ]\n"
	"mkdir ne1 ne2; : > ne2/x; ! mv -T ne1 ne2 2>/dev/null; [ -d ne1 ]\n"
	"python3 -c 'import ctypes,os,sys; l=ctypes.CDLL(None,use_errno=True);"
	" r=l.renameat2(-100,b\"owned\",-100,b\"bigid\",1);"
	" sys.exit(0 if r<0 and ctypes.get_errno()==17 else 1)'\n"
	/* a directory moves to another parent: ".." and link counts */
	"mkdir -p p1/sub/deeper p2; mv p1/sub p2/; [ -d p2/sub/deeper ]\n"
	"[ \"$(stat -c %h p1)\" = 2 ]; [ \"$(stat -c %h p2)\" = 3 ]\n"
	"[ \"$(cd p2/sub/.. && stat -c %i .)\" = \"$(stat -c %i p2)\" ]\n"
	/* hard links */
	"echo hl > hl1; ln hl1 hl2; ln hl1 hl3; rm hl3; [ \"$(stat -c %h hl1)\" = 2 ]\n"
	/* deleted but open: still readable */
	"echo 'still here' > gone; exec 3< gone; rm gone; [ \"$(cat <&3)\" = 'still here' ]\n"
	"exec 3<&-\n"
	/* sparse and big files */
	"printf end | dd of=sparse bs=1 seek=10000000 conv=notrunc status=none\n"
	"cp \"$T/big\" big; cmp \"$T/big\" big\n"
	/* special files */
	"mkfifo fifo; mknod null c 1 3; mknod disk b 8 1; mknod bigdev c 300 70000\n"
	"python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")'\n"
	/* truncation: the cut bytes must not come back */
	"printf 'hello world' > trunc; truncate -s 5 trunc; truncate -s 20 trunc\n"
	"printf abc > grow; truncate -s 100000 grow\n"
	"printf 0123456789 > gap; printf X | dd of=gap bs=1 seek=20 conv=notrunc status=none\n"
	"head -c 10000 /dev/zero | tr '\\0' a > over; printf b | dd of=over bs=1 seek=3 "
	"conv=notrunc status=none\n"
	/* times: set, and left alone (UTIME_OMIT) */
	"echo t > dated; touch -d '2001-02-03 04:05:06.123456789 UTC' dated\n"
	"touch -a -d '2002-01-01 00:00:00 UTC' dated\n"
	/* rmdir */
	"mkdir full; : > full/x; ! rmdir full 2>/dev/null; [ -d full ]; rm full/x; rmdir full\n"
	"[ ! -e full ]\n"
	/* extended attributes */
	"echo x > xa\n"
	"python3 -c 'import os, errno\n"
	"os.setxattr(\"xa\", \"user.x\", b\"hello\")\n"
	"os.setxattr(\"xa\", \"security.capability\", "
	"bytes.fromhex(\"0100000200200000000000000000000000000000\"))\n"
	"os.setxattr(\"xa\", \"user.gone\", b\"1\"); os.removexattr(\"xa\", \"user.gone\")\n"
	"assert os.getxattr(\"xa\", \"user.x\") == b\"hello\"\n"
	"assert sorted(os.listxattr(\"xa\")) == [\"security.capability\", \"user.x\"]\n"
	"try:\n"
	"    os.setxattr(\"xa\", \"user.x\", b\"2\", os.XATTR_CREATE); raise SystemExit(1)\n"
	"except FileExistsError: pass\n"
	"try:\n"
	"    os.removexattr(\"xa\", \"user.none\"); raise SystemExit(1)\n"
	"except OSError as e: assert e.errno == errno.ENODATA\n"
	"try:\n"
	"    os.getxattr(\"owned\", \"user.x\"); raise SystemExit(1)\n"
	"except OSError as e: assert e.errno == errno.ENODATA\n"
	"'\n"
	/* O_APPEND, O_EXCL */
	"echo a > app; echo b >> app; [ \"$(cat app)\" = \"$(printf 'a\\nb')\" ]\n"
	"echo x > excl; ! (set -C; echo y > excl) 2>/dev/null; [ \"$(cat excl)\" = x ]\n"
	/* symlinks */
	"ln -s fast-target fast; ln -s \"$(printf '%0300d' 0 | tr 0 y)\" slow\n"
	"[ \"$(readlink slow)\" = \"$(printf '%0300d' 0 | tr 0 y)\" ]\n"
	/* a big directory, read while it changes */
	"mkdir many; cd many; i=0\n"
	"while [ $i -lt 2500 ]; do : > \"entry-number-$i\"; i=$((i+1)); done\n"
	"[ \"$(ls | wc -l)\" = 2500 ]; rm entry-number-1*; [ \"$(ls | wc -l)\" = 1389 ]\n"
	"mv entry-number-2 renamed; mv entry-number-3 entry-number-4; [ ! -e entry-number-3 ]\n"
	"[ \"$(ls | wc -l)\" = 1388 ]; [ \"$(cat renamed entry-number-4)\" = '' ]\n"
	"mkdir sub; mv sub ../moved-out; mkdir ../moved-in; mv ../moved-in .; cd ..\n"
	/* the kernel forgets its entries (where it may): names are looked up again */
	"echo 2 > /proc/sys/vm/drop_caches 2>/dev/null || true\n"
	"[ -e many/renamed ] && [ -e many/entry-number-4 ] && [ -e many/entry-number-999 ]\n"
	"[ ! -e many/entry-number-2 ] && [ ! -e many/entry-number-3 ]\n"
	"[ ! -e many/entry-number-1000 ] && [ -d many/moved-in ] && [ -d moved-out ]\n"
	/* created by someone else than root: the request's uid and gid */
	"mkdir pub; chmod 1777 pub\n"
	"setpriv --reuid 1234 --regid 2345 --clear-groups \\\n"
	"  sh -c 'umask 027; echo u > pub/userfile'\n"
	/* a binary runs from the mount */
	"cp /bin/true ./true; ./true\n"
	"df -P . > /dev/null\n";

static void check_ops(const char *img_args, unsigned bs, bool large_inodes)
{
	_cleanup_free_ char *img = tmp_path("ops.img"), *big = tmp_path("big");
	_cleanup_free_ char *st = NULL, *x = NULL;

	CHECK(run("head -c 20000000 /dev/urandom > %s", big) == 0);
	CHECK(make_image(img, img_args, "128M") == 0);
	CHECK(serve_script(img, NULL, ops_script) == 0);
	CHECK(fsck(img) == 0);

#define STAT(path)                                                                                 \
	do {                                                                                       \
		free(st);                                                                          \
		st = debugfs(img, "stat %s", path);                                                \
		CHECK(st);                                                                         \
	} while (0)
	STAT("/owned");
	CHECK(field(st, "User:") == 1000 && field(st, "Group:") == 1001);
	CHECK(strstr(st, "Mode:  0644"));
	STAT("/bigid");
	CHECK(field(st, "User:") == 4000000 && field(st, "Group:") == 70000);
	STAT("/sgid/sub");
	CHECK(field(st, "Group:") == 4242 && strstr(st, "Mode:  02755"));
	STAT("/sgid/file");
	CHECK(field(st, "Group:") == 4242 && strstr(st, "Mode:  0644"));
	STAT("/suid");
	CHECK(strstr(st, "Mode:  04755"));
	STAT("/pub/userfile");
	CHECK(field(st, "User:") == 1234 && field(st, "Group:") == 2345);
	CHECK(strstr(st, "Mode:  0640"));
	STAT("/p1");
	CHECK(field(st, "Links:") == 2);
	STAT("/p2");
	CHECK(field(st, "Links:") == 3);
	STAT("/hl1");
	CHECK(field(st, "Links:") == 2);
	STAT("/sparse");
	CHECK(field(st, "Size:") == 10000003);
	CHECK(field(st, "Blockcount:") <= 32); /* a data block and its map */
	STAT("/fifo");
	CHECK(strstr(st, "Type: FIFO"));
	STAT("/sock");
	CHECK(strstr(st, "Type: socket"));
	STAT("/null");
	CHECK(strstr(st, "Type: character special") && strstr(st, "number: 01:03"));
	STAT("/disk");
	CHECK(strstr(st, "Type: block special") && strstr(st, "number: 08:01"));
	STAT("/bigdev");
	CHECK(strstr(st, "(New-style) Device major/minor number: 300:70000"));
	STAT("/dated");
	if (large_inodes) {
		CHECK(strstr(st, " mtime: 0x3a7b8372:1d6f3454")); /* 123456789 ns */
		CHECK(strstr(st, " atime: 0x3c30fc00:00000000"));
	} else {
		CHECK(strstr(st, "mtime: 0x3a7b8372 --"));
		CHECK(strstr(st, "atime: 0x3c30fc00 --"));
	}
	STAT("/fast");
	CHECK(strstr(st, "Fast link dest: \"fast-target\""));
	STAT("/slow");
	CHECK(!strstr(st, "Fast link dest") && field(st, "Size:") == 300);
	STAT("/xa");
	CHECK(strstr(st, "user.x (5) = \"hello\""));
	CHECK(strstr(st, "security.capability (20) = 01 00 00 02 00 20 00 00"));
	CHECK(!strstr(st, "user.gone"));
	STAT("/gone");
	CHECK(strstr(st, "File not found") || field(st, "Inode:") < 0);
	STAT("/d1");
	CHECK(field(st, "Inode:") < 0);
	STAT(("/d2/f"));
	CHECK(field(st, "Size:") == 2);
	STAT("/many");
	CHECK(field(st, "Size:") >= (long long)bs);
	CHECK(field(st, "Links:") == 3); /* moved-in */
	STAT("/many/renamed");
	CHECK(field(st, "Links:") == 1);

	/* Contents, by debugfs's dump. */
	x = tmp_path("x");
	CHECK(run("debugfs -R 'dump /target %s' %s 2>/dev/null && printf 'new\\n' | cmp - %s", x,
		  img, x) == 0);
	CHECK(run("debugfs -R 'dump /big %s' %s 2>/dev/null && cmp %s %s", x, img, big, x) == 0);
	CHECK(run("debugfs -R 'dump /trunc %s' %s 2>/dev/null && "
		  "{ printf hello; head -c 15 /dev/zero; } | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /grow %s' %s 2>/dev/null && "
		  "{ printf abc; head -c 99997 /dev/zero; } | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /gap %s' %s 2>/dev/null && "
		  "{ printf 0123456789; head -c 10 /dev/zero; printf X; } | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /over %s' %s 2>/dev/null && "
		  "{ printf aaab; head -c 9996 /dev/zero | tr '\\0' a; } | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /sparse %s' %s 2>/dev/null && "
		  "{ head -c 10000000 /dev/zero; printf end; } | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /app %s' %s 2>/dev/null && printf 'a\\nb\\n' | cmp - %s", x,
		  img, x) == 0);
	CHECK(run("debugfs -R 'dump /true %s' %s 2>/dev/null && cmp /bin/true %s", x, img, x) == 0);
	/* (debugfs also lists the names removed from the head of a block, as inode 0) */
	CHECK(run("test \"$(debugfs -R 'ls -p /many' %s 2>/dev/null | "
		  "grep -c '^/[1-9][0-9]*/.*/entry-number-')\" = 1387",
		  img) == 0);
#undef STAT
}

static void test_ops_ext4(void)
{
	check_ops("-t ext4 -b 4096", 4096, true);
}

static void test_ops_ext2(void)
{
	check_ops("-t ext2 -b 1024 -I 128", 1024, false);
}

static void test_ops_ext3(void)
{
	/* block maps with large inodes */
	check_ops("-t ext3 -b 4096 -I 256", 4096, true);
}

static long long free_inodes(const char *img)
{
	_cleanup_free_ char *h = output("dumpe2fs -h %s 2>/dev/null", img);

	return field(h, "Free inodes:");
}

/* Inodes that lose their last name while in use are freed when the kernel lets go of them:
 * a running binary replaced by rename (as dpkg does), a file deleted while open, and one
 * still open by a process that outlives the script (freed by e2fuse_free()). */
static void test_orphans(void)
{
	_cleanup_free_ char *img = tmp_path("orphans.img"), *st = NULL;
	long long before;

	CHECK(make_image(img, "-t ext4 -b 4096", "64M") == 0);
	before = free_inodes(img);
	CHECK(before > 0);
	CHECK(serve_script(img, NULL,
			   "cp /bin/sleep sl; ./sl 1 & sleep 0.2\n"
			   "cp /bin/sleep sl.new; mv sl.new sl\n"
			   "echo data1 > open-deleted; exec 4< open-deleted\n"
			   "ino=$(stat -c %i open-deleted); rm open-deleted\n"
			   /* the number is not given again while the old inode is open */
			   "echo other > new; [ \"$(stat -c %i new)\" != $ino ]\n"
			   "[ \"$(cat new)\" = other ]; [ \"$(cat <&4)\" = data1 ]; rm new\n"
			   "echo held > held; (exec 5< held; sleep 2) & sleep 0.2; rm held\n"
			   "wait %1\n") == 0);
	CHECK(fsck(img) == 0);
	CHECK(free_inodes(img) == before - 1); /* sl */
	st = debugfs(img, "stat %s", "/sl");
	CHECK(st && field(st, "Links:") == 1);
	sleep(2); /* the last holder ends before the next test */
}

/* Nothing removed stays (the names and contents are made at run time, so that the script
 * itself, which is not in the image anyway, cannot match): not in a directory block, a
 * freed data block or a freed inode, on ext2 and on ext4. A kept file is found (the search
 * works); e2fsck is clean. */
static void deleted_run(const char *mkfs_args)
{
	_cleanup_free_ char *img = tmp_path("deleted.img");

	CHECK(make_image(img, mkfs_args, "32M") == 0);
	CHECK(serve_script(
		      img, NULL,
		      "w=QZX; n=\"gone-$w-name\"; c=\"gone-$w-data\"\n"
		      "mkdir d; i=0; while [ $i -lt 2000 ]; do echo \"$c $i\"; i=$((i+1)); done "
		      ">d/$n\n"
		      "echo \"$c small\" >$n.tmp; mv $n.tmp $n.final; ln -s \"$n\" $n.link\n"
		      "exec 3>$n.open; rm $n.open; echo \"$c open\" >&3; exec 3>&-\n"
		      "rm -r d $n.final $n.link\n"
		      "echo \"kept-$w-data\" > \"kept-$w-name\"\n") == 0);
	CHECK(fsck(img) == 0);
	CHECK(run("grep -q -a kept-QZX-data %s && grep -q -a kept-QZX-name %s", img, img) == 0);
	CHECK(run("! grep -a -o 'gone-QZX-[a-z]*' %s", img) == 0);
}

static void test_deleted(void)
{
	deleted_run("-t ext4 -b 4096");
	deleted_run("-t ext2 -b 1024");
}

/* dpkg itself on the mount (chrootless): install, upgrade over a changed conffile (its
 * replacements are renames over files in use, its backups hard links), remove. */
static const char debs[] =
	"set -e; cd \"$T\"; rm -rf pkg\n"
	"mkdir -p pkg/DEBIAN pkg/usr/bin pkg/etc pkg/usr/share/doc/e2t\n"
	"printf 'Package: e2t\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.org>\\n"
	"Description: test\\n' > pkg/DEBIAN/control\n"
	"printf '#!/bin/sh\\necho \"$@\" >> \"$DPKG_ROOT/postinst.log\"\\n' > pkg/DEBIAN/postinst\n"
	"chmod 755 pkg/DEBIAN/postinst; echo /etc/e2t.conf > pkg/DEBIAN/conffiles\n"
	"echo conf=1 > pkg/etc/e2t.conf; cp /bin/true pkg/usr/bin/e2t\n"
	"ln -s e2t pkg/usr/bin/e2t-link\n"
	"echo doc > pkg/usr/share/doc/e2t/README\n"
	"dpkg-deb -b --root-owner-group pkg e2t_1.0.deb > /dev/null\n"
	"sed -i 's/1.0/2.0/' pkg/DEBIAN/control; echo v2 >> pkg/usr/share/doc/e2t/README\n"
	"echo conf=2 > pkg/etc/e2t.conf\n"
	"dpkg-deb -b --root-owner-group pkg e2t_2.0.deb > /dev/null\n";

static void test_dpkg(void)
{
	_cleanup_free_ char *img = tmp_path("dpkg.img"), *script = tmp_path("debs.sh");
	_cleanup_free_ char *x = tmp_path("x"), *st = NULL;

	CHECK(write_text(script, debs) == 0);
	CHECK(run("T=%s sh %s", tmpdir, script) == 0);
	CHECK(make_image(img, "-t ext4 -b 4096", "64M") == 0);
	CHECK(serve_script(img, NULL,
			   "mkdir -p var/lib/dpkg/info var/lib/dpkg/updates usr/bin etc\n"
			   ": > var/lib/dpkg/status\n"
			   "D=\"dpkg --root=$PWD --force-script-chrootless --force-not-root "
			   "--log=/dev/null\"\n"
			   "L=\"$T/dpkg.log\"\n"
			   "$D -i \"$T/e2t_1.0.deb\" > \"$L\" 2>&1 || { cat \"$L\"; false; }\n"
			   "./usr/bin/e2t; echo local >> etc/e2t.conf\n"
			   "$D -i --force-confold \"$T/e2t_2.0.deb\" > \"$L\" 2>&1 || "
			   "{ cat \"$L\"; false; }\n"
			   "$D -s e2t | grep -q '^Version: 2.0$'\n") == 0);
	CHECK(fsck(img) == 0);
	CHECK(run("debugfs -R 'dump /etc/e2t.conf %s' %s 2>/dev/null && "
		  "printf 'conf=1\\nlocal\\n' | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /usr/share/doc/e2t/README %s' %s 2>/dev/null && "
		  "printf 'doc\\nv2\\n' | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /postinst.log %s' %s 2>/dev/null && "
		  "printf 'configure \\nconfigure 1.0\\n' | cmp - %s",
		  x, img, x) == 0);
	CHECK(run("debugfs -R 'dump /var/lib/dpkg/status %s' %s 2>/dev/null && "
		  "grep -q '^Version: 2.0$' %s",
		  x, img, x) == 0);
	st = debugfs(img, "stat %s", "/usr/bin/e2t-link");
	CHECK(st && strstr(st, "Fast link dest: \"e2t\""));

	CHECK(serve_script(img, NULL,
			   "dpkg --root=$PWD --force-script-chrootless --force-not-root "
			   "--log=/dev/null -r e2t > /dev/null\n"
			   "[ ! -e usr/bin/e2t ] && [ -e etc/e2t.conf ]\n") == 0);
	CHECK(fsck(img) == 0);
	free(st);
	st = debugfs(img, "stat %s", "/usr/bin/e2t");
	CHECK(st && field(st, "Inode:") < 0);
}

/* A freed inode's number comes back clean: nothing of the old file (its extended attributes
 * in the inode's spare room) shows on the new one. */
static void test_reuse(void)
{
	_cleanup_free_ char *img = tmp_path("reuse.img"), *ino1 = tmp_path("ino1");
	_cleanup_free_ char *ino2 = tmp_path("ino2"), *a = NULL, *b = NULL, *st = NULL;

	CHECK(make_image(img, "-t ext4 -b 4096 -I 256", "32M") == 0);
	CHECK(serve_script(img, NULL,
			   "echo x > f; stat -c %i f > \"$T/ino1\"\n"
			   "python3 -c 'import os; os.setxattr(\"f\", \"user.secret\", b\"x\")'\n"
			   "rm f\n") == 0);
	CHECK(serve_script(img, NULL, "echo y > g; stat -c %i g > \"$T/ino2\"\n"
			   "[ -z \"$(python3 -c 'import os; print(os.listxattr(\"g\"))' | "
			   "tr -d '[]')\" ]\n") == 0);
	CHECK(fsck(img) == 0);
	a = output("cat %s", ino1);
	b = output("cat %s", ino2);
	CHECK_STREQ(a, b); /* or the test proves nothing */
	st = debugfs(img, "stat %s", "/g");
	CHECK(st && !strstr(st, "Extended attributes") && !strstr(st, "user.secret"));
}

/* With clamping, no stored time is later than the clamp; earlier ones stay. */
static void test_clamp(void)
{
	_cleanup_free_ char *img = tmp_path("clamp.img"), *st = NULL;
	struct e2fuse_opts o = { .clamp = true, .clamp_time = 1000000000 };

	CHECK(make_image(img, "-t ext4 -b 4096", "32M") == 0);
	CHECK(serve_script(img, &o,
			   "echo x > f; mkdir d; ln -s f l\n"
			   "echo y > future; touch -d '2030-01-01 UTC' future\n"
			   "echo z > past; touch -d '1990-01-01 UTC' past\n") == 0);
	CHECK(fsck(img) == 0);
	st = debugfs(img, "stat %s", "/f");
	CHECK(st && strstr(st, " mtime: 0x3b9aca00:00000000"));
	CHECK(strstr(st, " ctime: 0x3b9aca00:") && strstr(st, "crtime: 0x3b9aca00:"));
	free(st);
	st = debugfs(img, "stat %s", "/d");
	CHECK(st && strstr(st, " mtime: 0x3b9aca00:00000000"));
	free(st);
	st = debugfs(img, "stat %s", "/");
	CHECK(st && strstr(st, " mtime: 0x3b9aca00:00000000"));
	free(st);
	st = debugfs(img, "stat %s", "/future");
	CHECK(st && strstr(st, " mtime: 0x3b9aca00:00000000"));
	free(st);
	st = debugfs(img, "stat %s", "/past");
	CHECK(st && strstr(st, " mtime: 0x259e9d80:00000000"));
}

/* Random writes, truncations and reads on a few files, done the same on a copy outside the
 * mount: every read and, at the end, the image's files (by debugfs) must match the copy. */
static const char random_io[] =
	"import os, random, sys\n"
	"rnd = random.Random(int(sys.argv[1]))\n"
	"ref = os.path.join(os.environ['T'], 'ref')\n"
	"os.makedirs(ref, exist_ok=True)\n"
	"flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC\n"
	"fds = [(os.open('f%d' % i, flags, 0o644), os.open(os.path.join(ref, 'f%d' % i), flags))\n"
	"       for i in range(3)]\n"
	"for n in range(1500):\n"
	"    a, b = rnd.choice(fds)\n"
	"    op = rnd.random()\n"
	"    off = rnd.choice([0, rnd.randrange(1 << 16), rnd.randrange(1 << 22)])\n"
	"    if op < 0.6:\n"
	"        size = rnd.choice([1, rnd.randrange(1, 5000), rnd.randrange(1, 300000)])\n"
	"        data = os.urandom(size)\n"
	"        assert os.pwrite(a, data, off) == size and os.pwrite(b, data, off) == size\n"
	"    elif op < 0.75:\n"
	"        os.ftruncate(a, off); os.ftruncate(b, off)\n"
	"    else:\n"
	"        size = os.fstat(b).st_size\n"
	"        assert os.fstat(a).st_size == size, n\n"
	"        n2 = rnd.randrange(1, 400000)\n"
	"        assert os.pread(a, n2, off) == os.pread(b, n2, off), n\n";

static void check_random_io(const char *mkfs_args)
{
	_cleanup_free_ char *img = tmp_path("random.img"), *py = tmp_path("random.py");
	_cleanup_free_ char *x = tmp_path("x"), *script = NULL;

	CHECK(write_text(py, random_io) == 0);
	CHECK(make_image(img, mkfs_args, "64M") == 0);
	script = xasprintf("rm -rf \"$T/ref\"; python3 %s 1; python3 %s 2", py, py);
	CHECK(serve_script(img, NULL, script) == 0);
	CHECK(fsck(img) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(run("debugfs -R 'dump /f%d %s' %s 2>/dev/null && cmp %s %s/ref/f%d", i, x,
			  img, x, tmpdir, i) == 0);
}

static void test_random_io_ext4(void)
{
	check_random_io("-t ext4 -b 4096");
}

static void test_random_io_ext2(void)
{
	check_random_io("-t ext2 -b 1024");
}

/* Two filesystems served by one thread: files go from one to the other (mkbootmedia's /boot
 * and / are two images). */
static void test_two(void)
{
	_cleanup_free_ char *a = tmp_path("a.img"), *b = tmp_path("b.img"), *st = NULL;
	const char *imgs[] = { a, b };

	CHECK(make_image(a, "-t ext4 -b 4096", "64M") == 0);
	CHECK(make_image(b, "-t ext2 -b 1024", "16M") == 0);
	CHECK(serve_images(imgs, 2, NULL,
			   "head -c 3000000 /dev/urandom > \"$T/r\"; cp \"$T/r\" one\n"
			   "cp one \"$MNT2/two\"; mv \"$MNT2/two\" \"$MNT2/three\"\n"
			   "! ln one \"$MNT2/x\" 2>/dev/null\n"
			   "cmp one \"$MNT2/three\"; mv \"$MNT2/three\" four\n"
			   "cmp four \"$T/r\"\n") == 0);
	CHECK(fsck(a) == 0);
	CHECK(fsck(b) == 0);
	st = debugfs(a, "stat %s", "/four");
	CHECK(st && field(st, "Size:") == 3000000);
	free(st);
	st = debugfs(b, "stat %s", "/three");
	CHECK(st && field(st, "Inode:") < 0);
}

/* Running out of blocks and inodes leaves a consistent filesystem. */
static void test_full(void)
{
	_cleanup_free_ char *img = tmp_path("full.img");

	CHECK(make_image(img, "-t ext4 -b 1024 -N 64", "8M") == 0);
	CHECK(serve_script(img, NULL,
			   "i=0; while touch f$i 2>/dev/null; do i=$((i+1)); done; [ $i -gt 30 ]\n"
			   "rm -f f*\n"
			   "! dd if=/dev/zero of=fill bs=64k status=none 2>/dev/null\n"
			   "! cp fill copy 2>/dev/null\n"
			   "rm -f fill copy; mkdir d; echo ok > d/f\n"
			   "[ \"$(cat d/f)\" = ok ]\n") == 0);
	CHECK(fsck(img) == 0);
}

/* tar -x of a real tree onto the mount, against tmpfs, with the image in tmpfs as well (the
 * host's disk is not measured). Reports; fails only when the copy is wrong. */
static void speed_run(const char *tmpfs)
{
	_cleanup_free_ char *img = xasprintf("%s/speed.img", tmpfs), *tar = tmp_path("speed.tar");
	_cleanup_free_ char *tree = xasprintf("%s/tree", tmpfs), *out = tmp_path("dump");
	_cleanup_free_ char *mb = NULL, *size = NULL, *script = NULL, *t0 = NULL, *t1 = NULL;
	_cleanup_free_ char *fixture_sh = tmp_path("fixture.sh");
	bool doc = access("/usr/share/doc", F_OK) == 0;
	const char *top = doc ? "doc" : "src";
	double t_tmpfs, t_fuse, t_all;
	long long bytes;

	/* A real tree when there is one, else the fixture of the tree tests. */
	if (doc) {
		CHECK(run("tar -C /usr/share -cf %s doc", tar) == 0);
	} else {
		CHECK(write_text(fixture_sh, fixture) == 0);
		CHECK(run("T=%s sh -e %s && tar -C %s -cf %s src", tmpdir, fixture_sh, tmpdir,
			  tar) == 0);
	}
	mb = output("du -m %s | cut -f1", tar);
	CHECK(mb);
	bytes = atoll(mb);
	size = xasprintf("%lldM", bytes * 2 + 128);
	CHECK(make_image(img, "-t ext4 -b 4096", size) == 0);
	CHECK(mkdir(tree, 0755) == 0);
	t_tmpfs = now_sec();
	CHECK(run("tar -C %s -xf %s", tree, tar) == 0);
	t_tmpfs = now_sec() - t_tmpfs;
	script = xasprintf("date +%%s.%%N > \"$T/t0\"; tar -xf %s; date +%%s.%%N > \"$T/t1\"",
			   tar);
	t_all = now_sec();
	CHECK(serve_script(img, NULL, script) == 0);
	t_all = now_sec() - t_all;
	t0 = output("cat %s/t0", tmpdir);
	t1 = output("cat %s/t1", tmpdir);
	CHECK(t0 && t1);
	t_fuse = atof(t1) - atof(t0);
	CHECK(fsck(img) == 0);
	CHECK(run("rm -rf %s && mkdir %s", out, out) == 0);
	free(debugfs(img, "rdump /%s %s", top, out));
	CHECK(run("diff -r --no-dereference %s/%s %s/%s", tree, top, out, top) == 0);
	printf("  tar -x of %lld MB: tmpfs %.2f s, e2fuse %.2f s (%.1fx; %.2f s with opening, "
	       "mounting and closing the image)\n",
	       bytes, t_tmpfs, t_fuse, t_fuse / t_tmpfs, t_all);
}

static void test_speed(void)
{
	_cleanup_free_ char *tmpfs = tmp_path("tmpfs");

	CHECK(mkdir(tmpfs, 0755) == 0 || errno == EEXIST);
	CHECK(mount("tmpfs", tmpfs, "tmpfs", 0, NULL) == 0);
	speed_run(tmpfs);
	(void)umount2(tmpfs, MNT_DETACH);
}

/* ---- main ---- */

/* Whether this process may mount FUSE: root with /dev/fuse. */
static bool can_mount(char *why, size_t n)
{
	_cleanup_free_ char *mnt = tmp_path("probe");
	int fd = -1, r;

	(void)mkdir(mnt, 0755);
	r = mount_fuse(mnt, &fd);
	if (r < 0) {
		snprintf(why, n, "cannot mount fuse: %s", strerror(-r));
		return false;
	}
	(void)umount2(mnt, MNT_DETACH);
	close(fd);
	return true;
}

/* TEST_E2FUSE_ONLY=name runs the tests whose name contains it. */
#define RUN_FUSE_TEST(fn)                                                                          \
	do {                                                                                       \
		if (getenv("TEST_E2FUSE_ONLY") && !strstr(#fn, getenv("TEST_E2FUSE_ONLY")))        \
			break;                                                                     \
		if (usable)                                                                        \
			RUN_TEST(fn);                                                              \
		else                                                                               \
			printf("SKIP: %s (%s)\n", #fn, why);                                      \
	} while (0)

int main(void)
{
	const char *env_path = getenv("PATH") ?: "/usr/bin:/bin";
	_cleanup_free_ char *path = xasprintf("%s:/usr/sbin:/sbin", env_path);
	char why[256] = "";
	bool usable;

	setenv("PATH", path, 1);
	alarm(1800); /* a hung server must not hang the suite */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-e2fuse.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	usable = can_mount(why, sizeof(why));
	if (usable) {
		static const char *const tools[] = { "mke2fs", "e2fsck", "debugfs", "dumpe2fs",
						     "python3", "setpriv", "tar", "dpkg",
						     "dpkg-deb" };

		for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
			if (!have(tools[i])) {
				snprintf(why, sizeof(why), "%s not found", tools[i]);
				usable = false;
			}
	}

	RUN_FUSE_TEST(test_tree_ext4);
	RUN_FUSE_TEST(test_tree_ext2);
	RUN_FUSE_TEST(test_ops_ext4);
	RUN_FUSE_TEST(test_ops_ext2);
	RUN_FUSE_TEST(test_ops_ext3);
	RUN_FUSE_TEST(test_orphans);
	RUN_FUSE_TEST(test_reuse);
	RUN_FUSE_TEST(test_dpkg);
	RUN_FUSE_TEST(test_clamp);
	RUN_FUSE_TEST(test_random_io_ext4);
	RUN_FUSE_TEST(test_random_io_ext2);
	RUN_FUSE_TEST(test_two);
	RUN_FUSE_TEST(test_full);
	RUN_FUSE_TEST(test_deleted);
	RUN_FUSE_TEST(test_speed);

	if (!getenv("TEST_E2FUSE_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
