/* dense.c — fully connected layer, PyTorch nn.Linear.
 * weight [out, in], bias [out] (none with no_bias); in [n, in] (flattened
 * c*h*w), out [n, out]. With per_position the layer is nn.Linear on the
 * last dimension: in [n, c, h, w] -> out [n, c, h, out], i.e. the same map
 * over n*c*h rows of w features (a sequence model's [T, 1, in]). */
#include <math.h>

#include "core/gemm_internal.h"
#include "core/par.h"
#include "core/simd.h"
#include "core/transpose.h"
#include "layers/layer.h"

/* out = in W^T + b. For batches of up to TRANSPOSED_MAX and at least
 * TRANSPOSED_MIN outputs it is computed as its transpose t = W in^T (+ b),
 * then transposed into out: that GEMM reads W where it lies (core/
 * gemm_tiled.c: an A block read by at most 128 columns) where
 * in W^T packs a transposed copy of W for every batch (12% of mnistfc's
 * inference); fc2 of mnistfc alone, 128 x 1024 x 1024: 1.51 -> 1.34 ms on
 * one thread, 1.00 -> 0.74 ms on two. Each element sums the same products
 * in the same order from the bias on: the same bits either way. Few
 * outputs (a classifier's 10) keep the direct form, which has its own fast
 * path for them (the dot path of gemm_tiled.c). Only our own tiled GEMM
 * (AVX-512 or AVX2) reads W in place and runs the transpose inside its
 * threads; on OpenBLAS the transpose would be a pass of its own (13.7% of
 * mnistfc's inference on a Zen 3), so that backend keeps the direct form. */
enum { TRANSPOSED_MAX = 128, TRANSPOSED_MIN = 64 };

static int dense_transposed(int64_t n, int64_t O) {
    return n <= TRANSPOSED_MAX && O >= TRANSPOSED_MIN &&
           ent_gemm_backend_tiled(ent_gemm_active_backend());
}

/* Features per row and rows per sample. */
static int64_t dense_in(const ent_layer *l) {
    return l->dense.per_position ? l->in_w : ent_layer_in_size(l);
}
static int64_t dense_rows(const ent_layer *l) {
    return l->dense.per_position ? l->in_c * l->in_h : 1;
}

static ent_status dense_plan(ent_layer *l) {
    const int64_t in = dense_in(l);
    if (in <= 0 || l->dense.out <= 0)
        return ent_fail(ENT_ESHAPE, "%s: dense %lld -> %lld", l->name,
                        (long long)in, (long long)l->dense.out);
    if (l->dense.per_position) l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->dense.out;
    else l->out_c = l->dense.out, l->out_h = l->out_w = 1;
    l->n_tensors = 0;
    ent_layer_add_tensor(l, "weight", 0, 0, 2, l->dense.out, in, 0, 0);
    if (!l->dense.no_bias) ent_layer_add_tensor(l, "bias", 0, 0, 1, l->dense.out, 0, 0, 0);
    l->saved = 0;
    /* backward: column sums of dout, in double; forward: the transposed
     * output of batches up to TRANSPOSED_MAX (dense_forward) */
    const int64_t rows = l->max_batch * dense_rows(l);
    const int64_t tb = rows < TRANSPOSED_MAX ? rows : TRANSPOSED_MAX;
    l->scratch = 2 * l->dense.out > tb * l->dense.out ? 2 * l->dense.out : tb * l->dense.out;
    return ENT_OK;
}

/* U(-1/sqrt(in), 1/sqrt(in)) for both, as kaiming_uniform(a=sqrt(5));
 * U(-r, r) with init_range r > 0. */
static void dense_init(const ent_layer *l, float *theta, float *buffers,
                       ent_rng *rng) {
    const float r = l->dense.init_range;
    const float b = r > 0.0f ? r : 1.0f / sqrtf((float)dense_in(l));
    for (int i = ENT_T_WEIGHT; i < l->n_tensors; i++)
        ent_rng_uniform_fill(rng, theta + l->tensors[i].offset,
                             l->tensors[i].numel, -b, b);
}

/* The transposed forward's work around its GEMM, done block by block of
 * t by the thread that computes the block (core/gemm_internal.h hooks):
 * the bias before the products, the transpose into out after. Before, the
 * bias was a serial pass and the transpose a parallel region of its own. */
typedef struct {
    const float *b;
    float *t, *out; /* t [O, n] -> out [n, O] */
    int64_t n, O;
} transposed_fwd;

static void bias_block(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const transposed_fwd *f = ctx;
    for (int64_t o = m0; o < m1; o++)
        for (int64_t i = n0; i < n1; i++) f->t[o * f->n + i] = f->b ? f->b[o] : 0.0f;
}

static void transpose_block(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const transposed_fwd *f = ctx;
    ent_transpose(f->t + m0 * f->n + n0, m1 - m0, n1 - n0, f->n, f->out + n0 * f->O + m0, f->O);
}

static void dense_forward(const ent_layer *l, const float *theta,
                          const float *in, float *out, float *saved,
                          ent_ctx *ctx) {
    const int64_t n = ctx->n * dense_rows(l), I = dense_in(l), O = l->dense.out;
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    const float *b = l->dense.no_bias ? NULL : theta + l->tensors[ENT_T_BIAS].offset;
    if (n <= 0) return;
    if (dense_transposed(n, O)) {
        transposed_fwd f = {b, ctx->scratch, out, n, O};
        const ent_gemm_hooks h = {bias_block, transpose_block, &f};
        ent_gemm_hooked(0, 1, O, n, I, 1.0f, w, I, in, I, 1.0f, f.t, n, &h);
        return;
    }
    if (!b) {
        ent_gemm(0, 1, n, O, I, 1.0f, in, I, w, I, 0.0f, out, O);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < O; o++) out[i * O + o] = b[o];
    ent_gemm(0, 1, n, O, I, 1.0f, in, I, w, I, 1.0f, out, O);
}

/* db[o] (+)= sum_i dout[i, o] for o in [o0, o1): down the rows, across the
 * columns (contiguous, vectorised; a per-column loop would stride by O),
 * summed in double in row order. */
ENT_CLONES static void colsum_add(const float *restrict dout, int64_t n,
                                  int64_t O, int64_t o0, int64_t o1,
                                  double *restrict acc, float *restrict db,
                                  int store) {
    for (int64_t o = o0; o < o1; o++) acc[o] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *restrict r = dout + i * O;
        for (int64_t o = o0; o < o1; o++) acc[o] += r[o];
    }
    for (int64_t o = o0; o < o1; o++) db[o] = (float)acc[o] + (store ? 0.0f : db[o]);
}

/* db for the outputs o0 .. o1-1 = rows m0 .. m1-1 of dW, done by the
 * thread that computes those rows of dW, in the GEMM's parallel region
 * (once per row range: by the block that starts at column 0). */
typedef struct {
    const float *dout;
    int64_t n, O;
    double *acc;
    float *db;
    int store;
} bias_grad;

static void bias_grad_rows(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const bias_grad *g = ctx;
    if (n0 == 0) colsum_add(g->dout, g->n, g->O, m0, m1, g->acc, g->db, g->store);
}

/* dW += dout^T in, db += colsum(dout), din += dout W */
static void dense_backward(const ent_layer *l, const float *theta,
                           const float *in, const float *out,
                           const float *saved, const float *dout, float *din,
                           float *dtheta, ent_ctx *ctx) {
    const int64_t n = ctx->n * dense_rows(l), I = dense_in(l), O = l->dense.out;
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    float *dw = dtheta + l->tensors[ENT_T_WEIGHT].offset;
    if (n <= 0) return;
    const float beta = ctx->store ? 0.0f : 1.0f; /* layer.h: store mode */
    if (l->dense.no_bias) {
        ent_gemm(1, 0, O, I, n, 1.0f, dout, O, in, I, beta, dw, I);
    } else {
        float *db = dtheta + l->tensors[ENT_T_BIAS].offset;
        bias_grad g = {dout, n, O, (double *)ctx->scratch, db, ctx->store};
        const ent_gemm_hooks h = {NULL, bias_grad_rows, &g};
        ent_gemm_hooked(1, 0, O, I, n, 1.0f, dout, O, in, I, beta, dw, I, &h);
    }
    if (din) ent_gemm(0, 0, n, I, O, 1.0f, dout, O, w, I, ent_din_stores(ctx, 0) ? 0.0f : 1.0f,
                      din, I);
}

const ent_layer_ops ent_dense_ops = {.kind_name = "dense", .plan = dense_plan, .init = dense_init,
                                 .forward = dense_forward, .backward = dense_backward, .n_in = 1,
                                 .rop = &ent_rop_dense};
