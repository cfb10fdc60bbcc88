/* SPDX-License-Identifier: GPL-3.0-or-later */
/* keygen.c - EC P-256 and RSA private keys as PKCS#8 PEM (BoringSSL). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>

#include "keygen.h"

static EVP_PKEY *
generate(enum keygen_type type, unsigned bits)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	int ok;

	ctx = EVP_PKEY_CTX_new_id(type == KEYGEN_RSA ? EVP_PKEY_RSA :
	    EVP_PKEY_EC, NULL);
	if (ctx == NULL)
		return NULL;
	ok = EVP_PKEY_keygen_init(ctx) == 1;
	if (ok && type == KEYGEN_RSA)
		ok = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1;
	else if (ok)
		ok = EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx,
		    NID_X9_62_prime256v1) == 1;
	if (ok && EVP_PKEY_keygen(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int
keygen_private_pem(enum keygen_type type, unsigned bits, char **pem,
    size_t *len)
{
	const uint8_t *data;
	size_t n;
	EVP_PKEY *key;
	BIO *bio;
	char *out;

	if ((type != KEYGEN_EC_P256 && type != KEYGEN_RSA) ||
	    (type == KEYGEN_RSA && bits != 2048 && bits != 3072 &&
	    bits != 4096)) {
		errno = EINVAL;
		return -1;
	}
	key = generate(type, bits);
	if (key == NULL) {
		errno = ENOMEM;
		return -1;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL) || !BIO_mem_contents(bio, &data, &n) ||
	    (out = malloc(n + 1)) == NULL) {
		BIO_free(bio);
		EVP_PKEY_free(key);
		errno = ENOMEM;
		return -1;
	}
	memcpy(out, data, n);
	out[n] = '\0';
	/* The memory BIO held the key too. */
	OPENSSL_cleanse((void *)(uintptr_t)data, n);
	BIO_free(bio);
	EVP_PKEY_free(key);
	*pem = out;
	*len = n;
	return 0;
}

void
keygen_free_pem(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}
