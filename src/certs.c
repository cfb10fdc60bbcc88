/* SPDX-License-Identifier: GPL-3.0-or-later */
/* certs.c - console certificates: self-signed, CSR, import checks
 * (BoringSSL).  See certs.h for what is checked and why. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"

#define DAY_S           86400
#define SERIAL_BYTES    16
#define KEY_BLOCKS_MAX  8       /* PEM blocks looked at in a key input */
#define LABEL_NAME      96      /* bytes of a subject in a label */
#define LABEL_TEXT      (LABEL_NAME + 96)
#define QUOTE_MAX       64      /* bytes of a caller's string in messages */

static void __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	/* Leave no stale reasons behind for the next caller. */
	ERR_clear_error();
	errno = EINVAL;
}

static void
nomem(char *err, size_t errlen)
{
	fail(err, errlen, "out of memory");
	errno = ENOMEM;
}

/* A caller's string for a message: printable ASCII, truncated; buf. */
static char *
quote(const char *s, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && n + 4 < size; i++) {
		if (i == QUOTE_MAX) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	buf[n] = '\0';
	return buf;
}

char *
certs_time_text(time_t t, char *buf)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, CERTS_TIME_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, CERTS_TIME_TEXT, "(time %lld)", (long long)t);
	return buf;
}

/* ---- Reading PEM ------------------------------------------------------ */

struct pem_block {
	char *name, *header;
	uint8_t *data;
	long len;
};

static void
pem_block_free(struct pem_block *b, bool wipe)
{
	if (wipe && b->data != NULL)
		OPENSSL_cleanse(b->data, (size_t)b->len);
	OPENSSL_free(b->name);
	OPENSSL_free(b->header);
	OPENSSL_free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * The next PEM block: 1, 0 at the end of the input (only text left), -1
 * for a block that does not decode (bad base64, no END line).
 */
static int
pem_next(BIO *bio, struct pem_block *b)
{
	uint32_t e;

	memset(b, 0, sizeof(*b));
	ERR_clear_error();
	if (PEM_read_bio(bio, &b->name, &b->header, &b->data, &b->len) == 1)
		return 1;
	e = ERR_peek_last_error();
	pem_block_free(b, true);
	ERR_clear_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		return 0;
	return -1;
}

static BIO *
input_bio(const char *pem, size_t len, const char *what, char *err,
    size_t errlen)
{
	BIO *bio;

	if (pem == NULL || len == 0) {
		fail(err, errlen, "the %s input is empty", what);
		return NULL;
	}
	if (len > CERTS_PEM_MAX) {
		fail(err, errlen, "the %s input is %zu bytes (at most %d)",
		    what, len, CERTS_PEM_MAX);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		nomem(err, errlen);
	return bio;
}

static bool
is_key_block(const char *name)
{
	return strstr(name, "PRIVATE KEY") != NULL;
}

/*
 * Append the certificates of one PEM input to certs[*n]; what names the
 * input in messages.  Only CERTIFICATE blocks are taken: a key pasted
 * into the certificate field is refused rather than guessed at.
 */
static int
read_certs(const char *pem, size_t len, const char *what, X509 **certs,
    size_t *n, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 8];
	struct pem_block b;
	const uint8_t *p;
	unsigned block = 0;
	size_t first = *n;
	BIO *bio;
	X509 *x;
	int r;

	if ((bio = input_bio(pem, len, what, err, errlen)) == NULL)
		return -1;
	while ((r = pem_next(bio, &b)) == 1) {
		block++;
		if (strcmp(b.name, "CERTIFICATE") != 0) {
			if (is_key_block(b.name))
				fail(err, errlen, "block %u of the %s input is "
				    "a private key: give the key separately",
				    block, what);
			else
				fail(err, errlen, "block %u of the %s input is "
				    "a \"%s\" block, not a CERTIFICATE", block,
				    what, quote(b.name, q, sizeof(q)));
			pem_block_free(&b, is_key_block(b.name));
			goto bad;
		}
		if (*n == CERTS_CHAIN_MAX) {
			fail(err, errlen, "the %s input makes the chain longer "
			    "than %d certificates", what, CERTS_CHAIN_MAX);
			pem_block_free(&b, false);
			goto bad;
		}
		p = b.data;
		x = d2i_X509(NULL, &p, b.len);
		if (x == NULL || p != b.data + b.len) {
			X509_free(x);
			fail(err, errlen, "block %u of the %s input is not a "
			    "valid X.509 certificate (DER does not parse)",
			    block, what);
			pem_block_free(&b, false);
			goto bad;
		}
		pem_block_free(&b, false);
		certs[(*n)++] = x;
	}
	if (r < 0) {
		fail(err, errlen, "block %u of the %s input is malformed PEM "
		    "(bad base64 or no END line)", block + 1, what);
		goto bad;
	}
	if (block == 0) {
		fail(err, errlen, "no certificate in the %s input (expected "
		    "\"-----BEGIN CERTIFICATE-----\")", what);
		goto bad;
	}
	BIO_free(bio);
	return 0;
bad:
	while (*n > first)
		X509_free(certs[--(*n)]);
	BIO_free(bio);
	return -1;
}

static EVP_PKEY *
parse_key_der(const char *name, const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	EVP_PKEY *k = NULL;
	CBS cbs;
	int type;

	if (strcmp(name, "PRIVATE KEY") == 0) {
		CBS_init(&cbs, der, len);
		k = EVP_parse_private_key(&cbs);
		if (k != NULL && CBS_len(&cbs) != 0) {
			EVP_PKEY_free(k);
			k = NULL;
		}
		return k;
	}
	type = strcmp(name, "RSA PRIVATE KEY") == 0 ? EVP_PKEY_RSA :
	    EVP_PKEY_EC;
	k = d2i_PrivateKey(type, NULL, &p, (long)len);
	if (k != NULL && p != der + len) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/*
 * Exactly one private key: PKCS#8 "PRIVATE KEY" (keygen's), or the
 * traditional "RSA PRIVATE KEY" / "EC PRIVATE KEY" (an "EC PARAMETERS"
 * block before it, as `openssl ecparam -genkey` writes, is skipped).
 * Encrypted keys are refused with a reason: there is no passphrase to
 * ask for at start-up, and the key file is root-only anyway.
 */
static EVP_PKEY *
read_key(const char *pem, size_t len, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 8];
	struct pem_block b;
	unsigned block = 0, key_block = 0;
	EVP_PKEY *key = NULL;
	BIO *bio;
	int r;

	if ((bio = input_bio(pem, len, "key", err, errlen)) == NULL)
		return NULL;
	while ((r = pem_next(bio, &b)) == 1) {
		block++;
		if (strcmp(b.name, "ENCRYPTED PRIVATE KEY") == 0 ||
		    (is_key_block(b.name) && b.header != NULL &&
		    strstr(b.header, "ENCRYPTED") != NULL)) {
			fail(err, errlen, "block %u of the key input is an "
			    "encrypted private key (%s): give it decrypted "
			    "(it is stored readable by root only)", block,
			    quote(b.name, q, sizeof(q)));
			goto bad;
		}
		if (strcmp(b.name, "EC PARAMETERS") == 0) {
			pem_block_free(&b, false);
			continue;
		}
		if (strcmp(b.name, "PRIVATE KEY") != 0 &&
		    strcmp(b.name, "RSA PRIVATE KEY") != 0 &&
		    strcmp(b.name, "EC PRIVATE KEY") != 0) {
			if (is_key_block(b.name))
				fail(err, errlen, "block %u of the key input "
				    "is a \"%s\" block, which is not supported "
				    "(expected PRIVATE KEY, RSA PRIVATE KEY or "
				    "EC PRIVATE KEY)", block,
				    quote(b.name, q, sizeof(q)));
			else if (strstr(b.name, "PUBLIC KEY") != NULL)
				fail(err, errlen, "block %u of the key input "
				    "is a public key: the private key is "
				    "needed", block);
			else
				fail(err, errlen, "block %u of the key input "
				    "is a \"%s\" block, not a private key",
				    block, quote(b.name, q, sizeof(q)));
			goto bad;
		}
		if (key != NULL) {
			fail(err, errlen, "the key input holds more than one "
			    "private key (blocks %u and %u; expected exactly "
			    "one)", key_block, block);
			goto bad;
		}
		key = parse_key_der(b.name, b.data, (size_t)b.len);
		if (key == NULL) {
			fail(err, errlen, "block %u of the key input is not a "
			    "valid %s (DER does not parse)", block, b.name);
			goto bad;
		}
		key_block = block;
		pem_block_free(&b, true);
	}
	if (r < 0) {
		fail(err, errlen, "block %u of the key input is malformed PEM "
		    "(bad base64 or no END line)", block + 1);
		goto bad_nob;
	}
	if (key == NULL) {
		fail(err, errlen, "no private key in the key input (expected "
		    "\"-----BEGIN PRIVATE KEY-----\")");
		goto bad_nob;
	}
	BIO_free(bio);
	return key;
bad:
	pem_block_free(&b, true);
bad_nob:
	EVP_PKEY_free(key);
	BIO_free(bio);
	return NULL;
}

/* ---- Keys ------------------------------------------------------------- */

static int
ec_curve(const EVP_PKEY *k)
{
	const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(k);
	const EC_GROUP *g = ec != NULL ? EC_KEY_get0_group(ec) : NULL;

	return g != NULL ? EC_GROUP_get_curve_name(g) : NID_undef;
}

static const char *
curve_text(int nid)
{
	switch (nid) {
	case NID_X9_62_prime256v1:
		return "P-256";
	case NID_secp384r1:
		return "P-384";
	case NID_secp521r1:
		return "P-521";
	case NID_secp224r1:
		return "P-224";
	default:
		return "an unnamed curve";
	}
}

static void
key_text(const EVP_PKEY *k, char *buf, size_t size)
{
	switch (EVP_PKEY_id(k)) {
	case EVP_PKEY_EC:
		snprintf(buf, size, "EC %s", curve_text(ec_curve(k)));
		break;
	case EVP_PKEY_RSA:
		snprintf(buf, size, "RSA %d", EVP_PKEY_bits(k));
		break;
	case EVP_PKEY_ED25519:
		snprintf(buf, size, "Ed25519");
		break;
	case EVP_PKEY_DSA:
		snprintf(buf, size, "DSA %d", EVP_PKEY_bits(k));
		break;
	default:
		snprintf(buf, size, "of type %d", EVP_PKEY_id(k));
		break;
	}
}

static unsigned
rsa_floor(unsigned rsa_min_bits)
{
	return rsa_min_bits < CERTS_RSA_MIN_BITS ? CERTS_RSA_MIN_BITS :
	    rsa_min_bits;
}

/*
 * The keys this product serves with.  whose starts the message: "key"
 * for the private key, "certificate 2 of the chain (..) has a key that".
 * A CA's key (ca true) may be on P-521 too: clients verify it, we never
 * sign with it.
 */
static int
check_key(const EVP_PKEY *k, unsigned rsa_min, bool ca, const char *whose,
    char *err, size_t errlen)
{
	char desc[32];
	int bits, nid;

	key_text(k, desc, sizeof(desc));
	switch (EVP_PKEY_id(k)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_bits(k);
		if (bits < (int)rsa_min) {
			fail(err, errlen, "%s is RSA %d bits (expected at "
			    "least %u)", whose, bits, rsa_min);
			return -1;
		}
		if (bits > CERTS_RSA_MAX_BITS && !ca) {
			fail(err, errlen, "%s is RSA %d bits (at most %d: "
			    "every handshake signs with it)", whose, bits,
			    CERTS_RSA_MAX_BITS);
			return -1;
		}
		return 0;
	case EVP_PKEY_EC:
		nid = ec_curve(k);
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
		    (ca && nid == NID_secp521r1))
			return 0;
		fail(err, errlen, "%s is EC on %s (expected P-256%s P-384)",
		    whose, curve_text(nid), ca ? ", P-521 or" : " or");
		return -1;
	default:
		fail(err, errlen, "%s is %s (expected EC P-256, EC P-384 or "
		    "RSA of at least %u bits)", whose, desc, rsa_min);
		return -1;
	}
}

/* ---- Names and times -------------------------------------------------- */

/* RFC 4514 text, escaped to printable ASCII (ESC_MSB, ESC_CTRL). */
static void
name_text(const X509_NAME *name, char *buf, size_t size)
{
	const uint8_t *data;
	size_t n = 0;
	BIO *bio;

	buf[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    BIO_mem_contents(bio, &data, &n)) {
		if (n >= size) {
			n = size - 4;
			memcpy(buf + n, "...", 3);
			memcpy(buf, data, n);
			n += 3;
		} else
			memcpy(buf, data, n);
		buf[n] = '\0';
	}
	BIO_free(bio);
	ERR_clear_error();
}

/* "certificate 2 of the chain (CN=Sub CA)", for messages. */
static void
cert_label(X509 *x, size_t i, char *buf, size_t size)
{
	char name[LABEL_NAME];

	name_text(X509_get_subject_name(x), name, sizeof(name));
	snprintf(buf, size, "certificate %zu of the chain (%s%s)", i + 1,
	    i == 0 ? "the server certificate, " : "",
	    name[0] != '\0' ? name : "empty subject");
}

static int
asn1_time_posix(const ASN1_TIME *t, time_t *out)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days, secs, ok;

	if (epoch == NULL)
		return -1;
	ok = ASN1_TIME_diff(&days, &secs, epoch, t);
	ASN1_TIME_free(epoch);
	if (!ok)
		return -1;
	*out = (time_t)days * DAY_S + secs;
	return 0;
}

static int
cert_times(X509 *x, time_t *nb, time_t *na)
{
	return asn1_time_posix(X509_get0_notBefore(x), nb) == 0 &&
	    asn1_time_posix(X509_get0_notAfter(x), na) == 0 ? 0 : -1;
}

static int
check_validity(X509 *x, const char *label, time_t now, char *err,
    size_t errlen)
{
	char t1[CERTS_TIME_TEXT], t2[CERTS_TIME_TEXT];
	time_t nb, na;

	if (cert_times(x, &nb, &na) < 0) {
		fail(err, errlen, "%s has a validity time that does not parse",
		    label);
		return -1;
	}
	if (now < nb) {
		fail(err, errlen, "%s is not valid yet: notBefore %s is after "
		    "now (%s)%s", label, certs_time_text(nb, t1),
		    certs_time_text(now, t2), now < CERTS_CLOCK_MIN ?
		    "; is the clock set?" : "");
		return -1;
	}
	if (now > na) {
		fail(err, errlen, "%s expired on %s (now %s)", label,
		    certs_time_text(na, t1), certs_time_text(now, t2));
		return -1;
	}
	return 0;
}

/* ---- Certificate checks ----------------------------------------------- */

/*
 * SHA-2 only: MD5 and SHA-1 certificate signatures can be forged
 * (chosen-prefix collisions, "SHAttered"/"Shambles").  RSA-PSS parameters
 * are checked by BoringSSL when verifying, and it only takes SHA-2 there.
 */
static bool
sigalg_ok(const X509 *x)
{
	int nid = X509_get_signature_nid(x), md;

	if (nid == NID_rsassaPss)
		return true;
	if (!OBJ_find_sigid_algs(nid, &md, NULL))
		return false;
	return md == NID_sha256 || md == NID_sha384 || md == NID_sha512;
}

static void
sigalg_text(const X509 *x, char *buf, size_t size)
{
	int nid = X509_get_signature_nid(x);
	const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;

	snprintf(buf, size, "%s", ln != NULL ? ln : "an unknown algorithm");
}

static bool
self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0;
}

/* 1 signed by issuer's key, 0 not, -1 no usable key. */
static int
signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *k = X509_get_pubkey(issuer);
	int r;

	if (k == NULL) {
		ERR_clear_error();
		return -1;
	}
	r = X509_verify(x, k) == 1;
	EVP_PKEY_free(k);
	ERR_clear_error();
	return r;
}

static bool
self_signed(X509 *x)
{
	return self_issued(x) && signed_by(x, x) == 1;
}

/* Checks every certificate gets: extensions, signature algorithm, EKU,
 * validity.  i is the position in the chain. */
static int
check_common(X509 *x, size_t i, bool is_root, time_t now, char *err,
    size_t errlen)
{
	char label[LABEL_TEXT], alg[48];
	uint32_t flags = X509_get_extension_flags(x);

	cert_label(x, i, label, sizeof(label));
	if (flags & EXFLAG_INVALID) {
		fail(err, errlen, "%s has an extension that does not parse",
		    label);
		return -1;
	}
	/* RFC 5280 4.2: a client must reject it, so do we. */
	if (flags & EXFLAG_CRITICAL) {
		fail(err, errlen, "%s has an unsupported critical extension",
		    label);
		return -1;
	}
	/* A root's self-signature is never checked by clients. */
	if (!is_root && !sigalg_ok(x)) {
		sigalg_text(x, alg, sizeof(alg));
		fail(err, errlen, "%s is signed with %s (MD5 and SHA-1 "
		    "signatures can be forged; expected SHA-256 or stronger)",
		    label, alg);
		return -1;
	}
	/* CA/Browser Forum BR 7.1.2: clients apply an intermediate's EKU
	 * to everything below it too. */
	if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) &
	    (XKU_SSL_SERVER | XKU_ANYEKU))) {
		fail(err, errlen, "%s has an extendedKeyUsage without "
		    "serverAuth: clients refuse it for a TLS server", label);
		return -1;
	}
	return check_validity(x, label, now, err, errlen);
}

static int
check_leaf(X509 *x, EVP_PKEY *key, bool alone, time_t now, char *err,
    size_t errlen)
{
	char label[LABEL_TEXT], kc[32], kk[32];
	EVP_PKEY *pub;
	int same;

	cert_label(x, 0, label, sizeof(label));
	if ((pub = X509_get_pubkey(x)) == NULL) {
		fail(err, errlen, "%s has a public key that does not parse",
		    label);
		return -1;
	}
	same = EVP_PKEY_cmp(pub, key);
	key_text(pub, kc, sizeof(kc));
	key_text(key, kk, sizeof(kk));
	EVP_PKEY_free(pub);
	if (same != 1) {
		fail(err, errlen, "key does not match the certificate's public "
		    "key (certificate: %s, key: %s%s)", kc, kk,
		    strcmp(kc, kk) == 0 ? ", a different key" : "");
		return -1;
	}
	if (check_common(x, 0, false, now, err, errlen) < 0)
		return -1;
	/* ECDHE (TLS 1.2) and TLS 1.3 sign with the key: RFC 5246 7.4.2,
	 * RFC 8446 4.4.2.2.  tls.c offers no RSA key exchange. */
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE)) {
		fail(err, errlen, "%s has a keyUsage without "
		    "digitalSignature, which TLS 1.2 ECDHE and TLS 1.3 need",
		    label);
		return -1;
	}
	if (alone && self_issued(x) && signed_by(x, x) != 1) {
		fail(err, errlen, "%s is self-issued but its signature does "
		    "not verify with its own key", label);
		return -1;
	}
	return 0;
}

/* Where in certs[] is the issuer of certs[i]: for a helpful message. */
static size_t
find_issuer(X509 **certs, size_t n, size_t i)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (j != i && signed_by(certs[i], certs[j]) == 1)
			return j;
	return n;
}

/* RFC 8446 4.4.2: each certificate certifies the one before it. */
static int
check_chain(X509 **certs, size_t n, unsigned rsa_min, time_t now,
    char *err, size_t errlen)
{
	char label[LABEL_TEXT], next[LABEL_TEXT], hint[128];
	char whose[LABEL_TEXT + 16], in1[LABEL_NAME], in2[LABEL_NAME];
	EVP_PKEY *pub;
	size_t i, j;
	int r;

	for (i = 0; i + 1 < n; i++) {
		cert_label(certs[i], i, label, sizeof(label));
		cert_label(certs[i + 1], i + 1, next, sizeof(next));
		if ((r = signed_by(certs[i], certs[i + 1])) < 0) {
			fail(err, errlen, "%s has a public key that does not "
			    "parse", next);
			return -1;
		}
		if (r == 0) {
			j = find_issuer(certs, n, i);
			if (j < n)
				snprintf(hint, sizeof(hint), "; it is signed "
				    "by certificate %zu: put each certificate "
				    "right before the one that signed it",
				    j + 1);
			else
				snprintf(hint, sizeof(hint), "; none of the "
				    "certificates given signed it");
			fail(err, errlen, "%s is not signed by %s%s", label,
			    next, hint);
			return -1;
		}
		if (X509_NAME_cmp(X509_get_issuer_name(certs[i]),
		    X509_get_subject_name(certs[i + 1])) != 0) {
			name_text(X509_get_issuer_name(certs[i]), in1,
			    sizeof(in1));
			name_text(X509_get_subject_name(certs[i + 1]), in2,
			    sizeof(in2));
			fail(err, errlen, "%s names its issuer \"%s\", but %s "
			    "that signed it is \"%s\"", label, in1, next, in2);
			return -1;
		}
	}
	for (i = 1; i < n; i++) {
		cert_label(certs[i], i, label, sizeof(label));
		if (!X509_check_ca(certs[i])) {
			fail(err, errlen, "%s is not a CA certificate "
			    "(basicConstraints CA:TRUE missing)", label);
			return -1;
		}
		if ((pub = X509_get_pubkey(certs[i])) == NULL) {
			fail(err, errlen, "%s has a public key that does not "
			    "parse", label);
			return -1;
		}
		snprintf(whose, sizeof(whose), "the key of %s", label);
		r = check_key(pub, rsa_min, true, whose, err, errlen);
		EVP_PKEY_free(pub);
		if (r < 0 || check_common(certs[i], i, i + 1 == n &&
		    self_signed(certs[i]), now, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- Describing a certificate ----------------------------------------- */

static void
hex(const uint8_t *p, size_t n, bool colons, char *buf, size_t size)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n && o + 3 + colons <= size; i++) {
		if (colons && i > 0)
			buf[o++] = ':';
		buf[o++] = digits[p[i] >> 4];
		buf[o++] = digits[p[i] & 0xf];
	}
	buf[o] = '\0';
}

static void
info_sans(X509 *x, struct certs_info *info)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	const uint8_t *d;
	struct certs_san *s;
	size_t i, k;
	int len, crit;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		return;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS && g->type != GEN_IPADD)
			continue;
		if (info->n_sans == CERTS_SAN_MAX) {
			info->sans_truncated = true;
			break;
		}
		s = &info->sans[info->n_sans];
		d = ASN1_STRING_get0_data(g->d.ia5);
		len = ASN1_STRING_length(g->d.ia5);
		if (g->type == GEN_DNS) {
			s->type = CERTS_SAN_DNS;
			for (k = 0; k < (size_t)len && k < CERTS_DNS_MAX; k++)
				s->value[k] = d[k] > 0x20 && d[k] < 0x7f ?
				    (char)d[k] : '?';
			s->value[k] = '\0';
		} else {
			s->type = CERTS_SAN_IP;
			if (len != 4 && len != 16)
				continue;
			inet_ntop(len == 4 ? AF_INET : AF_INET6, d, s->value,
			    sizeof(s->value));
		}
		info->n_sans++;
	}
	GENERAL_NAMES_free(gens);
}

static int
fill_info(X509 **certs, size_t n, struct certs_info *info, char *err,
    size_t errlen)
{
	X509 *x = certs[0];
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	uint8_t md[SHA256_DIGEST_LENGTH];
	unsigned mdlen = 0;
	EVP_PKEY *pub;
	time_t nb, na;
	size_t i, o;

	name_text(X509_get_subject_name(x), info->subject,
	    sizeof(info->subject));
	name_text(X509_get_issuer_name(x), info->issuer,
	    sizeof(info->issuer));
	o = 0;
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		info->serial[o++] = '-';
	if (ASN1_STRING_length(sn) > 0)
		hex(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn),
		    false, info->serial + o, sizeof(info->serial) - o);
	else
		snprintf(info->serial, sizeof(info->serial), "00");
	sigalg_text(x, info->sig_alg, sizeof(info->sig_alg));
	if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != sizeof(md)) {
		nomem(err, errlen);
		return -1;
	}
	hex(md, mdlen, true, info->fingerprint, sizeof(info->fingerprint));
	if (cert_times(x, &info->not_before, &info->not_after) < 0) {
		fail(err, errlen, "certificate 1 of the chain has a validity "
		    "time that does not parse");
		return -1;
	}
	if ((pub = X509_get_pubkey(x)) != NULL) {
		info->key_type = EVP_PKEY_id(pub) == EVP_PKEY_EC ?
		    CERTS_KEY_EC : EVP_PKEY_id(pub) == EVP_PKEY_RSA ?
		    CERTS_KEY_RSA : CERTS_KEY_OTHER;
		info->key_bits = (unsigned)EVP_PKEY_bits(pub);
		key_text(pub, info->key_text, sizeof(info->key_text));
		EVP_PKEY_free(pub);
	} else
		snprintf(info->key_text, sizeof(info->key_text), "unknown");
	info_sans(x, info);
	info->self_signed = self_signed(x);
	info->chain_len = (unsigned)(n - 1);
	for (i = 1; i < n; i++) {
		if (cert_times(certs[i], &nb, &na) < 0)
			continue;
		if (info->chain_not_after == 0 || na < info->chain_not_after)
			info->chain_not_after = na;
	}
	if (X509_get_ext_by_NID(x, NID_subject_alt_name, -1) < 0)
		info->warnings |= CERTS_WARN_NO_SAN;
	if (X509_check_ca(x))
		info->warnings |= CERTS_WARN_CA_LEAF;
	ERR_clear_error();
	return 0;
}

static void
free_certs(X509 **certs, size_t n)
{
	while (n > 0)
		X509_free(certs[--n]);
}

struct certs_info *
certs_import(const struct certs_input *in, char *err, size_t errlen)
{
	X509 *certs[CERTS_CHAIN_MAX];
	struct certs_info *info = NULL;
	EVP_PKEY *key = NULL;
	unsigned rsa_min = rsa_floor(in->rsa_min_bits);
	size_t n = 0;

	if (read_certs(in->cert_pem, in->cert_len, "certificate", certs, &n,
	    err, errlen) < 0)
		return NULL;
	if (in->chain_len > 0 && read_certs(in->chain_pem, in->chain_len,
	    "chain", certs, &n, err, errlen) < 0)
		goto out;
	if ((key = read_key(in->key_pem, in->key_len, err, errlen)) == NULL ||
	    check_key(key, rsa_min, false, "key", err, errlen) < 0 ||
	    check_leaf(certs[0], key, n == 1, in->now, err, errlen) < 0 ||
	    check_chain(certs, n, rsa_min, in->now, err, errlen) < 0)
		goto out;
	if ((info = calloc(1, sizeof(*info))) == NULL) {
		nomem(err, errlen);
		goto out;
	}
	if (fill_info(certs, n, info, err, errlen) < 0) {
		free(info);
		info = NULL;
	}
out:
	EVP_PKEY_free(key);
	free_certs(certs, n);
	return info;
}

struct certs_info *
certs_inspect(const char *cert_pem, size_t cert_len, char *err,
    size_t errlen)
{
	X509 *certs[CERTS_CHAIN_MAX];
	struct certs_info *info;
	size_t n = 0;

	if (read_certs(cert_pem, cert_len, "certificate", certs, &n, err,
	    errlen) < 0)
		return NULL;
	if ((info = calloc(1, sizeof(*info))) == NULL)
		nomem(err, errlen);
	else if (fill_info(certs, n, info, err, errlen) < 0) {
		free(info);
		info = NULL;
	}
	free_certs(certs, n);
	return info;
}

void
certs_info_free(struct certs_info *info)
{
	free(info);
}

time_t
certs_expiry(const struct certs_info *info)
{
	if (info->chain_not_after != 0 &&
	    info->chain_not_after < info->not_after)
		return info->chain_not_after;
	return info->not_after;
}

long
certs_days_left(const struct certs_info *info, time_t now)
{
	long long d = (long long)certs_expiry(info) - (long long)now;

	/* Rounded down, also below zero: 1 s past expiry is day -1. */
	return (long)(d >= 0 ? d / DAY_S : -((-d + DAY_S - 1) / DAY_S));
}

bool
certs_expires_soon(const struct certs_info *info, time_t now)
{
	return (long long)certs_expiry(info) - (long long)now <
	    (long long)CERTS_EXPIRY_WARN_DAYS * DAY_S;
}

json_t *
certs_info_json(const struct certs_info *info, time_t now)
{
	char nb[CERTS_TIME_TEXT], na[CERTS_TIME_TEXT], ca[CERTS_TIME_TEXT];
	json_t *dns, *ip, *warn, *o;
	time_t exp = certs_expiry(info);
	size_t i;
	int r = 0;

	dns = json_array();
	ip = json_array();
	warn = json_array();
	if (dns == NULL || ip == NULL || warn == NULL)
		goto bad;
	for (i = 0; i < info->n_sans; i++)
		r |= json_array_append_new(info->sans[i].type == CERTS_SAN_DNS ?
		    dns : ip, json_string(info->sans[i].value));
	if (info->warnings & CERTS_WARN_NO_SAN)
		r |= json_array_append_new(warn, json_string("no_san"));
	if (info->warnings & CERTS_WARN_CA_LEAF)
		r |= json_array_append_new(warn, json_string("ca_leaf"));
	if (r != 0)
		goto bad;
	/* json_pack takes the "o" references, even when it fails. */
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
	    "s:{s:s,s:i,s:s},s:{s:o,s:o},s:b,s:b,s:i,s:s?,"
	    "s:b,s:b,s:I,s:b,s:o}",
	    "subject", info->subject, "issuer", info->issuer,
	    "serial", info->serial, "signature_algorithm", info->sig_alg,
	    "fingerprint_sha256", info->fingerprint,
	    "not_before", certs_time_text(info->not_before, nb),
	    "not_after", certs_time_text(info->not_after, na),
	    "key", "type", info->key_type == CERTS_KEY_EC ? "EC" :
	    info->key_type == CERTS_KEY_RSA ? "RSA" : "other",
	    "bits", (int)info->key_bits, "name", info->key_text,
	    "san", "dns", dns, "ip", ip,
	    "san_truncated", info->sans_truncated,
	    "self_signed", info->self_signed,
	    "chain_length", (int)info->chain_len,
	    "chain_not_after", info->chain_not_after != 0 ?
	    certs_time_text(info->chain_not_after, ca) : NULL,
	    "valid", info->not_before <= now && now <= exp,
	    "expired", now > exp,
	    "days_left", (json_int_t)certs_days_left(info, now),
	    "expires_soon", certs_expires_soon(info, now),
	    "warnings", warn);
	return o;
bad:
	json_decref(dns);
	json_decref(ip);
	json_decref(warn);
	return NULL;
}

/* ---- Making certificates and CSRs ------------------------------------- */

struct name {
	int type;                   /* GEN_DNS or GEN_IPADD */
	uint8_t ip[16];
	size_t len;                 /* of ip, or of dns */
	char dns[CERTS_DNS_MAX + 1];
};

/*
 * A host name as RFC 1123 2.1 allows it (letters, digits, '-', labels of
 * 1..63 bytes), lower-cased into out; a leading "*" label for a
 * wildcard.  NULL, or why not.
 */
static const char *
dns_name(const char *s, char *out)
{
	size_t i, n = strlen(s), label = 0, start = 0;
	bool digits = true;

	if (n == 0)
		return "it is empty";
	if (n > CERTS_DNS_MAX)
		return "it is longer than 253 bytes";
	if (strncmp(s, "*.", 2) == 0)
		start = 2;
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (i < start) {
			out[i] = c;
			continue;
		}
		if (c == '.' || c == '\0') {
			if (label == 0)
				return "it has an empty label";
			if (s[i - 1] == '-')
				return "a label ends with '-'";
			if (c == '\0' && digits)
				return "its last label is all digits (not an "
				    "address either)";
			label = 0;
			digits = true;
			out[i] = c;
			continue;
		}
		if (c == '-' && label == 0)
			return "a label starts with '-'";
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-')
			return "it has a character other than letters, digits, "
			    "'-' and '.'";
		if (!(c >= '0' && c <= '9'))
			digits = false;
		if (++label > 63)
			return "a label is longer than 63 bytes";
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return NULL;
}

static const char *
parse_name(const char *s, struct name *nm)
{
	const char *why;

	memset(nm, 0, sizeof(*nm));
	if (inet_pton(AF_INET, s, nm->ip) == 1) {
		nm->type = GEN_IPADD;
		nm->len = 4;
		return NULL;
	}
	if (inet_pton(AF_INET6, s, nm->ip) == 1) {
		nm->type = GEN_IPADD;
		nm->len = 16;
		return NULL;
	}
	if ((why = dns_name(s, nm->dns)) != NULL)
		return why;
	nm->type = GEN_DNS;
	nm->len = strlen(nm->dns);
	return NULL;
}

static bool
same_name(const struct name *a, const struct name *b)
{
	return a->type == b->type && a->len == b->len &&
	    (a->type == GEN_DNS ? strcmp(a->dns, b->dns) == 0 :
	    memcmp(a->ip, b->ip, a->len) == 0);
}

/* The CN first, then the SANs, duplicates dropped.  Number of names or
 * -1 with err. */
static int
request_names(const struct certs_request *r, struct name *names,
    char *err, size_t errlen)
{
	char q[QUOTE_MAX + 8];
	const char *why;
	size_t i, j, n = 0;

	if (r->common_name == NULL || r->common_name[0] == '\0') {
		fail(err, errlen, "the common name is empty (expected the "
		    "console's host name)");
		return -1;
	}
	quote(r->common_name, q, sizeof(q));
	if (strlen(r->common_name) > CERTS_CN_MAX) {
		fail(err, errlen, "the common name \"%s\" is longer than %d "
		    "bytes (X.520 ub-common-name)", q, CERTS_CN_MAX);
		return -1;
	}
	if ((why = parse_name(r->common_name, &names[0])) != NULL) {
		fail(err, errlen, "the common name \"%s\" is neither an IP "
		    "address nor a valid host name: %s", q, why);
		return -1;
	}
	n = 1;
	if (r->n_sans > CERTS_SAN_MAX) {
		fail(err, errlen, "%zu subject alternative names (at most %d)",
		    r->n_sans, CERTS_SAN_MAX);
		return -1;
	}
	for (i = 0; i < r->n_sans; i++) {
		if (r->sans[i] == NULL) {
			fail(err, errlen, "subject alternative name %zu is "
			    "missing (NULL)", i + 1);
			return -1;
		}
		quote(r->sans[i], q, sizeof(q));
		if ((why = parse_name(r->sans[i], &names[n])) != NULL) {
			fail(err, errlen, "subject alternative name %zu "
			    "(\"%s\") is neither an IP address nor a valid "
			    "DNS name: %s", i + 1, q, why);
			return -1;
		}
		for (j = 0; j < n && !same_name(&names[j], &names[n]); j++)
			;
		if (j == n)
			n++;
	}
	return (int)n;
}

static GENERAL_NAMES *
make_sans(const struct name *names, int n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	ASN1_STRING *s;
	GENERAL_NAME *g;
	int i;

	if (gens == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((g = GENERAL_NAME_new()) == NULL)
			goto bad;
		s = names[i].type == GEN_DNS ? ASN1_IA5STRING_new() :
		    ASN1_OCTET_STRING_new();
		if (s == NULL || !ASN1_STRING_set(s, names[i].type == GEN_DNS ?
		    (const void *)names[i].dns : (const void *)names[i].ip,
		    (int)names[i].len)) {
			ASN1_STRING_free(s);
			GENERAL_NAME_free(g);
			goto bad;
		}
		GENERAL_NAME_set0_value(g, names[i].type, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto bad;
		}
	}
	return gens;
bad:
	GENERAL_NAMES_free(gens);
	return NULL;
}

static X509_NAME *
make_subject(const char *cn)
{
	X509_NAME *name = X509_NAME_new();

	if (name != NULL && !X509_NAME_add_entry_by_NID(name, NID_commonName,
	    MBSTRING_UTF8, (const uint8_t *)cn, -1, -1, 0)) {
		X509_NAME_free(name);
		name = NULL;
	}
	return name;
}

/* SHA-384 goes with P-384 (as TLS 1.3's ecdsa_secp384r1_sha384). */
static const EVP_MD *
sign_md(const EVP_PKEY *key)
{
	return EVP_PKEY_id(key) == EVP_PKEY_EC &&
	    ec_curve(key) == NID_secp384r1 ? EVP_sha384() : EVP_sha256();
}

/* Key and names of a request, checked.  The key, or NULL with err. */
static EVP_PKEY *
request_key(const struct certs_request *r, struct name *names, int *n,
    char *err, size_t errlen)
{
	EVP_PKEY *key;

	if ((*n = request_names(r, names, err, errlen)) < 0)
		return NULL;
	if ((key = read_key(r->key_pem, r->key_len, err, errlen)) == NULL)
		return NULL;
	if (check_key(key, rsa_floor(r->rsa_min_bits), false, "key", err,
	    errlen) < 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
pem_out(BIO *bio, char **pem, size_t *len, char *err, size_t errlen)
{
	const uint8_t *data;
	size_t n;
	char *out;

	if (!BIO_mem_contents(bio, &data, &n) || (out = malloc(n + 1)) ==
	    NULL) {
		nomem(err, errlen);
		return -1;
	}
	memcpy(out, data, n);
	out[n] = '\0';
	*pem = out;
	*len = n;
	return 0;
}

static int
add_ext(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1;
}

/* RFC 5280 4.1.2.2: positive, at most 20 bytes; CA/B BR 7.1: at least
 * 64 random bits.  Top bit clear (positive), next set (always 16 bytes
 * encoded). */
static int
set_serial(X509 *x)
{
	uint8_t b[SERIAL_BYTES];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;
	int ok;

	RAND_bytes(b, sizeof(b));
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn != NULL && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok;
}

static int
set_validity(X509 *x, time_t nb, time_t na)
{
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, nb), *t2 = ASN1_TIME_set(NULL, na);
	int ok = t1 != NULL && t2 != NULL && X509_set1_notBefore(x, t1) &&
	    X509_set1_notAfter(x, t2);

	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return ok;
}

static int
set_extensions(X509 *x, EVP_PKEY *key, const struct name *names, int n)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	const ASN1_BIT_STRING *spk = X509_get0_pubkey_bitstr(x);
	GENERAL_NAMES *gens = make_sans(names, n);
	uint8_t md[SHA_DIGEST_LENGTH];
	int ok;

	ok = bc != NULL && ku != NULL && eku != NULL && ski != NULL &&
	    spk != NULL && gens != NULL;
	/* CA:FALSE is the DEFAULT: an empty SEQUENCE (X.690 11.5). */
	ok = ok && add_ext(x, NID_basic_constraints, bc, 1);
	/* Bits 0 digitalSignature, 2 keyEncipherment (RFC 5280 4.2.1.3),
	 * the latter only meaningful for RSA. */
	ok = ok && ASN1_BIT_STRING_set_bit(ku, 0, 1);
	if (ok && EVP_PKEY_id(key) == EVP_PKEY_RSA)
		ok = ASN1_BIT_STRING_set_bit(ku, 2, 1);
	ok = ok && add_ext(x, NID_key_usage, ku, 1);
	ok = ok && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth));
	ok = ok && add_ext(x, NID_ext_key_usage, eku, 0);
	/* RFC 5280 4.2.1.2 (1): SHA-1 of the subjectPublicKey bits, as
	 * OpenSSL's "hash"; an identifier, not a security function. */
	ok = ok && SHA1(ASN1_STRING_get0_data(spk),
	    (size_t)ASN1_STRING_length(spk), md) != NULL &&
	    ASN1_OCTET_STRING_set(ski, md, sizeof(md));
	ok = ok && add_ext(x, NID_subject_key_identifier, ski, 0);
	ok = ok && add_ext(x, NID_subject_alt_name, gens, 0);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	/* OBJ_nid2obj's objects are static: nothing to free but the stack. */
	sk_ASN1_OBJECT_free(eku);
	ASN1_OCTET_STRING_free(ski);
	GENERAL_NAMES_free(gens);
	return ok;
}

int
certs_self_signed(const struct certs_request *r, char **pem, size_t *len,
    char *err, size_t errlen)
{
	struct name *names;
	unsigned days = r->days == 0 ? CERTS_DAYS_DEFAULT : r->days;
	char t[CERTS_TIME_TEXT];
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	time_t nb;
	int n, ret = -1;

	if (days > CERTS_DAYS_MAX) {
		fail(err, errlen, "a validity of %u days is longer than the "
		    "maximum of %d", days, CERTS_DAYS_MAX);
		return -1;
	}
	if (r->now < CERTS_CLOCK_MIN) {
		fail(err, errlen, "the clock says %s: set the time (NTP) "
		    "first, a certificate made now would look expired or not "
		    "yet valid to every client", certs_time_text(r->now, t));
		return -1;
	}
	if ((names = calloc(CERTS_SAN_MAX + 1, sizeof(*names))) == NULL) {
		nomem(err, errlen);
		return -1;
	}
	if ((key = request_key(r, names, &n, err, errlen)) == NULL)
		goto out;
	nb = r->now - CERTS_BACKDATE_S;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !set_serial(x) || (subject = make_subject(r->common_name)) ==
	    NULL || !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, subject) || !set_validity(x, nb,
	    nb + (time_t)days * DAY_S - 1) || !X509_set_pubkey(x, key) ||
	    !set_extensions(x, key, names, n) ||
	    X509_sign(x, key, sign_md(key)) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(bio, x)) {
		nomem(err, errlen);
		goto out;
	}
	ret = pem_out(bio, pem, len, err, errlen);
out:
	BIO_free(bio);
	X509_NAME_free(subject);
	X509_free(x);
	EVP_PKEY_free(key);
	free(names);
	ERR_clear_error();
	return ret;
}

/* RFC 2986 4.1 attributes: one extensionRequest (PKCS#9) with the SAN. */
static int
add_req_sans(X509_REQ *req, const struct name *names, int n)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gens = make_sans(names, n);
	X509_EXTENSION *ext = NULL;
	int ok;

	ok = exts != NULL && gens != NULL &&
	    (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) != NULL &&
	    sk_X509_EXTENSION_push(exts, ext);
	if (!ok)
		X509_EXTENSION_free(ext);
	ok = ok && X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return ok;
}

int
certs_csr(const struct certs_request *r, char **pem, size_t *len,
    char *err, size_t errlen)
{
	struct name *names;
	X509_NAME *subject = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	int n, ret = -1;

	if ((names = calloc(CERTS_SAN_MAX + 1, sizeof(*names))) == NULL) {
		nomem(err, errlen);
		return -1;
	}
	if ((key = request_key(r, names, &n, err, errlen)) == NULL)
		goto out;
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    (subject = make_subject(r->common_name)) == NULL ||
	    !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key) || !add_req_sans(req, names, n) ||
	    X509_REQ_sign(req, key, sign_md(key)) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req)) {
		nomem(err, errlen);
		goto out;
	}
	ret = pem_out(bio, pem, len, err, errlen);
out:
	BIO_free(bio);
	X509_NAME_free(subject);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	free(names);
	ERR_clear_error();
	return ret;
}
