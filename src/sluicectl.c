/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sluicectl.c - drive sluiced over its control socket.
 *
 * Errors go to stderr in one line that says what and where; the exit
 * status says which kind (enum ctl_exit, documented in sluicectl(8)).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <signal.h>

#include "ctl_proto.h"
#include "pcapng.h"
#include "eventlog.h"
#include "fsutil.h"
#include "policy.h"

#define DEFAULT_STATE LOCALSTATEDIR "/lib/sluice"
#define REPLY_TIMEOUT_MS 30000

static const char *state_dir = DEFAULT_STATE;
static const char *sock_path;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: sluicectl [--state-dir DIR | -s SOCKET] COMMAND\n"
	    "  status [--json]\n"
	    "  services [--json]\n"
	    "  log [--group G] [--since T] [--limit N] [--json|--csv]\n"
	    "  log verify | log clear\n"
	    "  policy check FILE | show | diff FILE | apply FILE\n"
	    "  policy apply --confirm-within SECONDS FILE | --force FILE\n"
	    "  policy confirm\n"
	    "  policy history | rollback [N]\n"
	    "  firewall show [--nft|--json] | firewall flush\n"
	    "  firewall ban ADDRESS [SECONDS] [REASON] | unban ADDRESS | bans [--json]\n"
	    "  modbus stats [--json]\n"
	    "  tags [--json]\n"
	    "  modbus capture [--channel C] [--count N] [--pcap FILE | --json]\n"
	    "  modbus rules test [--from IP] [--port P] --unit U --fc F [--addr A]\n"
	    "                    [--count N] [--value V] [--json]\n"
	    "  account add [--admin] [--temporary] NAME   (password on stdin or prompted)\n"
	    "  account list [--json] | remove NAME | passwd NAME\n"
	    "  cert show [--json] | generate | csr [--cn NAME] [--name N]...\n"
	    "  cert import CERT.pem [KEY.pem [CHAIN.pem]]\n"
	    "  reload | restart\n");
	exit(status);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static int
read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		int pr = poll(&pfd, 1, REPLY_TIMEOUT_MS);

		if (pr == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		r = read(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
ctl_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	int fd;

	if (sock_path != NULL)
		snprintf(path, sizeof(path), "%s", sock_path);
	else
		snprintf(path, sizeof(path), "%s/control.sock", state_dir);
	if (strlen(path) >= sizeof(sun.sun_path))
		die(CTL_EXIT_USAGE, "%s: socket path too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(CTL_EXIT_FAILED, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Send one request; return the reply's "result" or exit with its error. */
static json_t *
call(const char *cmd, json_t *args)
{
	json_t *req, *rep, *result;
	json_error_t jerr;
	uint8_t *frame, hdr[4];
	size_t len, plen;
	char *buf;
	int fd;

	fd = ctl_connect();
	if (fd < 0) {
		json_decref(args);
		die(CTL_EXIT_UNREACHABLE, "cannot reach sluiced at %s%s: %s",
		    sock_path ? sock_path : state_dir,
		    sock_path ? "" : "/control.sock", strerror(errno));
	}
	req = json_pack("{s:s, s:o}", "cmd", cmd, "args",
	    args ? args : json_object());
	frame = ctl_frame_encode(req, &len);
	json_decref(req);
	if (frame == NULL)
		die(CTL_EXIT_FAILED, "request too large");
	if (fsutil_write_all(fd, frame, len) < 0)
		die(CTL_EXIT_UNREACHABLE, "sending to sluiced: %s", strerror(errno));
	free(frame);
	if (read_all(fd, hdr, 4) < 0)
		die(CTL_EXIT_UNREACHABLE, "reading from sluiced: %s",
		    strerror(errno));
	if (ctl_frame_header(hdr, CTL_MAX_REPLY, &plen) < 0)
		die(CTL_EXIT_FAILED, "malformed reply from sluiced");
	buf = malloc(plen);
	if (buf == NULL)
		die(CTL_EXIT_FAILED, "out of memory");
	if (read_all(fd, (uint8_t *)buf, plen) < 0)
		die(CTL_EXIT_UNREACHABLE, "reading from sluiced: %s",
		    strerror(errno));
	close(fd);
	rep = json_loadb(buf, plen, 0, &jerr);
	free(buf);
	if (rep == NULL || !json_is_object(rep))
		die(CTL_EXIT_FAILED, "malformed reply from sluiced");
	if (!json_is_true(json_object_get(rep, "ok"))) {
		json_t *code = json_object_get(rep, "code");
		const char *msg = json_string_value(json_object_get(rep, "error"));

		fprintf(stderr, "sluicectl: %s\n", msg ? msg : "failed");
		exit(json_is_integer(code) ? (int)json_integer_value(code) :
		    CTL_EXIT_FAILED);
	}
	result = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	return result;
}

static void
print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL)
		puts(s);
	free(s);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static const char *
yesno(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key)) ? "yes" : "no";
}

static int
cmd_status(int json)
{
	json_t *r = call("status", NULL), *pol, *ps, *v;
	size_t i;

	if (json) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	pol = json_object_get(r, "policy");
	ps = json_object_get(r, "privilege_separation");
	printf("sluiced %s, engine pid %lld, monitor pid %lld, up %llds\n",
	    str(r, "version"),
	    (long long)json_integer_value(json_object_get(r, "engine_pid")),
	    (long long)json_integer_value(json_object_get(r, "monitor_pid")),
	    (long long)json_integer_value(json_object_get(r, "uptime_s")));
	printf("policy:      %s (loaded %s; last reload: %s)\n",
	    str(pol, "source"), str(pol, "loaded"), str(pol, "last_reload"));
	printf("engine:      user %s (uid %lld), restarts %lld\n",
	    str(ps, "engine_user"),
	    (long long)json_integer_value(json_object_get(ps, "engine_uid")),
	    (long long)json_integer_value(json_object_get(ps, "engine_restarts")));
	printf("monitor:     root %s, CAP_NET_ADMIN %s, CAP_NET_BIND_SERVICE %s\n",
	    yesno(ps, "monitor_root"), yesno(ps, "net_admin"),
	    yesno(ps, "net_bind_service"));
	v = json_object_get(r, "firewall");
	printf("firewall:    %s%s%s\n", str(v, "state"),
	    *str(v, "detail") ? ": " : "", str(v, "detail"));
	printf("services:    %lld enabled (see `sluicectl services`)\n",
	    (long long)json_integer_value(json_object_get(r, "services_enabled")));
	json_array_foreach(json_object_get(pol, "warnings"), i, v)
		printf("warning:     %s\n", json_string_value(v));
	json_array_foreach(json_object_get(r, "limitations"), i, v)
		printf("not enforced: %s\n", json_string_value(v));
	v = json_object_get(r, "eventlog");
	if (v != NULL) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("event log:   %s\n", s ? s : "");
		free(s);
	}
	v = json_object_get(r, "console");
	if (v != NULL) {
		json_t *l, *cert = json_object_get(v, "certificate");
		size_t k;

		printf("console:     ");
		if (json_array_size(json_object_get(v, "listening")) == 0)
			printf("not listening");
		json_array_foreach(json_object_get(v, "listening"), k, l)
			printf("%s%s %lld/%s", k > 0 ? ", " : "", str(l,
			    "service"), (long long)json_integer_value(
			    json_object_get(l, "port")), str(l, "family"));
		printf("; %lld accounts%s, %lld sessions\n",
		    (long long)json_integer_value(json_object_get(v,
		    "accounts")), json_is_true(json_object_get(v,
		    "setup_needed")) ? " (setup needed: see the log for "
		    "the token, or `sluicectl account add --admin NAME`)" :
		    "", (long long)json_integer_value(json_object_get(v,
		    "sessions")));
		if (json_is_object(cert))
			printf("certificate: %s, %s, until %s (%lld days)%s\n",
			    str(cert, "subject"), str(json_object_get(cert,
			    "key"), "name"), str(cert, "not_after"),
			    (long long)json_integer_value(json_object_get(cert,
			    "days_left")), json_is_true(json_object_get(cert,
			    "self_signed")) ? ", self-signed" : "");
	}
	json_decref(r);
	return 0;
}

static long long
num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* One line of counters: requests, answers, errors, round trips. */
static void
print_counters(const char *indent, json_t *st)
{
	json_t *rtt = json_object_get(st, "rtt_us"), *ex;
	const char *k;
	json_t *v;

	printf("%srequests %lld  responses %lld  timeouts %lld  retries %lld  "
	    "crc %lld  framing %lld  late %lld  malformed %lld  queue %lld/%lld",
	    indent, num(st, "requests"), num(st, "responses"),
	    num(st, "timeouts"), num(st, "retries"), num(st, "crc_errors"),
	    num(st, "frame_errors"), num(st, "late"), num(st, "malformed"),
	    num(st, "queue_depth"), num(st, "queue_max"));
	ex = json_object_get(st, "exceptions");
	if (json_object_size(ex) > 0) {
		printf("  exceptions");
		json_object_foreach(ex, k, v)
			printf(" %s:%lld", k, (long long)json_integer_value(v));
	}
	if (rtt != NULL)
		printf("\n%srtt min/avg/max %.3f/%.3f/%.3f ms", indent,
		    num(rtt, "min") / 1000.0, num(rtt, "avg") / 1000.0,
		    num(rtt, "max") / 1000.0);
	putchar('\n');
}

static int
cmd_modbus_stats(int json)
{
	json_t *r = call("modbus.stats", NULL), *v, *c, *s;
	size_t i, j;

	if (json) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	json_array_foreach(json_object_get(r, "listeners"), i, v)
		printf("listener %s port %lld%s: %s%s%s\n", str(v, "family"),
		    num(v, "port"), json_is_true(json_object_get(v, "priority")) ?
		    " (priority)" : "", str(v, "state"),
		    *str(v, "reason") ? ": " : "", str(v, "reason"));
	v = json_object_get(r, "connections");
	printf("connections %lld of %lld (accepted %lld, refused %lld, "
	    "evicted %lld)\n", num(v, "open"), num(v, "max"),
	    num(v, "accepted"), num(v, "refused"), num(v, "evicted"));
	print_counters("  ", json_object_get(r, "total"));
	json_array_foreach(json_object_get(r, "channels"), i, c) {
		printf("channel %s (%s %s): %s%s%s\n", str(c, "name"),
		    str(c, "kind"), str(c, "device"), str(c, "state"),
		    *str(c, "reason") ? ": " : "", str(c, "reason"));
		print_counters("  ", json_object_get(c, "stats"));
		json_array_foreach(json_object_get(c, "slaves"), j, s) {
			printf("  unit %lld%s\n", num(s, "unit"),
			    json_is_true(json_object_get(s, "dead")) ?
			    " (not answering)" : "");
			print_counters("    ", s);
		}
	}
	json_array_foreach(json_object_get(r, "masters"), i, s) {
		printf("master %s on port %lld, %lld pending\n", str(s, "peer"),
		    num(s, "port"), num(s, "pending"));
		print_counters("  ", s);
	}
	json_array_foreach(json_object_get(json_object_get(r, "agent"),
	    "commands"), i, s) {
		printf("command %s (%s unit %lld fc %lld): %s  polls %lld  good "
		    "%lld  bad %lld  overruns %lld  period %.1f ms of %lld%s%s\n",
		    str(s, "name"), str(s, "channel"), num(s, "unit"),
		    num(s, "function"), json_is_true(json_object_get(s, "ok")) ?
		    "ok" : "failing", num(s, "polls"), num(s, "good"),
		    num(s, "bad"), num(s, "overruns"),
		    json_real_value(json_object_get(s, "period_ms")),
		    num(s, "interval_ms"), *str(s, "last_error") ? "  last: " : "",
		    str(s, "last_error"));
	}
	json_decref(r);
	return 0;
}

static volatile sig_atomic_t capture_stop;

static void
on_stop(int sig)
{
	(void)sig;
	capture_stop = 1;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Hex digits to bytes; returns the count, or -1. */
static ssize_t
unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
		int a = hexval(h[0]), b = hexval(h[1]);

		if (a < 0 || b < 0 || n == max)
			return -1;
		out[n++] = (uint8_t)(a << 4 | b);
	}
	return h[0] == '\0' ? (ssize_t)n : -1;
}

static int
ep_parse(json_t *ep, int *family, uint8_t *addr, uint16_t *port)
{
	const char *a = str(ep, "addr");

	*port = (uint16_t)json_integer_value(json_object_get(ep, "port"));
	*family = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;
	return inet_pton(*family, a, addr) == 1 ? 0 : -1;
}

/* One line per frame: time, direction, where, unit/function, bytes. */
static void
print_frame(json_t *f, const uint8_t *b, ssize_t n)
{
	char when[32], what[64] = "";
	time_t t = (time_t)json_integer_value(json_object_get(f, "sec"));
	struct tm tm;
	const char *link = str(f, "link");
	uint8_t bin[300];
	ssize_t bn = n;
	const uint8_t *u = b;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (strcmp(link, "tcp") == 0 && n >= 8)
		u = b + 6;
	else if (strcmp(link, "ascii") == 0 && n > 3) {
		char tmp[600];

		snprintf(tmp, sizeof(tmp), "%.*s", (int)(n - 3), (const char *)b + 1);
		bn = unhex(tmp, bin, sizeof(bin));
		u = bin;
	}
	if (json_is_true(json_object_get(f, "bad")))
		snprintf(what, sizeof(what), "not a valid frame");
	else if (bn >= 2 && (u[1] & 0x80) && bn >= 3)
		snprintf(what, sizeof(what), "unit %u fc %u exception 0x%02X",
		    u[0], u[1] & 0x7f, u[2]);
	else if (bn >= 2)
		snprintf(what, sizeof(what), "unit %u fc %u", u[0], u[1]);
	printf("%s.%06lld %-3s %-12s %-5s %-28s %s\n", when,
	    (long long)json_integer_value(json_object_get(f, "usec")),
	    str(f, "dir"), str(f, "channel"), link, what, str(f, "hex"));
}

static int
cmd_modbus_capture(int argc, char **argv)
{
	const char *channel = NULL, *pcap = NULL;
	long long count = 0, seen = 0, after = 0;
	int json = 0, i, rc = 0;
	struct pcapng *pw = NULL;
	FILE *pf = NULL;
	struct sigaction sa;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc)
			channel = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			char *end;

			count = strtoll(argv[++i], &end, 10);
			if (*end != '\0' || count < 1)
				die(CTL_EXIT_USAGE, "--count %s: expected a number > 0",
				    argv[i]);
		} else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc)
			pcap = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			usage(CTL_EXIT_USAGE);
	}
	if (pcap != NULL) {
		pf = strcmp(pcap, "-") == 0 ? stdout : fopen(pcap, "wb");
		if (pf == NULL)
			die(CTL_EXIT_FAILED, "%s: %s", pcap, strerror(errno));
		if ((pw = pcapng_open(pf)) == NULL)
			die(CTL_EXIT_FAILED, "out of memory");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The first call starts the capture and says where "now" is. */
	while (!capture_stop && (count == 0 || seen < count)) {
		json_t *args = json_pack("{s:I, s:i}", "after", after, "max",
		    500), *r, *f;
		size_t k;

		if (channel != NULL)
			json_object_set_new(args, "channel", json_string(channel));
		r = call("modbus.capture", args);
		if (json_integer_value(json_object_get(r, "dropped")) > 0)
			fprintf(stderr, "sluicectl: %lld frames lost (the daemon "
			    "keeps %d; fetch more often)\n", (long long)
			    json_integer_value(json_object_get(r, "dropped")),
			    2048);
		json_array_foreach(json_object_get(r, "frames"), k, f) {
			uint8_t b[600];
			ssize_t n = unhex(str(f, "hex"), b, sizeof(b));
			const char *link = str(f, "link");
			int64_t sec = json_integer_value(json_object_get(f, "sec"));
			uint32_t usec = (uint32_t)json_integer_value(
			    json_object_get(f, "usec"));

			if (count > 0 && seen >= count)
				break;
			seen++;
			if (n < 0)
				continue;
			if (pw != NULL && strcmp(link, "tcp") == 0) {
				uint8_t sa_[16], da[16];
				uint16_t sp, dp;
				int fam, fam2;

				if (ep_parse(json_object_get(f, "src"), &fam, sa_,
				    &sp) == 0 && ep_parse(json_object_get(f, "dst"),
				    &fam2, da, &dp) == 0 && fam == fam2)
					(void)pcapng_tcp(pw, sec, usec, fam, sa_, sp, da,
					    dp, b, (size_t)n);
			} else if (pw != NULL)
				(void)pcapng_frame(pw, strcmp(link, "ascii") == 0 ?
				    PCAPNG_IF_ASCII : PCAPNG_IF_RTU, sec, usec, b,
				    (size_t)n);
			else if (json) {
				char *line = json_dumps(f, JSON_COMPACT);

				if (line != NULL)
					puts(line);
				free(line);
			} else
				print_frame(f, b, n);
		}
		after = json_integer_value(json_object_get(r, "next"));
		json_decref(r);
		if (pw == NULL)
			fflush(stdout);
		if (!capture_stop && (count == 0 || seen < count))
			poll(NULL, 0, 100);   /* the daemon keeps 2048 frames */
	}
	if (pw != NULL) {
		if (pcapng_close(pw) < 0 || (pf != stdout && fclose(pf) != 0))
			die(CTL_EXIT_FAILED, "%s: write failed", pcap);
		if (pf != stdout)
			fprintf(stderr, "%lld frames written to %s\n", seen, pcap);
	}
	return rc;
}

/* A request PDU for function fc at addr: what `rules test` asks about. */
static size_t
build_pdu(unsigned fc, unsigned addr, unsigned count, unsigned value,
    uint8_t *b)
{
	size_t n = 0, i;

	b[n++] = (uint8_t)fc;
#define PUT16(v) do { b[n++] = (uint8_t)((v) >> 8); b[n++] = (uint8_t)(v); } while (0)
	switch (fc) {
	case 1: case 2: case 3: case 4:
		PUT16(addr); PUT16(count);
		break;
	case 5:
		PUT16(addr); PUT16(value ? 0xFF00u : 0u);
		break;
	case 6:
		PUT16(addr); PUT16(value);
		break;
	case 15:
		PUT16(addr); PUT16(count);
		b[n++] = (uint8_t)((count + 7) / 8);
		for (i = 0; i < (count + 7) / 8; i++)
			b[n++] = 0;
		break;
	case 16:
		PUT16(addr); PUT16(count);
		b[n++] = (uint8_t)(2 * count);
		for (i = 0; i < count; i++)
			PUT16(value);
		break;
	case 22:
		PUT16(addr); PUT16(0xFFFFu); PUT16(0u);
		break;
	case 23:
		PUT16(addr); PUT16(count); PUT16(addr); PUT16(count);
		b[n++] = (uint8_t)(2 * count);
		for (i = 0; i < count; i++)
			PUT16(value);
		break;
	case 24:
		PUT16(addr);
		break;
	case 8:
		PUT16(0u); PUT16(0u);
		break;
	case 43:
		b[n++] = 0x0E; b[n++] = 1; b[n++] = 0;
		break;
	default:
		break;
	}
#undef PUT16
	return n;
}

static long
num_arg(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	long n = strtol(v, &end, 0);

	if (*v == '\0' || *end != '\0' || n < lo || n > hi)
		die(CTL_EXIT_USAGE, "%s %s: expected %ld..%ld", opt, v, lo, hi);
	return n;
}

static int
cmd_rules_test(int argc, char **argv)
{
	const char *from = "";
	long port = 0, unit = -1, fc = -1, addr = 0, count = 1, value = 0;
	uint8_t pdu[260];
	char hex[600];
	size_t n, i;
	int json = 0, k;
	json_t *r;

	for (k = 3; k < argc; k++) {
		const char *o = argv[k];

		if (strcmp(o, "--json") == 0) {
			json = 1;
			continue;
		}
		if (k + 1 >= argc)
			usage(CTL_EXIT_USAGE);
		if (strcmp(o, "--from") == 0)
			from = argv[++k];
		else if (strcmp(o, "--port") == 0)
			port = num_arg(o, argv[++k], 0, 65535);
		else if (strcmp(o, "--unit") == 0)
			unit = num_arg(o, argv[++k], 0, 255);
		else if (strcmp(o, "--fc") == 0)
			fc = num_arg(o, argv[++k], 1, 127);
		else if (strcmp(o, "--addr") == 0)
			addr = num_arg(o, argv[++k], 0, 65535);
		else if (strcmp(o, "--count") == 0)
			count = num_arg(o, argv[++k], 1, 123);
		else if (strcmp(o, "--value") == 0)
			value = num_arg(o, argv[++k], 0, 65535);
		else
			usage(CTL_EXIT_USAGE);
	}
	if (unit < 0 || fc < 0)
		die(CTL_EXIT_USAGE, "rules test: --unit and --fc are required");
	n = build_pdu((unsigned)fc, (unsigned)addr, (unsigned)count,
	    (unsigned)value, pdu);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", pdu[i]);
	r = call("modbus.rules.test", json_pack("{s:s s:I s:I s:s}", "from",
	    from, "port", (json_int_t)port, "unit", (json_int_t)unit, "pdu",
	    hex));
	if (json)
		print_json(r);
	else {
		fputs(str(r, "explanation"), stdout);
		printf("=> %s (%s)\n", str(r, "action"), str(r, "name"));
	}
	json_decref(r);
	return 0;
}

static int
cmd_services(int json)
{
	json_t *r = call("services", NULL), *s, *ep;
	size_t i, j;

	if (json) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	printf("%-14s %-22s %-9s %-7s %-8s %-8s %s\n", "SERVICE", "PORTS",
	    "CLASS", "ROLE", "POLICY", "HARDENED", "IMPLEMENTED");
	json_array_foreach(r, i, s) {
		char ports[64] = "";
		size_t used = 0;

		json_array_foreach(json_object_get(s, "endpoints"), j, ep) {
			used += (size_t)snprintf(ports + used, sizeof(ports) - used,
			    "%s%lld/%s", j ? "," : "",
			    (long long)json_integer_value(json_object_get(ep, "port")),
			    str(ep, "transport"));
			if (used >= sizeof(ports))
				break;
		}
		printf("%-14s %-22s %-9s %-7s %-8s %-8s %s\n", str(s, "name"),
		    ports, str(s, "class"), str(s, "role"),
		    json_is_true(json_object_get(s, "enabled")) ? "enabled" : "disabled",
		    json_is_true(json_object_get(s, "hardened")) ? "enabled" : "disabled",
		    yesno(s, "implemented"));
	}
	json_decref(r);
	return 0;
}

/* "2026-11-27", "2026-11-27T04:00:00Z", "30m", "2h", "7d", "90s". */
static int64_t
parse_since(const char *s)
{
	struct tm tm;
	char *end;
	long long n;

	n = strtoll(s, &end, 10);
	if (end != s && n >= 0 && end[0] != '\0' && end[1] == '\0' &&
	    strchr("smhd", end[0]) != NULL) {
		long long mul = end[0] == 's' ? 1 : end[0] == 'm' ? 60 :
		    end[0] == 'h' ? 3600 : 86400;

		return (int64_t)time(NULL) - n * mul;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end != NULL && (*end == '\0' || strcmp(end, "Z") == 0))
		return (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0')
		return (int64_t)timegm(&tm);
	die(CTL_EXIT_USAGE, "--since %s: expected a date (2026-11-27), a UTC "
	    "time (2026-11-27T04:00:00Z) or an age (30m, 2h, 7d)", s);
}

static void
csv_field(const char *s)
{
	/* RFC 4180 quoting; a leading = + - @ is defused for spreadsheets. */
	putchar('"');
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
		putchar('\'');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
fields_text(const json_t *fields, char *buf, size_t n)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)fields, k, v) {
		const char *s = json_string_value(v);
		int w = snprintf(buf + used, n - used, "%s%s=%s", used ? " " : "",
		    k, s ? s : "");

		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

static int
print_log(json_t *recs, int format)
{
	json_t *r;
	size_t i;
	char fields[2048];

	if (format == 'j') {
		print_json(recs);
		return 0;
	}
	if (format == 'c')
		puts("seq,time,group,severity,event,fields");
	json_array_foreach(recs, i, r) {
		fields_text(json_object_get(r, "fields"), fields, sizeof(fields));
		if (format == 'c') {
			printf("%lld,", (long long)json_integer_value(
			    json_object_get(r, "seq")));
			csv_field(str(r, "time"));
			putchar(',');
			csv_field(str(r, "group"));
			putchar(',');
			csv_field(str(r, "severity"));
			putchar(',');
			csv_field(str(r, "event"));
			putchar(',');
			csv_field(fields);
			putchar('\n');
		} else
			printf("%6lld %s %-13s %-7s %-22s %s\n",
			    (long long)json_integer_value(json_object_get(r, "seq")),
			    str(r, "time"), str(r, "group"), str(r, "severity"),
			    str(r, "event"), fields);
	}
	return 0;
}

static int
cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *args, *recs;
	int c, format = 't', fd;

	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		char err[512] = "";
		uint64_t count = 0;

		if (argc != 2)
			usage(CTL_EXIT_USAGE);
		if (eventlog_verify(state_dir, &count, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluicectl: event log chain broken: %s\n", err);
			return CTL_EXIT_LOG_BROKEN;
		}
		if (err[0] != '\0')
			fprintf(stderr, "sluicectl: warning: %s\n", err);
		printf("event log intact: %llu records verified in %s\n",
		    (unsigned long long)count, state_dir);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "clear") == 0) {
		if (argc != 2)
			usage(CTL_EXIT_USAGE);
		json_decref(call("log.clear", NULL));
		puts("event log cleared");
		return 0;
	}
	args = json_object();
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long long n;

		switch (c) {
		case 'g':
			if (eventlog_group_find(optarg) < 0)
				die(CTL_EXIT_USAGE, "--group %s: expected system, "
				    "network, configuration or protocol", optarg);
			json_object_set_new(args, "group", json_string(optarg));
			break;
		case 's':
			json_object_set_new(args, "since",
			    json_integer(parse_since(optarg)));
			break;
		case 'n':
			n = strtoll(optarg, &end, 10);
			if (*end != '\0' || n < 1)
				die(CTL_EXIT_USAGE, "--limit %s: expected a positive "
				    "number", optarg);
			json_object_set_new(args, "limit", json_integer(n));
			break;
		case 'j':
		case 'c':
			format = c;
			break;
		default:
			usage(CTL_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(CTL_EXIT_USAGE);
	fd = ctl_connect();
	if (fd < 0) {
		/* The store is readable without the daemon: say so, and read it. */
		struct eventlog_filter f = { -1, 0, 0 };
		json_t *v;

		fprintf(stderr, "sluicectl: sluiced not reachable; reading %s "
		    "directly\n", state_dir);
		if ((v = json_object_get(args, "group")) != NULL)
			f.group = eventlog_group_find(json_string_value(v));
		if ((v = json_object_get(args, "since")) != NULL)
			f.since = json_integer_value(v);
		if ((v = json_object_get(args, "limit")) != NULL)
			f.limit = (size_t)json_integer_value(v);
		json_decref(args);
		recs = eventlog_query(state_dir, &f);
		if (recs == NULL)
			die(CTL_EXIT_FAILED, "%s: %s", state_dir, strerror(errno));
	} else {
		close(fd);
		recs = call("log", args);
	}
	print_log(recs, format);
	json_decref(recs);
	return 0;
}

static json_t *
file_args(const char *path)
{
	char dir[PATH_MAX], *text, *abs;
	json_t *args;
	size_t len;

	if (fsutil_read_file(path, POLICY_MAX_FILE_SIZE, &text, &len) < 0) {
		if (errno == EFBIG)
			die(CTL_EXIT_INVALID_POLICY, "%s: file is larger than the "
			    "%u-byte limit", path, POLICY_MAX_FILE_SIZE);
		die(CTL_EXIT_FAILED, "%s: %s", path, strerror(errno));
	}
	abs = realpath(path, NULL);
	fsutil_dirname(abs ? abs : path, dir, sizeof(dir));
	free(abs);
	args = json_pack("{s:s, s:s%, s:s}", "name", path, "content", text, len,
	    "basedir", dir);
	free(text);
	if (args == NULL)
		die(CTL_EXIT_INVALID_POLICY, "%s: not valid UTF-8 text", path);
	return args;
}

/* A password from the terminal (twice, without echo) or one stdin line. */
static char *
read_password(void)
{
	static char buf[2][1024];
	struct termios t, quiet;
	bool tty = isatty(0);
	int n;

	for (n = 0; n < (tty ? 2 : 1); n++) {
		size_t len;

		if (tty) {
			fputs(n == 0 ? "Password: " : "Again: ", stderr);
			if (tcgetattr(0, &t) == 0) {
				quiet = t;
				quiet.c_lflag &= ~(tcflag_t)ECHO;
				(void)tcsetattr(0, TCSAFLUSH, &quiet);
			}
		}
		if (fgets(buf[n], sizeof(buf[n]), stdin) == NULL)
			buf[n][0] = '\0';
		if (tty) {
			(void)tcsetattr(0, TCSAFLUSH, &t);
			fputc('\n', stderr);
		}
		len = strcspn(buf[n], "\r\n");
		buf[n][len] = '\0';
	}
	if (buf[0][0] == '\0')
		die(CTL_EXIT_USAGE, "no password given");
	if (tty && strcmp(buf[0], buf[1]) != 0)
		die(CTL_EXIT_USAGE, "the passwords differ");
	return buf[0];
}

static int
cmd_account(int argc, char **argv)
{
	json_t *r, *v;
	size_t i;

	if (argc >= 3 && strcmp(argv[1], "add") == 0) {
		const char *name = NULL, *level = "user";
		int temporary = 0, k;

		for (k = 2; k < argc; k++)
			if (strcmp(argv[k], "--admin") == 0)
				level = "admin";
			else if (strcmp(argv[k], "--temporary") == 0)
				temporary = 1;
			else if (name == NULL && argv[k][0] != '-')
				name = argv[k];
			else
				usage(CTL_EXIT_USAGE);
		if (name == NULL)
			usage(CTL_EXIT_USAGE);
		r = call("account.add", json_pack("{s:s,s:s,s:s,s:i}", "name",
		    name, "level", level, "password", read_password(),
		    "temporary", temporary));
		printf("account %s (%s) added%s\n", name, level, temporary ?
		    "; the password must be changed at the first sign-in" : "");
		json_decref(r);
		return 0;
	}
	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "list") == 0) {
		r = call("account.list", NULL);
		if (argc == 3 && strcmp(argv[2], "--json") == 0)
			print_json(r);
		else if (argc == 3)
			usage(CTL_EXIT_USAGE);
		else {
			if (json_array_size(r) == 0)
				puts("no accounts yet");
			json_array_foreach(r, i, v)
				printf("%-32s %-6s%s%s\n", str(v, "name"),
				    str(v, "level"), json_is_true(
				    json_object_get(v, "locked")) ? " locked" :
				    "", json_is_true(json_object_get(v,
				    "must_change")) ? " must-change" : "");
		}
		json_decref(r);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "remove") == 0) {
		json_decref(call("account.remove", json_pack("{s:s}", "name",
		    argv[2])));
		printf("account %s removed\n", argv[2]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "passwd") == 0) {
		json_decref(call("account.password", json_pack("{s:s,s:s}",
		    "name", argv[2], "password", read_password())));
		printf("password of %s set; it must be changed at the next "
		    "sign-in\n", argv[2]);
		return 0;
	}
	usage(CTL_EXIT_USAGE);
}

/* A PEM file as a JSON string. */
static json_t *
pem_file(const char *path)
{
	char *text;
	size_t len;
	json_t *j;

	if (fsutil_read_file(path, 256 * 1024, &text, &len) < 0)
		die(CTL_EXIT_FAILED, "%s: %s", path, strerror(errno));
	if (strlen(text) != len)
		die(CTL_EXIT_USAGE, "%s: not a PEM text file", path);
	j = json_string(text);
	free(text);
	if (j == NULL)
		die(CTL_EXIT_USAGE, "%s: not UTF-8 text", path);
	return j;
}

static int
cmd_cert(int argc, char **argv)
{
	json_t *r;
	int k;

	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "show") == 0) {
		json_t *san;

		r = call("cert.show", NULL);
		if (argc == 3 && strcmp(argv[2], "--json") == 0) {
			print_json(r);
			json_decref(r);
			return 0;
		}
		if (argc == 3)
			usage(CTL_EXIT_USAGE);
		san = json_object_get(r, "san");
		printf("subject      %s\nissuer       %s\nkey          %s\n"
		    "valid        %s .. %s (%lld days left)\n"
		    "fingerprint  %s\nself-signed  %s\n", str(r, "subject"),
		    str(r, "issuer"), str(json_object_get(r, "key"), "name"),
		    str(r, "not_before"), str(r, "not_after"),
		    (long long)json_integer_value(json_object_get(r,
		    "days_left")), str(r, "fingerprint_sha256"),
		    json_is_true(json_object_get(r, "self_signed")) ? "yes" :
		    "no");
		if (san != NULL) {
			char *t = json_dumps(san, JSON_COMPACT);

			printf("names        %s\n", t != NULL ? t : "");
			free(t);
		}
		json_decref(r);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "generate") == 0) {
		r = call("cert.generate", NULL);
		printf("new self-signed certificate: %s (%s)\n", str(r,
		    "subject"), str(json_object_get(r, "key"), "name"));
		json_decref(r);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "csr") == 0) {
		json_t *args = json_object(), *names = json_array();

		for (k = 2; k < argc; k++)
			if (strcmp(argv[k], "--cn") == 0 && k + 1 < argc)
				json_object_set_new(args, "common_name",
				    json_string(argv[++k]));
			else if (strcmp(argv[k], "--name") == 0 && k + 1 < argc)
				json_array_append_new(names,
				    json_string(argv[++k]));
			else
				usage(CTL_EXIT_USAGE);
		json_object_set_new(args, "names", names);
		r = call("cert.csr", args);
		fputs(str(r, "csr"), stdout);
		json_decref(r);
		return 0;
	}
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "import") == 0) {
		json_t *args = json_object();

		json_object_set_new(args, "certificate", pem_file(argv[2]));
		if (argc >= 4)
			json_object_set_new(args, "key", pem_file(argv[3]));
		if (argc == 5)
			json_object_set_new(args, "chain", pem_file(argv[4]));
		r = call("cert.import", args);
		printf("certificate imported: %s, valid until %s\n",
		    str(r, "subject"), str(r, "not_after"));
		json_decref(r);
		return 0;
	}
	usage(CTL_EXIT_USAGE);
}

static int
cmd_policy(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	long long confirm = 0;
	int force = 0;
	json_t *r, *v;
	size_t i;

	if (strcmp(sub, "check") == 0 && argc == 3) {
		struct policy_error err = { "" };
		struct policy *p;

		if (access(argv[2], R_OK) < 0)
			die(CTL_EXIT_FAILED, "%s: %s", argv[2], strerror(errno));
		p = policy_load_file(argv[2], &err);
		if (p == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			return CTL_EXIT_INVALID_POLICY;
		}
		for (i = 0; i < p->n_warnings; i++)
			fprintf(stderr, "%s: warning: %s\n", argv[2], p->warnings[i]);
		printf("%s: policy is valid\n", argv[2]);
		policy_free(p);
		return 0;
	}
	if (strcmp(sub, "show") == 0 && argc == 2) {
		r = call("policy.show", NULL);
		printf("# running policy, from %s\n%s", str(r, "source"),
		    str(r, "yaml"));
		json_decref(r);
		return 0;
	}
	if (strcmp(sub, "confirm") == 0 && argc == 2) {
		json_decref(call("policy.confirm", NULL));
		puts("change confirmed: it stays");
		return 0;
	}
	if (strcmp(sub, "apply") == 0 && argc == 4 &&
	    strcmp(argv[2], "--force") == 0) {
		force = 1;
		argv[2] = argv[3];
		argc = 3;
	}
	if (strcmp(sub, "apply") == 0 && argc == 5 &&
	    strcmp(argv[2], "--confirm-within") == 0) {
		/* Commit-confirmed, as on a router: sluicectl policy confirm or
		 * the previous policy comes back by itself. */
		char *end;
		long long n = strtoll(argv[3], &end, 10);

		if (*end != '\0' || n < 1 || n > 86400)
			die(CTL_EXIT_USAGE, "--confirm-within %s: expected 1..86400 "
			    "seconds", argv[3]);
		confirm = n;
		argv[2] = argv[4];
		argc = 3;
	}
	if ((strcmp(sub, "diff") == 0 || strcmp(sub, "apply") == 0) && argc == 3) {
		bool apply = sub[0] == 'a';
		json_t *res, *e, *args = file_args(argv[2]);

		if (confirm > 0)
			json_object_set_new(args, "confirm_within",
			    json_integer(confirm));
		/* Lets the daemon refuse a policy that would cut this session. */
		if (apply && getenv("SSH_CONNECTION") != NULL)
			json_object_set_new(args, "ssh_connection",
			    json_string(getenv("SSH_CONNECTION")));
		if (apply && force)
			json_object_set_new(args, "force", json_integer(1));
		res = call(apply ? "policy.apply" : "policy.diff", args);
		v = apply ? json_object_get(res, "changes") : res;
		json_array_foreach(v, i, e) {
			const char *o = json_string_value(json_object_get(e, "old"));
			const char *n = json_string_value(json_object_get(e, "new"));

			printf("%s: %s -> %s\n", str(e, "key"), o ? o : "(absent)",
			    n ? n : "(absent)");
		}
		if (apply && strcmp(str(res, "saved"), "unchanged") == 0)
			puts("no changes: the running policy already matches");
		else if (apply)
			printf("%zu change(s) applied; saved to %s\n",
			    json_array_size(v), str(res, "saved"));
		if (apply && confirm > 0 && json_object_get(res, "confirm_by"))
			printf("reverted in %lld s unless you run `sluicectl policy "
			    "confirm`\n", confirm);
		else if (json_array_size(v) == 0)
			puts("no differences");
		json_decref(res);
		return 0;
	}
	if (strcmp(sub, "history") == 0 && argc == 2) {
		r = call("policy.history", NULL);
		if (json_array_size(r) == 0)
			puts("no earlier versions kept");
		json_array_foreach(r, i, v)
			printf("%2lld  replaced %s  %lld bytes  %s\n",
			    (long long)json_integer_value(json_object_get(v, "version")),
			    str(v, "replaced"),
			    (long long)json_integer_value(json_object_get(v, "bytes")),
			    str(v, "path"));
		json_decref(r);
		return 0;
	}
	if (strcmp(sub, "rollback") == 0 && argc <= 3) {
		long long n = 1;
		char *end;

		if (argc == 3) {
			n = strtoll(argv[2], &end, 10);
			if (*end != '\0' || n < 1 || n > 10)
				die(CTL_EXIT_USAGE, "rollback %s: expected a version "
				    "1..10 (see `sluicectl policy history`)", argv[2]);
		}
		r = call("policy.rollback", json_pack("{s:I}", "version",
		    (json_int_t)n));
		printf("rolled back to version %lld: %zu change(s)\n", n,
		    json_array_size(json_object_get(r, "changes")));
		json_decref(r);
		return 0;
	}
	usage(CTL_EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int c, json = 0;

	if (getenv("SLUICE_STATE_DIR") != NULL && *getenv("SLUICE_STATE_DIR"))
		state_dir = getenv("SLUICE_STATE_DIR");
	/* Stop at the command: its own options follow it. */
	while ((c = getopt_long(argc, argv, "+s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			state_dir = optarg;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("sluicectl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(CTL_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(CTL_EXIT_USAGE);
	cmd = argv[0];
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = 1;
	else if (argc > 1 && (strcmp(cmd, "status") == 0 ||
	    strcmp(cmd, "services") == 0 || strcmp(cmd, "reload") == 0))
		usage(CTL_EXIT_USAGE);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(json);
	if (strcmp(cmd, "services") == 0)
		return cmd_services(json);
	if (strcmp(cmd, "log") == 0)
		return cmd_log(argc, argv);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(argc, argv);
	if (strcmp(cmd, "debug") == 0 && argc == 2 &&
	    (strcmp(argv[1], "monitor-hash") == 0 ||
	    strcmp(argv[1], "monitor-keygen") == 0)) {
		/* For tests of the monitor (daemon started with SLUICE_TEST_HOOKS=1). */
		char name[32];
		json_t *r;

		snprintf(name, sizeof(name), "debug.%s", argv[1]);
		r = call(name, NULL);
		print_json(r ? r : json_null());
		json_decref(r);
		return 0;
	}
	if (strcmp(cmd, "firewall") == 0 && argc >= 3 && argc <= 5 &&
	    strcmp(argv[1], "ban") == 0) {
		json_t *args = json_pack("{s:s}", "address", argv[2]);
		char *end;

		if (argc >= 4) {
			long long n = strtoll(argv[3], &end, 10);

			if (*end != '\0' || n < 1)
				die(CTL_EXIT_USAGE, "ban %s: expected seconds > 0",
				    argv[3]);
			json_object_set_new(args, "seconds", json_integer(n));
		}
		if (argc == 5)
			json_object_set_new(args, "reason", json_string(argv[4]));
		json_decref(call("firewall.ban", args));
		printf("%s banned\n", argv[2]);
		return 0;
	}
	if (strcmp(cmd, "firewall") == 0 && argc == 3 &&
	    strcmp(argv[1], "unban") == 0) {
		json_decref(call("firewall.unban", json_pack("{s:s}", "address",
		    argv[2])));
		printf("%s unbanned\n", argv[2]);
		return 0;
	}
	if (strcmp(cmd, "firewall") == 0 && argc >= 2 && argc <= 3 &&
	    strcmp(argv[1], "bans") == 0) {
		json_t *r = call("firewall.bans", NULL), *v;
		size_t i;

		if (argc == 3 && strcmp(argv[2], "--json") == 0)
			print_json(r);
		else if (argc == 3)
			usage(CTL_EXIT_USAGE);
		else {
			if (json_array_size(r) == 0)
				puts("no sources banned");
			json_array_foreach(r, i, v)
				printf("%-40s %6llds left  %s\n", str(v, "address"),
				    (long long)json_integer_value(
				    json_object_get(v, "remaining")),
				    str(v, "reason"));
		}
		json_decref(r);
		return 0;
	}
	if (strcmp(cmd, "firewall") == 0 && argc >= 2 &&
	    strcmp(argv[1], "flush") == 0 && argc == 2) {
		json_decref(call("firewall.flush", NULL));
		puts("table inet sluice removed (the next apply or reload loads "
		    "it again)");
		return 0;
	}
	if (strcmp(cmd, "firewall") == 0 && argc >= 2 &&
	    strcmp(argv[1], "show") == 0 && argc <= 3) {
		const char *opt = argc == 3 ? argv[2] : "";
		json_t *r;

		if (*opt && strcmp(opt, "--nft") != 0 && strcmp(opt, "--json") != 0)
			usage(CTL_EXIT_USAGE);
		r = call("firewall.show", NULL);
		if (strcmp(opt, "--json") == 0)
			print_json(r);
		else if (strcmp(opt, "--nft") == 0)
			fputs(str(r, "nft"), stdout);
		else
			printf("firewall %s%s%s\n%lld rules, %lld sets in table inet "
			    "sluice (sluicectl firewall show --nft prints them)\n",
			    str(r, "state"), *str(r, "detail") ? ": " : "",
			    str(r, "detail"),
			    (long long)json_integer_value(json_object_get(r, "rules")),
			    (long long)json_integer_value(json_object_get(r, "sets")));
		if (!*opt) {
			json_t *ctr;
			size_t i;

			json_array_foreach(json_object_get(r, "counters"), i, ctr)
				if (json_integer_value(json_object_get(ctr,
				    "packets")) > 0)
					printf("  %-40s %-6s %lld packets\n",
					    str(ctr, "rule"), str(ctr, "verdict"),
					    (long long)json_integer_value(
					    json_object_get(ctr, "packets")));
			if (json_array_size(json_object_get(r, "sources")) > 0)
				printf("busiest sources (the kernel forgets "
				    "one 2 min after its last drop)%s:\n",
				    strcmp(str(r,
				    "source_accounting"), "full") == 0 ?
				    " - table full, new sources uncounted" : "");
			json_array_foreach(json_object_get(r, "sources"), i, ctr)
				printf("  %-40s %-39s %lld packets\n",
				    str(ctr, "address"), str(ctr, "rule"),
				    (long long)json_integer_value(
				    json_object_get(ctr, "packets")));
		}
		json_decref(r);
		return 0;
	}
	if (strcmp(cmd, "modbus") == 0 && argc >= 2 && argc <= 3 &&
	    strcmp(argv[1], "stats") == 0) {
		if (argc == 3 && strcmp(argv[2], "--json") != 0)
			usage(CTL_EXIT_USAGE);
		return cmd_modbus_stats(argc == 3);
	}
	if (strcmp(cmd, "tags") == 0 && argc <= 2) {
		json_t *r = call("tags", NULL), *v;
		size_t i;

		if (json)
			print_json(r);
		else {
			if (json_array_size(r) == 0)
				puts("no tags (agent mode only)");
			json_array_foreach(r, i, v) {
				json_t *val = json_object_get(v, "value");
				char buf[64];

				if (json_is_real(val))
					snprintf(buf, sizeof(buf), "%g",
					    json_real_value(val));
				else if (json_is_boolean(val))
					snprintf(buf, sizeof(buf), "%s",
					    json_is_true(val) ? "true" : "false");
				else
					snprintf(buf, sizeof(buf), "\"%s\"",
					    json_string_value(val) ?
					    json_string_value(val) : "");
				printf("%-32s %-8s %16s %-6s %s%s%s\n", str(v, "name"),
				    str(v, "type"), buf, str(v, "unit"),
				    str(v, "quality"), strcmp(str(v, "reason"),
				    "none") != 0 ? ": " : "",
				    strcmp(str(v, "reason"), "none") != 0 ?
				    str(v, "reason") : "");
			}
		}
		json_decref(r);
		return 0;
	}
	if (strcmp(cmd, "modbus") == 0 && argc >= 2 &&
	    strcmp(argv[1], "capture") == 0)
		return cmd_modbus_capture(argc, argv);
	if (strcmp(cmd, "modbus") == 0 && argc >= 3 &&
	    strcmp(argv[1], "rules") == 0 && strcmp(argv[2], "test") == 0)
		return cmd_rules_test(argc, argv);
	if (strcmp(cmd, "account") == 0)
		return cmd_account(argc, argv);
	if (strcmp(cmd, "cert") == 0)
		return cmd_cert(argc, argv);
	if (strcmp(cmd, "debug") == 0 && argc == 3 &&
	    strcmp(argv[1], "clock") == 0) {
		/* Tests: move the console's clock (SLUICE_TEST_HOOKS=1). */
		json_decref(call("debug.clock", json_pack("{s:I}", "advance",
		    (json_int_t)strtoll(argv[2], NULL, 10))));
		return 0;
	}
	if (strcmp(cmd, "restart") == 0 && argc == 1) {
		json_t *r = call("restart", NULL);

		puts(str(r, "message"));
		json_decref(r);
		return 0;
	}
	if (strcmp(cmd, "reload") == 0) {
		json_t *r = call("reload", NULL);

		puts(str(r, "message"));
		json_decref(r);
		return 0;
	}
	fprintf(stderr, "sluicectl: unknown command \"%s\"\n", cmd);
	usage(CTL_EXIT_USAGE);
}
