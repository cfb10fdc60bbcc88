/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls.c - server-side TLS bufferevents on BoringSSL (see tls.h).
 *
 * Shape: the owner's bufferevent is a bufferevent_filter over a socket
 * bufferevent ("under").  The SSL object reads and writes ciphertext
 * straight from/to under's evbuffers through a small BIO, so there is
 * no second copy and "under's output is empty" means "every byte of
 * ciphertext is in the kernel".  The filter callbacks move plaintext.
 *
 * The three libevent 2.1.12 bugs and what answers each here:
 *  1. bufferevent_enable(EV_WRITE) on a filter does not process output
 *     queued while writing was disabled (evhttp builds the whole reply,
 *     then enables writing).  tls_outbuf_cb activates a per-connection
 *     "kick" event whenever plaintext is added; the kick runs after the
 *     caller's function returned and flushes the filter.
 *  2. evhttp frees the connection and shutdown()s the socket as soon as
 *     the filter's output buffer is empty.  tls_filter_out encrypts a
 *     batch but leaves that plaintext in the output buffer ("inflight")
 *     until under's output is empty, i.e. the ciphertext has reached the
 *     kernel; only then is it drained and the write callback can run.
 *  3. The filter's callbacks on under hold no reference on the filter,
 *     so an owner that frees the filter inside one (evhttp does, after
 *     a Connection: close reply) leaves work running on freed memory.
 *     under's callbacks are replaced by wrappers that hold a reference
 *     (bufferevent_incref) around the original ones, and every event of
 *     ours checks first that the filter is still alive.
 * And one more of the same family: once the reader drains the input
 * below its high watermark, ciphertext already sitting in under's input
 * gets no new read event; tls_inbuf_cb kicks the filter to decrypt it.
 *
 * Errors are never reported from inside an SSL call or a filter
 * callback: tls_report() records the event and the kick delivers it,
 * after any alert BoringSSL wrote has left under's output.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/cipher.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls.h"

#if TLS_VERSION_1_2 != TLS1_2_VERSION || TLS_VERSION_1_3 != TLS1_3_VERSION
#error "TLS_VERSION_* must match BoringSSL's values"
#endif

/*
 * Server preference; AES-GCM and ChaCha20 of equal rank so that the
 * client's order decides between them (BoringSSL's [a|b] groups).
 */
static const char tls12_ciphers[] =
    "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]:"
    "[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
static const char tls_groups[] = "X25519:P-256:P-384";
static const uint16_t tls_sigalgs[] = {
	SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_ECDSA_SECP384R1_SHA384,
	SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA384,
	SSL_SIGN_RSA_PSS_RSAE_SHA512, SSL_SIGN_RSA_PKCS1_SHA256,
	SSL_SIGN_RSA_PKCS1_SHA384, SSL_SIGN_RSA_PKCS1_SHA512,
};

#define TLS_WRITE_BATCH   (64 * 1024)  /* plaintext encrypted per round */
#define TLS_RECORD_MAX    (16 * 1024)  /* plaintext of one record */
#define TLS_ALERT_WAIT_MS 1000         /* cap on an alert's wait to leave */
#define TLS_ALPN_MAX      255

struct tls_ticket_key {
	uint8_t name[SSL_TICKET_KEY_NAME_LEN];
	uint8_t hmac_key[32];
	uint8_t aes_key[32];
	bool valid;
};

struct tls_counters {
	uint64_t done, failed, aborted, timed_out, refused_busy, refused_rate;
	uint64_t resumed, tls12, tls13, errors, rotations;
};

struct tls_ctx {
	struct event_base *base;
	SSL_CTX *ssl_ctx;           /* for new connections */
	BIO_METHOD *bio_method;
	struct event *rotate_ev;
	struct tls_ticket_key keys[2];  /* [0] current, [1] previous */
	unsigned refs;              /* the owner's + one per connection */
	/* limits */
	unsigned max_handshakes, rate, hs_timeout_ms, rotate_s;
	size_t input_max;
	uint8_t alpn[TLS_ALPN_MAX]; /* wire format, our preference first */
	size_t alpn_len;            /* 0: no ALPN */
	/* admission */
	double tokens;
	struct timespec refill;
	unsigned hs_active, live;
	struct tls_counters st;
};

enum tls_state {
	TLS_ST_HANDSHAKE,
	TLS_ST_OPEN,
	TLS_ST_CLOSED,              /* close_notify received */
	TLS_ST_FAILED,
	TLS_ST_REFUSED,
};

struct tls_conn {
	struct tls_ctx *t;
	struct bufferevent *bev;    /* the filter: the owner's */
	struct bufferevent *under;  /* the socket */
	SSL *ssl;
	struct event *kick, *timer;
	bufferevent_data_cb under_read, under_write;
	bufferevent_event_cb under_event;
	void *under_arg;
	size_t inflight;            /* head of bev's output already encrypted */
	enum tls_state state;
	short report;               /* BEV_EVENT_* still to tell the owner */
	bool report_now;            /* don't wait for under's output to drain */
	bool reported;
	bool slot;                  /* holds a handshake slot */
	bool draining;              /* our own drain of bev's output */
	bool shut;                  /* we sent close_notify: no more writes */
	bool dead;                  /* refcount reached zero */
	void (*on_free)(void *);    /* the owner's, tls_bufferevent_on_free */
	void *on_free_arg;
};

static void tls_under_read(struct bufferevent *under, void *arg);

/* ---- errors and logging -------------------------------------------- */

static void
tls_seterr(char *err, size_t errlen, const char *what)
{
	uint32_t e = ERR_peek_last_error();
	char lib[128];

	if (errlen == 0)
		return;
	if (e != 0) {
		ERR_error_string_n(e, lib, sizeof(lib));
		snprintf(err, errlen, "%s: %s", what, lib);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

static const char *
tls_peer(const struct tls_conn *c, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int fd = bufferevent_getfd(c->under);
	const void *addr;
	unsigned port;

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return "?";
	if (ss.ss_family == AF_INET) {
		addr = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else
		return "local";
	if (inet_ntop(ss.ss_family, addr, host, sizeof(host)) == NULL)
		return "?";
	snprintf(buf, n, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, port);
	return buf;
}

/* Debug only: under a flood of bad handshakes the counters speak. */
static void
tls_log_failure(const struct tls_conn *c, const char *what)
{
	char peer[INET6_ADDRSTRLEN + 16];
	const char *reason;

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	reason = ERR_reason_error_string(ERR_peek_error());
	log_debug("tls: %s from %s: %s", what, tls_peer(c, peer, sizeof(peer)),
	    reason != NULL ? reason : "no detail");
}

/* ---- ticket keys ----------------------------------------------------- */

static int
tls_ticket_key_new(struct tls_ticket_key *k)
{
	if (!RAND_bytes(k->name, sizeof(k->name)) ||
	    !RAND_bytes(k->hmac_key, sizeof(k->hmac_key)) ||
	    !RAND_bytes(k->aes_key, sizeof(k->aes_key)))
		return -1;
	k->valid = true;
	return 0;
}

void
tls_ctx_rotate_tickets(struct tls_ctx *t)
{
	struct tls_ticket_key k;

	if (tls_ticket_key_new(&k) != 0) {
		/* RAND_bytes cannot fail on Linux; if it did, keep the key. */
		log_warn("tls: ticket key rotation failed");
		return;
	}
	OPENSSL_cleanse(&t->keys[1], sizeof(t->keys[1]));
	t->keys[1] = t->keys[0];
	t->keys[0] = k;
	OPENSSL_cleanse(&k, sizeof(k));
	t->st.rotations++;
}

static void
tls_rotate_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tls_ctx_rotate_tickets(arg);
}

/*
 * RFC 5077 tickets: key name, IV, AES-256-CBC, HMAC-SHA-256.  Returns, as
 * BoringSSL wants: encrypt 1 / -1; decrypt 0 unknown key (full
 * handshake), 1 ok, 2 ok but re-issue under the current key.
 */
static int
tls_ticket_cb(SSL *ssl, uint8_t *name, uint8_t *iv, EVP_CIPHER_CTX *cctx,
    HMAC_CTX *hctx, int encrypt)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const struct tls_ticket_key *k;
	int i;

	if (c == NULL)
		return encrypt ? -1 : 0;
	if (encrypt) {
		k = &c->t->keys[0];
		memcpy(name, k->name, sizeof(k->name));
		if (!RAND_bytes(iv, 16) ||
		    !EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
		    k->aes_key, iv) ||
		    !HMAC_Init_ex(hctx, k->hmac_key, sizeof(k->hmac_key),
		    EVP_sha256(), NULL))
			return -1;
		return 1;
	}
	for (i = 0; i < 2; i++) {
		k = &c->t->keys[i];
		if (!k->valid || CRYPTO_memcmp(name, k->name,
		    sizeof(k->name)) != 0)
			continue;
		if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
		    k->aes_key, iv) ||
		    !HMAC_Init_ex(hctx, k->hmac_key, sizeof(k->hmac_key),
		    EVP_sha256(), NULL))
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/*
 * RFC 7301 3.2: a client that offers ALPN but none of ours is refused
 * (no_application_protocol); one that offers none is fine.  Our order
 * decides.  Both lists are length-prefixed; BoringSSL has checked the
 * client's syntax, and CBS reads it bounds-checked all the same.
 */
static int
tls_alpn_cb(SSL *ssl, const uint8_t **out, uint8_t *outlen,
    const uint8_t *in, unsigned inlen, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	CBS ours, theirs, want, name;

	(void)arg;
	if (c == NULL || c->t->alpn_len == 0)
		return SSL_TLSEXT_ERR_NOACK;
	CBS_init(&ours, c->t->alpn, c->t->alpn_len);
	while (CBS_get_u8_length_prefixed(&ours, &want)) {
		CBS_init(&theirs, in, inlen);
		while (CBS_get_u8_length_prefixed(&theirs, &name)) {
			if (CBS_mem_equal(&name, CBS_data(&want),
			    CBS_len(&want))) {
				*out = CBS_data(&name);
				*outlen = (uint8_t)CBS_len(&name);
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ---- SSL_CTX ------------------------------------------------------- */

static int
tls_check_key(EVP_PKEY *key, char *err, size_t errlen)
{
	const EC_KEY *ec;
	int nid;

	switch (EVP_PKEY_id(key)) {
	case EVP_PKEY_EC:
		ec = EVP_PKEY_get0_EC_KEY(key);
		nid = ec != NULL ?
		    EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
			return 0;
		snprintf(err, errlen, "key: EC curve not accepted "
		    "(P-256 or P-384)");
		return -1;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_bits(key) >= 2048)
			return 0;
		snprintf(err, errlen, "key: RSA key of %d bits (2048 at least)",
		    EVP_PKEY_bits(key));
		return -1;
	default:
		snprintf(err, errlen, "key: type not accepted (EC or RSA)");
		return -1;
	}
}

/* Certificates from PEM text: the first is the leaf when leaf != NULL. */
static int
tls_load_certs(SSL_CTX *ctx, const char *pem, size_t len, bool leaf,
    char *err, size_t errlen)
{
	BIO *bio;
	X509 *x;
	uint32_t e;
	int n = 0, ok = 1;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "certificate: cannot read");
		return -1;
	}
	while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (leaf && n == 0)
			ok = SSL_CTX_use_certificate(ctx, x);
		else
			ok = SSL_CTX_add1_chain_cert(ctx, x);
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	e = ERR_peek_last_error();
	if (ok && ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE && (n > 0 || !leaf)) {
		ERR_clear_error();          /* the normal end of the text */
		return 0;
	}
	if (ok && e == 0 && (n > 0 || !leaf))
		return 0;
	tls_seterr(err, errlen, n == 0 && leaf ? "certificate: none found" :
	    "certificate");
	return -1;
}

static int
tls_load_key(SSL_CTX *ctx, const char *pem, size_t len, char *err,
    size_t errlen)
{
	BIO *bio;
	EVP_PKEY *key;
	int ok;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "key: cannot read");
		return -1;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL) {
		tls_seterr(err, errlen, "key");
		return -1;
	}
	if (tls_check_key(key, err, errlen) != 0) {
		EVP_PKEY_free(key);
		ERR_clear_error();
		return -1;
	}
	ok = SSL_CTX_use_PrivateKey(ctx, key) &&
	    SSL_CTX_check_private_key(ctx);
	EVP_PKEY_free(key);
	if (!ok) {
		tls_seterr(err, errlen, "key does not match the certificate");
		return -1;
	}
	return 0;
}

static SSL_CTX *
tls_ssl_ctx_new(const struct tls_config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int min = c->min_version == 0 ? TLS1_2_VERSION : c->min_version;

	if (min != TLS1_2_VERSION && min != TLS1_3_VERSION) {
		snprintf(err, errlen, "min_version: 1.2 or 1.3");
		return NULL;
	}
	if (c->cert_pem == NULL || c->key_pem == NULL) {
		snprintf(err, errlen, "certificate and key are required");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL) {
		tls_seterr(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, (uint16_t)min) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_strict_cipher_list(ctx, tls12_ciphers) ||
	    !SSL_CTX_set1_curves_list(ctx, tls_groups) ||
	    !SSL_CTX_set_signing_algorithm_prefs(ctx, tls_sigalgs,
	    sizeof(tls_sigalgs) / sizeof(tls_sigalgs[0]))) {
		tls_seterr(err, errlen, "TLS settings");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, TLS_SESSION_LIFETIME_S);
	SSL_CTX_set_session_psk_dhe_timeout(ctx, TLS_SESSION_LIFETIME_S);
	SSL_CTX_set_early_data_enabled(ctx, 0);
	SSL_CTX_set_tlsext_ticket_key_cb(ctx, tls_ticket_cb);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	if (tls_load_certs(ctx, c->cert_pem, c->cert_len, true, err,
	    errlen) != 0 ||
	    (c->chain_pem != NULL && tls_load_certs(ctx, c->chain_pem,
	    c->chain_len, false, err, errlen) != 0) ||
	    tls_load_key(ctx, c->key_pem, c->key_len, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* "a,b" -> wire format (length-prefixed names); -1 if malformed. */
static int
tls_alpn_wire(const char *list, uint8_t *out, size_t *outlen)
{
	size_t n = 0, len;
	const char *p = list, *comma;

	if (list == NULL) {
		*outlen = 0;
		return 0;
	}
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > 255 || n + 1 + len > TLS_ALPN_MAX)
			return -1;
		out[n++] = (uint8_t)len;
		memcpy(out + n, p, len);
		n += len;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*outlen = n;
	return 0;
}

static int
tls_check_alpn(const struct tls_config *c, char *err, size_t errlen)
{
	uint8_t wire[TLS_ALPN_MAX];
	size_t n;

	if (tls_alpn_wire(c->alpn, wire, &n) != 0) {
		snprintf(err, errlen, "alpn: a comma-separated list of names, "
		    "%d bytes at most", TLS_ALPN_MAX);
		return -1;
	}
	return 0;
}

/* Limits and ALPN (checked by tls_check_alpn first). */
static void
tls_ctx_apply_limits(struct tls_ctx *t, const struct tls_config *c)
{
	unsigned rotate = c->ticket_rotate_s ? c->ticket_rotate_s :
	    TLS_DEFAULT_TICKET_ROTATE_S;
	struct timeval tv = { .tv_sec = rotate, .tv_usec = 0 };

	t->max_handshakes = c->max_handshakes ? c->max_handshakes :
	    TLS_DEFAULT_MAX_HANDSHAKES;
	t->rate = c->handshakes_per_s ? c->handshakes_per_s :
	    TLS_DEFAULT_HANDSHAKES_PER_S;
	t->hs_timeout_ms = c->handshake_timeout_ms ? c->handshake_timeout_ms :
	    TLS_DEFAULT_HANDSHAKE_MS;
	t->input_max = c->input_max ? c->input_max : TLS_DEFAULT_INPUT_MAX;
	if (t->tokens > t->rate)
		t->tokens = t->rate;
	(void)tls_alpn_wire(c->alpn, t->alpn, &t->alpn_len);
	if (rotate != t->rotate_s) {
		t->rotate_s = rotate;
		event_add(t->rotate_ev, &tv);
	}
}

/* ---- the BIO: ciphertext straight from/to under's evbuffers ---------- */

static int
tls_bio_read(BIO *bio, char *out, int len)
{
	struct tls_conn *c = BIO_get_data(bio);
	int n;

	BIO_clear_retry_flags(bio);
	if (len <= 0)
		return 0;
	n = evbuffer_remove(bufferevent_get_input(c->under), out, (size_t)len);
	if (n <= 0) {
		BIO_set_retry_read(bio);
		return -1;
	}
	return n;
}

static int
tls_bio_write(BIO *bio, const char *in, int len)
{
	struct tls_conn *c = BIO_get_data(bio);

	BIO_clear_retry_flags(bio);
	if (len <= 0)
		return 0;
	if (evbuffer_add(bufferevent_get_output(c->under), in,
	    (size_t)len) != 0)
		return -1;
	return len;
}

static long
tls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	/* BoringSSL flushes after each flight; the socket does that for us. */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ---- contexts ------------------------------------------------------ */

struct tls_ctx *
tls_ctx_new(struct event_base *base, const struct tls_config *c, char *err,
    size_t errlen)
{
	struct tls_ctx *t;

	if (errlen > 0)
		err[0] = '\0';
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = base;
	t->refs = 1;
	if (tls_check_alpn(c, err, errlen) != 0 ||
	    (t->ssl_ctx = tls_ssl_ctx_new(c, err, errlen)) == NULL)
		goto fail;
	t->bio_method = BIO_meth_new(0, "sluice-evbuffer");
	t->rotate_ev = event_new(base, -1, EV_PERSIST, tls_rotate_cb, t);
	if (t->bio_method == NULL || t->rotate_ev == NULL ||
	    !BIO_meth_set_read(t->bio_method, tls_bio_read) ||
	    !BIO_meth_set_write(t->bio_method, tls_bio_write) ||
	    !BIO_meth_set_ctrl(t->bio_method, tls_bio_ctrl)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tls_ticket_key_new(&t->keys[0]) != 0) {
		tls_seterr(err, errlen, "ticket key");
		goto fail;
	}
	tls_ctx_apply_limits(t, c);
	t->tokens = t->rate;
	clock_gettime(CLOCK_MONOTONIC, &t->refill);
	return t;
fail:
	if (t->rotate_ev != NULL)
		event_free(t->rotate_ev);
	t->rotate_ev = NULL;
	t->refs = 0;
	SSL_CTX_free(t->ssl_ctx);
	BIO_meth_free(t->bio_method);
	OPENSSL_cleanse(t->keys, sizeof(t->keys));
	free(t);
	return NULL;
}

static void
tls_ctx_unref(struct tls_ctx *t)
{
	if (--t->refs > 0)
		return;
	SSL_CTX_free(t->ssl_ctx);
	BIO_meth_free(t->bio_method);
	OPENSSL_cleanse(t->keys, sizeof(t->keys));
	free(t);
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	if (t->rotate_ev != NULL)
		event_free(t->rotate_ev);
	t->rotate_ev = NULL;
	tls_ctx_unref(t);
}

int
tls_ctx_set_cert(struct tls_ctx *t, const struct tls_config *c, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	if (errlen > 0)
		err[0] = '\0';
	if (tls_check_alpn(c, err, errlen) != 0 ||
	    (ctx = tls_ssl_ctx_new(c, err, errlen)) == NULL)
		return -1;
	tls_ctx_apply_limits(t, c);
	/* Live SSLs hold their own reference to the old SSL_CTX. */
	SSL_CTX_free(t->ssl_ctx);
	t->ssl_ctx = ctx;
	return 0;
}

/* ---- admission ------------------------------------------------------ */

enum tls_admit { TLS_ADMIT_OK, TLS_ADMIT_BUSY, TLS_ADMIT_RATE };

static enum tls_admit
tls_admit(struct tls_ctx *t)
{
	struct timespec now;
	double dt;

	if (t->hs_active >= t->max_handshakes)
		return TLS_ADMIT_BUSY;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - t->refill.tv_sec) +
	    (double)(now.tv_nsec - t->refill.tv_nsec) / 1e9;
	t->refill = now;
	if (dt > 0)
		t->tokens += dt * t->rate;
	if (t->tokens > t->rate)
		t->tokens = t->rate;
	if (t->tokens < 1.0)
		return TLS_ADMIT_RATE;
	t->tokens -= 1.0;
	return TLS_ADMIT_OK;
}

static void
tls_slot_release(struct tls_conn *c)
{
	if (!c->slot)
		return;
	c->slot = false;
	c->t->hs_active--;
}

/* ---- connection plumbing -------------------------------------------- */

/*
 * The filter is gone once its refcount reached zero: its unlink then
 * freed under, which cleared under's callbacks.  Our events may still
 * fire before the finalizer frees them and us.
 */
static bool
tls_conn_dead(struct tls_conn *c)
{
	bufferevent_data_cb rcb = NULL;

	if (c->dead)
		return true;
	bufferevent_getcb(c->under, &rcb, NULL, NULL, NULL);
	if (rcb != tls_under_read)
		c->dead = true;
	return c->dead;
}

/* The owner freed the filter (its callbacks are cleared) but a
 * reference of ours keeps it alive for the moment. */
static bool
tls_owner_gone(struct tls_conn *c)
{
	bufferevent_data_cb r = NULL, w = NULL;
	bufferevent_event_cb e = NULL;

	bufferevent_getcb(c->bev, &r, &w, &e, NULL);
	return r == NULL && w == NULL && e == NULL;
}

static void
tls_hold(struct tls_conn *c)
{
	bufferevent_incref(c->bev);
}

static void
tls_release(struct tls_conn *c)
{
	if (bufferevent_decref(c->bev) == 1) {
		/* Memory stays until the finalizer calls tls_conn_free. */
		c->dead = true;
		event_del(c->kick);
		event_del(c->timer);
	}
}

/* Tell the owner `what` from the kick, after the ciphertext has left. */
static void
tls_report(struct tls_conn *c, short what, bool now)
{
	if (c->report != 0)
		return;
	c->report = what;
	c->report_now = now;
	if (now || evbuffer_get_length(bufferevent_get_output(c->under)) == 0)
		event_active(c->kick, EV_TIMEOUT, 1);
	else {
		/* It leaves with the socket's next write; don't wait forever. */
		struct timeval tv = { 0, TLS_ALERT_WAIT_MS * 1000 };

		event_add(c->timer, &tv);
	}
}

static void
tls_fail(struct tls_conn *c, const char *what)
{
	if (c->state == TLS_ST_FAILED || c->state == TLS_ST_REFUSED)
		return;
	if (c->state == TLS_ST_HANDSHAKE)
		c->t->st.failed++;
	else
		c->t->st.errors++;
	tls_log_failure(c, what);
	ERR_clear_error();
	tls_slot_release(c);
	c->state = TLS_ST_FAILED;
	/* Nothing more from this peer; the alert (if any) still goes out. */
	bufferevent_disable(c->under, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->under),
	    evbuffer_get_length(bufferevent_get_input(c->under)));
	event_del(c->timer);
	tls_report(c, BEV_EVENT_READING | BEV_EVENT_ERROR, false);
}

static void
tls_handshake(struct tls_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r != 1) {
		if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
			tls_fail(c, "handshake failed");
		return;
	}
	c->state = TLS_ST_OPEN;
	tls_slot_release(c);
	event_del(c->timer);
	c->t->st.done++;
	if (SSL_session_reused(c->ssl))
		c->t->st.resumed++;
	if (SSL_version(c->ssl) == TLS1_3_VERSION)
		c->t->st.tls13++;
	else
		c->t->st.tls12++;
	/* Plaintext the owner queued meanwhile can go now. */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		event_active(c->kick, EV_TIMEOUT, 1);
}

/* ---- filter callbacks: plaintext <-> SSL ------------------------------ */

static enum bufferevent_filter_result
tls_filter_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tls_conn *c = arg;
	struct evbuffer_iovec v;
	size_t produced = 0, want;
	int r;

	(void)src;      /* == under's input, which the BIO reads */
	(void)mode;
	while (c->state == TLS_ST_OPEN) {
		want = TLS_RECORD_MAX;
		if (lim >= 0) {
			if (produced >= (size_t)lim)
				break;
			if (want > (size_t)lim - produced)
				want = (size_t)lim - produced;
		}
		if (evbuffer_reserve_space(dst, (ev_ssize_t)want, &v, 1) < 1) {
			tls_fail(c, "out of memory");
			break;
		}
		if (v.iov_len > want)
			v.iov_len = want;
		r = SSL_read(c->ssl, v.iov_base, (int)v.iov_len);
		if (r > 0) {
			v.iov_len = (size_t)r;
			evbuffer_commit_space(dst, &v, 1);
			produced += (size_t)r;
			continue;
		}
		evbuffer_commit_space(dst, &v, 0);
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_ZERO_RETURN:
			/* close_notify: EOF after the plaintext before it. */
			c->state = TLS_ST_CLOSED;
			tls_report(c, BEV_EVENT_READING | BEV_EVENT_EOF, true);
			break;
		default:
			tls_fail(c, "read failed");
			break;
		}
		break;
	}
	/* BEV_OK makes the filter loop ask again; it ends on NEED_MORE. */
	return produced > 0 ? BEV_OK : BEV_NEED_MORE;
}

/*
 * Encrypt the first n bytes of src into under's output, leaving src as
 * is.  Copied out a record's worth at a time: evhttp's output is many
 * small chains, and one SSL_write per chain would mean one small record
 * each.
 */
static int
tls_encrypt(struct tls_conn *c, struct evbuffer *src, size_t n)
{
	uint8_t rec[TLS_RECORD_MAX];
	struct evbuffer_ptr pos;
	size_t done, len;

	for (done = 0; done < n; done += len) {
		len = n - done < sizeof(rec) ? n - done : sizeof(rec);
		if (evbuffer_ptr_set(src, &pos, done, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(src, &pos, rec, len) !=
		    (ev_ssize_t)len ||
		    SSL_write(c->ssl, rec, (int)len) != (int)len)
			return -1;
	}
	return 0;
}

static enum bufferevent_filter_result
tls_filter_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct tls_conn *c = arg;
	bool progress = false;
	size_t n;

	(void)lim;
	(void)mode;
	if ((c->state != TLS_ST_OPEN && c->state != TLS_ST_CLOSED) || c->shut)
		return BEV_NEED_MORE;
	/* Bug 2: the batch before is not in the kernel yet. */
	if (evbuffer_get_length(dst) > 0)
		return BEV_NEED_MORE;
	if (c->inflight > 0) {
		c->draining = true;
		evbuffer_drain(src, c->inflight);
		c->draining = false;
		c->inflight = 0;
		progress = true;
	}
	n = evbuffer_get_length(src);
	if (n > TLS_WRITE_BATCH)
		n = TLS_WRITE_BATCH;
	if (n > 0) {
		if (tls_encrypt(c, src, n) != 0) {
			tls_fail(c, "write failed");
			return BEV_ERROR;
		}
		c->inflight = n;
	}
	return progress ? BEV_OK : BEV_NEED_MORE;
}

/* ---- evbuffer callbacks on the owner's side --------------------------- */

static void
tls_outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tls_conn *c = arg;

	(void)buf;
	/* Someone else took bytes off the head: they were ours in flight. */
	if (info->n_deleted > 0 && !c->draining)
		c->inflight = info->n_deleted >= c->inflight ? 0 :
		    c->inflight - info->n_deleted;
	/* Bug 1: queued while writing was disabled; flush after enable. */
	if (info->n_added > 0 && c->state == TLS_ST_OPEN)
		event_active(c->kick, EV_TIMEOUT, 1);
}

static void
tls_inbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tls_conn *c = arg;

	(void)buf;
	/*
	 * The reader made room below the high watermark: ciphertext that
	 * waited in under's input (or a record half-read by SSL) gets no
	 * new read event, so go and decrypt it.
	 */
	if (info->n_deleted > 0 && c->state == TLS_ST_OPEN &&
	    (evbuffer_get_length(bufferevent_get_input(c->under)) > 0 ||
	    SSL_has_pending(c->ssl)))
		event_active(c->kick, EV_TIMEOUT, 1);
}

/* ---- under's callbacks, wrapped (bug 3) ------------------------------- */

static void
tls_under_read(struct bufferevent *under, void *arg)
{
	struct tls_conn *c = arg;

	tls_hold(c);
	if (c->state == TLS_ST_HANDSHAKE)
		tls_handshake(c);
	if (c->state == TLS_ST_OPEN)
		c->under_read(under, c->under_arg);
	else if (c->state != TLS_ST_HANDSHAKE)
		evbuffer_drain(bufferevent_get_input(under),
		    evbuffer_get_length(bufferevent_get_input(under)));
	tls_release(c);
}

static void
tls_under_write(struct bufferevent *under, void *arg)
{
	struct tls_conn *c = arg;

	tls_hold(c);
	c->under_write(under, c->under_arg);
	if (!c->dead && c->report != 0 && !c->reported &&
	    evbuffer_get_length(bufferevent_get_output(under)) == 0)
		event_active(c->kick, EV_TIMEOUT, 1);
	tls_release(c);
}

static void
tls_under_event(struct bufferevent *under, short what, void *arg)
{
	struct tls_conn *c = arg;

	tls_hold(c);
	if (c->state == TLS_ST_HANDSHAKE) {
		c->t->st.aborted++;
		tls_slot_release(c);
		event_del(c->timer);
		c->state = TLS_ST_FAILED;
	}
	if (!c->reported) {
		/* A socket error ends any wait for an alert to leave. */
		c->reported = true;
		c->under_event(under, what, c->under_arg);
	}
	tls_release(c);
}

/* ---- our events --------------------------------------------------------- */

static void
tls_kick_run(struct tls_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t before;
	short en;

	if (c->report != 0 && !c->reported) {
		if (!c->report_now &&
		    evbuffer_get_length(bufferevent_get_output(c->under)) > 0)
			return;
		c->reported = true;
		bufferevent_trigger_event(c->bev, c->report, 0);
		return;
	}
	if ((c->state != TLS_ST_OPEN && c->state != TLS_ST_CLOSED) ||
	    tls_owner_gone(c))
		return;
	en = bufferevent_get_enabled(c->bev);
	if ((en & EV_WRITE) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
	if (c->state != TLS_ST_OPEN || tls_owner_gone(c) || !(en & EV_READ))
		return;
	if (evbuffer_get_length(bufferevent_get_input(c->under)) > 0 ||
	    SSL_has_pending(c->ssl)) {
		before = evbuffer_get_length(in);
		bufferevent_flush(c->bev, EV_READ, BEV_NORMAL);
		if (evbuffer_get_length(in) > before && !tls_owner_gone(c))
			bufferevent_trigger(c->bev, EV_READ, 0);
	}
}

static void
tls_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;

	(void)fd;
	(void)what;
	if (tls_conn_dead(c))
		return;
	tls_hold(c);
	tls_kick_run(c);
	tls_release(c);
}

static void
tls_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;

	(void)fd;
	(void)what;
	if (tls_conn_dead(c))
		return;
	tls_hold(c);
	if (c->state == TLS_ST_HANDSHAKE) {
		c->t->st.timed_out++;
		tls_log_failure(c, "handshake timed out");
		tls_slot_release(c);
		c->state = TLS_ST_FAILED;
		bufferevent_disable(c->under, EV_READ);
		tls_report(c, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, true);
	} else if (c->report != 0 && !c->reported) {
		c->report_now = true;   /* the alert did not leave in time */
		tls_kick_run(c);
	}
	tls_release(c);
}

/* free_context of the filter: runs from its finalizer. */
static void
tls_conn_free(void *arg)
{
	struct tls_conn *c = arg;
	struct tls_ctx *t = c->t;

	c->dead = true;
	if (c->on_free != NULL)
		c->on_free(c->on_free_arg);
	if (c->kick != NULL)
		event_free(c->kick);
	if (c->timer != NULL)
		event_free(c->timer);
	tls_slot_release(c);
	SSL_free(c->ssl);
	t->live--;
	free(c);
	tls_ctx_unref(t);
}

/* ---- public ------------------------------------------------------------ */

static int
tls_conn_start(struct tls_conn *c, enum tls_admit admit)
{
	struct tls_ctx *t = c->t;
	struct timeval tv;
	BIO *bio;

	if (admit != TLS_ADMIT_OK) {
		if (admit == TLS_ADMIT_BUSY)
			t->st.refused_busy++;
		else
			t->st.refused_rate++;
		c->state = TLS_ST_REFUSED;
		tls_report(c, BEV_EVENT_READING | BEV_EVENT_ERROR, true);
		return 0;
	}
	if ((c->ssl = SSL_new(t->ssl_ctx)) == NULL ||
	    (bio = BIO_new(t->bio_method)) == NULL)
		return -1;
	BIO_set_data(bio, c);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio);  /* one reference for both */
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	/* Certificate and settings are not needed after the handshake. */
	SSL_set_shed_handshake_config(c->ssl, 1);
	c->slot = true;
	t->hs_active++;
	tv.tv_sec = t->hs_timeout_ms / 1000;
	tv.tv_usec = (t->hs_timeout_ms % 1000) * 1000;
	event_add(c->timer, &tv);
	return 0;
}

struct bufferevent *
tls_bufferevent_new(struct tls_ctx *t, int fd)
{
	enum tls_admit admit = tls_admit(t);
	struct bufferevent *under, *bev;
	struct tls_conn *c;

	if (admit != TLS_ADMIT_OK && fd >= 0) {
		if (admit == TLS_ADMIT_BUSY)
			t->st.refused_busy++;
		else
			t->st.refused_rate++;
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if ((under = bufferevent_socket_new(t->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (fd >= 0)
			close(fd);
		free(c);
		return NULL;
	}
	bev = bufferevent_filter_new(under, tls_filter_in, tls_filter_out,
	    BEV_OPT_CLOSE_ON_FREE, tls_conn_free, c);
	if (bev == NULL) {
		bufferevent_free(under);        /* closes fd */
		free(c);
		return NULL;
	}
	/* From here on the filter owns c: bufferevent_free(bev) cleans up. */
	c->t = t;
	c->bev = bev;
	c->under = under;
	t->refs++;
	t->live++;
	bufferevent_getcb(under, &c->under_read, &c->under_write,
	    &c->under_event, &c->under_arg);
	bufferevent_setcb(under, tls_under_read, tls_under_write,
	    tls_under_event, c);
	c->kick = event_new(t->base, -1, 0, tls_kick_cb, c);
	c->timer = evtimer_new(t->base, tls_timer_cb, c);
	if (c->kick == NULL || c->timer == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(bev), tls_outbuf_cb,
	    c) == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(bev), tls_inbuf_cb,
	    c) == NULL)
		goto fail;
	bufferevent_setwatermark(bev, EV_READ, 0, t->input_max);
	if (tls_conn_start(c, admit) != 0)
		goto fail;
	return bev;
fail:
	bufferevent_free(bev);
	return NULL;
}

struct bufferevent *
tls_evhttp_bevcb(struct event_base *base, void *tls_ctx)
{
	(void)base;
	return tls_bufferevent_new(tls_ctx, -1);
}

static struct tls_conn *
tls_conn_of(struct bufferevent *bev)
{
	struct bufferevent *under;
	bufferevent_data_cb rcb = NULL;
	void *arg = NULL;

	if (bev == NULL || (under = bufferevent_get_underlying(bev)) == NULL)
		return NULL;
	bufferevent_getcb(under, &rcb, NULL, NULL, &arg);
	return rcb == tls_under_read ? arg : NULL;
}

void
tls_bufferevent_close_notify(struct bufferevent *bev)
{
	struct tls_conn *c = tls_conn_of(bev);
	struct evbuffer *out;
	int fd;

	if (c == NULL || (c->state != TLS_ST_OPEN &&
	    c->state != TLS_ST_CLOSED) || c->shut || c->inflight > 0 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	out = bufferevent_get_output(c->under);
	if (evbuffer_get_length(out) > 0)
		return;         /* ciphertext still waiting: reply incomplete */
	c->shut = true;
	if (SSL_shutdown(c->ssl) < 0) {
		ERR_clear_error();
		return;
	}
	/* The caller shuts the socket down right after us: write now. */
	if ((fd = bufferevent_getfd(c->under)) >= 0) {
		/* A socket bufferevent freezes its output's start between
		 * its own writes. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
}

void
tls_bufferevent_on_free(struct bufferevent *bev, void (*fn)(void *),
    void *arg)
{
	struct tls_conn *c = tls_conn_of(bev);

	if (c != NULL) {
		c->on_free = fn;
		c->on_free_arg = arg;
	}
}

json_t *
tls_stats(const struct tls_ctx *t)
{
	const struct tls_counters *s = &t->st;

	return json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
	    "s:I,s:I,s:I,s:I,s:I,s:I}",
	    "handshakes",
	    "done", (json_int_t)s->done,
	    "failed", (json_int_t)s->failed,
	    "aborted", (json_int_t)s->aborted,
	    "timed_out", (json_int_t)s->timed_out,
	    "refused_busy", (json_int_t)s->refused_busy,
	    "refused_rate", (json_int_t)s->refused_rate,
	    "in_progress", (json_int_t)t->hs_active,
	    "resumed", (json_int_t)s->resumed,
	    "tls1_2", (json_int_t)s->tls12,
	    "tls1_3", (json_int_t)s->tls13,
	    "errors", (json_int_t)s->errors,
	    "connections", (json_int_t)t->live,
	    "ticket_rotations", (json_int_t)s->rotations);
}
