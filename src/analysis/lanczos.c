/* lanczos.c — Lanczos with full re-orthogonalisation on any ent_hvp, the
 * extreme eigenvalues it yields, and stochastic Lanczos quadrature (SLQ).
 *
 * Step j: w = H q_j, alpha_j = q_j.w, w -= alpha_j q_j + beta_{j-1} q_{j-1},
 * then w is orthogonalised against every q_0..q_j by classical
 * Gram-Schmidt, repeated when the first pass cancelled much of w ("twice is
 * enough", Giraud et al. 2005; the repeat test of Daniel et al. 1976). Q
 * stays orthonormal to working precision, so T_j has no spurious copies of
 * converged eigenvalues. beta_j = |w|, q_{j+1} = w / beta_j. The Ritz
 * values (eigenvalues of T_j) approximate the extremes first; the residual
 * of Ritz pair i is beta_{j-1} |s_{last,i}|, and some eigenvalue of H lies
 * within it (Weyl / Bauer-Fike for symmetric H).
 *
 * The vector kernels are plain loops, parallel only above PAR_MIN values:
 * OpenBLAS threads even small BLAS-1/2 calls, and on this shared 2-core
 * machine each fork/join costs milliseconds (20x slower on n = 1283). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

#define PAR_MIN 65536

static double ddot(int64_t n, const double *x, const double *y) {
    double s = 0.0;
#pragma omp parallel for simd reduction(+ : s) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

static void daxpy(int64_t n, double a, const double *x, double *y) {
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* w -= Q^T (Q w) over the first k rows of Q [k, n]: c = Q w (one streamed
 * dot product per row), then w -= sum_r c_r Q_r by blocks of w that stay
 * in cache while the rows stream past (a column-wise sum would stride
 * through k rows at once). */
#define OBLOCK 2048
static void orthogonalise(const double *Q, int k, int64_t n, double *w, double *c) {
#pragma omp parallel for if ((int64_t)k * n > PAR_MIN)
    for (int r = 0; r < k; r++) {
        double s = 0.0;
        const double *q = Q + (int64_t)r * n;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; i++) s += q[i] * w[i];
        c[r] = s;
    }
#pragma omp parallel for if ((int64_t)k * n > PAR_MIN)
    for (int64_t b = 0; b < n; b += OBLOCK) {
        const int64_t e = b + OBLOCK < n ? b + OBLOCK : n;
        for (int r = 0; r < k; r++) {
            const double cr = c[r], *q = Q + (int64_t)r * n;
#pragma omp simd
            for (int64_t i = b; i < e; i++) w[i] -= cr * q[i];
        }
    }
}

typedef struct {
    const ent_hvp *h;
    int64_t n;
    int m, j;       /* capacity, steps done */
    double *Q;      /* m rows of n */
    double *w, *c;  /* work vector, coefficients (m) */
    double scale;   /* running max |alpha|, |beta|: breakdown reference */
} lanczos;

static void lz_free(lanczos *z) {
    ent_free_aligned(z->Q);
    ent_free_aligned(z->w);
    free(z->c);
}

static ent_status lz_init(lanczos *z, const ent_hvp *h, const double *q0, int m) {
    memset(z, 0, sizeof *z);
    z->h = h, z->n = h->n, z->m = m;
    if (m < 1) return ent_fail(ENT_EINVAL, "lanczos: %d steps", m);
    z->Q = ent_alloc(sizeof(double) * (size_t)m * (size_t)h->n);
    z->w = ent_alloc(sizeof(double) * (size_t)h->n);
    z->c = malloc(sizeof(double) * (size_t)m);
    if (!z->Q || !z->w || !z->c) {
        lz_free(z);
        return ent_fail(ENT_ENOMEM, "lanczos: cannot hold %d vectors of %lld doubles", m,
                        (long long)h->n);
    }
    const double nq = sqrt(ddot(h->n, q0, q0));
    if (!(nq > 0.0)) {
        lz_free(z);
        return ent_fail(ENT_EINVAL, "lanczos: zero start vector");
    }
    for (int64_t i = 0; i < h->n; i++) z->Q[i] = q0[i] / nq;
    return ENT_OK;
}

/* One step; returns 1 when the Krylov space stopped growing (beta ~ 0). */
static int lz_step(lanczos *z, double *alpha, double *beta, ent_status *st) {
    const int j = z->j;
    const int64_t n = z->n;
    double *q = z->Q + (int64_t)j * n, *w = z->w;
    *st = ent_hvp_apply(z->h, q, w);
    if (*st != ENT_OK) return 1;
    alpha[j] = ddot(n, q, w);
    daxpy(n, -alpha[j], q, w);
    if (j > 0) daxpy(n, -beta[j - 1], q - n, w);
    /* again only if the first pass removed a large part of w (the DGKS
     * criterion, Daniel et al. 1976): then rounding may have left a
     * component along Q; otherwise one pass already made w orthogonal to
     * working precision, and the second would cost as much for nothing */
    const double before = sqrt(ddot(n, w, w));
    orthogonalise(z->Q, j + 1, n, w, z->c);
    beta[j] = sqrt(ddot(n, w, w));
    if (beta[j] < 0.7071 * before) {
        orthogonalise(z->Q, j + 1, n, w, z->c);
        beta[j] = sqrt(ddot(n, w, w));
    }
    if (fabs(alpha[j]) > z->scale) z->scale = fabs(alpha[j]);
    if (beta[j] > z->scale) z->scale = beta[j];
    z->j = j + 1;
    if (!(beta[j] > 1e-12 * z->scale)) {
        beta[j] = 0.0;
        return 1;
    }
    if (z->j < z->m) {
        double *next = q + n;
        for (int64_t i = 0; i < n; i++) next[i] = w[i] / beta[j];
    }
    return 0;
}

ent_status ent_lanczos(const ent_hvp *h, const double *q0, int m, double *alpha,
                       double *beta, int *steps) {
    lanczos z;
    ent_status s = lz_init(&z, h, q0, m);
    if (s != ENT_OK) return s;
    while (z.j < m && !lz_step(&z, alpha, beta, &s)) {}
    *steps = z.j;
    lz_free(&z);
    return s;
}

ent_lanczos_opts ent_lanczos_opts_default(void) {
    ent_lanczos_opts o = {.k = 20, .max_steps = 200, .tol = 1e-6, .seed = 1, .top_only = 0};
    return o;
}

/* v = Rademacher / sqrt(n), stream `stream` of seed. */
static void rademacher(double *v, int64_t n, uint64_t seed, uint64_t stream) {
    ent_rng r;
    ent_rng_init(&r, seed, stream);
    const double a = 1.0 / sqrt((double)n);
    for (int64_t i = 0; i < n; i += 32) {
        uint32_t bits = ent_rng_u32(&r);
        for (int64_t b = 0; b < 32 && i + b < n; b++) v[i + b] = (bits >> b) & 1u ? a : -a;
    }
}

/* Ritz values of T_j and their residuals; 1 if the k wanted at each end
 * are within tol * max|theta| (the convergence the caller is told of). */
static int ritz(const lanczos *z, const double *alpha, const double *beta, double *theta,
                double *res, double tol, int k, int top_only, ent_status *st) {
    const int j = z->j;
    *st = ent_tridiag_eig(alpha, beta, j, theta, NULL, res);
    if (*st != ENT_OK) return 1;
    double big = 0.0;
    for (int i = 0; i < j; i++) {
        res[i] = fabs(beta[j - 1] * res[i]);
        if (fabs(theta[i]) > big) big = fabs(theta[i]);
    }
    const int kk = k < j ? k : j;
    for (int i = 0; i < kk; i++)
        if ((!top_only && res[i] > tol * big) || res[j - 1 - i] > tol * big) return 0;
    return 1;
}

ent_status ent_lanczos_extremes(const ent_hvp *h, const ent_lanczos_opts *o, double *top,
                                double *top_res, double *bottom, double *bottom_res,
                                int *got, int *steps, int *converged) {
    if (o->k < 1 || o->max_steps < 1 || !(o->tol > 0.0))
        return ent_fail(ENT_EINVAL, "lanczos: k %d, max steps %d, tol %g", o->k,
                        o->max_steps, o->tol);
    const int m = (int64_t)o->max_steps < h->n ? o->max_steps : (int)h->n;
    double *q0 = malloc(sizeof(double) * (size_t)h->n);
    double *al = malloc(sizeof(double) * (size_t)m * 4), *be = al + m, *th = be + m, *rs = th + m;
    lanczos z;
    ent_status s = q0 && al ? ENT_OK : ent_fail(ENT_ENOMEM, "lanczos: out of memory");
    if (s == ENT_OK) rademacher(q0, h->n, o->seed, 0);
    if (s == ENT_OK) s = lz_init(&z, h, q0, m);
    free(q0);
    if (s != ENT_OK) {
        free(al);
        return s;
    }
    /* conv: the verdict of the last Ritz check, which always runs at the
     * last step; a breakdown (invariant subspace) has zero residuals and
     * so counts as converged, the step cap does not */
    int done = 0, conv = 0;
    while (!done && s == ENT_OK) {
        int stop = lz_step(&z, al, be, &s) || z.j == m;
        if (s == ENT_OK && (stop || z.j % 5 == 0)) {
            conv = ritz(&z, al, be, th, rs, o->tol, o->k, o->top_only, &s);
            done = conv || stop;
        }
    }
    if (s == ENT_OK) {
        const int j = z.j, kk = o->k < j ? o->k : j;
        for (int i = 0; i < kk; i++) {
            top[i] = th[j - 1 - i], top_res[i] = rs[j - 1 - i];
            bottom[i] = th[i], bottom_res[i] = rs[i];
        }
        *got = kk, *steps = j;
        if (converged) *converged = conv;
    }
    lz_free(&z);
    free(al);
    return s;
}

ent_status ent_slq(const ent_hvp *h, int n_probe, int m, uint64_t seed, double *nodes,
                   double *weights, int *count) {
    if (n_probe < 1 || m < 1) return ent_fail(ENT_EINVAL, "slq: %d probes, %d steps", n_probe, m);
    if ((int64_t)m > h->n) m = (int)h->n;
    double *q0 = malloc(sizeof(double) * (size_t)h->n);
    double *al = malloc(sizeof(double) * (size_t)m * 3), *be = al + m, *fi = be + m;
    ent_status s = q0 && al ? ENT_OK : ent_fail(ENT_ENOMEM, "slq: out of memory");
    int c = 0;
    for (int p = 0; p < n_probe && s == ENT_OK; p++) {
        int steps = 0;
        rademacher(q0, h->n, seed, (uint64_t)p);
        s = ent_lanczos(h, q0, m, al, be, &steps);
        if (s == ENT_OK) s = ent_tridiag_eig(al, be, steps, nodes + c, fi, NULL);
        if (s != ENT_OK) break;
        for (int i = 0; i < steps; i++) weights[c + i] = fi[i] * fi[i] / n_probe;
        c += steps;
    }
    free(q0);
    free(al);
    *count = c;
    return s;
}

void ent_slq_density(const double *nodes, const double *weights, int count, const double *t,
                     int n_t, double sigma2, double *phi) {
    const double norm = 1.0 / sqrt(2.0 * 3.14159265358979323846 * sigma2);
#pragma omp parallel for if ((int64_t)n_t * count > 100000)
    for (int i = 0; i < n_t; i++) {
        double s = 0.0;
        for (int j = 0; j < count; j++) {
            const double d = t[i] - nodes[j];
            s += weights[j] * exp(-d * d / (2.0 * sigma2));
        }
        phi[i] = s * norm;
    }
}
