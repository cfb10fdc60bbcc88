/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * console.c - the HTTPS console's transport, sessions, authentication and
 * certificate life cycle (console.h).  The routes are in console_api.c.
 *
 * Every connection is tracked (struct console_conn) from evhttp's bevcb
 * to the bufferevent's free: that is where the per-source connection cap,
 * the accessible-IP check and the whole-request deadline (slowloris) live,
 * because libevent 2.1's evhttp has no hook at accept.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "accounts.h"
#include "certs.h"
#include "console.h"
#include "console_int.h"
#include "ctl_proto.h"
#include "eventlog.h"
#include "fsutil.h"
#include "keygen.h"
#include "log.h"
#include "policy.h"
#include "registry.h"
#include "tls.h"

#define COOKIE_TLS      "__Host-sluice_session"
#define COOKIE_PLAIN    "sluice_session"
#define CERT_CHECK_S    3600
#define REFUSED_LOG_S   10

static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

time_t
console_now(const struct console *c)
{
	return time(NULL) + c->clock_offset;
}

void
console_clock_advance(struct console *c, long seconds)
{
	c->clock_offset += seconds;
}

/* ---- replies -------------------------------------------------------- */

static void
security_headers(struct evkeyvalq *h, bool tls)
{
	evhttp_add_header(h, "Content-Security-Policy", csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	evhttp_add_header(h, "Permissions-Policy",
	    "camera=(), microphone=(), geolocation=(), usb=(), serial=()");
	if (tls)
		evhttp_add_header(h, "Strict-Transport-Security",
		    "max-age=31536000");
}

static void conn_arm(struct console_conn *cc);

static void
send_raw(struct console_req *r, int code, const char *ctype,
    struct evbuffer *body, const char *cache)
{
	struct evkeyvalq *h;

	if (r->req == NULL)
		return;
	h = evhttp_request_get_output_headers(r->req);
	security_headers(h, r->tls);
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", cache != NULL ? cache :
	    "no-store");
	evhttp_send_reply(r->req, code, NULL, body);
	r->req = NULL;
}

/* An answer for the control socket: 2xx -> ok, else the message. */
static void
reply_ctl(struct console_req *r, int code, json_t *body)
{
	json_t *reply;

	if (code < 300)
		reply = ctl_reply_ok(body != NULL ? body : json_null());
	else {
		json_t *e = json_object_get(body, "error");
		const char *msg = json_string_value(json_object_get(e,
		    "message"));
		json_t *why = json_object_get(e, "reasons");
		char text[1024];
		size_t i, n;
		json_t *v;

		n = (size_t)snprintf(text, sizeof(text), "%s", msg != NULL ?
		    msg : "failed");
		json_array_foreach(why, i, v)
			if (n < sizeof(text))
				n += (size_t)snprintf(text + n, sizeof(text) -
				    n, "; %s", json_string_value(
				    json_object_get(v, "message")));
		reply = ctl_reply_error(code == 422 || code == 400 ?
		    CTL_EXIT_USAGE : CTL_EXIT_FAILED, "%s", text);
		json_decref(body);
	}
	r->ctl_done(r->ctl_ctx, reply);
	r->ctl_done = NULL;
}

void
console_reply(struct console_req *r, int code, json_t *body)
{
	struct evbuffer *b;
	char *text = NULL;

	if (r->ctl_done != NULL) {
		reply_ctl(r, code, body);
		console_req_free(r);
		return;
	}
	b = evbuffer_new();

	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (b != NULL && text != NULL) {
		evbuffer_add(b, text, strlen(text));
		evbuffer_add(b, "\n", 1);
	}
	if (body != NULL)
		send_raw(r, code, "application/json", b, NULL);
	else
		send_raw(r, code, NULL, b, NULL);
	free(text);
	json_decref(body);
	if (b != NULL)
		evbuffer_free(b);
	console_req_free(r);
}

void
console_reply_file(struct console_req *r, const char *ctype,
    const char *data, size_t len, const char *filename)
{
	struct evbuffer *b;
	char cd[160];

	if (r->ctl_done != NULL) {
		reply_ctl(r, 200, json_pack("{s:s%}", "content", data, len));
		console_req_free(r);
		return;
	}
	if (r->req != NULL && (b = evbuffer_new()) != NULL) {
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"",
		    filename);
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Content-Disposition", cd);
		evbuffer_add(b, data, len);
		send_raw(r, 200, ctype, b, NULL);
		evbuffer_free(b);
	}
	console_req_free(r);
}

void
console_error(struct console_req *r, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console_reply(r, code, json_pack("{s:{s:i,s:s}}", "error", "status",
	    code, "message", msg));
}

void
console_req_free(struct console_req *r)
{
	if (r == NULL)
		return;
	if (r->cc != NULL && r->cc->busy == r) {
		r->cc->busy = NULL;
		conn_arm(r->cc);
	}
	if (r->reuse != NULL)
		accounts_reuse_cancel(r->reuse);
	if (r->secret != NULL) {
		sodium_memzero(r->secret, r->secret_len);
		free(r->secret);
	}
	json_decref(r->body);
	sodium_memzero(&r->att, sizeof(r->att));
	free(r);
}

/* ---- connections ---------------------------------------------------- */

static void
conn_kill(struct console_conn *cc)
{
	int fd = bufferevent_getfd(cc->bev);

	/* evhttp owns the connection: make it see the end and free it. */
	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
}

static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct console_conn *cc = arg;

	(void)fd;
	(void)what;
	if (cc->busy != NULL)
		return;
	log_debug("console: %s: no whole request within %u s: closed",
	    cc->addr, cc->c->request_timeout_s);
	conn_kill(cc);
}

/* A whole request must arrive within request_timeout of the connection
 * or of the last answer: evhttp's own timeout is per read, which a
 * client trickling one byte at a time never trips. */
static void
conn_arm(struct console_conn *cc)
{
	struct timeval tv = { cc->c->request_timeout_s, 0 };

	if (cc->timer == NULL)
		return;
	event_del(cc->timer);
	event_assign(cc->timer, cc->c->base, -1, 0, conn_deadline, cc);
	event_add(cc->timer, &tv);
}

static void
addr_of(const struct sockaddr_storage *ss, char *addr, uint16_t *port,
    struct accounts_source *src)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(src, 0, sizeof(*src));
	*port = 0;
	snprintf(addr, CONSOLE_ADDR_TEXT, "?");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		src->family = 4;
		memcpy(src->addr, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		inet_ntop(AF_INET, &s->sin_addr, addr, CONSOLE_ADDR_TEXT);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		*port = ntohs(s->sin6_port);
		if (memcmp(&s->sin6_addr, v4mapped, 12) == 0) {
			src->family = 4;
			memcpy(src->addr, (const uint8_t *)&s->sin6_addr + 12,
			    4);
			inet_ntop(AF_INET, src->addr, addr, CONSOLE_ADDR_TEXT);
		} else {
			src->family = 6;
			memcpy(src->addr, &s->sin6_addr, 16);
			inet_ntop(AF_INET6, &s->sin6_addr, addr,
			    CONSOLE_ADDR_TEXT);
		}
	}
}

/*
 * A new connection from ss (addr as text) to lport, with `same` others
 * from the same source already open: refused at
 * console.max_connections_per_source or by the accessible-IP list
 * (logged at most every REFUSED_LOG_S).  The same rule for both ports.
 */
static bool
source_refused(struct console *c, const struct sockaddr_storage *ss,
    const char *addr, unsigned same, uint16_t lport, const char *service)
{
	static time_t last_log;
	bool quiet = time(NULL) - last_log < REFUSED_LOG_S;
	char why[256];

	if (same >= c->max_conns_per_source) {
		if (!quiet)
			log_warn("console: %s has %u connections to %s "
			    "(console.max_connections_per_source): refused",
			    addr, same, service);
	} else if (c->ops->admit != NULL && !c->ops->admit(c->ops->arg,
	    (const struct sockaddr *)ss, lport, why, sizeof(why))) {
		if (!quiet)
			eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING,
			    EVENTLOG_CLIENT_REFUSED, "address", addr,
			    "service", service, "rule", why, NULL);
	} else
		return false;
	c->n_refused++;
	if (!quiet)
		last_log = time(NULL);
	return true;
}

static void
conn_check(evutil_socket_t unused, short what, void *arg)
{
	struct console_conn *cc = arg, *o;
	struct console *c = cc->c;
	struct sockaddr_storage ss, ls;
	socklen_t len = sizeof(ss), llen = sizeof(ls);
	unsigned same = 0;
	int fd = bufferevent_getfd(cc->bev);

	(void)unused;
	(void)what;
	cc->checked = true;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ls, &llen) != 0) {
		conn_kill(cc);
		return;
	}
	addr_of(&ss, cc->addr, &cc->port, &cc->src);
	{
		struct accounts_source dummy;

		addr_of(&ls, cc->laddr, &cc->lport, &dummy);
	}
	for (o = c->conns; o != NULL; o = o->next)
		if (o != cc && o->checked && o->src.family == cc->src.family &&
		    memcmp(o->src.addr, cc->src.addr, 16) == 0)
			same++;
	if (source_refused(c, &ss, cc->addr, same, cc->lport, "https")) {
		conn_kill(cc);
		return;
	}
	conn_arm(cc);
}

static void
conn_gone(void *arg)
{
	struct console_conn *cc = arg, **pp;
	struct console *c = cc->c;

	for (pp = &c->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cc) {
			*pp = cc->next;
			break;
		}
	if (cc->busy != NULL) {
		cc->busy->req = NULL;
		cc->busy->cc = NULL;
	}
	if (cc->timer != NULL)
		event_free(cc->timer);
	free(cc);
}

static struct bufferevent *
conn_new(struct console *c, struct event_base *base)
{
	struct console_conn *cc;
	struct bufferevent *bev;
	struct timeval now = { 0, 0 };

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	if ((bev = tls_evhttp_bevcb(base, c->tls)) == NULL) {
		free(cc);
		return NULL;
	}
	cc->c = c;
	cc->bev = bev;
	cc->tls = true;
	cc->next = c->conns;
	c->conns = cc;
	tls_bufferevent_on_free(bev, conn_gone, cc);
	/* evhttp sets the socket right after this returns. */
	cc->timer = evtimer_new(base, conn_check, cc);
	if (cc->timer != NULL)
		event_add(cc->timer, &now);
	return bev;
}

static struct bufferevent *
bevcb_https(struct event_base *base, void *arg)
{
	return conn_new(arg, base);
}

static struct console_conn *
conn_of(struct console *c, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct console_conn *cc;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	for (cc = c->conns; cc != NULL; cc = cc->next)
		if (cc->bev == bev)
			return cc;
	return NULL;
}

static void
conn_closing(struct evhttp_connection *evcon, void *arg)
{
	struct console_conn *cc = arg;

	if (cc->busy != NULL) {
		cc->busy->req = NULL;
		cc->busy->cc = NULL;
		cc->busy = NULL;
	}
	if (cc->tls)
		tls_bufferevent_close_notify(
		    evhttp_connection_get_bufferevent(evcon));
}

/* ---- sessions ------------------------------------------------------- */

static void
blake(uint8_t out[32], const char *text)
{
	crypto_generichash(out, 32, (const unsigned char *)text, strlen(text),
	    NULL, 0);
}

static void
random_text(char out[ACCOUNTS_TOKEN_TEXT])
{
	unsigned char raw[ACCOUNTS_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, ACCOUNTS_TOKEN_TEXT, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static bool
session_live(const struct console *c, const struct console_session *s,
    time_t now)
{
	return s->used && now - s->last_seen < (time_t)c->session_idle_s &&
	    now - s->created < (time_t)c->session_lifetime_s;
}

struct console_session *
console_session_new(struct console *c, const char *name,
    enum accounts_level level, bool must_change, const char *source,
    char cookie[ACCOUNTS_TOKEN_TEXT])
{
	struct console_session *s = NULL, *oldest = NULL;
	time_t now = console_now(c);
	size_t i;

	for (i = 0; i < c->n_session_slots; i++) {
		struct console_session *t = &c->sessions[i];

		if (!session_live(c, t, now)) {
			s = t;
			break;
		}
		if (oldest == NULL || t->last_seen < oldest->last_seen)
			oldest = t;
	}
	if (s == NULL) {
		/* Full: the least recently used session gives way, so an
		 * administrator can always sign in. */
		if (oldest == NULL)
			return NULL;
		log_info("console: session of %s ended: console.max_sessions "
		    "reached", oldest->name);
		s = oldest;
	}
	memset(s, 0, sizeof(*s));
	random_text(cookie);
	blake(s->id_hash, cookie);
	sodium_bin2hex(s->public_id, sizeof(s->public_id), s->id_hash, 8);
	random_text(s->csrf);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->level = level;
	s->must_change = must_change;
	s->created = s->last_seen = now;
	snprintf(s->source, sizeof(s->source), "%s", source);
	s->used = true;
	return s;
}

void
console_session_end(struct console *c, struct console_session *s)
{
	(void)c;
	sodium_memzero(s, sizeof(*s));
}

void
console_end_sessions_of(struct console *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_session_slots; i++)
		if (c->sessions[i].used &&
		    strcmp(c->sessions[i].name, name) == 0)
			console_session_end(c, &c->sessions[i]);
}

static struct console_session *
session_find(struct console *c, const char *cookie)
{
	struct console_session *found = NULL;
	uint8_t h[32];
	time_t now = console_now(c);
	size_t i;

	blake(h, cookie);
	for (i = 0; i < c->n_session_slots; i++) {
		struct console_session *s = &c->sessions[i];

		if (!s->used)
			continue;
		if (!session_live(c, s, now)) {
			console_session_end(c, s);
			continue;
		}
		if (sodium_memcmp(s->id_hash, h, 32) == 0)
			found = s;
	}
	return found;
}

void
console_set_cookie(struct console_req *r, const char *value, bool clear)
{
	bool tls = r->tls;
	char buf[256];

	if (r->req == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; SameSite=Strict"
	    "%s%s", tls ? COOKIE_TLS : COOKIE_PLAIN, clear ? "" : value,
	    tls ? "; Secure" : "", clear ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Set-Cookie", buf);
}

/* name's value in one Cookie header (RFC 6265 5.4: "a=b; c=d"), copied
 * to out (n bytes); NULL when absent or too long. */
const char *
console_cookie_find(const char *header, const char *name, char *out,
    size_t n)
{
	size_t wl = strlen(name);
	const char *p;

	for (p = header; *p != '\0'; ) {
		size_t len;

		while (*p == ' ' || *p == ';')
			p++;
		len = strcspn(p, ";");
		if (len > wl && strncmp(p, name, wl) == 0 && p[wl] == '=' &&
		    len - wl - 1 < n) {
			memcpy(out, p + wl + 1, len - wl - 1);
			out[len - wl - 1] = '\0';
			return out;
		}
		p += len;
	}
	return NULL;
}

/* The session cookie's value from the Cookie header(s), or NULL. */
static const char *
cookie_value(struct evhttp_request *req, bool tls, char *out, size_t n)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, h, next)
		if (evutil_ascii_strcasecmp(kv->key, "Cookie") == 0 &&
		    console_cookie_find(kv->value, tls ? COOKIE_TLS :
		    COOKIE_PLAIN, out, n) != NULL)
			return out;
	return NULL;
}

/* ---- API tokens ----------------------------------------------------- */

static struct console_token *
token_find(struct console *c, const char *text)
{
	char id[17];
	const char *secret;
	uint8_t h[32];
	size_t i;

	/* "slt_" 16 hex "_" secret */
	if (strncmp(text, "slt_", 4) != 0 || strlen(text) < 22 ||
	    text[20] != '_')
		return NULL;
	memcpy(id, text + 4, 16);
	id[16] = '\0';
	secret = text + 21;
	blake(h, secret);
	for (i = 0; i < c->n_tokens; i++)
		if (strcmp(c->tokens[i].id, id) == 0)
			return sodium_memcmp(c->tokens[i].hash, h, 32) == 0 ?
			    &c->tokens[i] : NULL;
	return NULL;
}

/* ---- state files ---------------------------------------------------- */

struct state_write {
	struct console *c;
	char name[32];
	bool *busy, *again;
};

static void state_written(void *ctx, int status, const char *msg);

/* Write buf (copied by the callee before returning) as name. */
static int
state_write(struct console *c, const char *name, const void *buf, size_t len,
    bool *busy, bool *again)
{
	char path[PATH_MAX];
	struct state_write *w;

	if (c->ops->write_state == NULL) {
		snprintf(path, sizeof(path), "%s/%s", c->state_dir, name);
		return fsutil_write_atomic(path, buf, len, 0600, (uid_t)-1,
		    (gid_t)-1);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->c = c;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->busy = busy;
	w->again = again;
	if (c->ops->write_state(c->ops->arg, name, buf, len, state_written,
	    w) < 0) {
		free(w);
		return -1;
	}
	if (busy != NULL)
		*busy = true;
	return 0;
}

static void
state_written(void *ctx, int status, const char *msg)
{
	struct state_write *w = ctx;
	struct console *c = w->c;

	if (status != 0) {
		log_error("console: saving %s: %s", w->name, msg);
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_ERR,
		    EVENTLOG_STORAGE_FAILURE, "file", w->name, "error", msg,
		    NULL);
	}
	if (w->busy != NULL)
		*w->busy = false;
	/* Changed while it was being written: write the newest now. */
	if (w->again != NULL && *w->again) {
		*w->again = false;
		if (strcmp(w->name, ACCOUNTS_FILE) == 0)
			console_accounts_save(c);
		else
			console_tokens_save(c);
	}
	free(w);
}

int
console_tokens_save(struct console *c)
{
	json_t *arr, *doc;
	char hex[65], *text;
	size_t i;
	int rc;

	if (c->tokens_writing) {
		c->tokens_again = true;
		return 0;
	}
	arr = json_array();
	for (i = 0; i < c->n_tokens; i++) {
		struct console_token *t = &c->tokens[i];

		sodium_bin2hex(hex, sizeof(hex), t->hash, 32);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I,"
		    "s:I,s:s}", "id", t->id, "name", t->name, "scope",
		    accounts_level_name(t->scope), "hash", hex, "created",
		    (json_int_t)t->created, "last_used",
		    (json_int_t)t->last_used, "created_by", t->created_by));
	}
	doc = json_pack("{s:i,s:o}", "version", 1, "tokens", arr);
	text = doc != NULL ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	json_decref(doc);
	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = state_write(c, CONSOLE_TOKENS_FILE, text, strlen(text),
	    &c->tokens_writing, &c->tokens_again);
	free(text);
	return rc;
}

static int
tokens_load(struct console *c, char *err, size_t errlen)
{
	char path[PATH_MAX];
	json_t *doc, *arr, *t;
	json_error_t je;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", c->state_dir,
	    CONSOLE_TOKENS_FILE);
	if (access(path, F_OK) != 0)
		return 0;
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		snprintf(err, errlen, "%.300s: line %d: %s", path, je.line,
		    je.text);
		return -1;
	}
	arr = json_object_get(doc, "tokens");
	if (!json_is_array(arr) || json_array_size(arr) > CONSOLE_TOKENS_MAX) {
		snprintf(err, errlen, "%.300s: \"tokens\" is not an array of at "
		    "most %d", path, CONSOLE_TOKENS_MAX);
		json_decref(doc);
		return -1;
	}
	json_array_foreach(arr, i, t) {
		struct console_token *k = &c->tokens[c->n_tokens];
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *name = json_string_value(json_object_get(t,
		    "name"));
		const char *hash = json_string_value(json_object_get(t,
		    "hash"));
		const char *scope = json_string_value(json_object_get(t,
		    "scope"));
		const char *by = json_string_value(json_object_get(t,
		    "created_by"));
		size_t hl;

		memset(k, 0, sizeof(*k));
		if (id == NULL || strlen(id) != 16 || name == NULL ||
		    strlen(name) >= sizeof(k->name) || hash == NULL ||
		    scope == NULL || accounts_level_parse(scope, &k->scope) < 0 ||
		    sodium_hex2bin(k->hash, 32, hash, strlen(hash), NULL, &hl,
		    NULL) != 0 || hl != 32) {
			snprintf(err, errlen, "%.300s: token %zu: id, name, scope "
			    "or hash missing or malformed", path, i + 1);
			json_decref(doc);
			c->n_tokens = 0;
			return -1;
		}
		snprintf(k->id, sizeof(k->id), "%s", id);
		snprintf(k->name, sizeof(k->name), "%s", name);
		snprintf(k->created_by, sizeof(k->created_by), "%s",
		    by != NULL ? by : "");
		k->created = (time_t)json_integer_value(json_object_get(t,
		    "created"));
		k->last_used = (time_t)json_integer_value(json_object_get(t,
		    "last_used"));
		c->n_tokens++;
	}
	json_decref(doc);
	return 0;
}

/* ---- accounts ------------------------------------------------------- */

/* Write the store when it changed: one write at a time, the newest
 * state after it (lockout counters change on every failed login). */
int
console_accounts_save(struct console *c)
{
	char *text;
	size_t len;
	int rc;

	if (c->accounts == NULL || accounts_dirty(c->accounts) == 0)
		return 0;
	if (c->accounts_writing) {
		c->accounts_again = true;
		return 0;
	}
	(void)accounts_take_dirty(c->accounts);
	if ((text = accounts_serialize(c->accounts, &len)) == NULL) {
		errno = ENOMEM;
		rc = -1;
	} else {
		rc = state_write(c, ACCOUNTS_FILE, text, len,
		    &c->accounts_writing, &c->accounts_again);
		sodium_memzero(text, len);
		free(text);
	}
	if (rc < 0) {
		log_error("console: saving %s: %s", ACCOUNTS_FILE,
		    strerror(errno));
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_ERR,
		    EVENTLOG_STORAGE_FAILURE, "file", ACCOUNTS_FILE, "error",
		    strerror(errno), NULL);
	}
	return rc;
}

void
console_emit_account_events(struct console *c, unsigned ev,
    const char *name, const char *who, const char *from)
{
	static const struct {
		unsigned bit;
		enum eventlog_type type;
		const char *change;     /* NULL ends the fields early */
	} map[] = {
		{ ACCOUNTS_EV_PASSWORD_CHANGED, EVENTLOG_PASSWORD_CHANGED, NULL },
		{ ACCOUNTS_EV_ACCOUNT_ADDED, EVENTLOG_ACCOUNT_ADDED, NULL },
		{ ACCOUNTS_EV_ACCOUNT_REMOVED, EVENTLOG_ACCOUNT_REMOVED, NULL },
		{ ACCOUNTS_EV_ACCOUNT_CHANGED, EVENTLOG_ACCOUNT_CHANGED, NULL },
		{ ACCOUNTS_EV_ACCOUNT_UNLOCKED, EVENTLOG_ACCOUNT_CHANGED,
		    "unlocked" },
	};
	size_t i;

	(void)c;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ev & map[i].bit)
			eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
			    map[i].type, "account", name, "who", who, "from",
			    from, map[i].change != NULL ? "change" : NULL,
			    map[i].change, NULL);
}

/* ---- hashing at the monitor ----------------------------------------- */

static void
hash_done(void *ctx, int status, const char *hash)
{
	struct console_req *r = ctx;
	struct console *c = r->c;

	c->hashing--;
	if (r->secret != NULL) {
		sodium_memzero(r->secret, r->secret_len);
		free(r->secret);
		r->secret = NULL;
	}
	r->hash_cb(r, status, hash);
}

/* The Argon2id cost of new hashes: password_policy.hash (libsodium's
 * interactive level until a policy is applied). */
void
console_hash_cost(const struct console *c, unsigned long long *opslimit,
    size_t *memlimit)
{
	*opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	*memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (c->policy != NULL) {
		*opslimit = c->policy->password_policy.hash.time_cost;
		*memlimit = (size_t)c->policy->password_policy.hash.memory_mib
		    << 20;
	}
}

/* Hash r->secret at the monitor, then done(r, status, hash). */
void
console_hash_start(struct console_req *r,
    void (*done)(struct console_req *, int, const char *))
{
	struct console *c = r->c;
	unsigned long long ops;
	size_t mem;

	if (c->hashing >= CONSOLE_HASH_INFLIGHT) {
		console_error(r, 429, "busy: try again in a second");
		return;
	}
	r->hash_cb = done;
	console_hash_cost(c, &ops, &mem);
	if (c->ops->hash(c->ops->arg, r->secret, r->secret_len, ops, mem,
	    hash_done, r) < 0) {
		console_error(r, 503, "the password service is unavailable");
		return;
	}
	c->hashing++;
}

/* ---- certificate ---------------------------------------------------- */

static void
cert_free(struct console *c)
{
	if (c->key_pem != NULL) {
		sodium_memzero(c->key_pem, c->key_len);
		free(c->key_pem);
	}
	free(c->cert_pem);
	certs_info_free(c->cert_info);
	c->cert_pem = c->key_pem = NULL;
	c->cert_info = NULL;
}

static void
tls_config_fill(const struct console *c, struct tls_config *tc,
    const char *cert, size_t clen, const char *key, size_t klen)
{
	memset(tc, 0, sizeof(*tc));
	tc->min_version = c->tls_min_version;
	tc->cert_pem = cert;
	tc->cert_len = clen;
	tc->key_pem = key;
	tc->key_len = klen;
	tc->alpn = "http/1.1,http/1.0";
	tc->max_handshakes = c->max_handshakes;
	tc->handshakes_per_s = c->handshakes_per_s;
	tc->input_max = CONSOLE_MAX_HEADERS + (size_t)c->max_body + 4096;
}

static void listeners_update(struct console *c);

/*
 * Serve cert/key from now on (already checked by certs_import or made
 * here) and keep them in the state directory.  0, or -1 with err and the
 * old certificate still served.
 */
int
console_cert_install(struct console *c, const char *cert, size_t clen,
    const char *key, size_t klen, bool save, char *err, size_t errlen)
{
	struct tls_config tc;
	struct certs_info *info;
	char *ncert, *nkey;

	if ((info = certs_inspect(cert, clen, err, errlen)) == NULL)
		return -1;
	tls_config_fill(c, &tc, cert, clen, key, klen);
	if (c->tls == NULL)
		c->tls = tls_ctx_new(c->base, &tc, err, errlen);
	else if (tls_ctx_set_cert(c->tls, &tc, err, errlen) < 0) {
		certs_info_free(info);
		return -1;
	}
	if (c->tls == NULL) {
		certs_info_free(info);
		return -1;
	}
	ncert = malloc(clen + 1);
	nkey = malloc(klen + 1);
	if (ncert == NULL || nkey == NULL) {
		free(ncert);
		free(nkey);
		certs_info_free(info);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(ncert, cert, clen);
	ncert[clen] = '\0';
	memcpy(nkey, key, klen);
	nkey[klen] = '\0';
	/* The key first: a crash between the two leaves a certificate that
	 * does not match, which the next start replaces. */
	if (save && (state_write(c, CONSOLE_KEY_FILE, key, klen, NULL,
	    NULL) < 0 || state_write(c, CONSOLE_CERT_FILE, cert, clen, NULL,
	    NULL) < 0))
		log_error("console: saving the certificate: %s (it is served "
		    "until the next start)", strerror(errno));
	cert_free(c);
	c->cert_pem = ncert;
	c->cert_len = clen;
	c->key_pem = nkey;
	c->key_len = klen;
	c->cert_info = info;
	listeners_update(c);
	return 0;
}

struct gen_job {
	struct console *c;
	struct console_req *r;          /* NULL: at start or on expiry */
};

#define LOCAL_NAMES 24

/*
 * The host's name and its addresses (not link-local), so a browser that
 * reaches the console by any of them finds it in the certificate.
 * Returns how many were written to out (pointers into buf).
 */
static size_t
local_names(char buf[][CONSOLE_ADDR_TEXT + 8], const char **out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (max > LOCAL_NAMES)
		max = LOCAL_NAMES;
	if (max > 0 && gethostname(buf[0], CONSOLE_ADDR_TEXT) == 0 &&
	    buf[0][0] != '\0' && strchr(buf[0], '_') == NULL) {
		buf[0][CONSOLE_ADDR_TEXT - 1] = '\0';
		out[n] = buf[n];
		n++;
	}
	if (getifaddrs(&ifa) < 0)
		return n;
	for (i = ifa; i != NULL && n < max; i = i->ifa_next) {
		const void *a;

		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)
			    (void *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6))
				continue;
			a = a6;
		} else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, a, buf[n],
		    CONSOLE_ADDR_TEXT) != NULL) {
			out[n] = buf[n];
			n++;
		}
	}
	freeifaddrs(ifa);
	return n;
}

static void
cert_generated(void *ctx, int status, char *pem, size_t len)
{
	struct gen_job *g = ctx;
	struct console *c = g->c;
	struct certs_request rq;
	const char *sans[CERTS_SAN_MAX];
	char hostaddr[LOCAL_NAMES][CONSOLE_ADDR_TEXT + 8];
	char err[CERTS_ERR_MAX], *cert = NULL;
	size_t clen, i, n = 0, base;

	c->cert_generating = false;
	if (status != 0 || pem == NULL) {
		log_error("console: key generation failed: %s",
		    strerror(status ? status : EIO));
		if (g->r != NULL)
			console_error(g->r, 500, "key generation failed");
		free(g);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.key_pem = pem;
	rq.key_len = len;
	rq.common_name = c->device_name;
	for (i = 0; c->policy != NULL && i <
	    c->policy->certificates.n_names; i++)
		sans[n++] = c->policy->certificates.names[i];
	base = n;
	n += local_names(hostaddr, sans + n, CERTS_SAN_MAX - n);
	rq.sans = sans;
	rq.n_sans = n;
	rq.now = time(NULL);
	if (certs_self_signed(&rq, &cert, &clen, err, sizeof(err)) < 0 &&
	    n > base) {
		/* An odd host name must not cost the console its certificate. */
		log_warn("console: certificate with the host's names: %s; "
		    "leaving them out", err);
		rq.n_sans = base;
	}
	if ((cert == NULL && certs_self_signed(&rq, &cert, &clen, err,
	    sizeof(err)) < 0) ||
	    console_cert_install(c, cert, clen, pem, len, true, err,
	    sizeof(err)) < 0) {
		log_error("console: self-signed certificate: %s", err);
		if (g->r != NULL)
			console_error(g->r, 500, "self-signed certificate: %s",
			    err);
	} else {
		log_info("console: new self-signed certificate for %s (%s)",
		    c->device_name, c->cert_info->key_text);
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
		    EVENTLOG_CERT_GENERATED, "subject", c->cert_info->subject,
		    "key", c->cert_info->key_text, "who", g->r != NULL ?
		    g->r->who : "sluiced", NULL);
		if (g->r != NULL)
			console_reply(g->r, 200, certs_info_json(c->cert_info,
			    time(NULL)));
	}
	free(cert);
	keygen_free_pem(pem, len);
	free(g);
}

void
console_cert_generate(struct console *c, struct console_req *r)
{
	static const struct { int type; unsigned bits; } kinds[] = {
		[POLICY_CERT_EC_P256] = { KEYGEN_EC_P256, 256 },
		[POLICY_CERT_RSA_2048] = { KEYGEN_RSA, 2048 },
		[POLICY_CERT_RSA_3072] = { KEYGEN_RSA, 3072 },
		[POLICY_CERT_RSA_4096] = { KEYGEN_RSA, 4096 },
	};
	struct gen_job *g;

	if (c->cert_generating) {
		if (r != NULL)
			console_error(r, 409, "a certificate is being "
			    "generated");
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		if (r != NULL)
			console_error(r, 500, "out of memory");
		return;
	}
	g->c = c;
	g->r = r;
	if (c->ops->keygen(c->ops->arg, kinds[c->cert_key].type,
	    kinds[c->cert_key].bits, cert_generated, g) < 0) {
		free(g);
		if (r != NULL)
			console_error(r, 503, "key generation unavailable");
		return;
	}
	c->cert_generating = true;
}

static void
cert_check(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;
	struct timeval tv = { CERT_CHECK_S, 0 };
	time_t now = time(NULL);
	long days;

	(void)fd;
	(void)what;
	event_add(c->cert_timer, &tv);
	if (c->cert_info == NULL)
		return;
	days = certs_days_left(c->cert_info, now);
	if (days < 0 && c->cert_info->self_signed) {
		log_warn("console: the self-signed certificate expired: "
		    "generating a new one");
		console_cert_generate(c, NULL);
	} else if (days < (long)c->renew_days) {
		static time_t warned;

		if (now - warned >= 86400) {
			warned = now;
			log_warn("console: the certificate expires in %ld "
			    "days (%s)", days, c->cert_info->subject);
			eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_WARNING,
			    EVENTLOG_CERT_EXPIRING, "subject",
			    c->cert_info->subject, "days_left",
			    days < 0 ? "expired" : "soon", NULL);
		}
	}
}

static void
cert_load(struct console *c)
{
	char path[PATH_MAX], err[CERTS_ERR_MAX];
	char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	struct certs_info *info;

	snprintf(path, sizeof(path), "%s/%s", c->state_dir, CONSOLE_CERT_FILE);
	if (fsutil_read_file(path, CERTS_PEM_MAX, &cert, &clen) < 0) {
		if (errno != ENOENT)
			log_error("console: %s: %s", path, strerror(errno));
		goto generate;
	}
	snprintf(path, sizeof(path), "%s/%s", c->state_dir, CONSOLE_KEY_FILE);
	if (fsutil_read_file(path, CERTS_PEM_MAX, &key, &klen) < 0) {
		log_error("console: %s: %s", path, strerror(errno));
		goto generate;
	}
	info = certs_inspect(cert, clen, err, sizeof(err));
	if (info != NULL && info->self_signed &&
	    certs_days_left(info, time(NULL)) < 0) {
		log_warn("console: the self-signed certificate expired: "
		    "generating a new one");
		certs_info_free(info);
		goto generate;
	}
	certs_info_free(info);
	if (console_cert_install(c, cert, clen, key, klen, false, err,
	    sizeof(err)) < 0) {
		log_error("console: the stored certificate is not usable (%s):"
		    " generating a new one", err);
		goto generate;
	}
	free(cert);
	sodium_memzero(key, klen);
	free(key);
	return;
generate:
	free(cert);
	if (key != NULL) {
		sodium_memzero(key, klen);
		free(key);
	}
	console_cert_generate(c, NULL);
}

/*
 * https://HOST[:PORT]PATH for a clear-text request: HOST from the Host
 * header when it is a plain host name or address (a port dropped),
 * otherwise the device name.
 */
void
console_redirect_location(const struct console *c, const char *host,
    const char *path, char *loc, size_t n)
{
	char hostname[256];
	char *colon;

	if (host == NULL || host[0] == '\0' ||
	    strlen(host) >= sizeof(hostname) ||
	    host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
	    "STUVWXYZ0123456789.-:[]")] != '\0')
		host = c->device_name;
	snprintf(hostname, sizeof(hostname), "%s", host);
	if (hostname[0] == '[') {               /* [v6]:port */
		char *e = strchr(hostname, ']');

		if (e != NULL)
			e[1] = '\0';
	} else if ((colon = strchr(hostname, ':')) != NULL) {
		if (colon == strrchr(hostname, ':'))
			*colon = '\0';         /* name:port */
		else
			snprintf(hostname, sizeof(hostname), "%s",
			    c->device_name);    /* bare v6: ambiguous */
	}
	if (c->https_port == 443)
		snprintf(loc, n, "https://%s%s", hostname, path);
	else
		snprintf(loc, n, "https://%s:%u%s", hostname, c->https_port,
		    path);
}

/* ---- the redirecting HTTP port --------------------------------------- */

/*
 * The clear-text port only answers 308 to HTTPS, so it does not need
 * evhttp: a small reader of one request head per connection, with the
 * same per-source cap and whole-request deadline as HTTPS (evhttp's
 * timeout is per read, and libevent 2.1 gives no hook at accept).
 */
#define REDIRECT_HEAD_MAX 8192

int
console_parse_head(const char *buf, size_t len, char *path, size_t pathlen,
    char *host, size_t hostlen)
{
	char head[REDIRECT_HEAD_MAX + 1], *line, *save, *sp;
	bool ok = false;

	if (len > REDIRECT_HEAD_MAX)
		len = REDIRECT_HEAD_MAX;
	memcpy(head, buf, len);
	head[len] = '\0';      /* an embedded NUL only ends it early */
	snprintf(path, pathlen, "/");
	snprintf(host, hostlen, "%s", "");
	/* "METHOD SP TARGET SP HTTP/1.x", then header lines. */
	line = strtok_r(head, "\r\n", &save);
	if (line != NULL && (sp = strchr(line, ' ')) != NULL) {
		char *t = sp + 1, *e = strchr(t, ' ');

		if (e != NULL && strncmp(e + 1, "HTTP/1.", 7) == 0) {
			ok = true;
			*e = '\0';
			/* Only a safe origin-form target is kept. */
			if (t[0] == '/' && strlen(t) < pathlen &&
			    t[strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
			    "KLMNOPQRSTUVWXYZ0123456789/._~-%?=&+")] == '\0')
				snprintf(path, pathlen, "%s", t);
		}
	}
	while (ok && (line = strtok_r(NULL, "\r\n", &save)) != NULL)
		if (evutil_ascii_strncasecmp(line, "Host:", 5) == 0) {
			const char *v = line + 5;

			v += strspn(v, " \t");
			snprintf(host, hostlen, "%s", v);
		}
	return ok ? 0 : -1;
}

struct console_redirect {
	struct console *c;
	struct console_redirect *next;
	struct bufferevent *bev;
	struct event *timer;
	struct accounts_source src;
	char addr[CONSOLE_ADDR_TEXT];
};

static const char redirect_headers[] =
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "Cache-Control: no-store\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

static void
redirect_free(struct console_redirect *rd)
{
	struct console_redirect **pp;

	for (pp = &rd->c->redirects; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rd) {
			*pp = rd->next;
			break;
		}
	if (rd->timer != NULL)
		event_free(rd->timer);
	bufferevent_free(rd->bev);
	free(rd);
}

static void
redirect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct console_redirect *rd = arg;

	(void)fd;
	(void)what;
	log_debug("console: %s: no whole request within %u s on the http "
	    "port: closed", rd->addr, rd->c->request_timeout_s);
	redirect_free(rd);
}

static void
redirect_written(struct bufferevent *bev, void *arg)
{
	/* A socket bufferevent calls this once the answer is in the
	 * kernel: closing now truncates nothing. */
	(void)bev;
	redirect_free(arg);
}

static void
redirect_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	redirect_free(arg);
}

static void
redirect_read(struct bufferevent *bev, void *arg)
{
	struct console_redirect *rd = arg;
	struct console *c = rd->c;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char head[REDIRECT_HEAD_MAX], path[512], host[256], loc[800];
	size_t len;
	bool ok;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) >= REDIRECT_HEAD_MAX)
			redirect_free(rd);      /* not a request head */
		return;
	}
	len = (size_t)end.pos;
	if (len > sizeof(head))
		len = sizeof(head);
	evbuffer_copyout(in, head, len);
	ok = console_parse_head(head, len, path, sizeof(path), host,
	    sizeof(host)) == 0;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(bev, EV_READ);
	event_del(rd->timer);
	if (!ok) {
		evbuffer_add_printf(bufferevent_get_output(bev),
		    "HTTP/1.1 400 Bad Request\r\n%s\r\n", redirect_headers);
		return;
	}
	if (c->https_port == 0) {
		evbuffer_add_printf(bufferevent_get_output(bev),
		    "HTTP/1.1 403 Forbidden\r\n%s\r\n", redirect_headers);
		return;
	}
	console_redirect_location(c, host[0] != '\0' ? host : NULL, path, loc,
	    sizeof(loc));
	evbuffer_add_printf(bufferevent_get_output(bev),
	    "HTTP/1.1 308 Permanent Redirect\r\nLocation: %s\r\n%s"
	    "Content-Security-Policy: %s\r\n\r\n", loc, redirect_headers,
	    csp);
}

static void
redirect_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct console *c = arg;
	struct console_redirect *rd, *o;
	struct sockaddr_storage ss, ls;
	socklen_t llen = sizeof(ls);
	struct timeval tv = { c->request_timeout_s, 0 };
	uint16_t port, lport = c->http_port;
	char laddr[CONSOLE_ADDR_TEXT];
	struct accounts_source dummy;
	unsigned same = 0;

	(void)l;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, (size_t)salen < sizeof(ss) ? (size_t)salen :
	    sizeof(ss));
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	addr_of(&ss, rd->addr, &port, &rd->src);
	if (getsockname(fd, (struct sockaddr *)&ls, &llen) == 0)
		addr_of(&ls, laddr, &lport, &dummy);
	for (o = c->redirects; o != NULL; o = o->next)
		if (o->src.family == rd->src.family &&
		    memcmp(o->src.addr, rd->src.addr, 16) == 0)
			same++;
	if (source_refused(c, &ss, rd->addr, same, lport, "http")) {
		evutil_closesocket(fd);
		free(rd);
		return;
	}
	rd->c = c;
	rd->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	rd->timer = evtimer_new(c->base, redirect_timeout, rd);
	if (rd->bev == NULL || rd->timer == NULL) {
		if (rd->bev != NULL)
			bufferevent_free(rd->bev);
		else
			evutil_closesocket(fd);
		if (rd->timer != NULL)
			event_free(rd->timer);
		free(rd);
		return;
	}
	rd->next = c->redirects;
	c->redirects = rd;
	bufferevent_setcb(rd->bev, redirect_read, redirect_written,
	    redirect_event, rd);
	bufferevent_setwatermark(rd->bev, EV_READ, 0, REDIRECT_HEAD_MAX);
	bufferevent_enable(rd->bev, EV_READ);
	event_add(rd->timer, &tv);
}

/* ---- listeners ------------------------------------------------------ */

static void
listen_close(struct console *c, struct console_listen *l)
{
	if (l->bound != NULL)
		evhttp_del_accept_socket(l->tls ? c->https : c->http,
		    l->bound);
	if (l->redirector != NULL)
		evconnlistener_free(l->redirector);
	memset(l, 0, sizeof(*l));
}

/* Mark the listeners of (tls, port) that stay in want; with ask, ask
 * the monitor for the missing ones. */
static void
listen_want(struct console *c, bool tls, uint16_t port, bool *want, bool ask)
{
	bool redirect = !tls && !c->serve_over_http;
	static const int fams[2] = { AF_INET, AF_INET6 };
	size_t f, i;

	for (f = 0; f < 2; f++) {
		struct console_listen *l = NULL;

		for (i = 0; i < CONSOLE_MAX_LISTEN; i++)
			if (c->listen[i].port == port &&
			    c->listen[i].family == fams[f] &&
			    c->listen[i].tls == tls &&
			    c->listen[i].redirect == redirect) {
				want[i] = true;
				l = &c->listen[i];
			}
		if (l != NULL || !ask)
			continue;
		for (i = 0; i < CONSOLE_MAX_LISTEN; i++)
			if (c->listen[i].port == 0 && !want[i])
				break;
		if (i == CONSOLE_MAX_LISTEN)
			continue;
		l = &c->listen[i];
		want[i] = true;
		l->family = fams[f];
		l->port = port;
		l->tls = tls;
		l->redirect = redirect;
		if (++c->next_token == 0)
			c->next_token = 1;
		l->token = c->next_token;
		if (c->ops->open_listen(c->ops->arg, fams[f], port,
		    l->token) < 0) {
			log_error("console: asking for port %u: %s", port,
			    strerror(errno));
			memset(l, 0, sizeof(*l));
			want[i] = false;
		}
	}
}

static void
listeners_update(struct console *c)
{
	bool want[CONSOLE_MAX_LISTEN] = { false };
	size_t i;

	int pass;

	/* Close what goes first: a port changing hands (redirecting to
	 * serving) is bound again. HTTPS only with a certificate. */
	for (pass = 0; pass < 2; pass++) {
		if (c->https_port != 0 && c->tls != NULL)
			listen_want(c, true, c->https_port, want, pass == 1);
		if (c->http_port != 0)
			listen_want(c, false, c->http_port, want, pass == 1);
		for (i = 0; pass == 0 && i < CONSOLE_MAX_LISTEN; i++)
			if (!want[i] && c->listen[i].port != 0)
				listen_close(c, &c->listen[i]);
	}
}

void
console_fd_ready(struct console *c, uint32_t token, int fd, int err,
    const char *msg)
{
	struct console_listen *l = NULL;
	size_t i;

	for (i = 0; i < CONSOLE_MAX_LISTEN; i++)
		if (c->listen[i].token == token && c->listen[i].port != 0)
			l = &c->listen[i];
	if (l == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	l->token = 0;
	if (fd < 0) {
		/* No IPv6 on this host is not worth an event. */
		if (l->family == AF_INET6 && (err == EAFNOSUPPORT ||
		    err == EADDRNOTAVAIL)) {
			log_debug("console: no IPv6 listener: %s", msg);
			return;
		}
		log_error("console: port %u (%s): %s", l->port,
		    l->tls ? "https" : "http", msg);
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_ERR,
		    EVENTLOG_LISTENER_FAILED, "service", l->tls ? "https" :
		    "http", "error", msg, NULL);
		return;
	}
	if (l->redirect) {
		l->redirector = evconnlistener_new(c->base, redirect_accept,
		    c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (l->redirector == NULL) {
			log_error("console: port %u: no listener",
			    l->port);
			close(fd);
			return;
		}
		log_info("console: http redirecting to https on port %u "
		    "(%s)", l->port, l->family == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	l->bound = evhttp_accept_socket_with_handle(l->tls ? c->https :
	    c->http, fd);
	if (l->bound == NULL) {
		log_error("console: port %u: evhttp refused the socket",
		    l->port);
		close(fd);
		return;
	}
	log_info("console: %s listening on port %u (%s)",
	    l->tls ? "https" : "http", l->port,
	    l->family == AF_INET ? "IPv4" : "IPv6");
}

/* ---- requests ------------------------------------------------------- */

static int
parse_body(struct console_req *r, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct;
	json_error_t je;
	unsigned char *data;

	if (len == 0)
		return 0;
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
		console_error(r, 415, "the body must be application/json");
		return -1;
	}
	data = evbuffer_pullup(in, -1);
	r->body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (r->body == NULL || !json_is_object(r->body)) {
		if (r->body == NULL)
			console_error(r, 400, "body: line %d column %d: %s",
			    je.line, je.column, je.text);
		else
			console_error(r, 400, "body: a JSON object is "
			    "expected");
		return -1;
	}
	return 0;
}

static bool
same_origin(const struct console_req *r, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");
	char want[300];

	if (origin == NULL)
		return true;    /* not a browser's cross-site request */
	if (host == NULL)
		return false;
	snprintf(want, sizeof(want), "%s://%s", r->tls ?
	    "https" : "http", host);
	return strcmp(origin, want) == 0;
}

static int
authenticate(struct console *c, struct console_req *r,
    struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *authz = evhttp_find_header(h, "Authorization");
	char cookie[128];
	time_t now = console_now(c);

	if (authz != NULL && strncmp(authz, "Bearer ", 7) == 0) {
		struct console_token *t = token_find(c, authz + 7);

		if (t == NULL)
			return -1;
		r->auth = CONSOLE_AUTH_TOKEN;
		r->level = t->scope;
		snprintf(r->user, sizeof(r->user), "%s", t->created_by);
		snprintf(r->who, sizeof(r->who), "token:%s (%s)", t->id,
		    t->name);
		t->last_used = now;
		return 0;
	}
	if (authz != NULL)
		return -1;
	if (cookie_value(req, r->tls, cookie,
	    sizeof(cookie)) != NULL) {
		struct console_session *s = session_find(c, cookie);

		sodium_memzero(cookie, sizeof(cookie));
		if (s == NULL)
			return 0;       /* expired: treated as none */
		s->last_seen = now;
		r->auth = CONSOLE_AUTH_SESSION;
		r->session = s;
		r->level = s->level;
		snprintf(r->user, sizeof(r->user), "%s", s->name);
		snprintf(r->who, sizeof(r->who), "%s", s->name);
	}
	return 0;
}

static void serve_static(struct console *c, struct console_req *r,
    const char *path);

/* The client of a request on a connection we do not track (plain
 * HTTP): from evhttp, and the accessible-IP check here. */
static int
untracked_peer(struct console *c, struct console_req *r,
    struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct sockaddr_storage ss;
	char *host = NULL, why[256];
	ev_uint16_t port = 0;

	memset(&ss, 0, sizeof(ss));
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &host, &port);
	if (host != NULL && inet_pton(AF_INET, host,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else if (host != NULL && inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	}
	addr_of(&ss, r->addr, &r->port, &r->src);
	snprintf(r->laddr, sizeof(r->laddr), "-");
	r->lport = c->http_port;
	if (ss.ss_family == 0)
		return 0;
	if (c->ops->admit != NULL && !c->ops->admit(c->ops->arg,
	    (const struct sockaddr *)&ss, r->lport, why, sizeof(why))) {
		c->n_refused++;
		return -1;
	}
	return 0;
}

static void handle_request(struct evhttp_request *req, struct console *c,
    bool tls);

static void
handle_https(struct evhttp_request *req, void *arg)
{
	handle_request(req, arg, true);
}

static void
handle_http(struct evhttp_request *req, void *arg)
{
	handle_request(req, arg, false);
}

static void
handle_request(struct evhttp_request *req, struct console *c, bool tls)
{
	struct console_req *r;
	const struct console_route *rt;
	const char *uri = evhttp_request_get_uri(req);
	struct evhttp_uri *u;
	const char *path;
	bool known = false;
	char *dec;
	size_t declen = 0;
	int method = evhttp_request_get_command(req);

	c->n_requests++;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	r->c = c;
	r->req = req;
	r->method = method;
	r->tls = tls;
	r->cc = tls ? conn_of(c, req) : NULL;
	if (r->cc != NULL) {
		if (r->cc->evcon == NULL) {
			r->cc->evcon = evhttp_request_get_connection(req);
			evhttp_connection_set_closecb(r->cc->evcon,
			    conn_closing, r->cc);
		}
		if (r->cc->timer != NULL)
			event_del(r->cc->timer);
		r->cc->busy = r;
		r->src = r->cc->src;
		r->port = r->cc->port;
		r->lport = r->cc->lport;
		snprintf(r->addr, sizeof(r->addr), "%s", r->cc->addr);
		snprintf(r->laddr, sizeof(r->laddr), "%s", r->cc->laddr);
	} else if (untracked_peer(c, r, req) < 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		console_error(r, 403, "not on the accessible-IP list");
		return;
	}
	snprintf(r->from, sizeof(r->from), "console %s", r->addr);
	u = uri != NULL ? evhttp_uri_parse_with_flags(uri, 0) : NULL;
	path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	dec = path != NULL ? evhttp_uridecode(path, 0, &declen) : NULL;
	/* A %00 would cut the path short of what was checked. */
	if (dec == NULL || dec[0] != '/' || strlen(dec) != declen ||
	    declen >= sizeof(r->path) || strstr(dec, "..") != NULL) {
		free(dec);
		if (u != NULL)
			evhttp_uri_free(u);
		console_error(r, 400, "bad request target");
		return;
	}
	snprintf(r->path, sizeof(r->path), "%s", dec);
	free(dec);
	evhttp_uri_free(u);

	/* Plain HTTP only redirects, unless the policy says otherwise
	 * (then the redirector, not evhttp, has the port: this is for a
	 * listener handed over while the policy changed). */
	if (!r->tls && !c->serve_over_http) {
		char loc[600];

		if (c->https_port == 0) {
			console_error(r, 403, "the console is only served "
			    "over HTTPS, which is disabled");
			return;
		}
		console_redirect_location(c, evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Host"), r->path,
		    loc, sizeof(loc));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", loc);
		console_reply(r, 308, NULL);
		return;
	}

	if (strncmp(r->path, "/api/v1/", 8) != 0) {
		if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
			console_error(r, 405, "method not allowed");
			return;
		}
		serve_static(c, r, r->path);
		return;
	}
	rt = console_route_find(method, r->path, r->arg, sizeof(r->arg),
	    &known);
	if (rt == NULL) {
		if (known)
			console_error(r, 405, "method not allowed on %s",
			    r->path);
		else
			console_error(r, 404, "no such API path: %s", r->path);
		return;
	}
	if (authenticate(c, r, req) < 0) {
		console_error(r, 401, "invalid API token");
		return;
	}
	if (rt->need != CONSOLE_PUBLIC && r->auth == CONSOLE_AUTH_NONE) {
		console_error(r, 401, "sign in first");
		return;
	}
	if (rt->need != CONSOLE_PUBLIC && r->session != NULL &&
	    r->session->must_change && rt->need != CONSOLE_SIGNED_IN) {
		console_error(r, 403, "change your password first");
		return;
	}
	if (rt->need == CONSOLE_ADMIN && r->level != ACCOUNTS_ADMIN) {
		console_error(r, 403, "this needs an administrator");
		return;
	}
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		if (!same_origin(r, req)) {
			console_error(r, 403, "cross-origin request refused");
			return;
		}
		if (r->auth == CONSOLE_AUTH_SESSION) {
			const char *t = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "X-CSRF-Token");

			if (t == NULL || strlen(t) != strlen(r->session->csrf) ||
			    sodium_memcmp(t, r->session->csrf,
			    strlen(t)) != 0) {
				console_error(r, 403, "missing or wrong "
				    "X-CSRF-Token");
				return;
			}
		}
	}
	if (parse_body(r, req) < 0)
		return;
	rt->fn(c, r);
}

/* ---- static files --------------------------------------------------- */

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".yaml", "application/yaml" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static void
serve_static(struct console *c, struct console_req *r, const char *path)
{
	char full[PATH_MAX];
	const char *type = NULL, *dot;
	struct evbuffer *b;
	struct stat st;
	size_t i;
	int fd;

	(void)c;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (path[strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
	    "VWXYZ0123456789/._-")] != '\0' || strstr(path, "/.") != NULL) {
		console_error(r, 404, "not found");
		return;
	}
	dot = strrchr(path, '.');
	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			type = types[i].type;
	if (type == NULL) {
		console_error(r, 404, "not found");
		return;
	}
	snprintf(full, sizeof(full), "%s%s", getenv("SLUICE_WWW_DIR") != NULL ?
	    getenv("SLUICE_WWW_DIR") : WWWDIR, path);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 16 * 1024 * 1024 || (b = evbuffer_new()) == NULL) {
		if (fd >= 0)
			close(fd);
		console_error(r, 404, "not found");
		return;
	}
	/* evbuffer_add_file maps or reads as the file is sent. */
	if (evbuffer_add_file(b, fd, 0, st.st_size) < 0) {
		evbuffer_free(b);
		console_error(r, 500, "reading a file failed");
		return;
	}
	send_raw(r, 200, type, b, strcmp(type, types[0].type) == 0 ?
	    "no-cache" : "public, max-age=3600");
	evbuffer_free(b);
	console_req_free(r);
}

/* ---- life cycle ----------------------------------------------------- */

static struct evhttp *
http_new(struct console *c, bool tls)
{
	struct evhttp *h = evhttp_new(c->base);

	if (h == NULL)
		return NULL;
	/*
	 * Plain HTTP keeps evhttp's own socket bufferevents: libevent 2.1's
	 * filters lose output queued while writing is disabled and free the
	 * connection before a Connection: close answer is written (the two
	 * bugs tls.c works around), so HTTP connections are not tracked.
	 * The port only redirects (or serves, when audited as such).
	 */
	if (tls)
		evhttp_set_bevcb(h, bevcb_https, c);
	evhttp_set_gencb(h, tls ? handle_https : handle_http, c);
	/* Every method reaches us, so that refusals carry our headers
	 * (evhttp's own 501 would not). */
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT);
	evhttp_set_max_headers_size(h, CONSOLE_MAX_HEADERS);
	evhttp_set_default_content_type(h, "text/plain; charset=utf-8");
	return h;
}

struct console *
console_new(struct event_base *base, const char *state_dir,
    const struct console_ops *ops)
{
	struct console *c;
	char err[512];
	struct timeval tv = { 5, 0 };

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->ops_copy = *ops;
	c->ops = &c->ops_copy;
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", state_dir);
	c->request_timeout_s = 30;
	c->max_conns_per_source = 16;
	c->max_body = 1024 * 1024;
	c->session_idle_s = 900;
	c->session_lifetime_s = 28800;
	c->tls_min_version = TLS_VERSION_1_2;
	c->https = http_new(c, true);
	c->http = http_new(c, false);
	c->cert_timer = evtimer_new(base, cert_check, c);
	c->login_message = strdup("");
	c->failure_message = strdup("");
	if (c->https == NULL || c->http == NULL || c->cert_timer == NULL ||
	    c->login_message == NULL || c->failure_message == NULL) {
		console_free(c);
		return NULL;
	}
	accounts_config_from_policy(&c->acfg, &(struct policy){ 0 });
	/* The environment may point elsewhere (tests, an uninstalled build). */
	c->common = accounts_common_load(getenv("SLUICE_COMMON_PASSWORDS") !=
	    NULL ? getenv("SLUICE_COMMON_PASSWORDS") : ACCOUNTS_COMMON_FILE,
	    err, sizeof(err));
	if (c->common == NULL)
		log_warn("console: %s (password_policy.reject_common refuses "
		    "every password until it is fixed)", err);
	if (tokens_load(c, err, sizeof(err)) < 0)
		log_error("console: %s: API tokens disabled until fixed", err);
	event_add(c->cert_timer, &tv);
	return c;
}

void
console_free(struct console *c)
{
	struct console_conn *cc;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONSOLE_MAX_LISTEN; i++)
		listen_close(c, &c->listen[i]);
	while (c->redirects != NULL)
		redirect_free(c->redirects);
	/* Connections end with evhttp; nobody may touch c afterwards. */
	for (cc = c->conns; cc != NULL; cc = cc->next) {
		if (cc->busy != NULL) {
			cc->busy->req = NULL;
			cc->busy->cc = NULL;
		}
		tls_bufferevent_on_free(cc->bev, NULL, NULL);
	}
	if (c->https != NULL)
		evhttp_free(c->https);
	if (c->http != NULL)
		evhttp_free(c->http);
	/* What is left has not been finalized yet (its hook is off). */
	while ((cc = c->conns) != NULL) {
		c->conns = cc->next;
		if (cc->timer != NULL)
			event_free(cc->timer);
		free(cc);
	}
	tls_ctx_free(c->tls);
	if (c->cert_timer != NULL)
		event_free(c->cert_timer);
	cert_free(c);
	accounts_free(c->accounts);
	accounts_common_free(c->common);
	if (c->sessions != NULL) {
		sodium_memzero(c->sessions, c->n_session_slots *
		    sizeof(*c->sessions));
		free(c->sessions);
	}
	sodium_memzero(c->tokens, sizeof(c->tokens));
	free(c->login_message);
	free(c->failure_message);
	free(c);
}

static void
accounts_start(struct console *c)
{
	char path[PATH_MAX], err[512], token[ACCOUNTS_TOKEN_TEXT];

	snprintf(path, sizeof(path), "%s/%s", c->state_dir, ACCOUNTS_FILE);
	c->accounts = accounts_load(path, &c->acfg, err, sizeof(err));
	if (c->accounts == NULL) {
		/* Never an empty store in its place: that would offer setup
		 * to whoever comes first. */
		log_error("console: %s: sign-in disabled until the file is "
		    "fixed or removed", err);
		return;
	}
	if (accounts_setup_needed(c->accounts) &&
	    accounts_setup_token_new(c->accounts, token) == 0) {
		/* The log, not the event log: it is exported and forwarded. */
		log_info("console: no account yet. Create the first "
		    "administrator on the console's first page with the "
		    "one-time setup token %s, or locally with `sluicectl "
		    "account add --admin NAME`", token);
		sodium_memzero(token, sizeof(token));
	}
}

int
console_configure(struct console *c, const struct policy *p,
    struct policy_error *err)
{
	struct console_session *ns;
	char *lm, *fm;
	bool first = c->policy == NULL;

	lm = strdup(p->login_message);
	fm = strdup(p->console.login_failure_message);
	if (lm == NULL || fm == NULL) {
		free(lm);
		free(fm);
		snprintf(err->msg, sizeof(err->msg), "console: out of memory");
		return -1;
	}
	if (p->console.max_sessions != c->n_session_slots) {
		ns = calloc(p->console.max_sessions, sizeof(*ns));
		if (ns == NULL) {
			free(lm);
			free(fm);
			snprintf(err->msg, sizeof(err->msg), "console: out of "
			    "memory");
			return -1;
		}
		if (c->sessions != NULL) {
			memcpy(ns, c->sessions, sizeof(*ns) *
			    (c->n_session_slots < p->console.max_sessions ?
			    c->n_session_slots : p->console.max_sessions));
			sodium_memzero(c->sessions, c->n_session_slots *
			    sizeof(*c->sessions));
			free(c->sessions);
		}
		c->sessions = ns;
		c->n_session_slots = p->console.max_sessions;
	}
	free(c->login_message);
	free(c->failure_message);
	c->login_message = lm;
	c->failure_message = fm;
	c->policy = p;
	c->https_port = p->services[REGISTRY_HTTPS].enabled ?
	    p->services[REGISTRY_HTTPS].ports[0] : 0;
	c->http_port = p->services[REGISTRY_HTTP].enabled ?
	    p->services[REGISTRY_HTTP].ports[0] : 0;
	c->serve_over_http = p->console.serve_over_http;
	c->session_idle_s = p->console.session_idle_s;
	c->session_lifetime_s = p->console.session_lifetime_s;
	c->max_conns_per_source = p->console.max_conns_per_source;
	c->request_timeout_s = p->console.request_timeout_s;
	c->max_body = p->console.max_body_bytes;
	evhttp_set_max_body_size(c->https, c->max_body);
	evhttp_set_max_body_size(c->http, c->max_body);
	evhttp_set_timeout(c->https, (int)c->request_timeout_s);
	evhttp_set_timeout(c->http, (int)c->request_timeout_s);
	c->tls_min_version = p->tls.min_version;
	c->max_handshakes = p->tls.max_handshakes;
	c->handshakes_per_s = p->tls.handshakes_per_s;
	c->cert_key = (int)p->certificates.key;
	c->min_rsa_bits = p->certificates.min_rsa_bits;
	c->renew_days = p->certificates.renew_days;
	snprintf(c->device_name, sizeof(c->device_name), "%s", p->device.name);
	accounts_config_from_policy(&c->acfg, p);
	c->acfg.max_accounts = p->console.max_accounts;
	if (c->accounts != NULL)
		accounts_set_config(c->accounts, &c->acfg);
	if (first) {
		accounts_start(c);
		cert_load(c);
	} else if (c->tls != NULL && c->cert_pem != NULL) {
		struct tls_config tc;
		char e2[256];

		tls_config_fill(c, &tc, c->cert_pem, c->cert_len, c->key_pem,
		    c->key_len);
		if (tls_ctx_set_cert(c->tls, &tc, e2, sizeof(e2)) < 0)
			log_error("console: TLS settings: %s", e2);
	}
	listeners_update(c);
	return 0;
}

void
console_ctl(struct console *c, enum ctl_cmd cmd, json_t *args,
    const char *who, console_reply_fn done, void *ctx)
{
	struct console_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		done(ctx, ctl_reply_error(CTL_EXIT_FAILED, "out of memory"));
		return;
	}
	r->c = c;
	r->ctl_done = done;
	r->ctl_ctx = ctx;
	r->body = json_incref(args);
	r->auth = CONSOLE_AUTH_TOKEN;
	r->level = ACCOUNTS_ADMIN;
	snprintf(r->who, sizeof(r->who), "%s", who);
	snprintf(r->user, sizeof(r->user), "local");
	snprintf(r->from, sizeof(r->from), "control socket");
	if (c->accounts == NULL && (cmd == CTL_ACCOUNT_ADD ||
	    cmd == CTL_ACCOUNTS || cmd == CTL_ACCOUNT_REMOVE ||
	    cmd == CTL_ACCOUNT_PASSWORD)) {
		console_error(r, 503, "the account store could not be read "
		    "(see the log); fix or remove %s/%s", c->state_dir,
		    ACCOUNTS_FILE);
		return;
	}
	console_api_ctl(c, r, cmd);
}

json_t *
console_status(struct console *c)
{
	json_t *o, *ls = json_array();
	size_t i, live = 0;
	time_t now = console_now(c);

	for (i = 0; i < CONSOLE_MAX_LISTEN; i++)
		if (c->listen[i].bound != NULL ||
		    c->listen[i].redirector != NULL)
			json_array_append_new(ls, json_pack("{s:s,s:i,s:s,s:b}",
			    "service", c->listen[i].tls ? "https" : "http",
			    "port", c->listen[i].port, "family",
			    c->listen[i].family == AF_INET ? "ipv4" : "ipv6",
			    "redirect", c->listen[i].redirect));
	for (i = 0; i < c->n_session_slots; i++)
		if (session_live(c, &c->sessions[i], now))
			live++;
	o = json_pack("{s:o,s:o,s:o*,s:I,s:I,s:I,s:b,s:I,s:I}",
	    "listening", ls,
	    "certificate", c->cert_info != NULL ?
	    certs_info_json(c->cert_info, time(NULL)) : json_null(),
	    "tls", c->tls != NULL ? tls_stats(c->tls) : NULL,
	    "sessions", (json_int_t)live,
	    "accounts", (json_int_t)(c->accounts != NULL ?
	    accounts_count(c->accounts) : 0),
	    "api_tokens", (json_int_t)c->n_tokens,
	    "setup_needed", c->accounts != NULL &&
	    accounts_setup_needed(c->accounts),
	    "requests", (json_int_t)c->n_requests,
	    "connections_refused", (json_int_t)c->n_refused);
	return o;
}
