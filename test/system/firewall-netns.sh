# firewall-netns.sh - table inet sluice in a real kernel, in namespaces
# this test creates: a gateway (gw), a host in the accessible-IP list
# (listed) and one that is not (unlisted; its entry exists but is not
# active), joined to gw by veth pairs.  fw-apply programs the table
# inside gw; TCP connects from the two hosts check the guide's matrix
# (MGate 5000 hardening guide, section 3.4) for the three modes, then:
# closed ports of disabled services, refusals counted per source (and
# the table without that accounting when the kernel refuses it), a
# 10,000-entry list read back
# (no silent truncation), idempotent re-apply, a 2 s ban expiring,
# management addresses never banned, loopback untouched, per-source
# connection caps and rates, and the same kernel state from the batch as
# from `nft -f` of the rendered text.
# Needs root, ip, nft and python3; exits 77 otherwise.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
FWAPPLY="$top_builddir/test/helpers/fw-apply"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for c in ip nft python3 timeout; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
done
[ -x "$FWAPPLY" ] || skip "$FWAPPLY not built"

GW=sluice-gw$$
LS=sluice-ls$$
UL=sluice-ul$$
CMP=sluice-cmp$$
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fw.XXXXXX")
LISTENER=
fails=0

cleanup() {
	st=$?
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
	for ns in "$GW" "$LS" "$UL" "$CMP"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$GW" 2>/dev/null || skip "cannot create network namespaces"
ip netns add "$LS" && ip netns add "$UL" || exit 1
ip -n "$GW" link set lo up
# veth ends are created in gw and moved out: names stay short.
ip -n "$GW" link add gl type veth peer name h0 netns "$LS" || exit 1
ip -n "$GW" link add gu type veth peer name h0 netns "$UL" || exit 1
ip -n "$GW" addr add 10.77.1.1/24 dev gl
ip -n "$GW" addr add 10.77.2.1/24 dev gu
ip -n "$GW" link set gl up
ip -n "$GW" link set gu up
for ns in "$LS" "$UL"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set h0 up
done
ip -n "$LS" addr add 10.77.1.2/24 dev h0
ip -n "$UL" addr add 10.77.2.2/24 dev h0

PROTO=15020     # modbus-tcp (protocol class), moved off 502
SVC=14430       # https (service class)
OFF=14230       # telnet, disabled: must be closed
OTHER=14999     # no service: open only while default_input is accept

# Listeners in gw: one process, all three ports; "ready" once bound.
cat > "$T/listen.py" <<'EOF'
import selectors, socket, sys
sel = selectors.DefaultSelector()
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(p)))
    s.listen(128)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.close()
EOF
ip netns exec "$GW" timeout 300 python3 "$T/listen.py" $PROTO $SVC $OFF $OTHER \
    > "$T/listen.out" 2>&1 &
LISTENER=$!
i=0
until grep -q ready "$T/listen.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "FAIL: listener not ready"; cat "$T/listen.out"; exit 1; }
	kill -0 "$LISTENER" 2>/dev/null || { echo "FAIL: listener died"; cat "$T/listen.out"; exit 1; }
	sleep 0.05
done

# conn NS ADDR PORT: 0 when a TCP connection is established.  Closed
# ports reject (RST), so a refusal is immediate; a drop times out at 1.5 s.
conn() {
	ip netns exec "$1" timeout 5 python3 -c \
	    "import socket; socket.create_connection(('$2', $3), timeout=1.5).close()" \
	    2>/dev/null
}

expect() {   # expect ok|no NS ADDR PORT WHAT
	if conn "$2" "$3" "$4"; then got=ok; else got=no; fi
	if [ "$got" = "$1" ]; then
		echo "ok: $5: $1"
	else
		echo "FAIL: $5: expected $1, got $got"
		fails=$((fails + 1))
	fi
}

policy() {   # policy FILE ACL-FLAGS [EXTRA-YAML]
	cat > "$1" <<EOF
base: hardened
services:
  modbus-tcp: { enabled: true, port: $PROTO, priority_port: 15021 }
  https: { enabled: true, port: $SVC }
  telnet: { enabled: false, port: $OFF }
accessible_ip:
  $2
  entries:
    - { address: 10.77.1.2 }
    - { address: 10.77.2.2, active: false }
firewall:
  closed_ports: reject
  management: [10.77.1.0/24]
${3:-}
EOF
}

apply() {    # apply POLICY [fw-apply options]: output in $T/apply.out
	p=$1
	shift
	if ! ip netns exec "$GW" timeout 30 "$FWAPPLY" "$@" "$p" > "$T/apply.out" 2>&1; then
		echo "FAIL: fw-apply $p"
		cat "$T/apply.out"
		exit 1
	fi
}

count() {    # count SET: elements as nft lists them
	ip netns exec "$GW" nft -j list set inet sluice "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(len(x["set"].get("elem", [])) for x in d["nftables"] if "set" in x))'
}

for mode in off activated additional; do
	case $mode in
	off)        flags="activate: false" ;;
	activated)  flags="activate: true" ;;
	additional) flags="activate: true
  apply_additional_restrictions: true" ;;
	esac
	policy "$T/$mode.yaml" "$flags"
	apply "$T/$mode.yaml"
	un_proto=ok un_svc=ok
	[ $mode != off ] && un_proto=no
	[ $mode = additional ] && un_svc=no
	expect ok "$LS" 10.77.1.1 $PROTO "$mode: listed -> protocol port"
	expect ok "$LS" 10.77.1.1 $SVC "$mode: listed -> service port"
	expect $un_proto "$UL" 10.77.2.1 $PROTO "$mode: unlisted -> protocol port"
	expect $un_svc "$UL" 10.77.2.1 $SVC "$mode: unlisted -> service port"
	expect no "$LS" 10.77.1.1 $OFF "$mode: disabled service port closed"
	expect ok "$GW" 127.0.0.1 $PROTO "$mode: loopback"
	expect ok "$UL" 10.77.2.1 $OTHER "$mode: default_input accept: other port"
done

# Refusals are counted per source, under the rule that refused them,
# through the chain that answers with a TCP reset (closed_ports: reject).
srcs() {     # srcs POLICY: "source ADDR CHAIN PACKETS RULE" lines
	ip netns exec "$GW" "$FWAPPLY" -S "$1"
}
t0=$(date +%s%N)
conn "$UL" 10.77.2.1 $OFF
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
srcs "$T/additional.yaml" > "$T/src.out"
if grep -q "^source 10.77.2.2 reject_[0-9]* [1-9][0-9]* telnet port (disabled)$" "$T/src.out" &&
    grep -q "^source 10.77.2.2 reject_[0-9]* [1-9][0-9]* modbus-tcp port$" "$T/src.out" &&
    [ $ms -lt 1000 ]; then
	echo "ok: refusals counted for 10.77.2.2, reset in ${ms} ms"
else
	echo "FAIL: per-source refusals (reset after ${ms} ms):"
	cat "$T/src.out"
	fails=$((fails + 1))
fi

# A kernel that refuses the per-source accounting (as one without
# counters in dynamic sets would; fw-apply -A makes this one refuse it)
# still gets the whole firewall, only without the accounting.
apply "$T/activated.yaml"
r_full=$(grep '^rules' "$T/apply.out")
apply "$T/activated.yaml" -A
if grep -q '^sources off: kernel refused' "$T/apply.out" &&
    [ "$(grep '^rules' "$T/apply.out")" = "$r_full" ] &&
    ! grep -q '^set drop_src' "$T/apply.out" &&
    ! ip netns exec "$GW" nft list table inet sluice | grep -qE 'goto|drop_src'; then
	echo "ok: accounting refused: $(grep '^sources off' "$T/apply.out" | cut -c1-70)..., $r_full"
else
	echo "FAIL: accounting refused, table not loaded as it should be ($r_full):"
	cat "$T/apply.out"
	fails=$((fails + 1))
fi
expect ok "$LS" 10.77.1.1 $PROTO "without accounting: listed -> protocol port"
expect no "$UL" 10.77.2.1 $PROTO "without accounting: unlisted -> protocol port"
expect no "$LS" 10.77.1.1 $OFF "without accounting: disabled service port closed"
srcs "$T/activated.yaml" > "$T/src.out"
[ "$(cat "$T/src.out")" = "flags 0" ] && echo "ok: without accounting: no sources, flags 0" ||
    { echo "FAIL: without accounting: $(cat "$T/src.out")"; fails=$((fails + 1)); }

# default_input: drop: only enabled services pass; loopback still works.
policy "$T/drop.yaml" "activate: false" "  default_input: drop"
apply "$T/drop.yaml"
expect no "$LS" 10.77.1.1 $OTHER "default_input drop: other port"
expect ok "$LS" 10.77.1.1 $PROTO "default_input drop: protocol port"
expect ok "$UL" 10.77.2.1 $SVC "default_input drop: service port"
expect ok "$GW" 127.0.0.1 $OTHER "default_input drop: loopback"

# Idempotent: applying the same policy again leaves the same rules and
# sets (stateless listing: counters and the meters' dynamic entries
# start afresh with each apply, by design).
snapshot() {
	for what in "chain inet sluice input" "set inet sluice acl4" \
	    "set inet sluice mgmt4" "set inet sluice guarded"; do
		ip netns exec "$GW" nft -s list $what
	done
}
apply "$T/additional.yaml"
r1=$(grep '^rules' "$T/apply.out")
snapshot > "$T/before.nft"
apply "$T/additional.yaml"
r2=$(grep '^rules' "$T/apply.out")
snapshot > "$T/after.nft"
if [ "$r1" = "$r2" ] && cmp -s "$T/before.nft" "$T/after.nft"; then
	echo "ok: re-apply is idempotent ($r2)"
else
	echo "FAIL: re-apply changed the table ($r1 / $r2)"
	diff "$T/before.nft" "$T/after.nft" | head -20
	fails=$((fails + 1))
fi

# Bans: 10.77.2.2 is dropped; 10.77.1.2 is in management and stays in.
policy "$T/ban.yaml" "activate: false"
apply "$T/ban.yaml" -b 10.77.2.2:60 -b 10.77.1.2:60
n=$(count ban4)
[ "$n" = 2 ] && echo "ok: ban4 holds 2 elements" || { echo "FAIL: ban4 holds $n"; fails=$((fails + 1)); }
expect no "$UL" 10.77.2.1 $SVC "banned source is dropped"
expect ok "$LS" 10.77.1.1 $SVC "management address is never banned"
# A 2 s ban goes away by itself, on time.
apply "$T/ban.yaml" -b 10.77.2.2:2
start=$(date +%s%N)
n=$(count ban4)
[ "$n" = 1 ] || { echo "FAIL: ban4 holds $n, want 1"; fails=$((fails + 1)); }
i=0
while [ "$(count ban4)" != 0 ]; do
	i=$((i + 1))
	[ $i -le 100 ] || break
	sleep 0.1
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$(count ban4)" = 0 ] && [ $ms -le 4000 ]; then
	echo "ok: 2 s ban expired after ${ms} ms"
	expect ok "$UL" 10.77.2.1 $SVC "unbanned source is back"
else
	echo "FAIL: 2 s ban still present after ${ms} ms"
	fails=$((fails + 1))
fi

# 10,000 entries (plus the two hosts): all of them reach the kernel.
python3 - "$T/big.yaml" $PROTO $SVC $OFF <<'EOF'
import sys
path, proto, svc, off = sys.argv[1:]
l = ["base: hardened", "services:",
     "  modbus-tcp: { enabled: true, port: %s, priority_port: 15021 }" % proto,
     "  https: { enabled: true, port: %s }" % svc,
     "  telnet: { enabled: false, port: %s }" % off,
     "accessible_ip:", "  activate: true", "  entries:",
     "    - { address: 10.77.1.2 }", "    - { address: 10.77.2.2, active: false }"]
for i in range(10000):
    l.append("    - { address: 172.%d.%d.0/24 }" % (16 + i // 256, i % 256))
open(path, "w").write("\n".join(l) + "\nfirewall: { closed_ports: reject }\n")
EOF
apply "$T/big.yaml"
read_back=$(awk '$1 == "set" && $2 == "acl4" { print $3 }' "$T/apply.out")
listed=$(count acl4)
if [ "$read_back" = 10001 ] && [ "$listed" = 10001 ]; then
	echo "ok: 10,001 acl4 entries in the kernel (fw-apply $read_back, nft $listed)"
else
	echo "FAIL: acl4 holds $read_back (fw-apply) / $listed (nft), want 10001"
	fails=$((fails + 1))
fi
grep '^batch' "$T/apply.out"
expect ok "$LS" 10.77.1.1 $PROTO "big list: listed -> protocol port"
expect no "$UL" 10.77.2.1 $PROTO "big list: unlisted -> protocol port"

# Per-source limits (guarded ports: protocol and console).  At most 3
# concurrent connections from one source: a client holding its
# connections open gets exactly 3; the rest are refused (reject mode).
policy "$T/cap.yaml" "activate: false" "  per_source: { new_per_second: 0, max_connections: 3 }"
apply "$T/cap.yaml"
held=$(ip netns exec "$LS" timeout 20 python3 -c "
import socket
held = []
for i in range(6):
    try:
        held.append(socket.create_connection(('10.77.1.1', $PROTO), timeout=1.5))
    except OSError:
        pass
print(len(held))")
[ "$held" = 3 ] && echo "ok: max_connections 3 -> $held held" ||
    { echo "FAIL: max_connections 3, held $held"; fails=$((fails + 1)); }
# 5 new connections/s, burst 5: of 30 back-to-back connects at most
# burst + rate * elapsed get through (a dropped SYN costs the client its
# 0.3 s timeout, during which the bucket refills).
policy "$T/rate.yaml" "activate: false" "  per_source: { new_per_second: 5, burst: 5, max_connections: 0 }"
apply "$T/rate.yaml"
verdict=$(ip netns exec "$LS" timeout 60 python3 -c "
import socket, time
ok, t0 = 0, time.monotonic()
for i in range(30):
    try:
        socket.create_connection(('10.77.1.1', $PROTO), timeout=0.3).close()
        ok += 1
    except OSError:
        pass
el = time.monotonic() - t0
print('%s %d of 30 in %.1f s' % ('ok' if 5 <= ok < 30 and ok <= 5 + 5 * el + 2 else 'bad', ok, el))")
case $verdict in
ok*) echo "ok: new_per_second 5 burst 5: $verdict" ;;
*) echo "FAIL: new_per_second 5 burst 5: $verdict"; fails=$((fails + 1)) ;;
esac
expect ok "$UL" 10.77.2.1 $PROTO "meters are per source"

# The batch and the rendered text give the same kernel state: apply one
# with fw-apply, load the other with nft -f in a fresh namespace, and
# compare what nft lists (stateless) for every golden policy.
for pol in - "$top_srcdir"/test/firewall/golden/*.yaml; do
	ip netns add "$CMP" || exit 1
	apply "$pol"
	"$FWAPPLY" -r "$pol" > "$T/r.nft" || exit 1
	ip netns exec "$CMP" nft -f "$T/r.nft" || { echo "FAIL: nft -f $pol"; fails=$((fails + 1)); }
	ip netns exec "$GW" nft -s list table inet sluice > "$T/a.txt"
	ip netns exec "$CMP" nft -s list table inet sluice > "$T/b.txt"
	ip netns del "$CMP"
	if cmp -s "$T/a.txt" "$T/b.txt"; then
		echo "ok: batch == nft -f for ${pol##*/}"
	else
		echo "FAIL: batch and nft -f differ for $pol"
		diff "$T/a.txt" "$T/b.txt" | head -20
		fails=$((fails + 1))
	fi
done

# Without CAP_NET_ADMIN the kernel refuses the batch: one error, no hang.
if command -v setpriv >/dev/null 2>&1; then
	if ip netns exec "$GW" timeout 10 setpriv --reuid 65534 --regid 65534 \
	    --clear-groups --inh-caps=-all "$FWAPPLY" - \
	    > "$T/eperm.out" 2>&1; then
		echo "FAIL: an unprivileged apply succeeded"
		fails=$((fails + 1))
	elif grep -q "Operation not permitted" "$T/eperm.out"; then
		echo "ok: unprivileged apply refused: $(cat "$T/eperm.out")"
	else
		echo "FAIL: unprivileged apply: $(cat "$T/eperm.out")"
		fails=$((fails + 1))
	fi
fi

# Flush removes the table and nothing else.
ip netns exec "$GW" "$FWAPPLY" --flush || { echo "FAIL: flush"; fails=$((fails + 1)); }
if ip netns exec "$GW" nft list table inet sluice >/dev/null 2>&1; then
	echo "FAIL: table still present after flush"
	fails=$((fails + 1))
else
	echo "ok: flush removed table inet sluice"
fi

[ $fails = 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0
