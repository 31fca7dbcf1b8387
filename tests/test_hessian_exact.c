/* test_hessian_exact.c — the exact spectrum at scale (ent_hessian_spectrum):
 * the same eigenvalues as the small path, resumed runs, the refusal
 * before any work, and accuracy against an independent Hessian.
 *
 * Tolerances:
 * - Against ent_hessian_dense + ent_sym_eig (the whole symmetrised H,
 *   upper triangle) on the same products: both backward-stable solves of
 *   matrices that differ by the products' rounding (asymmetry ~1e-16 of
 *   max |H|), so 1e-12 of max |lambda|.
 * - Against central differences of the double gradient (step 1e-5:
 *   truncation ~h^2 |f'''| ~ 1e-10, rounding ~eps/h ~ 1e-11): Weyl,
 *   |lambda_i - mu_i| <= ||H - H_fd||_2 <= ||H - H_fd||_F, checked, and the
 *   stated tolerance 1e-6 of max |lambda| (the existing tests' FD level). */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

typedef struct {
    ent_model *m;
    float *theta, *x;
    int32_t *y;
    ent_nethess *h;
} mlp;

/* small-mnistfc on side x side inputs, 3 classes, 16 samples (side 4: 1,283
 * parameters; side 6: 2,563), two layers, so rows_from has work. */
static int mlp_make(mlp *s, int side) {
    memset(s, 0, sizeof *s);
    const int64_t n = 16, px = side * side;
    CHECK_OK(ent_model_new(&s->m, "small-mnistfc", NULL, 1, side, side, 3, n));
    if (!s->m) return 0;
    const int64_t P = ent_model_n_param(s->m);
    s->theta = ent_alloc(sizeof(float) * (size_t)P);
    s->x = ent_alloc(sizeof(float) * (size_t)(px * n));
    s->y = ent_alloc(sizeof(int32_t) * n);
    ent_model_init_params(s->m, s->theta, NULL, 5);
    ent_rng r;
    ent_rng_init(&r, 5, 1);
    ent_rng_normal_fill(&r, s->x, px * n, 1.0f);
    for (int64_t i = 0; i < n; i++) s->y[i] = (int32_t)(i % 3);
    CHECK_OK(ent_nethess_new(&s->h, s->m, s->theta, NULL, s->x, s->y, n, NULL));
    return s->h != NULL;
}

static void mlp_free(mlp *s) {
    ent_nethess_free(s->h);
    ent_model_free(s->m);
    ent_free_aligned(s->theta), ent_free_aligned(s->x), ent_free_aligned(s->y);
}

static double maxabs(const double *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static int stop_after = 0;
static int stop_at(void *ctx, int64_t done, int64_t n, double sec) {
    (void)ctx, (void)n, (void)sec;
    return stop_after > 0 && done >= stop_after;
}

/* The new path against the small one, then a run stopped after 320
 * columns and resumed from its file: the same eigenvalues to the bit
 * (the products are deterministic, the kept columns are their bits). A
 * file of another operator is refused; so is a run over max_bytes, before
 * a single product. */
ENT_TEST(hessian_exact_resume_and_refusal) {
    mlp s;
    if (!mlp_make(&s, 4)) return mlp_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    const int64_t P = h.n;
    CHECK(h.rows_from != NULL);
    double *H = calloc((size_t)(P * P), sizeof(double)), *w0 = calloc((size_t)P, sizeof(double));
    double *w1 = calloc((size_t)P, sizeof(double)), *w2 = calloc((size_t)P, sizeof(double));
    CHECK_OK(ent_hessian_dense(&h, H, NULL));
    CHECK_OK(ent_sym_eig(H, P, w0, 0));
    ent_spectrum_opts o = {0};
    ent_spectrum_info info;
    int64_t before = ent_nethess_products(s.h);
    CHECK_OK(ent_hessian_spectrum(&h, &o, w1, &info));
    CHECK(ent_nethess_products(s.h) - before == P);
    const double big = maxabs(w0, P);
    double d = 0;
    for (int64_t i = 0; i < P; i++) d = fmax(d, fabs(w1[i] - w0[i]));
    CHECK_MSG(d <= 1e-12 * big, "spectrum vs dense: %.3g of %.3g", d, big);
    const double asym = info.asym;
    CHECK_MSG(asym <= 1e-13 && info.max_abs > 0, "asymmetry %.3g", asym);
    /* stopped, then resumed */
    char path[600];
    snprintf(path, sizeof path, "%s/cols.bin", ent_test_tmpdir());
    o.columns_path = path, o.key = 77, o.progress = stop_at;
    stop_after = 320;
    CHECK(ent_hessian_spectrum(&h, &o, w2, &info) == ENT_EINVAL);
    CHECK(strstr(ent_last_error(), "320") && strstr(ent_last_error(), path));
    CHECK(access(path, F_OK) == 0);
    o.key = 78, o.resume = 1, stop_after = 0;
    CHECK(ent_hessian_spectrum(&h, &o, w2, &info) == ENT_EFORMAT);
    o.key = 77;
    before = ent_nethess_products(s.h);
    CHECK_OK(ent_hessian_spectrum(&h, &o, w2, &info));
    CHECK(info.resumed == 320 && ent_nethess_products(s.h) - before == P - 320);
    double dr = 0;
    for (int64_t i = 0; i < P; i++) dr = fmax(dr, fabs(w2[i] - w1[i]));
    CHECK_MSG(dr == 0, "resumed vs whole: %.3g", dr);
    /* refused before any work */
    ent_spectrum_opts tight = {.max_bytes = 1e6};
    before = ent_nethess_products(s.h);
    CHECK(ent_hessian_spectrum(&h, &tight, w2, &info) == ENT_ENOMEM);
    CHECK(ent_nethess_products(s.h) == before && strstr(ent_last_error(), "GB"));
    CHECK(ent_spectrum_bytes(47658) > 8.0 * 47658.0 * 47658.0 && ent_spectrum_bytes(47658) < 1.01 * 8.0 * 47658.0 * 47658.0);
    printf("    %lld-param MLP: vs dense %.1e of %.3g, asymmetry %.1e; stopped at 320 and resumed: identical (%.0e); "
           "small-lenet would hold %.2f GB\n",
           (long long)P, d, big, asym, dr, ent_spectrum_bytes(47658) / 1e9);
    free(H), free(w0), free(w1), free(w2);
    mlp_free(&s);
}

/* H_fd: columns (g(theta + h e_j) - g(theta - h e_j)) / 2h of the double
 * gradient, symmetrised; its spectrum against ent_hessian_spectrum's, on
 * 2,563 parameters. Differences are the Hessian only where no ReLU
 * switches within +-h: with side 4 and 5 (same seeds) one does, and a
 * column of H_fd is off by hundreds (a kink, not an error of H); side 6
 * has none. */
ENT_TEST(hessian_exact_vs_finite_differences) {
    mlp s;
    if (!mlp_make(&s, 6)) return mlp_free(&s);
    ent_hvp h = ent_nethess_hvp(s.h);
    const int64_t P = h.n;
    const double step = 1e-5;
    double *F = calloc((size_t)(P * P), sizeof(double)), *H = calloc((size_t)(P * P), sizeof(double));
    double *th = malloc(sizeof(double) * (size_t)P), *gp = malloc(sizeof(double) * (size_t)P);
    double *gm = malloc(sizeof(double) * (size_t)P), *mu = malloc(sizeof(double) * (size_t)P);
    double *lam = malloc(sizeof(double) * (size_t)P);
    for (int64_t i = 0; i < P; i++) th[i] = s.theta[i];
    for (int64_t j = 0; j < P; j++) {
        th[j] += step;
        ent_nethess_set_point(s.h, th);
        ent_nethess_grad(s.h, gp, NULL, NULL);
        th[j] -= 2 * step;
        ent_nethess_set_point(s.h, th);
        ent_nethess_grad(s.h, gm, NULL, NULL);
        th[j] += step;
        for (int64_t i = 0; i < P; i++) F[j * P + i] = (gp[i] - gm[i]) / (2 * step);
    }
    ent_nethess_set_point(s.h, th);
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = i + 1; j < P; j++) F[i * P + j] = F[j * P + i] = 0.5 * (F[i * P + j] + F[j * P + i]);
    CHECK_OK(ent_hessian_dense(&h, H, NULL));
    double fro = 0;
    for (int64_t i = 0; i < P * P; i++) fro += (H[i] - F[i]) * (H[i] - F[i]);
    fro = sqrt(fro);
    ent_spectrum_opts o = {0};
    ent_spectrum_info info;
    CHECK_OK(ent_hessian_spectrum(&h, &o, lam, &info));
    CHECK_OK(ent_sym_eig(F, P, mu, 0));
    const double big = maxabs(lam, P);
    double d = 0;
    for (int64_t i = 0; i < P; i++) d = fmax(d, fabs(lam[i] - mu[i]));
    printf("    %lld-param MLP: max |lambda - lambda_fd| %.1e (Weyl bound ||H - H_fd||_F %.1e; tol %.1e = 1e-6 max |lambda|)\n",
           (long long)P, d, fro, 1e-6 * big);
    CHECK(d <= fro + 1e-12 * big);
    CHECK(d <= 1e-6 * big);
    free(F), free(H), free(th), free(gp), free(gm), free(mu), free(lam);
    mlp_free(&s);
}
