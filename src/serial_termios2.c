/* SPDX-License-Identifier: GPL-3.0-or-later */
/* serial_termios2.c - BOTHER line speeds (see serial_termios2.h). */
#include "config.h"

/* The kernel's termios, not glibc's: never include <termios.h> here. */
#include <asm/termbits.h>
#include <errno.h>
#include <sys/ioctl.h>

#include "serial_termios2.h"

#if defined(TCGETS2) && defined(TCSETS2) && defined(BOTHER)

static int
get2(int fd, struct termios2 *t)
{
	int rc;

	do
		rc = ioctl(fd, TCGETS2, t);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : 0;
}

int
serial_termios2_set_speed(int fd, uint32_t baud)
{
	struct termios2 t;
	int rc;

	if (baud == 0) {
		errno = EINVAL;
		return -1;
	}
	if (get2(fd, &t) < 0)
		return -1;
	t.c_cflag &= ~(tcflag_t)CBAUD;
	t.c_cflag |= BOTHER;
#ifdef CIBAUD
	/* A zero input rate field means "same as output"; set it anyway so
	 * a driver that reads c_ispeed sees the same rate. */
	t.c_cflag &= ~(tcflag_t)CIBAUD;
	t.c_cflag |= (tcflag_t)BOTHER << IBSHIFT;
#endif
	t.c_ispeed = baud;
	t.c_ospeed = baud;
	do
		rc = ioctl(fd, TCSETS2, &t);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : 0;
}

int
serial_termios2_get_speed(int fd, uint32_t *ispeed, uint32_t *ospeed)
{
	struct termios2 t;

	if (get2(fd, &t) < 0)
		return -1;
	*ispeed = t.c_ispeed;
	*ospeed = t.c_ospeed;
	return 0;
}

#else /* no termios2 on this architecture (powerpc: speeds are in termios) */

int
serial_termios2_set_speed(int fd, uint32_t baud)
{
	(void)fd;
	(void)baud;
	errno = ENOTSUP;
	return -1;
}

int
serial_termios2_get_speed(int fd, uint32_t *ispeed, uint32_t *ospeed)
{
	(void)fd;
	(void)ispeed;
	(void)ospeed;
	errno = ENOTSUP;
	return -1;
}

#endif
