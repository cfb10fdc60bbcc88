/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw.h - what the kernel firewall enforces, as data.
 *
 * Three stages, all pure (no I/O, no logging, no libnftnl):
 *
 *   policy + bans --fw_config_from_policy()--> config bytes
 *       (fixed layout; the engine builds them, the privileged monitor
 *        receives them and runs fw_config_check() before anything else)
 *   checked config --fw_build()--> struct fw_ir (table inet sluice: one
 *       input chain, its sets and rules, as plain structs)
 *   fw_ir --fw_render_nft()--> `nft -f` text      (golden tests, debugging)
 *   fw_ir --fw_nl_apply()-->   one netlink batch  (fw_nl.h)
 *
 * Rendering and the batch walk the same IR, so a golden file shows
 * exactly what the kernel is given.  The rule order implements the
 * accessible-IP semantics of the MGate 5000 hardening guide, section 3.4,
 * and its DoS defense, section 3.6; see fw_build() in fw.c.
 */
#ifndef SLUICE_FW_H
#define SLUICE_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct policy;

#define FW_TABLE	"sluice"	/* family inet; never any other table */

/* ------------------------------------------------------------------ */
/* The serialised config                                               */
/* ------------------------------------------------------------------ */

#define FW_CONFIG_MAGIC		0x57464c53u	/* "SLFW" little-endian */
#define FW_CONFIG_VERSION	1u

/* Caps; fw_config_check() refuses anything larger. */
#define FW_MAX_PORTS		64
#define FW_MAX_ACL		16384	/* per family; = POLICY_MAX_ACL_ENTRIES */
#define FW_MAX_MGMT		64	/* per family; = POLICY_MAX_MANAGEMENT */
#define FW_MAX_BANS		65536	/* per config, both families */
#define FW_MAX_BAN_SECONDS	604800
#define FW_MAX_RATE		1000000

/* fw_config_header.flags */
#define FW_F_ACL_ACTIVE		0x0001u	/* accessible_ip.activate */
#define FW_F_ACL_ALL		0x0002u	/* ... apply_additional_restrictions */
#define FW_F_DEFAULT_DROP	0x0004u	/* firewall.default_input: drop */
#define FW_F_CLOSED_REJECT	0x0008u	/* firewall.closed_ports: reject */
#define FW_F_NULL_SCAN		0x0010u
#define FW_F_XMAS_SCAN		0x0020u
#define FW_F_NMAP_XMAS_SCAN	0x0040u
#define FW_F_SYN_FIN_SCAN	0x0080u
#define FW_F_FIN_SCAN		0x0100u
#define FW_F_NMAP_ID_SCAN	0x0200u
#define FW_F_SYN_RST_SCAN	0x0400u
#define FW_F_NEW_WITHOUT_SYN	0x0800u
#define FW_F_INVALID_STATE	0x1000u
#define FW_F_SYN_FLOOD		0x2000u
#define FW_F_ICMP_LIMIT		0x4000u
#define FW_F_ALL		0x7fffu

/* fw_port.kind */
#define FW_PORT_PROTOCOL	0	/* registry class protocol */
#define FW_PORT_SERVICE		1	/* registry class service */
#define FW_PORT_CONSOLE		2	/* service class: HTTP(S), telnet */

/* fw_port.role */
#define FW_ROLE_SERVER		0
#define FW_ROLE_CLIENT		1

/* fw_port.transports */
#define FW_TCP			0x1u
#define FW_UDP			0x2u

/*
 * All integers in host byte order (engine and monitor are one host);
 * addresses in network byte order.  Every struct has a fixed size and no
 * implicit padding.
 */
struct fw_config_header {
	uint32_t magic;			/* FW_CONFIG_MAGIC */
	uint32_t version;		/* FW_CONFIG_VERSION */
	uint32_t length;		/* total bytes, header included */
	uint32_t flags;			/* FW_F_* */
	uint32_t syn_rate, syn_burst;	/* 1..FW_MAX_RATE when FW_F_SYN_FLOOD */
	uint32_t icmp_rate, icmp_burst;	/* 1..FW_MAX_RATE when FW_F_ICMP_LIMIT */
	uint32_t src_rate;		/* new connections/s per source, 0 = off */
	uint32_t src_burst;		/* 1..FW_MAX_RATE */
	uint32_t src_max_conn;		/* per source, 0 = off, <= 65535 */
	uint32_t ban_seconds;		/* 1..FW_MAX_BAN_SECONDS */
	uint32_t n_ports;		/* then in this order: */
	uint32_t n_acl4, n_acl6;	/* active accessible-IP entries */
	uint32_t n_mgmt4, n_mgmt6;	/* firewall.management */
	uint32_t n_bans;		/* struct fw_ban */
};

struct fw_port {
	uint16_t port;			/* 1..65535 */
	uint8_t transports;		/* FW_TCP | FW_UDP, not 0 */
	uint8_t kind;			/* FW_PORT_* */
	uint8_t role;			/* FW_ROLE_* */
	uint8_t enabled;		/* 0 or 1 */
	uint8_t service;		/* registry id, < REGISTRY_COUNT */
	uint8_t endpoint;		/* index into the registry row */
};

/* A network: host bits zero; each array sorted, no overlaps. */
struct fw_prefix {
	uint8_t family;			/* 4 or 6 */
	uint8_t len;			/* 0..32 or 0..128 */
	uint8_t pad[2];			/* zero */
	uint8_t addr[16];		/* IPv4 in the first 4 bytes, rest zero */
};

/* One banned source: sorted by (family, addr), unique. */
struct fw_ban {
	uint8_t family;			/* 4 or 6 */
	uint8_t pad[3];			/* zero */
	uint32_t seconds;		/* remaining, 1..FW_MAX_BAN_SECONDS */
	uint8_t addr[16];
};

/*
 * Serialise p (its enabled/disabled server and client ports, active
 * accessible-IP entries, management list, DoS flags and limits) and bans
 * (any order, duplicates allowed: sorted and merged here; a ban of 0
 * seconds is dropped, longer than FW_MAX_BAN_SECONDS is clipped).
 * Returns a malloc'd buffer of *len bytes that passes fw_config_check(),
 * or NULL (ENOMEM, or EINVAL when a cap is exceeded).
 */
void *fw_config_from_policy(const struct policy *p, const struct fw_ban *bans,
    size_t nbans, size_t *len);

/* snprintf into err (NULL or errlen 0: nothing), for fw*.c messages. */
void fw_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Validate untrusted bytes: every count against len, every field's range,
 * sort order and host bits.  Never reads outside buf[0..len).  Returns 0,
 * or -1 with a message in err.  buf need not be aligned.
 */
int fw_config_check(const void *buf, size_t len, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* The IR                                                              */
/* ------------------------------------------------------------------ */

enum fw_set_type {
	FW_SET_IPV4,		/* ipv4_addr */
	FW_SET_IPV6,		/* ipv6_addr */
	FW_SET_PORT,		/* inet_service */
};

#define FW_SET_INTERVAL	0x1u
#define FW_SET_TIMEOUT	0x2u
#define FW_SET_DYNAMIC	0x4u

struct fw_elem {
	uint8_t addr[16];	/* IPv4: 4 bytes; port: 2 bytes, network order */
	uint8_t len;		/* prefix length (interval sets) */
	uint32_t timeout_s;	/* 0 = the set's default */
};

struct fw_set {
	char name[16];
	enum fw_set_type type;
	unsigned flags;		/* FW_SET_* */
	uint32_t timeout_s;	/* default element timeout, 0 = none */
	uint32_t size;		/* dynamic sets: max elements, 0 = none */
	size_t n;
	struct fw_elem *elems;	/* owned */
};

enum fw_match_kind {
	FW_M_IIF_LO,		/* iif "lo" */
	FW_M_CT_STATE,		/* ct state & a != 0 (a: FW_CT_*) */
	FW_M_NFPROTO,		/* meta nfproto a (4 or 6) */
	FW_M_L4PROTO,		/* meta l4proto a (IPPROTO_*) */
	FW_M_SADDR,		/* ip/ip6 saddr [!=] @set; a: 4/6 */
	FW_M_TCP_FLAGS,		/* tcp flags & a ==/!= b (FW_TCP_*) */
	FW_M_SPORT,		/* th sport == a (needs FW_M_L4PROTO first) */
	FW_M_DPORT,		/* th dport == a */
	FW_M_DPORT_SET,		/* th dport @set */
	FW_M_ICMP_TYPE,		/* icmp/icmpv6 type == a; b: 4/6 */
	FW_M_LIMIT_OVER,	/* limit rate over a/second burst b packets */
	/* update @set { saddr limit rate over a/second burst b }; c: 4/6 */
	FW_M_METER,
	/* add @set { saddr ct count over a }; c: 4/6 */
	FW_M_CT_COUNT,
};

#define FW_CT_INVALID		0x01u
#define FW_CT_ESTABLISHED	0x02u
#define FW_CT_RELATED		0x04u
#define FW_CT_NEW		0x08u

#define FW_TCP_FIN	0x01u
#define FW_TCP_SYN	0x02u
#define FW_TCP_RST	0x04u
#define FW_TCP_PSH	0x08u
#define FW_TCP_ACK	0x10u
#define FW_TCP_URG	0x20u

struct fw_match {
	enum fw_match_kind kind;
	bool neg;
	uint32_t a, b, c;
	int set;		/* index into fw_ir.sets, -1 = none */
};

enum fw_verdict {
	FW_V_ACCEPT,
	FW_V_DROP,
	/* TCP reset in rules matching tcp, else icmpx port-unreachable */
	FW_V_REJECT,
};

#define FW_RULE_MAX_MATCH	6

/* A rule without a counter, in fw_nl_rule_counters()' results. */
#define FW_NL_NO_COUNTER	UINT64_MAX

struct fw_rule {
	struct fw_match m[FW_RULE_MAX_MATCH];
	unsigned n;
	bool counter;
	enum fw_verdict verdict;
	char comment[48];	/* rendered as a comment, not sent */
};

struct fw_ir {
	bool default_drop;	/* chain input policy */
	size_t n_sets;
	struct fw_set *sets;	/* owned */
	size_t n_rules;
	struct fw_rule *rules;	/* owned */
};

/*
 * Build the IR from bytes that passed fw_config_check().  Returns a new
 * IR or NULL (ENOMEM, or EINVAL if the config does not check).
 */
struct fw_ir *fw_build(const void *config, size_t len);
void fw_ir_free(struct fw_ir *ir);

/* The index of the set called name, or -1. */
int fw_ir_set_find(const struct fw_ir *ir, const char *name);

/*
 * Print ir as text `nft -f` loads: it first creates and deletes table
 * inet sluice, so loading it replaces the table like fw_nl_apply() does.
 * Returns 0, or -1 if writing failed.
 */
int fw_render_nft(const struct fw_ir *ir, FILE *out);

#endif
