/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_fw_config - the bytes the privileged monitor receives from the
 * engine: fw_config_check() must refuse anything malformed without
 * reading out of bounds, and whatever it accepts must build and render.
 * Seeds: test/fuzz/corpus/fw_config/ (configs of the golden policies,
 * written by `fw-apply -o`).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_ir *ir;
	char err[256], *text = NULL;
	size_t tlen;
	uint8_t *copy;
	FILE *f;

	/* An exact-size copy, so ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (fw_config_check(copy, size, err, sizeof(err)) == 0) {
		if ((ir = fw_build(copy, size)) == NULL)
			abort();	/* checked configs always build */
		if ((f = open_memstream(&text, &tlen)) != NULL) {
			fw_render_nft(ir, f);
			fclose(f);
			free(text);
		}
		fw_ir_free(ir);
	} else if (fw_build(copy, size) != NULL)
		abort();		/* unchecked ones never do */
	free(copy);
	return 0;
}
