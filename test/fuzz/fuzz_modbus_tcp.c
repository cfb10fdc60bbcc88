/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_tcp.c - a Modbus/TCP byte stream as the glue will see it:
 * split into ADUs by the peek, decoded, checked as requests, answered
 * with an exception where refused, and re-encoded.  What decodes must
 * re-encode to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[MODBUS_TCP_MAX_ADU], exc[MODBUS_EXCEPTION_PDU_LEN];
	struct modbus_adu adu;
	size_t adu_len, w;
	uint8_t ex;
	int rc;

	while ((rc = modbus_tcp_frame_peek(data, size, &adu_len)) ==
	    MODBUS_FRAME_COMPLETE) {
		if (adu_len < 8 || adu_len > MODBUS_TCP_MAX_ADU ||
		    adu_len > size)
			abort();
		if (modbus_tcp_decode(data, adu_len, &adu) != 0 ||
		    adu.pdu_len != adu_len - MODBUS_TCP_MBAP_LEN ||
		    adu.pdu != data + MODBUS_TCP_MBAP_LEN)
			abort();
		if (modbus_tcp_encode(adu.tid, adu.unit, adu.pdu, adu.pdu_len,
		    out, sizeof(out), &w) != 0 || w != adu_len ||
		    memcmp(out, data, w) != 0)
			abort();
		if (modbus_request_check(adu.pdu, adu.pdu_len, &ex) == 0) {
			(void)modbus_response_check(adu.pdu, adu.pdu_len,
			    adu.pdu, adu.pdu_len);
		} else if (ex != 0) {
			if (ex > MODBUS_EX_ILLEGAL_DATA_VALUE ||
			    modbus_exception_build(adu.pdu[0], ex, exc,
			    sizeof(exc)) != 0 ||
			    modbus_tcp_encode(adu.tid, adu.unit, exc,
			    sizeof(exc), out, sizeof(out), &w) != 0 || w != 9)
				abort();
		}
		data += adu_len;
		size -= adu_len;
	}
	/* A decode must agree with the peek about what is not a frame. */
	if (rc != MODBUS_FRAME_COMPLETE && modbus_tcp_decode(data, size,
	    &adu) == 0)
		abort();
	return 0;
}
