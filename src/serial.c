/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * serial.c - serial lines (see serial.h).
 *
 * The open path is the monitor's: the engine names a file and root opens
 * it, so nothing but a tty may ever be opened for reading or writing (an
 * O_RDWR open of /dev/watchdog arms it, of a tape rewinds it).  The
 * O_PATH descriptor pins the inode the checks looked at; reopening it
 * through /proc/self/fd cannot be redirected by a rename or a symbolic
 * link swapped in between.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/serial.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "serial.h"
#include "serial_termios2.h"

#define SERIAL_PATH_MAX  256
#define SERIAL_BAUD_MIN  50
#define SERIAL_BAUD_MAX  4000000
/* A driver's rate more than this far (1/50 = 2%) off the asked one is an
 * error: an 8-bit character sampled mid-bit drifts by half a bit at ~5%,
 * and the other end has its own error. */
#define SERIAL_BAUD_TOLERANCE 50

/* The kernel's "driver has no such ioctl", leaked by some drivers. */
#define SERIAL_ENOIOCTLCMD 515

/* UNIX98 pty slaves (/dev/pts/N); they have no sysfs entry. */
#define PTY_SLAVE_MAJOR_FIRST 136
#define PTY_SLAVE_MAJOR_LAST  143

static const struct {
	uint32_t baud;
	speed_t code;
} std_rates[] = {
	{ 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
	{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
	{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
#ifdef B460800
	{ 460800, B460800 },
#endif
#ifdef B500000
	{ 500000, B500000 }, { 576000, B576000 }, { 921600, B921600 },
	{ 1000000, B1000000 }, { 1152000, B1152000 }, { 1500000, B1500000 },
	{ 2000000, B2000000 },
#endif
#ifdef B4000000
	{ 2500000, B2500000 }, { 3000000, B3000000 }, { 3500000, B3500000 },
	{ 4000000, B4000000 },
#endif
};

static int
fail(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fill err, set errno to e, return -1. */
static int
fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

static bool
is_pty_slave(dev_t rdev)
{
	return major(rdev) >= PTY_SLAVE_MAJOR_FIRST &&
	    major(rdev) <= PTY_SLAVE_MAJOR_LAST;
}

/* errno of an ioctl the driver does not implement. */
static bool
unsupported(int e)
{
	return e == ENOTTY || e == EINVAL || e == EOPNOTSUPP ||
	    e == SERIAL_ENOIOCTLCMD;
}

static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a character device";
}

/*
 * The last component of the symbolic link at path, into buf.  0, or -1
 * (errno) when it cannot be read.
 */
static int
link_base(const char *path, char *buf, size_t n)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t len;

	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -1;
	target[len] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strlen(base) >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, base);
	return 0;
}

/* Whether name is one of the words of the kernel's active consoles. */
static bool
is_kernel_console(const char *name)
{
	char buf[512], *tok, *save;
	ssize_t len;
	int fd;

	fd = open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\n", &save))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

/*
 * Character device st may be handed to the engine: a tty of the sysfs
 * "tty" class or a UNIX98 pty slave, and not one that reaches a console
 * or makes a new pty.  q is the quoted path for messages.
 */
static int
check_tty_inode(const char *q, const struct stat *st, char *err,
    size_t errlen)
{
	char link[64], name[64];
	unsigned maj, min;

	if (!S_ISCHR(st->st_mode))
		return fail(err, errlen, ENOTTY, "%s: not a serial device (%s)",
		    q, file_kind(st->st_mode));
	maj = major(st->st_rdev);
	min = minor(st->st_rdev);
	/* 5:x is /dev/tty, /dev/console, /dev/ptmx, ttyprintk; 4:0..63 the
	 * virtual consoles; 2:x BSD pty masters.  All are in the tty class. */
	if (maj == 5 || maj == 2 || (maj == 4 && min < 64))
		return fail(err, errlen, ENOTTY, "%s: not a serial device "
		    "(character device %u:%u is a terminal, console or pty "
		    "master)", q, maj, min);
	if (is_pty_slave(st->st_rdev))
		return 0;
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/subsystem", maj, min);
	if (link_base(link, name, sizeof(name)) < 0) {
		int e = errno;

		if (e == ENOENT && access("/sys/dev/char", F_OK) == 0)
			return fail(err, errlen, ENOTTY, "%s: not a serial "
			    "device (character device %u:%u is not a tty)",
			    q, maj, min);
		return fail(err, errlen, e, "%s: cannot tell whether "
		    "character device %u:%u is a tty: %s: %s", q, maj, min,
		    link, strerror(e));
	}
	if (strcmp(name, "tty") != 0)
		return fail(err, errlen, ENOTTY, "%s: not a serial device "
		    "(character device %u:%u is not a tty)", q, maj, min);
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u", maj, min);
	if (link_base(link, name, sizeof(name)) == 0 && is_kernel_console(name))
		return fail(err, errlen, EBUSY, "%s: %s is the kernel's "
		    "console", q, name);
	return 0;
}

/*
 * The pid of a process whose controlling terminal rdev is, or 0.  -1 when
 * /proc cannot be read.  tty_nr in /proc/PID/stat is the kernel's
 * new_encode_dev() of the device number.
 */
static pid_t
ctty_user(dev_t rdev)
{
	unsigned maj = major(rdev), min = minor(rdev);
	unsigned enc = (min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12);
	struct dirent *de;
	pid_t found = 0;
	DIR *d;

	d = opendir("/proc");
	if (d == NULL)
		return -1;
	while (found == 0 && (de = readdir(d)) != NULL) {
		char path[64], buf[512];
		const char *s;
		char *end;
		ssize_t len;
		long pid;
		int fd, tty_nr;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;       /* exited meanwhile */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "pid (comm) state ppid pgrp session tty_nr ...": comm may
		 * hold anything, so parse from its last ')'. */
		s = strrchr(buf, ')');
		if (s == NULL ||
		    sscanf(s + 1, " %*c %*d %*d %*d %d", &tty_nr) != 1)
			continue;
		if ((unsigned)tty_nr == enc)
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

int
serial_open_checked(const char *path, char *err, size_t errlen)
{
	char q[192], proc[64];
	struct stat st, st2;
	size_t len;
	pid_t user;
	int pfd, fd, e;

	if (errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return fail(err, errlen, EINVAL, "no device path");
	len = strnlen(path, SERIAL_PATH_MAX);
	log_quote(q, sizeof(q), path, len);
	if (len >= SERIAL_PATH_MAX)
		return fail(err, errlen, EINVAL, "%s: device path of %d bytes "
		    "or more", q, SERIAL_PATH_MAX);
	if (path[0] != '/')
		return fail(err, errlen, EINVAL, "%s: device path not absolute",
		    q);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return fail(err, errlen, errno, "%s: %s", q, strerror(errno));
	if (fstat(pfd, &st) < 0) {
		e = errno;
		close(pfd);
		return fail(err, errlen, e, "%s: fstat: %s", q, strerror(e));
	}
	if (check_tty_inode(q, &st, err, errlen) < 0) {
		e = errno;
		close(pfd);
		errno = e;
		return -1;
	}
	user = ctty_user(st.st_rdev);
	if (user != 0) {
		e = errno;
		close(pfd);
		if (user < 0)
			return fail(err, errlen, EACCES, "%s: cannot check the "
			    "device is nobody's terminal: /proc: %s", q,
			    strerror(e));
		return fail(err, errlen, EBUSY, "%s: the controlling terminal "
		    "of process %ld", q, (long)user);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	e = errno;
	close(pfd);
	if (fd < 0)
		return fail(err, errlen, e, "%s: %s: %s", q, proc, strerror(e));
	if (fstat(fd, &st2) < 0 || !S_ISCHR(st2.st_mode) ||
	    st2.st_rdev != st.st_rdev || !isatty(fd)) {
		close(fd);
		return fail(err, errlen, ENOTTY, "%s: not a serial device "
		    "(changed while being opened)", q);
	}
	if (ioctl(fd, TIOCEXCL) < 0) {
		e = errno;
		close(fd);
		return fail(err, errlen, e, "%s: TIOCEXCL: %s", q, strerror(e));
	}
	return fd;
}

static bool
params_valid(const struct serial_params *p)
{
	return p->baud >= SERIAL_BAUD_MIN && p->baud <= SERIAL_BAUD_MAX &&
	    (p->data_bits == 7 || p->data_bits == 8) &&
	    (p->parity == 'N' || p->parity == 'E' || p->parity == 'O') &&
	    (p->stop_bits == 1 || p->stop_bits == 2);
}

/* Which check failed, for the message. */
static int
params_check(const char *q, const struct serial_params *p, char *err,
    size_t errlen)
{
	char c[16];

	if (p->baud < SERIAL_BAUD_MIN || p->baud > SERIAL_BAUD_MAX)
		return fail(err, errlen, EINVAL, "%s: baud %lu: out of range "
		    "%d..%d", q, (unsigned long)p->baud, SERIAL_BAUD_MIN,
		    SERIAL_BAUD_MAX);
	if (p->data_bits != 7 && p->data_bits != 8)
		return fail(err, errlen, EINVAL, "%s: %u data bits: only 7 or "
		    "8", q, p->data_bits);
	if (p->parity != 'N' && p->parity != 'E' && p->parity != 'O')
		return fail(err, errlen, EINVAL, "%s: parity \"%s\": only N, E "
		    "or O", q, log_quote(c, sizeof(c), &p->parity, 1));
	if (p->stop_bits != 1 && p->stop_bits != 2)
		return fail(err, errlen, EINVAL, "%s: %u stop bits: only 1 or "
		    "2", q, p->stop_bits);
	switch (p->rs485) {
	case SERIAL_RS485_AUTO:
	case SERIAL_RS485_KERNEL:
	case SERIAL_RS485_RTS:
	case SERIAL_RS485_OFF:
		break;
	default:
		return fail(err, errlen, EINVAL, "%s: RS-485 mode %d unknown",
		    q, (int)p->rs485);
	}
	return 0;
}

static speed_t
std_code(uint32_t baud)
{
	size_t i;

	for (i = 0; i < sizeof(std_rates) / sizeof(std_rates[0]); i++)
		if (std_rates[i].baud == baud)
			return std_rates[i].code;
	return B0;
}

/* The cflag bits that make the framing. */
#ifdef CMSPAR
#define FRAMING_BITS (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)
#else
#define FRAMING_BITS (CSIZE | PARENB | PARODD | CSTOPB)
#endif

static void
make_raw(struct termios *t, const struct serial_params *p)
{
	t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | IGNPAR | PARMRK | INPCK |
	    ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXANY | IXOFF);
#ifdef IUCLC
	t->c_iflag &= ~(tcflag_t)IUCLC;
#endif
#ifdef IMAXBEL
	t->c_iflag &= ~(tcflag_t)IMAXBEL;
#endif
	t->c_oflag &= ~(tcflag_t)OPOST;
	t->c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL | ICANON |
	    ISIG | IEXTEN | NOFLSH | TOSTOP);
	t->c_cflag &= ~(tcflag_t)FRAMING_BITS;
#ifdef CRTSCTS
	t->c_cflag &= ~(tcflag_t)CRTSCTS;
#endif
#ifdef CIBAUD
	/* glibc's cfsetspeed() leaves the input rate field alone: one left
	 * at BOTHER by an earlier configuration would keep the old input
	 * rate.  Zero means "as the output". */
	t->c_cflag &= ~(tcflag_t)CIBAUD;
#endif
	t->c_cflag |= CLOCAL | CREAD | (p->data_bits == 7 ? CS7 : CS8);
	if (p->parity != 'N') {
		t->c_cflag |= PARENB;
		if (p->parity == 'O')
			t->c_cflag |= PARODD;
		/* IGNPAR and PARMRK off: a bad character reads as 0x00. */
		t->c_iflag |= INPCK;
	}
	if (p->stop_bits == 2)
		t->c_cflag |= CSTOPB;
	t->c_cc[VMIN] = 0;
	t->c_cc[VTIME] = 0;
}

/* The rate the driver now uses, as asked within the tolerance? */
static int
speed_check(int fd, const char *q, const struct serial_params *p,
    speed_t code, const struct termios *back, char *err, size_t errlen)
{
	uint32_t is, os, want = p->baud;

	if (serial_termios2_get_speed(fd, &is, &os) < 0) {
		if (errno != ENOTSUP)
			return fail(err, errlen, errno, "%s: TCGETS2: %s", q,
			    strerror(errno));
		/* No termios2: only standard rates, as codes. */
		if (cfgetospeed(back) != code || cfgetispeed(back) != code)
			return fail(err, errlen, EINVAL, "%s: baud %lu: the "
			    "driver did not take it", q, (unsigned long)want);
		return 0;
	}
	if ((uint64_t)(os > want ? os - want : want - os) *
	    SERIAL_BAUD_TOLERANCE > want)
		return fail(err, errlen, EINVAL, "%s: baud %lu: the driver "
		    "set %lu", q, (unsigned long)want, (unsigned long)os);
	if ((uint64_t)(is > want ? is - want : want - is) *
	    SERIAL_BAUD_TOLERANCE > want)
		return fail(err, errlen, EINVAL, "%s: baud %lu: the driver "
		    "set %lu for input", q, (unsigned long)want,
		    (unsigned long)is);
	return 0;
}

static int
ioctl_retry(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static uint32_t
us_to_ms_up(uint32_t us)
{
	return (uint32_t)(((uint64_t)us + 999) / 1000);
}

static int
rs485_kernel_on(int fd, const struct serial_params *p)
{
	struct serial_rs485 r;

	memset(&r, 0, sizeof(r));
	/* RTS high while sending, low after: a transceiver's DE on RTS. */
	r.flags = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
	r.delay_rts_before_send = us_to_ms_up(p->delay_before_us);
	r.delay_rts_after_send = us_to_ms_up(p->delay_after_us);
	return ioctl_retry(fd, TIOCSRS485, &r);
}

/* Switch a kernel RS-485 mode off if one is on; none at all is fine. */
static int
rs485_kernel_off(int fd)
{
	struct serial_rs485 r;

	memset(&r, 0, sizeof(r));
	if (ioctl_retry(fd, TIOCGRS485, &r) < 0)
		return unsupported(errno) ? 0 : -1;
	if ((r.flags & SER_RS485_ENABLED) == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	return ioctl_retry(fd, TIOCSRS485, &r);
}

/* Can the engine drive RTS?  Leaves it off (the transceiver listening). */
static int
rts_probe(int fd)
{
	int bits;

	if (ioctl_retry(fd, TIOCMGET, &bits) < 0)
		return -1;
	return serial_set_rts(fd, false);
}

static int
rs485_setup(int fd, const char *q, const struct serial_params *p,
    enum serial_rs485_mode *m, char *err, size_t errlen)
{
	switch (p->rs485) {
	case SERIAL_RS485_AUTO:
		if (rs485_kernel_on(fd, p) == 0) {
			*m = SERIAL_MODE_KERNEL;
			return 0;
		}
		if (!unsupported(errno))
			return fail(err, errlen, errno, "%s: RS-485 in the "
			    "driver (TIOCSRS485): %s", q, strerror(errno));
		if (rts_probe(fd) == 0) {
			*m = SERIAL_MODE_RTS;
			break;
		}
		if (!unsupported(errno))
			return fail(err, errlen, errno, "%s: RTS control: %s",
			    q, strerror(errno));
		*m = SERIAL_MODE_PLAIN;
		return 0;
	case SERIAL_RS485_KERNEL:
		if (rs485_kernel_on(fd, p) < 0)
			return fail(err, errlen, errno, "%s: RS-485 in the "
			    "driver (TIOCSRS485): %s", q, strerror(errno));
		*m = SERIAL_MODE_KERNEL;
		return 0;
	case SERIAL_RS485_RTS:
		if (rts_probe(fd) < 0)
			return fail(err, errlen, errno, "%s: RTS control "
			    "(TIOCMGET/TIOCMBIC): %s", q, strerror(errno));
		*m = SERIAL_MODE_RTS;
		break;
	case SERIAL_RS485_OFF:
		*m = SERIAL_MODE_PLAIN;
		break;
	}
	/* RTS and OFF: the driver must not drive RTS as well. */
	if (rs485_kernel_off(fd) < 0)
		return fail(err, errlen, errno, "%s: switching the driver's "
		    "RS-485 mode off: %s", q, strerror(errno));
	return 0;
}

int
serial_configure(int fd, const char *name, const struct serial_params *p,
    enum serial_rs485_mode *mode, char *err, size_t errlen)
{
	char q[128];
	struct termios t, back;
	enum serial_rs485_mode m = SERIAL_MODE_PLAIN;
	struct stat st;
	speed_t code;

	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "serial";
	log_quote(q, sizeof(q), name, strlen(name));
	if (p == NULL)
		return fail(err, errlen, EINVAL, "%s: no parameters", q);
	if (params_check(q, p, err, errlen) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return fail(err, errlen, errno, "%s: fstat: %s", q,
		    strerror(errno));
	if (tcgetattr(fd, &t) < 0)
		return fail(err, errlen, errno, "%s: tcgetattr: %s", q,
		    strerror(errno));
	make_raw(&t, p);
	/* A non-standard rate goes through B38400 and then termios2. */
	code = std_code(p->baud);
	if (cfsetispeed(&t, code != B0 ? code : B38400) < 0 ||
	    cfsetospeed(&t, code != B0 ? code : B38400) < 0)
		return fail(err, errlen, EINVAL, "%s: baud %lu: %s", q,
		    (unsigned long)p->baud, strerror(errno));
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return fail(err, errlen, errno, "%s: tcsetattr: %s", q,
		    strerror(errno));
	if (code == B0 && serial_termios2_set_speed(fd, p->baud) < 0)
		return fail(err, errlen, errno, "%s: baud %lu: %s", q,
		    (unsigned long)p->baud, errno == ENOTSUP ?
		    "only standard rates on this system" : strerror(errno));
	/* tcsetattr() succeeds if any part of the change did: read back. */
	if (tcgetattr(fd, &back) < 0)
		return fail(err, errlen, errno, "%s: tcgetattr: %s", q,
		    strerror(errno));
	/* The pty driver forces CS8 without parity: there is no line. */
	if ((back.c_cflag & FRAMING_BITS) != (t.c_cflag & FRAMING_BITS) &&
	    !(S_ISCHR(st.st_mode) && is_pty_slave(st.st_rdev)))
		return fail(err, errlen, EINVAL, "%s: %u%c%u: the driver does "
		    "not support this framing", q, p->data_bits, p->parity,
		    p->stop_bits);
	if (speed_check(fd, q, p, code, &back, err, errlen) < 0)
		return -1;
	if (rs485_setup(fd, q, p, &m, err, errlen) < 0)
		return -1;
	if (tcflush(fd, TCIOFLUSH) < 0)
		return fail(err, errlen, errno, "%s: tcflush: %s", q,
		    strerror(errno));
	*mode = m;
	return 0;
}

int
serial_set_rts(int fd, bool on)
{
	int bits = TIOCM_RTS;

	return ioctl_retry(fd, on ? TIOCMBIS : TIOCMBIC, &bits) < 0 ? -1 : 0;
}

int
serial_outq(int fd, int *bytes)
{
	int n;

	if (ioctl_retry(fd, TIOCOUTQ, &n) < 0)
		return -1;
	*bytes = n;
	return 0;
}

int
serial_tx_empty(int fd, bool *empty)
{
	unsigned int lsr;
	int n;

	if (ioctl_retry(fd, TIOCSERGETLSR, &lsr) == 0) {
		*empty = (lsr & TIOCSER_TEMT) != 0;
		return 0;
	}
	if (!unsupported(errno))
		return -1;
	if (serial_outq(fd, &n) < 0)
		return -1;
	*empty = n == 0;
	return 0;
}

uint32_t
serial_char_us(const struct serial_params *p)
{
	uint64_t bits;

	if (p == NULL || !params_valid(p))
		return 0;
	bits = 1 + p->data_bits + (p->parity != 'N') + p->stop_bits;
	return (uint32_t)((bits * 1000000 + p->baud - 1) / p->baud);
}
