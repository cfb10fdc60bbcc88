/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * serial_termios2.h - arbitrary line speeds through the kernel's termios2
 * (TCGETS2/TCSETS2 with BOTHER), for serial.c and its tests.
 *
 * A translation unit of its own because glibc's <termios.h> and the
 * kernel's <asm/termbits.h> define the same names and cannot be included
 * together; taking the kernel's own header (rather than copying its struct)
 * keeps the layout right on every architecture, whose NCCS and field
 * order differ (mips, sparc, alpha).  Nothing here touches the other
 * termios flags.
 */
#ifndef SLUICE_SERIAL_TERMIOS2_H
#define SLUICE_SERIAL_TERMIOS2_H

#include <stdint.h>

/*
 * Set the input and output speed of fd to baud (bits per second) as a
 * BOTHER rate, keeping every other setting.  Returns 0 or -1 (errno;
 * ENOTSUP where the architecture has no termios2).
 */
int serial_termios2_set_speed(int fd, uint32_t baud);

/*
 * The speeds the driver reports now, in bits per second, whether they
 * were set as a standard rate or as BOTHER: drivers write back the rate
 * they actually use, so this is how a caller learns a rate was refused.
 * Returns 0 or -1 (errno); the out-parameters are untouched on failure.
 */
int serial_termios2_get_speed(int fd, uint32_t *ispeed, uint32_t *ospeed);

#endif
