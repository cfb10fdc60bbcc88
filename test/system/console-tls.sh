#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The HTTPS console's TLS, from outside: the real daemon against openssl
# s_client, curl and, when installed, testssl.sh (Debian testssl.sh).
# Runs unprivileged, or as root in lib.sh's network namespace; port from
# $$ (10000-29999).  Independent checks go on after a failure (all are
# reported, then the test fails).
#
# What it asserts (the console's EC P-256 certificate first, then an
# imported RSA 2048 one, where static-RSA and ECDHE-RSA suites could
# exist at all):
#  - versions: s_client -tls1 and -tls1_1 refused (the client offering
#    them at SECLEVEL 0), -tls1_2 and -tls1_3 accepted and used.
#  - TLS 1.2 suites refused, each with the server counting a failed
#    handshake (sluicectl status --json, console.tls): static RSA
#    (AES128-SHA, AES256-SHA256, AES128-GCM-SHA256), CBC (ECDHE-*-SHA,
#    -SHA256, -SHA384), NULL, anonymous (aNULL), CAMELLIA/ARIA, DHE; 3DES
#    and RC4 when the local openssl can still offer them (Debian's cannot:
#    testssl.sh covers them from its own sockets).  Accepted and used:
#    ECDHE-{ECDSA,RSA}-AES128-GCM-SHA256, -AES256-GCM-SHA384,
#    -CHACHA20-POLY1305.
#  - renegotiation: s_client's R command is refused.
#  - HTTP over TLS (the libevent bugs): curl --http1.0 and
#    Connection: close get complete bodies (the JSON of /api/v1/login
#    parses; the 80 kB /api/openapi.yaml is byte-exact); 20 requests on
#    one keep-alive connection (curl reuses it 19 times), all 200 and
#    complete.
#  - tls.min_version "1.3" (policy apply, no restart): -tls1_2 refused,
#    -tls1_3 accepted.
#  - testssl.sh -p -s -f -R -h -E (JSON), RSA certificate, TLS 1.2 min:
#    SSLv2, SSLv3, TLS 1, TLS 1.1 not offered; TLS 1.2, 1.3 offered; no
#    NULL, aNULL, EXPORT, LOW (DES, RC4), 3DES, obsolete CBC suites;
#    every TLS 1.2 suite ECDHE with AES-GCM or ChaCha20-Poly1305;
#    client-initiated renegotiation not vulnerable; HSTS; no finding of
#    severity MEDIUM, HIGH or CRITICAL.  SKIP for this part alone when
#    testssl.sh is not installed.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

for tool in curl openssl python3; do
	command -v "$tool" >/dev/null 2>&1 || skip "no $tool"
done
[ -x "$NOTIFY_RUN" ] || skip "$NOTIFY_RUN not built"
export SLUICE_COMMON_PASSWORDS="$top_srcdir/src/common-passwords.txt"
export SLUICE_WWW_DIR="$top_srcdir/www"

PORT=$((10000 + ($$ * 2 + 7) % 20000))
U="https://127.0.0.1:$PORT"

FAILS=0
bad() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
F0=0
ok() {
	if [ "$FAILS" = "$F0" ]; then
		echo "ok: $*"
	else
		echo "not ok: $* ($((FAILS - F0)) failed)"
	fi
	F0=$FAILS
}

policy() { # MIN_VERSION
	cat >"$1" <<Y
base: hardened
services:
  https: { enabled: true, port: $PORT }
tls: { min_version: "$2" }
certificates: { min_rsa_bits: 2048 }
firewall:
  per_source: { new_per_second: 0, max_connections: 0 }
Y
}

# A failed-handshake counter of the console (sluicectl status --json).
hs_failed() {
	ctl status --json >"$T/status.json" 2>/dev/null || return 1
	python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["console"]["tls"]["handshakes"]["failed"])' \
	    "$T/status.json"
}

# s_client: a GET over a fresh connection; output in $T/sc.out.  Never
# -quiet (it ignores EOF and hangs).
GET='GET /api/v1/login HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'
sclient() {
	printf '%b' "$GET" | "${IN_NS[@]}" timeout 15 openssl s_client \
	    -connect "127.0.0.1:$PORT" -servername localhost -ign_eof "$@" \
	    >"$T/sc.out" 2>&1
}
answered() { grep -q '"setup_needed"' "$T/sc.out"; }
# accepted WHAT ARGS...: handshake and request work
accepted() {
	local what=$1
	shift
	sclient "$@"
	answered && return 0
	bad "$what refused: $(grep -iE 'alert|error' "$T/sc.out" | head -n 2)"
	return 1
}
# refused WHAT ARGS...: no answer, and the server counted a failure (a
# client that cannot even offer it says so: noted, not a failure)
refused() {
	local what=$1 f0 f1
	shift
	f0=$(hs_failed)
	sclient "$@"
	if grep -qiE 'no cipher match|Error with command|unknown option' "$T/sc.out"; then
		echo "   note: the local openssl cannot offer $what"
		return 0
	fi
	if answered; then
		bad "$what accepted: $(grep -E 'Protocol|Cipher is' "$T/sc.out" | head -n 2)"
		return 1
	fi
	f1=$(hs_failed)
	[ -n "$f0" ] && [ -n "$f1" ] && [ "$f1" -gt "$f0" ] ||
	    bad "$what: refused, but the server counted no failed handshake ($f0 -> $f1)"
}

policy "$POLICY" 1.2
start_daemon
i=0
until curl_out=$("${IN_NS[@]}" curl -sk --max-time 5 "$U/api/v1/login" 2>&1) &&
    [ -n "$curl_out" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "HTTPS on port $PORT does not answer"
	sleep 0.1
done
ok "HTTPS up"

# --- versions
LEGACY='DEFAULT:@SECLEVEL=0'
refused "TLS 1.0" -tls1 -cipher "$LEGACY"
grep -qiE 'alert protocol version|no protocols available|unsupported protocol' \
    "$T/sc.out" || bad "TLS 1.0: $(grep -iE 'alert|error' "$T/sc.out" | head -n 2)"
refused "TLS 1.1" -tls1_1 -cipher "$LEGACY"
accepted "TLS 1.2" -tls1_2 &&
    { grep -q 'Protocol *: TLSv1.2' "$T/sc.out" || bad "-tls1_2: not TLS 1.2"; }
accepted "TLS 1.3" -tls1_3 &&
    { grep -q 'Protocol *: TLSv1.3' "$T/sc.out" || bad "-tls1_3: not TLS 1.3"; }
ok "TLS 1.0, 1.1 refused; 1.2, 1.3 accepted"

# --- TLS 1.2 suites.  suites AUTH: the weak list, then the good one.
suites() {
	local a=$1 c
	for c in AES128-SHA AES256-SHA256 AES128-GCM-SHA256 \
	    "ECDHE-$a-AES128-SHA" "ECDHE-$a-AES256-SHA" \
	    "ECDHE-$a-AES128-SHA256" "ECDHE-$a-AES256-SHA384" \
	    "ECDHE-$a-NULL-SHA" NULL-SHA256 AECDH-AES128-SHA \
	    ADH-AES128-GCM-SHA256 "ECDHE-$a-CAMELLIA128-SHA256" \
	    "ECDHE-$a-ARIA128-GCM-SHA256" DHE-RSA-AES128-GCM-SHA256 \
	    DES-CBC3-SHA "ECDHE-$a-DES-CBC3-SHA" RC4-SHA "ECDHE-$a-RC4-SHA"; do
		refused "$c ($a certificate)" -tls1_2 -cipher "$c:@SECLEVEL=0"
	done
	for c in "ECDHE-$a-AES128-GCM-SHA256" "ECDHE-$a-AES256-GCM-SHA384" \
	    "ECDHE-$a-CHACHA20-POLY1305"; do
		accepted "$c ($a certificate)" -tls1_2 -cipher "$c" &&
		    { grep -q "Cipher is $c" "$T/sc.out" || bad "$c: not used"; }
	done
}
suites ECDSA
ok "TLS 1.2 suites with the EC P-256 certificate"

# --- renegotiation: s_client's R needs stdin open and no -ign_eof: a
# fifo held open until s_client ends, when the server closed.
mkfifo "$T/in"
"${IN_NS[@]}" timeout 15 openssl s_client -connect "127.0.0.1:$PORT" \
    -tls1_2 -servername localhost <"$T/in" >"$T/reneg.out" 2>&1 &
sc=$!
CLEANUP_PIDS="$CLEANUP_PIDS $sc"
exec 6>"$T/in"
printf 'R\n' >&6
wait "$sc"
exec 6>&-
if ! grep -q 'RENEGOTIATING' "$T/reneg.out"; then
	bad "s_client did not try to renegotiate: $(tail -n 3 "$T/reneg.out")"
elif ! grep -qiE 'alert no renegotiation|renegotiation (failed|refused)|handshake failure' \
    "$T/reneg.out"; then
	bad "renegotiation not refused: $(grep -iE 'alert|error|verify' "$T/reneg.out" | head -n 3)"
fi
ok "renegotiation refused"

# --- HTTP over TLS: bodies complete whatever the connection does next
CURL=("${IN_NS[@]}" curl -sS -k --max-time 20)
sha() { sha256sum | cut -d' ' -f1; }
YAML_SHA=$(sha <"$top_srcdir/www/api/openapi.yaml")
json_ok() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "setup_needed" in d' "$1" 2>/dev/null; }
for how in "--http1.0" "-H Connection:close" "--http1.1"; do
	# shellcheck disable=SC2086
	"${CURL[@]}" $how -o "$T/login.json" "$U/api/v1/login" 2>"$T/c.err" ||
	    bad "$how GET /api/v1/login: $(cat "$T/c.err")"
	json_ok "$T/login.json" || bad "$how: incomplete JSON: $(head -c 200 "$T/login.json")"
	# shellcheck disable=SC2086
	"${CURL[@]}" $how -o "$T/api.yaml" "$U/api/openapi.yaml" 2>"$T/c.err" ||
	    bad "$how GET /api/openapi.yaml: $(cat "$T/c.err")"
	[ "$(sha <"$T/api.yaml")" = "$YAML_SHA" ] ||
	    bad "$how: /api/openapi.yaml differs ($(wc -c <"$T/api.yaml") bytes)"
	# shellcheck disable=SC2086
	"${CURL[@]}" $how --limit-rate 20k -o "$T/api.yaml" \
	    "$U/api/openapi.yaml" 2>"$T/c.err" ||
	    bad "$how slow reader: $(cat "$T/c.err")"
	[ "$(sha <"$T/api.yaml")" = "$YAML_SHA" ] ||
	    bad "$how slow reader: /api/openapi.yaml differs"
done
ok "HTTP/1.0, Connection: close, HTTP/1.1: complete bodies (fast, slow)"

args=()
for i in $(seq 1 20); do
	if [ $((i % 2)) = 0 ]; then
		args+=("$U/api/v1/login" -o "$T/ka.$i")
	else
		args+=("$U/api/openapi.yaml" -o "$T/ka.$i")
	fi
done
"${CURL[@]}" -v -w '%{http_code}\n' "${args[@]}" >"$T/ka.codes" 2>"$T/ka.err" ||
    bad "keep-alive curl: $(tail -n 2 "$T/ka.err")"
n=$(grep -c 'Re-using existing connection' "$T/ka.err")
[ "$n" = 19 ] || bad "keep-alive: $n connection reuses of 19"
[ "$(grep -c '^200$' "$T/ka.codes")" = 20 ] || bad "keep-alive: not 20 x 200: $(tr '\n' ' ' <"$T/ka.codes")"
for i in $(seq 1 20); do
	if [ $((i % 2)) = 0 ]; then
		json_ok "$T/ka.$i" || bad "keep-alive request $i: incomplete JSON"
	else
		[ "$(sha <"$T/ka.$i")" = "$YAML_SHA" ] ||
		    bad "keep-alive request $i: openapi.yaml differs"
	fi
done
ok "keep-alive: 20 requests on one connection ($n reuses)"

# --- an RSA 2048 certificate (static-RSA and ECDHE-RSA suites become
# possible at all), imported by sluicectl, served without a restart
P=$T/pki
mkdir -p "$P"
(
	set -e
	cd "$P"
	test_ca DNS:localhost,IP:127.0.0.1
	test_leaf rsa localhost rsa:2048
) >"$T/pki.log" 2>&1 || fail "making the test PKI: $(tail -n 5 "$T/pki.log")"
expect_exit 0 ctl cert import "$P/rsa.pem" "$P/rsa.key" "$P/ca.pem"
accepted "TLS 1.3 after the RSA import" -tls1_3 -CAfile "$P/ca.pem" \
    -verify_return_error
grep -q 'Verify return code: 0 (ok)' "$T/sc.out" ||
    bad "the RSA certificate does not verify: $(grep 'Verify return' "$T/sc.out")"
grep -q 'Server public key is 2048 bit' "$T/sc.out" ||
    bad "not the RSA 2048 key: $(grep 'public key' "$T/sc.out")"
suites RSA
ok "TLS 1.2 suites with the RSA 2048 certificate"

# --- testssl.sh
if command -v testssl >/dev/null 2>&1 || command -v testssl.sh >/dev/null 2>&1; then
	TS=$(command -v testssl || command -v testssl.sh)
	"${IN_NS[@]}" timeout 180 "$TS" --quiet --color 0 --warnings off \
	    --connect-timeout 5 --openssl-timeout 5 -p -s -f -R -h -E \
	    --jsonfile "$T/testssl.json" "$U" >"$T/testssl.out" 2>&1
	rc=$?
	if [ ! -s "$T/testssl.json" ]; then
		bad "testssl.sh wrote no JSON (exit $rc): $(tail -n 5 "$T/testssl.out")"
	else
		python3 - "$T/testssl.json" <<'PY' || bad "testssl.sh findings (above)"
import json, re, sys
f = {}
bad = []
for e in json.load(open(sys.argv[1])):
    f[e["id"]] = e
    if e.get("severity") in ("MEDIUM", "HIGH", "CRITICAL"):
        bad.append("%s %s: %s" % (e["severity"], e["id"], e["finding"]))
def want(id_, pat):
    e = f.get(id_)
    if e is None:
        bad.append("%s: missing" % id_)
    elif not re.match(pat, e["finding"]):
        bad.append("%s: %s" % (id_, e["finding"]))
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    want(p, "not offered")
want("TLS1_2", "offered")
want("TLS1_3", "offered")
for c in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
    want("cipherlist_" + c, "not offered")
want("secure_client_renego", "not vulnerable")
want("HSTS_time", r"\d+ days")
suites = [e["finding"] for k, e in f.items() if k.startswith("cipher-tls1_2_")]
if not suites:
    bad.append("no TLS 1.2 suites listed")
for s in suites:
    if not re.search(r"ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)", s):
        bad.append("TLS 1.2 suite: " + s)
for b in bad:
    print("  testssl:", b)
print("  testssl: %d TLS 1.2 suites, all ECDHE+AEAD" % len(suites) if not bad else "")
sys.exit(1 if bad else 0)
PY
	fi
	ok "testssl.sh ($(python3 -c 'import json,sys; print([e["finding"] for e in json.load(open(sys.argv[1])) if e["id"] == "scanTime"][0])' "$T/testssl.json" 2>/dev/null) s)"
else
	echo "SKIP: testssl.sh is not installed (Debian package testssl.sh): its part only"
fi

# --- tls.min_version "1.3", applied at run time
policy "$T/tls13.yaml" 1.3
expect_exit 0 ctl policy apply "$T/tls13.yaml"
refused "TLS 1.2 with min_version 1.3" -tls1_2
accepted "TLS 1.3 with min_version 1.3" -tls1_3
ok "tls.min_version 1.3: TLS 1.2 refused, 1.3 accepted"

expect_exit 0 ctl status --json
r=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["privilege_separation"].get("engine_restarts"))' "$T/out")
[ "$r" = 0 ] || bad "the engine was restarted $r time(s)"
stop_daemon
[ "$FAILS" = 0 ] || fail "$FAILS check(s) failed"
echo "console-tls: ok"
