/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_eventlog.c - the event log: store, rotation, chain verification and
 * tamper detection, clear, crash recovery, write failures, routing.
 *
 * log_error/log_warn/log_debug are wrapped (-Wl,--wrap) so the tests can
 * count what the module reports.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#include <jansson.h>
#include <sodium.h>

#include "eventlog.h"
#include "eventlog_test.h"
#include "log.h"
#include "policy.h"

/* --- captured diagnostics ------------------------------------------------- */

#define PRINTF __attribute__((format(printf, 1, 2)))
void __wrap_log_error(const char *fmt, ...) PRINTF;
void __wrap_log_warn(const char *fmt, ...) PRINTF;
void __wrap_log_info(const char *fmt, ...) PRINTF;
void __wrap_log_debug(const char *fmt, ...) PRINTF;

static int n_error, n_warn, n_debug;
static char last_error[2048], last_warn[2048], last_debug[2048];

void
__wrap_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	n_error++;
}

void
__wrap_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
	va_end(ap);
	n_warn++;
}

void
__wrap_log_info(const char *fmt, ...)
{
}

void
__wrap_log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(last_debug, sizeof(last_debug), fmt, ap);
	va_end(ap);
	n_debug++;
}

/* --- fixtures ------------------------------------------------------------- */

struct fx {
	char dir[PATH_MAX];
	struct event_base *base;
	int udp; /* a syslog receiver, or -1 */
	uint16_t udp_port;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s/test_eventlog.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	fx->udp = -1;
	n_error = n_warn = n_debug = 0;
	last_error[0] = last_warn[0] = '\0';
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	struct dirent *de;
	DIR *d;

	eventlog_fini();
	if (fx->base != NULL)
		event_base_free(fx->base);
	if (fx->udp != -1)
		close(fx->udp);
	if ((d = opendir(fx->dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(fx->dir);
	free(fx);
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

static void
path_of(const struct fx *fx, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", fx->dir, name);
}

static bool
exists(const struct fx *fx, const char *name)
{
	char p[PATH_MAX + 64];

	path_of(fx, name, p, sizeof(p));
	return access(p, F_OK) == 0;
}

static off_t
file_size(const struct fx *fx, const char *name)
{
	char p[PATH_MAX + 64];
	struct stat st;

	path_of(fx, name, p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* A policy with the local store only, every event local. */
static void
policy_init(struct policy *p, uint32_t max_bytes, unsigned files)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->logging.local.max_bytes = max_bytes;
	p->logging.local.files = files;
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		p->logging.events[i] = EVENTLOG_SINK_LOCAL;
}

/* Open a UDP syslog receiver on loopback and point p at it. */
static void
policy_syslog_udp(struct fx *fx, struct policy *p)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (fx->udp == -1) {
		fx->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(fx->udp >= 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(
		    bind(fx->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(
		    getsockname(fx->udp, (struct sockaddr *)&sin, &len), 0);
		fx->udp_port = ntohs(sin.sin_port);
	}
	p->services[REGISTRY_SYSLOG_CLIENT].enabled = true;
	snprintf(p->logging.syslog.server, sizeof(p->logging.syslog.server),
	    "127.0.0.1");
	p->logging.syslog.port = fx->udp_port;
	p->logging.syslog.transport = POLICY_SYSLOG_UDP;
	p->logging.syslog.format = POLICY_SYSLOG_RFC5424;
	p->logging.syslog.facility = 16;
}

/*
 * Datagrams already received.  Loopback UDP is delivered inside send(),
 * and the sink sends inside eventlog_emit(), so nothing needs waiting for.
 */
static int
udp_drain(struct fx *fx, char msgs[][4096], int max)
{
	int n = 0;

	for (;;) {
		char spill[8];
		char *buf = n < max ? msgs[n] : spill;
		size_t len = n < max ? sizeof(msgs[n]) : sizeof(spill);
		ssize_t r = recv(fx->udp, buf, len - 1, MSG_DONTWAIT);

		if (r < 0)
			break;
		buf[r] = '\0';
		n++;
	}
	return n;
}

static json_t *
query_all(const struct fx *fx)
{
	struct eventlog_filter f = { -1, 0, 0 };
	json_t *a = eventlog_query(fx->dir, &f);

	assert_non_null(a);
	return a;
}

static const char *
rec_str(json_t *r, const char *key)
{
	return json_string_value(json_object_get(r, key));
}

static const char *
rec_field(json_t *r, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(r, "fields"), key));
}

static uint64_t
rec_seq(json_t *r)
{
	return (uint64_t)json_integer_value(json_object_get(r, "seq"));
}

static void
emit_n(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
		    EVENTLOG_LOGIN_FAILED, "user", "admin", "n", v, NULL);
	}
}

static void
verify_ok(const struct fx *fx, uint64_t expect)
{
	char err[1024] = "x";
	uint64_t count = 0;
	int r = eventlog_verify(fx->dir, &count, err, sizeof(err));

	if (r != 0)
		fail_msg("verify: %s", err);
	assert_int_equal(count, expect);
	assert_string_equal(err, "");
}

/* --- lines of a store file ------------------------------------------------ */

struct lines {
	char *l[512];
	size_t n;
};

static void
lines_read(const struct fx *fx, const char *name, struct lines *ls)
{
	char p[PATH_MAX + 64], buf[8192];
	FILE *f;

	path_of(fx, name, p, sizeof(p));
	memset(ls, 0, sizeof(*ls));
	assert_non_null(f = fopen(p, "r"));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		assert_true(ls->n < 512);
		ls->l[ls->n++] = strdup(buf);
	}
	fclose(f);
}

static void
lines_write(const struct fx *fx, const char *name, struct lines *ls)
{
	char p[PATH_MAX + 64];
	FILE *f;
	size_t i;

	path_of(fx, name, p, sizeof(p));
	assert_non_null(f = fopen(p, "w"));
	for (i = 0; i < ls->n; i++) {
		fputs(ls->l[i], f);
		free(ls->l[i]);
	}
	fclose(f);
	ls->n = 0;
}

static void
lines_free(struct lines *ls)
{
	while (ls->n > 0)
		free(ls->l[--ls->n]);
}

/* A loop, not memmove: valgrind 3.19 flags the fortified one wrongly. */
static void
lines_delete(struct lines *ls, size_t i)
{
	free(ls->l[i]);
	for (; i + 1 < ls->n; i++)
		ls->l[i] = ls->l[i + 1];
	ls->n--;
}

static uint64_t
line_seq(const char *line)
{
	json_t *o = json_loads(line, 0, NULL);
	uint64_t s;

	assert_non_null(o);
	s = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	json_decref(o);
	return s;
}

/* Re-hash a record after editing it, as an attacker without the chain would. */
static char *
rehash(const char *line, const char *field, const char *value)
{
	json_t *o = json_loads(line, 0, NULL);
	unsigned char prev[32], h[32];
	char hex[65], *canon, *out;
	crypto_hash_sha256_state st;

	assert_non_null(o);
	json_object_set_new(
	    json_object_get(o, "fields"), field, json_string(value));
	json_object_del(o, "hash");
	assert_int_equal(
	    sodium_hex2bin(prev, 32, rec_str(o, "prev"), 64, NULL, NULL, NULL),
	    0);
	canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, prev, 32);
	crypto_hash_sha256_update(&st, (unsigned char *)canon, strlen(canon));
	crypto_hash_sha256_final(&st, h);
	free(canon);
	sodium_bin2hex(hex, sizeof(hex), h, 32);
	json_object_set_new(o, "hash", json_string(hex));
	canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	assert_true(asprintf(&out, "%s\n", canon) > 0);
	free(canon);
	return out;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_emit_query(void **state)
{
	struct fx *fx = *state;
	char big[3000], bad[] = "caf\xc3\xa9 \xff\xfe end \"q\" \\ \n",
			p[PATH_MAX + 64];
	struct eventlog_filter f = { -1, 0, 0 };
	struct stat st;
	json_t *a, *r;
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_NOTICE, EVENTLOG_COLD_START,
	    "boot", "1", NULL);
	eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING, EVENTLOG_LINK_DOWN,
	    "if", bad, "big", big, NULL);
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    EVENTLOG_LOGIN_FAILED, "user", "admin", "from", "192.0.2.7", "k1",
	    "1", "k2", "2", "k3", "3", "k4", "4", "k5", "5", "k6", "6", "k7",
	    "7", "k8", "8", "k9", "9", "k10", "10", "k11", "11", "k12", "12",
	    "k13", "13", "k14", "14", "k15", "15", "k16", "16", "k17", "17",
	    "k18", "18", "k19", "19", "k20", "20", "k21", "21", "k22", "22",
	    "k23", "23", "k24", "24", "k25", "25", "k26", "26", "k27", "27",
	    "k28", "28", "k29", "29", "k30", "30", "k31", "31", "k32", "32",
	    "k33", "33", "k34", "34", NULL);

	path_of(fx, "events.log", p, sizeof(p));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	a = query_all(fx);
	assert_int_equal(json_array_size(a), 3);
	for (i = 0; i < 3; i++) {
		const char *t;

		r = json_array_get(a, i);
		assert_int_equal(rec_seq(r), i + 1);
		t = rec_str(r, "time");
		/* 2026-11-27T04:20:37.123456Z */
		assert_int_equal(strlen(t), 27);
		assert_true(t[10] == 'T' && t[19] == '.' && t[26] == 'Z');
		assert_int_equal(strlen(rec_str(r, "hash")), 64);
	}
	r = json_array_get(a, 0);
	assert_string_equal(rec_str(r, "event"), "cold-start");
	assert_string_equal(rec_str(r, "group"), "system");
	assert_string_equal(rec_str(r, "severity"), "notice");
	assert_string_equal(rec_field(r, "boot"), "1");
	assert_string_equal(rec_str(r, "prev"),
	    "0000000000000000000000000000000000000000000000000000000000000000");
	r = json_array_get(a, 1);
	assert_string_equal(
	    rec_str(r, "prev"), rec_str(json_array_get(a, 0), "hash"));
	/* Not UTF-8: each bad byte is U+FFFD; the rest is kept as it was. */
	assert_string_equal(rec_field(r, "if"),
	    "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end \"q\" \\ \n");
	assert_int_equal(strlen(rec_field(r, "big")), EVENTLOG_MAX_VALUE);
	r = json_array_get(a, 2);
	assert_int_equal(json_object_size(json_object_get(r, "fields")),
	    EVENTLOG_MAX_FIELDS);
	assert_string_equal(rec_field(r, "from"), "192.0.2.7");
	assert_null(rec_field(r, "k31"));
	json_decref(a);

	/* Filters: group, limit (newest kept), since. */
	f.group = EVENTLOG_NETWORK;
	a = eventlog_query(fx->dir, &f);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(
	    rec_str(json_array_get(a, 0), "event"), "link-down");
	json_decref(a);
	f.group = -1;
	f.limit = 2;
	a = eventlog_query(fx->dir, &f);
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(rec_seq(json_array_get(a, 0)), 2);
	assert_int_equal(rec_seq(json_array_get(a, 1)), 3);
	json_decref(a);
	f.limit = 0;
	f.since = (int64_t)time(NULL) + 3600;
	a = eventlog_query(fx->dir, &f);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	f.since = (int64_t)time(NULL) - 3600;
	a = eventlog_query(fx->dir, &f);
	assert_int_equal(json_array_size(a), 3);
	json_decref(a);

	verify_ok(fx, 3);
	/* A missing directory is an error, an empty one an empty log. */
	errno = 0;
	assert_null(eventlog_query("/nonexistent/sluice", &f));
	assert_int_equal(errno, ENOENT);
}

static void
test_rotation(void **state)
{
	struct fx *fx = *state;
	struct policy p;
	char name[32];
	json_t *a;
	size_t i;
	unsigned n;

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	policy_init(&p, 2000, 3);
	assert_int_equal(eventlog_configure(&p, NULL), 0);
	emit_n(100);
	assert_true(exists(fx, "events.log"));
	for (n = 1; n <= 3; n++) {
		snprintf(name, sizeof(name), "events.log.%u", n);
		assert_true(exists(fx, name));
		assert_true(file_size(fx, name) <= 2000);
		/* Rotated files are full: the next record did not fit. */
		assert_true(file_size(fx, name) > 2000 - 400);
	}
	assert_false(exists(fx, "events.log.4"));
	assert_true(file_size(fx, "events.log") <= 2000);

	/* Retained records are contiguous and end with the last one. */
	a = query_all(fx);
	assert_true(json_array_size(a) > 10 && json_array_size(a) < 100);
	for (i = 1; i < json_array_size(a); i++)
		assert_int_equal(rec_seq(json_array_get(a, i)),
		    rec_seq(json_array_get(a, i - 1)) + 1);
	assert_int_equal(
	    rec_seq(json_array_get(a, json_array_size(a) - 1)), 100);
	verify_ok(fx, json_array_size(a));
	json_decref(a);

	/* Fewer files: the surplus goes at the next rotation. */
	policy_init(&p, 2000, 1);
	assert_int_equal(eventlog_configure(&p, NULL), 0);
	emit_n(10);
	assert_true(exists(fx, "events.log.1"));
	assert_false(exists(fx, "events.log.2"));
	assert_false(exists(fx, "events.log.3"));
	a = query_all(fx);
	verify_ok(fx, json_array_size(a));
	json_decref(a);

	/* The chain and seq continue across a restart. */
	eventlog_fini();
	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	emit_n(1);
	a = query_all(fx);
	assert_int_equal(
	    rec_seq(json_array_get(a, json_array_size(a) - 1)), 111);
	verify_ok(fx, json_array_size(a));
	json_decref(a);
	assert_int_equal(n_error, 0);
	assert_int_equal(n_warn, 0);
}

enum tamper {
	EDIT_BYTE, /* a byte of a record changed */
	BREAK_JSON, /* a byte changed so the line no longer parses */
	DELETE_LINE,
	DELETE_FIRST_LINE, /* of a rotated file: the break spans two files */
	SWAP_LINES,
	REHASH, /* a record changed and its own hash recomputed */
	TRUNCATE_TAIL, /* the last record removed */
	CUT_TAIL, /* the last record cut in half */
	DROP_FILE, /* a whole rotated file removed */
	REPLACE_HEAD, /* events.head names another hash */
};

static const struct {
	const char *name;
	enum tamper kind;
} tampers[] = {
	{ "edit a byte", EDIT_BYTE },
	{ "break the json", BREAK_JSON },
	{ "delete a line", DELETE_LINE },
	{ "delete the first line of a file", DELETE_FIRST_LINE },
	{ "swap two lines", SWAP_LINES },
	{ "re-hash an edited record", REHASH },
	{ "truncate the tail", TRUNCATE_TAIL },
	{ "cut the last record", CUT_TAIL },
	{ "drop a rotated file", DROP_FILE },
	{ "replace the head", REPLACE_HEAD },
};

static void
test_tamper(void **state)
{
	struct fx *fx = *state;
	struct policy p;
	struct lines ls, l2;
	char expect[2 * PATH_MAX + 512], err[2 * PATH_MAX + 512], *line, *q;
	uint64_t count, s;
	json_t *a;
	size_t t;

	for (t = 0; t < sizeof(tampers) / sizeof(tampers[0]); t++) {
		char cmd[PATH_MAX + 64];
		struct dirent *de;
		DIR *d;

		/* A fresh store of 40 records over events.log, .1, .2, .3. */
		assert_non_null(d = opendir(fx->dir));
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
		assert_int_equal(eventlog_init(NULL, fx->dir), 0);
		policy_init(&p, 2000, 3);
		assert_int_equal(eventlog_configure(&p, NULL), 0);
		emit_n(40);
		eventlog_fini();
		a = query_all(fx);
		verify_ok(fx, json_array_size(a));
		json_decref(a);

		lines_read(fx, "events.log.1", &ls);
		assert_true(ls.n >= 4);
		switch (tampers[t].kind) {
		case EDIT_BYTE:
			s = line_seq(ls.l[2]);
			q = strstr(ls.l[2], "\"user\":\"admin\"");
			assert_non_null(q);
			q[9] = 'A';
			lines_write(fx, "events.log.1", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:3: seq "
			    "%llu: hash mismatch: the record was altered",
			    fx->dir, (unsigned long long)s);
			break;
		case BREAK_JSON:
			s = line_seq(ls.l[1]);
			ls.l[2][0] = '[';
			lines_write(fx, "events.log.1", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:3: not a "
			    "valid record (after seq %llu): damaged or edited",
			    fx->dir, (unsigned long long)s);
			break;
		case DELETE_LINE:
			s = line_seq(ls.l[1]);
			lines_delete(&ls, 2);
			lines_write(fx, "events.log.1", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:3: seq "
			    "%llu follows seq %llu (events.log.1:2): 1 "
			    "record(s) "
			    "missing (deleted or moved)",
			    fx->dir, (unsigned long long)s + 2,
			    (unsigned long long)s);
			break;
		case DELETE_FIRST_LINE:
			lines_read(fx, "events.log.2", &l2);
			s = line_seq(l2.l[l2.n - 1]);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:1: seq "
			    "%llu follows seq %llu (events.log.2:%zu): 1 "
			    "record(s) "
			    "missing (deleted or moved)",
			    fx->dir, (unsigned long long)s + 2,
			    (unsigned long long)s, l2.n);
			lines_write(fx, "events.log.2", &l2);
			lines_delete(&ls, 0);
			lines_write(fx, "events.log.1", &ls);
			break;
		case SWAP_LINES:
			s = line_seq(ls.l[1]);
			line = ls.l[2];
			ls.l[2] = ls.l[3];
			ls.l[3] = line;
			lines_write(fx, "events.log.1", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:3: seq "
			    "%llu follows seq %llu (events.log.1:2): 1 "
			    "record(s) "
			    "missing (deleted or moved)",
			    fx->dir, (unsigned long long)s + 2,
			    (unsigned long long)s);
			break;
		case REHASH:
			s = line_seq(ls.l[2]);
			line = rehash(ls.l[2], "user", "mallory");
			free(ls.l[2]);
			ls.l[2] = line;
			lines_write(fx, "events.log.1", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:4: seq "
			    "%llu: prev does not match the hash of seq %llu "
			    "(events.log.1:3): a record was replaced",
			    fx->dir, (unsigned long long)s + 1,
			    (unsigned long long)s);
			break;
		case TRUNCATE_TAIL:
		case CUT_TAIL:
			lines_write(fx, "events.log.1", &ls);
			lines_read(fx, "events.log", &ls);
			assert_true(ls.n >= 2);
			s = line_seq(ls.l[ls.n - 2]);
			if (tampers[t].kind == CUT_TAIL) {
				ls.l[ls.n - 1][strlen(ls.l[ls.n - 1]) / 2] =
				    '\0';
			} else {
				free(ls.l[ls.n - 1]);
				ls.n--;
			}
			snprintf(expect, sizeof(expect),
			    "%s/events.head: last seq "
			    "40, but the store ends at seq %llu at "
			    "events.log:%zu: "
			    "records at the end are missing (truncated)",
			    fx->dir, (unsigned long long)s,
			    ls.n - (tampers[t].kind == CUT_TAIL));
			lines_write(fx, "events.log", &ls);
			break;
		case DROP_FILE:
			lines_read(fx, "events.log.3", &l2);
			s = line_seq(l2.l[l2.n - 1]);
			snprintf(expect, sizeof(expect),
			    "%s/events.log.1:1: seq "
			    "%llu follows seq %llu (events.log.3:%zu): ",
			    fx->dir, (unsigned long long)line_seq(ls.l[0]),
			    (unsigned long long)s, l2.n);
			lines_write(fx, "events.log.3", &l2);
			lines_write(fx, "events.log.1", &ls);
			snprintf(cmd, sizeof(cmd), "%s/events.log.2", fx->dir);
			assert_int_equal(unlink(cmd), 0);
			break;
		case REPLACE_HEAD:
			lines_write(fx, "events.log.1", &ls);
			lines_read(fx, "events.log", &ls);
			snprintf(expect, sizeof(expect),
			    "%s/events.head: the hash "
			    "for seq 40 differs from %s/events.log:%zu",
			    fx->dir, fx->dir, ls.n);
			lines_write(fx, "events.log", &ls);
			snprintf(cmd, sizeof(cmd), "%s/events.head", fx->dir);
			{
				FILE *h = fopen(cmd, "w");

				assert_non_null(h);
				fprintf(
				    h, "{\"hash\":\"%064d\",\"seq\":40}\n", 7);
				fclose(h);
			}
			break;
		}
		err[0] = '\0';
		count = 12345;
		if (eventlog_verify(fx->dir, &count, err, sizeof(err)) != -1)
			fail_msg("%s: not detected", tampers[t].name);
		assert_int_equal(count, 12345); /* untouched on failure */
		if (strncmp(err, expect, strlen(expect)) != 0)
			fail_msg("%s:\n got    %s\n wanted %s", tampers[t].name,
			    err, expect);
	}
}

static void
test_clear(void **state)
{
	struct fx *fx = *state;
	struct policy p;
	json_t *a, *r;

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	policy_init(&p, 2000, 2);
	assert_int_equal(eventlog_configure(&p, NULL), 0);
	emit_n(30);
	assert_true(exists(fx, "events.log.2"));
	assert_int_equal(eventlog_clear("admin", "192.0.2.1"), 0);
	assert_false(exists(fx, "events.log.1"));
	assert_false(exists(fx, "events.log.2"));
	a = query_all(fx);
	assert_int_equal(json_array_size(a), 1);
	r = json_array_get(a, 0);
	assert_int_equal(rec_seq(r), 1);
	assert_string_equal(rec_str(r, "event"), "event-log-cleared");
	assert_string_equal(rec_str(r, "group"), "configuration");
	assert_string_equal(rec_field(r, "who"), "admin");
	assert_string_equal(rec_field(r, "from"), "192.0.2.1");
	assert_string_equal(rec_str(r, "prev"),
	    "0000000000000000000000000000000000000000000000000000000000000000");
	json_decref(a);
	verify_ok(fx, 1);
	emit_n(3);
	a = query_all(fx);
	assert_int_equal(rec_seq(json_array_get(a, 3)), 4);
	json_decref(a);
	verify_ok(fx, 4);
	/* A restart continues the new chain. */
	eventlog_fini();
	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	emit_n(1);
	verify_ok(fx, 5);
	/* Without a store there is nothing to clear. */
	eventlog_fini();
	assert_int_equal(eventlog_clear("admin", "x"), -1);
	assert_int_equal(errno, EBADF);
}

static void
test_torn_tail(void **state)
{
	struct fx *fx = *state;
	char p[PATH_MAX + 64], err[1024];
	struct lines ls;
	uint64_t count;
	json_t *a;
	FILE *f;

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	emit_n(5);
	eventlog_fini();
	/* A crash inside a write: half a record, no newline. */
	lines_read(fx, "events.log", &ls);
	path_of(fx, "events.log", p, sizeof(p));
	assert_non_null(f = fopen(p, "a"));
	fwrite(ls.l[4], 1, strlen(ls.l[4]) / 2, f);
	fclose(f);
	lines_free(&ls);

	/* verify accepts it, with a warning naming the line. */
	assert_int_equal(eventlog_verify(fx->dir, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 5);
	assert_non_null(strstr(err, "events.log:6: torn final record ignored"));

	/* The daemon drops the torn bytes and continues the chain. */
	n_warn = 0;
	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	assert_int_equal(n_warn, 1);
	assert_non_null(strstr(last_warn, "torn record"));
	emit_n(1);
	a = query_all(fx);
	assert_int_equal(json_array_size(a), 6);
	assert_int_equal(rec_seq(json_array_get(a, 5)), 6);
	json_decref(a);
	verify_ok(fx, 6);

	/*
	 * kill -9 between the record and its head update: the head is one
	 * behind.  That is no break, and the chain continues after the record.
	 */
	eventlog_fini();
	path_of(fx, "events.head", p, sizeof(p));
	lines_read(fx, "events.log", &ls);
	{
		json_t *o = json_loads(ls.l[4], 0, NULL);

		assert_non_null(f = fopen(p, "w"));
		fprintf(f, "{\"hash\":\"%s\",\"seq\":5}\n", rec_str(o, "hash"));
		fclose(f);
		json_decref(o);
	}
	lines_write(fx, "events.log", &ls);
	verify_ok(fx, 6);
	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	emit_n(1);
	verify_ok(fx, 7);
	/* No head at all: a warning only. */
	eventlog_fini();
	assert_int_equal(unlink(p), 0);
	assert_int_equal(eventlog_verify(fx->dir, &count, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "events.head missing"));
}

static void
test_truncation_recovery(void **state)
{
	struct fx *fx = *state;
	struct lines ls;
	char err[1024];
	uint64_t count;
	json_t *a, *r;

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	emit_n(6);
	eventlog_fini();
	/* Someone removes the last two records while the daemon is down. */
	lines_read(fx, "events.log", &ls);
	free(ls.l[5]);
	free(ls.l[4]);
	ls.n -= 2;
	lines_write(fx, "events.log", &ls);

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	assert_non_null(
	    strstr(last_warn, "ends at seq 4 but events.head says 6"));
	/* The start records the finding; the chain continues after seq 6. */
	a = query_all(fx);
	r = json_array_get(a, json_array_size(a) - 1);
	assert_string_equal(rec_str(r, "event"), "storage-failure");
	assert_int_equal(rec_seq(r), 7);
	assert_non_null(strstr(rec_field(r, "reason"), "records were removed"));
	json_decref(a);
	/* ... so the gap stays visible. */
	assert_int_equal(
	    eventlog_verify(fx->dir, &count, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "events.log:5: seq 7 follows seq 4"));
}

static void
test_write_failure(void **state)
{
	struct fx *fx = *state;
	char msgs[16][4096];
	struct policy p;
	json_t *a, *st, *r;
	int full, n, i, storage = 0;

	fx->base = event_base_new();
	assert_int_equal(eventlog_init(fx->base, fx->dir), 0);
	policy_init(&p, 1u << 20, 2);
	policy_syslog_udp(fx, &p);
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		p.logging.events[i] =
		    EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;
	assert_int_equal(eventlog_configure(&p, NULL), 0);
	emit_n(2);
	assert_int_equal(udp_drain(fx, msgs, 16), 2);

	/* The disk fills up. */
	full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(full >= 0);
	assert_true(dup2(full, eventlog_test_store_fd()) >= 0);
	emit_n(3);
	assert_int_equal(n_error, 1);
	assert_non_null(strstr(last_error, "No space left on device"));
	/* Reported to syslog once; every event itself still reaches syslog. */
	n = udp_drain(fx, msgs, 16);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		if (strstr(msgs[i], " storage-failure [") != NULL) {
			storage++;
			assert_non_null(
			    strstr(msgs[i], "error=\"No space left"));
			assert_null(strstr(msgs[i], " seq=\""));
		}
	assert_int_equal(storage, 1);
	st = eventlog_stats();
	assert_false(json_is_true(json_object_get(st, "store_ok")));
	assert_int_equal(
	    json_integer_value(json_object_get(st, "write_errors")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "lost")), 3);
	json_decref(st);

	/* Five seconds on, the store is reopened and notes the hole. */
	eventlog_test_clock_advance(5100);
	emit_n(1);
	a = query_all(fx);
	assert_int_equal(json_array_size(a), 4);
	r = json_array_get(a, 2);
	assert_string_equal(rec_str(r, "event"), "storage-failure");
	assert_string_equal(rec_field(r, "state"), "recovered");
	assert_string_equal(rec_field(r, "lost"), "3");
	assert_string_equal(
	    rec_str(json_array_get(a, 3), "event"), "login-failed");
	json_decref(a);
	verify_ok(fx, 4);

	/* Failing again within the minute: counted, not reported. */
	assert_true(dup2(full, eventlog_test_store_fd()) >= 0);
	emit_n(1);
	assert_int_equal(n_error, 1);
	udp_drain(fx, msgs, 16);
	eventlog_test_clock_advance(61000);
	emit_n(1); /* reopens */
	assert_true(dup2(full, eventlog_test_store_fd()) >= 0);
	emit_n(1); /* fails, a minute after the last report */
	assert_int_equal(n_error, 2);
	n = udp_drain(fx, msgs, 16);
	for (i = storage = 0; i < n; i++)
		storage += strstr(msgs[i], " storage-failure [") != NULL;
	assert_int_equal(storage, 1);
	close(full);
	eventlog_test_clock_advance(6000);
	emit_n(1);
	a = query_all(fx);
	verify_ok(fx, json_array_size(a));
	json_decref(a);
	st = eventlog_stats();
	assert_int_equal(
	    json_integer_value(json_object_get(st, "write_errors")), 3);
	json_decref(st);
}

static void
test_init_failure(void **state)
{
	struct fx *fx = *state;
	char p[PATH_MAX + 64];

	/* events.log is a directory: the store cannot open; emit goes on. */
	path_of(fx, "events.log", p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(eventlog_init(NULL, fx->dir), -1);
	assert_int_equal(n_error, 1);
	emit_n(3);
	assert_int_equal(n_error, 1);
	assert_int_equal(rmdir(p), 0);
	eventlog_test_clock_advance(5100);
	emit_n(1);
	verify_ok(fx, 2); /* the recovery note and the event */
	/* A state directory that is not there. */
	assert_int_equal(eventlog_init(NULL, "/nonexistent/sluice"), -1);
}

static void
test_matrix(void **state)
{
	struct fx *fx = *state;
	struct policy p;
	struct policy_error err;
	char msgs[16][4096];
	json_t *a;
	int n, i;

	fx->base = event_base_new();
	assert_int_equal(eventlog_init(fx->base, fx->dir), 0);
	/* Before configure: local only. */
	eventlog_emit(
	    EVENTLOG_SYSTEM, EVENTLOG_NOTICE, EVENTLOG_COLD_START, NULL);
	policy_init(&p, 1u << 20, 2);
	policy_syslog_udp(fx, &p);
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		p.logging.events[i] = 0;
	p.logging.events[EVENTLOG_WARM_START] = EVENTLOG_SINK_LOCAL;
	p.logging.events[EVENTLOG_LINK_DOWN] = EVENTLOG_SINK_SYSLOG;
	p.logging.events[EVENTLOG_LOGIN_FAILED] =
	    EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;
	assert_int_equal(eventlog_configure(&p, &err), 0);
	eventlog_emit(
	    EVENTLOG_SYSTEM, EVENTLOG_NOTICE, EVENTLOG_WARM_START, NULL);
	eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING, EVENTLOG_LINK_DOWN,
	    "if", "eth0", NULL);
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    EVENTLOG_LOGIN_FAILED, "user", "admin", NULL);
	eventlog_emit(
	    EVENTLOG_NETWORK, EVENTLOG_ERR, EVENTLOG_IP_CONFLICT, NULL);

	a = query_all(fx);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(
	    rec_str(json_array_get(a, 0), "event"), "cold-start");
	assert_string_equal(
	    rec_str(json_array_get(a, 1), "event"), "warm-start");
	assert_string_equal(
	    rec_str(json_array_get(a, 2), "event"), "login-failed");
	json_decref(a);
	n = udp_drain(fx, msgs, 16);
	assert_int_equal(n, 2);
	/* Not stored: no seq.  Stored: the record's seq. */
	assert_non_null(strstr(msgs[0],
	    " link-down [sluice@32473 group=\"network\" "
	    "if=\"eth0\"] Network link down"));
	assert_true(strncmp(msgs[0], "<132>1 ", 7) == 0);
	assert_non_null(strstr(msgs[1],
	    " login-failed [sluice@32473 seq=\"3\" "
	    "group=\"configuration\" user=\"admin\"]"));

	/* A sink that cannot be set up leaves the old one in force. */
	snprintf(p.logging.syslog.server, sizeof(p.logging.syslog.server),
	    "not a host!");
	assert_int_equal(eventlog_configure(&p, &err), -1);
	assert_non_null(strstr(err.msg, "logging.syslog.server"));
	p.logging.syslog.port = 0;
	snprintf(p.logging.syslog.server, sizeof(p.logging.syslog.server),
	    "127.0.0.1");
	assert_int_equal(eventlog_configure(&p, &err), -1);
	assert_non_null(strstr(err.msg, "logging.syslog.port"));
	eventlog_emit(
	    EVENTLOG_NETWORK, EVENTLOG_WARNING, EVENTLOG_LINK_DOWN, NULL);
	assert_int_equal(udp_drain(fx, msgs, 16), 1);

	/* syslog-client disabled: no sink. */
	p.logging.syslog.port = fx->udp_port;
	p.services[REGISTRY_SYSLOG_CLIENT].enabled = false;
	assert_int_equal(eventlog_configure(&p, &err), 0);
	eventlog_emit(
	    EVENTLOG_NETWORK, EVENTLOG_WARNING, EVENTLOG_LINK_DOWN, NULL);
	assert_int_equal(udp_drain(fx, msgs, 16), 0);
	a = eventlog_stats();
	assert_false(json_is_true(
	    json_object_get(json_object_get(a, "syslog"), "enabled")));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(a, "syslog"), "sent")),
	    3);
	json_decref(a);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void
test_syslog_unreachable(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct timeval tv = { 2, 500000 };
	struct policy p;
	struct event *t;
	json_t *a;
	size_t i, found = 0;
	int s;

	/* A port nobody listens on. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	close(s);

	fx->base = event_base_new();
	assert_int_equal(eventlog_init(fx->base, fx->dir), 0);
	policy_init(&p, 1u << 20, 2);
	policy_syslog_udp(fx, &p);
	p.logging.syslog.transport = POLICY_SYSLOG_TCP;
	p.logging.syslog.port = ntohs(sin.sin_port);
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		p.logging.events[i] =
		    EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;
	assert_int_equal(eventlog_configure(&p, NULL), 0);
	emit_n(1);
	/* Connect at 0 s, retry at 1 s and 3 s (backoff): reported once. */
	t = evtimer_new(fx->base, on_deadline, fx->base);
	evtimer_add(t, &tv);
	event_base_dispatch(fx->base);
	event_free(t);
	a = query_all(fx);
	for (i = 0; i < json_array_size(a); i++) {
		json_t *r = json_array_get(a, i);

		if (strcmp(rec_str(r, "event"), "syslog-unreachable") == 0) {
			found++;
			assert_string_equal(
			    rec_field(r, "server"), "127.0.0.1");
			assert_non_null(strstr(
			    rec_field(r, "reason"), "onnection refused"));
		}
	}
	assert_int_equal(found, 1);
	json_decref(a);
	a = eventlog_stats();
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(a, "syslog"), "queued")),
	    1);
	json_decref(a);
}

static void
test_debug_mirror(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(eventlog_init(NULL, fx->dir), 0);
	log_set_level(LOG_LEVEL_DEBUG);
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    EVENTLOG_LOGIN_FAILED, "user", "ad\"min\x01", NULL);
	assert_int_equal(n_debug, 1);
	assert_string_equal(last_debug,
	    "event login-failed seq=1 "
	    "group=configuration severity=warning user=\"ad\\\"min\\x01\"");
	/* Before init, events still reach the diagnostic log. */
	eventlog_fini();
	eventlog_emit(
	    EVENTLOG_SYSTEM, EVENTLOG_NOTICE, EVENTLOG_SHUTDOWN, NULL);
	assert_int_equal(n_debug, 2);
	assert_non_null(strstr(last_debug, "event shutdown seq=0"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_emit_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_truncation_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_init_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_syslog_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_debug_mirror, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
