/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_syslog.c - the syslog sink: the formatter (exact bytes), delivery
 * to our own loopback receivers (datagrams, octet-counted TCP framing,
 * queue bounds, unreachable reports), and delivery to a real, private
 * rsyslogd (RFC 5424 and 3164 as rsyslog parses them, TCP reconnect after
 * the receiver restarts).  Without rsyslogd the rest still runs and the
 * program exits 77.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "syslog_sink.h"

#define WAIT_MS 5000 /* bound on every wait for a receiver */

static const char *keys3[] = { "user", "from", "note" };
static const char *vals3[] = { "admin", "192.0.2.7", "a\"b\\c]d" };

static void
record_init(struct syslog_record *r, uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	/* 2026-11-27T04:20:37.123456Z */
	r->time.tv_sec = 1795753237;
	r->time.tv_nsec = 123456789;
	r->severity = EVENTLOG_WARNING;
	r->event = "login-failed";
	r->group = "configuration";
	r->n_fields = 3;
	r->keys = keys3;
	r->values = vals3;
	r->msg = "Login failed";
}

static void
config_init(struct syslog_sink_config *c, enum policy_syslog_transport t,
    enum policy_syslog_format f, uint16_t port)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->server, sizeof(c->server), "127.0.0.1");
	c->port = port;
	c->transport = t;
	c->format = f;
	c->facility = 16; /* local0 */
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every byte valid UTF-8? */
static bool
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80	? 0 :
		    (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 :
					  -1;

		if (n < 0)
			return false;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* --- the formatter -------------------------------------------------------- */

static void
test_format_5424(void **state)
{
	struct syslog_sink_config c;
	struct syslog_record r;
	char buf[4096];
	size_t n;

	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, 514);
	record_init(&r, 12);
	n = syslog_sink_format(
	    &c, "gw1.example.com", 4242, &r, buf, sizeof(buf), 2048);
	/* PRI 16 * 8 + 4; SD-PARAM values escape '"', '\' and ']'. */
	assert_string_equal(buf,
	    "<132>1 2026-11-27T04:20:37.123456Z "
	    "gw1.example.com sluiced 4242 login-failed [sluice@32473 "
	    "seq=\"12\" "
	    "group=\"configuration\" user=\"admin\" from=\"192.0.2.7\" "
	    "note=\"a\\\"b\\\\c\\]d\"] Login failed");
	assert_int_equal(n, strlen(buf));

	/* Not in the local store: no seq.  Odd host name and keys cleaned. */
	record_init(&r, 0);
	r.n_fields = 1;
	r.keys = (const char *[]){ "a key=\"x\"]" };
	r.values = (const char *[]){ "line1\nline2\x7f" };
	r.msg = NULL;
	c.facility = 0;
	r.severity = EVENTLOG_EMERG;
	syslog_sink_format(&c, "", 1, &r, buf, sizeof(buf), 2048);
	assert_string_equal(buf,
	    "<0>1 2026-11-27T04:20:37.123456Z - sluiced 1 "
	    "login-failed [sluice@32473 group=\"configuration\" "
	    "a_key__x__=\"line1\\x0aline2\\x7f\"]");
	c.facility = 23;
	r.severity = EVENTLOG_DEBUG;
	syslog_sink_format(
	    &c, "host with space", 1, &r, buf, sizeof(buf), 2048);
	assert_true(starts_with(buf,
	    "<191>1 2026-11-27T04:20:37.123456Z "
	    "host_with_space sluiced 1 "));
}

static void
test_format_3164(void **state)
{
	struct syslog_sink_config c;
	struct syslog_record r;
	char buf[4096];

	setenv("TZ", "UTC", 1);
	tzset();
	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC3164, 514);
	record_init(&r, 12);
	syslog_sink_format(
	    &c, "gw1.example.com", 4242, &r, buf, sizeof(buf), 1024);
	/* RFC 3164 4.1.2: "Mmm dd hh:mm:ss", host without domain, TAG[pid]: */
	assert_string_equal(buf,
	    "<132>Nov 27 04:20:37 gw1 sluiced[4242]: "
	    "login-failed seq=\"12\" group=\"configuration\" user=\"admin\" "
	    "from=\"192.0.2.7\" note=\"a\\\"b\\\\c]d\"");
	/* A one-digit day is padded with a space. */
	r.time.tv_sec = 1795753237 - 20 * 86400;
	syslog_sink_format(&c, "gw1", 4242, &r, buf, sizeof(buf), 1024);
	assert_true(
	    starts_with(buf, "<132>Nov  7 04:20:37 gw1 sluiced[4242]: "));
}

static void
test_format_truncation(void **state)
{
	static const char *keys[40], *vals[40];
	struct syslog_sink_config c;
	struct syslog_record r;
	char buf[9000], val[400], uval[401], name[40][8];
	size_t i, n, quotes;

	/* 40 fields of 300 bytes, with '"' and two-byte characters. */
	for (i = 0; i < 300; i++)
		val[i] = i % 50 == 0 ? '"' : 'v';
	val[300] = '\0';
	for (i = 0; i < 400; i += 2)
		memcpy(uval + i, "\xc3\xa9", 2);
	uval[400] = '\0';
	for (i = 0; i < 40; i++) {
		snprintf(name[i], sizeof(name[i]), "k%zu", i);
		keys[i] = name[i];
		vals[i] = i % 2 ? uval : val;
	}
	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, 514);
	record_init(&r, 1);
	r.n_fields = 40;
	r.keys = keys;
	r.values = vals;
	for (n = 2048; n >= 1024; n -= 37) {
		size_t len =
		    syslog_sink_format(&c, "h", 1, &r, buf, sizeof(buf), n);
		const char *sd = strchr(buf, '[');

		assert_true(len <= n);
		assert_int_equal(len, strlen(buf));
		assert_true(utf8_ok(buf));
		/* Still one well-formed element: unescaped quotes pair up. */
		for (i = 0, quotes = 0; sd[i] != '\0'; i++) {
			if (sd[i] == '\\') {
				i++;
				continue;
			}
			if (sd[i] == ']')
				break;
			quotes += sd[i] == '"';
		}
		assert_int_equal(sd[i], ']');
		assert_int_equal(quotes % 2, 0);
	}
	/* RFC 3164 at its 1024 bytes. */
	c.format = POLICY_SYSLOG_RFC3164;
	n = syslog_sink_format(&c, "h", 1, &r, buf, sizeof(buf), 1024);
	assert_true(n <= 1024 && n > 900);
	assert_true(utf8_ok(buf));
	assert_int_equal(buf[n - 1], '"');
}

/* --- loop helpers --------------------------------------------------------- */

static int n_reports;
static char last_report[256];

static void
on_report(void *arg, const char *why)
{
	n_reports++;
	snprintf(last_report, sizeof(last_report), "%s", why);
}

struct waiter {
	struct event_base *base;
	bool (*done)(void *);
	void *arg;
	bool ok;
};

static void
wait_tick(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	if (w->done(w->arg)) {
		w->ok = true;
		event_base_loopbreak(w->base);
	}
}

static void
wait_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(((struct waiter *)arg)->base);
}

/*
 * Run the loop until done(arg) or ms pass.  done is checked every 10 ms:
 * what we wait for (bytes in a file another process writes) has no event
 * of its own on this loop.
 */
static bool
run_until(struct event_base *base, bool (*done)(void *), void *arg, int ms)
{
	struct waiter w = { base, done, arg, false };
	struct timeval tick = { 0, 10000 },
		       dl = { ms / 1000, (ms % 1000) * 1000 };
	struct event *t, *d;

	if (done(arg))
		return true;
	t = event_new(base, -1, EV_PERSIST, wait_tick, &w);
	d = evtimer_new(base, wait_deadline, &w);
	event_add(t, &tick);
	evtimer_add(d, &dl);
	event_base_dispatch(base);
	event_free(t);
	event_free(d);
	return w.ok;
}

static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
listen_on(int type, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0), on = 1;

	assert_true(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(s, 4), 0);
	return s;
}

/* A loopback port with nobody on it. */
static uint16_t
free_port(int type)
{
	uint16_t port = 0;

	close(listen_on(type, &port));
	return port;
}

static void
expected(const struct syslog_sink_config *c, const struct syslog_record *r,
    char *buf, size_t len, size_t max)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	syslog_sink_format(c, host, (long)getpid(), r, buf, len, max);
}

/* --- our own receivers ---------------------------------------------------- */

static void
test_udp_datagram(void **state)
{
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_sink_stats st;
	struct syslog_record r;
	struct syslog_sink *s;
	char want[4096], got[4096], err[256];
	uint16_t port = 0;
	int rx = listen_on(SOCK_DGRAM, &port);
	ssize_t n;

	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, port);
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	record_init(&r, 7);
	r.time.tv_sec = time(NULL);
	syslog_sink_send(s, &r);
	n = recv(rx, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	got[n] = '\0';
	expected(&c, &r, want, sizeof(want), SYSLOG_SINK_MAX_UDP);
	assert_string_equal(got, want);

	/* Nobody listening: ICMP refusals count as drops, reported once. */
	close(rx);
	n_reports = 0;
	syslog_sink_send(s, &r);
	syslog_sink_send(s, &r);
	syslog_sink_send(s, &r);
	run_for(base, 50);
	syslog_sink_stats(s, &st);
	assert_int_equal(st.sent + st.dropped, 4);
	assert_true(st.dropped >= 1);
	assert_int_equal(n_reports, 1);
	assert_non_null(strstr(last_report, "refused"));
	syslog_sink_free(s);
	event_base_free(base);
}

struct tcp_rx {
	int lfd, fd;
	char buf[65536];
	size_t len, want;
};

static bool
tcp_rx_done(void *arg)
{
	struct tcp_rx *t = arg;
	ssize_t n;

	if (t->fd == -1) {
		t->fd =
		    accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (t->fd == -1)
			return false;
	}
	while ((n = recv(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len,
		    MSG_DONTWAIT)) > 0)
		t->len += (size_t)n;
	t->buf[t->len] = '\0';
	return t->len >= t->want;
}

static void
test_tcp_framing(void **state)
{
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_sink_stats st;
	struct syslog_record r;
	struct syslog_sink *s;
	struct tcp_rx rx = { .fd = -1 };
	char want[16384], one[4096], err[256];
	uint16_t port = 0;
	size_t i, o = 0;

	rx.lfd = listen_on(SOCK_STREAM, &port);
	fcntl(rx.lfd, F_SETFL, O_NONBLOCK);
	config_init(&c, POLICY_SYSLOG_TCP, POLICY_SYSLOG_RFC5424, port);
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	/* RFC 6587 3.4.1: each message is "LEN SP MSG", nothing else. */
	for (i = 1; i <= 3; i++) {
		record_init(&r, i);
		syslog_sink_send(s, &r);
		expected(&c, &r, one, sizeof(one), SYSLOG_SINK_MAX_TCP);
		o += (size_t)snprintf(
		    want + o, sizeof(want) - o, "%zu %s", strlen(one), one);
	}
	rx.want = o;
	assert_true(run_until(base, tcp_rx_done, &rx, WAIT_MS));
	assert_string_equal(rx.buf, want);
	/* The batch is acknowledged once it reached the kernel. */
	run_for(base, 20);
	syslog_sink_stats(s, &st);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.queued, 0);
	assert_true(st.connected);
	syslog_sink_free(s);
	close(rx.fd);
	close(rx.lfd);
	event_base_free(base);
}

static void
test_tcp_queue_bound(void **state)
{
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_sink_stats st;
	struct syslog_record r;
	struct syslog_sink *s;
	char err[256], big[2000];
	const char *k[1] = { "big" }, *v[1] = { big };
	size_t i;

	config_init(&c, POLICY_SYSLOG_TCP, POLICY_SYSLOG_RFC5424,
	    free_port(SOCK_STREAM));
	n_reports = 0;
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	record_init(&r, 1);
	/* Message count bound: oldest dropped. */
	for (i = 0; i < 1100; i++)
		syslog_sink_send(s, &r);
	syslog_sink_stats(s, &st);
	assert_int_equal(st.queued, SYSLOG_SINK_MAX_QUEUE);
	assert_int_equal(st.dropped, 100);
	assert_false(st.connected);
	/* Byte bound: 256 KiB of ~2 KiB messages is about 130. */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.n_fields = 1;
	r.keys = k;
	r.values = v;
	for (i = 0; i < 1000; i++)
		syslog_sink_send(s, &r);
	syslog_sink_stats(s, &st);
	assert_true(st.queued * 2000 <= SYSLOG_SINK_MAX_QUEUE_BYTES);
	assert_true(st.queued > SYSLOG_SINK_MAX_QUEUE_BYTES / 2300);
	assert_int_equal(st.dropped, 2100 - st.queued);
	/* Refused at once and again after 1 s: one report. */
	run_for(base, 1300);
	assert_int_equal(n_reports, 1);
	assert_non_null(strstr(last_report, "refused"));
	syslog_sink_free(s);
	event_base_free(base);
}

static void
test_bad_config(void **state)
{
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	char err[256];

	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, 0);
	assert_null(syslog_sink_new(base, &c, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "port"));
	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, 514);
	snprintf(c.server, sizeof(c.server), "bad..name");
	assert_null(syslog_sink_new(base, &c, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "server"));
	snprintf(c.server, sizeof(c.server), "127.0.0.1");
	c.facility = 24;
	assert_null(syslog_sink_new(base, &c, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "facility"));
	event_base_free(base);
}

/* A host name goes through evdns (here: the hosts file), never getaddrinfo. */
static void
test_hostname(void **state)
{
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_record r;
	struct syslog_sink *s;
	struct tcp_rx rx = { .fd = -1 };
	char err[256];
	uint16_t port = 0;

	rx.lfd = listen_on(SOCK_STREAM, &port);
	fcntl(rx.lfd, F_SETFL, O_NONBLOCK);
	config_init(&c, POLICY_SYSLOG_TCP, POLICY_SYSLOG_RFC5424, port);
	snprintf(c.server, sizeof(c.server), "localhost");
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	record_init(&r, 1);
	syslog_sink_send(s, &r);
	rx.want = 20;
	if (!run_until(base, tcp_rx_done, &rx, 3000)) {
		/* localhost may resolve to ::1 first; that is no sink bug. */
		struct syslog_sink_stats st;

		syslog_sink_stats(s, &st);
		print_message(
		    "localhost not reached on 127.0.0.1 (report: %s)\n",
		    last_report);
	} else {
		assert_true(
		    strstr(rx.buf, " login-failed [sluice@32473 ") != NULL);
	}
	syslog_sink_free(s);
	if (rx.fd != -1)
		close(rx.fd);
	close(rx.lfd);
	event_base_free(base);
}

/* --- a real rsyslogd ------------------------------------------------------ */

struct rsyslog {
	char dir[PATH_MAX];
	char conf[PATH_MAX + 32];
	pid_t pid;
	uint16_t udp_port, tcp_port;
};

static char rsyslogd[PATH_MAX];

static bool
find_rsyslogd(void)
{
	const char *dirs[] = { "/usr/sbin", "/sbin", "/usr/local/sbin" };
	const char *path = getenv("PATH");
	char buf[4096], *save, *d;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path != NULL ? path : "");
	for (d = strtok_r(buf, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(rsyslogd, sizeof(rsyslogd), "%s/rsyslogd", d);
		if (access(rsyslogd, X_OK) == 0)
			return true;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(rsyslogd, sizeof(rsyslogd), "%s/rsyslogd", dirs[i]);
		if (access(rsyslogd, X_OK) == 0)
			return true;
	}
	return false;
}

static bool
file_has(const char *path, const char *needle, int count)
{
	char buf[65536];
	const char *p = buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;

	if (fd == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	while ((p = strstr(p, needle)) != NULL && found < count) {
		found++;
		p++;
	}
	return found >= count;
}

/* Wait for needle in a file, with inotify, at most ms; no event loop. */
static bool
wait_file(const char *dir, const char *path, const char *needle, int ms)
{
	struct timespec t0, now;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	bool ok;

	assert_true(in >= 0);
	inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(ok = file_has(path, needle, 1))) {
		struct pollfd pfd = { in, POLLIN, 0 };
		char ev[4096];
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms -
		    ((now.tv_sec - t0.tv_sec) * 1000 +
			(now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) > 0)
			while (read(in, ev, sizeof(ev)) > 0)
				;
	}
	close(in);
	return ok;
}

static void
rsyslog_write_conf(struct rsyslog *rs)
{
	FILE *f;

	snprintf(rs->conf, sizeof(rs->conf), "%s/rsyslog.conf", rs->dir);
	assert_non_null(f = fopen(rs->conf, "w"));
	fprintf(f,
	    "global(workDirectory=\"%s\" processInternalMessages=\"on\")\n"
	    "module(load=\"imudp\")\n"
	    "module(load=\"imtcp\")\n"
	    "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\\n\")\n"
	    "template(name=\"parsed\" type=\"string\" string=\"%%pri%%|"
	    "%%protocol-version%%|%%timestamp:::date-rfc3339%%|%%hostname%%|"
	    "%%app-name%%|%%procid%%|%%msgid%%|%%structured-data%%|%%msg%%"
	    "\\n\")\n"
	    "ruleset(name=\"udp\") {\n"
	    "  action(type=\"omfile\" file=\"%s/udp.raw\" template=\"raw\")\n"
	    "  action(type=\"omfile\" file=\"%s/udp.parsed\" "
	    "template=\"parsed\")\n"
	    "}\n"
	    "ruleset(name=\"tcp\") {\n"
	    "  action(type=\"omfile\" file=\"%s/tcp.raw\" template=\"raw\")\n"
	    "  action(type=\"omfile\" file=\"%s/tcp.parsed\" "
	    "template=\"parsed\")\n"
	    "}\n"
	    "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%u\" "
	    "ruleset=\"udp\")\n"
	    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%u\" "
	    "ruleset=\"tcp\")\n"
	    "*.* action(type=\"omfile\" file=\"%s/internal.log\")\n",
	    rs->dir, rs->dir, rs->dir, rs->dir, rs->dir, rs->udp_port,
	    rs->tcp_port, rs->dir);
	fclose(f);
}

/* Start it and wait for its "start" message: then both inputs listen. */
static bool
rsyslog_start(struct rsyslog *rs)
{
	char pidfile[PATH_MAX + 32], internal[PATH_MAX + 32];
	int starts = 0;

	snprintf(pidfile, sizeof(pidfile), "%s/rsyslogd.pid", rs->dir);
	snprintf(internal, sizeof(internal), "%s/internal.log", rs->dir);
	if (access(internal, F_OK) == 0)
		starts = file_has(internal, "] start", 2) ? 2 : 1;
	rs->pid = fork();
	assert_true(rs->pid >= 0);
	if (rs->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(rsyslogd, "rsyslogd", "-n", "-f", rs->conf, "-i", pidfile,
		    (char *)NULL);
		_exit(127);
	}
	if (starts == 0)
		return wait_file(rs->dir, internal, "] start", WAIT_MS);
	{
		/* A restart: wait for one more "start" line. */
		struct timespec t0, now;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (file_has(internal, "] start", starts + 1))
				return true;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 +
				(now.tv_nsec - t0.tv_nsec) / 1000000 >
			    WAIT_MS)
				return false;
			wait_file(rs->dir, internal, "\x01never", 50);
		}
	}
}

/* SIGTERM and reap, bounded; SIGKILL if it will not go. */
static void
rsyslog_stop(struct rsyslog *rs)
{
	int pfd, status;

	if (rs->pid <= 0)
		return;
	pfd = (int)syscall(SYS_pidfd_open, rs->pid, 0);
	kill(rs->pid, SIGTERM);
	if (pfd >= 0) {
		struct pollfd p = { pfd, POLLIN, 0 };

		if (poll(&p, 1, WAIT_MS) <= 0)
			kill(rs->pid, SIGKILL);
		close(pfd);
	}
	waitpid(rs->pid, &status, 0);
	rs->pid = 0;
}

static int
rsyslog_setup(void **state)
{
	struct rsyslog *rs = calloc(1, sizeof(*rs));
	const char *tmp = getenv("TMPDIR");

	if (rs == NULL)
		return -1;
	snprintf(rs->dir, sizeof(rs->dir), "%s/test_syslog.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(rs->dir) == NULL)
		return -1;
	rs->udp_port = free_port(SOCK_DGRAM);
	rs->tcp_port = free_port(SOCK_STREAM);
	rsyslog_write_conf(rs);
	if (!rsyslog_start(rs)) {
		rsyslog_stop(rs);
		fprintf(
		    stderr, "rsyslogd did not start within %d ms\n", WAIT_MS);
		return -1;
	}
	*state = rs;
	return 0;
}

static int
rsyslog_teardown(void **state)
{
	struct rsyslog *rs = *state;
	struct dirent *de;
	DIR *d;

	if (rs == NULL)
		return 0;
	rsyslog_stop(rs);
	if ((d = opendir(rs->dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(rs->dir);
	free(rs);
	return 0;
}

/* The start of a receiver's file, for failure messages. */
static const char *
file_text(const struct rsyslog *rs, const char *file)
{
	static char buf[4096];
	char path[PATH_MAX + 32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", rs->dir, file);
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return buf;
}

struct file_wait {
	char path[PATH_MAX + 32];
	const char *needle;
	int count;
};

static bool
file_wait_done(void *arg)
{
	struct file_wait *fw = arg;

	return file_has(fw->path, fw->needle, fw->count);
}

static bool
wait_in(struct event_base *base, const struct rsyslog *rs, const char *file,
    const char *needle, int count)
{
	struct file_wait fw;

	snprintf(fw.path, sizeof(fw.path), "%s/%s", rs->dir, file);
	fw.needle = needle;
	fw.count = count;
	return run_until(base, file_wait_done, &fw, WAIT_MS);
}

static void
test_rsyslog_5424_udp(void **state)
{
	struct rsyslog *rs = *state;
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_record r;
	struct syslog_sink *s;
	char err[256], line[4096], host[256] = "", want[4096];

	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC5424, rs->udp_port);
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	record_init(&r, 41);
	syslog_sink_send(s, &r);
	gethostname(host, sizeof(host) - 1);
	/* As rsyslog's RFC 5424 parser understood it, field by field. */
	snprintf(line, sizeof(line),
	    "132|1|2026-11-27T04:20:37.123456Z|%s|"
	    "sluiced|%ld|login-failed|[sluice@32473 seq=\"41\" "
	    "group=\"configuration\" user=\"admin\" from=\"192.0.2.7\" "
	    "note=\"a\\\"b\\\\c\\]d\"]|Login failed\n",
	    host, (long)getpid());
	if (!wait_in(base, rs, "udp.parsed", line, 1))
		fail_msg("rsyslog did not log\n  %sbut\n  %s", line,
		    file_text(rs, "udp.parsed"));
	expected(&c, &r, want, sizeof(want), SYSLOG_SINK_MAX_UDP);
	strcat(want, "\n");
	assert_true(wait_in(base, rs, "udp.raw", want, 1));
	syslog_sink_free(s);
	event_base_free(base);
}

static void
test_rsyslog_3164_udp(void **state)
{
	struct rsyslog *rs = *state;
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_record r;
	struct syslog_sink *s;
	char err[256], line[4096], host[256] = "", *dot;

	config_init(&c, POLICY_SYSLOG_UDP, POLICY_SYSLOG_RFC3164, rs->udp_port);
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	record_init(&r, 42);
	r.time.tv_sec = time(NULL);
	r.event = "warm-start";
	syslog_sink_send(s, &r);
	gethostname(host, sizeof(host) - 1);
	if ((dot = strchr(host, '.')) != NULL)
		*dot = '\0';
	/* Tag "sluiced[pid]:" gives app-name and procid; the rest is MSG. */
	snprintf(line, sizeof(line), "132|0|"); /* version 0: not RFC 5424 */
	assert_true(wait_in(base, rs, "udp.parsed", line, 1));
	snprintf(line, sizeof(line),
	    "|%s|sluiced|%ld|-|-| warm-start seq=\"42\" "
	    "group=\"configuration\" user=\"admin\"",
	    host, (long)getpid());
	assert_true(wait_in(base, rs, "udp.parsed", line, 1));
	syslog_sink_free(s);
	event_base_free(base);
}

static bool
disconnected(void *arg)
{
	struct syslog_sink_stats st;

	syslog_sink_stats(arg, &st);
	return !st.connected;
}

static bool
drained(void *arg)
{
	struct syslog_sink_stats st;

	syslog_sink_stats(arg, &st);
	return st.connected && st.queued == 0;
}

static void
test_rsyslog_tcp_reconnect(void **state)
{
	struct rsyslog *rs = *state;
	struct event_base *base = event_base_new();
	struct syslog_sink_config c;
	struct syslog_sink_stats st;
	struct syslog_record r;
	struct syslog_sink *s;
	char err[256], want[4096];
	const char *k[1] = { "text" };
	const char *v[1] = { "multi\nline ] \"quoted\"" };
	int i;

	config_init(&c, POLICY_SYSLOG_TCP, POLICY_SYSLOG_RFC5424, rs->tcp_port);
	n_reports = 0;
	s = syslog_sink_new(base, &c, on_report, NULL, err, sizeof(err));
	assert_non_null(s);
	/*
	 * Octet-counted frames back to back: rsyslog sees three messages,
	 * each whole, raw bytes identical to what was formatted.
	 */
	for (i = 1; i <= 3; i++) {
		record_init(&r, (uint64_t)i);
		r.n_fields = 1;
		r.keys = k;
		r.values = v;
		syslog_sink_send(s, &r);
	}
	for (i = 1; i <= 3; i++) {
		record_init(&r, (uint64_t)i);
		r.n_fields = 1;
		r.keys = k;
		r.values = v;
		expected(&c, &r, want, sizeof(want), SYSLOG_SINK_MAX_TCP);
		strcat(want, "\n");
		assert_true(wait_in(base, rs, "tcp.raw", want, 1));
	}
	assert_true(wait_in(base, rs, "tcp.parsed",
	    "|login-failed|[sluice@32473 "
	    "seq=\"3\" group=\"configuration\" text=\"multi\\x0aline \\] "
	    "\\\"quoted\\\"\"]|Login failed\n",
	    1));
	assert_true(run_until(base, drained, s, WAIT_MS));

	/* The receiver goes away: the sink notices, reports once, queues. */
	rsyslog_stop(rs);
	assert_true(run_until(base, disconnected, s, WAIT_MS));
	record_init(&r, 100);
	r.event = "after-restart";
	syslog_sink_send(s, &r);
	syslog_sink_stats(s, &st);
	assert_int_equal(st.queued, 1);
	/* ... and comes back on the same port: reconnect, deliver the queue. */
	assert_true(rsyslog_start(rs));
	assert_true(wait_in(base, rs, "tcp.parsed",
	    "|after-restart|"
	    "[sluice@32473 seq=\"100\"",
	    1));
	assert_true(run_until(base, drained, s, WAIT_MS));
	syslog_sink_stats(s, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(n_reports, 1);
	syslog_sink_free(s);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(test_format_5424),
		cmocka_unit_test(test_format_3164),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_udp_datagram),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_tcp_queue_bound),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_hostname),
	};
	const struct CMUnitTest rsyslog[] = {
		cmocka_unit_test(test_rsyslog_5424_udp),
		cmocka_unit_test(test_rsyslog_3164_udp),
		cmocka_unit_test(test_rsyslog_tcp_reconnect),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests_name("syslog sink", local, NULL, NULL);
	if (!find_rsyslogd()) {
		printf("SKIP: rsyslogd not installed (Debian package rsyslog): "
		       "delivery to a real receiver not tested\n");
		return failed ? 1 : 77;
	}
	failed += cmocka_run_group_tests_name(
	    "rsyslogd", rsyslog, rsyslog_setup, rsyslog_teardown);
	return failed ? 1 : 0;
}
