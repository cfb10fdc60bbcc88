/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pcapng.c - a pcapng writer (pcapng.h).  Blocks are written in host
 * byte order, which the byte-order magic of the section header declares.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define MAX_FLOWS 1024
#define MAX_DATA  65535u

struct flow {
	int family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq;          /* next sequence number from src */
};

struct pcapng {
	FILE *f;
	bool failed;
	size_t n_flows;
	struct flow flows[MAX_FLOWS];
};

static void
put(struct pcapng *p, const void *b, size_t n)
{
	if (n > 0 && fwrite(b, 1, n, p->f) != n)
		p->failed = true;
}

static void
put32(struct pcapng *p, uint32_t v)
{
	put(p, &v, 4);
}

static void
put16(struct pcapng *p, uint16_t v)
{
	put(p, &v, 2);
}

struct pcapng *
pcapng_open(FILE *f)
{
	static const uint16_t links[3] = { 101, 147, 148 };
	struct pcapng *p = calloc(1, sizeof(*p));
	uint64_t section_len = UINT64_MAX;    /* not given */
	size_t i;

	if (p == NULL)
		return NULL;
	p->f = f;
	put32(p, BT_SHB);
	put32(p, 28);
	put32(p, 0x1A2B3C4Du);
	put16(p, 1);
	put16(p, 0);
	put(p, &section_len, 8);
	put32(p, 28);
	for (i = 0; i < 3; i++) {
		put32(p, BT_IDB);
		put32(p, 20);
		put16(p, links[i]);
		put16(p, 0);
		put32(p, MAX_DATA);   /* snaplen; resolution: default, us */
		put32(p, 20);
	}
	return p;
}

/* An Enhanced Packet Block of the parts' concatenation. */
static int
epb(struct pcapng *p, uint32_t iface, int64_t sec, uint32_t usec,
    const uint8_t *hdr, size_t hlen, const uint8_t *data, size_t len)
{
	static const uint8_t zero[4];
	uint64_t ts = (uint64_t)sec * 1000000u + usec;
	size_t caplen = hlen + len, pad = (4 - caplen % 4) % 4;
	uint32_t total = (uint32_t)(32 + caplen + pad);

	if (caplen > MAX_DATA)
		return -1;
	put32(p, BT_EPB);
	put32(p, total);
	put32(p, iface);
	put32(p, (uint32_t)(ts >> 32));
	put32(p, (uint32_t)ts);
	put32(p, (uint32_t)caplen);
	put32(p, (uint32_t)caplen);
	put(p, hdr, hlen);
	put(p, data, len);
	put(p, zero, pad);
	put32(p, total);
	return p->failed ? -1 : 0;
}

static struct flow *
flow_get(struct pcapng *p, int family, const uint8_t *src, uint16_t sport,
    const uint8_t *dst, uint16_t dport)
{
	size_t alen = family == AF_INET ? 4 : 16, i;
	struct flow *fl;

	for (i = 0; i < p->n_flows; i++) {
		fl = &p->flows[i];
		if (fl->family == family && fl->sport == sport &&
		    fl->dport == dport && memcmp(fl->src, src, alen) == 0 &&
		    memcmp(fl->dst, dst, alen) == 0)
			return fl;
	}
	if (p->n_flows == MAX_FLOWS)
		return NULL;
	fl = &p->flows[p->n_flows++];
	fl->family = family;
	memcpy(fl->src, src, alen);
	memcpy(fl->dst, dst, alen);
	fl->sport = sport;
	fl->dport = dport;
	fl->seq = 1;
	return fl;
}

static void
be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
be32(uint8_t *b, uint32_t v)
{
	be16(b, (uint16_t)(v >> 16));
	be16(b + 2, (uint16_t)v);
}

/* RFC 791 header checksum. */
static uint16_t
ip_sum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
pcapng_tcp(struct pcapng *p, int64_t sec, uint32_t usec, int family,
    const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport,
    const uint8_t *data, size_t len)
{
	uint8_t h[60];
	struct flow *fl, *rev;
	size_t ip;

	if ((family != AF_INET && family != AF_INET6) || len > 1400)
		return -1;
	fl = flow_get(p, family, src, sport, dst, dport);
	rev = flow_get(p, family, dst, dport, src, sport);
	if (fl == NULL || rev == NULL)
		return -1;
	memset(h, 0, sizeof(h));
	if (family == AF_INET) {
		ip = 20;
		h[0] = 0x45;
		be16(h + 2, (uint16_t)(20 + 20 + len));
		be16(h + 6, 0x4000);          /* don't fragment */
		h[8] = 64;
		h[9] = IPPROTO_TCP;
		memcpy(h + 12, src, 4);
		memcpy(h + 16, dst, 4);
		be16(h + 10, ip_sum(h, 20));
	} else {
		ip = 40;
		h[0] = 0x60;
		be16(h + 4, (uint16_t)(20 + len));
		h[6] = IPPROTO_TCP;
		h[7] = 64;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, dst, 16);
	}
	be16(h + ip, sport);
	be16(h + ip + 2, dport);
	be32(h + ip + 4, fl->seq);
	be32(h + ip + 8, rev->seq);
	h[ip + 12] = 5 << 4;
	h[ip + 13] = 0x18;                    /* PSH, ACK */
	be16(h + ip + 14, 65535);
	/* The TCP checksum stays 0: Wireshark does not check it by default. */
	fl->seq += (uint32_t)len;
	return epb(p, PCAPNG_IF_TCP, sec, usec, h, ip + 20, data, len);
}

int
pcapng_frame(struct pcapng *p, uint32_t iface, int64_t sec, uint32_t usec,
    const uint8_t *data, size_t len)
{
	if (iface != PCAPNG_IF_RTU && iface != PCAPNG_IF_ASCII)
		return -1;
	return epb(p, iface, sec, usec, NULL, 0, data, len);
}

int
pcapng_close(struct pcapng *p)
{
	int rc;

	if (p == NULL)
		return 0;
	if (fflush(p->f) != 0)
		p->failed = true;
	rc = p->failed ? -1 : 0;
	free(p);
	return rc;
}
