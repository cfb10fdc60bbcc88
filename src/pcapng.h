/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pcapng.h - a pcapng writer for `sluicectl modbus capture --pcap`.
 *
 * One section with three interfaces: 0 carries Modbus/TCP as raw IP
 * (LINKTYPE_RAW, 101) with a synthesised TCP header whose sequence
 * numbers advance per flow, so Wireshark reassembles and decodes it
 * ("Decode As" mbtcp when the port is not 502); 1 carries RTU frames
 * (LINKTYPE_USER0, 147) and 2 ASCII frames (LINKTYPE_USER1, 148): map
 * them to mbrtu / mbascii in Wireshark's DLT_USER table.
 * Reference: draft-ietf-opsawg-pcapng (SHB, IDB, EPB).
 */
#ifndef SLUICE_PCAPNG_H
#define SLUICE_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCAPNG_IF_TCP   0
#define PCAPNG_IF_RTU   1
#define PCAPNG_IF_ASCII 2

struct pcapng;

/* Write the section header and the interfaces to f (not closed later). */
struct pcapng *pcapng_open(FILE *f);

/*
 * One TCP segment carrying data, from src:sport to dst:dport (addresses
 * in network order, 4 or 16 bytes per family: AF_INET or AF_INET6).
 * Returns 0 or -1 (write error, or more than 1024 flows).
 */
int pcapng_tcp(struct pcapng *p, int64_t sec, uint32_t usec, int family,
    const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport,
    const uint8_t *data, size_t len);

/* One serial frame on interface PCAPNG_IF_RTU or PCAPNG_IF_ASCII. */
int pcapng_frame(struct pcapng *p, uint32_t iface, int64_t sec,
    uint32_t usec, const uint8_t *data, size_t len);

/* Flush and free; returns 0 or -1 when anything failed to write. */
int pcapng_close(struct pcapng *p);

#endif
