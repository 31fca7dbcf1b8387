/* bench_ours.c — entropic's side of `entropic bench`: one preset on a
 * synthetic in-memory data set (no files needed), measured three ways at the
 * current thread count:
 *   train  ent_optim_step with SGD (lr 0.01, momentum 0.9, Nesterov) on the
 *          network objective: sampler copy, forward, backward, update;
 *   infer  ent_model_run in evaluation mode without gradient (loss and
 *          correct count of one batch, as ent_model_evaluate does);
 *   esgd   one Entropy-SGD outer step, the paper's MNIST settings with L
 *          inner steps (counted as L x batch samples).
 * bench/torch_bench.py does the same in PyTorch; keep the two in step. */
#include <stdio.h>

#include "cli/bench.h"

#define BENCH_SEED 1
#define BATCHES_IN_SET 16 /* the synthetic set: 16 batches (as torch_bench.py) */

typedef struct {
    ent_model *m;
    ent_dataset d;
    float *theta, *buffers;
    ent_netobj *net;
    ent_objective obj;
    ent_optim *opt;
    int64_t batch, pos; /* pos: the next inference batch */
    ent_rng rng;
} bench_net;

/* The preset on the input of its data (1x28x28 or 3x32x32), 10 classes. */
static ent_status new_model(bench_net *b, const char *preset) {
    int64_t c, h, w;
    ent_status s = ent_model_preset_input(preset, &c, &h, &w);
    if (s == ENT_OK) s = ent_model_new(&b->m, preset, NULL, c, h, w, 10, b->batch);
    if (s != ENT_OK) return ent_fail(s, "bench: %s", ent_last_error());
    b->d.c = c, b->d.h = h, b->d.w = w, b->d.n_classes = 10;
    return ENT_OK;
}

/* Synthetic data: N(0,1) pixels (the scale of normalised images), uniform labels. */
static ent_status new_data(bench_net *b) {
    ent_dataset *d = &b->d;
    int64_t per = d->c * d->h * d->w;
    d->n = BATCHES_IN_SET * b->batch;
    snprintf(d->name, sizeof d->name, "synthetic");
    d->x = ent_alloc(sizeof(float) * (size_t)(d->n * per));
    d->y = ent_alloc(sizeof(int32_t) * (size_t)d->n);
    if (!d->x || !d->y) return ent_fail(ENT_ENOMEM, "bench: out of memory for the data set");
    ent_rng r;
    ent_rng_init(&r, BENCH_SEED, 7);
    ent_rng_normal_fill(&r, d->x, d->n * per, 1.0f);
    for (int64_t i = 0; i < d->n; i++) d->y[i] = (int32_t)ent_rng_below(&r, (uint64_t)d->n_classes);
    return ENT_OK;
}

static void net_free(bench_net *b) {
    ent_optim_free(b->opt);
    ent_netobj_free(b->net);
    ent_free_aligned(b->theta);
    ent_free_aligned(b->buffers);
    ent_free_aligned(b->d.x);
    ent_free_aligned(b->d.y);
    ent_model_free(b->m);
}

static ent_status net_new(bench_net *b, const char *preset, int64_t batch) {
    *b = (bench_net){.batch = batch};
    ent_rng_init(&b->rng, BENCH_SEED, 3);
    ent_status s = new_model(b, preset);
    if (s == ENT_OK) s = new_data(b);
    if (s != ENT_OK) return s;
    b->theta = ent_alloc(sizeof(float) * (size_t)ent_model_n_param(b->m));
    b->buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(b->m) + 1));
    if (!b->theta || !b->buffers) return ent_fail(ENT_ENOMEM, "bench: out of memory for %s", preset);
    s = ent_netobj_new(&b->net, b->m, b->buffers, &b->d, batch, BENCH_SEED);
    if (s == ENT_OK) b->obj = ent_netobj_objective(b->net);
    return s;
}

/* A fresh optimizer and freshly initialised weights for each measurement. */
static ent_status net_reset(bench_net *b, ent_optim_kind kind, int L) {
    ent_optim_params p = ent_optim_params_default(kind);
    if (kind == ENT_OPTIM_SGD) p.lr = 0.01, p.momentum = 0.9, p.nesterov = 1;
    p.L = L;
    ent_optim_free(b->opt);
    b->opt = NULL;
    ent_model_init_params(b->m, b->theta, b->buffers, BENCH_SEED);
    return ent_optim_new(&b->opt, &p, ent_model_n_param(b->m), BENCH_SEED);
}

static ent_status step_iter(void *ctx) {
    bench_net *b = ctx;
    double loss;
    return ent_optim_step(b->opt, &b->obj, b->theta, 1.0, &loss);
}

static ent_status infer_iter(void *ctx) {
    bench_net *b = ctx;
    int64_t per = b->d.c * b->d.h * b->d.w, correct;
    double loss;
    ent_status s = ent_model_run(b->m, b->theta, b->buffers, b->d.x + b->pos * per, b->d.y + b->pos,
                                 b->batch, 0, &b->rng, NULL, &loss, &correct);
    b->pos = (b->pos + b->batch) % b->d.n;
    return s;
}

static ent_status measure(bench_net *b, ent_bench_kind k, const ent_bench_plan *p, ent_bench_rate *out) {
    ent_optim_kind opt = k == ENT_BENCH_ESGD ? ENT_OPTIM_ENTROPY_SGD : ENT_OPTIM_SGD;
    ent_status s = net_reset(b, opt, p->L);
    if (s != ENT_OK) return s;
    double spi = (double)b->batch * (k == ENT_BENCH_ESGD ? p->L : 1);
    s = ent_bench_time(k == ENT_BENCH_INFER ? infer_iter : step_iter, b, spi, p, out);
    /* Random labels and random pixels must not blow the weights up; if they
     * did, the timings of NaN arithmetic would mean nothing. */
    if (s == ENT_OK && !ent_vec_all_finite(b->theta, ent_model_n_param(b->m)))
        s = ent_fail(ENT_EDIVERGED, "bench: %s %s: weights not finite after the run",
                     ent_model_preset(b->m), ent_bench_kind_name(k));
    return s;
}

ent_status ent_bench_ours(const char *preset, const ent_bench_plan *p,
                          ent_bench_rate out[ENT_BENCH_N_KINDS]) {
    bench_net b;
    ent_status s = net_new(&b, preset, p->batch);
    for (int k = 0; k < ENT_BENCH_N_KINDS && s == ENT_OK; k++) {
        out[k] = (ent_bench_rate){0};
        if (p->kinds & (1u << k)) s = measure(&b, (ent_bench_kind)k, p, &out[k]);
    }
    net_free(&b);
    return s;
}
