/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_modbus.c - the Modbus codec: checksums, TCP/RTU/ASCII framing,
 * RTU length prediction and timing, request and response validation,
 * with the specification's examples and every limit at its boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modbus.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "01 03 0A" -> bytes; spaces are ignored.  Returns the byte count. */
static size_t
hx(const char *s, uint8_t *out, size_t outlen)
{
	size_t n = 0;
	unsigned v;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		assert_true(n < outlen);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* ------------------------------------------------------------------ */

static void
test_reader(void **state)
{
	static const uint8_t b[] = { 0x12, 0x34, 0x56 };
	struct modbus_reader r;
	const uint8_t *p = NULL;
	uint16_t v16 = 0xAAAA;
	uint8_t v8 = 0xAA;

	(void)state;
	modbus_reader_init(&r, b, sizeof(b));
	assert_int_equal(modbus_get_u16be(&r, &v16), 0);
	assert_int_equal(v16, 0x1234);
	v16 = 0xAAAA;
	assert_int_equal(modbus_get_u16be(&r, &v16), -1);
	assert_int_equal(v16, 0xAAAA);		/* untouched */
	assert_int_equal(modbus_reader_left(&r), 1);
	assert_int_equal(modbus_get_bytes(&r, 2, &p), -1);
	assert_null(p);
	assert_int_equal(modbus_get_u8(&r, &v8), 0);
	assert_int_equal(v8, 0x56);
	v8 = 0xAA;
	assert_int_equal(modbus_get_u8(&r, &v8), -1);
	assert_int_equal(v8, 0xAA);
	assert_int_equal(modbus_get_bytes(&r, 0, &p), 0);
	modbus_reader_init(&r, NULL, 10);
	assert_int_equal(modbus_reader_left(&r), 0);
}

static const struct {
	const char *hex;
	uint16_t crc;
} crc_vectors[] = {
	{ "01 03 00 00 00 0A", 0xCDC5 },          /* on the wire C5 CD */
	{ "31 32 33 34 35 36 37 38 39", 0x4B37 }, /* CRC-16/MODBUS check */
	{ "11 03 00 6B 00 03", 0x8776 },          /* application spec 6.3 */
	{ "", 0xFFFF },
	{ "00", 0x40BF },
	{ "FF", 0x00FF },
};

static void
test_crc16(void **state)
{
	uint8_t b[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < N(crc_vectors); i++) {
		n = hx(crc_vectors[i].hex, b, sizeof(b));
		assert_int_equal(modbus_crc16(b, n), crc_vectors[i].crc);
	}
}

static void
test_lrc(void **state)
{
	static const uint8_t spec[] = { 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03 };
	static const uint8_t zero[] = { 0x80, 0x80 };
	static const uint8_t one[] = { 0x01 };

	(void)state;
	assert_int_equal(modbus_lrc(spec, sizeof(spec)), 0x7E);
	assert_int_equal(modbus_lrc(zero, sizeof(zero)), 0x00);
	assert_int_equal(modbus_lrc(one, sizeof(one)), 0xFF);
	assert_int_equal(modbus_lrc(NULL, 0), 0x00);
}

static void
test_exception(void **state)
{
	uint8_t out[2] = { 0, 0 };
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++)
		assert_int_equal(modbus_exception_valid((uint8_t)c),
		    (c >= 1 && c <= 8) || c == 0x0A || c == 0x0B);
	assert_int_equal(modbus_exception_build(0x03, 0x02, out, 1), -1);
	assert_int_equal(out[0], 0);
	assert_int_equal(modbus_exception_build(0x03, 0x02, out, 2), 0);
	assert_int_equal(out[0], 0x83);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(modbus_exception_build(0x83, 0x01, out, 2), 0);
	assert_int_equal(out[0], 0x83);
}

/* --- TCP ------------------------------------------------------------ */

static const struct {
	const char *hex;
	int rc;
	size_t adu_len;
} tcp_peek_vectors[] = {
	{ "", MODBUS_FRAME_NEED_MORE, 0 },
	{ "00 01", MODBUS_FRAME_NEED_MORE, 0 },
	{ "00 01 00", MODBUS_FRAME_NEED_MORE, 0 },
	{ "00 01 01", MODBUS_FRAME_INVALID, 0 },      /* protocol id 0x01.. */
	{ "00 01 00 01", MODBUS_FRAME_INVALID, 0 },   /* protocol id 1 */
	{ "00 01 00 00 00", MODBUS_FRAME_NEED_MORE, 0 },
	{ "00 01 00 00 01", MODBUS_FRAME_INVALID, 0 },   /* length >= 256 */
	{ "00 01 00 00 00 00", MODBUS_FRAME_INVALID, 0 },
	{ "00 01 00 00 00 01", MODBUS_FRAME_INVALID, 0 }, /* no function */
	{ "00 01 00 00 00 FF", MODBUS_FRAME_INVALID, 0 }, /* ADU 261 */
	{ "00 01 00 00 00 FE", MODBUS_FRAME_NEED_MORE, 0 }, /* ADU 260 */
	{ "00 01 00 00 00 02 FF", MODBUS_FRAME_NEED_MORE, 0 },
	{ "00 01 00 00 00 02 FF 07", MODBUS_FRAME_COMPLETE, 8 },
	{ "00 01 00 00 00 02 FF 07 00 02", MODBUS_FRAME_COMPLETE, 8 },
	{ "12 34 00 00 00 06 11 03 00 6B 00 03", MODBUS_FRAME_COMPLETE, 12 },
};

static void
test_tcp_peek(void **state)
{
	uint8_t b[300];
	size_t i, n, adu_len;

	(void)state;
	for (i = 0; i < N(tcp_peek_vectors); i++) {
		n = hx(tcp_peek_vectors[i].hex, b, sizeof(b));
		adu_len = 999;
		assert_int_equal(modbus_tcp_frame_peek(b, n, &adu_len),
		    tcp_peek_vectors[i].rc);
		assert_int_equal(adu_len, tcp_peek_vectors[i].rc ==
		    MODBUS_FRAME_COMPLETE ? tcp_peek_vectors[i].adu_len : 999);
	}
	/* The largest ADU: every prefix needs more, the whole is complete. */
	memset(b, 0x55, sizeof(b));
	n = hx("00 07 00 00 00 FE 01 03", b, sizeof(b));
	for (i = 0; i < MODBUS_TCP_MAX_ADU; i++)
		assert_int_equal(modbus_tcp_frame_peek(b, i, &adu_len),
		    MODBUS_FRAME_NEED_MORE);
	assert_int_equal(modbus_tcp_frame_peek(b, MODBUS_TCP_MAX_ADU, &adu_len),
	    MODBUS_FRAME_COMPLETE);
	assert_int_equal(adu_len, 260);
	(void)n;
}

static void
test_tcp_codec(void **state)
{
	static const uint8_t pdu[] = { 0x03, 0x00, 0x6B, 0x00, 0x03 };
	uint8_t b[300], big[MODBUS_MAX_PDU + 1];
	struct modbus_adu adu;
	size_t n, w = 0;

	(void)state;
	n = hx("12 34 00 00 00 06 11 03 00 6B 00 03", b, sizeof(b));
	assert_int_equal(modbus_tcp_decode(b, n, &adu), 0);
	assert_int_equal(adu.tid, 0x1234);
	assert_int_equal(adu.unit, 0x11);
	assert_int_equal(adu.pdu_len, 5);
	assert_memory_equal(adu.pdu, pdu, 5);
	assert_ptr_equal(adu.pdu, b + 7);
	/* Exactly one ADU: a trailing byte or a short buffer is refused. */
	memset(&adu, 0xEE, sizeof(adu));
	assert_int_equal(modbus_tcp_decode(b, n + 1, &adu), -1);
	assert_int_equal(modbus_tcp_decode(b, n - 1, &adu), -1);
	assert_int_equal(adu.tid, 0xEEEE);	/* untouched */
	b[3] = 1;
	assert_int_equal(modbus_tcp_decode(b, n, &adu), -1);

	/* Encode gives the same bytes back. */
	assert_int_equal(modbus_tcp_encode(0x1234, 0x11, pdu, sizeof(pdu), b,
	    sizeof(b), &w), 0);
	assert_int_equal(w, 12);
	n = hx("12 34 00 00 00 06 11 03 00 6B 00 03", big, sizeof(big));
	assert_memory_equal(b, big, n);
	/* Limits: PDU 1..253 and the output size. */
	memset(big, 0x41, sizeof(big));
	assert_int_equal(modbus_tcp_encode(1, 1, big, 0, b, sizeof(b), &w), -1);
	assert_int_equal(modbus_tcp_encode(1, 1, big, 254, b, sizeof(b), &w),
	    -1);
	assert_int_equal(modbus_tcp_encode(1, 1, big, 253, b, 259, &w), -1);
	assert_int_equal(modbus_tcp_encode(1, 1, big, 253, b, 260, &w), 0);
	assert_int_equal(w, 260);
	assert_int_equal(modbus_tcp_decode(b, w, &adu), 0);
	assert_int_equal(adu.pdu_len, 253);
	assert_int_equal(modbus_tcp_encode(1, 1, big, 1, b, 8, &w), 0);
	assert_int_equal(w, 8);
}

/* --- RTU ------------------------------------------------------------ */

static void
test_rtu_codec(void **state)
{
	static const uint8_t pdu[] = { 0x03, 0x00, 0x00, 0x00, 0x0A };
	uint8_t b[300], want[16], big[MODBUS_MAX_PDU];
	struct modbus_adu adu;
	size_t n, w = 0;

	(void)state;
	assert_int_equal(modbus_rtu_encode(0x01, pdu, sizeof(pdu), b,
	    sizeof(b), &w), 0);
	n = hx("01 03 00 00 00 0A C5 CD", want, sizeof(want));
	assert_int_equal(w, n);
	assert_memory_equal(b, want, n);
	assert_int_equal(modbus_rtu_frame_crc(b, w), 0);
	assert_int_equal(modbus_rtu_decode(b, w, &adu), 0);
	assert_int_equal(adu.unit, 1);
	assert_int_equal(adu.tid, 0);
	assert_int_equal(adu.pdu_len, 5);
	assert_ptr_equal(adu.pdu, b + 1);

	/* Every single-bit error is caught. */
	for (n = 0; n < w * 8; n++) {
		b[n / 8] ^= (uint8_t)(1u << (n % 8));
		assert_int_equal(modbus_rtu_frame_crc(b, w), -1);
		assert_int_equal(modbus_rtu_decode(b, w, &adu), -1);
		b[n / 8] ^= (uint8_t)(1u << (n % 8));
	}
	/* Application spec 6.3 example as an RTU frame. */
	n = hx("11 03 00 6B 00 03 76 87", b, sizeof(b));
	assert_int_equal(modbus_rtu_decode(b, n, &adu), 0);
	assert_int_equal(adu.unit, 0x11);

	/* Sizes: 4..256. */
	n = hx("01 07", b, sizeof(b));
	assert_int_equal(modbus_rtu_frame_crc(b, 3), -1);
	assert_int_equal(modbus_rtu_frame_crc(b, 0), -1);
	assert_int_equal(modbus_rtu_encode(1, b + 1, 1, b, 3, &w), -1);
	assert_int_equal(modbus_rtu_encode(1, b + 1, 1, b, 4, &w), 0);
	assert_int_equal(modbus_rtu_decode(b, 4, &adu), 0);
	assert_int_equal(adu.pdu_len, 1);
	memset(big, 0x41, sizeof(big));
	assert_int_equal(modbus_rtu_encode(1, big, 0, b, sizeof(b), &w), -1);
	assert_int_equal(modbus_rtu_encode(1, big, 253, b, 255, &w), -1);
	assert_int_equal(modbus_rtu_encode(1, big, 253, b, 256, &w), 0);
	assert_int_equal(w, 256);
	assert_int_equal(modbus_rtu_decode(b, w, &adu), 0);
	assert_int_equal(adu.pdu_len, 253);
	/* A 257-byte frame with a correct CRC is still refused. */
	{
		uint8_t f[258];
		uint16_t crc;

		memset(f, 0x41, sizeof(f));
		crc = modbus_crc16(f, 255);
		f[255] = (uint8_t)crc;
		f[256] = (uint8_t)(crc >> 8);
		assert_int_equal(modbus_rtu_frame_crc(f, 257), 0);
		assert_int_equal(modbus_rtu_decode(f, 257, &adu), -1);
	}
}

static const struct {
	enum modbus_dir dir;
	const char *hex;       /* the bytes received so far */
	int rc;
	size_t total;
} rtu_len_vectors[] = {
#define Q MODBUS_DIR_REQUEST
#define R MODBUS_DIR_RESPONSE
#define C MODBUS_FRAME_COMPLETE
#define M MODBUS_FRAME_NEED_MORE
#define U MODBUS_FRAME_UNKNOWN
#define I MODBUS_FRAME_INVALID
	{ Q, "", M, 0 },
	{ Q, "01", M, 0 },
	{ R, "01", M, 0 },
	{ Q, "01 00", I, 0 },
	{ R, "01 00", I, 0 },
	{ Q, "01 83", I, 0 },          /* exception bit in a request */
	{ R, "01 83", C, 5 },
	{ R, "01 81", C, 5 },
	{ R, "01 AB", C, 5 },
	{ Q, "01 01", C, 8 },
	{ Q, "01 02", C, 8 },
	{ Q, "01 03", C, 8 },
	{ Q, "01 04", C, 8 },
	{ Q, "01 05", C, 8 },
	{ Q, "01 06", C, 8 },
	{ Q, "01 07", C, 4 },
	{ Q, "01 0B", C, 4 },
	{ Q, "01 0C", C, 4 },
	{ Q, "01 11", C, 4 },
	{ Q, "01 08", M, 0 },
	{ Q, "01 08 00", M, 0 },
	{ Q, "01 08 00 00", U, 0 },    /* return query data: any length */
	{ Q, "01 08 00 01", C, 8 },
	{ Q, "01 08 00 0A", C, 8 },
	{ Q, "01 0F 00 13 00", M, 0 },
	{ Q, "01 0F 00 13 00 0A", M, 0 },
	{ Q, "01 0F 00 13 00 0A 02", C, 11 },
	{ Q, "01 10 00 01 00 02 04", C, 13 },
	{ Q, "01 10 00 01 00 7B F6", C, 255 },
	{ Q, "01 10 00 01 00 7B F7", C, 256 },
	{ Q, "01 10 00 01 00 7B F8", I, 0 },
	{ Q, "01 10 00 01 00 7B FF", I, 0 },
	{ Q, "01 14", M, 0 },
	{ Q, "01 14 0E", C, 19 },
	{ Q, "01 15 0D", C, 18 },
	{ Q, "01 16", C, 10 },
	{ Q, "01 17 00 03 00 06 00 0E 00", M, 0 },
	{ Q, "01 17 00 03 00 06 00 0E 00 03", M, 0 },
	{ Q, "01 17 00 03 00 06 00 0E 00 03 06", C, 19 },
	{ Q, "01 18", C, 6 },
	{ Q, "01 2B", M, 0 },
	{ Q, "01 2B 0E", C, 7 },
	{ Q, "01 2B 0D", U, 0 },
	{ Q, "01 41", U, 0 },          /* user-defined */
	{ Q, "01 09", U, 0 },
	{ R, "01 01", M, 0 },
	{ R, "01 01 03", C, 8 },
	{ R, "01 02 03", C, 8 },
	{ R, "01 03 06", C, 11 },
	{ R, "01 04 02", C, 7 },
	{ R, "01 03 FA", C, 255 },
	{ R, "01 03 FB", C, 256 },
	{ R, "01 03 FC", I, 0 },
	{ R, "01 03 FF", I, 0 },
	{ R, "01 05", C, 8 },
	{ R, "01 06", C, 8 },
	{ R, "01 0F", C, 8 },
	{ R, "01 10", C, 8 },
	{ R, "01 07", C, 5 },
	{ R, "01 08 00 00", U, 0 },
	{ R, "01 08 00 0B", C, 8 },
	{ R, "01 0B", C, 8 },
	{ R, "01 0C 08", C, 13 },
	{ R, "01 11 05", C, 10 },
	{ R, "01 14 0C", C, 17 },
	{ R, "01 15 0D", C, 18 },
	{ R, "01 16", C, 10 },
	{ R, "01 17 0C", C, 17 },
	{ R, "01 18", M, 0 },
	{ R, "01 18 00", M, 0 },
	{ R, "01 18 00 06", C, 12 },
	{ R, "01 18 00 FA", C, 256 },
	{ R, "01 18 00 FB", I, 0 },
	{ R, "01 18 01 00", I, 0 },
	{ R, "01 2B", U, 0 },
	{ R, "01 41", U, 0 },
#undef Q
#undef R
#undef C
#undef M
#undef U
#undef I
};

static void
test_rtu_expected_len(void **state)
{
	uint8_t b[64];
	size_t i, n, total;
	int rc;

	(void)state;
	for (i = 0; i < N(rtu_len_vectors); i++) {
		n = hx(rtu_len_vectors[i].hex, b, sizeof(b));
		total = 999;
		rc = modbus_rtu_expected_len(rtu_len_vectors[i].dir, b, n,
		    &total);
		if (rc != rtu_len_vectors[i].rc)
			fail_msg("vector %zu (%s): rc %d, want %d", i,
			    rtu_len_vectors[i].hex, rc, rtu_len_vectors[i].rc);
		assert_int_equal(total, rc == MODBUS_FRAME_COMPLETE ?
		    rtu_len_vectors[i].total : 999);
	}
}

static const struct {
	uint32_t baud;
	unsigned data;
	char parity;
	unsigned stop;
	uint32_t t35, t15;
} timing_vectors[] = {
	{ 9600, 8, 'E', 1, 4011, 1719 },   /* 11 bits: 4010.4, 1718.75 */
	{ 9600, 8, 'N', 2, 4011, 1719 },
	{ 9600, 8, 'N', 1, 3646, 1563 },   /* 10 bits: 3645.8, 1562.5 */
	{ 19200, 8, 'E', 1, 2006, 860 },   /* 2005.2, 859.4 */
	{ 1200, 7, 'E', 1, 29167, 12500 },
	{ 300, 8, 'O', 2, 140000, 60000 }, /* 12 bits */
	{ 19201, 8, 'E', 1, 1750, 750 },
	{ 38400, 8, 'N', 1, 1750, 750 },
	{ 115200, 8, 'E', 1, 1750, 750 },
	{ 0, 8, 'E', 1, 0, 0 },
	{ 9600, 6, 'E', 1, 0, 0 },
	{ 9600, 9, 'E', 1, 0, 0 },
	{ 9600, 8, 'X', 1, 0, 0 },
	{ 9600, 8, 'e', 1, 0, 0 },
	{ 9600, 8, 'E', 0, 0, 0 },
	{ 9600, 8, 'E', 3, 0, 0 },
	{ 38400, 8, 'E', 3, 0, 0 },
	{ 1, 8, 'O', 2, 42000000, 18000000 },
	{ UINT32_MAX, 8, 'N', 1, 1750, 750 },
};

static void
test_rtu_timing(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(timing_vectors); i++) {
		assert_int_equal(modbus_rtu_silence_us(timing_vectors[i].baud,
		    timing_vectors[i].data, timing_vectors[i].parity,
		    timing_vectors[i].stop), timing_vectors[i].t35);
		assert_int_equal(modbus_rtu_interchar_us(timing_vectors[i].baud,
		    timing_vectors[i].data, timing_vectors[i].parity,
		    timing_vectors[i].stop), timing_vectors[i].t15);
	}
}

/* --- ASCII ---------------------------------------------------------- */

static const struct {
	const char *frame;
	int ok;
	uint8_t unit;
	const char *pdu;
} ascii_vectors[] = {
	{ ":1103006B00037E\r\n", 1, 0x11, "03 00 6B 00 03" },
	{ ":1103006b00037e\r\n", 1, 0x11, "03 00 6B 00 03" },
	{ ":F7031389000A60\r\n", 1, 0xF7, "03 13 89 00 0A" },
	{ ":010700F8\r\n", 1, 0x01, "07 00" },
	{ ":0107F8\r\n", 1, 0x01, "07" },            /* minimum */
	{ ":01F8\r\n", 0, 0, "" },                   /* no function code */
	{ ":1103006B00037F\r\n", 0, 0, "" },         /* LRC */
	{ ":1103006B00037E\n", 0, 0, "" },
	{ ":1103006B00037E\r", 0, 0, "" },
	{ ":1103006B00037E\n\r", 0, 0, "" },
	{ "1103006B00037E\r\n", 0, 0, "" },
	{ ";1103006B00037E\r\n", 0, 0, "" },
	{ ":1103006B0003 7E\r\n", 0, 0, "" },
	{ ":1103006B00037\r\n", 0, 0, "" },          /* odd digits */
	{ ":1103006G00037E\r\n", 0, 0, "" },
	{ ":110300+600037E\r\n", 0, 0, "" },
	{ ":1103006B00037E\r\n\r\n", 0, 0, "" },
	{ "::1103006B00037E\r\n", 0, 0, "" },
};

static void
test_ascii_decode(void **state)
{
	uint8_t bin[300], pdu[64];
	struct modbus_adu adu;
	size_t i, n, len;
	int rc;

	(void)state;
	for (i = 0; i < N(ascii_vectors); i++) {
		len = strlen(ascii_vectors[i].frame);
		memset(&adu, 0xEE, sizeof(adu));
		rc = modbus_ascii_decode(
		    (const uint8_t *)ascii_vectors[i].frame, len, bin,
		    sizeof(bin), &adu);
		if (rc != (ascii_vectors[i].ok ? 0 : -1))
			fail_msg("ascii vector %zu: rc %d", i, rc);
		if (!ascii_vectors[i].ok) {
			assert_int_equal(adu.unit, 0xEE);
			continue;
		}
		n = hx(ascii_vectors[i].pdu, pdu, sizeof(pdu));
		assert_int_equal(adu.unit, ascii_vectors[i].unit);
		assert_int_equal(adu.pdu_len, n);
		assert_memory_equal(adu.pdu, pdu, n);
		/* The binary buffer must be big enough. */
		assert_int_equal(modbus_ascii_decode(
		    (const uint8_t *)ascii_vectors[i].frame, len, bin,
		    (len - 3) / 2 - 1, &adu), -1);
		assert_int_equal(modbus_ascii_decode(
		    (const uint8_t *)ascii_vectors[i].frame, len, bin,
		    (len - 3) / 2, &adu), 0);
	}
}

static void
test_ascii_encode(void **state)
{
	static const uint8_t pdu[] = { 0x03, 0x00, 0x6B, 0x00, 0x03 };
	uint8_t out[MODBUS_ASCII_MAX_ADU + 8], big[MODBUS_MAX_PDU], bin[300];
	struct modbus_adu adu;
	size_t w = 0, flen = 0;

	(void)state;
	assert_int_equal(modbus_ascii_encode(0x11, pdu, sizeof(pdu), out,
	    sizeof(out), &w), 0);
	assert_int_equal(w, 17);
	assert_memory_equal(out, ":1103006B00037E\r\n", 17);
	/* Largest frame: 513 bytes, decodes back. */
	memset(big, 0xA5, sizeof(big));
	assert_int_equal(modbus_ascii_encode(0xF7, big, 253, out, 512, &w), -1);
	assert_int_equal(modbus_ascii_encode(0xF7, big, 253, out, 513, &w), 0);
	assert_int_equal(w, MODBUS_ASCII_MAX_ADU);
	assert_int_equal(modbus_ascii_frame_peek(out, w, &flen),
	    MODBUS_FRAME_COMPLETE);
	assert_int_equal(flen, w);
	assert_int_equal(modbus_ascii_decode(out, w, bin, sizeof(bin), &adu),
	    0);
	assert_int_equal(adu.unit, 0xF7);
	assert_int_equal(adu.pdu_len, 253);
	assert_memory_equal(adu.pdu, big, 253);
	assert_int_equal(modbus_ascii_encode(1, big, 0, out, sizeof(out), &w),
	    -1);
	assert_int_equal(modbus_ascii_encode(1, big, 254, out, sizeof(out), &w),
	    -1);
}

static const struct {
	const char *buf;
	int rc;
	size_t len;
} ascii_peek_vectors[] = {
	{ "", MODBUS_FRAME_NEED_MORE, 0 },
	{ ":", MODBUS_FRAME_NEED_MORE, 0 },
	{ ":11", MODBUS_FRAME_NEED_MORE, 0 },
	{ ":11\r", MODBUS_FRAME_NEED_MORE, 0 },
	{ ":11\r\n", MODBUS_FRAME_COMPLETE, 5 },   /* decode refuses it */
	{ ":1103006B00037E\r\n:01", MODBUS_FRAME_COMPLETE, 17 },
	{ "x:11", MODBUS_FRAME_INVALID, 0 },
	{ ":11:", MODBUS_FRAME_INVALID, 0 },
	{ ":11\rx", MODBUS_FRAME_INVALID, 0 },
	{ ":11\n", MODBUS_FRAME_INVALID, 0 },
	{ ":1 1", MODBUS_FRAME_INVALID, 0 },
};

static void
test_ascii_peek(void **state)
{
	uint8_t b[600];
	size_t i, flen;

	(void)state;
	for (i = 0; i < N(ascii_peek_vectors); i++) {
		flen = 999;
		assert_int_equal(modbus_ascii_frame_peek(
		    (const uint8_t *)ascii_peek_vectors[i].buf,
		    strlen(ascii_peek_vectors[i].buf), &flen),
		    ascii_peek_vectors[i].rc);
		assert_int_equal(flen, ascii_peek_vectors[i].rc ==
		    MODBUS_FRAME_COMPLETE ? ascii_peek_vectors[i].len : 999);
	}
	/* No CR LF within 513 bytes: invalid, not "need more" forever. */
	b[0] = ':';
	memset(b + 1, '0', sizeof(b) - 1);
	assert_int_equal(modbus_ascii_frame_peek(b, 511, &flen),
	    MODBUS_FRAME_NEED_MORE);
	b[511] = '\r';
	b[512] = '\n';
	assert_int_equal(modbus_ascii_frame_peek(b, 513, &flen),
	    MODBUS_FRAME_COMPLETE);
	assert_int_equal(flen, 513);
	b[511] = '0';
	b[512] = '\r';
	b[513] = '\n';
	/* The CR would end a 514-byte frame: invalid at once. */
	assert_int_equal(modbus_ascii_frame_peek(b, 513, &flen),
	    MODBUS_FRAME_INVALID);
	assert_int_equal(modbus_ascii_frame_peek(b, 512, &flen),
	    MODBUS_FRAME_INVALID);
	assert_int_equal(modbus_ascii_frame_peek(b, sizeof(b), &flen),
	    MODBUS_FRAME_INVALID);
}

/* --- request validation --------------------------------------------- */

static const struct {
	const char *pdu;
	uint8_t ex;       /* 0: accepted */
} request_vectors[] = {
	/* FC1/FC2: quantity 1..2000, address + quantity <= 65536. */
	{ "01 00 13 00 13", 0 },
	{ "01 00 00 00 00", 3 },
	{ "01 00 00 00 01", 0 },
	{ "01 00 00 07 D0", 0 },
	{ "01 00 00 07 D1", 3 },
	{ "01 FF FF 00 01", 0 },
	{ "01 FF FF 00 02", 2 },
	{ "01 F8 30 07 D0", 0 },       /* 63536 + 2000 = 65536 */
	{ "01 F8 31 07 D0", 2 },
	{ "01 FF FF FF FF", 3 },       /* quantity first */
	{ "01 00 00 00", 3 },
	{ "01 00 00 00 01 00", 3 },
	{ "01", 3 },
	{ "02 00 C4 00 16", 0 },
	{ "02 00 00 07 D1", 3 },
	{ "02 FF FF 00 02", 2 },
	/* FC3/FC4: 1..125. */
	{ "03 00 6B 00 03", 0 },
	{ "03 00 00 00 7D", 0 },
	{ "03 00 00 00 7E", 3 },
	{ "03 00 00 00 00", 3 },
	{ "03 FF 83 00 7D", 0 },       /* 65411 + 125 = 65536 */
	{ "03 FF 84 00 7D", 2 },
	{ "03 FF FF 00 01", 0 },
	{ "03 FF FF 00 02", 2 },
	{ "04 00 08 00 01", 0 },
	{ "04 00 00 00 7E", 3 },
	{ "04 FF FF 00 02", 2 },
	/* FC5: 0x0000 or 0xFF00. */
	{ "05 00 AC FF 00", 0 },
	{ "05 FF FF 00 00", 0 },
	{ "05 00 AC 00 01", 3 },
	{ "05 00 AC FF 01", 3 },
	{ "05 00 AC 00 FF", 3 },
	{ "05 00 AC FF", 3 },
	{ "05 00 AC FF 00 00", 3 },
	/* FC6: any address and value. */
	{ "06 00 01 00 03", 0 },
	{ "06 FF FF FF FF", 0 },
	{ "06 00 01 00", 3 },
	{ "06 00 01 00 03 00", 3 },
	/* FC15: 1..1968, byte count ceil(q / 8). */
	{ "0F 00 13 00 0A 02 CD 01", 0 },
	{ "0F 00 13 00 08 01 CD", 0 },
	{ "0F 00 13 00 09 01 CD", 3 },
	{ "0F 00 13 00 09 02 CD 01", 0 },
	{ "0F 00 13 00 0A 02 CD", 3 },
	{ "0F 00 13 00 0A 02 CD 01 00", 3 },
	{ "0F 00 13 00 00 00", 3 },
	{ "0F FF FF 00 01 01 01", 0 },
	{ "0F FF FF 00 02 01 03", 2 },
	{ "0F 00 13 00 0A", 3 },
	/* FC16: 1..123, byte count 2q. */
	{ "10 00 01 00 02 04 00 0A 01 02", 0 },
	{ "10 00 01 00 02 03 00 0A 01", 3 },
	{ "10 00 01 00 02 04 00 0A 01", 3 },
	{ "10 00 01 00 00 00", 3 },
	{ "10 FF FF 00 01 02 00 00", 0 },
	{ "10 FF FF 00 02 04 00 00 00 00", 2 },
	/* FC23: read 1..125, write 1..121, byte count 2 * write. */
	{ "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF", 0 },
	{ "17 00 03 00 00 00 0E 00 03 06 00 FF 00 FF 00 FF", 3 },
	{ "17 00 03 00 7E 00 0E 00 03 06 00 FF 00 FF 00 FF", 3 },
	{ "17 00 03 00 7D 00 0E 00 03 06 00 FF 00 FF 00 FF", 0 },
	{ "17 00 03 00 06 00 0E 00 00 00", 3 },
	{ "17 00 03 00 06 00 0E 00 03 04 00 FF 00 FF", 3 },
	{ "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00", 3 },
	{ "17 FF FF 00 02 00 0E 00 01 02 00 FF", 2 },
	{ "17 FF FF 00 01 FF FF 00 01 02 00 FF", 0 },
	{ "17 00 00 00 01 FF FF 00 02 04 00 FF 00 FF", 2 },
	{ "17 00 03 00 06 00 0E 00 03", 3 },
	/* Serial-line functions without data. */
	{ "07", 0 }, { "07 00", 3 },
	{ "0B", 0 }, { "0B 00", 3 },
	{ "0C", 0 }, { "0C 00", 3 },
	{ "11", 0 }, { "11 00", 3 },
	/* FC8: a sub-function at least. */
	{ "08 00 00 A5 37", 0 },
	{ "08 00 0A 00 00", 0 },
	{ "08 00 00", 0 },
	{ "08 00 00 01 02 03", 0 },
	{ "08 00 01", 3 },
	{ "08 00 01 00", 3 },
	{ "08 00 01 00 00 00", 3 },
	{ "08 00", 3 },
	{ "08", 3 },
	/* FC20/21: byte counts. */
	{ "14 0E 06 00 04 00 01 00 02 06 00 03 00 09 00 02", 0 },
	{ "14 07 06 00 04 00 01 00 02", 0 },
	{ "14 06 06 00 04 00 01 00", 3 },
	{ "14 08 06 00 04 00 01 00 02 00", 3 },
	{ "14 0E 06 00 04 00 01 00 02 06 00 03 00 09 00", 3 },
	{ "14", 3 },
	{ "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D", 0 },
	{ "15 08 06 00 04 00 07 00 00 00", 3 },
	{ "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10", 3 },
	/* FC22, FC24. */
	{ "16 00 04 00 F2 00 25", 0 },
	{ "16 00 04 00 F2 00", 3 },
	{ "18 04 DE", 0 },
	{ "18 04", 3 },
	{ "18 04 DE 00", 3 },
	/* FC43: MEI type; Read Device ID code 1..4. */
	{ "2B 0E 01 00", 0 },
	{ "2B 0E 04 00", 0 },
	{ "2B 0E 05 00", 3 },
	{ "2B 0E 00 00", 3 },
	{ "2B 0E 01", 3 },
	{ "2B 0E 01 00 00", 3 },
	{ "2B 0D 00 01 02", 0 },
	{ "2B", 3 },
	/* User-defined codes pass; others are illegal functions. */
	{ "41", 0 }, { "48 01 02", 0 }, { "64", 0 }, { "6E FF", 0 },
	{ "40", 1 }, { "49", 1 }, { "63", 1 }, { "6F", 1 },
	{ "00", 1 }, { "09", 1 }, { "0A", 1 }, { "0D", 1 }, { "0E", 1 },
	{ "12", 1 }, { "13", 1 }, { "19", 1 }, { "2A", 1 }, { "2C", 1 },
	{ "7F", 1 }, { "80", 1 }, { "83 02", 1 }, { "FF", 1 },
};

static void
test_request_check(void **state)
{
	uint8_t pdu[300], ex;
	size_t i, n;
	int rc;

	(void)state;
	for (i = 0; i < N(request_vectors); i++) {
		n = hx(request_vectors[i].pdu, pdu, sizeof(pdu));
		ex = 0xEE;
		rc = modbus_request_check(pdu, n, &ex);
		if (request_vectors[i].ex == 0) {
			if (rc != 0)
				fail_msg("'%s' refused with %u",
				    request_vectors[i].pdu, ex);
			assert_int_equal(ex, 0xEE);
		} else {
			if (rc != -1 || ex != request_vectors[i].ex)
				fail_msg("'%s': rc %d ex %u, want %u",
				    request_vectors[i].pdu, rc, ex,
				    request_vectors[i].ex);
		}
	}
	/* Empty: nothing to answer.  Too long: illegal value. */
	ex = 0xEE;
	assert_int_equal(modbus_request_check(pdu, 0, &ex), -1);
	assert_int_equal(ex, 0);
	assert_int_equal(modbus_request_check(NULL, 0, NULL), -1);
	memset(pdu, 0, sizeof(pdu));
	pdu[0] = 0x41;
	assert_int_equal(modbus_request_check(pdu, 253, &ex), 0);
	assert_int_equal(modbus_request_check(pdu, 254, &ex), -1);
	assert_int_equal(ex, 3);
}

/* Every quantity of every counted write, at and around its limit. */
static void
test_request_quantities(void **state)
{
	uint8_t pdu[300], ex;
	unsigned q, max;
	size_t bc;
	int fc;

	(void)state;
	for (fc = 0x0F; fc <= 0x10; fc++) {
		max = fc == 0x0F ? 1968 : 123;
		for (q = 0; q <= max + 2; q++) {
			bc = fc == 0x0F ? (q + 7) / 8 : 2 * q;
			if (bc > 255)
				bc = 255;
			memset(pdu, 0, sizeof(pdu));
			pdu[0] = (uint8_t)fc;
			pdu[3] = (uint8_t)(q >> 8);
			pdu[4] = (uint8_t)q;
			pdu[5] = (uint8_t)bc;
			if (6 + bc > MODBUS_MAX_PDU)
				continue;
			assert_int_equal(modbus_request_check(pdu, 6 + bc, &ex),
			    q >= 1 && q <= max ? 0 : -1);
			/* One byte short or long never passes. */
			assert_int_equal(modbus_request_check(pdu, 5 + bc, &ex),
			    -1);
			assert_int_equal(modbus_request_check(pdu, 7 + bc, &ex),
			    -1);
		}
	}
}

/* --- response validation -------------------------------------------- */

static const struct {
	const char *req, *rsp;
	int ok;
} response_vectors[] = {
	/* The application spec's examples, section 6. */
	{ "01 00 13 00 13", "01 03 CD 6B 05", 1 },
	{ "02 00 C4 00 16", "02 03 AC DB 35", 1 },
	{ "03 00 6B 00 03", "03 06 02 2B 00 00 00 64", 1 },
	{ "04 00 08 00 01", "04 02 00 0A", 1 },
	{ "05 00 AC FF 00", "05 00 AC FF 00", 1 },
	{ "06 00 01 00 03", "06 00 01 00 03", 1 },
	{ "07", "07 6D", 1 },
	{ "08 00 00 A5 37", "08 00 00 A5 37", 1 },
	{ "0B", "0B FF FF 01 08", 1 },
	{ "0C", "0C 08 00 00 01 08 01 21 20 00", 1 },
	{ "0F 00 13 00 0A 02 CD 01", "0F 00 13 00 0A", 1 },
	{ "10 00 01 00 02 04 00 0A 01 02", "10 00 01 00 02", 1 },
	{ "11", "11 02 FF FF", 1 },
	{ "14 0E 06 00 04 00 01 00 02 06 00 03 00 09 00 02",
	  "14 0C 05 06 0D FE 00 20 05 06 33 CD 00 40", 1 },
	{ "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D",
	  "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D", 1 },
	{ "16 00 04 00 F2 00 25", "16 00 04 00 F2 00 25", 1 },
	{ "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF",
	  "17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF", 1 },
	{ "18 04 DE", "18 00 06 00 02 01 B8 12 84", 1 },
	{ "2B 0E 01 00", "2B 0E 01 01 00 00 01 00 03 41 42 43", 1 },
	{ "01 04 A1 00 01", "81 02", 1 },
	/* Exceptions: the request's code, an assigned exception code. */
	{ "03 00 6B 00 03", "83 01", 1 },
	{ "03 00 6B 00 03", "83 0B", 1 },
	{ "03 00 6B 00 03", "83 0A", 1 },
	{ "03 00 6B 00 03", "83 09", 0 },
	{ "03 00 6B 00 03", "83 00", 0 },
	{ "03 00 6B 00 03", "83 0C", 0 },
	{ "03 00 6B 00 03", "83", 0 },
	{ "03 00 6B 00 03", "83 02 00", 0 },
	{ "03 00 6B 00 03", "84 02", 0 },
	{ "41 00", "C1 04", 1 },
	/* Wrong function, wrong counts. */
	{ "03 00 6B 00 03", "04 06 02 2B 00 00 00 64", 0 },
	{ "03 00 6B 00 03", "03 04 02 2B 00 00", 0 },
	{ "03 00 6B 00 03", "03 06 02 2B 00 00 00", 0 },
	{ "03 00 6B 00 03", "03 06 02 2B 00 00 00 64 00", 0 },
	{ "03 00 6B 00 03", "03", 0 },
	{ "03 00 6B 00 03", "", 0 },
	{ "01 00 13 00 13", "01 02 CD 6B", 0 },
	{ "01 00 13 00 13", "01 04 CD 6B 05 00", 0 },
	{ "01 00 00 00 08", "01 01 FF", 1 },
	{ "01 00 00 00 09", "01 01 FF", 0 },
	{ "04 00 08 00 01", "04 02 00", 0 },
	/* Echoes must be exact. */
	{ "05 00 AC FF 00", "05 00 AC 00 00", 0 },
	{ "05 00 AC FF 00", "05 00 AC FF 00 00", 0 },
	{ "06 00 01 00 03", "06 00 01 00 04", 0 },
	{ "0F 00 13 00 0A 02 CD 01", "0F 00 13 00 0B", 0 },
	{ "0F 00 13 00 0A 02 CD 01", "0F 00 13 00 0A 02", 0 },
	{ "10 00 01 00 02 04 00 0A 01 02", "10 00 02 00 02", 0 },
	{ "16 00 04 00 F2 00 25", "16 00 04 00 F2 00 24", 0 },
	{ "08 00 00 A5 37", "08 00 00 A5 38", 0 },
	{ "08 00 0A 00 00", "08 00 0A 00 00", 1 },
	{ "08 00 0B 00 00", "08 00 0B 00 2A", 1 },
	{ "08 00 0B 00 00", "08 00 0C 00 2A", 0 },
	{ "08 00 0B 00 00", "08 00 0B 00", 0 },
	{ "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D",
	  "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0E", 0 },
	/* Fixed-size and counted serial-line responses. */
	{ "07", "07", 0 },
	{ "07", "07 6D 00", 0 },
	{ "0B", "0B FF FF 01", 0 },
	{ "0C", "0C 05 00 00 01 08 01", 0 },
	{ "0C", "0C 08 00 00 01 08 01 21 20", 0 },
	{ "11", "11 00", 0 },
	{ "11", "11 03 FF FF", 0 },
	{ "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF",
	  "17 0A 00 FE 0A CD 00 01 00 03 00 0D", 0 },
	{ "18 04 DE", "18 00 02 00 00", 1 },
	{ "18 04 DE", "18 00 06 00 02 01 B8 12", 0 },
	{ "18 04 DE", "18 00 08 00 02 01 B8 12 84", 0 },
	{ "18 04 DE", "18 00 42 00 20", 0 },
	{ "2B 0E 01 00", "2B 0D 01", 0 },
	{ "2B 0E 01 00", "2B", 0 },
	/* Requests nothing should have let through. */
	{ "09", "09", 0 },
	{ "83 01", "83 01", 0 },
	{ "", "03 00", 0 },
	{ "00", "80 01", 0 },
	{ "00", "00", 0 },
	{ "7F 00", "FF 08", 0 },
	{ "09", "89 01", 0 },
	{ "6E", "EE 01", 1 },
	{ "41 00", "41 01 02 03", 1 },     /* user-defined: any layout */
	{ "64", "64", 1 },
	/* Short requests (never passed by the request check) and FIFO. */
	{ "01 00", "01 01 00", 0 },
	{ "03 00 00", "03 02 00 00", 0 },
	{ "17 00 00 00 01 00", "17 02 00 00", 0 },
	{ "18 04 DE", "18 00", 0 },
	{ "18 04 DE", "18 00 02 00", 0 },
};

static void
test_response_check(void **state)
{
	uint8_t req[300], rsp[300], ex;
	size_t i, qn, sn;
	int rc;

	(void)state;
	for (i = 0; i < N(response_vectors); i++) {
		qn = hx(response_vectors[i].req, req, sizeof(req));
		sn = hx(response_vectors[i].rsp, rsp, sizeof(rsp));
		rc = modbus_response_check(req, qn, rsp, sn);
		if (rc != (response_vectors[i].ok ? 0 : -1))
			fail_msg("req '%s' rsp '%s': rc %d",
			    response_vectors[i].req, response_vectors[i].rsp,
			    rc);
		/* The spec's requests and their answers are all valid. */
		if (response_vectors[i].ok && rsp[0] < 0x80)
			assert_int_equal(modbus_request_check(req, qn, &ex), 0);
	}
}

/*
 * The spec's examples as RTU frames: the predicted length is the frame's
 * length as soon as the header is in, and NEED_MORE before.
 */
static void
test_rtu_expected_len_examples(void **state)
{
	uint8_t pdu[300], f[300];
	size_t i, k, n, w, total, hdr;
	int dir, rc;

	(void)state;
	for (i = 0; i < N(response_vectors); i++) {
		if (!response_vectors[i].ok)
			continue;
		for (dir = 0; dir < 2; dir++) {
			n = hx(dir ? response_vectors[i].rsp :
			    response_vectors[i].req, pdu, sizeof(pdu));
			assert_int_equal(modbus_rtu_encode(0x11, pdu, n, f,
			    sizeof(f), &w), 0);
			rc = modbus_rtu_expected_len((enum modbus_dir)dir, f, w,
			    &total);
			if (rc == MODBUS_FRAME_UNKNOWN)
				continue;
			if (rc != MODBUS_FRAME_COMPLETE || total != w)
				fail_msg("%s '%s': rc %d total %zu, frame %zu",
				    dir ? "rsp" : "req", dir ?
				    response_vectors[i].rsp :
				    response_vectors[i].req, rc, total, w);
			for (hdr = 0, k = 0; k <= w; k++) {
				rc = modbus_rtu_expected_len(
				    (enum modbus_dir)dir, f, k, &total);
				if (rc == MODBUS_FRAME_COMPLETE) {
					if (hdr == 0)
						hdr = k;
					assert_int_equal(total, w);
				} else {
					assert_int_equal(rc,
					    MODBUS_FRAME_NEED_MORE);
					assert_int_equal(hdr, 0);
				}
			}
			assert_true(hdr >= 2 && hdr <= 11);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_lrc),
		cmocka_unit_test(test_exception),
		cmocka_unit_test(test_tcp_peek),
		cmocka_unit_test(test_tcp_codec),
		cmocka_unit_test(test_rtu_codec),
		cmocka_unit_test(test_rtu_expected_len),
		cmocka_unit_test(test_rtu_expected_len_examples),
		cmocka_unit_test(test_rtu_timing),
		cmocka_unit_test(test_ascii_decode),
		cmocka_unit_test(test_ascii_encode),
		cmocka_unit_test(test_ascii_peek),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_request_quantities),
		cmocka_unit_test(test_response_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
