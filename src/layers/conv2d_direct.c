/* conv2d_direct.c — the AVX-512 paths of conv2d.c: a direct convolution,
 * and im2col for tiny output planes (at the end of this file).
 *
 * Direct convolution: for few input channels and rows of 16 to 32 outputs
 * (LeNet's first layer: 1 channel, 5 x 5, 24 x 24 out), where im2col +
 * GEMM does poorly: the column matrix is 25 times
 * the input (7.4 MB for a batch of 128) and the GEMM that reads it has
 * M = 20, K = 25, so copies and C traffic cost more than the FLOPs.
 *
 * Here one output row lies in two vectors (the second masked) and every
 * input row piece is loaded once per (c, kh, kw) and used by 4 output
 * channels at once. Forward sums in the order of the GEMM path (products
 * in (c, kh, kw) order by FMA from zero, then + bias): the same bits.
 * The weight gradient (the first layer needs no input gradient) keeps, per
 * task (3 output channels and one input channel), 3 x K x K vector sums
 * over all samples and rows; each weight belongs to one task, so the
 * result does not depend on the thread count. */
#include "core/par.h"
#include "core/simd.h"
#include "layers/conv2d_direct.h"

#ifdef ENT_HAVE_AVX512

int ent_conv_direct_applies(const ent_layer *l) {
    const int64_t K = l->conv.k;
    return l->conv.stride == 1 && l->conv.pad == 0 && (K == 3 || K == 5) && l->in_c <= 4 &&
           l->out_w >= 16 && l->out_w <= 32 && ent_cpu_avx512();
}

typedef struct {
    int64_t C, H, W, K, OH, OW, OC;
    __mmask16 m1; /* lanes of an output row in its second vector (the first is full) */
} geom;

static geom geom_of(const ent_layer *l) {
    geom g = {l->in_c, l->in_h, l->in_w, l->conv.k, l->out_h, l->out_w, l->out_c, 0};
    g.m1 = (__mmask16)((1u << (g.OW - 16)) - 1u);
    return g;
}

/* Output channels o0 .. o0 + OB - 1 of one sample (x: [C, H, W], y: [OC,
 * OH, OW]); OB is a literal in each caller, so acc stays in registers. */
ENT_AVX512_INLINE void forward_block(const geom *g, const float *x, const float *w,
                                     const float *b, float *y, int64_t o0, const int OB) {
    const int64_t CKK = g->C * g->K * g->K;
    for (int64_t oh = 0; oh < g->OH; oh++) {
        __m512 acc[4][2];
#pragma GCC unroll 4
        for (int o = 0; o < OB; o++) acc[o][0] = acc[o][1] = _mm512_setzero_ps();
        for (int64_t c = 0; c < g->C; c++)
            for (int64_t kh = 0; kh < g->K; kh++) {
                const float *row = x + (c * g->H + oh + kh) * g->W;
                const float *wk = w + o0 * CKK + (c * g->K + kh) * g->K;
                for (int64_t kw = 0; kw < g->K; kw++) {
                    const __m512 x0 = _mm512_loadu_ps(row + kw);
                    const __m512 x1 = _mm512_maskz_loadu_ps(g->m1, row + kw + 16);
#pragma GCC unroll 4
                    for (int o = 0; o < OB; o++) {
                        const __m512 wv = _mm512_set1_ps(wk[o * CKK + kw]);
                        acc[o][0] = _mm512_fmadd_ps(wv, x0, acc[o][0]);
                        acc[o][1] = _mm512_fmadd_ps(wv, x1, acc[o][1]);
                    }
                }
            }
#pragma GCC unroll 4
        for (int o = 0; o < OB; o++) {
            const __m512 bv = _mm512_set1_ps(b[o0 + o]);
            float *yr = y + ((o0 + o) * g->OH + oh) * g->OW;
            _mm512_storeu_ps(yr, _mm512_add_ps(acc[o][0], bv));
            _mm512_mask_storeu_ps(yr + 16, g->m1, _mm512_add_ps(acc[o][1], bv));
        }
    }
}

ENT_AVX512 static void forward_sample(const geom *g, const float *x, const float *w,
                                      const float *b, float *y) {
    int64_t o = 0;
    for (; o + 4 <= g->OC; o += 4) forward_block(g, x, w, b, y, o, 4);
    for (; o < g->OC; o++) forward_block(g, x, w, b, y, o, 1);
}

void ent_conv_direct_forward(const ent_layer *l, const float *w, const float *b,
                             const float *in, float *out, int64_t n) {
    const geom g = geom_of(l);
    const int64_t per_in = g.C * g.H * g.W, per_out = g.OC * g.OH * g.OW;
#pragma omp parallel for if (n * per_out * g.C * g.K * g.K > ENT_PAR_MIN) schedule(static)
    for (int64_t s = 0; s < n; s++)
        forward_sample(&g, in + s * per_in, w, b, out + s * per_out);
}

/* dW[o][c][., .] for OB output channels from o0 and one input channel:
 * sample by sample (its input plane and OB gradient planes stay in L1),
 * kernel row by kernel row: the KK shifted input row pieces are loaded
 * once per output row and meet the OB gradient rows in OB x KK vector
 * sums, kept in registers over the rows and parked in sums between
 * kernel rows (OB and KK are literals). */
ENT_AVX512_INLINE void dweight_block(const geom *g, const float *in, const float *dout,
                                     int64_t n, int64_t o0, int64_t c, float *dw, int store,
                                     const int OB, const int KK) {
    __m512 sums[5][3][5];
    for (int kh = 0; kh < KK; kh++)
        for (int o = 0; o < OB; o++)
            for (int kw = 0; kw < KK; kw++) sums[kh][o][kw] = _mm512_setzero_ps();
    const int64_t per_in = g->C * g->H * g->W, per_out = g->OC * g->OH * g->OW;
    for (int64_t s = 0; s < n; s++)
        for (int64_t kh = 0; kh < KK; kh++) {
            __m512 acc[3][5];
#pragma GCC unroll 3
            for (int o = 0; o < OB; o++)
#pragma GCC unroll 5
                for (int kw = 0; kw < KK; kw++) acc[o][kw] = sums[kh][o][kw];
            for (int64_t oh = 0; oh < g->OH; oh++) {
                const float *row = in + s * per_in + (c * g->H + oh + kh) * g->W;
                __m512 x0[5], x1[5];
#pragma GCC unroll 5
                for (int kw = 0; kw < KK; kw++) {
                    x0[kw] = _mm512_loadu_ps(row + kw);
                    x1[kw] = _mm512_maskz_loadu_ps(g->m1, row + kw + 16);
                }
#pragma GCC unroll 3
                for (int o = 0; o < OB; o++) {
                    const float *dy = dout + s * per_out + ((o0 + o) * g->OH + oh) * g->OW;
                    const __m512 d0 = _mm512_loadu_ps(dy);
                    const __m512 d1 = _mm512_maskz_loadu_ps(g->m1, dy + 16);
#pragma GCC unroll 5
                    for (int kw = 0; kw < KK; kw++) {
                        acc[o][kw] = _mm512_fmadd_ps(d0, x0[kw], acc[o][kw]);
                        acc[o][kw] = _mm512_fmadd_ps(d1, x1[kw], acc[o][kw]);
                    }
                }
            }
#pragma GCC unroll 3
            for (int o = 0; o < OB; o++)
#pragma GCC unroll 5
                for (int kw = 0; kw < KK; kw++) sums[kh][o][kw] = acc[o][kw];
        }
    for (int o = 0; o < OB; o++)
        for (int kh = 0; kh < KK; kh++)
            for (int kw = 0; kw < KK; kw++) {
                float *d = dw + (((o0 + o) * g->C + c) * KK + kh) * KK + kw;
                const float v = _mm512_reduce_add_ps(sums[kh][o][kw]);
                *d = store ? v : *d + v;
            }
}

enum { OB_MAX = 3 }; /* output channels per block */

/* Task t: output block t / C and input channel t % C. */
ENT_AVX512 static void dweight_task(const geom *g, const float *in, const float *dout,
                                    int64_t n, int64_t t, float *dw, int store) {
    const int64_t c = t % g->C, o0 = t / g->C * OB_MAX;
    const int full = o0 + OB_MAX <= g->OC;
    for (int64_t o = o0; o < (full ? o0 + 1 : g->OC); o++) {
        if (g->K == 5 && full)
            dweight_block(g, in, dout, n, o, c, dw, store, OB_MAX, 5);
        else if (g->K == 5)
            dweight_block(g, in, dout, n, o, c, dw, store, 1, 5);
        else if (full)
            dweight_block(g, in, dout, n, o, c, dw, store, OB_MAX, 3);
        else
            dweight_block(g, in, dout, n, o, c, dw, store, 1, 3);
    }
}

void ent_conv_direct_dweight(const ent_layer *l, const float *in, const float *dout,
                             int64_t n, float *dw, float *db, int store) {
    const geom g = geom_of(l);
    const int64_t HW = g.OH * g.OW, blocks = (g.OC + OB_MAX - 1) / OB_MAX;
    const int64_t tasks = blocks * g.C;
#pragma omp parallel if (n * g.OC * HW * g.C * g.K * g.K > ENT_PAR_MIN)
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t t = 0; t < tasks; t++) dweight_task(&g, in, dout, n, t, dw, store);
#pragma omp for schedule(static)
        for (int64_t o = 0; o < g.OC; o++) {
            double s = 0.0; /* db in double, samples in order */
            for (int64_t i = 0; i < n; i++) s += ent_conv_row_sum(dout + (i * g.OC + o) * HW, HW);
            db[o] = (float)s + (store ? 0.0f : db[o]);
        }
    }
}

/* Column rows (c, kh, 0..K) for all g samples: per sample two loads and K
 * permuted 64-byte stores, each of the K rows written front to back (the
 * sample-major order wrote 500 rows 8 KB apart per sample: at one thread
 * it was slower than the generic loop). */
ENT_AVX512 static void im2col_tiny_rows(const ent_layer *l, const float *x, int64_t g,
                                        int64_t c, int64_t kh, float *col) {
    const int64_t C = l->in_c, K = l->conv.k, H = l->in_h, W = l->in_w;
    const int64_t OW = l->out_w, HW = l->out_h * OW;
    const __mmask16 mo = (__mmask16)((1u << HW) - 1u);
    const int64_t left = (H - kh) * W, l2 = left - 16; /* floats of the plane from row kh */
    const __mmask16 m0 = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const __mmask16 m1 = (__mmask16)(l2 >= 16 ? 0xFFFF : l2 > 0 ? (1u << l2) - 1u : 0u);
    /* lane q of a piece: input (q / OW) W + q % OW + kw from row kh */
    __m512i base = _mm512_setzero_si512();
    for (int64_t q = 0; q < HW; q++)
        base = _mm512_mask_mov_epi32(base, (__mmask16)(1u << q),
                                     _mm512_set1_epi32((int)((q / OW) * W + q % OW)));
    float *rows = col + (c * K + kh) * K * g * HW;
    for (int64_t s = 0; s < g; s++) {
        const float *r = x + ((s * C + c) * H + kh) * W;
        const __m512 lo = _mm512_maskz_loadu_ps(m0, r), hi = _mm512_maskz_loadu_ps(m1, r + 16);
        for (int64_t kw = 0; kw < K; kw++) {
            const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32((int)kw));
            _mm512_mask_storeu_ps(rows + kw * g * HW + s * HW, mo,
                                  _mm512_permutex2var_ps(lo, idx, hi));
        }
    }
}

static void im2col_tiny(const ent_layer *l, const float *x, int64_t g, float *col) {
    const int64_t C = l->in_c, K = l->conv.k;
#pragma omp parallel for collapse(2) if (g * C * K * K * 16 > ENT_PAR_MIN) schedule(static)
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < K; kh++) im2col_tiny_rows(l, x, g, c, kh, col);
}

/* im2col for output planes of at most 16 pixels (LeNet's conv2: 4 x 4 from
 * 8 x 8), stride 1, no padding, where the OH rows under kernel row kh lie in
 * the 32 floats from input row kh: one sample's column piece for (c, kh,
 * kw) is then one permute of two vectors and one 64-byte store, where the
 * generic loop copies OH pieces of OW floats (4 floats each for LeNet). A
 * copy: the same columns, the same bits. */
int ent_conv_im2col_tiny(const ent_layer *l, const float *x, int64_t g, float *col) {
    const int64_t K = l->conv.k, W = l->in_w, OH = l->out_h, OW = l->out_w;
    if (l->conv.stride != 1 || l->conv.pad != 0 || OH * OW > 16 ||
        (OH - 1) * W + OW - 1 + K - 1 >= 32 || !ent_cpu_avx512())
        return 0;
    im2col_tiny(l, x, g, col);
    return 1;
}

#else /* no AVX-512 build: never applies */

int ent_conv_im2col_tiny(const ent_layer *l, const float *x, int64_t g, float *col) { return 0; }

int ent_conv_direct_applies(const ent_layer *l) { return 0; }
void ent_conv_direct_forward(const ent_layer *l, const float *w, const float *b,
                             const float *in, float *out, int64_t n) {}
void ent_conv_direct_dweight(const ent_layer *l, const float *in, const float *dout,
                             int64_t n, float *dw, float *db, int store) {}

#endif
