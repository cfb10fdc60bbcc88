/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_fw.c - the firewall core: config bytes (build, check, refusals),
 * IR and golden nft text.
 *
 * Golden files: test/firewall/golden/NAME.yaml -> NAME.nft, plus
 * default.nft for the embedded default.  SLUICE_REGEN=1 rewrites them.
 * When `nft` is installed and we are root, each golden file is also
 * loaded with `nft -c -f` (check only: nothing changes).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fw.h"
#include "policy.h"

#define GOLDEN_DIR	TEST_SRCDIR "/firewall/golden"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	assert_non_null(buf = malloc((size_t)len + 1));
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static struct policy *
load_str(const char *yaml)
{
	struct policy_error err;
	struct policy *p = policy_load_buffer("t.yaml", yaml, strlen(yaml),
	    NULL, &err);

	if (p == NULL)
		fail_msg("%s", err.msg);
	return p;
}

/* policy (+ bans) -> rendered text, through the checked config. */
static char *
render(const struct policy *p, const struct fw_ban *bans, size_t nbans)
{
	char err[256], *text = NULL;
	size_t len, tlen;
	struct fw_ir *ir;
	void *cfg;
	FILE *f;

	assert_non_null(cfg = fw_config_from_policy(p, bans, nbans, &len));
	if (fw_config_check(cfg, len, err, sizeof(err)) == -1)
		fail_msg("check: %s", err);
	assert_non_null(ir = fw_build(cfg, len));
	assert_non_null(f = open_memstream(&text, &tlen));
	assert_int_equal(fw_render_nft(ir, f), 0);
	fclose(f);
	fw_ir_free(ir);
	free(cfg);
	return text;
}

static bool
nft_usable(void)
{
	return geteuid() == 0 && (access("/usr/sbin/nft", X_OK) == 0 ||
	    access("/sbin/nft", X_OK) == 0);
}

/* `nft -c -f path`: 0 when nft accepts the file. */
static int
nft_check(const char *path)
{
	int status, fd;
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDOUT_FILENO);
		execl(access("/usr/sbin/nft", X_OK) == 0 ? "/usr/sbin/nft" :
		    "/sbin/nft", "nft", "-c", "-f", path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The bans every golden run uses (bans-management shows them). */
static const struct fw_ban golden_bans[] = {
	{ 4, { 0 }, 120, { 203, 0, 113, 7 } },
	{ 4, { 0 }, 600, { 10, 9, 9, 9 } },	/* inside management */
	{ 6, { 0 }, 30, { 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 1 } },
};

static int
golden_one(const char *name, const struct policy *p, bool regen,
    bool check_nft)
{
	char path[1024], *want, *got;
	bool with_bans = strcmp(name, "bans-management") == 0;
	int failed = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.nft", GOLDEN_DIR, name);
	got = render(p, with_bans ? golden_bans : NULL, with_bans ?
	    sizeof(golden_bans) / sizeof(golden_bans[0]) : 0);
	if (regen) {
		assert_non_null(f = fopen(path, "w"));
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
	}
	want = slurp(path);
	if (want == NULL || strcmp(want, got) != 0) {
		print_error("%s: rendering differs from %s (SLUICE_REGEN=1 "
		    "rewrites it)\n", name, path);
		failed = 1;
	}
	if (check_nft && nft_check(path) != 0) {
		print_error("%s: nft -c -f rejects it\n", path);
		failed = 1;
	}
	free(want);
	free(got);
	return failed;
}

static void
test_golden(void **state)
{
	struct policy_error err;
	const char *regen = getenv("SLUICE_REGEN");
	bool rg = regen != NULL && strcmp(regen, "1") == 0;
	bool nft = nft_usable();
	struct dirent *de;
	struct policy *p;
	size_t n = 0;
	int failed = 0;
	DIR *d;

	(void)state;
	if (!nft)
		print_message("    nft -c skipped: needs root and nft\n");
	assert_non_null(p = policy_load_default(&err));
	failed += golden_one("default", p, rg, nft);
	policy_free(p);
	assert_non_null(d = opendir(GOLDEN_DIR));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char in[1024], name[256];

		if (len < 6 || len - 5 >= sizeof(name) ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5),
		    de->d_name);
		snprintf(in, sizeof(in), "%s/%s", GOLDEN_DIR, de->d_name);
		if ((p = policy_load_file(in, &err)) == NULL)
			fail_msg("%s", err.msg);
		failed += golden_one(name, p, rg, nft);
		policy_free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 8);
	assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------------ */
/* Config bytes                                                        */
/* ------------------------------------------------------------------ */

static const char acl_yaml[] =
    "base: hardened\n"
    "services: { modbus-tcp: { enabled: true } }\n"
    "accessible_ip:\n"
    "  activate: true\n"
    "  entries:\n"
    "    - { address: 10.0.0.0/24 }\n"
    "    - { address: 10.0.1.0/24 }\n"
    "    - { address: 10.0.2.0/24, active: false }\n"
    "    - { address: \"2001:db8::/32\" }\n"
    "firewall: { management: [192.168.0.0/16, \"fd00::/8\"] }\n";

static void *
acl_config(size_t *len)
{
	static const struct fw_ban bans[] = {
		{ 6, { 0 }, 5, { 0x20, 0x01, [15] = 2 } },
		{ 4, { 0 }, 10, { 1, 2, 3, 4 } },
		{ 4, { 0 }, 20, { 1, 2, 3, 4 } },	/* merged: 20 */
		{ 4, { 0 }, 0, { 1, 2, 3, 5 } },	/* dropped */
		{ 4, { 0 }, 999999999, { 1, 2, 3, 3 } },	/* clipped */
	};
	struct policy *p = load_str(acl_yaml);
	void *cfg = fw_config_from_policy(p, bans, 5, len);

	policy_free(p);
	assert_non_null(cfg);
	return cfg;
}

static void
test_config_build(void **state)
{
	struct fw_config_header h;
	struct fw_ban b[3];
	char err[256];
	size_t len;
	uint8_t *cfg;

	(void)state;
	cfg = acl_config(&len);
	assert_int_equal(fw_config_check(cfg, len, err, sizeof(err)), 0);
	memcpy(&h, cfg, sizeof(h));
	assert_int_equal(h.length, len);
	assert_int_equal(h.n_acl4, 2);		/* the inactive one is left out */
	assert_int_equal(h.n_acl6, 1);
	assert_int_equal(h.n_mgmt4, 1);
	assert_int_equal(h.n_mgmt6, 1);
	assert_int_equal(h.n_bans, 3);
	assert_true(h.flags & FW_F_ACL_ACTIVE);
	assert_false(h.flags & FW_F_ACL_ALL);
	memcpy(b, cfg + len - sizeof(b), sizeof(b));
	assert_int_equal(b[0].family, 4);
	assert_int_equal(b[0].addr[3], 3);
	assert_int_equal(b[0].seconds, FW_MAX_BAN_SECONDS);
	assert_int_equal(b[1].addr[3], 4);
	assert_int_equal(b[1].seconds, 20);
	assert_int_equal(b[2].family, 6);
	free(cfg);
}

static void
test_config_truncated(void **state)
{
	char err[256];
	size_t len, i;
	uint8_t *cfg, *copy;

	(void)state;
	cfg = acl_config(&len);
	/* Every shorter prefix fails, read from an exact-size heap copy. */
	for (i = 0; i < len; i++) {
		assert_non_null(copy = malloc(i ? i : 1));
		memcpy(copy, cfg, i);
		assert_int_equal(fw_config_check(copy, i, err, sizeof(err)),
		    -1);
		free(copy);
	}
	assert_int_equal(fw_config_check(NULL, 0, err, sizeof(err)), -1);
	free(cfg);
}

/* Offsets into the acl config. */
static size_t
off_prefixes(const uint8_t *cfg)
{
	struct fw_config_header h;

	memcpy(&h, cfg, sizeof(h));
	return sizeof(h) + h.n_ports * sizeof(struct fw_port);
}

struct mutation {
	const char *what;
	void (*fn)(uint8_t *cfg, size_t len);
	const char *msg;	/* substring of the error */
};

#define HDR_FIELD(cfg, field) \
	((cfg) + offsetof(struct fw_config_header, field))

static void
put32(uint8_t *at, uint32_t v)
{
	memcpy(at, &v, 4);
}

static void mut_magic(uint8_t *c, size_t l) { (void)l; c[0] ^= 1; }
static void mut_version(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, version), 2); }
static void mut_length(uint8_t *c, size_t l) { put32(HDR_FIELD(c, length), (uint32_t)l + 20); }
static void mut_flags(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, flags), 0x80000000u); }
static void mut_acl_all(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, flags), FW_F_ACL_ALL); }
static void mut_count(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, n_acl4), 3); }
static void mut_count_huge(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, n_bans), 0xffffffffu); }
static void mut_ban_s(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, ban_seconds), 0); }
static void mut_port0(uint8_t *c, size_t l) { (void)l; memset(c + sizeof(struct fw_config_header), 0, 2); }
static void mut_transport(uint8_t *c, size_t l) { (void)l; c[sizeof(struct fw_config_header) + 2] = 4; }
static void mut_prefix_len(uint8_t *c, size_t l) { (void)l; c[off_prefixes(c) + 1] = 33; }
static void mut_family(uint8_t *c, size_t l) { (void)l; c[off_prefixes(c)] = 6; }
static void mut_host_bits(uint8_t *c, size_t l) { (void)l; c[off_prefixes(c) + 4 + 3] = 1; }
static void mut_v4_tail(uint8_t *c, size_t l) { (void)l; c[off_prefixes(c) + 4 + 9] = 1; }
static void
mut_unsorted(uint8_t *c, size_t l)
{
	size_t o = off_prefixes(c);
	uint8_t tmp[sizeof(struct fw_prefix)];

	(void)l;
	memcpy(tmp, c + o, sizeof(tmp));
	memcpy(c + o, c + o + sizeof(tmp), sizeof(tmp));
	memcpy(c + o + sizeof(tmp), tmp, sizeof(tmp));
}
static void
mut_overlap(uint8_t *c, size_t l)
{
	size_t o = off_prefixes(c);

	(void)l;
	c[o + 1] = 16;		/* 10.0.0.0/16 now covers 10.0.1.0/24 */
}
static void
mut_ban_dup(uint8_t *c, size_t l)
{
	size_t s = sizeof(struct fw_ban);

	memcpy(c + l - 2 * s, c + l - 3 * s, s);
}
static void mut_ban_0(uint8_t *c, size_t l) { memset(c + l - sizeof(struct fw_ban) + 4, 0, 4); }
static void mut_syn_rate(uint8_t *c, size_t l) { (void)l; put32(HDR_FIELD(c, syn_rate), 0); }

static const struct mutation mutations[] = {
	{ "magic", mut_magic, "magic" },
	{ "version", mut_version, "version" },
	{ "length", mut_length, "length" },
	{ "unknown flag", mut_flags, "flags" },
	{ "additional without active", mut_acl_all, "flags" },
	{ "count off by one", mut_count, "counts need" },
	{ "count huge", mut_count_huge, "cap" },
	{ "ban_seconds 0", mut_ban_s, "ban_seconds" },
	{ "port 0", mut_port0, "port" },
	{ "transport", mut_transport, "port" },
	{ "prefix 33", mut_prefix_len, "bad prefix" },
	{ "family", mut_family, "bad prefix" },
	{ "host bits", mut_host_bits, "bad prefix" },
	{ "v4 tail", mut_v4_tail, "bad prefix" },
	{ "unsorted", mut_unsorted, "not sorted" },
	{ "overlap", mut_overlap, "not sorted or overlaps" },
	{ "ban duplicate", mut_ban_dup, "bans" },
	{ "ban 0 s", mut_ban_0, "bans" },
	{ "syn rate 0", mut_syn_rate, "syn flood" },
};

static void
test_config_refusals(void **state)
{
	char err[256];
	size_t len, i, failed = 0;
	uint8_t *cfg, *copy;

	(void)state;
	cfg = acl_config(&len);
	for (i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		assert_non_null(copy = malloc(len));
		memcpy(copy, cfg, len);
		mutations[i].fn(copy, len);
		err[0] = '\0';
		if (fw_config_check(copy, len, err, sizeof(err)) != -1 ||
		    strstr(err, mutations[i].msg) == NULL) {
			print_error("%s: got \"%s\"\n", mutations[i].what, err);
			failed++;
		}
		assert_null(fw_build(copy, len));
		free(copy);
	}
	/* A trailing byte. */
	assert_non_null(copy = calloc(1, len + 1));
	memcpy(copy, cfg, len);
	assert_int_equal(fw_config_check(copy, len + 1, err, sizeof(err)), -1);
	free(copy);
	free(cfg);
	assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------------ */
/* IR semantics (guide 3.4)                                            */
/* ------------------------------------------------------------------ */

/* The rule accepting dport port for a source in (or not in) the ACL. */
static int
port_rules(const struct fw_ir *ir, uint32_t port, bool *acl_gated,
    bool *closed)
{
	size_t i;
	unsigned k;
	int n = 0;

	*acl_gated = *closed = false;
	for (i = 0; i < ir->n_rules; i++) {
		const struct fw_rule *r = &ir->rules[i];
		bool dport = false, saddr = false;

		for (k = 0; k < r->n; k++) {
			if (r->m[k].kind == FW_M_DPORT && r->m[k].a == port)
				dport = true;
			if (r->m[k].kind == FW_M_SADDR)
				saddr = true;
		}
		if (!dport)
			continue;
		n++;
		if (saddr && r->verdict == FW_V_ACCEPT)
			*acl_gated = true;
		if (r->verdict != FW_V_ACCEPT)
			*closed = true;
	}
	return n;
}

static struct fw_ir *
build_str(const char *yaml)
{
	struct policy *p = load_str(yaml);
	struct fw_ir *ir;
	size_t len;
	void *cfg;

	assert_non_null(cfg = fw_config_from_policy(p, NULL, 0, &len));
	assert_non_null(ir = fw_build(cfg, len));
	free(cfg);
	policy_free(p);
	return ir;
}

static void
test_acl_matrix(void **state)
{
	static const struct {
		const char *acl;
		bool proto_gated, svc_gated;
	} modes[] = {
		{ "{ activate: false }", false, false },
		{ "{ activate: true }", true, false },
		{ "{ activate: true, apply_additional_restrictions: true }",
		  true, true },
	};
	char yaml[512];
	bool gated, closed;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct fw_ir *ir;

		snprintf(yaml, sizeof(yaml), "base: hardened\n"
		    "services: { modbus-tcp: { enabled: true } }\n"
		    "accessible_ip: %s\n", modes[i].acl);
		ir = build_str(yaml);
		port_rules(ir, 502, &gated, &closed);
		assert_int_equal(gated, modes[i].proto_gated);
		assert_int_equal(closed, modes[i].proto_gated);
		port_rules(ir, 443, &gated, &closed);
		assert_int_equal(gated, modes[i].svc_gated);
		assert_int_equal(closed, modes[i].svc_gated);
		/* telnet is disabled: closed, never accepted */
		assert_true(port_rules(ir, 23, &gated, &closed) == 1);
		assert_true(closed && !gated);
		assert_true(ir->rules[0].m[0].kind == FW_M_IIF_LO);
		fw_ir_free(ir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_build),
		cmocka_unit_test(test_config_truncated),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_acl_matrix),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
