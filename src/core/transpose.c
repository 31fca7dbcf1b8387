/* transpose.c — ent_transpose: 16 x 16 blocks transposed in registers where
 * the CPU has AVX-512 (the GEMM's transpose16), 8 x 8 blocks where it has
 * AVX2, element by element at the edges and elsewhere. A copy: every
 * element moves unchanged. */
#include <omp.h>

#include "core/gemm_avx512.h"
#include "core/par.h"
#include "core/transpose.h"

/* Rows [i0, i1) of src, all columns, element by element. */
static void transpose_rows(const float *restrict src, int64_t i0, int64_t i1, int64_t c0,
                           int64_t cols, int64_t lds, float *restrict dst, int64_t ldd) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = c0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

#ifdef ENT_HAVE_AVX512_GEMM
/* Rows [i0, i0 + 16) of src: whole 16 x 16 blocks in registers, then the
 * columns past the last whole block one by one. */
static ENT_AVX512 void transpose_strip(const float *src, int64_t i0, int64_t cols, int64_t lds,
                                       float *dst, int64_t ldd) {
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (i0 + i) * lds + j);
        transpose16(r);
        for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + (j + i) * ldd + i0, r[i]);
    }
    transpose_rows(src, i0, i0 + 16, j, cols, lds, dst, ldd);
}
#endif

#ifdef ENT_HAVE_AVX2
/* The same strip of 16 rows as two of 8, in 8 x 8 blocks. */
static ENT_AVX2 void transpose_strip8(const float *src, int64_t i0, int64_t cols, int64_t lds,
                                      float *dst, int64_t ldd) {
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8)
        for (int64_t h = i0; h < i0 + 16; h += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (h + i) * lds + j);
            ent_transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (j + i) * ldd + h, r[i]);
        }
    transpose_rows(src, i0, i0 + 16, j, cols, lds, dst, ldd);
}
#endif

void ent_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                   int64_t ldd) {
    const int64_t strips = rows / 16;
#ifdef ENT_HAVE_AVX512_GEMM
    const int simd = ent_cpu_avx512();
#endif
#ifdef ENT_HAVE_AVX2
    const int simd8 = ent_cpu_avx2();
#endif
#pragma omp parallel for if (rows * cols > ENT_PAR_MIN && !omp_in_parallel()) schedule(static)
    for (int64_t s = 0; s < strips; s++) {
#ifdef ENT_HAVE_AVX512_GEMM
        if (simd) {
            transpose_strip(src, 16 * s, cols, lds, dst, ldd);
            continue;
        }
#endif
#ifdef ENT_HAVE_AVX2
        if (simd8) {
            transpose_strip8(src, 16 * s, cols, lds, dst, ldd);
            continue;
        }
#endif
        transpose_rows(src, 16 * s, 16 * s + 16, 0, cols, lds, dst, ldd);
    }
    transpose_rows(src, 16 * strips, rows, 0, cols, lds, dst, ldd);
}
