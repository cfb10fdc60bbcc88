#!/bin/bash
# A developer's demo: started without root, both halves run as that user
# and the daemon says what it cannot enforce.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

RUNAS=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not available"
	POLICY="$T/etc/sluice.yaml"
	mkdir -p "$STATE" "$T/etc"
	chown nobody "$STATE" "$T/etc"
	RUNAS=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all --)
fi
out=$("${IN_NS[@]}" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- "${RUNAS[@]}" "$SLUICED" -f \
    -c "$POLICY" --state-dir "$STATE" 2>>"$T/daemon.log") || fail "not ready: $out"
DAEMON_PID=$(cat "$T/daemon.pid")
grep -q "running unprivileged" "$T/daemon.log" || fail "no warning about running unprivileged"
grep -q "cannot enforce" "$T/daemon.log" || fail "limitations not logged"
expect_exit 0 ctl status --json
python3 - "$T/out" <<'PY' || fail "status: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
ps = d["privilege_separation"]
assert ps["monitor_root"] is False, ps
assert ps["net_admin"] is False, ps
assert any("without root" in l for l in d["limitations"]), d["limitations"]
assert any("CAP_NET_ADMIN" in l for l in d["limitations"]), d["limitations"]
PY
expect_exit 0 ctl log --json
assert_contains "$(cat "$T/out")" "enforcement-limited" "limitation events"
# The first change made at run time creates the policy file.
printf 'base: hardened\ndevice:\n  name: demo\n' >"$T/p.yaml"
chmod 0644 "$T/p.yaml"
expect_exit 0 ctl policy apply "$T/p.yaml"
[ -f "$POLICY" ] || fail "apply did not create the policy file"
stop_daemon
echo "unprivileged: ok"
