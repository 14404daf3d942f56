/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <libcryptsetup.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "verity.h"

uint64_t verity_hash_size(uint64_t data_len, unsigned data_block)
{
	uint64_t n = (data_len + data_block - 1) / data_block, size = VERITY_BLOCK;
	const uint64_t per_block = VERITY_BLOCK / 32; /* SHA-256 digests per hash block */

	/* Levels until one block holds them all; the root hash is not stored. */
	do {
		n = (n + per_block - 1) / per_block;
		size += n * VERITY_BLOCK;
	} while (n > 1);
	return size;
}

static char lib_error[512];

static void verity_log(int level, const char *msg, void *usrptr)
{
	size_t n;

	(void)usrptr;
	if (level == CRYPT_LOG_DEBUG_JSON)
		return;
	if (level == CRYPT_LOG_ERROR) {
		snprintf(lib_error, sizeof(lib_error), "%s", msg);
		n = strlen(lib_error);
		while (n && (lib_error[n - 1] == '\n' || lib_error[n - 1] == '.'))
			lib_error[--n] = 0;
	}
	log_debug("libcryptsetup: %s", msg);
}

static int verity_fail(int r, const char *what)
{
	if (r >= 0)
		r = -EINVAL;
	if (lib_error[0])
		log_error("verity: %s: %s", what, lib_error);
	else
		log_error("verity: %s: %s", what, strerror(-r));
	lib_error[0] = 0;
	return r;
}

/* Copies len bytes from `from` at off to `to` at 0, skipping holes. */
static int copy_sparse(int from, uint64_t off, uint64_t len, int to, uint64_t to_off)
{
	_cleanup_free_ char *buf = xmalloc(1u << 20);
	uint64_t pos = off, end = off + len;
	int r;

	while (pos < end) {
		off_t data = lseek(from, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return -errno;
		if ((uint64_t)data >= end)
			break;
		hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		pos = (uint64_t)data;
		while (pos < (uint64_t)hole && pos < end) {
			uint64_t stop = (uint64_t)hole < end ? (uint64_t)hole : end;
			size_t n = (size_t)(stop - pos < (1u << 20) ? stop - pos : (1u << 20));

			if ((r = pread_all(from, buf, n, pos)) < 0 ||
			    (r = pwrite_all(to, buf, n, pos - off + to_off)) < 0)
				return r;
			pos += n;
		}
	}
	return 0;
}

int verity_make(int fd, uint64_t data_off, uint64_t data_len, unsigned data_block,
		uint64_t hash_off, uint64_t hash_len, const uint8_t salt[32],
		const uint8_t uuid[16], const char *scratch_dir, char **ret_root_hash)
{
	struct scratch data = { .fd = -1 }, hash = { .fd = -1 };
	struct crypt_device *cd = NULL;
	uint64_t need = verity_hash_size(data_len, data_block);
	char uuid_str[37], root[64];
	size_t root_size = sizeof(root);
	struct stat st;
	int r;

	if (data_len % data_block || need > hash_len)
		return log_fail("verity: %llu bytes of data need %llu bytes of hash, %llu given",
				(unsigned long long)data_len, (unsigned long long)need,
				(unsigned long long)hash_len);
	if ((r = scratch_make(scratch_dir, "verity", data_len, &data)) < 0 ||
	    (r = scratch_make(scratch_dir, "verity", need, &hash)) < 0) {
		log_errno(r, "verity: cannot create a scratch file in '%s'", scratch_dir);
		goto out;
	}
	if ((r = copy_sparse(fd, data_off, data_len, data.fd, 0)) < 0) {
		log_errno(r, "verity: cannot copy the data to '%s'", data.path);
		goto out;
	}
	uuid_unparse_lower(uuid, uuid_str);
	crypt_set_log_callback(NULL, verity_log, NULL);
	if ((r = crypt_init(&cd, hash.path)) < 0) {
		r = verity_fail(r, "cannot open the scratch file");
		goto out;
	}
	crypt_set_log_callback(cd, verity_log, NULL);
	if ((r = crypt_metadata_locking(cd, 0)) < 0) {
		r = verity_fail(r, "cannot turn metadata locking off");
		goto out;
	}
	{
		struct crypt_params_verity p = {
			.hash_name = "sha256",
			.data_device = data.path,
			.salt = (const char *)salt,
			.salt_size = 32,
			.hash_type = 1,
			.data_block_size = data_block,
			.hash_block_size = VERITY_BLOCK,
			.data_size = data_len / data_block,
			.hash_area_offset = 0,
			.flags = CRYPT_VERITY_CREATE_HASH,
		};

		r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, uuid_str, NULL, 0, &p);
		if (r < 0) {
			r = verity_fail(r, "cannot make the hash tree");
			goto out;
		}
	}
	r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, root, &root_size, NULL, 0);
	if (r < 0) {
		r = verity_fail(r, "cannot read the root hash");
		goto out;
	}
	if (fstat(hash.fd, &st) < 0) {
		r = log_errno(errno, "verity: cannot stat '%s'", hash.path);
		goto out;
	}
	if ((uint64_t)st.st_size > hash_len) {
		r = log_fail("verity: the hash tree takes %llu bytes, more than the %llu given",
			     (unsigned long long)st.st_size, (unsigned long long)hash_len);
		goto out;
	}
	{
		/* Every byte, zeros too: the partition may hold shredded bytes. */
		_cleanup_free_ char *buf = xmalloc((size_t)st.st_size);

		if ((r = pread_all(hash.fd, buf, (size_t)st.st_size, 0)) < 0 ||
		    (r = pwrite_all(fd, buf, (size_t)st.st_size, hash_off)) < 0) {
			log_errno(r, "verity: cannot write the hash tree into the image");
			goto out;
		}
	}
	{
		char *hex = xmalloc(root_size * 2 + 1);

		for (size_t i = 0; i < root_size; i++)
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)root[i]);
		*ret_root_hash = hex;
	}
	r = 0;
out:
	if (cd)
		crypt_free(cd);
	crypt_set_log_callback(NULL, NULL, NULL);
	explicit_bzero(root, sizeof(root));
	scratch_done(&data);
	scratch_done(&hash);
	return r;
}
