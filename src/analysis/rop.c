/* rop.c — the R-operator's dispatch by layer kind, the element-wise kinds
 * (ReLU, max-pool, dropout: their second derivatives vanish, so R{.} is the
 * same linear map applied to R of the input) and the softmax
 * cross-entropy head. See rop.h. */
#include <math.h>
#include <string.h>

#include "analysis/rop.h"

#define PAR_MIN 32768

int64_t ent_rop_saved(const ent_layer *l, int64_t batch) {
    switch (l->kind) {
    case ENT_LAYER_MAXPOOL: return batch * ent_layer_out_size(l); /* argmax */
    case ENT_LAYER_BATCHNORM: return 4 * l->in_c;                   /* m, s, Rm, Rs */
    default: return 0;
    }
}

int64_t ent_rop_scratch(const ent_layer *l, int64_t batch) {
    return l->kind == ENT_LAYER_CONV2D ? ent_rop_conv_scratch(l, batch) : 0;
}

/* ReLU: the mask in > 0 (PyTorch's gradient at 0 is 0, as in relu.c). */
static void relu_fwd(int64_t m, const double *in, const double *rin, double *out, double *rout) {
#pragma omp parallel for if (m > PAR_MIN)
    for (int64_t i = 0; i < m; i++) {
        out[i] = in[i] > 0.0 ? in[i] : 0.0;
        if (rout) rout[i] = in[i] > 0.0 && rin ? rin[i] : 0.0;
    }
}

static void relu_bwd(int64_t m, const double *in, const double *gout, const double *rgout,
                     double *gin, double *rgin) {
#pragma omp parallel for if (m > PAR_MIN)
    for (int64_t i = 0; i < m; i++) {
        gin[i] = in[i] > 0.0 ? gout[i] : 0.0;
        if (rgin) rgin[i] = in[i] > 0.0 ? rgout[i] : 0.0;
    }
}

/* Max-pool with the argmax of the forward fixed (first maximum in window
 * order, as maxpool.c); saved holds each output's input index in its plane. */
static void pool_fwd(const ent_layer *l, int64_t n, const double *in, const double *rin,
                     double *out, double *rout, double *saved) {
    const int64_t K = l->pool.k, S = l->pool.stride, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t HW = l->in_h * W, OHW = OH * OW;
#pragma omp parallel for if (n * l->in_c * OHW * K * K > PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++) {
        const double *x = in + pl * HW;
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
                saved[o] = (double)best;
                if (rout) rout[o] = rin ? rin[pl * HW + best] : 0.0;
            }
    }
}

static void pool_bwd(const ent_layer *l, int64_t n, const double *saved, const double *gout,
                     const double *rgout, double *gin, double *rgin) {
    const int64_t HW = l->in_h * l->in_w, OHW = l->out_h * l->out_w;
#pragma omp parallel for if (n * l->in_c * HW > PAR_MIN)
    for (int64_t pl = 0; pl < n * l->in_c; pl++) {
        memset(gin + pl * HW, 0, sizeof(double) * (size_t)HW);
        if (rgin) memset(rgin + pl * HW, 0, sizeof(double) * (size_t)HW);
        for (int64_t j = 0; j < OHW; j++) {
            const int64_t at = pl * HW + (int64_t)saved[pl * OHW + j];
            gin[at] += gout[pl * OHW + j];
            if (rgin) rgin[at] += rgout[pl * OHW + j];
        }
    }
}

/* Dropout with its mask fixed (c->mask; NULL = identity, as in eval). */
static void scale_copy(int64_t m, const double *mask, const double *x, double *y) {
#pragma omp parallel for if (m > PAR_MIN)
    for (int64_t i = 0; i < m; i++) y[i] = x ? (mask ? mask[i] * x[i] : x[i]) : 0.0;
}

void ent_rop_forward(const ent_layer *l, const double *th, const double *v,
                     const double *in, const double *rin, double *out,
                     double *rout, double *saved, ent_rop_ctx *c) {
    const int64_t m = c->n * ent_layer_in_size(l);
    switch (l->kind) {
    case ENT_LAYER_DENSE: ent_rop_dense_forward(l, th, v, in, rin, out, rout, c); break;
    case ENT_LAYER_CONV2D: ent_rop_conv_forward(l, th, v, in, rin, out, rout, c); break;
    case ENT_LAYER_BATCHNORM: ent_rop_bn_forward(l, th, v, in, rin, out, rout, saved, c); break;
    case ENT_LAYER_RELU: relu_fwd(m, in, rin, out, v ? rout : NULL); break;
    case ENT_LAYER_MAXPOOL: pool_fwd(l, c->n, in, rin, out, v ? rout : NULL, saved); break;
    case ENT_LAYER_DROPOUT:
        scale_copy(m, c->mask, in, out);
        if (v) scale_copy(m, c->mask, rin, rout);
        break;
    default: break;
    }
}

void ent_rop_backward(const ent_layer *l, const double *th, const double *v,
                      const double *in, const double *rin, const double *out,
                      const double *saved, const double *gout,
                      const double *rgout, double *gin, double *rgin,
                      double *gth, double *rgth, ent_rop_ctx *c) {
    const int64_t m = c->n * ent_layer_in_size(l);
    if (!v) rgin = NULL;
    switch (l->kind) {
    case ENT_LAYER_DENSE:
        ent_rop_dense_backward(l, th, v, in, rin, gout, rgout, gin, rgin, gth, rgth, c);
        break;
    case ENT_LAYER_CONV2D:
        ent_rop_conv_backward(l, th, v, in, rin, gout, rgout, gin, rgin, gth, rgth, c);
        break;
    case ENT_LAYER_BATCHNORM:
        ent_rop_bn_backward(l, th, v, in, rin, saved, gout, rgout, gin, rgin, gth, rgth, c);
        break;
    case ENT_LAYER_RELU:
        if (gin) relu_bwd(m, in, gout, rgout, gin, rgin);
        break;
    case ENT_LAYER_MAXPOOL:
        if (gin) pool_bwd(l, c->n, saved, gout, rgout, gin, rgin);
        break;
    case ENT_LAYER_DROPOUT:
        if (gin) scale_copy(m, c->mask, gout, gin);
        if (rgin) scale_copy(m, c->mask, rgout, rgin);
        break;
    default: break;
    }
}

double ent_rop_softmax_ce(const double *z, const double *rz, const int32_t *y,
                          int64_t n, int64_t k, double scale, double *g,
                          double *rg, int64_t *correct) {
    double loss = 0.0;
    int64_t hits = 0;
#pragma omp parallel for reduction(+ : loss, hits) if (n * k > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const double *x = z + i * k;
        int64_t am = 0;
        for (int64_t j = 1; j < k; j++)
            if (x[j] > x[am]) am = j;
        double sum = 0.0, prz = 0.0;
        for (int64_t j = 0; j < k; j++) sum += exp(x[j] - x[am]);
        const int valid = y[i] >= 0 && y[i] < k;
        if (valid) loss += log(sum) - (x[y[i]] - x[am]), hits += am == y[i];
        if (rz)
            for (int64_t j = 0; j < k; j++) prz += exp(x[j] - x[am]) / sum * rz[i * k + j];
        for (int64_t j = 0; j < k; j++) {
            const double p = exp(x[j] - x[am]) / sum;
            if (g) g[i * k + j] = (p - (valid && j == y[i] ? 1.0 : 0.0)) * scale;
            if (rg) rg[i * k + j] = p * (rz[i * k + j] - prz) * scale;
        }
    }
    if (correct) *correct = hits;
    return loss;
}
