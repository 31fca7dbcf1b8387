/* gemm_avx2.h — what the AVX2 files of the tiled GEMM share (internal;
 * gemm_tiled.c describes the design).
 *
 *   gemm_avx2_kernel.c  the 6 x 16 register-tile kernels, the dot tiles,
 *                       the ISA table
 *   gemm_avx2_pack.c    packing of A and B (all four transpose cases)
 *
 * Every function of these files is compiled for AVX2 + FMA by attribute;
 * they run only after gemm.c's CPU check. */
#ifndef ENT_GEMM_AVX2_H
#define ENT_GEMM_AVX2_H

#include "core/simd.h"

#ifdef ENT_HAVE_AVX2
#define ENT_HAVE_AVX2_GEMM 1

#include "core/gemm_tiled.h"

enum {
    ENT_GEMM_AVX2_MR = 6,  /* rows per register tile */
    ENT_GEMM_AVX2_NR = 16, /* columns per register tile (two ymm) */
};

void ent_gemm_avx2_pack_a(const ent_gemm_args *g, int64_t i0, int64_t mc, int64_t k0,
                          int64_t kc, float *dst);
void ent_gemm_avx2_pack_b(const ent_gemm_args *g, int64_t k0, int64_t kc, int64_t j0,
                          int64_t nc, float *dst);

#endif
#endif
