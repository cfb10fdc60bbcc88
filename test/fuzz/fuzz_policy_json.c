/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_policy_json.c - libFuzzer target: YAML, a NUL, a JSON merge patch.
 *
 * The bytes before the first NUL are a YAML document; what follows is a
 * merge patch when it parses as a JSON object (else the patch is {}).
 * Both functions run, and each must keep its promises:
 *  - a refusal carries one non-empty message, and the merge refuses a bad
 *    base with the very message the conversion gave;
 *  - a merge result always converts again (its limits are the reader's);
 *  - and converts to exactly what RFC 7396 says the patch makes of the
 *    base's JSON: so styles kept from the base never change a type, and
 *    the writer's text for every patch value reads back as that value.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * jansson 2.14 handles object keys as C strings in json_equal() and
 * json_copy(), so a key holding a NUL (a YAML "\0" escape) is cut short
 * there: these two take the key's length.
 */
static json_t *
copy_object(const json_t *o)
{
	const char *k;
	size_t klen;
	json_t *t = json_object(), *v;

	if (t == NULL)
		abort();
	json_object_keylen_foreach((json_t *)o, k, klen, v)
		if (json_object_setn(t, k, klen, v) == -1)
			abort();
	return t;
}

static int
same(const json_t *a, const json_t *b)
{
	const char *k;
	size_t klen, i;
	json_t *v;

	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach((json_t *)a, k, klen, v) {
			const json_t *w = json_object_getn(b, k, klen);

			if (w == NULL || !same(v, w))
				return 0;
		}
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

/* RFC 7396 section 2, on JSON values: a new reference. */
static json_t *
reference_merge(const json_t *target, json_t *patch)
{
	const char *k;
	size_t klen;
	json_t *t, *v;

	if (!json_is_object(patch))
		return json_incref(patch);
	t = json_is_object(target) ? copy_object(target) : json_object();
	if (t == NULL)
		abort();
	json_object_keylen_foreach(patch, k, klen, v) {
		if (json_is_null(v))
			json_object_deln(t, k, klen);
		else if (json_object_setn_new(t, k, klen, reference_merge(
		    json_object_getn(t, k, klen), v)) == -1)
			abort();
	}
	return t;
}

static void
check_err(const char *err, size_t size)
{
	if (err[0] == '\0' || strnlen(err, size) == size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t ylen = nul != NULL ? (size_t)(nul - data) : size, outlen;
	char err[512], err2[512];
	json_t *patch = NULL, *base, *got, *want;
	json_error_t je;
	char *out;

	if (nul != NULL)
		patch = json_loadb((const char *)nul + 1, size - ylen - 1,
		    JSON_ALLOW_NUL, &je);
	if (!json_is_object(patch)) {
		json_decref(patch);
		patch = json_object();
	}

	base = policy_yaml_to_json((const char *)data, ylen, err,
	    sizeof(err));
	if (base == NULL)
		check_err(err, sizeof(err));
	out = policy_merge_patch((const char *)data, ylen, patch, &outlen,
	    err2, sizeof(err2));
	if (out == NULL) {
		check_err(err2, sizeof(err2));
		/* Same reader, same message; else only the result's caps. */
		if (base == NULL ? strcmp(err, err2) != 0 : errno != EFBIG &&
		    strncmp(err2, "the result ", 11) != 0)
			abort();
		goto done;
	}
	if (base == NULL || strlen(out) != outlen)
		abort();
	got = policy_yaml_to_json(out, outlen, err, sizeof(err));
	if (got == NULL)
		abort();
	want = reference_merge(base, patch);
	if (!same(got, want))
		abort();
	json_decref(want);
	json_decref(got);
	free(out);
done:
	json_decref(base);
	json_decref(patch);
	return 0;
}
