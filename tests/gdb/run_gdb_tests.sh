#!/bin/bash
# Tests of the GDB package (gdb/forkwatch, except cpython/): small C programs compiled into a
# temp dir, hung deterministically, diagnosed live and from gcore cores.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
# Every process started here is killed by PID; every wait is bounded.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/gdb"
TMP=$(mktemp -d /tmp/fwgdbtest.XXXXXX)
PASS=0
FAIL=0
STARTED=()
# libc's DWARF is hidden from GDB like on users' machines (no libc6-dbg).
DEBUGDIR=${FW_GDB_DEBUGDIR:-/nonexistent}

cleanup() {
    local p
    for p in "${STARTED[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    for p in "${STARTED[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -20 | sed 's/^/       /'; }

fwgdb() {  # fwgdb CMD... : runs GDB batch with the package; stdout/stderr to $TMP/out, $TMP/err
    timeout -k 5 90 gdb -nx -q -batch -iex 'set debuginfod enabled off' \
        -iex "set debug-file-directory $DEBUGDIR" -iex 'set auto-load python-scripts off' \
        -ex "source $ROOT/gdb/forkwatch-gdb.py" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
}

wait_event() {  # wait_event FILE KEY -> value (bounded 15 s)
    local i v
    for i in $(seq 150); do
        v=$(grep -m1 "^$2=" "$1" 2>/dev/null | cut -d= -f2)
        [ -n "$v" ] && { echo "$v"; return 0; }
        sleep 0.1
    done
    return 1
}

wait_futex() {  # wait_futex PID [TID]: until that thread sits in futex (202) (bounded 10 s)
    local f="/proc/$1/task/${2:-$1}/syscall" i
    for i in $(seq 100); do
        [ "$(cut -d' ' -f1 "$f" 2>/dev/null)" = 202 ] && return 0
        sleep 0.1
    done
    return 1
}

stop_pair() {  # stop_pair PARENT CHILD: kill the hung child, give the parent 5 s, then kill it
    local i
    [ -n "${2:-}" ] && kill -9 "$2" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

jq_py() {  # jq_py 'python expression on d' < json
    python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# ---- build the test programs ----
for p in fw_fork fw_abba fw_idle; do
    if ! cc -std=c11 -D_GNU_SOURCE -O1 -g -pthread -o "$TMP/$p" "$HERE/progs/$p.c" 2>"$TMP/cc.err"; then
        nok "compile $p" "$(cat "$TMP/cc.err")"
    fi
done

# ---- 1. registry mirror ----
if FW_ROOT="$ROOT" timeout 120 gdb -nx -q -batch -x "$HERE/check_mirror.py" >"$TMP/mirror" 2>&1 &&
    grep -q '^MIRROR-OK' "$TMP/mirror"; then
    ok "registry mirror matches forkwatch_abi.h ($(grep -c . "$TMP/mirror") lines)"
else
    nok "registry mirror" "$(cat "$TMP/mirror")"
fi

if FW_ROOT="$ROOT" timeout 60 gdb -nx -q -batch -x "$HERE/test_registry_parse.py" >"$TMP/reg" 2>&1 &&
    grep -q '^REGISTRY-OK' "$TMP/reg"; then
    ok "registry reader: valid, damaged (magic, bounds, sizes) and truncated registries"
else
    nok "registry reader on synthetic registries" "$(cat "$TMP/reg")"
fi

if FW_ROOT="$ROOT" timeout 60 gdb -nx -q -batch -x "$HERE/test_classify.py" >"$TMP/classify" 2>&1 &&
    grep -q '^CLASSIFY-OK' "$TMP/classify" && ! grep -q 'CLASSIFY-FAIL' "$TMP/classify"; then
    ok "thread classification from the stack, whatever the instant (a GIL waiter between its timed waits; parked PyMutex and PyEvent waiters; waits resumed by restart_syscall)"
else
    nok "thread classification on fake frames" "$(cat "$TMP/classify")"
fi

if FW_ROOT="$ROOT" timeout 60 gdb -nx -q -batch -x "$HERE/test_debug_offsets.py" >"$TMP/dbgoff" 2>&1 &&
    grep -q '^DEBUGOFFSETS-DONE 0 failed' "$TMP/dbgoff" && ! grep -q 'DEBUGOFFSETS-FAIL' "$TMP/dbgoff"; then
    ok "_Py_DebugOffsets on synthetic images: free-threaded refused in one line, 3.16 best effort, a moved section refused"
else
    nok "_Py_DebugOffsets on synthetic images" "$(cat "$TMP/dbgoff")"
fi

# ---- 2. escaping, in GDB's Python ----
fwgdb -ex 'python
from forkwatch import escape
import json
s = "\x1b[31m\"q\\\n".encode() + b"\xff"
t = escape.term(s)
assert "\x1b" not in t and "\n" not in t and "\\x1b" in t and "\\xff" in t, t
j = json.dumps({"n": escape.json_str(s)}, ensure_ascii=True)
assert json.loads(j)["n"].startswith("\x1b"), j
assert "\\u001b" in j and "\\u00ff" in j, j
print("ESCAPE-OK")
'
grep -q ESCAPE-OK "$TMP/out" && ok "escape.term / escape.json_str" || nok "escaping helpers" "$(cat "$TMP/err")"

# The one escaping rule: escape.term() reproduces tests/escape_table.json, the table the C side
# (tests/unit/test_escape.c) passes too; in plain Python (its exit status) and in GDB's own.
if python3 "$HERE/test_escape_table.py" >"$TMP/esct" 2>&1; then
    ok "escape table: term() in plain Python ($(tail -1 "$TMP/esct"))"
else
    nok "escape table in plain Python" "$(cat "$TMP/esct")"
fi
gdb -nx -q -batch -ex "python import runpy; print('ESCAPE-TABLE-RC', runpy.run_path('$HERE/test_escape_table.py')['main']())" \
    >"$TMP/esct" 2>&1
grep -q '^ESCAPE-TABLE-RC 0$' "$TMP/esct" && ok "escape table: term() in GDB's Python" ||
    nok "escape table in GDB's Python" "$(cat "$TMP/esct")"

# ---- 3. ABBA deadlock (no fork): deadlock with the cycle ----
EV="$TMP/abba.ev"
"$TMP/fw_abba" & P=$!; STARTED+=("$P")
sleep 0.05
for i in $(seq 100); do
    n=0
    for t in /proc/$P/task/*; do
        [ "$(basename "$t")" = "$P" ] && continue
        [ "$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)" = 202 ] && n=$((n + 1))
    done
    [ "$n" -ge 2 ] && break
    sleep 0.1
done
fwgdb -ex "forkwatch batch attach $P --json"; rc=$?
v=$(jq_py '"%s %d %s" % (d["verdict"], len(d["findings"][0].get("cycle", [])), d["findings"][0]["lock"]["kind"])' <"$TMP/out" 2>/dev/null)
[ "$rc" = 1 ] && [ "$v" = "deadlock 2 pthread_mutex" ] && ok "ABBA: deadlock, cycle of 2 (rc $rc)" ||
    nok "ABBA: got '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
fwgdb -ex "forkwatch batch attach $P"
grep -q 'DEADLOCK' "$TMP/out" && grep -q 'cycle   :' "$TMP/out" && ! grep -qi fork-deadlock "$TMP/out" &&
    ok "ABBA: text report names the cycle" || nok "ABBA text" "$(cat "$TMP/out")"
stop_pair "$P"

# ---- 4. fork child blocked on a mutex held by a vanished thread (hostile name) ----
EV="$TMP/fork.ev"
FIXTURE_EVENTS="$EV" "$TMP/fw_fork" hostile & P=$!; STARTED+=("$P")
C=$(wait_event "$EV" child_pid); STARTED+=("${C:-0}")
H=$(wait_event "$EV" holder_tid)
wait_event "$EV" child_blocking >/dev/null && wait_futex "$C"
fwgdb -ex "forkwatch batch attach $C --json"; rc=$?
v=$(jq_py '"%s %s %s %s %s %s" % (d["verdict"], d["findings"][0]["holder"]["alive"], d["findings"][0]["holder"]["source"], d["findings"][0]["holder"]["tid"], d["findings"][0]["holder"]["pid"], d["findings"][0]["lock"]["kind"])' <"$TMP/out" 2>/dev/null)
[ "$rc" = 1 ] && [ "$v" = "fork-deadlock False inferred $H $P pthread_mutex" ] &&
    ok "fork child, live: fork-deadlock, holder $H gone, inferred" || nok "fork child live: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
grep -q '\\u001b' "$TMP/out" && ! grep -q $'\x1b' "$TMP/out" && ok "hostile thread name escaped in JSON" ||
    nok "hostile name in JSON" "$(head -c 400 "$TMP/out")"
fwgdb -ex "forkwatch batch attach $C"
if grep -q 'FORK-DEADLOCK' "$TMP/out" && ! grep -q $'\x1b' "$TMP/out" && grep -qF '"\x1b[31m\"q\\"' "$TMP/out"; then  # the name's " backslashed, as the C side does
    ok "hostile thread name escaped in text"
else
    nok "hostile name in text" "$(cat -v "$TMP/out")"
fi
fwgdb -ex "forkwatch batch attach $P --tree --json"; rc=$?
v=$(jq_py '" ".join("%s:%s" % (x["pid"], x["verdict"]) for x in d)' <"$TMP/out" 2>/dev/null)
[ "$rc" = 1 ] && [ "$v" = "$P:no-deadlock $C:fork-deadlock" ] && ok "--tree: parent and hung child in one JSON list" ||
    nok "--tree: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
# core of the same child
if timeout 60 gcore -o "$TMP/core" "$C" >/dev/null 2>&1 && [ -f "$TMP/core.$C" ]; then
    fwgdb -ex "forkwatch batch core $TMP/core.$C --exe $TMP/fw_fork --json"; rc=$?
    v=$(jq_py '"%s %s %s %s" % (d["source"], d["verdict"], d["findings"][0]["holder"]["alive"], d["findings"][0]["holder"]["tid"])' <"$TMP/out" 2>/dev/null)
    [ "$rc" = 1 ] && [ "$v" = "core fork-deadlock False $H" ] && ok "fork child, gcore core: fork-deadlock" ||
        nok "fork child core: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
    # truncated core
    head -c 200000 "$TMP/core.$C" >"$TMP/core.trunc"
    fwgdb -ex "forkwatch batch core $TMP/core.trunc --exe $TMP/fw_fork"; rc=$?
    [ "$rc" = 3 ] && grep -q '^forkwatch: error: truncated core' "$TMP/err" && ! grep -q Traceback "$TMP/err" &&
        ok "truncated core: one-line error, rc 3" || nok "truncated core rc $rc" "$(cat "$TMP/err")"
    rm -f "$TMP/core.$C" "$TMP/core.trunc"
else
    nok "gcore of the fork child"
fi
stop_pair "$P" "$C"

# ---- 5. sleeping process: no-deadlock; keeps running normally after detach ----
EV="$TMP/idle.ev"
FIXTURE_EVENTS="$EV" "$TMP/fw_idle" & P=$!; STARTED+=("$P")
wait_event "$EV" ready >/dev/null
fwgdb -ex "forkwatch batch attach $P --json"; rc=$?
v=$(jq_py 'd["verdict"] + " " + str(len(d["threads"]))' <"$TMP/out" 2>/dev/null)
[ "$rc" = 0 ] && [ "$v" = "no-deadlock 2" ] && ok "sleeping process: no-deadlock, rc 0" || nok "idle: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
fwgdb -p "$P" -ex 'forkwatch diagnose' -ex 'forkwatch threads' -ex 'forkwatch locks' -ex 'forkwatch forks' -ex 'bt' -ex detach
grep -q 'NO-DEADLOCK' "$TMP/out" && grep -q '^Thread .*"Worker"' "$TMP/out" && grep -q 'agent is not loaded' "$TMP/out" &&
    ! grep -q -e Traceback -e 'forkwatch: error' "$TMP/err" "$TMP/out" && ok "interactive diagnose/threads/locks/forks/bt" ||
    nok "interactive commands" "$(cat "$TMP/out" "$TMP/err")"
kill -USR1 "$P"
rc=124
for i in $(seq 100); do
    if ! kill -0 "$P" 2>/dev/null; then break; fi
    sleep 0.1
done
if ! kill -0 "$P" 2>/dev/null || [ "$(cut -d' ' -f3 /proc/$P/stat 2>/dev/null)" = Z ]; then
    wait "$P"; rc=$?
fi
[ "$rc" = 0 ] && ok "process runs normally after detach (locks work, exit 0)" || nok "after detach: exit $rc"

# ---- 6. clean errors ----
fwgdb -ex "forkwatch batch attach 999999999"; rc=$?
[ "$rc" = 3 ] && [ "$(grep -c . "$TMP/err")" -ge 1 ] && grep -q '^forkwatch: error: no such process' "$TMP/err" &&
    ! grep -q Traceback "$TMP/err" && ok "no such process: rc 3, one line" || nok "no such process rc $rc" "$(cat "$TMP/err")"
fwgdb -ex "forkwatch batch core $TMP/fw_fork --exe $TMP/fw_fork"; rc=$?
[ "$rc" = 3 ] && grep -q '^forkwatch: error: not a core' "$TMP/err" && ok "not a core: rc 3" || nok "not a core rc $rc" "$(cat "$TMP/err")"
# An error quoting a path (data from the user or the process) stays one escaped line.
fwgdb -ex "$(printf 'forkwatch batch core %s/no\033such-core --exe %s/fw_fork' "$TMP" "$TMP")"; rc=$?
[ "$rc" = 3 ] && [ "$(grep -c . "$TMP/err")" = 1 ] && grep -q '^forkwatch: error: .*no\\x1bsuch-core' "$TMP/err" &&
    ! grep -q "$(printf '\033')" "$TMP/err" && ok "error quoting a path with ESC: one escaped line" ||
    nok "error with ESC in a path: rc $rc" "$(cat -v "$TMP/err")"
fwgdb -ex "forkwatch diagnose --bogus"
grep -q '^forkwatch: error: usage' "$TMP/err" && ok "usage error is one line" || nok "usage error" "$(cat "$TMP/err")"
fwgdb -ex "forkwatch diagnose"
grep -q '^forkwatch: error: no process' "$TMP/err" && ok "diagnose without a process" || nok "diagnose w/o process" "$(cat "$TMP/err")"

# ---- 6a. GNU OpenMP pool lost in the fork ----
if cc -std=c11 -O1 -g -fopenmp -o "$TMP/fw_omp" "$HERE/progs/fw_omp.c" 2>/dev/null; then
    EV="$TMP/omp.ev"
    FIXTURE_EVENTS="$EV" "$TMP/fw_omp" & P=$!; STARTED+=("$P")
    C=$(wait_event "$EV" child_pid); STARTED+=("${C:-0}")
    wait_event "$EV" child_blocking >/dev/null && wait_futex "$C"
    fwgdb -ex "forkwatch batch attach $C --json"; rc=$?
    v=$(jq_py '"%s %s %s" % (d["verdict"], d["findings"][0]["lock"]["kind"], "libgomp" in d["findings"][0]["summary"])' <"$TMP/out" 2>/dev/null)
    [ "$rc" = 1 ] && [ "$v" = "fork-deadlock thread_pool True" ] && ok "OpenMP pool lost in the fork: fork-deadlock names libgomp" ||
        nok "OpenMP: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
    stop_pair "$P" "$C"
else
    echo "skip - OpenMP test (no -fopenmp)"
fi

# ---- 6b. a Python fork child (fixture lock_held_at_fork.py) on one interpreter, live ----
PY=""
for v in 3.11.7 3.12.1; do [ -x "/root/.pyenv/versions/$v/bin/python3" ] && { PY="/root/.pyenv/versions/$v/bin/python3"; break; }; done
FX="$ROOT/fixtures/python/lock_held_at_fork.py"
if [ -n "$PY" ] && [ -f "$FX" ]; then
    EV="$TMP/py.ev"
    FIXTURE_EVENTS="$EV" FIXTURE_TIMEOUT=60 PYTHONPATH="$ROOT/fixtures/python" "$PY" "$FX" & P=$!; STARTED+=("$P")
    C=$(wait_event "$EV" child_pid); STARTED+=("${C:-0}")
    wait_event "$EV" child_blocking >/dev/null && wait_futex "$C"
    DEBUGDIR_SAVE=$DEBUGDIR; DEBUGDIR=/usr/lib/debug
    fwgdb -p "$C" -ex 'bt' -ex 'set forkwatch python-frames off' -ex 'bt' -ex 'forkwatch threads' -ex detach
    n_py=$(grep -c '\[py\] child' "$TMP/out")
    [ "$n_py" = 2 ] && ok "bt frame filter and forkwatch threads show the Python frames (and the setting turns bt's off)" ||
        nok "Python frames in bt/threads: $n_py lines" "$(grep -e '\[py\]' -e '^#' "$TMP/out" | head; cat "$TMP/err")"
    fwgdb -ex "forkwatch batch attach $C --json"; rc=$?
    DEBUGDIR=$DEBUGDIR_SAVE
    v=$(jq_py '"%s %s %s %s" % (d["verdict"], d["findings"][0]["lock"]["kind"], d["findings"][0]["holder"]["alive"], d["findings"][0]["waiter"]["python_stack"][0]["file"].rsplit("/",1)[-1])' <"$TMP/out" 2>/dev/null)
    [ "$rc" = 1 ] && [ "$v" = "fork-deadlock threading.Lock False lock_held_at_fork.py" ] &&
        ok "Python fork child ($(basename "$(dirname "$(dirname "$PY")")")): fork-deadlock on a threading.Lock" ||
        nok "Python fork child: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
    stop_pair "$P" "$C"
else
    echo "skip - Python fixture test (no pyenv interpreter or fixture)"
fi

# ---- 7. with the agent (when built): holder name and stacks from the registry ----
AGENT="$ROOT/build/libforkwatch.so"
if [ -f "$AGENT" ]; then
    EV="$TMP/agent.ev"
    FIXTURE_EVENTS="$EV" FORKWATCH_ON_DEADLOCK=warn FORKWATCH_QUIET=1 LD_PRELOAD="$AGENT" "$TMP/fw_fork" & P=$!; STARTED+=("$P")
    C=$(wait_event "$EV" child_pid); STARTED+=("${C:-0}")
    wait_event "$EV" child_blocking >/dev/null && wait_futex "$C"
    fwgdb -ex "forkwatch batch attach $C --json"; rc=$?
    v=$(jq_py '"%s %s %s %s %s" % (d["agent"], d["verdict"], d["findings"][0]["holder"]["source"], d["findings"][0]["holder"]["name"], bool(d["findings"][0]["holder"]["native_stack"]))' <"$TMP/out" 2>/dev/null)
    [ "$rc" = 1 ] && [ "$v" = "True fork-deadlock agent Holder True" ] && ok "agent: fork-deadlock from the registry, holder named" ||
        nok "agent: '$v' rc $rc" "$(cat "$TMP/out" "$TMP/err")"
    fwgdb -p "$C" -ex 'forkwatch forks' -ex 'forkwatch locks' -ex detach
    grep -q 'fork #1' "$TMP/out" && grep -q 'Holder' "$TMP/out" && ok "agent: forkwatch forks / locks" ||
        nok "agent forks/locks" "$(cat "$TMP/out" "$TMP/err")"
    stop_pair "$P" "$C"
else
    echo "skip - agent tests (build/libforkwatch.so not built)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
