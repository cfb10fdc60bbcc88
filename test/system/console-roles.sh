#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The console's role table, exhaustively: every operation that
# www/api/openapi.yaml documents (test/unit/test_console_routes keeps it
# equal to console_routes[]) is sent with no credentials, a session that
# must change its password, a user session, a read token, an admin token,
# an administrator session and that session without its CSRF token; the
# answers must honour each operation's x-sluice-role (see
# console_roles.py).  The first administrator comes from the one-time
# setup token in the daemon's log, through POST /api/v1/setup.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

command -v python3 >/dev/null 2>&1 || skip "no python3"
python3 -c 'import yaml' 2>/dev/null || skip "no python3 yaml module (python3-yaml)"

# Ports the kernel says are free (in the daemon's namespace when it has one).
read -r HTTPS_PORT HTTP_PORT < <("${IN_NS[@]}" python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
[ -n "$HTTP_PORT" ] || fail "no free ports"

cat > "$POLICY" <<EOF
base: hardened
services:
  https: { enabled: true, port: $HTTPS_PORT }
  http: { enabled: false, port: $HTTP_PORT }
EOF

export SLUICE_COMMON_PASSWORDS="$top_srcdir/src/common-passwords.txt"
export SLUICE_WWW_DIR="$top_srcdir/www"
export SLUICE_TEST_HOOKS=1
start_daemon

# The engine logs the setup token once, at its first start.
token_in_log() {
	sed -n 's/.*one-time setup token \([A-Za-z0-9_-]*\).*/\1/p' \
	    "$T/daemon.log" | tail -n 1
}
token_ready() { [ -n "$(token_in_log)" ]; }
wait_for token_ready ||
	fail "no setup token in the daemon's log"
TOKEN=$(token_in_log)

"${IN_NS[@]}" python3 "$top_srcdir/test/system/console_roles.py" \
    127.0.0.1 "$HTTPS_PORT" "$top_srcdir/www/api/openapi.yaml" "$TOKEN" \
    >"$T/walk.out" 2>&1
st=$?
cat "$T/walk.out"
[ "$st" = 0 ] || fail "the walk found failures (see above)"

# The walk restarted the engine twice (console_roles.py saw each new
# engine pid); the daemon is still whole and stops cleanly.
expect_exit 0 ctl status
stop_daemon
exit 0
