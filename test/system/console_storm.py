# SPDX-License-Identifier: GPL-3.0-or-later
"""Paced wrong-password logins against sluiced's console, for
test/system/console-storm.sh.

  console_storm.py HOST PORT SOURCE RATE SECONDS NAME READY-FILE
      [--new-connections]

Sends RATE POST /api/v1/login a second for SECONDS (request i is due at
start + i / RATE, whatever the answers take), from address SOURCE, over
WORKERS keep-alive TLS connections (or a new connection each with
--new-connections), and prints one line:

  sent=N s401=N s429=N s5xx=N other=N errors=N rate=R late=N max_ms=M

late counts requests sent more than 100 ms after they were due (every
worker was waiting for an answer).  READY-FILE is written just before
the first request.  Exit 0 when every login got an answer, 1 otherwise.
Standard library only.
"""
import http.client
import json
import os
import queue
import ssl
import sys
import threading
import time

WORKERS = 8
TIMEOUT_S = 10


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    new_conn = "--new-connections" in sys.argv[1:]
    if len(args) != 7:
        print(__doc__, file=sys.stderr)
        return 64
    host, port, source = args[0], int(args[1]), args[2]
    rate, seconds, name, ready = float(args[3]), float(args[4]), args[5], args[6]

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the console's self-signed certificate

    lock = threading.Lock()
    counts = {"sent": 0, "s401": 0, "s429": 0, "s5xx": 0, "other": 0,
              "errors": 0, "late": 0}
    first_error = []
    max_ms = [0.0]
    work = queue.Queue()

    def connect():
        return http.client.HTTPSConnection(host, port, context=ctx,
                                           timeout=TIMEOUT_S,
                                           source_address=(source, 0))

    def login(conn, i):
        body = json.dumps({"name": name, "password": "wrong-%d" % i})
        conn.request("POST", "/api/v1/login", body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Connection", "")

    def worker():
        conn = None
        while True:
            item = work.get()
            if item is None:
                break
            i, due = item
            t0 = time.monotonic()
            status = None
            # A keep-alive connection the server closed meanwhile: one
            # more try on a new one.
            for attempt in (0, 1):
                try:
                    if conn is None:
                        conn = connect()
                    status, hdr = login(conn, i)
                    if new_conn or hdr.lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as e:
                    if conn is not None:
                        conn.close()
                        conn = None
                    if attempt == 1:
                        with lock:
                            if not first_error:
                                first_error.append(repr(e))
            ms = (time.monotonic() - t0) * 1000
            with lock:
                counts["sent"] += 1
                if t0 - due > 0.1:
                    counts["late"] += 1
                max_ms[0] = max(max_ms[0], ms)
                if status is None:
                    counts["errors"] += 1
                elif status == 401:
                    counts["s401"] += 1
                elif status == 429:
                    counts["s429"] += 1
                elif status >= 500:
                    counts["s5xx"] += 1
                else:
                    counts["other"] += 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    with open(ready + ".tmp", "w") as f:
        f.write("storm\n")
    os.rename(ready + ".tmp", ready)
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        due = start + i / rate
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        work.put((i, due))
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    print("sent=%d s401=%d s429=%d s5xx=%d other=%d errors=%d rate=%.1f "
          "late=%d max_ms=%.0f" % (counts["sent"], counts["s401"],
                                   counts["s429"], counts["s5xx"],
                                   counts["other"], counts["errors"],
                                   counts["sent"] / elapsed, counts["late"],
                                   max_ms[0]))
    if first_error:
        print("first error: %s" % first_error[0], file=sys.stderr)
    ok = counts["errors"] == 0 and counts["s5xx"] == 0 and counts["other"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
