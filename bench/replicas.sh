#!/usr/bin/env bash
# replicas.sh — throughput of replicated-sgd with y = 1, 2, 4 replicas, in
# one process and as one replica per MPI rank, on mnistfc / Fashion-MNIST
# (batch 128). Prints a Markdown table for bench/RESULTS.md.
#
#   bench/replicas.sh [ENTROPIC]      default build/entropic
#   STEPS=60 REPS=2 CORES=2 bench/replicas.sh
#
# Two measures of the same runs:
#  - samples/s: mini-batch gradients x batch / training wall time
#    (metrics.csv's wall_seconds: data loading excluded);
#  - CPU cost: CPU seconds (user + sys of every process) per 1000 samples,
#    from the difference between a run of STEPS and one of STEPS/4 steps
#    per replica (so loading and start-up cancel). On a shared machine the
#    wall clock depends on what the neighbours do; the CPU cost much less.
# Every process runs one thread (OpenMP barriers degrade badly when a
# shared machine deschedules a thread). In one process the y replicas step
# one after the other on one core; under MPI each rank is a replica, on
# min(y, CORES) cores (4 ranks on 2 cores oversubscribe). Efficiency
# relative to y x one replica: y replicas do y times the gradients of one,
# so the ideal wall rate is (cores used) x the one-replica rate and the
# ideal CPU cost per sample is the one-replica cost; 1.00 means the
# coupling (the centre's mean, MPI_Allreduce, waiting in it) costs nothing.
# The last rows couple every 4th step (--coupling-every 4, sacreddnn's
# gtime): one MPI_Allreduce of the weights per 4 steps instead of each.
# Each configuration runs REPS times, interleaved; the best is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
E=${1:-build/entropic}
STEPS=${STEPS:-60}
REPS=${REPS:-2}
CORES=${CORES:-2}
B=128
OUT=$(mktemp -d /tmp/entropic-bench-replicas.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
common="--model mnistfc --dataset fashion-mnist --optimizer replicated-sgd --batch-size $B
        --test-subset 100 --epochs 1 --eval-every 10 --quiet --seed 1"

# run MODE Y STEPS DIR: prints "wall_s grad_evals cpu_s"
run() {
    local mode=$1 y=$2 steps=$3 dir=$4
    local cmd=($E train $common --train-subset $((steps * B)) --replicas "$y" --threads 1 --out "$dir")
    [ "$mode" = mpi-gtime4 ] && cmd+=(--coupling-every 4)
    [ "$mode" != inproc ] && cmd=(env OMP_NUM_THREADS=1 $MPIRUN -np "$y" "${cmd[@]}")
    /usr/bin/time -o "$dir.time" -f "%U %S" "${cmd[@]}" >/dev/null 2>&1
    local cpu
    cpu=$(tail -1 "$dir.time" | awk '{ print $1 + $2 }')
    tail -1 "$dir/metrics.csv" | awk -F, -v c="$cpu" '{ print $7, $8, c }'
}

declare -A sps cost
modes="inproc"
if command -v mpirun >/dev/null; then modes="inproc mpi mpi-gtime4"; fi
short=$((STEPS / 4))
for rep in $(seq "$REPS"); do
    for mode in $modes; do
        for y in 1 2 4; do
            read -r w g c < <(run "$mode" "$y" "$STEPS" "$OUT/$mode-$y-$rep-l")
            read -r _ g2 c2 < <(run "$mode" "$y" "$short" "$OUT/$mode-$y-$rep-s")
            k="$mode-$y"
            s=$(awk -v g=$g -v w=$w -v b=$B 'BEGIN { printf "%.0f", g * b / w }')
            ms=$(awk -v g=$g -v g2=$g2 -v c=$c -v c2=$c2 -v b=$B 'BEGIN { printf "%.4f", (c - c2) / ((g - g2) * b) * 1000 }')
            if [ -z "${sps[$k]:-}" ] || [ "$s" -gt "${sps[$k]}" ]; then sps[$k]=$s; fi
            if [ -z "${cost[$k]:-}" ] || awk -v a=$ms -v b=${cost[$k]} 'BEGIN { exit !(a < b) }'; then cost[$k]=$ms; fi
        done
    done
done

echo "| mode | replicas y | cores used | samples/s (wall) | vs y x one replica (wall) | CPU s per 1000 samples | vs y x one replica (CPU) |"
echo "|---|---|---|---|---|---|---|"
for mode in $modes; do
    for y in 1 2 4; do
        if [ "$mode" = inproc ]; then k=1; m="one process"; else k=$((y < CORES ? y : CORES)); m="MPI, $y rank(s)"; fi
        [ "$mode" = mpi-gtime4 ] && m="$m, --coupling-every 4"
        # wall: ideal is k x the one-replica rate (k cores busy); CPU: ideal is the one-replica cost
        awk -v m="$m" -v y=$y -v k=$k -v s=${sps[$mode-$y]} -v s1=${sps[$mode-1]} -v c=${cost[$mode-$y]} -v c1=${cost[$mode-1]} \
            'BEGIN { printf "| %s | %d | %d | %d | %.2f | %.3f | %.2f |\n", m, y, k, s, s / (k * s1), c, c1 / c }'
    done
done
