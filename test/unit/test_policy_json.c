/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_policy_json.c - the policy as JSON and JSON merge patches
 * (src/policy_json.c): scalar typing, nesting, every refusal with its
 * message, RFC 7396 appendix A, style and order kept through a merge,
 * the writer's output form, caps, and the shipped profiles through the
 * real policy loader (a merge that disables http changes exactly that
 * key; an empty merge changes nothing).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "policy.h"
#include "policy_json.h"
#include "registry.h"

#define SHIPPED_DEFAULT	TEST_SRCDIR "/../etc/sluice.yaml"
#define SHIPPED_HARD	TEST_SRCDIR "/../policy/hardened.yaml"
#define SHIPPED_FACTORY	TEST_SRCDIR "/../policy/factory.yaml"
#define SHIPPED_DIR	TEST_SRCDIR "/../policy"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*lenp = (size_t)len;
	return buf;
}

static json_t *
parse_json(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	if (j == NULL)
		fail_msg("test JSON %s: %s", text, je.text);
	return j;
}

/* yaml converts, and equals want (JSON text) with the same types. */
static void
expect_json(const char *yaml, size_t len, const char *want)
{
	char err[256] = "unset";
	json_t *got, *w = parse_json(want);
	char *s;

	got = policy_yaml_to_json(yaml, len, err, sizeof(err));
	if (got == NULL)
		fail_msg("%s: refused: %s", yaml, err);
	assert_string_equal(err, "");
	if (!json_equal(got, w)) {
		s = json_dumps(got, JSON_ENCODE_ANY);
		fail_msg("%s: got %s, want %s", yaml, s, want);
	}
	json_decref(got);
	json_decref(w);
}

/* ------------------------------------------------------------------ */
/* Typing and nesting                                                  */
/* ------------------------------------------------------------------ */

struct good_case {
	const char *yaml;
	const char *json;
};

static const struct good_case good_cases[] = {
	/* null, every spelling */
	{ "a: null\nb: Null\nc: NULL\nd: ~\ne:\nf: \"\"\n",
	  "{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,"
	  "\"f\":\"\"}" },
	/* booleans: the core schema's six, not YAML 1.1's yes/on */
	{ "a: true\nb: True\nc: TRUE\nd: false\ne: False\nf: FALSE\n",
	  "{\"a\":true,\"b\":true,\"c\":true,\"d\":false,\"e\":false,"
	  "\"f\":false}" },
	{ "a: yes\nb: on\nc: tRUE\nd: n\ne: nULL\n",
	  "{\"a\":\"yes\",\"b\":\"on\",\"c\":\"tRUE\",\"d\":\"n\","
	  "\"e\":\"nULL\"}" },
	/* integers: decimal with sign, 0x, 0o; leading zeros are decimal */
	{ "a: 0\nb: -17\nc: +42\nd: 0x1F\ne: 0o17\nf: 007\ng: -0\n"
	  "h: 0xffffffff\n",
	  "{\"a\":0,\"b\":-17,\"c\":42,\"d\":31,\"e\":15,\"f\":7,\"g\":0,"
	  "\"h\":4294967295}" },
	{ "- 9223372036854775807\n- -9223372036854775808\n"
	  "- 0x7fffffffffffffff\n",
	  "[9223372036854775807,-9223372036854775808,9223372036854775807]" },
	/* too big for json_int_t: a real */
	{ "- 9223372036854775808\n- -9223372036854775809\n"
	  "- 0x10000000000000000\n- 0o2000000000000000000000\n",
	  "[9223372036854775808.0,-9223372036854775809.0,"
	  "18446744073709551616.0,18446744073709551616.0]" },
	/* floats */
	{ "a: 1.5\nb: -0.5\nc: .5\nd: 1.\ne: 1e3\nf: +2.5E-1\ng: 0.1\n"
	  "h: 1e-400\n",
	  "{\"a\":1.5,\"b\":-0.5,\"c\":0.5,\"d\":1.0,\"e\":1000.0,"
	  "\"f\":0.25,\"g\":0.1,\"h\":0.0}" },
	/* no JSON form: the text */
	{ "a: .inf\nb: -.Inf\nc: .NaN\nd: 1e999\ne: +.INF\n",
	  "{\"a\":\".inf\",\"b\":\"-.Inf\",\"c\":\".NaN\",\"d\":\"1e999\","
	  "\"e\":\"+.INF\"}" },
	/* look like numbers, are not */
	{ "a: 0x\nb: 0o8\nc: -0x1\nd: 1_000\ne: 1.2.3\nf: .\ng: 0b101\n"
	  "h: 1e\ni: +\nj: 12:30\nk: 0X1F\nl: inf\nm: nan\n",
	  "{\"a\":\"0x\",\"b\":\"0o8\",\"c\":\"-0x1\",\"d\":\"1_000\","
	  "\"e\":\"1.2.3\",\"f\":\".\",\"g\":\"0b101\",\"h\":\"1e\","
	  "\"i\":\"+\",\"j\":\"12:30\",\"k\":\"0X1F\",\"l\":\"inf\","
	  "\"m\":\"nan\"}" },
	/* any quoted style is a string */
	{ "a: \"true\"\nb: '1234'\nc: ''\nd: |\n  x\ne: >\n  y\n  z\n"
	  "f: \"null\"\ng: '~'\nh: \"0x10\"\n",
	  "{\"a\":\"true\",\"b\":\"1234\",\"c\":\"\",\"d\":\"x\\n\","
	  "\"e\":\"y z\\n\",\"f\":\"null\",\"g\":\"~\",\"h\":\"0x10\"}" },
	/* the standard tags decide */
	{ "a: !!str 123\nb: !!int \"42\"\nc: !!float 1\nd: !!bool \"true\"\n"
	  "e: !!null ''\nf: !!map {x: 1}\ng: !!seq [1]\nh: !!float 0x10\n"
	  "i: !!str\nj: !<tag:yaml.org,2002:int> 7\n",
	  "{\"a\":\"123\",\"b\":42,\"c\":1.0,\"d\":true,\"e\":null,"
	  "\"f\":{\"x\":1},\"g\":[1],\"h\":16.0,\"i\":\"\",\"j\":7}" },
	/* nesting, block and flow */
	{ "a: {b: [1, {c: d}], e: []}\nf:\n  - - x\n  - {}\n  -\n",
	  "{\"a\":{\"b\":[1,{\"c\":\"d\"}],\"e\":[]},"
	  "\"f\":[[\"x\"],{},null]}" },
	/* keys are their text */
	{ "1: a\ntrue: b\n~: c\n\"q\": d\n0x10: e\n'': f\n",
	  "{\"1\":\"a\",\"true\":\"b\",\"~\":\"c\",\"q\":\"d\","
	  "\"0x10\":\"e\",\"\":\"f\"}" },
	/* the document and the stream */
	{ "", "null" },
	{ "# only a comment\n", "null" },
	{ "---\n", "null" },
	{ "--- 42\n...\n", "42" },
	{ "- 1\n- two\n", "[1,\"two\"]" },
	{ "%YAML 1.2\n---\na: 1\n", "{\"a\":1}" },
	/* text: escapes, unicode, a NUL */
	{ "a: \"\\u00e9\\0x\\t\"\nb: caf\xc3\xa9\nc: 'it''s'\n",
	  "{\"a\":\"\\u00e9\\u0000x\\t\",\"b\":\"caf\\u00e9\","
	  "\"c\":\"it's\"}" },
	/* plain scalars spanning lines fold to one */
	{ "a: one\n  two\n", "{\"a\":\"one two\"}" },
};

static void
test_typing(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++)
		expect_json(good_cases[i].yaml, strlen(good_cases[i].yaml),
		    good_cases[i].json);
}

/* The length counts, not a NUL; keys keep their document order. */
static void
test_length_and_order(void **state)
{
	char err[128];
	json_t *j;
	char *s;

	(void)state;
	expect_json("a: 1\nb: 2\n", 5, "{\"a\":1}");
	j = policy_yaml_to_json("z: 1\na: 2\nm: 3\n", 15, err, sizeof(err));
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"z\":1,\"a\":2,\"m\":3}");
	free(s);
	json_decref(j);
	/* NULL err is fine; so is a zero-length one. */
	j = policy_yaml_to_json("a: *x\n", 6, NULL, 0);
	assert_null(j);
	assert_int_equal(errno, EINVAL);
	j = policy_yaml_to_json(NULL, 0, err, sizeof(err));
	assert_true(json_is_null(j));
	json_decref(j);
}

/* Depth 64 is fine, 65 is not. */
static void
test_depth(void **state)
{
	char yaml[256], err[256];
	json_t *j, *x;
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++) {
		yaml[i] = '[';
		yaml[64 + i] = ']';
	}
	yaml[128] = '\0';
	assert_non_null(j = policy_yaml_to_json(yaml, 128, err, sizeof(err)));
	for (x = j, i = 0; i < 63; i++)
		assert_non_null(x = json_array_get(x, 0));
	assert_int_equal(json_array_size(x), 0);
	json_decref(j);
	for (i = 0; i < 65; i++) {
		yaml[i] = '[';
		yaml[65 + i] = ']';
	}
	yaml[130] = '\0';
	assert_null(policy_yaml_to_json(yaml, 130, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "line 1 column 65: nesting deeper than 64 "
	    "levels (expected at most 64)");
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

struct bad_case {
	const char *yaml;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "a: &x 1\nb: *x\n",
	  "line 1 column 4: YAML anchors are not allowed (expected the value "
	  "written out)" },
	{ "a: *x\n",
	  "line 1 column 4: YAML aliases are not allowed (expected the value "
	  "written out)" },
	{ "&a a: 1\n",
	  "line 1 column 1: YAML anchors are not allowed (expected the value "
	  "written out)" },
	{ "a: &m {b: 1}\n",
	  "line 1 column 4: YAML anchors are not allowed (expected the value "
	  "written out)" },
	{ "a: 1\nb: 2\na: 3\n",
	  "line 3 column 1: duplicate key \"a\" (first at line 1)" },
	{ "x:\n  \"k\": 1\n  k: 2\n",
	  "line 3 column 3: duplicate key \"k\" (first at line 2)" },
	{ "{a: 1, a: 1}\n",
	  "line 1 column 8: duplicate key \"a\" (first at line 1)" },
	{ "? [a]\n: b\n",
	  "line 1 column 3: a sequence used as a key (expected a scalar)" },
	{ "? {a: 1}\n: b\n",
	  "line 1 column 3: a mapping used as a key (expected a scalar)" },
	{ "a: 1\n---\nb: 2\n",
	  "line 2 column 1: a second YAML document is not allowed (expected "
	  "one)" },
	{ "a: 1\n...\n--- b\n",
	  "line 3 column 1: a second YAML document is not allowed (expected "
	  "one)" },
	{ "a: b: c\n",
	  "line 1 column 5: mapping values are not allowed in this context" },
	{ "a: [1, 2\nb: 3\n",
	  "line 2 column 2: did not find expected ',' or ']' (while parsing "
	  "a flow sequence at line 1 column 4)" },
	{ "a:\n\tb: 1\n",
	  "line 2 column 1: found character that cannot start any token "
	  "(while scanning for the next token at line 2 column 1)" },
	{ "a: \"x\n",
	  "line 2 column 1: found unexpected end of stream (while scanning "
	  "a quoted scalar at line 1 column 4)" },
	{ "a: \xff\n",
	  "line 1 column 4: invalid leading UTF-8 octet (byte 0xff)" },
	{ "a: caf\xc3\xa9 \x01\n",
	  "line 1 column 9: control characters are not allowed (byte 0x01)" },
	{ "a: \"\\ud800\"\n",
	  "line 1 column 7: found invalid Unicode character escape code "
	  "(while parsing a quoted scalar at line 1 column 4)" },
	{ "a: !foo 1\n",
	  "line 1 column 4: tag \"!foo\" is not allowed (expected none, or "
	  "one of !!str !!int !!float !!bool !!null !!map !!seq)" },
	{ "a: ! 1\n",
	  "line 1 column 4: tag \"!\" is not allowed (expected none, or "
	  "one of !!str !!int !!float !!bool !!null !!map !!seq)" },
	{ "a: !!timestamp 2001-12-14\n",
	  "line 1 column 4: tag \"tag:yaml.org,2002:timestamp\" is not "
	  "allowed (expected none, or one of !!str !!int !!float !!bool "
	  "!!null !!map !!seq)" },
	{ "%TAG !! tag:example.com,2000:\n---\na: !!int 1\n",
	  "line 3 column 4: tag \"tag:example.com,2000:int\" is not allowed "
	  "(expected none, or one of !!str !!int !!float !!bool !!null "
	  "!!map !!seq)" },
	{ "a: !!int abc\n",
	  "line 1 column 4: !!int \"abc\" is not an integer" },
	{ "a: !!int 1.5\n",
	  "line 1 column 4: !!int \"1.5\" is not an integer" },
	{ "a: !!bool yes\n",
	  "line 1 column 4: !!bool \"yes\" is not a boolean" },
	{ "a: !!null 0\n",
	  "line 1 column 4: !!null \"0\" is not null" },
	{ "a: !!float x\n",
	  "line 1 column 4: !!float \"x\" is not a number" },
	{ "a: !!map x\n",
	  "line 1 column 4: tag !!map on a scalar is not allowed" },
	{ "a: !!str [1]\n",
	  "line 1 column 4: tag !!str on a sequence is not allowed" },
	{ "a: !!seq {}\n",
	  "line 1 column 4: tag !!seq on a mapping is not allowed" },
	/* messages quote, escape and bound the user's text */
	{ "a: !!int \"\\x01\\\"\"\n",
	  "line 1 column 4: !!int \"\\x01\\\"\" is not an integer" },
	{ "k0123456789012345678901234567890123456789012345678901234567890: 1\n"
	  "k0123456789012345678901234567890123456789012345678901234567890: 2\n",
	  "line 2 column 1: duplicate key "
	  "\"k01234567890123456789012345678901234567890123456...\" "
	  "(first at line 1)" },
};

static void
test_refusals(void **state)
{
	char err[512];
	size_t i, outlen = 77;
	json_t *patch = json_object();
	const char *y;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		y = bad_cases[i].yaml;
		strcpy(err, "unset");
		errno = 0;
		if (policy_yaml_to_json(y, strlen(y), err, sizeof(err)) != NULL)
			fail_msg("accepted: %s", y);
		assert_int_equal(errno, EINVAL);
		if (strcmp(err, bad_cases[i].msg) != 0)
			fail_msg("%s:\n got: %s\nwant: %s", y, err,
			    bad_cases[i].msg);
		/* The merge reads its base the same way. */
		strcpy(err, "unset");
		assert_null(policy_merge_patch(y, strlen(y), patch, &outlen,
		    err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err, bad_cases[i].msg);
		assert_int_equal(outlen, 77);
	}
	json_decref(patch);
}

/* A short buffer holds the start of the message, terminated. */
static void
test_short_err(void **state)
{
	char err[12];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_null(policy_yaml_to_json("a: *x", 5, err, sizeof(err)));
	assert_string_equal(err, "line 1 colu");
	assert_null(policy_yaml_to_json("a: *x", 5, err, 1));
	assert_string_equal(err, "");
}

/* 8 MiB and 2^21 nodes. */
static void
test_caps(void **state)
{
	size_t n = POLICY_JSON_MAX_INPUT + 1, i, len;
	char err[256];
	char *big;
	json_t *j, *patch;
	double t;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '#';
	big[n] = '\0';
	errno = 0;
	assert_null(policy_yaml_to_json(big, n, err, sizeof(err)));
	assert_int_equal(errno, EFBIG);
	assert_string_equal(err, "the YAML text is 8388609 bytes (expected at "
	    "most 8388608)");
	/* Exactly the cap is read. */
	assert_non_null(j = policy_yaml_to_json(big, n - 1, err, sizeof(err)));
	assert_true(json_is_null(j));

	/* [0,0,...]: 2^21 - 1 scalars and the sequence; one more is refused. */
	len = 0;
	big[len++] = '[';
	for (i = 0; i < POLICY_JSON_MAX_NODES - 1; i++) {
		big[len++] = '0';
		big[len++] = ',';
	}
	big[len - 1] = ']';
	t = now();
	j = policy_yaml_to_json(big, len, err, sizeof(err));
	if (j == NULL)
		fail_msg("%s", err);
	print_message("%u nodes (%zu bytes) to JSON: %.0f ms\n",
	    POLICY_JSON_MAX_NODES, len, (now() - t) * 1e3);
	assert_int_equal(json_array_size(j), POLICY_JSON_MAX_NODES - 1);
	json_decref(j);
	big[len - 1] = ',';
	big[len++] = '0';
	big[len++] = ']';
	assert_null(policy_yaml_to_json(big, len, err, sizeof(err)));
	assert_string_equal(err, "line 1 column 4194304: more than 2097152 "
	    "YAML nodes (expected at most 2097152)");

	/* A merge whose result would exceed the size cap is refused. */
	len = (size_t)snprintf(big, n, "a: \"%0*d\"\n", 5 << 20, 0);
	patch = json_pack("{s:s%}", "b", big, (size_t)(4u << 20));
	assert_non_null(patch);
	errno = 0;
	assert_null(policy_merge_patch(big, len, patch, &i, err, sizeof(err)));
	assert_int_equal(errno, EFBIG);
	assert_string_equal(err, "the result is larger than 8388608 bytes");
	json_decref(patch);
	free(big);
}

/* The billion-laughs shape fails at its first anchor, at once. */
static void
test_alias_bomb(void **state)
{
	static const char bomb[] =
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
	char err[256];

	(void)state;
	assert_null(policy_yaml_to_json(bomb, strlen(bomb), err, sizeof(err)));
	assert_string_equal(err, "line 1 column 4: YAML anchors are not "
	    "allowed (expected the value written out)");
}

/* ------------------------------------------------------------------ */
/* Merge patches                                                       */
/* ------------------------------------------------------------------ */

#define K20	"kkkkkkkkkkkkkkkkkkkk"
#define LONG_KEY K20 K20 K20 K20 K20 K20 K20	/* 140 bytes */

struct merge_case {
	const char *base;	/* YAML */
	const char *patch;	/* JSON object */
	const char *want;	/* JSON */
};

static const struct merge_case merge_cases[] = {
	/* RFC 7396 appendix A, the bases written as YAML */
	{ "a: b\n", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "a: b\n", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "a: b\n", "{\"a\":null}", "{}" },
	{ "a: b\nb: c\n", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "a:\n  - b\n", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "a: c\n", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "a:\n  b: c\n", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	  "{\"a\":{\"b\":\"d\"}}" },
	{ "a:\n  - b: c\n", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "e: null\n", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "- 1\n- 2\n", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}\n", "{\"a\":{\"bb\":{\"ccc\":null}}}",
	  "{\"a\":{\"bb\":{}}}" },
	/* RFC 7396 section 3 */
	{ "title: Goodbye!\nauthor:\n  givenName: John\n  familyName: Doe\n"
	  "tags:\n  - example\n  - sample\ncontent: This will be unchanged\n",
	  "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
	  "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	  "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
	  "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
	  "\"phoneNumber\":\"+01-123-456-7890\"}" },
	/* an empty or scalar base counts as {} */
	{ "", "{\"a\":1}", "{\"a\":1}" },
	{ "# nothing\n", "{}", "{}" },
	{ "42\n", "{\"a\":{\"b\":null,\"c\":2}}", "{\"a\":{\"c\":2}}" },
	{ "a: 1\n", "{\"a\":{\"b\":null,\"c\":2}}", "{\"a\":{\"c\":2}}" },
	/* inside arrays, objects are values: their nulls stay */
	{ "a: 1\n", "{\"a\":[{\"b\":null},null,[null]]}",
	  "{\"a\":[{\"b\":null},null,[null]]}" },
	{ "a: 1\n", "{\"b\":{\"c\":[{\"d\":{\"e\":null}}]}}",
	  "{\"a\":1,\"b\":{\"c\":[{\"d\":{\"e\":null}}]}}" },
	/* patch strings stay strings, whatever they look like */
	{ "a: 1\n", "{\"s\":[\"true\",\"1\",\"\",\"null\",\"~\",\"0x1\","
	  "\"1.5\",\"multi\\nline\",\" lead\",\"trail \",\"- x\",\"#c\","
	  "\"a: b\",\"\\u0000\\u0001\\u007f\\u0085\\u2028\\ufeff\\ufffe\","
	  "\"\\u00e9\\ud83d\\ude00\",\"'\\\"\\\\\",\"...\",\"---\"]}",
	  "{\"a\":1,\"s\":[\"true\",\"1\",\"\",\"null\",\"~\",\"0x1\","
	  "\"1.5\",\"multi\\nline\",\" lead\",\"trail \",\"- x\",\"#c\","
	  "\"a: b\",\"\\u0000\\u0001\\u007f\\u0085\\u2028\\ufeff\\ufffe\","
	  "\"\\u00e9\\ud83d\\ude00\",\"'\\\"\\\\\",\"...\",\"---\"]}" },
	/* numbers and booleans keep their JSON type */
	{ "a: 1\n", "{\"n\":[-5,0,9223372036854775807,1.0,-0.0,0.1,1e300,"
	  "2.5e-300,123456789.125,true,false]}",
	  "{\"a\":1,\"n\":[-5,0,9223372036854775807,1.0,-0.0,0.1,1e300,"
	  "2.5e-300,123456789.125,true,false]}" },
	/* keys that look like other things */
	{ "a: 1\n", "{\"true\":1,\"\":2,\"1\":3,\"null\":4,\"a: b\":5,"
	  "\"-\":6,\"#x\":7,\"~\":8,\"?\":9,\"multi\\nline\":10}",
	  "{\"a\":1,\"true\":1,\"\":2,\"1\":3,\"null\":4,\"a: b\":5,"
	  "\"-\":6,\"#x\":7,\"~\":8,\"?\":9,\"multi\\nline\":10}" },
	/* a base key in any style is matched by its text */
	{ "\"a\": 1\n'b': 2\n", "{\"a\":null,\"b\":3}", "{\"b\":3}" },
	/* deeper merges leave siblings alone */
	{ "x:\n  y:\n    z: 1\n    w: [1, 2]\n  v: {p: q}\n",
	  "{\"x\":{\"y\":{\"z\":null,\"n\":{}}}}",
	  "{\"x\":{\"y\":{\"w\":[1,2],\"n\":{}},\"v\":{\"p\":\"q\"}}}" },
	/* long keys (the writer uses "? " for them) */
	{ "a: 1\n", "{\"" LONG_KEY "\":{\"b\":1}}",
	  "{\"a\":1,\"" LONG_KEY "\":{\"b\":1}}" },
};

static char *
merge_ok(const char *base, const json_t *patch, size_t *lenp)
{
	char err[512] = "unset";
	size_t len = 0;
	char *out;

	out = policy_merge_patch(base, strlen(base), patch, &len, err,
	    sizeof(err));
	if (out == NULL)
		fail_msg("%s: merge refused: %s", base, err);
	assert_string_equal(err, "");
	assert_int_equal(strlen(out), len);
	if (lenp != NULL)
		*lenp = len;
	return out;
}

static void
test_merge(void **state)
{
	const struct merge_case *c;
	json_t *patch;
	char *out;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
		c = &merge_cases[i];
		patch = parse_json(c->patch);
		out = merge_ok(c->base, patch, &len);
		expect_json(out, len, c->want);
		free(out);
		json_decref(patch);
	}
}

/* Only an object is a patch we take (RFC 7396 appendix A's others). */
static void
test_merge_not_object(void **state)
{
	static const struct {
		const char *patch, *msg;
	} cases[] = {
		{ "[\"c\",\"d\"]", "the merge patch is an array (expected a "
		  "JSON object)" },
		{ "null", "the merge patch is null (expected a JSON object)" },
		{ "\"bar\"", "the merge patch is a scalar (expected a JSON "
		  "object)" },
		{ "1", "the merge patch is a scalar (expected a JSON object)" },
	};
	char err[256];
	size_t i, outlen = 5;
	json_t *p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = parse_json(cases[i].patch);
		errno = 0;
		assert_null(policy_merge_patch("a: b\n", 5, p, &outlen, err,
		    sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_string_equal(err, cases[i].msg);
		json_decref(p);
	}
	assert_null(policy_merge_patch("a: b\n", 5, NULL, &outlen, err,
	    sizeof(err)));
	assert_string_equal(err, "the merge patch is missing (expected a JSON "
	    "object)");
	assert_int_equal(outlen, 5);
}

/* What the base said keeps its style; new text is as documented. */
static void
test_merge_styles(void **state)
{
	static const char base[] =
	    "# a comment, lost\n"
	    "enabled: true\n"
	    "name: \"1234\"\n"
	    "port: 80\n"
	    "single: 'x y'\n"
	    "lit: |\n  a\n  b\n"
	    "fold: >\n  c\n  d\n"
	    "f: !!float 1\n"
	    "s: !!str 12\n"
	    "i: !!int \"7\"\n"
	    "nul: ~\n"
	    "empty:\n"
	    "flow: {b: 1, c: [1, 2]}\n";
	static const char want_text[] =
	    "enabled: true\n"
	    "name: \"1234\"\n"
	    "port: 81\n"
	    "single: 'x y'\n"
	    "lit: |\n  a\n  b\n"
	    "fold: >\n  c d\n"
	    "f: !!float 1\n"
	    "s: \"12\"\n"
	    "i: !!int \"7\"\n"
	    "nul: ~\n"
	    "empty:\n"
	    "flow:\n  b: 1\n  c:\n  - 1\n  - 2\n"
	    "new: text\n"
	    "r: 0.5\n"
	    "one: 1.0\n"
	    "\"true\": true\n"
	    "list:\n- 1\n- null\n- m: n\n";
	json_t *patch;
	char *out;
	size_t len;

	(void)state;
	patch = parse_json("{\"port\":81,\"new\":\"text\",\"r\":0.5,"
	    "\"one\":1.0,\"true\":true,\"list\":[1,null,{\"m\":\"n\"}]}");
	out = merge_ok(base, patch, &len);
	assert_string_equal(out, want_text);
	expect_json(out, len, "{\"enabled\":true,\"name\":\"1234\",\"port\":81,"
	    "\"single\":\"x y\",\"lit\":\"a\\nb\\n\",\"fold\":\"c d\\n\","
	    "\"f\":1.0,\"s\":\"12\",\"i\":7,\"nul\":null,\"empty\":null,"
	    "\"flow\":{\"b\":1,\"c\":[1,2]},\"new\":\"text\",\"r\":0.5,"
	    "\"one\":1.0,\"true\":true,\"list\":[1,null,{\"m\":\"n\"}]}");
	free(out);
	json_decref(patch);

	/* The brief's case: a sibling changes, the rest is as it was. */
	patch = parse_json("{\"svc\":{\"port\":8080}}");
	out = merge_ok("svc:\n  enabled: true\n  name: \"1234\"\n  port: 80\n",
	    patch, &len);
	assert_string_equal(out, "svc:\n  enabled: true\n  name: \"1234\"\n"
	    "  port: 8080\n");
	free(out);
	json_decref(patch);
}

/* The result's limits are the reader's: it always reads back. */
static void
test_merge_limits(void **state)
{
	char err[256];
	json_t *patch, *inner, *o;
	char *out;
	size_t len, i, outlen = 3;

	(void)state;
	/* The root and 63 more mappings: fine.  One more: refused. */
	inner = json_object();
	for (i = 0; i < 62; i++) {
		o = json_object();
		json_object_set_new(o, "k", inner);
		inner = o;
	}
	patch = json_pack("{s:o}", "k", inner);
	out = merge_ok("a: 1\n", patch, &len);
	free(out);
	inner = json_object();
	json_object_set_new(inner, "k", json_object_get(patch, "k"));
	json_incref(json_object_get(patch, "k"));
	json_object_set_new(patch, "k", inner);
	assert_null(policy_merge_patch("a: 1\n", 5, patch, &outlen, err,
	    sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "the result nests deeper than 64 levels");
	assert_int_equal(outlen, 3);
	json_decref(patch);

	/* Patch strings must be UTF-8 (a caller could skip jansson's check). */
	patch = json_object();
	json_object_set_new(patch, "a", json_stringn_nocheck("x\xff", 2));
	assert_null(policy_merge_patch("a: 1\n", 5, patch, &outlen, err,
	    sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "patch string \"x\xff\" is not valid UTF-8");
	json_decref(patch);

	/* Keys with a NUL (jansson's parser refuses them; its API does not). */
	patch = json_object();
	json_object_setn_new(patch, "a\0b", 3, json_integer(1));
	out = merge_ok("a: 1\n", patch, &len);
	assert_string_equal(out, "a: 1\n\"a\\0b\": 1\n");
	assert_non_null(o = policy_yaml_to_json(out, len, err, sizeof(err)));
	assert_int_equal(json_integer_value(json_object_getn(o, "a\0b", 3)), 1);
	json_decref(o);
	free(out);
	json_decref(patch);

	/*
	 * Nodes: the root, a key, an array of chains of 62 arrays around a
	 * scalar (63 nodes, written "- - ... - true": the size cap does not
	 * come first), then single scalars to 2^21 in all; one more is
	 * refused.
	 */
	o = json_true();
	for (i = 0; i < 62; i++)
		o = json_pack("[o]", o);
	inner = json_array();
	for (i = 0; i < (POLICY_JSON_MAX_NODES - 3) / 63; i++)
		json_array_append(inner, o);
	json_decref(o);
	for (i = 0; i < (POLICY_JSON_MAX_NODES - 3) % 63; i++)
		json_array_append_new(inner, json_true());
	patch = json_pack("{s:o}", "k", inner);
	out = merge_ok("", patch, &len);
	print_message("%u nodes merged: %zu bytes\n", POLICY_JSON_MAX_NODES,
	    len);
	free(out);
	json_array_append_new(inner, json_true());
	assert_null(policy_merge_patch("", 0, patch, &outlen, err,
	    sizeof(err)));
	assert_string_equal(err, "the result has more than 2097152 YAML nodes");
	json_decref(patch);
}

/* ------------------------------------------------------------------ */
/* With the policy loader                                              */
/* ------------------------------------------------------------------ */

struct diffs {
	size_t n;
	char path[128];
	char old_value[32], new_value[32];
};

static void
on_diff(const char *path, const char *old_value, const char *new_value,
    void *arg)
{
	struct diffs *d = arg;

	if (d->n++ == 0) {
		snprintf(d->path, sizeof(d->path), "%s", path);
		snprintf(d->old_value, sizeof(d->old_value), "%s",
		    old_value ? old_value : "(none)");
		snprintf(d->new_value, sizeof(d->new_value), "%s",
		    new_value ? new_value : "(none)");
	}
}

/* Merge into text, load the result, compare with p. */
static void
check_policy_merges(const struct policy *p, const char *text, size_t len,
    const char *basedir, const char *what)
{
	json_t *off = parse_json(
	    "{\"services\":{\"http\":{\"enabled\":false}}}");
	json_t *empty = json_object(), *j, *e;
	struct policy_error perr;
	struct policy *q;
	struct diffs d;
	char err[512], *out;
	size_t outlen;

	/* The JSON view says what the policy says. */
	j = policy_yaml_to_json(text, len, err, sizeof(err));
	if (j == NULL)
		fail_msg("%s: to JSON: %s", what, err);
	e = json_object_get(json_object_get(json_object_get(j, "services"),
	    "http"), "enabled");
	if (e != NULL)
		assert_true(json_is_boolean(e) && json_is_true(e) ==
		    p->services[REGISTRY_HTTP].enabled);
	json_decref(j);

	out = policy_merge_patch(text, len, off, &outlen, err, sizeof(err));
	if (out == NULL)
		fail_msg("%s: merge: %s", what, err);
	q = policy_load_buffer("merged.yaml", out, outlen, basedir, &perr);
	if (q == NULL)
		fail_msg("%s: merged policy refused: %s\n%s", what, perr.msg,
		    out);
	assert_false(q->services[REGISTRY_HTTP].enabled);
	memset(&d, 0, sizeof(d));
	assert_int_equal(policy_diff(p, q, on_diff, &d),
	    p->services[REGISTRY_HTTP].enabled ? 1 : 0);
	if (d.n == 1) {
		assert_string_equal(d.path, "services.http.enabled");
		assert_string_equal(d.old_value, "true");
		assert_string_equal(d.new_value, "false");
	}
	policy_free(q);
	free(out);

	out = policy_merge_patch(text, len, empty, &outlen, err, sizeof(err));
	if (out == NULL)
		fail_msg("%s: empty merge: %s", what, err);
	q = policy_load_buffer("merged.yaml", out, outlen, basedir, &perr);
	if (q == NULL)
		fail_msg("%s: empty merge refused: %s", what, perr.msg);
	assert_true(policy_equal(p, q));
	assert_int_equal(policy_diff(p, q, NULL, NULL), 0);
	policy_free(q);
	free(out);
	json_decref(off);
	json_decref(empty);
}

static void
test_policy_round_trip(void **state)
{
	static const char *const files[] = {
		SHIPPED_FACTORY, SHIPPED_HARD, SHIPPED_DEFAULT,
	};
	struct policy_error perr;
	struct policy *p;
	char *y, *raw;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = policy_load_file(files[i], &perr);
		if (p == NULL)
			fail_msg("%s: %s", files[i], perr.msg);
		/* The normalised form, as the console would show it ... */
		assert_non_null(y = policy_to_yaml(p));
		check_policy_merges(p, y, strlen(y), NULL, files[i]);
		/* ... and the file as written, comments and all. */
		raw = slurp(files[i], &len);
		check_policy_merges(p, raw, len, SHIPPED_DIR, files[i]);
		free(raw);
		free(y);
		policy_free(p);
	}
}

/* Figures only: a large document each way. */
static void
test_speed(void **state)
{
	size_t cap = 4u << 20, len = 0, n = 0, outlen;
	char err[256], *buf, *out;
	json_t *j, *patch;
	double t;

	(void)state;
	assert_non_null(buf = malloc(cap));
	while (len + 200 < cap) {
		len += (size_t)snprintf(buf + len, cap - len,
		    "tag%06zu:\n  type: uint16\n  scale: 0.5\n  unit: \"kW\"\n"
		    "  enabled: true\n  at: %zu\n", n, n);
		n++;
	}
	t = now();
	j = policy_yaml_to_json(buf, len, err, sizeof(err));
	if (j == NULL)
		fail_msg("%s", err);
	print_message("to JSON: %zu bytes, %zu mappings: %.0f ms\n", len, n,
	    (now() - t) * 1e3);
	json_decref(j);
	patch = parse_json("{\"tag000000\":{\"scale\":null}}");
	t = now();
	out = policy_merge_patch(buf, len, patch, &outlen, err, sizeof(err));
	if (out == NULL)
		fail_msg("%s", err);
	print_message("merge: %zu bytes in, %zu out: %.0f ms\n", len, outlen,
	    (now() - t) * 1e3);
	free(out);
	json_decref(patch);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typing),
		cmocka_unit_test(test_length_and_order),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_short_err),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_not_object),
		cmocka_unit_test(test_merge_styles),
		cmocka_unit_test(test_merge_limits),
		cmocka_unit_test(test_policy_round_trip),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
