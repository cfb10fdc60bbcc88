#!/bin/bash
# The Modbus gateway end to end: Modbus TCP masters (libmodbus, mbpoll,
# pymodbus, raw sockets) -> sluiced -> slave simulators on pty lines (RTU
# and ASCII) and on TCP.  The simulator traces every byte that reaches
# its line, so the translation oracle can assert that each accepted
# request arrived there as exactly unit' || PDU || CRC, and each refused
# one not at all.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

SIM="$top_builddir/contrib/sluice-modbus-sim"
CLIENT="$top_builddir/test/helpers/mb-client"
[ -x "$SIM" ] || fail "$SIM not built"
[ -x "$CLIENT" ] || fail "$CLIENT not built"

PORT=$((20000 + $$ % 20000))
PPORT=$((PORT + 1))

# start_sim NAME ARGS... - a simulator in the daemon's namespace; waits
# for its ready file.
start_sim() {
	local name=$1 i
	shift
	rm -f "$T/$name.ready"
	"${IN_NS[@]}" "$SIM" --ready-file "$T/$name.ready" "$@" \
	    2>>"$T/$name.log" &
	eval "SIM_$name=$!"
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	for i in $(seq 1 100); do
		[ -s "$T/$name.ready" ] && return 0
		sleep 0.05
	done
	fail "simulator $name did not start: $(cat "$T/$name.log")"
}

start_sim line1 --rtu --pty "$T/line1" --baud 115200 --unit 1-5 \
    --trace "$T/line1.trace"
start_sim line2 --ascii --pty "$T/line2" --baud 19200 --unit 1
start_sim slow --rtu --pty "$T/slow" --baud 115200 --unit 1 --delay 150
start_sim fair --rtu --pty "$T/fair" --baud 115200 --unit 1 --delay 20
start_sim plc --tcp 0 --bind 127.0.0.1 --unit 1-3
PLC_PORT=$(cat "$T/plc.ready")

# Independent slaves on socat pty pairs: libmodbus (RTU) and, when
# installed, pymodbus (ASCII).
pty_pair() { # NAME
	socat "pty,raw,echo=0,link=$T/$1-gw" "pty,raw,echo=0,link=$T/$1-slave" \
	    2>"$T/socat-$1.log" &
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	wait_for test -e "$T/$1-slave" || fail "socat: $(cat "$T/socat-$1.log")"
}
command -v socat >/dev/null || fail "socat not installed"
pty_pair lm
"$CLIENT" --rtu "$T/lm-slave,115200,N" --unit 1 serve \
    --ready-file "$T/lm.ready" 2>"$T/lm.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_for test -s "$T/lm.ready" || fail "libmodbus slave: $(cat "$T/lm.log")"
PYSLAVE= PYROUTE=
if /usr/bin/python3 -c 'import pymodbus.server, serial_asyncio' 2>/dev/null; then
	pty_pair py
	/usr/bin/python3 "$top_srcdir/test/system/modbus_gw_pyslave.py" ascii \
	    "$T/py-slave" "$T/py.ready" >"$T/py.log" 2>&1 &
	CLEANUP_PIDS="$CLEANUP_PIDS $!"
	for i in $(seq 1 100); do
		[ -s "$T/py.ready" ] && break
		sleep 0.05
	done
	[ -s "$T/py.ready" ] || fail "pymodbus slave: $(cat "$T/py.log")"
	PYSLAVE="
    - name: pyline
      device: $T/py-gw
      framing: ascii
      baud: 19200
      response_timeout_ms: 1000"
	PYROUTE="
    - units: 80
      channel: pyline
      offset: -79"
else
	echo "note: pymodbus serial server missing; its line skipped"
fi

cat >"$POLICY" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $PPORT
firewall:
  per_source:
    max_connections: 0
    new_per_second: 0
modbus:
  listeners:
    max_connections: 64
  serial_channels:
    - name: line1
      device: $T/line1
      baud: 115200
      parity: none
      stop_bits: 2
      response_timeout_ms: 300
      read_retries: 1
    - name: line2
      device: $T/line2
      framing: ascii
      baud: 19200
      data_bits: 7
      response_timeout_ms: 500
    - name: fair
      device: $T/fair
      baud: 115200
      parity: none
      stop_bits: 2
    - name: slow
      device: $T/slow
      baud: 115200
      parity: none
      stop_bits: 2
      response_timeout_ms: 100
      read_retries: 0
    - name: lmline
      device: $T/lm-gw
      baud: 115200
      parity: none
      stop_bits: 2
      response_timeout_ms: 500$PYSLAVE
  tcp_channels:
    - name: plc
      host: 127.0.0.1
      port: $PLC_PORT
      response_timeout_ms: 500
  routes:
    - units: [0-6]
      channel: line1
      broadcast: true
    - units: 7
      channel: line1
      functions: read-only
      map: { 7: 2 }
    - units: 11
      channel: line2
      offset: -10
    - units: 20-22
      channel: plc
      offset: -19
    - units: 30
      channel: slow
      offset: -29
    - units: 50
      channel: fair
      offset: -49
    - units: 51
      channel: fair
      listen_port: $PPORT
      offset: -50
    - units: 70
      channel: lmline
      offset: -69$PYROUTE
    - units: 40
      channel: line1
      listen_port: $PPORT
      map: { 40: 3 }
EOF
"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
	fail "policy refused: $(cat "$T/check.out")"
start_daemon
# The channels open asynchronously (the monitor opens each device).
for i in $(seq 1 100); do
	ctl modbus stats --json >"$T/stats.json" 2>/dev/null &&
	    [ "$(grep -o '"state": "up"' "$T/stats.json" | wc -l)" -ge $((6 + ${PYSLAVE:+1})) ] && break
	sleep 0.05
done
ctl modbus stats --json >"$T/stats.json" || fail "modbus stats: $(cat "$T/stats.json")"
grep -q '"listening"' "$T/stats.json" || fail "no listener: $(cat "$T/stats.json")"

mc() { "${IN_NS[@]}" "$CLIENT" --tcp "127.0.0.1:$PORT" --timeout 2000 "$@"; }

# libmodbus as the master.
out=$(mc --unit 1 read-hr 0 10) || fail "read-hr unit 1: $out"
[ "$out" = "0 1 2 3 4 5 6 7 8 9" ] || fail "read-hr unit 1: got '$out'"
out=$(mc --unit 11 read-hr 100 3) || fail "ASCII line: $out"
[ "$out" = "100 101 102" ] || fail "ASCII line: got '$out'"
out=$(mc --unit 21 read-ir 5 2) || fail "TCP channel: $out"
[ "$out" = "65530 65529" ] || fail "TCP channel: got '$out'"
# libmodbus as the slave.
out=$(mc --unit 70 read-hr 0 10) || fail "libmodbus slave: $out"
[ "$out" = "0 1 2 3 4 5 6 7 8 9" ] || fail "libmodbus slave: got '$out'"
out=$(mc --unit 70 write-regs 20 5 6) || fail "libmodbus slave write: $out"
out=$(mc --unit 70 read-hr 20 2); [ "$out" = "5 6" ] || fail "libmodbus read back: '$out'"
out=$(mc --unit 70 read-coils 0 4); [ "$out" = "1 0 0 1" ] || fail "libmodbus coils: '$out'"
out=$(mc --unit 70 read-hr 9999 5); [ "$out" = "exception 0x02" ] ||
	fail "libmodbus slave exception: '$out'"
if [ -n "$PYSLAVE" ]; then
	out=$(mc --unit 80 read-hr 100 3) || fail "pymodbus ASCII slave: $out"
	[ "$out" = "100 101 102" ] || fail "pymodbus ASCII slave: got '$out'"
	out=$(mc --unit 80 write-reg 7 77) || fail "pymodbus slave write: $out"
	out=$(mc --unit 80 read-hr 7 1); [ "$out" = "77" ] || fail "pymodbus read back: '$out'"
	out=$(mc --unit 80 read-hr 1000 1); [ "$out" = "exception 0x02" ] ||
		fail "pymodbus slave exception: '$out'"
fi
out=$(mc --unit 99 read-hr 0 1); [ "$out" = "exception 0x0A" ] ||
	fail "unrouted unit: '$out'"
out=$(mc --unit 6 read-hr 0 1); [ "$out" = "exception 0x0B" ] ||
	fail "silent unit: '$out'"
out=$(mc --unit 7 write-reg 1 5); [ "$out" = "exception 0x01" ] ||
	fail "write on a read-only route: '$out'"
out=$(mc --unit 7 read-hr 2 1); [ "$out" = "2" ] || fail "mapped unit: '$out'"
out=$(mc --unit 40 read-hr 0 1); [ "$out" = "exception 0x0A" ] ||
	fail "priority-only route reached from the normal port: '$out'"
out=$("${IN_NS[@]}" "$CLIENT" --tcp "127.0.0.1:$PPORT" --unit 40 read-hr 4 1)
[ "$out" = "4" ] || fail "priority port route: '$out'"

# Capture on demand: one read is four frames (master in, line out, line
# in, master out); as text, and as pcapng that tshark decodes.
capture() { # OUT ARGS...
	local out=$1 i
	shift
	"$SLUICECTL" --state-dir "$STATE" modbus capture --count 4 "$@" \
	    >"$out" 2>"$T/capture.err" &
	CAP=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $CAP"
	wait_for grep -q "traffic capture started" "$T/daemon.log" ||
		fail "capture did not start: $(cat "$T/capture.err")"
	sleep 0.2     # its first poll marks "now"; the next ones fetch
	mc --unit 2 read-hr 7 2 >/dev/null || fail "read during capture"
	for i in $(seq 1 50); do
		alive "$CAP" || break
		sleep 0.1
	done
	alive "$CAP" && fail "capture did not end after 4 frames"
	wait "$CAP" || fail "capture: $(cat "$T/capture.err")"
}
capture "$T/cap.txt"
[ "$(wc -l <"$T/cap.txt")" = 4 ] || fail "capture: $(cat "$T/cap.txt")"
assert_contains "$(sed -n 1p "$T/cap.txt")" "in  master" "master request first"
assert_contains "$(sed -n 2p "$T/cap.txt")" "out line1        rtu   unit 2 fc 3" "then the line"
assert_contains "$(sed -n 2p "$T/cap.txt")" "020300070002" "RTU bytes"
assert_contains "$(sed -n 4p "$T/cap.txt")" "out master" "answer last"
if command -v tshark >/dev/null; then
	capture /dev/null --pcap "$T/cap.pcapng"
	tshark -r "$T/cap.pcapng" -d "tcp.port==$PORT,mbtcp" \
	    -o 'uat:user_dlts:"User 0 (DLT=147)","mbrtu","0","","0",""' \
	    -T fields -e frame.interface_id -e mbtcp.trans_id -e mbrtu.unit_id \
	    -e modbus.func_code -e modbus.regval_uint16 >"$T/tshark.out" \
	    2>"$T/tshark.err" || fail "tshark: $(cat "$T/tshark.err")"
	[ "$(grep -c . "$T/tshark.out")" = 4 ] || fail "tshark: $(cat "$T/tshark.out")"
	# interface, MBAP transaction id, RTU unit, function, values
	assert_contains "$(sed -n 1p "$T/tshark.out")" "0	1		3" "tshark decodes Modbus/TCP"
	assert_contains "$(sed -n 2p "$T/tshark.out")" "1		2	3" "tshark decodes RTU"
	assert_contains "$(sed -n 3p "$T/tshark.out")" "7,8" "tshark decodes the values"
	assert_contains "$(sed -n 4p "$T/tshark.out")" "0	1		3" "the answer on TCP"
	[ -z "$(tshark -r "$T/cap.pcapng" -d "tcp.port==$PORT,mbtcp" \
	    -o 'uat:user_dlts:"User 0 (DLT=147)","mbrtu","0","","0",""' \
	    -Y _ws.malformed 2>/dev/null)" ] || fail "tshark finds malformed frames"
else
	echo "note: tshark missing; the pcap check skipped"
fi

out=$(mc --unit 30 read-hr 0 1); [ "$out" = "exception 0x0B" ] ||
	fail "answer later than the timeout: '$out'"

# mbpoll (libmodbus too, but the tool integrators use).
if command -v mbpoll >/dev/null; then
	out=$("${IN_NS[@]}" mbpoll -m tcp -a 1 -r 1 -c 10 -1 -t 4 -p "$PORT" \
	    -o 2 127.0.0.1 2>&1) || fail "mbpoll: $out"
	assert_contains "$out" "[10]: 	9" "mbpoll reads unit 1"
fi

# pymodbus: every supported function code, independent of libmodbus.
if /usr/bin/python3 -c 'import pymodbus' 2>/dev/null; then
	"${IN_NS[@]}" /usr/bin/python3 "$top_srcdir/test/system/modbus_gw_pymodbus.py" \
	    127.0.0.1 "$PORT" >"$T/pymodbus.out" 2>&1 ||
		fail "pymodbus: $(cat "$T/pymodbus.out")"
else
	echo "note: python3-pymodbus missing; its part skipped"
fi

# Raw sockets: pipelining, malformed requests, broadcast, queue bound,
# many masters, the translation oracle over line1's trace.
"${IN_NS[@]}" python3 "$top_srcdir/test/system/modbus_gw_raw.py" \
    127.0.0.1 "$PORT" "$PPORT" "$T/line1.trace" >"$T/raw.out" 2>&1 ||
	fail "raw: $(cat "$T/raw.out")"

# Statistics and events.
ctl modbus stats --json >"$T/stats.json" || fail "stats"
python3 - "$T/stats.json" <<'PY' || fail "stats: $(cat "$T/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
ch = {c["name"]: c for c in d["channels"]}
assert ch["line1"]["stats"]["requests"] > 50, ch["line1"]["stats"]
assert ch["line1"]["stats"]["timeouts"] >= 1
assert ch["slow"]["stats"]["late"] >= 1, ch["slow"]["stats"]
assert d["total"]["malformed"] >= 3, d["total"]
u1 = [s for s in ch["line1"]["slaves"] if s["unit"] == 1][0]
assert u1["rtt_us"]["min"] > 0 and u1["latency"], u1
u6 = [s for s in ch["line1"]["slaves"] if s["unit"] == 6][0]
assert u6["dead"] is True, u6
PY
expect_exit 0 ctl modbus stats
assert_contains "$(cat "$T/out")" "channel line1" "text stats"
expect_exit 0 ctl log --group protocol --json
assert_contains "$(cat "$T/out")" "malformed-request" "malformed requests are logged"

# IPv6 masters are served like IPv4 ones.
"${IN_NS[@]}" python3 - "$PORT" <<'PY' || fail "IPv6 master"
import socket, struct, sys
s = socket.create_connection(("::1", int(sys.argv[1])), timeout=3)
s.sendall(struct.pack(">HHHBBHH", 42, 0, 6, 1, 3, 5, 1))
r = s.recv(100)
assert r == struct.pack(">HHHBBBH", 42, 0, 5, 1, 3, 2, 5), r.hex()
PY

# A change applied at run time: channels whose settings did not change
# keep their device and counters; new routes and the silent mode apply.
before=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([c for c in d["channels"] if c["name"]=="line1"][0]["stats"]["requests"])' "$T/stats.json")
sed -e 's/^    max_connections: 64$/    max_connections: 64\n    exceptions: silent/' \
    -e 's/^  routes:$/  routes:\n    - units: 60\n      channel: line1\n      map: { 60: 4 }/' \
    "$POLICY" >"$T/v2.yaml"
expect_exit 0 ctl policy apply "$T/v2.yaml"
out=$(mc --unit 60 read-hr 9 1); [ "$out" = "9" ] || fail "route added at run time: '$out'"
out=$("${IN_NS[@]}" "$CLIENT" --tcp "127.0.0.1:$PORT" --unit 99 --timeout 500 read-hr 0 1)
[ "$out" = "timeout" ] || fail "exceptions: silent: '$out'"
ctl modbus stats --json >"$T/stats2.json" || fail "stats"
python3 - "$T/stats2.json" "$before" <<'PY' || fail "line1 was reopened by the apply"
import json, sys
d = json.load(open(sys.argv[1]))
l1 = [c for c in d["channels"] if c["name"] == "line1"][0]
assert l1["stats"]["requests"] > int(sys.argv[2]), (l1["stats"], sys.argv[2])
PY
expect_exit 0 ctl policy rollback
out=$(mc --unit 99 read-hr 0 1); [ "$out" = "exception 0x0A" ] ||
	fail "exceptions again after the rollback: '$out'"
expect_exit 0 ctl log --group network --json
assert_not_contains "$(cat "$T/out")" "channel-down" "no channel went down on apply"

# Unplug the USB adapter: the line goes, requests fail fast, it comes back.
kill "$SIM_line1"; wait "$SIM_line1" 2>/dev/null
out=$(mc --unit 1 read-hr 0 1); [ "$out" = "exception 0x0B" ] ||
	fail "unplugged line: '$out'"
start_sim line1 --rtu --pty "$T/line1" --baud 115200 --unit 1-5
ok=
for i in $(seq 1 150); do
	out=$(mc --unit 1 read-hr 3 1 2>/dev/null)
	[ "$out" = "3" ] && { ok=1; break; }
	sleep 0.1
done
[ -n "$ok" ] || fail "line not back after replug: '$out'"
expect_exit 0 ctl log --group network --json
assert_contains "$(cat "$T/out")" "channel-down" "unplug logged"
assert_contains "$(cat "$T/out")" "channel-up" "replug logged"

stop_daemon || fail "stop"
echo "ok"
