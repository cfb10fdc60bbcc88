/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * certs.h - the console's certificate (guide 3.2, HTTPS and SSL
 * Certificates): a self-signed certificate from a key the monitor made
 * (keygen.h), a CSR for an organisation's or a public CA, and the checks
 * an imported certificate, key and chain must pass before the TLS layer
 * (tls.h) gets them.
 *
 * A pure module: PEM bytes in, PEM bytes or a struct out.  No event loop,
 * no files, no logging, no clock of its own (every call that depends on
 * time takes `now`, wall-clock seconds, so tests run on a fixed time).
 * Signing an RSA-4096 certificate takes milliseconds: call it from the
 * monitor or a request handler that may take that long, not in a loop.
 *
 * What it does better than the guide's vendor (1024-bit RSA, self-signed):
 *   - keys: EC P-256 (keygen's default) or P-384, RSA of at least
 *     rsa_min_bits (never below 2048) and at most 8192; anything else,
 *     encrypted keys, and PEM with more than one key are refused;
 *   - self-signed: a v3 certificate a browser can accept by exception:
 *     SAN (the common name is always in it, browsers ignore the CN),
 *     basicConstraints CA:FALSE (critical), keyUsage digitalSignature
 *     (+ keyEncipherment for RSA; critical), extendedKeyUsage serverAuth,
 *     subjectKeyIdentifier (RFC 5280 4.2.1.2 method 1), a positive
 *     16-byte random serial (126 random bits), SHA-256 (SHA-384 for a
 *     P-384 key), 397 days by default and at most 825;
 *   - no certificate is made while the clock is obviously unset (before
 *     CERTS_CLOCK_MIN): one made at boot on a device without a battery
 *     would be expired for every client (the guide's step 2, NTP first);
 *   - import: the key must match the certificate, the certificate must
 *     be valid now, signed with SHA-256 or better, allowed for TLS
 *     servers by its keyUsage/extendedKeyUsage, and the chain must be in
 *     order, every link verified, every link a CA, none expired.
 *
 * Numbering in messages: "certificate 1 of the chain" is the server
 * certificate, 2 the certificate that should have signed it, and so on
 * (the order a TLS server sends them, RFC 8446 4.4.2).  "block N" is the
 * N-th PEM block of one input.  Every error says what and where, e.g.
 * "key is RSA 1024 bits (expected at least 2048)".
 *
 * Errors: functions take err/errlen; on failure err holds one line (always
 * NUL-terminated when errlen > 0, CERTS_ERR_MAX is enough) that never
 * contains key material; errno is EINVAL for input that is refused and
 * ENOMEM when out of memory.  Names and strings from certificates appear
 * escaped (RFC 4514, printable ASCII only) and truncated.  Out-parameters
 * are untouched on failure.
 *
 * Ownership: PEM inputs are read during the call only, need not be
 * NUL-terminated, and may hold text around the PEM blocks; the caller
 * keeps and wipes its key.  PEM outputs are new NUL-terminated buffers
 * the caller free()s (certificates and CSRs hold no secret).
 */
#ifndef SLUICE_CERTS_H
#define SLUICE_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define CERTS_DAYS_DEFAULT   397    /* CA/Browser Forum BR limit since 2020 */
#define CERTS_DAYS_MAX       825    /* the older BR limit; Apple's too */
#define CERTS_RSA_MIN_BITS   2048   /* floor of every rsa_min_bits */
#define CERTS_RSA_MAX_BITS   8192   /* every handshake signs with the key */
#define CERTS_EXPIRY_WARN_DAYS 30
/* notBefore is this long before `now`, so a client whose clock is a bit
 * behind does not see a fresh certificate as not yet valid.  notAfter is
 * notBefore + days * 86400 - 1: the validity period (inclusive, RFC 5280
 * 4.1.2.5) is exactly `days` days. */
#define CERTS_BACKDATE_S     3600
/* 2025-01-01T00:00:00Z: a clock before this is taken as unset. */
#define CERTS_CLOCK_MIN      ((time_t)1735689600)

#define CERTS_PEM_MAX        (256 * 1024)  /* bytes of each PEM input */
#define CERTS_CHAIN_MAX      10     /* certificates, server one included */
#define CERTS_SAN_MAX        64     /* names in a request, and listed */
#define CERTS_CN_MAX         64     /* bytes, X.520 ub-common-name */
#define CERTS_DNS_MAX        253    /* bytes of a DNS name (RFC 1035) */
#define CERTS_ERR_MAX        512
#define CERTS_NAME_TEXT      256    /* subject/issuer text, with NUL */
#define CERTS_SAN_TEXT       (CERTS_DNS_MAX + 1)
#define CERTS_FPR_TEXT       (32 * 3)   /* "AB:CD:...", with NUL */
#define CERTS_SERIAL_TEXT    66     /* hex of up to 32 bytes, '-', NUL */
#define CERTS_TIME_TEXT      21     /* "2026-11-27T04:00:00Z" + NUL */

/*
 * What to sign: a self-signed certificate or a CSR.  common_name is the
 * console's host name (or an IP address literal) and is also put in the
 * SAN; sans are more DNS names (letters, digits, '-'; a leading "*."
 * label for a wildcard; lower-cased) or IPv4/IPv6 addresses, at most
 * CERTS_SAN_MAX; duplicates are dropped.
 */
struct certs_request {
	const char *key_pem;        /* PKCS#8, or RSA/EC PRIVATE KEY */
	size_t key_len;
	const char *common_name;    /* 1..CERTS_CN_MAX bytes */
	const char *const *sans;    /* may be NULL when n_sans is 0 */
	size_t n_sans;
	unsigned rsa_min_bits;      /* 0 = CERTS_RSA_MIN_BITS */
	/* Self-signed only (a CA sets the validity of what it signs). */
	unsigned days;              /* 0 = CERTS_DAYS_DEFAULT; max _MAX */
	time_t now;                 /* wall clock, >= CERTS_CLOCK_MIN */
};

/* A self-signed certificate for r's key, as PEM in *pem (*len bytes,
 * not counting the NUL). 0, or -1 with err. */
int certs_self_signed(const struct certs_request *r, char **pem,
    size_t *len, char *err, size_t errlen);

/* A PKCS#10 CSR (RFC 2986) signed by r's key: subject CN=common_name and
 * an extensionRequest for the SAN.  days and now are ignored.  0, or -1
 * with err. */
int certs_csr(const struct certs_request *r, char **pem, size_t *len,
    char *err, size_t errlen);

/* An imported certificate, key and chain, for certs_import(). */
struct certs_input {
	/* The server certificate first, optionally followed by its chain. */
	const char *cert_pem;
	size_t cert_len;
	const char *key_pem;        /* exactly one unencrypted private key */
	size_t key_len;
	/* More of the chain after cert_pem's (none when chain_len is 0):
	 * each certificate followed by the one that signed it; the root
	 * may be left out. */
	const char *chain_pem;
	size_t chain_len;
	unsigned rsa_min_bits;      /* 0 = CERTS_RSA_MIN_BITS */
	time_t now;                 /* wall clock */
};

enum certs_key_type {
	CERTS_KEY_OTHER = 0,        /* only from certs_inspect() */
	CERTS_KEY_EC = 1,
	CERTS_KEY_RSA = 2,
};

enum certs_san_type {
	CERTS_SAN_DNS = 1,
	CERTS_SAN_IP = 2,
};

struct certs_san {
	enum certs_san_type type;
	/* A DNS name as in the certificate (bytes outside printable ASCII
	 * shown as '?'), or an address as inet_ntop() writes it. */
	char value[CERTS_SAN_TEXT];
};

/* Warnings: accepted, but worth showing. */
#define CERTS_WARN_NO_SAN   0x1  /* browsers ignore the CN: name mismatch */
#define CERTS_WARN_CA_LEAF  0x2  /* the server certificate says CA:TRUE */

/* What status and the API show about a certificate (and its chain). */
struct certs_info {
	char subject[CERTS_NAME_TEXT];  /* RFC 4514, e.g. "CN=gw,O=Acme" */
	char issuer[CERTS_NAME_TEXT];
	char serial[CERTS_SERIAL_TEXT]; /* upper-case hex, no colons */
	char sig_alg[48];               /* "ecdsa-with-SHA256", ... */
	char fingerprint[CERTS_FPR_TEXT]; /* SHA-256 of the DER: "AB:CD:.." */
	time_t not_before, not_after;
	enum certs_key_type key_type;
	unsigned key_bits;              /* RSA modulus, EC group order */
	char key_text[24];              /* "EC P-256", "RSA 2048", "Ed25519" */
	struct certs_san sans[CERTS_SAN_MAX];   /* DNS and IP names only */
	size_t n_sans;
	bool sans_truncated;            /* more than CERTS_SAN_MAX */
	bool self_signed;               /* issuer = subject, own signature */
	unsigned chain_len;             /* certificates after the server's */
	time_t chain_not_after;         /* earliest in the chain; 0: none */
	unsigned warnings;              /* CERTS_WARN_* */
};

/*
 * Check an imported certificate, key and chain (see the top of this
 * file) and describe them.  A new struct, or NULL with err; free with
 * certs_info_free().  Each check failing says which one, e.g. "key does
 * not match the certificate's public key (certificate: EC P-256, key:
 * RSA 2048)" or "certificate 2 of the chain (CN=Sub CA) is not signed by
 * certificate 3 (CN=Other Root)".
 */
struct certs_info *certs_import(const struct certs_input *in, char *err,
    size_t errlen);

/*
 * Describe a certificate (and any chain after it in the same PEM)
 * without checking anything but that it parses: for status, which must
 * show a certificate even once it has expired.  NULL with err.
 */
struct certs_info *certs_inspect(const char *cert_pem, size_t cert_len,
    char *err, size_t errlen);

void certs_info_free(struct certs_info *info);

/* The earliest notAfter of the certificate and its chain: when clients
 * start refusing the console. */
time_t certs_expiry(const struct certs_info *info);

/* Whole days from now until certs_expiry(), rounded down: 0 on the last
 * day, negative once expired. */
long certs_days_left(const struct certs_info *info, time_t now);

/* Expired, or expiring in less than CERTS_EXPIRY_WARN_DAYS days. */
bool certs_expires_soon(const struct certs_info *info, time_t now);

/*
 * A new JSON object for status and the API, NULL when out of memory:
 * {"subject", "issuer", "serial", "signature_algorithm",
 *  "fingerprint_sha256", "not_before", "not_after" (RFC 3339 UTC),
 *  "key": {"type": "EC"|"RSA"|"other", "bits", "name"},
 *  "san": {"dns": [...], "ip": [...]}, "san_truncated",
 *  "self_signed", "chain_length", "chain_not_after" (or null),
 *  "valid" (notBefore <= now <= expiry), "expired", "days_left",
 *  "expires_soon", "warnings": ["no_san", "ca_leaf"]}
 */
json_t *certs_info_json(const struct certs_info *info, time_t now);

/* t as "YYYY-MM-DDTHH:MM:SSZ" in buf (CERTS_TIME_TEXT bytes); buf. */
char *certs_time_text(time_t t, char *buf);

#endif
