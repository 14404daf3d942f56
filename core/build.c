/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "build.h"

#include <uuid/uuid.h>

#include <openssl/evp.h>
#include <sys/random.h>

#include "cryptio.h"
#include "log.h"

/* The names of the modes the context declares, for the stages that parse and print them. */
const char *const configure_mode_names[] = {
	[CONFIGURE_AUTO] = "auto",     [CONFIGURE_USERNS] = "userns", [CONFIGURE_VM] = "vm",
	[CONFIGURE_FIRST_BOOT] = "first-boot", [CONFIGURE_NONE] = "none", NULL,
};
const char *const shred_mode_names[] = { "none", "zero", "random", NULL };
const char *const fs_type_names[] = {
	[FS_NONE] = "none",
	[FS_EXT2] = "ext2",
	[FS_EXT3] = "ext3",
	[FS_EXT4] = "ext4",
	[FS_VFAT] = "vfat",
	NULL,
};

const char *fs_type_to_string(enum fs_type t)
{
	return t < _FS_TYPE_MAX ? fs_type_names[t] : "?";
}

const char *build_fs_uuid(const struct partition *p, char buf[static 37])
{
	if (p->fs.type == FS_VFAT)
		snprintf(buf, 37, "%02X%02X-%02X%02X", p->fs.uuid[0], p->fs.uuid[1], p->fs.uuid[2],
			 p->fs.uuid[3]);
	else
		uuid_unparse_lower(p->fs.uuid, buf);
	return buf;
}

const char *const bootloader_type_names[] = { "none", "grub-bios", "grub-efi", "grub-hybrid",
					      NULL };
const char *const init_system_names[] = { "sysvinit", "systemd", "busybox", NULL };

const struct node *build_kernel_needed(const struct build *b, const char **ret_why)
{
	if (b->configure == CONFIGURE_VM) {
		*ret_why = "vm boots the image's own kernel in QEMU";
		return b->configure_node;
	}
	if (b->initrd) {
		*ret_why = "the image boots with mkbootmedia's initramfs";
		return b->initrd_node;
	}
	return NULL;
}

void build_derive(const struct build *b, const char *purpose, uint8_t out[16])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;

	if (!b->seed) {
		size_t got = 0;

		while (got < 16) {
			ssize_t k = getrandom(out + got, 16 - got, 0);

			if (k > 0)
				got += (size_t)k;
			else if (errno != EINTR)
				abort(); /* the kernel's entropy source does not fail */
		}
		return;
	}
	/* Keyed by the seed and the purpose, as systemd-repart derives its UUIDs. */
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, "mkbootmedia\0", 12) ||
	    !EVP_DigestUpdate(ctx, b->seed, strlen(b->seed) + 1) ||
	    !EVP_DigestUpdate(ctx, purpose, strlen(purpose)) || !EVP_DigestFinal_ex(ctx, md, &mdlen))
		abort();
	EVP_MD_CTX_free(ctx);
	memcpy(out, md, 16);
}

void build_derive_uuid(const struct build *b, const char *purpose, uint8_t out[16])
{
	build_derive(b, purpose, out);
	out[6] = (out[6] & 0x0f) | 0x40;
	out[8] = (out[8] & 0x3f) | 0x80;
}

struct partition *build_esp(struct build *b)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (part_type_is_esp(&b->parts[i].type, b->table))
			return &b->parts[i];
	return NULL;
}

struct partition *build_part_at(struct build *b, const char *mount)
{
	for (size_t i = 0; i < b->n_parts; i++)
		if (b->parts[i].fs.mount && streq(b->parts[i].fs.mount, mount))
			return &b->parts[i];
	return NULL;
}

void encrypt_spec_free(struct encrypt_spec *e)
{
	if (!e)
		return;
	if (e->io_name)
		cryptio_manager_unregister(e->io_name);
	free(e->io_name);
	cryptio_cipher_free(e->cipher_ctx);
	free(e->cipher);
	free(e->pbkdf);
	free(e->passphrase_file);
	free(e->passphrase_env);
	free(e->keyfile);
	free(e->mapper_name);
	free(e->label);
	free(e->luks_uuid);
	free(e);
}

int build_find_kernel(struct build *b, const char *version, char **ret_version)
{
	_cleanup_free_ struct tree_dirent *d = NULL;
	const char *best = NULL;
	size_t n = 0;
	int r;

	if (version) {
		_cleanup_free_ char *path = xasprintf("/boot/vmlinuz-%s", version);

		r = tree_exists(b->tree, path);
		if (r < 0)
			return r;
		if (!r)
			return -ENOENT;
		*ret_version = xstrdup(version);
		return 0;
	}
	r = tree_list(b->tree, "/boot", &d, &n);
	if (r < 0 && r != -ENOENT)
		return r;
	for (size_t i = 0; i < n; i++)
		if (startswith(d[i].name, "vmlinuz-") && d[i].type != 'd' &&
		    (!best || strverscmp(d[i].name, best) > 0))
			best = d[i].name;
	if (best)
		*ret_version = xstrdup(best + strlen("vmlinuz-"));
	for (size_t i = 0; i < n; i++)
		free(d[i].name);
	return best ? 0 : -ENOENT;
}

/* kmod's view of the target tree. */
static int kio_read(void *userdata, const char *path, size_t max, char **ret, size_t *ret_size)
{
	return tree_read(userdata, path, max, ret, ret_size);
}

static int kio_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n);

struct kmod_io build_tree_io(struct build *b)
{
	return (struct kmod_io){ .userdata = b->tree, .read = kio_read, .list = kio_list };
}

static int kio_list(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n)
{
	struct tree_dirent *d;
	size_t n;
	int r = tree_list(userdata, path, &d, &n);

	if (r < 0)
		return r;
	*ret = xcalloc(n ? n : 1, sizeof(**ret));
	for (size_t i = 0; i < n; i++)
		(*ret)[i] = (struct kmod_dirent){ .name = d[i].name, .type = d[i].type };
	free(d);
	*ret_n = n;
	return 0;
}

int build_kmod_open(struct build *b, const char *version, struct kmod **ret)
{
	const struct kmod_io io = build_tree_io(b);
	_cleanup_free_ char *moddir = xasprintf("/lib/modules/%s", version);
	int r = tree_exists(b->tree, moddir);

	if (r < 0)
		return r;
	if (!r)
		return -ENOENT;
	return kmod_open(&io, moddir, ret);
}

struct partition *build_boot_part(struct build *b)
{
	struct partition *p = build_part_at(b, "/boot");

	return p ? p : build_part_at(b, "/");
}

char *build_root_spec(struct build *b)
{
	struct partition *p = build_part_at(b, "/");
	char u[37];

	if (!p)
		return NULL;
	if (p->enc)
		return xasprintf("/dev/mapper/%s", p->enc->mapper_name);
	if (p->fs.label && p->fs.label[0])
		return xasprintf("LABEL=%s", p->fs.label);
	uuid_unparse_lower(p->fs.uuid, u);
	return xasprintf("UUID=%s", u);
}
