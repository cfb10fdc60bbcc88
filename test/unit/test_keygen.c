/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_keygen.c - keys the monitor generates, parsed back by BoringSSL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>

#include "keygen.h"

static EVP_PKEY *
parse(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	return k;
}

static void
test_ec(void **state)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(keygen_private_pem(KEYGEN_EC_P256, 0, &pem, &len), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	k = parse(pem, len);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_id(k), EVP_PKEY_EC);
	assert_int_equal(EC_GROUP_get_curve_name(EC_KEY_get0_group(
	    EVP_PKEY_get0_EC_KEY(k))), NID_X9_62_prime256v1);
	EVP_PKEY_free(k);
	keygen_free_pem(pem, len);
}

static void
test_rsa(void **state)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(keygen_private_pem(KEYGEN_RSA, 2048, &pem, &len), 0);
	k = parse(pem, len);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_id(k), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_bits(k), 2048);
	EVP_PKEY_free(k);
	keygen_free_pem(pem, len);
}

static void
test_refused(void **state)
{
	char *pem = (char *)0x1;
	size_t len = 7;

	(void)state;
	/* The vendor's 1024-bit keys are not repeated here. */
	assert_int_equal(keygen_private_pem(KEYGEN_RSA, 1024, &pem, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(keygen_private_pem(KEYGEN_RSA, 2047, &pem, &len), -1);
	assert_int_equal(keygen_private_pem(9, 0, &pem, &len), -1);
	assert_ptr_equal(pem, (char *)0x1);
	assert_int_equal(len, 7);
	keygen_free_pem(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
