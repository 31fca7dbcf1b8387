/* test_optim.c — optimizers and analytic objectives against known answers:
 * hand-computed steps (SGD, Adam, Entropy-SGD), the SGLD chain's mean
 * against the local-entropy closed form on a quadratic, scoping, convergence,
 * parameter checks, and bit-identical resume.
 *
 * The statistical checks use an exact oracle: on a quadratic every
 * Entropy-SGD quantity is an affine function of the state plus Gaussian
 * noise, so the mean and covariance of (x, x', buf, mu) are propagated in
 * double through the same sequence of steps (lg_* below). Each coordinate is
 * independent, so z_i = (got_i - mean_i) / sd_i are independent N(0, 1):
 * mean(z) has sd 1/sqrt(n) and mean(z^2) has sd sqrt(2/n); the checks allow
 * 5 of those sds (a false alarm has probability < 1e-6 per check; the
 * streams are seeded, so the outcome is in fact fixed). */
#include <stdlib.h>

#include <omp.h>

#include "core/pieces.h"
#include "test.h"

/* f = 1/2 sum a_i (x_i - c_i)^2 with a = (1, 4), c = (0, 1), x0 = (1, 0):
 * the first gradient is g = (1, -4). */
static ent_analytic *small_quadratic(void) {
    static const double a[2] = {1.0, 4.0}, c[2] = {0.0, 1.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 2, a, c, 0.0, 1));
    return q;
}

/* Run `steps` steps from x0 = (1, 0); want[2*k..] = theta after step k+1. */
static void run_small(const ent_optim_params *p, double lr_scale, int steps,
                      const double *want, double tol, const char *what) {
    ent_analytic *q = small_quadratic();
    ent_objective obj = ent_analytic_objective(q);
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, p, 2, 7));
    float th[2] = {1.0f, 0.0f};
    for (int k = 0; k < steps && o; k++) {
        double loss = -1.0;
        CHECK_OK(ent_optim_step(o, &obj, th, lr_scale, &loss));
        for (int i = 0; i < 2; i++)
            CHECK_MSG(fabs(th[i] - want[2 * k + i]) <= tol,
                      "%s: step %d theta[%d] = %.9g, want %.9g", what, k + 1, i,
                      th[i], want[2 * k + i]);
    }
    CHECK(o && ent_optim_steps_done(o) == steps);
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* Values near 1 after a few float32 operations: error <= ~10 ulp = 1.2e-6
 * is generous; a wrong rule changes the second step by >= 1e-2. */
#define HAND_TOL 2e-6

ENT_TEST(optim_sgd_plain_by_hand) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.lr = 0.2; /* with lr_scale 0.5: effective lr 0.1 */
    p.momentum = 0.0;
    p.nesterov = 0;
    /* x -= 0.1 g:  g1 = (1, -4)      -> (0.9, 0.4)
     *              g2 = (0.9, -2.4)  -> (0.81, 0.64)
     *              g3 = (0.81, -1.44)-> (0.729, 0.784) */
    const double want[6] = {0.9, 0.4, 0.81, 0.64, 0.729, 0.784};
    run_small(&p, 0.5, 3, want, HAND_TOL, "sgd");
}

/* SGD (torch.optim.SGD) from x0 = (1, 0) of the small quadratic, lr 0.1,
 * worked out by hand; want: theta after each step.
 *
 * momentum 0.9: buf = 0.9 buf + g, x -= 0.1 buf:
 *   1: g = (1, -4),     buf = (1, -4),                        x = (0.9, 0.4)
 *   2: g = (0.9, -2.4), buf = (0.9+0.9, -3.6-2.4) = (1.8, -6.0), x = (0.72, 1.0)
 *   3: g = (0.72, 0),   buf = (1.62+0.72, -5.4) = (2.34, -5.4),  x = (0.486, 1.54)
 * Nesterov 0.9: step = g + 0.9 buf:
 *   1: g = (1, -4), buf = (1, -4), step = (1.9, -7.6),           x = (0.81, 0.76)
 *   2: g = (0.81, 4 (0.76 - 1)) = (0.81, -0.96),
 *      buf = (0.9 + 0.81, -3.6 - 0.96) = (1.71, -4.56),
 *      step = (0.81 + 1.539, -0.96 - 4.104) = (2.349, -5.064),   x = (0.5751, 1.2664)
 * weight decay 0.1, no momentum: g = grad + 0.1 x:
 *   1: g = (1.1, -4),                                            x = (0.89, 0.4)
 *   2: g = (0.89 + 0.089, -2.4 + 0.04) = (0.979, -2.36),         x = (0.7921, 0.636)
 * momentum 0.9, dampening 0.5: buf = g on the first step, then
 * 0.9 buf + 0.5 g:
 *   1: g = (1, -4),      buf = (1, -4),                          x = (0.9, 0.4)
 *   2: g = (0.9, -2.4),  buf = (0.9 + 0.45, -3.6 - 1.2) = (1.35, -4.8),
 *                                                                x = (0.765, 0.88)
 *   3: g = (0.765, -0.48), buf = (1.215 + 0.3825, -4.32 - 0.24) = (1.5975, -4.56),
 *                                                                x = (0.60525, 1.336)
 *   Ignoring the dampening gives the momentum row's (0.72, 1.0) at step 2;
 *   damping the first step too gives (0.95, 0.2) at step 1.
 * weight decay 0.1 and momentum 0.9: the decay is coupled, added to the
 * gradient before the buffer:
 *   1: g = (1.1, -4),                     buf = g,               x = (0.89, 0.4)
 *   2: g = (0.979, -2.36), buf = (0.99 + 0.979, -3.6 - 2.36) = (1.969, -5.96),
 *                                                                x = (0.6931, 0.996)
 *   Decay added after the buffer (buf on the bare gradient) gives
 *   x0 = 0.89 - 0.1 (1.79 + 0.089) = 0.7021 at step 2. */
ENT_TEST(optim_sgd_by_hand) {
    static const struct {
        double m, dampening;
        int nesterov;
        double wd;
        int steps;
        double want[6];
        const char *what;
    } cases[] = {
        {0.9, 0.0, 0, 0.0, 3, {0.9, 0.4, 0.72, 1.0, 0.486, 1.54}, "sgd momentum"},
        {0.9, 0.0, 1, 0.0, 2, {0.81, 0.76, 0.5751, 1.2664}, "sgd nesterov"},
        {0.0, 0.0, 0, 0.1, 2, {0.89, 0.4, 0.7921, 0.636}, "sgd weight decay"},
        {0.9, 0.5, 0, 0.0, 3, {0.9, 0.4, 0.765, 0.88, 0.60525, 1.336}, "sgd momentum, dampening"},
        {0.9, 0.0, 0, 0.1, 2, {0.89, 0.4, 0.6931, 0.996}, "sgd momentum, weight decay"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
        p.lr = 0.1, p.momentum = cases[i].m, p.dampening = cases[i].dampening;
        p.nesterov = cases[i].nesterov, p.weight_decay = cases[i].wd;
        run_small(&p, 1.0, cases[i].steps, cases[i].want, HAND_TOL, cases[i].what);
    }
}

/* torch.optim.SGD's defaults: momentum 0, dampening 0, no Nesterov, no
 * weight decay (lr is ours). */
ENT_TEST(optim_sgd_torch_defaults) {
    const ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    CHECK_MSG(p.momentum == 0.0 && p.dampening == 0.0 && p.nesterov == 0 && p.weight_decay == 0.0 &&
                  p.lr == 0.1,
              "sgd defaults: momentum %g dampening %g nesterov %d weight decay %g lr %g", p.momentum,
              p.dampening, p.nesterov, p.weight_decay, p.lr);
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, 4, 1));
    CHECK_MSG(ent_optim_state_vectors(o, NULL, 0) == 0, "plain SGD keeps no momentum buffer");
    ent_optim_free(o);
}

ENT_TEST(optim_adam_by_hand) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ADAM);
    p.lr = 0.01; /* b1 0.9, b2 0.999, eps 1e-8 */
    /* 1: g = (1, -4); m = 0.1 g = (0.1, -0.4); v = 0.001 g^2 = (0.001, 0.016);
     *    m_hat = g, sqrt(v_hat) = |g|: x -= 0.01 g / (|g| + 1e-8)
     *    = (1 - 0.01, 0 + 0.01) to 1e-10: the first step is lr sign(g).
     * 2: g = (0.99, 4 (0.01 - 1)) = (0.99, -3.96);
     *    m = 0.9 m + 0.1 g = (0.189, -0.756);
     *    v = 0.999 v + 0.001 g^2 = (0.0019791, 0.0316656);
     *    bias corrections 1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999;
     *    x_i -= 0.01 (m_i / 0.19) / (sqrt(v_i / 0.001999) + 1e-8)
     *    -> (0.980002746, 0.0199972541). */
    double w2[2], x1[2] = {0.99, 0.01};
    const double g2[2] = {0.99, -3.96};
    for (int i = 0; i < 2; i++) {
        double m = 0.9 * (0.1 * (i ? -4.0 : 1.0)) + 0.1 * g2[i];
        double v = 0.999 * (0.001 * (i ? 16.0 : 1.0)) + 0.001 * g2[i] * g2[i];
        w2[i] = x1[i] - 0.01 * (m / 0.19) / (sqrt(v / 0.001999) + 1e-8);
    }
    CHECK_NEAR(w2[0], 0.980002746, 1e-9);
    CHECK_NEAR(w2[1], 0.0199972541, 1e-9);
    const double want[4] = {0.99, 0.01, w2[0], w2[1]};
    run_small(&p, 1.0, 2, want, HAND_TOL, "adam");
}

/* Adam's weight decay is coupled, as torch.optim.Adam: added to the
 * gradient before the moments. f = (x - 1)^2 / 2 from x = 0.5, lr 0.01,
 * wd 2: g = (x - 1) + 2 x = 0.5 points away from the minimum, and Adam's
 * first step is lr sign(g) (to 2e-8): x1 = 0.49. Decay ignored: 0.51;
 * decoupled (AdamW): 0.5 (1 - 0.02) + 0.01 = 0.5.
 * 2: g = -0.51 + 0.98 = 0.47, m = 0.9 (0.1 0.5) + 0.1 0.47,
 *    v = 0.999 (0.001 0.25) + 0.001 0.47^2,
 *    x2 = 0.49 - 0.01 (m / 0.19) / (sqrt(v / 0.001999) + 1e-8). */
ENT_TEST(optim_adam_weight_decay_coupled) {
    const double a[1] = {1.0}, c[1] = {1.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 1, a, c, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ADAM);
    p.lr = 0.01, p.weight_decay = 2.0;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, 1, 1));
    const double m = 0.9 * 0.1 * 0.5 + 0.1 * 0.47, v = 0.999 * 0.001 * 0.25 + 0.001 * 0.47 * 0.47;
    const double want[2] = {0.49, 0.49 - 0.01 * (m / 0.19) / (sqrt(v / 0.001999) + 1e-8)};
    float x = 0.5f;
    double loss;
    for (int k = 0; k < 2 && o; k++) {
        CHECK_OK(ent_optim_step(o, &obj, &x, 1.0, &loss));
        CHECK_MSG(fabs(x - want[k]) <= HAND_TOL, "adam, weight decay 2: step %d x = %.9g, want %.9g", k + 1, x,
                  want[k]);
    }
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* AdamW as torch.optim.AdamW: the weights first scaled by 1 - lr wd, then
 * Adam's step on the plain gradient. lr 0.01, wd 0.1 (decay 0.999):
 * 1: x = 0.999 (1, 0) - 0.01 sign(1, -4) = (0.989, 0.01);
 * 2: g = (0.989, 4 (0.01 - 1)); moments as in optim_adam_by_hand;
 *    x = 0.999 x - 0.01 (m / 0.19) / (sqrt(v / 0.001999) + 1e-8).
 * Adam's L2 weight decay would give (0.9899, ...) at step 1 instead. */
ENT_TEST(optim_adamw_by_hand) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ADAMW);
    CHECK(p.lr == 1e-3 && p.weight_decay == 1e-2); /* torch's defaults */
    p.lr = 0.01;
    p.weight_decay = 0.1;
    const double x1[2] = {0.989, 0.01}, g1[2] = {1.0, -4.0}, g2[2] = {0.989, -3.96};
    double w2[2];
    for (int i = 0; i < 2; i++) {
        const double m = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
        const double v = 0.999 * 0.001 * g1[i] * g1[i] + 0.001 * g2[i] * g2[i];
        w2[i] = 0.999 * x1[i] - 0.01 * (m / 0.19) / (sqrt(v / 0.001999) + 1e-8);
    }
    const double want[4] = {x1[0], x1[1], w2[0], w2[1]};
    run_small(&p, 1.0, 2, want, HAND_TOL, "adamw");
}

/* Entropy-SGD, n = 1, f = x^2 / 2, x = 1, gamma = 0.5 (gamma1 0), eta' 0.1,
 * alpha 0.75, inner Nesterov 0.9, inner wd 0.1, no noise, L = 2. */
static ent_optim_params esgd_hand_params(void) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = 2;
    p.gamma0 = 0.5;
    p.gamma1 = 0.0;
    p.sgld_lr = 0.1;
    p.noise = 0.0;
    p.alpha = 0.75;
    p.inner_momentum = 0.9;
    p.inner_nesterov = 1;
    p.inner_weight_decay = 0.1;
    p.lr = 1.0;
    return p;
}

static double esgd_steps(const ent_optim_params *p, int steps, double *loss) {
    const double a = 1.0;
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 1, &a, NULL, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    ent_optim *o = NULL;
    float x = 1.0f;
    CHECK_OK(ent_optim_new(&o, p, 1, 3));
    for (int k = 0; k < steps && o; k++) CHECK_OK(ent_optim_step(o, &obj, &x, 1.0, loss));
    ent_optim_free(o);
    ent_analytic_free(q);
    return x;
}
static double esgd_one_step(const ent_optim_params *p, double *loss) {
    return esgd_steps(p, 1, loss);
}

ENT_TEST(optim_esgd_by_hand) {
    ent_optim_params p = esgd_hand_params();
    double loss = 0.0;
    /* Momentum on d (paper / PyTorch order), x' = mu = 1, buf = 0:
     * l=1: g = 1, d = 1 + 0.1 - 0 = 1.1, buf = 1.1, step = 1.1 + 0.99 = 2.09,
     *      x' = 1 - 0.209 = 0.791, mu = 0.25 + 0.75 * 0.791 = 0.84325
     * l=2: g = 0.791, d = 0.791 + 0.0791 - 0.5 * 0.209 = 0.7656,
     *      buf = 0.99 + 0.7656 = 1.7556, step = 0.7656 + 1.58004 = 2.34564,
     *      x' = 0.556436, mu = 0.2108125 + 0.417327 = 0.6281395
     * outer: x = 1 - 1 * (1 - mu) = 0.6281395;
     * loss = mean(0.5, 0.5 * 0.791^2) = 0.40642025 */
    double x = esgd_one_step(&p, &loss);
    CHECK_NEAR(x, 0.6281395, HAND_TOL);
    CHECK_NEAR(loss, 0.40642025, 1e-6);
    /* Every quantity is linear in x and gamma is constant, so with the
     * inner buffer reset each update, update 2 is the same map again:
     * x = 0.6281395^2 = 0.394559231 (a buffer carried over would give
     * 0.197678347 instead). */
    CHECK_NEAR(esgd_steps(&p, 2, &loss), 0.6281395 * 0.6281395, HAND_TOL);
    /* Unscaled outer step, lr 0.5: x = 1 - 0.5 * 0.5 * (1 - 0.6281395)
     * = 0.907034875 */
    p.outer_unscaled = 1;
    p.lr = 0.5;
    CHECK_NEAR(esgd_one_step(&p, &loss), 0.907034875, HAND_TOL);
    /* Lua order (momentum on g only) and the extra gradient at x:
     * l=1: g = 1, buf = 1, g_m = 1 + 0.9 = 1.9, d = 1.9 + 0.1 = 2.0,
     *      x' = 0.8, mu = 0.25 + 0.6 = 0.85
     * l=2: g = 0.8, buf = 0.9 + 0.8 = 1.7, g_m = 0.8 + 1.53 = 2.33,
     *      d = 2.33 + 0.08 - 0.5 * 0.2 = 2.31, x' = 0.569,
     *      mu = 0.2125 + 0.42675 = 0.63925;  x = 0.63925
     * loss = mean(f(x) = 0.5, f(1) = 0.5, f(0.8) = 0.32) = 0.44 */
    p = esgd_hand_params();
    p.inner_momentum_grad_only = 1;
    p.grad_at_x = 1;
    CHECK_NEAR(esgd_one_step(&p, &loss), 0.63925, HAND_TOL);
    CHECK_NEAR(loss, 0.44, 1e-6);
    /* Entropy-Adam outer step (momentum-on-d inner loop as in the first
     * case, G = x - mu = 0.3718605): first Adam step x = 1 - 0.01 sign(G). */
    p = esgd_hand_params();
    p.outer_rule = ENT_UPDATE_ADAM;
    p.lr = 0.01;
    CHECK_NEAR(esgd_one_step(&p, &loss), 0.99, HAND_TOL);
    /* Adam-preconditioned SGLD (inner_rule ADAM, no inner momentum):
     * l=1: d = 1.1, m = 0.11, v = 0.00121, m_hat = 1.1, sqrt(v_hat) = 1.1:
     *      x' = 1 - 0.1 = 0.9 (to 1e-9), mu = 0.925
     * l=2: d = 0.9 + 0.09 - 0.05 = 0.94, m = 0.193, v = 0.00209239,
     *      x' = 0.9 - 0.1 (0.193 / 0.19) / (sqrt(0.00209239 / 0.001999) + 1e-8)
     *         = 0.800713825, mu = 0.25 * 0.925 + 0.75 x' = 0.831785369 = x */
    p = esgd_hand_params();
    p.inner_rule = ENT_UPDATE_ADAM;
    CHECK_NEAR(esgd_one_step(&p, &loss), 0.831785369, HAND_TOL);
}

/* ------------------------------------------------------------------------
 * Exact linear-Gaussian oracle for Entropy-SGD on f = a/2 (x - c)^2 (+ grad
 * noise sig_g nu). State s = (x, x', buf, mu). A quantity is an affine form
 * r.s + c0 + nu*N1 + xi*N2 with N1 (gradient noise) and N2 (SGLD noise)
 * independent N(0, 1) fresh at each inner step. */
enum { SX = 0, SXP, SB, SMU };
typedef struct {
    double r[4], c0, nu, xi;
} lf;

static lf lf_unit(int k) {
    lf f;
    memset(&f, 0, sizeof f);
    f.r[k] = 1.0;
    return f;
}
static lf lf_lin(double a, lf x, double b, lf y) { /* a x + b y */
    lf f;
    for (int k = 0; k < 4; k++) f.r[k] = a * x.r[k] + b * y.r[k];
    f.c0 = a * x.c0 + b * y.c0;
    f.nu = a * x.nu + b * y.nu;
    f.xi = a * x.xi + b * y.xi;
    return f;
}

/* mean M and (optional) covariance P <- rows applied to the state. */
static void lg_apply(double M[4], double P[16], const lf rows[4]) {
    double Mn[4], T[16], Pn[16];
    for (int i = 0; i < 4; i++) {
        Mn[i] = rows[i].c0;
        for (int k = 0; k < 4; k++) Mn[i] += rows[i].r[k] * M[k];
    }
    memcpy(M, Mn, sizeof Mn);
    if (!P) return;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0.0;
            for (int k = 0; k < 4; k++) s += rows[i].r[k] * P[4 * k + j];
            T[4 * i + j] = s;
        }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = rows[i].nu * rows[j].nu + rows[i].xi * rows[j].xi;
            for (int k = 0; k < 4; k++) s += T[4 * i + k] * rows[j].r[k];
            Pn[4 * i + j] = s;
        }
    memcpy(P, Pn, sizeof Pn);
}

/* One Entropy-SGD update (SGD inner rule, outer SGD without momentum or
 * weight decay) on one coordinate, written from docs/algorithms.md §3.2
 * and §3.4.
 * outer = 0 stops before the outer step (to read mu). */
static void lg_esgd_update(const ent_optim_params *p, double gamma, double a,
                           double c, double sig_g, double lr, int outer,
                           double M[4], double P[16]) {
    lf rows[4];
    const lf X = lf_unit(SX), XP = lf_unit(SXP), B = lf_unit(SB), MU = lf_unit(SMU);
    lf zero;
    memset(&zero, 0, sizeof zero);
    rows[SX] = X; /* x' <- x, mu <- x, buf <- 0 */
    rows[SXP] = X;
    rows[SB] = zero;
    rows[SMU] = X;
    lg_apply(M, P, rows);
    const double m = p->inner_momentum, eta = p->sgld_lr;
    const double sigma = p->noise * sqrt((p->noise_code ? 2.0 : 1.0) * eta);
    for (int l = 0; l < p->L; l++) {
        lf g = lf_lin(a, XP, 0.0, XP); /* a (x' - c) + sig_g nu */
        g.c0 = -a * c;
        g.nu = sig_g;
        lf Bn = B, d;
        if (m > 0 && p->inner_momentum_grad_only) {
            Bn = lf_lin(m, B, 1.0, g);
            g = p->inner_nesterov ? lf_lin(1.0, g, m, Bn) : Bn;
        }
        /* d = g + iwd x' - gamma (x - x') */
        d = lf_lin(1.0, g, p->inner_weight_decay + gamma, XP);
        d = lf_lin(1.0, d, -gamma, X);
        if (m > 0 && !p->inner_momentum_grad_only) {
            Bn = lf_lin(m, B, 1.0, d);
            d = p->inner_nesterov ? lf_lin(1.0, d, m, Bn) : Bn;
        }
        lf XPn = lf_lin(1.0, XP, -eta, d);
        XPn.xi += sigma;
        rows[SX] = X;
        rows[SXP] = XPn;
        rows[SB] = Bn;
        rows[SMU] = lf_lin(1.0 - p->alpha, MU, p->alpha, XPn);
        lg_apply(M, P, rows);
    }
    if (!outer) return;
    const double s = p->outer_unscaled ? gamma : 1.0;
    rows[SX] = lf_lin(1.0 - lr * s, X, lr * s, MU); /* x - lr s (x - mu) */
    rows[SXP] = XP;
    rows[SB] = B;
    rows[SMU] = MU;
    lg_apply(M, P, rows);
}

/* n coordinates, G curvature groups: a_i = 0.5 + 1.5 (i % G) / (G - 1). */
#define NGROUP 10
static double group_a(int64_t i) { return 0.5 + 1.5 * (double)(i % NGROUP) / (NGROUP - 1); }

/* mean(z), mean(z^2) of z_i = (got_i - mean_i) / sd_i. */
static void zstats(const double *got, const double *mean, const double *sd,
                   int64_t n, double *mz, double *mz2) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double z = (got[i] - mean[i]) / sd[i];
        s1 += z;
        s2 += z * z;
    }
    *mz = s1 / (double)n;
    *mz2 = s2 / (double)n;
}

#define CHECK_Z(mz, mz2, n, what)                                             \
    do {                                                                      \
        double tz_ = 5.0 / sqrt((double)(n)), tz2_ = 5.0 * sqrt(2.0 / (double)(n)); \
        CHECK_MSG(fabs(mz) <= tz_, "%s: mean z = %.4f, |.| must be <= %.4f", what, mz, tz_); \
        CHECK_MSG(fabs((mz2) - 1.0) <= tz2_, "%s: mean z^2 = %.4f, must be 1 +- %.4f", \
                  what, mz2, tz2_);                                           \
        if (getenv("ENT_TEST_VERBOSE"))                                       \
            printf("    %s: mean z %.4f (tol %.4f), mean z^2 %.4f (tol 1 +- %.4f)\n", \
                   what, mz, tz_, mz2, tz2_);                                 \
    } while (0)

/* One Entropy-SGD update on f = sum a_i x_i^2 / 2 from x_i = 1 + 0.5 sin(i);
 * returns mu (read from the state after the step) and x after the step. */
static void esgd_quadratic_once(const ent_optim_params *p, int64_t n,
                                double *mu_out, double *x_out) {
    double *a = malloc((size_t)n * sizeof *a);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        a[i] = group_a(i);
        x[i] = (float)(1.0 + 0.5 * sin((double)i));
    }
    ent_analytic *q = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, n, a, NULL, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    CHECK_OK(ent_optim_new(&o, p, n, 12345));
    double loss;
    CHECK_OK(ent_optim_step(o, &obj, x, 1.0, &loss));
    ent_state_vec v[8];
    int nv = ent_optim_state_vectors(o, v, 8);
    const float *mu = NULL;
    for (int k = 0; k < nv && k < 8; k++)
        if (strcmp(v[k].name, "mu") == 0) mu = v[k].data;
    CHECK(mu != NULL);
    for (int64_t i = 0; i < n; i++) {
        mu_out[i] = mu ? mu[i] : 0.0;
        x_out[i] = x[i];
    }
    ent_optim_free(o);
    ent_analytic_free(q);
    free(a);
    free(x);
}

/* The SGLD chain x' targets P(x') ~ exp(-a x'^2/2 - gamma (x - x')^2 / 2),
 * whose mean is gamma x / (a + gamma). The chain is linear:
 * x' - m* <- rho (x' - m*) + sigma xi, rho = 1 - eta'(a + gamma), so its
 * stationary mean is exactly m* = gamma x / (a + gamma) (the discretisation
 * does not bias the mean of a linear drift); its stationary variance is
 * sigma^2 / (1 - rho^2) = 1 / ((a + gamma)(1 - eta'(a + gamma) / 2)) for
 * sigma^2 = 2 eta' (temperature 1): the Gibbs value 1 / (a + gamma) times a
 * discretisation bias 1 / (1 - eta' k / 2), here at most 1.08. mu, the
 * exponential average of x' with weight alpha = 0.05, is read after
 * L = 400 steps: burn-in (1 - alpha)^L ~ 1e-9 and rho^L ~ 3e-14 make
 * E[mu] = m* to < 1e-6 sd (checked below from the oracle). Its sd comes from
 * the oracle. With n = 5000 the z^2 check (tol 5 sqrt(2/n) = 0.1) catches a
 * noise std off by 10% (z^2 = 0.81 or 1.21) and certainly the sqrt(2) of
 * noise_code; the mean check has tol 0.071 sd. */
ENT_TEST(optim_esgd_inner_chain_mean) {
    const int64_t n = 5000;
    double *mu = malloc((size_t)n * sizeof *mu), *xo = malloc((size_t)n * sizeof *xo);
    double *want = malloc((size_t)n * sizeof *want), *sd = malloc((size_t)n * sizeof *sd);
    for (int cfg = 0; cfg < 4; cfg++) {
        ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
        p.L = 400;
        p.gamma0 = 1.0;
        p.gamma1 = 0.0;
        p.sgld_lr = 0.05;
        p.alpha = 0.05;
        p.noise = 1.0;
        p.noise_code = cfg == 1 ? 0 : 1; /* cfg 1: sigma^2 = eta' (T = 1/2) */
        p.inner_momentum = cfg >= 2 ? 0.9 : 0.0;
        p.inner_nesterov = cfg >= 2;
        p.inner_momentum_grad_only = cfg == 3;
        const char *what[4] = {"SGLD T=1 (noise code 1)", "SGLD noise code 0",
                               "SGLD + Nesterov on d", "SGLD + Nesterov on grad only"};
        esgd_quadratic_once(&p, n, mu, xo);
        double Pg[NGROUP][16], kap[NGROUP], worst_bias = 0.0;
        for (int g = 0; g < NGROUP; g++) {
            double M[4] = {1, 0, 0, 0}; /* x = 1: E[mu] = kap x */
            memset(Pg[g], 0, sizeof Pg[g]);
            lg_esgd_update(&p, p.gamma0, group_a(g), 0.0, 0.0, p.lr, 0, M, Pg[g]);
            kap[g] = M[SMU];
            /* The closed form of the mean: gamma / (a + gamma); with momentum
             * on grad only the fixed point of d = 0 is g / (1 - m) =
             * gamma (x - x'), i.e. gamma / (a / (1 - m) + gamma). */
            double a = group_a(g), am = cfg == 3 ? a / (1.0 - 0.9) : a;
            double closed = p.gamma0 / (am + p.gamma0);
            double bias = fabs(kap[g] - closed) / sqrt(Pg[g][4 * SMU + SMU]);
            if (bias > worst_bias) worst_bias = bias;
        }
        CHECK_MSG(worst_bias < 1e-6, "%s: oracle mean differs from the closed form by %.3g sd",
                  what[cfg], worst_bias);
        for (int64_t i = 0; i < n; i++) {
            double x = (float)(1.0 + 0.5 * sin((double)i)), a = group_a(i);
            double am = cfg == 3 ? a / (1.0 - 0.9) : a;
            want[i] = p.gamma0 * x / (am + p.gamma0);
            sd[i] = sqrt(Pg[i % NGROUP][4 * SMU + SMU]);
        }
        double mz, mz2;
        zstats(mu, want, sd, n, &mz, &mz2);
        CHECK_Z(mz, mz2, n, what[cfg]);
    }
    free(mu);
    free(xo);
    free(want);
    free(sd);
}

/* Outer step vs the local-entropy gradient: with mu ~ <x'> = gamma x/(a+gamma),
 * one unscaled outer step (lr eta, momentum 0) moves x by
 * -eta gamma (x - <x'>) = -eta gamma a x / (a + gamma). Per coordinate the
 * move is that plus eta gamma (mu - <x'>), whose sd is eta gamma sd(mu) from
 * the oracle; the z statistics are checked as above, and the total move
 * sum_i dx_i against its expectation within 5 sd of the sum. Scaled vs
 * unscaled (factor gamma = 0.5) would be off by ~5 sd per coordinate. */
ENT_TEST(optim_esgd_outer_step_is_local_entropy_gradient) {
    const int64_t n = 1000;
    double *mu = malloc((size_t)n * sizeof *mu), *xo = malloc((size_t)n * sizeof *xo);
    double *want = malloc((size_t)n * sizeof *want), *sd = malloc((size_t)n * sizeof *sd);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = 2000;
    p.gamma0 = 0.5;
    p.gamma1 = 0.0;
    p.sgld_lr = 0.05;
    p.alpha = 0.01;
    p.noise = 1.0;
    p.noise_code = 1;
    p.inner_momentum = 0.0;
    p.inner_nesterov = 0;
    p.outer_unscaled = 1;
    p.lr = 0.1;
    esgd_quadratic_once(&p, n, mu, xo);
    double sdmu[NGROUP];
    for (int g = 0; g < NGROUP; g++) {
        double M[4] = {1, 0, 0, 0}, P[16] = {0};
        lg_esgd_update(&p, p.gamma0, group_a(g), 0.0, 0.0, p.lr, 0, M, P);
        sdmu[g] = sqrt(P[4 * SMU + SMU]);
        double a = group_a(g);
        CHECK_MSG(fabs(M[SMU] - p.gamma0 / (a + p.gamma0)) < 1e-6 * sdmu[g],
                  "oracle: E[mu] = %.9g, gamma/(a+gamma) = %.9g", M[SMU], p.gamma0 / (a + p.gamma0));
    }
    double sum_got = 0.0, sum_want = 0.0, var_sum = 0.0;
    const double eg = p.lr * p.gamma0;
    for (int64_t i = 0; i < n; i++) {
        double x = (float)(1.0 + 0.5 * sin((double)i)), a = group_a(i);
        double dx = xo[i] - x;
        want[i] = -eg * a * x / (a + p.gamma0);
        sd[i] = eg * sdmu[i % NGROUP];
        mu[i] = dx; /* reuse as "got" */
        sum_got += dx;
        sum_want += want[i];
        var_sum += sd[i] * sd[i];
    }
    double mz, mz2;
    zstats(mu, want, sd, n, &mz, &mz2);
    CHECK_Z(mz, mz2, n, "outer step dx vs -eta gamma a x/(a+gamma)");
    CHECK_MSG(fabs(sum_got - sum_want) <= 5.0 * sqrt(var_sum),
              "sum dx = %.6g, want %.6g +- %.3g (5 sd)", sum_got, sum_want, 5.0 * sqrt(var_sum));
    if (getenv("ENT_TEST_VERBOSE"))
        printf("    sum dx = %.6g want %.6g, rel err %.2e, 5 sd = %.2e rel\n", sum_got, sum_want,
               fabs(sum_got / sum_want - 1.0), 5.0 * sqrt(var_sum) / fabs(sum_want));
    free(mu);
    free(xo);
    free(want);
    free(sd);
}

/* gamma(t) = gamma0 (1 + gamma1)^t, read through ent_optim_gamma and through
 * its effect: with n = 1, f = x^2/2, x = 1, L = 1, no inner momentum, no
 * noise, alpha = 1, eta' = 0.5: x' = x (1 - eta' a) = 0.5, mu = x' and an
 * unscaled outer step with lr 1 gives x_new = 1 - gamma (1 - 0.5), so
 * gamma_used = 2 (1 - x_new). float32 error: x_new ~ 1 is exact to 6e-8
 * absolute, so gamma_used is good to ~2e-7 absolute; gamma >= 0.01 here,
 * so rel 1e-4 is generous while any off-by-one in t changes gamma by
 * gamma1 = 1e-2 relative. */
ENT_TEST(optim_esgd_scoping) {
    const double a = 1.0;
    for (int capped = 0; capped < 2; capped++) {
        ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
        p.L = 1;
        p.gamma0 = 0.01;
        p.gamma1 = 0.01;
        p.gamma_max = capped ? 0.1 : 0.0; /* 0.01 * 1.01^t hits 0.1 at t = 231.4 */
        p.sgld_lr = 0.5;
        p.noise = 0.0;
        p.alpha = 1.0;
        p.inner_momentum = 0.0;
        p.inner_nesterov = 0;
        p.outer_unscaled = 1;
        p.lr = 1.0;
        ent_analytic *q = NULL;
        ent_optim *o = NULL;
        CHECK_OK(ent_analytic_quadratic(&q, 1, &a, NULL, 0.0, 1));
        ent_objective obj = ent_analytic_objective(q);
        CHECK_OK(ent_optim_new(&o, &p, 1, 1));
        double want = p.gamma0; /* by repeated multiplication */
        for (int t = 0; t <= 1000 && o; t++) {
            double w = capped && want > 0.1 ? 0.1 : want;
            if (t == 0 || t == 1 || t == 10 || t == 231 || t == 232 || t == 1000) {
                CHECK_MSG(fabs(ent_optim_gamma(o) / w - 1.0) <= 1e-12,
                          "cap %d: gamma after %d updates = %.12g, want %.12g", capped, t,
                          ent_optim_gamma(o), w);
                float x = 1.0f;
                double loss;
                CHECK_OK(ent_optim_step(o, &obj, &x, 1.0, &loss));
                double used = 2.0 * (1.0 - x);
                CHECK_MSG(fabs(used / w - 1.0) <= 1e-4,
                          "cap %d: gamma used in update %d = %.7g, want %.7g", capped, t, used, w);
                want *= 1.01;
                continue;
            }
            float x = 1.0f;
            double loss;
            CHECK_OK(ent_optim_step(o, &obj, &x, 1.0, &loss));
            want *= 1.01;
        }
        CHECK(o && ent_optim_steps_done(o) == 1001);
        ent_optim_free(o);
        ent_analytic_free(q);
    }
}

/* Convergence of Entropy-SGD on f = 1/2 sum a_i (x_i - c_i)^2, n = 100,
 * a in [0.5, 2], c_i = sin(i), x0 = c + 2, from the paper's defaults
 * (L 20, gamma0 1e-4, gamma1 1e-3, eta' 0.1, noise 1e-4, alpha 0.75, inner
 * Nesterov 0.9, outer lr 1). The oracle gives E[x_K] and sd(x_K) exactly;
 * the test requires (1) the oracle to predict convergence: |E[x_K] - c| +
 * 6 sd <= tol; (2) the z statistics of the run against the oracle; (3) the
 * run itself: max_i |x_i - c_i| <= tol.
 * Exact gradient: K = 40 updates, tol = 1e-3. Noisy gradient (N(0, 0.1^2)
 * per batch): lr = 1 for 20 updates, then lr_scale 1/(k - 19) (the outer
 * iterate becomes the running average of mu), K = 800, tol = 0.02. */
static void esgd_converge(double sig_g, int K, int warm, double tol, const char *what) {
    const int64_t n = 100;
    double *a = malloc((size_t)n * sizeof *a), *c = malloc((size_t)n * sizeof *c);
    double *got = malloc((size_t)n * sizeof *got), *mean = malloc((size_t)n * sizeof *mean);
    double *sd = malloc((size_t)n * sizeof *sd);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) {
        a[i] = group_a(i);
        c[i] = sin((double)i);
        x[i] = (float)(c[i] + 2.0);
    }
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    ent_analytic *q = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, n, a, c, sig_g, 99));
    ent_objective obj = ent_analytic_objective(q);
    CHECK_OK(ent_optim_new(&o, &p, n, 2024));
    double loss = 0.0;
    for (int k = 0; k < K && o; k++) {
        double s = k < warm ? 1.0 : 1.0 / (double)(k - warm + 2);
        CHECK_OK(ent_optim_step(o, &obj, x, s, &loss));
    }
    /* Oracle: covariance per curvature group (independent of c and x0). */
    double Pg[NGROUP][16];
    for (int g = 0; g < NGROUP; g++) {
        double M[4] = {0}, *P = Pg[g];
        memset(P, 0, sizeof Pg[g]);
        for (int k = 0; k < K; k++) {
            double s = k < warm ? 1.0 : 1.0 / (double)(k - warm + 2);
            double gam = p.gamma0 * pow(1.0 + p.gamma1, k);
            lg_esgd_update(&p, gam, group_a(g), 0.0, sig_g, p.lr * s, 1, M, P);
        }
    }
    /* Means: E[x_K] is linear in (x0, c), E = u_g x0 + v_g c per group. */
    double ug[NGROUP], vg[NGROUP];
    for (int g = 0; g < NGROUP; g++)
        for (int j = 0; j < 2; j++) {
            double M[4] = {j == 0 ? 1.0 : 0.0, 0, 0, 0};
            for (int k = 0; k < K; k++) {
                double s = k < warm ? 1.0 : 1.0 / (double)(k - warm + 2);
                double gam = p.gamma0 * pow(1.0 + p.gamma1, k);
                lg_esgd_update(&p, gam, group_a(g), j == 0 ? 0.0 : 1.0, sig_g, p.lr * s, 1, M, NULL);
            }
            if (j == 0) ug[g] = M[SX]; else vg[g] = M[SX];
        }
    double pred = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double M[4] = {ug[i % NGROUP] * (double)(float)(c[i] + 2.0) + vg[i % NGROUP] * c[i], 0, 0, 0};
        mean[i] = M[SX];
        sd[i] = sqrt(Pg[i % NGROUP][0]);
        got[i] = x[i];
        double b = fabs(mean[i] - c[i]) + 6.0 * sd[i];
        if (b > pred) pred = b;
        if (fabs(got[i] - c[i]) > err) err = fabs(got[i] - c[i]);
    }
    CHECK_MSG(pred <= tol, "%s: oracle predicts max |E x - c| + 6 sd = %.3g > tol %.3g", what, pred, tol);
    double mz, mz2;
    zstats(got, mean, sd, n, &mz, &mz2);
    CHECK_Z(mz, mz2, n, what);
    CHECK_MSG(err <= tol, "%s: max |x - c| = %.3g > tol %.3g", what, err, tol);
    CHECK(isfinite(loss));
    if (getenv("ENT_TEST_VERBOSE"))
        printf("    %s: max |x - c| = %.3g (tol %.3g, oracle bound %.3g, sd %.3g..)\n", what, err,
               tol, pred, sd[0]);
    ent_optim_free(o);
    ent_analytic_free(q);
    free(a);
    free(c);
    free(got);
    free(mean);
    free(sd);
    free(x);
}

ENT_TEST(optim_esgd_converges_quadratic) {
    esgd_converge(0.0, 40, 40, 1e-3, "exact gradient");
}

ENT_TEST(optim_esgd_converges_noisy_quadratic) {
    esgd_converge(0.1, 800, 20, 0.02, "noisy gradient");
}

/* Rosenbrock from (-1.2, 1) to (1, 1): SGD with Nesterov 0.9 and lr 1e-3
 * (the curvature at the minimum is 1001.6, so lr < 2/1001.6), 20000 steps,
 * tol 1e-3; Adam with lr 1e-2 and lr_scale = 1/(1 + k/2000) (Adam's steps
 * stay ~lr near a minimum, so a decaying rate), 20000 steps, tol 1e-3. */
static void rosen(ent_optim_kind kind, double lr, int steps, double decay, double tol) {
    ent_analytic *r = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_analytic_rosenbrock(&r));
    ent_objective obj = ent_analytic_objective(r);
    ent_optim_params p = ent_optim_params_default(kind);
    p.lr = lr;
    if (kind == ENT_OPTIM_SGD) p.momentum = 0.9, p.nesterov = 1; /* the setting the bound was set for */
    CHECK_OK(ent_optim_new(&o, &p, 2, 1));
    float th[2] = {-1.2f, 1.0f};
    double loss = 0.0;
    for (int k = 0; k < steps && o; k++)
        CHECK_OK(ent_optim_step(o, &obj, th, decay > 0 ? 1.0 / (1.0 + k / decay) : 1.0, &loss));
    double e = fmax(fabs(th[0] - 1.0), fabs(th[1] - 1.0));
    CHECK_MSG(e <= tol, "%s on Rosenbrock: theta = (%.6g, %.6g), error %.3g > %.3g",
              ent_optim_kind_name(kind), th[0], th[1], e, tol);
    if (getenv("ENT_TEST_VERBOSE"))
        printf("    %s: Rosenbrock error %.3g (tol %.3g), f = %.3g\n", ent_optim_kind_name(kind), e,
               tol, loss);
    ent_optim_free(o);
    ent_analytic_free(r);
}

ENT_TEST(optim_rosenbrock_sgd_adam) {
    rosen(ENT_OPTIM_SGD, 1e-3, 20000, 0.0, 1e-3);
    rosen(ENT_OPTIM_ADAM, 1e-2, 20000, 2000.0, 1e-3);
}

ENT_TEST(optim_analytic_values) {
    /* Quadratic: f and grad at a point; gradient noise has the stated std. */
    const double a[3] = {1.0, 2.0, 3.0}, c[3] = {1.0, -1.0, 0.5};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 3, a, c, 0.0, 1));
    ent_objective o = ent_analytic_objective(q);
    float x[3] = {0.0f, 0.0f, 1.5f}, g[3];
    double f = 0.0;
    CHECK(o.n_param == 3 && o.next_batch == NULL);
    CHECK_OK(ent_objective_eval(&o, x, g, &f));
    /* 1/2 (1*1 + 2*1 + 3*1) = 3; g = (-1, 2, 3) */
    CHECK_NEAR(f, 3.0, 1e-12);
    CHECK_NEAR(g[0], -1.0, 0);
    CHECK_NEAR(g[1], 2.0, 0);
    CHECK_NEAR(g[2], 3.0, 0);
    ent_analytic_free(q);
    /* Rosenbrock at (0, 0): f = 1, grad = (-2, 0); at (1, 1): 0, (0, 0). */
    ent_analytic *r = NULL;
    CHECK_OK(ent_analytic_rosenbrock(&r));
    o = ent_analytic_objective(r);
    float y[2] = {0.0f, 0.0f};
    CHECK_OK(ent_objective_eval(&o, y, g, &f));
    CHECK_NEAR(f, 1.0, 0);
    CHECK_NEAR(g[0], -2.0, 0);
    CHECK_NEAR(g[1], 0.0, 0);
    y[0] = 0.5f; /* f = 0.25 + 100 * 0.0625 = 6.5; g = (-1 - 400*0.5*(-0.25), 200*(-0.25)) */
    CHECK_OK(ent_objective_eval(&o, y, g, &f));
    CHECK_NEAR(f, 6.5, 1e-12);
    CHECK_NEAR(g[0], 49.0, 1e-5);
    CHECK_NEAR(g[1], -50.0, 1e-5);
    ent_analytic_free(r);
    /* Noisy gradient at the minimum: g = noise, std 0.5, fresh per batch;
     * loss stays exact (0). Over n = 20000: sample var / 0.25 has sd
     * sqrt(2/n) = 0.01, mean / 0.5 sd 1/sqrt(n) = 0.007: 5 sd. */
    const int64_t n = 20000;
    double *aa = malloc(n * sizeof *aa);
    float *z = calloc(n, sizeof *z), *gg = malloc(n * sizeof *gg), *g1 = malloc(n * sizeof *g1);
    for (int64_t i = 0; i < n; i++) aa[i] = 1.0;
    CHECK_OK(ent_analytic_quadratic(&q, n, aa, NULL, 0.5, 5));
    o = ent_analytic_objective(q);
    CHECK_OK(ent_objective_next(&o));
    CHECK_OK(ent_objective_eval(&o, z, g1, &f));
    CHECK_NEAR(f, 0.0, 0);
    CHECK_OK(ent_objective_eval(&o, z, gg, &f));
    CHECK(memcmp(g1, gg, n * sizeof *gg) == 0); /* same batch, same gradient */
    CHECK_OK(ent_objective_next(&o));
    CHECK_OK(ent_objective_eval(&o, z, gg, &f));
    double s1 = 0.0, s2 = 0.0;
    int same = 0;
    for (int64_t i = 0; i < n; i++) {
        s1 += gg[i];
        s2 += (double)gg[i] * gg[i];
        same += gg[i] == g1[i];
    }
    CHECK(same < 10);
    CHECK_NEAR(s1 / n / 0.5, 0.0, 5.0 / sqrt((double)n));
    CHECK_NEAR(s2 / n / 0.25, 1.0, 5.0 * sqrt(2.0 / n));
    ent_analytic_free(q);
    free(aa);
    free(z);
    free(gg);
    free(g1);
    /* Bad arguments. */
    CHECK(ent_analytic_quadratic(&q, 0, a, NULL, 0.0, 1) == ENT_EINVAL);
    CHECK(ent_analytic_quadratic(&q, 3, NULL, NULL, 0.0, 1) == ENT_EINVAL);
    CHECK(ent_analytic_quadratic(&q, 3, a, NULL, -1.0, 1) == ENT_EINVAL);
    CHECK(ent_analytic_quadratic(&q, 3, a, NULL, NAN, 1) == ENT_EINVAL);
    ent_analytic_free(NULL);
}

/* ------------------------------------------------------------------ checks */

static void expect_bad(ent_optim_params p, const char *name, double val) {
    ent_status s = ent_optim_params_check(&p);
    char key[96], num[48];
    snprintf(key, sizeof key, "parameter %s =", name);
    snprintf(num, sizeof num, "= %g", val);
    CHECK_MSG(s == ENT_EUSAGE, "%s = %g accepted (status %s)", name, val, ent_status_name(s));
    if (s != ENT_OK) {
        CHECK_MSG(strstr(ent_last_error(), key) != NULL, "message for %s = %g: \"%s\"", name, val,
                  ent_last_error());
        CHECK_MSG(strstr(ent_last_error(), num) != NULL, "message for %s = %g lacks the value: \"%s\"",
                  name, val, ent_last_error());
    }
    ent_optim *o = NULL;
    CHECK(ent_optim_new(&o, &p, 4, 1) == ENT_EUSAGE && o == NULL);
}

ENT_TEST(optim_params_check) {
    const ent_optim_kind kinds[3] = {ENT_OPTIM_SGD, ENT_OPTIM_ADAM, ENT_OPTIM_ENTROPY_SGD};
    for (int k = 0; k < 3; k++) {
        ent_optim_params p = ent_optim_params_default(kinds[k]);
        CHECK_OK(ent_optim_params_check(&p));
        ent_optim_params_reference_code(&p);
        CHECK_OK(ent_optim_params_check(&p));
        ent_optim_params b;
        const double bad_lr[4] = {0.0, -1.0, NAN, INFINITY};
        for (int i = 0; i < 4; i++) { b = p; b.lr = bad_lr[i]; expect_bad(b, "lr", bad_lr[i]); }
        const double bad01[3] = {-0.1, 1.0, NAN};
        for (int i = 0; i < 3; i++) {
            b = p; b.momentum = bad01[i]; expect_bad(b, "momentum", bad01[i]);
            b = p; b.beta1 = bad01[i]; expect_bad(b, "beta1", bad01[i]);
            b = p; b.beta2 = bad01[i]; expect_bad(b, "beta2", bad01[i]);
        }
        const double bad_nonneg[3] = {-1e-4, NAN, INFINITY};
        for (int i = 0; i < 3; i++) {
            b = p; b.weight_decay = bad_nonneg[i]; expect_bad(b, "weight_decay", bad_nonneg[i]);
        }
        const double bad_pos[3] = {0.0, -1.0, NAN};
        for (int i = 0; i < 3; i++) {
            b = p; b.adam_eps = bad_pos[i]; expect_bad(b, "adam_eps", bad_pos[i]);
        }
    }
    /* Nesterov without momentum or with dampening: rejected where SGD
     * momentum is used (torch.optim.SGD raises for both). */
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.nesterov = 1;
    expect_bad(p, "nesterov", 1);
    p.momentum = 0.9;
    CHECK_OK(ent_optim_params_check(&p));
    p.dampening = 0.1;
    expect_bad(p, "dampening", 0.1);
    p.nesterov = 0;
    CHECK_OK(ent_optim_params_check(&p));
    const double bad_damp[3] = {-0.1, 1.5, NAN};
    for (int i = 0; i < 3; i++) {
        p.dampening = bad_damp[i];
        expect_bad(p, "dampening", bad_damp[i]);
    }
    p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.nesterov = 1;
    expect_bad(p, "nesterov", 1);
    p.outer_rule = ENT_UPDATE_ADAM; /* outer Adam: nesterov unused */
    CHECK_OK(ent_optim_params_check(&p));
    p = ent_optim_params_default(ENT_OPTIM_ADAM);
    p.nesterov = 1;
    CHECK_OK(ent_optim_params_check(&p));
    /* Entropy-SGD's own parameters. */
    const ent_optim_params e = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    ent_optim_params b;
    b = e; b.L = 0; expect_bad(b, "L", 0);
    b = e; b.L = -3; expect_bad(b, "L", -3);
    const double bad_pos[3] = {0.0, -1.0, NAN};
    const double bad_nonneg[3] = {-1e-3, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        b = e; b.gamma0 = bad_pos[i]; expect_bad(b, "gamma0", bad_pos[i]);
        b = e; b.sgld_lr = bad_pos[i]; expect_bad(b, "sgld_lr", bad_pos[i]);
        b = e; b.gamma1 = bad_nonneg[i]; expect_bad(b, "gamma1", bad_nonneg[i]);
        b = e; b.gamma_max = bad_nonneg[i]; expect_bad(b, "gamma_max", bad_nonneg[i]);
        b = e; b.noise = bad_nonneg[i]; expect_bad(b, "noise", bad_nonneg[i]);
        b = e; b.inner_weight_decay = bad_nonneg[i];
        expect_bad(b, "inner_weight_decay", bad_nonneg[i]);
    }
    const double bad_alpha[3] = {0.0, 1.5, NAN};
    const double bad_im[3] = {-0.1, 1.0, NAN};
    for (int i = 0; i < 3; i++) {
        b = e; b.alpha = bad_alpha[i]; expect_bad(b, "alpha", bad_alpha[i]);
        b = e; b.inner_momentum = bad_im[i]; expect_bad(b, "inner_momentum", bad_im[i]);
    }
    b = e; b.alpha = 1.0; CHECK_OK(ent_optim_params_check(&b));
    b = e; b.noise = 0.0; b.gamma1 = 0.0; CHECK_OK(ent_optim_params_check(&b));
    b = e; b.inner_momentum = 0.0; expect_bad(b, "inner_nesterov", 1);
    b.inner_nesterov = 0; CHECK_OK(ent_optim_params_check(&b));
    b = e; b.noise_code = 2; expect_bad(b, "noise_code", 2);
    /* Entropy-SGD fields are not checked for the other kinds. */
    p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.L = 0;
    p.alpha = 0.0;
    CHECK_OK(ent_optim_params_check(&p));
    /* Defaults and the reference-code conventions. */
    CHECK(e.lr == 1.0 && e.L == 20 && e.gamma0 == 1e-4 && e.gamma1 == 1e-3 && e.alpha == 0.75 &&
          e.noise_code == 0 && e.momentum == 0.0 && e.grad_at_x == 0 && e.sgld_lr == 0.1);
    b = e;
    ent_optim_params_reference_code(&b);
    CHECK(b.alpha == 0.25 && b.noise_code == 1 && b.inner_momentum == 0.9 && b.inner_nesterov &&
          b.inner_momentum_grad_only && b.momentum == 0.0 && !b.outer_unscaled && b.grad_at_x);
    p = ent_optim_params_default(ENT_OPTIM_ADAM);
    CHECK(p.lr == 1e-3 && p.beta1 == 0.9 && p.beta2 == 0.999 && p.adam_eps == 1e-8);
    /* Names. */
    ent_optim_kind k = ENT_OPTIM_SGD;
    CHECK(strcmp(ent_optim_kind_name(ENT_OPTIM_ENTROPY_SGD), "entropy-sgd") == 0);
    CHECK(ent_optim_kind_parse("adam", &k) == 1 && k == ENT_OPTIM_ADAM);
    CHECK(ent_optim_kind_parse("entropy-sgd", &k) == 1 && k == ENT_OPTIM_ENTROPY_SGD);
    CHECK(ent_optim_kind_parse("sgd", &k) == 1 && k == ENT_OPTIM_SGD);
    CHECK(ent_optim_kind_parse("esgd", &k) == 0 && k == ENT_OPTIM_SGD);
    /* Counts. */
    ent_optim *o = NULL;
    b = e;
    CHECK_OK(ent_optim_new(&o, &b, 8, 1));
    CHECK(ent_optim_grads_per_step(o) == 20 && ent_optim_batches_per_step(o) == 20);
    ent_optim_free(o);
    ent_optim_params_reference_code(&b);
    CHECK_OK(ent_optim_new(&o, &b, 8, 1));
    CHECK(ent_optim_grads_per_step(o) == 21 && ent_optim_batches_per_step(o) == 20);
    ent_optim_free(o);
    p = ent_optim_params_default(ENT_OPTIM_SGD);
    CHECK_OK(ent_optim_new(&o, &p, 8, 1));
    CHECK(ent_optim_grads_per_step(o) == 1 && ent_optim_batches_per_step(o) == 1);
    CHECK(ent_optim_set_scalar(o, "nope", 1) == ENT_EINVAL);
    ent_optim_free(o);
    ent_optim_free(NULL);
}

/* ------------------------------------------------------------------ resume */

/* N steps straight vs k steps, save, fresh optimizer, restore, N - k steps.
 * The objective is the noisy quadratic (its batches continue in one object
 * for the interrupted run, as a restored sampler would). Bit-identical. */
static void resume_case(const ent_optim_params *p, const char *what) {
    enum { N = 12, K = 5 };
    const int64_t n = 257;
    double *a = malloc(n * sizeof *a);
    for (int64_t i = 0; i < n; i++) a[i] = group_a(i);
    float *x1 = malloc(n * sizeof *x1), *x2 = malloc(n * sizeof *x2);
    for (int64_t i = 0; i < n; i++) x1[i] = x2[i] = (float)cos((double)i);
    ent_analytic *q1 = NULL, *q2 = NULL;
    CHECK_OK(ent_analytic_quadratic(&q1, n, a, NULL, 0.3, 8));
    CHECK_OK(ent_analytic_quadratic(&q2, n, a, NULL, 0.3, 8));
    ent_objective o1 = ent_analytic_objective(q1), o2 = ent_analytic_objective(q2);
    ent_optim *A = NULL, *B = NULL, *C = NULL;
    double l1 = 0, l2 = 0;
    CHECK_OK(ent_optim_new(&A, p, n, 77));
    for (int k = 0; k < N && A; k++) CHECK_OK(ent_optim_step(A, &o1, x1, 1.0 - 0.05 * k, &l1));

    CHECK_OK(ent_optim_new(&B, p, n, 77));
    for (int k = 0; k < K && B; k++) CHECK_OK(ent_optim_step(B, &o2, x2, 1.0 - 0.05 * k, &l2));
    ent_state_vec v[8];
    ent_state_u64 s[8];
    int nv = ent_optim_state_vectors(B, v, 8), ns = ent_optim_state_scalars(B, s, 8);
    CHECK(nv >= 1 && nv <= 8 && ns == (p->gamma_auto ? 5 : 3)); /* + gamma0, gamma1 */
    float *saved[8];
    const char *vname[8];
    for (int j = 0; j < nv; j++) {
        vname[j] = v[j].name;
        CHECK(v[j].n == n);
        saved[j] = malloc(n * sizeof(float));
        memcpy(saved[j], v[j].data, n * sizeof(float));
    }
    ent_optim_free(B);

    CHECK_OK(ent_optim_new(&C, p, n, 999)); /* a different seed: restored */
    ent_state_vec w[8];
    int nw = ent_optim_state_vectors(C, w, 8);
    CHECK(nw == nv);
    for (int j = 0; j < nv && j < nw; j++) {
        CHECK(strcmp(w[j].name, vname[j]) == 0);
        memcpy(w[j].data, saved[j], n * sizeof(float));
    }
    for (int j = 0; j < ns; j++) CHECK_OK(ent_optim_set_scalar(C, s[j].name, s[j].value));
    CHECK(ent_optim_steps_done(C) == K);
    for (int k = K; k < N && C; k++) CHECK_OK(ent_optim_step(C, &o2, x2, 1.0 - 0.05 * k, &l2));
    CHECK_MSG(memcmp(x1, x2, n * sizeof *x1) == 0, "%s: resumed theta differs", what);
    CHECK_MSG(l1 == l2, "%s: last loss %.17g vs %.17g", what, l1, l2);
    double moved = 0;
    for (int64_t i = 0; i < n; i++) moved += fabs(x1[i] - cos((double)i));
    CHECK_MSG(moved > 1e-3, "%s: theta did not move", what);
    for (int j = 0; j < nv; j++) free(saved[j]);
    ent_optim_free(A);
    ent_optim_free(C);
    ent_analytic_free(q1);
    ent_analytic_free(q2);
    free(a);
    free(x1);
    free(x2);
}

ENT_TEST(optim_resume_bit_identical) {
    ent_set_threads(1);
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.momentum = 0.9;
    p.nesterov = 1;
    resume_case(&p, "sgd nesterov");
    p.nesterov = 0;
    p.dampening = 0.3; /* the first step's weight 1 is not applied again after resume */
    resume_case(&p, "sgd momentum, dampening");
    p = ent_optim_params_default(ENT_OPTIM_ADAM);
    p.lr = 0.01;
    resume_case(&p, "adam");
    p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = 5;
    p.noise = 0.05;
    p.gamma0 = 0.03;
    p.momentum = 0.5;
    p.nesterov = 1;
    p.weight_decay = 1e-3;
    resume_case(&p, "entropy-sgd, outer nesterov");
    ent_optim_params_reference_code(&p);
    resume_case(&p, "entropy-sgd, reference code");
    p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = 5;
    p.noise = 0.05;
    p.outer_rule = ENT_UPDATE_ADAM;
    p.inner_rule = ENT_UPDATE_ADAM;
    p.lr = 0.01;
    resume_case(&p, "entropy-adam, adam inner");
    p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = 5, p.noise = 0.05, p.gamma_auto = 1, p.gamma_max = 100.0, p.gamma_auto_updates = 20, p.rho = 0.1;
    resume_case(&p, "entropy-sgd, automatic scope, rho"); /* gamma0, gamma1 set at update 1 */
    ent_set_threads(0);
}

/* Same seed and thread count -> identical; the update kernels are
 * elementwise, so the result is also independent of the thread count and
 * of how the threads share the vector (a tensor layout, core/pieces.h). */
static void thread_independent(ent_optim_kind kind, const char *what) {
    const int64_t n = 70000; /* above the OpenMP threshold */
    static const int64_t ends[] = {1000, 1001, 33333, 33334, 70000};
    double *a = malloc(n * sizeof *a);
    for (int64_t i = 0; i < n; i++) a[i] = group_a(i);
    float *x[4];
    for (int r = 0; r < 4; r++) {
        ent_set_threads((int[]){1, 4, 3, 2}[r]);
        x[r] = malloc(n * sizeof(float));
        for (int64_t i = 0; i < n; i++) x[r][i] = 1.0f;
        ent_analytic *q = NULL;
        ent_optim *o = NULL;
        CHECK_OK(ent_analytic_quadratic(&q, n, a, NULL, 0.0, 1));
        ent_objective obj = ent_analytic_objective(q);
        if (r >= 2) obj.n_tensors = 5, obj.tensor_ends = ends;
        ent_optim_params p = ent_optim_params_default(kind);
        p.L = 3;
        p.noise = 0.01;
        if (kind == ENT_OPTIM_ADAM) p.lr = 0.01;
        if (kind == ENT_OPTIM_SGD) p.momentum = 0.9, p.nesterov = 1;
        CHECK_OK(ent_optim_new(&o, &p, n, 5));
        double loss;
        for (int k = 0; k < 2 && o; k++) CHECK_OK(ent_optim_step(o, &obj, x[r], 1.0, &loss));
        ent_optim_free(o);
        ent_analytic_free(q);
    }
    ent_set_threads(0);
    for (int r = 1; r < 4; r++)
        CHECK_MSG(memcmp(x[0], x[r], n * sizeof(float)) == 0, "%s: run %d differs", what, r);
    for (int r = 0; r < 4; r++) free(x[r]);
    free(a);
}

ENT_TEST(optim_esgd_thread_independent) {
    thread_independent(ENT_OPTIM_ENTROPY_SGD, "entropy-sgd");
    thread_independent(ENT_OPTIM_SGD, "sgd");
    thread_independent(ENT_OPTIM_ADAMW, "adamw");
    thread_independent(ENT_OPTIM_ADAM, "adam");
}

/* The pieces of a vector (core/pieces.h) tile it: every element belongs to
 * exactly one thread's piece, pieces start at multiples of 256, and thread
 * t of T gets about the t-th share of every large tensor. */
ENT_TEST(optim_pieces_tile_the_vector) {
    static const int64_t ends_a[] = {802816, 803840, 804864, 805888, 1854464, 1855488,
                                     1856512, 1857536, 1867776, 1867786}; /* mnistfc */
    static const int64_t ends_b[] = {5, 300, 301, 1000};
    const ent_pieces layouts[] = {{1867786, 10, ends_a}, {1000, 4, ends_b}, {70001, 0, NULL}};
    for (int L = 0; L < 3; L++)
        for (int T = 1; T <= 3; T++) {
            const ent_pieces *s = &layouts[L];
            unsigned char *owner = calloc((size_t)s->n, 1);
            int64_t misaligned = 0, fc2_lo = -1;
#pragma omp parallel num_threads(T)
            {
                int64_t lo, hi;
                for (int k = 0; ent_piece_mine(s, k, &lo, &hi); k++) {
#pragma omp critical
                    {
                        for (int64_t i = lo; i < hi; i++) owner[i]++;
                        misaligned += lo < hi && lo % 256 != 0;
                        if (L == 0 && k == 4 && omp_get_thread_num() == 1) fc2_lo = lo;
                    }
                }
            }
            int64_t wrong = 0;
            for (int64_t i = 0; i < s->n; i++) wrong += owner[i] != 1;
            CHECK_MSG(wrong == 0 && misaligned == 0, "layout %d, %d threads: %lld elements "
                      "not in exactly one piece, %lld pieces misaligned", L, T,
                      (long long)wrong, (long long)misaligned);
            if (L == 0 && T == 2) /* fc2.weight's second half: rows 512.. of 1024 x 1024 */
                CHECK_MSG(llabs(fc2_lo - (805888 + 512 * 1024)) < 256, "fc2 half at %lld",
                          (long long)fc2_lo);
            free(owner);
        }
}
