/* rop_impl.h — the R-operator in the precision REAL: a template, included
 * by rop_f64.c (REAL double) and rop_f32.c (REAL float), each defining
 * REAL, GEMM (a row-major GEMM of that precision) and FN(name) (the
 * exported name with its suffix). Holds each kind's node-level functions
 * (which rop.c puts in the kinds' ent_rop_kind tables, the ops tables'
 * `rop`), the element-wise kinds (ReLU, max-pool, dropout, the pools and
 * the add: their second derivatives vanish, so R{.} is the same linear
 * map applied to R of the input) and the softmax cross-entropy head;
 * dense/conv2d and batch-norm come from rop_linear_impl.h and
 * rop_bn_impl.h, the LSTM, embedding and one-hot from rop_lstm_impl.h.
 * Sums are taken in double in both
 * precisions. See rop.h for the conventions. */
#include <math.h>
#include <string.h>

#include "analysis/rop.h"
#include "core/par.h"

#include "analysis/rop_bn_impl.h"
#include "analysis/rop_linear_impl.h"

/* ReLU: the mask in > 0 (PyTorch's gradient at 0 is 0, as in relu.c). */
static void relu_fwd(int64_t m, const REAL *in, const REAL *rin, REAL *out, REAL *rout) {
#pragma omp parallel for if (m > ENT_PAR_MIN)
    for (int64_t i = 0; i < m; i++) {
        out[i] = in[i] > 0.0 ? in[i] : 0.0;
        if (rout) rout[i] = in[i] > 0.0 && rin ? rin[i] : 0.0;
    }
}

static void relu_bwd(int64_t m, const REAL *in, const REAL *gout, const REAL *rgout,
                     REAL *gin, REAL *rgin) {
#pragma omp parallel for if (m > ENT_PAR_MIN)
    for (int64_t i = 0; i < m; i++) {
        gin[i] = in[i] > 0.0 ? gout[i] : 0.0;
        if (rgin) rgin[i] = in[i] > 0.0 ? rgout[i] : 0.0;
    }
}

/* Max-pool with the argmax of the forward fixed (first maximum in window
 * order, as maxpool.c); saved holds each output's input index in its plane. */
static void pool_fwd(const ent_layer *l, int64_t n, const REAL *in, const REAL *rin,
                     REAL *out, REAL *rout, REAL *saved) {
    const int64_t K = l->pool.k, S = l->pool.stride, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t HW = l->in_h * W, OHW = OH * OW;
#pragma omp parallel for if (n * l->in_c * OHW * K * K > ENT_PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++) {
        const REAL *x = in + pl * HW;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t best = oh * S * W + ow * S;
                for (int64_t kh = 0; kh < K; kh++)
                    for (int64_t kw = 0; kw < K; kw++) {
                        const int64_t j = (oh * S + kh) * W + ow * S + kw;
                        if (x[j] > x[best]) best = j;
                    }
                const int64_t o = pl * OHW + oh * OW + ow;
                out[o] = x[best];
                saved[o] = (REAL)best;
                if (rout) rout[o] = rin ? rin[pl * HW + best] : 0.0;
            }
    }
}

static void pool_bwd(const ent_layer *l, int64_t n, const REAL *saved, const REAL *gout,
                     const REAL *rgout, REAL *gin, REAL *rgin) {
    const int64_t HW = l->in_h * l->in_w, OHW = l->out_h * l->out_w;
#pragma omp parallel for if (n * l->in_c * HW > ENT_PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++) {
        memset(gin + pl * HW, 0, sizeof(REAL) * (size_t)HW);
        if (rgin) memset(rgin + pl * HW, 0, sizeof(REAL) * (size_t)HW);
        for (int64_t j = 0; j < OHW; j++) {
            const int64_t at = pl * HW + (int64_t)saved[pl * OHW + j];
            gin[at] += gout[pl * OHW + j];
            if (rgin) rgin[at] += rgout[pl * OHW + j];
        }
    }
}

/* Average pooling (k x k, stride, zero padding counted: avgpool.c) and
 * global average pooling (k = the plane, no padding): linear, so R{.} is
 * the same map of R{input}; backward spreads g / k^2 over each window. */
static void avg_geom(const ent_layer *l, int64_t *K, int64_t *S, int64_t *P) {
    const int global = l->kind == ENT_LAYER_GLOBAL_AVGPOOL;
    *K = global ? l->in_h : l->pool.k, *S = global ? 1 : l->pool.stride, *P = global ? 0 : l->pool.pad;
}

static void avg_map(const ent_layer *l, int64_t n, const REAL *x, REAL *y) {
    int64_t K, S, P;
    avg_geom(l, &K, &S, &P);
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t KW = l->kind == ENT_LAYER_GLOBAL_AVGPOOL ? l->in_w : K;
#pragma omp parallel for if (n * l->in_c * H * W > ENT_PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double s = 0.0;
                for (int64_t h = oh * S - P; h < oh * S - P + K; h++)
                    for (int64_t w = ow * S - P; w < ow * S - P + KW; w++)
                        if (h >= 0 && h < H && w >= 0 && w < W && x) s += x[(pl * H + h) * W + w];
                y[(pl * OH + oh) * OW + ow] = (REAL)(s / (double)(K * KW));
            }
}

static void avg_adjoint(const ent_layer *l, int64_t n, const REAL *g, REAL *gx) {
    int64_t K, S, P;
    avg_geom(l, &K, &S, &P);
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t KW = l->kind == ENT_LAYER_GLOBAL_AVGPOOL ? l->in_w : K;
#pragma omp parallel for if (n * l->in_c * H * W > ENT_PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++) {
        memset(gx + pl * H * W, 0, sizeof(REAL) * (size_t)(H * W));
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const double d = g[(pl * OH + oh) * OW + ow] / (double)(K * KW);
                for (int64_t h = oh * S - P; h < oh * S - P + K; h++)
                    for (int64_t w = ow * S - P; w < ow * S - P + KW; w++)
                        if (h >= 0 && h < H && w >= 0 && w < W) gx[(pl * H + h) * W + w] += (REAL)d;
            }
    }
}

/* Dropout with its mask fixed (c->mask; NULL = identity, as in eval). */
static void scale_copy(int64_t m, const REAL *mask, const REAL *x, REAL *y) {
#pragma omp parallel for if (m > ENT_PAR_MIN)
    for (int64_t i = 0; i < m; i++) y[i] = x ? (mask ? mask[i] * x[i] : x[i]) : 0.0;
}

/* ---- each kind's R-operator at the node level (rop.h's ent_rop_kind):
 * inputs as arrays, two for the add; without v the plain pass, and a
 * backward gives no R adjoints ---- */

#define ROP_FWD(kind)                                                                   \
    void FN(ent_rop_##kind##_fwd)(const ent_layer *l, const REAL *th, const REAL *v,     \
                                  const REAL *const *in, const REAL *const *rin,         \
                                  REAL *out, REAL *rout, REAL *saved, ent_rop_ctx *c)
#define ROP_BWD(kind)                                                                   \
    void FN(ent_rop_##kind##_bwd)(const ent_layer *l, const REAL *th, const REAL *v,     \
                                  const REAL *const *in, const REAL *const *rin,         \
                                  const REAL *out, const REAL *saved, const REAL *gout,  \
                                  const REAL *rgout, REAL *const *gin, REAL *const *rgin, \
                                  REAL *gth, REAL *rgth, ent_rop_ctx *c)
#define N_IN (c->n * ent_layer_in_size(l)) /* input values of the call */
#define RGIN(j) (v ? rgin[j] : NULL)

ROP_FWD(dense) { dense_forward(l, th, v, in[0], rin[0], out, rout, c); }
ROP_BWD(dense) { dense_backward(l, th, v, in[0], rin[0], gout, rgout, gin[0], RGIN(0), gth, rgth, c); }

ROP_FWD(conv2d) { conv_forward(l, th, v, in[0], rin[0], out, rout, c); }
ROP_BWD(conv2d) { conv_backward(l, th, v, in[0], rin[0], gout, rgout, gin[0], RGIN(0), gth, rgth, c); }

ROP_FWD(batchnorm) { bn_forward(l, th, v, in[0], rin[0], out, rout, saved, c); }
ROP_BWD(batchnorm) {
    bn_backward(l, th, v, in[0], rin[0], saved, gout, rgout, gin[0], RGIN(0), gth, rgth, c);
}

ROP_FWD(relu) { relu_fwd(N_IN, in[0], rin[0], out, v ? rout : NULL); }
ROP_BWD(relu) {
    if (gin[0]) relu_bwd(N_IN, in[0], gout, rgout, gin[0], RGIN(0));
}

ROP_FWD(maxpool) { pool_fwd(l, c->n, in[0], rin[0], out, v ? rout : NULL, saved); }
ROP_BWD(maxpool) {
    if (gin[0]) pool_bwd(l, c->n, saved, gout, rgout, gin[0], RGIN(0));
}

ROP_FWD(dropout) {
    scale_copy(N_IN, (const REAL *)c->mask, in[0], out);
    if (v) scale_copy(N_IN, (const REAL *)c->mask, rin[0], rout);
}
ROP_BWD(dropout) {
    if (gin[0]) scale_copy(N_IN, (const REAL *)c->mask, gout, gin[0]);
    if (RGIN(0)) scale_copy(N_IN, (const REAL *)c->mask, rgout, rgin[0]);
}

ROP_FWD(avgpool) {
    avg_map(l, c->n, in[0], out);
    if (v) avg_map(l, c->n, rin[0], rout);
}
ROP_BWD(avgpool) {
    if (gin[0]) avg_adjoint(l, c->n, gout, gin[0]);
    if (RGIN(0)) avg_adjoint(l, c->n, rgout, rgin[0]);
}

/* y = a + b, a missing (R) input being 0 */
static void sum2(int64_t m, const REAL *a, const REAL *b, REAL *y) {
#pragma omp parallel for if (m > ENT_PAR_MIN)
    for (int64_t i = 0; i < m; i++) y[i] = (a ? a[i] : 0.0) + (b ? b[i] : 0.0);
}

/* The add is linear: R{y} is the sum of the inputs' R, and both inputs get
 * the output's adjoint. */
ROP_FWD(add) {
    sum2(N_IN, in[0], in[1], out);
    if (v) sum2(N_IN, rin[0], rin[1], rout);
}
ROP_BWD(add) {
    for (int j = 0; j < 2; j++) {
        if (gin[j]) sum2(N_IN, gout, NULL, gin[j]);
        if (RGIN(j)) sum2(N_IN, rgout, NULL, rgin[j]);
    }
}

/* the stacked LSTM, the embedding and the one-hot (sequence models) */
#include "analysis/rop_lstm_impl.h"

#undef N_IN
#undef RGIN

/* One single-input layer, for the callers that hold one (tests). */
void FN(ent_rop_forward)(const ent_layer *l, const REAL *th, const REAL *v,
                         const REAL *in, const REAL *rin, REAL *out,
                         REAL *rout, REAL *saved, ent_rop_ctx *c) {
    const REAL *ins[2] = {in, NULL}, *rins[2] = {rin, NULL};
    l->ops->rop->FN(forward)(l, th, v, ins, rins, out, rout, saved, c);
}

void FN(ent_rop_backward)(const ent_layer *l, const REAL *th, const REAL *v,
                          const REAL *in, const REAL *rin, const REAL *out,
                          const REAL *saved, const REAL *gout,
                          const REAL *rgout, REAL *gin, REAL *rgin,
                          REAL *gth, REAL *rgth, ent_rop_ctx *c) {
    const REAL *ins[2] = {in, NULL}, *rins[2] = {rin, NULL};
    REAL *gins[2] = {gin, NULL}, *rgins[2] = {rgin, NULL};
    l->ops->rop->FN(backward)(l, th, v, ins, rins, out, saved, gout, rgout, gins, rgins, gth, rgth, c);
}

double FN(ent_rop_softmax_ce)(const REAL *z, const REAL *rz, const int32_t *y,
                          int64_t n, int64_t k, double scale, REAL *g,
                          REAL *rg, int64_t *correct) {
    double loss = 0.0;
    int64_t hits = 0;
#pragma omp parallel for reduction(+ : loss, hits) if (n * k > ENT_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const REAL *x = z + i * k;
        int64_t am = 0;
        for (int64_t j = 1; j < k; j++)
            if (x[j] > x[am]) am = j;
        double sum = 0.0, prz = 0.0;
        for (int64_t j = 0; j < k; j++) sum += exp((double)x[j] - x[am]);
        const int valid = y[i] >= 0 && y[i] < k;
        if (valid) loss += log(sum) - ((double)x[y[i]] - x[am]), hits += am == y[i];
        if (rz)
            for (int64_t j = 0; j < k; j++) prz += exp((double)x[j] - x[am]) / sum * rz[i * k + j];
        for (int64_t j = 0; j < k; j++) {
            const double p = exp((double)x[j] - x[am]) / sum;
            if (g) g[i * k + j] = (REAL)((p - (valid && j == y[i] ? 1.0 : 0.0)) * scale);
            if (rg) rg[i * k + j] = (REAL)(p * (rz[i * k + j] - prz) * scale);
        }
    }
    if (correct) *correct = hits;
    return loss;
}
