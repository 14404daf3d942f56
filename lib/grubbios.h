/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GRUB for BIOS, installed into an image file without grub-install or grub-bios-setup
 * (both need root to probe the target). The caller makes core.img with
 * `grub-mkimage -O i386-pc ...`; this module writes it contiguously at an LBA (1, the gap
 * after the MBR, on msdos; the start of a bios-grub partition on GPT) and GRUB's boot.img
 * into sector 0, patching exactly what grub-bios-setup --no-rs-codes patches:
 *   boot.img 0x5c        u64 LE: LBA of core.img's first sector
 *   boot.img 0x64        boot drive 0xff: the drive the BIOS passes
 *   boot.img 0x66-0x67   90 90: the hard disk workaround for BIOSes passing a bad drive
 *   boot.img 0x1b8-0x1fd kept from the image's sector 0 (disk signature, partition table)
 *   boot.img 0x1fe-0x1ff 55 aa
 *   core.img 0x1f4       u64 LE: start of its one block list entry {u64 start, u16 sectors,
 *                        u16 segment}, the LBA after core.img's first sector
 * core.img is checked first (a grub-mkimage block list: one entry, loading all but the first
 * sector to segment 0x820) and padded to whole sectors. No Reed-Solomon codes are added (GRUB
 * recovers the core with them when a tool wrote over the gap; we write it once).
 * Nothing else in the image is touched. Errors are logged here, once. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define GRUBBIOS_SECTOR 512u
/* GRUB's limit for a core.img loaded below 0x78000 from its link address 0x9000 (setup.c) */
#define GRUBBIOS_CORE_MAX_SECTORS 888u

/* Checks a boot.img: 512 bytes, GRUB's jump at 0 (eb 63), 55 aa at 0x1fe. */
int grubbios_check_boot(const void *boot, size_t size);
/* Checks a core.img as grub-mkimage -O i386-pc makes it and returns its size in whole
 * sectors (2..GRUBBIOS_CORE_MAX_SECTORS). */
int grubbios_check_core(const void *core, size_t size, uint64_t *ret_sectors);

/* Installs boot.img into sector 0 and core.img at core_lba of the image open at fd (read and
 * written with pread/pwrite; `image` names it in messages). end_lba is the first LBA core.img
 * may not use: the start of the first partition when core_lba is 1, the end of the bios-grub
 * partition otherwise. Refuses LBA 1 on a disk with a GPT header there, and anything past the
 * end of the image. */
int grubbios_install(int fd, const char *image, const void *boot, size_t boot_size,
		     const void *core, size_t core_size, uint64_t core_lba, uint64_t end_lba);
