/* dense.c — the exact Hessian of small problems: H assembled from n HVPs
 * and its eigenvalues by LAPACK, plus the tridiagonal solver (dstev) that
 * Lanczos and SLQ use. LAPACK is called through its Fortran symbols,
 * declared here (OpenBLAS's copy, LAPACK 3.7 or later). The trailing
 * size_t arguments are gfortran's hidden lengths of the CHARACTER
 * arguments. Matrices are symmetric, so row- and column-major are the
 * same; eigenvectors come back as columns (column-major), i.e. as rows of
 * our row-major array.
 *
 * Eigenvalues alone: dsyevd_2stage, whose reduction to tridiagonal form
 * goes through a band matrix with BLAS-3 work instead of dsytrd's
 * memory-bound BLAS-2 sweeps (n = 6370: 11.7 s against dsyevd's 18.8 s,
 * one thread). With vectors: dsyevd (divide and conquer).
 *
 * LAPACK runs on one thread: its reductions make thousands of BLAS-2 calls,
 * each a fork/join, and on this shared 2-core machine two threads made
 * dsyevd 10-35x SLOWER under load (n = 1283: 0.2 s on one thread, 7 s on
 * two), and dsyevd_2stage 3x slower even when quiet (n = 4000). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);
void dsyevd_2stage_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork,
                    int *info, size_t jobz_len, size_t uplo_len);
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz,
            double *work, int *info, size_t jobz_len);

/* Run LAPACK single-threaded, restoring the caller's thread count. */
static int serial_begin(void) {
    const int t = ent_get_threads();
    ent_set_threads(1);
    return t;
}

#define DENSE_BATCH 32 /* columns per apply_many call */

/* Rows j0 .. j0+k-1 of H = H e_j into H + j0 n, through apply_many (E:
 * DENSE_BATCH * n zeros, returned zero). */
static ent_status columns_many(const ent_hvp *h, int64_t j0, int64_t k, double *E, double *H) {
    const int64_t n = h->n;
    for (int64_t j = 0; j < k; j++) E[j * n + j0 + j] = 1.0;
    ent_status s = h->apply_many(h->ctx, k, E, H + j0 * n);
    for (int64_t j = 0; j < k; j++) E[j * n + j0 + j] = 0.0;
    return s;
}

ent_status ent_hessian_dense(const ent_hvp *h, double *H, double *asym) {
    const int64_t n = h->n;
    if (n < 1 || n > ENT_HESSIAN_EXACT_MAX)
        return ent_fail(ENT_EINVAL, "exact hessian: %lld parameters, the limit is %d "
                        "(use --method lanczos or slq)", (long long)n, ENT_HESSIAN_EXACT_MAX);
    const int64_t batch = h->apply_many ? DENSE_BATCH : 1;
    double *e = calloc((size_t)(n * batch), sizeof(double));
    if (!e) return ent_fail(ENT_ENOMEM, "exact hessian: out of memory");
    ent_status s = ENT_OK;
    for (int64_t j = 0; j < n && s == ENT_OK; j += batch) { /* row j = H e_j (= column j) */
        const int64_t k = n - j < batch ? n - j : batch;
        if (h->apply_many) {
            s = columns_many(h, j, k, e, H);
        } else {
            e[j] = 1.0;
            s = ent_hvp_apply(h, e, H + j * n);
            e[j] = 0.0;
        }
    }
    free(e);
    if (s != ENT_OK) return s;
    double big = 0.0, diff = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++) {
            const double a = H[i * n + j], b = H[j * n + i];
            if (fabs(a) > big) big = fabs(a);
            if (fabs(b) > big) big = fabs(b);
            if (fabs(a - b) > diff) diff = fabs(a - b);
            H[i * n + j] = H[j * n + i] = 0.5 * (a + b);
        }
    if (asym) *asym = big > 0.0 ? diff / big : 0.0;
    return ENT_OK;
}

/* LAPACK's workspace for eigenvalues only (dsyevd_2stage), in doubles and
 * ints; 0 if the query fails. */
int64_t ent_sym_eig_work(int64_t n, int64_t *iwork) {
    const int N = (int)n, query = -1;
    double wq = 0.0, a = 0.0, w = 0.0;
    int iq = 0, info = 0;
    dsyevd_2stage_("N", "L", &N, &a, &N, &w, &wq, &query, &iq, &query, &info, 1, 1);
    if (iwork) *iwork = iq;
    return info == 0 ? (int64_t)wq : 0;
}

ent_status ent_sym_eig(double *A, int64_t n, double *w, int vectors) {
    return ent_sym_eig_uplo(A, n, w, vectors, 'U', 1);
}

/* The matrix is addressed with 64-bit offsets inside LAPACK (gfortran's
 * index arithmetic, OpenBLAS's BLASLONG), so n*n may pass 2^31; n itself
 * and the workspace sizes (about 100 n for dsyevd_2stage without vectors,
 * 1 + 6n + 2n^2 with) must fit an int. */
ent_status ent_sym_eig_uplo(double *A, int64_t n, double *w, int vectors, char uplo, int threads_wanted) {
    if (n < 1 || n > (vectors ? 30000 : 10000000))
        return ent_fail(ENT_EINVAL, "eigensolver: n = %lld out of range", (long long)n);
    const int N = (int)n, query = -1;
    const char jobz = vectors ? 'V' : 'N';
    double wq = 0.0;
    int iq = 0, info = 0;
    const int threads = ent_get_threads();
    ent_set_threads(threads_wanted);
    /* the two drivers take the same arguments; 2-stage computes no vectors */
    void (*const syevd)(const char *, const char *, const int *, double *, const int *, double *,
                        double *, const int *, int *, const int *, int *, size_t, size_t) =
        vectors ? dsyevd_ : dsyevd_2stage_;
    syevd(&jobz, &uplo, &N, A, &N, w, &wq, &query, &iq, &query, &info, 1, 1);
    if (info != 0) ent_set_threads(threads);
    if (info != 0) return ent_fail(ENT_EINVAL, "eigensolver: LAPACK workspace query, info %d", info);
    int lwork = (int)wq, liwork = iq;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (work && iwork) syevd(&jobz, &uplo, &N, A, &N, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    ent_set_threads(threads);
    if (!work || !iwork) {
        free(work), free(iwork);
        return ent_fail(ENT_ENOMEM, "eigensolver: out of memory (n = %d)", N);
    }
    free(work), free(iwork);
    if (info != 0) return ent_fail(ENT_EINVAL, "eigensolver: LAPACK failed to converge (info %d)", info);
    return ENT_OK;
}

ent_status ent_tridiag_eig(const double *alpha, const double *beta, int k, double *theta,
                           double *first, double *last) {
    if (k < 1) return ent_fail(ENT_EINVAL, "tridiagonal eigensolver: k = %d", k);
    const int want = first || last;
    const char jobz = want ? 'V' : 'N';
    double *e = malloc(sizeof(double) * (size_t)k);
    double *z = want ? malloc(sizeof(double) * (size_t)k * (size_t)k) : NULL;
    double *work = malloc(sizeof(double) * (size_t)(2 * k));
    if (!e || !work || (want && !z)) {
        free(e), free(z), free(work);
        return ent_fail(ENT_ENOMEM, "tridiagonal eigensolver: out of memory");
    }
    memcpy(theta, alpha, sizeof(double) * (size_t)k);
    if (k > 1) memcpy(e, beta, sizeof(double) * (size_t)(k - 1));
    int info = 0;
    const int threads = serial_begin();
    dstev_(&jobz, &k, theta, e, z, &k, work, &info, 1);
    ent_set_threads(threads);
    if (info == 0 && want)
        for (int i = 0; i < k; i++) { /* eigenvector i is column i (column-major) */
            if (first) first[i] = z[(size_t)i * (size_t)k];
            if (last) last[i] = z[(size_t)i * (size_t)k + (size_t)(k - 1)];
        }
    free(e), free(z), free(work);
    if (info != 0) return ent_fail(ENT_EINVAL, "tridiagonal eigensolver: dstev info %d", info);
    return ENT_OK;
}
