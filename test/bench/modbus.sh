#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# modbus.sh - what sluiced's Modbus gateway costs a master
# (test/helpers/mb-client, libmodbus), measured against the same master
# talking to the simulator (contrib/sluice-modbus-sim) directly, in the
# same run.  Figures, ratios and "target met/missed" lines; it never
# fails on time (the box it runs on is noisy).  Medians of RUNS runs,
# direct and gateway runs interleaved so drift hits both alike.
#
#   1 latency      LAT_N sequential FC3 x10 reads (after 50 warm-up)
#                  over RTU on a simulator pty, 115200 8N2: directly vs
#                  Modbus/TCP -> sluiced -> a second simulator's pty;
#                  unpaced (the software's own cost) and --line-rate
#                  (the wire time of a real line).  Target: added p50
#                  <= 0.1 ms, added p99 <= 0.5 ms.
#   2 utilisation  UTIL_MASTERS TCP masters through sluiced to ONE
#                  --line-rate line for UTIL_SECONDS, against the
#                  maximum the frame sizes and 3.5-character gaps allow.
#                  Target >= 90 %.
#   3 TCP -> TCP   MASTERS masters for TP_SECONDS through sluiced (a
#                  TCP channel to the simulator) vs directly.  Target:
#                  ratio >= 0.7.
#   4 scale        IDLE idle connections held on sluiced: the engine's
#                  RSS and an active master's latency (SCALE_LAT_N
#                  reads, TCP channel) with and without them.  Target:
#                  < 4 KB a connection (40 MB for 10k), p99 within 1 ms.
#
# Environment: RUNS (3), LAT_N (1000), UTIL_MASTERS (8), UTIL_SECONDS
# (5), MASTERS (64), TP_SECONDS (4), IDLE (4000), SCALE_LAT_N (2000).
# As root sluiced programs nftables: everything that talks to it runs in
# a network namespace of lib.sh's, deleted on exit; root without one is
# a skip, never the host's ruleset.
: "${top_builddir:?}"
# shellcheck source=test/system/lib.sh
. "${top_srcdir:?}/test/system/lib.sh" || exit 99
# shellcheck source=test/bench/lib.sh
. "$top_srcdir/test/bench/lib.sh" || exit 99

MB=$top_builddir/test/helpers/mb-client
SIM=$top_builddir/contrib/sluice-modbus-sim
RUNS=${RUNS:-3}
LAT_N=${LAT_N:-1000}
UTIL_MASTERS=${UTIL_MASTERS:-8}
UTIL_SECONDS=${UTIL_SECONDS:-5}
MASTERS=${MASTERS:-64}
TP_SECONDS=${TP_SECONDS:-4}
IDLE=${IDLE:-4000}
SCALE_LAT_N=${SCALE_LAT_N:-2000}
BAUD=115200
CHAR_BITS=11                    # 8N2: start + 8 data + 2 stop
MAX_CONNS=4096                  # the policy's upper bound for a gateway
PORT=$((20000 + $$ % 20000))
PPORT=$((PORT + 1))

[ -x "$MB" ] || skip "$MB not built (make check TESTS=)"
[ -x "$SIM" ] || skip "$SIM not built"
[ -x "$SLUICED" ] || skip "$SLUICED not built"
if [ "$(id -u)" = 0 ] && [ -z "$NS" ]; then
	skip "root but no network namespace: sluiced would program the host's nftables"
fi

# The engine holds a descriptor per connection, hold-idle one per
# socket: both inherit this shell's limit.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
IDLE_NOTE=
if [ "$IDLE" -gt $((NOFILE - 256)) ]; then
	IDLE=$((NOFILE - 256))
	IDLE_NOTE=" (RLIMIT_NOFILE $NOFILE allows no more)"
fi
if [ "$IDLE" -gt $((MAX_CONNS - 16)) ]; then
	IDLE=$((MAX_CONNS - 16))
	IDLE_NOTE=" (modbus.listeners.max_connections caps a gateway at $MAX_CONNS)"
fi

mb() { "${IN_NS[@]}" "$MB" "$@"; }

now_us() { echo $(($(date +%s%N) / 1000)); }

# start_sim NAME ARGS...: a simulator in the daemon's namespace; sets
# SIM_PID and SIM_READY (the pty path or the TCP port).
start_sim() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	"${IN_NS[@]}" "$SIM" --ready-file "$T/$name.ready" "$@" \
	    >>"$T/$name.log" 2>&1 &
	SIM_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $SIM_PID"
	wait_file "$SIM_PID" "$T/$name.ready" ||
		fail "simulator $name did not start: $(cat "$T/$name.log")"
	SIM_READY=$(cat "$T/$name.ready")
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# gw_start NAME CHANNELS-AND-ROUTES-YAML NCHANNELS: a fresh sluiced
# with this Modbus configuration; waits for its channels to be up.
gw_start() {
	local name=$1 yaml=$2 nch=$3
	GW=$name
	cat >"$POLICY" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $PPORT
# The kernel's per-source limits would cap one host's masters (and
# syn_flood would pace hold-idle's burst of connects): off, the
# engine's own cap is what is measured.
firewall:
  per_source:
    max_connections: 0
    new_per_second: 0
dos_defense:
  syn_flood:
    enabled: false
modbus:
  listeners:
    max_connections: $MAX_CONNS
$yaml
EOF
	"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
		fail "policy refused: $(cat "$T/check.out")"
	start_daemon
	for _ in $(seq 1 200); do
		ctl modbus stats --json >"$T/stats.json" 2>/dev/null &&
		    [ "$(grep -c '"state": "up"' "$T/stats.json")" -ge "$nch" ] &&
		    break
		sleep 0.05
	done
	[ "$(grep -c '"state": "up"' "$T/stats.json")" -ge "$nch" ] ||
		fail "$name: channels not up: $(cat "$T/stats.json")"
	ENG=$(engine_pid)
	[ -n "$ENG" ] || fail "$name: no engine process"
	ENG_CPU_TICKS=0 ENG_CPU_US=0
}

gw_stop() {
	stop_daemon
	ENG=
}

# The engine's CPU time in clock ticks (utime + stime).
eng_ticks() {
	awk '{print $14 + $15}' "/proc/$ENG/stat" 2>/dev/null || echo 0
}

eng_rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$ENG/status" 2>/dev/null
}

# via CMD...: run a measurement through the gateway, adding the engine's
# CPU time and the wall time to ENG_CPU_TICKS / ENG_CPU_US.
via() {
	local c0 t0
	c0=$(eng_ticks)
	t0=$(now_us)
	"$@"
	ENG_CPU_US=$((ENG_CPU_US + $(now_us) - t0))
	ENG_CPU_TICKS=$((ENG_CPU_TICKS + $(eng_ticks) - c0))
}

# The engine's share of one CPU while the via runs went on.
eng_cpu() {
	awk -v t="$ENG_CPU_TICKS" -v us="$ENG_CPU_US" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { if (us > 0) printf "%.0f %%", 100 * t / hz / (us / 1e6);
	    else print "n/a" }'
}

# eng_cpu_per N: the engine's CPU time per transaction over the via runs
# (the ratio above also depends on what the 2 cores had left for it).
eng_cpu_per() {
	awk -v t="$ENG_CPU_TICKS" -v n="$1" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { if (n > 0) printf "%.1f us", t / hz * 1e6 / n; else print "n/a" }'
}

# One line from `sluicectl modbus stats --json` for the running gateway.
gw_stats() {
	ctl modbus stats --json >"$T/stats.json" 2>"$T/stats.err" || {
		echo "  [$GW] modbus stats failed: $(cat "$T/stats.err")"
		return 0
	}
	python3 - "$T/stats.json" "$GW" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, c = d["total"], d["connections"]
# The channels' own counters: retries, line errors and queue depth are
# counted there (the total has not always had them).
keys = ("requests", "responses", "timeouts", "retries", "late", "dropped",
        "crc_errors", "frame_errors")
ch = {k: sum(x["stats"][k] for x in d["channels"]) for k in keys}
ch["queue_max"] = max([x["stats"]["queue_max"] for x in d["channels"]] or [0])
exc = " ".join("%s:%d" % kv for kv in sorted(t.get("exceptions", {}).items())) or "0"
rtt = t.get("rtt_us", {})
print("  [%s] sluicectl (channels): requests %d responses %d timeouts %d"
      " retries %d late %d dropped %d crc/frame %d/%d queue_max %d;"
      " exceptions to masters %s; connections accepted %d refused %d"
      " evicted %d; rtt avg/max %s/%s us"
      % (sys.argv[2], ch["requests"], ch["responses"], ch["timeouts"],
         ch["retries"], ch["late"], ch["dropped"], ch["crc_errors"],
         ch["frame_errors"], ch["queue_max"], exc, c["accepted"],
         c["refused"], c["evicted"], rtt.get("avg", "-"), rtt.get("max", "-")))
diff = [k for k in keys + ("queue_max",) if t.get(k) != ch[k]]
if diff:
    print("  [%s] note: \"total\" disagrees with the channels' sum on %s"
          % (sys.argv[2], ", ".join("%s (%s vs %s)" % (k, t.get(k), ch[k])
                                    for k in diff)))
PY
}

# Connections open on the gateway, by its own count.
open_conns() {
	ctl modbus stats --json 2>/dev/null | python3 -c \
	    'import json, sys; print(json.load(sys.stdin)["connections"]["open"])' \
	    2>/dev/null
}



sum() { awk '{s += $1} END {print s + 0}'; }
max() { sort -n | tail -n 1; }


# run OUT ARGS...: one mb-client run, its line appended to $T/OUT.
run() {
	local out=$T/run-$1
	shift
	mb "$@" >>"$out" 2>>"$out.err" || echo "failed" >>"$out"
}

# summary OUT: medians of OUT's runs into P50, P99, TPS; ERR (total
# errors, and why a run failed), MAXLAT (worst single transaction).
summary() {
	local f=$T/run-$1
	P50=$(col p50_us "$f" | median)
	P99=$(col p99_us "$f" | median)
	TPS=$(col tps "$f" | median)
	MAXLAT=$(col max_us "$f" | max)
	ERR=$(col errors "$f" | sum)
	if grep -q '^failed' "$f"; then
		ERR="$ERR (a run failed: $(head -c 200 "$f.err"))"
	fi
}

# ---- 1: added latency, RTU line ---------------------------------------
serial_yaml() { # DEVICE
	cat <<EOF
  serial_channels:
    - name: line
      device: $1
      baud: $BAUD
      parity: none
      stop_bits: 2
  routes:
    - units: 1
      channel: line
EOF
}

bench_latency() { # MODE (unpaced | line-rate)
	local mode=$1 rate='' d_p50 d_p99
	[ "$mode" = line-rate ] && rate=--line-rate
	start_sim "direct-$mode" --rtu --pty "$T/direct-$mode" --baud "$BAUD" \
	    --stop-bits 2 $rate
	local dsim=$SIM_PID
	start_sim "gw-$mode" --rtu --pty "$T/gw-$mode" --baud "$BAUD" \
	    --stop-bits 2 $rate
	local gsim=$SIM_PID
	gw_start "latency $mode" "$(serial_yaml "$T/gw-$mode")" 1
	for _ in $(seq 1 "$RUNS"); do
		run "lat-d-$mode" --rtu "$T/direct-$mode,$BAUD,N" bench-latency "$LAT_N"
		via run "lat-g-$mode" --tcp "127.0.0.1:$PORT" --unit 1 \
		    bench-latency "$LAT_N"
	done
	summary "lat-d-$mode"
	d_p50=$P50 d_p99=$P99
	echo "  direct RTU:            p50 $P50 us  p99 $P99 us  max $MAXLAT us  errors $ERR"
	summary "lat-g-$mode"
	echo "  TCP -> sluiced -> RTU: p50 $P50 us  p99 $P99 us  max $MAXLAT us  errors $ERR  (engine CPU $(eng_cpu))"
	calc 'a50 = p50 - d50; a99 = p99 - d99;
	    if (!ok) print "  added: n/a";
	    else printf "  added: p50 %.3f ms  p99 %.3f ms  (target p50 <= 0.1 ms, p99 <= 0.5 ms): %s\n",
	        a50 / 1000, a99 / 1000,
	        (a50 <= 100 && a99 <= 500) ? "target met" : "target missed"' \
	    p50="$P50" d50="$d_p50" p99="$P99" d99="$d_p99"
	gw_stats
	gw_stop
	stop_pid "$dsim"
	stop_pid "$gsim"
}

# ---- 2: line utilisation ----------------------------------------------
bench_util() {
	local gsim char_us cycle_us max_tps
	start_sim util --rtu --pty "$T/util" --baud "$BAUD" --stop-bits 2 \
	    --line-rate
	gsim=$SIM_PID
	gw_start "utilisation" "$(serial_yaml "$T/util")" 1
	for _ in $(seq 1 "$RUNS"); do
		via run util --tcp "127.0.0.1:$PORT" --unit 1 \
		    bench-throughput "$UTIL_MASTERS" "$UTIL_SECONDS"
	done
	summary util
	# Request 8 bytes, t3.5, response 5 + 2 * 10 = 25 bytes, t3.5 before
	# the next request (serial line V1.02, 2.5.1.1).
	char_us=$(calc 'printf "%.3f", bits * 1e6 / baud' bits=$CHAR_BITS baud=$BAUD)
	cycle_us=$(calc 'printf "%.1f", (8 + 3.5 + 25 + 3.5) * c' c="$char_us")
	max_tps=$(calc 'printf "%.1f", 1e6 / c' c="$cycle_us")
	echo "  $UTIL_MASTERS masters x $UTIL_SECONDS s: $TPS tps  p50 $P50 us  p99 $P99 us  errors $ERR  (engine CPU $(eng_cpu))"
	echo "  theoretical maximum: $max_tps tps (8 + 3.5 + 25 + 3.5 characters of $char_us us = $cycle_us us a transaction)"
	calc 'p = 100 * tps / max; if (!ok) print "  utilisation: n/a";
	    else printf "  utilisation: %.1f %% (target >= 90 %%): %s\n", p,
	        (p >= 90) ? "target met" : "target missed"' \
	    tps="$TPS" max="$max_tps"
	gw_stats
	gw_stop
	stop_pid "$gsim"
}

# ---- 3: TCP -> TCP, and 4: scale on the same gateway -------------------
bench_tcp_and_scale() {
	local tsim d_tps hold rss0 rss1 rss2 conns
	start_sim plc --tcp 0 --bind 127.0.0.1
	tsim=$SIM_PID
	gw_start "TCP" "  tcp_channels:
    - name: plc
      host: 127.0.0.1
      port: $SIM_READY
  routes:
    - units: 1
      channel: plc" 1

	echo "3. TCP -> TCP: $MASTERS masters x $TP_SECONDS s, FC3 x10"
	for _ in $(seq 1 "$RUNS"); do
		run tp-d --tcp "127.0.0.1:$SIM_READY" --unit 1 \
		    bench-throughput "$MASTERS" "$TP_SECONDS"
		via run tp-g --tcp "127.0.0.1:$PORT" --unit 1 \
		    bench-throughput "$MASTERS" "$TP_SECONDS"
	done
	summary tp-d
	d_tps=$TPS
	echo "  direct:         $TPS tps  p50 $P50 us  p99 $P99 us  errors $ERR"
	summary tp-g
	echo "  through sluice: $TPS tps  p50 $P50 us  p99 $P99 us  errors $ERR  (engine CPU $(eng_cpu), $(eng_cpu_per "$(col transactions "$T/run-tp-g" | sum)") a transaction)"
	calc 'if (!ok || d <= 0) { print "  ratio: n/a"; exit }
	    q = g / d; printf "  ratio %.2f (target >= 0.7): %s\n", q,
	        (q >= 0.7) ? "target met" : "target missed"' g="$TPS" d="$d_tps"
	gw_stats

	echo "4. Scale: $IDLE idle connections$IDLE_NOTE; the policy caps a gateway at $MAX_CONNS (modbus.listeners.max_connections)"
	echo "  engine limits: $(awk '/open files/ {print "RLIMIT_NOFILE " $4 "/" $5}' "/proc/$ENG/limits")"
	rss0=$(eng_rss_kb)
	for _ in $(seq 1 "$RUNS"); do
		run scale-0 --tcp "127.0.0.1:$PORT" --unit 1 \
		    bench-latency "$SCALE_LAT_N"
	done
	"${IN_NS[@]}" "$MB" --tcp "127.0.0.1:$PORT" hold-idle "$IDLE" 600 \
	    >"$T/hold.out" 2>"$T/hold.err" &
	hold=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $hold"
	for _ in $(seq 1 600); do
		grep -q '^connected=' "$T/hold.out" && break
		alive "$hold" || break
		sleep 0.05
	done
	# The engine accepts in its own time: wait for it to count them.
	conns=$(col connected "$T/hold.out")
	for _ in $(seq 1 200); do
		[ "$(open_conns)" -ge "${conns:-1}" ] 2>/dev/null && break
		sleep 0.05
	done
	rss1=$(eng_rss_kb)
	echo "  hold-idle: $(head -n 1 "$T/hold.out") $(head -c 200 "$T/hold.err")"
	for _ in $(seq 1 "$RUNS"); do
		run scale-1 --tcp "127.0.0.1:$PORT" --unit 1 \
		    bench-latency "$SCALE_LAT_N"
	done
	rss2=$(eng_rss_kb)
	kill "$hold" 2>/dev/null
	wait "$hold" 2>/dev/null
	echo "  hold-idle at the end: $(sed -n 2p "$T/hold.out")"
	for _ in $(seq 1 200); do
		[ "$(open_conns)" = 0 ] && break
		sleep 0.05
	done
	echo "  engine RSS: $rss0 KB idle, $rss1 KB with the connections, $rss2 KB after the latency runs, $(eng_rss_kb) KB once they closed ($(open_conns) open)"
	calc 'g = r1 - r0;
	    if (ok && c > 0) printf "  growth: %d KB for %d connections = %.2f KB a connection, %.1f MB for 10k (target < 4 KB, 40 MB): %s\n",
	        g, c, g / c, g / c * 10000 / 1024, (g / c < 4) ? "target met" : "target missed";
	    else print "  growth: n/a, no connection held"' \
	    c="${conns:-0}" r0="$rss0" r1="$rss1"
	summary scale-0
	local p99_0=$P99
	echo "  active master, $SCALE_LAT_N reads, TCP channel, alone:       p50 $P50 us  p99 $P99 us  max $MAXLAT us  errors $ERR"
	summary scale-1
	echo "  active master, $SCALE_LAT_N reads, TCP channel, with $conns idle: p50 $P50 us  p99 $P99 us  max $MAXLAT us  errors $ERR"
	calc 'd = p1 - p0; if (!ok) print "  p99 difference: n/a";
	    else printf "  p99 difference %.3f ms (target within 1 ms): %s\n",
	        d / 1000, (d <= 1000) ? "target met" : "target missed"' \
	    p0="$p99_0" p1="$P99"
	gw_stats
	gw_stop
	stop_pid "$tsim"
}

echo "Modbus through sluiced vs direct, median of $RUNS runs (mb-client: libmodbus master; FC3 x10 registers)"
echo "1. Added latency: $LAT_N reads, RTU $BAUD 8N2 on a simulator pty"
echo " unpaced (as fast as the pty goes):"
bench_latency unpaced
echo " --line-rate (a real $BAUD line's wire time: $(calc 'printf "%.0f", (8 + 3.5 + 25) * bits / baud * 1e6' bits=$CHAR_BITS baud=$BAUD) us a transaction):"
bench_latency line-rate
echo "2. Line utilisation: $UTIL_MASTERS TCP masters -> sluiced -> one --line-rate $BAUD 8N2 line"
bench_util
bench_tcp_and_scale
exit 0
