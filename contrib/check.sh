#!/bin/sh
# contrib/check.sh - build and test sluice exactly as CI does: install what
# is missing, build out of tree in build/check with -Werror, run the test
# suite, make sure sluiced does not link OpenSSL 3, then `make distcheck`.
#
# Environment:
#   CHECK_CONFIGURE_FLAGS   extra arguments for configure (and distcheck's)
#   SLUICE_SKIP_DISTCHECK=1 skip `make distcheck` (it builds and tests twice)
#   SLUICE_TEST_TIMEOUT     seconds `make check` may take (default 900;
#                           distcheck gets twice that)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=contrib/deps.sh
. ./contrib/deps.sh

start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)
build=build/check

# shellcheck disable=SC2086
sluice_install_missing $BUILD_PKGS $TEST_PKGS

echo "check: autoreconf"
autoreconf -fi

echo "check: configure in $build"
mkdir -p "$build"
# shellcheck disable=SC2086
(cd "$build" && "$top/configure" -q --enable-werror ${CHECK_CONFIGURE_FLAGS:-})

echo "check: make"
make -C "$build" -j"$jobs"

limit=${SLUICE_TEST_TIMEOUT:-900}
echo "check: make check"
if ! sluice_make_tests "$build" "$limit" -j"$jobs" check; then
	echo "check: FAILED: make check (logs above; all of them in $build)" >&2
	exit 1
fi
passed=$(sed -n 's/^# PASS: *//p' "$build/test-suite.log" 2>/dev/null || :)
skipped=$(sed -n 's/^# SKIP: *//p' "$build/test-suite.log" 2>/dev/null || :)

# BoringSSL's symbols are unversioned: with OpenSSL 3 in the same process
# the two bind into each other at run time (DEPENDENCIES.md).
echo "check: OpenSSL 3 guard"
for prog in sluiced sluicectl; do
	if [ ! -x "$build/$prog" ]; then
		echo "check: FAILED: $build/$prog was not built" >&2
		exit 1
	fi
	libs=$(ldd "$build/$prog")
	if printf '%s\n' "$libs" | grep -E 'lib(ssl|crypto)\.so\.3'; then
		echo "check: FAILED: $prog links OpenSSL 3 (above); it must only ever link BoringSSL" >&2
		exit 1
	fi
	if printf '%s\n' "$libs" | grep 'not found'; then
		echo "check: FAILED: $prog has unresolved libraries (above)" >&2
		exit 1
	fi
done

if [ "${SLUICE_SKIP_DISTCHECK:-0}" = 1 ]; then
	distcheck="skipped"
else
	echo "check: make distcheck"
	# A failed distcheck leaves its tree in $build/sluice-*/, with the
	# logs of its own test run below it.
	if ! sluice_make_tests "$build" $((2 * limit)) -j"$jobs" distcheck \
	    DISTCHECK_CONFIGURE_FLAGS="--enable-werror ${CHECK_CONFIGURE_FLAGS:-}"; then
		echo "check: FAILED: make distcheck" >&2
		exit 1
	fi
	distcheck="passed"
fi

echo "check: OK: $passed tests passed, $skipped skipped; no OpenSSL 3;" \
    "distcheck $distcheck; $(($(date +%s) - start)) s"
