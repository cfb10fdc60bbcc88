/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mbfw.c - the Modbus firewall's rule matcher.  The PDU is parsed once
 * (what it touches, the range of values it writes) and every rule is then
 * a handful of comparisons; mbfw_eval and mbfw_explain share the one
 * per-rule test, so the explanation can never disagree with the verdict.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fw_eval.h"
#include "mbfw.h"
#include "modbus.h"

/* What a request does, as far as any rule can ask. */
struct mbfw_parsed {
	uint8_t fc;
	size_t n_acc;
	struct mbfw_access acc[2];
	bool writes_values;     /* FC6, FC16, FC23 */
	uint16_t vlo, vhi;      /* lowest and highest value written */
};

/* The first condition of a rule that failed. */
enum mbfw_miss {
	MISS_NONE, MISS_FROM, MISS_PORT, MISS_UNIT, MISS_FUNC, MISS_RANGE,
	MISS_VALUE_MAX, MISS_VALUE_MIN
};

/* Names as in the policy (policy/README.md, modbus.firewall). */
static const char *const access_names[POLICY_MBFW_N_ACCESS] = {
	[POLICY_MBFW_COILS_READ] = "coils_read",
	[POLICY_MBFW_COILS_WRITE] = "coils_write",
	[POLICY_MBFW_DISCRETE_INPUTS_READ] = "discrete_inputs_read",
	[POLICY_MBFW_INPUT_REGISTERS_READ] = "input_registers_read",
	[POLICY_MBFW_HOLDING_REGISTERS_READ] = "holding_registers_read",
	[POLICY_MBFW_HOLDING_REGISTERS_WRITE] = "holding_registers_write",
};

/*
 * An address and, where with_qty, a quantity: a span of 1..65536
 * addresses that ends at 65535 at the latest (application protocol 6.1:
 * "address + quantity" must stay inside the 16-bit address space).
 */
static int
get_span(struct modbus_reader *r, enum policy_mbfw_access what,
    bool with_qty, struct mbfw_access *a)
{
	uint16_t addr, qty = 1;

	if (modbus_get_u16be(r, &addr) == -1 ||
	    (with_qty && modbus_get_u16be(r, &qty) == -1) ||
	    qty == 0 || (uint32_t)addr + qty > 65536u)
		return -1;
	a->what = what;
	a->first = addr;
	a->count = qty;
	return 0;
}

/* n register values, each widening vlo..vhi. */
static int
get_values(struct modbus_reader *r, uint32_t n, struct mbfw_parsed *q)
{
	uint16_t v;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (modbus_get_u16be(r, &v) == -1)
			return -1;
		if (!q->writes_values || v < q->vlo)
			q->vlo = v;
		if (!q->writes_values || v > q->vhi)
			q->vhi = v;
		q->writes_values = true;
	}
	return 0;
}

/* FC16 and FC23: a byte count of exactly 2 * quantity, then the values. */
static int
get_counted_values(struct modbus_reader *r, uint32_t n,
    struct mbfw_parsed *q)
{
	uint8_t count;

	if (modbus_get_u8(r, &count) == -1 || count != 2u * n)
		return -1;
	return get_values(r, n, q);
}

/* Parse what the PDU touches; -1 when it cannot be told (never read
 * past len: the caller's check is trusted, not relied on). */
static int
parse(const uint8_t *pdu, size_t len, struct mbfw_parsed *q)
{
	struct modbus_reader r;
	struct mbfw_access *a = q->acc;
	int rc;

	memset(q, 0, sizeof(*q));
	modbus_reader_init(&r, pdu, len);
	if (modbus_get_u8(&r, &q->fc) == -1)
		return -1;
	switch (q->fc) {
	case MODBUS_FUNC_READ_COILS:
		rc = get_span(&r, POLICY_MBFW_COILS_READ, true, a);
		break;
	case MODBUS_FUNC_READ_DISCRETE_INPUTS:
		rc = get_span(&r, POLICY_MBFW_DISCRETE_INPUTS_READ, true, a);
		break;
	case MODBUS_FUNC_READ_HOLDING_REGISTERS:
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_READ, true, a);
		break;
	case MODBUS_FUNC_READ_INPUT_REGISTERS:
		rc = get_span(&r, POLICY_MBFW_INPUT_REGISTERS_READ, true, a);
		break;
	case MODBUS_FUNC_WRITE_SINGLE_COIL:
		rc = get_span(&r, POLICY_MBFW_COILS_WRITE, false, a);
		break;
	case MODBUS_FUNC_WRITE_SINGLE_REGISTER:
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_WRITE, false,
		    a);
		if (rc == 0)
			rc = get_values(&r, 1, q);
		break;
	case MODBUS_FUNC_WRITE_MULTIPLE_COILS:
		rc = get_span(&r, POLICY_MBFW_COILS_WRITE, true, a);
		break;
	case MODBUS_FUNC_WRITE_MULTIPLE_REGISTERS:
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_WRITE, true, a);
		if (rc == 0)
			rc = get_counted_values(&r, a->count, q);
		break;
	case MODBUS_FUNC_MASK_WRITE_REGISTER:
		/* (current AND and_mask) OR (or_mask AND NOT and_mask), 6.16:
		 * the result depends on the register, so no value to bound. */
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_WRITE, false,
		    a);
		break;
	case MODBUS_FUNC_READ_WRITE_REGISTERS:
		/* Read span, then write span and its values (6.17). */
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_READ, true, a);
		if (rc == 0)
			rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_WRITE,
			    true, a + 1);
		if (rc == 0)
			rc = get_counted_values(&r, a[1].count, q);
		if (rc == 0)
			q->n_acc = 2;
		return rc;
	case MODBUS_FUNC_READ_FIFO_QUEUE:
		/* Only the pointer register is addressed (6.18). */
		rc = get_span(&r, POLICY_MBFW_HOLDING_REGISTERS_READ, false, a);
		break;
	default:
		return 0;
	}
	if (rc == 0)
		q->n_acc = 1;
	return rc;
}

size_t
mbfw_accesses(const uint8_t *pdu, size_t len, struct mbfw_access out[2])
{
	struct mbfw_parsed q;
	size_t i;

	if (parse(pdu, len, &q) == -1)
		return 0;
	for (i = 0; i < q.n_acc; i++)
		out[i] = q.acc[i];
	return q.n_acc;
}

static bool
net_has(const struct policy_mbfw_net *net, const struct mbfw_request *rq)
{
	unsigned max;

	if (net->family != rq->family)
		return false;
	if (net->family == AF_INET)
		max = 32;
	else if (net->family == AF_INET6)
		max = 128;
	else
		return false;
	return net->prefix <= max &&
	    fw_prefix_has(net->addr, net->prefix, rq->addr);
}

static bool
from_has(const struct policy_modbus_rule *r, const struct mbfw_request *rq)
{
	size_t i, n = r->n_from;

	if (n == 0)
		return true;
	if (n > POLICY_MODBUS_MAX_FROM)
		n = POLICY_MODBUS_MAX_FROM;
	for (i = 0; i < n; i++)
		if (net_has(&r->from[i], rq))
			return true;
	return false;
}

/* The whole span inside one range: adjacent ranges are not merged. */
static bool
ranges_have(const struct policy_mbfw_ranges *rs, const struct mbfw_access *a)
{
	uint32_t last = a->first + a->count - 1;
	size_t i, n = rs->n;

	if (n == 0)
		return true;
	if (n > POLICY_MODBUS_MAX_RANGES)
		n = POLICY_MODBUS_MAX_RANGES;
	for (i = 0; i < n; i++)
		if (rs->r[i].first <= a->first && last <= rs->r[i].last)
			return true;
	return false;
}

/* Does r match?  If not, *acc is the access that failed (MISS_RANGE). */
static enum mbfw_miss
rule_miss(const struct policy_modbus_rule *r, const struct mbfw_request *rq,
    const struct mbfw_parsed *q, size_t *acc)
{
	size_t i;

	if (!from_has(r, rq))
		return MISS_FROM;
	if (r->listen_port != 0 && r->listen_port != rq->listen_port)
		return MISS_PORT;
	if (!POLICY_MODBUS_UNIT_SET(r->units, rq->unit))
		return MISS_UNIT;
	if (q->fc >= 128 || !POLICY_MODBUS_UNIT_SET(r->functions.codes, q->fc))
		return MISS_FUNC;
	for (i = 0; i < q->n_acc; i++)
		if (q->acc[i].what >= POLICY_MBFW_N_ACCESS ||
		    !ranges_have(&r->ranges[q->acc[i].what], &q->acc[i])) {
			*acc = i;
			return MISS_RANGE;
		}
	if (q->writes_values) {
		if (q->vhi > r->value_max)
			return MISS_VALUE_MAX;
		if (q->vlo < r->value_min)
			return MISS_VALUE_MIN;
	}
	return MISS_NONE;
}

static size_t
n_rules(const struct policy *p)
{
	size_t n = p->modbus.firewall.n_rules;

	return n > POLICY_MODBUS_MAX_RULES ? POLICY_MODBUS_MAX_RULES : n;
}

enum policy_mbfw_action
mbfw_eval(const struct policy *p, const struct mbfw_request *rq, int *rule)
{
	struct mbfw_parsed q;
	size_t i, acc, n = n_rules(p);

	if (rule != NULL)
		*rule = -1;
	if (parse(rq->pdu, rq->len, &q) == -1)
		return POLICY_MBFW_DENY;
	for (i = 0; i < n; i++)
		if (rule_miss(&p->modbus.firewall.rules[i], rq, &q, &acc) ==
		    MISS_NONE) {
			if (rule != NULL)
				*rule = (int)i;
			return p->modbus.firewall.rules[i].action;
		}
	return p->modbus.firewall.default_action;
}

/* --- Explanations -------------------------------------------------- */

/* Appends to a caller's buffer, cutting short and always terminating. */
struct mbfw_out {
	char *buf;
	size_t n, off;
};

static void out_printf(struct mbfw_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct mbfw_out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->off + 1 >= o->n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->off, o->n - o->off, fmt, ap);
	va_end(ap);
	if (w < 0)
		o->buf[o->off] = '\0';
	else if ((size_t)w >= o->n - o->off)
		o->off = o->n - 1;
	else
		o->off += (size_t)w;
}

static const char *
action_name(enum policy_mbfw_action a)
{
	return a == POLICY_MBFW_ALLOW ? "allow" : "deny";
}

static void
out_rule_head(struct mbfw_out *o, const struct policy_modbus_rule *r,
    size_t i)
{
	char name[sizeof(r->name)];
	size_t k;

	/* Bounded even if a hand-built rule's name lacks its NUL. */
	for (k = 0; k < sizeof(name) - 1 && r->name[k] != '\0'; k++)
		name[k] = r->name[k] >= 0x20 && r->name[k] < 0x7f ?
		    r->name[k] : '?';
	name[k] = '\0';
	if (name[0] != '\0')
		out_printf(o, "rule %s (#%zu): ", name, i);
	else
		out_printf(o, "rule #%zu: ", i);
}

static void
out_source(struct mbfw_out *o, const struct mbfw_request *rq)
{
	char a[INET6_ADDRSTRLEN];

	if ((rq->family == AF_INET || rq->family == AF_INET6) &&
	    inet_ntop(rq->family, rq->addr, a, sizeof(a)) != NULL)
		out_printf(o, "source %s not in from", a);
	else if (rq->family == 0)
		out_printf(o, "no source address (serial master) not in from");
	else
		out_printf(o, "source of family %d not in from", rq->family);
}

static void
out_functions(struct mbfw_out *o, const struct policy_modbus_rule *r,
    uint8_t fc)
{
	const char *sep = "";
	unsigned c;

	out_printf(o, "function %u not in ", fc);
	switch (r->functions.mode) {
	case POLICY_MODBUS_FUNC_ALL:
		out_printf(o, "all");
		return;
	case POLICY_MODBUS_FUNC_READ_ONLY:
		out_printf(o, "read-only");
		return;
	case POLICY_MODBUS_FUNC_READ_WRITE:
		out_printf(o, "read-write");
		return;
	default:
		break;
	}
	out_printf(o, "[");
	for (c = 1; c < 128; c++)
		if (POLICY_MODBUS_UNIT_SET(r->functions.codes, c)) {
			out_printf(o, "%s%u", sep, c);
			sep = ", ";
		}
	out_printf(o, "]");
}

static void
out_range(struct mbfw_out *o, const struct policy_modbus_rule *r,
    const struct mbfw_access *a)
{
	const struct policy_mbfw_ranges *rs = &r->ranges[a->what];
	size_t i, n = rs->n;

	out_printf(o, "%s %u", access_names[a->what], a->first);
	if (a->count > 1)
		out_printf(o, "..%u", (unsigned)(a->first + a->count - 1));
	out_printf(o, " not in ");
	if (n > POLICY_MODBUS_MAX_RANGES)
		n = POLICY_MODBUS_MAX_RANGES;
	for (i = 0; i < n; i++) {
		out_printf(o, "%s%u", i > 0 ? ", " : "", rs->r[i].first);
		if (rs->r[i].last != rs->r[i].first)
			out_printf(o, "-%u", rs->r[i].last);
	}
}

enum policy_mbfw_action
mbfw_explain(const struct policy *p, const struct mbfw_request *rq, int *rule,
    char *buf, size_t n)
{
	struct mbfw_out o = { buf, buf == NULL ? 0 : n, 0 };
	const struct policy_modbus_rule *r;
	struct mbfw_parsed q;
	enum mbfw_miss miss;
	size_t i, acc = 0, nr = n_rules(p);

	if (o.n > 0)
		buf[0] = '\0';
	if (rule != NULL)
		*rule = -1;
	if (parse(rq->pdu, rq->len, &q) == -1) {
		out_printf(&o, "malformed request: deny\n");
		return POLICY_MBFW_DENY;
	}
	for (i = 0; i < nr; i++) {
		r = &p->modbus.firewall.rules[i];
		miss = rule_miss(r, rq, &q, &acc);
		out_rule_head(&o, r, i);
		if (miss == MISS_NONE) {
			out_printf(&o, "matches: %s\n", action_name(r->action));
			if (rule != NULL)
				*rule = (int)i;
			return r->action;
		}
		out_printf(&o, "no match: ");
		switch (miss) {
		case MISS_FROM:
			out_source(&o, rq);
			break;
		case MISS_PORT:
			out_printf(&o, "listen port %u is not %u",
			    rq->listen_port, r->listen_port);
			break;
		case MISS_UNIT:
			out_printf(&o, "unit %u not in units", rq->unit);
			break;
		case MISS_FUNC:
			out_functions(&o, r, q.fc);
			break;
		case MISS_RANGE:
			out_range(&o, r, &q.acc[acc]);
			break;
		case MISS_VALUE_MAX:
			out_printf(&o, "value %u above value_max %u", q.vhi,
			    r->value_max);
			break;
		case MISS_VALUE_MIN:
			out_printf(&o, "value %u below value_min %u", q.vlo,
			    r->value_min);
			break;
		case MISS_NONE:
			break;
		}
		out_printf(&o, "\n");
	}
	out_printf(&o, "default: %s\n",
	    action_name(p->modbus.firewall.default_action));
	return p->modbus.firewall.default_action;
}
