// SPDX-License-Identifier: GPL-2.0-or-later
/* libcryptsetup works unprivileged on a regular file as long as nothing is activated and
 * metadata locking (which wants /run/cryptsetup) is off. Its log callback is routed here:
 * every message goes to our logger at debug level, and the last error message is kept and
 * becomes the reason of the one error we log when the call fails. */
#include "luks.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libcryptsetup.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <uuid.h>

#include "log.h"

#define SECTOR 512u
#define LUKS2_DATA_OFFSET (16u << 20) /* libcryptsetup's defaults, for the size check */
#define LUKS1_DATA_OFFSET (2u << 20)

const char *const luks_format_names[] = {
	[LUKS_FORMAT_LUKS2] = "luks2",
	[LUKS_FORMAT_LUKS1] = "luks1",
	[LUKS_FORMAT_PLAIN] = "plain",
	[_LUKS_FORMAT_MAX] = NULL,
};

const char *luks_format_to_string(enum luks_format f)
{
	return (unsigned)f < _LUKS_FORMAT_MAX ? luks_format_names[f] : "?";
}

int luks_format_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < _LUKS_FORMAT_MAX; i++)
		if (streq(s, luks_format_names[i]))
			return (int)i;
	return -EINVAL;
}

/* The cipher specs mkbootmedia supports, with their key sizes in bits: what lib/cryptio
 * writes and the initramfs's cryptsetup opens. */
static const struct {
	const char *spec;
	unsigned key_bits[3];
} ciphers[] = {
	{ "aes-xts-plain64", { 256, 512 } },
	{ "aes-cbc-essiv:sha256", { 128, 192, 256 } },
	{ "aes-cbc-plain64", { 128, 192, 256 } },
};

static const char *const pbkdfs[] = { "argon2id", "argon2i", "pbkdf2" };

/* ---- libcryptsetup's logging ---- */

struct luks_ctx {
	struct crypt_device *cd;
	char lib_error[512]; /* libcryptsetup's last error message, translated */
};

/* "Cannot format device X.\n" -> "cannot format device X" */
static void translate(char *buf, size_t size, const char *msg)
{
	size_t n;

	snprintf(buf, size, "%s", msg);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '.'))
		buf[--n] = 0;
	/* Lowercase the first word unless it is an acronym ("LUKS2", "PBKDF"). */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static void luks_log(int level, const char *msg, void *usrptr)
{
	struct luks_ctx *ctx = usrptr;
	char buf[512];

	translate(buf, sizeof(buf), msg);
	if (level == CRYPT_LOG_ERROR && ctx)
		snprintf(ctx->lib_error, sizeof(ctx->lib_error), "%s", buf);
	if (level != CRYPT_LOG_DEBUG_JSON)
		log_debug("libcryptsetup: %s", buf);
}

/* Logs what failed, with libcryptsetup's reason when it gave one; returns r (< 0). */
static int luks_fail(struct luks_ctx *ctx, int r, const char *what)
{
	if (r >= 0)
		r = -EINVAL;
	if (ctx->lib_error[0])
		log_error("luks: %s: %s", what, ctx->lib_error);
	else
		log_error("luks: %s: %s", what, strerror(-r));
	ctx->lib_error[0] = 0;
	return r;
}

static void luks_ctx_done(struct luks_ctx *ctx)
{
	if (ctx->cd)
		crypt_free(ctx->cd);
	ctx->cd = NULL;
	crypt_set_log_callback(NULL, NULL, NULL);
}

/* ---- validation ---- */

static int find_cipher(const char *spec)
{
	for (size_t i = 0; i < ARRAY_SIZE(ciphers); i++)
		if (streq(spec, ciphers[i].spec))
			return (int)i;
	return -1;
}

int luks_cipher_check(const char *spec, unsigned key_bits, char **ret_why)
{
	_cleanup_free_ char *list = NULL;
	int c = find_cipher(spec);
	bool ok = false;

	if (c >= 0)
		for (size_t i = 0; i < ARRAY_SIZE(ciphers[c].key_bits) && ciphers[c].key_bits[i]; i++)
			ok |= ciphers[c].key_bits[i] == key_bits;
	if (ok)
		return 0;
	if (c < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(ciphers); i++) {
			char *t = xasprintf("%s%s%s", list ? list : "", list ? ", " : "",
					    ciphers[i].spec);

			free(list);
			list = t;
		}
		*ret_why = xasprintf("unsupported cipher '%s' (supported: %s)", spec, list);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ciphers[c].key_bits) && ciphers[c].key_bits[i]; i++) {
		char *t = xasprintf("%s%s%u", list ? list : "", list ? ", " : "",
				    ciphers[c].key_bits[i]);

		free(list);
		list = t;
	}
	*ret_why = xasprintf("a %u-bit key does not fit cipher '%s' (key bits: %s)", key_bits,
			     spec, list);
	return -EINVAL;
}

/* The partition must hold the header and at least a minimal filesystem. */
static int check_size(enum luks_format format, uint64_t partition_size, uint64_t offset)
{
	char a[32], b[32], c[32];

	if (partition_size >= offset + LUKS_MIN_DATA_SIZE)
		return 0;
	return log_fail("luks: the partition (%s) is too small for a %s header (%s) and a "
			"filesystem: it needs at least %s", format_bytes(a, partition_size),
			luks_format_to_string(format), format_bytes(b, offset),
			format_bytes(c, offset + LUKS_MIN_DATA_SIZE));
}

static int check_opts(const struct luks_opts *o, const char *cipher, unsigned key_bits,
		      unsigned sector_size, const char *pbkdf, uint64_t partition_size)
{
	const char *fmt = luks_format_to_string(o->format);
	uint64_t offset;

	if ((unsigned)o->format >= _LUKS_FORMAT_MAX)
		return log_fail("luks: unknown format %d", (int)o->format);
	{
		_cleanup_free_ char *why = NULL;

		if (luks_cipher_check(cipher, key_bits, &why) < 0)
			return log_fail("luks: %s", why);
	}

	if (o->format == LUKS_FORMAT_LUKS2) {
		if (sector_size != 512 && sector_size != 1024 && sector_size != 2048 &&
		    sector_size != 4096)
			return log_fail("luks: sector size %u is not valid for luks2 (512, 1024, "
					"2048 or 4096)", sector_size);
	} else if (sector_size != 512) {
		return log_fail("luks: sector size %u is not valid for %s (512 only)", sector_size,
				fmt);
	}
	if (partition_size % sector_size)
		return log_fail("luks: the partition size (%" PRIu64 " bytes) is not a multiple "
				"of the sector size %u", partition_size, sector_size);

	if (o->format == LUKS_FORMAT_PLAIN) {
		if (!o->passphrase)
			return log_fail("luks: plain mode needs a passphrase");
		if (o->keyfile)
			return log_fail("luks: plain mode takes a passphrase, not a keyfile");
		if (o->uuid || o->label)
			return log_fail("luks: plain mode has no header to hold a UUID or label");
		if (o->volume_key)
			return log_fail("luks: plain mode's volume key comes from the passphrase");
	} else {
		bool found = false;

		if (!o->passphrase && !o->keyfile)
			return log_fail("luks: %s needs a passphrase or a keyfile", fmt);
		for (size_t i = 0; i < ARRAY_SIZE(pbkdfs); i++)
			found |= streq(pbkdf, pbkdfs[i]);
		if (!found)
			return log_fail("luks: unknown pbkdf '%s' (argon2id, argon2i or pbkdf2)",
					pbkdf);
		if (o->format == LUKS_FORMAT_LUKS1 && !streq(pbkdf, "pbkdf2"))
			return log_fail("luks: luks1 supports pbkdf2 only, not '%s'", pbkdf);
		if (o->label && o->format == LUKS_FORMAT_LUKS1)
			return log_fail("luks: luks1 has no label");
		if (o->label && strlen(o->label) > LUKS_LABEL_MAX)
			return log_fail("luks: label '%s' is longer than %u bytes", o->label,
					LUKS_LABEL_MAX);
		if (o->pbkdf_memory_kib && (o->pbkdf_memory_kib < 32 ||
					    o->pbkdf_memory_kib > 4u * 1024 * 1024))
			return log_fail("luks: pbkdf memory %u KiB is out of range (32 KiB..4 GiB)",
					o->pbkdf_memory_kib);
		if (o->volume_key && o->volume_key->len * 8 != key_bits)
			return log_fail("luks: the volume key given has %zu bits, not %u",
					o->volume_key->len * 8, key_bits);
	}

	offset = o->format == LUKS_FORMAT_LUKS2 ? LUKS2_DATA_OFFSET :
		 o->format == LUKS_FORMAT_LUKS1 ? LUKS1_DATA_OFFSET : 0;
	return check_size(o->format, partition_size, offset);
}

/* ---- making the header ---- */

static void luks_result_init(struct luks_result *r, const struct luks_opts *o, const char *cipher,
			     unsigned key_bits, unsigned sector_size)
{
	r->format = o->format;
	r->cipher = xstrdup(cipher);
	r->key_bits = key_bits;
	r->sector_size = sector_size;
}

static int make_plain(struct luks_ctx *ctx, const struct luks_opts *o, const char *cipher_name,
		      const char *mode, unsigned sector_size, uint64_t partition_size,
		      struct luks_result *res)
{
	struct crypt_params_plain params = {
		.hash = o->plain_hash ? o->plain_hash : "ripemd160",
		.sector_size = sector_size,
		.size = partition_size / SECTOR,
	};
	size_t key_len = res->key_bits / 8;
	int r;

	r = crypt_format(ctx->cd, CRYPT_PLAIN, cipher_name, mode, NULL, NULL, key_len, &params);
	if (r < 0)
		return luks_fail(ctx, r, "cannot set up plain mode");
	res->volume_key = secret_new(key_len);
	r = crypt_volume_key_get(ctx->cd, CRYPT_ANY_SLOT, (char *)res->volume_key->data, &key_len,
				 (const char *)o->passphrase->data, o->passphrase->len);
	if (r < 0)
		return luks_fail(ctx, r, "cannot derive the plain mode key from the passphrase");
	if (key_len != res->key_bits / 8)
		return log_fail("luks: plain mode derived a %zu-byte key, not %u", key_len,
				res->key_bits / 8);
	return 0;
}

static int add_slot(struct luks_ctx *ctx, int slot, const struct secret *vk,
		    const struct secret *pass, const char *whose)
{
	char what[64];
	int r;

	r = crypt_keyslot_add_by_volume_key(ctx->cd, slot, (const char *)vk->data, vk->len,
					    (const char *)pass->data, pass->len);
	if (r < 0) {
		snprintf(what, sizeof(what), "cannot add %s key slot", whose);
		return luks_fail(ctx, r, what);
	}
	return 0;
}

static int make_luks(struct luks_ctx *ctx, const struct luks_opts *o, const char *cipher_name,
		     const char *mode, const char *pbkdf, int scratch_fd, uint64_t partition_size,
		     struct luks_result *res)
{
	struct crypt_pbkdf_type pb = {
		.type = pbkdf,
		.hash = "sha256",
		.time_ms = o->pbkdf_iter_ms ? o->pbkdf_iter_ms : LUKS_PBKDF_ITER_MS_DEFAULT,
	};
	struct crypt_params_luks2 p2 = {
		.pbkdf = &pb,
		.sector_size = res->sector_size,
		.label = o->label,
	};
	struct crypt_params_luks1 p1 = { .hash = "sha256" };
	size_t key_len = res->key_bits / 8;
	const char *type = o->format == LUKS_FORMAT_LUKS2 ? CRYPT_LUKS2 : CRYPT_LUKS1;
	char uuid[UUID_STR_LEN];
	uint64_t offset;
	int r, slot = 0;

	if (!streq(pbkdf, "pbkdf2")) {
		pb.max_memory_kb = o->pbkdf_memory_kib ? o->pbkdf_memory_kib :
							 LUKS_PBKDF_MEMORY_DEFAULT_KIB;
		/* libcryptsetup lowers the lanes to the build host's CPU count; a target with
		 * fewer CPUs still unlocks, only slower. */
		pb.parallel_threads = 4;
	}
	if (o->volume_key) {
		res->volume_key = secret_dup(o->volume_key->data, o->volume_key->len);
	} else {
		res->volume_key = secret_new(key_len);
		if (getrandom(res->volume_key->data, key_len, 0) != (ssize_t)key_len)
			return log_errno(errno, "luks: cannot get random bytes for the volume key");
	}
	if (o->uuid)
		uuid_unparse_lower(o->uuid, uuid);

	r = crypt_set_pbkdf_type(ctx->cd, &pb);
	if (r < 0)
		return luks_fail(ctx, r, "cannot set the pbkdf");
	r = crypt_format(ctx->cd, type, cipher_name, mode, o->uuid ? uuid : NULL,
			 (const char *)res->volume_key->data, key_len,
			 o->format == LUKS_FORMAT_LUKS2 ? (void *)&p2 : (void *)&p1);
	if (r < 0)
		return luks_fail(ctx, r, "cannot format the header");
	/* LUKS1 takes its PBKDF from the context, after the format. */
	r = crypt_set_pbkdf_type(ctx->cd, &pb);
	if (r < 0)
		return luks_fail(ctx, r, "cannot set the pbkdf");

	if (o->passphrase) {
		r = add_slot(ctx, slot++, res->volume_key, o->passphrase, "the passphrase's");
		if (r < 0)
			return r;
	}
	if (o->keyfile) {
		r = add_slot(ctx, slot, res->volume_key, o->keyfile, "the keyfile's");
		if (r < 0)
			return r;
	}

	/* The actual offset, should libcryptsetup's defaults ever move. */
	offset = crypt_get_data_offset(ctx->cd) * SECTOR;
	r = check_size(o->format, partition_size, offset);
	if (r < 0)
		return r;
	res->data_offset = offset;
	res->uuid = xstrdup(crypt_get_uuid(ctx->cd));

	/* Done with libcryptsetup before reading back what it wrote. */
	crypt_free(ctx->cd);
	ctx->cd = NULL;
	res->header = xmalloc(offset);
	r = pread_all(scratch_fd, res->header, offset, 0);
	if (r < 0)
		return log_errno(r, "luks: cannot read the header back from the scratch file");
	return 0;
}

int luks_make(const struct luks_opts *o, const char *scratch_dir, uint64_t partition_size,
	      struct luks_result **ret)
{
	bool plain = o->format == LUKS_FORMAT_PLAIN;
	const char *cipher = o->cipher ? o->cipher : plain ? "aes-cbc-essiv:sha256" :
							      "aes-xts-plain64";
	unsigned key_bits = o->key_bits ? o->key_bits : plain ? 256 : 512;
	unsigned sector_size = o->sector_size ? o->sector_size :
			       o->format == LUKS_FORMAT_LUKS2 ? 4096 : 512;
	const char *pbkdf = o->pbkdf ? o->pbkdf :
			    o->format == LUKS_FORMAT_LUKS1 ? "pbkdf2" : "argon2id";
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	struct scratch scratch = { .fd = -1 };
	struct luks_ctx ctx = { 0 };
	_cleanup_free_ char *cipher_name = NULL;
	const char *mode;
	int r;

	r = check_opts(o, cipher, key_bits, sector_size, pbkdf, partition_size);
	if (r < 0)
		return r;
	mode = strchr(cipher, '-');
	cipher_name = xstrndup(cipher, (size_t)(mode - cipher));
	mode++;

	res = xcalloc(1, sizeof(*res));
	luks_result_init(res, o, cipher, key_bits, sector_size);

	r = scratch_make(scratch_dir, "luks", partition_size, &scratch);
	if (r < 0) {
		log_errno(r, "luks: cannot create a scratch file in '%s'", scratch_dir);
		goto out;
	}

	crypt_set_debug_level(log_get_level() >= LOG_DEBUG ? CRYPT_DEBUG_ALL : CRYPT_DEBUG_NONE);
	crypt_set_log_callback(NULL, luks_log, &ctx);
	r = crypt_init(&ctx.cd, scratch.path);
	if (r < 0) {
		r = luks_fail(&ctx, r, "cannot open the scratch file");
		goto out;
	}
	crypt_set_log_callback(ctx.cd, luks_log, &ctx);
	r = crypt_metadata_locking(ctx.cd, 0);
	if (r < 0) {
		r = luks_fail(&ctx, r, "cannot turn metadata locking off");
		goto out;
	}

	if (plain)
		r = make_plain(&ctx, o, cipher_name, mode, sector_size, partition_size, res);
	else
		r = make_luks(&ctx, o, cipher_name, mode, pbkdf, scratch.fd, partition_size, res);
	if (r < 0)
		goto out;
	*ret = TAKE_PTR(res);
out:
	luks_ctx_done(&ctx);
	scratch_done(&scratch);
	return r;
}

struct luks_result *luks_result_free(struct luks_result *r)
{
	if (!r)
		return NULL;
	free(r->header);
	secret_free(r->volume_key);
	free(r->cipher);
	free(r->uuid);
	free(r);
	return NULL;
}

int luks_write_header(int image_fd, uint64_t partition_offset, const struct luks_result *r)
{
	int k;

	if (!r->header)
		return 0;
	k = pwrite_all(image_fd, r->header, r->data_offset, partition_offset);
	if (k < 0)
		return log_errno(k, "luks: cannot write the %s header at offset %" PRIu64,
				 luks_format_to_string(r->format), partition_offset);
	return 0;
}

/* ---- unlocking ---- */

/* The first n bytes of the partition into a memfd of the partition's size (sparse). */
static int header_copy(int fd, uint64_t partition_offset, uint64_t partition_size, uint64_t n,
		       int *ret_fd)
{
	_cleanup_close_ int m = memfd_create("luks-header", MFD_CLOEXEC);
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (m < 0)
		return -errno;
	if (ftruncate(m, (off_t)partition_size) < 0)
		return -errno;
	if (n > partition_size)
		n = partition_size;
	buf = xmalloc(n);
	if ((r = pread_all(fd, buf, n, partition_offset)) < 0 || (r = pwrite_all(m, buf, n, 0)) < 0)
		return r;
	*ret_fd = TAKE_FD(m);
	return 0;
}

int luks_unlock(int fd, uint64_t partition_offset, uint64_t partition_size,
		const struct secret *key, struct luks_result **ret)
{
	_cleanup_(luks_result_freep) struct luks_result *res = NULL;
	_cleanup_close_ int m = -1;
	_cleanup_free_ char *path = NULL;
	struct luks_ctx ctx = { 0 };
	uint64_t copied = 32u << 20;
	size_t key_len;
	const char *type;
	int r;

	for (;;) {
		if ((r = header_copy(fd, partition_offset, partition_size, copied, &m)) < 0)
			return log_errno(r, "luks: cannot read the header at offset %" PRIu64,
					 partition_offset);
		free(path);
		path = xasprintf("/proc/self/fd/%d", m);
		crypt_set_debug_level(log_get_level() >= LOG_DEBUG ? CRYPT_DEBUG_ALL :
								     CRYPT_DEBUG_NONE);
		crypt_set_log_callback(NULL, luks_log, &ctx);
		r = crypt_init(&ctx.cd, path);
		if (r < 0) {
			r = luks_fail(&ctx, r, "cannot read the header");
			goto out;
		}
		crypt_set_log_callback(ctx.cd, luks_log, &ctx);
		if ((r = crypt_metadata_locking(ctx.cd, 0)) < 0 ||
		    (r = crypt_load(ctx.cd, CRYPT_LUKS, NULL)) < 0) {
			r = luks_fail(&ctx, r, "no LUKS header");
			goto out;
		}
		/* The key slots lie before the data: all of them must be in the copy. */
		if (crypt_get_data_offset(ctx.cd) * SECTOR <= copied || copied >= partition_size)
			break;
		copied = crypt_get_data_offset(ctx.cd) * SECTOR;
		luks_ctx_done(&ctx);
		close(TAKE_FD(m));
	}
	type = crypt_get_type(ctx.cd);
	res = xcalloc(1, sizeof(*res));
	res->format = streq(type, CRYPT_LUKS2) ? LUKS_FORMAT_LUKS2 : LUKS_FORMAT_LUKS1;
	key_len = (size_t)crypt_get_volume_key_size(ctx.cd);
	res->volume_key = secret_new(key_len);
	r = crypt_volume_key_get(ctx.cd, CRYPT_ANY_SLOT, (char *)res->volume_key->data, &key_len,
				 (const char *)key->data, key->len);
	if (r == -EPERM)
		goto out; /* the caller says it, knowing where the key came from */
	if (r < 0) {
		r = luks_fail(&ctx, r, "cannot open a key slot");
		goto out;
	}
	res->volume_key->len = key_len;
	res->cipher = xasprintf("%s-%s", crypt_get_cipher(ctx.cd), crypt_get_cipher_mode(ctx.cd));
	res->key_bits = (unsigned)key_len * 8;
	res->sector_size = (unsigned)crypt_get_sector_size(ctx.cd);
	res->data_offset = crypt_get_data_offset(ctx.cd) * SECTOR;
	res->uuid = xstrdup(crypt_get_uuid(ctx.cd));
	if (res->data_offset >= partition_size) {
		r = log_fail("luks: the data offset (%" PRIu64 ") is past the partition's end",
			     res->data_offset);
		goto out;
	}
	*ret = TAKE_PTR(res);
	r = 0;
out:
	luks_ctx_done(&ctx);
	return r;
}
