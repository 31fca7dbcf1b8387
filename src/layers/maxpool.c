/* maxpool.c — PyTorch nn.MaxPool2d(k, stride): no padding, floor mode.
 * in [n, C, H, W], out [n, C, OH, OW], OH = (H - k) / stride + 1.
 * saved: per output, the argmax position ih*W + iw inside its channel
 * plane, stored as a float (exact: plan requires H*W < 2^24). Ties go to
 * the first maximum in row-major window order and a NaN wins (the last
 * one), as in PyTorch's CPU kernel (val > max || isnan(val)). */
#include "layers/layer.h"

static ent_status pool_plan(ent_layer *l) {
    const int64_t k = l->pool.k, s = l->pool.stride;
    if (l->in_c <= 0 || k <= 0 || s <= 0 || l->in_h < k || l->in_w < k ||
        l->in_h * l->in_w >= (1 << 24))
        return ent_fail(ENT_ESHAPE,
                        "%s: maxpool k %lld stride %lld on %lldx%lld",
                        l->name, (long long)k, (long long)s,
                        (long long)l->in_h, (long long)l->in_w);
    l->out_c = l->in_c;
    l->out_h = (l->in_h - k) / s + 1;
    l->out_w = (l->in_w - k) / s + 1;
    l->n_tensors = 0;
    l->saved = l->max_batch * ent_layer_out_size(l);
    l->scratch = 0;
    return ENT_OK;
}

static void pool_init(const ent_layer *l, float *theta, float *buffers,
                      ent_rng *rng) {}

static void pool_forward(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         ent_ctx *ctx) {
    const int64_t K = l->pool.k, S = l->pool.stride, H = l->in_h,
                  W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t planes = ctx->n * l->in_c;
#pragma omp parallel for if (planes * OH * OW * K * K > 65536)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *x = in + pl * H * W;
        float *y = out + pl * OH * OW, *idx = saved + pl * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t best = (oh * S) * W + ow * S;
                for (int64_t kh = 0; kh < K; kh++)
                    for (int64_t kw = 0; kw < K; kw++) {
                        const int64_t j = (oh * S + kh) * W + ow * S + kw;
                        if (x[j] > x[best] || x[j] != x[j]) best = j;
                    }
                y[oh * OW + ow] = x[best];
                idx[oh * OW + ow] = (float)best;
            }
    }
}

/* din[argmax] += dout; parallel over planes (overlapping windows only
 * collide inside one plane). */
static void pool_backward(const ent_layer *l, const float *theta,
                          const float *in, const float *out,
                          const float *saved, const float *dout, float *din,
                          float *dtheta, ent_ctx *ctx) {
    const int64_t HW = l->in_h * l->in_w, OHW = l->out_h * l->out_w;
    const int64_t planes = ctx->n * l->in_c;
    if (!din) return;
#pragma omp parallel for if (planes * OHW > 65536)
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t j = 0; j < OHW; j++)
            din[pl * HW + (int64_t)saved[pl * OHW + j]] += dout[pl * OHW + j];
}

const ent_layer_ops ent_maxpool_ops = {"maxpool", pool_plan, pool_init,
                                       pool_forward, pool_backward};
