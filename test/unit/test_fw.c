/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_fw.c - the firewall core: config bytes (build, check, refusals),
 * IR and golden nft text, per-source drop accounting (drop targets, the
 * counters answer, the engine's per-source deltas).
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

/* ------------------------------------------------------------------ */
/* Per-source drop accounting                                          */
/* ------------------------------------------------------------------ */

static bool
has_match(const struct fw_rule *r, enum fw_match_kind k, uint32_t a)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (r->m[i].kind == k && r->m[i].a == a)
			return true;
	return false;
}

/*
 * Every counted drop except "invalid state" goes through a target; the
 * halves of a rule share one; each target gives its rules' verdict.
 */
static void
test_targets(void **state)
{
	static const char *const yamls[] = {
		"base: hardened\n",
		"base: hardened\nfirewall: { closed_ports: reject }\n"
		"accessible_ip: { activate: true, entries: "
		"[{ address: 10.0.0.0/8 }] }\n"
		"services: { modbus-tcp: { enabled: true } }\n",
	};
	size_t y, i;

	(void)state;
	for (y = 0; y < sizeof(yamls) / sizeof(yamls[0]); y++) {
		struct fw_ir *ir = build_str(yamls[y]);
		size_t uses[256] = { 0 };

		assert_true(ir->n_targets > 10 && ir->n_targets < 256);
		assert_int_equal(ir->sets[ir->src_sets[0]].type, FW_SET_IPV4);
		assert_int_equal(ir->sets[ir->src_sets[1]].type, FW_SET_IPV6);
		for (i = 0; i < 2; i++) {
			const struct fw_set *s = &ir->sets[ir->src_sets[i]];

			assert_true(s->flags & FW_SET_SOURCES);
			assert_true(s->flags & FW_SET_DYNAMIC);
			assert_int_equal(s->size, FW_SRC_SET_SIZE);
			assert_int_equal(s->timeout_s, FW_SRC_TIMEOUT_S);
		}
		for (i = 0; i < ir->n_rules; i++) {
			const struct fw_rule *r = &ir->rules[i];
			const struct fw_target *t;

			if (r->verdict == FW_V_ACCEPT || has_match(r,
			    FW_M_CT_STATE, FW_CT_INVALID)) {
				assert_int_equal(r->target, 0);
				continue;
			}
			assert_true(r->counter);
			assert_in_range(r->target, 1, ir->n_targets);
			t = &ir->targets[r->target - 1];
			assert_int_equal(t->id, r->target);
			assert_int_equal(t->verdict, r->verdict);
			assert_int_equal(t->tcp_reset, r->verdict ==
			    FW_V_REJECT && has_match(r, FW_M_L4PROTO,
			    IPPROTO_TCP));
			assert_true(t->rule <= i);
			assert_int_equal(fw_rule_head(ir, t->rule),
			    fw_rule_head(ir, i));
			uses[r->target]++;
		}
		for (i = 1; i <= ir->n_targets; i++) {
			const struct fw_target *t = &ir->targets[i - 1];
			const char *name =
			    ir->rules[fw_rule_head(ir, t->rule)].comment;

			assert_true(uses[i] >= 1);
			/* IPv4 and IPv6 halves: one target. */
			if (strcmp(name, "banned sources") == 0 ||
			    strcmp(name, "syn flood") == 0 ||
			    strstr(name, "per-source") == name)
				assert_int_equal(uses[i], 2);
		}
		fw_ir_free(ir);
	}
}

/* Without the accounting: same rules in the same order, other sets kept
 * under their names, no goto left in the text. */
static void
test_strip_sources(void **state)
{
	struct fw_ir *a, *b;
	char *text = NULL;
	size_t tlen, i;
	unsigned k;
	FILE *f;

	(void)state;
	a = build_str("base: hardened\n");
	b = build_str("base: hardened\n");
	fw_ir_strip_sources(b);
	fw_ir_strip_sources(b);		/* twice is fine */
	fw_ir_strip_sources(NULL);
	assert_int_equal(b->n_targets, 0);
	assert_int_equal(b->n_sets, a->n_sets - 2);
	assert_int_equal(fw_ir_set_find(b, "drop_src4"), -1);
	assert_int_equal(fw_ir_set_find(b, "drop_src6"), -1);
	assert_int_equal(b->n_rules, a->n_rules);
	for (i = 0; i < a->n_rules; i++) {
		assert_int_equal(b->rules[i].target, 0);
		assert_int_equal(b->rules[i].verdict, a->rules[i].verdict);
		assert_int_equal(b->rules[i].counter, a->rules[i].counter);
		for (k = 0; k < a->rules[i].n; k++)
			if (a->rules[i].m[k].set >= 0)
				assert_string_equal(
				    b->sets[b->rules[i].m[k].set].name,
				    a->sets[a->rules[i].m[k].set].name);
	}
	assert_non_null(f = open_memstream(&text, &tlen));
	assert_int_equal(fw_render_nft(b, f), 0);
	fclose(f);
	assert_null(strstr(text, "goto"));
	assert_null(strstr(text, "drop_src"));
	assert_non_null(strstr(text, "counter drop\n"));
	free(text);
	fw_ir_free(a);
	fw_ir_free(b);
}

static struct fw_source
src(uint16_t target, uint8_t family, uint8_t last, uint64_t packets)
{
	struct fw_source s;

	memset(&s, 0, sizeof(s));
	s.target = target;
	s.family = family;
	s.packets = packets;
	if (family == 4) {
		s.addr[0] = 192;
		s.addr[2] = 2;
		s.addr[3] = last;
	} else {
		s.addr[0] = 0x20;
		s.addr[1] = 0x01;
		s.addr[15] = last;
	}
	return s;
}

static void
test_sources_top(void **state)
{
	struct fw_source v[40];
	size_t n = 0, i, kept;

	(void)state;
	assert_int_equal(fw_sources_top(v, 0, 8, 100), 0);
	/* Target 2: 12 IPv4 sources, 1 IPv6; target 1: 3 IPv4. */
	for (i = 0; i < 12; i++)
		v[n++] = src(2, 4, (uint8_t)(i + 1), 100 + i);
	v[n++] = src(2, 6, 1, 5);
	for (i = 0; i < 3; i++)
		v[n++] = src(1, 4, (uint8_t)(i + 1), 1000 * (i + 1));
	kept = fw_sources_top(v, n, 8, 100);
	assert_int_equal(kept, 3 + 8 + 1);
	assert_int_equal(v[0].target, 1);
	assert_int_equal(v[0].packets, 3000);
	assert_int_equal(v[0].peers, 3);
	assert_int_equal(v[3].peers, 12);	/* all it had, not 8 */
	assert_int_equal(v[11].peers, 1);
	assert_int_equal(v[2].packets, 1000);
	assert_int_equal(v[3].target, 2);
	assert_int_equal(v[3].family, 4);
	assert_int_equal(v[3].packets, 111);	/* the busiest first */
	assert_int_equal(v[10].packets, 104);	/* the 8th busiest */
	assert_int_equal(v[11].family, 6);
	/* A total cap keeps the busiest overall, still grouped. */
	n = 0;
	for (i = 0; i < 12; i++)
		v[n++] = src(2, 4, (uint8_t)(i + 1), 100 + i);
	for (i = 0; i < 3; i++)
		v[n++] = src(1, 4, (uint8_t)(i + 1), 1000 * (i + 1));
	kept = fw_sources_top(v, n, 8, 4);
	assert_int_equal(kept, 4);
	assert_int_equal(v[0].target, 1);
	assert_int_equal(v[2].target, 1);
	assert_int_equal(v[3].target, 2);
	assert_int_equal(v[3].packets, 111);
}

static void
test_counters_codec(void **state)
{
	uint64_t pkts[3] = { 7, FW_NL_NO_COUNTER, 0 };
	struct fw_source s[2] = { src(3, 4, 7, 12400), src(3, 6, 9, 12) };
	struct fw_counters c, untouched;
	char err[128];
	uint8_t *buf, *copy;
	size_t len, i;

	(void)state;
	assert_non_null(buf = fw_counters_encode(FW_CTR_SOURCES |
	    FW_CTR_FULL4, pkts, 3, s, 2, &len));
	assert_int_equal(len, sizeof(struct fw_counters_header) + 3 * 8 +
	    2 * sizeof(struct fw_source));
	assert_int_equal(fw_counters_decode(buf, len, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.flags, FW_CTR_SOURCES | FW_CTR_FULL4);
	assert_int_equal(c.n_rules, 3);
	assert_true(c.pkts[1] == FW_NL_NO_COUNTER);
	assert_int_equal(c.n_sources, 2);
	assert_memory_equal(&c.sources[0], &s[0], sizeof(s[0]));
	assert_memory_equal(&c.sources[1], &s[1], sizeof(s[1]));
	fw_counters_clear(&c);
	fw_counters_clear(&c);
	/* Every shorter prefix and a trailing byte fail, out untouched. */
	memset(&untouched, 0x5a, sizeof(untouched));
	for (i = 0; i <= len; i++) {
		assert_non_null(copy = calloc(1, i ? i : 1));
		memcpy(copy, buf, i < len ? i : len);
		c = untouched;
		if (i != len) {
			assert_int_equal(fw_counters_decode(copy, i, &c, err,
			    sizeof(err)), -1);
			assert_memory_equal(&c, &untouched, sizeof(c));
		}
		free(copy);
	}
	assert_non_null(copy = calloc(1, len + 1));
	memcpy(copy, buf, len);
	assert_int_equal(fw_counters_decode(copy, len + 1, &c, err,
	    sizeof(err)), -1);
	/* Bad entries. */
	{
		static const struct {
			size_t off;	/* into the first source */
			uint8_t val;
			const char *what;
		} bad[] = {
			{ offsetof(struct fw_source, target), 0, "target 0" },
			{ offsetof(struct fw_source, family), 5, "family" },
			{ offsetof(struct fw_source, pad), 1, "pad" },
			{ offsetof(struct fw_source, family), 0, "family 0" },
			{ offsetof(struct fw_source, addr) + 4, 1, "v4 tail" },
		};
		size_t at = sizeof(struct fw_counters_header) + 3 * 8;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memcpy(copy, buf, len);
			copy[at + bad[i].off] = bad[i].val;
			if (bad[i].off == offsetof(struct fw_source, target))
				copy[at + bad[i].off + 1] = 0;
			if (fw_counters_decode(copy, len, &c, err,
			    sizeof(err)) != -1)
				fail_msg("%s accepted", bad[i].what);
		}
		memcpy(copy, buf, len);
		copy[0] ^= 1;
		assert_int_equal(fw_counters_decode(copy, len, &c, err,
		    sizeof(err)), -1);
		memcpy(copy, buf, len);
		put32(copy + offsetof(struct fw_counters_header, n_sources),
		    FW_MAX_SOURCES + 1);
		assert_int_equal(fw_counters_decode(copy, len, &c, err,
		    sizeof(err)), -1);
		memcpy(copy, buf, len);
		put32(copy + offsetof(struct fw_counters_header, flags), 8);
		assert_int_equal(fw_counters_decode(copy, len, &c, err,
		    sizeof(err)), -1);
	}
	free(copy);
	free(buf);
	/* Caps on the way out too. */
	assert_null(fw_counters_encode(0, pkts, FW_MAX_COUNTERS + 1, NULL, 0,
	    &len));
	assert_null(fw_counters_encode(0, pkts, 0, s, FW_MAX_SOURCES + 1,
	    &len));
	assert_non_null(buf = fw_counters_encode(0, NULL, 0, NULL, 0, &len));
	assert_int_equal(fw_counters_decode(buf, len, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.n_rules + c.n_sources, 0);
	fw_counters_clear(&c);
	free(buf);
}

static bool
want_target(uint16_t target, void *arg)
{
	return target == *(uint16_t *)arg;
}

static void
test_track(void **state)
{
	struct fw_track *t;
	struct fw_source v[4], top[8];
	uint64_t total;
	uint16_t three = 3, four = 4;
	size_t n, i, count;

	(void)state;
	assert_null(fw_track_new(0));
	assert_non_null(t = fw_track_new(4));
	/* First sight: the whole counter (the table started at zero). */
	v[0] = src(3, 4, 7, 100);
	v[1] = src(3, 6, 9, 5);
	v[2] = src(4, 4, 7, 50);	/* the same address, another target */
	fw_track_update(t, v, 3);
	/* Rises since the last poll. */
	v[0].packets = 12500;
	v[1].packets = 17;
	fw_track_update(t, v, 2);
	n = fw_track_take(t, want_target, &three, top, 8, &total, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(total, 12500 + 17);
	assert_int_equal(top[0].family, 4);
	assert_int_equal(top[0].packets, 12500);
	assert_int_equal(top[1].packets, 17);
	/* Taken: nothing pending for target 3, target 4 untouched. */
	assert_int_equal(fw_track_take(t, want_target, &three, top, 8,
	    &total, NULL), 0);
	assert_int_equal(total, 0);
	n = fw_track_take(t, want_target, &four, top, 8, &total, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(top[0].packets, 50);
	/* Deltas continue from the last counter after a take. */
	v[0].packets = 12600;
	fw_track_update(t, v, 1);
	n = fw_track_take(t, want_target, &three, top, 1, &total, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(top[0].packets, 100);
	/* An element that expired and came back: its whole counter. */
	v[0].packets = 30;
	fw_track_update(t, v, 1);
	assert_int_equal(fw_track_take(t, want_target, &three, top, 8,
	    &total, NULL), 1);
	assert_int_equal(top[0].packets, 30);
	/* Recent: only what the last update listed. */
	assert_int_equal(fw_track_recent(t, top, 8), 1);
	assert_int_equal(top[0].packets, 30);
	/* Full (4 slots): a busier newcomer takes the quietest slot. */
	fw_track_reset(t);
	for (i = 0; i < 4; i++)
		v[i] = src(3, 4, (uint8_t)(10 + i), 10 * (i + 1));
	fw_track_update(t, v, 4);
	v[0] = src(3, 4, 99, 1000);
	v[1] = src(3, 4, 98, 1);	/* quieter than all: not kept */
	fw_track_update(t, v, 2);
	n = fw_track_take(t, want_target, &three, top, 8, &total, NULL);
	assert_int_equal(n, 4);
	assert_int_equal(top[0].packets, 1000);
	assert_int_equal(top[0].addr[3], 99);
	assert_int_equal(top[3].packets, 20);	/* 10 made room */
	assert_int_equal(total, 1000 + 40 + 30 + 20);
	/* take() never writes more than max. */
	for (i = 0; i < 4; i++)
		v[i] = src(3, 4, (uint8_t)(10 + i), 1000);
	fw_track_update(t, v, 4);
	n = fw_track_take(t, want_target, &three, top, 0, &total, NULL);
	assert_true(n == 0 && total > 0);
	/* Many sources, few listed: the kernel's count (peers) tells. */
	fw_track_reset(t);
	v[0] = src(3, 4, 1, 500);
	v[0].peers = 4096;
	v[1] = src(3, 6, 1, 20);
	v[1].peers = 7;
	v[2] = src(3, 4, 2, 400);
	v[2].peers = 4000;		/* an earlier, smaller count */
	fw_track_update(t, v, 3);
	n = fw_track_take(t, want_target, &three, top, 8, &total, &count);
	assert_int_equal(n, 3);
	assert_int_equal(count, 4096 + 7);
	v[0].peers = 0;			/* unknown */
	fw_track_update(t, v, 1);	/* no rise: nothing pending */
	assert_int_equal(fw_track_take(t, want_target, &three, top, 8,
	    &total, &count), 0);
	assert_int_equal(count, 0);
	v[0].packets = 600;
	fw_track_update(t, v, 1);	/* unknown: those remembered */
	assert_int_equal(fw_track_take(t, want_target, &three, top, 8,
	    &total, &count), 1);
	assert_int_equal(count, 1);
	fw_track_free(t);
	fw_track_free(NULL);
	/* NULL tracker: nothing, no crash. */
	fw_track_update(NULL, v, 1);
	assert_int_equal(fw_track_take(NULL, want_target, &three, top, 8,
	    &total, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_build),
		cmocka_unit_test(test_config_truncated),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_acl_matrix),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_strip_sources),
		cmocka_unit_test(test_sources_top),
		cmocka_unit_test(test_counters_codec),
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
