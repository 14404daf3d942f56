// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/grubbios.c, with Debian's boot.img and a core.img made here by
 * grub-mkimage. Images are filled with a pattern, then given a table by sfdisk, so that any
 * byte written where it should not be shows; sfdisk -d must read the same table afterwards. */
#include "grubbios.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "util.h"

#define GRUB_DIR "/usr/lib/grub/i386-pc"
#define IMAGE_SIZE (8u << 20)
#define BIOS_GRUB_GUID "21686148-6449-6E6F-744E-656564454649"
#define LINUX_GUID "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

static char *boot;
static size_t boot_size;
static char *core; /* NULL when grub-mkimage is missing */
static size_t core_size;
static uint64_t core_sectors;

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *ret_size)
{
	char *data = NULL;
	size_t size = 0;

	if (read_file(path, 64u << 20, &data, &size) < 0)
		return NULL;
	if (ret_size)
		*ret_size = size;
	return data;
}

static uint64_t get_le(const void *p, unsigned n)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (unsigned i = n; i > 0; i--)
		v = v << 8 | b[i - 1];
	return v;
}

/* Whether a and b agree on [from, to); prints the first difference. */
static bool same(const void *a, const void *b, size_t from, size_t to)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = from; i < to; i++)
		if (x[i] != y[i]) {
			fprintf(stderr, "  first difference at 0x%zx: %02x != %02x\n", i, x[i], y[i]);
			return false;
		}
	return true;
}

/* An image of IMAGE_SIZE bytes of a pattern, then the table sfdisk makes from script. */
static char *make_image(const char *name, const char *script)
{
	char *path = tmp_path(name);
	_cleanup_free_ char *pattern = xmalloc(IMAGE_SIZE);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	for (size_t i = 0; i < IMAGE_SIZE; i++)
		pattern[i] = (char)(i * 7 + i / 4096 + 3);
	if (fd < 0 || pwrite_all(fd, pattern, IMAGE_SIZE, 0) < 0)
		abort();
	if (script && run("printf '%s' | sfdisk -q %s", script, path) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

static char *sfdisk_dump(const char *image)
{
	_cleanup_free_ char *out = xasprintf("%s.dump", image);

	if (run("sfdisk -d %s > %s", image, out) != 0)
		return NULL;
	return slurp(out, NULL);
}

/* Runs grubbios_install() on the image at path; returns its result, the message in *ret_msg. */
static int install(const char *path, const void *b, size_t b_size, const void *c, size_t c_size,
		   uint64_t lba, uint64_t end, char **ret_msg)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	capture_begin();
	r = grubbios_install(fd, path, b, b_size, c, c_size, lba, end);
	*ret_msg = capture_end();
	return r;
}

/* install() must fail with message (malloc'ed) and leave the image as it was. */
#define CHECK_REFUSED(path, b, b_size, c, c_size, lba, end, message)                               \
	do {                                                                                       \
		_cleanup_free_ char *_before = NULL, *_after = NULL, *_msg = NULL;                 \
		_cleanup_free_ char *_expected = (message);                                        \
		size_t _n1 = 0, _n2 = 0;                                                           \
		int _r;                                                                            \
                                                                                                   \
		_before = slurp(path, &_n1);                                                       \
		_r = install(path, b, b_size, c, c_size, lba, end, &_msg);                         \
		_after = slurp(path, &_n2);                                                        \
		CHECK(_r == -EINVAL);                                                              \
		CHECK_STREQ(_msg, _expected);                                                      \
		CHECK(_before && _after && _n1 == _n2 && memcmp(_before, _after, _n1) == 0);      \
	} while (0)

/* After an install at lba into the image `before` became `after`: every documented byte. */
static bool check_installed(const char *before, const char *after, uint64_t lba)
{
	const char *mbr = after, *c = after + lba * 512;
	size_t core_end = (lba + core_sectors) * 512;

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  not so: %s (%s:%d)\n", #cond, __FILE__, __LINE__);       \
			return false;                                                              \
		}                                                                                  \
	} while (0)
	/* boot.img, with its fields patched */
	EXPECT(same(mbr, boot, 0, 0x5c));
	EXPECT(get_le(mbr + 0x5c, 8) == lba);
	EXPECT((uint8_t)mbr[0x64] == 0xff);
	EXPECT(same(mbr, boot, 0x65, 0x66));
	EXPECT((uint8_t)mbr[0x66] == 0x90 && (uint8_t)mbr[0x67] == 0x90);
	EXPECT((uint8_t)boot[0x66] == 0xeb); /* it was a jmp */
	EXPECT(same(mbr, boot, 0x68, 0x1b8));
	/* the disk signature and table as they were, then 55 aa */
	EXPECT(same(mbr, before, 0x1b8, 0x1fe));
	EXPECT((uint8_t)mbr[0x1fe] == 0x55 && (uint8_t)mbr[0x1ff] == 0xaa);
	/* core.img, its block list starting after its first sector, zero padded */
	EXPECT(same(c, core, 0, 0x1f4));
	EXPECT(get_le(c + 0x1f4, 8) == lba + 1);
	EXPECT(get_le(c + 0x1fc, 2) == core_sectors - 1);
	EXPECT(get_le(c + 0x1fe, 2) == 0x820);
	EXPECT(same(c, core, 0x200, core_size));
	for (size_t i = core_size; i < core_sectors * 512; i++)
		EXPECT(c[i] == 0);
	/* nothing else */
	EXPECT(same(after, before, 512, lba * 512));
	EXPECT(same(after, before, core_end, IMAGE_SIZE));
#undef EXPECT
	return true;
}

/* ---- tests ---- */

static const char msdos_script[] = "label: dos\\nlabel-id: 0x12345678\\n"
				   "start=2048, size=8192, type=83, bootable\\n"
				   "start=10240, type=83\\n";

static void test_msdos_lba1(void)
{
	_cleanup_free_ char *path = make_image("msdos.img", msdos_script), *before = NULL,
			    *after = NULL, *d1 = NULL, *d2 = NULL, *msg = NULL, *out = NULL,
			    *f = NULL;
	size_t size;

	CHECK(path);
	before = slurp(path, &size);
	CHECK(before && size == IMAGE_SIZE);
	CHECK(memcmp(before + 0x1b8, "\x78\x56\x34\x12", 4) == 0);
	d1 = sfdisk_dump(path);
	CHECK(install(path, boot, boot_size, core, core_size, 1, 2048, &msg) == 0);
	CHECK_STREQ(msg, "");
	after = slurp(path, &size);
	CHECK(after && size == IMAGE_SIZE);
	CHECK(check_installed(before, after, 1));
	/* at LBA 1 the block list is grub-mkimage's own */
	CHECK(get_le(after + 512 + 0x1f4, 8) == 2);
	CHECK(same(after + 512, core, 0, core_size));
	d2 = sfdisk_dump(path);
	CHECK(d1 && d2);
	CHECK_STREQ(d2, d1);
	CHECK(strstr(d2, "label-id: 0x12345678\n"));
	CHECK(run("sfdisk -q --verify %s", path) == 0);

	/* file(1), when there, recognizes the boot sector */
	if (have("file")) {
		out = tmp_path("file.out");
		CHECK(run("file -b %s > %s", path, out) == 0);
		f = slurp(out, NULL);
		CHECK(f && startswith(f, "DOS/MBR boot sector"));
	}
}

static void test_gpt_bios_grub(void)
{
	static const char script[] =
		"label: gpt\\nlabel-id: 0F0E0D0C-0B0A-0908-0706-050403020100\\n"
		"start=2048, size=2048, type=" BIOS_GRUB_GUID "\\n"
		"start=4096, size=8192, type=" LINUX_GUID "\\n";
	_cleanup_free_ char *path = make_image("gpt.img", script), *before = NULL, *after = NULL,
			    *d1 = NULL, *d2 = NULL, *msg = NULL;
	size_t size;

	CHECK(path);
	before = slurp(path, &size);
	CHECK(before && memcmp(before + 512, "EFI PART", 8) == 0);
	d1 = sfdisk_dump(path);
	CHECK(install(path, boot, boot_size, core, core_size, 2048, 4096, &msg) == 0);
	CHECK_STREQ(msg, "");
	after = slurp(path, &size);
	CHECK(after && size == IMAGE_SIZE);
	CHECK(check_installed(before, after, 2048));
	CHECK(get_le(after + 2048 * 512 + 0x1f4, 8) == 2049);
	/* the protective MBR's entry is kept */
	CHECK((uint8_t)after[0x1be + 4] == 0xee);
	d2 = sfdisk_dump(path);
	CHECK(d1 && d2);
	CHECK_STREQ(d2, d1);
	CHECK(run("sfdisk -q --verify %s", path) == 0);

	/* not over the GPT */
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 1, 2048,
		      xasprintf("error: '%s' has a GPT: core.img at LBA 1 would overwrite it; put "
				"core.img into a bios-grub partition",
				path));
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 33, 2048,
		      xasprintf("error: '%s' has a GPT: core.img at LBA 33 would overwrite it; put "
				"core.img into a bios-grub partition",
				path));
}

/* Installing again at another place gives the same as installing there first. */
static void test_reinstall(void)
{
	_cleanup_free_ char *a = make_image("again-a.img", msdos_script),
			    *b = make_image("again-b.img", msdos_script), *da = NULL, *db = NULL,
			    *m1 = NULL, *m2 = NULL, *m3 = NULL;
	size_t na, nb;

	CHECK(a && b);
	CHECK(install(a, boot, boot_size, core, core_size, 1, 2048, &m1) == 0);
	CHECK(install(a, boot, boot_size, core, core_size, 1, 2048, &m2) == 0);
	CHECK(install(b, boot, boot_size, core, core_size, 1, 2048, &m3) == 0);
	da = slurp(a, &na);
	db = slurp(b, &nb);
	CHECK(da && db && na == nb && memcmp(da, db, na) == 0);
}

/* A core padded to whole sectors by the caller is the same core. */
static void test_padded_core(void)
{
	_cleanup_free_ char *a = make_image("pad-a.img", msdos_script),
			    *b = make_image("pad-b.img", msdos_script), *da = NULL, *db = NULL,
			    *m1 = NULL, *m2 = NULL, *padded = NULL;
	uint64_t n = 0;
	size_t na, nb;

	CHECK(a && b);
	padded = xcalloc(core_sectors, 512);
	memcpy(padded, core, core_size);
	CHECK(grubbios_check_core(core, core_size, &n) == 0 && n == core_sectors);
	CHECK(grubbios_check_core(padded, core_sectors * 512, &n) == 0 && n == core_sectors);
	CHECK(install(a, boot, boot_size, core, core_size, 1, 2048, &m1) == 0);
	CHECK(install(b, boot, boot_size, padded, core_sectors * 512, 1, 2048, &m2) == 0);
	da = slurp(a, &na);
	db = slurp(b, &nb);
	CHECK(da && db && na == nb && memcmp(da, db, na) == 0);
}

static void test_gap_too_small(void)
{
	_cleanup_free_ char *path = make_image("gap.img", "label: dos\\nstart=63, type=83\\n"),
			    *d1 = NULL, *d2 = NULL, *msg = NULL;

	CHECK(path);
	d1 = sfdisk_dump(path);
	CHECK(d1 && strstr(d1, "start=          63"));
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 1, 63,
		      xasprintf("error: core.img (%" PRIu64 " sectors) does not fit in the gap "
				"before the first partition (62 sectors free from LBA 1 to 62): "
				"start the first partition at 1 MiB (image.align)",
				core_sectors));
	/* one sector short and just enough */
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 1, core_sectors,
		      xasprintf("error: core.img (%" PRIu64 " sectors) does not fit in the gap "
				"before the first partition (%" PRIu64 " sectors free from LBA 1 to "
				"%" PRIu64 "): start the first partition at 1 MiB (image.align)",
				core_sectors, core_sectors - 1, core_sectors - 1));
	CHECK(install(path, boot, boot_size, core, core_size, 1, core_sectors + 1, &msg) == 0);
	d2 = sfdisk_dump(path);
	CHECK(d2);
	CHECK_STREQ(d2, d1);

	/* a bios-grub partition too small */
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 2048, 2148,
		      xasprintf("error: core.img (%" PRIu64 " sectors) does not fit in the bios-grub "
				"partition (100 sectors from LBA 2048 to 2147): make it at least "
				"%" PRIu64 " KiB",
				core_sectors, (core_sectors + 1) / 2));
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 0, 2048,
		      xstrdup("error: cannot put core.img at LBA 0: that is the MBR"));
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 1, 1,
		      xasprintf("error: core.img (%" PRIu64 " sectors) does not fit: no free "
				"sector at LBA 1",
				core_sectors));
}

static void test_image_too_small(void)
{
	_cleanup_free_ char *path = tmp_path("small.img");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0 && ftruncate(fd, 64 * 512) == 0);
	CHECK_REFUSED(path, boot, boot_size, core, core_size, 1, 2048,
		      xasprintf("error: '%s' is 64 sectors: too small for core.img at LBA 1..%" PRIu64,
				path, core_sectors));
}

static void test_bad_core(void)
{
	_cleanup_free_ char *path = make_image("badcore.img", msdos_script), *c = NULL,
			    *big = NULL, *msg = NULL;
	uint64_t n = 0;

	CHECK(path);
	/* truncated: the block list still loads the whole core */
	CHECK_REFUSED(path, boot, boot_size, core, 100 * 512,
		      1, 2048,
		      xasprintf("error: core.img is 100 sectors but its block list loads %" PRIu64
				" after the first, expected 99: truncated or not made by "
				"grub-mkimage -O i386-pc",
				core_sectors - 1));
	CHECK_REFUSED(path, boot, boot_size, core, core_size - 512, 1, 2048,
		      xasprintf("error: core.img is %" PRIu64 " sectors but its block list loads "
				"%" PRIu64 " after the first, expected %" PRIu64 ": truncated or not "
				"made by grub-mkimage -O i386-pc",
				core_sectors - 1, core_sectors - 1, core_sectors - 2));
	CHECK_REFUSED(path, boot, boot_size, core, 512, 1, 2048,
		      xstrdup("error: core.img is 512 bytes: too small for a GRUB core (at least 2 "
			      "sectors)"));
	CHECK_REFUSED(path, boot, boot_size, core, 0, 1, 2048,
		      xstrdup("error: core.img is 0 bytes: too small for a GRUB core (at least 2 "
			      "sectors)"));

	/* not grub-mkimage's block list */
	c = xmalloc(core_size);
	memcpy(c, core, core_size);
	c[0x1fe] = 0x00;
	c[0x1ff] = 0x10;
	CHECK_REFUSED(path, boot, boot_size, c, core_size, 1, 2048,
		      xstrdup("error: core.img's block list loads to segment 0x1000, expected "
			      "0x0820: not made by grub-mkimage -O i386-pc"));
	memcpy(c, core, core_size);
	c[0x1f0] = 1;
	CHECK_REFUSED(path, boot, boot_size, c, core_size, 1, 2048,
		      xstrdup("error: core.img's block list has more than one entry: not made by "
			      "grub-mkimage -O i386-pc"));
	memcpy(c, core, core_size);
	c[0x1fc] = 0;
	c[0x1fd] = 0;
	CHECK_REFUSED(path, boot, boot_size, c, core_size, 1, 2048,
		      xasprintf("error: core.img is %" PRIu64 " sectors but its block list loads 0 "
				"after the first, expected %" PRIu64 ": truncated or not made by "
				"grub-mkimage -O i386-pc",
				core_sectors, core_sectors - 1));

	/* GRUB's limit: 888 sectors fit (in a gap of 1 MiB), 889 do not */
	big = xcalloc(889, 512);
	memcpy(big, core, core_size);
	big[0x1fc] = (char)(887 & 0xff);
	big[0x1fd] = (char)(887 >> 8);
	CHECK(grubbios_check_core(big, 888 * 512, &n) == 0 && n == 888);
	CHECK(install(path, boot, boot_size, big, 888 * 512, 1, 2048, &msg) == 0);
	big[0x1fc] = (char)(888 & 0xff);
	big[0x1fd] = (char)(888 >> 8);
	CHECK_REFUSED(path, boot, boot_size, big, 889 * 512, 1, 2048,
		      xstrdup("error: core.img (889 sectors) is larger than GRUB's limit of 888 "
			      "sectors for BIOS boot: give grub-mkimage fewer modules"));
}

static void test_bad_boot(void)
{
	_cleanup_free_ char *path = make_image("badboot.img", msdos_script), *b = NULL;
	/* any core: boot.img is checked first */
	static const char fake_core[1024];

	CHECK(path);
	b = xmalloc(512);
	CHECK_REFUSED(path, boot, 511, fake_core, sizeof(fake_core), 1, 2048,
		      xstrdup("error: boot.img is 511 bytes, expected 512"));
	CHECK_REFUSED(path, boot, 0, fake_core, sizeof(fake_core), 1, 2048,
		      xstrdup("error: boot.img is 0 bytes, expected 512"));
	memcpy(b, boot, 512);
	b[0x1fe] = 0;
	CHECK_REFUSED(path, b, 512, fake_core, sizeof(fake_core), 1, 2048,
		      xstrdup("error: boot.img has no boot signature (55 aa at 0x1fe)"));
	memcpy(b, boot, 512);
	b[0] = b[1] = 0;
	CHECK_REFUSED(path, b, 512, fake_core, sizeof(fake_core), 1, 2048,
		      xstrdup("error: boot.img is not GRUB's i386-pc boot.img (no jump to 0x65 at "
			      "its start)"));
	CHECK(grubbios_check_boot(boot, boot_size) == 0);
}

static void test_write_error(void)
{
	_cleanup_free_ char *path = make_image("ro.img", msdos_script), *before = NULL,
			    *after = NULL, *msg = NULL;
	_cleanup_close_ int fd = -1;
	size_t n1, n2;
	int r;

	CHECK(path);
	before = slurp(path, &n1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	capture_begin();
	r = grubbios_install(fd, path, boot, boot_size, core, core_size, 1, 2048);
	msg = capture_end();
	CHECK(r == -EBADF);
	free(after);
	after = xasprintf("error: cannot write core.img to '%s': Bad file descriptor", path);
	CHECK_STREQ(msg, after);
	free(after);
	after = slurp(path, &n2);
	CHECK(before && after && n1 == n2 && memcmp(before, after, n1) == 0);
}

#define RUN_GRUB_TEST(fn)                                                                          \
	do {                                                                                       \
		if (core)                                                                          \
			RUN_TEST(fn);                                                              \
		else                                                                               \
			printf("SKIP: %s (grub-mkimage not found)\n", #fn);                        \
	} while (0)

int main(void)
{
	_cleanup_free_ char *core_path = NULL, *boot_path = xstrdup(GRUB_DIR "/boot.img"),
			    *path = xasprintf("%s:/usr/sbin:/sbin", getenv("PATH") ?: "/usr/bin:/bin");

	setenv("PATH", path, 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-grubbios.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (read_file(boot_path, 4096, &boot, &boot_size) < 0) {
		fprintf(stderr, "cannot read %s (grub-pc-bin)\n", boot_path);
		printf("FAIL: setup\n");
		return 1;
	}
	core_path = tmp_path("core.img");
	if (have("grub-mkimage")) {
		if (run("grub-mkimage -O i386-pc -d " GRUB_DIR " -p '(,msdos1)/boot/grub' -o %s "
			"biosdisk part_msdos ext2 normal",
			core_path) != 0 ||
		    read_file(core_path, 1u << 20, &core, &core_size) < 0) {
			printf("FAIL: setup\n");
			return 1;
		}
		core_sectors = (core_size + 511) / 512;
	}

	RUN_GRUB_TEST(test_msdos_lba1);
	RUN_GRUB_TEST(test_gpt_bios_grub);
	RUN_GRUB_TEST(test_reinstall);
	RUN_GRUB_TEST(test_padded_core);
	RUN_GRUB_TEST(test_gap_too_small);
	RUN_GRUB_TEST(test_image_too_small);
	RUN_GRUB_TEST(test_bad_core);
	RUN_TEST(test_bad_boot);
	RUN_GRUB_TEST(test_write_error);

	free(boot);
	free(core);
	if (!getenv("TEST_GRUBBIOS_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
