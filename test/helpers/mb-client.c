/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mb-client.c - a blocking Modbus master for system tests and benchmarks.
 *
 * Modbus TCP and RTU go through libmodbus, an implementation independent
 * of ours, so a test that passes with it is not our codec agreeing with
 * itself.  libmodbus 3.1.6 has no ASCII backend: --ascii frames requests
 * here (Modbus over serial line V1.02, 2.5.2) and checks answers the way
 * libmodbus' check_confirmation does.  libmodbus contexts are not thread
 * safe, so every thread of bench-throughput owns one.
 *
 *   mb-client (--tcp HOST:PORT | --rtu DEV[,BAUD[,PARITY]] |
 *              --ascii DEV[,BAUD[,PARITY]]) [--unit N] [--timeout MS]
 *             [--debug] COMMAND ARGS
 *
 * Exit: 0 ok, 1 error (message on stderr), 2 Modbus exception ("exception
 * 0xNN" on stdout), 3 no answer in time ("timeout"), 64 usage.
 *
 * `serve' turns it into a libmodbus slave, so the gateway can be tested
 * against a server that is not our simulator: over RTU it answers --unit
 * on DEV, over TCP it listens on HOST:PORT and serves one client at a
 * time.  The tables are the simulator's (contrib/sluice-modbus-sim),
 * addresses 0-9999 each.  It runs until SIGTERM or SIGINT (exit 0).
 * Over TCP every unit id is answered (libmodbus does not look at it).
 * Over RTU a request for another unit goes unanswered, and libmodbus
 * then takes the next frame within its response timeout for that unit's
 * answer and drops it; behind the gateway no other unit answers on the
 * line, so that window is cut to 1 ms (SERVE_OTHER_UNIT_US), or a request
 * sent soon after one for a missing unit would vanish.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define EX_USAGE_CODE	64
#define DEFAULT_TIMEOUT_MS	1000
/* hold-idle waits this long for connects unless --timeout says otherwise:
 * a full listen backlog drops SYNs, and the first retransmission is 1 s
 * later (RFC 6298, 2.1). */
#define HOLD_CONNECT_MS	5000
#define BENCH_WARMUP	50
#define BENCH_ADDR	0
#define BENCH_COUNT	10
#define BENCH_STACK	(256 * 1024)
/* libmodbus waits in select(): every socket must stay below FD_SETSIZE
 * (glibc aborts otherwise). */
#define BENCH_MAX_MASTERS	1000
/* ASCII: ':' + 2 * (unit + 253-byte PDU + LRC) + CRLF (serial line
 * V1.02, 2.5.2.1: 513 characters at most). */
#define ASCII_MAX_FRAME	513
/* Between two characters of one ASCII frame: 1 s by default (2.5.2.1). */
#define ASCII_CHAR_MS	1000

enum mb_transport {
	MB_TCP,
	MB_RTU,
	MB_ASCII,
};

struct mb_opts {
	enum mb_transport transport;
	char		*host;		/* TCP, owned */
	char		*port;		/* TCP, owned */
	char		*dev;		/* RTU/ASCII, owned */
	int		 baud;
	char		 parity;	/* 'N', 'E' or 'O' */
	int		 unit;
	int		 timeout_ms;
	int		 timeout_set;
	int		 debug;
};

/* One connection: a libmodbus context (TCP, RTU) or a serial fd (ASCII). */
struct mb_conn {
	const struct mb_opts *o;
	modbus_t	*ctx;
	int		 fd;
};

static void
usage(FILE *f)
{
	fputs("usage: mb-client (--tcp HOST:PORT | --rtu DEV[,BAUD[,PARITY]] |\n"
	    "                  --ascii DEV[,BAUD[,PARITY]]) [--unit N]"
	    " [--timeout MS] [--debug]\n"
	    "                 COMMAND\n"
	    "  read-hr ADDR COUNT          FC3, values on one line\n"
	    "  read-ir ADDR COUNT          FC4\n"
	    "  read-coils ADDR COUNT       FC1, 0/1 values\n"
	    "  read-di ADDR COUNT          FC2\n"
	    "  write-reg ADDR VALUE        FC6, prints ok\n"
	    "  write-regs ADDR V1 V2 ...   FC16\n"
	    "  write-coil ADDR 0|1         FC5\n"
	    "  write-coils ADDR B1 B2 ...  FC15\n"
	    "  rw ADDR COUNT WADDR V...    FC23, prints the values read\n"
	    "  raw HEXPDU                  any request PDU; prints the response"
	    " PDU in hex\n"
	    "  bench-latency N             N FC3 x10 reads after 50 warm-up"
	    " reads\n"
	    "  bench-throughput MASTERS SECONDS\n"
	    "                              MASTERS (<= 1000) connections reading"
	    " back to back\n"
	    "  hold-idle N SECONDS         N idle TCP connections (--tcp only)\n"
	    "  serve [--ready-file F]      be a slave (--rtu) or a server on"
	    " HOST:PORT\n"
	    "                              (--tcp) until SIGTERM; F gets"
	    " \"ready\" (RTU) or\n"
	    "                              the port (TCP, PORT 0 picks one);"
	    " --timeout sets\n"
	    "                              the byte timeout (default 500)\n"
	    "defaults: unit 1, timeout 1000 ms, 19200 baud, parity E (RTU 8E1,"
	    " ASCII 7E1;\n"
	    "N means 2 stop bits)\n"
	    "exit: 0 ok, 1 error, 2 exception (\"exception 0xNN\"), 3 timeout,"
	    " 64 usage\n", f);
}

static int usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mb-client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return EX_USAGE_CODE;
}

/* Decimal or 0x-hex in [min, max]. */
static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
unhex(const char *s, uint8_t *out, size_t outlen, size_t *n)
{
	size_t len = strlen(s), i;
	unsigned int v;

	if (len == 0 || len % 2 != 0 || len / 2 > outlen)
		return -1;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* HOST:PORT, [V6ADDR]:PORT. */
static int
parse_tcp(struct mb_opts *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	size_t hlen;

	if (colon == NULL || colon == arg || colon[1] == '\0')
		return -1;
	hlen = (size_t)(colon - arg);
	if (arg[0] == '[') {
		if (hlen < 3 || arg[hlen - 1] != ']')
			return -1;
		o->host = strndup(arg + 1, hlen - 2);
	} else
		o->host = strndup(arg, hlen);
	o->port = strdup(colon + 1);
	if (o->host == NULL || o->port == NULL)
		return -1;
	o->transport = MB_TCP;
	return 0;
}

/* DEV[,BAUD[,PARITY]] */
static int
parse_serial(struct mb_opts *o, const char *arg, enum mb_transport t)
{
	char *copy, *baud, *parity;
	long v;

	if ((copy = strdup(arg)) == NULL)
		return -1;
	if ((baud = strchr(copy, ',')) != NULL) {
		*baud++ = '\0';
		if ((parity = strchr(baud, ',')) != NULL) {
			*parity++ = '\0';
			if (strlen(parity) != 1 ||
			    strchr("NEOneo", parity[0]) == NULL)
				goto bad;
			o->parity = (char)(parity[0] & ~0x20);
		}
		if (parse_long(baud, 50, 4000000, &v) == -1)
			goto bad;
		o->baud = (int)v;
	}
	if (*copy == '\0')
		goto bad;
	o->dev = copy;
	o->transport = t;
	return 0;
bad:
	free(copy);
	return -1;
}

/*
 * Errors: libmodbus reports an exception as errno MODBUS_ENOBASE + code
 * and a timeout as ETIMEDOUT; the ASCII path mimics it.
 */
static int
report_error(int e)
{
	if (e >= EMBXILFUN && e <= EMBXGTAR) {
		printf("exception 0x%02X\n", e - MODBUS_ENOBASE);
		return 2;
	}
	if (e == ETIMEDOUT) {
		printf("timeout\n");
		return 3;
	}
	fprintf(stderr, "mb-client: %s\n", modbus_strerror(e));
	return 1;
}

/* ---- ASCII (Modbus over serial line V1.02, 2.5.2) ---- */

static speed_t
baud_speed(int baud)
{
	static const struct {
		int	b;
		speed_t	s;
	} map[] = {
		{ 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 },
		{ 150, B150 }, { 200, B200 }, { 300, B300 }, { 600, B600 },
		{ 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 },
		{ 4800, B4800 }, { 9600, B9600 }, { 19200, B19200 },
		{ 38400, B38400 }, { 57600, B57600 }, { 115200, B115200 },
		{ 230400, B230400 }, { 460800, B460800 }, { 500000, B500000 },
		{ 921600, B921600 }, { 1000000, B1000000 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].b == baud)
			return map[i].s;
	return B0;
}

static int
ascii_open(struct mb_conn *c)
{
	const struct mb_opts *o = c->o;
	struct termios tio;
	speed_t sp;
	int fd;

	if ((sp = baud_speed(o->baud)) == B0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(o->dev, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (tcgetattr(fd, &tio) == -1)
		goto fail;
	cfmakeraw(&tio);
	/* 7 data bits; without parity two stop bits keep the 10-bit
	 * character (2.5.2.1). */
	tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	tio.c_cflag |= CS7 | CLOCAL | CREAD;
	if (o->parity == 'N')
		tio.c_cflag |= CSTOPB;
	else if (o->parity == 'O')
		tio.c_cflag |= PARENB | PARODD;
	else
		tio.c_cflag |= PARENB;
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, sp) == -1 || cfsetospeed(&tio, sp) == -1)
		goto fail;
	if (tcsetattr(fd, TCSANOW, &tio) == -1) {
		/* A Linux pty keeps CS8 without parity whatever is asked, and
		 * tcsetattr can then fail with EINVAL; on a pty the character
		 * format means nothing, so take what it has. */
		if (errno != EINVAL)
			goto fail;
		tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB);
		tio.c_cflag |= CS8;
		if (tcsetattr(fd, TCSANOW, &tio) == -1)
			goto fail;
	}
	c->fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Wait up to ms for input on fd: 1 readable, 0 timed out, -1 error. */
static int
wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t deadline = now_ns() + (int64_t)ms * 1000000;
	int rc, left;

	for (;;) {
		left = (int)((deadline - now_ns() + 999999) / 1000000);
		if (left < 0)
			left = 0;
		rc = poll(&p, 1, left);
		if (rc >= 0 || errno != EINTR)
			return rc > 0 ? 1 : rc;
	}
}

/*
 * One ASCII transaction: send the unit + PDU, read one frame back and
 * return its PDU.  A frame from another unit, a bad LRC or bad hex is an
 * error, as is silence (ETIMEDOUT).
 */
static int
ascii_transact(struct mb_conn *c, const uint8_t *req, size_t reqlen,
    uint8_t *rsp, size_t *rsplen)
{
	static const char hx[] = "0123456789ABCDEF";
	char frame[ASCII_MAX_FRAME + 1];
	uint8_t bin[1 + MODBUS_MAX_PDU_LENGTH + 1], lrc;
	size_t n = 0, i, nbin;
	ssize_t w, r;
	int in_frame = 0, rc;
	char ch;

	if (reqlen < 1 || reqlen > MODBUS_MAX_PDU_LENGTH) {
		errno = EINVAL;
		return -1;
	}
	frame[n++] = ':';
	lrc = (uint8_t)c->o->unit;
	frame[n++] = hx[c->o->unit >> 4];
	frame[n++] = hx[c->o->unit & 15];
	for (i = 0; i < reqlen; i++) {
		lrc = (uint8_t)(lrc + req[i]);
		frame[n++] = hx[req[i] >> 4];
		frame[n++] = hx[req[i] & 15];
	}
	lrc = (uint8_t)-lrc;	/* 2.5.2.2: two's complement of the sum */
	frame[n++] = hx[lrc >> 4];
	frame[n++] = hx[lrc & 15];
	frame[n++] = '\r';
	frame[n++] = '\n';
	if (c->o->debug)
		fprintf(stderr, "> %.*s", (int)n, frame);
	tcflush(c->fd, TCIFLUSH);
	for (i = 0; i < n; i += (size_t)w)
		if ((w = write(c->fd, frame + i, n - i)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			return -1;
		}

	/* Characters before ':' are noise; a second ':' restarts the frame
	 * (2.5.2.1). */
	n = 0;
	for (;;) {
		rc = wait_readable(c->fd, in_frame ?
		    (c->o->timeout_ms > ASCII_CHAR_MS ? c->o->timeout_ms :
		    ASCII_CHAR_MS) : c->o->timeout_ms);
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc == -1)
			return -1;
		if ((r = read(c->fd, &ch, 1)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (ch == ':') {
			in_frame = 1;
			n = 0;
			continue;
		}
		if (!in_frame)
			continue;
		if (ch == '\n')
			break;
		if (n == ASCII_MAX_FRAME) {
			errno = EMBBADDATA;
			return -1;
		}
		frame[n++] = ch;
	}
	if (c->o->debug)
		fprintf(stderr, "< :%.*s\n", (int)n, frame);
	if (n < 2 || frame[n - 1] != '\r' || (n - 1) % 2 != 0 ||
	    (n - 1) / 2 < 3 || (n - 1) / 2 > sizeof(bin)) {
		errno = EMBBADDATA;
		return -1;
	}
	nbin = (n - 1) / 2;
	lrc = 0;
	for (i = 0; i < nbin; i++) {
		int hi = hexval(frame[2 * i]), lo = hexval(frame[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			errno = EMBBADDATA;
			return -1;
		}
		bin[i] = (uint8_t)(hi << 4 | lo);
		lrc = (uint8_t)(lrc + bin[i]);
	}
	if (lrc != 0) {
		errno = EMBBADCRC;
		return -1;
	}
	if (bin[0] != c->o->unit) {
		errno = EMBBADSLAVE;
		return -1;
	}
	*rsplen = nbin - 2;
	memcpy(rsp, bin + 1, *rsplen);
	return 0;
}

/*
 * The checks libmodbus' check_confirmation makes, on PDUs: the function
 * code echoed, the byte count the request implies, write echoes equal.
 * An exception becomes errno MODBUS_ENOBASE + code, as in libmodbus.
 */
static int
pdu_check(const uint8_t *req, const uint8_t *rsp, size_t rsplen)
{
	unsigned int n = (unsigned int)(req[3] << 8 | req[4]);
	size_t want;

	if (rsplen == 2 && rsp[0] == (req[0] | 0x80)) {
		errno = rsp[1] >= 1 && rsp[1] <= MODBUS_EXCEPTION_GATEWAY_TARGET ?
		    MODBUS_ENOBASE + rsp[1] : EMBBADEXC;
		return -1;
	}
	if (rsplen < 2 || rsp[0] != req[0])
		goto bad;
	switch (req[0]) {
	case MODBUS_FC_READ_COILS:
	case MODBUS_FC_READ_DISCRETE_INPUTS:
		want = (n + 7) / 8;
		if (rsp[1] != want || rsplen != 2 + want)
			goto bad;
		break;
	case MODBUS_FC_READ_HOLDING_REGISTERS:
	case MODBUS_FC_READ_INPUT_REGISTERS:
	case MODBUS_FC_WRITE_AND_READ_REGISTERS:
		want = 2 * (size_t)n;
		if (rsp[1] != want || rsplen != 2 + want)
			goto bad;
		break;
	default:	/* FC 5, 6, 15, 16: the first five bytes echoed */
		if (rsplen != 5 || memcmp(req, rsp, 5) != 0)
			goto bad;
	}
	return 0;
bad:
	errno = EMBBADDATA;
	return -1;
}

static void
put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- operations over either path ---- */

static int
conn_open(struct mb_conn *c, const struct mb_opts *o)
{
	uint32_t sec = (uint32_t)o->timeout_ms / 1000;
	uint32_t usec = (uint32_t)o->timeout_ms % 1000 * 1000;

	c->o = o;
	c->ctx = NULL;
	c->fd = -1;
	if (o->transport == MB_ASCII)
		return ascii_open(c);
	if (o->transport == MB_TCP)
		c->ctx = modbus_new_tcp_pi(o->host, o->port);
	else
		c->ctx = modbus_new_rtu(o->dev, o->baud, o->parity, 8,
		    o->parity == 'N' ? 2 : 1);
	if (c->ctx == NULL)
		return -1;
	modbus_set_debug(c->ctx, o->debug);
	if (modbus_set_slave(c->ctx, o->unit) == -1 ||
	    modbus_set_response_timeout(c->ctx, sec, usec) == -1 ||
	    modbus_set_byte_timeout(c->ctx, sec, usec) == -1 ||
	    modbus_connect(c->ctx) == -1) {
		int e = errno;

		modbus_free(c->ctx);
		c->ctx = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

static void
conn_close(struct mb_conn *c)
{
	if (c->ctx != NULL) {
		modbus_close(c->ctx);
		modbus_free(c->ctx);
		c->ctx = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}

/* After a failed transaction: drop what may still arrive for it. */
static int
conn_recover(struct mb_conn *c)
{
	if (c->o->transport == MB_TCP) {
		/* A late answer would carry the old transaction id; a new
		 * connection is the only clean slate. */
		modbus_close(c->ctx);
		return modbus_connect(c->ctx);
	}
	if (c->ctx != NULL)
		modbus_flush(c->ctx);
	else
		tcflush(c->fd, TCIFLUSH);
	return 0;
}

/* FC 1-4: count values (bits as 0/1) into out. */
static int
op_read(struct mb_conn *c, int fc, int addr, int count, uint16_t *out)
{
	uint8_t req[5], rsp[MODBUS_MAX_PDU_LENGTH], bits[MODBUS_MAX_READ_BITS];
	size_t rsplen;
	int i, rc;

	if (c->ctx != NULL) {
		switch (fc) {
		case MODBUS_FC_READ_HOLDING_REGISTERS:
			rc = modbus_read_registers(c->ctx, addr, count, out);
			break;
		case MODBUS_FC_READ_INPUT_REGISTERS:
			rc = modbus_read_input_registers(c->ctx, addr, count,
			    out);
			break;
		default:
			rc = fc == MODBUS_FC_READ_COILS ?
			    modbus_read_bits(c->ctx, addr, count, bits) :
			    modbus_read_input_bits(c->ctx, addr, count, bits);
			for (i = 0; rc > 0 && i < count; i++)
				out[i] = bits[i];
		}
		return rc == -1 ? -1 : 0;
	}
	req[0] = (uint8_t)fc;
	put16(req + 1, (unsigned int)addr);
	put16(req + 3, (unsigned int)count);
	if (ascii_transact(c, req, sizeof(req), rsp, &rsplen) == -1 ||
	    pdu_check(req, rsp, rsplen) == -1)
		return -1;
	for (i = 0; i < count; i++)
		out[i] = (uint16_t)(fc <= MODBUS_FC_READ_DISCRETE_INPUTS ?
		    (rsp[2 + i / 8] >> (i % 8)) & 1 :
		    rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i]);
	return 0;
}

/* FC 5, 6, 15, 16. */
static int
op_write(struct mb_conn *c, int fc, int addr, int count, const uint16_t *v)
{
	uint8_t req[MODBUS_MAX_PDU_LENGTH], rsp[MODBUS_MAX_PDU_LENGTH];
	uint8_t bits[MODBUS_MAX_WRITE_BITS];
	size_t len = 0, rsplen;
	int i, rc;

	if (c->ctx != NULL) {
		switch (fc) {
		case MODBUS_FC_WRITE_SINGLE_COIL:
			rc = modbus_write_bit(c->ctx, addr, v[0]);
			break;
		case MODBUS_FC_WRITE_SINGLE_REGISTER:
			rc = modbus_write_register(c->ctx, addr, v[0]);
			break;
		case MODBUS_FC_WRITE_MULTIPLE_COILS:
			for (i = 0; i < count; i++)
				bits[i] = (uint8_t)v[i];
			rc = modbus_write_bits(c->ctx, addr, count, bits);
			break;
		default:
			rc = modbus_write_registers(c->ctx, addr, count, v);
		}
		return rc == -1 ? -1 : 0;
	}
	req[len++] = (uint8_t)fc;
	put16(req + len, (unsigned int)addr);
	len += 2;
	switch (fc) {
	case MODBUS_FC_WRITE_SINGLE_COIL:
		put16(req + len, v[0] ? 0xFF00 : 0);
		len += 2;
		break;
	case MODBUS_FC_WRITE_SINGLE_REGISTER:
		put16(req + len, v[0]);
		len += 2;
		break;
	case MODBUS_FC_WRITE_MULTIPLE_COILS:
		put16(req + len, (unsigned int)count);
		len += 2;
		req[len++] = (uint8_t)((count + 7) / 8);
		memset(req + len, 0, (size_t)(count + 7) / 8);
		for (i = 0; i < count; i++)
			if (v[i])
				req[len + (size_t)i / 8] |= (uint8_t)(1 << (i % 8));
		len += (size_t)(count + 7) / 8;
		break;
	default:
		put16(req + len, (unsigned int)count);
		len += 2;
		req[len++] = (uint8_t)(2 * count);
		for (i = 0; i < count; i++, len += 2)
			put16(req + len, v[i]);
	}
	if (ascii_transact(c, req, len, rsp, &rsplen) == -1 ||
	    pdu_check(req, rsp, rsplen) == -1)
		return -1;
	return 0;
}

/* FC 23: write wcount registers at waddr, then read rcount at raddr. */
static int
op_rw(struct mb_conn *c, int raddr, int rcount, int waddr, int wcount,
    const uint16_t *v, uint16_t *out)
{
	uint8_t req[MODBUS_MAX_PDU_LENGTH], rsp[MODBUS_MAX_PDU_LENGTH];
	size_t len = 0, rsplen;
	int i;

	if (c->ctx != NULL)
		return modbus_write_and_read_registers(c->ctx, waddr, wcount,
		    v, raddr, rcount, out) == -1 ? -1 : 0;
	req[len++] = MODBUS_FC_WRITE_AND_READ_REGISTERS;
	put16(req + len, (unsigned int)raddr);
	put16(req + len + 2, (unsigned int)rcount);
	put16(req + len + 4, (unsigned int)waddr);
	put16(req + len + 6, (unsigned int)wcount);
	len += 8;
	req[len++] = (uint8_t)(2 * wcount);
	for (i = 0; i < wcount; i++, len += 2)
		put16(req + len, v[i]);
	if (ascii_transact(c, req, len, rsp, &rsplen) == -1 ||
	    pdu_check(req, rsp, rsplen) == -1)
		return -1;
	for (i = 0; i < rcount; i++)
		out[i] = (uint16_t)(rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i]);
	return 0;
}

/*
 * Over TCP the MBAP length (Modbus Messaging on TCP/IP V1.0b, 3.1.3)
 * says how much of a response libmodbus left unread when it framed by
 * function code: read the rest, so raw shows any PDU whole.
 */
static int
tcp_rest(struct mb_conn *c, const uint8_t *mbap, uint8_t *rsp, size_t *rsplen)
{
	size_t want = (size_t)(mbap[4] << 8 | mbap[5]);
	int fd = modbus_get_socket(c->ctx), rc;
	ssize_t r;

	if (want < 2 || want - 1 > MODBUS_MAX_PDU_LENGTH) {
		errno = EMBBADDATA;
		return -1;
	}
	want--;		/* the unit id is counted */
	while (*rsplen < want) {
		if ((rc = wait_readable(fd, c->o->timeout_ms)) <= 0) {
			if (rc == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		r = recv(fd, rsp + *rsplen, want - *rsplen, 0);
		if (r == 0)
			errno = ECONNRESET;
		if (r <= 0) {
			if (r == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			return -1;
		}
		*rsplen += (size_t)r;
	}
	if (*rsplen > want) {
		errno = EMBBADDATA;
		return -1;
	}
	return 0;
}

/*
 * Any request PDU.  libmodbus frames the answer by what it knows of the
 * function code (exceptions for every code; normal responses for FC 1-7,
 * 15-17, 22, 23): over RTU other answers fail (their CRC is not where
 * libmodbus looks), over TCP tcp_rest completes them.  ASCII frames by
 * delimiters and takes any PDU.
 */
static int
op_raw(struct mb_conn *c, const uint8_t *pdu, size_t len, uint8_t *rsp,
    size_t *rsplen)
{
	uint8_t req[1 + MODBUS_MAX_PDU_LENGTH], adu[MODBUS_MAX_ADU_LENGTH];
	int hdr, crc, n;

	if (c->ctx == NULL)
		return ascii_transact(c, pdu, len, rsp, rsplen);
	req[0] = (uint8_t)c->o->unit;
	memcpy(req + 1, pdu, len);
	if (modbus_send_raw_request(c->ctx, req, (int)len + 1) == -1 ||
	    (n = modbus_receive_confirmation(c->ctx, adu)) == -1)
		return -1;
	hdr = modbus_get_header_length(c->ctx);
	crc = c->o->transport == MB_RTU ? 2 : 0;
	/* RTU check_integrity returns 0 for a frame from another unit. */
	if (n == 0) {
		errno = EMBBADSLAVE;
		return -1;
	}
	if (n < hdr + 1 + crc) {
		errno = EMBBADDATA;
		return -1;
	}
	/* The raw request went out with transaction id 0. */
	if (c->o->transport == MB_TCP && (adu[0] != 0 || adu[1] != 0 ||
	    adu[hdr - 1] != c->o->unit)) {
		errno = EMBBADDATA;
		return -1;
	}
	*rsplen = (size_t)(n - hdr - crc);
	memcpy(rsp, adu + hdr, *rsplen);
	if (c->o->transport == MB_TCP)
		return tcp_rest(c, adu, rsp, rsplen);
	return 0;
}

/* ---- commands ---- */

static int
cmd_read(struct mb_conn *c, int fc, int argc, char **argv)
{
	uint16_t v[MODBUS_MAX_READ_BITS];
	long addr, count;
	long max = fc <= MODBUS_FC_READ_DISCRETE_INPUTS ? MODBUS_MAX_READ_BITS :
	    MODBUS_MAX_READ_REGISTERS;
	int i;

	if (argc != 3 || parse_long(argv[1], 0, 65535, &addr) == -1 ||
	    parse_long(argv[2], 1, max, &count) == -1)
		return usage_error("%s ADDR COUNT: bad arguments (use raw for"
		    " requests outside the spec)", argv[0]);
	if (op_read(c, fc, (int)addr, (int)count, v) == -1)
		return report_error(errno);
	for (i = 0; i < count; i++)
		printf("%s%u", i ? " " : "", v[i]);
	printf("\n");
	return 0;
}

static int
cmd_write(struct mb_conn *c, int fc, int argc, char **argv)
{
	uint16_t v[MODBUS_MAX_WRITE_BITS];
	long addr, x;
	int single = fc == MODBUS_FC_WRITE_SINGLE_COIL ||
	    fc == MODBUS_FC_WRITE_SINGLE_REGISTER;
	int bits = fc == MODBUS_FC_WRITE_SINGLE_COIL ||
	    fc == MODBUS_FC_WRITE_MULTIPLE_COILS;
	int max = single ? 1 : bits ? MODBUS_MAX_WRITE_BITS :
	    MODBUS_MAX_WRITE_REGISTERS;
	int i, n = argc - 2;

	if (argc < 3 || n > max || parse_long(argv[1], 0, 65535, &addr) == -1)
		return usage_error(single ? "%s ADDR VALUE: bad arguments" :
		    "%s ADDR V1 V2 ...: bad arguments", argv[0]);
	for (i = 0; i < n; i++) {
		if (parse_long(argv[2 + i], 0, bits ? 1 : 65535, &x) == -1)
			return usage_error("bad value %s", argv[2 + i]);
		v[i] = (uint16_t)x;
	}
	if (op_write(c, fc, (int)addr, n, v) == -1)
		return report_error(errno);
	printf("ok\n");
	return 0;
}

static int
cmd_rw(struct mb_conn *c, int fc, int argc, char **argv)
{
	uint16_t v[MODBUS_MAX_WR_WRITE_REGISTERS], out[MODBUS_MAX_WR_READ_REGISTERS];
	long addr, count, waddr, x;
	int i, n = argc - 4;

	(void)fc;

	if (argc < 5 || n > MODBUS_MAX_WR_WRITE_REGISTERS ||
	    parse_long(argv[1], 0, 65535, &addr) == -1 ||
	    parse_long(argv[2], 1, MODBUS_MAX_WR_READ_REGISTERS, &count) == -1 ||
	    parse_long(argv[3], 0, 65535, &waddr) == -1)
		return usage_error("%s ADDR COUNT WADDR V...: bad arguments",
		    argv[0]);
	for (i = 0; i < n; i++) {
		if (parse_long(argv[4 + i], 0, 65535, &x) == -1)
			return usage_error("bad value %s", argv[4 + i]);
		v[i] = (uint16_t)x;
	}
	if (op_rw(c, (int)addr, (int)count, (int)waddr, n, v, out) == -1)
		return report_error(errno);
	for (i = 0; i < count; i++)
		printf("%s%u", i ? " " : "", out[i]);
	printf("\n");
	return 0;
}

static int
cmd_raw(struct mb_conn *c, int fc, int argc, char **argv)
{
	uint8_t pdu[MODBUS_MAX_PDU_LENGTH], rsp[MODBUS_MAX_PDU_LENGTH];
	size_t len, rsplen, i;

	(void)fc;
	if (argc != 2 || unhex(argv[1], pdu, sizeof(pdu), &len) == -1)
		return usage_error("raw HEXPDU: bad PDU %s",
		    argc > 1 ? argv[1] : "(none)");
	if (op_raw(c, pdu, len, rsp, &rsplen) == -1)
		return report_error(errno);
	if (rsplen == 2 && rsp[0] == (pdu[0] | 0x80)) {
		printf("exception 0x%02X\n", rsp[1]);
		return 2;
	}
	for (i = 0; i < rsplen; i++)
		printf("%02x", rsp[i]);
	printf("\n");
	return 0;
}

/* ---- benchmarks ---- */

/* Latencies in microseconds, grown as needed. */
struct lat_buf {
	uint32_t	*v;
	size_t		 n, cap;
};

static int
lat_add(struct lat_buf *b, int64_t ns)
{
	uint32_t *nv;
	size_t ncap;

	if (b->n == b->cap) {
		ncap = b->cap ? 2 * b->cap : 4096;
		if ((nv = realloc(b->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		b->v = nv;
		b->cap = ncap;
	}
	b->v[b->n++] = ns / 1000 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)((ns + 500) / 1000);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted buffer. */
static uint32_t
pct(const struct lat_buf *b, unsigned int p)
{
	size_t r;

	if (b->n == 0)
		return 0;
	r = (b->n * p + 99) / 100;
	return b->v[r ? r - 1 : 0];
}

static int
cmd_bench_latency(struct mb_conn *c, int fc, int argc, char **argv)
{
	struct lat_buf lat = { NULL, 0, 0 };
	uint16_t regs[BENCH_COUNT];
	unsigned long errors = 0;
	long n, i;
	int64_t t0;

	(void)fc;
	if (argc != 2 || parse_long(argv[1], 1, 100000000, &n) == -1)
		return usage_error("bench-latency N: bad N %s",
		    argc > 1 ? argv[1] : "(none)");
	for (i = 0; i < BENCH_WARMUP; i++)
		if (op_read(c, MODBUS_FC_READ_HOLDING_REGISTERS, BENCH_ADDR,
		    BENCH_COUNT, regs) == -1 && conn_recover(c) == -1)
			return report_error(errno);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (op_read(c, MODBUS_FC_READ_HOLDING_REGISTERS, BENCH_ADDR,
		    BENCH_COUNT, regs) == -1) {
			errors++;
			if (conn_recover(c) == -1)
				return report_error(errno);
			continue;
		}
		if (lat_add(&lat, now_ns() - t0) == -1)
			return report_error(errno);
	}
	qsort(lat.v, lat.n, sizeof(*lat.v), cmp_u32);
	printf("n=%ld p50_us=%u p90_us=%u p99_us=%u max_us=%u errors=%lu\n",
	    n, pct(&lat, 50), pct(&lat, 90), pct(&lat, 99),
	    lat.n ? lat.v[lat.n - 1] : 0, errors);
	free(lat.v);
	/* Errors are part of the measurement; none succeeding is not. */
	return lat.n > 0 ? 0 : 1;
}

struct bench_worker {
	pthread_t		 thread;
	const struct mb_opts	*o;
	pthread_barrier_t	*start;
	int64_t			 duration_ns;
	struct mb_conn		 c;
	int			 connected;
	struct lat_buf		 lat;
	unsigned long		 errors;
	int			 fatal_errno;	/* why it stopped early */
};

static void *
bench_worker_run(void *arg)
{
	struct bench_worker *w = arg;
	uint16_t regs[BENCH_COUNT];
	int64_t t0, deadline;

	pthread_barrier_wait(w->start);
	if (!w->connected)
		return NULL;
	deadline = now_ns() + w->duration_ns;
	while ((t0 = now_ns()) < deadline) {
		if (op_read(&w->c, MODBUS_FC_READ_HOLDING_REGISTERS,
		    BENCH_ADDR, BENCH_COUNT, regs) == -1) {
			w->errors++;
			if (conn_recover(&w->c) == -1) {
				w->fatal_errno = errno;
				break;
			}
			continue;
		}
		if (lat_add(&w->lat, now_ns() - t0) == -1) {
			w->fatal_errno = errno;
			break;
		}
	}
	return NULL;
}

static int
cmd_bench_throughput(const struct mb_opts *o, int argc, char **argv)
{
	struct bench_worker *w;
	struct lat_buf all = { NULL, 0, 0 };
	pthread_barrier_t start;
	pthread_attr_t attr;
	unsigned long errors = 0;
	long masters, seconds, i;
	int64_t t0, elapsed;
	int rc;

	if (argc != 3 || parse_long(argv[1], 1, BENCH_MAX_MASTERS,
	    &masters) == -1 || parse_long(argv[2], 1, 86400, &seconds) == -1)
		return usage_error("%s MASTERS SECONDS: bad arguments (MASTERS"
		    " 1..%d)", argv[0], BENCH_MAX_MASTERS);
	if (o->transport != MB_TCP && masters > 1)
		return usage_error("%s: a serial line has one master; MASTERS"
		    " > 1 needs --tcp", argv[0]);
	if ((w = calloc((size_t)masters, sizeof(*w))) == NULL)
		return report_error(errno);
	if ((rc = pthread_barrier_init(&start, NULL,
	    (unsigned int)masters + 1)) != 0) {
		free(w);
		return report_error(rc);
	}
	/* Connect everyone first, so connection set-up is not measured. */
	for (i = 0; i < masters; i++) {
		w[i].o = o;
		w[i].start = &start;
		w[i].duration_ns = (int64_t)seconds * 1000000000;
		if (conn_open(&w[i].c, o) == -1) {
			fprintf(stderr, "mb-client: master %ld: connect: %s\n",
			    i, modbus_strerror(errno));
			errors++;
		} else
			w[i].connected = 1;
	}
	/* Thousands of masters must fit: a small stack each. */
	if ((rc = pthread_attr_init(&attr)) != 0 ||
	    (rc = pthread_attr_setstacksize(&attr, BENCH_STACK)) != 0)
		return report_error(rc);
	for (i = 0; i < masters; i++)
		if ((rc = pthread_create(&w[i].thread, &attr, bench_worker_run,
		    &w[i])) != 0) {
			/* The barrier counts on every thread: give up. */
			fprintf(stderr, "mb-client: pthread_create: %s\n",
			    strerror(rc));
			exit(1);
		}
	pthread_attr_destroy(&attr);
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (i = 0; i < masters; i++)
		pthread_join(w[i].thread, NULL);
	elapsed = now_ns() - t0;
	for (i = 0; i < masters; i++) {
		struct lat_buf *b = &w[i].lat;
		uint32_t *nv;

		errors += w[i].errors;
		if (w[i].fatal_errno != 0)
			fprintf(stderr, "mb-client: master %ld stopped: %s\n",
			    i, modbus_strerror(w[i].fatal_errno));
		if (b->n > 0) {
			nv = realloc(all.v, (all.n + b->n) * sizeof(*nv));
			if (nv == NULL)
				return report_error(errno);
			all.v = nv;
			memcpy(all.v + all.n, b->v, b->n * sizeof(*nv));
			all.n += b->n;
		}
		free(b->v);
		conn_close(&w[i].c);
	}
	qsort(all.v, all.n, sizeof(*all.v), cmp_u32);
	printf("masters=%ld seconds=%ld transactions=%zu tps=%.1f errors=%lu"
	    " p50_us=%u p99_us=%u\n", masters, seconds, all.n,
	    elapsed > 0 ? (double)all.n * 1e9 / (double)elapsed : 0.0, errors,
	    pct(&all, 50), pct(&all, 99));
	free(all.v);
	free(w);
	pthread_barrier_destroy(&start);
	return all.n > 0 ? 0 : 1;
}

/* ---- hold-idle: plain sockets, no Modbus ---- */

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Connect phase: fd per slot, -1 once failed or closed. */
enum hold_state {
	HOLD_PENDING,
	HOLD_OPEN,
	HOLD_DONE,
};

/*
 * Poll the slots in state `want' (events ev) plus extra (if >= 0) for at
 * most ms; revents land in p[], slot numbers in idx[].  Returns the
 * number of entries polled, -1 on error.
 */
static int
hold_poll(const int *fds, const unsigned char *st, long n, int want,
    short ev, int extra, struct pollfd *p, long *idx, int ms, int *ready)
{
	long i, k = 0;

	for (i = 0; i < n; i++)
		if (st[i] == want) {
			p[k].fd = fds[i];
			p[k].events = ev;
			p[k].revents = 0;
			idx[k++] = i;
		}
	if (extra >= 0) {
		p[k].fd = extra;
		p[k].events = POLLIN;
		p[k].revents = 0;
		idx[k++] = -1;
	}
	if ((*ready = poll(p, (nfds_t)k, ms)) == -1 && errno != EINTR)
		return -1;
	if (*ready == -1)
		*ready = 0;
	return (int)k;
}

static int
ms_until(int64_t deadline)
{
	int64_t left = (deadline - now_ns() + 999999) / 1000000;

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int
cmd_hold_idle(const struct mb_opts *o, int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct pollfd *p;
	unsigned char *st;
	sigset_t sigs;
	long n, seconds, i, k, *idx;
	long connected = 0, failed = 0, closed = 0, pending = 0;
	int64_t deadline;
	int wait_ms = o->timeout_set ? o->timeout_ms : HOLD_CONNECT_MS;
	int rc, err, first_err = 0, sfd, ready, *fds, stop = 0;
	socklen_t elen;
	char buf[512];

	if (argc != 3 || parse_long(argv[1], 1, 1000000, &n) == -1 ||
	    parse_long(argv[2], 0, 86400, &seconds) == -1)
		return usage_error("%s N SECONDS: bad arguments", argv[0]);
	if (o->transport != MB_TCP)
		return usage_error("%s needs --tcp", argv[0]);
	/* SIGTERM ends the idle phase early, through a signalfd the poll
	 * below watches; blocked before any socket exists. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) == -1 ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) == -1)
		return report_error(errno);
	raise_nofile();
	if ((rc = getaddrinfo(o->host, o->port, &hints, &ai)) != 0) {
		fprintf(stderr, "mb-client: %s:%s: %s\n", o->host, o->port,
		    gai_strerror(rc));
		return 1;
	}
	fds = calloc((size_t)n, sizeof(*fds));
	st = calloc((size_t)n, sizeof(*st));
	idx = calloc((size_t)n + 1, sizeof(*idx));
	p = calloc((size_t)n + 1, sizeof(*p));
	if (fds == NULL || st == NULL || idx == NULL || p == NULL)
		return report_error(errno);
	for (i = 0; i < n; i++) {
		fds[i] = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fds[i] == -1)
			err = errno;
		else if (connect(fds[i], ai->ai_addr, ai->ai_addrlen) == 0)
			err = 0;
		else
			err = errno;
		if (err == EINPROGRESS) {
			st[i] = HOLD_PENDING;
			pending++;
		} else if (err == 0) {
			st[i] = HOLD_OPEN;
			connected++;
		} else {
			st[i] = HOLD_DONE;
			failed++;
			if (first_err == 0)
				first_err = err;
			if (fds[i] != -1)
				close(fds[i]);
			fds[i] = -1;
		}
	}
	freeaddrinfo(ai);

	deadline = now_ns() + (int64_t)wait_ms * 1000000;
	while (pending > 0 && ms_until(deadline) > 0) {
		if ((rc = hold_poll(fds, st, n, HOLD_PENDING, POLLOUT, -1, p,
		    idx, ms_until(deadline), &ready)) == -1)
			return report_error(errno);
		for (k = 0; k < rc && ready > 0; k++) {
			if (p[k].revents == 0)
				continue;
			ready--;
			pending--;
			i = idx[k];
			elen = sizeof(err);
			if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err,
			    &elen) == -1)
				err = errno;
			if (err == 0) {
				st[i] = HOLD_OPEN;
				connected++;
				continue;
			}
			if (first_err == 0)
				first_err = err;
			failed++;
			st[i] = HOLD_DONE;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (i = 0; i < n; i++)
		if (st[i] == HOLD_PENDING) {
			st[i] = HOLD_DONE;
			close(fds[i]);
			fds[i] = -1;
			failed++;
			if (first_err == 0)
				first_err = ETIMEDOUT;
		}
	if (first_err != 0)
		fprintf(stderr, "mb-client: %ld connects failed, first: %s\n",
		    failed, strerror(first_err));
	printf("connected=%ld failed=%ld\n", connected, failed);
	fflush(stdout);

	/* Idle: send nothing, but note the connections the peer ends. */
	deadline = now_ns() + (int64_t)seconds * 1000000000;
	while (!stop && ms_until(deadline) > 0) {
		if ((rc = hold_poll(fds, st, n, HOLD_OPEN, POLLIN | POLLRDHUP,
		    sfd, p, idx, ms_until(deadline), &ready)) == -1)
			return report_error(errno);
		for (k = 0; k < rc && ready > 0; k++) {
			ssize_t r;

			if (p[k].revents == 0)
				continue;
			ready--;
			if ((i = idx[k]) == -1) {
				stop = 1;
				break;
			}
			r = recv(fds[i], buf, sizeof(buf), 0);
			if (r > 0 || (r == -1 && errno == EAGAIN &&
			    !(p[k].revents & (POLLHUP | POLLERR | POLLRDHUP))))
				continue;
			st[i] = HOLD_DONE;
			close(fds[i]);
			fds[i] = -1;
			closed++;
		}
	}
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	printf("held=%ld closed_by_peer=%ld\n", connected - closed, closed);
	free(fds);
	free(st);
	free(idx);
	free(p);
	close(sfd);
	return 0;
}

/* ---- serve: a libmodbus slave ---- */

/* Each table: addresses 0 to SERVE_TABLE - 1. */
#define SERVE_TABLE	10000
/* libmodbus retries select() on EINTR, so a signal alone never ends a
 * receive: waits are cut into ticks this long and the flag checked
 * between them, which bounds the exit after SIGTERM. */
#define SERVE_TICK_MS	500
/* Clients queue here while another one is served. */
#define SERVE_BACKLOG	16
/* libmodbus' response timeout, which a server uses only to skip the
 * answer to a request for another unit (see the top comment). */
#define SERVE_OTHER_UNIT_US	1000

static volatile sig_atomic_t serve_stop;

static void
serve_on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static int
serve_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking accept() returns EINTR. */
	sa.sa_handler = serve_on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	/* A client that leaves before its answer is sent is not an error. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* The simulator's tables (contrib/sluice-modbus-sim). */
static modbus_mapping_t *
serve_mapping(void)
{
	modbus_mapping_t *m;
	int i;

	m = modbus_mapping_new_start_address(0, SERVE_TABLE, 0, SERVE_TABLE,
	    0, SERVE_TABLE, 0, SERVE_TABLE);
	if (m == NULL)
		return NULL;
	for (i = 0; i < SERVE_TABLE; i++) {
		m->tab_bits[i] = i % 3 == 0;
		m->tab_input_bits[i] = (uint8_t)(i % 2);
		m->tab_registers[i] = (uint16_t)i;
		m->tab_input_registers[i] = (uint16_t)(i ^ 0xFFFF);
	}
	return m;
}

/* Replace path with one line of text, so a waiting test never sees it
 * half written. */
static int
write_ready(const char *path, const char *text)
{
	size_t plen = strlen(path), len = strlen(text);
	char *tmp;
	int fd, e;

	if ((tmp = malloc(plen + sizeof(".XXXXXX"))) == NULL)
		return -1;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", sizeof(".XXXXXX"));
	if ((fd = mkstemp(tmp)) == -1) {
		free(tmp);
		return -1;
	}
	errno = EIO;	/* for a short write */
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

/*
 * Whether the receive loop goes on after error e.  Silence does; so, on
 * a serial line, does a garbled frame (the next one starts after the
 * silence that ended it).  A TCP stream cannot resynchronise: the
 * client is dropped.
 */
static int
serve_retry(int e, int tcp)
{
	if (e == ETIMEDOUT || e == EINTR)
		return 1;
	return !tcp && e >= MODBUS_ENOBASE;
}

/* Answer requests until a signal (0) or an error serve_retry gives up on
 * (-1, errno set). */
static int
serve_loop(modbus_t *ctx, modbus_mapping_t *map, int tcp)
{
	uint8_t req[MODBUS_MAX_ADU_LENGTH];
	int n;

	while (!serve_stop) {
		/* 0: a request for another unit (RTU), already dropped. */
		if ((n = modbus_receive(ctx, req)) > 0)
			n = modbus_reply(ctx, req, n, map);
		if (n == -1 && !serve_retry(errno, tcp))
			return -1;
	}
	return 0;
}

static int
serve_tcp(const struct mb_opts *o, modbus_t *ctx, modbus_mapping_t *map,
    const char *ready)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct pollfd p;
	char port[NI_MAXSERV];
	int lfd, rc;

	if ((lfd = modbus_tcp_pi_listen(ctx, SERVE_BACKLOG)) == -1)
		return report_error(errno);
	/* getnameinfo, not a cast to sockaddr_in: that one needs more
	 * alignment than struct sockaddr promises. */
	if (getsockname(lfd, (struct sockaddr *)&ss, &sslen) == -1) {
		rc = report_error(errno);
		close(lfd);
		return rc;
	}
	if ((rc = getnameinfo((struct sockaddr *)&ss, sslen, NULL, 0, port,
	    sizeof(port), NI_NUMERICSERV)) != 0) {
		fprintf(stderr, "mb-client: listening socket: %s\n",
		    gai_strerror(rc));
		close(lfd);
		return 1;
	}
	if (o->debug)
		fprintf(stderr, "mb-client: serving on %s port %s\n", o->host,
		    port);
	if (ready != NULL && write_ready(ready, port) == -1) {
		fprintf(stderr, "mb-client: %s: %s\n", ready, strerror(errno));
		close(lfd);
		return 1;
	}
	while (!serve_stop) {
		p.fd = lfd;
		p.events = POLLIN;
		if ((rc = poll(&p, 1, SERVE_TICK_MS)) <= 0) {
			if (rc == -1 && errno != EINTR)
				break;
			continue;
		}
		if (modbus_tcp_pi_accept(ctx, &lfd) == -1) {
			/* Some libmodbus versions close the listener when
			 * accept fails. */
			if (lfd == -1)
				return report_error(errno);
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			break;
		}
		rc = serve_loop(ctx, map, 1);
		if (rc == -1 && o->debug)
			fprintf(stderr, "mb-client: client gone: %s\n",
			    modbus_strerror(errno));
		modbus_close(ctx);
	}
	rc = serve_stop ? 0 : report_error(errno);
	close(lfd);
	return rc;
}

static int
serve_rtu(const struct mb_opts *o, modbus_t *ctx, modbus_mapping_t *map,
    const char *ready)
{
	int rc;

	/* A garbled frame: flush what is left of it. */
	if (modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_PROTOCOL) ==
	    -1 || modbus_connect(ctx) == -1) {
		fprintf(stderr, "mb-client: %s: %s\n", o->dev,
		    modbus_strerror(errno));
		return 1;
	}
	if (ready != NULL && write_ready(ready, "ready") == -1) {
		fprintf(stderr, "mb-client: %s: %s\n", ready, strerror(errno));
		modbus_close(ctx);
		return 1;
	}
	rc = serve_loop(ctx, map, 0) == -1 ? report_error(errno) : 0;
	modbus_close(ctx);
	return rc;
}

static int
cmd_serve(const struct mb_opts *o, int argc, char **argv)
{
	modbus_mapping_t *map;
	modbus_t *ctx;
	const char *ready = NULL;
	uint32_t sec = SERVE_TICK_MS / 1000;
	uint32_t usec = SERVE_TICK_MS % 1000 * 1000;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--ready-file") == 0)
		ready = argv[2];
	else if (argc != 1)
		return usage_error("%s", "serve [--ready-file F]: bad"
		    " arguments");
	if (o->transport == MB_ASCII)
		return usage_error("%s", "serve: libmodbus has no ASCII;"
		    " use --rtu or --tcp");
	if (o->transport == MB_RTU && (o->unit < 1 || o->unit > 247))
		return usage_error("serve: unit %d is not a slave address"
		    " (1-247)", o->unit);
	if (serve_signals() == -1)
		return report_error(errno);
	if ((map = serve_mapping()) == NULL)
		return report_error(errno);
	if (o->transport == MB_TCP)
		ctx = modbus_new_tcp_pi(o->host, o->port);
	else
		ctx = modbus_new_rtu(o->dev, o->baud, o->parity, 8,
		    o->parity == 'N' ? 2 : 1);
	if (ctx == NULL) {
		rc = report_error(errno);
		modbus_mapping_free(map);
		return rc;
	}
	modbus_set_debug(ctx, o->debug);
	if (modbus_set_slave(ctx, o->unit) == -1 ||
	    modbus_set_indication_timeout(ctx, sec, usec) == -1 ||
	    modbus_set_response_timeout(ctx, 0, SERVE_OTHER_UNIT_US) == -1 ||
	    (o->timeout_set && modbus_set_byte_timeout(ctx,
	    (uint32_t)o->timeout_ms / 1000,
	    (uint32_t)o->timeout_ms % 1000 * 1000) == -1))
		rc = report_error(errno);
	else if (o->transport == MB_TCP)
		rc = serve_tcp(o, ctx, map, ready);
	else
		rc = serve_rtu(o, ctx, map, ready);
	modbus_free(ctx);
	modbus_mapping_free(map);
	return rc;
}

/* Commands that talk Modbus over one connection. */
static const struct mb_cmd {
	const char	*name;
	int		 fc;
	int		(*run)(struct mb_conn *, int, int, char **);
} mb_cmds[] = {
	{ "read-hr", MODBUS_FC_READ_HOLDING_REGISTERS, cmd_read },
	{ "read-ir", MODBUS_FC_READ_INPUT_REGISTERS, cmd_read },
	{ "read-coils", MODBUS_FC_READ_COILS, cmd_read },
	{ "read-di", MODBUS_FC_READ_DISCRETE_INPUTS, cmd_read },
	{ "write-reg", MODBUS_FC_WRITE_SINGLE_REGISTER, cmd_write },
	{ "write-regs", MODBUS_FC_WRITE_MULTIPLE_REGISTERS, cmd_write },
	{ "write-coil", MODBUS_FC_WRITE_SINGLE_COIL, cmd_write },
	{ "write-coils", MODBUS_FC_WRITE_MULTIPLE_COILS, cmd_write },
	{ "rw", MODBUS_FC_WRITE_AND_READ_REGISTERS, cmd_rw },
	{ "raw", 0, cmd_raw },
	{ "bench-latency", MODBUS_FC_READ_HOLDING_REGISTERS,
	    cmd_bench_latency },
};

static int
run(struct mb_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tcp", required_argument, NULL, 't' },
		{ "rtu", required_argument, NULL, 'r' },
		{ "ascii", required_argument, NULL, 'a' },
		{ "unit", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mb_conn c;
	const char *cmd;
	int ch, have_peer = 0, rc;
	size_t k;
	long v;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (have_peer++)
				return usage_error("%s", "give exactly one of"
				    " --tcp, --rtu, --ascii");
			if (parse_tcp(o, optarg) == -1)
				return usage_error("bad --tcp %s", optarg);
			break;
		case 'r':
		case 'a':
			if (have_peer++)
				return usage_error("%s", "give exactly one of"
				    " --tcp, --rtu, --ascii");
			if (parse_serial(o, optarg,
			    ch == 'r' ? MB_RTU : MB_ASCII) == -1)
				return usage_error("bad serial line %s",
				    optarg);
			break;
		case 'u':
			if (parse_long(optarg, 0, 255, &v) == -1)
				return usage_error("bad --unit %s", optarg);
			o->unit = (int)v;
			break;
		case 'T':
			if (parse_long(optarg, 1, 3600000, &v) == -1)
				return usage_error("bad --timeout %s", optarg);
			o->timeout_ms = (int)v;
			o->timeout_set = 1;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE_CODE;
		}
	}
	argc -= optind;
	argv += optind;
	if (have_peer != 1 || argc < 1)
		return usage_error("%s", have_peer != 1 ?
		    "give one of --tcp, --rtu, --ascii" : "no command");
	cmd = argv[0];
	if (strcmp(cmd, "hold-idle") == 0)
		return cmd_hold_idle(o, argc, argv);
	if (strcmp(cmd, "bench-throughput") == 0)
		return cmd_bench_throughput(o, argc, argv);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(o, argc, argv);
	for (k = 0; k < sizeof(mb_cmds) / sizeof(mb_cmds[0]); k++)
		if (strcmp(cmd, mb_cmds[k].name) == 0)
			break;
	if (k == sizeof(mb_cmds) / sizeof(mb_cmds[0]))
		return usage_error("unknown command %s", cmd);
	if (conn_open(&c, o) == -1) {
		rc = errno;
		fprintf(stderr, "mb-client: %s: %s\n", o->transport == MB_TCP ?
		    o->host : o->dev, modbus_strerror(rc));
		if (rc != ETIMEDOUT)
			return 1;
		printf("timeout\n");
		return 3;
	}
	rc = mb_cmds[k].run(&c, mb_cmds[k].fc, argc, argv);
	conn_close(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	struct mb_opts o = {
		.transport = MB_TCP, .baud = 19200, .parity = 'E', .unit = 1,
		.timeout_ms = DEFAULT_TIMEOUT_MS,
	};
	int rc;

	rc = run(&o, argc, argv);
	free(o.host);
	free(o.port);
	free(o.dev);
	return rc;
}
