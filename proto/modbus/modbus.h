/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * modbus.h - Modbus codec: framing (TCP/MBAP, RTU, ASCII), checksums and
 * request/response validation.  Codec only: bytes in, structs out; no
 * I/O, no logging, no allocation.  Decoded structs point into the
 * caller's buffer (they own nothing and live as long as that buffer).
 *
 * References: "MODBUS Application Protocol Specification V1.1b3" (MBAP),
 * "MODBUS Messaging on TCP/IP Implementation Guide V1.0b" (MBAP) and
 * "MODBUS over Serial Line Specification V1.02" (RTU, ASCII).
 *
 * Built with -DSLUICE_FUZZING (fuzz targets only) the RTU CRC and ASCII
 * LRC checks always pass, so mutated input reaches the code behind them.
 *
 * Names avoid libmodbus's macros (MODBUS_FC_*, MODBUS_MAX_*) so a test can
 * include both; include libmodbus as <modbus/modbus.h>.
 */
#ifndef SLUICE_MODBUS_H
#define SLUICE_MODBUS_H

#include <stddef.h>
#include <stdint.h>

/* Sizes (application protocol 4.1, serial line 2.5.1, TCP 4.4). */
#define MODBUS_MAX_PDU          253u   /* function code + data */
#define MODBUS_TCP_MBAP_LEN     7u     /* tid, proto id, length, unit */
#define MODBUS_TCP_MAX_ADU      260u   /* MBAP + 253 */
#define MODBUS_RTU_MIN_ADU      4u     /* unit, function, CRC */
#define MODBUS_RTU_MAX_ADU      256u   /* unit + 253 + CRC */
#define MODBUS_ASCII_MIN_ADU    9u     /* ':' + 2 * (unit, fc, LRC) + CRLF */
#define MODBUS_ASCII_MAX_ADU    513u   /* ':' + 2 * (1 + 253 + 1) + CRLF */
#define MODBUS_EXCEPTION_PDU_LEN 2u
#define MODBUS_BROADCAST_UNIT   0u     /* serial line 2.1: no reply */

/* Public function codes (application protocol 5.1 and 6). */
enum modbus_fc {
	MODBUS_FUNC_READ_COILS = 0x01,
	MODBUS_FUNC_READ_DISCRETE_INPUTS = 0x02,
	MODBUS_FUNC_READ_HOLDING_REGISTERS = 0x03,
	MODBUS_FUNC_READ_INPUT_REGISTERS = 0x04,
	MODBUS_FUNC_WRITE_SINGLE_COIL = 0x05,
	MODBUS_FUNC_WRITE_SINGLE_REGISTER = 0x06,
	MODBUS_FUNC_READ_EXCEPTION_STATUS = 0x07,   /* serial line only */
	MODBUS_FUNC_DIAGNOSTICS = 0x08,             /* serial line only */
	MODBUS_FUNC_GET_COMM_EVENT_COUNTER = 0x0B,  /* serial line only */
	MODBUS_FUNC_GET_COMM_EVENT_LOG = 0x0C,      /* serial line only */
	MODBUS_FUNC_WRITE_MULTIPLE_COILS = 0x0F,
	MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS = 0x10,
	MODBUS_FUNC_REPORT_SERVER_ID = 0x11,        /* serial line only */
	MODBUS_FUNC_READ_FILE_RECORD = 0x14,
	MODBUS_FUNC_WRITE_FILE_RECORD = 0x15,
	MODBUS_FUNC_MASK_WRITE_REGISTER = 0x16,
	MODBUS_FUNC_READ_WRITE_REGISTERS = 0x17,
	MODBUS_FUNC_READ_FIFO_QUEUE = 0x18,
	MODBUS_FUNC_ENCAPSULATED_INTERFACE = 0x2B,  /* MEI */
};
#define MODBUS_FUNC_EXCEPTION_BIT 0x80u
#define MODBUS_MEI_READ_DEVICE_ID 0x0Eu

/* Exception codes (application protocol 7).  0x09 is not assigned. */
enum modbus_exception {
	MODBUS_EX_ILLEGAL_FUNCTION = 0x01,
	MODBUS_EX_ILLEGAL_DATA_ADDRESS = 0x02,
	MODBUS_EX_ILLEGAL_DATA_VALUE = 0x03,
	MODBUS_EX_SERVER_DEVICE_FAILURE = 0x04,
	MODBUS_EX_ACKNOWLEDGE = 0x05,
	MODBUS_EX_SERVER_DEVICE_BUSY = 0x06,
	MODBUS_EX_NEGATIVE_ACKNOWLEDGE = 0x07,    /* older spec editions */
	MODBUS_EX_MEMORY_PARITY_ERROR = 0x08,
	MODBUS_EX_GATEWAY_PATH_UNAVAILABLE = 0x0A,
	MODBUS_EX_GATEWAY_TARGET_FAILED = 0x0B,
};

/* Per-function limits (application protocol 6.x). */
#define MODBUS_LIMIT_READ_BITS            2000u  /* FC1, FC2 */
#define MODBUS_LIMIT_READ_REGISTERS       125u   /* FC3, FC4, FC23 read */
#define MODBUS_LIMIT_WRITE_BITS           1968u  /* FC15 */
#define MODBUS_LIMIT_WRITE_REGISTERS      123u   /* FC16 */
#define MODBUS_LIMIT_RW_WRITE_REGISTERS   121u   /* FC23 write */

/* Which way a frame travels; some layouts differ. */
enum modbus_dir {
	MODBUS_DIR_REQUEST = 0,   /* client (master) to server (slave) */
	MODBUS_DIR_RESPONSE,      /* server to client */
};

/* Result of the *_frame_peek and expected-length functions. */
enum modbus_frame {
	MODBUS_FRAME_INVALID = -1,    /* cannot become a valid frame: drop */
	MODBUS_FRAME_NEED_MORE = 0,   /* a prefix of a frame: wait */
	MODBUS_FRAME_COMPLETE = 1,    /* *adu_len / *total set */
	MODBUS_FRAME_UNKNOWN = 2,     /* RTU: length unknown, wait for t3.5 */
};

/* One decoded ADU; pdu points into the caller's buffer. */
struct modbus_adu {
	uint16_t tid;          /* TCP transaction id; 0 on serial lines */
	uint8_t unit;          /* unit identifier / slave address */
	const uint8_t *pdu;    /* function code + data */
	size_t pdu_len;        /* 1..MODBUS_MAX_PDU */
};

/*
 * Bounds-checked reader over untrusted bytes (like bgpd's ibuf getters):
 * every get fails with -1 on short input and then leaves the reader and
 * the out-parameter unchanged.
 */
struct modbus_reader {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

void modbus_reader_init(struct modbus_reader *r, const uint8_t *buf,
    size_t len);
size_t modbus_reader_left(const struct modbus_reader *r);
int modbus_get_u8(struct modbus_reader *r, uint8_t *v);
int modbus_get_u16be(struct modbus_reader *r, uint16_t *v);
/* *p points at the next n bytes, which are consumed. */
int modbus_get_bytes(struct modbus_reader *r, size_t n, const uint8_t **p);

/*
 * CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) of buf.  On the wire
 * the low byte goes first: the CRC of 01 03 00 00 00 0A is 0xCDC5, sent
 * as C5 CD (serial line 6.2.2).
 */
uint16_t modbus_crc16(const uint8_t *buf, size_t len);

/* LRC of buf: the two's complement of the 8-bit sum (serial line 6.2.1). */
uint8_t modbus_lrc(const uint8_t *buf, size_t len);

/* Whether code is an assigned exception code (0x01..0x08, 0x0A, 0x0B). */
int modbus_exception_valid(uint8_t code);

/*
 * Write the exception PDU for function fc (fc | 0x80, code) to out.
 * Returns 0, or -1 when outlen < MODBUS_EXCEPTION_PDU_LEN.
 */
int modbus_exception_build(uint8_t fc, uint8_t code, uint8_t *out,
    size_t outlen);

/* --- Modbus TCP (MBAP) --------------------------------------------- */

/*
 * Look at the start of a TCP stream: MODBUS_FRAME_COMPLETE with *adu_len
 * (8..260) when a whole ADU is there, NEED_MORE for a valid prefix,
 * INVALID when the protocol id is not 0 or the length field is outside
 * 2..254 (the stream cannot be resynchronised: close it).
 */
int modbus_tcp_frame_peek(const uint8_t *buf, size_t len, size_t *adu_len);

/*
 * Decode exactly one ADU of len bytes (as returned by the peek): 0, or -1
 * when it is not one well-formed ADU.  adu->pdu points into buf.
 */
int modbus_tcp_decode(const uint8_t *buf, size_t len, struct modbus_adu *adu);

/*
 * Encode an ADU (a response passes the request's tid and unit) into out.
 * Returns 0 with *written set, or -1 when pdu_len is not 1..253 or out
 * is too small (MODBUS_TCP_MAX_ADU always suffices).
 */
int modbus_tcp_encode(uint16_t tid, uint8_t unit, const uint8_t *pdu,
    size_t pdu_len, uint8_t *out, size_t outlen, size_t *written);

/* --- Modbus RTU ---------------------------------------------------- */

/*
 * Check the trailing CRC of a frame (unit, PDU, CRC low, CRC high):
 * 0 when len >= 4 and it matches, else -1.
 */
int modbus_rtu_frame_crc(const uint8_t *frame, size_t len);

/* Encode unit || PDU || CRC into out; as modbus_tcp_encode. */
int modbus_rtu_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len,
    uint8_t *out, size_t outlen, size_t *written);

/*
 * Decode one complete frame of len bytes (4..256) with a correct CRC:
 * 0, or -1.  adu->tid is 0; adu->pdu points into frame.
 */
int modbus_rtu_decode(const uint8_t *frame, size_t len,
    struct modbus_adu *adu);

/*
 * The total RTU length of the frame starting at buf, from its function
 * code and (where needed) a byte count, so the glue can pass a frame on
 * as soon as it is complete and its CRC checks instead of waiting out
 * the 3.5-character silence.  Returns COMPLETE with *total (4..256) set
 * once enough header bytes are present (len may be less than *total),
 * NEED_MORE when more header bytes are needed, UNKNOWN when the function
 * code does not fix the length (user-defined codes, MEI responses,
 * diagnostics "return query data", ...) and INVALID when no valid frame
 * starts so (function code 0, an exception bit in a request, a byte
 * count that would pass 256 bytes).
 */
int modbus_rtu_expected_len(enum modbus_dir dir, const uint8_t *buf,
    size_t len, size_t *total);

/*
 * The 3.5-character frame silence (t3.5) and 1.5-character inter-character
 * timeout (t1.5) in microseconds, rounded up, for a character of 1 start
 * bit, data_bits (7 or 8), a parity bit unless parity is 'N' ('E', 'O')
 * and stop_bits (1 or 2).  Above 19200 baud the fixed 1750 us and 750 us
 * apply (serial line 2.5.1.1).  Returns 0 for invalid parameters.
 */
uint32_t modbus_rtu_silence_us(uint32_t baud, unsigned data_bits,
    char parity, unsigned stop_bits);
uint32_t modbus_rtu_interchar_us(uint32_t baud, unsigned data_bits,
    char parity, unsigned stop_bits);

/* --- Modbus ASCII -------------------------------------------------- */

/*
 * Look for one ASCII frame at the start of buf: COMPLETE with *frame_len
 * (up to and including CR LF), NEED_MORE, or INVALID when buf does not
 * start with ':' or no CR LF ends it within MODBUS_ASCII_MAX_ADU bytes.
 */
int modbus_ascii_frame_peek(const uint8_t *buf, size_t len,
    size_t *frame_len);

/*
 * Decode one complete frame ':' hex(unit, PDU, LRC) CR LF of len bytes.
 * Hex digits are 0-9, A-F or a-f, two per byte, nothing else between ':'
 * and CR LF.  The binary unit || PDU || LRC goes to bin (binlen >=
 * (len - 3) / 2; 255 always suffices) and adu->pdu points into bin.
 * Returns 0, or -1 on a malformed frame or a wrong LRC (bin may have
 * been written; adu is untouched).
 */
int modbus_ascii_decode(const uint8_t *frame, size_t len, uint8_t *bin,
    size_t binlen, struct modbus_adu *adu);

/* Encode ':' hex(unit, PDU, LRC) CR LF (upper-case hex); as tcp_encode. */
int modbus_ascii_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len,
    uint8_t *out, size_t outlen, size_t *written);

/* --- Validation ---------------------------------------------------- */

/*
 * Check a request PDU against its function's layout and limits
 * (application protocol 6, the per-function state diagrams): quantity
 * 1..max, address + quantity <= 65536, byte count consistent with the
 * quantity and with the PDU length, coil value 0x0000 or 0xFF00.
 * The other public codes get a length check only: 7, 11, 12, 17 no
 * data; 8 a sub-function and, unless it is 0 (return query data), 2
 * bytes; 20, 21 a byte count in the spec's range covering the rest; 22
 * 6 bytes; 24 2 bytes; 43 a MEI type (Read Device ID: code 1..4 and an
 * object id).  User-defined codes 65-72 and 100-110 pass as they are.
 * Returns 0 when the request may be passed on, else -1 with *exception
 * set to the code to answer: ILLEGAL_DATA_VALUE for a bad quantity, byte
 * count, value or length, ILLEGAL_DATA_ADDRESS for a range past 65535,
 * ILLEGAL_FUNCTION for any other function code, and 0 for an empty PDU
 * (no function code to answer: drop it).
 */
int modbus_request_check(const uint8_t *pdu, size_t len, uint8_t *exception);

/*
 * Check that rsp answers req (a request modbus_request_check accepted):
 * the same function code with the layout and length the request implies
 * (FC3: byte count 2 * quantity, FC5/6/15/16: the echo, ...), or its
 * exception with an assigned code.  Returns 0 or -1; always -1 for a
 * function code modbus_request_check refuses as illegal, so an answer to
 * a request the gateway would not pass on is never accepted.
 */
int modbus_response_check(const uint8_t *req, size_t req_len,
    const uint8_t *rsp, size_t rsp_len);

#endif /* SLUICE_MODBUS_H */
