/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * syslog_sink.h - the event log's remote sink: syslog over UDP or TCP.
 *
 * One sink sends to one server, formatted as RFC 5424 or RFC 3164.  It
 * lives on the engine's event_base and never blocks: UDP is a
 * non-blocking connected socket, one datagram per message; TCP connects
 * without blocking, frames by octet counting (RFC 6587 section 3.4.1),
 * queues at most SYSLOG_SINK_MAX_QUEUE messages / _QUEUE_BYTES bytes
 * (oldest dropped first, counted) and reconnects with exponential
 * backoff.  Host names are resolved with evdns, never getaddrinfo(3).
 *
 * Delivery over TCP is at least once for what has not reached our kernel
 * when a connection drops: those messages are sent again after the
 * reconnect.  What sat in the kernel's send buffer is lost, as with any
 * syslog transport without application acknowledgements.
 *
 * eventlog.c is the only user; the formatter is exported for tests.
 */
#ifndef SLUICE_SYSLOG_SINK_H
#define SLUICE_SYSLOG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "eventlog.h"
#include "policy.h"

struct event_base;
struct syslog_sink;

#define SYSLOG_SINK_MAX_QUEUE        1000
#define SYSLOG_SINK_MAX_QUEUE_BYTES  (256u * 1024)
/* RFC 5424 section 6.1: every receiver takes 2048 octets. */
#define SYSLOG_SINK_MAX_UDP          2048
/* RFC 3164 section 4.1: a packet is 1024 octets or less. */
#define SYSLOG_SINK_MAX_3164         1024
/* rsyslog's default maxMessageSize; larger frames would be split. */
#define SYSLOG_SINK_MAX_TCP          8192
#define SYSLOG_SINK_BACKOFF_MIN_S    1
#define SYSLOG_SINK_BACKOFF_MAX_S    60
/* At most one "unreachable" report per this many seconds. */
#define SYSLOG_SINK_REPORT_INTERVAL_S 60

/* RFC 5612 section 2: 32473 is the enterprise number for documentation. */
#define SYSLOG_SINK_SD_ID "sluice@32473"

struct syslog_sink_config {
	char server[256];        /* numeric address ("[v6]" too) or host name */
	uint16_t port;           /* 1..65535 */
	enum policy_syslog_transport transport;
	enum policy_syslog_format format;
	unsigned facility;       /* 0..23 */
};

/* One event, as the formatter needs it.  Everything is borrowed. */
struct syslog_record {
	uint64_t seq;            /* in the local store; 0: not stored */
	struct timespec time;    /* CLOCK_REALTIME */
	enum eventlog_severity severity;
	const char *event;       /* type name: the RFC 5424 MSGID */
	const char *group;
	size_t n_fields;
	const char *const *keys;     /* untrusted content is fine: escaped */
	const char *const *values;   /* valid UTF-8 (eventlog sanitises) */
	const char *msg;         /* free text (RFC 5424 MSG), may be NULL */
};

struct syslog_sink_stats {
	uint64_t sent;           /* handed to the kernel */
	uint64_t dropped;        /* lost: queue overflow, UDP send errors */
	size_t queued;           /* waiting, with the TCP batch in flight */
	bool connected;          /* TCP: connected; UDP: socket ready */
};

/*
 * Check cfg and start connecting.  report(arg, why) is called from the
 * event loop (never from inside syslog_sink_send) when the server cannot
 * be reached: once per outage and at most once per
 * SYSLOG_SINK_REPORT_INTERVAL_S.  Returns NULL with err filled when cfg is
 * unusable (bad address or port, no socket); an unreachable server is
 * not an error here.
 */
struct syslog_sink *syslog_sink_new(struct event_base *base,
    const struct syslog_sink_config *cfg,
    void (*report)(void *arg, const char *why), void *arg,
    char *err, size_t errlen);
/* Drops whatever is still queued.  NULL is fine. */
void syslog_sink_free(struct syslog_sink *s);

/* Format and send (or queue) one record.  Never blocks. */
void syslog_sink_send(struct syslog_sink *s, const struct syslog_record *r);

const struct syslog_sink_config *
    syslog_sink_config(const struct syslog_sink *s);
void syslog_sink_stats(const struct syslog_sink *s,
    struct syslog_sink_stats *st);

/*
 * Format r as one syslog message (no transport framing) into buf, at most
 * max bytes (max < buflen), NUL-terminated.  hostname is used as given
 * after replacing what RFC 5424 section 6.2.4 does not allow; for RFC 3164
 * only the part before the first dot is used.  A message that does not fit
 * is cut at a field boundary or inside a value, never inside an escape or
 * a UTF-8 sequence, and always stays well-formed.  Returns the length.
 */
size_t syslog_sink_format(const struct syslog_sink_config *cfg,
    const char *hostname, long pid, const struct syslog_record *r,
    char *buf, size_t buflen, size_t max);

#endif
