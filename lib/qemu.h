/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a disk image in QEMU: the command line for an image (bus, memory, accelerator,
 * firmware) and the KVM probe. Scripted, QEMU's serial console is its stdin and stdout, for
 * lib/console.h's expect engine. */
#pragma once

#include <sys/types.h>

#include "util.h"

enum qemu_bus {
	QEMU_BUS_USB,    /* xHCI + usb-storage (SeaBIOS boots it; it does not boot usb-uas) */
	QEMU_BUS_IDE,    /* ide-hd on the built-in controller: PIIX IDE (pc), ICH9 AHCI (q35) */
	QEMU_BUS_VIRTIO, /* virtio-blk-pci */
};
/* NULL-terminated, indexed by the enum (for node_get_enum). */
extern const char *const qemu_bus_names[];
const char *qemu_bus_to_string(enum qemu_bus b);
int qemu_bus_from_string(const char *s); /* -EINVAL when unknown */

enum qemu_accel {
	QEMU_ACCEL_AUTO, /* KVM when qemu_kvm_usable() says so, else TCG */
	QEMU_ACCEL_KVM,  /* -accel kvm -cpu host */
	QEMU_ACCEL_TCG,  /* -accel tcg: emulation, slow but works everywhere */
};
extern const char *const qemu_accel_names[];
const char *qemu_accel_to_string(enum qemu_accel a);
int qemu_accel_from_string(const char *s);

enum qemu_firmware {
	QEMU_FIRMWARE_BIOS,        /* SeaBIOS, QEMU's default for the pc machine */
	QEMU_FIRMWARE_UEFI,        /* OVMF on q35: ovmf_code, and ovmf_vars (a copy per run) */
	QEMU_FIRMWARE_UEFI_SECURE, /* OVMF built for Secure Boot on q35 with SMM; the VARS copy
				    * holds the keys (Microsoft's: Secure Boot enforcing) */
	QEMU_FIRMWARE_UEFI_IA32,   /* 32-bit OVMF (package ovmf-ia32) on q35 with SMM, no keys:
				    * the firmware of 32-bit UEFI tablets and netbooks; a 64-bit
				    * kernel runs through the EFI mixed mode */
};
extern const char *const qemu_firmware_names[];
const char *qemu_firmware_to_string(enum qemu_firmware f);
int qemu_firmware_from_string(const char *s);

/* Where Debian's ovmf package puts the firmware (MKBOOTMEDIA_OVMF_DIR overrides it in boot). */
#define QEMU_OVMF_DIR "/usr/share/OVMF"
/* The file names, in that directory, of a UEFI firmware's code (read-only) and of the
 * variable store every run gets its own copy of. -EINVAL for QEMU_FIRMWARE_BIOS. */
int qemu_ovmf_files(enum qemu_firmware f, const char **ret_code, const char **ret_vars);

struct qemu_config {
	const char *qemu;     /* the binary (from PATH unless it has a '/') */
	const char *image;    /* a raw disk image */
	enum qemu_bus bus;
	uint64_t memory_mib;
	enum qemu_accel accel; /* KVM or TCG (resolve AUTO first) */
	enum qemu_firmware firmware;
	/* UEFI (required there, unused for BIOS): OVMF's code, attached read-only, and this
	 * run's own copy of a variable store, which the firmware writes. */
	const char *ovmf_code, *ovmf_vars;
	bool write;           /* false: snapshot=on, writes go to a temporary overlay */
	bool interactive;     /* the console multiplexed with the monitor (Ctrl-A X quits) */
	const char *log;      /* interactive: the console is appended to this file; NULL: none */
	unsigned cpus;        /* virtual CPUs; 0: QEMU's default (one). Several run on as many
			       * host threads under TCG (thread=multi) */
	bool unsafe_cache;    /* cache=unsafe: the guest's flushes are not passed on (a disk
			       * written once and closed by the caller, like a build's image) */
	bool net;             /* a virtio-net card on QEMU's user network (10.0.2.0/24, the host
			       * at 10.0.2.2, its DNS at 10.0.2.3); false: no network card */
	char **forwards;      /* with net: "HOSTPORT:GUESTPORT" TCP forwards from 127.0.0.1 */
	/* Direct kernel boot instead of the firmware booting the disk: the kernel, an initrd
	 * (may be NULL) and the command line (may be NULL). */
	const char *kernel, *initrd, *append;
};

/* The command line: an argv (free with strv_free) for execvp. Scripted (not interactive),
 * the serial console is the child's stdin and stdout and nothing else is: no display, no
 * monitor, no default devices, and -no-reboot so a guest that resets or panics ends QEMU. */
int qemu_build_argv(const struct qemu_config *c, char ***ret_argv);

/* Whether `dev` (normally "/dev/kvm") can run virtual machines: it opens read-write and
 * KVM_GET_API_VERSION says 12, within timeout_ms (the probe runs in a child, so a hung
 * device cannot hang us). Never fails: returns false with *ret_reason (static) set to why. */
bool qemu_kvm_usable(const char *dev, int timeout_ms, const char **ret_reason);

/* Resolves QEMU_ACCEL_AUTO (and checks QEMU_ACCEL_KVM): KVM when qemu_kvm_usable() says so
 * and `qemu` can start a guest on it (a paused trial run: /dev/kvm may answer and QEMU still
 * fail, e.g. nested without some MSRs), else TCG. Returns the accelerator; when KVM was not
 * usable, *ret_why (may be NULL) says why ("does not exist", "works, but QEMU cannot start a
 * guest on it (...)"). -ENODEV when KVM was asked for and does not work. Does not log. */
int qemu_accel_resolve(enum qemu_accel asked, const char *qemu, char **ret_why);
