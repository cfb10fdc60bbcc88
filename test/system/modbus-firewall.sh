#!/bin/bash
# modbus.firewall end to end: who may read or write what, by source,
# listening port, unit, function, address range and value; denied
# requests are answered with the configured exception, counted per rule,
# logged, and never reach the serial line (asserted on the simulator's
# trace of its line).  `sluicectl modbus rules test` explains decisions.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

SIM="$top_builddir/contrib/sluice-modbus-sim"
CLIENT="$top_builddir/test/helpers/mb-client"
[ -x "$SIM" ] || fail "$SIM not built"
[ -x "$CLIENT" ] || fail "$CLIENT not built"

PORT=$((20000 + ($$ + 3571) % 20000))
PPORT=$((PORT + 1))

"${IN_NS[@]}" "$SIM" --rtu --pty "$T/line1" --baud 115200 --unit 1-20 \
    --trace "$T/line1.trace" --ready-file "$T/sim.ready" >/dev/null \
    2>"$T/sim.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_for test -s "$T/sim.ready" || fail "simulator: $(cat "$T/sim.log")"

cat >"$POLICY" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $PPORT
modbus:
  serial_channels:
    - name: line1
      device: $T/line1
      baud: 115200
      parity: none
      stop_bits: 2
  routes:
    - units: 1-20
      channel: line1
  firewall:
    default: deny
    deny_exception: illegal-function
    rules:
      - name: scada-reads
        action: allow
        from: [127.0.0.0/8]
        units: 1-10
        functions: read-only
        holding_registers_read: [0-99]
      - name: no-coils
        action: deny
        functions: [5, 15]
      - name: setpoints
        action: allow
        from: [127.0.0.2]
        listen_port: $PPORT
        functions: [6, 16]
        holding_registers_write: 10-19
        value_min: 0
        value_max: 1000
EOF
start_daemon
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' modbus stats --json | grep -q '\"state\": \"up\"'" ||
	fail "line not up: $(ctl modbus stats)"

"${IN_NS[@]}" python3 - 127.0.0.1 "$PORT" "$PPORT" "$T/line1.trace" <<'PY' || fail "firewall"
import socket, struct, sys, time
HOST, PORT, PPORT, TRACE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def crc16(d):
    c = 0xFFFF
    for b in d:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return struct.pack("<H", c)

def ask(src, port, unit, pdu):
    s = socket.socket()
    s.settimeout(3)
    s.bind((src, 0))
    s.connect((HOST, port))
    s.sendall(struct.pack(">HHHB", 7, 0, len(pdu) + 1, unit) + pdu)
    hdr = s.recv(7)
    body = s.recv(300)
    s.close()
    assert hdr[:2] == b"\0\7", hdr
    return body

allowed, denied = [], []
def expect(src, port, unit, pdu, ok, what, code=0x01):
    r = ask(src, port, unit, pdu)
    if ok:
        assert r[0] == pdu[0], (what, r.hex())
        allowed.append(bytes([unit]) + pdu)
    else:
        assert r == bytes([pdu[0] | 0x80, code]), (what, r.hex())
        denied.append(bytes([unit]) + pdu)

fc3 = lambda a, n: struct.pack(">BHH", 3, a, n)
fc6 = lambda a, v: struct.pack(">BHH", 6, a, v)
expect("127.0.0.1", PORT, 1, fc3(0, 10), True, "scada read")
expect("127.0.0.1", PORT, 1, fc3(95, 10), False, "read past the range")
expect("127.0.0.1", PORT, 11, fc3(0, 1), False, "unit outside the rule")
expect("127.0.0.1", PORT, 1, fc6(12, 5), False, "write from scada")
expect("127.0.0.1", PORT, 1, struct.pack(">BHH", 5, 3, 0xFF00), False, "coil")
expect("127.0.0.2", PPORT, 1, fc6(12, 500), True, "setpoint")
expect("127.0.0.2", PPORT, 1, fc6(12, 5000), False, "value above value_max")
expect("127.0.0.2", PPORT, 1, fc6(30, 5), False, "register outside the range")
expect("127.0.0.2", PORT, 1, fc6(12, 5), False, "setpoint on the wrong port")
expect("127.0.0.3", PPORT, 1, fc6(12, 5), False, "setpoint from elsewhere")
expect("127.0.0.2", PPORT, 1, struct.pack(">BHHB", 16, 10, 2, 4) +
       struct.pack(">HH", 1, 2), True, "FC16 in range")
# FC23 reads and writes: no rule allows both halves.
expect("127.0.0.2", PPORT, 1, struct.pack(">BHHHHBH", 23, 0, 1, 12, 1, 2, 9),
       False, "FC23")
time.sleep(0.3)
seen = []
with open(TRACE) as f:
    for line in f:
        p = line.split()
        if len(p) == 3 and p[1] == "rx":
            seen.append(bytes.fromhex(p[2]))
want = [a + crc16(a) for a in allowed]
assert seen == want, ("line saw", [x.hex() for x in seen], "want",
                      [x.hex() for x in want])
print("firewall ok: %d allowed reached the line, %d denied did not" %
      (len(allowed), len(denied)))
PY

# Explanations, counters, events.
expect_exit 0 ctl modbus rules test --from 127.0.0.2 --port "$PPORT" --unit 1 \
    --fc 6 --addr 12 --value 5000
assert_contains "$(cat "$T/out")" "value 5000 above value_max 1000" "why setpoints did not match"
assert_contains "$(cat "$T/out")" "=> deny ((default))" "the default decides"
expect_exit 0 ctl modbus rules test --from 10.0.0.9 --unit 3 --fc 3 --addr 5
assert_contains "$(cat "$T/out")" "source 10.0.0.9 not in from" "source"
expect_exit 0 ctl modbus rules test --from 127.0.0.1 --unit 3 --fc 3 --addr 5 --count 2
assert_contains "$(cat "$T/out")" "=> allow (scada-reads)" "allow"
expect_exit 64 ctl modbus rules test --unit 1 --fc 3 --addr 65535 --count 2
ctl modbus stats --json >"$T/stats.json" || fail "stats"
python3 - "$T/stats.json" <<'PY' || fail "rule counters: $(cat "$T/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
fw = d["firewall"]
hits = {r["name"]: r["hits"] for r in fw["rules"]}
assert fw["default"] == "deny" and hits["scada-reads"] == 1, fw
assert hits["no-coils"] == 1 and hits["setpoints"] == 2, fw
assert fw["default_hits"] == 8, fw
assert d["total"]["denied"] == 9, d["total"]
PY
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' log --group protocol --json | grep -q request-denied" ||
	fail "no request-denied event"
expect_exit 0 ctl log --group protocol --json
assert_contains "$(cat "$T/out")" '"rule": "no-coils"' "the event names the rule"

stop_daemon || fail "stop"
echo ok
