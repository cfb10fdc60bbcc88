/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_modbus_peer.c - the codec against an independent implementation.
 *
 * libmodbus builds real requests (an RTU client on a pty, a TCP client on
 * a socketpair); our decoder must accept them and our encoder reproduce
 * them byte for byte.  libmodbus's server (modbus_reply on a full-size
 * mapping) answers them; our response check must accept its answers, and
 * libmodbus's client must accept those answers re-encoded by us.  Finally
 * requests that break a limit go to libmodbus's server, which must answer
 * with the exception our request check chose.
 *
 * Every wait is bounded: libmodbus's response timeout is short where a
 * timeout is the expected outcome, and our reads poll with a deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>
/* libmodbus by its directory: "modbus.h" is our codec. */
#include <modbus/modbus.h>

#include "modbus.h"

#define UNIT 0x11
#define NMAP 65536

struct peer {
	int tcp;
	modbus_t *cli;          /* libmodbus client */
	int cli_fd;             /* our end of its line */
	modbus_t *srv;          /* libmodbus server */
	int srv_fd;             /* our end of its socket */
	int srv_peer_fd;
	int gap_ms;             /* quiet time that ends a read (ptys) */
	modbus_mapping_t *map;
};

static uint8_t bits[MODBUS_LIMIT_READ_BITS];
static uint16_t regs[MODBUS_LIMIT_READ_REGISTERS];

/*
 * Read what the peer wrote: wait up to 2 s for the first byte, then until
 * the line is quiet for gap_ms (a pty hands bytes over asynchronously).
 */
static size_t
drain(int fd, int gap_ms, uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t r;
	int i;

	for (i = 0; i < 1000 && n < len; i++) {
		if (poll(&pfd, 1, n == 0 ? 2000 : gap_ms) <= 0)
			break;
		r = read(fd, buf + n, len - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

static int
open_pty(char *name, size_t len)
{
	int m;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (m == -1)
		return -1;
	if (grantpt(m) == -1 || unlockpt(m) == -1 ||
	    ptsname_r(m, name, len) != 0) {
		close(m);
		return -1;
	}
	return m;
}

static int
setup(void **state, int tcp)
{
	struct peer *p;
	struct termios t;
	char name[128];
	int sv[2];

	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->tcp = tcp;
	if (tcp) {
		assert_int_equal(socketpair(AF_UNIX,
		    SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		p->cli = modbus_new_tcp("127.0.0.1", 502);
		assert_non_null(p->cli);
		assert_int_equal(modbus_set_socket(p->cli, sv[0]), 0);
		p->cli_fd = sv[1];
		p->srv = modbus_new_tcp("127.0.0.1", 502);
	} else {
		p->cli_fd = open_pty(name, sizeof(name));
		if (p->cli_fd == -1) {
			/* The tests skip themselves (state NULL). */
			print_message("no pty: %s\n", strerror(errno));
			free(p);
			*state = NULL;
			return 0;
		}
		p->cli = modbus_new_rtu(name, 9600, 'E', 8, 1);
		assert_non_null(p->cli);
		assert_int_equal(modbus_connect(p->cli), 0);
		/* Binary-clean line: no CR/LF mapping, no echo. */
		assert_int_equal(tcgetattr(modbus_get_socket(p->cli), &t), 0);
		cfmakeraw(&t);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		assert_int_equal(tcsetattr(modbus_get_socket(p->cli), TCSANOW,
		    &t), 0);
		p->gap_ms = 30;
		p->srv = modbus_new_rtu("/dev/null", 9600, 'E', 8, 1);
	}
	assert_non_null(p->srv);
	assert_int_equal(modbus_set_slave(p->cli, UNIT), 0);
	assert_int_equal(modbus_set_slave(p->srv, UNIT), 0);
	/* modbus_reply sleeps this long before some exception answers. */
	assert_int_equal(modbus_set_response_timeout(p->srv, 0, 1000), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(modbus_set_socket(p->srv, sv[0]), 0);
	p->srv_peer_fd = sv[0];
	p->srv_fd = sv[1];
	p->map = modbus_mapping_new(NMAP, NMAP, NMAP, NMAP);
	assert_non_null(p->map);
	*state = p;
	return 0;
}

static int
setup_tcp(void **state)
{
	return setup(state, 1);
}

static int
setup_rtu(void **state)
{
	return setup(state, 0);
}

static int
teardown(void **state)
{
	struct peer *p = *state;

	if (p == NULL)
		return 0;
	modbus_mapping_free(p->map);
	if (!p->tcp)
		modbus_close(p->cli);
	else
		close(modbus_get_socket(p->cli));
	modbus_free(p->cli);
	modbus_free(p->srv);
	close(p->cli_fd);
	close(p->srv_fd);
	close(p->srv_peer_fd);
	free(p);
	return 0;
}

/* --- the client operations ------------------------------------------ */

static int
op_read_coils(modbus_t *c)
{
	return modbus_read_bits(c, 0x13, 19, bits);
}

static int
op_read_coils_max(modbus_t *c)
{
	return modbus_read_bits(c, NMAP - 2000, 2000, bits);
}

static int
op_read_inputs(modbus_t *c)
{
	return modbus_read_input_bits(c, 0xC4, 22, bits);
}

static int
op_read_regs(modbus_t *c)
{
	return modbus_read_registers(c, 0x6B, 3, regs);
}

static int
op_read_regs_max(modbus_t *c)
{
	return modbus_read_registers(c, NMAP - 125, 125, regs);
}

static int
op_read_input_regs(modbus_t *c)
{
	return modbus_read_input_registers(c, 8, 1, regs);
}

static int
op_write_coil(modbus_t *c)
{
	return modbus_write_bit(c, 0xAC, 1);
}

static int
op_write_coil_off(modbus_t *c)
{
	return modbus_write_bit(c, 0xFFFF, 0);
}

static int
op_write_reg(modbus_t *c)
{
	return modbus_write_register(c, 1, 3);
}

static int
op_write_coils(modbus_t *c)
{
	static const uint8_t v[10] = { 1, 0, 1, 1, 0, 0, 1, 1, 1, 0 };

	return modbus_write_bits(c, 0x13, 10, v);
}

static int
op_write_coils_max(modbus_t *c)
{
	static uint8_t v[1968];

	return modbus_write_bits(c, 0, 1968, v);
}

static int
op_write_regs(modbus_t *c)
{
	static const uint16_t v[2] = { 0x000A, 0x0102 };

	return modbus_write_registers(c, 1, 2, v);
}

static int
op_write_regs_max(modbus_t *c)
{
	static uint16_t v[123];

	return modbus_write_registers(c, NMAP - 123, 123, v);
}

static int
op_mask_write(modbus_t *c)
{
	return modbus_mask_write_register(c, 4, 0xF2, 0x25);
}

static int
op_read_write(modbus_t *c)
{
	static const uint16_t v[3] = { 0xFF, 0xFF, 0xFF };

	return modbus_write_and_read_registers(c, 0x0E, 3, v, 3, 6, regs);
}

static int
op_read_write_max(modbus_t *c)
{
	static const uint16_t v[121];

	return modbus_write_and_read_registers(c, 0, 121, v, 0, 125, regs);
}

static int
op_report_id(modbus_t *c)
{
	uint8_t id[256];

	return modbus_report_slave_id(c, sizeof(id), id);
}

static const struct {
	const char *name;
	int (*run)(modbus_t *);
	uint8_t fc;
} ops[] = {
	{ "read coils", op_read_coils, 0x01 },
	{ "read 2000 coils", op_read_coils_max, 0x01 },
	{ "read inputs", op_read_inputs, 0x02 },
	{ "read registers", op_read_regs, 0x03 },
	{ "read 125 registers", op_read_regs_max, 0x03 },
	{ "read input registers", op_read_input_regs, 0x04 },
	{ "write coil", op_write_coil, 0x05 },
	{ "write coil off", op_write_coil_off, 0x05 },
	{ "write register", op_write_reg, 0x06 },
	{ "write coils", op_write_coils, 0x0F },
	{ "write 1968 coils", op_write_coils_max, 0x0F },
	{ "write registers", op_write_regs, 0x10 },
	{ "write 123 registers", op_write_regs_max, 0x10 },
	{ "report server id", op_report_id, 0x11 },
	{ "mask write register", op_mask_write, 0x16 },
	{ "read/write registers", op_read_write, 0x17 },
	{ "read 125/write 121", op_read_write_max, 0x17 },
};

/* Decode a whole ADU of either transport; checks the framing functions. */
static void
decode(struct peer *p, enum modbus_dir dir, const uint8_t *b, size_t n,
    struct modbus_adu *adu)
{
	size_t len = 0;
	int rc;

	if (p->tcp) {
		assert_int_equal(modbus_tcp_frame_peek(b, n, &len),
		    MODBUS_FRAME_COMPLETE);
		assert_int_equal(len, n);
		assert_int_equal(modbus_tcp_decode(b, n, adu), 0);
	} else {
		assert_int_equal(modbus_rtu_frame_crc(b, n), 0);
		assert_int_equal(modbus_rtu_decode(b, n, adu), 0);
		rc = modbus_rtu_expected_len(dir, b, n, &len);
		assert_int_equal(rc, MODBUS_FRAME_COMPLETE);
		assert_int_equal(len, n);
	}
	assert_int_equal(adu->unit, UNIT);
}

static void
encode(struct peer *p, uint16_t tid, const uint8_t *pdu, size_t pdu_len,
    uint8_t *out, size_t *w)
{
	if (p->tcp)
		assert_int_equal(modbus_tcp_encode(tid, UNIT, pdu, pdu_len, out,
		    MODBUS_TCP_MAX_ADU, w), 0);
	else
		assert_int_equal(modbus_rtu_encode(UNIT, pdu, pdu_len, out,
		    MODBUS_RTU_MAX_ADU, w), 0);
}

static void
test_exchange(void **state)
{
	struct peer *p = *state;
	uint8_t q[600], s[600], mine[300], req_pdu[MODBUS_MAX_PDU];
	struct modbus_adu qa, sa;
	size_t i, qn, sn, w, req_len;
	ssize_t wr;
	uint8_t ex;

	if (p == NULL)
		skip();

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		/* 1. libmodbus's request, unanswered: it times out. */
		assert_int_equal(modbus_set_response_timeout(p->cli, 0, 20000),
		    0);
		assert_int_equal(ops[i].run(p->cli), -1);
		qn = drain(p->cli_fd, p->gap_ms, q, sizeof(q));
		decode(p, MODBUS_DIR_REQUEST, q, qn, &qa);
		assert_int_equal(qa.pdu[0], ops[i].fc);
		if (modbus_request_check(qa.pdu, qa.pdu_len, &ex) != 0)
			fail_msg("%s: request refused with %u", ops[i].name,
			    ex);
		encode(p, qa.tid, qa.pdu, qa.pdu_len, mine, &w);
		assert_int_equal(w, qn);
		assert_memory_equal(mine, q, qn);
		req_len = qa.pdu_len;
		memcpy(req_pdu, qa.pdu, req_len);

		/* 2. libmodbus's server answers it. */
		assert_true(modbus_reply(p->srv, q, (int)qn, p->map) > 0);
		sn = drain(p->srv_fd, 0, s, sizeof(s));
		decode(p, MODBUS_DIR_RESPONSE, s, sn, &sa);
		assert_int_equal(sa.tid, qa.tid);
		if (modbus_response_check(req_pdu, req_len, sa.pdu,
		    sa.pdu_len) != 0)
			fail_msg("%s: response refused", ops[i].name);

		/* 3. The answer re-encoded by us satisfies libmodbus. */
		encode(p, (uint16_t)(qa.tid + 1), sa.pdu, sa.pdu_len, mine, &w);
		assert_int_equal(w, sn);
		wr = write(p->cli_fd, mine, w);
		assert_int_equal(wr, (ssize_t)w);
		assert_int_equal(modbus_set_response_timeout(p->cli, 2, 0), 0);
		if (ops[i].run(p->cli) == -1)
			fail_msg("%s: libmodbus refused our response: %s",
			    ops[i].name, modbus_strerror(errno));
		qn = drain(p->cli_fd, p->gap_ms, q, sizeof(q));
		decode(p, MODBUS_DIR_REQUEST, q, qn, &qa);
		assert_int_equal(qa.pdu_len, req_len);
		assert_memory_equal(qa.pdu, req_pdu, req_len);
	}
}

/*
 * Requests over a limit: libmodbus's server and our check must pick the
 * same exception.  (libmodbus does not check byte counts exactly, so
 * only quantities, ranges, values and function codes are compared.)
 */
static const struct {
	const char *pdu;
	uint8_t ex;
} bad[] = {
	{ "01 00 00 07 D1", 3 },
	{ "01 00 00 00 00", 3 },
	{ "01 FF FF 00 02", 2 },
	{ "02 00 00 07 D1", 3 },
	{ "02 F8 31 07 D0", 2 },
	{ "03 00 00 00 7E", 3 },
	{ "03 00 00 00 00", 3 },
	{ "03 FF 84 00 7D", 2 },
	{ "04 00 00 00 7E", 3 },
	{ "04 FF FF 00 02", 2 },
	{ "05 00 AC 12 34", 3 },
	{ "05 00 AC FF 01", 3 },
	{ "10 00 00 00 7C 02 00 00", 3 },
	{ "10 00 00 00 00 00", 3 },
	{ "10 FF FF 00 02 04 00 00 00 00", 2 },
	{ "0F FF FF 00 02 01 03", 2 },
	{ "17 00 00 00 7E 00 00 00 01 02 00 00", 3 },
	{ "17 00 00 00 01 00 00 00 7A 02 00 00", 3 },
	{ "17 FF FF 00 02 00 00 00 01 02 00 00", 2 },
	{ "17 00 00 00 01 FF FF 00 02 04 00 00 00 00", 2 },
	{ "09", 1 },
	{ "0A", 1 },
	{ "2C", 1 },
	{ "7F", 1 },
};

static void
test_bad_requests(void **state)
{
	struct peer *p = *state;
	uint8_t pdu[MODBUS_MAX_PDU], adu[300], s[600], ex;
	struct modbus_adu sa;
	size_t i, n, w, sn;
	unsigned v;
	const char *c;

	if (p == NULL)
		skip();

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(pdu, 0, sizeof(pdu));
		for (n = 0, c = bad[i].pdu; *c != '\0'; c++) {
			if (*c == ' ')
				continue;
			assert_int_equal(sscanf(c, "%2x", &v), 1);
			pdu[n++] = (uint8_t)v;
			c++;
		}
		ex = 0;
		assert_int_equal(modbus_request_check(pdu, n, &ex), -1);
		assert_int_equal(ex, bad[i].ex);
		encode(p, 7, pdu, n, adu, &w);
		assert_true(modbus_reply(p->srv, adu, (int)w, p->map) > 0);
		sn = drain(p->srv_fd, 0, s, sizeof(s));
		decode(p, MODBUS_DIR_RESPONSE, s, sn, &sa);
		assert_int_equal(sa.pdu_len, 2);
		if (sa.pdu[0] != (pdu[0] | 0x80) || sa.pdu[1] != ex)
			fail_msg("'%s': libmodbus answered %02x %02x, we %u",
			    bad[i].pdu, sa.pdu[0], sa.pdu[1], ex);
		/* Codes we never pass on have no valid answer either. */
		assert_int_equal(modbus_response_check(pdu, n, sa.pdu,
		    sa.pdu_len), ex == MODBUS_EX_ILLEGAL_FUNCTION ? -1 : 0);
	}
}

/* libmodbus's RTU frames carry our CRC, byte for byte. */
static void
test_crc_agrees(void **state)
{
	struct peer *p = *state;
	uint8_t raw[MODBUS_MAX_PDU + 1], q[600];
	struct modbus_adu qa;
	size_t n, qn;
	uint16_t crc;

	if (p == NULL)
		skip();

	for (n = 2; n <= sizeof(raw); n += 23) {
		size_t k;

		raw[0] = UNIT;
		raw[1] = 0x41;		/* user-defined: any payload */
		for (k = 2; k < n; k++)
			raw[k] = (uint8_t)(k * 37 + n);
		assert_int_equal(modbus_send_raw_request(p->cli, raw, (int)n),
		    (int)(p->tcp ? n + 6 : n + 2));
		qn = drain(p->cli_fd, p->gap_ms, q, sizeof(q));
		if (p->tcp) {
			assert_int_equal(qn, n + 6);
			assert_int_equal(modbus_tcp_decode(q, qn, &qa), 0);
		} else {
			assert_int_equal(qn, n + 2);
			crc = modbus_crc16(q, n);
			assert_int_equal(q[n], crc & 0xFF);
			assert_int_equal(q[n + 1], crc >> 8);
			assert_int_equal(modbus_rtu_decode(q, qn, &qa), 0);
		}
		assert_int_equal(qa.pdu_len, n - 1);
		assert_memory_equal(qa.pdu, raw + 1, n - 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exchange, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange, setup_rtu,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup_rtu,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crc_agrees, setup_tcp,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crc_agrees, setup_rtu,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
