# SPDX-License-Identifier: GPL-3.0-or-later
# Raw Modbus/TCP against sluiced (test/system/modbus-gw.sh): pipelining,
# validation, broadcast, the per-master queue bound, many masters, and
# the translation oracle over the serial line's trace.
#   python3 modbus_gw_raw.py HOST PORT PRIORITY_PORT TRACE
import collections
import os
import socket
import struct
import sys
import threading
import time

HOST, PORT, PPORT, TRACE = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                            sys.argv[4])
expected = collections.Counter()   # RTU frames that must reach line1
refused = []                       # frames that must not


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def rtu(unit, pdu):
    body = bytes([unit]) + pdu
    return body + crc16(body)


def mbap(tid, unit, pdu):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def connect(port=PORT):
    s = socket.create_connection((HOST, port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_adu(s, timeout=3.0):
    s.settimeout(timeout)
    hdr = b""
    while len(hdr) < 7:
        c = s.recv(7 - len(hdr))
        if not c:
            raise EOFError("closed")
        hdr += c
    tid, proto, length, unit = struct.unpack(">HHHB", hdr)
    assert proto == 0, hdr
    pdu = b""
    while len(pdu) < length - 1:
        c = s.recv(length - 1 - len(pdu))
        if not c:
            raise EOFError("closed")
        pdu += c
    return tid, unit, pdu


def fc3(addr, qty):
    return struct.pack(">BHH", 3, addr, qty)


def regs(pdu):
    assert pdu[0] == 3, pdu.hex()
    n = pdu[1] // 2
    return list(struct.unpack(">%dH" % n, pdu[2:2 + 2 * n]))


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


start = os.path.getsize(TRACE) if os.path.exists(TRACE) else 0

# Pipelining: five requests in one segment, five answers by tid.
s = connect()
s.sendall(b"".join(mbap(100 + i, 1, fc3(10 * i, 3)) for i in range(5)))
for i in range(5):
    expected[rtu(1, fc3(10 * i, 3))] += 1
got = {}
for _ in range(5):
    tid, unit, pdu = recv_adu(s)
    check(unit == 1, "unit echoed")
    got[tid] = regs(pdu)
for i in range(5):
    check(got.get(100 + i) == [10 * i, 10 * i + 1, 10 * i + 2],
          "pipelined tid %d: %r" % (100 + i, got.get(100 + i)))
print("pipelining ok")

# Validation: each refused before anything reaches the line.
bad = [
    (fc3(0, 0), 0x03, "quantity 0"),
    (fc3(0, 126), 0x03, "quantity 126"),
    (struct.pack(">BHH", 5, 1, 0x1234), 0x03, "coil value"),
    (struct.pack(">BHHB", 16, 0, 2, 3) + b"\0\0\0", 0x03, "byte count"),
    (fc3(65535, 2), 0x02, "past 65535"),
    (bytes([0x5A]), 0x01, "unknown function"),
]
for i, (pdu, code, what) in enumerate(bad):
    s.sendall(mbap(200 + i, 1, pdu))
    tid, unit, rsp = recv_adu(s)
    check(tid == 200 + i and rsp == bytes([pdu[0] | 0x80, code]),
          "%s: answer %s" % (what, rsp.hex()))
    refused.append(rtu(1, pdu))
# A broken MBAP header cannot be resynchronised: the connection closes.
b = connect()
b.sendall(struct.pack(">HHHB", 1, 7, 6, 1) + fc3(0, 1))
try:
    b.settimeout(2)
    check(b.recv(100) == b"", "bad protocol id answered")
except ConnectionResetError:
    pass
b.close()
print("validation ok")

# Broadcast: executed by the slaves, answered by nobody.
w = struct.pack(">BHH", 6, 50, 4242)
s.sendall(mbap(300, 0, w))
expected[rtu(0, w)] += 1
s.settimeout(0.4)
try:
    s.recv(100)
    check(False, "broadcast answered")
except socket.timeout:
    pass
s.sendall(mbap(301, 1, fc3(50, 1)))
expected[rtu(1, fc3(50, 1))] += 1
tid, unit, pdu = recv_adu(s)
check(tid == 301 and regs(pdu) == [4242], "broadcast write executed")
print("broadcast ok")

# One master may queue 32 requests per channel: 40 at once -> 7 busy.
s.sendall(b"".join(mbap(400 + i, 1, fc3(i, 1)) for i in range(40)))
answers = {}
for _ in range(40):
    tid, unit, pdu = recv_adu(s, 10)
    answers[tid] = pdu
busy = [t for t, p in answers.items() if p == bytes([0x83, 0x06])]
ok = [t for t, p in answers.items() if p[0] == 3]
check(len(busy) == 7 and len(ok) == 33, "queue bound: %d busy, %d ok" %
      (len(busy), len(ok)))
for t in ok:
    check(regs(answers[t]) == [t - 400], "queued answer %d" % t)
    expected[rtu(1, fc3(t - 400, 1))] += 1
for t in busy:
    refused.append(rtu(1, fc3(t - 400, 1)))
s.close()
print("queue bound ok")

# Eight masters on one line at once: every answer is the asker's.
errors = []


def master(n):
    try:
        c = connect()
        for i in range(30):
            addr = 1000 + n * 100 + i
            c.sendall(mbap(i, 1 + n % 5, fc3(addr, 2)))
            tid, unit, pdu = recv_adu(c, 10)
            if tid != i or unit != 1 + n % 5 or regs(pdu) != [addr, addr + 1]:
                errors.append((n, i, tid, unit, pdu.hex()))
        c.close()
    except Exception as e:   # noqa: BLE001 - reported below
        errors.append((n, repr(e)))


threads = [threading.Thread(target=master, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
check(not errors, "many masters: %r" % errors[:5])
for n in range(8):
    for i in range(30):
        expected[rtu(1 + n % 5, fc3(1000 + n * 100 + i, 2))] += 1
print("eight masters ok")

# The translation oracle: line1 received exactly the accepted requests.
time.sleep(0.2)
seen = collections.Counter()
with open(TRACE) as f:
    f.seek(start)
    for line in f:
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] == "rx":
            seen[bytes.fromhex(parts[2].replace(" ", "").strip())] += 1
        elif len(parts) == 3 and parts[1] == "rx-bad":
            check(False, "garbage on the line: " + line.strip())
check(seen == expected, "oracle: missing %r, extra %r" %
      ([f.hex() for f in (expected - seen)][:5],
       [f.hex() for f in (seen - expected)][:5]))
for f in refused:
    check(seen[f] == 0, "refused request reached the line: " + f.hex())
print("oracle ok: %d frames" % sum(seen.values()))

# Fairness on a slow line (20 ms per answer): master A queues ten
# requests; then B on the priority port and C on the normal port ask
# once.  B goes next, C after one more of A's: round robin, priority first.
a, b, c = connect(), connect(PPORT), connect()
a.sendall(b"".join(mbap(i, 50, fc3(i, 1)) for i in range(10)))
time.sleep(0.01)
c.sendall(mbap(77, 50, fc3(77, 1)))
time.sleep(0.005)
b.sendall(mbap(88, 51, fc3(88, 1)))
order = []


def collect(sock, name, n):
    for _ in range(n):
        tid, unit, pdu = recv_adu(sock, 5)
        order.append((time.monotonic(), name, tid))


ts = [threading.Thread(target=collect, args=x)
      for x in ((a, "A", 10), (b, "B", 1), (c, "C", 1))]
for t in ts:
    t.start()
for t in ts:
    t.join(10)
names = [n for _, n, _ in sorted(order)]
check(len(names) == 12, "fairness: %r" % names)
check(names.index("B") <= 2 and names.index("C") <= 3,
      "priority then round robin: %r" % names)
print("fairness ok: %s" % "".join(names))
