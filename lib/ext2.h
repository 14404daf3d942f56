/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libext2fs adapter: creating a filesystem inside an image file at an offset (what
 * mke2fs -E offset=N does, without mke2fs), closing it, and translating errcode_t into our
 * -errno convention with one logged message. */
#pragma once

#include <ext2fs/ext2fs.h>
#include <time.h>

#include "util.h"

/* Which of the three: the features follow e2fsprogs 1.47's mke2fs.conf. */
enum ext2_kind {
	EXT2_KIND_EXT2,
	EXT2_KIND_EXT3,
	EXT2_KIND_EXT4,
	_EXT2_KIND_MAX,
};
const char *ext2_kind_to_string(enum ext2_kind k);

struct ext2_params {
	enum ext2_kind type;
	uint64_t offset;      /* bytes from the start of the image */
	uint64_t size;        /* bytes */
	unsigned block_size;  /* 0: 1024 below 512 MiB, 4096 otherwise (mke2fs.conf's "small") */
	unsigned inode_size;  /* 0: 256 (128 below 3 MiB, "floppy") */
	unsigned inode_ratio; /* bytes per inode; 0: 4096 below 512 MiB, 16384 otherwise */
	uint64_t inodes;      /* 0: from inode_ratio */
	unsigned reserved_percent; /* blocks reserved for root */
	const char *label;    /* <= 16 bytes, may be NULL */
	uint8_t uuid[16];
	uint8_t hash_seed[16];
	time_t now;           /* every timestamp the filesystem gets */
	bool zeroed;          /* the region already reads as zeros (a fresh sparse file): the
			       * inode tables are not written, so the image stays sparse */
	io_manager manager;   /* NULL: unix I/O on `image` at `offset`; else this manager, */
	const char *io_name;  /* opened with this name (which places the data itself) */
};

/* Smallest size we accept for a filesystem of this type (enough for the metadata). */
uint64_t ext2_min_size(enum ext2_kind type);

/* Creates the filesystem and returns it open for writing. */
int ext2_mkfs(const char *image, const struct ext2_params *p, ext2_filsys *ret_fs);
/* Flushes and frees; NULLs *fs. Logs errors. */
int ext2_close(ext2_filsys *fs, const char *what);
/* Frees without flushing (after a failure: the image is discarded anyway). */
void ext2_abandon(ext2_filsys *fs);

/* Logs "<what>: <libext2fs message>" and returns a matching -errno. */
int ext2_log_error(errcode_t err, const char *fmt, ...) _printf_(2, 3);
/* The text of a libext2fs error code (the ext2 error table is registered on first use). */
const char *ext2_strerror(errcode_t err);
/* The image file the filesystems are written to (fd -1: none), named `name` in messages: a
 * write that fails because the disk holding it is full then says so, and by how much. */
void ext2_set_image(int fd, const char *name);
/* The -errno matching err, without logging. */
int ext2_errno(errcode_t err);
/* The directory entry file type (EXT2_FT_*) of an inode mode. */
int ext2_mode_ftype(unsigned mode);
/* Links ino as name at the end of directory dir (never looking for a duplicate), or
 * EXT2_ET_DIR_NO_SPACE when its last block is full (grow it with ext2fs_expand_dir). buf is
 * scratch of one block. ret_lblk (may be NULL): the directory block that got the name, or
 * EXT2_DIR_BLOCK_UNKNOWN when ext2fs_link placed it. */
#define EXT2_DIR_BLOCK_UNKNOWN ((blk64_t)-1)
errcode_t ext2_dir_append(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			  int ftype, char *buf, blk64_t *ret_lblk);
/* Removes name from block lblk of directory dir, zeroing its bytes; EXT2_ET_FILE_NOT_FOUND when that block does
 * not hold it (then ext2fs_unlink can search the whole directory). */
errcode_t ext2_dir_remove(ext2_filsys fs, ext2_ino_t dir, blk64_t lblk, const char *name,
			  char *buf);
/* Removes name (pointing at ino; 0: at anything) from directory dir, as ext2fs_unlink does,
 * but leaves no byte of the name behind, and no trace of it in the block's layout: the
 * entries after it move up, the block's free room (zeroed) stays at its end.
 * EXT2_ET_FILE_NOT_FOUND when dir has no such entry. */
errcode_t ext2_dir_unlink(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino);
/* From now on every block fs frees is zeroed (ext2_mkfs() sets this up): nothing a deleted file
 * held stays in the image. */
void ext2_scrub_frees(ext2_filsys fs);
/* Writes ino as a deleted inode: every byte zero but its deletion time `dtime` (clamped to
 * the build's time by the caller). The caller updates the bitmaps. */
errcode_t ext2_inode_clear(ext2_filsys fs, ext2_ino_t ino, time_t dtime);
