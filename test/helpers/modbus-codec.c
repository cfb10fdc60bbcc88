/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * modbus-codec.c - the Modbus codec on the command line, so tests in
 * other languages (pymodbus) can compare frames with it.  Hex in, hex out.
 *
 *   modbus-codec encode tcp|rtu|ascii UNIT TID PDUHEX   -> frame hex
 *   modbus-codec decode tcp|rtu|ascii FRAMEHEX          -> UNIT TID PDUHEX
 *   modbus-codec request PDUHEX                         -> exception (0 ok)
 *   modbus-codec response REQHEX RSPHEX                 -> exit 0 if valid
 *
 * Numbers are decimal.  Exit 0 ok, 1 refused by the codec, 64 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

static int
unhex(const char *s, uint8_t *out, size_t outlen, size_t *n)
{
	size_t len = strlen(s), i;
	unsigned v;

	if (len % 2 != 0 || len / 2 > outlen)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static void
puthex(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static int
usage(void)
{
	fprintf(stderr, "usage: modbus-codec encode|decode|request|response "
	    "...\n");
	return 64;
}

static int
encode(const char *mode, int argc, char **argv)
{
	uint8_t pdu[1024], out[MODBUS_ASCII_MAX_ADU];
	size_t n, w;
	uint8_t unit;
	uint16_t tid;
	int rc;

	if (argc != 3 || unhex(argv[2], pdu, sizeof(pdu), &n) == -1)
		return usage();
	unit = (uint8_t)strtoul(argv[0], NULL, 10);
	tid = (uint16_t)strtoul(argv[1], NULL, 10);
	if (strcmp(mode, "tcp") == 0)
		rc = modbus_tcp_encode(tid, unit, pdu, n, out, sizeof(out), &w);
	else if (strcmp(mode, "rtu") == 0)
		rc = modbus_rtu_encode(unit, pdu, n, out, sizeof(out), &w);
	else if (strcmp(mode, "ascii") == 0)
		rc = modbus_ascii_encode(unit, pdu, n, out, sizeof(out), &w);
	else
		return usage();
	if (rc != 0)
		return 1;
	puthex(out, w);
	putchar('\n');
	return 0;
}

static int
decode(const char *mode, int argc, char **argv)
{
	uint8_t f[1024], bin[MODBUS_ASCII_MAX_ADU];
	struct modbus_adu adu;
	size_t n;
	int rc;

	if (argc != 1 || unhex(argv[0], f, sizeof(f), &n) == -1)
		return usage();
	if (strcmp(mode, "tcp") == 0)
		rc = modbus_tcp_decode(f, n, &adu);
	else if (strcmp(mode, "rtu") == 0)
		rc = modbus_rtu_decode(f, n, &adu);
	else if (strcmp(mode, "ascii") == 0)
		rc = modbus_ascii_decode(f, n, bin, sizeof(bin), &adu);
	else
		return usage();
	if (rc != 0)
		return 1;
	printf("%u %u ", adu.unit, adu.tid);
	puthex(adu.pdu, adu.pdu_len);
	putchar('\n');
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t q[1024], s[1024], ex = 0;
	size_t qn, sn;
	int rc;

	if (argc >= 3 && strcmp(argv[1], "encode") == 0)
		return encode(argv[2], argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[1], "decode") == 0)
		return decode(argv[2], argc - 3, argv + 3);
	if (argc == 3 && strcmp(argv[1], "request") == 0) {
		if (unhex(argv[2], q, sizeof(q), &qn) == -1)
			return usage();
		rc = modbus_request_check(q, qn, &ex);
		printf("%u\n", ex);
		return rc == 0 ? 0 : 1;
	}
	if (argc == 4 && strcmp(argv[1], "response") == 0) {
		if (unhex(argv[2], q, sizeof(q), &qn) == -1 ||
		    unhex(argv[3], s, sizeof(s), &sn) == -1)
			return usage();
		return modbus_response_check(q, qn, s, sn) == 0 ? 0 : 1;
	}
	return usage();
}
