/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_gw.c - the gateway's state machines under untrusted bytes
 * (built twice: fuzz_modbus_gw in transparent mode, fuzz_modbus_agent
 * with -DFUZZ_AGENT in agent mode)
 * from every side at once: a Modbus TCP master, an RTU line, an ASCII
 * line and a Modbus TCP slave, interleaved as the input says, with the
 * real event loop in between.  Built with SLUICE_FUZZING (CRC and LRC
 * always pass), so mutated answers get past the framing.
 *
 * Input: a sequence of steps, each one byte of opcode and (for writes)
 * one byte of length followed by that many bytes:
 *   0 LEN BYTES  the master writes BYTES to its connection
 *   1 LEN BYTES  the RTU slave writes BYTES to the line
 *   2 LEN BYTES  the ASCII slave writes BYTES to its line
 *   3 LEN BYTES  the TCP slave writes BYTES to its connection
 *   4            the loop runs 2 ms
 *   5            the loop runs 12 ms (past a response timeout; <= 4 per input)
 *   6            the master reconnects
 *   7            the master on the priority port connects
 * Anything the gateway sends anyone is read and thrown away.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "gw.h"
#include "log.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct harness {
	struct event_base *base;
	struct mbgw *gw;
	int lfd[2];              /* the listeners handed out (ports 0, 1) */
	uint16_t lport[2];
	int slave_lfd;           /* where the TCP channel connects */
	uint16_t slave_port;
	int slave_fd;            /* the gateway's connection to our slave */
	int pty_master[2];       /* our side of the RTU and ASCII lines */
	int pty_slave[2];
	unsigned devices;        /* open_device calls served */
	int master;              /* our master's connection */
};

static struct harness H;

static int
listener(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		abort();
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
op_listen(void *arg, int family, uint16_t port, uint32_t token)
{
	(void)arg;
	/* Only IPv4, on the ports the policy names; the real ones differ. */
	if (family != AF_INET) {
		mbgw_fd_ready(H.gw, token, -1, EAFNOSUPPORT, "no IPv6 here");
		return 0;
	}
	mbgw_fd_ready(H.gw, token, H.lfd[port == 1503], 0, "");
	H.lfd[port == 1503] = -1;       /* the gateway owns it now */
	return 0;
}

static int
op_device(void *arg, const char *path, uint32_t token)
{
	int i = strstr(path, "ascii") != NULL;

	(void)arg;
	if (H.pty_slave[i] < 0) {
		mbgw_fd_ready(H.gw, token, -1, ENOENT, "gone");
		return 0;
	}
	mbgw_fd_ready(H.gw, token, H.pty_slave[i], 0, "");
	H.pty_slave[i] = -1;
	H.devices++;
	return 0;
}

static bool
op_admit(void *arg, const struct sockaddr *sa, uint16_t port, char *why,
    size_t n)
{
	(void)arg;
	(void)sa;
	(void)port;
	(void)why;
	(void)n;
	return true;
}

static void
loop_ms(unsigned ms)
{
	struct timeval tv = { 0, (suseconds_t)ms * 1000 };

	event_base_loopexit(H.base, &tv);
	event_base_dispatch(H.base);
}

/* Throw away whatever the gateway sent to fd. */
static void
drain(int fd)
{
	uint8_t buf[4096];
	int i;

	for (i = 0; fd >= 0 && i < 16; i++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
}

static void
put(int fd, const uint8_t *p, size_t n)
{
	if (fd >= 0)
		(void)write(fd, p, n);
}

/*
 * A master's connection, non-blocking from the start: a blocking
 * connect() can be interrupted by libFuzzer's SIGALRM (EINTR), which is
 * the harness's trouble, not a finding.  -1 when there is none; writes
 * and reads then skip it.
 */
static int
connect_to(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	    errno != EINPROGRESS && errno != EINTR) {
		close(fd);
		return -1;
	}
	return fd;
}

#ifndef FUZZ_AGENT
static const char policy_fmt[] =
    "services:\n"
    "  modbus-tcp: {enabled: true, port: 1502, priority_port: 1503}\n"
    "modbus:\n"
    "  listeners: {max_connections: 4, idle_timeout_s: 0}\n"
    "  serial_channels:\n"
    "    - {name: rtu, device: /dev/fuzz-rtu, baud: 115200, parity: none,"
    " stop_bits: 2, response_timeout_ms: 10, read_retries: 1,"
    " write_retries: 1}\n"
    "    - {name: ascii, device: /dev/fuzz-ascii, framing: ascii, baud: 115200,"
    " response_timeout_ms: 10}\n"
    "  tcp_channels:\n"
    "    - {name: plc, host: 127.0.0.1, port: %u, response_timeout_ms: 10,"
    " read_retries: 1}\n"
    "  routes:\n"
    "    - {units: [0-9], channel: rtu, broadcast: true}\n"
    "    - {units: 10-19, channel: ascii, offset: -9}\n"
    "    - {units: 20-29, channel: plc, map: {20: 1}}\n"
    "    - {units: 30, channel: rtu, listen_port: 1503, functions: read-only}\n"
    "  firewall:\n"
    "    rules:\n"
    "      - {name: no-coils, action: deny, functions: [5, 15]}\n"
    "      - {name: bounded, action: allow, units: 20-29,"
    " holding_registers_write: 0-99, value_max: 1000}\n"
    "      - {name: unit3, action: deny, units: 3,"
    " holding_registers_read: 10-19}\n";
#endif

#ifdef FUZZ_AGENT
/*
 * Agent mode: the master's requests are served from the tag table, the
 * lines carry the agent's polls, whose answers are the fuzzed bytes.
 */
static const char agent_fmt[] =
    "services:\n"
    "  modbus-tcp: {enabled: true, port: 1502, priority_port: 1503}\n"
    "tags:\n"
    "  - {name: a, type: uint16, command: r3, at: 0}\n"
    "  - {name: b, type: float32, command: r3, at: 1, write_command: w16,"
    " write_at: 0}\n"
    "  - {name: s, type: string, length: 4, command: r3, at: 3}\n"
    "  - {name: c, type: bool, command: r1, at: 2, write_command: w5}\n"
    "  - {name: d, type: int32, scale: 0.5, command: asc, at: 0}\n"
    "  - {name: e, type: uint16, command: tcp, at: 0, write_command: w6}\n"
    "modbus:\n"
    "  mode: agent\n"
    "  serial_channels:\n"
    "    - {name: rtu, device: /dev/fuzz-rtu, baud: 115200, parity: none,"
    " stop_bits: 2, response_timeout_ms: 10, read_retries: 1}\n"
    "    - {name: ascii, device: /dev/fuzz-ascii, framing: ascii, baud: 115200,"
    " response_timeout_ms: 10}\n"
    "  tcp_channels:\n"
    "    - {name: plc, host: 127.0.0.1, port: %u, response_timeout_ms: 10}\n"
    "  commands:\n"
    "    - {name: r3, channel: rtu, unit: 1, function: 3, quantity: 5,"
    " interval_ms: 10, swap: word}\n"
    "    - {name: r1, channel: rtu, unit: 2, function: 1, quantity: 8,"
    " interval_ms: 15}\n"
    "    - {name: asc, channel: ascii, unit: 1, function: 4, quantity: 2,"
    " interval_ms: 10}\n"
    "    - {name: tcp, channel: plc, unit: 1, function: 3, quantity: 1,"
    " interval_ms: 10}\n"
    "    - {name: w16, channel: rtu, unit: 1, function: 16, address: 10,"
    " quantity: 2}\n"
    "    - {name: w5, channel: rtu, unit: 2, function: 5, address: 2}\n"
    "    - {name: w6, channel: plc, unit: 1, function: 6, address: 7}\n"
    "  agent:\n"
    "    bad_quality: last-value\n"
    "    write_timeout_ms: 100\n"
    "    status: {table: discrete_inputs, address: 100}\n"
    "    map:\n"
    "      - {table: holding_registers, address: 0, tag: a}\n"
    "      - {table: holding_registers, address: 1, tag: b}\n"
    "      - {table: holding_registers, address: 3, tag: s}\n"
    "      - {table: coils, address: 0, tag: c}\n"
    "      - {table: input_registers, address: 0, tag: d}\n"
    "      - {table: holding_registers, address: 10, tag: e}\n";
#define policy_fmt agent_fmt
#endif

static struct policy *
make_policy(void)
{
	struct policy_error err;
	struct policy *p;
	char buf[sizeof(policy_fmt) + 16];

	snprintf(buf, sizeof(buf), policy_fmt, H.slave_port);
	p = policy_load_buffer("fuzz.yaml", buf, strlen(buf), NULL, &err);
	if (p == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *pol;
	struct mbgw_ops ops = { op_listen, op_device, op_admit, NULL };
	struct policy_error err;
	size_t i = 0, n;
	unsigned waits = 0, steps = 0;
	int k;

	if (H.base == NULL) {
		signal(SIGPIPE, SIG_IGN);
		log_init("fuzz", 1);
		log_set_level(LOG_LEVEL_ERROR);
		H.base = event_base_new();
		H.slave_lfd = listener(&H.slave_port);
		pol = make_policy();
	}
	for (k = 0; k < 2; k++) {
		H.lfd[k] = listener(&H.lport[k]);
		if (openpty(&H.pty_master[k], &H.pty_slave[k], NULL, NULL,
		    NULL) < 0)
			abort();
		(void)fcntl(H.pty_master[k], F_SETFL, O_NONBLOCK);
	}
	H.gw = mbgw_new(H.base, &ops);
	if (H.gw == NULL || mbgw_configure(H.gw, pol, &err) < 0)
		abort();
	loop_ms(1);                     /* the TCP channel connects */
	H.slave_fd = accept4(H.slave_lfd, NULL, NULL, SOCK_NONBLOCK);
	H.master = connect_to(H.lport[0]);
	loop_ms(1);

	while (i < size && steps++ < 256) {
		uint8_t op = data[i++] % 8;

		if (op <= 3) {
			if (i >= size)
				break;
			n = data[i++];
			if (n > size - i)
				n = size - i;
			put(op == 0 ? H.master : op == 1 ? H.pty_master[0] :
			    op == 2 ? H.pty_master[1] : H.slave_fd, data + i, n);
			i += n;
			loop_ms(0);
		} else if (op == 4)
			loop_ms(2);
		else if (op == 5 && waits++ < 4)
			loop_ms(12);
		else if (op == 6 || op == 7) {
			if (H.master >= 0)
				close(H.master);
			H.master = connect_to(H.lport[op == 7]);
			loop_ms(0);
		}
		drain(H.master);
		drain(H.pty_master[0]);
		drain(H.pty_master[1]);
		drain(H.slave_fd);
	}
	/* Whatever state it is in, the gateway must come apart cleanly. */
	json_decref(mbgw_stats(H.gw));
	mbgw_free(H.gw);
	if (H.master >= 0)
		close(H.master);
	if (H.slave_fd >= 0)
		close(H.slave_fd);
	for (k = 0; k < 2; k++) {
		close(H.pty_master[k]);
		if (H.pty_slave[k] >= 0)
			close(H.pty_slave[k]);
		if (H.lfd[k] >= 0)
			close(H.lfd[k]);
	}
	/* Events the gateway left would fire into freed memory now. */
	loop_ms(0);
	return 0;
}
