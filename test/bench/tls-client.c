/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tls-client.c - the HTTPS load of test/bench/console.sh: the same
 * client for sluiced's console and for the nginx it is measured against.
 *
 *   tls-client [--tls12] [--path P] handshakes HOST PORT SECONDS PROCS
 *   tls-client [--path P] [--ready-file F] hold HOST PORT N SECONDS
 *
 * handshakes: PROCS processes, each for SECONDS: connect, a full TLS
 * handshake (no session cache, no ticket: never a resumption), GET P
 * over HTTP/1.0, read to the end, close.  One line on stdout:
 *   handshakes=N errors=E seconds=S rate=R
 * (R = the sum of each process's count over its own elapsed time).  A
 * connection counts when its answer began "HTTP/1.x 200".
 *
 * hold: N connections one after the other, each a handshake and one
 * keep-alive GET P whose answer is read whole (Content-Length), then
 * left idle; prints "connected=C failed=F" (and writes it to F) and
 * keeps them for SECONDS or until SIGTERM/SIGINT.
 *
 * Why not openssl s_time or a Python client: OpenSSL 3's client costs
 * several times what a server spends on a handshake, so on two cores the
 * clients, not the server, set the pace.  BoringSSL's client is cheap
 * enough for two processes to keep one single-threaded server busy.
 * The certificate is not checked (the server's signature over the
 * handshake still is, RFC 8446 4.4.3): this measures, it trusts nothing.
 *
 * Exit: 0 ok (at least one success), 1 failure, 64 usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TC_EXIT_USAGE   64
#define TC_MAX_PROCS    64
#define TC_MAX_HOLD     100000
#define TC_IO_TIMEOUT_S 10
#define TC_BUF          16384

struct tc_opts {
	const char	*path;
	const char	*ready;
	const char	*host;
	const char	*port;
	int		 tls12;
};

static volatile sig_atomic_t tc_stop;

static void
tc_on_signal(int sig)
{
	(void)sig;
	tc_stop = 1;
}

static int64_t
tc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
usage(FILE *f)
{
	fputs("usage: tls-client [--tls12] [--path P] handshakes HOST PORT"
	    " SECONDS PROCS\n"
	    "       tls-client [--path P] [--ready-file F] hold HOST PORT N"
	    " SECONDS\n", f);
}

static long
tc_parse(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static SSL_CTX *
tc_ctx(const struct tc_opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	uint16_t v = o->tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, v) ||
	    !SSL_CTX_set_max_proto_version(ctx, v)) {
		fprintf(stderr, "tls-client: SSL_CTX_new failed\n");
		exit(1);
	}
	/* Full handshakes only: no session cache, no ticket offered. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static int
tc_connect(const struct tc_opts *o)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { TC_IO_TIMEOUT_S, 0 };
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		fprintf(stderr, "tls-client: %s: %s\n", o->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		/* Bounded blocking I/O: a server that stops answering ends
		 * this connection, not the run. */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* A connection with a finished handshake, or NULL (fd closed). */
static SSL *
tc_handshake(SSL_CTX *ctx, const struct tc_opts *o, int *fdp)
{
	SSL *ssl;
	int fd;

	if ((fd = tc_connect(o)) < 0)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		close(fd);
		return NULL;
	}
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, o->host);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return ssl;
}

static int
tc_write_all(SSL *ssl, const char *buf, size_t len)
{
	return SSL_write(ssl, buf, (int)len) == (int)len ? 0 : -1;
}

/* One full handshake and an HTTP/1.0 GET read to its end: 0 on a 200. */
static int
tc_one(SSL_CTX *ctx, const struct tc_opts *o)
{
	char req[512], buf[TC_BUF], head[16];
	size_t got = 0, k;
	int fd, n, ok;
	SSL *ssl;

	if ((ssl = tc_handshake(ctx, o, &fd)) == NULL)
		return -1;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
	    o->path, o->host);
	ok = n > 0 && (size_t)n < sizeof(req) &&
	    tc_write_all(ssl, req, (size_t)n) == 0;
	while (ok) {
		if ((n = SSL_read(ssl, buf, (int)sizeof(buf))) <= 0)
			break;
		/* Only the status line matters: keep the first bytes. */
		k = sizeof(head) - got < (size_t)n ? sizeof(head) - got :
		    (size_t)n;
		memcpy(head + got, buf, k);
		got += k;
	}
	ok = ok && got >= 12 && memcmp(head, "HTTP/1.", 7) == 0 &&
	    memcmp(head + 8, " 200", 4) == 0;
	/* The server closed first (HTTP/1.0): its side has the TIME_WAIT. */
	SSL_set_quiet_shutdown(ssl, 1);
	SSL_free(ssl);
	close(fd);
	return ok ? 0 : -1;
}

static int
cmd_handshakes(const struct tc_opts *o, long seconds, long procs)
{
	long i, n = 0, err = 0, a, b;
	double rate = 0, secs = 0, s;
	pid_t pids[TC_MAX_PROCS];
	int fds[TC_MAX_PROCS][2];
	FILE *f;

	for (i = 0; i < procs; i++) {
		if (pipe(fds[i]) < 0) {
			perror("tls-client: pipe");
			return 1;
		}
		fflush(NULL);
		if ((pids[i] = fork()) < 0) {
			perror("tls-client: fork");
			return 1;
		}
		if (pids[i] == 0) {
			SSL_CTX *ctx = tc_ctx(o);
			int64_t t0 = tc_now_ns(), end, t;
			long ok = 0, bad = 0;

			close(fds[i][0]);
			end = t0 + (int64_t)seconds * 1000000000;
			while ((t = tc_now_ns()) < end && !tc_stop) {
				if (tc_one(ctx, o) == 0)
					ok++;
				else
					bad++;
			}
			f = fdopen(fds[i][1], "w");
			if (f != NULL)
				fprintf(f, "%ld %ld %.6f\n", ok, bad,
				    (double)(tc_now_ns() - t0) / 1e9);
			_exit(f != NULL && fclose(f) == 0 ? 0 : 1);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < procs; i++) {
		f = fdopen(fds[i][0], "r");
		if (f == NULL || fscanf(f, "%ld %ld %lf", &a, &b, &s) != 3 ||
		    s <= 0) {
			fprintf(stderr, "tls-client: process %ld reported"
			    " nothing\n", i);
			err++;
		} else {
			n += a;
			err += b;
			rate += (double)a / s;
			if (s > secs)
				secs = s;
		}
		if (f != NULL)
			fclose(f);
		waitpid(pids[i], NULL, 0);
	}
	printf("handshakes=%ld errors=%ld seconds=%.2f rate=%.1f\n", n, err,
	    secs, rate);
	return n > 0 ? 0 : 1;
}

/* Read one HTTP/1.1 answer whole (headers and Content-Length bytes). */
static int
tc_read_reply(SSL *ssl)
{
	char buf[TC_BUF + 1], *hend, *cl;
	size_t got = 0;
	long want = -1;
	int n;

	for (;;) {
		if (got >= TC_BUF)
			return -1;
		n = SSL_read(ssl, buf + got, (int)(TC_BUF - got));
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if ((hend = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (want < 0) {
			cl = strcasestr(buf, "\r\ncontent-length:");
			if (cl == NULL || cl > hend)
				return -1;
			want = strtol(cl + 17, NULL, 10);
			if (want < 0 || want > TC_BUF)
				return -1;
		}
		if ((long)(got - (size_t)(hend + 4 - buf)) >= want)
			break;
	}
	return memcmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

static int
cmd_hold(const struct tc_opts *o, long n, long seconds)
{
	struct rlimit rl;
	SSL_CTX *ctx = tc_ctx(o);
	SSL **ssl;
	int *fd;
	long i, ok = 0, bad = 0;
	char req[512];
	int len;
	int64_t end;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	ssl = calloc((size_t)n, sizeof(*ssl));
	fd = calloc((size_t)n, sizeof(*fd));
	if (ssl == NULL || fd == NULL) {
		perror("tls-client");
		return 1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    o->path, o->host);
	if (len <= 0 || (size_t)len >= sizeof(req))
		return 1;
	for (i = 0; i < n && !tc_stop; i++) {
		ssl[i] = tc_handshake(ctx, o, &fd[i]);
		if (ssl[i] != NULL && (tc_write_all(ssl[i], req,
		    (size_t)len) < 0 || tc_read_reply(ssl[i]) < 0)) {
			SSL_free(ssl[i]);
			close(fd[i]);
			ssl[i] = NULL;
		}
		if (ssl[i] == NULL)
			bad++;
		else
			ok++;
	}
	printf("connected=%ld failed=%ld\n", ok, bad);
	fflush(stdout);
	if (o->ready != NULL && (f = fopen(o->ready, "w")) != NULL) {
		fprintf(f, "connected=%ld failed=%ld\n", ok, bad);
		fclose(f);
	}
	end = tc_now_ns() + (int64_t)seconds * 1000000000;
	while (!tc_stop && tc_now_ns() < end)
		(void)poll(NULL, 0, 100);
	for (i = 0; i < n; i++)
		if (ssl[i] != NULL) {
			SSL_set_quiet_shutdown(ssl[i], 1);
			SSL_free(ssl[i]);
			close(fd[i]);
		}
	free(ssl);
	free(fd);
	SSL_CTX_free(ctx);
	return ok > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tls12", no_argument, NULL, '2' },
		{ "path", required_argument, NULL, 'p' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tc_opts o = { "/", NULL, NULL, NULL, 0 };
	struct sigaction sa;
	long a, b;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case '2':
			o.tls12 = 1;
			break;
		case 'p':
			o.path = optarg;
			break;
		case 'r':
			o.ready = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return TC_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 5 || strlen(o.path) > 256 || o.path[0] != '/') {
		usage(stderr);
		return TC_EXIT_USAGE;
	}
	o.host = argv[1];
	o.port = argv[2];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tc_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[0], "handshakes") == 0) {
		a = tc_parse(argv[3], 1, 3600);
		b = tc_parse(argv[4], 1, TC_MAX_PROCS);
		if (a < 0 || b < 0) {
			usage(stderr);
			return TC_EXIT_USAGE;
		}
		return cmd_handshakes(&o, a, b);
	}
	if (strcmp(argv[0], "hold") == 0) {
		a = tc_parse(argv[3], 1, TC_MAX_HOLD);
		b = tc_parse(argv[4], 1, 86400);
		if (a < 0 || b < 0) {
			usage(stderr);
			return TC_EXIT_USAGE;
		}
		return cmd_hold(&o, a, b);
	}
	usage(stderr);
	return TC_EXIT_USAGE;
}
