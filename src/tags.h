/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tags.h - the gateway's tag table (agent mode) and the register codec.
 *
 * A tag is one named data point: a value of a fixed type, its quality
 * and timestamps.  In agent mode the Modbus poll commands fill the table
 * from devices and the northbound servers (Modbus TCP; later DNP3,
 * IEC-104, EtherNet/IP, BACnet) read it, subscribe to its changes and
 * turn their clients' writes into raw values to send to the device.
 * The table belongs to the core, not to any protocol.
 *
 * Pure module: no I/O, no clock, no logging, no event loop.  Memory is
 * allocated only by tags_new(); nothing after it allocates or fails for
 * want of memory.  Callers pass the time (CLOCK_REALTIME) in.  Not
 * thread-safe: the engine's loop is the only user.
 *
 * Names: tags_* work on a table; tag_* are pure helpers on types and
 * values (the register codec among them) that need no table.
 *
 * Errors: functions return 0 or -1 with errno as listed at each; out
 * parameters are untouched on failure.  Constructors return NULL.
 *
 * Raw and engineering values: the raw value is what the device holds,
 * in the tag's type; the engineering value is raw * scale + offset
 * (numeric types only; bool is 0 or 1, strings have none).
 *
 * Quality, in the spirit of OPC/IEC 61850 qualities:
 *   BAD/WAITING         after tags_new(), until the first value arrives
 *   GOOD                after every tags_set*() (the missed counter resets)
 *   UNCERTAIN/STALE     a GOOD tag after stale_after tags_poll_missed()
 *                       in a row (never when stale_after is 0)
 *   BAD/<reason>        after tags_set_bad(): comm failure, device
 *                       exception (with its code), configuration error,
 *                       out of range, waiting again
 * A BAD or UNCERTAIN tag keeps its last value (a consumer may show it
 * with the quality); a missed poll never changes a BAD tag.
 *
 * Ids: a tag's id is the index of its definition in the array given to
 * tags_new(), 0..n-1, for the table's life.  A new table (a policy
 * reload builds one) may number the same names differently: look names
 * up again, never carry ids across tables.
 */
#ifndef SLUICE_TAGS_H
#define SLUICE_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TAG_NAME_MAX       63      /* bytes, [A-Za-z0-9_.-] */
#define TAG_UNIT_MAX       15      /* bytes of UTF-8 text */
#define TAG_STRING_MAX     250     /* a string tag's length, bytes */
#define TAGS_MAX           100000  /* tags in one table */
#define TAGS_MAX_SUBSCRIBERS 64    /* live subscriptions per table */
#define TAGS_ALL           UINT32_MAX  /* tags_subscribe(): every tag */

enum tag_type {
	TAG_BOOL,
	TAG_INT16,
	TAG_UINT16,
	TAG_INT32,
	TAG_UINT32,
	TAG_FLOAT32,    /* IEEE 754 binary32 */
	TAG_FLOAT64,    /* IEEE 754 binary64 */
	TAG_STRING,     /* def.length bytes at most; see the codec below */
};

enum tag_quality {
	TAG_QUALITY_GOOD,
	TAG_QUALITY_UNCERTAIN,
	TAG_QUALITY_BAD,
};

/* Why a tag is not GOOD.  STALE goes with UNCERTAIN, the rest with BAD. */
enum tag_reason {
	TAG_REASON_NONE,        /* GOOD */
	TAG_REASON_WAITING,     /* not read yet (or not since a reconnect) */
	TAG_REASON_COMM_FAILURE, /* no valid answer after timeouts, retries */
	TAG_REASON_CONFIG_ERROR, /* the mapping cannot work (no such channel) */
	TAG_REASON_DEVICE_EXCEPTION, /* the device refused; code = its code */
	TAG_REASON_OUT_OF_RANGE, /* the device's value does not fit the tag */
	TAG_REASON_STALE,       /* UNCERTAIN: stale_after polls missed */
};

/*
 * A tag's definition (the policy parser fills these).  Start from
 * tag_def_init(): scale 1 and no unit, everything else 0.
 */
struct tag_def {
	const char *name;       /* unique; 1..TAG_NAME_MAX of [A-Za-z0-9_.-] */
	enum tag_type type;
	uint16_t length;        /* TAG_STRING: 1..TAG_STRING_MAX; else 0 */
	double scale;           /* numeric: finite, != 0; bool, string: 1 */
	double offset;          /* numeric: finite; bool, string: 0 */
	const char *unit;       /* NULL or "": none; else <= TAG_UNIT_MAX bytes
	                         * of UTF-8 without control characters ("°C") */
	bool writable;          /* may clients write it (tags_write_*)? */
	uint32_t stale_after;   /* missed polls before UNCERTAIN; 0 = never */
	double deadband;        /* >= 0, engineering units, for subscriptions;
	                         * bool, string: 0 */
};

/*
 * A raw value in a tag's type: what the codec decodes and encodes, what
 * tags_set_value() stores and tags_get() returns.  Only the member of
 * type is meaningful.
 */
struct tag_value {
	enum tag_type type;
	uint16_t len;           /* TAG_STRING: bytes in s, none of them NUL */
	union {
		bool b;         /* TAG_BOOL */
		int64_t i;      /* TAG_INT16, TAG_INT32 */
		uint64_t u;     /* TAG_UINT16, TAG_UINT32 */
		float f32;      /* TAG_FLOAT32: the device's bits, NaN too */
		double f64;     /* TAG_FLOAT64 */
		uint8_t s[TAG_STRING_MAX];  /* TAG_STRING, no terminator */
	};
};

/*
 * A value from outside, of any kind, to be converted to a tag's type
 * (tags_set(), tags_write_raw()).  Build one with the tag_in_*() helpers.
 */
enum tag_in_kind {
	TAG_IN_BOOL,
	TAG_IN_INT,
	TAG_IN_UINT,
	TAG_IN_DOUBLE,
	TAG_IN_BYTES,
};
struct tag_input {
	enum tag_in_kind kind;
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double d;
		struct {
			const void *p;  /* not kept after the call */
			size_t len;
		} bytes;
	};
};

static inline struct tag_input
tag_in_bool(bool v)
{
	return (struct tag_input){ .kind = TAG_IN_BOOL, .b = v };
}
static inline struct tag_input
tag_in_int(int64_t v)
{
	return (struct tag_input){ .kind = TAG_IN_INT, .i = v };
}
static inline struct tag_input
tag_in_uint(uint64_t v)
{
	return (struct tag_input){ .kind = TAG_IN_UINT, .u = v };
}
static inline struct tag_input
tag_in_double(double v)
{
	return (struct tag_input){ .kind = TAG_IN_DOUBLE, .d = v };
}
static inline struct tag_input
tag_in_bytes(const void *p, size_t len)
{
	return (struct tag_input){ .kind = TAG_IN_BYTES,
	    .bytes = { .p = p, .len = len } };
}

/* A tag's state, as tags_get() copies it out. */
struct tag_state {
	struct tag_value raw;   /* 0 ("" for strings) until the first value */
	double eng;             /* raw * scale + offset; bool 0/1; string NaN */
	enum tag_quality quality;
	enum tag_reason reason;
	uint8_t code;           /* DEVICE_EXCEPTION: its code; else 0 */
	uint32_t missed;        /* polls missed since the last value */
	struct timespec source_ts;  /* when the value was read; 0 before */
	struct timespec changed_ts; /* value or quality changed; 0 before */
};

/* ---- definitions ------------------------------------------------------ */

/* Scale 1, no unit, everything else 0 (type TAG_BOOL, name NULL). */
void tag_def_init(struct tag_def *d);

/*
 * Check one definition alone (everything but uniqueness), for a parser
 * that reports each with its own file:line.  Returns 0, or -1 with
 * EINVAL and a message in err as tags_new() gives, without the index:
 * 'tag "boiler.temp": scale must be finite and not 0'.
 */
int tag_def_check(const struct tag_def *d, char *err, size_t errlen);

/* "bool", "int16", "uint16", "int32", "uint32", "float32", "float64",
 * "string"; "?" for anything else. */
const char *tag_type_name(enum tag_type type);
/* The reverse, for the policy parser: 0, or -1 with EINVAL. */
int tag_type_from_name(const char *name, enum tag_type *type);
/* "good", "uncertain", "bad". */
const char *tag_quality_name(enum tag_quality q);
/* "none", "waiting", "comm-failure", "config-error", "device-exception",
 * "out-of-range", "stale". */
const char *tag_reason_name(enum tag_reason r);

/* ---- register codec --------------------------------------------------- */
/*
 * Values in 16-bit registers as Modbus carries them (Modbus Application
 * Protocol v1.1b3, 4.2: big-endian, high byte first).  words[] holds the
 * registers in wire order as host integers: the register that came first
 * is words[0], and 0x42F6 is the register whose bytes were 0x42 0xF6.
 *
 * Canonical layout (TAG_SWAP_NONE): the value's big-endian bytes, high
 * word first -- float32 123.456 (0x42F6E979) is [0x42F6, 0xE979], int32
 * -2 is [0xFFFF, 0xFFFE].  Devices that differ are described by a swap,
 * applied to the canonical words:
 *   TAG_SWAP_BYTE  swap the two bytes within each word   [0xF642, 0x79E9]
 *   TAG_SWAP_WORD  reverse the order of the words        [0xE979, 0x42F6]
 *   TAG_SWAP_BOTH  both                                  [0x79E9, 0xF642]
 * Each swap is its own inverse.  For one-word types WORD does nothing.
 *
 * Words per type (tag_type_words()):
 *   bool 1 (a register mapped to a bool reads true when nonzero and is
 *     written 1 or 0; a coil or discrete input is 1 bit, which is the
 *     Modbus glue's business, not this codec's), int16/uint16 1,
 *   int32/uint32/float32 2, float64 4, string ceil(length / 2).
 * Strings: the bytes in word order, high byte first ("AB" is 0x4142);
 * BYTE swaps each pair, WORD reverses all the words of the string.
 * Decoding reads length bytes and ends the value at the first NUL, so
 * NUL padding and an odd length's spare byte vanish; spaces are kept (a
 * device that pads with spaces yields trailing spaces; trimming them is
 * the consumer's choice).  Encoding writes the value's bytes and pads
 * with NUL to the last word.  A value without NUL round-trips exactly.
 */
enum tag_swap {
	TAG_SWAP_NONE,
	TAG_SWAP_BYTE,
	TAG_SWAP_WORD,
	TAG_SWAP_BOTH,
};

/* "none", "byte", "word", "both"; and the reverse (0, or -1 EINVAL). */
const char *tag_swap_name(enum tag_swap swap);
int tag_swap_from_name(const char *name, enum tag_swap *swap);

/*
 * Registers a value of type takes (length: a string's bytes, ignored
 * otherwise); 0 for an unknown type or a string length outside
 * 1..TAG_STRING_MAX.
 */
size_t tag_type_words(enum tag_type type, uint16_t length);

/*
 * Decode the first tag_type_words(type, length) of the n words into out
 * (out->type = type).  Returns 0, or -1 with EINVAL (bad type, length or
 * swap) or EMSGSIZE (n too small).
 */
int tag_decode(enum tag_type type, uint16_t length, enum tag_swap swap,
    const uint16_t *words, size_t n, struct tag_value *out);

/*
 * Encode v into the first tag_type_words(v->type, length) of the n words
 * (length: the tag's, which fixes the word count of a string; ignored
 * otherwise).  Returns 0, or -1 with EINVAL (bad swap, type or length, a
 * value that does not fit its type, a string longer than length) or
 * EMSGSIZE (n too small).
 */
int tag_encode(const struct tag_value *v, uint16_t length, enum tag_swap swap,
    uint16_t *words, size_t n);

/*
 * Convert in to a value of type (length: a string tag's), the rules of
 * tags_set() (allow_nonfinite true) or of tags_write_raw() (false):
 *   bool     from BOOL; from INT/UINT/DOUBLE 0 or 1 only (else ERANGE)
 *   integers from BOOL (0/1), INT, UINT; from DOUBLE rounded to nearest,
 *            half away from zero; ERANGE outside the type's range
 *   float32  from BOOL, INT, UINT (rounded to nearest float), DOUBLE
 *            (ERANGE beyond +-FLT_MAX, rounded to nearest float)
 *   float64  from BOOL, INT, UINT, DOUBLE
 *   string   from BYTES only: up to the first NUL (or len), ERANGE when
 *            that is longer than length
 * NaN and infinities: EDOM, except into float32/float64 with
 * allow_nonfinite (a device's value is what it is).  A kind the type
 * does not take (BYTES to a number, a number to a string): EINVAL.
 */
int tag_value_convert(enum tag_type type, uint16_t length,
    struct tag_input in, bool allow_nonfinite, struct tag_value *out);

/* ---- the table -------------------------------------------------------- */

struct tags;

/*
 * Build a table of n tags (0..TAGS_MAX) from defs, copied: defs and
 * their strings may go after the call.  Every tag starts BAD/WAITING.
 * On failure NULL with errno EINVAL and a message in err (NUL-terminated
 * when errlen > 0; "" on success), or ENOMEM.  Messages name the first
 * bad tag and its index, quoted by log_quote() where the name itself is
 * bad:
 *   tag "boiler.temp" (#12): scale must be finite and not 0
 *   tag #3: name "a b": bytes other than [A-Za-z0-9_.-]
 *   tag "pump1" (#9): duplicate name (also #2)
 */
struct tags *tags_new(const struct tag_def *defs, size_t n, char *err,
    size_t errlen);
/* Must not be called from inside a subscription callback. */
void tags_free(struct tags *t);

size_t tags_count(const struct tags *t);

/*
 * The id of the tag named name (NUL-terminated, or len bytes, which may
 * come from a peer: any bytes are safe).  O(1): a hash of the names.
 * Returns 0, or -1 with ENOENT.
 */
int tags_find(const struct tags *t, const char *name, uint32_t *id);
int tags_find_len(const struct tags *t, const char *name, size_t len,
    uint32_t *id);

/*
 * The tag's definition as the table holds it (name and unit point into
 * the table, unit "" when none), or NULL for an unknown id.  Valid until
 * tags_free().
 */
const struct tag_def *tags_def(const struct tags *t, uint32_t id);

/* Copy the tag's state into out.  Returns 0, or -1 with ENOENT. */
int tags_get(const struct tags *t, uint32_t id, struct tag_state *out);

/* ---- updates (from the poll side) ------------------------------------ */
/*
 * Every update takes ts, the CLOCK_REALTIME time of the event (of the
 * reading, for a value), and may call subscribers before it returns.
 * Common errors: ENOENT unknown id; EINVAL ts NULL or tv_nsec outside
 * 0..999999999; EBUSY called from inside a subscription callback (a
 * callback must not update the table: queue the work instead).
 */

/*
 * Store a value read from the device: quality GOOD, missed counter 0,
 * source_ts = ts (changed_ts = ts too if the value or the quality
 * changed).  tags_set_value takes v in the tag's type (as tag_decode()
 * gives it: EINVAL when v->type differs or a string is longer than the
 * tag); tags_set converts in as tag_value_convert(..., true, ...), so
 * errors are those plus EINVAL, EDOM, ERANGE -- the table is unchanged
 * then, and the caller may tags_set_bad(..., TAG_REASON_OUT_OF_RANGE).
 */
int tags_set_value(struct tags *t, uint32_t id, const struct tag_value *v,
    const struct timespec *ts);
int tags_set(struct tags *t, uint32_t id, struct tag_input in,
    const struct timespec *ts);

/*
 * A poll that should have read the tag failed (a timeout that will be
 * retried, a skipped cycle).  Counts toward stale_after: a GOOD tag
 * becomes UNCERTAIN/STALE when missed reaches stale_after (> 0).
 */
int tags_poll_missed(struct tags *t, uint32_t id, const struct timespec *ts);

/*
 * Mark the tag BAD with reason (any but NONE and STALE, else EINVAL);
 * code is kept for TAG_REASON_DEVICE_EXCEPTION (the Modbus exception
 * code) and ignored (0) otherwise.  The value, source_ts and the missed
 * counter are kept; changed_ts = ts when quality, reason or code changed.
 */
int tags_set_bad(struct tags *t, uint32_t id, enum tag_reason reason,
    uint8_t code, const struct timespec *ts);

/* ---- writes (from clients) ------------------------------------------- */
/*
 * Turn a client's write into the raw value to send to the device
 * (tag_encode() it); the table is not changed -- the tag takes the value
 * when the device is next read.  Errors, in the order checked:
 *   ENOENT  unknown id
 *   EPERM   the tag is not writable
 *   EINVAL  wrong kind for the type (a number to a string tag, bytes to
 *           a number, an engineering value to a string tag)
 *   EDOM    NaN or infinite
 *   ERANGE  outside the type's range after conversion (int16 32768,
 *           uint16 -1, float32 1e39, bool 2, a string too long)
 * tags_write_eng: raw = (eng - offset) / scale, then as a DOUBLE input
 * (integers rounded to nearest); a bool tag takes 0 or 1.
 * tags_write_raw: tag_value_convert(..., false, ...).
 */
int tags_write_eng(const struct tags *t, uint32_t id, double eng,
    struct tag_value *out);
int tags_write_raw(const struct tags *t, uint32_t id, struct tag_input in,
    struct tag_value *out);

/* ---- subscriptions ---------------------------------------------------- */
/*
 * A subscriber is called, synchronously from inside the update, when a
 * tag it watches reports a change:
 *   TAGS_CHANGED_QUALITY  quality, reason or exception code changed
 *   TAGS_CHANGED_VALUE    the value passed the tag's deadband: for a
 *                         numeric tag with deadband > 0,
 *                         |eng - last reported eng| > deadband; else any
 *                         change of the raw value (NaN equals NaN)
 * what holds the bits that apply (VALUE is also set on a quality change
 * when the value differs from the last reported one at all, and always
 * with the first value after WAITING, even 0 or within the deadband:
 * it replaces "no value").  "Last
 * reported" belongs to the tag, not to a subscriber: it is the engineering
 * value at the tag's last report, made whether or not anyone listened,
 * so every subscriber sees the same events.  st is the tag's state, valid
 * during the call.
 *
 * Inside a callback: tags_get/find/def, tags_write_*, tags_subscribe*
 * and tags_unsubscribe are allowed (an unsubscribed subscriber not yet
 * called for this change is not called; a new one is first called for
 * the next change); updates fail with EBUSY; tags_free is forbidden.
 * Subscribers are called in an unspecified order.
 */
#define TAGS_CHANGED_VALUE   0x1u
#define TAGS_CHANGED_QUALITY 0x2u

typedef void (*tags_notify_fn)(struct tags *t, uint32_t id, unsigned what,
    const struct tag_state *st, void *arg);

/*
 * Subscribe fn(..., arg) to tag id, or to every tag with TAGS_ALL.
 * Returns a handle >= 0, or -1 with ENOENT (unknown id), EINVAL (fn
 * NULL) or ENOSPC (TAGS_MAX_SUBSCRIBERS subscriptions live).
 */
int tags_subscribe(struct tags *t, uint32_t id, tags_notify_fn fn,
    void *arg);
/*
 * Let subscription sub watch tag id too: one subscription can watch any
 * set of tags (a server's point map) without using more of the
 * TAGS_MAX_SUBSCRIBERS.  Returns 0, or -1 with ENOENT (unknown id or
 * handle).  No effect on a TAGS_ALL subscription.
 */
int tags_subscribe_add(struct tags *t, int sub, uint32_t id);
/*
 * End subscription sub.  Returns 0, or -1 with ENOENT (not a live
 * handle).  A handle carries a generation, so a stale one cannot end the
 * subscription that took its slot (until 2^24 more subscriptions of that
 * slot).  O(tags) when sub watched more than one tag, else O(1).
 */
int tags_unsubscribe(struct tags *t, int sub);

#endif
