# shellcheck shell=sh
# contrib/deps.sh - the Debian packages sluice builds and tests with, and
# helpers shared by contrib/check.sh, contrib/demo.sh and .ci/run.
# Sourced, never run.  POSIX sh.

# Everything `./configure && make` needs (DEPENDENCIES.md says why each).
# shellcheck disable=SC2034  # used by the scripts that source this file
BUILD_PKGS="autoconf automake autoconf-archive libtool pkg-config make gcc
	clang libevent-dev libyaml-dev libsodium-dev libnftnl-dev libmnl-dev
	libmodbus-dev libjansson-dev libcmocka-dev android-libboringssl-dev"

# Peers and tools the test suite uses.  Tests that add a peer append one
# line below: TEST_PKGS="$TEST_PKGS package".
# shellcheck disable=SC2034
TEST_PKGS="rsyslog socat valgrind iproute2 nftables python3 procps
	groff-base"
TEST_PKGS="$TEST_PKGS python3-pymodbus"
# clang's ASan/UBSan and libFuzzer runtimes (.ci/run): only a Recommends
# of clang, so --no-install-recommends would leave them out.
TEST_PKGS="$TEST_PKGS libclang-rt-14-dev"

# sluice_install_missing PKG... - install those of PKG that dpkg does not
# know as installed.  Costs one dpkg-query per package and nothing else
# when all are present; otherwise one `apt-get update` per run of the
# calling script, then one `apt-get install` of the missing ones.
sluice_install_missing()
{
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: not a Debian system; make sure these are installed:" >&2
		echo "deps:   $*" >&2
		return 0
	fi
	_sluice_missing=
	for _sluice_p in "$@"; do
		case $(dpkg-query -W -f='${Status}' "$_sluice_p" 2>/dev/null) in
		*" installed") ;;
		*) _sluice_missing="$_sluice_missing $_sluice_p" ;;
		esac
	done
	[ -n "$_sluice_missing" ] || return 0

	if [ "$(id -u)" -eq 0 ]; then
		_sluice_sudo=
	elif command -v sudo >/dev/null 2>&1; then
		# Without a terminal sudo cannot ask for a password: fail at
		# once (-n) instead of hanging a CI job.
		if [ -t 0 ]; then _sluice_sudo=sudo; else _sluice_sudo="sudo -n"; fi
	else
		echo "deps: missing packages:$_sluice_missing" >&2
		echo "deps: installing them needs root or sudo; install them and run again" >&2
		return 1
	fi
	echo "deps: installing:$_sluice_missing"
	if [ -z "${_sluice_apt_updated:-}" ]; then
		# sudo resets the environment: pass the variable through env(1).
		# shellcheck disable=SC2086
		$_sluice_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
			return 1
		_sluice_apt_updated=1
	fi
	# shellcheck disable=SC2086
	$_sluice_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $_sluice_missing
}

# sluice_make_tests BUILDDIR SECONDS MAKE-ARGS... - run make in BUILDDIR
# (`check`, `distcheck`, ...) for at most SECONDS when there is no terminal:
# a test that hangs must not hold CI for hours.  timeout(1) signals its
# whole process group, so the tests and the daemons they started go too.
# With a terminal, Ctrl-C is the timeout: timeout(1) would take make out
# of the terminal's process group, beyond Ctrl-C's reach.  On failure,
# prints the suite's summary and the log of every test that failed or did
# not finish, so a CI log is enough to diagnose it, and returns 1.
sluice_make_tests()
{
	_sluice_dir=$1 _sluice_limit=$2
	shift 2
	_sluice_rc=0
	if [ -t 0 ]; then
		make -C "$_sluice_dir" "$@" || _sluice_rc=$?
	else
		timeout "$_sluice_limit" make -C "$_sluice_dir" "$@" || _sluice_rc=$?
	fi
	[ "$_sluice_rc" -eq 0 ] && return 0
	[ "$_sluice_rc" -eq 124 ] &&
		echo "make $*: stopped after $_sluice_limit s" >&2
	# Summaries of suites that failed (not of a passing suite next to a
	# failed build), then the logs of the tests that did.
	find "$_sluice_dir" -name test-suite.log -exec \
	    grep -qE '^# (FAIL|ERROR|XPASS): +[1-9]' {} \; -exec \
	    sed -n '1,/^\.\. contents::/p' {} \;
	find "$_sluice_dir" -name '*.log' ! -name test-suite.log ! -name config.log |
	while read -r _sluice_log; do
		_sluice_trs=${_sluice_log%.log}.trs
		if [ ! -f "$_sluice_trs" ]; then
			echo "======== ${_sluice_log#"$_sluice_dir"/} (did not finish)"
		elif grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$_sluice_trs"; then
			echo "======== ${_sluice_log#"$_sluice_dir"/}"
		else
			continue
		fi
		cat "$_sluice_log"
	done
	return 1
}
TEST_PKGS="$TEST_PKGS hping3 nmap"
# sluice-modbus-sim test peers: mbpoll, and pymodbus' serial client
# (python3-pymodbus only recommends what pulls in python3-serial).
TEST_PKGS="$TEST_PKGS mbpoll python3-serial"
# mb-client's system test: pymodbus' TCP server (typer) and its RTU/ASCII
# servers on a pty (serial-asyncio); python3-pymodbus only recommends both.
TEST_PKGS="$TEST_PKGS python3-typer python3-serial-asyncio"
TEST_PKGS="$TEST_PKGS tshark"   # decodes the gateway's pcapng captures
TEST_PKGS="$TEST_PKGS curl openssl"   # test/system/tls.sh: TLS/HTTP peers
TEST_PKGS="$TEST_PKGS testssl.sh"   # test/system/console-tls.sh: TLS scan of the console
TEST_PKGS="$TEST_PKGS python3-yaml"   # test/system/console-roles.sh reads openapi.yaml
# make bench-console only: nginx (one worker, the console's certificate) as
# the yardstick, wrk for keep-alive request rates.  Not installed by
# check.sh: Debian's nginx package starts a server on port 80.  Install them
# with `. contrib/deps.sh && sluice_install_missing $BENCH_PKGS`.
BENCH_PKGS="nginx-light wrk"
