#!/usr/bin/env bash
# kill.sh — the whole kill -9 sweep: a small SGD run killed at every fault
# point it reaches (inside each of its 9 atomic writes: after the open,
# half-way, written, renamed; after each of its 12 updates), each resumed
# to the uninterrupted run's bits (tests/test_kill.c; the suite runs 14
# chosen points). About 48 runs of a second or less.
set -euo pipefail
cd "$(dirname "$0")/.."
make -j2 all
ENT_KILL_SWEEP=1 OMP_NUM_THREADS=2 build/run_tests kill9_sgd 2>&1 | grep -v '^Killed$'
