#!/bin/bash
# kill -9 of the whole daemon at random moments during `policy apply`:
# the policy file must always load (old or new, never torn).
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

ROUNDS=${SLUICE_KILL9_ROUNDS:-200}
# A policy large enough that writing it takes a moment.
{
	echo "base: hardened"
	echo "accessible_ip:"
	echo "  entries:"
	for i in $(seq 0 3999); do
		printf '    - address: "10.%d.%d.0/24"\n' $((i / 256)) $((i % 256))
	done
} >"$T/big.yaml"
printf 'base: hardened\ndevice:\n  name: small\n' >"$T/small.yaml"
cp "$T/small.yaml" "$POLICY"

start=$(date +%s)
new=0 old=0
for r in $(seq 1 "$ROUNDS"); do
	start_daemon
	if [ $((r % 2)) = 0 ]; then f="$T/big.yaml"; else f="$T/small.yaml"; fi
	ctl policy apply "$f" >/dev/null 2>&1 &
	apid=$!
	# A random moment within 25 ms of the request.
	sleep "$(printf 0.%03d $((RANDOM % 25)))"
	kill9_daemon
	wait "$apid" 2>/dev/null
	out=$("$SLUICED" --check -c "$POLICY" 2>&1) || fail "round $r: policy not loadable after kill -9: $out"
	if cmp -s "$POLICY" "$f"; then new=$((new + 1)); else old=$((old + 1)); fi
	[ $(( $(date +%s) - start )) -lt 240 ] || { echo "stopping after $r rounds (time bound)"; break; }
done
ls "$T" | grep -q 'sluice.yaml.tmp' && echo "note: temporary files left (removed at next start)"
# Both outcomes must occur, or the kills did not land during the apply.
[ "$new" -gt 0 ] && [ "$old" -gt 0 ] || fail "kills never landed mid-apply (new $new, old $old)"
echo "apply-kill9: ok ($r rounds: $new ended with the new file, $old with the old)"
