/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * modbus.c - Modbus codec (see modbus.h).  Every byte of input is read
 * through the bounds-checked reader; nothing here does I/O or allocates.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "modbus.h"

/* --- reader -------------------------------------------------------- */

void
modbus_reader_init(struct modbus_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = buf == NULL ? 0 : len;
	r->off = 0;
}

size_t
modbus_reader_left(const struct modbus_reader *r)
{
	return r->len - r->off;
}

int
modbus_get_u8(struct modbus_reader *r, uint8_t *v)
{
	if (modbus_reader_left(r) < 1)
		return -1;
	*v = r->buf[r->off++];
	return 0;
}

int
modbus_get_u16be(struct modbus_reader *r, uint16_t *v)
{
	if (modbus_reader_left(r) < 2)
		return -1;
	*v = (uint16_t)(r->buf[r->off] << 8 | r->buf[r->off + 1]);
	r->off += 2;
	return 0;
}

int
modbus_get_bytes(struct modbus_reader *r, size_t n, const uint8_t **p)
{
	if (modbus_reader_left(r) < n)
		return -1;
	*p = r->buf + r->off;
	r->off += n;
	return 0;
}

static int
skip(struct modbus_reader *r, size_t n)
{
	const uint8_t *p;

	return modbus_get_bytes(r, n, &p);
}

/* --- checksums ----------------------------------------------------- */

/* CRC-16/MODBUS, reflected polynomial 0xA001, byte-wise table. */
static const uint16_t crc16_table[256] = {
	0x0000, 0xC0C1, 0xC181, 0x0140, 0xC301, 0x03C0, 0x0280, 0xC241,
	0xC601, 0x06C0, 0x0780, 0xC741, 0x0500, 0xC5C1, 0xC481, 0x0440,
	0xCC01, 0x0CC0, 0x0D80, 0xCD41, 0x0F00, 0xCFC1, 0xCE81, 0x0E40,
	0x0A00, 0xCAC1, 0xCB81, 0x0B40, 0xC901, 0x09C0, 0x0880, 0xC841,
	0xD801, 0x18C0, 0x1980, 0xD941, 0x1B00, 0xDBC1, 0xDA81, 0x1A40,
	0x1E00, 0xDEC1, 0xDF81, 0x1F40, 0xDD01, 0x1DC0, 0x1C80, 0xDC41,
	0x1400, 0xD4C1, 0xD581, 0x1540, 0xD701, 0x17C0, 0x1680, 0xD641,
	0xD201, 0x12C0, 0x1380, 0xD341, 0x1100, 0xD1C1, 0xD081, 0x1040,
	0xF001, 0x30C0, 0x3180, 0xF141, 0x3300, 0xF3C1, 0xF281, 0x3240,
	0x3600, 0xF6C1, 0xF781, 0x3740, 0xF501, 0x35C0, 0x3480, 0xF441,
	0x3C00, 0xFCC1, 0xFD81, 0x3D40, 0xFF01, 0x3FC0, 0x3E80, 0xFE41,
	0xFA01, 0x3AC0, 0x3B80, 0xFB41, 0x3900, 0xF9C1, 0xF881, 0x3840,
	0x2800, 0xE8C1, 0xE981, 0x2940, 0xEB01, 0x2BC0, 0x2A80, 0xEA41,
	0xEE01, 0x2EC0, 0x2F80, 0xEF41, 0x2D00, 0xEDC1, 0xEC81, 0x2C40,
	0xE401, 0x24C0, 0x2580, 0xE541, 0x2700, 0xE7C1, 0xE681, 0x2640,
	0x2200, 0xE2C1, 0xE381, 0x2340, 0xE101, 0x21C0, 0x2080, 0xE041,
	0xA001, 0x60C0, 0x6180, 0xA141, 0x6300, 0xA3C1, 0xA281, 0x6240,
	0x6600, 0xA6C1, 0xA781, 0x6740, 0xA501, 0x65C0, 0x6480, 0xA441,
	0x6C00, 0xACC1, 0xAD81, 0x6D40, 0xAF01, 0x6FC0, 0x6E80, 0xAE41,
	0xAA01, 0x6AC0, 0x6B80, 0xAB41, 0x6900, 0xA9C1, 0xA881, 0x6840,
	0x7800, 0xB8C1, 0xB981, 0x7940, 0xBB01, 0x7BC0, 0x7A80, 0xBA41,
	0xBE01, 0x7EC0, 0x7F80, 0xBF41, 0x7D00, 0xBDC1, 0xBC81, 0x7C40,
	0xB401, 0x74C0, 0x7580, 0xB541, 0x7700, 0xB7C1, 0xB681, 0x7640,
	0x7200, 0xB2C1, 0xB381, 0x7340, 0xB101, 0x71C0, 0x7080, 0xB041,
	0x5000, 0x90C1, 0x9181, 0x5140, 0x9301, 0x53C0, 0x5280, 0x9241,
	0x9601, 0x56C0, 0x5780, 0x9741, 0x5500, 0x95C1, 0x9481, 0x5440,
	0x9C01, 0x5CC0, 0x5D80, 0x9D41, 0x5F00, 0x9FC1, 0x9E81, 0x5E40,
	0x5A00, 0x9AC1, 0x9B81, 0x5B40, 0x9901, 0x59C0, 0x5880, 0x9841,
	0x8801, 0x48C0, 0x4980, 0x8941, 0x4B00, 0x8BC1, 0x8A81, 0x4A40,
	0x4E00, 0x8EC1, 0x8F81, 0x4F40, 0x8D01, 0x4DC0, 0x4C80, 0x8C41,
	0x4400, 0x84C1, 0x8581, 0x4540, 0x8701, 0x47C0, 0x4680, 0x8641,
	0x8201, 0x42C0, 0x4380, 0x8341, 0x4100, 0x81C1, 0x8081, 0x4040,
};

uint16_t
modbus_crc16(const uint8_t *buf, size_t len)
{
	uint16_t crc = 0xFFFF;
	size_t i;

	for (i = 0; i < len; i++)
		crc = (uint16_t)(crc >> 8 ^ crc16_table[(crc ^ buf[i]) & 0xFF]);
	return crc;
}

uint8_t
modbus_lrc(const uint8_t *buf, size_t len)
{
	uint8_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + buf[i]);
	return (uint8_t)-sum;
}

int
modbus_exception_valid(uint8_t code)
{
	return (code >= MODBUS_EX_ILLEGAL_FUNCTION &&
	    code <= MODBUS_EX_MEMORY_PARITY_ERROR) ||
	    code == MODBUS_EX_GATEWAY_PATH_UNAVAILABLE ||
	    code == MODBUS_EX_GATEWAY_TARGET_FAILED;
}

int
modbus_exception_build(uint8_t fc, uint8_t code, uint8_t *out, size_t outlen)
{
	if (outlen < MODBUS_EXCEPTION_PDU_LEN)
		return -1;
	out[0] = (uint8_t)(fc | MODBUS_FUNC_EXCEPTION_BIT);
	out[1] = code;
	return 0;
}

/* --- Modbus TCP ---------------------------------------------------- */

/*
 * MBAP (TCP implementation guide 3.1.3): the length field counts the
 * unit id and the PDU, so 2..254 for a PDU of 1..253 bytes.
 */
int
modbus_tcp_frame_peek(const uint8_t *buf, size_t len, size_t *adu_len)
{
	struct modbus_reader r;
	uint16_t proto, length;

	modbus_reader_init(&r, buf, len);
	if (skip(&r, 2) == -1)
		return MODBUS_FRAME_NEED_MORE;
	/* Reject a bad protocol id as soon as its first byte is there. */
	if (modbus_reader_left(&r) == 1 && buf[2] != 0)
		return MODBUS_FRAME_INVALID;
	if (modbus_get_u16be(&r, &proto) == -1)
		return MODBUS_FRAME_NEED_MORE;
	if (proto != 0)
		return MODBUS_FRAME_INVALID;
	if (modbus_reader_left(&r) == 1 && buf[4] != 0)
		return MODBUS_FRAME_INVALID;
	if (modbus_get_u16be(&r, &length) == -1)
		return MODBUS_FRAME_NEED_MORE;
	if (length < 2 || length > MODBUS_MAX_PDU + 1)
		return MODBUS_FRAME_INVALID;
	if (modbus_reader_left(&r) < length)
		return MODBUS_FRAME_NEED_MORE;
	*adu_len = (size_t)6 + length;
	return MODBUS_FRAME_COMPLETE;
}

int
modbus_tcp_decode(const uint8_t *buf, size_t len, struct modbus_adu *adu)
{
	struct modbus_reader r;
	uint16_t tid, proto, length;
	uint8_t unit;
	const uint8_t *pdu;
	size_t adu_len;

	if (modbus_tcp_frame_peek(buf, len, &adu_len) !=
	    MODBUS_FRAME_COMPLETE || adu_len != len)
		return -1;
	modbus_reader_init(&r, buf, len);
	if (modbus_get_u16be(&r, &tid) == -1 ||
	    modbus_get_u16be(&r, &proto) == -1 ||
	    modbus_get_u16be(&r, &length) == -1 ||
	    modbus_get_u8(&r, &unit) == -1 ||
	    modbus_get_bytes(&r, (size_t)length - 1, &pdu) == -1 ||
	    modbus_reader_left(&r) != 0)
		return -1;
	adu->tid = tid;
	adu->unit = unit;
	adu->pdu = pdu;
	adu->pdu_len = (size_t)length - 1;
	return 0;
}

int
modbus_tcp_encode(uint16_t tid, uint8_t unit, const uint8_t *pdu,
    size_t pdu_len, uint8_t *out, size_t outlen, size_t *written)
{
	if (pdu_len < 1 || pdu_len > MODBUS_MAX_PDU ||
	    outlen < MODBUS_TCP_MBAP_LEN + pdu_len)
		return -1;
	out[0] = (uint8_t)(tid >> 8);
	out[1] = (uint8_t)tid;
	out[2] = 0;
	out[3] = 0;
	out[4] = (uint8_t)((pdu_len + 1) >> 8);
	out[5] = (uint8_t)(pdu_len + 1);
	out[6] = unit;
	memmove(out + MODBUS_TCP_MBAP_LEN, pdu, pdu_len);
	*written = MODBUS_TCP_MBAP_LEN + pdu_len;
	return 0;
}

/* --- Modbus RTU ---------------------------------------------------- */

int
modbus_rtu_frame_crc(const uint8_t *frame, size_t len)
{
	struct modbus_reader r;
	const uint8_t *body;
	uint8_t lo, hi;
	uint16_t crc;

	modbus_reader_init(&r, frame, len);
	if (len < MODBUS_RTU_MIN_ADU ||
	    modbus_get_bytes(&r, len - 2, &body) == -1 ||
	    modbus_get_u8(&r, &lo) == -1 || modbus_get_u8(&r, &hi) == -1)
		return -1;
	crc = modbus_crc16(body, len - 2);
#ifdef SLUICE_FUZZING
	/* Let mutated frames past the checksum (fuzz builds only). */
	crc = (uint16_t)(hi << 8 | lo);
#endif
	return crc == (uint16_t)(hi << 8 | lo) ? 0 : -1;
}

int
modbus_rtu_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len,
    uint8_t *out, size_t outlen, size_t *written)
{
	uint16_t crc;

	if (pdu_len < 1 || pdu_len > MODBUS_MAX_PDU || outlen < pdu_len + 3)
		return -1;
	memmove(out + 1, pdu, pdu_len);
	out[0] = unit;
	crc = modbus_crc16(out, pdu_len + 1);
	out[pdu_len + 1] = (uint8_t)crc;
	out[pdu_len + 2] = (uint8_t)(crc >> 8);
	*written = pdu_len + 3;
	return 0;
}

int
modbus_rtu_decode(const uint8_t *frame, size_t len, struct modbus_adu *adu)
{
	struct modbus_reader r;
	uint8_t unit;
	const uint8_t *pdu;

	if (len > MODBUS_RTU_MAX_ADU || modbus_rtu_frame_crc(frame, len) == -1)
		return -1;
	modbus_reader_init(&r, frame, len);
	if (modbus_get_u8(&r, &unit) == -1 ||
	    modbus_get_bytes(&r, len - 3, &pdu) == -1)
		return -1;
	adu->tid = 0;
	adu->unit = unit;
	adu->pdu = pdu;
	adu->pdu_len = len - 3;
	return 0;
}

/*
 * Skip n bytes, then read a byte count: *total = base + count.  Returns a
 * modbus_frame value.
 */
static int
len_by_count8(struct modbus_reader *r, size_t n, size_t base, size_t *total)
{
	uint8_t count;

	if (skip(r, n) == -1 || modbus_get_u8(r, &count) == -1)
		return MODBUS_FRAME_NEED_MORE;
	*total = base + count;
	return MODBUS_FRAME_COMPLETE;
}

/*
 * Diagnostics (application protocol 6.8): sub-function 0 echoes any
 * amount of data; the others carry one 16-bit data field.
 */
static int
len_diagnostics(struct modbus_reader *r, size_t *total)
{
	uint16_t sub;

	if (modbus_get_u16be(r, &sub) == -1)
		return MODBUS_FRAME_NEED_MORE;
	if (sub == 0)
		return MODBUS_FRAME_UNKNOWN;
	*total = 8;
	return MODBUS_FRAME_COMPLETE;
}

/* Total RTU length of a request (unit, PDU, CRC) from its layout. */
static int
rtu_request_len(uint8_t fc, struct modbus_reader *r, size_t *total)
{
	uint8_t mei;

	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
		*total = 8;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
	case MODBUS_FUNC_GET_COMM_EVENT_LOG:
	case MODBUS_FUNC_REPORT_SERVER_ID:
		*total = 4;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_DIAGNOSTICS:
		return len_diagnostics(r, total);
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
		return len_by_count8(r, 4, 9, total);
	case MODBUS_FUNC_READ_FILE_RECORD:
	case MODBUS_FUNC_WRITE_FILE_RECORD:
		return len_by_count8(r, 0, 5, total);
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		*total = 10;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		return len_by_count8(r, 8, 13, total);
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		*total = 6;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_ENCAPSULATED_INTERFACE:
		if (modbus_get_u8(r, &mei) == -1)
			return MODBUS_FRAME_NEED_MORE;
		if (mei != MODBUS_MEI_READ_DEVICE_ID)
			return MODBUS_FRAME_UNKNOWN;
		*total = 7;
		return MODBUS_FRAME_COMPLETE;
	default:
		return MODBUS_FRAME_UNKNOWN;
	}
}

/* Total RTU length of a normal (not exception) response. */
static int
rtu_response_len(uint8_t fc, struct modbus_reader *r, size_t *total)
{
	uint16_t count;

	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
	case MODBUS_FUNC_GET_COMM_EVENT_LOG:
	case MODBUS_FUNC_REPORT_SERVER_ID:
	case MODBUS_FUNC_READ_FILE_RECORD:
	case MODBUS_FUNC_WRITE_FILE_RECORD:
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		return len_by_count8(r, 0, 5, total);
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
		*total = 8;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
		*total = 5;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_DIAGNOSTICS:
		return len_diagnostics(r, total);
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		*total = 10;
		return MODBUS_FRAME_COMPLETE;
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		/* The FIFO byte count is 16 bits (6.18). */
		if (modbus_get_u16be(r, &count) == -1)
			return MODBUS_FRAME_NEED_MORE;
		*total = (size_t)6 + count;
		return MODBUS_FRAME_COMPLETE;
	default:
		return MODBUS_FRAME_UNKNOWN;
	}
}

int
modbus_rtu_expected_len(enum modbus_dir dir, const uint8_t *buf, size_t len,
    size_t *total)
{
	struct modbus_reader r;
	uint8_t unit, fc;
	size_t n = 0;
	int rc;

	modbus_reader_init(&r, buf, len);
	if (modbus_get_u8(&r, &unit) == -1 || modbus_get_u8(&r, &fc) == -1)
		return MODBUS_FRAME_NEED_MORE;
	if (fc == 0)
		return MODBUS_FRAME_INVALID;
	if (fc & MODBUS_FUNC_EXCEPTION_BIT) {
		if (dir == MODBUS_DIR_REQUEST)
			return MODBUS_FRAME_INVALID;
		n = 5;	/* unit, fc | 0x80, code, CRC */
	} else {
		rc = dir == MODBUS_DIR_REQUEST ? rtu_request_len(fc, &r, &n) :
		    rtu_response_len(fc, &r, &n);
		if (rc != MODBUS_FRAME_COMPLETE)
			return rc;
	}
	if (n > MODBUS_RTU_MAX_ADU)
		return MODBUS_FRAME_INVALID;
	*total = n;
	return MODBUS_FRAME_COMPLETE;
}

/*
 * chars * bits-per-character in microseconds, rounded up; the fixed
 * values above 19200 baud keep the timing implementable (serial line
 * 2.5.1.1).  halfchars is the number of half characters (7 or 3).
 */
static uint32_t
char_time_us(uint32_t baud, unsigned data_bits, char parity,
    unsigned stop_bits, unsigned halfchars, uint32_t fixed)
{
	uint64_t bits;

	if (baud == 0 || (data_bits != 7 && data_bits != 8) ||
	    (stop_bits != 1 && stop_bits != 2) ||
	    (parity != 'N' && parity != 'E' && parity != 'O'))
		return 0;
	if (baud > 19200)
		return fixed;
	bits = 1 + data_bits + (parity == 'N' ? 0 : 1) + stop_bits;
	return (uint32_t)((bits * halfchars * 1000000u + 2u * baud - 1) /
	    (2u * (uint64_t)baud));
}

uint32_t
modbus_rtu_silence_us(uint32_t baud, unsigned data_bits, char parity,
    unsigned stop_bits)
{
	return char_time_us(baud, data_bits, parity, stop_bits, 7, 1750);
}

uint32_t
modbus_rtu_interchar_us(uint32_t baud, unsigned data_bits, char parity,
    unsigned stop_bits)
{
	return char_time_us(baud, data_bits, parity, stop_bits, 3, 750);
}

/* --- Modbus ASCII -------------------------------------------------- */

static int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * A frame is ':' then hex digits then CR LF (serial line 2.5.2.1).  Any
 * other byte, including a second ':' (which restarts a frame), makes the
 * prefix invalid, so the glue can resynchronise at once.
 */
int
modbus_ascii_frame_peek(const uint8_t *buf, size_t len, size_t *frame_len)
{
	struct modbus_reader r;
	uint8_t c, lf;

	modbus_reader_init(&r, buf, len);
	if (modbus_get_u8(&r, &c) == -1)
		return MODBUS_FRAME_NEED_MORE;
	if (c != ':')
		return MODBUS_FRAME_INVALID;
	while (modbus_get_u8(&r, &c) == 0) {
		/* Give up as soon as the frame cannot end within the cap. */
		if (r.off + (c == '\r' ? 1 : 2) > MODBUS_ASCII_MAX_ADU)
			return MODBUS_FRAME_INVALID;
		if (c == '\r') {
			if (modbus_get_u8(&r, &lf) == -1)
				return MODBUS_FRAME_NEED_MORE;
			if (lf != '\n')
				return MODBUS_FRAME_INVALID;
			*frame_len = r.off;
			return MODBUS_FRAME_COMPLETE;
		}
		if (hex_value(c) == -1)
			return MODBUS_FRAME_INVALID;
	}
	return MODBUS_FRAME_NEED_MORE;
}

int
modbus_ascii_decode(const uint8_t *frame, size_t len, uint8_t *bin,
    size_t binlen, struct modbus_adu *adu)
{
	struct modbus_reader r;
	uint8_t colon, hi, lo, cr, lf;
	size_t n, i;

	if (len < MODBUS_ASCII_MIN_ADU || len > MODBUS_ASCII_MAX_ADU ||
	    (len - 3) % 2 != 0)
		return -1;
	n = (len - 3) / 2;
	if (binlen < n)
		return -1;
	modbus_reader_init(&r, frame, len);
	if (modbus_get_u8(&r, &colon) == -1 || colon != ':')
		return -1;
	for (i = 0; i < n; i++) {
		if (modbus_get_u8(&r, &hi) == -1 ||
		    modbus_get_u8(&r, &lo) == -1 ||
		    hex_value(hi) == -1 || hex_value(lo) == -1)
			return -1;
		bin[i] = (uint8_t)(hex_value(hi) << 4 | hex_value(lo));
	}
	if (modbus_get_u8(&r, &cr) == -1 || modbus_get_u8(&r, &lf) == -1 ||
	    cr != '\r' || lf != '\n')
		return -1;
#ifndef SLUICE_FUZZING
	/* The LRC covers unit and PDU, not ':' or CR LF (6.2.1). */
	if (modbus_lrc(bin, n - 1) != bin[n - 1])
		return -1;
#endif
	adu->tid = 0;
	adu->unit = bin[0];
	adu->pdu = bin + 1;
	adu->pdu_len = n - 2;
	return 0;
}

int
modbus_ascii_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len,
    uint8_t *out, size_t outlen, size_t *written)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t lrc;
	size_t i, o = 0;

	if (pdu_len < 1 || pdu_len > MODBUS_MAX_PDU ||
	    outlen < 2 * (pdu_len + 2) + 3)
		return -1;
	lrc = (uint8_t)(modbus_lrc(pdu, pdu_len) - unit);
	out[o++] = ':';
	out[o++] = (uint8_t)hex[unit >> 4];
	out[o++] = (uint8_t)hex[unit & 0xF];
	for (i = 0; i < pdu_len; i++) {
		out[o++] = (uint8_t)hex[pdu[i] >> 4];
		out[o++] = (uint8_t)hex[pdu[i] & 0xF];
	}
	out[o++] = (uint8_t)hex[lrc >> 4];
	out[o++] = (uint8_t)hex[lrc & 0xF];
	out[o++] = '\r';
	out[o++] = '\n';
	*written = o;
	return 0;
}

/* --- Validation ---------------------------------------------------- */

#define EX_VALUE   MODBUS_EX_ILLEGAL_DATA_VALUE
#define EX_ADDRESS MODBUS_EX_ILLEGAL_DATA_ADDRESS

/* The data model has 65536 items per table (application protocol 4.4). */
static int
range_ok(uint16_t addr, uint16_t qty)
{
	return (uint32_t)addr + qty <= 65536u;
}

/* FC1-4 (6.1-6.4): address, quantity 1..max, nothing after. */
static uint8_t
check_read(struct modbus_reader *r, unsigned max)
{
	uint16_t addr, qty;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1 || modbus_reader_left(r) != 0 ||
	    qty < 1 || qty > max)
		return EX_VALUE;
	return range_ok(addr, qty) ? 0 : EX_ADDRESS;
}

/* FC5 (6.5): output value 0x0000 (off) or 0xFF00 (on) only. */
static uint8_t
check_write_coil(struct modbus_reader *r)
{
	uint16_t addr, value;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &value) == -1 || modbus_reader_left(r) != 0 ||
	    (value != 0x0000 && value != 0xFF00))
		return EX_VALUE;
	return 0;
}

/*
 * FC15 and FC16 (6.11, 6.12): quantity 1..max, byte count equal to the
 * bytes the quantity needs and to what follows.
 */
static uint8_t
check_write_multiple(struct modbus_reader *r, unsigned max, int bits)
{
	uint16_t addr, qty;
	uint8_t count;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    modbus_get_u16be(r, &qty) == -1 || modbus_get_u8(r, &count) == -1 ||
	    qty < 1 || qty > max ||
	    count != (bits ? (qty + 7u) / 8u : 2u * qty) ||
	    modbus_reader_left(r) != count)
		return EX_VALUE;
	return range_ok(addr, qty) ? 0 : EX_ADDRESS;
}

/* FC23 (6.17): read 1..125, write 1..121 registers, byte count 2 * write. */
static uint8_t
check_read_write(struct modbus_reader *r)
{
	uint16_t raddr, rqty, waddr, wqty;
	uint8_t count;

	if (modbus_get_u16be(r, &raddr) == -1 ||
	    modbus_get_u16be(r, &rqty) == -1 ||
	    modbus_get_u16be(r, &waddr) == -1 ||
	    modbus_get_u16be(r, &wqty) == -1 ||
	    modbus_get_u8(r, &count) == -1 ||
	    rqty < 1 || rqty > MODBUS_LIMIT_READ_REGISTERS ||
	    wqty < 1 || wqty > MODBUS_LIMIT_RW_WRITE_REGISTERS ||
	    count != 2u * wqty || modbus_reader_left(r) != count)
		return EX_VALUE;
	return range_ok(raddr, rqty) && range_ok(waddr, wqty) ? 0 : EX_ADDRESS;
}

/* Exactly n more bytes. */
static uint8_t
check_fixed(struct modbus_reader *r, size_t n)
{
	return modbus_reader_left(r) == n ? 0 : EX_VALUE;
}

/* FC20, FC21 (6.14, 6.15): a byte count in lo..hi covering the rest. */
static uint8_t
check_file(struct modbus_reader *r, unsigned lo, unsigned hi)
{
	uint8_t count;

	if (modbus_get_u8(r, &count) == -1 || count < lo || count > hi ||
	    modbus_reader_left(r) != count)
		return EX_VALUE;
	return 0;
}

/* FC43 (6.19-6.21): a MEI type; Read Device ID has a fixed layout. */
static uint8_t
check_mei(struct modbus_reader *r)
{
	uint8_t mei, code, object;

	if (modbus_get_u8(r, &mei) == -1)
		return EX_VALUE;
	if (mei != MODBUS_MEI_READ_DEVICE_ID)
		return 0;
	if (modbus_get_u8(r, &code) == -1 || modbus_get_u8(r, &object) == -1 ||
	    modbus_reader_left(r) != 0 || code < 1 || code > 4)
		return EX_VALUE;
	return 0;
}

/* User-defined function codes (application protocol 5.1). */
static int
fc_user_defined(uint8_t fc)
{
	return (fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110);
}

/* The function codes modbus_request_check passes on at all. */
static int
fc_known(uint8_t fc)
{
	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
	case MODBUS_FUNC_DIAGNOSTICS:
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
	case MODBUS_FUNC_GET_COMM_EVENT_LOG:
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
	case MODBUS_FUNC_REPORT_SERVER_ID:
	case MODBUS_FUNC_READ_FILE_RECORD:
	case MODBUS_FUNC_WRITE_FILE_RECORD:
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
	case MODBUS_FUNC_READ_FIFO_QUEUE:
	case MODBUS_FUNC_ENCAPSULATED_INTERFACE:
		return 1;
	default:
		return fc_user_defined(fc);
	}
}

static uint8_t
request_exception(uint8_t fc, struct modbus_reader *r)
{
	uint16_t sub;

	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
		return check_read(r, MODBUS_LIMIT_READ_BITS);
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
		return check_read(r, MODBUS_LIMIT_READ_REGISTERS);
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
		return check_write_coil(r);
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
		return check_fixed(r, 4);
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
		return check_write_multiple(r, MODBUS_LIMIT_WRITE_BITS, 1);
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
		return check_write_multiple(r, MODBUS_LIMIT_WRITE_REGISTERS, 0);
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		return check_read_write(r);
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
	case MODBUS_FUNC_GET_COMM_EVENT_LOG:
	case MODBUS_FUNC_REPORT_SERVER_ID:
		return check_fixed(r, 0);
	case MODBUS_FUNC_DIAGNOSTICS:
		/* Sub-function 0 echoes any data; the others take 2 bytes. */
		if (modbus_get_u16be(r, &sub) == -1)
			return EX_VALUE;
		return sub == 0 ? 0 : check_fixed(r, 2);
	case MODBUS_FUNC_READ_FILE_RECORD:
		/* Sub-requests of 7 bytes each; count 0x07..0xF5. */
		if (check_file(r, 0x07, 0xF5) != 0 ||
		    modbus_reader_left(r) % 7 != 0)
			return EX_VALUE;
		return 0;
	case MODBUS_FUNC_WRITE_FILE_RECORD:
		return check_file(r, 0x09, 0xFB);
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		return check_fixed(r, 6);
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		return check_fixed(r, 2);
	case MODBUS_FUNC_ENCAPSULATED_INTERFACE:
		return check_mei(r);
	default:
		return fc_user_defined(fc) ? 0 : MODBUS_EX_ILLEGAL_FUNCTION;
	}
}

int
modbus_request_check(const uint8_t *pdu, size_t len, uint8_t *exception)
{
	struct modbus_reader r;
	uint8_t fc, ex;

	modbus_reader_init(&r, pdu, len);
	if (len > MODBUS_MAX_PDU)
		ex = EX_VALUE;
	else if (modbus_get_u8(&r, &fc) == -1)
		ex = 0;
	else if ((ex = request_exception(fc, &r)) == 0)
		return 0;
	if (exception != NULL)
		*exception = ex;
	return -1;
}

/* rsp (after its function code) is a byte count n followed by n bytes. */
static int
rsp_counted(struct modbus_reader *s, size_t want)
{
	uint8_t count;

	return modbus_get_u8(s, &count) == 0 && count == want &&
	    modbus_reader_left(s) == count ? 0 : -1;
}

static int
rsp_echo(const uint8_t *req, size_t req_len, const uint8_t *rsp,
    size_t rsp_len, size_t n)
{
	if (n == 0)
		n = req_len;
	return req_len >= n && rsp_len == n && memcmp(req, rsp, n) == 0 ?
	    0 : -1;
}

/* FC24 (6.18): byte count (16 bits) = 2 + 2 * FIFO count, count <= 31. */
static int
rsp_fifo(struct modbus_reader *s)
{
	uint16_t count, fifo;

	if (modbus_get_u16be(s, &count) == -1 ||
	    modbus_get_u16be(s, &fifo) == -1)
		return -1;
	return fifo <= 31 && count == 2u + 2u * fifo &&
	    modbus_reader_left(s) == 2u * fifo ? 0 : -1;
}

static int
rsp_diagnostics(struct modbus_reader *q, struct modbus_reader *s,
    const uint8_t *req, size_t req_len, const uint8_t *rsp, size_t rsp_len)
{
	uint16_t qsub, ssub;

	if (modbus_get_u16be(q, &qsub) == -1 ||
	    modbus_get_u16be(s, &ssub) == -1 || qsub != ssub)
		return -1;
	/* Return Query Data echoes the request; the others carry 2 bytes. */
	if (qsub == 0)
		return rsp_echo(req, req_len, rsp, rsp_len, 0);
	return modbus_reader_left(s) == 2 ? 0 : -1;
}

static int
rsp_mei(struct modbus_reader *q, struct modbus_reader *s)
{
	uint8_t qmei, smei;

	return modbus_get_u8(q, &qmei) == 0 && modbus_get_u8(s, &smei) == 0 &&
	    qmei == smei ? 0 : -1;
}

int
modbus_response_check(const uint8_t *req, size_t req_len, const uint8_t *rsp,
    size_t rsp_len)
{
	struct modbus_reader q, s;
	uint8_t fc, rfc, code, count;
	uint16_t addr, qty, wqty;

	modbus_reader_init(&q, req, req_len);
	modbus_reader_init(&s, rsp, rsp_len);
	if (rsp_len > MODBUS_MAX_PDU || modbus_get_u8(&q, &fc) == -1 ||
	    modbus_get_u8(&s, &rfc) == -1 || !fc_known(fc))
		return -1;
	if (rfc == (fc | MODBUS_FUNC_EXCEPTION_BIT))
		return modbus_get_u8(&s, &code) == 0 &&
		    modbus_reader_left(&s) == 0 &&
		    modbus_exception_valid(code) ? 0 : -1;
	if (rfc != fc)
		return -1;
	switch (fc) {
	case MODBUS_FUNC_READ_COILS:
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
		if (modbus_get_u16be(&q, &addr) == -1 ||
		    modbus_get_u16be(&q, &qty) == -1)
			return -1;
		return rsp_counted(&s, (qty + 7u) / 8u);
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
		if (modbus_get_u16be(&q, &addr) == -1 ||
		    modbus_get_u16be(&q, &qty) == -1)
			return -1;
		return rsp_counted(&s, 2u * qty);
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		if (modbus_get_u16be(&q, &addr) == -1 ||
		    modbus_get_u16be(&q, &qty) == -1 ||
		    modbus_get_u16be(&q, &addr) == -1 ||
		    modbus_get_u16be(&q, &wqty) == -1)
			return -1;
		return rsp_counted(&s, 2u * qty);
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
		return rsp_echo(req, req_len, rsp, rsp_len, 5);
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
		/* Address and quantity echoed, without the data. */
		return rsp_echo(req, req_len, rsp, rsp_len, 5);
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		return rsp_echo(req, req_len, rsp, rsp_len, 7);
	case MODBUS_FUNC_WRITE_FILE_RECORD:
		return rsp_echo(req, req_len, rsp, rsp_len, 0);
	case MODBUS_FUNC_READ_EXCEPTION_STATUS:
		return modbus_reader_left(&s) == 1 ? 0 : -1;
	case MODBUS_FUNC_GET_COMM_EVENT_COUNTER:
		return modbus_reader_left(&s) == 4 ? 0 : -1;
	case MODBUS_FUNC_GET_COMM_EVENT_LOG:
		/* Status, event count, message count, then 0..64 events. */
		if (modbus_get_u8(&s, &count) == -1 || count < 6 || count > 70)
			return -1;
		return modbus_reader_left(&s) == count ? 0 : -1;
	case MODBUS_FUNC_REPORT_SERVER_ID:
	case MODBUS_FUNC_READ_FILE_RECORD:
		if (modbus_get_u8(&s, &count) == -1 || count < 1)
			return -1;
		return modbus_reader_left(&s) == count ? 0 : -1;
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		return rsp_fifo(&s);
	case MODBUS_FUNC_DIAGNOSTICS:
		return rsp_diagnostics(&q, &s, req, req_len, rsp, rsp_len);
	case MODBUS_FUNC_ENCAPSULATED_INTERFACE:
		return rsp_mei(&q, &s);
	default:
		return 0;	/* user-defined: any layout */
	}
}
