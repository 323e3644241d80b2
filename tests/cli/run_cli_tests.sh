#!/bin/bash
# Tests of the `forkwatch` command itself (cli/): usage and exit statuses, the
# environment `run` gives its command, exit status passthrough, signal
# forwarding, report symbolisation and rewrite, core/PID pre-checks, and the
# GDB runner (argv, stdout/stderr handling, exit mapping, time bound) against a
# fake `gdb` on PATH. The real agent and GDB package are not needed: a copy of
# build/forkwatch runs beside a dummy libforkwatch.so and a dummy gdb dir.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FW_BUILT=$ROOT/build/forkwatch
PASS=0
FAIL=0
STARTED_PIDS=""

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fw-cli-tests.XXXXXX") || exit 1
cleanup() {
    for p in $STARTED_PIDS; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ok()   { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
check() { # check NAME COND-COMMAND...
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name" "$(tail -c 400 "$WORK/err" 2>/dev/null | tr '\n' '|')"; fi
}
contains() { grep -qF -- "$2" "$1"; }
lines_of() { wc -l < "$1" | tr -d ' '; }

# Bounded wait for a file to appear (no bare sleeps as synchronisation).
wait_for_file() { # FILE SECONDS
    local deadline=$(( $(date +%s) + $2 ))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.02
    done
}

if [ ! -x "$FW_BUILT" ]; then
    echo "build/forkwatch is missing: run 'make build/forkwatch' first"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- A private tree: bin/forkwatch + bin/libforkwatch.so + gdb/forkwatch-gdb.py
mkdir -p "$WORK/tree/bin" "$WORK/tree/gdb" "$WORK/tmp" "$WORK/fakebin" "$WORK/nogdb"
cp "$FW_BUILT" "$WORK/tree/bin/forkwatch"
echo 'int forkwatch_dummy_agent;' > "$WORK/dummy.c"
cc -shared -fPIC -o "$WORK/tree/bin/libforkwatch.so" "$WORK/dummy.c" || exit 1
cp "$WORK/tree/bin/libforkwatch.so" "$WORK/libother.so"
echo '# dummy' > "$WORK/tree/gdb/forkwatch-gdb.py"
FW=$WORK/tree/bin/forkwatch
AGENT=$WORK/tree/bin/libforkwatch.so
cd "$WORK" || exit 1

# ---------------------------------------------------------------- usage
"$FW" > out 2> err; rc=$?
check "no verb: exit 2 with a usage line" test "$rc" = 2 -a "$(grep -c '^usage:' err)" = 1
"$FW" --help > out 2> err; rc=$?
check "--help: exit 0, lists the verbs" eval 'test $rc = 0 && contains out "forkwatch run" && contains out "forkwatch attach" && contains out "forkwatch core"'
"$FW" --version > out 2> err; rc=$?
check "--version: exit 0, one line" eval 'test $rc = 0 && grep -q "^forkwatch [0-9]" out && test "$(lines_of out)" = 1'
"$FW" help core > out 2> err; rc=$?
check "help core: exit 0, shows --exe" eval 'test $rc = 0 && contains out "--exe"'
"$FW" help frobnicate > out 2> err; rc=$?
check "help of an unknown verb: exit 2" test "$rc" = 2
"$FW" frobnicate > out 2> err; rc=$?
check "unknown verb: exit 2, one message line + usage" eval 'test $rc = 2 && test "$(lines_of err)" = 2'
"$FW" run > out 2> err; rc=$?
check "run without a command: exit 2" test "$rc" = 2
"$FW" run --on-deadlock maybe -- true > out 2> err; rc=$?
check "run --on-deadlock maybe: exit 2" eval 'test $rc = 2 && contains err "abort, warn or off"'
"$FW" run --frob -- true > out 2> err; rc=$?
check "run with an unknown option: exit 2" test "$rc" = 2
# A file option's value that looks like an option is a forgotten value: `--junit -- CMD` once
# wrote a JUnit file named "--" (one was committed at the repository's root).
mkdir -p "$WORK/optdir"
for args in "--junit --" "--junit=--" "--junit --quiet" "--junit -" "--report --" "--report=-x" "--report --junit j.xml"; do
    ( cd "$WORK/optdir" && exec "$FW" run $args -- sh -c ': > ran' ) > out 2> err; rc=$?
    check "run $args: exit 2, one forkwatch: line naming the option, nothing run or written" \
        eval 'test $rc = 2 && test "$(grep -c "^forkwatch: " err)" = 1 && contains err "${args%%[ =]*} needs a file name" && test -z "$(ls -A "$WORK/optdir")"'
done
( cd "$WORK/optdir" && exec "$FW" run --junit ./-- -- sh -c ': > ran' ) > out 2> err; rc=$?
check "run --junit ./--: a file of that name, asked for plainly, is written" \
    eval 'test $rc = 0 && test -f "$WORK/optdir/ran" && grep -q "<testsuites" "$WORK/optdir/--"'
"$FW" attach > out 2> err; rc=$?
check "attach without a PID: exit 2" test "$rc" = 2
"$FW" attach 1 --timeout -4 > out 2> err; rc=$?
check "attach --timeout -4: exit 2" test "$rc" = 2
"$FW" core > out 2> err; rc=$?
check "core without a file: exit 2" test "$rc" = 2
"$FW" core x --tree > out 2> err; rc=$?
check "core --tree (attach only): exit 2" test "$rc" = 2

# ---------------------------------------------------------------- run: environment
PRINT_ENV='printf "%s\n" "LD_PRELOAD=$LD_PRELOAD" "REPORT=$FORKWATCH_REPORT" "POLICY=$FORKWATCH_ON_DEADLOCK" "QUIET=${FORKWATCH_QUIET-unset}"'
LD_PRELOAD=$WORK/libother.so "$FW" run --report rel.jsonl --on-deadlock warn -- sh -c "$PRINT_ENV" > out 2> err; rc=$?
check "run: exit 0 for a command that exits 0" test "$rc" = 0
check "run: agent first in LD_PRELOAD, previous value kept" contains out "LD_PRELOAD=$AGENT:$WORK/libother.so"
check "run: relative --report made absolute" contains out "REPORT=$WORK/rel.jsonl"
check "run: FORKWATCH_ON_DEADLOCK from --on-deadlock" contains out "POLICY=warn"
check "run: no FORKWATCH_QUIET without --quiet" contains out "QUIET=unset"
check "run: summary names the report" contains err "0 fork deadlocks, 0 fork hazards in 0 processes; report: $WORK/rel.jsonl"

env -u LD_PRELOAD TMPDIR="$WORK/tmp" "$FW" run --quiet -- sh -c "$PRINT_ENV"'; echo "MODE=$(stat -c %a "${FORKWATCH_REPORT%/*}")"' > out 2> err; rc=$?
check "run --quiet: FORKWATCH_QUIET=1, default policy abort" eval 'contains out "QUIET=1" && contains out "POLICY=abort"'
check "run --quiet: nothing on stderr when nothing was found" test ! -s err
check "run: LD_PRELOAD is just the agent when unset before" contains out "LD_PRELOAD=$AGENT"
report=$(sed -n 's/^REPORT=//p' out)
case "$report" in "$WORK"/tmp/forkwatch.*/report.jsonl) ok "run: default report in a fresh dir under TMPDIR";;
    *) bad "run: default report in a fresh dir under TMPDIR" "$report";; esac
check "run: default report dir is private (0700)" contains out "MODE=700"

# A clean run leaves no temporary directory behind (issue 19); a run that recorded something
# keeps its report, named by the summary. TMPDIR is private to each case, so that nothing
# else on the machine appears in it.
tmp_case() { # NAME: a fresh private TMPDIR in $TC
    TC=$WORK/tmpcase-$1; mkdir -p "$TC"
}
left_in() { [ -z "$(ls -A "$1")" ]; }
tmp_case clean
TMPDIR=$TC "$FW" run -- python3 -c pass > out 2> err; rc=$?
check "run, clean: exit 0, nothing left in TMPDIR, summary says no report kept" \
    eval 'test $rc = 0 && left_in "$TC" && contains err "0 fork deadlocks, 0 fork hazards in 0 processes; nothing recorded, no report kept"'
tmp_case junit
TMPDIR=$TC "$FW" run --junit "$WORK/clean-junit.xml" -- python3 -c pass > out 2> err; rc=$?
check "run --junit, clean: JUnit written, nothing left in TMPDIR" eval 'test $rc = 0 && left_in "$TC" && grep -q "<testsuites" clean-junit.xml'
tmp_case quiet
TMPDIR=$TC "$FW" run --quiet -- true > out 2> err; rc=$?
check "run --quiet, clean: nothing left in TMPDIR, nothing said" eval 'test $rc = 0 && left_in "$TC" && test ! -s err'
tmp_case killed
TMPDIR=$TC "$FW" run -- sh -c 'kill -KILL $$' > out 2> err; rc=$?
check "run, command killed by SIGKILL: 137, nothing left in TMPDIR" eval 'test $rc = 137 && left_in "$TC"'
tmp_case junitdir
TMPDIR=$TC "$FW" run --junit "$WORK/no-such-dir/j.xml" -- true > out 2> err; rc=$?
check "run --junit in a missing directory: exit 3, nothing left in TMPDIR" eval 'test $rc = 3 && left_in "$TC"'
# forkwatch itself gets SIGTERM or SIGINT while the command runs (forwarded to it)
for sig in TERM INT; do
    tmp_case "sig$sig"; rm -f ready
    TMPDIR=$TC "$FW" run -- sh -c 'echo $$ > ready; exec sleep 30' > out 2> err &
    FWPID=$!; STARTED_PIDS="$STARTED_PIDS $FWPID"
    if wait_for_file ready 10; then
        STARTED_PIDS="$STARTED_PIDS $(cat ready)"
        kill -"$sig" "$FWPID"
        ( sleep 10; kill -KILL "$FWPID" 2>/dev/null ) & WD=$!
        wait "$FWPID"; rc=$?
        kill "$WD" 2>/dev/null; wait "$WD" 2>/dev/null
        want=$(( 128 + $(kill -l "$sig") ))
        check "run gets SIG$sig: command ended by it ($want), nothing left in TMPDIR" eval 'test $rc = $want && left_in "$TC"'
    else
        bad "run gets SIG$sig" "command did not start"
    fi
done
# something recorded: the report is kept, in its private directory, and named
tmp_case events
printf '{"schema":"forkwatch-event/1","event":"agent-warning","time_ns":1,"pid":4343,"message":"x"}\n' > line_kept
TMPDIR=$TC "$FW" run -- sh -c 'cat line_kept >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
kept=$(ls "$TC"/forkwatch.*/report.jsonl 2>/dev/null)
check "run that recorded an event: its report kept and named by the summary" \
    eval 'test $rc = 0 && test -n "$kept" && contains "$kept" "agent-warning" && contains err "report: $kept"'

"$FW" run --report "$WORK/no-such-dir/r.jsonl" -- true > out 2> err; rc=$?
check "run: report dir that does not exist, exit 3 before running" eval 'test $rc = 3 && contains err "no-such-dir"'

# Installed layout: PREFIX/bin/forkwatch finds PREFIX/lib/libforkwatch.so.
mkdir -p "$WORK/prefix/bin" "$WORK/prefix/lib"
cp "$FW_BUILT" "$WORK/prefix/bin/forkwatch"; cp "$AGENT" "$WORK/prefix/lib/libforkwatch.so"
env -u LD_PRELOAD "$WORK/prefix/bin/forkwatch" run --report r2.jsonl -- sh -c "$PRINT_ENV" > out 2> err
check "run (installed layout): agent from ../lib" contains out "LD_PRELOAD=$WORK/prefix/lib/libforkwatch.so"
rm "$WORK/prefix/lib/libforkwatch.so"
"$WORK/prefix/bin/forkwatch" run -- true > out 2> err; rc=$?
check "run without an agent: exit 3, one line" eval 'test $rc = 3 && test "$(lines_of err)" = 1 && contains err libforkwatch.so'

# ---------------------------------------------------------------- run: exit statuses
"$FW" run --report r.jsonl -- sh -c 'exit 7' > out 2> err; rc=$?
check "run: command's exit status passed through (7)" test "$rc" = 7
"$FW" run --report r.jsonl -- sh -c 'kill -TERM $$' > out 2> err; rc=$?
check "run: killed by SIGTERM gives 128+15" test "$rc" = 143
"$FW" run --report r.jsonl -- sh -c 'kill -SEGV $$' > out 2> err; rc=$?
check "run: killed by SIGSEGV gives 128+11" test "$rc" = 139
"$FW" run --report r.jsonl -- no-such-command-fw > out 2> err; rc=$?
check "run: command not found gives 127 and one line" eval 'test $rc = 127 && test "$(lines_of err)" = 1 && contains err "no-such-command-fw: command not found"'
"$FW" run --report r.jsonl -- "$WORK/dummy.c" > out 2> err; rc=$?
check "run: command not executable gives 126" test "$rc" = 126

# Signal forwarding: TERM to forkwatch reaches the command (which exits 42 on it).
rm -f ready
"$FW" run --report r.jsonl -- sh -c 'trap "exit 42" TERM; echo $$ > ready; while :; do sleep 0.05; done' > out 2> err &
FWPID=$!; STARTED_PIDS="$STARTED_PIDS $FWPID"
if wait_for_file ready 10; then
    STARTED_PIDS="$STARTED_PIDS $(cat ready)"   # the command itself, should forwarding fail
    kill -TERM "$FWPID"
    # Bounded wait: give up (and kill) after 10 s.
    ( sleep 10; kill -KILL "$FWPID" 2>/dev/null ) & WD=$!
    wait "$FWPID"; rc=$?
    kill "$WD" 2>/dev/null; wait "$WD" 2>/dev/null
    check "run: SIGTERM forwarded to the command (its status 42 returned)" test "$rc" = 42
else
    bad "run: SIGTERM forwarded to the command" "command did not start"
fi

# ---------------------------------------------------------------- run: report symbolisation
cat > prog.c <<'EOF'
#include <stdio.h>
int target_function(int x)
{
    int y = x * 2;
    printf("%d\n", y);
    return y + 1;
}
int main(void) { return target_function(3) == 7 ? 0 : 1; }
EOF
cc -g -O0 -o prog prog.c || exit 1
fn_addr=$(nm prog | awk '$3 == "target_function" { print $1 }')
off=$(printf '0x%x' $((0x$fn_addr + 8)))
expect=$(addr2line -e prog "$(printf '0x%x' $((0x$fn_addr + 7)))" | sed 's,.*/,,')   # prog.c:N (oracle)
bid=$(readelf -n prog | awk '/Build ID/ { print $3 }')
event() { # EVENT HOLDER-NAME BUILD-ID
    printf '{"schema":"forkwatch-event/1","event":"%s","time_ns":1763766000000000001,"pid":4242,"ppid":4200,"fork_id":1,"policy":"abort","acquire":"blocking","fork":{"parent_pid":4200,"forker_tid":4200,"via":"fork"},"lock":{"address":"0x55d0c0a1b2c0","kind":"pthread_mutex"},"holder":{"tid":4201,"name":"%s","pthread":"0x7f00","alive":false,"native_stack":[{"function":null,"file":null,"line":null,"module":"%s","address":"0x5555","offset":"%s","build_id":"%s"}],"python_stack":[]},"waiter":{"tid":4242,"name":"prog","native_stack":[],"python_stack":[{"function":"run","file":"/srv/app/worker.py","line":12,"module":null}]}}\n' \
        "$1" "$2" "$WORK/prog" "$off" "$3"
}
event fork-deadlock 'Wri\u001bter' "$bid" > line_deadlock
printf '{"schema":"forkwatch-event/1","event":"fork-haz' > line_cut
(umask 077; : > sym.jsonl)
"$FW" run --report sym.jsonl -- sh -c 'cat line_deadlock line_cut >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "run: a recorded fork deadlock gives exit 86" test "$rc" = 86
check "run: cut line skipped with one warning" eval 'test "$(grep -c "line 2 is not valid JSON" err)" = 1'
check "run: rewritten report holds only valid lines" test "$(lines_of sym.jsonl)" = 1
check "symbolise: function filled" contains sym.jsonl '"function":"target_function"'
got=$(grep -o '"file":"[^"]*","line":[0-9]*' sym.jsonl | head -1 | sed 's/"file":"\(.*\)","line":\(.*\)/\1:\2/' | sed 's,.*/,,')
check "symbolise: file:line as addr2line says ($expect)" test -n "$expect" -a "$got" = "$expect"
check "symbolise: relative source joined with DW_AT_comp_dir" contains sym.jsonl "\"file\":\"$WORK/prog.c\""
check "symbolise: time_ns kept exactly" contains sym.jsonl '"time_ns":1763766000000000001'
check "report: escape of a control character kept in JSON" contains sym.jsonl '"name":"Wri\u001bter"'
check "report: mode 0600 kept across the rewrite" test "$(stat -c %a sym.jsonl)" = 600
check "summary: waiter's Python file:line" contains err 'pid 4242 thread 4242 "prog" at /srv/app/worker.py:12 waits on pthread_mutex 0x55d0c0a1b2c0'
check "summary: holder name escaped, acquiring function and line" contains err "held by \"Wri\\x1bter\" (tid 4201, gone since the fork), acquired at target_function ($expect)"
check "summary: no raw escape byte on stderr" eval '! grep -q "$(printf "\033")" err'
check "summary: totals line" contains err "1 fork deadlock, 0 fork hazards in 1 process; report: $WORK/sym.jsonl"

# dladdr() names the main program by argv[0]: a relative module path.
sed 's#"module":"'"$WORK"'/prog"#"module":"./prog"#' line_deadlock > line_relative
"$FW" run --report rel.jsonl -- sh -c 'cat line_relative >> "$FORKWATCH_REPORT"' > out 2> err
check "symbolise: relative module path (argv[0]) resolved" eval 'contains line_relative "\"module\":\"./prog\"" && contains rel.jsonl "\"function\":\"target_function\""'

# A second run appending to the same report counts only its own events.
event fork-hazard worker 0123456789abcdef > line_hazard
"$FW" run --report sym.jsonl -- sh -c 'cat line_hazard >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "run: a hazard alone does not change the exit status" test "$rc" = 0
check "run: earlier run's events not counted again" contains err "0 fork deadlocks, 1 fork hazard in 1 process"
check "symbolise: build id mismatch leaves the frame alone, one warning" eval 'test "$(grep -c "build id differs" err)" = 1 && test "$(grep -c "\"file\":null" sym.jsonl)" = 1'
"$FW" run --fail-on-hazard --report h.jsonl -- sh -c 'cat line_hazard >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "run --fail-on-hazard: exit 87" test "$rc" = 87
printf '{"schema":"forkwatch-event/1","event":"agent-warning","time_ns":1,"pid":4343,"message":"held-lock table full\\u001b: locks not recorded"}\n' > line_warning
"$FW" run --quiet --report w.jsonl -- sh -c 'cat line_warning >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "run: an agent-warning event is shown (escaped) even with --quiet, exit unchanged" eval 'test $rc = 0 && contains err "agent warning from pid 4343: held-lock table full\\x1b: locks not recorded"'
printf '\n[1,2\n{"a":"\\ud800"}\n{"deep":%s}\n' "$(printf '[%.0s' $(seq 200))" > garbage
"$FW" run --report g.jsonl -- sh -c 'cat garbage >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "report: garbage lines give warnings, not a crash" eval 'test $rc = 0 && test "$(grep -c "not valid JSON" err)" = 2'
# A writer died mid-line (no newline): the next process's event is glued to it.
{ head -c 250 line_deadlock; cat line_deadlock; } > glued
"$FW" run --report glued.jsonl -- sh -c 'cat glued >> "$FORKWATCH_REPORT"' > out 2> err; rc=$?
check "report: event glued after a cut line is recovered" eval 'test $rc = 86 && contains err "recovered" && test "$(lines_of glued.jsonl)" = 1'
ln -s sym.jsonl link.jsonl
"$FW" run --report link.jsonl -- true > out 2> err; rc=$?
check "report: a symlinked report is refused (exit 3)" eval 'test $rc = 3 && contains err "symbolic link"'

# ---------------------------------------------------------------- run end to end (real agent)
FIXTURE=$ROOT/build/fixtures/mutex_held_at_fork
if [ -x "$FIXTURE" ] && [ -f "$ROOT/build/libforkwatch.so" ]; then
    FIXTURE_TIMEOUT=20 FIXTURE_EVENTS=$WORK/fx.events timeout 60 "$FW_BUILT" run --quiet --report e2e.jsonl -- "$FIXTURE" > out 2> err; rc=$?
    check "e2e: mutex held at fork under the real agent gives 86" test "$rc" = 86
    check "e2e: holder's acquiring frame symbolised (function, absolute file, line)" \
        contains e2e.jsonl '"function":"holder_acquire_mutex","file":"'"$ROOT"'/fixtures/c/mutex_held_at_fork.c","line":'
    check "e2e: summary names holder thread and acquiring function" eval 'contains err "held by \"Holder\"" && contains err "acquired at holder_acquire_mutex (mutex_held_at_fork.c:"'
else
    echo "skip - e2e: build/libforkwatch.so or build/fixtures/mutex_held_at_fork missing"
fi

# ---------------------------------------------------------------- core pre-checks
"$FW" core no-such.core > out 2> err; rc=$?
check "core: missing file, exit 3, one line" eval 'test $rc = 3 && test "$(lines_of err)" = 1'
"$FW" core prog.c > out 2> err; rc=$?
check "core: a text file is not an ELF core" eval 'test $rc = 3 && contains err "not an ELF file"'
"$FW" core prog > out 2> err; rc=$?
check "core: an executable is not a core" eval 'test $rc = 3 && contains err "not a core file"'
# A hand-made, complete core with one note (NT_PRPSINFO) and no NT_FILE.
python3 - "$WORK/nofile.core" <<'PY'
import struct, sys
name = b"CORE\0\0\0\0"                      # "CORE\0" padded to 4
desc = bytes(40) + b"sleep".ljust(16, b"\0") + b"sleep 30".ljust(80, b"\0")
note = struct.pack("<III", 5, len(desc), 3) + name + desc
ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 4, 0, 64 + 56, 0, 0, len(note), 0, 4)
open(sys.argv[1], "wb").write(ehdr + phdr + note)
PY
"$FW" core nofile.core > out 2> err; rc=$?
check "core: no NT_FILE note and no --exe, exit 3, asks for --exe" eval 'test $rc = 3 && contains err "pass --exe" && test "$(lines_of err)" = 1'

sleep 30 & SP=$!; STARTED_PIDS="$STARTED_PIDS $SP"
timeout 60 gcore -o sleep.core "$SP" > /dev/null 2>&1
kill "$SP"; wait "$SP" 2>/dev/null
CORE=$(ls sleep.core.* 2>/dev/null | head -1)
if [ -n "$CORE" ]; then
    cp "$CORE" trunc.core && truncate -s -12345 trunc.core
    "$FW" core trunc.core > out 2> err; rc=$?
    check "core: truncated core, exit 3, says 12345 bytes missing" eval 'test $rc = 3 && contains err "12345 bytes missing"'
    "$FW" core "$CORE" --exe /no/such/exe > out 2> err; rc=$?
    check "core: --exe that does not exist, exit 3" eval 'test $rc = 3 && contains err "/no/such/exe"'
    PATH=$WORK/nogdb "$FW" core "$CORE" > out 2> err; rc=$?
    check "core: no gdb installed, exit 3, says apt-get install gdb" eval 'test $rc = 3 && contains err "apt-get install gdb"'
    "$FW" core "$CORE" --exe /bin/ls > out 2> err; rc=$?
    check "core of sleep with --exe /bin/ls: exit 3, one line naming both, nothing on stdout" \
        eval 'test $rc = 3 && test "$(lines_of err)" = 1 && test ! -s out && contains err "executable /bin/ls did not dump core $CORE"'
else
    bad "core: gcore of a sleep process" "gcore failed"
fi

# ---------------------------------------------------------------- GDB runner with a fake gdb
# FAKE_GDB_MODE: exit status, "sig" (kills itself), or "hang".
cat > fakebin/gdb <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$WORK/gdb.args"
echo \$\$ > "$WORK/gdb.pid"
echo '{"verdict":"x"}'
echo 'Reading symbols from chatter...' >&2
echo 'forkwatch: error: from the package' >&2
case "\$FAKE_GDB_MODE" in
    sig) kill -SEGV \$\$ ;;
    hang) exec sleep 60 ;;
    *) exit "\$FAKE_GDB_MODE" ;;
esac
EOF
chmod +x fakebin/gdb
if [ -n "$CORE" ]; then
    PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=1 "$FW" core "$CORE" --json > out 2> err; rc=$?
    check "core: GDB's status 1 (a finding) becomes ours" test "$rc" = 1
    check "core: executable found from NT_FILE, batch command as designed" \
        eval 'grep -qx "forkwatch batch core $CORE --exe /[^ ]*/sleep --json" gdb.args'
fi

# A mismatched executable is an error, not a verdict (issue 19): GDB only warns "core file
# may not match" and reads the core with the wrong symbols (a false NO-DEADLOCK, exit 0).
python3 -c 'import sys, time; print("up", flush=True); time.sleep(30)' > py.up &
PYP=$!; STARTED_PIDS="$STARTED_PIDS $PYP"
wait_for_file py.up 10
PYEXE=$(readlink -f "/proc/$PYP/exe")
timeout 60 gcore -o py.core "$PYP" > /dev/null 2>&1
kill "$PYP"; wait "$PYP" 2>/dev/null
PYCORE=py.core.$PYP
if [ -s "$PYCORE" ] && [ -n "$PYEXE" ]; then
    for wrong in /bin/sleep "$WORK/prog"; do
        "$FW" core "$PYCORE" --exe "$wrong" > out 2> err; rc=$?
        check "core of python3 with --exe $(basename "$wrong"): exit 3, one line, empty stdout" \
            eval 'test $rc = 3 && test "$(lines_of err)" = 1 && test ! -s out && contains err "executable $wrong did not dump core $PYCORE: its executable $PYEXE has build-id "'
        PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=0 "$FW" core "$PYCORE" --exe "$wrong" > out 2> err; rc=$?
        check "core of python3 with --exe $(basename "$wrong"): GDB not even started" eval 'test $rc = 3 && ! contains out verdict'
    done
    # the right executable under a name the core does not record (its recorded path gone)
    cp "$PYEXE" "$WORK/python-copy"
    PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=1 "$FW" core "$PYCORE" --exe "$WORK/python-copy" --json > out 2> err; rc=$?
    check "core of python3 with the right --exe elsewhere: GDB runs, its status kept" \
        eval 'test $rc = 1 && grep -qx "forkwatch batch core $PYCORE --exe $WORK/python-copy --json" gdb.args'
else
    bad "core: gcore of a python3 process" "gcore failed"
fi
# No --exe: the file at the recorded path was rebuilt since the core was made.
printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' > sleeper.c
cc -o sleeper sleeper.c || exit 1
./sleeper > /dev/null 2>&1 & SLP=$!; STARTED_PIDS="$STARTED_PIDS $SLP"
deadline=$(( $(date +%s) + 10 ))
until [ "$(readlink "/proc/$SLP/exe" 2>/dev/null)" = "$WORK/sleeper" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.02; done
timeout 60 gcore -o sleeper.core "$SLP" > /dev/null 2>&1
kill "$SLP"; wait "$SLP" 2>/dev/null
if [ -s "sleeper.core.$SLP" ]; then
    PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=0 "$FW" core "sleeper.core.$SLP" > out 2> err; rc=$?
    check "core whose recorded executable is unchanged: accepted" test "$rc" = 0
    printf '#include <stdio.h>\n#include <unistd.h>\nint main(void) { puts("rebuilt"); pause(); return 0; }\n' > sleeper.c
    cc -o sleeper sleeper.c
    "$FW" core "sleeper.core.$SLP" > out 2> err; rc=$?
    check "core whose recorded executable was rebuilt: exit 3, one line, asks for --exe" \
        eval 'test $rc = 3 && test "$(lines_of err)" = 1 && contains err "$WORK/sleeper is no longer the program that dumped core" && contains err "pass --exe"'
else
    bad "core: gcore of a sleeper process" "gcore failed"
fi
sleep 30 & SP=$!; STARTED_PIDS="$STARTED_PIDS $SP"
PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=0 "$FW" attach "$SP" --json --tree > out 2> err; rc=$?
check "attach: GDB's status 0 becomes ours" test "$rc" = 0
printf '%s\n' -nx -q -batch -iex 'set debuginfod enabled off' -iex 'set auto-load python-scripts off' \
    -ex "source $WORK/tree/gdb/forkwatch-gdb.py" -ex "forkwatch batch attach $SP --json --tree" -ex 'quit 3' > want.args
check "attach: GDB command line as DESIGN §2 (+ safety quit 3)" cmp -s want.args gdb.args
check "attach: GDB's stdout passes through" contains out '{"verdict":"x"}'
check "attach: GDB chatter dropped, forkwatch: lines kept" eval '! contains err chatter && contains err "forkwatch: error: from the package"'
PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=0 "$FW" attach "$SP" --verbose > out 2> err
check "attach --verbose: GDB chatter shown" contains err chatter
PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=5 "$FW" attach "$SP" > out 2> err; rc=$?
check "attach: GDB's odd status 5 gives exit 3 and a line" eval 'test $rc = 3 && contains err "status 5"'
PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=sig "$FW" attach "$SP" > out 2> err; rc=$?
check "attach: GDB killed by a signal gives exit 3 and a line" eval 'test $rc = 3 && contains err "signal 11"'
rm -f gdb.pid
start=$(date +%s)
PATH=$WORK/fakebin:$PATH FAKE_GDB_MODE=hang timeout 30 "$FW" attach "$SP" --timeout 1 > out 2> err; rc=$?
elapsed=$(( $(date +%s) - start ))
check "attach --timeout 1: exit 3 with one line, within the grace period" eval 'test $rc = 3 && contains err "did not finish within 1 s" && test $elapsed -le 8'
check "attach --timeout: GDB killed, not left behind" eval 'test -s gdb.pid && ! kill -0 "$(cat gdb.pid)" 2>/dev/null'
check "attach: target left running" eval 'grep -q "^State:.*[SR]" /proc/$SP/status'
kill "$SP"; wait "$SP" 2>/dev/null

# ---------------------------------------------------------------- attach pre-checks
"$FW" attach 12ab > out 2> err; rc=$?
check "attach: PID not a number, exit 3, one line" eval 'test $rc = 3 && test "$(lines_of err)" = 1'
"$FW" attach 999999999 > out 2> err; rc=$?
check "attach: no such process, exit 3" eval 'test $rc = 3 && contains err "no process"'
sh -c 'exit 0' & DEAD=$!; wait "$DEAD"
"$FW" attach "$DEAD" > out 2> err; rc=$?
check "attach: a process that has gone, exit 3" test "$rc" = 3
python3 -c 'import threading, time; threading.Thread(target=time.sleep, args=(30,), daemon=True).start(); time.sleep(30)' &
PY=$!; STARTED_PIDS="$STARTED_PIDS $PY"
deadline=$(( $(date +%s) + 10 ))
while [ "$(ls /proc/$PY/task 2>/dev/null | wc -l)" -lt 2 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.02; done
TID=$(ls /proc/$PY/task | grep -vx "$PY" | head -1)
"$FW" attach "$TID" > out 2> err; rc=$?
check "attach: a thread id names its process, exit 3" eval 'test $rc = 3 && contains err "thread of process $PY"'
kill "$PY"; wait "$PY" 2>/dev/null

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    chmod a+rx "$WORK" "$WORK/tree" "$WORK/tree/bin"   # so that nobody can run the copy
    sleep 30 & SP=$!; STARTED_PIDS="$STARTED_PIDS $SP"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$FW" attach "$SP" > out 2> err; rc=$?
    check "attach: not permitted (other user), exit 3" eval 'test $rc = 3 && contains err "not permitted"'
    kill "$SP"; wait "$SP" 2>/dev/null
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
