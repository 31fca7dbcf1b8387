/* test_hessian.c — spectral methods on ent_hvp operators with known
 * spectra (rotated quadratics: H = Q diag(lambda) Q^T, Q a product of
 * Householder reflections, so H is dense) and on a small network whose
 * full spectrum LAPACK gives.
 *
 * Tolerances:
 * - Dense assembly + dsyevd: backward-stable solver, |error| <= c n eps
 *   |H|; with n = 60 that is ~1e-14 |H|: tol 1e-11 |H|.
 * - Lanczos: a Ritz value theta with residual r = |H y - theta y| has an
 *   eigenvalue within r (symmetric H); converged values (r <= tol |H|) of a
 *   random start find the extreme eigenvalues in order, so
 *   |theta_i - lambda_i| <= r_i + 1e-12 |H| (rounding of the last steps).
 * - SLQ: Wasserstein-1 distance W1 (integral of |F1 - F2|, the area between
 *   the two cumulative distributions) between the quadrature measure and
 *   the spectrum. Gauss quadrature with m nodes integrates polynomials of
 *   degree 2m-1 exactly, and a 1-Lipschitz function on [a, b] is within
 *   pi (b - a) / (8m) of such a polynomial (Jackson), so for ONE probe v,
 *   W1(quadrature, spectral measure weighted by (q_i.v)^2) <= pi (b-a)/(4m).
 *   Averaging n_v Rademacher probes adds E W1 <= (b - a) sqrt(2 / (n n_v))
 *   (Var F_v(t) <= 2 F(t) / n); the test allows 3x that. */
#include <stdlib.h>

#include "test.h"

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static double maxabs(const double *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

ENT_TEST(hessian_dense_quadratic) {
    const int64_t n = 60;
    double lam[60], w[60];
    for (int i = 0; i < n; i++) lam[i] = (i % 7 - 3) * 0.7 + 0.01 * i; /* mixed signs, repeats apart */
    ent_quadop *q = NULL;
    CHECK_OK(ent_quadop_new(&q, n, lam, NULL, 42));
    if (!q) return;
    ent_hvp h = ent_quadop_hvp(q);
    double *H = calloc((size_t)(n * n), sizeof(double)), asym = 1;
    CHECK_OK(ent_hessian_dense(&h, H, &asym));
    double off = 0; /* the rotation makes H dense */
    for (int64_t i = 1; i < n; i++) off = fmax(off, fabs(H[i]));
    CHECK(off > 0.01);
    CHECK_OK(ent_sym_eig(H, n, w, 0));
    qsort(lam, (size_t)n, sizeof(double), cmp_desc);
    double err = 0;
    for (int i = 0; i < n; i++) err = fmax(err, fabs(w[n - 1 - i] - lam[i]));
    printf("    n 60: max |eig - lambda| %.1e (tol %.0e), asymmetry %.1e\n", err, 1e-11 * maxabs(lam, n), asym);
    CHECK(err <= 1e-11 * maxabs(lam, n));
    CHECK(asym <= 1e-13);
    /* the limit is enforced */
    ent_hvp big = {.n = ENT_HESSIAN_EXACT_MAX + 1, .ctx = q, .apply = h.apply};
    CHECK(ent_hessian_dense(&big, H, NULL) == ENT_EINVAL);
    CHECK(strstr(ent_last_error(), "lanczos") != NULL);
    free(H);
    ent_quadop_free(q);
}

/* n = 400: a bulk in [-1, 1] with outliers 10..6 and -5..-3; top-5 and
 * bottom-5 by Lanczos. Also eigenvectors of the rotated quadratic. */
ENT_TEST(hessian_lanczos_quadratic) {
    enum { N = 400, K = 5 };
    double lam[N];
    for (int i = 0; i < N; i++) lam[i] = -1.0 + 2.0 * i / (N - 1);
    const double top[K] = {10, 9, 8, 7, 6}, bot[K] = {-5, -4.5, -4, -3.5, -3};
    for (int i = 0; i < K; i++) lam[i] = top[i], lam[N - 1 - i] = bot[i];
    ent_quadop *q = NULL;
    CHECK_OK(ent_quadop_new(&q, N, lam, NULL, 7));
    if (!q) return;
    ent_hvp h = ent_quadop_hvp(q);
    /* the eigenvector of lambda[0] = 10: H u = 10 u */
    double u[N], hu[N];
    ent_quadop_eigvec(q, 0, u);
    CHECK_OK(ent_hvp_apply(&h, u, hu));
    double r = 0;
    for (int i = 0; i < N; i++) r = fmax(r, fabs(hu[i] - 10 * u[i]));
    CHECK(r <= 1e-12 * 10);
    ent_lanczos_opts o = ent_lanczos_opts_default();
    o.k = K, o.tol = 1e-10, o.seed = 3;
    double t[K], tr[K], b[K], br[K];
    int got = 0, steps = 0, conv = -1;
    CHECK_OK(ent_lanczos_extremes(&h, &o, t, tr, b, br, &got, &steps, &conv));
    CHECK(got == K && conv == 1);
    double err = 0, res = 0;
    for (int i = 0; i < K; i++) {
        CHECK_MSG(fabs(t[i] - top[i]) <= tr[i] + 1e-12 * 10, "top %d: %.12g vs %g (res %.1e)", i, t[i], top[i], tr[i]);
        CHECK_MSG(fabs(b[i] - bot[i]) <= br[i] + 1e-12 * 10, "bottom %d: %.12g vs %g (res %.1e)", i, b[i], bot[i], br[i]);
        err = fmax(err, fmax(fabs(t[i] - top[i]), fabs(b[i] - bot[i])));
        res = fmax(res, fmax(tr[i], br[i]));
    }
    printf("    n 400: top/bottom 5 in %d steps, max error %.1e, max residual %.1e (tol 1e-10 |H|)\n", steps, err, res);
    CHECK(res <= 1e-10 * 10);
    ent_quadop_free(q);
}

/* Nearest eigenvalue of lam[n] to x. */
static double nearest(const double *lam, int n, double x) {
    double d = INFINITY;
    for (int i = 0; i < n; i++) d = fmin(d, fabs(lam[i] - x));
    return d;
}

/* The step cap: a spectrum with no gaps (n = 300 evenly spaced in [0, 1])
 * cannot give its 5 extremes to 1e-10 in 15 steps; the call must say so
 * (converged 0, ENT_OK) and the residuals it reports must still bound the
 * distance of each Ritz value to the true spectrum (Weyl), while at least
 * one of them is above the tolerance. With 300 steps (the whole space)
 * the same call converges. */
ENT_TEST(hessian_lanczos_step_cap) {
    enum { N = 300, K = 5 };
    double lam[N];
    for (int i = 0; i < N; i++) lam[i] = (double)i / (N - 1);
    ent_quadop *q = NULL;
    CHECK_OK(ent_quadop_new(&q, N, lam, NULL, 11));
    if (!q) return;
    ent_hvp h = ent_quadop_hvp(q);
    ent_lanczos_opts o = ent_lanczos_opts_default();
    o.k = K, o.tol = 1e-10, o.max_steps = 15;
    double t[K], tr[K], b[K], br[K], worst = 0;
    int got = 0, steps = 0, conv = -1;
    CHECK_OK(ent_lanczos_extremes(&h, &o, t, tr, b, br, &got, &steps, &conv));
    CHECK_MSG(conv == 0 && steps == 15 && got == K, "capped: converged %d, steps %d, got %d", conv, steps, got);
    for (int i = 0; i < got; i++) {
        CHECK_MSG(nearest(lam, N, t[i]) <= tr[i] + 1e-13, "top %d: %.6g, residual %.1e", i, t[i], tr[i]);
        CHECK_MSG(nearest(lam, N, b[i]) <= br[i] + 1e-13, "bottom %d: %.6g, residual %.1e", i, b[i], br[i]);
        worst = fmax(worst, fmax(tr[i], br[i]));
    }
    CHECK(worst > o.tol * 1.0);
    o.max_steps = N;
    CHECK_OK(ent_lanczos_extremes(&h, &o, t, tr, b, br, &got, &steps, &conv));
    double err = 0;
    for (int i = 0; i < got; i++) err = fmax(err, fmax(fabs(t[i] - lam[N - 1 - i]), fabs(b[i] - lam[i])));
    CHECK_MSG(conv == 1 && err <= 1e-10, "uncapped: converged %d in %d steps, error %.1e", conv, steps, err);
    printf("    n 300 evenly spaced: 15 steps -> converged 0, worst residual %.1e (tol 1e-10); %d steps -> converged 1, error %.1e\n",
           worst, steps, err);
    ent_quadop_free(q);
}

/* m = n steps: the Krylov space is everything, T_n has the whole spectrum
 * (full re-orthogonalisation keeps it exact: no ghosts, no misses). */
ENT_TEST(hessian_lanczos_full) {
    enum { N = 30 };
    double lam[N], al[N], be[N], th[N], q0[N];
    for (int i = 0; i < N; i++) lam[i] = 1.0 / (1 + i) - 0.3 + (i == 4 ? 2 : 0), q0[i] = 1.0 + 0.1 * i;
    ent_quadop *q = NULL;
    CHECK_OK(ent_quadop_new(&q, N, lam, NULL, 5));
    if (!q) return;
    ent_hvp h = ent_quadop_hvp(q);
    int steps = 0;
    CHECK_OK(ent_lanczos(&h, q0, N, al, be, &steps));
    CHECK(steps == N);
    CHECK_OK(ent_tridiag_eig(al, be, steps, th, NULL, NULL));
    qsort(lam, N, sizeof(double), cmp_desc);
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(th[N - 1 - i] - lam[i]));
    printf("    n 30, 30 steps: max |theta - lambda| %.1e (tol 1e-12 |H|)\n", err);
    CHECK(err <= 1e-12 * 2.5);
    ent_quadop_free(q);
}

/* ----------------------------------------------------- a small network */

typedef struct {
    ent_model *m;
    float *theta, *x;
    int32_t *y;
    ent_nethess *h;
} smallnet;

/* small-mnistfc on 4x4 inputs, 3 classes, 16 samples: 1283 parameters. */
static int smallnet_make(smallnet *s) {
    memset(s, 0, sizeof *s);
    const int64_t n = 16;
    CHECK_OK(ent_model_new(&s->m, "small-mnistfc", NULL, 1, 4, 4, 3, n));
    if (!s->m) return 0;
    const int64_t P = ent_model_n_param(s->m);
    s->theta = ent_alloc(sizeof(float) * (size_t)P);
    s->x = ent_alloc(sizeof(float) * 16 * n);
    s->y = ent_alloc(sizeof(int32_t) * n);
    ent_model_init_params(s->m, s->theta, NULL, 5);
    ent_rng r;
    ent_rng_init(&r, 5, 1);
    ent_rng_normal_fill(&r, s->x, 16 * n, 1.0f);
    for (int64_t i = 0; i < n; i++) s->y[i] = (int32_t)(i % 3);
    CHECK_OK(ent_nethess_new(&s->h, s->m, s->theta, NULL, s->x, s->y, n, NULL));
    return s->h != NULL;
}

static void smallnet_free(smallnet *s) {
    ent_nethess_free(s->h);
    ent_model_free(s->m);
    ent_free_aligned(s->theta), ent_free_aligned(s->x), ent_free_aligned(s->y);
}

/* Exact eigenvalues (ascending) and, if vecs, eigenvectors (rows). */
static double *exact_spectrum(smallnet *s, double **vecs) {
    ent_hvp h = ent_nethess_hvp(s->h);
    const int64_t P = h.n;
    double *H = calloc((size_t)(P * P), sizeof(double)), *w = calloc((size_t)P, sizeof(double));
    CHECK_OK(ent_hessian_dense(&h, H, NULL));
    CHECK_OK(ent_sym_eig(H, P, w, vecs != NULL));
    if (vecs) *vecs = H;
    else free(H);
    return w;
}

ENT_TEST(hessian_lanczos_network) {
    smallnet s;
    if (!smallnet_make(&s)) return smallnet_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    const int64_t P = h.n;
    double *w = exact_spectrum(&s, NULL), big = fmax(fabs(w[0]), fabs(w[P - 1]));
    enum { K = 5 };
    ent_lanczos_opts o = ent_lanczos_opts_default();
    o.k = K, o.tol = 1e-9, o.max_steps = 300;
    double t[K], tr[K], b[K], br[K], err = 0;
    int got = 0, steps = 0;
    CHECK_OK(ent_lanczos_extremes(&h, &o, t, tr, b, br, &got, &steps, NULL));
    CHECK(got == K);
    for (int i = 0; i < got; i++) {
        CHECK_MSG(fabs(t[i] - w[P - 1 - i]) <= tr[i] + 1e-12 * big, "top %d: %.12g vs %.12g (res %.1e)", i, t[i], w[P - 1 - i], tr[i]);
        CHECK_MSG(fabs(b[i] - w[i]) <= br[i] + 1e-12 * big, "bottom %d: %.12g vs %.12g (res %.1e)", i, b[i], w[i], br[i]);
        CHECK(tr[i] <= 1e-9 * big && br[i] <= 1e-9 * big);
        err = fmax(err, fmax(fabs(t[i] - w[P - 1 - i]), fabs(b[i] - w[i])));
    }
    printf("    1283-param MLP: top-5 %.4g..%.4g, bottom-5 %.3g..%.3g in %d steps; max |Ritz - exact| %.1e (bound: residuals <= %.1e)\n",
           t[0], t[K - 1], b[0], b[K - 1], steps, err, 1e-9 * big);
    free(w);
    smallnet_free(&s);
}

/* The exact Hessian through apply_many (products on several threads, each
 * on its own workspace) against one product at a time (apply): the same
 * computation on the same data, except that inside the parallel region the
 * double GEMM is dgemm.c's loops instead of OpenBLAS (another summation
 * order), so allow rounding: 1e-12 of max |H|. Same for a principal block. */
ENT_TEST(hessian_dense_many_matches_single) {
    smallnet s;
    if (!smallnet_make(&s)) return smallnet_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    CHECK(h.apply_many != NULL);
    if (ent_get_threads() < 2) printf("    note: one thread: batched and single run the same code\n");
    ent_hvp one = h;
    one.apply_many = NULL;
    const int64_t P = h.n;
    double *A = calloc((size_t)(P * P), sizeof(double)), *B = calloc((size_t)(P * P), sizeof(double));
    const int64_t before = ent_nethess_products(s.h);
    CHECK_OK(ent_hessian_dense(&h, A, NULL));
    CHECK(ent_nethess_products(s.h) - before == P);
    CHECK_OK(ent_hessian_dense(&one, B, NULL));
    double big = maxabs(A, P * P), d = 0;
    for (int64_t i = 0; i < P * P; i++) d = fmax(d, fabs(A[i] - B[i]));
    CHECK_MSG(big > 0 && d <= 1e-12 * big, "batched vs single: %.3g of max %.3g", d, big);
    /* a block of two ranges: rows/columns of the full H */
    const int64_t off[2] = {3, P - 40}, cnt[2] = {50, 40};
    ent_hvp_block *blk = NULL;
    CHECK_OK(ent_hvp_block_new(&blk, &h, off, cnt, 2));
    ent_hvp bh = ent_hvp_block_op(blk);
    CHECK(bh.apply_many != NULL && bh.n == 90);
    double *C = calloc(90 * 90, sizeof(double));
    CHECK_OK(ent_hessian_dense(&bh, C, NULL));
    double db = 0;
    for (int64_t i = 0; i < 90; i++)
        for (int64_t j = 0; j < 90; j++) {
            const int64_t gi = i < 50 ? 3 + i : P - 40 + (i - 50), gj = j < 50 ? 3 + j : P - 40 + (j - 50);
            db = fmax(db, fabs(C[i * 90 + j] - B[gi * P + gj]));
        }
    CHECK_MSG(db <= 1e-12 * big, "block vs full: %.3g", db);
    printf("    %lld-param MLP: batched vs single %.1e, block vs full %.1e (max |H| %.3g)\n",
           (long long)P, d, db, big);
    free(A), free(B), free(C);
    ent_hvp_block_free(blk);
    smallnet_free(&s);
}

/* Products restricted to a support (ent_nethess_set_support: the nodes
 * below the support's first one are run once and kept, their R work
 * skipped) give the same block as products of the whole network. On the
 * MLP: the block of fc2 (the last layer, so its input is kept) against
 * the full exact H. On small-lenet (28x28, 12 samples in chunks of 5, so
 * the cache spans three chunks, the last one short): 40 entries of
 * conv2.weight and fc2.bias, whose first node's input is the first
 * max-pool's output, against the plain block. Same arithmetic both ways:
 * 1e-12 of max |H|. */
ENT_TEST(hessian_block_support) {
    smallnet s;
    if (!smallnet_make(&s)) return smallnet_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    const int64_t P = h.n, off = 16 * 64 + 64, cnt = P - off; /* fc2: weight and bias */
    double *H = calloc((size_t)(P * P), sizeof(double)), *B = calloc((size_t)(cnt * cnt), sizeof(double));
    CHECK_OK(ent_hessian_dense(&h, H, NULL));
    CHECK_OK(ent_nethess_set_support(s.h, &off, &cnt, 1));
    ent_hvp_block *blk = NULL;
    CHECK_OK(ent_hvp_block_new(&blk, &h, &off, &cnt, 1));
    ent_hvp bh = ent_hvp_block_op(blk);
    CHECK_OK(ent_hessian_dense(&bh, B, NULL));
    double big = maxabs(H, P * P), d = 0;
    for (int64_t i = 0; i < cnt; i++)
        for (int64_t j = 0; j < cnt; j++) d = fmax(d, fabs(B[i * cnt + j] - H[(off + i) * P + off + j]));
    CHECK_MSG(big > 0 && d <= 1e-12 * big, "MLP fc2 block with support vs full H: %.3g of %.3g", d, big);
    ent_hvp_block_free(blk);
    free(H), free(B);
    smallnet_free(&s);
    /* small-lenet: conv2 and fc2 entries */
    enum { NS = 12 };
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, "small-lenet", NULL, 1, 28, 28, 10, NS));
    if (!m) return;
    int np = 0;
    const ent_tensor_info *t = ent_model_params(m, &np);
    int64_t o2[2] = {-1, -1}, c2[2] = {30, 10};
    for (int i = 0; i < np; i++) {
        if (strcmp(t[i].name, "conv2.weight") == 0) o2[0] = t[i].offset + 100;
        if (strcmp(t[i].name, "fc2.bias") == 0) o2[1] = t[i].offset;
    }
    CHECK(o2[0] >= 0 && o2[1] >= 0);
    const int64_t PL = ent_model_n_param(m);
    float *th = ent_alloc(sizeof(float) * (size_t)PL), *x = ent_alloc(sizeof(float) * NS * 784);
    int32_t y[NS];
    ent_model_init_params(m, th, NULL, 9);
    ent_rng r;
    ent_rng_init(&r, 9, 1);
    ent_rng_normal_fill(&r, x, NS * 784, 1.0f);
    for (int i = 0; i < NS; i++) y[i] = i % 10;
    ent_nethess_opts no = ent_nethess_opts_default();
    no.batch = 5;
    ent_nethess *a = NULL, *b = NULL;
    CHECK_OK(ent_nethess_new(&a, m, th, NULL, x, y, NS, &no));
    CHECK_OK(ent_nethess_new(&b, m, th, NULL, x, y, NS, &no));
    if (a && b) {
        ent_hvp ha = ent_nethess_hvp(a), hb = ent_nethess_hvp(b);
        ent_hvp_block *ba = NULL, *bb = NULL;
        CHECK_OK(ent_nethess_set_support(b, o2, c2, 2));
        CHECK_OK(ent_hvp_block_new(&ba, &ha, o2, c2, 2));
        CHECK_OK(ent_hvp_block_new(&bb, &hb, o2, c2, 2));
        ent_hvp pa = ent_hvp_block_op(ba), pb = ent_hvp_block_op(bb);
        double A2[40 * 40], B2[40 * 40], d2 = 0;
        const double t0 = ent_time_seconds();
        CHECK_OK(ent_hessian_dense(&pa, A2, NULL));
        const double t1 = ent_time_seconds();
        CHECK_OK(ent_hessian_dense(&pb, B2, NULL));
        const double t2 = ent_time_seconds();
        const double big2 = maxabs(A2, 40 * 40);
        for (int i = 0; i < 40 * 40; i++) d2 = fmax(d2, fabs(A2[i] - B2[i]));
        CHECK_MSG(big2 > 0 && d2 <= 1e-12 * big2, "small-lenet block with support vs without: %.3g of %.3g", d2, big2);
        printf("    MLP fc2 (%lld) vs full H: %.1e of max |H| %.3g; small-lenet conv2+fc2 (40): %.1e of %.3g, %.3f s vs %.3f s with support\n",
               (long long)cnt, d, big, d2, big2, t1 - t0, t2 - t1);
        ent_hvp_block_free(ba), ent_hvp_block_free(bb);
        /* rows_from (the exact spectrum's columns): H e_j from conv2's and
         * fc1's first parameters on, against whole products, rows r0.. */
        double *e = calloc((size_t)PL, sizeof(double)), *hw = malloc(sizeof(double) * (size_t)PL);
        double *hr = malloc(sizeof(double) * (size_t)PL), dr = 0, br = 0;
        int64_t cols[3] = {o2[0], -1, o2[1]}; /* conv2, fc1, fc2 */
        for (int i = 0; i < np; i++)
            if (strcmp(t[i].name, "fc1.weight") == 0) cols[1] = t[i].offset + 777;
        CHECK(cols[1] > 0);
        for (int q = 0; q < 3; q++) {
            e[cols[q]] = 1.0;
            CHECK_OK(ent_hvp_apply(&ha, e, hw));
            const int64_t r0 = ha.rows_from(ha.ctx, cols[q]);
            CHECK(r0 > 0 && r0 <= cols[q]);
            CHECK_OK(ent_hvp_apply(&ha, e, hr));
            CHECK(ha.rows_from(ha.ctx, 0) == 0);
            e[cols[q]] = 0.0;
            for (int64_t i = r0; i < PL; i++) dr = fmax(dr, fabs(hr[i] - hw[i])), br = fmax(br, fabs(hw[i]));
        }
        CHECK_MSG(br > 0 && dr <= 1e-12 * br, "rows_from columns vs whole: %.3g of %.3g", dr, br);
        free(e), free(hw), free(hr);
    }
    ent_nethess_free(a), ent_nethess_free(b);
    ent_free_aligned(th), ent_free_aligned(x);
    ent_model_free(m);
}

/* W1 between two discrete distributions (sorted copies are made). */
typedef struct {
    double x, w;
} atom;

static int cmp_atom(const void *a, const void *b) {
    double x = ((const atom *)a)->x, y = ((const atom *)b)->x;
    return (x > y) - (x < y);
}

static double wasserstein1(const double *x, const double *wx, int64_t nx, const double *y,
                           const double *wy, int64_t ny) {
    atom *a = malloc(sizeof(atom) * (size_t)(nx + ny));
    for (int64_t i = 0; i < nx; i++) a[i].x = x[i], a[i].w = wx[i];
    for (int64_t i = 0; i < ny; i++) a[nx + i].x = y[i], a[nx + i].w = -wy[i];
    qsort(a, (size_t)(nx + ny), sizeof(atom), cmp_atom);
    double F = 0, d = 0; /* F = F_x - F_y between consecutive atoms */
    for (int64_t i = 0; i + 1 < nx + ny; i++) {
        F += a[i].w;
        d += fabs(F) * (a[i + 1].x - a[i].x);
    }
    free(a);
    return d;
}

ENT_TEST(hessian_slq_vs_exact) {
    smallnet s;
    if (!smallnet_make(&s)) return smallnet_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    const int64_t P = h.n;
    double *Q = NULL, *w = exact_spectrum(&s, &Q);
    const double a = w[0], b = w[P - 1];
    enum { M = 40, NV = 8 };
    /* one probe: the quadrature against its own weighted spectral measure */
    double *v = malloc(sizeof(double) * (size_t)P), *pw = malloc(sizeof(double) * (size_t)P);
    double al[M], be[M], th[M], fi[M], qw[M];
    ent_rng r;
    ent_rng_init(&r, 77, 0);
    for (int64_t i = 0; i < P; i++) v[i] = ent_rng_u32(&r) & 1 ? 1.0 : -1.0;
    for (int64_t i = 0; i < P; i++) {
        double d = 0;
        for (int64_t k = 0; k < P; k++) d += Q[i * P + k] * v[k];
        pw[i] = d * d / (double)P;
    }
    int steps = 0;
    CHECK_OK(ent_lanczos(&h, v, M, al, be, &steps));
    CHECK(steps == M);
    CHECK_OK(ent_tridiag_eig(al, be, steps, th, fi, NULL));
    for (int i = 0; i < steps; i++) qw[i] = fi[i] * fi[i];
    const double d1 = wasserstein1(th, qw, steps, w, pw, P), b1 = 3.14159265 * (b - a) / (4 * M);
    /* SLQ (8 probes) against the uniform measure on the exact eigenvalues */
    double *nodes = malloc(sizeof(double) * NV * M), *nw = malloc(sizeof(double) * NV * M);
    double *uw = malloc(sizeof(double) * (size_t)P);
    int count = 0;
    CHECK_OK(ent_slq(&h, NV, M, 3, nodes, nw, &count));
    double tot = 0;
    for (int i = 0; i < count; i++) tot += nw[i];
    for (int64_t i = 0; i < P; i++) uw[i] = 1.0 / (double)P;
    const double d2 = wasserstein1(nodes, nw, count, w, uw, P);
    const double b2 = b1 + 3 * (b - a) * sqrt(2.0 / ((double)P * NV));
    printf("    spectrum [%.3g, %.3g], %d steps: one probe W1 %.2e (bound %.2e); SLQ %d probes W1 %.2e (tol %.2e); weights sum %.15f\n",
           a, b, M, d1, b1, NV, d2, b2, tot);
    CHECK(d1 <= b1);
    CHECK(d2 <= b2);
    CHECK_NEAR(tot, 1.0, 1e-12);
    free(v), free(pw), free(nodes), free(nw), free(uw), free(Q), free(w);
    smallnet_free(&s);
}
