/* bench/esgd_overhead.c — Entropy-SGD's own cost beyond its L gradient
 * evaluations: one outer step (L = 20, the paper's MNIST settings) against
 * 20 x (next mini-batch + forward/backward) on the same network objective,
 * batch 128, synthetic data (N(0,1) pixels, uniform labels), the two
 * alternating 20 times in one process so that this machine's drifting
 * speed hits both alike.
 *
 *   build:  make bench-esgd-overhead     (-> $(BUILD)/bench_esgd_overhead)
 *   usage:  OMP_WAIT_POLICY=passive bench_esgd_overhead [PRESET] [THREADS]
 *           (mnistfc, 2)
 *
 * Prints the mean time of each and the overhead in percent (issue 3's
 * target: 5%). bench/RESULTS.md has the numbers and the profile. */
#include <stdio.h>
#include <stdlib.h>

#include "entropic.h"

enum { BATCH = 128, L = 20, ROUNDS = 20, SET = 16 * BATCH };

int main(int argc, char **argv) {
    const char *preset = argc > 1 ? argv[1] : "mnistfc";
    const int threads = argc > 2 ? atoi(argv[2]) : 2;
    ent_model *m = NULL;
    if (threads < 1 || ent_model_new(&m, preset, NULL, 1, 28, 28, 10, BATCH) != ENT_OK) {
        fprintf(stderr, "usage: bench_esgd_overhead [PRESET] [THREADS >= 1] (%s)\n",
                ent_last_error());
        return 2;
    }
    ent_set_threads(threads);
    ent_dataset d = {.n = SET, .c = 1, .h = 28, .w = 28, .n_classes = 10};
    d.x = ent_alloc(sizeof(float) * SET * 784);
    d.y = ent_alloc(sizeof(int32_t) * SET);
    const int64_t P = ent_model_n_param(m);
    float *theta = ent_alloc(sizeof(float) * (size_t)P), *grad = ent_alloc(sizeof(float) * (size_t)P);
    float *buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(m) + 1));
    ent_netobj *net = NULL;
    ent_optim *opt = NULL;
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = L;
    if (!d.x || !d.y || !theta || !grad || !buffers ||
        ent_netobj_new(&net, m, buffers, &d, BATCH, 1) != ENT_OK ||
        ent_optim_new(&opt, &p, P, 1) != ENT_OK) {
        fprintf(stderr, "bench_esgd_overhead: %s\n", ent_last_error());
        return 1;
    }
    ent_rng r;
    ent_rng_init(&r, 1, 7);
    ent_rng_normal_fill(&r, d.x, SET * 784, 1.0f);
    for (int i = 0; i < SET; i++) d.y[i] = (int32_t)ent_rng_below(&r, 10);
    ent_model_init_params(m, theta, buffers, 1);
    const ent_objective obj = ent_netobj_objective(net);
    double plain = 0.0, esgd = 0.0, loss;
    for (int round = 0; round <= ROUNDS; round++) { /* round 0 warms up */
        const double t0 = ent_time_seconds();
        for (int l = 0; l < L; l++) {
            ent_objective_next(&obj);
            ent_objective_eval(&obj, theta, grad, &loss);
        }
        const double t1 = ent_time_seconds();
        if (ent_optim_step(opt, &obj, theta, 1.0, &loss) != ENT_OK) {
            fprintf(stderr, "bench_esgd_overhead: %s\n", ent_last_error());
            return 1;
        }
        const double t2 = ent_time_seconds();
        if (round > 0) plain += t1 - t0, esgd += t2 - t1;
    }
    printf("%s, %d thread%s: %d x (batch + forward/backward) %.2f ms, Entropy-SGD step "
           "%.2f ms: overhead %.1f%%\n", preset, threads, threads > 1 ? "s" : "", L,
           plain / ROUNDS * 1e3, esgd / ROUNDS * 1e3, (esgd / plain - 1.0) * 100.0);
    ent_optim_free(opt);
    ent_netobj_free(net);
    ent_model_free(m);
    return 0;
}
