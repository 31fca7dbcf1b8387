#!/usr/bin/env bash
# regress.sh TARGET... — the fuzz regression run of `make check-fuzz` (in
# make test): each target runs every input of its corpus under ASan and
# UBSan, then makes FUZZ_REGRESS_RUNS (default 3000) mutations of it. New
# inputs go to a temporary folder, never into tests/fuzz/corpus/. Exit 1
# if any target crashed, leaked, hung (-timeout) or asked for more memory
# than its input explains (-malloc_limit_mb); the crashing input is named.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build-fuzz}
runs=${FUZZ_REGRESS_RUNS:-3000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for t in "$@"; do
    mkdir -p "$tmp/$t" "$tmp/$t.art"
    n=$(ls tests/fuzz/corpus/$t | wc -l)
    # libFuzzer runs every corpus input first (its INIT), then mutates
    if ! "$B/fuzz_$t" -runs="$runs" -timeout=10 -malloc_limit_mb=256 -print_final_stats=1 \
            -artifact_prefix="$tmp/$t.art/" "$tmp/$t" tests/fuzz/corpus/$t > "$tmp/$t.log" 2>&1; then
        echo "fuzz $t: FAILED (input kept in $(ls "$tmp/$t.art" | head -1); log follows)"
        tail -40 "$tmp/$t.log"
        mkdir -p "$B/findings/$t" && cp "$tmp/$t.art/"* "$B/findings/$t/" 2>/dev/null
        fail=1
        continue
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log" | tail -1)
    echo "fuzz $t: $n corpus inputs and ${execs:-?} executions, no finding"
done
exit $fail
