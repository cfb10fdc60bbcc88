#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# console.sh - what sluiced's HTTPS console costs, measured against
# Debian's nginx (one worker process, the same certificate and key, TLS
# 1.2 + 1.3, the same cipher suites and groups, 127.0.0.1) with the same
# clients in the same run.  Figures, ratios and "target met/missed"
# lines; it never fails on time (the box it runs on is noisy).  Medians
# of RUNS runs, sluiced and nginx interleaved so drift hits both alike.
#
#   a handshakes  full TLS 1.3 handshakes (no resumption) + GET / over
#                 HTTP/1.0, HS_PROCS client processes (test/bench/
#                 tls-client, BoringSSL) for HS_SECONDS: handshakes/s
#                 and the server's CPU per handshake.  sluiced serves
#                 www/index.html, nginx a copy of it.  Target: ratio
#                 sluiced/nginx >= 0.8.
#   b status      authenticated GET /api/v1/status (the engine's command
#                 path, JSON built per request) with wrk: 2 threads,
#                 WRK_CONNS keep-alive connections, WRK_SECONDS, --latency;
#                 nginx serves a static copy of the same JSON.  Requests/s
#                 ratio, p50 and p99 of each.
#   c memory      the engine's RSS idle and with IDLE idle TLS
#                 connections (each after a handshake and one keep-alive
#                 GET /api/v1/login), fresh daemon; nginx's worker alike.
#
# The policy lifts what would otherwise be measured instead of the
# console: tls.handshakes_per_second 100000 (default 200),
# tls.max_handshakes 4096, console.max_connections_per_source 1024,
# console.request_timeout 300 (idle connections stay), and the
# firewall's per-source limits and SYN-flood defence (off).
#
# Environment: RUNS (3), HS_SECONDS (5), HS_PROCS (2), WRK_SECONDS (10),
# WRK_CONNS (32), IDLE (1000).  As root sluiced programs nftables:
# everything runs in a network namespace of lib.sh's, deleted on exit;
# root without one is a skip, never the host's ruleset.
: "${top_builddir:?}"
# shellcheck source=test/system/lib.sh
. "${top_srcdir:?}/test/system/lib.sh" || exit 99
# shellcheck source=test/bench/lib.sh
. "$top_srcdir/test/bench/lib.sh" || exit 99

TC=$top_builddir/test/bench/tls-client
RUNS=${RUNS:-3}
HS_SECONDS=${HS_SECONDS:-5}
HS_PROCS=${HS_PROCS:-2}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_CONNS=${WRK_CONNS:-32}
IDLE=${IDLE:-1000}
HPORT=$((20000 + $$ % 20000))
NPORT=$((HPORT + 1))
PASSWORD='Console-Passw0rd-4711!'

[ -x "$TC" ] || skip "$TC not built (make bench-console builds it)"
[ -x "$SLUICED" ] || skip "$SLUICED not built"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip "no nginx (apt-get install nginx-light)"
WRK=$(command -v wrk)
command -v curl >/dev/null || skip "no curl"
if [ "$(id -u)" = 0 ] && [ -z "$NS" ]; then
	skip "root but no network namespace: sluiced would program the host's nftables"
fi

ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
if [ "$IDLE" -gt $((NOFILE - 256)) ]; then
	IDLE=$((NOFILE - 256))
	echo "note: RLIMIT_NOFILE $NOFILE: $IDLE idle connections at most"
fi

export SLUICE_COMMON_PASSWORDS="$top_srcdir/src/common-passwords.txt"
export SLUICE_WWW_DIR="$top_srcdir/www"
# Many short connections from one address: room for them (namespace
# only; its own sysctls).
if [ -n "$NS" ]; then
	"${IN_NS[@]}" sysctl -qw net.ipv4.ip_local_port_range="10240 65000" \
	    net.ipv4.tcp_tw_reuse=1 2>/dev/null
fi

in_ns() { "${IN_NS[@]}" "$@"; }
CURL=(curl -sk --max-time 20)


ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
HZ=$(getconf CLK_TCK)

# ---- sluiced --------------------------------------------------------------
cat >"$POLICY" <<EOF
services:
  https: { enabled: true, port: $HPORT }
  http: { enabled: false }
firewall:
  per_source: { max_connections: 0, new_per_second: 0 }
dos_defense:
  syn_flood: { enabled: false }
console:
  max_connections_per_source: 1024
  request_timeout: 300
tls:
  min_version: "1.2"
  max_handshakes: 4096
  handshakes_per_second: 100000
EOF
"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
	fail "policy refused: $(cat "$T/check.out")"

# console_up: start sluiced, wait for HTTPS; sets ENG.
console_up() {
	start_daemon
	ENG=$(engine_pid)
	[ -n "$ENG" ] || fail "no engine process"
	for _ in $(seq 1 200); do
		in_ns "${CURL[@]}" -o /dev/null \
		    "https://127.0.0.1:$HPORT/api/v1/login" && return 0
		sleep 0.05
	done
	fail "the console did not answer on $HPORT"
}
console_up
printf '%s\n' "$PASSWORD" | ctl account add --admin admin >"$T/acct" 2>&1 ||
	fail "account add: $(cat "$T/acct")"

# ---- nginx: the same key and certificate, the same TLS settings -------------
NG=$T/nginx
mkdir -p "$NG/www" "$NG/tmp"
cp "$STATE/console-cert.pem" "$STATE/console-key.pem" "$NG/" ||
	fail "cannot copy the console's certificate"
chmod 0600 "$NG/console-key.pem"
cp "$top_srcdir/www/index.html" "$NG/www/index.html"
# src/tls.c: its TLS 1.2 suites (ECDHE + AEAD), its groups; TLS 1.3's
# three suites (BoringSSL's fixed set); no session cache or tickets, so
# nginx does no more per connection than it must.
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $NG/tmp;
  proxy_temp_path $NG/tmp;
  fastcgi_temp_path $NG/tmp;
  uwsgi_temp_path $NG/tmp;
  scgi_temp_path $NG/tmp;
  types { text/html html; application/json json; }
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $NG/console-cert.pem;
    ssl_certificate_key $NG/console-key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_cache off;
    ssl_session_tickets off;
    root $NG/www;
    location / { index index.html; }
  }
}
EOF
in_ns "$NGINX" -t -p "$NG" -c "$NG/nginx.conf" >"$NG/t.log" 2>&1 ||
	fail "nginx -t: $(cat "$NG/t.log")"

# nginx_up: start it, wait for HTTPS; sets NGW (its one worker).
nginx_up() {
	# Not through in_ns: $! must be nginx's master itself.
	"${IN_NS[@]}" "$NGINX" -p "$NG" -c "$NG/nginx.conf" >>"$NG/out.log" 2>&1 &
	NGM=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $NGM"
	for _ in $(seq 1 200); do
		in_ns "${CURL[@]}" -o /dev/null "https://127.0.0.1:$NPORT/" &&
		    break
		alive "$NGM" || break
		sleep 0.05
	done
	NGW=$(pgrep -P "$NGM" | head -n 1)
	[ -n "$NGW" ] || fail "nginx did not start: $(cat "$NG/out.log" "$NG/error.log")"
	# kill -9 of the master (lib.sh's cleanup) would leave it behind.
	CLEANUP_PIDS="$CLEANUP_PIDS $NGW"
}
nginx_down() {
	kill -QUIT "$NGM" 2>/dev/null
	wait "$NGM" 2>/dev/null
}
nginx_up

echo "HTTPS console: $("$SLUICED" -V 2>&1 | head -n 1) vs $("$NGINX" -v 2>&1 | sed 's/.*: //') (1 worker; $(in_ns "$NGINX" -V 2>&1 | sed -n 's/^built with \(OpenSSL [^ ]*\).*/\1/p')), same key, certificate, TLS versions, suites and groups; 127.0.0.1; median of $RUNS runs, interleaved"
echo "  policy for the benchmark: tls.handshakes_per_second 100000 (default 200), tls.max_handshakes 4096, console.max_connections_per_source 1024, console.request_timeout 300, firewall per-source limits and SYN-flood defence off"
echo "  CPU: $(nproc) cores; both servers single-threaded; clients on the same cores (ratios, not absolute rates, are the result)"

# ---- a: handshakes ------------------------------------------------------------
# hs NAME PORT PID: one run, its line + the server's CPU into $T/hs-NAME.
hs() {
	local c0 c1 line
	c0=$(ticks "$3")
	line=$(in_ns "$TC" handshakes 127.0.0.1 "$2" "$HS_SECONDS" \
	    "$HS_PROCS" 2>>"$T/hs-$1.err") || line="failed"
	c1=$(ticks "$3")
	echo "$line cpu_us=$(calc 'printf "%.1f", (c1 - c0) / hz * 1e6 / (n > 0 ? n : 1)' \
	    c0="$c0" c1="$c1" hz="$HZ" n="$(echo "$line" | sed -n 's/.*handshakes=\([0-9]*\).*/\1/p')")" \
	    >>"$T/hs-$1"
}

echo "a. Full TLS 1.3 handshakes (X25519, ECDSA P-256, no resumption) + GET / (HTTP/1.0): $HS_PROCS client processes x $HS_SECONDS s"
for _ in $(seq 1 "$RUNS"); do
	hs sluiced "$HPORT" "$ENG"
	hs nginx "$NPORT" "$NGW"
done
for s in sluiced nginx; do
	printf '  %-8s runs: %s\n' "$s" "$(col rate "$T/hs-$s" | tr '\n' ' ')"
done
S_HS=$(col rate "$T/hs-sluiced" | median)
N_HS=$(col rate "$T/hs-nginx" | median)
S_HSCPU=$(col cpu_us "$T/hs-sluiced" | median)
N_HSCPU=$(col cpu_us "$T/hs-nginx" | median)
echo "  sluiced: $S_HS handshakes/s  (engine CPU $S_HSCPU us a handshake; errors $(col errors "$T/hs-sluiced" | tr '\n' ' '))"
echo "  nginx:   $N_HS handshakes/s  (worker CPU $N_HSCPU us a handshake; errors $(col errors "$T/hs-nginx" | tr '\n' ' '))"
calc 'if (!ok || n <= 0 || sc <= 0) { print "  ratio: n/a"; exit }
    q = s / n; printf "  ratio sluiced/nginx %.2f handshakes/s (target >= 0.8): %s; CPU a handshake nginx/sluiced %.2f\n",
        q, (q >= 0.8) ? "target met" : "target missed", nc / sc' \
    s="$S_HS" n="$N_HS" sc="$S_HSCPU" nc="$N_HSCPU"
grep -q failed "$T/hs-sluiced" "$T/hs-nginx" &&
	echo "  note: a run failed: $(head -c 300 "$T"/hs-*.err)"

# ---- b: authenticated GET /api/v1/status -----------------------------------------
echo "b. GET /api/v1/status signed in (cookie), wrk -t2 -c$WRK_CONNS -d${WRK_SECONDS}s --latency; nginx: the same JSON as a static file"
if [ -z "$WRK" ]; then
	echo "  n/a: wrk is not installed (apt-get install wrk)"
else
	in_ns "${CURL[@]}" -D "$T/login.hdr" -o "$T/login.json" \
	    -H 'Content-Type: application/json' \
	    -d "{\"name\":\"admin\",\"password\":\"$PASSWORD\"}" \
	    "https://127.0.0.1:$HPORT/api/v1/login" ||
		fail "sign-in: curl failed"
	COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: __Host-sluice_session=\([^;]*\).*/\1/p' \
	    "$T/login.hdr" | tr -d '\r')
	[ -n "$COOKIE" ] || fail "sign-in: no session cookie: $(cat "$T/login.hdr" "$T/login.json")"
	in_ns "${CURL[@]}" -H "Cookie: __Host-sluice_session=$COOKIE" \
	    -o "$NG/www/status.json" -w '%{http_code}' \
	    "https://127.0.0.1:$HPORT/api/v1/status" >"$T/status.code"
	[ "$(cat "$T/status.code")" = 200 ] ||
		fail "GET /api/v1/status: $(cat "$T/status.code") $(head -c 300 "$NG/www/status.json")"
	echo "  body: $(wc -c <"$NG/www/status.json") bytes of JSON from each"

	# wrk_run NAME URL PID [header]: one run into $T/wrk-NAME (one line:
	# rps= p50_us= p99_us= non2xx= errors= cpu_us=).
	wrk_run() {
		local name=$1 url=$2 pid=$3 c0 c1 out=$T/wrk-$1.out
		shift 3
		c0=$(ticks "$pid")
		in_ns "$WRK" -t2 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency \
		    "$@" "$url" >"$out" 2>&1
		c1=$(ticks "$pid")
		awk -v c0="$c0" -v c1="$c1" -v hz="$HZ" '
		function us(v) {
			if (v ~ /us$/) return v + 0;
			if (v ~ /ms$/) return v * 1000;
			if (v ~ /s$/) return v * 1e6;
			return v + 0
		}
		/^ +50%/ { p50 = us($2) }
		/^ +99%/ { p99 = us($2) }
		/^Requests\/sec:/ { rps = $2 }
		/requests in/ { n = $1 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { err = $0; sub(/.*Socket errors: */, "", err); gsub(/ /, "", err) }
		END {
			printf "rps=%s p50_us=%s p99_us=%s non2xx=%d errors=%s cpu_us=%.1f\n",
			    rps == "" ? "n/a" : rps, p50 == "" ? "n/a" : p50,
			    p99 == "" ? "n/a" : p99, bad, err == "" ? "0" : err,
			    (n > 0) ? (c1 - c0) / hz * 1e6 / n : 0
		}' "$out" >>"$T/wrk-$name"
	}
	for _ in $(seq 1 "$RUNS"); do
		wrk_run sluiced "https://127.0.0.1:$HPORT/api/v1/status" "$ENG" \
		    -H "Cookie: __Host-sluice_session=$COOKIE"
		wrk_run nginx "https://127.0.0.1:$NPORT/status.json" "$NGW"
	done
	for s in sluiced nginx; do
		printf '  %-8s runs: %s\n' "$s" "$(col rps "$T/wrk-$s" | tr '\n' ' ')"
		R=$(col rps "$T/wrk-$s" | median)
		P50=$(col p50_us "$T/wrk-$s" | median)
		P99=$(col p99_us "$T/wrk-$s" | median)
		CPU=$(col cpu_us "$T/wrk-$s" | median)
		printf '  %-8s %s requests/s  p50 %s us  p99 %s us  (server CPU %s us a request; non-2xx %s; socket errors %s)\n' \
		    "$s:" "$R" "$P50" "$P99" "$CPU" \
		    "$(col non2xx "$T/wrk-$s" | tr '\n' ' ')" \
		    "$(col errors "$T/wrk-$s" | tr '\n' ' ')"
		eval "W_$s=\$R WP99_$s=\$P99 WCPU_$s=\$CPU"
	done
	# shellcheck disable=SC2154  # set by the eval above
	calc 'if (!ok || n <= 0) { print "  ratio: n/a"; exit }
	    printf "  ratio sluiced/nginx %.2f requests/s; p99 %.2f ms vs %.2f ms; CPU a request %.1fx nginx'"'"'s\n",
	        s / n, sp / 1000, np / 1000, (nc > 0) ? sc / nc : 0' \
	    s="$W_sluiced" n="$W_nginx" sp="$WP99_sluiced" np="$WP99_nginx" \
	    sc="$WCPU_sluiced" nc="$WCPU_nginx"
	echo "  (sluiced answers status through the engine's command path and builds its JSON per request; nginx sends a file)"
	if [ "$(col non2xx "$T/wrk-sluiced" | sort -n | tail -n 1)" != 0 ]; then
		echo "  note: sluiced answered non-2xx: $(grep -A3 -i non-2xx "$T/wrk-sluiced.out" | head -n 4)"
	fi
fi

# ---- c: memory per idle TLS connection --------------------------------------------
# hold NAME PORT PID PATH: IDLE connections held; RSS before and with.
hold() {
	local name=$1 port=$2 pid=$3 path=$4 h r0 r1 line
	r0=$(rss_kb "$pid")
	rm -f "$T/hold-$name.ready"
	"${IN_NS[@]}" "$TC" --path "$path" --ready-file "$T/hold-$name.ready" \
	    hold 127.0.0.1 "$port" "$IDLE" 120 >"$T/hold-$name.out" \
	    2>"$T/hold-$name.err" &
	h=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $h"
	wait_file "$h" "$T/hold-$name.ready" 1200
	line=$(cat "$T/hold-$name.ready" 2>/dev/null)
	# Everything answered before the ready file: settled.
	r1=$(rss_kb "$pid")
	kill "$h" 2>/dev/null
	wait "$h" 2>/dev/null
	echo "  $name: RSS $r0 KB idle, $r1 KB with ${line:-no connections ($(head -c 200 "$T/hold-$name.err"))}"
	calc 'if (!ok || c <= 0) { print "    n/a"; exit }
	    printf "    %.2f KB a connection (%.1f MB for 1,000)\n", (r1 - r0) / c,
	        (r1 - r0) / c * 1000 / 1024' \
	    c="$(echo "$line" | sed -n 's/connected=\([0-9]*\).*/\1/p')" \
	    r0="$r0" r1="$r1"
}

echo "c. Memory: $IDLE idle TLS 1.3 connections, each after one keep-alive GET; fresh processes"
stop_daemon
console_up
nginx_down
nginx_up
echo "  engine limits: $(awk '/open files/ {print "RLIMIT_NOFILE " $4 "/" $5}' "/proc/$ENG/limits")"
hold sluiced "$HPORT" "$ENG" /api/v1/login
hold nginx "$NPORT" "$NGW" /index.html
nginx_down
exit 0
