#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# console-storm.sh - a login storm on the console does not slow the
# Modbus gateway: the engine's loop never hashes a password (Argon2id
# runs in the monitor) and answers what it can without hashing at all.
#
# A Modbus master (test/helpers/mb-client bench-throughput, one master
# reading back to back) polls unit 1 through sluiced (Modbus TCP -> a
# TCP channel -> contrib/sluice-modbus-sim) for STORM_SECONDS without a
# storm (baseline), then again while test/system/console_storm.py sends
# STORM_RATE wrong-password POST /api/v1/login a second from another
# loopback address.  Two phases, each on the same daemon:
#   1 lockout on (password_policy.lockout, 5 attempts): the account,
#     then the source lock (after 2 x 5 failures); later answers come
#     without hashing;
#   2 lockout off: every login costs an Argon2id verification at the
#     monitor (2 at most in flight, the rest 429 at once).
# Pass: in each phase, for one pair of (baseline, storm) out of up to
# PAIRS, the master's p99 during the storm is less than 1 ms above the
# baseline's (the box is noisy: a pair may be spoilt by something else;
# every pair is printed; a sanitizer build prints it only); and every
# login was answered 401 or 429, never 5xx, never a dropped connection.
#
# On a VM the master is often faster during the storm than without it
# (lockout off: p50 halves): a busy monitor keeps the vCPUs out of the
# idle states whose wake-ups the baseline pays.  So the comparison is a
# lenient one; work on the engine's loop still shows through it: with
# STORM_NEW_CONNECTIONS=1 each login's TLS handshake (about 0.4 ms of
# the engine's time) adds a few hundred us to the p99.
#
# The storm's address, 127.0.0.2 and 127.0.0.3, is on firewall.management:
# a source that fails 4 x 5 times is otherwise banned in the firewall,
# and the storm would measure the firewall instead of the console.
#
# Environment: STORM_SECONDS (10), STORM_RATE (50), PAIRS (3),
# STORM_NEW_CONNECTIONS=1 (a TLS handshake for every login instead of
# keep-alive connections).
: "${top_builddir:?}"
# shellcheck source=test/system/lib.sh
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

SIM="$top_builddir/contrib/sluice-modbus-sim"
MB="$top_builddir/test/helpers/mb-client"
STORM="$top_srcdir/test/system/console_storm.py"
SECONDS_=${STORM_SECONDS:-10}
RATE=${STORM_RATE:-50}
PAIRS=${PAIRS:-3}
PASSWORD='Storm-Passw0rd-4711!'
PORT=$((20000 + $$ % 20000))
PPORT=$((PORT + 1))
HPORT=$((PORT + 2))
NEWCONN=
[ "${STORM_NEW_CONNECTIONS:-0}" = 1 ] && NEWCONN=--new-connections

[ -x "$SIM" ] || fail "$SIM not built"
[ -x "$MB" ] || fail "$MB not built"
PY=$(command -v /usr/bin/python3 || command -v python3) || skip "no python3"
command -v curl >/dev/null || skip "no curl"
if [ "$(id -u)" = 0 ] && [ -z "$NS" ]; then
	skip "root but no network namespace: sluiced would program the host's nftables"
fi
export SLUICE_COMMON_PASSWORDS="$top_srcdir/src/common-passwords.txt"
export SLUICE_WWW_DIR="$top_srcdir/www"

# ASan and UBSan slow the engine's every step, not the same for each:
# there the p99 comparison is printed, not enforced (the answers are).
SANITIZED=
nm -D "$SLUICED" 2>/dev/null | grep -q __asan_init && SANITIZED=1

in_ns() { "${IN_NS[@]}" "$@"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

rm -f "$T/sim.ready"
"${IN_NS[@]}" "$SIM" --tcp 0 --bind 127.0.0.1 --unit 1 \
    --ready-file "$T/sim.ready" >>"$T/sim.log" 2>&1 &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_for test -s "$T/sim.ready" || fail "simulator: $(cat "$T/sim.log")"
SIM_PORT=$(cat "$T/sim.ready")

# policy LOCKOUT: the policy file with password_policy.lockout.enabled
# LOCKOUT (true or false).
policy() {
	cat <<EOF
services:
  modbus-tcp: { enabled: true, port: $PORT, priority_port: $PPORT }
  https: { enabled: true, port: $HPORT }
  http: { enabled: false }
firewall:
  per_source: { max_connections: 0, new_per_second: 0 }
  management: [127.0.0.2/32, 127.0.0.3/32]
dos_defense:
  syn_flood: { enabled: false }
password_policy:
  lockout: { enabled: $1, attempts: 5, window_s: 300, duration_s: 600 }
console:
  max_connections_per_source: 64
modbus:
  tcp_channels:
    - name: plc
      host: 127.0.0.1
      port: $SIM_PORT
  routes:
    - units: 1
      channel: plc
EOF
}
policy true >"$POLICY"
"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
	fail "policy refused: $(cat "$T/check.out")"
start_daemon
ENG=$(engine_pid)
[ -n "$ENG" ] || fail "no engine process"
for _ in $(seq 1 200); do
	in_ns curl -sk --max-time 5 -o /dev/null \
	    "https://127.0.0.1:$HPORT/api/v1/login" && break
	sleep 0.05
done
in_ns curl -sk --max-time 5 -o /dev/null "https://127.0.0.1:$HPORT/api/v1/login" ||
	fail "the console does not answer on $HPORT"
printf '%s\n' "$PASSWORD" | ctl account add --admin admin >"$T/acct" 2>&1 ||
	fail "account add: $(cat "$T/acct")"
for _ in $(seq 1 200); do
	in_ns "$MB" --tcp "127.0.0.1:$PORT" --unit 1 read-hr 0 1 \
	    >/dev/null 2>&1 && break
	sleep 0.05
done
in_ns "$MB" --tcp "127.0.0.1:$PORT" --unit 1 read-hr 0 1 >"$T/mb.out" 2>&1 ||
	fail "Modbus through sluiced: $(cat "$T/mb.out")"

# master OUT: the master for SECONDS_; its line into OUT, and the
# engine's and the monitor's CPU share (% of one core) appended.
master() {
	local e0 m0 t0 e1 m1 t1
	e0=$(ticks "$ENG") m0=$(ticks "$DAEMON_PID") t0=$(date +%s%N)
	in_ns "$MB" --tcp "127.0.0.1:$PORT" --unit 1 bench-throughput 1 \
	    "$SECONDS_" >"$1" 2>"$1.err" || echo "failed" >>"$1"
	e1=$(ticks "$ENG") m1=$(ticks "$DAEMON_PID") t1=$(date +%s%N)
	awk -v e="$((e1 - e0))" -v m="$((m1 - m0))" -v ns="$((t1 - t0))" \
	    -v hz="$HZ" 'BEGIN { printf " engine_cpu=%.0f%% monitor_cpu=%.0f%%\n",
	    100 * e / hz / (ns / 1e9), 100 * m / hz / (ns / 1e9) }' >>"$1"
}

val() { tr ' ' '\n' <"$2" | sed -n "s/^$1=//p" | head -n 1; }

# phase NAME SOURCE: up to PAIRS (baseline, storm) pairs.
phase() {
	local name=$1 src=$2 i sp b99 s99 ok=0
	for i in $(seq 1 "$PAIRS"); do
		master "$T/base"
		rm -f "$T/storm.ready"
		in_ns "$PY" "$STORM" 127.0.0.1 "$HPORT" "$src" "$RATE" \
		    "$SECONDS_" admin "$T/storm.ready" $NEWCONN \
		    >"$T/storm.out" 2>"$T/storm.err" &
		sp=$!
		CLEANUP_PIDS="$CLEANUP_PIDS $sp"
		wait_file "$sp" "$T/storm.ready" ||
			fail "$name: the storm did not start: $(cat "$T/storm.err")"
		master "$T/storm"
		wait "$sp"
		b99=$(val p99_us "$T/base") s99=$(val p99_us "$T/storm")
		echo "$name, pair $i: baseline p50 $(val p50_us "$T/base") us p99 $b99 us ($(val tps "$T/base") tps, errors $(val errors "$T/base"),$(sed -n 's/^ //p' "$T/base" | tr '\n' ' '))"
		echo "$name, pair $i: storm    p50 $(val p50_us "$T/storm") us p99 $s99 us ($(val tps "$T/storm") tps, errors $(val errors "$T/storm"),$(sed -n 's/^ //p' "$T/storm" | tr '\n' ' '))"
		echo "$name, pair $i: logins: $(cat "$T/storm.out") $(head -c 300 "$T/storm.err")"
		grep -q '^failed' "$T/base" "$T/storm" &&
			fail "$name: the master failed: $(cat "$T/base.err" "$T/storm.err")"
		if [ "$(val errors "$T/base")" != 0 ] ||
		    [ "$(val errors "$T/storm")" != 0 ]; then
			fail "$name: the master saw errors"
		fi
		# Every login answered 401 or 429: no 5xx, no other status,
		# no connection lost, and (nearly) the rate asked for.
		if [ "$(val s5xx "$T/storm.out")" != 0 ] ||
		    [ "$(val other "$T/storm.out")" != 0 ] ||
		    [ "$(val errors "$T/storm.out")" != 0 ]; then
			fail "$name: a login was not answered 401 or 429"
		fi
		[ "$(($(val s401 "$T/storm.out") + $(val s429 "$T/storm.out")))" -ge \
		    $((RATE * SECONDS_ * 9 / 10)) ] ||
			fail "$name: fewer than 90 % of $((RATE * SECONDS_)) logins answered"
		if [ -n "$b99" ] && [ -n "$s99" ] && [ $((s99 - b99)) -lt 1000 ]; then
			echo "$name: p99 +$((s99 - b99)) us during the storm (< 1000 us): ok"
			ok=1
			break
		fi
		echo "$name: p99 +$((s99 - b99)) us during the storm (>= 1000 us); again"
	done
	[ "$ok" = 1 ] && return 0
	if [ -n "$SANITIZED" ]; then
		echo "note: $name: p99 rose by 1 ms or more in each of $PAIRS pairs; a sanitizer build times its instrumentation: not a failure"
		return 0
	fi
	fail "$name: the master's p99 rose by 1 ms or more in each of $PAIRS pairs"
}

echo "master: 1 x FC3 x10 back to back through sluiced for $SECONDS_ s; storm: $RATE wrong-password logins/s for $SECONDS_ s (${NEWCONN:-keep-alive connections})"
phase "lockout on" 127.0.0.2
# The lock did its part: the source was locked, so the rest of its
# failures were answered without a verification (and, by design, without
# a login-failed event each).
ctl log --json >"$T/log.json" 2>&1 || fail "sluicectl log: $(head -c 300 "$T/log.json")"
grep -A3 '"event": "account-locked"' "$T/log.json" |
    grep -q '"source": "127.0.0.2"' ||
	fail "lockout on: the storm's source was never locked"

policy false >"$T/nolock.yaml"
ctl policy apply "$T/nolock.yaml" >"$T/apply.out" 2>&1 ||
	fail "policy apply: $(cat "$T/apply.out")"
phase "lockout off" 127.0.0.3
exit 0
