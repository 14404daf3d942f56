/* SPDX-License-Identifier: GPL-2.0-or-later */
/* configure: vm (placeholder until the QEMU runner lands). */
#include "configure.h"
#include "log.h"

int configure_vm(struct build *b, const char *what, const char *script)
{
	return log_fail("%s: configure: vm is not available yet", what);
}
