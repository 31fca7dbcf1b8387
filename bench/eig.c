/* bench/eig.c — LAPACK's symmetric eigensolvers, eigenvalues only, on a
 * dense n x n matrix with a known spectrum (Q diag(lambda) Q^T, Q from
 * the QR of a Gaussian matrix), to choose the exact Hessian's driver and
 * extrapolate its time to n = 47,658 (small-lenet) by n^3.
 *
 *   build:  make bench-eig               (-> $(BUILD)/bench_eig)
 *   usage:  bench_eig N DRIVER THREADS   DRIVER: dsyevd | dsyevd_2stage | dsyev_2stage
 *
 * Prints "driver n threads seconds max_error workspace_doubles". The
 * matrix is built with OpenBLAS (dgeqrf/dorgqr, dgemm) outside the clock. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

typedef void syev_fn(const char *, const char *, const int *, double *, const int *, double *,
                     double *, const int *, int *, const int *, int *, size_t, size_t);
void dsyevd_(const char *, const char *, const int *, double *, const int *, double *, double *,
             const int *, int *, const int *, int *, size_t, size_t);
void dsyevd_2stage_(const char *, const char *, const int *, double *, const int *, double *,
                    double *, const int *, int *, const int *, int *, size_t, size_t);
void dsyev_2stage_(const char *, const char *, const int *, double *, const int *, double *,
                   double *, const int *, int *, size_t, size_t);
void dgeqrf_(const int *, const int *, double *, const int *, double *, double *, const int *, int *);
void dorgqr_(const int *, const int *, const int *, double *, const int *, const double *, double *,
             const int *, int *);
void dgemm_(const char *, const char *, const int *, const int *, const int *, const double *,
            const double *, const int *, const double *, const int *, const double *, double *,
            const int *, size_t, size_t);

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A = Q diag(lam) Q^T (column-major, n x n). */
static void make(int n, const double *lam, double *A) {
    double *Q = malloc(sizeof(double) * (size_t)n * n), *B = malloc(sizeof(double) * (size_t)n * n);
    double *tau = malloc(sizeof(double) * n), wq;
    ent_rng r;
    ent_rng_init(&r, 1, 0);
    for (size_t i = 0; i < (size_t)n * n; i++) Q[i] = ent_rng_normal(&r);
    int info, lw = -1;
    dgeqrf_(&n, &n, Q, &n, tau, &wq, &lw, &info);
    lw = (int)wq;
    double *w = malloc(sizeof(double) * lw);
    dgeqrf_(&n, &n, Q, &n, tau, w, &lw, &info);
    dorgqr_(&n, &n, &n, Q, &n, tau, w, &lw, &info);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) B[(size_t)j * n + i] = Q[(size_t)j * n + i] * lam[j];
    const double one = 1, zero = 0;
    dgemm_("N", "T", &n, &n, &n, &one, B, &n, Q, &n, &zero, A, &n, 1, 1);
    free(Q), free(B), free(tau), free(w);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_eig N dsyevd|dsyevd_2stage|dsyev_2stage THREADS\n");
        return 2;
    }
    const int n = atoi(argv[1]), threads = atoi(argv[3]);
    const char *drv = argv[2];
    double *A = malloc(sizeof(double) * (size_t)n * n), *lam = malloc(sizeof(double) * n);
    double *w = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) lam[i] = i % 10 == 0 ? 1.0 + i : 1e-3 * sin(i); /* a bulk near 0, a tail */
    make(n, lam, A);
    qsort(lam, (size_t)n, sizeof(double), cmp);
    ent_set_threads(threads);
    int info = 0, lw = -1, liw = -1, iq = 0;
    double wq = 0;
    const int evd = strcmp(drv, "dsyev_2stage") != 0;
    syev_fn *f = strcmp(drv, "dsyevd") == 0 ? dsyevd_ : dsyevd_2stage_;
    if (evd) f("N", "L", &n, A, &n, w, &wq, &lw, &iq, &liw, &info, 1, 1);
    else dsyev_2stage_("N", "L", &n, A, &n, w, &wq, &lw, &info, 1, 1);
    lw = (int)wq, liw = iq > 0 ? iq : 1;
    double *work = malloc(sizeof(double) * (size_t)lw);
    int *iwork = malloc(sizeof(int) * (size_t)liw);
    const double t0 = ent_time_seconds();
    if (evd) f("N", "L", &n, A, &n, w, work, &lw, iwork, &liw, &info, 1, 1);
    else dsyev_2stage_("N", "L", &n, A, &n, w, work, &lw, &info, 1, 1);
    const double dt = ent_time_seconds() - t0;
    double err = 0;
    for (int i = 0; i < n; i++) err = fmax(err, fabs(w[i] - lam[i]));
    printf("%s %d %d %.3f %.2e %d info %d\n", drv, n, threads, dt, err, lw, info);
    return info != 0;
}
