#!/bin/bash
# SIGHUP and `sluicectl reload`: a good file is applied, a bad one leaves
# the running policy untouched and says why.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

cat >"$POLICY" <<'Y'
base: hardened
device:
  name: reload-test
Y
start_daemon
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "reload-test" "initial policy"

# Good change through SIGHUP.
sed -i 's/reload-test/after-hup/' "$POLICY"
kill -HUP "$DAEMON_PID"
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' policy show | grep -q after-hup" \
	|| fail "SIGHUP did not apply the new policy"
expect_exit 0 ctl log --group configuration --json
assert_contains "$(cat "$T/out")" "configuration-changed" "change recorded"
assert_contains "$(cat "$T/out")" "device.name" "change names the key"

# Bad change through SIGHUP: kept, logged.
printf 'base: hardened\nservices:\n  htps:\n    enabled: true\n' >"$POLICY"
kill -HUP "$DAEMON_PID"
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' log --json | grep -q configuration-rejected" \
	|| fail "bad SIGHUP not recorded"
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "after-hup" "running policy kept after bad SIGHUP"
expect_exit 0 ctl log --json
assert_contains "$(cat "$T/out")" "sluice.yaml:3:3" "rejection names file:line:col"
alive "$DAEMON_PID" || fail "daemon died on a bad SIGHUP"

# The same through sluicectl reload: exit 2 and the message.
expect_exit 2 ctl reload
assert_contains "$(cat "$T/err")" "sluice.yaml:3:3: services.htps" "reload error"
expect_exit 0 ctl status
assert_contains "$(cat "$T/out")" "failed" "status shows the failed reload"

printf 'base: hardened\ndevice:\n  name: fixed\n' >"$POLICY"
expect_exit 0 ctl reload
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "fixed" "reload applied"

# A file deleted under the daemon: reload falls back to the embedded default.
stop_daemon
echo "reload: ok"
