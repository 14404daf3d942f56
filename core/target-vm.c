/* SPDX-License-Identifier: GPL-2.0-or-later */
/* packages.configure: vm. The script runs as root in the image's own kernel, booted in QEMU
 * with a build-time initramfs that never lands in the image.
 *
 * The kernel (the target's /boot/vmlinuz-<kernel.version, else the newest>) and the
 * initramfs are memory files QEMU opens as /dev/fd/N: nothing is written next to the output
 * or left behind, whatever happens. The initramfs holds a static busybox (the target's
 * /usr/bin/busybox or /bin/busybox from busybox-static, else this machine's /bin/busybox),
 * the modules that see the disk, its filesystems and a network card (virtio_pci,
 * virtio_blk, ext4 and the filesystems' own, virtio_net, with their dependencies and soft
 * dependencies, from the target's /lib/modules), the script, and /init (templates/vm-init):
 * it mounts the partitions at their mount points with /proc, /sys, /dev and /run inside,
 * chroots, runs the script with its output on the serial console, unmounts and powers off.
 *
 * The build's filesystems are flushed and closed first, and opened again afterwards (the
 * tree rebuilt). QEMU gets the image file as a raw virtio disk (cache=unsafe: nothing is
 * durable before the build ends anyway), 1024 MiB, 2 CPUs (multi-threaded TCG without KVM),
 * the accelerator `mkbootmedia boot --accel auto` would choose, and QEMU's user network when
 * the kernel has virtio_net (10.0.2.15/24 via 10.0.2.2, name server 10.0.2.3 in a
 * resolv.conf bound over the target's for the run only). The kernel command line has
 * console=ttyS0, panic=-1 and oops=panic, and QEMU runs with -no-reboot: a crash ends QEMU
 * instead of hanging. The console streams into the build log ("==> " lines at info level);
 * MKBOOTMEDIA_VM_TIMEOUT (seconds) overrides the time limit, 20 minutes plus 15 seconds per
 * package (under TCG the maintainer scripts of ~110 packages take about 9 minutes).
 *
 * Encrypted partitions are refused (the guest would need their volume keys). */
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "target.h"
#include "cpio.h"
#include "elfinfo.h"
#include "fs.h"
#include "log.h"
#include "qemu.h"
#include "templates.h"

#define VM_QEMU "qemu-system-x86_64"
#define VM_MEMORY_MIB 1024
#define VM_CPUS 2
#define VM_TIMEOUT_BASE (20 * 60.0)
#define VM_TIMEOUT_PER_PACKAGE 15.0
#define VM_KERNEL_MAX (256u << 20)
#define VM_BUSYBOX_MAX (32u << 20)
#define VM_CMDLINE "console=ttyS0,115200 panic=-1 oops=panic quiet"

static const char *const disk_modules[] = { "virtio_pci", "virtio_blk", NULL };

const struct partition *target_vm_unsupported(const struct build *b)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].enc && b->parts[i].fs.mount)
			return &b->parts[i];
	return NULL;
}

/* A static busybox: the target's, else this machine's. */
static int read_busybox(struct build *b, char **ret, size_t *ret_size)
{
	static const char *const paths[] = { "/usr/bin/busybox", "/bin/busybox", NULL };
	_cleanup_free_ char *data = NULL, *interp = NULL;
	size_t size = 0;
	int r;

	for (const char *const *p = paths; *p; p++) {
		r = tree_read(b->tree, *p, VM_BUSYBOX_MAX, &data, &size);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0)
			return log_errno(r, "cannot read %s of the target", *p);
		if (elf_interp(data, size, &interp) == 0 && !interp) {
			log_debug("busybox of the build-time initramfs: the target's %s", *p);
			*ret = TAKE_PTR(data);
			*ret_size = size;
			return 0;
		}
		log_debug("the target's %s is not a static program: using this machine's", *p);
		free(interp);
		interp = NULL;
		break;
	}
	free(data);
	data = NULL;
	r = read_file("/bin/busybox", VM_BUSYBOX_MAX, &data, &size);
	if (r < 0 || elf_interp(data, size, &interp) < 0 || interp)
		return log_fail("configure: vm needs a static busybox for its build-time "
				"initramfs: add busybox-static to packages.include, or install "
				"busybox-static on this machine");
	log_debug("busybox of the build-time initramfs: this machine's /bin/busybox");
	*ret = TAKE_PTR(data);
	*ret_size = size;
	return 0;
}

/* The modules, in load order, and whether the kernel can have a network card. */
static int add_modules(struct build *b, struct cpio *c, const char *version, bool *ret_net)
{
	_cleanup_(kmod_freep) struct kmod *k = NULL;
	_cleanup_strv_free_ char **fs = NULL;
	_cleanup_free_ char *order = NULL;
	size_t order_len = 0;
	enum kmod_kind net = KMOD_UNKNOWN;
	FILE *f;
	int r;

	r = build_kmod_open(b, version, &k);
	if (r == -ENOENT) {
		log_warn("kernel %s has no /lib/modules/%s in the target: QEMU's disk and network "
			 "card need built-in drivers", version, version);
		*ret_net = false;
		return 0;
	}
	if (r < 0)
		return r;
	fs = build_fs_modules(b);
	if ((r = kmod_resolve(k, (char *const *)disk_modules, false, NULL, NULL)) < 0 ||
	    (r = kmod_resolve(k, fs, false, NULL, NULL)) < 0 ||
	    (r = kmod_lookup(k, "virtio_net", &net)) < 0)
		return r;
	if (net == KMOD_MODULE &&
	    (r = kmod_resolve(k, (char *const *)(const char *const[]){ "virtio_net", NULL }, false,
			      NULL, NULL)) < 0)
		return r;
	*ret_net = net != KMOD_UNKNOWN;
	if (!*ret_net)
		log_info("kernel %s has no virtio_net in the target: the script runs without a "
			 "network", version);
	f = open_memstream(&order, &order_len);
	for (size_t i = 0; i < kmod_count(k); i++) {
		_cleanup_free_ char *data = NULL, *path = NULL;
		size_t size;

		if ((r = kmod_module_data(k, i, &data, &size)) < 0)
			break;
		path = xasprintf("lib/modules/%s/%s", version, kmod_initrd_path(k, i));
		if ((r = cpio_add_file(c, path, 0644, data, size)) < 0)
			break;
		fprintf(f, "/%s\n", path);
	}
	fclose(f);
	if (r < 0)
		return r;
	log_debug("%zu kernel modules in the build-time initramfs", kmod_count(k));
	return cpio_add_file(c, "etc/modules.load", 0644, order, order_len);
}

/* "NUMBER TYPE MOUNT-POINT" per filesystem, parents first (mount points have no spaces). */
static char *mounts_text(struct build *b)
{
	_cleanup_free_ struct partition **order = xcalloc(b->n_parts + 1, sizeof(*order));
	size_t n = build_mount_order(b, order), len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; i < n; i++)
		if (!fs_driver_of(order[i]->fs.type)->staged) /* not in the image until the end */
			fprintf(f, "%u %s %s\n", order[i]->number,
				fs_type_to_string(order[i]->fs.type), order[i]->fs.mount);
	fclose(f);
	return out;
}

static int make_initrd(struct build *b, const char *version, const char *script,
		       const char *marker, int fd, bool *ret_net)
{
	static const char *const dirs[] = { "bin", "dev", "etc", "lib", "proc", "run", "sbin",
					    "sys", "target", "tmp", "usr", "usr/bin", "usr/sbin" };
	_cleanup_(cpio_freep) struct cpio *c = NULL;
	_cleanup_free_ char *busybox = NULL, *mounts = mounts_text(b), *conf = NULL;
	const char *init;
	size_t size = 0, init_size = 0;
	int r;

	if ((r = read_busybox(b, &busybox, &size)) < 0)
		return r;
	init = template_get("vm-init", &init_size);
	if ((r = cpio_new(fd, CPIO_COMPRESSION_NONE, b->now, &c)) < 0)
		return r;
	if ((r = build_initramfs_base(c, dirs, ARRAY_SIZE(dirs), busybox, size, init,
				      init_size)) < 0 ||
	    (r = add_modules(b, c, version, ret_net)) < 0)
		return r;
	conf = xasprintf("# configure: vm, written by mkbootmedia\nMARKER=%s\nNET=%d\n", marker,
			 *ret_net);
	if ((r = cpio_add_file(c, "etc/vm.conf", 0644, conf, strlen(conf))) < 0 ||
	    (r = cpio_add_file(c, "etc/vm.mounts", 0644, mounts, strlen(mounts))) < 0 ||
	    (r = cpio_add_file(c, "script", 0755, script, strlen(script))) < 0)
		return r;
	return cpio_close(c);
}

/* What the console says, as it comes. */
struct vm_console {
	const char *what;
	char *begin, *script_end, *end; /* the markers (end is a prefix) */
	int phase;                      /* 0 booting, 1 the script runs, 2 after it */
	bool ended, clean;
	char status[16];                /* the end marker's status: a number or "setup" */
	char *tail[TARGET_TAIL_LINES];  /* the script's last lines */
	size_t n_tail;
	char *last[TARGET_TAIL_LINES];  /* the console's last lines */
	size_t n_last;
};

static void ring_add(char **ring, size_t *n, const char *line)
{
	if (*n == TARGET_TAIL_LINES) {
		free(ring[0]);
		memmove(ring, ring + 1, (TARGET_TAIL_LINES - 1) * sizeof(*ring));
		(*n)--;
	}
	ring[(*n)++] = xstrdup(line);
}

static void ring_free(char **ring, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ring[i]);
}

static void on_line(void *userdata, const char *line)
{
	struct vm_console *v = userdata;
	const char *m;

	if (strstr(line, v->begin)) {
		v->phase = 1;
		return;
	}
	if (strstr(line, v->script_end)) {
		v->phase = 2;
		return;
	}
	if ((m = strstr(line, v->end))) {
		char clean[8] = "";

		if (sscanf(m + strlen(v->end), "%15[^:]:%7[^@]", v->status, clean) == 2) {
			v->ended = true;
			v->clean = streq(clean, "yes");
		}
		return;
	}
	ring_add(v->last, &v->n_last, line);
	if (v->phase == 1) {
		ring_add(v->tail, &v->n_tail, line);
		target_log_line(v->what, line);
	} else {
		log_debug("  vm| %s", line);
	}
}

static void show_last(const struct vm_console *v)
{
	for (size_t i = 0; i < v->n_last; i++)
		log_error("  vm| %s", v->last[i]);
}

static double vm_timeout(const struct build *b)
{
	const char *e = getenv("MKBOOTMEDIA_VM_TIMEOUT");
	char *end;
	double t;

	if (e && *e) {
		errno = 0;
		t = strtod(e, &end);
		if (!errno && !*end && isfinite(t) && t > 0)
			return t;
		log_warn("MKBOOTMEDIA_VM_TIMEOUT='%s' is not a number of seconds: ignored", e);
	}
	return VM_TIMEOUT_BASE + VM_TIMEOUT_PER_PACKAGE * (double)b->n_packages;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* QEMU's run, from the spawn to its end; the filesystems are closed meanwhile. */
static int run_qemu(struct build *b, const char *what, const struct qemu_config *cfg,
		    struct vm_console *v)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_(console_freep) struct console *c = NULL;
	double timeout = vm_timeout(b), t0 = now_seconds();
	struct console_opts co = { .timeout = timeout, .log_fd = -1, .echo_fd = -1,
				   .on_line = on_line, .userdata = v };
	int r, status;

	if ((r = qemu_build_argv(cfg, &argv)) < 0)
		return log_errno(r, "cannot build the QEMU command line");
	if (log_get_level() >= LOG_DEBUG) {
		_cleanup_free_ char *line = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&line, &len);

		for (char **a = argv; *a; a++)
			fprintf(f, "%s%s", a == argv ? "" : " ", *a);
		fclose(f);
		log_debug("running %s", line);
	}
	if ((r = console_spawn(argv, &co, &c)) < 0)
		return r;
	r = console_wait_exit(c, timeout);
	if (r == -ETIME) {
		show_last(v);
		return log_fail("%s: not done in QEMU after %.0f %s: stopped (for more time set "
				"MKBOOTMEDIA_VM_TIMEOUT=SECONDS; a script waiting for input never "
				"ends)", what, timeout < 120 ? timeout : timeout / 60,
				timeout < 120 ? "s" : "minutes");
	}
	if (r < 0)
		return r;
	status = console_child_status(c);
	if (!v->ended) {
		_cleanup_free_ char *err = xstrdup(console_child_stderr(c));
		char *save = NULL;

		show_last(v);
		for (char *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			log_error("  qemu| %s", l);
		return log_fail("%s: QEMU ended (%s %d) before the script did; the console's last "
				"lines are above", what,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	log_info("QEMU done after %.0f s", now_seconds() - t0);
	return 0;
}

int target_run_vm(struct build *b, const char *what, const char *script)
{
	const struct node *kv = node_get(node_get(b->recipe->root, "kernel"), "version");
	_cleanup_free_ char *version = NULL, *kpath = NULL, *kernel = NULL, *why = NULL;
	_cleanup_close_ int kfd = -1, ifd = -1;
	const struct partition *enc = target_vm_unsupported(b);
	const char *want = NULL;
	struct vm_console v = { .what = what };
	struct qemu_config cfg;
	char kdev[32], idev[32], sz[32];
	uint8_t nonce[16];
	size_t ksize = 0;
	bool net = false;
	int r, accel;

	if (enc)
		return log_fail("configure: vm does not support encrypted partitions yet ('%s' is "
				"encrypted); use userns", enc->name);
	if (!b->tree)
		return log_fail("%s: configure: vm needs a filesystem mounted at /", what);
	if (kv && (r = node_get_string(kv, &want)) < 0)
		return r;
	r = build_find_kernel(b, want, &version);
	if (r == -ENOENT)
		return log_fail("configure: vm boots the image's kernel, and the target has no "
				"/boot/vmlinuz-%s: add linux-image-amd64 to packages.include",
				want ? want : "*");
	if (r < 0)
		return log_errno(r, "cannot look for the kernel in /boot");
	kpath = xasprintf("/boot/vmlinuz-%s", version);
	if ((r = tree_read(b->tree, kpath, VM_KERNEL_MAX, &kernel, &ksize)) < 0)
		return log_errno(r, "cannot read %s of the target", kpath);

	/* Memory files QEMU opens as /dev/fd/N: not close-on-exec. */
	kfd = memfd_create("mkbootmedia-vm-kernel", 0);
	ifd = memfd_create("mkbootmedia-vm-initrd", 0);
	if (kfd < 0 || ifd < 0)
		return log_errno(errno, "cannot create a memory file for QEMU");
	if ((r = pwrite_all(kfd, kernel, ksize, 0)) < 0)
		return log_errno(r, "cannot write the kernel for QEMU");
	free(TAKE_PTR(kernel));

	build_derive(b, "vm-marker", nonce);
	{
		char marker[40];

		snprintf(marker, sizeof(marker), "mkb-%02x%02x%02x%02x%02x%02x%02x%02x", nonce[0],
			 nonce[1], nonce[2], nonce[3], nonce[4], nonce[5], nonce[6], nonce[7]);
		v.begin = xasprintf("@@%s-begin@@", marker);
		v.script_end = xasprintf("@@%s-script-end@@", marker);
		v.end = xasprintf("@@%s-end:", marker);
		r = make_initrd(b, version, script, marker, ifd, &net);
	}
	if (r < 0)
		goto out;

	accel = qemu_accel_resolve(QEMU_ACCEL_AUTO, VM_QEMU, &why);
	if (accel < 0) {
		r = log_errno(accel, "cannot choose QEMU's accelerator");
		goto out;
	}
	snprintf(kdev, sizeof(kdev), "/dev/fd/%d", kfd);
	snprintf(idev, sizeof(idev), "/dev/fd/%d", ifd);
	cfg = (struct qemu_config){
		.qemu = VM_QEMU, .image = b->tmp_path, .bus = QEMU_BUS_VIRTIO,
		.memory_mib = VM_MEMORY_MIB, .accel = accel, .write = true, .cpus = VM_CPUS,
		.unsafe_cache = true, .net = net, .kernel = kdev, .initrd = idev,
		.append = VM_CMDLINE,
	};
	log_info("the image's kernel %s in QEMU (%s%s%s; %u CPUs, %s)", version,
		 qemu_accel_to_string(accel), why ? ": /dev/kvm " : "", why ? why : "", VM_CPUS,
		 format_bytes(sz, (uint64_t)VM_MEMORY_MIB << 20));

	if ((r = build_fs_close(b)) < 0)
		goto out;
	/* After a failure the filesystems stay closed: the build is discarded, and a guest
	 * stopped halfway may have left them needing recovery (a second, useless error). */
	r = run_qemu(b, what, &cfg, &v);
	if (r < 0 || (r = build_fs_reopen(b)) < 0)
		goto out;
	if (streq(v.status, "setup")) {
		show_last(&v);
		r = log_fail("%s: the build-time system in QEMU could not start the script; the "
			     "console's last lines are above", what);
	} else if (!streq(v.status, "0")) {
		char *end;
		long st = strtol(v.status, &end, 10);

		if (*end || st < 0 || st > 255)
			st = 255;
		r = target_report_failure(what, v.tail, v.n_tail, (int)st << 8);
	} else if (!v.clean) {
		show_last(&v);
		r = log_fail("%s: a filesystem could not be unmounted in QEMU (something of the "
			     "script kept it busy); the console's last lines are above", what);
	}
out:
	ring_free(v.tail, v.n_tail);
	ring_free(v.last, v.n_last);
	free(v.begin);
	free(v.script_end);
	free(v.end);
	return r;
}
