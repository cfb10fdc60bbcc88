/*
 * eventlog.h - the audit event log (guide section 3.5).
 *
 * Every subsystem reports an event with one call, eventlog_emit().  The
 * policy's event matrix (logging.events) decides where each event goes:
 * the local store under the state directory and/or the syslog sink.
 *
 * Local store: <state>/events.log plus rotated events.log.1 .. .N (oldest
 * last), one JSON object per line:
 *   {"seq":N,"time":"2026-11-27T04:20:37.123456Z","group":"system",
 *    "severity":"notice","event":"cold-start","fields":{...},
 *    "prev":"<hex sha256>","hash":"<hex sha256>"}
 * hash = SHA-256 over prev (raw 32 bytes) and the line's canonical JSON
 * without "hash".  seq grows by one per record across rotations; a clear
 * starts a new chain (prev all zero).  <state>/events.head holds the last
 * seq and hash, so a truncated tail is detected too.  Each record is
 * written with one write(2) as it is emitted, so a kill -9 loses nothing
 * that eventlog_emit() returned from.
 */
#ifndef SLUICE_EVENTLOG_H
#define SLUICE_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct policy;
struct policy_error;

enum eventlog_group {
	EVENTLOG_SYSTEM = 0,
	EVENTLOG_NETWORK,
	EVENTLOG_CONFIGURATION,
	EVENTLOG_PROTOCOL,
	EVENTLOG_GROUP_COUNT
};

/* Severities are syslog's (RFC 5424 section 6.2.1). */
enum eventlog_severity {
	EVENTLOG_EMERG = 0,
	EVENTLOG_ALERT,
	EVENTLOG_CRIT,
	EVENTLOG_ERR,
	EVENTLOG_WARNING,
	EVENTLOG_NOTICE,
	EVENTLOG_INFO,
	EVENTLOG_DEBUG,
};

/*
 * Named event types: the guide's list plus sluice's own.  The name (as in
 * the table in eventlog.c) is what the policy's event matrix and the
 * stored record use.
 */
enum eventlog_type {
	/* System */
	EVENTLOG_COLD_START = 0,     /* "cold-start": first start since boot */
	EVENTLOG_WARM_START,         /* "warm-start" */
	EVENTLOG_SHUTDOWN,           /* "shutdown" */
	EVENTLOG_ENGINE_RESTARTED,   /* "engine-restarted": monitor restarted a dead engine */
	EVENTLOG_STORAGE_FAILURE,    /* "storage-failure": the guide's SD card access failure */
	EVENTLOG_ENFORCEMENT_LIMITED,/* "enforcement-limited": a control the host cannot enforce */
	EVENTLOG_LISTENER_FAILED,    /* "listener-failed": a service port could not be opened */
	EVENTLOG_CERT_EXPIRING,      /* "certificate-expiring": the console's, within renew_days */
	/* Network */
	EVENTLOG_DHCP_LEASE,         /* "dhcp-lease" */
	EVENTLOG_NTP_FAILED,         /* "ntp-failed" */
	EVENTLOG_IP_CONFLICT,        /* "ip-conflict" */
	EVENTLOG_LINK_DOWN,          /* "link-down" */
	EVENTLOG_SYSLOG_UNREACHABLE, /* "syslog-unreachable" */
	EVENTLOG_SOURCE_BANNED,      /* "source-banned": dropped in the kernel */
	EVENTLOG_SOURCE_UNBANNED,    /* "source-unbanned" */
	EVENTLOG_FIREWALL_DROPS,     /* "firewall-drops": a drop counter rose */
	EVENTLOG_CLIENT_REFUSED,     /* "client-refused": not on the accessible-IP list */
	EVENTLOG_CHANNEL_DOWN,       /* "channel-down": serial device or TCP slave lost */
	EVENTLOG_CHANNEL_UP,         /* "channel-up" */
	/* Configuration */
	EVENTLOG_LOGIN_FAILED,       /* "login-failed" */
	EVENTLOG_IP_CHANGED,         /* "ip-changed" */
	EVENTLOG_PASSWORD_CHANGED,   /* "password-changed" */
	EVENTLOG_FIRMWARE_UPGRADED,  /* "firmware-upgraded" */
	EVENTLOG_CERT_IMPORTED,      /* "certificate-imported" */
	EVENTLOG_CONFIG_IMPORTED,    /* "configuration-imported" */
	EVENTLOG_CONFIG_EXPORTED,    /* "configuration-exported" */
	EVENTLOG_CONFIG_CHANGED,     /* "configuration-changed" */
	EVENTLOG_CONFIG_REJECTED,    /* "configuration-rejected" */
	EVENTLOG_LOG_CLEARED,        /* "event-log-cleared" */
	EVENTLOG_ACCOUNT_LOCKED,     /* "account-locked": by login failures (account or source) */
	EVENTLOG_ACCOUNT_ADDED,      /* "account-added": console account or API token */
	EVENTLOG_ACCOUNT_REMOVED,    /* "account-removed": console account or API token */
	EVENTLOG_ACCOUNT_CHANGED,    /* "account-changed": level changed or unlocked */
	EVENTLOG_CERT_GENERATED,     /* "certificate-generated": a new self-signed certificate */
	/* Protocol */
	EVENTLOG_PROTOCOL_MESSAGE,   /* "protocol": protocol communication log */
	EVENTLOG_MODBUS_MALFORMED,   /* "malformed-request": refused by validation */
	EVENTLOG_CONNECTION_EVICTED, /* "connection-evicted": closed at the connection cap */
	EVENTLOG_MODBUS_DENIED,      /* "request-denied": refused by modbus.firewall */
	EVENTLOG_TYPE_COUNT
};

/* Sinks, as bits in the event matrix. */
#define EVENTLOG_SINK_LOCAL  0x1u
#define EVENTLOG_SINK_SYSLOG 0x2u

struct eventlog_type_info {
	const char *name;
	enum eventlog_group group;
	enum eventlog_severity severity;   /* usual severity */
	const char *summary;               /* one line, for docs and `sluicectl log` */
};

const struct eventlog_type_info *eventlog_type_info(enum eventlog_type type);
/* Type by name, or -1. */
int eventlog_type_find(const char *name);
/* "system", "network", "configuration", "protocol". */
const char *eventlog_group_name(enum eventlog_group group);
int eventlog_group_find(const char *name);
/* "emerg" .. "debug". */
const char *eventlog_severity_name(enum eventlog_severity sev);
int eventlog_severity_find(const char *name);

/*
 * Open the local store in state_dir (created files are mode 0640) and
 * attach the sinks to base.  Until eventlog_configure() is called, events
 * go to the local store only.  Returns 0, or -1 when the store cannot be
 * opened (reported through log.h; emit then still reaches syslog/log).
 * base may be NULL (unit tests, sluicectl): the syslog sink is then off.
 */
int eventlog_init(struct event_base *base, const char *state_dir);
/*
 * Reconfigure sizes, sinks and the event matrix from p.  Returns 0, or -1
 * with err filled and the previous configuration still in force.
 */
int eventlog_configure(const struct policy *p, struct policy_error *err);
void eventlog_fini(void);

/* Limits of one event's fields: more pairs are ignored, longer values cut. */
#define EVENTLOG_MAX_FIELDS 32
#define EVENTLOG_MAX_VALUE  1024    /* bytes */

/*
 * Record one event.  The variadic part is pairs of (const char *key,
 * const char *value) ending with a NULL key; values are copied.  Values
 * may be untrusted: bytes that are not UTF-8 become U+FFFD, and each is
 * cut at EVENTLOG_MAX_VALUE bytes.  Never blocks, never fails visibly:
 * a failing sink is itself reported once, rate-limited
 * (EVENTLOG_STORAGE_FAILURE / EVENTLOG_SYSLOG_UNREACHABLE).
 */
void eventlog_emit(enum eventlog_group group, enum eventlog_severity sev,
    enum eventlog_type type, ...) __attribute__((sentinel));

/* Truncate the local store and start a new chain with an event-log-cleared
 * record naming who.  Returns 0 or -1 (errno). */
int eventlog_clear(const char *who, const char *from);

struct eventlog_filter {
	int group;             /* enum eventlog_group, or -1 for all */
	int64_t since;         /* unix seconds; records older are skipped; 0 = all */
	size_t limit;          /* at most this many, newest kept; 0 = no limit */
};

/*
 * Read the local store in state_dir (works without a running daemon) and
 * return a new JSON array of record objects, oldest first, or NULL with
 * errno set.  Lines that do not parse are skipped.
 */
json_t *eventlog_query(const char *state_dir, const struct eventlog_filter *f);

/*
 * Check the hash chain of the store in state_dir.  Returns 0 when intact
 * (count set to the records checked), -1 when not, with a message naming
 * the file, line and sequence number where it breaks in errbuf.  On
 * success errbuf holds "" or a warning that is not a break (a torn final
 * record from a crash, a missing events.head).
 */
int eventlog_verify(const char *state_dir, uint64_t *count,
    char *errbuf, size_t errlen);

/* Counters for `sluicectl status`: a new JSON object. */
json_t *eventlog_stats(void);

#endif
