#!/bin/sh
# contrib/demo.sh - build sluice and run sluiced in the foreground on a
# scratch state directory, with the embedded default policy plus one
# simulated Modbus RTU line: a slave simulator on a pty answers unit 1,
# which sluice routes from Modbus TCP port 5020.  Ctrl-C stops both; the
# state directory is kept so the event log can be inspected.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=contrib/deps.sh
. ./contrib/deps.sh

build=$top/build/demo
# shellcheck disable=SC2086
sluice_install_missing $BUILD_PKGS mbpoll

# Configure only when needed; once a Makefile exists, automake's rebuild
# rules follow changes to configure.ac and the .am files by themselves.
if [ ! -x configure ] || [ -n "$(find configure.ac -newer configure)" ]; then
	echo "demo: autoreconf"
	autoreconf -fi
fi
if [ ! -f "$build/Makefile" ]; then
	echo "demo: configure in build/demo"
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q)
fi
echo "demo: make"
make -C "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

state=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
# mktemp makes it 0700; the engine may run as another user and must be
# able to traverse it.
chmod 0755 "$state"
ctl="$build/sluicectl --state-dir $state"     # as shown to the user

# The simulated line: an RTU slave (unit 1) on a pty whose far end is
# $state/line1, the device the policy names.
"$build/contrib/sluice-modbus-sim" --rtu --pty "$state/line1" --baud 19200 \
    --parity E --unit 1 --ready-file "$state/sim.ready" >/dev/null \
    2>"$state/sim.log" &
sim=$!
i=0
until [ -s "$state/sim.ready" ]; do
	i=$((i + 1))
	if [ "$i" -ge 100 ] || ! kill -0 "$sim" 2>/dev/null; then
		echo "demo: the Modbus simulator did not start: $(cat "$state/sim.log")" >&2
		exit 1
	fi
	sleep 0.1
done
cat >"$state/sluice.yaml" <<EOF
# The demo: the embedded default (etc/sluice.yaml) plus one simulated
# RTU line.  sluicectl policy diff/apply work on this file.
base: $top/etc/sluice.yaml
services:
  modbus-tcp:
    enabled: true
    port: 5020              # demo ports: no root needed
    priority_port: 5021
  https:
    enabled: true
    port: 8443
modbus:
  serial_channels:
    - name: line1
      device: $state/line1
      baud: 19200
  routes:
    - units: 1
      channel: line1
EOF

netns=
in_ns=
if [ "$(id -u)" -eq 0 ]; then
	if id sluice >/dev/null 2>&1; then engine=sluice; else engine=nobody; fi
	# As root sluiced loads its firewall (table inet sluice), which stays
	# after it stops: keep the demo's in a network namespace of its own,
	# removed on exit, so this host's input is never filtered by a demo.
	if command -v ip >/dev/null 2>&1 && ip netns add "sluice-demo-$$" 2>/dev/null; then
		netns="sluice-demo-$$"
		in_ns="ip netns exec $netns "
		ip -n "$netns" link set lo up
	fi
	echo "demo: running as root: the engine runs as user '$engine'."
	if [ -n "$netns" ]; then
		echo "demo: the monitor programs nftables inside network namespace $netns"
		echo "demo: (ip netns exec $netns nft list table inet sluice), removed on exit."
	else
		echo "demo: WARNING: no network namespace: the firewall lands on this host."
	fi
else
	echo "demo: running as $(id -un): both processes run unprivileged and sluiced"
	echo "demo: logs what it cannot enforce."
fi
cat <<EOF

  daemon          $build/sluiced (foreground, logs to stderr; Ctrl-C stops it)
  state dir       $state
  control socket  $state/control.sock
  event log       $state/events.log
  policy          $state/sluice.yaml (the embedded default + the demo line)
  Modbus          unit 1 on a simulated RTU line ($state/line1), port 5020
  console (API)   https://127.0.0.1:8443/api/v1/ (self-signed certificate;
                  the first administrator: the setup token in the log, or
                  $ctl account add --admin admin)

  In another terminal:
    $ctl status
    $ctl services
    $ctl log
    $ctl policy show
    $ctl policy diff $top/policy/hardened.yaml
    $ctl log verify
    $ctl firewall show
    ${in_ns}mbpoll -a 1 -r 1 -c 10 -1 127.0.0.1 -p 5020
    $ctl modbus stats
    $ctl modbus capture --count 8
    $ctl cert show
    ${in_ns}curl -k https://127.0.0.1:8443/api/v1/login

EOF

# Once the daemon answers, show what this build implements.  Bounded:
# 100 tries, 10 s at most.
(
	i=0
	until out=$("$build/sluicectl" --state-dir "$state" services 2>/dev/null); do
		i=$((i + 1))
		if [ "$i" -ge 100 ]; then
			echo "demo: sluiced did not answer within 10 s" >&2
			exit 1
		fi
		sleep 0.1
	done
	printf '\n$ sluicectl services\n%s\n\n' "$out"
) &
poller=$!

# Not installed: the console's data files from the source tree.
export SLUICE_COMMON_PASSWORDS="$top/src/common-passwords.txt"
export SLUICE_WWW_DIR="$top/www"

# Ctrl-C reaches sluiced, which stops cleanly; the shell only waits for it.
trap : INT
status=0
if [ -n "$netns" ]; then
	ip netns exec "$netns" "$build/sluiced" -f --state-dir "$state" \
	    -c "$state/sluice.yaml" || status=$?
	ip netns del "$netns" 2>/dev/null || :
else
	"$build/sluiced" -f --state-dir "$state" -c "$state/sluice.yaml" || status=$?
fi
trap - INT
kill "$poller" "$sim" 2>/dev/null || :
wait "$poller" "$sim" 2>/dev/null || :

cat <<EOF

demo: sluiced exited with status $status.  The state is kept:
  $ctl log verify
  rm -r $state
EOF
exit "$status"
