/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls-httpd - an evhttp server over src/tls.c, the way the console will
 * run it (evhttp_set_bevcb + tls_evhttp_bevcb), for test/system/tls.sh.
 *
 *   tls-httpd --cert PEM --key PEM --ready FILE [--max-handshakes N]
 *       [--rate N] [--hs-timeout-ms N] [--input-max BYTES] [--tls13]
 *   tls-httpd --print-big        (writes /big's body to stdout)
 *
 * Listens on 127.0.0.1, port chosen by the kernel, and writes the port
 * to FILE (atomically) once it serves.  Routes:
 *   /small   a few bytes            /big    1 MiB of numbered lines
 *   /slow    a few bytes after 100 ms (a timer: the reply is queued
 *            later, from outside any bufferevent callback)
 *   /echo    POST: the body back    /stats  tls_stats() as JSON
 * Keep-alive as evhttp does it.  SIGTERM: finish pending /slow replies,
 * free everything, exit 0 (so ASan/valgrind see a clean shutdown).
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "log.h"
#include "tls.h"

#define BIG_LINES 16384         /* 64-byte lines: 1 MiB */
#define SLOW_MS   100

static struct event_base *base;
static struct tls_ctx *tls;
static unsigned slow_pending;
static int stopping;

static void
big_body(struct evbuffer *b)
{
	unsigned i;

	for (i = 0; i < BIG_LINES; i++)
		evbuffer_add_printf(b, "line %08u of the sluice tls test "
		    "pattern, 64 bytes each ...\n", i);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Runs inside evhttp_connection_free(), before its shutdown(). */
static void
conn_closing(struct evhttp_connection *evcon, void *arg)
{
	(void)arg;
	tls_bufferevent_close_notify(evhttp_connection_get_bufferevent(evcon));
}

static void
reply(struct evhttp_request *req, const char *type, struct evbuffer *body)
{
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    conn_closing, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
}

static void
serve_small(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	evbuffer_add_printf(b, "small reply\n");
	reply(req, "text/plain", b);
	evbuffer_free(b);
}

static void
serve_big(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	big_body(b);
	reply(req, "text/plain", b);
	evbuffer_free(b);
}

struct slow {
	struct evhttp_request *req;
	struct event *ev;
};

static void
slow_done(evutil_socket_t fd, short what, void *arg)
{
	struct slow *s = arg;
	struct evbuffer *b = evbuffer_new();

	(void)fd;
	(void)what;
	evbuffer_add_printf(b, "slow reply\n");
	reply(s->req, "text/plain", b);
	evbuffer_free(b);
	event_free(s->ev);
	free(s);
	if (--slow_pending == 0 && stopping)
		event_base_loopexit(base, NULL);
}

static void
serve_slow(struct evhttp_request *req, void *arg)
{
	struct timeval tv = { 0, SLOW_MS * 1000 };
	struct slow *s = calloc(1, sizeof(*s));

	(void)arg;
	if (s == NULL || (s->ev = evtimer_new(base, slow_done, s)) == NULL) {
		free(s);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	s->req = req;
	slow_pending++;
	evtimer_add(s->ev, &tv);
}

static void
serve_echo(struct evhttp_request *req, void *arg)
{
	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	reply(req, "application/octet-stream",
	    evhttp_request_get_input_buffer(req));
}

static void
serve_stats(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	json_t *j = tls_stats(tls);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	(void)arg;
	evbuffer_add_printf(b, "%s\n", s != NULL ? s : "null");
	free(s);
	json_decref(j);
	reply(req, "application/json", b);
	evbuffer_free(b);
}

static void
on_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	stopping = 1;
	if (slow_pending == 0)
		event_base_loopexit(base, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tls-httpd --cert PEM --key PEM --ready FILE "
	    "[--max-handshakes N] [--rate N] [--hs-timeout-ms N] "
	    "[--input-max BYTES] [--tls13]\n       tls-httpd --print-big\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ready", required_argument, NULL, 'r' },
		{ "max-handshakes", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'R' },
		{ "hs-timeout-ms", required_argument, NULL, 't' },
		{ "input-max", required_argument, NULL, 'i' },
		{ "tls13", no_argument, NULL, '3' },
		{ "print-big", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct tls_config cfg = { .alpn = "http/1.1,http/1.0",
	    .input_max = 2 * 1024 * 1024 };
	const char *cert = NULL, *key = NULL, *ready = NULL;
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct event *term;
	struct evhttp *http;
	char err[256], tmp[4096];
	FILE *f;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'r': ready = optarg; break;
		case 'm': cfg.max_handshakes = (unsigned)atoi(optarg); break;
		case 'R': cfg.handshakes_per_s = (unsigned)atoi(optarg); break;
		case 't':
			cfg.handshake_timeout_ms = (unsigned)atoi(optarg);
			break;
		case 'i': cfg.input_max = (size_t)atol(optarg); break;
		case '3': cfg.min_version = TLS_VERSION_1_3; break;
		case 'B': {
			struct evbuffer *b = evbuffer_new();

			big_body(b);
			evbuffer_write(b, STDOUT_FILENO);
			while (evbuffer_get_length(b) > 0 &&
			    evbuffer_write(b, STDOUT_FILENO) > 0)
				;
			evbuffer_free(b);
			return 0;
		}
		default: usage();
		}
	}
	if (cert == NULL || key == NULL || ready == NULL)
		usage();
	log_init("tls-httpd", 1);
	signal(SIGPIPE, SIG_IGN);
	cfg.cert_pem = slurp(cert, &cfg.cert_len);
	cfg.key_pem = slurp(key, &cfg.key_len);

	base = event_base_new();
	if ((tls = tls_ctx_new(base, &cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tls-httpd: %s\n", err);
		return 1;
	}
	free((char *)cfg.cert_pem);
	free((char *)cfg.key_pem);
	http = evhttp_new(base);
	evhttp_set_bevcb(http, tls_evhttp_bevcb, tls);
	evhttp_set_timeout(http, 30);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1024 * 1024);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST);
	evhttp_set_cb(http, "/small", serve_small, NULL);
	evhttp_set_cb(http, "/big", serve_big, NULL);
	evhttp_set_cb(http, "/slow", serve_slow, NULL);
	evhttp_set_cb(http, "/echo", serve_echo, NULL);
	evhttp_set_cb(http, "/stats", serve_stats, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0)) ==
	    NULL || getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &slen) != 0) {
		perror("tls-httpd: bind");
		return 1;
	}
	term = evsignal_new(base, SIGTERM, on_term, NULL);
	evsignal_add(term, NULL);

	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%u\n", ntohs(sin.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, ready) != 0) {
		perror(ready);
		return 1;
	}
	event_base_dispatch(base);

	evhttp_free(http);
	tls_ctx_free(tls);
	event_free(term);
	event_base_free(base);
	return 0;
}
