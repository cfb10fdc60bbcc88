#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# agent.sh - what sluiced's agent mode (modbus.mode: agent) costs:
# figures and ratios, "target met/missed" lines; it never fails on time
# (the box it runs on is noisy).  make bench-agent.
#
#   1 reads from memory  MASTERS libmodbus masters (mb-client
#                  bench-throughput, FC3 x 10 registers at 0) for
#                  TP_SECONDS against sluiced in agent mode, whose 10
#                  holding registers are tags filled by one cyclic
#                  command from a simulator, vs the same masters against
#                  a plain libmodbus server answering from RAM
#                  (test/bench/modbus-server).  Medians of RUNS runs,
#                  interleaved.  Target: tps ratio sluice/libmodbus >= 1.
#   2 polling cost DEVICES simulated devices, each its own
#                  sluice-modbus-sim process on its own port and its own
#                  tcp_channel (one TCP connection each, as 50 PLCs on a
#                  network would be; a single simulator answering 50 unit
#                  ids would put every device's answers in one
#                  single-threaded process, which no plant does), 2 FC3
#                  commands of 100 registers each, 200 uint16 tags a
#                  device: 10,000 tags.  For each interval of INTERVALS
#                  a fresh sluiced; the engine's CPU over CPU_SECONDS
#                  (utime + stime of /proc/ENGINE/stat, and the
#                  scheduler's ns for precision), the polls that really
#                  happened (sluicectl modbus stats: good/bad/overruns),
#                  and CPU per 1,000 tag updates/s.  The simulators'
#                  registers never change, so every update rewrites the
#                  value a tag holds (nothing subscribes to the table
#                  here, so a change would only add a compare).
#
# Environment: RUNS (3), MASTERS (64), TP_SECONDS (5), DEVICES (50),
# CPU_SECONDS (10), INTERVALS ("1000 100 20"); VERBOSE=1 prints every
# mb-client run of 1.
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
SRV=$top_builddir/test/bench/modbus-server
RUNS=${RUNS:-3}
MASTERS=${MASTERS:-64}
TP_SECONDS=${TP_SECONDS:-5}
DEVICES=${DEVICES:-50}
CPU_SECONDS=${CPU_SECONDS:-10}
INTERVALS=${INTERVALS:-1000 100 20}
REGS=100                        # a command's quantity = tags it fills
CMDS_PER_DEV=2
TAGS_PER_DEV=$((REGS * CMDS_PER_DEV))
PORT=$((20000 + ($$ + 3301) % 20000))
PPORT=$((PORT + 1))
HZ=$(getconf CLK_TCK)

[ -x "$MB" ] || skip "$MB not built (make check TESTS=)"
[ -x "$SIM" ] || skip "$SIM not built"
[ -x "$SRV" ] || skip "$SRV not built (make check TESTS=)"
[ -x "$SLUICED" ] || skip "$SLUICED not built"
if [ "$(id -u)" = 0 ] && [ -z "$NS" ]; then
	skip "root but no network namespace: sluiced would program the host's nftables"
fi
if [ "$DEVICES" -lt 1 ] || [ "$DEVICES" -gt 64 ]; then
	skip "DEVICES=$DEVICES: modbus.tcp_channels allows 1-64"
fi
[ $((DEVICES * TAGS_PER_DEV)) -le 10000 ] ||
	skip "DEVICES=$DEVICES: more than the 10000 tags a policy may have"

now_ns() { date +%s%N; }

# start_bg NAME CMD...: a server in the daemon's namespace that writes
# its port to $T/NAME.ready; sets BG_PID.  Waiting is wait_ready's.
start_bg() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	"${IN_NS[@]}" "$@" --ready-file "$T/$name.ready" >>"$T/$name.log" 2>&1 &
	BG_PID=$!
	CLEANUP_PIDS="$CLEANUP_PIDS $BG_PID"
}

# wait_ready NAME PID: its port, once the ready file is there.
wait_ready() {
	wait_file "$2" "$T/$1.ready" || fail "$1 did not start: $(cat "$T/$1.log")"
	cat "$T/$1.ready"
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# A process's CPU: clock ticks (utime + stime, all threads) and the
# scheduler's nanoseconds on a CPU (every thread's schedstat).
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# (Summed by the shell: mawk's printf %d stops at 2^31 - 1 ns.)
cpu_ns() {
	local f ns _ s=0
	for f in /proc/"$1"/task/*/schedstat; do
		read -r ns _ <"$f" 2>/dev/null && s=$((s + ns))
	done
	echo "$s"
}

sum() { awk '{s += $1} END {printf "%.0f\n", s}'; }


# check_start: validate $POLICY and start sluiced; ENG = the engine.
check_start() {
	"$SLUICED" --check -c "$POLICY" >"$T/check.out" 2>&1 ||
		fail "policy refused: $(head -c 2000 "$T/check.out")"
	start_daemon
	ENG=$(engine_pid)
	[ -n "$ENG" ] || fail "no engine process"
}

# stats FILE: sluicectl modbus stats --json into FILE.
stats() {
	ctl modbus stats --json >"$1" 2>"$T/stats.err" ||
		fail "modbus stats: $(cat "$T/stats.err")"
}

# wait_polled N: until every command has answered at least once (10 s).
wait_polled() {
	local _
	for _ in $(seq 1 200); do
		stats "$T/s.json"
		python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["agent"]["commands"]
sys.exit(not (len(c) == int(sys.argv[2]) and all(x["good"] > 0 for x in c)))' \
		    "$T/s.json" "$1" && return 0
		sleep 0.05
	done
	fail "commands not all polled: $(head -c 2000 "$T/s.json")"
}

common_policy() {
	cat <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $PPORT
# The kernel's per-source limits would cap one host's masters: off, the
# engine is what is measured (loopback is accepted before them anyway).
firewall:
  per_source:
    max_connections: 0
    new_per_second: 0
dos_defense:
  syn_flood:
    enabled: false
EOF
}

# ---- 1: reads served from memory ---------------------------------------
# run OUT PID ARGS...: one mb-client run against the server PID, its
# line appended to $T/run-OUT, PID's CPU time (ns) to $T/cpu-OUT.
run() {
	local out=$T/run-$1 pid=$2 c0
	shift 2
	c0=$(cpu_ns "$pid")
	"${IN_NS[@]}" "$MB" "$@" >>"$out" 2>>"$out.err" || echo "failed" >>"$out"
	echo $(($(cpu_ns "$pid") - c0)) >>"$T/cpu-${out##*/run-}"
}

# summary OUT: medians into TPS P50 P99; SPREAD (lowest-highest tps);
# ERR; CPU_TX (the server's CPU a transaction, us, over all runs).
summary() {
	local f=$T/run-$1
	TPS=$(col tps "$f" | median)
	P50=$(col p50_us "$f" | median)
	P99=$(col p99_us "$f" | median)
	ERR=$(col errors "$f" | sum)
	grep -q '^failed' "$f" && ERR="$ERR (a run failed: $(head -c 200 "$f.err"))"
	SPREAD="$(col tps "$f" | sort -n | head -n 1)-$(col tps "$f" | sort -n | tail -n 1)"
	CPU_TX=$(calc 'if (n > 0) printf "%.1f", ns / n / 1000; else print "n/a"' \
	    ns="$(sum <"$T/cpu-$1")" n="$(col transactions "$f" | sum)")
}

bench_reads() {
	local sim_pid sim_port srv_pid srv_port i p out l_tps l_p50 l_p99 l_cpu

	start_bg plc "$SIM" --tcp 0 --bind 127.0.0.1 --unit 1
	sim_pid=$BG_PID
	sim_port=$(wait_ready plc "$sim_pid")
	start_bg libmodbus "$SRV" --bind 127.0.0.1
	srv_pid=$BG_PID
	srv_port=$(wait_ready libmodbus "$srv_pid")
	{
		common_policy
		echo "tags:"
		for i in $(seq 0 9); do
			echo "  - {name: r$i, type: uint16, command: regs, at: $i}"
		done
		cat <<EOF
modbus:
  mode: agent
  tcp_channels:
    - {name: plc, host: 127.0.0.1, port: $sim_port}
  commands:
    - {name: regs, channel: plc, unit: 1, function: 3, address: 0, quantity: 10, interval_ms: 100}
  agent:
    map:
EOF
		for i in $(seq 0 9); do
			echo "      - {table: holding_registers, address: $i, tag: r$i}"
		done
	} >"$POLICY"
	check_start
	wait_polled 1
	# Both answer the same ten registers, or the race is not fair.
	for p in "$PORT" "$srv_port"; do
		out=$("${IN_NS[@]}" "$MB" --tcp "127.0.0.1:$p" read-hr 0 10)
		[ "$out" = "0 1 2 3 4 5 6 7 8 9" ] ||
			fail "port $p: read-hr 0 10 gave '$out'"
	done
	for _ in $(seq 1 "$RUNS"); do
		run lib "$srv_pid" --tcp "127.0.0.1:$srv_port" \
		    bench-throughput "$MASTERS" "$TP_SECONDS"
		run agent "$ENG" --tcp "127.0.0.1:$PORT" \
		    bench-throughput "$MASTERS" "$TP_SECONDS"
	done
	if [ -n "${VERBOSE:-}" ]; then
		sed 's/^/  [libmodbus run] /' "$T/run-lib"
		sed 's/^/  [agent run] /' "$T/run-agent"
	fi
	summary lib
	l_tps=$TPS l_p50=$P50 l_p99=$P99 l_cpu=$CPU_TX
	echo "  libmodbus server (select loop): $TPS tps  p50 $P50 us  p99 $P99 us  errors $ERR  (runs $SPREAD tps; server CPU $CPU_TX us a transaction)"
	summary agent
	echo "  sluiced agent (tag table):      $TPS tps  p50 $P50 us  p99 $P99 us  errors $ERR  (runs $SPREAD tps; engine CPU $CPU_TX us a transaction)"
	calc 'if (!ok || l <= 0) { print "  ratio: n/a"; exit }
	    q = s / l; printf "  ratio sluice/libmodbus: tps %.2f (target >= 1.0): %s;  p50 %.2f  p99 %.2f\n",
	        q, (q >= 1.0) ? "target met" : "target missed",
	        (l50 > 0) ? s50 / l50 : 0, (l99 > 0) ? s99 / l99 : 0' \
	    s="$TPS" l="$l_tps" s50="$P50" l50="$l_p50" s99="$P99" l99="$l_p99"
	# Masters and server share the box's cores: what each server
	# spends on a transaction is the steadier comparison.
	calc 'if (ok && l > 0) printf "  ratio sluice/libmodbus: CPU a transaction %.2f\n", s / l' \
	    s="$CPU_TX" l="$l_cpu"
	stats "$T/s.json"
	python3 - "$T/s.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["agent"]["commands"][0]
n = d["connections"]
print("  [agent] command regs: good %d bad %d overruns %d period %.1f ms;"
      " connections accepted %d refused %d evicted %d"
      % (c["good"], c["bad"], c["overruns"], c["period_ms"],
         n["accepted"], n["refused"], n["evicted"]))
PY
	stop_daemon
	stop_pid "$srv_pid"
	stop_pid "$sim_pid"
}

# ---- 2: 10,000 tags from 50 devices -------------------------------------
# big_policy INTERVAL_MS: DEVICES channels, 2 commands and 200 tags each;
# "off": the commands are there but disabled (the engine at rest).
# The ports of the simulators are in $T/devNN.ready.
big_policy() {
	common_policy
	awk -v dev="$DEVICES" -v regs="$REGS" -v ncmd="$CMDS_PER_DEV" \
	    -v ival="$1" -v dir="$T" 'BEGIN {
		print "tags:"
		for (d = 1; d <= dev; d++)
			for (c = 0; c < ncmd; c++)
				for (r = 0; r < regs; r++)
					printf "  - {name: d%02d.r%03d, command: d%02d-%c, at: %d}\n",
					    d, c * regs + r, d, 97 + c, r
		print "modbus:"
		print "  mode: agent"
		print "  tcp_channels:"
		for (d = 1; d <= dev; d++) {
			f = sprintf("%s/dev%02d.ready", dir, d)
			getline port <f
			close(f)
			printf "    - {name: dev%02d, host: 127.0.0.1, port: %d}\n", d, port
		}
		print "  commands:"
		for (d = 1; d <= dev; d++)
			for (c = 0; c < ncmd; c++)
				printf "    - {name: d%02d-%c, channel: dev%02d, unit: 1, function: 3, address: %d, quantity: %d, %s}\n",
				    d, 97 + c, d, c * regs, regs,
				    ival == "off" ? "trigger: disabled" : "interval_ms: " ival
	}'
}

# poll_window: the engine's CPU and the commands' counters over
# CPU_SECONDS; prints one line of figures (python below reads it).
poll_window() { # INTERVAL_MS
	local t0 t1 k0 k1 n0 n1
	stats "$T/p0.json"
	t0=$(now_ns) k0=$(cpu_ticks "$ENG") n0=$(cpu_ns "$ENG")
	sleep "$CPU_SECONDS"
	t1=$(now_ns) k1=$(cpu_ticks "$ENG") n1=$(cpu_ns "$ENG")
	stats "$T/p1.json"
	python3 - "$T/p0.json" "$T/p1.json" "$REGS" "$1" \
	    $((t1 - t0)) $((k1 - k0)) "$HZ" $((n1 - n0)) "${IDLE_CPU:-0}" <<'PY'
import json, sys
p0, p1 = (json.load(open(f)) for f in sys.argv[1:3])
regs, ival, wall_ns, ticks, hz, cpu_ns = map(int, sys.argv[3:9])
idle = float(sys.argv[9])
secs = wall_ns / 1e9
c0 = {c["name"]: c for c in p0["agent"]["commands"]}
c1 = p1["agent"]["commands"]
d = {k: sum(c[k] - c0[c["name"]][k] for c in c1)
     for k in ("good", "bad", "overruns", "polls")}
ch0 = {c["name"]: c["stats"] for c in p0["channels"]}
chd = {k: sum(c["stats"][k] - ch0[c["name"]][k] for c in p1["channels"])
       for k in ("requests", "responses", "timeouts", "retries", "late",
                 "dropped")}
periods = sorted(c["period_ms"] for c in c1)
want = len(c1) * 1000.0 / ival
rate = d["good"] * regs / secs
cpu_t = 100.0 * ticks / hz / secs
cpu_s = 100.0 * cpu_ns / 1e9 / secs
print("  interval %d ms: %d commands, %.0f polls/s asked, %.1f done;"
      " %.0f tag updates/s (good %d bad %d overruns %d in %.2f s)"
      % (ival, len(c1), want, d["polls"] / secs, rate, d["good"], d["bad"],
         d["overruns"], secs, ))
print("    period_ms (average since start) min/median/max %.1f/%.1f/%.1f;"
      " channels: requests %d responses %d timeouts %d retries %d late %d"
      " dropped %d; not ok now: %d"
      % (periods[0], periods[len(periods) // 2], periods[-1],
         chd["requests"], chd["responses"], chd["timeouts"], chd["retries"],
         chd["late"], chd["dropped"], sum(not c["ok"] for c in c1)))
if rate > 0:
    print("    engine CPU %.2f %% of a core (utime+stime: %d ticks of 1/%d s;"
          " scheduler: %.2f %%) = %.3f %% of a core per 1,000 tag updates/s"
          " (%.3f %% without the %.2f %% at rest)"
          % (cpu_t, ticks, hz, cpu_s, cpu_s * 1000.0 / rate,
             max(cpu_s - idle, 0) * 1000.0 / rate, idle))
else:
    print("    engine CPU %.2f %% of a core; no tag updates: n/a" % cpu_t)
print("RESULT %f %f" % (rate, cpu_s))
PY
}

bench_polling() {
	local d p pids='' ival line rates='' first last k0 k1 n0 n1 t0 t1
	for d in $(seq -f %02g 1 "$DEVICES"); do
		start_bg "dev$d" "$SIM" --tcp 0 --bind 127.0.0.1 --unit 1
		pids="$pids $BG_PID"
	done
	d=0
	for p in $pids; do
		d=$((d + 1))
		wait_ready "$(printf dev%02d "$d")" "$p" >/dev/null
	done
	# The engine at rest with the same table: what no poll costs.
	big_policy off >"$POLICY"
	check_start
	echo "  policy: $(wc -c <"$POLICY") bytes; sluiced ready in ${READY_MS:-?} ms; engine RSS $(awk '/^VmRSS:/ {print $2}' "/proc/$ENG/status") KB"
	sleep 1
	k0=$(cpu_ticks "$ENG") n0=$(cpu_ns "$ENG") t0=$(now_ns)
	sleep "$CPU_SECONDS"
	k1=$(cpu_ticks "$ENG") n1=$(cpu_ns "$ENG") t1=$(now_ns)
	IDLE_CPU=$(calc 'printf "%.3f", 100 * n / w' n=$((n1 - n0)) w=$((t1 - t0)))
	echo "  at rest (commands disabled): engine CPU $(calc 'printf "%.2f", 100 * k / hz / (w / 1e9)' k=$((k1 - k0)) hz="$HZ" w=$((t1 - t0))) % of a core ($((k1 - k0)) ticks; scheduler: $IDLE_CPU %)"
	stop_daemon
	for ival in $INTERVALS; do
		big_policy "$ival" >"$POLICY"
		check_start
		wait_polled $((DEVICES * CMDS_PER_DEV))
		# A tag that was not polled, or holds the wrong register,
		# would make the counters lie.
		ctl tags --json >"$T/tags.json" || fail "sluicectl tags"
		python3 - "$T/tags.json" "$((DEVICES * TAGS_PER_DEV))" <<'PY' ||
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))}
assert len(t) == int(sys.argv[2]), len(t)
bad = [n for n, x in t.items() if x["quality"] != "good"]
assert not bad, "%d tags not good, e.g. %s" % (len(bad), t[bad[0]])
for n, x in t.items():
    assert float(x["value"]) == int(n.split(".r")[1]), x
PY
			fail "tag table: $(head -c 1000 "$T/tags.json")"
		# One interval, so the first poll of every command is behind.
		sleep "$(calc 'printf "%.2f", (i < 1000 ? 1 : i / 1000)' i="$ival")"
		poll_window "$ival" >"$T/poll.out"
		grep -v '^RESULT' "$T/poll.out"
		line=$(sed -n 's/^RESULT //p' "$T/poll.out")
		rates="$rates${line// /:} "
		stop_daemon
	done
	for p in $pids; do
		stop_pid "$p"
	done
	# The fixed cost (timers, the control socket) weighs on the slowest
	# rate; the slope between the slowest and the fastest is what more
	# tags cost.
	# shellcheck disable=SC2086
	set -- $rates
	if [ $# -ge 2 ]; then
		first=$1 last=${!#}
		calc 'if (!ok || r2 <= r1) exit;
		    printf "  marginal: %.3f %% of a core per 1,000 tag updates/s (slope %.0f -> %.0f tag updates/s)\n",
		        (c2 - c1) * 1000 / (r2 - r1), r1, r2' \
		    r1="${first%%:*}" c1="${first##*:}" r2="${last%%:*}" c2="${last##*:}"
	fi
	echo "  anchor: EMQ Neuron: about 1.2 cores for 15,000 tags/s (= 8 % of a core per 1,000 tags/s)"
}

echo "Agent mode (modbus.mode: agent), medians of $RUNS runs where cheap"
echo "1. Reads from memory: $MASTERS masters x $TP_SECONDS s, FC3 x 10 holding registers at 0"
bench_reads
echo "2. Polling: $((DEVICES * TAGS_PER_DEV)) uint16 tags from $DEVICES devices ($DEVICES simulators, one tcp_channel each; $CMDS_PER_DEV FC3 commands of $REGS registers a device); engine CPU over $CPU_SECONDS s"
bench_polling
exit 0
