#!/bin/bash
# The running daemon keeps table inet sluice in step with its policy:
# loaded at start, replaced on apply, kept when sluiced dies (fail
# closed), removed only by `sluicectl firewall flush`.
. "${top_srcdir:?}/test/system/lib.sh" || exit 99

[ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN) to program nftables"
[ -n "$NS" ] || skip "cannot create a network namespace"
command -v nft >/dev/null || skip "nft not installed"
knft() { "${IN_NS[@]}" nft "$@"; }
set_count() { # set -> elements in the kernel's set
	knft -j list set inet sluice "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "set" in o: print(len(o["set"].get("elem", [])))'
}

start_daemon
knft list table inet sluice >/dev/null || fail "no table inet sluice after start"
expect_exit 0 ctl status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["firewall"]["state"]=="enforced", d["firewall"]' "$T/out" \
	|| fail "status: $(cat "$T/out")"
expect_exit 0 ctl firewall show --nft
cp "$T/out" "$T/rendered.nft"
knft -c -f "$T/rendered.nft" || fail "rendered ruleset does not load"
# What the kernel holds has the same rules as the rendering.
want=$(grep -cE '^\s+(ct|iif|meta|ip|ip6|tcp|udp|th|icmp|icmpv6|counter|limit|add|update)' "$T/rendered.nft")
[ "$want" -gt 5 ] || fail "rendering has only $want rules"

# Drops feed the event log: a client probing a closed port (telnet) from
# another namespace shows up as one firewall-drops event.
PEER="sluice-p$$"
ip netns add "$PEER" && EXTRA_NS=$PEER || fail "cannot create a peer namespace"
ip link add "vg$$" netns "$NS" type veth peer name "vp$$" netns "$PEER" || fail "veth"
ip -n "$NS" addr add 10.77.0.1/24 dev "vg$$"
ip -n "$NS" link set "vg$$" up
ip -n "$PEER" addr add 10.77.0.2/24 dev "vp$$"
ip -n "$PEER" link set "vp$$" up
ip -n "$PEER" link set lo up
for i in 1 2 3; do
	ip netns exec "$PEER" python3 -c '
import socket; s = socket.socket(); s.settimeout(0.5)
try: s.connect(("10.77.0.1", 23))
except OSError: pass' 
done
for i in $(seq 1 40); do
	ctl log --group network --json 2>/dev/null | grep -q '"firewall-drops"' && break
	sleep 0.5
done
expect_exit 0 ctl log --group network --json
assert_contains "$(cat "$T/out")" "telnet port (disabled)" "drop event names the rule"
# ... and the source the kernel counted it for (table inet sluice keeps
# a counter per source address and drop rule).
python3 - "$T/out" <<'PY' || fail "the drop event does not name 10.77.0.2: $(cat "$T/out")"
import json, sys
ev = [r for r in json.load(open(sys.argv[1])) if r["event"] == "firewall-drops"]
f = ev[0]["fields"]
assert f["rule"] == "telnet port (disabled)", f
assert f["sources"].startswith("10.77.0.2 ("), f
assert f["message"].startswith("telnet port (disabled) from 10.77.0.2 "), f
print("drop event:", f["message"], "| sources:", f["sources"])
PY
expect_exit 0 ctl firewall show
assert_contains "$(cat "$T/out")" "telnet port (disabled)" "show lists the counter"
assert_contains "$(cat "$T/out")" "10.77.0.2" "show lists the busiest sources"
expect_exit 0 ctl firewall show --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["source_accounting"]=="on", d["source_accounting"]' "$T/out" \
	|| fail "source accounting is not on: $(cat "$T/out" | head -c 300)"

# Apply an activated list: the set follows, atomically.
cat >"$T/acl.yaml" <<'Y'
base: hardened
services:
  https: { enabled: true }
  modbus-tcp: { enabled: true }
accessible_ip:
  activate: true
  entries:
    - address: 192.0.2.0/24
    - address: 198.51.100.7
    - address: 2001:db8::/48
Y
expect_exit 0 ctl policy apply "$T/acl.yaml"
[ "$(set_count acl4)" = 2 ] || fail "acl4 holds $(set_count acl4) entries, expected 2"
[ "$(set_count acl6)" = 1 ] || fail "acl6 holds $(set_count acl6) entries, expected 1"
expect_exit 0 ctl log --group configuration --json
assert_contains "$(cat "$T/out")" "accessible_ip" "the change is recorded"

# Fail closed: the table outlives a killed daemon.
kill9_daemon
knft list table inet sluice >/dev/null || fail "table removed when sluiced died"
[ "$(set_count acl4)" = 2 ] || fail "rules changed when sluiced died"

# A restart replaces it; flush removes it; reload loads it again.
start_daemon
[ "$(set_count acl4)" = 2 ] || fail "restart did not load the saved policy's firewall"
expect_exit 0 ctl firewall flush
knft list table inet sluice >/dev/null 2>&1 && fail "flush left the table"
expect_exit 0 ctl status
assert_contains "$(cat "$T/out")" "not enforced" "status after flush"
expect_exit 0 ctl reload
knft list table inet sluice >/dev/null || fail "reload did not load the table again"

# Lockout protection: a policy that would drop the operator's own SSH
# session is refused, naming why; --force and --confirm-within pass.
printf 'base: hardened\nfirewall:\n  default_input: drop\n' >"$T/drop.yaml"
SSH="10.9.9.9 50022 10.9.9.1 22"
expect_exit 1 env SSH_CONNECTION="$SSH" "$SLUICECTL" --state-dir "$STATE" policy apply "$T/drop.yaml"
assert_contains "$(cat "$T/err")" "cut off your SSH session from 10.9.9.9 to port 22/tcp" "lockout refusal"
knft list chain inet sluice input | grep -q 'policy drop' && fail "the refused policy reached the kernel"
expect_exit 0 env SSH_CONNECTION="$SSH" "$SLUICECTL" --state-dir "$STATE" policy apply --confirm-within 60 "$T/drop.yaml"
expect_exit 0 ctl policy confirm
expect_exit 0 env SSH_CONNECTION="$SSH" "$SLUICECTL" --state-dir "$STATE" policy apply --force "$T/acl.yaml"
expect_exit 0 ctl firewall ban 10.9.9.9 600
expect_exit 1 env SSH_CONNECTION="$SSH" "$SLUICECTL" --state-dir "$STATE" policy apply "$T/drop.yaml"
assert_contains "$(cat "$T/err")" "cut off your SSH session" "a banned operator is warned too"
expect_exit 0 ctl firewall unban 10.9.9.9

# Bans: in the kernel with a timeout, listed, lifted, kept across a
# restart, never for a management address.
printf 'base: hardened\nfirewall:\n  management: [203.0.113.0/24]\n' >"$T/mgmt.yaml"
expect_exit 0 ctl policy apply "$T/mgmt.yaml"
expect_exit 0 ctl firewall ban 192.0.2.50 600 "test ban"
expect_exit 0 ctl firewall ban 2001:db8::66 600
[ "$(set_count ban4)" = 1 ] || fail "ban4 holds $(set_count ban4) elements"
[ "$(set_count ban6)" = 1 ] || fail "ban6 holds $(set_count ban6) elements"
expect_exit 0 ctl firewall bans
assert_contains "$(cat "$T/out")" "192.0.2.50" "bans lists the ban"
assert_contains "$(cat "$T/out")" "test ban" "bans shows the reason"
expect_exit 0 ctl firewall show --nft
assert_contains "$(cat "$T/out")" "192.0.2.50" "show --nft renders the bans the kernel holds"
expect_exit 1 ctl firewall ban 203.0.113.9
assert_contains "$(cat "$T/err")" "management address" "management never banned"
expect_exit 1 ctl firewall ban 300.1.1.1
expect_exit 0 ctl firewall unban 2001:db8::66
[ "$(set_count ban6)" = 0 ] || fail "unban left the element"
expect_exit 1 ctl firewall unban 2001:db8::66
expect_exit 0 ctl log --group network --json
assert_contains "$(cat "$T/out")" "source-banned" "ban recorded"
assert_contains "$(cat "$T/out")" "source-unbanned" "unban recorded"
# A policy change keeps the bans.
printf 'base: hardened\nfirewall:\n  management: [203.0.113.0/24]\ndevice:\n  name: x\n' >"$T/mgmt2.yaml"
expect_exit 0 ctl policy apply "$T/mgmt2.yaml"
[ "$(set_count ban4)" = 1 ] || fail "a policy apply dropped the ban"
# The kernel expires a short ban by itself, daemon or not.
expect_exit 0 ctl firewall ban 192.0.2.51 2
kill9_daemon
[ "$(set_count ban4)" = 2 ] || fail "expected two bans before expiry"
wait_for sh -c "[ \"\$(${IN_NS[*]} nft -j list set inet sluice ban4 | grep -o 192.0.2.51 | head -1)\" = '' ]" \
	|| fail "the 2 s ban did not expire in the kernel"
# A restart reloads the remaining ban from bans.json.
start_daemon
[ "$(set_count ban4)" = 1 ] || fail "restart lost the ban ($(set_count ban4))"
stop_daemon
knft list table inet sluice >/dev/null || fail "a clean stop removed the table"
echo "firewall-daemon: ok"
