/* maxpool.c — PyTorch nn.MaxPool2d(k, stride): no padding, floor mode.
 * in [n, C, H, W], out [n, C, OH, OW], OH = (H - k) / stride + 1.
 * saved: per output, the argmax position ih*W + iw inside its channel
 * plane, stored as a float (exact: plan requires H*W < 2^24). Ties go to
 * the first maximum in row-major window order and a NaN wins (the last
 * one), as in PyTorch's CPU kernel (val > max || isnan(val)). */
#include <string.h>

#include "core/simd.h"
#include "core/par.h"
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

/* The maximum of each K x K window whose origin (offset into x) is tab[i],
 * i < n: value in bv, offset in bi. One pass over the n windows per window
 * offset (kh, kw): the n running maxima are independent, so the pass
 * vectorises (as gathers when the origins are not evenly spaced), and the
 * updates are selects, not branches (which element wins is random, so
 * branches mispredict). */
static inline void window_max(const float *restrict x, const int32_t *restrict tab,
                              int n, int64_t K, int64_t W, float *restrict bv,
                              int32_t *restrict bi) {
    for (int i = 0; i < n; i++) bi[i] = tab[i], bv[i] = x[tab[i]];
    for (int64_t kh = 0; kh < K; kh++)
        for (int64_t kw = 0; kw < K; kw++) {
            const int32_t off = (int32_t)(kh * W + kw);
            for (int i = 0; i < n; i++) {
                const float v = x[tab[i] + off];
                const int take = (v > bv[i]) | (v != v);
                bi[i] = take ? tab[i] + off : bi[i];
                bv[i] = take ? v : bv[i];
            }
        }
}

enum { TILE = 64 }; /* windows per window_max call */

/* Planes pl0..pl1-1 of in [., H, W] -> out [., OH, OW], argmax in saved.
 * Rows of OW >= 8 outputs (evenly spaced origins) go one row per call; for
 * narrower rows (LeNet's second pool: OW = 2) a call takes whole planes,
 * about TILE outputs, so that the vectors are still long: gathers measured
 * 5x faster there, and slower than rows when OW = 8. */
ENT_CLONES static void pool_planes(const float *restrict in, float *restrict out,
                                   float *restrict saved, int64_t pl0, int64_t pl1,
                                   int64_t K, int64_t S, int64_t H, int64_t W,
                                   int64_t OH, int64_t OW) {
    const int64_t per = OH * OW, tp = per >= TILE ? 1 : TILE / per; /* planes per tile */
    int32_t tab[TILE], bi[TILE];
    float bv[TILE];
    if (OW >= 8 || per > TILE) { /* (window_max inlined here measured 1.9x slower) */
        for (int64_t pl = pl0; pl < pl1; pl++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t o0 = 0; o0 < OW; o0 += TILE) {
                    const int n = OW - o0 < TILE ? (int)(OW - o0) : TILE;
                    const float *restrict x = in + pl * H * W;
                    for (int i = 0; i < n; i++) {
                        tab[i] = (int32_t)((oh * S) * W + (o0 + i) * S);
                        bi[i] = tab[i];
                        bv[i] = x[tab[i]];
                    }
                    for (int64_t kh = 0; kh < K; kh++)
                        for (int64_t kw = 0; kw < K; kw++) {
                            const int32_t off = (int32_t)(kh * W + kw);
                            for (int i = 0; i < n; i++) {
                                const float v = x[tab[i] + off];
                                const int take = (v > bv[i]) | (v != v);
                                bi[i] = take ? tab[i] + off : bi[i];
                                bv[i] = take ? v : bv[i];
                            }
                        }
                    float *restrict y = out + (pl * OH + oh) * OW + o0;
                    float *restrict idx = saved + (pl * OH + oh) * OW + o0;
                    for (int i = 0; i < n; i++) y[i] = bv[i], idx[i] = (float)bi[i];
                }
        return;
    }
    for (int64_t i = 0; i < tp * per; i++) { /* origins relative to the tile's first plane */
        const int64_t p = i / per, r = i % per;
        tab[i] = (int32_t)(p * H * W + (r / OW) * S * W + (r % OW) * S);
    }
    for (int64_t pl = pl0; pl < pl1; pl += tp) {
        const int n = (int)((pl1 - pl < tp ? pl1 - pl : tp) * per);
        window_max(in + pl * H * W, tab, n, K, W, bv, bi);
        for (int i = 0; i < n; i++) { /* the argmax is relative to its own plane */
            out[pl * per + i] = bv[i];
            saved[pl * per + i] = (float)(bi[i] - (int32_t)((i / per) * H * W));
        }
    }
}

#ifdef ENT_HAVE_AVX512

/* Non-overlapping windows (K == S <= 3) on rows of 8 to 16 outputs
 * (LeNet's first pool: 3 x 3 on 24 x 24, 8 outputs): per output row
 * and input row, the first K * OW inputs in three vectors, split into
 * the K phases kw (lane j = input K j + kw) by permutes, then the K x K
 * window offsets in row-major order as masked selects over all OW
 * outputs at once. The index-table path above spends its time in gathers
 * here. Same rule, same result: the first maximum, or the last NaN. */
ENT_AVX512 static void pool_disjoint_avx512(const float *in, float *out, float *saved,
                                             int64_t pl0, int64_t pl1, int64_t K, int64_t H,
                                             int64_t W, int64_t OH, int64_t OW) {
    const int64_t n = K * OW;
    const __mmask16 m0 = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u);
    const __mmask16 m1 = (__mmask16)(n >= 32 ? 0xFFFF : n > 16 ? (1u << (n - 16)) - 1u : 0u);
    const __mmask16 m2 = (__mmask16)(n > 32 ? (1u << (n - 32)) - 1u : 0u);
    const __mmask16 mo = (__mmask16)((1u << OW) - 1u);
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i base = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)K));
    for (int64_t pl = pl0; pl < pl1; pl++)
        for (int64_t oh = 0; oh < OH; oh++) {
            const float *x = in + pl * H * W + oh * K * W;
            __m512 bv = _mm512_setzero_ps();
            __m512i bi = _mm512_setzero_si512();
            for (int64_t kh = 0; kh < K; kh++) {
                const float *r = x + kh * W;
                const __m512 r0 = _mm512_maskz_loadu_ps(m0, r);
                const __m512 r1 = _mm512_maskz_loadu_ps(m1, r + 16);
                const __m512 r2 = _mm512_maskz_loadu_ps(m2, r + 32);
                for (int64_t kw = 0; kw < K; kw++) {
                    const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32((int)kw));
                    const __mmask16 hi = _mm512_cmpge_epi32_mask(idx, _mm512_set1_epi32(32));
                    __m512 v = _mm512_permutex2var_ps(r0, idx, r1);
                    v = _mm512_mask_permutexvar_ps(v, hi, _mm512_sub_epi32(idx, _mm512_set1_epi32(32)), r2);
                    const __m512i off = _mm512_set1_epi32((int)(kh * W + kw));
                    if (kh == 0 && kw == 0) { /* the window's first element */
                        bv = v;
                        bi = off;
                        continue;
                    }
                    const __mmask16 take = _mm512_cmp_ps_mask(v, bv, _CMP_GT_OQ) |
                                           _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    bv = _mm512_mask_mov_ps(bv, take, v);
                    bi = _mm512_mask_mov_epi32(bi, take, off);
                }
            }
            /* argmax within the plane: (oh K + kh) W + ow K + kw */
            const __m512i pos = _mm512_add_epi32(_mm512_add_epi32(bi, base),
                                                 _mm512_set1_epi32((int)(oh * K * W)));
            _mm512_mask_storeu_ps(out + (pl * OH + oh) * OW, mo, bv);
            _mm512_mask_storeu_ps(saved + (pl * OH + oh) * OW, mo, _mm512_cvtepi32_ps(pos));
        }
}

#endif

#ifdef ENT_HAVE_AVX2
/* The same windows on AVX2 CPUs, for rows of exactly 8 outputs (one ymm):
 * the K * 8 inputs of an input row in K vectors (the row holds at least
 * that many: the windows do not overlap), lane j of phase kw (input K j +
 * kw) picked from them by one permute each and blends. */
ENT_AVX2 static void pool_disjoint_avx2(const float *in, float *out, float *saved, int64_t pl0,
                                        int64_t pl1, int64_t K, int64_t H, int64_t W, int64_t OH) {
    __m256i idx[3];
    __m256 from1[3], from2[3]; /* lanes whose input lies in the second, third vector */
    for (int64_t kw = 0; kw < K; kw++) {
        int32_t ix[8], f1[8], f2[8];
        for (int j = 0; j < 8; j++) {
            const int32_t at = (int32_t)(K * j + kw);
            ix[j] = at % 8, f1[j] = at / 8 == 1 ? -1 : 0, f2[j] = at / 8 == 2 ? -1 : 0;
        }
        idx[kw] = _mm256_loadu_si256((const __m256i *)ix);
        from1[kw] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)f1));
        from2[kw] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)f2));
    }
    const __m256i base = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32((int)K));
    for (int64_t pl = pl0; pl < pl1; pl++)
        for (int64_t oh = 0; oh < OH; oh++) {
            const float *x = in + pl * H * W + oh * K * W;
            __m256 bv = _mm256_setzero_ps();
            __m256i bi = _mm256_setzero_si256();
            for (int64_t kh = 0; kh < K; kh++) {
                const float *r = x + kh * W;
                const __m256 r0 = _mm256_loadu_ps(r), r1 = _mm256_loadu_ps(r + 8);
                const __m256 r2 = K > 2 ? _mm256_loadu_ps(r + 16) : r1;
                for (int64_t kw = 0; kw < K; kw++) {
                    __m256 v = _mm256_permutevar8x32_ps(r0, idx[kw]);
                    v = _mm256_blendv_ps(v, _mm256_permutevar8x32_ps(r1, idx[kw]), from1[kw]);
                    v = _mm256_blendv_ps(v, _mm256_permutevar8x32_ps(r2, idx[kw]), from2[kw]);
                    const __m256i off = _mm256_set1_epi32((int)(kh * W + kw));
                    if (kh == 0 && kw == 0) { /* the window's first element */
                        bv = v;
                        bi = off;
                        continue;
                    }
                    const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, bv, _CMP_GT_OQ),
                                                     _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                    bv = _mm256_blendv_ps(bv, v, take);
                    bi = _mm256_castps_si256(
                        _mm256_blendv_ps(_mm256_castsi256_ps(bi), _mm256_castsi256_ps(off), take));
                }
            }
            const __m256i pos =
                _mm256_add_epi32(_mm256_add_epi32(bi, base), _mm256_set1_epi32((int)(oh * K * W)));
            _mm256_storeu_ps(out + (pl * OH + oh) * 8, bv);
            _mm256_storeu_ps(saved + (pl * OH + oh) * 8, _mm256_cvtepi32_ps(pos));
        }
}
#endif

/* Which disjoint-window kernel takes this pool: 0 none, 512 or 256. */
static int pool_disjoint_kernel(int64_t K, int64_t S, int64_t OW) {
    if (K != S || K < 2 || K > 3) return 0;
#ifdef ENT_HAVE_AVX512
    if (OW >= 8 && OW <= 16 && ent_cpu_avx512()) return 512;
#endif
#ifdef ENT_HAVE_AVX2
    if (OW == 8 && ent_cpu_avx2()) return 256;
#endif
    return 0;
}

static void pool_forward(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         ent_ctx *ctx) {
    const int64_t K = l->pool.k, S = l->pool.stride, H = l->in_h,
                  W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t planes = ctx->n * l->in_c, per = 64; /* planes per task */
    const int64_t tasks = (planes + per - 1) / per;
    const int disjoint = pool_disjoint_kernel(K, S, OW);
#pragma omp parallel for if (planes * OH * OW * K * K > ENT_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t p0 = t * per, p1 = (t + 1) * per < planes ? (t + 1) * per : planes;
#ifdef ENT_HAVE_AVX512
        if (disjoint == 512) {
            pool_disjoint_avx512(in, out, saved, p0, p1, K, H, W, OH, OW);
            continue;
        }
#endif
#ifdef ENT_HAVE_AVX2
        if (disjoint == 256) {
            pool_disjoint_avx2(in, out, saved, p0, p1, K, H, W, OH);
            continue;
        }
#endif
        pool_planes(in, out, saved, p0, p1, K, S, H, W, OH, OW);
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
    const int store = ent_din_stores(ctx, 0); /* layer.h: zero the plane, then add */
#pragma omp parallel for if (planes * OHW > ENT_PAR_MIN) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        if (store) memset(din + pl * HW, 0, sizeof(float) * (size_t)HW);
        for (int64_t j = 0; j < OHW; j++)
            din[pl * HW + (int64_t)saved[pl * OHW + j]] += dout[pl * OHW + j];
    }
}

const ent_layer_ops ent_maxpool_ops = {.kind_name = "maxpool", .plan = pool_plan, .init = pool_init,
                                 .forward = pool_forward, .backward = pool_backward, .n_in = 1,
                                 .rop = &ent_rop_maxpool};
