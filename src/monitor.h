/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * monitor.h - the privileged parent.
 *
 * The monitor prepares the state directory, forks the engine (which drops
 * to the engine user and runs the event loop) and then only answers the
 * engine's typed requests (priv.h), relays readiness to systemd, forwards
 * SIGHUP/SIGTERM, and restarts an engine that dies, with backoff.
 */
#ifndef SLUICE_MONITOR_H
#define SLUICE_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

struct monitor_config {
	const char *policy_path;   /* may not exist: embedded default */
	const char *state_dir;
	const char *user;          /* engine user when started as root */
	bool debug;
};

/* What the engine learns from the monitor at fork time. */
struct engine_info {
	int priv_fd;               /* socketpair end to the monitor */
	const char *policy_path;
	const char *state_dir;
	pid_t monitor_pid;
	bool privileged;           /* monitor runs as root */
	bool net_admin;            /* monitor holds CAP_NET_ADMIN */
	bool net_bind;             /* monitor can bind ports < 1024 */
	uid_t engine_uid;
	char engine_user[64];
	unsigned restarts;         /* engines that died before this one */
	int last_status;           /* wait status of the last one that died */
};

/* The engine exits with this to be started again at once (a restart
 * asked for from the console or sluicectl, not a crash). */
#define ENGINE_EXIT_RESTART 75

/* Runs until stopped; returns the process exit status. */
int monitor_run(const struct monitor_config *cfg);

#endif
