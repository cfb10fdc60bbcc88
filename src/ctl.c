/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ctl.c - control socket server on the engine's loop. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ctl.h"
#include "log.h"

struct ctl_conn {
	struct ctl_server *srv;
	struct bufferevent *bev;
	struct ctl_conn *next;
	bool busy;          /* a request is with the handler */
	bool dead;          /* peer gone while busy: free on reply */
	bool closing;       /* free once the last reply is written */
	char peer[96];
	/* Internal (ctl_conn_internal): no socket, the reply goes here. */
	void (*reply_fn)(void *arg, json_t *reply);
	void *reply_arg;
	char from[80];
};

struct ctl_server {
	struct evconnlistener *listener;
	ctl_handler_fn handler;
	void *arg;
	struct ctl_conn *conns;
	unsigned n_conns;
	char path[108];
};

static void conn_read(struct bufferevent *bev, void *arg);

static void
conn_free(struct ctl_conn *c)
{
	struct ctl_conn **pp;

	for (pp = &c->srv->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->srv->n_conns--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/* Peer gone or misbehaving: free now, or at reply time if busy. */
static void
conn_close(struct ctl_conn *c)
{
	if (c->busy) {
		c->dead = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	conn_free(c);
}

static void
conn_send(struct ctl_conn *c, json_t *reply)
{
	uint8_t *frame;
	size_t len;

	frame = ctl_frame_encode(reply, &len);
	json_decref(reply);
	if (frame == NULL) {
		json_t *e = ctl_reply_error(CTL_EXIT_FAILED,
		    "reply too large or not encodable");

		frame = ctl_frame_encode(e, &len);
		json_decref(e);
		if (frame == NULL) {
			conn_close(c);
			return;
		}
	}
	bufferevent_write(c->bev, frame, len);
	free(frame);
}

static void
conn_write_done(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control connection %s idle: closed", c->peer);
	conn_close(c);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_request req;
	char err[256];
	size_t avail, plen;
	uint8_t hdr[4], *p;
	int rc;

	if (c->busy)
		return;
	avail = evbuffer_get_length(in);
	if (avail < 4)
		return;
	evbuffer_copyout(in, hdr, 4);
	if (ctl_frame_header(hdr, CTL_MAX_REQUEST, &plen) < 0) {
		conn_send(c, ctl_reply_error(CTL_EXIT_FAILED,
		    "request frame empty or larger than %u bytes",
		    CTL_MAX_REQUEST));
		/* The peer gets the error, then EOF. */
		bufferevent_disable(bev, EV_READ);
		c->closing = true;
		return;
	}
	if (avail - 4 < plen) {
		/* Wake up only once the whole frame is buffered. */
		bufferevent_setwatermark(bev, EV_READ, 4 + plen, 0);
		return;
	}
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	p = evbuffer_pullup(in, (ssize_t)(4 + plen));
	if (p == NULL) {
		conn_close(c);
		return;
	}
	rc = ctl_request_parse((const char *)p + 4, plen, &req, err, sizeof(err));
	evbuffer_drain(in, 4 + plen);
	if (rc < 0) {
		conn_send(c, ctl_reply_error(CTL_EXIT_USAGE, "%s", err));
		return;
	}
	c->busy = true;
	c->srv->handler(c, &req, c->srv->arg);
	ctl_request_clear(&req);
}

void
ctl_conn_reply(struct ctl_conn *c, json_t *reply)
{
	if (c->reply_fn != NULL) {
		c->reply_fn(c->reply_arg, reply);
		free(c);
		return;
	}
	c->busy = false;
	if (c->dead) {
		json_decref(reply);
		conn_free(c);
		return;
	}
	conn_send(c, reply);
	/* A pipelined request may already be buffered. */
	if (!c->dead && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_read(c->bev, c);
}

const char *
ctl_conn_peer(const struct ctl_conn *c)
{
	return c->peer;
}

const char *
ctl_conn_from(const struct ctl_conn *c)
{
	return c->reply_fn != NULL ? c->from : "control socket";
}

struct ctl_conn *
ctl_conn_internal(const char *peer, const char *from,
    void (*fn)(void *arg, json_t *reply), void *arg)
{
	struct ctl_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	snprintf(c->from, sizeof(c->from), "%s", from);
	c->reply_fn = fn;
	c->reply_arg = arg;
	c->busy = true;
	return c;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ctl_server *srv = arg;
	struct timeval idle = { CTL_IDLE_TIMEOUT, 0 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct ctl_conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (srv->n_conns >= CTL_MAX_CONNS) {
		log_warn("control socket: %u connections open, refusing another",
		    srv->n_conns);
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		snprintf(c->peer, sizeof(c->peer), "uid=%ld pid=%ld",
		    (long)cred.uid, (long)cred.pid);
	else
		snprintf(c->peer, sizeof(c->peer), "unknown");
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = srv->conns;
	srv->conns = c;
	srv->n_conns++;
	/* Bound what a client can make us buffer before a frame completes. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_set_max_single_read(c->bev, 65536);
	bufferevent_setcb(c->bev, conn_read, conn_write_done, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct ctl_server *
ctl_server_new(struct event_base *base, const char *path,
    ctl_handler_fn handler, void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *srv;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("control socket path too long: %s", path);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	srv->handler = handler;
	srv->arg = arg;
	(void)unlink(path);
	old = umask(0117);
	srv->listener = evconnlistener_new_bind(base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (srv->listener == NULL) {
		log_error("control socket %s: %s", path, strerror(errno));
		free(srv);
		return NULL;
	}
	return srv;
}

void
ctl_server_free(struct ctl_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns != NULL)
		conn_free(srv->conns);
	evconnlistener_free(srv->listener);
	(void)unlink(srv->path);
	free(srv);
}
