/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy_json.c - the policy's YAML as JSON, and JSON merge patches
 * (RFC 7396) applied to it.
 *
 * One checked event reader serves both directions.  libyaml's document
 * loader is not used: it expands aliases (a 324-byte alias bomb is 9^9
 * nodes), keeps duplicate keys and silently drops a second document, so
 * the reader takes events one at a time and refuses each of those at the
 * event, counting nodes and depth as it goes.  What it accepts is handed
 * to a sink: one builds jansson values, the other a yaml_document_t that
 * keeps every scalar's style and tag for the merge.  The merge then
 * writes events straight into libyaml's emitter; text is never pasted.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "policy_json.h"

#define FMT(a, b)	__attribute__((format(printf, a, b)))
#define QUOTE_MAX	48	/* bytes of a user's text shown in a message */
#define TAG_PREFIX	"tag:yaml.org,2002:"

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

struct pj_err {
	char *buf;
	size_t size;
	int errnum;		/* errno to leave on failure */
	bool set;		/* the first error wins */
};

static void pj_fail(struct pj_err *, int, const yaml_mark_t *, const char *,
    ...) FMT(4, 5);

/* Record the first failure: "line L column C: what" when m is given. */
static void
pj_fail(struct pj_err *e, int errnum, const yaml_mark_t *m, const char *fmt,
    ...)
{
	va_list ap;
	int n = 0;

	if (e->set)
		return;
	e->set = true;
	e->errnum = errnum;
	if (e->buf == NULL || e->size == 0)
		return;
	if (m != NULL)
		n = snprintf(e->buf, e->size, "line %zu column %zu: ",
		    m->line + 1, m->column + 1);
	if (n < 0 || (size_t)n >= e->size)
		return;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->size - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
pj_nomem(struct pj_err *e)
{
	pj_fail(e, ENOMEM, NULL, "out of memory");
}

/*
 * A user's bytes for a message: in double quotes, at most QUOTE_MAX bytes
 * of them, controls and quotes escaped (the text may come from anyone
 * who can submit a policy, and the message may reach a log).
 */
static const char *
quote(char *buf, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (size < 8)
		return "";
	buf[o++] = '"';
	for (i = 0; i < len && i < QUOTE_MAX && o + 6 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else
			buf[o++] = (char)c;
	}
	if (i < len && o + 5 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define QBUF	(QUOTE_MAX * 4 + 8)

/* ------------------------------------------------------------------ */
/* Scalars: the YAML 1.2 core schema (section 10.3.2)                  */
/* ------------------------------------------------------------------ */

enum pj_class { CLS_NULL, CLS_BOOL, CLS_INT, CLS_FLOAT, CLS_STR };

enum pj_kind { PJ_NULL, PJ_BOOL, PJ_INT, PJ_REAL, PJ_STR };

struct pj_scalar {
	enum pj_kind kind;
	bool b;
	json_int_t i;
	double d;
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool
any_of(const char *s, size_t len, const char *const *words)
{
	for (; *words != NULL; words++)
		if (text_is(s, len, *words))
			return true;
	return false;
}

static size_t
skip_digits(const char *s, size_t len, size_t i)
{
	while (i < len && is_digit(s[i]))
		i++;
	return i;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool
is_float_text(const char *s, size_t len)
{
	size_t i = 0, k;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < len && s[i] == '.') {
		k = skip_digits(s, len, i + 1);
		if (k == i + 1)
			return false;
		i = k;
	} else {
		k = skip_digits(s, len, i);
		if (k == i)
			return false;
		i = k;
		if (i < len && s[i] == '.')
			i = skip_digits(s, len, i + 1);
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		k = skip_digits(s, len, i);
		if (k == i)
			return false;
		i = k;
	}
	return i == len;
}

static const char *const float_specials[] = { ".inf", ".Inf", ".INF",
    "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
    ".NAN", NULL };

/* Which core-schema type a plain scalar's text resolves to. */
static enum pj_class
classify(const char *s, size_t len)
{
	static const char *const nulls[] = { "null", "Null", "NULL", "~",
	    NULL };
	static const char *const bools[] = { "true", "True", "TRUE", "false",
	    "False", "FALSE", NULL };
	size_t i = 0;

	if (len == 0 || any_of(s, len, nulls))
		return CLS_NULL;
	if (any_of(s, len, bools))
		return CLS_BOOL;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		for (i = 2; i < len; i++)
			if (s[1] == 'x' ? !is_xdigit(s[i]) :
			    s[i] < '0' || s[i] > '7')
				break;
		if (i == len)
			return CLS_INT;
	}
	i = (s[0] == '-' || s[0] == '+');
	if (i < len && skip_digits(s, len, i) == len)
		return CLS_INT;
	if (is_float_text(s, len) || any_of(s, len, float_specials))
		return CLS_FLOAT;
	return CLS_STR;
}

/*
 * A number JSON can hold, else its text: a real when a double holds it
 * finitely, else a string (.inf, .nan and overflow have no JSON form, and
 * refusing them would make a valid policy unreadable).
 */
static int
to_real(const char *s, size_t len, struct pj_scalar *out)
{
	char small[64], *t = small;
	double d = INFINITY;
	size_t i;

	if (any_of(s, len, float_specials)) {
		/* keep the text */
	} else if (len > 2 && s[0] == '0' && s[1] == 'o') {
		/* strtod() knows no octal. */
		for (d = 0, i = 2; i < len; i++)
			d = d * 8 + (s[i] - '0');
	} else {
		/* Decimal or 0x hex digits only: strtod() reads both. */
		if (len >= sizeof(small) && (t = malloc(len + 1)) == NULL)
			return -1;
		memcpy(t, s, len);
		t[len] = '\0';
		d = strtod(t, NULL);
		if (t != small)
			free(t);
	}
	if (isfinite(d)) {
		out->kind = PJ_REAL;
		out->d = d;
	} else
		out->kind = PJ_STR;
	return 0;
}

/* Text already known to be of class CLS_INT. */
static int
to_int(const char *s, size_t len, struct pj_scalar *out)
{
	unsigned long long v = 0, lim = (unsigned long long)INT64_MAX;
	unsigned base = 10, dig;
	size_t i = 0;
	bool neg = false;

	_Static_assert(sizeof(json_int_t) == sizeof(int64_t),
	    "json_int_t is 64 bits");
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		i = 2;
	} else if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		lim += neg;
		i = 1;
	}
	for (; i < len; i++) {
		dig = is_digit(s[i]) ? (unsigned)(s[i] - '0') :
		    (unsigned)((s[i] | 0x20) - 'a' + 10);
		if (v > (lim - dig) / base)
			return to_real(s, len, out);
		v = v * base + dig;
	}
	out->kind = PJ_INT;
	if (neg)
		out->i = v == lim ? INT64_MIN : -(json_int_t)v;
	else
		out->i = (json_int_t)v;
	return 0;
}

/* Tags: the core schema's, by their full names. */
enum pj_tag {
	TAG_NONE, TAG_STR, TAG_INT, TAG_FLOAT, TAG_BOOL, TAG_NULL, TAG_MAP,
	TAG_SEQ, TAG_OTHER
};

static enum pj_tag
tag_of(const yaml_char_t *tag)
{
	static const char *const names[] = { "str", "int", "float", "bool",
	    "null", "map", "seq" };
	const char *t = (const char *)tag;
	size_t i;

	if (t == NULL)
		return TAG_NONE;
	if (strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return TAG_OTHER;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(t + strlen(TAG_PREFIX), names[i]) == 0)
			return (enum pj_tag)(TAG_STR + i);
	return TAG_OTHER;
}

/*
 * Type a scalar event.  Returns 0, or -1 with e set when its tag does not
 * fit its text (or memory ran out).
 */
static int
resolve(const yaml_event_t *ev, enum pj_tag tag, struct pj_scalar *out,
    struct pj_err *e)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum pj_class c = classify(s, len);
	static const char *const what[] = {
	    [TAG_INT] = "an integer", [TAG_FLOAT] = "a number",
	    [TAG_BOOL] = "a boolean", [TAG_NULL] = "null" };
	static const char *const name[] = {
	    [TAG_INT] = "int", [TAG_FLOAT] = "float", [TAG_BOOL] = "bool",
	    [TAG_NULL] = "null" };
	char q[QBUF];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (tag == TAG_STR || (tag == TAG_NONE &&
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)) {
		out->kind = PJ_STR;
		return 0;
	}
	if (tag == TAG_NONE || (tag == TAG_NULL && c == CLS_NULL) ||
	    (tag == TAG_BOOL && c == CLS_BOOL) ||
	    (tag == TAG_INT && c == CLS_INT) ||
	    (tag == TAG_FLOAT && c == CLS_INT) ||
	    (tag == TAG_FLOAT && c == CLS_FLOAT)) {
		switch (tag == TAG_FLOAT ? CLS_FLOAT : c) {
		case CLS_NULL:
			out->kind = PJ_NULL;
			break;
		case CLS_BOOL:
			out->kind = PJ_BOOL;
			out->b = s[0] == 't' || s[0] == 'T';
			break;
		case CLS_INT:
			rc = to_int(s, len, out);
			break;
		case CLS_FLOAT:
			rc = to_real(s, len, out);
			break;
		case CLS_STR:
			out->kind = PJ_STR;
			break;
		}
		if (rc == -1)
			pj_nomem(e);
		return rc;
	}
	pj_fail(e, EINVAL, &ev->start_mark, "!!%s %s is not %s", name[tag],
	    quote(q, sizeof(q), s, len), what[tag]);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The checked event reader                                            */
/* ------------------------------------------------------------------ */

struct pj_frame {
	bool is_map;
	bool want_key;		/* map: the next node is a key */
	json_t *keys;		/* map: key text -> line first seen */
	/* For the sinks. */
	json_t *obj;		/* to JSON: the container (borrowed) */
	char *key;		/* to JSON: the pending key */
	size_t keylen;
	int node;		/* document: the container's node id */
	int key_node;		/* document: the pending key's node id */
};

struct pj_reader;

struct pj_sink {
	/* A scalar accepted; is_key when it is a mapping key. */
	int (*scalar)(struct pj_reader *, const yaml_event_t *,
	    const struct pj_scalar *, enum pj_tag, bool is_key);
	/* A collection begins; fill in the new frame's sink fields. */
	int (*start)(struct pj_reader *, const yaml_event_t *,
	    struct pj_frame *);
};

struct pj_reader {
	const struct pj_sink *sink;
	struct pj_err *e;
	struct pj_frame st[POLICY_JSON_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	unsigned docs;
	/* Sinks' state. */
	json_t *root;
	yaml_document_t *doc;
};

static struct pj_frame *
top(struct pj_reader *r)
{
	return r->depth > 0 ? &r->st[r->depth - 1] : NULL;
}

static void
frame_clear(struct pj_frame *f)
{
	json_decref(f->keys);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

/* Reader errors carry a byte offset: make it a mark (columns in characters). */
static void
offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			m->column++;
	}
}

static void
syntax_error(struct pj_reader *r, const yaml_parser_t *ps, const char *buf,
    size_t len)
{
	yaml_mark_t m;
	char ctx[160] = "";

	if (ps->error == YAML_MEMORY_ERROR) {
		pj_nomem(r->e);
		return;
	}
	if (ps->error == YAML_READER_ERROR) {
		offset_mark(buf, len, ps->problem_offset, &m);
		if (ps->problem_value != -1)
			snprintf(ctx, sizeof(ctx), " (byte 0x%02x)",
			    (unsigned)ps->problem_value & 0xffu);
	} else {
		m = ps->problem_mark;
		if (ps->context != NULL)
			snprintf(ctx, sizeof(ctx), " (%s at line %zu column "
			    "%zu)", ps->context, ps->context_mark.line + 1,
			    ps->context_mark.column + 1);
	}
	pj_fail(r->e, EINVAL, &m, "%s%s", ps->problem != NULL ? ps->problem :
	    "invalid YAML", ctx);
}

/* Anchors are refused where defined, before any alias can use them. */
static int
check_props(struct pj_reader *r, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag, enum pj_tag want,
    enum pj_tag *out)
{
	const char *t = (const char *)tag;
	char q[QBUF];
	enum pj_tag k = tag_of(tag);

	if (anchor != NULL) {
		pj_fail(r->e, EINVAL, &ev->start_mark, "YAML anchors are not "
		    "allowed (expected the value written out)");
		return -1;
	}
	if (k == TAG_NONE || k == want ||
	    (want == TAG_STR && k >= TAG_STR && k <= TAG_NULL)) {
		*out = k;
		return 0;
	}
	if (k != TAG_OTHER) {
		pj_fail(r->e, EINVAL, &ev->start_mark, "tag !!%s on a %s is "
		    "not allowed", t + strlen(TAG_PREFIX), want == TAG_STR ?
		    "scalar" : want == TAG_MAP ? "mapping" : "sequence");
		return -1;
	}
	pj_fail(r->e, EINVAL, &ev->start_mark, "tag %s is not allowed "
	    "(expected none, or one of !!str !!int !!float !!bool !!null "
	    "!!map !!seq)", quote(q, sizeof(q), t, strlen(t)));
	return -1;
}

/* Every node: count it; a collection may not be a key. */
static int
check_node(struct pj_reader *r, const yaml_event_t *ev, bool collection)
{
	struct pj_frame *f = top(r);

	if (r->nodes >= POLICY_JSON_MAX_NODES) {
		pj_fail(r->e, EINVAL, &ev->start_mark, "more than %u YAML "
		    "nodes (expected at most %u)", POLICY_JSON_MAX_NODES,
		    POLICY_JSON_MAX_NODES);
		return -1;
	}
	r->nodes++;
	if (collection && f != NULL && f->is_map && f->want_key) {
		pj_fail(r->e, EINVAL, &ev->start_mark, "a %s used as a key "
		    "(expected a scalar)",
		    ev->type == YAML_MAPPING_START_EVENT ? "mapping" :
		    "sequence");
		return -1;
	}
	return 0;
}

/* libyaml accepts duplicate keys; JSON objects and the policy do not. */
static int
check_key(struct pj_reader *r, struct pj_frame *f, const yaml_event_t *ev)
{
	const char *k = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	json_t *first;
	char q[QBUF];

	if (f->keys == NULL && (f->keys = json_object()) == NULL) {
		pj_nomem(r->e);
		return -1;
	}
	if ((first = json_object_getn(f->keys, k, len)) != NULL) {
		pj_fail(r->e, EINVAL, &ev->start_mark, "duplicate key %s "
		    "(first at line %" JSON_INTEGER_FORMAT ")",
		    quote(q, sizeof(q), k, len), json_integer_value(first));
		return -1;
	}
	if (json_object_setn_new(f->keys, k, len,
	    json_integer((json_int_t)ev->start_mark.line + 1)) == -1) {
		pj_nomem(r->e);
		return -1;
	}
	return 0;
}

/* After a value: its mapping wants a key again. */
static void
value_done(struct pj_reader *r)
{
	struct pj_frame *f = top(r);

	if (f != NULL && f->is_map)
		f->want_key = true;
}

static int
read_event(struct pj_reader *r, const yaml_event_t *ev)
{
	struct pj_frame *f = top(r), nf;
	struct pj_scalar sc;
	enum pj_tag tag;
	bool is_key;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (r->docs++ > 0) {
			pj_fail(r->e, EINVAL, &ev->start_mark, "a second YAML "
			    "document is not allowed (expected one)");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		pj_fail(r->e, EINVAL, &ev->start_mark, "YAML aliases are not "
		    "allowed (expected the value written out)");
		return -1;
	case YAML_SCALAR_EVENT:
		if (check_props(r, ev, ev->data.scalar.anchor,
		    ev->data.scalar.tag, TAG_STR, &tag) == -1 ||
		    check_node(r, ev, false) == -1 ||
		    resolve(ev, tag, &sc, r->e) == -1)
			return -1;
		is_key = f != NULL && f->is_map && f->want_key;
		if (is_key && check_key(r, f, ev) == -1)
			return -1;
		if (r->sink->scalar(r, ev, &sc, tag, is_key) == -1)
			return -1;
		if (f != NULL && is_key)
			f->want_key = false;
		else
			value_done(r);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		memset(&nf, 0, sizeof(nf));
		nf.is_map = ev->type == YAML_MAPPING_START_EVENT;
		nf.want_key = nf.is_map;
		if (check_props(r, ev, nf.is_map ?
		    ev->data.mapping_start.anchor :
		    ev->data.sequence_start.anchor, nf.is_map ?
		    ev->data.mapping_start.tag : ev->data.sequence_start.tag,
		    nf.is_map ? TAG_MAP : TAG_SEQ, &tag) == -1 ||
		    check_node(r, ev, true) == -1)
			return -1;
		if (r->depth == POLICY_JSON_MAX_DEPTH) {
			pj_fail(r->e, EINVAL, &ev->start_mark, "nesting deeper "
			    "than %d levels (expected at most %d)",
			    POLICY_JSON_MAX_DEPTH, POLICY_JSON_MAX_DEPTH);
			return -1;
		}
		if (r->sink->start(r, ev, &nf) == -1)
			return -1;
		r->st[r->depth++] = nf;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (r->depth == 0)
			return 0;	/* libyaml never does this */
		frame_clear(&r->st[--r->depth]);
		value_done(r);
		return 0;
	default:
		return 0;
	}
}

/* Parse and check; each accepted node goes to r->sink.  0 or -1. */
static int
read_yaml(struct pj_reader *r, const char *yaml, size_t len)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	int rc = -1;

	if (yaml == NULL && len > 0) {
		pj_fail(r->e, EINVAL, NULL, "no YAML text");
		return -1;
	}
	if (len > POLICY_JSON_MAX_INPUT) {
		pj_fail(r->e, EFBIG, NULL, "the YAML text is %zu bytes "
		    "(expected at most %u)", len, POLICY_JSON_MAX_INPUT);
		return -1;
	}
	if (!yaml_parser_initialize(&ps)) {
		pj_nomem(r->e);
		return -1;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)(yaml ?
	    yaml : ""), len);
	yaml_parser_set_encoding(&ps, YAML_UTF8_ENCODING);
	for (;;) {
		memset(&ev, 0, sizeof(ev));
		if (!yaml_parser_parse(&ps, &ev)) {
			syntax_error(r, &ps, yaml, len);
			rc = -1;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		rc = read_event(r, &ev);
		yaml_event_delete(&ev);
		if (rc == -1)
			break;
	}
	yaml_parser_delete(&ps);
	while (r->depth > 0)
		frame_clear(&r->st[--r->depth]);
	return rc;
}

/* ------------------------------------------------------------------ */
/* YAML -> JSON                                                        */
/* ------------------------------------------------------------------ */

/* Attach v (stolen) where the reader is. */
static int
json_attach(struct pj_reader *r, json_t *v)
{
	struct pj_frame *f = top(r);
	int rc;

	if (v == NULL) {
		pj_nomem(r->e);
		return -1;
	}
	if (f == NULL) {
		r->root = v;
		return 0;
	}
	if (!f->is_map)
		rc = json_array_append_new(f->obj, v);
	else {
		rc = json_object_setn_new(f->obj, f->key, f->keylen, v);
		free(f->key);
		f->key = NULL;
	}
	if (rc == -1)
		pj_nomem(r->e);
	return rc;
}

static int
json_scalar(struct pj_reader *r, const yaml_event_t *ev,
    const struct pj_scalar *sc, enum pj_tag tag, bool is_key)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct pj_frame *f = top(r);
	json_t *v = NULL;

	(void)tag;
	if (is_key) {
		/* Keys are their text, whatever they resolve to. */
		if ((f->key = malloc(len + 1)) == NULL) {
			pj_nomem(r->e);
			return -1;
		}
		memcpy(f->key, s, len);
		f->key[len] = '\0';
		f->keylen = len;
		return 0;
	}
	switch (sc->kind) {
	case PJ_NULL:
		v = json_null();
		break;
	case PJ_BOOL:
		v = json_boolean(sc->b);
		break;
	case PJ_INT:
		v = json_integer(sc->i);
		break;
	case PJ_REAL:
		v = json_real(sc->d);
		break;
	case PJ_STR:
		/* libyaml hands out valid UTF-8 only; this checks again. */
		v = json_stringn(s, len);
		break;
	}
	return json_attach(r, v);
}

static int
json_start(struct pj_reader *r, const yaml_event_t *ev, struct pj_frame *nf)
{
	(void)ev;
	nf->obj = nf->is_map ? json_object() : json_array();
	return json_attach(r, nf->obj);
}

static const struct pj_sink json_sink = { json_scalar, json_start };

json_t *
policy_yaml_to_json(const char *yaml, size_t len, char *err, size_t errlen)
{
	struct pj_err e = { err, errlen, 0, false };
	struct pj_reader r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&r, 0, sizeof(r));
	r.sink = &json_sink;
	r.e = &e;
	if (read_yaml(&r, yaml, len) == -1) {
		json_decref(r.root);
		errno = e.errnum;
		return NULL;
	}
	if (r.root == NULL && (r.root = json_null()) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	return r.root;
}

/* ------------------------------------------------------------------ */
/* YAML -> yaml_document_t, styles and tags kept                       */
/* ------------------------------------------------------------------ */

static int
doc_attach(struct pj_reader *r, int id, bool is_key)
{
	struct pj_frame *f = top(r);
	int ok = 1;

	if (id == 0) {
		pj_nomem(r->e);
		return -1;
	}
	if (f == NULL)
		return 0;	/* the first node added is the root */
	if (!f->is_map)
		ok = yaml_document_append_sequence_item(r->doc, f->node, id);
	else if (is_key)
		f->key_node = id;
	else
		ok = yaml_document_append_mapping_pair(r->doc, f->node,
		    f->key_node, id);
	if (!ok) {
		pj_nomem(r->e);
		return -1;
	}
	return 0;
}

static int
doc_scalar(struct pj_reader *r, const yaml_event_t *ev,
    const struct pj_scalar *sc, enum pj_tag tag, bool is_key)
{
	yaml_scalar_style_t style = ev->data.scalar.style;
	const yaml_char_t *t = ev->data.scalar.tag;

	(void)sc;
	/*
	 * libyaml writes a default-tagged (!!str) scalar without its tag,
	 * so a plain `!!str 123` would come back as an integer: quote it
	 * instead, which says string by itself.
	 */
	if (tag == TAG_STR || tag == TAG_NONE) {
		t = NULL;
		if (tag == TAG_STR && style == YAML_PLAIN_SCALAR_STYLE)
			style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	}
	return doc_attach(r, yaml_document_add_scalar(r->doc, t,
	    ev->data.scalar.value, (int)ev->data.scalar.length, style), is_key);
}

static int
doc_start(struct pj_reader *r, const yaml_event_t *ev, struct pj_frame *nf)
{
	(void)ev;
	/* Block style on output whatever the input used. */
	nf->node = nf->is_map ?
	    yaml_document_add_mapping(r->doc, NULL, YAML_BLOCK_MAPPING_STYLE) :
	    yaml_document_add_sequence(r->doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
	return doc_attach(r, nf->node, false);
}

static const struct pj_sink doc_sink = { doc_scalar, doc_start };

/* ------------------------------------------------------------------ */
/* The merge (RFC 7396 section 2), written as emitter events           */
/* ------------------------------------------------------------------ */

struct outbuf {
	unsigned char *buf;
	size_t len, size;
	bool over;		/* hit the cap */
};

/* The emitter's write handler: a growing buffer, capped. */
static int
out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;
	size_t want;
	unsigned char *nb;

	if (size > POLICY_JSON_MAX_INPUT - o->len) {
		o->over = true;
		return 0;
	}
	if (o->len + size + 1 > o->size) {
		want = o->size ? o->size : 4096;
		while (want < o->len + size + 1)
			want *= 2;
		if (want > POLICY_JSON_MAX_INPUT + 1)
			want = POLICY_JSON_MAX_INPUT + 1;
		if ((nb = realloc(o->buf, want)) == NULL)
			return 0;
		o->buf = nb;
		o->size = want;
	}
	memcpy(o->buf + o->len, buf, size);
	o->len += size;
	return 1;
}

struct merge {
	yaml_emitter_t em;
	yaml_document_t *doc;
	struct outbuf out;
	size_t nodes;
	struct pj_err *e;
};

static int
emit(struct merge *m, yaml_event_t *ev, int made)
{
	if (!made) {
		pj_nomem(m->e);
		return -1;
	}
	if (!yaml_emitter_emit(&m->em, ev)) {
		if (m->out.over)
			pj_fail(m->e, EFBIG, NULL, "the result is larger than "
			    "%u bytes", POLICY_JSON_MAX_INPUT);
		else if (m->em.error == YAML_MEMORY_ERROR ||
		    m->em.error == YAML_WRITER_ERROR)
			pj_nomem(m->e);
		else
			pj_fail(m->e, EINVAL, NULL, "cannot write YAML: %s",
			    m->em.problem != NULL ? m->em.problem : "?");
		return -1;
	}
	return 0;
}

/* Count a node of the result; a collection at depth (1 = the root). */
static int
count(struct merge *m, bool collection, size_t depth)
{
	if (++m->nodes > POLICY_JSON_MAX_NODES) {
		pj_fail(m->e, EINVAL, NULL, "the result has more than %u YAML "
		    "nodes", POLICY_JSON_MAX_NODES);
		return -1;
	}
	if (collection && depth > POLICY_JSON_MAX_DEPTH) {
		pj_fail(m->e, EINVAL, NULL, "the result nests deeper than %d "
		    "levels", POLICY_JSON_MAX_DEPTH);
		return -1;
	}
	return 0;
}

static int
emit_scalar(struct merge *m, const yaml_char_t *tag, const char *s,
    size_t len, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	int implicit = tag == NULL;

	if (count(m, false, 0) == -1)
		return -1;
	if (len > INT32_MAX) {
		pj_fail(m->e, EFBIG, NULL, "a scalar of %zu bytes", len);
		return -1;
	}
	return emit(m, &ev, yaml_scalar_event_initialize(&ev, NULL, tag,
	    (const yaml_char_t *)s, (int)len, implicit, implicit, style));
}

static int
emit_start(struct merge *m, bool is_map, size_t depth)
{
	yaml_event_t ev;

	if (count(m, true, depth) == -1)
		return -1;
	if (is_map)
		return emit(m, &ev, yaml_mapping_start_event_initialize(&ev,
		    NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
	return emit(m, &ev, yaml_sequence_start_event_initialize(&ev, NULL,
	    NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
}

static int
emit_end(struct merge *m, bool is_map)
{
	yaml_event_t ev;

	if (is_map)
		return emit(m, &ev, yaml_mapping_end_event_initialize(&ev));
	return emit(m, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* A node of the base, as it was (depth: the node's own). */
static int
emit_base(struct merge *m, const yaml_node_t *n, size_t depth)
{
	const yaml_char_t *tag = n->tag;
	yaml_node_item_t *it;
	yaml_node_pair_t *p;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (tag != NULL && strcmp((const char *)tag,
		    YAML_DEFAULT_SCALAR_TAG) == 0)
			tag = NULL;
		return emit_scalar(m, tag, (const char *)n->data.scalar.value,
		    n->data.scalar.length, n->data.scalar.style);
	case YAML_SEQUENCE_NODE:
		if (emit_start(m, false, depth) == -1)
			return -1;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			if (emit_base(m, yaml_document_get_node(m->doc, *it),
			    depth + 1) == -1)
				return -1;
		return emit_end(m, false);
	case YAML_MAPPING_NODE:
		if (emit_start(m, true, depth) == -1)
			return -1;
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++)
			if (emit_base(m, yaml_document_get_node(m->doc, p->key),
			    depth + 1) == -1 || emit_base(m,
			    yaml_document_get_node(m->doc, p->value),
			    depth + 1) == -1)
				return -1;
		return emit_end(m, true);
	default:
		pj_fail(m->e, EINVAL, NULL, "empty YAML node");
		return -1;
	}
}

static bool
valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1fu;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0fu;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07u;
		} else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * A string of the patch, as a key or a value.  Values are double-quoted
 * (they must stay strings); a key is plain when that reads back as a
 * string, which is how people write keys.
 */
static int
emit_string(struct merge *m, const char *s, size_t len, bool is_key)
{
	char q[QBUF];

	if (!valid_utf8((const unsigned char *)s, len)) {
		pj_fail(m->e, EINVAL, NULL, "patch string %s is not valid "
		    "UTF-8", quote(q, sizeof(q), s, len));
		return -1;
	}
	/*
	 * Plain whenever it reads back as a string: the policy loader takes
	 * some keywords (listen_port: any, functions: read-only, none) only
	 * unquoted.  libyaml quotes by itself what cannot be plain.
	 */
	(void)is_key;
	return emit_scalar(m, NULL, s, len, classify(s, len) == CLS_STR ?
	    YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

/*
 * A real as plain YAML that reads back as the same float: the shortest
 * of 15..17 significant digits that round-trips, and never bare digits
 * (the core schema would make those an integer).
 */
static int
emit_real(struct merge *m, double d)
{
	char buf[48];
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".eEn") == NULL)
		strcat(buf, ".0");
	return emit_scalar(m, NULL, buf, strlen(buf),
	    YAML_PLAIN_SCALAR_STYLE);
}

static int merge_value(struct merge *, const yaml_node_t *, const json_t *,
    size_t);

/* A JSON value of the patch as it is (arrays keep objects' nulls). */
static int
emit_json(struct merge *m, const json_t *v, size_t depth)
{
	char buf[32];
	const char *k;
	size_t klen, i;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (emit_start(m, true, depth) == -1)
			return -1;
		json_object_keylen_foreach((json_t *)v, k, klen, x)
			if (emit_string(m, k, klen, true) == -1 ||
			    emit_json(m, x, depth + 1) == -1)
				return -1;
		return emit_end(m, true);
	case JSON_ARRAY:
		if (emit_start(m, false, depth) == -1)
			return -1;
		json_array_foreach(v, i, x)
			if (emit_json(m, x, depth + 1) == -1)
				return -1;
		return emit_end(m, false);
	case JSON_STRING:
		return emit_string(m, json_string_value(v),
		    json_string_length(v), false);
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return emit_scalar(m, NULL, buf, strlen(buf),
		    YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		return emit_real(m, json_real_value(v));
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		k = json_is_true(v) ? "true" : json_is_false(v) ? "false" :
		    "null";
		return emit_scalar(m, NULL, k, strlen(k),
		    YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

/*
 * MergePatch(Target, Patch) of RFC 7396 section 2, written out: base is
 * the target's node (NULL when absent), depth the result node's own.
 */
static int
merge_value(struct merge *m, const yaml_node_t *base, const json_t *patch,
    size_t depth)
{
	const yaml_node_t *k;
	yaml_node_pair_t *p;
	json_t *pv, *seen = NULL;
	const char *key;
	size_t klen;
	int rc = -1;

	if (!json_is_object(patch))
		return emit_json(m, patch, depth);
	if (base != NULL && base->type != YAML_MAPPING_NODE)
		base = NULL;	/* "Target = {}" */
	if (emit_start(m, true, depth) == -1)
		return -1;
	if (base != NULL && json_object_size(patch) > 0 &&
	    (seen = json_object()) == NULL) {
		pj_nomem(m->e);
		return -1;
	}
	for (p = base ? base->data.mapping.pairs.start : NULL;
	    base != NULL && p < base->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(m->doc, p->key);
		/* The reader let only scalar keys through. */
		pv = seen == NULL ? NULL : json_object_getn(patch,
		    (const char *)k->data.scalar.value, k->data.scalar.length);
		if (pv != NULL && json_object_setn_new(seen,
		    (const char *)k->data.scalar.value, k->data.scalar.length,
		    json_true()) == -1) {
			pj_nomem(m->e);
			goto out;
		}
		if (json_is_null(pv))
			continue;
		if (emit_base(m, k, depth + 1) == -1)
			goto out;
		if (pv == NULL) {
			if (emit_base(m, yaml_document_get_node(m->doc,
			    p->value), depth + 1) == -1)
				goto out;
		} else if (merge_value(m, yaml_document_get_node(m->doc,
		    p->value), pv, depth + 1) == -1)
			goto out;
	}
	json_object_keylen_foreach((json_t *)patch, key, klen, pv) {
		if (json_is_null(pv) || (seen != NULL &&
		    json_object_getn(seen, key, klen) != NULL))
			continue;
		if (emit_string(m, key, klen, true) == -1 ||
		    merge_value(m, NULL, pv, depth + 1) == -1)
			goto out;
	}
	rc = emit_end(m, true);
out:
	json_decref(seen);
	return rc;
}

static int
merge_document(struct merge *m, const json_t *patch)
{
	yaml_event_t ev;

	yaml_emitter_set_output(&m->em, out_write, &m->out);
	yaml_emitter_set_encoding(&m->em, YAML_UTF8_ENCODING);
	yaml_emitter_set_unicode(&m->em, 1);
	yaml_emitter_set_width(&m->em, -1);	/* never fold lines */
	yaml_emitter_set_indent(&m->em, 2);
	yaml_emitter_set_break(&m->em, YAML_LN_BREAK);
	if (emit(m, &ev, yaml_stream_start_event_initialize(&ev,
	    YAML_UTF8_ENCODING)) == -1 ||
	    emit(m, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL,
	    NULL, 1)) == -1 ||
	    merge_value(m, yaml_document_get_root_node(m->doc), patch,
	    1) == -1 ||
	    emit(m, &ev, yaml_document_end_event_initialize(&ev, 1)) == -1 ||
	    emit(m, &ev, yaml_stream_end_event_initialize(&ev)) == -1)
		return -1;
	if (!yaml_emitter_flush(&m->em)) {
		if (m->out.over)
			pj_fail(m->e, EFBIG, NULL, "the result is larger than "
			    "%u bytes", POLICY_JSON_MAX_INPUT);
		else
			pj_nomem(m->e);
		return -1;
	}
	return 0;
}

char *
policy_merge_patch(const char *yaml, size_t len, const json_t *patch,
    size_t *outlen, char *err, size_t errlen)
{
	struct pj_err e = { err, errlen, 0, false };
	struct pj_reader r;
	struct merge m;
	yaml_document_t doc;
	int rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!json_is_object(patch)) {
		pj_fail(&e, EINVAL, NULL, "the merge patch is %s (expected a "
		    "JSON object)", patch == NULL ? "missing" :
		    json_is_array(patch) ? "an array" : json_is_null(patch) ?
		    "null" : "a scalar");
		errno = EINVAL;
		return NULL;
	}
	if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
		errno = ENOMEM;
		pj_nomem(&e);
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.sink = &doc_sink;
	r.e = &e;
	r.doc = &doc;
	memset(&m, 0, sizeof(m));
	m.doc = &doc;
	m.e = &e;
	if (read_yaml(&r, yaml, len) == 0) {
		if (!yaml_emitter_initialize(&m.em))
			pj_nomem(&e);
		else {
			rc = merge_document(&m, patch);
			yaml_emitter_delete(&m.em);
		}
	}
	yaml_document_delete(&doc);
	if (rc == -1 || m.out.buf == NULL) {
		if (rc == 0)
			pj_nomem(&e);	/* no output at all: cannot happen */
		free(m.out.buf);
		errno = e.errnum ? e.errnum : EINVAL;
		return NULL;
	}
	m.out.buf[m.out.len] = '\0';
	*outlen = m.out.len;
	return (char *)m.out.buf;
}
