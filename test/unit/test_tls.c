/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_tls - src/tls.c over socketpairs, against a BoringSSL client
 * driven by the same event loop (non-blocking, one thread), so every
 * interleaving is the loop's and every run is the same.  Certificates
 * are made here.  The system test (test/system/tls.sh) repeats the
 * important parts with independent peers (curl, openssl s_client).
 *
 * Each libevent 2.1.12 bug of DEPENDENCIES.md has a test that fails
 * without its workaround: test_bug1_*, test_bug2_*, test_bug3_* (the
 * last one under ASan: make check in a --enable-sanitizers build).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls.h"

/* ---- keys and certificates ------------------------------------------- */

struct pem {
	char *cert, *key;
	size_t cert_len, key_len;
	EVP_PKEY *pkey;
	X509 *x509;
};

static EVP_PKEY *
key_ec(int nid)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(nid);
	EVP_PKEY *k = EVP_PKEY_new();

	assert_non_null(ec);
	assert_int_equal(EC_KEY_generate_key(ec), 1);
	assert_int_equal(EVP_PKEY_assign_EC_KEY(k, ec), 1);
	return k;
}

static EVP_PKEY *
key_rsa(unsigned bits)
{
	RSA *rsa = RSA_new();
	BIGNUM *e = BN_new();
	EVP_PKEY *k = EVP_PKEY_new();

	assert_int_equal(BN_set_word(e, RSA_F4), 1);
	assert_int_equal(RSA_generate_key_ex(rsa, (int)bits, e, NULL), 1);
	BN_free(e);
	assert_int_equal(EVP_PKEY_assign_RSA(k, rsa), 1);
	return k;
}

static char *
bio_text(BIO *bio, size_t *len)
{
	const uint8_t *data;
	size_t n;
	char *s;

	assert_int_equal(BIO_mem_contents(bio, &data, &n), 1);
	s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, data, n);
	s[n] = '\0';
	*len = n;
	BIO_free(bio);
	return s;
}

/* A certificate for key, named cn, signed by issuer (self-signed: NULL). */
static void
pem_make(struct pem *p, EVP_PKEY *key, const char *cn, const struct pem *issuer)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIO *bio;

	p->pkey = key;
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const uint8_t *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer->x509) : name), 1);
	assert_true(X509_sign(x, issuer != NULL ? issuer->pkey : key,
	    EVP_sha256()) > 0);
	X509_NAME_free(name);
	p->x509 = x;
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	p->cert = bio_text(bio, &p->cert_len);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL), 1);
	p->key = bio_text(bio, &p->key_len);
}

static void
pem_free(struct pem *p)
{
	free(p->cert);
	free(p->key);
	EVP_PKEY_free(p->pkey);
	X509_free(p->x509);
	memset(p, 0, sizeof(*p));
}

static struct pem ec_a, ec_b, rsa_a;     /* made once: RSA keygen is slow */

static struct tls_config
cfg_for(const struct pem *p)
{
	struct tls_config c = {
		.cert_pem = p->cert, .cert_len = p->cert_len,
		.key_pem = p->key, .key_len = p->key_len,
		.alpn = "http/1.1,http/1.0",
	};

	return c;
}

/* ---- the loop ------------------------------------------------------------ */

static struct event_base *base;

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until done(arg) or ms pass; returns done(arg). */
static bool
run_until(bool (*done)(void *), void *arg, int ms)
{
	struct timeval tv = { 0, 2000 };
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timespec t0, now;
	bool ok;

	event_add(t, &tv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(ok = done(arg))) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(t);
	return ok;
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

static void
run_for(int ms)
{
	(void)run_until(never, NULL, ms);
}

/* ---- the client (BoringSSL, non-blocking, on the same loop) -------------- */

struct client {
	SSL *ssl;
	int fd;
	struct event *rev, *wev;
	struct evbuffer *out, *in;
	bool hs_done, closed, eof, failed, shutdown_when_sent, sent_close;
	uint32_t err;
	size_t cap;             /* stop reading beyond this (0: no cap) */
};

static SSL_SESSION *saved_session;

static int
client_new_session(SSL *ssl, SSL_SESSION *s)
{
	(void)ssl;
	SSL_SESSION_free(saved_session);
	saved_session = s;      /* ours now */
	return 1;
}

static SSL_CTX *
client_ctx(uint16_t min, uint16_t max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max), 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(ctx, client_new_session);
	return ctx;
}

static void client_step(struct client *k);

static void
client_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_step(arg);
}

static void
client_fail(struct client *k)
{
	k->failed = true;
	k->err = ERR_peek_last_error();
	ERR_clear_error();
}

static void
client_step(struct client *k)
{
	uint8_t buf[16384];
	size_t n;
	int r;

	if (k->failed || k->closed || k->eof)
		return;
	if (!k->hs_done) {
		r = SSL_do_handshake(k->ssl);
		if (r != 1) {
			switch (SSL_get_error(k->ssl, r)) {
			case SSL_ERROR_WANT_READ:
				return;
			case SSL_ERROR_WANT_WRITE:
				event_add(k->wev, NULL);
				return;
			default:
				client_fail(k);
				return;
			}
		}
		k->hs_done = true;
	}
	while ((n = evbuffer_get_length(k->out)) > 0) {
		if (n > sizeof(buf))
			n = sizeof(buf);
		evbuffer_copyout(k->out, buf, n);
		r = SSL_write(k->ssl, buf, (int)n);
		if (r > 0) {
			evbuffer_drain(k->out, (size_t)r);
			continue;
		}
		if (SSL_get_error(k->ssl, r) == SSL_ERROR_WANT_WRITE)
			event_add(k->wev, NULL);
		else if (SSL_get_error(k->ssl, r) != SSL_ERROR_WANT_READ)
			client_fail(k);
		break;
	}
	if (k->shutdown_when_sent && !k->sent_close &&
	    evbuffer_get_length(k->out) == 0) {
		k->sent_close = true;
		(void)SSL_shutdown(k->ssl);
	}
	while (!k->failed && (k->cap == 0 ||
	    evbuffer_get_length(k->in) < k->cap)) {
		r = SSL_read(k->ssl, buf, sizeof(buf));
		if (r > 0) {
			evbuffer_add(k->in, buf, (size_t)r);
			continue;
		}
		switch (SSL_get_error(k->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_ZERO_RETURN:
			k->closed = true;
			break;
		case SSL_ERROR_SYSCALL:
			k->eof = true;
			break;
		default:
			client_fail(k);
			break;
		}
		break;
	}
}

static struct client *
client_new(SSL_CTX *ctx, int fd, const char *alpn_wire, size_t alpn_len)
{
	struct client *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	k->fd = fd;
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	k->ssl = SSL_new(ctx);
	assert_non_null(k->ssl);
	assert_int_equal(SSL_set_fd(k->ssl, fd), 1);
	SSL_set_connect_state(k->ssl);
	if (alpn_wire != NULL)
		assert_int_equal(SSL_set_alpn_protos(k->ssl,
		    (const uint8_t *)alpn_wire, alpn_len), 0);
	k->out = evbuffer_new();
	k->in = evbuffer_new();
	k->rev = event_new(base, fd, EV_READ | EV_PERSIST, client_io, k);
	k->wev = event_new(base, fd, EV_WRITE, client_io, k);
	event_add(k->rev, NULL);
	return k;
}

static void
client_start(struct client *k)
{
	client_step(k);
}

static void
client_free(struct client *k)
{
	if (k == NULL)
		return;
	event_free(k->rev);
	event_free(k->wev);
	SSL_free(k->ssl);
	close(k->fd);
	evbuffer_free(k->out);
	evbuffer_free(k->in);
	free(k);
}

static bool
client_settled(void *arg)
{
	struct client *k = arg;

	return k->hs_done || k->failed || k->eof || k->closed;
}

static bool
client_ended(void *arg)
{
	struct client *k = arg;

	return k->failed || k->eof || k->closed;
}

/* ---- the server side --------------------------------------------------- */

struct srv {
	struct bufferevent *bev;
	int fd;
	struct evbuffer *got;
	bool echo;
	bool free_on_read, free_on_write, free_on_event;
	bool evhttp_close;      /* write done: close_notify, free, shutdown */
	bool wrote;
	short events;
	size_t got_at_event;    /* bytes received when the event came */
	unsigned n_events;
};

static void
srv_gone(struct srv *s)
{
	bufferevent_free(s->bev);
	s->bev = NULL;
}

static void
srv_read(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;

	if (s->echo)
		bufferevent_write_buffer(bev, bufferevent_get_input(bev));
	else
		evbuffer_add_buffer(s->got, bufferevent_get_input(bev));
	if (s->free_on_read)
		srv_gone(s);
}

static void
srv_write(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;

	s->wrote = true;
	if (s->evhttp_close) {
		/* What evhttp_connection_free() does, in its order. */
		tls_bufferevent_close_notify(bev);
		srv_gone(s);
		shutdown(s->fd, SHUT_WR);
	} else if (s->free_on_write)
		srv_gone(s);
}

static void
srv_event(struct bufferevent *bev, short what, void *arg)
{
	struct srv *s = arg;

	(void)bev;
	s->events |= what;
	s->n_events++;
	s->got_at_event = evbuffer_get_length(s->got);
	if (s->free_on_event)
		srv_gone(s);
}

static void
srv_setup(struct srv *s, struct bufferevent *bev, int fd)
{
	memset(s, 0, sizeof(*s));
	s->bev = bev;
	s->fd = fd;
	s->got = evbuffer_new();
	bufferevent_setcb(bev, srv_read, srv_write, srv_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
srv_free(struct srv *s)
{
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	evbuffer_free(s->got);
	s->bev = NULL;
	s->got = NULL;
}

static bool
srv_evented(void *arg)
{
	return ((struct srv *)arg)->n_events > 0;
}

/* A connected pair: the server end (given to tls) and the client's. */
struct pair {
	int s, c;
};

static struct pair
pair_new(void)
{
	int sv[2];
	struct pair p;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(evutil_make_socket_nonblocking(sv[0]), 0);
	p.s = sv[0];
	p.c = sv[1];
	return p;
}

static int
json_get(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);

	if (b != NULL)
		v = json_object_get(v, b);
	assert_true(json_is_integer(v));
	return (int)json_integer_value(v);
}

static int
stat_of(struct tls_ctx *t, const char *a, const char *b)
{
	json_t *j = tls_stats(t);
	int v = json_get(j, a, b);

	json_decref(j);
	return v;
}

static void
fill_pattern(struct evbuffer *b, size_t n)
{
	uint8_t chunk[4096];
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < sizeof(chunk) ? n - i : sizeof(chunk);
		for (size_t j = 0; j < k; j++)
			chunk[j] = (uint8_t)((i + j) * 131 + ((i + j) >> 12));
		evbuffer_add(b, chunk, k);
	}
}

static bool
same_bytes(struct evbuffer *a, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(a);

	return n == evbuffer_get_length(b) &&
	    memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0;
}

/* One server connection over tls t, one client on ctx. */
struct conn {
	struct pair p;
	struct srv s;
	struct client *k;
	size_t want;            /* echo_check: bytes expected back */
};

static void
conn_open(struct conn *c, struct tls_ctx *t, SSL_CTX *ctx,
    const char *alpn, size_t alpn_len)
{
	struct bufferevent *bev;

	c->p = pair_new();
	bev = tls_bufferevent_new(t, c->p.s);
	assert_non_null(bev);
	srv_setup(&c->s, bev, c->p.s);
	c->k = client_new(ctx, c->p.c, alpn, alpn_len);
	client_start(c->k);
}

static void
conn_close(struct conn *c)
{
	srv_free(&c->s);
	client_free(c->k);
	c->k = NULL;
}

static bool
echoed(void *arg)
{
	struct conn *c = arg;

	return c->k->failed || c->k->eof || c->k->closed ||
	    (evbuffer_get_length(c->k->out) == 0 &&
	    evbuffer_get_length(c->k->in) >= c->want);
}

/* Send n bytes and expect them echoed (handshake first if need be). */
static void
echo_check(struct conn *c, size_t n)
{
	struct evbuffer *want = evbuffer_new();

	c->s.echo = true;
	fill_pattern(want, n);
	fill_pattern(c->k->out, n);
	evbuffer_drain(c->k->in, evbuffer_get_length(c->k->in));
	c->want = n;
	client_step(c->k);
	assert_true(run_until(echoed, c, 5000));
	if (c->k->failed)
		print_error("client: %s\n", ERR_reason_error_string(c->k->err));
	assert_false(c->k->failed);
	assert_true(same_bytes(c->k->in, want));
	evbuffer_free(want);
}

static int
setup(void **state)
{
	(void)state;
	base = event_base_new();
	return base == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	/* Finalizers of freed bufferevents run here. */
	event_base_free(base);
	base = NULL;
	SSL_SESSION_free(saved_session);
	saved_session = NULL;
	ERR_clear_error();
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_config_errors(void **state)
{
	struct pem rsa1024 = { 0 }, p521 = { 0 };
	struct tls_config c;
	struct tls_ctx *t;
	char err[256];
	char both[8192];

	(void)state;
	c = cfg_for(&ec_a);
	c.cert_pem = NULL;
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "required"));

	c = cfg_for(&ec_a);
	c.cert_pem = "not a certificate";
	c.cert_len = strlen(c.cert_pem);
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "certificate"));

	c = cfg_for(&ec_a);
	c.key_pem = ec_b.key;
	c.key_len = ec_b.key_len;
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));

	c = cfg_for(&ec_a);
	c.key_pem = "garbage";
	c.key_len = 7;
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "key"));

	pem_make(&rsa1024, key_rsa(1024), "weak", NULL);
	c = cfg_for(&rsa1024);
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "1024 bits"));
	pem_free(&rsa1024);

	pem_make(&p521, key_ec(NID_secp521r1), "p521", NULL);
	c = cfg_for(&p521);
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "curve"));
	pem_free(&p521);

	c = cfg_for(&ec_a);
	c.min_version = 0x0302;         /* TLS 1.1 */
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "min_version"));

	c = cfg_for(&ec_a);
	c.alpn = "http/1.1,,h2";
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_non_null(strstr(err, "alpn"));

	/* The key never appears in a message, even when it is the problem. */
	c = cfg_for(&ec_a);
	c.cert_pem = ec_a.key;
	c.cert_len = ec_a.key_len;
	assert_null(tls_ctx_new(base, &c, err, sizeof(err)));
	assert_null(strstr(err, "PRIVATE"));

	/* Key and certificate in one file, either order: accepted. */
	snprintf(both, sizeof(both), "%s%s", ec_a.key, ec_a.cert);
	c = cfg_for(&ec_a);
	c.cert_pem = both;
	c.cert_len = strlen(both);
	c.key_pem = both;
	c.key_len = strlen(both);
	t = tls_ctx_new(base, &c, err, sizeof(err));
	assert_non_null(t);
	tls_ctx_free(t);

	c = cfg_for(&rsa_a);
	t = tls_ctx_new(base, &c, err, sizeof(err));
	assert_non_null(t);
	tls_ctx_free(t);
	tls_ctx_free(NULL);
}

static void
test_echo(void **state)
{
	static const uint16_t versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	const struct pem *pems[] = { &ec_a, &rsa_a };
	struct tls_config cfg;
	struct tls_ctx *t;
	struct conn c;
	SSL_CTX *ctx;
	size_t i, j;

	(void)state;
	for (j = 0; j < 2; j++) {
		cfg = cfg_for(pems[j]);
		t = tls_ctx_new(base, &cfg, NULL, 0);
		assert_non_null(t);
		for (i = 0; i < 2; i++) {
			ctx = client_ctx(TLS1_2_VERSION, versions[i]);
			conn_open(&c, t, ctx, NULL, 0);
			echo_check(&c, 300 * 1024);
			assert_int_equal(SSL_version(c.k->ssl), versions[i]);
			assert_int_equal(SSL_CIPHER_is_aead(
			    SSL_get_current_cipher(c.k->ssl)), 1);
			conn_close(&c);
			SSL_CTX_free(ctx);
		}
		assert_int_equal(stat_of(t, "handshakes", "done"), 2);
		assert_int_equal(stat_of(t, "tls1_2", NULL), 1);
		assert_int_equal(stat_of(t, "tls1_3", NULL), 1);
		assert_int_equal(stat_of(t, "handshakes", "in_progress"), 0);
		tls_ctx_free(t);
	}
	run_for(10);
}

/* A handshake the server must refuse: what the client sees, and counts. */
static void
expect_refused(struct tls_ctx *t, SSL_CTX *ctx, const char *alpn,
    size_t alpn_len, int alert_reason)
{
	struct conn c;
	int failed = stat_of(t, "handshakes", "failed");

	conn_open(&c, t, ctx, alpn, alpn_len);
	assert_true(run_until(client_ended, c.k, 3000));
	assert_true(c.k->failed);
	if (alert_reason != 0)
		assert_int_equal(ERR_GET_REASON(c.k->err), alert_reason);
	/* The owner hears of it only after the alert went out. */
	assert_true(run_until(srv_evented, &c.s, 3000));
	assert_true(c.s.events & BEV_EVENT_ERROR);
	assert_int_equal(stat_of(t, "handshakes", "failed"), failed + 1);
	assert_int_equal(stat_of(t, "handshakes", "in_progress"), 0);
	conn_close(&c);
}

static void
test_versions_ciphers_groups(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	struct conn c;
	SSL_CTX *ctx;

	(void)state;
	assert_non_null(t);
	/* TLS 1.0 and 1.1 */
	ctx = client_ctx(TLS1_VERSION, TLS1_VERSION);
	expect_refused(t, ctx, NULL, 0,
	    SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
	SSL_CTX_free(ctx);
	ctx = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
	expect_refused(t, ctx, NULL, 0,
	    SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
	SSL_CTX_free(ctx);
	/* CBC and static-RSA suites */
	ctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_set_strict_cipher_list(ctx,
	    "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256:AES128-SHA"), 1);
	/* BoringSSL's name for a handshake_failure alert to a ClientHello */
	expect_refused(t, ctx, NULL, 0,
	    SSL_R_HANDSHAKE_FAILURE_ON_CLIENT_HELLO);
	SSL_CTX_free(ctx);
	/* a group we do not offer */
	ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_set1_curves_list(ctx, "P-521"), 1);
	expect_refused(t, ctx, NULL, 0, 0);
	SSL_CTX_free(ctx);
	/* SHA-1 signatures only */
	ctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
	{
		static const uint16_t sha1[] = { SSL_SIGN_ECDSA_SHA1,
		    SSL_SIGN_RSA_PKCS1_SHA1 };

		assert_int_equal(SSL_CTX_set_verify_algorithm_prefs(ctx, sha1,
		    2), 1);
	}
	expect_refused(t, ctx, NULL, 0, 0);
	SSL_CTX_free(ctx);

	/* accepted: each allowed TLS 1.2 suite, P-384, X25519 */
	{
		static const char *ok[] = {
			"ECDHE-ECDSA-AES128-GCM-SHA256",
			"ECDHE-ECDSA-AES256-GCM-SHA384",
			"ECDHE-ECDSA-CHACHA20-POLY1305",
		};
		size_t i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			ctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
			assert_int_equal(SSL_CTX_set_strict_cipher_list(ctx,
			    ok[i]), 1);
			conn_open(&c, t, ctx, NULL, 0);
			echo_check(&c, 1000);
			assert_string_equal(SSL_CIPHER_get_name(
			    SSL_get_current_cipher(c.k->ssl)), ok[i]);
			assert_int_equal(SSL_get_curve_id(c.k->ssl),
			    SSL_CURVE_X25519);
			conn_close(&c);
			SSL_CTX_free(ctx);
		}
	}
	/* each group (TLS 1.3: a TLS 1.2 client also ties the group list
	 * to the certificate's curve) */
	{
		static const char *groups[] = { "X25519", "P-256", "P-384" };
		static const uint16_t ids[] = { SSL_CURVE_X25519,
		    SSL_CURVE_SECP256R1, SSL_CURVE_SECP384R1 };
		size_t i;

		for (i = 0; i < 3; i++) {
			ctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
			assert_int_equal(SSL_CTX_set1_curves_list(ctx,
			    groups[i]), 1);
			conn_open(&c, t, ctx, NULL, 0);
			echo_check(&c, 1000);
			assert_int_equal(SSL_get_curve_id(c.k->ssl), ids[i]);
			conn_close(&c);
			SSL_CTX_free(ctx);
		}
	}
	tls_ctx_free(t);

	/* min_version 1.3 refuses 1.2 */
	cfg.min_version = TLS_VERSION_1_3;
	t = tls_ctx_new(base, &cfg, NULL, 0);
	assert_non_null(t);
	ctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
	expect_refused(t, ctx, NULL, 0, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static void
test_alpn(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	const uint8_t *sel;
	unsigned len;
	struct conn c;

	(void)state;
	assert_non_null(t);
	expect_refused(t, ctx, "\x02h2", 3,
	    SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
	/* our order wins */
	conn_open(&c, t, ctx, "\x08http/1.0\x08http/1.1", 18);
	echo_check(&c, 10);
	SSL_get0_alpn_selected(c.k->ssl, &sel, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(sel, "http/1.1", 8);
	conn_close(&c);
	/* none offered: fine, none selected */
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 10);
	SSL_get0_alpn_selected(c.k->ssl, &sel, &len);
	assert_int_equal(len, 0);
	conn_close(&c);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static bool
got_n(void *arg)
{
	struct client *k = arg;

	return k->failed || k->eof || k->closed ||
	    evbuffer_get_length(k->in) >= 5;
}

/*
 * Bug 1: output queued while writing is disabled, then writing enabled
 * (what evhttp does with every reply) must be sent.
 */
static void
test_bug1_output_queued_while_disabled(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct conn c;

	(void)state;
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 100);            /* handshake done, echo works */
	c.s.echo = false;
	bufferevent_disable(c.s.bev, EV_WRITE);
	bufferevent_write(c.s.bev, "hello", 5);
	bufferevent_enable(c.s.bev, EV_WRITE);
	evbuffer_drain(c.k->in, evbuffer_get_length(c.k->in));
	assert_true(run_until(got_n, c.k, 3000));
	assert_memory_equal(evbuffer_pullup(c.k->in, 5), "hello", 5);
	assert_true(c.s.wrote);
	conn_close(&c);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static bool
client_got_all(void *arg)
{
	struct conn *c = arg;

	return c->k->failed || c->k->eof || c->k->closed;
}

/*
 * Bug 2: the owner shuts the socket down and frees the bufferevent in
 * the write callback (evhttp after a Connection: close reply).  With a
 * small socket buffer most of 1 MiB of ciphertext is still in user
 * space when the plaintext has all been encrypted: all of it must
 * arrive, and then our close_notify.
 */
static void
test_bug2_close_after_reply(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct evbuffer *want = evbuffer_new();
	int small = 8192;
	struct conn c;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		conn_open(&c, t, ctx, NULL, 0);
		assert_int_equal(setsockopt(c.p.s, SOL_SOCKET, SO_SNDBUF,
		    &small, sizeof(small)), 0);
		assert_int_equal(setsockopt(c.p.c, SOL_SOCKET, SO_RCVBUF,
		    &small, sizeof(small)), 0);
		echo_check(&c, 10);
		c.s.echo = false;
		evbuffer_drain(c.k->in, evbuffer_get_length(c.k->in));
		evbuffer_drain(want, evbuffer_get_length(want));
		fill_pattern(want, 1024 * 1024);
		c.s.evhttp_close = true;
		/* Like evhttp: the reply queued whole with writing off. */
		bufferevent_disable(c.s.bev, EV_WRITE);
		bufferevent_write(c.s.bev, evbuffer_pullup(want, -1),
		    evbuffer_get_length(want));
		bufferevent_enable(c.s.bev, EV_WRITE);
		if (i == 1) {
			/* A reader that stops for a while first. */
			c.k->cap = 64 * 1024;
			run_for(50);
			assert_int_equal(evbuffer_get_length(c.k->in),
			    64 * 1024);
			c.k->cap = 0;
			client_step(c.k);
		}
		assert_true(run_until(client_got_all, &c, 10000));
		assert_false(c.k->failed);
		assert_int_equal(evbuffer_get_length(c.k->in), 1024 * 1024);
		assert_true(same_bytes(c.k->in, want));
		assert_true(c.k->closed);       /* close_notify, not bare EOF */
		assert_null(c.s.bev);
		conn_close(&c);
	}
	evbuffer_free(want);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

/*
 * close_notify is not sent while the reply is incomplete: a truncated
 * reply must not look like a complete one.
 */
static void
test_close_notify_only_when_complete(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct evbuffer *big = evbuffer_new();
	int small = 8192;
	struct conn c;

	(void)state;
	conn_open(&c, t, ctx, NULL, 0);
	assert_int_equal(setsockopt(c.p.s, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	echo_check(&c, 10);
	c.s.echo = false;
	c.k->cap = 16 * 1024;   /* the client stops reading for a while */
	evbuffer_drain(c.k->in, evbuffer_get_length(c.k->in));
	fill_pattern(big, 512 * 1024);
	bufferevent_write_buffer(c.s.bev, big);
	run_for(20);
	tls_bufferevent_close_notify(c.s.bev);  /* too early: ignored */
	tls_bufferevent_close_notify(NULL);
	srv_gone(&c.s);
	shutdown(c.p.s, SHUT_WR);
	c.k->cap = 0;
	client_step(c.k);
	assert_true(run_until(client_got_all, &c, 5000));
	assert_false(c.k->closed);
	assert_true(evbuffer_get_length(c.k->in) < 512 * 1024);
	conn_close(&c);
	evbuffer_free(big);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

/*
 * Bug 3: the owner frees the bufferevent inside its read, write and
 * event callbacks, with evhttp's generic timeouts armed.  Clean under
 * ASan, including the timeouts' due time afterwards.
 */
static void
test_bug3_free_inside_callbacks(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct timeval tmo = { 0, 100 * 1000 };
	struct conn c;
	int mode;

	(void)state;
	for (mode = 0; mode < 4; mode++) {
		conn_open(&c, t, ctx, NULL, 0);
		bufferevent_set_timeouts(c.s.bev, &tmo, &tmo);
		assert_true(run_until(client_settled, c.k, 3000));
		assert_true(c.k->hs_done);
		switch (mode) {
		case 0:         /* in the read callback */
			c.s.free_on_read = true;
			evbuffer_add(c.k->out, "x", 1);
			break;
		case 1:         /* in the write callback */
			c.s.free_on_write = true;
			bufferevent_write(c.s.bev, "reply", 5);
			break;
		case 2:         /* in the event callback: peer closed */
			c.s.free_on_event = true;
			c.k->shutdown_when_sent = true;
			break;
		case 3:         /* in the event callback: fatal TLS error */
			c.s.free_on_event = true;
			/* a fatal alert record in clear text */
			assert_int_equal(write(c.p.c,
			    "\x15\x03\x03\x00\x02\x02\x0a", 7), 7);
			break;
		}
		client_step(c.k);
		assert_true(run_until(client_got_all, &c, 3000) ||
		    c.s.bev == NULL);
		run_for(20);
		assert_null(c.s.bev);
		conn_close(&c);
	}
	/* past the 100 ms timeouts of the freed bufferevents */
	run_for(250);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static bool
fd_eof(int fd)
{
	char b;

	return read(fd, &b, 1) == 0;
}

static void
test_limit_concurrent(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t;
	struct bufferevent *bev[3];
	struct pair p[4];
	struct srv s[3];
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct conn c;
	int i;

	(void)state;
	cfg.max_handshakes = 2;
	t = tls_ctx_new(base, &cfg, NULL, 0);
	assert_non_null(t);
	/* two silent clients hold both slots */
	for (i = 0; i < 2; i++) {
		p[i] = pair_new();
		bev[i] = tls_bufferevent_new(t, p[i].s);
		assert_non_null(bev[i]);
		srv_setup(&s[i], bev[i], p[i].s);
	}
	assert_int_equal(stat_of(t, "handshakes", "in_progress"), 2);
	/* the third is closed at once */
	p[2] = pair_new();
	assert_null(tls_bufferevent_new(t, p[2].s));
	assert_true(fd_eof(p[2].c));
	close(p[2].c);
	assert_int_equal(stat_of(t, "handshakes", "refused_busy"), 1);
	/* evhttp's way (fd set later): refused on the next loop pass */
	p[3] = pair_new();
	bev[2] = tls_bufferevent_new(t, -1);
	assert_non_null(bev[2]);
	srv_setup(&s[2], bev[2], p[3].s);
	bufferevent_setfd(bev[2], p[3].s);
	assert_true(run_until(srv_evented, &s[2], 1000));
	assert_true(s[2].events & BEV_EVENT_ERROR);
	srv_free(&s[2]);
	run_for(10);
	assert_true(fd_eof(p[3].c));
	close(p[3].c);
	assert_int_equal(stat_of(t, "handshakes", "refused_busy"), 2);
	/* one silent client goes away: its slot is free again */
	close(p[0].c);
	assert_true(run_until(srv_evented, &s[0], 1000));
	assert_true(s[0].events & BEV_EVENT_EOF);
	srv_free(&s[0]);
	assert_int_equal(stat_of(t, "handshakes", "aborted"), 1);
	assert_int_equal(stat_of(t, "handshakes", "in_progress"), 1);
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 100);
	conn_close(&c);
	srv_free(&s[1]);
	close(p[1].c);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static void
test_limit_rate(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t;
	struct bufferevent *bev;
	struct pair p;
	int i, ok = 0;

	(void)state;
	cfg.handshakes_per_s = 5;
	t = tls_ctx_new(base, &cfg, NULL, 0);
	assert_non_null(t);
	for (i = 0; i < 8; i++) {
		p = pair_new();
		bev = tls_bufferevent_new(t, p.s);
		if (bev != NULL) {
			ok++;
			bufferevent_free(bev);
		}
		close(p.c);
	}
	/* a burst of 5, a refill of 5/s: the loop above takes microseconds */
	assert_int_equal(ok, 5);
	assert_int_equal(stat_of(t, "handshakes", "refused_rate"), 3);
	run_for(450);           /* 2 tokens back */
	p = pair_new();
	bev = tls_bufferevent_new(t, p.s);
	assert_non_null(bev);
	bufferevent_free(bev);
	close(p.c);
	tls_ctx_free(t);
	run_for(10);
}

static void
test_handshake_timeout(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t;
	struct pair p;
	struct srv s;

	(void)state;
	cfg.handshake_timeout_ms = 100;
	t = tls_ctx_new(base, &cfg, NULL, 0);
	assert_non_null(t);
	p = pair_new();
	srv_setup(&s, tls_bufferevent_new(t, p.s), p.s);
	/* half a ClientHello, then silence */
	assert_int_equal(write(p.c, "\x16\x03\x01\x02\x00\x01", 6), 6);
	assert_true(run_until(srv_evented, &s, 2000));
	assert_true(s.events & BEV_EVENT_TIMEOUT);
	assert_int_equal(stat_of(t, "handshakes", "timed_out"), 1);
	assert_int_equal(stat_of(t, "handshakes", "in_progress"), 0);
	srv_free(&s);
	close(p.c);
	tls_ctx_free(t);
	run_for(10);
}

struct raw {
	int fd;
	size_t seen;            /* bytes before EOF */
};

static bool
raw_eof(void *arg)
{
	struct raw *r = arg;
	char buf[512];
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		r->seen += (size_t)n;
	return n == 0;
}

/*
 * Garbage instead of a ClientHello: a malformed one gets a decode_error
 * alert and then EOF; a plain HTTP request (BoringSSL recognises it)
 * gets EOF.  The owner hears of it after that, in both cases.
 */
static void
test_garbage(void **state)
{
	static const struct {
		const char *bytes;
		size_t len, alert;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0 },
		{ "\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9, 7 },
		{ "\x17\x03\x03\x00\x03" "abc", 8, 7 },
	};
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	struct pair p;
	struct raw r;
	struct srv s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = pair_new();
		r.fd = p.c;
		r.seen = 0;
		srv_setup(&s, tls_bufferevent_new(t, p.s), p.s);
		s.free_on_event = true;
		assert_int_equal(fcntl(p.c, F_SETFL, O_NONBLOCK), 0);
		assert_int_equal(write(p.c, cases[i].bytes, cases[i].len),
		    (ssize_t)cases[i].len);
		assert_true(run_until(raw_eof, &r, 2000));
		assert_int_equal(r.seen, cases[i].alert);
		assert_true(s.events & BEV_EVENT_ERROR);
		assert_int_equal(stat_of(t, "handshakes", "failed"),
		    (int)i + 1);
		close(p.c);
		srv_free(&s);
	}
	tls_ctx_free(t);
	run_for(10);
}

/* The client's close_notify: its data first, then EOF. */
static void
test_peer_close_notify(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct conn c;

	(void)state;
	conn_open(&c, t, ctx, NULL, 0);
	fill_pattern(c.k->out, 40000);
	c.k->shutdown_when_sent = true;
	client_step(c.k);
	assert_true(run_until(srv_evented, &c.s, 3000));
	assert_int_equal(c.s.events, BEV_EVENT_READING | BEV_EVENT_EOF);
	assert_int_equal(c.s.got_at_event, 40000);
	conn_close(&c);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

static bool
session_saved(void *arg)
{
	(void)arg;
	return saved_session != NULL;
}

/* One connection offering sess (may be NULL); returns whether resumed. */
static bool
resume_once(struct tls_ctx *t, SSL_CTX *ctx, SSL_SESSION *sess)
{
	struct conn c;
	bool reused;

	c.p = pair_new();
	srv_setup(&c.s, tls_bufferevent_new(t, c.p.s), c.p.s);
	c.k = client_new(ctx, c.p.c, NULL, 0);
	if (sess != NULL)
		assert_int_equal(SSL_set_session(c.k->ssl, sess), 1);
	SSL_SESSION_free(saved_session);
	saved_session = NULL;
	client_start(c.k);
	echo_check(&c, 100);
	(void)run_until(session_saved, NULL, 1000);
	reused = SSL_session_reused(c.k->ssl);
	conn_close(&c);
	return reused;
}

static void
test_tickets_rotation(void **state)
{
	static const uint16_t versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_SESSION *first;
	SSL_CTX *ctx;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		ctx = client_ctx(versions[i], versions[i]);
		assert_false(resume_once(t, ctx, NULL));
		assert_non_null(saved_session);
		first = saved_session;
		saved_session = NULL;
		assert_true(resume_once(t, ctx, first));
		/* one rotation: the previous key still decrypts */
		tls_ctx_rotate_tickets(t);
		assert_true(resume_once(t, ctx, first));
		assert_non_null(saved_session);  /* a fresh ticket came */
		/* two: gone, a full handshake */
		tls_ctx_rotate_tickets(t);
		assert_false(resume_once(t, ctx, first));
		SSL_SESSION_free(first);
		SSL_CTX_free(ctx);
	}
	assert_int_equal(stat_of(t, "resumed", NULL), 4);
	assert_int_equal(stat_of(t, "ticket_rotations", NULL), 4);
	tls_ctx_free(t);
	run_for(10);
}

static void
peer_cn(SSL *ssl, char *cn, size_t n)
{
	X509 *x = SSL_get_peer_certificate(ssl);

	assert_non_null(x);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, (int)n) > 0);
	X509_free(x);
}

static void
test_set_cert(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct pem inter = { 0 }, leaf = { 0 };
	struct conn old, c;
	char cn[64], err[256], *full;

	(void)state;
	conn_open(&old, t, ctx, NULL, 0);
	echo_check(&old, 100);
	peer_cn(old.k->ssl, cn, sizeof(cn));
	assert_string_equal(cn, "a.test");

	/* a bad one changes nothing */
	cfg = cfg_for(&ec_b);
	cfg.key_pem = ec_a.key;
	cfg.key_len = ec_a.key_len;
	assert_int_equal(tls_ctx_set_cert(t, &cfg, err, sizeof(err)), -1);
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 10);
	peer_cn(c.k->ssl, cn, sizeof(cn));
	assert_string_equal(cn, "a.test");
	conn_close(&c);

	cfg = cfg_for(&ec_b);
	assert_int_equal(tls_ctx_set_cert(t, &cfg, err, sizeof(err)), 0);
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 10);
	peer_cn(c.k->ssl, cn, sizeof(cn));
	assert_string_equal(cn, "b.test");
	conn_close(&c);
	/* the connection from before keeps working */
	echo_check(&old, 50000);
	conn_close(&old);

	/* a leaf with its intermediate, in cert_pem and in chain_pem */
	pem_make(&inter, key_ec(NID_X9_62_prime256v1), "inter.test", NULL);
	pem_make(&leaf, key_ec(NID_X9_62_prime256v1), "leaf.test", &inter);
	full = malloc(leaf.cert_len + inter.cert_len + 1);
	assert_non_null(full);
	memcpy(full, leaf.cert, leaf.cert_len);
	memcpy(full + leaf.cert_len, inter.cert, inter.cert_len + 1);
	cfg = cfg_for(&leaf);
	cfg.cert_pem = full;
	cfg.cert_len = leaf.cert_len + inter.cert_len;
	assert_int_equal(tls_ctx_set_cert(t, &cfg, err, sizeof(err)), 0);
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 10);
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(c.k->ssl)), 2);
	conn_close(&c);
	cfg = cfg_for(&leaf);
	cfg.chain_pem = inter.cert;
	cfg.chain_len = inter.cert_len;
	assert_int_equal(tls_ctx_set_cert(t, &cfg, err, sizeof(err)), 0);
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 10);
	assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(c.k->ssl)), 2);
	conn_close(&c);
	free(full);
	pem_free(&leaf);
	pem_free(&inter);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

/* A reader slower than the sender, with a small input cap. */
static void
slow_reader(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	char buf[1024];
	size_t n;

	(void)fd;
	(void)what;
	if (s->bev == NULL)
		return;
	n = evbuffer_remove(bufferevent_get_input(s->bev), buf, sizeof(buf));
	if (n > 0)
		evbuffer_add(s->got, buf, n);
}

static bool
srv_got_all(void *arg)
{
	struct srv *s = arg;

	return evbuffer_get_length(s->got) >= 64 * 1024 || s->n_events > 0;
}

static void
test_input_cap(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t;
	SSL_CTX *ctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	struct timeval tv = { 0, 1000 };
	struct evbuffer *want = evbuffer_new();
	struct event *ev;
	struct conn c;

	(void)state;
	cfg.input_max = 4096;
	t = tls_ctx_new(base, &cfg, NULL, 0);
	assert_non_null(t);
	conn_open(&c, t, ctx, NULL, 0);
	bufferevent_setcb(c.s.bev, NULL, NULL, srv_event, &c.s);
	fill_pattern(want, 64 * 1024);
	fill_pattern(c.k->out, 64 * 1024);
	client_step(c.k);
	ev = event_new(base, -1, EV_PERSIST, slow_reader, &c.s);
	event_add(ev, &tv);
	/* the cap holds while the reader is behind */
	run_for(30);
	assert_true(evbuffer_get_length(bufferevent_get_input(c.s.bev)) <=
	    4096 + 16384);
	assert_true(run_until(srv_got_all, &c.s, 5000));
	event_free(ev);
	assert_int_equal(c.s.n_events, 0);
	assert_true(same_bytes(c.s.got, want));
	evbuffer_free(want);
	conn_close(&c);
	SSL_CTX_free(ctx);
	tls_ctx_free(t);
	run_for(10);
}

/* The context may go first; live connections keep what they need. */
static void
test_ctx_free_first(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	SSL_CTX *ctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
	struct conn c;

	(void)state;
	conn_open(&c, t, ctx, NULL, 0);
	echo_check(&c, 100);
	tls_ctx_free(t);
	echo_check(&c, 20000);
	conn_close(&c);
	SSL_CTX_free(ctx);
	run_for(10);            /* the finalizer frees t: ASan sees leaks */
}

static void
test_stats_shape(void **state)
{
	struct tls_config cfg = cfg_for(&ec_a);
	struct tls_ctx *t = tls_ctx_new(base, &cfg, NULL, 0);
	json_t *j = tls_stats(t);
	static const char *hs[] = { "done", "failed", "aborted", "timed_out",
	    "refused_busy", "refused_rate", "in_progress" };
	static const char *top[] = { "resumed", "tls1_2", "tls1_3", "errors",
	    "connections", "ticket_rotations" };
	size_t i;

	(void)state;
	assert_non_null(j);
	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		assert_int_equal(json_get(j, "handshakes", hs[i]), 0);
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		assert_int_equal(json_get(j, top[i], NULL), 0);
	assert_int_equal(json_object_size(j), 7);
	json_decref(j);
	tls_ctx_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_ciphers_groups,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_alpn, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bug1_output_queued_while_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bug2_close_after_reply,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_close_notify_only_when_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bug3_free_inside_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_rate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_handshake_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_close_notify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tickets_rotation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_cert, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_input_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ctx_free_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stats_shape, setup,
		    teardown),
	};
	int rc;

	log_init("test_tls", 1);
	signal(SIGPIPE, SIG_IGN);       /* as in sluiced: EPIPE instead */
	pem_make(&ec_a, key_ec(NID_X9_62_prime256v1), "a.test", NULL);
	pem_make(&ec_b, key_ec(NID_X9_62_prime256v1), "b.test", NULL);
	pem_make(&rsa_a, key_rsa(2048), "rsa.test", NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	pem_free(&ec_a);
	pem_free(&ec_b);
	pem_free(&rsa_a);
	return rc;
}
