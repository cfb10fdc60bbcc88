#!/bin/bash
# startup.sh - time from exec to READY=1 (systemd's notion of ready) and
# idle resident memory of both processes, median of N runs.  Targets on
# the 2-core CI machine: ready < 100 ms, RSS (monitor + engine) < 8 MB.
# As a yardstick from the same run, the same is measured for socat
# serving a Unix socket (a minimal single-process daemon).
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
RUNS=${RUNS:-15}
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
chmod 0755 "$T"
# As root, sluiced loads table inet sluice: keep it in a namespace.
IN_NS=()
if [ "$(id -u)" = 0 ] && ip netns add "sluice-b$$" 2>/dev/null; then
	ip -n "sluice-b$$" link set lo up
	IN_NS=(ip netns exec "sluice-b$$")
fi
trap 'st=$?; pkill -9 -f "state-dir $T/state" 2>/dev/null || true; rm -rf "$T"; ip netns del "sluice-b$$" 2>/dev/null || true; exit $st' EXIT

rss_kb() { # pid -> VmRSS of it and its children, in kB
	local total=0 p
	for p in "$1" $(pgrep -P "$1"); do
		total=$((total + $(awk '/^VmRSS:/ {print $2}' /proc/$p/status)))
	done
	echo $total
}

pss_kb() { # pid -> proportional set size of it and its children, in kB
	local total=0 p
	for p in "$1" $(pgrep -P "$1"); do
		total=$((total + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)))
	done
	echo $total
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$T/ready"; : >"$T/rss"; : >"$T/pss"
for i in $(seq 1 "$RUNS"); do
	rm -rf "$T/state"
	out=$("${IN_NS[@]}" "$top_builddir/test/helpers/notify-run" 10000 "$T/pid" -- \
	    "$top_builddir/sluiced" -f -c "$T/none.yaml" --state-dir "$T/state" 2>/dev/null)
	pid=$(cat "$T/pid")
	echo "${out#ready }" >>"$T/ready"
	# Idle: let the loop settle on its first iteration.
	"$top_builddir/sluicectl" --state-dir "$T/state" status >/dev/null
	rss_kb "$pid" >>"$T/rss"
	pss_kb "$pid" >>"$T/pss"
	kill -TERM "$pid"
	for _ in $(seq 1 100); do st=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ] || break; sleep 0.02; done
done
ready=$(median <"$T/ready")
rss=$(median <"$T/rss")
pss=$(median <"$T/pss")

peer_rss="n/a"
if command -v socat >/dev/null; then
	socat UNIX-LISTEN:"$T/peer.sock",fork - </dev/null >/dev/null 2>&1 &
	sp=$!
	for _ in $(seq 1 100); do [ -S "$T/peer.sock" ] && break; sleep 0.01; done
	peer_rss=$(rss_kb "$sp")
	kill "$sp"
fi
echo "sluiced start-up, median of $RUNS runs"
echo "  ready (exec -> READY=1): ${ready} ms   target 100 ms   ratio $(awk -v a="$ready" 'BEGIN{printf "%.2f", a/100}')"
echo "  idle RSS, monitor+engine: ${rss} kB   target 8192 kB   ratio $(awk -v a="$rss" 'BEGIN{printf "%.2f", a/8192}')"
echo "  idle PSS (shared library pages split between the two): ${pss} kB"
echo "  yardstick: socat listening on a Unix socket: ${peer_rss} kB RSS (sluiced/socat $(awk -v a="$rss" -v b="$peer_rss" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'))"
