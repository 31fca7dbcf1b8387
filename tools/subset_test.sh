#!/usr/bin/env bash
# Build and run a test binary from a subset of the tree, so that work in
# progress elsewhere cannot break it.
#   tools/subset_test.sh OUTDIR "src files..." "test files..." [filter...]
# Example:
#   tools/subset_test.sh /tmp/t-data "src/core/*.c src/data/*.c src/io/*.c" "tests/test_data.c"
set -euo pipefail
out=$1; srcs=$2; tests=$3; shift 3
mkdir -p "$out"
grep -ho '^ENT_TEST([a-z0-9_]*)' $tests | sed 's/^ENT_TEST(\(.*\))/X(\1)/' > "$out/test_list.h"
obl=/usr/lib/x86_64-linux-gnu/openblas-openmp
gcc -std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter -fopenmp -D_POSIX_C_SOURCE=200809L \
    -fsanitize=address,undefined -fno-omit-frame-pointer \
    -Iinclude -Isrc -Itests -I"$out" -DENT_CLI_DEFAULT='"build/entropic"' \
    $srcs tests/runner.c $tests -o "$out/run_tests" -L$obl -Wl,-rpath,$obl -lopenblas -lz -lm
"$out/run_tests" "$@"
