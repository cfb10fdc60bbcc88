/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * eventlog.c - the audit event log: routing by the event matrix, the local
 * hash-chained store, and its offline readers (query, verify).
 *
 * The store is written by the engine only.  Readers (sluicectl) may run
 * while it writes and rotates: they open every file first and retry when
 * a rotation happened in between (snapshot_open), and read events.head
 * before the files, so a record appended meanwhile never looks like a
 * truncated tail.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "eventlog.h"
#include "eventlog_test.h"
#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "registry.h"
#include "syslog_sink.h"

#define STORE_NAME      "events.log"
#define HEAD_NAME       "events.head"
#define HEAD_TMP_NAME   "events.head.tmp"
#define MAX_FILES       32      /* logging.local.files is 1..32 */
#define MAX_KEY         64
/*
 * The longest record: 32 fields of 1024 bytes that JSON escapes to six
 * bytes each (\u00XX), keys likewise, plus the envelope.  Readers skip
 * longer lines as damaged.
 */
#define MAX_LINE        (256 * 1024)
#define MAX_HEAD        4096
#define HEAD_SIZE       128     /* every events.head, padded */
/* A file name in the state directory (at most PATH_MAX) plus ours. */
#define PATH_LEN        (PATH_MAX + 32)
#define HASH_LEN        crypto_hash_sha256_BYTES
#define HEX_LEN         (2 * HASH_LEN)
#define JSON_CANON      (JSON_COMPACT | JSON_SORT_KEYS)

/* Until eventlog_configure(). */
#define DEFAULT_MAX_BYTES (1024u * 1024)
#define DEFAULT_FILES     4

#define RETRY_MS        5000    /* reopen a failed store after this */
#define REPORT_MS       60000   /* at most one storage report per minute */

struct event_data {
	enum eventlog_group group;
	enum eventlog_severity sev;
	enum eventlog_type type;
	struct timespec time;
	json_t *fields;         /* object of strings, already cleaned */
};

static struct {
	bool open;              /* between eventlog_init and eventlog_fini */
	char dir[PATH_MAX];
	struct event_base *base;

	int fd;                 /* events.log, or -1 while failed */
	uint64_t size;
	uint64_t seq;           /* of the last record written */
	uint8_t prev[HASH_LEN]; /* its hash */

	bool configured;
	uint8_t matrix[EVENTLOG_TYPE_COUNT];
	uint64_t max_bytes;
	unsigned files;
	struct syslog_sink *sink;

	int64_t failed_at;      /* monotonic ms of the last failure */
	bool ever_reported;
	int64_t reported_at;
	uint64_t lost_since;    /* events not stored since the store failed */

	uint64_t records, bytes, write_errors, lost;
	uint64_t syslog_sent, syslog_dropped;   /* of sinks replaced */
	unsigned depth;
} el = { .fd = -1 };

static int64_t clock_offset_ms;

static void dispatch(unsigned sinks, const struct event_data *ev);

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    clock_offset_ms;
}

/* <dir>/events.log for n == 0, else <dir>/events.log.<n>. */
static int
store_path(char *buf, size_t len, const char *dir, unsigned n)
{
	int r;

	if (n == 0)
		r = snprintf(buf, len, "%s/" STORE_NAME, dir);
	else
		r = snprintf(buf, len, "%s/" STORE_NAME ".%u", dir, n);
	if (r < 0 || (size_t)r >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static bool
is_zero(const uint8_t *h)
{
	static const uint8_t zero[HASH_LEN];

	return memcmp(h, zero, HASH_LEN) == 0;
}

/* --- field values --------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (RFC 3629 section 4), or 0. */
static size_t
utf8_valid(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t want, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		want = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		want = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;              /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;              /* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		want = 4;
		if (p[0] == 0xf0)
			lo = 0x90;              /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;              /* above U+10FFFF */
	} else {
		return 0;
	}
	if (want > n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return want;
}

/*
 * Copy untrusted src into dst as valid UTF-8 of at most cap bytes: each
 * byte that is not part of a valid sequence becomes U+FFFD, and the cut
 * never splits a sequence.  dst holds cap + 1 bytes.
 */
static void
utf8_clean(const char *src, size_t cap, char *dst)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), i = 0, o = 0;

	while (i < n) {
		size_t l = utf8_valid(p + i, n - i);

		if (l == 0) {
			if (o + 3 > cap)
				break;
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + l > cap)
			break;
		memcpy(dst + o, p + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
}

static json_t *
fields_from_va(va_list ap)
{
	char key[MAX_KEY + 1], value[EVENTLOG_MAX_VALUE + 1];
	const char *k, *v;
	json_t *o = json_object();

	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		/* Keep consuming: the list must be read to its end anyway. */
		if (o == NULL || json_object_size(o) >= EVENTLOG_MAX_FIELDS)
			continue;
		utf8_clean(k, MAX_KEY, key);
		utf8_clean(v != NULL ? v : "", EVENTLOG_MAX_VALUE, value);
		json_object_set_new(o, key[0] != '\0' ? key : "_",
		    json_string(value));
	}
	return o;
}

/* --- records -------------------------------------------------------------- */

/*
 * The one definition of a record's digest: SHA-256 over the previous hash
 * (raw) and the canonical JSON of obj, which must not hold "hash".
 */
static int
record_digest(const json_t *obj, const uint8_t prev[HASH_LEN],
    uint8_t out[HASH_LEN])
{
	crypto_hash_sha256_state st;
	char *canon;

	if ((canon = json_dumps(obj, JSON_CANON)) == NULL)
		return -1;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, prev, HASH_LEN);
	crypto_hash_sha256_update(&st, (const unsigned char *)canon,
	    strlen(canon));
	crypto_hash_sha256_final(&st, out);
	free(canon);
	return 0;
}

static json_t *
hex_string(const uint8_t h[HASH_LEN])
{
	char hex[HEX_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), h, HASH_LEN);
	return json_string(hex);
}

static int
hex_parse(const json_t *j, uint8_t out[HASH_LEN])
{
	const char *s = json_string_value(j);
	size_t bin_len;

	if (s == NULL || strlen(s) != HEX_LEN)
		return -1;
	if (sodium_hex2bin(out, HASH_LEN, s, HEX_LEN, NULL, &bin_len,
	    NULL) != 0 || bin_len != HASH_LEN)
		return -1;
	return 0;
}

static void
format_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(ts->tv_nsec / 1000));
}

/* "2026-11-27T04:20:37.123456Z" (fraction optional) to unix seconds. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || n != 19)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* A new line ("...}\n") for ev with seq after prev; hash out. */
static char *
record_line(uint64_t seq, const struct event_data *ev,
    const uint8_t prev[HASH_LEN], uint8_t hash[HASH_LEN], size_t *lenp)
{
	const struct eventlog_type_info *ti = eventlog_type_info(ev->type);
	char ts[64], *line = NULL, *nl;
	json_t *o;
	size_t len;

	format_time(&ev->time, ts, sizeof(ts));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:O, s:o}",
	    "seq", (json_int_t)seq, "time", ts,
	    "group", eventlog_group_name(ev->group),
	    "severity", eventlog_severity_name(ev->sev),
	    "event", ti != NULL ? ti->name : "?",
	    "fields", ev->fields, "prev", hex_string(prev));
	if (o == NULL)
		return NULL;
	if (record_digest(o, prev, hash) == -1 ||
	    json_object_set_new(o, "hash", hex_string(hash)) == -1 ||
	    (line = json_dumps(o, JSON_CANON)) == NULL)
		goto out;
	len = strlen(line);
	if ((nl = realloc(line, len + 2)) == NULL) {
		free(line);
		line = NULL;
		goto out;
	}
	line = nl;
	line[len++] = '\n';
	line[len] = '\0';
	*lenp = len;
out:
	json_decref(o);
	return line;
}

struct record {
	uint64_t seq;
	uint8_t prev[HASH_LEN];
	uint8_t hash[HASH_LEN];
};

/*
 * Parse one stored line.  On success *objp (if not NULL) gets the object
 * without its "hash" member, ready for record_digest().
 */
static int
record_parse(const char *line, size_t len, struct record *r, json_t **objp)
{
	json_t *o, *seq;

	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL)
		return -1;
	seq = json_object_get(o, "seq");
	if (!json_is_object(o) || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1 ||
	    !json_is_string(json_object_get(o, "time")) ||
	    !json_is_string(json_object_get(o, "group")) ||
	    !json_is_string(json_object_get(o, "severity")) ||
	    !json_is_string(json_object_get(o, "event")) ||
	    !json_is_object(json_object_get(o, "fields")) ||
	    hex_parse(json_object_get(o, "prev"), r->prev) == -1 ||
	    hex_parse(json_object_get(o, "hash"), r->hash) == -1) {
		json_decref(o);
		return -1;
	}
	r->seq = (uint64_t)json_integer_value(seq);
	if (objp != NULL) {
		json_object_del(o, "hash");
		*objp = o;
	} else {
		json_decref(o);
	}
	return 0;
}

/* --- events.head ---------------------------------------------------------- */

static int
head_read(const char *dir, uint64_t *seq, uint8_t hash[HASH_LEN])
{
	char path[PATH_LEN], *buf = NULL, *again;
	size_t len, len2;
	json_t *o, *s;
	int attempt, r = -1;

	if (snprintf(path, sizeof(path), "%s/" HEAD_NAME, dir) >=
	    (int)sizeof(path))
		return -1;
	/*
	 * Read until two reads agree: head_write() overwrites the inode a
	 * slow reader may still hold (see there), so one read can be torn.
	 */
	for (attempt = 0; attempt < 5; attempt++) {
		if (fsutil_read_file(path, MAX_HEAD, &buf, &len) == -1)
			return -1;
		if (fsutil_read_file(path, MAX_HEAD, &again, &len2) == -1) {
			free(buf);
			return -1;
		}
		r = len == len2 && memcmp(buf, again, len) == 0;
		free(again);
		if (r)
			break;
		free(buf);
		buf = NULL;
	}
	r = -1;
	if (buf == NULL) {
		errno = EAGAIN;
		return -1;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	s = json_object_get(o, "seq");
	if (json_is_integer(s) && json_integer_value(s) >= 0 &&
	    hex_parse(json_object_get(o, "hash"), hash) == 0) {
		*seq = (uint64_t)json_integer_value(s);
		r = 0;
	}
	json_decref(o);
	if (r == -1)
		errno = EINVAL;
	return r;
}

/*
 * Write the temporary file, then swap it in: readers see the old or the
 * new head, never half of one.  No fsync: this runs per record on the
 * loop, and a head that is behind after a power cut only weakens the
 * truncation check.
 *
 * Exchanged, not renamed over: ext4 starts writeback of a file renamed
 * over another (auto_da_alloc), which made this 160 us instead of 13.
 * The old head becomes the temporary file and is overwritten in place
 * next time; every head is HEAD_SIZE bytes, so nothing of it remains.
 */
static int
head_write(uint64_t seq, const uint8_t hash[HASH_LEN])
{
	char tmp[PATH_LEN], path[PATH_LEN], buf[HEAD_SIZE], hex[HEX_LEN + 1];
	int fd, n, e;

	sodium_bin2hex(hex, sizeof(hex), hash, HASH_LEN);
	n = snprintf(buf, sizeof(buf), "{\"hash\":\"%s\",\"seq\":%llu}",
	    hex, (unsigned long long)seq);
	/* JSON allows the padding: white space after the value. */
	memset(buf + n, ' ', sizeof(buf) - (size_t)n - 1);
	buf[sizeof(buf) - 1] = '\n';
	snprintf(tmp, sizeof(tmp), "%s/" HEAD_TMP_NAME, el.dir);
	snprintf(path, sizeof(path), "%s/" HEAD_NAME, el.dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd == -1)
		return -1;
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    ftruncate(fd, sizeof(buf)) == -1) {
		e = errno ? errno : ENOSPC;
		close(fd);
		errno = e;
		return -1;
	}
	if (close(fd) == -1)
		return -1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == -1) {
		/* No head yet, or a file system without exchange. */
		if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
			return -1;
		if (rename(tmp, path) == -1)
			return -1;
	}
	return 0;
}

/* --- reading lines -------------------------------------------------------- */

struct reader {
	int fd;
	char *buf;              /* MAX_LINE + 1 */
	size_t start, end;
	bool eof, skipping;
	uint64_t off;           /* file offset of buf[0] */
};

static int
reader_init(struct reader *rd, int fd)
{
	memset(rd, 0, sizeof(*rd));
	rd->fd = fd;
	if ((rd->buf = malloc(MAX_LINE + 1)) == NULL)
		return -1;
	return 0;
}

/*
 * Next line, without its newline.  *complete is false for a last line
 * that has none; *toolong when the line exceeds MAX_LINE (its content is
 * not returned).  *end is the file offset just past the line.  Returns 1,
 * 0 at the end, -1 on a read error.
 */
static int
reader_next(struct reader *rd, const char **line, size_t *len, bool *complete,
    bool *toolong, uint64_t *end)
{
	for (;;) {
		char *at = rd->buf + rd->start;
		size_t avail = rd->end - rd->start;
		char *nl = memchr(at, '\n', avail);
		ssize_t n;

		if (nl != NULL || (rd->eof && (avail > 0 || rd->skipping))) {
			size_t l = nl != NULL ? (size_t)(nl - at) : avail;

			*line = rd->buf + rd->start;
			*len = rd->skipping ? 0 : l;
			*complete = nl != NULL;
			*toolong = rd->skipping;
			rd->start += l + (nl != NULL);
			*end = rd->off + rd->start;
			rd->skipping = false;
			return 1;
		}
		if (rd->eof)
			return 0;
		if (rd->start > 0) {
			memmove(rd->buf, at, avail);
			rd->off += rd->start;
			rd->end -= rd->start;
			rd->start = 0;
		}
		if (rd->end == MAX_LINE + 1) {
			/* No newline in MAX_LINE bytes: skip to the next. */
			rd->off += rd->end;
			rd->start = rd->end = 0;
			rd->skipping = true;
		}
		n = read(rd->fd, rd->buf + rd->end, MAX_LINE + 1 - rd->end);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			rd->eof = true;
		rd->end += (size_t)n;
	}
}

/* --- recovery ------------------------------------------------------------- */

/*
 * Find the last record of an open file: *found, its values, and *end, the
 * offset after the last complete line (what follows is a torn write).
 * Reads the tail only, unless that last line is damaged.
 */
static int
last_record(int fd, struct record *r, bool *found, uint64_t *end)
{
	struct stat st;
	struct reader rd;
	struct record tmp;
	const char *line;
	size_t len, chunk, i, nl;
	bool complete, toolong;
	uint64_t lend;
	char *buf;
	int rc;

	*found = false;
	*end = 0;
	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size == 0)
		return 0;
	chunk = (uint64_t)st.st_size < MAX_LINE + 1 ? (size_t)st.st_size :
	    MAX_LINE + 1;
	if ((buf = malloc(chunk)) == NULL)
		return -1;
	for (i = 0; i < chunk; ) {
		ssize_t n = pread(fd, buf + i, chunk - i,
		    (off_t)((uint64_t)st.st_size - chunk + i));

		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			free(buf);
			if (n == 0)
				errno = EIO;
			return -1;
		}
		i += (size_t)n;
	}
	/* The common case: the last complete line is within the chunk. */
	for (nl = chunk; nl > 0 && buf[nl - 1] != '\n'; nl--)
		;
	if (nl > 0) {
		size_t s;

		for (s = nl - 1; s > 0 && buf[s - 1] != '\n'; s--)
			;
		if ((s > 0 || chunk == (size_t)st.st_size) &&
		    record_parse(buf + s, nl - 1 - s, &tmp, NULL) == 0) {
			*r = tmp;
			*found = true;
			*end = (uint64_t)st.st_size - chunk + nl;
			free(buf);
			return 0;
		}
	}
	free(buf);
	/* Damaged or very long lines at the end: walk the whole file. */
	if (reader_init(&rd, fd) == -1)
		return -1;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		free(rd.buf);
		return -1;
	}
	while ((rc = reader_next(&rd, &line, &len, &complete, &toolong,
	    &lend)) == 1) {
		if (!complete)
			break;
		*end = lend;
		if (!toolong && record_parse(line, len, &tmp, NULL) == 0) {
			*r = tmp;
			*found = true;
		}
	}
	free(rd.buf);
	return rc == -1 ? -1 : 0;
}

/* Open (create) events.log for appending and reading back its tail. */
static int
store_open_fd(void)
{
	char path[PATH_LEN];
	struct stat st;
	int fd, e;

	if (store_path(path, sizeof(path), el.dir, 0) == -1)
		return -1;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else
		return fd;
	close(fd);
	errno = e;
	return -1;
}

/*
 * Open events.log and recover the chain: the last record of the newest
 * file that has one gives seq and prev.  A torn last line (a crash inside
 * a write) is cut off.  When events.head is ahead of the records, the
 * tail was removed: the chain continues from the head, so the gap stays
 * visible to verify, and the event is recorded.
 */
static int
store_open(char *note, size_t notelen)
{
	char path[PATH_LEN];
	struct record last;
	struct stat st;
	uint8_t hhash[HASH_LEN];
	uint64_t hseq, end;
	bool found, have_head;
	unsigned n;
	int fd, e;

	note[0] = '\0';
	if (store_path(path, sizeof(path), el.dir, 0) == -1 ||
	    (fd = store_open_fd()) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		e = errno;
		goto fail;
	}
	have_head = head_read(el.dir, &hseq, hhash) == 0;
	if (last_record(fd, &last, &found, &end) == -1) {
		e = errno;
		goto fail;
	}
	if ((uint64_t)st.st_size > end) {
		if (ftruncate(fd, (off_t)end) == -1) {
			e = errno;
			goto fail;
		}
		log_warn("event log: %s: removed %llu bytes of a torn record "
		    "at the end (interrupted write)", path,
		    (unsigned long long)((uint64_t)st.st_size - end));
	}
	el.size = end;
	for (n = 1; !found && n <= MAX_FILES; n++) {
		char rp[PATH_LEN];
		int rfd;
		uint64_t rend;

		if (store_path(rp, sizeof(rp), el.dir, n) == -1 ||
		    (rfd = open(rp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
			continue;
		if (last_record(rfd, &last, &found, &rend) == -1)
			found = false;
		close(rfd);
	}
	el.seq = found ? last.seq : 0;
	if (found)
		memcpy(el.prev, last.hash, HASH_LEN);
	else
		memset(el.prev, 0, HASH_LEN);
	if (have_head && hseq > el.seq) {
		snprintf(note, notelen, "the store ends at seq %llu but "
		    HEAD_NAME " says %llu: records were removed",
		    (unsigned long long)el.seq, (unsigned long long)hseq);
		log_warn("event log: %s", note);
		el.seq = hseq;
		memcpy(el.prev, hhash, HASH_LEN);
	} else if (have_head && hseq == el.seq && found &&
	    memcmp(hhash, last.hash, HASH_LEN) != 0) {
		log_warn("event log: " HEAD_NAME " does not match the last "
		    "record (seq %llu)", (unsigned long long)el.seq);
	}
	el.fd = fd;
	return 0;
fail:
	close(fd);
	errno = e;
	return -1;
}

/* --- the store ------------------------------------------------------------ */

/*
 * A failure of the local store: counted always, reported through log.h
 * and to the other sinks at most once a minute.  Never stops the caller.
 */
static void
storage_problem(const char *what, const char *file, int err)
{
	const struct eventlog_type_info *ti =
	    eventlog_type_info(EVENTLOG_STORAGE_FAILURE);
	struct event_data ev;
	int64_t now = mono_ms();

	if (el.ever_reported && now - el.reported_at < REPORT_MS)
		return;
	el.ever_reported = true;
	el.reported_at = now;
	log_error("event log: %s %s: %s (%llu events not stored so far; "
	    "retrying, further failures reported at most once a minute)",
	    what, file, strerror(err), (unsigned long long)el.lost);
	memset(&ev, 0, sizeof(ev));
	ev.group = ti->group;
	ev.sev = EVENTLOG_ERR;
	ev.type = EVENTLOG_STORAGE_FAILURE;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	ev.fields = json_pack("{s:s, s:s, s:s}", "operation", what,
	    "file", file, "error", strerror(err));
	if (ev.fields != NULL)
		dispatch(el.matrix[ev.type] & ~EVENTLOG_SINK_LOCAL, &ev);
	json_decref(ev.fields);
}

/* The store stops; store_retry() reopens it RETRY_MS later. */
static void
store_fail(const char *what, int err)
{
	char path[PATH_LEN];

	store_path(path, sizeof(path), el.dir, 0);
	el.write_errors++;
	if (el.fd != -1)
		close(el.fd);
	el.fd = -1;
	el.failed_at = mono_ms();
	storage_problem(what, path, err);
}

static uint64_t store_append(const struct event_data *ev);

static int
store_retry(void)
{
	char note[256], path[PATH_LEN];
	struct event_data ev;
	char lost[24];

	if (mono_ms() - el.failed_at < RETRY_MS)
		return -1;
	if (store_open(note, sizeof(note)) == -1) {
		store_fail("cannot open", errno);
		return -1;
	}
	store_path(path, sizeof(path), el.dir, 0);
	log_info("event log: %s is writable again; %llu events were not "
	    "stored", path, (unsigned long long)el.lost_since);
	/* Readers of the store learn about the hole from the store itself. */
	memset(&ev, 0, sizeof(ev));
	ev.group = EVENTLOG_SYSTEM;
	ev.sev = EVENTLOG_NOTICE;
	ev.type = EVENTLOG_STORAGE_FAILURE;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	snprintf(lost, sizeof(lost), "%llu", (unsigned long long)el.lost_since);
	ev.fields = json_pack("{s:s, s:s}", "state", "recovered", "lost", lost);
	el.lost_since = 0;
	if (ev.fields != NULL)
		store_append(&ev);
	json_decref(ev.fields);
	return 0;
}

/* Rotate before a record that would take events.log past max_bytes. */
static void
store_rotate(void)
{
	char from[PATH_LEN], to[PATH_LEN];
	unsigned n;

	/* Files beyond the count, left by an earlier, larger setting. */
	for (n = el.files + 1; n <= MAX_FILES; n++)
		if (store_path(to, sizeof(to), el.dir, n) == 0)
			unlink(to);
	for (n = el.files; n > 0; n--) {
		if (store_path(from, sizeof(from), el.dir, n - 1) == -1 ||
		    store_path(to, sizeof(to), el.dir, n) == -1)
			continue;
		if (rename(from, to) == -1 && errno != ENOENT) {
			/* Better a long file than lost records. */
			el.write_errors++;
			storage_problem("cannot rotate", from, errno);
			return;
		}
	}
	close(el.fd);
	el.size = 0;
	/* The chain goes on from memory: seq and prev are unchanged. */
	if ((el.fd = store_open_fd()) == -1)
		store_fail("cannot open", errno);
}

/* Append one record; returns its seq, or 0 when it was not stored. */
static uint64_t
store_append(const struct event_data *ev)
{
	uint8_t hash[HASH_LEN];
	size_t len;
	ssize_t n;
	char *line;

	if (el.fd == -1 && store_retry() == -1)
		goto lost;
	line = record_line(el.seq + 1, ev, el.prev, hash, &len);
	if (line == NULL) {
		char path[PATH_LEN];

		store_path(path, sizeof(path), el.dir, 0);
		storage_problem("cannot format a record for", path, ENOMEM);
		goto lost;
	}
	if (el.size > 0 && el.size + len > el.max_bytes) {
		store_rotate();
		if (el.fd == -1) {
			free(line);
			goto lost;
		}
	}
	/* One write(2) per record on an O_APPEND fd: all of it or nothing. */
	n = write(el.fd, line, len);
	free(line);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : ENOSPC;

		if (n > 0 && ftruncate(el.fd, (off_t)el.size) == -1)
			log_warn("event log: cannot remove a partial "
			    "record: %s", strerror(errno));
		store_fail("cannot write", e);
		goto lost;
	}
	el.size += len;
	el.seq++;
	memcpy(el.prev, hash, HASH_LEN);
	el.records++;
	el.bytes += len;
	if (head_write(el.seq, el.prev) == -1) {
		char path[PATH_LEN];

		snprintf(path, sizeof(path), "%s/" HEAD_NAME, el.dir);
		el.write_errors++;
		storage_problem("cannot update", path, errno);
	}
	return el.seq;
lost:
	el.lost++;
	el.lost_since++;
	return 0;
}

/* --- routing -------------------------------------------------------------- */

static void
to_syslog(const struct event_data *ev, uint64_t seq)
{
	const struct eventlog_type_info *ti = eventlog_type_info(ev->type);
	const char *keys[EVENTLOG_MAX_FIELDS], *values[EVENTLOG_MAX_FIELDS];
	struct syslog_record r;
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(ev->fields, k, v) {
		if (n == EVENTLOG_MAX_FIELDS)
			break;
		keys[n] = k;
		values[n++] = json_string_value(v) ? json_string_value(v) : "";
	}
	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.time = ev->time;
	r.severity = ev->sev;
	r.event = ti->name;
	r.group = eventlog_group_name(ev->group);
	r.n_fields = n;
	r.keys = keys;
	r.values = values;
	r.msg = ti->summary;
	syslog_sink_send(el.sink, &r);
}

/* Every event also goes to the diagnostic log at debug level. */
static void
mirror(const struct event_data *ev, uint64_t seq)
{
	char buf[1024], q[256];
	const char *k;
	json_t *v;
	size_t o;

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	o = (size_t)snprintf(buf, sizeof(buf), "event %s seq=%llu group=%s "
	    "severity=%s", eventlog_type_info(ev->type)->name,
	    (unsigned long long)seq, eventlog_group_name(ev->group),
	    eventlog_severity_name(ev->sev));
	json_object_foreach(ev->fields, k, v) {
		const char *s = json_string_value(v);

		if (o >= sizeof(buf))
			break;
		if (s == NULL)
			s = "";
		log_quote(q, sizeof(q), s, strlen(s));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=\"%s\"",
		    k, q);
	}
	log_debug("%s", buf);
}

static void
dispatch(unsigned sinks, const struct event_data *ev)
{
	uint64_t seq = 0;

	/* A report about a report about a report: enough. */
	if (el.depth > 2)
		return;
	el.depth++;
	if ((sinks & EVENTLOG_SINK_LOCAL) && el.open)
		seq = store_append(ev);
	if ((sinks & EVENTLOG_SINK_SYSLOG) && el.sink != NULL)
		to_syslog(ev, seq);
	mirror(ev, seq);
	el.depth--;
}

void
eventlog_emit(enum eventlog_group group, enum eventlog_severity sev,
    enum eventlog_type type, ...)
{
	struct event_data ev;
	va_list ap;

	if ((unsigned)type >= EVENTLOG_TYPE_COUNT ||
	    (unsigned)group >= EVENTLOG_GROUP_COUNT ||
	    (unsigned)sev > EVENTLOG_DEBUG) {
		log_error("event log: bad event %d/%d/%d dropped", (int)group,
		    (int)sev, (int)type);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.group = group;
	ev.sev = sev;
	ev.type = type;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	va_start(ap, type);
	ev.fields = fields_from_va(ap);
	va_end(ap);
	if (ev.fields == NULL) {
		log_error("event log: out of memory, %s dropped",
		    eventlog_type_info(type)->name);
		return;
	}
	dispatch(el.configured ? el.matrix[type] : EVENTLOG_SINK_LOCAL, &ev);
	json_decref(ev.fields);
}

/* The sink could not reach its server: into the store, never to syslog. */
static void
syslog_report(void *arg, const char *why)
{
	const struct syslog_sink_config *cfg;
	struct event_data ev;
	char port[8];

	if (el.sink == NULL)
		return;
	cfg = syslog_sink_config(el.sink);
	log_warn("event log: syslog server %s port %u unreachable: %s",
	    cfg->server, cfg->port, why);
	memset(&ev, 0, sizeof(ev));
	ev.group = EVENTLOG_NETWORK;
	ev.sev = eventlog_type_info(EVENTLOG_SYSLOG_UNREACHABLE)->severity;
	ev.type = EVENTLOG_SYSLOG_UNREACHABLE;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	snprintf(port, sizeof(port), "%u", cfg->port);
	ev.fields = json_pack("{s:s, s:s, s:s}", "server", cfg->server,
	    "port", port, "reason", why);
	if (ev.fields != NULL)
		dispatch(el.matrix[EVENTLOG_SYSLOG_UNREACHABLE] &
		    ~EVENTLOG_SINK_SYSLOG, &ev);
	json_decref(ev.fields);
}

/* --- life cycle ----------------------------------------------------------- */

static void
sink_retire(void)
{
	struct syslog_sink_stats st;

	if (el.sink == NULL)
		return;
	syslog_sink_stats(el.sink, &st);
	el.syslog_sent += st.sent;
	el.syslog_dropped += st.dropped + st.queued;
	syslog_sink_free(el.sink);
	el.sink = NULL;
}

/* Record what recovery found, once the store can take it. */
static void
record_note(const char *note)
{
	struct event_data ev;

	if (note[0] == '\0')
		return;
	memset(&ev, 0, sizeof(ev));
	ev.group = EVENTLOG_SYSTEM;
	ev.sev = EVENTLOG_ERR;
	ev.type = EVENTLOG_STORAGE_FAILURE;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	ev.fields = json_pack("{s:s}", "reason", note);
	if (ev.fields != NULL)
		dispatch(EVENTLOG_SINK_LOCAL |
		    (el.configured ? el.matrix[ev.type] : 0), &ev);
	json_decref(ev.fields);
}

int
eventlog_init(struct event_base *base, const char *state_dir)
{
	char note[256];
	unsigned i;
	int e;

	if (el.open)
		eventlog_fini();
	if (strlen(state_dir) >= sizeof(el.dir) - 32) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (sodium_init() < 0) {
		errno = ENOSYS;
		return -1;
	}
	memset(&el, 0, sizeof(el));
	el.fd = -1;
	el.base = base;
	snprintf(el.dir, sizeof(el.dir), "%s", state_dir);
	el.max_bytes = DEFAULT_MAX_BYTES;
	el.files = DEFAULT_FILES;
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		el.matrix[i] = EVENTLOG_SINK_LOCAL;
	el.open = true;
	if (store_open(note, sizeof(note)) == -1) {
		e = errno;
		store_fail("cannot open", e);
		errno = e;
		return -1;
	}
	record_note(note);
	return 0;
}

static bool
sink_config_equal(const struct syslog_sink_config *a,
    const struct syslog_sink_config *b)
{
	return strcmp(a->server, b->server) == 0 && a->port == b->port &&
	    a->transport == b->transport && a->format == b->format &&
	    a->facility == b->facility;
}

int
eventlog_configure(const struct policy *p, struct policy_error *err)
{
	struct syslog_sink *sink = el.sink;
	struct syslog_sink_config cfg;
	char why[512];
	bool want;

	if (p->logging.local.files < 1 || p->logging.local.files > MAX_FILES) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg),
			    "logging.local.files: %u is out of range "
			    "(expected 1..%u)", p->logging.local.files,
			    MAX_FILES);
		return -1;
	}
	if (p->logging.local.max_bytes == 0) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg),
			    "logging.local.max_bytes: must be more than 0");
		return -1;
	}
	want = p->services[REGISTRY_SYSLOG_CLIENT].enabled &&
	    p->logging.syslog.server[0] != '\0';
	if (want && el.base == NULL) {
		log_debug("event log: no event loop, syslog sink off");
		want = false;
	}
	if (want) {
		memset(&cfg, 0, sizeof(cfg));
		snprintf(cfg.server, sizeof(cfg.server), "%s",
		    p->logging.syslog.server);
		cfg.port = p->logging.syslog.port;
		cfg.transport = p->logging.syslog.transport;
		cfg.format = p->logging.syslog.format;
		cfg.facility = p->logging.syslog.facility;
		/* An unchanged sink keeps its connection and its queue. */
		if (sink == NULL ||
		    !sink_config_equal(syslog_sink_config(sink), &cfg)) {
			sink = syslog_sink_new(el.base, &cfg, syslog_report,
			    NULL, why, sizeof(why));
			if (sink == NULL) {
				if (err != NULL)
					snprintf(err->msg, sizeof(err->msg),
					    "logging.syslog.%s", why);
				return -1;
			}
		}
	} else {
		sink = NULL;
	}
	if (sink != el.sink) {
		sink_retire();
		el.sink = sink;
	}
	memcpy(el.matrix, p->logging.events, sizeof(el.matrix));
	el.max_bytes = p->logging.local.max_bytes;
	el.files = p->logging.local.files;
	el.configured = true;
	return 0;
}

void
eventlog_fini(void)
{
	sink_retire();
	if (el.fd != -1)
		close(el.fd);
	memset(&el, 0, sizeof(el));
	el.fd = -1;
}

int
eventlog_clear(const char *who, const char *from)
{
	static const uint8_t zero[HASH_LEN];
	const struct eventlog_type_info *ti =
	    eventlog_type_info(EVENTLOG_LOG_CLEARED);
	char path[PATH_LEN], note[256];
	struct event_data ev;
	unsigned n;
	int e = 0;

	if (!el.open) {
		errno = EBADF;
		return -1;
	}
	/*
	 * The head goes first: a crash half-way then leaves a store that is
	 * merely shorter than before, never one that looks truncated.
	 */
	if (head_write(0, zero) == -1)
		return -1;
	if (el.fd != -1)
		close(el.fd);
	el.fd = -1;
	/* Unlink, not truncate: a reader's snapshot sees the new inode. */
	for (n = 0; n <= MAX_FILES; n++)
		if (store_path(path, sizeof(path), el.dir, n) == 0 &&
		    unlink(path) == -1 && errno != ENOENT && e == 0)
			e = errno;
	el.failed_at = 0;
	if (store_open(note, sizeof(note)) == -1) {
		e = errno;
		store_fail("cannot open", e);
		errno = e;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.group = ti->group;
	ev.sev = ti->severity;
	ev.type = EVENTLOG_LOG_CLEARED;
	clock_gettime(CLOCK_REALTIME, &ev.time);
	ev.fields = json_object();
	if (ev.fields == NULL) {
		errno = ENOMEM;
		return -1;
	}
	{
		char a[EVENTLOG_MAX_VALUE + 1], b[EVENTLOG_MAX_VALUE + 1];

		utf8_clean(who != NULL ? who : "", EVENTLOG_MAX_VALUE, a);
		utf8_clean(from != NULL ? from : "", EVENTLOG_MAX_VALUE, b);
		json_object_set_new(ev.fields, "who", json_string(a));
		json_object_set_new(ev.fields, "from", json_string(b));
	}
	/* The new chain starts with this record, whatever the matrix says. */
	dispatch((el.configured ? el.matrix[ev.type] : 0) | EVENTLOG_SINK_LOCAL,
	    &ev);
	json_decref(ev.fields);
	if (e != 0 || el.seq != 1) {
		errno = e != 0 ? e : EIO;
		return -1;
	}
	return 0;
}

json_t *
eventlog_stats(void)
{
	struct syslog_sink_stats st = { 0, 0, 0, false };
	json_t *o, *s;

	if (el.sink != NULL)
		syslog_sink_stats(el.sink, &st);
	s = json_pack("{s:b, s:I, s:I, s:I, s:b}",
	    "enabled", el.sink != NULL,
	    "sent", (json_int_t)(el.syslog_sent + st.sent),
	    "dropped", (json_int_t)(el.syslog_dropped + st.dropped),
	    "queued", (json_int_t)st.queued,
	    "connected", st.connected);
	if (s != NULL && el.sink != NULL) {
		const struct syslog_sink_config *cfg;

		cfg = syslog_sink_config(el.sink);

		json_object_set_new(s, "server", json_string(cfg->server));
		json_object_set_new(s, "port", json_integer(cfg->port));
		json_object_set_new(s, "transport", json_string(
		    cfg->transport == POLICY_SYSLOG_TCP ? "tcp" : "udp"));
	}
	o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}",
	    "store_ok", el.open && el.fd != -1,
	    "seq", (json_int_t)el.seq,
	    "records", (json_int_t)el.records,
	    "bytes", (json_int_t)el.bytes,
	    "size", (json_int_t)el.size,
	    "write_errors", (json_int_t)el.write_errors,
	    "lost", (json_int_t)el.lost,
	    "syslog", s);
	return o;
}

/* --- readers -------------------------------------------------------------- */

/* Open files, oldest first. */
struct snapshot {
	int fd[MAX_FILES + 1];
	unsigned idx[MAX_FILES + 1];
	size_t n;
};

static void
snapshot_close(struct snapshot *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		close(ss->fd[i]);
	ss->n = 0;
}

/*
 * All files of the store, consistent with each other: events.log is
 * opened first and looked up again last; if it is another file by then,
 * a rotation or clear ran in between and we start over.
 */
static int
snapshot_open(const char *dir, struct snapshot *ss)
{
	struct stat st, st0;
	char path[PATH_LEN];
	int fds[MAX_FILES + 1], attempt, e;
	unsigned i;

	if (stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	for (attempt = 0; attempt < 10; attempt++) {
		bool same;

		for (i = 0; i <= MAX_FILES; i++) {
			fds[i] = -1;
			if (store_path(path, sizeof(path), dir, i) == -1)
				goto fail;
			fds[i] = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fds[i] == -1 && errno != ENOENT)
				goto fail;
		}
		store_path(path, sizeof(path), dir, 0);
		if (fds[0] == -1)
			same = stat(path, &st) == -1 && errno == ENOENT;
		else
			same = fstat(fds[0], &st0) == 0 &&
			    stat(path, &st) == 0 && st.st_ino == st0.st_ino &&
			    st.st_dev == st0.st_dev;
		if (same) {
			ss->n = 0;
			for (i = MAX_FILES + 1; i-- > 0; )
				if (fds[i] != -1) {
					ss->idx[ss->n] = i;
					ss->fd[ss->n++] = fds[i];
				}
			return 0;
		}
		for (i = 0; i <= MAX_FILES; i++)
			if (fds[i] != -1)
				close(fds[i]);
	}
	errno = EAGAIN;
	return -1;
fail:
	e = errno;
	while (i-- > 0)
		if (fds[i] != -1)
			close(fds[i]);
	errno = e;
	return -1;
}

static const char *
file_name(unsigned idx, char *buf, size_t len)
{
	if (idx == 0)
		snprintf(buf, len, STORE_NAME);
	else
		snprintf(buf, len, STORE_NAME ".%u", idx);
	return buf;
}

static bool
query_match(json_t *o, const char *group, const struct eventlog_filter *f)
{
	const char *g = json_string_value(json_object_get(o, "group"));
	const char *t = json_string_value(json_object_get(o, "time"));
	int64_t when;

	if (!json_is_object(o))
		return false;
	if (group != NULL && (g == NULL || strcmp(g, group) != 0))
		return false;
	if (f != NULL && f->since > 0 &&
	    (parse_time(t, &when) == -1 || when < f->since))
		return false;
	return true;
}

json_t *
eventlog_query(const char *state_dir, const struct eventlog_filter *f)
{
	const char *group = NULL;
	struct snapshot ss;
	struct reader rd;
	json_t *arr;
	size_t i;
	int e = 0;

	if (f != NULL && f->group >= 0)
		group = eventlog_group_name((enum eventlog_group)f->group);
	if (snapshot_open(state_dir, &ss) == -1)
		return NULL;
	if ((arr = json_array()) == NULL) {
		snapshot_close(&ss);
		errno = ENOMEM;
		return NULL;
	}
	rd.buf = NULL;
	for (i = 0; i < ss.n && e == 0; i++) {
		const char *line;
		size_t len;
		bool complete, toolong;
		uint64_t end;
		int rc;

		free(rd.buf);
		if (reader_init(&rd, ss.fd[i]) == -1) {
			e = ENOMEM;
			break;
		}
		while ((rc = reader_next(&rd, &line, &len, &complete, &toolong,
		    &end)) == 1) {
			json_t *o;

			if (!complete || toolong)
				continue;
			o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
			if (!query_match(o, group, f)) {
				json_decref(o);
				continue;
			}
			json_array_append_new(arr, o);
			/* Newest kept: the array never grows past limit + 1. */
			if (f != NULL && f->limit > 0 &&
			    json_array_size(arr) > f->limit)
				json_array_remove(arr, 0);
		}
		if (rc == -1)
			e = errno;
	}
	free(rd.buf);
	snapshot_close(&ss);
	if (e != 0) {
		json_decref(arr);
		errno = e;
		return NULL;
	}
	return arr;
}

struct verify {
	const char *dir;
	char *err;
	size_t errlen;
	char warn[PATH_LEN + 256];  /* not a break, reported on success */
	bool have;              /* a record was checked */
	uint64_t seq;           /* the last one */
	uint8_t hash[HASH_LEN];
	char where[64];         /* its file:line */
	uint64_t count;
	bool have_head;
	uint64_t head_seq;
	uint8_t head_hash[HASH_LEN];
};

static int verify_fail(struct verify *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
verify_fail(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	if (v->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(v->err, v->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* One complete line; at is "<dir>/<file>:<line>" for messages. */
static int
verify_line(struct verify *v, const char *at, const char *name,
    size_t lineno, const char *line, size_t len)
{
	unsigned long long seq, last = (unsigned long long)v->seq;
	uint8_t digest[HASH_LEN];
	struct record r;
	json_t *obj;
	int rc;

	if (record_parse(line, len, &r, &obj) == -1)
		return verify_fail(v, "%s: not a valid record (after seq "
		    "%llu): damaged or edited", at, last);
	rc = record_digest(obj, r.prev, digest);
	json_decref(obj);
	if (rc == -1)
		return verify_fail(v, "%s: out of memory", at);
	seq = (unsigned long long)r.seq;
	if (memcmp(digest, r.hash, HASH_LEN) != 0)
		return verify_fail(v, "%s: seq %llu: hash mismatch: the record "
		    "was altered", at, seq);
	if (!v->have) {
		/*
		 * The oldest record kept: its predecessor may be rotated away,
		 * but the first record of a chain links to nothing.
		 */
		if (r.seq == 1 && !is_zero(r.prev))
			return verify_fail(v, "%s: seq 1: a chain starts with "
			    "prev all zero", at);
	} else if (r.seq > v->seq + 1) {
		return verify_fail(v, "%s: seq %llu follows seq %llu (%s): "
		    "%llu record(s) missing (deleted or moved)", at, seq,
		    last, v->where, seq - last - 1);
	} else if (r.seq != v->seq + 1) {
		return verify_fail(v, "%s: seq %llu follows seq %llu (%s): out "
		    "of order (moved or replayed)", at, seq, last, v->where);
	} else if (memcmp(r.prev, v->hash, HASH_LEN) != 0) {
		return verify_fail(v, "%s: seq %llu: prev does not match the "
		    "hash of seq %llu (%s): a record was replaced", at, seq,
		    last, v->where);
	}
	if (v->have_head && r.seq == v->head_seq &&
	    memcmp(r.hash, v->head_hash, HASH_LEN) != 0)
		return verify_fail(v, "%s/" HEAD_NAME ": the hash for seq %llu "
		    "differs from %s", v->dir, seq, at);
	v->have = true;
	v->seq = r.seq;
	memcpy(v->hash, r.hash, HASH_LEN);
	snprintf(v->where, sizeof(v->where), "%s:%zu", name, lineno);
	v->count++;
	return 0;
}

/* Every line of one file; idx 0 is events.log, the newest. */
static int
verify_file(struct verify *v, unsigned idx, int fd)
{
	char name[32], at[PATH_LEN + 64];
	struct reader rd;
	const char *line;
	size_t len, lineno = 0;
	bool complete, toolong;
	uint64_t end;
	int r, rc = 0;

	file_name(idx, name, sizeof(name));
	if (reader_init(&rd, fd) == -1)
		return verify_fail(v, "out of memory");
	while (rc == 0 && (r = reader_next(&rd, &line, &len, &complete,
	    &toolong, &end)) == 1) {
		snprintf(at, sizeof(at), "%s/%s:%zu", v->dir, name, ++lineno);
		if (!complete && idx == 0) {
			/* A crash inside the last write; recovery cuts it. */
			snprintf(v->warn, sizeof(v->warn), "%s: torn final "
			    "record ignored (interrupted write)", at);
			break;
		}
		if (toolong)
			rc = verify_fail(v, "%s: line longer than %u bytes: "
			    "damaged", at, MAX_LINE);
		else if (!complete)
			rc = verify_fail(v, "%s: incomplete record in a "
			    "rotated file", at);
		else
			rc = verify_line(v, at, name, lineno, line, len);
	}
	if (rc == 0 && r == -1)
		rc = verify_fail(v, "%s/%s: %s", v->dir, name, strerror(errno));
	free(rd.buf);
	return rc;
}

int
eventlog_verify(const char *state_dir, uint64_t *count, char *errbuf,
    size_t errlen)
{
	struct verify v;
	struct snapshot ss;
	size_t i;
	int rc = 0;

	memset(&v, 0, sizeof(v));
	v.dir = state_dir;
	v.err = errbuf;
	v.errlen = errlen;
	if (errlen > 0)
		errbuf[0] = '\0';
	/* Before the files: a record appended meanwhile is then no alarm. */
	v.have_head = head_read(state_dir, &v.head_seq, v.head_hash) == 0;
	if (snapshot_open(state_dir, &ss) == -1)
		return verify_fail(&v, "%s: %s", state_dir, strerror(errno));
	for (i = 0; i < ss.n && rc == 0; i++)
		rc = verify_file(&v, ss.idx[i], ss.fd[i]);
	snapshot_close(&ss);
	if (rc == -1)
		return -1;
	if (v.have_head && v.head_seq > v.seq)
		return verify_fail(&v, "%s/" HEAD_NAME ": last seq %llu, but "
		    "the store ends at seq %llu%s%s: records at the end are "
		    "missing (truncated)", state_dir,
		    (unsigned long long)v.head_seq, (unsigned long long)v.seq,
		    v.have ? " at " : "", v.have ? v.where : "");
	if (!v.have_head && v.have)
		snprintf(v.warn + strlen(v.warn), sizeof(v.warn) -
		    strlen(v.warn), "%s" HEAD_NAME " missing or unreadable: a "
		    "truncated end cannot be detected",
		    v.warn[0] != '\0' ? "; " : "");
	if (errlen > 0)
		snprintf(errbuf, errlen, "%s", v.warn);
	*count = v.count;
	return 0;
}

/* --- test hooks ----------------------------------------------------------- */

int
eventlog_test_store_fd(void)
{
	return el.fd;
}

void
eventlog_test_clock_advance(int64_t ms)
{
	clock_offset_ms += ms;
}
