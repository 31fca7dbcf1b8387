/* conv2d.c — PyTorch nn.Conv2d (groups 1, dilation 1, zero padding).
 * weight [OC, C, K, K], bias [OC]; in [n, C, H, W], out [n, OC, OH, OW],
 * OH = (H + 2 pad - K) / stride + 1 (floor).
 *
 * Samples go in groups of G: im2col puts the G samples' columns side by
 * side, col [C*K*K, G*OH*OW], so one GEMM serves the group:
 * tmp [OC, G*OH*OW] = W [OC, CKK] col, then out[i] = tmp's block i + b.
 * One sample at a time gave GEMMs of N = OH*OW (16 for LeNet's conv2):
 * too small to run fast. G is the largest that keeps col within COL_BUDGET
 * floats, at most max_batch, the same for every thread count (so that dW
 * sums in the same order on 1 or 2 threads, and ranks under mpirun match
 * replicas in one process). LeNet, samples/s (train, infer) at 1 / 2
 * threads: budget 256 Ki floats 13.7k, 34.7k / 11.6k, 27.5k; 1 Mi 13.2k,
 * 34.6k / 13.3k, 32.7k; the whole batch 12.1k, 25.8k / 14.0k, 35.9k
 * (interleaved runs, 2026-11-22): 1 Mi keeps one thread and gains most of
 * what two threads get from fewer, bigger products and fewer fork/joins.
 * Backward per group: dY [OC, G*OH*OW] gathered from dout, dW += dY col^T
 * (K = G*OH*OW), db += row sums of dY,
 * dcol = W^T dY and din += col2im(dcol); col is rebuilt from the input.
 * scratch: col (CKK * G*OH*OW) then tmp/dY (OC * G*OH*OW).
 *
 * On AVX-512 (conv2d_direct.c) two shapes leave this path in part: few
 * input channels with rows of 16-32 outputs are convolved directly, with
 * no columns (LeNet's conv1; the budget measurements above predate it),
 * and im2col of output planes of at most 16 pixels (LeNet's conv2) is one
 * permute per column piece. On AVX2 CPUs without AVX-512
 * (conv2d_direct_avx2.c) the first of them is convolved directly too. */
#include <math.h>
#include <string.h>

#include "core/par.h"
#include "layers/conv2d_direct.h"
#include "layers/layer.h"

#define COL_BUDGET 1048576 /* floats of col: 4 MiB (see the top) */

/* Samples per group for this layer. */
static int64_t conv_group(const ent_layer *l) {
    const int64_t per = l->in_c * l->conv.k * l->conv.k * l->out_h * l->out_w;
    int64_t g = COL_BUDGET / (per > 0 ? per : 1);
    if (g < 1) g = 1;
    return g < l->max_batch ? g : l->max_batch;
}

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
    if (!l->conv.no_bias) ent_layer_add_tensor(l, "bias", 0, 0, 1, l->out_c, 0, 0, 0);
    l->saved = 0;
    l->scratch = (l->in_c * k * k + l->out_c) * conv_group(l) * l->out_h * l->out_w;
    return ENT_OK;
}

/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*K*K, weight and bias
 * (PyTorch's default). */
static void conv_init(const ent_layer *l, float *theta, float *buffers,
                      ent_rng *rng) {
    const float b = 1.0f / sqrtf((float)(l->in_c * l->conv.k * l->conv.k));
    for (int i = ENT_T_WEIGHT; i < l->n_tensors; i++)
        ent_rng_uniform_fill(rng, theta + l->tensors[i].offset,
                             l->tensors[i].numel, -b, b);
}

/* The bias slice of a parameter (or gradient) vector, NULL without one. */
static const float *conv_bias(const ent_layer *l, const float *theta) {
    return l->conv.no_bias ? NULL : theta + l->tensors[ENT_T_BIAS].offset;
}

/* Output columns ow with 0 <= ow*S - P + kw < W: [*lo, *hi). */
static void valid_cols(int64_t kw, int64_t S, int64_t P, int64_t W,
                       int64_t OW, int64_t *lo, int64_t *hi) {
    int64_t a = P - kw > 0 ? (P - kw + S - 1) / S : 0; /* first ow inside */
    int64_t b = W + P - kw > 0 ? (W + P - kw - 1) / S + 1 : 0; /* one past */
    if (a > OW) a = OW;
    if (b > OW) b = OW;
    if (b < a) b = a;
    *lo = a, *hi = b;
}

/* col[r][s*OH*OW + oh*OW + ow] = x_s[c][oh*S - P + kh][ow*S - P + kw]
 * (0 outside), r = (c*K + kh)*K + kw, for the g samples x_0.. of the group
 * (x: [g, C, H, W]). Copies are row pieces; the common case (stride 1, no
 * padding: LeNet) has no bounds to check and its pieces are contiguous. */
static void im2col(const ent_layer *l, const float *x, int64_t g, float *col) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t rows = l->in_c * K * K, HW = OH * OW, CHW = l->in_c * H * W;
    if (ent_conv_im2col_tiny(l, x, g, col) || ent_conv_im2col_w4_avx2(l, x, g, col)) return;
#pragma omp parallel for collapse(2) if (rows * g * HW > ENT_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t s = 0; s < g; s++) {
            const int64_t c = r / (K * K), kh = (r / K) % K, kw = r % K;
            const float *xs = x + s * CHW + c * H * W;
            float *restrict dst = col + r * g * HW + s * HW;
            if (S == 1 && P == 0) {
                for (int64_t oh = 0; oh < OH; oh++) {
                    const float *restrict src = xs + (oh + kh) * W + kw;
                    for (int64_t ow = 0; ow < OW; ow++) dst[oh * OW + ow] = src[ow];
                }
                continue;
            }
            int64_t lo, hi;
            valid_cols(kw, S, P, W, OW, &lo, &hi);
            for (int64_t oh = 0; oh < OH; oh++) {
                const int64_t ih = oh * S - P + kh;
                float *d = dst + oh * OW;
                if (ih < 0 || ih >= H) {
                    for (int64_t ow = 0; ow < OW; ow++) d[ow] = 0.0f;
                    continue;
                }
                const float *src = xs + ih * W - P + kw;
                for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0.0f;
                for (int64_t ow = lo; ow < hi; ow++) d[ow] = src[ow * S];
                for (int64_t ow = hi; ow < OW; ow++) d[ow] = 0.0f;
            }
        }
}

/* The adjoint of im2col, accumulating: dx_s[c][ih][iw] += dcol[...].
 * Parallel over (sample, channel): each task writes only its own plane. */
static void col2im_add(const ent_layer *l, const float *dcol, int64_t g,
                       float *dx) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t C = l->in_c, HW = OH * OW;
    if (ent_conv_col2im_w4_avx2(l, dcol, g, dx)) return;
#pragma omp parallel for collapse(2) if (g * C * K * K * HW > ENT_PAR_MIN) schedule(static)
    for (int64_t s = 0; s < g; s++)
        for (int64_t c = 0; c < C; c++) {
            float *dxs = dx + (s * C + c) * H * W;
            for (int64_t kh = 0; kh < K; kh++)
                for (int64_t kw = 0; kw < K; kw++) {
                    const float *src = dcol + ((c * K + kh) * K + kw) * g * HW + s * HW;
                    int64_t lo, hi;
                    valid_cols(kw, S, P, W, OW, &lo, &hi);
                    for (int64_t oh = 0; oh < OH; oh++) {
                        const int64_t ih = oh * S - P + kh;
                        if (ih < 0 || ih >= H) continue;
                        float *d = dxs + ih * W - P + kw;
                        const float *sr = src + oh * OW;
                        for (int64_t ow = lo; ow < hi; ow++) d[ow * S] += sr[ow];
                    }
                }
        }
}

static void conv_forward(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         ent_ctx *ctx) {
    const int64_t OC = l->out_c, HW = l->out_h * l->out_w;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k, G = conv_group(l);
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    const float *b = conv_bias(l, theta);
    float *col = ctx->scratch, *tmp = ctx->scratch + CKK * G * HW;
    if (b && ent_conv_direct_applies(l)) {
        ent_conv_direct_forward(l, w, b, in, out, ctx->n);
        return;
    }
    if (b && ent_conv_direct_avx2_applies(l)) {
        ent_conv_direct_avx2_forward(l, w, b, in, out, ctx->n);
        return;
    }
    for (int64_t i0 = 0; i0 < ctx->n; i0 += G) {
        const int64_t g = ctx->n - i0 < G ? ctx->n - i0 : G;
        im2col(l, in + i0 * ent_layer_in_size(l), g, col);
        ent_gemm(0, 0, OC, g * HW, CKK, 1.0f, w, CKK, col, g * HW, 0.0f, tmp, g * HW);
        /* out[i0 + s][o][j] = tmp[o][s*HW + j] + b[o] */
#pragma omp parallel for collapse(2) if (g * OC * HW > ENT_PAR_MIN) schedule(static)
        for (int64_t s = 0; s < g; s++)
            for (int64_t o = 0; o < OC; o++) {
                float *restrict y = out + ((i0 + s) * OC + o) * HW;
                const float *restrict t = tmp + o * g * HW + s * HW;
                if (!b) {
                    memcpy(y, t, sizeof(float) * (size_t)HW);
                    continue;
                }
                const float bo = b[o];
                for (int64_t j = 0; j < HW; j++) y[j] = t[j] + bo;
            }
    }
}

/* sum x[0..n) in double: 8 interleaved partial sums (a single running sum
 * is a chain of dependent adds, 4 cycles each), added up in a fixed order. */
double ent_conv_row_sum(const float *restrict x, int64_t n) {
    double p[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int t = 0; t < 8; t++) p[t] += x[j + t];
    for (; j < n; j++) p[j % 8] += x[j];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* Per group: dW += dY col^T, db += rowsum(dY), dcol = W^T dY then
 * din += col2im(dcol). */
static void conv_backward(const ent_layer *l, const float *theta,
                          const float *in, const float *out,
                          const float *saved, const float *dout, float *din,
                          float *dtheta, ent_ctx *ctx) {
    const int64_t OC = l->out_c, HW = l->out_h * l->out_w;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k, G = conv_group(l);
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    float *dw = dtheta + l->tensors[ENT_T_WEIGHT].offset;
    float *db = (float *)conv_bias(l, dtheta);
    float *col = ctx->scratch, *dY = ctx->scratch + CKK * G * HW;
    if (db && !din && ent_conv_direct_applies(l)) {
        ent_conv_direct_dweight(l, in, dout, ctx->n, dw, db, ctx->store);
        return;
    }
    if (db && !din && ent_conv_direct_avx2_applies(l)) {
        ent_conv_direct_avx2_dweight(l, in, dout, ctx->n, dw, db, ctx->store);
        return;
    }
    for (int64_t i0 = 0; i0 < ctx->n; i0 += G) {
        const int64_t g = ctx->n - i0 < G ? ctx->n - i0 : G;
        /* dY[o][s*HW + j] = dout[i0 + s][o][j] */
#pragma omp parallel for collapse(2) if (g * OC * HW > ENT_PAR_MIN) schedule(static)
        for (int64_t o = 0; o < OC; o++)
            for (int64_t s = 0; s < g; s++)
                memcpy(dY + o * g * HW + s * HW, dout + ((i0 + s) * OC + o) * HW,
                       sizeof(float) * (size_t)HW);
        /* store mode (layer.h): the first group stores dW and db, the
         * others add; din is zeroed group by group just before col2im */
        const int first = ctx->store && i0 == 0;
#pragma omp parallel for if (db && g * OC * HW > ENT_PAR_MIN) schedule(static)
        for (int64_t o = 0; o < (db ? OC : 0); o++)
            db[o] = (float)ent_conv_row_sum(dY + o * g * HW, g * HW) + (first ? 0.0f : db[o]);
        im2col(l, in + i0 * ent_layer_in_size(l), g, col);
        ent_gemm(0, 1, OC, CKK, g * HW, 1.0f, dY, g * HW, col, g * HW, first ? 0.0f : 1.0f,
                 dw, CKK);
        if (!din) continue;
        ent_gemm(1, 0, CKK, g * HW, OC, 1.0f, w, CKK, dY, g * HW, 0.0f, col, g * HW);
        float *dx = din + i0 * ent_layer_in_size(l);
        if (ent_din_stores(ctx, 0)) memset(dx, 0, sizeof(float) * (size_t)(g * ent_layer_in_size(l)));
        col2im_add(l, col, g, dx);
    }
}

const ent_layer_ops ent_conv2d_ops = {.kind_name = "conv2d", .plan = conv_plan, .init = conv_init,
                                 .forward = conv_forward, .backward = conv_backward, .n_in = 1,
                                 .rop = &ent_rop_conv2d};
