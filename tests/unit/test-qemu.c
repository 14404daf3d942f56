// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/qemu.c and the test: section of builder/boot.c. The QEMU command line is
 * checked as a string; a real boot is tests/cases/boot-cli. The expect engine that talks to
 * the console is tests/unit/test-console.c. */
#include "qemu.h"

#include <ftw.h>
#include <regex.h>
#include <sys/stat.h>

#include "boot.h"
#include "capture.h"
#include "check.h"
#include "log.h"
#include "recipe.h"

static char tmpdir[] = "/tmp/test-qemu-XXXXXX";

static void test_names(void)
{
	CHECK(qemu_bus_from_string("usb") == QEMU_BUS_USB);
	CHECK(qemu_bus_from_string("ide") == QEMU_BUS_IDE);
	CHECK(qemu_bus_from_string("virtio") == QEMU_BUS_VIRTIO);
	CHECK(qemu_bus_from_string("uas") == -EINVAL);
	CHECK(qemu_bus_from_string(NULL) == -EINVAL);
	CHECK_STREQ(qemu_bus_to_string(QEMU_BUS_VIRTIO), "virtio");
	CHECK(qemu_bus_to_string((enum qemu_bus)7) == NULL);
	CHECK(qemu_accel_from_string("tcg") == QEMU_ACCEL_TCG);
	CHECK(qemu_accel_from_string("hvf") == -EINVAL);
	CHECK(qemu_firmware_from_string("bios") == QEMU_FIRMWARE_BIOS);
	CHECK(qemu_firmware_from_string("uefi") == QEMU_FIRMWARE_UEFI);
	CHECK(qemu_firmware_from_string("uefi-secure") == QEMU_FIRMWARE_UEFI_SECURE);
	CHECK(qemu_firmware_from_string("efi") == -EINVAL);
	CHECK_STREQ(qemu_firmware_to_string(QEMU_FIRMWARE_UEFI_SECURE), "uefi-secure");
	CHECK(qemu_firmware_from_string("uefi-ia32") == QEMU_FIRMWARE_UEFI_IA32);
	CHECK(qemu_firmware_to_string((enum qemu_firmware)4) == NULL);
}

static void test_ovmf_files(void)
{
	const char *code = NULL, *vars = NULL;

	CHECK(qemu_ovmf_files(QEMU_FIRMWARE_BIOS, &code, &vars) == -EINVAL);
	CHECK(qemu_ovmf_files(QEMU_FIRMWARE_UEFI, &code, &vars) == 0);
	CHECK_STREQ(code, "OVMF_CODE_4M.fd");
	CHECK_STREQ(vars, "OVMF_VARS_4M.fd");
	CHECK(qemu_ovmf_files(QEMU_FIRMWARE_UEFI_SECURE, &code, &vars) == 0);
	CHECK_STREQ(code, "OVMF_CODE_4M.secboot.fd");
	CHECK_STREQ(vars, "OVMF_VARS_4M.ms.fd");
}

static char *argv_join(char **argv)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fclose(f);
	return out;
}

static void test_argv(void)
{
	struct qemu_config c = { .qemu = "qemu-system-x86_64", .image = "out/usb.img",
				 .bus = QEMU_BUS_USB, .memory_mib = 512, .accel = QEMU_ACCEL_TCG };
	_cleanup_strv_free_ char **a = NULL, **b = NULL, **d = NULL, **e = NULL, **f = NULL;
	_cleanup_free_ char *sa = NULL, *sb = NULL, *sd = NULL, *sf = NULL;

	CHECK(qemu_build_argv(&c, &a) == 0);
	sa = argv_join(a);
	CHECK_STREQ(sa, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 512 -accel tcg "
			"-serial stdio -drive if=none,id=disk0,format=raw,file=./out/usb.img,"
			"snapshot=on -device qemu-xhci,id=xhci -device "
			"usb-storage,bus=xhci.0,drive=disk0,bootindex=1");

	/* A comma is doubled, a colon cannot make a protocol of an absolute path; --write. */
	c.image = "/srv/a,b:c.img";
	c.bus = QEMU_BUS_IDE;
	c.accel = QEMU_ACCEL_KVM;
	c.write = true;
	c.memory_mib = 1024;
	CHECK(qemu_build_argv(&c, &b) == 0);
	sb = argv_join(b);
	CHECK_STREQ(sb, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 1024 "
			"-accel kvm -cpu host -serial stdio -drive if=none,id=disk0,format=raw,"
			"file=/srv/a,,b:c.img -device ide-hd,bus=ide.0,drive=disk0,bootindex=1");

	c.image = "nbd:x.img";
	c.bus = QEMU_BUS_VIRTIO;
	c.write = false;
	c.interactive = true;
	c.log = "logs/con,sole.log";
	CHECK(qemu_build_argv(&c, &d) == 0);
	sd = argv_join(d);
	CHECK_STREQ(sd, "qemu-system-x86_64 -nodefaults -display none -m 1024 -accel kvm -cpu host "
			"-chardev stdio,id=console,mux=on,signal=off,"
			"logfile=./logs/con,,sole.log,logappend=on -serial chardev:console "
			"-mon chardev=console -drive if=none,id=disk0,format=raw,file=./nbd:x.img,"
			"snapshot=on -device virtio-blk-pci,drive=disk0,bootindex=1");

	/* A kernel booted directly, two CPUs on TCG threads, cache=unsafe, user networking. */
	c = (struct qemu_config){ .qemu = "qemu-system-x86_64", .image = "/tmp/.x.img",
				  .bus = QEMU_BUS_VIRTIO, .memory_mib = 1024,
				  .accel = QEMU_ACCEL_TCG, .write = true, .cpus = 2,
				  .unsafe_cache = true, .net = true, .kernel = "/dev/fd/5",
				  .initrd = "/dev/fd/6", .append = "console=ttyS0 panic=-1" };
	CHECK(qemu_build_argv(&c, &f) == 0);
	sf = argv_join(f);
	CHECK_STREQ(sf, "qemu-system-x86_64 -nodefaults -display none -no-reboot -m 1024 "
			"-accel tcg,thread=multi -smp 2 -serial stdio -kernel /dev/fd/5 "
			"-initrd /dev/fd/6 -append console=ttyS0 panic=-1 -drive if=none,id=disk0,"
			"format=raw,file=/tmp/.x.img,cache=unsafe -device "
			"virtio-blk-pci,drive=disk0,bootindex=1 -netdev user,id=net0 "
			"-device virtio-net-pci,netdev=net0");

	/* Forwards from 127.0.0.1 only, every one on the user network. */
	{
		char *fw[] = { (char *)"2222:22", (char *)"8080:80", NULL };
		_cleanup_strv_free_ char **g = NULL;
		_cleanup_free_ char *sg = NULL;

		c.forwards = fw;
		CHECK(qemu_build_argv(&c, &g) == 0);
		sg = argv_join(g);
		CHECK(strstr(sg, "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,"
				 "hostfwd=tcp:127.0.0.1:8080-:80 -device virtio-net-pci") != NULL);
		c.forwards = NULL;
	}

	c.accel = QEMU_ACCEL_AUTO; /* must be resolved first */
	CHECK(qemu_build_argv(&c, &e) == -EINVAL && !e);
}

/* UEFI: q35 (with SMM and secure flash for Secure Boot), the code read-only and the
 * variable store writable, before the console; every bus; BIOS stays on the pc machine. */
static void test_argv_uefi(void)
{
	static const struct {
		enum qemu_firmware fw;
		enum qemu_bus bus;
		const char *want;
	} cases[] = {
		{ QEMU_FIRMWARE_UEFI, QEMU_BUS_USB,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -machine q35 "
		  "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/C.fd "
		  "-drive if=pflash,format=raw,unit=1,file=/tmp/d,,x/V.fd -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device qemu-xhci,id=xhci -device usb-storage,bus=xhci.0,drive=disk0,bootindex=1" },
		{ QEMU_FIRMWARE_UEFI, QEMU_BUS_IDE,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -machine q35 "
		  "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/C.fd "
		  "-drive if=pflash,format=raw,unit=1,file=/tmp/d,,x/V.fd -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device ide-hd,bus=ide.0,drive=disk0,bootindex=1" },
		{ QEMU_FIRMWARE_UEFI_SECURE, QEMU_BUS_VIRTIO,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -machine q35,smm=on "
		  "-global driver=cfi.pflash01,property=secure,value=on "
		  "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/C.fd "
		  "-drive if=pflash,format=raw,unit=1,file=/tmp/d,,x/V.fd -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device virtio-blk-pci,drive=disk0,bootindex=1" },
		{ QEMU_FIRMWARE_UEFI_SECURE, QEMU_BUS_USB,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -machine q35,smm=on "
		  "-global driver=cfi.pflash01,property=secure,value=on "
		  "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/C.fd "
		  "-drive if=pflash,format=raw,unit=1,file=/tmp/d,,x/V.fd -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device qemu-xhci,id=xhci -device usb-storage,bus=xhci.0,drive=disk0,bootindex=1" },
		/* 32-bit OVMF: Debian's is a Secure Boot build, so SMM and secure flash too. */
		{ QEMU_FIRMWARE_UEFI_IA32, QEMU_BUS_USB,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -machine q35,smm=on "
		  "-global driver=cfi.pflash01,property=secure,value=on "
		  "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/C.fd "
		  "-drive if=pflash,format=raw,unit=1,file=/tmp/d,,x/V.fd -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device qemu-xhci,id=xhci -device usb-storage,bus=xhci.0,drive=disk0,bootindex=1" },
		/* BIOS ignores the OVMF paths: the command line of before. */
		{ QEMU_FIRMWARE_BIOS, QEMU_BUS_IDE,
		  "q -nodefaults -display none -no-reboot -m 512 -accel tcg -serial stdio "
		  "-drive if=none,id=disk0,format=raw,file=./a.img,snapshot=on "
		  "-device ide-hd,bus=ide.0,drive=disk0,bootindex=1" },
	};
	struct qemu_config c = { .qemu = "q",
				 .image = "a.img",
				 .memory_mib = 512,
				 .accel = QEMU_ACCEL_TCG };
	_cleanup_strv_free_ char **bad = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_strv_free_ char **a = NULL;
		_cleanup_free_ char *sa = NULL;

		c.firmware = cases[i].fw;
		c.bus = cases[i].bus;
		c.ovmf_code = "/usr/share/OVMF/C.fd";
		c.ovmf_vars = "/tmp/d,x/V.fd";
		CHECK(qemu_build_argv(&c, &a) == 0);
		sa = argv_join(a);
		CHECK_STREQ(sa, cases[i].want);
	}
	/* UEFI without its files, or a firmware that does not exist. */
	c.firmware = QEMU_FIRMWARE_UEFI;
	c.ovmf_vars = NULL;
	CHECK(qemu_build_argv(&c, &bad) == -EINVAL && !bad);
	c.firmware = (enum qemu_firmware)4;
	c.ovmf_vars = "v";
	CHECK(qemu_build_argv(&c, &bad) == -EINVAL && !bad);
}

static void test_kvm_probe(void)
{
	const char *why = NULL;

	CHECK(!qemu_kvm_usable("/nonexistent/kvm", 2000, &why));
	CHECK_STREQ(why, "does not exist");
	why = NULL;
	CHECK(!qemu_kvm_usable("/dev/null", 2000, &why));
	CHECK_STREQ(why, "is not a KVM device");
	/* Whatever this machine has, the probe answers in time. */
	why = NULL;
	if (!qemu_kvm_usable("/dev/kvm", 2000, &why))
		CHECK(why && !streq(why, "did not answer in time"));
}

/* ---- the test: section ---- */

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(name);
		exit(2);
	}
}

/* Parses recipe text's test: section; returns the result and the logged text. */
static int parse_test(const char *text, struct boot_test *ret, char **ret_err)
{
	struct recipe *r = NULL;
	int rc;

	write_file("t.yml", text);
	capture_begin();
	rc = recipe_load("t.yml", NULL, &r);
	if (rc == 0)
		rc = boot_test_parse(r->root, node_get(r->root, "test"), ret);
	recipe_free(r);
	*ret_err = capture_end();
	return rc;
}

static void test_section(void)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;

	CHECK(parse_test("test:\n"
			 "  bus: virtio\n"
			 "  memory: 1GiB\n"
			 "  timeout: 120\n"
			 "  steps:\n"
			 "    - expect: 'login: $'\n"
			 "      timeout: 90\n"
			 "    - send: 'root\\n'\n"
			 "    - send: \"x\\ty\\n\"\n"
			 "    - run: uname -r\n"
			 "      output: '^6\\.1\\.'\n"
			 "    - run: 'false'\n"
			 "      status: 1\n"
			 "    - poweroff: true\n",
			 &t, &err) == 0);
	CHECK_STREQ(err, "");
	CHECK(t.bus == QEMU_BUS_VIRTIO && t.memory_mib == 1024 && t.timeout == 120);
	CHECK(t.n_steps == 6);
	CHECK(t.steps[0].kind == CONSOLE_EXPECT && t.steps[0].timeout == 90);
	CHECK_STREQ(t.steps[0].text, "login: $");
	CHECK(t.steps[1].kind == CONSOLE_SEND && t.steps[1].size == 5);
	CHECK(memcmp(t.steps[1].text, "root\n", 5) == 0);
	CHECK(t.steps[2].size == 4 && memcmp(t.steps[2].text, "x\ty\n", 4) == 0);
	CHECK(t.steps[3].kind == CONSOLE_RUN && t.steps[3].status == 0);
	CHECK_STREQ(t.steps[3].text, "uname -r");
	CHECK_STREQ(t.steps[3].output, "^6\\.1\\.");
	CHECK(t.steps[4].status == 1 && !t.steps[4].output);
	CHECK(t.steps[5].kind == CONSOLE_POWEROFF && t.steps[5].timeout == 0);
}

static void test_section_defaults(void)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;

	CHECK(parse_test("test: {steps: [{expect: 'login:'}]}\n", &t, &err) == 0);
	CHECK(t.bus == -1 && t.memory_mib == 0 && t.timeout == 0 && t.n_steps == 1);
	boot_test_done(&t);
	t = (struct boot_test){};
	free(err);
	CHECK(parse_test("test: {memory: 256, steps: [{expect: 'login:'}]}\n", &t, &err) == 0);
	CHECK(t.memory_mib == 256);
}

static void test_section_errors(void)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
		{ "test: [a]\n", "t.yml:1:7: test: expected a mapping, got a list" },
		{ "test: {stpes: []}\n",
		  "t.yml:1:8: test.stpes: unknown key (did you mean 'steps'?)" },
		{ "test: {bus: uas, steps: []}\n",
		  "t.yml:1:13: test.bus: 'uas' is not one of usb, ide, virtio" },
		{ "test: {memory: 12XB, steps: [{expect: a}]}\n",
		  "t.yml:1:16: test.memory: '12XB' is not a memory size (MiB from 16 to "
		  "1048576, or a size such as 1GiB)" },
		{ "test: {memory: 8, steps: [{expect: a}]}\n",
		  "t.yml:1:16: test.memory: '8' is not a memory size (MiB from 16 to 1048576, or a "
		  "size such as 1GiB)" },
		{ "test: {timeout: -1, steps: [{expect: a}]}\n",
		  "t.yml:1:17: test.timeout: '-1' is not a number of seconds (more than 0, at "
		  "most a week)" },
		{ "test: {bus: usb}\n", "t.yml:1:7: test: missing 'steps'" },
		{ "test: {steps: []}\n",
		  "t.yml:1:15: test.steps: no steps (add expect, send, run, poweroff or "
		  "secure-boot steps)" },
		{ "test:\n  steps:\n    - expect: 'login:'\n    - expect: '(oops'\n",
		  "t.yml:4:15: test.steps[1].expect: '(oops' is not an extended regular "
		  "expression: " },
		{ "test:\n  steps:\n    - {timeout: 3}\n",
		  "t.yml:3:7: test.steps[0]: a step needs one of expect, send, run, poweroff, "
		  "secure-boot" },
		{ "test:\n  steps:\n    - {expect: a, send: b}\n",
		  "t.yml:3:19: test.steps[0].send: one action per step (this one also has "
		  "'expect')" },
		{ "test:\n  steps:\n    - {expect: a, output: b}\n",
		  "t.yml:3:19: test.steps[0].output: only a 'run' step has 'output'" },
		{ "test:\n  steps:\n    - {run: ls, status: 300}\n",
		  "t.yml:3:25: test.steps[0].status: '300' is out of range (0..255)" },
		{ "test:\n  steps:\n    - {run: ls, output: ''}\n",
		  "t.yml:3:25: test.steps[0].output: empty pattern (it would match anything)" },
		{ "test:\n  steps:\n    - send: 'a\\q'\n",
		  "t.yml:3:13: test.steps[0].send: 'a\\q': bad escape (use \\n \\r \\t \\\\ \\e or "
		  "\\xNN)" },
		{ "test:\n  steps:\n    - send: ''\n",
		  "t.yml:3:13: test.steps[0].send: nothing to send" },
		{ "test:\n  steps:\n    - run: \"ls\\nrm\"\n",
		  "t.yml:3:12: test.steps[0].run: expected a command on one line" },
		{ "test:\n  steps:\n    - poweroff: false\n",
		  "t.yml:3:17: test.steps[0].poweroff: write 'poweroff: true', or leave the "
		  "step out" },
		{ "test:\n  steps:\n    - {expect: a, timeout: soon}\n",
		  "t.yml:3:28: test.steps[0].timeout: 'soon' is not a number of seconds (more "
		  "than 0, at most a week)" },
		{ "test:\n  steps:\n    - {expect: a, retries: 3}\n",
		  "t.yml:3:19: test.steps[0].retries: unknown key (valid keys: expect, send, run, "
		  "poweroff, secure-boot, output, status, timeout, firmware, writes)" },
		{ "test: {firmware: nonsense, steps: [{expect: a}]}\n",
		  "t.yml:1:18: test.firmware: 'nonsense' is not one of bios, uefi, uefi-secure" },
		{ "test:\n  steps:\n    - {expect: a, firmware: efi}\n",
		  "t.yml:3:29: test.steps[0].firmware: 'efi' is not one of bios, uefi, "
		  "uefi-secure" },
		{ "test:\n  steps:\n    - {expect: a, firmware: [uefi, bogus]}\n",
		  "t.yml:3:36: test.steps[0].firmware[1]: 'bogus' is not one of bios, uefi, "
		  "uefi-secure" },
		{ "test:\n  steps:\n    - {expect: a, firmware: []}\n",
		  "t.yml:3:29: test.steps[0].firmware: an empty list: the step would never run" },
		{ "test:\n  steps:\n    - {secure-boot: maybe}\n",
		  "t.yml:3:21: test.steps[0].secure-boot: 'maybe' is not a boolean (use true or "
		  "false)" },
		{ "test:\n  steps:\n    - {secure-boot: true, output: x}\n",
		  "t.yml:3:27: test.steps[0].output: only a 'run' step has 'output'" },
		{ "test:\n  steps:\n    - {secure-boot: true, run: ls}\n",
		  "t.yml:3:8: test.steps[0].secure-boot: one action per step (this one also has "
		  "'run')" },
		{ "test:\n  steps:\n    - expect\n",
		  "t.yml:3:7: test.steps[0]: expected a mapping, got a value" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(boot_test_done) struct boot_test t = {};
		_cleanup_free_ char *err = NULL;
		int r = parse_test(cases[i].yaml, &t, &err);

		if (r != -EINVAL || !startswith(err, "error: ") ||
		    strncmp(err + 7, cases[i].err, strlen(cases[i].err)) != 0) {
			fprintf(stderr, "  case %zu: r=%d\n    got:      '%s'\n"
				"    expected: 'error: %s'\n", i, r, err, cases[i].err);
			CHECK(0);
		}
		CHECK(!strchr(err, '\n')); /* one message */
	}
}

/* test.firmware, the steps' firmware: and secure-boot steps; selecting by firmware. */
static void test_section_firmware(void)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;

	CHECK(parse_test("test:\n"
			 "  firmware: uefi-secure\n"
			 "  steps:\n"
			 "    - expect: 'any'\n"
			 "    - {expect: 'bios', firmware: bios}\n"
			 "    - {expect: 'uefi', firmware: [uefi, uefi-secure]}\n"
			 "    - {secure-boot: true, firmware: uefi-secure, timeout: 30}\n"
			 "    - {secure-boot: false, firmware: [bios, uefi]}\n",
			 &t, &err) == 0);
	CHECK_STREQ(err, "");
	CHECK(t.firmware == QEMU_FIRMWARE_UEFI_SECURE && t.n_steps == 5);
	CHECK(t.only[0] == 0 && t.only[1] == 1u << QEMU_FIRMWARE_BIOS);
	CHECK(t.only[2] == (1u << QEMU_FIRMWARE_UEFI | 1u << QEMU_FIRMWARE_UEFI_SECURE));
	CHECK(t.steps[3].kind == CONSOLE_RUN && t.steps[3].timeout == 30);
	CHECK(strstr(t.steps[3].text, "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"));
	CHECK_STREQ(t.steps[3].output, "^SecureBoot: 1 \\(");
	CHECK_STREQ(t.steps[4].output, "^SecureBoot: (0|absent) \\(");
	/* Messages name the step, not its long command. */
	{
		_cleanup_free_ char *what = console_step_describe(&t.steps[3], 3);

		CHECK_STREQ(what, "step 4 (secure-boot true)");
	}
	/* busybox's line editing takes 1024 bytes, with the markers around the command. */
	CHECK(strlen(t.steps[3].text) < 900);

	boot_test_select(&t, QEMU_FIRMWARE_UEFI);
	CHECK(t.n_steps == 3);
	CHECK_STREQ(t.steps[0].text, "any");
	CHECK_STREQ(t.steps[1].text, "uefi");
	CHECK_STREQ(t.steps[2].output, "^SecureBoot: (0|absent) \\(");
	boot_test_select(&t, QEMU_FIRMWARE_BIOS);
	CHECK(t.n_steps == 2);
	CHECK_STREQ(t.steps[0].text, "any");
	CHECK(t.steps[1].kind == CONSOLE_RUN);
	boot_test_select(&t, QEMU_FIRMWARE_UEFI_SECURE);
	CHECK(t.n_steps == 1);
}

/* Writes `data` (size bytes) to `path`. */
static void write_bytes(const char *path, const char *data, size_t size)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* The secure-boot step's command, run by each shell at hand (dash, bash, busybox sh) with
 * efivars in a directory of ours: what it prints, and whether the step's pattern takes it. */
static char *run_secure_boot(const char *shell, const struct console_step *st, const char *dir)
{
	_cleanup_free_ char *cmd = NULL, *abs = realpath(dir, NULL), *line = NULL;
	const char *efivars = "/sys/firmware/efi/efivars", *p;
	char *out = NULL;
	size_t len = 0;
	FILE *f, *o;
	int c;

	o = open_memstream(&cmd, &len);
	for (const char *s = st->text; (p = strstr(s, efivars)) || *s; s = p + strlen(efivars)) {
		if (!p) {
			fputs(s, o);
			break;
		}
		fwrite(s, 1, (size_t)(p - s), o);
		fputs(abs, o);
	}
	fclose(o);
	write_file("sb.sh", cmd);
	line = xasprintf("PATH=\"$PWD/fake:$PATH\" %s sb.sh", shell);
	f = popen(line, "r");
	o = open_memstream(&out, &len);
	while (f && (c = fgetc(f)) != EOF)
		fputc(c, o);
	fclose(o);
	if (f)
		pclose(f);
	return out;
}

static bool matches(const char *pattern, const char *text)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
		return false;
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void test_secure_boot_command(void)
{
	static const char *const shells[] = { "dash", "bash", "busybox sh" };
	_cleanup_(boot_test_done) struct boot_test t = {};
	_cleanup_free_ char *err = NULL;
	const char *var = "efi/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
	size_t ran = 0;

	CHECK(parse_test("test: {steps: [{secure-boot: true}, {secure-boot: false}]}\n", &t,
			 &err) == 0);
	/* A fake efivarfs (another variable in it, as a mounted one always has); modprobe,
	 * insmod and mount that fail, and a dmesg that says Secure Boot is on, for the fallback. */
	CHECK(mkdir("efi", 0755) == 0 && mkdir("noefi", 0755) == 0 && mkdir("fake", 0755) == 0);
	write_bytes("efi/Boot0000-8be4df61-93ca-11d2-aa0d-00e098032b8c", "\7\0\0\0\1", 5);
	write_file("fake/mount", "#!/bin/sh\nexit 32\n");
	write_file("fake/modprobe", "#!/bin/sh\nexit 1\n");
	write_file("fake/insmod", "#!/bin/sh\nexit 1\n");
	write_file("fake/dmesg", "#!/bin/sh\necho '[    0.000000] secureboot: Secure boot "
				 "enabled'\n");
	CHECK(chmod("fake/mount", 0755) == 0 && chmod("fake/modprobe", 0755) == 0 &&
	      chmod("fake/insmod", 0755) == 0 && chmod("fake/dmesg", 0755) == 0);

	for (size_t i = 0; i < ARRAY_SIZE(shells); i++) {
		_cleanup_free_ char *probe = xasprintf("command -v %.*s >/dev/null",
						       (int)strcspn(shells[i], " "), shells[i]);
		bool busybox = startswith(shells[i], "busybox");
		char *o;

		if (system(probe) != 0)
			continue;
		ran++;
		/* On: the fifth byte (after 4 bytes of attributes) is 1. */
		write_bytes(var, "\6\0\0\0\1", 5);
		o = run_secure_boot(shells[i], &t.steps[0], "efi");
		if (!streq(o, "SecureBoot: 1 (efivars)\n"))
			fprintf(stderr, "  %s: '%s'\n", shells[i], o);
		CHECK(streq(o, "SecureBoot: 1 (efivars)\n"));
		CHECK(matches(t.steps[0].output, o) && !matches(t.steps[1].output, o));
		free(o);
		/* Off. */
		write_bytes(var, "\6\0\0\0\0", 5);
		o = run_secure_boot(shells[i], &t.steps[0], "efi");
		CHECK(streq(o, "SecureBoot: 0 (efivars)\n"));
		CHECK(!matches(t.steps[0].output, o) && matches(t.steps[1].output, o));
		free(o);
		/* No variable: a firmware without Secure Boot. */
		CHECK(unlink(var) == 0);
		o = run_secure_boot(shells[i], &t.steps[0], "efi");
		CHECK(streq(o, "SecureBoot: absent (efivars)\n"));
		CHECK(!matches(t.steps[0].output, o) && matches(t.steps[1].output, o));
		free(o);
		/* No efivarfs, and mount fails: the kernel's log decides. busybox runs its own
		 * insmod, mount and dmesg applets rather than ours, so it is left out here (as
		 * root, they could load and mount this machine's efivarfs). */
		if (busybox)
			continue;
		o = run_secure_boot(shells[i], &t.steps[0], "noefi");
		CHECK(streq(o, "SecureBoot: 1 (dmesg)\n"));
		CHECK(matches(t.steps[0].output, o) && !matches(t.steps[1].output, o));
		free(o);
		write_file("fake/dmesg", "#!/bin/sh\necho 'secureboot: Secure boot disabled'\n");
		o = run_secure_boot(shells[i], &t.steps[0], "noefi");
		write_file("fake/dmesg", "#!/bin/sh\necho '[    0.000000] secureboot: Secure "
					 "boot enabled'\n");
		CHECK(streq(o, "SecureBoot: 0 (dmesg)\n"));
		CHECK(!matches(t.steps[0].output, o) && matches(t.steps[1].output, o));
		free(o);
	}
	CHECK(ran > 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir) || chdir(tmpdir) < 0) {
		perror(tmpdir);
		return 2;
	}
	log_set_level(LOG_INFO);

	RUN_TEST(test_names);
	RUN_TEST(test_argv);
	RUN_TEST(test_argv_uefi);
	RUN_TEST(test_ovmf_files);
	RUN_TEST(test_kvm_probe);
	RUN_TEST(test_section);
	RUN_TEST(test_section_defaults);
	RUN_TEST(test_section_errors);
	RUN_TEST(test_section_firmware);
	RUN_TEST(test_secure_boot_command);

	if (chdir("/") == 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK_EXIT();
}
