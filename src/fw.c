/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw.c - policy -> config bytes -> IR -> nft text.  Pure: no I/O beyond
 * the FILE the caller hands to fw_render_nft(), no logging.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "policy.h"
#include "registry.h"

/* ------------------------------------------------------------------ */
/* Bounds-checked reading of the config bytes                          */
/* ------------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static int
rd_get(struct rd *r, void *dst, size_t n)
{
	if (n > r->len - r->off)
		return -1;
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return 0;
}

void
fw_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static unsigned
addr_bytes(unsigned family)
{
	return family == 4 ? 4 : 16;
}

/* The last address of a network, in last[16]. */
static void
prefix_last(const struct fw_prefix *x, uint8_t last[16])
{
	unsigned i, bytes = addr_bytes(x->family);

	for (i = 0; i < 16; i++) {
		unsigned bits = x->len > i * 8 ? x->len - i * 8u : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		last[i] = i < bytes ? (uint8_t)(x->addr[i] | ~mask) : 0;
	}
}

static bool
prefix_host_bits(const struct fw_prefix *x)
{
	unsigned i, bytes = addr_bytes(x->family);

	for (i = 0; i < 16; i++) {
		unsigned bits = x->len > i * 8 ? x->len - i * 8u : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		if (i >= bytes ? x->addr[i] != 0 : (x->addr[i] & ~mask) != 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* policy -> config                                                    */
/* ------------------------------------------------------------------ */

static int
ban_cmp(const void *a, const void *b)
{
	const struct fw_ban *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static void
prefix_from_entry(struct fw_prefix *d, const struct policy_acl_entry *e)
{
	memset(d, 0, sizeof(*d));
	d->family = e->family == AF_INET ? 4 : 6;
	d->len = e->prefix;
	memcpy(d->addr, e->addr, addr_bytes(d->family));
}

static bool
is_console(unsigned id)
{
	return id == REGISTRY_HTTP || id == REGISTRY_HTTPS ||
	    id == REGISTRY_TELNET;
}

void *
fw_config_from_policy(const struct policy *p, const struct fw_ban *bans,
    size_t nbans, size_t *len)
{
	struct fw_config_header h;
	struct fw_ban *b = NULL;
	size_t i, nb = 0, total, o;
	unsigned s, e;
	uint8_t *buf;

	memset(&h, 0, sizeof(h));
	if (nbans > FW_MAX_BANS) {
		errno = EINVAL;
		return NULL;
	}
	if (nbans > 0 && (b = calloc(nbans, sizeof(*b))) == NULL)
		return NULL;
	for (i = 0; i < nbans; i++) {
		if (bans[i].family != 4 && bans[i].family != 6) {
			free(b);
			errno = EINVAL;
			return NULL;
		}
		if (bans[i].seconds == 0)
			continue;
		b[nb].family = bans[i].family;
		b[nb].seconds = bans[i].seconds > FW_MAX_BAN_SECONDS ?
		    FW_MAX_BAN_SECONDS : bans[i].seconds;
		memcpy(b[nb].addr, bans[i].addr, addr_bytes(b[nb].family));
		nb++;
	}
	if (nb > 0)
		qsort(b, nb, sizeof(*b), ban_cmp);
	/* Merge duplicates, keeping the longest remaining time. */
	for (i = 1, o = nb > 0 ? 1 : 0; i < nb; i++) {
		if (ban_cmp(&b[o - 1], &b[i]) == 0) {
			if (b[i].seconds > b[o - 1].seconds)
				b[o - 1].seconds = b[i].seconds;
		} else
			b[o++] = b[i];
	}
	nb = o;

	h.magic = FW_CONFIG_MAGIC;
	h.version = FW_CONFIG_VERSION;
	if (p->accessible_ip.activate)
		h.flags |= FW_F_ACL_ACTIVE;
	if (p->accessible_ip.activate &&
	    p->accessible_ip.apply_additional_restrictions)
		h.flags |= FW_F_ACL_ALL;
	if (p->firewall.default_input == POLICY_FW_INPUT_DROP)
		h.flags |= FW_F_DEFAULT_DROP;
	if (p->firewall.closed_ports == POLICY_FW_CLOSED_REJECT)
		h.flags |= FW_F_CLOSED_REJECT;
#define FLAG(cond, f) do { if (cond) h.flags |= (f); } while (0)
	FLAG(p->dos_defense.null_scan, FW_F_NULL_SCAN);
	FLAG(p->dos_defense.xmas_scan, FW_F_XMAS_SCAN);
	FLAG(p->dos_defense.nmap_xmas_scan, FW_F_NMAP_XMAS_SCAN);
	FLAG(p->dos_defense.syn_fin_scan, FW_F_SYN_FIN_SCAN);
	FLAG(p->dos_defense.fin_scan, FW_F_FIN_SCAN);
	FLAG(p->dos_defense.nmap_id_scan, FW_F_NMAP_ID_SCAN);
	FLAG(p->dos_defense.syn_rst_scan, FW_F_SYN_RST_SCAN);
	FLAG(p->dos_defense.new_without_syn, FW_F_NEW_WITHOUT_SYN);
	FLAG(p->dos_defense.invalid_state, FW_F_INVALID_STATE);
	FLAG(p->dos_defense.syn_flood.enabled, FW_F_SYN_FLOOD);
	FLAG(p->dos_defense.icmp_limit.enabled, FW_F_ICMP_LIMIT);
#undef FLAG
	h.syn_rate = p->dos_defense.syn_flood.rate;
	h.syn_burst = p->dos_defense.syn_flood.burst;
	h.icmp_rate = p->dos_defense.icmp_limit.rate;
	h.icmp_burst = p->dos_defense.icmp_limit.burst;
	h.src_rate = p->firewall.per_source.new_per_second;
	h.src_burst = p->firewall.per_source.burst;
	h.src_max_conn = p->firewall.per_source.max_connections;
	h.ban_seconds = p->firewall.ban_seconds;
	for (s = 0; s < REGISTRY_COUNT; s++)
		h.n_ports += registry_get((enum registry_id)s)->n_endpoints;
	for (i = 0; i < p->accessible_ip.n_entries; i++) {
		const struct policy_acl_entry *a = &p->accessible_ip.entries[i];

		if (!a->active)
			continue;
		if (a->family == AF_INET)
			h.n_acl4++;
		else
			h.n_acl6++;
	}
	for (i = 0; i < p->firewall.n_management; i++) {
		if (p->firewall.management[i].family == AF_INET)
			h.n_mgmt4++;
		else
			h.n_mgmt6++;
	}
	h.n_bans = (uint32_t)nb;
	if (h.n_ports > FW_MAX_PORTS || h.n_acl4 > FW_MAX_ACL ||
	    h.n_acl6 > FW_MAX_ACL || h.n_mgmt4 > FW_MAX_MGMT ||
	    h.n_mgmt6 > FW_MAX_MGMT) {
		free(b);
		errno = EINVAL;
		return NULL;
	}
	total = sizeof(h) + h.n_ports * sizeof(struct fw_port) +
	    ((size_t)h.n_acl4 + h.n_acl6 + h.n_mgmt4 + h.n_mgmt6) *
	    sizeof(struct fw_prefix) + nb * sizeof(struct fw_ban);
	h.length = (uint32_t)total;
	if ((buf = calloc(1, total)) == NULL) {
		free(b);
		return NULL;
	}
	memcpy(buf, &h, sizeof(h));
	o = sizeof(h);
	for (s = 0; s < REGISTRY_COUNT; s++) {
		const struct registry_service *r =
		    registry_get((enum registry_id)s);

		for (e = 0; e < r->n_endpoints; e++) {
			struct fw_port fp;

			memset(&fp, 0, sizeof(fp));
			fp.port = p->services[s].ports[e];
			fp.transports = (uint8_t)
			    ((r->endpoints[e].transports & REGISTRY_TCP ?
			    FW_TCP : 0) | (r->endpoints[e].transports &
			    REGISTRY_UDP ? FW_UDP : 0));
			fp.kind = r->class == REGISTRY_CLASS_PROTOCOL ?
			    FW_PORT_PROTOCOL : is_console(s) ? FW_PORT_CONSOLE :
			    FW_PORT_SERVICE;
			fp.role = r->role == REGISTRY_ROLE_SERVER ?
			    FW_ROLE_SERVER : FW_ROLE_CLIENT;
			fp.enabled = p->services[s].enabled ? 1 : 0;
			fp.service = (uint8_t)s;
			fp.endpoint = (uint8_t)e;
			memcpy(buf + o, &fp, sizeof(fp));
			o += sizeof(fp);
		}
	}
	/* Policy entries are sorted by (family, address): AF_INET first. */
	for (int fam = AF_INET, pass = 0; pass < 2; pass++, fam = AF_INET6)
		for (i = 0; i < p->accessible_ip.n_entries; i++) {
			const struct policy_acl_entry *a =
			    &p->accessible_ip.entries[i];
			struct fw_prefix fp;

			if (!a->active || a->family != fam)
				continue;
			prefix_from_entry(&fp, a);
			memcpy(buf + o, &fp, sizeof(fp));
			o += sizeof(fp);
		}
	for (int fam = AF_INET, pass = 0; pass < 2; pass++, fam = AF_INET6)
		for (i = 0; i < p->firewall.n_management; i++) {
			struct fw_prefix fp;

			if (p->firewall.management[i].family != fam)
				continue;
			prefix_from_entry(&fp, &p->firewall.management[i]);
			memcpy(buf + o, &fp, sizeof(fp));
			o += sizeof(fp);
		}
	if (nb > 0)
		memcpy(buf + o, b, nb * sizeof(*b));
	free(b);
	*len = total;
	return buf;
}

/* ------------------------------------------------------------------ */
/* Checking                                                            */
/* ------------------------------------------------------------------ */

static int
check_rate(const char *what, uint32_t rate, uint32_t burst, char *err,
    size_t errlen)
{
	if (rate < 1 || rate > FW_MAX_RATE || burst < 1 ||
	    burst > FW_MAX_RATE) {
		fw_err(err, errlen, "%s: rate %u burst %u out of range", what,
		    rate, burst);
		return -1;
	}
	return 0;
}

static int
check_header(const struct fw_config_header *h, size_t len, char *err,
    size_t errlen)
{
	uint64_t want;

	if (h->magic != FW_CONFIG_MAGIC || h->version != FW_CONFIG_VERSION) {
		fw_err(err, errlen, "bad magic or version");
		return -1;
	}
	if (h->length != len) {
		fw_err(err, errlen, "length %u, got %zu bytes", h->length, len);
		return -1;
	}
	if ((h->flags & ~FW_F_ALL) != 0 || ((h->flags & FW_F_ACL_ALL) &&
	    !(h->flags & FW_F_ACL_ACTIVE))) {
		fw_err(err, errlen, "bad flags 0x%x", h->flags);
		return -1;
	}
	if ((h->flags & FW_F_SYN_FLOOD) && check_rate("syn flood",
	    h->syn_rate, h->syn_burst, err, errlen) == -1)
		return -1;
	if ((h->flags & FW_F_ICMP_LIMIT) && check_rate("icmp limit",
	    h->icmp_rate, h->icmp_burst, err, errlen) == -1)
		return -1;
	if (h->src_rate > 100000 || h->src_burst < 1 ||
	    h->src_burst > FW_MAX_RATE || h->src_max_conn > 65535) {
		fw_err(err, errlen, "per-source limits out of range");
		return -1;
	}
	if (h->ban_seconds < 1 || h->ban_seconds > FW_MAX_BAN_SECONDS) {
		fw_err(err, errlen, "ban_seconds %u out of range",
		    h->ban_seconds);
		return -1;
	}
	if (h->n_ports > FW_MAX_PORTS || h->n_acl4 > FW_MAX_ACL ||
	    h->n_acl6 > FW_MAX_ACL || h->n_mgmt4 > FW_MAX_MGMT ||
	    h->n_mgmt6 > FW_MAX_MGMT || h->n_bans > FW_MAX_BANS) {
		fw_err(err, errlen, "a count exceeds its cap");
		return -1;
	}
	want = sizeof(*h) + (uint64_t)h->n_ports * sizeof(struct fw_port) +
	    ((uint64_t)h->n_acl4 + h->n_acl6 + h->n_mgmt4 + h->n_mgmt6) *
	    sizeof(struct fw_prefix) + (uint64_t)h->n_bans *
	    sizeof(struct fw_ban);
	if (want != len) {
		fw_err(err, errlen, "counts need %llu bytes, got %zu",
		    (unsigned long long)want, len);
		return -1;
	}
	return 0;
}

static int
check_port(const struct fw_port *p, char *err, size_t errlen)
{
	if (p->port == 0 || p->transports == 0 ||
	    (p->transports & ~(FW_TCP | FW_UDP)) != 0 ||
	    p->kind > FW_PORT_CONSOLE || p->role > FW_ROLE_CLIENT ||
	    p->enabled > 1 || p->service >= REGISTRY_COUNT ||
	    p->endpoint >= REGISTRY_MAX_ENDPOINTS) {
		fw_err(err, errlen, "bad port entry (port %u)", p->port);
		return -1;
	}
	return 0;
}

static int
check_prefixes(struct rd *r, uint32_t n, unsigned family, const char *what,
    char *err, size_t errlen)
{
	struct fw_prefix x;
	uint8_t last[16];
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (rd_get(r, &x, sizeof(x)) == -1) {
			fw_err(err, errlen, "%s: short", what);
			return -1;
		}
		if (x.family != family || x.len > addr_bytes(family) * 8 ||
		    x.pad[0] != 0 || x.pad[1] != 0 || prefix_host_bits(&x)) {
			fw_err(err, errlen, "%s[%u]: bad prefix", what, i);
			return -1;
		}
		if (i > 0 && memcmp(x.addr, last, 16) <= 0) {
			fw_err(err, errlen, "%s[%u]: not sorted or overlaps",
			    what, i);
			return -1;
		}
		/* Sorted and disjoint: each starts after the last ended. */
		prefix_last(&x, last);
	}
	return 0;
}

static int
check_bans(struct rd *r, uint32_t n, char *err, size_t errlen)
{
	struct fw_ban x, prev;
	uint32_t i;
	unsigned k;

	memset(&prev, 0, sizeof(prev));
	for (i = 0; i < n; i++) {
		if (rd_get(r, &x, sizeof(x)) == -1) {
			fw_err(err, errlen, "bans: short");
			return -1;
		}
		if ((x.family != 4 && x.family != 6) || x.pad[0] != 0 ||
		    x.pad[1] != 0 || x.pad[2] != 0 || x.seconds < 1 ||
		    x.seconds > FW_MAX_BAN_SECONDS) {
			fw_err(err, errlen, "bans[%u]: bad entry", i);
			return -1;
		}
		for (k = addr_bytes(x.family); k < 16; k++)
			if (x.addr[k] != 0) {
				fw_err(err, errlen, "bans[%u]: bad address", i);
				return -1;
			}
		if (i > 0 && ban_cmp(&prev, &x) >= 0) {
			fw_err(err, errlen, "bans[%u]: not sorted or duplicate",
			    i);
			return -1;
		}
		prev = x;
	}
	return 0;
}

int
fw_config_check(const void *buf, size_t len, char *err, size_t errlen)
{
	struct fw_config_header h;
	struct fw_port p;
	struct rd r = { buf, len, 0 };
	uint32_t i;

	if (buf == NULL || rd_get(&r, &h, sizeof(h)) == -1) {
		fw_err(err, errlen, "shorter than the header");
		return -1;
	}
	if (check_header(&h, len, err, errlen) == -1)
		return -1;
	for (i = 0; i < h.n_ports; i++) {
		if (rd_get(&r, &p, sizeof(p)) == -1) {
			fw_err(err, errlen, "ports: short");
			return -1;
		}
		if (check_port(&p, err, errlen) == -1)
			return -1;
	}
	if (check_prefixes(&r, h.n_acl4, 4, "acl4", err, errlen) == -1 ||
	    check_prefixes(&r, h.n_acl6, 6, "acl6", err, errlen) == -1 ||
	    check_prefixes(&r, h.n_mgmt4, 4, "mgmt4", err, errlen) == -1 ||
	    check_prefixes(&r, h.n_mgmt6, 6, "mgmt6", err, errlen) == -1 ||
	    check_bans(&r, h.n_bans, err, errlen) == -1)
		return -1;
	if (r.off != len) {
		fw_err(err, errlen, "trailing bytes");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* config -> IR                                                        */
/* ------------------------------------------------------------------ */

struct builder {
	struct fw_ir *ir;
	size_t cap_rules;
	bool failed;
};

static int
add_set(struct fw_ir *ir, const char *name, enum fw_set_type type,
    unsigned flags, size_t n)
{
	struct fw_set *s = &ir->sets[ir->n_sets];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = type;
	s->flags = flags;
	if (n > 0 && (s->elems = calloc(n, sizeof(*s->elems))) == NULL)
		return -1;
	return (int)ir->n_sets++;
}

static struct fw_rule *
rule_new(struct builder *b, const char *comment)
{
	struct fw_rule *r;

	if (b->failed)
		return NULL;
	if (b->ir->n_rules == b->cap_rules) {
		size_t cap = b->cap_rules ? b->cap_rules * 2 : 64;

		r = realloc(b->ir->rules, cap * sizeof(*r));
		if (r == NULL) {
			b->failed = true;
			return NULL;
		}
		b->ir->rules = r;
		b->cap_rules = cap;
	}
	r = &b->ir->rules[b->ir->n_rules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->comment, sizeof(r->comment), "%s", comment ? comment : "");
	return r;
}

static void
m_add(struct fw_rule *r, enum fw_match_kind kind, bool neg, uint32_t a,
    uint32_t b, uint32_t c, int set)
{
	if (r == NULL || r->n >= FW_RULE_MAX_MATCH)
		return;
	r->m[r->n].kind = kind;
	r->m[r->n].neg = neg;
	r->m[r->n].a = a;
	r->m[r->n].b = b;
	r->m[r->n].c = c;
	r->m[r->n].set = set;
	r->n++;
}

#define M(r, k, neg, a, b, c, s) m_add((r), (k), (neg), (a), (b), (c), (s))

static uint32_t rule_l4(const struct fw_rule *r);

static void
verdict(struct fw_rule *r, enum fw_verdict v, bool counter)
{
	if (r == NULL)
		return;
	r->verdict = v;
	r->counter = counter;
}

/* Until assign_targets() gives it an id: this rule counts its sources. */
#define TARGET_WANTED	UINT16_MAX

/*
 * A counted drop or reject that represents an attack or a refusal: the
 * kernel also counts it per source, so that its events name them.
 */
static void
drop_verdict(struct fw_rule *r, enum fw_verdict v)
{
	verdict(r, v, true);
	if (r != NULL)
		r->target = TARGET_WANTED;
}

static void
scan_rule(struct builder *b, const char *name, uint32_t mask, uint32_t value)
{
	struct fw_rule *r = rule_new(b, name);

	M(r, FW_M_L4PROTO, false, IPPROTO_TCP, 0, 0, -1);
	M(r, FW_M_TCP_FLAGS, false, mask, value, 0, -1);
	drop_verdict(r, FW_V_DROP);
}

#define TCP_ALL	(FW_TCP_FIN | FW_TCP_SYN | FW_TCP_RST | FW_TCP_PSH | \
		 FW_TCP_ACK | FW_TCP_URG)

/*
 * Scan patterns (guide 3.6).  They come before conntrack's verdicts: the
 * kernel marks all of them invalid, and "invalid state" first would leave
 * every scan counter at zero.  No legitimate packet of a connection has
 * any of them (a real FIN carries ACK).  Exact patterns go before the
 * masked syn/fin and syn/rst ones, or NMAP-ID would count as syn/fin.
 */
static void
build_scans(struct builder *b, const struct fw_config_header *h)
{
	if (h->flags & FW_F_NULL_SCAN)
		scan_rule(b, "null scan", TCP_ALL, 0);
	if (h->flags & FW_F_XMAS_SCAN)
		scan_rule(b, "xmas scan", TCP_ALL, TCP_ALL);
	if (h->flags & FW_F_NMAP_XMAS_SCAN)
		scan_rule(b, "nmap-xmas scan", TCP_ALL,
		    FW_TCP_FIN | FW_TCP_PSH | FW_TCP_URG);
	if (h->flags & FW_F_NMAP_ID_SCAN)
		scan_rule(b, "nmap-id scan", TCP_ALL,
		    FW_TCP_SYN | FW_TCP_FIN | FW_TCP_PSH | FW_TCP_URG);
	if (h->flags & FW_F_FIN_SCAN)
		scan_rule(b, "fin scan", TCP_ALL, FW_TCP_FIN);
	if (h->flags & FW_F_SYN_FIN_SCAN)
		scan_rule(b, "syn/fin scan", FW_TCP_SYN | FW_TCP_FIN,
		    FW_TCP_SYN | FW_TCP_FIN);
	if (h->flags & FW_F_SYN_RST_SCAN)
		scan_rule(b, "syn/rst scan", FW_TCP_SYN | FW_TCP_RST,
		    FW_TCP_SYN | FW_TCP_RST);
}

/*
 * ICMP echo limit ("ICMP death"), before the accept of established
 * traffic: after its first reply a ping session is established, and would
 * otherwise never meet the limit.
 */
static void
build_icmp_limit(struct builder *b, const struct fw_config_header *h)
{
	static const struct {
		const char *name;
		uint32_t l4, echo_request, family;
	} v[2] = {
		{ "icmp limit", IPPROTO_ICMP, 8, 4 },
		{ "icmpv6 limit", IPPROTO_ICMPV6, 128, 6 },
	};
	struct fw_rule *r;
	int i;

	if (!(h->flags & FW_F_ICMP_LIMIT))
		return;
	for (i = 0; i < 2; i++) {
		r = rule_new(b, v[i].name);
		M(r, FW_M_L4PROTO, false, v[i].l4, 0, 0, -1);
		M(r, FW_M_ICMP_TYPE, false, v[i].echo_request, v[i].family, 0,
		    -1);
		M(r, FW_M_LIMIT_OVER, false, h->icmp_rate, h->icmp_burst, 0, -1);
		drop_verdict(r, FW_V_DROP);
	}
}

static void
build_new_without_syn(struct builder *b, const struct fw_config_header *h)
{
	struct fw_rule *r;

	if (!(h->flags & FW_F_NEW_WITHOUT_SYN))
		return;
	r = rule_new(b, "new connection without syn");
	M(r, FW_M_L4PROTO, false, IPPROTO_TCP, 0, 0, -1);
	M(r, FW_M_CT_STATE, false, FW_CT_NEW, 0, 0, -1);
	M(r, FW_M_TCP_FLAGS, true, FW_TCP_FIN | FW_TCP_SYN |
	    FW_TCP_RST | FW_TCP_ACK, FW_TCP_SYN, 0, -1);
	drop_verdict(r, FW_V_DROP);
}

/*
 * The global SYN limit, after the per-source meters (one flooding host is
 * caught by its own meter before it can use up everyone's budget) and
 * never for management addresses, so the operator still gets in.
 */
static void
build_syn_flood(struct builder *b, const struct fw_config_header *h,
    const int *mgmt)
{
	struct fw_rule *r;
	int fam;

	if (!(h->flags & FW_F_SYN_FLOOD))
		return;
	for (fam = 0; fam < 2; fam++) {
		r = rule_new(b, fam ? NULL : "syn flood");
		M(r, FW_M_NFPROTO, false, fam ? 6 : 4, 0, 0, -1);
		M(r, FW_M_L4PROTO, false, IPPROTO_TCP, 0, 0, -1);
		M(r, FW_M_TCP_FLAGS, false, FW_TCP_FIN | FW_TCP_SYN |
		    FW_TCP_RST | FW_TCP_ACK, FW_TCP_SYN, 0, -1);
		M(r, FW_M_SADDR, true, fam ? 6 : 4, 0, 0, mgmt[fam]);
		M(r, FW_M_LIMIT_OVER, false, h->syn_rate, h->syn_burst, 0, -1);
		drop_verdict(r, FW_V_DROP);
	}
}

/* Is (port, transport) served by an enabled server? */
static bool
port_served(const struct fw_port *ports, uint32_t n, uint16_t port,
    unsigned transport)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (ports[i].enabled && ports[i].role == FW_ROLE_SERVER &&
		    ports[i].port == port && (ports[i].transports & transport))
			return true;
	return false;
}

/* Was (port, transport) already handled by an earlier entry? */
static bool
port_seen(const struct fw_port *ports, uint32_t upto, bool enabled,
    uint16_t port, unsigned transport)
{
	uint32_t i;

	for (i = 0; i < upto; i++)
		if ((ports[i].enabled != 0) == enabled &&
		    ports[i].role == FW_ROLE_SERVER &&
		    ports[i].port == port && (ports[i].transports & transport))
			return true;
	return false;
}

static void
build_ports(struct builder *b, const struct fw_config_header *h,
    const struct fw_port *ports, const int *sets)
{
	enum fw_verdict closed = h->flags & FW_F_CLOSED_REJECT ? FW_V_REJECT :
	    FW_V_DROP;
	static const unsigned tr[2] = { FW_TCP, FW_UDP };
	char c[48];
	uint32_t i;
	unsigned t;
	int fam;

	/* Open ports: per the accessible-IP list (guide 3.4). */
	for (i = 0; i < h->n_ports; i++) {
		const struct fw_port *p = &ports[i];
		const struct registry_service *s = registry_get(p->service);
		bool restricted = (h->flags & FW_F_ACL_ACTIVE) &&
		    (p->kind == FW_PORT_PROTOCOL || (h->flags & FW_F_ACL_ALL));

		if (!p->enabled || p->role != FW_ROLE_SERVER)
			continue;
		for (t = 0; t < 2; t++) {
			uint32_t l4 = tr[t] == FW_TCP ? IPPROTO_TCP :
			    IPPROTO_UDP;
			struct fw_rule *r;

			if (!(p->transports & tr[t]) ||
			    port_seen(ports, i, true, p->port, tr[t]))
				continue;
			snprintf(c, sizeof(c), "%s %s", s->name,
			    s->endpoints[p->endpoint].key);
			if (!restricted) {
				r = rule_new(b, c);
				M(r, FW_M_L4PROTO, false, l4, 0, 0, -1);
				M(r, FW_M_DPORT, false, p->port, 0, 0, -1);
				verdict(r, FW_V_ACCEPT, false);
				continue;
			}
			for (fam = 0; fam < 2; fam++) {
				r = rule_new(b, fam ? NULL : c);
				M(r, FW_M_NFPROTO, false, fam ? 6 : 4, 0, 0,
				    -1);
				M(r, FW_M_L4PROTO, false, l4, 0, 0, -1);
				M(r, FW_M_SADDR, false, fam ? 6 : 4, 0, 0,
				    sets[fam]);
				M(r, FW_M_DPORT, false, p->port, 0, 0, -1);
				verdict(r, FW_V_ACCEPT, false);
			}
			r = rule_new(b, NULL);
			M(r, FW_M_L4PROTO, false, l4, 0, 0, -1);
			M(r, FW_M_DPORT, false, p->port, 0, 0, -1);
			drop_verdict(r, closed);
		}
	}
	/* Closed ports: every port of every disabled server. */
	for (i = 0; i < h->n_ports; i++) {
		const struct fw_port *p = &ports[i];
		const struct registry_service *s = registry_get(p->service);

		if (p->enabled || p->role != FW_ROLE_SERVER)
			continue;
		for (t = 0; t < 2; t++) {
			uint32_t l4 = tr[t] == FW_TCP ? IPPROTO_TCP :
			    IPPROTO_UDP;
			struct fw_rule *r;

			if (!(p->transports & tr[t]) ||
			    port_served(ports, h->n_ports, p->port, tr[t]) ||
			    port_seen(ports, i, false, p->port, tr[t]))
				continue;
			snprintf(c, sizeof(c), "%s %s (disabled)", s->name,
			    s->endpoints[p->endpoint].key);
			r = rule_new(b, c);
			M(r, FW_M_L4PROTO, false, l4, 0, 0, -1);
			M(r, FW_M_DPORT, false, p->port, 0, 0, -1);
			drop_verdict(r, closed);
		}
	}
}

/* Per-source limits on new TCP connections to protocol and console ports. */
static void
build_per_source(struct builder *b, const struct fw_config_header *h,
    int guarded, const int *meter, const int *conn)
{
	enum fw_verdict closed = h->flags & FW_F_CLOSED_REJECT ? FW_V_REJECT :
	    FW_V_DROP;
	struct fw_rule *r;
	int fam;

	for (fam = 0; fam < 2 && h->src_max_conn > 0; fam++) {
		r = rule_new(b, fam ? NULL : "per-source connection cap");
		M(r, FW_M_NFPROTO, false, fam ? 6 : 4, 0, 0, -1);
		M(r, FW_M_L4PROTO, false, IPPROTO_TCP, 0, 0, -1);
		M(r, FW_M_DPORT_SET, false, 0, 0, 0, guarded);
		M(r, FW_M_CT_STATE, false, FW_CT_NEW, 0, 0, -1);
		M(r, FW_M_CT_COUNT, false, h->src_max_conn, 0, fam ? 6 : 4,
		    conn[fam]);
		drop_verdict(r, closed);
	}
	for (fam = 0; fam < 2 && h->src_rate > 0; fam++) {
		r = rule_new(b, fam ? NULL : "per-source new-connection rate");
		M(r, FW_M_NFPROTO, false, fam ? 6 : 4, 0, 0, -1);
		M(r, FW_M_L4PROTO, false, IPPROTO_TCP, 0, 0, -1);
		M(r, FW_M_DPORT_SET, false, 0, 0, 0, guarded);
		M(r, FW_M_CT_STATE, false, FW_CT_NEW, 0, 0, -1);
		M(r, FW_M_METER, false, h->src_rate, h->src_burst, fam ? 6 : 4,
		    meter[fam]);
		drop_verdict(r, FW_V_DROP);
	}
}

static void
build_default_drop(struct builder *b, const struct fw_port *ports,
    uint32_t n)
{
	static const uint32_t v6types[] = { 128, 133, 134, 135, 136 };
	struct fw_rule *r;
	uint32_t i;

	/*
	 * Replies to our DHCP client can be broadcast and so escape
	 * conntrack (RFC 2131 section 4.1); NTP and every other client's
	 * replies are established and accepted above.
	 */
	for (i = 0; i < n; i++) {
		if (!ports[i].enabled || ports[i].role != FW_ROLE_CLIENT ||
		    ports[i].service != REGISTRY_DHCP_CLIENT)
			continue;
		r = rule_new(b, "dhcp-client replies");
		M(r, FW_M_L4PROTO, false, IPPROTO_UDP, 0, 0, -1);
		M(r, FW_M_SPORT, false, 67, 0, 0, -1);
		M(r, FW_M_DPORT, false, ports[i].port, 0, 0, -1);
		verdict(r, FW_V_ACCEPT, false);
	}
	r = rule_new(b, "ping");
	M(r, FW_M_L4PROTO, false, IPPROTO_ICMP, 0, 0, -1);
	M(r, FW_M_ICMP_TYPE, false, 8, 4, 0, -1);
	verdict(r, FW_V_ACCEPT, false);
	/* RFC 4890 section 4.4.1: neighbour discovery must pass. */
	for (i = 0; i < sizeof(v6types) / sizeof(v6types[0]); i++) {
		r = rule_new(b, i == 0 ? "ping, neighbour discovery" : NULL);
		M(r, FW_M_L4PROTO, false, IPPROTO_ICMPV6, 0, 0, -1);
		M(r, FW_M_ICMP_TYPE, false, v6types[i], 6, 0, -1);
		verdict(r, FW_V_ACCEPT, false);
	}
}

static int
read_prefixes(struct rd *r, struct fw_set *s, uint32_t n)
{
	struct fw_prefix x;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (rd_get(r, &x, sizeof(x)) == -1)
			return -1;
		memcpy(s->elems[i].addr, x.addr, 16);
		s->elems[i].len = x.len;
	}
	s->n = n;
	return 0;
}

/* drop_src4, drop_src6: last, so that fw_ir_strip_sources() leaves the
 * other sets' indices alone. */
static int
add_source_sets(struct fw_ir *ir)
{
	int fam, i;

	for (fam = 0; fam < 2; fam++) {
		if ((i = add_set(ir, fam ? "drop_src6" : "drop_src4",
		    fam ? FW_SET_IPV6 : FW_SET_IPV4, FW_SET_SOURCES |
		    FW_SET_DYNAMIC | FW_SET_TIMEOUT, 0)) == -1)
			return -1;
		ir->sets[i].size = FW_SRC_SET_SIZE;
		ir->sets[i].timeout_s = FW_SRC_TIMEOUT_S;
		ir->src_sets[fam] = i;
	}
	return 0;
}

static int
build_sets(struct fw_ir *ir, const struct fw_config_header *h, struct rd *r,
    const struct fw_port *ports, int *acl, int *mgmt, int *ban, int *meter,
    int *conn, int *guarded)
{
	struct fw_ban x;
	uint32_t i;
	size_t ng = 0;
	int fam;

	if ((acl[0] = add_set(ir, "acl4", FW_SET_IPV4, FW_SET_INTERVAL,
	    h->n_acl4)) == -1 ||
	    (acl[1] = add_set(ir, "acl6", FW_SET_IPV6, FW_SET_INTERVAL,
	    h->n_acl6)) == -1 ||
	    (mgmt[0] = add_set(ir, "mgmt4", FW_SET_IPV4, FW_SET_INTERVAL,
	    h->n_mgmt4)) == -1 ||
	    (mgmt[1] = add_set(ir, "mgmt6", FW_SET_IPV6, FW_SET_INTERVAL,
	    h->n_mgmt6)) == -1 ||
	    (ban[0] = add_set(ir, "ban4", FW_SET_IPV4, FW_SET_TIMEOUT,
	    h->n_bans)) == -1 ||
	    (ban[1] = add_set(ir, "ban6", FW_SET_IPV6, FW_SET_TIMEOUT,
	    h->n_bans)) == -1)
		return -1;
	if (read_prefixes(r, &ir->sets[acl[0]], h->n_acl4) == -1 ||
	    read_prefixes(r, &ir->sets[acl[1]], h->n_acl6) == -1 ||
	    read_prefixes(r, &ir->sets[mgmt[0]], h->n_mgmt4) == -1 ||
	    read_prefixes(r, &ir->sets[mgmt[1]], h->n_mgmt6) == -1)
		return -1;
	for (fam = 0; fam < 2; fam++)
		ir->sets[ban[fam]].timeout_s = h->ban_seconds;
	for (i = 0; i < h->n_bans; i++) {
		struct fw_set *s;

		if (rd_get(r, &x, sizeof(x)) == -1)
			return -1;
		s = &ir->sets[ban[x.family == 4 ? 0 : 1]];
		memcpy(s->elems[s->n].addr, x.addr, 16);
		s->elems[s->n].len = x.family == 4 ? 32 : 128;
		s->elems[s->n].timeout_s = x.seconds;
		s->n++;
	}
	*guarded = meter[0] = meter[1] = conn[0] = conn[1] = -1;
	if (h->src_rate == 0 && h->src_max_conn == 0)
		return add_source_sets(ir);
	if ((*guarded = add_set(ir, "guarded", FW_SET_PORT, 0,
	    h->n_ports)) == -1)
		return -1;
	for (i = 0; i < h->n_ports; i++) {
		struct fw_set *s = &ir->sets[*guarded];
		uint16_t be = htons(ports[i].port);
		size_t k;

		if (!ports[i].enabled || ports[i].role != FW_ROLE_SERVER ||
		    !(ports[i].transports & FW_TCP) ||
		    ports[i].kind == FW_PORT_SERVICE)
			continue;
		for (k = 0; k < ng; k++)
			if (memcmp(s->elems[k].addr, &be, 2) == 0)
				break;
		if (k < ng)
			continue;
		memcpy(s->elems[ng].addr, &be, 2);
		s->elems[ng].len = 16;
		ng++;
		s->n = ng;
	}
	for (fam = 0; fam < 2 && h->src_max_conn > 0; fam++) {
		if ((conn[fam] = add_set(ir, fam ? "conn6" : "conn4",
		    fam ? FW_SET_IPV6 : FW_SET_IPV4, FW_SET_DYNAMIC, 0)) == -1)
			return -1;
		ir->sets[conn[fam]].size = 65535;
	}
	for (fam = 0; fam < 2 && h->src_rate > 0; fam++) {
		if ((meter[fam] = add_set(ir, fam ? "meter6" : "meter4",
		    fam ? FW_SET_IPV6 : FW_SET_IPV4, FW_SET_DYNAMIC |
		    FW_SET_TIMEOUT, 0)) == -1)
			return -1;
		ir->sets[meter[fam]].size = 65535;
		ir->sets[meter[fam]].timeout_s = 60;
	}
	return add_source_sets(ir);
}

size_t
fw_rule_head(const struct fw_ir *ir, size_t i)
{
	for (; i > 0 && ir->rules[i].comment[0] == '\0'; i--)
		;
	return i;
}

/*
 * One drop target per named rule and verdict: the IPv4 and IPv6 halves
 * of a rule share theirs, so its events name sources of both families.
 */
static int
assign_targets(struct fw_ir *ir)
{
	size_t i, k, n = 0;

	for (i = 0; i < ir->n_rules; i++)
		n += ir->rules[i].target == TARGET_WANTED;
	if (n >= TARGET_WANTED)
		return -1;
	if (n > 0 && (ir->targets = calloc(n, sizeof(*ir->targets))) == NULL)
		return -1;
	for (i = 0; i < ir->n_rules; i++) {
		struct fw_rule *r = &ir->rules[i];
		bool tcp = r->verdict == FW_V_REJECT &&
		    rule_l4(r) == IPPROTO_TCP;
		size_t head = fw_rule_head(ir, i);
		struct fw_target *t;

		if (r->target != TARGET_WANTED)
			continue;
		for (k = 0; k < ir->n_targets; k++) {
			t = &ir->targets[k];
			if (fw_rule_head(ir, t->rule) == head &&
			    t->verdict == r->verdict && t->tcp_reset == tcp)
				break;
		}
		if (k == ir->n_targets) {
			t = &ir->targets[ir->n_targets++];
			t->id = (uint16_t)ir->n_targets;
			t->verdict = r->verdict;
			t->tcp_reset = tcp;
			t->rule = i;
			snprintf(t->chain, sizeof(t->chain), "%s_%u",
			    r->verdict == FW_V_REJECT ? "reject" : "drop",
			    (unsigned)t->id);
		}
		r->target = ir->targets[k].id;
	}
	return 0;
}

/* Where set i goes once the accounting sets are taken out. */
static int
set_renumbered(const struct fw_ir *ir, int i)
{
	int k, gone = 0;

	for (k = 0; k < i; k++)
		gone += (ir->sets[k].flags & FW_SET_SOURCES) != 0;
	return i - gone;
}

void
fw_ir_strip_sources(struct fw_ir *ir)
{
	size_t i, o;
	unsigned k;

	if (ir == NULL || ir->n_targets == 0)
		return;
	for (i = 0; i < ir->n_rules; i++) {
		ir->rules[i].target = 0;
		for (k = 0; k < ir->rules[i].n; k++)
			if (ir->rules[i].m[k].set >= 0)
				ir->rules[i].m[k].set = set_renumbered(ir,
				    ir->rules[i].m[k].set);
	}
	for (i = 0, o = 0; i < ir->n_sets; i++) {
		if (ir->sets[i].flags & FW_SET_SOURCES)
			free(ir->sets[i].elems);
		else
			ir->sets[o++] = ir->sets[i];
	}
	ir->n_sets = o;
	free(ir->targets);
	ir->targets = NULL;
	ir->n_targets = 0;
	ir->src_sets[0] = ir->src_sets[1] = -1;
}

struct fw_ir *
fw_build(const void *config, size_t len)
{
	struct fw_config_header h;
	struct fw_port *ports = NULL;
	struct builder b;
	struct fw_rule *r;
	struct rd rd = { config, len, 0 };
	int acl[2], mgmt[2], ban[2], meter[2], conn[2], guarded, fam;
	uint32_t i;

	if (fw_config_check(config, len, NULL, 0) == -1) {
		errno = EINVAL;
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	if ((b.ir = calloc(1, sizeof(*b.ir))) == NULL ||
	    (b.ir->sets = calloc(16, sizeof(*b.ir->sets))) == NULL)
		goto fail;
	b.ir->src_sets[0] = b.ir->src_sets[1] = -1;
	rd_get(&rd, &h, sizeof(h));
	if ((ports = calloc(h.n_ports + 1, sizeof(*ports))) == NULL)
		goto fail;
	for (i = 0; i < h.n_ports; i++)
		rd_get(&rd, &ports[i], sizeof(ports[i]));
	if (build_sets(b.ir, &h, &rd, ports, acl, mgmt, ban, meter, conn,
	    &guarded) == -1)
		goto fail;
	b.ir->default_drop = (h.flags & FW_F_DEFAULT_DROP) != 0;

	/* Loopback is never touched. */
	r = rule_new(&b, "loopback");
	M(r, FW_M_IIF_LO, false, 0, 0, 0, -1);
	verdict(r, FW_V_ACCEPT, false);
	build_scans(&b, &h);
	build_icmp_limit(&b, &h);
	r = rule_new(&b, "replies");
	M(r, FW_M_CT_STATE, false, FW_CT_ESTABLISHED | FW_CT_RELATED, 0, 0,
	    -1);
	verdict(r, FW_V_ACCEPT, false);
	/*
	 * Not counted per source: conntrack also marks stray packets of
	 * real connections invalid (a late retransmission, state lost in a
	 * restart), so its sources name no attacker.
	 */
	if (h.flags & FW_F_INVALID_STATE) {
		r = rule_new(&b, "invalid state");
		M(r, FW_M_CT_STATE, false, FW_CT_INVALID, 0, 0, -1);
		verdict(r, FW_V_DROP, true);
	}
	/* Bans; management addresses are never banned. */
	for (fam = 0; fam < 2; fam++) {
		r = rule_new(&b, fam ? NULL : "banned sources");
		M(r, FW_M_NFPROTO, false, fam ? 6 : 4, 0, 0, -1);
		M(r, FW_M_SADDR, false, fam ? 6 : 4, 0, 0, ban[fam]);
		M(r, FW_M_SADDR, true, fam ? 6 : 4, 0, 0, mgmt[fam]);
		drop_verdict(r, FW_V_DROP);
	}
	build_new_without_syn(&b, &h);
	if (guarded != -1)
		build_per_source(&b, &h, guarded, meter, conn);
	build_syn_flood(&b, &h, mgmt);
	build_ports(&b, &h, ports, acl);
	if (b.ir->default_drop)
		build_default_drop(&b, ports, h.n_ports);
	if (b.failed || assign_targets(b.ir) == -1)
		goto fail;
	free(ports);
	return b.ir;
fail:
	free(ports);
	fw_ir_free(b.ir);
	errno = ENOMEM;
	return NULL;
}

void
fw_ir_free(struct fw_ir *ir)
{
	size_t i;

	if (ir == NULL)
		return;
	for (i = 0; ir->sets != NULL && i < ir->n_sets; i++)
		free(ir->sets[i].elems);
	free(ir->sets);
	free(ir->rules);
	free(ir->targets);
	free(ir);
}

int
fw_ir_set_find(const struct fw_ir *ir, const char *name)
{
	size_t i;

	for (i = 0; i < ir->n_sets; i++)
		if (strcmp(ir->sets[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* IR -> nft text                                                      */
/* ------------------------------------------------------------------ */

static const char *
set_type_name(enum fw_set_type t)
{
	return t == FW_SET_IPV4 ? "ipv4_addr" : t == FW_SET_IPV6 ?
	    "ipv6_addr" : "inet_service";
}

static void
render_elem(FILE *out, const struct fw_set *s, const struct fw_elem *e)
{
	char a[INET6_ADDRSTRLEN];
	uint16_t port;

	if (s->type == FW_SET_PORT) {
		memcpy(&port, e->addr, 2);
		fprintf(out, "%u", ntohs(port));
		return;
	}
	inet_ntop(s->type == FW_SET_IPV4 ? AF_INET : AF_INET6, e->addr, a,
	    sizeof(a));
	fputs(a, out);
	if ((s->flags & FW_SET_INTERVAL) &&
	    e->len != (s->type == FW_SET_IPV4 ? 32 : 128))
		fprintf(out, "/%u", e->len);
	if (e->timeout_s != 0)
		fprintf(out, " timeout %us", e->timeout_s);
}

static void
render_set(FILE *out, const struct fw_set *s)
{
	size_t i;

	fprintf(out, "\tset %s {\n\t\ttype %s%s\n", s->name,
	    set_type_name(s->type), s->flags & FW_SET_SOURCES ?
	    " . inet_service" : "");
	if (s->size)
		fprintf(out, "\t\tsize %u\n", s->size);
	if (s->flags) {
		const char *sep = "";

		fputs("\t\tflags ", out);
		if (s->flags & FW_SET_DYNAMIC) {
			fputs("dynamic", out);
			sep = ",";
		}
		if (s->flags & FW_SET_INTERVAL) {
			fprintf(out, "%sinterval", sep);
			sep = ",";
		}
		if (s->flags & FW_SET_TIMEOUT)
			fprintf(out, "%stimeout", sep);
		fputs("\n", out);
	}
	if (s->timeout_s)
		fprintf(out, "\t\ttimeout %us\n", s->timeout_s);
	if (s->n > 0) {
		fputs("\t\telements = {", out);
		for (i = 0; i < s->n; i++) {
			fputs(i ? ",\n\t\t\t     " : " ", out);
			render_elem(out, s, &s->elems[i]);
		}
		fputs(" }\n", out);
	}
	fputs("\t}\n", out);
}

static const char *
l4_name(uint32_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "ipv6-icmp";
	}
}

static void
render_tcp_flags(FILE *out, uint32_t bits)
{
	static const char *const names[] = { "fin", "syn", "rst", "psh",
	    "ack", "urg" };
	const char *sep = "";
	unsigned i;

	if (bits == 0) {
		fputs("0x0", out);
		return;
	}
	for (i = 0; i < 6; i++)
		if (bits & (1u << i)) {
			fprintf(out, "%s%s", sep, names[i]);
			sep = "|";
		}
}

static const char *
icmp_type_name(uint32_t family, uint32_t type)
{
	if (family == 4)
		return type == 8 ? "echo-request" : "?";
	switch (type) {
	case 128:
		return "echo-request";
	case 133:
		return "nd-router-solicit";
	case 134:
		return "nd-router-advert";
	case 135:
		return "nd-neighbor-solicit";
	case 136:
		return "nd-neighbor-advert";
	default:
		return "?";
	}
}

static void
render_ct_state(FILE *out, uint32_t bits)
{
	static const char *const names[] = { "invalid", "established",
	    "related", "new" };
	const char *sep = "";
	unsigned i;

	fputs("ct state ", out);
	for (i = 0; i < 4; i++)
		if (bits & (1u << i)) {
			fprintf(out, "%s%s", sep, names[i]);
			sep = ",";
		}
}

static void
render_match(FILE *out, const struct fw_ir *ir, const struct fw_match *m)
{
	const char *set = m->set >= 0 ? ir->sets[m->set].name : "?";
	const char *ip = m->c == 6 ? "ip6" : "ip";

	switch (m->kind) {
	case FW_M_IIF_LO:
		fputs("iif \"lo\"", out);
		break;
	case FW_M_CT_STATE:
		render_ct_state(out, m->a);
		break;
	case FW_M_NFPROTO:
		fprintf(out, "meta nfproto %s", m->a == 6 ? "ipv6" : "ipv4");
		break;
	case FW_M_L4PROTO:
		fprintf(out, "meta l4proto %s", l4_name(m->a));
		break;
	case FW_M_SADDR:
		fprintf(out, "%s saddr %s@%s", m->a == 6 ? "ip6" : "ip",
		    m->neg ? "!= " : "", set);
		break;
	case FW_M_TCP_FLAGS:
		fputs("tcp flags & (", out);
		render_tcp_flags(out, m->a);
		fprintf(out, ") %s ", m->neg ? "!=" : "==");
		render_tcp_flags(out, m->b);
		break;
	case FW_M_SPORT:
		fprintf(out, "th sport %u", m->a);
		break;
	case FW_M_DPORT:
		fprintf(out, "th dport %u", m->a);
		break;
	case FW_M_DPORT_SET:
		fprintf(out, "th dport @%s", set);
		break;
	case FW_M_ICMP_TYPE:
		fprintf(out, "%s type %s", m->b == 6 ? "icmpv6" : "icmp",
		    icmp_type_name(m->b, m->a));
		break;
	case FW_M_LIMIT_OVER:
		fprintf(out, "limit rate over %u/second burst %u packets",
		    m->a, m->b);
		break;
	case FW_M_METER:
		fprintf(out, "update @%s { %s saddr limit rate over "
		    "%u/second burst %u packets }", set, ip, m->a, m->b);
		break;
	case FW_M_CT_COUNT:
		fprintf(out, "add @%s { %s saddr ct count over %u }", set, ip,
		    m->a);
		break;
	}
}

/* The rule's transport, for reject: IPPROTO_TCP, IPPROTO_UDP or 0. */
static uint32_t
rule_l4(const struct fw_rule *r)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (r->m[i].kind == FW_M_L4PROTO)
			return r->m[i].a;
	return 0;
}

static void
render_rule(FILE *out, const struct fw_ir *ir, const struct fw_rule *r)
{
	unsigned i;

	if (r->comment[0] != '\0')
		fprintf(out, "\t\t# %s\n", r->comment);
	fputs("\t\t", out);
	for (i = 0; i < r->n; i++) {
		render_match(out, ir, &r->m[i]);
		fputs(" ", out);
	}
	if (r->counter)
		fputs("counter ", out);
	if (r->target != 0 && r->target <= ir->n_targets) {
		fprintf(out, "goto %s\n", ir->targets[r->target - 1].chain);
		return;
	}
	switch (r->verdict) {
	case FW_V_ACCEPT:
		fputs("accept\n", out);
		break;
	case FW_V_DROP:
		fputs("drop\n", out);
		break;
	case FW_V_REJECT:
		fputs(rule_l4(r) == IPPROTO_TCP ? "reject with tcp reset\n" :
		    "reject with icmpx port-unreachable\n", out);
		break;
	}
}

/*
 * A drop target's chain.  The tcp-reset one ends in a drop as well: a
 * chain reached by goto that runs out returns to the base chain's
 * policy, which may be accept.
 */
static void
render_target(FILE *out, const struct fw_ir *ir, const struct fw_target *t)
{
	fprintf(out, "\t# %s\n\tchain %s {\n"
	    "\t\tmeta nfproto ipv4 update @%s { ip saddr . %u counter }\n"
	    "\t\tmeta nfproto ipv6 update @%s { ip6 saddr . %u counter }\n",
	    ir->rules[fw_rule_head(ir, t->rule)].comment, t->chain,
	    ir->sets[ir->src_sets[0]].name, t->id,
	    ir->sets[ir->src_sets[1]].name, t->id);
	if (t->verdict == FW_V_DROP)
		fputs("\t\tdrop\n", out);
	else if (t->tcp_reset)
		fputs("\t\tmeta l4proto tcp reject with tcp reset\n"
		    "\t\tdrop\n", out);
	else
		fputs("\t\treject with icmpx port-unreachable\n", out);
	fputs("\t}\n\n", out);
}

int
fw_render_nft(const struct fw_ir *ir, FILE *out)
{
	size_t i;

	fputs("# table inet " FW_TABLE ", generated by sluice: do not edit.\n"
	    "# Creating and deleting the table first makes loading this file "
	    "replace it.\n"
	    "add table inet " FW_TABLE "\n"
	    "delete table inet " FW_TABLE "\n\n"
	    "table inet " FW_TABLE " {\n", out);
	for (i = 0; i < ir->n_sets; i++) {
		render_set(out, &ir->sets[i]);
		fputs("\n", out);
	}
	if (ir->n_targets > 0)
		fputs("\t# Drop targets: each counts the packet under its "
		    "source and its own number\n"
		    "\t# in drop_src4/drop_src6, then gives the verdict.\n\n",
		    out);
	for (i = 0; i < ir->n_targets; i++)
		render_target(out, ir, &ir->targets[i]);
	fprintf(out, "\tchain input {\n\t\ttype filter hook input priority "
	    "filter; policy %s;\n", ir->default_drop ? "drop" : "accept");
	for (i = 0; i < ir->n_rules; i++)
		render_rule(out, ir, &ir->rules[i]);
	fputs("\t}\n}\n", out);
	return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Drop sources                                                        */
/* ------------------------------------------------------------------ */

static int
src_key_cmp(const struct fw_source *x, const struct fw_source *y)
{
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return 0;
}

/* By target, family, then the most packets first, then address. */
static int
src_cmp_target(const void *a, const void *b)
{
	const struct fw_source *x = a, *y = b;
	int c = src_key_cmp(x, y);

	if (c != 0)
		return c;
	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* The most packets first. */
static int
src_cmp_packets(const void *a, const void *b)
{
	const struct fw_source *x = a, *y = b;

	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return src_cmp_target(a, b);
}

size_t
fw_sources_top(struct fw_source *v, size_t n, size_t per, size_t max)
{
	size_t i, k, o, run;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), src_cmp_target);
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n && src_key_cmp(&v[i], &v[k]) == 0; k++)
			;
		for (o = i; o < k; o++)
			v[o].peers = k - i > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)(k - i);
	}
	for (i = 0, o = 0, run = 0; i < n; i++) {
		run = i > 0 && src_key_cmp(&v[i - 1], &v[i]) == 0 ? run + 1 : 0;
		if (run < per)
			v[o++] = v[i];
	}
	if (o > max) {
		qsort(v, o, sizeof(*v), src_cmp_packets);
		o = max;
		qsort(v, o, sizeof(*v), src_cmp_target);
	}
	return o;
}

void *
fw_counters_encode(uint32_t flags, const uint64_t *pkts, size_t n_rules,
    const struct fw_source *src, size_t n_sources, size_t *len)
{
	struct fw_counters_header h;
	size_t total;
	uint8_t *buf;

	if (n_rules > FW_MAX_COUNTERS || n_sources > FW_MAX_SOURCES ||
	    (flags & ~FW_CTR_ALL) != 0) {
		errno = EINVAL;
		return NULL;
	}
	memset(&h, 0, sizeof(h));
	h.magic = FW_COUNTERS_MAGIC;
	h.flags = flags;
	h.n_rules = (uint32_t)n_rules;
	h.n_sources = (uint32_t)n_sources;
	total = sizeof(h) + n_rules * sizeof(uint64_t) +
	    n_sources * sizeof(struct fw_source);
	if ((buf = calloc(1, total)) == NULL)
		return NULL;
	memcpy(buf, &h, sizeof(h));
	if (n_rules > 0)
		memcpy(buf + sizeof(h), pkts, n_rules * sizeof(uint64_t));
	if (n_sources > 0)
		memcpy(buf + sizeof(h) + n_rules * sizeof(uint64_t), src,
		    n_sources * sizeof(*src));
	*len = total;
	return buf;
}

int
fw_counters_decode(const void *buf, size_t len, struct fw_counters *c,
    char *err, size_t errlen)
{
	struct fw_counters_header h;
	struct fw_counters out;
	struct rd r = { buf, len, 0 };
	size_t i;
	unsigned k;

	if (buf == NULL || rd_get(&r, &h, sizeof(h)) == -1) {
		fw_err(err, errlen, "shorter than the header");
		return -1;
	}
	if (h.magic != FW_COUNTERS_MAGIC || (h.flags & ~FW_CTR_ALL) != 0 ||
	    h.n_rules > FW_MAX_COUNTERS || h.n_sources > FW_MAX_SOURCES) {
		fw_err(err, errlen, "bad header");
		return -1;
	}
	if (len != sizeof(h) + (size_t)h.n_rules * sizeof(uint64_t) +
	    (size_t)h.n_sources * sizeof(struct fw_source)) {
		fw_err(err, errlen, "counts need other than %zu bytes", len);
		return -1;
	}
	memset(&out, 0, sizeof(out));
	out.flags = h.flags;
	if ((out.pkts = calloc((size_t)h.n_rules + 1, sizeof(uint64_t))) ==
	    NULL || (out.sources = calloc((size_t)h.n_sources + 1,
	    sizeof(struct fw_source))) == NULL) {
		fw_counters_clear(&out);
		fw_err(err, errlen, "out of memory");
		return -1;
	}
	rd_get(&r, out.pkts, (size_t)h.n_rules * sizeof(uint64_t));
	out.n_rules = h.n_rules;
	for (i = 0; i < h.n_sources; i++) {
		struct fw_source *s = &out.sources[i];
		bool bad;

		rd_get(&r, s, sizeof(*s));
		bad = s->target == 0 || (s->family != 4 && s->family != 6) ||
		    s->pad != 0;
		for (k = s->family == 4 ? 4 : 16; k < 16; k++)
			bad |= s->addr[k] != 0;
		if (bad) {
			fw_counters_clear(&out);
			fw_err(err, errlen, "sources[%zu]: bad entry", i);
			return -1;
		}
	}
	out.n_sources = h.n_sources;
	*c = out;
	return 0;
}

void
fw_counters_clear(struct fw_counters *c)
{
	if (c == NULL)
		return;
	free(c->pkts);
	free(c->sources);
	memset(c, 0, sizeof(*c));
}

struct fw_track_entry {
	struct fw_source src;	/* packets: the kernel's counter last seen */
	uint64_t pending;	/* drops not yet taken for an event */
	uint64_t seen;		/* the update that last listed it */
	uint32_t peers;		/* most src.peers seen since the last take */
};

struct fw_track {
	size_t n, cap;
	uint64_t updates;
	struct fw_track_entry *v;	/* cap of them */
};

struct fw_track *
fw_track_new(size_t cap)
{
	struct fw_track *t;

	if (cap == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->v = calloc(cap, sizeof(*t->v))) == NULL) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	return t;
}

void
fw_track_free(struct fw_track *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t);
}

void
fw_track_reset(struct fw_track *t)
{
	if (t != NULL)
		t->n = 0;
}

static bool
track_same(const struct fw_source *x, const struct fw_source *y)
{
	return src_key_cmp(x, y) == 0 && memcmp(x->addr, y->addr, 16) == 0;
}

/*
 * The slot for a source not seen before: a free one, else the one with
 * the fewest pending drops (the least recently listed among equals), if
 * it has fewer than rise.  NULL: the new source is not remembered.
 */
static struct fw_track_entry *
track_slot(struct fw_track *t, uint64_t rise)
{
	struct fw_track_entry *victim = NULL;
	size_t i;

	if (t->n < t->cap)
		return &t->v[t->n++];
	for (i = 0; i < t->n; i++) {
		struct fw_track_entry *e = &t->v[i];

		if (victim == NULL || e->pending < victim->pending ||
		    (e->pending == victim->pending && e->seen < victim->seen))
			victim = e;
	}
	return victim != NULL && (victim->pending < rise ||
	    (victim->pending == 0 && victim->seen < t->updates)) ? victim :
	    NULL;
}

/*
 * Linear search: cap is small (the engine uses 1,024) and an update
 * lists at most FW_MAX_SOURCES, so a poll costs about a million
 * comparisons at worst, every few seconds.
 */
void
fw_track_update(struct fw_track *t, const struct fw_source *v, size_t n)
{
	size_t i, k;

	if (t == NULL)
		return;
	t->updates++;
	for (i = 0; i < n; i++) {
		struct fw_track_entry *e = NULL;
		uint64_t rise;

		for (k = 0; k < t->n; k++)
			if (track_same(&t->v[k].src, &v[i])) {
				e = &t->v[k];
				break;
			}
		if (e != NULL) {
			rise = v[i].packets >= e->src.packets ?
			    v[i].packets - e->src.packets : v[i].packets;
		} else {
			rise = v[i].packets;
			if ((e = track_slot(t, rise)) == NULL)
				continue;
			memset(e, 0, sizeof(*e));
		}
		e->src = v[i];
		e->pending += rise;
		e->seen = t->updates;
		if (v[i].peers > e->peers)
			e->peers = v[i].peers;
	}
}

static int
track_cmp_pending(const void *a, const void *b)
{
	const struct fw_track_entry *x = a, *y = b;

	if (x->pending != y->pending)
		return x->pending > y->pending ? -1 : 1;
	return memcmp(x->src.addr, y->src.addr, 16);
}

/* The most peers per (target, family) among the entries taken. */
struct peer_key {
	uint16_t target;
	uint8_t family;
	uint32_t peers;
};

size_t
fw_track_take(struct fw_track *t, bool (*want)(uint16_t target, void *arg),
    void *arg, struct fw_source *top, size_t max, uint64_t *total,
    size_t *sources)
{
	struct fw_track_entry best[FW_SRC_PER_TARGET * 2];
	struct peer_key keys[16];
	size_t i, k, n = 0, nb = 0, nk = 0, peers = 0;
	size_t cap = sizeof(best) / sizeof(best[0]);
	uint64_t sum = 0;

	if (max > cap)
		max = cap;
	for (i = 0; t != NULL && i < t->n; i++) {
		struct fw_track_entry *e = &t->v[i];

		if (e->pending == 0 || !want(e->src.target, arg))
			continue;
		n++;
		sum += e->pending;
		for (k = 0; k < nk; k++)
			if (keys[k].target == e->src.target &&
			    keys[k].family == e->src.family)
				break;
		if (k == nk && nk < sizeof(keys) / sizeof(keys[0])) {
			keys[nk].target = e->src.target;
			keys[nk].family = e->src.family;
			keys[nk++].peers = 0;
		}
		if (k < nk && e->peers > keys[k].peers)
			keys[k].peers = e->peers;
		/* Keep the max busiest in best[], sorted. */
		k = 0;
		if (nb < max) {
			best[nb++] = *e;
			k = nb - 1;
		} else if (nb > 0 && e->pending > best[nb - 1].pending) {
			best[nb - 1] = *e;
			k = nb - 1;
		}
		for (; k > 0 &&
		    track_cmp_pending(&best[k - 1], &best[k]) > 0; k--) {
			struct fw_track_entry x = best[k];

			best[k] = best[k - 1];
			best[k - 1] = x;
		}
		e->pending = 0;
		e->peers = 0;
	}
	for (k = 0; k < nk; k++)
		peers += keys[k].peers;
	for (k = 0; k < nb; k++) {
		top[k] = best[k].src;
		top[k].packets = best[k].pending;
	}
	if (total != NULL)
		*total = sum;
	if (sources != NULL)
		*sources = peers > n ? peers : n;
	return nb;
}

size_t
fw_track_recent(const struct fw_track *t, struct fw_source *out, size_t max)
{
	struct fw_source *all;
	size_t i, n = 0;

	if (t == NULL || t->n == 0 || max == 0 ||
	    (all = calloc(t->n, sizeof(*all))) == NULL)
		return 0;
	for (i = 0; i < t->n; i++)
		if (t->v[i].seen == t->updates)
			all[n++] = t->v[i].src;
	qsort(all, n, sizeof(*all), src_cmp_packets);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}
