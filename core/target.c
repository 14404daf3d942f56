/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a script inside the target (core/target.h): choosing how, the userns way
 * (lib/sandbox + lib/e2fuse), and reporting a script's output and failure. */
#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "target.h"
#include "e2fuse.h"
#include "fs.h"
#include "log.h"
#include "sandbox.h"

/* Why configure: vm cannot work for this build, or NULL. */
static char *vm_impossible(struct build *b)
{
	const struct partition *enc = target_vm_unsupported(b);
	_cleanup_free_ char *qemu = NULL;

	if (enc)
		return xasprintf("configure: vm does not support encrypted partitions yet ('%s' is "
				 "encrypted); use userns", enc->name);
	if (!streq(b->arch, "amd64") && !streq(b->arch, "i386"))
		return xasprintf("configure: vm boots the image's kernel in qemu-system-x86_64, "
				 "which cannot run architecture '%s'", b->arch);
	if (!(qemu = find_program("qemu-system-x86_64")))
		return xstrdup("configure: vm needs qemu-system-x86_64 (apt-get install "
			       "qemu-system-x86)");
	return NULL;
}

int target_resolve_mode(struct build *b)
{
	_cleanup_free_ char *why = NULL, *no_vm = NULL;
	const struct node *where = b->configure_node ? b->configure_node
						     : node_get(b->recipe->root, "packages");
	int r;

	switch (b->configure) {
	case CONFIGURE_USERNS:
		r = sandbox_probe(&why);
		if (r < 0)
			return node_error(where, "configure: userns cannot work on this host: "
					  "%s (or use vm or first-boot)", why);
		return 0;
	case CONFIGURE_VM:
		if ((no_vm = vm_impossible(b)))
			return node_error(where, "%s", no_vm);
		return 0;
	case CONFIGURE_FIRST_BOOT:
		if (!b->initrd)
			return node_error(where, "configure: first-boot needs mkbootmedia's "
					  "initramfs, which runs the hook on the first boot: add "
					  "kernel:, initrd: or a bootloader: to the recipe");
		if (build_part_at(b, "/usr"))
			return node_error(where, "configure: first-boot keeps its hook in "
					  "/usr/lib/mkbootmedia, which the initramfs looks for on "
					  "the root filesystem; /usr is partition '%s'",
					  build_part_at(b, "/usr")->name);
		return 0;
	case CONFIGURE_AUTO:
		break;
	default:
		return 0;
	}
	r = sandbox_probe(&why);
	if (r == 0) {
		b->configure = CONFIGURE_USERNS;
		return 0;
	}
	/* auto may choose vm only when the image has a kernel anyway */
	no_vm = b->initrd ? vm_impossible(b)
			       : xstrdup("configure: vm needs a kernel in the package set");
	if (!no_vm) {
		log_info("configuring in QEMU (configure: vm), since a user namespace cannot: %s",
			 why);
		b->configure = CONFIGURE_VM;
		return 0;
	}
	return node_error(where, "cannot run the maintainer scripts here: %s; and %s. Set "
			  "packages.configure to first-boot (the image configures itself when it "
			  "first boots) or none (unpacked only)", why, no_vm);
}

void target_log_line(const char *what, const char *line)
{
	if (startswith(line, "==> "))
		log_info("%s", line + 4);
	else
		log_debug("  %s| %s", what, line);
}

int target_report_failure(const char *what, char *const *tail, size_t n, int status)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* One message: what failed, how, and the lines that say why. */
	for (size_t i = 0; i < n; i++)
		fprintf(f, "\n  %s| %s", what, tail[i]);
	fclose(f);
	if (WIFSIGNALED(status))
		return log_fail("%s: killed by signal %d; its last output:%s", what,
				WTERMSIG(status), text);
	return log_fail("%s: failed with exit status %d; its last output:%s", what,
			WIFEXITED(status) ? WEXITSTATUS(status) : status, text);
}

char *target_heredoc_delimiter(const char *text, const char *prefix)
{
	for (unsigned k = 0;; k++) {
		char *d = xasprintf("%s_%u", prefix, k);
		size_t len = strlen(d);
		bool found = false;

		for (const char *l = text; l && *l;) {
			const char *nl = strchr(l, '\n');

			if (!strncmp(l, d, len) && (l[len] == '\n' || !l[len]))
				found = true;
			l = nl ? nl + 1 : NULL;
		}
		if (!found)
			return d;
		free(d);
	}
}

/* The userns script's output, from its memfd: logged line by line; on failure the last
 * lines are the error's context instead. */
static int report_output(int fd, const char *what, int status)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char **lines = NULL;
	char *line, *save = NULL;
	size_t n = 0, first = 0;
	struct stat st;

	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		buf = xmalloc(st.st_size + 1);
		if (pread_all(fd, buf, st.st_size, 0) < 0)
			st.st_size = 0;
		buf[st.st_size] = 0;
		lines = xcalloc(st.st_size / 2 + 2, sizeof(*lines));
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			lines[n++] = line;
	}
	if (status != 0 && n > TARGET_TAIL_LINES)
		first = n - TARGET_TAIL_LINES;
	for (size_t i = 0; i < (status != 0 ? first : n); i++)
		target_log_line(what, lines[i]);
	if (status != 0)
		return target_report_failure(what, lines + first, n - first, status);
	return 0;
}

struct serve_ctx {
	struct build *b;
	size_t *parts; /* partition index of each mount */
	size_t n;
};

static int serve(void *userdata, const int *fds, size_t n, int child_fd)
{
	struct serve_ctx *s = userdata;
	struct e2fuse_opts o = { .clamp = s->b->clamp_mtime, .clamp_time = s->b->now };
	_cleanup_free_ struct e2fuse **servers = xcalloc(n, sizeof(*servers));
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++)
		r = e2fuse_new(s->b->fs[s->parts[i]].ext2, fds[i], &o, &servers[i]);
	if (r >= 0)
		r = e2fuse_serve(servers, n, child_fd);
	for (size_t i = 0; i < n; i++)
		if (servers[i])
			e2fuse_free(servers[i]);
	return r;
}

static int cmp_mount(const void *a, const void *b)
{
	return strcmp((*(const struct partition *const *)a)->fs.mount,
		      (*(const struct partition *const *)b)->fs.mount);
}

int target_run_userns(struct build *b, const char *what, const char *script, unsigned flags)
{
	/* mkinitramfs builds its tree and its uncompressed archive (cpio's 512-byte writes,
	 * 250,000 FUSE round trips for a kernel) under /var/tmp. */
	static const char *const scratch_tmp[] = { "/tmp", "/var/tmp", NULL };
	_cleanup_free_ struct partition **mounted = xcalloc(b->n_parts + 1, sizeof(*mounted));
	_cleanup_free_ struct sandbox_mount *mounts = NULL;
	_cleanup_free_ size_t *idx = NULL;
	_cleanup_free_ char *copy = xstrdup(b->tmp_path), *scratch = NULL, *dir = NULL;
	_cleanup_close_ int out = -1;
	struct serve_ctx ctx = { .b = b };
	struct sandbox_opts o = { 0 };
	size_t n = 0;
	int r, status = 0;

	for (size_t i = 0; i < b->n_parts; i++)
		if (b->fs[i].ext2 && b->parts[i].fs.mount)
			mounted[n++] = &b->parts[i];
	qsort(mounted, n, sizeof(*mounted), cmp_mount);
	mounts = xcalloc(n, sizeof(*mounts));
	idx = xcalloc(n, sizeof(*idx));
	for (size_t i = 0; i < n; i++) {
		mounts[i] = (struct sandbox_mount){ .path = mounted[i]->fs.mount,
						    .kind = SANDBOX_FUSE };
		idx[i] = mounted[i] - b->parts;
	}
	ctx.parts = idx;
	ctx.n = n;

	/* The target is mounted there only inside the namespace; nothing is written in it. */
	dir = realpath(dirname(copy), NULL);
	if (!dir)
		return log_errno(errno, "cannot resolve the output's directory");
	scratch = xasprintf("%s/.mkbootmedia-root.XXXXXX", dir);
	if (!mkdtemp(scratch)) {
		r = log_errno(errno, "cannot make a directory next to the output");
		free(scratch);
		scratch = NULL;
		return r;
	}
	out = memfd_create("mkbootmedia-script-output", MFD_CLOEXEC);
	if (out < 0) {
		r = log_errno(errno, "memfd_create");
		goto done;
	}
	o.mounts = mounts;
	o.n_mounts = n;
	o.script = script;
	o.out_fd = out;
	o.scratch_dir = scratch;
	o.tmpfs = flags & TARGET_SCRATCH_TMP ? scratch_tmp : NULL;
	o.serve = serve;
	o.userdata = &ctx;
	r = sandbox_run(&o, &status);
	/* The FUSE server changed the filesystems behind the tree's back. */
	tree_forget(b->tree);
	if (r < 0) {
		report_output(out, what, 0); /* what it said before the sandbox failed */
		goto done;
	}
	r = report_output(out, what, status);
done:
	rmdir(scratch);
	return r;
}

int target_script(struct build *b, const char *what, const char *script, unsigned flags)
{
	switch (b->configure) {
	case CONFIGURE_USERNS:
		return target_run_userns(b, what, script, flags);
	case CONFIGURE_VM:
		return target_run_vm(b, what, script);
	case CONFIGURE_FIRST_BOOT:
		return target_run_first_boot(b, what, script);
	default:
		return log_fail("%s: nothing runs in the target with packages.configure: %s", what,
				configure_mode_names[b->configure]);
	}
}
