/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * syslog_sink.c - event log records to a syslog server (RFC 5424 / 3164
 * over UDP, or TCP with RFC 6587 octet counting).  A connection file: it
 * is one of the few that talk to libevent directly.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "syslog_sink.h"

/* One TCP batch handed to the bufferevent at a time; see flush_tcp(). */
#define TCP_BATCH_MSGS   256
#define TCP_BATCH_BYTES  (64u * 1024)

/* A formatted message, TCP framing included. */
struct syslog_msg {
	TAILQ_ENTRY(syslog_msg) entry;
	size_t len;
	char data[];
};

struct syslog_sink {
	struct event_base *base;
	struct syslog_sink_config cfg;
	void (*report)(void *, const char *);
	void *report_arg;
	char hostname[256];
	long pid;

	char host[256];                 /* cfg.server without brackets */
	bool numeric;
	struct sockaddr_storage addr;
	socklen_t addrlen;

	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *dns_req;

	int udp_fd;
	struct bufferevent *bev;
	struct bufferevent *dead_bev;   /* freed at a safe point (retry_cb) */
	bool connected;
	unsigned backoff_s;
	struct event *retry_ev;
	struct event *report_ev;
	char report_why[256];
	bool down_reported;             /* this outage reported (or muted) */
	bool ever_reported;
	int64_t reported_at;            /* monotonic seconds */

	TAILQ_HEAD(, syslog_msg) queue;
	size_t q_count, q_bytes;
	size_t inflight;                /* messages at the head given to bev */
	uint64_t sent, dropped;
};

static void start(struct syslog_sink *);

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* --- formatting ----------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, max;
};

/* Append all of s or nothing, leaving reserve bytes free. */
static bool
out_put(struct out *o, size_t reserve, const void *s, size_t n)
{
	if (o->len + n + reserve > o->max)
		return false;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	return true;
}

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 if broken. */
static size_t
utf8_unit(const unsigned char *p, size_t n)
{
	size_t want, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		want = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		want = 4;
	else
		return 0;
	if (want > n)
		return 0;
	for (i = 1; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return want;
}

/* How put_value() escapes. */
enum esc {
	ESC_SD,		/* RFC 5424 PARAM-VALUE */
	ESC_QUOTED,	/* key="value" in an RFC 3164 message */
	ESC_TEXT,	/* free text: control characters only */
};

/*
 * Append v.  RFC 5424 section 6.3.3: in a PARAM-VALUE '"', '\' and ']'
 * are escaped with a backslash.  Control characters become \xNN:
 * a receiver keeps a backslash before any other character literally, and
 * since real backslashes are doubled the form is unambiguous.  Units that
 * do not fit (keeping reserve bytes free) are left out whole.  Returns
 * false when v was cut.
 */
static bool
put_value(struct out *o, size_t reserve, const char *v, enum esc mode)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0;

	while (i < n) {
		char tmp[8];
		size_t ul = utf8_unit(p + i, n - i), tl;

		if (ul > 1) {
			if (!out_put(o, reserve, p + i, ul))
				return false;
			i += ul;
			continue;
		}
		if ((mode != ESC_TEXT && (p[i] == '"' || p[i] == '\\')) ||
		    (mode == ESC_SD && p[i] == ']')) {
			tmp[0] = '\\';
			tmp[1] = (char)p[i];
			tl = 2;
		} else if (p[i] < 0x20 || p[i] >= 0x7f) {
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x",
			    p[i]);
		} else {
			tmp[0] = (char)p[i];
			tl = 1;
		}
		if (!out_put(o, reserve, tmp, tl))
			return false;
		i++;
	}
	return true;
}

/*
 * RFC 5424 section 6.3.3: SD-NAME is 1..32 PRINTUSASCII except '=', SP,
 * ']' and '"'.  Keys come from our own code, but are cleaned anyway.
 */
static void
sd_name(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i < 32; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c > 32 && c < 127 && c != '=' && c != ']' &&
		    c != '"') ? (char)c : '_';
	}
	if (i == 0)
		dst[i++] = '_';
	dst[i] = '\0';
}

/* RFC 5424 section 6.2: PRINTUSASCII, 1..max characters, else "-". */
static void
header_field(char *dst, size_t max, const char *src, bool cut_at_dot)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)src[i];

		if (cut_at_dot && c == '.')
			break;
		dst[i] = (c > 32 && c < 127) ? (char)c : '_';
	}
	if (i == 0)
		dst[i++] = '-';
	dst[i] = '\0';
}

/* ' name="value"', reserving one byte for what closes the list. */
static bool
put_param(struct out *o, size_t reserve, const char *name, const char *value,
    enum esc mode)
{
	char nm[40];
	size_t mark = o->len;
	bool whole;

	sd_name(nm, name);
	/* The name and both quotes must fit, else the parameter is left out. */
	if (o->len + 1 + strlen(nm) + 3 + reserve > o->max)
		return false;
	out_put(o, 0, " ", 1);
	out_put(o, 0, nm, strlen(nm));
	out_put(o, 0, "=\"", 2);
	whole = put_value(o, reserve + 1, value, mode);
	if (!out_put(o, reserve, "\"", 1)) {
		o->len = mark;	/* cannot happen: one byte was reserved */
		return false;
	}
	return whole;
}

static size_t
format_5424(const struct syslog_sink_config *cfg, const char *hostname,
    long pid, const struct syslog_record *r, struct out *o)
{
	char host[256], msgid[33], ts[64], hdr[400], seq[24];
	struct tm tm;
	size_t i;
	int n;

	gmtime_r(&r->time.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(r->time.tv_nsec / 1000));
	header_field(host, 255, hostname, false);
	header_field(msgid, 32, r->event ? r->event : "", false);
	/* RFC 5424 section 6.2.1: PRI = facility * 8 + severity. */
	n = snprintf(hdr, sizeof(hdr), "<%u>1 %s %s sluiced %ld %s ",
	    cfg->facility * 8 + (unsigned)r->severity, ts, host, pid, msgid);
	if (n < 0 || !out_put(o, 0, hdr, (size_t)n))
		return 0;
	/* One byte stays reserved for the ']' that closes the element. */
	if (!out_put(o, 1, "[" SYSLOG_SINK_SD_ID,
	    strlen(SYSLOG_SINK_SD_ID) + 1))
		return 0;
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
	if ((r->seq == 0 || put_param(o, 1, "seq", seq, ESC_SD)) &&
	    put_param(o, 1, "group", r->group ? r->group : "", ESC_SD)) {
		for (i = 0; i < r->n_fields; i++)
			if (!put_param(o, 1, r->keys[i], r->values[i], ESC_SD))
				break;
	}
	out_put(o, 0, "]", 1);
	if (r->msg != NULL && r->msg[0] != '\0' && out_put(o, 0, " ", 1))
		put_value(o, 0, r->msg, ESC_TEXT);
	return o->len;
}

static size_t
format_3164(const struct syslog_sink_config *cfg, const char *hostname,
    long pid, const struct syslog_record *r, struct out *o)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char host[256], hdr[400], seq[24];
	struct tm tm;
	size_t i;
	int n;

	/* RFC 3164 section 4.1.2: local time, day space-padded, short host. */
	localtime_r(&r->time.tv_sec, &tm);
	header_field(host, 255, hostname, true);
	n = snprintf(hdr, sizeof(hdr),
	    "<%u>%s %2d %02d:%02d:%02d %s sluiced[%ld]: ",
	    cfg->facility * 8 + (unsigned)r->severity, months[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, host, pid);
	if (n < 0 || !out_put(o, 0, hdr, (size_t)n))
		return 0;
	if (!put_value(o, 0, r->event ? r->event : "-", ESC_TEXT))
		return o->len;
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
	if ((r->seq == 0 || put_param(o, 0, "seq", seq, ESC_QUOTED)) &&
	    put_param(o, 0, "group", r->group ? r->group : "", ESC_QUOTED)) {
		for (i = 0; i < r->n_fields; i++)
			if (!put_param(o, 0, r->keys[i], r->values[i],
			    ESC_QUOTED))
				break;
	}
	return o->len;
}

size_t
syslog_sink_format(const struct syslog_sink_config *cfg, const char *hostname,
    long pid, const struct syslog_record *r, char *buf, size_t buflen,
    size_t max)
{
	struct out o = { buf, 0, max < buflen ? max : buflen - 1 };

	if (buflen == 0)
		return 0;
	if (cfg->format == POLICY_SYSLOG_RFC3164)
		format_3164(cfg, hostname, pid, r, &o);
	else
		format_5424(cfg, hostname, pid, r, &o);
	buf[o.len] = '\0';
	return o.len;
}

/* --- reporting ------------------------------------------------------------ */

static void
report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct syslog_sink *s = arg;

	if (s->report != NULL)
		s->report(s->report_arg, s->report_why);
}

/*
 * Once per outage and at most once a minute.  Deferred to the loop so the
 * callback never runs inside syslog_sink_send(): the event log could
 * otherwise re-enter us while we are half-way through a send.
 */
static void
report_down(struct syslog_sink *s, const char *why)
{
	int64_t now = mono_s();

	if (s->down_reported)
		return;
	s->down_reported = true;
	if (s->ever_reported &&
	    now - s->reported_at < SYSLOG_SINK_REPORT_INTERVAL_S)
		return;
	s->ever_reported = true;
	s->reported_at = now;
	snprintf(s->report_why, sizeof(s->report_why), "%s", why);
	event_active(s->report_ev, EV_TIMEOUT, 1);
}

/* --- queue ---------------------------------------------------------------- */

static void
queue_pop(struct syslog_sink *s, struct syslog_msg *m)
{
	TAILQ_REMOVE(&s->queue, m, entry);
	s->q_count--;
	s->q_bytes -= m->len;
	free(m);
}

/* Queue one message, dropping the oldest not yet handed to the socket. */
static void
enqueue(struct syslog_sink *s, const char *prefix, const char *data, size_t len)
{
	size_t plen = strlen(prefix);
	struct syslog_msg *m;

	while (s->q_count >= SYSLOG_SINK_MAX_QUEUE ||
	    s->q_bytes + plen + len > SYSLOG_SINK_MAX_QUEUE_BYTES) {
		struct syslog_msg *old = TAILQ_FIRST(&s->queue);
		size_t i;

		for (i = 0; i < s->inflight && old != NULL; i++)
			old = TAILQ_NEXT(old, entry);
		if (old == NULL) {
			s->dropped++;
			return;
		}
		queue_pop(s, old);
		s->dropped++;
	}
	m = malloc(sizeof(*m) + plen + len);
	if (m == NULL) {
		s->dropped++;
		return;
	}
	memcpy(m->data, prefix, plen);
	memcpy(m->data + plen, data, len);
	m->len = plen + len;
	TAILQ_INSERT_TAIL(&s->queue, m, entry);
	s->q_count++;
	s->q_bytes += m->len;
}

/* --- UDP ------------------------------------------------------------------ */

static void
udp_send(struct syslog_sink *s, const char *buf, size_t len)
{
	char why[128];
	ssize_t n;

	n = send(s->udp_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0 && (size_t)n == len) {
		s->sent++;
		s->down_reported = false;
		return;
	}
	s->dropped++;
	/*
	 * ICMP errors for an earlier datagram surface on a later send of a
	 * connected socket; a full socket buffer (EAGAIN, ENOBUFS) is only
	 * counted.
	 */
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != ENOBUFS && errno != EINTR) {
		snprintf(why, sizeof(why), "send: %s", strerror(errno));
		report_down(s, why);
	}
}

static int
udp_open(struct syslog_sink *s)
{
	int fd;

	fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Connected, so the kernel reports ICMP port unreachable to us. */
	if (connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	s->udp_fd = fd;
	s->connected = true;
	return 0;
}

static void
flush_udp(struct syslog_sink *s)
{
	struct syslog_msg *m;

	while ((m = TAILQ_FIRST(&s->queue)) != NULL) {
		udp_send(s, m->data, m->len);
		queue_pop(s, m);
	}
}

/* --- TCP ------------------------------------------------------------------ */

static void schedule_retry(struct syslog_sink *, const char *);

/*
 * Hand the next batch to the bufferevent.  Messages stay queued until the
 * output buffer has drained into the kernel (write_cb), so a connection
 * that drops takes nothing with it that had not left the process.
 */
static void
flush_tcp(struct syslog_sink *s)
{
	struct evbuffer *out;
	struct syslog_msg *m;
	size_t bytes = 0;

	if (!s->connected || s->inflight > 0 || s->bev == NULL)
		return;
	out = bufferevent_get_output(s->bev);
	TAILQ_FOREACH(m, &s->queue, entry) {
		if (s->inflight == TCP_BATCH_MSGS ||
		    (s->inflight > 0 && bytes + m->len > TCP_BATCH_BYTES))
			break;
		if (evbuffer_add(out, m->data, m->len) == -1)
			break;
		s->inflight++;
		bytes += m->len;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	/* A syslog server has nothing to say: discard what it sends. */
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct syslog_sink *s = arg;

	/* Called with the output buffer empty: the batch is in the kernel. */
	while (s->inflight > 0) {
		queue_pop(s, TAILQ_FIRST(&s->queue));
		s->inflight--;
		s->sent++;
	}
	flush_tcp(s);
}

static void
tcp_down(struct syslog_sink *s, const char *why)
{
	if (s->bev != NULL) {
		/* Freed in retry_cb: never inside its own callback. */
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
		if (s->dead_bev != NULL)
			bufferevent_free(s->dead_bev);
		s->dead_bev = s->bev;
		s->bev = NULL;
	}
	/* The event log reports the outage (report_down); this is detail. */
	if (s->connected)
		log_debug("syslog: lost connection to %s:%u: %s", s->host,
		    s->cfg.port, why);
	s->connected = false;
	s->inflight = 0;
	schedule_retry(s, why);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct syslog_sink *s = arg;
	char why[128];
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		int on = 1;

		/* Notice a server that vanished without a FIN. */
		setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_KEEPALIVE,
		    &on, sizeof(on));
		s->connected = true;
		s->backoff_s = SYSLOG_SINK_BACKOFF_MIN_S;
		if (s->down_reported)
			log_info("syslog: connected to %s:%u again", s->host,
			    s->cfg.port);
		s->down_reported = false;
		flush_tcp(s);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the server");
	else if (err != 0)
		snprintf(why, sizeof(why), "%s%s",
		    s->connected ? "" : "connect: ",
		    evutil_socket_error_to_string(err));
	else
		snprintf(why, sizeof(why), "%s",
		    s->connected ? "connection error" : "connect failed");
	tcp_down(s, why);
}

static int
tcp_connect(struct syslog_sink *s)
{
	int fd;

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/*
	 * Never blocks; a refusal that the kernel reports at once comes back
	 * through event_cb like any other.
	 */
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&s->addr,
	    (int)s->addrlen) == -1) {
		int e = errno;

		bufferevent_free(s->bev);
		s->bev = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

/* --- connection management ------------------------------------------------ */

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct syslog_sink *s = arg;

	if (s->dead_bev != NULL) {
		bufferevent_free(s->dead_bev);
		s->dead_bev = NULL;
	}
	start(s);
}

static void
schedule_retry(struct syslog_sink *s, const char *why)
{
	struct timeval tv = { s->backoff_s, 0 };

	report_down(s, why);
	evtimer_add(s->retry_ev, &tv);
	s->backoff_s *= 2;
	if (s->backoff_s > SYSLOG_SINK_BACKOFF_MAX_S)
		s->backoff_s = SYSLOG_SINK_BACKOFF_MAX_S;
}

/* Address known: open the transport.  Failures retry later. */
static void
open_transport(struct syslog_sink *s)
{
	char why[128];
	int r;

	if (s->cfg.transport == POLICY_SYSLOG_UDP) {
		r = udp_open(s);
		if (r == 0)
			flush_udp(s);
	} else {
		r = tcp_connect(s);
	}
	if (r == -1) {
		snprintf(why, sizeof(why), "%s: %s", s->cfg.transport ==
		    POLICY_SYSLOG_UDP ? "socket" : "connect", strerror(errno));
		schedule_retry(s, why);
	}
}

static void
dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct syslog_sink *s = arg;
	char why[300];

	if (result == EVUTIL_EAI_CANCEL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	s->dns_req = NULL;
	if (result != 0 || res == NULL ||
	    res->ai_addrlen > (socklen_t)sizeof(s->addr)) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", s->host,
		    result != 0 ? evutil_gai_strerror(result) : "no address");
		if (res != NULL)
			evutil_freeaddrinfo(res);
		schedule_retry(s, why);
		return;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addrlen = (socklen_t)res->ai_addrlen;
	if (s->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&s->addr)->sin_port =
		    htons(s->cfg.port);
	else
		((struct sockaddr_in6 *)&s->addr)->sin6_port =
		    htons(s->cfg.port);
	evutil_freeaddrinfo(res);
	open_transport(s);
}

static void
start(struct syslog_sink *s)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	if (s->numeric) {
		open_transport(s);
		return;
	}
	/* A name is resolved again on every reconnect: its address may move. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->cfg.transport == POLICY_SYSLOG_UDP ?
	    SOCK_DGRAM : SOCK_STREAM;
	/* The callback may run before this returns (hosts file): then NULL. */
	req = evdns_getaddrinfo(s->dns, s->host, NULL, &hints, dns_cb, s);
	if (req != NULL)
		s->dns_req = req;
}

/* --- life cycle ----------------------------------------------------------- */

static bool
valid_hostname(const char *h)
{
	size_t i, label = 0;

	if (h[0] == '\0' || strlen(h) > 253)
		return false;
	for (i = 0; h[i] != '\0'; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* Numeric address into s->addr, or a valid host name into s->host. */
static int
parse_server(struct syslog_sink *s, char *err, size_t errlen)
{
	const char *srv = s->cfg.server;
	size_t n = strlen(srv);
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->addr;

	if (n >= 2 && srv[0] == '[' && srv[n - 1] == ']')
		snprintf(s->host, sizeof(s->host), "%.*s", (int)(n - 2),
		    srv + 1);
	else
		snprintf(s->host, sizeof(s->host), "%s", srv);
	memset(&s->addr, 0, sizeof(s->addr));
	if (inet_pton(AF_INET, s->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(s->cfg.port);
		s->addrlen = sizeof(*sin);
		s->numeric = true;
	} else if (inet_pton(AF_INET6, s->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(s->cfg.port);
		s->addrlen = sizeof(*sin6);
		s->numeric = true;
	} else if (!valid_hostname(s->host)) {
		snprintf(err, errlen, "server: \"%s\" is neither an address "
		    "nor a host name", s->cfg.server);
		return -1;
	}
	return 0;
}

struct syslog_sink *
syslog_sink_new(struct event_base *base, const struct syslog_sink_config *cfg,
    void (*report)(void *, const char *), void *arg, char *err, size_t errlen)
{
	struct syslog_sink *s;

	if (cfg->port == 0) {
		snprintf(err, errlen, "port: 0 is not a port "
		    "(expected 1..65535)");
		return NULL;
	}
	if (cfg->facility > 23) {
		snprintf(err, errlen, "facility: %u is out of range "
		    "(expected 0..23)", cfg->facility);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->cfg = *cfg;
	s->cfg.server[sizeof(s->cfg.server) - 1] = '\0';
	s->report = report;
	s->report_arg = arg;
	s->udp_fd = -1;
	s->backoff_s = SYSLOG_SINK_BACKOFF_MIN_S;
	s->pid = (long)getpid();
	TAILQ_INIT(&s->queue);
	if (gethostname(s->hostname, sizeof(s->hostname) - 1) == -1)
		s->hostname[0] = '\0';
	/* localtime_r() reads the zone once here, not on the loop later. */
	tzset();
	if (parse_server(s, err, errlen) == -1)
		goto fail;
	s->retry_ev = evtimer_new(base, retry_cb, s);
	s->report_ev = event_new(base, -1, 0, report_cb, s);
	if (s->retry_ev == NULL || s->report_ev == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (s->numeric) {
		/* Fail now on what a retry cannot mend (no address family). */
		int type = cfg->transport == POLICY_SYSLOG_UDP ? SOCK_DGRAM :
		    SOCK_STREAM;
		int fd = socket(s->addr.ss_family, type | SOCK_CLOEXEC, 0);

		if (fd == -1) {
			snprintf(err, errlen, "server: %s: %s", cfg->server,
			    strerror(errno));
			goto fail;
		}
		close(fd);
	} else {
		/*
		 * Reads resolv.conf and hosts once, at configuration time;
		 * queries themselves never block.
		 */
		s->dns = evdns_base_new(base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (s->dns == NULL) {
			snprintf(err, errlen, "server: %s: cannot set up the "
			    "resolver", cfg->server);
			goto fail;
		}
	}
	start(s);
	return s;
fail:
	syslog_sink_free(s);
	return NULL;
}

void
syslog_sink_free(struct syslog_sink *s)
{
	struct syslog_msg *m;

	if (s == NULL)
		return;
	if (s->dns_req != NULL) {
		struct evdns_getaddrinfo_request *req = s->dns_req;

		s->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	if (s->dns != NULL)
		evdns_base_free(s->dns, 0);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->dead_bev != NULL)
		bufferevent_free(s->dead_bev);
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->report_ev != NULL)
		event_free(s->report_ev);
	if (s->udp_fd != -1)
		close(s->udp_fd);
	while ((m = TAILQ_FIRST(&s->queue)) != NULL) {
		TAILQ_REMOVE(&s->queue, m, entry);
		free(m);
	}
	free(s);
}

void
syslog_sink_send(struct syslog_sink *s, const struct syslog_record *r)
{
	char buf[SYSLOG_SINK_MAX_TCP + 1], prefix[24];
	size_t max, len;
	bool udp = s->cfg.transport == POLICY_SYSLOG_UDP;

	if (s->cfg.format == POLICY_SYSLOG_RFC3164)
		max = SYSLOG_SINK_MAX_3164;
	else
		max = udp ? SYSLOG_SINK_MAX_UDP : SYSLOG_SINK_MAX_TCP;
	len = syslog_sink_format(&s->cfg, s->hostname, s->pid, r, buf,
	    sizeof(buf), max);
	if (len == 0) {
		s->dropped++;
		return;
	}
	if (udp) {
		if (s->udp_fd != -1)
			udp_send(s, buf, len);
		else
			enqueue(s, "", buf, len);	/* still resolving */
		return;
	}
	/* RFC 6587 section 3.4.1: octet counting, "MSG-LEN SP SYSLOG-MSG". */
	snprintf(prefix, sizeof(prefix), "%zu ", len);
	enqueue(s, prefix, buf, len);
	flush_tcp(s);
}

const struct syslog_sink_config *
syslog_sink_config(const struct syslog_sink *s)
{
	return &s->cfg;
}

void
syslog_sink_stats(const struct syslog_sink *s, struct syslog_sink_stats *st)
{
	st->sent = s->sent;
	st->dropped = s->dropped;
	st->queued = s->q_count;
	st->connected = s->connected;
}
