#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run-one.sh SRCDIR SECONDS TARGET: one libFuzzer target for SECONDS on a
# copy of its seed corpus, from the build directory (make fuzz-run runs
# FUZZ_JOBS of these at once).  Prints one line, or on a finding the tail
# of the target's log; a reproducer is left as fuzz-work/NAME-crash-*, and
# a short account in fuzz-work/NAME.failed that make prints last (CI may
# show only the end of the output).
set -u
srcdir=$1 secs=$2 t=$3
name=${t##*/fuzz_}
work=fuzz-work/$name
rm -rf "$work" fuzz-work/"$name".failed fuzz-work/"$name"-crash-* \
    fuzz-work/"$name"-leak-* fuzz-work/"$name"-timeout-* \
    fuzz-work/"$name"-oom-*
mkdir -p "$work"
cp -R "$srcdir/test/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
if ! "./$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="fuzz-work/$name-" "$work" \
    2>"fuzz-work/$name.log"; then
	{
		echo "fuzz: $t: FAILED (fuzz-work/$name.log):"
		tail -n 60 "fuzz-work/$name.log"
	} >&2
	# The error, the first frames of our code, the reproducer.
	{
		echo "fuzz: $t FAILED:"
		grep -m 1 -E '^==[0-9]+== ?ERROR|runtime error:' \
		    "fuzz-work/$name.log"
		grep -E '^ +#[0-9]+ .* /[^ ]*/(src|test)/' "fuzz-work/$name.log" |
		    head -n 4
		grep -m 1 '^SUMMARY:' "fuzz-work/$name.log"
		grep -m 1 -E '^(artifact_prefix|Test unit written)' \
		    "fuzz-work/$name.log"
		grep -m 1 '^Base64:' "fuzz-work/$name.log"
	} >"fuzz-work/$name.failed" 2>&1
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz-work/$name.log")
cov=$(grep -o 'cov: [0-9]*' "fuzz-work/$name.log" | tail -n 1)
echo "fuzz: $t: ${runs:-?} runs in $secs s, ${cov:-cov: ?}"
