#!/bin/sh
# make fuzz: runs the libFuzzer harness of the registry decoder for FUZZ_SECONDS (default 60),
# niced, one job, starting from the kept corpus (tests/fuzz/corpus). New inputs go to
# build/fuzz/corpus; FUZZ_KEEP=1 merges (minimises) them back into tests/fuzz/corpus.
# Crash/timeout inputs are written to build/fuzz/artifacts/ and fail the run (exit 1).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BIN=$BUILD/fuzz/fuzz_registry
SECS=${1:-${FUZZ_SECONDS:-60}}
KEPT=$ROOT/tests/fuzz/corpus
WORK=$BUILD/fuzz/corpus
ART=$BUILD/fuzz/artifacts
mkdir -p "$WORK" "$ART" || exit 3
[ -x "$BIN" ] || { echo "fuzz: $BIN not built (make fuzz)"; exit 3; }
export FW_FUZZ_DIR="$ROOT/tests/fuzz"
cd "$BUILD/fuzz" || exit 3
nice -n 10 timeout -k 10 $((SECS + 120)) "$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$ART/" "$WORK" "$KEPT" 2>"$BUILD/fuzz/log"
rc=$?
grep -E '^(stat::|Done|==[0-9]+== ERROR|SUMMARY)' "$BUILD/fuzz/log"
if [ "$rc" != 0 ]; then
    echo "fuzz: FAILED (exit $rc): see $BUILD/fuzz/log and $ART/"
    grep -m1 -A12 'the decoder raised' "$BUILD/fuzz/log"
    exit 1
fi
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    mkdir -p "$BUILD/fuzz/merged" && rm -f "$BUILD/fuzz/merged"/*
    nice -n 10 timeout 600 "$BIN" -merge=1 -timeout=10 -max_len=65536 "$BUILD/fuzz/merged" "$KEPT" "$WORK" \
        2>>"$BUILD/fuzz/log" || { echo "fuzz: merge failed"; exit 1; }
    # keep the real registries under their names, the rest as libFuzzer named them
    find "$KEPT" -type f ! -name 'real_*' ! -name 'dmg_*' -delete
    cp "$BUILD/fuzz/merged"/* "$KEPT"/ 2>/dev/null
    for f in "$KEPT"/real_* "$KEPT"/dmg_*; do
        [ -f "$f" ] || continue
        h=$(sha1sum "$f" | cut -d' ' -f1); rm -f "$KEPT/$h"
    done
    echo "fuzz: kept corpus now $(ls "$KEPT" | wc -l) files"
fi
echo "fuzz: ok, no crash in ${SECS}s (corpus $WORK: $(ls "$WORK" | wc -l) files)"
