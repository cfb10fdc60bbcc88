/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * monitor.c - the privileged parent (see monitor.h).
 *
 * Deliberately small and serial: a poll() loop over a signalfd and the
 * socketpair to the engine.  Everything it reads from the engine goes
 * through priv_recv(), which checks type and size; a malformed message
 * ends that engine (which is then restarted), never the monitor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "fsutil.h"
#include "fw.h"
#include "fw_nl.h"
#include "keygen.h"
#include "log.h"
#include "monitor.h"
#include "notify.h"
#include "policy.h"
#include "priv.h"
#include "registry.h"
#include "serial.h"

#define HISTORY_DIR      "policy-history"
#define HISTORY_KEEP     10
#define RESTART_MAX_S    60
#define STOP_TIMEOUT_MS  10000

/* Bounds on what the engine may ask the hash worker to spend. */
#define HASH_MAX_OPSLIMIT 16
#define HASH_MAX_MEMLIMIT (1024ull << 20)

/* Above the largest config fw.h's caps allow (~2.3 MB). */
#define FW_MAX_CONFIG_BYTES (4u << 20)

struct monitor {
	const struct monitor_config *cfg;
	struct engine_info info;
	gid_t engine_gid;
 	int sigfd;
	int hist_fd;               /* policy-history/, opened once */
	int sock;                  /* our end to the current engine, or -1 */
	pid_t engine;              /* 0 when none runs */
	bool engine_ready;
	bool stopping;
	time_t engine_started;
	unsigned backoff_s;
	int exit_status;
};

static int
cap_effective(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* Leave the engine with no way back to privilege. */
static int
drop_privileges(const struct engine_info *info, gid_t gid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uid_t uid = info->engine_uid;

	if (geteuid() == 0 && uid != 0) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return -1;
		if (setresuid(0, 0, 0) == 0) {
			errno = EPERM;
			return -1;
		}
	}
	/* A non-root start may still carry capabilities (file or ambient). */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return 0;
}

static int
resolve_user(struct monitor *m)
{
	const char *name = m->cfg->user;
	struct passwd *pw;

	m->info.privileged = geteuid() == 0;
	if (!m->info.privileged) {
		/* Unprivileged start (a developer's demo): no switch. */
		pw = getpwuid(getuid());
		m->info.engine_uid = getuid();
		m->engine_gid = getgid();
		snprintf(m->info.engine_user, sizeof(m->info.engine_user), "%s",
		    pw ? pw->pw_name : "?");
		return 0;
	}
	pw = getpwnam(name);
	if (pw == NULL && strcmp(name, "sluice") == 0) {
		log_warn("user \"sluice\" does not exist (systemd-sysusers "
		    "creates it from sluice.conf); the engine runs as "
		    "\"nobody\"");
		name = "nobody";
		pw = getpwnam(name);
	}
	if (pw == NULL) {
		log_error("engine user \"%s\" does not exist", name);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("engine user \"%s\" is root: refusing to run the "
		    "engine with privileges", name);
		return -1;
	}
	m->info.engine_uid = pw->pw_uid;
	m->engine_gid = pw->pw_gid;
	snprintf(m->info.engine_user, sizeof(m->info.engine_user), "%s", name);
	return 0;
}

/*
 * The state directory belongs to the engine (event log, control socket),
 * mode 0751 so the monitor, which holds no CAP_DAC_OVERRIDE under its
 * unit, can still reach policy-history/.  That one is root's: the monitor
 * keeps it open and works relative to the descriptor, so an engine that
 * swaps the name for a symbolic link redirects nothing.
 */
static int
prepare_state(struct monitor *m)
{
	const char *dir = m->cfg->state_dir;
	struct stat st;
	bool created;
	int fd;

	created = mkdir(dir, 0751) == 0;
	if (!created && errno != EEXIST) {
		log_error("state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	/* The umask may have taken o+x away; only the owner can chmod. */
	if (created && chmod(dir, 0751) < 0) {
		log_error("state directory %s: chmod: %s", dir, strerror(errno));
		return -1;
	}
	/* O_PATH: search permission (o+x) is all the monitor has here. */
	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_error("state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (mkdirat(fd, HISTORY_DIR, 0750) < 0 && errno != EEXIST) {
		log_error("%s/" HISTORY_DIR ": %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	m->hist_fd = openat(fd, HISTORY_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (m->hist_fd < 0 || fstat(m->hist_fd, &st) < 0) {
		log_error("%s/" HISTORY_DIR ": %s (a directory is expected)",
		    dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_error("%s/" HISTORY_DIR ": owned by uid %ld, not by sluiced's "
		    "monitor (uid %ld): refusing to keep policy versions there",
		    dir, (long)st.st_uid, (long)geteuid());
		close(fd);
		return -1;
	}
	if (m->info.privileged &&
	    (fchown(m->hist_fd, 0, m->engine_gid) < 0 ||
	    fchownat(fd, "", m->info.engine_uid, m->engine_gid,
	    AT_EMPTY_PATH) < 0)) {
		log_error("state directory %s: chown: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (access(m->cfg->policy_path, F_OK) == 0)
		fsutil_clean_temps(m->cfg->policy_path);
	return 0;
}

static void
reply(struct monitor *m, uint32_t id, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply(struct monitor *m, uint32_t id, int status, const char *fmt, ...)
{
	struct priv_reply r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.status = status;
	va_start(ap, fmt);
	vsnprintf(r.message, sizeof(r.message), fmt, ap);
	va_end(ap);
	if (priv_send(m->sock, PRIV_REPLY, id, &r, sizeof(r), -1) < 0)
		log_warn("reply to engine: %s", strerror(errno));
}

static void
handle_open_listen(struct monitor *m, uint32_t id,
    const struct priv_open_listen *req)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, type;

	memset(&ss, 0, sizeof(ss));
	if (req->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(req->port);
		memcpy(&sin->sin_addr, req->addr, 4);
		sl = sizeof(*sin);
	} else if (req->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(req->port);
		memcpy(&sin6->sin6_addr, req->addr, 16);
		sl = sizeof(*sin6);
	} else {
		reply(m, id, EAFNOSUPPORT, "address family %u", req->family);
		return;
	}
	if (req->transport == REGISTRY_TCP)
		type = SOCK_STREAM;
	else if (req->transport == REGISTRY_UDP)
		type = SOCK_DGRAM;
	else {
		reply(m, id, EPROTONOSUPPORT, "transport %u", req->transport);
		return;
	}
	fd = socket(req->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		reply(m, id, errno, "socket: %s", strerror(errno));
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (req->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;

		close(fd);
		reply(m, id, e, "port %u: %s", req->port, strerror(e));
		return;
	}
	if (priv_send(m->sock, PRIV_REPLY, id,
	    &(struct priv_reply){ .status = 0 }, sizeof(struct priv_reply), fd) < 0)
		log_warn("pass listening socket: %s", strerror(errno));
	close(fd);
}

/*
 * A serial line for the engine.  The path is the engine's word only:
 * serial_open_checked() opens nothing but a tty, so a compromised engine
 * cannot use this to open any other file as root.
 */
static void
handle_open_device(struct monitor *m, uint32_t id,
    const struct priv_open_device *req)
{
	char err[sizeof(((struct priv_reply *)0)->message)];
	int fd;

	if (memchr(req->path, '\0', sizeof(req->path)) == NULL) {
		reply(m, id, EINVAL, "device path not NUL-terminated");
		return;
	}
	fd = serial_open_checked(req->path, err, sizeof(err));
	if (fd < 0) {
		int e = errno != 0 ? errno : EIO;

		/*
		 * A refusal may be a compromised engine probing: say so.  An
		 * absent device is an unplugged adapter, retried with backoff.
		 */
		if (e == ENOENT)
			log_debug("open device for the engine: %s", err);
		else
			log_warn("open device for the engine: %s", err);
		reply(m, id, e, "%s", err);
		return;
	}
	if (priv_send(m->sock, PRIV_REPLY, id,
	    &(struct priv_reply){ .status = 0 }, sizeof(struct priv_reply), fd) < 0)
		log_warn("pass serial device: %s", strerror(errno));
	close(fd);
}

/* Policy files are root's; the engine reads them through its group. */
static gid_t
policy_gid(const struct monitor *m)
{
	return m->info.privileged ? m->engine_gid : (gid_t)-1;
}

/* Shift sluice.yaml.1..N up by one and store the current policy as .1. */
static int
history_push(struct monitor *m)
{
	char from[32], to[32];
	char *cur = NULL;
	size_t len;
	int i, rc;

	for (i = HISTORY_KEEP; i > 1; i--) {
		snprintf(from, sizeof(from), "sluice.yaml.%d", i - 1);
		snprintf(to, sizeof(to), "sluice.yaml.%d", i);
		if (renameat(m->hist_fd, from, m->hist_fd, to) < 0 &&
		    errno != ENOENT)
			return -1;
	}
	if (fsutil_read_file(m->cfg->policy_path, POLICY_MAX_FILE_SIZE, &cur,
	    &len) < 0) {
		if (errno != ENOENT)
			return -1;
		/* Running on the embedded default: keep it as a version too. */
		cur = strdup(policy_default_yaml);
		if (cur == NULL)
			return -1;
		len = strlen(cur);
	}
	rc = fsutil_write_atomic_at(m->hist_fd, "sluice.yaml.1", cur, len, 0640,
	    (uid_t)-1, policy_gid(m));
	free(cur);
	return rc;
}

static void
handle_write_policy(struct monitor *m, uint32_t id, int fd)
{
	char dir[PATH_MAX];
	char *buf = NULL;
	size_t len;

	if (fd < 0) {
		reply(m, id, EINVAL, "no policy content passed");
		return;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    fsutil_read_fd(fd, POLICY_MAX_FILE_SIZE, &buf, &len) < 0) {
		reply(m, id, errno, "reading policy content: %s", strerror(errno));
		return;
	}
	fsutil_dirname(m->cfg->policy_path, dir, sizeof(dir));
	if (fsutil_mkdir(dir, 0755) < 0) {
		reply(m, id, errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (history_push(m) < 0) {
		reply(m, id, errno, "keeping the previous version: %s",
		    strerror(errno));
		goto out;
	}
	if (fsutil_write_atomic(m->cfg->policy_path, buf, len, 0640,
	    (uid_t)-1, policy_gid(m)) < 0) {
		reply(m, id, errno, "%s: %s", m->cfg->policy_path,
		    strerror(errno));
		goto out;
	}
	reply(m, id, 0, "%s written", m->cfg->policy_path);
out:
	free(buf);
}

/*
 * The engine owns the state directory, so nothing in it is followed
 * through a symbolic link (fsutil_write_atomic_at) and only these names
 * are written.
 */
static void
handle_write_state(struct monitor *m, uint32_t id, struct priv_write_state *req,
    int fd)
{
	static const char *const names[] = { "accounts.json", "tokens.json",
	    "console-cert.pem", "console-key.pem", NULL };
	char *buf = NULL;
	size_t len, i;
	int dfd;

	for (i = 0; names[i] != NULL; i++)
		if (memchr(req->name, '\0', sizeof(req->name)) != NULL &&
		    strcmp(req->name, names[i]) == 0)
			break;
	if (names[i] == NULL) {
		reply(m, id, EINVAL, "not a state file the engine may write");
		return;
	}
	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    fsutil_read_fd(fd, PRIV_STATE_MAX, &buf, &len) < 0) {
		reply(m, id, fd < 0 ? EINVAL : errno, "reading %s: %s",
		    names[i], fd < 0 ? "no content passed" : strerror(errno));
		return;
	}
	dfd = open(m->cfg->state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd < 0 || fsutil_write_atomic_at(dfd, names[i], buf, len, 0600,
	    m->info.privileged ? m->info.engine_uid : (uid_t)-1,
	    m->info.privileged ? m->engine_gid : (gid_t)-1) < 0)
		reply(m, id, errno, "%s/%s: %s", m->cfg->state_dir, names[i],
		    strerror(errno));
	else
		reply(m, id, 0, "%s written", names[i]);
	if (dfd >= 0)
		close(dfd);
	sodium_memzero(buf, len);
	free(buf);
}

static void
handle_hash(struct monitor *m, uint32_t id, struct priv_hash *req)
{
	struct priv_reply_hash r;

	memset(&r, 0, sizeof(r));
	if (req->password_len > PRIV_PASSWORD_MAX ||
	    req->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    req->opslimit > HASH_MAX_OPSLIMIT ||
	    req->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    req->memlimit > HASH_MAX_MEMLIMIT)
		r.status = EINVAL;
	else if (crypto_pwhash_str(r.hash, req->password, req->password_len,
	    req->opslimit, (size_t)req->memlimit) != 0)
		r.status = ENOMEM;
	sodium_memzero(req->password, sizeof(req->password));
	if (priv_send(m->sock, PRIV_REPLY_HASH, id, &r, sizeof(r), -1) < 0)
		log_warn("reply to engine: %s", strerror(errno));
}

static void
handle_verify(struct monitor *m, uint32_t id, struct priv_verify *req)
{
	int status;

	if (req->password_len > PRIV_PASSWORD_MAX ||
	    memchr(req->hash, '\0', sizeof(req->hash)) == NULL)
		status = EINVAL;
	else
		status = crypto_pwhash_str_verify(req->hash, req->password,
		    req->password_len) == 0 ? 0 : EACCES;
	sodium_memzero(req->password, sizeof(req->password));
	reply(m, id, status, "%s", status == 0 ? "match" : "no match");
}

/*
 * The engine's firewall config is untrusted bytes to the monitor: checked
 * by fw_config_check() before anything is built from it, and only ever
 * turned into table inet sluice.
 */
static void
handle_firewall(struct monitor *m, uint32_t id, int fd)
{
	static bool told;	/* the accounting refusal, logged once */
	struct fw_nl_stats st;
	struct fw_ir *ir;
	char err[256], why[256], *buf = NULL;
	size_t len;
	long n4, n6;

	if (!m->info.net_admin) {
		reply(m, id, EPERM, "the monitor lacks CAP_NET_ADMIN");
		return;
	}
	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    fsutil_read_fd(fd, FW_MAX_CONFIG_BYTES, &buf, &len) < 0) {
		reply(m, id, fd < 0 ? EINVAL : errno, "reading the firewall "
		    "config: %s", fd < 0 ? "none passed" : strerror(errno));
		return;
	}
	if (fw_config_check(buf, len, err, sizeof(err)) < 0) {
		log_error("firewall config from the engine refused: %s", err);
		reply(m, id, EINVAL, "config refused: %s", err);
		free(buf);
		return;
	}
	ir = fw_build(buf, len);
	free(buf);
	if (ir == NULL) {
		reply(m, id, errno, "building the ruleset: %s", strerror(errno));
		return;
	}
	if (fw_nl_apply_soft(ir, &st, why, sizeof(why), err, sizeof(err)) < 0) {
		int e = errno;

		fw_ir_free(ir);
		/* No nf_tables in this kernel: nothing can be enforced. */
		reply(m, id, e == EPERM || e == EPROTONOSUPPORT ||
		    e == EAFNOSUPPORT ? EOPNOTSUPP : (e ? e : EIO), "%s", err);
		return;
	}
	/* Read back: a truncated element list is acked without error. */
	n4 = fw_nl_count_elements("acl4", err, sizeof(err));
	n6 = fw_nl_count_elements("acl6", err, sizeof(err));
	if (why[0] != '\0' && !told) {
		log_warn("kernel firewall: per-source drop accounting refused "
		    "(%s); table inet sluice loaded without it, and drop "
		    "events will not name sources", why);
		told = true;
	}
	reply(m, id, 0, "table inet sluice: %zu rules, acl %ld+%ld entries, "
	    "%zu-byte batch committed in %.1f ms%s", ir->n_rules, n4, n6,
	    st.batch_bytes, st.commit_ms, why[0] != '\0' ? "; no per-source "
	    "drop accounting (the kernel refused it)" : "");
	fw_ir_free(ir);
}

/*
 * The rule counters and the busiest drop sources go back in a memfd, as
 * fw.h's struct fw_counters_header describes.  A failure to read the
 * sources costs only them.
 */
static void
handle_counters(struct monitor *m, uint32_t id)
{
	struct fw_source *src;
	uint64_t *pkts;
	uint32_t flags = 0;
	char err[256] = "";
	void *out = NULL;
	size_t len = 0;
	long n, ns;
	int fd = -1;

	if (!m->info.net_admin) {
		reply(m, id, EPERM, "the monitor lacks CAP_NET_ADMIN");
		return;
	}
	pkts = calloc(FW_MAX_COUNTERS, sizeof(*pkts));
	src = calloc(FW_MAX_SOURCES, sizeof(*src));
	if (pkts == NULL || src == NULL) {
		reply(m, id, ENOMEM, "out of memory");
		free(pkts);
		free(src);
		return;
	}
	n = fw_nl_rule_counters(pkts, FW_MAX_COUNTERS, err, sizeof(err));
	if (n < 0) {
		reply(m, id, errno ? errno : EIO, "%s", err);
		free(pkts);
		free(src);
		return;
	}
	if (n > FW_MAX_COUNTERS)
		n = FW_MAX_COUNTERS;
	ns = fw_nl_drop_sources(src, FW_MAX_SOURCES, &flags, err, sizeof(err));
	if (ns < 0) {
		log_debug("reading the drop sources: %s", err);
		ns = 0;
		flags = 0;
	}
	out = fw_counters_encode(flags, pkts, (size_t)n, src, (size_t)ns,
	    &len);
	if (out == NULL || (fd = memfd_create("sluice-counters",
	    MFD_CLOEXEC)) < 0 || fsutil_write_all(fd, out, len) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		reply(m, id, errno, "passing counters: %s", strerror(errno));
	} else if (priv_send(m->sock, PRIV_REPLY, id,
	    &(struct priv_reply){ .status = 0 }, sizeof(struct priv_reply), fd) < 0)
		log_warn("pass counters: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(out);
	free(pkts);
	free(src);
}

/* Keys leave the monitor in a sealed memfd, never inline or on disk. */
static void
handle_keygen(struct monitor *m, uint32_t id, const struct priv_keygen *req)
{
	char *pem;
	size_t len;
	int fd;

	if (keygen_private_pem(req->type, req->bits, &pem, &len) < 0) {
		reply(m, id, errno, "key type %u/%u bits: %s", req->type,
		    req->bits, strerror(errno));
		return;
	}
	fd = memfd_create("sluice-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || fsutil_write_all(fd, pem, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		keygen_free_pem(pem, len);
		reply(m, id, e, "passing the key: %s", strerror(e));
		return;
	}
	keygen_free_pem(pem, len);
	(void)lseek(fd, 0, SEEK_SET);
	if (priv_send(m->sock, PRIV_REPLY, id,
	    &(struct priv_reply){ .status = 0 }, sizeof(struct priv_reply), fd) < 0)
		log_warn("pass key: %s", strerror(errno));
	close(fd);
}

static void
handle_notify(struct monitor *m, struct priv_notify *req)
{
	const char *s = req->state;
	size_t i;

	if (memchr(s, '\0', sizeof(req->state)) == NULL)
		return;
	for (i = 0; s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return;
	if (strcmp(s, "READY=1") != 0 && strcmp(s, "RELOADING=1") != 0 &&
	    strcmp(s, "STOPPING=1") != 0 && strncmp(s, "STATUS=", 7) != 0)
		return;
	if (strcmp(s, "READY=1") == 0)
		m->engine_ready = true;
	/* Not fatal: a supervisor that went away does not stop the gateway. */
	if (notify_send(s) < 0)
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
}

/* One request from the engine.  Returns -1 when the engine must go. */
static int
handle_engine(struct monitor *m)
{
	union priv_buf u;
	struct priv_hdr *hdr;
	void *body;
	int fd, rc;

	rc = priv_recv(m->sock, &u, &hdr, &body, &fd);
	if (rc == 0)
		return -1;
	if (rc < 0) {
		if (errno == EAGAIN)
			return 0;
		log_error("malformed message from the engine (%s): stopping it",
		    strerror(errno));
		return -1;
	}
	switch (hdr->type) {
	case PRIV_PING:
		reply(m, hdr->id, 0, "pong");
		break;
	case PRIV_OPEN_LISTEN:
		handle_open_listen(m, hdr->id, body);
		break;
	case PRIV_OPEN_DEVICE:
		handle_open_device(m, hdr->id, body);
		break;
	case PRIV_WRITE_POLICY:
		handle_write_policy(m, hdr->id, fd);
		break;
	case PRIV_WRITE_STATE:
		handle_write_state(m, hdr->id, body, fd);
		break;
	case PRIV_HASH_PASSWORD:
		handle_hash(m, hdr->id, body);
		break;
	case PRIV_VERIFY_PASSWORD:
		handle_verify(m, hdr->id, body);
		break;
	case PRIV_NOTIFY:
		handle_notify(m, body);
		break;
	case PRIV_GENERATE_KEY:
		handle_keygen(m, hdr->id, body);
		break;
	case PRIV_FIREWALL_APPLY:
		handle_firewall(m, hdr->id, fd);
		break;
	case PRIV_FIREWALL_COUNTERS:
		handle_counters(m, hdr->id);
		break;
	case PRIV_FIREWALL_FLUSH: {
		char err[256] = "";

		if (!m->info.net_admin)
			reply(m, hdr->id, EPERM, "the monitor lacks CAP_NET_ADMIN");
		else if (fw_nl_flush(err, sizeof(err)) < 0)
			reply(m, hdr->id, errno ? errno : EIO, "%s", err);
		else
			reply(m, hdr->id, 0, "table inet sluice removed");
		break;
	}
	default:
		log_error("unexpected message type %u from the engine", hdr->type);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -1 : 0;
}

static int
spawn_engine(struct monitor *m, const sigset_t *oldmask)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		struct engine_info info = m->info;

		close(sv[0]);
		close(m->sigfd);
		close(m->hist_fd);
		log_set_tag("engine");
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ||
		    getppid() != info.monitor_pid)
			_exit(1);
		if (sigprocmask(SIG_SETMASK, oldmask, NULL) < 0)
			_exit(1);
		if (drop_privileges(&info, m->engine_gid) < 0) {
			log_error("dropping privileges: %s", strerror(errno));
			_exit(1);
		}
		info.priv_fd = sv[1];
		_exit(engine_run(&info));
	}
	close(sv[1]);
	m->sock = sv[0];
	m->engine = pid;
	m->engine_ready = false;
	m->engine_started = time(NULL);
	log_debug("engine started, pid %ld", (long)pid);
	return 0;
}

static void
describe_status(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "stopped (status 0x%x)", status);
}

/* The engine is gone: decide between exiting and a restart. */
static int
engine_gone(struct monitor *m, int status)
{
	char why[128];

	describe_status(status, why, sizeof(why));
	if (m->sock >= 0) {
		close(m->sock);
		m->sock = -1;
	}
	m->engine = 0;
	if (m->stopping || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		m->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		m->stopping = true;
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == ENGINE_EXIT_RESTART &&
	    m->engine_ready) {
		log_info("engine restart requested: starting a new one");
		(void)notify_send("STATUS=engine restarting on request");
		return 1;
	}
	if (!m->engine_ready) {
		/* Failed during start: a restart would fail the same way. */
		log_error("engine %s before it was ready", why);
		m->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		m->stopping = true;
		return 0;
	}
	if (time(NULL) - m->engine_started > RESTART_MAX_S)
		m->backoff_s = 0;
	m->backoff_s = m->backoff_s == 0 ? 1 :
	    (m->backoff_s * 2 > RESTART_MAX_S ? RESTART_MAX_S : m->backoff_s * 2);
	m->info.restarts++;
	m->info.last_status = status;
	log_error("engine %s; restarting it in %u s", why, m->backoff_s);
	(void)notify_send("STATUS=engine restarting");
	return (int)m->backoff_s;
}

int
monitor_run(const struct monitor_config *cfg)
{
	struct monitor mon, *m = &mon;
	sigset_t mask, oldmask;
	struct timespec restart_at = { 0, 0 }, stop_at = { 0, 0 };
	bool pending_restart = false, stop_armed = false;
	int timeout;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->sock = -1;
	m->hist_fd = -1;
	m->info.priv_fd = -1;
	m->info.policy_path = cfg->policy_path;
	m->info.state_dir = cfg->state_dir;
	m->info.monitor_pid = getpid();
	m->info.net_admin = cap_effective(CAP_NET_ADMIN);
	m->info.net_bind = cap_effective(CAP_NET_BIND_SERVICE);
	log_set_tag("monitor");
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	if (resolve_user(m) < 0 || prepare_state(m) < 0)
		return 1;
	if (!m->info.privileged)
		log_warn("running unprivileged: privilege separation is "
		    "partial and privileged ports cannot be opened");

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0 ||
	    (m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_error("signals: %s", strerror(errno));
		return 1;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if (spawn_engine(m, &oldmask) < 0)
		return 1;

	for (;;) {
		struct pollfd pfd[2] = {
			{ m->sigfd, POLLIN, 0 },
			{ m->sock, POLLIN, 0 },
		};
		struct signalfd_siginfo si;

		if (m->stopping && m->engine == 0)
			break;
		timeout = -1;
		if (m->stopping && m->engine > 0) {
			struct timespec now;

			/* An engine that ignores SIGTERM is killed. */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!stop_armed) {
				stop_at = now;
				stop_at.tv_sec += STOP_TIMEOUT_MS / 1000;
				stop_armed = true;
			}
			timeout = (int)((stop_at.tv_sec - now.tv_sec) * 1000 +
			    (stop_at.tv_nsec - now.tv_nsec) / 1000000);
			if (timeout <= 0) {
				log_error("engine did not stop in time: killing it");
				kill(m->engine, SIGKILL);
				timeout = 1000;
			}
		}
		if (pending_restart) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			timeout = (int)((restart_at.tv_sec - now.tv_sec) * 1000 +
			    (restart_at.tv_nsec - now.tv_nsec) / 1000000);
			if (timeout <= 0) {
				pending_restart = false;
				if (spawn_engine(m, &oldmask) < 0)
					return 1;
				continue;
			}
		}
		if (poll(pfd, m->sock >= 0 ? 2 : 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		if (m->sock >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (handle_engine(m) < 0 && m->engine > 0) {
				/* Closing our end makes the engine exit. */
				close(m->sock);
				m->sock = -1;
				kill(m->engine, SIGTERM);
			}
		}
		while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
			int status;
			pid_t pid;

			switch (si.ssi_signo) {
			case SIGTERM:
			case SIGINT:
				log_info("stopping");
				m->stopping = true;
				pending_restart = false;
				if (m->engine > 0)
					kill(m->engine, SIGTERM);
				break;
			case SIGHUP:
				if (m->engine > 0)
					kill(m->engine, SIGHUP);
				break;
			case SIGCHLD:
				while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
					int delay;

					if (pid != m->engine)
						continue;
					delay = engine_gone(m, status);
					if (delay > 0) {
						clock_gettime(CLOCK_MONOTONIC,
						    &restart_at);
						restart_at.tv_sec += delay;
						pending_restart = true;
					}
				}
				break;
			}
		}
	}
	return m->exit_status;
}
