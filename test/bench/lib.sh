# SPDX-License-Identifier: GPL-3.0-or-later
# test/bench/lib.sh - the figures' arithmetic the benchmarks share
# (sourced; only sort, awk, tr and sed, so firewall.sh can use it without
# test/system/lib.sh).

# median: of the numbers on stdin, one a line; n/a for none.
median() {
	sort -n | awk '{a[NR] = $1}
	    END {if (NR == 0) print "n/a";
	    else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# col NAME FILE: the values of NAME=value, one a line.
col() {
	tr ' ' '\n' <"$2" | sed -n "s/^$1=//p"
}

# calc PROGRAM [VAR=VALUE...]: awk's BEGIN block; a value that is no
# number (n/a: every run failed) sets ok to 0.
calc() {
	local prog=$1 a ok=1
	shift
	for a in "$@"; do
		[[ ${a#*=} =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || ok=0
	done
	awk -v ok="$ok" "${@/#/-v}" "BEGIN { $prog }"
}
