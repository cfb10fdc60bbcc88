/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * accounts.c - accounts, password rules and lockout (see accounts.h).
 *
 * Lockout model.  An account and a source each keep a failure count that
 * starts with the first failure and is forgotten when lockout_window_s
 * has passed since then.  Reaching the threshold locks for
 * lockout_duration_s; when a lock ends the count starts afresh (else, with
 * a window longer than the lock, one more guess would lock again at once).
 * Failures while an account is locked do not extend its lock (an attacker
 * could otherwise keep its owner out forever by trickling guesses) but do
 * count for the source, and keep counting while the source is locked, so
 * that a client that does not stop reaches the ban threshold.  Times are
 * wall-clock seconds because account locks are persisted; a lock that
 * lies further ahead than one duration (the clock went back) is cut to
 * one duration.
 *
 * IPv6 sources are counted per /64: one subscriber usually holds a whole
 * /64, and counting single addresses would let it rotate through them.
 * IPv4-mapped IPv6 addresses count as the IPv4 address.
 *
 * The list of well-known passwords (src/common-passwords.txt) is the
 * "passwords" dictionary of the npm package @zxcvbn-ts/language-common
 * 4.1.3 (MIT License, Copyright (c) 2012-2016 Dan Wheeler and Dropbox,
 * Inc., Copyright (c) 2021 @zxcvbn-ts): 49,233 lower-case ASCII
 * passwords in order of frequency, derived by zxcvbn-ts from Mark
 * Burnett's ten-million-password corpus.  See src/common-passwords.README.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "accounts.h"
#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "priv.h"

_Static_assert(ACCOUNTS_HASH_MAX == PRIV_HASH_MAX, "hash buffer sizes");
_Static_assert(ACCOUNTS_PASSWORD_MAX == PRIV_PASSWORD_MAX, "password sizes");
_Static_assert(ACCOUNTS_HASH_MAX >= crypto_pwhash_STRBYTES, "pwhash_str");
_Static_assert(ACCOUNTS_TOKEN_TEXT == sodium_base64_ENCODED_LEN(
    ACCOUNTS_TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
    "token text");

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FAILURES_CAP   1000000u
#define TIME_MAX_JSON  253402300799LL    /* 9999-12-31T23:59:59Z */
#define DAY_S          86400

/* Defaults that are not in the policy; a newer one may add keys. */
#define SOURCE_FACTOR      2
#define SOURCE_BAN_FACTOR  4
#define SOURCE_CAP         1000

enum attempt_kind { KIND_REAL = 1, KIND_UNKNOWN, KIND_LOCKED };

struct account {
	char name[ACCOUNTS_NAME_MAX + 1];
	enum accounts_level level;
	char hash[ACCOUNTS_HASH_MAX];
	time_t created, changed, last_login;
	bool must_change;
	size_t n_hist;                  /* newest first */
	char hist[ACCOUNTS_HISTORY_MAX][ACCOUNTS_HASH_MAX];
	unsigned failures;
	time_t first_failure, locked_until;
	uint64_t gen;                   /* new with every password */
};

struct source {
	struct accounts_source key;     /* family 0 = free slot */
	unsigned failures;
	time_t first, locked_until, last_seen;
};

struct accounts {
	struct accounts_config cfg;
	size_t n;
	struct account *v[ACCOUNTS_LIMIT];
	uint64_t gen;
	unsigned dirty;
	bool token_live;
	uint8_t token_hash[crypto_generichash_BYTES];
	uint8_t decoy_key[crypto_shorthash_KEYBYTES];
	size_t n_src;
	struct source src[ACCOUNTS_SOURCES_MAX];
};

struct accounts_common {
	size_t n;
	char *text;                     /* the entries, NUL-terminated */
	const char **v;                 /* sorted, unique */
};

/* ---- configuration ------------------------------------------------------ */

static unsigned
cap_mul(unsigned v, unsigned f)
{
	return v > SOURCE_CAP / f ? SOURCE_CAP : v * f;
}

void
accounts_config_from_policy(struct accounts_config *c, const struct policy *p)
{
	memset(c, 0, sizeof(*c));
	c->max_accounts = ACCOUNTS_DEFAULT_MAX;
	c->min_length = p->password_policy.min_length;
	c->require_digit = p->password_policy.require_digit;
	c->require_upper = p->password_policy.require_upper;
	c->require_lower = p->password_policy.require_lower;
	c->require_special = p->password_policy.require_special;
	c->lifetime_days = p->password_policy.lifetime_days;
	c->history = p->password_policy.history > ACCOUNTS_HISTORY_MAX ?
	    ACCOUNTS_HISTORY_MAX : p->password_policy.history;
	c->reject_common = p->password_policy.reject_common;
	c->lockout = p->password_policy.lockout.enabled;
	c->lockout_attempts = p->password_policy.lockout.attempts;
	c->lockout_window_s = p->password_policy.lockout.window_s;
	c->lockout_duration_s = p->password_policy.lockout.duration_s;
	c->source_attempts = cap_mul(c->lockout_attempts, SOURCE_FACTOR);
	c->source_ban_attempts = cap_mul(c->lockout_attempts,
	    SOURCE_BAN_FACTOR);
}

/* ---- UTF-8 and character classes ---------------------------------------- */

enum cls { CL_DIGIT, CL_UPPER, CL_LOWER, CL_SPECIAL, CL_CONTROL };

/*
 * Decode one code point at s[*i] (RFC 3629 section 4: no overlong forms,
 * no surrogates, nothing above U+10FFFF).  Returns it and advances *i, or
 * returns -1 on an invalid sequence.
 */
static int32_t
utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	size_t k = *i, need;
	uint32_t cp;
	unsigned char b = s[k], lo = 0x80, hi = 0xbf;

	if (b < 0x80) {
		*i = k + 1;
		return b;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		cp = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		cp = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return -1;
	}
	if (n - k - 1 < need)
		return -1;
	for (size_t j = 1; j <= need; j++) {
		unsigned char c = s[k + j];

		if (c < lo || c > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (c & 0x3f);
	}
	*i = k + 1 + need;
	return (int32_t)cp;
}

/* Latin Extended-A alternates upper/lower, with the parity flipping in
 * two runs and three letters that have no pair. */
static enum cls
latin_ext_a(uint32_t cp)
{
	if (cp == 0x138 || cp == 0x149 || cp == 0x17f)
		return CL_LOWER;
	if (cp == 0x178)
		return CL_UPPER;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
		return (cp & 1) ? CL_UPPER : CL_LOWER;
	return (cp & 1) ? CL_LOWER : CL_UPPER;
}

static enum cls
classify(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return CL_CONTROL;
	/* Invisible formatting (zero-width, bidi, BOM): a password holding
	 * one looks like another and cannot be typed back reliably. */
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff)
		return CL_CONTROL;
	if (cp >= '0' && cp <= '9')
		return CL_DIGIT;
	if (cp >= 'A' && cp <= 'Z')
		return CL_UPPER;
	if (cp >= 'a' && cp <= 'z')
		return CL_LOWER;
	if ((cp >= 0xc0 && cp <= 0xd6) || (cp >= 0xd8 && cp <= 0xde))
		return CL_UPPER;
	if ((cp >= 0xdf && cp <= 0xf6) || (cp >= 0xf8 && cp <= 0xff))
		return CL_LOWER;
	if (cp >= 0x100 && cp <= 0x17f)
		return latin_ext_a(cp);
	if (cp == 0x386 || (cp >= 0x388 && cp <= 0x38a) || cp == 0x38c ||
	    cp == 0x38e || cp == 0x38f || (cp >= 0x391 && cp <= 0x3a1) ||
	    (cp >= 0x3a3 && cp <= 0x3ab))
		return CL_UPPER;
	if (cp == 0x390 || (cp >= 0x3ac && cp <= 0x3ce))
		return CL_LOWER;
	if (cp >= 0x400 && cp <= 0x42f)
		return CL_UPPER;
	if (cp >= 0x430 && cp <= 0x45f)
		return CL_LOWER;
	return CL_SPECIAL;
}

static char
lower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Does hay (n bytes) contain the ASCII string needle, ignoring ASCII case?
 * Byte-wise is right for UTF-8: no multi-byte sequence holds an ASCII byte. */
static bool
contains_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	if (m == 0 || m > n)
		return false;
	for (size_t i = 0; i + m <= n; i++) {
		size_t j;

		for (j = 0; j < m; j++)
			if (lower_ascii(hay[i + j]) != lower_ascii(needle[j]))
				break;
		if (j == m)
			return true;
	}
	return false;
}

/* Digits, ASCII punctuation and space: what people put around a word. */
static bool
is_decoration(unsigned char c)
{
	return (c >= 0x20 && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
	    (c >= 0x7b && c <= 0x7e);
}

/*
 * One step of a run: the same character again (0), the next (+1) or the
 * previous (-1), ignoring ASCII case; digits wrap ("90" is +1) so that
 * "1234567890123456" is one run.  Anything else: 2.
 */
static int
run_step(int32_t a, int32_t b)
{
	if (a >= 'A' && a <= 'Z')
		a += 'a' - 'A';
	if (b >= 'A' && b <= 'Z')
		b += 'a' - 'A';
	if (a >= '0' && a <= '9' && b >= '0' && b <= '9') {
		int d = ((b - a) % 10 + 10) % 10;

		return d == 0 ? 0 : d == 1 ? 1 : d == 9 ? -1 : 2;
	}
	return b - a >= -1 && b - a <= 1 ? b - a : 2;
}

/*
 * The password itself, the word left after stripping decorations from
 * both ends ("Dragon2024!" -> "dragon"), or a run of at least two
 * characters ("zzzzzzzz", "abcdefgh", "87654321"): the list leaves runs to
 * zxcvbn's pattern matchers, so it does not hold them.
 */
static bool
is_common(const struct accounts_common *l, const char *pw, size_t len)
{
	size_t s = 0, e = len, i = 0, n = 0;
	int32_t prev = -1, cp;
	int step = 0;

	if (accounts_common_contains(l, pw, len))
		return true;
	while (s < len && is_decoration((unsigned char)pw[s]))
		s++;
	while (e > s && is_decoration((unsigned char)pw[e - 1]))
		e--;
	if ((s > 0 || e < len) && e - s >= 4 &&
	    accounts_common_contains(l, pw + s, e - s))
		return true;
	while (i < len) {
		if ((cp = utf8_next((const unsigned char *)pw, len, &i)) < 0)
			return false;
		if (n == 1)
			step = run_step(prev, cp);
		if (n >= 1 && (step == 2 || run_step(prev, cp) != step))
			return false;
		prev = cp;
		n++;
	}
	return n >= 2;
}

unsigned
accounts_password_check(const struct accounts_config *c,
    const struct accounts_common *common, const char *name,
    const char *password, size_t len)
{
	const unsigned char *s = (const unsigned char *)password;
	unsigned fail = 0, have = 0;
	size_t i = 0, chars = 0;

	if (len > ACCOUNTS_PASSWORD_MAX)
		fail |= ACCOUNTS_PW_TOO_LONG;
	while (i < len) {
		int32_t cp = utf8_next(s, len, &i);

		if (cp < 0)
			return fail | ACCOUNTS_PW_BAD_UTF8;
		have |= 1u << classify((uint32_t)cp);
		chars++;
	}
	if (chars < c->min_length)
		fail |= ACCOUNTS_PW_TOO_SHORT;
	if (have & (1u << CL_CONTROL))
		fail |= ACCOUNTS_PW_CONTROL;
	if (c->require_digit && !(have & (1u << CL_DIGIT)))
		fail |= ACCOUNTS_PW_NEED_DIGIT;
	if (c->require_upper && !(have & (1u << CL_UPPER)))
		fail |= ACCOUNTS_PW_NEED_UPPER;
	if (c->require_lower && !(have & (1u << CL_LOWER)))
		fail |= ACCOUNTS_PW_NEED_LOWER;
	if (c->require_special && !(have & (1u << CL_SPECIAL)))
		fail |= ACCOUNTS_PW_NEED_SPECIAL;
	if (name != NULL && strlen(name) >= ACCOUNTS_NAME_IN_PW_MIN &&
	    contains_ci(password, len, name))
		fail |= ACCOUNTS_PW_HAS_NAME;
	if (c->reject_common) {
		if (common == NULL)
			fail |= ACCOUNTS_PW_NO_LIST;
		else if (is_common(common, password, len))
			fail |= ACCOUNTS_PW_COMMON;
	}
	return fail;
}

static const char *const rule_names[ACCOUNTS_PW_RULE_COUNT] = {
	"too-short", "too-long", "bad-utf8", "control", "need-digit",
	"need-upper", "need-lower", "need-special", "contains-name", "common",
	"common-list-missing", "reused",
};

static int
rule_index(unsigned rule)
{
	for (int i = 0; i < ACCOUNTS_PW_RULE_COUNT; i++)
		if (rule == 1u << i)
			return i;
	return -1;
}

const char *
accounts_pw_rule_name(unsigned rule)
{
	int i = rule_index(rule);

	return i < 0 ? NULL : rule_names[i];
}

const char *
accounts_pw_rule_text(unsigned rule, const struct accounts_config *c,
    char *buf, size_t n)
{
	switch (rule) {
	case ACCOUNTS_PW_TOO_SHORT:
		snprintf(buf, n, "must be at least %u characters long",
		    c->min_length);
		break;
	case ACCOUNTS_PW_TOO_LONG:
		snprintf(buf, n, "must be at most %d bytes long",
		    ACCOUNTS_PASSWORD_MAX);
		break;
	case ACCOUNTS_PW_BAD_UTF8:
		snprintf(buf, n, "is not valid UTF-8 text");
		break;
	case ACCOUNTS_PW_CONTROL:
		snprintf(buf, n, "must not contain control or invisible "
		    "formatting characters");
		break;
	case ACCOUNTS_PW_NEED_DIGIT:
		snprintf(buf, n, "must contain a digit (0-9)");
		break;
	case ACCOUNTS_PW_NEED_UPPER:
		snprintf(buf, n, "must contain an upper-case letter");
		break;
	case ACCOUNTS_PW_NEED_LOWER:
		snprintf(buf, n, "must contain a lower-case letter");
		break;
	case ACCOUNTS_PW_NEED_SPECIAL:
		snprintf(buf, n, "must contain a special character "
		    "(punctuation, symbol or space)");
		break;
	case ACCOUNTS_PW_HAS_NAME:
		snprintf(buf, n, "must not contain the account name");
		break;
	case ACCOUNTS_PW_COMMON:
		snprintf(buf, n, "is a well-known password, one with only "
		    "digits or symbols added, or a run like aaaa or 1234");
		break;
	case ACCOUNTS_PW_NO_LIST:
		snprintf(buf, n, "cannot be checked: the list of well-known "
		    "passwords is not loaded");
		break;
	case ACCOUNTS_PW_REUSED:
		if (c->history > 0)
			snprintf(buf, n, "must differ from the current "
			    "password and the %u before it", c->history);
		else
			snprintf(buf, n, "must differ from the current "
			    "password");
		break;
	default:
		snprintf(buf, n, "unknown rule");
		break;
	}
	return buf;
}

json_t *
accounts_pw_reasons_json(unsigned mask, const struct accounts_config *c)
{
	json_t *a = json_array();
	char text[128];

	if (a == NULL)
		return NULL;
	for (int i = 0; i < ACCOUNTS_PW_RULE_COUNT; i++) {
		unsigned bit = 1u << i;

		if (!(mask & bit))
			continue;
		if (json_array_append_new(a, json_pack("{s:s,s:s}", "rule",
		    rule_names[i], "message",
		    accounts_pw_rule_text(bit, c, text, sizeof(text)))) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ---- the list of well-known passwords ----------------------------------- */

/* Device and vendor defaults, first among them the guide's own "moxa":
 * not all are in the frequency list, and each is tried first by anyone
 * who finds a gateway. */
static const char *const builtin_common[] = {
	"admin", "administrator", "changeme", "default", "guest", "manager",
	"mgate", "moxa", "operator", "password", "private", "public", "root",
	"service", "sluice", "sluiced", "supervisor", "system", "user",
};

struct key {
	const char *s;
	size_t n;
};

static int
cmp_key(const void *k, const void *e)
{
	const struct key *key = k;
	const char *s = *(const char *const *)e;
	size_t m = strlen(s);
	int r = memcmp(key->s, s, key->n < m ? key->n : m);

	if (r != 0)
		return r;
	return key->n < m ? -1 : key->n > m;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct accounts_common *
accounts_common_new(const char *buf, size_t len, char *err, size_t errlen)
{
	struct accounts_common *l = calloc(1, sizeof(*l));
	size_t extra = 0, lines = 0, i, o, k;
	char *t;

	if (l == NULL)
		goto nomem;
	for (i = 0; i < NELEM(builtin_common); i++)
		extra += strlen(builtin_common[i]) + 1;
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	lines += 1 + NELEM(builtin_common);
	if ((l->text = malloc(len + 1 + extra)) == NULL ||
	    (l->v = calloc(lines, sizeof(*l->v))) == NULL)
		goto nomem;
	t = l->text;
	for (i = 0; i < len; i = k + 1) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e;

		k = nl != NULL ? (size_t)(nl - buf) : len;
		e = k;
		if (e > i && buf[e - 1] == '\r')
			e--;
		if (e == i || e - i > ACCOUNTS_PASSWORD_MAX ||
		    memchr(buf + i, '\0', e - i) != NULL)
			continue;
		l->v[l->n++] = t;
		for (o = i; o < e; o++)
			*t++ = lower_ascii(buf[o]);
		*t++ = '\0';
	}
	if (l->n == 0) {
		snprintf(err, errlen, "the list of well-known passwords is "
		    "empty");
		accounts_common_free(l);
		return NULL;
	}
	for (i = 0; i < NELEM(builtin_common); i++) {
		l->v[l->n++] = t;
		t = stpcpy(t, builtin_common[i]) + 1;
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (i = o = 0; i < l->n; i++)
		if (o == 0 || strcmp(l->v[o - 1], l->v[i]) != 0)
			l->v[o++] = l->v[i];
	l->n = o;
	return l;
nomem:
	snprintf(err, errlen, "out of memory");
	accounts_common_free(l);
	return NULL;
}

struct accounts_common *
accounts_common_load(const char *path, char *err, size_t errlen)
{
	struct accounts_common *l;
	char *buf, msg[128];
	size_t len;

	if (fsutil_read_file(path, 16u << 20, &buf, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	l = accounts_common_new(buf, len, msg, sizeof(msg));
	free(buf);
	if (l == NULL)
		snprintf(err, errlen, "%s: %s", path, msg);
	return l;
}

void
accounts_common_free(struct accounts_common *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l->text);
	free(l);
}

size_t
accounts_common_count(const struct accounts_common *l)
{
	return l == NULL ? 0 : l->n;
}

bool
accounts_common_contains(const struct accounts_common *l,
    const char *password, size_t len)
{
	char low[ACCOUNTS_PASSWORD_MAX];
	struct key k = { low, len };

	if (l == NULL || len == 0 || len > sizeof(low))
		return false;
	for (size_t i = 0; i < len; i++)
		low[i] = lower_ascii(password[i]);
	return bsearch(&k, l->v, l->n, sizeof(*l->v), cmp_key) != NULL;
}

/* ---- names, hashes, levels ---------------------------------------------- */

bool
accounts_name_valid(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= ACCOUNTS_NAME_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* Skip 1..10 decimal digits of a positive number. */
static const char *
skip_number(const char *s)
{
	const char *p = s;

	if (*p == '0')
		return NULL;
	while (*p >= '0' && *p <= '9' && p - s < 10)
		p++;
	return p == s || (*p >= '0' && *p <= '9') ? NULL : p;
}

/* Skip at least min characters of unpadded standard base64. */
static const char *
skip_b64(const char *s, size_t min)
{
	const char *p = s;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '/')
		p++;
	return (size_t)(p - s) < min ? NULL : p;
}

/* The parameters of a valid hash end here (at the '$' before the salt). */
static const char *
hash_params_end(const char *h)
{
	static const char *const parts[] = { ",t=", ",p=", "$" };
	const char *p;

	if (strncmp(h, "$argon2id$v=19$m=", 17) != 0)
		return NULL;
	p = h + 17;
	for (size_t i = 0; i < NELEM(parts); i++) {
		if ((p = skip_number(p)) == NULL)
			return NULL;
		if (strncmp(p, parts[i], strlen(parts[i])) != 0)
			return NULL;
		p += strlen(parts[i]);
	}
	return p - 1;
}

bool
accounts_hash_valid(const char *hash)
{
	const char *p;

	if (hash == NULL ||
	    strnlen(hash, ACCOUNTS_HASH_MAX) >= ACCOUNTS_HASH_MAX)
		return false;
	if ((p = hash_params_end(hash)) == NULL)
		return false;
	/* salt >= 8 bytes (11 chars), digest >= 16 bytes (22 chars) */
	if ((p = skip_b64(p + 1, 11)) == NULL || *p != '$')
		return false;
	if ((p = skip_b64(p + 1, 22)) == NULL || *p != '\0')
		return false;
	return true;
}

const char *
accounts_level_name(enum accounts_level level)
{
	return level == ACCOUNTS_ADMIN ? "admin" : "user";
}

int
accounts_level_parse(const char *s, enum accounts_level *out)
{
	if (s != NULL && strcmp(s, "admin") == 0)
		*out = ACCOUNTS_ADMIN;
	else if (s != NULL && strcmp(s, "user") == 0)
		*out = ACCOUNTS_USER;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- the store ---------------------------------------------------------- */

struct accounts *
accounts_new(const struct accounts_config *c)
{
	struct accounts *a;

	if (sodium_init() < 0) {
		errno = ENOSYS;
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	crypto_shorthash_keygen(a->decoy_key);
	accounts_set_config(a, c);
	return a;
}

static void
account_free(struct account *acc)
{
	if (acc == NULL)
		return;
	sodium_memzero(acc, sizeof(*acc));
	free(acc);
}

void
accounts_free(struct accounts *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		account_free(a->v[i]);
	sodium_memzero(a->token_hash, sizeof(a->token_hash));
	sodium_memzero(a->decoy_key, sizeof(a->decoy_key));
	free(a);
}

void
accounts_set_config(struct accounts *a, const struct accounts_config *c)
{
	a->cfg = *c;
	if (a->cfg.max_accounts == 0 || a->cfg.max_accounts > ACCOUNTS_LIMIT)
		a->cfg.max_accounts = ACCOUNTS_LIMIT;
	if (a->cfg.history > ACCOUNTS_HISTORY_MAX)
		a->cfg.history = ACCOUNTS_HISTORY_MAX;
	if (a->cfg.lockout_attempts == 0)
		a->cfg.lockout_attempts = 1;
}

size_t
accounts_count(const struct accounts *a)
{
	return a->n;
}

static struct account *
find(const struct accounts *a, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i]->name, name) == 0)
			return a->v[i];
	return NULL;
}

static size_t
count_admins(const struct accounts *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += a->v[i]->level == ACCOUNTS_ADMIN;
	return n;
}

/* Lock end as it stands at now: 0 when not locked. */
static time_t
lock_end(const struct accounts_config *c, time_t until, time_t now)
{
	if (!c->lockout || until <= now)
		return 0;
	if (until - now > (time_t)c->lockout_duration_s)
		return now + (time_t)c->lockout_duration_s;
	return until;
}

/* Failures that still count at now (the window has not passed). */
static unsigned
live_failures(const struct accounts_config *c, unsigned failures,
    time_t first, time_t locked_until, time_t now)
{
	if (lock_end(c, locked_until, now) != 0)
		return failures;
	if (locked_until != 0 && locked_until <= now)
		return 0;       /* a lock ended: start afresh */
	if (now < first || now - first >= (time_t)c->lockout_window_s)
		return 0;
	return failures;
}

static time_t
expires_at(const struct accounts_config *c, const struct account *acc)
{
	if (c->lifetime_days == 0)
		return 0;
	return acc->changed + (time_t)c->lifetime_days * DAY_S;
}

static void
fill_info(const struct accounts *a, const struct account *acc, time_t now,
    struct accounts_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, acc->name, sizeof(out->name));
	out->level = acc->level;
	out->created = acc->created;
	out->changed = acc->changed;
	out->last_login = acc->last_login;
	out->expires = expires_at(&a->cfg, acc);
	out->must_change = acc->must_change ||
	    (out->expires != 0 && now >= out->expires);
	out->failures = live_failures(&a->cfg, acc->failures,
	    acc->first_failure, acc->locked_until, now);
	out->locked_until = lock_end(&a->cfg, acc->locked_until, now);
}

int
accounts_get(const struct accounts *a, size_t i, time_t now,
    struct accounts_info *out)
{
	if (i >= a->n) {
		errno = ERANGE;
		return -1;
	}
	fill_info(a, a->v[i], now, out);
	return 0;
}

int
accounts_find(const struct accounts *a, const char *name, time_t now,
    struct accounts_info *out)
{
	const struct account *acc = find(a, name);

	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	fill_info(a, acc, now, out);
	return 0;
}

json_t *
accounts_json(const struct accounts *a, time_t now)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < a->n; i++) {
		struct accounts_info in;

		fill_info(a, a->v[i], now, &in);
		if (json_array_append_new(arr, json_pack(
		    "{s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:I,s:b,s:I}",
		    "name", in.name, "level", accounts_level_name(in.level),
		    "created", (json_int_t)in.created,
		    "changed", (json_int_t)in.changed,
		    "last_login", (json_int_t)in.last_login,
		    "expires", (json_int_t)in.expires,
		    "must_change", in.must_change,
		    "failures", (json_int_t)in.failures,
		    "locked", in.locked_until != 0,
		    "locked_until", (json_int_t)in.locked_until)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static void
set_events(unsigned *events, unsigned ev)
{
	if (events != NULL)
		*events = ev;
}

/* Add without the empty-store check (shared with setup and parse). */
static int
add_account(struct accounts *a, const char *name, enum accounts_level level,
    const char *hash, bool must_change, time_t now)
{
	struct account *acc;

	if (!accounts_name_valid(name) || !accounts_hash_valid(hash) ||
	    (level != ACCOUNTS_ADMIN && level != ACCOUNTS_USER)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i]->name, name) == 0) {
			errno = EEXIST;
			return -1;
		}
	if (a->n >= a->cfg.max_accounts || a->n >= ACCOUNTS_LIMIT) {
		errno = ENOSPC;
		return -1;
	}
	if ((acc = calloc(1, sizeof(*acc))) == NULL)
		return -1;
	snprintf(acc->name, sizeof(acc->name), "%s", name);
	snprintf(acc->hash, sizeof(acc->hash), "%s", hash);
	acc->level = level;
	acc->created = acc->changed = now;
	acc->must_change = must_change;
	acc->gen = ++a->gen;
	a->v[a->n++] = acc;
	a->dirty |= ACCOUNTS_DIRTY_ACCOUNTS;
	return 0;
}

int
accounts_add(struct accounts *a, const char *name, enum accounts_level level,
    const char *hash, bool must_change, time_t now, unsigned *events)
{
	set_events(events, 0);
	if (a->n == 0) {
		errno = EPERM;
		return -1;
	}
	if (add_account(a, name, level, hash, must_change, now) < 0)
		return -1;
	set_events(events, ACCOUNTS_EV_ACCOUNT_ADDED);
	return 0;
}

int
accounts_remove(struct accounts *a, const char *name, unsigned *events)
{
	set_events(events, 0);
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i]->name, name) != 0)
			continue;
		if (a->v[i]->level == ACCOUNTS_ADMIN && count_admins(a) == 1) {
			errno = EPERM;
			return -1;
		}
		account_free(a->v[i]);
		memmove(&a->v[i], &a->v[i + 1],
		    (a->n - i - 1) * sizeof(a->v[0]));
		a->v[--a->n] = NULL;
		a->dirty |= ACCOUNTS_DIRTY_ACCOUNTS;
		set_events(events, ACCOUNTS_EV_ACCOUNT_REMOVED);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

int
accounts_set_level(struct accounts *a, const char *name,
    enum accounts_level level, unsigned *events)
{
	struct account *acc = find(a, name);

	set_events(events, 0);
	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (level != ACCOUNTS_ADMIN && level != ACCOUNTS_USER) {
		errno = EINVAL;
		return -1;
	}
	if (acc->level == level)
		return 0;
	if (acc->level == ACCOUNTS_ADMIN && count_admins(a) == 1) {
		errno = EPERM;
		return -1;
	}
	acc->level = level;
	a->dirty |= ACCOUNTS_DIRTY_ACCOUNTS;
	set_events(events, ACCOUNTS_EV_ACCOUNT_CHANGED);
	return 0;
}

static void
clear_failures(struct account *acc)
{
	acc->failures = 0;
	acc->first_failure = 0;
	acc->locked_until = 0;
}

int
accounts_set_password(struct accounts *a, const char *name,
    const char *hash, bool must_change, time_t now, unsigned *events)
{
	struct account *acc = find(a, name);
	size_t keep;

	set_events(events, 0);
	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (!accounts_hash_valid(hash)) {
		errno = EINVAL;
		return -1;
	}
	keep = a->cfg.history;
	if (keep > 0) {
		size_t n = acc->n_hist < keep ? acc->n_hist : keep - 1;

		memmove(acc->hist[1], acc->hist[0], n * sizeof(acc->hist[0]));
		memcpy(acc->hist[0], acc->hash, sizeof(acc->hist[0]));
		acc->n_hist = n + 1;
	} else {
		acc->n_hist = 0;
	}
	if (acc->n_hist < ACCOUNTS_HISTORY_MAX)
		sodium_memzero(acc->hist[acc->n_hist], (ACCOUNTS_HISTORY_MAX -
		    acc->n_hist) * sizeof(acc->hist[0]));
	snprintf(acc->hash, sizeof(acc->hash), "%s", hash);
	acc->changed = now;
	acc->must_change = must_change;
	acc->gen = ++a->gen;
	clear_failures(acc);
	a->dirty |= ACCOUNTS_DIRTY_ACCOUNTS;
	set_events(events, ACCOUNTS_EV_PASSWORD_CHANGED);
	return 0;
}

int
accounts_rehash(struct accounts *a, const char *name, const char *hash)
{
	struct account *acc = find(a, name);

	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (!accounts_hash_valid(hash)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(acc->hash, sizeof(acc->hash), "%s", hash);
	a->dirty |= ACCOUNTS_DIRTY_ACCOUNTS;
	return 0;
}

int
accounts_unlock(struct accounts *a, const char *name, unsigned *events)
{
	struct account *acc = find(a, name);

	set_events(events, 0);
	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	clear_failures(acc);
	a->dirty |= ACCOUNTS_DIRTY_STATE;
	set_events(events, ACCOUNTS_EV_ACCOUNT_UNLOCKED);
	return 0;
}

/* ---- setup token -------------------------------------------------------- */

bool
accounts_setup_needed(const struct accounts *a)
{
	return a->n == 0;
}

int
accounts_setup_token_new(struct accounts *a, char out[ACCOUNTS_TOKEN_TEXT])
{
	uint8_t tok[ACCOUNTS_TOKEN_BYTES];

	if (a->n != 0) {
		errno = EPERM;
		return -1;
	}
	randombytes_buf(tok, sizeof(tok));
	crypto_generichash(a->token_hash, sizeof(a->token_hash), tok,
	    sizeof(tok), NULL, 0);
	sodium_bin2base64(out, ACCOUNTS_TOKEN_TEXT, tok, sizeof(tok),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(tok, sizeof(tok));
	a->token_live = true;
	return 0;
}

bool
accounts_setup_token_check(const struct accounts *a, const char *token)
{
	uint8_t tok[ACCOUNTS_TOKEN_BYTES] = { 0 }, h[crypto_generichash_BYTES];
	size_t bin = 0;
	const char *end = NULL;
	bool decoded;
	int same;

	decoded = token != NULL && strlen(token) == ACCOUNTS_TOKEN_TEXT - 1 &&
	    sodium_base642bin(tok, sizeof(tok), token, strlen(token), NULL,
	    &bin, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    bin == sizeof(tok) && *end == '\0';
	/* Hash and compare even when it did not decode: the same work for
	 * every wrong token. */
	crypto_generichash(h, sizeof(h), tok, sizeof(tok), NULL, 0);
	same = sodium_memcmp(h, a->token_hash, sizeof(h));
	sodium_memzero(tok, sizeof(tok));
	return decoded && a->token_live && same == 0;
}

/* ---- sources ------------------------------------------------------------ */

static void
source_key(const struct accounts_source *in, struct accounts_source *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(out, 0, sizeof(*out));
	if (in == NULL)
		return;
	if (in->family == 4) {
		out->family = 4;
		memcpy(out->addr, in->addr, 4);
	} else if (in->family == 6 && memcmp(in->addr, mapped, 12) == 0) {
		out->family = 4;
		memcpy(out->addr, in->addr + 12, 4);
	} else if (in->family == 6) {
		out->family = 6;
		memcpy(out->addr, in->addr, 8);     /* the /64 */
	}
}

/*
 * The entry of key, or with create a new one: a free slot, else the least
 * recently seen entry that is not locked, else the least recently seen.
 */
static struct source *
source_get(struct accounts *a, const struct accounts_source *key, time_t now,
    bool create)
{
	struct source *free_slot = NULL, *idle = NULL, *lru = NULL;

	if (key->family == 0)
		return NULL;
	for (size_t i = 0; i < ACCOUNTS_SOURCES_MAX; i++) {
		struct source *e = &a->src[i];

		if (e->key.family == 0) {
			if (free_slot == NULL)
				free_slot = e;
			continue;
		}
		if (memcmp(&e->key, key, sizeof(*key)) == 0)
			return e;
		if (lru == NULL || e->last_seen < lru->last_seen)
			lru = e;
		if (lock_end(&a->cfg, e->locked_until, now) == 0 &&
		    (idle == NULL || e->last_seen < idle->last_seen))
			idle = e;
	}
	if (!create)
		return NULL;
	if (free_slot != NULL) {
		a->n_src++;
	} else {
		free_slot = idle != NULL ? idle : lru;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->key = *key;
	free_slot->last_seen = now;
	return free_slot;
}

static void
source_forget(struct accounts *a, struct source *e)
{
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	a->n_src--;
}

bool
accounts_source_locked(const struct accounts *a,
    const struct accounts_source *src, time_t now, time_t *until)
{
	struct accounts_source key;

	source_key(src, &key);
	if (key.family == 0)
		return false;
	for (size_t i = 0; i < ACCOUNTS_SOURCES_MAX; i++) {
		const struct source *e = &a->src[i];
		time_t end;

		if (memcmp(&e->key, &key, sizeof(key)) != 0)
			continue;
		end = lock_end(&a->cfg, e->locked_until, now);
		if (end != 0 && until != NULL)
			*until = end;
		return end != 0;
	}
	return false;
}

size_t
accounts_source_count(const struct accounts *a)
{
	return a->n_src;
}

/* One more failure of a source: may lock it and ask for a ban, once at
 * the threshold and again at each further multiple (should the first ban
 * not have taken, e.g. a management address). */
static unsigned
source_fail(struct accounts *a, const struct accounts_source *src, time_t now,
    struct accounts_result *res)
{
	const struct accounts_config *c = &a->cfg;
	struct accounts_source key;
	struct source *e;
	unsigned ev = 0;

	source_key(src, &key);
	if ((e = source_get(a, &key, now, true)) == NULL)
		return 0;
	e->failures = live_failures(c, e->failures, e->first, e->locked_until,
	    now);
	if (e->failures == 0) {
		e->first = now;
		e->locked_until = 0;
	}
	if (e->failures < FAILURES_CAP)
		e->failures++;
	e->last_seen = now;
	if (!c->lockout)
		return 0;
	if (c->source_attempts > 0 && e->failures >= c->source_attempts &&
	    lock_end(c, e->locked_until, now) == 0) {
		e->locked_until = now + (time_t)c->lockout_duration_s;
		ev |= ACCOUNTS_EV_SOURCE_LOCKED;
	}
	if (c->source_ban_attempts > 0 &&
	    e->failures % c->source_ban_attempts == 0)
		ev |= ACCOUNTS_EV_BAN_SOURCE;
	if (res != NULL && (ev & ACCOUNTS_EV_SOURCE_LOCKED) &&
	    res->retry_at == 0)
		res->retry_at = e->locked_until;
	return ev;
}

static void
source_success(struct accounts *a, const struct accounts_source *src,
    time_t now)
{
	struct accounts_source key;

	source_key(src, &key);
	source_forget(a, source_get(a, &key, now, false));
}

/* Refused before anything else when the source is locked. */
static bool
source_refused(struct accounts *a, const struct accounts_source *src,
    time_t now, struct accounts_result *res)
{
	struct accounts_source key;
	struct source *e;
	time_t end;

	source_key(src, &key);
	if ((e = source_get(a, &key, now, false)) == NULL)
		return false;
	if ((end = lock_end(&a->cfg, e->locked_until, now)) == 0)
		return false;
	/* Not a login-failed event: the source-locked one said it, and a
	 * client hammering a locked door must not flood the event log. */
	res->outcome = ACCOUNTS_LOGIN_SOURCE_LOCKED;
	res->events = source_fail(a, src, now, NULL) & ACCOUNTS_EV_BAN_SOURCE;
	res->failures = e->failures;
	res->retry_at = end;
	return true;
}

/* ---- login -------------------------------------------------------------- */

/*
 * A hash nobody's password matches, with the Argon2 parameters of like,
 * so verifying it costs what verifying a real one does.  For an unknown
 * name (like NULL) they are those of an account chosen by a keyed hash of
 * the name: while a change of password_policy.hash leaves accounts at
 * mixed costs, each unknown name keeps the cost of some real account from
 * try to try, so timing cannot single out the names that exist.  An empty
 * store uses libsodium's INTERACTIVE cost.
 */
static void
dummy_hash(const struct accounts *a, const char *like, const char *name,
    char out[ACCOUNTS_HASH_MAX])
{
	uint8_t salt[crypto_pwhash_SALTBYTES], dig[32];
	char s64[sodium_base64_ENCODED_LEN(sizeof(salt),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	char d64[sodium_base64_ENCODED_LEN(sizeof(dig),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	const char *end;
	int plen;

	if (like == NULL && a->n > 0) {
		uint8_t h[crypto_shorthash_BYTES];
		uint64_t pick = 0;

		crypto_shorthash(h, (const uint8_t *)name, strlen(name),
		    a->decoy_key);
		for (size_t i = 0; i < sizeof(h); i++)
			pick = pick << 8 | h[i];
		like = a->v[pick % a->n]->hash;
	}
	if (like == NULL || (end = hash_params_end(like)) == NULL) {
		like = "$argon2id$v=19$m=65536,t=2,p=1$";
		end = like + strlen(like) - 1;
	}
	plen = (int)(end - like);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(dig, sizeof(dig));
	sodium_bin2base64(s64, sizeof(s64), salt, sizeof(salt),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(d64, sizeof(d64), dig, sizeof(dig),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(out, ACCOUNTS_HASH_MAX, "%.*s$%s$%s", plen, like, s64, d64);
}

static bool
account_locked(struct accounts *a, struct account *acc, time_t now)
{
	time_t end = lock_end(&a->cfg, acc->locked_until, now);

	if (end != 0 && end != acc->locked_until) {
		acc->locked_until = end;        /* the clock went back */
		a->dirty |= ACCOUNTS_DIRTY_STATE;
	}
	return end != 0;
}

enum accounts_outcome
accounts_login_begin(struct accounts *a, const char *name,
    const struct accounts_source *src, time_t now, struct accounts_attempt *att,
    struct accounts_result *res)
{
	struct account *acc;

	memset(att, 0, sizeof(*att));
	memset(res, 0, sizeof(*res));
	if (src != NULL)
		att->src = *src;
	if (source_refused(a, &att->src, now, res))
		return res->outcome;
	if (accounts_name_valid(name))
		snprintf(att->name, sizeof(att->name), "%s", name);
	acc = find(a, att->name[0] != '\0' ? att->name : NULL);
	if (acc == NULL) {
		att->kind = KIND_UNKNOWN;
		dummy_hash(a, NULL, name != NULL ? name : "", att->hash);
	} else if (account_locked(a, acc, now)) {
		att->kind = KIND_LOCKED;
		dummy_hash(a, acc->hash, NULL, att->hash);
	} else {
		att->kind = KIND_REAL;
		att->gen = acc->gen;
		memcpy(att->hash, acc->hash, sizeof(att->hash));
	}
	res->outcome = ACCOUNTS_VERIFY;
	return res->outcome;
}

/* One more failure of an account: may lock it. */
static unsigned
account_fail(struct accounts *a, struct account *acc, time_t now,
    struct accounts_result *res)
{
	const struct accounts_config *c = &a->cfg;

	acc->failures = live_failures(c, acc->failures, acc->first_failure,
	    acc->locked_until, now);
	if (acc->failures == 0) {
		acc->first_failure = now;
		acc->locked_until = 0;
	}
	if (acc->failures < FAILURES_CAP)
		acc->failures++;
	a->dirty |= ACCOUNTS_DIRTY_STATE;
	res->failures = acc->failures;
	if (c->lockout && acc->failures >= c->lockout_attempts) {
		acc->locked_until = now + (time_t)c->lockout_duration_s;
		res->retry_at = acc->locked_until;
		res->outcome = ACCOUNTS_LOGIN_LOCKED;
		return ACCOUNTS_EV_ACCOUNT_LOCKED;
	}
	return 0;
}

static void
login_ok(struct accounts *a, struct account *acc,
    const struct accounts_attempt *att, time_t now, struct accounts_result *res)
{
	time_t exp = expires_at(&a->cfg, acc);

	clear_failures(acc);
	acc->last_login = now;
	a->dirty |= ACCOUNTS_DIRTY_STATE;
	source_success(a, &att->src, now);
	res->level = acc->level;
	res->events = ACCOUNTS_EV_LOGIN;
	res->outcome = acc->must_change || (exp != 0 && now >= exp) ?
	    ACCOUNTS_LOGIN_CHANGE_PASSWORD : ACCOUNTS_LOGIN_OK;
}

void
accounts_login_finish(struct accounts *a, const struct accounts_attempt *att,
    int verified, time_t now, struct accounts_result *res)
{
	struct account *acc = find(a, att->name[0] != '\0' ? att->name : NULL);
	unsigned ev = ACCOUNTS_EV_LOGIN_FAILED;

	memset(res, 0, sizeof(*res));
	if (verified < 0) {
		/* Our failure, not the peer's: nothing is counted, and the
		 * peer learns nothing about the password. */
		res->outcome = ACCOUNTS_LOGIN_ERROR;
		return;
	}
	if (att->kind == KIND_REAL && (acc == NULL || acc->gen != att->gen))
		acc = NULL;     /* deleted or given a new password meanwhile */
	if (att->kind == KIND_UNKNOWN)
		acc = NULL;
	res->outcome = ACCOUNTS_LOGIN_FAILED;
	if (acc == NULL) {
		res->unknown_account = att->kind == KIND_UNKNOWN;
	} else if (att->kind == KIND_LOCKED || account_locked(a, acc, now)) {
		/* Locked when the attempt began, or by a concurrent one: the
		 * password, right or wrong, is not considered, and the
		 * attempt does not count against the account. */
		res->outcome = ACCOUNTS_LOGIN_LOCKED;
		res->failures = acc->failures;
		res->retry_at = acc->locked_until;
	} else if (verified == 1) {
		login_ok(a, acc, att, now, res);
		return;
	} else {
		ev |= account_fail(a, acc, now, res);
	}
	ev |= source_fail(a, &att->src, now, res);
	if (acc == NULL) {
		struct accounts_source key;
		struct source *e;

		source_key(&att->src, &key);
		if ((e = source_get(a, &key, now, false)) != NULL)
			res->failures = e->failures;
	}
	res->events = ev;
}

const char *
accounts_outcome_public(enum accounts_outcome o)
{
	switch (o) {
	case ACCOUNTS_LOGIN_OK:
		return "Logged in";
	case ACCOUNTS_LOGIN_CHANGE_PASSWORD:
		return "Logged in; a new password must be set first";
	case ACCOUNTS_LOGIN_FAILED:
	case ACCOUNTS_LOGIN_LOCKED:
		return "Login failed: wrong account name or password, or the "
		    "account is locked for a while";
	case ACCOUNTS_LOGIN_SOURCE_LOCKED:
		return "Too many failed logins from this address; try again "
		    "later";
	case ACCOUNTS_SETUP_BAD_TOKEN:
		return "Wrong setup token";
	case ACCOUNTS_SETUP_DONE:
		return "Administrator created";
	case ACCOUNTS_VERIFY:
	case ACCOUNTS_LOGIN_ERROR:
	default:
		return "The login could not be checked; try again later";
	}
}

int
accounts_setup(struct accounts *a, const char *token, const char *name,
    const char *hash, const struct accounts_source *src, time_t now,
    struct accounts_result *res)
{
	memset(res, 0, sizeof(*res));
	if (source_refused(a, src, now, res)) {
		errno = EACCES;
		return -1;
	}
	if (a->n != 0 || !accounts_setup_token_check(a, token)) {
		res->outcome = ACCOUNTS_SETUP_BAD_TOKEN;
		res->events = ACCOUNTS_EV_LOGIN_FAILED |
		    source_fail(a, src, now, res);
		errno = a->n != 0 ? EPERM : EACCES;
		return -1;
	}
	if (add_account(a, name, ACCOUNTS_ADMIN, hash, false, now) < 0) {
		res->outcome = ACCOUNTS_LOGIN_ERROR;
		return -1;
	}
	a->token_live = false;
	sodium_memzero(a->token_hash, sizeof(a->token_hash));
	source_success(a, src, now);
	res->outcome = ACCOUNTS_SETUP_DONE;
	res->events = ACCOUNTS_EV_ACCOUNT_ADDED;
	res->level = ACCOUNTS_ADMIN;
	return 0;
}

/* ---- password history --------------------------------------------------- */

int
accounts_reuse_hashes(const struct accounts *a, const char *name,
    char out[][ACCOUNTS_HASH_MAX], size_t max, size_t *n)
{
	const struct account *acc = find(a, name);
	size_t k = 0, h;

	if (acc == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (max > 0)
		memcpy(out[k++], acc->hash, ACCOUNTS_HASH_MAX);
	h = acc->n_hist < a->cfg.history ? acc->n_hist : a->cfg.history;
	for (size_t i = 0; i < h && k < max; i++)
		memcpy(out[k++], acc->hist[i], ACCOUNTS_HASH_MAX);
	*n = k;
	return 0;
}

struct accounts_reuse {
	char hashes[ACCOUNTS_HISTORY_MAX + 1][ACCOUNTS_HASH_MAX];
	size_t n, next;
	char pw[ACCOUNTS_PASSWORD_MAX];
	size_t len;
	accounts_verify_fn verify;
	void *varg;
	accounts_reuse_done_fn done;
	void *darg;
	bool in_start;          /* done is not called from inside start */
	bool in_verify;         /* an answer now is synchronous: pump loops */
	bool outstanding;       /* a verification has not answered yet */
	bool cancelled, finished;
	enum accounts_reuse_result result;
};

static void
reuse_free(struct accounts_reuse *r)
{
	sodium_memzero(r, sizeof(*r));
	free(r);
}

static void reuse_verified(void *ctx, int result);

/*
 * Issue verifications until one is pending or the check is over; then
 * report (outside start) and free r.  The loop, not recursion, carries on
 * after answers that arrive inside verify, so a synchronous verifier
 * neither grows the stack nor frees r under the loop's feet.
 */
static void
reuse_pump(struct accounts_reuse *r)
{
	while (!r->finished && r->next < r->n) {
		size_t i = r->next++;

		r->outstanding = true;
		r->in_verify = true;
		r->verify(r->varg, r->hashes[i], r->pw, r->len, reuse_verified,
		    r);
		r->in_verify = false;
		if (r->outstanding)
			return;         /* reuse_verified() pumps on */
	}
	if (!r->finished) {
		r->finished = true;
		r->result = ACCOUNTS_REUSE_NEW;
	}
	if (r->in_start)
		return;                 /* start returns the result */
	r->done(r->darg, r->result);
	reuse_free(r);
}

static void
reuse_verified(void *ctx, int result)
{
	struct accounts_reuse *r = ctx;

	r->outstanding = false;
	if (r->cancelled) {
		reuse_free(r);
		return;
	}
	if (result != 0) {
		r->finished = true;
		r->result = result == 1 ? ACCOUNTS_REUSE_REUSED :
		    ACCOUNTS_REUSE_ERROR;
	}
	if (!r->in_verify)
		reuse_pump(r);
}

enum accounts_reuse_result
accounts_reuse_start(const struct accounts *a, const char *name,
    const char *password, size_t len, accounts_verify_fn verify, void *varg,
    accounts_reuse_done_fn done, void *darg, struct accounts_reuse **handle)
{
	struct accounts_reuse *r;
	enum accounts_reuse_result res;

	if (handle != NULL)
		*handle = NULL;
	if (len > ACCOUNTS_PASSWORD_MAX || verify == NULL || done == NULL) {
		errno = EINVAL;
		return ACCOUNTS_REUSE_ERROR;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ACCOUNTS_REUSE_ERROR;
	if (accounts_reuse_hashes(a, name, r->hashes, NELEM(r->hashes),
	    &r->n) < 0) {
		reuse_free(r);
		return ACCOUNTS_REUSE_ERROR;
	}
	memcpy(r->pw, password, len);
	r->len = len;
	r->verify = verify;
	r->varg = varg;
	r->done = done;
	r->darg = darg;
	r->in_start = true;
	reuse_pump(r);
	r->in_start = false;
	if (r->finished) {
		res = r->result;
		reuse_free(r);
		return res;
	}
	if (handle != NULL)
		*handle = r;
	return ACCOUNTS_REUSE_PENDING;
}

void
accounts_reuse_cancel(struct accounts_reuse *r)
{
	if (r == NULL)
		return;
	if (r->outstanding) {
		sodium_memzero(r->pw, sizeof(r->pw));
		r->cancelled = true;
	} else {
		reuse_free(r);
	}
}

/* ---- persistence -------------------------------------------------------- */

static const char *const account_keys[] = {
	"name", "level", "hash", "created", "changed", "must_change",
	"history", "failures", "first_failure", "locked_until", "last_login",
};

char *
accounts_serialize(const struct accounts *a, size_t *len)
{
	json_t *root, *arr;
	char *text;

	arr = json_array();
	root = json_pack("{s:i,s:o}", "version", 1, "accounts", arr);
	if (root == NULL)
		return NULL;
	for (size_t i = 0; i < a->n; i++) {
		const struct account *acc = a->v[i];
		json_t *hist = json_array(), *o;

		for (size_t k = 0; hist != NULL && k < acc->n_hist; k++)
			if (json_array_append_new(hist,
			    json_string(acc->hist[k])) < 0) {
				json_decref(hist);
				hist = NULL;
			}
		o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:o*,s:I,s:I,s:I,s:I}",
		    "name", acc->name, "level", accounts_level_name(acc->level),
		    "hash", acc->hash, "created", (json_int_t)acc->created,
		    "changed", (json_int_t)acc->changed,
		    "must_change", acc->must_change, "history", hist,
		    "failures", (json_int_t)acc->failures,
		    "first_failure", (json_int_t)acc->first_failure,
		    "locked_until", (json_int_t)acc->locked_until,
		    "last_login", (json_int_t)acc->last_login);
		if (o == NULL || json_object_size(o) != NELEM(account_keys) ||
		    json_array_append_new(arr, o) < 0) {
			if (o != NULL &&
			    json_object_size(o) != NELEM(account_keys))
				json_decref(o);
			json_decref(root);
			return NULL;
		}
	}
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (text != NULL && len != NULL)
		*len = strlen(text);
	return text;
}

/* Where a parse error is: "account 2 (\"bob\"): " with the name quoted. */
static void
where(char *buf, size_t n, size_t i, json_t *o)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	char q[2 * ACCOUNTS_NAME_MAX];

	if (name != NULL)
		snprintf(buf, n, "account %zu (\"%s\")", i + 1,
		    log_quote(q, sizeof(q), name, strlen(name)));
	else
		snprintf(buf, n, "account %zu", i + 1);
}

static int
get_time(json_t *o, const char *key, time_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!json_is_integer(v))
		return -1;
	x = json_integer_value(v);
	if (x < 0 || x > TIME_MAX_JSON)
		return -1;
	*out = (time_t)x;
	return 0;
}

/* One account object into acc; NULL or the field and what is wrong. */
static const char *
parse_account(json_t *o, struct account *acc)
{
	const char *key, *s;
	json_t *v, *h;
	size_t k;

	if (!json_is_object(o))
		return "not an object";
	json_object_foreach(o, key, v) {
		for (k = 0; k < NELEM(account_keys); k++)
			if (strcmp(key, account_keys[k]) == 0)
				break;
		if (k == NELEM(account_keys))
			return "unknown key";
	}
	for (k = 0; k < NELEM(account_keys); k++)
		if (json_object_get(o, account_keys[k]) == NULL)
			return "a key is missing (name, level, hash, created, "
			    "changed, must_change, history, failures, "
			    "first_failure, locked_until, last_login)";
	s = json_string_value(json_object_get(o, "name"));
	if (!accounts_name_valid(s))
		return "name: not 1..32 of A-Z a-z 0-9 . _ -";
	snprintf(acc->name, sizeof(acc->name), "%s", s);
	if (accounts_level_parse(json_string_value(json_object_get(o, "level")),
	    &acc->level) < 0)
		return "level: not \"admin\" or \"user\"";
	s = json_string_value(json_object_get(o, "hash"));
	if (!accounts_hash_valid(s))
		return "hash: not an Argon2id string";
	snprintf(acc->hash, sizeof(acc->hash), "%s", s);
	if (get_time(o, "created", &acc->created) < 0 ||
	    get_time(o, "changed", &acc->changed) < 0 ||
	    get_time(o, "first_failure", &acc->first_failure) < 0 ||
	    get_time(o, "locked_until", &acc->locked_until) < 0 ||
	    get_time(o, "last_login", &acc->last_login) < 0)
		return "a time is not a number of seconds since 1970 (created, "
		    "changed, first_failure, locked_until, last_login)";
	v = json_object_get(o, "must_change");
	if (!json_is_boolean(v))
		return "must_change: not true or false";
	acc->must_change = json_is_true(v);
	v = json_object_get(o, "failures");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > FAILURES_CAP)
		return "failures: not 0..1000000";
	acc->failures = (unsigned)json_integer_value(v);
	v = json_object_get(o, "history");
	if (!json_is_array(v) || json_array_size(v) > ACCOUNTS_HISTORY_MAX)
		return "history: not a list of at most 24 hashes";
	json_array_foreach(v, k, h) {
		if (!accounts_hash_valid(json_string_value(h)))
			return "history: an entry is not an Argon2id string";
		snprintf(acc->hist[k], sizeof(acc->hist[k]), "%s",
		    json_string_value(h));
	}
	acc->n_hist = json_array_size(v);
	return NULL;
}

struct accounts *
accounts_parse(const char *buf, size_t len, const struct accounts_config *c,
    char *err, size_t errlen)
{
	struct accounts *a = NULL;
	json_error_t jerr;
	json_t *root, *arr, *o, *v;
	const char *key, *why;
	char at[96];
	size_t i;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, v)
		if (strcmp(key, "version") != 0 &&
		    strcmp(key, "accounts") != 0) {
			snprintf(err, errlen, "unknown key \"%.32s\"", key);
			goto fail;
		}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		snprintf(err, errlen, "version: not 1 (written by another "
		    "version of sluice?)");
		goto fail;
	}
	arr = json_object_get(root, "accounts");
	if (!json_is_array(arr) || json_array_size(arr) > ACCOUNTS_LIMIT) {
		snprintf(err, errlen, "accounts: not a list of at most %d "
		    "accounts", ACCOUNTS_LIMIT);
		goto fail;
	}
	if ((a = accounts_new(c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(arr, i, o) {
		struct account *acc = calloc(1, sizeof(*acc));

		if (acc == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		why = parse_account(o, acc);
		for (size_t k = 0; why == NULL && k < a->n; k++)
			if (strcasecmp(a->v[k]->name, acc->name) == 0)
				why = "name: another account has it (names are "
				    "compared ignoring case)";
		if (why != NULL) {
			where(at, sizeof(at), i, o);
			snprintf(err, errlen, "%s: %s", at, why);
			account_free(acc);
			goto fail;
		}
		acc->gen = ++a->gen;
		a->v[a->n++] = acc;
	}
	if (a->n > 0 && count_admins(a) == 0) {
		snprintf(err, errlen, "no administrator account (every store "
		    "keeps at least one)");
		goto fail;
	}
	json_decref(root);
	a->dirty = 0;
	return a;
fail:
	json_decref(root);
	accounts_free(a);
	return NULL;
}

struct accounts *
accounts_load(const char *path, const struct accounts_config *c,
    char *err, size_t errlen)
{
	struct accounts *a;
	char *buf, msg[256];
	size_t len;

	if (fsutil_read_file(path, ACCOUNTS_FILE_MAX, &buf, &len) < 0) {
		if (errno == ENOENT)
			return accounts_new(c);
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u bytes", path,
			    ACCOUNTS_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	a = accounts_parse(buf, len, c, msg, sizeof(msg));
	sodium_memzero(buf, len);
	free(buf);
	if (a == NULL)
		snprintf(err, errlen, "%s: %s", path, msg);
	return a;
}

unsigned
accounts_dirty(const struct accounts *a)
{
	return a->dirty;
}

unsigned
accounts_take_dirty(struct accounts *a)
{
	unsigned d = a->dirty;

	a->dirty = 0;
	return d;
}

int
accounts_save(struct accounts *a, const char *path)
{
	size_t len;
	char *text = accounts_serialize(a, &len);
	int rc, saved;

	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (a->dirty == ACCOUNTS_DIRTY_STATE)
		rc = fsutil_replace(path, text, len, 0600);
	else
		rc = fsutil_write_atomic(path, text, len, 0600, (uid_t)-1,
		    (gid_t)-1);
	saved = errno;
	sodium_memzero(text, len);
	free(text);
	if (rc == 0)
		a->dirty = 0;
	errno = saved;
	return rc;
}
