/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libext2fs adapter's messages: error codes print their text, not "Unknown code". */
#include "capture.h"
#include "check.h"
#include "ext2.h"

static void test_strerror(void)
{
	/* The first message printed must already be right: nothing was registered before. */
	CHECK_STREQ(ext2_strerror(EXT2_ET_SHORT_WRITE),
		    "Attempt to write block to filesystem resulted in short write");
	CHECK_STREQ(ext2_strerror(EXT2_ET_DIR_NO_SPACE), "No free space in the directory");
	CHECK_STREQ(ext2_strerror(ENOSPC), "No space left on device");
}

static void test_log_error(void)
{
	_cleanup_free_ char *out = NULL;
	int r;

	capture_begin();
	r = ext2_log_error(EXT2_ET_BLOCK_ALLOC_FAIL, "cannot write '%s'", "/big");
	out = capture_end();
	CHECK(r == -ENOSPC);
	CHECK_STREQ(out, "error: cannot write '/big': Could not allocate block in ext2 filesystem");
}

int main(void)
{
	RUN_TEST(test_strerror);
	RUN_TEST(test_log_error);
	CHECK_EXIT();
}
