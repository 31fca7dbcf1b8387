/* exp_flat.c — flatness and Hessian experiments: the Replicated-SGD
 * paper's local energy and local entropy of the minima found by SGD,
 * Entropy-SGD and Replicated-SGD (Pittorino et al., ICLR 2021), the
 * Entropy-SGD paper's Hessian spectra (its Figures 1 and 3), and `tiny`,
 * the experiment of the tests. Each run is followed by the analysis
 * command of `post`, on its final checkpoint. */
#include "reproduce/exp.h"

/* Replicated-SGD paper: one network, one budget, the sacreddnn schedules
 * (Nesterov 0.9, weight decay 5e-4, lr 0.1; rSGD's coupling from its
 * automatic g0, grown exponentially; Entropy-SGD at L = 5 with the epochs
 * cut by L, so all three see equal gradient counts). The paper's tables
 * could not be read for our notes: its numbers are "not reported" here. */
#define RSGD_BASE "--lr 0.1 --momentum 0.9 --nesterov --weight-decay 5e-4"
#define FLAT_ENERGY                                                                                                   \
    "flatness --checkpoint {run}/checkpoint.safetensors --dataset fashion-mnist --measure local-energy "           \
    "--train-subset 2000 --test-subset 2000 --out {run}/local-energy"
#define FLAT_ENTROPY                                                                                                  \
    "flatness --checkpoint {run}/checkpoint.safetensors --dataset fashion-mnist --measure local-entropy "          \
    "--train-subset 1000 --out {run}/local-entropy"

const repro_exp repro_rsgd_flatness = {
    .name = "rsgd-flatness",
    .what = "Replicated-SGD paper: local energy and local entropy of the minima of SGD, Entropy-SGD and rSGD",
    .data = "Fashion-MNIST, LeNet",
    .paper_data = "CIFAR-10 / Tiny ImageNet with ResNets and EfficientNets",
    .metric = "test_error",
    .common = "--model lenet --dataset fashion-mnist --batch-size 128",
    .paper_set = "--dataset cifar10",
    .short_set = "--train-subset 10000 --val-split 1000",
    .paper_val = "--val-split 5000",
    .post = {FLAT_ENERGY, FLAT_ENTROPY},
    .post_done = {"local-energy/local_energy.csv", "local-entropy/local_entropy.csv"},
    .differs = "LeNet on Fashion-MNIST stands in for the paper's ResNets on CIFAR-10: the flatness ranking of "
               "the three minima is what compares, not the values.",
    .n_arms = 3,
    .arms = {
        {"sgd", "--optimizer sgd " RSGD_BASE, "--epochs 100 --eval-every 5", "--epochs 10 --eval-every 2", {0}},
        {"entropy-sgd",
         "--optimizer entropy-sgd --L 5 --gamma0 1e-4 --gamma1 1e-3 --sgld-lr 0.1 --noise 1e-4 "
         "--inner-weight-decay 1e-4 --lr 1",
         "--epochs 100 --eval-every 5", "--epochs 10 --eval-every 2", {0}},
        {"replicated-sgd", "--optimizer replicated-sgd --replicas 3 --coupling-auto --coupling-schedule exp " RSGD_BASE,
         "--epochs 100 --eval-every 5", "--epochs 10 --eval-every 2", {0}},
    },
};

/* Figure 1: the Hessian spectrum of small-LeNet (Adam, 2.4% test error)
 * and of small-mnistfc (momentum SGD, 2.5%), by stochastic Lanczos
 * quadrature on the first 1000 training samples (the exact spectrum of
 * small-LeNet needs 18 GB). */
#define HESSIAN_SLQ(DATA)                                                                                             \
    "hessian --checkpoint {run}/checkpoint.safetensors " DATA " --method slq --samples 1000 --out {run}/hessian"

const repro_exp repro_hessian_fig1 = {
    .name = "hessian-fig1",
    .what = "Entropy-SGD paper, Figure 1: Hessian spectra of small-LeNet and small-mnistfc",
    .short_s = 210, /* with its analysis: small-LeNet 13 s + 395 s, small-mnistfc 2 s + 9 s */
    .data = "Fashion-MNIST",
    .paper_data = "MNIST",
    .metric = "test_error",
    .common = "--dataset fashion-mnist --batch-size 128",
    .paper_set = "--dataset mnist",
    .short_set = "--train-subset 10000 --val-split 1000",
    .paper_val = "--val-split 5000",
    .post = {HESSIAN_SLQ("--dataset fashion-mnist")},
    .post_done = {"hessian/summary.json"},
    .differs = "Fashion-MNIST stands in for MNIST: the shape of the spectrum (the peak at zero, the tails) is "
               "what compares.",
    .n_arms = 2,
    .arms = {
        {"small-lenet-adam", "--model small-lenet --optimizer adam --lr 1e-3", "--epochs 20 --eval-every 2",
         "--epochs 5 --eval-every 1", {1, 2.4, -1, 0}},
        {"small-mnistfc-sgd", "--model small-mnistfc --optimizer sgd --lr 0.1 --momentum 0.9",
         "--epochs 20 --eval-every 2", "--epochs 5 --eval-every 1", {1, 2.5, -1, 0}},
    },
};

/* Figure 3: the char-LSTM of the Hessian study (48 units, 32,640
 * parameters), trained with Adam. */
const repro_exp repro_hessian_fig3 = {
    .name = "hessian-fig3",
    .what = "Entropy-SGD paper, Figure 3: Hessian spectrum of the small char-LSTM",
    .post = {"hessian --checkpoint {run}/checkpoint.safetensors --dataset text --text {text} --method slq "
             "--samples 200 --out {run}/hessian"},
    .post_done = {"hessian/summary.json"},
    TEXT_EXP("--model tiny-charlstm"),
    .n_arms = 1,
    .arms = {
        {"adam", "--optimizer adam --lr 0.002", "--epochs 20 --eval-every 1", "--epochs 2 --eval-every 0.5", {0}},
    },
};

/* The tests' experiment: the tiny network on a few hundred samples, a
 * fraction of an epoch per run, then a small local-energy measurement. */
const repro_exp repro_tiny = {
    .name = "tiny",
    .what = "no paper: the end-to-end check of this command (tests/test_reproduce.c)",
    .data = "Fashion-MNIST (or --data-dir DIR)",
    .paper_data = "MNIST",
    .metric = "test_error",
    .common = "--model tiny-mnistfc --dataset fashion-mnist --batch-size 32",
    .paper_set = "--dataset mnist",
    .short_set = "--train-subset 160 --val-split 32 --test-subset 64",
    .paper_val = "--val-split 5000",
    .post = {"flatness --checkpoint {run}/checkpoint.safetensors --dataset fashion-mnist --measure local-energy "
             "--sigma 0,0.1 --samples 2 --train-subset 64 --test-subset 64 --out {run}/local-energy"},
    .post_done = {"local-energy/local_energy.csv"},
    .differs = "A few hundred samples: a check of the machinery, not a result.",
    .short_s = 0.3,
    .n_arms = 2,
    .arms = {
        {"sgd", "--optimizer sgd --lr 0.1", "--epochs 2 --eval-every 1", "--epochs 1 --eval-every 0.5", {0}},
        {"entropy-sgd", "--optimizer entropy-sgd --L 2", "--epochs 2 --eval-every 1", "--epochs 1 --eval-every 0.5",
         {0}},
    },
};
