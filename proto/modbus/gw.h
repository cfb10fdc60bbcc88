/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gw.h - the Modbus gateway, transparent mode, on the engine's loop.
 *
 * Modbus TCP masters (listeners on services.modbus-tcp's ports) and
 * serial masters (serial channels with role: slave) send requests; each
 * is validated (modbus.h), routed by listening port and unit id to a
 * serial channel (one request on the line at a time) or a TCP channel
 * (pipelined, own transaction ids), and the answer goes back to the
 * master that asked, with its transaction id and unit id.
 *
 * Queueing per channel: one FIFO per master (at most MBGW_QUEUE_MAX),
 * served round-robin, requests from the priority port first.  A slave
 * that stopped answering is probed with one request at a time, without
 * retries, at most once per MBGW_PROBE_FACTOR response timeouts; the
 * other requests for it are answered 0x0B at once, so a dead slave
 * costs the line at most a fifth of its time.
 *
 * Nothing here blocks: sockets and serial devices come from the
 * privileged monitor through the ops (replies via mbgw_fd_ready), the
 * end of a transmission is polled (TIOCOUTQ) instead of tcdrain().
 */
#ifndef SLUICE_MODBUS_GW_H
#define SLUICE_MODBUS_GW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct policy;
struct policy_error;
struct sockaddr;

#define MBGW_QUEUE_MAX     32    /* requests per master per channel */
#define MBGW_TCP_INFLIGHT  32    /* outstanding requests per TCP channel */
#define MBGW_PROBE_FACTOR  4     /* dead slave: one probe per 4 timeouts */
#define MBGW_TURNAROUND_MS 100   /* after a broadcast (serial line 2.4.1) */

struct mbgw;

/* What the gateway needs from the core. */
struct mbgw_ops {
	/*
	 * Ask for a listening TCP socket on port (any address of family);
	 * the answer comes later through mbgw_fd_ready with token.
	 * Returns 0, or -1 when the request could not be sent.
	 */
	int (*open_listen)(void *arg, int family, uint16_t port,
	    uint32_t token);
	/* Ask for the serial device at path, opened; as open_listen. */
	int (*open_device)(void *arg, const char *path, uint32_t token);
	/*
	 * The accessible-IP verdict for a new connection from peer to
	 * dport: true admits; on refusal why says which rule.
	 */
	bool (*admit)(void *arg, const struct sockaddr *peer, uint16_t dport,
	    char *why, size_t whylen);
	void *arg;
};

struct mbgw *mbgw_new(struct event_base *base, const struct mbgw_ops *ops);
/* Closes every socket and device; requests in flight are dropped. */
void mbgw_free(struct mbgw *gw);

/*
 * Reconfigure to p (already validated).  Channels whose settings did not
 * change keep their device, connection and queues; removed or changed
 * ones answer their queued requests with 0x0B and close.  Listeners
 * and devices that need the monitor come up afterwards.  Returns 0, or
 * -1 with err (out of memory only: nothing was changed).
 */
int mbgw_configure(struct mbgw *gw, const struct policy *p,
    struct policy_error *err);

/*
 * The monitor's answer to an open_listen/open_device request: fd >= 0
 * (the gateway owns it from now), or -1 with err (an errno value) and
 * msg.  An answer nobody waits for any more is closed.
 */
void mbgw_fd_ready(struct mbgw *gw, uint32_t token, int fd, int err,
    const char *msg);

/* Counters of listeners, channels, slaves and masters: a new object. */
json_t *mbgw_stats(const struct mbgw *gw);

/*
 * Traffic capture, on demand: the first call starts recording every
 * frame on every wire (master connections, serial lines, TCP slaves)
 * into a ring of MBGW_CAPTURE_FRAMES; recording stops, and the ring is
 * freed, MBGW_CAPTURE_IDLE_S after the last call.  Returns a new object
 * {"next": SEQ, "dropped": N, "frames": [...]} with at most max frames
 * of sequence number >= after whose channel is channel (NULL: all;
 * "master" names the Modbus TCP masters' side).  dropped counts frames
 * the ring lost before they could be fetched.
 */
#define MBGW_CAPTURE_FRAMES 2048
#define MBGW_CAPTURE_IDLE_S 30
json_t *mbgw_capture(struct mbgw *gw, const char *channel, uint64_t after,
    size_t max);

/*
 * Agent mode's tags: [{name, type, value, unit, quality, reason, code,
 * source_time}], a new array (empty in transparent mode).
 */
json_t *mbgw_tags(const struct mbgw *gw);

/* Whether any listener is up (for status). */
size_t mbgw_listening(const struct mbgw *gw);

#endif /* SLUICE_MODBUS_GW_H */
