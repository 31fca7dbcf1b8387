/* gemm.c — the one GEMM entry point and its backend choice (see
 * core/gemm_internal.h): our tiled GEMM with AVX-512 or AVX2 kernels where
 * the CPU has them, OpenBLAS otherwise; ENT_GEMM=blas|avx512|avx2|naive
 * forces one. The naive loop stays as fallback and test oracle. Row-major
 * throughout. */
#include <cblas.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm_internal.h"
#include "core/gemm_tiled.h"
#include "core/simd.h"

static atomic_int forced;           /* set by ent_gemm_set_backend, 0 = AUTO */
static atomic_int from_env = -1;    /* ENT_GEMM parsed once; -1 = not yet */
static atomic_int cpu_avx512 = -1;  /* -1 = not probed yet */
static atomic_int cpu_avx2 = -1;

int ent_gemm_have_avx512(void) {
    int v = atomic_load(&cpu_avx512);
    if (v < 0) {
#if defined(__x86_64__) && defined(__GNUC__)
        /* libgcc's probe also checks that the OS saves the zmm state. */
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
        v = 0;
#endif
        atomic_store(&cpu_avx512, v);
    }
    return v;
}

int ent_gemm_have_avx2(void) {
    int v = atomic_load(&cpu_avx2);
    if (v < 0) {
#ifdef ENT_HAVE_AVX2
        __builtin_cpu_init();
        v = ent_cpu_avx2() ? 1 : 0;
#else
        v = 0;
#endif
        atomic_store(&cpu_avx2, v);
    }
    return v;
}

int ent_gemm_backend_tiled(ent_gemm_backend b) {
    return b == ENT_GEMM_AVX512 || b == ENT_GEMM_AVX2;
}

static const char *const names[] = {"auto", "blas", "avx512", "naive", "avx2"};

const char *ent_gemm_backend_name(ent_gemm_backend b) {
    return (unsigned)b < sizeof names / sizeof *names ? names[b] : "?";
}

int ent_gemm_backend_parse(const char *s, ent_gemm_backend *out) {
    for (int i = 0; s && i < (int)(sizeof names / sizeof *names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (ent_gemm_backend)i;
            return 1;
        }
    return 0;
}

ent_gemm_backend ent_gemm_set_backend(ent_gemm_backend b) {
    return (ent_gemm_backend)atomic_exchange(&forced, (int)b);
}

ent_gemm_backend ent_gemm_active_backend(void) {
    int b = atomic_load(&forced);
    if (b == ENT_GEMM_AUTO) {
        b = atomic_load(&from_env);
        if (b < 0) { /* racing first calls parse the same string: harmless */
            ent_gemm_backend e = ENT_GEMM_AUTO;
            ent_gemm_backend_parse(getenv("ENT_GEMM"), &e);
            atomic_store(&from_env, b = (int)e);
        }
    }
    /* the best tiled backend the CPU has, at most the one asked for */
    if ((b == ENT_GEMM_AUTO || b == ENT_GEMM_AVX512) && !ent_gemm_have_avx512())
        b = ENT_GEMM_AVX2;
    if (b == ENT_GEMM_AUTO) b = ENT_GEMM_AVX512;
    if (b == ENT_GEMM_AVX2 && !ent_gemm_have_avx2()) b = ENT_GEMM_BLAS;
    return (ent_gemm_backend)b;
}

static void hook_all(void (*fn)(void *, int64_t, int64_t, int64_t, int64_t),
                     const ent_gemm_hooks *h, int64_t M, int64_t N) {
    if (h && fn) fn(h->ctx, 0, M, 0, N);
}

void ent_gemm_hooked(int transA, int transB, int64_t M, int64_t N, int64_t K,
                     float alpha, const float *A, int64_t lda, const float *B,
                     int64_t ldb, float beta, float *C, int64_t ldc,
                     const ent_gemm_hooks *hooks) {
    if (M == 0 || N == 0) return;
    const ent_gemm_backend b = ent_gemm_active_backend();
#ifdef ENT_HAVE_TILED_GEMM
    if (ent_gemm_backend_tiled(b)) {
        ent_gemm_tiled(b == ENT_GEMM_AVX512 ? &ent_gemm_isa_avx512 : &ent_gemm_isa_avx2,
                       transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                       omp_in_parallel() ? 1 : omp_get_max_threads(), hooks);
        return;
    }
#endif
    hook_all(hooks ? hooks->before : NULL, hooks, M, N);
    if (b == ENT_GEMM_NAIVE)
        ent_gemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                    alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    hook_all(hooks ? hooks->after : NULL, hooks, M, N);
}

void ent_gemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B,
              int64_t ldb, float beta, float *C, int64_t ldc) {
    ent_gemm_hooked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void ent_gemm_naive(int transA, int transB, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float a = transA ? A[k * lda + i] : A[i * lda + k];
                float b = transB ? B[j * ldb + k] : B[k * ldb + j];
                s += (double)a * (double)b;
            }
            float c = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = c + alpha * (float)s;
        }
}
