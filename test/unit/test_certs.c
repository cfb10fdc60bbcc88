/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_certs.c - console certificates (src/certs.c) against an
 * independent peer: the openssl command (OpenSSL 3, run as a separate
 * process) makes the keys, certificates and chains imported here and
 * checks the certificates and CSRs certs.c makes.  Without the command
 * those tests skip.  Everything lives in a temporary directory made for
 * the run and removed afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "certs.h"
#include "keygen.h"

#define DAY 86400
#define OUT_MAX (64 * 1024)
#define ARGS_MAX 40

static char tmpdir[64];
static bool have_openssl;
static time_t t0;               /* just after the fixtures were made */
static char out[OUT_MAX + 1];   /* the last command's stdout+stderr */

/* ---- Running the openssl command ------------------------------------- */

/*
 * Run argv (NULL-terminated) in tmpdir, stdin from /dev/null, output
 * into out[]; its exit status, or -1.  alarm() bounds a child that
 * would wait for anything (a pass phrase) despite that.
 */
static int
runv(const char *const *argv)
{
	char scratch[4096];
	size_t n = 0;
	ssize_t r;
	int pfd[2], status, fd;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(pfd[1], 1) < 0 ||
		    dup2(pfd[1], 2) < 0 || chdir(tmpdir) < 0)
			_exit(126);
		close(pfd[0]);
		alarm(60);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (n < OUT_MAX)
			r = read(pfd[0], out + n, OUT_MAX - n);
		else
			r = read(pfd[0], scratch, sizeof(scratch));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n < OUT_MAX)
			n += (size_t)r;
	}
	out[n] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int __attribute__((sentinel))
run(const char *arg0, ...)
{
	const char *argv[ARGS_MAX];
	va_list ap;
	size_t n = 0;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < ARGS_MAX - 1 && (argv[n] = va_arg(ap, const char *)) !=
	    NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return runv(argv);
}

/* A fixture step that must work; prints the command's output if not. */
#define MUST(...) do {							\
		if (run(__VA_ARGS__, (const char *)NULL) != 0) {	\
			fprintf(stderr, "fixture failed: %s\n", out);	\
			return -1;					\
		}							\
	} while (0)

/* ---- Files in tmpdir ------------------------------------------------- */

static char *
path_of(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

static char *
read_file(const char *name, size_t *len)
{
	char p[256];
	FILE *f = fopen(path_of(name, p, sizeof(p)), "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || (buf = malloc((size_t)n + 1)) ==
	    NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static int
write_file(const char *name, const char *data, size_t len)
{
	char p[256];
	FILE *f = fopen(path_of(name, p, sizeof(p)), "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The files named in a space-separated list, concatenated; NULL for
 * NULL.  An empty list gives an empty (non-NULL) buffer. */
static char *
cat_files(const char *list, size_t *len)
{
	char names[512], *save = NULL, *name, *buf, *f;
	size_t n = 0, fl = 0;

	*len = 0;
	if (list == NULL)
		return NULL;
	snprintf(names, sizeof(names), "%s", list);
	buf = calloc(1, 1);
	assert_non_null(buf);
	for (name = strtok_r(names, " ", &save); name != NULL;
	    name = strtok_r(NULL, " ", &save)) {
		f = read_file(name, &fl);
		if (f == NULL)
			fail_msg("fixture %s missing", name);
		buf = realloc(buf, n + fl + 1);
		assert_non_null(buf);
		memcpy(buf + n, f, fl);
		n += fl;
		buf[n] = '\0';
		free(f);
	}
	*len = n;
	return buf;
}

/* Flat: the fixtures make no subdirectories.  readdir() need not return
 * entries while others are unlinked, hence a few passes. */
static void
rm_tree(const char *dir)
{
	char p[512];
	struct dirent *e;
	int pass;
	DIR *d;

	for (pass = 0; pass < 5 && rmdir(dir) < 0 && errno == ENOTEMPTY;
	    pass++) {
		if ((d = opendir(dir)) == NULL)
			return;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
}

/* ---- Fixtures, made once by openssl ---------------------------------- */

static const char cnf[] =
    "[req]\n"
    "distinguished_name = dn\n"
    "prompt = no\n"
    "[dn]\n"
    "CN = unused\n"
    "[v3_plain]\n"
    "subjectAltName = DNS:gw.example,IP:192.0.2.7\n"
    "[v3_root]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[v3_inter]\n"
    "basicConstraints = critical,CA:TRUE,pathlen:0\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[v3_leaf]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:leaf.example,IP:192.0.2.20\n"
    "subjectKeyIdentifier = hash\n"
    "authorityKeyIdentifier = keyid\n"
    "[v3_fromcsr]\n"
    "basicConstraints = critical,CA:FALSE\n"
    "extendedKeyUsage = serverAuth\n"
    "[v3_client]\n"
    "basicConstraints = CA:FALSE\n"
    "extendedKeyUsage = clientAuth\n"
    "subjectAltName = DNS:client.example\n"
    "[v3_kusign]\n"
    "keyUsage = critical,keyCertSign\n"
    "subjectAltName = DNS:ku.example\n"
    "[v3_nosan]\n"
    "basicConstraints = CA:FALSE\n"
    "[v3_caleaf]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "subjectAltName = DNS:gw.example\n";

static int
genkey(const char *file, const char *alg, const char *opt)
{
	MUST("openssl", "genpkey", "-algorithm", alg, "-pkeyopt", opt,
	    "-out", file);
	return 0;
}

/* A self-signed certificate of key with the extensions of section ext. */
static int
selfsign(const char *file, const char *key, const char *cn,
    const char *ext, const char *days, const char *md)
{
	MUST("openssl", "req", "-config", "test.cnf", "-x509", "-new",
	    "-key", key, "-subj", cn, "-days", days, "-extensions", ext,
	    md, "-out", file);
	return 0;
}

/* A certificate for key, with subject cn, signed by ca/cakey. */
static int
casign(const char *file, const char *key, const char *cn, const char *ca,
    const char *cakey, const char *ext, const char *days,
    const char *serial)
{
	MUST("openssl", "req", "-config", "test.cnf", "-new", "-key", key,
	    "-subj", cn, "-out", "tmp.csr");
	MUST("openssl", "x509", "-req", "-in", "tmp.csr", "-CA", ca,
	    "-CAkey", cakey, "-set_serial", serial, "-days", days,
	    "-extfile", "test.cnf", "-extensions", ext, "-sha256",
	    "-out", file);
	return 0;
}

static int
make_fixtures(void)
{
	static const char garbage[] = "hello, this is not a certificate\n";
	static const char badb64[] =
	    "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n"
	    "-----END CERTIFICATE-----\n";
	static const char baddr[] =
	    "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n"
	    "-----END CERTIFICATE-----\n";
	static const char noend[] =
	    "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n";
	static const char odd[] =
	    "-----BEGIN ODD\tTHING-----\naGVsbG8gd29ybGQ=\n"
	    "-----END ODD\tTHING-----\n";

	if (write_file("test.cnf", cnf, sizeof(cnf) - 1) < 0 ||
	    write_file("garbage.txt", garbage, sizeof(garbage) - 1) < 0 ||
	    write_file("badb64.pem", badb64, sizeof(badb64) - 1) < 0 ||
	    write_file("baddr.pem", baddr, sizeof(baddr) - 1) < 0 ||
	    write_file("noend.pem", noend, sizeof(noend) - 1) < 0 ||
	    write_file("odd.pem", odd, sizeof(odd) - 1) < 0)
		return -1;
	/* Keys. */
	if (genkey("ec.key", "EC", "ec_paramgen_curve:P-256") < 0 ||
	    genkey("ec2.key", "EC", "ec_paramgen_curve:P-256") < 0 ||
	    genkey("p384.key", "EC", "ec_paramgen_curve:P-384") < 0 ||
	    genkey("p521.key", "EC", "ec_paramgen_curve:P-521") < 0 ||
	    genkey("rsa.key", "RSA", "rsa_keygen_bits:2048") < 0 ||
	    genkey("rsa1024.key", "RSA", "rsa_keygen_bits:1024") < 0 ||
	    genkey("root.key", "EC", "ec_paramgen_curve:P-256") < 0 ||
	    genkey("root2.key", "EC", "ec_paramgen_curve:P-256") < 0 ||
	    genkey("inter.key", "RSA", "rsa_keygen_bits:2048") < 0 ||
	    genkey("interx.key", "EC", "ec_paramgen_curve:P-256") < 0 ||
	    genkey("leaf.key", "EC", "ec_paramgen_curve:P-256") < 0)
		return -1;
	MUST("openssl", "genpkey", "-algorithm", "ED25519", "-out", "ed.key");
	MUST("openssl", "pkey", "-in", "ec.key", "-pubout", "-out", "ec.pub");
	/* The traditional form `openssl ecparam -genkey` writes, with an
	 * EC PARAMETERS block first. */
	MUST("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-out",
	    "ecparam.key");
	MUST("openssl", "pkey", "-in", "ec.key", "-aes256", "-passout",
	    "pass:secret", "-out", "enc.key");
	MUST("openssl", "rsa", "-in", "rsa.key", "-traditional", "-aes128",
	    "-passout", "pass:secret", "-out", "encl.key");
	/* Self-signed server certificates. */
	if (selfsign("ec.crt", "ec.key", "/CN=gw.example", "v3_plain", "30",
	    "-sha256") < 0 ||
	    selfsign("rsa.crt", "rsa.key", "/CN=gw.example", "v3_plain", "30",
	    "-sha256") < 0 ||
	    selfsign("p384.crt", "p384.key", "/CN=gw.example", "v3_plain",
	    "30", "-sha384") < 0 ||
	    selfsign("p521.crt", "p521.key", "/CN=gw.example", "v3_plain",
	    "30", "-sha512") < 0 ||
	    selfsign("ed.crt", "ed.key", "/CN=gw.example", "v3_plain", "30",
	    "-sha256") < 0 ||
	    selfsign("ecparam.crt", "ecparam.key", "/CN=gw.example",
	    "v3_plain", "30", "-sha256") < 0 ||
	    selfsign("rsa1024.crt", "rsa1024.key", "/CN=old.example",
	    "v3_plain", "30", "-sha256") < 0 ||
	    selfsign("sha1.crt", "rsa.key", "/CN=sha1.example", "v3_plain",
	    "30", "-sha1") < 0 ||
	    selfsign("client.crt", "ec.key", "/CN=client.example",
	    "v3_client", "30", "-sha256") < 0 ||
	    selfsign("kusign.crt", "ec.key", "/CN=ku.example", "v3_kusign",
	    "30", "-sha256") < 0 ||
	    selfsign("nosan.crt", "ec.key", "/CN=gw.example", "v3_nosan",
	    "30", "-sha256") < 0 ||
	    selfsign("caleaf.crt", "ec.key", "/CN=gw.example", "v3_caleaf",
	    "30", "-sha256") < 0)
		return -1;
	MUST("openssl", "x509", "-in", "ec.crt", "-text", "-out", "ectext.crt");
	/* CA -> intermediate -> leaf, and the ways to get a chain wrong. */
	if (selfsign("root.crt", "root.key", "/CN=Sluice Test Root",
	    "v3_root", "3650", "-sha256") < 0 ||
	    selfsign("root2.crt", "root2.key", "/CN=Other Root", "v3_root",
	    "3650", "-sha256") < 0 ||
	    casign("inter.crt", "inter.key", "/CN=Sluice Test Intermediate",
	    "root.crt", "root.key", "v3_inter", "1000", "2") < 0 ||
	    casign("leaf.crt", "leaf.key", "/CN=leaf.example", "inter.crt",
	    "inter.key", "v3_leaf", "90", "3") < 0 ||
	    /* An intermediate that expires long before its leaf. */
	    casign("interx.crt", "interx.key", "/CN=Short Intermediate",
	    "root.crt", "root.key", "v3_inter", "10", "4") < 0 ||
	    casign("leafx.crt", "leaf.key", "/CN=leaf.example", "interx.crt",
	    "interx.key", "v3_leaf", "90", "5") < 0 ||
	    /* Signed by a server certificate (CA:FALSE). */
	    casign("byleaf.crt", "ec2.key", "/CN=sub.example", "leaf.crt",
	    "leaf.key", "v3_leaf", "30", "6") < 0)
		return -1;
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_certs.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	have_openssl = run("openssl", "version", (const char *)NULL) == 0;
	if (!have_openssl) {
		fprintf(stderr, "test_certs: no openssl command, the tests "
		    "that need it skip\n");
		return 0;
	}
	if (make_fixtures() < 0)
		return -1;
	/* "Now" for the imports: after every fixture's notBefore. */
	t0 = time(NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	rm_tree(tmpdir);
	return 0;
}

#define NEED_OPENSSL() do {						\
		if (!have_openssl)					\
			skip();						\
	} while (0)

/* ---- Import ---------------------------------------------------------- */

struct import_case {
	const char *name;
	const char *cert, *key, *chain;     /* space-separated file lists */
	long now_off;                       /* seconds from t0 */
	unsigned rsa_min;
	const char *expect;                 /* NULL: accepted */
	const char *expect2;                /* a second part of the message */
};

static const struct import_case import_cases[] = {
	{ "EC self-signed", "ec.crt", "ec.key", NULL, 0, 0, NULL, NULL },
	{ "RSA 2048 self-signed", "rsa.crt", "rsa.key", NULL, 0, 0, NULL,
	  NULL },
	{ "EC P-384", "p384.crt", "p384.key", NULL, 0, 0, NULL, NULL },
	{ "traditional EC key after EC PARAMETERS", "ecparam.crt",
	  "ecparam.key", NULL, 0, 0, NULL, NULL },
	{ "text around the PEM", "ectext.crt", "ec.key", NULL, 0, 0, NULL,
	  NULL },
	{ "chain in the certificate input", "leaf.crt inter.crt", "leaf.key",
	  NULL, 0, 0, NULL, NULL },
	{ "chain apart, root included", "leaf.crt", "leaf.key",
	  "inter.crt root.crt", 0, 0, NULL, NULL },
	{ "chain split over both inputs", "leaf.crt inter.crt", "leaf.key",
	  "root.crt", 0, 0, NULL, NULL },
	{ "key of another certificate", "ec.crt", "ec2.key", NULL, 0, 0,
	  "key does not match the certificate's public key (certificate: "
	  "EC P-256, key: EC P-256, a different key)", NULL },
	{ "key of another type", "ec.crt", "rsa.key", NULL, 0, 0,
	  "key does not match the certificate's public key (certificate: "
	  "EC P-256, key: RSA 2048)", NULL },
	{ "RSA 1024", "rsa1024.crt", "rsa1024.key", NULL, 0, 0,
	  "key is RSA 1024 bits (expected at least 2048)", NULL },
	{ "RSA 2048 below a 3072 policy", "rsa.crt", "rsa.key", NULL, 0,
	  3072, "key is RSA 2048 bits (expected at least 3072)", NULL },
	{ "policy below 2048 is 2048", "rsa1024.crt", "rsa1024.key", NULL, 0,
	  1024, "key is RSA 1024 bits (expected at least 2048)", NULL },
	{ "EC P-521", "p521.crt", "p521.key", NULL, 0, 0,
	  "key is EC on P-521 (expected P-256 or P-384)", NULL },
	{ "Ed25519", "ed.crt", "ed.key", NULL, 0, 0,
	  "key is Ed25519 (expected EC P-256, EC P-384 or RSA", NULL },
	{ "expired", "ec.crt", "ec.key", NULL, 400L * DAY, 0,
	  "certificate 1 of the chain (the server certificate, "
	  "CN=gw.example) expired on ", "(now " },
	{ "not yet valid", "ec.crt", "ec.key", NULL, -2L * DAY, 0,
	  "certificate 1 of the chain (the server certificate, "
	  "CN=gw.example) is not valid yet: notBefore ", NULL },
	{ "SHA-1 signature", "sha1.crt", "rsa.key", NULL, 0, 0,
	  "certificate 1 of the chain (the server certificate, "
	  "CN=sha1.example) is signed with sha1WithRSAEncryption (MD5 and "
	  "SHA-1 signatures can be forged", NULL },
	{ "extendedKeyUsage clientAuth only", "client.crt", "ec.key", NULL, 0,
	  0, "(the server certificate, CN=client.example) has an "
	  "extendedKeyUsage without serverAuth", NULL },
	{ "keyUsage without digitalSignature", "kusign.crt", "ec.key", NULL,
	  0, 0, "(the server certificate, CN=ku.example) has a keyUsage "
	  "without digitalSignature", NULL },
	{ "chain out of order", "leaf.crt", "leaf.key", "root.crt inter.crt",
	  0, 0, "certificate 1 of the chain (the server certificate, "
	  "CN=leaf.example) is not signed by certificate 2 of the chain "
	  "(CN=Sluice Test Root); it is signed by certificate 3", NULL },
	{ "chain with a foreign root", "leaf.crt inter.crt", "leaf.key",
	  "root2.crt", 0, 0, "certificate 2 of the chain (CN=Sluice Test "
	  "Intermediate) is not signed by certificate 3 of the chain "
	  "(CN=Other Root); none of the certificates given signed it",
	  NULL },
	{ "chain without its intermediate", "leaf.crt", "leaf.key",
	  "root.crt", 0, 0, "certificate 1 of the chain (the server "
	  "certificate, CN=leaf.example) is not signed by certificate 2",
	  NULL },
	{ "intermediate expired before the leaf", "leafx.crt interx.crt",
	  "leaf.key", "root.crt", 50L * DAY, 0, "certificate 2 of the chain "
	  "(CN=Short Intermediate) expired on ", NULL },
	{ "issuer is not a CA", "byleaf.crt leaf.crt inter.crt", "ec2.key",
	  NULL, 0, 0, "certificate 2 of the chain (CN=leaf.example) is not "
	  "a CA certificate", NULL },
	{ "chain too long", "ec.crt", "ec.key", "ec.crt ec.crt ec.crt ec.crt "
	  "ec.crt ec.crt ec.crt ec.crt ec.crt ec.crt", 0, 0,
	  "the chain input makes the chain longer than 10 certificates",
	  NULL },
	{ "empty certificate input", "", "ec.key", NULL, 0, 0,
	  "the certificate input is empty", NULL },
	{ "garbage certificate", "garbage.txt", "ec.key", NULL, 0, 0,
	  "no certificate in the certificate input (expected "
	  "\"-----BEGIN CERTIFICATE-----\")", NULL },
	{ "bad base64", "badb64.pem", "ec.key", NULL, 0, 0,
	  "block 1 of the certificate input is malformed PEM", NULL },
	{ "no END line", "ec.crt noend.pem", "ec.key", NULL, 0, 0,
	  "block 2 of the certificate input is malformed PEM", NULL },
	{ "not DER", "baddr.pem", "ec.key", NULL, 0, 0,
	  "block 1 of the certificate input is not a valid X.509 "
	  "certificate", NULL },
	{ "another block, odd name", "odd.pem", "ec.key", NULL, 0, 0,
	  "block 1 of the certificate input is a \"ODD?THING\" block, "
	  "not a CERTIFICATE", NULL },
	{ "another block in the key input", "ec.crt", "ec.key odd.pem", NULL,
	  0, 0, "block 2 of the key input is a \"ODD?THING\" block, not a "
	  "private key",
	  NULL },
	{ "key in the certificate input", "ec.key", "ec.key", NULL, 0, 0,
	  "block 1 of the certificate input is a private key: give the key "
	  "separately", NULL },
	{ "garbage chain", "leaf.crt", "leaf.key", "garbage.txt", 0, 0,
	  "no certificate in the chain input", NULL },
	{ "empty key input", "ec.crt", "", NULL, 0, 0,
	  "the key input is empty", NULL },
	{ "garbage key", "ec.crt", "garbage.txt", NULL, 0, 0,
	  "no private key in the key input (expected \"-----BEGIN PRIVATE "
	  "KEY-----\")", NULL },
	{ "two keys", "ec.crt", "ec.key ec2.key", NULL, 0, 0,
	  "the key input holds more than one private key (blocks 1 and 2; "
	  "expected exactly one)", NULL },
	{ "encrypted PKCS#8 key", "ec.crt", "enc.key", NULL, 0, 0,
	  "block 1 of the key input is an encrypted private key (ENCRYPTED "
	  "PRIVATE KEY): give it decrypted", NULL },
	{ "encrypted traditional key", "rsa.crt", "encl.key", NULL, 0, 0,
	  "block 1 of the key input is an encrypted private key (RSA PRIVATE "
	  "KEY)", NULL },
	{ "public key for the key", "ec.crt", "ec.pub", NULL, 0, 0,
	  "block 1 of the key input is a public key: the private key is "
	  "needed", NULL },
	{ "certificate for the key", "ec.crt", "ec.crt", NULL, 0, 0,
	  "block 1 of the key input is a \"CERTIFICATE\" block, not a "
	  "private key",
	  NULL },
};

static void
test_import_table(void **state)
{
	char err[CERTS_ERR_MAX];
	struct certs_input in;
	struct certs_info *info;
	size_t i, cl, kl, hl;

	(void)state;
	NEED_OPENSSL();
	for (i = 0; i < sizeof(import_cases) / sizeof(import_cases[0]); i++) {
		const struct import_case *c = &import_cases[i];

		memset(&in, 0, sizeof(in));
		in.cert_pem = cat_files(c->cert, &cl);
		in.cert_len = cl;
		in.key_pem = cat_files(c->key, &kl);
		in.key_len = kl;
		in.chain_pem = cat_files(c->chain, &hl);
		in.chain_len = hl;
		in.rsa_min_bits = c->rsa_min;
		in.now = t0 + c->now_off;
		err[0] = '\0';
		errno = 0;
		info = certs_import(&in, err, sizeof(err));
		/* CERTS_TEST_VERBOSE=1 shows every message, for review. */
		if (getenv("CERTS_TEST_VERBOSE") != NULL)
			fprintf(stderr, "%-40s %s\n", c->name,
			    info != NULL ? "accepted" : err);
		if (c->expect == NULL) {
			if (info == NULL)
				fail_msg("%s: refused: %s", c->name, err);
		} else {
			if (info != NULL)
				fail_msg("%s: accepted", c->name);
			if (strstr(err, c->expect) == NULL ||
			    (c->expect2 != NULL &&
			    strstr(err, c->expect2) == NULL))
				fail_msg("%s: message \"%s\", expected \"%s\"",
				    c->name, err, c->expect);
			assert_int_equal(errno, EINVAL);
			/* Never a key's bytes in a message. */
			assert_null(strstr(err, "MII"));
		}
		certs_info_free(info);
		free((char *)(uintptr_t)in.cert_pem);
		free((char *)(uintptr_t)in.key_pem);
		free((char *)(uintptr_t)in.chain_pem);
	}
}

static struct certs_info *
import_files(const char *cert, const char *key, const char *chain,
    time_t now)
{
	char err[CERTS_ERR_MAX];
	struct certs_input in;
	struct certs_info *info;
	size_t cl, kl, hl;

	memset(&in, 0, sizeof(in));
	in.cert_pem = cat_files(cert, &cl);
	in.cert_len = cl;
	in.key_pem = cat_files(key, &kl);
	in.key_len = kl;
	in.chain_pem = cat_files(chain, &hl);
	in.chain_len = hl;
	in.now = now;
	info = certs_import(&in, err, sizeof(err));
	if (info == NULL)
		fail_msg("import %s: %s", cert, err);
	free((char *)(uintptr_t)in.cert_pem);
	free((char *)(uintptr_t)in.key_pem);
	free((char *)(uintptr_t)in.chain_pem);
	return info;
}

/* openssl's "sha256 Fingerprint=AB:..." (or "SHA256 ..."): the value. */
static const char *
after_eq(void)
{
	char *p = strchr(out, '=');

	assert_non_null(p);
	p[strcspn(p, "\r\n")] = '\0';
	return p + 1;
}

static void
test_import_info(void **state)
{
	struct certs_info *info;
	time_t nb, na;
	json_t *j;
	char *s;

	(void)state;
	NEED_OPENSSL();
	/* The self-signed one: fingerprint, serial, names, key. */
	info = import_files("ec.crt", "ec.key", NULL, t0);
	assert_int_equal(run("openssl", "x509", "-in", "ec.crt", "-noout",
	    "-fingerprint", "-sha256", (const char *)NULL), 0);
	assert_string_equal(info->fingerprint, after_eq());
	assert_int_equal(run("openssl", "x509", "-in", "ec.crt", "-noout",
	    "-serial", (const char *)NULL), 0);
	assert_string_equal(info->serial, after_eq());
	assert_string_equal(info->subject, "CN=gw.example");
	assert_string_equal(info->issuer, "CN=gw.example");
	assert_true(info->self_signed);
	assert_int_equal(info->key_type, CERTS_KEY_EC);
	assert_int_equal(info->key_bits, 256);
	assert_string_equal(info->key_text, "EC P-256");
	assert_string_equal(info->sig_alg, "ecdsa-with-SHA256");
	assert_int_equal(info->n_sans, 2);
	assert_int_equal(info->sans[0].type, CERTS_SAN_DNS);
	assert_string_equal(info->sans[0].value, "gw.example");
	assert_int_equal(info->sans[1].type, CERTS_SAN_IP);
	assert_string_equal(info->sans[1].value, "192.0.2.7");
	assert_int_equal(info->chain_len, 0);
	assert_int_equal(info->chain_not_after, 0);
	/* openssl req -days 30 from about t0. */
	assert_true(info->not_before <= t0 && info->not_before > t0 - 600);
	assert_int_equal(info->not_after - info->not_before, 30 * DAY);
	assert_int_equal(certs_days_left(info, info->not_before), 30);
	assert_int_equal(certs_days_left(info, info->not_before + 1), 29);
	assert_false(certs_expires_soon(info, info->not_before));
	assert_true(certs_expires_soon(info, info->not_before + 1));
	j = certs_info_json(info, info->not_before + 1);
	assert_non_null(j);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"san\":{\"dns\":[\"gw.example\"],"
	    "\"ip\":[\"192.0.2.7\"]}"));
	assert_non_null(strstr(s, "\"key\":{\"bits\":256,\"name\":"
	    "\"EC P-256\",\"type\":\"EC\"}"));
	assert_non_null(strstr(s, "\"chain_not_after\":null"));
	assert_non_null(strstr(s, "\"expires_soon\":true"));
	assert_non_null(strstr(s, "\"valid\":true"));
	assert_non_null(strstr(s, "\"warnings\":[]"));
	assert_string_equal(json_string_value(json_object_get(j,
	    "fingerprint_sha256")), info->fingerprint);
	free(s);
	json_decref(j);
	certs_info_free(info);

	/* A chain: the server certificate's facts, the chain's expiry. */
	info = import_files("leaf.crt", "leaf.key", "inter.crt root.crt", t0);
	assert_int_equal(run("openssl", "x509", "-in", "leaf.crt", "-noout",
	    "-fingerprint", "-sha256", (const char *)NULL), 0);
	assert_string_equal(info->fingerprint, after_eq());
	assert_string_equal(info->subject, "CN=leaf.example");
	assert_string_equal(info->issuer, "CN=Sluice Test Intermediate");
	assert_string_equal(info->serial, "03");
	assert_false(info->self_signed);
	assert_int_equal(info->chain_len, 2);
	assert_int_equal(info->n_sans, 2);
	assert_string_equal(info->sans[0].value, "leaf.example");
	assert_string_equal(info->sans[1].value, "192.0.2.20");
	assert_int_equal(info->warnings, 0);
	/* The leaf (90 days) expires before the intermediate (1000). */
	assert_true(info->chain_not_after > info->not_after);
	assert_int_equal(certs_expiry(info), info->not_after);
	j = certs_info_json(info, t0);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "chain_length")), 2);
	assert_string_equal(json_string_value(json_object_get(j,
	    "chain_not_after")), certs_time_text(info->chain_not_after,
	    (char[CERTS_TIME_TEXT]){0}));
	assert_int_equal(json_integer_value(json_object_get(j, "days_left")),
	    certs_days_left(info, t0));
	json_decref(j);
	certs_info_free(info);

	/* Short intermediate: it is what expires first. */
	info = import_files("leafx.crt interx.crt", "leaf.key", NULL, t0);
	assert_true(info->chain_not_after < info->not_after);
	assert_int_equal(certs_expiry(info), info->chain_not_after);
	nb = info->chain_not_after;
	assert_int_equal(certs_days_left(info, t0), (nb - t0) / DAY);
	certs_info_free(info);

	/* Accepted with a warning: no SAN; CA:TRUE. */
	info = import_files("nosan.crt", "ec.key", NULL, t0);
	assert_int_equal(info->warnings, CERTS_WARN_NO_SAN);
	assert_int_equal(info->n_sans, 0);
	j = certs_info_json(info, t0);
	assert_non_null(j);
	s = json_dumps(json_object_get(j, "warnings"), JSON_ENCODE_ANY |
	    JSON_COMPACT);
	assert_string_equal(s, "[\"no_san\"]");
	free(s);
	json_decref(j);
	certs_info_free(info);
	info = import_files("caleaf.crt", "ec.key", NULL, t0);
	assert_int_equal(info->warnings, CERTS_WARN_CA_LEAF);
	certs_info_free(info);

	/* Inspect: an expired certificate still shows. */
	s = cat_files("ec.crt", &(size_t){0});
	{
		char err[CERTS_ERR_MAX];

		info = certs_inspect(s, strlen(s), err, sizeof(err));
	}
	assert_non_null(info);
	na = t0 + 400L * DAY;
	assert_true(certs_days_left(info, na) < 0);
	j = certs_info_json(info, na);
	assert_true(json_is_true(json_object_get(j, "expired")));
	assert_true(json_is_false(json_object_get(j, "valid")));
	json_decref(j);
	certs_info_free(info);
	free(s);
}

/* ---- Expiry helpers -------------------------------------------------- */

struct expiry_case {
	long leaf, chain;       /* notAfter - now; chain 0: no chain */
	long days;
	bool soon;
};

static const struct expiry_case expiry_cases[] = {
	{ 400L * DAY, 0, 400, false },
	{ 31L * DAY, 0, 31, false },
	{ 30L * DAY, 0, 30, false },
	{ 30L * DAY - 1, 0, 29, true },
	{ DAY, 0, 1, true },
	{ DAY - 1, 0, 0, true },
	{ 0, 0, 0, true },
	{ -1, 0, -1, true },
	{ -DAY, 0, -1, true },
	{ -DAY - 1, 0, -2, true },
	{ 400L * DAY, 10L * DAY, 10, true },     /* the chain expires first */
	{ 10L * DAY, 400L * DAY, 10, true },
	{ 400L * DAY, 45L * DAY, 45, false },
};

static void
test_expiry(void **state)
{
	const time_t now = 1800000000;
	struct certs_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(expiry_cases) / sizeof(expiry_cases[0]); i++) {
		const struct expiry_case *c = &expiry_cases[i];

		memset(&info, 0, sizeof(info));
		info.not_before = now - 100L * DAY;
		info.not_after = now + c->leaf;
		info.chain_not_after = c->chain != 0 ? now + c->chain : 0;
		if (certs_days_left(&info, now) != c->days ||
		    certs_expires_soon(&info, now) != c->soon)
			fail_msg("case %zu: days %ld soon %d, expected %ld %d",
			    i, certs_days_left(&info, now),
			    certs_expires_soon(&info, now), c->days, c->soon);
	}
}

/* ---- Generation: self-signed and CSR ---------------------------------- */

struct gen_key {
	const char *name;
	enum keygen_type type;      /* 0: the file below, from openssl */
	unsigned bits;
	const char *file;
	const char *sigalg, *keytext;
	bool rsa;
};

static const struct gen_key gen_keys[] = {
	{ "EC P-256 (keygen)", KEYGEN_EC_P256, 0, NULL,
	  "ecdsa-with-SHA256", "EC P-256", false },
	{ "RSA 2048 (keygen)", KEYGEN_RSA, 2048, NULL,
	  "sha256WithRSAEncryption", "RSA 2048", true },
	{ "RSA 3072 (keygen)", KEYGEN_RSA, 3072, NULL,
	  "sha256WithRSAEncryption", "RSA 3072", true },
	{ "EC P-384 (openssl)", 0, 0, "p384.key", "ecdsa-with-SHA384",
	  "EC P-384", false },
	{ "EC key after EC PARAMETERS (openssl)", 0, 0, "ecparam.key",
	  "ecdsa-with-SHA256", "EC P-256", false },
};

static const char *const gen_sans[] = {
	"GW.Example", "gw", "192.0.2.10", "2001:db8::1", "*.gw.example",
	"gw.example", "192.0.2.10",
};

static char *
gen_key_pem(const struct gen_key *k, size_t *len)
{
	char *pem, *copy;

	if (k->type == 0)
		return cat_files(k->file, len);
	assert_int_equal(keygen_private_pem(k->type, k->bits, &pem, len), 0);
	/* keygen's buffer must be wiped with keygen_free_pem: copy it. */
	copy = malloc(*len + 1);
	assert_non_null(copy);
	memcpy(copy, pem, *len + 1);
	keygen_free_pem(pem, *len);
	return copy;
}

static bool
has(const char *needle)
{
	return strstr(out, needle) != NULL;
}

#define ASSERT_OUT(needle) do {						\
		if (!has(needle))					\
			fail_msg("%s: \"%s\" not in openssl's output:\n%s", \
			    k->name, needle, out);			\
	} while (0)

static void
check_x509_text(const struct gen_key *k)
{
	ASSERT_OUT("Version: 3 (0x2)");
	ASSERT_OUT("Subject: CN = gw.example");
	ASSERT_OUT("Issuer: CN = gw.example");
	ASSERT_OUT(k->sigalg);
	ASSERT_OUT("X509v3 Basic Constraints: critical");
	ASSERT_OUT("CA:FALSE");
	ASSERT_OUT("X509v3 Key Usage: critical");
	ASSERT_OUT(k->rsa ? "Digital Signature, Key Encipherment" :
	    "Digital Signature\n");
	ASSERT_OUT("X509v3 Extended Key Usage: \n"
	    "                TLS Web Server Authentication\n");
	ASSERT_OUT("X509v3 Subject Key Identifier");
	ASSERT_OUT("X509v3 Subject Alternative Name: \n                "
	    "DNS:gw.example, DNS:gw, IP Address:192.0.2.10, "
	    "IP Address:2001:DB8:0:0:0:0:0:1, DNS:*.gw.example\n");
	assert_false(has("Authority Key Identifier"));
}

static void
test_self_signed(void **state)
{
	char err[CERTS_ERR_MAX], sec[32], *key, *pem;
	struct certs_request r;
	struct certs_info *info;
	struct certs_input in;
	size_t i, klen, len;
	time_t now;

	(void)state;
	NEED_OPENSSL();
	for (i = 0; i < sizeof(gen_keys) / sizeof(gen_keys[0]); i++) {
		const struct gen_key *k = &gen_keys[i];

		key = gen_key_pem(k, &klen);
		now = time(NULL);
		memset(&r, 0, sizeof(r));
		r.key_pem = key;
		r.key_len = klen;
		r.common_name = "gw.example";
		r.sans = gen_sans;
		r.n_sans = sizeof(gen_sans) / sizeof(gen_sans[0]);
		r.now = now;
		pem = NULL;
		if (certs_self_signed(&r, &pem, &len, err, sizeof(err)) != 0)
			fail_msg("%s: %s", k->name, err);
		assert_int_equal(strlen(pem), len);
		assert_int_equal(write_file("gen.crt", pem, len), 0);

		/* The peer's view of it. */
		assert_int_equal(run("openssl", "x509", "-in", "gen.crt",
		    "-noout", "-text", (const char *)NULL), 0);
		check_x509_text(k);
		/* The signature verifies (a self-signed certificate is its
		 * own trust anchor). */
		if (run("openssl", "verify", "-CAfile", "gen.crt", "gen.crt",
		    (const char *)NULL) != 0 || !has("gen.crt: OK"))
			fail_msg("%s: openssl verify: %s", k->name, out);
		/* The serial: 16 bytes, positive (top bit clear). */
		assert_int_equal(run("openssl", "x509", "-in", "gen.crt",
		    "-noout", "-serial", (const char *)NULL), 0);
		assert_int_equal(strlen(after_eq()), 32);
		assert_true(strchr("4567", after_eq()[0]) != NULL);
		/* Validity: 397 days from an hour ago, by the peer's clock. */
		snprintf(sec, sizeof(sec), "%ld", 396L * DAY);
		assert_int_equal(run("openssl", "x509", "-in", "gen.crt",
		    "-noout", "-checkend", sec, (const char *)NULL), 0);
		snprintf(sec, sizeof(sec), "%ld", 397L * DAY);
		assert_int_equal(run("openssl", "x509", "-in", "gen.crt",
		    "-noout", "-checkend", sec, (const char *)NULL), 1);

		/* And ours: exact times, the names deduplicated. */
		memset(&in, 0, sizeof(in));
		in.cert_pem = pem;
		in.cert_len = len;
		in.key_pem = key;
		in.key_len = klen;
		in.now = now;
		info = certs_import(&in, err, sizeof(err));
		if (info == NULL)
			fail_msg("%s: our own certificate refused: %s",
			    k->name, err);
		assert_int_equal(info->not_before, now - CERTS_BACKDATE_S);
		assert_int_equal(info->not_after - info->not_before,
		    397L * DAY - 1);
		assert_int_equal(info->n_sans, 5);
		assert_string_equal(info->sans[3].value, "2001:db8::1");
		assert_string_equal(info->sig_alg, k->sigalg);
		assert_string_equal(info->key_text, k->keytext);
		assert_true(info->self_signed);
		assert_int_equal(info->warnings, 0);
		assert_int_equal(certs_days_left(info, now), 396);
		assert_false(certs_expires_soon(info, now));
		certs_info_free(info);
		free(pem);
		free(key);
	}
}

static void
test_self_signed_days(void **state)
{
	char err[CERTS_ERR_MAX], *key, *pem, *pem2;
	struct certs_info *info, *info2;
	struct certs_request r;
	size_t klen, len, len2;

	(void)state;
	assert_int_equal(keygen_private_pem(KEYGEN_EC_P256, 0, &key, &klen),
	    0);
	memset(&r, 0, sizeof(r));
	r.key_pem = key;
	r.key_len = klen;
	r.common_name = "192.0.2.1";    /* an address as the CN: in the SAN */
	r.now = 1800000000;             /* 2027-01-15T08:00:00Z */
	r.days = CERTS_DAYS_MAX;
	assert_int_equal(certs_self_signed(&r, &pem, &len, err, sizeof(err)),
	    0);
	info = certs_inspect(pem, len, err, sizeof(err));
	assert_non_null(info);
	assert_int_equal(info->not_before, r.now - CERTS_BACKDATE_S);
	assert_int_equal(info->not_after, r.now - CERTS_BACKDATE_S +
	    825L * DAY - 1);
	assert_int_equal(info->n_sans, 1);
	assert_int_equal(info->sans[0].type, CERTS_SAN_IP);
	assert_string_equal(info->sans[0].value, "192.0.2.1");
	assert_string_equal(info->subject, "CN=192.0.2.1");
	/* A fresh serial every time, with the same key and time. */
	assert_int_equal(certs_self_signed(&r, &pem2, &len2, err,
	    sizeof(err)), 0);
	info2 = certs_inspect(pem2, len2, err, sizeof(err));
	assert_non_null(info2);
	assert_int_equal(strlen(info2->serial), 32);
	assert_string_not_equal(info->serial, info2->serial);
	certs_info_free(info2);
	free(pem2);
	/* Past 2049 the times are GeneralizedTime (RFC 5280 4.1.2.5). */
	r.now = 2506118400;             /* 2049-06-01T00:00:00Z */
	assert_int_equal(certs_self_signed(&r, &pem2, &len2, err,
	    sizeof(err)), 0);
	certs_info_free(info);
	info = certs_inspect(pem2, len2, err, sizeof(err));
	assert_non_null(info);
	assert_int_equal(info->not_before, r.now - CERTS_BACKDATE_S);
	assert_int_equal(info->not_after, r.now - CERTS_BACKDATE_S +
	    825L * DAY - 1);
	if (have_openssl) {
		assert_int_equal(write_file("gen2050.crt", pem2, len2), 0);
		assert_int_equal(run("openssl", "x509", "-in", "gen2050.crt",
		    "-noout", "-enddate", (const char *)NULL), 0);
		assert_true(has("notAfter=Sep  3 22:59:59 2051 GMT"));
	}
	certs_info_free(info);
	free(pem);
	free(pem2);
	keygen_free_pem(key, klen);
}

struct gen_err_case {
	const char *name;
	const char *keyfile;        /* NULL: a keygen EC key */
	const char *cn;
	const char *san;            /* one SAN, or NULL */
	size_t n_sans;              /* 0 or 1, or a count of san copies */
	unsigned days;
	long now;                   /* 0: now */
	const char *expect;
};

static const struct gen_err_case gen_err_cases[] = {
	{ "empty CN", NULL, "", NULL, 0, 0, 0,
	  "the common name is empty (expected the console's host name)" },
	{ "long CN", NULL, "a23456789.b23456789.c23456789.d23456789."
	  "e23456789.f23456789.g2345", NULL, 0, 0, 0,
	  "is longer than 64 bytes (X.520 ub-common-name)" },
	{ "CN with a space", NULL, "bad host", NULL, 0, 0, 0,
	  "the common name \"bad host\" is neither an IP address nor a valid "
	  "host name: it has a character other than letters, digits, '-' "
	  "and '.'" },
	{ "SAN with a space", NULL, "gw.example", "exa mple.com", 1, 0, 0,
	  "subject alternative name 1 (\"exa mple.com\") is neither an IP "
	  "address nor a valid DNS name: it has a character other than" },
	{ "SAN starting with -", NULL, "gw.example", "-a.example", 1, 0, 0,
	  "a label starts with '-'" },
	{ "SAN ending with -", NULL, "gw.example", "a-.example", 1, 0, 0,
	  "a label ends with '-'" },
	{ "SAN with an empty label", NULL, "gw.example", "a..example", 1, 0,
	  0, "it has an empty label" },
	{ "SAN with a trailing dot", NULL, "gw.example", "gw.example.", 1, 0,
	  0, "it has an empty label" },
	{ "SAN of a bad address", NULL, "gw.example", "192.168.1.300", 1, 0,
	  0, "its last label is all digits (not an address either)" },
	{ "SAN with a zone", NULL, "gw.example", "fe80::1%eth0", 1, 0, 0,
	  "(\"fe80::1%eth0\") is neither an IP address nor a valid DNS name" },
	{ "SAN with a long label", NULL, "gw.example", "a234567890123456789"
	  "0123456789012345678901234567890123456789012345.example", 1, 0, 0,
	  "a label is longer than 63 bytes" },
	{ "too many SANs", NULL, "gw.example", "gw.example",
	  CERTS_SAN_MAX + 1, 0, 0,
	  "65 subject alternative names (at most 64)" },
	{ "826 days", NULL, "gw.example", NULL, 0, 826, 0,
	  "a validity of 826 days is longer than the maximum of 825" },
	{ "clock unset", NULL, "gw.example", NULL, 0, 0, 5,
	  "the clock says 1970-01-01T00:00:05Z: set the time (NTP) first" },
	{ "RSA 1024 key", "rsa1024.key", "gw.example", NULL, 0, 0, 0,
	  "key is RSA 1024 bits (expected at least 2048)" },
	{ "P-521 key", "p521.key", "gw.example", NULL, 0, 0, 0,
	  "key is EC on P-521 (expected P-256 or P-384)" },
	{ "encrypted key", "enc.key", "gw.example", NULL, 0, 0, 0,
	  "block 1 of the key input is an encrypted private key" },
	{ "garbage key", "garbage.txt", "gw.example", NULL, 0, 0, 0,
	  "no private key in the key input" },
	{ "two keys", "ec.key ec2.key", "gw.example", NULL, 0, 0, 0,
	  "the key input holds more than one private key" },
};

static void
test_generate_errors(void **state)
{
	const char *sans[CERTS_SAN_MAX + 1];
	char err[CERTS_ERR_MAX], *key, *pem;
	struct certs_request r;
	size_t i, j, klen, len;
	int csr;

	(void)state;
	for (i = 0; i < sizeof(gen_err_cases) / sizeof(gen_err_cases[0]);
	    i++) {
		const struct gen_err_case *c = &gen_err_cases[i];

		if (c->keyfile != NULL && !have_openssl)
			continue;
		if (c->keyfile != NULL)
			key = cat_files(c->keyfile, &klen);
		else {
			assert_int_equal(keygen_private_pem(KEYGEN_EC_P256,
			    0, &pem, &klen), 0);
			key = strdup(pem);
			keygen_free_pem(pem, klen);
		}
		for (j = 0; j < c->n_sans; j++)
			sans[j] = c->san;
		memset(&r, 0, sizeof(r));
		r.key_pem = key;
		r.key_len = klen;
		r.common_name = c->cn;
		r.sans = sans;
		r.n_sans = c->n_sans;
		r.days = c->days;
		r.now = c->now != 0 ? c->now : time(NULL);
		/* Validity errors concern only the self-signed certificate. */
		for (csr = 0; csr < 2; csr++) {
			if (csr && (c->days != 0 || c->now != 0))
				continue;
			pem = (char *)0x1;
			len = 7;
			err[0] = '\0';
			if ((csr ? certs_csr(&r, &pem, &len, err, sizeof(err)) :
			    certs_self_signed(&r, &pem, &len, err,
			    sizeof(err))) != -1)
				fail_msg("%s: accepted", c->name);
			if (strstr(err, c->expect) == NULL)
				fail_msg("%s%s: message \"%s\", expected "
				    "\"%s\"", c->name, csr ? " (CSR)" : "",
				    err, c->expect);
			assert_int_equal(errno, EINVAL);
			/* Out-parameters untouched. */
			assert_ptr_equal(pem, (char *)0x1);
			assert_int_equal(len, 7);
		}
		free(key);
	}
}

static void
test_csr(void **state)
{
	char err[CERTS_ERR_MAX], *key, *pem;
	struct certs_request r;
	struct certs_info *info;
	size_t i, klen, len;

	(void)state;
	NEED_OPENSSL();
	for (i = 0; i < 2; i++) {
		const struct gen_key *k = &gen_keys[i];

		key = gen_key_pem(k, &klen);
		memset(&r, 0, sizeof(r));
		r.key_pem = key;
		r.key_len = klen;
		r.common_name = "gw.example";
		r.sans = gen_sans;
		r.n_sans = sizeof(gen_sans) / sizeof(gen_sans[0]);
		if (certs_csr(&r, &pem, &len, err, sizeof(err)) != 0)
			fail_msg("%s: %s", k->name, err);
		assert_int_equal(strlen(pem), len);
		assert_non_null(strstr(pem,
		    "-----BEGIN CERTIFICATE REQUEST-----"));
		assert_int_equal(write_file("gen.csr", pem, len), 0);
		assert_int_equal(write_file("gen.key", key, klen), 0);
		/* Its signature verifies, and the peer reads the SANs. */
		if (run("openssl", "req", "-in", "gen.csr", "-verify",
		    "-noout", (const char *)NULL) != 0 || !has("verify OK"))
			fail_msg("%s: openssl req -verify: %s", k->name, out);
		assert_int_equal(run("openssl", "req", "-in", "gen.csr",
		    "-noout", "-text", (const char *)NULL), 0);
		ASSERT_OUT("Subject: CN = gw.example");
		ASSERT_OUT(k->rsa ? "sha256WithRSAEncryption" :
		    "ecdsa-with-SHA256");
		ASSERT_OUT("Requested Extensions:");
		ASSERT_OUT("X509v3 Subject Alternative Name: \n"
		    "                    DNS:gw.example, DNS:gw, "
		    "IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1, "
		    "DNS:*.gw.example\n");
		/* A CA signs it (copying the requested SAN); the result
		 * imports with the CA's chain. */
		assert_int_equal(run("openssl", "x509", "-req", "-in",
		    "gen.csr", "-CA", "inter.crt", "-CAkey", "inter.key",
		    "-set_serial", "77", "-days", "60", "-copy_extensions",
		    "copy", "-extfile", "test.cnf", "-extensions",
		    "v3_fromcsr", "-sha256", "-out", "fromcsr.crt",
		    (const char *)NULL), 0);
		info = import_files("fromcsr.crt", "gen.key",
		    "inter.crt root.crt", time(NULL));
		assert_int_equal(info->n_sans, 5);
		assert_string_equal(info->sans[0].value, "gw.example");
		assert_string_equal(info->sans[4].value, "*.gw.example");
		assert_string_equal(info->issuer,
		    "CN=Sluice Test Intermediate");
		certs_info_free(info);
		free(pem);
		free(key);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_table),
		cmocka_unit_test(test_import_info),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_self_signed),
		cmocka_unit_test(test_self_signed_days),
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_csr),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
