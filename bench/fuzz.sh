#!/usr/bin/env bash
# fuzz.sh SECONDS TARGET... — long fuzzing (`make fuzz FUZZ_SECONDS=N`):
# each target N seconds (or FUZZ_RUNS executions, if set) from a working
# corpus in build-fuzz/corpus/TARGET, seeded from tests/fuzz/corpus/TARGET;
# then one line per target: executions, time, findings. A finding (crash,
# sanitizer report, leak, hang past 10 s, an allocation past 256 MB) is
# kept in build-fuzz/findings/TARGET/: add it to tests/fuzz/corpus/TARGET/
# with the fix, so the regression run (make check-fuzz) replays it forever.
# Run it niced on a shared machine: `nice -n 19 make fuzz ...`.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
secs=$1
shift
limit=(-max_total_time="$secs")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
printf '%-12s %12s %8s %10s  %s\n' target execs seconds execs/s findings
status=0
for t in "$@"; do
    mkdir -p "$B/corpus/$t" "$B/findings/$t"
    cp -n tests/fuzz/corpus/$t/* "$B/corpus/$t/" 2>/dev/null
    before=$(ls "$B/findings/$t" | wc -l)
    start=$(date +%s.%N)
    "$B/fuzz_$t" "${limit[@]}" -timeout=10 -malloc_limit_mb=256 -print_final_stats=1 \
        -artifact_prefix="$B/findings/$t/" "$B/corpus/$t" > "$B/fuzz_$t.log" 2>&1 || status=1
    el=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$t.log" | tail -1)
    found=$(( $(ls "$B/findings/$t" | wc -l) - before ))
    printf '%-12s %12s %8.0f %10.0f  %s\n' "$t" "${execs:-?}" "$el" "$(awk -v n="${execs:-0}" -v t="$el" 'BEGIN { print n / t }')" \
        "$found$( [ "$found" -gt 0 ] && echo " (in $B/findings/$t/, log $B/fuzz_$t.log)")"
done
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
exit $status
