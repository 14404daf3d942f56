// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/cryptio.c. The expected ciphertexts come from elsewhere: the cryptsetup
 * command decrypts what we encrypted and encrypts what we decrypt (offline reencryption on a
 * detached header, unprivileged, no device-mapper), and a second ESSIV implementation written
 * here from OpenSSL primitives. Filesystems written through the channel are decrypted by
 * cryptsetup and checked with e2fsck and debugfs. */
#include "cryptio.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "capture.h"
#include "check.h"
#include "helpers.h"
#include "util.h"

#define MIB (1024u * 1024u)
#define PASS "test passphrase"


/* ---- helpers ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A deterministic pattern that differs in every 16-byte block. */
static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static int write_file(const char *path, const void *data, size_t n)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	return pwrite_all(fd, data, n, 0);
}

static uint8_t *slurp(const char *path, size_t *ret_size)
{
	char *data = NULL;
	size_t size = 0;

	if (read_file(path, 256u << 20, &data, &size) < 0)
		return NULL;
	*ret_size = size;
	return (uint8_t *)data;
}

struct luks_case {
	const char *type; /* luks1 or luks2 */
	const char *spec; /* the dm-crypt cipher spec */
	unsigned key_bits, sector_size;
};

/* The cryptsetup options that make a header of the given type for c, with the volume key in
 * key_path. */
static char *luks_options(const struct luks_case *c, const char *type, const char *key_path)
{
	_cleanup_free_ char *sector = streq(type, "luks2") ?
					      xasprintf("--sector-size %u", c->sector_size) :
					      xstrdup("");

	return xasprintf("--type %s --cipher %s --key-size %u %s --volume-key-file %s "
			 "--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file %s/pass "
			 "--batch-mode -q",
			 type, c->spec, c->key_bits, sector, key_path, tmpdir);
}

/* Decrypts data_path in place with cryptsetup, through a detached header made for key (data
 * at offset 0). Offline reencryption of LUKS1 needs device-mapper: a LUKS1 header is
 * converted to LUKS2 first, which keeps its cipher, key and 512-byte sectors. */
static int cs_decrypt(const struct luks_case *c, const char *key_path, const char *data_path)
{
	_cleanup_free_ char *hdr = tmp_path("hdr-dec"), *opts = luks_options(c, c->type, key_path);

	unlink(hdr);
	if (run("cryptsetup luksFormat %s --header %s %s", opts, hdr, data_path) != 0)
		return -1;
	if (streq(c->type, "luks1") &&
	    run("cryptsetup convert --type luks2 --header %s --batch-mode -q %s 2>/dev/null", hdr,
		hdr) != 0)
		return -1;
	return run("cryptsetup reencrypt --decrypt --header %s --disable-locks "
		   "--force-offline-reencrypt --key-file %s/pass --batch-mode -q %s",
		   hdr, tmpdir, data_path);
}

/* Encrypts data_path in place with cryptsetup (a detached header, data at offset 0). For
 * LUKS1 (whose reencryption needs device-mapper), LUKS2 with 512-byte sectors: the same data
 * format. */
static int cs_encrypt(const struct luks_case *c, const char *key_path, const char *data_path)
{
	_cleanup_free_ char *hdr = tmp_path("hdr-enc"), *opts = luks_options(c, "luks2", key_path);

	unlink(hdr);
	return run("cryptsetup reencrypt --encrypt %s --header %s --disable-locks "
		   "--force-offline-reencrypt %s",
		   opts, hdr, data_path);
}

/* ---- known answers from cryptsetup ---- */

static void check_luks(const struct luks_case *c)
{
	const size_t size = 2 * MIB;
	_cleanup_free_ char *key_path = tmp_path("key"), *data_path = tmp_path("data");
	_cleanup_free_ uint8_t *plain = xmalloc(size), *buf = xmalloc(size), *back = NULL;
	_cleanup_cryptio_cipher_ struct cryptio_cipher *ci = NULL;
	uint8_t key[64];
	size_t n = 0;

	fill_pattern(key, sizeof(key), c->key_bits + c->sector_size);
	fill_pattern(plain, size, 7);
	CHECK(write_file(key_path, key, c->key_bits / 8) == 0);
	CHECK(cryptio_cipher_new(c->spec, key, c->key_bits / 8, c->sector_size, &ci) == 0);

	/* ours -> cryptsetup */
	memcpy(buf, plain, size);
	CHECK(cryptio_encrypt(ci, buf, size, 0) == 0);
	CHECK(memcmp(buf, plain, size) != 0);
	CHECK(write_file(data_path, buf, size) == 0);
	CHECK(cs_decrypt(c, key_path, data_path) == 0);
	back = slurp(data_path, &n);
	CHECK(back && n == size);
	CHECK(memcmp(back, plain, size) == 0);
	free(TAKE_PTR(back));

	/* cryptsetup -> ours */
	CHECK(write_file(data_path, plain, size) == 0);
	CHECK(cs_encrypt(c, key_path, data_path) == 0);
	back = slurp(data_path, &n);
	CHECK(back && n == size);
	CHECK(memcmp(back, buf, size) == 0); /* the same ciphertext both ways */
	CHECK(cryptio_decrypt(ci, back, size, 0) == 0);
	CHECK(memcmp(back, plain, size) == 0);
}

static void test_luks2_xts512_4096(void)
{
	check_luks(&(struct luks_case){ "luks2", "aes-xts-plain64", 512, 4096 });
}

static void test_luks2_xts512_512(void)
{
	check_luks(&(struct luks_case){ "luks2", "aes-xts-plain64", 512, 512 });
}

static void test_luks2_xts256_2048(void)
{
	check_luks(&(struct luks_case){ "luks2", "aes-xts-plain64", 256, 2048 });
}

static void test_luks1_xts512(void)
{
	check_luks(&(struct luks_case){ "luks1", "aes-xts-plain64", 512, 512 });
}

static void test_luks1_cbc_essiv(void)
{
	check_luks(&(struct luks_case){ "luks1", "aes-cbc-essiv:sha256", 256, 512 });
}

static void test_luks2_cbc_essiv_4096(void)
{
	check_luks(&(struct luks_case){ "luks2", "aes-cbc-essiv:sha256", 128, 4096 });
}

static void test_luks2_cbc_plain64_1024(void)
{
	check_luks(&(struct luks_case){ "luks2", "aes-cbc-plain64", 192, 1024 });
}

/* ---- ESSIV, written again from the definition ---- */

/* AES-CBC of one sector with IV = AES-256_{SHA-256(key)}(le64(iv_sector) || 0^8). */
static bool essiv_reference(const uint8_t *key, int key_len, uint64_t iv_sector,
			    const uint8_t *in, uint8_t *out, int len)
{
	const EVP_CIPHER *cbc = key_len == 16 ? EVP_aes_128_cbc() :
				key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	uint8_t salt[32], block[16] = { 0 }, iv[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned salt_len;
	int n, m;
	bool ok;

	for (int i = 0; i < 8; i++)
		block[i] = (uint8_t)(iv_sector >> (8 * i));
	ok = EVP_Digest(key, (size_t)key_len, salt, &salt_len, EVP_sha256(), NULL) &&
	     EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, salt, NULL) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_EncryptUpdate(ctx, iv, &n, block, 16) &&
	     EVP_EncryptInit_ex(ctx, cbc, NULL, key, iv) && EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, out, &n, in, len) && EVP_EncryptFinal_ex(ctx, out + n, &m) &&
	     n + m == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static void test_essiv_reference(void)
{
	static const unsigned sizes[] = { 512, 4096 };
	static const int key_lens[] = { 16, 32 };
	uint8_t key[32], plain[4 * 4096], ours[sizeof(plain)], ref[4096];

	fill_pattern(plain, sizeof(plain), 3);
	for (unsigned k = 0; k < ARRAY_SIZE(key_lens); k++) {
		for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++) {
			_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
			unsigned ss = sizes[s];
			uint64_t base = 1000ull * ss; /* a segment offset far from 0 */

			fill_pattern(key, sizeof(key), 11 + k);
			CHECK(cryptio_cipher_new("aes-cbc-essiv:sha256", key,
						 (size_t)key_lens[k], ss, &c) == 0);
			memcpy(ours, plain, sizeof(plain));
			CHECK(cryptio_encrypt(c, ours, 4 * ss, base) == 0);
			for (unsigned i = 0; i < 4; i++) {
				/* The IV counts 512-byte units, whatever the sector size. */
				CHECK(essiv_reference(key, key_lens[k], (base + i * ss) / 512,
						      plain + i * ss, ref, (int)ss));
				CHECK(memcmp(ours + i * ss, ref, ss) == 0);
			}
			CHECK(cryptio_decrypt(c, ours, 4 * ss, base) == 0);
			CHECK(memcmp(ours, plain, 4 * ss) == 0);
		}
	}
}

static void test_cipher_errors(void)
{
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	_cleanup_free_ char *msg = NULL;
	uint8_t key[64], buf[8192] = { 0 };

	fill_pattern(key, sizeof(key), 5);
	capture_begin();
	CHECK(cryptio_cipher_new("twofish-xts-plain64", key, 64, 4096, &c) == -EINVAL);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 48, 4096, &c) == -EINVAL);
	CHECK(cryptio_cipher_new("aes-cbc-essiv:sha256", key, 64, 512, &c) == -EINVAL);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 8192, &c) == -EINVAL);
	memset(key + 32, 0, 32);
	memset(key, 0, 32);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 512, &c) == -EINVAL);
	fill_pattern(key, sizeof(key), 5);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) == 0);
	CHECK(cryptio_encrypt(c, buf, 4096, 512) == -EINVAL);
	CHECK(cryptio_encrypt(c, buf, 1024, 0) == -EINVAL);
	msg = capture_end();
	CHECK(strstr(msg, "error: cryptio: cipher 'twofish-xts-plain64' is not supported"));
	CHECK(strstr(msg, "error: cryptio: a 384-bit key does not fit 'aes-xts-plain64'"));
	CHECK(strstr(msg, "error: cryptio: sector size 8192 is not 512, 1024, 2048 or 4096"));
	CHECK(strstr(msg, "error: cryptio: OpenSSL refused the key for 'aes-xts-plain64'"));
	CHECK(strstr(msg, "error: cryptio: 4096 bytes at offset 512 are not whole 4096-byte "
			  "sectors"));
}

/* ---- the I/O channel ---- */

struct chan {
	char *name;
	io_channel io;
};

static void chan_close(struct chan *ch)
{
	if (ch->io)
		io_channel_close(ch->io);
	cryptio_manager_unregister(ch->name);
	free(ch->name);
	*ch = (struct chan){ 0 };
}

static int chan_open(const char *path, uint64_t seg_off, uint64_t seg_size,
		     struct cryptio_cipher *c, struct chan *ret)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	io_manager m;
	char *name;

	if (fd < 0 || cryptio_manager_register(fd, seg_off, seg_size, c, &m, &name) < 0)
		return -1;
	if (m->open(name, IO_FLAG_RW, &ret->io) != 0) {
		cryptio_manager_unregister(name);
		free(name);
		return -1;
	}
	ret->name = name;
	return 0;
}

/* The segment's plaintext, decrypted from the file without the channel. */
static uint8_t *segment_plain(const char *path, uint64_t seg_off, size_t seg_size,
			      struct cryptio_cipher *c)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *p = xmalloc(seg_size);

	if (fd < 0 || pread_all(fd, p, seg_size, seg_off) < 0 ||
	    cryptio_decrypt(c, p, seg_size, 0) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A file of file_size bytes at path, filled as the shred stage fills an encrypted partition
 * (from key); its bytes and the plaintext of its segment. */
static bool seg_prepare(const char *path, size_t file_size, uint64_t seg_off, size_t seg_size,
			struct cryptio_cipher *c, const uint8_t *key, uint8_t **ret_before,
			uint8_t **ret_model)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = 0;

	if (fd < 0 || cryptio_fill_random(fd, 0, file_size, key) < 0)
		return false;
	*ret_before = slurp(path, &n);
	*ret_model = segment_plain(path, seg_off, seg_size, c);
	return *ret_before && n == file_size && *ret_model;
}

/* After the channel is closed: the file kept its size, nothing outside the segment changed
 * and no block of the model's plaintext is in it. Returns the file's bytes, NULL (saying
 * why) otherwise. */
static uint8_t *seg_check_outside(const char *path, const uint8_t *before, const uint8_t *model,
				  size_t file_size, uint64_t seg_off, size_t seg_size)
{
	size_t n = 0;
	uint8_t *after = slurp(path, &n);
	const char *why = NULL;

	if (!after || n != file_size)
		why = "the file's size changed";
	else if (memcmp(after, before, seg_off) != 0 ||
		 memcmp(after + seg_off + seg_size, before + seg_off + seg_size,
			file_size - seg_off - seg_size) != 0)
		why = "bytes outside the segment changed";
	for (size_t off = 0; !why && off < seg_size; off += 4096)
		if (memcmp(after + seg_off + off, model + off, 4096) == 0)
			why = "a plaintext block is in the segment";
	if (why) {
		fprintf(stderr, "  %s: %s\n", path, why);
		free(after);
		return NULL;
	}
	return after;
}

/* Random reads and writes of every shape against a model of the plaintext. */
static void test_channel_unaligned(void)
{
	const uint64_t seg_off = MIB + 512, fs_off = 3000;
	const size_t seg_size = 512 * 1024, file_size = MIB + 512 + 512 * 1024 + 8192;
	static const int block_sizes[] = { 1024, 4096, 2048, 512 };
	_cleanup_free_ char *path = tmp_path("chan.img");
	_cleanup_free_ uint8_t *before = NULL, *after = NULL, *model = NULL, *buf = NULL,
			       *data = xmalloc(64 * 1024);
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	struct chan ch = { 0 };
	uint8_t key[64];
	uint32_t x = 12345;

	fill_pattern(key, sizeof(key), 21);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) == 0);
	CHECK(seg_prepare(path, file_size, seg_off, seg_size, c, key, &before, &model));

	CHECK(chan_open(path, seg_off, seg_size, c, &ch) == 0);
	CHECK(io_channel_set_options(ch.io, "offset=3000") == 0);
	buf = xmalloc(64 * 1024);
	for (int i = 0; i < 2000; i++) {
		int bs = block_sizes[i % ARRAY_SIZE(block_sizes)], op, count;
		uint64_t pos, block, len;
		errcode_t err;

		x = x * 1103515245u + 12345u;
		op = (int)(x >> 16) % 6;
		x = x * 1103515245u + 12345u;
		CHECK(io_channel_set_blksize(ch.io, bs) == 0);
		if (op <= 2) {
			/* whole blocks (count > 0), or a byte count (count < 0) from a block */
			count = 1 + (int)((x >> 16) % (op == 0 ? 8 : 16));
			len = op == 0 ? (uint64_t)count * bs : (uint64_t)count * 1000 + (x & 511);
			block = (x >> 8) % ((seg_size - fs_off - len) / bs);
			pos = fs_off + block * bs;
			fill_pattern(data, len, x);
			if (op == 2) {
				err = io_channel_read_blk64(ch.io, block, -(int)len, buf);
				CHECK(err == 0);
				CHECK(memcmp(buf, model + pos, len) == 0);
			} else {
				err = io_channel_write_blk64(ch.io, block,
							     op == 0 ? count : -(int)len, data);
				CHECK(err == 0);
				memcpy(model + pos, data, len);
			}
		} else if (op == 3) {
			/* any byte offset */
			len = 1 + (x >> 16) % 9000;
			pos = (x * 7919u) % (seg_size - fs_off - len);
			fill_pattern(data, len, x + 1);
			err = io_channel_write_byte(ch.io, (unsigned long)pos, (int)len, data);
			CHECK(err == 0);
			memcpy(model + fs_off + pos, data, len);
		} else if (op == 4) {
			count = 1 + (int)((x >> 16) % 5);
			block = (x >> 4) % ((seg_size - fs_off) / bs - (uint64_t)count);
			CHECK(io_channel_zeroout(ch.io, block, (unsigned long long)count) == 0);
			memset(model + fs_off + block * bs, 0, (size_t)count * bs);
		} else {
			/* the 32-bit entry points */
			count = 1 + (int)((x >> 16) % 4);
			block = (x >> 4) % ((seg_size - fs_off) / bs - (uint64_t)count);
			CHECK(io_channel_read_blk(ch.io, (unsigned long)block, count, buf) == 0);
			CHECK(memcmp(buf, model + fs_off + block * bs, (size_t)count * bs) == 0);
		}
	}
	CHECK(io_channel_flush(ch.io) == 0);
	chan_close(&ch);

	/* The segment decrypts to the model; nothing outside it changed. */
	free(buf);
	buf = segment_plain(path, seg_off, seg_size, c);
	CHECK(buf);
	CHECK(memcmp(buf, model, seg_size) == 0);
	after = seg_check_outside(path, before, model, file_size, seg_off, seg_size);
	CHECK(after);
}

/* Large writes go straight into mapped windows of the segment (32 MiB each, the next one
 * faulted in meanwhile). Writes of every size across window boundaries, at a segment offset
 * that is not page-aligned, against a model; the file read while the windows are mapped,
 * and the segment decrypted by cryptsetup at the end. */
static void test_channel_mapped(void)
{
	const uint64_t seg_off = MIB + 512;
	const size_t seg_size = 72 * MIB + 12288, file_size = MIB + 512 + seg_size + 8192,
		     max = 6 * MIB;
	const struct luks_case lc = { "luks2", "aes-xts-plain64", 512, 4096 };
	_cleanup_free_ char *path = tmp_path("mapped.img"), *seg_path = tmp_path("mapped.seg"),
			    *key_path = tmp_path("mapped.key");
	_cleanup_free_ uint8_t *before = NULL, *after = NULL, *model = NULL, *buf = NULL,
			       *data = xmalloc(max), *back = NULL;
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	struct chan ch = { 0 };
	uint8_t key[64];
	uint32_t x = 777;
	uint64_t seq = 0;
	size_t n;

	fill_pattern(key, sizeof(key), 61);
	CHECK(write_file(key_path, key, sizeof(key)) == 0);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) == 0);
	CHECK(seg_prepare(path, file_size, seg_off, seg_size, c, key, &before, &model));

	CHECK(chan_open(path, seg_off, seg_size, c, &ch) == 0);
	CHECK(io_channel_set_blksize(ch.io, 4096) == 0);
	buf = xmalloc(max);
	for (int i = 0; i < 400; i++) {
		uint64_t pos, len;
		int op;

		x = x * 1103515245u + 12345u;
		op = (int)(x >> 16) % 5;
		x = x * 1103515245u + 12345u;
		if (op == 0 || op == 1) {
			/* large: sequential runs (op 0) or anywhere (op 1) */
			len = (1 + (x >> 16) % (max / 4096)) * 4096;
			if (len < MIB)
				len += MIB;
			pos = op == 0 ? seq : ((x >> 4) % ((seg_size - len) / 4096)) * 4096;
			if (pos + len > seg_size)
				pos = 0;
			seq = pos + len;
			fill_pattern(data, len, x);
			CHECK(io_channel_write_blk64(ch.io, pos / 4096, (int)(len / 4096), data) ==
			      0);
			memcpy(model + pos, data, len);
		} else if (op == 2) {
			/* small whole blocks, often inside a mapped window */
			len = (1 + (x >> 16) % 16) * 4096;
			pos = seq + ((x >> 8) % 64) * 4096;
			if (pos + len > seg_size)
				pos = 0;
			fill_pattern(data, len, x);
			CHECK(io_channel_write_blk64(ch.io, pos / 4096, (int)(len / 4096), data) ==
			      0);
			memcpy(model + pos, data, len);
		} else if (op == 3) {
			/* bytes at any offset */
			len = 1 + (x >> 16) % 9000;
			pos = (x * 7919u) % (seg_size - len);
			fill_pattern(data, len, x + 1);
			CHECK(io_channel_write_byte(ch.io, (unsigned long)pos, (int)len, data) == 0);
			memcpy(model + pos, data, len);
		} else {
			len = 1 + (x >> 16) % max;
			pos = (x * 7919u) % (seg_size - len);
			CHECK(io_channel_read_blk64(ch.io, 0, 0, buf) == 0);
			CHECK(io_channel_read_blk64(ch.io, pos / 4096,
						    -(int)(len + pos % 4096), buf) == 0);
			CHECK(memcmp(buf + pos % 4096, model + pos, len) == 0);
		}
	}
	/* Another descriptor sees the mapped writes before the channel is closed. */
	free(buf);
	buf = segment_plain(path, seg_off, seg_size, c);
	CHECK(buf && memcmp(buf, model, seg_size) == 0);
	CHECK(io_channel_flush(ch.io) == 0);
	chan_close(&ch);

	/* Nothing outside the segment changed; no plaintext block is in it; cryptsetup
	 * decrypts it to the model. */
	after = seg_check_outside(path, before, model, file_size, seg_off, seg_size);
	CHECK(after);
	CHECK(write_file(seg_path, after + seg_off, seg_size) == 0);
	CHECK(cs_decrypt(&lc, key_path, seg_path) == 0);
	back = slurp(seg_path, &n);
	CHECK(back && n == seg_size && memcmp(back, model, seg_size) == 0);
}

static void test_channel_bounds(void)
{
	const uint64_t seg_off = 4096;
	const size_t seg_size = 64 * 1024, file_size = 4096 + 64 * 1024 + 4096;
	_cleanup_free_ char *path = tmp_path("bounds.img"), *msg = NULL;
	_cleanup_free_ uint8_t *before = NULL, *after = NULL, *plain = NULL;
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t key[32], buf[8192];
	struct chan ch = { 0 };
	io_channel bad;
	io_manager m;
	char *name;
	size_t n;

	fill_pattern(key, sizeof(key), 31);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 32, 4096, &c) == 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(cryptio_fill_random(fd, 0, file_size, NULL) == 0);
	before = slurp(path, &n);
	CHECK(before && n == file_size);
	CHECK(chan_open(path, seg_off, seg_size, c, &ch) == 0);

	fill_pattern(buf, sizeof(buf), 1);
	CHECK(io_channel_set_blksize(ch.io, 4096) == 0);
	capture_begin();
	/* the last block fits, one more does not */
	CHECK(io_channel_write_blk64(ch.io, 15, 1, buf) == 0);
	CHECK(io_channel_write_blk64(ch.io, 15, 2, buf) == ENOSPC);
	CHECK(io_channel_write_blk64(ch.io, 16, 1, buf) == ENOSPC);
	CHECK(io_channel_write_byte(ch.io, 64 * 1024 - 10, 11, buf) == ENOSPC);
	CHECK(io_channel_read_blk64(ch.io, 15, 2, buf) == ENOSPC);
	CHECK(io_channel_zeroout(ch.io, 14, 3) == ENOSPC);
	CHECK(io_channel_set_options(ch.io, "offset=-1") != 0);
	CHECK(io_channel_set_options(ch.io, "cache=off") != 0);
	CHECK(ch.io->manager->open("cryptio:nope", IO_FLAG_RW, &bad) == EXT2_ET_BAD_DEVICE_NAME);
	msg = capture_end();
	CHECK(strstr(msg, "error: cryptio: cannot write 8192 bytes at offset 61440 of 'cryptio:"));
	CHECK(strstr(msg, "': past the end of the encrypted segment (65536 bytes)"));
	CHECK(strstr(msg, "error: cryptio: cannot read 8192 bytes at offset 61440"));
	CHECK(strstr(msg, "error: cryptio: no encrypted segment registered as 'cryptio:nope'"));

	/* zeroout: the plaintext reads zeros, the file does not hold them */
	CHECK(io_channel_set_blksize(ch.io, 1024) == 0);
	CHECK(io_channel_zeroout(ch.io, 3, 6) == 0); /* 3 KiB to 9 KiB: partial sectors */
	memset(buf, 0xff, sizeof(buf));
	CHECK(io_channel_read_blk64(ch.io, 3, 6, buf) == 0);
	CHECK(all_zero(buf, 6 * 1024));
	chan_close(&ch);

	plain = segment_plain(path, seg_off, seg_size, c);
	CHECK(plain);
	CHECK(all_zero(plain + 3 * 1024, 6 * 1024));
	CHECK(!all_zero(plain + 2 * 1024, 1024) && !all_zero(plain + 9 * 1024, 1024));
	after = slurp(path, &n);
	CHECK(after && n == file_size);
	for (size_t off = seg_off; off < seg_off + 12 * 1024; off += 512)
		CHECK(!all_zero(after + off, 512));
	CHECK(memcmp(after, before, seg_off) == 0);
	CHECK(memcmp(after + seg_off + seg_size, before + seg_off + seg_size, 4096) == 0);

	/* a segment that is not whole sectors */
	capture_begin();
	CHECK(cryptio_manager_register(fd, 0, 1000, c, &m, &name) == -EINVAL);
	free(msg);
	msg = capture_end();
	CHECK_STREQ(msg, "error: cryptio: the encrypted segment (1000 bytes) is not a whole number "
			 "of 4096-byte sectors");
}

/* A fresh image shorter than the segment: what lies past its end reads as ciphertext zeros
 * (as through dm-crypt over a sparse file), and writing there extends the file. */
static void test_channel_sparse(void)
{
	_cleanup_free_ char *path = tmp_path("sparse.img");
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t key[64], data[3000], buf[8192];
	_cleanup_free_ uint8_t *big = NULL, *back = NULL;
	struct chan ch = { 0 };
	struct stat st;

	fill_pattern(key, sizeof(key), 41);
	fill_pattern(data, sizeof(data), 42);
	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) == 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, MIB) == 0);
	CHECK(chan_open(path, MIB, 4 * MIB, c, &ch) == 0);
	CHECK(io_channel_set_blksize(ch.io, 1024) == 0);
	/* A large write where the file is shorter than the segment: it cannot be mapped (that
	 * would fault), so it is written, and the file grows. */
	big = xmalloc(MIB);
	fill_pattern(big, MIB, 43);
	CHECK(io_channel_write_blk64(ch.io, 3072, 1024, big) == 0);
	back = xmalloc(MIB);
	CHECK(io_channel_read_blk64(ch.io, 3072, 1024, back) == 0);
	CHECK(memcmp(back, big, MIB) == 0);
	CHECK(pread_all(fd, back, MIB, 4 * MIB) == 0 &&
	      cryptio_decrypt(c, back, MIB, 3 * MIB) == 0);
	CHECK(memcmp(back, big, MIB) == 0);
	CHECK(io_channel_read_blk64(ch.io, 100, 8, buf) == 0);
	CHECK(cryptio_encrypt(c, buf, 8192, 100 * 1024) == 0);
	CHECK(all_zero(buf, 8192)); /* ciphertext zeros, decrypted and encrypted again */
	CHECK(io_channel_write_byte(ch.io, 2 * MIB + 100, (int)sizeof(data), data) == 0);
	CHECK(io_channel_read_blk64(ch.io, 2048, -(int)(100 + sizeof(data)), buf) == 0);
	CHECK(memcmp(buf + 100, data, sizeof(data)) == 0);
	chan_close(&ch);
	CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == 5 * MIB);
}

/* ---- libext2fs over the channel ---- */

#define MARKER "mkbootmedia-cryptio-marker: the quick brown fox"

static errcode_t write_file_ext2(ext2_filsys fs, ext2_ino_t dir, const char *name,
				 const void *data, unsigned size)
{
	struct ext2_inode inode = { 0 };
	ext2_file_t file;
	ext2_ino_t ino;
	unsigned written;
	errcode_t err;

	err = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | 0644, NULL, &ino);
	if (err)
		return err;
	do {
		err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
		if (err == EXT2_ET_DIR_NO_SPACE) {
			err = ext2fs_expand_dir(fs, dir);
			if (!err)
				err = EXT2_ET_DIR_NO_SPACE;
		}
	} while (err == EXT2_ET_DIR_NO_SPACE);
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	inode.i_mode = LINUX_S_IFREG | 0644;
	inode.i_links_count = 1;
	inode.i_atime = inode.i_ctime = inode.i_mtime = (uint32_t)fs->now;
	err = ext2fs_write_new_inode(fs, ino, &inode);
	if (err)
		return err;
	err = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &file);
	if (err)
		return err;
	err = ext2fs_file_write(file, data, size, &written);
	if (!err && written != size)
		err = EXT2_ET_SHORT_WRITE;
	if (err) {
		ext2fs_file_close(file);
		return err;
	}
	return ext2fs_file_close(file);
}

/* A plain ext2 filesystem made with the library alone, with /dir/file holding data. */
static errcode_t mkfs_cryptio(io_manager m, const char *name, unsigned bs, uint64_t size,
			      const void *data, unsigned data_size)
{
	struct ext2_super_block param = { 0 };
	ext2_filsys fs = NULL;
	ext2_ino_t dir;
	errcode_t err;

	param.s_log_block_size = (uint32_t)(__builtin_ctz(bs) - 10);
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_inode_size = 256;
	param.s_inodes_count = (uint32_t)(size / 8192);
	ext2fs_blocks_count_set(&param, size / bs);
	ext2fs_set_feature_sparse_super(&param);
	ext2fs_set_feature_large_file(&param);
	ext2fs_set_feature_filetype(&param);
	ext2fs_set_feature_dir_index(&param);

	err = ext2fs_initialize(name, EXT2_FLAG_64BITS, &param, m, &fs);
	if (err)
		return err;
	fs->now = 1700000000;
	memset(fs->super->s_uuid, 0x42, 16);
	memset(fs->super->s_hash_seed, 0x17, 16);
	fs->super->s_def_hash_version = EXT2_HASH_HALF_MD4;
	err = ext2fs_allocate_tables(fs);
	if (!err)
		err = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
	for (dgrp_t g = 0; !err && g < fs->group_desc_count; g++) {
		/* never-written sectors decrypt to garbage: the inode tables must be written */
		err = ext2fs_zero_blocks2(fs, ext2fs_inode_table_loc(fs, g),
					  (int)fs->inode_blocks_per_group, NULL, NULL);
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}
	if (!err)
		err = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL);
	if (!err)
		err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
	for (ext2_ino_t i = EXT2_ROOT_INO + 1; !err && i < EXT2_FIRST_INODE(fs->super); i++)
		ext2fs_inode_alloc_stats2(fs, i, +1, 0);
	if (!err) {
		ext2fs_mark_ib_dirty(fs);
		ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
		ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
		err = ext2fs_update_bb_inode(fs, NULL);
	}
	if (!err)
		err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "dir");
	if (!err)
		err = ext2fs_lookup(fs, EXT2_ROOT_INO, "dir", 3, NULL, &dir);
	if (!err)
		err = write_file_ext2(fs, dir, "file", data, data_size);
	if (err) {
		ext2fs_free(fs);
		return err;
	}
	return ext2fs_close_free(&fs);
}

static errcode_t read_back(io_manager m, const char *name, void *buf, unsigned size)
{
	ext2_filsys fs = NULL;
	ext2_file_t file;
	ext2_ino_t ino;
	unsigned got = 0;
	errcode_t err;

	err = ext2fs_open2(name, NULL, 0, 0, 0, m, &fs);
	if (err)
		return err;
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, "dir/file", &ino);
	if (!err)
		err = ext2fs_file_open(fs, ino, 0, &file);
	if (!err) {
		err = ext2fs_file_read(file, buf, size, &got);
		ext2fs_file_close(file);
		if (!err && got != size)
			err = EXT2_ET_SHORT_READ;
	}
	ext2fs_close_free(&fs);
	return err;
}

static void check_ext2(unsigned bs)
{
	const uint64_t seg_off = 3 * MIB, seg_size = 32 * MIB, file_size = 36 * MIB;
	const unsigned content_size = 300000;
	_cleanup_free_ char *path = tmp_path("fs.img"), *data_path = tmp_path("fs-plain.img"),
			    *key_path = tmp_path("fs.key"), *out_path = tmp_path("fs.out");
	_cleanup_free_ uint8_t *image = NULL, *content = xmalloc(content_size),
			       *back = xmalloc(content_size), *out = NULL;
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	const struct luks_case lc = { "luks2", "aes-xts-plain64", 512, 4096 };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *name = NULL;
	io_manager m;
	uint8_t key[64];
	size_t n;

	fill_pattern(key, sizeof(key), bs);
	CHECK(write_file(key_path, key, sizeof(key)) == 0);
	for (unsigned i = 0; i < content_size; i++)
		content[i] = (uint8_t)(i % 997 == 0 ? '\n' : 'a' + i % 26);
	for (unsigned i = 0; i + sizeof(MARKER) < content_size; i += 4096 + 100)
		memcpy(content + i, MARKER, strlen(MARKER));

	CHECK(cryptio_cipher_new("aes-xts-plain64", key, sizeof(key), 4096, &c) == 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	/* a shredded partition: whatever is not written decrypts to garbage */
	CHECK(cryptio_fill_random(fd, 0, file_size, NULL) == 0);
	CHECK(cryptio_manager_register(fd, seg_off, seg_size, c, &m, &name) == 0);
	CHECK(mkfs_cryptio(m, name, bs, seg_size, content, content_size) == 0);
	CHECK(read_back(m, name, back, content_size) == 0);
	CHECK(memcmp(back, content, content_size) == 0);
	cryptio_manager_unregister(name);

	image = slurp(path, &n);
	CHECK(image && n == file_size);
	CHECK(!memmem(image, n, MARKER, strlen(MARKER)));
	CHECK(!memmem(image, n, "lost+found", 10));

	/* cryptsetup decrypts the segment; e2fsck and debugfs read the result */
	CHECK(write_file(data_path, image + seg_off, seg_size) == 0);
	CHECK(cs_decrypt(&lc, key_path, data_path) == 0);
	CHECK(run("e2fsck -fn %s > %s/e2fsck.out 2>&1 || { cat %s/e2fsck.out >&2; false; }",
		  data_path, tmpdir, tmpdir) == 0);
	CHECK(run("debugfs -R 'cat /dir/file' %s > %s 2>/dev/null", data_path, out_path) == 0);
	out = slurp(out_path, &n);
	CHECK(out && n == content_size);
	CHECK(memcmp(out, content, content_size) == 0);
}

static void test_ext2_1024(void)
{
	check_ext2(1024);
}

static void test_ext2_4096(void)
{
	check_ext2(4096);
}

/* ---- shred ---- */

static size_t longest_zero_run(const uint8_t *p, size_t n)
{
	size_t best = 0, cur = 0;

	for (size_t i = 0; i < n; i++) {
		cur = p[i] ? 0 : cur + 1;
		if (cur > best)
			best = cur;
	}
	return best;
}

static void test_fill_random(void)
{
	const uint64_t off = 100, len = 8 * MIB + 1234;
	_cleanup_free_ char *path = tmp_path("fill.img");
	_cleanup_free_ uint8_t *a = NULL, *b = NULL, *p = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t seed[32], seed2[32];
	double t;
	size_t n;

	fill_pattern(seed, sizeof(seed), 99);
	memcpy(seed2, seed, 32);
	seed2[31] ^= 1;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(cryptio_fill_random(fd, off, len, seed) == 0);
	a = slurp(path, &n);
	CHECK(a && n == off + len);
	CHECK(all_zero(a, off));
	CHECK(longest_zero_run(a + off, len) < 64);

	/* the same seed, in pieces at odd offsets: the same bytes */
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(cryptio_fill_random(fd, off + 5003, len - 5003, seed) == 0);
	CHECK(cryptio_fill_random(fd, off, 17, seed) == 0);
	CHECK(cryptio_fill_random(fd, off + 17, 5003 - 17, seed) == 0);
	b = slurp(path, &n);
	CHECK(b && n == off + len);
	CHECK(memcmp(a, b, n) == 0);
	free(TAKE_PTR(b));

	/* another seed, or none: different bytes */
	CHECK(cryptio_fill_random(fd, off, len, seed2) == 0);
	b = slurp(path, &n);
	CHECK(b && memcmp(a + off, b + off, 4096) != 0 && memcmp(a + off, b + off, len) != 0);
	CHECK(cryptio_fill_random(fd, off, len, NULL) == 0);
	p = slurp(path, &n);
	CHECK(p && memcmp(a + off, p + off, 4096) != 0 && memcmp(b + off, p + off, 4096) != 0);
	CHECK(longest_zero_run(p + off, len) < 64);
	free(TAKE_PTR(b));
	CHECK(cryptio_fill_random(fd, off, len, NULL) == 0);
	b = slurp(path, &n);
	CHECK(b && memcmp(p + off, b + off, 4096) != 0);

	/* speed, for information */
	CHECK(ftruncate(fd, 0) == 0);
	t = now();
	CHECK(cryptio_fill_random(fd, 0, 256 * MIB, NULL) == 0);
	t = now() - t;
	printf("  fill_random: 256 MiB in %.3f s, %.0f MB/s\n", t, 256 * MIB / t / 1e6);
	CHECK(ftruncate(fd, 0) == 0);
}

/* ---- speed, for information ---- */

static void test_speed(void)
{
	const size_t size = 64 * MIB;
	_cleanup_free_ char *path = tmp_path("speed.img");
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_cryptio_cipher_ struct cryptio_cipher *c = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t key[64];
	io_channel io = NULL;
	io_manager m;
	double t;

	fill_pattern(key, sizeof(key), 77);
	CHECK(posix_memalign((void **)&buf, 4096, size) == 0);
	fill_pattern(buf, size, 1);
	/* 1 MiB at a time, as the channel does (and in cache, as openssl speed measures); the
	 * best of five runs of 64 MiB: the machine may be busy. */
	for (unsigned ss = 512; ss <= 4096; ss *= 8) {
		_cleanup_cryptio_cipher_ struct cryptio_cipher *cs = NULL;
		double enc = 0, dec = 0;

		CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, ss, &cs) == 0);
		for (int round = 0; round < 5; round++) {
			t = now();
			for (size_t off = 0; off < size; off += MIB)
				CHECK(cryptio_encrypt(cs, buf, MIB, off) == 0);
			t = now() - t;
			enc = size / t / 1e6 > enc ? size / t / 1e6 : enc;
			t = now();
			for (size_t off = 0; off < size; off += MIB)
				CHECK(cryptio_decrypt(cs, buf, MIB, off) == 0);
			t = now() - t;
			dec = size / t / 1e6 > dec ? size / t / 1e6 : dec;
		}
		printf("  aes-xts-plain64 (512-bit key), %u-byte sectors: encrypt %.0f MB/s, "
		       "decrypt %.0f MB/s\n",
		       ss, enc, dec);
	}

	CHECK(cryptio_cipher_new("aes-xts-plain64", key, 64, 4096, &c) == 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(cryptio_manager_register(fd, 0, size, c, &m, &name) == 0);
	CHECK(m->open(name, IO_FLAG_RW, &io) == 0);
	CHECK(io_channel_set_blksize(io, 4096) == 0);
	t = now();
	for (size_t off = 0; off < size; off += MIB)
		CHECK(io_channel_write_blk64(io, off / 4096, (int)(MIB / 4096), buf + off) == 0);
	t = now() - t;
	printf("  channel: %zu MiB written in 1 MiB calls, %.0f MB/s\n", size / MIB,
	       size / t / 1e6);
	io_channel_close(io);
	cryptio_manager_unregister(name);
	CHECK(ftruncate(fd, 0) == 0);
}

#define RUN_CS_TEST(fn)                                                                            \
	do {                                                                                       \
		if (have_cryptsetup)                                                               \
			RUN_TEST(fn);                                                              \
		else                                                                               \
			printf("SKIP: %s (cryptsetup not found)\n", #fn);                          \
	} while (0)

int main(void)
{
	const char *env_path = getenv("PATH") ?: "/usr/bin:/bin";
	_cleanup_free_ char *pass = NULL, *path = xasprintf("%s:/usr/sbin:/sbin", env_path);
	bool have_cryptsetup;

	setenv("PATH", path, 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-cryptio.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pass = tmp_path("pass");
	if (write_file(pass, PASS, strlen(PASS)) < 0) {
		printf("FAIL: setup\n");
		return 1;
	}
	have_cryptsetup = have("cryptsetup") && have("e2fsck") && have("debugfs");

	RUN_CS_TEST(test_luks2_xts512_4096);
	RUN_CS_TEST(test_luks2_xts512_512);
	RUN_CS_TEST(test_luks2_xts256_2048);
	RUN_CS_TEST(test_luks1_xts512);
	RUN_CS_TEST(test_luks1_cbc_essiv);
	RUN_CS_TEST(test_luks2_cbc_essiv_4096);
	RUN_CS_TEST(test_luks2_cbc_plain64_1024);
	RUN_TEST(test_essiv_reference);
	RUN_TEST(test_cipher_errors);
	RUN_TEST(test_channel_unaligned);
	RUN_CS_TEST(test_channel_mapped);
	RUN_TEST(test_channel_bounds);
	RUN_TEST(test_channel_sparse);
	RUN_CS_TEST(test_ext2_1024);
	RUN_CS_TEST(test_ext2_4096);
	RUN_TEST(test_fill_random);
	RUN_TEST(test_speed);

	if (!getenv("TEST_CRYPTIO_KEEP"))
		run("rm -rf %s", tmpdir);
	CHECK_EXIT();
}
