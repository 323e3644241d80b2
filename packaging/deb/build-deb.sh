#!/bin/sh
# Builds forkwatch_VERSION_ARCH.deb from a built tree with dpkg-dev's own tools (what `make deb`
# runs): the staged files under BUILD/deb/debian/forkwatch, Depends from the ELF files' shared
# libraries (dpkg-shlibdeps), DEBIAN/control from packaging/deb/control (dpkg-gencontrol),
# md5sums, conffiles and maintainer scripts, then dpkg-deb --root-owner-group.
#
#   sh packaging/deb/build-deb.sh BUILD MULTIARCH     (run from the source tree's top)
#
# The package is for the release it is built on (its libdw/libelf/libunwind sonames and
# versions): the version carries the release's codename, e.g. 0.1.0-1+trixie.
set -eu
BUILD=${1:?usage: build-deb.sh BUILD MULTIARCH}
MA=${2:-}
die() { echo "build-deb: $*" >&2; exit 1; }

for t in dpkg-architecture dpkg-shlibdeps dpkg-gencontrol dpkg-deb; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found: apt-get install dpkg-dev"
done
for f in "$BUILD/forkwatch" "$BUILD/libforkwatch.so" gdb/forkwatch-gdb.py docs/forkwatch.1 \
         packaging/bash-completion/forkwatch LICENSE; do
    [ -f "$f" ] || die "$f is missing (run make first)"
done
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb_ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# The CLI looks for the agent at ../lib/<triplet>/forkwatch with the triplet it was built with.
[ -z "$MA" ] || [ "$MA" = "$deb_ma" ] || die "the CLI was built for multiarch '$MA', dpkg says '$deb_ma'"
MA=$deb_ma
grep -q -a "lib/$MA/forkwatch/libforkwatch.so" "$BUILD/forkwatch" \
    || die "$BUILD/forkwatch does not look for the agent in ../lib/$MA/forkwatch (rebuild: rm $BUILD/obj/cli/paths.o; make)"
upstream=$(sed -n 's/^#define FW_VERSION "\(.*\)"$/\1/p' cli/usage.h)
[ -n "$upstream" ] || die "no FW_VERSION in cli/usage.h"
codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
grep -q '^VERSION_ID=' /etc/os-release || codename=sid
version="$upstream-1${codename:++$codename}"

work=$BUILD/deb
rm -rf "$work"
pkg=$work/debian/forkwatch
mkdir -p "$pkg/DEBIAN"
umask 022

# ---- the files
install -d "$pkg/usr/bin" "$pkg/usr/lib/$MA/forkwatch" "$pkg/usr/share/forkwatch/gdb" \
    "$pkg/etc/gdb/gdbinit.d" "$pkg/usr/share/man/man1" "$pkg/usr/share/bash-completion/completions" \
    "$pkg/usr/share/doc/forkwatch"
# DWARF stripped as dh_strip does (no -dbgsym package here); symbol tables kept: the GDB side
# finds the agent's `forkwatch_registry` by its (dynamic) symbol.
install -m 0755 "$BUILD/forkwatch" "$pkg/usr/bin/forkwatch"
install -m 0644 "$BUILD/libforkwatch.so" "$pkg/usr/lib/$MA/forkwatch/libforkwatch.so"
strip --strip-debug --remove-section=.comment --remove-section=.note \
    "$pkg/usr/bin/forkwatch" "$pkg/usr/lib/$MA/forkwatch/libforkwatch.so"
# The GDB package: sources only (postinst byte-compiles with gdb's own Python, prerm cleans).
(cd gdb && find . -name __pycache__ -prune -o -type f \( -name '*.py' -o -name '*.json' \) -print) | while read -r f; do
    install -D -m 0644 "gdb/$f" "$pkg/usr/share/forkwatch/gdb/$f"
done
install -m 0644 packaging/deb/gdbinit.gdb "$pkg/etc/gdb/gdbinit.d/forkwatch.gdb"
gzip -9n -c docs/forkwatch.1 >"$pkg/usr/share/man/man1/forkwatch.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/forkwatch.1.gz"
install -m 0644 packaging/bash-completion/forkwatch "$pkg/usr/share/bash-completion/completions/forkwatch"
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: forkwatch"
    echo
    echo "Files: *"
    echo "Copyright: $(sed -n 's/^Copyright (c) //p' LICENSE | head -n 1)"
    echo "License: Expat"
    sed -e 's/^$/./' -e 's/^/ /' LICENSE
} >"$pkg/usr/share/doc/forkwatch/copyright"

# ---- debian/changelog and debian/control for dpkg-gencontrol / dpkg-shlibdeps
date_r=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
cat >"$work/debian/changelog" <<CHANGELOG
forkwatch ($version) ${codename:-unstable}; urgency=medium

  * Built from the forkwatch source tree with make deb.

 -- The forkwatch authors <forkwatch@invalid>  $date_r
CHANGELOG
gzip -9n -c "$work/debian/changelog" >"$pkg/usr/share/doc/forkwatch/changelog.Debian.gz"
cp packaging/deb/control "$work/debian/control"

(
    cd "$work"
    dpkg-shlibdeps -Tdebian/forkwatch.substvars \
        -e"debian/forkwatch/usr/bin/forkwatch" -e"debian/forkwatch/usr/lib/$MA/forkwatch/libforkwatch.so"
    dpkg-gencontrol -pforkwatch -Pdebian/forkwatch -Tdebian/forkwatch.substvars
)

install -m 0755 packaging/deb/postinst packaging/deb/prerm "$pkg/DEBIAN/"
echo /etc/gdb/gdbinit.d/forkwatch.gdb >"$pkg/DEBIAN/conffiles"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
    | xargs md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/conffiles"

out="$BUILD/forkwatch_${version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
echo "build-deb: $out"
dpkg-deb -f "$out" Package Version Architecture Depends Suggests | sed 's/^/  /'
