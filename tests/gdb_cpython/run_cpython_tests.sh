#!/bin/bash
# Tests of gdb/forkwatch/cpython on real hung processes, for every CPython found:
# pyenv 3.8-3.13 and Debian's python3.11.  For each: line tables and with-block decoding
# against the interpreter,
# layout tables against its DWARF, then hang_locks.py (plain and fork) inspected live and
# from a core (gcore), and once more with the DWARF of libpython hidden.
# usage: run_cpython_tests.sh [--quick|--full] [VERSION...]
#   default: every shape with DWARF; without DWARF the plain and raw-fork shapes
#   (the tables are checked equal to the DWARF, so the other shapes read the same numbers)
#   --quick: no runs without DWARF; --full: every shape without DWARF too
# Last line: "N passed, N failed"; exit status non-zero on any failure.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/fw-cpython-tests.XXXXXX)
pids=()
pass=0; fail=0
quick=0
full=0
want=()
for a in "$@"; do
    case $a in --quick) quick=1 ;; --full) full=1 ;; *) want+=("$a") ;; esac
done

kill_tree() {  # kill_tree PID: PID's children (by parent PID, from /proc), then PID
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
    kill -KILL "$1" 2>/dev/null
}

cleanup() {
    for p in "${pids[@]}"; do kill_tree "$p"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

result() {  # result PASS|FAIL text
    echo "$1 $2"
    if [ "$1" = PASS ]; then pass=$((pass+1)); else fail=$((fail+1)); fi
}

count_checks() {  # read PASS/FAIL lines from stdin
    while IFS= read -r line; do
        case $line in
            PASS*) pass=$((pass+1)); echo "$line" ;;
            FAIL*) fail=$((fail+1)); echo "$line" ;;
        esac
    done
}

GDB=(timeout 120 gdb -nx -q -batch -iex 'set debuginfod enabled off' -iex 'set auto-load python-scripts off')

wait_for() {  # wait_for FILE KEY [TRIES]  (bounded: TRIES x 0.2 s, default 20 s)
    for _ in $(seq "${3:-100}"); do
        grep -q "^$2=" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

wait_sleeping() {  # wait until PID is in state S (blocked), bounded 10 s
    for _ in $(seq 50); do
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
        [ "$st" = S ] && return 0
        sleep 0.2
    done
    return 1
}

ev_get() { grep "^$2=" "$1" | head -1 | cut -d= -f2; }

inspect() {  # inspect OUT EVENTS MODE TARGET... (TARGET: -p PID or EXE CORE); extra gdb args in $EXTRA
    local out=$1 ev=$2 mode=$3; shift 3
    local addrs find
    addrs="$(ev_get "$ev" rlock_id),$(ev_get "$ev" lock_id),$(ev_get "$ev" handler_lock_id)"
    if [ "$mode" = import ]; then
        find="$(ev_get "$ev" main_ident):$(ev_get "$ev" modlock_wakeup_id)"
    elif [ "$mode" = stdout ]; then
        addrs="$addrs,$(ev_get "$ev" stdout_buffer_id)"
        find="$(ev_get "$ev" main_ident):$(ev_get "$ev" stdout_buffer_id)"
    elif [ "$mode" = child ] || [ "$mode" = rawchild ]; then
        find="$(ev_get "$ev" main_ident):$(ev_get "$ev" lock_id)"
    else
        find="$(ev_get "$ev" waiter_ident):$(ev_get "$ev" lock_id),$(ev_get "$ev" holder_ident):$(ev_get "$ev" handler_lock_id)"
    fi
    FW_GDB_DIR="$root/gdb" FW_OUT="$out" FW_ADDRS="$addrs" FW_FIND="$find" \
        "${GDB[@]}" $EXTRA "$@" -x "$here/inspect_driver.py" >"$out.log" 2>&1
}

run_case() {  # run_case PYTHON EXE VERSION DWARF LABEL MODE [ENV...]
    local py=$1 exe=$2 ver=$3 dwarf=$4 label=$5 mode=$6; shift 6
    local ev="$work/$label.ev" pid child
    rm -f "$ev"
    env -u PYTHONUNBUFFERED "$@" "$py" "$here/hang_locks.py" "$ev" "$mode" >/dev/null 2>"$ev.stderr" &
    pid=$!; pids+=("$pid")
    if ! wait_for "$ev" ready 300; then  # the raw fork may need a few attempts
        result FAIL "$label: hang_locks.py did not get ready: $(tail -c 300 "$ev" "$ev.stderr" | tr '\n' ' ')"
        kill_tree "$pid"; wait "$pid" 2>/dev/null; return
    fi
    if [ "$mode" != rawfork ]; then  # of a raw fork only the child is checked
        inspect "$work/$label.live.json" "$ev" "$mode" -p "$pid"
        count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.live.json" "$mode" "$ver" "$dwarf" "$label-live")
    fi
    if [ "$mode" = rawfork ]; then
        child=$(ev_get "$ev" child_pid)
        if [ -n "$child" ] && wait_sleeping "$child"; then
            pids+=("$child")
            inspect "$work/$label.child.json" "$ev" rawchild -p "$child"
            count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.child.json" rawchild "$ver" "$dwarf" "$label-child-live")
            timeout 60 gcore -o "$work/$label.childcore" "$child" >/dev/null 2>&1
            inspect "$work/$label.childcore.json" "$ev" rawchild "$exe" "$work/$label.childcore.$child"
            count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.childcore.json" rawchild "$ver" "$dwarf" "$label-child-core")
            rm -f "$work/$label.childcore."*
            kill -KILL "$child" 2>/dev/null
        else
            result FAIL "$label: raw fork child did not block"
        fi
    elif [ "$mode" = fork ]; then
        child=$(ev_get "$ev" child_pid)
        if [ -n "$child" ] && wait_for "$ev" child_blocking && wait_sleeping "$child"; then
            pids+=("$child")
            inspect "$work/$label.child.json" "$ev" child -p "$child"
            count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.child.json" child "$ver" "$dwarf" "$label-child-live")
            if [ "$core" = 1 ]; then
                timeout 60 gcore -o "$work/$label.childcore" "$child" >/dev/null 2>&1
                inspect "$work/$label.childcore.json" "$ev" child "$exe" "$work/$label.childcore.$child"
                count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.childcore.json" child "$ver" "$dwarf" "$label-child-core")
                rm -f "$work/$label.childcore."*
            fi
            kill -KILL "$child" 2>/dev/null
        else
            result FAIL "$label: fork child did not block"
        fi
    elif [ "$core" = 1 ]; then
        timeout 60 gcore -o "$work/$label.core" "$pid" >/dev/null 2>&1
        inspect "$work/$label.core.json" "$ev" "$mode" "$exe" "$work/$label.core.$pid"
        count_checks < <(python3 "$here/check_results.py" "$ev" "$work/$label.core.json" "$mode" "$ver" "$dwarf" "$label-core")
        rm -f "$work/$label.core."*
    fi
    kill_tree "$pid"; wait "$pid" 2>/dev/null
}

nodwarf_modes="plain rawfork"
[ $full = 1 ] && nodwarf_modes="plain fork rawfork stdout import"
interpreters=()
if [ -n "${FORKWATCH_TEST_PYTHONS:-}" ]; then
    # the matrix's Debian roots name their pythons (statically linked: DWARF from -dbg)
    IFS=: read -r -a given <<<"$FORKWATCH_TEST_PYTHONS"
    for py in "${given[@]}"; do
        [ -x "$py" ] || continue
        m=${py##*/python}
        interpreters+=("${FORKWATCH_DISTRO:-debian}-$m:$py:")
    done
else
    for d in /root/.pyenv/versions/3.*; do
        v=${d##*/}; m=${v%.*}
        case $m in 3.8|3.9|3.10|3.11|3.12|3.13|3.14|3.15) ;; *) continue ;; esac
        [ -x "$d/bin/python$m" ] && interpreters+=("$v:$d/bin/python$m:$d/lib/libpython$m.so.1.0")
    done
    [ -x /usr/bin/python3.11 ] && [ -d /usr/lib/debug/.build-id ] && interpreters+=("debian-3.11:/usr/bin/python3.11:")
fi

for spec in "${interpreters[@]}"; do
    IFS=: read -r name py lib <<<"$spec"
    if [ ${#want[@]} -gt 0 ]; then
        ok=0; for w in "${want[@]}"; do [ "$w" = "$name" ] && ok=1; done
        [ $ok = 1 ] || continue
    fi
    ver=$("$py" -c 'import platform; print(platform.python_version())')
    echo "== $name ($ver)"
    if out=$(timeout 120 "$py" "$here/test_linetable.py" 2>&1); then
        result PASS "$name: line tables ($out)"
    else
        result FAIL "$name: line tables: $(echo "$out" | tail -3)"
    fi
    if out=$(timeout 120 "$py" "$here/test_with_blocks.py" 2>&1); then
        result PASS "$name: with-block decoding ($out)"
    else
        result FAIL "$name: with-block decoding: $(echo "$out" | tail -3)"
    fi
    target=${lib:-$py}
    count_checks < <(FW_GDB_DIR="$root/gdb" FW_VERSION="$ver" "${GDB[@]}" -x "$here/check_layouts.py" "$target" 2>&1)
    core=1
    EXTRA=""
    run_case "$py" "$py" "$ver" 1 "$name-plain" plain
    run_case "$py" "$py" "$ver" 1 "$name-fork" fork
    run_case "$py" "$py" "$ver" 1 "$name-rawfork" rawfork
    run_case "$py" "$py" "$ver" 1 "$name-stdout" stdout
    run_case "$py" "$py" "$ver" 1 "$name-import" import
    [ $quick = 1 ] && continue
    # the same without DWARF for libpython
    core=1
    if [ -n "$lib" ]; then
        mkdir -p "$work/strip-$name"
        strip --strip-debug -o "$work/strip-$name/${lib##*/}" "$lib"
        GDB=(timeout 120 gdb -nx -q -batch -iex 'set debuginfod enabled off' -iex 'set auto-load python-scripts off' -iex 'set debug-file-directory /nonexistent')
        for mode in $nodwarf_modes; do
            run_case "$py" "$py" "$ver" 0 "$name-nodwarf-$mode" $mode "LD_LIBRARY_PATH=$work/strip-$name"
        done
        rm -rf "$work/strip-$name"
    else
        GDB=(timeout 120 gdb -nx -q -batch -iex 'set debuginfod enabled off' -iex 'set auto-load python-scripts off' -iex 'set debug-file-directory /nonexistent')
        for mode in $nodwarf_modes; do
            run_case "$py" "$py" "$ver" 0 "$name-nodwarf-$mode" $mode
        done
    fi
    GDB=(timeout 120 gdb -nx -q -batch -iex 'set debuginfod enabled off' -iex 'set auto-load python-scripts off')
done

# interpreters we do not support must be named, in one line, not misread
for d in /root/.pyenv/versions/3.6.* /root/.pyenv/versions/3.7.*; do
    [ -d "$d" ] || continue
    [ ${#want[@]} -gt 0 ] && continue
    v=${d##*/}; m=${v%.*}
    py=$(ls "$d"/bin/python$m* 2>/dev/null | grep -E "python$m[a-z]*$" | head -1)
    [ -n "$py" ] || continue
    "$py" -c 'import sys, time; open(sys.argv[1], "w").write("ready=1\n"); time.sleep(60)' "$work/old-$v.ev" &
    pid=$!; pids+=("$pid")
    if wait_for "$work/old-$v.ev" ready; then
        FW_GDB_DIR="$root/gdb" FW_OUT="$work/old-$v.json" "${GDB[@]}" -p "$pid" -x "$here/inspect_driver.py" >/dev/null 2>&1
        msg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("unsupported", "NOT REPORTED"))' "$work/old-$v.json" 2>&1)
        case $msg in
            "CPython $m"*"is not supported (known: 3.8"*) result PASS "$v: unsupported ($msg)" ;;
            *) result FAIL "$v: unsupported: $msg" ;;
        esac
    else
        result FAIL "$v: did not start"
    fi
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
