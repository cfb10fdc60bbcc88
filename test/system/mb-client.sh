#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mb-client, the Modbus master the gateway tests and benchmarks drive,
# and its serve mode, the libmodbus slave they put behind the gateway.
# First serve, with mb-client as the master: the simulator's tables,
# writes read back, exceptions, unit ids, one TCP client after another,
# a clean exit on SIGTERM; over TCP and over RTU on a socat pty pair.
# Then the master against pymodbus (Debian python3-pymodbus 3.0), which
# shares no code with libmodbus or with our ASCII framing: every command
# over TCP, exceptions, raw PDUs, a silent peer (timeout), the benchmarks
# and hold-idle; then RTU and ASCII over a socat pty pair.  Parts whose
# peer (socat, pymodbus) is missing are skipped with a note.
set -eu
: "${top_builddir:=.}"
MB=$top_builddir/test/helpers/mb-client
py=/usr/bin/python3
if [ ! -x "$MB" ]; then
	echo "SKIP: $MB not built"; exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-mbclient.XXXXXX")
PIDS=
cleanup() {
	st=$?
	for p in $PIDS; do
		kill "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	if [ "$st" != 0 ] && [ "$st" != 77 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 20 lines)" >&2
			tail -n 20 "$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# forget PID: a process already waited for is no longer the trap's.
forget() {
	left=
	for p in $PIDS; do
		[ "$p" = "$1" ] || left="$left $p"
	done
	PIDS=$left
}

# wait_file FILE [TEST]: up to 10 s for a peer to announce itself in
# FILE (test -s, or -e for a pty link).
wait_file() {
	i=0
	while ! test "${2:--s}" "$1"; do
		i=$((i + 1))
		[ "$i" -le 200 ] || fail "no $1 after 10 s"
		sleep 0.05
	done
}

# check NAME RC WANT CMD...: run CMD (30 s at most), compare exit status
# and stdout (WANT is a shell pattern).
check() {
	name=$1 want_rc=$2 want=$3
	shift 3
	rc=0
	out=$(timeout 30 "$@" 2>"$T/stderr") || rc=$?
	[ "$rc" = "$want_rc" ] ||
	    fail "$name: exit $rc, want $want_rc (stdout '$out', stderr '$(cat "$T/stderr")')"
	# shellcheck disable=SC2254 # WANT is a pattern
	case $out in
	$want) ;;
	*) fail "$name: printed '$out', want '$want'" ;;
	esac
	echo "ok: $name: $out"
}

# stop_serve PID NAME: SIGTERM ends serve with status 0.  It looks at
# the signal every 0.5 s; 2 s leaves room for a loaded machine.
stop_serve() {
	t0=$(date +%s%N)
	kill -TERM "$1"
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 40 ] || fail "$2: still running 2 s after SIGTERM"
		sleep 0.05
	done
	rc=0
	wait "$1" || rc=$?
	forget "$1"
	[ "$rc" = 0 ] || fail "$2: exit $rc after SIGTERM"
	echo "ok: $2: exit 0, $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM"
}

# ---- serve: libmodbus as the slave, mb-client as the master ----

check serve-usage-ascii 64 "" "$MB" --ascii /dev/null serve
check serve-usage-unit 64 "" "$MB" --rtu /dev/null --unit 0 serve
check serve-usage-args 64 "" "$MB" --tcp 127.0.0.1:0 serve --ready

# TCP on port 0: the port comes in the ready file.
"$MB" --tcp 127.0.0.1:0 --unit 3 serve --ready-file "$T/serve-tcp.ready" \
    >"$T/serve-tcp.log" 2>&1 &
serve_tcp=$!
PIDS="$PIDS $serve_tcp"
wait_file "$T/serve-tcp.ready"
read -r SPORT <"$T/serve-tcp.ready"
case $SPORT in
''|*[!0-9]*|0) fail "serve-tcp: ready file says '$SPORT', want a port" ;;
esac
stcp="--tcp 127.0.0.1:$SPORT --unit 3"
# shellcheck disable=SC2086 # $stcp is several words on purpose
{
check serve-tcp-read-hr 0 "0 1 2 3 4 5 6 7 8 9" "$MB" $stcp read-hr 0 10
check serve-tcp-read-ir 0 "65535 65534 65533" "$MB" $stcp read-ir 0 3
check serve-tcp-read-coils 0 "1 0 0 1 0 0 1 0 0 1" "$MB" $stcp read-coils 0 10
check serve-tcp-read-di 0 "0 1 0 1 0" "$MB" $stcp read-di 0 5
check serve-tcp-write-reg 0 ok "$MB" $stcp write-reg 5 4242
check serve-tcp-read-back 0 "4 4242 6" "$MB" $stcp read-hr 4 3
check serve-tcp-write-coils 0 ok "$MB" $stcp write-coils 1 1 1 0
check serve-tcp-coils-back 0 "1 1 1 0 0" "$MB" $stcp read-coils 0 5
check serve-tcp-rw 0 "4242 60 70" "$MB" $stcp rw 5 3 6 60 70
check serve-tcp-last 0 "9999" "$MB" $stcp read-hr 9999 1
check serve-tcp-exception 2 "exception 0x02" "$MB" $stcp read-hr 9999 5
check serve-tcp-illegal-fc 2 "exception 0x01" "$MB" $stcp raw 41
# libmodbus does not look at the unit id over TCP.
check serve-tcp-any-unit 0 "0 1" "$MB" --tcp "127.0.0.1:$SPORT" --unit 200 \
    read-hr 0 2
}

# One client at a time: the next waits in the backlog until the first
# leaves, then is served on a new accept.
"$MB" --tcp "127.0.0.1:$SPORT" hold-idle 1 1 >"$T/serve-hold.out" 2>&1 &
hold=$!
PIDS="$PIDS $hold"
wait_file "$T/serve-hold.out"
grep -q "connected=1 failed=0" "$T/serve-hold.out" ||
    fail "serve-tcp-hold: $(cat "$T/serve-hold.out")"
check serve-tcp-queued 0 "0 1 2" "$MB" --tcp "127.0.0.1:$SPORT" \
    --timeout 10000 read-hr 0 3
rc=0
wait "$hold" || rc=$?
forget "$hold"
[ "$rc" = 0 ] || fail "serve-tcp-hold: exit $rc"
# SIGTERM with a client connected and idle.
"$MB" --tcp "127.0.0.1:$SPORT" hold-idle 1 30 >"$T/serve-hold2.out" 2>&1 &
hold=$!
PIDS="$PIDS $hold"
wait_file "$T/serve-hold2.out"
stop_serve "$serve_tcp" serve-tcp
kill "$hold" 2>/dev/null || :
wait "$hold" 2>/dev/null || :
forget "$hold"

# RTU on one end of a pty pair, the master on the other.
if command -v socat >/dev/null 2>&1; then
	socat "pty,raw,echo=0,link=$T/serve-slave" \
	    "pty,raw,echo=0,link=$T/serve-master" 2>"$T/socat-serve.log" &
	PIDS="$PIDS $!"
	wait_file "$T/serve-slave" -e
	wait_file "$T/serve-master" -e
	"$MB" --rtu "$T/serve-slave,115200" --unit 17 serve \
	    --ready-file "$T/serve-rtu.ready" >"$T/serve-rtu.log" 2>&1 &
	serve_rtu=$!
	PIDS="$PIDS $serve_rtu"
	wait_file "$T/serve-rtu.ready"
	[ "$(cat "$T/serve-rtu.ready")" = ready ] ||
	    fail "serve-rtu: ready file says '$(cat "$T/serve-rtu.ready")'"
	srtu="--rtu $T/serve-master,115200 --unit 17"
	# shellcheck disable=SC2086
	{
	check serve-rtu-read-hr 0 "0 1 2 3 4 5 6 7 8 9" "$MB" $srtu read-hr 0 10
	check serve-rtu-write-reg 0 ok "$MB" $srtu write-reg 9 999
	check serve-rtu-read-back 0 "8 999 10" "$MB" $srtu read-hr 8 3
	check serve-rtu-read-coils 0 "1 0 0 1 0 0 1" "$MB" $srtu read-coils 0 7
	check serve-rtu-read-ir 0 "65535 65534" "$MB" $srtu read-ir 0 2
	check serve-rtu-exception 2 "exception 0x02" "$MB" $srtu read-hr 9999 5
	check serve-rtu-illegal-fc 2 "exception 0x01" "$MB" $srtu raw 41
	# Another unit: silence, and the request right after it is not
	# taken for that unit's answer.
	check serve-rtu-other-unit 3 timeout "$MB" $srtu --unit 18 \
	    --timeout 300 read-hr 0 1
	check serve-rtu-after-other 0 "0 1" "$MB" $srtu read-hr 0 2
	}
	# Broadcast: executed, never answered.  libmodbus 3.1.6 waits for
	# an answer (timeout); a master that knows better returns at once.
	rc=0
	out=$(timeout 30 "$MB" --rtu "$T/serve-master,115200" --unit 0 \
	    --timeout 300 write-reg 20 2020 2>"$T/stderr") || rc=$?
	case $rc:$out in
	0:ok|3:timeout) echo "ok: serve-rtu-broadcast: $out" ;;
	*) fail "serve-rtu-broadcast: exit $rc, printed '$out'" ;;
	esac
	# shellcheck disable=SC2086
	check serve-rtu-broadcast-done 0 2020 "$MB" $srtu read-hr 20 1
	stop_serve "$serve_rtu" serve-rtu
else
	echo "SKIP part: socat not installed, no serve --rtu checks"
fi

# ---- the master against pymodbus ----

if ! "$py" -c 'import pymodbus.server' 2>/dev/null; then
	echo "SKIP part: python3-pymodbus (with python3-typer) not installed," \
	    "no checks against pymodbus"
	exit 0
fi

# The peers: pymodbus over TCP (port 0, the port in the ready file), a
# listener that accepts and never answers, a port nobody listens on, and
# pymodbus serial servers.  Unit ids are not checked (single context).
cat >"$T/peer.py" <<'PYEOF'
import asyncio, os, socket, sys
from pymodbus.server import StartAsyncTcpServer, StartAsyncSerialServer
from pymodbus.framer.ascii_framer import ModbusAsciiFramer
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusSlaveContext,
                                ModbusServerContext)

def context():
    store = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [1, 0, 1] * 100),
        co=ModbusSequentialDataBlock(0, [0] * 300),
        hr=ModbusSequentialDataBlock(0, list(range(300))),
        ir=ModbusSequentialDataBlock(0, [7] * 300), zero_mode=True)
    return ModbusServerContext(slaves=store, single=True)

def announce(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".tmp", path)

async def tcp(ready):
    server = await StartAsyncTcpServer(context=context(),
                                       address=("127.0.0.1", 0),
                                       defer_start=True, backlog=128)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    announce(ready, "%d %d %d" % (server.server.sockets[0].getsockname()[1],
                                  silent.getsockname()[1],
                                  closed.getsockname()[1]))
    await task

async def serial(framer, dev, ready):
    server = await StartAsyncSerialServer(
        context=context(), framer=framer, port=dev, baudrate=115200,
        defer_start=True)
    await server.start()
    announce(ready, "ok")
    await asyncio.sleep(3600)

if sys.argv[1] == "tcp":
    asyncio.run(tcp(sys.argv[2]))
else:
    framer = ModbusAsciiFramer if sys.argv[1] == "ascii" else ModbusRtuFramer
    asyncio.run(serial(framer, sys.argv[2], sys.argv[3]))
PYEOF

"$py" "$T/peer.py" tcp "$T/tcp.ready" >"$T/pymodbus-tcp.log" 2>&1 &
PIDS="$PIDS $!"
wait_file "$T/tcp.ready"
read -r PORT SILENT CLOSED <"$T/tcp.ready"
tcp="--tcp 127.0.0.1:$PORT"

# shellcheck disable=SC2086 # $tcp is two words on purpose
{
check read-hr 0 "0 1 2 3 4" "$MB" $tcp read-hr 0 5
check write-reg 0 ok "$MB" $tcp write-reg 3 4242
check read-back 0 "0 1 2 4242 4" "$MB" $tcp --unit 7 read-hr 0 5
check write-regs 0 ok "$MB" $tcp write-regs 10 0x10 17 65535
check read-ir 0 "7 7 7" "$MB" $tcp read-ir 0 3
check rw 0 "16 17 99 100" "$MB" $tcp rw 10 4 12 99 100
check write-coils 0 ok "$MB" $tcp write-coils 0 1 1 0 1
check write-coil 0 ok "$MB" $tcp write-coil 9 1
check read-coils 0 "1 1 0 1 0 0 0 0 0 1" "$MB" $tcp read-coils 0 10
check read-di 0 "1 0 1 1 0" "$MB" $tcp read-di 0 5
# pymodbus' store ends at 300: the address is illegal.
check exception 2 "exception 0x02" "$MB" $tcp read-hr 1000 5
check write-exception 2 "exception 0x02" "$MB" $tcp write-reg 5000 1
# Report server id: count, "Pymodbus", run indicator 0xFF.
check raw-17 0 "110950796d6f64627573ff" "$MB" $tcp raw 11
check raw-3 0 "030400000001" "$MB" $tcp raw 0300000002
check raw-exception 2 "exception 0x03" "$MB" $tcp raw 0300000000
# A code libmodbus cannot frame: the MBAP length finishes it.
check raw-mei 0 "2b0e01*" "$MB" $tcp raw 2b0e0100
check raw-illegal-fc 2 "exception 0x01" "$MB" $tcp raw 41
# Accepts, never answers: timeout (exit 3) within the bound.
t0=$(date +%s)
check timeout 3 timeout "$MB" --tcp "127.0.0.1:$SILENT" --timeout 300 read-hr 0 1
[ $(($(date +%s) - t0)) -le 5 ] || fail "timeout took more than 5 s"
check refused 1 "" "$MB" --tcp "127.0.0.1:$CLOSED" read-hr 0 1
check usage 64 "" "$MB" $tcp
check usage-command 64 "" "$MB" $tcp frobnicate
check usage-count 64 "" "$MB" $tcp read-hr 0 126
check usage-serial-masters 64 "" "$MB" --rtu /dev/null bench-throughput 2 1

check bench-latency 0 "n=200 p50_us=* errors=0" "$MB" $tcp bench-latency 200
check bench-throughput 0 "masters=4 seconds=1 transactions=* errors=0 *" \
    "$MB" $tcp bench-throughput 4 1
case $out in
*" transactions=0 "*) fail "bench-throughput: no transactions" ;;
esac
check hold-idle 0 "connected=50 failed=0*held=50 closed_by_peer=0" \
    "$MB" $tcp hold-idle 50 1
}

# SIGTERM ends hold-idle early, and it still exits 0.
"$MB" --tcp "127.0.0.1:$PORT" hold-idle 5 60 >"$T/hold.out" 2>&1 &
hold=$!
PIDS="$PIDS $hold"
wait_file "$T/hold.out"
grep -q "connected=5 failed=0" "$T/hold.out" || fail "hold-idle: $(cat "$T/hold.out")"
kill -TERM "$hold"
i=0
while kill -0 "$hold" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "hold-idle ignored SIGTERM for 5 s"
	sleep 0.05
done
rc=0
wait "$hold" || rc=$?
[ "$rc" = 0 ] || fail "hold-idle after SIGTERM: exit $rc"
echo "ok: hold-idle SIGTERM: $(tr '\n' ' ' <"$T/hold.out")"

# RTU (libmodbus) and ASCII (our framing) on a pty pair.
if ! command -v socat >/dev/null 2>&1; then
	echo "SKIP part: socat not installed, no serial checks"
	exit 0
fi
if ! "$py" -c 'import serial_asyncio' 2>/dev/null; then
	echo "SKIP part: python3-serial-asyncio not installed, no serial checks"
	exit 0
fi
for mode in rtu ascii; do
	socat "pty,raw,echo=0,link=$T/$mode-slave" \
	    "pty,raw,echo=0,link=$T/$mode-master" 2>"$T/socat-$mode.log" &
	PIDS="$PIDS $!"
	wait_file "$T/$mode-slave" -e
	wait_file "$T/$mode-master" -e
	# Nobody on the line yet: silence.
	check "$mode-timeout" 3 timeout "$MB" "--$mode" "$T/$mode-master,115200" \
	    --timeout 200 read-hr 0 1
	"$py" "$T/peer.py" "$mode" "$T/$mode-slave" "$T/$mode.ready" \
	    >"$T/pymodbus-$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_file "$T/$mode.ready"
	line="--$mode $T/$mode-master,115200"
	# shellcheck disable=SC2086
	{
	check "$mode-read-hr" 0 "0 1 2 3 4" "$MB" $line read-hr 0 5
	check "$mode-write-regs" 0 ok "$MB" $line write-regs 20 5 6
	check "$mode-rw" 0 "5 6 9" "$MB" $line rw 20 3 22 9
	check "$mode-write-coils" 0 ok "$MB" $line write-coils 0 1 0 1
	check "$mode-read-coils" 0 "1 0 1 0" "$MB" $line read-coils 0 4
	check "$mode-exception" 2 "exception 0x02" "$MB" $line read-hr 1000 1
	check "$mode-raw-17" 0 "110950796d6f64627573ff" "$MB" $line raw 11
	check "$mode-bench-latency" 0 "n=100 p50_us=* errors=0" \
	    "$MB" $line bench-latency 100
	check "$mode-bench-throughput" 0 "masters=1 seconds=1 *errors=0 *" \
	    "$MB" $line bench-throughput 1 1
	}
done
# Only ASCII frames by delimiters: a diagnostic echo comes back whole.
check ascii-raw-8 0 "0800001234" "$MB" --ascii "$T/ascii-master,115200" \
    raw 0800001234
