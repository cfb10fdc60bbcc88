/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_certs.c - an uploaded certificate, key and chain (the console's
 * certificate import): the input is split at two 0x00 bytes into the
 * three PEM texts, imported and, separately, inspected.  What imports
 * must describe itself as JSON.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { "", "", "" };
	size_t len[3] = { 0, 0, 0 }, i, k = 0, start = 0;
	char err[CERTS_ERR_MAX];
	struct certs_input in;
	struct certs_info *info;
	char *copy;

	/* A private copy: the parts must not be read past their ends. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i <= size && k < 3; i++)
		if (i == size || copy[i] == '\0') {
			part[k] = copy + start;
			len[k] = i - start;
			k++;
			start = i + 1;
		}
	memset(&in, 0, sizeof(in));
	in.cert_pem = part[0];
	in.cert_len = len[0];
	in.key_pem = part[1];
	in.key_len = len[1];
	in.chain_pem = part[2];
	in.chain_len = len[2];
	in.now = 1795000000;    /* 2026-11 */
	if ((info = certs_import(&in, err, sizeof(err))) != NULL) {
		json_decref(certs_info_json(info, in.now));
		certs_info_free(info);
	} else if (err[0] == '\0')
		abort();        /* every refusal says why */
	if ((info = certs_inspect(part[0], len[0], err, sizeof(err))) != NULL)
		certs_info_free(info);
	free(copy);
	return 0;
}
