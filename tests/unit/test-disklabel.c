// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/disklabel.c. Tables are written into sparse images in a temporary
 * directory and read back only with independent tools: sfdisk (--dump, --json, --verify)
 * and cmp. */
#include "disklabel.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <uuid/uuid.h>

#include "check.h"
#include "log.h"
#include "util.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static char tmpdir[64];

#ifdef __SANITIZE_ADDRESS__
/* libparted's load-time constructor runs `dmidecode -s system-manufacturer` unless
 * PARTED_GPT_APPLE is set, and when dmidecode prints nothing (no DMI, not root) it strchr()s
 * an uninitialised getline() buffer: AddressSanitizer aborts before main. The variable
 * must be in the environment before libparted loads, and .preinit_array is too early for
 * setenv() (libc's initialisation resets environ afterwards), so exec ourselves again with
 * it added to envp. */
static void parted_env_preinit(int argc, char **argv, char **envp)
{
	size_t n = 0;
	char **env;

	for (; envp[n]; n++)
		if (strncmp(envp[n], "PARTED_GPT_APPLE=", 17) == 0)
			return;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return;
	memcpy(env, envp, n * sizeof(*env));
	env[n] = (char *)"PARTED_GPT_APPLE=0";
	execve("/proc/self/exe", argv, env);
	perror("re-exec with PARTED_GPT_APPLE=0");
	free(env);
}
__attribute__((section(".preinit_array"), used)) static void (*const parted_env_preinit_p)(
	int, char **, char **) = parted_env_preinit;
#endif

/* ---- helpers ---- */

static int make_image(const char *name, uint64_t size, char *ret_path, size_t len)
{
	int fd;

	snprintf(ret_path, len, "%s/%s", tmpdir, name);
	fd = open(ret_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

/* Runs a shell command; returns its exit status (or -1) and its stdout+stderr in ret_out. */
static int run(char **ret_out, const char *fmt, ...) _printf_(2, 3);
static int run(char **ret_out, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL, *full = NULL;
	char *out = NULL;
	size_t n = 0, cap = 0;
	va_list ap;
	FILE *f;
	int status;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (!cmd)
		return -1;
	/* sfdisk lives in /usr/sbin, often not on a user's PATH. */
	full = xasprintf("PATH=\"$PATH:/usr/sbin:/sbin\" LC_ALL=C %s 2>&1", cmd);
	f = popen(full, "r");
	if (!f)
		return -1;
	for (;;) {
		size_t k;

		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			out = xrealloc(out, cap);
		}
		k = fread(out + n, 1, cap - n - 1, f);
		if (k == 0)
			break;
		n += k;
	}
	out[n] = 0;
	status = pclose(f);
	if (ret_out)
		*ret_out = out;
	else
		free(out);
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

struct dump_part {
	uint64_t start, size;
	char type[40];
	char uuid[40];
	char name[128];
	char attrs[128];
	bool bootable;
};

struct dump {
	char label[16];
	char id[64];
	uint64_t first_lba, last_lba;
	size_t n;
	struct dump_part p[8];
};

/* Copies the value of `key=` in line (up to ',' or end; quoted values with \xHH escapes
 * decoded) into buf; false when the key is absent. */
static bool field(const char *line, const char *key, char *buf, size_t len)
{
	_cleanup_free_ char *pat = xasprintf(" %s=", key);
	const char *s = strstr(line, pat);
	size_t o = 0;

	if (!s)
		return false;
	s += strlen(pat);
	if (*s == '"') {
		s++;
		while (*s && *s != '"' && o + 1 < len) {
			unsigned v;

			if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
				buf[o++] = (char)v;
				s += 4;
			} else if (s[0] == '\\' && s[1]) {
				buf[o++] = s[1];
				s += 2;
			} else {
				buf[o++] = *s++;
			}
		}
	} else {
		while (*s == ' ')
			s++;
		while (*s && *s != ',' && *s != '\n' && o + 1 < len)
			buf[o++] = *s++;
	}
	buf[o] = 0;
	return true;
}

/* Parses `sfdisk --dump`; -1 on failure or when sfdisk complained about anything. */
static int sfdisk_dump(const char *path, struct dump *ret)
{
	_cleanup_free_ char *out = NULL;
	char *line, *save = NULL;
	int status;

	memset(ret, 0, sizeof(*ret));
	status = run(&out, "sfdisk --dump '%s'", path);
	if (status != 0 || !out) {
		fprintf(stderr, "  sfdisk --dump failed (%d):\n%s", status, out ? out : "");
		return -1;
	}
	if (strcasestr(out, "warning") || strcasestr(out, "corrupt") ||
	    strcasestr(out, "mismatch")) {
		fprintf(stderr, "  sfdisk complained:\n%s", out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char num[32];

		if (sscanf(line, "label: %15s", ret->label) == 1)
			continue;
		if (sscanf(line, "label-id: %63s", ret->id) == 1)
			continue;
		if (sscanf(line, "first-lba: %" SCNu64, &ret->first_lba) == 1)
			continue;
		if (sscanf(line, "last-lba: %" SCNu64, &ret->last_lba) == 1)
			continue;
		if (strstr(line, " : start=")) {
			struct dump_part *p;
			char *tail = strstr(line, " : ") + 2; /* fields start with a space */

			if (ret->n >= ARRAY_SIZE(ret->p))
				return -1;
			p = &ret->p[ret->n++];
			if (!field(tail, "start", num, sizeof(num)))
				return -1;
			p->start = strtoull(num, NULL, 10);
			if (!field(tail, "size", num, sizeof(num)))
				return -1;
			p->size = strtoull(num, NULL, 10);
			field(tail, "type", p->type, sizeof(p->type));
			field(tail, "uuid", p->uuid, sizeof(p->uuid));
			field(tail, "name", p->name, sizeof(p->name));
			field(tail, "attrs", p->attrs, sizeof(p->attrs));
			p->bootable = strstr(tail, ", bootable") != NULL;
		}
	}
	return 0;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void uuid_from(const char *s, uint8_t out[16])
{
	if (uuid_parse(s, out) < 0)
		abort();
}

static struct part_type type_of(const char *s)
{
	struct part_type t = {};

	if (part_type_from_string(s, &t) < 0)
		abort();
	return t;
}

/* ---- string tables ---- */

static void test_table_type_strings(void)
{
	CHECK_STREQ(table_type_to_string(TABLE_MSDOS), "msdos");
	CHECK_STREQ(table_type_to_string(TABLE_GPT), "gpt");
	CHECK(table_type_from_string("msdos") == TABLE_MSDOS);
	CHECK(table_type_from_string("dos") == TABLE_MSDOS);
	CHECK(table_type_from_string("mbr") == TABLE_MSDOS);
	CHECK(table_type_from_string("gpt") == TABLE_GPT);
	CHECK(table_type_from_string("GPT") == -EINVAL);
	CHECK(table_type_from_string("") == -EINVAL);
	CHECK(table_type_from_string("bsd") == -EINVAL);
	CHECK(table_type_from_string(NULL) == -EINVAL);
}

static void test_part_type_from_string(void)
{
	struct part_type t;
	char s[40];

	CHECK(part_type_from_string("linux", &t) == 0);
	CHECK_STREQ(t.name, "linux");
	CHECK(t.mbr_id == 0x83);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");

	CHECK(part_type_from_string("esp", &t) == 0);
	CHECK_STREQ(t.name, "efi");
	CHECK(t.mbr_id == 0xef);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");

	CHECK(part_type_from_string("vfat", &t) == 0);
	CHECK_STREQ(t.name, "fat32");
	CHECK(t.mbr_id == 0x0c);

	CHECK(part_type_from_string("bios-grub", &t) == 0);
	CHECK(t.mbr_id == 0);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "21686148-6449-6E6F-744E-656564454649");

	CHECK(part_type_from_string("linux-root-x86-64", &t) == 0);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
	CHECK(part_type_from_string("linux-home", &t) == 0 && t.mbr_id == 0x83);
	CHECK(part_type_from_string("swap", &t) == 0 && t.mbr_id == 0x82);
	CHECK(part_type_from_string("lvm", &t) == 0 && t.mbr_id == 0x8e);
	CHECK(part_type_from_string("raid", &t) == 0 && t.mbr_id == 0xfd);

	CHECK(part_type_from_string("0x83", &t) == 0);
	CHECK(t.mbr_id == 0x83 && t.name == NULL);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "00000000-0000-0000-0000-000000000000");
	CHECK(part_type_from_string("83", &t) == 0 && t.mbr_id == 0x83);
	CHECK(part_type_from_string("0xEF", &t) == 0 && t.mbr_id == 0xef);
	CHECK(part_type_from_string("c", &t) == 0 && t.mbr_id == 0x0c);

	CHECK(part_type_from_string("a19d880f-05fc-4d3b-a006-743f0f84911e", &t) == 0);
	CHECK(t.mbr_id == 0 && t.name == NULL);
	uuid_unparse_upper(t.guid, s);
	CHECK_STREQ(s, "A19D880F-05FC-4D3B-A006-743F0F84911E");

	CHECK(part_type_from_string("banana", &t) == -EINVAL);
	CHECK(part_type_from_string("0x", &t) == -EINVAL);
	CHECK(part_type_from_string("0x100", &t) == -EINVAL);
	CHECK(part_type_from_string("100", &t) == -EINVAL);
	CHECK(part_type_from_string("0", &t) == -EINVAL);
	CHECK(part_type_from_string("0x00", &t) == -EINVAL);
	CHECK(part_type_from_string("0xg1", &t) == -EINVAL);
	CHECK(part_type_from_string("", &t) == -EINVAL);
	CHECK(part_type_from_string("00000000-0000-0000-0000-000000000000", &t) == -EINVAL);
	CHECK(part_type_from_string("A19D880F-05FC-4D3B-A006-743F0F84911", &t) == -EINVAL);
}

static void test_part_type_check(void)
{
	struct part_type t;

	CHECK(part_type_from_string("bios-grub", &t) == 0);
	CHECK(part_type_check(&t, TABLE_MSDOS) == -EOPNOTSUPP);
	CHECK(part_type_check(&t, TABLE_GPT) == 0);

	CHECK(part_type_from_string("0x83", &t) == 0);
	CHECK(part_type_check(&t, TABLE_MSDOS) == 0);
	CHECK(part_type_check(&t, TABLE_GPT) == -EOPNOTSUPP);

	CHECK(part_type_from_string("0FC63DAF-8483-4772-8E79-3D69D8477DE4", &t) == 0);
	CHECK(part_type_check(&t, TABLE_MSDOS) == -EOPNOTSUPP);
	CHECK(part_type_check(&t, TABLE_GPT) == 0);

	CHECK(part_type_from_string("efi", &t) == 0);
	CHECK(part_type_check(&t, TABLE_MSDOS) == 0);
	CHECK(part_type_check(&t, TABLE_GPT) == 0);
}

static void test_usable(void)
{
	uint64_t first, end;

	disklabel_usable(TABLE_MSDOS, 64 * MiB, &first, &end);
	CHECK(first == 512 && end == 64 * MiB);
	disklabel_usable(TABLE_GPT, GiB, &first, &end);
	CHECK(first == 34 * 512 && end == GiB - 33 * 512);
}

/* ---- msdos ---- */

static const struct dl_part msdos_parts[] = {
	{ .offset = 1 * MiB, .size = 32 * MiB, .bootable = true },
	{ .offset = 33 * MiB, .size = 16 * MiB },
	{ .offset = 49 * MiB, .size = 15 * MiB }, /* up to the very end */
};

static void msdos_label(struct dl_part parts[3], struct disklabel *dl)
{
	memcpy(parts, msdos_parts, sizeof(msdos_parts));
	parts[0].type = type_of("efi");
	parts[1].type = type_of("linux");
	parts[2].type = type_of("swap");
	*dl = (struct disklabel){
		.table = TABLE_MSDOS,
		.disk_size = 64 * MiB,
		.mbr_id = 0x12345678,
		.n_parts = 3,
		.parts = parts,
	};
}

static void test_msdos(void)
{
	_cleanup_free_ char *json = NULL;
	struct dl_part parts[3];
	struct disklabel dl;
	char img[128];
	struct dump d;

	msdos_label(parts, &dl);
	CHECK(make_image("msdos.img", dl.disk_size, img, sizeof(img)) == 0);
	CHECK(disklabel_write(img, &dl) == 0);

	CHECK(sfdisk_dump(img, &d) == 0);
	CHECK_STREQ(d.label, "dos");
	CHECK_STREQ(d.id, "0x12345678");
	CHECK(d.n == 3);
	CHECK(d.p[0].start == 2048 && d.p[0].size == 65536);
	CHECK_STREQ(d.p[0].type, "ef");
	CHECK(d.p[0].bootable);
	CHECK(d.p[1].start == 67584 && d.p[1].size == 32768);
	CHECK_STREQ(d.p[1].type, "83");
	CHECK(!d.p[1].bootable);
	CHECK(d.p[2].start == 100352 && d.p[2].size == 30720);
	CHECK_STREQ(d.p[2].type, "82");
	CHECK(!d.p[2].bootable);

	/* The same facts through --json, as a second reading. */
	CHECK(run(&json, "sfdisk --json '%s'", img) == 0);
	CHECK(strstr(json, "\"label\": \"dos\""));
	CHECK(strstr(json, "\"id\": \"0x12345678\""));
	CHECK(count(json, "\"bootable\": true") == 1);
	CHECK(count(json, "\"bootable\"") == 1);
	CHECK(count(json, "\"type\": \"ef\"") == 1);

	CHECK(run(NULL, "sfdisk --verify '%s'", img) == 0);
	/* No boot code: the bootloader stage writes its own. */
	CHECK(run(NULL, "cmp -n 440 '%s' /dev/zero", img) == 0);
}

/* The first partition may start right after the MBR and the last end at the last sector:
 * no alignment is imposed. */
static void test_msdos_edges(void)
{
	struct dl_part parts[2] = {
		{ .offset = 512, .size = 100 * 512, .type = type_of("0x0c") },
		{ .offset = 101 * 512, .size = 64 * MiB - 101 * 512, .type = type_of("0xfd"),
		  .bootable = true },
	};
	struct disklabel dl = {
		.table = TABLE_MSDOS,
		.disk_size = 64 * MiB,
		.mbr_id = 0xdeadbeef,
		.n_parts = 2,
		.parts = parts,
	};
	char img[128];
	struct dump d;

	CHECK(make_image("msdos-edges.img", dl.disk_size, img, sizeof(img)) == 0);
	CHECK(disklabel_write(img, &dl) == 0);
	CHECK(sfdisk_dump(img, &d) == 0);
	CHECK_STREQ(d.id, "0xdeadbeef");
	CHECK(d.n == 2);
	CHECK(d.p[0].start == 1 && d.p[0].size == 100);
	CHECK_STREQ(d.p[0].type, "c");
	CHECK(!d.p[0].bootable);
	CHECK(d.p[1].start == 101 && d.p[1].size == 131072 - 101);
	CHECK_STREQ(d.p[1].type, "fd");
	CHECK(d.p[1].bootable);
	CHECK(run(NULL, "sfdisk --verify '%s'", img) == 0);
	CHECK(run(NULL, "cmp -n 440 '%s' /dev/zero", img) == 0);
}

/* ---- gpt ---- */

/* 36 UTF-16 units: 34 ASCII characters and one character outside the BMP (a pair). */
#define LONG_NAME "abcdefghijklmnopqrstuvwxyz01234567\xf0\x9f\x98\x80"

static void gpt_label(struct dl_part parts[4], struct disklabel *dl)
{
	memset(parts, 0, 4 * sizeof(*parts));
	parts[0] = (struct dl_part){ .offset = 1 * MiB, .size = 1 * MiB, .name = "bios" };
	parts[0].type = type_of("bios-grub");
	uuid_from("11111111-2222-3333-4444-555555555555", parts[0].uuid);

	parts[1] = (struct dl_part){ .offset = 2 * MiB, .size = 100 * MiB, .name = "EFI System" };
	parts[1].type = type_of("efi");
	uuid_from("01234567-89ab-cdef-0123-456789abcdef", parts[1].uuid);

	parts[2] = (struct dl_part){ .offset = 102 * MiB, .size = 800 * MiB, .name = "données",
				     .bootable = true };
	parts[2].type = type_of("linux-root-x86-64");
	uuid_from("fedcba98-7654-3210-fedc-ba9876543210", parts[2].uuid);

	/* From 902 MiB to the last usable sector. */
	parts[3] = (struct dl_part){ .offset = 902 * MiB, .size = GiB - 33 * 512 - 902 * MiB,
				     .name = LONG_NAME };
	parts[3].type = type_of("0657fd6d-a4ab-43c4-84e5-0933c84b4f4f");
	uuid_from("a0a1a2a3-b0b1-c0c1-d0d1-e0e1e2e3e4e5", parts[3].uuid);

	*dl = (struct disklabel){
		.table = TABLE_GPT,
		.disk_size = GiB,
		.mbr_id = 0xcafe0001,
		.n_parts = 4,
		.parts = parts,
	};
	uuid_from("8d6a1e0c-3b1f-4a6e-9c2d-7e5f4a3b2c1d", dl->disk_guid);
}

static void test_gpt(void)
{
	_cleanup_free_ char *json = NULL, *verify = NULL, *pmbr = NULL;
	struct dl_part parts[4];
	struct disklabel dl;
	char img[128];
	struct dump d;

	gpt_label(parts, &dl);
	CHECK(make_image("gpt.img", dl.disk_size, img, sizeof(img)) == 0);
	CHECK(disklabel_write(img, &dl) == 0);

	CHECK(sfdisk_dump(img, &d) == 0);
	CHECK_STREQ(d.label, "gpt");
	CHECK_STREQ(d.id, "8D6A1E0C-3B1F-4A6E-9C2D-7E5F4A3B2C1D");
	CHECK(d.first_lba == 34);
	CHECK(d.last_lba == GiB / 512 - 34);
	CHECK(d.n == 4);

	CHECK(d.p[0].start == 2048 && d.p[0].size == 2048);
	CHECK_STREQ(d.p[0].type, "21686148-6449-6E6F-744E-656564454649");
	CHECK_STREQ(d.p[0].uuid, "11111111-2222-3333-4444-555555555555");
	CHECK_STREQ(d.p[0].name, "bios");
	CHECK_STREQ(d.p[0].attrs, "");

	CHECK(d.p[1].start == 4096 && d.p[1].size == 204800);
	CHECK_STREQ(d.p[1].type, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
	CHECK_STREQ(d.p[1].uuid, "01234567-89AB-CDEF-0123-456789ABCDEF");
	CHECK_STREQ(d.p[1].name, "EFI System");
	CHECK_STREQ(d.p[1].attrs, "");

	CHECK(d.p[2].start == 208896 && d.p[2].size == 1638400);
	CHECK_STREQ(d.p[2].type, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
	CHECK_STREQ(d.p[2].uuid, "FEDCBA98-7654-3210-FEDC-BA9876543210");
	CHECK_STREQ(d.p[2].name, "données");
	CHECK_STREQ(d.p[2].attrs, "LegacyBIOSBootable");

	CHECK(d.p[3].start == 1847296);
	CHECK(d.p[3].start + d.p[3].size - 1 == d.last_lba);
	CHECK_STREQ(d.p[3].type, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");
	CHECK_STREQ(d.p[3].uuid, "A0A1A2A3-B0B1-C0C1-D0D1-E0E1E2E3E4E5");
	CHECK_STREQ(d.p[3].name, LONG_NAME);
	CHECK_STREQ(d.p[3].attrs, "");

	CHECK(run(&json, "sfdisk --json '%s'", img) == 0);
	CHECK(strstr(json, "\"id\": \"8D6A1E0C-3B1F-4A6E-9C2D-7E5F4A3B2C1D\""));
	CHECK(strstr(json, "\"name\": \"données\""));

	/* --verify checks both headers, both entry arrays and their CRCs. */
	CHECK(run(&verify, "sfdisk --verify '%s'", img) == 0);
	CHECK(strstr(verify, "No errors detected"));

	/* Protective MBR: no boot code, our disk signature (LE at 0x1B8), the 0xEE entry. */
	CHECK(run(NULL, "cmp -n 440 '%s' /dev/zero", img) == 0);
	CHECK(run(&pmbr, "od -A d -t x1 -j 440 -N 4 '%s'", img) == 0);
	CHECK(strstr(pmbr, "0000440 01 00 fe ca"));
}

static void test_gpt_empty(void)
{
	struct disklabel dl = { .table = TABLE_GPT, .disk_size = 64 * MiB };
	_cleanup_free_ char *verify = NULL;
	char img[128];
	struct dump d;

	uuid_from("00112233-4455-6677-8899-aabbccddeeff", dl.disk_guid);
	CHECK(make_image("gpt-empty.img", dl.disk_size, img, sizeof(img)) == 0);
	CHECK(disklabel_write(img, &dl) == 0);
	CHECK(sfdisk_dump(img, &d) == 0);
	CHECK_STREQ(d.label, "gpt");
	CHECK_STREQ(d.id, "00112233-4455-6677-8899-AABBCCDDEEFF");
	CHECK(d.n == 0);
	CHECK(run(&verify, "sfdisk --verify '%s'", img) == 0);
	CHECK(strstr(verify, "No errors detected"));
}

/* ---- determinism ---- */

static int same_ends(const char *a, const char *b, uint64_t size)
{
	uint64_t tail = size - MiB;

	if (run(NULL, "cmp -n %" PRIu64 " '%s' '%s'", MiB, a, b) != 0)
		return -1;
	if (run(NULL, "cmp -i %" PRIu64 ":%" PRIu64 " '%s' '%s'", tail, tail, a, b) != 0)
		return -1;
	return 0;
}

static void test_deterministic(void)
{
	struct dl_part mparts[3], gparts[4];
	struct disklabel mdl, gdl;
	char a[128], b[128], c[128];
	struct dump d;

	msdos_label(mparts, &mdl);
	CHECK(make_image("det-msdos-a.img", mdl.disk_size, a, sizeof(a)) == 0);
	CHECK(make_image("det-msdos-b.img", mdl.disk_size, b, sizeof(b)) == 0);
	CHECK(disklabel_write(a, &mdl) == 0);
	CHECK(disklabel_write(b, &mdl) == 0);
	CHECK(same_ends(a, b, mdl.disk_size) == 0);

	gpt_label(gparts, &gdl);
	CHECK(make_image("det-gpt-a.img", gdl.disk_size, a, sizeof(a)) == 0);
	CHECK(make_image("det-gpt-b.img", gdl.disk_size, b, sizeof(b)) == 0);
	CHECK(disklabel_write(a, &gdl) == 0);
	CHECK(disklabel_write(b, &gdl) == 0);
	CHECK(same_ends(a, b, gdl.disk_size) == 0);

	/* Writing again over an existing table gives the same bytes as a fresh file. */
	CHECK(disklabel_write(a, &gdl) == 0);
	CHECK(same_ends(a, b, gdl.disk_size) == 0);

	/* Switching an image from GPT to msdos leaves no GPT headers behind (libparted wipes
	 * them; the backup entry array stays, inside the last partition, as its data). */
	CHECK(make_image("det-switch.img", mdl.disk_size, c, sizeof(c)) == 0);
	gdl.disk_size = mdl.disk_size;
	gdl.n_parts = 1;
	CHECK(disklabel_write(c, &gdl) == 0);
	CHECK(disklabel_write(c, &mdl) == 0);
	CHECK(make_image("det-msdos-b.img", mdl.disk_size, b, sizeof(b)) == 0);
	CHECK(disklabel_write(b, &mdl) == 0);
	CHECK(run(NULL, "cmp -n %" PRIu64 " '%s' '%s'", MiB, b, c) == 0);
	CHECK(sfdisk_dump(c, &d) == 0); /* fails on any warning */
	CHECK_STREQ(d.label, "dos");
	CHECK(d.n == 3);
	CHECK(run(NULL, "cmp -n 512 -i %" PRIu64 ":%" PRIu64 " '%s' /dev/zero", mdl.disk_size - 512,
		  UINT64_C(0), c) == 0); /* backup GPT header gone */
}

/* ---- errors ---- */

static void test_errors(void)
{
	struct dl_part parts[5];
	struct disklabel dl;
	char img[128], missing[160];

	CHECK(make_image("err.img", 64 * MiB, img, sizeof(img)) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		parts[i] = (struct dl_part){ .offset = (1 + i) * MiB, .size = MiB,
					     .type = type_of("linux") };

	dl = (struct disklabel){ .table = TABLE_MSDOS, .disk_size = 64 * MiB, .n_parts = 5,
				 .parts = parts };
	CHECK(disklabel_write(img, &dl) == -E2BIG);

	/* GPT takes five. */
	dl.table = TABLE_GPT;
	CHECK(disklabel_write(img, &dl) == 0);

	/* bios-grub has no msdos id. */
	dl.table = TABLE_MSDOS;
	dl.n_parts = 2;
	parts[1].type = type_of("bios-grub");
	CHECK(disklabel_write(img, &dl) == -EOPNOTSUPP);
	/* A raw msdos id has no GPT GUID. */
	dl.table = TABLE_GPT;
	parts[1].type = type_of("0x83");
	CHECK(disklabel_write(img, &dl) == -EOPNOTSUPP);
	parts[1].type = type_of("linux");

	/* Overlap, misalignment, outside the usable area. */
	parts[1].offset = parts[0].offset + 512;
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[1].offset = 2 * MiB + 1;
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[1].offset = 2 * MiB;
	parts[0].offset = 512; /* inside the GPT entries */
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[0].offset = MiB;
	parts[1].size = 63 * MiB; /* into the backup GPT */
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[1].size = 0;
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[1].size = MiB;

	/* Names: too long (37 units), invalid UTF-8. */
	parts[0].name = "abcdefghijklmnopqrstuvwxyz0123456789a";
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[0].name = "abcdefghijklmnopqrstuvwxyz012345678\xf0\x9f\x98\x80"; /* 35 + pair */
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[0].name = "bad\xc3";
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[0].name = "\xc0\xaf"; /* overlong '/' */
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	parts[0].name = NULL;

	/* File size must match, the file must exist. */
	dl.disk_size = 128 * MiB;
	CHECK(disklabel_write(img, &dl) == -EINVAL);
	dl.disk_size = 64 * MiB;
	snprintf(missing, sizeof(missing), "%s/missing.img", tmpdir);
	CHECK(disklabel_write(missing, &dl) == -ENOENT);

	/* An error from inside libparted comes back as -EIO (and one logged line). */
	{
		struct disklabel tiny = { .table = TABLE_GPT, .disk_size = 16 * 1024 };
		char tiny_img[128];

		CHECK(make_image("tiny.img", tiny.disk_size, tiny_img, sizeof(tiny_img)) == 0);
		CHECK(disklabel_write(tiny_img, &tiny) == -EIO);
	}

	/* msdos cannot address sectors beyond 2^32. */
	{
		struct dl_part big_part = { .offset = 2 * 1024 * GiB, .size = GiB,
					    .type = type_of("linux") };
		struct disklabel big = { .table = TABLE_MSDOS, .disk_size = 3 * 1024 * GiB,
					 .n_parts = 1, .parts = &big_part };
		char big_img[128];

		CHECK(make_image("big.img", big.disk_size, big_img, sizeof(big_img)) == 0);
		CHECK(disklabel_write(big_img, &big) == -EINVAL);
		big.table = TABLE_GPT;
		CHECK(disklabel_write(big_img, &big) == 0);
		CHECK(run(NULL, "sfdisk --verify '%s'", big_img) == 0);
		CHECK(unlink(big_img) == 0);
	}

	/* Still fine after all that. */
	CHECK(disklabel_write(img, &dl) == 0);
	CHECK(run(NULL, "sfdisk --verify '%s'", img) == 0);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-disklabel.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (getenv("TEST_VERBOSE"))
		log_set_level(LOG_DEBUG);
	else
		log_set_level(LOG_ERR);

	RUN_TEST(test_table_type_strings);
	RUN_TEST(test_part_type_from_string);
	RUN_TEST(test_part_type_check);
	RUN_TEST(test_usable);
	RUN_TEST(test_msdos);
	RUN_TEST(test_msdos_edges);
	RUN_TEST(test_gpt);
	RUN_TEST(test_gpt_empty);
	RUN_TEST(test_deterministic);
	RUN_TEST(test_errors);

	if (check_failed_tests)
		fprintf(stderr, "images kept in '%s'\n", tmpdir);
	else if (run(NULL, "rm -rf '%s'", tmpdir) != 0)
		fprintf(stderr, "cannot remove '%s'\n", tmpdir);
	CHECK_EXIT();
}
