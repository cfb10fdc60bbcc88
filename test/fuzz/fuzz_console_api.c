/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_console_api.c - the console's /api/v1 route handlers, without
 * sockets: each input is one to four requests (route, credentials, the
 * path's argument or query, a JSON body) dispatched at once, as from
 * several connections, to the real handlers of console_routes[], on a
 * console whose monitor and engine are fakes that answer on the next
 * turn of the loop.
 *
 * Input: byte 0 says which password verifications match (bit k: the
 * k-th call of the input), byte 1 the other outcomes (below); then the
 * requests, separated by "\n--\n": [route][credentials][argument] then
 * the body (JSON; empty = none).  argument < 0x80 picks a known name,
 * else (argument & 0x3f) raw bytes follow.  Credentials: 0 none, 1
 * administrator session, 2 user session, 3 session that must change its
 * password, 4 read token, 5 admin token.  Requests the transport would
 * refuse (role table, a body that is not an object) are not sent.
 *
 * The fakes keep the contract of struct console_ops (done exactly once,
 * never from inside the call; -1 and no done when a request cannot be
 * sent, as the engine's for an over-long password) and, like the
 * engine, a successful policy apply reconfigures the console with the
 * new policy before it is answered.
 *
 * After the loop drains, every request must have been answered exactly
 * once, no hashing may be left counted, and the sessions must agree with
 * the accounts: no two slots with the same cookie, and none that is
 * signed in with a level its account no longer has, or free of the
 * password change its account still needs.  State (policy, accounts,
 * tokens, sessions) is reset for every input.
 *
 * Answers go to a collector through console_reply()'s control-socket
 * path (ctl_done), so the one handler that tells the two apart,
 * POST /api/v1/accounts, takes "temporary" from the body as for
 * `sluicectl account add`.  FUZZ_VERBOSE=1 prints every answer.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "accounts.h"
#include "console.h"
#include "console_int.h"
#include "ctl_proto.h"
#include "fsutil.h"
#include "keygen.h"
#include "log.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Byte 1. */
#define F_HASH_FAIL     0x01    /* the monitor cannot hash */
#define F_VERIFY_EIO    0x02    /* the first verification: an error */
#define F_KEYGEN_FAIL   0x04
#define F_CMD_ERROR     0x08    /* engine commands fail ... */
#define F_CMD_POLICY    0x10    /* ... as an invalid policy (else usage) */
#define F_OLD_HASH      0x20    /* hashes with old parameters: rehash */
#define F_MONITOR_DOWN  0x40    /* hash, verify, keygen cannot be sent */

#define MAX_REQS        4
#define SEP             "\n--\n"

static struct event_base *base;
static struct console *con;
static struct policy *pol;              /* the embedded default */
static struct policy *running;          /* what the console runs now */
static char *pristine;                  /* accounts.json after seeding */
static size_t pristine_len;
static char hash_new[crypto_pwhash_STRBYTES];
static char hash_old[crypto_pwhash_STRBYTES];
static char *key_pem;                   /* what fake keygen returns */
static size_t key_len;
static unsigned pending;                /* fake jobs not yet run */
static uint8_t verify_bits, flags;
static unsigned verify_calls;
static bool verbose;                    /* FUZZ_VERBOSE=1: print answers */

static const char *const known_args[] = {
	"root", "alice", "temp", "nobody", "0000000000000001",
	"0000000000000002", "5e55100000000000", "5e55200000000000",
	"5e55300000000000", "https", "http", "telnet", "modbus-tcp",
	"no-such", "group=configuration&limit=3", "since=1&limit=0",
};

static const char *const pw_root = "Quartz-Falcon-92!river";
static const char *const pw_user = "Harbor-Lantern-41!maple";

/* ---- the fake monitor and engine: answers on the next loop turn ----- */

enum job_kind { JOB_HASH, JOB_VERIFY, JOB_KEYGEN, JOB_COMMAND };

struct job {
	enum job_kind kind;
	int status;
	console_hash_fn hash_done;
	console_status_fn status_done;
	console_pem_fn pem_done;
	console_reply_fn reply_done;
	void *ctx;
	json_t *reply;
	struct policy *apply;   /* a policy apply: configure, then answer */
};

static void
job_run(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	pending--;
	switch (j->kind) {
	case JOB_HASH:
		j->hash_done(j->ctx, j->status, j->status == 0 ?
		    (flags & F_OLD_HASH ? hash_old : hash_new) : NULL);
		break;
	case JOB_VERIFY:
		j->status_done(j->ctx, j->status, NULL);
		break;
	case JOB_KEYGEN:
		if (j->status != 0)
			j->pem_done(j->ctx, j->status, NULL, 0);
		else {
			char *pem = malloc(key_len + 1);

			if (pem == NULL)
				abort();
			memcpy(pem, key_pem, key_len + 1);
			j->pem_done(j->ctx, 0, pem, key_len);
		}
		break;
	case JOB_COMMAND:
		if (j->apply != NULL) {
			struct policy_error err = { "" };

			/* As the engine: the console runs the new policy
			 * before the change is answered. */
			if (console_configure(con, j->apply, &err) < 0)
				abort();
			if (running != pol)
				policy_free(running);
			running = j->apply;
		}
		j->reply_done(j->ctx, j->reply);
		break;
	}
	free(j);
}

static int
job_start(struct job *j)
{
	static const struct timeval now = { 0, 0 };

	if (event_base_once(base, -1, EV_TIMEOUT, job_run, j, &now) < 0)
		abort();
	pending++;
	return 0;
}

static struct job *
job_new(enum job_kind kind, void *ctx)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		abort();
	j->kind = kind;
	j->ctx = ctx;
	return j;
}

static int
fake_open_listen(void *arg, int family, uint16_t port, uint32_t token)
{
	(void)arg;
	(void)family;
	(void)port;
	(void)token;
	return -1;
}

static int
fake_hash(void *arg, const char *password, size_t len,
    unsigned long long opslimit, size_t memlimit, console_hash_fn done,
    void *ctx)
{
	struct job *j;

	(void)arg;
	(void)password;
	if (opslimit < 2 || memlimit < (19u << 20))
		abort();        /* never below the policy's floor */
	if (len > ACCOUNTS_PASSWORD_MAX)
		abort();        /* the console checks lengths first */
	if (flags & F_MONITOR_DOWN)
		return -1;
	j = job_new(JOB_HASH, ctx);
	j->hash_done = done;
	j->status = flags & F_HASH_FAIL ? EIO : 0;
	return job_start(j);
}

static int
fake_verify(void *arg, const char *hash, const char *password, size_t len,
    console_status_fn done, void *ctx)
{
	struct job *j;
	unsigned k = verify_calls++;

	(void)arg;
	(void)password;
	if (hash == NULL || hash[0] == '\0')
		abort();
	/* As the engine's: what does not fit the monitor's message is not
	 * sent. */
	if ((flags & F_MONITOR_DOWN) || len > ACCOUNTS_PASSWORD_MAX ||
	    strlen(hash) >= ACCOUNTS_HASH_MAX)
		return -1;
	j = job_new(JOB_VERIFY, ctx);
	j->status_done = done;
	if (k == 0 && (flags & F_VERIFY_EIO))
		j->status = EIO;
	else
		j->status = verify_bits & (1u << (k % 8)) ? 0 : EACCES;
	return job_start(j);
}

static int
fake_keygen(void *arg, int type, unsigned bits, console_pem_fn done,
    void *ctx)
{
	struct job *j;

	(void)arg;
	(void)type;
	(void)bits;
	if (flags & F_MONITOR_DOWN)
		return -1;
	j = job_new(JOB_KEYGEN, ctx);
	j->pem_done = done;
	j->status = flags & F_KEYGEN_FAIL ? EIO : 0;
	return job_start(j);
}

static void
fake_command(void *arg, enum ctl_cmd cmd, json_t *args, const char *who,
    const char *from, const char *peer_ssh, console_reply_fn done,
    void *ctx)
{
	struct job *j = job_new(JOB_COMMAND, ctx);

	(void)arg;
	(void)peer_ssh;
	if (!json_is_object(args) || who == NULL || from == NULL)
		abort();
	j->reply_done = done;
	if (flags & F_CMD_ERROR)
		j->reply = ctl_reply_error(flags & F_CMD_POLICY ?
		    CTL_EXIT_INVALID_POLICY : CTL_EXIT_USAGE, "fake %s",
		    ctl_cmd_name(cmd));
	else if (cmd == CTL_POLICY_APPLY) {
		json_t *text = json_object_get(args, "content");
		struct policy_error err = { "" };

		j->apply = json_is_string(text) ? policy_load_buffer("fuzz",
		    json_string_value(text), json_string_length(text), NULL,
		    &err) : NULL;
		j->reply = j->apply != NULL ? ctl_reply_ok(json_pack("{s:[]}",
		    "changes")) : ctl_reply_error(CTL_EXIT_INVALID_POLICY, "%s",
		    err.msg[0] != '\0' ? err.msg : "no content");
	} else if (cmd == CTL_LOG)
		j->reply = ctl_reply_ok(json_pack("[{s:i,s:s}]", "seq", 1,
		    "event", "cold-start"));
	else if (cmd == CTL_POLICY_SHOW)
		j->reply = ctl_reply_ok(json_pack("{s:s,s:s}", "source",
		    "<fuzz>", "yaml", "device:\n  name: \"fuzz\"\n"));
	else
		j->reply = ctl_reply_ok(json_object());
	if (j->reply == NULL)
		abort();
	job_start(j);
}

static bool
fake_admit(void *arg, const struct sockaddr *peer, uint16_t dport, char *why,
    size_t whylen)
{
	(void)arg;
	(void)peer;
	(void)dport;
	(void)why;
	(void)whylen;
	return true;
}

static void
fake_ban(void *arg, const char *addr, uint32_t seconds, const char *reason)
{
	(void)arg;
	(void)addr;
	(void)seconds;
	(void)reason;
}

static const struct console_ops fake_ops = {
	.open_listen = fake_open_listen, .hash = fake_hash,
	.verify = fake_verify, .keygen = fake_keygen,
	.command = fake_command, .admit = fake_admit, .ban = fake_ban,
};

/* ---- answers ---------------------------------------------------------- */

struct answer {
	unsigned calls;
	bool ok;
	char error[200];
};

static void
collect(void *ctx, json_t *reply)
{
	struct answer *a = ctx;

	a->calls++;
	if (!json_is_object(reply) ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		abort();
	if (json_is_false(json_object_get(reply, "ok")) &&
	    !json_is_string(json_object_get(reply, "error")))
		abort();
	a->ok = json_is_true(json_object_get(reply, "ok"));
	if (verbose) {
		char *t = json_dumps(reply, JSON_COMPACT);

		fprintf(stderr, "answer: %.300s\n", t != NULL ? t : "?");
		free(t);
	}
	snprintf(a->error, sizeof(a->error), "%s", json_string_value(
	    json_object_get(reply, "error")) ?: "");
	json_decref(reply);
}

/* Run the loop until every fake job has run (bounded). */
static void
drain(void)
{
	unsigned i;

	for (i = 0; i < 1000 && pending > 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (pending > 0)
		abort();
}

/* ---- one-time set-up and the per-input reset ------------------------ */

static void
seed_account(const char *name, const char *level, const char *pw,
    bool temporary)
{
	struct answer a = { 0 };
	json_t *args = json_pack("{s:s,s:s,s:s,s:i}", "name", name, "level",
	    level, "password", pw, "temporary", temporary ? 1 : 0);

	console_ctl(con, CTL_ACCOUNT_ADD, args, "fuzz", collect, &a);
	json_decref(args);
	drain();
	if (a.calls != 1 || !a.ok) {
		fprintf(stderr, "seeding %s: %s\n", name, a.calls != 1 ?
		    "no answer" : a.error);
		abort();
	}
}

static char dir[] = "/tmp/fuzz-console.XXXXXX";

/* The state directory goes with the process (it holds no subdirectory). */
static void
remove_dir(void)
{
	char path[1100];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct policy_error err = { "" };
	char path[1100];

	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	log_init("fuzz_console_api", 1);
	log_set_level(LOG_LEVEL_ERROR);
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	setenv("SLUICE_COMMON_PASSWORDS", SRCDIR "/src/common-passwords.txt",
	    0);
	setenv("SLUICE_WWW_DIR", SRCDIR "/www", 0);
	/* Two real Argon2id strings: current parameters, and the cheapest
	 * (which the console wants to rehash). */
	if (crypto_pwhash_str(hash_new, "x", 1,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
	    crypto_pwhash_str(hash_old, "x", 1, crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN) != 0)
		abort();
	if (keygen_private_pem(KEYGEN_EC_P256, 256, &key_pem, &key_len) < 0)
		abort();
	if ((base = event_base_new()) == NULL ||
	    (pol = policy_load_default(&err)) == NULL ||
	    (con = console_new(base, dir, &fake_ops)) == NULL ||
	    console_configure(con, pol, &err) < 0) {
		fprintf(stderr, "set-up: %s\n", err.msg);
		abort();
	}
	running = pol;
	drain();        /* the first certificate */
	if (con->cert_pem == NULL || con->accounts == NULL)
		abort();
	flags = 0;
	seed_account("root", "admin", pw_root, false);
	seed_account("alice", "user", pw_user, false);
	seed_account("temp", "user", pw_user, true);
	snprintf(path, sizeof(path), "%s/%s", dir, ACCOUNTS_FILE);
	if (fsutil_read_file(path, ACCOUNTS_FILE_MAX, &pristine,
	    &pristine_len) < 0)
		abort();
	return 0;
}

/* Who a request is from. */
struct ident {
	const char *name;
	enum accounts_level level;
	bool must_change;
	const char *public_id;
	struct console_session *s;
};

static struct ident idents[3] = {
	{ "root", ACCOUNTS_ADMIN, false, "5e55100000000000", NULL },
	{ "alice", ACCOUNTS_USER, false, "5e55200000000000", NULL },
	{ "temp", ACCOUNTS_USER, true, "5e55300000000000", NULL },
};

static void
reset(void)
{
	char cookie[ACCOUNTS_TOKEN_TEXT], err[256];
	size_t i;

	if (running != pol) {
		struct policy_error perr = { "" };

		if (console_configure(con, pol, &perr) < 0)
			abort();
		policy_free(running);
		running = pol;
	}
	accounts_free(con->accounts);
	con->accounts = accounts_parse(pristine, pristine_len, &con->acfg,
	    err, sizeof(err));
	if (con->accounts == NULL)
		abort();
	memset(con->sessions, 0, con->n_session_slots *
	    sizeof(*con->sessions));
	for (i = 0; i < 3; i++) {
		idents[i].s = console_session_new(con, idents[i].name,
		    idents[i].level, idents[i].must_change, "192.0.2.7",
		    cookie);
		if (idents[i].s == NULL)
			abort();
		snprintf(idents[i].s->public_id, sizeof(idents[i].s->public_id),
		    "%s", idents[i].public_id);
	}
	memset(con->tokens, 0, sizeof(con->tokens));
	for (i = 0; i < 2; i++) {
		struct console_token *t = &con->tokens[i];

		snprintf(t->id, sizeof(t->id), "000000000000000%zu", i + 1);
		snprintf(t->name, sizeof(t->name), "fuzz %zu", i + 1);
		snprintf(t->created_by, sizeof(t->created_by), "root");
		t->scope = i == 0 ? ACCOUNTS_ADMIN : ACCOUNTS_USER;
	}
	con->n_tokens = 2;
	con->clock_offset = 0;
	verify_calls = 0;
}

static bool
token_exists(const char *id)
{
	size_t i;

	for (i = 0; i < con->n_tokens; i++)
		if (strcmp(con->tokens[i].id, id) == 0)
			return true;
	return false;
}

/* The sessions agree with each other and with the accounts. */
static void
check_sessions(void)
{
	size_t i, j;

	for (i = 0; i < con->n_session_slots; i++) {
		const struct console_session *s = &con->sessions[i];
		struct accounts_info info;

		if (!s->used)
			continue;
		for (j = i + 1; j < con->n_session_slots; j++)
			if (con->sessions[j].used && memcmp(s->id_hash,
			    con->sessions[j].id_hash, 32) == 0) {
				fprintf(stderr, "sessions %zu and %zu: the "
				    "same cookie (%s)\n", i, j, s->name);
				abort();
			}
		if (accounts_find(con->accounts, s->name, console_now(con),
		    &info) < 0) {
			fprintf(stderr, "session %zu of %s: no such account\n",
			    i, s->name);
			abort();
		}
		if (info.level != s->level) {
			fprintf(stderr, "session %zu of %s: level %d, the "
			    "account's %d\n", i, s->name, (int)s->level,
			    (int)info.level);
			abort();
		}
		if (info.must_change && !s->must_change) {
			fprintf(stderr, "session %zu of %s: free of the "
			    "password change its account needs\n", i,
			    s->name);
			abort();
		}
	}
}

/* ---- one request ------------------------------------------------------ */

struct pending_req {
	struct evhttp_request *req;
	struct answer ans;
	bool sent;
};

static void
req_cb(struct evhttp_request *req, void *arg)
{
	(void)req;
	(void)arg;
}

/* Parse and dispatch one record; false when the transport would not
 * have called the handler. */
static bool
dispatch(const uint8_t *p, size_t n, struct pending_req *pr)
{
	const struct console_route *rt;
	struct console_req *r;
	char arg[128], path[256], uri[400];
	const char *brace;
	json_t *body = NULL;
	json_error_t je;
	unsigned who;
	size_t alen;

	if (n < 3)
		return false;
	rt = &console_routes[p[0] % console_n_routes];
	who = p[1] % 6;
	if (p[2] < 0x80) {
		snprintf(arg, sizeof(arg), "%s",
		    known_args[p[2] % (sizeof(known_args) /
		    sizeof(known_args[0]))]);
		p += 3;
		n -= 3;
	} else {
		alen = p[2] & 0x3f;
		p += 3;
		n -= 3;
		if (alen > n)
			alen = n;
		memcpy(arg, p, alen);
		arg[alen] = '\0';
		p += alen;
		n -= alen;
	}
	brace = strstr(rt->pattern, "{}");
	if (brace != NULL) {
		/* As the transport: one decoded segment, no NUL, no "..". */
		if (arg[0] == '\0' || strlen(arg) != strcspn(arg, "/") ||
		    strstr(arg, "..") != NULL)
			return false;
		snprintf(path, sizeof(path), "%.*s%s%s",
		    (int)(brace - rt->pattern), rt->pattern, arg, brace + 2);
		snprintf(uri, sizeof(uri), "%s", path);
	} else {
		snprintf(path, sizeof(path), "%s", rt->pattern);
		snprintf(uri, sizeof(uri), "%s?%s", path, arg);
	}
	if (n > 0) {
		body = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES,
		    &je);
		if (!json_is_object(body)) {
			json_decref(body);
			return false;
		}
	}

	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	r->c = con;
	r->method = rt->method;
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->arg, sizeof(r->arg), "%s", brace != NULL ? arg : "");
	r->body = body;
	snprintf(r->from, sizeof(r->from), "console 192.0.2.7");
	if (who >= 1 && who <= 3) {
		struct ident *id = &idents[who - 1];

		/* The cookie still names a live session of that account? */
		if (id->s->used && strcmp(id->s->public_id,
		    id->public_id) == 0 && strcmp(id->s->name,
		    id->name) == 0) {
			r->auth = CONSOLE_AUTH_SESSION;
			r->session = id->s;
			r->level = id->s->level;
			snprintf(r->user, sizeof(r->user), "%s", id->name);
			snprintf(r->who, sizeof(r->who), "%s", id->name);
		}
	} else if (who >= 4) {
		const char *tid = who == 5 ? "0000000000000001" :
		    "0000000000000002";

		if (token_exists(tid)) {
			r->auth = CONSOLE_AUTH_TOKEN;
			r->level = who == 5 ? ACCOUNTS_ADMIN : ACCOUNTS_USER;
			snprintf(r->user, sizeof(r->user), "root");
			snprintf(r->who, sizeof(r->who), "token:%s (fuzz)",
			    tid);
		}
	}
	/* The role table, as the transport applies it. */
	if ((rt->need != CONSOLE_PUBLIC && r->auth == CONSOLE_AUTH_NONE) ||
	    (rt->need != CONSOLE_PUBLIC && r->session != NULL &&
	    r->session->must_change && rt->need != CONSOLE_SIGNED_IN) ||
	    (rt->need == CONSOLE_ADMIN && r->level != ACCOUNTS_ADMIN)) {
		json_decref(body);
		free(r);
		return false;
	}
	/* A request object for headers and the query; answers go to the
	 * collector (console_reply's control-socket path). */
	if ((pr->req = evhttp_request_new(req_cb, NULL)) == NULL ||
	    (pr->req->uri = strdup(uri)) == NULL)
		abort();
	r->req = pr->req;
	r->ctl_done = collect;
	r->ctl_ctx = &pr->ans;
	pr->sent = true;
	rt->fn(con, r);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending_req prs[MAX_REQS];
	const uint8_t *p, *end, *sep;
	size_t i, n = 0;

	if (size < 2)
		return 0;
	memset(prs, 0, sizeof(prs));
	verify_bits = data[0];
	flags = data[1];
	reset();
	p = data + 2;
	end = data + size;
	while (p < end && n < MAX_REQS) {
		sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		if (sep == NULL)
			sep = end;
		(void)dispatch(p, (size_t)(sep - p), &prs[n]);
		n++;
		p = sep == end ? end : sep + strlen(SEP);
	}
	drain();
	for (i = 0; i < n; i++) {
		if (prs[i].sent && prs[i].ans.calls != 1) {
			fprintf(stderr, "request %zu answered %u times\n", i,
			    prs[i].ans.calls);
			abort();
		}
		if (prs[i].req != NULL)
			evhttp_request_free(prs[i].req);
	}
	if (con->hashing != 0 || con->cert_generating) {
		fprintf(stderr, "left over: hashing %u, generating %d\n",
		    con->hashing, (int)con->cert_generating);
		abort();
	}
	check_sessions();
	return 0;
}
