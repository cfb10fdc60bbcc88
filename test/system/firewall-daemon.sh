#!/bin/bash
# The running daemon keeps table inet sluice in step with its policy:
# loaded at start, replaced on apply, kept when sluiced dies (fail
# closed), removed only by `sluicectl firewall flush`.
. "$top_srcdir/test/system/lib.sh"

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
stop_daemon
knft list table inet sluice >/dev/null || fail "a clean stop removed the table"
echo "firewall-daemon: ok"
