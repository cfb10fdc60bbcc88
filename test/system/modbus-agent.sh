#!/bin/bash
# Agent mode end to end: poll commands fill the tag table from a slave
# simulator on a pty; Modbus TCP clients read the tags from memory
# through modbus.agent.map, write a setpoint that reaches the device
# only through its write command, see bad quality as exception 0x04, and
# read the command status bits.  Device loss and return move quality.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

SIM="$top_builddir/contrib/sluice-modbus-sim"
CLIENT="$top_builddir/test/helpers/mb-client"
[ -x "$SIM" ] || fail "$SIM not built"
[ -x "$CLIENT" ] || fail "$CLIENT not built"

PORT=$((20000 + ($$ + 1237) % 20000))

start_sim() {
	rm -f "$T/sim.ready"
	"${IN_NS[@]}" "$SIM" --rtu --pty "$T/line1" --baud 115200 --unit 1 \
	    --ready-file "$T/sim.ready" >/dev/null 2>>"$T/sim.log" &
	SIM_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $SIM_PID"
	wait_for test -s "$T/sim.ready" || fail "simulator: $(cat "$T/sim.log")"
}
start_sim

cat >"$POLICY" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $((PORT + 1))
tags:
  - { name: t.a, type: uint16, command: temps, at: 0 }
  - { name: t.b, type: int16, scale: 0.1, unit: degC, command: temps, at: 1 }
  - { name: t.f, type: uint32, command: temps, at: 2 }
  - { name: c0, type: bool, command: coils, at: 0 }
  - { name: c1, type: bool, command: coils, at: 1 }
  - { name: sp, type: uint16, command: rsp, at: 0, write_command: setp }
  - { name: dead.x, type: uint16, command: dead, at: 0 }
  - { name: t.sw, type: uint32, command: swapped, at: 0 }
  - { name: c2, type: bool, command: coils, at: 2, write_command: wcoil }
  - { name: dw, type: uint16, write_command: wdead }
  - { name: off.x, type: uint16, command: off, at: 0 }
modbus:
  mode: agent
  serial_channels:
    - name: line1
      device: $T/line1
      baud: 115200
      parity: none
      stop_bits: 2
      response_timeout_ms: 100
      read_retries: 0
  commands:
    - { name: temps, channel: line1, unit: 1, function: 3, address: 0, quantity: 4, interval_ms: 100 }
    - { name: coils, channel: line1, unit: 1, function: 1, address: 0, quantity: 8, interval_ms: 100 }
    - { name: rsp, channel: line1, unit: 1, function: 3, address: 100, quantity: 1, interval_ms: 100 }
    - { name: setp, channel: line1, unit: 1, function: 6, address: 100, trigger: on-change }
    - { name: dead, channel: line1, unit: 9, function: 3, address: 0, quantity: 1, interval_ms: 200 }
    - { name: swapped, channel: line1, unit: 1, function: 3, address: 2, quantity: 2, interval_ms: 100, swap: word }
    - { name: wcoil, channel: line1, unit: 1, function: 5, address: 2 }
    - { name: wdead, channel: line1, unit: 9, function: 6, address: 5 }
    - { name: off, channel: line1, unit: 1, function: 3, address: 50, quantity: 1, trigger: disabled }
  agent:
    bad_quality: exception
    status: { table: discrete_inputs, address: 1000 }
    map:
      - { table: holding_registers, address: 0, tag: t.a }
      - { table: holding_registers, address: 1, tag: t.b }
      - { table: holding_registers, address: 2, tag: t.f }
      - { table: holding_registers, address: 10, tag: sp }
      - { table: coils, address: 0, tag: c0 }
      - { table: coils, address: 1, tag: c1 }
      - { table: input_registers, address: 0, tag: dead.x }
      - { table: coils, address: 2, tag: c2 }
      - { table: holding_registers, address: 20, tag: dw }
EOF
"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
	fail "policy refused: $(cat "$T/check.out")"
start_daemon

mc() { "${IN_NS[@]}" "$CLIENT" --tcp "127.0.0.1:$PORT" --timeout 2000 "$@"; }
tags_json() { ctl tags --json >"$T/tags.json" 2>/dev/null; }
tag() { # NAME FIELD
	python3 -c 'import json,sys
for t in json.load(open(sys.argv[1])):
    if t["name"] == sys.argv[2]: print(t[sys.argv[3]])' "$T/tags.json" "$1" "$2"
}
ok=
for i in $(seq 1 100); do
	tags_json && [ "$(tag t.f quality)" = good ] && [ "$(tag c0 quality)" = good ] &&
	    [ "$(tag dead.x reason)" = comm-failure ] && { ok=1; break; }
	sleep 0.05
done
[ -n "$ok" ] || fail "tags not polled: $(ctl tags)"
[ "$(tag t.a value)" = 0.0 ] || fail "t.a: $(tag t.a value)"
[ "$(tag t.b value)" = 0.1 ] || fail "t.b scaled: $(tag t.b value)"
[ "$(tag t.f value)" = 131075.0 ] || fail "t.f (words 2, 3): $(tag t.f value)"
[ "$(tag c0 value)" = True ] && [ "$(tag c1 value)" = False ] || fail "coils: $(ctl tags)"
[ "$(tag t.sw value)" = 196610.0 ] || fail "word swap (words 3, 2): $(tag t.sw value)"
[ "$(tag off.x reason)" = waiting ] || fail "a disabled command polled: $(tag off.x reason)"
expect_exit 0 ctl tags
assert_contains "$(cat "$T/out")" "comm-failure" "text listing"

# Reads come from memory; bad quality answers 0x04; unmapped 0x02.
out=$(mc --unit 1 read-hr 0 4) && [ "$out" = "0 1 2 3" ] || fail "read-hr: '$out'"
out=$(mc --unit 77 read-hr 1 1) && [ "$out" = "1" ] || fail "any unit: '$out'"
out=$(mc read-coils 0 2) && [ "$out" = "1 0" ] || fail "coils: '$out'"
out=$(mc read-ir 0 1); [ "$out" = "exception 0x04" ] || fail "bad quality: '$out'"
out=$(mc read-hr 50 1); [ "$out" = "exception 0x02" ] || fail "unmapped: '$out'"
out=$(mc write-reg 0 5); [ "$out" = "exception 0x02" ] || fail "read-only tag: '$out'"
# Status: a bit per command, in name order
# coils dead off rsp setp swapped temps wcoil wdead.
out=$(mc read-di 1000 9) && [ "$out" = "1 0 0 1 0 1 1 0 0" ] || fail "status bits: '$out'"

# Independent masters read the same memory: mbpoll and pymodbus.
if command -v mbpoll >/dev/null; then
	out=$("${IN_NS[@]}" mbpoll -m tcp -a 1 -r 1 -c 4 -1 -t 4 -p "$PORT" \
	    127.0.0.1 2>&1) || fail "mbpoll: $out"
	assert_contains "$out" "[4]: 	3" "mbpoll reads the tags"
fi
if /usr/bin/python3 -c 'import pymodbus' 2>/dev/null; then
	"${IN_NS[@]}" /usr/bin/python3 - 127.0.0.1 "$PORT" <<'PY' || fail "pymodbus"
import sys
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient(sys.argv[1], port=int(sys.argv[2]), timeout=3, retries=0)
assert c.connect()
r = c.read_holding_registers(0, 4, slave=1)
assert not r.isError() and r.registers == [0, 1, 2, 3], r
r = c.read_coils(0, 2, slave=1)
assert not r.isError() and r.bits[:2] == [True, False], r
r = c.read_input_registers(0, 1, slave=1)
assert r.isError() and r.exception_code == 4, r
c.close()
PY
fi

# A write goes to the device through its command and is answered after it.
out=$(mc write-reg 10 500) && [ "$out" = ok ] || fail "setpoint write: '$out'"
for i in $(seq 1 60); do
	tags_json && [ "$(tag sp value)" = 500.0 ] && break
	sleep 0.05
done
[ "$(tag sp value)" = 500.0 ] || fail "setpoint not read back from the device: $(tag sp value)"
out=$(mc read-di 1004 1) && [ "$out" = 1 ] || fail "write command status: '$out'"
# A write the device never confirms is answered 0x0B, not ok.
out=$(mc write-reg 20 7); [ "$out" = "exception 0x0B" ] || fail "unconfirmed write: '$out'"
# Coils and registers are separate address spaces: coil 2 is not register 2.
out=$(mc write-coil 2 1) && [ "$out" = ok ] || fail "coil write: '$out'"
for i in $(seq 1 60); do
	tags_json && [ "$(tag c2 value)" = True ] && break
	sleep 0.05
done
[ "$(tag c2 value)" = True ] || fail "coil 2 not written through: $(tag c2 value)"
out=$(mc read-hr 2 2) && [ "$out" = "2 3" ] || fail "a coil write changed registers: '$out'"

ctl modbus stats --json >"$T/stats.json" || fail "stats"
python3 - "$T/stats.json" <<'PY' || fail "agent stats: $(cat "$T/stats.json")"
import json, sys
a = json.load(open(sys.argv[1]))["agent"]
c = {x["name"]: x for x in a["commands"]}
assert c["temps"]["good"] >= 3 and c["temps"]["ok"], c["temps"]
assert c["dead"]["bad"] >= 1 and not c["dead"]["ok"], c["dead"]
assert "0x0B" in c["dead"]["last_error"], c["dead"]
assert 50 < c["temps"]["period_ms"] < 400, c["temps"]
assert c["setp"]["good"] == 1, c["setp"]
assert c["off"]["polls"] == 0, c["off"]
PY

# The device goes away: its tags go bad; it returns: good again.
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
ok=
for i in $(seq 1 60); do
	tags_json && [ "$(tag t.a reason)" = comm-failure ] && { ok=1; break; }
	sleep 0.05
done
[ -n "$ok" ] || fail "t.a not bad after unplug: $(ctl tags)"
out=$(mc read-hr 0 1); [ "$out" = "exception 0x04" ] || fail "stale read: '$out'"
start_sim
ok=
for i in $(seq 1 150); do
	tags_json && [ "$(tag t.a quality)" = good ] && { ok=1; break; }
	sleep 0.1
done
[ -n "$ok" ] || fail "t.a not good after replug: $(ctl tags)"

stop_daemon || fail "stop"
echo ok
