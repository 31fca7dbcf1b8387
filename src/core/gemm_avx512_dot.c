/* gemm_avx512_dot.c — the AVX-512 GEMM's path for A B^T with few columns.
 *
 * A (not transposed) times B transposed with few columns (N <= 32) and some
 * depth: both operands run along K, so C[i][j] is a dot product of two
 * contiguous rows. Vectors along K fill all 16 lanes where the tile kernels
 * would leave most idle (N = 10: fc3, the LeNet classifier) and nothing is
 * packed or transposed (LeNet conv1 dW: 20 x 25 x 576). A tile of DR rows
 * of A by DS rows of B keeps 20 accumulators, 9 loads per 20 FMAs; the
 * 16-lane sums are reduced at the end, in a fixed order. */
#include <math.h>
#include <omp.h>

#include "core/gemm_avx512.h"

#ifdef ENT_HAVE_AVX512_GEMM

enum { DR = 4, DS = 5, DOT_MAX_N = 32, DOT_MIN_K = 64, DOT_KC = 2048 };

int ent_gemm_dot_applies(const ent_gemm_args *g) {
    return !g->ta && g->tb && g->N <= DOT_MAX_N && g->K >= DOT_MIN_K;
}

ENT_AVX512_INLINE void dot_body(const int r, const int s, int64_t K,
                                const float *restrict a, int64_t lda,
                                const float *restrict b, int64_t ldb,
                                float *restrict c, int64_t ldc, float alpha,
                                float beta) {
    __m512 acc[DR][DS];
#pragma GCC unroll 4
    for (int i = 0; i < r; i++)
#pragma GCC unroll 5
        for (int j = 0; j < s; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 km = ent_lanes(K - k); /* all ones but at the end */
        __m512 bv[DS];
#pragma GCC unroll 5
        for (int j = 0; j < s; j++) bv[j] = _mm512_maskz_loadu_ps(km, b + j * ldb + k);
#pragma GCC unroll 4
        for (int i = 0; i < r; i++) {
            const __m512 av = _mm512_maskz_loadu_ps(km, a + i * lda + k);
#pragma GCC unroll 5
            for (int j = 0; j < s; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < r; i++)
#pragma GCC unroll 5
        for (int j = 0; j < s; j++) {
            float *cp = c + i * ldc + j;
            const float v = alpha * _mm512_reduce_add_ps(acc[i][j]);
            *cp = beta != 0.0f ? fmaf(beta, *cp, v) : v;
        }
}

typedef void (*dot_fn)(int64_t K, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc, float alpha,
                       float beta);

#define DOT(r, s)                                                             \
    static ENT_AVX512 void dot_##r##_##s(int64_t K, const float *a,           \
                                         int64_t lda, const float *b,         \
                                         int64_t ldb, float *c, int64_t ldc,  \
                                         float alpha, float beta) {           \
        dot_body(r, s, K, a, lda, b, ldb, c, ldc, alpha, beta);               \
    }
#define DOTS(r) DOT(r, 1) DOT(r, 2) DOT(r, 3) DOT(r, 4) DOT(r, 5)
DOTS(1) DOTS(2) DOTS(3) DOTS(4)
#undef DOTS
#undef DOT

#define ROW(r) {0, dot_##r##_1, dot_##r##_2, dot_##r##_3, dot_##r##_4, dot_##r##_5}
static const dot_fn dots[DR + 1][DS + 1] = {{0}, ROW(1), ROW(2), ROW(3), ROW(4)};
#undef ROW

/* Tiles t0..t1 of C by the dot kernels, numbered row by row over a grid of
 * near-equal tiles (like the kernels' row tiles): mt = ceil(M / DR) rows by
 * nt = ceil(N / DS) columns. Threads split this numbering, so a short M
 * (20 rows: 5 tile rows) still divides evenly. K goes in blocks of at most
 * DOT_KC (8 KiB of each row): a tile's 4 rows of A stay in L1 and the block
 * of B (N <= 32 rows) in L2 while the tiles sweep them; each block adds its
 * sums into C (beta = 1 after the first). The blocks depend on K only. */
static ENT_AVX512 void dot_tiles(const ent_gemm_args *g, int64_t t0, int64_t t1) {
    const int64_t mt = (g->M + DR - 1) / DR, nt = (g->N + DS - 1) / DS;
    const int64_t nk = (g->K + DOT_KC - 1) / DOT_KC;
    for (int64_t p = 0; p < nk; p++) {
        const int64_t k0 = ent_kstart(g->K, nk, p), kc = ent_kstart(g->K, nk, p + 1) - k0;
        const float beta = p == 0 ? g->beta : 1.0f;
        for (int64_t t = t0; t < t1; t++) {
            const int64_t r = t / nt, u = t % nt;
            const int64_t i0 = g->M * r / mt, i1 = g->M * (r + 1) / mt;
            const int64_t j0 = g->N * u / nt, j1 = g->N * (u + 1) / nt;
            dots[i1 - i0][j1 - j0](kc, g->A + i0 * g->lda + k0, g->lda,
                                   g->B + j0 * g->ldb + k0, g->ldb,
                                   g->C + i0 * g->ldc + j0, g->ldc, g->alpha, beta);
        }
    }
}

ENT_AVX512 void ent_gemm_dot_run(const ent_gemm_args *g, int nt) {
    const int64_t tiles = ((g->M + DR - 1) / DR) * ((g->N + DS - 1) / DS);
    if (nt > tiles) nt = (int)tiles;
    if (nt <= 1) { /* no team of one: libgomp would still build one */
        dot_tiles(g, 0, tiles);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        dot_tiles(g, tiles * t / T, tiles * (t + 1) / T);
    }
}

#endif
