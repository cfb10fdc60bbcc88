/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mbfw.h - the Modbus firewall's rule matcher (policy modbus.firewall):
 * which rule, if any, decides a request.  Pure: no I/O, no logging, no
 * allocation; it reads the policy and the request and nothing else.
 *
 * A request is judged by what it does, not only by its function code:
 * mbfw_accesses() names the table, direction and address span each
 * request touches, so one rule's holding_registers_write ranges cover
 * FC6, FC16, FC22 and the write half of FC23 alike.  Address spans and
 * register values come from the PDU, which the caller must already have
 * passed through modbus_request_check() (application protocol 6.x).
 */
#ifndef SLUICE_MBFW_H
#define SLUICE_MBFW_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* One access a request makes to a table, in one direction. */
struct mbfw_access {
	enum policy_mbfw_access what;
	uint16_t first;          /* first address */
	uint32_t count;          /* >= 1; first + count <= 65536 */
};

/*
 * The accesses of a request PDU (function code first) that
 * modbus_request_check accepted, in PDU order:
 *   FC1 coils read, FC2 discrete inputs read, FC3 holding registers
 *   read, FC4 input registers read (address, quantity);
 *   FC5 coils write and FC6, FC22 holding registers write, of 1;
 *   FC15 coils write, FC16 holding registers write (address, quantity);
 *   FC23 holding registers read, then holding registers write;
 *   FC24 holding registers read of 1, at its FIFO pointer address (the
 *   queue behind it is the device's business: 6.18).
 * Every other function code: none.  Returns how many (0..2) were written
 * to out; 0 also for a PDU of one of the functions above that is too
 * short or whose span is empty or passes 65535 (modbus_request_check
 * refuses those; mbfw_eval denies them).
 */
size_t mbfw_accesses(const uint8_t *pdu, size_t len,
    struct mbfw_access out[2]);

/*
 * A request as the gateway saw it.  An IPv4-mapped IPv6 source
 * (::ffff:a.b.c.d) must already be converted to AF_INET by the caller.
 */
struct mbfw_request {
	int family;              /* AF_INET, AF_INET6, or 0: no address
				  * (a serial master) */
	uint8_t addr[16];        /* network order; IPv4 in the first 4 bytes */
	uint16_t listen_port;    /* the port it arrived on; 0: serial master */
	uint8_t unit;            /* as addressed, before any offset or map */
	const uint8_t *pdu;      /* passed modbus_request_check; borrowed */
	size_t len;
};

/*
 * Walk p->modbus.firewall.rules in order; the first rule that matches
 * decides.  A rule matches when ALL of these hold:
 *  - n_from == 0, or the source address is inside one of from[] (a
 *    request of family 0 never matches a rule with from entries; an
 *    entry of the other family never matches);
 *  - the rule's listen_port is 0 or equal to the request's;
 *  - the unit is in units;
 *  - the function code's bit is set in functions.codes (the parser
 *    fills codes for every mode; mode only names them in explanations);
 *  - for each access of the request (mbfw_accesses), the rule's
 *    ranges[access.what] has n == 0 or one of its ranges holds the whole
 *    span [first, first + count - 1]: a span that crosses two adjacent
 *    ranges does not match;
 *  - for register writes (FC6 the value, FC16 and FC23 the written
 *    values; not FC22, whose AND and OR masks are not values) every
 *    value lies within value_min..value_max.
 * Returns the deciding action and sets *rule (may be NULL) to the
 * rule's index, or to -1 when no rule matched and
 * p->modbus.firewall.default_action decided.
 *
 * A PDU modbus_request_check would refuse (empty, or one of the access
 * functions truncated or with an empty or out-of-range span) is never
 * read past len and is denied with *rule = -1, whatever the default:
 * the caller broke the contract, and a matcher that cannot tell what a
 * request touches must not let it through.
 *
 * O(rules): the PDU is parsed once; no allocation.
 */
enum policy_mbfw_action mbfw_eval(const struct policy *p,
    const struct mbfw_request *rq, int *rule);

/*
 * For `sluicectl modbus rules test`: decides exactly as mbfw_eval and
 * writes to buf a multi-line explanation, one line per rule up to the
 * deciding one, each ending in '\n':
 *   rule NAME (#i): no match: <the first condition that failed>
 *   rule NAME (#i): matches: allow|deny
 * (an unnamed rule reads "rule #i: ..."), then "default: allow|deny"
 * when no rule matched, or "malformed request: deny" for a PDU refused
 * as above.  The failed condition is one of:
 *   source 10.0.0.5 not in from     (or "no source address (serial
 *                                     master) not in from")
 *   listen port 503 is not 502
 *   unit 7 not in units
 *   function 16 not in read-only    (read-write, all, or the list:
 *                                     "function 16 not in [3, 4]")
 *   holding_registers_write 10..12 not in 0-9, 20-29   (a span of 1
 *                                     is one address: "10")
 *   value 5000 above value_max 1000 (or "value 5 below value_min 10";
 *                                     the highest or lowest written)
 * Non-printable bytes of a rule name are shown as '?'.  buf is always
 * NUL-terminated when n > 0; a longer text is cut short (buf may be NULL
 * when n is 0).  Returns the action; *rule as mbfw_eval.
 */
enum policy_mbfw_action mbfw_explain(const struct policy *p,
    const struct mbfw_request *rq, int *rule, char *buf, size_t n);

#endif /* SLUICE_MBFW_H */
