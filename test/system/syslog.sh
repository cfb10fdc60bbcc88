#!/bin/bash
# End to end: events of the running daemon reach a syslog receiver on
# loopback (socat), in RFC 5424 over UDP, following the policy.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

command -v socat >/dev/null || skip "socat not installed"
port=$("${IN_NS[@]}" python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${IN_NS[@]}" socat -u "UDP-RECV:$port,bind=127.0.0.1" "OPEN:$T/received,creat,append" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_for "${IN_NS[@]}" sh -c "ss -Hlun 'sport = :$port' | grep -q ." || fail "socat did not bind"
cat >"$POLICY" <<Y
base: hardened
services:
  syslog-client:
    enabled: true
logging:
  syslog:
    server: "127.0.0.1"
    port: $port
    transport: udp
    format: rfc5424
  events:
    protocol: [local]
Y
start_daemon
wait_for grep -qE 'start' "$T/received" || fail "no start event at the receiver"
line=$(grep -m1 -E 'cold-start|warm-start' "$T/received")
echo "$line" | grep -qE '^<133>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [^ ]+ sluiced [0-9]+ (cold|warm)-start \[sluice@32473 ' \
	|| fail "not an RFC 5424 message (local0.notice): $line"

# A policy change is recorded, with who and what, remotely too.
sed -i 's/^base: hardened$/base: hardened\ndevice:\n  name: syslogged/' "$POLICY"
kill -HUP "$DAEMON_PID"
wait_for grep -q 'configuration-changed' "$T/received" || fail "change not forwarded"
grep 'configuration-changed' "$T/received" | grep -q 'device.name' || fail "change event lacks the key"

# Routed away from syslog by the matrix: stays local.
sed -i 's/^    protocol: \[local\]$/    protocol: [local]\n    configuration: [local]/' "$POLICY"
expect_exit 0 ctl reload
n=$(grep -c 'configuration-changed' "$T/received")
local_changes() {
	ctl log --group configuration --json | grep -c '"configuration-changed"'
}
l=$(local_changes)
sed -i 's/syslogged/quiet/' "$POLICY"
expect_exit 0 ctl reload
[ "$(local_changes)" = $((l + 1)) ] || fail "change not in the local log"
[ "$(grep -c 'configuration-changed' "$T/received")" = "$n" ] || fail "configuration event sent to syslog against the matrix"
stop_daemon
echo "syslog: ok"
