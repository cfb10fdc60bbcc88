#!/bin/bash
# The event log survives kill -9 while events are being written: the
# chain verifies and every event acknowledged before the kill is there.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

printf 'base: hardened\nservices:\n  htps: {}\n' >"$POLICY.bad"
printf 'base: hardened\n' >"$POLICY"
start_daemon
# Each failed reload is one configuration-rejected event.
cp "$POLICY.bad" "$POLICY"
for i in $(seq 1 50); do
	ctl reload >/dev/null 2>&1
done
before=$(ctl log --json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["event"]=="configuration-rejected"))')
[ "$before" -ge 50 ] || fail "expected 50 rejected reloads recorded, found $before"
# Now kill -9 in the middle of a burst.
( for i in $(seq 1 200); do kill -HUP "$DAEMON_PID" 2>/dev/null || break; done ) &
sleep 0.05
kill9_daemon
wait
expect_exit 0 ctl log verify
after=$(ctl log --json 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["event"]=="configuration-rejected"))')
[ "$after" -ge "$before" ] || fail "records lost: $before before, $after after"
# And the daemon starts again on it and keeps the chain going.
printf 'base: hardened\n' >"$POLICY"
start_daemon
expect_exit 0 ctl log verify
# Tampering is detected.
stop_daemon
python3 - "$STATE/events.log" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines(True)
idx = [k for k, l in enumerate(lines) if "configuration-rejected" in l]
i = idx[len(idx) // 2]
lines[i] = lines[i].replace("configuration-rejected", "configuration-rejectex", 1)
open(p, "w").writelines(lines)
PY
expect_exit 4 ctl log verify
assert_contains "$(cat "$T/err")" "events.log" "tamper report names the file"
echo "eventlog-kill9: ok ($before events before the kill, $after after)"
