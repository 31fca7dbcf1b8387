/* test_relax.c — the single-vector optimizers added after Entropy-SGD, on
 * analytic objectives with closed forms: SGLD's stationary law and step
 * schedule, SAM's step by hand, HJ-prox's fixed-point iteration against
 * prox_{t f}, HEAT's gradient against the heat-smoothed one, parameter
 * checks and bit-identical resume.
 *
 * Statistical checks: the z_i below are independent N(0, 1) under the
 * closed form, so mean(z) has sd 1/sqrt(n) and mean(z^2) has sd
 * sqrt(2/n); the checks allow 5 sds (a false alarm has probability < 1e-6;
 * the streams are seeded, so each outcome is in fact fixed). */
#include <stdlib.h>

#include "test.h"

#define HAND_TOL 2e-6 /* values near 1 after a few float ops: ~10 ulp */

static void zcheck(const char *what, const double *z, int64_t n) {
    double m = 0.0, m2 = 0.0;
    for (int64_t i = 0; i < n; i++) m += z[i] / n, m2 += z[i] * z[i] / n;
    if (getenv("ENT_TEST_VERBOSE")) printf("    %s: mean(z) %.4f, mean(z^2) %.4f (n %lld)\n", what, m, m2, (long long)n);
    CHECK_MSG(fabs(m) <= 5.0 / sqrt((double)n), "%s: mean(z) = %.4f, beyond 5/sqrt(n) = %.4f", what, m, 5.0 / sqrt((double)n));
    CHECK_MSG(fabs(m2 - 1.0) <= 5.0 * sqrt(2.0 / n), "%s: mean(z^2) = %.4f, beyond 1 +- %.4f", what, m2, 5.0 * sqrt(2.0 / n));
}

/* Curvatures 0.5 .. 2 in 7 groups, centres in [-1, 1]. */
static double curv(int64_t i) { return 0.5 + 1.5 * (double)(i % 7) / 6.0; }
static double centre(int64_t i) { return sin(0.37 * (double)i); }

static ent_analytic *quad(int64_t n, double noise, uint64_t seed) {
    double *a = malloc(sizeof(double) * (size_t)n), *c = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) a[i] = curv(i), c[i] = centre(i);
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, n, a, c, noise, seed));
    free(a);
    free(c);
    return q;
}

/* SGLD with a constant step eta on f = a/2 (x - c)^2 is the AR(1) chain
 * x' = (1 - eta a / 2)(x - c) + c + eps sqrt(eta) xi: stationary mean c,
 * variance V = eps^2 eta / (1 - (1 - eta a/2)^2) = eps^2 / (a (1 - eta a/4)).
 * From x0 = c + 3 the mean's transient after T steps is 3 r^T with
 * r = 1 - eta a/2 <= 0.975, i.e. < 1e-6 after T = 600 (0.1% of sd/sqrt(n)),
 * and the variance's (r^2T) likewise: the snapshot at T is stationary. */
ENT_TEST(relax_sgld_stationary_law) {
    const int64_t n = 8192;
    const double eta = 0.1, eps = 0.5;
    ent_analytic *q = quad(n, 0.0, 1);
    ent_objective obj = ent_analytic_objective(q);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGLD);
    p.lr = eta, p.noise = eps, p.sgld_decay = 0.0;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, n, 5));
    float *x = malloc(sizeof(float) * (size_t)n);
    double *z = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(centre(i) + 3.0);
    double loss;
    for (int t = 0; o && t < 600; t++) CHECK_OK(ent_optim_step(o, &obj, x, 1.0, &loss));
    for (int64_t i = 0; i < n; i++) {
        double a = curv(i), v = eps * eps / (a * (1.0 - eta * a / 4.0));
        z[i] = ((double)x[i] - centre(i)) / sqrt(v);
    }
    zcheck("sgld stationary", z, n);
    /* The continuous-time law exp(-f / eps^2) has variance eps^2 / a, 2.6%
     * below the discrete chain's at eta a = 0.2: the check above tells the
     * two apart only in mean(z^2) by 0.026, under its 5 sd = 0.078, so the
     * exact discrete variance is what is asserted, not a looser limit. */
    ent_optim_free(o);
    ent_analytic_free(q);
    free(x);
    free(z);
}

/* Noise 0, f = x^2 / 2, eta_t = 0.4 (1 + t/10)^-0.55: x <- x (1 - eta_t/2).
 * eta = 0.4, 0.379571866, 0.361834777; x = 0.8, 0.648171254, 0.530905803. */
ENT_TEST(relax_sgld_step_schedule) {
    static const double a[1] = {1.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 1, a, NULL, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGLD);
    p.lr = 0.4, p.noise = 0.0, p.sgld_t0 = 10.0, p.sgld_decay = 0.55;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, 1, 1));
    const double want[3] = {0.8, 0.648171254, 0.530905803};
    float x = 1.0f;
    double loss;
    for (int t = 0; o && t < 3; t++) {
        CHECK_OK(ent_optim_step(o, &obj, &x, 1.0, &loss));
        CHECK_NEAR(x, want[t], HAND_TOL);
    }
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* f = 1/2 [(x0)^2 + 4 (x1 - 1)^2], x = (1, 0), rho 0.1, lr 0.1, no momentum.
 * g = (1, -4), |g| = sqrt(17); e = 0.1 g / sqrt(17) = (0.0242535625, -0.0970142500);
 * g' = grad f(x + e) = (1.0242535625, 4 (-0.0970142500 - 1)) = (1.0242535625, -4.3880570000);
 * x1 = x - 0.1 g' = (0.8975746438, 0.4388057000). Step 2 from x1 likewise
 * (computed below in double). The reported loss is f(x), not f(x + e). */
ENT_TEST(relax_sam_by_hand) {
    static const double a[2] = {1.0, 4.0}, c[2] = {0.0, 1.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 2, a, c, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SAM);
    p.lr = 0.1, p.momentum = 0.0, p.nesterov = 0, p.sam_rho = 0.1;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, 2, 1));
    CHECK(o && ent_optim_grads_per_step(o) == 2 && ent_optim_batches_per_step(o) == 1);
    double x[2] = {1.0, 0.0};
    float xf[2] = {1.0f, 0.0f};
    for (int step = 0; o && step < 2; step++) {
        double g[2], nrm, f = 0.0;
        for (int i = 0; i < 2; i++) g[i] = a[i] * (x[i] - c[i]), f += 0.5 * a[i] * (x[i] - c[i]) * (x[i] - c[i]);
        nrm = sqrt(g[0] * g[0] + g[1] * g[1]);
        for (int i = 0; i < 2; i++) x[i] -= 0.1 * a[i] * (x[i] + 0.1 * g[i] / nrm - c[i]);
        double loss = -1.0;
        CHECK_OK(ent_optim_step(o, &obj, xf, 1.0, &loss));
        CHECK_NEAR(loss, f, 1e-6);
        CHECK_NEAR(xf[0], x[0], HAND_TOL);
        CHECK_NEAR(xf[1], x[1], HAND_TOL);
        if (step == 0) {
            CHECK_NEAR(xf[0], 0.8975746438, HAND_TOL);
            CHECK_NEAR(xf[1], 0.4388057000, HAND_TOL);
        }
    }
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* One HJ-prox step with lr 1, no momentum, wd 0: x_new = x - p_L, so
 * y = x - t p_L is the iteration's estimate of prox_{t f}(x). On the
 * quadratic, p_L = p* + r^L (p_0 - p*) with r = 1 - alpha (1 + a t),
 * p* = a (x - c) / (1 + a t), p_0 = a (x - c): checked exactly for L = 3,
 * and against prox = (x + a t c) / (1 + a t) for L = 80, where
 * |r|^80 <= 0.6875^80 = 1e-13 (a = 0.5, t = 0.5, alpha = 0.25). Float
 * error: ~10 ulp of values <= 4: 5e-6 allowed. */
static void hj_case(int L, int64_t n) {
    ent_analytic *q = quad(n, 0.0, 1);
    ent_objective obj = ent_analytic_objective(q);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_HJ_PROX);
    p.lr = 1.0, p.momentum = 0.0, p.nesterov = 0, p.L = L, p.gamma0 = 2.0, p.gamma1 = 0.0, p.alpha = 0.25;
    const double t = 0.5, al = 0.25;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, n, 1));
    CHECK(o && ent_optim_grads_per_step(o) == L + 1 && ent_optim_batches_per_step(o) == L + 1);
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(2.0 * cos(1.3 * (double)i));
    double f0 = 0.0, loss = -1.0, worst = 0.0;
    for (int64_t i = 0; i < n; i++) f0 += 0.5 * curv(i) * pow(x[i] - centre(i), 2);
    float *x0 = malloc(sizeof(float) * (size_t)n);
    memcpy(x0, x, sizeof(float) * (size_t)n);
    if (o) CHECK_OK(ent_optim_step(o, &obj, x, 1.0, &loss));
    CHECK_NEAR(loss, f0, 1e-5 * fabs(f0));
    for (int64_t i = 0; i < n; i++) {
        double a = curv(i), c = centre(i), xi = x0[i];
        double ps = a * (xi - c) / (1.0 + a * t), r = 1.0 - al * (1.0 + a * t);
        double pL = ps + pow(r, L) * (a * (xi - c) - ps);
        double y_got = xi - t * ((double)x0[i] - (double)x[i]);
        double y_want = L >= 80 ? (xi + a * t * c) / (1.0 + a * t) : xi - t * pL;
        worst = fmax(worst, fabs(y_got - y_want));
    }
    if (getenv("ENT_TEST_VERBOSE")) printf("    hj-prox L=%d: max |y - y_want| = %.3g\n", L, worst);
    CHECK_MSG(worst <= 5e-6, "hj-prox L = %d: max |x - t p - prox| = %.3g > 5e-6", L, worst);
    ent_optim_free(o);
    ent_analytic_free(q);
    free(x);
    free(x0);
}

ENT_TEST(relax_hj_prox_fixed_point_is_prox) {
    hj_case(3, 64);
    hj_case(80, 64);
}

/* A separable quartic f = sum x^4 / 4 (grad x^3), for HEAT: with u = x +
 * s z, E u^3 = x^3 + 3 x s^2 and Var u^3 = E u^6 - (E u^3)^2, E u^6 =
 * x^6 + 15 x^4 s^2 + 45 x^2 s^4 + 15 s^6. */
static ent_status quartic_eval(void *ctx, const float *x, float *g, double *loss) {
    int64_t n = *(const int64_t *)ctx;
    double f = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        f += v * v * v * v / 4.0;
        if (g) g[i] = (float)(v * v * v);
    }
    if (loss) *loss = f;
    return ENT_OK;
}

/* One HEAT step (lr 1, no momentum) from x = 0.8 everywhere, t = 1/4
 * (s = 0.5), L = 4: p = x - x_new has mean 1.112 (the smoothed gradient;
 * the plain one is 0.512) and sd sqrt(Var u^3 / L) per coordinate. */
ENT_TEST(relax_heat_gradient_is_smoothed) {
    int64_t n = 20000;
    ent_objective obj = {.n_param = n, .ctx = &n, .eval = quartic_eval};
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_HEAT);
    p.lr = 1.0, p.momentum = 0.0, p.nesterov = 0, p.L = 4, p.gamma0 = 4.0, p.gamma1 = 0.0;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, n, 3));
    CHECK_NEAR(ent_optim_gamma(o), 4.0, 0.0);
    float *x = malloc(sizeof(float) * (size_t)n);
    double *z = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = 0.8f;
    double loss;
    if (o) CHECK_OK(ent_optim_step(o, &obj, x, 1.0, &loss));
    const double xv = 0.8f, s2 = 0.25;
    const double m3 = xv * xv * xv + 3 * xv * s2;
    const double m6 = pow(xv, 6) + 15 * pow(xv, 4) * s2 + 45 * xv * xv * s2 * s2 + 15 * s2 * s2 * s2;
    const double sd = sqrt((m6 - m3 * m3) / 4.0);
    for (int64_t i = 0; i < n; i++) z[i] = ((double)(0.8f - x[i]) - m3) / sd;
    zcheck("heat smoothed gradient", z, n);
    ent_optim_free(o);
    free(x);
    free(z);
}

static void expect_bad(ent_optim_params p, const char *name) {
    ent_status s = ent_optim_params_check(&p);
    CHECK_MSG(s == ENT_EUSAGE && strstr(ent_last_error(), name), "%s: got %s (%s)", name, ent_status_name(s),
              ent_last_error());
}

ENT_TEST(relax_params_check) {
    const ent_optim_kind kinds[] = {ENT_OPTIM_SGLD, ENT_OPTIM_SAM, ENT_OPTIM_HJ_PROX, ENT_OPTIM_HEAT,
                                    ENT_OPTIM_REPLICATED_SGD, ENT_OPTIM_ELASTIC_SGD, ENT_OPTIM_PARLE};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ent_optim_params p = ent_optim_params_default(kinds[k]);
        p.replicas = 2;
        CHECK_MSG(ent_optim_params_check(&p) == ENT_OK, "%s defaults: %s", ent_optim_kind_name(kinds[k]), ent_last_error());
        ent_optim_kind back;
        CHECK(ent_optim_kind_parse(ent_optim_kind_name(kinds[k]), &back) && back == kinds[k]);
        CHECK(ent_optim_kind_is_replica(kinds[k]) == (k >= 4));
    }
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGLD);
    p.sgld_decay = 1.5, expect_bad(p, "sgld_decay");
    p = ent_optim_params_default(ENT_OPTIM_SGLD), p.sgld_t0 = 0, expect_bad(p, "sgld_t0");
    p = ent_optim_params_default(ENT_OPTIM_SGLD), p.noise = -1, expect_bad(p, "noise");
    p = ent_optim_params_default(ENT_OPTIM_SAM), p.sam_rho = -0.1, expect_bad(p, "sam_rho");
    p = ent_optim_params_default(ENT_OPTIM_HJ_PROX), p.alpha = 0, expect_bad(p, "alpha");
    p = ent_optim_params_default(ENT_OPTIM_HEAT), p.L = 0, expect_bad(p, "L");
    p = ent_optim_params_default(ENT_OPTIM_HEAT), p.gamma0 = 0, expect_bad(p, "gamma0");
    p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD), expect_bad(p, "replicas"); /* 0 */
    p.replicas = 2, p.coupling = -1, expect_bad(p, "coupling");
    p.coupling = 1, p.coupling_every = 0, expect_bad(p, "coupling_every");
    p.coupling_every = 1, p.coupling_schedule = ENT_COUPLING_COSINE, p.coupling_max = 0, expect_bad(p, "coupling_max");
    p = ent_optim_params_default(ENT_OPTIM_ELASTIC_SGD), p.replicas = 2, p.center = 1, expect_bad(p, "center");
    p = ent_optim_params_default(ENT_OPTIM_PARLE), p.replicas = 2, p.L = 0, expect_bad(p, "L");
    /* ent_optim_new refuses replica methods */
    ent_optim *o = NULL;
    p = ent_optim_params_default(ENT_OPTIM_PARLE), p.replicas = 2;
    CHECK(ent_optim_new(&o, &p, 4, 1) == ENT_EINVAL && o == NULL);
}

/* 6 steps in one go == 3 steps, state saved into a fresh optimizer, 3 more. */
static void resume_case(ent_optim_params p, const char *what) {
    const int64_t n = 40;
    ent_analytic *q = quad(n, 0.0, 1);
    ent_objective obj = ent_analytic_objective(q);
    ent_optim *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(ent_optim_new(&a, &p, n, 9));
    CHECK_OK(ent_optim_new(&b, &p, n, 9));
    CHECK_OK(ent_optim_new(&c, &p, n, 1234));
    float xa[40], xb[40];
    for (int i = 0; i < n; i++) xa[i] = xb[i] = (float)cos(i);
    double l;
    for (int t = 0; a && t < 6; t++) CHECK_OK(ent_optim_step(a, &obj, xa, 1.0, &l));
    for (int t = 0; b && t < 3; t++) CHECK_OK(ent_optim_step(b, &obj, xb, 1.0, &l));
    ent_state_vec vb[16], vc[16];
    ent_state_u64 sb[16];
    int nv = ent_optim_state_vectors(b, vb, 16), ns = ent_optim_state_scalars(b, sb, 16);
    CHECK(ent_optim_state_vectors(c, vc, 16) == nv);
    for (int i = 0; i < nv; i++) memcpy(vc[i].data, vb[i].data, sizeof(float) * (size_t)n);
    for (int i = 0; i < ns; i++) CHECK_OK(ent_optim_set_scalar(c, sb[i].name, sb[i].value));
    for (int t = 0; c && t < 3; t++) CHECK_OK(ent_optim_step(c, &obj, xb, 1.0, &l));
    CHECK_MSG(memcmp(xa, xb, sizeof xa) == 0, "%s: resumed run differs", what);
    ent_optim_free(a);
    ent_optim_free(b);
    ent_optim_free(c);
    ent_analytic_free(q);
}

ENT_TEST(relax_resume_bit_identical) {
    resume_case(ent_optim_params_default(ENT_OPTIM_SGLD), "sgld");
    resume_case(ent_optim_params_default(ENT_OPTIM_SAM), "sam");
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_HJ_PROX);
    p.gamma1 = 0.1; /* t changes with the step count */
    resume_case(p, "hj-prox");
    p = ent_optim_params_default(ENT_OPTIM_HEAT);
    p.gamma0 = 10.0, p.outer_rule = ENT_UPDATE_ADAM;
    resume_case(p, "heat (adam base)");
}
