/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_accounts.c - accounts, password rules and lockout: every password
 * rule alone and in combination, UTF-8 lengths and classes, the shipped
 * list of well-known passwords, history through a fake verifier (answering
 * at once and later, cancelled, failing), lockout timelines on a fake
 * clock (account, source across accounts, ban threshold, IPv6 /64, the
 * LRU bound), unknown account vs wrong password, the setup token, account
 * limits and the last administrator, and the store's round trip and its
 * refusal of corrupt files.  Real Argon2id (at libsodium's minimum cost)
 * checks that real hashes are accepted and dummy hashes never verify.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "accounts.h"
#include "fsutil.h"
#include "policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define T0 ((time_t)1700000000)

static struct accounts_common *common;

/* ---- helpers ------------------------------------------------------------ */

/* The guide's suggestion (length 16, every class, lifetime, lockout). */
static struct accounts_config
cfg_hardened(void)
{
	struct accounts_config c = {
		.max_accounts = ACCOUNTS_DEFAULT_MAX,
		.min_length = 16,
		.require_digit = true, .require_upper = true,
		.require_lower = true, .require_special = true,
		.lifetime_days = 90, .history = 5, .reject_common = true,
		.lockout = true, .lockout_attempts = 5, .lockout_window_s = 300,
		.lockout_duration_s = 600, .source_attempts = 10,
		.source_ban_attempts = 20,
	};

	return c;
}

/* Length 8 only, no classes, no list. */
static struct accounts_config
cfg_plain(void)
{
	struct accounts_config c = cfg_hardened();

	c.min_length = 8;
	c.require_digit = c.require_upper = false;
	c.require_lower = c.require_special = false;
	c.reject_common = false;
	c.lifetime_days = 0;
	return c;
}

static struct accounts_config
cfg_common(void)
{
	struct accounts_config c = cfg_plain();

	c.reject_common = true;
	return c;
}

/*
 * A fake but well-formed Argon2id string for password pw: the "digest" is
 * BLAKE2b of the password, so fake_match() can verify it without Argon2.
 */
static void
fake_hash(const char *pw, char out[ACCOUNTS_HASH_MAX])
{
	uint8_t salt[16], dig[32];
	char s64[32], d64[48];

	crypto_generichash(salt, sizeof(salt), (const uint8_t *)pw, strlen(pw),
	    (const uint8_t *)"salt", 4);
	crypto_generichash(dig, sizeof(dig), (const uint8_t *)pw, strlen(pw),
	    NULL, 0);
	sodium_bin2base64(s64, sizeof(s64), salt, sizeof(salt),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(d64, sizeof(d64), dig, sizeof(dig),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(out, ACCOUNTS_HASH_MAX, "$argon2id$v=19$m=8,t=1,p=1$%s$%s",
	    s64, d64);
}

static int
fake_match(const char *hash, const char *pw, size_t len)
{
	uint8_t dig[32];
	char d64[64];
	const char *last = strrchr(hash, '$');

	crypto_generichash(dig, sizeof(dig), (const uint8_t *)pw, len, NULL, 0);
	sodium_bin2base64(d64, sizeof(d64), dig, sizeof(dig),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return last != NULL && strcmp(last + 1, d64) == 0;
}

static const char *
H(const char *pw)
{
	static char ring[8][ACCOUNTS_HASH_MAX];
	static unsigned k;
	char *out = ring[k++ % NELEM(ring)];

	fake_hash(pw, out);
	return out;
}

static struct accounts_source
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct accounts_source s = { .family = 4, .addr = { a, b, c, d } };

	return s;
}

static struct accounts_source
v6(uint16_t w0, uint16_t w3, uint16_t w7)
{
	struct accounts_source s = { .family = 6 };

	s.addr[0] = (uint8_t)(w0 >> 8);
	s.addr[1] = (uint8_t)w0;
	s.addr[6] = (uint8_t)(w3 >> 8);
	s.addr[7] = (uint8_t)w3;
	s.addr[14] = (uint8_t)(w7 >> 8);
	s.addr[15] = (uint8_t)w7;
	return s;
}

/* A store with admin "root1" (password "admin-pw") made through setup. */
static struct accounts *
store_with_admin(const struct accounts_config *c)
{
	struct accounts *a = accounts_new(c);
	struct accounts_result res;
	char tok[ACCOUNTS_TOKEN_TEXT];

	assert_non_null(a);
	assert_int_equal(accounts_setup_token_new(a, tok), 0);
	assert_int_equal(accounts_setup(a, tok, "root1", H("admin-pw"), NULL, T0,
	    &res), 0);
	return a;
}

/* One whole login with the fake verifier. */
static enum accounts_outcome
login(struct accounts *a, const char *name, const char *pw,
    const struct accounts_source *src, time_t now, struct accounts_result *res)
{
	struct accounts_attempt att;

	if (accounts_login_begin(a, name, src, now, &att, res) != ACCOUNTS_VERIFY)
		return res->outcome;
	accounts_login_finish(a, &att, fake_match(att.hash, pw, strlen(pw)),
	    now, res);
	return res->outcome;
}

/* ---- password rules ----------------------------------------------------- */

enum cfg_id { HARD, PLAIN, COMMON, CLASSES8 };

static struct accounts_config
cfg_by_id(enum cfg_id id)
{
	struct accounts_config c;

	switch (id) {
	case HARD:
		return cfg_hardened();
	case COMMON:
		return cfg_common();
	case CLASSES8:
		c = cfg_hardened();
		c.min_length = 8;
		c.reject_common = false;
		return c;
	case PLAIN:
	default:
		return cfg_plain();
	}
}

struct rule_case {
	enum cfg_id cfg;
	const char *name;
	const char *pw;
	size_t len;                     /* 0 = strlen */
	unsigned want;
};

#define SHORT   ACCOUNTS_PW_TOO_SHORT
#define DIGIT   ACCOUNTS_PW_NEED_DIGIT
#define UPPER   ACCOUNTS_PW_NEED_UPPER
#define LOWER   ACCOUNTS_PW_NEED_LOWER
#define SPECIAL ACCOUNTS_PW_NEED_SPECIAL
#define NAME    ACCOUNTS_PW_HAS_NAME
#define COMMONR ACCOUNTS_PW_COMMON

static const struct rule_case rule_cases[] = {
	/* hardened: 16 characters, every class, the list */
	{ HARD, "operator1", "Tr0ub4dor&3-horse-staple", 0, 0 },
	{ HARD, "operator1", "Sh0rt-but-Ok!", 0, SHORT },
	{ HARD, "operator1", "all-lower-case-letters-123", 0, UPPER },
	{ HARD, "operator1", "ALL-UPPER-CASE-LETTERS-123", 0, LOWER },
	{ HARD, "operator1", "No-Digits-In-This-Password", 0, DIGIT },
	{ HARD, "operator1", "NoSpecials1InThisPassword", 0, SPECIAL },
	{ HARD, "operator1", "nothing but lower case", 0, UPPER | DIGIT },
	{ HARD, "operator1", "x", 0, SHORT | DIGIT | UPPER | SPECIAL },
	{ HARD, "operator1", "", 0, SHORT | DIGIT | UPPER | LOWER | SPECIAL },
	{ HARD, "operator1", "1234567890123456", 0,
	    UPPER | LOWER | SPECIAL | COMMONR },
	{ HARD, "operator1", "Password", 0, SHORT | DIGIT | SPECIAL | COMMONR },
	{ HARD, "operator1", "Password1!", 0, SHORT | COMMONR },
	{ HARD, "operator1", "Password-2024-Summer!", 0, 0 },
	/* the account name, ignoring case, when it has 3 or more bytes */
	{ HARD, "operator1", "my-OPERATOR1-Pass!", 0, NAME },
	{ HARD, "operator1", "my-operator-1-Pass!", 0, 0 },
	{ HARD, "Bob", "The-BOB-of-2024-is-here", 0, NAME },
	{ HARD, "al", "Always-alert-Al-2024!", 0, 0 },
	{ HARD, NULL, "my-OPERATOR1-Pass!", 0, 0 },
	{ HARD, "operator1", "operator1", 0,
	    SHORT | UPPER | SPECIAL | NAME | COMMONR },
	/* control and invisible characters */
	{ HARD, "u1", "Valid-Password-1\tx", 0, ACCOUNTS_PW_CONTROL },
	{ HARD, "u1", "Valid-Password-1\x7f", 0, ACCOUNTS_PW_CONTROL },
	{ HARD, "u1", "Valid-Password-1\xc2\x85", 0, ACCOUNTS_PW_CONTROL },
	{ HARD, "u1", "Valid-Pass\xe2\x80\x8bword-12", 0, ACCOUNTS_PW_CONTROL },
	{ HARD, "u1", "Valid-Pass\xe2\x80\xaeword-12", 0, ACCOUNTS_PW_CONTROL },
	{ HARD, "u1", "Valid-Password-1\0x", 18, ACCOUNTS_PW_CONTROL },
	/* invalid UTF-8 is refused alone: nothing else can be judged */
	{ HARD, "u1", "Valid-Password-1\xff", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\xc0\xaf", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\xe0\x80\xaf", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\xed\xa0\x80", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\xe2\x82", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\xf4\x90\x80\x80", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "Valid-Password-1\x80", 0, ACCOUNTS_PW_BAD_UTF8 },
	{ HARD, "u1", "x\xff", 0, ACCOUNTS_PW_BAD_UTF8 },
	/* UTF-8: characters, not bytes */
	{ PLAIN, "u1", "\xc3\x84\xc3\x96\xc3\x9c\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f\xc3\xa9",
	    0, 0 },                                 /* ÄÖÜäöüßé: 8 chars, 16 bytes */
	{ PLAIN, "u1", "\xc3\x84\xc3\x96\xc3\x9c\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f",
	    0, SHORT },                             /* 7 chars, 14 bytes */
	{ PLAIN, "u1", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
	    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf", 0, SHORT },   /* 7 CJK, 21 bytes */
	{ PLAIN, "u1", "\xf0\x9f\x94\x92\xf0\x9f\x94\x91\xf0\x9f\x94\x92\xf0\x9f\x94\x91"
	    "\xf0\x9f\x94\x92\xf0\x9f\x94\x91\xf0\x9f\x94\x92\xf0\x9f\x94\x91", 0, 0 },
	{ PLAIN, "u1", "\xf0\x9f\x94\x92\xf0\x9f\x94\x91\xf0\x9f\x94\x92\xf0\x9f\x94\x91"
	    "\xf0\x9f\x94\x92\xf0\x9f\x94\x91\xf0\x9f\x94\x92", 0, SHORT },
	/* classes beyond ASCII */
	{ CLASSES8, "u1", "\xc3\x84rger-mit-1", 0, 0 },            /* Ärger */
	{ CLASSES8, "u1", "\xc3\xa4rger-mit-1", 0, UPPER },
	{ CLASSES8, "u1", "\xd0\x9f\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c-2024", 0, 0 },
	{ CLASSES8, "u1", "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c-2024", 0, UPPER },
	{ CLASSES8, "u1", "\xce\xa3\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82 1", 0, 0 },
	{ CLASSES8, "u1", "\xc5\x81\xc3\xb3" "d\xc5\xba 2024 x", 0, 0 },  /* Łódź */
	{ CLASSES8, "u1", "\xc5\x82\xc3\xb3" "d\xc5\xba-2024-x", 0, UPPER },
	{ CLASSES8, "u1", "ABCDEFGh1\xe6\x97\xa5", 0, 0 },         /* CJK = special */
	{ CLASSES8, "u1", "Abcdefgh 1", 0, 0 },                     /* space = special */
	{ CLASSES8, "u1", "Abcdefgh\xc3\x97" "1", 0, 0 },              /* × = special */
	{ CLASSES8, "u1", "Abcdefgh\xd9\xa1x", 0, DIGIT },          /* Arabic-Indic one */
	/* well-known passwords, ignoring case, and decorated */
	{ COMMON, "u1", "password", 0, COMMONR },
	{ COMMON, "u1", "PASSWORD", 0, COMMONR },
	{ COMMON, "u1", "PaSsWoRd", 0, COMMONR },
	{ COMMON, "u1", "123456", 0, SHORT | COMMONR },
	{ COMMON, "u1", "12345678", 0, COMMONR },
	{ COMMON, "u1", "qwertyuiop", 0, COMMONR },
	{ COMMON, "u1", "iloveyou", 0, COMMONR },
	{ COMMON, "u1", "p@ssw0rd", 0, COMMONR },
	{ COMMON, "u1", "Dragon2024!", 0, COMMONR },
	{ COMMON, "u1", "!!Monkey!!", 0, COMMONR },
	{ COMMON, "u1", "2024 letmein", 0, COMMONR },
	{ COMMON, "u1", "moxa", 0, SHORT | COMMONR },
	{ COMMON, "u1", "Moxa1234", 0, COMMONR },
	{ COMMON, "u1", "sluice-2024", 0, COMMONR },
	{ COMMON, "u1", "zzzzzzzzzzzz", 0, COMMONR },
	{ COMMON, "u1", "abcdefghijklmnop", 0, COMMONR },
	{ COMMON, "u1", "ABCDEFGHIJ", 0, COMMONR },
	{ COMMON, "u1", "87654321", 0, COMMONR },
	{ COMMON, "u1", "1234567890123456", 0, COMMONR },
	{ COMMON, "u1", "9876543210987", 0, COMMONR },
	{ COMMON, "u1", "zyxwvuts", 0, COMMONR },
	{ COMMON, "u1", "abcdefgz", 0, 0 },
	{ COMMON, "u1", "aabbccdd", 0, COMMONR },      /* listed */
	{ COMMON, "u1", "aabbccde", 0, 0 },
	{ COMMON, "u1", "1357913579", 0, 0 },
	{ COMMON, "u1", "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6",
	    0, COMMONR },
	{ COMMON, "u1", "correct horse battery staple", 0, 0 },
	{ COMMON, "u1", "xK9#mQ2$vL", 0, 0 },
	{ COMMON, "u1", "dragonfly-in-amber", 0, 0 },
	{ COMMON, "u1", "12abc34", 0, SHORT },                  /* core too short */
	{ PLAIN, "u1", "password", 0, 0 },                       /* rule off */
};

static void
test_password_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(rule_cases); i++) {
		const struct rule_case *t = &rule_cases[i];
		struct accounts_config c = cfg_by_id(t->cfg);
		size_t len = t->len ? t->len : strlen(t->pw);
		unsigned got = accounts_password_check(&c, common, t->name,
		    t->pw, len);

		if (got != t->want)
			fail_msg("case %zu (\"%s\"): got 0x%x, want 0x%x", i,
			    t->pw, got, t->want);
	}
}

static void
test_password_limits(void **state)
{
	struct accounts_config c = cfg_hardened();
	char pw[ACCOUNTS_PASSWORD_MAX + 2];

	(void)state;
	/* exactly the maximum is fine, one byte more is not */
	memset(pw, 'a', sizeof(pw));
	memcpy(pw, "Aa1!", 4);
	pw[ACCOUNTS_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(accounts_password_check(&c, common, "u1", pw,
	    ACCOUNTS_PASSWORD_MAX), 0);
	assert_int_equal(accounts_password_check(&c, common, "u1", pw,
	    ACCOUNTS_PASSWORD_MAX + 1), ACCOUNTS_PW_TOO_LONG);
	/* the list switched on but missing: fail closed */
	assert_int_equal(accounts_password_check(&c, NULL, "u1",
	    "Tr0ub4dor&3-horse-staple", 24), ACCOUNTS_PW_NO_LIST);
	c.reject_common = false;
	assert_int_equal(accounts_password_check(&c, NULL, "u1",
	    "Tr0ub4dor&3-horse-staple", 24), 0);
}

static void
test_rule_texts(void **state)
{
	struct accounts_config c = cfg_hardened();
	char buf[160];
	json_t *j;
	unsigned mask;

	(void)state;
	for (unsigned i = 0; i < ACCOUNTS_PW_RULE_COUNT; i++) {
		assert_non_null(accounts_pw_rule_name(1u << i));
		accounts_pw_rule_text(1u << i, &c, buf, sizeof(buf));
		assert_true(strlen(buf) > 10);
		assert_null(strstr(buf, "unknown"));
	}
	assert_null(accounts_pw_rule_name(1u << ACCOUNTS_PW_RULE_COUNT));
	assert_null(accounts_pw_rule_name(3));
	assert_string_equal(accounts_pw_rule_text(ACCOUNTS_PW_TOO_SHORT, &c,
	    buf, sizeof(buf)), "must be at least 16 characters long");
	assert_non_null(strstr(accounts_pw_rule_text(ACCOUNTS_PW_REUSED, &c,
	    buf, sizeof(buf)), "5"));

	/* every failed rule, in order, as the console shows them */
	mask = accounts_password_check(&c, common, "u1", "x", 1);
	j = accounts_pw_reasons_json(mask, &c);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(j, 0), "rule")), "too-short");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(j, 1), "rule")), "need-digit");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(j, 2), "rule")), "need-upper");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(j, 3), "rule")), "need-special");
	assert_non_null(json_string_value(json_object_get(
	    json_array_get(j, 0), "message")));
	json_decref(j);
	j = accounts_pw_reasons_json(0, &c);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

/* ---- the common list ---------------------------------------------------- */

static void
test_common_list(void **state)
{
	static const char *const listed[] = {
		"password", "123456", "PASSWORD", "Password", "QwErTy",
		"iloveyou", "trustno1", "moxa", "MOXA", "sluice", "admin",
		"letmein", "dragon", "1qaz2wsx",
	};
	static const char *const unlisted[] = {
		"Tr0ub4dor&3-horse", "correct horse battery staple",
		"passw0rd-sluice", "", "sluice-gateway-7",
	};
	char err[256];
	struct accounts_common *l;

	(void)state;
	assert_true(accounts_common_count(common) >= 49000);
	for (size_t i = 0; i < NELEM(listed); i++)
		if (!accounts_common_contains(common, listed[i], strlen(listed[i])))
			fail_msg("\"%s\" should be listed", listed[i]);
	for (size_t i = 0; i < NELEM(unlisted); i++)
		if (accounts_common_contains(common, unlisted[i],
		    strlen(unlisted[i])))
			fail_msg("\"%s\" should not be listed", unlisted[i]);
	/* the exact bytes count: no prefix or extension matches */
	assert_true(accounts_common_contains(common, "password1", 9));
	assert_true(accounts_common_contains(common, "password1", 8));
	assert_false(accounts_common_contains(common, "passwordx", 9));
	assert_false(accounts_common_contains(NULL, "password", 8));

	/* CR LF, blank lines, duplicates by case; built-ins are added */
	l = accounts_common_new("Alpha\r\nbeta\n\n\nALPHA\nalpha\ngamma", 31,
	    err, sizeof(err));
	assert_non_null(l);
	assert_true(accounts_common_contains(l, "alpha", 5));
	assert_true(accounts_common_contains(l, "GAMMA", 5));
	assert_true(accounts_common_contains(l, "moxa", 4));
	assert_false(accounts_common_contains(l, "alpha\r", 6));
	assert_false(accounts_common_contains(l, "delta", 5));
	assert_int_equal(accounts_common_count(l), 3 + 19);
	accounts_common_free(l);
	accounts_common_free(NULL);

	/* an empty or missing list is an error, not an empty rule */
	assert_null(accounts_common_new("\n\n\r\n", 5, err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
	assert_null(accounts_common_load("/nonexistent/common.txt", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/common.txt"));
}

/* ---- names and hashes --------------------------------------------------- */

static void
test_names_hashes(void **state)
{
	static const struct { const char *s; bool ok; } names[] = {
		{ "a", true }, { "ok.name_-1", true }, { "Admin", true },
		{ "abcdefghijklmnopqrstuvwxyz012345", true },     /* 32 */
		{ "abcdefghijklmnopqrstuvwxyz0123456", false },   /* 33 */
		{ "", false }, { "bad name", false }, { "a/b", false },
		{ "\xc3\xbcser", false }, { "a\nb", false }, { "root;", false },
	};
	char real[crypto_pwhash_STRBYTES], h[ACCOUNTS_HASH_MAX + 8];
	enum accounts_level lv;

	(void)state;
	for (size_t i = 0; i < NELEM(names); i++)
		if (accounts_name_valid(names[i].s) != names[i].ok)
			fail_msg("name \"%s\"", names[i].s);
	assert_false(accounts_name_valid(NULL));

	/* what libsodium makes is accepted */
	assert_int_equal(crypto_pwhash_str(real, "pw", 2,
	    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
	assert_true(accounts_hash_valid(real));
	assert_true(accounts_hash_valid(H("x")));
	assert_false(accounts_hash_valid(NULL));
	assert_false(accounts_hash_valid(""));
	assert_false(accounts_hash_valid("moxa"));
	assert_false(accounts_hash_valid(
	    "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"));
	assert_false(accounts_hash_valid(
	    "$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"));
	assert_false(accounts_hash_valid(
	    "$argon2id$v=19$m=08,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"));
	assert_false(accounts_hash_valid(
	    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$"));
	assert_false(accounts_hash_valid(
	    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0\n"));
	assert_true(accounts_hash_valid(
	    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"));
	/* one byte too long */
	snprintf(h, sizeof(h), "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$%0*d",
	    ACCOUNTS_HASH_MAX - 44, 0);
	assert_int_equal(strlen(h), ACCOUNTS_HASH_MAX);
	assert_false(accounts_hash_valid(h));
	h[ACCOUNTS_HASH_MAX - 1] = '\0';
	assert_true(accounts_hash_valid(h));

	assert_int_equal(accounts_level_parse("admin", &lv), 0);
	assert_int_equal(lv, ACCOUNTS_ADMIN);
	assert_int_equal(accounts_level_parse("user", &lv), 0);
	assert_int_equal(lv, ACCOUNTS_USER);
	assert_int_equal(accounts_level_parse("Admin", &lv), -1);
	assert_string_equal(accounts_level_name(ACCOUNTS_ADMIN), "admin");
}

/* ---- setup token -------------------------------------------------------- */

static void
test_setup_flow(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = accounts_new(&c);
	struct accounts_result res;
	struct accounts_source s = v4(192, 0, 2, 9);
	char tok[ACCOUNTS_TOKEN_TEXT], tok2[ACCOUNTS_TOKEN_TEXT], bad[ACCOUNTS_TOKEN_TEXT];
	unsigned ev;
	static const char *const defaults[][2] = {
		{ "admin", "moxa" }, { "admin", "" }, { "admin", "admin" },
		{ "root", "root" }, { "sluice", "sluice" },
	};

	(void)state;
	assert_true(accounts_setup_needed(a));
	/* no default account, whatever is tried */
	for (size_t i = 0; i < NELEM(defaults); i++)
		assert_int_equal(login(a, defaults[i][0], defaults[i][1], &s,
		    T0, &res), ACCOUNTS_LOGIN_FAILED);
	/* the first account only comes through setup */
	assert_int_equal(accounts_add(a, "admin", ACCOUNTS_ADMIN, H("x"), false,
	    T0, &ev), -1);
	assert_int_equal(errno, EPERM);
	/* before a token exists nothing matches */
	assert_false(accounts_setup_token_check(a, ""));
	assert_int_equal(accounts_setup(a, "", "boss", H("p"), &s, T0, &res), -1);
	assert_int_equal(res.outcome, ACCOUNTS_SETUP_BAD_TOKEN);

	assert_int_equal(accounts_setup_token_new(a, tok), 0);
	assert_int_equal(strlen(tok), 43);
	for (size_t i = 0; tok[i]; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		    tok[i]));
	/* a new token replaces the old one */
	assert_int_equal(accounts_setup_token_new(a, tok2), 0);
	assert_string_not_equal(tok, tok2);
	assert_false(accounts_setup_token_check(a, tok));
	assert_true(accounts_setup_token_check(a, tok2));

	/* wrong tokens: one character off, truncated, padded, junk, NULL */
	memcpy(bad, tok2, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_false(accounts_setup_token_check(a, bad));
	bad[0] = tok2[0];
	bad[42] = '\0';
	assert_false(accounts_setup_token_check(a, bad));
	assert_false(accounts_setup_token_check(a, "not a token"));
	assert_false(accounts_setup_token_check(a, NULL));
	assert_int_equal(accounts_setup(a, tok, "boss", H("p"), &s, T0, &res), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(res.outcome, ACCOUNTS_SETUP_BAD_TOKEN);
	assert_true(res.events & ACCOUNTS_EV_LOGIN_FAILED);
	assert_true(accounts_setup_needed(a));

	/* right token, refused name: the token stays valid */
	assert_int_equal(accounts_setup(a, tok2, "bad name", H("p"), &s, T0,
	    &res), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(accounts_setup_token_check(a, tok2));

	/* right token: the first administrator, and the token is spent */
	assert_int_equal(accounts_setup(a, tok2, "boss", H("boss-pw"), &s, T0,
	    &res), 0);
	assert_int_equal(res.outcome, ACCOUNTS_SETUP_DONE);
	assert_int_equal(res.events, ACCOUNTS_EV_ACCOUNT_ADDED);
	assert_false(accounts_setup_needed(a));
	assert_false(accounts_setup_token_check(a, tok2));
	assert_int_equal(accounts_setup(a, tok2, "boss2", H("p"), &s, T0, &res), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(res.outcome, ACCOUNTS_SETUP_BAD_TOKEN);
	assert_int_equal(accounts_count(a), 1);
	assert_int_equal(accounts_setup_token_new(a, tok), -1);
	assert_int_equal(errno, EPERM);
	/* the new admin logs in, not forced to change (it chose its password) */
	assert_int_equal(login(a, "boss", "boss-pw", &s, T0 + 1, &res),
	    ACCOUNTS_LOGIN_OK);
	assert_int_equal(res.level, ACCOUNTS_ADMIN);
	accounts_free(a);
}

static void
test_setup_token_bruteforce(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = accounts_new(&c);
	struct accounts_result res;
	struct accounts_source s = v4(198, 51, 100, 1);
	char tok[ACCOUNTS_TOKEN_TEXT];
	unsigned bans = 0;

	(void)state;
	assert_int_equal(accounts_setup_token_new(a, tok), 0);
	/* wrong tokens count for the source: locked at 10, ban at 20 */
	for (int i = 1; i <= 20; i++) {
		assert_int_equal(accounts_setup(a, "guess", "x1", H("p"), &s,
		    T0 + i, &res), -1);
		if (i < 10)
			assert_int_equal(res.outcome, ACCOUNTS_SETUP_BAD_TOKEN);
		if (i == 10)
			assert_true(res.events & ACCOUNTS_EV_SOURCE_LOCKED);
		if (i > 10)
			assert_int_equal(res.outcome, ACCOUNTS_LOGIN_SOURCE_LOCKED);
		bans += (res.events & ACCOUNTS_EV_BAN_SOURCE) != 0;
	}
	assert_int_equal(bans, 1);
	/* even the right token waits while the source is locked */
	assert_int_equal(accounts_setup(a, tok, "boss", H("p"), &s, T0 + 30,
	    &res), -1);
	assert_int_equal(res.outcome, ACCOUNTS_LOGIN_SOURCE_LOCKED);
	/* another source may */
	s = v4(198, 51, 100, 2);
	assert_int_equal(accounts_setup(a, tok, "boss", H("p"), &s, T0 + 30,
	    &res), 0);
	accounts_free(a);
}

/* ---- management --------------------------------------------------------- */

static void
test_manage(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_info in;
	char name[16];
	unsigned ev;
	json_t *j;

	(void)state;
	/* unique names, ignoring case */
	assert_int_equal(accounts_add(a, "root1", ACCOUNTS_USER, H("x"), true,
	    T0, &ev), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(accounts_add(a, "ROOT1", ACCOUNTS_USER, H("x"), true,
	    T0, &ev), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(ev, 0);
	/* invalid input */
	assert_int_equal(accounts_add(a, "a b", ACCOUNTS_USER, H("x"), true, T0,
	    NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(accounts_add(a, "ok", ACCOUNTS_USER, "moxa", true, T0,
	    NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(accounts_add(a, "ok", (enum accounts_level)7, H("x"),
	    true, T0, NULL), -1);
	assert_int_equal(errno, EINVAL);

	/* the limit: 16 accounts */
	for (int i = 2; i <= 16; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(accounts_add(a, name, ACCOUNTS_USER, H(name),
		    true, T0 + i, &ev), 0);
		assert_int_equal(ev, ACCOUNTS_EV_ACCOUNT_ADDED);
	}
	assert_int_equal(accounts_count(a), 16);
	assert_int_equal(accounts_add(a, "user17", ACCOUNTS_USER, H("x"), true,
	    T0, &ev), -1);
	assert_int_equal(errno, ENOSPC);

	/* the last administrator can be neither removed nor demoted */
	assert_int_equal(accounts_remove(a, "root1", &ev), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(accounts_set_level(a, "root1", ACCOUNTS_USER, &ev), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(accounts_set_level(a, "user2", ACCOUNTS_ADMIN, &ev), 0);
	assert_int_equal(ev, ACCOUNTS_EV_ACCOUNT_CHANGED);
	assert_int_equal(accounts_set_level(a, "user2", ACCOUNTS_ADMIN, &ev), 0);
	assert_int_equal(ev, 0);                        /* no change, no event */
	assert_int_equal(accounts_remove(a, "root1", &ev), 0);
	assert_int_equal(ev, ACCOUNTS_EV_ACCOUNT_REMOVED);
	assert_int_equal(accounts_remove(a, "user2", &ev), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(accounts_remove(a, "nobody", &ev), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(accounts_count(a), 15);
	assert_int_equal(accounts_add(a, "user17", ACCOUNTS_USER, H("x"), true,
	    T0, &ev), 0);

	/* listing: creation order, no hashes */
	assert_int_equal(accounts_get(a, 0, T0, &in), 0);
	assert_string_equal(in.name, "user2");
	assert_int_equal(in.level, ACCOUNTS_ADMIN);
	assert_true(in.must_change);
	assert_int_equal(in.expires, in.changed + 90 * 86400);
	assert_int_equal(accounts_get(a, 16, T0, &in), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(accounts_find(a, "user17", T0, &in), 0);
	assert_int_equal(accounts_find(a, "USER17", T0, &in), -1);
	j = accounts_json(a, T0);
	assert_int_equal(json_array_size(j), 16);
	{
		char *text = json_dumps(j, 0);

		assert_null(strstr(text, "argon2"));
		assert_null(strstr(text, "hash"));
		free(text);
	}
	json_decref(j);
	accounts_free(a);
}

/* ---- lockout ------------------------------------------------------------ */

struct step {
	int t;                          /* seconds after T0 */
	int src;                        /* index into srcs[] */
	const char *name;
	bool right;                     /* the right password */
	enum accounts_outcome want;
	unsigned events;                /* exactly */
	unsigned failures;
};

#define F  ACCOUNTS_EV_LOGIN_FAILED
#define AL ACCOUNTS_EV_ACCOUNT_LOCKED
#define OK ACCOUNTS_EV_LOGIN

/* 5 failures lock for 600 s within a 300 s window; sources differ so
 * that no source reaches its own threshold. */
static const struct step account_timeline[] = {
	{ 0, 0, "op", false, ACCOUNTS_LOGIN_FAILED, F, 1 },
	{ 1, 1, "op", false, ACCOUNTS_LOGIN_FAILED, F, 2 },
	{ 2, 2, "op", false, ACCOUNTS_LOGIN_FAILED, F, 3 },
	{ 3, 3, "op", false, ACCOUNTS_LOGIN_FAILED, F, 4 },
	{ 4, 4, "op", false, ACCOUNTS_LOGIN_LOCKED, F | AL, 5 },
	/* locked even with the right password; the lock is not extended */
	{ 5, 5, "op", true, ACCOUNTS_LOGIN_LOCKED, F, 5 },
	{ 300, 0, "op", false, ACCOUNTS_LOGIN_LOCKED, F, 5 },
	{ 603, 1, "op", true, ACCOUNTS_LOGIN_LOCKED, F, 5 },
	/* other accounts are not affected */
	{ 10, 2, "op2", true, ACCOUNTS_LOGIN_OK, OK, 0 },
	/* 600 s after the 5th failure: open, and success resets */
	{ 604, 2, "op", true, ACCOUNTS_LOGIN_OK, OK, 0 },
	/* a fresh count: four failures, success, four more: never locked */
	{ 700, 3, "op", false, ACCOUNTS_LOGIN_FAILED, F, 1 },
	{ 701, 4, "op", false, ACCOUNTS_LOGIN_FAILED, F, 2 },
	{ 702, 5, "op", false, ACCOUNTS_LOGIN_FAILED, F, 3 },
	{ 703, 0, "op", false, ACCOUNTS_LOGIN_FAILED, F, 4 },
	{ 704, 1, "op", true, ACCOUNTS_LOGIN_OK, OK, 0 },
	{ 705, 2, "op", false, ACCOUNTS_LOGIN_FAILED, F, 1 },
	{ 706, 3, "op", false, ACCOUNTS_LOGIN_FAILED, F, 2 },
	{ 707, 4, "op", false, ACCOUNTS_LOGIN_FAILED, F, 3 },
	{ 708, 5, "op", false, ACCOUNTS_LOGIN_FAILED, F, 4 },
	/* the window (300 s from the first failure) passed: count restarts */
	{ 1005, 0, "op", false, ACCOUNTS_LOGIN_FAILED, F, 1 },
	{ 1006, 1, "op", false, ACCOUNTS_LOGIN_FAILED, F, 2 },
};

static void
run_steps(struct accounts *a, const struct step *steps, size_t n,
    const struct accounts_source *srcs)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		struct accounts_result res;
		char pw[64];

		snprintf(pw, sizeof(pw), "%s-pw", s->name);
		if (!s->right)
			strcat(pw, "-wrong");
		login(a, s->name, pw, &srcs[s->src], T0 + s->t, &res);
		if (res.outcome != s->want || res.events != s->events ||
		    (s->failures != 0 && res.failures != s->failures))
			fail_msg("step %zu (t=%d %s): outcome %d events 0x%x "
			    "failures %u; want %d 0x%x %u", i, s->t, s->name,
			    res.outcome, res.events, res.failures, s->want,
			    s->events, s->failures);
	}
}

static void
test_lockout_account(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_source srcs[6];
	struct accounts_result res;
	struct accounts_info in;

	(void)state;
	c.lifetime_days = 0;
	accounts_set_config(a, &c);
	for (int i = 0; i < 6; i++)
		srcs[i] = v4(10, 0, 0, (uint8_t)(i + 1));
	assert_int_equal(accounts_add(a, "op", ACCOUNTS_USER, H("op-pw"), false,
	    T0, NULL), 0);
	assert_int_equal(accounts_add(a, "op2", ACCOUNTS_USER, H("op2-pw"), false,
	    T0, NULL), 0);
	run_steps(a, account_timeline, NELEM(account_timeline), srcs);

	/* the lock survives a restart: lock, save, load */
	for (int i = 0; i < 5; i++)
		login(a, "op2", "nope", &srcs[i], T0 + 2000 + i, &res);
	assert_int_equal(res.outcome, ACCOUNTS_LOGIN_LOCKED);
	assert_int_equal(res.retry_at, T0 + 2004 + 600);
	{
		size_t len;
		char *text = accounts_serialize(a, &len), err[256];
		struct accounts *b = accounts_parse(text, len, &c, err,
		    sizeof(err));

		assert_non_null(b);
		assert_int_equal(accounts_find(b, "op2", T0 + 2100, &in), 0);
		assert_int_equal(in.locked_until, T0 + 2604);
		assert_int_equal(in.failures, 5);
		assert_int_equal(login(b, "op2", "op2-pw", &srcs[5], T0 + 2100,
		    &res), ACCOUNTS_LOGIN_LOCKED);
		assert_int_equal(login(b, "op2", "op2-pw", &srcs[5], T0 + 2604,
		    &res), ACCOUNTS_LOGIN_OK);
		accounts_free(b);
		free(text);
	}

	/* the clock went back a day: a lock never lasts more than one duration */
	assert_int_equal(accounts_find(a, "op2", T0 - 86400, &in), 0);
	assert_int_equal(in.locked_until, T0 - 86400 + 600);

	/* an administrator unlocks */
	assert_int_equal(accounts_unlock(a, "op2", NULL), 0);
	assert_int_equal(login(a, "op2", "op2-pw", &srcs[5], T0 + 2010, &res),
	    ACCOUNTS_LOGIN_OK);

	/* lockout switched off: failures counted, nothing locks */
	c.lockout = false;
	accounts_set_config(a, &c);
	for (int i = 0; i < 30; i++) {
		login(a, "op", "nope", &srcs[0], T0 + 3000 + i, &res);
		assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
		assert_int_equal(res.events, ACCOUNTS_EV_LOGIN_FAILED);
	}
	assert_int_equal(login(a, "op", "op-pw", &srcs[0], T0 + 3031, &res),
	    ACCOUNTS_LOGIN_OK);
	accounts_free(a);
}

/* The source threshold (10) across accounts, and the ban at 20. */
static void
test_lockout_source(void **state)
{
	static const char *const names[] = { "u1", "u2", "u3", "ghost" };
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_source s = v4(203, 0, 113, 7), other = v4(203, 0, 113, 8);
	struct accounts_attempt att;
	struct accounts_result res;
	time_t until;
	int t = 0, bans = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(accounts_add(a, names[i], ACCOUNTS_USER,
		    H("right"), false, T0, NULL), 0);
	/* 10 failures over 4 names, at most 3 each: no account locks,
	 * the 10th locks the source */
	for (int i = 1; i <= 10; i++) {
		login(a, names[i % 4], "wrong", &s, T0 + ++t, &res);
		assert_int_equal(res.events & ACCOUNTS_EV_ACCOUNT_LOCKED, 0);
		if (i < 10) {
			assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
			assert_int_equal(res.events, ACCOUNTS_EV_LOGIN_FAILED);
		} else {
			assert_true(res.events & ACCOUNTS_EV_SOURCE_LOCKED);
			assert_int_equal(res.retry_at, T0 + t + 600);
		}
	}
	assert_true(accounts_source_locked(a, &s, T0 + t, &until));
	assert_int_equal(until, T0 + 10 + 600);
	/* refused at begin, without a hash to verify, even the right password */
	assert_int_equal(accounts_login_begin(a, "u1", &s, T0 + ++t, &att, &res),
	    ACCOUNTS_LOGIN_SOURCE_LOCKED);
	assert_int_equal(att.hash[0], '\0');
	assert_int_equal(res.retry_at, T0 + 610);
	/* another address is not affected */
	assert_int_equal(login(a, "u1", "right", &other, T0 + t, &res),
	    ACCOUNTS_LOGIN_OK);
	/* keep hammering: the ban is asked for at 20, again at 40 */
	for (int i = 12; i <= 45; i++) {
		login(a, "u2", "right", &s, T0 + ++t, &res);
		assert_int_equal(res.outcome, ACCOUNTS_LOGIN_SOURCE_LOCKED);
		assert_int_equal(res.events & ~ACCOUNTS_EV_BAN_SOURCE, 0);
		if (res.events & ACCOUNTS_EV_BAN_SOURCE) {
			bans++;
			assert_true(i == 20 || i == 40);
			assert_int_equal(res.failures, (unsigned)i);
		}
	}
	assert_int_equal(bans, 2);
	/* after the lock: a fresh start, and the right password works */
	assert_false(accounts_source_locked(a, &s, T0 + 610, NULL));
	assert_int_equal(login(a, "u2", "right", &s, T0 + 610, &res),
	    ACCOUNTS_LOGIN_OK);
	/* success resets the source: 9 failures, success, 9 failures */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 9; i++) {
			login(a, names[i % 4], "wrong", &s, T0 + 700 + i, &res);
			assert_int_equal(res.events & ACCOUNTS_EV_SOURCE_LOCKED, 0);
		}
		assert_int_equal(login(a, "u3", "right", &s, T0 + 710, &res),
		    ACCOUNTS_LOGIN_OK);
	}
	accounts_free(a);
}

static void
test_source_keys(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_source x1 = v6(0x2001, 0, 1), x2 = v6(0x2001, 0, 2);
	struct accounts_source y = v6(0x2001, 1, 1), mapped = { .family = 6 };
	struct accounts_source plain = v4(192, 0, 2, 1), local = { 0 };
	struct accounts_result res;

	(void)state;
	/* IPv6: one /64 counts as one source */
	for (int i = 0; i < 10; i++)
		login(a, "nobody", "x", i % 2 ? &x1 : &x2, T0 + i, &res);
	assert_true(res.events & ACCOUNTS_EV_SOURCE_LOCKED);
	assert_true(accounts_source_locked(a, &x1, T0 + 10, NULL));
	assert_true(accounts_source_locked(a, &x2, T0 + 10, NULL));
	assert_false(accounts_source_locked(a, &y, T0 + 10, NULL));
	/* an IPv4-mapped address is its IPv4 address */
	mapped.addr[10] = mapped.addr[11] = 0xff;
	mapped.addr[12] = 192;
	mapped.addr[14] = 2;
	mapped.addr[15] = 1;
	for (int i = 0; i < 5; i++) {
		login(a, "nobody", "x", &plain, T0 + i, &res);
		login(a, "nobody", "x", &mapped, T0 + i, &res);
	}
	assert_true(accounts_source_locked(a, &plain, T0 + 10, NULL));
	/* local (family 0) and no source are never counted or locked */
	for (int i = 0; i < 50; i++) {
		login(a, "nobody", "x", &local, T0 + i, &res);
		assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
		login(a, "nobody", "x", NULL, T0 + i, &res);
		assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
	}
	/* x1/x2 (one /64) and 192.0.2.1 (also as ::ffff:192.0.2.1) */
	assert_int_equal(accounts_source_count(a), 2);
	accounts_free(a);
}

static void
test_source_lru(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_source locked = v4(198, 18, 255, 255), s;
	struct accounts_result res;
	struct timespec t0, t1;

	(void)state;
	for (int i = 0; i < 10; i++)
		login(a, "nobody", "x", &locked, T0, &res);
	assert_true(accounts_source_locked(a, &locked, T0 + 1, NULL));
	/* 3000 more sources, one failure each: the table stays bounded, the
	 * oldest idle entries go first, the locked one stays */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 3000; i++) {
		s = v4(198, 18, (uint8_t)(i >> 8), (uint8_t)i);
		login(a, "nobody", "x", &s, T0 + 1 + i / 100, &res);
		assert_int_equal(res.failures, 1);
		assert_true(accounts_source_count(a) <= ACCOUNTS_SOURCES_MAX);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(accounts_source_count(a), ACCOUNTS_SOURCES_MAX);
	assert_true(accounts_source_locked(a, &locked, T0 + 40, NULL));
	/* the newest is still counted, the oldest was evicted */
	s = v4(198, 18, 2999 >> 8, 2999 & 0xff);
	login(a, "nobody", "x", &s, T0 + 40, &res);
	assert_int_equal(res.failures, 2);
	s = v4(198, 18, 0, 0);
	login(a, "nobody", "x", &s, T0 + 40, &res);
	assert_int_equal(res.failures, 1);
	print_message("source table: 3000 failed logins (full table, dummy "
	    "hashes) in %.1f ms\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	accounts_free(a);
}

/* ---- unknown account vs wrong password ---------------------------------- */

static size_t
params_len(const char *h)
{
	const char *p = strstr(h, ",p=");

	return p == NULL ? 0 : (size_t)(strchr(p, '$') - h);
}

static void
test_unknown_vs_wrong(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a;
	struct accounts_attempt att, att2;
	struct accounts_result wrong, unknown, locked;
	struct accounts_source s1 = v4(10, 1, 1, 1), s2 = v4(10, 1, 1, 2);
	char real[crypto_pwhash_STRBYTES];

	(void)state;
	/* a real hash at libsodium's minimum cost */
	assert_int_equal(crypto_pwhash_str(real, "right-pw", 8,
	    crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
	a = accounts_new(&c);
	{
		char tok[ACCOUNTS_TOKEN_TEXT];
		struct accounts_result r;

		accounts_setup_token_new(a, tok);
		assert_int_equal(accounts_setup(a, tok, "boss", real, NULL, T0,
		    &r), 0);
	}
	/* known name: its hash; unknown name: a dummy of the same cost */
	assert_int_equal(accounts_login_begin(a, "boss", &s1, T0, &att, &wrong),
	    ACCOUNTS_VERIFY);
	assert_string_equal(att.hash, real);
	assert_int_equal(accounts_login_begin(a, "nobody", &s2, T0, &att2,
	    &unknown), ACCOUNTS_VERIFY);
	assert_true(accounts_hash_valid(att2.hash));
	assert_string_not_equal(att2.hash, real);
	assert_int_equal(params_len(att2.hash), params_len(real));
	assert_memory_equal(att2.hash, real, params_len(real));
	/* a dummy never verifies, whatever the password */
	assert_int_not_equal(crypto_pwhash_str_verify(att2.hash, "right-pw", 8), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(att2.hash, "", 0), 0);

	accounts_login_finish(a, &att, crypto_pwhash_str_verify(att.hash,
	    "wrong-pw", 8) == 0, T0, &wrong);
	accounts_login_finish(a, &att2, crypto_pwhash_str_verify(att2.hash,
	    "wrong-pw", 8) == 0, T0, &unknown);
	/* the same outcome, the same events, the same public text */
	assert_int_equal(wrong.outcome, ACCOUNTS_LOGIN_FAILED);
	assert_int_equal(unknown.outcome, ACCOUNTS_LOGIN_FAILED);
	assert_int_equal(wrong.events, unknown.events);
	assert_false(wrong.unknown_account);
	assert_true(unknown.unknown_account);
	assert_string_equal(accounts_outcome_public(ACCOUNTS_LOGIN_FAILED),
	    accounts_outcome_public(ACCOUNTS_LOGIN_LOCKED));
	/* invalid names are just unknown */
	assert_int_equal(login(a, "../../etc/passwd", "x", &s2, T0, &unknown),
	    ACCOUNTS_LOGIN_FAILED);
	assert_true(unknown.unknown_account);
	assert_int_equal(login(a, NULL, "x", &s2, T0, &unknown),
	    ACCOUNTS_LOGIN_FAILED);

	/* a locked account hands out a dummy too, with the account's cost */
	for (int i = 0; i < 5; i++) {
		accounts_login_begin(a, "boss", &s1, T0 + i, &att, &locked);
		accounts_login_finish(a, &att, 0, T0 + i, &locked);
	}
	assert_int_equal(locked.outcome, ACCOUNTS_LOGIN_LOCKED);
	assert_int_equal(accounts_login_begin(a, "boss", &s1, T0 + 10, &att,
	    &locked), ACCOUNTS_VERIFY);
	assert_string_not_equal(att.hash, real);
	assert_memory_equal(att.hash, real, params_len(real));
	/* a caller that wrongly reports a match still gets no login */
	accounts_login_finish(a, &att, 1, T0 + 10, &locked);
	assert_int_equal(locked.outcome, ACCOUNTS_LOGIN_LOCKED);

	/*
	 * Accounts at mixed costs (a changed password_policy.hash before
	 * their next sign-in): each unknown name keeps one real account's
	 * cost from try to try, and the names spread over both costs.
	 */
	{
		struct accounts_source s3 = v4(10, 1, 1, 3);
		char name[16], first[ACCOUNTS_HASH_MAX];
		char other[ACCOUNTS_HASH_MAX];
		const char *m16 = "$argon2id$v=19$m=16,t=1,p=1$";
		unsigned as_real = 0, as_other = 0, ev;

		/* real has m=8,t=1: other's is m=16 */
		snprintf(other, sizeof(other), "%s%s", m16,
		    H("other-pw") + params_len(H("other-pw")) + 1);
		assert_int_equal(accounts_add(a, "other", ACCOUNTS_USER,
		    other, false, T0, &ev), 0);
		for (int i = 0; i < 64; i++) {
			snprintf(name, sizeof(name), "ghost%d", i);
			accounts_login_begin(a, name, &s3, T0 + 20, &att,
			    &unknown);
			assert_int_equal(unknown.outcome, ACCOUNTS_VERIFY);
			snprintf(first, sizeof(first), "%s", att.hash);
			accounts_login_begin(a, name, &s3, T0 + 20, &att,
			    &unknown);
			assert_int_equal(params_len(att.hash),
			    params_len(first));
			assert_memory_equal(att.hash, first,
			    params_len(first));
			if (memcmp(att.hash, real, params_len(real)) == 0)
				as_real++;
			else if (memcmp(att.hash, m16, strlen(m16)) == 0)
				as_other++;
		}
		assert_int_equal(as_real + as_other, 64);
		assert_true(as_real > 0 && as_other > 0);
	}

	/* the dummy for an empty store has libsodium's INTERACTIVE cost */
	accounts_free(a);
	a = accounts_new(&c);
	accounts_login_begin(a, "x", NULL, T0, &att, &locked);
	assert_memory_equal(att.hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31);
	accounts_free(a);
}

static void
test_attempt_races(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_attempt att;
	struct accounts_result res;
	struct accounts_info in;

	(void)state;
	assert_int_equal(accounts_add(a, "op", ACCOUNTS_USER, H("old"), false, T0,
	    NULL), 0);
	/* the password changed while the old one was being verified */
	accounts_login_begin(a, "op", NULL, T0, &att, &res);
	assert_int_equal(accounts_set_password(a, "op", H("new"), false, T0,
	    NULL), 0);
	accounts_login_finish(a, &att, 1, T0, &res);
	assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
	/* deleted meanwhile */
	accounts_login_begin(a, "op", NULL, T0, &att, &res);
	assert_int_equal(accounts_remove(a, "op", NULL), 0);
	accounts_login_finish(a, &att, 1, T0, &res);
	assert_int_equal(res.outcome, ACCOUNTS_LOGIN_FAILED);
	/* the verifier failed: an error, nothing counted */
	accounts_login_begin(a, "root1", NULL, T0, &att, &res);
	accounts_login_finish(a, &att, -1, T0, &res);
	assert_int_equal(res.outcome, ACCOUNTS_LOGIN_ERROR);
	assert_int_equal(res.events, 0);
	assert_int_equal(accounts_find(a, "root1", T0, &in), 0);
	assert_int_equal(in.failures, 0);
	accounts_free(a);
}

/* ---- temporary and expired passwords ------------------------------------ */

static void
test_must_change(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct accounts_result res;
	struct accounts_info in;
	unsigned ev;
	const time_t day = 86400;

	(void)state;
	/* an administrator's temporary password */
	assert_int_equal(accounts_add(a, "op", ACCOUNTS_USER, H("temp"), true, T0,
	    NULL), 0);
	assert_int_equal(login(a, "op", "temp", NULL, T0 + 1, &res),
	    ACCOUNTS_LOGIN_CHANGE_PASSWORD);
	assert_int_equal(res.events, ACCOUNTS_EV_LOGIN);
	assert_int_equal(accounts_set_password(a, "op", H("mine"), false, T0 + 2,
	    &ev), 0);
	assert_int_equal(ev, ACCOUNTS_EV_PASSWORD_CHANGED);
	assert_int_equal(login(a, "op", "mine", NULL, T0 + 3, &res),
	    ACCOUNTS_LOGIN_OK);
	assert_int_equal(login(a, "op", "temp", NULL, T0 + 4, &res),
	    ACCOUNTS_LOGIN_FAILED);
	/* lifetime 90 days from the change */
	assert_int_equal(login(a, "op", "mine", NULL, T0 + 2 + 90 * day - 1, &res),
	    ACCOUNTS_LOGIN_OK);
	assert_int_equal(login(a, "op", "mine", NULL, T0 + 2 + 90 * day, &res),
	    ACCOUNTS_LOGIN_CHANGE_PASSWORD);
	assert_int_equal(accounts_find(a, "op", T0 + 2 + 90 * day, &in), 0);
	assert_true(in.must_change);
	assert_int_equal(in.expires, T0 + 2 + 90 * day);
	assert_int_equal(in.last_login, T0 + 2 + 90 * day);
	/* lifetime 0: never expires */
	c.lifetime_days = 0;
	accounts_set_config(a, &c);
	assert_int_equal(login(a, "op", "mine", NULL, T0 + 3650 * day, &res),
	    ACCOUNTS_LOGIN_OK);
	assert_int_equal(accounts_find(a, "op", T0, &in), 0);
	assert_int_equal(in.expires, 0);
	/* a rehash keeps everything else */
	assert_int_equal(accounts_rehash(a, "op", H("mine")), 0);
	assert_int_equal(accounts_rehash(a, "op", "junk"), -1);
	assert_int_equal(accounts_rehash(a, "nobody", H("x")), -1);
	accounts_free(a);
}

/* ---- history ------------------------------------------------------------ */

struct fake_verifier {
	bool async;
	bool fail;
	size_t calls;
	size_t nq;
	struct {
		int result;
		accounts_verify_done_fn done;
		void *ctx;
	} q[64];
};

static void
fake_verify(void *arg, const char *hash, const char *password, size_t len,
    accounts_verify_done_fn done, void *ctx)
{
	struct fake_verifier *v = arg;
	int r = v->fail ? -1 : fake_match(hash, password, len);

	v->calls++;
	if (!v->async) {
		done(ctx, r);
		return;
	}
	assert_true(v->nq < NELEM(v->q));
	v->q[v->nq].result = r;
	v->q[v->nq].done = done;
	v->q[v->nq].ctx = ctx;
	v->nq++;
}

/* Answer the oldest pending verification. */
static bool
answer_one(struct fake_verifier *v)
{
	int r;
	accounts_verify_done_fn done;
	void *ctx;

	if (v->nq == 0)
		return false;
	r = v->q[0].result;
	done = v->q[0].done;
	ctx = v->q[0].ctx;
	memmove(&v->q[0], &v->q[1], (v->nq - 1) * sizeof(v->q[0]));
	v->nq--;
	done(ctx, r);
	return true;
}

struct reuse_seen {
	int calls;
	enum accounts_reuse_result result;
};

static void
reuse_done(void *arg, enum accounts_reuse_result r)
{
	struct reuse_seen *s = arg;

	s->calls++;
	s->result = r;
}

/* Run one check to the end, synchronously or by answering the queue. */
static enum accounts_reuse_result
check_reuse(struct accounts *a, struct fake_verifier *v, const char *name,
    const char *pw)
{
	struct reuse_seen seen = { 0, ACCOUNTS_REUSE_PENDING };
	struct accounts_reuse *h = NULL;
	enum accounts_reuse_result r;
	int rounds = 0;

	r = accounts_reuse_start(a, name, pw, strlen(pw), fake_verify, v,
	    reuse_done, &seen, &h);
	assert_int_equal(seen.calls, 0);        /* never from inside start */
	if (r != ACCOUNTS_REUSE_PENDING) {
		assert_null(h);
		return r;
	}
	assert_non_null(h);
	while (answer_one(v))
		assert_true(++rounds <= ACCOUNTS_HISTORY_MAX + 1);
	assert_int_equal(seen.calls, 1);
	return seen.result;
}

struct reuse_case {
	const char *pw;
	enum accounts_reuse_result want;
	size_t calls;                   /* verifications it takes */
};

static void
test_history(void **state)
{
	/* set p0 at creation, then p1..p6: current p6, history p5..p1 */
	static const struct reuse_case cases[] = {
		{ "p6", ACCOUNTS_REUSE_REUSED, 1 },
		{ "p5", ACCOUNTS_REUSE_REUSED, 2 },
		{ "p1", ACCOUNTS_REUSE_REUSED, 6 },
		{ "p0", ACCOUNTS_REUSE_NEW, 6 },
		{ "fresh", ACCOUNTS_REUSE_NEW, 6 },
	};
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	char hashes[ACCOUNTS_HISTORY_MAX + 1][ACCOUNTS_HASH_MAX], pw[8];
	size_t n;

	(void)state;
	assert_int_equal(accounts_add(a, "op", ACCOUNTS_USER, H("p0"), true, T0,
	    NULL), 0);
	assert_int_equal(accounts_reuse_hashes(a, "op", hashes, NELEM(hashes), &n),
	    0);
	assert_int_equal(n, 1);
	for (int i = 1; i <= 6; i++) {
		snprintf(pw, sizeof(pw), "p%d", i);
		assert_int_equal(accounts_set_password(a, "op", H(pw), false,
		    T0 + i, NULL), 0);
	}
	assert_int_equal(accounts_reuse_hashes(a, "op", hashes, NELEM(hashes), &n),
	    0);
	assert_int_equal(n, 6);
	assert_string_equal(hashes[0], H("p6"));
	assert_string_equal(hashes[1], H("p5"));
	assert_string_equal(hashes[5], H("p1"));
	assert_int_equal(accounts_reuse_hashes(a, "op", hashes, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(accounts_reuse_hashes(a, "nobody", hashes, 2, &n), -1);

	for (int mode = 0; mode < 2; mode++) {
		for (size_t i = 0; i < NELEM(cases); i++) {
			struct fake_verifier v = { .async = mode == 1 };

			if (check_reuse(a, &v, "op", cases[i].pw) != cases[i].want)
				fail_msg("%s: \"%s\"", mode ? "async" : "sync",
				    cases[i].pw);
			assert_int_equal(v.calls, cases[i].calls);
		}
	}
	/* a smaller history applies at once to the check, to storage at the
	 * next change; history 0 still refuses the current password */
	c.history = 2;
	accounts_set_config(a, &c);
	{
		struct fake_verifier v = { 0 };

		assert_int_equal(check_reuse(a, &v, "op", "p4"),
		    ACCOUNTS_REUSE_REUSED);
		assert_int_equal(check_reuse(a, &v, "op", "p3"),
		    ACCOUNTS_REUSE_NEW);
		c.history = 0;
		accounts_set_config(a, &c);
		assert_int_equal(check_reuse(a, &v, "op", "p5"),
		    ACCOUNTS_REUSE_NEW);
		assert_int_equal(check_reuse(a, &v, "op", "p6"),
		    ACCOUNTS_REUSE_REUSED);
		assert_int_equal(accounts_set_password(a, "op", H("p7"), false,
		    T0 + 7, NULL), 0);
		assert_int_equal(accounts_reuse_hashes(a, "op", hashes,
		    NELEM(hashes), &n), 0);
		assert_int_equal(n, 1);
	}
	/* a failing verifier: an error, both ways */
	{
		struct fake_verifier v = { .fail = true };

		assert_int_equal(check_reuse(a, &v, "op", "p7"),
		    ACCOUNTS_REUSE_ERROR);
		v.async = true;
		assert_int_equal(check_reuse(a, &v, "op", "p7"),
		    ACCOUNTS_REUSE_ERROR);
	}
	/* unknown account */
	{
		struct fake_verifier v = { 0 };

		errno = 0;
		assert_int_equal(check_reuse(a, &v, "nobody", "x"),
		    ACCOUNTS_REUSE_ERROR);
		assert_int_equal(errno, ENOENT);
		assert_int_equal(v.calls, 0);
	}
	accounts_free(a);
}

static void
test_history_cancel(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c);
	struct fake_verifier v = { .async = true };
	struct reuse_seen seen = { 0, ACCOUNTS_REUSE_PENDING };
	struct accounts_reuse *h = NULL;

	(void)state;
	for (int i = 1; i <= 3; i++) {
		char pw[8];

		snprintf(pw, sizeof(pw), "q%d", i);
		accounts_set_password(a, "root1", H(pw), false, T0 + i, NULL);
	}
	assert_int_equal(accounts_reuse_start(a, "root1", "zz", 2, fake_verify, &v,
	    reuse_done, &seen, &h), ACCOUNTS_REUSE_PENDING);
	assert_int_equal(v.nq, 1);
	answer_one(&v);                 /* one answered, the next is pending */
	assert_int_equal(v.nq, 1);
	accounts_reuse_cancel(h);       /* the client went away */
	answer_one(&v);                 /* the late answer frees it */
	assert_int_equal(v.nq, 0);
	assert_int_equal(seen.calls, 0);
	assert_int_equal(v.calls, 2);
	accounts_reuse_cancel(NULL);
	accounts_free(a);
}

/* ---- persistence -------------------------------------------------------- */

static char tmpdir[64];

static void
path_in_tmp(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static struct accounts *
sample_store(const struct accounts_config *c)
{
	struct accounts *a = store_with_admin(c);
	struct accounts_result res;

	accounts_add(a, "op", ACCOUNTS_USER, H("op1"), true, T0 + 5, NULL);
	accounts_add(a, "eng.2", ACCOUNTS_ADMIN, H("e1"), false, T0 + 6, NULL);
	accounts_set_password(a, "op", H("op2"), false, T0 + 7, NULL);
	accounts_set_password(a, "op", H("op3"), false, T0 + 8, NULL);
	login(a, "eng.2", "e1", NULL, T0 + 9, &res);
	for (int i = 0; i < 5; i++)
		login(a, "op", "nope", NULL, T0 + 10 + i, &res);
	return a;
}

static void
test_store_round_trip(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = sample_store(&c), *b;
	struct accounts_info ia, ib;
	struct accounts_result res;
	char path[128], err[256], *t1, *t2, *disk;
	size_t l1, l2, dl;
	struct stat st;

	(void)state;
	t1 = accounts_serialize(a, &l1);
	assert_non_null(t1);
	b = accounts_parse(t1, l1, &c, err, sizeof(err));
	if (b == NULL)
		fail_msg("%s", err);
	t2 = accounts_serialize(b, &l2);
	assert_string_equal(t1, t2);
	assert_int_equal(accounts_count(b), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(accounts_get(a, i, T0 + 20, &ia), 0);
		assert_int_equal(accounts_get(b, i, T0 + 20, &ib), 0);
		assert_memory_equal(&ia, &ib, sizeof(ia));
	}
	/* the history came along */
	{
		struct fake_verifier v = { 0 };

		assert_int_equal(check_reuse(b, &v, "op", "op1"),
		    ACCOUNTS_REUSE_REUSED);
	}
	/* and logins work on the loaded copy */
	assert_int_equal(login(b, "eng.2", "e1", NULL, T0 + 30, &res),
	    ACCOUNTS_LOGIN_OK);
	accounts_free(b);

	/* to a file and back: mode 0600, dirty bits */
	path_in_tmp(path, sizeof(path), ACCOUNTS_FILE);
	assert_true(accounts_dirty(a) & ACCOUNTS_DIRTY_ACCOUNTS);
	assert_int_equal(accounts_save(a, path), 0);
	assert_int_equal(accounts_dirty(a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fsutil_read_file(path, 1 << 20, &disk, &dl), 0);
	assert_int_equal(dl, l1);
	assert_memory_equal(disk, t1, l1);
	free(disk);
	/* a failed login changes state only */
	login(a, "op", "nope", NULL, T0 + 2000, &res);
	assert_int_equal(accounts_dirty(a), ACCOUNTS_DIRTY_STATE);
	assert_int_equal(accounts_save(a, path), 0);
	b = accounts_load(path, &c, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(accounts_find(b, "op", T0 + 2000, &ib), 0);
	assert_int_equal(ib.failures, 1);
	assert_int_equal(accounts_dirty(b), 0);
	accounts_free(b);

	/* no file: an empty store that needs setup */
	path_in_tmp(path, sizeof(path), "absent.json");
	b = accounts_load(path, &c, err, sizeof(err));
	assert_non_null(b);
	assert_true(accounts_setup_needed(b));
	accounts_free(b);
	/* an empty store round-trips too */
	b = accounts_new(&c);
	free(t2);
	t2 = accounts_serialize(b, &l2);
	accounts_free(b);
	b = accounts_parse(t2, l2, &c, err, sizeof(err));
	assert_non_null(b);
	assert_true(accounts_setup_needed(b));
	accounts_free(b);
	free(t1);
	free(t2);
	accounts_free(a);
}

struct corrupt_case {
	const char *what;
	const char *find;               /* in the sample's text ... */
	const char *replace;            /* ... replaced by this (once) */
	const char *msg;                /* expected in the message */
};

#define GOOD_HASH "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"

static const struct corrupt_case corrupt_cases[] = {
	{ "truncated", "\"accounts\"", "\"accounts", "line" },
	{ "not an object", "{", "[{", "line" },
	{ "version", "\"version\": 1", "\"version\": 2", "version" },
	{ "unknown top key", "\"version\": 1", "\"version\": 1, \"x\": 0",
	    "unknown key \"x\"" },
	{ "duplicate key", "\"version\": 1", "\"version\": 1, \"version\": 1",
	    "line" },
	{ "unknown account key", "\"must_change\"", "\"admin\": true, \"must_change\"",
	    "account 1 (\"root1\"): unknown key" },
	{ "missing key", "\"last_login\": 0", "\"x_last_login\": 0",
	    "unknown key" },
	{ "bad name", "\"name\": \"op\"", "\"name\": \"o p\"",
	    "account 2 (\"o p\"): name" },
	{ "bad level", "\"level\": \"user\"", "\"level\": \"root\"",
	    "account 2 (\"op\"): level" },
	{ "bad hash", "\"hash\": \"$argon2id", "\"hash\": \"$argon2i",
	    "account 1 (\"root1\"): hash" },
	{ "negative time", "\"created\": 1700000000", "\"created\": -1",
	    "a time" },
	{ "string time", "\"created\": 1700000000", "\"created\": \"1700000000\"",
	    "a time" },
	{ "bool", "\"must_change\": false", "\"must_change\": 0",
	    "must_change" },
	{ "failures", "\"failures\": 0", "\"failures\": 99999999",
	    "failures" },
	{ "history entry", "\"history\": []", "\"history\": [\"moxa\"]",
	    "history" },
	{ "duplicate name", "\"name\": \"op\"", "\"name\": \"root1\"",
	    "account 2 (\"root1\"): name: another account" },
	{ "duplicate name by case", "\"name\": \"op\"", "\"name\": \"ROOT1\"",
	    "another account" },
	{ "no admin", "\"level\": \"admin\"", "\"level\": \"user\"",
	    "no administrator" },
	{ "control in name", "\"name\": \"op\"", "\"name\": \"o\\u0001p\"",
	    "name" },
};

static void
test_store_corrupt(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct accounts *a = store_with_admin(&c), *old, *b;
	char *good, path[128], err[512], *disk, *bad;
	size_t len, dl;

	(void)state;
	accounts_add(a, "op", ACCOUNTS_USER, H("op1"), false, T0, NULL);
	assert_non_null(good = accounts_serialize(a, &len));
	for (size_t i = 0; i < NELEM(corrupt_cases); i++) {
		const struct corrupt_case *t = &corrupt_cases[i];
		const char *at = strstr(good, t->find);
		size_t fl = strlen(t->find), rl = strlen(t->replace);

		if (at == NULL)
			fail_msg("%s: \"%s\" not in the sample", t->what, t->find);
		bad = malloc(len - fl + rl + 1);
		memcpy(bad, good, (size_t)(at - good));
		memcpy(bad + (at - good), t->replace, rl);
		strcpy(bad + (at - good) + rl, at + fl);
		err[0] = '\0';
		b = accounts_parse(bad, strlen(bad), &c, err, sizeof(err));
		if (b != NULL || strstr(err, t->msg) == NULL)
			fail_msg("%s: %s, message \"%s\", want \"%s\"", t->what,
			    b ? "accepted" : "refused", err, t->msg);
		free(bad);
	}
	/* structural limits */
	b = accounts_parse("{\"version\":1}", 13, &c, err, sizeof(err));
	assert_null(b);
	b = accounts_parse("{\"version\":1,\"accounts\":{}}", 27, &c, err,
	    sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "accounts"));
	{
		/* 65 accounts: one more than any store holds */
		size_t cap = 200 * 1024, o;
		char *big = malloc(cap);

		o = (size_t)snprintf(big, cap, "{\"version\":1,\"accounts\":[");
		for (int i = 0; i <= ACCOUNTS_LIMIT; i++)
			o += (size_t)snprintf(big + o, cap - o, "%s{\"name\":\"u%d\","
			    "\"level\":\"admin\",\"hash\":\"" GOOD_HASH "\","
			    "\"created\":0,\"changed\":0,\"must_change\":false,"
			    "\"history\":[],\"failures\":0,\"first_failure\":0,"
			    "\"locked_until\":0,\"last_login\":0}", i ? "," : "", i);
		snprintf(big + o, cap - o, "]}");
		assert_null(accounts_parse(big, strlen(big), &c, err, sizeof(err)));
		assert_non_null(strstr(err, "at most 64"));
		free(big);
	}

	/* on disk: a corrupt file is refused with its path, the running
	 * store is kept, and the file is left as it was for inspection */
	path_in_tmp(path, sizeof(path), "corrupt.json");
	assert_int_equal(accounts_save(a, path), 0);
	old = accounts_load(path, &c, err, sizeof(err));
	assert_non_null(old);
	assert_int_equal(fsutil_write_atomic(path, "{\"version\": 1, \"acc", 19,
	    0600, (uid_t)-1, (gid_t)-1), 0);
	b = accounts_load(path, &c, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(accounts_count(old), 2);
	{
		struct accounts_result res;

		assert_int_equal(login(old, "op", "op1", NULL, T0 + 1, &res),
		    ACCOUNTS_LOGIN_OK);
	}
	assert_int_equal(fsutil_read_file(path, 1 << 20, &disk, &dl), 0);
	assert_int_equal(dl, 19);
	free(disk);
	/* too large */
	{
		char *huge = calloc(1, ACCOUNTS_FILE_MAX + 2);

		memset(huge, ' ', ACCOUNTS_FILE_MAX + 1);
		assert_int_equal(fsutil_write_atomic(path, huge,
		    ACCOUNTS_FILE_MAX + 1, 0600, (uid_t)-1, (gid_t)-1), 0);
		free(huge);
		assert_null(accounts_load(path, &c, err, sizeof(err)));
		assert_non_null(strstr(err, "larger than"));
	}
	accounts_free(old);
	free(good);
	accounts_free(a);
}

/* ---- configuration from the policy -------------------------------------- */

static void
test_config_from_policy(void **state)
{
	static const struct {
		const char *name;
		const char *yaml;
	} profiles[] = {
		{ "hardened", "base: hardened\n" },
		{ "factory", "base: factory\n" },
	};
	struct accounts_config c;
	struct policy_error perr;
	struct policy *p;

	(void)state;
	for (size_t i = 0; i < NELEM(profiles); i++) {
		p = policy_load_buffer(profiles[i].name, profiles[i].yaml,
		    strlen(profiles[i].yaml), NULL, &perr);
		if (p == NULL)
			fail_msg("%s: %s", profiles[i].name, perr.msg);
		accounts_config_from_policy(&c, p);
		assert_int_equal(c.max_accounts, 16);
		assert_int_equal(c.min_length, p->password_policy.min_length);
		assert_int_equal(c.history, p->password_policy.history);
		assert_int_equal(c.lockout, p->password_policy.lockout.enabled);
		assert_int_equal(c.lockout_attempts,
		    p->password_policy.lockout.attempts);
		assert_int_equal(c.source_attempts, 2 * c.lockout_attempts);
		assert_int_equal(c.source_ban_attempts, 4 * c.lockout_attempts);
		if (i == 0) {
			assert_int_equal(c.min_length, 16);
			assert_true(c.require_special && c.reject_common &&
			    c.lockout);
		}
		policy_free(p);
	}
}

/* ---- figures ------------------------------------------------------------ */

static void
test_figures(void **state)
{
	struct accounts_config c = cfg_hardened();
	struct timespec t0, t1, t2;
	struct accounts_common *l;
	char *buf, err[256];
	size_t len;
	unsigned hits = 0;

	(void)state;
	assert_int_equal(fsutil_read_file(COMMON_PASSWORDS, 16 << 20, &buf,
	    &len), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	l = accounts_common_new(buf, len, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(l);
	for (int i = 0; i < 100000; i++) {
		char pw[32];

		snprintf(pw, sizeof(pw), "Candidate-%d!x", i);
		hits += accounts_password_check(&c, l, "op", pw,
		    strlen(pw)) != 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	print_message("common list: %zu entries loaded in %.1f ms; 100,000 "
	    "full password checks in %.1f ms (%u refused)\n",
	    accounts_common_count(l),
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    (double)(t2.tv_sec - t1.tv_sec) * 1e3 +
	    (double)(t2.tv_nsec - t1.tv_nsec) / 1e6, hits);
	accounts_common_free(l);
	free(buf);
}

static int
group_setup(void **state)
{
	char err[256];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	common = accounts_common_load(COMMON_PASSWORDS, err, sizeof(err));
	if (common == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_accounts.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	static const char *const files[] = { ACCOUNTS_FILE, "corrupt.json" };
	char path[128];

	(void)state;
	accounts_common_free(common);
	for (size_t i = 0; i < NELEM(files); i++) {
		path_in_tmp(path, sizeof(path), files[i]);
		unlink(path);
	}
	fsutil_clean_temps(tmpdir);
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_rules),
		cmocka_unit_test(test_password_limits),
		cmocka_unit_test(test_rule_texts),
		cmocka_unit_test(test_common_list),
		cmocka_unit_test(test_names_hashes),
		cmocka_unit_test(test_setup_flow),
		cmocka_unit_test(test_setup_token_bruteforce),
		cmocka_unit_test(test_manage),
		cmocka_unit_test(test_lockout_account),
		cmocka_unit_test(test_lockout_source),
		cmocka_unit_test(test_source_keys),
		cmocka_unit_test(test_source_lru),
		cmocka_unit_test(test_unknown_vs_wrong),
		cmocka_unit_test(test_attempt_races),
		cmocka_unit_test(test_must_change),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_history_cancel),
		cmocka_unit_test(test_store_round_trip),
		cmocka_unit_test(test_store_corrupt),
		cmocka_unit_test(test_config_from_policy),
		cmocka_unit_test(test_figures),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
