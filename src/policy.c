/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy.c - load, layer, validate and print the YAML policy.
 *
 * Three stages, one section each below:
 *  1. bytes -> node tree.  Size and UTF-8 are checked before libyaml sees
 *     a byte; then libyaml's event API (never the document API, which
 *     would expand aliases) builds a tree of mappings, sequences and
 *     scalars that remember file:line:column.  What YAML offers but a
 *     policy does not need - anchors, aliases, tags, a second document,
 *     duplicate keys, deep nesting - is refused here, before it can cost
 *     memory or time.
 *  2. layering.  A `base:` is loaded first and the naming file's tree is
 *     merged over it: mappings merge key by key, sequences and scalars
 *     replace.  Every node keeps the file it came from, so an error in
 *     a merged value points into the file that supplied it.
 *  3. schema.  The merged tree is checked key by key into a struct policy
 *     whose fields start at the hardened defaults, so a key omitted
 *     everywhere never weakens anything.
 * Printing (normalised YAML, flatten, diff) and comparing walk the same
 * schema tables as the checker, so a key cannot be accepted but not shown.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "log.h"
#include "policy.h"
#include "tags.h"

/*
 * Caps beyond the header's.  A 1 MiB file can hold ~500k one-byte
 * sequence items; the node cap keeps the tree's memory bounded (~32 MiB
 * worst case), and the key cap keeps merging and duplicate checks cheap.
 * Both sit far above what the schema can use (16384 ACL entries need
 * ~150k nodes, 10000 tags and 10000 map entries in flow form ~160k; the
 * widest mapping has 28 keys).
 */
#define MAX_NODES	(1u << 21)
#define MAX_MAP_KEYS	256
#define QUOTE_MAX	64	/* bytes of a user's value quoted in a message */
#define QBUF		(QUOTE_MAX * 4 + 16)	/* room for quote() */

#define FMT(a, b)	__attribute__((format(printf, a, b)))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void set_err(struct policy_error *, const char *, ...) FMT(2, 3);
static void errat(struct policy_error *, const char *, unsigned, unsigned,
    const char *, const char *, ...) FMT(6, 7);

static void
set_err(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* "file:line:col: path: " followed by fmt. */
static void
errat(struct policy_error *err, const char *file, unsigned line,
    unsigned col, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: %s: ", file, line,
	    col, path);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A user's bytes, quoted and escaped, for a message. */
static const char *
quote(char *dst, size_t n, const char *s, size_t len)
{
	char tmp[QUOTE_MAX * 4 + 4];

	log_quote(tmp, sizeof(tmp), s, len > QUOTE_MAX ? QUOTE_MAX : len);
	snprintf(dst, n, "\"%s%s\"", tmp, len > QUOTE_MAX ? "..." : "");
	return dst;
}

static void bprintf(char *, size_t, size_t *, const char *, ...) FMT(4, 5);

/* Append to buf at *o, never past size; *o stays <= size - 1. */
static void
bprintf(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, size - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < size ? *o + (size_t)n : size - 1;
}

/* ------------------------------------------------------------------ */
/* Stage 1: bytes -> node tree                                         */
/* ------------------------------------------------------------------ */

enum pnode_kind { PNODE_SCALAR, PNODE_MAP, PNODE_SEQ };

struct pnode {
	enum pnode_kind kind;
	const char *file;	/* owned by struct load */
	unsigned line, col;	/* 1-based */
	bool quoted;		/* scalar written in any style but plain */
	char *text;		/* scalar: value, NUL-terminated */
	size_t len;		/* scalar: bytes in text (a "\0" escape may hide in it) */
	struct pnode **kids;	/* map: key, value, key, value, ...; seq: items */
	size_t n, cap;
};

/* One file of a base chain, to detect cycles. */
struct chain_link {
	const char *name;
	int embedded;		/* 0 = file (dev, ino), else an embedded profile */
	dev_t dev;
	ino_t ino;
};

struct load {
	struct policy_error *err;
	char **names;		/* file names the nodes point to */
	size_t n_names, cap_names;
	size_t n_nodes;
	struct chain_link chain[POLICY_MAX_BASE_DEPTH + 1];
};

static const char *
load_keep_name(struct load *ld, const char *name)
{
	char *copy, **v;

	if (ld->n_names == ld->cap_names) {
		size_t cap = ld->cap_names ? ld->cap_names * 2 : 8;

		v = realloc(ld->names, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		ld->names = v;
		ld->cap_names = cap;
	}
	if ((copy = strdup(name)) == NULL)
		return NULL;
	ld->names[ld->n_names++] = copy;
	return copy;
}

static void
load_release(struct load *ld)
{
	size_t i;

	for (i = 0; i < ld->n_names; i++)
		free(ld->names[i]);
	free(ld->names);
	ld->names = NULL;
	ld->n_names = ld->cap_names = 0;
}

static void
node_free(struct pnode *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static int
node_add(struct pnode *parent, struct pnode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct pnode **v = realloc(parent->kids, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		parent->kids = v;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

static bool
scalar_is(const struct pnode *n, const char *s)
{
	size_t len = strlen(s);

	return n->kind == PNODE_SCALAR && n->len == len &&
	    memcmp(n->text, s, len) == 0;
}

/* The value of key in map (and the key node), or NULL. */
static struct pnode *
map_get(const struct pnode *map, const char *key, size_t *index)
{
	size_t i;

	if (map == NULL || map->kind != PNODE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (scalar_is(map->kids[i], key)) {
			if (index != NULL)
				*index = i;
			return map->kids[i + 1];
		}
	return NULL;
}

/* Path components: plain keys as they are, anything odd quoted. */
static void
path_add_key(char *path, size_t size, const char *key, size_t len)
{
	size_t o = strlen(path), i;
	bool plain = len > 0 && len <= QUOTE_MAX;
	char q[QBUF];

	for (i = 0; plain && i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';
	}
	snprintf(path + o, size - o, "%s%s", o ? "." : "",
	    plain ? "" : quote(q, sizeof(q), key, len));
	if (plain) {
		o = strlen(path);
		if (size - o > len) {
			memcpy(path + o, key, len);
			path[o + len] = '\0';
		}
	}
}

static void
path_add_index(char *path, size_t size, size_t index)
{
	size_t o = strlen(path);

	snprintf(path + o, size - o, "[%zu]", index);
}

/*
 * Line and column (1-based, in characters like libyaml's marks) of byte
 * offset off.  A CR LF pair, a lone CR and an LF each end a line.
 */
static void
offset_position(const unsigned char *s, size_t len, size_t off,
    unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == len ||
		    s[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if ((s[i] & 0xc0) != 0x80 && s[i] != '\r')
			(*col)++;
	}
}

/*
 * RFC 3629 section 4: reject overlong forms, surrogates and code points
 * past U+10FFFF.  Done before libyaml so the message can name the first
 * bad byte instead of libyaml's "invalid leading UTF-8 octet".
 */
static int
check_utf8(const char *name, const unsigned char *s, size_t len,
    struct policy_error *err)
{
	size_t i = 0, k, n;
	unsigned line, col;
	uint32_t cp, min;

	while (i < len) {
		unsigned c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else
			goto bad;
		if (len - i < n)
			goto bad;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n;
	}
	return 0;
bad:
	offset_position(s, len, i, &line, &col);
	errat(err, name, line, col, "file", "byte 0x%02x is not valid UTF-8 "
	    "(expected a UTF-8 text file)", s[i]);
	return -1;
}

struct frame {
	struct pnode *node;
	const struct pnode *key;	/* map: key whose value is open */
};

struct builder {
	struct load *ld;
	const char *file;
	struct frame st[POLICY_MAX_DEPTH];
	size_t depth;
	struct pnode *root;
};

/*
 * Path of the node about to be attached (self_key: when that node is a
 * key, its text).
 */
static void
build_path(const struct builder *b, const char *self_key, size_t self_len,
    char *path, size_t size)
{
	size_t i;

	path[0] = '\0';
	for (i = 0; i < b->depth; i++) {
		const struct frame *f = &b->st[i];
		bool top = i + 1 == b->depth;

		if (f->node->kind == PNODE_SEQ)
			path_add_index(path, size, top ? f->node->n :
			    f->node->n - 1);
		else if (f->key != NULL)
			path_add_key(path, size, f->key->text, f->key->len);
		else if (top && self_key != NULL)
			path_add_key(path, size, self_key, self_len);
	}
	if (path[0] == '\0')
		snprintf(path, size, "document");
}

static void build_err(struct builder *, const yaml_mark_t *, const char *,
    size_t, const char *, ...) FMT(5, 6);

static void
build_err(struct builder *b, const yaml_mark_t *m, const char *self_key,
    size_t self_len, const char *fmt, ...)
{
	char path[512], msg[768];
	va_list ap;

	build_path(b, self_key, self_len, path, sizeof(path));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errat(b->ld->err, b->file, (unsigned)m->line + 1,
	    (unsigned)m->column + 1, path, "%s", msg);
}

static int
key_cmp(const void *a, const void *b)
{
	const struct pnode *x = *(const struct pnode *const *)a;
	const struct pnode *y = *(const struct pnode *const *)b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->text, y->text, x->len)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * libyaml accepts duplicate keys.  Sort the keys so a mapping of n keys
 * costs n log n, and report the earliest repeat with its first line.
 */
static int
check_duplicates(struct builder *b, const struct pnode *map)
{
	const struct pnode **keys, *dup = NULL, *first = NULL;
	size_t n = map->n / 2, i, head = 0;
	yaml_mark_t m;

	if (n < 2)
		return 0;
	if ((keys = malloc(n * sizeof(*keys))) == NULL) {
		set_err(b->ld->err, "%s: out of memory", b->file);
		return -1;
	}
	for (i = 0; i < n; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		if (keys[i]->len != keys[head]->len ||
		    memcmp(keys[i]->text, keys[head]->text, keys[i]->len) != 0) {
			head = i;
			continue;
		}
		if (i == head + 1 && (dup == NULL || keys[i]->line < dup->line ||
		    (keys[i]->line == dup->line && keys[i]->col < dup->col))) {
			dup = keys[i];
			first = keys[head];
		}
	}
	free(keys);
	if (dup == NULL)
		return 0;
	m.line = dup->line - 1;
	m.column = dup->col - 1;
	m.index = 0;
	build_err(b, &m, dup->text, dup->len,
	    "duplicate key (first at line %u)", first->line);
	return -1;
}

static int
build_attach(struct builder *b, struct pnode *n, const yaml_mark_t *m)
{
	struct frame *f;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	f = &b->st[b->depth - 1];
	if (f->node->kind == PNODE_MAP && f->key == NULL) {
		if (n->kind != PNODE_SCALAR) {
			build_err(b, m, NULL, 0, "a %s used as a key "
			    "(expected a plain key)", n->kind == PNODE_MAP ?
			    "mapping" : "sequence");
			node_free(n);
			return -1;
		}
		if (f->node->n / 2 >= MAX_MAP_KEYS) {
			build_err(b, m, n->text, n->len, "more than %u keys "
			    "in one mapping (expected at most %u)",
			    MAX_MAP_KEYS, MAX_MAP_KEYS);
			node_free(n);
			return -1;
		}
		if (node_add(f->node, n) == -1)
			goto nomem;
		f->key = n;
		return 0;
	}
	if (node_add(f->node, n) == -1)
		goto nomem;
	if (f->node->kind == PNODE_MAP && n->kind == PNODE_SCALAR)
		f->key = NULL;
	return 0;
nomem:
	node_free(n);
	set_err(b->ld->err, "%s: out of memory", b->file);
	return -1;
}

static struct pnode *
build_node(struct builder *b, const yaml_event_t *ev, enum pnode_kind kind)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct pnode *n;

	if (b->ld->n_nodes >= MAX_NODES) {
		build_err(b, m, NULL, 0, "more than %u YAML nodes (expected "
		    "at most %u)", MAX_NODES, MAX_NODES);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		set_err(b->ld->err, "%s: out of memory", b->file);
		return NULL;
	}
	b->ld->n_nodes++;
	n->kind = kind;
	n->file = b->file;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	if (kind == PNODE_SCALAR) {
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		if ((n->text = malloc(n->len + 1)) == NULL) {
			free(n);
			set_err(b->ld->err, "%s: out of memory", b->file);
			return NULL;
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
	}
	return n;
}

/*
 * Anchors are refused where they are defined, so an alias bomb fails at
 * its first byte of cleverness instead of after expanding.  Tags would
 * let a file override our types; refuse them too.
 */
static int
build_refuse(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
    const yaml_char_t *tag)
{
	const char *key = NULL;
	size_t keylen = 0;
	const struct frame *f = b->depth ? &b->st[b->depth - 1] : NULL;
	char q[QBUF], tbuf[QUOTE_MAX + 4];
	const char *t;

	if (anchor == NULL && tag == NULL)
		return 0;
	/* A scalar about to become a key names itself in the path. */
	if (ev->type == YAML_SCALAR_EVENT && f != NULL &&
	    f->node->kind == PNODE_MAP && f->key == NULL) {
		key = (const char *)ev->data.scalar.value;
		keylen = ev->data.scalar.length;
	}
	if (anchor != NULL) {
		build_err(b, &ev->start_mark, key, keylen, "YAML anchors are "
		    "not allowed (expected the value written out)");
		return -1;
	}
	/* Show "!!str" as written, not as libyaml expands it. */
	t = (const char *)tag;
	if (strncmp(t, "tag:yaml.org,2002:", 18) == 0) {
		snprintf(tbuf, sizeof(tbuf), "!!%.*s", QUOTE_MAX, t + 18);
		t = tbuf;
	}
	build_err(b, &ev->start_mark, key, keylen, "explicit tag %s is not "
	    "allowed (expected an untagged value)",
	    quote(q, sizeof(q), t, strlen(t)));
	return -1;
}

static void
syntax_error(struct builder *b, const yaml_parser_t *ps,
    const unsigned char *buf, size_t len)
{
	unsigned line, col;
	char ctx[256] = "";

	if (ps->error == YAML_MEMORY_ERROR) {
		set_err(b->ld->err, "%s: out of memory", b->file);
		return;
	}
	if (ps->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		offset_position(buf, len, ps->problem_offset, &line, &col);
		if (ps->problem_value != -1)
			snprintf(ctx, sizeof(ctx), " (character 0x%02x)",
			    (unsigned)ps->problem_value);
	} else {
		line = (unsigned)ps->problem_mark.line + 1;
		col = (unsigned)ps->problem_mark.column + 1;
		if (ps->context != NULL)
			snprintf(ctx, sizeof(ctx), " (%s at line %u, column %u)",
			    ps->context, (unsigned)ps->context_mark.line + 1,
			    (unsigned)ps->context_mark.column + 1);
	}
	errat(b->ld->err, b->file, line, col, "syntax error", "%s%s",
	    ps->problem ? ps->problem : "invalid YAML", ctx);
}

static int
build_event(struct builder *b, const yaml_event_t *ev, int *docs)
{
	struct pnode *n;
	enum pnode_kind kind;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if ((*docs)++ > 0) {
			errat(b->ld->err, b->file,
			    (unsigned)ev->start_mark.line + 1,
			    (unsigned)ev->start_mark.column + 1, "document",
			    "a second YAML document is not allowed (expected "
			    "one document per file)");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		build_err(b, &ev->start_mark, NULL, 0, "YAML aliases are not "
		    "allowed (expected the value written out)");
		return -1;
	case YAML_SCALAR_EVENT:
		if (build_refuse(b, ev, ev->data.scalar.anchor,
		    ev->data.scalar.tag) == -1)
			return -1;
		if ((n = build_node(b, ev, PNODE_SCALAR)) == NULL)
			return -1;
		return build_attach(b, n, &ev->start_mark);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		kind = ev->type == YAML_MAPPING_START_EVENT ? PNODE_MAP :
		    PNODE_SEQ;
		if (build_refuse(b, ev, kind == PNODE_MAP ?
		    ev->data.mapping_start.anchor :
		    ev->data.sequence_start.anchor, kind == PNODE_MAP ?
		    ev->data.mapping_start.tag :
		    ev->data.sequence_start.tag) == -1)
			return -1;
		if (b->depth == POLICY_MAX_DEPTH) {
			build_err(b, &ev->start_mark, NULL, 0, "nesting deeper "
			    "than %d levels (expected at most %d)",
			    POLICY_MAX_DEPTH, POLICY_MAX_DEPTH);
			return -1;
		}
		if ((n = build_node(b, ev, kind)) == NULL ||
		    build_attach(b, n, &ev->start_mark) == -1)
			return -1;
		b->st[b->depth].node = n;
		b->st[b->depth].key = NULL;
		b->depth++;
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->depth == 0)
			return 0;	/* libyaml never does this */
		if (ev->type == YAML_MAPPING_END_EVENT &&
		    check_duplicates(b, b->st[b->depth - 1].node) == -1)
			return -1;
		b->depth--;
		if (b->depth > 0)
			b->st[b->depth - 1].key = NULL;
		return 0;
	default:
		return 0;
	}
}

/* Parse buf into a tree; NULL with ld->err set on any refusal. */
static struct pnode *
build_tree(struct load *ld, const char *file, const char *buf, size_t len)
{
	struct builder b;
	yaml_parser_t ps;
	yaml_event_t ev;
	int docs = 0, rc = -1;

	memset(&b, 0, sizeof(b));
	b.ld = ld;
	b.file = file;
	if (!yaml_parser_initialize(&ps)) {
		set_err(ld->err, "%s: out of memory", file);
		return NULL;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&ps, YAML_UTF8_ENCODING);
	for (;;) {
		memset(&ev, 0, sizeof(ev));
		if (!yaml_parser_parse(&ps, &ev)) {
			syntax_error(&b, &ps, (const unsigned char *)buf, len);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		if (build_event(&b, &ev, &docs) == -1) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	if (rc == -1) {
		node_free(b.root);
		return NULL;
	}
	if (b.root == NULL || (b.root->kind == PNODE_SCALAR && !b.root->quoted &&
	    b.root->len == 0)) {
		errat(ld->err, file, 1, 1, "document", "the file is empty "
		    "(expected a mapping of sections)");
		node_free(b.root);
		return NULL;
	}
	if (b.root->kind != PNODE_MAP) {
		errat(ld->err, file, b.root->line, b.root->col, "document",
		    "a %s (expected a mapping of sections)",
		    b.root->kind == PNODE_SEQ ? "sequence" : "scalar");
		node_free(b.root);
		return NULL;
	}
	return b.root;
}

/* ------------------------------------------------------------------ */
/* Stage 2: files and layering                                         */
/* ------------------------------------------------------------------ */

/*
 * Read a regular file of at most POLICY_MAX_FILE_SIZE bytes.  The size is
 * checked with fstat() first so a huge file is refused without reading
 * it, and again while reading in case the file grows.  ref, when set, is
 * the `base:` node naming the file: failures are reported there.
 */
static int
read_file(struct load *ld, const char *path, const struct pnode *ref,
    char **bufp, size_t *lenp, struct stat *st)
{
	char *buf = NULL, problem[128];
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, st) == -1) {
		snprintf(problem, sizeof(problem), "cannot open: %s",
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(problem, sizeof(problem), "not a regular file");
		goto fail;
	}
	if (st->st_size > (off_t)POLICY_MAX_FILE_SIZE) {
		snprintf(problem, sizeof(problem), "file is %jd bytes (expected "
		    "at most %u bytes)", (intmax_t)st->st_size,
		    POLICY_MAX_FILE_SIZE);
		goto fail;
	}
	if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
		snprintf(problem, sizeof(problem), "out of memory");
		goto fail;
	}
	/* One byte more than fstat() said, to notice a file still growing. */
	while (len <= (size_t)st->st_size) {
		r = read(fd, buf + len, (size_t)st->st_size + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(problem, sizeof(problem), "read: %s",
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > (size_t)st->st_size) {
		snprintf(problem, sizeof(problem), "file changed while being "
		    "read");
		goto fail;
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	if (ref != NULL)
		errat(ld->err, ref->file, ref->line, ref->col, "base", "%s: %s",
		    path, problem);
	else
		set_err(ld->err, "%s: %s", path, problem);
	free(buf);
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Merge src over dst (both mappings): a key in both with two mappings as
 * values merges recursively, any other value of src replaces dst's.
 * src's nodes move into dst; src is left empty.  Keys are unique within
 * each side, so new keys are compared with dst's original keys only.
 */
static int
tree_merge(struct pnode *dst, struct pnode *src)
{
	size_t orig = dst->n, i, j;

	for (i = 0; i + 1 < src->n; i += 2) {
		struct pnode *k = src->kids[i], *v = src->kids[i + 1];

		for (j = 0; j + 1 < orig; j += 2)
			if (dst->kids[j]->len == k->len &&
			    memcmp(dst->kids[j]->text, k->text, k->len) == 0)
				break;
		if (j + 1 < orig && dst->kids[j + 1]->kind == PNODE_MAP &&
		    v->kind == PNODE_MAP) {
			if (tree_merge(dst->kids[j + 1], v) == -1)
				return -1;
			continue;	/* src keeps the emptied k, v */
		}
		if (j + 1 < orig) {
			node_free(dst->kids[j]);
			node_free(dst->kids[j + 1]);
			dst->kids[j] = k;
			dst->kids[j + 1] = v;
		} else {
			if (node_add(dst, k) == -1)
				return -1;
			if (node_add(dst, v) == -1) {
				dst->n--;
				return -1;
			}
		}
		src->kids[i] = src->kids[i + 1] = NULL;
	}
	return 0;
}

/* dir/path, or path alone when absolute or dir is empty. */
static int
join_path(char *out, size_t size, const char *dir, const char *path)
{
	int n;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%s%s%s", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The directory part of path ("" for a bare name). */
static void
dir_of(char *out, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		out[0] = '\0';
		return;
	}
	n = (size_t)(slash - path) + 1;
	if (n >= size)
		n = size - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

static struct pnode *load_tree(struct load *, const char *, const char *,
    size_t, const char *, size_t);

/*
 * Load the base named by node bn (in a file at chain depth depth), whose
 * relative paths resolve against dir.
 */
static struct pnode *
load_base(struct load *ld, const struct pnode *bn, const char *dir,
    size_t depth)
{
	struct chain_link *link = &ld->chain[depth + 1];
	char path[PATH_MAX], cycle[768], basedir[PATH_MAX];
	const char *name, *text = NULL;
	struct pnode *tree;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, i, o;

	if (bn->kind != PNODE_SCALAR || bn->len == 0 ||
	    memchr(bn->text, '\0', bn->len) != NULL || (!bn->quoted &&
	    (scalar_is(bn, "~") || scalar_is(bn, "null")))) {
		errat(ld->err, bn->file, bn->line, bn->col, "base", "not a "
		    "profile name or file name (expected hardened, factory or "
		    "a path)");
		return NULL;
	}
	if (depth >= POLICY_MAX_BASE_DEPTH) {
		errat(ld->err, bn->file, bn->line, bn->col, "base", "more than "
		    "%d levels of base files (expected at most %d)",
		    POLICY_MAX_BASE_DEPTH, POLICY_MAX_BASE_DEPTH);
		return NULL;
	}
	memset(link, 0, sizeof(*link));
	if (scalar_is(bn, "hardened") || scalar_is(bn, "factory")) {
		link->embedded = scalar_is(bn, "hardened") ? 1 : 2;
		name = link->embedded == 1 ? "<hardened>" : "<factory>";
		text = link->embedded == 1 ? policy_profile_hardened_yaml :
		    policy_profile_factory_yaml;
		basedir[0] = '\0';
	} else {
		if (join_path(path, sizeof(path), dir, bn->text) == -1) {
			errat(ld->err, bn->file, bn->line, bn->col, "base",
			    "path too long (expected at most %d bytes)",
			    PATH_MAX - 1);
			return NULL;
		}
		if (read_file(ld, path, bn, &buf, &len, &st) == -1)
			return NULL;
		link->dev = st.st_dev;
		link->ino = st.st_ino;
		name = path;
		dir_of(basedir, sizeof(basedir), path);
	}
	for (i = 0; i <= depth; i++) {
		const struct chain_link *c = &ld->chain[i];

		if (c->name == NULL || c->embedded != link->embedded ||
		    (!c->embedded && (c->dev != link->dev ||
		    c->ino != link->ino)))
			continue;
		for (o = 0, cycle[0] = '\0'; i <= depth; i++)
			bprintf(cycle, sizeof(cycle), &o, "%s -> ",
			    ld->chain[i].name);
		errat(ld->err, bn->file, bn->line, bn->col, "base", "%s leads "
		    "back to a file already loading: %s%s (expected a chain "
		    "of bases without a cycle)", name, cycle, name);
		free(buf);
		return NULL;
	}
	if ((link->name = load_keep_name(ld, name)) == NULL) {
		set_err(ld->err, "%s: out of memory", name);
		free(buf);
		return NULL;
	}
	if (text != NULL)
		tree = load_tree(ld, link->name, text, strlen(text), NULL,
		    depth + 1);
	else
		tree = load_tree(ld, link->name, buf, len, basedir, depth + 1);
	free(buf);
	return tree;
}

/*
 * Check, parse and layer one file (depth: its place in the base chain;
 * ld->chain[depth] is already its link).  Returns the merged tree.
 */
static struct pnode *
load_tree(struct load *ld, const char *name, const char *buf, size_t len,
    const char *dir, size_t depth)
{
	struct pnode *root, *bn, *base;
	size_t i;

	if (len > POLICY_MAX_FILE_SIZE) {
		set_err(ld->err, "%s: file is %zu bytes (expected at most %u "
		    "bytes)", name, len, POLICY_MAX_FILE_SIZE);
		return NULL;
	}
	if (len == 0) {
		errat(ld->err, name, 1, 1, "document", "the file is empty "
		    "(expected a mapping of sections)");
		return NULL;
	}
	if (check_utf8(name, (const unsigned char *)buf, len, ld->err) == -1)
		return NULL;
	if ((root = build_tree(ld, name, buf, len)) == NULL)
		return NULL;
	if ((bn = map_get(root, "base", &i)) == NULL)
		return root;
	if ((base = load_base(ld, bn, dir, depth)) == NULL) {
		node_free(root);
		return NULL;
	}
	/* Drop `base:` itself, then lay this file over its base. */
	node_free(root->kids[i]);
	node_free(root->kids[i + 1]);
	memmove(&root->kids[i], &root->kids[i + 2],
	    (root->n - i - 2) * sizeof(*root->kids));
	root->n -= 2;
	if (tree_merge(base, root) == -1) {
		set_err(ld->err, "%s: out of memory", name);
		node_free(base);
		node_free(root);
		return NULL;
	}
	node_free(root);
	return base;
}

/* ------------------------------------------------------------------ */
/* Stage 3: the schema                                                 */
/* ------------------------------------------------------------------ */

enum ftype {
	FT_MAP,		/* kids */
	FT_BOOL,
	FT_UINT,	/* min..max */
	FT_NAME,	/* [A-Za-z0-9._-], 1..size-1 bytes */
	FT_TEXT,	/* printable, at most size-1 bytes */
	FT_HOST,	/* "" or a host name or address */
	FT_MESSAGE,	/* char *, printable and newlines, at most max chars */
	FT_ENUM,	/* names; stored as the index, or vals[index] if vals */
	FT_FACILITY,	/* 0..23 or a name */
	FT_SERVICES,
	FT_ENTRIES,
	FT_EVENTS,
	FT_MANAGEMENT,
	FT_ID,		/* [a-z0-9_-], 1..size-1 bytes */
	FT_PATH,	/* an absolute path, at most size-1 bytes */
	FT_CHOICE,	/* one of vals (0-terminated) */
	FT_INT,		/* int32_t, imin..imax */
	FT_LPORT,	/* uint16_t: "any" (0) or 1..65535 */
	FT_UNITS,	/* a 256-bit set of Modbus unit ids */
	FT_UNITMAP,	/* {incoming: outgoing} unit remap */
	FT_FUNCS,	/* all, read-only, read-write or a list of function codes */
	FT_NETS,	/* any, or networks: a rule's n_from and from[] */
	FT_RANGES,	/* any, or address ranges: struct policy_mbfw_ranges */
	FT_LIST,	/* sequence of kids-mappings: off/size/max/noff */
	FT_OPTID,	/* "" or an FT_ID: a reference that may be absent */
	FT_REAL,	/* double: a finite decimal number; min: REAL_* flags */
	FT_NAMED,	/* a name tags.h translates: name_of/from_name */
	FT_STATUS,	/* modbus.agent.status: none or {table, address} */
	FT_CERT_NAMES,	/* certificates.names: DNS names and addresses */
};

/* FT_REAL's constraints, in .min. */
#define REAL_NONNEG	0x1u	/* >= 0 */
#define REAL_NONZERO	0x2u	/* != 0 */

struct field {
	const char *key;
	enum ftype type;
	size_t off;			/* offsetof(struct policy, ...) */
	size_t size;			/* sizeof the member */
	uint32_t min, max;
	uint32_t def;			/* hardened default: bool, uint, enum */
	const char *sdef;		/* hardened default: strings */
	const struct field *kids;	/* FT_MAP */
	const char *const *names;	/* FT_ENUM */
	const uint32_t *vals;		/* FT_CHOICE; FT_ENUM: one per name */
	int32_t imin, imax;		/* FT_INT */
	size_t noff;			/* FT_LIST: offsetof the count */
	int list;			/* FT_LIST: enum mb_list */
	double ddef;			/* FT_REAL: default */
	/* FT_NAMED: value -> name ("?" past the last), name -> value. */
	const char *(*name_of)(unsigned);
	int (*from_name)(const char *, unsigned *);
};

/*
 * Offsets are relative to struct policy, or for the fields of a list
 * item (the FS_ forms) to the item's struct T.
 */
#define TSIZE(T, m)	sizeof(((T *)0)->m)
#define F_MAP(k, v)	{ .key = (k), .type = FT_MAP, .kids = (v) }
#define FS_BOOL(T, k, m, d) { .key = (k), .type = FT_BOOL, \
	.off = offsetof(T, m), .size = TSIZE(T, m), .def = (d) }
#define FS_UINT(T, k, m, lo, hi, d) { .key = (k), .type = FT_UINT, \
	.off = offsetof(T, m), .size = TSIZE(T, m), .min = (lo), \
	.max = (hi), .def = (d) }
#define FS_STR(T, k, t, m, d) { .key = (k), .type = (t), \
	.off = offsetof(T, m), .size = TSIZE(T, m), .sdef = (d) }
#define FS_ENUM(T, k, m, v, d) { .key = (k), .type = FT_ENUM, \
	.off = offsetof(T, m), .size = TSIZE(T, m), .names = (v), \
	.def = (d) }
#define FS_TYPE(T, k, t, m) { .key = (k), .type = (t), \
	.off = offsetof(T, m), .size = TSIZE(T, m) }
#define FS_REAL(T, k, m, fl, d) { .key = (k), .type = FT_REAL, \
	.off = offsetof(T, m), .size = TSIZE(T, m), .min = (fl), .ddef = (d) }
#define FS_NAMED(T, k, m, nf, ff, d) { .key = (k), .type = FT_NAMED, \
	.off = offsetof(T, m), .size = TSIZE(T, m), .name_of = (nf), \
	.from_name = (ff), .def = (d) }
#define F_BOOL(k, m, d)		FS_BOOL(struct policy, k, m, d)
#define F_UINT(k, m, lo, hi, d)	FS_UINT(struct policy, k, m, lo, hi, d)
#define F_STR(k, t, m, d)	FS_STR(struct policy, k, t, m, d)
#define F_ENUM(k, m, v, d)	FS_ENUM(struct policy, k, m, v, d)
#define F_LIST(k, m, nm, v, cap, id) { .key = (k), .type = FT_LIST, \
	.off = offsetof(struct policy, m), .size = sizeof(((struct policy *)0)->m[0]), \
	.noff = offsetof(struct policy, nm), .max = (cap), .kids = (v), \
	.list = (id) }
#define MSIZE(m)	TSIZE(struct policy, m)
#define F_SPECIAL(k, t)	{ .key = (k), .type = (t) }
#define F_END		{ .key = NULL }

/* The MGate's limit on its login message, in characters. */
#define MESSAGE_CHARS	500

static const char *const transport_names[] = { "udp", "tcp", NULL };
static const char *const format_names[] = { "rfc5424", "rfc3164", NULL };
static const char *const sink_names[] = { "local", "syslog" };

/* RFC 5424 section 6.2.1; 12..15 have no portable names. */
static const char *const facility_names[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", NULL, NULL, NULL, NULL,
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};

/* Sections a later version will define (DESIGN.md's subsystems). */
static const char *const reserved_sections[] = {
	"accounts",
	"snmp", "mail", "dnp3", "iec104", "ethernet_ip", "bacnet",
	"update", NULL,
};

static const struct field device_fields[] = {
	F_STR("name", FT_NAME, device.name, "sluice"),
	F_STR("location", FT_TEXT, device.location, ""),
	F_STR("description", FT_TEXT, device.description, ""),
	F_STR("contact", FT_TEXT, device.contact, ""),
	F_END
};

static const struct field acl_fields[] = {
	F_BOOL("activate", accessible_ip.activate, false),
	F_BOOL("apply_additional_restrictions",
	    accessible_ip.apply_additional_restrictions, false),
	F_SPECIAL("entries", FT_ENTRIES),
	F_END
};

#define RATE_FIELDS(var, m, r, b)					\
static const struct field var[] = {					\
	F_BOOL("enabled", m.enabled, true),				\
	F_UINT("rate", m.rate, 1, 1000000, r),				\
	F_UINT("burst", m.burst, 1, 1000000, b),			\
	F_END								\
}
RATE_FIELDS(syn_flood_fields, dos_defense.syn_flood, 200, 400);
RATE_FIELDS(icmp_limit_fields, dos_defense.icmp_limit, 10, 20);

static const struct field dos_fields[] = {
	F_BOOL("null_scan", dos_defense.null_scan, true),
	F_BOOL("xmas_scan", dos_defense.xmas_scan, true),
	F_BOOL("nmap_xmas_scan", dos_defense.nmap_xmas_scan, true),
	F_BOOL("syn_fin_scan", dos_defense.syn_fin_scan, true),
	F_BOOL("fin_scan", dos_defense.fin_scan, true),
	F_BOOL("nmap_id_scan", dos_defense.nmap_id_scan, true),
	F_BOOL("syn_rst_scan", dos_defense.syn_rst_scan, true),
	F_BOOL("new_without_syn", dos_defense.new_without_syn, true),
	F_BOOL("invalid_state", dos_defense.invalid_state, true),
	F_MAP("syn_flood", syn_flood_fields),
	F_MAP("icmp_limit", icmp_limit_fields),
	F_END
};

static const char *const fw_input_names[] = { "accept", "drop", NULL };
static const char *const fw_closed_names[] = { "drop", "reject", NULL };

static const struct field per_source_fields[] = {
	F_UINT("new_per_second", firewall.per_source.new_per_second, 0, 100000,
	    50),
	F_UINT("burst", firewall.per_source.burst, 1, 100000, 100),
	F_UINT("max_connections", firewall.per_source.max_connections, 0,
	    65535, 64),
	F_END
};

static const struct field firewall_fields[] = {
	F_ENUM("default_input", firewall.default_input, fw_input_names,
	    POLICY_FW_INPUT_ACCEPT),
	F_ENUM("closed_ports", firewall.closed_ports, fw_closed_names,
	    POLICY_FW_CLOSED_DROP),
	F_SPECIAL("management", FT_MANAGEMENT),
	F_UINT("ban_seconds", firewall.ban_seconds, 1, 604800, 600),
	F_MAP("per_source", per_source_fields),
	F_END
};

static const struct field lockout_fields[] = {
	F_BOOL("enabled", password_policy.lockout.enabled, true),
	/* The MGate's own ranges: 1-10 failures, locked 1-60 minutes. */
	F_UINT("attempts", password_policy.lockout.attempts, 1, 10, 5),
	F_UINT("window_s", password_policy.lockout.window_s, 1, 86400, 300),
	F_UINT("duration_s", password_policy.lockout.duration_s, 60, 3600, 600),
	F_END
};

/* Argon2id cost of new hashes.  The floors are OWASP's least setting
 * (19 MiB, 2 passes); the ceilings keep one hash in the monitor, whose
 * other work queues behind it, near a second (8 passes over 256 MiB:
 * 1.4 s on one core here). */
static const struct field hash_fields[] = {
	F_UINT("time_cost", password_policy.hash.time_cost, 2, 8, 2),
	F_UINT("memory_mib", password_policy.hash.memory_mib, 19, 256, 64),
	F_END
};

static const struct field password_fields[] = {
	F_UINT("min_length", password_policy.min_length, 8, 128, 16),
	F_BOOL("require_digit", password_policy.require_digit, true),
	F_BOOL("require_upper", password_policy.require_upper, true),
	F_BOOL("require_lower", password_policy.require_lower, true),
	F_BOOL("require_special", password_policy.require_special, true),
	F_UINT("lifetime_days", password_policy.lifetime_days, 0, 3650, 90),
	F_UINT("history", password_policy.history, 0, 24, 5),
	F_BOOL("reject_common", password_policy.reject_common, true),
	F_MAP("hash", hash_fields),
	F_MAP("lockout", lockout_fields),
	F_END
};

/*
 * The HTTPS console (guide 3.2, 3.3).  Every limit is per daemon; the
 * per-source one keeps one host from taking all the sessions and
 * connections, request_timeout ends a request that trickles in.
 */
#define MSG_FIELD(k, m) { .key = (k), .type = FT_MESSAGE, \
	.off = offsetof(struct policy, m), .max = MESSAGE_CHARS, .sdef = "" }
static const struct field console_fields[] = {
	F_UINT("session_idle_timeout", console.session_idle_s, 60, 86400, 600),
	F_UINT("session_lifetime", console.session_lifetime_s, 300, 604800,
	    14400),
	F_UINT("max_sessions", console.max_sessions, 1, 1024, 64),
	/* Guide 3.3: "a maximum of 16 accounts". */
	F_UINT("max_accounts", console.max_accounts, 1, 64, 16),
	F_UINT("max_connections_per_source", console.max_conns_per_source, 1,
	    1024, 8),
	F_UINT("request_timeout", console.request_timeout_s, 5, 300, 15),
	F_UINT("max_body_bytes", console.max_body_bytes, 4096, 16777216,
	    1048576),
	F_BOOL("serve_over_http", console.serve_over_http, false),
	MSG_FIELD("login_failure_message", console.login_failure_message),
	F_END
};

/*
 * Guide 3.2: "TLS v1.1 or lower has severe vulnerabilities"; the value
 * is the protocol version on the wire (RFC 8446 section 4.2.1).  The
 * names look like numbers, so 1.2 and "1.2" both match.
 */
static const char *const tls_version_names[] = { "1.2", "1.3", NULL };
static const uint32_t tls_version_vals[] = { 0x0303, 0x0304 };

static const struct field tls_fields[] = {
	{ .key = "min_version", .type = FT_ENUM,
	  .off = offsetof(struct policy, tls.min_version),
	  .size = MSIZE(tls.min_version), .names = tls_version_names,
	  .vals = tls_version_vals, .def = 0x0303 },
	F_UINT("max_handshakes", tls.max_handshakes, 1, 4096, 64),
	F_UINT("handshakes_per_second", tls.handshakes_per_s, 1, 100000, 200),
	F_END
};

static const char *const cert_key_names[] = { "ec-p256", "rsa-2048",
	"rsa-3072", "rsa-4096", NULL };
static const uint32_t cert_rsa_bits[] = { 2048, 3072, 4096, 0 };

static const struct field certificates_fields[] = {
	F_ENUM("key", certificates.key, cert_key_names, POLICY_CERT_EC_P256),
	/* Guide 3.2.1 ships 1024-bit keys; 3072 matches P-256's strength
	 * (NIST SP 800-57 part 1, table 2). */
	{ .key = "min_rsa_bits", .type = FT_CHOICE,
	  .off = offsetof(struct policy, certificates.min_rsa_bits),
	  .size = MSIZE(certificates.min_rsa_bits), .vals = cert_rsa_bits,
	  .def = 3072 },
	F_SPECIAL("names", FT_CERT_NAMES),
	F_UINT("renew_days", certificates.renew_days, 1, 365, 30),
	F_END
};

static const struct field local_fields[] = {
	F_UINT("max_bytes", logging.local.max_bytes, 65536, 67108864, 1048576),
	F_UINT("files", logging.local.files, 1, 32, 5),
	F_END
};

static const struct field syslog_fields[] = {
	F_STR("server", FT_HOST, logging.syslog.server, ""),
	F_UINT("port", logging.syslog.port, 1, 65535, 514),
	F_ENUM("transport", logging.syslog.transport, transport_names,
	    POLICY_SYSLOG_UDP),
	F_ENUM("format", logging.syslog.format, format_names,
	    POLICY_SYSLOG_RFC5424),
	{ .key = "facility", .type = FT_FACILITY,
	  .off = offsetof(struct policy, logging.syslog.facility),
	  .size = MSIZE(logging.syslog.facility), .max = 23, .def = 16 },
	F_END
};

static const struct field logging_fields[] = {
	F_MAP("local", local_fields),
	F_MAP("syslog", syslog_fields),
	F_SPECIAL("events", FT_EVENTS),
	F_END
};

/* modbus: the gateway.  Defaults forward nothing: no channel, no route. */
enum mb_list {
	MB_SERIAL, MB_TCP, MB_ROUTES, MB_RULES,
	MB_TAGS, MB_COMMANDS, MB_MAP,		/* tags, agent mode */
	MB_NLISTS
};

static const char *const mb_mode_names[] = { "transparent", "agent", NULL };
static const char *const mb_exc_names[] = { "respond", "silent", NULL };
static const char *const mb_malformed_names[] = { "exception", "drop", NULL };
static const char *const mb_role_names[] = { "master", "slave", NULL };
static const char *const mb_framing_names[] = { "rtu", "ascii", NULL };
static const char *const mb_parity_names[] = { "none", "even", "odd", NULL };
static const char *const mb_rs485_names[] = { "auto", "kernel", "rts", "off",
	NULL };
static const uint32_t mb_bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400,
	57600, 115200, 230400, 460800, 921600, 0 };

static const struct field mb_listener_fields[] = {
	F_UINT("max_connections", modbus.listeners.max_connections, 1, 4096,
	    256),
	F_UINT("idle_timeout_s", modbus.listeners.idle_timeout_s, 0, 86400,
	    300),
	F_ENUM("exceptions", modbus.listeners.exceptions, mb_exc_names,
	    POLICY_MODBUS_EXC_RESPOND),
	F_ENUM("malformed", modbus.listeners.malformed, mb_malformed_names,
	    POLICY_MODBUS_MALFORMED_EXCEPTION),
	F_END
};

#define S_T	struct policy_modbus_serial
static const struct field mb_serial_fields[] = {
	FS_STR(S_T, "name", FT_ID, name, ""),
	FS_STR(S_T, "device", FT_PATH, device, ""),
	FS_ENUM(S_T, "role", role, mb_role_names, POLICY_MODBUS_ROLE_MASTER),
	FS_ENUM(S_T, "framing", framing, mb_framing_names, POLICY_MODBUS_RTU),
	{ .key = "baud", .type = FT_CHOICE, .off = offsetof(S_T, baud),
	  .size = TSIZE(S_T, baud), .vals = mb_bauds, .def = 9600 },
	FS_UINT(S_T, "data_bits", data_bits, 7, 8, 8),
	/* Serial line spec 2.5.1: even parity is the required default. */
	FS_ENUM(S_T, "parity", parity, mb_parity_names,
	    POLICY_MODBUS_PARITY_EVEN),
	FS_UINT(S_T, "stop_bits", stop_bits, 1, 2, 1),
	FS_ENUM(S_T, "rs485", rs485, mb_rs485_names, POLICY_MODBUS_RS485_AUTO),
	FS_UINT(S_T, "rs485_delay_before_us", rs485_delay_before_us, 0, 100000,
	    0),
	FS_UINT(S_T, "rs485_delay_after_us", rs485_delay_after_us, 0, 100000,
	    0),
	FS_UINT(S_T, "response_timeout_ms", response_timeout_ms, 10, 120000,
	    1000),
	FS_UINT(S_T, "inter_frame_delay_ms", inter_frame_delay_ms, 0, 10000, 0),
	FS_UINT(S_T, "initial_delay_ms", initial_delay_ms, 0, 60000, 0),
	FS_UINT(S_T, "silence_ms", silence_ms, 0, 1000, 0),
	FS_UINT(S_T, "read_retries", read_retries, 0, 10, 3),
	FS_UINT(S_T, "write_retries", write_retries, 0, 10, 0),
	F_END
};
#undef S_T

#define T_T	struct policy_modbus_tcp
static const struct field mb_tcp_fields[] = {
	FS_STR(T_T, "name", FT_ID, name, ""),
	FS_STR(T_T, "host", FT_HOST, host, ""),
	FS_UINT(T_T, "port", port, 1, 65535, 502),
	FS_UINT(T_T, "connect_timeout_ms", connect_timeout_ms, 100, 60000,
	    3000),
	FS_UINT(T_T, "response_timeout_ms", response_timeout_ms, 10, 120000,
	    1000),
	FS_UINT(T_T, "read_retries", read_retries, 0, 10, 1),
	FS_UINT(T_T, "write_retries", write_retries, 0, 10, 0),
	F_END
};
#undef T_T

#define R_T	struct policy_modbus_route
static const struct field mb_route_fields[] = {
	FS_TYPE(R_T, "units", FT_UNITS, units),
	FS_STR(R_T, "channel", FT_ID, channel, ""),
	FS_TYPE(R_T, "listen_port", FT_LPORT, listen_port),
	{ .key = "offset", .type = FT_INT, .off = offsetof(R_T, offset),
	  .size = TSIZE(R_T, offset), .imin = -255, .imax = 255 },
	FS_TYPE(R_T, "map", FT_UNITMAP, map),
	FS_BOOL(R_T, "broadcast", broadcast, false),
	FS_TYPE(R_T, "functions", FT_FUNCS, functions),
	F_END
};
#undef R_T

static const char *const mbfw_action_names[] = { "allow", "deny", NULL };
static const char *const mbfw_exc_names[] = { "illegal-function",
	"illegal-address", NULL };

#define FR_T	struct policy_modbus_rule
#define FR_RANGES(k, a) FS_TYPE(FR_T, k, FT_RANGES, ranges[a])
static const struct field mb_rule_fields[] = {
	FS_STR(FR_T, "name", FT_ID, name, ""),
	FS_ENUM(FR_T, "action", action, mbfw_action_names, POLICY_MBFW_DENY),
	/* n_from and from[] together: one key. */
	{ .key = "from", .type = FT_NETS, .off = offsetof(FR_T, n_from),
	  .size = offsetof(FR_T, from) + TSIZE(FR_T, from) -
	  offsetof(FR_T, n_from) },
	FS_TYPE(FR_T, "listen_port", FT_LPORT, listen_port),
	FS_TYPE(FR_T, "units", FT_UNITS, units),
	FS_TYPE(FR_T, "functions", FT_FUNCS, functions),
	FR_RANGES("coils_read", POLICY_MBFW_COILS_READ),
	FR_RANGES("coils_write", POLICY_MBFW_COILS_WRITE),
	FR_RANGES("discrete_inputs_read", POLICY_MBFW_DISCRETE_INPUTS_READ),
	FR_RANGES("input_registers_read", POLICY_MBFW_INPUT_REGISTERS_READ),
	FR_RANGES("holding_registers_read", POLICY_MBFW_HOLDING_REGISTERS_READ),
	FR_RANGES("holding_registers_write",
	    POLICY_MBFW_HOLDING_REGISTERS_WRITE),
	FS_UINT(FR_T, "value_min", value_min, 0, 65535, 0),
	FS_UINT(FR_T, "value_max", value_max, 0, 65535, 65535),
	F_END
};
#undef FR_RANGES
#undef FR_T

static const struct field mb_firewall_fields[] = {
	F_ENUM("default", modbus.firewall.default_action, mbfw_action_names,
	    POLICY_MBFW_ALLOW),
	F_ENUM("deny_exception", modbus.firewall.deny_exception, mbfw_exc_names,
	    POLICY_MBFW_EXC_ILLEGAL_FUNCTION),
	F_LIST("rules", modbus.firewall.rules, modbus.firewall.n_rules,
	    mb_rule_fields, POLICY_MODBUS_MAX_RULES, MB_RULES),
	F_END
};

/*
 * Agent mode (MGate *Agent mode*): commands poll devices into tags, and
 * the agent's own Modbus server answers from them through its map.
 * The names of types and swaps are tags.h's, so the two cannot drift.
 */
static const char *
tag_type_name_of(unsigned v)
{
	return tag_type_name((enum tag_type)v);
}

static int
tag_type_of_name(const char *name, unsigned *v)
{
	enum tag_type t;

	if (tag_type_from_name(name, &t) == -1)
		return -1;
	*v = (unsigned)t;
	return 0;
}

static const char *
tag_swap_name_of(unsigned v)
{
	return tag_swap_name((enum tag_swap)v);
}

static int
tag_swap_of_name(const char *name, unsigned *v)
{
	enum tag_swap w;

	if (tag_swap_from_name(name, &w) == -1)
		return -1;
	*v = (unsigned)w;
	return 0;
}

#define TG_T	struct policy_tag
static const struct field tag_fields[] = {
	FS_STR(TG_T, "name", FT_NAME, name, ""),
	FS_NAMED(TG_T, "type", type, tag_type_name_of, tag_type_of_name,
	    TAG_UINT16),
	FS_UINT(TG_T, "length", length, 0, TAG_STRING_MAX, 0),
	FS_REAL(TG_T, "scale", scale, REAL_NONZERO, 1),
	FS_REAL(TG_T, "offset", offset, 0, 0),
	FS_REAL(TG_T, "deadband", deadband, REAL_NONNEG, 0),
	FS_STR(TG_T, "unit", FT_TEXT, unit, ""),
	FS_UINT(TG_T, "stale_after", stale_after, 0, 1000, 3),
	FS_STR(TG_T, "command", FT_OPTID, command, ""),
	FS_UINT(TG_T, "at", at, 0, 65535, 0),
	FS_STR(TG_T, "write_command", FT_OPTID, write_command, ""),
	FS_UINT(TG_T, "write_at", write_at, 0, 65535, 0),
	F_END
};
#undef TG_T

/* Application protocol 6.1-6.6, 6.11, 6.12, 6.17. */
static const uint32_t mb_command_functions[] = { 1, 2, 3, 4, 5, 6, 15, 16,
	23, 0 };
static const char *const mb_trigger_names[] = { "cyclic", "on-change",
	"disabled", NULL };

#define C_T	struct policy_modbus_command
static const struct field mb_command_fields[] = {
	FS_STR(C_T, "name", FT_ID, name, ""),
	FS_STR(C_T, "channel", FT_ID, channel, ""),
	FS_UINT(C_T, "unit", unit, 1, 255, 1),
	{ .key = "function", .type = FT_CHOICE, .off = offsetof(C_T, function),
	  .size = TSIZE(C_T, function), .vals = mb_command_functions,
	  .def = 3 },
	FS_UINT(C_T, "address", address, 0, 65535, 0),
	FS_UINT(C_T, "quantity", quantity, 1, 2000, 1),
	FS_UINT(C_T, "write_address", write_address, 0, 65535, 0),
	FS_UINT(C_T, "write_quantity", write_quantity, 1, 121, 1),
	/* Writes default to on-change (mb_command_post). */
	FS_ENUM(C_T, "trigger", trigger, mb_trigger_names,
	    POLICY_MB_TRIGGER_CYCLIC),
	FS_UINT(C_T, "interval_ms", interval_ms, 10, 1200000, 1000),
	FS_UINT(C_T, "initial_delay_ms", initial_delay_ms, 0, 60000, 0),
	FS_UINT(C_T, "retries", retries, 0, 10, 1),
	FS_NAMED(C_T, "swap", swap, tag_swap_name_of, tag_swap_of_name,
	    TAG_SWAP_NONE),
	F_END
};
#undef C_T

static const char *const mb_table_names[] = { "coils", "discrete_inputs",
	"input_registers", "holding_registers", NULL };
static const char *const mb_bad_quality_names[] = { "exception",
	"last-value", NULL };

#define M_T	struct policy_modbus_map_entry
static const struct field mb_map_fields[] = {
	FS_ENUM(M_T, "table", table, mb_table_names, POLICY_MB_COILS),
	FS_UINT(M_T, "address", address, 0, 65535, 0),
	FS_STR(M_T, "tag", FT_NAME, tag, ""),
	F_END
};
#undef M_T

static const struct field mb_agent_fields[] = {
	F_ENUM("bad_quality", modbus.agent.bad_quality, mb_bad_quality_names,
	    POLICY_MB_BAD_EXCEPTION),
	F_UINT("write_timeout_ms", modbus.agent.write_timeout_ms, 100, 120000,
	    5000),
	{ .key = "status", .type = FT_STATUS,
	  .off = offsetof(struct policy, modbus.agent.status),
	  .size = MSIZE(modbus.agent.status) },
	F_LIST("map", modbus.agent.map, modbus.agent.n_map, mb_map_fields,
	    POLICY_MODBUS_MAX_MAP, MB_MAP),
	F_END
};

static const struct field modbus_fields[] = {
	F_ENUM("mode", modbus.mode, mb_mode_names, POLICY_MODBUS_TRANSPARENT),
	F_MAP("listeners", mb_listener_fields),
	F_LIST("serial_channels", modbus.serial, modbus.n_serial,
	    mb_serial_fields, POLICY_MODBUS_MAX_SERIAL, MB_SERIAL),
	F_LIST("tcp_channels", modbus.tcp, modbus.n_tcp, mb_tcp_fields,
	    POLICY_MODBUS_MAX_TCP, MB_TCP),
	F_LIST("routes", modbus.routes, modbus.n_routes, mb_route_fields,
	    POLICY_MODBUS_MAX_ROUTES, MB_ROUTES),
	F_LIST("commands", modbus.commands, modbus.n_commands,
	    mb_command_fields, POLICY_MODBUS_MAX_COMMANDS, MB_COMMANDS),
	F_MAP("agent", mb_agent_fields),
	F_MAP("firewall", mb_firewall_fields),
	F_END
};

static const struct field top_fields[] = {
	F_MAP("device", device_fields),
	F_SPECIAL("services", FT_SERVICES),
	F_MAP("accessible_ip", acl_fields),
	F_MAP("dos_defense", dos_fields),
	F_MAP("firewall", firewall_fields),
	F_MAP("password_policy", password_fields),
	MSG_FIELD("login_message", login_message),
	F_MAP("console", console_fields),
	F_MAP("tls", tls_fields),
	F_MAP("certificates", certificates_fields),
	F_MAP("logging", logging_fields),
	F_LIST("tags", tags, n_tags, tag_fields, POLICY_MAX_TAGS, MB_TAGS),
	F_MAP("modbus", modbus_fields),
	F_END
};

static void
store_uint(void *dst, size_t size, uint32_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;

	if (size == 1)
		memcpy(dst, &v8, 1);
	else if (size == 2)
		memcpy(dst, &v16, 2);
	else
		memcpy(dst, &v, sizeof(v));
}

static uint32_t
load_uint(const void *src, size_t size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v;

	if (size == 1) {
		memcpy(&v8, src, 1);
		return v8;
	}
	if (size == 2) {
		memcpy(&v16, src, 2);
		return v16;
	}
	memcpy(&v, src, sizeof(v));
	return v;
}

static void
store_bool(void *dst, bool v)
{
	memcpy(dst, &v, sizeof(v));
}

static bool
load_bool(const void *src)
{
	bool v;

	memcpy(&v, src, sizeof(v));
	return v;
}

/*
 * Function codes a read-only route passes: the reads of the application
 * protocol (sections 6.1-6.4, 6.7, 6.9-6.10, 6.13, 6.14, 6.18) and MEI
 * (6.19-6.21; the glue admits only Read Device Identification).
 */
static const uint8_t mb_read_codes[] = { 1, 2, 3, 4, 7, 11, 12, 17, 20, 24,
	43 };
/* read-write adds the writes to the four tables and to files (6.5, 6.6,
 * 6.11, 6.12, 6.15-6.17). */
static const uint8_t mb_write_codes[] = { 5, 6, 15, 16, 21, 22, 23 };

/* Fill a route's functions: mode, and the codes it allows (list: list). */
static void
funcs_set(void *at, enum policy_modbus_functions_mode mode,
    const uint8_t *list)
{
	struct policy_modbus_route r;
	size_t i;

	memset(&r.functions, 0, sizeof(r.functions));
	r.functions.mode = mode;
	if (mode == POLICY_MODBUS_FUNC_ALL)
		for (i = 1; i < 128; i++)
			r.functions.codes[i / 8] |= (uint8_t)(1u << (i % 8));
	else if (mode == POLICY_MODBUS_FUNC_READ_ONLY ||
	    mode == POLICY_MODBUS_FUNC_READ_WRITE) {
		for (i = 0; i < sizeof(mb_read_codes); i++)
			r.functions.codes[mb_read_codes[i] / 8] |=
			    (uint8_t)(1u << (mb_read_codes[i] % 8));
		for (i = 0; mode == POLICY_MODBUS_FUNC_READ_WRITE &&
		    i < sizeof(mb_write_codes); i++)
			r.functions.codes[mb_write_codes[i] / 8] |=
			    (uint8_t)(1u << (mb_write_codes[i] % 8));
	} else
		memcpy(r.functions.codes, list, sizeof(r.functions.codes));
	memcpy(at, &r.functions, sizeof(r.functions));
}

/* Everything at its hardened value: omitting a key never weakens. */
static int
set_defaults(struct policy *p, char *base, const struct field *fields)
{
	const struct field *f;
	unsigned i, e;

	for (f = fields; f->key != NULL; f++) {
		char *at = base + f->off;

		switch (f->type) {
		case FT_MAP:
			if (set_defaults(p, base, f->kids) == -1)
				return -1;
			break;
		case FT_BOOL:
			store_bool(at, f->def != 0);
			break;
		case FT_UINT:
		case FT_ENUM:
		case FT_FACILITY:
		case FT_CHOICE:
		case FT_NAMED:
			store_uint(at, f->size, f->def);
			break;
		case FT_NAME:
		case FT_TEXT:
		case FT_HOST:
		case FT_ID:
		case FT_PATH:
		case FT_OPTID:
			snprintf(at, f->size, "%s", f->sdef);
			break;
		case FT_REAL:
			memcpy(at, &f->ddef, sizeof(f->ddef));
			break;
		case FT_STATUS:
			memset(at, 0, f->size);		/* none */
			break;
		case FT_INT:
		case FT_LPORT:
		case FT_UNITS:
		case FT_UNITMAP:
		case FT_NETS:
		case FT_RANGES:
			memset(at, 0, f->size);   /* NETS, RANGES: any */
			break;
		case FT_FUNCS:
			funcs_set(at, POLICY_MODBUS_FUNC_ALL, NULL);
			break;
		case FT_LIST:
			/*
			 * Only the count: the arrays come zeroed from
			 * policy_new()'s calloc, items are cleared as they
			 * are filled, and nothing reads past the count
			 * (tags and the map are megabytes: touching them
			 * for nothing would cost every load).
			 */
			memset(base + f->noff, 0, sizeof(size_t));
			break;
		case FT_MESSAGE: {
			char *m = strdup(f->sdef);

			if (m == NULL)
				return -1;
			memcpy(at, &m, sizeof(m));
			break;
		}
		case FT_CERT_NAMES:
			p->certificates.n_names = 0;
			break;
		case FT_SERVICES:
			for (i = 0; i < REGISTRY_COUNT; i++) {
				const struct registry_service *s =
				    registry_get((enum registry_id)i);

				p->services[i].enabled = s->hardened_enabled;
				for (e = 0; e < s->n_endpoints; e++)
					p->services[i].ports[e] =
					    s->endpoints[e].port;
			}
			break;
		case FT_ENTRIES:
			p->accessible_ip.entries = NULL;
			p->accessible_ip.n_entries = 0;
			break;
		case FT_EVENTS:
			memset(p->logging.events, EVENTLOG_SINK_LOCAL |
			    EVENTLOG_SINK_SYSLOG, sizeof(p->logging.events));
			break;
		case FT_MANAGEMENT:
			p->firewall.n_management = 0;
			break;
		}
	}
	return 0;
}

struct vctx {
	struct policy *p;
	struct policy_error *err;
	const struct pnode *root;
	char *base;		/* what field offsets point into: p or a list item */
	/*
	 * List items in file order, for checks across items: one array
	 * per list, as long as the list (tags and the map go to 10000).
	 */
	const struct pnode **mb_items[MB_NLISTS];
	char path[512];
	const struct pnode *svc_enabled[REGISTRY_COUNT];
	const struct pnode *svc_port[REGISTRY_COUNT][REGISTRY_MAX_ENDPOINTS];
};

static void verr(struct vctx *, const struct pnode *, const char *, ...)
    FMT(3, 4);

static void
verr(struct vctx *vc, const struct pnode *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errat(vc->err, n->file, n->line, n->col, vc->path, "%s", msg);
}

static size_t
push_key(struct vctx *vc, const char *key, size_t len)
{
	size_t old = strlen(vc->path);

	path_add_key(vc->path, sizeof(vc->path), key, len);
	return old;
}

static size_t
push_index(struct vctx *vc, size_t index)
{
	size_t old = strlen(vc->path);

	path_add_index(vc->path, sizeof(vc->path), index);
	return old;
}

static void
pop_path(struct vctx *vc, size_t old)
{
	vc->path[old] = '\0';
}

static bool
is_null(const struct pnode *n)
{
	return n->kind == PNODE_SCALAR && !n->quoted && (n->len == 0 ||
	    scalar_is(n, "~") || scalar_is(n, "null") ||
	    scalar_is(n, "Null") || scalar_is(n, "NULL"));
}

/* How a node looks, for "X is not a Y (expected Z)". */
static const char *
describe(char *buf, size_t size, const struct pnode *n)
{
	if (n->kind == PNODE_MAP)
		return "a mapping";
	if (n->kind == PNODE_SEQ)
		return "a sequence";
	if (is_null(n))
		return n->len == 0 ? "an empty value" : "null";
	return quote(buf, size, n->text, n->len);
}

static void
list_keys(char *buf, size_t size, const struct field *fields,
    const char *first)
{
	const struct field *f;
	size_t o = 0;

	buf[0] = '\0';
	if (first != NULL)
		bprintf(buf, size, &o, "%s", first);
	for (f = fields; f->key != NULL; f++)
		bprintf(buf, size, &o, "%s%s", o ? ", " : "", f->key);
}

static int
get_bool(struct vctx *vc, const struct pnode *n, bool *out)
{
	char d[QBUF];

	if (n->kind == PNODE_SCALAR && !n->quoted) {
		if (scalar_is(n, "true")) {
			*out = true;
			return 0;
		}
		if (scalar_is(n, "false")) {
			*out = false;
			return 0;
		}
	}
	verr(vc, n, "%s is not a boolean (expected true or false)",
	    describe(d, sizeof(d), n));
	return -1;
}

/*
 * Decimal digits, a minus only when signed, no leading zero, no 0x or 0o
 * forms (YAML 1.1 would read those as other bases).
 */
static int
get_decimal(struct vctx *vc, const struct pnode *n, int64_t min, int64_t max,
    bool is_signed, int64_t *out)
{
	char d[QBUF];
	int64_t v = 0;
	size_t i, neg = 0;

	if (n->kind != PNODE_SCALAR || n->quoted || n->len == 0)
		goto bad;
	if (is_signed && n->text[0] == '-')
		neg = 1;
	if (n->len == neg || (n->text[neg] == '0' && n->len > neg + 1) ||
	    (neg && n->text[1] == '0'))
		goto bad;
	for (i = neg; i < n->len; i++) {
		if (n->text[i] < '0' || n->text[i] > '9')
			goto bad;
		if (v <= UINT32_MAX)
			v = v * 10 + (n->text[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max) {
		verr(vc, n, "%.*s%s is out of range (expected %lld..%lld)",
		    (int)(n->len > 20 ? 20 : n->len), n->text,
		    n->len > 20 ? "..." : "", (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	verr(vc, n, "%s is not a decimal integer (expected %lld..%lld)",
	    describe(d, sizeof(d), n), (long long)min, (long long)max);
	return -1;
}

static int
get_uint(struct vctx *vc, const struct pnode *n, uint32_t min, uint32_t max,
    uint32_t *out)
{
	int64_t v;

	if (get_decimal(vc, n, min, max, false, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A string value: any scalar but null; no NUL inside. */
static int
get_string(struct vctx *vc, const struct pnode *n, const char *expected)
{
	char d[QBUF];

	if (n->kind != PNODE_SCALAR || is_null(n)) {
		verr(vc, n, "%s is not a string (expected %s%s)",
		    describe(d, sizeof(d), n), expected,
		    is_null(n) ? "; write \"\" for none" : "");
		return -1;
	}
	if (memchr(n->text, '\0', n->len) != NULL) {
		verr(vc, n, "contains a NUL character (expected %s)", expected);
		return -1;
	}
	return 0;
}

/*
 * Printable: no C0 or C1 controls, no DEL, no U+2028/U+2029 (YAML line
 * breaks), no U+FFFE/U+FFFF (a "\uFFFE" escape yields them, but libyaml
 * refuses them raw, so the normalised form could not be read back);
 * newline_ok admits LF.  Returns the first offending code point, or -1.
 */
static long
text_bad_char(const char *s, size_t len, bool newline_ok)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp = u[i];
		size_t n = 1;

		if (cp >= 0xf0 && i + 3 < len) {
			cp = (cp & 0x07) << 18 | (u[i + 1] & 0x3fu) << 12 |
			    (u[i + 2] & 0x3fu) << 6 | (u[i + 3] & 0x3fu);
			n = 4;
		} else if (cp >= 0xe0 && i + 2 < len) {
			cp = (cp & 0x0f) << 12 | (u[i + 1] & 0x3fu) << 6 |
			    (u[i + 2] & 0x3fu);
			n = 3;
		} else if (cp >= 0xc0 && i + 1 < len) {
			cp = (cp & 0x1f) << 6 | (u[i + 1] & 0x3fu);
			n = 2;
		} else if (cp >= 0x80)
			return (long)cp;	/* not UTF-8: never from libyaml */
		if ((cp < 0x20 && !(cp == '\n' && newline_ok)) || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0xfffe || cp == 0xffff)
			return (long)cp;
		i += n;
	}
	return -1;
}

static int
check_text(struct vctx *vc, const struct pnode *n, size_t max, bool newline_ok)
{
	const char *what = newline_ok ? "printable text and newlines" :
	    "printable text";
	long bad;

	if (n->len > max) {
		verr(vc, n, "%zu bytes is too long (expected %s of at most %zu "
		    "bytes)", n->len, what, max);
		return -1;
	}
	if ((bad = text_bad_char(n->text, n->len, newline_ok)) != -1) {
		verr(vc, n, "contains non-printable character U+%04lX "
		    "(expected %s)",
		    (unsigned long)bad, what);
		return -1;
	}
	return 0;
}

static bool
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 1123 section 2.1 host names; an all-numeric last label is not one. */
static bool
valid_hostname(const char *s, size_t len)
{
	size_t i, label = 0;
	bool digits = true;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			if (i == len)
				return !digits;
			label = 0;
			digits = true;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (s[i] < '0' || s[i] > '9')
			digits = false;
		label++;
	}
	return false;
}

static int
check_string_field(struct vctx *vc, const struct pnode *n,
    const struct field *f, char *at)
{
	char d[QBUF];
	unsigned char a6[16];
	size_t i;

	switch (f->type) {
	case FT_NAME:
		if (get_string(vc, n, "a name of 1 to 63 characters from "
		    "A-Z a-z 0-9 . _ -") == -1)
			return -1;
		for (i = 0; i < n->len; i++)
			if (!is_alnum(n->text[i]) && n->text[i] != '.' &&
			    n->text[i] != '_' && n->text[i] != '-')
				break;
		if (n->len == 0 || n->len >= f->size || i < n->len) {
			verr(vc, n, "%s is not a valid name (expected 1 to %zu "
			    "characters from A-Z a-z 0-9 . _ -)",
			    quote(d, sizeof(d), n->text, n->len), f->size - 1);
			return -1;
		}
		break;
	case FT_TEXT:
		if (get_string(vc, n, "printable text") == -1 ||
		    check_text(vc, n, f->size - 1, false) == -1)
			return -1;
		break;
	case FT_ID:
	case FT_OPTID:
		if (get_string(vc, n, f->type == FT_OPTID ? "a name of 1 to 31 "
		    "characters from a-z 0-9 _ -, or \"\" for none" : "a name "
		    "of 1 to 31 characters from a-z 0-9 _ -") == -1)
			return -1;
		for (i = 0; i < n->len; i++)
			if (!((n->text[i] >= 'a' && n->text[i] <= 'z') ||
			    (n->text[i] >= '0' && n->text[i] <= '9') ||
			    n->text[i] == '_' || n->text[i] == '-'))
				break;
		if ((n->len == 0 && f->type == FT_ID) || n->len >= f->size ||
		    i < n->len) {
			verr(vc, n, "%s is not a valid name (expected 1 to %zu "
			    "characters from a-z 0-9 _ -%s)",
			    quote(d, sizeof(d), n->text, n->len), f->size - 1,
			    f->type == FT_OPTID ? ", or \"\" for none" : "");
			return -1;
		}
		break;
	case FT_PATH:
		if (get_string(vc, n, "an absolute path") == -1 ||
		    check_text(vc, n, f->size - 1, false) == -1)
			return -1;
		if (n->len < 2 || n->text[0] != '/') {
			verr(vc, n, "%s is not an absolute path (expected e.g. "
			    "/dev/ttyUSB0)", quote(d, sizeof(d), n->text,
			    n->len));
			return -1;
		}
		break;
	case FT_HOST:
		if (get_string(vc, n, "a host name or an IP address") == -1)
			return -1;
		if (n->len > 0 && inet_pton(AF_INET, n->text, a6) != 1 &&
		    inet_pton(AF_INET6, n->text, a6) != 1 &&
		    !valid_hostname(n->text, n->len)) {
			verr(vc, n, "%s is not a host name or an IP address "
			    "(expected e.g. syslog.example.net, 192.0.2.10 or "
			    "2001:db8::10, or \"\" for none)",
			    quote(d, sizeof(d), n->text, n->len));
			return -1;
		}
		break;
	default:
		return -1;
	}
	memcpy(at, n->text, n->len);
	at[n->len] = '\0';
	return 0;
}

static int
check_enum(struct vctx *vc, const struct pnode *n, const struct field *f,
    char *at)
{
	char d[QBUF], list[128] = "";
	size_t o = 0;
	uint32_t i;

	for (i = 0; f->names[i] != NULL; i++) {
		if (n->kind == PNODE_SCALAR && scalar_is(n, f->names[i])) {
			store_uint(at, f->size, f->vals ? f->vals[i] : i);
			return 0;
		}
		bprintf(list, sizeof(list), &o, "%s%s", i == 0 ? "" :
		    f->names[i + 1] ? ", " : " or ", f->names[i]);
	}
	verr(vc, n, "%s is not a valid value (expected %s)",
	    describe(d, sizeof(d), n), list);
	return -1;
}

static int
check_facility(struct vctx *vc, const struct pnode *n, const struct field *f,
    char *at)
{
	char d[QBUF];
	uint32_t i;

	if (n->kind == PNODE_SCALAR && !n->quoted && n->len > 0 &&
	    n->text[0] >= '0' && n->text[0] <= '9') {
		if (get_uint(vc, n, 0, f->max, &i) == -1)
			return -1;
		store_uint(at, f->size, i);
		return 0;
	}
	for (i = 0; i <= f->max; i++)
		if (facility_names[i] != NULL && n->kind == PNODE_SCALAR &&
		    scalar_is(n, facility_names[i])) {
			store_uint(at, f->size, i);
			return 0;
		}
	verr(vc, n, "%s is not a syslog facility (expected 0..23 or one of: "
	    "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "
	    "authpriv, ftp, local0..local7)", describe(d, sizeof(d), n));
	return -1;
}

static int check_value(struct vctx *, const struct pnode *,
    const struct field *);

static int
unknown_key(struct vctx *vc, const struct pnode *k, const char *expected)
{
	size_t old = push_key(vc, k->text, k->len);

	verr(vc, k, "unknown key (expected one of: %s)", expected);
	pop_path(vc, old);
	return -1;
}

static const struct field *
field_find(const struct field *fields, const struct pnode *k)
{
	const struct field *f;

	for (f = fields; f->key != NULL; f++)
		if (scalar_is(k, f->key))
			return f;
	return NULL;
}

static int
check_map(struct vctx *vc, const struct pnode *n, const struct field *fields,
    bool top)
{
	char keys[512], d[QBUF];
	const struct field *f;
	size_t i, j, old;

	list_keys(keys, sizeof(keys), fields, top ? "base" : NULL);
	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a mapping (expected a mapping with "
		    "keys: %s)", describe(d, sizeof(d), n), keys);
		return -1;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i];

		if ((f = field_find(fields, k)) == NULL) {
			for (j = 0; top && reserved_sections[j] != NULL; j++)
				if (scalar_is(k, reserved_sections[j])) {
					errat(vc->err, k->file, k->line, k->col,
					    reserved_sections[j], "section "
					    "reserved for a later version of "
					    "sluice; this build does not "
					    "support it");
					return -1;
				}
			return unknown_key(vc, k, keys);
		}
		old = push_key(vc, k->text, k->len);
		if (check_value(vc, n->kids[i + 1], f) == -1)
			return -1;
		pop_path(vc, old);
	}
	return 0;
}

static int
check_service(struct vctx *vc, const struct pnode *n,
    const struct registry_service *s)
{
	struct policy_service *ps = &vc->p->services[s->id];
	char keys[256];
	size_t i, o, old;
	uint32_t port;
	bool b;
	int e;

	o = 0;
	bprintf(keys, sizeof(keys), &o, "enabled");
	for (i = 0; i < s->n_endpoints; i++)
		bprintf(keys, sizeof(keys), &o, ", %s", s->endpoints[i].key);
	if (n->kind != PNODE_MAP) {
		char d[QBUF];

		verr(vc, n, "%s is not a mapping (expected a mapping with "
		    "keys: %s)", describe(d, sizeof(d), n), keys);
		return -1;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i], *v = n->kids[i + 1];

		old = push_key(vc, k->text, k->len);
		if (scalar_is(k, "enabled")) {
			if (get_bool(vc, v, &b) == -1)
				return -1;
			ps->enabled = b;
			vc->svc_enabled[s->id] = v;
		} else if (memchr(k->text, '\0', k->len) == NULL &&
		    (e = registry_endpoint_find(s, k->text)) != -1) {
			if (get_uint(vc, v, 1, 65535, &port) == -1)
				return -1;
			ps->ports[e] = (uint16_t)port;
			vc->svc_port[s->id][e] = v;
		} else {
			pop_path(vc, old);
			return unknown_key(vc, k, keys);
		}
		pop_path(vc, old);
	}
	return 0;
}

static int
check_services(struct vctx *vc, const struct pnode *n)
{
	const struct registry_service *s;
	char names[512], d[QBUF];
	size_t i, o = 0, old;

	names[0] = '\0';
	for (i = 0; i < REGISTRY_COUNT; i++)
		bprintf(names, sizeof(names), &o, "%s%s", i ? ", " : "",
		    registry_get((enum registry_id)i)->name);
	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a mapping (expected a mapping with "
		    "keys: %s)", describe(d, sizeof(d), n), names);
		return -1;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i];

		s = memchr(k->text, '\0', k->len) ? NULL : registry_find(k->text);
		if (s == NULL)
			return unknown_key(vc, k, names);
		old = push_key(vc, k->text, k->len);
		if (check_service(vc, n->kids[i + 1], s) == -1)
			return -1;
		pop_path(vc, old);
	}
	return 0;
}

/* One accessible-IP entry while checking: where it came from. */
struct acl_tmp {
	struct policy_acl_entry e;
	const struct pnode *node;	/* the address value */
	size_t index;
	uint8_t last[16];		/* last address in the range */
};

static void
acl_format(char *buf, size_t size, const struct policy_acl_entry *e)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(e->family, e->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, e->prefix);
}

static void
prefix_mask(uint8_t *mask, unsigned bytes, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < bytes; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

static int
parse_prefix(const char *s, unsigned *out)
{
	size_t len = strlen(s), i;
	unsigned v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* RFC 4291 section 2.5.5.2 */
static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/*
 * in_entry: an accessible_ip entry (the value sits under "address:");
 * otherwise a bare CIDR string (firewall.management).
 */
static size_t
push_addr(struct vctx *vc, bool in_entry)
{
	return in_entry ? push_key(vc, "address", 7) : strlen(vc->path);
}

static int
parse_address(struct vctx *vc, const struct pnode *an, const struct pnode *mn,
    struct acl_tmp *t, bool in_entry)
{
	char host[INET6_ADDRSTRLEN + 1], d[QBUF], net[64];
	const char *slash;
	uint8_t mask[16] = { 0 }, m4[4];
	unsigned prefix = 0, bytes, i;
	size_t old, hl;
	bool ok = true;

	old = push_addr(vc, in_entry);
	if (get_string(vc, an, "an IP address") == -1)
		return -1;
	slash = strchr(an->text, '/');
	hl = slash ? (size_t)(slash - an->text) : an->len;
	if (hl >= sizeof(host))
		ok = false;
	else {
		memcpy(host, an->text, hl);
		host[hl] = '\0';
	}
	t->e.family = 0;
	memset(t->e.addr, 0, sizeof(t->e.addr));
	if (ok && inet_pton(AF_INET, host, t->e.addr) == 1)
		t->e.family = AF_INET;
	else if (ok && inet_pton(AF_INET6, host, t->e.addr) == 1)
		t->e.family = AF_INET6;
	else
		ok = false;
	bytes = t->e.family == AF_INET ? 4 : 16;
	if (ok && slash != NULL && (parse_prefix(slash + 1, &prefix) == -1 ||
	    prefix > bytes * 8))
		ok = false;
	if (!ok) {
		verr(vc, an, "%s is not an IP address or network (expected e.g. "
		    "192.168.1.0/24, 192.168.1.120 or 2001:db8::/32)",
		    quote(d, sizeof(d), an->text, an->len));
		return -1;
	}
	if (t->e.family == AF_INET6 && memcmp(t->e.addr, v4mapped,
	    sizeof(v4mapped)) == 0) {
		verr(vc, an, "%s is an IPv4-mapped IPv6 address (expected the "
		    "IPv4 form, e.g. 192.168.1.0/24)",
		    quote(d, sizeof(d), an->text, an->len));
		return -1;
	}
	if (slash == NULL)
		prefix = bytes * 8;
	pop_path(vc, old);
	if (mn != NULL) {
		old = push_key(vc, "netmask", 7);
		if (slash != NULL) {
			verr(vc, mn, "not allowed with an address in CIDR form "
			    "(expected either address: 192.168.1.0/24 or "
			    "address: 192.168.1.0 with netmask: 255.255.255.0)");
			return -1;
		}
		if (t->e.family != AF_INET) {
			verr(vc, mn, "only for IPv4 addresses (expected an IPv6 "
			    "network in CIDR form, e.g. 2001:db8::/32)");
			return -1;
		}
		if (get_string(vc, mn, "an IPv4 netmask") == -1)
			return -1;
		if (inet_pton(AF_INET, mn->text, m4) != 1) {
			verr(vc, mn, "%s is not an IPv4 netmask (expected e.g. "
			    "255.255.255.0)", quote(d, sizeof(d), mn->text,
			    mn->len));
			return -1;
		}
		for (prefix = 0; prefix < 32 &&
		    (m4[prefix / 8] & (0x80 >> (prefix % 8))); prefix++)
			;
		prefix_mask(mask, 4, prefix);
		if (memcmp(mask, m4, 4) != 0) {
			verr(vc, mn, "%s is not a contiguous netmask (expected "
			    "ones then zeros, e.g. 255.255.255.0)",
			    quote(d, sizeof(d), mn->text, mn->len));
			return -1;
		}
		pop_path(vc, old);
	}
	t->e.prefix = (uint8_t)prefix;
	prefix_mask(mask, bytes, prefix);
	for (i = 0; i < bytes; i++)
		if (t->e.addr[i] & ~mask[i])
			break;
	if (i < bytes) {
		struct policy_acl_entry n = t->e;

		for (i = 0; i < bytes; i++)
			n.addr[i] &= mask[i];
		acl_format(net, sizeof(net), &n);
		old = push_addr(vc, in_entry);
		if (mn != NULL)
			verr(vc, an, "%s has host bits set for netmask %s "
			    "(expected the network address %.*s)",
			    quote(d, sizeof(d), an->text, an->len), mn->text,
			    (int)strcspn(net, "/"), net);
		else
			verr(vc, an, "%s has host bits set (expected the "
			    "network address %s)", quote(d, sizeof(d),
			    an->text, an->len), net);
		return -1;
	}
	for (i = 0; i < 16; i++)
		t->last[i] = i < bytes ? (uint8_t)(t->e.addr[i] | ~mask[i]) : 0;
	return 0;
}

static int
check_entry(struct vctx *vc, const struct pnode *n, struct acl_tmp *t)
{
	static const char keys[] = "address, netmask, active, comment";
	const struct pnode *an = NULL, *mn = NULL;
	char d[QBUF];
	size_t i, old;
	bool b;

	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a mapping (expected a mapping with keys: "
		    "%s)", describe(d, sizeof(d), n), keys);
		return -1;
	}
	t->e.active = true;
	t->e.comment[0] = '\0';
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i], *v = n->kids[i + 1];

		if (scalar_is(k, "address")) {
			an = v;
			continue;
		}
		if (scalar_is(k, "netmask")) {
			mn = v;
			continue;
		}
		old = push_key(vc, k->text, k->len);
		if (scalar_is(k, "active")) {
			if (get_bool(vc, v, &b) == -1)
				return -1;
			t->e.active = b;
		} else if (scalar_is(k, "comment")) {
			if (get_string(vc, v, "printable text") == -1 ||
			    check_text(vc, v, sizeof(t->e.comment) - 1,
			    false) == -1)
				return -1;
			memcpy(t->e.comment, v->text, v->len);
			t->e.comment[v->len] = '\0';
		} else {
			pop_path(vc, old);
			return unknown_key(vc, k, keys);
		}
		pop_path(vc, old);
	}
	if (an == NULL) {
		verr(vc, n, "address is missing (expected address: with e.g. "
		    "192.168.1.0/24)");
		return -1;
	}
	t->node = an;
	return parse_address(vc, an, mn, t, true);
}

static int
acl_cmp(const void *a, const void *b)
{
	const struct acl_tmp *x = a, *y = b;
	int c;

	if (x->e.family != y->e.family)
		return x->e.family < y->e.family ? -1 : 1;
	if ((c = memcmp(x->e.addr, y->e.addr, sizeof(x->e.addr))) != 0)
		return c;
	if (x->e.prefix != y->e.prefix)
		return x->e.prefix < y->e.prefix ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sorted by start address, two entries overlap exactly when one starts
 * at or before the furthest end seen so far in its family: n log n for
 * the 16384 entries the cap allows.
 */
static int
check_overlaps(struct vctx *vc, struct acl_tmp *t, size_t n, bool in_entry)
{
	char a[64], b[64];
	size_t i, far = 0, old;

	for (i = 1; i < n; i++) {
		const struct acl_tmp *x, *y;

		if (t[i].e.family != t[far].e.family ||
		    memcmp(t[i].e.addr, t[far].last, 16) > 0) {
			if (t[i].e.family != t[far].e.family ||
			    memcmp(t[i].last, t[far].last, 16) > 0)
				far = i;
			continue;
		}
		/* Report at the later line, naming the earlier. */
		x = &t[far];
		y = &t[i];
		if (x->node->line > y->node->line || (x->node->line ==
		    y->node->line && x->node->col > y->node->col)) {
			x = &t[i];
			y = &t[far];
		}
		acl_format(a, sizeof(a), &y->e);
		acl_format(b, sizeof(b), &x->e);
		old = push_index(vc, y->index);
		push_addr(vc, in_entry);
		if (x->e.prefix == y->e.prefix)
			verr(vc, y->node, "%s duplicates the entry at line %u "
			    "(expected each network once)", a, x->node->line);
		else
			verr(vc, y->node, "%s overlaps %s at line %u (expected "
			    "entries that do not overlap)", a, b,
			    x->node->line);
		pop_path(vc, old);
		return -1;
	}
	return 0;
}

static int
check_entries(struct vctx *vc, const struct pnode *n)
{
	struct policy *p = vc->p;
	struct acl_tmp *t;
	char d[QBUF];
	size_t i, old;

	if (n->kind != PNODE_SEQ) {
		verr(vc, n, "%s is not a sequence (expected a sequence of "
		    "entries with address:)", describe(d, sizeof(d), n));
		return -1;
	}
	if (n->n > POLICY_MAX_ACL_ENTRIES) {
		old = push_index(vc, POLICY_MAX_ACL_ENTRIES);
		verr(vc, n->kids[POLICY_MAX_ACL_ENTRIES], "more than %u entries "
		    "(expected at most %u)", POLICY_MAX_ACL_ENTRIES,
		    POLICY_MAX_ACL_ENTRIES);
		pop_path(vc, old);
		return -1;
	}
	free(p->accessible_ip.entries);
	p->accessible_ip.entries = NULL;
	p->accessible_ip.n_entries = 0;
	if (n->n == 0)
		return 0;
	if ((t = calloc(n->n, sizeof(*t))) == NULL ||
	    (p->accessible_ip.entries = calloc(n->n,
	    sizeof(*p->accessible_ip.entries))) == NULL) {
		free(t);
		set_err(vc->err, "%s: out of memory", n->file);
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		t[i].index = i;
		old = push_index(vc, i);
		if (check_entry(vc, n->kids[i], &t[i]) == -1) {
			free(t);
			return -1;
		}
		pop_path(vc, old);
	}
	qsort(t, n->n, sizeof(*t), acl_cmp);
	if (check_overlaps(vc, t, n->n, true) == -1) {
		free(t);
		return -1;
	}
	/* Stored sorted: the list is a set, so order carries no meaning. */
	for (i = 0; i < n->n; i++)
		p->accessible_ip.entries[i] = t[i].e;
	p->accessible_ip.n_entries = n->n;
	free(t);
	return 0;
}

/* firewall.management: a sequence of addresses or networks (CIDR). */
static int
check_management(struct vctx *vc, const struct pnode *n)
{
	struct policy *p = vc->p;
	struct acl_tmp t[POLICY_MAX_MANAGEMENT];
	char d[QBUF];
	size_t i, old;

	if (n->kind != PNODE_SEQ) {
		verr(vc, n, "%s is not a sequence (expected a sequence of "
		    "addresses, e.g. [192.168.1.0/24])",
		    describe(d, sizeof(d), n));
		return -1;
	}
	if (n->n > POLICY_MAX_MANAGEMENT) {
		old = push_index(vc, POLICY_MAX_MANAGEMENT);
		verr(vc, n->kids[POLICY_MAX_MANAGEMENT], "more than %u entries "
		    "(expected at most %u)", POLICY_MAX_MANAGEMENT,
		    POLICY_MAX_MANAGEMENT);
		pop_path(vc, old);
		return -1;
	}
	memset(t, 0, sizeof(t));
	for (i = 0; i < n->n; i++) {
		t[i].index = i;
		t[i].node = n->kids[i];
		old = push_index(vc, i);
		if (parse_address(vc, n->kids[i], NULL, &t[i], false) == -1)
			return -1;
		pop_path(vc, old);
	}
	qsort(t, n->n, sizeof(t[0]), acl_cmp);
	if (check_overlaps(vc, t, n->n, false) == -1)
		return -1;
	for (i = 0; i < n->n; i++) {
		p->firewall.management[i] = t[i].e;
		p->firewall.management[i].active = true;
		p->firewall.management[i].comment[0] = '\0';
	}
	p->firewall.n_management = n->n;
	return 0;
}

static void where_text(char *, size_t, const struct pnode *,
    const struct pnode *);

/*
 * certificates.names: subjectAltNames (RFC 5280 section 4.2.1.6), each a
 * DNS name (RFC 1123 section 2.1; RFC 6125 section 6.4.4 ignores the
 * common name, so every name a browser uses must be here or device.name)
 * or an IP address.  Kept in file order, normalised (DNS names compare
 * without case, RFC 4343; addresses as inet_ntop() writes them) so that a
 * duplicate is seen.
 */
static int
check_cert_names(struct vctx *vc, const struct pnode *n)
{
	struct policy *p = vc->p;
	char d[QBUF], where[320];
	char (*names)[POLICY_CERT_NAME_MAX + 1] = p->certificates.names;
	unsigned char a[16];
	size_t i, j, k, old;
	int af;

	if (n->kind != PNODE_SEQ) {
		verr(vc, n, "%s is not a sequence (expected a sequence of DNS "
		    "names and IP addresses, e.g. [gw.example.net, "
		    "192.0.2.10])", describe(d, sizeof(d), n));
		return -1;
	}
	if (n->n > POLICY_MAX_CERT_NAMES) {
		old = push_index(vc, POLICY_MAX_CERT_NAMES);
		verr(vc, n->kids[POLICY_MAX_CERT_NAMES], "more than %u names "
		    "(expected at most %u)", POLICY_MAX_CERT_NAMES,
		    POLICY_MAX_CERT_NAMES);
		pop_path(vc, old);
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		const struct pnode *x = n->kids[i];

		old = push_index(vc, i);
		if (x->kind != PNODE_SCALAR || is_null(x)) {
			verr(vc, x, "%s is not a DNS name or an IP address "
			    "(expected e.g. gw.example.net, 192.0.2.10 or "
			    "2001:db8::10)", describe(d, sizeof(d), x));
			return -1;
		}
		if (get_string(vc, x, "a DNS name or an IP address") == -1)
			return -1;
		af = inet_pton(AF_INET, x->text, a) == 1 ? AF_INET :
		    inet_pton(AF_INET6, x->text, a) == 1 ? AF_INET6 : 0;
		/* A client reaching the IPv4 address never matches it. */
		if (af == AF_INET6 && memcmp(a, v4mapped, sizeof(v4mapped)) ==
		    0) {
			verr(vc, x, "%s is an IPv4-mapped IPv6 address "
			    "(expected the IPv4 form, e.g. 192.0.2.10)",
			    quote(d, sizeof(d), x->text, x->len));
			return -1;
		}
		if (af != 0)
			inet_ntop(af, a, names[i], sizeof(names[i]));
		else if (valid_hostname(x->text, x->len)) {
			for (k = 0; k < x->len; k++)
				names[i][k] = (char)(x->text[k] >= 'A' &&
				    x->text[k] <= 'Z' ? x->text[k] + 32 :
				    x->text[k]);
			names[i][k] = '\0';
		} else {
			verr(vc, x, "%s is not a DNS name or an IP address "
			    "(expected e.g. gw.example.net, 192.0.2.10 or "
			    "2001:db8::10; no wildcards)",
			    quote(d, sizeof(d), x->text, x->len));
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0) {
				where_text(where, sizeof(where), x, n->kids[j]);
				verr(vc, x, "%s is the same name as "
				    "certificates.names[%zu]%s (expected each "
				    "name once)", quote(d, sizeof(d), x->text,
				    x->len), j, where);
				return -1;
			}
		pop_path(vc, old);
	}
	p->certificates.n_names = n->n;
	return 0;
}

static void
list_events(char *buf, size_t size)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	bprintf(buf, size, &o, "a group (");
	for (i = 0; i < EVENTLOG_GROUP_COUNT; i++)
		bprintf(buf, size, &o, "%s%s", i ? ", " : "",
		    eventlog_group_name((enum eventlog_group)i));
	bprintf(buf, size, &o, ") or an event (");
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		bprintf(buf, size, &o, "%s%s", i ? ", " : "",
		    eventlog_type_info((enum eventlog_type)i)->name);
	bprintf(buf, size, &o, ")");
}

static int
check_sinks(struct vctx *vc, const struct pnode *n, uint8_t *out)
{
	char d[QBUF];
	size_t i, old;
	unsigned s;

	if (n->kind != PNODE_SEQ) {
		verr(vc, n, "%s is not a sequence (expected a list of sinks "
		    "from local, syslog, e.g. [local, syslog] or [])",
		    describe(d, sizeof(d), n));
		return -1;
	}
	*out = 0;
	for (i = 0; i < n->n; i++) {
		const struct pnode *v = n->kids[i];

		old = push_index(vc, i);
		for (s = 0; s < 2; s++)
			if (v->kind == PNODE_SCALAR && scalar_is(v, sink_names[s]))
				break;
		if (s == 2) {
			verr(vc, v, "%s is not a sink (expected local or "
			    "syslog)", describe(d, sizeof(d), v));
			return -1;
		}
		if (*out & (1u << s)) {
			verr(vc, v, "%s is listed twice (expected each sink "
			    "once)", sink_names[s]);
			return -1;
		}
		*out |= (uint8_t)(1u << s);
		pop_path(vc, old);
	}
	return 0;
}

/* An event's own key beats its group's, wherever either was written. */
static int
check_events(struct vctx *vc, const struct pnode *n)
{
	uint8_t group[EVENTLOG_GROUP_COUNT], type[EVENTLOG_TYPE_COUNT];
	bool gset[EVENTLOG_GROUP_COUNT] = { false };
	bool tset[EVENTLOG_TYPE_COUNT] = { false };
	char list[1024], d[QBUF];
	size_t i, old;
	int g, t;

	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a mapping (expected groups and events "
		    "mapped to lists of sinks)", describe(d, sizeof(d), n));
		return -1;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i];
		bool named = memchr(k->text, '\0', k->len) == NULL;

		g = named ? eventlog_group_find(k->text) : -1;
		t = named && g == -1 ? eventlog_type_find(k->text) : -1;
		if (g == -1 && t == -1) {
			list_events(list, sizeof(list));
			return unknown_key(vc, k, list);
		}
		old = push_key(vc, k->text, k->len);
		if (check_sinks(vc, n->kids[i + 1], g != -1 ? &group[g] :
		    &type[t]) == -1)
			return -1;
		if (g != -1)
			gset[g] = true;
		else
			tset[t] = true;
		pop_path(vc, old);
	}
	for (t = 0; t < EVENTLOG_TYPE_COUNT; t++) {
		g = (int)eventlog_type_info((enum eventlog_type)t)->group;
		if (tset[t])
			vc->p->logging.events[t] = type[t];
		else if (gset[g])
			vc->p->logging.events[t] = group[g];
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* modbus                                                              */
/* ------------------------------------------------------------------ */

static int
get_int(struct vctx *vc, const struct pnode *n, int32_t min, int32_t max,
    int32_t *out)
{
	int64_t v;

	if (get_decimal(vc, n, min, max, true, &v) < 0)
		return -1;
	*out = (int32_t)v;
	return 0;
}

static int
check_choice(struct vctx *vc, const struct pnode *n, const struct field *f,
    char *at)
{
	char d[QBUF], list[256] = "";
	size_t o = 0, i;
	uint64_t v = 0;

	for (i = 0; f->vals[i] != 0; i++)
		bprintf(list, sizeof(list), &o, "%s%u", i ? ", " : "",
		    f->vals[i]);
	if (n->kind == PNODE_SCALAR && !n->quoted && n->len > 0 &&
	    n->len <= 10 && n->text[0] != '0') {
		for (i = 0; i < n->len && n->text[i] >= '0' &&
		    n->text[i] <= '9'; i++)
			v = v * 10 + (uint64_t)(n->text[i] - '0');
		if (i == n->len)
			for (i = 0; f->vals[i] != 0; i++)
				if (f->vals[i] == v) {
					store_uint(at, f->size, f->vals[i]);
					return 0;
				}
	}
	verr(vc, n, "%s is not a valid value (expected one of %s)",
	    describe(d, sizeof(d), n), list);
	return -1;
}

static int
check_lport(struct vctx *vc, const struct pnode *n, char *at)
{
	char d[QBUF];
	uint32_t u;
	uint16_t v;

	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "any")) {
		v = 0;
	} else if (n->kind == PNODE_SCALAR && !n->quoted && n->len > 0 &&
	    n->text[0] >= '0' && n->text[0] <= '9') {
		if (get_uint(vc, n, 1, 65535, &u) == -1)
			return -1;
		v = (uint16_t)u;
	} else {
		verr(vc, n, "%s is not a port (expected any, or a port "
		    "services.modbus-tcp listens on)", describe(d, sizeof(d),
		    n));
		return -1;
	}
	memcpy(at, &v, sizeof(v));
	return 0;
}

/* "1-10, 20, 30-31" from a set of bits 0..nbits-1; "" when empty. */
static void
set_text(char *buf, size_t size, const uint8_t *set, unsigned nbits,
    const char *sep)
{
	size_t o = 0;
	unsigned u, v;

	buf[0] = '\0';
	for (u = 0; u < nbits; u++) {
		if (!POLICY_MODBUS_UNIT_SET(set, u))
			continue;
		for (v = u; v + 1 < nbits && POLICY_MODBUS_UNIT_SET(set, v + 1);
		    v++)
			;
		if (v == u)
			bprintf(buf, size, &o, "%s%u", o ? sep : "", u);
		else
			bprintf(buf, size, &o, "%s%u-%u", o ? sep : "", u, v);
		u = v;
	}
}

/* "5" or "1-31" (a <= b), each 0..255. */
static int
parse_units(const struct pnode *n, unsigned *lo, unsigned *hi)
{
	unsigned v[2] = { 0, 0 };
	size_t i, k = 0, digits = 0;

	if (n->kind != PNODE_SCALAR || n->len == 0 || n->len > 7)
		return -1;
	for (i = 0; i < n->len; i++) {
		char c = n->text[i];

		if (c == '-' && k == 0 && digits > 0) {
			k = 1;
			digits = 0;
		} else if (c >= '0' && c <= '9') {
			if (digits > 0 && v[k] == 0)
				return -1;	/* leading zero */
			v[k] = v[k] * 10 + (unsigned)(c - '0');
			digits++;
		} else
			return -1;
	}
	if (digits == 0)
		return -1;
	*lo = v[0];
	*hi = k ? v[1] : v[0];
	return 0;
}

static int
check_units(struct vctx *vc, const struct pnode *n, uint8_t *set)
{
	char d[QBUF];
	const struct pnode *const *items = &n;
	size_t count = 1, i, old = 0;
	unsigned lo, hi, u;

	if (n->kind == PNODE_SEQ) {
		items = (const struct pnode *const *)n->kids;
		count = n->n;
		if (count == 0) {
			verr(vc, n, "an empty list (expected at least one unit, "
			    "e.g. 1-31 or [1, 5-9])");
			return -1;
		}
	}
	memset(set, 0, 32);
	for (i = 0; i < count; i++) {
		const struct pnode *v = items[i];

		if (n->kind == PNODE_SEQ)
			old = push_index(vc, i);
		if (parse_units(v, &lo, &hi) == -1) {
			verr(vc, v, "%s is not a unit id or range (expected "
			    "0..255, a range such as 1-31, or a list of these)",
			    describe(d, sizeof(d), v));
			return -1;
		}
		if (hi > 255 || lo > hi) {
			verr(vc, v, "%s is out of range (expected units 0..255, "
			    "a range a-b with a <= b)", quote(d, sizeof(d),
			    v->text, v->len));
			return -1;
		}
		for (u = lo; u <= hi; u++) {
			if (POLICY_MODBUS_UNIT_SET(set, u)) {
				verr(vc, v, "unit %u is listed twice (expected "
				    "each unit once)", u);
				return -1;
			}
			set[u / 8] |= (uint8_t)(1u << (u % 8));
		}
		if (n->kind == PNODE_SEQ)
			pop_path(vc, old);
	}
	return 0;
}

/* {incoming: outgoing}; unit 0 is broadcast and never remapped. */
static int
check_unitmap(struct vctx *vc, const struct pnode *n, char *at)
{
	struct policy_modbus_route r;
	char d[QBUF];
	size_t i, old;
	uint32_t from, to;

	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a mapping (expected {incoming: "
		    "outgoing} units, e.g. {1: 11, 2: 12}, or {})",
		    describe(d, sizeof(d), n));
		return -1;
	}
	memset(&r.map, 0, sizeof(r.map));
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i], *v = n->kids[i + 1];

		old = push_key(vc, k->text, k->len);
		if (get_uint(vc, k, 1, 255, &from) == -1 ||
		    get_uint(vc, v, 1, 255, &to) == -1)
			return -1;
		r.map.mapped[from / 8] |= (uint8_t)(1u << (from % 8));
		r.map.to[from] = (uint8_t)to;
		pop_path(vc, old);
	}
	memcpy(at, &r.map, sizeof(r.map));
	return 0;
}

static int
check_funcs(struct vctx *vc, const struct pnode *n, char *at)
{
	uint8_t codes[16];
	char d[QBUF];
	size_t i, old;
	uint32_t fc;

	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "all")) {
		funcs_set(at, POLICY_MODBUS_FUNC_ALL, NULL);
		return 0;
	}
	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "read-only")) {
		funcs_set(at, POLICY_MODBUS_FUNC_READ_ONLY, NULL);
		return 0;
	}
	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "read-write")) {
		funcs_set(at, POLICY_MODBUS_FUNC_READ_WRITE, NULL);
		return 0;
	}
	if (n->kind != PNODE_SEQ || n->n == 0) {
		verr(vc, n, "%s is not a function list (expected all, read-only, "
		    "read-write or a list of function codes 1..127, e.g. [3, 16])",
		    n->kind == PNODE_SEQ ? "an empty list" :
		    describe(d, sizeof(d), n));
		return -1;
	}
	memset(codes, 0, sizeof(codes));
	for (i = 0; i < n->n; i++) {
		old = push_index(vc, i);
		if (get_uint(vc, n->kids[i], 1, 127, &fc) == -1)
			return -1;
		if (POLICY_MODBUS_UNIT_SET(codes, fc)) {
			verr(vc, n->kids[i], "function %u is listed twice "
			    "(expected each function code once)", fc);
			return -1;
		}
		codes[fc / 8] |= (uint8_t)(1u << (fc % 8));
		pop_path(vc, old);
	}
	funcs_set(at, POLICY_MODBUS_FUNC_LIST, codes);
	return 0;
}

/* A firewall rule's from: any, or a list of networks (n_from + from[]). */
static int
check_nets(struct vctx *vc, const struct pnode *n, char *at)
{
	struct policy_modbus_rule r;
	struct acl_tmp t;
	char d[QBUF];
	size_t i, old, span = offsetof(struct policy_modbus_rule, from) +
	    sizeof(r.from) - offsetof(struct policy_modbus_rule, n_from);

	memset(&r, 0, sizeof(r));
	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "any")) {
		memcpy(at, (char *)&r + offsetof(struct policy_modbus_rule,
		    n_from), span);
		return 0;
	}
	if (n->kind != PNODE_SEQ || n->n == 0) {
		verr(vc, n, "%s is not a list of networks (expected any, or "
		    "e.g. [192.168.10.0/24, \"2001:db8::/32\"])",
		    n->kind == PNODE_SEQ ? "an empty list" :
		    describe(d, sizeof(d), n));
		return -1;
	}
	if (n->n > POLICY_MODBUS_MAX_FROM) {
		old = push_index(vc, POLICY_MODBUS_MAX_FROM);
		verr(vc, n->kids[POLICY_MODBUS_MAX_FROM], "more than %u "
		    "networks (expected at most %u; a list of many addresses "
		    "belongs in accessible_ip)", POLICY_MODBUS_MAX_FROM,
		    POLICY_MODBUS_MAX_FROM);
		pop_path(vc, old);
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		memset(&t, 0, sizeof(t));
		old = push_index(vc, i);
		if (parse_address(vc, n->kids[i], NULL, &t, false) == -1)
			return -1;
		pop_path(vc, old);
		r.from[i].family = t.e.family;
		memcpy(r.from[i].addr, t.e.addr, sizeof(r.from[i].addr));
		r.from[i].prefix = t.e.prefix;
	}
	r.n_from = (uint8_t)n->n;
	memcpy(at, (char *)&r + offsetof(struct policy_modbus_rule, n_from),
	    span);
	return 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const uint16_t *x = a, *y = b;

	return (int)x[0] - (int)y[0];
}

/* any, or addresses and ranges 0..65535: 5, 0-99, [0-99, 200]. */
static int
check_ranges(struct vctx *vc, const struct pnode *n, char *at)
{
	struct policy_mbfw_ranges rg;
	const struct pnode *const *items = &n;
	char d[QBUF];
	size_t count = 1, i, old = 0;
	unsigned lo, hi;

	memset(&rg, 0, sizeof(rg));
	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "any")) {
		memcpy(at, &rg, sizeof(rg));
		return 0;
	}
	if (n->kind == PNODE_SEQ) {
		items = (const struct pnode *const *)n->kids;
		count = n->n;
	}
	if (count == 0 || count > POLICY_MODBUS_MAX_RANGES) {
		verr(vc, n, "%s (expected any, an address, a range such as "
		    "0-99, or a list of at most %u of these)", count == 0 ?
		    "an empty list" : "too many ranges",
		    POLICY_MODBUS_MAX_RANGES);
		return -1;
	}
	for (i = 0; i < count; i++) {
		const struct pnode *v = items[i];

		if (n->kind == PNODE_SEQ)
			old = push_index(vc, i);
		/* parse_units reads "a" or "a-b" of up to 7 characters. */
		if (v->kind != PNODE_SCALAR || v->len > 11 ||
		    parse_units(v, &lo, &hi) == -1 || hi > 65535 || lo > hi) {
			verr(vc, v, "%s is not an address or range (expected "
			    "0..65535 or a range a-b with a <= b, e.g. 0-99)",
			    describe(d, sizeof(d), v));
			return -1;
		}
		rg.r[i].first = (uint16_t)lo;
		rg.r[i].last = (uint16_t)hi;
		if (n->kind == PNODE_SEQ)
			pop_path(vc, old);
	}
	rg.n = (uint8_t)count;
	qsort(rg.r, rg.n, sizeof(rg.r[0]), range_cmp);
	for (i = 1; i < rg.n; i++)
		if (rg.r[i].first <= rg.r[i - 1].last) {
			verr(vc, n, "ranges %u-%u and %u-%u overlap (expected "
			    "each address once)", rg.r[i - 1].first,
			    rg.r[i - 1].last, rg.r[i].first, rg.r[i].last);
			return -1;
		}
	memcpy(at, &rg, sizeof(rg));
	return 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Bytes of s from i on that are digits. */
static size_t
skip_digits(const char *s, size_t len, size_t i)
{
	while (i < len && is_digit(s[i]))
		i++;
	return i;
}

/*
 * A real number as JSON writes one (RFC 8259 section 6):
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, unquoted.  Stricter
 * than YAML's floats on purpose: no leading zero (YAML 1.1 read those
 * as octal), no ".5" or "5.", no .inf or .nan, no sign but minus.  The
 * value must be a normal double or 0: what overflows or underflows is
 * out of range, so every accepted value prints and reads back exactly.
 */
static int
get_real(struct vctx *vc, const struct pnode *n, unsigned flags, double *out)
{
	const char *t = n->text;
	char d[QBUF];
	size_t i = 0, k;
	double v;

	if (n->kind != PNODE_SCALAR || n->quoted || n->len == 0)
		goto bad;
	if (t[i] == '-')
		i++;
	if (i < n->len && t[i] == '0')
		i++;
	else if (i < n->len && t[i] >= '1' && t[i] <= '9')
		i = skip_digits(t, n->len, i);
	else
		goto bad;
	if (i < n->len && t[i] == '.') {
		k = skip_digits(t, n->len, i + 1);
		if (k == i + 1)
			goto bad;
		i = k;
	}
	if (i < n->len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n->len && (t[i] == '+' || t[i] == '-'))
			i++;
		k = skip_digits(t, n->len, i);
		if (k == i)
			goto bad;
		i = k;
	}
	if (i != n->len)
		goto bad;
	errno = 0;
	/* The C locale's '.': nothing in sluice sets another. */
	v = strtod(t, NULL);
	if (errno == ERANGE || !isfinite(v) || (v != 0 && v < DBL_MIN &&
	    v > -DBL_MIN)) {
		verr(vc, n, "%.*s%s is out of range (expected 0 or a number "
		    "whose magnitude is 1e-307 to 1e308)",
		    (int)(n->len > 20 ? 20 : n->len), t, n->len > 20 ? "..." :
		    "");
		return -1;
	}
	if (v == 0)
		v = 0;		/* -0 is 0: one value, one spelling */
	if ((flags & REAL_NONNEG) && v < 0) {
		verr(vc, n, "%.*s%s is out of range (expected a number >= 0)",
		    (int)(n->len > 20 ? 20 : n->len), t, n->len > 20 ? "..." :
		    "");
		return -1;
	}
	if ((flags & REAL_NONZERO) && v == 0) {
		verr(vc, n, "%.*s%s is not allowed (expected a number other "
		    "than 0)", (int)(n->len > 20 ? 20 : n->len), t,
		    n->len > 20 ? "..." : "");
		return -1;
	}
	*out = v;
	return 0;
bad:
	verr(vc, n, "%s is not a number (expected a decimal number, e.g. 0.1, "
	    "-40 or 1.5e-3)", describe(d, sizeof(d), n));
	return -1;
}

/* A value whose names another module owns (tag types, swaps). */
static int
check_named(struct vctx *vc, const struct pnode *n, const struct field *f,
    char *at)
{
	char d[QBUF], list[160] = "";
	size_t o = 0;
	unsigned v, k, count;

	if (n->kind == PNODE_SCALAR && memchr(n->text, '\0', n->len) == NULL &&
	    f->from_name(n->text, &v) == 0) {
		store_uint(at, f->size, v);
		return 0;
	}
	for (count = 0; strcmp(f->name_of(count), "?") != 0; count++)
		;
	for (k = 0; k < count; k++)
		bprintf(list, sizeof(list), &o, "%s%s", k == 0 ? "" :
		    k + 1 < count ? ", " : " or ", f->name_of(k));
	verr(vc, n, "%s is not a valid value (expected %s)",
	    describe(d, sizeof(d), n), list);
	return -1;
}

/* modbus.agent.status: none, or {table: T, address: A}. */
static int
check_status(struct vctx *vc, const struct pnode *n, char *at)
{
	static const struct field table = { .key = "table", .type = FT_ENUM,
	    .size = 1, .names = mb_table_names };
	const struct pnode *tn = NULL, *an = NULL;
	__typeof__(vc->p->modbus.agent.status) st;
	char d[QBUF];
	size_t i, old;
	uint32_t u;

	memset(&st, 0, sizeof(st));
	if (n->kind == PNODE_SCALAR && !n->quoted && scalar_is(n, "none")) {
		memcpy(at, &st, sizeof(st));
		return 0;
	}
	if (n->kind != PNODE_MAP) {
		verr(vc, n, "%s is not a status block (expected none, or a "
		    "mapping with keys: table, address, e.g. {table: "
		    "discrete_inputs, address: 1000})", describe(d, sizeof(d),
		    n));
		return -1;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct pnode *k = n->kids[i], *v = n->kids[i + 1];

		if (!scalar_is(k, "table") && !scalar_is(k, "address"))
			return unknown_key(vc, k, "table, address");
		old = push_key(vc, k->text, k->len);
		if (scalar_is(k, "table")) {
			if (check_enum(vc, v, &table, (char *)&st.table) == -1)
				return -1;
			tn = v;
		} else {
			if (get_uint(vc, v, 0, 65535, &u) == -1)
				return -1;
			st.address = (uint16_t)u;
			an = v;
		}
		pop_path(vc, old);
	}
	if (tn == NULL || an == NULL) {
		verr(vc, n, "%s is missing (expected %s: with e.g. %s)",
		    tn == NULL ? "table" : "address", tn == NULL ? "table" :
		    "address", tn == NULL ? "discrete_inputs" : "1000");
		return -1;
	}
	st.enabled = true;
	memcpy(at, &st, sizeof(st));
	return 0;
}

static int
require_key(struct vctx *vc, const struct pnode *item, const char *key,
    const char *example)
{
	if (map_get(item, key, NULL) != NULL)
		return 0;
	verr(vc, item, "%s is missing (expected %s: with e.g. %s)", key, key,
	    example);
	return -1;
}

/* Before the schema: a key that only fits another kind of channel. */
static int
mb_item_pre(struct vctx *vc, const struct pnode *item, int list)
{
	const struct pnode *v;
	size_t old;

	if (list != MB_TCP || (v = map_get(item, "role", NULL)) == NULL)
		return 0;
	old = push_key(vc, "role", 4);
	if (scalar_is(v, "slave"))
		verr(vc, v, "slave is for serial channels only (a serial "
		    "master reaching TCP slaves is a serial channel with role: "
		    "slave; expected no role: on a TCP channel)");
	else
		verr(vc, v, "only serial channels have a role (sluice is "
		    "always the master of a TCP channel; expected no role: "
		    "here)");
	pop_path(vc, old);
	return -1;
}

static int
mb_route_post(struct vctx *vc, const struct pnode *item,
    const struct policy_modbus_route *r)
{
	const struct pnode *on = map_get(item, "offset", NULL);
	const struct pnode *mn = map_get(item, "map", NULL);
	char units[1024];
	size_t i, old;
	unsigned u;
	uint32_t from;

	set_text(units, sizeof(units), r->units, 256, ", ");
	if (POLICY_MODBUS_UNIT_SET(r->units, 0) && !r->broadcast) {
		old = push_key(vc, "units", 5);
		verr(vc, map_get(item, "units", NULL), "unit 0 is the broadcast "
		    "address (serial line 2.1; expected broadcast: true to "
		    "forward it, or units without 0)");
		pop_path(vc, old);
		return -1;
	}
	for (u = 1; on != NULL && r->offset != 0 && u < 256; u++) {
		int32_t to = (int32_t)u + r->offset;

		if (!POLICY_MODBUS_UNIT_SET(r->units, u) || (to >= 1 &&
		    to <= 255))
			continue;
		old = push_key(vc, "offset", 6);
		verr(vc, on, "unit %u with offset %+d becomes %d, outside "
		    "1..255 (expected an offset that keeps every unit of %s "
		    "in 1..255)", u, r->offset, to, units);
		pop_path(vc, old);
		return -1;
	}
	if (mn == NULL || mn->n == 0)
		return 0;
	old = push_key(vc, "map", 3);
	if (r->offset != 0) {
		verr(vc, mn, "not allowed with a non-zero offset (offset: %d at "
		    "line %u; expected either offset: or map:)", r->offset,
		    on->line);
		pop_path(vc, old);
		return -1;
	}
	for (i = 0; i + 1 < mn->n; i += 2) {
		if (get_uint(vc, mn->kids[i], 1, 255, &from) == -1)
			return -1;
		if (!POLICY_MODBUS_UNIT_SET(r->units, from)) {
			push_key(vc, mn->kids[i]->text, mn->kids[i]->len);
			verr(vc, mn->kids[i], "unit %u is not one of this "
			    "route's units (expected a unit of %s)", from,
			    units);
			pop_path(vc, old);
			return -1;
		}
	}
	pop_path(vc, old);
	return 0;
}

/* A firewall rule: named, an action; units default to all of them. */
static int
mb_rule_post(struct vctx *vc, const struct pnode *item, char *at)
{
	struct policy_modbus_rule fr;
	const struct pnode *v;
	size_t old;

	if (require_key(vc, item, "name", "scada-reads") == -1 ||
	    require_key(vc, item, "action", "allow") == -1)
		return -1;
	memcpy(&fr, at, sizeof(fr));
	if (map_get(item, "units", NULL) == NULL)
		memset(fr.units, 0xff, sizeof(fr.units));
	if (fr.value_min > fr.value_max) {
		v = map_get(item, "value_min", NULL);
		old = push_key(vc, "value_min", 9);
		verr(vc, v != NULL ? v : item, "%u is above value_max %u "
		    "(expected value_min <= value_max)", fr.value_min,
		    fr.value_max);
		pop_path(vc, old);
		return -1;
	}
	memcpy(at, &fr, sizeof(fr));
	return 0;
}

static void key_err(struct vctx *, const struct pnode *, const char *,
    const char *, ...) FMT(4, 5);

/*
 * An error about key of list item item (whose path is vc->path), at the
 * key's value, or at the item when the key is not written (its default
 * is what is wrong).
 */
static void
key_err(struct vctx *vc, const struct pnode *item, const char *key,
    const char *fmt, ...)
{
	const struct pnode *v = map_get(item, key, NULL);
	size_t old = push_key(vc, key, strlen(key));
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	verr(vc, v != NULL ? v : item, "%s", msg);
	pop_path(vc, old);
}

static bool
tag_numeric(unsigned type)
{
	return type != TAG_BOOL && type != TAG_STRING;
}

/*
 * A tag: the keys that must agree with its type.  Then tags.h's own
 * check has the last word, so whatever the policy accepts, tags_new()
 * accepts too.
 */
static int
mb_tag_post(struct vctx *vc, const struct pnode *item,
    const struct policy_tag *t)
{
	static const char *const real_keys[] = { "scale", "offset",
		"deadband" };
	static const double real_want[] = { 1, 0, 0 };
	const double real_val[] = { t->scale, t->offset, t->deadband };
	const char *type = tag_type_name(t->type);
	struct tag_def def;
	char msg[512];
	size_t k;

	if (require_key(vc, item, "name", "boiler.temp") == -1)
		return -1;
	if (t->type == TAG_STRING && t->length == 0) {
		if (map_get(item, "length", NULL) == NULL)
			verr(vc, item, "length is missing (expected length: "
			    "1..250 with type: string)");
		else
			key_err(vc, item, "length", "0 is out of range for a "
			    "string tag (expected 1..250 bytes)");
		return -1;
	}
	if (t->type != TAG_STRING && t->length != 0) {
		key_err(vc, item, "length", "%u is not allowed with type: %s "
		    "(expected 0 or no length:; a length is for string tags)",
		    t->length, type);
		return -1;
	}
	for (k = 0; !tag_numeric(t->type) && k < 3; k++)
		if (real_val[k] != real_want[k]) {
			key_err(vc, item, real_keys[k], "not allowed with "
			    "type: %s (expected %g or no %s:; %s is for "
			    "numeric types)", type, real_want[k], real_keys[k],
			    real_keys[k]);
			return -1;
		}
	if (t->command[0] == '\0' && t->at != 0) {
		key_err(vc, item, "at", "%u without a command (expected 0 or "
		    "no at:, or command: naming the command that reads the "
		    "tag)", t->at);
		return -1;
	}
	if (t->write_command[0] == '\0' && t->write_at != 0) {
		key_err(vc, item, "write_at", "%u without a write_command "
		    "(expected 0 or no write_at:, or write_command: naming the "
		    "command that writes the tag)", t->write_at);
		return -1;
	}
	tag_def_init(&def);
	def.name = t->name;
	def.type = (enum tag_type)t->type;
	def.length = t->length;
	def.scale = t->scale;
	def.offset = t->offset;
	def.unit = t->unit;
	def.writable = t->write_command[0] != '\0';
	def.stale_after = t->stale_after;
	def.deadband = t->deadband;
	if (tag_def_check(&def, msg, sizeof(msg)) == -1) {
		verr(vc, item, "%s (expected a definition the tag table "
		    "accepts)", msg);
		return -1;
	}
	return 0;
}

/* Function codes by what they carry (application protocol 6.1-6.17). */
static bool
mb_fc_bits(unsigned fc)
{
	return fc == 1 || fc == 2 || fc == 5 || fc == 15;
}

static bool
mb_fc_reads(unsigned fc)
{
	return (fc >= 1 && fc <= 4) || fc == 23;
}

static bool
mb_fc_writes(unsigned fc)
{
	return fc == 5 || fc == 6 || fc == 15 || fc == 16 || fc == 23;
}

/* The most bits or registers one request of fc carries (its read part). */
static unsigned
mb_fc_max(unsigned fc)
{
	switch (fc) {
	case 1:
	case 2:
		return 2000;	/* 6.1, 6.2 */
	case 3:
	case 4:
	case 23:
		return 125;	/* 6.3, 6.4, 6.17 */
	case 15:
		return 1968;	/* 6.11 */
	case 16:
		return 123;	/* 6.12 */
	default:
		return 1;	/* 5, 6: one coil, one register */
	}
}

/* A poll command: quantities by function, FC 23's write part, trigger. */
static int
mb_command_post(struct vctx *vc, const struct pnode *item, char *at)
{
	struct policy_modbus_command c;
	unsigned max;

	if (require_key(vc, item, "name", "boiler") == -1 ||
	    require_key(vc, item, "channel", "line1") == -1 ||
	    require_key(vc, item, "unit", "1") == -1 ||
	    require_key(vc, item, "function", "3") == -1)
		return -1;
	memcpy(&c, at, sizeof(c));
	max = mb_fc_max(c.function);
	if (c.quantity > max && max == 1) {
		key_err(vc, item, "quantity", "%u is not allowed with function "
		    "%u (expected 1: it writes one %s)", c.quantity,
		    c.function, c.function == 5 ? "coil" : "register");
		return -1;
	}
	if (c.quantity > max) {
		key_err(vc, item, "quantity", "%u is out of range for function "
		    "%u (expected 1..%u)", c.quantity, c.function, max);
		return -1;
	}
	if ((uint32_t)c.address + c.quantity > 65536) {
		key_err(vc, item, "quantity", "address %u + quantity %u runs "
		    "past address 65535 (expected address + quantity <= "
		    "65536)", c.address, c.quantity);
		return -1;
	}
	if (c.function == 23 &&
	    (uint32_t)c.write_address + c.write_quantity > 65536) {
		key_err(vc, item, "write_quantity", "write_address %u + "
		    "write_quantity %u runs past address 65535 (expected "
		    "write_address + write_quantity <= 65536)",
		    c.write_address, c.write_quantity);
		return -1;
	}
	if (c.function != 23 && c.write_address != 0) {
		key_err(vc, item, "write_address", "%u is not allowed with "
		    "function %u (expected 0 or no write_address:; it is for "
		    "function 23 only)", c.write_address, c.function);
		return -1;
	}
	if (c.function != 23 && c.write_quantity != 1) {
		key_err(vc, item, "write_quantity", "%u is not allowed with "
		    "function %u (expected 1 or no write_quantity:; it is for "
		    "function 23 only)", c.write_quantity, c.function);
		return -1;
	}
	/* MGate: a write command runs when a client changes its data. */
	if (map_get(item, "trigger", NULL) == NULL && !mb_fc_reads(c.function))
		c.trigger = POLICY_MB_TRIGGER_ON_CHANGE;
	if (mb_fc_reads(c.function) &&
	    c.trigger == POLICY_MB_TRIGGER_ON_CHANGE) {
		key_err(vc, item, "trigger", "on-change is for write commands "
		    "(function %u reads; expected cyclic or disabled)",
		    c.function);
		return -1;
	}
	memcpy(at, &c, sizeof(c));
	return 0;
}

/* After the schema: keys that must be there, keys that must agree. */
static int
mb_item_post(struct vctx *vc, const struct pnode *item, int list,
    char *at)
{
	struct policy_modbus_serial s;
	struct policy_modbus_route r;
	const struct pnode *v;
	size_t old;

	switch (list) {
	case MB_SERIAL:
		if (require_key(vc, item, "name", "line1") == -1 ||
		    require_key(vc, item, "device", "/dev/ttyUSB0") == -1)
			return -1;
		memcpy(&s, at, sizeof(s));
		if (s.framing == POLICY_MODBUS_RTU && s.data_bits == 7 &&
		    (v = map_get(item, "data_bits", NULL)) != NULL) {
			old = push_key(vc, "data_bits", 9);
			verr(vc, v, "7 is not allowed with framing: rtu (an RTU "
			    "character has 8 data bits, serial line 2.5.1; "
			    "expected 8, or framing: ascii)");
			pop_path(vc, old);
			return -1;
		}
		return 0;
	case MB_TCP:
		if (require_key(vc, item, "name", "plc2") == -1 ||
		    require_key(vc, item, "host", "192.0.2.10") == -1)
			return -1;
		if ((v = map_get(item, "host", NULL)) != NULL && v->len == 0) {
			old = push_key(vc, "host", 4);
			verr(vc, v, "an empty value (expected the slave's address "
			    "or host name, e.g. 192.0.2.10)");
			pop_path(vc, old);
			return -1;
		}
		return 0;
	case MB_ROUTES:
		if (require_key(vc, item, "units", "1-31") == -1 ||
		    require_key(vc, item, "channel", "line1") == -1)
			return -1;
		memcpy(&r, at, sizeof(r));
		return mb_route_post(vc, item, &r);
	case MB_RULES:
		return mb_rule_post(vc, item, at);
	case MB_TAGS:
		return mb_tag_post(vc, item, (const struct policy_tag *)
		    (const void *)at);
	case MB_COMMANDS:
		return mb_command_post(vc, item, at);
	case MB_MAP:
		if (require_key(vc, item, "table", "holding_registers") == -1 ||
		    require_key(vc, item, "address", "0") == -1 ||
		    require_key(vc, item, "tag", "boiler.temp") == -1)
			return -1;
		return 0;
	}
	return -1;
}

static const char *const list_examples[MB_NLISTS] = {
	[MB_SERIAL] = "name: line1", [MB_TCP] = "name: line1",
	[MB_ROUTES] = "units: 1-31", [MB_RULES] = "name: line1",
	[MB_TAGS] = "name: boiler.temp", [MB_COMMANDS] = "name: boiler",
	[MB_MAP] = "table: holding_registers",
};

static int
check_list(struct vctx *vc, const struct pnode *n, const struct field *f)
{
	char *saved = vc->base, *arr = vc->base + f->off, d[QBUF];
	size_t i, old;

	if (n->kind != PNODE_SEQ) {
		verr(vc, n, "%s is not a sequence (expected a sequence of "
		    "mappings, e.g. - %s)", describe(d, sizeof(d), n),
		    list_examples[f->list]);
		return -1;
	}
	if (n->n > f->max) {
		old = push_index(vc, f->max);
		verr(vc, n->kids[f->max], "more than %u entries (expected at "
		    "most %u)", f->max, f->max);
		pop_path(vc, old);
		return -1;
	}
	memset(saved + f->noff, 0, sizeof(size_t));
	/* A mapping's keys are unique, so each list is checked once. */
	free(vc->mb_items[f->list]);
	if ((vc->mb_items[f->list] = calloc(n->n ? n->n : 1,
	    sizeof(*vc->mb_items[f->list]))) == NULL) {
		set_err(vc->err, "%s: out of memory", n->file);
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		char *item = arr + i * f->size;
		int rc;

		memset(item, 0, f->size);
		if (set_defaults(vc->p, item, f->kids) == -1) {
			set_err(vc->err, "%s: out of memory", n->file);
			return -1;
		}
		old = push_index(vc, i);
		vc->base = item;
		rc = mb_item_pre(vc, n->kids[i], f->list);
		if (rc == 0)
			rc = check_map(vc, n->kids[i], f->kids, false);
		vc->base = saved;
		if (rc == -1 || mb_item_post(vc, n->kids[i], f->list,
		    item) == -1)
			return -1;
		pop_path(vc, old);
		vc->mb_items[f->list][i] = n->kids[i];
	}
	memcpy(saved + f->noff, &n->n, sizeof(size_t));
	return 0;
}

static int
check_value(struct vctx *vc, const struct pnode *n, const struct field *f)
{
	char *at = vc->base + f->off;
	uint32_t u;
	bool b;

	switch (f->type) {
	case FT_MAP:
		return check_map(vc, n, f->kids, false);
	case FT_BOOL:
		if (get_bool(vc, n, &b) == -1)
			return -1;
		store_bool(at, b);
		return 0;
	case FT_UINT:
		if (get_uint(vc, n, f->min, f->max, &u) == -1)
			return -1;
		store_uint(at, f->size, u);
		return 0;
	case FT_NAME:
	case FT_TEXT:
	case FT_HOST:
		return check_string_field(vc, n, f, at);
	case FT_MESSAGE: {
		char *s, *old;
		size_t chars = 0;

		if (get_string(vc, n, "printable text and newlines") == -1)
			return -1;
		/* Characters, not bytes: UTF-8 lead bytes. */
		for (size_t i = 0; i < n->len; i++)
			chars += ((unsigned char)n->text[i] & 0xc0) != 0x80;
		if (chars > f->max) {
			verr(vc, n, "%zu characters is too long (expected at most "
			    "%u)", chars, f->max);
			return -1;
		}
		/* The byte cap cannot bite: a character is at most 4 bytes. */
		if (check_text(vc, n, 4 * (size_t)f->max, true) == -1)
			return -1;
		if ((s = strdup(n->text)) == NULL) {
			set_err(vc->err, "%s: out of memory", n->file);
			return -1;
		}
		memcpy(&old, at, sizeof(old));
		free(old);
		memcpy(at, &s, sizeof(s));
		return 0;
	}
	case FT_ENUM:
		return check_enum(vc, n, f, at);
	case FT_FACILITY:
		return check_facility(vc, n, f, at);
	case FT_SERVICES:
		return check_services(vc, n);
	case FT_ENTRIES:
		return check_entries(vc, n);
	case FT_EVENTS:
		return check_events(vc, n);
	case FT_MANAGEMENT:
		return check_management(vc, n);
	case FT_ID:
	case FT_PATH:
		return check_string_field(vc, n, f, at);
	case FT_CHOICE:
		return check_choice(vc, n, f, at);
	case FT_INT: {
		int32_t i;

		if (get_int(vc, n, f->imin, f->imax, &i) == -1)
			return -1;
		memcpy(at, &i, sizeof(i));
		return 0;
	}
	case FT_LPORT:
		return check_lport(vc, n, at);
	case FT_UNITS:
		return check_units(vc, n, (uint8_t *)at);
	case FT_UNITMAP:
		return check_unitmap(vc, n, at);
	case FT_FUNCS:
		return check_funcs(vc, n, at);
	case FT_NETS:
		return check_nets(vc, n, at);
	case FT_RANGES:
		return check_ranges(vc, n, at);
	case FT_LIST:
		return check_list(vc, n, f);
	case FT_OPTID:
		return check_string_field(vc, n, f, at);
	case FT_REAL: {
		double r;

		if (get_real(vc, n, f->min, &r) == -1)
			return -1;
		memcpy(at, &r, sizeof(r));
		return 0;
	}
	case FT_NAMED:
		return check_named(vc, n, f, at);
	case FT_STATUS:
		return check_status(vc, n, at);
	case FT_CERT_NAMES:
		return check_cert_names(vc, n);
	}
	return -1;
}

/* A service's endpoint: services.<svc>.<endpoint>. */
struct svc_ep {
	unsigned svc, ep;
};

static bool
node_after(const struct pnode *x, const struct pnode *y)
{
	return x->line > y->line || (x->line == y->line && x->col > y->col);
}

/*
 * Enabled servers x and y share a port and transport.  Report at the
 * port written later (or the only one written), naming the other.
 */
static int
port_conflict(struct vctx *vc, struct svc_ep x, struct svc_ep y,
    unsigned common)
{
	const struct pnode *nx = vc->svc_port[x.svc][x.ep];
	const struct pnode *ny = vc->svc_port[y.svc][y.ep];
	const struct registry_service *sa, *so;
	struct svc_ep at = y, other = x;
	const struct pnode *an = ny, *on = nx;
	char where[320];

	if (nx != NULL && (ny == NULL || (strcmp(nx->file, ny->file) == 0 &&
	    node_after(nx, ny)))) {
		at = x;
		other = y;
		an = nx;
		on = ny;
	}
	sa = registry_get(at.svc);
	so = registry_get(other.svc);
	if (an == NULL) {
		/* Two registry defaults collide: a bug in registry.c. */
		set_err(vc->err, "%s: services: %s and %s both use %s port %u "
		    "by default", vc->p->source, sa->name, so->name,
		    registry_transport_name(common),
		    vc->p->services[at.svc].ports[at.ep]);
		return -1;
	}
	if (on == NULL)
		snprintf(where, sizeof(where), " by default");
	else if (strcmp(on->file, an->file) != 0)
		snprintf(where, sizeof(where), " at %s:%u", on->file, on->line);
	else
		snprintf(where, sizeof(where), " at line %u", on->line);
	snprintf(vc->path, sizeof(vc->path), "services.%s.%s", sa->name,
	    sa->endpoints[at.ep].key);
	verr(vc, an, "%s port %u is also used by services.%s.%s%s (expected a "
	    "port no other enabled service uses)",
	    registry_transport_name(common),
	    vc->p->services[at.svc].ports[at.ep], so->name,
	    so->endpoints[other.ep].key, where);
	return -1;
}

/* Two enabled servers cannot listen on one port and transport. */
static int
check_port_conflicts(struct vctx *vc)
{
	struct svc_ep eps[REGISTRY_COUNT * REGISTRY_MAX_ENDPOINTS];
	const struct policy *p = vc->p;
	size_t n = 0, k, l;
	unsigned i, e;

	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);

		if (s->role != REGISTRY_ROLE_SERVER || !p->services[i].enabled)
			continue;
		for (e = 0; e < s->n_endpoints; e++) {
			eps[n].svc = i;
			eps[n++].ep = e;
		}
	}
	for (k = 0; k < n; k++)
		for (l = k + 1; l < n; l++) {
			const struct registry_service *s = registry_get(eps[k].svc);
			const struct registry_service *t = registry_get(eps[l].svc);
			unsigned common = s->endpoints[eps[k].ep].transports &
			    t->endpoints[eps[l].ep].transports;

			if (common != 0 &&
			    p->services[eps[k].svc].ports[eps[k].ep] ==
			    p->services[eps[l].svc].ports[eps[l].ep])
				return port_conflict(vc, eps[k], eps[l], common);
		}
	return 0;
}

/* " at line N", or " at FILE:N" when b is in another file than a. */
static void
where_text(char *buf, size_t size, const struct pnode *a,
    const struct pnode *b)
{
	if (strcmp(a->file, b->file) != 0)
		snprintf(buf, size, " at %s:%u", b->file, b->line);
	else
		snprintf(buf, size, " at line %u", b->line);
}

static const char *const list_paths[MB_NLISTS] = {
	"modbus.serial_channels", "modbus.tcp_channels", "modbus.routes",
	"modbus.firewall.rules", "tags", "modbus.commands", "modbus.agent.map",
};

/* Channel names are unique across serial and TCP channels together. */
static int
mb_check_names(struct vctx *vc)
{
	const struct policy *p = vc->p;
	const struct pnode *x, *y;
	char where[320];
	size_t i, j, n = p->modbus.n_serial + p->modbus.n_tcp;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			size_t li = i < p->modbus.n_serial ? MB_SERIAL : MB_TCP;
			size_t lj = j < p->modbus.n_serial ? MB_SERIAL : MB_TCP;
			size_t ii = li == MB_SERIAL ? i : i - p->modbus.n_serial;
			size_t jj = lj == MB_SERIAL ? j : j - p->modbus.n_serial;
			const char *a = li == MB_SERIAL ?
			    p->modbus.serial[ii].name : p->modbus.tcp[ii].name;
			const char *b = lj == MB_SERIAL ?
			    p->modbus.serial[jj].name : p->modbus.tcp[jj].name;
			size_t lat = lj, iat = jj, loth = li, ioth = ii;

			if (strcmp(a, b) != 0)
				continue;
			x = map_get(vc->mb_items[li][ii], "name", NULL);
			y = map_get(vc->mb_items[lj][jj], "name", NULL);
			if (strcmp(x->file, y->file) == 0 && node_after(x, y)) {
				const struct pnode *t = x;

				x = y;
				y = t;
				lat = li, iat = ii, loth = lj, ioth = jj;
			}
			where_text(where, sizeof(where), y, x);
			snprintf(vc->path, sizeof(vc->path), "%s[%zu].name",
			    list_paths[lat], iat);
			verr(vc, y, "\"%s\" is also the name of %s[%zu]%s "
			    "(expected a name unique across all channels)", b,
			    list_paths[loth], ioth, where);
			return -1;
		}
	return 0;
}

/*
 * Item i of list (a route or a command) names channel: it must exist
 * and be one sluice is the master of.
 */
static int
mb_check_channel(struct vctx *vc, int list, size_t i, const char *channel)
{
	const struct policy *p = vc->p;
	const struct pnode *v = map_get(vc->mb_items[list][i], "channel", NULL);
	char names[512];
	size_t k, o = 0;

	names[0] = '\0';
	for (k = 0; k < p->modbus.n_serial; k++) {
		if (p->modbus.serial[k].role == POLICY_MODBUS_ROLE_MASTER)
			bprintf(names, sizeof(names), &o, "%s%s", o ? ", " : "",
			    p->modbus.serial[k].name);
		if (strcmp(p->modbus.serial[k].name, channel) != 0)
			continue;
		if (p->modbus.serial[k].role == POLICY_MODBUS_ROLE_SLAVE) {
			snprintf(vc->path, sizeof(vc->path), "%s[%zu].channel",
			    list_paths[list], i);
			verr(vc, v, "\"%s\" is a serial channel with role: slave, "
			    "where a serial master sends requests (expected a "
			    "channel sluice is master of: a serial channel with "
			    "role: master, or a TCP channel)", channel);
			return -1;
		}
		return 0;
	}
	for (k = 0; k < p->modbus.n_tcp; k++)
		if (strcmp(p->modbus.tcp[k].name, channel) == 0)
			return 0;
	for (k = 0; k < p->modbus.n_tcp; k++)
		bprintf(names, sizeof(names), &o, "%s%s", o ? ", " : "",
		    p->modbus.tcp[k].name);
	snprintf(vc->path, sizeof(vc->path), "%s[%zu].channel",
	    list_paths[list], i);
	verr(vc, v, "\"%s\" names no channel (expected the name of a "
	    "serial or TCP channel%s%s)", channel, o ? ": " : "; "
	    "none is defined", names);
	return -1;
}

/* A route's channel: exists, can take requests; broadcast only serial. */
static int
mb_check_route_channel(struct vctx *vc, size_t i)
{
	const struct policy_modbus_route *r = &vc->p->modbus.routes[i];
	const struct pnode *item = vc->mb_items[MB_ROUTES][i], *v;
	size_t k;

	if (mb_check_channel(vc, MB_ROUTES, i, r->channel) == -1)
		return -1;
	for (k = 0; k < vc->p->modbus.n_serial; k++)
		if (strcmp(vc->p->modbus.serial[k].name, r->channel) == 0)
			return 0;
	if (r->broadcast) {
		v = map_get(item, "broadcast", NULL);
		snprintf(vc->path, sizeof(vc->path), "modbus.routes[%zu].broadcast",
		    i);
		verr(vc, v, "true is not allowed for TCP channel \"%s\" "
		    "(broadcast is a serial line feature, serial line 2.1; "
		    "expected false)", r->channel);
		return -1;
	}
	return 0;
}

/* listen_port: any, or a port services.modbus-tcp listens on. */
static int
mb_check_listen_port(struct vctx *vc, size_t i)
{
	const struct registry_service *s = registry_get(REGISTRY_MODBUS_TCP);
	const struct policy_service *ps = &vc->p->services[REGISTRY_MODBUS_TCP];
	uint16_t port = vc->p->modbus.routes[i].listen_port;
	char list[256];
	size_t e, o = 0;

	if (port == 0)
		return 0;
	list[0] = '\0';
	for (e = 0; e < s->n_endpoints; e++) {
		if (ps->ports[e] == port)
			return 0;
		bprintf(list, sizeof(list), &o, ", %u (services.modbus-tcp.%s)",
		    ps->ports[e], s->endpoints[e].key);
	}
	snprintf(vc->path, sizeof(vc->path), "modbus.routes[%zu].listen_port",
	    i);
	verr(vc, map_get(vc->mb_items[MB_ROUTES][i], "listen_port", NULL),
	    "%u is not a port services.modbus-tcp listens on (expected any%s)",
	    port, list);
	return -1;
}

/* Within one listen_port, a unit goes to at most one route. */
static int
mb_check_overlaps(struct vctx *vc)
{
	const struct policy *p = vc->p;
	const struct pnode *x, *y;
	uint8_t both[32];
	char units[1024], where[320], lp[16];
	size_t i, j, k, at, other;
	bool any;

	for (i = 0; i < p->modbus.n_routes; i++)
		for (j = i + 1; j < p->modbus.n_routes; j++) {
			const struct policy_modbus_route *a = &p->modbus.routes[i];
			const struct policy_modbus_route *b = &p->modbus.routes[j];

			if (a->listen_port != b->listen_port)
				continue;
			for (k = 0, any = false; k < 32; k++) {
				both[k] = a->units[k] & b->units[k];
				any = any || both[k] != 0;
			}
			if (!any)
				continue;
			x = map_get(vc->mb_items[MB_ROUTES][i], "units", NULL);
			y = map_get(vc->mb_items[MB_ROUTES][j], "units", NULL);
			at = j;
			other = i;
			if (strcmp(x->file, y->file) == 0 && node_after(x, y)) {
				const struct pnode *t = x;

				x = y;
				y = t;
				at = i;
				other = j;
			}
			set_text(units, sizeof(units), both, 256, ", ");
			where_text(where, sizeof(where), y, x);
			if (a->listen_port == 0)
				snprintf(lp, sizeof(lp), "any");
			else
				snprintf(lp, sizeof(lp), "%u", a->listen_port);
			snprintf(vc->path, sizeof(vc->path),
			    "modbus.routes[%zu].units", at);
			verr(vc, y, "%s %s also routed by modbus.routes[%zu]%s "
			    "for listen_port %s (expected each unit routed once "
			    "per listening port)", units, strpbrk(units, ",-") ?
			    "are" : "is", other, where, lp);
			return -1;
		}
	return 0;
}

static int
mb_name_cmp(const void *a, const void *b)
{
	/* Both channel structs start with their name. */
	return strcmp((const char *)a, (const char *)b);
}

static int
mb_route_cmp(const void *a, const void *b)
{
	const struct policy_modbus_route *x = a, *y = b;
	int k;

	if (x->listen_port != y->listen_port)
		return x->listen_port < y->listen_port ? -1 : 1;
	/* The lowest unit: the highest byte-wise bitmap, low bits first. */
	for (k = 0; k < 256; k++)
		if (POLICY_MODBUS_UNIT_SET(x->units, k) !=
		    POLICY_MODBUS_UNIT_SET(y->units, k))
			return POLICY_MODBUS_UNIT_SET(x->units, k) ? -1 : 1;
	return 0;
}

/* Rule names are unique: events and counters name the rule. */
static int
mb_check_rule_names(struct vctx *vc)
{
	const struct policy *p = vc->p;
	const struct pnode *x, *y;
	char where[300];
	size_t i, j;

	for (i = 0; i < p->modbus.firewall.n_rules; i++)
		for (j = i + 1; j < p->modbus.firewall.n_rules; j++) {
			if (strcmp(p->modbus.firewall.rules[i].name,
			    p->modbus.firewall.rules[j].name) != 0)
				continue;
			x = map_get(vc->mb_items[MB_RULES][i], "name", NULL);
			y = map_get(vc->mb_items[MB_RULES][j], "name", NULL);
			where_text(where, sizeof(where), y, x);
			snprintf(vc->path, sizeof(vc->path),
			    "modbus.firewall.rules[%zu].name", j);
			verr(vc, y, "\"%s\" is also the name of "
			    "modbus.firewall.rules[%zu]%s (expected unique rule "
			    "names)", p->modbus.firewall.rules[j].name, i, where);
			return -1;
		}
	return 0;
}

/* ---- agent mode: names, references, layout ----------------------- */

/* A name, and the file-order index of the item that has it. */
struct name_ref {
	const char *name;
	size_t index;
};

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The names of n items stride bytes apart, each struct starting with its
 * name (first: the first's), sorted: lookups in log n, for the 10000
 * tags a map can name.  NULL when out of memory.
 */
static struct name_ref *
name_refs(struct vctx *vc, const char *first, size_t stride, size_t n)
{
	struct name_ref *r = malloc((n ? n : 1) * sizeof(*r));
	size_t i;

	if (r == NULL) {
		set_err(vc->err, "%s: out of memory", vc->p->source);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		r[i].name = first + i * stride;
		r[i].index = i;
	}
	qsort(r, n, sizeof(*r), name_ref_cmp);
	return r;
}

/* The file-order index of (the first item named) name, or SIZE_MAX. */
static size_t
name_find(const struct name_ref *r, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(name, r[mid].name) <= 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < n && strcmp(name, r[lo].name) == 0 ? r[lo].index :
	    SIZE_MAX;
}

/*
 * Names are unique within list.  Sorted, a repeat sits right after its
 * first use; of all repeats, report the one that comes first in the
 * file, naming the first use.
 */
static int
mb_check_unique(struct vctx *vc, int list, const struct name_ref *r,
    size_t n, const char *what)
{
	const struct pnode *x, *y;
	const char *name = NULL;
	char where[320];
	size_t k, head = 0, at = SIZE_MAX, first = 0;

	for (k = 1; k < n; k++) {
		if (strcmp(r[k].name, r[head].name) != 0) {
			head = k;
			continue;
		}
		if (k == head + 1 && r[k].index < at) {
			at = r[k].index;
			first = r[head].index;
			name = r[k].name;
		}
	}
	if (at == SIZE_MAX)
		return 0;
	x = map_get(vc->mb_items[list][first], "name", NULL);
	y = map_get(vc->mb_items[list][at], "name", NULL);
	where_text(where, sizeof(where), y, x);
	snprintf(vc->path, sizeof(vc->path), "%s[%zu].name", list_paths[list],
	    at);
	verr(vc, y, "\"%s\" is also the name of %s[%zu]%s (expected unique %s "
	    "names)", name, list_paths[list], first, where, what);
	return -1;
}

/*
 * What one item takes: bits or registers [first, end) of a command's
 * data (group: the command) or of a table of the agent's server (group:
 * the table).  index: the item in file order; SIZE_MAX for
 * modbus.agent.status.
 */
struct span {
	size_t group;
	uint32_t first, end;
	size_t index;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sorted by group and start, a span overlaps an earlier one exactly when
 * it starts before the furthest end seen so far in its group: n log n
 * for 10000 tags.  Returns whether two overlap, and which (*a, *b).
 */
static bool
span_overlap(struct span *s, size_t n, size_t *a, size_t *b)
{
	size_t i, far = 0;

	qsort(s, n, sizeof(*s), span_cmp);
	for (i = 1; i < n; i++) {
		if (s[i].group != s[far].group || s[i].first >= s[far].end) {
			far = i;
			continue;
		}
		*a = far;
		*b = i;
		return true;
	}
	return false;
}

/* "register 4" or "registers 4-5": the part two spans share. */
static void
span_common(char *buf, size_t size, const struct span *x,
    const struct span *y, const char *unit)
{
	uint32_t lo = x->first > y->first ? x->first : y->first;
	uint32_t hi = (x->end < y->end ? x->end : y->end) - 1;

	if (lo == hi)
		snprintf(buf, size, "%s %u", unit, lo);
	else
		snprintf(buf, size, "%ss %u-%u", unit, lo, hi);
}

/*
 * Tag i's command (write: its write_command): a command of the right
 * direction, whose data holds the tag at its at (write_at).  *sp is what
 * the tag takes there (sp->index SIZE_MAX: no command named).
 */
static int
mb_check_tag_ref(struct vctx *vc, const struct name_ref *cref, size_t i,
    bool write, struct span *sp)
{
	const struct policy *p = vc->p;
	const struct policy_tag *t = &p->tags[i];
	const struct pnode *item = vc->mb_items[MB_TAGS][i];
	const char *key = write ? "write_command" : "command";
	const char *atkey = write ? "write_at" : "at";
	const char *name = write ? t->write_command : t->command;
	const char *type = tag_type_name(t->type), *unit;
	const struct policy_modbus_command *c;
	size_t ci, size, have;
	unsigned at = write ? t->write_at : t->at;
	bool bits;

	sp->index = SIZE_MAX;
	if (name[0] == '\0')
		return 0;
	snprintf(vc->path, sizeof(vc->path), "%s[%zu]", list_paths[MB_TAGS], i);
	if ((ci = name_find(cref, p->modbus.n_commands, name)) == SIZE_MAX) {
		key_err(vc, item, key, "\"%s\" names no command (expected the "
		    "name of a command in modbus.commands%s)", name,
		    p->modbus.n_commands ? "" : "; none is defined");
		return -1;
	}
	c = &p->modbus.commands[ci];
	if (!write && !mb_fc_reads(c->function)) {
		key_err(vc, item, key, "\"%s\" is a write command (function "
		    "%u; expected a command that reads: function 1, 2, 3, 4 or "
		    "23)", name, c->function);
		return -1;
	}
	if (write && !mb_fc_writes(c->function)) {
		key_err(vc, item, key, "\"%s\" is a read command (function %u; "
		    "expected a command that writes: function 5, 6, 15, 16 or "
		    "23)", name, c->function);
		return -1;
	}
	bits = mb_fc_bits(c->function);
	if (bits && t->type != TAG_BOOL) {
		key_err(vc, item, map_get(item, "type", NULL) != NULL ? "type" :
		    key, "%s does not fit command \"%s\": function %u carries "
		    "bits (expected type: bool)", type, name, c->function);
		return -1;
	}
	size = bits ? 1 : tag_type_words((enum tag_type)t->type, t->length);
	have = write && c->function == 23 ? c->write_quantity : c->quantity;
	unit = bits ? "bit" : "register";
	if (size > have) {
		key_err(vc, item, key, "%s takes %zu %ss, but command \"%s\" "
		    "has %zu (expected a command with %s >= %zu)", type, size,
		    unit, name, have, write && c->function == 23 ?
		    "write_quantity" : "quantity", size);
		return -1;
	}
	if (at + size > have) {
		key_err(vc, item, atkey, "%u + %zu %s%s (%s) runs past the %zu "
		    "%ss of command \"%s\" (expected %s <= %zu)", at, size,
		    unit, size > 1 ? "s" : "", type, have, unit, name, atkey,
		    have - size);
		return -1;
	}
	sp->group = ci;
	sp->first = at;
	sp->end = at + (uint32_t)size;
	sp->index = i;
	return 0;
}

/* Two tags share part of a command's data: report at the later one. */
static int
mb_tag_overlap(struct vctx *vc, const struct span *x, const struct span *y,
    bool write)
{
	const struct policy *p = vc->p;
	const struct span *t;
	const struct pnode *item, *other;
	char what[64], where[320];

	if (x->index > y->index) {
		t = x;
		x = y;
		y = t;
	}
	span_common(what, sizeof(what), x, y,
	    mb_fc_bits(p->modbus.commands[y->group].function) ? "bit" :
	    "register");
	item = vc->mb_items[MB_TAGS][y->index];
	other = vc->mb_items[MB_TAGS][x->index];
	where_text(where, sizeof(where), item, other);
	snprintf(vc->path, sizeof(vc->path), "%s[%zu]", list_paths[MB_TAGS],
	    y->index);
	key_err(vc, item, map_get(item, write ? "write_at" : "at", NULL) ?
	    (write ? "write_at" : "at") : (write ? "write_command" : "command"),
	    "%s of command \"%s\" %s also %s by tags[%zu] (\"%s\")%s "
	    "(expected tags that do not overlap in a command)", what,
	    p->modbus.commands[y->group].name, strchr(what, '-') ? "are" :
	    "is", write ? "written" : "read", x->index, p->tags[x->index].name,
	    where);
	return -1;
}

/* Bits or registers modbus.agent.status takes: one bit per command. */
static size_t
mb_status_size(const struct policy *p)
{
	size_t n = p->modbus.n_commands ? p->modbus.n_commands : 1;

	if (p->modbus.agent.status.table <= POLICY_MB_DISCRETE_INPUTS)
		return n;
	return (n + 15) / 16;
}

/* The node and path of a span of the agent's map (or of its status). */
static const struct pnode *
mb_map_where(struct vctx *vc, const struct span *s, char *path, size_t size)
{
	const struct pnode *item, *st;

	if (s->index == SIZE_MAX) {
		snprintf(path, size, "modbus.agent.status");
		st = map_get(map_get(map_get(vc->root, "modbus", NULL), "agent",
		    NULL), "status", NULL);
		return st;
	}
	item = vc->mb_items[MB_MAP][s->index];
	snprintf(path, size, "%s[%zu].address", list_paths[MB_MAP], s->index);
	return map_get(item, "address", NULL);
}

/*
 * modbus.agent.map and status: each entry names a tag that fits its
 * table and the address space, and no two share an address of a table.
 */
static int
mb_check_map(struct vctx *vc, const struct name_ref *tref)
{
	const struct policy *p = vc->p;
	const struct span *x, *y, *t;
	const struct pnode *xn, *yn;
	struct span *sp;
	char what[64], where[320], other[128], path[64];
	size_t i, n = 0, a, b, size, ti;
	bool bits;

	if ((sp = malloc((p->modbus.agent.n_map + 1) * sizeof(*sp))) == NULL) {
		set_err(vc->err, "%s: out of memory", p->source);
		return -1;
	}
	for (i = 0; i < p->modbus.agent.n_map; i++) {
		const struct policy_modbus_map_entry *m =
		    &p->modbus.agent.map[i];
		const struct pnode *item = vc->mb_items[MB_MAP][i];

		snprintf(vc->path, sizeof(vc->path), "%s[%zu]",
		    list_paths[MB_MAP], i);
		if ((ti = name_find(tref, p->n_tags, m->tag)) == SIZE_MAX) {
			key_err(vc, item, "tag", "\"%s\" names no tag "
			    "(expected the name of an entry of tags%s)",
			    m->tag, p->n_tags ? "" : "; none is defined");
			goto fail;
		}
		bits = m->table <= POLICY_MB_DISCRETE_INPUTS;
		if (bits && p->tags[ti].type != TAG_BOOL) {
			key_err(vc, item, "tag", "tag \"%s\" is %s, but %s "
			    "hold bits (expected a bool tag, or table: %s)",
			    m->tag,
			    tag_type_name(p->tags[ti].type),
			    mb_table_names[m->table],
			    m->table == POLICY_MB_COILS ? "holding_registers" :
			    "input_registers");
			goto fail;
		}
		size = bits ? 1 : tag_type_words(
		    (enum tag_type)p->tags[ti].type, p->tags[ti].length);
		if (m->address + size > 65536) {
			key_err(vc, item, "address", "%u + %zu %s%s of tag "
			    "\"%s\" runs past address 65535 (expected address "
			    "<= %zu)", m->address, size, bits ? "bit" :
			    "register", size > 1 ? "s" : "", m->tag,
			    65536 - size);
			goto fail;
		}
		sp[n].group = m->table;
		sp[n].first = m->address;
		sp[n].end = m->address + (uint32_t)size;
		sp[n++].index = i;
	}
	if (p->modbus.agent.status.enabled) {
		const uint16_t addr = p->modbus.agent.status.address;
		const size_t nc = p->modbus.n_commands;

		size = mb_status_size(p);
		bits = p->modbus.agent.status.table <=
		    POLICY_MB_DISCRETE_INPUTS;
		if (addr + size > 65536) {
			sp[n].index = SIZE_MAX;
			xn = mb_map_where(vc, &sp[n], vc->path,
			    sizeof(vc->path));
			verr(vc, xn, "address %u + %zu %s%s for %zu command%s "
			    "runs past address 65535 (expected address <= "
			    "%zu)", addr, size, bits ? "bit" : "register",
			    size > 1 ? "s" : "", nc, nc == 1 ? "" : "s",
			    65536 - size);
			goto fail;
		}
		sp[n].group = p->modbus.agent.status.table;
		sp[n].first = addr;
		sp[n].end = addr + (uint32_t)size;
		sp[n++].index = SIZE_MAX;
	}
	if (!span_overlap(sp, n, &a, &b)) {
		free(sp);
		return 0;
	}
	/*
	 * Report at the one written later, naming the other; across files
	 * (a status from a base), at the map entry.
	 */
	x = &sp[a];
	y = &sp[b];
	xn = mb_map_where(vc, x, path, sizeof(path));
	yn = mb_map_where(vc, y, vc->path, sizeof(vc->path));
	if (strcmp(xn->file, yn->file) == 0 ? node_after(xn, yn) :
	    y->index == SIZE_MAX) {
		t = x;
		x = y;
		y = t;
		xn = mb_map_where(vc, x, path, sizeof(path));
		yn = mb_map_where(vc, y, vc->path, sizeof(vc->path));
	}
	span_common(what, sizeof(what), x, y,
	    x->group <= POLICY_MB_DISCRETE_INPUTS ? "bit" : "register");
	if (x->index == SIZE_MAX)
		snprintf(other, sizeof(other), "modbus.agent.status");
	else
		snprintf(other, sizeof(other), "%s[%zu] (tag \"%s\")",
		    list_paths[MB_MAP], x->index,
		    p->modbus.agent.map[x->index].tag);
	where_text(where, sizeof(where), yn, xn);
	verr(vc, yn, "%s of %s %s also used by %s%s (expected each address of "
	    "a table used once)", what, mb_table_names[y->group],
	    strchr(what, '-') ? "are" : "is", other, where);
fail:
	free(sp);
	return -1;
}

/*
 * Agent mode's lists, checked in any mode (a policy that loads is whole
 * even while it waits for mode: agent): unique names, commands on
 * channels sluice masters, tags that fit their commands without
 * sharing a bit or register, and a map that fits its tables.
 */
static int
mb_check_agent(struct vctx *vc)
{
	const struct policy *p = vc->p;
	struct name_ref *cref = NULL, *tref = NULL;
	struct span *rd = NULL, *wr = NULL;
	size_t i, nr = 0, nw = 0, a, b;
	int rc = -1;

	cref = name_refs(vc, p->modbus.commands[0].name,
	    sizeof(p->modbus.commands[0]), p->modbus.n_commands);
	tref = name_refs(vc, p->tags[0].name, sizeof(p->tags[0]), p->n_tags);
	rd = malloc((p->n_tags + 1) * sizeof(*rd));
	wr = malloc((p->n_tags + 1) * sizeof(*wr));
	if (cref == NULL || tref == NULL || rd == NULL || wr == NULL) {
		set_err(vc->err, "%s: out of memory", p->source);
		goto out;
	}
	if (mb_check_unique(vc, MB_COMMANDS, cref, p->modbus.n_commands,
	    "command") == -1 ||
	    mb_check_unique(vc, MB_TAGS, tref, p->n_tags, "tag") == -1)
		goto out;
	for (i = 0; i < p->modbus.n_commands; i++)
		if (mb_check_channel(vc, MB_COMMANDS, i,
		    p->modbus.commands[i].channel) == -1)
			goto out;
	for (i = 0; i < p->n_tags; i++) {
		if (mb_check_tag_ref(vc, cref, i, false, &rd[nr]) == -1 ||
		    mb_check_tag_ref(vc, cref, i, true, &wr[nw]) == -1)
			goto out;
		nr += rd[nr].index != SIZE_MAX;
		nw += wr[nw].index != SIZE_MAX;
	}
	if (span_overlap(rd, nr, &a, &b)) {
		mb_tag_overlap(vc, &rd[a], &rd[b], false);
		goto out;
	}
	if (span_overlap(wr, nw, &a, &b)) {
		mb_tag_overlap(vc, &wr[a], &wr[b], true);
		goto out;
	}
	rc = mb_check_map(vc, tref);
out:
	free(cref);
	free(tref);
	free(rd);
	free(wr);
	return rc;
}

static int
mb_map_cmp(const void *a, const void *b)
{
	const struct policy_modbus_map_entry *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return x->address < y->address ? -1 : x->address > y->address;
}

/* The channel named name (known to exist) as kind and index. */
static void
mb_resolve_channel(const struct policy *p, const char *name,
    enum policy_modbus_channel_kind *kind, unsigned *index)
{
	size_t k;

	for (k = 0; k < p->modbus.n_serial; k++)
		if (strcmp(p->modbus.serial[k].name, name) == 0) {
			*kind = POLICY_MODBUS_CHANNEL_SERIAL;
			*index = (unsigned)k;
		}
	for (k = 0; k < p->modbus.n_tcp; k++)
		if (strcmp(p->modbus.tcp[k].name, name) == 0) {
			*kind = POLICY_MODBUS_CHANNEL_TCP;
			*index = (unsigned)k;
		}
}

/*
 * Index of the item named name in n sorted structs of size bytes that
 * start with their names, or -1 ("" names none).
 */
static int32_t
mb_index_of(const void *base, size_t n, size_t size, const char *name)
{
	const char *hit;

	if (name[0] == '\0')
		return -1;
	hit = bsearch(name, base, n, size, mb_name_cmp);
	return hit == NULL ? -1 : (int32_t)((hit - (const char *)base) /
	    (ptrdiff_t)size);
}

/*
 * Checks across items, then the canonical order (the lists are sets:
 * sorted, two files that differ only in order are equal; firewall rules
 * keep theirs, first match wins), then the derived fields: channels,
 * commands and tags resolved to their indexes in the sorted lists.
 */
static int
check_modbus(struct vctx *vc)
{
	struct policy *p = vc->p;
	size_t i;

	if (mb_check_names(vc) == -1)
		return -1;
	for (i = 0; i < p->modbus.n_routes; i++)
		if (mb_check_route_channel(vc, i) == -1 ||
		    mb_check_listen_port(vc, i) == -1)
			return -1;
	if (mb_check_overlaps(vc) == -1 || mb_check_rule_names(vc) == -1 ||
	    mb_check_agent(vc) == -1)
		return -1;
	qsort(p->modbus.serial, p->modbus.n_serial, sizeof(p->modbus.serial[0]),
	    mb_name_cmp);
	qsort(p->modbus.tcp, p->modbus.n_tcp, sizeof(p->modbus.tcp[0]),
	    mb_name_cmp);
	qsort(p->modbus.routes, p->modbus.n_routes, sizeof(p->modbus.routes[0]),
	    mb_route_cmp);
	qsort(p->modbus.commands, p->modbus.n_commands,
	    sizeof(p->modbus.commands[0]), mb_name_cmp);
	qsort(p->tags, p->n_tags, sizeof(p->tags[0]), mb_name_cmp);
	qsort(p->modbus.agent.map, p->modbus.agent.n_map,
	    sizeof(p->modbus.agent.map[0]), mb_map_cmp);
	/* Derived fields, after sorting: indexes into the sorted lists. */
	for (i = 0; i < p->modbus.n_routes; i++)
		mb_resolve_channel(p, p->modbus.routes[i].channel,
		    &p->modbus.routes[i].channel_kind,
		    &p->modbus.routes[i].channel_index);
	for (i = 0; i < p->modbus.n_commands; i++)
		mb_resolve_channel(p, p->modbus.commands[i].channel,
		    &p->modbus.commands[i].channel_kind,
		    &p->modbus.commands[i].channel_index);
	for (i = 0; i < p->n_tags; i++) {
		struct policy_tag *t = &p->tags[i];

		t->command_index = mb_index_of(p->modbus.commands,
		    p->modbus.n_commands, sizeof(p->modbus.commands[0]),
		    t->command);
		t->write_command_index = mb_index_of(p->modbus.commands,
		    p->modbus.n_commands, sizeof(p->modbus.commands[0]),
		    t->write_command);
	}
	for (i = 0; i < p->modbus.agent.n_map; i++)
		p->modbus.agent.map[i].tag_index = mb_index_of(p->tags,
		    p->n_tags, sizeof(p->tags[0]), p->modbus.agent.map[i].tag);
	return 0;
}

static void add_warning(struct policy *, const struct pnode *, const char *,
    ...) FMT(3, 4);

static void
add_warning(struct policy *p, const struct pnode *at, const char *fmt, ...)
{
	char *w;
	va_list ap;
	int n = 0;

	if (p->n_warnings == POLICY_MAX_WARNINGS)
		return;
	w = p->warnings[p->n_warnings++];
	if (at != NULL)
		n = snprintf(w, sizeof(p->warnings[0]), "%s:%u:%u: ", at->file,
		    at->line, at->col);
	if (n < 0 || (size_t)n >= sizeof(p->warnings[0]))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(w + n, sizeof(p->warnings[0]) - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * A session ends at its lifetime however busy it is, so an idle timeout
 * beyond the lifetime could never fire: it is a mistake, not a choice.
 * Report at the key the loaded file itself wrote, if it wrote one.
 */
static int
check_console(struct vctx *vc)
{
	static const unsigned rsa_bits[] = {
		[POLICY_CERT_RSA_2048] = 2048, [POLICY_CERT_RSA_3072] = 3072,
		[POLICY_CERT_RSA_4096] = 4096,
	};
	const struct policy *p = vc->p;
	const struct pnode *con, *life, *idle;

	/* A CA's certificate for a CSR of this key could not be imported. */
	if (p->certificates.key != POLICY_CERT_EC_P256 &&
	    rsa_bits[p->certificates.key] < p->certificates.min_rsa_bits) {
		snprintf(vc->path, sizeof(vc->path), "certificates.key");
		verr(vc, map_get(map_get(vc->root, "certificates", NULL), "key",
		    NULL), "an RSA key of %u bits is smaller than "
		    "certificates.min_rsa_bits (%u): certificates for it could "
		    "not be imported (expected a larger key or ec-p256)",
		    rsa_bits[p->certificates.key],
		    (unsigned)p->certificates.min_rsa_bits);
		return -1;
	}
	if (p->console.session_lifetime_s >= p->console.session_idle_s)
		return 0;
	con = map_get(vc->root, "console", NULL);
	life = map_get(con, "session_lifetime", NULL);
	idle = map_get(con, "session_idle_timeout", NULL);
	if (life == NULL && idle == NULL) {
		/* The defaults satisfy the rule: a bug in the field table. */
		set_err(vc->err, "%s: console: the default session_lifetime "
		    "is shorter than the default session_idle_timeout",
		    p->source);
		return -1;
	}
	if (life != NULL && (idle == NULL ||
	    strcmp(life->file, p->source) == 0 ||
	    strcmp(idle->file, p->source) != 0)) {
		snprintf(vc->path, sizeof(vc->path), "console.session_lifetime");
		verr(vc, life, "%u s is shorter than "
		    "console.session_idle_timeout (%u s) (expected "
		    "session_lifetime >= session_idle_timeout)",
		    p->console.session_lifetime_s, p->console.session_idle_s);
	} else {
		snprintf(vc->path, sizeof(vc->path),
		    "console.session_idle_timeout");
		verr(vc, idle, "%u s is longer than console.session_lifetime "
		    "(%u s) (expected session_idle_timeout <= "
		    "session_lifetime)", p->console.session_idle_s,
		    p->console.session_lifetime_s);
	}
	return -1;
}

static int
check_policy(struct vctx *vc)
{
	struct policy *p = vc->p;
	const struct pnode *acl, *n, *mb;
	size_t i;

	if (check_map(vc, vc->root, top_fields, true) == -1)
		return -1;
	/* Guide 3.4: the checkbox "can only be activated if" the list is. */
	if (p->accessible_ip.apply_additional_restrictions &&
	    !p->accessible_ip.activate) {
		acl = map_get(vc->root, "accessible_ip", NULL);
		n = map_get(acl, "apply_additional_restrictions", NULL);
		snprintf(vc->path, sizeof(vc->path),
		    "accessible_ip.apply_additional_restrictions");
		if (n != NULL)
			verr(vc, n, "can only be activated if "
			    "accessible_ip.activate is true (guide 3.4; "
			    "expected false, or activate: true)");
		return -1;
	}
	if (check_console(vc) == -1)
		return -1;
	if (check_port_conflicts(vc) == -1)
		return -1;
	if (check_modbus(vc) == -1)
		return -1;

	if (p->services[REGISTRY_SYSLOG_CLIENT].enabled &&
	    p->logging.syslog.server[0] == '\0')
		add_warning(p, vc->svc_enabled[REGISTRY_SYSLOG_CLIENT],
		    "services.syslog-client: enabled, but "
		    "logging.syslog.server is empty: no events are sent to "
		    "syslog");
	if (p->services[REGISTRY_HTTP].enabled)
		add_warning(p, vc->svc_enabled[REGISTRY_HTTP], "services.http: "
		    "enabled: a clear-text port (it redirects to https; guide "
		    "3.1: disable it and use https)");
	/* Guide 3.2: HTTPS; with http off nothing is served at all. */
	if (p->console.serve_over_http && p->services[REGISTRY_HTTP].enabled)
		add_warning(p, map_get(map_get(vc->root, "console", NULL),
		    "serve_over_http", NULL), "console.serve_over_http: the "
		    "console is served in clear text on port %u (guide 3.2: "
		    "use HTTPS)", p->services[REGISTRY_HTTP].ports[0]);
	if (p->services[REGISTRY_TELNET].enabled)
		add_warning(p, vc->svc_enabled[REGISTRY_TELNET],
		    "services.telnet: enabled: a console in clear text "
		    "(guide 3.1: disable it)");
	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);

		if (p->services[i].enabled && s->role == REGISTRY_ROLE_SERVER &&
		    !s->implemented)
			add_warning(p, vc->svc_enabled[i], "services.%s: "
			    "enabled, but this build does not implement it "
			    "yet; its port stays closed", s->name);
	}
	mb = map_get(vc->root, "modbus", NULL);
	if (p->modbus.n_routes > 0 && p->modbus.mode == POLICY_MODBUS_AGENT)
		add_warning(p, map_get(mb, "routes", NULL), "modbus.routes: "
		    "set, but routes are not used in agent mode");
	else if (p->modbus.n_routes > 0 &&
	    !p->services[REGISTRY_MODBUS_TCP].enabled)
		add_warning(p, map_get(mb, "routes", NULL), "modbus.routes: "
		    "set, but services.modbus-tcp is disabled: no master can "
		    "reach them");
	if (p->modbus.n_commands > 0 &&
	    p->modbus.mode == POLICY_MODBUS_TRANSPARENT)
		add_warning(p, map_get(mb, "commands", NULL),
		    "modbus.commands: set, but commands only run in agent mode "
		    "(modbus.mode is transparent)");
	if (p->modbus.agent.n_map > 0 &&
	    p->modbus.mode == POLICY_MODBUS_AGENT &&
	    !p->services[REGISTRY_MODBUS_TCP].enabled)
		add_warning(p, map_get(map_get(mb, "agent", NULL), "map", NULL),
		    "modbus.agent.map: set, but services.modbus-tcp is "
		    "disabled: no client can read it");
	for (i = 0; i < p->modbus.n_serial; i++)
		if (p->modbus.serial[i].parity == POLICY_MODBUS_PARITY_NONE &&
		    p->modbus.serial[i].stop_bits == 1)
			add_warning(p, map_get(map_get(vc->root, "modbus",
			    NULL), "serial_channels", NULL),
			    "modbus.serial_channels"
			    "[%s]: parity none with 1 stop bit: the serial "
			    "line spec (2.5.1) asks for 2 stop bits without "
			    "parity; some devices will not answer",
			    p->modbus.serial[i].name);
	if (p->accessible_ip.activate) {
		for (i = 0; i < p->accessible_ip.n_entries; i++)
			if (p->accessible_ip.entries[i].active)
				break;
		if (i == p->accessible_ip.n_entries)
			add_warning(p, NULL, "accessible_ip: activated, but no "
			    "entry is active: every host is refused protocol "
			    "access (guide 3.4)");
	}
	return 0;
}

static struct policy *
policy_new(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (set_defaults(p, (char *)p, top_fields) == -1) {
		policy_free(p);		/* the messages set so far */
		return NULL;
	}
	return p;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->accessible_ip.entries);
	free(p->login_message);
	free(p->console.login_failure_message);
	free(p);
}

/*
 * Load the tree of (name, buf) with its bases and check it.  link, when
 * set, identifies the top file for cycle detection.
 */
static struct policy *
load_policy(const char *name, const char *buf, size_t len, const char *dir,
    const struct chain_link *link, struct policy_error *err)
{
	struct policy_error dummy;
	struct load ld;
	struct vctx vc;
	struct pnode *tree;
	struct policy *p = NULL;
	size_t i;

	if (err == NULL)
		err = &dummy;
	err->msg[0] = '\0';
	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	if (link != NULL)
		ld.chain[0] = *link;
	if ((ld.chain[0].name = load_keep_name(&ld, name)) == NULL) {
		set_err(err, "%s: out of memory", name);
		return NULL;
	}
	if ((tree = load_tree(&ld, ld.chain[0].name, buf, len, dir, 0)) == NULL)
		goto out;
	if ((p = policy_new()) == NULL) {
		set_err(err, "%s: out of memory", name);
		goto out;
	}
	snprintf(p->source, sizeof(p->source), "%s", name);
	memset(&vc, 0, sizeof(vc));
	vc.p = p;
	vc.base = (char *)p;
	vc.err = err;
	vc.root = tree;
	if (check_policy(&vc) == -1) {
		policy_free(p);
		p = NULL;
	}
	for (i = 0; i < MB_NLISTS; i++)
		free(vc.mb_items[i]);
out:
	node_free(tree);
	load_release(&ld);
	return p;
}

struct policy *
policy_load_file(const char *path, struct policy_error *err)
{
	struct policy_error dummy;
	struct chain_link link;
	struct load ld;
	struct policy *p;
	struct stat st;
	char dir[PATH_MAX], *buf;
	size_t len;

	if (err == NULL)
		err = &dummy;
	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	if (read_file(&ld, path, NULL, &buf, &len, &st) == -1)
		return NULL;
	memset(&link, 0, sizeof(link));
	link.dev = st.st_dev;
	link.ino = st.st_ino;
	dir_of(dir, sizeof(dir), path);
	p = load_policy(path, buf, len, dir, &link, err);
	free(buf);
	return p;
}

struct policy *
policy_load_buffer(const char *name, const char *buf, size_t len,
    const char *basedir, struct policy_error *err)
{
	struct chain_link link;

	/* A buffer has no identity on disk; -1 never matches a file. */
	memset(&link, 0, sizeof(link));
	link.embedded = -1;
	return load_policy(name, buf, len, basedir, &link, err);
}

struct policy *
policy_load_default(struct policy_error *err)
{
	struct policy *p;

	p = policy_load_buffer("<embedded>", policy_default_yaml,
	    strlen(policy_default_yaml), NULL, err);
	return p;
}

/* ------------------------------------------------------------------ */
/* Output: one walk, three consumers                                   */
/* ------------------------------------------------------------------ */

enum { EM_MAP, EM_SEQ };

struct emitter {
	void (*begin)(struct emitter *, const char *key, int kind, size_t n);
	/*
	 * The next item of a sequence, named by label in flattened paths.
	 * With key, YAML shows "- key: label"; without, the item's first
	 * leaf follows the dash.
	 */
	void (*item)(struct emitter *, const char *key, const char *label);
	void (*leaf)(struct emitter *, const char *key, const char *value);
	void (*end)(struct emitter *, int kind);
	bool failed;
};

/*
 * A YAML double-quoted scalar (YAML 1.2 section 7.3.1).  Returns a new
 * string or NULL.
 */
static char *
yaml_quote(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i, o = 0;
	char *q = malloc(len * 4 + 3);

	if (q == NULL)
		return NULL;
	q[o++] = '"';
	for (i = 0; i < len; i++) {
		if (u[i] == '"' || u[i] == '\\') {
			q[o++] = '\\';
			q[o++] = (char)u[i];
		} else if (u[i] == '\n') {
			q[o++] = '\\';
			q[o++] = 'n';
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			o += (size_t)snprintf(q + o, 5, "\\x%02x", u[i]);
		} else if (u[i] == 0xc2 && i + 1 < len && u[i + 1] == 0x85) {
			q[o++] = '\\';
			q[o++] = 'N';
			i++;
		} else if (u[i] == 0xe2 && i + 2 < len && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			q[o++] = '\\';
			q[o++] = u[i + 2] == 0xa8 ? 'L' : 'P';
			i += 2;
		} else
			q[o++] = (char)u[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

static void
emit_string(struct emitter *e, const char *key, const char *s)
{
	char *q = yaml_quote(s);

	if (q == NULL) {
		e->failed = true;
		return;
	}
	e->leaf(e, key, q);
	free(q);
}

static void
sinks_text(char *buf, size_t size, uint8_t bits)
{
	snprintf(buf, size, "[%s%s%s]", bits & EVENTLOG_SINK_LOCAL ? "local" :
	    "", (bits & EVENTLOG_SINK_LOCAL) && (bits & EVENTLOG_SINK_SYSLOG) ?
	    ", " : "", bits & EVENTLOG_SINK_SYSLOG ? "syslog" : "");
}

static void
emit_special(struct emitter *e, const struct policy *p, const struct field *f)
{
	char v[64];
	size_t i, k;

	switch (f->type) {
	case FT_SERVICES:
		e->begin(e, f->key, EM_MAP, 0);
		for (i = 0; i < REGISTRY_COUNT; i++) {
			const struct registry_service *s = registry_get(i);

			e->begin(e, s->name, EM_MAP, 0);
			e->leaf(e, "enabled", p->services[i].enabled ? "true" :
			    "false");
			for (k = 0; k < s->n_endpoints; k++) {
				snprintf(v, sizeof(v), "%u",
				    p->services[i].ports[k]);
				e->leaf(e, s->endpoints[k].key, v);
			}
			e->end(e, EM_MAP);
		}
		e->end(e, EM_MAP);
		break;
	case FT_ENTRIES:
		e->begin(e, f->key, EM_SEQ, p->accessible_ip.n_entries);
		for (i = 0; i < p->accessible_ip.n_entries; i++) {
			const struct policy_acl_entry *a =
			    &p->accessible_ip.entries[i];

			acl_format(v, sizeof(v), a);
			e->item(e, "address", v);
			e->leaf(e, "active", a->active ? "true" : "false");
			emit_string(e, "comment", a->comment);
		}
		e->end(e, EM_SEQ);
		break;
	case FT_EVENTS:
		e->begin(e, f->key, EM_MAP, 0);
		for (i = 0; i < EVENTLOG_TYPE_COUNT; i++) {
			sinks_text(v, sizeof(v), p->logging.events[i]);
			e->leaf(e, eventlog_type_info(i)->name, v);
		}
		e->end(e, EM_MAP);
		break;
	case FT_CERT_NAMES: {
		/* One leaf too; names need no escaping (check_cert_names). */
		char buf[POLICY_MAX_CERT_NAMES * (POLICY_CERT_NAME_MAX + 4) + 4];
		size_t o = 0;

		buf[o++] = '[';
		for (i = 0; i < p->certificates.n_names; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "%s\"%s\"", i ? ", " : "",
			    p->certificates.names[i]);
		snprintf(buf + o, sizeof(buf) - o, "]");
		e->leaf(e, f->key, buf);
		break;
	}
	case FT_MANAGEMENT: {
		/* A flow sequence: one leaf, so a diff shows the whole list. */
		char buf[POLICY_MAX_MANAGEMENT * 48 + 4];
		size_t o = 0;

		buf[o++] = '[';
		for (i = 0; i < p->firewall.n_management; i++) {
			acl_format(v, sizeof(v), &p->firewall.management[i]);
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "%s\"%s\"", i ? ", " : "", v);
		}
		snprintf(buf + o, sizeof(buf) - o, "]");
		e->leaf(e, f->key, buf);
		break;
	}
	default:
		break;
	}
}

static void emit_fields(struct emitter *, const struct policy *, const char *,
    const struct field *);

/*
 * A list item's name in flattened paths: its name, units@port for a
 * route, table:address for an entry of the agent's map.
 */
static void
item_label(char *buf, size_t size, const struct field *f, const char *item)
{
	struct policy_modbus_route r;
	struct policy_modbus_map_entry m;

	if (f->list == MB_MAP) {
		memcpy(&m, item, sizeof(m));
		snprintf(buf, size, "%s:%u", mb_table_names[m.table],
		    m.address);
		return;
	}
	if (f->list != MB_ROUTES) {
		snprintf(buf, size, "%s", item);	/* name comes first */
		return;
	}
	memcpy(&r, item, sizeof(r));
	set_text(buf, size, r.units, 256, ",");
	if (r.listen_port == 0)
		snprintf(buf + strlen(buf), size - strlen(buf), "@any");
	else
		snprintf(buf + strlen(buf), size - strlen(buf), "@%u",
		    r.listen_port);
}

static void
emit_modbus(struct emitter *e, const struct policy *p, const char *at,
    const struct field *f)
{
	struct policy_modbus_route r;
	char v[1400];
	size_t i, n, o;
	int32_t k;
	uint16_t port;

	switch (f->type) {
	case FT_INT:
		memcpy(&k, at, sizeof(k));
		snprintf(v, sizeof(v), "%d", k);
		e->leaf(e, f->key, v);
		break;
	case FT_LPORT:
		memcpy(&port, at, sizeof(port));
		if (port == 0)
			snprintf(v, sizeof(v), "any");
		else
			snprintf(v, sizeof(v), "%u", port);
		e->leaf(e, f->key, v);
		break;
	case FT_UNITS:
		v[0] = '[';
		set_text(v + 1, sizeof(v) - 2, (const uint8_t *)at, 256, ", ");
		strcat(v, "]");
		e->leaf(e, f->key, v);
		break;
	case FT_UNITMAP:
		memcpy(&r.map, at, sizeof(r.map));
		o = 0;
		bprintf(v, sizeof(v), &o, "{");
		for (i = 1, n = 0; i < 256; i++)
			if (POLICY_MODBUS_UNIT_SET(r.map.mapped, i))
				bprintf(v, sizeof(v), &o, "%s%zu: %u",
				    n++ ? ", " : "", i, r.map.to[i]);
		bprintf(v, sizeof(v), &o, "}");
		e->leaf(e, f->key, v);
		break;
	case FT_FUNCS:
		memcpy(&r.functions, at, sizeof(r.functions));
		if (r.functions.mode == POLICY_MODBUS_FUNC_ALL)
			snprintf(v, sizeof(v), "all");
		else if (r.functions.mode == POLICY_MODBUS_FUNC_READ_ONLY)
			snprintf(v, sizeof(v), "read-only");
		else if (r.functions.mode == POLICY_MODBUS_FUNC_READ_WRITE)
			snprintf(v, sizeof(v), "read-write");
		else {
			/* Codes are listed one by one, never as ranges. */
			o = 0;
			bprintf(v, sizeof(v), &o, "[");
			for (i = 1, n = 0; i < 128; i++)
				if (POLICY_MODBUS_UNIT_SET(r.functions.codes, i))
					bprintf(v, sizeof(v), &o, "%s%zu",
					    n++ ? ", " : "", i);
			bprintf(v, sizeof(v), &o, "]");
		}
		e->leaf(e, f->key, v);
		break;
	case FT_NETS: {
		struct policy_modbus_rule rule;
		char a[INET6_ADDRSTRLEN];

		memcpy((char *)&rule + offsetof(struct policy_modbus_rule,
		    n_from), at, f->size);
		if (rule.n_from == 0)
			snprintf(v, sizeof(v), "any");
		else {
			o = 0;
			bprintf(v, sizeof(v), &o, "[");
			for (i = 0; i < rule.n_from; i++) {
				inet_ntop(rule.from[i].family, rule.from[i].addr,
				    a, sizeof(a));
				bprintf(v, sizeof(v), &o, "%s%s%s/%u",
				    i ? ", " : "", rule.from[i].family ==
				    AF_INET6 ? "\"" : "", a, rule.from[i].prefix);
				if (rule.from[i].family == AF_INET6)
					bprintf(v, sizeof(v), &o, "\"");
			}
			bprintf(v, sizeof(v), &o, "]");
		}
		e->leaf(e, f->key, v);
		break;
	}
	case FT_RANGES: {
		struct policy_mbfw_ranges rg;

		memcpy(&rg, at, sizeof(rg));
		if (rg.n == 0)
			snprintf(v, sizeof(v), "any");
		else {
			o = 0;
			bprintf(v, sizeof(v), &o, "[");
			for (i = 0; i < rg.n; i++)
				if (rg.r[i].first == rg.r[i].last)
					bprintf(v, sizeof(v), &o, "%s%u",
					    i ? ", " : "", rg.r[i].first);
				else
					bprintf(v, sizeof(v), &o, "%s%u-%u",
					    i ? ", " : "", rg.r[i].first,
					    rg.r[i].last);
			bprintf(v, sizeof(v), &o, "]");
		}
		e->leaf(e, f->key, v);
		break;
	}
	case FT_LIST:
		memcpy(&n, at - f->off + f->noff, sizeof(n));
		e->begin(e, f->key, EM_SEQ, n);
		for (i = 0; i < n; i++) {
			const char *item = at + i * f->size;

			item_label(v, sizeof(v), f, item);
			e->item(e, NULL, v);
			emit_fields(e, p, item, f->kids);
		}
		e->end(e, EM_SEQ);
		break;
	default:
		break;
	}
}

/*
 * The shortest decimal that reads back as v (finite, normal or 0), in
 * plain notation for magnitudes 1e-5 to 1e17 (0.1, -40, 1e-07, 1e+20):
 * what get_real() accepts.
 */
static void
real_text(char *buf, size_t size, double v)
{
	char e[48];
	int prec, x;

	for (prec = 1; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", prec - 1, v);
	x = atoi(strchr(e, 'e') + 1);
	if (x >= -5 && x < 17)
		snprintf(buf, size, "%.*f", prec - 1 - x > 0 ? prec - 1 - x : 0,
		    v);
	else
		snprintf(buf, size, "%s", e);
}

static void
emit_agent(struct emitter *e, const char *at, const struct field *f)
{
	__typeof__(((struct policy *)0)->modbus.agent.status) st;
	char v[64];
	double r;

	switch (f->type) {
	case FT_REAL:
		memcpy(&r, at, sizeof(r));
		real_text(v, sizeof(v), r);
		e->leaf(e, f->key, v);
		break;
	case FT_NAMED:
		e->leaf(e, f->key, f->name_of(load_uint(at, f->size)));
		break;
	case FT_STATUS:
		/* A flow mapping: one leaf, like firewall.management. */
		memcpy(&st, at, sizeof(st));
		if (!st.enabled)
			snprintf(v, sizeof(v), "none");
		else
			snprintf(v, sizeof(v), "{table: %s, address: %u}",
			    mb_table_names[st.table], st.address);
		e->leaf(e, f->key, v);
		break;
	default:
		break;
	}
}

/* A name that YAML would read as a number (tls 1.2) is quoted. */
static void
emit_enum(struct emitter *e, const struct field *f, uint32_t v)
{
	const char *name = "?";		/* not reached: v is checked */
	size_t i;

	for (i = 0; f->names[i] != NULL; i++)
		if ((f->vals ? f->vals[i] : i) == v) {
			name = f->names[i];
			break;
		}
	if (name[0] >= '0' && name[0] <= '9')
		emit_string(e, f->key, name);
	else
		e->leaf(e, f->key, name);
}

static void
emit_fields(struct emitter *e, const struct policy *p, const char *base,
    const struct field *fields)
{
	const struct field *f;
	char v[32];

	for (f = fields; f->key != NULL; f++) {
		const char *at = base + f->off;
		uint32_t u;

		switch (f->type) {
		case FT_MAP:
			e->begin(e, f->key, EM_MAP, 0);
			emit_fields(e, p, base, f->kids);
			e->end(e, EM_MAP);
			break;
		case FT_BOOL:
			e->leaf(e, f->key, load_bool(at) ? "true" : "false");
			break;
		case FT_UINT:
		case FT_CHOICE:
			snprintf(v, sizeof(v), "%u", load_uint(at, f->size));
			e->leaf(e, f->key, v);
			break;
		case FT_NAME:
		case FT_TEXT:
		case FT_HOST:
		case FT_ID:
		case FT_PATH:
		case FT_OPTID:
			emit_string(e, f->key, at);
			break;
		case FT_REAL:
		case FT_NAMED:
		case FT_STATUS:
			emit_agent(e, at, f);
			break;
		case FT_INT:
		case FT_LPORT:
		case FT_UNITS:
		case FT_UNITMAP:
		case FT_FUNCS:
		case FT_NETS:
		case FT_RANGES:
		case FT_LIST:
			emit_modbus(e, p, at, f);
			break;
		case FT_MESSAGE: {
			const char *m;

			memcpy(&m, at, sizeof(m));
			emit_string(e, f->key, m);
			break;
		}
		case FT_ENUM:
			emit_enum(e, f, load_uint(at, f->size));
			break;
		case FT_FACILITY:
			u = load_uint(at, f->size);
			if (u < 24 && facility_names[u] != NULL)
				e->leaf(e, f->key, facility_names[u]);
			else {
				snprintf(v, sizeof(v), "%u", u);
				e->leaf(e, f->key, v);
			}
			break;
		default:
			emit_special(e, p, f);
			break;
		}
	}
}

/* Growing output buffer; a failed append sticks. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sbuf_printf(struct sbuf *, const char *, ...) FMT(2, 3);

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0,
	    fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (b->s == NULL || b->len + (size_t)n >= b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *s;

		while (cap <= b->len + (size_t)n)
			cap *= 2;
		if ((s = realloc(b->s, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

struct yaml_out {
	struct emitter e;	/* first: the callbacks cast back */
	struct sbuf b;
	unsigned level;
	bool in_item;
	bool dash;		/* the next line starts an item: "- " */
	size_t seq_n;
};

/* Indentation, or "- " in its last two columns for an item's first key. */
static void
yo_indent(struct yaml_out *y)
{
	if (y->dash && y->level > 0) {
		sbuf_printf(&y->b, "%*s- ", (int)(y->level - 1) * 2, "");
		y->dash = false;
	} else
		sbuf_printf(&y->b, "%*s", (int)y->level * 2, "");
}

static void
yo_begin(struct emitter *e, const char *key, int kind, size_t n)
{
	struct yaml_out *y = (struct yaml_out *)(void *)e;

	yo_indent(y);
	if (kind == EM_SEQ && n == 0) {
		sbuf_printf(&y->b, "%s: []\n", key);
		y->seq_n = 0;
		return;
	}
	sbuf_printf(&y->b, "%s:\n", key);
	y->seq_n = n;
	y->level++;
}

static void
yo_item(struct emitter *e, const char *key, const char *label)
{
	struct yaml_out *y = (struct yaml_out *)(void *)e;

	if (y->in_item)
		y->level--;
	if (key != NULL)
		sbuf_printf(&y->b, "%*s- %s: \"%s\"\n", (int)y->level * 2, "",
		    key, label);
	else
		y->dash = true;
	y->level++;
	y->in_item = true;
}

static void
yo_leaf(struct emitter *e, const char *key, const char *value)
{
	struct yaml_out *y = (struct yaml_out *)(void *)e;

	yo_indent(y);
	sbuf_printf(&y->b, "%s: %s\n", key, value);
}

static void
yo_end(struct emitter *e, int kind)
{
	struct yaml_out *y = (struct yaml_out *)(void *)e;

	if (kind == EM_SEQ) {
		if (y->in_item)
			y->level--;
		y->in_item = false;
		if (y->seq_n == 0)
			return;
	}
	y->level--;
}

char *
policy_to_yaml(const struct policy *p)
{
	struct yaml_out y;

	memset(&y, 0, sizeof(y));
	y.e.begin = yo_begin;
	y.e.item = yo_item;
	y.e.leaf = yo_leaf;
	y.e.end = yo_end;
	emit_fields(&y.e, p, (const char *)p, top_fields);
	if (y.e.failed || y.b.failed || y.b.s == NULL) {
		free(y.b.s);
		errno = ENOMEM;
		return NULL;
	}
	return y.b.s;
}

struct flat_out {
	struct emitter e;	/* first: the callbacks cast back */
	char path[512];
	size_t stack[POLICY_MAX_DEPTH + 2];
	unsigned depth;
	bool in_item;
	void (*fn)(const char *, const char *, void *);
	void *arg;
};

static void
fo_push(struct flat_out *f, const char *key)
{
	size_t o = strlen(f->path);

	if (f->depth < sizeof(f->stack) / sizeof(f->stack[0]))
		f->stack[f->depth++] = o;
	snprintf(f->path + o, sizeof(f->path) - o, "%s%s", o ? "." : "", key);
}

static void
fo_pop(struct flat_out *f)
{
	if (f->depth > 0)
		f->path[f->stack[--f->depth]] = '\0';
}

static void
fo_begin(struct emitter *e, const char *key, int kind, size_t n)
{
	fo_push((struct flat_out *)(void *)e, key);
}

static void
fo_item(struct emitter *e, const char *key, const char *label)
{
	struct flat_out *f = (struct flat_out *)(void *)e;
	size_t o;

	if (f->in_item)
		fo_pop(f);
	o = strlen(f->path);
	f->stack[f->depth++] = o;
	snprintf(f->path + o, sizeof(f->path) - o, "[%s]", label);
	f->in_item = true;
}

static void
fo_leaf(struct emitter *e, const char *key, const char *value)
{
	struct flat_out *f = (struct flat_out *)(void *)e;

	fo_push(f, key);
	f->fn(f->path, value, f->arg);
	fo_pop(f);
}

static void
fo_end(struct emitter *e, int kind)
{
	struct flat_out *f = (struct flat_out *)(void *)e;

	if (kind == EM_SEQ && f->in_item) {
		fo_pop(f);
		f->in_item = false;
	}
	fo_pop(f);
}

void
policy_flatten(const struct policy *p,
    void (*fn)(const char *path, const char *value, void *arg), void *arg)
{
	struct flat_out f;

	memset(&f, 0, sizeof(f));
	f.e.begin = fo_begin;
	f.e.item = fo_item;
	f.e.leaf = fo_leaf;
	f.e.end = fo_end;
	f.fn = fn;
	f.arg = arg;
	emit_fields(&f.e, p, (const char *)p, top_fields);
}

struct leaf {
	char *path;
	char *value;
	bool done;
};

struct leaves {
	struct leaf *v;
	size_t n, cap;
	size_t *order;		/* indexes sorted by path */
	bool failed;
};

static void
collect_leaf(const char *path, const char *value, void *arg)
{
	struct leaves *l = arg;
	struct leaf *v;

	if (l->failed)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	v = &l->v[l->n];
	v->path = strdup(path);
	v->value = strdup(value);
	v->done = false;
	if (v->path == NULL || v->value == NULL) {
		free(v->path);
		free(v->value);
		l->failed = true;
		return;
	}
	l->n++;
}

static void
leaves_free(struct leaves *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].value);
	}
	free(l->v);
	free(l->order);
}

static int
order_cmp(const void *a, const void *b, void *arg)
{
	const struct leaves *l = arg;

	return strcmp(l->v[*(const size_t *)a].path,
	    l->v[*(const size_t *)b].path);
}

static int
leaves_collect(struct leaves *l, const struct policy *p)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	policy_flatten(p, collect_leaf, l);
	if (l->failed || (l->order = malloc((l->n + 1) *
	    sizeof(*l->order))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		l->order[i] = i;
	qsort_r(l->order, l->n, sizeof(*l->order), order_cmp, l);
	return 0;
}

static struct leaf *
leaves_find(const struct leaves *l, const char *path)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(path, l->v[l->order[mid]].path);

		if (c == 0)
			return &l->v[l->order[mid]];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Both sides flatten in schema order, with entries sorted by address, so
 * shared paths come in the same relative order: a two-finger walk reports
 * changes, removals and additions where they belong.
 */
size_t
policy_diff(const struct policy *a, const struct policy *b,
    void (*fn)(const char *path, const char *old_value,
	const char *new_value, void *arg), void *arg)
{
	struct leaves la, lb;
	struct leaf *x, *y;
	size_t i = 0, j = 0, count = 0;

	if (leaves_collect(&la, a) == -1 || leaves_collect(&lb, b) == -1) {
		leaves_free(&la);
		leaves_free(&lb);
		errno = ENOMEM;
		return (size_t)-1;
	}
	while (i < la.n || j < lb.n) {
		x = i < la.n ? &la.v[i] : NULL;
		y = j < lb.n ? &lb.v[j] : NULL;
		if (x != NULL && x->done) {
			i++;
			continue;
		}
		if (y != NULL && y->done) {
			j++;
			continue;
		}
		if (x != NULL && y != NULL && strcmp(x->path, y->path) == 0) {
			x->done = y->done = true;
		} else if (y != NULL && leaves_find(&la, y->path) == NULL) {
			y->done = true;
			x = NULL;
		} else if (x != NULL && (y = leaves_find(&lb, x->path)) == NULL) {
			x->done = true;
		} else if (x != NULL) {
			x->done = y->done = true;
		} else {
			j++;	/* y matched an a-leaf already walked */
			continue;
		}
		if (x == NULL || y == NULL || strcmp(x->value, y->value) != 0) {
			count++;
			if (fn != NULL)
				fn(x ? x->path : y->path, x ? x->value : NULL,
				    y ? y->value : NULL, arg);
		}
	}
	leaves_free(&la);
	leaves_free(&lb);
	return count;
}

static bool
status_equal(const char *x, const char *y)
{
	__typeof__(((struct policy *)0)->modbus.agent.status) s, t;

	memcpy(&s, x, sizeof(s));
	memcpy(&t, y, sizeof(t));
	return s.enabled == t.enabled && s.table == t.table &&
	    s.address == t.address;
}

static bool
fields_equal(const struct policy *a, const struct policy *b, const char *abase,
    const char *bbase, const struct field *fields)
{
	const struct field *f;
	size_t i, na, nb;

	for (f = fields; f->key != NULL; f++) {
		const char *x = abase + f->off;
		const char *y = bbase + f->off;

		switch (f->type) {
		case FT_MAP:
			if (!fields_equal(a, b, abase, bbase, f->kids))
				return false;
			break;
		case FT_ID:
		case FT_PATH:
		case FT_OPTID:
			if (strcmp(x, y) != 0)
				return false;
			break;
		case FT_REAL:
			/* -0 is stored as 0: bits compare like values. */
			if (memcmp(x, y, sizeof(double)) != 0)
				return false;
			break;
		case FT_NAMED:
			if (load_uint(x, f->size) != load_uint(y, f->size))
				return false;
			break;
		case FT_STATUS:
			if (!status_equal(x, y))
				return false;
			break;
		case FT_CHOICE:
			if (load_uint(x, f->size) != load_uint(y, f->size))
				return false;
			break;
		case FT_INT:
		case FT_LPORT:
		case FT_UNITS:
		case FT_UNITMAP:
		case FT_FUNCS:
		case FT_NETS:
		case FT_RANGES:
			/* Unset bytes are zero: whole members compare. */
			if (memcmp(x, y, f->size) != 0)
				return false;
			break;
		case FT_LIST:
			memcpy(&na, abase + f->noff, sizeof(na));
			memcpy(&nb, bbase + f->noff, sizeof(nb));
			if (na != nb)
				return false;
			for (i = 0; i < na; i++)
				if (!fields_equal(a, b, x + i * f->size,
				    y + i * f->size, f->kids))
					return false;
			break;
		case FT_BOOL:
			if (load_bool(x) != load_bool(y))
				return false;
			break;
		case FT_UINT:
		case FT_ENUM:
		case FT_FACILITY:
			if (load_uint(x, f->size) != load_uint(y, f->size))
				return false;
			break;
		case FT_NAME:
		case FT_TEXT:
		case FT_HOST:
			if (strcmp(x, y) != 0)
				return false;
			break;
		case FT_MESSAGE: {
			const char *m, *n;

			memcpy(&m, x, sizeof(m));
			memcpy(&n, y, sizeof(n));
			if (strcmp(m, n) != 0)
				return false;
			break;
		}
		case FT_CERT_NAMES:
			if (a->certificates.n_names != b->certificates.n_names)
				return false;
			for (i = 0; i < a->certificates.n_names; i++)
				if (strcmp(a->certificates.names[i],
				    b->certificates.names[i]) != 0)
					return false;
			break;
		case FT_SERVICES:
			for (i = 0; i < REGISTRY_COUNT; i++)
				if (a->services[i].enabled !=
				    b->services[i].enabled ||
				    memcmp(a->services[i].ports,
				    b->services[i].ports,
				    sizeof(a->services[i].ports)) != 0)
					return false;
			break;
		case FT_ENTRIES:
			if (a->accessible_ip.n_entries !=
			    b->accessible_ip.n_entries)
				return false;
			for (i = 0; i < a->accessible_ip.n_entries; i++) {
				const struct policy_acl_entry *m =
				    &a->accessible_ip.entries[i];
				const struct policy_acl_entry *n =
				    &b->accessible_ip.entries[i];

				if (m->family != n->family ||
				    m->prefix != n->prefix ||
				    m->active != n->active ||
				    memcmp(m->addr, n->addr, 16) != 0 ||
				    strcmp(m->comment, n->comment) != 0)
					return false;
			}
			break;
		case FT_EVENTS:
			if (memcmp(a->logging.events, b->logging.events,
			    sizeof(a->logging.events)) != 0)
				return false;
			break;
		case FT_MANAGEMENT:
			if (a->firewall.n_management !=
			    b->firewall.n_management)
				return false;
			for (i = 0; i < a->firewall.n_management; i++) {
				const struct policy_acl_entry *m =
				    &a->firewall.management[i];
				const struct policy_acl_entry *n =
				    &b->firewall.management[i];

				if (m->family != n->family ||
				    m->prefix != n->prefix ||
				    memcmp(m->addr, n->addr, 16) != 0)
					return false;
			}
			break;
		}
	}
	return true;
}

bool
policy_equal(const struct policy *a, const struct policy *b)
{
	return fields_equal(a, b, (const char *)a, (const char *)b, top_fields);
}
