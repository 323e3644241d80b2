#!/bin/sh
# Installs the Debian packages forkwatch needs to build, test and demo, on Debian 12 (bookworm),
# 13 (trixie) and sid. As root with apt-get it installs what is missing; otherwise it names them
# and fails. Optional packages (the fuzzer's clang) are installed where the release has them;
# where it does not, one line says what is skipped.
set -u

# The release: VERSION_CODENAME from os-release; sid has no VERSION_ID (its codename is the
# next release's name), and /etc/debian_version says ".../sid".
release=unknown
if [ -r /etc/os-release ]; then
    release=$(. /etc/os-release; echo "${VERSION_CODENAME:-unknown}")
    grep -q '^VERSION_ID=' /etc/os-release || release=sid
fi
grep -q 'sid' /etc/debian_version 2>/dev/null && release=sid

# python3, python3-dbg and python3-dev are the release's default CPython (3.11 on bookworm,
# 3.13 on trixie and sid) with its debug symbols (found by build-id) and headers.
PKGS="gcc make gdb binutils elfutils pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev libjson-c-dev python3 python3-dbg python3-dev"
# make deb (dpkg-dev's dpkg-shlibdeps, dpkg-gencontrol, dpkg-deb) and make wheel (wheel pack; a venv to test it).
PKGS="$PKGS dpkg-dev python3-wheel python3-venv"
# python3-pytest: tests/watchdog runs a pytest suite under `forkwatch run`.
PKGS="$PKGS python3-pytest"
case $release in
    bookworm) PKGS="$PKGS python3.11 python3.11-dbg python3.11-dev"; OPTIONAL="clang-14 libclang-rt-14-dev" ;;
    *)        OPTIONAL="clang" ;;
esac

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=""
for p in $PKGS; do installed "$p" || missing="$missing $p"; done
opt_missing=""
for p in $OPTIONAL; do installed "$p" || opt_missing="$opt_missing $p"; done
[ -z "$missing$opt_missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    if [ -n "$missing" ]; then
        echo "forkwatch: missing Debian packages:$missing — run: sudo apt-get install$missing" >&2
        exit 1
    fi
    echo "forkwatch: optional packages not installed:$opt_missing (make fuzz needs them; everything else works)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS="-o APT::Install-Recommends=false"
# sid's Release file on the archive these machines reach is past its Valid-Until.
[ "$release" = sid ] && APT_OPTS="$APT_OPTS -o Acquire::Check-Valid-Until=false"
# shellcheck disable=SC2086
apt-get $APT_OPTS update -qq >/dev/null || { echo "forkwatch: apt-get update failed" >&2; exit 1; }
if [ -n "$missing" ]; then
    echo "forkwatch: installing missing Debian packages ($release):$missing"
    # shellcheck disable=SC2086
    apt-get $APT_OPTS install -y -qq $missing >/dev/null || { echo "forkwatch: apt-get install failed for:$missing" >&2; exit 1; }
fi
if [ -n "$opt_missing" ]; then
    # shellcheck disable=SC2086
    if apt-get $APT_OPTS install -y -qq $opt_missing >/dev/null 2>&1; then
        echo "forkwatch: installed optional packages:$opt_missing"
    else
        echo "forkwatch: optional packages not available on $release:$opt_missing — skipped (only make fuzz needs them)"
    fi
fi
exit 0
