/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_ctl.c - the control socket's decoding path: bytes as they arrive
 * on a connection, split into frames and parsed as requests.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	char err[256];
	size_t plen;

	/* Small limit so the fuzzer reaches the over-size path too. */
	while (ctl_frame_peek(data, size, 4096, &plen) == 1) {
		if (ctl_request_parse((const char *)data + 4, plen, &req, err,
		    sizeof(err)) == 0) {
			uint8_t *f;
			size_t len;
			json_t *echo = json_pack("{s:s,s:O}", "cmd",
			    ctl_cmd_name(req.cmd), "args", req.args);

			/* What parses must re-encode and parse the same. */
			f = ctl_frame_encode(echo, &len);
			if (f != NULL) {
				struct ctl_request again;

				if (ctl_request_parse((char *)f + 4, len - 4, &again,
				    err, sizeof(err)) != 0 || again.cmd != req.cmd)
					abort();
				ctl_request_clear(&again);
				free(f);
			}
			json_decref(echo);
			ctl_request_clear(&req);
		}
		data += 4 + plen;
		size -= 4 + plen;
	}
	return 0;
}
