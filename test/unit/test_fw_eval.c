/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_fw_eval.c - the userspace verdict over the same IR the kernel
 * gets, against the guide's accessible-IP matrix (section 3.4).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fw.h"
#include "fw_eval.h"
#include "policy.h"

static struct fw_ir *
ir_for(const char *yaml, const char *ban)
{
	struct policy_error err;
	struct policy *p = policy_load_buffer("t.yaml", yaml, strlen(yaml),
	    NULL, &err);
	struct fw_ban b = { 0 };
	struct fw_ir *ir;
	size_t len;
	void *cfg;

	if (p == NULL)
		fail_msg("%s", err.msg);
	if (ban != NULL) {
		b.family = 4;
		b.seconds = 60;
		inet_pton(AF_INET, ban, b.addr);
	}
	cfg = fw_config_from_policy(p, ban ? &b : NULL, ban ? 1 : 0, &len);
	assert_non_null(cfg);
	ir = fw_build(cfg, len);
	assert_non_null(ir);
	free(cfg);
	policy_free(p);
	return ir;
}

static enum fw_verdict
verdict(const struct fw_ir *ir, const char *src, int proto, unsigned port)
{
	struct fw_flow f = { .l4proto = (uint8_t)proto, .sport = 40000,
	    .dport = (uint16_t)port };
	int rule;

	if (inet_pton(AF_INET, src, f.saddr) == 1)
		f.family = 4;
	else {
		assert_int_equal(inet_pton(AF_INET6, src, f.saddr), 1);
		f.family = 6;
	}
	return fw_eval_new(ir, &f, &rule);
}

#define BASE \
	"base: hardened\n" \
	"services:\n" \
	"  https: { enabled: true }\n" \
	"  modbus-tcp: { enabled: true }\n" \
	"  snmp-agent: { enabled: true }\n"
#define LIST \
	"  entries:\n" \
	"    - address: 192.0.2.0/24\n" \
	"    - address: 198.51.100.9\n" \
	"      active: false\n"

static void
test_guide_matrix(void **state)
{
	struct fw_ir *off, *on, *all;
	const int T = IPPROTO_TCP, U = IPPROTO_UDP;

	(void)state;
	off = ir_for(BASE, NULL);
	on = ir_for(BASE "accessible_ip:\n  activate: true\n" LIST, NULL);
	all = ir_for(BASE "accessible_ip:\n  activate: true\n"
	    "  apply_additional_restrictions: true\n" LIST, NULL);

	/* Not activated: everyone reaches everything enabled. */
	assert_int_equal(verdict(off, "203.0.113.5", T, 502), FW_V_ACCEPT);
	assert_int_equal(verdict(off, "203.0.113.5", T, 7502), FW_V_ACCEPT);
	assert_int_equal(verdict(off, "203.0.113.5", T, 443), FW_V_ACCEPT);
	assert_int_equal(verdict(off, "2001:db8::5", T, 502), FW_V_ACCEPT);
	/* Disabled services are closed for everyone. */
	assert_int_not_equal(verdict(off, "192.0.2.1", T, 23), FW_V_ACCEPT);
	assert_int_not_equal(verdict(off, "192.0.2.1", T, 80), FW_V_ACCEPT);
	assert_int_not_equal(verdict(off, "192.0.2.1", T, 20000), FW_V_ACCEPT);

	/* Activated: listed and active keep all; others lose protocols only. */
	assert_int_equal(verdict(on, "192.0.2.77", T, 502), FW_V_ACCEPT);
	assert_int_equal(verdict(on, "192.0.2.77", T, 443), FW_V_ACCEPT);
	assert_int_not_equal(verdict(on, "203.0.113.5", T, 502), FW_V_ACCEPT);
	assert_int_equal(verdict(on, "203.0.113.5", T, 443), FW_V_ACCEPT);
	assert_int_equal(verdict(on, "203.0.113.5", U, 161), FW_V_ACCEPT);
	/* Listed but not active counts as not listed. */
	assert_int_not_equal(verdict(on, "198.51.100.9", T, 502), FW_V_ACCEPT);
	assert_int_equal(verdict(on, "198.51.100.9", T, 443), FW_V_ACCEPT);
	assert_int_not_equal(verdict(on, "2001:db8::5", T, 502), FW_V_ACCEPT);

	/* Additional restrictions: the unlisted lose services too. */
	assert_int_equal(verdict(all, "192.0.2.77", T, 443), FW_V_ACCEPT);
	assert_int_not_equal(verdict(all, "203.0.113.5", T, 443), FW_V_ACCEPT);
	assert_int_not_equal(verdict(all, "203.0.113.5", U, 161), FW_V_ACCEPT);
	assert_int_not_equal(verdict(all, "198.51.100.9", T, 443), FW_V_ACCEPT);

	fw_ir_free(off);
	fw_ir_free(on);
	fw_ir_free(all);
}

static void
test_default_drop_and_bans(void **state)
{
	struct fw_ir *drop, *ban, *mgmt;

	(void)state;
	drop = ir_for(BASE "firewall:\n  default_input: drop\n", NULL);
	/* An SSH session on 22 is not a sluice service: dropped. */
	assert_int_not_equal(verdict(drop, "192.0.2.1", IPPROTO_TCP, 22),
	    FW_V_ACCEPT);
	assert_int_equal(verdict(drop, "192.0.2.1", IPPROTO_TCP, 443),
	    FW_V_ACCEPT);
	ban = ir_for(BASE, "192.0.2.66");
	assert_int_not_equal(verdict(ban, "192.0.2.66", IPPROTO_TCP, 443),
	    FW_V_ACCEPT);
	assert_int_not_equal(verdict(ban, "192.0.2.66", IPPROTO_TCP, 22),
	    FW_V_ACCEPT);
	assert_int_equal(verdict(ban, "192.0.2.67", IPPROTO_TCP, 443),
	    FW_V_ACCEPT);
	/* A management address is never banned. */
	mgmt = ir_for(BASE "firewall:\n  management: [192.0.2.64/28]\n",
	    "192.0.2.66");
	assert_int_equal(verdict(mgmt, "192.0.2.66", IPPROTO_TCP, 443),
	    FW_V_ACCEPT);
	fw_ir_free(drop);
	fw_ir_free(ban);
	fw_ir_free(mgmt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guide_matrix),
		cmocka_unit_test(test_default_drop_and_bans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
