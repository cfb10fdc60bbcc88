/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_ctl_proto.c - control socket framing and request checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_proto.h"

static void
test_frames(void **state)
{
	const uint8_t ok[] = { 0, 0, 0, 2, '{', '}' };
	const uint8_t zero[] = { 0, 0, 0, 0 };
	const uint8_t big[] = { 0x7f, 0, 0, 0 };
	size_t n = 99;

	(void)state;
	assert_int_equal(ctl_frame_peek(ok, 0, 100, &n), 0);
	assert_int_equal(ctl_frame_peek(ok, 3, 100, &n), 0);
	assert_int_equal(ctl_frame_peek(ok, 5, 100, &n), 0);
	assert_int_equal(n, 99);          /* untouched until complete */
	assert_int_equal(ctl_frame_peek(ok, 6, 100, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(ctl_frame_peek(zero, 4, 100, &n), -1);
	assert_int_equal(ctl_frame_peek(big, 4, CTL_MAX_REQUEST, &n), -1);
	assert_int_equal(ctl_frame_peek(ok, 6, 1, &n), -1);
}

static void
test_encode_roundtrip(void **state)
{
	json_t *o = json_pack("{s:s}", "cmd", "status"), *back;
	size_t len, plen;
	uint8_t *f;

	(void)state;
	f = ctl_frame_encode(o, &len);
	assert_non_null(f);
	assert_int_equal(ctl_frame_peek(f, len, CTL_MAX_REQUEST, &plen), 1);
	assert_int_equal(plen + 4, len);
	back = json_loadb((char *)f + 4, plen, 0, NULL);
	assert_true(json_equal(o, back));
	json_decref(back);
	json_decref(o);
	free(f);
}

static const struct {
	const char *payload;
	int cmd;                  /* -1 = rejected */
	const char *error;        /* substring of the message */
} cases[] = {
	{ "{\"cmd\":\"status\"}", CTL_STATUS, NULL },
	{ "{\"cmd\":\"status\",\"args\":{}}", CTL_STATUS, NULL },
	{ "{\"cmd\":\"log\",\"args\":{\"group\":\"system\",\"since\":5,\"limit\":3}}", CTL_LOG, NULL },
	{ "{\"cmd\":\"policy.apply\",\"args\":{\"content\":\"a\",\"name\":\"f\"}}", CTL_POLICY_APPLY, NULL },
	{ "{\"cmd\":\"policy.rollback\",\"args\":{\"version\":2}}", CTL_POLICY_ROLLBACK, NULL },
	{ "", -1, "not valid JSON" },
	{ "{", -1, "not valid JSON" },
	{ "[]", -1, "not a JSON object" },
	{ "\"status\"", -1, "not valid JSON" },
	{ "{\"cmd\":1}", -1, "\"cmd\" must be a string" },
	{ "{}", -1, "\"cmd\" must be a string" },
	{ "{\"cmd\":\"status\",\"cmd\":\"log\"}", -1, "duplicate" },
	{ "{\"cmd\":\"nope\"}", -1, "unknown command \"nope\"" },
	{ "{\"cmd\":\"status\",\"x\":1}", -1, "unknown member \"x\"" },
	{ "{\"cmd\":\"status\",\"args\":[]}", -1, "\"args\" must be an object" },
	{ "{\"cmd\":\"status\",\"args\":{\"group\":\"x\"}}", -1, "unknown argument \"group\"" },
	{ "{\"cmd\":\"log\",\"args\":{\"limit\":\"3\"}}", -1, "\"limit\" must be an integer" },
	{ "{\"cmd\":\"log\",\"args\":{\"group\":3}}", -1, "\"group\" must be a string" },
	{ "{\"cmd\":\"policy.apply\",\"args\":{\"content\":true}}", -1, "\"content\" must be a string" },
};

static void
test_requests(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_request req = { 0, NULL };
		char err[256] = "";
		int rc = ctl_request_parse(cases[i].payload,
		    strlen(cases[i].payload), &req, err, sizeof(err));

		if (cases[i].cmd >= 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(req.cmd, cases[i].cmd);
			assert_true(json_is_object(req.args));
			ctl_request_clear(&req);
		} else {
			assert_int_equal(rc, -1);
			if (strstr(err, cases[i].error) == NULL)
				fail_msg("case %zu: \"%s\" not in \"%s\"", i,
				    cases[i].error, err);
			assert_null(req.args);
		}
	}
}

static void
test_replies(void **state)
{
	json_t *r;

	(void)state;
	r = ctl_reply_error(CTL_EXIT_INVALID_POLICY, "bad %s", "thing");
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "error")), "bad thing");
	assert_int_equal(json_integer_value(json_object_get(r, "code")), 2);
	json_decref(r);
	r = ctl_reply_ok(json_integer(3));
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "result")), 3);
	json_decref(r);
	assert_string_equal(ctl_cmd_name(CTL_POLICY_APPLY), "policy.apply");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
