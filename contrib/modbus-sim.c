/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * modbus-sim.c - sluice-modbus-sim, a Modbus slave (server) for the
 * tests, the demo and the benchmarks: RTU or ASCII on a pty it creates,
 * or Modbus/TCP on a listening socket.  All framing goes through the
 * project's codec (proto/modbus), so this file is transport and tables.
 *
 *   sluice-modbus-sim (--rtu | --ascii) --pty LINK [serial options] [common]
 *   sluice-modbus-sim --tcp PORT [--bind ADDR] [common]
 *
 * A test tool, not the daemon: one thread, blocking waits, but every wait
 * ends on SIGTERM/SIGINT/SIGHUP (exit 0 after removing LINK).  SIGUSR1
 * prints the counters.  Counters (--stats): requests = well-formed frames
 * received for any unit; responses = frames sent (exceptions included);
 * exceptions = exception responses; bad_frames = CRC/LRC errors, garbage,
 * truncated frames and broken MBAP streams; ignored = frames for other
 * units, dropped by --fail-every, and broadcasts of non-write functions.
 *
 * --line-rate models a half-duplex line of the configured character
 * time: a request occupies the line for its length in characters from
 * the moment it was read (or from the end of the previous frame, if
 * later); the answer starts 3.5 characters (RTU; ASCII: at once) or
 * --delay after the request ended, whichever is later, and each of its
 * bytes is written when its stop bit would have ended.
 *
 * References: MODBUS Application Protocol V1.1b3 (function layouts) and
 * MODBUS over Serial Line V1.02 (2.5.1.1 t3.5, 2.5.2.1 ASCII timeout).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "modbus.h"

#define SIM_EXIT_USAGE		64
#define SIM_NS			1000000000ull
#define SIM_MAX_CLIENTS		1024
#define SIM_TCP_IN_CAP		4096	/* > one MBAP ADU: pipelining */
#define SIM_TCP_OUT_CAP		16384
#define SIM_SERIAL_CAP		1024	/* > the longest ASCII frame */
#define SIM_WRITE_WAIT_NS	200000000ull
/* Serial line 2.5.2.1: up to 1 s between characters of an ASCII frame. */
#define SIM_ASCII_TIMEOUT_NS	SIM_NS
#define SIM_SERVER_ID		"sluice-sim"

enum sim_mode {
	SIM_NONE = 0,
	SIM_RTU,
	SIM_ASCII,
	SIM_TCP,
};

struct sim_opts {
	enum sim_mode mode;
	const char *link;		/* --pty */
	uint16_t port;			/* --tcp */
	const char *bind;
	uint32_t baud;
	char parity;
	unsigned data_bits, stop_bits;
	int serial_opts;		/* some serial option was given */
	int line_rate;
	uint8_t units[32];		/* bitmap of unit ids answered */
	uint32_t nregs;
	uint64_t delay_ns;
	const char *ready_file, *trace_file;
	int stats;
	uint32_t fail_every;
};

struct sim_stats {
	uint64_t requests, responses, exceptions, bad_frames, ignored;
};

struct sim_client {
	int fd;
	int dead;
	int eof;
	size_t in_len, out_off, out_len;
	uint8_t in[SIM_TCP_IN_CAP];
	uint8_t out[SIM_TCP_OUT_CAP];
};

struct sim {
	struct sim_opts o;
	struct sim_stats st;
	uint64_t events;	/* requests executed, for FC11 */
	uint64_t unicast;	/* requests for our units, for --fail-every */
	uint16_t *holding, *input;
	uint8_t *coils, *discrete;	/* one byte per bit: 0 or 1 */
	int trace_fd;

	/* serial */
	int master_fd, slave_fd;
	char slave_path[128];		/* /dev/pts/N */
	int link_made;
	unsigned char_bits;		/* start + data + parity + stop */
	uint64_t silence_ns;		/* RTU frame end timer (t3.5) */
	uint64_t gap_ns;		/* --line-rate turnaround */
	uint64_t line_free_ns;		/* --line-rate: the line idle from */
	uint8_t rx[SIM_SERIAL_CAP];
	size_t rx_len;
	uint64_t rx_first_ns, rx_last_ns;
	int rx_resync;			/* garbage: drop all until silence */

	/* TCP */
	int listen_fd;
	struct sim_client *clients[SIM_MAX_CLIENTS];
	size_t nclients;
	int warned_cap;
	uint64_t accept_paused_until;	/* out of fds: retry then */
};

static volatile sig_atomic_t sim_stop;
static volatile sig_atomic_t sim_dump;

static void
sim_on_signal(int sig)
{
	if (sig == SIGUSR1)
		sim_dump = 1;
	else
		sim_stop = 1;
}

/* --- time ----------------------------------------------------------- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SIM_NS + (uint64_t)ts.tv_nsec;
}

static struct timespec
ns_to_ts(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / SIM_NS);
	ts.tv_nsec = (long)(ns % SIM_NS);
	return ts;
}

/*
 * Signals are blocked except inside the waits, which pass an empty mask
 * to ppoll: a SIGTERM can never slip in between a check and a wait.
 * Returns -1 when told to stop.
 */
static int
sleep_until(uint64_t t)
{
	struct timespec ts;
	sigset_t none;
	uint64_t now;

	sigemptyset(&none);
	while (!sim_stop) {
		now = now_ns();
		if (now >= t)
			return 0;
		ts = ns_to_ts(t - now);
		(void)ppoll(NULL, 0, &ts, &none);
	}
	return -1;
}

/* The time n (may be fractional: halves) characters take on the line. */
static uint64_t
chars_ns(const struct sim *s, uint64_t halfchars)
{
	return halfchars * s->char_bits * SIM_NS / (2u * (uint64_t)s->o.baud);
}

/* --- trace and counters --------------------------------------------- */

static void
trace(struct sim *s, const char *dir, const uint8_t *b, size_t n,
    uint64_t t)
{
	static const char hex[] = "0123456789abcdef";
	static char line[64 + 2 * (SIM_TCP_IN_CAP + SIM_SERIAL_CAP)];
	size_t i;
	int o;

	if (s->trace_fd == -1)
		return;
	o = snprintf(line, sizeof(line), "%" PRIu64 " %s ", t / 1000, dir);
	if (o < 0 || (size_t)o + 2 * n + 1 > sizeof(line))
		return;
	for (i = 0; i < n; i++) {
		line[o++] = hex[b[i] >> 4];
		line[o++] = hex[b[i] & 0xF];
	}
	line[o++] = '\n';
	/* One write per line: a reader never sees half a line. */
	if (write(s->trace_fd, line, (size_t)o) != o)
		fprintf(stderr, "modbus-sim: trace: %s\n", strerror(errno));
}

static void
print_stats(const struct sim *s)
{
	fprintf(stderr, "requests=%" PRIu64 " responses=%" PRIu64
	    " exceptions=%" PRIu64 " bad_frames=%" PRIu64 " ignored=%" PRIu64
	    "\n", s->st.requests, s->st.responses, s->st.exceptions,
	    s->st.bad_frames, s->st.ignored);
}

/* --- the data model and the functions -------------------------------- */

#define EX_FUNCTION	MODBUS_EX_ILLEGAL_FUNCTION
#define EX_ADDRESS	MODBUS_EX_ILLEGAL_DATA_ADDRESS
#define EX_VALUE	MODBUS_EX_ILLEGAL_DATA_VALUE
#define EX_FAILURE	MODBUS_EX_SERVER_DEVICE_FAILURE

/* A response PDU under construction; overflow is remembered, not done. */
struct pdu_out {
	uint8_t *buf;
	size_t len;
	int overflow;
};

static void
put_u8(struct pdu_out *o, uint8_t v)
{
	if (o->len >= MODBUS_MAX_PDU) {
		o->overflow = 1;
		return;
	}
	o->buf[o->len++] = v;
}

static void
put_u16(struct pdu_out *o, uint16_t v)
{
	put_u8(o, (uint8_t)(v >> 8));
	put_u8(o, (uint8_t)(v & 0xFF));
}

static int
range_ok(const struct sim *s, uint16_t addr, uint32_t qty)
{
	return (uint32_t)addr + qty <= s->o.nregs;
}

/* FC1, FC2 (6.1, 6.2): bits packed LSB first. */
static uint8_t
fc_read_bits(struct sim *s, const uint8_t *table, struct modbus_reader *r,
    struct pdu_out *o)
{
	uint16_t addr, qty, i;
	uint8_t byte = 0;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1)
		return EX_VALUE;
	if (!range_ok(s, addr, qty))
		return EX_ADDRESS;
	put_u8(o, (uint8_t)((qty + 7) / 8));
	for (i = 0; i < qty; i++) {
		if (table[addr + i])
			byte |= (uint8_t)(1u << (i % 8));
		if (i % 8 == 7 || i + 1 == qty) {
			put_u8(o, byte);
			byte = 0;
		}
	}
	return 0;
}

/* FC3, FC4 (6.3, 6.4). */
static uint8_t
fc_read_regs(struct sim *s, const uint16_t *table, struct modbus_reader *r,
    struct pdu_out *o)
{
	uint16_t addr, qty, i;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1)
		return EX_VALUE;
	if (!range_ok(s, addr, qty))
		return EX_ADDRESS;
	put_u8(o, (uint8_t)(2 * qty));
	for (i = 0; i < qty; i++)
		put_u16(o, table[addr + i]);
	return 0;
}

/* FC5, FC6 (6.5, 6.6): the answer echoes the request. */
static uint8_t
fc_write_single(struct sim *s, uint8_t fc, struct modbus_reader *r,
    struct pdu_out *o)
{
	uint16_t addr, value;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &value) == -1)
		return EX_VALUE;
	if (!range_ok(s, addr, 1))
		return EX_ADDRESS;
	if (fc == MODBUS_FUNC_WRITE_SINGLE_COIL)
		s->coils[addr] = value == 0xFF00;
	else
		s->holding[addr] = value;
	put_u16(o, addr);
	put_u16(o, value);
	return 0;
}

/* FC15 (6.11). */
static uint8_t
fc_write_coils(struct sim *s, struct modbus_reader *r, struct pdu_out *o)
{
	const uint8_t *bits;
	uint16_t addr, qty, i;
	uint8_t count;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1 ||
	    modbus_get_u8(r, &count) == -1 ||
	    modbus_get_bytes(r, count, &bits) == -1 ||
	    (size_t)count * 8 < qty)
		return EX_VALUE;
	if (!range_ok(s, addr, qty))
		return EX_ADDRESS;
	for (i = 0; i < qty; i++)
		s->coils[addr + i] = (bits[i / 8] >> (i % 8)) & 1;
	put_u16(o, addr);
	put_u16(o, qty);
	return 0;
}

/* Read qty values from r into the holding registers at addr. */
static int
store_regs(struct sim *s, struct modbus_reader *r, uint16_t addr,
    uint16_t qty)
{
	uint16_t i, v;

	for (i = 0; i < qty; i++) {
		if (modbus_get_u16be(r, &v) == -1)
			return -1;
		s->holding[addr + i] = v;
	}
	return 0;
}

/* FC16 (6.12). */
static uint8_t
fc_write_regs(struct sim *s, struct modbus_reader *r, struct pdu_out *o)
{
	uint16_t addr, qty;
	uint8_t count;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1 ||
	    modbus_get_u8(r, &count) == -1 ||
	    modbus_reader_left(r) < 2u * qty)
		return EX_VALUE;
	if (!range_ok(s, addr, qty))
		return EX_ADDRESS;
	if (store_regs(s, r, addr, qty) == -1)
		return EX_VALUE;
	put_u16(o, addr);
	put_u16(o, qty);
	return 0;
}

/* FC23 (6.17): the write is performed before the read. */
static uint8_t
fc_read_write(struct sim *s, struct modbus_reader *r, struct pdu_out *o)
{
	uint16_t raddr, rqty, waddr, wqty, i;
	uint8_t count;

	if (modbus_get_u16be(r, &raddr) == -1 ||
	    modbus_get_u16be(r, &rqty) == -1 ||
	    modbus_get_u16be(r, &waddr) == -1 ||
	    modbus_get_u16be(r, &wqty) == -1 ||
	    modbus_get_u8(r, &count) == -1 ||
	    modbus_reader_left(r) < 2u * wqty)
		return EX_VALUE;
	if (!range_ok(s, raddr, rqty) || !range_ok(s, waddr, wqty))
		return EX_ADDRESS;
	if (store_regs(s, r, waddr, wqty) == -1)
		return EX_VALUE;
	put_u8(o, (uint8_t)(2 * rqty));
	for (i = 0; i < rqty; i++)
		put_u16(o, s->holding[raddr + i]);
	return 0;
}

/* FC22 (6.16): result = (current AND and) OR (or AND NOT and). */
static uint8_t
fc_mask_write(struct sim *s, struct modbus_reader *r, struct pdu_out *o)
{
	uint16_t addr, and_mask, or_mask;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &and_mask) == -1 ||
	    modbus_get_u16be(r, &or_mask) == -1)
		return EX_VALUE;
	if (!range_ok(s, addr, 1))
		return EX_ADDRESS;
	s->holding[addr] = (uint16_t)((s->holding[addr] & and_mask) |
	    (or_mask & ~and_mask));
	put_u16(o, addr);
	put_u16(o, and_mask);
	put_u16(o, or_mask);
	return 0;
}

/* FC24 (6.18): every queue is empty: byte count 2, FIFO count 0. */
static uint8_t
fc_read_fifo(struct sim *s, struct modbus_reader *r, struct pdu_out *o)
{
	uint16_t addr;

	if (modbus_get_u16be(r, &addr) == -1)
		return EX_VALUE;
	if (!range_ok(s, addr, 1))
		return EX_ADDRESS;
	put_u16(o, 2);
	put_u16(o, 0);
	return 0;
}

/* FC8 (6.8): only sub-function 0, return query data, which echoes. */
static uint8_t
fc_diagnostics(struct modbus_reader *r, struct pdu_out *o)
{
	const uint8_t *rest;
	uint16_t sub;
	size_t i, n;

	if (modbus_get_u16be(r, &sub) == -1)
		return EX_VALUE;
	if (sub != 0)
		return EX_FUNCTION;
	n = modbus_reader_left(r);
	if (modbus_get_bytes(r, n, &rest) == -1)
		return EX_VALUE;
	put_u16(o, sub);
	for (i = 0; i < n; i++)
		put_u8(o, rest[i]);
	return 0;
}

/* FC17 (6.13): byte count, server id, run indicator ON. */
static void
fc_report_server_id(struct pdu_out *o)
{
	const char *id = SIM_SERVER_ID;
	size_t i, n = strlen(id);

	put_u8(o, (uint8_t)(n + 1));
	for (i = 0; i < n; i++)
		put_u8(o, (uint8_t)id[i]);
	put_u8(o, 0xFF);
}

/*
 * FC43/14 (6.21): the three basic objects.  Stream access (codes 1-3)
 * starts at the object asked for, or at 0 when there is no such object;
 * individual access (4) answers one object or exception 02.
 */
static uint8_t
fc_device_id(struct modbus_reader *r, struct pdu_out *o)
{
	static const char *const objects[] = { "sluice", "modbus-sim",
		"1.0" };
	const size_t nobj = sizeof(objects) / sizeof(objects[0]);
	uint8_t mei, code, first;
	size_t i, j, last, len;

	if (modbus_get_u8(r, &mei) == -1)
		return EX_VALUE;
	if (mei != MODBUS_MEI_READ_DEVICE_ID)
		return EX_FUNCTION;
	if (modbus_get_u8(r, &code) == -1 || modbus_get_u8(r, &first) == -1)
		return EX_VALUE;
	if (code == 4) {
		if (first >= nobj)
			return EX_ADDRESS;
		last = first;
	} else {
		if (first >= nobj)
			first = 0;
		last = nobj - 1;
	}
	put_u8(o, mei);
	put_u8(o, code);
	put_u8(o, 0x81);	/* basic, stream and individual access */
	put_u8(o, 0);		/* no more follows */
	put_u8(o, 0);		/* next object id */
	put_u8(o, (uint8_t)(last - first + 1));
	for (i = first; i <= last; i++) {
		len = strlen(objects[i]);
		put_u8(o, (uint8_t)i);
		put_u8(o, (uint8_t)len);
		for (j = 0; j < len; j++)
			put_u8(o, (uint8_t)objects[i][j]);
	}
	return 0;
}

/*
 * Execute one request PDU; the response PDU (normal or exception) goes to
 * rsp (MODBUS_MAX_PDU bytes).  Returns its length, or 0 for an empty PDU
 * (nothing to answer).
 */
static size_t
sim_execute(struct sim *s, const uint8_t *pdu, size_t len, uint8_t *rsp)
{
	struct modbus_reader r;
	struct pdu_out o = { rsp, 0, 0 };
	uint8_t ex, fc;

	if (modbus_request_check(pdu, len, &ex) == -1) {
		if (ex == 0)
			return 0;
		goto exception;
	}
	fc = pdu[0];
	put_u8(&o, fc);
	modbus_reader_init(&r, pdu + 1, len - 1);
	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
		ex = fc_read_bits(s, s->coils, &r, &o);
		break;
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
		ex = fc_read_bits(s, s->discrete, &r, &o);
		break;
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
		ex = fc_read_regs(s, s->holding, &r, &o);
		break;
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
		ex = fc_read_regs(s, s->input, &r, &o);
		break;
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
		ex = fc_write_single(s, fc, &r, &o);
		break;
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
		ex = fc_write_coils(s, &r, &o);
		break;
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
		ex = fc_write_regs(s, &r, &o);
		break;
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		ex = fc_read_write(s, &r, &o);
		break;
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		ex = fc_mask_write(s, &r, &o);
		break;
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		ex = fc_read_fifo(s, &r, &o);
		break;
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
		put_u8(&o, 0x00);
		ex = 0;
		break;
	case MODBUS_FUNC_DIAGNOSTICS:
		ex = fc_diagnostics(&r, &o);
		break;
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
		put_u16(&o, 0);		/* status: not busy */
		put_u16(&o, (uint16_t)s->events);
		ex = 0;
		break;
	case MODBUS_FUNC_REPORT_SERVER_ID:
		fc_report_server_id(&o);
		ex = 0;
		break;
	case MODBUS_FUNC_ENCAPSULATED_INTERFACE:
		ex = fc_device_id(&r, &o);
		break;
	default:
		ex = EX_FUNCTION;
		break;
	}
	if (ex == 0 && o.overflow)
		ex = EX_FAILURE;
	if (ex == 0)
		return o.len;
exception:
	(void)modbus_exception_build(pdu[0], ex, rsp, MODBUS_MAX_PDU);
	return MODBUS_EXCEPTION_PDU_LEN;
}

/* Serial line 2.1: only writes make sense as broadcasts. */
static int
fc_broadcast(uint8_t fc)
{
	switch (fc) {
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		return 1;
	default:
		return 0;
	}
}

static int
unit_ours(const struct sim *s, uint8_t unit)
{
	return (s->o.units[unit / 8] >> (unit % 8)) & 1;
}

/*
 * One well-formed request frame for unit.  Returns 1 with the response
 * PDU in rsp (MODBUS_MAX_PDU bytes) and *rsp_len when an answer goes
 * back; 0 when the slave stays silent.
 */
static int
sim_request(struct sim *s, uint8_t unit, const uint8_t *pdu, size_t len,
    uint8_t *rsp, size_t *rsp_len)
{
	uint8_t ex;

	s->st.requests++;
	if (unit == MODBUS_BROADCAST_UNIT) {
		if (len > 0 && fc_broadcast(pdu[0]) &&
		    modbus_request_check(pdu, len, &ex) == 0) {
			(void)sim_execute(s, pdu, len, rsp);
			s->events++;
		} else
			s->st.ignored++;
		return 0;
	}
	if (!unit_ours(s, unit)) {
		s->st.ignored++;
		return 0;
	}
	s->unicast++;
	if (s->o.fail_every != 0 && s->unicast % s->o.fail_every == 0) {
		s->st.ignored++;
		return 0;
	}
	*rsp_len = sim_execute(s, pdu, len, rsp);
	s->events++;
	if (*rsp_len == 0) {
		s->st.bad_frames++;
		return 0;
	}
	s->st.responses++;
	if (rsp[0] & MODBUS_FUNC_EXCEPTION_BIT)
		s->st.exceptions++;
	return 1;
}

/* --- serial line (pty) ------------------------------------------------ */

/*
 * Write to the master.  A real line never blocks: when the pty's queue
 * stays full (nobody reads the slave), what nobody read is discarded,
 * like a receiver overrun, and then what still does not fit.
 */
static void
serial_write(struct sim *s, const uint8_t *buf, size_t n)
{
	struct pollfd pfd;
	struct timespec ts;
	sigset_t none;
	ssize_t w;
	int flushed = 0;

	sigemptyset(&none);
	while (n > 0 && !sim_stop) {
		w = write(s->master_fd, buf, n);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno != EAGAIN) {
			fprintf(stderr, "modbus-sim: write: %s\n",
			    strerror(errno));
			return;
		}
		pfd.fd = s->master_fd;
		pfd.events = POLLOUT;
		ts = ns_to_ts(SIM_WRITE_WAIT_NS);
		if (ppoll(&pfd, 1, &ts, &none) > 0)
			continue;
		if (flushed) {
			fprintf(stderr, "modbus-sim: pty full, %zu bytes "
			    "dropped\n", n);
			return;
		}
		(void)tcflush(s->slave_fd, TCIFLUSH);
		flushed = 1;
	}
}

/*
 * Send one frame no earlier than start.  With --line-rate byte i is
 * written when its last bit would have left a real UART, on absolute
 * deadlines so that a late wake-up never accumulates into drift.
 */
static void
serial_send(struct sim *s, const uint8_t *buf, size_t n, uint64_t start)
{
	struct timespec ts;
	sigset_t none, old;
	uint64_t t0, now;
	size_t i;

	if (sleep_until(start) == -1)
		return;
	now = now_ns();
	trace(s, "tx", buf, n, now);
	if (!s->o.line_rate) {
		serial_write(s, buf, n);
		return;
	}
	/* A wake-up a little late is the sleep's error, not the device's. */
	t0 = now < start + chars_ns(s, 2) ? start : now;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, &old);
	for (i = 0; i < n && !sim_stop; i++) {
		ts = ns_to_ts(t0 + chars_ns(s, 2 * (i + 1)));
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR && !sim_stop)
			;
		serial_write(s, buf + i, 1);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	s->line_free_ns = t0 + chars_ns(s, 2 * n);
}

/*
 * A frame of n bytes has been taken off the line: with --line-rate,
 * returns when its last character ended on the modelled line (and marks
 * the line busy until then); otherwise now.
 */
static uint64_t
line_rx(struct sim *s, size_t n)
{
	uint64_t start;

	if (!s->o.line_rate)
		return now_ns();
	start = s->rx_first_ns > s->line_free_ns ? s->rx_first_ns :
	    s->line_free_ns;
	s->line_free_ns = start + chars_ns(s, 2 * n);
	return s->line_free_ns;
}

static void
rx_consume(struct sim *s, size_t n)
{
	memmove(s->rx, s->rx + n, s->rx_len - n);
	s->rx_len -= n;
	/* What follows was read no earlier than the last read. */
	s->rx_first_ns = s->rx_last_ns;
}

static void
rx_bad(struct sim *s, size_t n)
{
	trace(s, "rx-bad", s->rx, n, s->rx_last_ns);
	s->st.bad_frames++;
	(void)line_rx(s, n);
	rx_consume(s, n);
}

/* The first n bytes of the receive buffer are one frame: answer it. */
static void
serial_frame(struct sim *s, size_t n)
{
	uint8_t bin[MODBUS_ASCII_MAX_ADU / 2 + 1], rsp[MODBUS_MAX_PDU];
	uint8_t out[MODBUS_ASCII_MAX_ADU];
	struct modbus_adu adu;
	size_t rsp_len, out_len;
	uint64_t end, wait;
	int rc;

	if (s->o.mode == SIM_RTU)
		rc = modbus_rtu_decode(s->rx, n, &adu);
	else
		rc = modbus_ascii_decode(s->rx, n, bin, sizeof(bin), &adu);
	if (rc == -1) {
		rx_bad(s, n);
		return;
	}
	trace(s, "rx", s->rx, n, s->rx_last_ns);
	end = line_rx(s, n);
	/* adu points into rx or bin: answer before consuming. */
	rc = sim_request(s, adu.unit, adu.pdu, adu.pdu_len, rsp, &rsp_len);
	rx_consume(s, n);
	if (!rc)
		return;
	if (s->o.mode == SIM_RTU)
		rc = modbus_rtu_encode(adu.unit, rsp, rsp_len, out,
		    sizeof(out), &out_len);
	else
		rc = modbus_ascii_encode(adu.unit, rsp, rsp_len, out,
		    sizeof(out), &out_len);
	if (rc == -1)
		return;
	wait = s->gap_ns > s->o.delay_ns ? s->gap_ns : s->o.delay_ns;
	serial_send(s, out, out_len, end + wait);
}

/*
 * RTU: a frame ends when the codec says its length is complete and the
 * CRC checks, or at t3.5 of silence (serial_silence) when the length is
 * not known from the header.  A bad CRC or an impossible header makes
 * everything up to the next silence garbage, as on a real slave.
 */
static void
rtu_input(struct sim *s)
{
	size_t total;
	int rc;

	while (s->rx_len > 0 && !s->rx_resync) {
		rc = modbus_rtu_expected_len(MODBUS_DIR_REQUEST, s->rx,
		    s->rx_len, &total);
		if (rc == MODBUS_FRAME_INVALID)
			s->rx_resync = 1;
		if (rc != MODBUS_FRAME_COMPLETE || s->rx_len < total)
			return;
		if (modbus_rtu_frame_crc(s->rx, total) == -1) {
			s->rx_resync = 1;
			return;
		}
		serial_frame(s, total);
	}
}

/* Index of the first ':' at or after from, or rx_len. */
static size_t
next_colon(const struct sim *s, size_t from)
{
	const uint8_t *p;

	if (from >= s->rx_len)
		return s->rx_len;
	p = memchr(s->rx + from, ':', s->rx_len - from);
	return p == NULL ? s->rx_len : (size_t)(p - s->rx);
}

/* ASCII (serial line 2.5.2): ':' starts a frame, CR LF ends it. */
static void
ascii_input(struct sim *s)
{
	size_t len;
	int rc;

	while (s->rx_len > 0) {
		if (s->rx[0] != ':') {
			rx_bad(s, next_colon(s, 0));
			continue;
		}
		rc = modbus_ascii_frame_peek(s->rx, s->rx_len, &len);
		if (rc == MODBUS_FRAME_NEED_MORE)
			return;
		if (rc == MODBUS_FRAME_INVALID) {
			rx_bad(s, next_colon(s, 1));
			continue;
		}
		serial_frame(s, len);
	}
}

/* The line fell silent with bytes pending: a frame, or garbage. */
static void
serial_silence(struct sim *s)
{
	size_t total;

	if (s->o.mode == SIM_RTU && !s->rx_resync &&
	    modbus_rtu_expected_len(MODBUS_DIR_REQUEST, s->rx, s->rx_len,
	    &total) == MODBUS_FRAME_UNKNOWN &&
	    modbus_rtu_frame_crc(s->rx, s->rx_len) == 0)
		serial_frame(s, s->rx_len);
	else if (s->rx_len > 0)
		rx_bad(s, s->rx_len);
	s->rx_resync = 0;
}

static int
serial_read(struct sim *s)
{
	ssize_t n;
	uint64_t now;

	n = read(s->master_fd, s->rx + s->rx_len, sizeof(s->rx) - s->rx_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* EIO means no slave is open; we keep one, so this is odd. */
		fprintf(stderr, "modbus-sim: read pty: %s\n",
		    n == 0 ? "end of file" : strerror(errno));
		return sleep_until(now_ns() + SIM_NS / 100);
	}
	now = now_ns();
	if (s->rx_len == 0)
		s->rx_first_ns = now;
	s->rx_last_ns = now;
	s->rx_len += (size_t)n;
	if (s->o.mode == SIM_RTU)
		rtu_input(s);
	else
		ascii_input(s);
	if (s->rx_len == sizeof(s->rx)) {
		/* A full buffer is no frame; keep dropping until silence. */
		rx_bad(s, s->rx_len);
		s->rx_resync = s->o.mode == SIM_RTU;
	}
	return 0;
}

static int
serial_run(struct sim *s)
{
	struct timespec ts;
	struct pollfd pfd;
	sigset_t none;
	uint64_t deadline, now;
	int rc;

	sigemptyset(&none);
	while (!sim_stop) {
		if (sim_dump) {
			sim_dump = 0;
			print_stats(s);
		}
		/*
		 * A deadline that passed while we were answering is checked
		 * with a zero timeout: bytes already queued are not silence.
		 */
		deadline = 0;
		if (s->rx_len > 0) {
			deadline = s->rx_last_ns + (s->o.mode == SIM_RTU ?
			    s->silence_ns : SIM_ASCII_TIMEOUT_NS);
			now = now_ns();
			ts = ns_to_ts(deadline > now ? deadline - now : 0);
		}
		pfd.fd = s->master_fd;
		pfd.events = POLLIN;
		rc = ppoll(&pfd, 1, deadline != 0 ? &ts : NULL, &none);
		if (rc == -1 && errno != EINTR) {
			fprintf(stderr, "modbus-sim: poll: %s\n",
			    strerror(errno));
			return -1;
		}
		if (rc > 0 && serial_read(s) == -1)
			break;
		if (rc == 0 && s->rx_len > 0 && now_ns() >= deadline)
			serial_silence(s);
	}
	return 0;
}

static speed_t
baud_speed(uint32_t baud)
{
	static const struct {
		uint32_t baud;
		speed_t speed;
	} map[] = {
		{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 },
		{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
		{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
		{ 460800, B460800 }, { 921600, B921600 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].baud == baud)
			return map[i].speed;
	return B0;
}

/* Does LINK exist as something other than a symlink?  Never clobber it. */
static int
link_replaceable(const char *link)
{
	struct stat st;

	if (lstat(link, &st) == -1)
		return errno == ENOENT;
	return S_ISLNK(st.st_mode);
}

static int
pty_open(struct sim *s)
{
	char tmp[PATH_MAX];
	struct termios t;
	speed_t speed;
	int fl;

	if (!link_replaceable(s->o.link)) {
		fprintf(stderr, "modbus-sim: %s exists and is not a symlink\n",
		    s->o.link);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.link) >=
	    sizeof(tmp)) {
		fprintf(stderr, "modbus-sim: %s: name too long\n", s->o.link);
		return -1;
	}
	s->master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->master_fd == -1 || grantpt(s->master_fd) == -1 ||
	    unlockpt(s->master_fd) == -1 ||
	    ptsname_r(s->master_fd, s->slave_path, sizeof(s->slave_path)) != 0) {
		fprintf(stderr, "modbus-sim: pty: %s\n", strerror(errno));
		return -1;
	}
	/*
	 * Our own slave fd, opened once and never read: the master then
	 * never sees EIO/HUP while the gateway closes and reopens LINK.
	 * The termios belong to the tty, so raw mode set here is what the
	 * gateway finds (until it sets its own).
	 */
	s->slave_fd = open(s->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->slave_fd == -1 || tcgetattr(s->slave_fd, &t) == -1) {
		fprintf(stderr, "modbus-sim: %s: %s\n", s->slave_path,
		    strerror(errno));
		return -1;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if ((speed = baud_speed(s->o.baud)) != B0)
		(void)cfsetspeed(&t, speed);
	if (tcsetattr(s->slave_fd, TCSANOW, &t) == -1 ||
	    (fl = fcntl(s->master_fd, F_GETFL)) == -1 ||
	    fcntl(s->master_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		fprintf(stderr, "modbus-sim: pty setup: %s\n", strerror(errno));
		return -1;
	}
	/* rename(2) replaces an old link atomically: no moment without. */
	(void)unlink(tmp);
	if (symlink(s->slave_path, tmp) == -1 || rename(tmp, s->o.link) == -1) {
		fprintf(stderr, "modbus-sim: %s: %s\n", s->o.link,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	s->link_made = 1;
	return 0;
}

/* Remove LINK unless another simulator has taken it over since. */
static void
pty_close(struct sim *s)
{
	char target[PATH_MAX];
	ssize_t n;

	if (s->link_made) {
		n = readlink(s->o.link, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, s->slave_path) == 0)
				(void)unlink(s->o.link);
		}
	}
	if (s->slave_fd != -1)
		close(s->slave_fd);
	if (s->master_fd != -1)
		close(s->master_fd);
}

/* --- Modbus/TCP ------------------------------------------------------- */

static void
tcp_flush(struct sim_client *c)
{
	ssize_t w;

	while (c->out_off < c->out_len) {
		w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = 1;
			return;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
}

/*
 * Answer the complete ADUs in c->in, in order, each with its own
 * transaction id, while the output has room for one more answer.
 */
static void
tcp_process(struct sim *s, struct sim_client *c)
{
	uint8_t rsp[MODBUS_MAX_PDU];
	struct modbus_adu adu;
	size_t adu_len, rsp_len, w;
	int rc;

	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	while (!c->dead && !sim_stop &&
	    sizeof(c->out) - c->out_len >= MODBUS_TCP_MAX_ADU) {
		rc = modbus_tcp_frame_peek(c->in, c->in_len, &adu_len);
		if (rc == MODBUS_FRAME_NEED_MORE)
			break;
		if (rc != MODBUS_FRAME_COMPLETE ||
		    modbus_tcp_decode(c->in, adu_len, &adu) == -1) {
			/* An MBAP stream cannot resynchronise: close. */
			trace(s, "rx-bad", c->in, c->in_len, now_ns());
			s->st.bad_frames++;
			c->in_len = 0;
			c->dead = 1;
			break;
		}
		trace(s, "rx", c->in, adu_len, now_ns());
		if (sim_request(s, adu.unit, adu.pdu, adu.pdu_len, rsp,
		    &rsp_len) &&
		    sleep_until(now_ns() + s->o.delay_ns) == 0 &&
		    modbus_tcp_encode(adu.tid, adu.unit, rsp, rsp_len,
		    c->out + c->out_len, sizeof(c->out) - c->out_len, &w) == 0) {
			trace(s, "tx", c->out + c->out_len, w, now_ns());
			c->out_len += w;
			/* With a delay, each answer leaves when it is due. */
			if (s->o.delay_ns > 0)
				tcp_flush(c);
		}
		memmove(c->in, c->in + adu_len, c->in_len - adu_len);
		c->in_len -= adu_len;
	}
}

/*
 * Answer and send until the input holds no complete request or the peer
 * stops taking answers (POLLOUT brings us back then).
 */
static void
tcp_pump(struct sim *s, struct sim_client *c)
{
	size_t before;

	do {
		before = c->in_len;
		tcp_process(s, c);
		tcp_flush(c);
	} while (!c->dead && !sim_stop && c->out_len == 0 && c->in_len > 0 &&
	    c->in_len != before);
}

static void
tcp_read(struct sim *s, struct sim_client *c)
{
	ssize_t n;

	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
	    MSG_DONTWAIT);
	if (n == 0)
		c->eof = 1;
	else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		c->dead = 1;
	else if (n > 0)
		c->in_len += (size_t)n;
	tcp_pump(s, c);
}

static void
tcp_accept(struct sim *s)
{
	struct sim_client *c;
	int fd;

	while ((fd = accept4(s->listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (s->nclients == SIM_MAX_CLIENTS ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			/* Refuse at once rather than leave it hanging. */
			if (!s->warned_cap)
				fprintf(stderr, "modbus-sim: %d clients, "
				    "refusing more\n", SIM_MAX_CLIENTS);
			s->warned_cap = 1;
			close(fd);
			continue;
		}
		c->fd = fd;
		s->clients[s->nclients++] = c;
	}
	/* Out of descriptors the listener stays readable: back off. */
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM)
		s->accept_paused_until = now_ns() + SIM_NS / 10;
}

/* Free closed clients: only here, outside their own handling. */
static void
tcp_reap(struct sim *s)
{
	struct sim_client *c;
	size_t i = 0;

	while (i < s->nclients) {
		c = s->clients[i];
		if (!c->dead && !(c->eof && c->out_off == c->out_len)) {
			i++;
			continue;
		}
		close(c->fd);
		free(c);
		s->clients[i] = s->clients[--s->nclients];
	}
}

static int
tcp_run(struct sim *s)
{
	static struct pollfd pfd[1 + SIM_MAX_CLIENTS];
	struct sim_client *c;
	struct timespec ts;
	sigset_t none;
	uint64_t now;
	size_t i;

	sigemptyset(&none);
	while (!sim_stop) {
		if (sim_dump) {
			sim_dump = 0;
			print_stats(s);
		}
		now = now_ns();
		pfd[0].fd = s->listen_fd;
		pfd[0].events = POLLIN;
		if (now < s->accept_paused_until) {
			pfd[0].events = 0;
			ts = ns_to_ts(s->accept_paused_until - now);
		}
		for (i = 0; i < s->nclients; i++) {
			c = s->clients[i];
			pfd[i + 1].fd = c->fd;
			pfd[i + 1].events = 0;
			/* Backpressure: read only what we can answer. */
			if (!c->eof && c->in_len < sizeof(c->in) &&
			    sizeof(c->out) - c->out_len >= MODBUS_TCP_MAX_ADU)
				pfd[i + 1].events |= POLLIN;
			if (c->out_off < c->out_len)
				pfd[i + 1].events |= POLLOUT;
		}
		if (ppoll(pfd, 1 + s->nclients, pfd[0].events == 0 ? &ts : NULL,
		    &none) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "modbus-sim: poll: %s\n",
			    strerror(errno));
			return -1;
		}
		for (i = 0; i < s->nclients; i++) {
			c = s->clients[i];
			if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				tcp_read(s, c);
			if (pfd[i + 1].revents & POLLOUT)
				tcp_pump(s, c);
		}
		tcp_reap(s);
		if (pfd[0].revents & POLLIN)
			tcp_accept(s);
	}
	return 0;
}

static int
tcp_open(struct sim *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct rlimit rl;
	socklen_t sl;
	int one = 1;

	/* Room for SIM_MAX_CLIENTS clients where the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < SIM_MAX_CLIENTS + 32) {
		rl.rlim_cur = rl.rlim_max < SIM_MAX_CLIENTS + 32 ?
		    rl.rlim_max : SIM_MAX_CLIENTS + 32;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s->o.bind, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(s->o.port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, s->o.bind, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(s->o.port);
		sl = sizeof(*sin6);
	} else {
		fprintf(stderr, "modbus-sim: --bind %s: not an IP address\n",
		    s->o.bind);
		return -1;
	}
	s->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->listen_fd == -1 ||
	    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(s->listen_fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(s->listen_fd, 128) == -1 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl) == -1) {
		fprintf(stderr, "modbus-sim: listen on %s port %u: %s\n",
		    s->o.bind, s->o.port, strerror(errno));
		return -1;
	}
	s->o.port = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
	return 0;
}

static void
tcp_close(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->nclients; i++) {
		close(s->clients[i]->fd);
		free(s->clients[i]);
	}
	s->nclients = 0;
	if (s->listen_fd != -1)
		close(s->listen_fd);
}

/* --- start-up --------------------------------------------------------- */

/* Write line to path atomically: a reader sees nothing or all of it. */
static int
write_ready(const char *path, const char *line)
{
	char tmp[PATH_MAX];
	size_t len = strlen(line);
	int fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	ok = write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	if (close(fd) == -1 || !ok || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

static int
sim_tables(struct sim *s)
{
	uint32_t i, n = s->o.nregs;

	s->holding = calloc(n, sizeof(*s->holding));
	s->input = calloc(n, sizeof(*s->input));
	s->coils = calloc(n, 1);
	s->discrete = calloc(n, 1);
	if (s->holding == NULL || s->input == NULL || s->coils == NULL ||
	    s->discrete == NULL)
		return -1;
	/* Distinct, predictable values a test can compute. */
	for (i = 0; i < n; i++) {
		s->holding[i] = (uint16_t)i;
		s->input[i] = (uint16_t)(i ^ 0xFFFF);
		s->coils[i] = i % 3 == 0;
		s->discrete[i] = i % 2;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr,
"usage: sluice-modbus-sim (--rtu | --ascii) --pty LINK [serial options]\n"
"           [common options]\n"
"       sluice-modbus-sim --tcp PORT [--bind ADDR] [common options]\n"
"serial options:\n"
"  --baud N            9600 (silence timing and --line-rate)\n"
"  --parity N|E|O      N\n"
"  --data-bits 7|8     8 (7 for ASCII only)\n"
"  --stop-bits 1|2     1\n"
"  --line-rate         pace the pty like a real line at that speed\n"
"TCP: --tcp 0 picks a free port; --bind defaults to 127.0.0.1\n"
"common options:\n"
"  --unit LIST         unit ids answered, e.g. 1,2,5-9 (default 1)\n"
"  --registers N       size of each table, 1..65536 (default 10000)\n"
"  --delay MS          wait MS ms (fractional) before each answer\n"
"  --fail-every N      ignore every Nth request for our units\n"
"  --ready-file F      write the pty path or the TCP port to F when ready\n"
"  --trace F           append \"<monotonic_us> rx|tx|rx-bad <hex>\" lines\n"
"  --stats             print counters on exit and on SIGUSR1\n");
	return SIM_EXIT_USAGE;
}

static int
parse_u32(const char *arg, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "1", "1,2,5-9": unit ids 1..255 (0 is the broadcast address). */
static int
parse_units(const char *arg, uint8_t *units)
{
	unsigned long lo, hi, u;
	const char *p = arg;
	char *end;

	memset(units, 0, 32);
	for (;;) {
		if (*p < '0' || *p > '9')
			return -1;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -1;
			hi = strtoul(p, &end, 10);
		}
		if (lo < 1 || hi > 255 || lo > hi)
			return -1;
		for (u = lo; u <= hi; u++)
			units[u / 8] |= (uint8_t)(1u << (u % 8));
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		p = end + 1;
	}
}

static int
parse_delay(const char *arg, uint64_t *ns)
{
	char *end;
	double ms;

	errno = 0;
	ms = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(ms >= 0) ||
	    ms > 3600000)
		return -1;
	*ns = (uint64_t)(ms * 1e6 + 0.5);
	return 0;
}

enum {
	OPT_RTU = 256, OPT_ASCII, OPT_TCP, OPT_PTY, OPT_BIND, OPT_BAUD,
	OPT_PARITY, OPT_DATA_BITS, OPT_STOP_BITS, OPT_LINE_RATE, OPT_UNIT,
	OPT_REGISTERS, OPT_DELAY, OPT_READY_FILE, OPT_TRACE, OPT_STATS,
	OPT_FAIL_EVERY, OPT_HELP,
};

static const struct option sim_options[] = {
	{ "rtu", no_argument, NULL, OPT_RTU },
	{ "ascii", no_argument, NULL, OPT_ASCII },
	{ "tcp", required_argument, NULL, OPT_TCP },
	{ "pty", required_argument, NULL, OPT_PTY },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "baud", required_argument, NULL, OPT_BAUD },
	{ "parity", required_argument, NULL, OPT_PARITY },
	{ "data-bits", required_argument, NULL, OPT_DATA_BITS },
	{ "stop-bits", required_argument, NULL, OPT_STOP_BITS },
	{ "line-rate", no_argument, NULL, OPT_LINE_RATE },
	{ "unit", required_argument, NULL, OPT_UNIT },
	{ "registers", required_argument, NULL, OPT_REGISTERS },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "fail-every", required_argument, NULL, OPT_FAIL_EVERY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int
set_mode(struct sim_opts *o, enum sim_mode m)
{
	if (o->mode != SIM_NONE && o->mode != m)
		return -1;
	o->mode = m;
	return 0;
}

static int
parse_args(struct sim_opts *o, int argc, char **argv)
{
	uint32_t v = 0;
	int ch, bad = 0;

	o->baud = 9600;
	o->parity = 'N';
	o->data_bits = 8;
	o->stop_bits = 1;
	o->nregs = 10000;
	o->units[0] = 1u << 1;
	while (!bad && (ch = getopt_long(argc, argv, "", sim_options,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_RTU:
			bad = set_mode(o, SIM_RTU) == -1;
			break;
		case OPT_ASCII:
			bad = set_mode(o, SIM_ASCII) == -1;
			break;
		case OPT_TCP:
			bad = set_mode(o, SIM_TCP) == -1 ||
			    parse_u32(optarg, 0, 65535, &v) == -1;
			o->port = (uint16_t)v;
			break;
		case OPT_PTY:
			o->link = optarg;
			break;
		case OPT_BIND:
			o->bind = optarg;
			break;
		case OPT_BAUD:
			bad = parse_u32(optarg, 50, 4000000, &o->baud) == -1;
			o->serial_opts = 1;
			break;
		case OPT_PARITY:
			bad = strlen(optarg) != 1 ||
			    strchr("NEO", optarg[0]) == NULL;
			o->parity = optarg[0];
			o->serial_opts = 1;
			break;
		case OPT_DATA_BITS:
			bad = parse_u32(optarg, 7, 8, &v) == -1;
			o->data_bits = v;
			o->serial_opts = 1;
			break;
		case OPT_STOP_BITS:
			bad = parse_u32(optarg, 1, 2, &v) == -1;
			o->stop_bits = v;
			o->serial_opts = 1;
			break;
		case OPT_LINE_RATE:
			o->line_rate = 1;
			o->serial_opts = 1;
			break;
		case OPT_UNIT:
			bad = parse_units(optarg, o->units) == -1;
			break;
		case OPT_REGISTERS:
			bad = parse_u32(optarg, 1, 65536, &o->nregs) == -1;
			break;
		case OPT_DELAY:
			bad = parse_delay(optarg, &o->delay_ns) == -1;
			break;
		case OPT_READY_FILE:
			o->ready_file = optarg;
			break;
		case OPT_TRACE:
			o->trace_file = optarg;
			break;
		case OPT_STATS:
			o->stats = 1;
			break;
		case OPT_FAIL_EVERY:
			bad = parse_u32(optarg, 1, UINT32_MAX,
			    &o->fail_every) == -1;
			break;
		case OPT_HELP:
			(void)usage();
			exit(0);
		default:
			bad = 1;
			break;
		}
		if (bad && ch != '?')
			fprintf(stderr, "modbus-sim: bad argument to --%s: "
			    "%s\n", sim_options[ch - OPT_RTU].name,
			    optarg != NULL ? optarg : "");
	}
	if (bad || optind != argc || o->mode == SIM_NONE)
		return -1;
	if (o->mode == SIM_TCP && (o->link != NULL || o->serial_opts)) {
		fprintf(stderr, "modbus-sim: --pty and serial options need "
		    "--rtu or --ascii\n");
		return -1;
	}
	if (o->mode != SIM_TCP && (o->link == NULL || o->bind != NULL)) {
		fprintf(stderr, "modbus-sim: --rtu/--ascii need --pty LINK "
		    "(and take no --bind)\n");
		return -1;
	}
	if (o->bind == NULL)
		o->bind = "127.0.0.1";	/* a test tool: loopback unless asked */
	if (o->mode == SIM_RTU && o->data_bits != 8) {
		/* Serial line 2.5.1: RTU characters have 8 data bits. */
		fprintf(stderr, "modbus-sim: RTU needs 8 data bits\n");
		return -1;
	}
	return 0;
}

static int
sim_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	/* Blocked outside the waits; no SA_RESTART, so waits return. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* Character and silence times from the serial options. */
static void
sim_timing(struct sim *s)
{
	const struct sim_opts *o = &s->o;

	s->char_bits = 1 + o->data_bits + (o->parity == 'N' ? 0 : 1) +
	    o->stop_bits;
	s->silence_ns = (uint64_t)modbus_rtu_silence_us(o->baud, o->data_bits,
	    o->parity, o->stop_bits) * 1000u;
	/*
	 * The modelled turnaround is the 3.5 characters themselves, not the
	 * 1750 us a receiver above 19200 baud may use as its timer: the
	 * line is idle that long at the least.  ASCII needs no gap.
	 */
	s->gap_ns = o->mode == SIM_RTU && o->line_rate ? chars_ns(s, 7) : 0;
}

int
main(int argc, char **argv)
{
	static struct sim sim;
	struct sim *s = &sim;
	char port[16];
	const char *ready;
	int rc = 1;

	s->trace_fd = s->master_fd = s->slave_fd = s->listen_fd = -1;
	if (parse_args(&s->o, argc, argv) == -1)
		return usage();
	sim_timing(s);
	if (sim_tables(s) == -1) {
		fprintf(stderr, "modbus-sim: out of memory\n");
		return 1;
	}
	if (s->o.trace_file != NULL && (s->trace_fd = open(s->o.trace_file,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "modbus-sim: %s: %s\n", s->o.trace_file,
		    strerror(errno));
		goto out;
	}
	/* Per-byte pacing needs wake-ups within microseconds, not 50. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (sim_signals() == -1) {
		fprintf(stderr, "modbus-sim: signals: %s\n", strerror(errno));
		goto out;
	}
	if (s->o.mode == SIM_TCP) {
		if (tcp_open(s) == -1)
			goto out;
		snprintf(port, sizeof(port), "%u", s->o.port);
		ready = port;
	} else {
		if (pty_open(s) == -1)
			goto out;
		ready = s->slave_path;
	}
	if (s->o.ready_file != NULL &&
	    write_ready(s->o.ready_file, ready) == -1) {
		fprintf(stderr, "modbus-sim: %s: %s\n", s->o.ready_file,
		    strerror(errno));
		goto out;
	}
	printf("%s\n", ready);
	fflush(stdout);
	if (s->o.mode == SIM_TCP)
		rc = tcp_run(s) == -1;
	else
		rc = serial_run(s) == -1;
out:
	if (s->o.mode == SIM_TCP)
		tcp_close(s);
	else
		pty_close(s);
	if (s->o.stats)
		print_stats(s);
	if (s->trace_fd != -1)
		close(s->trace_fd);
	free(s->holding);
	free(s->input);
	free(s->coils);
	free(s->discrete);
	return rc;
}
