/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fw_eval.c - the first packet of a new flow through a firewall IR. */
#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fw_eval.h"

bool
fw_prefix_has(const uint8_t *net, unsigned len, const uint8_t *addr)
{
	unsigned full = len / 8, bits = len % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	return bits == 0 ||
	    ((net[full] ^ addr[full]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

static bool
set_has_addr(const struct fw_set *s, const struct fw_flow *f)
{
	size_t i;

	if ((s->type == FW_SET_IPV4) != (f->family == 4) ||
	    s->type == FW_SET_PORT)
		return false;
	for (i = 0; i < s->n; i++)
		if (fw_prefix_has(s->elems[i].addr, s->elems[i].len, f->saddr))
			return true;
	return false;
}

static bool
set_has_port(const struct fw_set *s, uint16_t port)
{
	uint8_t be[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	size_t i;

	if (s->type != FW_SET_PORT)
		return false;
	for (i = 0; i < s->n; i++)
		if (memcmp(s->elems[i].addr, be, 2) == 0)
			return true;
	return false;
}

/* Does m hold for the flow's first packet?  Unknowable ones: no. */
static bool
match(const struct fw_ir *ir, const struct fw_match *m, const struct fw_flow *f)
{
	const struct fw_set *set = m->set >= 0 && (size_t)m->set < ir->n_sets ?
	    &ir->sets[m->set] : NULL;
	unsigned flags = f->l4proto == IPPROTO_TCP ? FW_TCP_SYN : 0;
	bool r;

	switch (m->kind) {
	case FW_M_CT_STATE:
		r = (m->a & FW_CT_NEW) != 0;
		break;
	case FW_M_NFPROTO:
		r = m->a == f->family;
		break;
	case FW_M_L4PROTO:
		r = m->a == f->l4proto;
		break;
	case FW_M_SADDR:
		r = set != NULL && m->a == f->family && set_has_addr(set, f);
		break;
	case FW_M_TCP_FLAGS:
		if (f->l4proto != IPPROTO_TCP)
			return false;
		r = (flags & m->a) == m->b;
		break;
	case FW_M_SPORT:
		r = m->a == f->sport;
		break;
	case FW_M_DPORT:
		r = m->a == f->dport;
		break;
	case FW_M_DPORT_SET:
		r = set != NULL && set_has_port(set, f->dport);
		break;
	case FW_M_IIF_LO:        /* a remote client */
	case FW_M_ICMP_TYPE:     /* not ICMP */
	case FW_M_LIMIT_OVER:    /* a well-behaved client is under every limit */
	case FW_M_METER:
	case FW_M_CT_COUNT:
	default:
		return false;
	}
	return m->neg ? !r : r;
}

enum fw_verdict
fw_eval_new(const struct fw_ir *ir, const struct fw_flow *f, int *rule)
{
	size_t i, j;

	for (i = 0; i < ir->n_rules; i++) {
		const struct fw_rule *r = &ir->rules[i];

		for (j = 0; j < r->n; j++)
			if (!match(ir, &r->m[j], f))
				break;
		if (j == r->n) {
			*rule = (int)i;
			return r->verdict;
		}
	}
	*rule = -1;
	return ir->default_drop ? FW_V_DROP : FW_V_ACCEPT;
}
