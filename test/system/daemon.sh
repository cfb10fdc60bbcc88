#!/bin/bash
# The daemon starts on the embedded default, answers sluicectl, records
# cold/warm start and stops cleanly on SIGTERM.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

[ ! -e "$POLICY" ] || fail "policy file should not exist yet"
start_daemon
[ -S "$STATE/control.sock" ] || fail "no control socket in $STATE"

expect_exit 0 ctl status
out=$(cat "$T/out")
assert_contains "$out" "embedded" "status names the embedded default"
assert_contains "$out" "not enforced" "status says what is not enforced"

expect_exit 0 ctl status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["policy"]["source"]=="<embedded>", d' "$T/out" \
	|| fail "status --json is not the expected JSON"

expect_exit 0 ctl services
out=$(cat "$T/out")
for s in discovery dns-client snmp-agent http https telnet dhcp-client \
    syslog-client email-client snmp-trap ntp-client modbus-tcp ethernet-ip \
    profinet dnp3 iec104 bacnet-ip; do
	assert_contains "$out" "$s " "services lists $s"
done
# The embedded default: HTTPS and Modbus TCP on, HTTP and telnet off.
echo "$out" | grep -E '^https .* enabled ' >/dev/null || fail "https not enabled: $out"
echo "$out" | grep -E '^modbus-tcp +502/tcp,7502/tcp .*protocol .* enabled ' >/dev/null \
	|| fail "modbus-tcp not enabled on 502,7502: $out"
echo "$out" | grep -E '^http .* disabled ' >/dev/null || fail "http enabled: $out"
echo "$out" | grep -E '^telnet .* disabled ' >/dev/null || fail "telnet enabled: $out"

expect_exit 0 ctl services --json
python3 -c '
import json,sys
d={s["name"]:s for s in json.load(open(sys.argv[1]))}
assert d["modbus-tcp"]["class"]=="protocol"
assert d["https"]["class"]=="service"
assert [e["port"] for e in d["modbus-tcp"]["endpoints"]]==[502,7502]
assert d["syslog-client"]["implemented"] is True
' "$T/out" || fail "services --json content"

expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "services:" "policy show prints YAML"

expect_exit 0 ctl log --json
python3 -c '
import json,sys
ev=[r["event"] for r in json.load(open(sys.argv[1]))]
assert ev[0] in ("cold-start","warm-start"), ev
' "$T/out" || fail "first event is not a start event: $(cat "$T/out")"

# Second start on the same boot: a warm start.
stop_daemon
start_daemon
expect_exit 0 ctl log --json
python3 -c '
import json,sys
ev=[r["event"] for r in json.load(open(sys.argv[1]))]
assert "shutdown" in ev, ev
assert "warm-start" in ev[ev.index("shutdown"):], ev
' "$T/out" || fail "no shutdown/warm-start: $(cat "$T/out")"

expect_exit 0 ctl log --csv
head -n 1 "$T/out" | grep -q '^seq,time,group,severity,event,fields$' || fail "csv header"
expect_exit 0 ctl log --group configuration --json
expect_exit 64 ctl log --group nonsense
expect_exit 64 ctl log --since yesterday
expect_exit 0 ctl log --since 1h --limit 2 --json
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1])))<=2' "$T/out" || fail "--limit"
expect_exit 0 ctl log verify
expect_exit 64 ctl frobnicate

stop_daemon
# With the daemon gone: unreachable, but the log can still be read.
expect_exit 3 ctl status
assert_contains "$(cat "$T/err")" "cannot reach sluiced" "unreachable message"
expect_exit 0 ctl log
expect_exit 0 ctl log verify
echo "daemon: ok (ready in ${READY_MS} ms)"
