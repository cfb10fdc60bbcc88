/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_modbus_fw.c - the Modbus firewall's matcher against a naive
 * oracle.  Input: a flags byte (default action, rule count, explanation
 * buffer size), RULE_BYTES per rule, REQ_BYTES of request (source,
 * listening port, unit), then the PDU.  Rule networks are derived from
 * the request's address with a few bits flipped, and its ports from a
 * two-port set, so matches are common.  For every PDU: the matcher never
 * reads past it.  For PDUs modbus_request_check accepts: accesses stay
 * inside the address space and agree with a raw decode; mbfw_eval agrees
 * with the oracle (bit-by-bit prefixes, address-by-address spans) and
 * with mbfw_explain, whose text is NUL-terminated, within its buffer and
 * ends with the deciding line.
 */
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbfw.h"
#include "modbus.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RULES	4
#define RULE_BYTES	24
#define REQ_BYTES	19

/* Hands out input bytes; zeros once they run out. */
struct take {
	const uint8_t *p;
	size_t n;
};

static uint8_t
take8(struct take *t)
{
	uint8_t v = 0;

	if (t->n > 0) {
		v = *t->p++;
		t->n--;
	}
	return v;
}

static uint16_t
take16(struct take *t)
{
	uint16_t hi = take8(t);

	return (uint16_t)(hi << 8 | take8(t));
}

static struct policy pol;

static void
bit_set(uint8_t *set, unsigned b)
{
	set[b / 8] |= (uint8_t)(1u << (b % 8));
}

static const uint8_t ro_codes[] = { 1, 2, 3, 4, 7, 11, 12, 17, 20, 24, 43 };
static const uint8_t rw_codes[] = { 5, 6, 15, 16, 21, 22, 23 };

static void
net_make(struct policy_mbfw_net *n, int family, const uint8_t *base,
    struct take *t)
{
	unsigned max = family == AF_INET ? 32 : 128, i;
	uint8_t at = take8(t), flip = take8(t), pre = take8(t);

	memset(n, 0, sizeof(*n));
	n->family = family;
	n->prefix = (uint8_t)(pre % (max + 1));
	memcpy(n->addr, base, 16);
	n->addr[at % (max / 8)] ^= flip;
	/* Host bits zero, as the loader leaves them. */
	for (i = n->prefix; i < max; i++)
		n->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

static void
rule_make(struct policy_modbus_rule *r, const struct mbfw_request *rq,
    struct take *t)
{
	uint8_t f = take8(t), g = take8(t), lo, hi;
	unsigned i, k, what, nr;
	uint16_t first, len;
	static const uint8_t v4[16] = { 10, 0, 0, 5 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "r%u", f);
	r->action = f & 1 ? POLICY_MBFW_DENY : POLICY_MBFW_ALLOW;
	/* from: none, one or two networks near the source. */
	for (i = 0; i < ((f >> 1) & 3) && i < 2; i++) {
		int fam = (g >> i) & 1 ? AF_INET6 : AF_INET;
		const uint8_t *base = rq->family == fam ? rq->addr :
		    fam == AF_INET ? v4 : v6;

		net_make(&r->from[r->n_from++], fam, base, t);
	}
	if (f & 8)
		r->listen_port = g & 4 ? 502 : 503;
	lo = take8(t);
	hi = take8(t);
	if (f & 16)
		for (i = lo; i <= hi; i++)
			bit_set(r->units, i);
	else
		memset(r->units, 0xff, sizeof(r->units));
	r->functions.mode = (enum policy_modbus_functions_mode)((g >> 3) & 3);
	switch (r->functions.mode) {
	case POLICY_MODBUS_FUNC_ALL:
		for (i = 1; i < 128; i++)
			bit_set(r->functions.codes, i);
		break;
	case POLICY_MODBUS_FUNC_READ_WRITE:
		for (i = 0; i < sizeof(rw_codes); i++)
			bit_set(r->functions.codes, rw_codes[i]);
		__attribute__((fallthrough));
	case POLICY_MODBUS_FUNC_READ_ONLY:
		for (i = 0; i < sizeof(ro_codes); i++)
			bit_set(r->functions.codes, ro_codes[i]);
		break;
	case POLICY_MODBUS_FUNC_LIST:
		bit_set(r->functions.codes, take8(t) & 127);
		bit_set(r->functions.codes, take8(t) & 127);
		break;
	}
	/* Ranges on one or two tables, up to three each. */
	for (k = 0; k < 2; k++) {
		what = take8(t);
		nr = what >> 4 & 3;
		what = (what & 15) % POLICY_MBFW_N_ACCESS;
		for (i = 0; i < nr; i++) {
			first = take16(t);
			len = take8(t);
			r->ranges[what].r[i].first = first;
			r->ranges[what].r[i].last = first + len > 65535 ?
			    65535 : (uint16_t)(first + len);
		}
		if (nr > r->ranges[what].n)
			r->ranges[what].n = (uint8_t)nr;
	}
	r->value_min = 0;
	r->value_max = 65535;
	if (g & 32)
		r->value_min = take16(t);
	if (g & 64)
		r->value_max = take16(t);
}

/* --- the oracle ------------------------------------------------------ */

static unsigned
rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A raw decode of an accepted PDU, offsets straight from 6.x. */
static size_t
raw_accesses(const uint8_t *pdu, struct mbfw_access a[2])
{
	switch (pdu[0]) {
	case 1: case 2: case 3: case 4: case 15: case 16:
		a[0].what = pdu[0] == 1 ? POLICY_MBFW_COILS_READ :
		    pdu[0] == 2 ? POLICY_MBFW_DISCRETE_INPUTS_READ :
		    pdu[0] == 3 ? POLICY_MBFW_HOLDING_REGISTERS_READ :
		    pdu[0] == 4 ? POLICY_MBFW_INPUT_REGISTERS_READ :
		    pdu[0] == 15 ? POLICY_MBFW_COILS_WRITE :
		    POLICY_MBFW_HOLDING_REGISTERS_WRITE;
		a[0].first = (uint16_t)rd16(pdu + 1);
		a[0].count = rd16(pdu + 3);
		return 1;
	case 5: case 6: case 22: case 24:
		a[0].what = pdu[0] == 5 ? POLICY_MBFW_COILS_WRITE :
		    pdu[0] == 24 ? POLICY_MBFW_HOLDING_REGISTERS_READ :
		    POLICY_MBFW_HOLDING_REGISTERS_WRITE;
		a[0].first = (uint16_t)rd16(pdu + 1);
		a[0].count = 1;
		return 1;
	case 23:
		a[0].what = POLICY_MBFW_HOLDING_REGISTERS_READ;
		a[0].first = (uint16_t)rd16(pdu + 1);
		a[0].count = rd16(pdu + 3);
		a[1].what = POLICY_MBFW_HOLDING_REGISTERS_WRITE;
		a[1].first = (uint16_t)rd16(pdu + 5);
		a[1].count = rd16(pdu + 7);
		return 2;
	default:
		return 0;
	}
}

static bool
oracle_prefix(const struct policy_mbfw_net *n, const struct mbfw_request *rq)
{
	unsigned i;

	if (n->family != rq->family)
		return false;
	for (i = 0; i < n->prefix; i++)
		if (((n->addr[i / 8] ^ rq->addr[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

/* Every address of the span in one and the same range. */
static bool
oracle_span(const struct policy_mbfw_ranges *rs, const struct mbfw_access *a)
{
	uint32_t x;
	unsigned i;

	if (rs->n == 0)
		return true;
	for (i = 0; i < rs->n; i++) {
		for (x = a->first; x < a->first + a->count; x++)
			if (x < rs->r[i].first || x > rs->r[i].last)
				break;
		if (x == a->first + a->count)
			return true;
	}
	return false;
}

static bool
oracle_values(const struct policy_modbus_rule *r, const uint8_t *pdu)
{
	const uint8_t *v;
	unsigned n, i;

	switch (pdu[0]) {
	case 6:
		v = pdu + 3;
		n = 1;
		break;
	case 16:
		v = pdu + 6;
		n = rd16(pdu + 3);
		break;
	case 23:
		v = pdu + 10;
		n = rd16(pdu + 7);
		break;
	default:
		return true;
	}
	for (i = 0; i < n; i++)
		if (rd16(v + 2 * i) < r->value_min ||
		    rd16(v + 2 * i) > r->value_max)
			return false;
	return true;
}

static bool
oracle_rule(const struct policy_modbus_rule *r, const struct mbfw_request *rq,
    const struct mbfw_access *a, size_t na)
{
	bool from = r->n_from == 0;
	size_t i;

	for (i = 0; i < r->n_from; i++)
		from = from || oracle_prefix(&r->from[i], rq);
	if (!from || (r->listen_port != 0 && r->listen_port != rq->listen_port))
		return false;
	if (!((r->units[rq->unit / 8] >> (rq->unit % 8)) & 1) ||
	    rq->pdu[0] >= 128 ||
	    !((r->functions.codes[rq->pdu[0] / 8] >> (rq->pdu[0] % 8)) & 1))
		return false;
	for (i = 0; i < na; i++)
		if (!oracle_span(&r->ranges[a[i].what], &a[i]))
			return false;
	return oracle_values(r, rq->pdu);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct take t = { data, size };
	struct mbfw_request rq;
	struct mbfw_access acc[2], raw[2];
	char text[8192], *last;
	size_t i, n, na, cut;
	int rule, xrule, want_rule = -1;
	enum policy_mbfw_action a, xa, want;
	uint8_t flags, fam, ex, *pdu;

	flags = take8(&t);
	n = (flags >> 1) % (MAX_RULES + 1);
	cut = (size_t)(flags >> 4) * 7;    /* 0..105 bytes of explanation */
	pol.modbus.firewall.default_action = flags & 1 ?
	    POLICY_MBFW_DENY : POLICY_MBFW_ALLOW;

	/* The request first: rules are derived from its address. */
	memset(&rq, 0, sizeof(rq));
	fam = take8(&t);
	rq.family = fam % 3 == 0 ? 0 : fam % 3 == 1 ? AF_INET : AF_INET6;
	for (i = 0; i < 16; i++)
		rq.addr[i] = take8(&t);
	if (rq.family != AF_INET6)
		memset(rq.addr + 4, 0, 12);
	if (rq.family == 0)
		memset(rq.addr, 0, 4);
	else
		rq.listen_port = fam & 0x80 ? 502 : 503;
	rq.unit = take8(&t);

	for (i = 0; i < n; i++) {
		size_t k = t.n < RULE_BYTES ? t.n : RULE_BYTES;
		struct take rt = { t.p, k };

		rule_make(&pol.modbus.firewall.rules[i], &rq, &rt);
		t.p += k;
		t.n -= k;
	}
	pol.modbus.firewall.n_rules = n;

	/* The PDU in its own allocation, so ASan sees any overread. */
	pdu = malloc(t.n > 0 ? t.n : 1);
	if (pdu == NULL)
		return 0;
	if (t.n > 0)
		memcpy(pdu, t.p, t.n);
	rq.pdu = pdu;
	rq.len = t.n;

	na = mbfw_accesses(pdu, t.n, acc);
	a = mbfw_eval(&pol, &rq, &rule);
	xa = mbfw_explain(&pol, &rq, &xrule, text, sizeof(text));
	if (na > 2 || xa != a || xrule != rule || rule < -1 ||
	    rule >= (int)n || strlen(text) >= sizeof(text))
		abort();

	if (modbus_request_check(pdu, t.n, &ex) != 0) {
		/* Refused requests are still read safely; the access
		 * functions among them are denied outright. */
		if (strcmp(text, "malformed request: deny\n") == 0 &&
		    (na != 0 || rule != -1 || a != POLICY_MBFW_DENY))
			abort();
		free(pdu);
		return 0;
	}

	/* Accesses: in bounds and as the raw decode has them. */
	if (raw_accesses(pdu, raw) != na)
		abort();
	for (i = 0; i < na; i++)
		if (acc[i].count < 1 || acc[i].first + acc[i].count > 65536 ||
		    acc[i].what >= POLICY_MBFW_N_ACCESS ||
		    acc[i].what != raw[i].what ||
		    acc[i].first != raw[i].first ||
		    acc[i].count != raw[i].count)
			abort();

	/* The oracle's verdict. */
	want = pol.modbus.firewall.default_action;
	for (i = 0; i < n; i++)
		if (oracle_rule(&pol.modbus.firewall.rules[i], &rq, raw, na)) {
			want = pol.modbus.firewall.rules[i].action;
			want_rule = (int)i;
			break;
		}
	if (a != want || rule != want_rule)
		abort();

	/* The text: one line per rule walked, the last one decisive. */
	if (strlen(text) == 0 || text[strlen(text) - 1] != '\n')
		abort();
	text[strlen(text) - 1] = '\0';
	last = strrchr(text, '\n');
	last = last == NULL ? text : last + 1;
	if (rule == -1 ? strncmp(last, "default: ", 9) != 0 :
	    strstr(last, ": matches: ") == NULL)
		abort();

	/* Cut short: the same verdict, a terminated prefix. */
	memset(text, 'X', cut + 1);
	xa = mbfw_explain(&pol, &rq, &xrule, cut > 0 ? text : NULL, cut);
	if (xa != a || xrule != rule || text[cut] != 'X' ||
	    (cut > 0 && strlen(text) >= cut))
		abort();
	free(pdu);
	return 0;
}
