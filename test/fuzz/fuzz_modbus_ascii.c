/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_ascii.c - an ASCII-mode serial stream split by the peek,
 * decoded and re-encoded.  Built with SLUICE_FUZZING so the LRC check
 * does not stop mutations; the re-encoding must match the input except
 * for the case of hex digits and the LRC.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bin[MODBUS_ASCII_MAX_ADU / 2], bin2[MODBUS_ASCII_MAX_ADU / 2];
	uint8_t out[MODBUS_ASCII_MAX_ADU], ex;
	struct modbus_adu adu, again;
	size_t flen, w, i;

	while (modbus_ascii_frame_peek(data, size, &flen) ==
	    MODBUS_FRAME_COMPLETE) {
		if (flen < 3 || flen > MODBUS_ASCII_MAX_ADU || flen > size)
			abort();
		if (modbus_ascii_decode(data, flen, bin, sizeof(bin),
		    &adu) == 0) {
			if (modbus_ascii_encode(adu.unit, adu.pdu, adu.pdu_len,
			    out, sizeof(out), &w) != 0 || w != flen)
				abort();
			for (i = 0; i < w; i++)
				if ((i < w - 4 || i >= w - 2) &&
				    toupper(data[i]) != out[i])
					abort();
			if (modbus_ascii_decode(out, w, bin2, sizeof(bin2),
			    &again) != 0 || again.pdu_len != adu.pdu_len ||
			    memcmp(again.pdu, adu.pdu, adu.pdu_len) != 0)
				abort();
			(void)modbus_request_check(adu.pdu, adu.pdu_len, &ex);
		} else if (flen >= MODBUS_ASCII_MIN_ADU &&
		    (flen - 3) % 2 == 0) {
			abort();	/* peeked hex, even length: decodes */
		}
		data += flen;
		size -= flen;
	}
	return 0;
}
