# SPDX-License-Identifier: GPL-3.0-or-later
"""console_roles.py - walk the console's role table through its own
description (www/api/openapi.yaml): every documented operation, with
every kind of credential, against a running sluiced.

Usage: console_roles.py HOST PORT OPENAPI_YAML SETUP_TOKEN

Columns (who asks):
  none     no credentials
  temp     a session that must change its password first
  user     a user session (its password changed: must_change false)
  read     an API token of scope read
  admtok   an API token of scope admin
  admin    an administrator session
  nocsrf   the administrator session without X-CSRF-Token (non-GET only)

Rules (x-sluice-role of the operation):
  public     never 401/403 from anyone (nocsrf: 403)
  signed-in  none 401; every session and token not 401/403 (a token may
             not change a password: PUT /api/v1/session/password is 403)
  user       none 401; temp 403; user, tokens, admin not 401/403
  admin      none 401; temp, user, read 403; admtok, admin not 401/403
  nocsrf     every non-GET 403

Bodies are harmless (missing or invalid members, a refused policy) except
where the operation is destructive by nature: those act on objects made
for the purpose (an account, a token, a session per column), and the
refused columns' objects are checked to be still there afterwards.  The
restarts come last.  Exit 0 when every cell holds, 1 otherwise.
"""
import http.client
import json
import ssl
import sys
import time

import yaml

HOST, PORT, OPENAPI, SETUP_TOKEN = sys.argv[1], int(sys.argv[2]), \
    sys.argv[3], sys.argv[4]
COOKIE = "__Host-sluice_session"
METHODS = ("get", "put", "post", "delete", "patch")
COLUMNS = ("none", "temp", "user", "read", "admtok", "admin", "nocsrf")
PW = {
    "walk-admin": "Quartz-Falcon-92!river",
    "walk-user": "Tempo-Lantern-41!maple",
    "walk-temp": "Tempo-Harbor-63!cedar",
}
USER_NEW_PW = "Changed-Orbit-57!birch"
DEADLINE = time.monotonic() + 240  # the whole walk

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
FAILURES = []


def request(method, path, body=None, session=None, csrf=True, token=None,
            timeout=20):
    """One request on a new connection: (status, parsed body or text,
    headers)."""
    if time.monotonic() > DEADLINE:
        raise SystemExit("FAIL: the walk took too long")
    headers = {"Host": "%s:%d" % (HOST, PORT)}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if session is not None:
        headers["Cookie"] = "%s=%s" % (COOKIE, session["cookie"])
        if csrf:
            headers["X-CSRF-Token"] = session["csrf"]
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = http.client.HTTPSConnection(HOST, PORT, context=CTX,
                                       timeout=timeout)
    try:
        conn.request(method.upper(), path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return resp.status, parsed, hdrs
    finally:
        conn.close()


def must(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def wait_ready(seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            st, _, _ = request("get", "/api/v1/login", timeout=2)
            if st == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise SystemExit("FAIL: the console did not answer within %gs" % seconds)


def session_from(st, body, hdrs, what):
    must(st == 200, "%s: %s %s" % (what, st, body))
    cookie = hdrs.get("set-cookie", "")
    must(cookie.startswith(COOKIE + "=") and "HttpOnly" in cookie and
         "Secure" in cookie and "SameSite=Strict" in cookie,
         "%s: cookie %r" % (what, cookie))
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    return {"cookie": value, "csrf": body["csrf_token"], "id": body["id"],
            "must_change": body["must_change"], "name": body["name"]}


def login(name, password):
    st, body, hdrs = request("post", "/api/v1/login",
                             {"name": name, "password": password})
    return session_from(st, body, hdrs, "login " + name)


def admin_call(method, path, body=None, want=(200, 201, 204)):
    st, res, _ = request(method, path, body, session=ADMIN)
    must(st in want, "%s %s: %s %s" % (method, path, st, res))
    return res


# ---- set-up: the first administrator, accounts, tokens ----------------

wait_ready()
st, body, _ = request("get", "/api/v1/login")
must(body.get("setup_needed") is True, "setup_needed: %s" % body)
st, body, hdrs = request("post", "/api/v1/setup", {
    "token": SETUP_TOKEN, "name": "walk-admin",
    "password": PW["walk-admin"]})
ADMIN = session_from(st, body, hdrs, "setup")
must(not ADMIN["must_change"], "the first administrator must_change")

for name in ("walk-user", "walk-temp"):
    res = admin_call("post", "/api/v1/accounts", {
        "name": name, "level": "user", "password": PW[name]}, want=(201,))
    must(res["must_change"] is True, "admin-made %s not temporary" % name)
admin_call("post", "/api/v1/accounts", {
    "name": "walk-target", "level": "user",
    "password": "Target-Meadow-28!stone"}, want=(201,))

# The user changes the temporary password: the session goes on, and
# must_change is false from then on.
USER = login("walk-user", PW["walk-user"])
must(USER["must_change"], "walk-user not must_change at first sign-in")
st, body, _ = request("get", "/api/v1/status", session=USER)
must(st == 403, "must-change session reached /status: %s" % st)
st, body, _ = request("put", "/api/v1/session/password", {
    "current_password": PW["walk-user"], "new_password": USER_NEW_PW},
    session=USER)
must(st == 204, "password change: %s %s" % (st, body))
st, body, _ = request("get", "/api/v1/session", session=USER)
must(st == 200 and body["must_change"] is False,
     "after the change: %s %s" % (st, body))
TEMP = login("walk-temp", PW["walk-temp"])
must(TEMP["must_change"], "walk-temp should have to change its password")

TOKENS = {}
for col, scope in (("read", "read"), ("admtok", "admin")):
    res = admin_call("post", "/api/v1/tokens",
                     {"name": "walk " + col, "scope": scope}, want=(201,))
    TOKENS[col] = res["token"]


def creds(col):
    """request() keyword arguments for a column."""
    if col == "none":
        return {}
    if col == "temp":
        return {"session": TEMP}
    if col == "user":
        return {"session": USER}
    if col in ("read", "admtok"):
        return {"token": TOKENS[col]}
    if col == "admin":
        return {"session": ADMIN}
    return {"session": ADMIN, "csrf": False}


# ---- objects for the destructive operations ----------------------------

LEFT = []   # (kind, key) that a refused call must have left in place


def fresh_account(col):
    name = "walk-del-" + col
    admin_call("post", "/api/v1/accounts", {
        "name": name, "level": "user", "password": "Delete-Canyon-19!frost"},
        want=(201,))
    return name


def fresh_token(col):
    return admin_call("post", "/api/v1/tokens", {
        "name": "walk del " + col, "scope": "read"}, want=(201,))["id"]


def fresh_session(col):
    return login("walk-target", "Target-Meadow-28!stone")["id"]


def logout_creds(col):
    """POST /logout ends the session it is sent with: a fresh one."""
    if col == "temp":
        return {"session": login("walk-temp", PW["walk-temp"])}
    if col == "user":
        return {"session": login("walk-user", USER_NEW_PW)}
    if col in ("admin", "nocsrf"):
        return {"session": login("walk-admin", PW["walk-admin"]),
                "csrf": col == "admin"}
    return creds(col)


ARGS = {
    ("put", "/api/v1/accounts/{name}"): lambda col: "walk-target",
    ("delete", "/api/v1/accounts/{name}"): fresh_account,
    ("delete", "/api/v1/sessions/{id}"): fresh_session,
    ("delete", "/api/v1/tokens/{id}"): fresh_token,
    ("put", "/api/v1/services/{service}"): lambda col: "telnet",
}
KIND = {
    ("delete", "/api/v1/accounts/{name}"): "account",
    ("delete", "/api/v1/sessions/{id}"): "session",
    ("delete", "/api/v1/tokens/{id}"): "token",
}
BOGUS = {"walk_no_such_key": True}   # refused by the policy loader
BODIES = {
    ("post", "/api/v1/login"): {},                      # 400
    ("post", "/api/v1/setup"): {},                      # 409: done
    ("put", "/api/v1/session/password"): {},            # 400
    ("put", "/api/v1/services/{service}"): {"enabled": "walk"},  # 400
    ("put", "/api/v1/login-message"): {},               # 400
    ("post", "/api/v1/accounts"): {},                   # 400
    ("put", "/api/v1/accounts/{name}"): {},             # 204, no change
    ("post", "/api/v1/tokens"): {},                     # 400
    ("post", "/api/v1/certificate/import"): {},         # 400
    ("post", "/api/v1/certificate/csr"): {},            # 200, a CSR
    ("post", "/api/v1/policy/diff"): {},                # 400
    ("post", "/api/v1/policy/apply"): {},               # 400
    ("post", "/api/v1/policy/rollback"): {"version": 0},  # 422
}


def body_for(method, path):
    if (method, path) in BODIES:
        return BODIES[(method, path)]
    if method in ("put", "patch"):
        return BOGUS        # every settings section, and /policy
    return None


def expect(role, col, method, path):
    """'ok' (not 401/403), or the status a role refusal must give."""
    if col == "nocsrf" and method != "get":
        return 403
    if role == "public":
        return "ok"
    if col == "none":
        return 401
    if role == "signed-in":
        if col in ("read", "admtok") and path == "/api/v1/session/password":
            return 403      # a token can not change a password
        return "ok"
    if col == "temp":
        return 403
    if role == "user":
        return "ok"
    return "ok" if col in ("admtok", "admin", "nocsrf") else 403


def check(st, want):
    if want == "ok":
        return st not in (401, 403)
    return st == want


# ---- the walk ----------------------------------------------------------

with open(OPENAPI) as f:
    DOC = yaml.safe_load(f)
OPS = []
for path, item in DOC["paths"].items():
    for method in METHODS:
        if method in item:
            OPS.append((method, path, item[method]["x-sluice-role"]))
must(len(OPS) > 40, "only %d operations in %s" % (len(OPS), OPENAPI))
RESTART = ("post", "/api/v1/system/restart")
must(RESTART in [(m, p) for m, p, _ in OPS], "no restart route documented")

RESULTS = {}   # (method, path) -> {col: "status" or "status!"}


def cell(method, path, role, col):
    if col == "nocsrf" and method == "get":
        return
    want = expect(role, col, method, path)
    kw = creds(col)
    real = path
    if (method, path) == ("post", "/api/v1/logout"):
        kw = logout_creds(col)
    if (method, path) in ARGS:
        arg = ARGS[(method, path)](col)
        real = path[:path.index("{")] + arg
        if (method, path) in KIND and want != "ok":
            LEFT.append((KIND[(method, path)], arg))
    st, body, _ = request(method, real, body_for(method, path), **kw)
    ok = check(st, want)
    RESULTS.setdefault((method, path), {})[col] = "%d%s" % (
        st, "" if ok else "!")
    if not ok:
        FAILURES.append("%s %s as %s: %d (want %s) %s" % (
            method.upper(), real, col, st,
            "not 401/403" if want == "ok" else want,
            json.dumps(body)[:200] if not isinstance(body, str) else
            body[:200]))


# Everything but the restart, column by column: the administrator's
# columns last, so that what they change comes after the refusals.
for col in COLUMNS:
    for method, path, role in OPS:
        if (method, path) != RESTART:
            cell(method, path, role, col)

# What the refused columns did not delete is still there.
ACCOUNTS = {a["name"] for a in admin_call("get", "/api/v1/accounts")}
TOKEN_IDS = {t["id"] for t in admin_call("get", "/api/v1/tokens")}
SESSION_IDS = {s["id"] for s in admin_call("get", "/api/v1/sessions")}
for kind, key in LEFT:
    have = {"account": ACCOUNTS, "token": TOKEN_IDS,
            "session": SESSION_IDS}[kind]
    if key not in have:
        FAILURES.append("a refused DELETE removed %s %s" % (kind, key))


def engine_pid():
    st, body, _ = request("get", "/api/v1/status", token=TOKENS["admtok"])
    must(st == 200, "status: %s %s" % (st, body))
    return body["engine_pid"]


def wait_restarted(old_pid):
    """A new engine answers (tokens survive a restart)."""
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            st, body, _ = request("get", "/api/v1/status",
                                  token=TOKENS["admtok"], timeout=2)
            if st == 200 and body["engine_pid"] != old_pid:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise SystemExit("FAIL: no new engine within 15 s")


# The restart: the refusals first, then the administrator (sessions end),
# then the admin token.
role = [r for m, p, r in OPS if (m, p) == RESTART][0]
for col in ("none", "temp", "user", "read", "nocsrf", "admin"):
    pid = engine_pid()
    cell(RESTART[0], RESTART[1], role, col)
wait_restarted(pid)
for who in (ADMIN, USER, TEMP):
    st, _, _ = request("get", "/api/v1/session", session=who)
    must(st == 401, "a session survived the restart: %d" % st)
pid = engine_pid()
cell(RESTART[0], RESTART[1], role, "admtok")
wait_restarted(pid)

# ---- the table ----------------------------------------------------------

width = max(len("%s %s" % (m.upper(), p)) for m, p, _ in OPS)
print("%-*s %-9s %s" % (width, "operation", "role",
                        " ".join("%-6s" % c for c in COLUMNS)))
for method, path, role in OPS:
    row = RESULTS.get((method, path), {})
    print("%-*s %-9s %s" % (width, "%s %s" % (method.upper(), path), role,
                            " ".join("%-6s" % row.get(c, "-")
                                     for c in COLUMNS)))
print("%d operations x %d columns; '!' = the role table not honoured"
      % (len(OPS), len(COLUMNS)))
# The description itself is served, to anyone, as the file.
st, body, hdrs = request("get", "/api/openapi.yaml")
with open(OPENAPI, encoding="utf-8") as f:
    text = f.read()
if st != 200 or not hdrs.get("content-type", "").startswith(
        "application/yaml") or body != text:
    FAILURES.append("GET /api/openapi.yaml: %d %s, %s" % (
        st, hdrs.get("content-type"), str(body)[:120]))
for f in FAILURES:
    print("FAIL: " + f)
sys.exit(1 if FAILURES else 0)
