/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log.c - the daemon's diagnostic log. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_ident = "sluiced";
static const char *log_tag;
static int log_to_stderr = 1;
static enum log_level log_level = LOG_LEVEL_INFO;

void
log_init(const char *ident, int to_stderr)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_tag(const char *tag)
{
	log_tag = tag;
}

static void log_vemit(enum log_level, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_vemit(enum log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	int saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_stderr) {
		/* One fprintf, so lines from the two processes do not interleave. */
		fprintf(stderr, "%s%s%s%s: %s: %s\n", log_ident,
		    log_tag ? "[" : "", log_tag ? log_tag : "",
		    log_tag ? "]" : "", names[level], msg);
	} else if (log_tag) {
		syslog(prio[level], "%s: %s", log_tag, msg);
	} else {
		syslog(prio[level], "%s", msg);
	}
	errno = saved;
}

#define LOG_FN(fn, level)					\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_vemit(level, fmt, ap);				\
	va_end(ap);						\
}
LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_quote(char *dst, size_t n, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t o = 0, i;

	if (n == 0)
		return dst;
	for (i = 0; i < len; i++) {
		char tmp[5];
		size_t tl;

		if (s[i] == '\\' || s[i] == '"') {
			tmp[0] = '\\';
			tmp[1] = (char)s[i];
			tl = 2;
		} else if (s[i] < 0x20 || s[i] > 0x7e) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			tl = 4;
		} else {
			tmp[0] = (char)s[i];
			tl = 1;
		}
		if (o + tl + 4 > n) {
			/* Room for "..." and the NUL is kept back. */
			if (n >= 4) {
				memcpy(dst + (o < n - 4 ? o : n - 4), "...", 3);
				o = (o < n - 4 ? o : n - 4) + 3;
			}
			break;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
	}
	dst[o < n ? o : n - 1] = '\0';
	return dst;
}
