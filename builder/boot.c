/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia boot IMAGE [options]`: runs a disk image in QEMU.
 *
 * Interactive (no steps given, stdin a terminal): QEMU runs on this terminal, the serial
 * console multiplexed with the monitor; Ctrl-A X quits. Scripted: QEMU's serial console is
 * driven by steps, in order, from the command line (--expect, --send, --run, --output,
 * --poweroff) or from a recipe's test: section (--test RECIPE); the run fails at the first
 * step that fails or times out, and the exit status says whether every step passed. The
 * image is attached with snapshot=on unless --write is given: booting never changes it.
 *
 * The test: section
 *
 * test:
 *   bus: usb               optional: usb (xHCI + usb-storage), ide or virtio; default usb
 *   firmware: bios         optional: bios (SeaBIOS), uefi (OVMF), uefi-secure (OVMF with
 *                          Microsoft's keys: Secure Boot enforcing); default bios
 *   memory: 512            optional: MiB, or a size with a unit (1GiB); default 512
 *   timeout: 300           optional: seconds for the whole run, from QEMU's start; default 300
 *   steps:                 required, run in order; each step is a mapping with one action:
 *     - expect: 'login:'   wait until the console prints text matching this POSIX extended
 *                          regular expression
 *     - send: 'root\n'     type this text; \n \r \t \\ \e and \xNN are decoded (after YAML's
 *                          own escapes in double quotes: there "\\n" means \n)
 *     - run: uname -r      type the command (one line, for a POSIX shell) followed by
 *                          `; echo "@@mkb-N-$?@@"` and wait for that marker
 *       output: '^6\.1\.'  optional: the command's output (what it printed between its echoed
 *                          command line and the marker) must match
 *       status: 0          optional: the exit status expected, 0-255; default 0
 *     - poweroff: true     type `poweroff -f`; stop QEMU if it still runs 10 s later
 *     - secure-boot: true  at a shell prompt, like run: the SecureBoot EFI variable must be 1
 *                          (true), or 0 or absent (false); efivarfs is mounted when it is
 *                          not, else the kernel's "Secure boot enabled" line is looked for
 *     - writes: {partition: root, max: 0}
 *                          checked after the run, which these steps put under
 *                          --audit-writes: the guest wrote at most max bytes to the
 *                          recipe's partition of that name
 *   Every step may also have `timeout: SECONDS`; without one only the overall timeout bounds it,
 *   and `firmware: NAME` or `firmware: [NAMES]`: the step runs only under those firmwares.
 *
 * Matching: \r, ANSI/VT100 escape sequences and other control characters (but \n and \t)
 * are removed from the console output first; patterns are matched line by line (^ and $
 * match at line boundaries, and $ also at the end of what has been printed so far, so a
 * prompt can be matched; . does not match a newline); each step only sees what was printed
 * after the previous step's match. ${...} in the section are recipe variables: write $${ for
 * a literal ${.
 *
 * The command line's --bus, --memory, --timeout and --firmware override the section's.
 * `mkbootmedia check` and `build` validate the section (positions in errors) before building
 * anything. */
#include "boot.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "log.h"

#define BOOT_MEMORY_DEFAULT 512       /* MiB */
#define BOOT_MEMORY_MIN 16            /* MiB */
#define BOOT_MEMORY_MAX (1u << 20)    /* MiB: 1 TiB */
#define BOOT_TIMEOUT_DEFAULT 300.0    /* seconds for a scripted run */
#define BOOT_TIMEOUT_MAX (7 * 86400.0)
#define BOOT_QEMU_DEFAULT "qemu-system-x86_64"

static const char *const step_actions[] = { "expect",      "send",   "run", "poweroff",
					    "secure-boot", "writes", NULL };

/* The recipe's test: section (declared like a stage's keys, lib/recipe.h). */
const struct recipe_key boot_key_table[] = {
	{ "test", "map", NULL, NULL, "what mkbootmedia boot --test runs; checked by every build" },
	{ "test.bus", "enum", "usb", qemu_bus_names,
	  "how the image is attached: usb, ide, virtio" },
	{ "test.firmware", "enum", "bios", qemu_firmware_names,
	  "the firmware: SeaBIOS, OVMF, OVMF with Secure Boot on, or 32-bit OVMF" },
	{ "test.memory", "size", "512", NULL, "the guest's memory: MiB, or a size with a unit" },
	{ "test.timeout", "number", "300", NULL, "seconds for the whole run" },
	{ "test.steps", "list", "required", NULL,
	  "each step one action, with an optional timeout" },
	{ "test.steps[].expect", "string", NULL, NULL, "wait until the console prints a match" },
	{ "test.steps[].send", "string", NULL, NULL, "type this text (\\n, \\t, \\xNN decoded)" },
	{ "test.steps[].run", "string", NULL, NULL,
	  "type a command at a shell prompt and wait for its exit status" },
	{ "test.steps[].poweroff", "bool", NULL, NULL, "poweroff -f, then stop QEMU" },
	{ "test.steps[].secure-boot", "bool", NULL, NULL,
	  "at a shell prompt: whether Secure Boot is on (the EFI variable) must be this" },
	{ "test.steps[].output", "string", NULL, NULL, "a run step: what it must print (a regex)" },
	{ "test.steps[].status", "number", "0", NULL, "a run step: the exit status it must give" },
	{ "test.steps[].timeout", "number", "the run's", NULL, "seconds for this step" },
	{ "test.steps[].firmware", "list", "every one", qemu_firmware_names,
	  "run the step only under these firmwares: a name or a list" },
	{ "test.steps[].writes", "map", NULL, NULL,
	  "after the run (which --audit-writes then is): what the guest wrote to a partition" },
	{ "test.steps[].writes.partition", "string", "required", NULL,
	  "the partition's name in the recipe" },
	{ "test.steps[].writes.max", "size", "required", NULL,
	  "the most bytes the guest may write there (0: none)" },
	{ NULL },
};

/* ---- values shared by the command line and the recipe ---- */

/* A plain number is MiB; otherwise a size with a unit, a whole number of MiB. */
static int parse_memory(const char *s, uint64_t *ret)
{
	struct size sz;
	uint64_t mib;
	bool digits = s[0] != 0;
	int r;

	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			digits = false;
	if (digits) {
		char *end;

		errno = 0;
		mib = strtoull(s, &end, 10);
		if (errno || *end)
			return -ERANGE;
	} else {
		r = size_parse(s, 0, &sz);
		if (r < 0)
			return r;
		if (sz.bytes % (UINT64_C(1) << 20))
			return -EINVAL;
		mib = sz.bytes >> 20;
	}
	if (mib < BOOT_MEMORY_MIN || mib > BOOT_MEMORY_MAX)
		return -ERANGE;
	*ret = mib;
	return 0;
}

static int parse_seconds(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > BOOT_TIMEOUT_MAX)
		return -EINVAL;
	*ret = v;
	return 0;
}

static const char memory_hint[] = "MiB from 16 to 1048576, or a size such as 1GiB";
static const char escape_hint[] = "use \\n \\r \\t \\\\ \\e or \\xNN";
static const char seconds_hint[] = "more than 0, at most a week";

/* ---- the test: section ---- */

void boot_test_done(struct boot_test *t)
{
	for (size_t i = 0; t && i < t->n_steps; i++)
		console_step_done(&t->steps[i]);
	for (size_t i = 0; t && i < t->n_writes; i++)
		free(t->writes[i].partition);
	if (t) {
		free(t->steps);
		free(t->only);
		free(t->writes);
	}
}

void boot_test_select(struct boot_test *t, enum qemu_firmware f)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n_steps; i++) {
		if (t->only && t->only[i] && !(t->only[i] & (1u << f))) {
			console_step_done(&t->steps[i]);
			continue;
		}
		t->steps[k] = t->steps[i];
		if (t->only)
			t->only[k] = t->only[i];
		k++;
	}
	t->n_steps = k;
}

static struct console_step *steps_add(struct console_step **steps, size_t *n,
				      enum console_step_kind kind)
{
	*steps = xrealloc(*steps, (*n + 1) * sizeof(**steps));
	(*steps)[*n] = (struct console_step){ .kind = kind };
	return &(*steps)[(*n)++];
}

/* The secure-boot step: a run step (at a shell prompt) whose command prints "SecureBoot: V
 * (WHERE)". V is the fifth byte of the SecureBoot EFI variable (the first four are its
 * attributes), 1 or 0, or "absent", read from efivarfs, which is mounted first when it is not
 * (Debian's kernel has it as a module: modprobe, or insmod where there is no modules.dep,
 * as in an image without kmod's depmod). Without efivarfs (a BIOS boot, no sysfs), V is 1
 * when the kernel logged "Secure boot enabled", else 0. Only sh and commands busybox has;
 * one line, short enough for busybox's line editing (1024 bytes). */
#define BOOT_EFIVARS "/sys/firmware/efi/efivars"
static const char secure_boot_command[] =
	"_d=" BOOT_EFIVARS "; _f=$_d/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c; "
	"[ -n \"$(ls $_d 2>/dev/null)\" ] || { modprobe efivarfs || "
	"insmod /lib/modules/$(uname -r)/kernel/fs/efivarfs/efivarfs.ko*; "
	"mount -t efivarfs efivarfs $_d; } >/dev/null 2>&1; "
	"if [ -n \"$(ls $_d 2>/dev/null)\" ]; then _w=efivars _v=absent; "
	"[ -e $_f ] && set -- $(od -b $_f) && _v=${6#00}; "
	"else _w=dmesg _v=0; dmesg | grep -q 'Secure boot enabled' && _v=1; fi; "
	"echo \"SecureBoot: $_v ($_w)\"";

static void set_secure_boot_step(struct console_step *st, bool on)
{
	st->kind = CONSOLE_RUN;
	st->text = xstrdup(secure_boot_command);
	/* The command line echoed by the terminal holds "SecureBoot: $_v", never a value. */
	st->output = xstrdup(on ? "^SecureBoot: 1 \\(" : "^SecureBoot: (0|absent) \\(");
	st->label = xstrdup(on ? "secure-boot true" : "secure-boot false");
}

static int test_get_pattern(const struct node *n, const char **ret)
{
	char err[256];
	const char *s;
	int r = node_get_string(n, &s);

	if (r < 0)
		return r;
	if (!s[0])
		return node_error(n, "empty pattern (it would match anything)");
	if (console_pattern_check(s, err, sizeof(err)) < 0)
		return node_error(n, "'%s' is not an extended regular expression: %s", s, err);
	*ret = s;
	return 0;
}

static int test_get_seconds(const struct node *n, double *ret)
{
	const char *s;
	int r = node_get_string(n, &s);

	if (r < 0)
		return r;
	if (parse_seconds(s, ret) < 0)
		return node_error(n, "'%s' is not a number of seconds (%s)", s, seconds_hint);
	return 0;
}

/* The key node of `key` in a mapping (for errors about the key itself). */
static const struct node *key_node(const struct node *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (streq(map->keys[i]->scalar, key))
			return map->keys[i];
	return map;
}

/* A step's firmware: one name or a list of names, as a mask of 1 << enum qemu_firmware. */
static int parse_step_firmware(const struct node *v, unsigned *ret)
{
	unsigned mask = 0;
	int f, r;

	if (v->kind != NODE_SEQ) {
		if ((r = node_get_enum(v, qemu_firmware_names, &f)) < 0)
			return r;
		*ret = 1u << f;
		return 0;
	}
	if (v->n == 0)
		return node_error(v,
				  "an empty list: the step would never run (name firmwares "
				  "from bios, uefi, uefi-secure, uefi-ia32, or leave the key out)");
	for (size_t i = 0; i < v->n; i++) {
		if ((r = node_get_enum(v->items[i], qemu_firmware_names, &f)) < 0)
			return r;
		mask |= 1u << f;
	}
	*ret = mask;
	return 0;
}

/* writes: {partition: NAME, max: SIZE}: checked after the run against the audit. */
static int parse_writes(const struct node *root, const struct node *v, struct boot_test *t)
{
	const struct node *parts = node_get(root, "partitions"), *pn, *mn;
	struct boot_writes w = { .node = v };
	struct size max;
	const char *name;
	int r;

	if ((r = node_expect(v, NODE_MAP)) < 0 ||
	    (r = node_check_table(v, boot_key_table, "test.steps[].writes")) < 0)
		return r;
	if (!(pn = node_get(v, "partition")) || !(mn = node_get(v, "max")))
		return node_error(v, "give partition and max: {partition: root, max: 0}");
	if ((r = node_get_string(pn, &name)) < 0 || (r = node_get_size(mn, 0, &max)) < 0)
		return r;
	for (size_t i = 0; parts && parts->kind == NODE_SEQ && i < parts->n; i++) {
		const struct node *nm = node_get(parts->items[i], "name");

		if (nm && nm->kind == NODE_SCALAR && streq(nm->scalar, name))
			w.number = (unsigned)i + 1;
	}
	if (!w.number)
		return node_error(pn, "the recipe has no partition named '%s'", name);
	w.partition = xstrdup(name);
	w.max = max.bytes;
	t->writes = xrealloc(t->writes, (t->n_writes + 1) * sizeof(*t->writes));
	t->writes[t->n_writes++] = w;
	return 0;
}

static int parse_step(const struct node *root, const struct node *e, struct boot_test *t)
{
	struct console_step **steps = &t->steps;
	size_t *n = &t->n_steps;
	const char *action = NULL, *s;
	const struct node *v;
	struct console_step *st;
	unsigned only = 0;
	int r;

	if ((r = node_expect(e, NODE_MAP)) < 0 || (r = node_check_table(e, boot_key_table, "test.steps[]")) < 0)
		return r;
	for (size_t i = 0; step_actions[i]; i++) {
		if (!node_get(e, step_actions[i]))
			continue;
		if (action)
			return node_error(key_node(e, step_actions[i]),
					  "one action per step (this one also has '%s')", action);
		action = step_actions[i];
	}
	if (!action)
		return node_error(e, "a step needs one of expect, send, run, poweroff, "
				     "secure-boot, writes");
	for (size_t i = 0; i < e->n && !streq(action, "run"); i++) {
		const char *k = e->keys[i]->scalar;

		if (streq(k, "output") || streq(k, "status"))
			return node_error(e->keys[i], "only a 'run' step has '%s'", k);
	}
	if ((v = node_get(e, "firmware")) && (r = parse_step_firmware(v, &only)) < 0)
		return r;
	v = node_get(e, action);
	if (streq(action, "writes"))
		return parse_writes(root, v, t);
	if (streq(action, "expect")) {
		if ((r = test_get_pattern(v, &s)) < 0)
			return r;
		st = steps_add(steps, n, CONSOLE_EXPECT);
		st->text = xstrdup(s);
	} else if (streq(action, "send")) {
		char *data;
		size_t size;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!s[0])
			return node_error(v, "nothing to send");
		if (console_unescape(s, &data, &size) < 0)
			return node_error(v, "'%s': bad escape (%s)", s, escape_hint);
		st = steps_add(steps, n, CONSOLE_SEND);
		st->text = data;
		st->size = size;
	} else if (streq(action, "run")) {
		const struct node *o = node_get(e, "output"), *stn = node_get(e, "status");
		const char *out = NULL;
		uint64_t status = 0;

		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!s[0] || strpbrk(s, "\n\r"))
			return node_error(v, "expected a command on one line");
		if (o && (r = test_get_pattern(o, &out)) < 0)
			return r;
		if (stn && (r = node_get_u64(stn, 0, 255, &status)) < 0)
			return r;
		st = steps_add(steps, n, CONSOLE_RUN);
		st->text = xstrdup(s);
		st->output = out ? xstrdup(out) : NULL;
		st->status = (int)status;
	} else if (streq(action, "secure-boot")) {
		bool on;

		if ((r = node_get_bool(v, &on)) < 0)
			return r;
		st = steps_add(steps, n, CONSOLE_RUN);
		set_secure_boot_step(st, on);
	} else {
		bool on;

		if ((r = node_get_bool(v, &on)) < 0)
			return r;
		if (!on)
			return node_error(v, "write 'poweroff: true', or leave the step out");
		st = steps_add(steps, n, CONSOLE_POWEROFF);
	}
	if ((v = node_get(e, "timeout")) && (r = test_get_seconds(v, &st->timeout)) < 0) {
		console_step_done(st);
		(*n)--;
		return r;
	}
	t->only = xrealloc(t->only, *n * sizeof(*t->only));
	t->only[*n - 1] = only;
	return 0;
}

int boot_test_parse(const struct node *root, const struct node *test, struct boot_test *ret)
{
	_cleanup_(boot_test_done) struct boot_test t = { .bus = -1, .firmware = -1 };
	const struct node *v;
	const char *s;
	int r;

	if ((r = node_expect(test, NODE_MAP)) < 0 || (r = node_check_table(test, boot_key_table, "test")) < 0)
		return r;
	if ((v = node_get(test, "bus")) && (r = node_get_enum(v, qemu_bus_names, &t.bus)) < 0)
		return r;
	if ((v = node_get(test, "firmware")) &&
	    (r = node_get_enum(v, qemu_firmware_names, &t.firmware)) < 0)
		return r;
	if ((v = node_get(test, "memory"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (parse_memory(s, &t.memory_mib) < 0)
			return node_error(v, "'%s' is not a memory size (%s)", s, memory_hint);
	}
	if ((v = node_get(test, "timeout")) && (r = test_get_seconds(v, &t.timeout)) < 0)
		return r;
	if (!(v = node_get(test, "steps")))
		return node_error(test, "missing 'steps'");
	if ((r = node_expect(v, NODE_SEQ)) < 0)
		return r;
	if (v->n == 0)
		return node_error(v, "no steps (add expect, send, run, poweroff or secure-boot "
				     "steps)");
	for (size_t i = 0; i < v->n; i++)
		if ((r = parse_step(root, v->items[i], &t)) < 0)
			return r;
	*ret = t;
	t = (struct boot_test){};
	return 0;
}

int boot_test_check(const struct recipe *r)
{
	_cleanup_(boot_test_done) struct boot_test t = {};
	const struct node *test = node_get(r->root, "test");

	return test ? boot_test_parse(r->root, test, &t) : 0;
}

/* ---- the command ---- */

/* The command line as a shell would take it, for the debug log. */
static char *argv_to_string(char *const *argv)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		abort();
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];

		if (i)
			fputc(' ', f);
		if (a[0] && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789_./=:,+-@%") == strlen(a)) {
			fputs(a, f);
			continue;
		}
		fputc('\'', f);
		for (; *a; a++) {
			if (*a == '\'')
				fputs("'\\''", f);
			else
				fputc(*a, f);
		}
		fputc('\'', f);
	}
	fclose(f);
	return out;
}

/* The image must be there and readable (writable with --write): one clear error here
 * rather than QEMU's later. */
static int check_image(const char *path, bool write)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return log_errno(errno, "cannot open image '%s'", path);
	if (S_ISDIR(st.st_mode))
		return log_fail("image '%s' is a directory", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return log_fail("image '%s' is not a regular file or a block device", path);
	if (S_ISREG(st.st_mode) && st.st_size < 512)
		return log_fail("image '%s' is smaller than a sector (%lld bytes)", path,
				(long long)st.st_size);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot open image '%s'%s", path,
				 write ? " for writing (--write)" : "");
	close(fd);
	return 0;
}

struct boot_options {
	const char *image, *qemu, *log, *test;
	int bus;             /* -1: not given */
	uint64_t memory_mib; /* 0: not given */
	double timeout;      /* 0: not given */
	enum qemu_accel accel;
	int firmware; /* an enum qemu_firmware, -1: not given */
	bool write;
	bool net;       /* --net, or implied by --forward */
	char **forwards; /* --forward HOSTPORT:GUESTPORT */
	bool audit; /* --audit-writes */
	char **defines;
	struct console_step *steps;
	size_t n_steps;
	char *passphrase; /* --passphrase-file's content, without one trailing newline */
	size_t passphrase_len;
};

static void boot_options_done(struct boot_options *o)
{
	for (size_t i = 0; i < o->n_steps; i++)
		console_step_done(&o->steps[i]);
	free(o->steps);
	strv_free(o->defines);
	strv_free(o->forwards);
	if (o->passphrase) {
		explicit_bzero(o->passphrase, o->passphrase_len);
		free(o->passphrase);
	}
}

/* The passphrase answers the initrd's prompt: a secret step, never shown or logged. */
static void set_passphrase_step(struct console_step *st, const struct boot_options *o)
{
	st->secret = true;
	st->size = o->passphrase_len + 1;
	st->text = xmalloc(st->size + 1);
	memcpy(st->text, o->passphrase, o->passphrase_len);
	st->text[o->passphrase_len] = '\n';
	st->text[st->size] = 0;
}

/* --passphrase-file: every --send-passphrase step gets it; without one, the run starts by
 * answering the first passphrase prompt. */
static void add_passphrase_steps(const struct boot_options *o, struct console_step **steps,
				 size_t *n)
{
	bool placed = false;
	struct console_step *v;

	for (size_t i = 0; i < *n; i++)
		if ((*steps)[i].kind == CONSOLE_SEND && (*steps)[i].secret && !(*steps)[i].text) {
			set_passphrase_step(&(*steps)[i], o);
			placed = true;
		}
	if (placed || !o->passphrase)
		return;
	v = xcalloc(*n + 2, sizeof(*v));
	v[0] = (struct console_step){ .kind = CONSOLE_EXPECT,
				      .text = xstrdup("[Pp]assphrase[^\n]*: ?$") };
	v[1] = (struct console_step){ .kind = CONSOLE_SEND };
	set_passphrase_step(&v[1], o);
	memcpy(v + 2, *steps, *n * sizeof(*v));
	free(*steps);
	*steps = v;
	*n += 2;
}

/* Parses the command line; returns 0, or 2 after logging a usage error, or -1 for --help. */
static int parse_args(int argc, char **argv, struct boot_options *o)
{
	const struct cli_command *cmd = cli_command_find("boot");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	enum log_level level = LOG_INFO;
	struct console_step *st;
	const char *name;
	char err[256];
	int c, v;

	optind = 1;
	cli_getopt(cmd, &longopts, &shortopts);
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case CLI_BUS:
			if ((o->bus = qemu_bus_from_string(optarg)) < 0) {
				log_error("--bus '%s': expected usb, ide or virtio", optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_memory(optarg, &o->memory_mib) < 0) {
				log_error("--memory '%s': expected %s", optarg, memory_hint);
				return 2;
			}
			break;
		case CLI_ACCEL:
			if ((v = qemu_accel_from_string(optarg)) < 0) {
				log_error("--accel '%s': expected auto, kvm or tcg", optarg);
				return 2;
			}
			o->accel = (enum qemu_accel)v;
			break;
		case CLI_FIRMWARE:
			if ((o->firmware = qemu_firmware_from_string(optarg)) < 0) {
				log_error("--firmware '%s': expected bios, uefi, uefi-secure or "
					  "uefi-ia32",
					  optarg);
				return 2;
			}
			break;
		case CLI_LOG:
			if (!optarg[0]) {
				log_error("--log needs a file");
				return 2;
			}
			o->log = optarg;
			break;
		case CLI_TIMEOUT:
			if (parse_seconds(optarg, &o->timeout) < 0) {
				log_error("--timeout '%s': expected seconds (%s)", optarg,
					  seconds_hint);
				return 2;
			}
			break;
		case CLI_WRITE:
			o->write = true;
			break;
		case CLI_AUDIT_WRITES:
			o->audit = true;
			break;
		case CLI_QEMU:
			if (!optarg[0]) {
				log_error("--qemu needs a program");
				return 2;
			}
			o->qemu = optarg;
			break;
		case CLI_TEST:
			o->test = optarg;
			break;
		case 'D':
			o->defines = strv_append(o->defines, optarg);
			break;
		case CLI_EXPECT:
		case CLI_OUTPUT_RE:
			name = c == CLI_EXPECT ? "expect" : "output";
			if (!optarg[0]) {
				log_error("--%s needs a pattern", name);
				return 2;
			}
			if (console_pattern_check(optarg, err, sizeof(err)) < 0) {
				log_error("--%s '%s': not an extended regular expression: %s", name,
					  optarg, err);
				return 2;
			}
			if (c == CLI_EXPECT) {
				st = steps_add(&o->steps, &o->n_steps, CONSOLE_EXPECT);
				st->text = xstrdup(optarg);
				break;
			}
			st = o->n_steps ? &o->steps[o->n_steps - 1] : NULL;
			if (!st || (st->kind != CONSOLE_RUN && st->kind != CONSOLE_HOST)) {
				log_error("--output '%s' must follow a --run or --host", optarg);
				return 2;
			}
			if (st->output) {
				log_error("--output '%s': that --run has one already ('%s')",
					  optarg, st->output);
				return 2;
			}
			st->output = xstrdup(optarg);
			break;
		case CLI_SEND: {
			char *data;
			size_t size;

			if (!optarg[0]) {
				log_error("--send needs text");
				return 2;
			}
			if (console_unescape(optarg, &data, &size) < 0) {
				log_error("--send '%s': bad escape (%s)", optarg, escape_hint);
				return 2;
			}
			st = steps_add(&o->steps, &o->n_steps, CONSOLE_SEND);
			st->text = data;
			st->size = size;
			break;
		}
		case CLI_RUN:
			if (!optarg[0] || strpbrk(optarg, "\n\r")) {
				log_error("--run needs a command on one line");
				return 2;
			}
			st = steps_add(&o->steps, &o->n_steps, CONSOLE_RUN);
			st->text = xstrdup(optarg);
			break;
		case CLI_POWEROFF:
			steps_add(&o->steps, &o->n_steps, CONSOLE_POWEROFF);
			break;
		case CLI_HOST:
			if (!optarg[0]) {
				log_error("--host needs a command");
				return 2;
			}
			st = steps_add(&o->steps, &o->n_steps, CONSOLE_HOST);
			st->text = xstrdup(optarg);
			break;
		case CLI_NET:
			o->net = true;
			break;
		case CLI_FORWARD: {
			unsigned long h, g;
			char *end;

			errno = 0;
			h = strtoul(optarg, &end, 10);
			g = *end == ':' && end != optarg ? strtoul(end + 1, &end, 10) : 0;
			if (errno || *end || !h || h > 65535 || !g || g > 65535 ||
			    !is_digit(optarg[0]) || !is_digit(strchr(optarg, ':')[1])) {
				log_error("--forward '%s': expected HOSTPORT:GUESTPORT, e.g. "
					  "2222:22", optarg);
				return 2;
			}
			o->forwards = strv_append(o->forwards, optarg);
			o->net = true;
			break;
		}
		case CLI_SECURE_BOOT:
			if (!streq(optarg, "yes") && !streq(optarg, "no")) {
				log_error("--secure-boot '%s': expected yes or no", optarg);
				return 2;
			}
			st = steps_add(&o->steps, &o->n_steps, CONSOLE_RUN);
			set_secure_boot_step(st, streq(optarg, "yes"));
			break;
		case CLI_PASSPHRASE_FILE: {
			int r;

			if (o->passphrase) {
				log_error("--passphrase-file given twice");
				return 2;
			}
			r = read_file(optarg, 8192, &o->passphrase, &o->passphrase_len);
			if (r < 0) {
				log_errno(r, "--passphrase-file: cannot read '%s'", optarg);
				return 2;
			}
			if (o->passphrase_len && o->passphrase[o->passphrase_len - 1] == '\n')
				o->passphrase[--o->passphrase_len] = 0;
			if (!o->passphrase_len || memchr(o->passphrase, '\n', o->passphrase_len)) {
				log_error("--passphrase-file '%s': expected one line, not empty",
					  optarg);
				return 2;
			}
			break;
		}
		case CLI_SEND_PASSPHRASE:
			st = steps_add(&o->steps, &o->n_steps, CONSOLE_SEND);
			st->secret = true; /* its text comes from --passphrase-file */
			break;
		default:
			v = cli_common(c, cmd, &level);
			if (v < 0)
				return -1;
			if (v > 0)
				break;
			fputs("Try 'mkbootmedia boot --help'.\n", stderr);
			return 2;
		}
	}
	log_set_level(level);
	if (optind >= argc) {
		log_error("no image given (usage: mkbootmedia boot IMAGE [options]; try --help)");
		return 2;
	}
	if (optind + 1 < argc) {
		log_error("unexpected argument '%s' (one image per run)", argv[optind + 1]);
		return 2;
	}
	o->image = argv[optind];
	if (o->test && o->n_steps) {
		log_error("--test takes the steps from '%s': drop --expect, --send, --run, "
			  "--poweroff and --secure-boot, or --test",
			  o->test);
		return 2;
	}
	for (size_t i = 0; i < o->n_steps; i++)
		if (o->steps[i].kind == CONSOLE_SEND && o->steps[i].secret && !o->passphrase) {
			log_error("--send-passphrase needs --passphrase-file");
			return 2;
		}
	if (o->defines && !o->test) {
		log_error("-D sets variables of a --test recipe, and none is given");
		return 2;
	}
	return 0;
}

/* Resolves --accel auto and checks --accel kvm (lib/qemu); returns the accelerator or
 * -errno. */
static int choose_accel(enum qemu_accel asked, const char *qemu)
{
	_cleanup_free_ char *why = NULL;
	int r;

	if (asked == QEMU_ACCEL_TCG) {
		log_info("accelerator: tcg");
		return QEMU_ACCEL_TCG;
	}
	r = qemu_accel_resolve(asked, qemu, &why);
	if (r == -ENODEV)
		return log_fail("--accel kvm: /dev/kvm %s", why);
	if (r == QEMU_ACCEL_KVM)
		log_info("accelerator: kvm");
	else
		log_info("accelerator: tcg (/dev/kvm %s; the guest runs emulated, slowly)", why);
	return r;
}

/* ---- UEFI: OVMF's files, and this run's copy of the variable store ---- */

/* The copy and its private directory; the signal handler removes them too. */
static char vars_dir[PATH_MAX], vars_path[PATH_MAX];
static volatile sig_atomic_t vars_armed;
static pid_t vars_owner; /* not a child between fork and exec */

static void vars_remove(void)
{
	if (!vars_armed)
		return;
	vars_armed = 0;
	unlink(vars_path);
	rmdir(vars_dir);
}

static void vars_on_signal(int sig)
{
	if (vars_armed && getpid() == vars_owner) {
		unlink(vars_path);
		rmdir(vars_dir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void vars_arm_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

	vars_owner = getpid();
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction old, sa = { .sa_handler = vars_on_signal };

		/* A signal the caller ignores (nohup, trap '' HUP) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Finds OVMF's files for firmware f in $MKBOOTMEDIA_OVMF_DIR (default /usr/share/OVMF) and
 * copies its variable store into a new private directory under $TMPDIR (default /tmp),
 * removed by vars_remove() or a signal. Sets *ret_code (a new string) and vars_path. */
static int ovmf_prepare(enum qemu_firmware f, char **ret_code)
{
	const char *dir = getenv("MKBOOTMEDIA_OVMF_DIR"), *tmp = getenv("TMPDIR");
	const char *name = qemu_firmware_to_string(f), *code_name, *vars_name;
	_cleanup_free_ char *code = NULL, *vars = NULL, *data = NULL;
	_cleanup_close_ int fd = -1;
	size_t size;
	int r;

	if (!dir || !dir[0])
		dir = QEMU_OVMF_DIR;
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	if (qemu_ovmf_files(f, &code_name, &vars_name) < 0)
		return -EINVAL;
	code = path_join(dir, code_name);
	vars = path_join(dir, vars_name);
	for (const char *p = code; p; p = p == code ? vars : NULL)
		if (access(p, R_OK) < 0)
			return log_fail(
				"firmware %s: cannot read OVMF's '%s' (%s): apt-get install "
				"%s, or set MKBOOTMEDIA_OVMF_DIR to the directory with %s "
				"and %s",
				name, p, strerror(errno),
				f == QEMU_FIRMWARE_UEFI_IA32 ? "ovmf-ia32" : "ovmf", code_name,
				vars_name);
	r = read_file(vars, 64u << 20, &data, &size);
	if (r < 0)
		return log_errno(r, "cannot read OVMF's variable store '%s'", vars);
	if (strlen(tmp) + strlen(vars_name) + 32 > sizeof(vars_dir))
		return log_fail("TMPDIR '%s' is too long", tmp);
	snprintf(vars_dir, sizeof(vars_dir), "%s/mkbootmedia-uefi-XXXXXX", tmp);
	vars_path[0] = 0;
	vars_arm_signals();
	vars_armed = 1; /* from here: a signal during mkdtemp() leaves nothing either */
	if (!mkdtemp(vars_dir)) {
		r = log_errno(errno, "cannot make a directory in '%s' for the UEFI variables", tmp);
		vars_armed = 0;
		return r;
	}
	memcpy(vars_path, vars_dir, strlen(vars_dir));
	vars_path[strlen(vars_dir)] = '/';
	strcpy(vars_path + strlen(vars_dir) + 1, vars_name);
	fd = open(vars_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_errno(errno, "cannot create '%s'", vars_path);
	r = pwrite_all(fd, data, size, 0);
	if (r == 0 && close(fd) < 0)
		r = -errno;
	fd = -1;
	if (r < 0)
		return log_errno(r, "cannot write '%s'", vars_path);
	log_debug("UEFI: %s, variables copied from %s to %s", code, vars, vars_path);
	*ret_code = TAKE_PTR(code);
	return 0;
}

static int boot_interactive(const struct qemu_config *cfg)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *line = NULL;
	int r, status;
	pid_t pid;

	r = qemu_build_argv(cfg, &argv);
	if (r < 0) {
		log_errno(r, "cannot build the QEMU command line");
		return 1;
	}
	line = argv_to_string(argv);
	log_debug("running %s", line);
	log_info("serial console on this terminal: Ctrl-A X quits QEMU, Ctrl-A C is its monitor");
	fflush(stdout);
	fflush(stderr);
	if (cfg->firmware == QEMU_FIRMWARE_BIOS) {
		execvp(argv[0], argv);
		log_errno(errno, "cannot run '%s'", argv[0]);
		return 1;
	}
	/* UEFI: QEMU runs as a child, so that the variable store's copy is removed after it. */
	pid = fork();
	if (pid < 0) {
		log_errno(errno, "cannot fork");
		return 1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execvp(argv[0], argv);
		log_errno(errno, "cannot run '%s'", argv[0]);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_errno(errno, "cannot wait for '%s'", argv[0]);
			return 1;
		}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* The console goes to log_fd when there is one, else to stdout as it arrives. */
static int boot_scripted(const struct qemu_config *cfg, const struct console_step *steps,
			 size_t n, double timeout, int log_fd)
{
	_cleanup_(console_freep) struct console *c = NULL;
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *line = NULL;
	struct console_opts co = { .timeout = timeout, .log_fd = log_fd,
				   .echo_fd = log_fd >= 0 ? -1 : STDOUT_FILENO };
	int r;

	r = qemu_build_argv(cfg, &argv);
	if (r < 0) {
		log_errno(r, "cannot build the QEMU command line");
		return 1;
	}
	line = argv_to_string(argv);
	log_debug("running %s", line);
	r = console_spawn(argv, &co, &c);
	if (r < 0)
		return 1;
	r = console_run(c, steps, n);
	if (r == -ECHILD && cfg->accel == QEMU_ACCEL_KVM)
		log_info("hint: QEMU failed under KVM; --accel tcg runs it emulated");
	return r < 0 ? 1 : 0;
}

static void recipe_freep(struct recipe **r)
{
	recipe_free(*r);
}

/* The test's writes: steps against what the audit found. */
static int check_writes(const struct boot_test *t, const struct audit_result *a)
{
	int ret = 0;

	for (size_t i = 0; i < t->n_writes; i++) {
		const struct boot_writes *w = &t->writes[i];
		uint64_t bytes = 0;
		bool found = false;

		for (size_t j = 0; j < a->n; j++)
			if (a->numbers[j] == w->number) {
				bytes = a->bytes[j];
				found = true;
			}
		if (!found)
			ret = node_error(w->node, "the image has no partition %u ('%s')", w->number,
					 w->partition);
		else if (bytes > w->max)
			ret = node_error(w->node,
					 "the guest wrote %llu bytes to partition '%s' "
					 "(%u), more than %llu",
					 (unsigned long long)bytes, w->partition, w->number,
					 (unsigned long long)w->max);
		else
			log_info("writes: partition '%s' (%u): %llu bytes, at most %llu: ok",
				 w->partition, w->number, (unsigned long long)bytes,
				 (unsigned long long)w->max);
	}
	return ret;
}

int boot_main(int argc, char **argv)
{
	_cleanup_(boot_options_done) struct boot_options o = { .bus = -1, .firmware = -1 };
	_cleanup_(boot_test_done) struct boot_test t = { .bus = -1, .firmware = -1 };
	_cleanup_close_ int log_fd = -1;
	_cleanup_free_ char *ovmf_code = NULL, *audit_path = NULL;
	_cleanup_(recipe_freep) struct recipe *recipe = NULL;
	struct qemu_config cfg;
	const struct console_step *steps;
	enum qemu_firmware firmware;
	size_t n_steps;
	int r;

	log_set_scope("boot");
	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r < 0 ? 0 : r;
	if (o.test) {
		const struct node *test;

		/* Recipe errors read as they do for check and build: "file:line:col: ...". */
		log_set_scope(NULL);
		r = recipe_load(o.test, o.defines, &recipe);
		test = r < 0 ? NULL : node_get(recipe->root, "test");
		if (r >= 0 && !test)
			r = log_fail("'%s' has no test: section", o.test);
		else if (r >= 0)
			r = boot_test_parse(recipe->root, test, &t);
		/* kept to the end: the writes: steps' errors point into it */
		log_set_scope("boot");
		if (r < 0)
			return 1;
	}
	firmware = o.firmware >= 0 ? o.firmware : t.firmware >= 0 ? t.firmware : QEMU_FIRMWARE_BIOS;
	if (o.test) {
		boot_test_select(&t, firmware);
		if (t.n_steps == 0) {
			log_error("no step of the test: section of '%s' runs with --firmware %s "
				  "(see the steps' firmware: keys)",
				  o.test, qemu_firmware_to_string(firmware));
			return 1;
		}
	}
	if (t.n_writes && !o.audit) {
		log_info("the test has writes: steps: running with --audit-writes");
		o.audit = true;
	}
	if (check_image(o.image, o.write) < 0)
		return 2;
	/* Opened here also when QEMU writes it (interactive), to report a bad path ourselves. */
	if (o.log) {
		log_fd = open(o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			log_errno(errno, "cannot open log '%s'", o.log);
			return 2;
		}
	}

	cfg = (struct qemu_config){
		.qemu = o.qemu ? o.qemu : BOOT_QEMU_DEFAULT,
		.image = o.image,
		.bus = o.bus >= 0 ? o.bus :
		       t.bus >= 0 ? t.bus :
				    QEMU_BUS_USB,
		.memory_mib = o.memory_mib ? o.memory_mib :
			      t.memory_mib ? t.memory_mib :
					     BOOT_MEMORY_DEFAULT,
		.firmware = firmware,
		.write = o.write,
		.log = o.log,
		.net = o.net,
		.forwards = o.forwards,
	};
	if (o.test)
		add_passphrase_steps(&o, &t.steps, &t.n_steps);
	else
		add_passphrase_steps(&o, &o.steps, &o.n_steps);
	steps = o.test ? t.steps : o.steps;
	n_steps = o.test ? t.n_steps : o.n_steps;
	cfg.interactive = n_steps == 0;
	if (cfg.interactive && !isatty(STDIN_FILENO)) {
		log_error("no steps given and stdin is not a terminal (give --expect, --send, "
			  "--run, --poweroff or --test, or run on a terminal)");
		return 2;
	}
	if (firmware != QEMU_FIRMWARE_BIOS) {
		if (ovmf_prepare(firmware, &ovmf_code) < 0) {
			vars_remove();
			return 1;
		}
		cfg.ovmf_code = ovmf_code;
		cfg.ovmf_vars = vars_path;
	}
	/* The guest writes a private copy, compared with the image afterwards; with --write
	 * it writes the image, compared with a copy of it made before. */
	if (o.audit) {
		if (audit_copy(o.image, &audit_path) < 0) {
			vars_remove();
			return 1;
		}
		if (!o.write) {
			cfg.image = audit_path;
			cfg.write = true;
		}
	}
	r = choose_accel(o.accel, cfg.qemu);
	if (r < 0)
		r = 1;
	else {
		cfg.accel = (enum qemu_accel)r;
		if (cfg.interactive)
			r = boot_interactive(&cfg);
		else
			r = boot_scripted(&cfg, steps, n_steps,
					  o.timeout > 0 ? o.timeout :
					  t.timeout > 0 ? t.timeout :
							  BOOT_TIMEOUT_DEFAULT,
					  log_fd);
	}
	vars_remove();
	if (audit_path) {
		struct audit_result a = {};

		if (audit_report(o.write ? audit_path : o.image, o.write ? o.image : audit_path,
				 stdout, &a) < 0)
			r = 1;
		else if (check_writes(&t, &a) < 0)
			r = 1;
		audit_result_done(&a);
		unlink(audit_path);
	}
	return r;
}
