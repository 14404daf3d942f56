/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Standard input for the child: the bytes given, in a memory file (a pipe could fill while
 * the child writes its own output), else /dev/null. */
static int input_fd(const struct spawn_opts *o)
{
	int fd;

	if (!o || !o->input)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = memfd_create("spawn-input", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t done = 0; done < o->input_size;) {
		ssize_t k = write(fd, (const char *)o->input + done, o->input_size - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)k;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int spawn_capture(char *const *argv, char **ret_output)
{
	return spawn_run(argv, NULL, ret_output);
}

int spawn_run(char *const *argv, const struct spawn_opts *o, char **ret_output)
{
	_cleanup_close_ int null_fd = input_fd(o);
	_cleanup_free_ char *out = NULL;
	size_t len = 0, cap = 0;
	int pfd[2], status;
	pid_t pid;

	if (null_fd < 0)
		return log_errno(errno, "cannot make the standard input of '%s'", argv[0]);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return log_errno(errno, "cannot create a pipe");
	log_debug("running: %s", argv[0]);
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(pfd[0]);
		close(pfd[1]);
		return log_errno(err, "cannot fork");
	}
	if (pid == 0) {
		if (dup2(null_fd, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		for (char *const *e = o ? o->env : NULL; e && *e; e++)
			if (putenv(*e) < 0)
				_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t k;

		if (len + 4096 + 1 > cap) {
			cap = 2 * cap + 8192;
			out = xrealloc(out, cap);
		}
		k = read(pfd[0], out + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len > (16u << 20))
			len = 0; /* a runaway tool: keep the tail only */
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_errno(errno, "cannot wait for '%s'", argv[0]);
	if (!out)
		out = xmalloc(1);
	out[len] = 0;
	if (ret_output)
		*ret_output = TAKE_PTR(out);
	if (!WIFEXITED(status))
		return log_fail("'%s' was killed by signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}
