#!/bin/sh
# forkwatch's test runner (what `make test` runs). Runs every suite present, in order:
#   unit (criterion), cli, gdb, gdb_cpython, edge, stress, integration, e2e, shapes, healthy, watchdog, snapshot,
#   stability,
#   cpython_suites (CPython's own tests bare vs under the agent, the part that fits),
#   packaging (make deb / make wheel installed and used),
# then the same suites inside the Debian 13 and sid roots (the matrix, below),
# prints each suite's result and the CPython interpreters that ran, and ends with
# one line `N passed, N failed` summing all suites. Exit status non-zero on any failure.
# Each suite runs under a time bound (timeout(1) kills it by PID).
#
#   FORKWATCH_SUITES="unit shapes ..."  run only these suites (default: all); `make test TESTS=...`
#   FORKWATCH_MATRIX="trixie sid"       the Debian roots run after the host (the default when run
#                                       as root); FORKWATCH_MATRIX=sid: that one; 0: none
#   FORKWATCH_MATRIX_SUITES="..."       the suites run inside each root (default below; an explicit
#                                       FORKWATCH_SUITES applies to the roots as well)
#
# The matrix: tests/run_in_root.sh builds the tree inside each root (tools/debian-root.sh,
# debootstrap from the machine's mirror, cached under /var/cache/forkwatch/roots) with the
# root's gcc, glibc and gdb, and runs this script there on the root's Debian pythons
# (python3.13 in Debian 13; python3.13, python3.14 and python3.15 in sid), each with its -dbg
# symbols and, in the suites that hide them, without. Inside a root FORKWATCH_DISTRO is set and
# the matrix is not entered again.
set -u
cd "$(dirname "$0")/.." || exit 3
ROOT=$(pwd)
BUILD=${BUILD:-build}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/forkwatch-tests.XXXXXX") || exit 3
trap 'rm -rf "$LOGDIR"' EXIT
unset PYTHONUNBUFFERED

TOTAL_P=0
T0=$(date +%s)
TOTAL_F=0
RESULTS=""

note() { RESULTS="$RESULTS$1
"; }

# run_suite NAME BOUND_SECONDS CMD...: runs CMD, shows its output, parses its result.
run_suite() {
    name=$1; bound=$2; shift 2
    log="$LOGDIR/$name.log"
    echo "==== $name: $*"
    start=$(date +%s)
    timeout -k 10 "$bound" "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    took=$(( $(date +%s) - start ))
    p=""; f=""
    # A suite's own last `N passed, N failed` line first (a matrix root's run ends with its
    # total, and also contains its unit suite's criterion synthesis); criterion's otherwise.
    last=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    synth=$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1)
    if [ -n "$last" ]; then
        p=$(echo "$last" | sed 's/^\([0-9]*\) passed.*/\1/')
        f=$(echo "$last" | sed 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/')
    elif [ -n "$synth" ]; then
        # criterion: "Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N"
        p=$(echo "$synth" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
        fl=$(echo "$synth" | sed -n 's/.*Failing: *\([0-9]*\).*/\1/p')
        cr=$(echo "$synth" | sed -n 's/.*Crashing: *\([0-9]*\).*/\1/p')
        [ -n "$p" ] && [ -n "$fl" ] && f=$(( fl + ${cr:-0} ))
    fi
    if [ -z "$p" ] || [ -z "$f" ]; then
        p=0; f=1
        why="no result line"
        [ "$rc" = 124 ] || [ "$rc" = 137 ] && why="timed out after ${bound}s"
        note "$name: FAILED ($why, exit $rc, ${took}s)"
    elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
        note "$name: $p passed, 0 failed but exit status $rc: counted as 1 failure (${took}s)"
    else
        note "$name: $p passed, $f failed (${took}s)"
    fi
    TOTAL_P=$((TOTAL_P + p))
    TOTAL_F=$((TOTAL_F + f))
}

absent() { note "$1: not present ($2), skipped"; }

# wanted NAME: is suite NAME in FORKWATCH_SUITES (all when unset)?
wanted() {
    [ -z "${FORKWATCH_SUITES:-}" ] && return 0
    case " $FORKWATCH_SUITES " in *" $1 "*) return 0 ;; esac
    return 1
}
DISTRO=${FORKWATCH_DISTRO:-debian12}

if ! wanted unit; then :
elif [ -x "$BUILD/tests/unit_tests" ]; then
    run_suite unit 600 "$BUILD/tests/unit_tests" --jobs 2
else
    absent unit "$BUILD/tests/unit_tests"
fi
for s in cli/run_cli_tests.sh gdb/run_gdb_tests.sh gdb_cpython/run_cpython_tests.sh edge/run_edge.sh stress/run_stress.sh; do
    name=$(dirname "$s")
    wanted "$name" || continue
    if [ -f "tests/$s" ]; then
        # Run by its own #! line's shell (bash scripts are common), sh otherwise.
        shell=sh
        head -n 1 "tests/$s" | grep -q bash && shell=bash
        run_suite "$name" 900 "$shell" "tests/$s"
    else
        absent "$name" "tests/$s"
    fi
done
wanted badinput && run_suite badinput 600 "$PY" tests/badinput/run_badinput.py
wanted integration && run_suite integration 600 "$PY" tests/integration/run_integration.py
wanted e2e && run_suite e2e 1500 "$PY" tests/e2e/run_e2e.py
# Issue 4's hang shapes (same harness library), when present.
if ! wanted shapes; then :
elif [ -f tests/shapes/run_shapes.py ]; then
    run_suite shapes 1500 "$PY" tests/shapes/run_shapes.py
else
    absent shapes tests/shapes/run_shapes.py
fi

# Issue 11: healthy multiprocessing (Pool, executor, Queue, Manager) is no-deadlock on every
# process; a Pool that lost a task says so (tests/healthy).
wanted healthy && run_suite healthy 600 "$PY" tests/healthy/run_healthy.py

# Issue 12: forkwatch run's hang watchdog, --grace, labels, JUnit and annotations.
if ! wanted watchdog; then :
elif [ -f tests/watchdog/run_watchdog.py ]; then
    run_suite watchdog 600 "$PY" tests/watchdog/run_watchdog.py
else
    absent watchdog tests/watchdog/run_watchdog.py
fi

# Issue 20 (first step): `forkwatch snapshot`, stacks through libdw without GDB, live and core.
if ! wanted snapshot; then :
elif [ -f tests/snapshot/run_snapshot.py ]; then
    run_suite snapshot 300 "$PY" tests/snapshot/run_snapshot.py
else
    absent snapshot tests/snapshot/run_snapshot.py
fi

# Issue 11: the same verdict at any instant, attached 50 times under CPU load.
wanted stability && run_suite stability 900 "$PY" tests/stability/run_stability.py

# Issue 6: CPython's own threading/fork/logging/queue/subprocess suites must give the
# same results with the agent as without (the default mode is the part that fits CI).
if ! wanted cpython_suites; then :
elif [ -f tests/cpython_suites.py ]; then
    run_suite cpython_suites 1500 "$PY" tests/cpython_suites.py
else
    absent cpython_suites tests/cpython_suites.py
fi

# Issue 14: make deb / make wheel, installed and used (the .deb in an overlay of the trixie root).
if ! wanted packaging; then :
elif [ -f tests/packaging/run_packaging.sh ]; then
    run_suite packaging 400 sh tests/packaging/run_packaging.sh
else
    absent packaging tests/packaging/run_packaging.sh
fi

# ---- the matrix: the same suites inside the Debian 13 and sid roots (issue 10).
# Each root's run is one suite here; its per-suite lines are kept, prefixed with the distribution.
# Inside the roots: every suite that reads or runs a CPython (their Debian 3.13-3.15 with and
# without -dbg), not the ones that test only the host's packaging, ASan builds or CPU-load
# stability, which the roots' gcc/glibc do not change and which would not fit the hour.
MATRIX_SUITES=${FORKWATCH_SUITES:-${FORKWATCH_MATRIX_SUITES:-unit cli gdb gdb_cpython edge badinput integration e2e shapes healthy watchdog snapshot}}
MATRIX=${FORKWATCH_MATRIX-trixie sid}
[ "$MATRIX" = 0 ] && MATRIX=""
if [ -z "${FORKWATCH_DISTRO:-}" ] && [ -n "$MATRIX" ]; then
    if [ "$(id -u)" != 0 ]; then
        note "matrix (Debian 13, sid): NOT RUN — building the roots needs root (FORKWATCH_MATRIX=0 silences this)"
    else
        for root in $MATRIX; do
            case $root in trixie) d=debian13 ;; *) d=$root ;; esac
            # The inner run has its own bounds per suite; this one covers building the root.
            run_suite "$d" 2400 env FORKWATCH_SUITES="$MATRIX_SUITES" sh tests/run_in_root.sh "$root" sh tests/run_tests.sh
            inner=$(sed -n '/^==== summary/,/^total time/p' "$LOGDIR/$d.log" | grep -a -E '^[a-z_0-9]+: ' | grep -v 'CPython interpreters')
            [ -n "$inner" ] && RESULTS="$RESULTS$(printf '%s\n' "$inner" | sed "s/^/    $d /")
"
        done
    fi
fi

echo "==== summary ($DISTRO host$( [ -n "${FORKWATCH_DISTRO:-}" ] || [ -z "$MATRIX" ] || printf ', then the roots: %s' "$MATRIX"))"
printf '%s' "$RESULTS"
interps=$(grep -a -h -E 'CPython interpreters that ran:' "$LOGDIR"/*.log 2>/dev/null | sed 's/^    //' | sort -u)
if [ -n "$interps" ]; then
    echo "$interps"
fi
echo "total time $(( $(date +%s) - T0 ))s"
echo "$TOTAL_P passed, $TOTAL_F failed"
[ "$TOTAL_F" = 0 ]
