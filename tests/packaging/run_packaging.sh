#!/bin/sh
# The packaging suite (issue 14), what `make test TESTS=packaging` runs:
#   test_host.py   forkwatch(1), the completion and the README agree with cli/usage.c;
#                  `make deb` builds this release's package (contents, modes, Depends);
#   test_wheel.py  `make wheel`, `pip install --no-index` into a fresh venv, the installed
#                  command's run/attach against the built tree's;
#   test_deb.sh    the .deb built, installed, used, removed and purged in a throw-away overlay of
#                  each cached Debian root in FORKWATCH_PACKAGING_ROOTS (default "trixie sid"; one
#                  SKIP line for a root that is not there). Not on the machine itself: an
#                  installed package would load into every other gdb session on it.
# Each part ends with `N passed, N failed`; this sums them into the last line.
set -u
cd "$(dirname "$0")/../.." || exit 3
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
unset PYTHONUNBUFFERED
P=0; F=0
part() {
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -v "CPython interpreters that ran: none"
    last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL $*: no result line (exit $rc)"
        F=$((F + 1))
        return
    fi
    p=${last%% passed*}
    f=$(echo "$last" | sed 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/')
    [ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
    P=$((P + p)); F=$((F + f))
}
part "$PY" tests/packaging/test_host.py
part "$PY" tests/packaging/test_wheel.py
for root in ${FORKWATCH_PACKAGING_ROOTS-trixie sid}; do
    part sh tests/packaging/test_deb.sh "$root"
done
echo "$P passed, $F failed"
[ "$F" = 0 ]
