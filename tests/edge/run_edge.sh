#!/bin/sh
# run_edge.sh — issue 6 §3: edge cases of the interposition. Each program in
# tests/edge/ runs bare and with the agent preloaded; its "R ..." lines (return
# codes, counts) must be identical, both runs must exit 0, and with the agent it
# checks the agent's records itself (see edge.h). Some run in more set-ups
# (agent loaded twice, a wrapper library preloaded or dlopen()ed).
# Last line: "N passed, N failed"; exit status 1 if any failed.
# Environment: AGENT (default build/libforkwatch.so), BUILD (default build).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
AGENT=${AGENT:-$ROOT/$BUILD/libforkwatch.so}
OUT=$ROOT/$BUILD/edge
TIMEOUT=${EDGE_TIMEOUT:-60}
CC=${CC:-cc}
PASS=0
FAIL=0

[ -f "$AGENT" ] || make -s "$BUILD/libforkwatch.so" || exit 2
mkdir -p "$OUT"
rm -f "$OUT"/*.out "$OUT"/*.jsonl

pass() { PASS=$((PASS + 1)); echo "PASS $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/    /' "$2" | head -20; }

# build
for src in tests/edge/*.c; do
    name=$(basename "$src" .c)
    case $name in
    lib*) $CC -std=c11 -O1 -g -fPIC -shared -pthread -o "$OUT/$name.so" "$src" -ldl ;;
    *) $CC -std=c11 -Wall -Wextra -O1 -g -pthread -Iagent -o "$OUT/$name" "$src" -ldl ;;
    esac || { fail "build $name"; }
done
cp "$AGENT" "$OUT/libforkwatch-copy.so"

# run LABEL PROG OUTFILE [VAR=VALUE...]: one run under a time bound (KILL after).
run() {
    label=$1 prog=$2 out=$3
    shift 3
    env "$@" timeout -s KILL "$TIMEOUT" "$OUT/$prog" >"$out" 2>&1
    echo $? >"$out.rc"
}

# case LABEL PROG "AGENT-ENV..." ["BARE-ENV..." ["COMMON-ENV..."]]: bare vs agent, R lines equal.
case_() {
    label=$1 prog=$2 agentenv=$3 bareenv=${4:-} extra=${5:-}
    [ -x "$OUT/$prog" ] || { fail "$label (not built)"; return; }
    # shellcheck disable=SC2086
    run "$label" "$prog" "$OUT/$label.bare.out" $bareenv $extra
    report="$OUT/$label.jsonl"
    # shellcheck disable=SC2086
    run "$label" "$prog" "$OUT/$label.agent.out" EDGE_AGENT=1 FORKWATCH_QUIET=1 FORKWATCH_REPORT="$report" $agentenv $extra
    rb=$(cat "$OUT/$label.bare.out.rc") ra=$(cat "$OUT/$label.agent.out.rc")
    if [ "$rb" != 0 ]; then fail "$label: bare run exit $rb" "$OUT/$label.bare.out"; return; fi
    if [ "$ra" != 0 ]; then fail "$label: agent run exit $ra" "$OUT/$label.agent.out"; return; fi
    grep '^R ' "$OUT/$label.bare.out" >"$OUT/$label.bare.r"
    grep '^R ' "$OUT/$label.agent.out" >"$OUT/$label.agent.r"
    if ! cmp -s "$OUT/$label.bare.r" "$OUT/$label.agent.r"; then
        diff "$OUT/$label.bare.r" "$OUT/$label.agent.r" >"$OUT/$label.diff"
        fail "$label: results differ with the agent" "$OUT/$label.diff"
        return
    fi
    pass "$label ($(tail -1 "$OUT/$label.agent.out"))"
}

A=$AGENT
C=$OUT/libforkwatch-copy.so
W=$OUT/libedgewrap.so
case_ static_init static_init "LD_PRELOAD=$A" ""
case_ mutex_types mutex_types "LD_PRELOAD=$A" ""
case_ try_timed try_timed "LD_PRELOAD=$A" ""
case_ cond_cancel cond_cancel "LD_PRELOAD=$A" ""
case_ underscore_fork underscore_fork "LD_PRELOAD=$A" ""
case_ spawn_exec spawn_exec "LD_PRELOAD=$A" ""
case_ signal_fork signal_fork "LD_PRELOAD=$A" ""
case_ load_twice-same-path load_twice "LD_PRELOAD=$A:$A" ""
case_ load_twice-copy load_twice "LD_PRELOAD=$A:$C EDGE_COPY=$C" ""
case_ load_twice-dlopen-copy load_twice "LD_PRELOAD=$A EDGE_DLOPEN=$C EDGE_COPY=$C" ""
case_ load_twice-dlopen-same load_twice "LD_PRELOAD=$A EDGE_DLOPEN=$A" ""
# the agent dlopen()ed into a program started without it (no LD_PRELOAD at all)
run load_twice-late load_twice "$OUT/load_twice-late.out" EDGE_DLOPEN="$A" FORKWATCH_QUIET=1
if [ "$(cat "$OUT/load_twice-late.out.rc")" = 0 ]; then pass "load_twice-late ($(tail -1 "$OUT/load_twice-late.out"))"
else fail "load_twice-late: exit $(cat "$OUT/load_twice-late.out.rc")" "$OUT/load_twice-late.out"; fi
case_ wrapper-after-agent dlopen_wrapper "LD_PRELOAD=$A:$W" "LD_PRELOAD=$W"
case_ wrapper-before-agent dlopen_wrapper "LD_PRELOAD=$W:$A" "LD_PRELOAD=$W"
case_ wrapper-dlopened dlopen_wrapper "LD_PRELOAD=$A" "" "EDGE_WRAP=$W"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
