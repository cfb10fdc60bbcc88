/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gw.c - the Modbus gateway, transparent mode (gw.h).
 *
 * Requests are `struct mb_req`; each sits in exactly one place on the
 * channel side (its master's queue for that channel, the serial line,
 * or a TCP channel's in-flight list) and in its master's list, so a
 * master that goes away orphans its requests in one walk: queued ones
 * are freed, the one on the wire completes into nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "eventlog.h"
#include "gw.h"
#include "log.h"
#include "mbfw.h"
#include "modbus.h"
#include "policy.h"
#include "registry.h"
#include "serial.h"
#include "tags.h"

#define HIST_N          12
#define BACKOFF_MIN_MS  500
#define BACKOFF_MAX_MS  30000        /* TCP slaves */
#define BACKOFF_MAX_SERIAL_MS 4000   /* a replugged adapter is back soon */
#define ACCEPT_BURST    64
#define EVENT_WINDOW_US 10000000ull  /* rate limit of repeated events */
#define EVENT_PER_WINDOW 10
#define DRAIN_POLLS_MAX 1000
#define KEEPALIVE_IDLE_S 60
#define KEEPALIVE_INTVL_S 10
#define KEEPALIVE_CNT   6
#define CONN_OUT_MAX    (64 * 1024)  /* answers a master has not read */

/* Upper bounds of the latency histogram buckets, microseconds. */
static const uint32_t hist_bounds[HIST_N - 1] = {
	500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
	1000000
};

/* An endpoint of a captured TCP segment. */
struct cap_ep {
	uint8_t family;              /* AF_INET, AF_INET6, 0 = none */
	uint8_t addr[16];
	uint16_t port;
};

struct mb_stats {
	uint64_t requests;     /* accepted for the channel / sent by the master */
	uint64_t responses;    /* answers delivered */
	uint64_t exceptions[16];  /* by code, answers from slaves and the gateway */
	uint64_t timeouts;
	uint64_t retries;
	uint64_t crc_errors;   /* RTU CRC / ASCII LRC */
	uint64_t frame_errors; /* framing, wrong length, not answering the request */
	uint64_t late;         /* bytes or answers nobody waited for */
	uint64_t malformed;    /* refused by validation */
	uint64_t denied;       /* refused by modbus.firewall */
	uint64_t dropped;      /* no answer sent (silent, broadcast, master gone) */
	uint32_t depth, depth_max;
	uint64_t rtt_n, rtt_sum;
	uint32_t rtt_min, rtt_max;
	uint64_t hist[HIST_N];
};

struct mbgw;
struct mb_chan;
struct mb_master;

enum req_state { RQ_QUEUED, RQ_ACTIVE };

struct mb_req {
	TAILQ_ENTRY(mb_req) q;       /* master queue, or a TCP channel's in-flight */
	TAILQ_ENTRY(mb_req) mlink;   /* the master's list */
	struct mb_master *m;         /* NULL: the master went away */
	struct mb_chan *ch;
	struct mb_mq *mq;            /* while queued */
	enum req_state state;
	uint16_t tid;                /* the master's */
	uint16_t ctid;               /* on a TCP channel */
	uint8_t unit_in, unit_out;
	bool broadcast, write, priority;
	uint8_t tries_left;
	uint64_t t_arrive, t_sent;   /* monotonic us */
	struct event *timer;         /* TCP channels: response timeout */
	size_t pdu_len;
	uint8_t pdu[MODBUS_MAX_PDU];
};

/* One master's queue on one channel. */
struct mb_mq {
	TAILQ_ENTRY(mb_mq) ring;     /* in ch->ring[prio] while non-empty */
	LIST_ENTRY(mb_mq) mlink;     /* the master's queues */
	struct mb_master *m;
	struct mb_chan *ch;
	TAILQ_HEAD(, mb_req) reqs;
	unsigned n;
};

enum master_kind { MASTER_TCP, MASTER_SERIAL, MASTER_AGENT };

struct mb_master {
	enum master_kind kind;
	struct mbgw *gw;
	uint16_t port;               /* listening port; 0 for a serial line */
	bool priority;
	char peer[64];               /* "addr:port" or the channel name */
	TAILQ_HEAD(, mb_req) reqs;
	unsigned n_reqs;
	LIST_HEAD(, mb_mq) mqs;
	struct mb_stats st;
	/* TCP */
	TAILQ_ENTRY(mb_master) link; /* gw->conns, least recently active first */
	struct bufferevent *bev;
	uint64_t last_active;
	struct cap_ep ep_peer, ep_local;
	bool throttled;              /* not reading: it does not read answers */
	/* serial (role: slave): the channel it belongs to */
	struct mb_chan *line;
	uint16_t seq;                /* tid of its current request */
};

struct mb_slave {
	struct mb_stats st;
	bool dead;
	uint64_t probe_next;         /* dead: no probe before this */
};

enum ch_kind { CH_SERIAL, CH_TCP };

enum ch_state {
	CS_DOWN,        /* waiting out a backoff */
	CS_OPENING,     /* the monitor opens the device / connecting */
	CS_INIT,        /* initial delay after opening */
	CS_IDLE,        /* ready, nothing on the line */
	CS_GAP,         /* waiting for line silence / inter-frame delay */
	CS_PRE,         /* RTS raised, waiting delay_before */
	CS_TX,          /* writing */
	CS_DRAIN,       /* written; waiting for the UART to empty */
	CS_POST,        /* RTS delay after */
	CS_WAIT,        /* waiting for the answer */
	CS_TURN,        /* broadcast turnaround */
};

enum tx_after { TX_RESPONSE, TX_TURNAROUND, TX_DONE };

struct mb_chan {
	TAILQ_ENTRY(mb_chan) link;
	struct mbgw *gw;
	enum ch_kind kind;
	bool slave_role;             /* serial line with a master on it */
	bool removed;
	char name[POLICY_MODBUS_NAME_MAX + 1];
	struct policy_modbus_serial scfg;
	struct policy_modbus_tcp tcfg;
	enum ch_state state;
	bool was_up;                 /* for channel-down/up events */
	char down_why[160];
	uint32_t token;
	unsigned backoff_ms;
	struct event *ev_timer;      /* backoff, delays, response timeout */
	struct event *ev_silence;    /* end of a frame by silence */
	/* serial */
	int fd;
	struct event *ev_read, *ev_write;
	struct serial_params sp;
	enum serial_rs485_mode mode;
	uint32_t silence_us, char_us;
	uint32_t gap_us;             /* quiet before a request (RTU) */
	bool ascii;
	uint8_t rx[1024];
	size_t rx_len;
	bool rx_garbage;
	uint8_t tx[MODBUS_ASCII_MAX_ADU];
	size_t tx_len, tx_off;
	enum tx_after tx_after;
	unsigned drain_polls;
	uint64_t last_rx, last_done;
	struct mb_req *cur;
	struct mb_master *smaster;   /* role: slave */
	uint8_t pend[MODBUS_ASCII_MAX_ADU];  /* its answer, waiting for the line */
	size_t pend_len;
	/* TCP */
	struct bufferevent *bev;
	struct cap_ep ep_local, ep_slave;
	TAILQ_HEAD(, mb_req) inflight;
	unsigned n_inflight;
	uint16_t next_ctid;
	/* queues */
	TAILQ_HEAD(, mb_mq) ring[2];  /* [0] priority port, [1] the rest */
	unsigned queued;
	struct mb_slave *slaves[256];
	struct mb_stats st;
};

struct mb_listener {
	TAILQ_ENTRY(mb_listener) link;
	struct mbgw *gw;
	int family;
	uint16_t port;
	bool priority;
	bool keep;                   /* mark during configure */
	uint32_t token;
	int fd;
	struct event *ev;
	char why[160];               /* why it is not listening */
};

enum cap_link { CAP_TCP, CAP_RTU, CAP_ASCII };

struct cap_rec {
	uint64_t seq;
	struct timespec ts;          /* CLOCK_REALTIME */
	enum cap_link link;
	bool out;                    /* sent by sluice */
	bool bad;                    /* did not form a valid frame */
	char where[POLICY_MODBUS_NAME_MAX + 1];  /* channel, or "master" */
	struct cap_ep src, dst;      /* TCP only */
	uint16_t len;
	uint8_t data[MODBUS_ASCII_MAX_ADU];
};

struct capture {
	struct cap_rec *ring;        /* MBGW_CAPTURE_FRAMES */
	uint64_t next;               /* seq of the next frame; first is 1 */
	struct event *idle;          /* stops the capture */
};

struct ratelim {
	uint64_t window;
	unsigned n;
	unsigned suppressed;
};

struct mbgw {
	struct event_base *base;
	struct mbgw_ops ops;
	struct evdns_base *dns;
	uint32_t next_token;
	TAILQ_HEAD(, mb_listener) listeners;
	TAILQ_HEAD(, mb_chan) chans;
	TAILQ_HEAD(, mb_master) conns;
	unsigned n_conns;
	uint32_t max_conns, idle_s;
	enum policy_modbus_exceptions exceptions;
	enum policy_modbus_malformed malformed;
	size_t n_routes;
	struct policy_modbus_route *routes;
	struct ratelim rl_malformed, rl_refused, rl_evicted, rl_denied;
	/*
	 * The snapshot modbus.firewall is read from: the engine keeps each
	 * one alive until it has configured the gateway with the next.
	 */
	const struct policy *policy;
	uint64_t *fw_hits;           /* per rule, then the default's */
	struct mb_stats st;          /* all masters together */
	uint64_t accepted, refused, evicted;
	struct capture cap;
	struct agent *agent;         /* agent mode, else NULL */
};

static void chan_kick(struct mb_chan *ch);
struct agent;
static void agent_answer(struct mbgw *gw, uint16_t tid, const uint8_t *pdu,
    size_t len);
static void agent_serve(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len);
static void agent_forget(struct mbgw *gw, struct mb_master *m);
static void ser_kick(struct mb_chan *ch);
static void tcp_kick(struct mb_chan *ch);
static void chan_open(struct mb_chan *ch);
static void master_close(struct mb_master *m, const char *why);

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
timer_us(struct event *ev, uint64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000u),
	    (suseconds_t)(us % 1000000u) };

	event_add(ev, &tv);
}

/* At most EVENT_PER_WINDOW events per window; *suppressed says how many not. */
static bool
ratelim_ok(struct ratelim *r, unsigned *suppressed)
{
	uint64_t now = now_us();

	if (now - r->window >= EVENT_WINDOW_US) {
		r->window = now;
		r->n = 0;
	}
	if (r->n >= EVENT_PER_WINDOW) {
		r->suppressed++;
		return false;
	}
	r->n++;
	*suppressed = r->suppressed;
	r->suppressed = 0;
	return true;
}

/* --- capture --------------------------------------------------------- */

static void
cap_ep_from(struct cap_ep *ep, const struct sockaddr *sa)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		memcpy(&s4, sa, sizeof(s4));
		ep->family = AF_INET;
		memcpy(ep->addr, &s4.sin_addr, 4);
		ep->port = ntohs(s4.sin_port);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&s6, sa, sizeof(s6));
		ep->family = AF_INET6;
		memcpy(ep->addr, &s6.sin6_addr, 16);
		ep->port = ntohs(s6.sin6_port);
	}
}

static void
cap_ep_fd(struct cap_ep *peer, struct cap_ep *local, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	sl = sizeof(ss);
	if (peer != NULL && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		cap_ep_from(peer, (struct sockaddr *)&ss);
	sl = sizeof(ss);
	if (local != NULL && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		cap_ep_from(local, (struct sockaddr *)&ss);
}

/* Record one frame if a capture is running. */
static void
cap_add(struct mbgw *gw, enum cap_link link, bool out, bool bad,
    const char *where, const struct cap_ep *src, const struct cap_ep *dst,
    const uint8_t *data, size_t len)
{
	struct cap_rec *r;

	if (gw->cap.ring == NULL)
		return;
	r = &gw->cap.ring[gw->cap.next % MBGW_CAPTURE_FRAMES];
	r->seq = gw->cap.next++;
	clock_gettime(CLOCK_REALTIME, &r->ts);
	r->link = link;
	r->out = out;
	r->bad = bad;
	snprintf(r->where, sizeof(r->where), "%s", where);
	if (src != NULL && dst != NULL) {
		r->src = *src;
		r->dst = *dst;
	} else {
		memset(&r->src, 0, sizeof(r->src));
		memset(&r->dst, 0, sizeof(r->dst));
	}
	if (len > sizeof(r->data))
		len = sizeof(r->data);
	r->len = (uint16_t)len;
	memcpy(r->data, data, len);
}

static void
cap_master(struct mb_master *m, bool out, const uint8_t *data, size_t len)
{
	if (m->kind == MASTER_TCP)
		cap_add(m->gw, CAP_TCP, out, false, "master",
		    out ? &m->ep_local : &m->ep_peer,
		    out ? &m->ep_peer : &m->ep_local, data, len);
}

static void
cap_chan(struct mb_chan *ch, bool out, bool bad, const uint8_t *data,
    size_t len)
{
	if (ch->kind == CH_TCP)
		cap_add(ch->gw, CAP_TCP, out, bad, ch->name,
		    out ? &ch->ep_local : &ch->ep_slave,
		    out ? &ch->ep_slave : &ch->ep_local, data, len);
	else
		cap_add(ch->gw, ch->ascii ? CAP_ASCII : CAP_RTU, out, bad,
		    ch->name, NULL, NULL, data, len);
}

static void
cap_stop(evutil_socket_t fd, short what, void *arg)
{
	struct mbgw *gw = arg;

	(void)fd;
	(void)what;
	free(gw->cap.ring);
	gw->cap.ring = NULL;
	log_info("modbus: traffic capture stopped (nobody fetched it for "
	    "%d s)", MBGW_CAPTURE_IDLE_S);
}

static json_t *
cap_ep_json(const struct cap_ep *ep)
{
	char a[INET6_ADDRSTRLEN] = "";

	if (ep->family == 0)
		return json_null();
	inet_ntop(ep->family, ep->addr, a, sizeof(a));
	return json_pack("{s:s s:i}", "addr", a, "port", (int)ep->port);
}

json_t *
mbgw_capture(struct mbgw *gw, const char *channel, uint64_t after,
    size_t max)
{
	static const char *links[] = { "tcp", "rtu", "ascii" };
	struct timeval tv = { MBGW_CAPTURE_IDLE_S, 0 };
	uint64_t first, seq, dropped = 0;
	json_t *o, *frames;
	char hex[2 * MODBUS_ASCII_MAX_ADU + 1];
	size_t i;

	if (gw->cap.ring == NULL) {
		gw->cap.ring = calloc(MBGW_CAPTURE_FRAMES, sizeof(struct cap_rec));
		if (gw->cap.idle == NULL)
			gw->cap.idle = evtimer_new(gw->base, cap_stop, gw);
		if (gw->cap.ring == NULL || gw->cap.idle == NULL) {
			free(gw->cap.ring);
			gw->cap.ring = NULL;
			return NULL;
		}
		if (gw->cap.next == 0)
			gw->cap.next = 1;
		log_info("modbus: traffic capture started");
	}
	evtimer_add(gw->cap.idle, &tv);
	first = gw->cap.next > MBGW_CAPTURE_FRAMES ?
	    gw->cap.next - MBGW_CAPTURE_FRAMES : 1;
	if (after == 0)
		after = gw->cap.next;       /* from now on */
	if (after < first) {
		dropped = first - after;
		after = first;
	}
	frames = json_array();
	for (seq = after; seq < gw->cap.next && json_array_size(frames) < max;
	    seq++) {
		const struct cap_rec *r = &gw->cap.ring[seq % MBGW_CAPTURE_FRAMES];
		json_t *f;

		if (channel != NULL && strcmp(channel, r->where) != 0)
			continue;
		for (i = 0; i < r->len; i++)
			snprintf(hex + 2 * i, 3, "%02x", r->data[i]);
		hex[2 * r->len] = '\0';
		f = json_pack("{s:I s:I s:i s:s s:s s:s s:b s:s}",
		    "seq", (json_int_t)r->seq,
		    "sec", (json_int_t)r->ts.tv_sec,
		    "usec", (int)(r->ts.tv_nsec / 1000),
		    "link", links[r->link],
		    "dir", r->out ? "out" : "in",
		    "channel", r->where, "bad", r->bad, "hex", hex);
		if (f != NULL && r->link == CAP_TCP) {
			json_object_set_new(f, "src", cap_ep_json(&r->src));
			json_object_set_new(f, "dst", cap_ep_json(&r->dst));
		}
		json_array_append_new(frames, f);
	}
	o = json_pack("{s:I s:I s:o}", "next", (json_int_t)seq,
	    "dropped", (json_int_t)dropped, "frames", frames);
	return o;
}

/* --- statistics ------------------------------------------------------ */

static void
stats_depth(struct mb_stats *s, int delta)
{
	if (delta < 0 && s->depth > 0)
		s->depth--;
	else if (delta > 0 && ++s->depth > s->depth_max)
		s->depth_max = s->depth;
}

static void
stats_rtt(struct mb_stats *s, uint64_t us)
{
	uint32_t v = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	size_t i;

	if (s->rtt_n == 0 || v < s->rtt_min)
		s->rtt_min = v;
	if (v > s->rtt_max)
		s->rtt_max = v;
	s->rtt_n++;
	s->rtt_sum += v;
	for (i = 0; i < HIST_N - 1 && v > hist_bounds[i]; i++)
		;
	s->hist[i]++;
}

/* Count an answer's exception code, if it is one, in every s. */
static void
stats_answer(const uint8_t *pdu, size_t len, struct mb_stats **s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == NULL)
			continue;
		if (len >= 2 && (pdu[0] & MODBUS_FUNC_EXCEPTION_BIT))
			s[i]->exceptions[pdu[1] & 0x0f]++;
		else
			s[i]->responses++;
	}
}

static json_t *
stats_json(const struct mb_stats *s)
{
	static const char *hist_names[HIST_N] = {
		"le500us", "le1ms", "le2ms", "le5ms", "le10ms", "le20ms",
		"le50ms", "le100ms", "le200ms", "le500ms", "le1s", "gt1s"
	};
	json_t *o, *ex, *h;
	unsigned i;

	o = json_pack("{s:I s:I s:I s:I s:I s:I s:I s:I s:I s:I s:i s:i}",
	    "requests", (json_int_t)s->requests,
	    "responses", (json_int_t)s->responses,
	    "timeouts", (json_int_t)s->timeouts,
	    "retries", (json_int_t)s->retries,
	    "crc_errors", (json_int_t)s->crc_errors,
	    "frame_errors", (json_int_t)s->frame_errors,
	    "late", (json_int_t)s->late,
	    "malformed", (json_int_t)s->malformed,
	    "denied", (json_int_t)s->denied,
	    "dropped", (json_int_t)s->dropped,
	    "queue_depth", (int)s->depth,
	    "queue_max", (int)s->depth_max);
	if (o == NULL)
		return NULL;
	ex = json_object();
	for (i = 0; i < 16; i++)
		if (s->exceptions[i] != 0) {
			char k[8];

			snprintf(k, sizeof(k), "0x%02X", i);
			json_object_set_new(ex, k,
			    json_integer((json_int_t)s->exceptions[i]));
		}
	json_object_set_new(o, "exceptions", ex);
	if (s->rtt_n > 0) {
		json_object_set_new(o, "rtt_us", json_pack("{s:i s:I s:i}",
		    "min", (int)s->rtt_min,
		    "avg", (json_int_t)(s->rtt_sum / s->rtt_n),
		    "max", (int)s->rtt_max));
		h = json_object();
		for (i = 0; i < HIST_N; i++)
			json_object_set_new(h, hist_names[i],
			    json_integer((json_int_t)s->hist[i]));
		json_object_set_new(o, "latency", h);
	}
	return o;
}

/* --- requests and answers -------------------------------------------- */

static bool
fc_is_read(uint8_t fc)
{
	switch (fc) {
	case 1: case 2: case 3: case 4: case 7: case 11: case 12: case 17:
	case 20: case 24: case 43:
		return true;
	default:
		return false;
	}
}

static struct mb_slave *
slave_get(struct mb_chan *ch, uint8_t unit)
{
	if (ch->slaves[unit] == NULL)
		ch->slaves[unit] = calloc(1, sizeof(struct mb_slave));
	return ch->slaves[unit];
}

static void ser_writable(evutil_socket_t fd, short what, void *arg);

/* A slave-role line: put the waiting answer on the wire. */
static void
ser_reply(struct mb_chan *line)
{
	memcpy(line->tx, line->pend, line->pend_len);
	line->tx_len = line->pend_len;
	line->tx_off = 0;
	line->pend_len = 0;
	line->tx_after = TX_DONE;
	cap_chan(line, true, false, line->tx, line->tx_len);
	line->state = CS_TX;
	if (line->mode == SERIAL_MODE_RTS)
		(void)serial_set_rts(line->fd, true);
	ser_writable(line->fd, EV_WRITE, line);
}

/*
 * Write to a connection's socket now when nothing waits before it: a
 * bufferevent_write() alone waits for the next loop round and costs two
 * epoll_ctl calls per answer.  What the kernel does not take goes to the
 * bufferevent.
 */
static int
bev_send(struct bufferevent *bev, const uint8_t *p, size_t n)
{
	ssize_t w = 0;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		w = send(bufferevent_getfd(bev), p, n, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (w < 0)
			w = 0;   /* EAGAIN, or an error the bufferevent will see */
	}
	if ((size_t)w == n)
		return 0;
	return bufferevent_write(bev, p + w, n - (size_t)w);
}

/* Send pdu to the master as the answer to (tid, unit). */
static void
master_send(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len)
{
	uint8_t out[MODBUS_ASCII_MAX_ADU];
	size_t n;
	struct mb_chan *line;

	if (m->kind == MASTER_AGENT) {
		(void)unit;
		agent_answer(m->gw, tid, pdu, len);
		return;
	}
	if (m->kind == MASTER_TCP) {
		if (modbus_tcp_encode(tid, unit, pdu, len, out, sizeof(out),
		    &n) == 0) {
			cap_master(m, true, out, n);
			(void)bev_send(m->bev, out, n);
		}
		return;
	}
	/* A serial master waits for one answer: only its current one. */
	line = m->line;
	if (tid != m->seq || line == NULL || line->fd < 0) {
		m->st.dropped++;
		return;
	}
	if ((line->ascii ? modbus_ascii_encode(unit, pdu, len, out,
	    sizeof(out), &n) : modbus_rtu_encode(unit, pdu, len, out,
	    sizeof(out), &n)) < 0)
		return;
	/* Still sending the last answer: this one follows it. */
	memcpy(line->pend, out, n);
	line->pend_len = n;
	if (line->state == CS_IDLE)
		ser_reply(line);
}

/* An exception from the gateway itself, unless the listeners are silent. */
static void
master_exception(struct mb_master *m, uint16_t tid, uint8_t unit,
    uint8_t fc, uint8_t code)
{
	uint8_t pdu[MODBUS_EXCEPTION_PDU_LEN];
	struct mb_stats *s[2] = { &m->st, &m->gw->st };

	/* Silence is for masters that cannot take exceptions; not the agent. */
	if (m->gw->exceptions == POLICY_MODBUS_EXC_SILENT &&
	    m->kind != MASTER_AGENT) {
		m->st.dropped++;
		return;
	}
	modbus_exception_build(fc, code, pdu, sizeof(pdu));
	stats_answer(pdu, sizeof(pdu), s, 2);
	master_send(m, tid, unit, pdu, sizeof(pdu));
}

static void
req_unlink_master(struct mb_req *r)
{
	if (r->m != NULL) {
		TAILQ_REMOVE(&r->m->reqs, r, mlink);
		r->m->n_reqs--;
		r->m = NULL;
	}
}

static void
req_free(struct mb_req *r)
{
	req_unlink_master(r);
	if (r->timer != NULL)
		event_free(r->timer);
	free(r);
}

/* Deliver a slave's answer (already checked) and free r. */
static void
req_answer(struct mb_req *r, const uint8_t *pdu, size_t len)
{
	struct mb_chan *ch = r->ch;
	uint64_t rtt = now_us() - r->t_sent;
	struct mb_slave *sl = slave_get(ch, r->unit_out);
	struct mb_stats *s[4] = { &ch->st, sl ? &sl->st : NULL,
	    r->m ? &r->m->st : NULL, &ch->gw->st };
	size_t i;

	for (i = 0; i < 4; i++)
		if (s[i] != NULL)
			stats_rtt(s[i], rtt);
	stats_answer(pdu, len, s, 4);
	if (sl != NULL && sl->dead) {
		sl->dead = false;
		log_info("modbus: %s unit %u answers again", ch->name,
		    r->unit_out);
	}
	if (r->m != NULL)
		master_send(r->m, r->tid, r->unit_in, pdu, len);
	req_free(r);
}

/* The request failed on the channel: 0x0B to its master. */
static void
req_fail(struct mb_req *r, uint8_t code)
{
	struct mb_chan *ch = r->ch;
	struct mb_slave *sl = slave_get(ch, r->unit_out);
	uint8_t pdu[2];
	struct mb_stats *s[2] = { &ch->st, sl ? &sl->st : NULL };

	modbus_exception_build(r->pdu[0], code, pdu, sizeof(pdu));
	stats_answer(pdu, sizeof(pdu), s, 2);
	if (r->m != NULL)
		master_exception(r->m, r->tid, r->unit_in, r->pdu[0], code);
	req_free(r);
}

/* A slave did not answer r after all tries. */
static void
req_timeout(struct mb_req *r)
{
	struct mb_chan *ch = r->ch;
	struct mb_slave *sl = slave_get(ch, r->unit_out);

	ch->st.timeouts++;
	if (sl != NULL) {
		sl->st.timeouts++;
		if (!sl->dead) {
			sl->dead = true;
			log_info("modbus: %s unit %u does not answer: probing it "
			    "with one request at a time", ch->name, r->unit_out);
		}
		sl->probe_next = now_us() + (uint64_t)MBGW_PROBE_FACTOR * 1000u *
		    (ch->kind == CH_SERIAL ? ch->scfg.response_timeout_ms :
		    ch->tcfg.response_timeout_ms);
	}
	if (r->m != NULL)
		r->m->st.timeouts++;
	req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
}

static void
mq_free(struct mb_mq *mq)
{
	LIST_REMOVE(mq, mlink);
	free(mq);
}

/* Take a queued request out of its queue (not freed). */
static void
req_dequeue(struct mb_req *r)
{
	struct mb_mq *mq = r->mq;
	struct mb_chan *ch = r->ch;
	int prio = r->priority ? 0 : 1;

	TAILQ_REMOVE(&mq->reqs, r, q);
	r->mq = NULL;
	mq->n--;
	ch->queued--;
	stats_depth(&ch->st, -1);
	TAILQ_REMOVE(&ch->ring[prio], mq, ring);
	if (mq->n > 0)
		TAILQ_INSERT_TAIL(&ch->ring[prio], mq, ring);   /* round robin */
	else
		mq_free(mq);
}

/* The next request for ch: priority first, round robin between masters. */
static struct mb_req *
chan_next(struct mb_chan *ch)
{
	struct mb_req *r;
	struct mb_mq *mq;
	struct mb_slave *sl;
	uint64_t now;
	int p;

	for (p = 0; p < 2; p++)
		while ((mq = TAILQ_FIRST(&ch->ring[p])) != NULL) {
			r = TAILQ_FIRST(&mq->reqs);
			req_dequeue(r);
			if (r->m == NULL) {
				req_free(r);
				continue;
			}
			sl = ch->slaves[r->unit_out];
			if (sl != NULL && sl->dead && !r->broadcast) {
				now = now_us();
				if (now < sl->probe_next) {
					req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
					continue;
				}
				/* This one is the probe; the next waits its turn. */
				r->tries_left = 0;
				sl->probe_next = now + (uint64_t)MBGW_PROBE_FACTOR *
				    1000u * (ch->kind == CH_SERIAL ?
				    ch->scfg.response_timeout_ms :
				    ch->tcfg.response_timeout_ms);
			}
			r->state = RQ_ACTIVE;
			return r;
		}
	return NULL;
}

/* Fail everything queued on ch (it goes away or is down). */
static void
chan_fail_queued(struct mb_chan *ch, uint8_t code)
{
	struct mb_req *r;
	int p;

	for (p = 0; p < 2; p++)
		while (TAILQ_FIRST(&ch->ring[p]) != NULL) {
			r = TAILQ_FIRST(&TAILQ_FIRST(&ch->ring[p])->reqs);
			req_dequeue(r);
			req_fail(r, code);
		}
}

static const struct policy_modbus_route *
route_find(const struct mbgw *gw, uint16_t port, uint8_t unit)
{
	const struct policy_modbus_route *any = NULL;
	size_t i;

	for (i = 0; i < gw->n_routes; i++) {
		const struct policy_modbus_route *rt = &gw->routes[i];

		if (!POLICY_MODBUS_UNIT_SET(rt->units, unit))
			continue;
		if (rt->listen_port == port && port != 0)
			return rt;
		if (rt->listen_port == 0)
			any = rt;
	}
	return any;
}

static bool
route_allows(const struct policy_modbus_route *rt, uint8_t fc)
{
	switch (rt->functions.mode) {
	case POLICY_MODBUS_FUNC_ALL:
		return true;
	case POLICY_MODBUS_FUNC_READ_ONLY:
		return fc_is_read(fc);
	default:
		return (rt->functions.codes[fc / 8] >> (fc % 8)) & 1u;
	}
}

static uint8_t
route_unit(const struct policy_modbus_route *rt, uint8_t unit)
{
	if (unit == MODBUS_BROADCAST_UNIT)
		return unit;
	if (POLICY_MODBUS_UNIT_SET(rt->map.mapped, unit))
		return rt->map.to[unit];
	return (uint8_t)((int)unit + rt->offset);
}

static struct mb_chan *
chan_find(struct mbgw *gw, const char *name)
{
	struct mb_chan *ch;

	TAILQ_FOREACH(ch, &gw->chans, link)
		if (!ch->removed && strcmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

static void
report_malformed(struct mb_master *m, const uint8_t *pdu, size_t len,
    const char *what)
{
	char hex[3 * 16 + 1], sup[16];
	unsigned suppressed;
	size_t i, o = 0;

	if (!ratelim_ok(&m->gw->rl_malformed, &suppressed))
		return;
	for (i = 0; i < len && i < 16; i++)
		o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%s%02x",
		    i ? " " : "", pdu[i]);
	hex[o] = '\0';
	snprintf(sup, sizeof(sup), "%u", suppressed);
	eventlog_emit(EVENTLOG_PROTOCOL, EVENTLOG_WARNING,
	    EVENTLOG_MODBUS_MALFORMED, "master", m->peer, "what", what,
	    "pdu", hex, "suppressed", sup, NULL);
}

/*
 * Queue a request for ch on m's queue: unit is what m addressed, unit_out
 * what goes on the channel; retries < 0 takes the channel's.  A full
 * queue is answered 0x06.
 */
static void
chan_enqueue(struct mb_master *m, struct mb_chan *ch, uint16_t tid,
    uint8_t unit, uint8_t unit_out, const uint8_t *pdu, size_t len,
    int retries)
{
	struct mb_mq *mq;
	struct mb_req *r;

	LIST_FOREACH(mq, &m->mqs, mlink)
		if (mq->ch == ch)
			break;
	/* The agent has at most one request per command in flight. */
	if (mq != NULL && mq->n >= MBGW_QUEUE_MAX && m->kind != MASTER_AGENT) {
		master_exception(m, tid, unit, pdu[0],
		    MODBUS_EX_SERVER_DEVICE_BUSY);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (mq == NULL && r != NULL) {
		mq = calloc(1, sizeof(*mq));
		if (mq != NULL) {
			mq->m = m;
			mq->ch = ch;
			TAILQ_INIT(&mq->reqs);
			LIST_INSERT_HEAD(&m->mqs, mq, mlink);
		}
	}
	if (r == NULL || mq == NULL) {
		free(r);
		master_exception(m, tid, unit, pdu[0],
		    MODBUS_EX_SERVER_DEVICE_BUSY);
		return;
	}
	r->m = m;
	r->ch = ch;
	r->tid = tid;
	r->unit_in = unit;
	r->unit_out = unit_out;
	r->broadcast = unit == MODBUS_BROADCAST_UNIT;
	r->write = !fc_is_read(pdu[0]);
	r->priority = m->priority;
	r->t_arrive = now_us();
	if (retries >= 0)
		r->tries_left = (uint8_t)retries;
	else if (ch->kind == CH_SERIAL)
		r->tries_left = r->broadcast ? 0 : r->write ?
		    ch->scfg.write_retries : ch->scfg.read_retries;
	else
		r->tries_left = r->write ? ch->tcfg.write_retries :
		    ch->tcfg.read_retries;
	memcpy(r->pdu, pdu, len);
	r->pdu_len = len;
	r->state = RQ_QUEUED;
	r->mq = mq;
	TAILQ_INSERT_TAIL(&m->reqs, r, mlink);
	m->n_reqs++;
	if (mq->n++ == 0)
		TAILQ_INSERT_TAIL(&ch->ring[r->priority ? 0 : 1], mq, ring);
	TAILQ_INSERT_TAIL(&mq->reqs, r, q);
	ch->queued++;
	ch->st.requests++;
	stats_depth(&ch->st, +1);
	if (!r->broadcast && slave_get(ch, r->unit_out) != NULL)
		ch->slaves[r->unit_out]->st.requests++;
	chan_kick(ch);
}

/* modbus.firewall: true when the request was refused (and answered). */
static bool
firewall_denies(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len)
{
	struct mbgw *gw = m->gw;
	const struct policy *p = gw->policy;
	struct mbfw_request rq;
	struct mbfw_access acc[2];
	enum policy_mbfw_action act;
	char rule[40], sup[16], unit_s[8], fc_s[8], addr_s[16];
	unsigned suppressed;
	int i;

	if (p == NULL || (p->modbus.firewall.n_rules == 0 &&
	    p->modbus.firewall.default_action == POLICY_MBFW_ALLOW))
		return false;
	memset(&rq, 0, sizeof(rq));
	if (m->kind == MASTER_TCP) {
		static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

		rq.family = m->ep_peer.family;
		memcpy(rq.addr, m->ep_peer.addr, sizeof(rq.addr));
		/* Rules name IPv4 networks in their IPv4 form. */
		if (rq.family == AF_INET6 &&
		    memcmp(rq.addr, v4mapped, sizeof(v4mapped)) == 0) {
			rq.family = AF_INET;
			memmove(rq.addr, rq.addr + 12, 4);
			memset(rq.addr + 4, 0, 12);
		}
	}
	rq.listen_port = m->port;
	rq.unit = unit;
	rq.pdu = pdu;
	rq.len = len;
	act = mbfw_eval(p, &rq, &i);
	/* Per rule, then the default's. */
	if (gw->fw_hits != NULL)
		gw->fw_hits[i >= 0 ? (size_t)i : p->modbus.firewall.n_rules]++;
	if (act == POLICY_MBFW_ALLOW)
		return false;
	m->st.denied++;
	gw->st.denied++;
	if (ratelim_ok(&gw->rl_denied, &suppressed)) {
		snprintf(rule, sizeof(rule), "%s", i >= 0 ?
		    p->modbus.firewall.rules[i].name : "(default)");
		snprintf(sup, sizeof(sup), "%u", suppressed);
		snprintf(unit_s, sizeof(unit_s), "%u", unit);
		snprintf(fc_s, sizeof(fc_s), "%u", pdu[0]);
		if (mbfw_accesses(pdu, len, acc) > 0)
			snprintf(addr_s, sizeof(addr_s), "%u", acc[0].first);
		else
			snprintf(addr_s, sizeof(addr_s), "-");
		eventlog_emit(EVENTLOG_PROTOCOL, EVENTLOG_WARNING,
		    EVENTLOG_MODBUS_DENIED, "master", m->peer, "unit", unit_s,
		    "function", fc_s, "address", addr_s, "rule", rule,
		    "suppressed", sup, NULL);
	}
	if (unit == MODBUS_BROADCAST_UNIT)
		m->st.dropped++;
	else
		master_exception(m, tid, unit, pdu[0],
		    p->modbus.firewall.deny_exception ==
		    POLICY_MBFW_EXC_ILLEGAL_ADDRESS ?
		    MODBUS_EX_ILLEGAL_DATA_ADDRESS : MODBUS_EX_ILLEGAL_FUNCTION);
	return true;
}

/* A request from a master: validate, route, queue. */
static void
gw_request(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len)
{
	struct mbgw *gw = m->gw;
	const struct policy_modbus_route *rt;
	struct mb_chan *ch;
	uint8_t exc = 0;

	m->st.requests++;
	gw->st.requests++;
	if (modbus_request_check(pdu, len, &exc) < 0) {
		m->st.malformed++;
		gw->st.malformed++;
		report_malformed(m, pdu, len, exc == MODBUS_EX_ILLEGAL_FUNCTION ?
		    "unknown function code" : exc == 0 ? "empty PDU" :
		    exc == MODBUS_EX_ILLEGAL_DATA_ADDRESS ?
		    "address range past 65535" :
		    "quantity, byte count, value or length out of range");
		if (exc == 0 || unit == MODBUS_BROADCAST_UNIT ||
		    (exc != MODBUS_EX_ILLEGAL_FUNCTION &&
		    gw->malformed == POLICY_MODBUS_MALFORMED_DROP)) {
			m->st.dropped++;
			return;
		}
		master_exception(m, tid, unit, pdu[0], exc);
		return;
	}
	if (firewall_denies(m, tid, unit, pdu, len))
		return;
	if (gw->agent != NULL) {
		agent_serve(m, tid, unit, pdu, len);
		return;
	}
	rt = route_find(gw, m->port, unit);
	ch = rt != NULL ? chan_find(gw, rt->channel) : NULL;
	if (ch == NULL || ch->slave_role ||
	    (unit == MODBUS_BROADCAST_UNIT &&
	    (!rt->broadcast || ch->kind != CH_SERIAL))) {
		if (unit == MODBUS_BROADCAST_UNIT)
			m->st.dropped++;
		else
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_GATEWAY_PATH_UNAVAILABLE);
		return;
	}
	if (!route_allows(rt, pdu[0])) {
		if (unit == MODBUS_BROADCAST_UNIT)
			m->st.dropped++;
		else
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_ILLEGAL_FUNCTION);
		return;
	}
	chan_enqueue(m, ch, tid, unit, route_unit(rt, unit), pdu, len, -1);
}

/* --- masters --------------------------------------------------------- */

/* Orphan the master's requests: queued ones go, active ones finish into nothing. */
static void
master_orphan(struct mb_master *m)
{
	struct mb_req *r, *next;
	struct mb_mq *mq;

	for (r = TAILQ_FIRST(&m->reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, mlink);
		if (r->state == RQ_QUEUED) {
			struct mb_chan *ch = r->ch;

			req_dequeue(r);
			req_free(r);
			(void)ch;
		} else
			req_unlink_master(r);
	}
	while ((mq = LIST_FIRST(&m->mqs)) != NULL)
		mq_free(mq);   /* empty ones cannot remain, but be safe */
}

static void
master_close(struct mb_master *m, const char *why)
{
	struct mbgw *gw = m->gw;

	log_debug("modbus: %s: closed (%s)", m->peer, why);
	master_orphan(m);
	agent_forget(gw, m);
	if (m->kind == MASTER_TCP) {
		TAILQ_REMOVE(&gw->conns, m, link);
		gw->n_conns--;
		bufferevent_free(m->bev);
	}
	free(m);
}

/*
 * The next whole ADU of a Modbus/TCP stream, moved into adu (of
 * MODBUS_TCP_MAX_ADU bytes): 1 with *len set; 0 while more bytes are
 * needed; -1 for a broken MBAP header (*len bytes of it in adu), after
 * which the stream cannot be resynchronised.
 */
static int
mbap_next(struct evbuffer *in, uint8_t *adu, size_t *len)
{
	size_t have = evbuffer_get_length(in);
	size_t n = have < MODBUS_TCP_MAX_ADU ? have : MODBUS_TCP_MAX_ADU;
	int rc;

	if (evbuffer_copyout(in, adu, n) != (ev_ssize_t)n)
		return 0;
	rc = modbus_tcp_frame_peek(adu, n, len);
	if (rc == MODBUS_FRAME_NEED_MORE ||
	    (rc == MODBUS_FRAME_COMPLETE && have < *len))
		return 0;
	if (rc != MODBUS_FRAME_COMPLETE) {
		*len = n;
		return -1;
	}
	return evbuffer_remove(in, adu, *len) == (int)*len ? 1 : 0;
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct mb_master *m = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t adu[MODBUS_TCP_MAX_ADU];
	struct modbus_adu a;
	size_t len;
	int rc;

	m->last_active = now_us();
	TAILQ_REMOVE(&m->gw->conns, m, link);
	TAILQ_INSERT_TAIL(&m->gw->conns, m, link);
	for (;;) {
		/*
		 * A master that sends without reading its answers (all
		 * immediate exceptions, say) would grow our output without
		 * bound: stop reading until it catches up (conn_write).
		 */
		if (evbuffer_get_length(bufferevent_get_output(bev)) >=
		    CONN_OUT_MAX) {
			m->throttled = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if ((rc = mbap_next(in, adu, &len)) == 0)
			return;
		if (rc < 0) {
			/* No way to find the next frame in the stream. */
			m->st.malformed++;
			m->gw->st.malformed++;
			report_malformed(m, adu, len, "MBAP header: protocol id "
			    "not 0 or length out of range");
			master_close(m, "bad MBAP header");
			return;
		}
		cap_master(m, false, adu, len);
		if (modbus_tcp_decode(adu, len, &a) < 0)
			continue;   /* peek and decode agree: cannot happen */
		gw_request(m, a.tid, a.unit, a.pdu, a.pdu_len);
	}
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct mb_master *m = arg;

	/* Called when the output fell to the low watermark. */
	if (m->throttled) {
		m->throttled = false;
		bufferevent_enable(bev, EV_READ);
		conn_read(bev, m);     /* what waited in the input */
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct mb_master *m = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (m->n_reqs > 0 || m->throttled)) {
		/* Waiting for answers is not idleness. */
		if (!m->throttled)
			bufferevent_enable(bev, EV_READ);
		return;
	}
	master_close(m, what & BEV_EVENT_TIMEOUT ? "idle timeout" :
	    what & BEV_EVENT_EOF ? "closed by the master" : "error");
}

static void
fmt_peer(const struct sockaddr *sa, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";

	/* memcpy: a struct sockaddr * need not be aligned for the others. */
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in s4;

		memcpy(&s4, sa, sizeof(s4));
		inet_ntop(AF_INET, &s4.sin_addr, a, sizeof(a));
		snprintf(buf, n, "%s:%u", a, ntohs(s4.sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 s6;

		memcpy(&s6, sa, sizeof(s6));
		inet_ntop(AF_INET6, &s6.sin6_addr, a, sizeof(a));
		snprintf(buf, n, "[%s]:%u", a, ntohs(s6.sin6_port));
	} else
		snprintf(buf, n, "?");
}

static void
sock_tune(int fd)
{
	int one = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S,
	    cnt = KEEPALIVE_CNT;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* At the cap: close the least recently active connection with nothing pending. */
static bool
evict_one(struct mbgw *gw)
{
	struct mb_master *m;
	unsigned suppressed;
	char sup[16];

	TAILQ_FOREACH(m, &gw->conns, link)
		if (m->n_reqs == 0)
			break;
	if (m == NULL)
		return false;
	gw->evicted++;
	if (ratelim_ok(&gw->rl_evicted, &suppressed)) {
		snprintf(sup, sizeof(sup), "%u", suppressed);
		eventlog_emit(EVENTLOG_PROTOCOL, EVENTLOG_NOTICE,
		    EVENTLOG_CONNECTION_EVICTED, "master", m->peer,
		    "reason", "modbus.listeners.max_connections reached",
		    "suppressed", sup, NULL);
	}
	master_close(m, "evicted at the connection cap");
	return true;
}

static void
listener_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct mb_listener *l = arg;
	struct mbgw *gw = l->gw;
	struct sockaddr_storage ss;
	struct mb_master *m;
	socklen_t sl;
	char why[160], peer[64], sup[16], port[8];
	unsigned suppressed;
	int fd, i;

	(void)what;
	for (i = 0; i < ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("modbus: accept on port %u: %s", l->port,
				    strerror(errno));
			return;
		}
		fmt_peer((struct sockaddr *)&ss, peer, sizeof(peer));
		why[0] = '\0';
		if (gw->ops.admit != NULL && !gw->ops.admit(gw->ops.arg,
		    (struct sockaddr *)&ss, l->port, why, sizeof(why))) {
			close(fd);
			gw->refused++;
			if (ratelim_ok(&gw->rl_refused, &suppressed)) {
				snprintf(sup, sizeof(sup), "%u", suppressed);
				snprintf(port, sizeof(port), "%u", l->port);
				eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING,
				    EVENTLOG_CLIENT_REFUSED, "client", peer,
				    "service", "modbus-tcp", "port", port,
				    "reason", why, "suppressed", sup, NULL);
			}
			continue;
		}
		if (gw->n_conns >= gw->max_conns && !evict_one(gw)) {
			close(fd);
			gw->refused++;
			log_warn("modbus: %s refused: %u connections, none idle",
			    peer, gw->n_conns);
			continue;
		}
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			close(fd);
			continue;
		}
		m->bev = bufferevent_socket_new(gw->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (m->bev == NULL) {
			close(fd);
			free(m);
			continue;
		}
		sock_tune(fd);
		cap_ep_from(&m->ep_peer, (struct sockaddr *)&ss);
		cap_ep_fd(NULL, &m->ep_local, fd);
		m->kind = MASTER_TCP;
		m->gw = gw;
		m->port = l->port;
		m->priority = l->priority;
		snprintf(m->peer, sizeof(m->peer), "%s", peer);
		TAILQ_INIT(&m->reqs);
		LIST_INIT(&m->mqs);
		m->last_active = now_us();
		TAILQ_INSERT_TAIL(&gw->conns, m, link);
		gw->n_conns++;
		gw->accepted++;
		bufferevent_setcb(m->bev, conn_read, conn_write, conn_event, m);
		bufferevent_setwatermark(m->bev, EV_WRITE, CONN_OUT_MAX / 4, 0);
		/* A peer cannot park more than a few frames in our buffer. */
		bufferevent_setwatermark(m->bev, EV_READ, 0,
		    16 * MODBUS_TCP_MAX_ADU);
		if (gw->idle_s > 0) {
			struct timeval tv = { (time_t)gw->idle_s, 0 };

			bufferevent_set_timeouts(m->bev, &tv, NULL);
		}
		bufferevent_enable(m->bev, EV_READ | EV_WRITE);
		log_debug("modbus: %s connected to port %u", peer, l->port);
	}
}

/* --- serial channels --------------------------------------------------- */

/*
 * The monitor set TIOCEXCL; on a pty that outlives the close while the
 * master is open, and would keep an unprivileged monitor from reopening.
 */
static void
ser_close(int fd)
{
	(void)ioctl(fd, TIOCNXCL);
	close(fd);
}

static void
chan_down(struct mb_chan *ch, const char *why)
{
	char dev[300];
	unsigned max;

	/* The next open makes new ones, for the new fd. */
	if (ch->ev_read != NULL) {
		event_free(ch->ev_read);
		ch->ev_read = NULL;
	}
	if (ch->ev_write != NULL) {
		event_free(ch->ev_write);
		ch->ev_write = NULL;
	}
	if (ch->ev_silence != NULL)
		event_del(ch->ev_silence);
	event_del(ch->ev_timer);
	if (ch->fd >= 0) {
		ser_close(ch->fd);
		ch->fd = -1;
	}
	if (ch->bev != NULL) {
		bufferevent_free(ch->bev);
		ch->bev = NULL;
	}
	if (ch->cur != NULL) {
		struct mb_req *r = ch->cur;

		ch->cur = NULL;
		req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
	}
	while (TAILQ_FIRST(&ch->inflight) != NULL) {
		struct mb_req *r = TAILQ_FIRST(&ch->inflight);

		TAILQ_REMOVE(&ch->inflight, r, q);
		ch->n_inflight--;
		req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
	}
	chan_fail_queued(ch, MODBUS_EX_GATEWAY_TARGET_FAILED);
	snprintf(ch->down_why, sizeof(ch->down_why), "%s", why);
	if (ch->was_up || ch->backoff_ms == 0) {
		snprintf(dev, sizeof(dev), "%s", ch->kind == CH_SERIAL ?
		    ch->scfg.device : ch->tcfg.host);
		eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING,
		    EVENTLOG_CHANNEL_DOWN, "channel", ch->name, "device", dev,
		    "reason", why, NULL);
	}
	ch->was_up = false;
	ch->state = CS_DOWN;
	max = ch->kind == CH_SERIAL ? BACKOFF_MAX_SERIAL_MS : BACKOFF_MAX_MS;
	ch->backoff_ms = ch->backoff_ms == 0 ? BACKOFF_MIN_MS :
	    ch->backoff_ms * 2 > max ? max : ch->backoff_ms * 2;
	timer_us(ch->ev_timer, (uint64_t)ch->backoff_ms * 1000u);
}

static void
chan_up(struct mb_chan *ch)
{
	char dev[300];

	ch->backoff_ms = 0;
	ch->was_up = true;
	ch->down_why[0] = '\0';
	snprintf(dev, sizeof(dev), "%s", ch->kind == CH_SERIAL ?
	    ch->scfg.device : ch->tcfg.host);
	eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_NOTICE, EVENTLOG_CHANNEL_UP,
	    "channel", ch->name, "device", dev, NULL);
}

/* Throw away what was received, into the capture if one runs. */
static void
rx_drop(struct mb_chan *ch, bool bad)
{
	if (ch->rx_len > 0)
		cap_chan(ch, false, bad, ch->rx, ch->rx_len);
	ch->rx_len = 0;
}

/* Answer of a slave-role line's master, or bytes on a master line. */
static void ser_rx(struct mb_chan *ch, bool silence);

static void
ser_attempt_failed(struct mb_chan *ch, bool timeout)
{
	struct mb_req *r = ch->cur;

	event_del(ch->ev_timer);
	event_del(ch->ev_silence);
	ch->rx_len = 0;
	ch->rx_garbage = false;
	ch->state = CS_IDLE;
	ch->last_done = now_us();
	if (r == NULL)
		return;
	if (r->tries_left > 0 && r->m != NULL) {
		r->tries_left--;
		ch->st.retries++;
		ser_kick(ch);             /* sends cur again */
		return;
	}
	ch->cur = NULL;
	if (timeout)
		req_timeout(r);
	else
		req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
	ser_kick(ch);
}

static void
ser_after_tx(struct mb_chan *ch)
{
	switch (ch->tx_after) {
	case TX_RESPONSE:
		ch->state = CS_WAIT;
		timer_us(ch->ev_timer,
		    (uint64_t)ch->scfg.response_timeout_ms * 1000u);
		break;
	case TX_TURNAROUND:
		ch->state = CS_TURN;
		timer_us(ch->ev_timer, (uint64_t)(MBGW_TURNAROUND_MS >
		    ch->scfg.inter_frame_delay_ms ? MBGW_TURNAROUND_MS :
		    ch->scfg.inter_frame_delay_ms) * 1000u);
		break;
	case TX_DONE:
		ch->state = CS_IDLE;
		ch->last_done = now_us();
		if (ch->pend_len > 0)
			ser_reply(ch);
		break;
	}
}

static void
ser_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mb_chan *ch = arg;
	bool empty = true;
	int q = 0;

	(void)fd;
	(void)what;
	switch (ch->state) {
	case CS_DOWN:
		chan_open(ch);
		break;
	case CS_INIT:
		ch->state = CS_IDLE;
		ch->last_done = now_us();
		chan_up(ch);
		ser_kick(ch);
		break;
	case CS_GAP:
		ch->state = CS_IDLE;
		ser_kick(ch);
		break;
	case CS_PRE:
		ch->state = CS_TX;
		event_active(ch->ev_write, EV_WRITE, 0);
		break;
	case CS_DRAIN:
		if (serial_tx_empty(ch->fd, &empty) < 0)
			empty = true;
		if (!empty && ++ch->drain_polls < DRAIN_POLLS_MAX) {
			if (serial_outq(ch->fd, &q) < 0 || q < 1)
				q = 1;
			timer_us(ch->ev_timer, (uint64_t)q * ch->char_us);
			break;
		}
		if (ch->mode == SERIAL_MODE_RTS &&
		    ch->scfg.rs485_delay_after_us > 0) {
			ch->state = CS_POST;
			timer_us(ch->ev_timer, ch->scfg.rs485_delay_after_us);
			break;
		}
		__attribute__((fallthrough));
	case CS_POST:
		if (ch->mode == SERIAL_MODE_RTS)
			(void)serial_set_rts(ch->fd, false);
		ser_after_tx(ch);
		if (ch->state == CS_IDLE)
			ser_kick(ch);
		break;
	case CS_WAIT:
		if (ch->rx_len > 0)
			ch->st.frame_errors++;   /* an answer cut short */
		ser_attempt_failed(ch, true);
		break;
	case CS_TURN:
		if (ch->cur != NULL) {
			struct mb_req *r = ch->cur;

			ch->cur = NULL;
			ch->st.dropped++;
			req_free(r);   /* a broadcast: nobody answers */
		}
		ch->state = CS_IDLE;
		ch->last_done = now_us();
		ser_kick(ch);
		break;
	default:
		break;
	}
}

static void
ser_writable(evutil_socket_t fd, short what, void *arg)
{
	struct mb_chan *ch = arg;
	ssize_t n;

	(void)fd;
	(void)what;
	if (ch->state != CS_TX || ch->fd < 0)
		return;
	while (ch->tx_off < ch->tx_len) {
		n = write(ch->fd, ch->tx + ch->tx_off, ch->tx_len - ch->tx_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			event_add(ch->ev_write, NULL);
			return;
		}
		if (n <= 0) {
			char why[128];

			snprintf(why, sizeof(why), "write: %s", strerror(errno));
			chan_down(ch, why);
			return;
		}
		ch->tx_off += (size_t)n;
	}
	/* Only RTS toggling needs to know when the last bit left. */
	if (ch->tx_after == TX_DONE && ch->mode != SERIAL_MODE_RTS) {
		ser_after_tx(ch);
		return;
	}
	/* Instead of tcdrain(), which blocks: poll the UART when it should be done. */
	ch->state = CS_DRAIN;
	ch->drain_polls = 0;
	timer_us(ch->ev_timer, (uint64_t)ch->tx_len * ch->char_us);
}

/* Put r on the line. */
static void
ser_send(struct mb_chan *ch, struct mb_req *r)
{
	size_t n;
	int rc;

	rc = ch->ascii ? modbus_ascii_encode(r->unit_out, r->pdu, r->pdu_len,
	    ch->tx, sizeof(ch->tx), &n) : modbus_rtu_encode(r->unit_out, r->pdu,
	    r->pdu_len, ch->tx, sizeof(ch->tx), &n);
	if (rc < 0) {
		ch->cur = NULL;
		req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
		return;
	}
	/* Whatever arrived before this request cannot answer it. */
	if (ch->rx_len > 0)
		ch->st.late++;
	ch->rx_len = 0;
	ch->rx_garbage = false;
	(void)tcflush(ch->fd, TCIFLUSH);
	ch->tx_len = n;
	ch->tx_off = 0;
	ch->tx_after = r->broadcast ? TX_TURNAROUND : TX_RESPONSE;
	cap_chan(ch, true, false, ch->tx, n);
	r->t_sent = now_us();
	if (ch->mode == SERIAL_MODE_RTS) {
		(void)serial_set_rts(ch->fd, true);
		if (ch->scfg.rs485_delay_before_us > 0) {
			ch->state = CS_PRE;
			timer_us(ch->ev_timer, ch->scfg.rs485_delay_before_us);
			return;
		}
	}
	ch->state = CS_TX;
	ser_writable(ch->fd, EV_WRITE, ch);
}

static void
ser_kick(struct mb_chan *ch)
{
	uint64_t now, at, gap;

	/* Unplugged and backing off: answer at once, like a TCP channel. */
	if (ch->state == CS_DOWN) {
		chan_fail_queued(ch, MODBUS_EX_GATEWAY_TARGET_FAILED);
		return;
	}

	while (ch->state == CS_IDLE && ch->fd >= 0 && !ch->slave_role) {
		if (ch->cur == NULL)
			ch->cur = chan_next(ch);
		if (ch->cur == NULL)
			return;
		if (ch->cur->m == NULL) {          /* its master left */
			struct mb_req *r = ch->cur;

			ch->cur = NULL;
			ch->st.dropped++;
			req_free(r);
			continue;
		}
		/*
		 * RTU frames are separated by silence; ASCII ones by ':' and
		 * CR LF (gap_us is 0).
		 */
		now = now_us();
		at = ch->last_rx + ch->gap_us;
		gap = ch->last_done + (uint64_t)ch->scfg.inter_frame_delay_ms *
		    1000u;
		if (gap > at)
			at = gap;
		if (at > now) {
			ch->state = CS_GAP;
			timer_us(ch->ev_timer, at - now);
			return;
		}
		ser_send(ch, ch->cur);
	}
}

static void
ser_silence(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ser_rx(arg, true);
}

enum ascii_take { ASCII_WAIT, ASCII_FRAME, ASCII_CUT, ASCII_BAD };

/*
 * The ASCII frame at the start of rx, after any noise before its ':'.
 * ASCII_FRAME: decoded into a (pdu in bin), *total bytes of rx.
 * ASCII_WAIT: incomplete, the character timer runs.  ASCII_CUT: still
 * incomplete when the line fell silent; ASCII_BAD: LRC or format wrong
 * (counted); both drop rx.
 */
static enum ascii_take
ser_ascii_frame(struct mb_chan *ch, bool silence, uint8_t *bin,
    size_t binlen, struct modbus_adu *a, size_t *total)
{
	size_t start = 0;
	int rc;

	while (start < ch->rx_len && ch->rx[start] != ':')
		start++;
	if (start > 0) {
		memmove(ch->rx, ch->rx + start, ch->rx_len - start);
		ch->rx_len -= start;
	}
	rc = modbus_ascii_frame_peek(ch->rx, ch->rx_len, total);
	if (rc == MODBUS_FRAME_NEED_MORE) {
		if (silence) {
			rx_drop(ch, true);
			return ASCII_CUT;
		}
		if (ch->rx_len > 0)
			timer_us(ch->ev_silence, ch->silence_us);
		return ASCII_WAIT;
	}
	if (rc != MODBUS_FRAME_COMPLETE ||
	    modbus_ascii_decode(ch->rx, *total, bin, binlen, a) < 0) {
		ch->st.crc_errors++;
		rx_drop(ch, true);
		return ASCII_BAD;
	}
	return ASCII_FRAME;
}

/* Bytes of a master line: is the answer complete? */
static void
ser_rx_answer(struct mb_chan *ch, bool silence)
{
	struct mb_req *r = ch->cur;
	uint8_t bin[MODBUS_RTU_MAX_ADU];
	struct modbus_adu a;
	size_t total = 0;
	int rc;

	if (r == NULL || ch->state < CS_TX || ch->state == CS_TURN) {
		/* Nobody waits: a late answer or noise. */
		if (ch->rx_len > 0 && !silence)
			ch->st.late++;
		rx_drop(ch, false);
		return;
	}
	if (ch->ascii) {
		rc = ser_ascii_frame(ch, silence, bin, sizeof(bin), &a, &total);
		if (rc == ASCII_CUT)
			ch->st.frame_errors++;
		else if (rc == ASCII_BAD)
			ser_attempt_failed(ch, false);
		if (rc != ASCII_FRAME)
			return;
	} else {
		rc = modbus_rtu_expected_len(MODBUS_DIR_RESPONSE, ch->rx,
		    ch->rx_len, &total);
		if (rc == MODBUS_FRAME_COMPLETE && ch->rx_len == total &&
		    modbus_rtu_frame_crc(ch->rx, total) == 0)
			;       /* done before the silence */
		else if (!silence) {
			timer_us(ch->ev_silence, ch->silence_us);
			return;
		} else if (rc == MODBUS_FRAME_UNKNOWN &&
		    modbus_rtu_frame_crc(ch->rx, ch->rx_len) == 0)
			total = ch->rx_len;
		else {
			if (rc == MODBUS_FRAME_COMPLETE && ch->rx_len >= total &&
			    modbus_rtu_frame_crc(ch->rx, total) < 0)
				ch->st.crc_errors++;
			else if (rc == MODBUS_FRAME_UNKNOWN)
				ch->st.crc_errors++;
			else
				ch->st.frame_errors++;
			rx_drop(ch, true);
			ser_attempt_failed(ch, false);
			return;
		}
		if (modbus_rtu_decode(ch->rx, total, &a) < 0) {
			ch->st.frame_errors++;
			rx_drop(ch, true);
			ser_attempt_failed(ch, false);
			return;
		}
	}
	event_del(ch->ev_silence);
	if (a.unit != r->unit_out) {
		/* Another slave's (late) answer: keep waiting for ours. */
		ch->st.late++;
		rx_drop(ch, false);
		return;
	}
	if (modbus_response_check(r->pdu, r->pdu_len, a.pdu, a.pdu_len) < 0) {
		ch->st.frame_errors++;
		rx_drop(ch, true);
		ser_attempt_failed(ch, false);
		return;
	}
	event_del(ch->ev_timer);
	ch->cur = NULL;
	if (ch->mode == SERIAL_MODE_RTS && ch->state < CS_WAIT)
		(void)serial_set_rts(ch->fd, false);
	ch->state = CS_IDLE;
	ch->last_done = now_us();
	cap_chan(ch, false, false, ch->rx, total);
	req_answer(r, a.pdu, a.pdu_len);   /* a.pdu points into rx or bin */
	ch->rx_len = 0;
	ser_kick(ch);
}

/* Bytes of a slave-role line: a request from the serial master? */
static void
ser_rx_request(struct mb_chan *ch, bool silence)
{
	uint8_t bin[MODBUS_RTU_MAX_ADU];
	struct modbus_adu a;
	size_t total = 0;
	int rc;

	if (ch->ascii) {
		if (ser_ascii_frame(ch, silence, bin, sizeof(bin), &a,
		    &total) != ASCII_FRAME)
			return;
	} else {
		rc = modbus_rtu_expected_len(MODBUS_DIR_REQUEST, ch->rx,
		    ch->rx_len, &total);
		if (rc == MODBUS_FRAME_COMPLETE && ch->rx_len == total &&
		    modbus_rtu_frame_crc(ch->rx, total) == 0)
			;
		else if (!silence) {
			timer_us(ch->ev_silence, ch->silence_us);
			return;
		} else if (modbus_rtu_frame_crc(ch->rx, ch->rx_len) == 0 &&
		    ch->rx_len >= MODBUS_RTU_MIN_ADU)
			total = ch->rx_len;
		else {
			ch->st.crc_errors++;
			rx_drop(ch, true);
			return;
		}
		if (modbus_rtu_decode(ch->rx, total, &a) < 0) {
			ch->st.frame_errors++;
			rx_drop(ch, true);
			return;
		}
	}
	event_del(ch->ev_silence);
	/* Like a slave on a shared line: units nobody routes are not ours. */
	if (route_find(ch->gw, 0, a.unit) == NULL) {
		ch->st.late++;
		rx_drop(ch, false);
		return;
	}
	ch->smaster->seq++;
	{
		uint8_t pdu[MODBUS_MAX_PDU];
		size_t len = a.pdu_len;

		memcpy(pdu, a.pdu, len);
		cap_chan(ch, false, false, ch->rx, total);
		ch->rx_len = 0;
		gw_request(ch->smaster, ch->smaster->seq, a.unit, pdu, len);
	}
}

static void
ser_rx(struct mb_chan *ch, bool silence)
{
	if (ch->slave_role)
		ser_rx_request(ch, silence);
	else
		ser_rx_answer(ch, silence);
}

static void
ser_readable(evutil_socket_t fd, short what, void *arg)
{
	struct mb_chan *ch = arg;
	uint8_t buf[512];
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < 8; i++) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			char why[128];

			snprintf(why, sizeof(why), "%s", n == 0 ?
			    "device hung up" : strerror(errno));
			chan_down(ch, why);
			return;
		}
		ch->last_rx = now_us();
		if (ch->rx_len + (size_t)n > sizeof(ch->rx)) {
			/* Longer than any frame: noise. */
			ch->st.frame_errors++;
			rx_drop(ch, true);
		}
		memcpy(ch->rx + ch->rx_len, buf, (size_t)n);
		ch->rx_len += (size_t)n;
		if ((size_t)n < sizeof(buf))
			break;
	}
	ser_rx(ch, false);
}

static void
ser_device_ready(struct mb_chan *ch, int fd)
{
	char err[256];

	if (serial_configure(fd, ch->scfg.device, &ch->sp, &ch->mode, err,
	    sizeof(err)) < 0) {
		ser_close(fd);
		chan_down(ch, err);
		return;
	}
	ch->fd = fd;
	ch->rx_len = 0;
	ch->ev_read = event_new(ch->gw->base, fd, EV_READ | EV_PERSIST,
	    ser_readable, ch);
	ch->ev_write = event_new(ch->gw->base, fd, EV_WRITE, ser_writable, ch);
	if (ch->ev_read == NULL || ch->ev_write == NULL) {
		chan_down(ch, "out of memory");
		return;
	}
	event_add(ch->ev_read, NULL);
	ch->last_rx = ch->last_done = now_us();
	if (ch->mode == SERIAL_MODE_RTS)
		(void)serial_set_rts(fd, false);
	if (ch->scfg.initial_delay_ms > 0 && !ch->slave_role) {
		ch->state = CS_INIT;
		timer_us(ch->ev_timer, (uint64_t)ch->scfg.initial_delay_ms * 1000u);
		return;
	}
	ch->state = CS_IDLE;
	chan_up(ch);
	ser_kick(ch);
}

/* --- TCP channels ------------------------------------------------------ */

static void tcp_connect(struct mb_chan *ch);

static void tcp_req_timeout(evutil_socket_t, short, void *);

/* Put r on the slave's connection as a new transaction. */
static int
tcp_send(struct mb_chan *ch, struct mb_req *r)
{
	uint8_t adu[MODBUS_TCP_MAX_ADU];
	struct timeval tv;
	size_t n;

	r->ctid = ch->next_ctid++;
	if (modbus_tcp_encode(r->ctid, r->unit_out, r->pdu, r->pdu_len, adu,
	    sizeof(adu), &n) < 0)
		return -1;
	if (r->timer == NULL &&
	    (r->timer = evtimer_new(ch->gw->base, tcp_req_timeout, r)) == NULL)
		return -1;
	/* Buffered: requests of many masters share this connection, and
	 * one write per loop round carries them all. */
	if (bufferevent_write(ch->bev, adu, n) < 0)
		return -1;
	cap_chan(ch, true, false, adu, n);
	r->t_sent = now_us();
	tv.tv_sec = ch->tcfg.response_timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(ch->tcfg.response_timeout_ms % 1000) * 1000;
	evtimer_add(r->timer, &tv);
	TAILQ_INSERT_TAIL(&ch->inflight, r, q);
	ch->n_inflight++;
	return 0;
}

static void
tcp_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mb_req *r = arg;
	struct mb_chan *ch = r->ch;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&ch->inflight, r, q);
	ch->n_inflight--;
	/* Again as a new transaction: the old one's answer is then late. */
	if (r->tries_left > 0 && r->m != NULL && ch->state == CS_IDLE) {
		r->tries_left--;
		ch->st.retries++;
		if (tcp_send(ch, r) == 0)
			return;
	}
	req_timeout(r);
	tcp_kick(ch);
}

static void
tcp_kick(struct mb_chan *ch)
{
	struct mb_req *r;

	if (ch->state == CS_DOWN) {
		/* Down and backing off: answer at once rather than let it wait. */
		chan_fail_queued(ch, MODBUS_EX_GATEWAY_TARGET_FAILED);
		return;
	}
	while (ch->state == CS_IDLE && ch->n_inflight < MBGW_TCP_INFLIGHT &&
	    (r = chan_next(ch)) != NULL)
		if (tcp_send(ch, r) < 0)
			req_fail(r, MODBUS_EX_GATEWAY_TARGET_FAILED);
}

static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct mb_chan *ch = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t adu[MODBUS_TCP_MAX_ADU];
	struct modbus_adu a;
	struct mb_req *r;
	size_t len;
	int rc;

	for (;;) {
		if ((rc = mbap_next(in, adu, &len)) == 0)
			break;
		if (rc < 0) {
			ch->st.frame_errors++;
			chan_down(ch, "the slave sent a bad MBAP header");
			return;
		}
		if (modbus_tcp_decode(adu, len, &a) < 0)
			continue;
		cap_chan(ch, false, false, adu, len);
		TAILQ_FOREACH(r, &ch->inflight, q)
			if (r->ctid == a.tid)
				break;
		if (r == NULL || a.unit != r->unit_out) {
			ch->st.late++;
			continue;
		}
		if (modbus_response_check(r->pdu, r->pdu_len, a.pdu,
		    a.pdu_len) < 0) {
			ch->st.frame_errors++;
			continue;     /* its timer decides */
		}
		TAILQ_REMOVE(&ch->inflight, r, q);
		ch->n_inflight--;
		req_answer(r, a.pdu, a.pdu_len);
	}
	tcp_kick(ch);
}

static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct mb_chan *ch = arg;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		event_del(ch->ev_timer);
		sock_tune(bufferevent_getfd(bev));
		cap_ep_fd(&ch->ep_slave, &ch->ep_local, bufferevent_getfd(bev));
		ch->state = CS_IDLE;
		chan_up(ch);
		tcp_kick(ch);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();
		int dnserr = bufferevent_socket_get_dns_error(bev);

		snprintf(why, sizeof(why), "%s", dnserr ?
		    evutil_gai_strerror(dnserr) : err ?
		    evutil_socket_error_to_string(err) : "error");
	} else
		snprintf(why, sizeof(why), "%s", what & BEV_EVENT_EOF ?
		    "closed by the slave" : "connection lost");
	chan_down(ch, why);
	/* Requests fail at once while it is down; reconnect when needed. */
}

static void
tcp_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mb_chan *ch = arg;

	(void)fd;
	(void)what;
	if (ch->state == CS_OPENING) {
		chan_down(ch, "connect timeout");
		return;
	}
	if (ch->state == CS_DOWN)
		tcp_connect(ch);
}

static void
tcp_connect(struct mb_chan *ch)
{
	struct mbgw *gw = ch->gw;
	struct sockaddr_storage ss;
	int sl = sizeof(ss), rc;
	char addr[300];

	ch->bev = bufferevent_socket_new(gw->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (ch->bev == NULL) {
		chan_down(ch, "out of memory");
		return;
	}
	bufferevent_setcb(ch->bev, tcp_read, NULL, tcp_event, ch);
	bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
	ch->state = CS_OPENING;
	timer_us(ch->ev_timer, (uint64_t)ch->tcfg.connect_timeout_ms * 1000u);
	snprintf(addr, sizeof(addr), strchr(ch->tcfg.host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", ch->tcfg.host, ch->tcfg.port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) == 0)
		rc = bufferevent_socket_connect(ch->bev, (struct sockaddr *)&ss,
		    sl);
	else {
		if (gw->dns == NULL)
			gw->dns = evdns_base_new(gw->base,
			    EVDNS_BASE_INITIALIZE_NAMESERVERS);
		rc = gw->dns == NULL ? -1 :
		    bufferevent_socket_connect_hostname(ch->bev, gw->dns,
		    AF_UNSPEC, ch->tcfg.host, ch->tcfg.port);
	}
	if (rc < 0 && ch->state == CS_OPENING)
		chan_down(ch, "connect failed");
}

/* --- channels ---------------------------------------------------------- */

static void
chan_kick(struct mb_chan *ch)
{
	if (ch->kind == CH_SERIAL)
		ser_kick(ch);
	else
		tcp_kick(ch);
}

static void
chan_open(struct mb_chan *ch)
{
	struct mbgw *gw = ch->gw;

	if (ch->kind == CH_TCP) {
		tcp_connect(ch);
		return;
	}
	ch->token = ++gw->next_token;
	ch->state = CS_OPENING;
	if (gw->ops.open_device == NULL ||
	    gw->ops.open_device(gw->ops.arg, ch->scfg.device, ch->token) < 0) {
		ch->token = 0;
		chan_down(ch, "cannot ask the monitor to open the device");
	}
}

static char
parity_char(enum policy_modbus_parity p)
{
	return p == POLICY_MODBUS_PARITY_EVEN ? 'E' :
	    p == POLICY_MODBUS_PARITY_ODD ? 'O' : 'N';
}

static struct mb_chan *
chan_new(struct mbgw *gw, const struct policy_modbus_serial *s,
    const struct policy_modbus_tcp *t)
{
	static const enum serial_rs485_want want[] = {
		[POLICY_MODBUS_RS485_AUTO] = SERIAL_RS485_AUTO,
		[POLICY_MODBUS_RS485_KERNEL] = SERIAL_RS485_KERNEL,
		[POLICY_MODBUS_RS485_RTS] = SERIAL_RS485_RTS,
		[POLICY_MODBUS_RS485_OFF] = SERIAL_RS485_OFF,
	};
	struct mb_chan *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return NULL;
	ch->gw = gw;
	ch->fd = -1;
	TAILQ_INIT(&ch->ring[0]);
	TAILQ_INIT(&ch->ring[1]);
	TAILQ_INIT(&ch->inflight);
	if (s != NULL) {
		ch->kind = CH_SERIAL;
		ch->scfg = *s;
		snprintf(ch->name, sizeof(ch->name), "%s", s->name);
		ch->slave_role = s->role == POLICY_MODBUS_ROLE_SLAVE;
		ch->ascii = s->framing == POLICY_MODBUS_ASCII;
		ch->sp.baud = s->baud;
		ch->sp.data_bits = s->data_bits;
		ch->sp.parity = parity_char(s->parity);
		ch->sp.stop_bits = s->stop_bits;
		ch->sp.rs485 = want[s->rs485];
		ch->sp.delay_before_us = s->rs485_delay_before_us;
		ch->sp.delay_after_us = s->rs485_delay_after_us;
		ch->char_us = serial_char_us(&ch->sp);
		if (ch->char_us == 0)
			ch->char_us = 1;
		/*
		 * Receiving, a frame ends after t3.5 of silence, the fixed
		 * 1.75 ms above 19200 baud (serial line 2.5.1.1), which
		 * tolerates a slave's jitter; sending, the gap is 3.5 real
		 * characters, which is what a slave's t3.5 asks for (the
		 * fixed value is the spec's relief for receivers' timers).
		 * silence_ms sets both.
		 */
		if (s->silence_ms > 0)
			ch->silence_us = ch->gap_us = s->silence_ms * 1000u;
		else if (ch->ascii)
			ch->silence_us = 1000000u;  /* serial line 2.5.2.1: 1 s */
		else {
			ch->silence_us = modbus_rtu_silence_us(s->baud,
			    s->data_bits, ch->sp.parity, s->stop_bits);
			ch->gap_us = (7 * ch->char_us + 1) / 2;
		}
		ch->ev_timer = evtimer_new(gw->base, ser_timer, ch);
		ch->ev_silence = evtimer_new(gw->base, ser_silence, ch);
		if (ch->slave_role) {
			ch->smaster = calloc(1, sizeof(*ch->smaster));
			if (ch->smaster != NULL) {
				ch->smaster->kind = MASTER_SERIAL;
				ch->smaster->gw = gw;
				ch->smaster->line = ch;
				snprintf(ch->smaster->peer,
				    sizeof(ch->smaster->peer), "%s", s->name);
				TAILQ_INIT(&ch->smaster->reqs);
				LIST_INIT(&ch->smaster->mqs);
			}
		}
	} else {
		ch->kind = CH_TCP;
		ch->tcfg = *t;
		snprintf(ch->name, sizeof(ch->name), "%s", t->name);
		ch->ev_timer = evtimer_new(gw->base, tcp_timer, ch);
	}
	if (ch->ev_timer == NULL || (s != NULL && ch->ev_silence == NULL) ||
	    (ch->slave_role && ch->smaster == NULL)) {
		if (ch->ev_timer != NULL)
			event_free(ch->ev_timer);
		if (ch->ev_silence != NULL)
			event_free(ch->ev_silence);
		free(ch->smaster);
		free(ch);
		return NULL;
	}
	return ch;
}

static void
chan_free(struct mb_chan *ch)
{
	unsigned i;

	ch->was_up = false;
	ch->backoff_ms = 1;     /* no channel-down event: it was removed */
	chan_down(ch, "removed");
	event_del(ch->ev_timer);
	if (ch->smaster != NULL) {
		master_orphan(ch->smaster);
		free(ch->smaster);
	}
	if (ch->ev_read != NULL)
		event_free(ch->ev_read);
	if (ch->ev_write != NULL)
		event_free(ch->ev_write);
	if (ch->ev_silence != NULL)
		event_free(ch->ev_silence);
	event_free(ch->ev_timer);
	for (i = 0; i < 256; i++)
		free(ch->slaves[i]);
	free(ch);
}

/* --- listeners --------------------------------------------------------- */

static void
listener_free(struct mb_listener *l)
{
	struct mbgw *gw = l->gw;
	struct mb_master *m, *next;

	/* Its connections go with it (a disabled service keeps nobody). */
	for (m = TAILQ_FIRST(&gw->conns); m != NULL; m = next) {
		next = TAILQ_NEXT(m, link);
		if (m->port == l->port)
			master_close(m, "listener closed");
	}
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static void
listener_request(struct mb_listener *l)
{
	struct mbgw *gw = l->gw;

	l->token = ++gw->next_token;
	if (gw->ops.open_listen == NULL ||
	    gw->ops.open_listen(gw->ops.arg, l->family, l->port, l->token) < 0) {
		l->token = 0;
		snprintf(l->why, sizeof(l->why), "cannot ask the monitor");
	}
}

void
mbgw_fd_ready(struct mbgw *gw, uint32_t token, int fd, int err,
    const char *msg)
{
	struct mb_listener *l;
	struct mb_chan *ch;

	if (token == 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	TAILQ_FOREACH(l, &gw->listeners, link)
		if (l->token == token) {
			l->token = 0;
			if (fd < 0) {
				snprintf(l->why, sizeof(l->why), "%s", msg);
				/* IPv6 may simply be absent: that is not an error. */
				if (l->family == AF_INET6 &&
				    (err == EAFNOSUPPORT || err == EADDRNOTAVAIL))
					log_info("modbus: no IPv6 listener on port "
					    "%u: %s", l->port, msg);
				else
					eventlog_emit(EVENTLOG_SYSTEM,
					    EVENTLOG_ERR, EVENTLOG_LISTENER_FAILED,
					    "service", "modbus-tcp", "reason", msg,
					    NULL);
				return;
			}
			l->fd = fd;
			l->why[0] = '\0';
			l->ev = event_new(gw->base, fd, EV_READ | EV_PERSIST,
			    listener_accept, l);
			if (l->ev == NULL || event_add(l->ev, NULL) < 0) {
				snprintf(l->why, sizeof(l->why), "out of memory");
				return;
			}
			log_info("modbus: listening on %s port %u%s",
			    l->family == AF_INET ? "IPv4" : "IPv6", l->port,
			    l->priority ? " (priority)" : "");
			return;
		}
	TAILQ_FOREACH(ch, &gw->chans, link)
		if (ch->kind == CH_SERIAL && ch->token == token) {
			ch->token = 0;
			if (fd < 0) {
				chan_down(ch, msg);
				return;
			}
			ser_device_ready(ch, fd);
			return;
		}
	if (fd >= 0)
		close(fd);
}

/* --- agent mode ----------------------------------------------------------- */

/*
 * Agent mode (MGate "data station"): poll commands fill the tag table;
 * the listeners answer from it, by modbus.agent.map.  The agent is one
 * more master on the channels, so transparent fairness applies.  A
 * client's write goes into its tag's write command and is answered when
 * the device confirmed that command.
 */
#define AGENT_BACKOFF_MAX_MS 30000
#define AGENT_WAIT_TICK_MS   50
#define AGENT_NOSTATUS       UINT32_MAX

struct agent_ref {             /* a tag in a command's data */
	uint32_t tag;
	uint16_t at, size;     /* words, or bits for coil/discrete functions */
};

struct agent_wait {            /* a client's write riding on a command */
	TAILQ_ENTRY(agent_wait) link;
	struct mb_master *m;   /* NULL once it has gone */
	uint16_t tid;
	uint8_t unit;
	uint8_t echo[5];       /* fc, address, value or quantity */
	uint64_t deadline;
};
TAILQ_HEAD(agent_waits, agent_wait);

struct agent_cmd {
	const struct policy_modbus_command *pc;
	struct agent *a;
	uint16_t index;
	struct event *timer;
	bool bits;             /* coil/discrete functions */
	bool write;
	bool inflight, dirty, ok;
	unsigned fails;        /* consecutive failed polls */
	uint64_t polls, good, bad, overruns;
	uint64_t started, period_sum, period_n;
	uint64_t due;          /* cyclic: when the next poll is due (us) */
	struct timespec last_ok;
	char last_error[64];
	struct agent_ref *refs, *wrefs;
	size_t n_refs, n_wrefs;
	bool *wset;            /* per wref: its slot in the data holds a value */
	uint16_t words[125];
	uint8_t bitv[(1968 + 7) / 8];
	struct agent_waits inflight_waits, next_waits;
};

struct agent_entry {           /* one tag at an address of the server */
	uint16_t address, size;
	uint32_t tag;          /* AGENT_NOSTATUS: a command's status bit */
	uint32_t cmd;          /* status bit: the command; else its write command or -1 */
};

struct agent {
	struct mbgw *gw;
	struct tags *tags;
	struct mb_master master;
	size_t n_cmds;
	struct agent_cmd *cmds;
	struct agent_entry *tab[4];
	size_t n_tab[4];
	enum policy_mb_bad_quality bad_quality;
	uint32_t write_timeout_ms;
	struct event *wait_timer;
};

static bool
fc_bits(uint8_t fc)
{
	return fc == 1 || fc == 2 || fc == 5 || fc == 15;
}

static void agent_send(struct agent_cmd *c);

static void
agent_finish_waits(struct agent_waits *w, uint8_t code)
{
	struct agent_wait *x;

	while ((x = TAILQ_FIRST(w)) != NULL) {
		TAILQ_REMOVE(w, x, link);
		if (x->m != NULL) {
			if (code == 0)
				master_send(x->m, x->tid, x->unit, x->echo,
				    sizeof(x->echo));
			else
				master_exception(x->m, x->tid, x->unit,
				    x->echo[0], code);
		}
		free(x);
	}
}

static void
agent_schedule(struct agent_cmd *c, uint64_t delay_ms)
{
	if (c->pc->trigger == POLICY_MB_TRIGGER_DISABLED && !c->dirty)
		return;
	c->due = now_us() + delay_ms * 1000u;
	timer_us(c->timer, delay_ms * 1000u);
}

/* Fixed rate: the next poll is due an interval after the last was. */
static void
agent_next(struct agent_cmd *c)
{
	uint64_t now = now_us();

	c->due += (uint64_t)c->pc->interval_ms * 1000u;
	if (c->due < now)
		c->due = now;   /* late: no burst to catch up */
	timer_us(c->timer, c->due - now);
}

/* The answer to command tid (its index), from a slave or the gateway. */
static void
agent_answer(struct mbgw *gw, uint16_t tid, const uint8_t *pdu, size_t len)
{
	struct agent *a = gw->agent;
	struct agent_cmd *c;
	struct timespec ts;
	uint64_t next;
	size_t i;
	bool failed = len >= 2 && (pdu[0] & MODBUS_FUNC_EXCEPTION_BIT);
	uint8_t code = failed ? pdu[1] : 0;

	if (a == NULL || tid >= a->n_cmds)
		return;
	c = &a->cmds[tid];
	c->inflight = false;
	c->polls++;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (failed) {
		/* 0x0A, 0x0B, 0x06 come from the gateway: the line failed. */
		bool comm = code == MODBUS_EX_GATEWAY_PATH_UNAVAILABLE ||
		    code == MODBUS_EX_GATEWAY_TARGET_FAILED ||
		    code == MODBUS_EX_SERVER_DEVICE_BUSY;

		c->bad++;
		c->fails++;
		c->ok = false;
		snprintf(c->last_error, sizeof(c->last_error), comm ?
		    "no answer (exception 0x%02X)" : "device exception 0x%02X",
		    code);
		for (i = 0; i < c->n_refs; i++)
			(void)tags_set_bad(a->tags, c->refs[i].tag, comm ?
			    TAG_REASON_COMM_FAILURE : TAG_REASON_DEVICE_EXCEPTION,
			    comm ? 0 : code, &ts);
		agent_finish_waits(&c->inflight_waits, comm ?
		    MODBUS_EX_GATEWAY_TARGET_FAILED : code);
	} else {
		c->good++;
		c->fails = 0;
		c->ok = true;
		c->last_ok = ts;
		c->last_error[0] = '\0';
		for (i = 0; i < c->n_refs && !c->write; i++) {
			const struct agent_ref *r = &c->refs[i];
			const struct tag_def *d = tags_def(a->tags, r->tag);
			struct tag_value v;
			uint16_t w[125];
			size_t k;

			if (c->bits) {
				if (len < 2 + (size_t)(r->at / 8) + 1)
					continue;
				(void)tags_set(a->tags, r->tag, tag_in_bool(
				    (pdu[2 + r->at / 8] >> (r->at % 8)) & 1), &ts);
				continue;
			}
			if (len < 2 + 2u * ((size_t)r->at + r->size))
				continue;
			for (k = 0; k < r->size; k++)
				w[k] = (uint16_t)(pdu[2 + 2 * (r->at + k)] << 8 |
				    pdu[3 + 2 * (r->at + k)]);
			if (d->type == TAG_BOOL)
				(void)tags_set(a->tags, r->tag, tag_in_bool(w[0] != 0),
				    &ts);
			else if (tag_decode(d->type, d->length,
			    (enum tag_swap)c->pc->swap, w, r->size, &v) == 0)
				(void)tags_set_value(a->tags, r->tag, &v, &ts);
			else
				(void)tags_set_bad(a->tags, r->tag,
				    TAG_REASON_OUT_OF_RANGE, 0, &ts);
		}
		agent_finish_waits(&c->inflight_waits, 0);
	}
	/* A write that arrived meanwhile goes now, with the new data. */
	if (c->dirty) {
		agent_send(c);
		return;
	}
	if (c->pc->trigger != POLICY_MB_TRIGGER_CYCLIC)
		return;
	if (failed) {
		next = (uint64_t)c->pc->interval_ms << (c->fails < 6 ? c->fails :
		    6);
		if (next > AGENT_BACKOFF_MAX_MS && c->pc->interval_ms <
		    AGENT_BACKOFF_MAX_MS)
			next = AGENT_BACKOFF_MAX_MS;
		agent_schedule(c, next);
	} else
		agent_next(c);
}

/* Build and queue the command's request. */
static void
agent_send(struct agent_cmd *c)
{
	const struct policy_modbus_command *pc = c->pc;
	struct agent *a = c->a;
	struct mb_chan *ch = chan_find(a->gw, pc->channel);
	uint8_t pdu[MODBUS_MAX_PDU];
	size_t n = 0, i, nb;
	uint64_t now = now_us();

	if (c->started != 0) {
		c->period_sum += now - c->started;
		c->period_n++;
	}
	c->started = now;
	/* What it sends is what the waits now ride on. */
	TAILQ_CONCAT(&c->inflight_waits, &c->next_waits, link);
	c->dirty = false;
	pdu[n++] = pc->function;
	pdu[n++] = (uint8_t)(pc->address >> 8);
	pdu[n++] = (uint8_t)pc->address;
	switch (pc->function) {
	case 5:
		pdu[n++] = (c->bitv[0] & 1) ? 0xFF : 0x00;
		pdu[n++] = 0;
		break;
	case 6:
		pdu[n++] = (uint8_t)(c->words[0] >> 8);
		pdu[n++] = (uint8_t)c->words[0];
		break;
	case 15:
		nb = ((size_t)pc->quantity + 7) / 8;
		pdu[n++] = (uint8_t)(pc->quantity >> 8);
		pdu[n++] = (uint8_t)pc->quantity;
		pdu[n++] = (uint8_t)nb;
		memcpy(pdu + n, c->bitv, nb);
		n += nb;
		break;
	case 16:
	case 23:
		pdu[n++] = (uint8_t)(pc->quantity >> 8);
		pdu[n++] = (uint8_t)pc->quantity;
		nb = pc->quantity;
		if (pc->function == 23) {
			pdu[n++] = (uint8_t)(pc->write_address >> 8);
			pdu[n++] = (uint8_t)pc->write_address;
			pdu[n++] = (uint8_t)(pc->write_quantity >> 8);
			pdu[n++] = (uint8_t)pc->write_quantity;
			nb = pc->write_quantity;
		}
		pdu[n++] = (uint8_t)(2 * nb);
		for (i = 0; i < nb; i++) {
			pdu[n++] = (uint8_t)(c->words[i] >> 8);
			pdu[n++] = (uint8_t)c->words[i];
		}
		break;
	default:                        /* 1 2 3 4: quantity */
		pdu[n++] = (uint8_t)(pc->quantity >> 8);
		pdu[n++] = (uint8_t)pc->quantity;
		break;
	}
	c->inflight = true;
	if (ch == NULL || ch->slave_role) {
		/* The checker resolves channels; this is a removed one. */
		uint8_t ex[2] = { (uint8_t)(pc->function | 0x80),
		    MODBUS_EX_GATEWAY_PATH_UNAVAILABLE };

		agent_answer(a->gw, c->index, ex, sizeof(ex));
		return;
	}
	chan_enqueue(&a->master, ch, c->index, pc->unit, pc->unit, pdu, n,
	    pc->retries);
}

static void
agent_due(evutil_socket_t fd, short what, void *arg)
{
	struct agent_cmd *c = arg;
	struct timespec ts;
	size_t i;

	(void)fd;
	(void)what;
	if (c->inflight) {
		/* The line cannot keep up with this interval. */
		c->overruns++;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (i = 0; i < c->n_refs && !c->write; i++)
			(void)tags_poll_missed(c->a->tags, c->refs[i].tag, &ts);
		agent_next(c);
		return;
	}
	agent_send(c);
}

/* Writes wait at most write_timeout_ms for their command. */
static void
agent_wait_tick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	uint64_t now = now_us();
	struct agent_wait *x, *nx;
	size_t i;
	bool any = false;
	struct agent_waits *lists[2];
	int l;

	(void)fd;
	(void)what;
	for (i = 0; i < a->n_cmds; i++) {
		lists[0] = &a->cmds[i].inflight_waits;
		lists[1] = &a->cmds[i].next_waits;
		for (l = 0; l < 2; l++)
			for (x = TAILQ_FIRST(lists[l]); x != NULL; x = nx) {
				nx = TAILQ_NEXT(x, link);
				if (now < x->deadline) {
					any = true;
					continue;
				}
				TAILQ_REMOVE(lists[l], x, link);
				if (x->m != NULL)
					master_exception(x->m, x->tid, x->unit,
					    x->echo[0],
					    MODBUS_EX_GATEWAY_TARGET_FAILED);
				free(x);
			}
	}
	if (any)
		timer_us(a->wait_timer, AGENT_WAIT_TICK_MS * 1000u);
}

static void
agent_forget(struct mbgw *gw, struct mb_master *m)
{
	struct agent *a = gw->agent;
	struct agent_wait *x;
	size_t i;

	for (i = 0; a != NULL && i < a->n_cmds; i++) {
		TAILQ_FOREACH(x, &a->cmds[i].inflight_waits, link)
			if (x->m == m)
				x->m = NULL;
		TAILQ_FOREACH(x, &a->cmds[i].next_waits, link)
			if (x->m == m)
				x->m = NULL;
	}
}

/* The entry of table holding address, or NULL (sorted, disjoint). */
static const struct agent_entry *
agent_lookup(const struct agent *a, unsigned table, uint32_t address)
{
	size_t lo = 0, hi = a->n_tab[table];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct agent_entry *e = &a->tab[table][mid];

		if (address < e->address)
			hi = mid;
		else if (address >= (uint32_t)e->address + e->size)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

/* Words (or bit) of an entry's current value; false: answer 0x04. */
static bool
agent_value(const struct agent *a, const struct agent_entry *e,
    uint16_t *w)
{
	struct tag_state st;
	const struct tag_def *d;

	if (e->tag == AGENT_NOSTATUS) {
		w[0] = a->cmds[e->cmd].ok;
		return true;
	}
	if (tags_get(a->tags, e->tag, &st) < 0)
		return false;
	if (st.quality == TAG_QUALITY_BAD &&
	    (a->bad_quality == POLICY_MB_BAD_EXCEPTION ||
	    st.reason == TAG_REASON_WAITING))
		return false;
	d = tags_def(a->tags, e->tag);
	if (d->type == TAG_BOOL) {
		w[0] = st.raw.b ? 1 : 0;
		return true;
	}
	return tag_encode(&st.raw, d->length, TAG_SWAP_NONE, w, e->size) == 0;
}

static const unsigned fc_table[] = {
	[1] = POLICY_MB_COILS, [2] = POLICY_MB_DISCRETE_INPUTS,
	[3] = POLICY_MB_HOLDING_REGISTERS, [4] = POLICY_MB_INPUT_REGISTERS,
	[5] = POLICY_MB_COILS, [6] = POLICY_MB_HOLDING_REGISTERS,
	[15] = POLICY_MB_COILS, [16] = POLICY_MB_HOLDING_REGISTERS,
};

/* A read, answered from memory. */
static void
agent_read(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu)
{
	struct agent *a = m->gw->agent;
	unsigned table = fc_table[pdu[0]];
	uint32_t addr = (uint32_t)(pdu[1] << 8 | pdu[2]);
	uint32_t qty = (uint32_t)(pdu[3] << 8 | pdu[4]), i;
	uint8_t out[MODBUS_MAX_PDU];
	uint16_t w[128];
	size_t n = 2;
	const struct agent_entry *e;

	memset(out, 0, sizeof(out));
	out[0] = pdu[0];
	for (i = 0; i < qty; ) {
		e = agent_lookup(a, table, addr + i);
		if (e == NULL) {
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_ILLEGAL_DATA_ADDRESS);
			return;
		}
		if (!agent_value(a, e, w)) {
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_SERVER_DEVICE_FAILURE);
			return;
		}
		if (pdu[0] <= 2) {             /* bits: an entry is one bit */
			if (w[0])
				out[2 + i / 8] |= (uint8_t)(1u << (i % 8));
			i++;
			continue;
		}
		/* Registers: the requested part of this tag's words. */
		for (; i < qty && addr + i < (uint32_t)e->address + e->size;
		    i++) {
			uint16_t v = w[addr + i - e->address];

			out[2 + 2 * i] = (uint8_t)(v >> 8);
			out[3 + 2 * i] = (uint8_t)v;
		}
	}
	n = pdu[0] <= 2 ? 2 + (qty + 7) / 8 : 2 + 2 * (size_t)qty;
	out[1] = (uint8_t)(n - 2);
	master_send(m, tid, unit, out, n);
}

/* Put a tag's raw value into its slot of write command c's data. */
static int
agent_place(struct agent_cmd *c, size_t r, const struct tag_def *d,
    const struct tag_value *v)
{
	uint16_t at = c->wrefs[r].at;

	if (c->bits) {
		if (v->b)
			c->bitv[at / 8] |= (uint8_t)(1u << (at % 8));
		else
			c->bitv[at / 8] &= (uint8_t)~(1u << (at % 8));
	} else if (d->type == TAG_BOOL)
		c->words[at] = v->b ? 1 : 0;
	else if (tag_encode(v, d->length, (enum tag_swap)c->pc->swap,
	    c->words + at, c->wrefs[r].size) < 0)
		return -1;
	c->wset[r] = true;
	return 0;
}

/*
 * A write: into its tags' write command, answered when the device
 * confirmed that command.  Whole tags of one write command only; the
 * command's other tags go with the values they last had (never a made-up
 * zero: without one, the write is refused with 0x04).
 */
static void
agent_write(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len)
{
	struct agent *a = m->gw->agent;
	unsigned table = fc_table[pdu[0]];
	uint32_t addr = (uint32_t)(pdu[1] << 8 | pdu[2]), qty, i;
	const uint8_t *data;
	struct agent_cmd *c = NULL;
	struct agent_wait *x;
	struct { size_t r; struct tag_value v; } put[125];
	size_t n_put = 0, r, k;
	uint16_t w[128];
	bool mine;

	(void)len;
	if (pdu[0] == 5 || pdu[0] == 6) {
		qty = 1;
		data = pdu + 3;
	} else {
		qty = (uint32_t)(pdu[3] << 8 | pdu[4]);
		data = pdu + 6;
	}
	for (i = 0; i < qty; ) {
		const struct agent_entry *e = agent_lookup(a, table, addr + i);
		const struct tag_def *d;

		if (e == NULL || e->tag == AGENT_NOSTATUS ||
		    e->cmd == UINT32_MAX || addr + i != e->address ||
		    i + e->size > qty || n_put == 125 ||
		    (c != NULL && &a->cmds[e->cmd] != c))
			goto illegal;
		c = &a->cmds[e->cmd];
		for (r = 0; r < c->n_wrefs && c->wrefs[r].tag != e->tag; r++)
			;
		if (r == c->n_wrefs)
			goto illegal;
		d = tags_def(a->tags, e->tag);
		if (pdu[0] == 5)
			w[0] = pdu[3] == 0xFF;
		else if (pdu[0] == 15)
			w[0] = (data[i / 8] >> (i % 8)) & 1;
		else
			for (k = 0; k < e->size; k++)
				w[k] = (uint16_t)(data[2 * (i + k)] << 8 |
				    data[2 * (i + k) + 1]);
		put[n_put].r = r;
		if (d->type == TAG_BOOL) {
			put[n_put].v.type = TAG_BOOL;
			put[n_put].v.b = w[0] != 0;
		} else if (tag_decode(d->type, d->length, TAG_SWAP_NONE, w,
		    e->size, &put[n_put].v) < 0) {
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_ILLEGAL_DATA_VALUE);
			return;
		}
		n_put++;
		i += e->size;
	}
	if (c == NULL)
		goto illegal;
	/* The command's other tags: their last value, or no write at all. */
	for (r = 0; r < c->n_wrefs; r++) {
		struct tag_state st;

		for (k = 0, mine = false; k < n_put; k++)
			mine = mine || put[k].r == r;
		if (mine || c->wset[r])
			continue;
		if (tags_get(a->tags, c->wrefs[r].tag, &st) < 0 ||
		    st.source_ts.tv_sec == 0) {
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_SERVER_DEVICE_FAILURE);
			return;
		}
		if (agent_place(c, r, tags_def(a->tags, c->wrefs[r].tag),
		    &st.raw) < 0)
			goto illegal;
	}
	for (k = 0; k < n_put; k++)
		if (agent_place(c, put[k].r, tags_def(a->tags,
		    c->wrefs[put[k].r].tag), &put[k].v) < 0) {
			master_exception(m, tid, unit, pdu[0],
			    MODBUS_EX_ILLEGAL_DATA_VALUE);
			return;
		}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		master_exception(m, tid, unit, pdu[0],
		    MODBUS_EX_SERVER_DEVICE_FAILURE);
		return;
	}
	x->m = m;
	x->tid = tid;
	x->unit = unit;
	memcpy(x->echo, pdu, 5);
	x->deadline = now_us() + (uint64_t)a->write_timeout_ms * 1000u;
	TAILQ_INSERT_TAIL(&c->next_waits, x, link);
	if (!evtimer_pending(a->wait_timer, NULL))
		timer_us(a->wait_timer, AGENT_WAIT_TICK_MS * 1000u);
	c->dirty = true;
	if (!c->inflight)
		agent_send(c);
	return;
illegal:
	master_exception(m, tid, unit, pdu[0], MODBUS_EX_ILLEGAL_DATA_ADDRESS);
}

static void
agent_serve(struct mb_master *m, uint16_t tid, uint8_t unit,
    const uint8_t *pdu, size_t len)
{
	switch (pdu[0]) {
	case 1: case 2: case 3: case 4:
		agent_read(m, tid, unit, pdu);
		return;
	case 5: case 6: case 15: case 16:
		agent_write(m, tid, unit, pdu, len);
		return;
	default:
		/* FC23 and the diagnostics have no meaning for memory. */
		master_exception(m, tid, unit, pdu[0],
		    MODBUS_EX_ILLEGAL_FUNCTION);
	}
}

static void
agent_free(struct agent *a)
{
	size_t i;
	unsigned t;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_cmds; i++) {
		struct agent_cmd *c = &a->cmds[i];

		if (c->timer != NULL)
			event_free(c->timer);
		/* A policy change ends the writes in flight: 0x0B, not silence. */
		agent_finish_waits(&c->inflight_waits,
		    MODBUS_EX_GATEWAY_TARGET_FAILED);
		agent_finish_waits(&c->next_waits,
		    MODBUS_EX_GATEWAY_TARGET_FAILED);
		free(c->refs);
		free(c->wrefs);
		free(c->wset);
	}
	/* Requests of the agent still on a channel complete into nothing. */
	master_orphan(&a->master);
	free(a->cmds);
	for (t = 0; t < 4; t++)
		free(a->tab[t]);
	if (a->wait_timer != NULL)
		event_free(a->wait_timer);
	tags_free(a->tags);
	free(a);
}

static int
entry_cmp(const void *x, const void *y)
{
	const struct agent_entry *a = x, *b = y;

	return (int)a->address - (int)b->address;
}

/* The agent for p (mode agent), or NULL with err. */
static struct agent *
agent_new(struct mbgw *gw, const struct policy *p, char *err, size_t errlen)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct tag_def *defs = NULL;
	size_t i, k;
	unsigned t;

	if (a == NULL || (defs = calloc(p->n_tags + 1, sizeof(*defs))) == NULL ||
	    (a->cmds = calloc(p->modbus.n_commands + 1,
	    sizeof(*a->cmds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->gw = gw;
	a->bad_quality = p->modbus.agent.bad_quality;
	a->write_timeout_ms = p->modbus.agent.write_timeout_ms;
	a->master.kind = MASTER_AGENT;
	a->master.gw = gw;
	snprintf(a->master.peer, sizeof(a->master.peer), "agent");
	TAILQ_INIT(&a->master.reqs);
	LIST_INIT(&a->master.mqs);
	for (i = 0; i < p->n_tags; i++) {
		const struct policy_tag *pt = &p->tags[i];

		tag_def_init(&defs[i]);
		defs[i].name = pt->name;
		defs[i].type = (enum tag_type)pt->type;
		defs[i].length = pt->length;
		defs[i].scale = pt->scale;
		defs[i].offset = pt->offset;
		defs[i].unit = pt->unit;
		defs[i].writable = pt->write_command[0] != '\0';
		defs[i].stale_after = pt->stale_after;
		defs[i].deadband = pt->deadband;
	}
	a->tags = tags_new(defs, p->n_tags, err, errlen);
	if (a->tags == NULL)
		goto fail;
	a->n_cmds = p->modbus.n_commands;
	for (i = 0; i < a->n_cmds; i++) {
		struct agent_cmd *c = &a->cmds[i];

		c->pc = &p->modbus.commands[i];
		c->a = a;
		c->index = (uint16_t)i;
		c->bits = fc_bits(c->pc->function);
		c->write = c->pc->function == 5 || c->pc->function == 6 ||
		    c->pc->function == 15 || c->pc->function == 16;
		TAILQ_INIT(&c->inflight_waits);
		TAILQ_INIT(&c->next_waits);
		c->refs = calloc(p->n_tags + 1, sizeof(*c->refs));
		c->wrefs = calloc(p->n_tags + 1, sizeof(*c->wrefs));
		c->wset = calloc(p->n_tags + 1, sizeof(*c->wset));
		c->timer = evtimer_new(gw->base, agent_due, c);
		if (c->refs == NULL || c->wrefs == NULL || c->wset == NULL ||
		    c->timer == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	/* Tags into their commands (the checker made them fit). */
	for (i = 0; i < p->n_tags; i++) {
		const struct policy_tag *pt = &p->tags[i];
		uint32_t id;
		uint16_t size;

		if (tags_find(a->tags, pt->name, &id) < 0)
			continue;
		size = (uint16_t)tag_type_words((enum tag_type)pt->type,
		    pt->length);
		if (pt->command_index >= 0 &&
		    (size_t)pt->command_index < a->n_cmds) {
			struct agent_cmd *c = &a->cmds[pt->command_index];

			c->refs[c->n_refs++] = (struct agent_ref){ id, pt->at,
			    c->bits ? 1 : size };
		}
		if (pt->write_command_index >= 0 &&
		    (size_t)pt->write_command_index < a->n_cmds) {
			struct agent_cmd *c = &a->cmds[pt->write_command_index];

			c->wrefs[c->n_wrefs++] = (struct agent_ref){ id,
			    pt->write_at, c->bits ? 1 : size };
		}
	}
	/* The server's tables, sorted by address. */
	for (t = 0; t < 4; t++) {
		a->tab[t] = calloc(p->modbus.agent.n_map + p->modbus.n_commands +
		    1, sizeof(*a->tab[t]));
		if (a->tab[t] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (i = 0; i < p->modbus.agent.n_map; i++) {
		const struct policy_modbus_map_entry *me = &p->modbus.agent.map[i];
		const struct policy_tag *pt;
		struct agent_entry *e;

		if (me->tag_index < 0 || (size_t)me->tag_index >= p->n_tags ||
		    me->table > 3)
			continue;
		pt = &p->tags[me->tag_index];
		e = &a->tab[me->table][a->n_tab[me->table]++];
		e->address = me->address;
		if (tags_find(a->tags, pt->name, &e->tag) < 0)
			e->tag = 0;
		e->size = me->table <= POLICY_MB_DISCRETE_INPUTS ? 1 :
		    (uint16_t)tag_type_words((enum tag_type)pt->type,
		    pt->length);
		e->cmd = pt->write_command_index >= 0 &&
		    (me->table == POLICY_MB_COILS ||
		    me->table == POLICY_MB_HOLDING_REGISTERS) ?
		    (uint32_t)pt->write_command_index : UINT32_MAX;
	}
	if (p->modbus.agent.status.enabled && p->modbus.agent.status.table <= 3) {
		t = p->modbus.agent.status.table;
		for (k = 0; k < a->n_cmds; k++) {
			struct agent_entry *e = &a->tab[t][a->n_tab[t]++];

			/* A bit per command; in registers, a register per command. */
			e->address = (uint16_t)(p->modbus.agent.status.address + k);
			e->size = 1;
			e->tag = AGENT_NOSTATUS;
			e->cmd = (uint32_t)k;
		}
	}
	for (t = 0; t < 4; t++)
		qsort(a->tab[t], a->n_tab[t], sizeof(a->tab[t][0]), entry_cmp);
	a->wait_timer = evtimer_new(gw->base, agent_wait_tick, a);
	if (a->wait_timer == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	free(defs);
	return a;
fail:
	free(defs);
	agent_free(a);
	return NULL;
}

/* Start polling: cyclic commands spread over their first interval. */
static void
agent_start(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->n_cmds; i++) {
		struct agent_cmd *c = &a->cmds[i];
		uint64_t spread = a->n_cmds > 1 ?
		    (uint64_t)c->pc->interval_ms * i / a->n_cmds : 0;

		if (c->pc->trigger == POLICY_MB_TRIGGER_CYCLIC)
			agent_schedule(c, c->pc->initial_delay_ms + spread);
	}
}

static json_t *
agent_json(const struct agent *a)
{
	json_t *cmds = json_array();
	size_t i;

	for (i = 0; i < a->n_cmds; i++) {
		const struct agent_cmd *c = &a->cmds[i];
		char when[32] = "";
		struct tm tm;

		if (c->last_ok.tv_sec != 0) {
			gmtime_r(&c->last_ok.tv_sec, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		json_array_append_new(cmds, json_pack(
		    "{s:s s:s s:i s:i s:b s:I s:I s:I s:I s:s s:s s:i s:f}",
		    "name", c->pc->name, "channel", c->pc->channel,
		    "unit", c->pc->unit, "function", c->pc->function,
		    "ok", c->ok, "polls", (json_int_t)c->polls,
		    "good", (json_int_t)c->good, "bad", (json_int_t)c->bad,
		    "overruns", (json_int_t)c->overruns,
		    "last_ok", when, "last_error", c->last_error,
		    "interval_ms", (int)c->pc->interval_ms,
		    "period_ms", c->period_n > 0 ? (double)c->period_sum /
		    (double)c->period_n / 1000.0 : 0.0));
	}
	return json_pack("{s:o s:I}", "commands", cmds,
	    "tags", (json_int_t)tags_count(a->tags));
}

json_t *
mbgw_tags(const struct mbgw *gw)
{
	const struct agent *a = gw->agent;
	json_t *arr = json_array();
	struct tag_state st;
	uint32_t i;

	for (i = 0; a != NULL && i < tags_count(a->tags); i++) {
		const struct tag_def *d = tags_def(a->tags, i);
		json_t *o;

		if (tags_get(a->tags, i, &st) < 0)
			continue;
		o = json_pack("{s:s s:s s:s s:s s:I}", "name", d->name,
		    "type", tag_type_name(d->type),
		    "quality", tag_quality_name(st.quality),
		    "reason", tag_reason_name(st.reason),
		    "source_time", (json_int_t)st.source_ts.tv_sec);
		if (d->type == TAG_STRING)
			json_object_set_new(o, "value", json_stringn(
			    (const char *)st.raw.s, st.raw.len));
		else if (d->type == TAG_BOOL)
			json_object_set_new(o, "value", json_boolean(st.raw.b));
		else
			json_object_set_new(o, "value", json_real(st.eng));
		if (d->unit != NULL && d->unit[0] != '\0')
			json_object_set_new(o, "unit", json_string(d->unit));
		if (st.code != 0)
			json_object_set_new(o, "code", json_integer(st.code));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* --- configuration ----------------------------------------------------- */

static bool
serial_same(const struct policy_modbus_serial *a,
    const struct policy_modbus_serial *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static bool
tcp_same(const struct policy_modbus_tcp *a, const struct policy_modbus_tcp *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

struct mbgw *
mbgw_new(struct event_base *base, const struct mbgw_ops *ops)
{
	struct mbgw *gw = calloc(1, sizeof(*gw));

	if (gw == NULL)
		return NULL;
	gw->base = base;
	gw->ops = *ops;
	TAILQ_INIT(&gw->listeners);
	TAILQ_INIT(&gw->chans);
	TAILQ_INIT(&gw->conns);
	gw->max_conns = 256;
	return gw;
}

int
mbgw_configure(struct mbgw *gw, const struct policy *p,
    struct policy_error *err)
{
	const struct policy_service *svc = &p->services[REGISTRY_MODBUS_TCP];
	struct policy_modbus_route *routes = NULL;
	uint64_t *hits;
	struct agent *na = NULL;
	struct mb_listener *l, *lnext;
	struct mb_chan *ch, *cnext;
	size_t i;
	int f, e;
	static const int fams[2] = { AF_INET, AF_INET6 };

	/* Everything that can fail first, so a failure changes nothing. */
	if (p->modbus.mode == POLICY_MODBUS_AGENT) {
		char aerr[256];

		if ((na = agent_new(gw, p, aerr, sizeof(aerr))) == NULL) {
			snprintf(err->msg, sizeof(err->msg), "modbus: agent: %s",
			    aerr);
			return -1;
		}
	}
	hits = calloc(p->modbus.firewall.n_rules + 1, sizeof(uint64_t));
	if (p->modbus.n_routes > 0 && hits != NULL) {
		routes = calloc(p->modbus.n_routes, sizeof(*routes));
		if (routes != NULL)
			memcpy(routes, p->modbus.routes,
			    p->modbus.n_routes * sizeof(*routes));
	}
	if (hits == NULL || (p->modbus.n_routes > 0 && routes == NULL)) {
		free(hits);
		agent_free(na);
		snprintf(err->msg, sizeof(err->msg), "modbus: out of memory");
		return -1;
	}
	free(gw->routes);
	gw->routes = routes;
	gw->n_routes = p->modbus.n_routes;
	/* Rule counters start again with the rules. */
	free(gw->fw_hits);
	gw->fw_hits = hits;
	gw->policy = p;
	gw->max_conns = p->modbus.listeners.max_connections;
	gw->idle_s = p->modbus.listeners.idle_timeout_s;
	gw->exceptions = p->modbus.listeners.exceptions;
	gw->malformed = p->modbus.listeners.malformed;

	/* Channels: keep the unchanged, drop the rest, add the new. */
	TAILQ_FOREACH(ch, &gw->chans, link)
		ch->removed = true;
	for (i = 0; i < p->modbus.n_serial; i++)
		TAILQ_FOREACH(ch, &gw->chans, link)
			if (ch->kind == CH_SERIAL &&
			    serial_same(&ch->scfg, &p->modbus.serial[i]))
				ch->removed = false;
	for (i = 0; i < p->modbus.n_tcp; i++)
		TAILQ_FOREACH(ch, &gw->chans, link)
			if (ch->kind == CH_TCP &&
			    tcp_same(&ch->tcfg, &p->modbus.tcp[i]))
				ch->removed = false;
	for (ch = TAILQ_FIRST(&gw->chans); ch != NULL; ch = cnext) {
		cnext = TAILQ_NEXT(ch, link);
		if (ch->removed) {
			TAILQ_REMOVE(&gw->chans, ch, link);
			chan_free(ch);
		}
	}
	for (i = 0; i < p->modbus.n_serial + p->modbus.n_tcp; i++) {
		const struct policy_modbus_serial *s = i < p->modbus.n_serial ?
		    &p->modbus.serial[i] : NULL;
		const struct policy_modbus_tcp *t = s == NULL ?
		    &p->modbus.tcp[i - p->modbus.n_serial] : NULL;

		if (chan_find(gw, s != NULL ? s->name : t->name) != NULL)
			continue;
		ch = chan_new(gw, s, t);
		if (ch == NULL) {
			log_error("modbus: channel %s: out of memory",
			    s != NULL ? s->name : t->name);
			continue;
		}
		TAILQ_INSERT_TAIL(&gw->chans, ch, link);
		chan_open(ch);
	}

	/* Listeners: ports of services.modbus-tcp, IPv4 and IPv6. */
	TAILQ_FOREACH(l, &gw->listeners, link)
		l->keep = false;
	for (e = 0; svc->enabled && e < 2; e++)
		for (f = 0; f < 2; f++) {
			uint16_t port = svc->ports[e];

			if (port == 0)
				continue;
			TAILQ_FOREACH(l, &gw->listeners, link)
				if (l->family == fams[f] && l->port == port)
					break;
			if (l == NULL) {
				l = calloc(1, sizeof(*l));
				if (l == NULL)
					continue;
				l->gw = gw;
				l->family = fams[f];
				l->port = port;
				l->fd = -1;
				TAILQ_INSERT_TAIL(&gw->listeners, l, link);
				listener_request(l);
			}
			l->keep = true;
			l->priority = e == 1;
		}
	for (l = TAILQ_FIRST(&gw->listeners); l != NULL; l = lnext) {
		lnext = TAILQ_NEXT(l, link);
		if (!l->keep) {
			TAILQ_REMOVE(&gw->listeners, l, link);
			listener_free(l);
		}
	}
	/* Connections on a port whose role changed follow it. */
	{
		struct mb_master *m;

		TAILQ_FOREACH(m, &gw->conns, link)
			TAILQ_FOREACH(l, &gw->listeners, link)
				if (l->port == m->port)
					m->priority = l->priority;
	}
	/*
	 * Agent mode: a new agent per policy; its tags start waiting and
	 * are read again.  The old one's requests finish into nothing.
	 */
	agent_free(gw->agent);
	gw->agent = na;
	if (na != NULL)
		agent_start(na);
	/* A tighter cap applies at the next accept; idle timeouts likewise. */
	return 0;
}

void
mbgw_free(struct mbgw *gw)
{
	struct mb_listener *l;
	struct mb_chan *ch;
	struct mb_master *m;

	if (gw == NULL)
		return;
	while ((m = TAILQ_FIRST(&gw->conns)) != NULL)
		master_close(m, "shutdown");
	agent_free(gw->agent);
	gw->agent = NULL;
	while ((l = TAILQ_FIRST(&gw->listeners)) != NULL) {
		TAILQ_REMOVE(&gw->listeners, l, link);
		listener_free(l);
	}
	while ((ch = TAILQ_FIRST(&gw->chans)) != NULL) {
		TAILQ_REMOVE(&gw->chans, ch, link);
		chan_free(ch);
	}
	if (gw->dns != NULL)
		evdns_base_free(gw->dns, 0);
	if (gw->cap.idle != NULL)
		event_free(gw->cap.idle);
	free(gw->cap.ring);
	free(gw->routes);
	free(gw->fw_hits);
	free(gw);
}

/* --- diagnostics ------------------------------------------------------- */

static const char *
state_name(const struct mb_chan *ch)
{
	switch (ch->state) {
	case CS_DOWN:
		return ch->kind == CH_TCP && ch->down_why[0] == '\0' ?
		    "idle" : "down";
	case CS_OPENING:
		return ch->kind == CH_TCP ? "connecting" : "opening";
	case CS_INIT:
		return "initial-delay";
	case CS_IDLE:
		return "up";
	default:
		return "busy";
	}
}

json_t *
mbgw_stats(const struct mbgw *gw)
{
	json_t *o, *ls, *cs, *ms, *c, *ss, *s;
	const struct mb_listener *l;
	const struct mb_chan *ch;
	const struct mb_master *m;
	struct mb_stats tot;
	unsigned u;

	o = json_object();
	ls = json_array();
	TAILQ_FOREACH(l, &gw->listeners, link)
		json_array_append_new(ls, json_pack("{s:s s:i s:b s:s s:s}",
		    "family", l->family == AF_INET ? "ipv4" : "ipv6",
		    "port", (int)l->port, "priority", l->priority,
		    "state", l->fd >= 0 ? "listening" : "not listening",
		    "reason", l->why));
	json_object_set_new(o, "listeners", ls);
	json_object_set_new(o, "connections", json_pack("{s:i s:i s:I s:I s:I}",
	    "open", (int)gw->n_conns, "max", (int)gw->max_conns,
	    "accepted", (json_int_t)gw->accepted,
	    "refused", (json_int_t)gw->refused,
	    "evicted", (json_int_t)gw->evicted));
	/* The masters' side, plus what only the channels see. */
	tot = gw->st;
	TAILQ_FOREACH(ch, &gw->chans, link) {
		tot.timeouts += ch->st.timeouts;
		tot.retries += ch->st.retries;
		tot.crc_errors += ch->st.crc_errors;
		tot.frame_errors += ch->st.frame_errors;
		tot.late += ch->st.late;
		tot.depth += ch->st.depth;
		if (ch->st.depth_max > tot.depth_max)
			tot.depth_max = ch->st.depth_max;
	}
	json_object_set_new(o, "total", stats_json(&tot));
	if (gw->policy != NULL && gw->fw_hits != NULL) {
		const struct policy *p = gw->policy;
		json_t *rules = json_array();
		size_t i;

		for (i = 0; i < p->modbus.firewall.n_rules; i++)
			json_array_append_new(rules, json_pack("{s:s s:s s:I}",
			    "name", p->modbus.firewall.rules[i].name,
			    "action", p->modbus.firewall.rules[i].action ==
			    POLICY_MBFW_ALLOW ? "allow" : "deny",
			    "hits", (json_int_t)gw->fw_hits[i]));
		json_object_set_new(o, "firewall", json_pack("{s:s s:I s:o}",
		    "default", p->modbus.firewall.default_action ==
		    POLICY_MBFW_ALLOW ? "allow" : "deny",
		    "default_hits", (json_int_t)gw->fw_hits[i],
		    "rules", rules));
	}
	cs = json_array();
	TAILQ_FOREACH(ch, &gw->chans, link) {
		c = json_pack("{s:s s:s s:s s:s s:s}", "name", ch->name,
		    "kind", ch->kind == CH_TCP ? "tcp" : ch->slave_role ?
		    "serial-slave" : "serial",
		    "device", ch->kind == CH_SERIAL ? ch->scfg.device :
		    ch->tcfg.host, "state", state_name(ch),
		    "reason", ch->down_why);
		if (c == NULL)
			continue;
		if (ch->kind == CH_SERIAL)
			json_object_set_new(c, "rs485", json_string(
			    ch->fd < 0 ? "-" : ch->mode == SERIAL_MODE_KERNEL ?
			    "kernel" : ch->mode == SERIAL_MODE_RTS ? "rts" :
			    "off"));
		json_object_set_new(c, "stats", stats_json(&ch->st));
		ss = json_array();
		for (u = 0; u < 256; u++) {
			if (ch->slaves[u] == NULL)
				continue;
			s = stats_json(&ch->slaves[u]->st);
			json_object_set_new(s, "unit", json_integer(u));
			json_object_set_new(s, "dead",
			    json_boolean(ch->slaves[u]->dead));
			json_array_append_new(ss, s);
		}
		json_object_set_new(c, "slaves", ss);
		if (ch->smaster != NULL)
			json_object_set_new(c, "master",
			    stats_json(&ch->smaster->st));
		json_array_append_new(cs, c);
	}
	json_object_set_new(o, "channels", cs);
	ms = json_array();
	TAILQ_FOREACH(m, &gw->conns, link) {
		s = stats_json(&m->st);
		json_object_set_new(s, "peer", json_string(m->peer));
		json_object_set_new(s, "port", json_integer(m->port));
		json_object_set_new(s, "pending", json_integer(m->n_reqs));
		json_array_append_new(ms, s);
		if (json_array_size(ms) >= 1024)
			break;     /* the first 1024 is enough for a human */
	}
	json_object_set_new(o, "masters", ms);
	if (gw->agent != NULL)
		json_object_set_new(o, "agent", agent_json(gw->agent));
	return o;
}

size_t
mbgw_listening(const struct mbgw *gw)
{
	const struct mb_listener *l;
	size_t n = 0;

	TAILQ_FOREACH(l, &gw->listeners, link)
		if (l->fd >= 0)
			n++;
	return n;
}
