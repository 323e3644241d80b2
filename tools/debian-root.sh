#!/bin/sh
# Debian roots for the test matrix (issue 10): a Debian 13 (trixie) and a sid root built with
# debootstrap from the machine's own configured Debian mirror, cached, and commands run inside
# them with /proc, /sys, /dev and /dev/pts bound (gdb and ptrace need them) and always unbound.
# The machine's apt sources are never changed: the roots carry their own.
#
#   tools/debian-root.sh ensure SUITE       build the root if missing, install what is missing
#   tools/debian-root.sh run SUITE CMD...   run CMD inside the root (as root, cwd /), mounts undone
#   tools/debian-root.sh path SUITE         print the root's directory
#   tools/debian-root.sh pythons SUITE      print the Debian pythons the root has (python3.13 ...)
#
# Roots live in $FORKWATCH_ROOTS (default /var/cache/forkwatch/roots); delete one to rebuild it.
set -eu

ROOTS=${FORKWATCH_ROOTS:-/var/cache/forkwatch/roots}
BASE_PKGS="build-essential make gdb binutils elfutils pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev libjson-c-dev python3 procps"

die() { echo "debian-root: $*" >&2; exit 1; }

# The Python packages each suite provides (checked on the archive these machines reach).
suite_pythons() {
    case $1 in
        trixie) echo "3.13" ;;
        sid)    echo "3.13 3.14 3.15" ;;
        *) die "unknown suite '$1' (known: trixie, sid)" ;;
    esac
}

suite_pkgs() {
    pk=$BASE_PKGS
    # libpython3.X-testsuite: CPython's own test package, for tests/cpython_suites.py.
    for v in $(suite_pythons "$1"); do pk="$pk python$v python$v-dbg python$v-dev libpython$v-testsuite"; done
    echo "$pk"
}

# The mirror the machine itself uses (deb822 sources or a one-line sources.list).
machine_mirror() {
    m=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
        | grep -v security | head -n 1 || true)
    [ -n "$m" ] || m=$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' \
        | grep -v security | head -n 1 || true)
    [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list(.d)"
    echo "$m"
}

# sid's Release file is past its Valid-Until on the archive these machines reach.
apt_opts() {
    echo "-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0"
}

# Commands run in a private mount namespace (unshare -m): the binds exist only there, so
# they are undone by the kernel when the command ends, however it ends (even SIGKILL), and
# two runs in one root at the same time do not unmount each other's.
in_root() {
    dir=$1; shift
    unshare --mount --propagation private /bin/sh -c '
        r=$1; shift
        mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" &&
        mount --rbind /dev "$r/dev" || { echo "debian-root: cannot bind /proc,/sys,/dev into $r" >&2; exit 125; }
        exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 TERM=dumb ${CI:+CI=$CI} "$@"' in_root "$dir" "$@"
}

ensure() {
    suite=$1
    dir=$ROOTS/$suite
    [ "$(id -u)" = 0 ] || die "building a Debian root needs root"
    pkgs=$(suite_pkgs "$suite")
    stamp=$dir/.forkwatch-root
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ]; then
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        echo "debian-root: installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
            || die "could not install debootstrap"
    }
    mirror=$(machine_mirror)
    if [ ! -x "$dir/usr/bin/apt-get" ]; then
        rm -rf "$dir"
        mkdir -p "$ROOTS"
        echo "debian-root: debootstrap $suite from $mirror into $dir"
        t0=$(date +%s)
        debootstrap --variant=minbase "$suite" "$dir.partial" "$mirror" >"$ROOTS/$suite.debootstrap.log" 2>&1 \
            || { tail -n 5 "$ROOTS/$suite.debootstrap.log" >&2; rm -rf "$dir.partial"; die "debootstrap $suite failed"; }
        mv "$dir.partial" "$dir"
        echo "debian-root: $suite base in $(( $(date +%s) - t0 ))s"
    fi
    # The root's own sources: the same mirror, this suite only.
    printf 'deb %s %s main\n' "$mirror" "$suite" >"$dir/etc/apt/sources.list"
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    t0=$(date +%s)
    echo "debian-root: installing into $suite: $pkgs"
    # shellcheck disable=SC2046,SC2086
    in_root "$dir" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get $(apt_opts) update -qq && apt-get $(apt_opts) install -y -qq $pkgs" \
        >"$ROOTS/$suite.install.log" 2>&1 \
        || { tail -n 5 "$ROOTS/$suite.install.log" >&2; die "installing packages into $suite failed (log: $ROOTS/$suite.install.log)"; }
    in_root "$dir" apt-get clean >/dev/null 2>&1 || true
    echo "debian-root: $suite packages in $(( $(date +%s) - t0 ))s"
    echo "$pkgs" >"$stamp"
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: $0 ensure|run|path|pythons SUITE [CMD...]"
suite=$2
shift 2
case $cmd in
    ensure) ensure "$suite" ;;
    path) suite_pythons "$suite" >/dev/null; echo "$ROOTS/$suite" ;;
    pythons) for v in $(suite_pythons "$suite"); do printf 'python%s ' "$v"; done; echo ;;
    run)
        [ -f "$ROOTS/$suite/.forkwatch-root" ] || die "no $suite root: run '$0 ensure $suite' first"
        [ $# -ge 1 ] || die "run: no command"
        in_root "$ROOTS/$suite" "$@" ;;
    *) die "unknown command '$cmd'" ;;
esac
