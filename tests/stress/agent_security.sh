#!/bin/bash
# tests/stress/agent_security.sh — issue 6 §5, the agent's side: secure-exec, report files
# (no symlink, 0600, append), environment validation, policies, escaping of strings from
# the watched process in JSON and on the terminal. Uses tests/stress/sec_probe.c.
# FORKWATCH_STACKS=0 throughout: these checks are about security, not stack capture.
# Last line "N passed, N failed"; exit 1 on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${SECURITY_OUT:-$ROOT/build/stress/security-$$}
AGENT=${FORKWATCH_AGENT:-$ROOT/build/libforkwatch.so}
CC=${CC:-cc}
PASS=0
FAIL=0
pass() { PASS=$((PASS + 1)); echo "[PASS] $*"; }
fail() { FAIL=$((FAIL + 1)); echo "[FAIL] $*"; }
finish() {
    [ "$FAIL" -eq 0 ] && [ -z "${SECURITY_OUT:-}" ] && rm -rf "$OUT"
    [ "$FAIL" -ne 0 ] && echo "logs in $OUT"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
    exit $?
}

rm -rf "$OUT"
mkdir -p "$OUT"
if [ ! -f "$AGENT" ]; then fail "agent not built: $AGENT"; finish; fi
PROBE=$OUT/sec_probe
if ! $CC -std=c11 -D_GNU_SOURCE -O1 -g -pthread -I"$ROOT/agent" -o "$PROBE" "$ROOT/tests/stress/sec_probe.c" -ldl \
        2>"$OUT/build.log"; then
    fail "build sec_probe: $(head -3 "$OUT/build.log")"; finish
fi

# probe ENVS... -- ARGS : runs sec_probe under the agent; sets RC, ERR (stderr file)
n=0
probe() {
    n=$((n + 1))
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    ERR=$OUT/run$n.err
    # timeout(1) outside: only the probe is watched
    timeout -k 5 20 env -u FORKWATCH_REPORT -u FORKWATCH_ON_DEADLOCK -u FORKWATCH_EXIT_STATUS \
        -u FORKWATCH_QUIET -u FORKWATCH_DISABLE FORKWATCH_STACKS=0 LD_PRELOAD="$AGENT" "${envs[@]}" \
        "$PROBE" "$@" >"$OUT/run$n.out" 2>"$ERR"
    RC=$?
}
warnings() { grep -c '^forkwatch: warning:' "$ERR"; }

# S1 secure-exec: a setgid program linked against the agent (LD_PRELOAD is ignored there)
if [ "$(id -u)" = 0 ] && getent group nogroup >/dev/null; then
    SG=$OUT/sec_probe_setgid
    if $CC -std=c11 -D_GNU_SOURCE -O1 -pthread -I"$ROOT/agent" -o "$SG" "$ROOT/tests/stress/sec_probe.c" "$AGENT" -ldl \
            2>>"$OUT/build.log" && chgrp nogroup "$SG" && chmod 2755 "$SG"; then
        out=$(env FORKWATCH_REPORT="$OUT/secure.jsonl" timeout 20 "$SG" flags 2>&1)
        flags=$(echo "$out" | sed -n 's/^flags=\(0x[0-9a-f]*\|0\) .*/\1/p')
        env FORKWATCH_REPORT="$OUT/secure.jsonl" FORKWATCH_STACKS=0 timeout 20 "$SG" deadlock holder 2 >/dev/null 2>&1
        rc=$?
        if ! echo "$out" | grep -q 'at_secure=1'; then
            fail "secure-exec: the setgid program did not run with AT_SECURE ($out)"
        elif [ -z "$flags" ] || [ $(( flags & 2 )) = 0 ] || [ $(( flags & 1 )) != 0 ]; then
            fail "secure-exec: registry flags $flags: want FW_FLAG_SECURE_EXEC and not FW_FLAG_ENABLED ($out)"
        elif [ -e "$OUT/secure.jsonl" ]; then
            fail "secure-exec: the agent created FORKWATCH_REPORT"
        elif [ $rc != 124 ]; then
            fail "secure-exec: the child's fork deadlock was acted on (exit $rc, want 124: agent inert)"
        else
            pass "secure-exec: agent inert (flags $flags), no report file, no abort"
        fi
    else
        fail "secure-exec: could not make a setgid program"
    fi
else
    fail "secure-exec: needs root to make a setgid test program (not run)"
fi

# S2 FORKWATCH_DISABLE=1
probe FORKWATCH_DISABLE=1 -- flags
f=$(sed -n 's/^flags=\(0x[0-9a-f]*\|0\) .*/\1/p' "$OUT/run$n.out")
if [ -n "$f" ] && [ $(( f & 1 )) = 0 ]; then pass "FORKWATCH_DISABLE=1: agent not enabled (flags $f)"
else fail "FORKWATCH_DISABLE=1: flags '$f' ($(cat "$OUT/run$n.out"))"; fi

# S3 report path is a symlink: never written through
: >"$OUT/target"
ln -s "$OUT/target" "$OUT/link.jsonl"
probe FORKWATCH_REPORT="$OUT/link.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 5
if [ $RC = 86 ] && [ ! -s "$OUT/target" ] && [ -L "$OUT/link.jsonl" ]; then
    pass "report symlink: not followed (target untouched), abort still 86"
else
    fail "report symlink: exit $RC, target size $(stat -c %s "$OUT/target"), link $( [ -L "$OUT/link.jsonl" ] && echo kept || echo replaced)"
fi
# ... also a symlink to a file that does not exist yet
ln -s "$OUT/absent-target" "$OUT/dangling.jsonl"
probe FORKWATCH_REPORT="$OUT/dangling.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 5
if [ ! -e "$OUT/absent-target" ]; then pass "report dangling symlink: target not created"
else fail "report dangling symlink: the agent created the symlink's target"; fi

# ... a FIFO planted at the path: opening it for writing would block for ever, and the
# deadlocked child must still end with 86 (not hang in the agent)
mkfifo "$OUT/fifo.jsonl"
probe FORKWATCH_REPORT="$OUT/fifo.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 5
if [ $RC = 86 ]; then pass "report path is a FIFO: not opened for a blocking write, abort still 86"
else fail "report path is a FIFO: exit $RC (124: the child hung opening the report), want 86"; fi

# S4 new report file: mode 0600 whatever the umask; one event
probe FORKWATCH_REPORT="$OUT/new.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 5
mode=$( (umask 000; stat -c %a "$OUT/new.jsonl" 2>/dev/null) )
rm -f "$OUT/new0.jsonl"
( umask 000; timeout 60 env FORKWATCH_STACKS=0 LD_PRELOAD="$AGENT" FORKWATCH_REPORT="$OUT/new0.jsonl" \
    FORKWATCH_QUIET=1 "$PROBE" deadlock holder 5 >/dev/null 2>&1 )
mode0=$(stat -c %a "$OUT/new0.jsonl" 2>/dev/null)
ev=$(grep -c '"event":"fork-deadlock"' "$OUT/new.jsonl" 2>/dev/null)
if [ "$mode" = 600 ] && [ "$mode0" = 600 ] && [ "$ev" = 1 ] && [ $RC = 86 ]; then
    pass "report file created 0600 (also with umask 000), one fork-deadlock event, exit 86"
else
    fail "report file: mode '$mode' (umask 000: '$mode0'), events '$ev', exit $RC"
fi

# S5 an existing report is appended to, never truncated
echo '{"schema":"forkwatch-event/1","event":"fork-hazard","kept":true}' >"$OUT/old.jsonl"
probe FORKWATCH_REPORT="$OUT/old.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 5
if head -1 "$OUT/old.jsonl" | grep -q '"kept":true' && [ "$(wc -l <"$OUT/old.jsonl")" = 2 ]; then
    pass "existing report appended to (first line kept)"
else
    fail "existing report: $(wc -l <"$OUT/old.jsonl") lines, first: $(head -c 100 "$OUT/old.jsonl")"
fi

# S6 environment validation: bad value -> one warning line, default kept
check_env() {  # VAR=VALUE WANT_STATUS WANT_WARNINGS
    probe "$1" -- deadlock holder 5
    w=$(warnings)
    if [ $RC = "$2" ] && [ "$w" = "$3" ] && { [ "$3" = 0 ] || grep '^forkwatch: warning:' "$ERR" | grep -q "${1%%=*}"; }; then
        pass "env $1: exit $RC, $w warning line(s)"
    else
        fail "env $1: exit $RC (want $2), $w warning line(s) (want $3 naming ${1%%=*}): $(grep -m1 warning "$ERR")"
    fi
}
check_env FORKWATCH_ON_DEADLOCK=bogus 86 1
check_env FORKWATCH_ON_DEADLOCK=abort 86 0
check_env FORKWATCH_EXIT_STATUS=999 86 1
check_env FORKWATCH_EXIT_STATUS=0 86 1
check_env FORKWATCH_EXIT_STATUS=12abc 86 1
check_env FORKWATCH_EXIT_STATUS=-3 86 1
check_env FORKWATCH_EXIT_STATUS=7 7 0
check_env FORKWATCH_QUIET=maybe 86 1
check_env FORKWATCH_STACKS=2 86 1

# S7 policies warn/off: the child is left to block (we kill it after 2 s)
probe FORKWATCH_ON_DEADLOCK=warn FORKWATCH_REPORT="$OUT/warn.jsonl" FORKWATCH_QUIET=1 -- deadlock holder 2
if [ $RC = 124 ] && grep -q '"policy":"warn"' "$OUT/warn.jsonl" 2>/dev/null; then
    pass "policy warn: event written (policy warn), child left blocking"
else
    fail "policy warn: exit $RC, report: $(head -c 120 "$OUT/warn.jsonl" 2>/dev/null)"
fi
probe FORKWATCH_ON_DEADLOCK=off FORKWATCH_REPORT="$OUT/off.jsonl" -- deadlock holder 2
if [ $RC = 124 ] && [ ! -s "$OUT/off.jsonl" ] && ! grep -q '^forkwatch:' "$ERR"; then
    pass "policy off: no event, nothing printed, child left blocking"
else
    fail "policy off: exit $RC, report size $(stat -c %s "$OUT/off.jsonl" 2>/dev/null), stderr: $(head -c 120 "$ERR")"
fi

# S8 hostile thread name: valid JSON with escapes; no raw control bytes on the terminal
name=$'\e[2J\t\x01\xff"\\z'
probe FORKWATCH_REPORT="$OUT/esc.jsonl" -- deadlock "$name" 5
if [ $RC != 86 ]; then
    fail "escaping: exit $RC, want 86"
elif ! python3 - "$OUT/esc.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == 1, len(lines)
raw = lines[0]
assert all(b >= 0x20 and b != 0x7f for b in raw), "raw control byte in the JSON line"
raw.decode("utf-8")  # must be valid UTF-8
e = json.loads(raw)
name = e["holder"]["name"]
assert "\x1b" in name and "\t" in name and '"' in name, repr(name)
EOF
then
    fail "escaping: the JSON line is not valid/escaped (see $OUT/esc.jsonl)"
elif LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$ERR"; then
    fail "escaping: raw control bytes on stderr: $(LC_ALL=C grep -m1 -n $'[\x01-\x08\x0b-\x1f\x7f]' "$ERR" | od -c | head -3)"
else
    pass "escaping: hostile thread name escaped in JSON and on stderr"
fi
finish
