/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls.h - server-side TLS as a libevent bufferevent (BoringSSL), for the
 * HTTPS console on evhttp (evhttp_set_bevcb) and anything else on the
 * engine's loop that speaks TLS.  The only file that includes BoringSSL
 * besides keygen.c; callers never see an SSL object.
 *
 * Settings (fixed, not configurable beyond min_version):
 *   - TLS 1.2 and 1.3 only (SSLv3, TLS 1.0, 1.1 are refused with a
 *     protocol_version alert); min_version may raise the floor to 1.3.
 *   - TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only, server
 *     preference, AES-GCM and ChaCha20 of equal rank (the client picks
 *     between them, so clients without AES hardware get ChaCha20):
 *     ECDHE-{ECDSA,RSA}-AES128-GCM-SHA256, -CHACHA20-POLY1305,
 *     -AES256-GCM-SHA384.  TLS 1.3 suites are BoringSSL's fixed three.
 *   - Groups X25519, P-256, P-384.  Signatures: ECDSA P-256/P-384 with
 *     SHA-256/384, RSA-PSS and PKCS#1 v1.5 with SHA-2; never SHA-1.
 *   - Keys: EC P-256/P-384 or RSA of 2048 bits and more.
 *   - No renegotiation: a BoringSSL server rejects every renegotiation
 *     attempt (no_renegotiation alert).  No compression: BoringSSL has
 *     none.  No 0-RTT (early data stays off: it is replayable).  No
 *     server-side session cache (memory a client could fill).
 *   - Session tickets ON, with our own keys (AES-256-CBC + HMAC-SHA-256,
 *     RFC 5077 format) from RAND_bytes, rotated by a timer every
 *     ticket_rotate_s (12 h by default); the previous key still decrypts
 *     (and the ticket is then re-issued under the current key), so a
 *     ticket key lives at most two periods and a session at most 2 h.
 *     The keys belong to the tls_ctx, not to an SSL_CTX, so a
 *     certificate change keeps resumption working.
 *   - ALPN: when alpn is set, a client that offers ALPN but none of
 *     those protocols is refused with no_application_protocol (RFC 7301
 *     3.2; guards against cross-protocol attacks such as ALPACA).
 *   - Fatal TLS errors: BoringSSL's alert is written first, the error
 *     event (BEV_EVENT_READING|BEV_EVENT_ERROR) is reported to the
 *     bufferevent's owner only once the alert reached the kernel (at
 *     most 1 s later), never from inside the TLS call.
 *
 * Admission: every new connection needs a handshake slot (at most
 * max_handshakes at once) and a token (bucket of handshakes_per_s per
 * second, burst of the same size).  A connection that gets neither is
 * closed at once, before any TLS work.  A handshake that does not finish
 * within handshake_timeout_ms is closed (BEV_EVENT_TIMEOUT), so clients
 * that connect and never send a ClientHello cannot hold the slots.
 *
 * libevent 2.1.12 bugs on this path (see DEPENDENCIES.md), all handled
 * inside: (1) output queued while writing was disabled is flushed when
 * writing is re-enabled; (2) plaintext leaves the output buffer only once
 * its ciphertext has reached the kernel, so evhttp's shutdown() after a
 * Connection: close / HTTP/1.0 reply never truncates it; (3) the owner
 * may free the bufferevent from inside any of its callbacks.
 *
 * Not thread-safe: the engine's loop is the only user.
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stddef.h>

#include <jansson.h>

/* Protocol versions as on the wire (same values as BoringSSL's
 * TLS1_2_VERSION / TLS1_3_VERSION). */
#define TLS_VERSION_1_2 0x0303
#define TLS_VERSION_1_3 0x0304

#define TLS_DEFAULT_MAX_HANDSHAKES   64
#define TLS_DEFAULT_HANDSHAKES_PER_S 200
#define TLS_DEFAULT_HANDSHAKE_MS     10000        /* 10 s */
#define TLS_DEFAULT_INPUT_MAX        (1024 * 1024)
#define TLS_DEFAULT_TICKET_ROTATE_S  (12 * 3600)
#define TLS_SESSION_LIFETIME_S       (2 * 3600)

struct event_base;
struct bufferevent;
struct tls_ctx;

struct tls_config {
	int min_version;            /* TLS_VERSION_1_2 or _1_3; 0 = 1.2 */
	/*
	 * PEM text, not NUL-terminated necessarily; read during the call
	 * only (the caller keeps ownership and wipes the key).  cert_pem
	 * holds the leaf certificate, optionally followed by its chain;
	 * chain_pem (may be NULL) holds more intermediates.
	 */
	const char *cert_pem, *key_pem, *chain_pem;
	size_t cert_len, key_len, chain_len;
	/* ALPN names in our order, comma-separated ("http/1.1,http/1.0"
	 * for evhttp); NULL: ALPN not negotiated. */
	const char *alpn;
	/* 0 means the TLS_DEFAULT_* value for each of these. */
	unsigned max_handshakes;    /* concurrent; beyond: closed at once */
	unsigned handshakes_per_s;  /* token bucket; beyond: closed at once */
	unsigned handshake_timeout_ms;
	/*
	 * Plaintext buffered for the reader before reading from the socket
	 * pauses (a read high watermark on the bufferevent).  evhttp keeps
	 * a Content-Length body in the input buffer until it is complete,
	 * so this must exceed the console's max headers + max body.
	 */
	size_t input_max;
	unsigned ticket_rotate_s;
};

/*
 * Load the certificate and key (and chain), check that they match and
 * that the key is one this product accepts, build the TLS settings
 * above and start the ticket key timer on base.  NULL on failure with a
 * reason in err (errlen bytes, always NUL-terminated when errlen > 0;
 * never contains key material).
 */
struct tls_ctx *tls_ctx_new(struct event_base *base,
    const struct tls_config *c, char *err, size_t errlen);

/*
 * Stop the timer and drop the owner's reference.  Live connections keep
 * the context (and their SSL_CTX) until they are freed, so this may be
 * called before or after freeing them; the bufferevents must still be
 * freed before event_base_free() finishes.  tls_ctx_free(NULL) is fine.
 */
void tls_ctx_free(struct tls_ctx *t);

/*
 * Replace the certificate/key/chain, min_version and alpn (a new
 * SSL_CTX) and the limits, all or nothing.  New connections use the new
 * certificate; live ones keep the one they started with (each holds a
 * reference to its SSL_CTX).  Ticket keys are kept.  0, or -1 with a
 * reason in err and nothing changed.
 */
int tls_ctx_set_cert(struct tls_ctx *t, const struct tls_config *c,
    char *err, size_t errlen);

/* Rotate the ticket keys now (the timer does it every ticket_rotate_s). */
void tls_ctx_rotate_tickets(struct tls_ctx *t);

/*
 * A server-side TLS bufferevent (a filter over a socket bufferevent,
 * both BEV_OPT_CLOSE_ON_FREE) over fd, which it owns from now on.  The
 * caller sets callbacks and enables it like any bufferevent; the
 * handshake runs by itself and the callbacks see plaintext only.  It
 * comes with a read high watermark of input_max (keep one: it is the
 * cap on what a peer can make us buffer).  The caller may free it from
 * inside any of its callbacks.
 *
 * fd >= 0: NULL when admission refused it or on allocation failure, fd
 * closed in both cases.
 * fd == -1 (evhttp_set_bevcb, which calls bufferevent_setfd() itself
 * afterwards): never NULL unless out of memory; a refused connection
 * gets a bufferevent that reports BEV_EVENT_ERROR on the next loop
 * pass, and evhttp closes it.  Beware: when a bevcb returns NULL, evhttp
 * 2.1 falls back to a plain socket (it would then answer the
 * ClientHello with "400 Bad Request" in clear text).
 */
struct bufferevent *tls_bufferevent_new(struct tls_ctx *t, int fd);

/* evhttp_set_bevcb(http, tls_evhttp_bevcb, tls_ctx). */
struct bufferevent *tls_evhttp_bevcb(struct event_base *base, void *tls_ctx);

/*
 * Send close_notify now, if and only if everything the owner wrote has
 * reached the kernel (a truncated reply must not look complete), and
 * push it to the socket at once.  For evhttp's connection close
 * callback (evhttp_connection_set_closecb), which runs just before
 * evhttp shuts the socket down: HTTP/1.0 replies without
 * Content-Length end at the close, and close_notify is what lets the
 * client tell that from a truncation.  Best effort (a full socket
 * buffer drops it); a no-op on a bufferevent that is not ours.
 */
void tls_bufferevent_close_notify(struct bufferevent *bev);

/*
 * Call fn(arg) when bev is finally freed (evhttp frees its bufferevents
 * without telling anyone); a no-op on a bufferevent that is not ours.
 */
void tls_bufferevent_on_free(struct bufferevent *bev, void (*fn)(void *),
    void *arg);

/*
 * Counters for status, a new object:
 * {"handshakes": {"done", "failed", "aborted", "timed_out",
 *   "refused_busy", "refused_rate", "in_progress"},
 *  "resumed", "tls1_2", "tls1_3", "errors", "connections",
 *  "ticket_rotations"}
 * failed: TLS-level errors during the handshake (bad version, no
 * shared cipher or group, garbage); aborted: the peer closed during the
 * handshake; errors: fatal TLS errors after it.  NULL when out of memory.
 */
json_t *tls_stats(const struct tls_ctx *t);

#endif
