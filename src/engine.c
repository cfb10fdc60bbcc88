/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.c - the unprivileged engine: one event_base for everything.
 *
 * The engine owns the running policy snapshot.  A change (control socket,
 * SIGHUP) builds a new snapshot, applies it to every subsystem through
 * apply_run() (all or nothing), then asks the monitor to persist it; only
 * when that succeeds does the new snapshot replace the old one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "apply.h"
#include "ctl.h"
#include "engine.h"
#include "eventlog.h"
#include "bans.h"
#include "console.h"
#include "fsutil.h"
#include "fw.h"
#include "fw_eval.h"
#include "gw.h"
#include "mbfw.h"
#include "modbus.h"
#include "keygen.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "priv.h"
#include "registry.h"

#define PRIV_MAX_PENDING 128   /* listeners and serial devices at start */
#define HISTORY_KEEP     10

struct engine;
/* A reply from the monitor; fd (or -1) belongs to the callback. */
typedef void (*priv_cb)(struct engine *e, int status, const void *body,
    int fd, void *arg);

struct pending {
	uint32_t id;          /* 0 = free slot */
	uint32_t type;        /* reply type expected */
	priv_cb cb;
	void *arg;
};

/*
 * A policy change in flight: the synchronous subsystems already run it;
 * the monitor still has to load the firewall and (for apply/rollback)
 * save the file.  At most one at a time.
 */
struct change {
	struct ctl_conn *conn;     /* NULL for SIGHUP */
	struct policy *new;
	bool from_file;            /* new came from the policy file */
	int save_fd;               /* sealed memfd to save, or -1 (reload) */
	char who[64];
	char what[96];             /* "apply", "rollback", "reload", "revert",
				    * or the console's "console ADDR" */
	unsigned confirm_s;        /* > 0: revert unless confirmed in time */
};

/* What the kernel firewall is doing, for status. */
enum fw_state { FW_UNKNOWN, FW_ENFORCED, FW_NOT_ENFORCED, FW_FAILED };
static const char *fw_state_name(enum fw_state s);
struct engine;
static void fw_refresh(struct engine *e, struct ctl_conn *conn);

struct engine {
	const struct engine_info *info;
	struct event_base *base;
	struct policy *policy;
	bool policy_from_file;
	time_t policy_loaded;
	char last_reload[512];
	struct ctl_server *ctl;
	struct event *ev_priv;
	struct event *ev_sig[3];
	struct pending pending[PRIV_MAX_PENDING];
	uint32_t next_id;
	struct change *change;    /* at most one in flight */
	enum fw_state fw_state;
	char fw_detail[256];
	struct bans *bans;
	bool fw_busy;             /* a refresh (bans) is with the monitor */
	bool fw_dirty;            /* bans changed while busy: refresh again */
	struct event *confirm_ev; /* commit-confirmed: reverts when it fires */
	/* Drop counters (guide 3.6 events): polled, compared, reported. */
	struct event *fw_poll_ev;
	unsigned fw_gen;          /* +1 per table the kernel accepted */
	unsigned fw_ir_gen;       /* the generation fw_ir describes */
	struct fw_ir *fw_ir;
	size_t fw_n;              /* rules in fw_ir, entries below */
	uint64_t *fw_last;        /* each rule's counter at the last poll */
	uint64_t *fw_pending;     /* drops not yet reported */
	time_t *fw_since;         /* when the unreported drops began */
	time_t *fw_reported;      /* last report per rule */
	struct fw_track *fw_track; /* drops per source (fw.h), this table */
	uint32_t fw_ctr_flags;    /* FW_CTR_* of the last poll */
	bool fw_polling;
	time_t confirm_by;        /* 0 = nothing awaits confirmation */
	bool ready;               /* READY=1 sent */
	time_t started;
	bool test_hooks;
	struct mbgw *mbgw;        /* the Modbus gateway */
	struct console *console;  /* the HTTPS console */
	bool restart;             /* exit with ENGINE_EXIT_RESTART */
	struct event *restart_ev;
	struct fw_ir *admit_ir;   /* accessible-IP verdicts at accept; NULL = stale */
};

/* The apply table's rows take no context; the engine is a singleton. */
static struct engine *the_engine;

static int
apply_eventlog(const struct policy *old, const struct policy *new,
    struct policy_error *err)
{
	(void)old;
	return eventlog_configure(new, err);
}

static int
apply_modbus(const struct policy *old, const struct policy *new,
    struct policy_error *err)
{
	(void)old;
	return mbgw_configure(the_engine->mbgw, new, err);
}

static int
apply_console(const struct policy *old, const struct policy *new,
    struct policy_error *err)
{
	(void)old;
	return console_configure(the_engine->console, new, err);
}

/* Subsystems in dependency order; later releases add rows here. */
static const struct apply_module modules[] = {
	{ "eventlog", apply_eventlog },
	{ "modbus", apply_modbus },
	{ "console", apply_console },
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static void
iso_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- requests to the monitor ------------------------------------------ */

static int
priv_request(struct engine *e, uint32_t type, const void *body, size_t len,
    int fd, uint32_t reply_type, priv_cb cb, void *arg)
{
	struct pending *slot = NULL;
	size_t i;

	for (i = 0; i < PRIV_MAX_PENDING; i++)
		if (e->pending[i].id == 0) {
			slot = &e->pending[i];
			break;
		}
	if (slot == NULL) {
		errno = EBUSY;
		return -1;
	}
	if (++e->next_id == 0)
		e->next_id = 1;
	if (priv_send(e->info->priv_fd, type, e->next_id, body, len, fd) < 0)
		return -1;
	slot->id = e->next_id;
	slot->type = reply_type;
	slot->cb = cb;
	slot->arg = arg;
	return 0;
}

static void
priv_readable(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	union priv_buf u;
	struct priv_hdr *hdr;
	void *body;
	int pfd, rc;
	size_t i;

	(void)what;
	rc = priv_recv(fd, &u, &hdr, &body, &pfd);
	if (rc < 0 && errno == EAGAIN)
		return;
	if (rc <= 0) {
		log_error("monitor connection lost (%s): stopping",
		    rc == 0 ? "closed" : strerror(errno));
		event_base_loopexit(e->base, NULL);
		return;
	}
	for (i = 0; i < PRIV_MAX_PENDING; i++) {
		struct pending p = e->pending[i];

		if (p.id != hdr->id || p.id == 0)
			continue;
		e->pending[i].id = 0;
		if (hdr->type != p.type) {
			log_error("monitor replied with type %u, expected %u",
			    hdr->type, p.type);
			if (pfd >= 0)
				close(pfd);
			p.cb(e, EPROTO, NULL, -1, p.arg);
		} else
			p.cb(e, *(const int32_t *)body, body, pfd, p.arg);
		return;
	}
	if (pfd >= 0)
		close(pfd);
	log_warn("monitor reply %u matches no request", hdr->id);
}

static void
engine_notify(struct engine *e, const char *state)
{
	struct priv_notify n;

	memset(&n, 0, sizeof(n));
	snprintf(n.state, sizeof(n.state), "%s", state);
	if (priv_send(e->info->priv_fd, PRIV_NOTIFY, 0, &n, sizeof(n), -1) < 0)
		log_warn("notify %s: %s", state, strerror(errno));
}

/* --- policy changes ---------------------------------------------------- */

struct diff_summary {
	char text[512];
	char diff[EVENTLOG_MAX_VALUE];  /* "key: old -> new; ..." */
	bool diff_full;                 /* ends in "..." */
	size_t n;
	json_t *list;     /* optional */
};

/* Keys whose values an event must not carry (none in today's schema). */
static bool
diff_secret(const char *path)
{
	static const char *const words[] = { "password", "secret",
	    "community", "passphrase", "token" };
	const char *last = strrchr(path, '.');

	last = last != NULL ? last + 1 : path;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(last, words[i]) != NULL)
			return true;
	return false;
}

/* A value for the event's diff: at most 48 bytes, cut on a UTF-8
 * boundary, control characters as spaces. */
static void
diff_value(char *out, size_t outlen, const char *v, bool secret)
{
	size_t n, i;

	if (v == NULL || secret) {
		snprintf(out, outlen, "%s", v == NULL ? "(none)" : "(hidden)");
		return;
	}
	n = strlen(v);
	if (n > 48) {
		n = 48;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	if (n + 4 > outlen)
		n = outlen - 4;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? ' ' : v[i];
	snprintf(out + n, outlen - n, "%s", n < strlen(v) ? "..." : "");
}

static void
diff_one(const char *path, const char *old, const char *new, void *arg)
{
	struct diff_summary *d = arg;
	size_t used = strlen(d->text), dl = strlen(d->diff);
	char ov[64], nv[64];

	if (d->n < 8 && used + strlen(path) + 3 < sizeof(d->text))
		snprintf(d->text + used, sizeof(d->text) - used, "%s%s",
		    d->n ? ", " : "", path);
	else if (d->n == 8 && used + 5 < sizeof(d->text))
		snprintf(d->text + used, sizeof(d->text) - used, ", ...");
	/* Whole entries in order, then "; ..." for the rest. */
	if (!d->diff_full) {
		bool secret = diff_secret(path);

		diff_value(ov, sizeof(ov), old, secret);
		diff_value(nv, sizeof(nv), new, secret);
		if (dl + strlen(path) + strlen(ov) + strlen(nv) + 12 <
		    sizeof(d->diff) - 6)
			snprintf(d->diff + dl, sizeof(d->diff) - dl,
			    "%s%s: %s -> %s", d->n ? "; " : "", path, ov, nv);
		else {
			snprintf(d->diff + dl, sizeof(d->diff) - dl, "%s...",
			    d->n ? "; " : "");
			d->diff_full = true;
		}
	}
	d->n++;
	if (d->list != NULL) {
		json_t *o = json_object();

		json_object_set_new(o, "key", json_string(path));
		json_object_set_new(o, "old", old ? json_string(old) : json_null());
		json_object_set_new(o, "new", new ? json_string(new) : json_null());
		json_array_append_new(d->list, o);
	}
}

/* The configuration-changed event, from the diff change_finish made. */
static void
report_change(const struct diff_summary *d, const char *source,
    const char *who, const char *from)
{
	char count[32];

	snprintf(count, sizeof(count), "%zu", d->n);
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    EVENTLOG_CONFIG_CHANGED, "who", who, "from", from,
	    "source", source, "changes", count, "keys", d->text,
	    "diff", d->diff, NULL);
	log_info("policy changed by %s (%s): %zu keys: %s", who, from, d->n,
	    d->text);
}

static void
report_rejected(const char *who, const char *from, const char *why)
{
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    EVENTLOG_CONFIG_REJECTED, "who", who, "from", from,
	    "error", why, NULL);
	log_warn("policy change by %s (%s) refused: %s", who, from, why);
}

static void
swap_policy(struct engine *e, struct policy *new, bool from_file)
{
	size_t i;

	policy_free(e->policy);
	e->policy = new;
	e->policy_from_file = from_file;
	fw_ir_free(e->admit_ir);
	e->admit_ir = NULL;
	e->policy_loaded = time(NULL);
	for (i = 0; i < new->n_warnings; i++)
		log_warn("policy: %s", new->warnings[i]);
}

static int
memfd_with(const char *name, const void *data, size_t len)
{
	int fd;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (fsutil_write_all(fd, data, len) < 0) {
		close(fd);
		return -1;
	}
	/* The monitor reads exactly what was checked here. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL);
	return fd;
}

/* p's firewall with the live bans, as the monitor's config bytes. */
static void *
firewall_config(struct engine *e, const struct policy *p, size_t *len)
{
	struct fw_ban *bans = NULL;
	size_t nbans = 0;
	void *cfg;

	if (e->bans != NULL && bans_export(e->bans, time(NULL), &bans, &nbans) < 0)
		return NULL;
	cfg = fw_config_from_policy(p, bans, nbans, len);
	free(bans);
	return cfg;
}

/* The same as the rule list the monitor builds from it, or NULL. */
static struct fw_ir *
firewall_ir(struct engine *e, const struct policy *p)
{
	struct fw_ir *ir = NULL;
	size_t len;
	void *cfg = firewall_config(e, p, &len);

	if (cfg != NULL)
		ir = fw_build(cfg, len);
	free(cfg);
	return ir;
}

/* --- the Modbus gateway's requests ----------------------------------- */

static void
gw_fd_done(struct engine *e, int status, const void *body, int fd, void *arg)
{
	const struct priv_reply *r = body;

	mbgw_fd_ready(e->mbgw, (uint32_t)(uintptr_t)arg, status == 0 ? fd : -1,
	    status, r != NULL ? r->message : strerror(status));
	if (status != 0 && fd >= 0)
		close(fd);
}

static int
gw_open_listen(void *arg, int family, uint16_t port, uint32_t token)
{
	struct priv_open_listen req = {
		.family = (uint8_t)family, .transport = REGISTRY_TCP,
		.port = port,
	};

	return priv_request(arg, PRIV_OPEN_LISTEN, &req, sizeof(req), -1,
	    PRIV_REPLY, gw_fd_done, (void *)(uintptr_t)token);
}

static int
gw_open_device(void *arg, const char *path, uint32_t token)
{
	struct priv_open_device req;

	memset(&req, 0, sizeof(req));
	if (strlen(path) >= sizeof(req.path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(req.path, path, strlen(path));
	return priv_request(arg, PRIV_OPEN_DEVICE, &req, sizeof(req), -1,
	    PRIV_REPLY, gw_fd_done, (void *)(uintptr_t)token);
}

/*
 * The accessible-IP list at accept, with the rules the kernel gets (it
 * may not be enforcing them: no CAP_NET_ADMIN, no nf_tables).  Like the
 * kernel's rule for "lo", local clients are never refused.
 */
static bool
gw_admit(void *arg, const struct sockaddr *sa, uint16_t dport, char *why,
    size_t whylen)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct engine *e = arg;
	struct fw_flow f = { .l4proto = IPPROTO_TCP, .dport = dport };
	int rule;

	static const uint8_t v6loop[16] = { [15] = 1 };
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	if (sa->sa_family == AF_INET) {
		memcpy(&s4, sa, sizeof(s4));
		f.family = 4;
		memcpy(f.saddr, &s4.sin_addr, 4);
		f.sport = ntohs(s4.sin_port);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&s6, sa, sizeof(s6));
		f.sport = ntohs(s6.sin6_port);
		if (memcmp(&s6.sin6_addr, v4mapped, 12) == 0) {
			f.family = 4;
			memcpy(f.saddr, (const uint8_t *)&s6.sin6_addr + 12, 4);
		} else {
			f.family = 6;
			memcpy(f.saddr, &s6.sin6_addr, 16);
		}
	} else
		return false;
	if ((f.family == 4 && f.saddr[0] == 127) ||
	    (f.family == 6 && memcmp(f.saddr, v6loop, 16) == 0))
		return true;
	if (e->admit_ir == NULL)
		e->admit_ir = firewall_ir(e, e->policy);
	if (e->admit_ir == NULL) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	if (fw_eval_new(e->admit_ir, &f, &rule) == FW_V_ACCEPT)
		return true;
	snprintf(why, whylen, "%s", rule >= 0 ?
	    e->admit_ir->rules[rule].comment : "firewall.default_input: drop");
	return false;
}

/*
 * Ask the monitor to load p's firewall.  cb gets the monitor's status:
 * 0 applied, EPERM when the monitor cannot program nftables (then the
 * firewall is simply not enforced), anything else a refused ruleset.
 */
static int
firewall_request(struct engine *e, const struct policy *p, priv_cb cb,
    void *arg)
{
	size_t len;
	void *cfg;
	int fd, rc;

	cfg = firewall_config(e, p, &len);
	if (cfg == NULL)
		return -1;
	fd = memfd_with("sluice-firewall", cfg, len);
	free(cfg);
	if (fd < 0)
		return -1;
	rc = priv_request(e, PRIV_FIREWALL_APPLY, NULL, 0, fd, PRIV_REPLY, cb,
	    arg);
	close(fd);
	return rc;
}

/* Record the outcome of a firewall load; true unless it was refused. */
static bool
firewall_result(struct engine *e, int status, const void *body)
{
	const struct priv_reply *r = body;
	const char *msg = r != NULL ? r->message : strerror(status);

	if (status == 0) {
		e->fw_state = FW_ENFORCED;
		e->fw_gen++;      /* a new table: counters start from zero */
		snprintf(e->fw_detail, sizeof(e->fw_detail), "%s", msg);
		return true;
	}
	if (status == EPERM || status == EOPNOTSUPP) {
		if (e->fw_state != FW_NOT_ENFORCED)
			log_warn("cannot enforce: kernel firewall: %s", msg);
		e->fw_state = FW_NOT_ENFORCED;
		snprintf(e->fw_detail, sizeof(e->fw_detail), "%s", msg);
		return true;
	}
	snprintf(e->fw_detail, sizeof(e->fw_detail), "%s", msg);
	return false;
}

static void change_saved(struct engine *, int, const void *, int, void *);

/* The last step of a change, whatever its outcome: report and reply. */
static void
change_finish(struct engine *e, struct change *c, int code, const char *why)
{
	e->change = NULL;
	if (c->save_fd >= 0)
		close(c->save_fd);
	if (code == 0) {
		json_t *result = json_object();
		struct diff_summary d = { .list = json_array() };

		policy_diff(e->policy, c->new, diff_one, &d);
		json_object_set_new(result, "changes", d.list);
		if (d.n > 0)
			report_change(&d, c->new->source, c->who, c->what);
		json_object_set_new(result, "saved", json_string(
		    c->save_fd >= 0 ? e->info->policy_path : "not saved"));
		json_object_set_new(result, "message", json_sprintf(
		    "policy %s from %s", strcmp(c->what, "reload") == 0 ?
		    "reloaded" : "applied", c->new->source));
		swap_policy(e, c->new, c->from_file);
		if (c->confirm_s > 0) {
			struct timeval tv = { (time_t)c->confirm_s, 0 };

			e->confirm_by = time(NULL) + (time_t)c->confirm_s;
			event_add(e->confirm_ev, &tv);
			json_object_set_new(result, "confirm_by",
			    json_integer((json_int_t)e->confirm_by));
			log_warn("policy applied by %s: it is reverted in %u s "
			    "unless `sluicectl policy confirm` comes first",
			    c->who, c->confirm_s);
		}
		if (strcmp(c->what, "reload") == 0)
			snprintf(e->last_reload, sizeof(e->last_reload), "ok: %s",
			    c->new->source);
		if (c->conn != NULL)
			ctl_conn_reply(c->conn, ctl_reply_ok(result));
		else {
			log_info("policy reloaded from %s", c->new->source);
			json_decref(result);
		}
	} else {
		report_rejected(c->who, c->what, why);
		if (strcmp(c->what, "reload") == 0)
			snprintf(e->last_reload, sizeof(e->last_reload),
			    "failed: %s", why);
		if (c->conn != NULL)
			ctl_conn_reply(c->conn, ctl_reply_error(code, "%s", why));
		policy_free(c->new);
	}
	free(c);
	engine_notify(e, "READY=1");
	if (e->fw_dirty)
		fw_refresh(e, NULL);
}

/* Undo the synchronous part of a change that failed later. */
static void
change_revert(struct engine *e, struct change *c)
{
	struct policy_error err = { "" };

	if (apply_run(modules, N_MODULES, c->new, e->policy, &err) < 0)
		log_error("returning to the previous policy: %s", err.msg);
}

static void
fw_restored(struct engine *e, int status, const void *body, int fd, void *arg)
{
	(void)arg;
	if (fd >= 0)
		close(fd);
	if (!firewall_result(e, status, body))
		log_error("restoring the previous firewall failed: %s "
		    "(the kernel keeps whatever it last accepted)", e->fw_detail);
}

static void
change_fw_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct change *c = arg;
	char why[320];

	if (fd >= 0)
		close(fd);
	if (!firewall_result(e, status, body)) {
		snprintf(why, sizeof(why), "the kernel refused the firewall: %s",
		    e->fw_detail);
		change_revert(e, c);
		change_finish(e, c, CTL_EXIT_FAILED, why);
		return;
	}
	if (c->save_fd < 0) {
		change_finish(e, c, 0, NULL);
		return;
	}
	if (priv_request(e, PRIV_WRITE_POLICY, NULL, 0, c->save_fd, PRIV_REPLY,
	    change_saved, c) < 0) {
		snprintf(why, sizeof(why), "could not hand the policy to the "
		    "monitor: %s", strerror(errno));
		change_revert(e, c);
		(void)firewall_request(e, e->policy, fw_restored, NULL);
		change_finish(e, c, CTL_EXIT_FAILED, why);
	}
}

static void
change_saved(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	const struct priv_reply *r = body;
	struct change *c = arg;
	char why[320];

	if (fd >= 0)
		close(fd);
	if (status == 0) {
		change_finish(e, c, 0, NULL);
		return;
	}
	/* Not saved: go back, so running and saved policy agree. */
	snprintf(why, sizeof(why), "could not save the policy: %s",
	    r ? r->message : strerror(status));
	change_revert(e, c);
	(void)firewall_request(e, e->policy, fw_restored, NULL);
	change_finish(e, c, CTL_EXIT_FAILED, why);
}

/*
 * Start a change to p (owned from here on): the synchronous subsystems
 * now, then the firewall and the save through the monitor.  save_text
 * NULL = nothing to save (reload).  The outcome is reported by
 * change_finish(), to conn when there is one.
 */
static void
change_begin(struct engine *e, struct ctl_conn *conn, const char *who,
    const char *what, struct policy *p, bool from_file,
    const char *save_text, size_t save_len, unsigned confirm_s)
{
	struct policy_error err = { "" };
	struct change *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		policy_free(p);
		if (conn != NULL)
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "out of memory"));
		return;
	}
	c->conn = conn;
	c->new = p;
	c->from_file = from_file;
	c->save_fd = -1;
	c->confirm_s = confirm_s;
	snprintf(c->who, sizeof(c->who), "%s", who);
	snprintf(c->what, sizeof(c->what), "%s", what);
	e->change = c;
	engine_notify(e, "RELOADING=1");
	if (save_text != NULL &&
	    (c->save_fd = memfd_with("sluice-policy", save_text, save_len)) < 0) {
		change_finish(e, c, CTL_EXIT_FAILED, "out of memory");
		return;
	}
	if (apply_run(modules, N_MODULES, e->policy, p, &err) < 0) {
		change_finish(e, c, CTL_EXIT_FAILED, err.msg);
		return;
	}
	if (firewall_request(e, p, change_fw_done, c) < 0) {
		char why[160];

		snprintf(why, sizeof(why), "could not hand the firewall to the "
		    "monitor: %s", strerror(errno));
		change_revert(e, c);
		change_finish(e, c, CTL_EXIT_FAILED, why);
	}
}

/* --- bans ------------------------------------------------------------ */

static void
refresh_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct ctl_conn *conn = arg;
	bool ok;

	if (fd >= 0)
		close(fd);
	e->fw_busy = false;
	ok = firewall_result(e, status, body);
	if (!ok)
		log_error("updating the firewall's bans failed: %s", e->fw_detail);
	if (conn != NULL)
		ctl_conn_reply(conn, ok ? ctl_reply_ok(json_pack("{s:s}",
		    "firewall", fw_state_name(e->fw_state))) :
		    ctl_reply_error(CTL_EXIT_FAILED, "the kernel refused the "
		    "update: %s", e->fw_detail));
	if (e->fw_dirty)
		fw_refresh(e, NULL);
}

/*
 * Load the running policy's firewall again, with the current bans.  One
 * at a time: what changes meanwhile is picked up by the next one.  conn
 * (may be NULL) gets the outcome.
 */
static void
fw_refresh(struct engine *e, struct ctl_conn *conn)
{
	if (e->fw_busy || e->change != NULL) {
		e->fw_dirty = true;
		if (conn != NULL)
			ctl_conn_reply(conn, ctl_reply_ok(json_pack("{s:s}",
			    "firewall", "update queued behind the change in "
			    "progress")));
		return;
	}
	e->fw_dirty = false;
	fw_ir_free(e->admit_ir);     /* the bans changed */
	e->admit_ir = NULL;
	if (firewall_request(e, e->policy, refresh_done, conn) < 0) {
		log_error("handing the firewall to the monitor: %s",
		    strerror(errno));
		if (conn != NULL)
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "%s", strerror(errno)));
		return;
	}
	e->fw_busy = true;
}

/*
 * Ban addr for seconds: for the control socket now, and for the
 * subsystems of later releases (login lockout, flood detection).  A
 * management address is never banned, only reported.  Returns 0, or -1
 * with a message in err.
 */
static int
engine_ban(struct engine *e, const char *addr, uint32_t seconds,
    const char *reason, const char *who, char *err, size_t errlen)
{
	uint8_t fam, a[16];
	char secs[16];

	if (bans_parse_addr(addr, &fam, a, err, errlen) < 0)
		return -1;
	if (seconds == 0)
		seconds = e->policy->firewall.ban_seconds;
	if (seconds > FW_MAX_BAN_SECONDS) {
		snprintf(err, errlen, "a ban lasts at most %u seconds",
		    FW_MAX_BAN_SECONDS);
		return -1;
	}
	snprintf(secs, sizeof(secs), "%u", seconds);
	if (bans_is_management(e->policy, fam, a)) {
		eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING,
		    EVENTLOG_SOURCE_BANNED, "address", addr, "seconds", "0",
		    "reason", reason, "who", who, "note",
		    "management address: not banned", NULL);
		snprintf(err, errlen, "%s is a management address "
		    "(firewall.management): never banned", addr);
		return -1;
	}
	if (bans_add(e->bans, fam, a, seconds, reason, time(NULL)) < 0) {
		snprintf(err, errlen, "%s", errno == ENOSPC ? "the ban list is "
		    "full" : strerror(errno));
		return -1;
	}
	eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING, EVENTLOG_SOURCE_BANNED,
	    "address", addr, "seconds", secs, "reason", reason, "who", who,
	    NULL);
	return 0;
}

static void
cmd_ban(struct engine *e, struct ctl_conn *conn, json_t *args, bool ban)
{
	const char *addr = json_string_value(json_object_get(args, "address"));
	const char *reason = json_string_value(json_object_get(args, "reason"));
	json_int_t secs = json_integer_value(json_object_get(args, "seconds"));
	char err[256] = "";
	uint8_t fam, a[16];

	if (addr == NULL) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
		    "\"address\" is required"));
		return;
	}
	if (ban) {
		if (secs < 0 || secs > FW_MAX_BAN_SECONDS) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
			    "seconds must be 1..%u", FW_MAX_BAN_SECONDS));
			return;
		}
		if (engine_ban(e, addr, (uint32_t)secs, reason ? reason :
		    "sluicectl", ctl_conn_peer(conn), err, sizeof(err)) < 0) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "%s", err));
			return;
		}
	} else {
		if (bans_parse_addr(addr, &fam, a, err, sizeof(err)) < 0 ||
		    (bans_remove(e->bans, fam, a, time(NULL)) < 0 &&
		    snprintf(err, sizeof(err), "%s is not banned", addr) > 0)) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "%s", err));
			return;
		}
		eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_NOTICE,
		    EVENTLOG_SOURCE_UNBANNED, "address", addr,
		    "who", ctl_conn_peer(conn), NULL);
	}
	fw_refresh(e, conn);
}

/* SIGHUP or `sluicectl reload`: the file on disk, all or nothing. */
static void
engine_reload(struct engine *e, struct ctl_conn *conn, const char *who)
{
	struct policy_error err = { "" };
	struct policy *p;
	bool from_file = access(e->info->policy_path, F_OK) == 0;

	/* The subsystems already run the change in flight: don't mix. */
	if (e->change != NULL) {
		const char *why = "a policy change is in progress; reload "
		    "again when it is done";

		if (conn != NULL)
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "%s", why));
		else
			log_warn("SIGHUP ignored: %s", why);
		return;
	}
	p = from_file ? policy_load_file(e->info->policy_path, &err) :
	    policy_load_default(&err);
	if (p == NULL) {
		report_rejected(who, "reload", err.msg);
		snprintf(e->last_reload, sizeof(e->last_reload), "failed: %s",
		    err.msg);
		if (conn != NULL)
			ctl_conn_reply(conn, ctl_reply_error(
			    CTL_EXIT_INVALID_POLICY, "%s", err.msg));
		return;
	}
	change_begin(e, conn, who, "reload", p, from_file, NULL, 0, 0);
}

/*
 * The guide's WARNING (section 3.4): refuse a policy whose firewall would
 * drop the session the operator applies it from.  ssh is the client's
 * SSH_CONNECTION ("client port server port").  Returns 0 when the session
 * survives (or nothing can be told), -1 with the reason in err.
 */
static int
lockout_check(struct engine *e, const struct policy *p, const char *ssh,
    char *err, size_t errlen)
{
	char caddr[64], saddr[64], why[96];
	struct fw_flow f = { .l4proto = IPPROTO_TCP };
	unsigned cport, sport;
	struct fw_ir *ir;
	int rule;
	enum fw_verdict v;

	if (ssh == NULL || e->fw_state != FW_ENFORCED ||
	    sscanf(ssh, "%63s %u %63s %u", caddr, &cport, saddr, &sport) != 4 ||
	    cport > 65535 || sport > 65535)
		return 0;
	caddr[strcspn(caddr, "%")] = '\0';     /* a link-local scope */
	if (bans_parse_addr(strncmp(caddr, "::ffff:", 7) == 0 &&
	    strchr(caddr, '.') ? caddr + 7 : caddr, &f.family, f.saddr, why,
	    sizeof(why)) < 0)
		return 0;
	f.sport = (uint16_t)cport;
	f.dport = (uint16_t)sport;
	ir = firewall_ir(e, p);
	if (ir == NULL)
		return 0;
	v = fw_eval_new(ir, &f, &rule);
	if (v != FW_V_ACCEPT)
		snprintf(err, errlen, "this policy would cut off your SSH session "
		    "from %s to port %u/tcp (%s%s); fix the policy, apply it with "
		    "--confirm-within SECONDS to have it undone unless confirmed, "
		    "or with --force", caddr, sport,
		    rule >= 0 ? "rule: " : "firewall.default_input: drop",
		    rule >= 0 ? ir->rules[rule].comment : "");
	fw_ir_free(ir);
	return v == FW_V_ACCEPT ? 0 : -1;
}

/*
 * Validate text, then change to it and save it.  The reply to conn is
 * sent when the monitor has loaded the firewall and written the file.
 */
static void
engine_change(struct engine *e, struct ctl_conn *conn, const char *what,
    const char *name, const char *text, size_t len, const char *basedir,
    unsigned confirm_s, const char *ssh)
{
	struct policy_error err = { "" };
	struct policy *p, *again;
	char dir[PATH_MAX];
	char *normal = NULL;

	if (e->change != NULL) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
		    "another policy change is in progress; try again"));
		return;
	}
	if (e->confirm_by != 0) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
		    "the last change awaits `sluicectl policy confirm` (it is "
		    "reverted in %lld s); confirm it first",
		    (long long)(e->confirm_by - time(NULL))));
		return;
	}
	p = policy_load_buffer(name, text, len, basedir, &err);
	if (p == NULL) {
		report_rejected(ctl_conn_peer(conn), what, err.msg);
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_INVALID_POLICY,
		    "%s", err.msg));
		return;
	}
	if (policy_equal(p, e->policy) && e->policy_from_file) {
		policy_free(p);
		ctl_conn_reply(conn, ctl_reply_ok(json_pack("{s:[],s:s}",
		    "changes", "saved", "unchanged")));
		return;
	}
	/* A commit-confirmed change undoes itself: that is its safety net. */
	if (confirm_s == 0 && lockout_check(e, p, ssh, err.msg,
	    sizeof(err.msg)) < 0) {
		report_rejected(ctl_conn_peer(conn), what, err.msg);
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED, "%s",
		    err.msg));
		policy_free(p);
		return;
	}
	/*
	 * Save the user's own text (comments and all) when it means the same
	 * from the policy file's directory; otherwise (a relative base:) the
	 * self-contained normalised form.
	 */
	fsutil_dirname(e->info->policy_path, dir, sizeof(dir));
	again = policy_load_buffer(e->info->policy_path, text, len, dir, &err);
	if (again == NULL || !policy_equal(again, p)) {
		normal = policy_to_yaml(p);
		if (normal == NULL) {
			policy_free(again);
			policy_free(p);
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "out of memory"));
			return;
		}
		text = normal;
		len = strlen(normal);
	}
	policy_free(again);
	change_begin(e, conn, ctl_conn_peer(conn), what, p, true, text, len,
	    confirm_s);
	free(normal);
}

/* --- drop counters --------------------------------------------------- */

#define FW_POLL_S        5
#define FW_REPORT_S      60      /* one event per rule per minute at most */
#define FW_TRACK_CAP     1024    /* sources remembered between polls */
#define FW_EVENT_SOURCES 8       /* sources an event names */

static void
counters_reset(struct engine *e)
{
	fw_ir_free(e->fw_ir);
	free(e->fw_last);
	free(e->fw_pending);
	free(e->fw_since);
	free(e->fw_reported);
	fw_track_free(e->fw_track);
	e->fw_ir = NULL;
	e->fw_last = e->fw_pending = NULL;
	e->fw_since = e->fw_reported = NULL;
	e->fw_track = NULL;
	e->fw_n = 0;
}

/* The IR of the table now loaded, to name the rules whose counters rose. */
static int
counters_rebuild(struct engine *e)
{
	counters_reset(e);
	e->fw_ir = firewall_ir(e, e->policy);
	if (e->fw_ir == NULL)
		return -1;
	e->fw_n = e->fw_ir->n_rules;
	e->fw_last = calloc(e->fw_n + 1, sizeof(*e->fw_last));
	e->fw_pending = calloc(e->fw_n + 1, sizeof(*e->fw_pending));
	e->fw_since = calloc(e->fw_n + 1, sizeof(*e->fw_since));
	e->fw_reported = calloc(e->fw_n + 1, sizeof(*e->fw_reported));
	e->fw_track = fw_track_new(FW_TRACK_CAP);
	if (!e->fw_last || !e->fw_pending || !e->fw_since || !e->fw_reported ||
	    !e->fw_track) {
		counters_reset(e);
		return -1;
	}
	e->fw_ir_gen = e->fw_gen;
	return 0;
}

static const char *
rule_name(const struct fw_ir *ir, size_t i)
{
	const char *c = ir->rules[fw_rule_head(ir, i)].comment;

	return c[0] != '\0' ? c : "rule";
}

/*
 * Where rule i's drops are reported: the first rule of its drop target,
 * so that the IPv4 and IPv6 halves of a rule make one event, with the
 * sources of both; a rule without a target reports for itself.
 */
static size_t
report_slot(const struct fw_ir *ir, size_t i)
{
	uint16_t t = ir->rules[i].target;

	return t != 0 && t <= ir->n_targets ? ir->targets[t - 1].rule : i;
}

struct slot_want {
	const struct fw_ir *ir;
	size_t slot;
};

static bool
target_in_slot(uint16_t target, void *arg)
{
	const struct slot_want *w = arg;

	return target != 0 && target <= w->ir->n_targets &&
	    w->ir->targets[target - 1].rule == w->slot;
}

/* 12400 -> "12,400" */
static void
thousands(char *buf, size_t len, uint64_t v)
{
	char digits[24];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu",
	    (unsigned long long)v);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/*
 * One firewall-drops event for slot i: the rule, its drops since the
 * last report and the sources the kernel counted for it, e.g.
 * "syn flood from 192.0.2.7 dropped: 12,400 packets in 10 s".
 */
static void
counters_report(struct engine *e, size_t i, time_t now)
{
	struct fw_source top[FW_EVENT_SOURCES];
	struct slot_want w = { e->fw_ir, i };
	char pk[24], secs[24], n1[32], n2[32], from[128], msg[512], srcs[512];
	const char *verb = e->fw_ir->rules[i].verdict == FW_V_REJECT ?
	    "refused" : "dropped";
	size_t n, k, all, o = 0;

	n = fw_track_take(e->fw_track, target_in_slot, &w, top,
	    FW_EVENT_SOURCES, NULL, &all);
	srcs[0] = from[0] = '\0';
	for (k = 0; k < n; k++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(top[k].family == 4 ? AF_INET : AF_INET6,
		    top[k].addr, a, sizeof(a));
		if (k == 0)
			snprintf(from, sizeof(from), " from %s", a);
		if (o < sizeof(srcs))
			o += (size_t)snprintf(srcs + o, sizeof(srcs) - o,
			    "%s%s (%llu)", k ? ", " : "", a,
			    (unsigned long long)top[k].packets);
	}
	/* Beyond those listed: the kernel saw how many more there were. */
	if (all > n && o < sizeof(srcs))
		snprintf(srcs + o, sizeof(srcs) - o, ", and %zu more", all - n);
	if (all > 1) {
		thousands(n2, sizeof(n2), all - 1);
		/* A full set: sources past its size went uncounted. */
		snprintf(from + strlen(from), sizeof(from) - strlen(from),
		    " and %s%s other source%s", e->fw_ctr_flags &
		    (FW_CTR_FULL4 | FW_CTR_FULL6) ? "at least " : "", n2,
		    all > 2 ? "s" : "");
	}
	snprintf(pk, sizeof(pk), "%llu", (unsigned long long)e->fw_pending[i]);
	snprintf(secs, sizeof(secs), "%lld", (long long)(now - e->fw_since[i]));
	thousands(n1, sizeof(n1), e->fw_pending[i]);
	snprintf(msg, sizeof(msg), "%s%s %s: %s packet%s in %s s",
	    rule_name(e->fw_ir, i), from, verb, n1,
	    e->fw_pending[i] == 1 ? "" : "s", secs);
	/* "sources" last: without any, its NULL key ends the list. */
	eventlog_emit(EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    EVENTLOG_FIREWALL_DROPS, "rule", rule_name(e->fw_ir, i),
	    "verdict", e->fw_ir->rules[i].verdict == FW_V_REJECT ?
	    "reject" : "drop", "packets", pk, "seconds", secs,
	    "message", msg, n > 0 ? "sources" : NULL, srcs, NULL);
	e->fw_pending[i] = 0;
	e->fw_reported[i] = now;
}

static void
counters_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct fw_counters c;
	char *buf = NULL, err[128];
	size_t len = 0, i;
	time_t now = time(NULL);
	bool baseline;

	(void)body;
	(void)arg;
	e->fw_polling = false;
	if (status != 0 || fd < 0 ||
	    fsutil_read_fd(fd, sizeof(struct fw_counters_header) +
	    FW_MAX_COUNTERS * sizeof(uint64_t) + FW_MAX_SOURCES *
	    sizeof(struct fw_source), &buf, &len) < 0) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return;
	}
	close(fd);
	if (fw_counters_decode(buf, len, &c, err, sizeof(err)) < 0) {
		log_warn("drop counters from the monitor: %s", err);
		free(buf);
		return;
	}
	free(buf);
	e->fw_ctr_flags = c.flags;
	baseline = e->fw_ir_gen != e->fw_gen || e->fw_ir == NULL;
	if (baseline && counters_rebuild(e) < 0) {
		fw_counters_clear(&c);
		return;
	}
	for (i = 0; i < c.n_rules && i < e->fw_n; i++) {
		const struct fw_rule *r = &e->fw_ir->rules[i];
		size_t slot = report_slot(e->fw_ir, i);
		uint64_t d, cur = c.pkts[i];

		if (cur == FW_NL_NO_COUNTER || r->verdict == FW_V_ACCEPT)
			continue;
		/* The table was replaced since: count from its zero. */
		d = baseline ? cur : cur >= e->fw_last[i] ? cur -
		    e->fw_last[i] : cur;
		e->fw_last[i] = cur;
		if (d == 0)
			continue;
		if (e->fw_pending[slot] == 0)
			e->fw_since[slot] = now - FW_POLL_S;
		e->fw_pending[slot] += d;
	}
	fw_track_update(e->fw_track, c.sources, c.n_sources);
	fw_counters_clear(&c);
	for (i = 0; i < e->fw_n; i++)
		if (e->fw_pending[i] != 0 &&
		    now - e->fw_reported[i] >= FW_REPORT_S)
			counters_report(e, i, now);
}

static void
counters_poll(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->fw_state != FW_ENFORCED || e->fw_polling || e->fw_busy ||
	    e->change != NULL)
		return;
	if (priv_request(e, PRIV_FIREWALL_COUNTERS, NULL, 0, -1, PRIV_REPLY,
	    counters_done, NULL) == 0)
		e->fw_polling = true;
}

/* Commit-confirmed: nobody confirmed, so the version before comes back. */
static void
confirm_expired(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct policy_error err = { "" };
	char path[PATH_MAX], dir[PATH_MAX], *text;
	struct timeval again = { 1, 0 };
	struct policy *p;
	size_t len;

	(void)fd;
	(void)what;
	if (e->change != NULL) {
		event_add(e->confirm_ev, &again);
		return;
	}
	e->confirm_by = 0;
	snprintf(path, sizeof(path), "%s/policy-history/sluice.yaml.1",
	    e->info->state_dir);
	fsutil_dirname(e->info->policy_path, dir, sizeof(dir));
	if (fsutil_read_file(path, POLICY_MAX_FILE_SIZE, &text, &len) < 0) {
		log_error("unconfirmed change: cannot read %s to revert: %s",
		    path, strerror(errno));
		return;
	}
	p = policy_load_buffer("policy-history/sluice.yaml.1", text, len, dir,
	    &err);
	if (p == NULL)
		log_error("unconfirmed change: the previous version does not "
		    "load: %s", err.msg);
	else {
		log_warn("unconfirmed change: reverting to the previous policy");
		change_begin(e, NULL, "confirm timer", "revert", p, true, text,
		    len, 0);
	}
	free(text);
}

/* --- control commands ------------------------------------------------- */

static const char *
fw_state_name(enum fw_state s)
{
	switch (s) {
	case FW_ENFORCED:
		return "enforced";
	case FW_NOT_ENFORCED:
		return "not enforced";
	case FW_FAILED:
		return "failed";
	default:
		return "pending";
	}
}

static json_t *
limitations(const struct engine *e)
{
	json_t *a = json_array();
	unsigned i;

	if (e->fw_state == FW_NOT_ENFORCED || e->fw_state == FW_FAILED)
		json_array_append_new(a, json_sprintf("kernel firewall %s (%s): "
		    "the accessible-IP list, DoS defense and closed ports are "
		    "not enforced by the kernel", fw_state_name(e->fw_state),
		    e->fw_detail));
	if (!e->info->privileged)
		json_array_append_new(a, json_string("started without root: "
		    "the engine runs as the same user as the monitor"));
	if (!e->info->net_bind)
		json_array_append_new(a, json_string("the monitor lacks "
		    "CAP_NET_BIND_SERVICE: ports below 1024 cannot be opened"));
	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);
		char line[160];

		if (!e->policy->services[i].enabled || s->implemented)
			continue;
		snprintf(line, sizeof(line), "service %s is enabled but not "
		    "implemented by this build: %s", s->name,
		    s->role == REGISTRY_ROLE_SERVER ? "its port stays closed" :
		    "it sends nothing");
		json_array_append_new(a, json_string(line));
	}
	return a;
}

static json_t *
cmd_status(struct engine *e)
{
	char started[32], loaded[32];
	json_t *warn = json_array(), *o;
	unsigned i, enabled = 0;
	size_t w;

	iso_time(e->started, started, sizeof(started));
	iso_time(e->policy_loaded, loaded, sizeof(loaded));
	for (w = 0; w < e->policy->n_warnings; w++)
		json_array_append_new(warn, json_string(e->policy->warnings[w]));
	for (i = 0; i < REGISTRY_COUNT; i++)
		enabled += e->policy->services[i].enabled;
	o = json_pack("{s:s, s:I, s:I, s:s, s:I}",
	    "version", PACKAGE_VERSION,
	    "engine_pid", (json_int_t)getpid(),
	    "monitor_pid", (json_int_t)e->info->monitor_pid,
	    "started", started,
	    "uptime_s", (json_int_t)(time(NULL) - e->started));
	json_object_set_new(o, "policy", json_pack("{s:s, s:s, s:s, s:s, s:o}",
	    "path", e->info->policy_path,
	    "source", e->policy->source,
	    "loaded", loaded,
	    "last_reload", e->last_reload[0] ? e->last_reload : "none",
	    "warnings", warn));
	json_object_set_new(o, "privilege_separation", json_pack(
	    "{s:b, s:s, s:I, s:b, s:b, s:I}",
	    "monitor_root", e->info->privileged,
	    "engine_user", e->info->engine_user,
	    "engine_uid", (json_int_t)e->info->engine_uid,
	    "net_admin", e->info->net_admin,
	    "net_bind_service", e->info->net_bind,
	    "engine_restarts", (json_int_t)e->info->restarts));
	if (e->confirm_by != 0)
		json_object_set_new(o, "confirm_within_s", json_integer(
		    (json_int_t)(e->confirm_by - time(NULL))));
	json_object_set_new(o, "firewall", json_pack("{s:s, s:s}",
	    "state", fw_state_name(e->fw_state), "detail", e->fw_detail));
	json_object_set_new(o, "limitations", limitations(e));
	json_object_set_new(o, "services_enabled", json_integer(enabled));
	json_object_set_new(o, "eventlog", eventlog_stats());
	json_object_set_new(o, "console", console_status(e->console));
	return o;
}

static json_t *
cmd_services(struct engine *e)
{
	json_t *a = json_array();
	unsigned i, j;

	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);
		const struct policy_service *ps = &e->policy->services[i];
		json_t *eps = json_array();

		for (j = 0; j < s->n_endpoints; j++)
			json_array_append_new(eps, json_pack(
			    "{s:s, s:s, s:i, s:i, s:s}",
			    "key", s->endpoints[j].key,
			    "transport", registry_transport_name(s->endpoints[j].transports),
			    "port", ps->ports[j],
			    "default_port", s->endpoints[j].port,
			    "purpose", s->endpoints[j].purpose));
		json_array_append_new(a, json_pack(
		    "{s:s, s:s, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:s}",
		    "name", s->name, "title", s->title,
		    "class", registry_class_name(s->class),
		    "role", registry_role_name(s->role),
		    "endpoints", eps,
		    "enabled", ps->enabled,
		    "factory", s->factory_enabled,
		    "hardened", s->hardened_enabled,
		    "implemented", s->implemented,
		    "remark", s->hardened_remark));
	}
	return a;
}

static json_t *
cmd_log(struct engine *e, json_t *args)
{
	struct eventlog_filter f = { -1, 0, 0 };
	json_t *v, *recs;

	if ((v = json_object_get(args, "group")) != NULL) {
		f.group = eventlog_group_find(json_string_value(v));
		if (f.group < 0)
			return ctl_reply_error(CTL_EXIT_USAGE, "unknown group "
			    "\"%.32s\" (expected system, network, configuration "
			    "or protocol)", json_string_value(v));
	}
	if ((v = json_object_get(args, "since")) != NULL)
		f.since = json_integer_value(v);
	if ((v = json_object_get(args, "limit")) != NULL)
		f.limit = json_integer_value(v) > 0 ?
		    (size_t)json_integer_value(v) : 0;
	recs = eventlog_query(e->info->state_dir, &f);
	if (recs == NULL)
		return ctl_reply_error(CTL_EXIT_FAILED, "reading the event log: %s",
		    strerror(errno));
	return ctl_reply_ok(recs);
}

static json_t *
cmd_history(struct engine *e)
{
	json_t *a = json_array();
	int i;

	for (i = 1; i <= HISTORY_KEEP; i++) {
		char path[PATH_MAX], when[32];
		struct stat st;

		snprintf(path, sizeof(path), "%s/policy-history/sluice.yaml.%d",
		    e->info->state_dir, i);
		if (stat(path, &st) < 0)
			continue;
		iso_time(st.st_mtime, when, sizeof(when));
		json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:s}",
		    "version", i, "replaced", when,
		    "bytes", (json_int_t)st.st_size, "path", path));
	}
	return a;
}

static void
cmd_rollback(struct engine *e, struct ctl_conn *conn, json_t *args)
{
	json_t *v = json_object_get(args, "version");
	json_int_t n = v ? json_integer_value(v) : 1;
	char path[PATH_MAX], dir[PATH_MAX], name[64], *text;
	size_t len;

	if (n < 1 || n > HISTORY_KEEP) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
		    "version must be 1..%d", HISTORY_KEEP));
		return;
	}
	snprintf(path, sizeof(path), "%s/policy-history/sluice.yaml.%d",
	    e->info->state_dir, (int)n);
	if (fsutil_read_file(path, POLICY_MAX_FILE_SIZE, &text, &len) < 0) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
		    "version %d: %s", (int)n, strerror(errno)));
		return;
	}
	snprintf(name, sizeof(name), "policy-history/sluice.yaml.%d", (int)n);
	/* Versions were saved to mean the same from the policy's directory. */
	fsutil_dirname(e->info->policy_path, dir, sizeof(dir));
	engine_change(e, conn, "rollback", name, text, len, dir, 0, NULL);
	free(text);
}

static void
hash_done(struct engine *e, int status, const void *body, int fd, void *arg)
{
	struct ctl_conn *conn = arg;

	(void)e;
	(void)body;
	if (fd >= 0)
		close(fd);
	ctl_conn_reply(conn, status == 0 ? ctl_reply_ok(NULL) :
	    ctl_reply_error(CTL_EXIT_FAILED, "monitor hash failed: %s",
	    strerror(status)));
}

static void
cmd_monitor_hash(struct engine *e, struct ctl_conn *conn)
{
	struct priv_hash h;

	memset(&h, 0, sizeof(h));
	/* A deliberately slow request (~0.6 s) for the loop-latency test. */
	h.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
	h.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
	h.password_len = 16;
	randombytes_buf(h.password, h.password_len);
	if (priv_request(e, PRIV_HASH_PASSWORD, &h, sizeof(h), -1,
	    PRIV_REPLY_HASH, hash_done, conn) < 0)
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED, "%s",
		    strerror(errno)));
	sodium_memzero(&h, sizeof(h));
}

/*
 * The busiest sources of the last poll: their drops as the kernel's
 * per-source counters hold them (until FW_SRC_TIMEOUT_S after a
 * source's last drop).
 */
static json_t *
show_sources(struct engine *e)
{
	struct fw_source v[16];
	json_t *a = json_array();
	size_t n, i;

	n = fw_track_recent(e->fw_track, v, sizeof(v) / sizeof(v[0]));
	for (i = 0; i < n; i++) {
		char addr[INET6_ADDRSTRLEN];
		uint16_t t = v[i].target;

		if (t == 0 || t > e->fw_ir->n_targets)
			continue;
		inet_ntop(v[i].family == 4 ? AF_INET : AF_INET6, v[i].addr,
		    addr, sizeof(addr));
		json_array_append_new(a, json_pack("{s:s, s:s, s:I}",
		    "rule", rule_name(e->fw_ir, e->fw_ir->targets[t - 1].rule),
		    "address", addr, "packets", (json_int_t)v[i].packets));
	}
	return a;
}

/* The table this policy means, as `nft -f` text: what the kernel got. */
static json_t *
cmd_firewall_show(struct engine *e)
{
	struct fw_ir *ir;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	json_t *r;

	/* With the bans: exactly what the monitor loaded. */
	ir = firewall_ir(e, e->policy);
	/* The last poll found no accounting sets: the kernel refused them. */
	if (ir != NULL && e->fw_ir != NULL && e->fw_ir_gen == e->fw_gen &&
	    !(e->fw_ctr_flags & FW_CTR_SOURCES))
		fw_ir_strip_sources(ir);
	if (ir == NULL || (f = open_memstream(&text, &tlen)) == NULL) {
		fw_ir_free(ir);
		return ctl_reply_error(CTL_EXIT_FAILED, "building the ruleset: %s",
		    strerror(errno));
	}
	if (fw_render_nft(ir, f) < 0) {
		fclose(f);
		free(text);
		fw_ir_free(ir);
		return ctl_reply_error(CTL_EXIT_FAILED, "rendering the ruleset");
	}
	fclose(f);
	r = json_pack("{s:s, s:s, s:i, s:i}", "state",
	    fw_state_name(e->fw_state), "detail", e->fw_detail,
	    "rules", (int)ir->n_rules, "sets", (int)ir->n_sets);
	/* Counters as of the last poll of the table now loaded. */
	if (e->fw_ir != NULL && e->fw_ir_gen == e->fw_gen) {
		json_t *c = json_array();
		size_t i;

		for (i = 0; i < e->fw_n; i++)
			if (e->fw_ir->rules[i].counter)
				json_array_append_new(c, json_pack(
				    "{s:s, s:s, s:I}", "rule",
				    rule_name(e->fw_ir, i), "verdict",
				    e->fw_ir->rules[i].verdict == FW_V_REJECT ?
				    "reject" : "drop", "packets",
				    (json_int_t)e->fw_last[i]));
		json_object_set_new(r, "counters", c);
		json_object_set_new(r, "sources", show_sources(e));
		json_object_set_new(r, "source_accounting", json_string(
		    !(e->fw_ctr_flags & FW_CTR_SOURCES) ? "off" :
		    e->fw_ctr_flags & (FW_CTR_FULL4 | FW_CTR_FULL6) ?
		    "full" : "on"));
	}
	json_object_set_new(r, "nft", json_stringn(text, tlen));
	free(text);
	fw_ir_free(ir);
	return ctl_reply_ok(r);
}

static void
flush_done(struct engine *e, int status, const void *body, int fd, void *arg)
{
	const struct priv_reply *r = body;
	struct ctl_conn *conn = arg;

	if (fd >= 0)
		close(fd);
	if (status != 0) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
		    "flushing the firewall: %s", r ? r->message : strerror(status)));
		return;
	}
	e->fw_state = FW_NOT_ENFORCED;
	snprintf(e->fw_detail, sizeof(e->fw_detail), "removed by %s "
	    "(sluicectl firewall flush); the next apply or reload loads it "
	    "again", ctl_conn_peer(conn));
	eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    EVENTLOG_CONFIG_CHANGED, "who", ctl_conn_peer(conn),
	    "from", "control socket", "keys", "firewall flushed", NULL);
	ctl_conn_reply(conn, ctl_reply_ok(NULL));
}

static void
keygen_done(struct engine *e, int status, const void *body, int fd, void *arg)
{
	struct ctl_conn *conn = arg;
	char *pem = NULL;
	size_t len = 0;

	(void)e;
	(void)body;
	if (status != 0 || fd < 0 ||
	    fsutil_read_fd(fd, 65536, &pem, &len) < 0) {
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
		    "monitor key generation failed: %s",
		    strerror(status ? status : errno)));
	} else {
		/* Only the shape leaves: the key itself is wiped here. */
		ctl_conn_reply(conn, ctl_reply_ok(json_pack("{s:I, s:s%}",
		    "bytes", (json_int_t)len, "first_line", pem,
		    strcspn(pem, "\n"))));
	}
	if (pem != NULL) {
		sodium_memzero(pem, len);
		free(pem);
	}
	if (fd >= 0)
		close(fd);
}

static void
cmd_monitor_keygen(struct engine *e, struct ctl_conn *conn)
{
	struct priv_keygen k = { KEYGEN_EC_P256, 0 };

	if (priv_request(e, PRIV_GENERATE_KEY, &k, sizeof(k), -1, PRIV_REPLY,
	    keygen_done, conn) < 0)
		ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED, "%s",
		    strerror(errno)));
}

/* sluicectl modbus rules test: what the running modbus.firewall decides. */
static json_t *
cmd_rules_test(struct engine *e, json_t *args)
{
	const char *from = json_string_value(json_object_get(args, "from"));
	const char *hex = json_string_value(json_object_get(args, "pdu"));
	json_int_t port = json_integer_value(json_object_get(args, "port"));
	json_int_t unit = json_integer_value(json_object_get(args, "unit"));
	struct mbfw_request rq;
	uint8_t pdu[MODBUS_MAX_PDU], exc = 0;
	char text[4096], why[96];
	size_t len = 0;
	int rule;
	enum policy_mbfw_action act;
	uint8_t fam = 0;

	memset(&rq, 0, sizeof(rq));
	if (from != NULL && *from != '\0' &&
	    bans_parse_addr(from, &fam, rq.addr, why, sizeof(why)) < 0)
		return ctl_reply_error(CTL_EXIT_USAGE, "--from %s: %s", from, why);
	rq.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
	if (port < 0 || port > 65535 || unit < 0 || unit > 255)
		return ctl_reply_error(CTL_EXIT_USAGE, "port 0..65535, unit 0..255");
	for (; hex != NULL && hex[0] != '\0' && hex[1] != '\0' &&
	    len < sizeof(pdu); hex += 2) {
		unsigned b;

		if (sscanf(hex, "%2x", &b) != 1)
			break;
		pdu[len++] = (uint8_t)b;
	}
	if (len == 0 || (hex != NULL && *hex != '\0'))
		return ctl_reply_error(CTL_EXIT_USAGE, "pdu: expected hex bytes");
	if (modbus_request_check(pdu, len, &exc) < 0)
		return ctl_reply_error(CTL_EXIT_USAGE, "the request is malformed: "
		    "the gateway answers exception 0x%02X before any rule", exc);
	rq.listen_port = (uint16_t)port;
	rq.unit = (uint8_t)unit;
	rq.pdu = pdu;
	rq.len = len;
	act = mbfw_explain(e->policy, &rq, &rule, text, sizeof(text));
	return ctl_reply_ok(json_pack("{s:s s:i s:s s:s}",
	    "action", act == POLICY_MBFW_ALLOW ? "allow" : "deny",
	    "rule", rule, "name", rule >= 0 ?
	    e->policy->modbus.firewall.rules[rule].name : "(default)",
	    "explanation", text));
}

static void con_ctl_done(void *ctx, json_t *reply);

static void
restart_now(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	e->restart = true;
	event_base_loopexit(e->base, NULL);
}

static void
ctl_handler(struct ctl_conn *conn, const struct ctl_request *req, void *arg)
{
	struct engine *e = arg;
	json_t *args = req->args, *content;
	const char *name, *basedir;
	char *yaml;

	log_debug("control: %s from %s", ctl_cmd_name(req->cmd),
	    ctl_conn_peer(conn));
	switch (req->cmd) {
	case CTL_STATUS:
		ctl_conn_reply(conn, ctl_reply_ok(cmd_status(e)));
		return;
	case CTL_SERVICES:
		ctl_conn_reply(conn, ctl_reply_ok(cmd_services(e)));
		return;
	case CTL_LOG:
		ctl_conn_reply(conn, cmd_log(e, args));
		return;
	case CTL_LOG_CLEAR:
		if (eventlog_clear(ctl_conn_peer(conn), ctl_conn_from(conn)) < 0)
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "clearing the event log: %s", strerror(errno)));
		else
			ctl_conn_reply(conn, ctl_reply_ok(NULL));
		return;
	case CTL_POLICY_SHOW:
		yaml = policy_to_yaml(e->policy);
		if (yaml == NULL) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "out of memory"));
			return;
		}
		ctl_conn_reply(conn, ctl_reply_ok(json_pack("{s:s, s:s}",
		    "source", e->policy->source, "yaml", yaml)));
		free(yaml);
		return;
	case CTL_POLICY_DIFF:
	case CTL_POLICY_APPLY:
		content = json_object_get(args, "content");
		name = json_string_value(json_object_get(args, "name"));
		basedir = json_string_value(json_object_get(args, "basedir"));
		if (content == NULL) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
			    "%s: \"content\" is required", ctl_cmd_name(req->cmd)));
			return;
		}
		if (name == NULL)
			name = "<control>";
		if (req->cmd == CTL_POLICY_APPLY) {
			json_int_t cw = json_integer_value(json_object_get(args,
			    "confirm_within"));

			if (cw < 0 || cw > 86400) {
				ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
				    "confirm_within must be 1..86400 seconds"));
				return;
			}
			engine_change(e, conn, strcmp(ctl_conn_from(conn),
			    "control socket") == 0 ? "apply" :
			    ctl_conn_from(conn), name,
			    json_string_value(content),
			    json_string_length(content), basedir, (unsigned)cw,
			    json_integer_value(json_object_get(args, "force")) ?
			    NULL : json_string_value(json_object_get(args,
			    "ssh_connection")));
		} else {
			struct policy_error err = { "" };
			struct policy *p = policy_load_buffer(name,
			    json_string_value(content), json_string_length(content),
			    basedir, &err);
			struct diff_summary d = { .n = 0 };

			if (p == NULL) {
				ctl_conn_reply(conn, ctl_reply_error(
				    CTL_EXIT_INVALID_POLICY, "%s", err.msg));
				return;
			}
			d.list = json_array();
			policy_diff(e->policy, p, diff_one, &d);
			policy_free(p);
			ctl_conn_reply(conn, ctl_reply_ok(d.list));
		}
		return;
	case CTL_POLICY_HISTORY:
		ctl_conn_reply(conn, ctl_reply_ok(cmd_history(e)));
		return;
	case CTL_POLICY_CONFIRM:
		if (e->confirm_by == 0) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "no change awaits confirmation"));
			return;
		}
		event_del(e->confirm_ev);
		e->confirm_by = 0;
		eventlog_emit(EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
		    EVENTLOG_CONFIG_CHANGED, "who", ctl_conn_peer(conn),
		    "from", ctl_conn_from(conn), "keys", "change confirmed", NULL);
		ctl_conn_reply(conn, ctl_reply_ok(NULL));
		return;
	case CTL_POLICY_ROLLBACK:
		cmd_rollback(e, conn, args);
		return;
	case CTL_RELOAD:
		engine_reload(e, conn, ctl_conn_peer(conn));
		return;
	case CTL_FIREWALL_SHOW:
		ctl_conn_reply(conn, cmd_firewall_show(e));
		return;
	case CTL_FIREWALL_BAN:
	case CTL_FIREWALL_UNBAN:
		cmd_ban(e, conn, args, req->cmd == CTL_FIREWALL_BAN);
		return;
	case CTL_FIREWALL_BANS:
		ctl_conn_reply(conn, ctl_reply_ok(bans_json(e->bans, time(NULL))));
		return;
	case CTL_MODBUS_STATS:
		ctl_conn_reply(conn, ctl_reply_ok(mbgw_stats(e->mbgw)));
		return;
	case CTL_TAGS:
		ctl_conn_reply(conn, ctl_reply_ok(mbgw_tags(e->mbgw)));
		return;
	case CTL_MODBUS_RULES_TEST:
		ctl_conn_reply(conn, cmd_rules_test(e, req->args));
		return;
	case CTL_MODBUS_CAPTURE: {
		json_t *ch = json_object_get(req->args, "channel");
		json_int_t after = json_integer_value(json_object_get(req->args,
		    "after"));
		json_int_t max = json_integer_value(json_object_get(req->args,
		    "max"));
		json_t *r;

		r = mbgw_capture(e->mbgw, json_string_value(ch),
		    after > 0 ? (uint64_t)after : 0,
		    max > 0 && max <= 1000 ? (size_t)max : 500);
		ctl_conn_reply(conn, r != NULL ? ctl_reply_ok(r) :
		    ctl_reply_error(CTL_EXIT_FAILED, "out of memory"));
		return;
	}
	case CTL_FIREWALL_FLUSH:
		if (priv_request(e, PRIV_FIREWALL_FLUSH, NULL, 0, -1, PRIV_REPLY,
		    flush_done, conn) < 0)
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "%s", strerror(errno)));
		return;
	case CTL_DEBUG_MONITOR_HASH:
	case CTL_DEBUG_MONITOR_KEYGEN:
		if (!e->test_hooks) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
			    "debug commands are off (SLUICE_TEST_HOOKS=1)"));
			return;
		}
		if (req->cmd == CTL_DEBUG_MONITOR_HASH)
			cmd_monitor_hash(e, conn);
		else
			cmd_monitor_keygen(e, conn);
		return;
	case CTL_ACCOUNT_ADD:
	case CTL_ACCOUNTS:
	case CTL_ACCOUNT_REMOVE:
	case CTL_ACCOUNT_PASSWORD:
	case CTL_CERT_SHOW:
	case CTL_CERT_IMPORT:
	case CTL_CERT_CSR:
	case CTL_CERT_GENERATE:
		console_ctl(e->console, req->cmd, args, ctl_conn_peer(conn),
		    con_ctl_done, conn);
		return;
	case CTL_RESTART:
		if (e->restart_ev == NULL)
			e->restart_ev = evtimer_new(e->base, restart_now, e);
		if (e->restart_ev == NULL) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_FAILED,
			    "out of memory"));
			return;
		}
		log_info("restart requested by %s (%s)", ctl_conn_peer(conn),
		    ctl_conn_from(conn));
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
		    EVENTLOG_SHUTDOWN, "reason", "restart requested", "who",
		    ctl_conn_peer(conn), "from", ctl_conn_from(conn), NULL);
		{
			/* After the answer has left. */
			struct timeval tv = { 0, 300000 };

			event_add(e->restart_ev, &tv);
		}
		ctl_conn_reply(conn, ctl_reply_ok(json_pack("{s:s}", "message",
		    "the engine restarts in a moment")));
		return;
	case CTL_DEBUG_CLOCK:
		if (!e->test_hooks) {
			ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE,
			    "debug commands are off (SLUICE_TEST_HOOKS=1)"));
			return;
		}
		console_clock_advance(e->console, (long)json_integer_value(
		    json_object_get(args, "advance")));
		ctl_conn_reply(conn, ctl_reply_ok(NULL));
		return;
	case CTL_CMD_COUNT:
		break;
	}
	ctl_conn_reply(conn, ctl_reply_error(CTL_EXIT_USAGE, "unknown command"));
}


/* --- the console's requests ------------------------------------------- */

static void
con_fd_done(struct engine *e, int status, const void *body, int fd, void *arg)
{
	const struct priv_reply *r = body;

	console_fd_ready(e->console, (uint32_t)(uintptr_t)arg,
	    status == 0 ? fd : -1, status, r != NULL ? r->message :
	    strerror(status));
	if (status != 0 && fd >= 0)
		close(fd);
}

static int
con_open_listen(void *arg, int family, uint16_t port, uint32_t token)
{
	struct priv_open_listen req = {
		.family = (uint8_t)family, .transport = REGISTRY_TCP,
		.port = port,
	};

	return priv_request(arg, PRIV_OPEN_LISTEN, &req, sizeof(req), -1,
	    PRIV_REPLY, con_fd_done, (void *)(uintptr_t)token);
}

struct con_job {
	void (*hash_done)(void *, int, const char *);
	void (*status_done)(void *, int, const char *);
	void (*pem_done)(void *, int, char *, size_t);
	void *ctx;
};

static struct con_job *
con_job(void *ctx)
{
	struct con_job *j = calloc(1, sizeof(*j));

	if (j != NULL)
		j->ctx = ctx;
	return j;
}

static void
con_hash_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct con_job *j = arg;
	const struct priv_reply_hash *r = body;

	(void)e;
	if (fd >= 0)
		close(fd);
	j->hash_done(j->ctx, status, status == 0 && r != NULL &&
	    memchr(r->hash, '\0', sizeof(r->hash)) != NULL ? r->hash : NULL);
	free(j);
}

static int
con_hash(void *arg, const char *password, size_t len,
    unsigned long long opslimit, size_t memlimit, console_hash_fn done,
    void *ctx)
{
	struct priv_hash h;
	struct con_job *j;
	int rc;

	if (len > sizeof(h.password) || (j = con_job(ctx)) == NULL) {
		errno = len > sizeof(h.password) ? EINVAL : ENOMEM;
		return -1;
	}
	j->hash_done = done;
	memset(&h, 0, sizeof(h));
	h.opslimit = opslimit;
	h.memlimit = memlimit;
	h.password_len = (uint32_t)len;
	memcpy(h.password, password, len);
	rc = priv_request(arg, PRIV_HASH_PASSWORD, &h, sizeof(h), -1,
	    PRIV_REPLY_HASH, con_hash_done, j);
	sodium_memzero(&h, sizeof(h));
	if (rc < 0)
		free(j);
	return rc;
}

static void
con_status_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct con_job *j = arg;
	const struct priv_reply *r = body;

	(void)e;
	if (fd >= 0)
		close(fd);
	j->status_done(j->ctx, status, r != NULL ? r->message : "");
	free(j);
}

static int
con_verify(void *arg, const char *hash, const char *password, size_t len,
    console_status_fn done, void *ctx)
{
	struct priv_verify v;
	struct con_job *j;
	int rc;

	if (len > sizeof(v.password) || strlen(hash) >= sizeof(v.hash) ||
	    (j = con_job(ctx)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	j->status_done = done;
	memset(&v, 0, sizeof(v));
	memcpy(v.hash, hash, strlen(hash));
	v.password_len = (uint32_t)len;
	memcpy(v.password, password, len);
	rc = priv_request(arg, PRIV_VERIFY_PASSWORD, &v, sizeof(v), -1,
	    PRIV_REPLY, con_status_done, j);
	sodium_memzero(&v, sizeof(v));
	if (rc < 0)
		free(j);
	return rc;
}

static void
con_keygen_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	struct con_job *j = arg;
	char *pem = NULL;
	size_t len = 0;

	(void)e;
	(void)body;
	if (status == 0 && (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    fsutil_read_fd(fd, 65536, &pem, &len) < 0))
		status = EIO;
	if (fd >= 0)
		close(fd);
	j->pem_done(j->ctx, status, status == 0 ? pem : NULL, len);
	if (status != 0 && pem != NULL)
		keygen_free_pem(pem, len);
	free(j);
}

static int
con_keygen(void *arg, int type, unsigned bits, console_pem_fn done,
    void *ctx)
{
	struct priv_keygen k = { (uint32_t)type, bits };
	struct con_job *j = con_job(ctx);
	int rc;

	if (j == NULL)
		return -1;
	j->pem_done = done;
	rc = priv_request(arg, PRIV_GENERATE_KEY, &k, sizeof(k), -1,
	    PRIV_REPLY, con_keygen_done, j);
	if (rc < 0)
		free(j);
	return rc;
}

static int
con_write_state(void *arg, const char *name, const void *buf, size_t len,
    console_status_fn done, void *ctx)
{
	struct priv_write_state w;
	struct con_job *j;
	int fd, rc;

	memset(&w, 0, sizeof(w));
	if (strlen(name) >= sizeof(w.name) || len > PRIV_STATE_MAX) {
		errno = EINVAL;
		return -1;
	}
	memcpy(w.name, name, strlen(name));
	if ((fd = memfd_with("sluice-state", buf, len)) < 0)
		return -1;
	if ((j = con_job(ctx)) == NULL) {
		close(fd);
		return -1;
	}
	j->status_done = done;
	rc = priv_request(arg, PRIV_WRITE_STATE, &w, sizeof(w), fd,
	    PRIV_REPLY, con_status_done, j);
	close(fd);
	if (rc < 0)
		free(j);
	return rc;
}

struct con_cmd {
	console_reply_fn done;
	void *ctx;
};

static void
con_cmd_done(void *arg, json_t *reply)
{
	struct con_cmd *cc = arg;

	cc->done(cc->ctx, reply);
	free(cc);
}

static void
con_command(void *arg, enum ctl_cmd cmd, json_t *args, const char *who,
    const char *from, const char *peer_ssh, console_reply_fn done, void *ctx)
{
	struct engine *e = arg;
	struct con_cmd *cc = calloc(1, sizeof(*cc));
	struct ctl_conn *conn;
	struct ctl_request req;

	if (cc == NULL) {
		done(ctx, ctl_reply_error(CTL_EXIT_FAILED, "out of memory"));
		return;
	}
	cc->done = done;
	cc->ctx = ctx;
	if ((conn = ctl_conn_internal(who, from, con_cmd_done, cc)) == NULL) {
		free(cc);
		done(ctx, ctl_reply_error(CTL_EXIT_FAILED, "out of memory"));
		return;
	}
	req.cmd = cmd;
	req.args = json_deep_copy(args);
	if (req.args == NULL)
		req.args = json_object();
	if (peer_ssh != NULL && (cmd == CTL_POLICY_APPLY ||
	    cmd == CTL_POLICY_ROLLBACK))
		json_object_set_new(req.args, "ssh_connection",
		    json_string(peer_ssh));
	json_object_del(req.args, "force");
	ctl_handler(conn, &req, e);
	json_decref(req.args);
}

static void
con_ban(void *arg, const char *addr, uint32_t seconds, const char *reason)
{
	static time_t told;
	struct engine *e = arg;
	uint8_t fam, a[16];
	char err[256];

	/* A login storm from an engineering station on the management list
	 * asks again at every multiple of the threshold: say it once an
	 * hour, not as a refused ban each time. */
	if (bans_parse_addr(addr, &fam, a, err, sizeof(err)) == 0 &&
	    bans_is_management(e->policy, fam, a)) {
		if (time(NULL) - told >= 3600) {
			told = time(NULL);
			log_warn("console: login failures from %s, a "
			    "firewall.management address: locked, never "
			    "banned", addr);
		}
		return;
	}
	if (engine_ban(e, addr, seconds, reason, "console", err,
	    sizeof(err)) < 0)
		log_warn("console: not banning %s: %s", addr, err);
	else
		fw_refresh(e, NULL);
}

static void
con_ctl_done(void *ctx, json_t *reply)
{
	ctl_conn_reply(ctx, reply);
}

/* --- start and stop --------------------------------------------------- */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	(void)what;
	if (sig == SIGHUP) {
		engine_reload(e, NULL, "SIGHUP");
		return;
	}
	log_info("stopping on signal %d", (int)sig);
	engine_notify(e, "STOPPING=1");
	event_base_loopexit(e->base, NULL);
}

static void report_limits(struct engine *e);

static void
start_fw_done(struct engine *e, int status, const void *body, int fd,
    void *arg)
{
	(void)arg;
	if (fd >= 0)
		close(fd);
	if (!firewall_result(e, status, body)) {
		/* Fail closed: whatever table the kernel holds stays. */
		e->fw_state = FW_FAILED;
		log_error("the kernel refused the firewall: %s", e->fw_detail);
	}
	report_limits(e);
	log_info("ready: policy %s, firewall %s", e->policy->source,
	    fw_state_name(e->fw_state));
	engine_notify(e, "READY=1");
}

/* Cold start: the first since the kernel booted (guide 3.5). */
static void
report_start(struct engine *e)
{
	char path[PATH_MAX], *old = NULL, boot[64] = "";
	size_t len;
	FILE *f;
	bool cold = true;

	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (f != NULL) {
		if (fgets(boot, sizeof(boot), f) == NULL)
			boot[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/boot-id", e->info->state_dir);
	if (fsutil_read_file(path, 256, &old, &len) == 0) {
		cold = strcmp(old, boot) != 0;
		free(old);
	}
	if (cold && fsutil_write_atomic(path, boot, strlen(boot), 0640,
	    (uid_t)-1, (gid_t)-1) < 0)
		log_warn("%s: %s", path, strerror(errno));
	boot[strcspn(boot, "\n")] = '\0';
	if (e->info->restarts > 0) {
		char n[16], st[16];

		snprintf(n, sizeof(n), "%u", e->info->restarts);
		snprintf(st, sizeof(st), "0x%x", e->info->last_status);
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_ERR,
		    EVENTLOG_ENGINE_RESTARTED, "restarts", n,
		    "wait_status", st, NULL);
	} else
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
		    cold ? EVENTLOG_COLD_START : EVENTLOG_WARM_START,
		    "version", PACKAGE_VERSION, "boot_id", boot,
		    "policy", e->policy->source, NULL);
}

static void
report_limits(struct engine *e)
{
	json_t *a = limitations(e), *v;
	size_t i;

	json_array_foreach(a, i, v) {
		log_warn("cannot enforce: %s", json_string_value(v));
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_WARNING,
		    EVENTLOG_ENFORCEMENT_LIMITED, "what", json_string_value(v),
		    NULL);
	}
	json_decref(a);
}

int
engine_run(const struct engine_info *info)
{
	static const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	struct engine eng, *e = &eng;
	struct policy_error err = { "" };
	char sock[PATH_MAX];
	int i, rc = 1;

	memset(e, 0, sizeof(*e));
	e->info = info;
	e->started = time(NULL);
	e->test_hooks = getenv("SLUICE_TEST_HOOKS") != NULL &&
	    strcmp(getenv("SLUICE_TEST_HOOKS"), "1") == 0;
	(void)signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	/*
	 * Precise timers: libevent's default clock is CLOCK_MONOTONIC_COARSE,
	 * 4 ms here, and a serial line's timers are fractions of that.
	 */
	{
		struct event_config *cfg = event_config_new();

		if (cfg != NULL)
			event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		e->base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
		if (cfg != NULL)
			event_config_free(cfg);
	}
	if (e->base == NULL) {
		log_error("event_base_new failed");
		return 1;
	}
	e->policy_from_file = access(info->policy_path, F_OK) == 0;
	e->policy = e->policy_from_file ?
	    policy_load_file(info->policy_path, &err) :
	    policy_load_default(&err);
	if (e->policy == NULL) {
		log_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	e->policy_loaded = time(NULL);
	if (!e->policy_from_file)
		log_info("%s does not exist: running on the embedded default "
		    "policy", info->policy_path);
	e->confirm_ev = evtimer_new(e->base, confirm_expired, e);
	e->fw_poll_ev = event_new(e->base, -1, EV_PERSIST, counters_poll, e);
	if (e->fw_poll_ev != NULL) {
		struct timeval tv = { FW_POLL_S, 0 };

		event_add(e->fw_poll_ev, &tv);
	}
	the_engine = e;
	e->mbgw = mbgw_new(e->base, &(struct mbgw_ops){
	    .open_listen = gw_open_listen, .open_device = gw_open_device,
	    .admit = gw_admit, .arg = e });
	e->console = console_new(e->base, info->state_dir,
	    &(struct console_ops){ .open_listen = con_open_listen,
	    .hash = con_hash, .verify = con_verify, .keygen = con_keygen,
	    .write_state = con_write_state,
	    .command = con_command, .admit = gw_admit, .ban = con_ban,
	    .arg = e });
	e->bans = bans_new(info->state_dir);
	if (e->bans == NULL || e->mbgw == NULL || e->console == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (eventlog_init(e->base, info->state_dir) < 0)
		log_error("event log store unavailable in %s; events go to "
		    "the log only", info->state_dir);
	if (apply_run(modules, N_MODULES, NULL, e->policy, &err) < 0) {
		log_error("applying the policy: %s", err.msg);
		rc = 2;
		goto out;
	}
	for (i = 0; (size_t)i < e->policy->n_warnings; i++)
		log_warn("policy: %s", e->policy->warnings[i]);
	evutil_make_socket_nonblocking(info->priv_fd);
	e->ev_priv = event_new(e->base, info->priv_fd, EV_READ | EV_PERSIST,
	    priv_readable, e);
	event_add(e->ev_priv, NULL);
	for (i = 0; i < 3; i++) {
		e->ev_sig[i] = evsignal_new(e->base, sigs[i], signal_cb, e);
		event_add(e->ev_sig[i], NULL);
	}
	snprintf(sock, sizeof(sock), "%s/control.sock", info->state_dir);
	e->ctl = ctl_server_new(e->base, sock, ctl_handler, e);
	if (e->ctl == NULL)
		goto out;
	report_start(e);
	/* Ready once the kernel holds the policy's firewall (or cannot). */
	if (firewall_request(e, e->policy, start_fw_done, NULL) < 0) {
		log_error("handing the firewall to the monitor: %s",
		    strerror(errno));
		goto out;
	}
	log_info("control socket %s", sock);
	event_base_dispatch(e->base);
	if (!e->restart)
		eventlog_emit(EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
		    EVENTLOG_SHUTDOWN, NULL);
	rc = e->restart ? ENGINE_EXIT_RESTART : 0;
out:
	ctl_server_free(e->ctl);
	console_free(e->console);
	mbgw_free(e->mbgw);
	fw_ir_free(e->admit_ir);
	if (e->change != NULL) {
		policy_free(e->change->new);
		free(e->change);
	}
	for (i = 0; i < 3; i++)
		if (e->ev_sig[i] != NULL)
			event_free(e->ev_sig[i]);
	if (e->ev_priv != NULL)
		event_free(e->ev_priv);
	eventlog_fini();
	bans_free(e->bans);
	if (e->confirm_ev != NULL)
		event_free(e->confirm_ev);
	if (e->restart_ev != NULL)
		event_free(e->restart_ev);
	if (e->fw_poll_ev != NULL)
		event_free(e->fw_poll_ev);
	counters_reset(e);
	policy_free(e->policy);
	event_base_free(e->base);
	return rc;
}
