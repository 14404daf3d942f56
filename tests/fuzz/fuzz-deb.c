/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The .deb reader (lib/deb.c): ar members, control.tar and data.tar in every compression,
 * entries and file data, as the packages stage reads them. */
#include <sys/mman.h>
#include <unistd.h>

#include "deb.h"
#include "deb822.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.deb", MFD_CLOEXEC);
	struct deb *d = NULL;
	const struct deb_member *ctl;
	struct deb_entry e;
	char buf[4096];
	size_t n;

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (deb_open(fd, "fuzz.deb", 1, &d) < 0) {
		deb_close(d);
		close(fd);
		return 0;
	}
	(void)deb_control_members(d, &n);
	ctl = deb_control(d, "control");
	if (ctl) {
		struct deb822 *c = NULL;

		if (deb822_parse(xstrndup(ctl->data, ctl->size), ctl->size, "control", &c) >= 0)
			deb822_free(c);
	}
	(void)deb_data_compression(d);
	(void)deb_data_size(d);
	while (deb_next(d, &e) > 0) {
		if (e.type == DEB_REG)
			while (deb_read(d, buf, sizeof(buf)) > 0)
				;
	}
	(void)deb_error(d);
	deb_close(d);
	close(fd);
	return 0;
}
