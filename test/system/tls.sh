#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# src/tls.c under evhttp (test/helpers/tls-httpd, as the console will run
# it) against independent peers: curl and openssl s_client (OpenSSL 3,
# separate processes).  Unprivileged, loopback only, ports from the
# kernel (reported through a ready file).
#   - HTTP: keep-alive (one connection for several URLs), HTTP/1.0,
#     Connection: close, /big byte-exact (sha256), a slow reader, POST,
#     sequential and 20 parallel clients.
#   - libevent bugs: 1 every reply is queued whole before writing is
#     enabled, so any reply at all; 2 /big complete over HTTP/1.0 and
#     Connection: close (evhttp shuts the socket down right after), and
#     close_notify after it; 3 evhttp frees connections inside callbacks:
#     each helper must exit 0 at the end (ASan/LSan in a sanitizer build;
#     SLUICE_VALGRIND=1 runs the helpers under valgrind).
#   - TLS: 1.0/1.1 refused, 1.2/1.3 accepted; CBC, static-RSA suites,
#     SHA-1 signatures, P-521 refused; the allowed suites and groups
#     accepted; renegotiation refused; ALPN; resumption with tickets.
#   - Admission: silent connections fill the handshake slots, a new
#     client is closed at once, and gets in once they leave or time out;
#     the handshake rate limit.
#   - ldd: no OpenSSL 3 in the helper.
set -u
: "${top_builddir:=.}"
HTTPD=$top_builddir/test/helpers/tls-httpd

skip() { echo "SKIP: $*"; exit 77; }
[ -x "$HTTPD" ] || skip "$HTTPD not built"
command -v curl >/dev/null 2>&1 || skip "no curl"
command -v openssl >/dev/null 2>&1 || skip "no openssl"

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-tls.XXXXXX")
PIDS=
STATUS=0
cleanup() {
	st=$?
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$st" != 0 ] && [ "$st" != 77 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

forget() {
	left=
	for p in $PIDS; do
		[ "$p" = "$1" ] || left="$left $p"
	done
	PIDS=$left
}

# --- the ldd guard (DEPENDENCIES.md: never OpenSSL 3 in our processes)
if command -v ldd >/dev/null 2>&1; then
	bad=$(ldd "$HTTPD" | grep -E 'lib(ssl|crypto)\.so\.3')
	[ -z "$bad" ] || fail "tls-httpd links OpenSSL 3: $bad"
	ldd "$HTTPD" | grep -q 'android/libssl' ||
	    fail "tls-httpd does not link BoringSSL"
	ok "ldd: BoringSSL only"
fi

# --- a self-signed P-256 certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >"$T/openssl-req.log" 2>&1 || fail "openssl req"

# start NAME [helper args]: sets PORT_NAME, PID_NAME
start() {
	name=$1
	shift
	rm -f "$T/$name.ready"
	if [ -n "${SLUICE_VALGRIND:-}" ]; then
		valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite \
		    "$HTTPD" --cert "$T/cert.pem" --key "$T/key.pem" \
		    --ready "$T/$name.ready" "$@" 2>"$T/$name.log" &
	else
		"$HTTPD" --cert "$T/cert.pem" --key "$T/key.pem" \
		    --ready "$T/$name.ready" "$@" 2>"$T/$name.log" &
	fi
	pid=$!
	PIDS="$PIDS $pid"
	i=0
	while ! [ -s "$T/$name.ready" ]; do
		kill -0 "$pid" 2>/dev/null || fail "tls-httpd $name exited"
		i=$((i + 1))
		[ $i -le 400 ] || fail "tls-httpd $name not ready in 20 s"
		sleep 0.05
	done
	eval "PORT_$name=$(cat "$T/$name.ready")"
	eval "PID_$name=$pid"
}

# stop NAME: SIGTERM, and it must exit 0 (sanitizers, valgrind: clean)
stop() {
	eval "pid=\$PID_$1"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	forget "$pid"
	[ "$rc" = 0 ] || fail "tls-httpd $1 exited $rc (see $1.log)"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$T/$1.log"; then
		fail "sanitizer report from tls-httpd $1"
	fi
}

CURL="curl -sS --max-time 30 --cacert $T/cert.pem"

# stat NAME KEY [SUBKEY]: a counter from /stats (over TLS itself)
stat() {
	eval "port=\$PORT_$1"
	$CURL "https://127.0.0.1:$port/stats" >"$T/stats.json" ||
	    fail "GET /stats"
	if [ $# = 3 ]; then
		sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9]*\).*/\1/p" "$T/stats.json"
	else
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/stats.json"
	fi
}

sha() { sha256sum | cut -d' ' -f1; }
BIG_SHA=$("$HTTPD" --print-big | sha)
BIG_LEN=1048576

start main --max-handshakes 64 --rate 100000
U="https://127.0.0.1:$PORT_main"

# --- replies (bug 1: evhttp queues each reply before enabling writes)
body=$($CURL "$U/small") || fail "GET /small"
[ "$body" = "small reply" ] || fail "/small: '$body'"
body=$($CURL "$U/slow") || fail "GET /slow"
[ "$body" = "slow reply" ] || fail "/slow: '$body'"
ok "/small, /slow"

# --- keep-alive: one TLS connection, three requests
done0=$(stat main handshakes done)
$CURL -v "$U/small" "$U/slow" "$U/big" -o "$T/ka1" -o "$T/ka2" -o "$T/ka3" \
    2>"$T/ka.err" || fail "keep-alive curl"
n=$(grep -c 'Re-using existing connection' "$T/ka.err")
[ "$n" = 2 ] || fail "keep-alive: $n connection reuses, expected 2"
[ "$(cat "$T/ka1")" = "small reply" ] && [ "$(cat "$T/ka2")" = "slow reply" ] &&
    [ "$(sha <"$T/ka3")" = "$BIG_SHA" ] || fail "keep-alive bodies"
grep -q 'ALPN: server accepted http/1.1' "$T/ka.err" || fail "ALPN http/1.1"
done1=$(stat main handshakes done)
# +1 for the keep-alive connection, +1 for the first /stats
[ $((done1 - done0)) = 2 ] || fail "keep-alive: $((done1 - done0)) handshakes"
ok "keep-alive: 3 requests on one connection"

# --- bug 2: /big complete when evhttp closes right after the reply
check_big() { # what curl-args...
	what=$1
	shift
	$CURL "$@" "$U/big" -o "$T/big" -D "$T/big.hdr" -v 2>"$T/big.err" ||
	    fail "$what: curl $(tail -n 1 "$T/big.err")"
	len=$(wc -c <"$T/big")
	[ "$len" = $BIG_LEN ] || fail "$what: $len bytes, expected $BIG_LEN"
	[ "$(sha <"$T/big")" = "$BIG_SHA" ] || fail "$what: sha256 differs"
}
check_big "HTTP/1.1"
check_big "HTTP/1.0" -0
grep -q '^HTTP/1.0 200' "$T/big.hdr" || fail "HTTP/1.0 status line"
# No Content-Length on an HTTP/1.0 reply: the body ends at the close, so
# close_notify must come before it (tls_bufferevent_close_notify).
grep -qi '^content-length' "$T/big.hdr" && fail "HTTP/1.0: Content-Length?"
grep -q '(IN), TLS alert, close notify' "$T/big.err" ||
    fail "HTTP/1.0: no close_notify from the server"
check_big "HTTP/1.0, slow reader" -0 --limit-rate 1500k
check_big "Connection: close" -H 'Connection: close'
grep -qi '^connection: close' "$T/big.hdr" || fail "Connection: close echoed"
check_big "Connection: close, slow reader" -H 'Connection: close' \
    --limit-rate 1500k
body=$($CURL -0 "$U/small") || fail "HTTP/1.0 /small"
[ "$body" = "small reply" ] || fail "HTTP/1.0 /small: '$body'"
body=$($CURL -H 'Connection: close' "$U/slow") || fail "close /slow"
[ "$body" = "slow reply" ] || fail "Connection: close /slow: '$body'"
ok "/big byte-exact over HTTP/1.1, HTTP/1.0, Connection: close (fast, slow)"

# --- request bodies (the input path)
head -c 700000 /dev/urandom >"$T/post"
$CURL --data-binary "@$T/post" -H 'Content-Type: application/octet-stream' \
    "$U/echo" -o "$T/post.back" || fail "POST /echo"
[ "$(sha <"$T/post.back")" = "$(sha <"$T/post")" ] || fail "POST echo differs"
ok "POST 700000 bytes echoed"

# --- sequential: 100 connections from one curl, 20 curl processes
args=
for i in $(seq 1 100); do args="$args $U/small"; done
# shellcheck disable=SC2086
$CURL -H 'Connection: close' -w '%{http_code}\n' -o /dev/null $args \
    >"$T/seq" 2>"$T/seq.err" || fail "sequential: $(tail -n 1 "$T/seq.err")"
[ "$(grep -c '^200$' "$T/seq")" = 100 ] || fail "sequential: not 100 x 200"
for i in $(seq 1 20); do
	body=$($CURL "$U/small") || fail "sequential curl $i"
	[ "$body" = "small reply" ] || fail "sequential curl $i: '$body'"
done
ok "120 sequential connections"

# --- 20 parallel clients, each /big
cpids=
for i in $(seq 1 20); do
	$CURL "$U/big" -o "$T/par.$i" 2>"$T/par.$i.err" &
	cpids="$cpids $!"
done
i=0
for p in $cpids; do
	i=$((i + 1))
	wait "$p" || fail "parallel client $i: $(cat "$T/par.$i.err")"
done
for i in $(seq 1 20); do
	[ "$(sha <"$T/par.$i")" = "$BIG_SHA" ] || fail "parallel client $i: sha"
done
ok "20 parallel clients, /big each"

# --- openssl s_client.  Never -quiet (it ignores EOF and hangs).
# sclient REQUEST s_client-args...: output in $T/sc.out
sclient() {
	req=$1
	shift
	printf '%b' "$req" | timeout 15 openssl s_client \
	    -connect "127.0.0.1:$PORT_main" -servername localhost \
	    -CAfile "$T/cert.pem" -ign_eof "$@" >"$T/sc.out" 2>&1
}
GET='GET /small HTTP/1.0\r\n\r\n'

# accepted ARGS...: the handshake and a request work
accepted() {
	sclient "$GET" "$@"
	grep -q '^small reply' "$T/sc.out" ||
	    fail "s_client $*: refused: $(grep -iE 'alert|error' "$T/sc.out" | head -n 2)"
}
# refused PATTERN ARGS...: no request got through, the server counted a
# failed handshake, and s_client's output matches PATTERN
refused() {
	pat=$1
	shift
	f0=$(stat main handshakes failed)
	sclient "$GET" "$@"
	grep -q '^small reply' "$T/sc.out" && fail "s_client $*: accepted"
	grep -qiE "$pat" "$T/sc.out" ||
	    fail "s_client $*: no '$pat' in: $(grep -iE 'alert|error' "$T/sc.out" | head -n 3)"
	f1=$(stat main handshakes failed)
	[ "$f1" -gt "$f0" ] || fail "s_client $*: server counted no failure"
}

LEGACY='DEFAULT:@SECLEVEL=0'
refused 'alert protocol version' -tls1 -cipher "$LEGACY"
refused 'alert protocol version' -tls1_1 -cipher "$LEGACY"
accepted -tls1_2
grep -q 'Protocol *: TLSv1.2' "$T/sc.out" || fail "-tls1_2: not TLS 1.2"
accepted -tls1_3
grep -q 'Protocol *: TLSv1.3' "$T/sc.out" || fail "-tls1_3: not TLS 1.3"
ok "TLS 1.0, 1.1 refused; 1.2, 1.3 accepted"

refused 'alert handshake failure' -tls1_2 -cipher "AES128-SHA:@SECLEVEL=0"
refused 'alert handshake failure' -tls1_2 -cipher "AES128-GCM-SHA256"
refused 'alert handshake failure' -tls1_2 -cipher "ECDHE-ECDSA-AES128-SHA"
refused 'alert handshake failure' -tls1_2 -cipher "ECDHE-ECDSA-AES256-SHA384"
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
    ECDHE-ECDSA-CHACHA20-POLY1305; do
	accepted -tls1_2 -cipher "$c"
	grep -q "Cipher is $c" "$T/sc.out" || fail "-cipher $c: not used"
done
ok "weak TLS 1.2 suites refused; ECDHE+AEAD accepted"

refused 'alert handshake failure' -tls1_3 -groups secp521r1
refused 'alert handshake failure' -tls1_2 -groups secp521r1
for g in X25519 P-256 P-384; do
	accepted -tls1_3 -groups "$g"
done
grep -q 'Server Temp Key: ECDH, secp384r1' "$T/sc.out" || fail "P-384 not used"
refused 'alert handshake failure' -tls1_2 -sigalgs 'ECDSA+SHA1' \
    -cipher "$LEGACY"
ok "groups X25519, P-256, P-384 only; no SHA-1 signatures"

# Renegotiation: BoringSSL servers refuse it (s_client's R command,
# which needs stdin open and no -ign_eof: a fifo held open until
# s_client ends, when the server has closed the connection).
e0=$(stat main errors)
mkfifo "$T/in"
timeout 15 openssl s_client -connect "127.0.0.1:$PORT_main" -tls1_2 \
    -servername localhost -CAfile "$T/cert.pem" <"$T/in" >"$T/sc.out" 2>&1 &
sc=$!
PIDS="$PIDS $sc"
exec 6>"$T/in"
printf 'R\n' >&6
wait "$sc"
forget "$sc"
exec 6>&-
grep -q 'RENEGOTIATING' "$T/sc.out" || fail "s_client did not renegotiate"
grep -qi 'alert no renegotiation' "$T/sc.out" ||
    fail "renegotiation not refused: $(grep -iE 'alert|error' "$T/sc.out")"
e1=$(stat main errors)
[ "$e1" -gt "$e0" ] || fail "renegotiation: no error counted"
ok "renegotiation refused"

# ALPN (RFC 7301 3.2): offering only others is refused
refused 'no application protocol' -alpn h2
accepted -alpn 'h2,http/1.1'
grep -q 'ALPN protocol: http/1.1' "$T/sc.out" || fail "ALPN http/1.1"
ok "ALPN"

# Resumption with tickets, TLS 1.2 and 1.3
r0=$(stat main resumed)
for v in -tls1_2 -tls1_3; do
	rm -f "$T/sess"
	accepted "$v" -sess_out "$T/sess"
	[ -s "$T/sess" ] || fail "$v: no session saved"
	accepted "$v" -sess_in "$T/sess"
	grep -q '^Reused, ' "$T/sc.out" || fail "$v: session not resumed"
done
r1=$(stat main resumed)
[ $((r1 - r0)) = 2 ] || fail "resumed: $((r1 - r0)), expected 2"
ok "tickets: resumption with TLS 1.2 and 1.3"

stop main
ok "main helper exited cleanly"

# --- admission: handshake slots held by silent connections
start busy --max-handshakes 3 --hs-timeout-ms 60000
U="https://127.0.0.1:$PORT_busy"
exec 7<>"/dev/tcp/127.0.0.1/$PORT_busy" || fail "raw connect"
exec 8<>"/dev/tcp/127.0.0.1/$PORT_busy" || fail "raw connect"
exec 9<>"/dev/tcp/127.0.0.1/$PORT_busy" || fail "raw connect"
# The silent three were accepted first (listen backlog order).
$CURL "$U/small" >"$T/busy.out" 2>"$T/busy.err" &&
    fail "a fourth client got in while 3 handshakes were pending"
[ -s "$T/busy.out" ] && fail "refused client got data"
ok "slots full: new client closed ($(tail -n 1 "$T/busy.err"))"
exec 7>&- 8>&- 9>&-
i=0
until body=$($CURL "$U/small" 2>/dev/null) && [ "$body" = "small reply" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "no recovery after the silent clients left"
	sleep 0.05
done
[ "$(stat busy handshakes refused_busy)" -ge 1 ] || fail "refused_busy"
[ "$(stat busy handshakes aborted)" = 3 ] || fail "aborted != 3"
ok "recovered once the silent clients left"
stop busy

start tmo --max-handshakes 2 --hs-timeout-ms 1000
U="https://127.0.0.1:$PORT_tmo"
exec 7<>"/dev/tcp/127.0.0.1/$PORT_tmo" || fail "raw connect"
exec 8<>"/dev/tcp/127.0.0.1/$PORT_tmo" || fail "raw connect"
$CURL "$U/small" >/dev/null 2>&1 && fail "a third client got in"
# The server closes the silent ones after 1 s: EOF on both.
timeout 5 cat <&7 >/dev/null || fail "silent client 1 not closed"
timeout 5 cat <&8 >/dev/null || fail "silent client 2 not closed"
exec 7>&- 8>&-
body=$($CURL "$U/small") && [ "$body" = "small reply" ] ||
    fail "no recovery after the handshake timeout"
[ "$(stat tmo handshakes timed_out)" = 2 ] || fail "timed_out != 2"
ok "silent clients timed out; new client served"
stop tmo

start rate --rate 5
U="https://127.0.0.1:$PORT_rate"
args=
for i in $(seq 1 30); do args="$args $U/small"; done
# shellcheck disable=SC2086
$CURL -H 'Connection: close' -w '%{http_code}\n' -o /dev/null $args \
    >"$T/rate" 2>/dev/null
n=$(grep -c '^200$' "$T/rate")
[ "$n" -ge 5 ] && [ "$n" -lt 30 ] || fail "rate 5/s: $n of 30 served"
i=0
until r=$(stat rate handshakes refused_rate 2>/dev/null) && [ -n "$r" ]; do
	i=$((i + 1))
	[ $i -le 40 ] || fail "stats after the rate test"
	sleep 0.05
done
[ "$r" -ge 1 ] || fail "refused_rate: $r"
ok "rate limit: $n of 30 back-to-back connections served, $r refused"
stop rate

exit 0
