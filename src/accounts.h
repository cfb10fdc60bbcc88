/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * accounts.h - console accounts, the password policy and login lockout
 * (guide 3.3, Account Management).
 *
 * A pure module: no network, no event loop, no clock of its own (every
 * call that depends on time takes `now`, wall-clock seconds, so tests run
 * on a fake clock) and no Argon2id.  Hashing and verifying passwords is
 * the monitor's job (PRIV_HASH_PASSWORD, PRIV_VERIFY_PASSWORD in priv.h):
 * this module takes the libsodium crypto_pwhash_str() string the caller
 * got from the monitor, and asks the caller to verify through a callback
 * or by handing out the hash to check.
 *
 * What it does better than the guide's vendor:
 *   - no default account and no default password, ever: an empty store
 *     means "setup needed", and only the holder of a one-time setup token
 *     (32 random bytes, shown once) can create the first administrator;
 *   - every password rule is checked and every failed one reported;
 *     well-known passwords (and their variants with digits or symbols
 *     around them) are refused; a new password must differ from the
 *     current one and the last `history` ones;
 *   - lockout per account (persisted, so a restart does not forget it)
 *     and per source address across accounts, with a higher threshold at
 *     which the caller is asked to ban the source in the firewall;
 *   - an unknown account and a wrong password look the same from outside,
 *     in outcome and in time (a dummy hash with the same Argon2 cost).
 *
 * Ownership: struct accounts owns everything in it; strings passed in are
 * copied; pointers handed out stay valid until the next call that changes
 * the store.  Functions return 0 or -1 with errno; constructors NULL.
 * Nothing here logs a password, a hash or the setup token.
 */
#ifndef SLUICE_ACCOUNTS_H
#define SLUICE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define ACCOUNTS_FILE          "accounts.json"  /* in the state directory */
#define ACCOUNTS_LIMIT         64     /* hard cap of a store (and a file) */
#define ACCOUNTS_DEFAULT_MAX   16     /* guide 3.3: "maximum of 16 accounts" */
#define ACCOUNTS_NAME_MAX      32     /* bytes of [A-Za-z0-9._-] */
#define ACCOUNTS_HASH_MAX      128    /* = PRIV_HASH_MAX; crypto_pwhash_str */
#define ACCOUNTS_PASSWORD_MAX  256    /* bytes, = PRIV_PASSWORD_MAX */
#define ACCOUNTS_HISTORY_MAX   24     /* password_policy.history range */
#define ACCOUNTS_SOURCES_MAX   1024   /* per-source failure table (LRU) */
#define ACCOUNTS_FILE_MAX      (1u << 20)   /* larger files are refused */
#define ACCOUNTS_TOKEN_BYTES   32
#define ACCOUNTS_TOKEN_TEXT    44     /* base64url, no padding: 43 + NUL */
/* Names shorter than this are not searched for in passwords: "al" would
 * refuse every password containing those two letters. */
#define ACCOUNTS_NAME_IN_PW_MIN 3
/* The shipped list of well-known passwords (src/common-passwords.txt). */
#define ACCOUNTS_COMMON_FILE   PKGDATADIR "/common-passwords.txt"

struct policy;
struct accounts;
struct accounts_common;

enum accounts_level {
	ACCOUNTS_USER = 0,      /* guide: "user": read only */
	ACCOUNTS_ADMIN,         /* guide: "admin": read and write */
};

/*
 * The rules an account store enforces: the policy's password_policy and
 * limits the policy has no key for (yet).  accounts_config_from_policy()
 * fills it; tests fill it by hand.  Thresholds count failures within
 * lockout_window_s of the first one; 0 in a source threshold = off.
 */
struct accounts_config {
	unsigned max_accounts;          /* 1..ACCOUNTS_LIMIT */
	unsigned min_length;            /* characters (code points) */
	bool require_digit, require_upper, require_lower, require_special;
	unsigned lifetime_days;         /* 0 = passwords never expire */
	unsigned history;               /* 0..ACCOUNTS_HISTORY_MAX */
	bool reject_common;
	bool lockout;                   /* false: count, never lock or ban */
	unsigned lockout_attempts;      /* per account */
	unsigned lockout_window_s;
	unsigned lockout_duration_s;    /* accounts and sources alike */
	unsigned source_attempts;       /* per source, across accounts */
	unsigned source_ban_attempts;   /* per source: ask for a firewall ban */
};

/*
 * From the policy: password_policy.* as is; max_accounts =
 * ACCOUNTS_DEFAULT_MAX; a source is locked after 2 x lockout.attempts
 * failures (a shared engineering station may hold several users) and
 * reported for a ban after 4 x (at most 1000 each).
 */
void accounts_config_from_policy(struct accounts_config *c,
    const struct policy *p);

/* ---- Password rules ----------------------------------------------------- */

/* Every rule a candidate password can fail, as bits. */
enum accounts_pw_rule {
	ACCOUNTS_PW_TOO_SHORT    = 1u << 0,  /* under min_length characters */
	ACCOUNTS_PW_TOO_LONG     = 1u << 1,  /* over ACCOUNTS_PASSWORD_MAX */
	ACCOUNTS_PW_BAD_UTF8     = 1u << 2,  /* not UTF-8 (the only check) */
	ACCOUNTS_PW_CONTROL      = 1u << 3,  /* a control character */
	ACCOUNTS_PW_NEED_DIGIT   = 1u << 4,
	ACCOUNTS_PW_NEED_UPPER   = 1u << 5,
	ACCOUNTS_PW_NEED_LOWER   = 1u << 6,
	ACCOUNTS_PW_NEED_SPECIAL = 1u << 7,
	ACCOUNTS_PW_HAS_NAME     = 1u << 8,  /* contains the account name */
	/* well known, or decorated with digits or symbols, or a run
	 * ("aaaa", "1234") */
	ACCOUNTS_PW_COMMON       = 1u << 9,
	ACCOUNTS_PW_NO_LIST      = 1u << 10, /* reject_common, no list */
	ACCOUNTS_PW_REUSED       = 1u << 11, /* current or recent (history) */
};
#define ACCOUNTS_PW_RULE_COUNT 12

/*
 * Check password (len bytes, need not be NUL-terminated) for account name
 * against c; common may be NULL (then reject_common fails closed with
 * ACCOUNTS_PW_NO_LIST).  Returns the OR of every failed rule, 0 = passes.
 * History is not checked here: see accounts_reuse_start().
 *
 * Length counts Unicode code points.  Classes: digit = 0-9; upper and
 * lower = ASCII letters and the letters of Latin-1, Latin Extended-A,
 * Greek and Cyrillic; special = every other printable character
 * (punctuation, space, symbols, other scripts).  The name is searched
 * case-insensitively when it has at least ACCOUNTS_NAME_IN_PW_MIN bytes.
 */
unsigned accounts_password_check(const struct accounts_config *c,
    const struct accounts_common *common, const char *name,
    const char *password, size_t len);

/* Stable id of one rule bit ("too-short", ...), or NULL. */
const char *accounts_pw_rule_name(unsigned rule);
/* Human text of one rule bit, with c's numbers ("must be at least 16
 * characters long"); returns buf. */
const char *accounts_pw_rule_text(unsigned rule,
    const struct accounts_config *c, char *buf, size_t n);
/* The failed rules of mask, in bit order, as the list the console shows:
 * [{"rule": "too-short", "message": "..."}, ...].  New reference or NULL. */
json_t *accounts_pw_reasons_json(unsigned mask,
    const struct accounts_config *c);

/* ---- The list of well-known passwords ----------------------------------- */

/*
 * One password a line (CR LF or LF; empty lines and lines over
 * ACCOUNTS_PASSWORD_MAX bytes skipped), compared case-insensitively
 * (ASCII), kept as a sorted array for bsearch.  A few device defaults
 * ("moxa", "sluice", ...) are always added.  NULL on failure with a
 * message in err (an empty list is a failure: a truncated file must not
 * silently switch the rule off).
 */
struct accounts_common *accounts_common_new(const char *buf, size_t len,
    char *err, size_t errlen);
struct accounts_common *accounts_common_load(const char *path, char *err,
    size_t errlen);
void accounts_common_free(struct accounts_common *l);
size_t accounts_common_count(const struct accounts_common *l);
/* Is password (len bytes) on the list, ignoring ASCII case? */
bool accounts_common_contains(const struct accounts_common *l,
    const char *password, size_t len);

/* ---- The store ---------------------------------------------------------- */

/* An account as the console lists it: no hash, no history. */
struct accounts_info {
	char name[ACCOUNTS_NAME_MAX + 1];
	enum accounts_level level;
	time_t created, changed;        /* password set at `changed` */
	time_t last_login;              /* 0 = never */
	time_t expires;                 /* password lifetime ends; 0 = never */
	bool must_change;               /* temporary (admin set) or expired */
	unsigned failures;              /* within the current window */
	time_t locked_until;            /* > now: locked */
};

/* An empty store (setup needed) with configuration c (copied). */
struct accounts *accounts_new(const struct accounts_config *c);
void accounts_free(struct accounts *a);
/* Replace the configuration (policy reload); keeps accounts and state.
 * A smaller history takes effect at the next password change. */
void accounts_set_config(struct accounts *a, const struct accounts_config *c);

size_t accounts_count(const struct accounts *a);
/* Account i (0..count-1, in creation order) into *out.  0 or -1 (ERANGE). */
int accounts_get(const struct accounts *a, size_t i, time_t now,
    struct accounts_info *out);
/* By exact name.  0 or -1 (ENOENT). */
int accounts_find(const struct accounts *a, const char *name, time_t now,
    struct accounts_info *out);
/* [{name, level, created, changed, last_login, expires, must_change,
 *   failures, locked, locked_until}]: never a hash.  New reference or NULL. */
json_t *accounts_json(const struct accounts *a, time_t now);

/* 1..ACCOUNTS_NAME_MAX bytes of [A-Za-z0-9._-]? */
bool accounts_name_valid(const char *name);
/* A crypto_pwhash_str() Argon2id string:
 * $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>. */
bool accounts_hash_valid(const char *hash);
/* "admin", "user" */
const char *accounts_level_name(enum accounts_level level);
int accounts_level_parse(const char *s, enum accounts_level *out);

/* ---- Structured outcomes: which events apply ---------------------------- */

/* Bits: every call that changes something reports which events the caller
 * should emit (eventlog_emit; bans_add for ACCOUNTS_EV_BAN_SOURCE). */
enum accounts_event {
	ACCOUNTS_EV_LOGIN            = 1u << 0,  /* successful login */
	ACCOUNTS_EV_LOGIN_FAILED     = 1u << 1,  /* "login-failed" */
	ACCOUNTS_EV_ACCOUNT_LOCKED   = 1u << 2,  /* this failure locked it */
	ACCOUNTS_EV_SOURCE_LOCKED    = 1u << 3,  /* it locked the source */
	ACCOUNTS_EV_BAN_SOURCE       = 1u << 4,  /* ban it (bans_add) */
	ACCOUNTS_EV_PASSWORD_CHANGED = 1u << 5,  /* "password-changed" */
	ACCOUNTS_EV_ACCOUNT_ADDED    = 1u << 6,
	ACCOUNTS_EV_ACCOUNT_REMOVED  = 1u << 7,
	ACCOUNTS_EV_ACCOUNT_CHANGED  = 1u << 8,  /* level changed */
	ACCOUNTS_EV_ACCOUNT_UNLOCKED = 1u << 9,  /* by an administrator */
};

/* ---- Management (the caller checks the password rules first) ------------ */

/*
 * Add an account with hash (from PRIV_HASH_PASSWORD).  must_change marks a
 * temporary password: the first login may only change it.  Errors:
 * EINVAL bad name/level/hash, EEXIST name taken (compared ignoring case:
 * "Admin" next to "admin" invites mistakes), ENOSPC at max_accounts,
 * EPERM on an empty store (the first account comes from accounts_setup()).
 */
int accounts_add(struct accounts *a, const char *name,
    enum accounts_level level, const char *hash, bool must_change, time_t now,
    unsigned *events);
/* Remove; EPERM for the last administrator, ENOENT. */
int accounts_remove(struct accounts *a, const char *name, unsigned *events);
/* Change the level; EPERM when that demotes the last administrator. */
int accounts_set_level(struct accounts *a, const char *name,
    enum accounts_level level, unsigned *events);
/*
 * Set a new password: the old hash goes to the history (trimmed to
 * config.history), `changed` = now, must_change as given (true when an
 * administrator sets someone's password, false when the user sets their
 * own), and the failure state is cleared (guesses at the old password
 * mean nothing now).  The caller ran accounts_password_check() and
 * accounts_reuse_start() first.  EINVAL, ENOENT.
 */
int accounts_set_password(struct accounts *a, const char *name,
    const char *hash, bool must_change, time_t now, unsigned *events);
/* Replace the hash of the same password (crypto_pwhash_str_needs_rehash
 * after a login): nothing else changes.  EINVAL, ENOENT. */
int accounts_rehash(struct accounts *a, const char *name, const char *hash);
/* Clear an account's failures and lock (an administrator's action). */
int accounts_unlock(struct accounts *a, const char *name, unsigned *events);

/* ---- First administrator: the setup token ------------------------------- */

/* No account yet: the console offers only setup. */
bool accounts_setup_needed(const struct accounts *a);
/*
 * Make a new one-time setup token (replacing any earlier one) and write
 * it to out as base64url text, to be shown once (console on the terminal,
 * a 0600 file; never the log).  Only a hash of it is kept, in memory: a
 * restart makes a new token.  EPERM once an account exists.
 */
int accounts_setup_token_new(struct accounts *a, char out[ACCOUNTS_TOKEN_TEXT]);
/* Does token match the live one?  Constant time (sodium_memcmp on hashes);
 * false when there is none. */
bool accounts_setup_token_check(const struct accounts *a, const char *token);

/* ---- Login -------------------------------------------------------------- */

/* A source address; family 0 = local (control socket): never counted. */
struct accounts_source {
	uint8_t family;                 /* 0, 4 or 6 */
	uint8_t addr[16];               /* network order; IPv4 in the first 4 */
};

enum accounts_outcome {
	ACCOUNTS_VERIFY = 0,            /* begin: verify att->hash; finish */
	ACCOUNTS_LOGIN_OK,
	/* OK, but the session may only set a new password (temporary or
	 * expired) */
	ACCOUNTS_LOGIN_CHANGE_PASSWORD,
	ACCOUNTS_LOGIN_FAILED,          /* wrong password or unknown account */
	ACCOUNTS_LOGIN_LOCKED,          /* locked, by this failure or before:
					 * even the right password fails */
	ACCOUNTS_LOGIN_SOURCE_LOCKED,   /* too many failures from this source */
	ACCOUNTS_LOGIN_ERROR,           /* could not verify (monitor failed);
					 * setup: name or hash refused */
	ACCOUNTS_SETUP_BAD_TOKEN,       /* accounts_setup(): wrong/no token */
	ACCOUNTS_SETUP_DONE,            /* accounts_setup(): admin created */
};

struct accounts_result {
	enum accounts_outcome outcome;
	unsigned events;                /* enum accounts_event bits */
	enum accounts_level level;      /* on success */
	bool unknown_account;           /* for the event log, never the peer */
	unsigned failures;              /* the account's (or source's) count */
	time_t retry_at;                /* locked: when the lock ends */
};

/* One login in progress: filled by begin, read by the caller, passed to
 * finish.  Plain data; the caller owns it and may copy it. */
struct accounts_attempt {
	char name[ACCOUNTS_NAME_MAX + 1];
	struct accounts_source src;
	char hash[ACCOUNTS_HASH_MAX];   /* verify the password against this */
	uint64_t gen;                   /* private: generation, 0 = dummy */
	int kind;                       /* private */
};

/*
 * Start a login of name from src.  When the source is locked this is the
 * end: outcome ACCOUNTS_LOGIN_SOURCE_LOCKED (counted as a failure, events
 * may ask for a ban).  Otherwise outcome is ACCOUNTS_VERIFY and att->hash
 * is the string to verify the password against: the account's, or — for
 * an unknown name or a locked account — a dummy with the same Argon2
 * cost, so the time spent does not tell them apart.  Verify it (exactly
 * once, also for the dummy), then call accounts_login_finish().
 */
enum accounts_outcome accounts_login_begin(struct accounts *a, const char *name,
    const struct accounts_source *src, time_t now, struct accounts_attempt *att,
    struct accounts_result *res);
/*
 * Finish with the verification result: 1 match, 0 mismatch, -1 error.
 * A locked account stays locked whatever the password; a failure counts
 * for the account and the source; success resets both.  An account
 * deleted or given a new password meanwhile makes this a failure.
 */
void accounts_login_finish(struct accounts *a,
    const struct accounts_attempt *att, int verified, time_t now,
    struct accounts_result *res);
/* What the peer may be told: "Login failed" for FAILED and LOCKED alike
 * (so a lock does not confirm that a name exists). */
const char *accounts_outcome_public(enum accounts_outcome o);
/* Source lock state: locked until *until (> now) -> true. */
bool accounts_source_locked(const struct accounts *a,
    const struct accounts_source *src, time_t now, time_t *until);
/* Entries in use in the source table (for tests and `status`). */
size_t accounts_source_count(const struct accounts *a);

/*
 * Create the first administrator with the setup token.  A wrong token is
 * ACCOUNTS_SETUP_BAD_TOKEN and counts as a failure of src (a locked
 * source gets ACCOUNTS_LOGIN_SOURCE_LOCKED without the token being
 * looked at); the right one creates the account (must_change false: its
 * holder chose the password) and is consumed.  Returns 0 when the
 * account was created, -1 otherwise (errno EACCES for the token, EPERM
 * when no setup is needed, EINVAL/... as accounts_add()); res says why.
 */
int accounts_setup(struct accounts *a, const char *token, const char *name,
    const char *hash, const struct accounts_source *src, time_t now,
    struct accounts_result *res);

/* ---- Password history (verification is asynchronous) -------------------- */

/*
 * The hashes a new password for name must not match, in the order to try:
 * the current one, then the history newest first (at most config.history).
 * Copies into out[max]; *n = how many.  0 or -1 (ENOENT).
 */
int accounts_reuse_hashes(const struct accounts *a, const char *name,
    char out[][ACCOUNTS_HASH_MAX], size_t max, size_t *n);

/* The caller's verifier (PRIV_VERIFY_PASSWORD): it must call done(ctx,
 * result) exactly once, before returning or later, with 1 = password
 * matches hash, 0 = it does not, -1 = could not verify. */
typedef void (*accounts_verify_done_fn)(void *ctx, int result);
typedef void (*accounts_verify_fn)(void *arg, const char *hash,
    const char *password, size_t len, accounts_verify_done_fn done, void *ctx);

enum accounts_reuse_result {
	ACCOUNTS_REUSE_ERROR = -1,      /* a verification failed: refuse */
	ACCOUNTS_REUSE_NEW = 0,         /* matches none: go on */
	ACCOUNTS_REUSE_REUSED = 1,      /* ACCOUNTS_PW_REUSED */
	ACCOUNTS_REUSE_PENDING = 2,     /* done(darg, result) will be called */
};
typedef void (*accounts_reuse_done_fn)(void *arg, enum accounts_reuse_result r);
struct accounts_reuse;

/*
 * Check password against accounts_reuse_hashes() one verification at a
 * time, stopping at the first match.  When every verification completes
 * before verify returns, the result is returned and done is never called;
 * otherwise ACCOUNTS_REUSE_PENDING is returned with *handle set, and done
 * is called exactly once later (never from inside this call).  The
 * password is copied and wiped when the check ends.  ENOENT (unknown
 * account) and ENOMEM give ACCOUNTS_REUSE_ERROR at once.
 */
enum accounts_reuse_result accounts_reuse_start(const struct accounts *a,
    const char *name, const char *password, size_t len,
    accounts_verify_fn verify, void *varg, accounts_reuse_done_fn done,
    void *darg, struct accounts_reuse **handle);
/* Give up a pending check (its client went away): done is not called.  The
 * outstanding verification must still call its done; that frees it. */
void accounts_reuse_cancel(struct accounts_reuse *r);

/* ---- Persistence -------------------------------------------------------- */

/*
 * The store as JSON: {"version": 1, "accounts": [{name, level, hash,
 * created, changed, must_change, history, failures, first_failure,
 * locked_until, last_login}]}.  The setup token and the source table are
 * not stored.  A new NUL-terminated buffer (caller frees) or NULL.
 */
char *accounts_serialize(const struct accounts *a, size_t *len);
/*
 * Parse and validate all of it: version, known keys only, types and
 * ranges, names, hashes, unique names, at most ACCOUNTS_LIMIT accounts,
 * at least one administrator when not empty.  NULL with a message naming
 * the account and the field in err ("account 2 (\"bob\"): hash: not an
 * Argon2id string"); the caller keeps its old store.
 */
struct accounts *accounts_parse(const char *buf, size_t len,
    const struct accounts_config *c, char *err, size_t errlen);
/* accounts_parse() of path; a missing file is an empty store (setup
 * needed), any other error NULL with "path: ..." in err. */
struct accounts *accounts_load(const char *path,
    const struct accounts_config *c, char *err, size_t errlen);

/* What changed since the last save. */
#define ACCOUNTS_DIRTY_ACCOUNTS 0x1u    /* accounts or passwords: fsync */
#define ACCOUNTS_DIRTY_STATE    0x2u    /* failure counters, last login only */
unsigned accounts_dirty(const struct accounts *a);
/* The dirty bits, cleared: for a caller that writes accounts_serialize()
 * itself (through the monitor). */
unsigned accounts_take_dirty(struct accounts *a);
/*
 * Write the store to path atomically (mode 0600): fsutil_write_atomic()
 * (fsync) when accounts changed, fsutil_replace() when only counters did
 * (a failed login must not cost an fsync on the loop).  Clears the dirty
 * bits on success.  0 or -1 (errno).
 */
int accounts_save(struct accounts *a, const char *path);

#endif
