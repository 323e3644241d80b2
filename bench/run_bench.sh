#!/bin/sh
# make bench: build what the benchmarks need, then run them all (about 10 minutes;
# BENCH_QUICK=1 for a one-minute smoke run). Prints one table and writes it to
# build/bench/results.md (raw runs in build/bench/results.json).
# Knobs (environment): see the docstring of bench/harness.py.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PROGS="$BUILD/bench/lockbench $BUILD/bench/forkbench $BUILD/bench/membench"
if [ -z "${FORKWATCH_AGENT:-}" ]; then
    PROGS="$BUILD/libforkwatch.so $PROGS"
fi
if [ -z "${FORKWATCH_BIN:-}" ]; then
    PROGS="$BUILD/forkwatch $PROGS"
fi
# shellcheck disable=SC2086
make -s $PROGS

# The harness itself runs on Debian's Python (never under the agent).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" bench/harness.py
