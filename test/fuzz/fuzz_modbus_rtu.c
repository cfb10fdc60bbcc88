/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_rtu.c - bytes from a serial line split into RTU frames by
 * the predicted length (falling back to "the rest" where the length is
 * unknown, as the silence timer would), decoded and re-encoded.  Built
 * with SLUICE_FUZZING so the CRC check does not stop mutations.  The
 * first input byte picks the direction and the line parameters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_frame(enum modbus_dir dir, const uint8_t *f, size_t n)
{
	uint8_t out[MODBUS_RTU_MAX_ADU], ex;
	struct modbus_adu adu, again;
	size_t w;

	if (modbus_rtu_decode(f, n, &adu) != 0) {
		if (n >= MODBUS_RTU_MIN_ADU && n <= MODBUS_RTU_MAX_ADU)
			abort();	/* CRC is not checked in this build */
		return;
	}
	if (adu.pdu_len != n - 3 || adu.unit != f[0])
		abort();
	if (modbus_rtu_encode(adu.unit, adu.pdu, adu.pdu_len, out,
	    sizeof(out), &w) != 0 || w != n || memcmp(out, f, n - 2) != 0 ||
	    modbus_rtu_decode(out, w, &again) != 0 ||
	    again.pdu_len != adu.pdu_len)
		abort();
	if (dir == MODBUS_DIR_REQUEST)
		(void)modbus_request_check(adu.pdu, adu.pdu_len, &ex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char parity[4] = { 'N', 'E', 'O', 'X' };
	enum modbus_dir dir;
	size_t total;
	uint32_t t35, t15;
	int rc, i;

	if (size < 1)
		return 0;
	dir = data[0] & 1 ? MODBUS_DIR_RESPONSE : MODBUS_DIR_REQUEST;
	t35 = modbus_rtu_silence_us((uint32_t)data[0] * 1200u,
	    7 + (data[0] >> 7), parity[(data[0] >> 1) & 3],
	    1 + ((data[0] >> 3) & 1));
	t15 = modbus_rtu_interchar_us((uint32_t)data[0] * 1200u,
	    7 + (data[0] >> 7), parity[(data[0] >> 1) & 3],
	    1 + ((data[0] >> 3) & 1));
	if (t15 > t35 || (t35 == 0) != (t15 == 0))
		abort();
	data++;
	size--;
	for (i = 0; i < 64 && size > 0; i++) {
		total = 0;
		rc = modbus_rtu_expected_len(dir, data, size, &total);
		if (rc == MODBUS_FRAME_COMPLETE) {
			if (total < MODBUS_RTU_MIN_ADU ||
			    total > MODBUS_RTU_MAX_ADU)
				abort();
			if (total > size)
				break;
			one_frame(dir, data, total);
			data += total;
			size -= total;
		} else if (rc == MODBUS_FRAME_UNKNOWN) {
			one_frame(dir, data, size);
			break;
		} else {
			if (rc == MODBUS_FRAME_NEED_MORE && size > 10)
				abort();	/* headers: at most 11 bytes */
			break;
		}
	}
	return 0;
}
