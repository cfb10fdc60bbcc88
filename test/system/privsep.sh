#!/bin/bash
# Privilege separation: the engine runs without root and without
# capabilities, a slow monitor request does not hold up the loop, and a
# dead engine is restarted with the event logged.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "needs root to test the switch to an unprivileged engine"

SLUICE_TEST_HOOKS=1 start_daemon
mon=$DAEMON_PID
eng=$(engine_pid)
[ -n "$eng" ] || fail "no engine process under monitor $mon"

uid=$(awk '/^Uid:/ {print $2}' /proc/$eng/status)
[ "$uid" != 0 ] || fail "engine runs as root"
capeff=$(awk '/^CapEff:/ {print $2}' /proc/$eng/status)
capprm=$(awk '/^CapPrm:/ {print $2}' /proc/$eng/status)
[ "$capeff" = 0000000000000000 ] && [ "$capprm" = 0000000000000000 ] \
	|| fail "engine holds capabilities: eff=$capeff prm=$capprm"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$eng/status || fail "engine lacks no_new_privs"
[ "$(awk '/^Uid:/ {print $2}' /proc/$mon/status)" = 0 ] || fail "monitor is not root"

# The state directory belongs to the engine; the control socket is 0660.
[ "$(stat -c %u "$STATE")" = "$uid" ] || fail "state dir not owned by the engine user"
[ "$(stat -c %a "$STATE/control.sock")" = 660 ] || fail "control socket mode $(stat -c %a "$STATE/control.sock")"

# A slow monitor request (Argon2id, ~0.6 s) must not delay the loop:
# status, asked after it, must answer before it.
# A raw client sends the hash request and says so before awaiting the reply.
python3 - "$STATE/control.sock" >"$T/hash.out" 2>&1 <<'PY' &
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
req = json.dumps({"cmd": "debug.monitor-hash"}).encode()
s.sendall(struct.pack(">I", len(req)) + req)
print("sent", flush=True)
hdr = s.recv(4, socket.MSG_WAITALL)
body = s.recv(struct.unpack(">I", hdr)[0], socket.MSG_WAITALL)
print("reply", body.decode(), flush=True)
PY
hp=$!
CLEANUP_PIDS="$CLEANUP_PIDS $hp"
wait_for grep -q sent "$T/hash.out" || fail "hash client did not start"
t0=$(date +%s%N)
for i in 1 2 3; do
	ctl status >/dev/null || fail "status during a monitor hash"
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
grep -q reply "$T/hash.out" && fail "status answered only after the monitor hash (${ms} ms)"
wait "$hp"
grep -q '"ok": *true' "$T/hash.out" || fail "monitor hash failed: $(cat "$T/hash.out")"
echo "3 status requests during a monitor hash: ${ms} ms"

# Key generation happens in the monitor; the key reaches the engine in a
# sealed memfd (only its shape is shown here).
expect_exit 0 ctl debug monitor-keygen
assert_contains "$(cat "$T/out")" "BEGIN PRIVATE KEY" "monitor key generation"

# Kill the engine: the monitor restarts it and the event is logged.
kill -9 "$eng"
wait_for sh -c "p=\$(pgrep -P $mon); [ -n \"\$p\" ] && [ \"\$p\" != $eng ] && '$SLUICECTL' --state-dir '$STATE' status >/dev/null" \
	|| { sleep 2; wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' status >/dev/null" || fail "engine not restarted"; }
expect_exit 0 ctl log --json
assert_contains "$(cat "$T/out")" "engine-restarted" "restart recorded"
expect_exit 0 ctl status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["privilege_separation"]["engine_restarts"]==1, d' "$T/out" \
	|| fail "status does not count the restart"

# Debug hooks are off unless asked for.
stop_daemon
start_daemon
expect_exit 64 ctl debug monitor-hash
stop_daemon

# With only the capabilities of the systemd unit (no CAP_DAC_OVERRIDE),
# the monitor still starts, keeps versions and stops cleanly.
if command -v setpriv >/dev/null; then
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' \
	    "$top_srcdir/contrib/systemd/sluiced.service.in" |
	    tr 'A-Z' 'a-z' | sed -e 's/cap_/+/g' -e 's/ /,/g')
	[ -n "$caps" ] || fail "no CapabilityBoundingSet in the unit"
	out=$("${IN_NS[@]}" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- setpriv --bounding-set=-all,$caps \
	    --inh-caps=-all -- "$SLUICED" -f -c "$POLICY" --state-dir "$STATE" \
	    2>>"$T/daemon.log") || fail "not ready with the unit's capabilities ($caps): $out"
	DAEMON_PID=$(cat "$T/daemon.pid")
	printf 'base: hardened\ndevice:\n  name: bounded\n' >"$T/b.yaml"
	expect_exit 0 ctl policy apply "$T/b.yaml"
	expect_exit 0 ctl policy history
	stop_daemon
else
	echo "setpriv not available: unit capability set not exercised"
fi

# The engine owns the state directory and could swap policy-history for a
# symbolic link: the root monitor must not follow it anywhere.
mkdir "$T/elsewhere"
mv "$STATE/policy-history" "$T/moved-history"
ln -s "$T/elsewhere" "$STATE/policy-history"
"${IN_NS[@]}" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- "$SLUICED" -f -c "$POLICY" \
    --state-dir "$STATE" >"$T/out" 2>>"$T/daemon.log" && fail "started with a symlinked policy-history"
grep -q "policy-history" "$T/daemon.log" || fail "no error naming policy-history"
[ -z "$(ls "$T/elsewhere")" ] || fail "the monitor wrote through the symlink"
rm "$STATE/policy-history"
mv "$T/moved-history" "$STATE/policy-history"
echo "privsep: ok"
