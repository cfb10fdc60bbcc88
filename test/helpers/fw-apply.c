/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw-apply - drive the firewall core for system tests and the benchmark.
 *
 *   fw-apply [-b ADDR:SECONDS]... [-A] [-n] [-r] [-S] [-o CONFIG] POLICY|-
 *
 * Loads POLICY ("-" = the embedded default), builds config -> IR, then
 * with -o writes the config bytes to CONFIG (fuzz seeds), with -r
 * prints the nft text and exits, with -S prints the drop sources the
 * kernel counted (as the monitor reads them; the policy names the
 * rules) and exits; otherwise applies it to table inet sluice
 * (fw_nl_apply_soft(); -n: build only) and prints, one per line:
 *   sources off: WHY    the table loaded without per-source accounting
 *   set NAME COUNT      elements read back from the kernel
 *   rules COUNT         rules read back
 *   batch BYTES MESSAGES build_ms BUILD commit_ms COMMIT
 * -A makes the kernel refuse the accounting, as a kernel without it
 * would: drop_src4 becomes an interval set, which the packet path
 * cannot update (EOPNOTSUPP).
 * -S prints "source ADDRESS CHAIN PACKETS RULE" lines and "flags F".
 *   fw-apply --flush    removes the table.
 * Exit 0 ok, 1 failure, 2 bad policy, 64 usage.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw.h"
#include "fw_nl.h"
#include "policy.h"

#define MAX_BANS FW_MAX_BANS	/* the benchmark bans 10,000 sources */

static int
parse_ban(const char *arg, struct fw_ban *b)
{
	char addr[64];
	const char *colon = strrchr(arg, ':');
	char *end;
	unsigned long s;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(addr))
		return -1;
	memcpy(addr, arg, (size_t)(colon - arg));
	addr[colon - arg] = '\0';
	memset(b, 0, sizeof(*b));
	s = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || s == 0 || s > FW_MAX_BAN_SECONDS)
		return -1;
	b->seconds = (uint32_t)s;
	if (inet_pton(AF_INET, addr, b->addr) == 1)
		b->family = 4;
	else if (inet_pton(AF_INET6, addr, b->addr) == 1)
		b->family = 6;
	else
		return -1;
	return 0;
}

static int
print_sources(struct fw_ir *ir)
{
	static struct fw_source v[FW_MAX_SOURCES];
	char err[512], addr[INET6_ADDRSTRLEN];
	uint32_t flags;
	long n, i;

	if ((n = fw_nl_drop_sources(v, FW_MAX_SOURCES, &flags, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "fw-apply: %s\n", err);
		fw_ir_free(ir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		const struct fw_target *t = v[i].target <= ir->n_targets ?
		    &ir->targets[v[i].target - 1] : NULL;

		inet_ntop(v[i].family == 4 ? AF_INET : AF_INET6, v[i].addr,
		    addr, sizeof(addr));
		printf("source %s %s %llu %s\n", addr, t ? t->chain : "?",
		    (unsigned long long)v[i].packets, t ?
		    ir->rules[fw_rule_head(ir, t->rule)].comment : "?");
	}
	printf("flags %u\n", flags);
	fw_ir_free(ir);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct fw_ban bans[MAX_BANS];
	struct policy_error perr;
	struct fw_nl_stats st;
	struct policy *p;
	struct fw_ir *ir;
	char err[512];
	size_t nb = 0, len, i;
	void *cfg;
	const char *out = NULL;
	bool render = false, dry = false, refuse = false, sources = false;
	char why[512];
	int c;

	if (argc == 2 && strcmp(argv[1], "--flush") == 0) {
		if (fw_nl_flush(err, sizeof(err)) == -1) {
			fprintf(stderr, "fw-apply: %s\n", err);
			return 1;
		}
		return 0;
	}
	while ((c = getopt(argc, argv, "Ab:no:rS")) != -1) {
		switch (c) {
		case 'A':
			refuse = true;
			break;
		case 'S':
			sources = true;
			break;
		case 'b':
			if (nb == MAX_BANS || parse_ban(optarg, &bans[nb]) == -1) {
				fprintf(stderr, "fw-apply: bad ban %s\n", optarg);
				return 64;
			}
			nb++;
			break;
		case 'n':
			dry = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			render = true;
			break;
		default:
			return 64;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: fw-apply [-b ADDR:SECONDS]... [-A] [-n] "
		    "[-r] [-S] [-o CONFIG] POLICY|-\n"
		    "       fw-apply --flush\n");
		return 64;
	}
	p = strcmp(argv[optind], "-") == 0 ? policy_load_default(&perr) :
	    policy_load_file(argv[optind], &perr);
	if (p == NULL) {
		fprintf(stderr, "fw-apply: %s\n", perr.msg);
		return 2;
	}
	if ((cfg = fw_config_from_policy(p, bans, nb, &len)) == NULL ||
	    fw_config_check(cfg, len, err, sizeof(err)) == -1 ||
	    (ir = fw_build(cfg, len)) == NULL) {
		fprintf(stderr, "fw-apply: building the config failed\n");
		return 1;
	}
	policy_free(p);
	if (out != NULL) {
		FILE *f = fopen(out, "wb");

		if (f == NULL || fwrite(cfg, 1, len, f) != len ||
		    fclose(f) != 0) {
			fprintf(stderr, "fw-apply: writing %s failed\n", out);
			return 1;
		}
	}
	free(cfg);
	if (render) {
		c = fw_render_nft(ir, stdout) == -1;
		fw_ir_free(ir);
		return c;
	}
	if (dry) {
		fw_ir_free(ir);
		return 0;
	}
	if (sources)
		return print_sources(ir);
	if (refuse && ir->n_targets > 0)
		ir->sets[ir->src_sets[0]].flags |= FW_SET_INTERVAL;
	if (fw_nl_apply_soft(ir, &st, why, sizeof(why), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fw-apply: %s\n", err);
		fw_ir_free(ir);
		return 1;
	}
	if (why[0] != '\0')
		printf("sources off: %s\n", why);
	for (i = 0; i < ir->n_sets; i++) {
		long n = fw_nl_count_elements(ir->sets[i].name, err,
		    sizeof(err));

		if (n < 0) {
			fprintf(stderr, "fw-apply: %s\n", err);
			fw_ir_free(ir);
			return 1;
		}
		printf("set %s %ld\n", ir->sets[i].name, n);
	}
	printf("rules %ld\n", fw_nl_count_rules(err, sizeof(err)));
	printf("batch %zu %zu build_ms %.2f commit_ms %.2f\n", st.batch_bytes,
	    st.messages, st.build_ms, st.commit_ms);
	fw_ir_free(ir);
	return 0;
}
