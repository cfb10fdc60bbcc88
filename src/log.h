/*
 * log.h - the daemon's diagnostic log (not the event log).
 *
 * One small API with printf-format checking.  Messages go to stderr when
 * running in the foreground, else to syslog(3) with ident "sluiced".
 * The level is switched at run time (log_set_level), never #ifdef-ed.
 * Strings that come from a peer must be passed through log_quote() first.
 * Never pass a secret (password, key, token) to any of these.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* to_stderr: 1 = foreground (stderr), 0 = syslog.  ident is kept by pointer. */
void log_init(const char *ident, int to_stderr);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix every line with tag (e.g. "monitor", "engine"); kept by pointer. */
void log_set_tag(const char *tag);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error() then exit(1).  Only for start-up failures, never for peer input. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy src (len bytes, may contain anything) into dst as a printable,
 * escaped string (\xNN for bytes outside 0x20..0x7e, \\ and \").  Always
 * NUL-terminates when n > 0; truncates with "..." if dst is too small.
 * Returns dst, so it can be used inline in a log call.
 */
char *log_quote(char *dst, size_t n, const void *src, size_t len);

#endif
