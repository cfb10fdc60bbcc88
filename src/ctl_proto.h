/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctl_proto.h - the control socket's wire format (codec only: no I/O).
 *
 * A frame is a 4-byte big-endian payload length followed by that many
 * bytes of UTF-8 JSON.  Requests are objects {"cmd": NAME, "args": {...}};
 * replies are {"ok": true, "result": ...} or {"ok": false, "error": TEXT,
 * "code": N} where code is the sluicectl exit status to use.
 */
#ifndef SLUICE_CTL_PROTO_H
#define SLUICE_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_MAX_REQUEST  (20u << 20)   /* bytes of one request: an 8 MiB policy, JSON-escaped */
#define CTL_MAX_REPLY    (64u << 20)   /* bytes of one reply payload */

enum ctl_cmd {
	CTL_STATUS = 0,
	CTL_SERVICES,
	CTL_LOG,
	CTL_LOG_CLEAR,
	CTL_POLICY_SHOW,
	CTL_POLICY_DIFF,
	CTL_POLICY_APPLY,
	CTL_POLICY_HISTORY,
	CTL_POLICY_ROLLBACK,
	CTL_POLICY_CONFIRM,
	CTL_RELOAD,
	CTL_FIREWALL_SHOW,
	CTL_FIREWALL_FLUSH,
	CTL_FIREWALL_BAN,
	CTL_FIREWALL_UNBAN,
	CTL_FIREWALL_BANS,
	CTL_MODBUS_STATS,
	CTL_MODBUS_CAPTURE,
	CTL_MODBUS_RULES_TEST,
	CTL_TAGS,
	CTL_DEBUG_MONITOR_HASH,  /* only with SLUICE_TEST_HOOKS=1 */
	CTL_DEBUG_MONITOR_KEYGEN,/* likewise */
	CTL_ACCOUNT_ADD,         /* console accounts (local: no setup token) */
	CTL_ACCOUNTS,
	CTL_ACCOUNT_REMOVE,
	CTL_ACCOUNT_PASSWORD,
	CTL_CERT_SHOW,           /* the console's certificate */
	CTL_CERT_IMPORT,
	CTL_CERT_CSR,
	CTL_CERT_GENERATE,
	CTL_DEBUG_CLOCK,         /* only with SLUICE_TEST_HOOKS=1 */
	CTL_RESTART,             /* a new engine (connections drop) */
	CTL_CMD_COUNT
};

/* Exit codes shared by the daemon's replies and sluicectl. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,
	CTL_EXIT_INVALID_POLICY = 2,
	CTL_EXIT_UNREACHABLE = 3,
	CTL_EXIT_LOG_BROKEN = 4,
	CTL_EXIT_USAGE = 64,
};

struct ctl_request {
	enum ctl_cmd cmd;
	json_t *args;       /* owned; an object (empty when none was sent) */
};

/*
 * Look at the start of buf: returns 1 when a whole frame is there
 * (*payload_len set; the frame is 4 + *payload_len bytes), 0 when more
 * bytes are needed, -1 when the announced length is 0 or above max.
 */
int ctl_frame_peek(const uint8_t *buf, size_t len, size_t max,
    size_t *payload_len);

/* Decode a 4-byte frame header: 0 with *payload_len set, or -1 when the
 * length is 0 or above max. */
int ctl_frame_header(const uint8_t hdr[4], size_t max, size_t *payload_len);

/*
 * Serialise obj into a new frame (header + compact JSON).  Returns the
 * buffer (caller frees) with *len set, or NULL.
 */
uint8_t *ctl_frame_encode(const json_t *obj, size_t *len);

/*
 * Parse and check one request payload: valid JSON without duplicate keys,
 * an object, a known "cmd", "args" an object whose members all have the
 * names and types that command takes.  Returns 0, or -1 with a message
 * in err.  req->args must be released with ctl_request_clear().
 */
int ctl_request_parse(const char *payload, size_t len,
    struct ctl_request *req, char *err, size_t errlen);
void ctl_request_clear(struct ctl_request *req);

const char *ctl_cmd_name(enum ctl_cmd cmd);

/* Reply helpers: new objects. */
json_t *ctl_reply_ok(json_t *result);          /* steals result (may be NULL) */
json_t *ctl_reply_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
