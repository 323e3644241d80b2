#!/bin/sh
# The .deb test (issue 14), in a throw-away copy of a cached Debian root: an overlay mount
# (lower: /var/cache/forkwatch/roots/SUITE, not written to; upper: a temp dir) in a private mount
# namespace, so whatever the test installs, removes or leaves behind never reaches the cached
# root, and the mount ends with the namespace. Inside, tests/packaging/deb_checks.py builds the
# package with the root's own gcc and dpkg-dev, installs it with apt-get, checks it, purges it.
#
#   sh tests/packaging/test_deb.sh [SUITE]     (root; SUITE trixie (default) or sid; prints
#                                               PASS/FAIL lines and `N passed, N failed`)
#
# Without that root (tools/debian-root.sh ensure SUITE makes one) or without root it says so in
# one SKIP line and counts nothing.
set -u
cd "$(dirname "$0")/../.." || exit 3
ROOTS=${FORKWATCH_ROOTS:-/var/cache/forkwatch/roots}
suite=${1:-trixie}
base=$ROOTS/$suite

skip() { echo "SKIP deb: $*"; echo "0 passed, 0 failed"; exit 0; }
[ "$(id -u)" = 0 ] || skip "installing a package in a Debian root needs root"
[ -f "$base/.forkwatch-root" ] || skip "no $suite root at $base (tools/debian-root.sh ensure $suite builds one)"

tmp=$(mktemp -d /var/tmp/forkwatch-deb.XXXXXX) || exit 3
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM HUP
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/roots/$suite"

# shellcheck disable=SC2016
unshare --mount --propagation private /bin/sh -c '
    base=$1 tmp=$2 suite=$3
    mount -t overlay overlay -o "lowerdir=$base,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/roots/$suite" \
        || { echo "FAIL deb: cannot mount an overlay of $base"; echo "0 passed, 1 failed"; exit 1; }
    src=$tmp/roots/$suite/tmp/forkwatch-deb-src
    mkdir -p "$src" && tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf - || exit 3
    FORKWATCH_ROOTS=$tmp/roots tools/debian-root.sh run "$suite" /bin/sh -c \
        "cd /tmp/forkwatch-deb-src && exec python3 tests/packaging/deb_checks.py $suite"
' test_deb "$base" "$tmp" "$suite"
