/* gemm_internal.h — GEMM backends behind ent_gemm (internal; tests and
 * benchmarks select one, the library picks the best at run time).
 *
 * Selection, first match wins:
 *   1. ent_gemm_set_backend(b) with b != ENT_GEMM_AUTO (tests, benchmarks);
 *   2. the environment variable ENT_GEMM=blas|avx512|naive, read once;
 *   3. auto: avx512 when the CPU (and OS) support AVX-512F, else avx2 when
 *      they support AVX2 and FMA, else blas.
 * A tiled backend asked for on a CPU without its instructions runs the
 * best one the CPU has (avx512 -> avx2 -> blas; avx2 -> blas). An unknown
 * ENT_GEMM value counts as auto. */
#ifndef ENT_GEMM_INTERNAL_H
#define ENT_GEMM_INTERNAL_H

#include "entropic.h"

typedef enum {
    ENT_GEMM_AUTO = 0,
    ENT_GEMM_BLAS,   /* OpenBLAS cblas_sgemm */
    ENT_GEMM_AVX512, /* src/core/gemm_tiled.c with the AVX-512 kernels */
    ENT_GEMM_NAIVE,  /* ent_gemm_naive: double accumulation, slow */
    ENT_GEMM_AVX2,   /* src/core/gemm_tiled.c with the AVX2 + FMA kernels */
} ent_gemm_backend;

/* Force a backend for this process (AUTO: back to env/auto); returns the
 * previous forced value. Not thread-safe against concurrent ent_gemm calls
 * in the sense that a call already running keeps its backend. */
ent_gemm_backend ent_gemm_set_backend(ent_gemm_backend b);
/* The backend ent_gemm uses now (never AUTO). */
ent_gemm_backend ent_gemm_active_backend(void);
const char *ent_gemm_backend_name(ent_gemm_backend b); /* "blas", ... */
/* Parse "blas" | "avx512" | "avx2" | "naive" | "auto"; 0 if unknown. */
int ent_gemm_backend_parse(const char *s, ent_gemm_backend *out);
/* 1 if this CPU and OS can run the AVX-512 backend. */
int ent_gemm_have_avx512(void);
/* 1 if this CPU and OS can run the AVX2 backend (AVX2 and FMA). */
int ent_gemm_have_avx2(void);
/* 1 if b is one of our own tiled backends (avx512, avx2): the hooks run
 * inside its threads, block by block, and its sums do not depend on the
 * operands' orientation or the thread count. */
int ent_gemm_backend_tiled(ent_gemm_backend b);

/* Work a caller attaches to the blocks of C: before(ctx, m0, m1, n0, n1)
 * runs on C[m0:m1, n0:n1] before any product is added there, after(...)
 * once that block is final. The AVX-512 backend calls them on the thread
 * that computes the block, inside its parallel region, so the caller's
 * element-wise work (a dense layer's bias, the transpose of its output, the
 * bias gradient) costs no fork of its own and finds the block in cache
 * (the AVX2 backend likewise);
 * the other backends call them once, on all of C, before and after. The
 * blocks tile C; either function may be NULL. */
typedef struct {
    void (*before)(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
    void (*after)(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
    void *ctx;
} ent_gemm_hooks;

/* ent_gemm with hooks (NULL: none). */
void ent_gemm_hooked(int transA, int transB, int64_t M, int64_t N, int64_t K,
                     float alpha, const float *A, int64_t lda, const float *B,
                     int64_t ldb, float beta, float *C, int64_t ldc,
                     const ent_gemm_hooks *hooks);

/* The same sums in the same order as the tiled backends' packed path
 * (every product but A B^T with N <= 32, K >= 64, which takes the dot-
 * product path), one element at a time and without packing buffers: what
 * that path falls back to when every buffer slot is taken. Bit-identical
 * to the avx512 and avx2 backends there (tests check it). */
void ent_gemm_tiled_reference(int transA, int transB, int64_t M, int64_t N, int64_t K,
                              float alpha, const float *A, int64_t lda, const float *B,
                              int64_t ldb, float beta, float *C, int64_t ldc);

#endif
