# firewall-dos.sh - table inet sluice against real scans and floods, in
# network namespaces this test creates: a gateway (gw) with listeners,
# a host in the accessible-IP list (listed) and one whose entry is not
# active (unlisted), joined to gw by veth pairs on private addresses.
# No packet leaves these namespaces.  fw-apply programs the table in gw.
#
#   1. nmap -sT/-sU from both hosts, for the three accessible-IP modes
#      (MGate 5000 hardening guide, section 3.4): the port states nmap
#      sees equal those computed from the policy; disabled services and
#      refused sources show filtered (closed_ports: drop) or closed
#      (reject).
#   2. hping3 crafted TCP packets (guide 3.6: Null, Xmas, NMAP-Xmas,
#      SYN+FIN, FIN, SYN+RST, NMAP-ID) from the unlisted host to an open
#      port: no answer, and the drop rule meant for the pattern counts
#      them (nft -j list chain: per-rule counters before and after).
#   3. a 5 s hping3 SYN flood: the syn-flood limit (or the per-source
#      meter, should it come first) drops it, an established connection
#      keeps working, and the listed host connects during and after it.
#   4. ICMP limit: echo replies stay near rate + burst.
#   Through 2-4, the kernel's per-source drop accounting (sets drop_src4
#   and drop_src6, read as the monitor reads them: fw-apply -S) names the
#   unlisted host for every rule that dropped its packets, with exactly
#   the rule's count.
#   5. a flood from random (spoofed) sources fills drop_src4 to its size
#      and no further; packets are still dropped once it is full.
#   6. sluiced itself in gw: a SYN flood (hping3) and a Null scan (nmap
#      -sN) from the unlisted host each give a firewall-drops event that
#      names the unlisted host's address; a flood from random sources
#      gives one that lists 8 and counts the rest.
#
# Needs root, ip, nft, python3, hping3
# and nmap; exits 77 otherwise.  Takes about 70 s.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
FWAPPLY="$top_builddir/test/helpers/fw-apply"
SLUICED="$top_builddir/sluiced"
SLUICECTL="$top_builddir/sluicectl"
NOTIFY_RUN="$top_builddir/test/helpers/notify-run"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables, raw sockets)"
for c in ip nft python3 timeout hping3 nmap; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
done
[ -x "$FWAPPLY" ] || skip "$FWAPPLY not built"

GW=sluice-dgw$$
LS=sluice-dls$$
UL=sluice-dul$$
GW_LS=10.78.1.1         # gw as the listed host sees it
GW_UL=10.78.2.1         # gw as the unlisted host sees it
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-dos.XXXXXX")
chmod 0755 "$T"         # section 6: sluiced's engine runs as another user
PIDS=
fails=0

cleanup() {
	st=$?
	for p in $PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for ns in "$GW" "$LS" "$UL"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# Each of these once caught a rule-order defect in fw_build().
known() { fail "$*"; }

ip netns add "$GW" 2>/dev/null || skip "cannot create network namespaces"
ip netns add "$LS" && ip netns add "$UL" || exit 1
ip -n "$GW" link set lo up
ip -n "$GW" link add gl type veth peer name h0 netns "$LS" || exit 1
ip -n "$GW" link add gu type veth peer name h0 netns "$UL" || exit 1
ip -n "$GW" addr add $GW_LS/24 dev gl
ip -n "$GW" addr add $GW_UL/24 dev gu
ip -n "$GW" link set gl up
ip -n "$GW" link set gu up
for ns in "$LS" "$UL"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set h0 up
done
ip -n "$LS" addr add 10.78.1.2/24 dev h0
ip -n "$UL" addr add 10.78.2.2/24 dev h0
UL_ADDR=10.78.2.2

# High-numbered ports, so that the listeners need no privilege.
PROTO=15020     # modbus-tcp port (protocol class, tcp)
PRIO=15021      # modbus-tcp priority_port (protocol class, tcp)
SVC=14430       # https (service class, tcp)
OFF=14230       # telnet, disabled (tcp)
UPROTO=14780    # bacnet-ip (protocol class, udp)
UOFF=14161      # snmp-agent, disabled (udp)

# Listeners in gw on every port above, disabled ones included: what nmap
# reports for them is the firewall's doing.  TCP echoes, UDP echoes (so
# nmap -sU can tell open from open|filtered).
cat > "$T/listen.py" <<'EOF'
import selectors, socket, sys
sel = selectors.DefaultSelector()
for a in sys.argv[1:]:
    proto, port = a.split("/")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp"
                      else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    if proto == "tcp":
        s.listen(1024)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, proto)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                c, _ = s.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
            elif key.data == "udp":
                d, peer = s.recvfrom(2048)
                s.sendto(d or b"x", peer)
            else:
                d = s.recv(4096)
                if d:
                    s.send(d)
                else:
                    sel.unregister(s)
                    s.close()
        except OSError:
            if key.data == "conn":
                sel.unregister(s)
                s.close()
EOF
ip netns exec "$GW" timeout 300 python3 "$T/listen.py" tcp/$PROTO tcp/$PRIO \
    tcp/$SVC tcp/$OFF udp/$UPROTO udp/$UOFF > "$T/listen.out" 2>&1 &
LISTENER=$!
PIDS=$LISTENER
i=0
until grep -q ready "$T/listen.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "FAIL: listener not ready"; cat "$T/listen.out"; exit 1; }
	sleep 0.05
done

# policy FILE ACL-FLAGS CLOSED [DOS-YAML]
policy() {
	cat > "$1" <<EOF
base: hardened
services:
  modbus-tcp: { enabled: true, port: $PROTO, priority_port: $PRIO }
  bacnet-ip: { enabled: true, port: $UPROTO }
  https: { enabled: true, port: $SVC }
  telnet: { enabled: false, port: $OFF }
  snmp-agent: { enabled: false, port: $UOFF }
accessible_ip:
  $2
  entries:
    - { address: 10.78.1.2 }
    - { address: 10.78.2.2, active: false }
firewall:
  closed_ports: $3
${4:-}
EOF
}

# apply POLICY: program gw; $T/cur.nft is the rendered text, whose
# comments name the rules for the counters below.
apply() {
	if ! ip netns exec "$GW" timeout 30 "$FWAPPLY" "$1" > "$T/apply.out" 2>&1 ||
	    ! "$FWAPPLY" -r "$1" > "$T/cur.nft"; then
		echo "FAIL: fw-apply $1"
		cat "$T/apply.out"
		exit 1
	fi
	if grep -q '^sources off' "$T/apply.out"; then
		echo "FAIL: the kernel refused the per-source accounting:"
		cat "$T/apply.out"
		exit 1
	fi
	CUR=$1
}

# src ADDR RULE: the drops the kernel counted for source ADDR under
# RULE since the table was loaded (fw-apply -S: "source ADDR CHAIN
# PACKETS RULE...").
src() {
	ip netns exec "$GW" "$FWAPPLY" -S "$CUR" > "$T/src.out" 2>&1 ||
	    { echo "FAIL: fw-apply -S"; cat "$T/src.out"; exit 1; }
	awk -v a="$1" -v r="$2" '$1 == "source" && $2 == a {
		l = $0; sub(/^source [^ ]+ [^ ]+ [0-9]+ /, "", l)
		if (l == r) n += $4 } END { print n + 0 }' "$T/src.out"
}

# Per-rule packet counters, summed by the rule's comment in the rendered
# text (a rule without one belongs to the comment above it): the kernel
# lists the chain in the order the batch added it.
cat > "$T/ctr.py" <<'EOF'
import json, sys
labels, pending, last, inchain = [], None, None, False
for line in open(sys.argv[1]):
    s = line.strip()
    if s.startswith("chain input"):
        inchain = True
    elif not inchain or not s or s.startswith("type ") or s == "}":
        continue
    elif s.startswith("# "):
        pending = s[2:]
    else:
        last = pending or last
        pending = None
        labels.append(last)
rules = [x["rule"] for x in json.load(sys.stdin)["nftables"] if "rule" in x]
if len(rules) != len(labels):
    sys.exit("ctr.py: %d rules in the kernel, %d rendered" % (len(rules), len(labels)))
sums = {}
for label, r in zip(labels, rules):
    for e in r["expr"]:
        if isinstance(e, dict) and "counter" in e:
            sums[label] = sums.get(label, 0) + e["counter"]["packets"]
for label, n in sums.items():
    print("%s\t%d" % (label, n))
EOF
ctr() {      # ctr FILE: counters now
	ip netns exec "$GW" nft -j list chain inet sluice input |
	    python3 "$T/ctr.py" "$T/cur.nft" > "$1" || exit 1
}
get() {      # get FILE LABEL
	awk -F '\t' -v l="$2" '$1 == l { n = $2 } END { print n + 0 }' "$1"
}
rose() {     # rose LABEL: its counter's rise from $T/c0 to $T/c1
	echo $(( $(get "$T/c1" "$1") - $(get "$T/c0" "$1") ))
}

# ------------------------------------------------------------------
# 1. nmap: the open ports are those the policy opens.
# ------------------------------------------------------------------

# want MODE CLOSED WHO: the states nmap must report, "proto/port state".
want() {
	for e in tcp:$PROTO:p tcp:$PRIO:p tcp:$SVC:s tcp:$OFF:x \
	    udp:$UPROTO:p udp:$UOFF:x; do
		pr=${e%%:*} rest=${e#*:}
		port=${rest%%:*} class=${rest#*:}
		case $class in
		p) { [ "$3" = listed ] || [ "$1" = off ]; } && st=open || st= ;;
		s) { [ "$3" = listed ] || [ "$1" != additional ]; } && st=open || st= ;;
		x) st= ;;
		esac
		if [ -z "$st" ]; then
			case $pr/$2 in
			tcp/drop) st=filtered ;;
			udp/drop) st='open|filtered' ;;
			*) st=closed ;;
			esac
		fi
		echo "$pr/$port $st"
	done | sort
}

NMAP_PORTS="T:$PROTO,$PRIO,$SVC,$OFF,U:$UPROTO,$UOFF"
nmap_from() {   # nmap_from NS ADDR OUT: "proto/port state" lines
	ip netns exec "$1" timeout 30 nmap -sT -sU -Pn -n -p "$NMAP_PORTS" \
	    --max-retries 2 --initial-rtt-timeout 200ms --max-rtt-timeout 300ms \
	    --host-timeout 25s -oG - "$2" 2>&1 | tee "$3.raw" |
	    sed -n 's/.*Ports: //p' | tr ',' '\n' |
	    awk -F / 'NF > 2 { gsub(/ /, "", $1); print $3 "/" $1, $2 }' |
	    sort > "$3"
}

for mc in off:reject activated:drop additional:reject; do
	mode=${mc%:*} closed=${mc#*:}
	case $mode in
	off)        flags="activate: false" ;;
	activated)  flags="activate: true" ;;
	additional) flags="activate: true
  apply_additional_restrictions: true" ;;
	esac
	policy "$T/$mode.yaml" "$flags" "$closed"
	apply "$T/$mode.yaml"
	nmap_from "$LS" $GW_LS "$T/nmap.listed" &
	p1=$!
	nmap_from "$UL" $GW_UL "$T/nmap.unlisted" &
	p2=$!
	wait $p1 $p2
	for who in listed unlisted; do
		want "$mode" "$closed" $who > "$T/want.$who"
		open=$(awk '$2 == "open" { printf "%s ", $1 }' "$T/nmap.$who")
		if cmp -s "$T/want.$who" "$T/nmap.$who"; then
			echo "ok: $mode/$closed: nmap from $who: open ${open:-none}"
		else
			fail "$mode/$closed: nmap from $who differs from the policy (want | got):"
			paste "$T/want.$who" "$T/nmap.$who"
			cat "$T/nmap.$who.raw"
		fi
	done
done

# ------------------------------------------------------------------
# 2. Crafted packets (hping3) from the unlisted host to the open
#    service port.
# ------------------------------------------------------------------

SPORT=20000
# hp OUT ARGS...: hping3 from the unlisted host; prints the replies.
hp() {
	out=$1
	shift
	ip netns exec "$UL" timeout 10 hping3 "$@" > "$out" 2>&1
	sed -n 's/.* packets transmitted, \([0-9]*\) packets received.*/\1/p' "$out"
}

# scan NAME FLAGS WANT [KNOWN-RULE WHY]: 5 packets with FLAGS: no answer,
# and rule WANT counts them (or KNOWN-RULE, a known defect: WHY).
scan() {
	SPORT=$((SPORT + 100))
	ctr "$T/c0"
	# shellcheck disable=SC2086
	got=$(hp "$T/hp.out" -c 5 -i u10000 $2 -p $SVC -s $SPORT $GW_UL)
	ctr "$T/c1"
	if [ "$got" != 0 ]; then
		fail "$1: ${got:-no hping3 statistics} answer(s)"
		cat "$T/hp.out"
		return
	fi
	d=$(rose "$3")
	if [ "$d" -ge 5 ]; then
		echo "ok: $1: no answer, '$3' counted $d"
		s=$(src $UL_ADDR "$3")
		if [ "$s" -ge "$d" ]; then
			echo "ok: $1: counted for source $UL_ADDR ($s)"
		else
			fail "$1: '$3' dropped $d, the kernel counted $s for $UL_ADDR"
			cat "$T/src.out"
		fi
	elif [ -n "${4:-}" ] && [ "$(rose "$4")" -ge 5 ]; then
		known "$1: counted by '$4', not '$3' ($5)"
	else
		fail "$1: '$3' counted $d of 5"
		cat "$T/c0" "$T/c1"
	fi
}

# The scan rules themselves: invalid_state off, since the kernel's
# connection tracking marks every one of these flag patterns invalid.
policy "$T/scan.yaml" "activate: false" drop "dos_defense: { invalid_state: false }"
apply "$T/scan.yaml"
got=$(hp "$T/hp.out" -c 3 -i u10000 -S -p $SVC -s $SPORT $GW_UL)
if [ "$got" = 3 ]; then
	echo "ok: control: 3 SYNs to the open port, 3 answers"
else
	fail "control: 3 SYNs to the open port, ${got:-no} answers"
	cat "$T/hp.out"
fi
SHADOW="nmap-id: the syn/fin rule comes first and matches SYN|FIN|PSH|URG"
scan "Null scan" "" "null scan"
scan "Xmas scan (all flags)" "-F -S -R -P -A -U" "xmas scan"
scan "NMAP-Xmas scan (FIN+PSH+URG)" "-F -P -U" "nmap-xmas scan"
scan "SYN+FIN" "-S -F" "syn/fin scan"
scan "FIN alone, no connection" "-F" "fin scan"
scan "SYN+RST" "-S -R" "syn/rst scan"
scan "NMAP-ID scan (SYN+FIN+PSH+URG)" "-S -F -P -U" "nmap-id scan" \
    "syn/fin scan" "$SHADOW"
policy "$T/scan2.yaml" "activate: false" drop \
    "dos_defense: { invalid_state: false, syn_fin_scan: false }"
apply "$T/scan2.yaml"
scan "NMAP-ID scan, syn_fin_scan off" "-S -F -P -U" "nmap-id scan"

# The hardened default (invalid_state on): every pattern is dropped, by
# the rule meant for it.
INVALID="the invalid-state rule comes first; conntrack marks the pattern invalid"
policy "$T/hard.yaml" "activate: false" drop
apply "$T/hard.yaml"
scan "hardened: Null scan" "" "null scan" "invalid state" "$INVALID"
scan "hardened: Xmas scan" "-F -S -R -P -A -U" "xmas scan" "invalid state" "$INVALID"
scan "hardened: NMAP-Xmas scan" "-F -P -U" "nmap-xmas scan" "invalid state" "$INVALID"
scan "hardened: SYN+FIN" "-S -F" "syn/fin scan" "invalid state" "$INVALID"
scan "hardened: FIN alone" "-F" "fin scan" "invalid state" "$INVALID"
scan "hardened: SYN+RST" "-S -R" "syn/rst scan" "invalid state" "$INVALID"
scan "hardened: NMAP-ID scan" "-S -F -P -U" "nmap-id scan" "invalid state" "$INVALID"

# ------------------------------------------------------------------
# 3. SYN flood from the unlisted host against the protocol port
#    (hardened: 200/s, burst 400).
# ------------------------------------------------------------------

policy "$T/flood.yaml" "activate: true" drop
apply "$T/flood.yaml"
# An established connection from the listed host, echoing every 0.1 s
# for 6 s: replies pass before any limit.
cat > "$T/hold.py" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
print("connected", flush=True)
ok = n = 0
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    n += 1
    try:
        s.sendall(b"ping")
        if s.recv(16) == b"ping":
            ok += 1
    except OSError:
        pass
    time.sleep(0.1)
print("echo %d of %d" % (ok, n), flush=True)
EOF
ip netns exec "$LS" timeout 15 python3 "$T/hold.py" $GW_LS $PROTO 6 > "$T/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
i=0
until grep -q connected "$T/hold.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] && kill -0 $HOLD 2>/dev/null ||
	    { echo "FAIL: no connection before the flood"; cat "$T/hold.out"; exit 1; }
	sleep 0.05
done
ctr "$T/c0"
ip netns exec "$UL" timeout 5 hping3 -S --flood -p $PROTO $GW_UL > "$T/flood.out" 2>&1 &
FLOOD=$!
PIDS="$PIDS $FLOOD"
# Wait (bounded) until the flood is over the limit, then connect from
# the listed host: two tries of 1.5 s (two SYNs each: the first
# retransmission is at 1 s), both inside the flood's 5 s.
i=0
while ctr "$T/c1"; [ $(($(rose "syn flood") + $(rose "per-source new-connection rate"))) -lt 100 ]; do
	i=$((i + 1))
	[ $i -le 40 ] || break
	sleep 0.05
done
during=$(ip netns exec "$LS" timeout 10 python3 -c "
import socket
for i in range(2):
    try:
        socket.create_connection(('$GW_LS', $PROTO), timeout=1.5).close()
        print('ok after %d failed' % i)
        break
    except OSError:
        pass
else:
    print('failed twice')")
kill -0 $FLOOD 2>/dev/null && alive=yes || alive=no
wait $FLOOD
wait $HOLD
PIDS=$LISTENER
ctr "$T/c1"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/flood.out")
# The global limit, or the per-source meter if it comes first, drops it.
d=$(rose "syn flood")
dm=$(rose "per-source new-connection rate")
if [ $((d + dm)) -ge 1000 ]; then
	echo "ok: syn flood: ${sent:-?} SYNs sent in 5 s, dropped by 'syn flood' $d, by the per-source meter $dm"
else
	fail "syn flood: ${sent:-?} SYNs sent, dropped by 'syn flood' $d, by the per-source meter $dm"
	cat "$T/flood.out"
fi
# Every one of those drops is counted for the flooding host, under the
# rule that dropped it (the table was loaded just before the flood).
s=$(src $UL_ADDR "syn flood")
sm=$(src $UL_ADDR "per-source new-connection rate")
if [ "$s" = "$(get "$T/c1" "syn flood")" ] &&
    [ "$sm" = "$(get "$T/c1" "per-source new-connection rate")" ]; then
	echo "ok: syn flood: counted for source $UL_ADDR: $s by 'syn flood', $sm by the meter"
else
	fail "syn flood: per source $UL_ADDR: $s / $sm, rules: $(get "$T/c1" "syn flood") / $(get "$T/c1" "per-source new-connection rate")"
	cat "$T/src.out"
fi
# nft, another reader of the same set, agrees with ours.
n=$(ip netns exec "$GW" nft -j list set inet sluice drop_src4 | python3 -c '
import json, sys
n = 0
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        if e["elem"]["val"]["concat"][0] == sys.argv[1]:
            n += e["elem"]["counter"]["packets"]
print(n)' $UL_ADDR)
all=$(awk -v a=$UL_ADDR '$1 == "source" && $2 == a { n += $4 } END { print n + 0 }' "$T/src.out")
[ "$n" = "$all" ] && echo "ok: nft lists the same per-source counts ($n)" ||
    fail "nft counts $n drops for $UL_ADDR, fw-apply -S $all"

# A connect that succeeded only once the flood was over does not count.
case $during/$alive in
ok*/yes) echo "ok: listed host connects during the flood ($during)" ;;
*) known "listed host cannot connect during the flood ($during, flood still running: $alive): the global syn-flood limit precedes the per-source meter and the accessible-IP accepts" ;;
esac
case $(cat "$T/hold.out") in
*"echo "*) echo "ok: established connection during the flood: $(tail -1 "$T/hold.out")" ;;
*) fail "established connection: $(cat "$T/hold.out")" ;;
esac
# shellcheck disable=SC2046
set -- $(sed -n 's/^echo \([0-9]*\) of \([0-9]*\)$/\1 \2/p' "$T/hold.out")
[ $# = 2 ] && [ "$1" -ge $(($2 - 2)) ] || fail "established connection lost echoes during the flood"
after=$(ip netns exec "$LS" timeout 15 python3 -c "
import socket
for i in range(5):
    try:
        socket.create_connection(('$GW_LS', $PROTO), timeout=2).close()
        print('ok'); break
    except OSError:
        pass
else:
    print('failed')")
[ "$after" = ok ] && echo "ok: listed host connects after the flood" ||
    fail "listed host cannot connect after the flood"

# ------------------------------------------------------------------
# 4. ICMP limit (hardened: 10/s, burst 20), from the unlisted host.
# ------------------------------------------------------------------

# Echo requests, each with its own identifier (a new conntrack flow),
# 200/s for 2 s, by a raw socket; then a single ping session (one
# identifier, as ping -f sends) at the same rate, by hping3.
cat > "$T/icmp.py" <<'EOF'
import os, select, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
dst, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
base, got, t0 = os.getpid() & 0x7fff, set(), time.monotonic()
def drain(until):
    while True:
        left = until - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return
        p = s.recv(2048)
        ihl = (p[0] & 15) * 4
        t, _, _, ident, _ = struct.unpack("!BBHHH", p[ihl:ihl + 8])
        if t == 0 and base <= ident < base + n:
            got.add(ident)
for i in range(n):
    h = struct.pack("!BBHHH", 8, 0, 0, base + i, 1) + b"sluice"
    s.sendto(h[:2] + struct.pack("!H", csum(h)) + h[4:], (dst, 0))
    drain(t0 + (i + 1) / rate)
el = time.monotonic() - t0
drain(time.monotonic() + 0.5)
print("%d %d %.2f" % (n, len(got), el))
EOF
policy "$T/icmp.yaml" "activate: false" drop
apply "$T/icmp.yaml"
# bound RECEIVED SECONDS: at most burst + rate * time, with slack.
icmp_ok() {
	awk -v r="$1" -v t="$2" 'BEGIN { exit !(r >= 10 && r <= 20 + 10 * (t + 1) + 10) }'
}
ctr "$T/c0"
# shellcheck disable=SC2046
set -- $(ip netns exec "$UL" timeout 10 python3 "$T/icmp.py" $GW_UL 400 200)
ctr "$T/c1"
d=$(rose "icmp limit")
if [ $# = 3 ] && icmp_ok "$2" "$3" && [ "$d" -ge $(( ($1 - $2) * 9 / 10 )) ]; then
	echo "ok: icmp limit, new flows: $2 of $1 echo requests answered in $3 s, 'icmp limit' dropped $d"
else
	fail "icmp limit, new flows: replies/sent/seconds: ${*:-none}, 'icmp limit' dropped $d"
fi
s=$(src $UL_ADDR "icmp limit")
[ "$s" = "$d" ] && echo "ok: icmp limit: counted for source $UL_ADDR ($s)" ||
    fail "icmp limit: dropped $d, counted $s for $UL_ADDR"

ctr "$T/c0"
got=$(hp "$T/hp.out" --icmp -c 400 -i u5000 $GW_UL)
ctr "$T/c1"
d=$(rose "icmp limit")
if [ -z "$got" ]; then
	fail "hping3 --icmp: no statistics"
	cat "$T/hp.out"
elif icmp_ok "$got" 2; then
	echo "ok: icmp limit, one ping session: $got of 400 answered, 'icmp limit' dropped $d"
else
	known "icmp limit, one ping session (ping -f): $got of 400 answered, 'icmp limit' dropped $d: echo requests after the first are ct state established and accepted as replies before the limit"
fi

# ------------------------------------------------------------------
# 5. Spoofed sources: the accounting set stays at its size, and a full
#    set changes nothing about what is dropped.
# ------------------------------------------------------------------

policy "$T/spoof.yaml" "activate: false" drop
apply "$T/spoof.yaml"
ip netns exec "$UL" timeout 8 hping3 -S --flood --rand-source -p $OFF $GW_UL \
    > "$T/spoof.out" 2>&1 &
SPOOF=$!
PIDS="$PIDS $SPOOF"
elems() {
	ip netns exec "$GW" nft -j list set inet sluice drop_src4 | python3 -c '
import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))'
}
i=0
while [ "$(elems)" -lt 4096 ]; do
	i=$((i + 1))
	[ $i -le 60 ] || break
	sleep 0.1
done
kill $SPOOF 2>/dev/null
wait $SPOOF 2>/dev/null
PIDS=$LISTENER
n=$(elems)
ip netns exec "$GW" "$FWAPPLY" -S "$CUR" > "$T/src.out" 2>&1
flags=$(awk '$1 == "flags" { print $2 }' "$T/src.out")
if [ "$n" = 4096 ] && [ "$flags" = 3 ]; then
	echo "ok: random-source flood: drop_src4 full at 4096 elements (flags $flags)"
else
	fail "random-source flood: drop_src4 holds $n elements (flags ${flags:-?}), want 4096 (3)"
	tail -3 "$T/spoof.out"
fi
# A source the full set has no room for is still dropped, and counted
# by its rule.
ctr "$T/c0"
got=$(hp "$T/hp.out" -c 3 -i u10000 -S -p $OFF $GW_UL)
ctr "$T/c1"
d=$(($(rose "telnet port (disabled)") + $(rose "syn flood")))
s=$(src $UL_ADDR "telnet port (disabled)")
if [ "$got" = 0 ] && [ "$d" -ge 3 ] && [ "$s" = 0 ]; then
	echo "ok: full set: a new source is dropped all the same ($d counted, not per source)"
else
	fail "full set: ${got:-?} answers, rules counted $d, per source $s"
	cat "$T/hp.out"
fi

# ------------------------------------------------------------------
# 6. sluiced in gw: events name the attacker.
# ------------------------------------------------------------------

if [ ! -x "$SLUICED" ] || [ ! -x "$SLUICECTL" ] || [ ! -x "$NOTIFY_RUN" ]; then
	echo "SKIP (section 6): sluiced, sluicectl or notify-run not built"
	[ $fails = 0 ] || { echo "$fails check(s) failed"; exit 1; }
	exit 0
fi
# The daemon binds the service ports itself.
kill $LISTENER 2>/dev/null
wait $LISTENER 2>/dev/null
PIDS=
STATE=$T/state
policy "$T/daemon.yaml" "activate: true" drop
sctl() { "$SLUICECTL" --state-dir "$STATE" "$@"; }
out=$(ip netns exec "$GW" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- "$SLUICED" \
    -f -c "$T/daemon.yaml" --state-dir "$STATE" 2>>"$T/daemon.log") || {
	echo "FAIL: sluiced did not become ready: $out"
	tail -20 "$T/daemon.log"
	exit 1
}
PIDS=$(cat "$T/daemon.pid")
# event RULE...: wait (30 s at most) for a firewall-drops event of one
# of the RULEs that names the unlisted host; print its message.
cat > "$T/event.py" <<'PY'
import json, sys
addr, rules = sys.argv[1], sys.argv[2:]
for r in json.load(sys.stdin):
    f = r.get("fields", {})
    if (r["event"] == "firewall-drops" and f.get("rule") in rules and
            f.get("sources", "").startswith(addr + " (")):
        print("%s | sources: %s" % (f["message"], f["sources"]))
        sys.exit(0)
sys.exit(1)
PY
event() {
	i=0
	while :; do
		sctl log --group network --json 2>/dev/null |
		    python3 "$T/event.py" $UL_ADDR "$@" && return 0
		i=$((i + 1))
		[ $i -le 60 ] || return 1
		sleep 0.5
	done
}
ip netns exec "$UL" timeout 3 hping3 -S --flood -p $PROTO $GW_UL > "$T/flood.out" 2>&1
if m=$(event "syn flood" "per-source new-connection rate"); then
	echo "ok: sluiced: SYN flood event: $m"
else
	fail "sluiced: no firewall-drops event naming $UL_ADDR for the SYN flood"
	sctl log --group network --json | tail -c 2000
fi
ip netns exec "$UL" timeout 30 nmap -sN -Pn -n -p "$PROTO,$PRIO,$OFF" \
    --max-retries 1 $GW_UL > "$T/nmap.out" 2>&1
if m=$(event "null scan"); then
	echo "ok: sluiced: nmap -sN event: $m"
else
	fail "sluiced: no firewall-drops event naming $UL_ADDR for nmap -sN"
	cat "$T/nmap.out"
	sctl log --group network --json | tail -c 2000
fi
# Spoofed sources: the event lists a few and counts the rest, as many
# as the kernel held (its set is full: "at least").
cat > "$T/many.py" <<'PY'
import json, re, sys
for r in json.load(sys.stdin):
    f = r.get("fields", {})
    m = re.search(r" and at least ([0-9,]+) other sources dropped",
                  f.get("message", ""))
    if (r["event"] == "firewall-drops" and f.get("rule") in sys.argv[1:]
            and m and int(m.group(1).replace(",", "")) >= 1000
            and f.get("sources", "").count("(") == 8):
        print(f["message"])
        sys.exit(0)
sys.exit(1)
PY
ip netns exec "$UL" timeout 2 hping3 -S --flood --rand-source -p $OFF $GW_UL \
    > "$T/spoof.out" 2>&1
i=0
until sctl log --group network --json 2>/dev/null |
    python3 "$T/many.py" "syn flood" "telnet port (disabled)" > "$T/many.out"; do
	i=$((i + 1))
	[ $i -le 60 ] || break
	sleep 0.5
done
if [ -s "$T/many.out" ]; then
	echo "ok: sluiced: random-source flood event: $(cat "$T/many.out")"
else
	fail "sluiced: no firewall-drops event counting the spoofed sources"
	sctl log --group network --json | tail -c 3000
fi
sctl firewall show > "$T/show.out" 2>&1
if grep -q "$UL_ADDR" "$T/show.out"; then
	echo "ok: sluicectl firewall show lists $UL_ADDR"
else
	fail "sluicectl firewall show does not list $UL_ADDR"
	cat "$T/show.out"
fi
kill "$PIDS" 2>/dev/null
i=0
while kill -0 "$PIDS" 2>/dev/null && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.05
done
PIDS=
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log"; then
	fail "sanitizer report from sluiced"
	cat "$T/daemon.log"
fi

[ $fails = 0 ] || { echo "$fails check(s) failed"; exit 1; }
exit 0
