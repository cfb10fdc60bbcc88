#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# modbus.sh - Modbus latency and throughput seen by a master
# (test/helpers/mb-client, libmodbus), directly against the simulator
# (contrib/sluice-modbus-sim) and through sluiced, in the same run, so the
# gateway is reported as a ratio to the direct figure, never pass/fail on
# time.  Median of RUNS runs of each measurement.
#
#   latency:    LAT_N sequential FC3 x10 reads (after 50 warm-up reads)
#               over RTU on a simulator pty at 115200 baud, twice: as fast
#               as the pty goes (the software's own cost) and with
#               --line-rate (the wire time of a real 115200 line)
#   throughput: MASTERS TCP masters reading back to back for TP_SECONDS
#
# Environment: RUNS (3), LAT_N (1000), MASTERS (64), TP_SECONDS (5).
# The through_sluice_* stubs below will use SLUICED, ratio and D_*;
# cleanup runs from the trap.
# shellcheck disable=SC2034,SC2317
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
MB=$top_builddir/test/helpers/mb-client
SIM=$top_builddir/contrib/sluice-modbus-sim
SLUICED=$top_builddir/sluiced
RUNS=${RUNS:-3}
LAT_N=${LAT_N:-1000}
MASTERS=${MASTERS:-64}
TP_SECONDS=${TP_SECONDS:-5}
BAUD=115200

[ -x "$MB" ] || { echo "SKIP: $MB not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-mbbench.XXXXXX")
chmod 0755 "$T"
PIDS=
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_ready FILE PID: up to 10 s for FILE to be written by PID.
wait_ready() {
	i=0
	while [ ! -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -le 200 ] || return 1
		sleep 0.05
	done
}

# stop PID: end one process we started (the simulator exits on SIGTERM).
stop() {
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

# start_sim NAME ARGS...: start the simulator, wait until it is ready,
# set SIM_PID and SIM_READY (the pty path or the TCP port).
start_sim() {
	name=$1
	shift
	rm -f "$T/$name.ready"
	"$SIM" "$@" --ready-file "$T/$name.ready" >"$T/$name.log" 2>&1 &
	SIM_PID=$!
	PIDS="$PIDS $SIM_PID"
	if ! wait_ready "$T/$name.ready" "$SIM_PID"; then
		echo "  $name: simulator did not come up: $(cat "$T/$name.log")"
		return 1
	fi
	SIM_READY=$(cat "$T/$name.ready")
}

median() {
	sort -n | awk '{a[NR] = $1}
	    END {if (NR == 0) print "n/a";
	    else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# field NAME LINE: the value of NAME=value in an mb-client line.
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
	    if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

# measure_latency OUT MB-ARGS...: RUNS runs of bench-latency LAT_N;
# sets LAT_P50, LAT_P99 (medians, us) and LAT_ERR (total); the lines go
# to $T/OUT.
measure_latency() {
	out=$1
	shift
	: >"$T/$out"
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		"$MB" "$@" bench-latency "$LAT_N" >>"$T/$out" 2>>"$T/$out.err" ||
		    echo "failed" >>"$T/$out"
		r=$((r + 1))
	done
	LAT_P50=$(while read -r l; do field p50_us "$l"; done <"$T/$out" | median)
	LAT_P99=$(while read -r l; do field p99_us "$l"; done <"$T/$out" | median)
	LAT_ERR=$(while read -r l; do field errors "$l"; done <"$T/$out" |
	    awk '{s += $1} END {print s + 0}')
	if grep -q '^failed' "$T/$out"; then
		LAT_ERR="$LAT_ERR (a run failed: $(head -c 200 "$T/$out.err"))"
	fi
}

# measure_tcp OUT HOST:PORT [MB-ARGS...]: RUNS runs of bench-throughput
# MASTERS TP_SECONDS; sets TP_TPS, TP_P50, TP_P99 (medians), TP_ERR.
measure_tcp() {
	out=$1 hp=$2
	shift 2
	: >"$T/$out"
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		"$MB" --tcp "$hp" "$@" bench-throughput "$MASTERS" "$TP_SECONDS" \
		    >>"$T/$out" 2>>"$T/$out.err" || echo "failed" >>"$T/$out"
		r=$((r + 1))
	done
	TP_TPS=$(while read -r l; do field tps "$l"; done <"$T/$out" | median)
	TP_P50=$(while read -r l; do field p50_us "$l"; done <"$T/$out" | median)
	TP_P99=$(while read -r l; do field p99_us "$l"; done <"$T/$out" | median)
	TP_ERR=$(while read -r l; do field errors "$l"; done <"$T/$out" |
	    awk '{s += $1} END {print s + 0}')
	if grep -q '^failed' "$T/$out"; then
		TP_ERR="$TP_ERR (a run failed: $(head -c 200 "$T/$out.err"))"
	fi
}

# The reference figures the gateway is compared with; empty if missing.
D_LAT_P50='' D_LAT_P99='' D_LINE_P50='' D_LINE_P99=''
D_TPS='' D_TP_P50='' D_TP_P99=

direct_latency() {
	if [ ! -x "$SIM" ]; then
		echo "  direct RTU: skipped, $SIM not built (make contrib/sluice-modbus-sim)"
		return 0
	fi
	start_sim direct-rtu --rtu --pty "$T/direct" --baud "$BAUD" || return 0
	measure_latency direct-rtu.out --rtu "$T/direct,$BAUD,N"
	stop "$SIM_PID"
	D_LAT_P50=$LAT_P50 D_LAT_P99=$LAT_P99
	echo "  direct RTU, pty as fast as it goes: p50 $LAT_P50 us, p99 $LAT_P99 us, errors $LAT_ERR"
	start_sim direct-line --rtu --pty "$T/direct" --baud "$BAUD" \
	    --line-rate || return 0
	measure_latency direct-line.out --rtu "$T/direct,$BAUD,N"
	stop "$SIM_PID"
	D_LINE_P50=$LAT_P50 D_LINE_P99=$LAT_P99
	# 8-byte request + 25-byte answer + t3.5, 10 bits a character.
	echo "  direct RTU, --line-rate $BAUD: p50 $LAT_P50 us, p99 $LAT_P99 us, errors $LAT_ERR (wire time alone: $(awk -v b="$BAUD" 'BEGIN {printf "%.0f", (33 + 3.5) * 10 / b * 1e6}') us)"
}

direct_tcp() {
	if [ ! -x "$SIM" ]; then
		echo "  direct TCP: skipped, $SIM not built"
		return 0
	fi
	start_sim direct-tcp --tcp 0 || return 0
	measure_tcp direct-tcp.out "127.0.0.1:$SIM_READY"
	stop "$SIM_PID"
	D_TPS=$TP_TPS D_TP_P50=$TP_P50 D_TP_P99=$TP_P99
	echo "  direct TCP, $MASTERS masters x $TP_SECONDS s: $TP_TPS tps, p50 $TP_P50 us, p99 $TP_P99 us, errors $TP_ERR"
}

# ---- through the gateway: the lead fills these in once sluiced forwards.
#
# through_sluice_latency: start the simulator on a pty as in
# direct_latency (unpaced, then --line-rate), start sluiced (-f, a state
# dir under $T, a policy in $T routing Modbus/TCP unit 1 on a loopback
# port to that pty at $BAUD 8N1), wait for READY=1 (test/helpers/
# notify-run), then
#     measure_latency via-rtu.out --tcp "127.0.0.1:PORT" --unit 1
# and print p50/p99 with "ratio $(ratio "$LAT_P50" "$D_LAT_P50")" (and
# the --line-rate pair against D_LINE_P50/D_LINE_P99).  As root, run
# sluiced and mb-client in a network namespace (see startup.sh).
through_sluice_latency() {
	echo "  through sluice, RTU latency: not yet: gateway"
}

# through_sluice_tcp: the simulator with --tcp 0, sluiced routing its
# Modbus/TCP port (unit 1) to it, then
#     measure_tcp via-tcp.out "127.0.0.1:PORT" --unit 1
# and print tps and p50/p99 with ratios against D_TPS/D_TP_P50/D_TP_P99.
# sluiced caps connections: MASTERS must stay within the policy's limit
# (or the errors say so).
through_sluice_tcp() {
	echo "  through sluice, TCP throughput: not yet: gateway"
}

echo "Modbus through sluice vs direct, median of $RUNS runs (mb-client: libmodbus master; FC3 x10 registers)"
direct_latency
direct_tcp
through_sluice_latency
through_sluice_tcp
exit 0
