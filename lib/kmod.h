/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel module dependency resolution for the initramfs: which modules of a kernel's
 * /lib/modules/VERSION to copy, in which order to load them, and the modules.dep that
 * busybox modprobe needs inside the initramfs.
 *
 * The kernel tree lives in the image, not on the host: every file is read through the
 * caller's struct kmod_io. Debian's linux-image .deb ships no modules.dep (its postinst runs
 * depmod), so when modules.dep is absent the tree is walked for module files and each
 * needed module's ELF .modinfo section is read for its depends= and softdep= fields, as
 * depmod would.
 *
 * Module names follow the kernel's rule: '-' and '_' are the same, and names are reported
 * with '_' ("usb-storage" is "usb_storage"). A module's name is its file's basename without
 * ".ko" and the compression suffix (".ko.xz", ".ko.zst", ".ko.gz").
 *
 * Runs single-threaded and logs its errors (builder/log.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define KMOD_FILE_MAX (UINT64_C(64) << 20)  /* a module file, compressed or not */
#define KMOD_INDEX_MAX (UINT64_C(32) << 20) /* modules.dep, modules.alias, ... */

struct kmod_dirent {
	char *name;
	char type; /* 'd' directory, 'f' regular file, 'l' symlink, '?' unknown */
};

/* How kmod reads the target tree. Paths are absolute in the target ("/lib/modules/..."). */
struct kmod_io {
	void *userdata;
	/* The whole file (following symlinks), NUL-terminated (size does not count the NUL),
	 * at most max bytes, else -EFBIG; -ENOENT when absent. */
	int (*read)(void *userdata, const char *path, size_t max, char **ret_data,
		    size_t *ret_size);
	/* The entries of a directory, without "." and "..", sorted by name (strcmp); -ENOENT
	 * when absent. The caller frees each name and the array. */
	int (*list)(void *userdata, const char *path, struct kmod_dirent **ret, size_t *ret_n);
};

struct kmod;

/* Opens the modules of one kernel: `moddir` is "/lib/modules/VERSION" (VERSION is its last
 * component, used in messages). Reads, when present:
 *  - modules.builtin: the modules built into the kernel (absent: none);
 *  - modules.dep: the modules and their full dependency lists, as depmod wrote them
 *    (paths relative to moddir; .ko, .ko.xz, .ko.zst and .ko.gz). When it is absent,
 *    every module file under moddir is indexed instead (directories "build" and
 *    "source" are skipped, symlinks to directories are not followed); a name found
 *    twice keeps the file under "updates/", else the first in sorted path order, as
 *    depmod's default "search updates built-in";
 *  - modules.softdep: the soft dependencies. When it is absent, a module's softdep=
 *    fields are read from its .modinfo, as its depends= fields are without modules.dep.
 *    Every line of a module counts (libkmod 30 reads only the first one);
 *  - modules.alias and modules.builtin.modinfo, only when an alias has to be resolved.
 * `io` is copied; its userdata must outlive the kmod. */
int kmod_open(const struct kmod_io *io, const char *moddir, struct kmod **ret);
struct kmod *kmod_free(struct kmod *k); /* accepts NULL, returns NULL */
static inline void kmod_freep(struct kmod **k)
{
	kmod_free(*k);
}

const char *kmod_version(const struct kmod *k);

enum kmod_kind {
	KMOD_UNKNOWN, /* neither a module nor built in */
	KMOD_MODULE,  /* a module file (possibly found through an alias) */
	KMOD_BUILTIN, /* built into the kernel (by name or through an alias) */
};

/* What `name` is in this kernel, looked up in modprobe's order: a module name, then an
 * alias of modules, then a built-in name or an alias of a built-in module
 * (modules.builtin.modinfo). So "crc32", built in but also an alias of crc32_generic, is
 * a module. The aliases of modules come from modules.alias, else from the alias= fields
 * of the modules under kernel/crypto and kernel/arch/ARCH/crypto, where soft dependencies
 * point ("crypto-crc32c"); other aliases ("platform:leds-gpio") need modules.alias. Fails
 * only when an alias table cannot be read. */
int kmod_lookup(struct kmod *k, const char *name, enum kmod_kind *ret_kind);

/* Adds the modules `names` (NULL-terminated) to the selection, with everything they need:
 * their dependencies (modules.dep or the depends= of .modinfo, transitively) and soft
 * dependencies (modules.softdep or softdep=: "pre:" modules before, "post:" modules after;
 * an alias such as "crypto-crc32c" brings every module that provides it; a softdep that
 * is neither a module nor an alias of one is skipped, with a debug line).
 *
 * Names are looked up as kmod_lookup() does. A built-in name is skipped (debug line). An
 * unknown name is an error when `required` ("module 'foo' is not in kernel VERSION: not
 * under MODDIR and not built in (check the name with modinfo, or remove it from the
 * list)", or "(did you mean 'bar'?)" for a close name; -ENOENT), else skipped with a debug
 * line: for default lists, not all of whose modules exist in every kernel. A missing
 * dependency, an unreadable or malformed module is always an error.
 *
 * The selection is kept in load order: each module after all its dependencies and its pre
 * soft dependencies, modules of one call after those of earlier calls, and otherwise in
 * the order modprobe would load them (names in the order given; dependencies from the end
 * of their modules.dep line). A module is selected once. A dependency cycle (impossible in
 * a depmod'ed tree) is broken where it is found, with a warning.
 *
 * ret_builtin and ret_unknown (may be NULL) count the names skipped as built in and as
 * unknown; set only on success. On failure the selection is left as it was. */
int kmod_resolve(struct kmod *k, char *const *names, bool required, size_t *ret_builtin,
		 size_t *ret_unknown);

/* The selection, in load order. i < kmod_count(k). */
size_t kmod_count(const struct kmod *k);
const char *kmod_name(const struct kmod *k, size_t i); /* normalised, "usb_storage" */
/* The module's file relative to moddir, as in the tree ("kernel/fs/ext4/ext4.ko.xz"). */
const char *kmod_path(const struct kmod *k, size_t i);
/* Its path relative to moddir inside the initramfs, where it is stored decompressed
 * ("kernel/fs/ext4/ext4.ko"). */
const char *kmod_initrd_path(const struct kmod *k, size_t i);
/* Its full (transitive) dependency list, as selection indices in depmod's order: a module
 * before the modules it needs, so that modprobe loads them from the last to the first.
 * Soft dependencies are not in it. */
const size_t *kmod_deps(const struct kmod *k, size_t i, size_t *ret_n);

/* The module's bytes, decompressed (xz, zstd and gzip, through libarchive), at most
 * KMOD_FILE_MAX. The buffer is malloc'ed and NUL-terminated (not counted in the size). */
int kmod_module_data(struct kmod *k, size_t i, char **ret_data, size_t *ret_size);

/* modules.dep for exactly the selection, in depmod's format with the initramfs (.ko) paths:
 * one line per selected module, in load order, "PATH: DEP DEP ..." (just "PATH:" without
 * dependencies), the dependencies as kmod_deps() gives them. */
int kmod_dep_text(const struct kmod *k, char **ret);
/* The selection's initramfs paths in load order, one per line (a modules.order). */
int kmod_order_text(const struct kmod *k, char **ret);

/* The strings of the ELF .modinfo section of a module ("license=GPL", "depends=a,b", ...),
 * in order, empty strings (padding) left out, as a NULL-terminated list. ELF32 and ELF64,
 * either byte order. Every offset and size is checked against `size`: a truncated or
 * malformed ELF returns -EBADMSG; one without a .modinfo section -ENODATA. Does not log:
 * the caller names the file. */
int modinfo_parse(const void *elf, size_t size, char ***ret_strv);
