/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_console_http - the console's parsers of header text a client
 * controls: the redirecting port's request head (and the Location built
 * from it) and the session cookie's lookup in a Cookie header.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct console c;
	char path[512], host[256], loc[800], cookie[128], *hdr;

	snprintf(c.device_name, sizeof(c.device_name), "sluice");
	c.https_port = size > 0 && (data[0] & 1) ? 443 : 8443;
	if (console_parse_head((const char *)data, size, path, sizeof(path),
	    host, sizeof(host)) == 0) {
		console_redirect_location(&c, host[0] != '\0' ? host : NULL,
		    path, loc, sizeof(loc));
		/* What goes into a header must not end it. */
		if (strpbrk(loc, "\r\n") != NULL || strncmp(loc, "https://",
		    8) != 0)
			abort();
	}
	if ((hdr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	if (console_cookie_find(hdr, "__Host-sluice_session", cookie,
	    sizeof(cookie)) != NULL && strlen(cookie) >= sizeof(cookie))
		abort();
	free(hdr);
	return 0;
}
