/* bench/hvp.c — the cost of a Hessian-vector product and of the top-20
 * eigenvalues, beside one gradient, on a preset with random weights and
 * N(0,1) inputs (the timings do not depend on the data).
 *
 *   build:  make bench-hvp            (-> $(BUILD)/bench_hvp)
 *   run:    bench/hvp.sh              (this and PyTorch in the same run)
 *   usage:  bench_hvp PRESET SAMPLES REPS [TOP_K]
 *
 * Prints one line per measurement, "name seconds", medians over REPS:
 *   grad_f32   the library's float gradient (ent_model_run, eval mode,
 *              chunks of 128): what training pays per sample set
 *   rgrad_f64  the analysis engine's gradient (the R-operator's primal
 *   rgrad_f32  pass, same chunks), in double and in float
 *   hvp_f64    one exact Hv (R-operator), in double and in float
 *   hvp_f32
 *   topk       the TOP_K largest eigenvalues by Lanczos on the float
 *              engine (each within residual 1e-3 |lambda_max|), with its
 *              step count (= HVPs) and largest residual */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof(double), cmp);
    return t[n / 2];
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_hvp PRESET SAMPLES REPS [TOP_K]\n");
        return 2;
    }
    const char *preset = argv[1];
    const int64_t n = atoll(argv[2]), B = 128;
    const int reps = atoi(argv[3]), k = argc > 4 ? atoi(argv[4]) : 20;
    ent_model *m = NULL;
    if (ent_model_new(&m, preset, NULL, 1, 28, 28, 10, B) != ENT_OK) {
        fprintf(stderr, "%s\n", ent_last_error());
        return 2;
    }
    const int64_t P = ent_model_n_param(m);
    float *theta = ent_alloc(sizeof(float) * (size_t)P), *g = ent_alloc(sizeof(float) * (size_t)P);
    float *buf = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(m) + 1));
    float *x = ent_alloc(sizeof(float) * (size_t)(n * 784));
    int32_t *y = ent_alloc(sizeof(int32_t) * (size_t)n);
    double *v = malloc(sizeof(double) * (size_t)P), *hv = malloc(sizeof(double) * (size_t)P);
    double *gd = malloc(sizeof(double) * (size_t)P), t[64];
    ent_model_init_params(m, theta, buf, 1);
    ent_rng r;
    ent_rng_init(&r, 1, 7);
    ent_rng_normal_fill(&r, x, n * 784, 1.0f);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)ent_rng_below(&r, 10);
    for (int64_t i = 0; i < P; i++) v[i] = ent_rng_normal(&r);
    ent_nethess *h = NULL, *hf = NULL; /* double and float engines */
    ent_nethess_opts no = {.batch = B}, nf = {.batch = B, .single = 1};
    if (ent_nethess_new(&h, m, theta, buf, x, y, n, &no) != ENT_OK ||
        ent_nethess_new(&hf, m, theta, buf, x, y, n, &nf) != ENT_OK) {
        fprintf(stderr, "%s\n", ent_last_error());
        return 2;
    }
    ent_hvp op = ent_nethess_hvp(h), opf = ent_nethess_hvp(hf);
    printf("preset %s params %lld samples %lld threads %d\n", preset, (long long)P, (long long)n, ent_get_threads());
    for (int it = 0; it < reps + 1 && it < 64; it++) { /* first run: warm-up */
        const double t0 = ent_time_seconds();
        for (int64_t s = 0; s < n; s += B)
            ent_model_run(m, theta, buf, x + s * 784, y + s, n - s < B ? n - s : B, 0, NULL, g, NULL, NULL);
        t[it] = ent_time_seconds() - t0;
    }
    printf("grad_f32 %.6f\n", median(t + 1, reps));
    const ent_hvp *ops[2] = {&op, &opf};
    ent_nethess *hs[2] = {h, hf};
    const char *tag[2] = {"f64", "f32"};
    for (int e = 0; e < 2; e++) {
        for (int it = 0; it < reps + 1 && it < 64; it++) {
            const double t0 = ent_time_seconds();
            ent_nethess_grad(hs[e], gd, NULL, NULL);
            t[it] = ent_time_seconds() - t0;
        }
        printf("rgrad_%s %.6f\n", tag[e], median(t + 1, reps));
        for (int it = 0; it < reps + 1 && it < 64; it++) {
            const double t0 = ent_time_seconds();
            ent_hvp_apply(ops[e], v, hv);
            t[it] = ent_time_seconds() - t0;
        }
        printf("hvp_%s %.6f\n", tag[e], median(t + 1, reps));
    }
    if (k > 0) { /* as `entropic hessian --method lanczos` does by default: float HVPs */
        ent_lanczos_opts o = ent_lanczos_opts_default();
        o.k = k, o.tol = 1e-3, o.max_steps = 300, o.top_only = 1;
        double *top = malloc(sizeof(double) * (size_t)k * 4), *tr = top + k, *bot = tr + k, *br = bot + k;
        int got = 0, steps = 0;
        const double t0 = ent_time_seconds();
        ent_status s = ent_lanczos_extremes(&opf, &o, top, tr, bot, br, &got, &steps, NULL);
        const double dt = ent_time_seconds() - t0;
        double worst = 0;
        for (int i = 0; i < got; i++) worst = tr[i] > worst ? tr[i] : worst;
        printf("topk %.6f steps %d lambda_max %.6g lambda_k %.6g max_residual %.2e status %d\n", dt, steps, top[0],
               top[got - 1], worst, s);
        free(top);
    }
    ent_nethess_free(hf);
    ent_nethess_free(h);
    ent_model_free(m);
    return 0;
}
