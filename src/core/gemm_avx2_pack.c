/* gemm_avx2_pack.c — packing for the AVX2 GEMM: copies a block of op(B)
 * into panels of 16 columns (for each k, 16 contiguous floats; 8 for a
 * last panel of at most 8) and a block of op(A) into panels of one row
 * tile (for each k, the tile's rows contiguous), so that the kernels read
 * both with unit stride. Where the source runs the wrong way, 8 x 8 blocks
 * are transposed in registers. Reads past the operands are masked. */
#include "core/gemm_avx2.h"

#ifdef ENT_HAVE_AVX2_GEMM

/* Load `rows` rows of up to 8 floats (mask km) at src, stride ld; the
 * other rows are zero. */
ENT_AVX2_INLINE void load_rows8(__m256 r[8], const float *src, int64_t ld, int64_t rows,
                                __m256i km) {
    for (int i = 0; i < 8; i++)
        r[i] = i < rows ? _mm256_maskload_ps(src + i * ld, km) : _mm256_setzero_ps();
}

/* B panels from op(B)[k0.., j0..]; panel p (columns 16p..) holds, for each
 * k, w = 8 or 16 floats, zero past the block's last column. */
ENT_AVX2 void ent_gemm_avx2_pack_b(const ent_gemm_args *g, int64_t k0, int64_t kc, int64_t j0,
                                   int64_t nc, float *restrict dst) {
    for (int64_t jp = 0; jp < nc; jp += ENT_GEMM_AVX2_NR) {
        const int64_t nr = ent_min64(ENT_GEMM_AVX2_NR, nc - jp), w = nr > 8 ? 16 : 8;
        float *panel = dst + jp * kc;
        if (!g->tb) { /* rows of B run along j: copy */
            const float *src = g->B + k0 * g->ldb + j0 + jp;
            const __m256i m0 = ent_lanes8(nr), m1 = ent_lanes8(nr - 8);
            for (int64_t k = 0; k < kc; k++, src += g->ldb) {
                _mm256_store_ps(panel + k * w, _mm256_maskload_ps(src, m0));
                if (w == 16) _mm256_store_ps(panel + k * w + 8, _mm256_maskload_ps(src + 8, m1));
            }
            continue;
        }
        for (int64_t jj = 0; jj < nr; jj += 8) { /* B[j][k]: transpose */
            const float *src = g->B + (j0 + jp + jj) * g->ldb + k0;
            const int64_t rows = ent_min64(8, nr - jj);
            for (int64_t k = 0; k < kc; k += 8) {
                const int64_t kk = ent_min64(8, kc - k);
                __m256 r[8];
                load_rows8(r, src + k, g->ldb, rows, ent_lanes8(kk));
                ent_transpose8(r);
                for (int64_t i = 0; i < kk; i++) _mm256_store_ps(panel + (k + i) * w + jj, r[i]);
            }
        }
    }
}

/* A panels from op(A)[i0.., k0..]; the panel of a row tile starting at row
 * ip holds, for each k, its mr rows contiguous, at dst + ip * kc. Stores
 * are whole vectors written in increasing address order, so each one's
 * tail past mr is overwritten by the next (or lands in the buffer's
 * slack). */
ENT_AVX2 void ent_gemm_avx2_pack_a(const ent_gemm_args *g, int64_t i0, int64_t mc, int64_t k0,
                                   int64_t kc, float *restrict dst) {
    const int64_t nt = ent_row_tiles(mc, ENT_GEMM_AVX2_MR);
    for (int64_t t = 0; t < nt; t++) {
        const int64_t ip = ent_row_start(mc, nt, t), mr = ent_row_start(mc, nt, t + 1) - ip;
        float *panel = dst + ip * kc;
        if (g->ta) { /* A[k][i]: rows run along i: copy */
            const float *src = g->A + k0 * g->lda + i0 + ip;
            const __m256i m = ent_lanes8(mr);
            for (int64_t k = 0; k < kc; k++, src += g->lda)
                _mm256_storeu_ps(panel + k * mr, _mm256_maskload_ps(src, m));
            continue;
        }
        const float *src = g->A + (i0 + ip) * g->lda + k0; /* A[i][k]: transpose */
        for (int64_t k = 0; k < kc; k += 8) {
            const int64_t kk = ent_min64(8, kc - k);
            __m256 r[8];
            load_rows8(r, src + k, g->lda, mr, ent_lanes8(kk));
            ent_transpose8(r);
            for (int64_t i = 0; i < kk; i++) _mm256_storeu_ps(panel + (k + i) * mr, r[i]);
        }
    }
}

#endif
