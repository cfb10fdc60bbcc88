/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * serial.h - serial lines: opening a device safely on the engine's behalf,
 * raw framing at any rate, RS-485 direction control, and the transmit
 * state the engine polls instead of blocking in tcdrain().
 *
 * serial_open_checked() runs in the privileged monitor; everything else in
 * the engine on an fd the monitor passed down.  Nothing here blocks or
 * logs; errors come back as -1 with errno and a one-line reason in
 * the caller's buffer (always NUL-terminated when errlen > 0), in which
 * untrusted strings (the path, the name) are escaped by log_quote().
 */
#ifndef SLUICE_SERIAL_H
#define SLUICE_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the policy asks for. */
enum serial_rs485_want {
	SERIAL_RS485_AUTO,      /* kernel if the driver can, else RTS, else plain */
	SERIAL_RS485_KERNEL,    /* the driver's RS-485 mode, or fail */
	SERIAL_RS485_RTS,       /* the engine toggles RTS, or fail */
	SERIAL_RS485_OFF,       /* no direction control (RS-232, auto-direction adapters) */
};

/* What serial_configure() set up. */
enum serial_rs485_mode {
	SERIAL_MODE_PLAIN,      /* nothing to do around a send */
	SERIAL_MODE_KERNEL,     /* the driver drives RTS around each send */
	SERIAL_MODE_RTS,        /* caller: RTS on, delay_before, send, wait for
	                         * serial_tx_empty(), delay_after, RTS off */
};

struct serial_params {
	uint32_t baud;             /* any rate 50..4000000; non-standard rates via termios2 BOTHER */
	unsigned data_bits;        /* 7 or 8 */
	char parity;               /* 'N', 'E', 'O' */
	unsigned stop_bits;        /* 1 or 2 */
	enum serial_rs485_want rs485;
	uint32_t delay_before_us, delay_after_us;   /* RTS before/after send (kernel: in ms, rounded up) */
};

/*
 * Open a serial device for the privileged monitor on behalf of the
 * unprivileged engine (path from the engine, untrusted).  Race-free and
 * never opens anything that is not a tty for reading or writing: the path
 * is opened O_PATH (symbolic links such as /dev/serial/by-id/... are
 * followed), the inode must be a character device of the sysfs "tty"
 * class or a UNIX98 pty slave (majors 136..143); then "/proc/self/fd/N"
 * is reopened O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, checked again
 * (isatty, same st_rdev) and made exclusive (TIOCEXCL: no other
 * unprivileged process can open the line meanwhile).
 *
 * Refused as well, before the device is opened: /dev/tty, /dev/console,
 * /dev/ptmx and the other major-5 devices, the virtual consoles
 * (4:0..4:63), BSD pty masters (major 2), a tty that is the kernel's
 * console (/sys/class/tty/console/active), and a tty that is the
 * controlling terminal of any process (an administrator's login
 * session): handing those to the engine would let it read or inject
 * keystrokes.
 *
 * TIOCEXCL lasts as long as the kernel's tty does: for a UART until the
 * last descriptor is closed, but for a pty slave until its master closes
 * too, so an unprivileged monitor (a demo, a test) cannot reopen a pty
 * (EBUSY) unless the holder cleared it with ioctl(fd, TIOCNXCL) before
 * closing.  Root (CAP_SYS_ADMIN) is not bound by it.
 *
 * path must be absolute and shorter than 256 bytes.  Returns the fd, or -1
 * with errno (EINVAL for a bad path, ENOTTY for anything that is not an
 * allowed tty, EBUSY for a console or controlling terminal, else the
 * failing call's) and a reason in err, e.g.
 * "/dev/null: not a serial device (character device 1:3 is not a tty)".
 */
int serial_open_checked(const char *path, char *err, size_t errlen);

/*
 * Raw mode (no echo, no canonical input, no signals, no CR/NL mapping, no
 * software or hardware flow control, CLOCAL|CREAD, VMIN=0 VTIME=0) with
 * the given framing, read back to check the driver took it.  Standard
 * rates are set with cfsetspeed(), others as termios2 BOTHER; a driver
 * that substitutes a rate more than 2% off is an error.
 *
 * With parity on, INPCK is set and IGNPAR and PARMRK are off: a character
 * received with a parity or framing error arrives as the byte 0x00 (and a
 * break as 0x00 too), which the protocol's CRC then rejects.
 *
 * Then RS-485 as p->rs485 asks:
 *   AUTO    TIOCSRS485 (SER_RS485_ENABLED|SER_RS485_RTS_ON_SEND and the
 *           delays in ms, rounded up; the kernel caps them, at 100 ms in
 *           current kernels); when the driver has no RS-485 support
 *           (ENOTTY, EINVAL, ENOIOCTLCMD, EOPNOTSUPP) RTS toggling if
 *           TIOCMGET/TIOCMBIC work, else PLAIN (a pty).
 *   KERNEL  TIOCSRS485 or fail.
 *   RTS     TIOCMBIC(RTS) must work, else fail; RTS is left off.
 *   OFF     PLAIN.
 * For RTS and OFF, a kernel RS-485 mode left on (by an earlier
 * configuration) is switched off, since it would drive RTS as well; that
 * failing is an error.
 *
 * Both queues are flushed (TCIOFLUSH) at the end.  *mode says what was set
 * up; it is untouched on failure (the line's settings may be half done:
 * configure again or close it).  Returns 0 or -1 with errno and err, e.g.
 * "/dev/ttyUSB0: baud 12345678: out of range 50..4000000"; name is used in
 * messages only.
 */
int serial_configure(int fd, const char *name, const struct serial_params *p,
    enum serial_rs485_mode *mode, char *err, size_t errlen);

/* RTS on/off (TIOCMBIS/TIOCMBIC).  0 or -1 (errno). */
int serial_set_rts(int fd, bool on);

/*
 * Bytes still in the driver's output queue (TIOCOUTQ); and whether the
 * transmitter is fully empty, shift register included (TIOCSERGETLSR &
 * TIOCSER_TEMT; where that ioctl is unsupported - USB adapters, ptys -
 * TIOCOUTQ == 0, which does not see an adapter's own FIFO).  The engine
 * polls these on a timer instead of calling tcdrain(), which blocks.
 * 0 or -1 (errno); the out-parameter is untouched on failure.
 */
int serial_outq(int fd, int *bytes);
int serial_tx_empty(int fd, bool *empty);

/*
 * Microseconds one character takes on the line: (1 start + data + parity
 * + stop bits) * 1e6 / baud, rounded up.  0 for invalid params.
 */
uint32_t serial_char_us(const struct serial_params *p);

#endif
