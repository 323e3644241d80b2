#!/bin/sh
# tests/stress/run_stress.sh [--quick|--long] — issue 6 §2: the agent under random lock
# traffic with concurrent forks (tests/stress/fork_stress.c), with the agent as built
# (build/libforkwatch.so) and with the agent compiled here with AddressSanitizer and
# UndefinedBehaviorSanitizer (build/stress/libforkwatch-asan.so).
#
# Every case passes only if: fork_stress exits 0 and prints PASS (every child found the
# agent's live orphans equal to the truth, or a subset when a table is exceeded, and
# every probe ended as it must), no sanitizer report, the expected number of
# agent-warning events in the report (0, or exactly one when a table is exceeded) and
# no "forkwatch: warning:" line on stderr, one
# fork-deadlock event per blocking probe in a report of valid JSON lines.
# Self-tests: with --inject the checker must fail.
#
# quick (make test): well under 2 minutes; long: more seeds, bigger, everything under ASan.
# Last line: "N passed, N failed"; exit status 1 on any failure.
# STRESS_ENV="VAR=V ..." adds environment to every case (experiments only).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# A private directory per run: several people may run this at once.
OUT=$ROOT/build/stress/run-$$
AGENT=${FORKWATCH_AGENT:-$ROOT/build/libforkwatch.so}
MODE=quick
case "${1:-}" in
    --quick|"") MODE=quick ;;
    --long) MODE=long ;;
    *) echo "usage: $0 [--quick|--long]" >&2; exit 2 ;;
esac
CC=${CC:-cc}
mkdir -p "$OUT"
PASS=0
FAIL=0
START=$(date +%s)
if [ "$MODE" = quick ]; then BUDGET=110; CASE_T=45; else BUDGET=3000; CASE_T=600; fi

say() { printf '%s\n' "$*"; }
pass() { PASS=$((PASS + 1)); say "[PASS] $*"; }
fail() { FAIL=$((FAIL + 1)); say "[FAIL] $*"; }

finish() {
    if [ "$FAIL" -eq 0 ] && [ -z "${KEEP_LOGS:-}" ]; then
        rm -rf "$OUT"
        say "run_stress ($MODE): $(( $(date +%s) - START ))s"
    else
        say "run_stress ($MODE): $(( $(date +%s) - START ))s; logs in $OUT"
    fi
    say "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
    exit $?
}

# ---- build ---------------------------------------------------------------
if ! $CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -pthread -I"$ROOT/agent" \
        -o "$OUT/fork_stress" "$ROOT/tests/stress/fork_stress.c" -ldl 2>"$OUT/build.log"; then
    fail "build fork_stress: $(head -5 "$OUT/build.log")"
    finish
fi
if [ ! -f "$AGENT" ] && ls "$ROOT"/agent/*.c >/dev/null 2>&1; then
    make -C "$ROOT" -s build/libforkwatch.so >"$OUT/make-agent.log" 2>&1 || true
fi
HAVE_AGENT=1
if [ ! -f "$AGENT" ]; then
    fail "agent not built: $AGENT (see $OUT/make-agent.log)"
    HAVE_AGENT=0
fi
HAVE_ASAN=0
LIBASAN=$($CC -print-file-name=libasan.so)
if ls "$ROOT"/agent/*.c >/dev/null 2>&1; then
    # Same flags as the Makefile's agent, plus the sanitizers (the Makefile is not ours); the
    # agent includes build/gen/fw_py_offsets.h, which `make` generates from layouts.py.
    if $CC -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fPIC -fvisibility=hidden -pthread \
            -I"${FORKWATCH_GEN_DIR:-$ROOT/build/gen}" \
            -fsanitize=address,undefined -fno-sanitize-recover=undefined -shared -Wl,-z,nodelete \
            -o "$OUT/libforkwatch-asan.so" "$ROOT"/agent/*.c -ldl -lunwind -lpthread \
            >"$OUT/build-asan.log" 2>&1 && [ -f "$LIBASAN" ]; then
        HAVE_ASAN=1
    else
        fail "build the agent with ASan/UBSan: $(head -5 "$OUT/build-asan.log")"
    fi
fi

# ---- one case ---------------------------------------------------------------
# run_case NAME VARIANT WARNINGS PATTERN [ENV=V ...] -- ARGS...
#   VARIANT: agent | asan | inject (the checker must fail)
#   WARNINGS: number of agent-warning events expected in the report (no "forkwatch: warning:"
#   line may reach stderr); PATTERN: text one must contain
run_case() {
    name=$1 variant=$2 nwarn=$3 pattern=$4
    shift 4
    envs=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs="$envs $1"; shift; done
    [ $# -gt 0 ] && shift
    tag="$name ($variant)"
    if [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; then
        fail "$tag: not run: the ${BUDGET}s budget of this mode is spent"
        return
    fi
    case $variant in
        asan) [ "$HAVE_ASAN" = 1 ] || { fail "$tag: no ASan agent"; return; }
              pre="$LIBASAN $OUT/libforkwatch-asan.so" ;;
        *)    [ "$HAVE_AGENT" = 1 ] || { fail "$tag: no agent"; return; }
              pre="$AGENT" ;;
    esac
    log=$OUT/$name-$variant
    rm -f "$log.report" "$log.out" "$log.err"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    timeout -k 5 "$CASE_T" env -u FORKWATCH_DISABLE -u FORKWATCH_QUIET -u FORKWATCH_STACKS \
        -u FORKWATCH_PYTHON -u FORKWATCH_EXIT_STATUS \
        LD_PRELOAD="$pre" FORKWATCH_REPORT="$log.report" FORKWATCH_ON_DEADLOCK=abort \
        ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $envs ${STRESS_ENV:-} \
        "$OUT/fork_stress" --stop-timeout 30 --child-timeout 30 "$@" >"$log.out" 2>"$log.err"
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    summary=$(grep '^fork_stress: threads' "$log.out" | head -1 | sed 's/^fork_stress: //')
    why=""
    if [ "$variant" = inject ]; then
        if [ $rc -eq 1 ] && grep -q '^fork_stress: FAIL' "$log.out" && \
                grep -Eq 'FALSE ORPHAN|MISSED ORPHAN' "$log.err"; then
            pass "$tag: the checker caught the injected error (${dt}s)"
        else
            fail "$tag: the checker did not catch the injected error (exit $rc)"
        fi
        return
    fi
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="$why; hung: killed after ${CASE_T}s"
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && why="$why; exit status $rc"
    grep -q '^fork_stress: PASS' "$log.out" || why="$why; no PASS line"
    if grep -Eq 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer' "$log.err"; then
        why="$why; sanitizer: $(grep -Em1 'ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$log.err")"
    fi
    # A full table is reported once, as an agent-warning event in the report
    # (there always is one here), never on the program's stderr.
    nes=$(grep -c '^forkwatch: warning:' "$log.err")
    nw=0
    [ -f "$log.report" ] && nw=$(grep -c '"event":"agent-warning"' "$log.report")
    if [ "$nes" -ne 0 ]; then
        why="$why; $nes 'forkwatch: warning:' line(s) on stderr despite a report file"
    elif [ "$nw" -ne "$nwarn" ]; then
        why="$why; $nw agent-warning event(s) in the report, expected $nwarn"
    elif [ -n "$pattern" ] && ! grep '"event":"agent-warning"' "$log.report" | grep -q "$pattern"; then
        why="$why; no warning containing '$pattern'"
    fi
    if [ -n "$summary" ]; then
        blocks=$(printf '%s\n' "$summary" | sed -n 's/.*probes none\/block\/try\/free\/reinit\/nested [0-9]*\/\([0-9]*\)\/.*/\1/p')
        ndl=0
        [ -f "$log.report" ] && ndl=$(grep -c '"event":"fork-deadlock"' "$log.report")
        [ -n "$blocks" ] && [ "$ndl" -ne "$blocks" ] && \
            why="$why; $ndl fork-deadlock event(s) in the report for $blocks blocking probe(s)"
        if [ -f "$log.report" ] && ! python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    e = json.loads(line)
    assert e.get("schema") == "forkwatch-event/1", ("schema", n)
    assert e.get("event") in ("fork-deadlock", "fork-hazard", "agent-warning"), ("event", n)
' "$log.report" 2>"$log.json-err"; then
            why="$why; report is not valid forkwatch JSON lines: $(tail -1 "$log.json-err")"
        fi
        if [ -n "${MIN_EXPECTED:-}" ]; then
            mx=$(printf '%s\n' "$summary" | sed -n 's/.*max orphans expected at a fork \([0-9]*\).*/\1/p')
            [ "${mx:-0}" -ge "$MIN_EXPECTED" ] || why="$why; at most ${mx:-0} locks held at a fork, wanted >= $MIN_EXPECTED"
        fi
    fi
    if [ -z "$why" ]; then
        pass "$tag: $summary (${dt}s)"
        grep '^fork_stress: racy:' "$log.out" | sed 's/^fork_stress: /    /'
    else
        fail "$tag${why} (${dt}s) [$log.err]"
        grep -v '^forkwatch:   \|^forkwatch: fork \|^forkwatch: exiting' "$log.err" | head -8 | sed 's/^/    /'
    fi
}

# run_prog KIND NAME TIMEOUT [ENV=V ...] -- ARGS: tests/stress/KIND/NAME.c under the agent must
# exit 0 (KIND repro: a reproducer of an agent bug, exits 0 once fixed)
run_prog() {
    kind=$1 name=$2 t=$3
    shift 3
    envs=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs="$envs $1"; shift; done
    [ $# -gt 0 ] && shift
    tag="$kind $name${*:+ $*}${envs:+ [${envs# }]}"
    [ "$HAVE_AGENT" = 1 ] || { fail "$tag: no agent"; return; }
    if [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; then
        fail "$tag: not run: the ${BUDGET}s budget of this mode is spent"
        return
    fi
    if ! $CC -O2 -g -pthread -I"$ROOT/agent" -o "$OUT/$kind-$name" "$ROOT/tests/stress/$kind/$name.c" -ldl \
            2>"$OUT/$kind-$name.build"; then
        fail "$tag: does not build"
        return
    fi
    lib=""
    if [ -f "$ROOT/tests/stress/$kind/${name}_lib.c" ]; then
        lib="$OUT/lib$name.so"
        if ! $CC -O2 -g -fPIC -shared -pthread -o "$lib" "$ROOT/tests/stress/$kind/${name}_lib.c" -ldl \
                2>>"$OUT/$kind-$name.build"; then
            fail "$tag: its library does not build"
            return
        fi
    fi
    t0=$(date +%s)
    # shellcheck disable=SC2086
    timeout -k 5 "$t" env -u FORKWATCH_DISABLE -u FORKWATCH_STACKS LD_PRELOAD="$AGENT" FORKWATCH_QUIET=1 \
        FW_CHECK_LIB="$lib" \
        FORKWATCH_REPORT="$OUT/$kind-$name.report" FORKWATCH_ON_DEADLOCK=abort $envs ${STRESS_ENV:-} \
        "$OUT/$kind-$name" "$@" >"$OUT/$kind-$name.out" 2>&1
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    if [ $rc -eq 0 ]; then
        pass "$tag: $(tail -1 "$OUT/$kind-$name.out") (${dt}s)"
    else
        fail "$tag: exit $rc$( [ $rc -eq 124 ] && echo " (hung, killed after ${t}s)"): $(tail -1 "$OUT/$kind-$name.out") (${dt}s)"
    fi
}
run_repro() { run_prog repro "$@"; }

# The CPythons the Python cases run on: the matrix's Debian pythons when given
# (FORKWATCH_TEST_PYTHONS, colon-separated paths), else pyenv's 3.11-3.13; the self-test
# (--inject) runs on the first of them.
if [ -n "${FORKWATCH_TEST_PYTHONS:-}" ]; then
    PY_CASES=$(echo "$FORKWATCH_TEST_PYTHONS" | tr ':' ' ')
else
    PY_CASES="3.11 3.12 3.13"
fi
PY_INJECT=${PY_CASES%% *}
[ -z "${FORKWATCH_TEST_PYTHONS:-}" ] && PY_INJECT=3.12

# run_py VERSION WANT ARGS...: tests/stress/py_fork_stress.py under the agent with pyenv's
# CPython VERSION; WANT 0 (must pass) or 1 (self-test: must fail)
PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
run_py() {
    v=$1 want=$2
    shift 2
    tag="python $v${*:+ $*}"
    case $v in
        /*) py=$v ;;   # a path (the matrix's Debian pythons)
        *) py=$(ls -d "$PYENV_VERSIONS/$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -1) ;;
    esac
    if [ -z "$py" ] || [ ! -x "$py" ]; then fail "$tag: no CPython $v under $PYENV_VERSIONS"; return; fi
    [ "$HAVE_AGENT" = 1 ] || { fail "$tag: no agent"; return; }
    if [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; then
        fail "$tag: not run: the ${BUDGET}s budget of this mode is spent"
        return
    fi
    log="$OUT/py-$v-$(date +%s%N)"
    t0=$(date +%s)
    timeout -k 5 "$CASE_T" env -u FORKWATCH_DISABLE -u FORKWATCH_STACKS LD_PRELOAD="$AGENT" FORKWATCH_QUIET=1 \
        FORKWATCH_REPORT="$log.report" FORKWATCH_ON_DEADLOCK=abort ${STRESS_ENV:-} \
        "$py" "$ROOT/tests/stress/py_fork_stress.py" --child-timeout 20 --stop-timeout 30 "$@" >"$log.out" 2>&1
    rc=$?
    dt=$(( $(date +%s) - t0 ))
    summary=$(grep '^py_fork_stress: Python' "$log.out" | sed 's/^py_fork_stress: //')
    if [ "$want" = 1 ]; then
        if [ $rc -eq 1 ] && grep -q 'exited 1[0-2], want 0' "$log.out"; then
            pass "$tag: the checker caught the injected error (${dt}s)"
        else
            fail "$tag: the checker did not catch the injected error (exit $rc)"
        fi
    elif [ $rc -eq 0 ] && grep -q '^py_fork_stress: PASS' "$log.out"; then
        pass "$tag: $summary (${dt}s)"
    else
        fail "$tag: exit $rc (${dt}s): $(grep -v '^py_fork_stress: Python' "$log.out" | head -3 | tr '\n' ' ')"
    fi
}
# The interposition edge cases (issue 6 section 3) live in tests/edge/run_edge.sh.

# ---- the cases ------------------------------------------------------------
MIXED="--threads 16 --forkers 2 --locks 256 --hold 4"
if [ "$MODE" = quick ]; then
    run_case mixed agent 0 "" -- $MIXED --forks 150 --seed 1
    run_case mixed-wide agent 0 "" -- --threads 32 --forkers 4 --locks 1024 --hold 8 --forks 100 --seed 2
    run_case mixed-nostacks agent 0 "" FORKWATCH_STACKS=0 -- $MIXED --forks 100 --seed 3
    run_case locks-100k agent 0 "" -- --threads 16 --locks 100000 --hold 8 --forks 40 --seed 4
    run_case threads-1000 agent 0 "" -- --threads 1000 --hold 1 --locks 4096 --forks 4 --seed 5
    MIN_EXPECTED=1000 run_case held-1000-at-fork agent 0 "" -- --threads 43 --forkers 2 --pinned-threads 40 \
        --pinned 25 --hold 6 --locks 2000 --no-recursive --forks 8 --seed 6
    run_case over-threads agent 1 "thread" -- --threads 1100 --hold 1 --locks 4096 --forks 3 --seed 7
    run_case over-held agent 1 "" -- --threads 22 --forkers 2 --pinned-threads 20 --pinned 40 --hold 4 \
        --locks 2000 --no-recursive --forks 3 --seed 8
    run_case over-fork-held agent 1 "" -- --threads 53 --forkers 2 --pinned-threads 50 --pinned 25 --hold 4 \
        --locks 3000 --no-recursive --forks 3 --seed 9
    run_case racy agent 0 "" -- $MIXED --forks 200 --racy --seed 10
    run_case underscore-fork agent 0 "" -- $MIXED --forks 100 --only-underscore-fork --seed 16
    run_case selftest-hide inject 0 "" FORKWATCH_QUIET=1 -- $MIXED --forks 5 --no-probes --inject 1
    run_case selftest-invent inject 0 "" FORKWATCH_QUIET=1 -- $MIXED --forks 5 --no-probes --inject 2
    run_repro stack_capture_recursion 10 --
    for k in mutex rwlock mtx; do
        run_repro missed_orphan_race 60 -- 40 $k
    done
    # A semaphore or read lock has no owner in its lock word: caught through the
    # agent's in-flight marker. Short holds (20 spins) put an acquire or release at
    # the fork in about 1 child in 10 without it (agent ecae09e: 9 and 17 of 150).
    for k in semaphore rwlock-read; do
        run_repro missed_orphan_race 90 -- 300 $k 20
        # through glibc (no inline paths): the child reads glibc's own registration
        run_repro missed_orphan_race 90 FORKWATCH_INLINE=0 -- 300 $k 20
    done
    for k in mutex rwlock semaphore mtx; do
        run_repro stale_holder_atfork 20 -- $k
    done
    run_repro fds_at_start 20 --
    for v in $PY_CASES; do
        run_py "$v" 0 --forks 30 --seed 31
    done
    run_py "$PY_INJECT" 1 --forks 4 --inject
    run_case racy asan 0 "" -- $MIXED --forks 100 --racy --seed 15
    run_case mixed asan 0 "" -- $MIXED --forks 60 --seed 11
    run_case locks-100k asan 0 "" -- --threads 8 --locks 100000 --hold 8 --forks 20 --seed 12
    MIN_EXPECTED=1000 run_case held-1000-at-fork asan 0 "" -- --threads 43 --forkers 2 --pinned-threads 40 \
        --pinned 25 --hold 6 --locks 2000 --no-recursive --forks 4 --seed 13
    run_case over-held asan 1 "" -- --threads 22 --forkers 2 --pinned-threads 20 --pinned 40 --hold 4 \
        --locks 2000 --no-recursive --forks 2 --seed 14
else
    for v in agent asan; do
        for s in 1 2 3 4 5 6 7 8; do
            run_case "mixed-s$s" $v 0 "" -- $MIXED --forks 1000 --seed "$s"
            run_case "wide-s$s" $v 0 "" -- --threads 64 --forkers 8 --locks 4096 --hold 12 --forks 500 \
                --fork-every 256 --seed "$s"
        done
        run_case mixed-nostacks $v 0 "" FORKWATCH_STACKS=0 -- $MIXED --forks 1000 --seed 20
        run_case locks-100k $v 0 "" -- --threads 32 --locks 100000 --hold 16 --forks 500 --seed 21
        run_case threads-1000 $v 0 "" -- --threads 1000 --forkers 8 --hold 1 --locks 8192 --forks 50 --seed 22
        MIN_EXPECTED=1000 run_case held-1000-at-fork $v 0 "" -- --threads 44 --forkers 3 --pinned-threads 40 \
            --pinned 25 --hold 5 --locks 4000 --no-recursive --forks 100 --seed 23
        run_case over-threads $v 1 "thread" -- --threads 1100 --hold 1 --locks 8192 --forks 20 --seed 24
        run_case over-held $v 1 "" -- --threads 22 --forkers 2 --pinned-threads 20 --pinned 40 --hold 4 \
            --locks 2000 --no-recursive --forks 50 --seed 25
        run_case over-fork-held $v 1 "" -- --threads 53 --forkers 2 --pinned-threads 50 --pinned 25 --hold 4 \
            --locks 3000 --no-recursive --forks 50 --seed 26
        run_case racy $v 0 "" -- --threads 32 --forkers 4 --locks 512 --hold 6 --forks 2000 --racy --seed 27
        run_case underscore-fork $v 0 "" -- $MIXED --forks 1000 --underscore-fork --seed 28
        run_case racy-underscore-fork $v 0 "" -- $MIXED --forks 1000 --underscore-fork --racy --seed 29
    done
    run_repro stack_capture_recursion 10 --
    for k in mutex rwlock semaphore mtx rwlock-read; do
        run_repro missed_orphan_race 300 -- 300 $k
    done
    for k in semaphore rwlock-read; do
        run_repro missed_orphan_race 300 -- 3000 $k 20
        run_repro missed_orphan_race 300 FORKWATCH_INLINE=0 -- 3000 $k 20
        run_repro missed_orphan_race 300 -- 1000 $k 0 3
    done
    for k in mutex rwlock semaphore mtx; do
        run_repro stale_holder_atfork 20 -- $k
    done
    run_repro fds_at_start 20 --
    for v in $PY_CASES; do
        for sd in 41 42 43; do
            run_py "$v" 0 --threads 16 --forkers 3 --locks 256 --hold 6 --forks 300 --seed "$sd"
        done
    done
    run_py "$PY_INJECT" 1 --forks 4 --inject
    run_case selftest-hide inject 0 "" FORKWATCH_QUIET=1 -- $MIXED --forks 5 --no-probes --inject 1
    run_case selftest-invent inject 0 "" FORKWATCH_QUIET=1 -- $MIXED --forks 5 --no-probes --inject 2
fi
# the agent's security checks (issue 6 section 5), counted here too
if [ $(( $(date +%s) - START )) -gt "$BUDGET" ]; then
    fail "agent_security.sh: not run: the ${BUDGET}s budget of this mode is spent"
elif command -v bash >/dev/null; then
    SECURITY_OUT="$OUT/security" bash "$ROOT/tests/stress/agent_security.sh" >"$OUT/security.log" 2>&1
    grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT/security.log" | sed 's/^/    security: /'
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT/security.log" | tail -1)
    if [ -n "$last" ]; then
        PASS=$((PASS + ${last%% *}))
        f=${last#*, }
        FAIL=$((FAIL + ${f%% *}))
    else
        fail "agent_security.sh: no result line (see $OUT/security.log)"
    fi
fi
finish
