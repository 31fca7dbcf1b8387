/* bench_ours.c — entropic's side of `entropic bench`: one preset on a
 * synthetic in-memory data set (no files needed), measured three ways at the
 * current thread count:
 *   train  ent_optim_step with SGD (lr 0.01, momentum 0.9, Nesterov) on the
 *          network objective: sampler copy, forward, backward, update;
 *   infer  ent_model_run in evaluation mode without gradient (loss and
 *          correct count of one batch, as ent_model_evaluate does);
 *   esgd   one Entropy-SGD outer step, the paper's MNIST settings with L
 *          inner steps (counted as L x batch samples).
 * Sequence models (charlstm, ptblstm-*) count tokens (T per sample), on a
 * synthetic stream of uniform token ids read in windows as in training
 * (the state carried from window to window; inference too).
 * bench/torch_bench.py does the same in PyTorch; keep the two in step. */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"

#define BENCH_SEED 1
#define BATCHES_IN_SET 16 /* the synthetic set: 16 batches (as torch_bench.py) */

typedef struct {
    ent_model *m;
    ent_dataset d;
    int64_t steps;      /* sequence models: tokens per window (T), else 0 */
    ent_tokens tokens;  /* sequence models: the synthetic stream */
    ent_batches windows; /* sequence models: inference windows */
    float *state[2];    /* sequence models: inference's carried state */
    int flip;
    float *theta, *buffers;
    ent_netobj *net;
    ent_objective obj;
    ent_optim *opt;
    int64_t batch, pos; /* pos: the next inference batch */
    ent_rng rng;
} bench_net;

/* The vocabulary of a sequence preset's data: War and Peace's 87
 * characters (the Entropy-SGD paper), the Hessian study's 96, PTB's 10k
 * words. bench/torch_bench.py has the same table. */
static int64_t bench_vocab(const char *preset) {
    if (strcmp(preset, "charlstm") == 0) return 87;
    if (strcmp(preset, "tiny-charlstm") == 0) return 96;
    return 10000;
}

/* The preset on the input of its data (1x28x28 or 3x32x32, 10 classes; a
 * sequence model: windows of its T tokens, T x 1 x 1). */
static ent_status new_model(bench_net *b, const char *preset) {
    int64_t c, h, w;
    ent_status s = ent_model_preset_input(preset, &c, &h, &w);
    const int seq = s == ENT_OK && h == 1 && w == 1 && c > 1;
    b->steps = seq ? c : 0;
    b->d.n_classes = seq ? (int32_t)bench_vocab(preset) : 10;
    if (s == ENT_OK) s = ent_model_new(&b->m, preset, NULL, c, h, w, b->d.n_classes, b->batch);
    if (s != ENT_OK) return ent_fail(s, "bench: %s", ent_last_error());
    b->d.c = c, b->d.h = h, b->d.w = w;
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

/* A sequence model's data: a stream of uniform token ids, 16 windows of
 * every one of `batch` streams (as torch_bench.py), and the state carried
 * by inference. */
static ent_status new_tokens(bench_net *b) {
    const int64_t S = b->batch * ent_model_state_size(b->m);
    b->tokens.n = b->batch * (BATCHES_IN_SET * b->steps + 1);
    b->tokens.ids = ent_alloc(sizeof(int32_t) * (size_t)b->tokens.n);
    for (int k = 0; k < 2; k++) b->state[k] = ent_alloc(sizeof(float) * (size_t)(S + 1));
    b->d.x = ent_alloc(sizeof(float) * (size_t)(b->batch * b->steps));
    b->d.y = ent_alloc(sizeof(int32_t) * (size_t)(b->batch * b->steps));
    if (!b->tokens.ids || !b->state[0] || !b->state[1] || !b->d.x || !b->d.y)
        return ent_fail(ENT_ENOMEM, "bench: out of memory for the token stream");
    ent_vec_zero(b->state[0], S + 1);
    ent_rng r;
    ent_rng_init(&r, BENCH_SEED, 7);
    for (int64_t i = 0; i < b->tokens.n; i++) b->tokens.ids[i] = (int32_t)ent_rng_below(&r, (uint64_t)b->d.n_classes);
    return ent_batches_tokens(&b->windows, &b->tokens, b->batch, b->steps);
}

static void net_free(bench_net *b) {
    ent_batches_free(&b->windows);
    ent_free_aligned(b->tokens.ids);
    ent_free_aligned(b->state[0]);
    ent_free_aligned(b->state[1]);
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
    if (s == ENT_OK) s = b->steps ? new_tokens(b) : new_data(b);
    if (s != ENT_OK) return s;
    b->theta = ent_alloc(sizeof(float) * (size_t)ent_model_n_param(b->m));
    b->buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(b->m) + 1));
    if (!b->theta || !b->buffers) return ent_fail(ENT_ENOMEM, "bench: out of memory for %s", preset);
    if (b->steps) {
        ent_batches src;
        s = ent_batches_tokens(&src, &b->tokens, batch, b->steps);
        if (s == ENT_OK) s = ent_netobj_new_batches(&b->net, b->m, b->buffers, src, BENCH_SEED);
    } else {
        s = ent_netobj_new(&b->net, b->m, b->buffers, &b->d, batch, BENCH_SEED);
    }
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

/* The next window of every stream, the state carried from the last. */
static ent_status infer_window(bench_net *b) {
    const int64_t n = b->windows.ops->next(b->windows.ctx, b->d.x, b->d.y);
    int64_t correct;
    double loss;
    ent_status s = ent_model_run_state(b->m, b->theta, b->buffers, b->state[b->flip], b->state[!b->flip], b->d.x,
                                       b->d.y, n, 0, NULL, NULL, &loss, &correct);
    b->flip = !b->flip;
    return s;
}

static ent_status infer_iter(void *ctx) {
    bench_net *b = ctx;
    if (b->steps) return infer_window(b);
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
    /* samples, or for a sequence model tokens (T per sample), per iteration */
    double spi = (double)b->batch * (k == ENT_BENCH_ESGD ? p->L : 1) * (b->steps ? (double)b->steps : 1.0);
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
