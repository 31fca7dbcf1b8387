/* avgpool.c — PyTorch nn.AvgPool2d(k, stride, padding) with its defaults
 * (count_include_pad = True: the window's zero padding counts, so every
 * output divides by k*k; floor mode), and global average pooling
 * (nn.AdaptiveAvgPool2d(1): the mean of each plane, [c, h, w] -> [c, 1, 1];
 * the head of ResNets, which then fit any input size). Sums are in double. */
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"

static ent_status avg_plan(ent_layer *l) {
    const int64_t k = l->pool.k, s = l->pool.stride, p = l->pool.pad;
    if (k <= 0 || s <= 0 || p < 0 || 2 * p > k || l->in_h + 2 * p < k || l->in_w + 2 * p < k)
        return ent_fail(ENT_ESHAPE, "%s: avgpool k %lld stride %lld pad %lld on %lldx%lld is impossible",
                        l->name, (long long)k, (long long)s, (long long)p, (long long)l->in_h,
                        (long long)l->in_w);
    l->out_c = l->in_c;
    l->out_h = (l->in_h + 2 * p - k) / s + 1;
    l->out_w = (l->in_w + 2 * p - k) / s + 1;
    l->n_tensors = 0, l->saved = 0, l->scratch = 0;
    return ENT_OK;
}

/* The input rows [*h0, *h1) under output row o (clipped to the plane). */
static void window(int64_t o, int64_t k, int64_t s, int64_t p, int64_t H, int64_t *h0, int64_t *h1) {
    int64_t a = o * s - p, b = a + k;
    *h0 = a < 0 ? 0 : a;
    *h1 = b > H ? H : b;
}

static void avg_forward(const ent_layer *l, const float *theta, const float *in, float *out,
                        float *saved, ent_ctx *ctx) {
    const int64_t K = l->pool.k, S = l->pool.stride, P = l->pool.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t planes = ctx->n * l->in_c;
    const double inv = 1.0 / (double)(K * K);
#pragma omp parallel for if (planes * OH * OW * K * K > ENT_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0, h1, w0, w1;
                window(oh, K, S, P, H, &h0, &h1);
                window(ow, K, S, P, W, &w0, &w1);
                double sum = 0.0;
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) sum += in[(pl * H + h) * W + w];
                out[(pl * OH + oh) * OW + ow] = (float)(sum * inv);
            }
}

/* din[window] += dout / (k*k): parallel over planes (windows overlap only
 * inside one plane). */
static void avg_backward(const ent_layer *l, const float *theta, const float *in,
                         const float *out, const float *saved, const float *dout, float *din,
                         float *dtheta, ent_ctx *ctx) {
    if (!din) return;
    const int64_t K = l->pool.k, S = l->pool.stride, P = l->pool.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t planes = ctx->n * l->in_c;
    const int store = ent_din_stores(ctx, 0);
    const float inv = (float)(1.0 / (double)(K * K));
#pragma omp parallel for if (planes * H * W > ENT_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        float *d = din + pl * H * W;
        if (store) memset(d, 0, sizeof(float) * (size_t)(H * W));
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const float g = dout[(pl * OH + oh) * OW + ow] * inv;
                int64_t h0, h1, w0, w1;
                window(oh, K, S, P, H, &h0, &h1);
                window(ow, K, S, P, W, &w0, &w1);
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) d[h * W + w] += g;
            }
    }
}

const ent_layer_ops ent_avgpool_ops = {.kind_name = "avgpool", .plan = avg_plan,
                                       .forward = avg_forward, .backward = avg_backward, .n_in = 1,
                                       .rop = &ent_rop_avgpool};

static ent_status gap_plan(ent_layer *l) {
    l->out_c = l->in_c, l->out_h = 1, l->out_w = 1;
    l->n_tensors = 0, l->saved = 0, l->scratch = 0;
    return ENT_OK;
}

static void gap_forward(const ent_layer *l, const float *theta, const float *in, float *out,
                        float *saved, ent_ctx *ctx) {
    const int64_t planes = ctx->n * l->in_c, HW = l->in_h * l->in_w;
#pragma omp parallel for if (planes * HW > ENT_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        double sum = 0.0;
        for (int64_t j = 0; j < HW; j++) sum += in[pl * HW + j];
        out[pl] = (float)(sum / (double)HW);
    }
}

static void gap_backward(const ent_layer *l, const float *theta, const float *in,
                         const float *out, const float *saved, const float *dout, float *din,
                         float *dtheta, ent_ctx *ctx) {
    if (!din) return;
    const int64_t planes = ctx->n * l->in_c, HW = l->in_h * l->in_w;
    const int store = ent_din_stores(ctx, 0);
    const float inv = (float)(1.0 / (double)HW);
#pragma omp parallel for if (planes * HW > ENT_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float g = dout[pl] * inv;
        float *d = din + pl * HW;
        for (int64_t j = 0; j < HW; j++) d[j] = store ? g : d[j] + g;
    }
}

const ent_layer_ops ent_global_avgpool_ops = {.kind_name = "global_avgpool", .plan = gap_plan,
                                              .forward = gap_forward, .backward = gap_backward,
                                              .n_in = 1, .rop = &ent_rop_avgpool};
