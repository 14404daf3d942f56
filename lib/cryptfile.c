// SPDX-License-Identifier: GPL-2.0-or-later
/* Three processes: the caller reads the program's output from a pipe and waits for the
 * server; the server (a child, in its own mount namespace) mounts the FUSE filesystem and
 * answers its requests until the program (its child) exits, then unmounts; the program. The
 * server polls /dev/fuse and a pidfd of the program, so it needs no thread. */
#define FUSE_USE_VERSION 35
#include "cryptfile.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define DIR_PATH "/tmp/volume"
#define FILE_NAME "plain"
#define FILE_INO 2
#define TIMEOUT 86400.0
#define SETUP_FAILED 255 /* the server's exit status when it could not serve */
#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))

struct server {
	int fd;                /* the device */
	uint64_t offset, size; /* the segment */
	struct cryptio_cipher *c;
	uint64_t sector;
	int io_error; /* the first -errno of the device, said once */
};

static void file_stat(const struct server *s, fuse_ino_t ino, struct stat *st)
{
	*st = (struct stat){ .st_ino = ino, .st_nlink = 1 };
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_size = (off_t)s->size;
		st->st_blocks = (blkcnt_t)(s->size / 512);
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct server *s = fuse_req_userdata(req);
	struct fuse_entry_param e = { .ino = FILE_INO,
				      .attr_timeout = TIMEOUT,
				      .entry_timeout = TIMEOUT };

	if (parent != FUSE_ROOT_ID || !streq(name, FILE_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	file_stat(s, FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct server *s = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	file_stat(s, ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* Only what changes nothing: the file's size is the segment's. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	const struct server *s = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (ino != FILE_INO ||
	    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) ||
	    ((to_set & FUSE_SET_ATTR_SIZE) && (uint64_t)attr->st_size != s->size)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	file_stat(s, ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1; /* no plaintext in the page cache */
	fuse_reply_open(req, fi);
}

/* [start, end) of the segment, whole crypt sectors, decrypted into buf. */
static int read_plain(struct server *s, uint8_t *buf, uint64_t start, uint64_t end)
{
	int r = pread_all(s->fd, buf, end - start, s->offset + start);

	if (r < 0)
		return r;
	return cryptio_decrypt(s->c, buf, end - start, start);
}

static void io_failed(struct server *s, fuse_req_t req, int r, const char *what, uint64_t off)
{
	if (!s->io_error) {
		log_errno(r, "cannot %s the encrypted volume at %" PRIu64, what, s->offset + off);
		s->io_error = r;
	}
	fuse_reply_err(req, EIO);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct server *s = fuse_req_userdata(req);
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t o = (uint64_t)off, end, start;
	int r;

	(void)ino;
	(void)fi;
	if (o >= s->size || !size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	end = o + size < s->size ? o + size : s->size;
	start = o / s->sector * s->sector;
	buf = xmalloc(ROUND_UP(end, s->sector) - start);
	r = read_plain(s, buf, start, ROUND_UP(end, s->sector));
	if (r < 0) {
		io_failed(s, req, r, "read", start);
		return;
	}
	fuse_reply_buf(req, (const char *)buf + (o - start), end - o);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct server *s = fuse_req_userdata(req);
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t o = (uint64_t)off, start, end;
	int r;

	(void)ino;
	(void)fi;
	if (o > s->size || size > s->size - o) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	start = o / s->sector * s->sector;
	end = ROUND_UP(o + size, s->sector);
	buf = xmalloc(end - start);
	/* A partial sector at either end: the sectors are read first. */
	if ((start != o || end != o + size) && (r = read_plain(s, buf, start, end)) < 0) {
		io_failed(s, req, r, "read", start);
		return;
	}
	memcpy(buf + (o - start), data, size);
	if ((r = cryptio_encrypt(s->c, buf, end - start, start)) < 0 ||
	    (r = pwrite_all(s->fd, buf, end - start, s->offset + start)) < 0) {
		io_failed(s, req, r, "write", start);
		return;
	}
	fuse_reply_write(req, size);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct server *s = fuse_req_userdata(req);

	(void)ino;
	(void)datasync;
	(void)fi;
	if (fdatasync(s->fd) < 0) {
		io_failed(s, req, -errno, "flush", 0);
		return;
	}
	fuse_reply_err(req, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	op_fsync(req, ino, 0, fi);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
};

/* The program, in the server's namespace, its output on out_fd; a pidfd of it. */
static int start_program(char *const *argv, int out_fd, pid_t *ret_pid)
{
	pid_t pid = fork();
	int pidfd;

	if (pid < 0)
		return log_errno(errno, "cannot fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*ret_pid = pid;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return log_errno(errno, "cannot open a pidfd (Linux 5.3 or later is needed)");
	return pidfd;
}

/* Answers requests until the program exits; its exit status, or SETUP_FAILED. */
static int serve(struct server *s, char *const *argv, int out_fd)
{
	char *fargv[] = { "mkbootmedia", "-o", "fsname=mkbootmedia-volume,default_permissions",
			  NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_buf fbuf = { 0 };
	struct fuse_session *se;
	_cleanup_close_ int pidfd = -1;
	int status = SETUP_FAILED, w;
	pid_t pid = 0;

	if (unshare(CLONE_NEWNS) < 0) {
		log_errno(errno, "cannot make a mount namespace");
		return SETUP_FAILED;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0 ||
	    mkdir(DIR_PATH, 0700) < 0) {
		log_errno(errno, "cannot mount a private /tmp");
		return SETUP_FAILED;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), s);
	if (!se) {
		log_error("cannot start a FUSE session");
		return SETUP_FAILED;
	}
	if (fuse_session_mount(se, DIR_PATH) < 0) {
		log_error("cannot mount FUSE on %s (is /dev/fuse there?)", DIR_PATH);
		goto out;
	}
	pidfd = start_program(argv, out_fd, &pid);
	if (pidfd < 0)
		goto unmount;
	for (;;) {
		struct pollfd p[2] = { { .fd = fuse_session_fd(se), .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int r = poll(p, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_errno(errno, "poll");
			break;
		}
		if (p[0].revents) {
			r = fuse_session_receive_buf(se, &fbuf);
			if (r > 0)
				fuse_session_process_buf(se, &fbuf);
			else if (r < 0 && r != -EINTR && r != -EAGAIN && r != -ENOENT)
				break;
			continue;
		}
		if (p[1].revents)
			break;
	}
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		status = SETUP_FAILED;
	else if (WIFEXITED(status))
		status = WEXITSTATUS(status) == SETUP_FAILED ? 1 : WEXITSTATUS(status);
	else {
		log_error("'%s' was killed by signal %d", argv[0], WTERMSIG(status));
		status = SETUP_FAILED;
	}
	if (s->io_error)
		status = SETUP_FAILED;
unmount:
	fuse_session_unmount(se);
out:
	free(fbuf.mem);
	fuse_session_destroy(se);
	return status;
}

int cryptfile_run(const struct cryptfile_volume *v, char *const *argv, char **ret_output)
{
	struct server s = { .fd = v->fd,
			    .offset = v->offset,
			    .size = v->size,
			    .c = v->cipher,
			    .sector = cryptio_cipher_sector_size(v->cipher) };
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int pfd[2], status, r;
	pid_t pid;

	if (s.size % s.sector)
		return log_fail("the encrypted volume's size (%" PRIu64
				") is not a multiple of its sector size (%" PRIu64 ")",
				s.size, s.sector);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return log_errno(errno, "cannot create a pipe");
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return log_errno(r, "cannot fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		_exit(serve(&s, argv, pfd[1]));
	}
	close(pfd[1]);
	r = read_fd(pfd[0], 16u << 20, &out, &len);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_errno(errno, "cannot wait for the volume's server");
	if (r < 0)
		return log_errno(r, "cannot read what '%s' printed", argv[0]);
	if (!WIFEXITED(status))
		return log_fail("the volume's server was killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) == SETUP_FAILED)
		return -EIO; /* said by the server */
	if (ret_output)
		*ret_output = TAKE_PTR(out);
	return WEXITSTATUS(status);
}
