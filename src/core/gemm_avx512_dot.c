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

#include "core/gemm_avx512.h"

#ifdef ENT_HAVE_AVX512_GEMM

enum { DR = 4, DS = 5 };

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
const ent_gemm_dot_fn ent_gemm_avx512_dots[DR + 1][6] = {{0}, ROW(1), ROW(2), ROW(3), ROW(4)};
#undef ROW

#endif
