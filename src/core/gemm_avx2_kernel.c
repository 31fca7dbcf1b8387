/* gemm_avx2_kernel.c — the register-tile and dot kernels of the tiled GEMM
 * for CPUs with AVX2 and FMA but not AVX-512 (Zen 1-3; Haswell to the
 * client cores of Ice Lake).
 *
 * A tile is up to 6 rows x 16 columns of C: 12 ymm accumulators (FMA
 * latency 4-5 x 2 ports needs 8-10 chains in flight), 2 B vectors and a
 * broadcast fit the 16 registers. Per k: two vector loads of B, one
 * broadcast of A per row, two FMAs per row. The last B vector of an edge
 * tile is loaded under a mask (B itself may end there) and its part of C
 * read and written under the mask. Each element sums its products in k
 * order from zero, then alpha * acc (+ beta * C): the AVX-512 kernels' sums,
 * so the two ISAs give the same bits. */
#include <math.h>

#include "core/gemm_avx2.h"

#ifdef ENT_HAVE_AVX2_GEMM

enum { MR = ENT_GEMM_AVX2_MR, NR = ENT_GEMM_AVX2_NR };

/* C[m, 8*nv] tile (last vector masked to nl lanes when `masked`) = alpha *
 * a.b + beta * C. a: element (i, k) at a[i * ai + k * ak]; b: kc rows of
 * 8nv floats, bs apart. m, nv, masked and one of the A strides are
 * compile-time constants in every instantiation below. */
ENT_AVX2_INLINE void kernel_body(const int m, const int nv, const int masked, int64_t kc,
                                 const float *restrict a, int64_t ai, int64_t ak,
                                 const float *restrict b, int64_t bs, float *restrict c,
                                 int64_t ldc, float alpha, float beta, int64_t nl) {
    const __m256i ml = ent_lanes8(masked ? nl : 8);
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] = masked && v == nv - 1 ? _mm256_maskload_ps(b + 8 * v, ml)
                                          : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < m; i++) {
            const __m256 av = _mm256_broadcast_ss(a + i * ai);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += ak;
        b += bs;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *cp = c + i * ldc + 8 * v;
            const int part = masked && v == nv - 1;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) /* beta = 0: C may hold NaN, never read it */
                r = _mm256_fmadd_ps(vb, part ? _mm256_maskload_ps(cp, ml) : _mm256_loadu_ps(cp),
                                    r);
            if (part)
                _mm256_maskstore_ps(cp, ml, r);
            else
                _mm256_storeu_ps(cp, r);
        }
}

typedef void (*kernel_fn)(int64_t kc, const float *a, int64_t ai, int64_t ak, const float *b,
                          int64_t bs, float *c, int64_t ldc, float alpha, float beta,
                          int64_t nl);

#define KERNEL(m, v)                                                                        \
    static ENT_AVX2 void kernel_##m##_##v(int64_t kc, const float *a, int64_t ai,          \
                                          int64_t ak, const float *b, int64_t bs, float *c, \
                                          int64_t ldc, float alpha, float beta, int64_t nl) { \
        if (nl >= 8 && ai == 1)                                                             \
            kernel_body(m, v, 0, kc, a, 1, ak, b, bs, c, ldc, alpha, beta, nl);             \
        else if (nl >= 8)                                                                   \
            kernel_body(m, v, 0, kc, a, ai, 1, b, bs, c, ldc, alpha, beta, nl);             \
        else if (ai == 1)                                                                   \
            kernel_body(m, v, 1, kc, a, 1, ak, b, bs, c, ldc, alpha, beta, nl);             \
        else                                                                                \
            kernel_body(m, v, 1, kc, a, ai, 1, b, bs, c, ldc, alpha, beta, nl);             \
    }
#define KERNELS(m) KERNEL(m, 1) KERNEL(m, 2)
KERNELS(1) KERNELS(2) KERNELS(3) KERNELS(4) KERNELS(5) KERNELS(6)
#undef KERNELS
#undef KERNEL

#define ROW(m) {kernel_##m##_1, kernel_##m##_2}
static const kernel_fn kernels[MR + 1][2] = {{0, 0}, ROW(1), ROW(2), ROW(3),
                                             ROW(4), ROW(5), ROW(6)};
#undef ROW

/* All register tiles of one A block (mc x kc) times one B block (kc x nc):
 * row tiles of near-equal height, then column tiles of 16 (the last one 8
 * wide when at most 8 columns remain, its last vector masked). */
static ENT_AVX2 void macro_kernel(int64_t mc, int64_t nc, int64_t kc, ent_gemm_block a,
                                  ent_gemm_block b, float *c, int64_t ldc, float alpha,
                                  float beta) {
    const int64_t nt = ent_row_tiles(mc, MR);
    for (int64_t t = 0; t < nt; t++) {
        const int64_t ir = ent_row_start(mc, nt, t), mr = ent_row_start(mc, nt, t + 1) - ir;
        const float *ap = a.p + ir * (!a.ld ? kc : a.t ? 1 : a.ld);
        const int64_t ai = a.ld && !a.t ? a.ld : 1, ak = !a.ld ? mr : a.t ? a.ld : 1;
        for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t nr = ent_min64(NR, nc - jr);
            const int nv = nr > 8 ? 2 : 1;
            const float *bp = b.p + jr * (b.ld ? 1 : kc);
            kernels[mr][nv - 1](kc, ap, ai, ak, bp, b.ld ? b.ld : 8 * nv, c + ir * ldc + jr, ldc,
                                alpha, beta, nr - 8 * (nv - 1));
        }
    }
}

/* Dot tiles: r rows of A by s rows of B, vectors of 8 along K (the last
 * one masked), 12 accumulators at most (DR x DS = 4 x 3), reduced at the
 * end in a fixed order. */
enum { DR = 4, DS = 3 };


ENT_AVX2_INLINE void dot_body(const int r, const int s, int64_t K, const float *restrict a,
                              int64_t lda, const float *restrict b, int64_t ldb,
                              float *restrict c, int64_t ldc, float alpha, float beta) {
    __m256 acc[DR][DS];
#pragma GCC unroll 4
    for (int i = 0; i < r; i++)
#pragma GCC unroll 3
        for (int j = 0; j < s; j++) acc[i][j] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 bv[DS];
#pragma GCC unroll 3
        for (int j = 0; j < s; j++) bv[j] = _mm256_loadu_ps(b + j * ldb + k);
#pragma GCC unroll 4
        for (int i = 0; i < r; i++) {
            const __m256 av = _mm256_loadu_ps(a + i * lda + k);
#pragma GCC unroll 3
            for (int j = 0; j < s; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (k < K) { /* the masked tail: lanes past K load as zero */
        const __m256i km = ent_lanes8(K - k);
        __m256 bv[DS];
#pragma GCC unroll 3
        for (int j = 0; j < s; j++) bv[j] = _mm256_maskload_ps(b + j * ldb + k, km);
#pragma GCC unroll 4
        for (int i = 0; i < r; i++) {
            const __m256 av = _mm256_maskload_ps(a + i * lda + k, km);
#pragma GCC unroll 3
            for (int j = 0; j < s; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < r; i++)
#pragma GCC unroll 3
        for (int j = 0; j < s; j++) {
            float *cp = c + i * ldc + j;
            const float v = alpha * ent_hsum8(acc[i][j]);
            *cp = beta != 0.0f ? fmaf(beta, *cp, v) : v;
        }
}

#define DOT(r, s)                                                                          \
    static ENT_AVX2 void dot_##r##_##s(int64_t K, const float *a, int64_t lda,             \
                                       const float *b, int64_t ldb, float *c, int64_t ldc, \
                                       float alpha, float beta) {                          \
        dot_body(r, s, K, a, lda, b, ldb, c, ldc, alpha, beta);                            \
    }
#define DOTS(r) DOT(r, 1) DOT(r, 2) DOT(r, 3)
DOTS(1) DOTS(2) DOTS(3) DOTS(4)
#undef DOTS
#undef DOT

#define ROW(r) {0, dot_##r##_1, dot_##r##_2, dot_##r##_3, 0, 0}
static const ent_gemm_dot_fn dots[DR + 1][6] = {{0}, ROW(1), ROW(2), ROW(3), ROW(4)};
#undef ROW

const ent_gemm_isa ent_gemm_isa_avx2 = {
    "avx2", MR, NR, 0, ent_gemm_avx2_pack_a, ent_gemm_avx2_pack_b, macro_kernel, DR, DS, dots,
};

#endif
