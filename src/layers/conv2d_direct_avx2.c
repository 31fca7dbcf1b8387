/* conv2d_direct_avx2.c — the direct convolution's forward on CPUs with
 * AVX2 but not AVX-512 (conv2d_direct.c has the AVX-512 paths and the
 * reasons): few input channels, stride 1, no padding, rows of 16 or 24
 * outputs (LeNet's first layer: 1 channel, 5 x 5, 24 x 24 out), where
 * im2col makes a column matrix 25 times the input for a GEMM of K = 25.
 *
 * One output row lies in 2 or 3 vectors; every input row piece is loaded
 * once per (c, kh, kw) and used by 4 output channels at once (12
 * accumulators, the 3 pieces and a broadcast fill the 16 registers).
 * Products in (c, kh, kw) order by FMA from zero, then + bias: the bits of
 * the GEMM path.
 *
 * The weight gradient of a first layer (no input gradient) sums, per task
 * (one output channel and one input channel), K x K vectors over all
 * samples and rows: the K kernel columns of one kernel row stay in
 * registers over the output rows (K + NV + 1 of the 16), the other rows
 * wait in memory. Each weight belongs to one task: the result does not
 * depend on the thread count.
 *
 * And im2col and its adjoint for planes 4 outputs wide (LeNet's conv2),
 * at the end. */
#include "core/par.h"
#include "core/simd.h"
#include "layers/conv2d_direct.h"

#ifdef ENT_HAVE_AVX2

int ent_conv_direct_avx2_applies(const ent_layer *l) {
    const int64_t K = l->conv.k;
    return l->conv.stride == 1 && l->conv.pad == 0 && (K == 3 || K == 5) && l->in_c <= 4 &&
           (l->out_w == 16 || l->out_w == 24) && ent_cpu_avx2();
}

/* Output channels o0 .. o0 + OB - 1 of one sample (x: [C, H, W], y: [OC,
 * OH, OW]), rows of NV vectors; OB and NV are literals in each caller. A
 * row's last piece ends at input column K - 1 + OW - 1 = W - 1: no read
 * past the row. */
ENT_AVX2_INLINE void forward_block(const ent_layer *l, const float *x, const float *w,
                                   const float *b, float *y, int64_t o0, const int OB,
                                   const int NV) {
    const int64_t C = l->in_c, H = l->in_h, W = l->in_w, K = l->conv.k;
    const int64_t OH = l->out_h, OW = l->out_w, CKK = C * K * K;
    for (int64_t oh = 0; oh < OH; oh++) {
        __m256 acc[4][3];
#pragma GCC unroll 4
        for (int o = 0; o < OB; o++)
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) acc[o][v] = _mm256_setzero_ps();
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < K; kh++) {
                const float *row = x + (c * H + oh + kh) * W;
                const float *wk = w + o0 * CKK + (c * K + kh) * K;
                for (int64_t kw = 0; kw < K; kw++) {
                    __m256 xv[3];
#pragma GCC unroll 3
                    for (int v = 0; v < NV; v++) xv[v] = _mm256_loadu_ps(row + kw + 8 * v);
#pragma GCC unroll 4
                    for (int o = 0; o < OB; o++) {
                        const __m256 wv = _mm256_broadcast_ss(wk + o * CKK + kw);
#pragma GCC unroll 3
                        for (int v = 0; v < NV; v++)
                            acc[o][v] = _mm256_fmadd_ps(wv, xv[v], acc[o][v]);
                    }
                }
            }
#pragma GCC unroll 4
        for (int o = 0; o < OB; o++) {
            const __m256 bv = _mm256_broadcast_ss(b + o0 + o);
            float *yr = y + ((o0 + o) * OH + oh) * OW;
#pragma GCC unroll 3
            for (int v = 0; v < NV; v++) _mm256_storeu_ps(yr + 8 * v, _mm256_add_ps(acc[o][v], bv));
        }
    }
}

ENT_AVX2 static void forward_sample(const ent_layer *l, const float *x, const float *w,
                                    const float *b, float *y) {
    const int64_t OC = l->out_c;
    int64_t o = 0;
    if (l->out_w == 24) {
        for (; o + 4 <= OC; o += 4) forward_block(l, x, w, b, y, o, 4, 3);
        for (; o < OC; o++) forward_block(l, x, w, b, y, o, 1, 3);
    } else {
        for (; o + 4 <= OC; o += 4) forward_block(l, x, w, b, y, o, 4, 2);
        for (; o < OC; o++) forward_block(l, x, w, b, y, o, 1, 2);
    }
}

void ent_conv_direct_avx2_forward(const ent_layer *l, const float *w, const float *b,
                                  const float *in, float *out, int64_t n) {
    const int64_t per_in = l->in_c * l->in_h * l->in_w, per_out = l->out_c * l->out_h * l->out_w;
#pragma omp parallel for if (n * per_out * l->in_c * l->conv.k * l->conv.k > ENT_PAR_MIN) \
    schedule(static)
    for (int64_t s = 0; s < n; s++) forward_sample(l, in + s * per_in, w, b, out + s * per_out);
}

/* dW[o][c][., .] over n samples; KK and NV are literals in each caller. */
ENT_AVX2_INLINE void dweight_one(const ent_layer *l, const float *in, const float *dout,
                                 int64_t n, int64_t o, int64_t c, float *dw, int store,
                                 const int KK, const int NV) {
    const int64_t C = l->in_c, H = l->in_h, W = l->in_w, OC = l->out_c;
    const int64_t OH = l->out_h, OW = l->out_w;
    __m256 sums[5][5];
    for (int kh = 0; kh < KK; kh++)
        for (int kw = 0; kw < KK; kw++) sums[kh][kw] = _mm256_setzero_ps();
    for (int64_t s = 0; s < n; s++) {
        const float *x = in + (s * C + c) * H * W, *dy = dout + (s * OC + o) * OH * OW;
        for (int kh = 0; kh < KK; kh++) {
            __m256 acc[5];
#pragma GCC unroll 5
            for (int kw = 0; kw < KK; kw++) acc[kw] = sums[kh][kw];
            for (int64_t oh = 0; oh < OH; oh++) {
                const float *row = x + (oh + kh) * W, *g = dy + oh * OW;
                __m256 d[3];
#pragma GCC unroll 3
                for (int v = 0; v < NV; v++) d[v] = _mm256_loadu_ps(g + 8 * v);
#pragma GCC unroll 5
                for (int kw = 0; kw < KK; kw++)
#pragma GCC unroll 3
                    for (int v = 0; v < NV; v++)
                        acc[kw] = _mm256_fmadd_ps(d[v], _mm256_loadu_ps(row + kw + 8 * v), acc[kw]);
            }
#pragma GCC unroll 5
            for (int kw = 0; kw < KK; kw++) sums[kh][kw] = acc[kw];
        }
    }
    for (int kh = 0; kh < KK; kh++)
        for (int kw = 0; kw < KK; kw++) {
            float *d = dw + ((o * C + c) * KK + kh) * KK + kw;
            const float v = ent_hsum8(sums[kh][kw]);
            *d = store ? v : *d + v;
        }
}

ENT_AVX2 static void dweight_task(const ent_layer *l, const float *in, const float *dout,
                                  int64_t n, int64_t t, float *dw, int store) {
    const int64_t o = t / l->in_c, c = t % l->in_c;
    const int five = l->conv.k == 5, wide = l->out_w == 24;
    if (five && wide)
        dweight_one(l, in, dout, n, o, c, dw, store, 5, 3);
    else if (five)
        dweight_one(l, in, dout, n, o, c, dw, store, 5, 2);
    else if (wide)
        dweight_one(l, in, dout, n, o, c, dw, store, 3, 3);
    else
        dweight_one(l, in, dout, n, o, c, dw, store, 3, 2);
}

void ent_conv_direct_avx2_dweight(const ent_layer *l, const float *in, const float *dout,
                                  int64_t n, float *dw, float *db, int store) {
    const int64_t OC = l->out_c, HW = l->out_h * l->out_w, tasks = OC * l->in_c;
#pragma omp parallel if (n * OC * HW * l->in_c * l->conv.k * l->conv.k > ENT_PAR_MIN)
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t t = 0; t < tasks; t++) dweight_task(l, in, dout, n, t, dw, store);
#pragma omp for schedule(static)
        for (int64_t o = 0; o < OC; o++) {
            double s = 0.0; /* db in double, samples in order */
            for (int64_t i = 0; i < n; i++) s += ent_conv_row_sum(dout + (i * OC + o) * HW, HW);
            db[o] = (float)s + (store ? 0.0f : db[o]);
        }
    }
}

/* im2col for output planes 4 wide and at most 4 high (LeNet's conv2: 4 x 4
 * from 8 x 8), stride 1, no padding: one sample's column piece for (c, kh,
 * kw) is one or two vectors, each two output rows of 4 loaded as halves,
 * where the generic loop copies 4 floats at a time. A copy: the same
 * columns. Rows (c, kh, .) for all samples, written front to back. */
ENT_AVX2 static void im2col_w4_rows(const ent_layer *l, const float *x, int64_t g, int64_t c,
                                    int64_t kh, float *col) {
    const int64_t C = l->in_c, K = l->conv.k, H = l->in_h, W = l->in_w, OH = l->out_h;
    const int64_t HW = OH * 4;
    float *rows = col + (c * K + kh) * K * g * HW;
    for (int64_t s = 0; s < g; s++) {
        const float *r = x + ((s * C + c) * H + kh) * W;
        for (int64_t kw = 0; kw < K; kw++) {
            float *dst = rows + kw * g * HW + s * HW;
            int64_t oh = 0;
            for (; oh + 2 <= OH; oh += 2)
                _mm256_storeu_ps(dst + 4 * oh, _mm256_set_m128(_mm_loadu_ps(r + (oh + 1) * W + kw),
                                                               _mm_loadu_ps(r + oh * W + kw)));
            if (oh < OH) _mm_storeu_ps(dst + 4 * oh, _mm_loadu_ps(r + oh * W + kw));
        }
    }
}

int ent_conv_im2col_w4_avx2(const ent_layer *l, const float *x, int64_t g, float *col) {
    const int64_t C = l->in_c, K = l->conv.k;
    if (l->conv.stride != 1 || l->conv.pad != 0 || l->out_w != 4 || l->out_h > 4 ||
        !ent_cpu_avx2())
        return 0;
#pragma omp parallel for collapse(2) if (g * C * K * K * 16 > ENT_PAR_MIN) schedule(static)
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < K; kh++) im2col_w4_rows(l, x, g, c, kh, col);
    return 1;
}

/* The adjoint of im2col_w4 (conv2d.c's col2im_add for those planes):
 * dx_s[c][oh + kh][kw ..] += the 4 floats of each output row, as 128-bit
 * adds, (kh, kw, oh) in the generic loop's order: the same sums. */
ENT_AVX2 static void col2im_w4_plane(const ent_layer *l, const float *dcol, int64_t g, int64_t s,
                                     int64_t c, float *dx) {
    const int64_t K = l->conv.k, H = l->in_h, W = l->in_w, OH = l->out_h, HW = OH * 4;
    float *dxs = dx + (s * l->in_c + c) * H * W;
    for (int64_t kh = 0; kh < K; kh++)
        for (int64_t kw = 0; kw < K; kw++) {
            const float *src = dcol + ((c * K + kh) * K + kw) * g * HW + s * HW;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *d = dxs + (oh + kh) * W + kw;
                _mm_storeu_ps(d, _mm_add_ps(_mm_loadu_ps(d), _mm_loadu_ps(src + 4 * oh)));
            }
        }
}

int ent_conv_col2im_w4_avx2(const ent_layer *l, const float *dcol, int64_t g, float *dx) {
    const int64_t C = l->in_c, K = l->conv.k;
    if (l->conv.stride != 1 || l->conv.pad != 0 || l->out_w != 4 || l->out_h > 4 ||
        !ent_cpu_avx2())
        return 0;
#pragma omp parallel for collapse(2) if (g * C * K * K * 16 > ENT_PAR_MIN) schedule(static)
    for (int64_t s = 0; s < g; s++)
        for (int64_t c = 0; c < C; c++) col2im_w4_plane(l, dcol, g, s, c, dx);
    return 1;
}

#else

int ent_conv_direct_avx2_applies(const ent_layer *l) { return 0; }
void ent_conv_direct_avx2_forward(const ent_layer *l, const float *w, const float *b,
                                  const float *in, float *out, int64_t n) {}
void ent_conv_direct_avx2_dweight(const ent_layer *l, const float *in, const float *dout,
                                  int64_t n, float *dw, float *db, int store) {}
int ent_conv_im2col_w4_avx2(const ent_layer *l, const float *x, int64_t g, float *col) { return 0; }
int ent_conv_col2im_w4_avx2(const ent_layer *l, const float *dcol, int64_t g, float *dx) { return 0; }

#endif
