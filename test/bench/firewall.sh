# firewall.sh - table inet sluice under load, in private network
# namespaces (root; nothing is loaded into the host's ruleset).
#
# 1. apply: the libnftnl batch (build + commit, as fw-apply measures it)
#    against `nft -f` of the same IR rendered as text (wall time of the
#    nft process), in the same run, for
#      10, 1,000 and 10,000 accessible-IP entries (/24 networks), and
#      10,000 bans (-b ADDR:SECONDS, one batch) with 10 entries.
#    Median of RUNS (default 5).  Prints the numbers and the ratio
#    nft -f / libnftnl per case.  Needs nft and python3.
#
# 2. SYN flood: namespaces gw, listed and unlisted joined by veth pairs
#    (private addresses).  gw runs sluiced (modbus-tcp on PORT, the
#    accessible-IP list active with the listed host only, syn_flood at
#    its default) routing unit 1 to a sluice-modbus-sim TCP slave on
#    gw's loopback: master (listed) -> veth -> sluiced -> lo -> simulator.
#    The unlisted host floods PORT with `hping3 --flood -S` for FLOOD_S
#    seconds (as fast as hping3 goes here), twice:
#      a. alone: sluiced's CPU time (utime + stime of monitor and
#         engine, /proc/PID/stat) over the flood, against an idle window
#         of the same length.  Target: < 1 % of the flood's duration
#         (the kernel drops the flood; sluiced never sees it).
#      b. with the listed master running `mb-client bench-latency LAT_N`
#         back to back: its p50/p99 (medians over the runs; a run that
#         outlasts the flood is left out) against LAT_RUNS unloaded runs
#         before the floods and LAT_RUNS after them.
#    Also: SYNs sent (hping3), packets the veth delivered to gw and its
#    rate, and the kernel's per-rule drop counters (nft, in gw).
#    Needs ip, hping3, timeout, python3 and a built tree (sluiced,
#    sluicectl, notify-run, mb-client, sluice-modbus-sim).
#
# Figures and "target met/missed" lines; never fails on timing.
# Environment: RUNS (5), PARTS ("apply flood"), FLOOD_S (5), LAT_N (2000),
# LAT_RUNS (5: unloaded runs before the floods, and as many after).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
# shellcheck source=test/bench/lib.sh
. "$top_srcdir/test/bench/lib.sh" || exit 99
FWAPPLY="$top_builddir/test/helpers/fw-apply"
SLUICED="$top_builddir/sluiced"
SLUICECTL="$top_builddir/sluicectl"
NOTIFY_RUN="$top_builddir/test/helpers/notify-run"
MB="$top_builddir/test/helpers/mb-client"
SIM="$top_builddir/contrib/sluice-modbus-sim"
RUNS=${RUNS:-5}
PARTS=${PARTS:-apply flood}
FLOOD_S=${FLOOD_S:-5}
LAT_N=${LAT_N:-2000}
LAT_RUNS=${LAT_RUNS:-5}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, nftables, raw sockets)"; exit 77; }
if ! command -v python3 >/dev/null || ! command -v ip >/dev/null; then
	echo "SKIP: needs python3 and ip"
	exit 77
fi
NS=sluice-bench$$
GW=sluice-fgw$$
LS=sluice-fls$$
UL=sluice-ful$$
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fwbench.XXXXXX")
PIDS=           # processes to stop on exit, by pid
DAEMON=         # sluiced's monitor; the engine follows it (PDEATHSIG)
ENGINE=

# alive PID: running, not a zombie waiting to be reaped.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop PID...: SIGTERM, up to 2 s, then SIGKILL; reaps our children.
stop() {
	local p
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || continue
		for _ in $(seq 1 40); do
			alive "$p" || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

cleanup() {
	local st=$? p
	for p in $PIDS; do
		stop "$p"
	done
	[ -n "$DAEMON" ] && stop "$DAEMON"
	[ -n "$ENGINE" ] && stop "$ENGINE"
	for p in "$NS" "$GW" "$LS" "$UL"; do
		ip netns del "$p" 2>/dev/null
	done
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

want() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- 1: apply -----------------------------------------------------------
apply_part() {
	echo "1. apply"
	command -v nft >/dev/null || { echo "  SKIP: nft not installed"; return 0; }
	[ -x "$FWAPPLY" ] || { echo "  SKIP: $FWAPPLY not built"; return 0; }
	ip netns add "$NS" || exit 1

	# acl-N.yaml: N accessible-IP entries; bans.args: 10,000 -b options.
	python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
for n in (10, 1000, 10000):
    l = ["base: hardened", "services:", "  modbus-tcp: { enabled: true }",
         "accessible_ip:", "  activate: true", "  entries:"]
    for i in range(n):
        l.append("    - { address: 172.%d.%d.0/24 }" % (16 + i // 256, i % 256))
    open("%s/acl-%d.yaml" % (d, n), "w").write("\n".join(l) + "\n")
with open(d + "/bans.args", "w") as f:
    for i in range(10000):
        f.write("-b\n198.%d.%d.%d:%d\n" % (18 + i // 65536, i // 256 % 256,
                                         i % 256, 60 + i % 3600))
EOF

	ip netns exec "$NS" python3 - "$FWAPPLY" "$T" "$RUNS" <<'EOF'
import statistics, subprocess, sys, time
fwapply, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
bans = open(d + "/bans.args").read().split()
cases = [("10 entries", [], "acl-10.yaml"),
         ("1,000 entries", [], "acl-1000.yaml"),
         ("10,000 entries", [], "acl-10000.yaml"),
         ("10,000 bans", bans, "acl-10.yaml")]
m = statistics.median
print("table inet sluice apply, median of %d (libnftnl: build + commit as "
      "fw-apply measures them; nft -f: process wall time, parse included)"
      % runs)
print("%-15s %12s %9s %9s %10s %10s %7s" % ("case", "batch bytes", "build ms",
      "commit ms", "libnftnl", "nft -f ms", "ratio"))
for name, opts, yaml in cases:
    nft = "%s/%s.nft" % (d, name.replace(",", "").replace(" ", "-"))
    with open(nft, "w") as f:
        subprocess.run([fwapply, "-r"] + opts + [d + "/" + yaml], stdout=f,
                       check=True)
    build, commit, lib, text = [], [], [], []
    for _ in range(runs):
        out = subprocess.run([fwapply] + opts + [d + "/" + yaml],
                             capture_output=True, text=True, check=True).stdout
        f = [l.split() for l in out.splitlines() if l.startswith("batch")][0]
        b, c = float(f[4]), float(f[6])
        build.append(b); commit.append(c); lib.append(b + c)
        size = int(f[1])
        t0 = time.perf_counter()
        subprocess.run(["nft", "-f", nft], check=True)
        text.append((time.perf_counter() - t0) * 1000)
    print("%-15s %12d %9.1f %9.1f %10.1f %10.1f %6.1fx" % (name, size,
          m(build), m(commit), m(lib), m(text), m(text) / m(lib)))
EOF
	ip netns del "$NS"
}

# ---- 2: SYN flood -------------------------------------------------------
GW_LS=10.79.1.1         # gw as the listed host sees it
GW_UL=10.79.2.1         # gw as the unlisted host sees it
LS_ADDR=10.79.1.2
PORT=15020              # modbus-tcp, moved off 502 (no privilege needed)
PPORT=15021
HZ=$(getconf CLK_TCK)

now_ns() { date +%s%N; }

# ticks PID...: utime + stime (fields 14, 15; every thread), clock ticks.
ticks() {
	local p
	for p in "$@"; do
		cat "/proc/$p/stat" 2>/dev/null
	done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
# cpu_ticks: the monitor's and the engine's.
cpu_ticks() { ticks "$DAEMON" "$ENGINE"; }
# stime PID: system time alone, clock ticks.
stime() { awk '{ sub(/^.*\) /, ""); print $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# cpu_ns: the same from the scheduler (schedstat, every thread, ns).
cpu_ns() {
	cat /proc/"$DAEMON"/task/*/schedstat /proc/"$ENGINE"/task/*/schedstat \
	    2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# ifstat NS IF: "rx_packets rx_dropped tx_packets" of IF in NS.
ifstat() {
	ip netns exec "$1" sh -c "cd /sys/class/net/$2/statistics &&
	    echo \$(cat rx_packets) \$(cat rx_dropped) \$(cat tx_packets)"
}

# ctr FILE: per-rule packet counters of table inet sluice in gw, summed
# by the rule's comment in the daemon's rendering (a rule without one
# belongs to the comment above it); the kernel lists the chain in the
# order the batch added it.
ctr() {
	ip netns exec "$GW" nft -j list chain inet sluice input 2>"$T/nft.err" |
	    python3 "$T/ctr.py" "$T/running.nft" >"$1" 2>>"$T/nft.err"
}

# drops C0 C1: the rules that counted, "name +N" each, and the total.
drops() {
	awk -F '\t' 'NR == FNR { a[$1] = $2; next }
	    { d = $2 - a[$1]; if (d > 0) { printf "%s%s +%d", sep, $1, d;
	      sep = ", "; s += d } }
	    END { printf "%s(total %d)\n", sep ? "  " : "", s }' "$1" "$2"
}

lat() {     # lat OUT: one bench-latency run, from the listed host
	ip netns exec "$LS" timeout 30 "$MB" --tcp "$GW_LS:$PORT" --unit 1 \
	    bench-latency "$LAT_N" >>"$1" 2>>"$T/mb.err" || echo "failed" >>"$1"
}


# flood OUT: hping3 from the unlisted host for FLOOD_S s, in the background
# (FLOOD = its pid); SIGINT makes hping3 print its statistics.
flood() {
	ip netns exec "$UL" timeout -s INT -k 3 "$FLOOD_S" \
	    hping3 --flood -S -p "$PORT" "$GW_UL" >"$1" 2>&1 &
	FLOOD=$!
	PIDS="$PIDS $FLOOD"
}

# window_start / window_end NAME: CPU, veth and counters around a window.
window_start() {
	ctr "$T/c0" || echo "  note: counters unreadable: $(cat "$T/nft.err")"
	read -r RX0 RXD0 _ < <(ifstat "$GW" gu)
	read -r _ _ TX0 < <(ifstat "$UL" h0)
	M0=$(ticks "$DAEMON") S0=$(stime "$ENGINE") C0=$(cpu_ticks) N0=$(cpu_ns) W0=$(now_ns)
}
window_end() {
	W1=$(now_ns) C1=$(cpu_ticks) N1=$(cpu_ns) M1=$(ticks "$DAEMON") S1=$(stime "$ENGINE")
	read -r RX1 RXD1 _ < <(ifstat "$GW" gu)
	read -r _ _ TX1 < <(ifstat "$UL" h0)
	ctr "$T/c1" || echo "  note: counters unreadable: $(cat "$T/nft.err")"
	awk -v c="$((C1 - C0))" -v m="$((M1 - M0))" -v n="$((N1 - N0))" \
	    -v es="$((S1 - S0))" -v w="$((W1 - W0))" -v hz="$HZ" -v name="$1" \
	    'BEGIN { s = c / hz; e = c - m;
	    printf "  %s: sluiced CPU %.2f s (monitor %.2f, engine %.2f: user %.2f sys %.2f) over %.2f s = %.2f %%; schedstat %.1f ms\n",
	    name, s, m / hz, e / hz, (e - es) / hz, es / hz, w / 1e9,
	    100 * s / (w / 1e9), n / 1e6 }'
	CPU_PCT=$(awk -v c="$((C1 - C0))" -v w="$((W1 - W0))" -v hz="$HZ" \
	    'BEGIN { printf "%.2f", 100 * c / hz / (w / 1e9) }')
}

flood_report() { # OUT: what was sent, delivered and dropped
	local sent
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
	awk -v s="${sent:-n/a}" -v tx="$((TX1 - TX0))" -v rx="$((RX1 - RX0))" \
	    -v rxd="$((RXD1 - RXD0))" -v w="$((W1 - W0))" 'BEGIN {
	    printf "  flood: hping3 sent %s SYNs; unlisted h0 tx %d, gw gu rx %d (rx_dropped %d) in %.2f s = %.0f packets/s\n",
	    s, tx, rx, rxd, w / 1e9, rx / (w / 1e9) }'
	echo "  kernel drops (nft counters in gw): $(drops "$T/c0" "$T/c1")"
	grep -v 'packets transmitted\|round-trip\|^$\|statistic\|HPING\|flood mode' "$1" |
	    head -n 3 | sed 's/^/  hping3: /'
}

# stats OUT: "p50 A us  p99 B us" (medians over OUT's runs), the p99
# of each run, the worst transaction and the errors.
stats() {
	printf "p50 %s us  p99 %s us  (median of runs; p99 a run: %smax %s us; errors %s)" \
	    "$(col p50_us "$1" | median)" "$(col p99_us "$1" | median)" \
	    "$(col p99_us "$1" | tr '\n' ' ')" \
	    "$(col max_us "$1" | sort -n | tail -n 1)" \
	    "$(col errors "$1" | awk '{ s += $1 } END { print s + 0 }')"
}

unloaded() { # WHEN: LAT_RUNS runs, appended to lat-0 as well
	local c es
	: >"$T/lat-0.$1"
	c=$(cpu_ticks) es=$(stime "$ENGINE")
	for _ in $(seq 1 "$LAT_RUNS"); do
		lat "$T/lat-0.$1"
	done
	c=$(($(cpu_ticks) - c)) es=$(($(stime "$ENGINE") - es))
	RUN_TICKS=$((c / LAT_RUNS))
	cat "$T/lat-0.$1" >>"$T/lat-0"
	echo "  unloaded ($1 the floods): bench-latency $LAT_N x $LAT_RUNS: $(stats "$T/lat-0.$1"); sluiced CPU $(awk -v c="$c" -v es="$es" -v hz="$HZ" -v n="$LAT_RUNS" 'BEGIN { printf "%.3f s a run (engine sys %.3f)", c / hz / n, es / hz / n }')"
	grep -q '^failed' "$T/lat-0.$1" && echo "  note: a run failed: $(head -c 300 "$T/mb.err")"
}

flood_part() {
	local miss='' c f pid rest runs
	echo "2. SYN flood from the unlisted host, ${FLOOD_S} s, hping3 --flood"
	for c in hping3 timeout nft; do
		command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
	done
	for f in "$SLUICED" "$SLUICECTL" "$NOTIFY_RUN" "$MB" "$SIM"; do
		[ -x "$f" ] || miss="$miss $f"
	done
	[ -z "$miss" ] || { echo "  SKIP: missing$miss"; return 0; }
	# The engine drops to another user (nobody, if sluice does not
	# exist): let it into the state directory.
	chmod 0755 "$T"

	ip netns add "$GW" 2>/dev/null || { echo "  SKIP: cannot create network namespaces"; return 0; }
	ip netns add "$LS" && ip netns add "$UL" || exit 1
	ip -n "$GW" link set lo up
	ip -n "$GW" link add gl type veth peer name h0 netns "$LS" || exit 1
	ip -n "$GW" link add gu type veth peer name h0 netns "$UL" || exit 1
	ip -n "$GW" addr add $GW_LS/24 dev gl
	ip -n "$GW" addr add $GW_UL/24 dev gu
	ip -n "$GW" link set gl up
	ip -n "$GW" link set gu up
	for c in "$LS" "$UL"; do
		ip -n "$c" link set lo up
		ip -n "$c" link set h0 up
	done
	ip -n "$LS" addr add $LS_ADDR/24 dev h0
	ip -n "$UL" addr add 10.79.2.2/24 dev h0

	# The slave: gw's loopback, a port of its choosing.
	ip netns exec "$GW" "$SIM" --tcp 0 --bind 127.0.0.1 \
	    --ready-file "$T/sim.ready" >"$T/sim.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	for _ in $(seq 1 100); do
		[ -s "$T/sim.ready" ] && break
		alive "$pid" || break
		sleep 0.05
	done
	[ -s "$T/sim.ready" ] || { echo "  FAIL: simulator: $(cat "$T/sim.log")"; exit 1; }

	cat >"$T/sluice.yaml" <<EOF
services:
  modbus-tcp:
    enabled: true
    port: $PORT
    priority_port: $PPORT
accessible_ip:
  activate: true
  entries:
    - { address: $LS_ADDR }
# dos_defense.syn_flood: the default (enabled, 200/s, burst 400).
modbus:
  tcp_channels:
    - name: plc
      host: 127.0.0.1
      port: $(cat "$T/sim.ready")
  routes:
    - units: 1
      channel: plc
EOF
	"$SLUICED" --check -c "$T/sluice.yaml" >"$T/check.out" 2>&1 ||
		{ echo "  FAIL: policy refused: $(cat "$T/check.out")"; exit 1; }
	# sluiced programs nftables in gw only: it runs there.
	if ! ip netns exec "$GW" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- \
	    "$SLUICED" -f -c "$T/sluice.yaml" --state-dir "$T/state" \
	    >"$T/ready.out" 2>>"$T/daemon.log"; then
		DAEMON=$(cat "$T/daemon.pid" 2>/dev/null)
		echo "  FAIL: sluiced did not become ready: $(cat "$T/ready.out")"
		tail -n 20 "$T/daemon.log"
		exit 1
	fi
	DAEMON=$(cat "$T/daemon.pid")
	for _ in $(seq 1 100); do
		ENGINE=$(pgrep -P "$DAEMON" | head -n 1)
		[ -n "$ENGINE" ] && break
		sleep 0.05
	done
	[ -n "$ENGINE" ] || { echo "  FAIL: no engine process"; exit 1; }
	ctl() { "$SLUICECTL" --state-dir "$T/state" "$@"; }
	# Ready: the channel up and the table enforced (both asynchronous).
	for _ in $(seq 1 100); do
		ctl modbus stats --json 2>/dev/null | grep -q '"state": "up"' &&
		    ctl firewall show --json 2>/dev/null | grep -q '"state": "enforced"' &&
		    break
		sleep 0.05
	done
	ctl firewall show --json >"$T/fw.json" 2>&1
	grep -q '"state": "enforced"' "$T/fw.json" ||
		{ echo "  FAIL: firewall not enforced: $(head -c 300 "$T/fw.json")"; exit 1; }
	ctl modbus stats --json 2>/dev/null | grep -q '"state": "up"' ||
		{ echo "  FAIL: channel plc not up"; tail -n 20 "$T/daemon.log"; exit 1; }
	ctl firewall show --nft >"$T/running.nft" || exit 1
	cat >"$T/ctr.py" <<'EOF'
import json, sys
labels, pending, last, inchain = [], None, None, False
for line in open(sys.argv[1]):
    s = line.strip()
    if s.startswith("chain input"):
        inchain = True
    elif not inchain or not s or s.startswith("type ") or s == "}":
        continue
    elif s.startswith("# "):
        pending = s[2:]
    else:
        last = pending or last
        pending = None
        labels.append(last)
rules = [x["rule"] for x in json.load(sys.stdin)["nftables"] if "rule" in x]
if len(rules) != len(labels):
    sys.exit("ctr.py: %d rules in the kernel, %d rendered" % (len(rules), len(labels)))
sums = {}
for label, r in zip(labels, rules):
    for e in r["expr"]:
        if isinstance(e, dict) and "counter" in e:
            sums[label] = sums.get(label, 0) + e["counter"]["packets"]
for label, n in sums.items():
    print("%s\t%d" % (label, n))
EOF
	ctr "$T/c0" || { echo "  FAIL: counters: $(cat "$T/nft.err")"; exit 1; }
	echo "  sluiced $(cat "$T/ready.out") (monitor $DAEMON, engine $ENGINE, $(grep -c . "$T/running.nft") lines of table inet sluice in gw); slave on 127.0.0.1:$(cat "$T/sim.ready")"

	# The policy as the two hosts see it.
	out=$(ip netns exec "$LS" timeout 5 "$MB" --tcp "$GW_LS:$PORT" --unit 1 read-hr 0 3 2>&1)
	[ "$out" = "0 1 2" ] || { echo "  FAIL: listed master: '$out'"; tail -n 20 "$T/daemon.log"; exit 1; }
	if ip netns exec "$UL" timeout 5 python3 -c "import socket; socket.create_connection(('$GW_UL', $PORT), timeout=1).close()" 2>/dev/null; then
		echo "  FAIL: the unlisted host connects to $PORT"
		exit 1
	fi
	echo "  check: the listed master reads unit 1 (0 1 2); the unlisted host's connect times out"

	# Unloaded, before the floods and after them (drift shows).
	: >"$T/lat-0"
	unloaded before
	# Idle window: the same length, nothing sent (the daemon's own
	# timers, e.g. its 5 s counter poll, cost this much).
	window_start
	sleep "$FLOOD_S"        # the measured window itself
	window_end "idle ${FLOOD_S} s (no traffic)"
	IDLE_PCT=$CPU_PCT

	# a. The flood alone.
	window_start
	flood "$T/flood-a.out"
	wait "$FLOOD"
	window_end "a. flood alone"
	FLOOD_PCT=$CPU_PCT
	flood_report "$T/flood-a.out"

	# b. The flood and the master.  Runs start once gw receives the
	# flood (bounded) and count if the flood outlasted them.
	: >"$T/lat-1"
	window_start
	flood "$T/flood-b.out"
	for _ in $(seq 1 100); do
		read -r c _ _ < <(ifstat "$GW" gu)
		[ $((c - RX0)) -ge 1000 ] && break
		sleep 0.01
	done
	rest=0 runs=0
	for _ in $(seq 1 200); do
		alive "$FLOOD" || break
		lat "$T/lat-1.run"
		runs=$((runs + 1))
		if alive "$FLOOD"; then
			cat "$T/lat-1.run" >>"$T/lat-1"
		else
			rest=$((rest + 1))
		fi
		rm -f "$T/lat-1.run"
	done
	wait "$FLOOD"
	window_end "b. flood + master"
	echo "  (the master's $runs runs cost sluiced $(awk -v t="$RUN_TICKS" -v n="$runs" -v hz="$HZ" 'BEGIN { printf "%.2f", t * n / hz }') s unloaded)"
	flood_report "$T/flood-b.out"
	echo "  under flood: bench-latency $LAT_N x $(grep -c . "$T/lat-1"): $(stats "$T/lat-1"); $rest run(s) outlasting the flood left out"
	grep -q '^failed' "$T/lat-1" && echo "  note: a run failed: $(head -c 300 "$T/mb.err")"
	unloaded after
	U50=$(col p50_us "$T/lat-0" | median)
	U99=$(col p99_us "$T/lat-0" | median)
	L50=$(col p50_us "$T/lat-1" | median)
	L99=$(col p99_us "$T/lat-1" | median)

	ctl log --group network --json >"$T/log.json" 2>/dev/null &&
	    echo "  event log: $(grep -c '"firewall-drops"' "$T/log.json") firewall-drops event(s) (from the engine's 5 s poll of the counters: one a rule a minute at most)"
	awk -v p="$FLOOD_PCT" -v i="$IDLE_PCT" 'BEGIN {
	    printf "sluiced CPU during the flood: %.2f %% of the flood'"'"'s duration (idle: %.2f %%; target < 1 %%): %s\n",
	    p, i, (p < 1) ? "target met" : "target missed" }'
	awk -v u50="$U50" -v u99="$U99" -v l50="$L50" -v l99="$L99" \
	    -v n="$(grep -c . "$T/lat-0")" 'BEGIN {
	    if (u50 + 0 <= 0 || u99 + 0 <= 0 || l50 !~ /^[0-9.]+$/) {
	        print "listed master: n/a"; exit }
	    printf "listed master, unloaded (%d runs) -> under flood: p50 %s -> %s us (x%.2f), p99 %s -> %s us (x%.2f)\n",
	    n, u50, l50, l50 / u50, u99, l99, l99 / u99 }'
}

if want apply; then
	apply_part
fi
if want flood; then
	flood_part
fi
exit 0
