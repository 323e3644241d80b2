#!/bin/sh
# Runs a command on a copy of this source tree inside a Debian root (tools/debian-root.sh),
# built there with the root's own gcc, glibc and gdb:
#
#   sh tests/run_in_root.sh SUITE [CMD...]     (default CMD: sh tests/run_tests.sh)
#
# The copy is the working tree without build/ and .git, at /tmp/forkwatch-src.PID inside the
# root, removed afterwards (FORKWATCH_ROOT_KEEP=1 keeps it and prints where). The command runs
# with FORKWATCH_DISTRO set to the root's name (debian13, sid) and FORKWATCH_TEST_PYTHONS to the
# root's Debian pythons (FORKWATCH_SUITES and FORKWATCH_TEST_FILTER pass through), and its
# exit status is this script's.
set -u
cd "$(dirname "$0")/.." || exit 3
suite=${1:?usage: run_in_root.sh SUITE [CMD...]}
shift
[ $# -ge 1 ] || set -- sh tests/run_tests.sh

tools/debian-root.sh ensure "$suite" || exit 3
root=$(tools/debian-root.sh path "$suite") || exit 3
pythons=""
for p in $(tools/debian-root.sh pythons "$suite"); do pythons="$pythons${pythons:+:}/usr/bin/$p"; done
case $suite in trixie) distro=debian13 ;; *) distro=$suite ;; esac

rel=tmp/forkwatch-src.$$
mkdir -p "$root/$rel" || exit 3
cleanup() { [ "${FORKWATCH_ROOT_KEEP:-0}" = 1 ] || rm -rf "${root:?}/$rel"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP
tar --exclude=./build --exclude=./.git -cf - . | tar -C "$root/$rel" -xf - || exit 3
[ "${FORKWATCH_ROOT_KEEP:-0}" = 1 ] && echo "run_in_root: the copy stays at $root/$rel"

# shellcheck disable=SC2016
tools/debian-root.sh run "$suite" /bin/sh -c '
    cd "/$1" || exit 3; shift
    export FORKWATCH_DISTRO="$1" FORKWATCH_TEST_PYTHONS="$2"; shift 2
    [ -n "$1" ] && export FORKWATCH_SUITES="$1"
    [ -n "$2" ] && export FORKWATCH_TEST_FILTER="$2"
    shift 2
    make -s all unit-tests >/tmp/forkwatch-build.log 2>&1 || { tail -n 30 /tmp/forkwatch-build.log; echo "run_in_root: the build failed in $FORKWATCH_DISTRO"; exit 3; }
    exec "$@"' run_in_root "$rel" "$distro" "$pythons" \
    "${FORKWATCH_SUITES:-}" "${FORKWATCH_TEST_FILTER:-}" "$@"
