#!/bin/sh
# make bench: build what the benchmarks need, then run them all (about 10 minutes;
# BENCH_QUICK=1 for a one-minute smoke run). Prints one table and writes it to
# build/bench/results.md (raw runs in build/bench/results.json).
# Knobs (environment): see the docstring of bench/harness.py.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
make -s "$BUILD/bench/lockbench" "$BUILD/bench/forkbench" "$BUILD/bench/membench"
# The agent and the command: rebuilt when their sources changed; if that build
# fails but older binaries exist, measure those (the table names the agent's hash).
for prog in "$BUILD/libforkwatch.so" "$BUILD/forkwatch"; do
    case "$prog" in
        *.so) [ -n "${FORKWATCH_AGENT:-}" ] && continue ;;
        *) [ -n "${FORKWATCH_BIN:-}" ] && continue ;;
    esac
    if ! make -s "$prog"; then
        [ -e "$prog" ] || { echo "bench: cannot build $prog" >&2; exit 3; }
        echo "bench: warning: rebuilding $prog failed; measuring the existing one" >&2
    fi
done

# The harness itself runs on Debian's Python (never under the agent).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" bench/harness.py
