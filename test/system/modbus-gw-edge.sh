#!/bin/bash
# The Modbus gateway's edges: a serial master on a slave-role line reaching
# a TCP slave, the connection cap (least recently active idle connection
# evicted), the idle timeout, and the accessible-IP list checked at accept.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

SIM="$top_builddir/contrib/sluice-modbus-sim"
CLIENT="$top_builddir/test/helpers/mb-client"
[ -x "$SIM" ] || fail "$SIM not built"
[ -x "$CLIENT" ] || fail "$CLIENT not built"
command -v socat >/dev/null || skip "socat not installed"

PORT=$((20000 + ($$ + 7919) % 20000))

"${IN_NS[@]}" "$SIM" --tcp 0 --bind 127.0.0.1 --unit 1-3 \
    --ready-file "$T/plc.ready" >/dev/null 2>"$T/plc.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
# A pty pair: sluiced opens one end as a slave-role line, the serial
# master (libmodbus) the other.
socat pty,link="$T/sl_gw",raw,echo=0 pty,link="$T/sl_master",raw,echo=0 \
    2>"$T/socat.log" &
CLEANUP_PIDS="$CLEANUP_PIDS $!"
wait_for test -s "$T/plc.ready" || fail "simulator: $(cat "$T/plc.log")"
wait_for test -e "$T/sl_master" || fail "socat: $(cat "$T/socat.log")"

cat >"$POLICY" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $((PORT + 1))
accessible_ip:
  activate: true
  entries:
    - address: 127.0.0.0/8
    - address: 10.78.0.2/32
firewall:
  per_source:
    max_connections: 0
    new_per_second: 0
modbus:
  listeners:
    max_connections: 3
    idle_timeout_s: 2
  serial_channels:
    - name: field
      device: $T/sl_gw
      role: slave
      baud: 38400
      parity: none
      stop_bits: 2
  tcp_channels:
    - name: plc
      host: 127.0.0.1
      port: $(cat "$T/plc.ready")
  routes:
    - units: 21-23
      channel: plc
      offset: -20
EOF
start_daemon
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' modbus stats --json | grep -c '\"state\": \"up\"' | grep -qx 2" ||
	fail "channels not up: $(ctl modbus stats)"

# A serial master on the slave-role line reaches the TCP slave.
out=$("${IN_NS[@]}" "$CLIENT" --rtu "$T/sl_master,38400,N" --unit 22 --timeout 2000 \
    read-hr 10 3) || fail "serial master: $out"
[ "$out" = "10 11 12" ] || fail "serial master: got '$out'"
out=$("${IN_NS[@]}" "$CLIENT" --rtu "$T/sl_master,38400,N" --unit 21 --timeout 2000 \
    write-reg 5 4321) || fail "serial master write: $out"
out=$("${IN_NS[@]}" "$CLIENT" --tcp "127.0.0.1:$PORT" --unit 21 read-hr 5 1)
[ "$out" = "4321" ] || fail "write through the serial master: '$out'"
# A unit nobody routes is not ours: silence, like another slave's.
out=$("${IN_NS[@]}" "$CLIENT" --rtu "$T/sl_master,38400,N" --unit 9 --timeout 300 \
    read-hr 0 1); [ "$out" = "timeout" ] || fail "unrouted unit on the line: '$out'"
echo "slave-role line ok"

# Cap of 3: a fourth master evicts the least recently active idle one;
# and a connection silent for idle_timeout_s is closed.
"${IN_NS[@]}" python3 - 127.0.0.1 "$PORT" <<'PY' || fail "connection cap"
import socket, struct, sys, time
host, port = sys.argv[1], int(sys.argv[2])
def conn():
    return socket.create_connection((host, port), timeout=3)
def ask(s, tid):
    s.sendall(struct.pack(">HHHBBHH", tid, 0, 6, 21, 3, 0, 1))
    return s.recv(100)
a, b, c = conn(), conn(), conn()
time.sleep(0.05)
assert ask(b, 1)[:2] == b"\0\1"        # b, then c are the active ones
assert ask(c, 2)[:2] == b"\0\2"
d = conn()
a.settimeout(2)
assert a.recv(100) == b"", "a (least recently active) still open"
assert ask(d, 3)[:2] == b"\0\3", "the newcomer is served"
assert ask(b, 4)[:2] == b"\0\4", "b survived"
b.settimeout(5)
t = time.monotonic()
assert b.recv(100) == b"", "idle connection not closed"
assert 1.5 < time.monotonic() - t < 4.5, time.monotonic() - t
print("cap and idle ok")
PY
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' log --group protocol --json | grep -q connection-evicted" ||
	fail "no connection-evicted event"

# A master that sends without reading its answers cannot make the engine
# buffer them without bound: a million requests for an unrouted unit (each
# answered 0x0A at once), then every answer is read back in order.
ENGINE=$(engine_pid)
rss() { awk '/^VmHWM/ {print $2}' "/proc/$ENGINE/status"; }   # the peak
rss0=$(rss)
"${IN_NS[@]}" python3 - 127.0.0.1 "$PORT" "/proc/$ENGINE/status" <<'PY' || fail "backpressure"
import socket, struct, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # no room in the kernel
s.settimeout(10)
s.connect((sys.argv[1], int(sys.argv[2])))
N = 1000000
req = b"".join(struct.pack(">HHHBBHH", i & 0xffff, 0, 6, 99, 3, 0, 1)
               for i in range(N))
t = threading.Thread(target=s.sendall, args=(req,))
t.start()
time.sleep(1.5)              # nobody reads: the gateway must stop reading
got = b""
want = N * 9
while len(got) < want:
    c = s.recv(1 << 20)
    assert c, "closed after %d bytes" % len(got)
    got += c
t.join(10)
for i in (0, 1, N // 2, N - 1):
    assert got[9 * i:9 * i + 9] == struct.pack(">HHHBBB", i & 0xffff, 0, 3, 99,
                                               0x83, 0x0A), (i, got[9*i:9*i+9])
print("backpressure ok")
PY
rss1=$(rss)
echo "engine peak RSS ${rss0} kB -> ${rss1} kB"
# AddressSanitizer keeps freed memory in quarantine: no figure to check.
if nm -D "$SLUICED" 2>/dev/null | grep -q __asan_init; then
	echo "note: sanitizer build, peak RSS not checked"
else
	[ $((rss1 - rss0)) -lt 4000 ] || fail "engine grew by $((rss1 - rss0)) kB"
fi

# The accessible-IP list at accept.  A local process on a non-loopback
# address reaches the port over lo, where the kernel rules never look:
# the userspace check must refuse 10.78.0.1 and admit 10.78.0.2.
if [ -n "$NS" ]; then
	ip -n "$NS" addr add 10.78.0.1/32 dev lo &&
	    ip -n "$NS" addr add 10.78.0.2/32 dev lo || fail "addresses on lo"
	"${IN_NS[@]}" python3 - "$PORT" <<'PY' || fail "accessible-IP at accept"
import socket, struct, sys
port = int(sys.argv[1])
def ask(src):
    s = socket.socket()
    s.settimeout(3)
    s.bind((src, 0))
    s.connect(("10.78.0.1", port))
    s.sendall(struct.pack(">HHHBBHH", 9, 0, 6, 21, 3, 0, 1))
    try:
        return s.recv(100)
    except ConnectionResetError:
        return b""
assert ask("10.78.0.1") == b"", "unlisted source served"
assert ask("10.78.0.2")[:2] == b"\0\x09", "listed source refused"
print("accessible-IP ok")
PY
	wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' log --group network --json | grep -q client-refused" ||
		fail "no client-refused event"
	expect_exit 0 ctl log --group network --json
	assert_contains "$(cat "$T/out")" '10.78.0.1' "the refused client is named"
else
	echo "note: accessible-IP at accept needs a network namespace (root); skipped"
fi

stop_daemon || fail "stop"
echo ok
