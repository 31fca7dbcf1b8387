/* gemm_avx512_kernel.c — the register-tile kernels of the AVX-512 GEMM.
 *
 * A tile is up to 12 rows x 32 columns of C (24 zmm accumulators: FMA
 * latency 4 x 2 ports needs at least 8 chains in flight; 24 + 2 B vectors
 * + 1 broadcast fit in 32 registers). Per k: two vector loads of B, one
 * broadcast of A per row, two FMAs per row. Edge tiles have their own
 * instantiations (1..12 rows, one or two vectors, the last one masked): no
 * padding is computed or stored. */
#include "core/gemm_avx512.h"

#ifdef ENT_HAVE_AVX512_GEMM

/* C[m, 16*nv] tile (last vector masked by ml) = alpha * a.b + beta * C.
 * a: element (i, k) at a[i * ai + k * ak]: a packed panel (ai = 1, ak = m),
 * A itself transposed (ai = 1, ak = lda) or not (ai = lda, ak = 1). b: kc
 * rows of 16nv floats, bs apart (a packed panel, or B itself). The last B
 * vector is loaded under ml: B itself may end there. m, nv and one of the
 * A strides are compile-time constants in every instantiation below, so
 * acc lives in registers. */
ENT_AVX512_INLINE void kernel_body(const int m, const int nv, int64_t kc,
                                   const float *restrict a, int64_t ai, int64_t ak,
                                   const float *restrict b, int64_t bs,
                                   float *restrict c, int64_t ldc, float alpha,
                                   float beta, __mmask16 ml) {
    __m512 acc[ENT_GEMM_MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            bv[v] = v < nv - 1 ? _mm512_loadu_ps(b + 16 * v)
                               : _mm512_maskz_loadu_ps(ml, b + 16 * v);
#pragma GCC unroll 12
        for (int i = 0; i < m; i++) {
            const __m512 av = _mm512_set1_ps(a[i * ai]);
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += ak;
        b += bs;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < m; i++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *cp = c + i * ldc + 16 * v;
            const __mmask16 mk = v == nv - 1 ? ml : (__mmask16)0xFFFF;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            if (beta != 0.0f) /* beta = 0: C may hold NaN, never read it */
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, cp), r);
            if (mk == 0xFFFF)
                _mm512_storeu_ps(cp, r);
            else
                _mm512_mask_storeu_ps(cp, mk, r);
        }
}

typedef void (*kernel_fn)(int64_t kc, const float *a, int64_t ai,
                          int64_t ak, const float *b, int64_t bs, float *c,
                          int64_t ldc, float alpha, float beta, __mmask16 ml);

#define KERNEL(m, v)                                                         \
    static ENT_AVX512 void kernel_##m##_##v(int64_t kc, const float *a,      \
                                            int64_t ai, int64_t ak,          \
                                            const float *b, int64_t bs,      \
                                            float *c, int64_t ldc,           \
                                            float alpha, float beta,         \
                                            __mmask16 ml) {                  \
        if (ai == 1)                                                         \
            kernel_body(m, v, kc, a, 1, ak, b, bs, c, ldc, alpha, beta, ml); \
        else                                                                 \
            kernel_body(m, v, kc, a, ai, 1, b, bs, c, ldc, alpha, beta, ml); \
    }
#define KERNELS(m) KERNEL(m, 1) KERNEL(m, 2)
KERNELS(1) KERNELS(2) KERNELS(3) KERNELS(4) KERNELS(5) KERNELS(6)
KERNELS(7) KERNELS(8) KERNELS(9) KERNELS(10) KERNELS(11) KERNELS(12)
#undef KERNELS
#undef KERNEL

#define ROW(m) {kernel_##m##_1, kernel_##m##_2}
static const kernel_fn kernels[ENT_GEMM_MR + 1][2] = {
    {0, 0},  ROW(1), ROW(2), ROW(3),  ROW(4),  ROW(5), ROW(6),
    ROW(7),  ROW(8), ROW(9), ROW(10), ROW(11), ROW(12)};
#undef ROW

/* All register tiles of one A block (mc x kc) times one B block (kc x nc):
 * row tiles of near-equal height, then column tiles of 32 (the last one
 * 16 wide when at most 16 columns remain, its last vector masked). */
ENT_AVX512 void ent_gemm_avx512_macro_kernel(int64_t mc, int64_t nc, int64_t kc,
                                      ent_gemm_block a, ent_gemm_block b, float *c,
                                      int64_t ldc, float alpha, float beta) {
    const int64_t nt = ent_row_tiles(mc, ENT_GEMM_MR);
    for (int64_t t = 0; t < nt; t++) {
        const int64_t ir = ent_row_start(mc, nt, t), mr = ent_row_start(mc, nt, t + 1) - ir;
        const float *ap = a.p + ir * (!a.ld ? kc : a.t ? 1 : a.ld);
        const int64_t ai = a.ld && !a.t ? a.ld : 1, ak = !a.ld ? mr : a.t ? a.ld : 1;
        for (int64_t jr = 0; jr < nc; jr += ENT_GEMM_NR) {
            const int64_t nr = ent_min64(ENT_GEMM_NR, nc - jr);
            const int nv = nr > 16 ? 2 : 1;
            const float *bp = b.p + jr * (b.ld ? 1 : kc);
            kernels[mr][nv - 1](kc, ap, ai, ak, bp, b.ld ? b.ld : 16 * nv,
                                c + ir * ldc + jr, ldc, alpha, beta,
                                ent_lanes(nr - 16 * (nv - 1)));
        }
    }
}

const ent_gemm_isa ent_gemm_isa_avx512 = {
    "avx512", ENT_GEMM_MR, ENT_GEMM_NR, 1, ent_gemm_avx512_pack_a, ent_gemm_avx512_pack_b,
    ent_gemm_avx512_macro_kernel, 4, 5, ent_gemm_avx512_dots,
};

#endif
