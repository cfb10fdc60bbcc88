/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_tags.c - the tag table and the register codec: every type with
 * every swap (known vectors and round trips), value conversion and range
 * checks, scaling both ways, quality transitions with their timestamps,
 * deadband filtering, subscriptions (including unsubscribing from inside
 * a callback), lookups, refused definitions and their messages, and a
 * table of 10,000 tags with a micro-benchmark (printed, never asserted).
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tags.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define IN_B(x) { .kind = TAG_IN_BOOL, .b = (x) }
#define IN_I(x) { .kind = TAG_IN_INT, .i = (x) }
#define IN_U(x) { .kind = TAG_IN_UINT, .u = (x) }
#define IN_D(x) { .kind = TAG_IN_DOUBLE, .d = (x) }
#define IN_S(x) { .kind = TAG_IN_BYTES, .bytes = { (x), sizeof(x) - 1 } }

static const enum tag_swap all_swaps[] = {
	TAG_SWAP_NONE, TAG_SWAP_BYTE, TAG_SWAP_WORD, TAG_SWAP_BOTH
};

/* Deterministic test data (xorshift64*): failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* fabs() without libm, which the unit tests do not link. */
static double
absd(double d)
{
	return d < 0 ? -d : d;
}

static struct timespec
ts_at(time_t sec)
{
	struct timespec ts = { .tv_sec = sec, .tv_nsec = 500 };

	return ts;
}

/* Same value, bit for bit for floats (NaN payloads included). */
static int
value_same(const struct tag_value *a, const struct tag_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case TAG_BOOL:
		return a->b == b->b;
	case TAG_INT16:
	case TAG_INT32:
		return a->i == b->i;
	case TAG_UINT16:
	case TAG_UINT32:
		return a->u == b->u;
	case TAG_FLOAT32:
		return memcmp(&a->f32, &b->f32, sizeof(a->f32)) == 0;
	case TAG_FLOAT64:
		return memcmp(&a->f64, &b->f64, sizeof(a->f64)) == 0;
	case TAG_STRING:
		return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	}
	return 0;
}

static struct tag_def
def_of(const char *name, enum tag_type type)
{
	struct tag_def d;

	tag_def_init(&d);
	d.name = name;
	d.type = type;
	if (type == TAG_STRING)
		d.length = 8;
	return d;
}

/* ---- codec ------------------------------------------------------------ */

static void
test_words(void **state)
{
	static const struct {
		enum tag_type type;
		uint16_t length;
		size_t words;
	} t[] = {
		{ TAG_BOOL, 0, 1 }, { TAG_INT16, 0, 1 }, { TAG_UINT16, 0, 1 },
		{ TAG_INT32, 0, 2 }, { TAG_UINT32, 0, 2 }, { TAG_FLOAT32, 0, 2 },
		{ TAG_FLOAT64, 0, 4 }, { TAG_STRING, 1, 1 }, { TAG_STRING, 2, 1 },
		{ TAG_STRING, 3, 2 }, { TAG_STRING, 249, 125 },
		{ TAG_STRING, 250, 125 }, { TAG_STRING, 0, 0 },
		{ TAG_STRING, 251, 0 }, { (enum tag_type)99, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++)
		assert_int_equal(tag_type_words(t[i].type, t[i].length),
		    t[i].words);
}

struct codec_vec {
	enum tag_type type;
	uint16_t length;
	enum tag_swap swap;
	size_t n;
	uint16_t w[6];
	struct tag_input value;
};

static const struct codec_vec codec_vecs[] = {
	/* The vectors. */
	{ TAG_FLOAT32, 0, TAG_SWAP_NONE, 2, { 0x42F6, 0xE979 }, IN_D(123.456) },
	{ TAG_FLOAT32, 0, TAG_SWAP_WORD, 2, { 0xE979, 0x42F6 }, IN_D(123.456) },
	{ TAG_FLOAT32, 0, TAG_SWAP_BYTE, 2, { 0xF642, 0x79E9 }, IN_D(123.456) },
	{ TAG_FLOAT32, 0, TAG_SWAP_BOTH, 2, { 0x79E9, 0xF642 }, IN_D(123.456) },
	{ TAG_INT32, 0, TAG_SWAP_NONE, 2, { 0xFFFF, 0xFFFE }, IN_I(-2) },
	{ TAG_INT32, 0, TAG_SWAP_WORD, 2, { 0xFFFE, 0xFFFF }, IN_I(-2) },
	{ TAG_INT32, 0, TAG_SWAP_BYTE, 2, { 0xFFFF, 0xFEFF }, IN_I(-2) },
	{ TAG_INT32, 0, TAG_SWAP_BOTH, 2, { 0xFEFF, 0xFFFF }, IN_I(-2) },
	/* Worked out independently (Python struct.pack '>'). */
	{ TAG_INT32, 0, TAG_SWAP_NONE, 2, { 0xF8A4, 0x32EB }, IN_I(-123456789) },
	{ TAG_INT32, 0, TAG_SWAP_BOTH, 2, { 0xEB32, 0xA4F8 }, IN_I(-123456789) },
	{ TAG_INT32, 0, TAG_SWAP_NONE, 2, { 0x8000, 0x0000 }, IN_I(INT32_MIN) },
	{ TAG_UINT32, 0, TAG_SWAP_NONE, 2, { 0x1234, 0x5678 }, IN_U(0x12345678) },
	{ TAG_UINT32, 0, TAG_SWAP_WORD, 2, { 0x5678, 0x1234 }, IN_U(0x12345678) },
	{ TAG_UINT32, 0, TAG_SWAP_BYTE, 2, { 0x3412, 0x7856 }, IN_U(0x12345678) },
	{ TAG_UINT32, 0, TAG_SWAP_BOTH, 2, { 0x7856, 0x3412 }, IN_U(0x12345678) },
	{ TAG_UINT32, 0, TAG_SWAP_NONE, 2, { 0xFFFF, 0xFFFF }, IN_U(UINT32_MAX) },
	{ TAG_INT16, 0, TAG_SWAP_NONE, 1, { 0xFFFF }, IN_I(-1) },
	{ TAG_INT16, 0, TAG_SWAP_NONE, 1, { 0x8000 }, IN_I(-32768) },
	{ TAG_INT16, 0, TAG_SWAP_BYTE, 1, { 0x0080 }, IN_I(-32768) },
	{ TAG_INT16, 0, TAG_SWAP_WORD, 1, { 0x7FFF }, IN_I(32767) },
	{ TAG_UINT16, 0, TAG_SWAP_NONE, 1, { 0xABCD }, IN_U(0xABCD) },
	{ TAG_UINT16, 0, TAG_SWAP_BYTE, 1, { 0xCDAB }, IN_U(0xABCD) },
	{ TAG_UINT16, 0, TAG_SWAP_BOTH, 1, { 0xCDAB }, IN_U(0xABCD) },
	{ TAG_BOOL, 0, TAG_SWAP_NONE, 1, { 0x0001 }, IN_B(true) },
	{ TAG_BOOL, 0, TAG_SWAP_BYTE, 1, { 0x0100 }, IN_B(true) },
	{ TAG_BOOL, 0, TAG_SWAP_BOTH, 1, { 0x0100 }, IN_B(true) },
	{ TAG_BOOL, 0, TAG_SWAP_WORD, 1, { 0x0000 }, IN_B(false) },
	{ TAG_FLOAT64, 0, TAG_SWAP_NONE, 4, { 0x405E, 0xDD2F, 0x1A9F, 0xBE77 },
	    IN_D(123.456) },
	{ TAG_FLOAT64, 0, TAG_SWAP_WORD, 4, { 0xBE77, 0x1A9F, 0xDD2F, 0x405E },
	    IN_D(123.456) },
	{ TAG_FLOAT64, 0, TAG_SWAP_BYTE, 4, { 0x5E40, 0x2FDD, 0x9F1A, 0x77BE },
	    IN_D(123.456) },
	{ TAG_FLOAT64, 0, TAG_SWAP_BOTH, 4, { 0x77BE, 0x9F1A, 0x2FDD, 0x5E40 },
	    IN_D(123.456) },
	{ TAG_FLOAT64, 0, TAG_SWAP_NONE, 4, { 0x81B0, 0x1297, 0xD23A, 0xB683 },
	    IN_D(-1.5e-300) },
	{ TAG_FLOAT32, 0, TAG_SWAP_NONE, 2, { 0x7F80, 0x0000 }, IN_D(INFINITY) },
	{ TAG_FLOAT32, 0, TAG_SWAP_NONE, 2, { 0x8000, 0x0000 }, IN_D(-0.0) },
	/* Strings: high byte first, NUL padding to the last word. */
	{ TAG_STRING, 4, TAG_SWAP_NONE, 2, { 0x4142, 0x4300 }, IN_S("ABC") },
	{ TAG_STRING, 4, TAG_SWAP_BYTE, 2, { 0x4241, 0x0043 }, IN_S("ABC") },
	{ TAG_STRING, 4, TAG_SWAP_WORD, 2, { 0x4300, 0x4142 }, IN_S("ABC") },
	{ TAG_STRING, 4, TAG_SWAP_BOTH, 2, { 0x0043, 0x4241 }, IN_S("ABC") },
	{ TAG_STRING, 5, TAG_SWAP_NONE, 3, { 0x6865, 0x6C6C, 0x6F00 },
	    IN_S("hello") },
	{ TAG_STRING, 6, TAG_SWAP_NONE, 3, { 0x0000, 0x0000, 0x0000 }, IN_S("") },
	{ TAG_STRING, 3, TAG_SWAP_NONE, 2, { 0x2041, 0x2000 }, IN_S(" A ") },
};

static void
test_codec_vectors(void **state)
{
	struct tag_value want, got;
	uint16_t w[8];
	size_t i, k;

	(void)state;
	for (i = 0; i < NELEM(codec_vecs); i++) {
		const struct codec_vec *c = &codec_vecs[i];

		assert_int_equal(tag_value_convert(c->type, c->length, c->value,
		    true, &want), 0);
		assert_int_equal(tag_type_words(c->type, c->length), c->n);
		assert_int_equal(tag_decode(c->type, c->length, c->swap, c->w,
		    c->n, &got), 0);
		if (!value_same(&want, &got))
			fail_msg("vector %zu (%s, swap %s): decoded wrong", i,
			    tag_type_name(c->type), tag_swap_name(c->swap));
		/* One spare word past the value stays untouched. */
		for (k = 0; k < NELEM(w); k++)
			w[k] = 0xA5A5;
		assert_int_equal(tag_encode(&want, c->length, c->swap, w,
		    c->n + 1), 0);
		for (k = 0; k < c->n; k++)
			if (w[k] != c->w[k])
				fail_msg("vector %zu (%s, swap %s): word %zu "
				    "0x%04X, want 0x%04X", i,
				    tag_type_name(c->type),
				    tag_swap_name(c->swap), k, w[k], c->w[k]);
		assert_int_equal(w[c->n], 0xA5A5);
	}
}

/* Decoding details that are not round trips. */
static void
test_codec_decode_rules(void **state)
{
	static const struct {
		enum tag_type type;
		uint16_t length;
		enum tag_swap swap;
		uint16_t w[3];
		struct tag_input want;
	} t[] = {
		/* A register read as a bool: nonzero is true. */
		{ TAG_BOOL, 0, TAG_SWAP_NONE, { 0x8000 }, IN_B(true) },
		{ TAG_BOOL, 0, TAG_SWAP_NONE, { 0x0100 }, IN_B(true) },
		{ TAG_BOOL, 0, TAG_SWAP_BYTE, { 0x0001 }, IN_B(true) },
		{ TAG_BOOL, 0, TAG_SWAP_NONE, { 0x0000 }, IN_B(false) },
		/* Strings end at the first NUL; spaces stay. */
		{ TAG_STRING, 6, TAG_SWAP_NONE, { 0x4142, 0x0043, 0x4400 },
		    IN_S("AB") },
		{ TAG_STRING, 6, TAG_SWAP_NONE, { 0x4142, 0x2020, 0x2020 },
		    IN_S("AB    ") },
		/* An odd length ignores the spare byte. */
		{ TAG_STRING, 3, TAG_SWAP_NONE, { 0x4142, 0x43FF }, IN_S("ABC") },
		{ TAG_STRING, 3, TAG_SWAP_BYTE, { 0x4241, 0xFF43 }, IN_S("ABC") },
	};
	struct tag_value want, got;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		assert_int_equal(tag_value_convert(t[i].type, t[i].length,
		    t[i].want, false, &want), 0);
		assert_int_equal(tag_decode(t[i].type, t[i].length, t[i].swap,
		    t[i].w, 3, &got), 0);
		if (!value_same(&want, &got))
			fail_msg("decode rule %zu", i);
	}
}

/*
 * Every numeric type with every swap: any word pattern decodes and
 * encodes back to itself (NaN payloads included), and any value encodes
 * and decodes back to itself.
 */
static void
test_codec_roundtrip(void **state)
{
	static const enum tag_type types[] = {
		TAG_INT16, TAG_UINT16, TAG_INT32, TAG_UINT32, TAG_FLOAT32,
		TAG_FLOAT64,
	};
	static const uint16_t lengths[] = { 1, 2, 7, 250 };
	struct tag_value v, back;
	uint16_t w[125], w2[125];
	uint8_t s[TAG_STRING_MAX];
	size_t i, j, k, r, nw, len;

	(void)state;
	for (i = 0; i < NELEM(types); i++)
		for (j = 0; j < NELEM(all_swaps); j++)
			for (r = 0; r < 2000; r++) {
				nw = tag_type_words(types[i], 0);
				for (k = 0; k < nw; k++)
					w[k] = (uint16_t)rng();
				if (r == 0)     /* all ones: NaN, -1, max */
					memset(w, 0xFF, sizeof(w));
				assert_int_equal(tag_decode(types[i], 0,
				    all_swaps[j], w, nw, &v), 0);
				assert_int_equal(tag_encode(&v, 0,
				    all_swaps[j], w2, nw), 0);
				assert_memory_equal(w, w2, nw * sizeof(w[0]));
				assert_int_equal(tag_decode(types[i], 0,
				    all_swaps[j], w2, nw, &back), 0);
				assert_true(value_same(&v, &back));
			}
	/* Bools: true and false both ways. */
	for (j = 0; j < NELEM(all_swaps); j++)
		for (r = 0; r < 2; r++) {
			struct tag_input in = IN_B(r == 1);

			assert_int_equal(tag_value_convert(TAG_BOOL, 0, in,
			    false, &v), 0);
			assert_int_equal(tag_encode(&v, 0, all_swaps[j], w, 1),
			    0);
			assert_int_equal(tag_decode(TAG_BOOL, 0, all_swaps[j],
			    w, 1, &back), 0);
			assert_true(value_same(&v, &back));
		}
	/* Strings without NUL, every length up to the tag's. */
	for (i = 0; i < NELEM(lengths); i++)
		for (j = 0; j < NELEM(all_swaps); j++)
			for (len = 0; len <= lengths[i]; len++) {
				for (k = 0; k < len; k++)
					s[k] = (uint8_t)(1 + rng() % 255);
				assert_int_equal(tag_value_convert(TAG_STRING,
				    lengths[i], tag_in_bytes(s, len), false,
				    &v), 0);
				nw = tag_type_words(TAG_STRING, lengths[i]);
				assert_int_equal(tag_encode(&v, lengths[i],
				    all_swaps[j], w, nw), 0);
				assert_int_equal(tag_decode(TAG_STRING,
				    lengths[i], all_swaps[j], w, nw, &back), 0);
				assert_true(value_same(&v, &back));
			}
}

static void
test_codec_errors(void **state)
{
	struct tag_value v, keep;
	uint16_t w[4] = { 1, 2, 3, 4 };

	(void)state;
	memset(&keep, 0x5A, sizeof(keep));
	v = keep;
	errno = 0;
	assert_int_equal(tag_decode(TAG_FLOAT32, 0, TAG_SWAP_NONE, w, 1, &v),
	    -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_memory_equal(&v, &keep, sizeof(v));   /* out untouched */
	assert_int_equal(tag_decode(TAG_FLOAT32, 0, (enum tag_swap)4, w, 2, &v),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tag_decode(TAG_STRING, 0, TAG_SWAP_NONE, w, 4, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tag_decode((enum tag_type)42, 0, TAG_SWAP_NONE, w, 4,
	    &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tag_decode(TAG_INT16, 0, TAG_SWAP_NONE, NULL, 1, &v),
	    -1);
	assert_int_equal(errno, EMSGSIZE);

	/* Encoding refuses values that do not fit, and short buffers,
	 * without touching the words. */
	memset(&v, 0, sizeof(v));
	v.type = TAG_INT16;
	v.i = 40000;
	assert_int_equal(tag_encode(&v, 0, TAG_SWAP_NONE, w, 4), -1);
	assert_int_equal(errno, EINVAL);
	v.type = TAG_UINT32;
	v.u = (uint64_t)UINT32_MAX + 1;
	assert_int_equal(tag_encode(&v, 0, TAG_SWAP_NONE, w, 4), -1);
	assert_int_equal(errno, EINVAL);
	v.type = TAG_STRING;
	v.len = 5;
	memcpy(v.s, "abcde", 5);
	assert_int_equal(tag_encode(&v, 4, TAG_SWAP_NONE, w, 4), -1);
	assert_int_equal(errno, EINVAL);
	v.len = 3;
	memcpy(v.s, "a\0b", 3);
	assert_int_equal(tag_encode(&v, 4, TAG_SWAP_NONE, w, 4), -1);
	assert_int_equal(errno, EINVAL);
	v.type = TAG_FLOAT64;
	v.f64 = 1;
	assert_int_equal(tag_encode(&v, 0, TAG_SWAP_NONE, w, 3), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(tag_encode(&v, 0, TAG_SWAP_BOTH + 1, w, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(w[0], 1);
	assert_int_equal(w[3], 4);
}

/* ---- conversion and range checks ------------------------------------- */

struct conv_case {
	enum tag_type type;
	uint16_t length;
	struct tag_input in;
	bool nonfinite;         /* tags_set()'s rules, not a write's */
	int err;                /* 0: expect want */
	struct tag_input want;  /* converted with the type's exact member */
};

static const char str_long[] = "123456789";
static const char str_nul[] = "AB\0CD";

static const struct conv_case conv_cases[] = {
	/* The refusals. */
	{ TAG_INT16, 0, IN_I(32768), false, ERANGE, IN_I(0) },
	{ TAG_INT16, 0, IN_D(32768), false, ERANGE, IN_I(0) },
	{ TAG_UINT16, 0, IN_I(-1), false, ERANGE, IN_I(0) },
	{ TAG_UINT16, 0, IN_D(-1), false, ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 0, IN_D(1e39), false, ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 0, IN_D(-1e39), true, ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 0, IN_D(NAN), false, EDOM, IN_I(0) },
	{ TAG_FLOAT64, 0, IN_D(NAN), false, EDOM, IN_I(0) },
	{ TAG_FLOAT64, 0, IN_D(-INFINITY), false, EDOM, IN_I(0) },
	{ TAG_INT32, 0, IN_D(NAN), true, EDOM, IN_I(0) },
	{ TAG_BOOL, 0, IN_D(INFINITY), true, EDOM, IN_I(0) },
	/* Edges that fit. */
	{ TAG_INT16, 0, IN_I(-32768), false, 0, IN_I(-32768) },
	{ TAG_INT16, 0, IN_I(32767), false, 0, IN_I(32767) },
	{ TAG_INT16, 0, IN_I(-32769), false, ERANGE, IN_I(0) },
	{ TAG_INT16, 0, IN_U(UINT64_MAX), false, ERANGE, IN_I(0) },
	{ TAG_UINT16, 0, IN_U(65535), false, 0, IN_U(65535) },
	{ TAG_UINT16, 0, IN_U(65536), false, ERANGE, IN_I(0) },
	{ TAG_INT32, 0, IN_I(INT32_MIN), false, 0, IN_I(INT32_MIN) },
	{ TAG_INT32, 0, IN_I(INT64_MIN), false, ERANGE, IN_I(0) },
	{ TAG_INT32, 0, IN_U((uint64_t)INT32_MAX + 1), false, ERANGE, IN_I(0) },
	{ TAG_UINT32, 0, IN_U(UINT32_MAX), false, 0, IN_U(UINT32_MAX) },
	{ TAG_UINT32, 0, IN_D(4294967295.4), false, 0, IN_U(UINT32_MAX) },
	{ TAG_UINT32, 0, IN_D(4294967295.5), false, ERANGE, IN_I(0) },
	{ TAG_UINT32, 0, IN_I(-1), false, ERANGE, IN_I(0) },
	{ TAG_UINT32, 0, IN_D(1e300), false, ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 0, IN_D(FLT_MAX), false, 0, IN_D(FLT_MAX) },
	{ TAG_FLOAT32, 0, IN_D(INFINITY), true, 0, IN_D(INFINITY) },
	/* Doubles to integers round to nearest, half away from zero. */
	{ TAG_INT16, 0, IN_D(2.5), false, 0, IN_I(3) },
	{ TAG_INT16, 0, IN_D(-2.5), false, 0, IN_I(-3) },
	{ TAG_INT16, 0, IN_D(2.4999999), false, 0, IN_I(2) },
	{ TAG_INT16, 0, IN_D(0.49999999999999994), false, 0, IN_I(0) },
	{ TAG_INT16, 0, IN_D(32767.4), false, 0, IN_I(32767) },
	{ TAG_INT16, 0, IN_D(32767.5), false, ERANGE, IN_I(0) },
	{ TAG_INT16, 0, IN_D(-32768.5), false, ERANGE, IN_I(0) },
	{ TAG_UINT16, 0, IN_D(-0.4), false, 0, IN_U(0) },
	/* Bools: 0 and 1 only. */
	{ TAG_BOOL, 0, IN_I(1), false, 0, IN_B(true) },
	{ TAG_BOOL, 0, IN_U(0), false, 0, IN_B(false) },
	{ TAG_BOOL, 0, IN_I(2), false, ERANGE, IN_I(0) },
	{ TAG_BOOL, 0, IN_I(-1), false, ERANGE, IN_I(0) },
	{ TAG_BOOL, 0, IN_D(0.5), false, ERANGE, IN_I(0) },
	{ TAG_INT16, 0, IN_B(true), false, 0, IN_I(1) },
	{ TAG_FLOAT64, 0, IN_B(true), false, 0, IN_D(1) },
	/* Integers to floats round once, to nearest. */
	{ TAG_FLOAT32, 0, IN_I(16777217), false, 0, IN_D(16777216) },
	{ TAG_FLOAT64, 0, IN_U(UINT64_MAX), false, 0,
	    IN_D(18446744073709551616.0) },
	/* Strings: bytes only, up to the first NUL, at most length. */
	{ TAG_STRING, 9, IN_S(str_long), false, 0, IN_S(str_long) },
	{ TAG_STRING, 8, IN_S(str_long), false, ERANGE, IN_I(0) },
	{ TAG_STRING, 2, IN_S(str_nul), false, 0, IN_S("AB") },
	{ TAG_STRING, 8, IN_I(1), false, EINVAL, IN_I(0) },
	{ TAG_STRING, 8, IN_D(1), false, EINVAL, IN_I(0) },
	{ TAG_INT16, 0, IN_S("1"), false, EINVAL, IN_I(0) },
	{ TAG_STRING, 0, IN_S("1"), false, EINVAL, IN_I(0) },
};

/* want is given in a kind that converts exactly; convert it to compare. */
static void
test_convert(void **state)
{
	struct tag_value got, want, keep;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(conv_cases); i++) {
		const struct conv_case *c = &conv_cases[i];

		memset(&keep, 0x3C, sizeof(keep));
		got = keep;
		errno = 0;
		rc = tag_value_convert(c->type, c->length, c->in, c->nonfinite,
		    &got);
		if (c->err != 0) {
			if (rc != -1 || errno != c->err)
				fail_msg("case %zu (%s): rc %d errno %d, want "
				    "errno %d", i, tag_type_name(c->type), rc,
				    errno, c->err);
			assert_memory_equal(&got, &keep, sizeof(got));
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s): refused, errno %d", i,
			    tag_type_name(c->type), errno);
		assert_int_equal(tag_value_convert(c->type, c->length, c->want,
		    true, &want), 0);
		if (!value_same(&got, &want))
			fail_msg("case %zu (%s): wrong value", i,
			    tag_type_name(c->type));
	}
}

/* ---- the table: writes and scaling ----------------------------------- */

struct write_case {
	enum tag_type type;
	double scale, offset;
	bool writable;
	bool eng;               /* tags_write_eng (x) or tags_write_raw (in) */
	double x;
	struct tag_input in;
	int err;
	struct tag_input want;
};

static const struct write_case write_cases[] = {
	/* eng = raw * 0.1 - 40: a temperature in tenths, offset. */
	{ TAG_INT16, 0.1, -40, true, true, 25.0, IN_I(0), 0, IN_I(650) },
	{ TAG_INT16, 0.1, -40, true, true, 12.34, IN_I(0), 0, IN_I(523) },
	{ TAG_INT16, 0.1, -40, true, true, -3236.8, IN_I(0), 0, IN_I(-31968) },
	{ TAG_INT16, 0.1, -40, true, true, 3236.8, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_INT16, 0.1, -40, true, true, NAN, IN_I(0), EDOM, IN_I(0) },
	{ TAG_INT16, 0.1, -40, true, true, INFINITY, IN_I(0), EDOM, IN_I(0) },
	{ TAG_INT16, 0.1, -40, false, true, 25.0, IN_I(0), EPERM, IN_I(0) },
	{ TAG_INT16, 1, 0, true, false, 0, IN_I(32768), ERANGE, IN_I(0) },
	{ TAG_INT16, 1, 0, false, false, 0, IN_I(1), EPERM, IN_I(0) },
	/* Negative scale. */
	{ TAG_UINT16, -2, 100, true, true, 0, IN_I(0), 0, IN_U(50) },
	{ TAG_UINT16, -2, 100, true, true, 102, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_UINT16, 1, 0, true, false, 0, IN_I(-1), ERANGE, IN_I(0) },
	{ TAG_UINT16, 1, 0, true, true, -1, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_UINT32, 1000, 0, true, true, 4294967295000.0, IN_I(0), 0,
	    IN_U(UINT32_MAX) },
	/* Floats: scaled, then range checked as float32. */
	{ TAG_FLOAT32, 1, 0, true, true, 1e39, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 1e-10, 0, true, true, 1e30, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_FLOAT32, 2, 1, true, true, 3, IN_I(0), 0, IN_D(1) },
	{ TAG_FLOAT32, 1, 0, true, false, 0, IN_D(NAN), EDOM, IN_I(0) },
	{ TAG_FLOAT64, 1e-300, 0, true, true, 1e300, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_FLOAT64, 0.5, 0, true, true, 1, IN_I(0), 0, IN_D(2) },
	/* Bools take 0 and 1; strings take no engineering value. */
	{ TAG_BOOL, 1, 0, true, true, 1, IN_I(0), 0, IN_B(true) },
	{ TAG_BOOL, 1, 0, true, true, 0.5, IN_I(0), ERANGE, IN_I(0) },
	{ TAG_BOOL, 1, 0, true, false, 0, IN_I(2), ERANGE, IN_I(0) },
	{ TAG_STRING, 1, 0, true, true, 1, IN_I(0), EINVAL, IN_I(0) },
	{ TAG_STRING, 1, 0, true, false, 0, IN_S("hi"), 0, IN_S("hi") },
	{ TAG_STRING, 1, 0, true, false, 0, IN_S("too long!"), ERANGE, IN_I(0) },
	{ TAG_STRING, 1, 0, false, false, 0, IN_S("hi"), EPERM, IN_I(0) },
};

static void
test_writes(void **state)
{
	struct tag_value got, want;
	struct tags *t;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(write_cases); i++) {
		const struct write_case *c = &write_cases[i];
		struct tag_def d = def_of("w", c->type);
		char err[256];

		if (c->type != TAG_BOOL && c->type != TAG_STRING) {
			d.scale = c->scale;
			d.offset = c->offset;
		}
		d.writable = c->writable;
		t = tags_new(&d, 1, err, sizeof(err));
		if (t == NULL)
			fail_msg("case %zu: %s", i, err);
		errno = 0;
		rc = c->eng ? tags_write_eng(t, 0, c->x, &got) :
		    tags_write_raw(t, 0, c->in, &got);
		if (c->err != 0) {
			if (rc != -1 || errno != c->err)
				fail_msg("write case %zu: rc %d errno %d, want "
				    "%d", i, rc, errno, c->err);
		} else {
			if (rc != 0)
				fail_msg("write case %zu: errno %d", i, errno);
			assert_int_equal(tag_value_convert(c->type, d.length,
			    c->want, false, &want), 0);
			if (!value_same(&got, &want))
				fail_msg("write case %zu: wrong raw value", i);
		}
		/* A write never changes the table. */
		{
			struct tag_state st;

			assert_int_equal(tags_get(t, 0, &st), 0);
			assert_int_equal(st.reason, TAG_REASON_WAITING);
		}
		assert_int_equal(tags_write_eng(t, 1, 0, &got), -1);
		assert_int_equal(errno, ENOENT);
		tags_free(t);
	}
}

/* Reading: raw to engineering. */
static void
test_scaling_read(void **state)
{
	static const struct {
		enum tag_type type;
		double scale, offset;
		struct tag_input raw;
		double eng;
	} t[] = {
		{ TAG_INT16, 0.1, -40, IN_I(650), 25.0 },
		{ TAG_INT16, 0.1, -40, IN_I(-32768), -3316.8 },
		{ TAG_UINT16, -2, 100, IN_U(50), 0 },
		{ TAG_UINT32, 1, 0, IN_U(UINT32_MAX), 4294967295.0 },
		{ TAG_INT32, 0.001, 0, IN_I(-123456789), -123456.789 },
		{ TAG_FLOAT32, 10, 1, IN_D(0.5), 6 },
		{ TAG_FLOAT64, 1, 0.25, IN_D(1e300), 1e300 },
		{ TAG_BOOL, 1, 0, IN_B(true), 1 },
	};
	struct timespec now = ts_at(1);
	struct tag_state st;
	struct tags *tb;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		struct tag_def d = def_of("r", t[i].type);

		if (t[i].type != TAG_BOOL) {
			d.scale = t[i].scale;
			d.offset = t[i].offset;
		}
		assert_non_null(tb = tags_new(&d, 1, NULL, 0));
		assert_int_equal(tags_set(tb, 0, t[i].raw, &now), 0);
		assert_int_equal(tags_get(tb, 0, &st), 0);
		if (!(absd(st.eng - t[i].eng) <= 1e-9 * absd(t[i].eng)))
			fail_msg("scaling %zu: eng %.17g, want %.17g", i,
			    st.eng, t[i].eng);
		tags_free(tb);
	}
	/* Strings have no engineering value. */
	{
		struct tag_def d = def_of("s", TAG_STRING);

		assert_non_null(tb = tags_new(&d, 1, NULL, 0));
		assert_int_equal(tags_get(tb, 0, &st), 0);
		assert_true(isnan(st.eng));
		tags_free(tb);
	}
}

/* ---- quality ---------------------------------------------------------- */

struct recorder {
	unsigned calls;
	unsigned what;          /* of the last call */
	struct tag_state st;    /* of the last call */
	uint32_t id;
};

static void
record(struct tags *t, uint32_t id, unsigned what, const struct tag_state *st,
    void *arg)
{
	struct recorder *r = arg;

	(void)t;
	r->calls++;
	r->what = what;
	r->st = *st;
	r->id = id;
}

enum step_op { SET, MISS, BAD };

#define Q_GOOD TAG_QUALITY_GOOD
#define Q_UNC  TAG_QUALITY_UNCERTAIN
#define Q_BAD  TAG_QUALITY_BAD
#define V      TAGS_CHANGED_VALUE
#define Q      TAGS_CHANGED_QUALITY

static void
test_quality(void **state)
{
	/* Step i happens at second 100 + i. */
	static const struct {
		enum step_op op;
		int64_t value;                  /* SET */
		enum tag_reason reason;         /* BAD */
		uint8_t code;
		enum tag_quality q;
		enum tag_reason r;
		uint8_t want_code;
		uint32_t missed;
		unsigned what;                  /* reported, 0 = none */
		int source_step, changed_step;  /* -1: still zero */
	} s[] = {
		/* 0 */ { MISS, 0, 0, 0, Q_BAD, TAG_REASON_WAITING, 0, 1, 0,
		    -1, -1 },
		{ SET, 10, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, V | Q, 1, 1 },
		{ MISS, 0, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 1, 0, 1, 1 },
		{ MISS, 0, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 2, 0, 1, 1 },
		{ MISS, 0, 0, 0, Q_UNC, TAG_REASON_STALE, 0, 3, Q, 1, 4 },
		/* 5 */ { MISS, 0, 0, 0, Q_UNC, TAG_REASON_STALE, 0, 4, 0, 1, 4 },
		{ SET, 10, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, Q, 6, 6 },
		{ SET, 10, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, 0, 7, 6 },
		{ BAD, 0, TAG_REASON_COMM_FAILURE, 9, Q_BAD,
		    TAG_REASON_COMM_FAILURE, 0, 0, Q, 7, 8 },
		{ MISS, 0, 0, 0, Q_BAD, TAG_REASON_COMM_FAILURE, 0, 1, 0, 7, 8 },
		/* 10 */ { BAD, 0, TAG_REASON_COMM_FAILURE, 0, Q_BAD,
		    TAG_REASON_COMM_FAILURE, 0, 1, 0, 7, 8 },
		{ BAD, 0, TAG_REASON_DEVICE_EXCEPTION, 2, Q_BAD,
		    TAG_REASON_DEVICE_EXCEPTION, 2, 1, Q, 7, 11 },
		{ BAD, 0, TAG_REASON_DEVICE_EXCEPTION, 4, Q_BAD,
		    TAG_REASON_DEVICE_EXCEPTION, 4, 1, Q, 7, 12 },
		{ SET, 11, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, V | Q, 13, 13 },
		{ SET, 12, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, V, 14, 14 },
		/* 15: waiting again (a reconnect), then a first value again */
		{ BAD, 0, TAG_REASON_WAITING, 0, Q_BAD, TAG_REASON_WAITING, 0, 0,
		    Q, 14, 15 },
		{ SET, 12, 0, 0, Q_GOOD, TAG_REASON_NONE, 0, 0, V | Q, 16, 16 },
		{ BAD, 0, TAG_REASON_OUT_OF_RANGE, 0, Q_BAD,
		    TAG_REASON_OUT_OF_RANGE, 0, 0, Q, 16, 17 },
		{ BAD, 0, TAG_REASON_CONFIG_ERROR, 0, Q_BAD,
		    TAG_REASON_CONFIG_ERROR, 0, 0, Q, 16, 18 },
	};
	struct tag_def d = def_of("q", TAG_INT32);
	struct recorder rec = { 0 };
	struct tag_state st;
	struct timespec now;
	struct tags *t;
	unsigned calls;
	size_t i;
	int rc = 0;

	(void)state;
	d.stale_after = 3;
	assert_non_null(t = tags_new(&d, 1, NULL, 0));
	assert_true(tags_subscribe(t, 0, record, &rec) >= 0);
	assert_int_equal(tags_get(t, 0, &st), 0);
	assert_int_equal(st.quality, TAG_QUALITY_BAD);
	assert_int_equal(st.reason, TAG_REASON_WAITING);
	assert_int_equal(st.source_ts.tv_sec, 0);
	for (i = 0; i < NELEM(s); i++) {
		now = ts_at(100 + (time_t)i);
		calls = rec.calls;
		switch (s[i].op) {
		case SET:
			rc = tags_set(t, 0, tag_in_int(s[i].value), &now);
			break;
		case MISS:
			rc = tags_poll_missed(t, 0, &now);
			break;
		case BAD:
			rc = tags_set_bad(t, 0, s[i].reason, s[i].code, &now);
			break;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(tags_get(t, 0, &st), 0);
		if (st.quality != s[i].q || st.reason != s[i].r ||
		    st.code != s[i].want_code || st.missed != s[i].missed)
			fail_msg("step %zu: %s/%s code %u missed %u", i,
			    tag_quality_name(st.quality),
			    tag_reason_name(st.reason), st.code, st.missed);
		if (s[i].what == 0)
			assert_int_equal(rec.calls, calls);
		else {
			if (rec.calls != calls + 1 || rec.what != s[i].what)
				fail_msg("step %zu: %u calls, what %u", i,
				    rec.calls - calls, rec.what);
			assert_int_equal(rec.st.quality, s[i].q);
		}
		assert_int_equal(st.source_ts.tv_sec, s[i].source_step < 0 ? 0 :
		    100 + s[i].source_step);
		assert_int_equal(st.changed_ts.tv_sec, s[i].changed_step < 0 ?
		    0 : 100 + s[i].changed_step);
	}
	/* The value survives bad quality. */
	assert_int_equal(st.raw.i, 12);

	/* Reasons that are not BAD ones, bad times, unknown ids. */
	now = ts_at(1);
	assert_int_equal(tags_set_bad(t, 0, TAG_REASON_NONE, 0, &now), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tags_set_bad(t, 0, TAG_REASON_STALE, 0, &now), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tags_set_bad(t, 0, (enum tag_reason)77, 0, &now), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tags_poll_missed(t, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	now.tv_nsec = 1000000000L;
	assert_int_equal(tags_set(t, 0, tag_in_int(1), &now), -1);
	assert_int_equal(errno, EINVAL);
	now.tv_nsec = 0;
	assert_int_equal(tags_set(t, 1, tag_in_int(1), &now), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tags_get(t, 1, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* A value that does not fit leaves the tag alone. */
	calls = rec.calls;
	assert_int_equal(tags_set(t, 0, tag_in_int(INT64_MAX), &now), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(tags_get(t, 0, &st), 0);
	assert_int_equal(st.reason, TAG_REASON_CONFIG_ERROR);
	assert_int_equal(rec.calls, calls);
	tags_free(t);
}

/* stale_after 0: never stale; the counter still counts. */
static void
test_quality_never_stale(void **state)
{
	struct tag_def d = def_of("n", TAG_FLOAT32);
	struct timespec now = ts_at(5);
	struct tag_state st;
	struct tags *t;
	int i;

	(void)state;
	assert_non_null(t = tags_new(&d, 1, NULL, 0));
	assert_int_equal(tags_set(t, 0, tag_in_double(1.5), &now), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(tags_poll_missed(t, 0, &now), 0);
	assert_int_equal(tags_get(t, 0, &st), 0);
	assert_int_equal(st.quality, TAG_QUALITY_GOOD);
	assert_int_equal(st.missed, 1000);
	assert_true(st.raw.f32 == 1.5f);
	/* A device's NaN is stored as it is (the quality stays GOOD). */
	assert_int_equal(tags_set(t, 0, tag_in_double(NAN), &now), 0);
	assert_int_equal(tags_get(t, 0, &st), 0);
	assert_true(isnan(st.raw.f32));
	assert_true(isnan(st.eng));
	tags_free(t);
}

/* ---- deadband --------------------------------------------------------- */

static void
test_deadband(void **state)
{
	static const struct {
		const char *tag;
		enum step_op op;
		struct tag_input in;
		unsigned what;
	} s[] = {
		/* float64, eng = 2 * raw, deadband 1.0 */
		{ "f", SET, IN_D(10), V | Q },      /* first value: 20 */
		{ "f", SET, IN_D(10.4), 0 },        /* 20.8: within */
		{ "f", SET, IN_D(10.5), 0 },        /* 21.0: |1.0| not > 1 */
		{ "f", SET, IN_D(10.6), V },        /* 21.2: reported */
		{ "f", SET, IN_D(10), V },          /* 20.0: 1.2 from 21.2 */
		{ "f", SET, IN_D(10.3), 0 },        /* 20.6 */
		{ "f", BAD, IN_I(0), V | Q },       /* 20.6 != 20 at all */
		{ "f", SET, IN_D(10.3), Q },        /* 20.6 was reported */
		{ "f", SET, IN_D(NAN), V },
		{ "f", SET, IN_D(NAN), 0 },
		{ "f", SET, IN_D(10.3), V },
		{ "f", SET, IN_D(INFINITY), V },
		{ "f", SET, IN_D(INFINITY), 0 },
		{ "f", SET, IN_D(-INFINITY), V },
		{ "f", SET, IN_D(10.3), V },
		{ "f", SET, IN_D(10.7), 0 },        /* 21.4: 0.8 */
		{ "f", MISS, IN_I(0), V | Q },      /* stale, 21.4 reported */
		{ "f", SET, IN_D(10.7), Q },
		/* int16, deadband 5 (raw = eng) */
		{ "i", SET, IN_I(100), V | Q },
		{ "i", SET, IN_I(104), 0 },
		{ "i", SET, IN_I(105), 0 },
		{ "i", SET, IN_I(106), V },
		{ "i", SET, IN_I(101), 0 },
		{ "i", SET, IN_I(100), V },
		/* uint16, deadband 0: any change */
		{ "z", SET, IN_I(0), V | Q },       /* first value, even 0 */
		{ "z", SET, IN_I(0), 0 },
		{ "z", SET, IN_I(1), V },
		{ "z", SET, IN_I(1), 0 },
		{ "z", BAD, IN_I(0), Q },
		{ "z", SET, IN_I(2), V | Q },
		/* bool and string: any change */
		{ "b", SET, IN_B(false), V | Q },
		{ "b", SET, IN_B(false), 0 },
		{ "b", SET, IN_B(true), V },
		{ "s", SET, IN_S("a"), V | Q },
		{ "s", SET, IN_S("a"), 0 },
		{ "s", SET, IN_S("ab"), V },
		{ "s", SET, IN_S("ab\0c"), 0 },
		{ "s", SET, IN_S(""), V },
	};
	struct tag_def d[5];
	struct recorder rec = { 0 };
	struct timespec now = ts_at(7);
	struct tags *t;
	unsigned calls;
	uint32_t id;
	size_t i;

	(void)state;
	d[0] = def_of("f", TAG_FLOAT64);
	d[0].scale = 2;
	d[0].deadband = 1.0;
	d[0].stale_after = 1;
	d[1] = def_of("i", TAG_INT16);
	d[1].deadband = 5;
	d[2] = def_of("z", TAG_UINT16);
	d[3] = def_of("b", TAG_BOOL);
	d[4] = def_of("s", TAG_STRING);
	assert_non_null(t = tags_new(d, NELEM(d), NULL, 0));
	assert_true(tags_subscribe(t, TAGS_ALL, record, &rec) >= 0);
	for (i = 0; i < NELEM(s); i++) {
		assert_int_equal(tags_find(t, s[i].tag, &id), 0);
		calls = rec.calls;
		if (s[i].op == SET)
			assert_int_equal(tags_set(t, id, s[i].in, &now), 0);
		else if (s[i].op == MISS)
			assert_int_equal(tags_poll_missed(t, id, &now), 0);
		else
			assert_int_equal(tags_set_bad(t, id,
			    TAG_REASON_COMM_FAILURE, 0, &now), 0);
		if (rec.calls - calls != (s[i].what != 0 ? 1u : 0u) ||
		    (s[i].what != 0 && rec.what != s[i].what))
			fail_msg("deadband step %zu (%s): %u calls, what %u, "
			    "want %u", i, s[i].tag, rec.calls - calls,
			    rec.what, s[i].what);
		if (s[i].what != 0)
			assert_int_equal(rec.id, id);
	}
	tags_free(t);
}

/* ---- subscriptions ---------------------------------------------------- */

struct killer {
	struct tags *t;
	int *handles;           /* to end when called */
	size_t n;
	unsigned calls;
	int set_rc, set_errno;  /* an update tried from inside */
	int new_sub;            /* subscribed from inside, once */
	struct recorder *late;
};

static void
kill_all(struct tags *t, uint32_t id, unsigned what, const struct tag_state *st,
    void *arg)
{
	struct killer *k = arg;
	struct timespec now = ts_at(3);
	struct tag_state mine;
	size_t i;

	(void)what;
	(void)st;
	k->calls++;
	for (i = 0; i < k->n; i++)
		(void)tags_unsubscribe(t, k->handles[i]);
	/* Reading is fine; updating is not. */
	assert_int_equal(tags_get(t, id, &mine), 0);
	errno = 0;
	k->set_rc = tags_set(t, id, tag_in_int(99), &now);
	k->set_errno = errno;
	if (k->late != NULL && k->new_sub < 0)
		k->new_sub = tags_subscribe(t, id, record, k->late);
}

static void
test_unsubscribe_in_callback(void **state)
{
	struct tag_def d[3] = {
		def_of("a", TAG_INT16), def_of("b", TAG_INT16),
		def_of("c", TAG_INT16),
	};
	struct timespec now = ts_at(2);
	struct killer k[3];
	struct recorder late = { 0 };
	int h[3];
	struct tags *t;
	size_t i;
	unsigned total;

	(void)state;
	assert_non_null(t = tags_new(d, NELEM(d), NULL, 0));
	/* Three subscribers to tag 0 (two through TAGS_ALL); whichever is
	 * called first ends all three, so exactly one is called. */
	for (i = 0; i < 3; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].t = t;
		k[i].handles = h;
		k[i].n = 3;
		k[i].new_sub = 0;      /* no subscribing in this round */
		h[i] = tags_subscribe(t, i == 1 ? 0 : TAGS_ALL, kill_all,
		    &k[i]);
		assert_true(h[i] >= 0);
	}
	assert_int_equal(tags_set(t, 0, tag_in_int(1), &now), 0);
	total = k[0].calls + k[1].calls + k[2].calls;
	assert_int_equal(total, 1);
	for (i = 0; i < 3; i++)
		if (k[i].calls == 1) {
			assert_int_equal(k[i].set_rc, -1);
			assert_int_equal(k[i].set_errno, EBUSY);
		}
	/* The update from inside was refused: the value is 1. */
	{
		struct tag_state st;

		assert_int_equal(tags_get(t, 0, &st), 0);
		assert_int_equal(st.raw.i, 1);
	}
	/* All three are gone, and their handles are stale. */
	assert_int_equal(tags_set(t, 0, tag_in_int(2), &now), 0);
	assert_int_equal(k[0].calls + k[1].calls + k[2].calls, 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tags_unsubscribe(t, h[i]), -1);
		assert_int_equal(errno, ENOENT);
	}

	/* A subscriber that ends itself and subscribes another: the new one
	 * is not called for the change under way, only for the next. */
	memset(&k[0], 0, sizeof(k[0]));
	k[0].t = t;
	k[0].handles = h;
	k[0].n = 1;
	k[0].new_sub = -1;
	k[0].late = &late;
	h[0] = tags_subscribe(t, 1, kill_all, &k[0]);
	assert_true(h[0] >= 0);
	assert_int_equal(tags_set(t, 1, tag_in_int(5), &now), 0);
	assert_int_equal(k[0].calls, 1);
	assert_true(k[0].new_sub >= 0);
	/* It took the slot just freed (the case that matters), yet was
	 * not called in this round. */
	assert_int_equal(k[0].new_sub % TAGS_MAX_SUBSCRIBERS,
	    h[0] % TAGS_MAX_SUBSCRIBERS);
	assert_int_equal(late.calls, 0);
	assert_int_equal(tags_set(t, 1, tag_in_int(6), &now), 0);
	assert_int_equal(k[0].calls, 1);
	assert_int_equal(late.calls, 1);
	/* The old handle cannot end the new subscription in its slot. */
	assert_int_equal(tags_unsubscribe(t, h[0]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tags_unsubscribe(t, k[0].new_sub), 0);
	tags_free(t);
}

static void
test_subscriptions(void **state)
{
	struct tag_def d[4] = {
		def_of("p0", TAG_INT16), def_of("p1", TAG_INT16),
		def_of("p2", TAG_INT16), def_of("p3", TAG_INT16),
	};
	struct recorder rec = { 0 }, spare = { 0 };
	struct timespec now = ts_at(9);
	int h[TAGS_MAX_SUBSCRIBERS], sub, i;
	struct tags *t;

	(void)state;
	assert_non_null(t = tags_new(d, NELEM(d), NULL, 0));

	/* One subscription watching a set of tags. */
	assert_true((sub = tags_subscribe(t, 0, record, &rec)) >= 0);
	assert_int_equal(tags_subscribe_add(t, sub, 2), 0);
	assert_int_equal(tags_subscribe_add(t, sub, 2), 0);   /* twice: once */
	assert_int_equal(tags_subscribe_add(t, sub, 4), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tags_subscribe_add(t, sub + 1, 1), -1);
	assert_int_equal(errno, ENOENT);
	for (i = 0; i < 4; i++)
		assert_int_equal(tags_set(t, (uint32_t)i, tag_in_int(i + 1),
		    &now), 0);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(rec.id, 2);
	assert_int_equal(tags_unsubscribe(t, sub), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(tags_set(t, (uint32_t)i, tag_in_int(i + 10),
		    &now), 0);
	assert_int_equal(rec.calls, 2);

	/* Bad arguments. */
	assert_int_equal(tags_subscribe(t, 4, record, &rec), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tags_subscribe(t, 0, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tags_unsubscribe(t, -1), -1);
	assert_int_equal(errno, ENOENT);

	/* At most TAGS_MAX_SUBSCRIBERS. */
	for (i = 0; i < TAGS_MAX_SUBSCRIBERS; i++)
		assert_true((h[i] = tags_subscribe(t, TAGS_ALL, record,
		    &spare)) >= 0);
	assert_int_equal(tags_subscribe(t, 0, record, &rec), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(tags_set(t, 3, tag_in_int(77), &now), 0);
	assert_int_equal(spare.calls, TAGS_MAX_SUBSCRIBERS);
	assert_int_equal(tags_unsubscribe(t, h[17]), 0);
	assert_true((h[17] = tags_subscribe(t, 1, record, &rec)) >= 0);
	for (i = 0; i < TAGS_MAX_SUBSCRIBERS; i++)
		assert_int_equal(tags_unsubscribe(t, h[i]), 0);
	assert_true(tags_subscribe(t, 0, record, &rec) >= 0);
	tags_free(t);
}

/* ---- definitions and lookups ----------------------------------------- */

static void
test_lookup(void **state)
{
	struct tag_def d[3];
	char names[3][TAG_NAME_MAX + 1], unit[] = "degC";
	char buf[8] = { 'b', 'e', 't', 'a', 'X', 'X', 'X', 'X' };
	const struct tag_def *got;
	struct tags *t;
	uint32_t id = 1234;

	(void)state;
	strcpy(names[0], "alpha");
	strcpy(names[1], "beta");
	memset(names[2], 'z', TAG_NAME_MAX);
	names[2][TAG_NAME_MAX] = '\0';
	d[0] = def_of(names[0], TAG_UINT32);
	d[0].unit = unit;
	d[1] = def_of(names[1], TAG_STRING);
	d[1].length = 250;
	d[1].writable = true;
	d[2] = def_of(names[2], TAG_FLOAT32);
	d[2].unit = "\xc2\xb0" "C";      /* °C */
	assert_non_null(t = tags_new(d, NELEM(d), NULL, 0));
	/* The table keeps its own copies. */
	memset(names, 'Q', sizeof(names));
	memset(unit, 'Q', sizeof(unit) - 1);

	assert_int_equal(tags_count(t), 3);
	assert_int_equal(tags_find(t, "alpha", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(tags_find_len(t, buf, 4, &id), 0);
	assert_int_equal(id, 1);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(tags_find_len(t, buf, sizeof(buf), &id), -1);
	assert_int_equal(errno, ENOENT);
	{
		char z[TAG_NAME_MAX + 2];

		memset(z, 'z', sizeof(z));
		z[TAG_NAME_MAX] = '\0';
		assert_int_equal(tags_find(t, z, &id), 0);
		assert_int_equal(id, 2);
		z[TAG_NAME_MAX] = 'z';
		z[TAG_NAME_MAX + 1] = '\0';
		assert_int_equal(tags_find(t, z, &id), -1);
		assert_int_equal(tags_find_len(t, z, TAG_NAME_MAX + 1, &id), -1);
	}
	id = 1234;
	assert_int_equal(tags_find(t, "alph", &id), -1);
	assert_int_equal(tags_find(t, "alphaa", &id), -1);
	assert_int_equal(tags_find(t, "", &id), -1);
	assert_int_equal(tags_find(t, NULL, &id), -1);
	assert_int_equal(tags_find_len(t, "alpha\0", 6, &id), -1);
	assert_int_equal(id, 1234);       /* untouched on failure */

	assert_non_null(got = tags_def(t, 0));
	assert_string_equal(got->name, "alpha");
	assert_string_equal(got->unit, "degC");
	assert_int_equal(got->type, TAG_UINT32);
	assert_non_null(got = tags_def(t, 1));
	assert_string_equal(got->unit, "");
	assert_int_equal(got->length, 250);
	assert_true(got->writable);
	assert_string_equal(tags_def(t, 2)->unit, "\xc2\xb0" "C");
	assert_null(tags_def(t, 3));
	tags_free(t);
	tags_free(NULL);

	/* An empty table is a table. */
	assert_non_null(t = tags_new(NULL, 0, NULL, 0));
	assert_int_equal(tags_count(t), 0);
	assert_int_equal(tags_find(t, "alpha", &id), -1);
	assert_int_equal(tags_subscribe(t, 0, record, NULL), -1);
	assert_true(tags_subscribe(t, TAGS_ALL, record, NULL) >= 0);
	tags_free(t);
}

static void
test_names(void **state)
{
	enum tag_type ty;
	enum tag_swap sw;
	unsigned i;

	(void)state;
	for (i = 0; i <= TAG_STRING; i++) {
		assert_int_equal(tag_type_from_name(tag_type_name(i), &ty), 0);
		assert_int_equal(ty, i);
	}
	for (i = 0; i <= TAG_SWAP_BOTH; i++) {
		assert_int_equal(tag_swap_from_name(tag_swap_name(i), &sw), 0);
		assert_int_equal(sw, i);
	}
	assert_string_equal(tag_type_name(TAG_FLOAT32), "float32");
	assert_string_equal(tag_type_name((enum tag_type)99), "?");
	assert_int_equal(tag_type_from_name("float", &ty), -1);
	assert_int_equal(tag_type_from_name(NULL, &ty), -1);
	assert_int_equal(tag_swap_from_name("Word", &sw), -1);
	assert_string_equal(tag_quality_name(TAG_QUALITY_UNCERTAIN), "uncertain");
	assert_string_equal(tag_reason_name(TAG_REASON_COMM_FAILURE),
	    "comm-failure");
	assert_string_equal(tag_reason_name(TAG_REASON_DEVICE_EXCEPTION),
	    "device-exception");
	assert_string_equal(tag_reason_name((enum tag_reason)50), "?");
}

static void
test_bad_defs(void **state)
{
	static const struct {
		const char *name;
		enum tag_type type;
		uint16_t length;
		double scale, offset, deadband;
		const char *unit;
		const char *msg;
	} t[] = {
		{ "ok", TAG_INT16, 0, 1, 0, 0, NULL, NULL },
		{ NULL, TAG_INT16, 0, 1, 0, 0, NULL,
		    "tag #1: no name: a name is required" },
		{ "", TAG_INT16, 0, 1, 0, 0, NULL, "tag #1: name \"\": empty" },
		{ "a b", TAG_INT16, 0, 1, 0, 0, NULL,
		    "tag #1: name \"a b\": bytes other than [A-Za-z0-9_.-]" },
		{ "t\x01", TAG_INT16, 0, 1, 0, 0, NULL,
		    "tag #1: name \"t\\x01\": bytes other than" },
		{ "caf\xc3\xa9", TAG_INT16, 0, 1, 0, 0, NULL,
		    "tag #1: name \"caf\\xc3\\xa9\": bytes other than" },
		{ "x123456789012345678901234567890123456789012345678901234567890"
		  "123", TAG_INT16, 0, 1, 0, 0, NULL, "longer than 63 bytes" },
		{ "t", (enum tag_type)8, 0, 1, 0, 0, NULL,
		    "tag \"t\" (#1): unknown type" },
		{ "t", TAG_STRING, 0, 1, 0, 0, NULL,
		    "tag \"t\" (#1): a string's length must be 1..250 bytes" },
		{ "t", TAG_STRING, 251, 1, 0, 0, NULL, "length must be 1..250" },
		{ "t", TAG_INT16, 2, 1, 0, 0, NULL,
		    "length applies to string tags only" },
		{ "t", TAG_INT16, 0, 0, 0, 0, NULL,
		    "tag \"t\" (#1): scale must be finite and not 0" },
		{ "t", TAG_FLOAT32, 0, NAN, 0, 0, NULL, "scale must be finite" },
		{ "t", TAG_FLOAT32, 0, INFINITY, 0, 0, NULL, "scale must be" },
		{ "t", TAG_UINT32, 0, 1, NAN, 0, NULL, "offset must be finite" },
		{ "t", TAG_BOOL, 0, 2, 0, 0, NULL,
		    "scale and offset apply to numeric types only" },
		{ "t", TAG_STRING, 4, 1, 1, 0, NULL,
		    "scale and offset apply to numeric types only" },
		{ "t", TAG_INT32, 0, 1, 0, -1, NULL,
		    "deadband must be finite and >= 0" },
		{ "t", TAG_INT32, 0, 1, 0, NAN, NULL, "deadband must be" },
		{ "t", TAG_BOOL, 0, 1, 0, 1, NULL,
		    "deadband applies to numeric types only" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "0123456789abcdef",
		    "unit longer than 15 bytes" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "m\n",
		    "unit is not printable UTF-8" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "\xc0\xb0",    /* overlong */
		    "unit is not printable UTF-8" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "\xed\xa0\x80", /* surrogate */
		    "unit is not printable UTF-8" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "\xc2\x85",    /* C1 NEL */
		    "unit is not printable UTF-8" },
		{ "t", TAG_INT32, 0, 1, 0, 0, "\xe2\x82",    /* cut short */
		    "unit is not printable UTF-8" },
		/* Fine: the longest unit, a name of 63 bytes, all allowed
		 * bytes, a 4-byte UTF-8 unit. */
		{ "t", TAG_INT32, 0, 1, 0, 0, "0123456789abcde", NULL },
		{ "x12345678901234567890123456789012345678901234567890123456789"
		  "012", TAG_INT16, 0, 1, 0, 0, NULL, NULL },
		{ "Az09_.-", TAG_FLOAT64, 0, -1e-9, -5, 0.5, "\xf0\x9f\x8c\xa1",
		    NULL },
		{ "t", TAG_STRING, 250, 1, 0, 0, "", NULL },
	};
	struct tag_def d[2];
	char err[256];
	struct tags *tb;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		d[0] = def_of("first", TAG_INT16);
		tag_def_init(&d[1]);
		d[1].name = t[i].name;
		d[1].type = t[i].type;
		d[1].length = t[i].length;
		d[1].scale = t[i].scale;
		d[1].offset = t[i].offset;
		d[1].deadband = t[i].deadband;
		d[1].unit = t[i].unit;
		strcpy(err, "untouched");
		errno = 0;
		tb = tags_new(d, 2, err, sizeof(err));
		if (t[i].msg == NULL) {
			if (tb == NULL)
				fail_msg("def %zu refused: %s", i, err);
			assert_string_equal(err, "");
			assert_int_equal(tag_def_check(&d[1], err, sizeof(err)),
			    0);
			tags_free(tb);
			continue;
		}
		if (tb != NULL || errno != EINVAL)
			fail_msg("def %zu accepted", i);
		if (strstr(err, t[i].msg) == NULL)
			fail_msg("def %zu: \"%s\", want \"%s\"", i, err,
			    t[i].msg);
		assert_int_equal(tag_def_check(&d[1], err, sizeof(err)), -1);
		assert_int_equal(errno, EINVAL);
	}

	/* tag_def_check() alone: no index (the parser adds file:line). */
	{
		static const struct {
			const char *name;
			const char *msg;
		} c[] = {
			{ "t", "tag \"t\": scale must be finite and not 0" },
			{ NULL, "tag: no name: a name is required" },
			{ "a b", "tag: name \"a b\": bytes other than "
			    "[A-Za-z0-9_.-]" },
		};

		for (i = 0; i < NELEM(c); i++) {
			d[0] = def_of(c[i].name, TAG_INT16);
			d[0].scale = 0;
			assert_int_equal(tag_def_check(&d[0], err, sizeof(err)),
			    -1);
			assert_string_equal(err, c[i].msg);
		}
	}

	/* Duplicates name both. */
	d[0] = def_of("pump1", TAG_INT16);
	d[1] = def_of("pump1", TAG_FLOAT32);
	assert_null(tags_new(d, 2, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "tag \"pump1\" (#1): duplicate name (also #0)");
	/* Names differ by case. */
	d[1].name = "Pump1";
	assert_non_null(tb = tags_new(d, 2, err, sizeof(err)));
	tags_free(tb);
	/* Too many; and a short or absent error buffer is fine. */
	assert_null(tags_new(d, (size_t)TAGS_MAX + 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "at most 100000"));
	d[1].name = "pump1";
	assert_null(tags_new(d, 2, err, 5));
	assert_string_equal(err, "tag ");
	assert_null(tags_new(d, 2, NULL, 0));
}

/* ---- 10,000 tags ------------------------------------------------------ */

static double
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 +
	    (double)(b->tv_nsec - a->tv_nsec);
}

static void
count_calls(struct tags *t, uint32_t id, unsigned what,
    const struct tag_state *st, void *arg)
{
	(void)t;
	(void)id;
	(void)what;
	(void)st;
	++*(unsigned long *)arg;
}

#define BIG      10000
#define UPDATES  1000000

/*
 * Correctness at size, then figures: build, lookups and updates (every
 * update a changed value, half of them within a deadband), through the
 * Modbus path too (decode two registers, store).  Printed, not asserted:
 * a loaded machine or a sanitizer build must not fail the test.
 */
static void
test_10000_tags(void **state)
{
	static const enum tag_type types[] = {
		TAG_INT16, TAG_UINT16, TAG_INT32, TAG_UINT32, TAG_FLOAT32,
		TAG_FLOAT64, TAG_BOOL,
	};
	struct tag_def *d;
	char (*names)[24];
	struct timespec t0, t1, now = ts_at(1700000000);
	struct tag_state st;
	struct tag_value v;
	struct tags *t;
	unsigned long calls = 0;
	double build_ns, find_ns, set_ns, mb_ns;
	uint32_t id, sum = 0;
	uint16_t w[2];
	size_t i;

	(void)state;
	assert_non_null(d = calloc(BIG, sizeof(*d)));
	assert_non_null(names = calloc(BIG, sizeof(*names)));
	for (i = 0; i < BIG; i++) {
		snprintf(names[i], sizeof(names[i]), "plant.line%zu.pt-%zu",
		    i % 17, i);
		d[i] = def_of(names[i], types[i % NELEM(types)]);
		if (d[i].type != TAG_BOOL) {
			d[i].scale = 0.5;
			d[i].deadband = i % 2 ? 1.0 : 0;
		}
		d[i].stale_after = 3;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	t = tags_new(d, BIG, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(t);
	build_ns = elapsed_ns(&t0, &t1);
	assert_true(tags_subscribe(t, TAGS_ALL, count_calls, &calls) >= 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < UPDATES; i++) {
		assert_int_equal(tags_find(t, names[(i * 7919) % BIG], &id), 0);
		sum += id;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	find_ns = elapsed_ns(&t0, &t1) / UPDATES;
	for (i = 0; i < BIG; i++) {
		assert_int_equal(tags_find(t, names[i], &id), 0);
		assert_int_equal(id, i);
	}

	/* Values 0..3 raw (eng 0..1.5): the deadband-1.0 tags report on
	 * some changes only; the bools take i % 2. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < UPDATES; i++) {
		id = (uint32_t)(i % BIG);
		if (tags_set(t, id, types[id % NELEM(types)] == TAG_BOOL ?
		    tag_in_int((int64_t)((i / BIG) % 2)) :
		    tag_in_int((int64_t)((i / BIG) % 4)), &now) != 0)
			fail_msg("update %zu refused", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	set_ns = elapsed_ns(&t0, &t1) / UPDATES;

	/* The Modbus path: two registers to a float32 tag. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < UPDATES; i++) {
		float f = (float)(i % 1000);
		uint32_t u;

		memcpy(&u, &f, sizeof(u));
		w[0] = (uint16_t)(u >> 16);
		w[1] = (uint16_t)u;
		id = (uint32_t)(4 + (i % (BIG / 7)) * 7);   /* float32 tags */
		if (tag_decode(TAG_FLOAT32, 0, TAG_SWAP_NONE, w, 2, &v) != 0 ||
		    tags_set_value(t, id, &v, &now) != 0)
			fail_msg("modbus update %zu refused", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mb_ns = elapsed_ns(&t0, &t1) / UPDATES;

	/* Every tag good, then a missed-poll sweep makes them stale. */
	for (i = 0; i < BIG; i++) {
		assert_int_equal(tags_get(t, (uint32_t)i, &st), 0);
		assert_int_equal(st.quality, TAG_QUALITY_GOOD);
	}
	for (i = 0; i < 3 * BIG; i++)
		assert_int_equal(tags_poll_missed(t, (uint32_t)(i % BIG), &now),
		    0);
	assert_int_equal(tags_get(t, BIG - 1, &st), 0);
	assert_int_equal(st.quality, TAG_QUALITY_UNCERTAIN);

	print_message("tags: build %d tags %.2f ms; lookup %.0f ns; "
	    "update %.0f ns (tags_set, %lu reports); decode+set %.0f ns "
	    "(float32, 2 registers)\n", BIG, build_ns / 1e6, find_ns, set_ns,
	    calls, mb_ns);
	(void)sum;
	tags_free(t);
	free(names);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_codec_vectors),
		cmocka_unit_test(test_codec_decode_rules),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_errors),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_scaling_read),
		cmocka_unit_test(test_quality),
		cmocka_unit_test(test_quality_never_stale),
		cmocka_unit_test(test_deadband),
		cmocka_unit_test(test_unsubscribe_in_callback),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_defs),
		cmocka_unit_test(test_10000_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
