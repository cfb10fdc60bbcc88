/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_policy.c - libFuzzer target: arbitrary bytes as a policy file.
 *
 * Everything the loader does with a buffer is reached: UTF-8 check,
 * libyaml events, tree checks, the schema, warnings.  `base: hardened`
 * and `base: factory` load the embedded profiles; any other base resolves
 * under a directory that does not exist, so no real file is read.  A
 * policy that loads is printed, reloaded and compared, so the normalised
 * form is fuzzed too: it must load back to an equal policy.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count_leaf(const char *path, const char *value, void *arg)
{
	(*(size_t *)arg) += strlen(path) + strlen(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p, *q;
	size_t n = 0;
	char *y;

	p = policy_load_buffer("fuzz.yaml", (const char *)data, size,
	    "/nonexistent-sluice-fuzz", &err);
	if (p == NULL) {
		/* One message, always terminated, never empty. */
		if (err.msg[0] == '\0' || strlen(err.msg) >= sizeof(err.msg))
			abort();
		return 0;
	}
	policy_flatten(p, count_leaf, &n);
	if ((y = policy_to_yaml(p)) == NULL)
		abort();
	q = policy_load_buffer("normalised", y, strlen(y), NULL, &err);
	if (q == NULL || !policy_equal(p, q) || policy_diff(p, q, NULL,
	    NULL) != 0)
		abort();
	free(y);
	policy_free(q);
	policy_free(p);
	return 0;
}
