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
 * exactly what the kernel is given.  Drop rules also count each packet
 * per source address in the kernel (struct fw_target); the "Drop
 * sources" section below turns those counters into the sources that
 * firewall-drops events name.  The rule order implements the
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
/*
 * Per-source drop accounting (see "Drop sources" below): the key is the
 * address . a drop target's id (type inet_service, 2 bytes, network
 * order); each element carries a packet counter.  Only the kernel adds
 * elements.
 */
#define FW_SET_SOURCES	0x8u

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
	/*
	 * 0: the rule ends in its verdict.  Else the id of a drop target:
	 * the rule ends in `goto` to that target's chain, which counts the
	 * packet per source and then gives the same verdict.
	 */
	uint16_t target;
	char comment[48];	/* rendered as a comment, not sent */
};

/*
 * A drop target: one chain per named drop rule (its IPv4 and IPv6 halves
 * share it), which counts the packet under (source address, id) in the
 * sets drop_src4/drop_src6 and then drops or rejects it.  The counting
 * sits in a chain of its own, not in the drop rule, because a dynamic
 * set that is full makes its update fail, and a failing statement ends
 * its rule: in the drop rule, a flood of spoofed sources would turn the
 * drop off.  In the chain, the next rule still gives the verdict.
 */
struct fw_target {
	char chain[16];		/* "drop_ID" or "reject_ID" */
	uint16_t id;		/* 1..n_targets, = index + 1 */
	enum fw_verdict verdict;	/* FW_V_DROP or FW_V_REJECT */
	bool tcp_reset;		/* FW_V_REJECT of TCP: with tcp reset */
	size_t rule;		/* the first rule that jumps here: its name */
};

/* Elements per family: spoofed sources cannot grow a set past this. */
#define FW_SRC_SET_SIZE		4096
#define FW_SRC_TIMEOUT_S	120	/* idle sources leave the sets */

struct fw_ir {
	bool default_drop;	/* chain input policy */
	size_t n_sets;
	struct fw_set *sets;	/* owned */
	size_t n_rules;
	struct fw_rule *rules;	/* owned */
	size_t n_targets;	/* 0: no per-source accounting */
	struct fw_target *targets;	/* owned */
	int src_sets[2];	/* drop_src4, drop_src6; valid if n_targets */
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
 * Take per-source accounting out of ir: its sets and chains go, and every
 * rule ends in its own verdict again.  The rules, their order and their
 * counters stay as they are, so rule indices still match an IR that has
 * it.  For a kernel that refuses the accounting (fw_nl_apply_soft()).
 */
void fw_ir_strip_sources(struct fw_ir *ir);

/* The rule that names rule i: the nearest one at or before it with a
 * comment (a rule without one continues the one before it). */
size_t fw_rule_head(const struct fw_ir *ir, size_t i);

/*
 * Print ir as text `nft -f` loads: it first creates and deletes table
 * inet sluice, so loading it replaces the table like fw_nl_apply() does.
 * Returns 0, or -1 if writing failed.
 */
int fw_render_nft(const struct fw_ir *ir, FILE *out);

/* ------------------------------------------------------------------ */
/* Drop sources                                                        */
/* ------------------------------------------------------------------ */

/*
 * The monitor's answer to PRIV_FIREWALL_COUNTERS, in a memfd: a header,
 * the packet counter of each rule of chain input in chain order
 * (FW_NL_NO_COUNTER for a rule without one), then the busiest sources
 * of each drop target, as the kernel's per-source counters hold them
 * (drops since the element was created; an element leaves the set
 * FW_SRC_TIMEOUT_S after its last drop).  Host byte order, no padding.
 */
#define FW_COUNTERS_MAGIC	0x43464c53u	/* "SLFC" little-endian */
#define FW_MAX_COUNTERS		4096	/* rules per answer */
#define FW_SRC_PER_TARGET	8	/* sources per target and family */
#define FW_MAX_SOURCES		1024	/* sources per answer */

#define FW_CTR_SOURCES	0x1u	/* the table has per-source accounting */
#define FW_CTR_FULL4	0x2u	/* drop_src4 is full: new sources go */
#define FW_CTR_FULL6	0x4u	/* uncounted (dropped all the same) */
#define FW_CTR_ALL	0x7u

struct fw_counters_header {
	uint32_t magic;		/* FW_COUNTERS_MAGIC */
	uint32_t flags;		/* FW_CTR_* */
	uint32_t n_rules;	/* <= FW_MAX_COUNTERS uint64_t follow */
	uint32_t n_sources;	/* <= FW_MAX_SOURCES struct fw_source follow */
};

struct fw_source {
	uint64_t packets;	/* the kernel's counter for this element */
	/*
	 * How many sources the kernel held for this target and family when
	 * it was read, this one included: a flood from many (spoofed)
	 * addresses shows here, beyond the few listed.
	 */
	uint32_t peers;
	uint16_t target;	/* fw_target.id, >= 1 */
	uint8_t family;		/* 4 or 6 */
	uint8_t pad;		/* zero */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
};

/*
 * Keep the per busiest sources of each (target, family) of v[0..n), and
 * of those at most max in all (the busiest), sorted by target, family,
 * then packets (most first); set each one's peers to the number of
 * sources v held for its target and family.  Returns how many were kept.
 */
size_t fw_sources_top(struct fw_source *v, size_t n, size_t per, size_t max);

/*
 * Serialise an answer.  Returns a malloc'd buffer of *len bytes, or NULL
 * (ENOMEM, or EINVAL when a count exceeds its cap).
 */
void *fw_counters_encode(uint32_t flags, const uint64_t *pkts,
    size_t n_rules, const struct fw_source *src, size_t n_sources,
    size_t *len);

/* A decoded answer; fw_counters_clear() frees it. */
struct fw_counters {
	uint32_t flags;
	size_t n_rules;
	uint64_t *pkts;			/* owned */
	size_t n_sources;
	struct fw_source *sources;	/* owned */
};

/*
 * Check and copy out an answer (buf need not be aligned; never read past
 * len).  Returns 0, or -1 with a message in err and *c untouched.
 */
int fw_counters_decode(const void *buf, size_t len, struct fw_counters *c,
    char *err, size_t errlen);
void fw_counters_clear(struct fw_counters *c);

/*
 * Drops per source between polls, for the engine: it remembers each
 * source's last counter (at most cap sources: the memory a flood of
 * spoofed addresses can make it use) and adds the rise to the source's
 * pending drops until they are taken for an event.
 */
struct fw_track;

struct fw_track *fw_track_new(size_t cap);
void fw_track_free(struct fw_track *t);
/* Forget everything: the table was replaced, its counters start at 0. */
void fw_track_reset(struct fw_track *t);

/*
 * One poll's sources.  A source seen before rises by the difference (or
 * by its whole counter if that went down: the element expired and came
 * back); a new one by its whole counter.  When all cap slots are in use,
 * the source with the fewest pending drops makes room, if the new one
 * has more.
 */
void fw_track_update(struct fw_track *t, const struct fw_source *v,
    size_t n);

/*
 * Take the pending drops of the targets `want` accepts, and clear them:
 * the busiest sources go to top[0..max) (max at most
 * 2 * FW_SRC_PER_TARGET), busiest first, packets = their pending drops.
 * Returns how many went to top.  *total gets the pending drops of all
 * of them, *sources how many sources dropped packets: those remembered,
 * or if more, the most the kernel held for these targets (peers) since
 * the last take.  total and sources may be NULL.
 */
size_t fw_track_take(struct fw_track *t, bool (*want)(uint16_t target,
    void *arg), void *arg, struct fw_source *top, size_t max,
    uint64_t *total, size_t *sources);

/*
 * The sources of the last update, busiest first by their counter in the
 * kernel, at most max in out.  Returns how many.
 */
size_t fw_track_recent(const struct fw_track *t, struct fw_source *out,
    size_t max);

#endif
