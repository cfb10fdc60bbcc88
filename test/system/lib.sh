# lib.sh - shared by the system tests: a scratch directory, a daemon
# started under a private NOTIFY_SOCKET, and assertions.  Every wait is
# bounded; every process we start is killed by pid on exit.
set -u

: "${top_builddir:?}" "${top_srcdir:?}"
SLUICED="$top_builddir/sluiced"
SLUICECTL="$top_builddir/sluicectl"
NOTIFY_RUN="$top_builddir/test/helpers/notify-run"

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
# The engine drops to another user when we run as root: let it in.
chmod 0755 "$T"
STATE="$T/state"
POLICY="$T/sluice.yaml"
DAEMON_PID=
CLEANUP_PIDS=

# As root the daemon programs nftables: give it a network namespace of
# its own so table inet sluice never lands in the host's ruleset.  IN_NS
# prefixes every command that must share the daemon's network (abstract
# NOTIFY_SOCKET, loopback peers, nft).
NS=
EXTRA_NS=    # more namespaces a test made; removed with NS
IN_NS=()
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 &&
    ip netns add "sluice-t$$" 2>/dev/null; then
	NS="sluice-t$$"
	ip -n "$NS" link set lo up
	IN_NS=(ip netns exec "$NS")
fi

cleanup() {
	local p st=$?
	for p in $DAEMON_PID $CLEANUP_PIDS; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null   # reap our own jobs quietly
	done
	# The engine follows its monitor (PDEATHSIG); give it a moment.
	for p in 1 2 3 4 5 6 7 8 9 10; do
		pgrep -f "state-dir $STATE" >/dev/null 2>&1 || break
		sleep 0.1
	done
	pkill -9 -f "state-dir $STATE" 2>/dev/null
	# Under --enable-sanitizers the daemon's own reports fail the test.
	if [ "$st" = 0 ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$T/daemon.log" 2>/dev/null; then
		echo "FAIL: sanitizer report from sluiced:" >&2
		grep -A20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log" >&2
		st=1
	fi
	rm -rf "$T"
	for p in $NS $EXTRA_NS; do
		ip netns del "$p" 2>/dev/null
	done
	exit "$st"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines)" >&2
		tail -n 30 "$T/daemon.log" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

ctl() {
	"$SLUICECTL" --state-dir "$STATE" "$@"
}

# start_daemon [extra sluiced args] - waits for READY=1 (10 s at most).
start_daemon() {
	local out
	out=$("${IN_NS[@]}" "$NOTIFY_RUN" 10000 "$T/daemon.pid" -- "$SLUICED" -f \
	    -c "$POLICY" --state-dir "$STATE" "$@" 2>>"$T/daemon.log") || {
		DAEMON_PID=$(cat "$T/daemon.pid" 2>/dev/null)
		fail "sluiced did not become ready: $out"
	}
	DAEMON_PID=$(cat "$T/daemon.pid")
	READY_MS=${out#ready }
}

# stop_daemon - SIGTERM, then wait (5 s at most) and return its status.
stop_daemon() {
	local i
	kill -TERM "$DAEMON_PID" 2>/dev/null || return 1
	for i in $(seq 1 500); do
		alive "$DAEMON_PID" || break
		sleep 0.01
	done
	alive "$DAEMON_PID" && fail "sluiced did not stop on SIGTERM"
	DAEMON_PID=
}

# alive PID - running, not a zombie waiting for init to reap it.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# kill9_daemon - kill -9 the monitor; the engine follows (PDEATHSIG).
kill9_daemon() {
	local eng i
	eng=$(engine_pid)
	kill -9 "$DAEMON_PID"
	for i in $(seq 1 500); do
		[ -n "$eng" ] && alive "$eng" || break
		sleep 0.01
	done
	[ -n "$eng" ] && alive "$eng" && fail "engine $eng survived its monitor"
	DAEMON_PID=
}

engine_pid() {
	pgrep -P "$DAEMON_PID" | head -n 1
}

# wait_file PID FILE [TRIES]: wait (TRIES x 0.05 s, default 200) for a
# ready file to be non-empty, giving up early when PID has died.
wait_file() {
	local i
	for i in $(seq 1 "${3:-200}"); do
		[ -s "$2" ] && return 0
		alive "$1" || break
		sleep 0.05
	done
	[ -s "$2" ]
}

# wait_for CMD... - retry a condition for up to 5 s.
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

assert_contains() { # haystack needle what
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: expected to find \"$2\" in: $1" ;;
	esac
}

assert_not_contains() {
	case "$1" in
	*"$2"*) fail "$3: did not expect \"$2\" in: $1" ;;
	*) ;;
	esac
}

# expect_exit CODE CMD... - run and check the exit status.
expect_exit() {
	local want=$1 got
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || fail "$* exited $got, expected $want; stderr: $(cat "$T/err")"
}

# test_ca SAN: in the current directory, a test CA (ca.key, ca.pem) and
# ext.cnf for server certificates with that subjectAltName.
test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout ca.key -out ca.pem -days 30 -subj /CN=sluice-test-ca \
	    -addext basicConstraints=critical,CA:true \
	    -addext keyUsage=critical,keyCertSign,cRLSign &&
	printf '%s\n' "subjectAltName=$1" 'basicConstraints=CA:false' \
	    'extendedKeyUsage=serverAuth' >ext.cnf
}
# test_leaf NAME CN KEYSPEC [REQ-ARGS...]: NAME.key and NAME.pem (90
# days), signed by test_ca's CA in the current directory.
test_leaf() {
	local name=$1 cn=$2 spec=$3
	shift 3
	openssl req -new -newkey "$spec" -nodes -keyout "$name.key" \
	    -out "$name.csr" -subj "/CN=$cn" "$@" &&
	openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 90 -extfile ext.cnf -out "$name.pem"
}
