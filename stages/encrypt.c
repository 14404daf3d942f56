/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stage "encrypt": LUKS2, LUKS1 or plain dm-crypt partitions, made without root or
 * device-mapper. libcryptsetup formats the header (lib/luks), which is copied to the
 * partition's start; the filesystem inside is then written by the mkfs and later stages
 * through an I/O channel that encrypts every sector as dm-crypt would (lib/cryptio), so no
 * plaintext of it ever reaches the disk. The volume key stays in locked memory.
 *
 * partitions:
 *   - encrypt:
 *       format: luks2           luks2, luks1 or plain (the seed's `cryptsetup create`:
 *                               no header, aes-cbc-essiv:sha256, a 256-bit key hashed from
 *                               the passphrase with ripemd160, nothing to check a wrong
 *                               passphrase against: LUKS is preferred)
 *       passphrase-file: PATH   the passphrase (one line) in a file of the build host;
 *       passphrase-env: NAME    or in an environment variable (unset once read);
 *                               or --passphrase-fd N; or asked twice on the terminal
 *       keyfile: PATH           a key file: a second key slot (LUKS)
 *       keyfile-in-initrd: false  also copy the keyfile into the initrd so the root opens
 *                               without a prompt: anyone holding the key can then read it
 *       cipher: aes-xts-plain64 (plain: aes-cbc-essiv:sha256)
 *       key-size: 512           bits (plain: 256)
 *       sector-size: 4096       LUKS2; LUKS1 and plain use 512
 *       pbkdf: argon2id         argon2id, argon2i or pbkdf2 (LUKS1: pbkdf2)
 *       pbkdf-memory: 64MiB     Argon2's memory, capped so small machines can unlock
 *       pbkdf-time: 2000        milliseconds a passphrase takes to check on this machine
 *                               (a slower one takes longer; under QEMU without KVM, ten
 *                               times longer)
 *       mapper-name: rootfs     /dev/mapper/<name> (default: rootfs for /, else the
 *                               partition's name)
 *       label: ...              the LUKS2 label
 *
 * An encrypted partition is shredded with random data first (stage shred) unless it says
 * otherwise. Secrets are never on the command line, in the log or in the image, except as
 * LUKS key slots (and the keyfile in the initrd when asked). /boot cannot be encrypted
 * with grub-bios. */
#include <libgen.h>
#include <unistd.h>

#include "cryptio.h"
#include "log.h"
#include "luks.h"
#include "secret.h"
#include "stage.h"

static const char *const pbkdf_names[] = { "argon2id", "argon2i", "pbkdf2", NULL };

struct encrypt_priv {
	struct secret **passphrases; /* indexed like parts; read by verify */
	struct secret **keyfiles;
	size_t n;
};

static int parse_one(struct build *b, struct partition *p, const struct node *n)
{
	struct encrypt_spec *e;
	const struct node *v;
	const char *s;
	uint64_t u;
	int r;

	if (n->kind == NODE_SCALAR) {
		bool on;

		if ((r = node_get_bool(n, &on)) < 0)
			return r;
		if (!on)
			return 0;
		n = NULL;
	} else if ((r = node_expect(n, NODE_MAP)) < 0) {
		return r;
	}
	e = p->enc = xcalloc(1, sizeof(*e));
	e->node = n ? n : node_get(p->node, "encrypt");
	e->format = LUKS_FORMAT_LUKS2;
	if (n && (v = node_get(n, "format"))) {
		if ((r = node_get_enum(v, luks_format_names, &e->format)) < 0)
			return r;
	}
	e->cipher = xstrdup(e->format == LUKS_FORMAT_PLAIN ? "aes-cbc-essiv:sha256"
							   : "aes-xts-plain64");
	e->key_bits = e->format == LUKS_FORMAT_PLAIN ? 256 : 512;
	e->sector_size = e->format == LUKS_FORMAT_LUKS2 ? 4096 : 512;
	e->pbkdf_memory_kib = LUKS_PBKDF_MEMORY_DEFAULT_KIB;
	e->pbkdf_time_ms = LUKS_PBKDF_ITER_MS_DEFAULT;
	if (!n)
		return 0;
	if ((v = node_get(n, "passphrase-file"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		e->passphrase_file = node_path_resolve(v, s);
	}
	if ((v = node_get(n, "passphrase-env"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!s[0] || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789_") != strlen(s))
			return node_error(v, "'%s' is not an environment variable name", s);
		e->passphrase_env = xstrdup(s);
	}
	if (e->passphrase_file && e->passphrase_env)
		return node_error(v, "give passphrase-file or passphrase-env, not both");
	if ((v = node_get(n, "keyfile"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		e->keyfile = node_path_resolve(v, s);
	}
	if ((v = node_get(n, "keyfile-in-initrd")) &&
	    (r = node_get_bool(v, &e->keyfile_in_initrd)) < 0)
		return r;
	if (e->keyfile_in_initrd && !e->keyfile)
		return node_error(v, "keyfile-in-initrd needs a keyfile");
	if ((v = node_get(n, "cipher"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		free(e->cipher);
		e->cipher = xstrdup(s);
	}
	if ((v = node_get(n, "key-size"))) {
		if ((r = node_get_u64(v, 128, 512, &u)) < 0)
			return r;
		e->key_bits = (unsigned)u;
	}
	{
		_cleanup_free_ char *why = NULL;

		if (luks_cipher_check(e->cipher, e->key_bits, &why) < 0) {
			v = node_get(n, "cipher") ? node_get(n, "cipher") : node_get(n, "key-size");
			return node_error(v ? v : n, "%s", why);
		}
	}
	if ((v = node_get(n, "sector-size"))) {
		if ((r = node_get_u64(v, 512, 4096, &u)) < 0)
			return r;
		if (u & (u - 1))
			return node_error(v, "a sector size is 512, 1024, 2048 or 4096");
		if (u != 512 && e->format != LUKS_FORMAT_LUKS2)
			return node_error(v, "%s uses 512-byte sectors",
					  luks_format_to_string(e->format));
		e->sector_size = (unsigned)u;
	}
	if ((v = node_get(n, "pbkdf"))) {
		int k;

		if ((r = node_get_enum(v, pbkdf_names, &k)) < 0)
			return r;
		if (e->format == LUKS_FORMAT_LUKS1 && k != 2)
			return node_error(v, "LUKS1 uses pbkdf2");
		e->pbkdf = xstrdup(pbkdf_names[k]);
	}
	if ((v = node_get(n, "pbkdf-memory"))) {
		struct size sz;

		if ((r = node_get_size(v, 0, &sz)) < 0)
			return r;
		if (sz.bytes < 32ULL << 10 || sz.bytes > 4ULL << 30)
			return node_error(v, "Argon2's memory is from 32 KiB to 4 GiB");
		e->pbkdf_memory_kib = (unsigned)(sz.bytes >> 10);
	}
	if ((v = node_get(n, "pbkdf-time"))) {
		if ((r = node_get_u64(v, 1, 600000, &u)) < 0)
			return r;
		e->pbkdf_time_ms = (unsigned)u;
	}
	if ((v = node_get(n, "mapper-name"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (!s[0] || strlen(s) > 64 ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(s) || s[0] == '.')
			return node_error(v, "'%s' is not a device-mapper name ([A-Za-z0-9_.-])", s);
		free(e->mapper_name);
		e->mapper_name = xstrdup(s);
	}
	if ((v = node_get(n, "label"))) {
		if ((r = node_get_string(v, &s)) < 0)
			return r;
		if (e->format != LUKS_FORMAT_LUKS2)
			return node_error(v, "only LUKS2 has a label");
		if (strlen(s) > LUKS_LABEL_MAX)
			return node_error(v, "a LUKS2 label has at most %u bytes", LUKS_LABEL_MAX);
		e->label = xstrdup(s);
	}
	if (e->format == LUKS_FORMAT_PLAIN && e->keyfile)
		return node_error(node_get(n, "keyfile"), "plain mode has one key: the passphrase");
	return 0;
}

static int encrypt_parse(struct build *b, void **ret_priv)
{
	struct encrypt_priv *p;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < b->n_parts; i++) {
		const struct node *e = node_get(b->parts[i].node, "encrypt");

		if (!e)
			continue;
		if ((r = parse_one(b, &b->parts[i], e)) < 0)
			return r;
		n += b->parts[i].enc != NULL;
	}
	if (!n)
		return 0;
	p = xcalloc(1, sizeof(*p));
	p->n = b->n_parts;
	p->passphrases = xcalloc(b->n_parts, sizeof(*p->passphrases));
	p->keyfiles = xcalloc(b->n_parts, sizeof(*p->keyfiles));
	*ret_priv = p;
	return 1;
}

static int encrypt_verify(struct build *b, void *priv)
{
	struct encrypt_priv *p = priv;
	bool fd_used = false;
	int r;

	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *q = &b->parts[i];
		struct encrypt_spec *e = q->enc;
		uint64_t header = 0;
		char s1[32], s2[32];

		if (!e)
			continue;
		/* The default name needs the mount point, which the mkfs stage parses. */
		if (!e->mapper_name)
			e->mapper_name = xstrdup(q->fs.mount && streq(q->fs.mount, "/") ? "rootfs"
										: q->name);
		header = e->format == LUKS_FORMAT_LUKS2 ? 16ULL << 20
			 : e->format == LUKS_FORMAT_LUKS1 ? 2ULL << 20 : 0;
		if (q->length < header + LUKS_MIN_DATA_SIZE)
			return node_error(e->node, "partition '%s' (%s) is too small for %s: its "
					  "header takes %s, and the filesystem needs room after it",
					  q->name, format_bytes(s1, q->length),
					  luks_format_to_string(e->format), format_bytes(s2, header));
		if (q->fs.mount && streq(q->fs.mount, "/boot"))
			return node_error(e->node, "an encrypted /boot is not supported: GRUB "
					  "reads the kernel before any passphrase is asked; keep /boot "
					  "unencrypted, as the seed does");
		/* Read now, so a missing or empty file stops the build before anything is
		 * written; the terminal prompt waits for run. */
		if (e->passphrase_file) {
			r = secret_from_file(e->passphrase_file, true, &p->passphrases[i]);
			if (r < 0)
				return r;
		} else if (e->passphrase_env) {
			r = secret_from_env(e->passphrase_env, &p->passphrases[i]);
			if (r < 0)
				return r;
		} else if (b->passphrase_fd >= 0 && !fd_used && b->out_path) {
			r = secret_from_fd(b->passphrase_fd, true, &p->passphrases[i]);
			if (r < 0)
				return r;
			fd_used = true;
		}
		if (e->keyfile && (r = secret_from_file(e->keyfile, false, &p->keyfiles[i])) < 0)
			return r;
		if (e->keyfile_in_initrd)
			log_warn("partition '%s': its keyfile goes into the initrd in /boot, which is "
				 "not encrypted: whoever has the key can open the partition",
				 q->name);
	}
	return 0;
}

static int encrypt_plan(struct build *b, void *priv, FILE *out)
{
	fprintf(out, "encrypt:\n");
	for (size_t i = 0; i < b->n_parts; i++) {
		const struct encrypt_spec *e = b->parts[i].enc;

		if (!e)
			continue;
		fprintf(out, "  %s: %s, %s, %u-bit key, %u-byte sectors, /dev/mapper/%s\n",
			b->parts[i].name, luks_format_to_string(e->format), e->cipher, e->key_bits,
			e->sector_size, e->mapper_name);
	}
	return 0;
}

static int encrypt_run(struct build *b, void *priv)
{
	struct encrypt_priv *p = priv;
	_cleanup_free_ char *dir_copy = xstrdup(b->tmp_path);
	const char *dir = dirname(dir_copy);
	int r;

	for (size_t i = 0; i < b->n_parts; i++) {
		struct partition *q = &b->parts[i];
		struct encrypt_spec *e = q->enc;
		_cleanup_(luks_result_freep) struct luks_result *res = NULL;
		struct luks_opts o;
		uint8_t uuid[16];
		_cleanup_free_ char *prompt = NULL;

		if (!e)
			continue;
		if (!p->passphrases[i] && !p->keyfiles[i]) {
			prompt = xasprintf("Passphrase for partition '%s': ", q->name);
			r = secret_prompt(prompt, true, &p->passphrases[i]);
			if (r < 0)
				return r;
		}
		build_derive_uuid(b, q->name, uuid);
		o = (struct luks_opts){
			.format = e->format,
			.cipher = e->cipher,
			.key_bits = e->key_bits,
			.sector_size = e->sector_size,
			.pbkdf = e->pbkdf,
			.pbkdf_memory_kib = e->pbkdf_memory_kib,
			.pbkdf_iter_ms = e->pbkdf_time_ms,
			.label = e->label,
			.uuid = b->seed && e->format != LUKS_FORMAT_PLAIN ? uuid : NULL,
			.passphrase = p->passphrases[i],
			.keyfile = p->keyfiles[i],
			.plain_hash = "ripemd160",
		};
		r = luks_make(&o, dir, q->length, &res);
		if (r < 0)
			return r;
		if ((r = luks_write_header(b->fd, q->offset, res)) < 0)
			return r;
		r = cryptio_cipher_new(res->cipher, res->volume_key->data, res->volume_key->len,
				       res->sector_size, &e->cipher_ctx);
		if (r < 0)
			return log_errno(r, "cannot set up %s for partition '%s'", res->cipher,
					 q->name);
		e->data_offset = res->data_offset;
		e->luks_uuid = res->uuid ? xstrdup(res->uuid) : NULL;
		log_info("%s: %s (%s, %u-bit key), data from %llu KiB%s%s", q->name,
			 luks_format_to_string(e->format), res->cipher, res->key_bits,
			 (unsigned long long)(res->data_offset >> 10), e->luks_uuid ? ", UUID " : "",
			 e->luks_uuid ? e->luks_uuid : "");
	}
	return 0;
}

static void encrypt_free(void *priv)
{
	struct encrypt_priv *p = priv;

	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		secret_free(p->passphrases[i]);
		secret_free(p->keyfiles[i]);
	}
	free(p->passphrases);
	free(p->keyfiles);
	free(p);
}

/* Every key this stage reads (lib/recipe.h): the parser's allowed keys, the README's
 * reference, the man page and the completion come from here. */
static const struct recipe_key encrypt_key_table[] = {
	{ "partitions[].encrypt", "map", "none", NULL,
	  "encrypt the partition; its filesystem is written inside" },
	{ "partitions[].encrypt.format", "enum", "luks2", luks_format_names, "luks2, luks1 or plain" },
	{ "partitions[].encrypt.passphrase-file", "path", "none", NULL,
	  "a file of the build host holding the passphrase (one line)" },
	{ "partitions[].encrypt.passphrase-env", "string", "none", NULL,
	  "the name of an environment variable holding it (unset once read)" },
	{ "partitions[].encrypt.keyfile", "path", "none", NULL, "a key file: a second key slot" },
	{ "partitions[].encrypt.keyfile-in-initrd", "bool", "false", NULL,
	  "also put the key file in the initrd (the root opens without a prompt)" },
	{ "partitions[].encrypt.cipher", "string", "aes-xts-plain64 (plain: aes-cbc-essiv:sha256)",
	  NULL, "the dm-crypt cipher; also aes-cbc-plain64" },
	{ "partitions[].encrypt.key-size", "number", "512 (plain: 256)", NULL, "bits" },
	{ "partitions[].encrypt.sector-size", "number", "4096 (LUKS2), 512", NULL,
	  "LUKS1 and plain use 512" },
	{ "partitions[].encrypt.pbkdf", "enum", "argon2id (LUKS1: pbkdf2)", pbkdf_names,
	  "the key derivation function" },
	{ "partitions[].encrypt.pbkdf-memory", "size", "64MiB", NULL,
	  "Argon2's memory (a small target must still unlock)" },
	{ "partitions[].encrypt.pbkdf-time", "number", "2000", NULL,
	  "milliseconds to check a passphrase on the build host" },
	{ "partitions[].encrypt.mapper-name", "string", "rootfs for /, else the partition's name",
	  NULL, "/dev/mapper/<name>" },
	{ "partitions[].encrypt.label", "string", "none", NULL, "the LUKS2 label" },
	{ NULL },
};

const struct stage stage_encrypt = {
	.name = "encrypt",
	.key_table = encrypt_key_table,
	.summary = "LUKS2/LUKS1/plain headers and the volume keys the filesystems are written with",
	.parse = encrypt_parse,
	.verify = encrypt_verify,
	.plan = encrypt_plan,
	.run = encrypt_run,
	.free = encrypt_free,
};
