/* batchnorm.c — PyTorch nn.BatchNorm1d on [n, C] (H = W = 1) and
 * nn.BatchNorm2d on [n, C, H, W]: one kernel, statistics per channel over
 * the n*H*W values of that channel.
 * Tensors: weight [C], bias [C] (theta); running_mean [C], running_var [C],
 * num_batches_tracked (0-D, int64 in checkpoints) (buffers).
 * Train: normalise with the batch mean and biased variance; update
 * running = (1 - m) running + m stat with the unbiased variance, and
 * num_batches_tracked += 1. Eval: normalise with the running statistics.
 * saved: mean [C] then rstd [C] of the statistics used (batch or running),
 * so backward rebuilds xhat = (x - mean) rstd from the input. */
#include <math.h>

#include "layers/layer.h"

static ent_status bn_plan(ent_layer *l) {
    const int64_t C = l->in_c;
    if (C <= 0 || l->in_h <= 0 || l->in_w <= 0 || !(l->bn.eps > 0.0f) ||
        !(l->bn.momentum >= 0.0f && l->bn.momentum <= 1.0f))
        return ent_fail(ENT_ESHAPE, "%s: batchnorm C %lld eps %g momentum %g",
                        l->name, (long long)C, (double)l->bn.eps,
                        (double)l->bn.momentum);
    l->out_c = C;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->n_tensors = 0;
    ent_layer_add_tensor(l, "weight", 0, 0, 1, C, 0, 0, 0);
    ent_layer_add_tensor(l, "bias", 0, 0, 1, C, 0, 0, 0);
    ent_layer_add_tensor(l, "running_mean", 1, 0, 1, C, 0, 0, 0);
    ent_layer_add_tensor(l, "running_var", 1, 0, 1, C, 0, 0, 0);
    ent_layer_add_tensor(l, "num_batches_tracked", 1, 1, 0, 0, 0, 0, 0);
    l->saved = 2 * C;
    l->scratch = 0;
    return ENT_OK;
}

static void bn_init(const ent_layer *l, float *theta, float *buffers,
                    ent_rng *rng) {
    for (int64_t c = 0; c < l->in_c; c++) {
        theta[l->tensors[ENT_BN_WEIGHT].offset + c] = 1.0f;
        theta[l->tensors[ENT_BN_BIAS].offset + c] = 0.0f;
        buffers[l->tensors[ENT_BN_MEAN].offset + c] = 0.0f;
        buffers[l->tensors[ENT_BN_VAR].offset + c] = 1.0f;
    }
    buffers[l->tensors[ENT_BN_COUNT].offset] = 0.0f;
}

/* Batch statistics of channel c: two passes in double. */
static void bn_stats(const float *x, int64_t n, int64_t C, int64_t HW,
                     int64_t c, double *mean, double *var) {
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < HW; j++) s += x[(i * C + c) * HW + j];
    const double m = s / (double)(n * HW);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < HW; j++) {
            const double d = x[(i * C + c) * HW + j] - m;
            ss += d * d;
        }
    *mean = m;
    *var = ss / (double)(n * HW);
}

static void bn_forward(const ent_layer *l, const float *theta,
                       const float *in, float *out, float *saved,
                       ent_ctx *ctx) {
    const int64_t n = ctx->n, C = l->in_c, HW = l->in_h * l->in_w;
    const int64_t N = n * HW; /* values per channel */
    const float *g = theta + l->tensors[ENT_BN_WEIGHT].offset;
    const float *b = theta + l->tensors[ENT_BN_BIAS].offset;
    float *rm = ctx->buffers + l->tensors[ENT_BN_MEAN].offset;
    float *rv = ctx->buffers + l->tensors[ENT_BN_VAR].offset;
    const double mom = l->bn.momentum, eps = l->bn.eps;
    float *mean = saved, *rstd = saved + C;
    if (n <= 0) return;
#pragma omp parallel for if (N * C > 32768)
    for (int64_t c = 0; c < C; c++) {
        double m, v;
        if (ctx->train) {
            bn_stats(in, n, C, HW, c, &m, &v);
            /* PyTorch rejects N == 1 in train mode; keep the biased value */
            const double vu = N > 1 ? v * (double)N / (double)(N - 1) : v;
            rm[c] = (float)((1.0 - mom) * rm[c] + mom * m);
            rv[c] = (float)((1.0 - mom) * rv[c] + mom * vu);
        } else {
            m = rm[c];
            v = rv[c];
        }
        /* round to what is saved, so backward sees the same statistics */
        mean[c] = (float)m;
        rstd[c] = (float)(1.0 / sqrt(v + eps));
        m = mean[c];
        const double r = rstd[c];
        /* out = (x - mean) * (rstd * g) + b, centred first (no
         * cancellation when |mean| >> std) */
        const double sc = r * g[c], sh = b[c];
        for (int64_t i = 0; i < n; i++) {
            const float *x = in + (i * C + c) * HW;
            float *y = out + (i * C + c) * HW;
            for (int64_t j = 0; j < HW; j++)
                y[j] = (float)(((double)x[j] - m) * sc + sh);
        }
    }
    if (ctx->train) ctx->buffers[l->tensors[ENT_BN_COUNT].offset] += 1.0f;
}

/* Per channel, with xhat = (x - mean) rstd:
 *   dg += sum dy xhat, db += sum dy;
 *   train: din += g rstd (dy - mean(dy) - xhat mean(dy xhat))
 *   eval:  din += g rstd dy  (statistics are constants) */
static void bn_backward(const ent_layer *l, const float *theta,
                        const float *in, const float *out, const float *saved,
                        const float *dout, float *din, float *dtheta,
                        ent_ctx *ctx) {
    const int64_t n = ctx->n, C = l->in_c, HW = l->in_h * l->in_w;
    const int64_t N = n * HW;
    const float *g = theta + l->tensors[ENT_BN_WEIGHT].offset;
    float *dg = dtheta + l->tensors[ENT_BN_WEIGHT].offset;
    float *db = dtheta + l->tensors[ENT_BN_BIAS].offset;
    const float *mean = saved, *rstd = saved + C;
    if (n <= 0) return;
#pragma omp parallel for if (N * C > 32768)
    for (int64_t c = 0; c < C; c++) {
        const double m = mean[c], r = rstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *x = in + (i * C + c) * HW;
            const float *dy = dout + (i * C + c) * HW;
            for (int64_t j = 0; j < HW; j++) {
                sdy += dy[j];
                sdyx += dy[j] * ((x[j] - m) * r);
            }
        }
        dg[c] += (float)sdyx;
        db[c] += (float)sdy;
        if (!din) continue;
        const double k = g[c] * r;
        const double a = ctx->train ? sdy / (double)N : 0.0;
        const double bx = ctx->train ? sdyx / (double)N : 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *x = in + (i * C + c) * HW;
            const float *dy = dout + (i * C + c) * HW;
            float *dx = din + (i * C + c) * HW;
            for (int64_t j = 0; j < HW; j++)
                dx[j] += (float)(k * (dy[j] - a - (x[j] - m) * r * bx));
        }
    }
}

const ent_layer_ops ent_batchnorm_ops = {"batchnorm", bn_plan, bn_init,
                                         bn_forward, bn_backward};
