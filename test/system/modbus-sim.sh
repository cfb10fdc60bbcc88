#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# sluice-modbus-sim against independent Modbus masters: pymodbus over TCP
# and over RTU and ASCII on the simulator's pty, and mbpoll (libmodbus)
# over TCP and RTU when it is installed.  Asserts the documented tables
# (holding register i = i, input register i = i ^ 0xFFFF, coil i =
# i % 3 == 0, discrete input i = i % 2), writes read back, exception 02
# past the table, silence for another unit and for a bad CRC, broadcast
# writes executed but not answered, --unit lists, --fail-every, --delay,
# --line-rate's lower bound, the exact bytes --trace logged (the RTU CRC
# is computed here, not by our codec), and a clean exit on SIGTERM that
# removes the pty link and prints --stats.
# Skips (77) without Debian's python3-pymodbus / python3-serial.
set -u
: "${top_builddir:=.}"
SIM=$top_builddir/contrib/sluice-modbus-sim
PY=/usr/bin/python3        # Debian's Python packages are only visible here

if [ ! -x "$SIM" ]; then
	echo "SKIP: $SIM not built"; exit 77
fi
if ! "$PY" -c 'import pymodbus' 2>/dev/null; then
	echo "SKIP: python3-pymodbus not installed (Debian package, seen by $PY only)"
	exit 77
fi
if ! "$PY" -c 'import serial' 2>/dev/null; then
	echo "SKIP: python3-serial not installed (pymodbus' serial client needs it)"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-sim.XXXXXX")
SIM_PID=
# shellcheck disable=SC2317  # run by the trap
cleanup() {
	local st=$?
	if [ -n "$SIM_PID" ]; then
		kill -9 "$SIM_PID" 2>/dev/null
		wait "$SIM_PID" 2>/dev/null
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$T/sim.err" ]; then
		echo "--- simulator stderr" >&2
		cat "$T/sim.err" >&2
	fi
	exit 1
}

# start_sim ARGS... - start the simulator with a ready file, a trace and
# --stats; wait for the ready file (5 s at most).
start_sim() {
	local i
	rm -f "$T/ready" "$T/trace" "$T/sim.err"
	"$SIM" "$@" --ready-file "$T/ready" --trace "$T/trace" --stats \
	    >"$T/sim.out" 2>"$T/sim.err" &
	SIM_PID=$!
	for i in $(seq 50); do
		[ -s "$T/ready" ] && return 0
		kill -0 "$SIM_PID" 2>/dev/null || fail "simulator exited: $*"
		sleep 0.1
	done
	fail "no ready file after 5 s: $*"
}

# stop_sim - SIGTERM: it must exit 0 within 5 s and print its counters.
stop_sim() {
	local i rc
	kill -TERM "$SIM_PID"
	for i in $(seq 50); do
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SIM_PID" 2>/dev/null && fail "simulator ignored SIGTERM"
	wait "$SIM_PID"
	rc=$?
	SIM_PID=
	[ "$rc" = 0 ] || fail "simulator exited $rc on SIGTERM"
	grep -Eq '^requests=[0-9]+ responses=[0-9]+ exceptions=[0-9]+ bad_frames=[0-9]+ ignored=[0-9]+$' \
	    "$T/sim.err" || fail "no --stats line on exit"
}

# The pymodbus side.  pymodbus 3.0 quirks: the constructor truncates
# timeout to whole seconds (so it is set in params afterwards), and
# message classes take unit= where the client helpers take slave=.
cat >"$T/check.py" <<'PYEOF'
import sys, time
from pymodbus.client import ModbusTcpClient, ModbusSerialClient
from pymodbus.framer.ascii_framer import ModbusAsciiFramer
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.mei_message import ReadDeviceInformationRequest
from pymodbus.other_message import ReportSlaveIdRequest

mode, target, trace_file = sys.argv[1:4]
failures = 0

def check(ok, msg):
    global failures
    if not ok:
        failures += 1
        print("FAIL: %s %s" % (mode, msg))

def crc16(data):
    # CRC-16/MODBUS, written out here (serial line spec 6.2.2).
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])

def rtu(h):
    b = bytes.fromhex(h)
    return b + crc16(b)

def ascii_frame(h):
    b = bytes.fromhex(h)
    lrc = (-sum(b)) & 0xFF
    return b":" + (b.hex() + "%02x" % lrc).upper().encode() + b"\r\n"

if mode == "tcp":
    c = ModbusTcpClient("127.0.0.1", port=int(target), retries=0)
else:
    framer = ModbusAsciiFramer if mode == "ascii" else ModbusRtuFramer
    c = ModbusSerialClient(port=target, framer=framer, baudrate=9600,
                           retries=0)

def timeout(t):
    c.params.timeout = t
    if mode != "tcp" and c.socket is not None:
        c.socket.timeout = t

timeout(2)
check(c.connect(), "connect to %s" % target)

def values(r, attr="registers"):
    return getattr(r, attr, r)

r = c.read_holding_registers(0, 10, slave=1)
check(values(r) == list(range(10)), "FC3 0..9: %r" % values(r))
r = c.read_input_registers(0, 4, slave=1)
check(values(r) == [0xFFFF, 0xFFFE, 0xFFFD, 0xFFFC], "FC4: %r" % values(r))
r = c.read_coils(0, 6, slave=1)
check(values(r, "bits")[:6] == [i % 3 == 0 for i in range(6)],
      "FC1: %r" % values(r, "bits"))
r = c.read_discrete_inputs(0, 6, slave=1)
check(values(r, "bits")[:6] == [i % 2 == 1 for i in range(6)],
      "FC2: %r" % values(r, "bits"))
check(not c.write_register(7, 0x1234, slave=1).isError(), "FC6")
r = c.read_holding_registers(7, 1, slave=1)
check(values(r) == [0x1234], "FC6 read back: %r" % values(r))
check(not c.write_registers(100, [1, 2, 3], slave=1).isError(), "FC16")
r = c.read_holding_registers(99, 5, slave=1)
check(values(r) == [99, 1, 2, 3, 103], "FC16 read back: %r" % values(r))
r = c.read_holding_registers(9995, 10, slave=1)
check(r.isError() and getattr(r, "exception_code", None) == 2,
      "out of range: want exception 02, got %r" % r)
r = c.execute(ReadDeviceInformationRequest(1, 0, unit=1))
check(getattr(r, "information", None) ==
      {0: b"sluice", 1: b"modbus-sim", 2: b"1.0"}, "FC43/14: %r" % r)
r = c.execute(ReportSlaveIdRequest(unit=1))
check(getattr(r, "identifier", b"") == b"sluice-sim\xff", "FC17: %r" % r)

# Silence: another unit, and a broadcast (executed, never answered).
timeout(0.3)
t = time.monotonic()
r = c.read_holding_registers(0, 10, slave=2)
check(r.isError() and not hasattr(r, "exception_code") and
      time.monotonic() - t >= 0.25, "unit 2 answered: %r" % r)
r = c.write_register(8, 777, slave=0)
check(r.isError() and not hasattr(r, "exception_code"),
      "broadcast answered: %r" % r)
timeout(2)
r = c.read_holding_registers(8, 1, slave=1)
check(values(r) == [777], "broadcast write not executed: %r" % values(r))

if mode == "rtu":
    # A bad CRC gets no answer and is logged as rx-bad.
    timeout(0.3)
    c.socket.write(bytes.fromhex("01030000000ac5ce"))
    check(c.socket.read(64) == b"", "answer to a bad CRC")
    timeout(2)
    # --line-rate is off here; the test of it is below.
c.close()

# --trace must hold the exact request bytes, and the answers.
lines = [l.split() for l in open(trace_file)]
check(all(len(l) == 3 and l[0].isdigit() and
          l[1] in ("rx", "tx", "rx-bad") for l in lines),
      "trace format: %r" % lines[:3])
def follows(req_hex):
    """Direction of the line after the rx line of req_hex, or None."""
    for i, l in enumerate(lines):
        if l[1] == "rx" and (l[2] == req_hex or (mode == "tcp" and
                                                 l[2][4:] == req_hex)):
            return lines[i + 1][1] if i + 1 < len(lines) else "end"
    return None
if mode == "rtu":
    req = rtu("01030000000a")
    check(req.hex() == "01030000000ac5cd", "CRC self-test: %s" % req.hex())
    rsp = rtu("010314" + "".join("%04x" % i for i in range(10)))
    other = rtu("02030000000a")
    bad = "01030000000ac5ce"
    check([l[1] for l in lines if l[2] == bad] == ["rx-bad"],
          "bad CRC not logged as rx-bad")
elif mode == "ascii":
    req = ascii_frame("01030000000a")
    rsp = ascii_frame("010314" + "".join("%04x" % i for i in range(10)))
    other = ascii_frame("02030000000a")
else:
    # MBAP after the transaction id: protocol 0, length 6, unit, PDU.
    req = bytes.fromhex("0000000601030000000a")
    rsp = bytes.fromhex("0000001701031400000001000200030004000500060007"
                        "00080009")
    other = bytes.fromhex("0000000602030000000a")
check(follows(req.hex()) == "tx", "request %s not traced" % req.hex())
check(any(l[1] == "tx" and (l[2] == rsp.hex() or
          (mode == "tcp" and l[2][4:] == rsp.hex())) for l in lines),
      "response %s not traced" % rsp.hex())
check(follows(other.hex()) not in (None, "tx"),
      "unit 2 request %s not traced, or answered" % other.hex())
print("%s: %d trace lines, %d failures" % (mode, len(lines), failures))
sys.exit(1 if failures else 0)
PYEOF

# What mbpoll prints for registers 0..9 after check.py's writes (register
# 7 = 0x1234, 8 = 777 by broadcast); -r is 1-based, so [1] is register 0.
mbpoll_want() {
	local i v
	for i in $(seq 0 9); do
		v=$i
		[ "$i" = 7 ] && v=4660
		[ "$i" = 8 ] && v=777
		printf '[%d]: \t%d\n' $((i + 1)) "$v"
	done
}

run_check() {
	timeout 60 "$PY" "$T/check.py" "$@" || fail "pymodbus checks ($1)"
}

# --- TCP --------------------------------------------------------------
start_sim --tcp 0
port=$(cat "$T/ready")
case $port in
''|*[!0-9]*) fail "ready file holds '$port', not a port" ;;
esac
run_check tcp "$port" "$T/trace"

if command -v mbpoll >/dev/null 2>&1; then
	mb="timeout 10 mbpoll -m tcp -a 1 -1 -o 0.3 -p $port"
	out=$($mb -r 1 -c 10 127.0.0.1) || fail "mbpoll tcp read"
	[ "$(printf '%s\n' "$out" | grep '^\[')" = "$(mbpoll_want)" ] ||
		fail "mbpoll tcp read (after check.py's writes): $out"
	$mb -r 21 127.0.0.1 4242 >/dev/null || fail "mbpoll tcp write"
	out=$($mb -r 21 -c 1 127.0.0.1) || fail "mbpoll tcp read back"
	printf '%s\n' "$out" | grep -q '^\[21\]: 	4242$' ||
		fail "mbpoll tcp read back: $out"
	out=$($mb -r 9999 -c 10 127.0.0.1 2>&1) && fail "mbpoll: no exception"
	printf '%s\n' "$out" | grep -q 'Illegal data address' ||
		fail "mbpoll tcp out of range: $out"
	out=$(timeout 10 mbpoll -m tcp -a 2 -1 -o 0.3 -p "$port" -r 1 \
	    127.0.0.1 2>&1) && fail "mbpoll: unit 2 answered"
	printf '%s\n' "$out" | grep -q 'timed out' ||
		fail "mbpoll tcp unit 2: $out"
else
	echo "mbpoll not installed: its part skipped"
fi
stop_sim

# --unit lists, --fail-every and --delay, over raw Modbus/TCP.
start_sim --tcp 0 --unit 1,5-7 --fail-every 3 --delay 50
port=$(cat "$T/ready")
timeout 30 "$PY" - "$port" <<'PYEOF' || fail "unit list / fail-every / delay"
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def ask(tid, unit):
    s.sendall(struct.pack(">HHHBBHH", tid, 0, 6, unit, 3, 10, 1))
    s.settimeout(0.4)
    t = time.monotonic()
    try:
        d = s.recv(64)
    except socket.timeout:
        return None, time.monotonic() - t
    return d, time.monotonic() - t
got = [ask(tid, unit) for tid, unit in
       ((1, 6), (2, 2), (3, 7), (4, 1), (5, 5), (6, 1), (7, 8))]
want = [True, False, True, False, True, True, False]
ok = [d is not None for d, _ in got] == want
ok = ok and all(d[:2] == struct.pack(">H", i + 1) and d[-2:] == b"\x00\x0a"
                and dt >= 0.045 for i, (d, dt) in enumerate(got) if d)
if not ok:
    print("FAIL: answered %r" % got)
sys.exit(0 if ok else 1)
PYEOF
stop_sim
grep -q '^requests=7 responses=4 exceptions=0 bad_frames=0 ignored=3$' \
    "$T/sim.err" || fail "counters after unit/fail-every run"

# --- RTU on the pty ------------------------------------------------------
link=$T/link
ln -s /dev/null "$link"         # an old link is replaced, atomically
start_sim --rtu --pty "$link"
pts=$(cat "$T/ready")
if [ "$(readlink "$link")" != "$pts" ] || [ ! -c "$pts" ]; then
	fail "link $link -> $(readlink "$link"), ready file says $pts"
fi
run_check rtu "$link" "$T/trace"
if command -v mbpoll >/dev/null 2>&1; then
	mb="timeout 10 mbpoll -m rtu -b 9600 -P none -a 1 -1 -o 0.5"
	out=$($mb -r 1 -c 10 "$link") || fail "mbpoll rtu read"
	[ "$(printf '%s\n' "$out" | grep '^\[')" = "$(mbpoll_want)" ] ||
		fail "mbpoll rtu read (after pymodbus' writes): $out"
	$mb -r 31 "$link" 31337 >/dev/null || fail "mbpoll rtu write"
	out=$($mb -r 31 -c 1 "$link") || fail "mbpoll rtu read back"
	printf '%s\n' "$out" | grep -q '^\[31\]: 	31337$' ||
		fail "mbpoll rtu read back: $out"
	# mbpoll's FC6 (register 30 = 31337 = 0x7A69) as it must be on the
	# line, with the CRC computed here.
	want=$("$PY" -c '
b = bytes.fromhex("0106001e7a69"); c = 0xFFFF
for x in b:
    c ^= x
    for _ in range(8):
        c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
print((b + bytes([c & 0xFF, c >> 8])).hex())')
	grep -q " rx $want\$" "$T/trace" || fail "mbpoll's FC6 $want not traced"
fi
stop_sim
if [ -e "$link" ] || [ -L "$link" ]; then
	fail "link $link left behind"
fi

# --- ASCII on the pty ------------------------------------------------------
start_sim --ascii --pty "$link"
run_check ascii "$link" "$T/trace"
stop_sim

# --- --line-rate: 10 FC3 x10 transactions at 9600 8N1 take at least
# 10 * (8 + 3.5 + 25) characters of 10 bits; an upper bound would only
# measure the machine.
start_sim --rtu --pty "$link" --baud 9600 --line-rate
timeout 30 "$PY" - "$link" <<'PYEOF' || fail "--line-rate"
import sys, time
from pymodbus.client import ModbusSerialClient
c = ModbusSerialClient(port=sys.argv[1], baudrate=9600, retries=0)
c.params.timeout = 2
c.connect()
t = time.monotonic()
for i in range(10):
    r = c.read_holding_registers(0, 10, slave=1)
    assert getattr(r, "registers", None) == list(range(10)), r
dt = time.monotonic() - t
floor = 10 * 36.5 * 10 / 9600
print("line-rate: 10 transactions in %.3f s, floor %.3f s" % (dt, floor))
sys.exit(0 if dt >= floor else 1)
PYEOF
stop_sim
echo "PASS: sluice-modbus-sim against pymodbus$(command -v mbpoll >/dev/null && echo ' and mbpoll')"
exit 0
