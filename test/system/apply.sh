#!/bin/bash
# policy check / diff / apply / history / rollback through sluicectl.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

start_daemon          # embedded default, no file yet

cat >"$T/new.yaml" <<'Y'
# my site policy
base: hardened
device:
  name: plant-7
services:
  https:
    enabled: true
  modbus-tcp:
    enabled: true
    port: 1502
Y
printf 'base: hardened\ndevice:\n  name: "x"\n  name: "y"\n' >"$T/dup.yaml"

expect_exit 0 ctl policy check "$T/new.yaml"
expect_exit 2 ctl policy check "$T/dup.yaml"
assert_contains "$(cat "$T/err")" "dup.yaml:4:3" "check names file:line:col"
assert_contains "$(cat "$T/err")" "duplicate" "check says duplicate"
expect_exit 1 ctl policy check "$T/does-not-exist.yaml"

expect_exit 0 ctl policy diff "$T/new.yaml"
assert_contains "$(cat "$T/out")" 'device.name: "sluice" -> "plant-7"' "diff line"
assert_contains "$(cat "$T/out")" "services.modbus-tcp.port: 502 -> 1502" "diff port"

expect_exit 2 ctl policy apply "$T/dup.yaml"
[ ! -e "$POLICY" ] || fail "a rejected apply created the policy file"

expect_exit 0 ctl policy apply "$T/new.yaml"
[ -e "$POLICY" ] || fail "apply did not create $POLICY"
grep -q "my site policy" "$POLICY" || fail "the saved file is not the user's text"
"$SLUICED" --check -c "$POLICY" >/dev/null || fail "saved file does not load"
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "plant-7" "applied"
expect_exit 0 ctl log --group configuration --json
assert_contains "$(cat "$T/out")" "configuration-changed" "apply recorded"
assert_contains "$(cat "$T/out")" "uid=" "apply records who"
assert_contains "$(cat "$T/out")" "services.modbus-tcp.port: 502 -> 1502" \
    "the event carries the diff"

# Same again: nothing to do.
expect_exit 0 ctl policy apply "$T/new.yaml"
assert_contains "$(cat "$T/out")" "no changes" "idempotent apply"

sed 's/plant-7/plant-8/' "$T/new.yaml" >"$T/new2.yaml"
expect_exit 0 ctl policy apply "$T/new2.yaml"
expect_exit 0 ctl policy history
assert_contains "$(cat "$T/out")" " 1 " "history lists version 1"
assert_contains "$(cat "$T/out")" " 2 " "history lists version 2"

# Rollback 1 = plant-7, rollback 3 (after it) = the embedded default.
expect_exit 0 ctl policy rollback
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "plant-7" "rollback to version 1"
expect_exit 64 ctl policy rollback 11
expect_exit 1 ctl policy rollback 9

# Eleven more applies keep at most ten versions.
for i in $(seq 1 11); do
	sed "s/plant-7/plant-r$i/" "$T/new.yaml" >"$T/r.yaml"
	expect_exit 0 ctl policy apply "$T/r.yaml"
done
n=$(ls "$STATE/policy-history" | wc -l)
[ "$n" = 10 ] || fail "history keeps $n versions, expected 10"

# A relative base is saved in self-contained form.
mkdir -p "$T/site"
printf 'device:\n  name: from-base\n' >"$T/site/base.yaml"
printf 'base: ./base.yaml\nservices:\n  https:\n    enabled: true\n' >"$T/site/top.yaml"
expect_exit 0 ctl policy apply "$T/site/top.yaml"
"$SLUICED" --check -c "$POLICY" >/dev/null || fail "saved file with relative base does not load"
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "from-base" "relative base applied"

# The running daemon and the file on disk agree after a restart.
stop_daemon
start_daemon
expect_exit 0 ctl policy show
assert_contains "$(cat "$T/out")" "from-base" "restart loads the saved policy"

# Commit-confirmed: an unconfirmed change reverts by itself.
printf 'base: hardened\ndevice:\n  name: unconfirmed\n' >"$T/c1.yaml"
expect_exit 0 ctl policy apply --confirm-within 2 "$T/c1.yaml"
assert_contains "$(cat "$T/out")" "reverted in 2 s" "confirm notice"
expect_exit 0 ctl status --json
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["confirm_within_s"] <= 2' "$T/out" \
	|| fail "status does not show the pending confirmation"
expect_exit 1 ctl policy apply "$T/new.yaml"
assert_contains "$(cat "$T/err")" "awaits" "apply refused while a change awaits confirmation"
wait_for sh -c "'$SLUICECTL' --state-dir '$STATE' policy show | grep -q from-base" \
	|| fail "the unconfirmed change was not reverted"
"$SLUICED" --check -c "$POLICY" >/dev/null || fail "reverted file does not load"
grep -q unconfirmed "$POLICY" && fail "the saved file still holds the unconfirmed change"
expect_exit 0 ctl log --group configuration --json
assert_contains "$(cat "$T/out")" "confirm timer" "revert recorded"
# A confirmed change stays, and there is nothing left to confirm.
printf 'base: hardened\ndevice:\n  name: confirmed\n' >"$T/c2.yaml"
expect_exit 0 ctl policy apply --confirm-within 30 "$T/c2.yaml"
expect_exit 0 ctl policy confirm
expect_exit 0 ctl status --json
python3 -c 'import json,sys; assert "confirm_within_s" not in json.load(open(sys.argv[1]))' "$T/out" \
	|| fail "confirmation still pending after confirm"
expect_exit 1 ctl policy confirm
expect_exit 64 ctl policy apply --confirm-within 0 "$T/c2.yaml"

# A change too big for one event: whole "key: old -> new" entries in
# order, then "; ...", within the event's 1 KiB value cap.
{
	printf 'base: hardened\naccessible_ip:\n  activate: false\n  entries:\n'
	for i in $(seq 1 40); do
		printf '    - address: 10.9.0.%d\n      comment: "cell %d"\n' "$i" "$i"
	done
} >"$T/big.yaml"
expect_exit 0 ctl policy apply "$T/big.yaml"
expect_exit 0 ctl log --group configuration --json
python3 - "$T/out" <<'PY' || fail "the big change's event diff"
import json, re, sys
evs = [e for e in json.load(open(sys.argv[1])) if e.get("event") == "configuration-changed"]
f = evs[-1]["fields"]
d = f["diff"]
assert int(f["changes"]) >= 40 and len(d.encode()) <= 1023, (f["changes"], len(d))
assert d.endswith("; ..."), d[-60:]
parts = d[:-len("; ...")].split("; ")
assert len(parts) >= 5 and all(re.fullmatch(r"\S+: .* -> .*", p) for p in parts), parts
assert "accessible_ip.entries[10.9.0.1/32]" in d, d[:200]
PY
echo "apply: ok"
