#!/bin/sh
# verify-unit.sh - `make check` test: the generated sluiced.service passes
# `systemd-analyze verify`, and its exposure score (`systemd-analyze
# security`) stays at or below MAX_EXPOSURE, so a change that weakens the
# sandbox fails here rather than in the field.  Skips (77) without systemd.
set -eu

MAX_EXPOSURE=3.5
unit=${top_builddir:?}/contrib/systemd/sluiced.service

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed"
	exit 77
fi
if [ ! -f "$unit" ]; then
	echo "FAIL: $unit was not generated"
	exit 1
fi

# verify insists that ExecStart= names an executable: point it at the
# binary just built.  The manual pages are not installed yet either.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/sluiced|\1$top_builddir/sluiced|" \
    "$unit" > "$tmp/sluiced.service"

# Complaints about other units it loads (targets, nftables.service) are
# not ours.
if ! out=$(systemd-analyze verify --man=no "$tmp/sluiced.service" 2>&1) ||
    printf '%s\n' "$out" | grep -q 'sluiced\.service'; then
	printf '%s\n' "$out"
	echo "FAIL: systemd-analyze verify"
	exit 1
fi
echo "ok: systemd-analyze verify"

# --offline appeared in systemd 250; older versions only score loaded units.
if ! sec=$(systemd-analyze security --offline=yes "$tmp/sluiced.service" 2>&1); then
	echo "ok: systemd-analyze security --offline is not supported here; not scored"
	exit 0
fi
score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
	printf '%s\n' "$sec"
	echo "FAIL: no exposure level in the output above"
	exit 1
fi
if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
	printf '%s\n' "$sec" | grep '✗' || :
	echo "FAIL: exposure $score > $MAX_EXPOSURE: the unit's sandbox got weaker"
	exit 1
fi
echo "ok: exposure $score <= $MAX_EXPOSURE"
