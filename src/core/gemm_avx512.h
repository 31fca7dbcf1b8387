/* gemm_avx512.h — what the AVX-512 files of the tiled GEMM share
 * (internal; gemm_tiled.c describes the design).
 *
 *   gemm_avx512_kernel.c  the 12 x 32 register-tile kernels, the ISA table
 *   gemm_avx512_pack.c    packing of A and B (all four transpose cases)
 *   gemm_avx512_dot.c     A B^T with N <= 32: dot products along K
 *
 * Every function of these files is compiled for AVX-512 by attribute (the
 * rest of the tree stays portable); they run only after gemm.c's CPU
 * check. On other targets the header declares nothing. */
#ifndef ENT_GEMM_AVX512_H
#define ENT_GEMM_AVX512_H

#include "core/simd.h"

#ifdef ENT_HAVE_AVX512
#define ENT_HAVE_AVX512_GEMM 1

#include <stdint.h>

#include "core/gemm_tiled.h"

enum {
    ENT_GEMM_MR = 12, /* rows per register tile */
    ENT_GEMM_NR = 32, /* columns per register tile (two zmm) */
};

/* Mask of the first n (<= 16, all if more) lanes. */
static inline __mmask16 ent_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* In-register transpose of a 16x16 block: r[i][j] -> r[j][i] (the
 * packing and ent_transpose use it). */
ENT_AVX512_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#define PD(x) _mm512_castps_pd(x)
#define PS(x) _mm512_castpd_ps(x)
    for (int i = 0; i < 16; i += 4) {
        r[i] = PS(_mm512_unpacklo_pd(PD(t[i]), PD(t[i + 2])));
        r[i + 1] = PS(_mm512_unpackhi_pd(PD(t[i]), PD(t[i + 2])));
        r[i + 2] = PS(_mm512_unpacklo_pd(PD(t[i + 1]), PD(t[i + 3])));
        r[i + 3] = PS(_mm512_unpackhi_pd(PD(t[i + 1]), PD(t[i + 3])));
    }
#undef PD
#undef PS
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

/* gemm_avx512_pack.c: op(A)[i0:i0+mc, k0:k0+kc] and op(B)[k0.., j0:j0+nc]
 * into the packed layouts the kernels read (dst 64-byte aligned; pack_a
 * may write 16 floats past mc * kc). */
void ent_gemm_avx512_pack_a(const ent_gemm_args *g, int64_t i0, int64_t mc,
                     int64_t k0, int64_t kc, float *dst);
void ent_gemm_avx512_pack_b(const ent_gemm_args *g, int64_t k0, int64_t kc,
                     int64_t j0, int64_t nc, float *dst);

/* gemm_avx512_kernel.c: C[0:mc, 0:nc] (C already offset to the blocks'
 * corner) = alpha * a b + beta * C, a: mc x kc, b: kc x nc. */
void ent_gemm_avx512_macro_kernel(int64_t mc, int64_t nc, int64_t kc, ent_gemm_block a,
                           ent_gemm_block b, float *c, int64_t ldc, float alpha,
                           float beta);

/* gemm_avx512_dot.c: the dot-product tiles, dots[r][s] for r <= 4, s <= 5. */
extern const ent_gemm_dot_fn ent_gemm_avx512_dots[5][6];

#endif
#endif
