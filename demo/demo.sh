#!/bin/sh
# `make demo`: the Wub Machine (a logging handler lock held by a writing thread
# across a fork that skips Python's at-fork hooks) caught three ways:
#   1. `forkwatch run`: the agent turns the silent hang into a report at once;
#   2. without the agent the child hangs; `forkwatch attach` diagnoses it live;
#   3. `forkwatch core` diagnoses a core of the hung child made with gcore.
# Every process started here is killed by its PID on exit; every wait is bounded.
set -u
cd "$(dirname "$0")/.." || exit 3
BUILD=${BUILD:-build}
FW="$BUILD/forkwatch"
PY=${DEMO_PYTHON:-/usr/bin/python3.11}
FIXTURE=fixtures/python/wub_machine.py
unset PYTHONUNBUFFERED LD_PRELOAD
for v in $(env | sed -n 's/^\(FORKWATCH_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/forkwatch-demo.XXXXXX") || exit 3
PARENT=""
CHILD=""
cleanup() {
    [ -n "$CHILD" ] && kill -KILL "$CHILD" 2>/dev/null
    [ -n "$PARENT" ] && kill -KILL "$PARENT" 2>/dev/null && wait "$PARENT" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then B=$(printf '\033[1m'); N=$(printf '\033[0m'); else B=""; N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
fail() { echo "demo: $*" >&2; exit 1; }

for f in "$FW" "$BUILD/libforkwatch.so" "$PY" "$FIXTURE"; do
    [ -e "$f" ] || fail "missing $f (run make)"
done
command -v gcore >/dev/null 2>&1 || fail "gcore not found (install gdb)"

echo "The Wub Machine ($FIXTURE on $($PY -V 2>&1)): thread \"Writer\" is inside"
echo "logger.info() (the handler's lock held) when the main thread forks with"
echo "ctypes.PyDLL(None).fork(), which skips logging's at-fork hook: the child's"
echo "logger.info() waits for ever on a lock owned by a thread it does not have."

step "1. forkwatch run: the agent reports the deadlock as the child starts to wait, and ends the run (status 86)"
echo "\$ $FW run --report $TMP/report.jsonl -- $PY $FIXTURE"
FIXTURE_TIMEOUT=60 FIXTURE_EVENTS="$TMP/events-run" \
    timeout -k 5 90 "$FW" run --report "$TMP/report.jsonl" -- "$PY" "$FIXTURE" 2>&1
rc=$?
echo "(exit status $rc)"
[ "$rc" = 86 ] || fail "step 1: expected exit status 86, got $rc"

step "2. Without the agent the child hangs for ever; forkwatch attach reads it live and says why"
FIXTURE_TIMEOUT=600 FIXTURE_EVENTS="$TMP/events" "$PY" "$FIXTURE" &
PARENT=$!
# Bounded poll: the child says it is about to block, then sleeps in the kernel.
i=0
while :; do
    CHILD=$(sed -n 's/^child_pid=//p' "$TMP/events" 2>/dev/null | head -n 1)
    if [ -n "$CHILD" ] && grep -q '^child_blocking=1' "$TMP/events" 2>/dev/null; then
        state=$(sed 's/.*) //' "/proc/$CHILD/stat" 2>/dev/null | cut -d' ' -f1)
        [ "$state" = S ] && break
    fi
    i=$((i + 1))
    [ "$i" -ge 300 ] && fail "step 2: the child did not reach its hang within 30 s"
    sleep 0.1
done
echo "parent pid $PARENT, hung child pid $CHILD (state S, waiting in the kernel)"
echo "\$ $FW attach $CHILD"
timeout -k 5 180 "$FW" attach "$CHILD" 2>&1
rc=$?
echo "(exit status $rc: 1 = a deadlock found)"
[ "$rc" = 1 ] || fail "step 2: expected exit status 1, got $rc"

step "3. forkwatch core gives the same verdict from a core file (made with gcore; the child keeps running)"
echo "\$ gcore -o $TMP/core $CHILD"
timeout -k 5 180 gcore -o "$TMP/core" "$CHILD" >/dev/null 2>"$TMP/gcore.err" ||
    { cat "$TMP/gcore.err" >&2; fail "step 3: gcore failed"; }
echo "\$ $FW core $TMP/core.$CHILD"
timeout -k 5 180 "$FW" core "$TMP/core.$CHILD" 2>&1
rc=$?
echo "(exit status $rc)"
[ "$rc" = 1 ] || fail "step 3: expected exit status 1, got $rc"

step "Cleaning up: killing the hung child $CHILD and its parent $PARENT by PID"
kill -KILL "$CHILD" 2>/dev/null
CHILD=""
wait "$PARENT" 2>/dev/null
PARENT=""
echo "demo: done"
