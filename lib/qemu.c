/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QEMU runner: the command line for booting an image and the KVM probe. Talking to the
 * console of the QEMU it starts is lib/console.c's job. */
#include "qemu.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define QEMU_KVM_PROBE_MS 2000 /* the /dev/kvm probe's time limit */

/* ---- names ---- */

const char *const qemu_bus_names[] = { "usb", "ide", "virtio", NULL };
const char *const qemu_accel_names[] = { "auto", "kvm", "tcg", NULL };
const char *const qemu_firmware_names[] = { "bios", "uefi", "uefi-secure", "uefi-ia32", NULL };

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n - 1 ? names[v] : NULL;
}

static int name_find(const char *const *names, const char *s)
{
	for (size_t i = 0; s && names[i]; i++)
		if (streq(names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *qemu_bus_to_string(enum qemu_bus b)
{
	return name_of(qemu_bus_names, ARRAY_SIZE(qemu_bus_names), b);
}

int qemu_bus_from_string(const char *s)
{
	return name_find(qemu_bus_names, s);
}

const char *qemu_accel_to_string(enum qemu_accel a)
{
	return name_of(qemu_accel_names, ARRAY_SIZE(qemu_accel_names), a);
}

int qemu_accel_from_string(const char *s)
{
	return name_find(qemu_accel_names, s);
}

const char *qemu_firmware_to_string(enum qemu_firmware f)
{
	return name_of(qemu_firmware_names, ARRAY_SIZE(qemu_firmware_names), f);
}

int qemu_firmware_from_string(const char *s)
{
	return name_find(qemu_firmware_names, s);
}

int qemu_ovmf_files(enum qemu_firmware f, const char **ret_code, const char **ret_vars)
{
	switch (f) {
	case QEMU_FIRMWARE_UEFI:
		*ret_code = "OVMF_CODE_4M.fd";
		*ret_vars = "OVMF_VARS_4M.fd"; /* no keys: Secure Boot off */
		return 0;
	case QEMU_FIRMWARE_UEFI_SECURE:
		*ret_code = "OVMF_CODE_4M.secboot.fd";
		*ret_vars = "OVMF_VARS_4M.ms.fd"; /* Microsoft's KEK and db: Secure Boot on */
		return 0;
	case QEMU_FIRMWARE_UEFI_IA32:
		/* Debian builds the 32-bit firmware only for Secure Boot; without keys it is off */
		*ret_code = "OVMF32_CODE_4M.secboot.fd";
		*ret_vars = "OVMF32_VARS_4M.fd";
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- the command line ---- */

/* A value inside a QEMU option list: commas doubled. A relative path gets "./" so that a
 * name with a colon ("a:b.img") is never taken for a protocol ("nbd:", "json:"). */
static char *qemu_opt_path(const char *path)
{
	size_t n = strlen(path), k = 0;
	char *out = xmalloc(2 * n + 3);

	if (path[0] != '/') {
		out[k++] = '.';
		out[k++] = '/';
	}
	for (size_t i = 0; i < n; i++) {
		out[k++] = path[i];
		if (path[i] == ',')
			out[k++] = ',';
	}
	out[k] = 0;
	return out;
}

int qemu_build_argv(const struct qemu_config *c, char ***ret_argv)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *path = NULL, *mem = NULL, *drive = NULL, *chardev = NULL;

	if (!c->image || !c->qemu || c->accel == QEMU_ACCEL_AUTO || c->memory_mib == 0)
		return -EINVAL;
	if (!qemu_bus_to_string(c->bus) || !qemu_firmware_to_string(c->firmware))
		return -EINVAL;
	if (c->firmware != QEMU_FIRMWARE_BIOS && (!c->ovmf_code || !c->ovmf_vars))
		return -EINVAL;

	argv = strv_append(argv, c->qemu);
	argv = strv_append(argv, "-nodefaults");
	argv = strv_append(argv, "-display");
	argv = strv_append(argv, "none");
	/* Scripted: a reset ends QEMU (a panic with panic=N, a triple fault), so a step fails
	 * instead of waiting for a loop of reboots. Interactively, `reboot` reboots. */
	if (!c->interactive)
		argv = strv_append(argv, "-no-reboot");
	mem = xasprintf("%llu", (unsigned long long)c->memory_mib);
	argv = strv_append(argv, "-m");
	argv = strv_append(argv, mem);
	argv = strv_append(argv, "-accel");
	if (c->accel == QEMU_ACCEL_KVM) {
		argv = strv_append(argv, "kvm");
		argv = strv_append(argv, "-cpu");
		argv = strv_append(argv, "host");
	} else {
		/* One host thread per virtual CPU, or a second CPU only slows the first. */
		argv = strv_append(argv, c->cpus > 1 ? "tcg,thread=multi" : "tcg");
	}
	if (c->cpus > 0) {
		_cleanup_free_ char *smp = xasprintf("%u", c->cpus);

		argv = strv_append(argv, "-smp");
		argv = strv_append(argv, smp);
	}
	/* QEMU_FIRMWARE_BIOS: SeaBIOS is the pc machine's default. UEFI: OVMF on q35, from two
	 * flash chips: the code read-only, the variable store writable. With Secure Boot, SMM
	 * guards the store: only code in SMM may write it (the secboot build requires that). */
	if (c->firmware != QEMU_FIRMWARE_BIOS) {
		_cleanup_free_ char *code = qemu_opt_path(c->ovmf_code);
		_cleanup_free_ char *vars = qemu_opt_path(c->ovmf_vars);
		_cleanup_free_ char *d0 = NULL, *d1 = NULL;

		argv = strv_append(argv, "-machine");
		if (c->firmware == QEMU_FIRMWARE_UEFI_SECURE ||
		    c->firmware == QEMU_FIRMWARE_UEFI_IA32) {
			argv = strv_append(argv, "q35,smm=on");
			argv = strv_append(argv, "-global");
			argv = strv_append(argv, "driver=cfi.pflash01,property=secure,value=on");
		} else {
			argv = strv_append(argv, "q35");
		}
		d0 = xasprintf("if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
		d1 = xasprintf("if=pflash,format=raw,unit=1,file=%s", vars);
		argv = strv_append(argv, "-drive");
		argv = strv_append(argv, d0);
		argv = strv_append(argv, "-drive");
		argv = strv_append(argv, d1);
	}

	if (c->interactive) {
		/* The console and the monitor share the terminal: Ctrl-A X quits, Ctrl-A C
		 * switches to the monitor, and Ctrl-C goes to the guest. */
		if (c->log) {
			_cleanup_free_ char *log = qemu_opt_path(c->log);

			chardev = xasprintf("stdio,id=console,mux=on,signal=off,logfile=%s,"
					    "logappend=on", log);
		} else {
			chardev = xstrdup("stdio,id=console,mux=on,signal=off");
		}
		argv = strv_append(argv, "-chardev");
		argv = strv_append(argv, chardev);
		argv = strv_append(argv, "-serial");
		argv = strv_append(argv, "chardev:console");
		argv = strv_append(argv, "-mon");
		argv = strv_append(argv, "chardev=console");
	} else {
		argv = strv_append(argv, "-serial");
		argv = strv_append(argv, "stdio");
	}

	if (c->kernel) {
		argv = strv_append(argv, "-kernel");
		argv = strv_append(argv, c->kernel);
		if (c->initrd) {
			argv = strv_append(argv, "-initrd");
			argv = strv_append(argv, c->initrd);
		}
		if (c->append) {
			argv = strv_append(argv, "-append");
			argv = strv_append(argv, c->append);
		}
	}

	path = qemu_opt_path(c->image);
	drive = xasprintf("if=none,id=disk0,format=raw,file=%s%s%s", path,
			  c->write ? "" : ",snapshot=on", c->unsafe_cache ? ",cache=unsafe" : "");
	argv = strv_append(argv, "-drive");
	argv = strv_append(argv, drive);
	switch (c->bus) {
	case QEMU_BUS_USB:
		argv = strv_append(argv, "-device");
		argv = strv_append(argv, "qemu-xhci,id=xhci");
		argv = strv_append(argv, "-device");
		argv = strv_append(argv, "usb-storage,bus=xhci.0,drive=disk0,bootindex=1");
		break;
	case QEMU_BUS_IDE:
		/* pc: the PIIX IDE controller; q35: the ICH9 AHCI controller, ports ide.0-5. */
		argv = strv_append(argv, "-device");
		argv = strv_append(argv, "ide-hd,bus=ide.0,drive=disk0,bootindex=1");
		break;
	case QEMU_BUS_VIRTIO:
		argv = strv_append(argv, "-device");
		argv = strv_append(argv, "virtio-blk-pci,drive=disk0,bootindex=1");
		break;
	}
	if (c->net) {
		_cleanup_free_ char *netdev = xstrdup("user,id=net0");

		for (char **f = c->forwards; f && *f; f++) {
			const char *colon = strchr(*f, ':');
			char *more;

			if (!colon)
				return -EINVAL;
			more = xasprintf("%s,hostfwd=tcp:127.0.0.1:%.*s-:%s", netdev,
					 (int)(colon - *f), *f, colon + 1);
			free(netdev);
			netdev = more;
		}
		argv = strv_append(argv, "-netdev");
		argv = strv_append(argv, netdev);
		argv = strv_append(argv, "-device");
		argv = strv_append(argv, "virtio-net-pci,netdev=net0");
	}
	*ret_argv = TAKE_PTR(argv);
	return 0;
}

/* ---- KVM ---- */

/* What the probe child reports: 0 usable, else one of these. */
enum {
	KVM_PROBE_OK,
	KVM_PROBE_MISSING,
	KVM_PROBE_DENIED,
	KVM_PROBE_OPEN,
	KVM_PROBE_IOCTL,
	KVM_PROBE_VERSION,
};

static unsigned char kvm_probe(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC), v;

	if (fd < 0)
		return errno == ENOENT ? KVM_PROBE_MISSING
		       : errno == EACCES || errno == EPERM ? KVM_PROBE_DENIED
							   : KVM_PROBE_OPEN;
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v < 0)
		return KVM_PROBE_IOCTL;
	return v == 12 ? KVM_PROBE_OK : KVM_PROBE_VERSION;
}

bool qemu_kvm_usable(const char *dev, int timeout_ms, const char **ret_reason)
{
	static const char *const reasons[] = {
		[KVM_PROBE_MISSING] = "does not exist",
		[KVM_PROBE_DENIED] = "permission denied",
		[KVM_PROBE_OPEN] = "cannot be opened",
		[KVM_PROBE_IOCTL] = "is not a KVM device",
		[KVM_PROBE_VERSION] = "has an unknown KVM API version",
	};
	struct pollfd p;
	unsigned char answer = 0;
	int pfd[2], status;
	ssize_t k = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*ret_reason = "cannot be probed (no pipe)";
		return false;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		*ret_reason = "cannot be probed (no fork)";
		return false;
	}
	if (pid == 0) {
		answer = kvm_probe(dev);
		(void)!write(pfd[1], &answer, 1);
		_exit(0);
	}
	close(pfd[1]);
	p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
	while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
		;
	if (p.revents & (POLLIN | POLLHUP))
		k = read(pfd[0], &answer, 1);
	close(pfd[0]);
	if (k != 1)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (k != 1) {
		*ret_reason = "did not answer in time";
		return false;
	}
	if (answer == KVM_PROBE_OK)
		return true;
	*ret_reason = answer < ARRAY_SIZE(reasons) ? reasons[answer] : "cannot be probed";
	return false;
}

/* /dev/kvm may answer and QEMU still fail to start a guest on it (nested virtualisation
 * without some MSRs: "failed to set MSR 0x10a"). So start one, paused, with the CPU options
 * the boot would use: still running after a moment means KVM works. On failure *why is
 * QEMU's first line of complaint. */
static bool kvm_trial(const char *qemu, char **why)
{
	char *argv[] = { (char *)qemu, (char *)"-accel", (char *)"kvm", (char *)"-cpu",
			 (char *)"host", (char *)"-machine", (char *)"pc", (char *)"-display",
			 (char *)"none", (char *)"-nodefaults", (char *)"-no-user-config",
			 (char *)"-S", (char *)"-monitor", (char *)"none", (char *)"-serial",
			 (char *)"none", NULL };
	char buf[512] = "";
	struct pollfd pfd;
	size_t len = 0;
	int pipefd[2], status;
	pid_t pid;
	bool alive;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		execvp(qemu, argv);
		dprintf(2, "cannot run '%s': %s\n", qemu, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	/* Until QEMU dies (EOF on its stderr) or 1.5 s pass. */
	for (int waited = 0; waited < 1500;) {
		ssize_t k;
		int n = poll(&pfd, 1, 100);

		waited += 100;
		if (n <= 0)
			continue;
		k = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	close(pipefd[0]);
	/* EOF on its stderr comes as it exits: give the exit a moment to be reaped. */
	for (int i = 0; (alive = waitpid(pid, &status, WNOHANG) == 0) && i < 10; i++)
		usleep(20000);
	if (alive) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return true;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	*why = xasprintf("works, but QEMU cannot start a guest on it (%s)",
			 buf[0] ? buf : "it exits at once");
	return false;
}

int qemu_accel_resolve(enum qemu_accel asked, const char *qemu, char **ret_why)
{
	_cleanup_free_ char *trial_why = NULL;
	const char *why = NULL;
	bool kvm;

	if (asked == QEMU_ACCEL_TCG)
		return QEMU_ACCEL_TCG;
	kvm = qemu_kvm_usable("/dev/kvm", QEMU_KVM_PROBE_MS, &why);
	if (kvm && !kvm_trial(qemu, &trial_why)) {
		kvm = false;
		why = trial_why;
	}
	if (kvm)
		return QEMU_ACCEL_KVM;
	if (ret_why)
		*ret_why = xstrdup(why);
	return asked == QEMU_ACCEL_KVM ? -ENODEV : QEMU_ACCEL_TCG;
}
