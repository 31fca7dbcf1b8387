/* conv2d.c — PyTorch nn.Conv2d (groups 1, dilation 1, zero padding).
 * weight [OC, C, K, K], bias [OC]; in [n, C, H, W], out [n, OC, OH, OW],
 * OH = (H + 2 pad - K) / stride + 1 (floor).
 * Per sample: im2col into scratch col [C*K*K, OH*OW], then
 * out = W[OC, CKK] col + b. Samples run one after another and the GEMM
 * threads; scratch is one column buffer (C*K*K*OH*OW floats). */
#include <math.h>

#include "layers/layer.h"

static ent_status conv_plan(ent_layer *l) {
    const int64_t k = l->conv.k, s = l->conv.stride, p = l->conv.pad;
    if (l->in_c <= 0 || l->conv.out_c <= 0 || k <= 0 || s <= 0 || p < 0 ||
        l->in_h + 2 * p < k || l->in_w + 2 * p < k)
        return ent_fail(ENT_ESHAPE,
                        "%s: conv %lldx%lldx%lld, out_c %lld k %lld stride "
                        "%lld pad %lld is impossible",
                        l->name, (long long)l->in_c, (long long)l->in_h,
                        (long long)l->in_w, (long long)l->conv.out_c,
                        (long long)k, (long long)s, (long long)p);
    l->out_c = l->conv.out_c;
    l->out_h = (l->in_h + 2 * p - k) / s + 1;
    l->out_w = (l->in_w + 2 * p - k) / s + 1;
    l->n_tensors = 0;
    ent_layer_add_tensor(l, "weight", 0, 0, 4, l->out_c, l->in_c, k, k);
    ent_layer_add_tensor(l, "bias", 0, 0, 1, l->out_c, 0, 0, 0);
    l->saved = 0;
    l->scratch = l->in_c * k * k * l->out_h * l->out_w;
    return ENT_OK;
}

/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*K*K, weight and bias. */
static void conv_init(const ent_layer *l, float *theta, float *buffers,
                      ent_rng *rng) {
    const float b = 1.0f / sqrtf((float)(l->in_c * l->conv.k * l->conv.k));
    for (int i = ENT_T_WEIGHT; i <= ENT_T_BIAS; i++)
        ent_rng_uniform_fill(rng, theta + l->tensors[i].offset,
                             l->tensors[i].numel, -b, b);
}

/* col[(c*K + kh)*K + kw][oh*OW + ow] = x[c][oh*s - p + kh][ow*s - p + kw]
 * (0 outside). x: [C, H, W] of one sample. */
static void im2col(const ent_layer *l, const float *x, float *col) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t rows = l->in_c * K * K;
#pragma omp parallel for if (rows * OH * OW > 65536)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t c = r / (K * K), kh = (r / K) % K, kw = r % K;
        float *dst = col + r * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t ih = oh * S - P + kh;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t iw = ow * S - P + kw;
                dst[oh * OW + ow] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                        ? x[(c * H + ih) * W + iw]
                                        : 0.0f;
            }
        }
    }
}

/* The adjoint of im2col, accumulating: dx[c][ih][iw] += dcol[...].
 * Parallel over channels: each thread writes only its own channel. */
static void col2im_add(const ent_layer *l, const float *dcol, float *dx) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
#pragma omp parallel for if (l->in_c * K * K * OH * OW > 65536)
    for (int64_t c = 0; c < l->in_c; c++)
        for (int64_t kh = 0; kh < K; kh++)
            for (int64_t kw = 0; kw < K; kw++) {
                const float *src = dcol + ((c * K + kh) * K + kw) * OH * OW;
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int64_t ow = 0; ow < OW; ow++) {
                        const int64_t iw = ow * S - P + kw;
                        if (iw >= 0 && iw < W)
                            dx[(c * H + ih) * W + iw] += src[oh * OW + ow];
                    }
                }
            }
}

static void conv_forward(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         ent_ctx *ctx) {
    const int64_t OC = l->out_c, HW = l->out_h * l->out_w;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    const float *b = theta + l->tensors[ENT_T_BIAS].offset;
    float *col = ctx->scratch;
    for (int64_t i = 0; i < ctx->n; i++) {
        float *y = out + i * OC * HW;
        im2col(l, in + i * ent_layer_in_size(l), col);
        for (int64_t o = 0; o < OC; o++)
            for (int64_t j = 0; j < HW; j++) y[o * HW + j] = b[o];
        ent_gemm(0, 0, OC, HW, CKK, 1.0f, w, CKK, col, HW, 1.0f, y, HW);
    }
}

/* Per sample: dW += dy col^T, db += rowsum(dy), dcol = W^T dy then
 * din += col2im(dcol). col is rebuilt from the input (nothing saved). */
static void conv_backward(const ent_layer *l, const float *theta,
                          const float *in, const float *out,
                          const float *saved, const float *dout, float *din,
                          float *dtheta, ent_ctx *ctx) {
    const int64_t OC = l->out_c, HW = l->out_h * l->out_w;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    float *dw = dtheta + l->tensors[ENT_T_WEIGHT].offset;
    float *db = dtheta + l->tensors[ENT_T_BIAS].offset;
    float *col = ctx->scratch;
    for (int64_t i = 0; i < ctx->n; i++) {
        const float *dy = dout + i * OC * HW;
        im2col(l, in + i * ent_layer_in_size(l), col);
        ent_gemm(0, 1, OC, CKK, HW, 1.0f, dy, HW, col, HW, 1.0f, dw, CKK);
        for (int64_t o = 0; o < OC; o++) {
            double s = 0.0;
            for (int64_t j = 0; j < HW; j++) s += dy[o * HW + j];
            db[o] += (float)s;
        }
        if (!din) continue;
        ent_gemm(1, 0, CKK, HW, OC, 1.0f, w, CKK, dy, HW, 0.0f, col, HW);
        col2im_add(l, col, din + i * ent_layer_in_size(l));
    }
}

const ent_layer_ops ent_conv2d_ops = {"conv2d", conv_plan, conv_init,
                                      conv_forward, conv_backward};
