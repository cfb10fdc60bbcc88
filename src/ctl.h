/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctl.h - the local control socket server (framing in ctl_proto.h).
 *
 * A Unix stream socket in the state directory, mode 0660.  Each
 * connection carries one request at a time: the next one is not read
 * until the handler has replied, which it may do later (asynchronously).
 * Connections are capped in number, bytes and idle time.
 */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H

#include <sys/types.h>

#include <jansson.h>

#include "ctl_proto.h"

#define CTL_MAX_CONNS    16
#define CTL_IDLE_TIMEOUT 60     /* seconds without a complete request */

struct event_base;
struct ctl_server;
struct ctl_conn;

/* Called once per valid request.  The handler must eventually call
 * ctl_conn_reply(conn, ...) exactly once. */
typedef void (*ctl_handler_fn)(struct ctl_conn *conn,
    const struct ctl_request *req, void *arg);

/* Bind path (replacing a stale socket) and serve.  NULL on failure (logged). */
struct ctl_server *ctl_server_new(struct event_base *base, const char *path,
    ctl_handler_fn handler, void *arg);
/* Close every connection (pending replies are dropped) and unlink path. */
void ctl_server_free(struct ctl_server *srv);

/* Send reply (stolen) and read the next request.  Safe when the peer has
 * gone: the reply is dropped and the connection freed. */
void ctl_conn_reply(struct ctl_conn *conn, json_t *reply);
/* "uid=N pid=N" of the peer (SO_PEERCRED), for the event log. */
const char *ctl_conn_peer(const struct ctl_conn *conn);
/* Where the request came from for the event log: "control socket", or an
 * internal connection's from. */
const char *ctl_conn_from(const struct ctl_conn *conn);

/*
 * A connection without a socket, for requests the engine makes on
 * behalf of another front end (the HTTPS console): the handler's one
 * ctl_conn_reply() calls fn(arg, reply) (reply stolen) and frees it.
 * peer is who asks ("alice"), from where ("console 192.0.2.7").
 */
struct ctl_conn *ctl_conn_internal(const char *peer, const char *from,
    void (*fn)(void *arg, json_t *reply), void *arg);

#endif
