#!/usr/bin/env bash
# demo.sh — the main job: train mnistfc on Fashion-MNIST with Entropy-SGD and
# with the paper's baseline (Adam) for the same budget of EFFECTIVE epochs
# (equal numbers of mini-batch gradients), then print them side by side.
# Settings follow the Entropy-SGD paper's MNIST experiments and its Adam
# baseline (docs/algorithms.md §7), scaled to a budget that runs in a few
# minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -j2 build/entropic
EPOCHS=${EPOCHS:-20}          # effective epochs for each optimizer
THREADS=${THREADS:-0}         # 0 = all cores
OUT=${OUT:-runs/demo}
BIN=${BIN:-build/entropic}
common=(--model mnistfc --dataset fashion-mnist --epochs "$EPOCHS" --batch-size 128
        --dropout 0.15 --seed 42 --threads "$THREADS" --eval-every 1
        --force)                # the demo starts over in $OUT each time

echo "== Adam (the paper's MNIST baseline: lr 1e-3, x0.2 at 60% of the budget)"
"$BIN" train "${common[@]}" --optimizer adam --lr 1e-3 \
    --lr-milestones "$(awk "BEGIN{print $EPOCHS*0.6}")" --lr-factor 0.2 --out "$OUT/adam"

echo "== Entropy-SGD (paper: L=20, gamma0=1e-4, scoping 1e-3, eta'=0.1, eta=1 then x0.1)"
"$BIN" train "${common[@]}" --optimizer entropy-sgd --L 20 --lr 1 --inner-momentum 0.9 --inner-nesterov \
    --lr-milestones "$(awk "BEGIN{print $EPOCHS*0.6}")" --lr-factor 0.1 --out "$OUT/entropy-sgd"

echo
echo "== Side by side (effective epochs: Entropy-SGD counts L mini-batches per update)"
"$BIN" compare "$OUT/adam" "$OUT/entropy-sgd" --plot "$OUT/compare.png"
