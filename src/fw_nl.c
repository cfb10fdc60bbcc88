/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw_nl.c - fw_ir -> one nfnetlink batch (libnftnl + libmnl).
 *
 * The expressions mirror what `nft --debug=netlink` prints for the text
 * fw_render_nft() writes, with the dependencies (meta nfproto before a
 * network-header load, meta l4proto before a transport-header load) that
 * the IR already carries.
 */
#include "config.h"

#include <arpa/inet.h>	/* before <linux/netfilter.h> */
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "fw.h"
#include "fw_nl.h"

/* Room reserved for one message: FW_NL_CHUNK IPv6 intervals fit. */
#define MSG_MAX		(128 * 1024)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* The batch buffer                                                    */
/* ------------------------------------------------------------------ */

/* What each message was, to name the one the kernel refuses. */
struct msg_info {
	uint16_t type;		/* NFT_MSG_* or 0 for BEGIN/END */
	int index;		/* set or rule index, -1 */
	uint16_t target;	/* a drop target's chain or rule, 0 = none */
};

struct batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0, seq;
	struct msg_info *info;
	size_t n_info, cap_info;
	bool failed;
};

/* Space for the next message, or NULL (ENOMEM). */
static char *
batch_room(struct batch *b)
{
	if (b->failed)
		return NULL;
	if (b->cap - b->len < MSG_MAX) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_MAX;
		char *n;

		while (cap - b->len < MSG_MAX)
			cap *= 2;
		if ((n = realloc(b->buf, cap)) == NULL) {
			b->failed = true;
			return NULL;
		}
		memset(n + b->cap, 0, cap - b->cap);
		b->buf = n;
		b->cap = cap;
	}
	return b->buf + b->len;
}

static void
batch_commit(struct batch *b, uint16_t type, int index)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(void *)
	    (b->buf + b->len);

	if (b->n_info == b->cap_info) {
		size_t cap = b->cap_info ? b->cap_info * 2 : 256;
		struct msg_info *n = realloc(b->info, cap * sizeof(*n));

		if (n == NULL) {
			b->failed = true;
			return;
		}
		b->info = n;
		b->cap_info = cap;
	}
	b->info[b->n_info].type = type;
	b->info[b->n_info].index = index;
	b->info[b->n_info].target = 0;
	b->n_info++;
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
}

static void
batch_free(struct batch *b)
{
	free(b->buf);
	free(b->info);
}

static struct nlmsghdr *
msg_hdr(struct batch *b, uint16_t type, uint16_t flags)
{
	char *room = batch_room(b);

	if (room == NULL)
		return NULL;
	return nftnl_nlmsg_build_hdr(room, type, NFPROTO_INET, flags, b->seq);
}

static void
add_table_msg(struct batch *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (t == NULL) {
		b->failed = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, FW_TABLE);
	if ((nlh = msg_hdr(b, type, flags)) != NULL) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_commit(b, type, -1);
	}
	nftnl_table_free(t);
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

/* A source set's key: the address, then the 2-byte target id padded to
 * a 4-byte register. */
static unsigned
key_len(const struct fw_set *s)
{
	unsigned n = s->type == FW_SET_IPV4 ? 4 : s->type == FW_SET_IPV6 ?
	    16 : 2;

	return s->flags & FW_SET_SOURCES ? n + 4 : n;
}

static struct nftnl_set *
set_new(const struct fw_set *s, uint32_t id)
{
	struct nftnl_set *ns = nftnl_set_alloc();

	if (ns == NULL)
		return NULL;
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, FW_TABLE);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(ns, NFTNL_SET_ID, id);
	return ns;
}

static void
add_set_msg(struct batch *b, const struct fw_set *s, uint32_t id, int index)
{
	/*
	 * nft's datatype numbers: ipv4_addr 7, ipv6_addr 8, inet_service
	 * 13; a concatenation is (first << 6) | second.
	 */
	uint32_t type = s->type == FW_SET_IPV4 ? 7 : s->type == FW_SET_IPV6 ?
	    8 : 13, flags = 0;
	struct nftnl_set *ns = set_new(s, id);
	struct nlmsghdr *nlh;

	if (ns == NULL) {
		b->failed = true;
		return;
	}
	if (s->flags & FW_SET_INTERVAL)
		flags |= NFT_SET_INTERVAL;
	if (s->flags & FW_SET_TIMEOUT)
		flags |= NFT_SET_TIMEOUT;
	if (s->flags & FW_SET_DYNAMIC)
		flags |= NFT_SET_EVAL;
	if (s->flags & FW_SET_SOURCES)
		type = type << 6 | 13;
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, key_len(s));
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, flags);
	if (s->timeout_s)
		nftnl_set_set_u64(ns, NFTNL_SET_TIMEOUT,
		    (uint64_t)s->timeout_s * 1000);
	if (s->size)
		nftnl_set_set_u32(ns, NFTNL_SET_DESC_SIZE, s->size);
	if ((nlh = msg_hdr(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL)) !=
	    NULL) {
		nftnl_set_nlmsg_build_payload(nlh, ns);
		batch_commit(b, NFT_MSG_NEWSET, index);
	}
	nftnl_set_free(ns);
}

/* Elements are gathered in a chunk and flushed as one message. */
struct chunk {
	struct batch *b;
	const struct fw_set *s;
	uint32_t id;
	int index;
	struct nftnl_set *ns;
	unsigned n;
};

static void
chunk_flush(struct chunk *c)
{
	struct nlmsghdr *nlh;

	if (c->ns == NULL)
		return;
	if (c->n > 0 && (nlh = msg_hdr(c->b, NFT_MSG_NEWSETELEM,
	    NLM_F_CREATE | NLM_F_EXCL)) != NULL) {
		nftnl_set_elems_nlmsg_build_payload(nlh, c->ns);
		batch_commit(c->b, NFT_MSG_NEWSETELEM, c->index);
	}
	nftnl_set_free(c->ns);
	c->ns = NULL;
	c->n = 0;
}

static void
chunk_add(struct chunk *c, const uint8_t *key, bool end, uint32_t timeout_s)
{
	struct nftnl_set_elem *e;

	if (c->b->failed)
		return;
	if (c->ns == NULL && (c->ns = set_new(c->s, c->id)) == NULL) {
		c->b->failed = true;
		return;
	}
	if ((e = nftnl_set_elem_alloc()) == NULL) {
		c->b->failed = true;
		return;
	}
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, key_len(c->s));
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
		    NFT_SET_ELEM_INTERVAL_END);
	if (timeout_s)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT,
		    (uint64_t)timeout_s * 1000);
	nftnl_set_elem_add(c->ns, e);
	if (++c->n >= FW_NL_CHUNK)
		chunk_flush(c);
}

/* last+1 of a network into next; false when the network ends at the top. */
static bool
range_next(const struct fw_elem *e, unsigned bytes, uint8_t *next)
{
	int i;

	for (i = 0; i < (int)bytes; i++) {
		unsigned bits = e->len > i * 8 ? e->len - (unsigned)i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		next[i] = (uint8_t)(e->addr[i] | ~mask);
	}
	for (i = (int)bytes - 1; i >= 0; i--)
		if (++next[i] != 0)
			return true;
	return false;
}

/*
 * An interval set holds each network as a start element and an
 * INTERVAL_END element keyed by the first address after it.  Where the
 * next network starts right there, both are sent (end first), as nft
 * does: the kernel refuses two starts in a row as an overlap (EEXIST).
 * Like nft, lead with an end element at zero unless a network starts
 * there (older kernels need it).
 */
static void
add_elems(struct batch *b, const struct fw_set *s, uint32_t id, int index)
{
	struct chunk c = { b, s, id, index, NULL, 0 };
	uint8_t zero[16] = { 0 }, next[16];
	unsigned bytes = key_len(s);
	size_t i;

	if (s->n == 0)
		return;
	if (!(s->flags & FW_SET_INTERVAL)) {
		for (i = 0; i < s->n; i++)
			chunk_add(&c, s->elems[i].addr, false,
			    s->elems[i].timeout_s);
		chunk_flush(&c);
		return;
	}
	if (memcmp(s->elems[0].addr, zero, bytes) != 0)
		chunk_add(&c, zero, true, 0);
	for (i = 0; i < s->n; i++) {
		chunk_add(&c, s->elems[i].addr, false, 0);
		if (range_next(&s->elems[i], bytes, next))
			chunk_add(&c, next, true, 0);
	}
	chunk_flush(&c);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */
/* ------------------------------------------------------------------ */

static bool
add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return false;
	nftnl_rule_add_expr(r, e);
	return true;
}

static struct nftnl_expr *
e_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *
e_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *
e_payload(uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return e;
}

static struct nftnl_expr *
e_bitwise(const void *mask, const void *xor, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	}
	return e;
}

static struct nftnl_expr *
e_lookup(const char *set, uint32_t id, bool neg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
		if (neg)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
			    NFT_LOOKUP_F_INV);
	}
	return e;
}

static struct nftnl_expr *
e_limit_over(uint32_t rate, uint32_t burst)
{
	struct nftnl_expr *e = nftnl_expr_alloc("limit");

	if (e != NULL) {
		nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
		nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	}
	return e;
}

static bool
m_cmp8(struct nftnl_rule *r, struct nftnl_expr *load, uint8_t v)
{
	return add_expr(r, load) && add_expr(r, e_cmp(NFT_CMP_EQ, &v, 1));
}

static bool
m_port(struct nftnl_rule *r, uint32_t offset, uint32_t port)
{
	uint16_t be = htons((uint16_t)port);

	return add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, offset,
	    2)) && add_expr(r, e_cmp(NFT_CMP_EQ, &be, 2));
}

static bool
m_saddr(struct nftnl_rule *r, uint32_t family)
{
	return add_expr(r, family == 6 ?
	    e_payload(NFT_PAYLOAD_NETWORK_HEADER, 8, 16) :
	    e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4));
}

static bool
m_dynset(struct nftnl_rule *r, const struct fw_ir *ir, const struct fw_match *m)
{
	struct nftnl_expr *e, *inner;

	if (!m_saddr(r, m->c))
		return false;
	if (m->kind == FW_M_METER)
		inner = e_limit_over(m->a, m->b);
	else if ((inner = nftnl_expr_alloc("connlimit")) != NULL) {
		nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_COUNT, m->a);
		nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_FLAGS,
		    NFT_CONNLIMIT_F_INV);
	}
	if (inner == NULL || (e = nftnl_expr_alloc("dynset")) == NULL) {
		nftnl_expr_free(inner);
		return false;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, m->kind == FW_M_METER ?
	    NFT_DYNSET_OP_UPDATE : NFT_DYNSET_OP_ADD);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, ir->sets[m->set].name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, (uint32_t)m->set + 1);
	nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, inner, 0);
	return add_expr(r, e);
}

static bool
add_match(struct nftnl_rule *r, const struct fw_ir *ir,
    const struct fw_match *m)
{
	uint32_t u32, zero = 0;
	uint8_t mask, val;

	switch (m->kind) {
	case FW_M_IIF_LO:
		u32 = 1;	/* lo is ifindex 1 in every namespace */
		return add_expr(r, e_meta(NFT_META_IIF)) &&
		    add_expr(r, e_cmp(NFT_CMP_EQ, &u32, 4));
	case FW_M_CT_STATE: {
		struct nftnl_expr *e = nftnl_expr_alloc("ct");

		if (e == NULL)
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		u32 = m->a;	/* FW_CT_* are the kernel's state bits */
		return add_expr(r, e) && add_expr(r, e_bitwise(&u32, &zero,
		    4)) && add_expr(r, e_cmp(NFT_CMP_NEQ, &zero, 4));
	}
	case FW_M_NFPROTO:
		return m_cmp8(r, e_meta(NFT_META_NFPROTO), m->a == 6 ?
		    NFPROTO_IPV6 : NFPROTO_IPV4);
	case FW_M_L4PROTO:
		return m_cmp8(r, e_meta(NFT_META_L4PROTO), (uint8_t)m->a);
	case FW_M_SADDR:
		return m_saddr(r, m->a) && add_expr(r, e_lookup(
		    ir->sets[m->set].name, (uint32_t)m->set + 1, m->neg));
	case FW_M_TCP_FLAGS:
		mask = (uint8_t)m->a;
		val = (uint8_t)m->b;
		zero = 0;
		return add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13,
		    1)) && add_expr(r, e_bitwise(&mask, &zero, 1)) &&
		    add_expr(r, e_cmp(m->neg ? NFT_CMP_NEQ : NFT_CMP_EQ, &val,
		    1));
	case FW_M_SPORT:
		return m_port(r, 0, m->a);
	case FW_M_DPORT:
		return m_port(r, 2, m->a);
	case FW_M_DPORT_SET:
		return add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2,
		    2)) && add_expr(r, e_lookup(ir->sets[m->set].name,
		    (uint32_t)m->set + 1, false));
	case FW_M_ICMP_TYPE:
		return m_cmp8(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1),
		    (uint8_t)m->a);
	case FW_M_LIMIT_OVER:
		return add_expr(r, e_limit_over(m->a, m->b));
	case FW_M_METER:
	case FW_M_CT_COUNT:
		return m_dynset(r, ir, m);
	}
	return false;
}

static bool
add_verdict(struct nftnl_rule *r, const struct fw_ir *ir,
    const struct fw_rule *fr)
{
	struct nftnl_expr *e;
	unsigned i;
	bool tcp = false;

	if (fr->counter && !add_expr(r, nftnl_expr_alloc("counter")))
		return false;
	if (fr->target != 0 && fr->target <= ir->n_targets) {
		if ((e = nftnl_expr_alloc("immediate")) == NULL)
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_GOTO);
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN,
		    ir->targets[fr->target - 1].chain);
		return add_expr(r, e);
	}
	if (fr->verdict == FW_V_REJECT) {
		for (i = 0; i < fr->n; i++)
			if (fr->m[i].kind == FW_M_L4PROTO &&
			    fr->m[i].a == IPPROTO_TCP)
				tcp = true;
		if ((e = nftnl_expr_alloc("reject")) == NULL)
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, tcp ?
		    NFT_REJECT_TCP_RST : NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, tcp ? 0 :
		    NFT_REJECT_ICMPX_PORT_UNREACH);
		return add_expr(r, e);
	}
	if ((e = nftnl_expr_alloc("immediate")) == NULL)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT,
	    fr->verdict == FW_V_ACCEPT ? NF_ACCEPT : NF_DROP);
	return add_expr(r, e);
}

static void
add_rule_msg(struct batch *b, const struct fw_ir *ir, size_t index)
{
	const struct fw_rule *fr = &ir->rules[index];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	unsigned i;
	bool ok;

	if (r == NULL) {
		b->failed = true;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, FW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "input");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	for (i = 0, ok = true; ok && i < fr->n; i++)
		ok = add_match(r, ir, &fr->m[i]);
	if (ok)
		ok = add_verdict(r, ir, fr);
	if (!ok)
		b->failed = true;
	else if ((nlh = msg_hdr(b, NFT_MSG_NEWRULE, NLM_F_CREATE |
	    NLM_F_APPEND)) != NULL) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_commit(b, NFT_MSG_NEWRULE, (int)index);
	}
	nftnl_rule_free(r);
}

/* ------------------------------------------------------------------ */
/* Drop targets (fw.h): per-source counting, then the verdict          */
/* ------------------------------------------------------------------ */

static struct nftnl_rule *
target_rule_new(const struct fw_target *t)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r != NULL) {
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, FW_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, t->chain);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	}
	return r;
}

/*
 * meta nfproto F update @drop_srcF { saddr . id counter }: the key is
 * the address in NFT_REG_1 and the id in the 32-bit register right
 * after it, as nft lays out a concatenation.
 */
static bool
m_count_source(struct nftnl_rule *r, const struct fw_ir *ir,
    const struct fw_target *t, unsigned fam)
{
	int set = ir->src_sets[fam == 6 ? 1 : 0];
	uint16_t id = htons(t->id);
	struct nftnl_expr *imm, *ctr, *e;

	if (!m_cmp8(r, e_meta(NFT_META_NFPROTO), fam == 6 ? NFPROTO_IPV6 :
	    NFPROTO_IPV4) || !m_saddr(r, fam))
		return false;
	if ((imm = nftnl_expr_alloc("immediate")) == NULL)
		return false;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, fam == 6 ? NFT_REG_2 :
	    NFT_REG32_01);
	nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &id, sizeof(id));
	if (!add_expr(r, imm))
		return false;
	if ((ctr = nftnl_expr_alloc("counter")) == NULL)
		return false;
	if ((e = nftnl_expr_alloc("dynset")) == NULL) {
		nftnl_expr_free(ctr);
		return false;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, ir->sets[set].name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, (uint32_t)set + 1);
	nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, ctr, 0);
	return add_expr(r, e);
}

/* Rule k of t's chain, as fw_render_nft() prints it; false: none. */
static bool
target_rule(struct nftnl_rule *r, const struct fw_ir *ir,
    const struct fw_target *t, unsigned k, bool *ok)
{
	struct nftnl_expr *e;

	*ok = true;
	switch (k) {
	case 0:
	case 1:
		*ok = m_count_source(r, ir, t, k == 0 ? 4 : 6);
		return true;
	case 2:
		if (t->verdict == FW_V_DROP)
			break;
		if (t->tcp_reset && !m_cmp8(r, e_meta(NFT_META_L4PROTO),
		    IPPROTO_TCP)) {
			*ok = false;
			return true;
		}
		if ((e = nftnl_expr_alloc("reject")) == NULL) {
			*ok = false;
			return true;
		}
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, t->tcp_reset ?
		    NFT_REJECT_TCP_RST : NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, t->tcp_reset ? 0 :
		    NFT_REJECT_ICMPX_PORT_UNREACH);
		*ok = add_expr(r, e);
		return true;
	case 3:
		if (!t->tcp_reset)
			return false;
		break;
	default:
		return false;
	}
	if ((e = nftnl_expr_alloc("immediate")) == NULL) {
		*ok = false;
		return true;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	*ok = add_expr(r, e);
	return true;
}

static void
add_target_rules(struct batch *b, const struct fw_ir *ir,
    const struct fw_target *t)
{
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	unsigned k;
	bool ok;

	for (k = 0; !b->failed; k++) {
		if ((r = target_rule_new(t)) == NULL) {
			b->failed = true;
			return;
		}
		if (!target_rule(r, ir, t, k, &ok)) {
			nftnl_rule_free(r);
			return;
		}
		if (!ok)
			b->failed = true;
		else if ((nlh = msg_hdr(b, NFT_MSG_NEWRULE, NLM_F_CREATE |
		    NLM_F_APPEND)) != NULL) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			batch_commit(b, NFT_MSG_NEWRULE, -1);
			if (!b->failed)
				b->info[b->n_info - 1].target = t->id;
		}
		nftnl_rule_free(r);
	}
}

static void
add_target_chain(struct batch *b, const struct fw_target *t)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (c == NULL) {
		b->failed = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, FW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, t->chain);
	if ((nlh = msg_hdr(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL)) !=
	    NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_commit(b, NFT_MSG_NEWCHAIN, -1);
		if (!b->failed)
			b->info[b->n_info - 1].target = t->id;
	}
	nftnl_chain_free(c);
}

static void
add_chain_msg(struct batch *b, bool drop)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (c == NULL) {
		b->failed = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, FW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "input");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, drop ? NF_DROP : NF_ACCEPT);
	if ((nlh = msg_hdr(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL)) !=
	    NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_commit(b, NFT_MSG_NEWCHAIN, -1);
	}
	nftnl_chain_free(c);
}

static void
batch_begin(struct batch *b)
{
	char *room = batch_room(b);

	if (room != NULL) {
		nftnl_batch_begin(room, b->seq);
		batch_commit(b, 0, -1);
	}
}

static void
batch_end(struct batch *b)
{
	char *room = batch_room(b);

	if (room != NULL) {
		nftnl_batch_end(room, b->seq);
		batch_commit(b, 0, -1);
	}
}

/* NEWTABLE + DELTABLE: gone whether or not it existed. */
static void
batch_drop_table(struct batch *b)
{
	add_table_msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	add_table_msg(b, NFT_MSG_DELTABLE, 0);
}

/* ------------------------------------------------------------------ */
/* Talking to the kernel                                               */
/* ------------------------------------------------------------------ */

static struct mnl_socket *
nl_open(size_t sndbuf, char *err, size_t errlen)
{
	struct timeval tv = { FW_NL_TIMEOUT_MS / 1000,
	    (FW_NL_TIMEOUT_MS % 1000) * 1000 };
	struct mnl_socket *nl;
	int fd, size;

	if ((nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		fw_err(err, errlen, "netlink socket: %s", strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		fw_err(err, errlen, "netlink bind: %s", strerror(errno));
		mnl_socket_close(nl);
		return NULL;
	}
	fd = mnl_socket_get_fd(nl);
	/* The whole batch is one datagram: the buffer must hold it. */
	size = sndbuf > (size_t)(INT32_MAX / 2) ? INT32_MAX / 2 :
	    (int)sndbuf;
	if (size > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return nl;
}

static const char *
msg_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return "new table";
	case NFT_MSG_DELTABLE:
		return "delete table";
	case NFT_MSG_NEWCHAIN:
		return "new chain";
	case NFT_MSG_NEWSET:
		return "new set";
	case NFT_MSG_NEWSETELEM:
		return "set elements";
	case NFT_MSG_NEWRULE:
		return "rule";
	default:
		return "batch";
	}
}

/* Name the message the kernel refused: the k-th of the batch. */
static void
report_refusal(const struct batch *b, const struct fw_ir *ir, uint32_t k,
    int error, char *err, size_t errlen)
{
	const struct msg_info *mi = k < b->n_info ? &b->info[k] : NULL;

	if (mi != NULL && mi->target != 0 && mi->target <= ir->n_targets)
		fw_err(err, errlen, "kernel refused %s of chain %s (per-source "
		    "accounting): %s", msg_name(mi->type),
		    ir->targets[mi->target - 1].chain, strerror(error));
	else if (mi == NULL || mi->index < 0)
		fw_err(err, errlen, "kernel refused %s: %s",
		    mi ? msg_name(mi->type) : "batch", strerror(error));
	else if (mi->type == NFT_MSG_NEWSET)
		fw_err(err, errlen, "kernel refused set %s: %s",
		    ir->sets[mi->index].name, strerror(error));
	else if (mi->type == NFT_MSG_NEWSETELEM)
		fw_err(err, errlen, "kernel refused elements of set %s: %s",
		    ir->sets[mi->index].name, strerror(error));
	else
		fw_err(err, errlen, "kernel refused %s %d: %s",
		    msg_name(mi->type), mi->index, strerror(error));
}

/*
 * Send the batch, then a GETGEN request as a fence: nfnetlink processes
 * a batch inside sendmsg(), so every error it reports is queued before
 * the fence's answer.  One refused message rolls the batch back and
 * usually yields one error (EPERM: only one for all), so we never wait
 * for per-message acks.  Bounded by SO_RCVTIMEO and a message count.
 */
static int
nl_commit(struct mnl_socket *nl, struct batch *b, const struct fw_ir *ir,
    char *err, size_t errlen)
{
	char gen[256], *rbuf;
	struct nlmsghdr *nlh;
	uint32_t fence, portid = mnl_socket_get_portid(nl);
	int first_err = 0, loops, ret = -1;
	size_t rsize = MNL_SOCKET_BUFFER_SIZE * 4;
	double deadline = now_ms() + FW_NL_TIMEOUT_MS;

	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		fw_err(err, errlen, "sending the batch (%zu bytes): %s", b->len,
		    strerror(errno));
		return -1;
	}
	fence = b->seq + 1;
	memset(gen, 0, sizeof(gen));
	nlh = mnl_nlmsg_put_header(gen);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = fence;
	{
		struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh,
		    sizeof(*g));

		g->nfgen_family = AF_UNSPEC;
		g->version = NFNETLINK_V0;
		g->res_id = 0;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		fw_err(err, errlen, "sending the fence: %s", strerror(errno));
		return -1;
	}
	if ((rbuf = malloc(rsize)) == NULL)
		return -1;
	for (loops = 0; loops < 10000; loops++) {
		ssize_t n = now_ms() < deadline ?
		    mnl_socket_recvfrom(nl, rbuf, rsize) : -1;
		const struct nlmsghdr *h;
		int left;
		bool done = false;

		if (n < 0 && now_ms() >= deadline)
			errno = EAGAIN;
		if (n < 0) {
			fw_err(err, errlen, "waiting for the kernel: %s",
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		left = (int)n;
		for (h = (const struct nlmsghdr *)(void *)rbuf;
		    mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_pid != portid && h->nlmsg_pid != 0)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e =
				    mnl_nlmsg_get_payload(h);
				uint32_t k = h->nlmsg_seq - b->seq0;

				if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
					continue;
				if (e->error != 0 && first_err == 0 &&
				    h->nlmsg_seq != fence) {
					first_err = -e->error;
					report_refusal(b, ir, k, first_err,
					    err, errlen);
				}
			}
			if (h->nlmsg_seq == fence)
				done = true;
		}
		if (done)
			break;
	}
	if (loops == 10000) {
		fw_err(err, errlen, "no answer from the kernel");
		goto out;
	}
	if (first_err != 0) {
		errno = first_err;
		goto out;
	}
	ret = 0;
out:
	free(rbuf);
	return ret;
}

int
fw_nl_apply_stats(const struct fw_ir *ir, struct fw_nl_stats *stats,
    char *err, size_t errlen)
{
	struct batch b;
	struct mnl_socket *nl;
	double t0, t1;
	size_t i;
	int ret;

	memset(&b, 0, sizeof(b));
	b.seq0 = b.seq = (uint32_t)time(NULL);
	t0 = now_ms();
	batch_begin(&b);
	batch_drop_table(&b);
	add_table_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	/* Chains in the order of the text: nft lists them that way. */
	for (i = 0; i < ir->n_targets; i++)
		add_target_chain(&b, &ir->targets[i]);
	add_chain_msg(&b, ir->default_drop);
	for (i = 0; i < ir->n_sets; i++)
		add_set_msg(&b, &ir->sets[i], (uint32_t)i + 1, (int)i);
	for (i = 0; i < ir->n_sets; i++)
		add_elems(&b, &ir->sets[i], (uint32_t)i + 1, (int)i);
	for (i = 0; i < ir->n_targets; i++)
		add_target_rules(&b, ir, &ir->targets[i]);
	for (i = 0; i < ir->n_rules; i++)
		add_rule_msg(&b, ir, i);
	batch_end(&b);
	if (b.failed) {
		fw_err(err, errlen, "building the batch: out of memory");
		batch_free(&b);
		errno = ENOMEM;
		return -1;
	}
	t1 = now_ms();
	if ((nl = nl_open(b.len * 2 + 65536, err, errlen)) == NULL) {
		batch_free(&b);
		return -1;
	}
	ret = nl_commit(nl, &b, ir, err, errlen);
	if (stats != NULL) {
		stats->batch_bytes = b.len;
		stats->messages = b.n_info;
		stats->build_ms = t1 - t0;
		stats->commit_ms = now_ms() - t1;
	}
	i = (size_t)errno;
	mnl_socket_close(nl);
	batch_free(&b);
	errno = (int)i;
	return ret;
}

int
fw_nl_apply(const struct fw_ir *ir, char *err, size_t errlen)
{
	return fw_nl_apply_stats(ir, NULL, err, errlen);
}

int
fw_nl_apply_soft(struct fw_ir *ir, struct fw_nl_stats *stats, char *why,
    size_t whylen, char *err, size_t errlen)
{
	int e;

	fw_err(why, whylen, "%s", "");
	if (fw_nl_apply_stats(ir, stats, err, errlen) == 0)
		return 0;
	e = errno;
	/* Without nf_tables or the privilege, nothing would load. */
	if (ir->n_targets == 0 || e == EPERM || e == EPROTONOSUPPORT ||
	    e == EAFNOSUPPORT || e == ENOMEM) {
		errno = e;
		return -1;
	}
	fw_err(why, whylen, "%s", err);
	fw_ir_strip_sources(ir);
	return fw_nl_apply_stats(ir, stats, err, errlen);
}

int
fw_nl_flush(char *err, size_t errlen)
{
	struct fw_ir empty;
	struct batch b;
	struct mnl_socket *nl;
	int ret;

	memset(&empty, 0, sizeof(empty));
	memset(&b, 0, sizeof(b));
	b.seq0 = b.seq = (uint32_t)time(NULL);
	batch_begin(&b);
	batch_drop_table(&b);
	batch_end(&b);
	if (b.failed) {
		batch_free(&b);
		errno = ENOMEM;
		return -1;
	}
	if ((nl = nl_open(0, err, errlen)) == NULL) {
		batch_free(&b);
		return -1;
	}
	ret = nl_commit(nl, &b, &empty, err, errlen);
	mnl_socket_close(nl);
	batch_free(&b);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Read-back                                                           */
/* ------------------------------------------------------------------ */

/* Sources read from drop_src4/drop_src6, grown as needed up to max. */
struct srcbuf {
	struct fw_source *v;
	size_t n, cap, max;
	bool failed;
};

struct counter {
	long n;
	uint16_t want;		/* NFT_MSG_NEWSETELEM or NFT_MSG_NEWRULE */
	uint64_t *pkts;		/* rules: each one's counter, if wanted */
	size_t max;
	struct srcbuf *src;	/* elements: each one's key and counter */
};

static int
rule_counter(struct nftnl_expr *e, void *arg)
{
	uint64_t *p = arg;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0)
		*p = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	return 0;
}

static int
source_elem(struct nftnl_set_elem *e, struct srcbuf *sb)
{
	struct fw_source *s;
	const uint8_t *key;
	uint32_t klen = 0;
	unsigned alen;
	uint16_t id;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	/* address . id: 4 + 4 or 16 + 4 bytes (fw_nl.c key_len()) */
	if (key == NULL || (klen != 8 && klen != 20))
		return 0;
	alen = klen - 4;
	memcpy(&id, key + alen, 2);
	if (ntohs(id) == 0 || sb->n >= sb->max)
		return 0;
	if (sb->n == sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 256;
		struct fw_source *v = realloc(sb->v, cap * sizeof(*v));

		if (v == NULL) {
			sb->failed = true;
			return -1;
		}
		sb->v = v;
		sb->cap = cap;
	}
	s = &sb->v[sb->n++];
	memset(s, 0, sizeof(*s));
	s->family = alen == 4 ? 4 : 6;
	s->target = ntohs(id);
	memcpy(s->addr, key, alen);
	/* One expression per element (the counter), in either attribute. */
	nftnl_set_elem_expr_foreach(e, rule_counter, &s->packets);
	return 0;
}

static int
count_elem(struct nftnl_set_elem *e, void *arg)
{
	struct counter *c = arg;
	uint32_t flags = 0;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	if (!(flags & NFT_SET_ELEM_INTERVAL_END))
		c->n++;
	if (c->src != NULL)
		return source_elem(e, c->src);
	return 0;
}

static int
count_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct counter *c = arg;
	struct nftnl_set *s;

	if ((nlh->nlmsg_type & 0xff) != c->want)
		return MNL_CB_OK;
	if (c->want == NFT_MSG_NEWRULE) {
		struct nftnl_rule *r;

		if (c->pkts != NULL && (size_t)c->n < c->max) {
			c->pkts[c->n] = FW_NL_NO_COUNTER;
			if ((r = nftnl_rule_alloc()) == NULL)
				return MNL_CB_ERROR;
			if (nftnl_rule_nlmsg_parse(nlh, r) == 0)
				nftnl_expr_foreach(r, rule_counter,
				    &c->pkts[c->n]);
			nftnl_rule_free(r);
		}
		c->n++;
		return MNL_CB_OK;
	}
	if ((s = nftnl_set_alloc()) == NULL)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, count_elem, c);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* One dump request; the answer is counted by count_cb. */
static long
dump_count(uint16_t type, const char *set, uint64_t *pkts, size_t max,
    struct srcbuf *src, char *err, size_t errlen)
{
	char *buf;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct counter c = { 0, type == NFT_MSG_GETSETELEM ?
	    NFT_MSG_NEWSETELEM : NFT_MSG_NEWRULE, pkts, max, src };
	uint32_t seq = (uint32_t)time(NULL), portid;
	int ret = MNL_CB_OK, loops;
	size_t size = MNL_SOCKET_BUFFER_SIZE * 4;
	double deadline = now_ms() + FW_NL_TIMEOUT_MS;

	if ((buf = calloc(1, size)) == NULL)
		return -1;
	if ((nl = nl_open(0, err, errlen)) == NULL) {
		free(buf);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET,
	    NLM_F_DUMP | NLM_F_ACK, seq);
	if (type == NFT_MSG_GETSETELEM) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (s == NULL)
			goto fail;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, FW_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	} else {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (r == NULL)
			goto fail;
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, FW_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "input");
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		fw_err(err, errlen, "netlink send: %s", strerror(errno));
		goto fail;
	}
	for (loops = 0; ret > MNL_CB_STOP && loops < 100000; loops++) {
		ssize_t n = now_ms() < deadline ?
		    mnl_socket_recvfrom(nl, buf, size) : -1;

		if (n < 0 && now_ms() >= deadline)
			errno = EAGAIN;
		if (n < 0) {
			fw_err(err, errlen, "netlink receive: %s", errno ==
			    EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, count_cb, &c);
	}
	if (ret < 0) {
		if (src != NULL && src->failed)
			errno = ENOMEM;
		fw_err(err, errlen, "reading %s: %s", set ? set : "rules",
		    strerror(errno));
		goto fail;
	}
	mnl_socket_close(nl);
	free(buf);
	return c.n;
fail:
	ret = errno;
	mnl_socket_close(nl);
	free(buf);
	errno = ret;
	return -1;
}

long
fw_nl_count_elements(const char *set, char *err, size_t errlen)
{
	return dump_count(NFT_MSG_GETSETELEM, set, NULL, 0, NULL, err, errlen);
}

long
fw_nl_count_rules(char *err, size_t errlen)
{
	return dump_count(NFT_MSG_GETRULE, NULL, NULL, 0, NULL, err, errlen);
}

long
fw_nl_rule_counters(uint64_t *pkts, size_t max, char *err, size_t errlen)
{
	return dump_count(NFT_MSG_GETRULE, NULL, pkts, max, NULL, err, errlen);
}

long
fw_nl_drop_sources(struct fw_source *out, size_t max, uint32_t *flags,
    char *err, size_t errlen)
{
	static const char *const names[2] = { "drop_src4", "drop_src6" };
	/* More than a set of ours can hold: a bound, whoever made it. */
	struct srcbuf sb = { NULL, 0, 0, 2 * FW_SRC_SET_SIZE + 64, false };
	uint32_t f = 0;
	size_t n;
	long got;
	int fam;

	for (fam = 0; fam < 2; fam++) {
		got = dump_count(NFT_MSG_GETSETELEM, names[fam], NULL, 0, &sb,
		    err, errlen);
		if (got < 0 && errno == ENOENT)
			continue;	/* a table without the accounting */
		if (got < 0) {
			free(sb.v);
			return -1;
		}
		f |= FW_CTR_SOURCES;
		if (got >= FW_SRC_SET_SIZE)
			f |= fam ? FW_CTR_FULL6 : FW_CTR_FULL4;
	}
	n = fw_sources_top(sb.v, sb.n, FW_SRC_PER_TARGET, max);
	if (n > 0)
		memcpy(out, sb.v, n * sizeof(*out));
	free(sb.v);
	*flags = f;
	return (long)n;
}
