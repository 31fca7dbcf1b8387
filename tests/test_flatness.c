/* test_flatness.c — local energy and local entropy on quadratics, where
 * both have closed forms. f(x) = 1/2 (x - c)^T H (x - c), H = Q diag(l) Q^T
 * dense (ent_quadop), evaluated at a point w != c (so the gradient
 * g = H (w - c) is not zero and enters the variance).
 *
 * Local energy: with delta ~ N(0, S), S = sigma^2 diag(w^2) (multiplicative)
 * or sigma^2 I (additive), f(w + delta) - f(w) = g.delta + delta^T H delta/2
 * exactly, whose mean is tr(H S)/2 and variance g^T S g + tr((H S)^2)/2.
 * The mean over D draws must be within 4 standard errors sqrt(var / D) of
 * the closed form (a 6e-5 two-sided Gaussian tail; the seed is fixed, so
 * the test is deterministic).
 *
 * Local entropy: Phi(w, gamma) = log E_{N(w, I/gamma)} exp(-(f - f(w)))
 *   = sum_i [ -1/2 log(1 + l_i / gamma) + l_i^2 d_i^2 / (2 (l_i + gamma)) ],
 * d = Q^T (w - c) (a Gaussian integral per eigendirection). The AIS
 * estimate must be within 4 of its own standard errors + 0.01 (the
 * log-of-mean bias, ~se^2/2), and those errors must be small (< 0.1) so
 * the check has teeth. */
#include <stdlib.h>

#include "test.h"

enum { N = 20 };

typedef struct {
    ent_quadop *q;
    ent_objective f;
    double lam[N], c[N];
    float w[N];
} quad;

static int quad_make(quad *t) {
    for (int i = 0; i < N; i++) {
        t->lam[i] = 0.5 + 4.5 * i / (N - 1);
        t->c[i] = 0.3 * sin(i + 1.0);
        t->w[i] = (float)(t->c[i] + 0.1 * cos(2.0 * i)); /* near the minimum c */
    }
    CHECK_OK(ent_quadop_new(&t->q, N, t->lam, t->c, 9));
    if (t->q) t->f = ent_quadop_objective(t->q);
    return t->q != NULL;
}

static ent_status score(void *ctx, const float *theta, double *out) {
    const ent_objective *f = ctx;
    return ent_objective_eval(f, theta, NULL, out);
}

static void energy_case(quad *t, ent_noise_kind kind, double sigma, int draws) {
    ent_hvp h = ent_quadop_hvp(t->q);
    double H[N * N], g[N], d[N], S[N];
    CHECK_OK(ent_hessian_dense(&h, H, NULL));
    for (int i = 0; i < N; i++) d[i] = t->w[i] - t->c[i];
    CHECK_OK(ent_hvp_apply(&h, d, g));
    for (int i = 0; i < N; i++) S[i] = sigma * sigma * (kind == ENT_NOISE_MULTIPLICATIVE ? (double)t->w[i] * t->w[i] : 1.0);
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++) {
        mean += 0.5 * H[i * N + i] * S[i];
        var += g[i] * g[i] * S[i];
        for (int j = 0; j < N; j++) var += 0.5 * H[i * N + j] * H[i * N + j] * S[i] * S[j];
    }
    double base = 0, m = 0, sd = 0;
    CHECK_OK(ent_local_energy(score, &t->f, 1, t->w, N, &sigma, 1, draws, kind, 5, &base, &m, &sd));
    const double se = sqrt(var / draws);
    printf("    %s sigma %.2f: dE %.5f, closed form %.5f, |diff| %.1e (tol 4 se = %.1e); sample sd %.4f vs %.4f\n",
           kind == ENT_NOISE_MULTIPLICATIVE ? "multiplicative" : "additive      ", sigma, m - base, mean,
           fabs(m - base - mean), 4 * se, sd, sqrt(var));
    CHECK(fabs(m - base - mean) <= 4 * se);
    CHECK(fabs(sd - sqrt(var)) <= 0.2 * sqrt(var)); /* sd of a sd estimate over 2000 draws: ~2-5% */
}

ENT_TEST(flatness_local_energy_quadratic) {
    quad t;
    if (!quad_make(&t)) return;
    energy_case(&t, ENT_NOISE_MULTIPLICATIVE, 0.1, 2000);
    energy_case(&t, ENT_NOISE_MULTIPLICATIVE, 0.5, 2000);
    energy_case(&t, ENT_NOISE_ADDITIVE, 0.05, 2000);
    energy_case(&t, ENT_NOISE_ADDITIVE, 0.3, 2000);
    /* sigma = 0 is the point itself, exactly */
    double s0 = 0, base = 0, m = 1, sd = 1;
    CHECK_OK(ent_local_energy(score, &t.f, 1, t.w, N, &s0, 1, 3, ENT_NOISE_ADDITIVE, 1, &base, &m, &sd));
    CHECK(m == base && sd == 0);
    double bad = -1;
    CHECK(ent_local_energy(score, &t.f, 1, t.w, N, &bad, 1, 3, ENT_NOISE_ADDITIVE, 1, &base, &m, &sd) == ENT_EINVAL);
    ent_quadop_free(t.q);
}

static double phi_exact(const quad *t, double gamma) {
    double phi = 0, v[N], d[N];
    for (int i = 0; i < N; i++) d[i] = t->w[i] - t->c[i];
    for (int i = 0; i < N; i++) {
        ent_quadop_eigvec(t->q, i, v);
        double di = 0;
        for (int k = 0; k < N; k++) di += v[k] * d[k];
        const double l = t->lam[i];
        phi += -0.5 * log1p(l / gamma) + 0.5 * l * l * di * di / (l + gamma);
    }
    return phi;
}

ENT_TEST(flatness_local_entropy_quadratic) {
    quad t;
    if (!quad_make(&t)) return;
    const double gamma[] = {1, 10, 100};
    double phi[3], se[3], acc[3];
    ent_ais_opts o = ent_ais_opts_default();
    o.chains = 64, o.temps = 100, o.moves = 5, o.seed = 4;
    CHECK_OK(ent_local_entropy(&t.f, t.w, gamma, 3, &o, phi, se, acc));
    for (int g = 0; g < 3; g++) {
        const double want = phi_exact(&t, gamma[g]);
        printf("    AIS gamma %5.0f: Phi %.4f +- %.4f, closed form %.4f, |diff| %.1e (tol %.1e), acceptance %.2f\n",
               gamma[g], phi[g], se[g], want, fabs(phi[g] - want), 4 * se[g] + 0.01, acc[g]);
        CHECK(fabs(phi[g] - want) <= 4 * se[g] + 0.01);
        CHECK(se[g] < 0.1);
        CHECK(acc[g] > 0.2 && acc[g] < 1.0);
    }
    /* K = 1: plain importance sampling, fine where Phi is small */
    o.temps = 1, o.chains = 400;
    CHECK_OK(ent_local_entropy(&t.f, t.w, &gamma[2], 1, &o, phi, se, NULL));
    const double want = phi_exact(&t, gamma[2]);
    printf("    IS  gamma %5.0f: Phi %.4f +- %.4f, closed form %.4f (tol %.1e)\n", gamma[2], phi[0], se[0], want,
           4 * se[0] + 0.01);
    CHECK(fabs(phi[0] - want) <= 4 * se[0] + 0.01);
    o.rho = 0;
    CHECK(ent_local_entropy(&t.f, t.w, gamma, 1, &o, phi, se, acc) == ENT_EINVAL);
    ent_quadop_free(t.q);
}
