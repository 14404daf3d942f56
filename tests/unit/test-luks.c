// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/secret.c and lib/luks.c. Secrets are read from files, pipes and the
 * environment the test makes. LUKS headers are written into an image file at a partition
 * offset, cut out again with dd, and judged by the cryptsetup command (unprivileged, locks
 * off): luksDump's fields, --test-passphrase with the right and wrong secrets, and the
 * volume key it dumps. Plain mode's key is checked against cryptsetup 2.6's derivation
 * recomputed here with OpenSSL's RIPEMD-160. Messages are captured from stderr. */
#include "luks.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#define MiB (UINT64_C(1) << 20)
#define PASSPHRASE "correct horse battery"
#define PART_OFFSET MiB
#define PART_SIZE (32 * MiB)
#define ITER_MS 100u

static char *scratch_dir; /* luks_make()'s; must stay empty */

static const uint8_t test_uuid[16] = { 0x5e, 0xc2, 0x37, 0x1a, 0x0b, 0x5d, 0x4c, 0x2e,
				       0x9a, 0x41, 0x33, 0x7f, 0x10, 0x22, 0x6b, 0x01 };
#define TEST_UUID "5ec2371a-0b5d-4c2e-9a41-337f10226b01"

/* ---- helpers ---- */

static int write_data(const char *path, const void *data, size_t size, unsigned mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || pwrite_all(fd, data, size, 0) < 0 || fchmod(fd, mode) < 0)
		return -errno;
	return 0;
}

static int write_str(const char *path, const char *s, unsigned mode)
{
	return write_data(path, s, strlen(s), mode);
}

/* The output (stdout and stderr) of a shell command line, and its exit status. */
static char *shell(int *ret_status, const char *fmt, ...) _printf_(2, 3);
static char *shell(int *ret_status, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	char *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	char *argv[] = { "sh", "-c", cmd, NULL };
	*ret_status = spawn_capture(argv, &out);
	return out ? out : xstrdup("");
}

/* cryptsetup, unprivileged: no locks (they want /run/cryptsetup). */
#define cryptsetup(ret_status, fmt, ...) \
	shell(ret_status, "cryptsetup --disable-locks " fmt, __VA_ARGS__)

/* The value after "key:" on the line of a dump where key appears first (leading blanks and
 * tabs skipped), up to the end of line; NULL when absent. */
static char *dump_field(const char *dump, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = dump; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *p = l + strspn(l, " \t");

		if (strncmp(p, key, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " \t");
			return xstrndup(p, strcspn(p, "\n"));
		}
	}
	return NULL;
}

/* The hex bytes after "MK dump:" (several lines) into buf; returns how many. */
static size_t parse_key_dump(const char *dump, uint8_t *buf, size_t max)
{
	const char *p = strstr(dump, "MK dump:");
	size_t n = 0;
	unsigned v;
	int k;

	if (!p)
		return 0;
	p += strlen("MK dump:");
	while (n < max && sscanf(p, " %2x%n", &v, &k) == 1) {
		buf[n++] = (uint8_t)v;
		p += k;
	}
	return n;
}

static bool dir_is_empty(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			return false;
	return true;
}

/* Makes a LUKS volume with o, writes it into image.img at PART_OFFSET and cuts the
 * partition (part.img) and the header alone (header.img) out again with dd. */
static int make_image(const struct luks_opts *o, struct luks_result **ret)
{
	_cleanup_free_ char *img = tmp_path("image.img");
	_cleanup_close_ int fd = -1;
	struct luks_result *res = NULL;
	int r;

	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(PART_OFFSET + PART_SIZE + MiB)) < 0)
		return -errno;
	r = luks_make(o, scratch_dir, PART_SIZE, &res);
	if (r < 0)
		return r;
	r = luks_write_header(fd, PART_OFFSET, res);
	if (r < 0 ||
	    run("cd %s && dd if=image.img of=part.img bs=1M skip=1 count=32 status=none && "
		"dd if=image.img of=header.img bs=1M skip=1 count=%" PRIu64 " status=none",
		tmpdir, res->data_offset / MiB) != 0) {
		luks_result_free(res);
		return -EIO;
	}
	*ret = res;
	return 0;
}

static struct secret *str_secret(const char *s)
{
	return secret_dup(s, strlen(s));
}

/* ---- secrets ---- */

static void test_secret_passphrase_file(void)
{
	_cleanup_free_ char *p = tmp_path("pass1"), *msg = NULL;
	_cleanup_(secret_freep) struct secret *s = NULL;
	int r;

	CHECK(write_str(p, "hunter2\n", 0600) == 0);
	capture_begin();
	r = secret_from_file(p, true, &s);
	msg = capture_end();
	CHECK(r == 0);
	CHECK_STREQ(msg, "");
	CHECK(s->len == 7 && memcmp(s->data, "hunter2", 7) == 0);
	secret_free(s);
	s = NULL;

	/* Only one trailing newline goes; without one, nothing does. */
	CHECK(write_str(p, "hunter2", 0600) == 0);
	CHECK(secret_from_file(p, true, &s) == 0);
	CHECK(s->len == 7 && memcmp(s->data, "hunter2", 7) == 0);
}

static void test_secret_keyfile_exact(void)
{
	static const uint8_t key[] = { 'k', 0, 0xff, '\n', 'x', '\n' };
	_cleanup_free_ char *p = tmp_path("key1");
	_cleanup_(secret_freep) struct secret *s = NULL;

	CHECK(write_data(p, key, sizeof(key), 0400) == 0);
	CHECK(secret_from_file(p, false, &s) == 0);
	CHECK(s->len == sizeof(key) && memcmp(s->data, key, sizeof(key)) == 0);
}

/* One failing secret_from_file(); returns the message. */
static char *secret_file_error(const char *path, bool passphrase)
{
	struct secret *s = NULL;
	int r;

	capture_begin();
	r = secret_from_file(path, passphrase, &s);
	if (r >= 0 || s)
		fprintf(stderr, "unexpected success");
	return capture_end();
}

static void test_secret_file_errors(void)
{
	_cleanup_free_ char *p = tmp_path("bad"), *missing = tmp_path("missing");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL,
			    *m6 = NULL, *m7 = NULL, *e = NULL;
	_cleanup_free_ char *big = xmalloc(SECRET_KEYFILE_MAX + 1);

	CHECK(write_str(p, "\n", 0600) == 0);
	m1 = secret_file_error(p, true);
	e = xasprintf("error: passphrase file '%s' is empty", p);
	CHECK_STREQ(m1, e);
	free(e);

	CHECK(write_str(p, "", 0600) == 0);
	m2 = secret_file_error(p, false);
	e = xasprintf("error: keyfile '%s' is empty", p);
	CHECK_STREQ(m2, e);
	free(e);

	m3 = secret_file_error(missing, true);
	e = xasprintf("error: cannot open passphrase file '%s': No such file or directory",
		      missing);
	CHECK_STREQ(m3, e);
	free(e);

	memset(big, 'a', SECRET_KEYFILE_MAX + 1);
	CHECK(write_data(p, big, SECRET_PASSPHRASE_MAX + 1, 0600) == 0);
	m4 = secret_file_error(p, true);
	e = xasprintf("error: passphrase file '%s' is larger than 8 KiB", p);
	CHECK_STREQ(m4, e);
	free(e);

	CHECK(write_data(p, big, SECRET_KEYFILE_MAX + 1, 0600) == 0);
	m5 = secret_file_error(p, false);
	e = xasprintf("error: keyfile '%s' is larger than 8 MiB", p);
	CHECK_STREQ(m5, e);
	free(e);

	CHECK(write_str(p, "two\nlines\n", 0600) == 0);
	m6 = secret_file_error(p, true);
	e = xasprintf("error: passphrase file '%s' holds more than one line (a passphrase is "
		      "one line)", p);
	CHECK_STREQ(m6, e);
	free(e);
	e = NULL;

	/* Never the content, not even in an error. */
	CHECK(write_str(p, "s3cr3t\n\n", 0600) == 0);
	m7 = secret_file_error(p, true);
	CHECK(!strstr(m7, "s3cr3t"));
}

static void test_secret_limits_exact(void)
{
	_cleanup_free_ char *p = tmp_path("limit");
	_cleanup_free_ char *big = xmalloc(SECRET_KEYFILE_MAX);
	_cleanup_(secret_freep) struct secret *a = NULL, *b = NULL;

	memset(big, 'b', SECRET_KEYFILE_MAX);
	CHECK(write_data(p, big, SECRET_PASSPHRASE_MAX, 0600) == 0);
	CHECK(secret_from_file(p, true, &a) == 0);
	CHECK(a->len == SECRET_PASSPHRASE_MAX);
	CHECK(write_data(p, big, SECRET_KEYFILE_MAX, 0600) == 0);
	CHECK(secret_from_file(p, false, &b) == 0);
	CHECK(b->len == SECRET_KEYFILE_MAX && b->data[SECRET_KEYFILE_MAX - 1] == 'b');
}

static void test_secret_group_readable(void)
{
	_cleanup_free_ char *p = tmp_path("pass-g"), *msg = NULL, *e = NULL;
	_cleanup_(secret_freep) struct secret *s = NULL;
	int r;

	CHECK(write_str(p, "pw\n", 0640) == 0);
	capture_begin();
	r = secret_from_file(p, true, &s);
	msg = capture_end();
	CHECK(r == 0 && s->len == 2);
	e = xasprintf("warning: passphrase file '%s' is readable by its group (mode 0640); "
		      "chmod go-r it", p);
	CHECK_STREQ(msg, e);
}

static void test_secret_env(void)
{
	_cleanup_(secret_freep) struct secret *s = NULL;
	_cleanup_free_ char *msg = NULL;
	int r;

	setenv("TEST_LUKS_PASS", "from env\n", 1);
	CHECK(secret_from_env("TEST_LUKS_PASS", &s) == 0);
	CHECK(s->len == 8 && memcmp(s->data, "from env", 8) == 0);
	CHECK(getenv("TEST_LUKS_PASS") == NULL);

	capture_begin();
	r = secret_from_env("TEST_LUKS_PASS", &s);
	msg = capture_end();
	CHECK(r == -EINVAL);
	CHECK_STREQ(msg, "error: environment variable 'TEST_LUKS_PASS' is not set");
}

static void test_secret_fd(void)
{
	_cleanup_(secret_freep) struct secret *s = NULL;
	int p[2];
	int r;

	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "piped\n", 6) == 6);
	close(p[1]);
	r = secret_from_fd(p[0], true, &s);
	close(p[0]);
	CHECK(r == 0);
	CHECK(s->len == 5 && memcmp(s->data, "piped", 5) == 0);
}

/* Grows past the first buffer: a keyfile through a pipe (no size known). */
static void test_secret_fd_large(void)
{
	_cleanup_(secret_freep) struct secret *s = NULL;
	_cleanup_free_ char *p = tmp_path("key-large");
	_cleanup_free_ uint8_t *data = xmalloc(100000);
	_cleanup_close_ int fd = -1;

	for (size_t i = 0; i < 100000; i++)
		data[i] = (uint8_t)(i * 7);
	CHECK(write_data(p, data, 100000, 0600) == 0);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(secret_from_fd(fd, false, &s) == 0);
	CHECK(s->len == 100000 && memcmp(s->data, data, 100000) == 0);
}

/* In a new session there is no controlling terminal: the prompt must say what to use. */
static void test_secret_prompt_no_tty(void)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		struct secret *s = NULL;
		char *msg;
		int r;

		setsid();
		capture_begin();
		r = secret_prompt("Passphrase: ", true, &s);
		msg = capture_end();
		if (r == -EINVAL && !s &&
		    startswith(msg, "error: cannot ask for the passphrase: no terminal (") &&
		    endswith(msg, "); give it with passphrase-file or --passphrase-fd"))
			_exit(0);
		fprintf(stderr, "  got: '%s'\n", msg);
		_exit(1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The VmFlags of the mapping holding addr, from /proc/self/smaps; NULL when not found. */
static char *vm_flags(const void *addr)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)addr;
	bool inside = false;
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = a >= lo && a < hi;
		else if (inside && startswith(line, "VmFlags:"))
			return xstrdup(line);
	}
	return NULL;
}

/* Secret pages are left out of core dumps, and locked when the limit allows. */
static void test_secret_memory(void)
{
	_cleanup_(secret_freep) struct secret *s = secret_new(100);
	_cleanup_free_ char *flags = vm_flags(s->data);
	struct rlimit rl;

	CHECK(s->len == 100 && s->data[99] == 0);
	CHECK(flags);
	CHECK(strstr(flags, " dd"));
	/* AddressSanitizer's mlock() locks nothing (it would lock the shadow memory too). */
#ifndef __SANITIZE_ADDRESS__
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur >= (1u << 20))
		CHECK(strstr(flags, " lo"));
#else
	(void)rl;
#endif
	CHECK(secret_free(NULL) == NULL);
}

/* ---- LUKS ---- */

static void test_format_names(void)
{
	CHECK(luks_format_from_string("luks2") == LUKS_FORMAT_LUKS2);
	CHECK(luks_format_from_string("plain") == LUKS_FORMAT_PLAIN);
	CHECK(luks_format_from_string("luks3") == -EINVAL);
	CHECK_STREQ(luks_format_to_string(LUKS_FORMAT_LUKS1), "luks1");
}

static void test_luks2(void)
{
	_cleanup_(secret_freep) struct secret *pass = str_secret(PASSPHRASE), *key = NULL;
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	_cleanup_free_ char *dump = NULL, *v = NULL, *wrong = NULL, *vk = NULL, *keyfile = NULL;
	uint8_t dumped[64];
	uint8_t keybytes[48];
	int status;

	for (size_t i = 0; i < sizeof(keybytes); i++)
		keybytes[i] = (uint8_t)(i * 37 + 1);
	key = secret_dup(keybytes, sizeof(keybytes));
	keyfile = tmp_path("keyfile");
	CHECK(write_data(keyfile, keybytes, sizeof(keybytes), 0600) == 0);

	struct luks_opts o = {
		.format = LUKS_FORMAT_LUKS2,
		.pbkdf_iter_ms = ITER_MS,
		.pbkdf_memory_kib = 32768,
		.label = "cryptroot",
		.uuid = test_uuid,
		.passphrase = pass,
		.keyfile = key,
	};
	CHECK(make_image(&o, &res) == 0);
	CHECK(res->data_offset == 16 * MiB);
	CHECK(res->sector_size == 4096 && res->key_bits == 512);
	CHECK_STREQ(res->cipher, "aes-xts-plain64");
	CHECK_STREQ(res->uuid, TEST_UUID);
	CHECK(res->volume_key->len == 64);
	CHECK(dir_is_empty(scratch_dir));

	dump = cryptsetup(&status, "luksDump %s/part.img", tmpdir);
	CHECK(status == 0);
	CHECK_STREQ((v = dump_field(dump, "Version")), "2");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "UUID")), TEST_UUID);
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Label")), "cryptroot");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "cipher")), "aes-xts-plain64");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "sector")), "4096 [bytes]");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "offset")), "16777216 [bytes]");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Cipher key")), "512 bits");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "PBKDF")), "argon2id");
	free(v);
	v = dump_field(dump, "Memory");
	CHECK(v && atoi(v) > 0 && atoi(v) <= 32768);
	free(v);
	v = NULL;
	CHECK(strstr(dump, "\n  0: luks2") && strstr(dump, "\n  1: luks2"));
	CHECK(!strstr(dump, "\n  2: luks2"));

	/* Both slots open; a wrong passphrase does not. The header alone is enough. */
	free(cryptsetup(&status, "open --test-passphrase --key-file %s/passfile %s/header.img",
			tmpdir, tmpdir));
	CHECK(status == 0);
	free(cryptsetup(&status, "open --test-passphrase --key-file %s %s/header.img", keyfile,
			tmpdir));
	CHECK(status == 0);
	wrong = tmp_path("wrongpass");
	CHECK(write_str(wrong, PASSPHRASE "!", 0600) == 0);
	free(cryptsetup(&status, "open --test-passphrase --key-file %s %s/header.img", wrong,
			tmpdir));
	CHECK(status != 0);

	vk = cryptsetup(&status, "luksDump --dump-volume-key --batch-mode --key-file %s/passfile "
			"%s/header.img", tmpdir, tmpdir);
	CHECK(status == 0);
	CHECK(parse_key_dump(vk, dumped, sizeof(dumped)) == 64);
	CHECK(memcmp(dumped, res->volume_key->data, 64) == 0);
}

static void test_luks1(void)
{
	_cleanup_(secret_freep) struct secret *pass = str_secret(PASSPHRASE);
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	_cleanup_free_ char *dump = NULL, *v = NULL, *vk = NULL;
	uint8_t dumped[64];
	int status;

	struct luks_opts o = {
		.format = LUKS_FORMAT_LUKS1,
		.pbkdf_iter_ms = ITER_MS,
		.uuid = test_uuid,
		.passphrase = pass,
	};
	CHECK(make_image(&o, &res) == 0);
	CHECK(res->data_offset == 2 * MiB);
	CHECK(res->sector_size == 512);
	CHECK_STREQ(res->cipher, "aes-xts-plain64");
	CHECK(dir_is_empty(scratch_dir));

	dump = cryptsetup(&status, "luksDump %s/part.img", tmpdir);
	CHECK(status == 0);
	CHECK_STREQ((v = dump_field(dump, "Version")), "1");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Cipher name")), "aes");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Cipher mode")), "xts-plain64");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "MK bits")), "512");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Payload offset")), "4096");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "UUID")), TEST_UUID);
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Key Slot 0")), "ENABLED");
	free(v);
	CHECK_STREQ((v = dump_field(dump, "Key Slot 1")), "DISABLED");
	free(v);
	v = NULL;

	free(cryptsetup(&status, "open --test-passphrase --key-file %s/passfile %s/header.img",
			tmpdir, tmpdir));
	CHECK(status == 0);
	vk = cryptsetup(&status, "luksDump --dump-volume-key --batch-mode --key-file %s/passfile "
			"%s/header.img", tmpdir, tmpdir);
	CHECK(status == 0);
	CHECK(parse_key_dump(vk, dumped, sizeof(dumped)) == 64);
	CHECK(memcmp(dumped, res->volume_key->data, 64) == 0);
}

/* A given volume key and a keyfile alone (slot 0); the bytes around the partition stay. */
static void test_luks2_given_key_keyfile_only(void)
{
	_cleanup_(secret_freep) struct secret *key = str_secret("a keyfile\n"), *vk = NULL;
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	_cleanup_free_ char *keyfile = tmp_path("keyfile2"), *dump = NULL, *img = NULL;
	_cleanup_free_ uint8_t *buf = xmalloc(PART_OFFSET);
	_cleanup_close_ int fd = -1;
	uint8_t bytes[32], dumped[32];
	int status;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0xa0 + i);
	vk = secret_dup(bytes, sizeof(bytes));
	CHECK(write_str(keyfile, "a keyfile\n", 0600) == 0);
	struct luks_opts o = {
		.format = LUKS_FORMAT_LUKS2,
		.key_bits = 256,
		.sector_size = 512,
		.pbkdf = "pbkdf2",
		.pbkdf_iter_ms = ITER_MS,
		.keyfile = key,
		.volume_key = vk,
	};
	CHECK(make_image(&o, &res) == 0);
	CHECK(res->volume_key->len == 32 && memcmp(res->volume_key->data, bytes, 32) == 0);
	CHECK(res->uuid && strlen(res->uuid) == 36);

	img = tmp_path("image.img");
	fd = open(img, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(pread_all(fd, buf, PART_OFFSET, 0) == 0);
	for (size_t i = 0; i < PART_OFFSET; i++)
		CHECK(buf[i] == 0);
	CHECK(pread_all(fd, buf, 6, PART_OFFSET) == 0);
	CHECK(memcmp(buf, "LUKS\xba\xbe", 6) == 0);

	dump = cryptsetup(&status, "luksDump --dump-volume-key --batch-mode --key-file %s "
			  "%s/header.img", keyfile, tmpdir);
	CHECK(status == 0);
	CHECK(parse_key_dump(dump, dumped, sizeof(dumped)) == 32);
	CHECK(memcmp(dumped, bytes, 32) == 0);
	free(dump);
	dump = cryptsetup(&status, "luksDump %s/header.img", tmpdir);
	CHECK(strstr(dump, "PBKDF:      pbkdf2") && strstr(dump, "sector: 512 [bytes]"));
}

/* cryptsetup 2.6's plain mode: key = RMD160(p) || RMD160("A" p) || RMD160("AA" p) ...,
 * cut to the key size (lib/crypt_plain.c, the "hashalot" scheme). */
static void plain_key(const char *pass, uint8_t *key, size_t len)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "RIPEMD160", NULL);

	for (unsigned round = 0; len; round++) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		uint8_t h[EVP_MAX_MD_SIZE];
		unsigned hn;

		EVP_DigestInit_ex(c, md, NULL);
		for (unsigned i = 0; i < round; i++)
			EVP_DigestUpdate(c, "A", 1);
		EVP_DigestUpdate(c, pass, strlen(pass));
		EVP_DigestFinal_ex(c, h, &hn);
		EVP_MD_CTX_free(c);
		hn = hn < len ? hn : (unsigned)len;
		memcpy(key, h, hn);
		key += hn;
		len -= hn;
	}
	EVP_MD_free(md);
}

static void test_plain(void)
{
	_cleanup_(secret_freep) struct secret *pass = str_secret(PASSPHRASE);
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	_cleanup_free_ char *hex = NULL;
	uint8_t expect[32];
	int status;

	EVP_MD *md = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
	if (!md) {
		printf("SKIP: test_plain: OpenSSL has no RIPEMD-160 here\n");
		return;
	}
	EVP_MD_free(md);

	struct luks_opts o = { .format = LUKS_FORMAT_PLAIN, .passphrase = pass };
	CHECK(luks_make(&o, scratch_dir, PART_SIZE, &res) == 0);
	CHECK(dir_is_empty(scratch_dir));
	CHECK(res->header == NULL && res->data_offset == 0 && res->uuid == NULL);
	CHECK_STREQ(res->cipher, "aes-cbc-essiv:sha256");
	CHECK(res->sector_size == 512 && res->key_bits == 256);
	CHECK(res->volume_key->len == 32);
	plain_key(PASSPHRASE, expect, sizeof(expect));
	CHECK(memcmp(res->volume_key->data, expect, 32) == 0);
	/* And the derivation above is RIPEMD-160 as openssl(1) computes it. */
	hex = shell(&status, "printf %%s '%s' | openssl dgst -ripemd160 -r", PASSPHRASE);
	CHECK(status == 0);
	for (size_t i = 0; i < 20; i++) {
		unsigned v;

		CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1 && v == expect[i]);
	}
	CHECK(luks_write_header(-1, 0, res) == 0);
}

/* One failing luks_make(); returns the message. */
static char *luks_error(const struct luks_opts *o, uint64_t size)
{
	struct luks_result *res = NULL;
	int r;

	capture_begin();
	r = luks_make(o, scratch_dir, size, &res);
	if (r >= 0 || res)
		fprintf(stderr, "unexpected success");
	return capture_end();
}

static void test_errors(void)
{
	_cleanup_(secret_freep) struct secret *pass = str_secret(PASSPHRASE);
	_cleanup_(secret_freep) struct secret *key = str_secret("k");
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL,
			    *m6 = NULL, *m7 = NULL, *m8 = NULL, *m9 = NULL;
	struct luks_opts o = { .passphrase = pass, .pbkdf_iter_ms = ITER_MS };

	o.cipher = "aes-xts-plain65";
	m1 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m1, "error: luks: unsupported cipher 'aes-xts-plain65' (supported: "
			"aes-xts-plain64, aes-cbc-essiv:sha256, aes-cbc-plain64)");
	o.cipher = NULL;

	o.key_bits = 384;
	m2 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m2, "error: luks: a 384-bit key does not fit cipher 'aes-xts-plain64' (key "
			"bits: 256, 512)");
	o.key_bits = 0;

	m3 = luks_error(&o, 16 * MiB);
	CHECK_STREQ(m3, "error: luks: the partition (16 MiB) is too small for a luks2 header "
			"(16 MiB) and a filesystem: it needs at least 17 MiB");

	o.format = LUKS_FORMAT_LUKS1;
	o.sector_size = 4096;
	m4 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m4, "error: luks: sector size 4096 is not valid for luks1 (512 only)");
	o.sector_size = 0;
	o.pbkdf = "argon2id";
	m5 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m5, "error: luks: luks1 supports pbkdf2 only, not 'argon2id'");
	o.pbkdf = NULL;

	o.format = LUKS_FORMAT_PLAIN;
	o.keyfile = key;
	m6 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m6, "error: luks: plain mode takes a passphrase, not a keyfile");
	o.keyfile = NULL;

	o.format = LUKS_FORMAT_LUKS2;
	o.passphrase = NULL;
	m7 = luks_error(&o, PART_SIZE);
	CHECK_STREQ(m7, "error: luks: luks2 needs a passphrase or a keyfile");
	o.passphrase = pass;

	o.label = "a label far too long for the forty-seven bytes luks2 has";
	m8 = luks_error(&o, PART_SIZE);
	CHECK(startswith(m8, "error: luks: label '") && endswith(m8, "' is longer than 47 bytes"));
	o.label = NULL;

	/* A failure inside libcryptsetup, after the scratch file exists: its reason, once,
	 * and the scratch file gone. */
	o.format = LUKS_FORMAT_PLAIN;
	o.plain_hash = "nohash";
	m9 = luks_error(&o, PART_SIZE);
	CHECK(startswith(m9, "error: luks: "));
	CHECK(!strchr(m9, '\n'));
	CHECK(dir_is_empty(scratch_dir));
}

static void test_scratch_dir_missing(void)
{
	_cleanup_(secret_freep) struct secret *pass = str_secret(PASSPHRASE);
	_cleanup_free_ char *dir = tmp_path("nodir"), *msg = NULL, *e = NULL;
	struct luks_result *res = NULL;
	struct luks_opts o = { .passphrase = pass, .pbkdf_iter_ms = ITER_MS };
	int r;

	capture_begin();
	r = luks_make(&o, dir, PART_SIZE, &res);
	msg = capture_end();
	CHECK(r == -ENOENT && !res);
	e = xasprintf("error: luks: cannot create a scratch file in '%s': No such file or "
		      "directory", dir);
	CHECK_STREQ(msg, e);
}

int main(void)
{
	_cleanup_free_ char *passfile = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-luks.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("setup");
		return 1;
	}
	scratch_dir = tmp_path("scratch");
	passfile = tmp_path("passfile");
	if (mkdir(scratch_dir, 0700) < 0 || write_str(passfile, PASSPHRASE, 0600) < 0) {
		perror("setup");
		return 1;
	}

	RUN_TEST(test_secret_memory);
	RUN_TEST(test_secret_passphrase_file);
	RUN_TEST(test_secret_keyfile_exact);
	RUN_TEST(test_secret_file_errors);
	RUN_TEST(test_secret_limits_exact);
	RUN_TEST(test_secret_group_readable);
	RUN_TEST(test_secret_env);
	RUN_TEST(test_secret_fd);
	RUN_TEST(test_secret_fd_large);
	RUN_TEST(test_secret_prompt_no_tty);
	RUN_TEST(test_format_names);
	RUN_TEST(test_luks2);
	RUN_TEST(test_luks1);
	RUN_TEST(test_luks2_given_key_keyfile_only);
	RUN_TEST(test_plain);
	RUN_TEST(test_errors);
	RUN_TEST(test_scratch_dir_missing);

	if (!getenv("TEST_LUKS_KEEP"))
		run("rm -rf %s", tmpdir);
	free(scratch_dir);
	CHECK_EXIT();
}
