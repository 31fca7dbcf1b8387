/* bench/layers.c — where a training step's time goes, layer by layer: the
 * forward and backward of every layer of a preset, the loss and the SGD
 * update (momentum 0.9, Nesterov), at 1 and then 2 threads, batch 128,
 * N(0,1) inputs and uniform labels, fresh weights. It runs the steps of
 * ent_model_run (a layer, or a fused batch-norm/ReLU/dropout block:
 * layers/fused.h) with a clock around each.
 *
 *   build:  make bench-layers        (-> $(BUILD)/bench_layers)
 *   usage:  OMP_WAIT_POLICY=passive bench_layers [PRESET] [STEPS] [unfused|gemm=A,B]
 *           (mnistfc, 200; the policy the entropic binary sets itself;
 *           "unfused": every layer on its own, as before the blocks;
 *           "gemm=blas,avx2": two GEMM backends in turn, ALTERNATE steps
 *           each, timed apart: both see the same minutes of this VM's
 *           drifting speed, which separate runs do not)
 *
 * Prints milliseconds per step, the mean over STEPS after 20 warm-up
 * steps. Times of neighbouring calls shift into each other (a layer that
 * leaves the cache cold pays in the next one), and this machine's speed
 * drifts: compare two trees by running their builds in turn, several
 * times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_internal.h"
#include "entropic.h"
#include "models/model_internal.h"
#include "optim/optim_internal.h"

enum { BATCH = 128, WARMUP = 20, ALTERNATE = 20 };

enum { MAX_NODES = 256 }; /* the presets have at most a few dozen nodes */

typedef struct {
    double fwd[MAX_NODES], bwd[MAX_NODES], update, step;
} times;

/* One step; adds its times to *acc when acc != NULL. A fused block's time
 * is booked on its first node; the loss is the last node. */
static void step(ent_model *m, float *theta, float *buffers, float *grad, float *mom,
                 const float *x, const int32_t *y, ent_rng *rng, const ent_pieces *pieces,
                 times *acc) {
    times t = {0};
    double t0 = ent_time_seconds(), c;
    ent_ctx ctx = {.train = 1, .n = BATCH, .rng = rng, .buffers = buffers, .scratch = m->scratch,
                   .y = y};
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        c = ent_time_seconds();
        ent_model_forward_at(m, i, span, theta, x, &ctx);
        t.fwd[i] = ent_time_seconds() - c;
    }
    int *first = m->first;
    for (int last = m->n_layers - 1; last >= 0; last = first[last] - 1) {
        c = ent_time_seconds();
        ent_model_backward_at(m, first[last], last, theta, x, grad, &ctx);
        t.bwd[first[last]] = ent_time_seconds() - c;
    }
    c = ent_time_seconds();
    ent_sgd_apply(theta, grad, mom, m->n_param, 0.01f, 0.0f, 0.9f, 1.0f, 1, pieces); /* dampening 0 */
    t.update = ent_time_seconds() - c;
    t.step = ent_time_seconds() - t0;
    if (!acc) return;
    for (int i = 0; i < m->n_layers; i++) acc->fwd[i] += t.fwd[i], acc->bwd[i] += t.bwd[i];
    acc->update += t.update, acc->step += t.step;
}

static void report(const ent_model *m, const char *preset, int threads, int steps, const times *t,
                   const char *label) {
    const double ms = 1e3 / steps;
    printf("%s, %d thread%s%s%s: step %.3f ms (%.0f samples/s)\n", preset, threads,
           threads > 1 ? "s" : "", label ? ", gemm " : "", label ? label : "", t->step * ms,
           BATCH * steps / t->step);
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        char kinds[64] = "";
        for (int k = 0; k < span; k++)
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", k ? "+" : "",
                     m->layers[i + k].ops->kind_name);
        printf("  %-2d %-8s %-24s fwd %7.3f  bwd %7.3f\n", i, m->layers[i].name, kinds,
               t->fwd[i] * ms, t->bwd[i] * ms);
    }
    printf("  SGD update %.3f ms\n", t->update * ms);
}

int main(int argc, char **argv) {
    const char *preset = argc > 1 ? argv[1] : "mnistfc";
    const int steps = argc > 2 ? atoi(argv[2]) : 200;
    ent_model *m;
    if (steps < 1 || ent_model_new(&m, preset, NULL, 1, 28, 28, 10, BATCH) != ENT_OK) {
        fprintf(stderr, "usage: bench_layers [PRESET] [STEPS >= 1] [unfused] (%s)\n",
                ent_last_error());
        return 2;
    }
    if (m->n_layers > MAX_NODES || ent_model_set_fused(m, !(argc > 3 && strcmp(argv[3], "unfused") == 0)) != ENT_OK ||
        ent_model_train_workspace(m) != ENT_OK) {
        fprintf(stderr, "bench_layers: %s has too many nodes or no memory\n", preset);
        return 2;
    }
    const int64_t P = ent_model_n_param(m);
    float *theta = ent_alloc(sizeof(float) * (size_t)P), *grad = ent_alloc(sizeof(float) * (size_t)P);
    float *mom = ent_alloc(sizeof(float) * (size_t)P);
    float *buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(m) + 1));
    float *x = ent_alloc(sizeof(float) * BATCH * 784);
    int32_t *y = ent_alloc(sizeof(int32_t) * BATCH);
    if (!theta || !grad || !mom || !buffers || !x || !y) {
        fprintf(stderr, "bench_layers: out of memory\n");
        return 1;
    }
    int64_t ends[2 * MAX_NODES];
    int n_tensors;
    const ent_tensor_info *tensors = ent_model_params(m, &n_tensors);
    for (int k = 0; k < n_tensors; k++) ends[k] = tensors[k].offset + tensors[k].numel;
    const ent_pieces pieces = {P, n_tensors, ends}; /* as the network objective's */
    ent_rng rng;
    ent_rng_init(&rng, 1, 1);
    ent_rng_normal_fill(&rng, x, BATCH * 784, 1.0f);
    for (int i = 0; i < BATCH; i++) y[i] = (int32_t)ent_rng_below(&rng, 10);
    ent_gemm_backend variant[2] = {ent_gemm_active_backend(), ent_gemm_active_backend()};
    int n_variants = 1;
    if (argc > 3 && strncmp(argv[3], "gemm=", 5) == 0) {
        char a[32] = "", b[32] = "";
        if (sscanf(argv[3] + 5, "%31[^,],%31s", a, b) != 2 || !ent_gemm_backend_parse(a, &variant[0]) ||
            !ent_gemm_backend_parse(b, &variant[1])) {
            fprintf(stderr, "bench_layers: gemm=A,B takes two of blas, avx512, avx2, naive\n");
            return 2;
        }
        n_variants = 2;
    }
    for (int threads = 1; threads <= 2; threads++) {
        ent_set_threads(threads);
        ent_model_init_params(m, theta, buffers, 1);
        ent_vec_zero(mom, P);
        times t[2];
        int counted[2] = {0, 0};
        memset(t, 0, sizeof t);
        for (int s = 0; s < WARMUP + n_variants * steps; s++) {
            const int v = n_variants > 1 && (s / ALTERNATE) % 2;
            ent_gemm_set_backend(variant[v]);
            step(m, theta, buffers, grad, mom, x, y, &rng, &pieces, s < WARMUP ? NULL : &t[v]);
            counted[v] += s >= WARMUP;
        }
        ent_gemm_set_backend(ENT_GEMM_AUTO);
        for (int v = 0; v < n_variants; v++)
            report(m, preset, threads, counted[v], &t[v],
                   n_variants > 1 ? ent_gemm_backend_name(variant[v]) : NULL);
    }
    ent_model_free(m);
    return 0;
}
