/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_mbfw.c - the Modbus firewall's rule matcher: the accesses of every
 * function, and a table of small rule sets and requests, each checked for
 * its verdict, the deciding rule and its explanation.  Rule sets are
 * built by hand from one-line descriptions (see rule_parse), and the same
 * kind of case runs once more through policy_load_buffer when the loader
 * knows modbus.firewall.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbfw.h"
#include "modbus.h"
#include "policy.h"

#define ALLOW	POLICY_MBFW_ALLOW
#define DENY	POLICY_MBFW_DENY

/* As policy.c fills them for read-only and read-write. */
static const uint8_t read_codes[] = { 1, 2, 3, 4, 7, 11, 12, 17, 20, 24,
	43 };
static const uint8_t write_codes[] = { 5, 6, 15, 16, 21, 22, 23 };

static void
bit_set(uint8_t *set, unsigned b)
{
	set[b / 8] |= (uint8_t)(1u << (b % 8));
}

/* "a", "a-b", comma-separated; calls fn per range. */
static void
list_parse(const char *s, void (*fn)(void *, unsigned, unsigned), void *arg)
{
	char *end;
	unsigned long lo, hi;

	for (;;) {
		lo = strtoul(s, &end, 10);
		hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		fn(arg, (unsigned)lo, (unsigned)hi);
		if (*end != ',')
			break;
		s = end + 1;
	}
	if (*end != '\0')
		fail_msg("bad list at %s", end);
}

static void
add_bits(void *arg, unsigned lo, unsigned hi)
{
	unsigned u;

	for (u = lo; u <= hi; u++)
		bit_set(arg, u);
}

static void
add_range(void *arg, unsigned lo, unsigned hi)
{
	struct policy_mbfw_ranges *rs = arg;

	assert_true(rs->n < POLICY_MODBUS_MAX_RANGES);
	rs->r[rs->n].first = (uint16_t)lo;
	rs->r[rs->n].last = (uint16_t)hi;
	rs->n++;
}

static void
add_net(struct policy_modbus_rule *r, const char *cidr)
{
	struct policy_mbfw_net *n = &r->from[r->n_from++];
	char a[64];
	const char *slash = strchr(cidr, '/');

	assert_non_null(slash);
	assert_true((size_t)(slash - cidr) < sizeof(a));
	memcpy(a, cidr, (size_t)(slash - cidr));
	a[slash - cidr] = '\0';
	n->family = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(n->family, a, n->addr), 1);
	n->prefix = (uint8_t)atoi(slash + 1);
}

static const char *const range_keys[POLICY_MBFW_N_ACCESS] = {
	[POLICY_MBFW_COILS_READ] = "cr",
	[POLICY_MBFW_COILS_WRITE] = "cw",
	[POLICY_MBFW_DISCRETE_INPUTS_READ] = "di",
	[POLICY_MBFW_INPUT_REGISTERS_READ] = "ir",
	[POLICY_MBFW_HOLDING_REGISTERS_READ] = "hr",
	[POLICY_MBFW_HOLDING_REGISTERS_WRITE] = "hw",
};

/*
 * One rule from "allow|deny [name=N] [from=CIDR,...] [port=P]
 * [units=1,3-5] [fn=all|ro|rw|3,16] [cr|cw|di|ir|hr|hw=0-9,20]
 * [vmin=V] [vmax=V]", with the parser's defaults for what is left out:
 * any source, any port, all units, all functions, any address, values
 * 0..65535.
 */
static void
rule_parse(struct policy_modbus_rule *r, const char *spec)
{
	char buf[512], *tok, *save = NULL, *val;
	unsigned i, a;

	memset(r, 0, sizeof(*r));
	memset(r->units, 0xff, sizeof(r->units));
	r->functions.mode = POLICY_MODBUS_FUNC_ALL;
	for (i = 1; i < 128; i++)
		bit_set(r->functions.codes, i);
	r->value_max = 65535;
	assert_true(strlen(spec) < sizeof(buf));
	strcpy(buf, spec);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "allow") == 0) {
			r->action = ALLOW;
			continue;
		}
		if (strcmp(tok, "deny") == 0) {
			r->action = DENY;
			continue;
		}
		if ((val = strchr(tok, '=')) == NULL)
			fail_msg("bad token %s", tok);
		*val++ = '\0';
		if (strcmp(tok, "name") == 0)
			snprintf(r->name, sizeof(r->name), "%s", val);
		else if (strcmp(tok, "from") == 0)
			for (val = strtok(val, ","); val != NULL;
			    val = strtok(NULL, ","))
				add_net(r, val);
		else if (strcmp(tok, "port") == 0)
			r->listen_port = (uint16_t)atoi(val);
		else if (strcmp(tok, "units") == 0) {
			memset(r->units, 0, sizeof(r->units));
			list_parse(val, add_bits, r->units);
		} else if (strcmp(tok, "vmin") == 0)
			r->value_min = (uint16_t)atoi(val);
		else if (strcmp(tok, "vmax") == 0)
			r->value_max = (uint16_t)atoi(val);
		else if (strcmp(tok, "fn") == 0) {
			memset(&r->functions, 0, sizeof(r->functions));
			if (strcmp(val, "all") == 0) {
				r->functions.mode = POLICY_MODBUS_FUNC_ALL;
				for (i = 1; i < 128; i++)
					bit_set(r->functions.codes, i);
			} else if (strcmp(val, "ro") == 0 ||
			    strcmp(val, "rw") == 0) {
				r->functions.mode = val[1] == 'o' ?
				    POLICY_MODBUS_FUNC_READ_ONLY :
				    POLICY_MODBUS_FUNC_READ_WRITE;
				for (i = 0; i < sizeof(read_codes); i++)
					bit_set(r->functions.codes,
					    read_codes[i]);
				for (i = 0; val[1] == 'w' &&
				    i < sizeof(write_codes); i++)
					bit_set(r->functions.codes,
					    write_codes[i]);
			} else {
				r->functions.mode = POLICY_MODBUS_FUNC_LIST;
				list_parse(val, add_bits, r->functions.codes);
			}
		} else {
			for (a = 0; a < POLICY_MBFW_N_ACCESS; a++)
				if (strcmp(tok, range_keys[a]) == 0)
					break;
			if (a == POLICY_MBFW_N_ACCESS)
				fail_msg("bad key %s", tok);
			list_parse(val, add_range, &r->ranges[a]);
		}
	}
}

#define MAX_CASE_RULES 4

static struct policy *
policy_make(enum policy_mbfw_action def, const char *const *rules)
{
	struct policy *p = calloc(1, sizeof(*p));
	size_t i;

	assert_non_null(p);
	p->modbus.firewall.default_action = def;
	for (i = 0; i < MAX_CASE_RULES && rules[i] != NULL; i++)
		rule_parse(&p->modbus.firewall.rules[i], rules[i]);
	p->modbus.firewall.n_rules = i;
	return p;
}

/* Hex digits, spaces ignored; returns the length. */
static size_t
hex_parse(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		assert_true(n < cap * 2);
		assert_int_equal(sscanf(s, "%1x", &v), 1);
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	assert_int_equal(n % 2, 0);
	return n / 2;
}

/* src: "" for a serial master, else an IPv4 or IPv6 address. */
static void
request_make(struct mbfw_request *rq, const char *src, uint16_t port,
    uint8_t unit, const uint8_t *pdu, size_t len)
{
	memset(rq, 0, sizeof(*rq));
	if (src[0] != '\0') {
		rq->family = strchr(src, ':') != NULL ? AF_INET6 : AF_INET;
		assert_int_equal(inet_pton(rq->family, src, rq->addr), 1);
	}
	rq->listen_port = port;
	rq->unit = unit;
	rq->pdu = pdu;
	rq->len = len;
}

/* --- mbfw_accesses --------------------------------------------------- */

struct access_case {
	const char *pdu;
	size_t n;
	struct mbfw_access a[2];
};

#define CR	POLICY_MBFW_COILS_READ
#define CW	POLICY_MBFW_COILS_WRITE
#define DI	POLICY_MBFW_DISCRETE_INPUTS_READ
#define IR	POLICY_MBFW_INPUT_REGISTERS_READ
#define HR	POLICY_MBFW_HOLDING_REGISTERS_READ
#define HW	POLICY_MBFW_HOLDING_REGISTERS_WRITE

static const struct access_case access_cases[] = {
	{ "01 0013 0025", 1, { { CR, 0x13, 0x25 } } },
	{ "01 F830 07D0", 1, { { CR, 0xF830, 2000 } } },	/* to 65535 */
	{ "02 00C4 0016", 1, { { DI, 0xC4, 0x16 } } },
	{ "03 006B 0003", 1, { { HR, 0x6B, 3 } } },
	{ "03 FFFF 0001", 1, { { HR, 0xFFFF, 1 } } },
	{ "04 0008 0001", 1, { { IR, 8, 1 } } },
	{ "05 00AC FF00", 1, { { CW, 0xAC, 1 } } },
	{ "06 0001 0003", 1, { { HW, 1, 1 } } },
	{ "07", 0, { { 0, 0, 0 } } },
	{ "08 0000 A537", 0, { { 0, 0, 0 } } },
	{ "0B", 0, { { 0, 0, 0 } } },
	{ "0C", 0, { { 0, 0, 0 } } },
	{ "0F 0013 000A 02 CD01", 1, { { CW, 0x13, 10 } } },
	{ "10 0001 0002 04 000A 0102", 1, { { HW, 1, 2 } } },
	{ "11", 0, { { 0, 0, 0 } } },
	{ "14 07 06 0004 0001 0002", 0, { { 0, 0, 0 } } },
	{ "15 0D 06 0004 0007 0003 06AF 04BE 100D", 0, { { 0, 0, 0 } } },
	{ "16 0004 00F2 0025", 1, { { HW, 4, 1 } } },
	{ "17 0003 0006 000E 0003 06 00FF 00FF 00FF", 2,
	  { { HR, 3, 6 }, { HW, 14, 3 } } },
	{ "18 04DE", 1, { { HR, 0x4DE, 1 } } },
	{ "2B 0E 01 00", 0, { { 0, 0, 0 } } },
	{ "41 0102", 0, { { 0, 0, 0 } } },			/* user 65 */
	/* Refused by modbus_request_check: never read past the end. */
	{ "", 0, { { 0, 0, 0 } } },
	{ "03 00", 0, { { 0, 0, 0 } } },
	{ "03 0000 0000", 0, { { 0, 0, 0 } } },		/* quantity 0 */
	{ "03 FFFF 0002", 0, { { 0, 0, 0 } } },		/* past 65535 */
	{ "10 0001 0002 04 000A", 0, { { 0, 0, 0 } } },	/* too short */
	{ "10 0001 0002 03 000A 01", 0, { { 0, 0, 0 } } },	/* count */
	{ "17 0003 0006 000E", 0, { { 0, 0, 0 } } },
	{ "06 0001", 0, { { 0, 0, 0 } } },
	{ "18", 0, { { 0, 0, 0 } } },
};

static void
test_accesses(void **state)
{
	struct mbfw_access out[2];
	uint8_t pdu[256];
	size_t i, j, len, n;

	(void)state;
	for (i = 0; i < sizeof(access_cases) / sizeof(access_cases[0]); i++) {
		const struct access_case *c = &access_cases[i];

		len = hex_parse(c->pdu, pdu, sizeof(pdu));
		memset(out, 0xAA, sizeof(out));
		n = mbfw_accesses(pdu, len, out);
		if (n != c->n)
			fail_msg("%s: %zu accesses, want %zu", c->pdu, n, c->n);
		for (j = 0; j < n; j++)
			if (out[j].what != c->a[j].what ||
			    out[j].first != c->a[j].first ||
			    out[j].count != c->a[j].count)
				fail_msg("%s: access %zu is %d %u+%u, want "
				    "%d %u+%u", c->pdu, j, out[j].what,
				    out[j].first, out[j].count, c->a[j].what,
				    c->a[j].first, c->a[j].count);
	}
	/* A NULL PDU of length 0 is the empty PDU. */
	assert_int_equal(mbfw_accesses(NULL, 0, out), 0);
}

/* --- verdicts and explanations --------------------------------------- */

struct fw_case {
	const char *what;
	enum policy_mbfw_action def;
	const char *rules[MAX_CASE_RULES];
	const char *src;
	uint16_t port;
	uint8_t unit;
	const char *pdu;
	enum policy_mbfw_action want;
	int want_rule;
	const char *text;       /* a substring of the explanation */
};

#define R(...)	{ __VA_ARGS__, NULL }
#define RD3	"03 0000 0001"          /* read holding register 0 */
#define V4	"10.0.0.5"

static const struct fw_case fw_cases[] = {
	/* The default, and first match wins. */
	{ "no rules, default allow", ALLOW, { NULL }, V4, 502, 1, RD3,
	  ALLOW, -1, "default: allow\n" },
	{ "no rules, default deny", DENY, { NULL }, V4, 502, 1, RD3,
	  DENY, -1, "default: deny\n" },
	{ "first of two matching rules", ALLOW,
	  R("deny name=a", "allow name=b"), V4, 502, 1, RD3, DENY, 0,
	  "rule a (#0): matches: deny\n" },
	{ "second rule after a miss", DENY,
	  R("deny name=a units=2", "allow name=b"), V4, 502, 1, RD3,
	  ALLOW, 1, "rule a (#0): no match: unit 1 not in units\n"
	  "rule b (#1): matches: allow\n" },
	{ "no rule matches, default deny", DENY,
	  R("allow name=a units=2", "allow name=b port=503"), V4, 502, 1,
	  RD3, DENY, -1, "rule b (#1): no match: listen port 502 is not 503\n"
	  "default: deny\n" },
	{ "unnamed rule", ALLOW, R("deny units=2"), V4, 502, 1, RD3,
	  ALLOW, -1, "rule #0: no match: unit 1 not in units\n" },

	/* from: IPv4. */
	{ "v4 inside /8", DENY, R("allow from=10.0.0.0/8"), V4, 502, 1, RD3,
	  ALLOW, 0, NULL },
	{ "v4 outside /8", DENY, R("allow from=10.0.0.0/8"), "11.0.0.5", 502,
	  1, RD3, DENY, -1, "no match: source 11.0.0.5 not in from\n" },
	{ "v4 /0", DENY, R("allow from=0.0.0.0/0"), "203.0.113.9", 502, 1,
	  RD3, ALLOW, 0, NULL },
	{ "v4 /32 equal", DENY, R("allow from=10.0.0.5/32"), V4, 502, 1, RD3,
	  ALLOW, 0, NULL },
	{ "v4 /32 neighbour", DENY, R("allow from=10.0.0.5/32"), "10.0.0.4",
	  502, 1, RD3, DENY, -1, "source 10.0.0.4 not in from" },
	{ "v4 /12 last inside", DENY, R("allow from=172.16.0.0/12"),
	  "172.31.255.255", 502, 1, RD3, ALLOW, 0, NULL },
	{ "v4 /12 first outside", DENY, R("allow from=172.16.0.0/12"),
	  "172.32.0.0", 502, 1, RD3, DENY, -1, NULL },
	{ "v4 second network", DENY,
	  R("allow from=10.0.0.0/8,192.168.1.0/24"), "192.168.1.9", 502, 1,
	  RD3, ALLOW, 0, NULL },
	{ "v4 rule, v6 source", DENY, R("allow from=0.0.0.0/0"),
	  "2001:db8::1", 502, 1, RD3, DENY, -1,
	  "source 2001:db8::1 not in from" },
	/* from: IPv6. */
	{ "v6 inside /32", DENY, R("allow from=2001:db8::/32"),
	  "2001:db8:1::1", 502, 1, RD3, ALLOW, 0, NULL },
	{ "v6 outside /32", DENY, R("allow from=2001:db8::/32"),
	  "2001:db9::1", 502, 1, RD3, DENY, -1,
	  "source 2001:db9::1 not in from" },
	{ "v6 /0", DENY, R("allow from=::/0"), "fe80::1", 502, 1, RD3,
	  ALLOW, 0, NULL },
	{ "v6 /0, v4 source", DENY, R("allow from=::/0"), V4, 502, 1, RD3,
	  DENY, -1, NULL },
	{ "v6 /128 equal", DENY, R("allow from=2001:db8::7/128"),
	  "2001:db8::7", 502, 1, RD3, ALLOW, 0, NULL },
	{ "v6 /128 neighbour", DENY, R("allow from=2001:db8::7/128"),
	  "2001:db8::6", 502, 1, RD3, DENY, -1, NULL },
	{ "v6 /127 both", DENY, R("allow from=2001:db8::6/127"),
	  "2001:db8::7", 502, 1, RD3, ALLOW, 0, NULL },
	{ "mixed list, v6 hit", DENY, R("allow from=10.0.0.0/8,::1/128"),
	  "::1", 502, 1, RD3, ALLOW, 0, NULL },
	/* from: a serial master has no address. */
	{ "serial master, from any", DENY, R("allow"), "", 0, 1, RD3,
	  ALLOW, 0, NULL },
	{ "serial master, from /0", DENY, R("allow from=0.0.0.0/0,::/0"), "",
	  0, 1, RD3, DENY, -1,
	  "no source address (serial master) not in from\n" },

	/* listen_port. */
	{ "port equal", DENY, R("allow port=502"), V4, 502, 1, RD3, ALLOW, 0,
	  NULL },
	{ "port other", DENY, R("allow port=502"), V4, 503, 1, RD3, DENY, -1,
	  "listen port 503 is not 502" },
	{ "port, serial master", DENY, R("allow port=502"), "", 0, 1, RD3,
	  DENY, -1, "listen port 0 is not 502" },
	{ "port any", DENY, R("allow port=0"), V4, 1502, 1, RD3, ALLOW, 0,
	  NULL },

	/* units. */
	{ "unit inside a range", DENY, R("allow units=1,3-5"), V4, 502, 4,
	  RD3, ALLOW, 0, NULL },
	{ "unit between", DENY, R("allow units=1,3-5"), V4, 502, 2, RD3,
	  DENY, -1, "unit 2 not in units" },
	{ "unit 0", DENY, R("allow units=0"), V4, 502, 0, RD3, ALLOW, 0,
	  NULL },
	{ "unit 255", DENY, R("allow units=255"), V4, 502, 255, RD3, ALLOW, 0,
	  NULL },
	{ "unit 254 not 255", DENY, R("allow units=255"), V4, 502, 254, RD3,
	  DENY, -1, "unit 254 not in units" },

	/* functions. */
	{ "read-only, FC3", DENY, R("allow fn=ro"), V4, 502, 1, RD3, ALLOW, 0,
	  NULL },
	{ "read-only, FC43", DENY, R("allow fn=ro"), V4, 502, 1,
	  "2B 0E 01 00", ALLOW, 0, NULL },
	{ "read-only, FC16", DENY, R("allow fn=ro"), V4, 502, 1,
	  "10 0001 0001 02 0005", DENY, -1, "function 16 not in read-only\n" },
	{ "read-only, FC22", DENY, R("allow fn=ro"), V4, 502, 1,
	  "16 0004 00F2 0025", DENY, -1, "function 22 not in read-only" },
	{ "read-write, FC16", DENY, R("allow fn=rw"), V4, 502, 1,
	  "10 0001 0001 02 0005", ALLOW, 0, NULL },
	{ "read-write, FC23", DENY, R("allow fn=rw"), V4, 502, 1,
	  "17 0000 0001 0000 0001 02 0005", ALLOW, 0, NULL },
	{ "read-write, FC8", DENY, R("allow fn=rw"), V4, 502, 1,
	  "08 0000 A537", DENY, -1, "function 8 not in read-write" },
	{ "list, in", DENY, R("allow fn=3,16"), V4, 502, 1, RD3, ALLOW, 0,
	  NULL },
	{ "list, out", DENY, R("allow fn=3,16"), V4, 502, 1, "04 0000 0001",
	  DENY, -1, "function 4 not in [3, 16]\n" },
	{ "all, user-defined 65", DENY, R("allow fn=all"), V4, 502, 1,
	  "41 0102", ALLOW, 0, NULL },
	{ "deny writes, allow the rest", ALLOW,
	  R("deny name=nowrite fn=5,6,15,16,22,23", "allow"), V4, 502, 1,
	  "05 0001 FF00", DENY, 0, "rule nowrite (#0): matches: deny\n" },

	/* ranges: edges inclusive, one range must hold the whole span. */
	{ "HR read, both edges", DENY, R("allow hr=0-9"), V4, 502, 1,
	  "03 0000 000A", ALLOW, 0, NULL },
	{ "HR read, one past", DENY, R("allow hr=0-9"), V4, 502, 1,
	  "03 0000 000B", DENY, -1,
	  "holding_registers_read 0..10 not in 0-9\n" },
	{ "HR read, last address", DENY, R("allow hr=0-9"), V4, 502, 1,
	  "03 0009 0001", ALLOW, 0, NULL },
	{ "HR read, first after", DENY, R("allow hr=0-9"), V4, 502, 1,
	  "03 000A 0001", DENY, -1, "holding_registers_read 10 not in 0-9\n" },
	{ "HR read, one before", DENY, R("allow hr=5-9"), V4, 502, 1,
	  "03 0004 0002", DENY, -1, "holding_registers_read 4..5 not in 5-9" },
	{ "span across adjacent ranges", DENY, R("allow hr=0-9,10-19"), V4,
	  502, 1, "03 0005 000A", DENY, -1,
	  "holding_registers_read 5..14 not in 0-9, 10-19\n" },
	{ "span inside the second range", DENY, R("allow hr=0-9,10-19"), V4,
	  502, 1, "03 000A 000A", ALLOW, 0, NULL },
	{ "single-address range", DENY, R("allow hr=7,9"), V4, 502, 1,
	  "03 0008 0001", DENY, -1, "holding_registers_read 8 not in 7, 9\n" },
	{ "top of the address space", DENY, R("allow hr=65530-65535"), V4,
	  502, 1, "03 FFFA 0006", ALLOW, 0, NULL },
	{ "ranges of another table", DENY, R("allow hw=0-9 cr=0 cw=0 di=0 "
	  "ir=0"), V4, 502, 1, "03 1000 0001", ALLOW, 0, NULL },
	{ "n == 0 is any", DENY, R("allow"), V4, 502, 1, "03 FF83 007D",
	  ALLOW, 0, NULL },
	{ "no accesses: ranges do not apply", DENY, R("allow hr=0 hw=0"), V4,
	  502, 1, "08 0000 A537", ALLOW, 0, NULL },
	{ "FC1 coils read", DENY, R("allow cr=0-99"), V4, 502, 1,
	  "01 0050 0014", ALLOW, 0, NULL },
	{ "FC1 coils read, out", DENY, R("allow cr=0-99"), V4, 502, 1,
	  "01 0050 0015", DENY, -1, "coils_read 80..100 not in 0-99" },
	{ "FC2 discrete inputs", DENY, R("allow di=100-199"), V4, 502, 1,
	  "02 0063 0001", DENY, -1, "discrete_inputs_read 99 not in 100-199" },
	{ "FC4 input registers", DENY, R("allow ir=100-199"), V4, 502, 1,
	  "04 0064 0064", ALLOW, 0, NULL },
	{ "FC4 input registers, out", DENY, R("allow ir=100-199"), V4, 502, 1,
	  "04 0064 0065", DENY, -1, "input_registers_read 100..200 not in" },
	{ "FC5 coil write", DENY, R("allow cw=0-15"), V4, 502, 1,
	  "05 000F FF00", ALLOW, 0, NULL },
	{ "FC5 coil write, out", DENY, R("allow cw=0-15"), V4, 502, 1,
	  "05 0010 FF00", DENY, -1, "coils_write 16 not in 0-15\n" },
	{ "FC15 coils write", DENY, R("allow cw=0-15"), V4, 502, 1,
	  "0F 0008 0008 01 FF", ALLOW, 0, NULL },
	{ "FC15 coils write, out", DENY, R("allow cw=0-15"), V4, 502, 1,
	  "0F 0008 0009 02 FF01", DENY, -1, "coils_write 8..16 not in 0-15" },
	{ "FC15 is not a coils read", DENY, R("allow cr=0"), V4, 502, 1,
	  "0F 0008 0009 02 FF01", ALLOW, 0, NULL },
	{ "FC6 register write", DENY, R("allow hw=100"), V4, 502, 1,
	  "06 0064 0001", ALLOW, 0, NULL },
	{ "FC6 register write, out", DENY, R("allow hw=100"), V4, 502, 1,
	  "06 0065 0001", DENY, -1,
	  "holding_registers_write 101 not in 100\n" },
	{ "FC6 is not a read", DENY, R("allow hr=0"), V4, 502, 1,
	  "06 0065 0001", ALLOW, 0, NULL },
	{ "FC16 registers write", DENY, R("allow hw=10-12"), V4, 502, 1,
	  "10 000A 0003 06 0001 0002 0003", ALLOW, 0, NULL },
	{ "FC16 registers write, out", DENY, R("allow hw=0-9"), V4, 502, 1,
	  "10 000A 0003 06 0001 0002 0003", DENY, -1,
	  "holding_registers_write 10..12 not in 0-9\n" },
	{ "FC22 mask write", DENY, R("allow hw=4"), V4, 502, 1,
	  "16 0004 00F2 0025", ALLOW, 0, NULL },
	{ "FC22 mask write, out", DENY, R("allow hw=4"), V4, 502, 1,
	  "16 0005 00F2 0025", DENY, -1, "holding_registers_write 5 not in 4" },
	{ "FC23 both inside", DENY, R("allow hr=0-9 hw=100-109"), V4, 502, 1,
	  "17 0000 000A 0064 0002 04 0001 0002", ALLOW, 0, NULL },
	{ "FC23 read outside", DENY, R("allow hr=0-9 hw=100-109"), V4, 502,
	  1, "17 0000 000B 0064 0002 04 0001 0002", DENY, -1,
	  "holding_registers_read 0..10 not in 0-9\n" },
	{ "FC23 write outside", DENY, R("allow hr=0-9 hw=100-109"), V4, 502,
	  1, "17 0000 000A 006E 0001 02 0001", DENY, -1,
	  "holding_registers_write 110 not in 100-109\n" },
	{ "FC23 write outside, top", DENY, R("allow hr=0-9 hw=100-109"), V4,
	  502, 1, "17 0000 000A 006D 0002 04 0001 0002", DENY, -1,
	  "holding_registers_write 109..110 not in 100-109\n" },
	{ "FC23 write, read ranges any", DENY, R("allow hw=100-109"), V4, 502,
	  1, "17 FF00 007D 0064 0001 02 0001", ALLOW, 0, NULL },
	{ "FC24 FIFO pointer", DENY, R("allow hr=50"), V4, 502, 1, "18 0032",
	  ALLOW, 0, NULL },
	{ "FC24 FIFO pointer, out", DENY, R("allow hr=51-60"), V4, 502, 1,
	  "18 0032", DENY, -1, "holding_registers_read 50 not in 51-60\n" },
	{ "FC24 is not a write", DENY, R("allow hw=0"), V4, 502, 1, "18 0032",
	  ALLOW, 0, NULL },

	/* Written values. */
	{ "FC6 value at max", DENY, R("allow vmin=10 vmax=1000"), V4, 502, 1,
	  "06 0001 03E8", ALLOW, 0, NULL },
	{ "FC6 value above max", DENY, R("allow vmin=10 vmax=1000"), V4, 502,
	  1, "06 0001 03E9", DENY, -1, "value 1001 above value_max 1000\n" },
	{ "FC6 value at min", DENY, R("allow vmin=10 vmax=1000"), V4, 502, 1,
	  "06 0001 000A", ALLOW, 0, NULL },
	{ "FC6 value below min", DENY, R("allow vmin=10 vmax=1000"), V4, 502,
	  1, "06 0001 0009", DENY, -1, "value 9 below value_min 10\n" },
	{ "FC16 one value above", DENY, R("allow vmin=10 vmax=1000"), V4,
	  502, 1, "10 0000 0003 06 000A 1388 0014", DENY, -1,
	  "value 5000 above value_max 1000\n" },
	{ "FC16 one value below", DENY, R("allow vmin=10 vmax=1000"), V4,
	  502, 1, "10 0000 0003 06 000A 0005 0014", DENY, -1,
	  "value 5 below value_min 10\n" },
	{ "FC16 all inside", DENY, R("allow vmin=10 vmax=1000"), V4, 502, 1,
	  "10 0000 0003 06 000A 03E8 0014", ALLOW, 0, NULL },
	{ "FC23 written value above", DENY, R("allow vmax=1000"), V4, 502, 1,
	  "17 0000 0001 0000 0002 04 0001 07D0", DENY, -1,
	  "value 2000 above value_max 1000" },
	{ "FC23 read quantity is no value", DENY, R("allow vmax=10"), V4, 502,
	  1, "17 0000 007D 0000 0001 02 0001", ALLOW, 0, NULL },
	{ "FC22 masks are no values", DENY, R("allow vmin=10 vmax=1000"), V4,
	  502, 1, "16 0004 FFFF FFFF", ALLOW, 0, NULL },
	{ "FC5 is no register", DENY, R("allow vmax=0"), V4, 502, 1,
	  "05 0004 FF00", ALLOW, 0, NULL },
	{ "FC15 is no register", DENY, R("allow vmax=0"), V4, 502, 1,
	  "0F 0000 0010 02 FFFF", ALLOW, 0, NULL },
	{ "reads have no values", DENY, R("allow vmin=5 vmax=5"), V4, 502, 1,
	  "03 0000 007D", ALLOW, 0, NULL },
	{ "value rule falls through", ALLOW,
	  R("allow name=sane hw=0-9 vmax=100", "deny name=rest hw=0-9"), V4,
	  502, 1, "06 0003 0065", DENY, 1,
	  "rule sane (#0): no match: value 101 above value_max 100\n"
	  "rule rest (#1): matches: deny\n" },

	/* Conditions are reported in order: the first that failed. */
	{ "order: from before unit", DENY,
	  R("allow from=192.0.2.0/24 units=9"), V4, 502, 1, RD3, DENY, -1,
	  "source 10.0.0.5 not in from\n" },
	{ "order: unit before function", DENY, R("allow units=9 fn=4"), V4,
	  502, 1, RD3, DENY, -1, "unit 1 not in units\n" },
	{ "order: function before range", DENY, R("allow fn=4 hr=9"), V4, 502,
	  1, RD3, DENY, -1, "function 3 not in [4]\n" },
	{ "order: range before value", DENY, R("allow hw=9 vmax=0"), V4, 502,
	  1, "06 0001 0001", DENY, -1, "holding_registers_write 1 not in 9\n" },

	/* Broken contract: never let through what cannot be read. */
	{ "truncated read, default allow", ALLOW, R("allow"), V4, 502, 1,
	  "03 0000", DENY, -1, "malformed request: deny\n" },
	{ "empty PDU", ALLOW, R("allow"), V4, 502, 1, "", DENY, -1,
	  "malformed request: deny\n" },
	{ "FC16 byte count short", ALLOW, R("allow"), V4, 502, 1,
	  "10 0000 0002 04 0001", DENY, -1, "malformed request: deny\n" },
};

static void
run_case(const struct fw_case *c, const struct policy *p)
{
	struct mbfw_request rq;
	uint8_t pdu[256], ex;
	char text[4096];
	size_t len;
	int rule = 99, xrule = 99;
	enum policy_mbfw_action a, xa;

	len = hex_parse(c->pdu, pdu, sizeof(pdu));
	/* Every well-formed case is one the codec accepts. */
	if (strstr(c->text != NULL ? c->text : "", "malformed") == NULL &&
	    modbus_request_check(pdu, len, &ex) != 0)
		fail_msg("%s: modbus_request_check refuses %s (%u)", c->what,
		    c->pdu, ex);
	request_make(&rq, c->src, c->port, c->unit, pdu, len);
	a = mbfw_eval(p, &rq, &rule);
	xa = mbfw_explain(p, &rq, &xrule, text, sizeof(text));
	if (a != c->want || rule != c->want_rule)
		fail_msg("%s: eval %d rule %d, want %d rule %d\n%s", c->what,
		    a, rule, c->want, c->want_rule, text);
	if (xa != a || xrule != rule)
		fail_msg("%s: explain %d rule %d, eval %d rule %d", c->what,
		    xa, xrule, a, rule);
	if (c->text != NULL && strstr(text, c->text) == NULL)
		fail_msg("%s: explanation\n%s\nlacks\n%s", c->what, text,
		    c->text);
	/* *rule may be NULL. */
	assert_int_equal(mbfw_eval(p, &rq, NULL), a);
	assert_int_equal(mbfw_explain(p, &rq, NULL, text, sizeof(text)), a);
}

static void
test_cases(void **state)
{
	struct policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fw_cases) / sizeof(fw_cases[0]); i++) {
		p = policy_make(fw_cases[i].def, fw_cases[i].rules);
		run_case(&fw_cases[i], p);
		free(p);
	}
}

/* The whole text, line by line, for a walk past every kind of miss. */
static void
test_explain_full(void **state)
{
	static const char *const rules[] = {
		"allow name=src from=192.168.0.0/16",
		"allow name=port port=1502",
		"allow name=unit units=2-247",
		"allow name=fn fn=ro",
		"allow name=range hw=0-9,20-29",
		"allow name=value vmax=1000",
		"deny name=last",
		NULL
	};
	static const char want[] =
	    "rule src (#0): no match: source 10.0.0.5 not in from\n"
	    "rule port (#1): no match: listen port 502 is not 1502\n"
	    "rule unit (#2): no match: unit 1 not in units\n"
	    "rule fn (#3): no match: function 16 not in read-only\n"
	    "rule range (#4): no match: holding_registers_write 10..12 "
	    "not in 0-9, 20-29\n"
	    "rule value (#5): no match: value 5000 above value_max 1000\n"
	    "rule last (#6): matches: deny\n";
	struct policy *p = calloc(1, sizeof(*p));
	struct mbfw_request rq;
	uint8_t pdu[64];
	char text[1024];
	size_t len, i;
	int rule;

	(void)state;
	assert_non_null(p);
	p->modbus.firewall.default_action = ALLOW;
	for (i = 0; rules[i] != NULL; i++)
		rule_parse(&p->modbus.firewall.rules[i], rules[i]);
	p->modbus.firewall.n_rules = i;
	len = hex_parse("10 000A 0003 06 0001 1388 0003", pdu, sizeof(pdu));
	request_make(&rq, V4, 502, 1, pdu, len);
	assert_int_equal(mbfw_explain(p, &rq, &rule, text, sizeof(text)),
	    DENY);
	assert_int_equal(rule, 6);
	assert_string_equal(text, want);

	/* Cut short anywhere: a NUL-terminated prefix, same verdict. */
	for (i = 1; i <= sizeof(want); i++) {
		memset(text, 'X', sizeof(text));
		rule = 99;
		assert_int_equal(mbfw_explain(p, &rq, &rule, text, i), DENY);
		assert_int_equal(rule, 6);
		assert_int_equal(strlen(text), i - 1);
		assert_memory_equal(text, want, i - 1);
		assert_int_equal(text[i], 'X');
	}
	rule = 99;
	assert_int_equal(mbfw_explain(p, &rq, &rule, NULL, 0), DENY);
	assert_int_equal(rule, 6);
	text[0] = 'X';
	assert_int_equal(mbfw_explain(p, &rq, &rule, text, 0), DENY);
	assert_int_equal(text[0], 'X');
	free(p);
}

/* A name is shown printable and bounded, even without its NUL. */
static void
test_explain_name(void **state)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct policy_modbus_rule *r;
	struct mbfw_request rq;
	uint8_t pdu[] = { 0x03, 0x00, 0x00, 0x00, 0x01 };
	char text[256], want[256];

	(void)state;
	assert_non_null(p);
	r = &p->modbus.firewall.rules[0];
	rule_parse(r, "allow units=2");
	memset(r->name, 'n', sizeof(r->name));
	r->name[1] = '\n';
	r->name[2] = (char)0xC3;
	p->modbus.firewall.n_rules = 1;
	request_make(&rq, "", 0, 1, pdu, sizeof(pdu));
	assert_int_equal(mbfw_explain(p, &rq, NULL, text, sizeof(text)),
	    ALLOW);
	snprintf(want, sizeof(want), "rule n??%.*s (#0): no match: unit 1 "
	    "not in units\ndefault: allow\n", POLICY_MODBUS_NAME_MAX - 3,
	    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	assert_string_equal(text, want);
	free(p);
}

/* A policy built by the loader, where it knows modbus.firewall. */
static void
test_yaml(void **state)
{
	static const char yaml[] =
	    "modbus:\n"
	    "  firewall:\n"
	    "    default: deny\n"
	    "    rules:\n"
	    "      - name: scada\n"
	    "        action: allow\n"
	    "        from: [192.168.10.0/24, \"2001:db8::/32\"]\n"
	    "        listen_port: 502\n"
	    "        units: 1-10\n"
	    "        functions: read-write\n"
	    "        holding_registers_read: [0-99]\n"
	    "        holding_registers_write: [0-9, 10-19]\n"
	    "        value_max: 1000\n"
	    "      - name: readers\n"
	    "        action: allow\n"
	    "        functions: read-only\n"
	    "        input_registers_read: 0-999\n";
	static const struct {
		const char *src;
		uint16_t port;
		uint8_t unit;
		const char *pdu;
		enum policy_mbfw_action want;
		int rule;
		const char *text;
	} cases[] = {
		{ "192.168.10.7", 502, 1, "10 0000 0002 04 0001 03E8", ALLOW,
		  0, "rule scada (#0): matches: allow\n" },
		{ "2001:db8::5", 502, 10, "06 0013 0000", ALLOW, 0, NULL },
		{ "192.168.10.7", 502, 1, "10 0009 0002 04 0001 0002", DENY,
		  -1, "holding_registers_write 9..10 not in 0-9, 10-19\n" },
		{ "192.168.10.7", 502, 1, "06 0000 03E9", DENY, -1,
		  "value 1001 above value_max 1000\n" },
		{ "192.168.10.7", 502, 1, "08 0000 0000", DENY, -1,
		  "function 8 not in read-write\n" },
		{ "192.168.10.7", 502, 1, "17 0000 0065 0000 0001 02 0001",
		  DENY, -1, "holding_registers_read 0..100 not in 0-99\n" },
		{ "192.168.11.7", 502, 1, "04 03E7 0001", ALLOW, 1,
		  "rule scada (#0): no match: source 192.168.11.7 not in "
		  "from\nrule readers (#1): matches: allow\n" },
		{ "", 0, 1, "04 03E8 0001", DENY, -1,
		  "rule readers (#1): no match: input_registers_read 1000 "
		  "not in 0-999\ndefault: deny\n" },
		{ "192.168.11.7", 502, 1, "06 0000 0001", DENY, -1,
		  "function 6 not in read-only\n" },
	};
	struct policy_error err;
	struct policy *p;
	struct mbfw_request rq;
	uint8_t pdu[256];
	char text[1024];
	size_t i, len;
	int rule;

	(void)state;
	p = policy_load_buffer("t.yaml", yaml, strlen(yaml),
	    "/nonexistent-sluice-test-dir", &err);
	if (p == NULL && strstr(err.msg, "firewall") != NULL &&
	    strstr(err.msg, "unknown") != NULL)
		skip();     /* the loader does not know modbus.firewall yet */
	if (p == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(p->modbus.firewall.n_rules, 2);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = hex_parse(cases[i].pdu, pdu, sizeof(pdu));
		request_make(&rq, cases[i].src, cases[i].port, cases[i].unit,
		    pdu, len);
		rule = 99;
		if (mbfw_eval(p, &rq, &rule) != cases[i].want ||
		    rule != cases[i].rule)
			fail_msg("yaml case %zu: rule %d", i, rule);
		assert_int_equal(mbfw_explain(p, &rq, &rule, text,
		    sizeof(text)), cases[i].want);
		assert_int_equal(rule, cases[i].rule);
		if (cases[i].text != NULL &&
		    strstr(text, cases[i].text) == NULL)
			fail_msg("yaml case %zu:\n%s\nlacks\n%s", i, text,
			    cases[i].text);
	}
	policy_free(p);
}

/* Every rule a miss, at the limit: still the default, quickly. */
static void
test_many_rules(void **state)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct mbfw_request rq;
	uint8_t pdu[] = { 0x03, 0x00, 0x00, 0x00, 0x01 };
	int rule;
	size_t i;

	(void)state;
	assert_non_null(p);
	p->modbus.firewall.default_action = DENY;
	for (i = 0; i < POLICY_MODBUS_MAX_RULES; i++)
		rule_parse(&p->modbus.firewall.rules[i],
		    i + 1 < POLICY_MODBUS_MAX_RULES ?
		    "allow hr=1-100" : "allow hr=0");
	p->modbus.firewall.n_rules = POLICY_MODBUS_MAX_RULES;
	request_make(&rq, V4, 502, 1, pdu, sizeof(pdu));
	assert_int_equal(mbfw_eval(p, &rq, &rule), ALLOW);
	assert_int_equal(rule, POLICY_MODBUS_MAX_RULES - 1);
	pdu[2] = 0x65;
	assert_int_equal(mbfw_eval(p, &rq, &rule), DENY);
	assert_int_equal(rule, -1);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accesses),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_explain_full),
		cmocka_unit_test(test_explain_name),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
