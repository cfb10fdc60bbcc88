/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * console.h - the HTTPS console: evhttp over the TLS adapter (tls.h),
 * sessions, API tokens, the role table and the /api/v1 JSON API that the
 * web console and automation share (guide 3.2 and 3.3).
 *
 * The console lives on the engine's loop and never blocks it: password
 * hashing, key generation and the (synced) writes of its state files go
 * to the monitor through struct console_ops; every policy change goes
 * through the engine's all-or-nothing apply (ops->command), so the
 * console holds no setting
 * of its own beyond its state files (accounts.json, tokens.json and the
 * certificate in the state directory).
 */
#ifndef SLUICE_CONSOLE_H
#define SLUICE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "ctl_proto.h"

struct event_base;
struct policy;
struct policy_error;
struct console;

/* State files, in the state directory. */
#define CONSOLE_CERT_FILE    "console-cert.pem"
#define CONSOLE_KEY_FILE     "console-key.pem"
#define CONSOLE_TOKENS_FILE  "tokens.json"

/* What the monitor or the engine does for the console; every callback
 * that takes a done function calls it exactly once, never from inside
 * the call itself.  Each returns 0, or -1 when the request could not be
 * sent (then done is not called). */
typedef void (*console_status_fn)(void *ctx, int status, const char *msg);
typedef void (*console_hash_fn)(void *ctx, int status, const char *hash);
typedef void (*console_pem_fn)(void *ctx, int status, char *pem,
    size_t len);
typedef void (*console_reply_fn)(void *ctx, json_t *reply);

struct console_ops {
	/* A listening TCP socket: console_fd_ready(token, ...) later. */
	int (*open_listen)(void *arg, int family, uint16_t port,
	    uint32_t token);
	/* Argon2id in the monitor (crypto_pwhash_str at this cost); done
	 * gets 0 and the hash, or an errno value. */
	int (*hash)(void *arg, const char *password, size_t len,
	    unsigned long long opslimit, size_t memlimit,
	    console_hash_fn done, void *ctx);
	/* done's status: 0 match, EACCES no match, else could not verify. */
	int (*verify)(void *arg, const char *hash, const char *password,
	    size_t len, console_status_fn done, void *ctx);
	/* A private key (PKCS#8 PEM) from the monitor; done owns pem and
	 * must wipe it (keygen_free_pem). type/bits as keygen.h. */
	int (*keygen)(void *arg, int type, unsigned bits, console_pem_fn done,
	    void *ctx);
	/* Write name (accounts.json, tokens.json, console-cert.pem,
	 * console-key.pem) in the state directory: atomically, synced,
	 * mode 0600, by the monitor.  NULL: written here, synchronously
	 * (tests without a monitor). */
	int (*write_state)(void *arg, const char *name, const void *buf,
	    size_t len, console_status_fn done, void *ctx);
	/* Run a control command as `who` from `from` ("console 192.0.2.7"),
	 * the same code sluicectl reaches; reply is a ctl reply object
	 * (ctl_reply_ok/ctl_reply_error shape), stolen by done.  args is
	 * borrowed.  peer_ssh is "ADDR PORT LADDR LPORT" for the policy
	 * apply's lock-out check (SSH_CONNECTION's format). */
	void (*command)(void *arg, enum ctl_cmd cmd, json_t *args,
	    const char *who, const char *from, const char *peer_ssh,
	    console_reply_fn done, void *ctx);
	/* The accessible-IP verdict for a client of the console (class
	 * service); why names the rule. */
	bool (*admit)(void *arg, const struct sockaddr *peer, uint16_t dport,
	    char *why, size_t whylen);
	/* Ban a source in the firewall (login storms). */
	void (*ban)(void *arg, const char *addr, uint32_t seconds,
	    const char *reason);
	void *arg;
};

/*
 * A console on base.  state_dir holds the state files (read here at
 * start, small and local; written through ops->write_state).  Nothing
 * listens until console_configure().  NULL on failure (logged).
 */
struct console *console_new(struct event_base *base, const char *state_dir,
    const struct console_ops *ops);
void console_free(struct console *c);

/*
 * Reconfigure to p (already validated): ports of services https and
 * http, TLS settings, limits, password policy, messages.  Listeners
 * that need the monitor come up afterwards.  0, or -1 with err (out of
 * memory only: nothing changed).
 */
int console_configure(struct console *c, const struct policy *p,
    struct policy_error *err);

/* The monitor's answer to open_listen (as mbgw_fd_ready). */
void console_fd_ready(struct console *c, uint32_t token, int fd, int err,
    const char *msg);

/* For `sluicectl status`: listeners, certificate, TLS counters,
 * sessions, accounts (count, setup needed).  New reference. */
json_t *console_status(struct console *c);

/* Control-socket commands (local, trusted by file permissions):
 * account add/list/remove/password and cert import/csr/generate/show. */
void console_ctl(struct console *c, enum ctl_cmd cmd, json_t *args,
    const char *who, console_reply_fn done, void *ctx);

/* Test hooks only (SLUICE_TEST_HOOKS=1): move the console's clock. */
void console_clock_advance(struct console *c, long seconds);

#endif
