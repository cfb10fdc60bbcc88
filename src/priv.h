/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * priv.h - messages between the engine and the privileged monitor.
 *
 * One SOCK_SEQPACKET socketpair; one message per packet: a fixed header
 * and a fixed-layout body whose size must equal the size the type
 * declares.  Bulk data (a policy file) travels as a sealed memfd passed
 * with SCM_RIGHTS, never inline.  The monitor answers each request with a
 * reply of the same id; it serves one request at a time, so the engine
 * never waits on it: replies arrive as events on the engine's loop.
 * The monitor never parses network input; everything it receives is
 * checked here before use, and a malformed message ends the request (and
 * the engine), never the monitor.
 */
#ifndef SLUICE_PRIV_H
#define SLUICE_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIV_MAGIC 0x534c5543u   /* "SLUC" */

enum priv_type {
	PRIV_PING = 1,          /* -> PRIV_REPLY */
	PRIV_OPEN_LISTEN,       /* priv_open_listen -> PRIV_REPLY + fd */
	PRIV_WRITE_POLICY,      /* no body, memfd -> PRIV_REPLY */
	PRIV_HASH_PASSWORD,     /* priv_hash -> PRIV_REPLY_HASH */
	PRIV_VERIFY_PASSWORD,   /* priv_verify -> PRIV_REPLY */
	PRIV_NOTIFY,            /* priv_notify -> no reply (systemd readiness) */
	PRIV_GENERATE_KEY,      /* priv_keygen -> PRIV_REPLY + memfd (PEM) */
	PRIV_FIREWALL_APPLY,    /* no body, memfd (fw.h config) -> PRIV_REPLY */
	PRIV_FIREWALL_FLUSH,    /* -> PRIV_REPLY */
	PRIV_FIREWALL_COUNTERS, /* -> PRIV_REPLY + memfd (fw.h: struct
				 * fw_counters_header, counters, sources) */
	PRIV_OPEN_DEVICE,       /* priv_open_device -> PRIV_REPLY + fd */
	PRIV_WRITE_STATE,       /* priv_write_state, memfd -> PRIV_REPLY */
	PRIV_REPLY = 100,       /* priv_reply */
	PRIV_REPLY_HASH,        /* priv_reply_hash */
};

struct priv_hdr {
	uint32_t magic;
	uint32_t type;
	uint32_t id;            /* request id, echoed in the reply */
	uint32_t len;           /* body bytes following the header */
};

struct priv_open_listen {
	uint8_t family;         /* AF_INET / AF_INET6 */
	uint8_t transport;      /* REGISTRY_TCP or REGISTRY_UDP */
	uint16_t port;          /* host order */
	uint8_t addr[16];       /* network order; zero = any */
};

/*
 * A serial device, opened by serial_open_checked(): a tty only, O_RDWR,
 * non-blocking, exclusive (TIOCEXCL).  On failure the reply's status is
 * the errno and its message the reason.
 */
struct priv_open_device {
	char path[256];         /* NUL-terminated absolute path */
};

/*
 * Write one of the console's state files (the monitor's list: accounts,
 * API tokens, the certificate and its key) in the state directory,
 * atomically and synced, owned by the engine: the fsync stays off the
 * engine's loop.
 */
#define PRIV_STATE_MAX    (1u << 20)
struct priv_write_state {
	char name[32];          /* NUL-terminated, from the monitor's list */
};

#define PRIV_PASSWORD_MAX 256
#define PRIV_HASH_MAX     128   /* crypto_pwhash_STRBYTES */

struct priv_hash {
	uint64_t opslimit;
	uint64_t memlimit;      /* bytes */
	uint32_t password_len;
	char password[PRIV_PASSWORD_MAX];
};

struct priv_verify {
	char hash[PRIV_HASH_MAX];       /* NUL-terminated */
	uint32_t password_len;
	char password[PRIV_PASSWORD_MAX];
};

struct priv_notify {
	char state[256];        /* "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." */
};

struct priv_keygen {
	uint32_t type;          /* enum keygen_type */
	uint32_t bits;          /* RSA only */
};

struct priv_reply {
	int32_t status;         /* 0 or an errno value */
	char message[256];      /* NUL-terminated detail for the log */
};

struct priv_reply_hash {
	int32_t status;
	char hash[PRIV_HASH_MAX];
};

#define PRIV_MAX_BODY sizeof(struct priv_verify)
#define PRIV_MAX_MSG  (sizeof(struct priv_hdr) + PRIV_MAX_BODY)

/* A receive buffer for priv_recv(), aligned for every body type. */
union priv_buf {
	char bytes[PRIV_MAX_MSG];
	uint64_t align;
};

/* Body size that type requires, or -1 for an unknown type. */
ssize_t priv_body_size(uint32_t type);

/*
 * Send one message, with fd (-1 for none) passed as SCM_RIGHTS.
 * Returns 0 or -1 (errno).  Never blocks on a full socket when the
 * socket is non-blocking: EAGAIN is returned.
 */
int priv_send(int sock, uint32_t type, uint32_t id, const void *body,
    size_t len, int fd);

/*
 * Receive one message into buf (PRIV_MAX_MSG bytes): checks the magic,
 * that the type is known and the body has exactly its size, and that at
 * most one fd came along (*fd = -1 when none; extra fds are closed).
 * Returns 1 on a valid message, 0 on EOF, -1 on error (errno: EAGAIN,
 * or EBADMSG for a malformed message, which the caller treats as fatal
 * for the peer).
 */
int priv_recv(int sock, union priv_buf *buf, struct priv_hdr **hdr,
    void **body, int *fd);

#endif
