/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* `mkbootmedia flash IMAGE DEVICE [options]`: argv[0] is "flash". Returns the exit status. */
int flash_main(int argc, char **argv);
