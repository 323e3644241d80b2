#!/bin/sh
# Installs the Debian packages forkwatch needs to build, test and demo.
# As root with apt-get it installs what is missing; otherwise it names them and fails.
set -u
PKGS="gcc make gdb binutils elfutils pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev python3 python3.11 python3.11-dbg python3.11-dev clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "forkwatch: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || { echo "forkwatch: apt-get update failed" >&2; exit 1; }
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null || { echo "forkwatch: apt-get install failed for:$missing" >&2; exit 1; }
    exit 0
fi
echo "forkwatch: missing Debian packages:$missing — run: sudo apt-get install$missing" >&2
exit 1
