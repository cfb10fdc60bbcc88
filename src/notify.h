/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * notify.h - systemd readiness through the NOTIFY_SOCKET protocol
 * (sd_notify(3)), without libsystemd.  Used by the monitor only: the
 * unit's main PID is the monitor, which relays the engine's states.
 */
#ifndef SLUICE_NOTIFY_H
#define SLUICE_NOTIFY_H

/*
 * Send state ("READY=1", "STATUS=...") to $NOTIFY_SOCKET.  Returns 1 when
 * sent, 0 when no socket is set, -1 on error (errno).  Never blocks.
 */
int notify_send(const char *state);

#endif
