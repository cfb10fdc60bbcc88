/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * console_api.c - the /api/v1 routes and the role table (route x method
 * -> level).  Documented in www/api/openapi.yaml.
 *
 * Settings are changed through the engine's policy apply, never here:
 * a section change is an RFC 7396 merge patch on the running policy
 * (policy_json.h), applied all or nothing with a configuration-changed
 * event naming the user, the source address and the keys.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "accounts.h"
#include "certs.h"
#include "console_int.h"
#include "ctl_proto.h"
#include "eventlog.h"
#include "keygen.h"
#include "log.h"
#include "policy.h"
#include "policy_json.h"
#include "registry.h"

static const char *
str_arg(const struct console_req *r, const char *key)
{
	return json_string_value(json_object_get(r->body, key));
}

static const char *
query_arg(struct console_req *r, const char *key, char *out, size_t n)
{
	struct evkeyvalq q;
	const char *uri, *qs, *v;
	struct evhttp_uri *u;

	if (r->req == NULL)
		return NULL;
	uri = evhttp_request_get_uri(r->req);
	if ((u = evhttp_uri_parse(uri)) == NULL)
		return NULL;
	qs = evhttp_uri_get_query(u);
	v = NULL;
	TAILQ_INIT(&q);
	if (qs != NULL && evhttp_parse_query_str(qs, &q) == 0 &&
	    (v = evhttp_find_header(&q, key)) != NULL) {
		snprintf(out, n, "%s", v);
		v = out;
	}
	evhttp_clear_headers(&q);
	evhttp_uri_free(u);
	return v;
}

static struct accounts_source
req_source(const struct console_req *r)
{
	struct accounts_source s;

	s = r->src;
	return s;
}

/* ---- engine commands ------------------------------------------------ */

/* A ctl reply to HTTP: ok -> 200 with the result; errors by exit code. */
static void
ctl_done(void *ctx, json_t *reply)
{
	struct console_req *r = ctx;
	json_t *res;

	if (json_is_true(json_object_get(reply, "ok"))) {
		res = json_object_get(reply, "result");
		console_reply(r, 200, res != NULL && !json_is_null(res) ?
		    json_incref(res) : json_object());
	} else {
		int code = (int)json_integer_value(json_object_get(reply,
		    "code"));
		const char *msg = json_string_value(json_object_get(reply,
		    "error"));

		size_t pl = strlen(r->path);

		/* A section change's YAML is ours: its line numbers mean
		 * nothing to the client, the key path says it all. */
		if (msg != NULL && pl > 0 && strncmp(msg, r->path, pl) == 0 &&
		    msg[pl] == ':') {
			const char *k = strstr(msg + pl, ": ");

			if (k != NULL)
				msg = k + 2;
		}
		console_error(r, code == CTL_EXIT_INVALID_POLICY ||
		    code == CTL_EXIT_USAGE ? 422 : 409, "%s",
		    msg != NULL ? msg : "failed");
	}
	json_decref(reply);
}

/* Run a control command for r; done gets the ctl reply (ctl_done turns
 * it into the HTTP answer).  args is stolen. */
static void
run_command_cb(struct console *c, struct console_req *r, enum ctl_cmd cmd,
    json_t *args, console_reply_fn done)
{
	char ssh[160];

	/* SSH_CONNECTION's form, for the apply's lock-out check. */
	snprintf(ssh, sizeof(ssh), "%s %u %s %u", r->addr, r->port, r->laddr,
	    r->lport);
	c->ops->command(c->ops->arg, cmd, args, r->who, r->from, ssh, done,
	    r);
	json_decref(args);
}

static void
run_command(struct console *c, struct console_req *r, enum ctl_cmd cmd,
    json_t *args)
{
	run_command_cb(c, r, cmd, args, ctl_done);
}

/* ---- sessions and sign-in ------------------------------------------- */

static void
get_login(struct console *c, struct console_req *r)
{
	console_reply(r, 200, json_pack("{s:s,s:b,s:b}",
	    "login_message", c->login_message,
	    "setup_needed", c->accounts != NULL &&
	    accounts_setup_needed(c->accounts),
	    "available", c->accounts != NULL));
}

static json_t *
session_json(const struct console *c, const struct console_session *s,
    bool secret)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:s}",
	    "id", s->public_id, "name", s->name, "level",
	    accounts_level_name(s->level), "must_change", s->must_change,
	    "created", (json_int_t)s->created, "last_seen",
	    (json_int_t)s->last_seen, "expires", (json_int_t)(
	    s->created + (time_t)c->session_lifetime_s < s->last_seen +
	    (time_t)c->session_idle_s ? s->created + (time_t)
	    c->session_lifetime_s : s->last_seen + (time_t)c->session_idle_s),
	    "source", s->source);

	if (secret && o != NULL)
		json_object_set_new(o, "csrf_token", json_string(s->csrf));
	return o;
}

static void
login_failed_reply(struct console *c, struct console_req *r,
    const struct accounts_result *res)
{
	json_t *o = json_pack("{s:{s:i,s:s,s:s}}", "error", "status", 401,
	    "message", accounts_outcome_public(res->outcome),
	    "login_failure_message", c->failure_message);

	console_reply(r, 401, o);
}

static void
login_events(struct console *c, struct console_req *r, const char *name,
    const struct accounts_result *res)
{
	char n[16];

	if (res->events & ACCOUNTS_EV_LOGIN_FAILED) {
		snprintf(n, sizeof(n), "%u", res->failures);
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
		    EVENTLOG_LOGIN_FAILED, "account", name, "from", r->from,
		    "failures", n, "reason", res->unknown_account ?
		    "unknown account" : res->outcome ==
		    ACCOUNTS_LOGIN_SOURCE_LOCKED ? "source locked" :
		    res->outcome == ACCOUNTS_LOGIN_LOCKED ? "account locked" :
		    "wrong password", NULL);
	}
	if (res->events & ACCOUNTS_EV_ACCOUNT_LOCKED)
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
		    EVENTLOG_ACCOUNT_LOCKED, "account", name, "from", r->from,
		    NULL);
	if (res->events & ACCOUNTS_EV_SOURCE_LOCKED)
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
		    EVENTLOG_ACCOUNT_LOCKED, "source", r->addr, "from",
		    r->from, NULL);
	if ((res->events & ACCOUNTS_EV_BAN_SOURCE) && r->src.family != 0 &&
	    c->ops->ban != NULL)
		c->ops->ban(c->ops->arg, r->addr, 0,
		    "console login failures");
}

static void
login_success(struct console *c, struct console_req *r, const char *name,
    enum accounts_level level, bool must_change)
{
	char cookie[ACCOUNTS_TOKEN_TEXT];
	struct console_session *s;

	s = console_session_new(c, name, level, must_change, r->addr,
	    cookie);
	if (s == NULL) {
		console_error(r, 503, "no session slot");
		return;
	}
	console_set_cookie(r, cookie, false);
	sodium_memzero(cookie, sizeof(cookie));
	console_reply(r, 200, session_json(c, s, true));
}

static void
rehash_done(struct console_req *r, int status, const char *hash)
{
	if (status == 0 && r->c->accounts != NULL &&
	    accounts_rehash(r->c->accounts, r->name, hash) == 0)
		console_accounts_save(r->c);
	console_req_free(r);
}

static void
login_verified(void *ctx, int status, const char *msg)
{
	struct console_req *r = ctx;
	struct console *c = r->c;
	struct accounts_result res;
	char name[ACCOUNTS_NAME_MAX + 1];
	unsigned long long ops;
	size_t mem;
	bool rehash;

	(void)msg;
	c->hashing--;
	snprintf(name, sizeof(name), "%s", r->att.name);
	if (c->accounts == NULL) {
		console_error(r, 503, "sign-in is unavailable");
		return;
	}
	if (r->flag && status == 0)
		status = EACCES;        /* only a prefix matched */
	accounts_login_finish(c->accounts, &r->att, status == 0 ? 1 :
	    status == EACCES ? 0 : -1, console_now(c), &res);
	login_events(c, r, name, &res);
	console_accounts_save(c);
	if (res.outcome != ACCOUNTS_LOGIN_OK &&
	    res.outcome != ACCOUNTS_LOGIN_CHANGE_PASSWORD) {
		if (res.outcome == ACCOUNTS_LOGIN_ERROR)
			console_error(r, 503, "could not verify the password");
		else
			login_failed_reply(c, r, &res);
		return;
	}
	console_hash_cost(c, &ops, &mem);
	rehash = crypto_pwhash_str_needs_rehash(r->att.hash, ops, mem) != 0;
	log_info("console: %s signed in from %s", name, r->from);
	if (rehash && r->secret != NULL && c->hashing <
	    CONSOLE_HASH_INFLIGHT) {
		/* Parameters changed: store a new hash of the same password,
		 * in a request of its own after this one is answered. */
		struct console_req *h = calloc(1, sizeof(*h));

		if (h != NULL) {
			h->c = c;
			snprintf(h->name, sizeof(h->name), "%s", name);
			h->secret = r->secret;
			h->secret_len = r->secret_len;
			r->secret = NULL;
			console_hash_start(h, rehash_done);
		}
	}
	login_success(c, r, name, res.level,
	    res.outcome == ACCOUNTS_LOGIN_CHANGE_PASSWORD);
}

static void
post_login(struct console *c, struct console_req *r)
{
	const char *name = str_arg(r, "name");
	const char *pw = str_arg(r, "password");
	struct accounts_source src = req_source(r);
	struct accounts_result res;
	size_t len;

	if (c->accounts == NULL) {
		console_error(r, 503, "sign-in is unavailable: the account "
		    "store could not be read");
		return;
	}
	if (name == NULL || pw == NULL) {
		console_error(r, 400, "\"name\" and \"password\" are required");
		return;
	}
	len = json_string_length(json_object_get(r->body, "password"));
	if (strlen(name) > ACCOUNTS_NAME_MAX)
		name = "";      /* an unknown account, like any other */
	if (len > ACCOUNTS_PASSWORD_MAX) {
		/* No stored password is this long: a wrong one, verified
		 * all the same (a prefix) so that it takes as long. */
		len = ACCOUNTS_PASSWORD_MAX;
		r->flag = true;
	}
	if (c->hashing >= CONSOLE_HASH_INFLIGHT) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Retry-After", "1");
		console_error(r, 429, "too many sign-ins at once; try again");
		return;
	}
	if (accounts_login_begin(c->accounts, name, &src, console_now(c),
	    &r->att, &res) != ACCOUNTS_VERIFY) {
		login_events(c, r, name, &res);
		console_accounts_save(c);
		login_failed_reply(c, r, &res);
		return;
	}
	if ((r->secret = malloc(len + 1)) == NULL) {
		console_error(r, 500, "out of memory");
		return;
	}
	memcpy(r->secret, pw, len);
	r->secret[len] = '\0';
	r->secret_len = len;
	if (c->ops->verify(c->ops->arg, r->att.hash, r->secret, len,
	    login_verified, r) < 0) {
		console_error(r, 503, "the password service is unavailable");
		return;
	}
	c->hashing++;
}

static void
post_logout(struct console *c, struct console_req *r)
{
	if (r->session != NULL)
		console_session_end(c, r->session);
	console_set_cookie(r, "", true);
	console_reply(r, 204, NULL);
}

static void
get_session(struct console *c, struct console_req *r)
{
	if (r->session != NULL) {
		console_reply(r, 200, session_json(c, r->session, true));
		return;
	}
	console_reply(r, 200, json_pack("{s:s,s:s,s:s}", "name", r->user,
	    "level", accounts_level_name(r->level), "token", r->who));
}

/* The password rules, then history, then the hash. */
static bool
password_ok(struct console *c, struct console_req *r, const char *name,
    const char *pw, size_t len)
{
	unsigned bad = accounts_password_check(&c->acfg, c->common, name, pw,
	    len);

	if (bad != 0) {
		console_reply(r, 422, json_pack("{s:{s:i,s:s,s:o}}", "error",
		    "status", 422, "message", "the password does not meet the "
		    "password policy", "reasons",
		    accounts_pw_reasons_json(bad, &c->acfg)));
		return false;
	}
	return true;
}

static bool
take_secret(struct console_req *r, const char *key)
{
	json_t *v = json_object_get(r->body, key);
	size_t len;

	if (!json_is_string(v)) {
		console_error(r, 400, "\"%s\" is required", key);
		return false;
	}
	len = json_string_length(v);
	if ((r->secret = malloc(len + 1)) == NULL) {
		console_error(r, 500, "out of memory");
		return false;
	}
	memcpy(r->secret, json_string_value(v), len);
	r->secret[len] = '\0';
	r->secret_len = len;
	return true;
}

static void
setup_hashed(struct console_req *r, int status, const char *hash)
{
	struct console *c = r->c;
	struct accounts_source src = req_source(r);
	struct accounts_result res;
	const char *token = str_arg(r, "token");

	if (status != 0 || c->accounts == NULL) {
		console_error(r, 503, "could not hash the password");
		return;
	}
	if (accounts_setup(c->accounts, token != NULL ? token : "", r->name,
	    hash, &src, console_now(c), &res) < 0) {
		login_events(c, r, r->name, &res);
		if (res.outcome == ACCOUNTS_SETUP_BAD_TOKEN ||
		    res.outcome == ACCOUNTS_LOGIN_SOURCE_LOCKED)
			console_error(r, 403, "wrong or used setup token");
		else
			console_error(r, errno == EPERM ? 409 : 422, "%s",
			    errno == EPERM ? "setup is done already" :
			    "the account could not be created");
		return;
	}
	console_accounts_save(c);
	console_emit_account_events(c, ACCOUNTS_EV_ACCOUNT_ADDED, r->name,
	    "setup token", r->from);
	log_info("console: first administrator %s created from %s", r->name,
	    r->from);
	login_success(c, r, r->name, ACCOUNTS_ADMIN, false);
}

static void
post_setup(struct console *c, struct console_req *r)
{
	const char *name = str_arg(r, "name");
	const char *token = str_arg(r, "token");

	if (c->accounts == NULL || !accounts_setup_needed(c->accounts)) {
		console_error(r, 409, "setup is done already");
		return;
	}
	if (name == NULL || token == NULL || !accounts_name_valid(name)) {
		console_error(r, 400, "\"token\", \"name\" (1-%d of A-Z a-z "
		    "0-9 . _ -) and \"password\" are required",
		    ACCOUNTS_NAME_MAX);
		return;
	}
	/* The token first: no hashing for whoever does not hold it. */
	if (!accounts_setup_token_check(c->accounts, token)) {
		struct accounts_source src = req_source(r);
		struct accounts_result res;

		(void)accounts_setup(c->accounts, token, name, "", &src,
		    console_now(c), &res);
		login_events(c, r, name, &res);
		console_error(r, 403, "wrong or used setup token");
		return;
	}
	if (!take_secret(r, "password") ||
	    !password_ok(c, r, name, r->secret, r->secret_len))
		return;
	snprintf(r->name, sizeof(r->name), "%s", name);
	console_hash_start(r, setup_hashed);
}

/* ---- own password --------------------------------------------------- */

static void
own_hashed(struct console_req *r, int status, const char *hash)
{
	struct console *c = r->c;
	unsigned ev = 0;

	if (status != 0 || c->accounts == NULL ||
	    accounts_set_password(c->accounts, r->name, hash, false,
	    console_now(c), &ev) < 0) {
		console_error(r, 500, "the password could not be changed");
		return;
	}
	console_accounts_save(c);
	console_emit_account_events(c, ev, r->name, r->who, r->from);
	/*
	 * Other sessions of the account end; this one goes on, found again
	 * by its id (the slots may have been ended, reused or reallocated
	 * while the monitor hashed).
	 */
	{
		size_t i;

		for (i = 0; i < c->n_session_slots; i++) {
			struct console_session *s = &c->sessions[i];

			if (!s->used || strcmp(s->name, r->name) != 0)
				continue;
			if (r->auth == CONSOLE_AUTH_SESSION &&
			    sodium_memcmp(s->id_hash, r->session_id, 32) == 0)
				s->must_change = false;
			else
				console_session_end(c, s);
		}
	}
	console_reply(r, 204, NULL);
}

static void
own_reuse_done(void *arg, enum accounts_reuse_result res)
{
	struct console_req *r = arg;

	r->reuse = NULL;
	if (res == ACCOUNTS_REUSE_REUSED) {
		console_reply(r, 422, json_pack("{s:{s:i,s:s,s:o}}", "error",
		    "status", 422, "message", "the password does not meet the "
		    "password policy", "reasons", accounts_pw_reasons_json(
		    ACCOUNTS_PW_REUSED, &r->c->acfg)));
		return;
	}
	if (res != ACCOUNTS_REUSE_NEW) {
		console_error(r, 503, "could not check the password history");
		return;
	}
	console_hash_start(r, own_hashed);
}

struct verify_ctx {
	accounts_verify_done_fn done;
	void *ctx;
	struct console *c;
};

static void
verify_adapter_done(void *ctx, int status, const char *msg)
{
	struct verify_ctx *v = ctx;

	(void)msg;
	v->c->hashing--;
	v->done(v->ctx, status == 0 ? 1 : status == EACCES ? 0 : -1);
	free(v);
}

static void
verify_adapter(void *arg, const char *hash, const char *password, size_t len,
    accounts_verify_done_fn done, void *ctx)
{
	struct console *c = arg;
	struct verify_ctx *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		done(ctx, -1);
		return;
	}
	v->done = done;
	v->ctx = ctx;
	v->c = c;
	if (c->ops->verify(c->ops->arg, hash, password, len,
	    verify_adapter_done, v) < 0) {
		free(v);
		done(ctx, -1);
		return;
	}
	c->hashing++;
}

static void
own_current_ok(void *ctx, int status, const char *msg)
{
	struct console_req *r = ctx;
	struct console *c = r->c;
	enum accounts_reuse_result res;
	const char *pw = str_arg(r, "new_password");

	(void)msg;
	c->hashing--;
	if (r->req == NULL) {
		console_req_free(r);
		return;
	}
	if (status != 0) {
		console_error(r, 403, "the current password is wrong");
		return;
	}
	res = accounts_reuse_start(c->accounts, r->name, pw,
	    json_string_length(json_object_get(r->body, "new_password")),
	    verify_adapter, c, own_reuse_done, r, &r->reuse);
	if (res != ACCOUNTS_REUSE_PENDING)
		own_reuse_done(r, res);
}

static void
put_own_password(struct console *c, struct console_req *r)
{
	const char *cur = str_arg(r, "current_password");
	const char *pw = str_arg(r, "new_password");
	char hashes[1][ACCOUNTS_HASH_MAX];
	size_t n = 0;

	if (r->auth != CONSOLE_AUTH_SESSION) {
		console_error(r, 403, "sign in with a password to change it");
		return;
	}
	if (cur == NULL || pw == NULL) {
		console_error(r, 400, "\"current_password\" and "
		    "\"new_password\" are required");
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", r->user);
	memcpy(r->session_id, r->session->id_hash, 32);
	r->session = NULL;      /* not valid once this becomes asynchronous */
	if (strlen(cur) > ACCOUNTS_PASSWORD_MAX) {
		console_error(r, 403, "the current password is wrong");
		return;
	}
	if (!password_ok(c, r, r->name, pw, json_string_length(
	    json_object_get(r->body, "new_password"))))
		return;
	if (accounts_reuse_hashes(c->accounts, r->name, hashes, 1, &n) < 0 ||
	    n == 0) {
		console_error(r, 404, "no such account");
		return;
	}
	if (!take_secret(r, "new_password"))
		return;
	if (c->hashing >= CONSOLE_HASH_INFLIGHT) {
		console_error(r, 429, "busy: try again in a second");
		return;
	}
	if (c->ops->verify(c->ops->arg, hashes[0], cur, strlen(cur),
	    own_current_ok, r) < 0) {
		console_error(r, 503, "the password service is unavailable");
		return;
	}
	c->hashing++;
}

/* ---- accounts (admin) ----------------------------------------------- */

static void
get_accounts(struct console *c, struct console_req *r)
{
	console_reply(r, 200, c->accounts != NULL ?
	    accounts_json(c->accounts, console_now(c)) : json_array());
}

static void
account_added(struct console_req *r, int status, const char *hash)
{
	struct console *c = r->c;
	unsigned ev = 0;

	if (status != 0) {
		console_error(r, 503, "could not hash the password");
		return;
	}
	if (accounts_add(c->accounts, r->name, (enum accounts_level)
	    r->level_arg, hash, r->flag, console_now(c), &ev) < 0) {
		int e = errno;

		console_error(r, e == EEXIST ? 409 : e == ENOSPC ? 409 : 422,
		    "%s", e == EEXIST ? "an account of that name exists" :
		    e == ENOSPC ? "console.max_accounts reached" :
		    "the account could not be added");
		return;
	}
	console_accounts_save(c);
	console_emit_account_events(c, ev, r->name, r->who, r->from);
	console_reply(r, 201, json_pack("{s:s,s:s,s:b}", "name", r->name,
	    "level", accounts_level_name((enum accounts_level)r->level_arg),
	    "must_change", r->flag));
}

static void
post_accounts(struct console *c, struct console_req *r)
{
	const char *name = str_arg(r, "name");
	const char *level = str_arg(r, "level");
	enum accounts_level lv = ACCOUNTS_USER;
	struct accounts_info info;

	if (name == NULL || !accounts_name_valid(name) ||
	    (level != NULL && accounts_level_parse(level, &lv) < 0)) {
		console_error(r, 400, "\"name\" (1-%d of A-Z a-z 0-9 . _ -), "
		    "\"level\" (admin or user) and \"password\" (temporary) "
		    "are required", ACCOUNTS_NAME_MAX);
		return;
	}
	if (accounts_find(c->accounts, name, console_now(c), &info) == 0) {
		console_error(r, 409, "an account of that name exists");
		return;
	}
	if (!take_secret(r, "password") ||
	    !password_ok(c, r, name, r->secret, r->secret_len))
		return;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->level_arg = (int)lv;
	/* Set by an administrator for someone else: temporary. */
	if (r->ctl_done == NULL)
		r->flag = true;
	console_hash_start(r, account_added);
}


static void
account_password_set(struct console_req *r, int status, const char *hash)
{
	struct console *c = r->c;
	unsigned ev = 0;

	if (status != 0 || accounts_set_password(c->accounts, r->name, hash,
	    true, console_now(c), &ev) < 0) {
		console_error(r, 500, "the password could not be set");
		return;
	}
	console_accounts_save(c);
	console_end_sessions_of(c, r->name);
	console_emit_account_events(c, ev, r->name, r->who, r->from);
	console_reply(r, 204, NULL);
}

static void
put_account(struct console *c, struct console_req *r)
{
	const char *level = str_arg(r, "level");
	json_t *unlock = json_object_get(r->body, "unlock");
	struct accounts_info info;
	enum accounts_level lv;
	unsigned ev = 0;

	if (accounts_find(c->accounts, r->arg, console_now(c), &info) < 0) {
		console_error(r, 404, "no such account");
		return;
	}
	/* Everything is checked before anything changes. */
	if (level != NULL && accounts_level_parse(level, &lv) < 0) {
		console_error(r, 400, "\"level\": admin or user");
		return;
	}
	if (json_object_get(r->body, "password") != NULL &&
	    (!take_secret(r, "password") ||
	    !password_ok(c, r, r->arg, r->secret, r->secret_len)))
		return;
	if (level != NULL) {
		if (accounts_set_level(c->accounts, r->arg, lv, &ev) < 0) {
			console_error(r, 409, "the last administrator stays "
			    "an administrator");
			return;
		}
		/* Sessions carry the level they signed in with. */
		console_end_sessions_of(c, r->arg);
	}
	if (json_is_true(unlock))
		(void)accounts_unlock(c->accounts, r->arg, &ev);
	console_accounts_save(c);
	console_emit_account_events(c, ev, r->arg, r->who, r->from);
	if (r->secret != NULL) {
		snprintf(r->name, sizeof(r->name), "%.32s", r->arg);
		console_hash_start(r, account_password_set);
		return;
	}
	console_reply(r, 204, NULL);
}

static void
delete_account(struct console *c, struct console_req *r)
{
	unsigned ev = 0;

	if (accounts_remove(c->accounts, r->arg, &ev) < 0) {
		console_error(r, errno == ENOENT ? 404 : 409, "%s",
		    errno == ENOENT ? "no such account" :
		    "the last administrator cannot be removed");
		return;
	}
	console_end_sessions_of(c, r->arg);
	console_accounts_save(c);
	console_emit_account_events(c, ev, r->arg, r->who, r->from);
	console_reply(r, 204, NULL);
}

/* ---- sessions and tokens (admin) ------------------------------------ */

static void
get_sessions(struct console *c, struct console_req *r)
{
	json_t *a = json_array();
	time_t now = console_now(c);
	size_t i;

	for (i = 0; i < c->n_session_slots; i++) {
		const struct console_session *s = &c->sessions[i];

		if (s->used && now - s->last_seen < (time_t)c->session_idle_s &&
		    now - s->created < (time_t)c->session_lifetime_s)
			json_array_append_new(a, session_json(c, s, false));
	}
	console_reply(r, 200, a);
}

static void
delete_session(struct console *c, struct console_req *r)
{
	size_t i;

	for (i = 0; i < c->n_session_slots; i++)
		if (c->sessions[i].used &&
		    strcmp(c->sessions[i].public_id, r->arg) == 0) {
			console_session_end(c, &c->sessions[i]);
			console_reply(r, 204, NULL);
			return;
		}
	console_error(r, 404, "no such session");
}

static json_t *
token_json(const struct console_token *t)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "id", t->id, "name",
	    t->name, "scope", t->scope == ACCOUNTS_ADMIN ? "admin" : "read",
	    "created",
	    (json_int_t)t->created, "last_used", (json_int_t)t->last_used,
	    "created_by", t->created_by);
}

static void
get_tokens(struct console *c, struct console_req *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->n_tokens; i++)
		json_array_append_new(a, token_json(&c->tokens[i]));
	console_reply(r, 200, a);
}

static void
post_tokens(struct console *c, struct console_req *r)
{
	const char *name = str_arg(r, "name");
	const char *scope = str_arg(r, "scope");
	struct console_token *t;
	unsigned char raw[8];
	char secret[ACCOUNTS_TOKEN_TEXT], text[ACCOUNTS_TOKEN_TEXT + 32];
	json_t *o;

	if (name == NULL || strlen(name) == 0 || strlen(name) > 64 ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
	    "STUVWXYZ0123456789 ._-")] != '\0' || scope == NULL) {
		console_error(r, 400, "\"name\" (1-64 of A-Z a-z 0-9 space . "
		    "_ -) and \"scope\" (read or admin) are required");
		return;
	}
	if (c->n_tokens == CONSOLE_TOKENS_MAX) {
		console_error(r, 409, "at most %d API tokens",
		    CONSOLE_TOKENS_MAX);
		return;
	}
	t = &c->tokens[c->n_tokens];
	memset(t, 0, sizeof(*t));
	if (strcmp(scope, "read") == 0)
		t->scope = ACCOUNTS_USER;
	else if (strcmp(scope, "admin") == 0)
		t->scope = ACCOUNTS_ADMIN;
	else {
		console_error(r, 400, "\"scope\": read or admin");
		return;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(t->id, sizeof(t->id), raw, sizeof(raw));
	{
		unsigned char sraw[ACCOUNTS_TOKEN_BYTES];

		randombytes_buf(sraw, sizeof(sraw));
		sodium_bin2base64(secret, sizeof(secret), sraw, sizeof(sraw),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(sraw, sizeof(sraw));
	}
	crypto_generichash(t->hash, 32, (const unsigned char *)secret,
	    strlen(secret), NULL, 0);
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->created_by, sizeof(t->created_by), "%s", r->user);
	t->created = console_now(c);
	c->n_tokens++;
	if (console_tokens_save(c) < 0) {
		c->n_tokens--;
		sodium_memzero(secret, sizeof(secret));
		console_error(r, 500, "the token could not be stored");
		return;
	}
	snprintf(text, sizeof(text), "slt_%s_%s", t->id, secret);
	sodium_memzero(secret, sizeof(secret));
	o = token_json(t);
	json_object_set_new(o, "token", json_string(text));
	sodium_memzero(text, sizeof(text));
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    EVENTLOG_ACCOUNT_ADDED, "token", t->id, "name", t->name, "scope",
	    scope, "who", r->who, "from", r->from, NULL);
	console_reply(r, 201, o);
}

static void
delete_token(struct console *c, struct console_req *r)
{
	size_t i;

	for (i = 0; i < c->n_tokens; i++)
		if (strcmp(c->tokens[i].id, r->arg) == 0) {
			eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
			    EVENTLOG_ACCOUNT_REMOVED, "token", r->arg, "who",
			    r->who, "from", r->from, NULL);
			memmove(&c->tokens[i], &c->tokens[i + 1],
			    (c->n_tokens - i - 1) * sizeof(c->tokens[0]));
			c->n_tokens--;
			sodium_memzero(&c->tokens[c->n_tokens],
			    sizeof(c->tokens[0]));
			(void)console_tokens_save(c);
			console_reply(r, 204, NULL);
			return;
		}
	console_error(r, 404, "no such token");
}

/* ---- policy sections ------------------------------------------------ */

/* The route's policy section: "/api/v1/dos-defense" -> "dos_defense". */
static const struct {
	const char *path, *key;
} sections[] = {
	{ "/api/v1/accessible-ip", "accessible_ip" },
	{ "/api/v1/dos-defense", "dos_defense" },
	{ "/api/v1/password-policy", "password_policy" },
	{ "/api/v1/login-message", "login_message" },
	{ "/api/v1/console", "console" },
	{ "/api/v1/tls", "tls" },
	{ "/api/v1/firewall", "firewall" },
	{ "/api/v1/logging", "logging" },
	{ "/api/v1/device", "device" },
	{ "/api/v1/modbus", "modbus" },
};

static const char *
section_key(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(path, sections[i].path) == 0)
			return sections[i].key;
	return NULL;
}

static json_t *
running_json(struct console *c, char *err, size_t errlen)
{
	char *yaml = policy_to_yaml(c->policy);
	json_t *j;

	if (yaml == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j = policy_yaml_to_json(yaml, strlen(yaml), err, errlen);
	free(yaml);
	return j;
}

static void
get_section(struct console *c, struct console_req *r)
{
	const char *key = section_key(r->path);
	char err[256];
	json_t *all = running_json(c, err, sizeof(err)), *v;

	if (all == NULL) {
		console_error(r, 500, "%s", err);
		return;
	}
	v = json_object_get(all, key);
	console_reply(r, 200, v != NULL ? json_incref(v) : json_null());
	json_decref(all);
}

/* Apply patch (stolen) to the running policy, through the engine. */
static void
apply_patch(struct console *c, struct console_req *r, json_t *patch,
    const char *what)
{
	char err[512], *yaml, *text;
	size_t len;

	yaml = policy_to_yaml(c->policy);
	if (yaml == NULL) {
		json_decref(patch);
		console_error(r, 500, "out of memory");
		return;
	}
	text = policy_merge_patch(yaml, strlen(yaml), patch, &len, err,
	    sizeof(err));
	free(yaml);
	json_decref(patch);
	if (text == NULL) {
		console_error(r, 422, "%s", err);
		return;
	}
	run_command(c, r, CTL_POLICY_APPLY, json_pack("{s:s%,s:s}",
	    "content", text, len, "name", what));
	free(text);
}

static void
put_section(struct console *c, struct console_req *r)
{
	const char *key = section_key(r->path);
	json_t *v, *patch;

	/* login_message is a string: {"login_message": "..."} */
	v = strcmp(key, "login_message") == 0 ? json_object_get(r->body,
	    "login_message") : r->body;
	if (v == NULL) {
		console_error(r, 400, "a JSON body is required");
		return;
	}
	/* PATCH merges; PUT replaces the section (keys left out go back to
	 * their defaults). */
	if (r->method == EVHTTP_REQ_PUT && json_is_object(v)) {
		char err[512], *yaml, *text;
		size_t len;

		yaml = policy_to_yaml(c->policy);
		patch = json_pack("{s:n}", key);
		text = yaml != NULL ? policy_merge_patch(yaml, strlen(yaml),
		    patch, &len, err, sizeof(err)) : NULL;
		free(yaml);
		json_decref(patch);
		if (text == NULL) {
			console_error(r, 500, "%s", "out of memory");
			return;
		}
		patch = json_pack("{s:O}", key, v);
		yaml = policy_merge_patch(text, len, patch, &len, err,
		    sizeof(err));
		free(text);
		json_decref(patch);
		if (yaml == NULL) {
			console_error(r, 422, "%s", err);
			return;
		}
		run_command(c, r, CTL_POLICY_APPLY, json_pack("{s:s%,s:s}",
		    "content", yaml, len, "name", r->path));
		free(yaml);
		return;
	}
	apply_patch(c, r, json_pack("{s:O}", key, v), r->path);
}

static void
patch_policy(struct console *c, struct console_req *r)
{
	apply_patch(c, r, json_incref(r->body), "/api/v1/policy");
}

/* ---- engine passthrough ------------------------------------------------ */

static void
get_status(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_STATUS, json_object());
}

static void
get_services(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_SERVICES, json_object());
}

static void
put_service(struct console *c, struct console_req *r)
{
	json_t *en = json_object_get(r->body, "enabled");

	if (registry_find(r->arg) == NULL) {
		console_error(r, 404, "no such service: %s", r->arg);
		return;
	}
	if (en != NULL && !json_is_boolean(en)) {
		console_error(r, 400, "\"enabled\" is true or false");
		return;
	}
	apply_patch(c, r, json_pack("{s:{s:O}}", "services", r->arg,
	    r->body), r->path);
}

static void
get_events(struct console *c, struct console_req *r)
{
	char v[64];
	json_t *args = json_object();

	if (query_arg(r, "group", v, sizeof(v)) != NULL)
		json_object_set_new(args, "group", json_string(v));
	if (query_arg(r, "since", v, sizeof(v)) != NULL)
		json_object_set_new(args, "since", json_integer(atoll(v)));
	if (query_arg(r, "limit", v, sizeof(v)) != NULL)
		json_object_set_new(args, "limit", json_integer(atoll(v)));
	run_command(c, r, CTL_LOG, args);
}

static void
events_export_done(void *ctx, json_t *reply)
{
	struct console_req *r = ctx;
	json_t *res = json_object_get(reply, "result");
	char *text;

	if (!json_is_true(json_object_get(reply, "ok")) || res == NULL) {
		ctl_done(r, reply);
		return;
	}
	text = json_dumps(res, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(reply);
	if (text == NULL) {
		console_error(r, 500, "out of memory");
		return;
	}
	console_reply_file(r, "application/json", text, strlen(text),
	    "sluice-events.json");
	free(text);
}

static void
get_events_export(struct console *c, struct console_req *r)
{
	run_command_cb(c, r, CTL_LOG, json_pack("{s:I}", "limit",
	    (json_int_t)100000), events_export_done);
}

static void
policy_export_done(void *ctx, json_t *reply)
{
	struct console_req *r = ctx;
	const char *yaml = json_string_value(json_object_get(
	    json_object_get(reply, "result"), "yaml"));

	if (yaml == NULL) {
		ctl_done(r, reply);
		return;
	}
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    EVENTLOG_CONFIG_EXPORTED, "who", r->who, "from", r->from, NULL);
	console_reply_file(r, "application/yaml", yaml, strlen(yaml),
	    "sluice.yaml");
	json_decref(reply);
}

static void
get_policy_export(struct console *c, struct console_req *r)
{
	run_command_cb(c, r, CTL_POLICY_SHOW, json_object(),
	    policy_export_done);
}

static void
delete_events(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_LOG_CLEAR, json_object());
}

static void
get_policy(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_POLICY_SHOW, json_object());
}

static void
get_history(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_POLICY_HISTORY, json_object());
}

static void
post_policy_diff(struct console *c, struct console_req *r)
{
	if (!json_is_string(json_object_get(r->body, "content"))) {
		console_error(r, 400, "\"content\" (the policy YAML) is "
		    "required");
		return;
	}
	run_command(c, r, CTL_POLICY_DIFF, json_pack("{s:O,s:s}", "content",
	    json_object_get(r->body, "content"), "name", "upload"));
}

/* An uploaded policy that took effect: the guide's "configuration
 * imported" (the configuration-changed event lists the keys). */
static void
imported_done(void *ctx, json_t *reply)
{
	struct console_req *r = ctx;

	if (json_is_true(json_object_get(reply, "ok")))
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
		    EVENTLOG_CONFIG_IMPORTED, "who", r->who, "from", r->from,
		    NULL);
	ctl_done(r, reply);
}

static void
post_policy_apply(struct console *c, struct console_req *r)
{
	json_t *cw = json_object_get(r->body, "confirm_within");

	if (!json_is_string(json_object_get(r->body, "content")) ||
	    (cw != NULL && !json_is_integer(cw))) {
		console_error(r, 400, "\"content\" (the policy YAML) is "
		    "required; \"confirm_within\" is seconds");
		return;
	}
	run_command_cb(c, r, CTL_POLICY_APPLY, json_pack("{s:O,s:s,s:I}",
	    "content", json_object_get(r->body, "content"), "name", "upload",
	    "confirm_within", cw != NULL ? json_integer_value(cw) : 0),
	    imported_done);
}

static void
post_policy_confirm(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_POLICY_CONFIRM, json_object());
}

static void
post_policy_rollback(struct console *c, struct console_req *r)
{
	json_t *v = json_object_get(r->body, "version");

	run_command(c, r, CTL_POLICY_ROLLBACK, v != NULL ?
	    json_pack("{s:O}", "version", v) : json_object());
}

static void
post_reload(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_RELOAD, json_object());
}

static void
post_restart(struct console *c, struct console_req *r)
{
	run_command(c, r, CTL_RESTART, json_object());
}

/* ---- certificate ---------------------------------------------------- */

static void
get_certificate(struct console *c, struct console_req *r)
{
	if (c->cert_info == NULL) {
		console_error(r, 404, "no certificate yet");
		return;
	}
	console_reply(r, 200, certs_info_json(c->cert_info, time(NULL)));
}

static void
post_cert_generate(struct console *c, struct console_req *r)
{
	console_cert_generate(c, r);
}

static void
post_cert_import(struct console *c, struct console_req *r)
{
	const char *cert = str_arg(r, "certificate");
	const char *key = str_arg(r, "key");
	const char *chain = str_arg(r, "chain");
	struct certs_input in;
	struct certs_info *info;
	char err[CERTS_ERR_MAX];

	if (cert == NULL) {
		console_error(r, 400, "\"certificate\" (PEM) is required; "
		    "\"key\" (PEM) unless the certificate is for the key of "
		    "the last CSR; \"chain\" optional");
		return;
	}
	memset(&in, 0, sizeof(in));
	in.cert_pem = cert;
	in.cert_len = strlen(cert);
	in.key_pem = key != NULL ? key : c->key_pem;
	in.key_len = key != NULL ? strlen(key) : c->key_len;
	in.chain_pem = chain;
	in.chain_len = chain != NULL ? strlen(chain) : 0;
	in.rsa_min_bits = c->min_rsa_bits;
	in.now = time(NULL);
	if (in.key_pem == NULL) {
		console_error(r, 422, "\"key\" is required");
		return;
	}
	info = certs_import(&in, err, sizeof(err));
	if (info == NULL) {
		console_error(r, 422, "certificate refused, the old one is "
		    "kept: %s", err);
		return;
	}
	certs_info_free(info);
	{
		/* Served as one PEM: the certificate, then the chain. */
		size_t clen = in.cert_len + in.chain_len + 2;
		char *all = malloc(clen);
		char *keycopy = malloc(in.key_len + 1);

		if (all == NULL || keycopy == NULL) {
			free(all);
			free(keycopy);
			console_error(r, 500, "out of memory");
			return;
		}
		snprintf(all, clen, "%s%s%s", cert, in.cert_len > 0 &&
		    cert[in.cert_len - 1] != '\n' ? "\n" : "",
		    chain != NULL ? chain : "");
		memcpy(keycopy, in.key_pem, in.key_len);
		keycopy[in.key_len] = '\0';
		if (console_cert_install(c, all, strlen(all), keycopy,
		    in.key_len, true, err, sizeof(err)) < 0) {
			free(all);
			sodium_memzero(keycopy, in.key_len);
			free(keycopy);
			console_error(r, 422, "certificate refused, the old "
			    "one is kept: %s", err);
			return;
		}
		free(all);
		sodium_memzero(keycopy, in.key_len);
		free(keycopy);
	}
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    EVENTLOG_CERT_IMPORTED, "subject", c->cert_info->subject,
	    "fingerprint", c->cert_info->fingerprint, "who", r->who, "from",
	    r->from, NULL);
	console_reply(r, 200, certs_info_json(c->cert_info, time(NULL)));
}

static void
post_cert_csr(struct console *c, struct console_req *r)
{
	json_t *names = json_object_get(r->body, "names"), *v;
	const char *cn = str_arg(r, "common_name");
	const char *sans[CERTS_SAN_MAX];
	struct certs_request rq;
	char err[CERTS_ERR_MAX], *pem = NULL;
	size_t len, i, n = 0;

	if (c->key_pem == NULL) {
		console_error(r, 409, "no key yet");
		return;
	}
	if (names != NULL && (!json_is_array(names) ||
	    json_array_size(names) > CERTS_SAN_MAX)) {
		console_error(r, 400, "\"names\" is a list of at most %d DNS "
		    "names or addresses", CERTS_SAN_MAX);
		return;
	}
	json_array_foreach(names, i, v) {
		if (!json_is_string(v)) {
			console_error(r, 400, "\"names\"[%zu] is not a string",
			    i);
			return;
		}
		sans[n++] = json_string_value(v);
	}
	memset(&rq, 0, sizeof(rq));
	rq.key_pem = c->key_pem;
	rq.key_len = c->key_len;
	rq.common_name = cn != NULL ? cn : c->device_name;
	rq.sans = sans;
	rq.n_sans = n;
	rq.now = time(NULL);
	if (certs_csr(&rq, &pem, &len, err, sizeof(err)) < 0) {
		console_error(r, 422, "%s", err);
		return;
	}
	console_reply(r, 200, json_pack("{s:s%}", "csr", pem, len));
	free(pem);
}

/* sluicectl account add on an empty store: the first administrator,
 * without the setup token (the control socket is local and root's). */
static void
local_setup_hashed(struct console_req *r, int status, const char *hash)
{
	struct console *c = r->c;
	struct accounts_source src = { 0 };
	struct accounts_result res;
	char token[ACCOUNTS_TOKEN_TEXT];

	if (status != 0) {
		console_error(r, 503, "could not hash the password");
		return;
	}
	if (accounts_setup_token_new(c->accounts, token) < 0 ||
	    accounts_setup(c->accounts, token, r->name, hash, &src,
	    console_now(c), &res) < 0) {
		sodium_memzero(token, sizeof(token));
		console_error(r, 409, "the account could not be created");
		return;
	}
	sodium_memzero(token, sizeof(token));
	console_accounts_save(c);
	console_emit_account_events(c, ACCOUNTS_EV_ACCOUNT_ADDED, r->name,
	    r->who, r->from);
	console_reply(r, 201, json_pack("{s:s,s:s,s:b}", "name", r->name,
	    "level", "admin", "must_change", 0));
}

void
console_api_ctl(struct console *c, struct console_req *r, enum ctl_cmd cmd)
{
	const char *name = str_arg(r, "name");

	snprintf(r->arg, sizeof(r->arg), "%s", name != NULL ? name : "");
	switch (cmd) {
	case CTL_ACCOUNT_ADD:
		r->flag = json_integer_value(json_object_get(r->body,
		    "temporary")) != 0;
		if (accounts_setup_needed(c->accounts)) {
			const char *level = str_arg(r, "level");

			if (name == NULL || !accounts_name_valid(name) ||
			    (level != NULL && strcmp(level, "admin") != 0)) {
				console_error(r, 400, "the first account must "
				    "be an administrator with a valid name");
				return;
			}
			if (!take_secret(r, "password") ||
			    !password_ok(c, r, name, r->secret,
			    r->secret_len))
				return;
			snprintf(r->name, sizeof(r->name), "%s", name);
			console_hash_start(r, local_setup_hashed);
			return;
		}
		post_accounts(c, r);
		return;
	case CTL_ACCOUNTS:
		get_accounts(c, r);
		return;
	case CTL_ACCOUNT_REMOVE:
		delete_account(c, r);
		return;
	case CTL_ACCOUNT_PASSWORD:
		put_account(c, r);
		return;
	case CTL_CERT_SHOW:
		get_certificate(c, r);
		return;
	case CTL_CERT_IMPORT:
		post_cert_import(c, r);
		return;
	case CTL_CERT_CSR:
		post_cert_csr(c, r);
		return;
	case CTL_CERT_GENERATE:
		post_cert_generate(c, r);
		return;
	default:
		console_error(r, 400, "not a console command");
	}
}

/* ---- the role table --------------------------------------------------- */

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define PUT EVHTTP_REQ_PUT
#define DEL EVHTTP_REQ_DELETE
#define PATCH EVHTTP_REQ_PATCH

const struct console_route console_routes[] = {
	{ GET, "/api/v1/login", CONSOLE_PUBLIC, get_login },
	{ POST, "/api/v1/login", CONSOLE_PUBLIC, post_login },
	{ POST, "/api/v1/setup", CONSOLE_PUBLIC, post_setup },
	{ GET, "/api/v1/session", CONSOLE_SIGNED_IN, get_session },
	{ POST, "/api/v1/logout", CONSOLE_SIGNED_IN, post_logout },
	{ PUT, "/api/v1/session/password", CONSOLE_SIGNED_IN,
	    put_own_password },
	{ GET, "/api/v1/status", CONSOLE_USER, get_status },
	{ GET, "/api/v1/services", CONSOLE_USER, get_services },
	{ PUT, "/api/v1/services/{}", CONSOLE_ADMIN, put_service },
	{ GET, "/api/v1/accessible-ip", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/accessible-ip", CONSOLE_ADMIN, put_section },
	{ PATCH, "/api/v1/accessible-ip", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/dos-defense", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/dos-defense", CONSOLE_ADMIN, put_section },
	{ PATCH, "/api/v1/dos-defense", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/password-policy", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/password-policy", CONSOLE_ADMIN, put_section },
	{ PATCH, "/api/v1/password-policy", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/login-message", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/login-message", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/console", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/console", CONSOLE_ADMIN, put_section },
	{ PATCH, "/api/v1/console", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/tls", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/tls", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/firewall", CONSOLE_USER, get_section },
	{ PATCH, "/api/v1/firewall", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/logging", CONSOLE_USER, get_section },
	{ PATCH, "/api/v1/logging", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/device", CONSOLE_USER, get_section },
	{ PUT, "/api/v1/device", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/modbus", CONSOLE_USER, get_section },
	{ PATCH, "/api/v1/modbus", CONSOLE_ADMIN, put_section },
	{ GET, "/api/v1/accounts", CONSOLE_ADMIN, get_accounts },
	{ POST, "/api/v1/accounts", CONSOLE_ADMIN, post_accounts },
	{ PUT, "/api/v1/accounts/{}", CONSOLE_ADMIN, put_account },
	{ DEL, "/api/v1/accounts/{}", CONSOLE_ADMIN, delete_account },
	{ GET, "/api/v1/sessions", CONSOLE_ADMIN, get_sessions },
	{ DEL, "/api/v1/sessions/{}", CONSOLE_ADMIN, delete_session },
	{ GET, "/api/v1/tokens", CONSOLE_ADMIN, get_tokens },
	{ POST, "/api/v1/tokens", CONSOLE_ADMIN, post_tokens },
	{ DEL, "/api/v1/tokens/{}", CONSOLE_ADMIN, delete_token },
	{ GET, "/api/v1/certificate", CONSOLE_USER, get_certificate },
	{ POST, "/api/v1/certificate/generate", CONSOLE_ADMIN,
	    post_cert_generate },
	{ POST, "/api/v1/certificate/import", CONSOLE_ADMIN,
	    post_cert_import },
	{ POST, "/api/v1/certificate/csr", CONSOLE_ADMIN, post_cert_csr },
	{ GET, "/api/v1/events", CONSOLE_USER, get_events },
	{ GET, "/api/v1/events/export", CONSOLE_USER, get_events_export },
	{ DEL, "/api/v1/events", CONSOLE_ADMIN, delete_events },
	{ GET, "/api/v1/policy", CONSOLE_USER, get_policy },
	{ PATCH, "/api/v1/policy", CONSOLE_ADMIN, patch_policy },
	{ GET, "/api/v1/policy/export", CONSOLE_USER, get_policy_export },
	{ GET, "/api/v1/policy/history", CONSOLE_USER, get_history },
	{ POST, "/api/v1/policy/diff", CONSOLE_ADMIN, post_policy_diff },
	{ POST, "/api/v1/policy/apply", CONSOLE_ADMIN, post_policy_apply },
	{ POST, "/api/v1/policy/confirm", CONSOLE_ADMIN, post_policy_confirm },
	{ POST, "/api/v1/policy/rollback", CONSOLE_ADMIN,
	    post_policy_rollback },
	{ POST, "/api/v1/system/reload", CONSOLE_ADMIN, post_reload },
	{ POST, "/api/v1/system/restart", CONSOLE_ADMIN, post_restart },
};
const size_t console_n_routes = sizeof(console_routes) /
    sizeof(console_routes[0]);

/* pattern "/a/{}" matches "/a/x" (x: one segment, no '/'). */
static bool
match(const char *pattern, const char *path, char *arg, size_t arglen)
{
	const char *brace = strstr(pattern, "{}");
	size_t pre;

	if (brace == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(brace - pattern);
	if (strncmp(pattern, path, pre) != 0 || path[pre] == '\0' ||
	    strchr(path + pre, '/') != NULL || strlen(path + pre) >= arglen)
		return false;
	snprintf(arg, arglen, "%s", path + pre);
	return true;
}

const struct console_route *
console_route_find(int method, const char *path, char *arg, size_t arglen,
    bool *known)
{
	size_t i;

	*known = false;
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (i = 0; i < console_n_routes; i++) {
		if (!match(console_routes[i].pattern, path, arg, arglen))
			continue;
		*known = true;
		if (console_routes[i].method == method)
			return &console_routes[i];
	}
	return NULL;
}
