/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.h - the unprivileged half: one libevent event_base serving the
 * control socket, the event log sinks and (in later releases) every
 * protocol, console and SNMP socket.
 */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

struct engine_info;

/*
 * Load the policy, apply it, serve until SIGTERM/SIGINT or until the
 * monitor goes away.  Returns the exit status: 0, 1 (start-up failure)
 * or 2 (invalid policy at start).
 */
int engine_run(const struct engine_info *info);

#endif
