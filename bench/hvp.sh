#!/usr/bin/env bash
# bench/hvp.sh — entropic's Hessian-vector product and top-20 eigenvalues
# beside PyTorch's (double back-propagation, the same Lanczos), in one run
# so the ratios are comparable on this noisy shared machine.
#   BUILD=build THREADS=1 SAMPLES=1000 REPS=5 PRESETS="small-mnistfc small-lenet lenet" bench/hvp.sh
# Both sides get the same thread count, OMP_WAIT_POLICY=passive and the
# malloc settings of the PyTorch peer (src/cli/bench_torch.c). The eigenvalue rows run the
# same number of Lanczos steps in both (entropic's stopping point, float
# HVPs, residuals <= 1e-3 lambda_max). Times in ms except the top_s columns
# (seconds); h/g = one HVP over one gradient of the same precision (h/g32:
# our float HVP over the library's float training gradient).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}; T=${THREADS:-1}; N=${SAMPLES:-1000}; R=${REPS:-5}
PRESETS=${PRESETS:-"small-mnistfc small-lenet lenet"}
make -s BUILD="$B" bench-hvp
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T OMP_WAIT_POLICY=passive
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
printf "%-14s %7s | %8s %8s %8s %8s %8s %5s %5s | %8s %8s %5s %8s %8s %5s | %5s %8s %8s %8s\n" \
    preset params grad32 rgrad64 hvp64 rgrad32 hvp32 h/g32 h/g64 pt_g32 pt_h32 h/g pt_g64 pt_h64 h/g steps top_s pt_top32 pt_top64
for p in $PRESETS; do
    "$B/bench_hvp" "$p" "$N" "$R" 20 > /tmp/bench_hvp_ours.$$
    steps=$(awk '$1 == "topk" { print $4 }' /tmp/bench_hvp_ours.$$)
    /usr/bin/python3 bench/hvp_torch.py "$p" "$N" "$R" "$steps" > /tmp/bench_hvp_torch.$$
    o=/tmp/bench_hvp_ours.$$; t=/tmp/bench_hvp_torch.$$
    params=$(awk '$1 == "preset" { print $4 }' $o)
    awk -v p="$p" -v P="$params" -v g32="$(val grad_f32 $o)" -v r64="$(val rgrad_f64 $o)" -v h64="$(val hvp_f64 $o)" \
        -v r32="$(val rgrad_f32 $o)" -v h32="$(val hvp_f32 $o)" \
        -v tg32="$(val grad_f32 $t)" -v th32="$(val hvp_f32 $t)" -v tg64="$(val grad_f64 $t)" -v th64="$(val hvp_f64 $t)" \
        -v st="$steps" -v top="$(val topk $o)" -v tt32="$(val topk_f32 $t)" -v tt64="$(val topk_f64 $t)" 'BEGIN {
        printf "%-14s %7d | %8.2f %8.2f %8.2f %8.2f %8.2f %5.2f %5.2f | %8.2f %8.2f %5.2f %8.2f %8.2f %5.2f | %5d %8.2f %8.2f %8.2f\n",
            p, P, 1e3*g32, 1e3*r64, 1e3*h64, 1e3*r32, 1e3*h32, h32/g32, h64/r64, 1e3*tg32, 1e3*th32, th32/tg32,
            1e3*tg64, 1e3*th64, th64/tg64, st, top, tt32, tt64 }'
    grep topk $o | sed 's/^/    entropic: /'
    grep topk $t | sed 's/^/    pytorch:  /'
    rm -f $o $t
done
