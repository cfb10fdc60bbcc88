/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * keygen.h - private key generation for the console's certificate,
 * done in the monitor (RSA-4096 takes seconds; never on the loop).
 * The only file besides the TLS adapter that includes BoringSSL.
 */
#ifndef SLUICE_KEYGEN_H
#define SLUICE_KEYGEN_H

#include <stddef.h>

enum keygen_type {
	KEYGEN_EC_P256 = 1,    /* the default: fast, modern */
	KEYGEN_RSA = 2,        /* bits 2048, 3072 or 4096 */
};

/*
 * Generate a key and return it as a PKCS#8 PEM in a new buffer (caller
 * frees after wiping it with keygen_free_pem).  Returns 0, or -1 with
 * errno EINVAL for a type/size this product refuses (RSA below 2048:
 * the vendor's 1024-bit keys are not repeated here) or ENOMEM.
 */
int keygen_private_pem(enum keygen_type type, unsigned bits, char **pem,
    size_t *len);
void keygen_free_pem(char *pem, size_t len);

#endif
