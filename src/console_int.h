/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * console_int.h - what console.c (transport, sessions, authentication)
 * and console_api.c (the /api/v1 routes) share.  Not for other modules.
 */
#ifndef SLUICE_CONSOLE_INT_H
#define SLUICE_CONSOLE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "accounts.h"
#include "console.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evconnlistener;
struct bufferevent;
struct event;
struct tls_ctx;
struct certs_info;

#define CONSOLE_MAX_LISTEN     4       /* https and http, IPv4 and IPv6 */
#define CONSOLE_SESSION_BYTES  32
#define CONSOLE_TOKENS_MAX     32
#define CONSOLE_HASH_INFLIGHT  2       /* Argon2id jobs at the monitor */
#define CONSOLE_MAX_HEADERS    8192
#define CONSOLE_TEXT_MAX       500     /* login messages */
#define CONSOLE_ADDR_TEXT      46      /* INET6_ADDRSTRLEN */

/* Who a request is from, after authentication. */
enum console_auth {
	CONSOLE_AUTH_NONE = 0,
	CONSOLE_AUTH_SESSION,
	CONSOLE_AUTH_TOKEN,
};

/* What a route needs: the role table's column. */
enum console_need {
	CONSOLE_PUBLIC = 0,     /* anyone (login page, login, setup) */
	CONSOLE_SIGNED_IN,      /* any session, even one that must change
				 * its password first */
	CONSOLE_USER,           /* read: user or admin */
	CONSOLE_ADMIN,          /* write: admin only */
};

struct console_session {
	uint8_t id_hash[32];            /* BLAKE2b of the cookie value */
	char public_id[17];             /* hex, for listing and ending */
	char csrf[ACCOUNTS_TOKEN_TEXT];
	char name[ACCOUNTS_NAME_MAX + 1];
	enum accounts_level level;
	bool must_change;
	time_t created, last_seen;
	char source[CONSOLE_ADDR_TEXT];
	bool used;
};

struct console_token {
	char id[17];                    /* hex */
	char name[65];
	enum accounts_level scope;
	uint8_t hash[32];               /* BLAKE2b of the secret */
	time_t created, last_used;
	char created_by[ACCOUNTS_NAME_MAX + 1];
};

/* One accepted connection (HTTP or HTTPS). */
struct console_conn {
	struct console *c;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;        /* from its first request */
	struct console_conn *next;
	struct event *timer;    /* start check, then the request deadline */
	struct console_req *busy;       /* a request being answered */
	struct accounts_source src;
	char addr[CONSOLE_ADDR_TEXT];
	uint16_t port, lport;
	char laddr[CONSOLE_ADDR_TEXT];
	bool tls;
	bool checked;
};

/* One request being answered (possibly later: hashing, applies). */
struct console_req {
	struct console *c;
	struct evhttp_request *req;     /* NULL once the client is gone */
	struct console_conn *cc;
	int method;                     /* EVHTTP_REQ_* */
	char path[256];
	char arg[128];                  /* the {name} of a route, decoded */
	json_t *body;                   /* parsed JSON body or NULL */
	enum console_auth auth;
	char user[ACCOUNTS_NAME_MAX + 1];
	enum accounts_level level;
	/* When AUTH_SESSION; valid only until the request goes
	 * asynchronous (slots may be ended or reallocated meanwhile). */
	struct console_session *session;
	uint8_t session_id[32];         /* its id_hash, to find it again */
	/* The client, from its tracked connection or from evhttp. */
	bool tls;
	struct accounts_source src;
	char addr[CONSOLE_ADDR_TEXT], laddr[CONSOLE_ADDR_TEXT];
	uint16_t port, lport;
	char who[96];                   /* "alice" or "token:ID" */
	char from[80];                  /* "console 192.0.2.7" */
	/* In-flight work. */
	struct accounts_attempt att;
	char *secret;                   /* a password being hashed; wiped */
	size_t secret_len;
	char name[ACCOUNTS_NAME_MAX + 1];
	int level_arg;
	bool flag;
	struct accounts_reuse *reuse;
	void (*hash_cb)(struct console_req *, int, const char *);
	/* From the control socket: the answer goes here, not to HTTP. */
	console_reply_fn ctl_done;
	void *ctl_ctx;
};

struct console_listen {
	int family;
	uint16_t port;
	bool tls;
	bool redirect;          /* plain HTTP that only redirects */
	uint32_t token;         /* the request at the monitor; 0 = none */
	struct evhttp_bound_socket *bound;
	struct evconnlistener *redirector;
};

/* A connection to the redirecting HTTP port (not evhttp's). */
struct console_redirect;

struct console {
	struct event_base *base;
	const struct console_ops *ops;
	struct console_ops ops_copy;
	char state_dir[1024];
	struct evhttp *https, *http;
	struct tls_ctx *tls;
	struct console_listen listen[CONSOLE_MAX_LISTEN];
	uint32_t next_token;
	struct console_conn *conns;
	struct console_redirect *redirects;

	/* From the policy. */
	const struct policy *policy;    /* the running one (borrowed) */
	uint16_t https_port, http_port;         /* 0 = disabled */
	bool serve_over_http;
	uint32_t session_idle_s, session_lifetime_s;
	uint32_t max_conns_per_source, request_timeout_s, max_body;
	int tls_min_version;
	uint32_t max_handshakes, handshakes_per_s;
	int cert_key;                   /* enum policy_cert_key */
	uint32_t min_rsa_bits, renew_days;
	char device_name[64];
	char *login_message, *failure_message;

	struct accounts_config acfg;
	struct accounts *accounts;
	struct accounts_common *common;

	struct console_session *sessions;       /* max_sessions slots */
	size_t n_session_slots;
	struct console_token tokens[CONSOLE_TOKENS_MAX];
	size_t n_tokens;

	/* The certificate being served. */
	char *cert_pem, *key_pem;
	size_t cert_len, key_len;
	struct certs_info *cert_info;
	bool cert_generating;
	struct event *cert_timer;       /* daily expiry check */

	unsigned hashing;               /* Argon2id jobs at the monitor */
	bool accounts_writing, accounts_again;
	bool tokens_writing, tokens_again;
	long clock_offset;              /* test hooks */
	uint64_t n_requests, n_refused;
};

/* console.c */
time_t console_now(const struct console *c);
void console_reply(struct console_req *r, int code, json_t *body);
/* A download: data (len bytes) as ctype, saved as filename. */
void console_reply_file(struct console_req *r, const char *ctype,
    const char *data, size_t len, const char *filename);
void console_error(struct console_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void console_req_free(struct console_req *r);
int console_accounts_save(struct console *c);
int console_tokens_save(struct console *c);
void console_end_sessions_of(struct console *c, const char *name);
struct console_session *console_session_new(struct console *c,
    const char *name, enum accounts_level level, bool must_change,
    const char *source, char cookie[ACCOUNTS_TOKEN_TEXT]);
void console_session_end(struct console *c, struct console_session *s);
void console_set_cookie(struct console_req *r, const char *value,
    bool clear);
void console_cert_generate(struct console *c, struct console_req *r);
/* Serve cert and key from now on (save: also keep them in the state
 * directory).  0, or -1 with err and the old certificate still served. */
int console_cert_install(struct console *c, const char *cert, size_t clen,
    const char *key, size_t klen, bool save, char *err, size_t errlen);
void console_emit_account_events(struct console *c, unsigned events,
    const char *name, const char *who, const char *from);
void console_hash_cost(const struct console *c,
    unsigned long long *opslimit, size_t *memlimit);
void console_hash_start(struct console_req *r, void (*done)(
    struct console_req *, int, const char *));

/* Parsers of untrusted header text (fuzz_console_http). */
/* name's value in one Cookie header into out (n bytes), or NULL. */
const char *console_cookie_find(const char *header, const char *name,
    char *out, size_t n);
/* A request head (len bytes, up to the blank line): 0 when it starts
 * with "METHOD SP TARGET SP HTTP/1.x", with path (a safe origin-form
 * target, else "/") and host (the Host header, "" when none) filled;
 * -1 otherwise.  The first 8192 bytes are looked at. */
int console_parse_head(const char *buf, size_t len, char *path,
    size_t pathlen, char *host, size_t hostlen);
/* https://HOST[:PORT]PATH for a clear-text request (host may be NULL). */
void console_redirect_location(const struct console *c, const char *host,
    const char *path, char *loc, size_t n);

/* console_api.c */
void console_api_ctl(struct console *c, struct console_req *r,
    enum ctl_cmd cmd);
struct console_route {
	int method;                     /* EVHTTP_REQ_* */
	const char *pattern;            /* "/api/v1/accounts/{}" */
	enum console_need need;
	void (*fn)(struct console *c, struct console_req *r);
};
extern const struct console_route console_routes[];
extern const size_t console_n_routes;
/* The route for method and path (arg gets the {} part), or NULL; *known
 * says whether the path exists with another method (405 vs 404). */
const struct console_route *console_route_find(int method, const char *path,
    char *arg, size_t arglen, bool *known);

#endif
