/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_serial.c - serial lines on a pty pair: what the monitor agrees to
 * open (and what it refuses, with which reason), raw framing read back
 * from the kernel, RS-485 fallbacks, character times, and that bytes
 * cross the line untouched.
 *
 * A pty is not a UART: its driver forces CS8 without parity, has no
 * modem lines (TIOCMGET, TIOCSRS485, TIOCSERGETLSR all fail with ENOTTY)
 * and its output queue is always empty.  The tests assert exactly what a
 * pty keeps and say so where it differs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "serial.h"
#include "serial_termios2.h"

#define IO_TIMEOUT_MS 5000

struct pty {
	int master;
	char slave[64];
	char dir[64];           /* scratch directory, removed in teardown */
};

static int
setup(void **state)
{
	struct pty *p;
	const char *name = NULL;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (p->master >= 0 && (grantpt(p->master) < 0 ||
	    unlockpt(p->master) < 0 || (name = ptsname(p->master)) == NULL ||
	    strlen(name) >= sizeof(p->slave))) {
		close(p->master);
		p->master = -1;
	}
	/* Leave the slave's termios alone: on Linux, termios ioctls on a
	 * master act on its slave, and the tests need the cooked defaults
	 * (OPOST|ONLCR, ICRNL, ECHO) for serial_configure() to undo. */
	if (p->master >= 0)
		strcpy(p->slave, name);
	strcpy(p->dir, "/tmp/test_serial.XXXXXX");
	if (mkdtemp(p->dir) == NULL) {
		if (p->master >= 0)
			close(p->master);
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pty *p = *state;
	char cmd[PATH_MAX];
	const char *names[] = { "link", "null", "file", "fifo", "tty" };
	size_t i;

	if (p->master >= 0)
		close(p->master);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", p->dir, names[i]);
		(void)unlink(cmd);
	}
	(void)rmdir(p->dir);
	free(p);
	return 0;
}

static struct pty *
need_pty(void **state)
{
	struct pty *p = *state;

	if (p->master < 0) {
		print_message("no pty available (devpts not mounted?)\n");
		skip();
	}
	return p;
}

static void
assert_has(const char *err, const char *frag)
{
	if (strstr(err, frag) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, frag);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read exactly n bytes from non-blocking fd, waiting on readiness. */
static void
read_all(int fd, unsigned char *buf, size_t n)
{
	struct timespec t0;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long left = IO_TIMEOUT_MS - elapsed_ms(&t0);
		ssize_t r;

		assert_true(left > 0);
		assert_true(poll(&pfd, 1, (int)left) >= 0);
		r = read(fd, buf + got, n - got);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		assert_true(r > 0);
		got += (size_t)r;
	}
}

static int
open_slave(struct pty *p)
{
	char err[256] = "";
	int fd;

	fd = serial_open_checked(p->slave, err, sizeof(err));
	if (fd < 0)
		fail_msg("serial_open_checked(%s): %s", p->slave, err);
	return fd;
}

static const struct serial_params p8n1 = { 9600, 8, 'N', 1,
    SERIAL_RS485_OFF, 0, 0 };

/* ---- serial_open_checked ---- */

static void
test_open_accepts(void **state)
{
	struct pty *p = need_pty(state);
	char link[128], err[256];
	struct stat st, st2;
	int fd, excl = 0;

	fd = open_slave(p);
	assert_true(isatty(fd));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat(p->slave, &st2), 0);
	assert_true(st.st_rdev == st2.st_rdev);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
#ifdef TIOCGEXCL
	assert_int_equal(ioctl(fd, TIOCGEXCL, &excl), 0);
	assert_int_equal(excl, 1);
#else
	(void)excl;
#endif
	/* A pty slave keeps TIOCEXCL while its master is open: without
	 * TIOCNXCL an unprivileged caller could not open it again. */
	assert_int_equal(ioctl(fd, TIOCNXCL), 0);
	close(fd);

	/* As /dev/serial/by-id/... would be: a symbolic link to the tty. */
	snprintf(link, sizeof(link), "%s/link", p->dir);
	assert_int_equal(symlink(p->slave, link), 0);
	fd = serial_open_checked(link, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s: %s", link, err);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_rdev == st2.st_rdev);
	close(fd);
}

static void
test_open_refuses(void **state)
{
	struct pty *p = *state;
	char path[300], err[256], longp[300];
	int fd;
	const struct {
		const char *path;       /* NULL: built below */
		const char *name;       /* under p->dir */
		int err;
		const char *frag;
	} cases[] = {
		{ "/dev/null", NULL, ENOTTY,
		    "/dev/null: not a serial device (character device 1:3 is not a tty)" },
		{ NULL, "null", ENOTTY, "character device 1:3 is not a tty" },
		{ NULL, "file", ENOTTY, "not a serial device (a regular file)" },
		{ NULL, "", ENOTTY, "not a serial device (a directory)" },
		{ NULL, "fifo", ENOTTY, "not a serial device (a FIFO)" },
		{ "/dev/tty", NULL, ENOTTY, "is a terminal, console or pty master" },
		{ "/dev/ptmx", NULL, ENOTTY, "is a terminal, console or pty master" },
		{ "dev/ttyS0", NULL, EINVAL, "dev/ttyS0: device path not absolute" },
		{ "", NULL, EINVAL, "device path not absolute" },
		{ "/nonexistent/ttyUSB0", NULL, ENOENT, "/nonexistent/ttyUSB0: No such file" },
		{ "/dev/ttyS\n9", NULL, ENOENT, "/dev/ttyS\\x0a9: " },
		{ longp, NULL, EINVAL, "device path of 256 bytes or more" },
	};
	size_t i;

	(void)state;
	memset(longp, 'a', 256);
	longp[0] = '/';
	longp[256] = '\0';
	snprintf(path, sizeof(path), "%s/null", p->dir);
	assert_int_equal(symlink("/dev/null", path), 0);
	snprintf(path, sizeof(path), "%s/file", p->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/fifo", p->dir);
	assert_int_equal(mkfifo(path, 0600), 0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *what = cases[i].path;
		struct stat st;

		if (what == NULL) {
			snprintf(path, sizeof(path), "%s/%s", p->dir,
			    cases[i].name);
			what = path;
		}
		if (what[0] == '/' && strlen(what) < 200 && strchr(what, '\n') == NULL &&
		    cases[i].err != ENOENT && lstat(what, &st) < 0) {
			print_message("skip %s: absent here\n", what);
			continue;
		}
		memset(err, 'x', sizeof(err));
		errno = 0;
		assert_int_equal(serial_open_checked(what, err, sizeof(err)), -1);
		if (errno != cases[i].err)
			fail_msg("%s: errno %d, want %d (%s)", what, errno,
			    cases[i].err, err);
		assert_non_null(memchr(err, '\0', sizeof(err)));
		assert_has(err, cases[i].frag);
		assert_null(strchr(err, '\n'));
	}
	errno = 0;
	assert_int_equal(serial_open_checked(NULL, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	/* No room for a reason is fine. */
	assert_int_equal(serial_open_checked("/dev/null", NULL, 0), -1);
	assert_int_equal(errno, ENOTTY);
}

/* A tty that is some session's controlling terminal is not handed out. */
static void
test_open_refuses_ctty(void **state)
{
	struct pty *p = need_pty(state);
	int ready[2], hold[2], fd, status;
	char c, err[256], want[64];
	struct pollfd pfd;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A session leader without a terminal acquires the first one
		 * it opens without O_NOCTTY. */
		close(ready[0]);
		close(hold[1]);
		if (setsid() < 0 || open(p->slave, O_RDWR) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (read(hold[0], &c, 1) < 0)   /* until the parent is done */
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	pfd = (struct pollfd){ ready[0], POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);

	errno = 0;
	fd = serial_open_checked(p->slave, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	close(hold[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EBUSY);
	snprintf(want, sizeof(want), "the controlling terminal of process %ld",
	    (long)pid);
	assert_has(err, want);

	/* Once that session is gone the line is free again. */
	fd = open_slave(p);
	close(fd);
}

/* ---- serial_configure ---- */

static void
test_configure(void **state)
{
	struct pty *p = need_pty(state);
	const struct {
		uint32_t baud;
		unsigned bits;
		char parity;
		unsigned stop;
		speed_t code;           /* B0: non-standard, set as BOTHER */
	} cases[] = {
		{ 9600, 8, 'N', 1, B9600 },
		{ 19200, 8, 'E', 1, B19200 },
		{ 1200, 7, 'O', 2, B1200 },
		{ 250000, 8, 'N', 1, B0 },
		/* After BOTHER: the input rate must follow back too. */
		{ 9600, 8, 'E', 2, B9600 },
		{ 50, 8, 'N', 1, B50 },
		{ 4000000, 8, 'N', 1, B4000000 },
		{ 31250, 8, 'N', 1, B0 },
		{ 115200, 7, 'E', 1, B115200 },
	};
	size_t i;
	int fd;

	fd = open_slave(p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serial_params sp = { cases[i].baud, cases[i].bits,
		    cases[i].parity, cases[i].stop, SERIAL_RS485_OFF, 0, 0 };
		enum serial_rs485_mode mode = (enum serial_rs485_mode)77;
		char err[256] = "";
		struct termios t;
		uint32_t is = 0, os = 0;
		tcflag_t size;

		if (serial_configure(fd, p->slave, &sp, &mode, err,
		    sizeof(err)) < 0)
			fail_msg("%lu %u%c%u: %s", (unsigned long)sp.baud,
			    sp.data_bits, sp.parity, sp.stop_bits, err);
		assert_int_equal(mode, SERIAL_MODE_PLAIN);
		assert_int_equal(tcgetattr(fd, &t), 0);
		/* Raw. */
		assert_int_equal(t.c_lflag & (ICANON | ECHO | ECHONL | ISIG |
		    IEXTEN), 0);
		assert_int_equal(t.c_iflag & (IGNBRK | BRKINT | IGNPAR |
		    PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF |
		    IXANY), 0);
		assert_int_equal(t.c_oflag & OPOST, 0);
		assert_int_equal(t.c_cflag & (CLOCAL | CREAD), CLOCAL | CREAD);
		assert_int_equal(t.c_cflag & CRTSCTS, 0);
		assert_int_equal(t.c_cc[VMIN], 0);
		assert_int_equal(t.c_cc[VTIME], 0);
		/* Framing.  The pty keeps CSTOPB and PARODD but forces CS8
		 * and clears PARENB (pty_set_termios). */
		assert_int_equal(!!(t.c_cflag & CSTOPB), sp.stop_bits == 2);
		assert_int_equal(!!(t.c_cflag & PARODD), sp.parity == 'O');
		assert_int_equal(!!(t.c_iflag & INPCK), sp.parity != 'N');
		size = sp.data_bits == 7 ? CS7 : CS8;
		if ((t.c_cflag & CSIZE) != size ||
		    !!(t.c_cflag & PARENB) != (sp.parity != 'N'))
			assert_true((t.c_cflag & CSIZE) == CS8 &&
			    !(t.c_cflag & PARENB));
		/* Speed: the code for standard rates, the number always. */
		if (cases[i].code != B0) {
			assert_int_equal(cfgetospeed(&t), cases[i].code);
			assert_int_equal(cfgetispeed(&t), cases[i].code);
		} else {
			assert_int_equal(t.c_cflag & CBAUD, CBAUDEX);   /* BOTHER */
		}
		assert_int_equal(serial_termios2_get_speed(fd, &is, &os), 0);
		assert_int_equal(os, sp.baud);
		assert_int_equal(is, sp.baud);
	}
	close(fd);
}

static void
test_configure_invalid(void **state)
{
	struct pty *p = need_pty(state);
	const struct {
		struct serial_params sp;
		const char *frag;
	} cases[] = {
		{ { 12345678, 8, 'N', 1, SERIAL_RS485_OFF, 0, 0 },
		    "/x: baud 12345678: out of range 50..4000000" },
		{ { 0, 8, 'N', 1, SERIAL_RS485_OFF, 0, 0 }, "baud 0: out of range" },
		{ { 49, 8, 'N', 1, SERIAL_RS485_OFF, 0, 0 }, "baud 49: out of range" },
		{ { 4000001, 8, 'N', 1, SERIAL_RS485_OFF, 0, 0 }, "baud 4000001" },
		{ { 9600, 6, 'N', 1, SERIAL_RS485_OFF, 0, 0 }, "6 data bits: only 7 or 8" },
		{ { 9600, 9, 'N', 1, SERIAL_RS485_OFF, 0, 0 }, "9 data bits" },
		{ { 9600, 8, 'M', 1, SERIAL_RS485_OFF, 0, 0 }, "parity \"M\": only N, E or O" },
		{ { 9600, 8, 'e', 1, SERIAL_RS485_OFF, 0, 0 }, "parity \"e\"" },
		{ { 9600, 8, '\0', 1, SERIAL_RS485_OFF, 0, 0 }, "parity \"\\x00\"" },
		{ { 9600, 8, 'N', 0, SERIAL_RS485_OFF, 0, 0 }, "0 stop bits: only 1 or 2" },
		{ { 9600, 8, 'N', 3, SERIAL_RS485_OFF, 0, 0 }, "3 stop bits" },
		{ { 9600, 8, 'N', 1, (enum serial_rs485_want)9, 0, 0 }, "RS-485 mode 9 unknown" },
	};
	struct termios before, after;
	size_t i;
	int fd;

	fd = open_slave(p);
	/* Zeroed first: glibc's struct termios has padding tcgetattr()
	 * does not write. */
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	assert_int_equal(tcgetattr(fd, &before), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum serial_rs485_mode mode = (enum serial_rs485_mode)77;
		char err[256] = "";

		errno = 0;
		assert_int_equal(serial_configure(fd, "/x", &cases[i].sp,
		    &mode, err, sizeof(err)), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(mode, 77);
		assert_has(err, cases[i].frag);
	}
	/* Nothing was changed on the way to the error. */
	assert_int_equal(tcgetattr(fd, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	close(fd);

	/* Not a tty at all. */
	{
		enum serial_rs485_mode mode = SERIAL_MODE_KERNEL;
		char err[256] = "";

		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(serial_configure(fd, "/dev/null", &p8n1,
		    &mode, err, sizeof(err)), -1);
		assert_int_equal(errno, ENOTTY);
		assert_has(err, "/dev/null: tcgetattr: ");
		assert_int_equal(mode, SERIAL_MODE_KERNEL);
		close(fd);
	}
}

static void
test_rs485_on_pty(void **state)
{
	struct pty *p = need_pty(state);
	struct serial_params sp = p8n1;
	enum serial_rs485_mode mode, auto_mode;
	char err[256];
	int fd, rts;

	fd = open_slave(p);
	sp.delay_before_us = 1500;
	sp.delay_after_us = 1;

	sp.rs485 = SERIAL_RS485_AUTO;
	err[0] = '\0';
	if (serial_configure(fd, "pty", &sp, &auto_mode, err, sizeof(err)) < 0)
		fail_msg("AUTO on a pty: %s", err);
	assert_true(auto_mode == SERIAL_MODE_PLAIN || auto_mode == SERIAL_MODE_RTS);
	print_message("AUTO on a pty: %s\n",
	    auto_mode == SERIAL_MODE_PLAIN ? "PLAIN" : "RTS");

	sp.rs485 = SERIAL_RS485_KERNEL;
	mode = (enum serial_rs485_mode)77;
	assert_int_equal(serial_configure(fd, "pty", &sp, &mode, err,
	    sizeof(err)), -1);
	assert_int_equal(mode, 77);
	assert_has(err, "pty: RS-485 in the driver (TIOCSRS485): ");

	/* RTS works exactly where AUTO found it. */
	sp.rs485 = SERIAL_RS485_RTS;
	rts = serial_configure(fd, "pty", &sp, &mode, err, sizeof(err));
	if (auto_mode == SERIAL_MODE_RTS) {
		assert_int_equal(rts, 0);
		assert_int_equal(mode, SERIAL_MODE_RTS);
		assert_int_equal(serial_set_rts(fd, true), 0);
		assert_int_equal(serial_set_rts(fd, false), 0);
	} else {
		assert_int_equal(rts, -1);
		assert_has(err, "pty: RTS control");
		assert_int_equal(serial_set_rts(fd, true), -1);
		assert_int_equal(errno, ENOTTY);
	}

	sp.rs485 = SERIAL_RS485_OFF;
	assert_int_equal(serial_configure(fd, "pty", &sp, &mode, err,
	    sizeof(err)), 0);
	assert_int_equal(mode, SERIAL_MODE_PLAIN);
	close(fd);
}

/* ---- bytes on the line ---- */

static void
test_raw_passthrough(void **state)
{
	struct pty *p = need_pty(state);
	static const unsigned char bytes[] = {
		0x0d, 0x0a, 0x11, 0x13, 0x00, 0xff, 0x03, 0x04, 0x1a, 0x1c,
		0x15, 0x17, 0x12, 0x16, 0x0f, 0x7f, 0x08, 0x80, 0xff, 0xff,
		0x0a, 0x0d, 0x0d, 0x0a, 0x00,
	};
	static const char parities[] = { 'N', 'E', 'O' };
	unsigned char buf[sizeof(bytes)];
	size_t i;
	int fd;

	fd = open_slave(p);
	for (i = 0; i < sizeof(parities); i++) {
		struct serial_params sp = p8n1;
		enum serial_rs485_mode mode;
		char err[256];

		sp.parity = parities[i];
		if (serial_configure(fd, "pty", &sp, &mode, err,
		    sizeof(err)) < 0)
			fail_msg("%s", err);
		/* slave -> master */
		assert_int_equal(write(fd, bytes, sizeof(bytes)),
		    (ssize_t)sizeof(bytes));
		memset(buf, 0x55, sizeof(buf));
		read_all(p->master, buf, sizeof(buf));
		assert_memory_equal(buf, bytes, sizeof(bytes));
		/* master -> slave */
		assert_int_equal(write(p->master, bytes, sizeof(bytes)),
		    (ssize_t)sizeof(bytes));
		memset(buf, 0x55, sizeof(buf));
		read_all(fd, buf, sizeof(buf));
		assert_memory_equal(buf, bytes, sizeof(bytes));
	}
	/* Nothing more arrived (no echo, no doubled 0xff). */
	{
		struct pollfd pfd[2] = { { fd, POLLIN, 0 },
		    { p->master, POLLIN, 0 } };

		assert_int_equal(poll(pfd, 2, 50), 0);
	}
	close(fd);
}

/* Configuring flushes what was waiting. */
static void
test_configure_flushes(void **state)
{
	struct pty *p = need_pty(state);
	enum serial_rs485_mode mode;
	struct pollfd pfd;
	char err[256];
	int fd;

	fd = open_slave(p);
	assert_int_equal(serial_configure(fd, "pty", &p8n1, &mode, err,
	    sizeof(err)), 0);
	assert_int_equal(write(p->master, "stale", 5), 5);
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
	assert_int_equal(serial_configure(fd, "pty", &p8n1, &mode, err,
	    sizeof(err)), 0);
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, 0), 0);
	close(fd);
}

static void
test_outq(void **state)
{
	struct pty *p = need_pty(state);
	enum serial_rs485_mode mode;
	unsigned char buf[64];
	char err[256];
	bool empty = false;
	int fd, n = -1;

	fd = open_slave(p);
	assert_int_equal(serial_configure(fd, "pty", &p8n1, &mode, err,
	    sizeof(err)), 0);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	read_all(p->master, buf, sizeof(buf));
	assert_int_equal(serial_outq(fd, &n), 0);
	assert_int_equal(n, 0);
	/* No TIOCSERGETLSR on a pty: the TIOCOUTQ fallback answers. */
	assert_int_equal(serial_tx_empty(fd, &empty), 0);
	assert_true(empty);
	close(fd);

	/* Out-parameters untouched on failure. */
	n = 12345;
	assert_int_equal(serial_outq(fd, &n), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(n, 12345);
	empty = false;
	assert_int_equal(serial_tx_empty(fd, &empty), -1);
	assert_false(empty);
}

/* ---- character time ---- */

static void
test_char_us(void **state)
{
	const struct {
		uint32_t baud;
		unsigned bits;
		char parity;
		unsigned stop;
		uint32_t us;
	} cases[] = {
		{ 9600, 8, 'N', 1, 1042 },      /* 10 bits: 1041.7 */
		{ 9600, 8, 'E', 1, 1146 },      /* 11 bits: 1145.8 */
		{ 115200, 8, 'N', 1, 87 },      /* 86.8 */
		{ 19200, 8, 'E', 1, 573 },      /* 572.9 */
		{ 1200, 7, 'O', 2, 9167 },      /* 11 bits: 9166.7 */
		{ 9600, 7, 'N', 1, 938 },       /* 9 bits: 937.5 */
		{ 250000, 8, 'N', 2, 44 },      /* exactly 44 */
		{ 4000000, 8, 'E', 2, 3 },      /* exactly 3 */
		{ 50, 8, 'E', 2, 240000 },
		{ 0, 8, 'N', 1, 0 },
		{ 4000001, 8, 'N', 1, 0 },
		{ 9600, 9, 'N', 1, 0 },
		{ 9600, 8, 'M', 1, 0 },
		{ 9600, 8, 'N', 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serial_params sp = { cases[i].baud, cases[i].bits,
		    cases[i].parity, cases[i].stop, SERIAL_RS485_AUTO, 0, 0 };

		if (serial_char_us(&sp) != cases[i].us)
			fail_msg("%lu %u%c%u: %lu us, want %lu",
			    (unsigned long)sp.baud, sp.data_bits, sp.parity,
			    sp.stop_bits, (unsigned long)serial_char_us(&sp),
			    (unsigned long)cases[i].us);
	}
	assert_int_equal(serial_char_us(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_accepts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_ctty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rs485_on_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outq, setup, teardown),
		cmocka_unit_test(test_char_us),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
