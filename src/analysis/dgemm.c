/* dgemm.c — the R-operator's double GEMM (see rop.h): OpenBLAS, except
 * inside a parallel region, where a plain loop nest of our own runs.
 *
 * Why: the exact Hessian computes one product per thread (nethess.c,
 * apply_many). Debian's OpenBLAS (OpenMP build) called from two threads at
 * once ran them one after the other under OpenMP's default spinning wait
 * (user time = wall time: 15.4 s for the 6,370 products of tiny-mnistfc at
 * 2 threads, 13.8 s at 1) and scaled only with passive waiting (7.9 s);
 * these loops: 5.6 s spinning, 6.5 s passive. The products there are
 * small and skinny (a chunk of 128 samples against layers of tens to
 * hundreds of units), so loops that vectorise along the contiguous
 * dimension are enough:
 *   op(B) not transposed: C row += a_ik * B row k   (vectors along N)
 *   op(B) transposed:     C_ij  += A row i . B row j (vectors along K)
 * Sums run in another order than OpenBLAS's, so results differ from it by
 * rounding (~1e-16 relative). */
#include <cblas.h>
#include <omp.h>

#include "analysis/rop.h"
#include "core/simd.h"

/* c[0..n) += alpha sum_k a[k * as] * b[k * ldb + 0..n), four rows of B per
 * pass over c (one load and store of c per four multiply-adds). */
ENT_CLONES static void row_axpy(int64_t K, int64_t n, double alpha, const double *a, int64_t as,
                                const double *b, int64_t ldb, double *restrict c) {
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
        const double a0 = alpha * a[k * as], a1 = alpha * a[(k + 1) * as];
        const double a2 = alpha * a[(k + 2) * as], a3 = alpha * a[(k + 3) * as];
        const double *restrict b0 = b + k * ldb, *restrict b1 = b0 + ldb;
        const double *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;
        for (int64_t j = 0; j < n; j++) c[j] += (a0 * b0[j] + a1 * b1[j]) + (a2 * b2[j] + a3 * b3[j]);
    }
    for (; k < K; k++) {
        const double ak = alpha * a[k * as];
        const double *restrict bk = b + k * ldb;
        for (int64_t j = 0; j < n; j++) c[j] += ak * bk[j];
    }
}

/* c[j] += alpha sum_k a[k] * b[j * ldb + k], j < n (a contiguous): four
 * dot products per pass over a, each with its own vector accumulator. */
ENT_CLONES static void row_dots(int64_t K, int64_t n, double alpha, const double *a,
                                const double *b, int64_t ldb, double *restrict c) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const double *restrict b0 = b + j * ldb, *restrict b1 = b0 + ldb;
        const double *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (int64_t k = 0; k < K; k++) {
            s0 += a[k] * b0[k], s1 += a[k] * b1[k];
            s2 += a[k] * b2[k], s3 += a[k] * b3[k];
        }
        c[j] += alpha * s0, c[j + 1] += alpha * s1, c[j + 2] += alpha * s2, c[j + 3] += alpha * s3;
    }
    for (; j < n; j++) {
        const double *restrict bj = b + j * ldb;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < K; k++) s += a[k] * bj[k];
        c[j] += alpha * s;
    }
}

/* Both operands transposed (not used by the layers; kept for completeness). */
static void row_dots_strided(int64_t K, int64_t n, double alpha, const double *a, int64_t as,
                             const double *b, int64_t ldb, double *c) {
    for (int64_t j = 0; j < n; j++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++) s += a[k * as] * b[j * ldb + k];
        c[j] += alpha * s;
    }
}

static void dgemm_loops(int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha,
                        const double *A, int64_t lda, const double *B, int64_t ldb, double beta,
                        double *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        double *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) c[j] = beta == 0.0 ? 0.0 : beta * c[j]; /* BLAS: beta 0 ignores C */
        const double *a = transA ? A + i : A + i * lda; /* row i of op(A): stride lda or 1 */
        const int64_t as = transA ? lda : 1;
        if (!transB) row_axpy(K, N, alpha, a, as, B, ldb, c);
        else if (!transA) row_dots(K, N, alpha, a, B, ldb, c);
        else row_dots_strided(K, N, alpha, a, as, B, ldb, c);
    }
}

void ent_dgemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
               double alpha, const double *A, int64_t lda, const double *B,
               int64_t ldb, double beta, double *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (omp_in_parallel()) {
        dgemm_loops(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
