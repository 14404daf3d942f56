/* SPDX-License-Identifier: GPL-2.0-or-later */
/* configure: first-boot (placeholder). */
#include "configure.h"
#include "log.h"

int configure_first_boot(struct build *b, const char *what, const char *script)
{
	return log_fail("%s: configure: first-boot is not available yet", what);
}
