#!/bin/bash
# Whatever a client sends to the control socket, the daemon answers or
# closes that connection and keeps serving the others.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

start_daemon
python3 - "$STATE/control.sock" <<'PY' || fail "control socket robustness"
import json, socket, struct, sys, time
path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    return s

def reply(s):
    hdr = s.recv(4, socket.MSG_WAITALL)
    if len(hdr) < 4:
        return None
    n = struct.unpack(">I", hdr)[0]
    return json.loads(s.recv(n, socket.MSG_WAITALL))

def frame(b):
    return struct.pack(">I", len(b)) + b

cases = [
    (b"not json", "not valid JSON"),
    (b"[1,2]", "not a JSON object"),
    (b'{"cmd":"status","cmd":"status"}', "not valid JSON"),
    (b'{"cmd":"nope"}', "unknown command"),
    (b'{"cmd":"log","args":{"limit":"x"}}', "must be an integer"),
    (b'{"cmd":"log","args":{"bogus":1}}', "unknown argument"),
    (b'{"cmd":"status","extra":1}', "unknown member"),
    (b'{"cmd":"policy.apply","args":{"content":"base: [\\u0000"}}', ""),
]
s = conn()
for payload, want in cases:
    s.sendall(frame(payload))
    r = reply(s)
    assert r is not None and r["ok"] is False, (payload, r)
    assert want in r["error"], (payload, r)
# Pipelined requests on one connection: answered in order.
s.sendall(frame(b'{"cmd":"status"}') + frame(b'{"cmd":"services"}'))
a, b = reply(s), reply(s)
assert a["ok"] and "version" in a["result"], a
assert b["ok"] and isinstance(b["result"], list), b
# An oversized frame: an error, then the connection is closed.
s.sendall(struct.pack(">I", 64 << 20))
r = reply(s)
assert r and r["ok"] is False and "larger" in r["error"], r
assert s.recv(1) == b""
# A zero-length frame likewise.
s = conn(); s.sendall(struct.pack(">I", 0))
r = reply(s); assert r and r["ok"] is False, r
# A client that sends half a frame and stalls does not block others.
stall = conn(); stall.sendall(struct.pack(">I", 100) + b"{")
s = conn(); s.sendall(frame(b'{"cmd":"status"}')); assert reply(s)["ok"]
# Connection cap: with 16 served connections open, the next is refused.
stall.close(); s.close()
held, deadline = [], time.time() + 5
while len(held) < 16 and time.time() < deadline:
    c = conn()
    try:
        c.sendall(frame(b'{"cmd":"status"}')); r = reply(c)
    except OSError:
        r = None
    if r and r["ok"]:
        held.append(c)
    else:  # an earlier close not yet seen by the daemon
        c.close(); time.sleep(0.05)
assert len(held) == 16, len(held)
extra = conn()
try:
    extra.sendall(frame(b'{"cmd":"status"}'))
    assert reply(extra) is None, "connection over the cap was served"
except (ConnectionResetError, BrokenPipeError):
    pass
for h in held: h.close()
deadline = time.time() + 5
while True:
    try:
        s = conn(); s.sendall(frame(b'{"cmd":"status"}'))
        if reply(s)["ok"]: break
    except (OSError, TypeError):
        pass
    assert time.time() < deadline, "not served after the others closed"
    time.sleep(0.05)
print("control socket robust")
PY
alive "$DAEMON_PID" || fail "daemon died"
expect_exit 0 ctl status
echo "ctl-robust: ok"
