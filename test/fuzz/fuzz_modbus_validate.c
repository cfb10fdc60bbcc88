/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_validate.c - request and response validation, and their
 * agreement with the RTU length prediction: a request (or response) the
 * checks accept, framed as RTU, has exactly the predicted length (or one
 * the function code cannot fix).  Input: request length, request,
 * response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
length_agrees(enum modbus_dir dir, const uint8_t *pdu, size_t len)
{
	uint8_t f[MODBUS_RTU_MAX_ADU];
	size_t w, total;
	int rc;

	if (modbus_rtu_encode(0x11, pdu, len, f, sizeof(f), &w) != 0)
		abort();
	rc = modbus_rtu_expected_len(dir, f, w, &total);
	if (rc == MODBUS_FRAME_UNKNOWN)
		return;
	if (rc != MODBUS_FRAME_COMPLETE || total != w)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *req, *rsp;
	size_t qn, sn;
	uint8_t ex = 0xEE;

	if (size < 1)
		return 0;
	qn = data[0];
	if (qn > size - 1)
		qn = size - 1;
	req = data + 1;
	rsp = req + qn;
	sn = size - 1 - qn;

	if (modbus_request_check(req, qn, &ex) != 0) {
		if (ex > MODBUS_EX_ILLEGAL_DATA_VALUE || (ex == 0) != (qn == 0))
			abort();
		/* No function code refused as such has valid answers. */
		if (ex == MODBUS_EX_ILLEGAL_FUNCTION &&
		    modbus_response_check(req, qn, rsp, sn) == 0)
			abort();
		return 0;
	}
	if (ex != 0xEE || qn < 1 || qn > MODBUS_MAX_PDU)
		abort();
	length_agrees(MODBUS_DIR_REQUEST, req, qn);
	if (modbus_response_check(req, qn, rsp, sn) == 0) {
		if (sn < 1 || sn > MODBUS_MAX_PDU)
			abort();
		if (rsp[0] != req[0] && rsp[0] != (req[0] | 0x80))
			abort();
		length_agrees(MODBUS_DIR_RESPONSE, rsp, sn);
	}
	return 0;
}
