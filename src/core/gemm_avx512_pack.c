/* gemm_avx512_pack.c — packing for the AVX-512 GEMM: copies a block of
 * op(B) into panels of 32 columns (for each k, 32 contiguous floats) and a
 * block of op(A) into panels of one row tile (for each k, the tile's rows
 * contiguous), so that the kernels read both with unit stride. The four
 * transpose cases differ only here; where the source runs the wrong way,
 * 16 x 16 blocks are transposed in registers. */
#include "core/gemm_avx512.h"

#ifdef ENT_HAVE_AVX512_GEMM

/* Load `rows` rows of up to 16 floats (mask km) at src, stride ld; the
 * other rows are zero. */
ENT_AVX512_INLINE void load_rows(__m512 r[16], const float *src, int64_t ld,
                                 int rows, __mmask16 km) {
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * ld)
                        : _mm512_setzero_ps();
}

/* B panels from op(B)[k0.., j0..]; panel p (columns 32p..) holds, for each
 * k, w = 16 or 32 floats (w = 16 when at most 16 columns remain). */
ENT_AVX512 void ent_gemm_avx512_pack_b(const ent_gemm_args *g, int64_t k0, int64_t kc,
                                int64_t j0, int64_t nc, float *restrict dst) {
    for (int64_t jp = 0; jp < nc; jp += ENT_GEMM_NR) {
        const int64_t nr = ent_min64(ENT_GEMM_NR, nc - jp), w = nr > 16 ? 32 : 16;
        float *panel = dst + jp * kc;
        if (!g->tb) { /* rows of B run along j: copy */
            const float *src = g->B + k0 * g->ldb + j0 + jp;
            for (int64_t k = 0; k < kc; k++, src += g->ldb)
                for (int64_t v = 0; v < w; v += 16)
                    _mm512_store_ps(panel + k * w + v,
                                    _mm512_maskz_loadu_ps(ent_lanes(nr - v), src + v));
            continue;
        }
        for (int64_t jj = 0; jj < nr; jj += 16) { /* B[j][k]: transpose */
            const float *src = g->B + (j0 + jp + jj) * g->ldb + k0;
            const int rows = (int)ent_min64(16, nr - jj);
            for (int64_t k = 0; k < kc; k += 16) {
                const int64_t kk = ent_min64(16, kc - k);
                __m512 r[16];
                load_rows(r, src + k, g->ldb, rows, ent_lanes(kk));
                transpose16(r);
                for (int64_t i = 0; i < kk; i++)
                    _mm512_store_ps(panel + (k + i) * w + jj, r[i]);
            }
        }
    }
}

/* A panels from op(A)[i0.., k0..]; the panel of a row tile starting at row
 * ip holds, for each k, its mr rows contiguous, at dst + ip * kc. Stores
 * are whole vectors written in increasing address order, so each one's
 * tail past mr is overwritten by the next (or lands in the 16 floats of slack the
 * buffer has). */
ENT_AVX512 void ent_gemm_avx512_pack_a(const ent_gemm_args *g, int64_t i0, int64_t mc,
                                int64_t k0, int64_t kc, float *restrict dst) {
    const int64_t nt = ent_row_tiles(mc, ENT_GEMM_MR);
    for (int64_t t = 0; t < nt; t++) {
        const int64_t ip = ent_row_start(mc, nt, t), mr = ent_row_start(mc, nt, t + 1) - ip;
        float *panel = dst + ip * kc;
        if (g->ta) { /* A[k][i]: rows run along i: copy */
            const float *src = g->A + k0 * g->lda + i0 + ip;
            for (int64_t k = 0; k < kc; k++, src += g->lda)
                _mm512_storeu_ps(panel + k * mr, _mm512_maskz_loadu_ps(ent_lanes(mr), src));
            continue;
        }
        const float *src = g->A + (i0 + ip) * g->lda + k0; /* A[i][k]: transpose */
        for (int64_t k = 0; k < kc; k += 16) {
            const int64_t kk = ent_min64(16, kc - k);
            __m512 r[16];
            load_rows(r, src + k, g->lda, (int)mr, ent_lanes(kk));
            transpose16(r);
            for (int64_t i = 0; i < kk; i++)
                _mm512_storeu_ps(panel + (k + i) * mr, r[i]);
        }
    }
}

#endif
