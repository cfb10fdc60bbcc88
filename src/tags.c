/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tags.c - the tag table and the register codec (see tags.h).
 *
 * Layout: the definitions (cold, read by consumers) and the states (hot,
 * touched by every update) are separate arrays indexed by id; names and
 * units live in one text block, string values in one byte block, each
 * string tag owning def.length bytes of it.  The name index is an open
 * addressing hash (linear probing, load <= 1/2) of ids.  Its hash is not
 * keyed: the names come from the policy, not from a peer, so a peer's
 * lookup costs at most the longest probe run the policy itself made.
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <math.h>               /* classification macros only */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tags.h"

struct tag_slot {
	union {
		bool b;
		int64_t i;
		uint64_t u;
		float f32;
		double f64;
	} raw;
	double reported;           /* eng at the last report (deadband > 0) */
	uint64_t subs;             /* subscription slots watching this tag */
	struct timespec source_ts, changed_ts;
	uint32_t missed;
	uint32_t soff;             /* TAG_STRING: its bytes in t->strings */
	uint16_t slen;             /* TAG_STRING: bytes of the value */
	uint8_t quality, reason, code;
};

struct tag_sub {
	tags_notify_fn fn;
	void *arg;
	uint32_t gen;              /* bumped per subscribe (stale handles) */
	uint32_t n_ids;            /* tags watched (not TAGS_ALL) */
	uint32_t first_id;         /* the one, when n_ids == 1 */
};

struct tags {
	size_t n;
	struct tag_def *defs;
	struct tag_slot *slots;
	char *text;                /* names and units, NUL-terminated */
	uint8_t *strings;          /* string values */
	uint32_t *index;           /* id + 1; 0 = empty */
	size_t index_mask;
	struct tag_sub subs[TAGS_MAX_SUBSCRIBERS];
	uint64_t subs_live;
	uint64_t subs_all;         /* live slots watching every tag */
	uint64_t pending;          /* slots still to call for this change */
	bool dispatching;
};

#define SUB_SLOT_BITS 6            /* 64 slots */
#define SUB_GEN_MASK  0xFFFFFFu    /* handle = gen << 6 | slot: an int >= 0 */

_Static_assert(TAGS_MAX_SUBSCRIBERS == 1 << SUB_SLOT_BITS,
    "one bit of a uint64_t per subscription slot");
_Static_assert(TAGS_MAX <= UINT32_MAX / 2, "ids fit the index");

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- names ------------------------------------------------------------ */

static const char *const type_names[] = {
	[TAG_BOOL] = "bool", [TAG_INT16] = "int16", [TAG_UINT16] = "uint16",
	[TAG_INT32] = "int32", [TAG_UINT32] = "uint32",
	[TAG_FLOAT32] = "float32", [TAG_FLOAT64] = "float64",
	[TAG_STRING] = "string",
};
static const char *const quality_names[] = {
	[TAG_QUALITY_GOOD] = "good", [TAG_QUALITY_UNCERTAIN] = "uncertain",
	[TAG_QUALITY_BAD] = "bad",
};
static const char *const reason_names[] = {
	[TAG_REASON_NONE] = "none", [TAG_REASON_WAITING] = "waiting",
	[TAG_REASON_COMM_FAILURE] = "comm-failure",
	[TAG_REASON_CONFIG_ERROR] = "config-error",
	[TAG_REASON_DEVICE_EXCEPTION] = "device-exception",
	[TAG_REASON_OUT_OF_RANGE] = "out-of-range",
	[TAG_REASON_STALE] = "stale",
};
static const char *const swap_names[] = {
	[TAG_SWAP_NONE] = "none", [TAG_SWAP_BYTE] = "byte",
	[TAG_SWAP_WORD] = "word", [TAG_SWAP_BOTH] = "both",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *
name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] != NULL ? names[v] : "?";
}

static int
from_name(const char *const *names, size_t n, const char *name, unsigned *v)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			*v = (unsigned)i;
			return 0;
		}
	errno = EINVAL;
	return -1;
}

const char *
tag_type_name(enum tag_type type)
{
	return name_of(type_names, NELEM(type_names), type);
}

int
tag_type_from_name(const char *name, enum tag_type *type)
{
	unsigned v;

	if (from_name(type_names, NELEM(type_names), name, &v) < 0)
		return -1;
	*type = (enum tag_type)v;
	return 0;
}

const char *
tag_quality_name(enum tag_quality q)
{
	return name_of(quality_names, NELEM(quality_names), q);
}

const char *
tag_reason_name(enum tag_reason r)
{
	return name_of(reason_names, NELEM(reason_names), r);
}

const char *
tag_swap_name(enum tag_swap swap)
{
	return name_of(swap_names, NELEM(swap_names), swap);
}

int
tag_swap_from_name(const char *name, enum tag_swap *swap)
{
	unsigned v;

	if (from_name(swap_names, NELEM(swap_names), name, &v) < 0)
		return -1;
	*swap = (enum tag_swap)v;
	return 0;
}

/* ---- definitions ------------------------------------------------------ */

void
tag_def_init(struct tag_def *d)
{
	memset(d, 0, sizeof(*d));
	d->scale = 1;
}

static bool
type_valid(enum tag_type type)
{
	return (unsigned)type <= TAG_STRING;
}

static bool
type_numeric(enum tag_type type)
{
	return type != TAG_BOOL && type != TAG_STRING;
}

static bool
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > TAG_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Well-formed UTF-8 (RFC 3629, section 4: no overlongs, no surrogates,
 * nothing above U+10FFFF) without C0, DEL or C1 controls: a unit goes to
 * JSON, syslog and terminals as it is.
 */
static bool
unit_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, n;
	uint32_t cp, min;

	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else
			return false;
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||    /* surrogates */
		    (cp >= 0x80 && cp <= 0x9f))          /* C1 controls */
			return false;
		i += n + 1;
	}
	return true;
}

#define NO_INDEX SIZE_MAX     /* tag_def_check(): the index is not known */

/*
 * "tag "name" (#i)" or, for a bad name, "tag #i: name "quoted"" (without
 * " (#i)" and "#i" for NO_INDEX).
 */
static void
def_prefix(char *buf, size_t buflen, const struct tag_def *d, size_t idx)
{
	char q[4 * TAG_NAME_MAX + 8], num[32] = "";
	size_t len;

	if (idx != NO_INDEX)
		snprintf(num, sizeof(num), "#%zu", idx);
	if (d->name == NULL) {
		snprintf(buf, buflen, "tag%s%s: no name", *num ? " " : "", num);
		return;
	}
	len = strnlen(d->name, TAG_NAME_MAX + 1);
	if (name_valid(d->name, len)) {
		snprintf(buf, buflen, "tag \"%s\"%s%s%s", d->name,
		    *num ? " (" : "", num, *num ? ")" : "");
		return;
	}
	log_quote(q, sizeof(q), d->name, len);
	snprintf(buf, buflen, "tag%s%s: name \"%s\"", *num ? " " : "", num, q);
}

static const char *
def_problem(const struct tag_def *d)
{
	size_t len;

	if (d->name == NULL)
		return "a name is required";
	len = strnlen(d->name, TAG_NAME_MAX + 1);
	if (len == 0)
		return "empty";
	if (len > TAG_NAME_MAX)
		return "longer than 63 bytes";
	if (!name_valid(d->name, len))
		return "bytes other than [A-Za-z0-9_.-]";
	if (!type_valid(d->type))
		return "unknown type";
	if (d->type == TAG_STRING &&
	    (d->length < 1 || d->length > TAG_STRING_MAX))
		return "a string's length must be 1..250 bytes";
	if (d->type != TAG_STRING && d->length != 0)
		return "length applies to string tags only";
	if (type_numeric(d->type)) {
		if (!isfinite(d->scale) || d->scale == 0)
			return "scale must be finite and not 0";
		if (!isfinite(d->offset))
			return "offset must be finite";
	} else if (d->scale != 1 || d->offset != 0)
		return "scale and offset apply to numeric types only";
	if (!isfinite(d->deadband) || d->deadband < 0)
		return "deadband must be finite and >= 0";
	if (!type_numeric(d->type) && d->deadband != 0)
		return "deadband applies to numeric types only";
	if (d->unit != NULL) {
		len = strnlen(d->unit, TAG_UNIT_MAX + 1);
		if (len > TAG_UNIT_MAX)
			return "unit longer than 15 bytes";
		if (!unit_valid(d->unit, len))
			return "unit is not printable UTF-8";
	}
	return NULL;
}

static int
def_check(const struct tag_def *d, size_t idx, char *err, size_t errlen)
{
	const char *what = def_problem(d);
	char pfx[4 * TAG_NAME_MAX + 64];

	if (what == NULL)
		return 0;
	def_prefix(pfx, sizeof(pfx), d, idx);
	seterr(err, errlen, "%s: %s", pfx, what);
	errno = EINVAL;
	return -1;
}

int
tag_def_check(const struct tag_def *d, char *err, size_t errlen)
{
	return def_check(d, NO_INDEX, err, errlen);
}

/* ---- value conversion ------------------------------------------------- */

static bool
int_range(enum tag_type type, int64_t *lo, int64_t *hi)
{
	switch (type) {
	case TAG_INT16:  *lo = INT16_MIN; *hi = INT16_MAX; return true;
	case TAG_UINT16: *lo = 0; *hi = UINT16_MAX; return true;
	case TAG_INT32:  *lo = INT32_MIN; *hi = INT32_MAX; return true;
	case TAG_UINT32: *lo = 0; *hi = UINT32_MAX; return true;
	default:         return false;
	}
}

static bool
type_signed(enum tag_type type)
{
	return type == TAG_INT16 || type == TAG_INT32;
}

/* Store integer v (known to be in lo..hi) in out's member for type. */
static void
put_int(enum tag_type type, int64_t v, struct tag_value *out)
{
	if (type_signed(type))
		out->i = v;
	else
		out->u = (uint64_t)v;
}

/* Zero v but for the string bytes (260 bytes; strings fill their own). */
static void
value_clear(struct tag_value *v, enum tag_type type)
{
	memset(v, 0, offsetof(struct tag_value, s) + sizeof(uint64_t));
	v->type = type;
}

/* |d|, without libm (nothing else in sluiced needs -lm). */
static double
dabs(double d)
{
	return d < 0 ? -d : d;
}

/*
 * Round d (finite, |d| < 2^62) to the nearest integer, half away from
 * zero, exactly: round() without libm.  Beyond 2^52 every double is an
 * integer already; below, the cast truncates and d - n is exact.
 */
static int64_t
round_half_away(double d)
{
	int64_t n = (int64_t)d;
	double frac = d - (double)n;

	if (frac >= 0.5)
		n++;
	else if (frac <= -0.5)
		n--;
	return n;
}

static int
fail(int e)
{
	errno = e;
	return -1;
}

int
tag_value_convert(enum tag_type type, uint16_t length, struct tag_input in,
    bool allow_nonfinite, struct tag_value *out)
{
	struct tag_value v;
	int64_t lo, hi, n;
	double d;
	const uint8_t *nul;
	size_t len;

	if (!type_valid(type) ||
	    (type == TAG_STRING && (length < 1 || length > TAG_STRING_MAX)))
		return fail(EINVAL);
	if ((in.kind == TAG_IN_BYTES) != (type == TAG_STRING))
		return fail(EINVAL);
	value_clear(&v, type);
	switch (in.kind) {
	case TAG_IN_BOOL:
		d = in.b ? 1 : 0;
		break;
	case TAG_IN_INT:
		/* Only for the bool check and float64 (rounded once):
		 * integer types compare in.i itself, float32 converts it
		 * directly. */
		d = (double)in.i;
		break;
	case TAG_IN_UINT:
		d = (double)in.u;
		break;
	case TAG_IN_DOUBLE:
		d = in.d;
		if (isnan(d) || isinf(d)) {
			if (!allow_nonfinite ||
			    (type != TAG_FLOAT32 && type != TAG_FLOAT64))
				return fail(EDOM);
		}
		break;
	case TAG_IN_BYTES:
		len = in.bytes.len;
		if (len > 0 && in.bytes.p == NULL)
			return fail(EINVAL);
		nul = len > 0 ? memchr(in.bytes.p, 0, len) : NULL;
		if (nul != NULL)
			len = (size_t)(nul - (const uint8_t *)in.bytes.p);
		if (len > length)
			return fail(ERANGE);
		if (len > 0)
			memcpy(v.s, in.bytes.p, len);
		v.len = (uint16_t)len;
		*out = v;
		return 0;
	default:
		return fail(EINVAL);
	}

	switch (type) {
	case TAG_BOOL:
		/* Only 0 and 1 convert to exactly 0.0 and 1.0. */
		if (d != 0 && d != 1)
			return fail(ERANGE);
		v.b = d != 0;
		break;
	case TAG_INT16:
	case TAG_UINT16:
	case TAG_INT32:
	case TAG_UINT32:
		int_range(type, &lo, &hi);
		if (in.kind == TAG_IN_INT) {
			if (in.i < lo || in.i > hi)
				return fail(ERANGE);
			put_int(type, in.i, &v);
		} else if (in.kind == TAG_IN_UINT) {
			if (in.u > (uint64_t)hi)
				return fail(ERANGE);
			put_int(type, (int64_t)in.u, &v);
		} else {
			/* Far outside first (the cast in rounding must
			 * not overflow; lo and hi are exact doubles). */
			if (d < (double)lo - 1 || d > (double)hi + 1)
				return fail(ERANGE);
			n = round_half_away(d);
			if (n < lo || n > hi)
				return fail(ERANGE);
			put_int(type, n, &v);
		}
		break;
	case TAG_FLOAT32:
		/* Integers convert directly: through a double they could
		 * be rounded twice. */
		if (in.kind == TAG_IN_INT)
			v.f32 = (float)in.i;
		else if (in.kind == TAG_IN_UINT)
			v.f32 = (float)in.u;
		else if (isfinite(d) && dabs(d) > FLT_MAX)
			return fail(ERANGE);
		else
			v.f32 = (float)d;
		break;
	case TAG_FLOAT64:
		v.f64 = d;
		break;
	default:
		return fail(EINVAL);
	}
	*out = v;
	return 0;
}

/* Does v fit type (and a string length)?  For values built by hand. */
static bool
value_valid(const struct tag_value *v, uint16_t length)
{
	int64_t lo, hi;

	switch (v->type) {
	case TAG_BOOL:
	case TAG_FLOAT32:
	case TAG_FLOAT64:
		return true;
	case TAG_INT16:
	case TAG_INT32:
		int_range(v->type, &lo, &hi);
		return v->i >= lo && v->i <= hi;
	case TAG_UINT16:
	case TAG_UINT32:
		int_range(v->type, &lo, &hi);
		return v->u <= (uint64_t)hi;
	case TAG_STRING:
		return length >= 1 && length <= TAG_STRING_MAX &&
		    v->len <= length && memchr(v->s, 0, v->len) == NULL;
	default:
		return false;
	}
}

/* ---- register codec --------------------------------------------------- */

size_t
tag_type_words(enum tag_type type, uint16_t length)
{
	switch (type) {
	case TAG_BOOL:
	case TAG_INT16:
	case TAG_UINT16:
		return 1;
	case TAG_INT32:
	case TAG_UINT32:
	case TAG_FLOAT32:
		return 2;
	case TAG_FLOAT64:
		return 4;
	case TAG_STRING:
		if (length < 1 || length > TAG_STRING_MAX)
			return 0;
		return ((size_t)length + 1) / 2;
	default:
		return 0;
	}
}

#define CODEC_MAX_WORDS ((TAG_STRING_MAX + 1) / 2)

/*
 * Map between the caller's words and canonical (big-endian, high word
 * first) ones.  Both swaps are involutions and commute, so the same
 * function goes either way.
 */
static void
swap_words(enum tag_swap swap, const uint16_t *in, uint16_t *out, size_t n)
{
	size_t k;
	uint16_t w;

	for (k = 0; k < n; k++) {
		w = (swap == TAG_SWAP_WORD || swap == TAG_SWAP_BOTH) ?
		    in[n - 1 - k] : in[k];
		if (swap == TAG_SWAP_BYTE || swap == TAG_SWAP_BOTH)
			w = (uint16_t)(w << 8 | w >> 8);
		out[k] = w;
	}
}

static uint64_t
words_to_u64(const uint16_t *w, size_t n)
{
	uint64_t u = 0;
	size_t k;

	for (k = 0; k < n; k++)
		u = u << 16 | w[k];
	return u;
}

static void
u64_to_words(uint64_t u, uint16_t *w, size_t n)
{
	size_t k;

	for (k = n; k > 0; k--) {
		w[k - 1] = (uint16_t)u;
		u >>= 16;
	}
}

/* Two's complement of the low bits, without implementation-defined casts. */
static int64_t
sign_extend(uint64_t u, unsigned bits)
{
	uint64_t half = (uint64_t)1 << (bits - 1);

	return u >= half ? (int64_t)(u - half) - (int64_t)half : (int64_t)u;
}

int
tag_decode(enum tag_type type, uint16_t length, enum tag_swap swap,
    const uint16_t *words, size_t n, struct tag_value *out)
{
	uint16_t w[CODEC_MAX_WORDS];
	struct tag_value v;
	size_t nw = tag_type_words(type, length), k;
	uint64_t u;
	uint32_t u32;

	if (nw == 0 || (unsigned)swap > TAG_SWAP_BOTH)
		return fail(EINVAL);
	if (words == NULL || n < nw)
		return fail(EMSGSIZE);
	swap_words(swap, words, w, nw);
	value_clear(&v, type);
	u = type == TAG_STRING ? 0 : words_to_u64(w, nw);
	switch (type) {
	case TAG_BOOL:
		v.b = u != 0;
		break;
	case TAG_INT16:
		v.i = sign_extend(u, 16);
		break;
	case TAG_INT32:
		v.i = sign_extend(u, 32);
		break;
	case TAG_UINT16:
	case TAG_UINT32:
		v.u = u;
		break;
	case TAG_FLOAT32:
		u32 = (uint32_t)u;
		memcpy(&v.f32, &u32, sizeof(v.f32));
		break;
	case TAG_FLOAT64:
		memcpy(&v.f64, &u, sizeof(v.f64));
		break;
	case TAG_STRING:
		for (k = 0; k < length; k++) {
			uint8_t c = (uint8_t)(k % 2 == 0 ? w[k / 2] >> 8 :
			    w[k / 2] & 0xff);

			if (c == 0)
				break;
			v.s[k] = c;
		}
		v.len = (uint16_t)k;
		break;
	default:
		return fail(EINVAL);
	}
	*out = v;
	return 0;
}

int
tag_encode(const struct tag_value *v, uint16_t length, enum tag_swap swap,
    uint16_t *words, size_t n)
{
	uint16_t w[CODEC_MAX_WORDS];
	size_t nw, k;
	uint64_t u = 0;
	uint32_t u32;

	if (v == NULL || (unsigned)swap > TAG_SWAP_BOTH)
		return fail(EINVAL);
	nw = tag_type_words(v->type, length);
	if (nw == 0 || !value_valid(v, length))
		return fail(EINVAL);
	if (words == NULL || n < nw)
		return fail(EMSGSIZE);
	switch (v->type) {
	case TAG_BOOL:
		u = v->b ? 1 : 0;
		break;
	case TAG_INT16:
	case TAG_INT32:
		/* Two's complement, truncated to the width by u64_to_words. */
		u = (uint64_t)v->i;
		break;
	case TAG_UINT16:
	case TAG_UINT32:
		u = v->u;
		break;
	case TAG_FLOAT32:
		memcpy(&u32, &v->f32, sizeof(u32));
		u = u32;
		break;
	case TAG_FLOAT64:
		memcpy(&u, &v->f64, sizeof(u));
		break;
	case TAG_STRING:
		memset(w, 0, nw * sizeof(w[0]));
		for (k = 0; k < v->len; k++)
			w[k / 2] |= (uint16_t)(k % 2 == 0 ? v->s[k] << 8 :
			    v->s[k]);
		break;
	default:
		return fail(EINVAL);
	}
	if (v->type != TAG_STRING)
		u64_to_words(u, w, nw);
	swap_words(swap, w, words, nw);
	return 0;
}

/* ---- the table -------------------------------------------------------- */

/* FNV-1a, 32 bits (the names are trusted: see the top of the file). */
static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* The index slot holding name, or the empty slot where it would go. */
static size_t
index_probe(const struct tags *t, const char *name, size_t len)
{
	size_t i = name_hash(name, len) & t->index_mask;
	const char *have;

	while (t->index[i] != 0) {
		have = t->defs[t->index[i] - 1].name;
		if (strncmp(have, name, len) == 0 && have[len] == '\0')
			return i;
		i = (i + 1) & t->index_mask;
	}
	return i;
}

static void
text_put(char **p, const char *s, size_t len, const char **dst)
{
	memcpy(*p, s, len);
	(*p)[len] = '\0';
	*dst = *p;
	*p += len + 1;
}

static void
slot_reset(struct tag_slot *s)
{
	uint32_t soff = s->soff;

	memset(s, 0, sizeof(*s));
	s->soff = soff;
	s->quality = TAG_QUALITY_BAD;
	s->reason = TAG_REASON_WAITING;
}

struct tags *
tags_new(const struct tag_def *defs, size_t n, char *err, size_t errlen)
{
	struct tags *t;
	size_t i, cap, text_len = 0, str_len = 0, k;
	char *p;
	char pfx[4 * TAG_NAME_MAX + 64];

	seterr(err, errlen, "%s", "");
	if (n > TAGS_MAX) {
		seterr(err, errlen, "%zu tags: at most %d", n, TAGS_MAX);
		errno = EINVAL;
		return NULL;
	}
	if (n > 0 && defs == NULL) {
		seterr(err, errlen, "%zu tags but no definitions", n);
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (def_check(&defs[i], i, err, errlen) < 0)
			return NULL;
		text_len += strlen(defs[i].name) + 1 +
		    (defs[i].unit != NULL ? strlen(defs[i].unit) : 0) + 1;
		if (defs[i].type == TAG_STRING)
			str_len += defs[i].length;
	}
	for (cap = 16; cap < 2 * n; cap *= 2)
		;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->n = n;
	t->index_mask = cap - 1;
	t->defs = calloc(n > 0 ? n : 1, sizeof(*t->defs));
	t->slots = calloc(n > 0 ? n : 1, sizeof(*t->slots));
	t->text = malloc(text_len > 0 ? text_len : 1);
	t->strings = calloc(str_len > 0 ? str_len : 1, 1);
	t->index = calloc(cap, sizeof(*t->index));
	if (t->defs == NULL || t->slots == NULL || t->text == NULL ||
	    t->strings == NULL || t->index == NULL) {
		tags_free(t);
		errno = ENOMEM;
		return NULL;
	}
	p = t->text;
	str_len = 0;
	for (i = 0; i < n; i++) {
		const struct tag_def *d = &defs[i];
		size_t len = strlen(d->name);

		t->defs[i] = *d;
		text_put(&p, d->name, len, &t->defs[i].name);
		text_put(&p, d->unit != NULL ? d->unit : "",
		    d->unit != NULL ? strlen(d->unit) : 0, &t->defs[i].unit);
		k = index_probe(t, d->name, len);
		if (t->index[k] != 0) {
			def_prefix(pfx, sizeof(pfx), d, i);
			seterr(err, errlen, "%s: duplicate name (also #%u)",
			    pfx, t->index[k] - 1);
			tags_free(t);
			errno = EINVAL;
			return NULL;
		}
		t->index[k] = (uint32_t)i + 1;
		t->slots[i].soff = (uint32_t)str_len;
		if (d->type == TAG_STRING)
			str_len += d->length;
		slot_reset(&t->slots[i]);
	}
	return t;
}

void
tags_free(struct tags *t)
{
	if (t == NULL)
		return;
	free(t->defs);
	free(t->slots);
	free(t->text);
	free(t->strings);
	free(t->index);
	free(t);
}

size_t
tags_count(const struct tags *t)
{
	return t->n;
}

int
tags_find_len(const struct tags *t, const char *name, size_t len,
    uint32_t *id)
{
	size_t k;

	if (name == NULL || len == 0 || len > TAG_NAME_MAX ||
	    memchr(name, 0, len) != NULL)
		return fail(ENOENT);
	k = index_probe(t, name, len);
	if (t->index[k] == 0)
		return fail(ENOENT);
	*id = t->index[k] - 1;
	return 0;
}

int
tags_find(const struct tags *t, const char *name, uint32_t *id)
{
	if (name == NULL)
		return fail(ENOENT);
	return tags_find_len(t, name, strnlen(name, TAG_NAME_MAX + 1), id);
}

const struct tag_def *
tags_def(const struct tags *t, uint32_t id)
{
	return id < t->n ? &t->defs[id] : NULL;
}

static double
slot_eng(const struct tag_def *d, const struct tag_slot *s)
{
	switch (d->type) {
	case TAG_BOOL:
		return s->raw.b ? 1 : 0;
	case TAG_INT16:
	case TAG_INT32:
		return (double)s->raw.i * d->scale + d->offset;
	case TAG_UINT16:
	case TAG_UINT32:
		return (double)s->raw.u * d->scale + d->offset;
	case TAG_FLOAT32:
		return (double)s->raw.f32 * d->scale + d->offset;
	case TAG_FLOAT64:
		return s->raw.f64 * d->scale + d->offset;
	default:
		return NAN;
	}
}

static void
state_fill(const struct tags *t, uint32_t id, struct tag_state *out)
{
	const struct tag_def *d = &t->defs[id];
	const struct tag_slot *s = &t->slots[id];
	struct tag_value *r = &out->raw;

	value_clear(r, d->type);
	switch (d->type) {
	case TAG_BOOL:    r->b = s->raw.b; break;
	case TAG_INT16:
	case TAG_INT32:   r->i = s->raw.i; break;
	case TAG_UINT16:
	case TAG_UINT32:  r->u = s->raw.u; break;
	case TAG_FLOAT32: r->f32 = s->raw.f32; break;
	case TAG_FLOAT64: r->f64 = s->raw.f64; break;
	case TAG_STRING:
		r->len = s->slen;
		memcpy(r->s, t->strings + s->soff, s->slen);
		break;
	}
	out->eng = slot_eng(d, s);
	out->quality = s->quality;
	out->reason = s->reason;
	out->code = s->code;
	out->missed = s->missed;
	out->source_ts = s->source_ts;
	out->changed_ts = s->changed_ts;
}

int
tags_get(const struct tags *t, uint32_t id, struct tag_state *out)
{
	if (id >= t->n)
		return fail(ENOENT);
	state_fill(t, id, out);
	return 0;
}

/* ---- updates ---------------------------------------------------------- */

static int
update_check(const struct tags *t, uint32_t id, const struct timespec *ts)
{
	if (id >= t->n)
		return fail(ENOENT);
	if (ts == NULL || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return fail(EINVAL);
	if (t->dispatching)
		return fail(EBUSY);
	return 0;
}

/* Equal as values: NaN equals NaN, 0.0 equals -0.0. */
static bool
double_same(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return a == b;
}

/*
 * Call every subscriber watching id.  The set to call is kept in the
 * table (pending), so tags_unsubscribe() from a callback can take a
 * subscriber out of this round; a subscription made meanwhile is not
 * in it.
 */
static void
dispatch(struct tags *t, uint32_t id, unsigned what)
{
	struct tag_state st;
	struct tag_sub *sub;
	int k;

	t->pending = (t->slots[id].subs | t->subs_all) & t->subs_live;
	if (t->pending == 0)
		return;
	state_fill(t, id, &st);
	t->dispatching = true;
	while (t->pending != 0) {
		k = __builtin_ctzll(t->pending);
		t->pending &= t->pending - 1;
		sub = &t->subs[k];
		sub->fn(t, id, what, &st, sub->arg);
	}
	t->dispatching = false;
}

/*
 * After an update: report when the quality changed or the value passed
 * the deadband, and remember what was reported.  value_changed: the raw
 * value differs from the previous one, or this is the first value (a
 * change from "none", whatever the deadband).
 */
static void
report(struct tags *t, uint32_t id, bool value_changed, bool first,
    bool quality_changed)
{
	const struct tag_def *d = &t->defs[id];
	struct tag_slot *s = &t->slots[id];
	unsigned what = 0;
	double eng;

	if (type_numeric(d->type) && d->deadband > 0) {
		eng = slot_eng(d, s);
		if (first)
			value_changed = true;
		else if (double_same(eng, s->reported))
			value_changed = false;
		else if (quality_changed)
			value_changed = true;
		else if (!value_changed)
			;       /* drifted within the deadband before */
		else if (isnan(eng) || isnan(s->reported))
			value_changed = true;
		else    /* equal infinities were caught above: no NaN */
			value_changed =
			    !(dabs(eng - s->reported) <= d->deadband);
		if (value_changed || quality_changed)
			s->reported = eng;
	}
	/* Deadband 0: every change is reported, so the last reported
	 * value is always the previous one and value_changed says it. */
	if (value_changed)
		what |= TAGS_CHANGED_VALUE;
	if (quality_changed)
		what |= TAGS_CHANGED_QUALITY;
	if (what != 0)
		dispatch(t, id, what);
}

static bool
quality_set(struct tag_slot *s, enum tag_quality q, enum tag_reason r,
    uint8_t code)
{
	bool changed = s->quality != q || s->reason != r || s->code != code;

	s->quality = (uint8_t)q;
	s->reason = (uint8_t)r;
	s->code = code;
	return changed;
}

int
tags_set_value(struct tags *t, uint32_t id, const struct tag_value *v,
    const struct timespec *ts)
{
	const struct tag_def *d;
	struct tag_slot *s;
	bool vchg, qchg, first;
	uint8_t *str;

	if (update_check(t, id, ts) < 0)
		return -1;
	d = &t->defs[id];
	s = &t->slots[id];
	if (v == NULL || v->type != d->type || !value_valid(v, d->length))
		return fail(EINVAL);
	switch (d->type) {
	case TAG_BOOL:
		vchg = s->raw.b != v->b;
		s->raw.b = v->b;
		break;
	case TAG_INT16:
	case TAG_INT32:
		vchg = s->raw.i != v->i;
		s->raw.i = v->i;
		break;
	case TAG_UINT16:
	case TAG_UINT32:
		vchg = s->raw.u != v->u;
		s->raw.u = v->u;
		break;
	case TAG_FLOAT32:
		vchg = !double_same(s->raw.f32, v->f32);
		s->raw.f32 = v->f32;
		break;
	case TAG_FLOAT64:
		vchg = !double_same(s->raw.f64, v->f64);
		s->raw.f64 = v->f64;
		break;
	case TAG_STRING:
		str = t->strings + s->soff;
		vchg = s->slen != v->len || memcmp(str, v->s, v->len) != 0;
		memcpy(str, v->s, v->len);
		s->slen = v->len;
		break;
	default:
		return fail(EINVAL);
	}
	first = s->reason == TAG_REASON_WAITING;
	vchg = vchg || first;
	s->missed = 0;
	qchg = quality_set(s, TAG_QUALITY_GOOD, TAG_REASON_NONE, 0);
	s->source_ts = *ts;
	if (vchg || qchg)
		s->changed_ts = *ts;
	report(t, id, vchg, first, qchg);
	return 0;
}

int
tags_set(struct tags *t, uint32_t id, struct tag_input in,
    const struct timespec *ts)
{
	struct tag_value v;

	if (update_check(t, id, ts) < 0)
		return -1;
	if (tag_value_convert(t->defs[id].type, t->defs[id].length, in, true,
	    &v) < 0)
		return -1;
	return tags_set_value(t, id, &v, ts);
}

int
tags_poll_missed(struct tags *t, uint32_t id, const struct timespec *ts)
{
	struct tag_slot *s;
	uint32_t after;

	if (update_check(t, id, ts) < 0)
		return -1;
	s = &t->slots[id];
	after = t->defs[id].stale_after;
	if (s->missed < UINT32_MAX)
		s->missed++;
	if (after > 0 && s->missed >= after &&
	    s->quality == TAG_QUALITY_GOOD) {
		quality_set(s, TAG_QUALITY_UNCERTAIN, TAG_REASON_STALE, 0);
		s->changed_ts = *ts;
		report(t, id, false, false, true);
	}
	return 0;
}

int
tags_set_bad(struct tags *t, uint32_t id, enum tag_reason reason,
    uint8_t code, const struct timespec *ts)
{
	struct tag_slot *s;

	if (update_check(t, id, ts) < 0)
		return -1;
	if (reason == TAG_REASON_NONE || reason == TAG_REASON_STALE ||
	    (unsigned)reason > TAG_REASON_STALE)
		return fail(EINVAL);
	if (reason != TAG_REASON_DEVICE_EXCEPTION)
		code = 0;
	s = &t->slots[id];
	if (quality_set(s, TAG_QUALITY_BAD, reason, code)) {
		s->changed_ts = *ts;
		report(t, id, false, false, true);
	}
	return 0;
}

/* ---- writes ----------------------------------------------------------- */

int
tags_write_raw(const struct tags *t, uint32_t id, struct tag_input in,
    struct tag_value *out)
{
	const struct tag_def *d;

	if (id >= t->n)
		return fail(ENOENT);
	d = &t->defs[id];
	if (!d->writable)
		return fail(EPERM);
	return tag_value_convert(d->type, d->length, in, false, out);
}

int
tags_write_eng(const struct tags *t, uint32_t id, double eng,
    struct tag_value *out)
{
	const struct tag_def *d;
	double raw;

	if (id >= t->n)
		return fail(ENOENT);
	d = &t->defs[id];
	if (!d->writable)
		return fail(EPERM);
	if (d->type == TAG_STRING)
		return fail(EINVAL);
	if (isnan(eng) || isinf(eng))
		return fail(EDOM);
	raw = (eng - d->offset) / d->scale;
	/* Finite in, infinite out: beyond every type's range. */
	if (isinf(raw))
		return fail(ERANGE);
	return tag_value_convert(d->type, d->length, tag_in_double(raw), false,
	    out);
}

/* ---- subscriptions ---------------------------------------------------- */

static struct tag_sub *
sub_get(struct tags *t, int handle, unsigned *slot)
{
	unsigned k;

	if (handle < 0)
		return NULL;
	k = (unsigned)handle & (TAGS_MAX_SUBSCRIBERS - 1);
	if (!(t->subs_live >> k & 1) ||
	    t->subs[k].gen != ((unsigned)handle >> SUB_SLOT_BITS))
		return NULL;
	*slot = k;
	return &t->subs[k];
}

int
tags_subscribe(struct tags *t, uint32_t id, tags_notify_fn fn, void *arg)
{
	struct tag_sub *sub;
	unsigned k;

	if (fn == NULL)
		return fail(EINVAL);
	if (id != TAGS_ALL && id >= t->n)
		return fail(ENOENT);
	if (~t->subs_live == 0)
		return fail(ENOSPC);
	k = (unsigned)__builtin_ctzll(~t->subs_live);
	sub = &t->subs[k];
	sub->fn = fn;
	sub->arg = arg;
	sub->gen = (sub->gen + 1) & SUB_GEN_MASK;
	sub->n_ids = 0;
	t->subs_live |= (uint64_t)1 << k;
	if (id == TAGS_ALL)
		t->subs_all |= (uint64_t)1 << k;
	else {
		t->slots[id].subs |= (uint64_t)1 << k;
		sub->n_ids = 1;
		sub->first_id = id;
	}
	return (int)(sub->gen << SUB_SLOT_BITS | k);
}

int
tags_subscribe_add(struct tags *t, int handle, uint32_t id)
{
	struct tag_sub *sub;
	unsigned k;
	uint64_t bit;

	if ((sub = sub_get(t, handle, &k)) == NULL || id >= t->n)
		return fail(ENOENT);
	bit = (uint64_t)1 << k;
	if (t->subs_all & bit || t->slots[id].subs & bit)
		return 0;
	t->slots[id].subs |= bit;
	if (sub->n_ids++ == 0)
		sub->first_id = id;
	return 0;
}

int
tags_unsubscribe(struct tags *t, int handle)
{
	struct tag_sub *sub;
	unsigned k;
	uint64_t bit;
	size_t i;

	if ((sub = sub_get(t, handle, &k)) == NULL)
		return fail(ENOENT);
	bit = (uint64_t)1 << k;
	if (sub->n_ids == 1)
		t->slots[sub->first_id].subs &= ~bit;
	else if (sub->n_ids > 1)
		for (i = 0; i < t->n; i++)
			t->slots[i].subs &= ~bit;
	t->subs_live &= ~bit;
	t->subs_all &= ~bit;
	t->pending &= ~bit;
	sub->fn = NULL;
	sub->arg = NULL;
	sub->n_ids = 0;
	return 0;
}
