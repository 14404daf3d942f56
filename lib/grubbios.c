// SPDX-License-Identifier: GPL-2.0-or-later
/* The offsets are GRUB 2.06's (include/grub/i386/pc/boot.h, util/setup.c); grub-bios-setup
 * patches the same ones, in the same order: block list, boot.img fields, partition table. */
#include "grubbios.h"

#include <inttypes.h>
#include <sys/stat.h>

#include "log.h"

#define SECTOR GRUBBIOS_SECTOR
#define BOOT_KERNEL_SECTOR 0x5c  /* u64: LBA of core.img */
#define BOOT_DRIVE 0x64          /* 0xff: the drive the BIOS passes in %dl */
#define BOOT_DRIVE_CHECK 0x66    /* a jmp over the workaround; nop'ed for hard disks */
#define BOOT_TABLE_START 0x1b8   /* Windows NT magic (disk signature) .. partition table */
#define BOOT_SIGNATURE 0x1fe
#define LIST_FIRST 0x1f4         /* core.img: first block list entry, the list grows down */
#define LIST_ENTRY 12u           /* {u64 start, u16 sectors, u16 segment} */
#define CORE_SEGMENT 0x820       /* where diskboot loads the rest of the core */
#define GPT_LAST_ENTRY_LBA 33u   /* the primary GPT: header at LBA 1, entries up to 33 */

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static void put_le(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

int grubbios_check_boot(const void *boot, size_t size)
{
	const uint8_t *b = boot;

	if (size != SECTOR)
		return log_fail("boot.img is %zu bytes, expected %u", size, SECTOR);
	if (b[0] != 0xeb || b[1] != 0x63)
		return log_fail("boot.img is not GRUB's i386-pc boot.img (no jump to 0x65 at its "
				"start)");
	if (b[BOOT_SIGNATURE] != 0x55 || b[BOOT_SIGNATURE + 1] != 0xaa)
		return log_fail("boot.img has no boot signature (55 aa at 0x1fe)");
	return 0;
}

#define NOT_MKIMAGE "not made by grub-mkimage -O i386-pc"

int grubbios_check_core(const void *core, size_t size, uint64_t *ret_sectors)
{
	const uint8_t *c = core, *next = c + LIST_FIRST - LIST_ENTRY;
	uint64_t sectors = align_up(size, SECTOR) / SECTOR;
	unsigned listed, segment;

	if (sectors < 2)
		return log_fail("core.img is %zu bytes: too small for a GRUB core (at least 2 "
				"sectors)",
				size);
	listed = (unsigned)get_le(c + LIST_FIRST + 8, 2);
	segment = (unsigned)get_le(c + LIST_FIRST + 10, 2);
	if (segment != CORE_SEGMENT)
		return log_fail("core.img's block list loads to segment 0x%04x, expected 0x%04x: "
				NOT_MKIMAGE,
				segment, CORE_SEGMENT);
	if (get_le(next + 8, 2) != 0)
		return log_fail("core.img's block list has more than one entry: " NOT_MKIMAGE);
	if (listed != sectors - 1)
		return log_fail("core.img is %" PRIu64 " sectors but its block list loads %u after "
				"the first, expected %" PRIu64 ": truncated or " NOT_MKIMAGE,
				sectors, listed, sectors - 1);
	if (sectors > GRUBBIOS_CORE_MAX_SECTORS)
		return log_fail("core.img (%" PRIu64 " sectors) is larger than GRUB's limit of %u "
				"sectors for BIOS boot: give grub-mkimage fewer modules",
				sectors, GRUBBIOS_CORE_MAX_SECTORS);
	*ret_sectors = sectors;
	return 0;
}

/* Whether core.img fits in [core_lba, end_lba); logs why not. */
static int check_fit(uint64_t sectors, uint64_t core_lba, uint64_t end_lba)
{
	if (core_lba == 0)
		return log_fail("cannot put core.img at LBA 0: that is the MBR");
	if (end_lba <= core_lba)
		return log_fail("core.img (%" PRIu64 " sectors) does not fit: no free sector at "
				"LBA %" PRIu64,
				sectors, core_lba);
	if (sectors <= end_lba - core_lba)
		return 0;
	if (core_lba == 1)
		return log_fail("core.img (%" PRIu64 " sectors) does not fit in the gap before the "
				"first partition (%" PRIu64 " sectors free from LBA 1 to %" PRIu64
				"): start the first partition at 1 MiB (image.align)",
				sectors, end_lba - 1, end_lba - 1);
	return log_fail("core.img (%" PRIu64 " sectors) does not fit in the bios-grub partition "
			"(%" PRIu64 " sectors from LBA %" PRIu64 " to %" PRIu64 "): make it at "
			"least %" PRIu64 " KiB",
			sectors, end_lba - core_lba, core_lba, end_lba - 1,
			align_up(sectors * SECTOR, 1024) / 1024);
}

int grubbios_install(int fd, const char *image, const void *boot, size_t boot_size,
		     const void *core, size_t core_size, uint64_t core_lba, uint64_t end_lba)
{
	_cleanup_free_ uint8_t *padded = NULL;
	uint8_t mbr[SECTOR], old[SECTOR];
	uint64_t sectors;
	struct stat st;
	int r;

	r = grubbios_check_boot(boot, boot_size);
	if (r < 0)
		return r;
	r = grubbios_check_core(core, core_size, &sectors);
	if (r < 0)
		return r;
	r = check_fit(sectors, core_lba, end_lba);
	if (r < 0)
		return r;

	if (fstat(fd, &st) < 0)
		return log_errno(errno, "cannot stat '%s'", image);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size / SECTOR < core_lba + sectors)
		return log_fail("'%s' is %" PRIu64 " sectors: too small for core.img at LBA %" PRIu64
				"..%" PRIu64,
				image, (uint64_t)st.st_size / SECTOR, core_lba,
				core_lba + sectors - 1);
	r = pread_all(fd, old, SECTOR, 0);
	if (r < 0)
		return log_errno(r, "cannot read sector 0 of '%s'", image);
	if (core_lba <= GPT_LAST_ENTRY_LBA) {
		uint8_t hdr[8];

		r = pread_all(fd, hdr, sizeof(hdr), SECTOR);
		if (r < 0)
			return log_errno(r, "cannot read sector 1 of '%s'", image);
		if (memcmp(hdr, "EFI PART", 8) == 0)
			return log_fail("'%s' has a GPT: core.img at LBA %" PRIu64 " would overwrite "
					"it; put core.img into a bios-grub partition",
					image, core_lba);
	}

	/* core.img, padded to whole sectors, its block list pointing after its first sector */
	padded = xcalloc(sectors, SECTOR);
	memcpy(padded, core, core_size);
	put_le(padded + LIST_FIRST, 8, core_lba + 1);
	r = pwrite_all(fd, padded, sectors * SECTOR, core_lba * SECTOR);
	if (r < 0)
		return log_errno(r, "cannot write core.img to '%s'", image);

	/* boot.img around the image's disk signature and partition table */
	memcpy(mbr, boot, SECTOR);
	put_le(mbr + BOOT_KERNEL_SECTOR, 8, core_lba);
	mbr[BOOT_DRIVE] = 0xff;
	mbr[BOOT_DRIVE_CHECK] = 0x90;
	mbr[BOOT_DRIVE_CHECK + 1] = 0x90;
	memcpy(mbr + BOOT_TABLE_START, old + BOOT_TABLE_START, BOOT_SIGNATURE - BOOT_TABLE_START);
	mbr[BOOT_SIGNATURE] = 0x55;
	mbr[BOOT_SIGNATURE + 1] = 0xaa;
	r = pwrite_all(fd, mbr, SECTOR, 0);
	if (r < 0)
		return log_errno(r, "cannot write the boot sector of '%s'", image);
	return 0;
}
