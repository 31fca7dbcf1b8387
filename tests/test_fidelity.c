/* test_fidelity.c — the papers' own schedules and the reference codes'
 * variants, against closed forms on quadratics: hjb's defaults, the DR
 * code's HEAT (uniform mean), Entropy-SGD's rho grad f(x) and automatic
 * scope, replicated SGD's implicit coupling (by hand, and a coupling of
 * 1e4), and Parle as parle_mpi.py against a hand-written reference. */
#include <stdlib.h>

#include "test.h"

#define TOL 2e-6 /* values ~1 after a few dozen float operations */

/* f = 1/2 sum a_i (x_i - c_i)^2, n = 3, x0 = (1, -0.5, 0.25). */
static const double QA[3] = {1.0, 2.5, 0.5}, QC[3] = {0.2, -0.1, 0.4}, QX[3] = {1.0, -0.5, 0.25};

/* The Entropy-SGD loop in double, noise 0, no momentum anywhere, wd 0:
 *   x' = mu = x; L times: x' -= eta' (a (x' - c) - gamma (x - x')),
 *   mu = (1 - al) mu + al x', al = alpha or 1/l (uniform);
 *   x -= lr (s (x - mu) + rho a (x - c)).
 * f_last = f(x') at the last inner step's evaluation; d2 = |x - x'|^2. */
typedef struct {
    double x[3], mu[3], xp[3], f_last, d2;
} esgd_ref;

static esgd_ref esgd_by_formula(const ent_optim_params *p, const double *x0, double gamma, int uniform) {
    esgd_ref r;
    memcpy(r.xp, x0, sizeof r.xp);
    memcpy(r.mu, x0, sizeof r.mu);
    for (int l = 1; l <= p->L; l++) {
        const double al = uniform ? 1.0 / l : p->alpha;
        r.f_last = 0.0;
        for (int i = 0; i < 3; i++) {
            r.f_last += 0.5 * QA[i] * (r.xp[i] - QC[i]) * (r.xp[i] - QC[i]);
            r.xp[i] -= p->sgld_lr * (QA[i] * (r.xp[i] - QC[i]) - gamma * (x0[i] - r.xp[i]));
            r.mu[i] = (1.0 - al) * r.mu[i] + al * r.xp[i];
        }
    }
    const double s = p->outer_unscaled ? gamma : 1.0;
    r.d2 = 0.0;
    for (int i = 0; i < 3; i++) {
        r.d2 += (x0[i] - r.xp[i]) * (x0[i] - r.xp[i]);
        r.x[i] = x0[i] - p->lr * (s * (x0[i] - r.mu[i]) + p->rho * QA[i] * (x0[i] - QC[i]));
    }
    return r;
}

static const float *state_vec(ent_optim *o, const char *name) {
    ent_state_vec v[16];
    const int nv = ent_optim_state_vectors(o, v, 16);
    for (int k = 0; k < nv && k < 16; k++)
        if (strcmp(v[k].name, name) == 0) return v[k].data;
    return NULL;
}

/* The plain loop: no momentum inside or out, no noise. */
static void plain_loop(ent_optim_params *p, int L) {
    p->L = L, p->noise = 0.0, p->inner_momentum = 0.0, p->inner_nesterov = 0;
    p->momentum = 0.0, p->nesterov = 0, p->weight_decay = 0.0, p->grad_at_x = 0;
}

/* One update of o from x (float), checked against the formula. */
static void step_against(ent_optim *o, const ent_objective *obj, float *x, const esgd_ref *want,
                         const char *what) {
    double loss;
    CHECK_OK(ent_optim_step(o, obj, x, 1.0, &loss));
    const float *mu = state_vec(o, "mu");
    CHECK_MSG(mu != NULL, "%s: no mu in the state", what);
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(fabs(x[i] - want->x[i]) <= TOL, "%s: x[%d] = %.9g, want %.9g", what, i, x[i], want->x[i]);
        if (mu) CHECK_MSG(fabs(mu[i] - want->mu[i]) <= TOL, "%s: mu[%d] = %.9g, want %.9g", what, i, mu[i], want->mu[i]);
    }
}

static void run_case(const ent_optim_params *p, double gamma, int uniform, const char *what) {
    ent_analytic *q = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 3, QA, QC, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    CHECK_OK(ent_optim_new(&o, p, 3, 3));
    float x[3] = {(float)QX[0], (float)QX[1], (float)QX[2]};
    const esgd_ref want = esgd_by_formula(p, QX, gamma, uniform);
    if (o) step_against(o, &obj, x, &want, what);
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* hjb: DR's HJB defaults (noise 1e-8, eta' 0.25, mu weighted 1 - 1e-4 on the
 * newest x'), so mu is the last inner iterate to 1e-4 of the last move. */
ENT_TEST(fidelity_hjb_defaults_closed_form) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_HJB);
    CHECK(p.noise == 1e-8 && p.sgld_lr == 0.25 && p.alpha == 1.0 - 1e-4);
    CHECK(p.lr == 0.1 && p.momentum == 0.9 && p.nesterov == 1); /* the HJB class's outer step */
    CHECK(strcmp(ent_optim_kind_name(ENT_OPTIM_HJB), "hjb") == 0);
    const double noise = p.noise;
    plain_loop(&p, 4);
    p.noise = noise; /* 1e-8 sqrt(0.25): far below TOL */
    p.gamma0 = 0.7, p.gamma1 = 0.0, p.lr = 0.5;
    run_case(&p, 0.7, 0, "hjb");
    const esgd_ref r = esgd_by_formula(&p, QX, 0.7, 0);
    for (int i = 0; i < 3; i++) {
        const double last_move = fabs(r.xp[i] - QX[i]);
        CHECK_MSG(fabs(r.mu[i] - r.xp[i]) <= 1e-4 * last_move, "hjb: |mu - x'| = %.3g", fabs(r.mu[i] - r.xp[i]));
    }
}

/* heat --heat-style code: the Entropy-SGD loop with mu = (x'_1 + ... + x'_L) / L. */
ENT_TEST(fidelity_heat_code_uniform_mean) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_HEAT);
    p.heat_code = 1;
    plain_loop(&p, 3);
    p.gamma0 = 0.5, p.gamma1 = 0.0, p.lr = 0.8;
    run_case(&p, 0.5, 1, "heat code");
}

/* entropy-sgd --rho: G = (x - mu) + rho grad f(x), grad f(x) from one more
 * evaluation per update. */
ENT_TEST(fidelity_esgd_rho) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    plain_loop(&p, 2);
    p.gamma0 = 0.3, p.gamma1 = 0.0, p.lr = 0.9, p.rho = 0.4, p.sgld_lr = 0.2;
    run_case(&p, 0.3, 0, "rho");
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, 3, 1));
    CHECK(o && ent_optim_grads_per_step(o) == 3 && ent_optim_batches_per_step(o) == 2);
    ent_optim_free(o);
}

/* sacreddnn's automatic scope: update 1 at gamma 0, then gamma0 = f(x')/(d2/2)
 * from its last inner step and gamma1 = gmax^(1/T) - 1; update 2 at
 * gamma0 (1 + gamma1). gmax 50, T = 10 updates. */
ENT_TEST(fidelity_esgd_gamma_auto) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    plain_loop(&p, 2);
    p.gamma_auto = 1, p.gamma_max = 50.0, p.gamma_auto_updates = 10, p.sgld_lr = 0.3, p.lr = 0.7;
    ent_analytic *q = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 3, QA, QC, 0.0, 1));
    ent_objective obj = ent_analytic_objective(q);
    CHECK_OK(ent_optim_new(&o, &p, 3, 3));
    if (!o) return;
    CHECK(ent_optim_gamma(o) == 0.0 && ent_optim_state_scalars(o, NULL, 0) == 5);
    float x[3] = {(float)QX[0], (float)QX[1], (float)QX[2]};
    const esgd_ref s1 = esgd_by_formula(&p, QX, 0.0, 0);
    step_against(o, &obj, x, &s1, "auto scope, update 1");
    const double g0 = s1.f_last / (0.5 * s1.d2), g1 = pow(50.0, 0.1) - 1.0, g = g0 * (1.0 + g1);
    CHECK_MSG(fabs(ent_optim_gamma(o) - g) <= 1e-6 * g, "gamma after update 1 = %.9g, want %.9g", ent_optim_gamma(o), g);
    const esgd_ref s2 = esgd_by_formula(&p, s1.x, g, 0);
    step_against(o, &obj, x, &s2, "auto scope, update 2");
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* ------------------------------------------------------------ replicas */

/* Replica a's objective on n = 1: f_a = A (x - C_a)^2 / 2. */
#define RY 3
static const double RA = 1.5, RC[RY] = {2.0, 0.0, -0.7}, RX[RY] = {1.0, -1.0, 0.3};

typedef struct {
    ent_analytic *q[RY];
    ent_objective obj[RY];
    ent_replicas *r;
} rig;

static void rig_init(rig *g, const ent_optim_params *p) {
    memset(g, 0, sizeof *g);
    for (int a = 0; a < RY; a++) {
        CHECK_OK(ent_analytic_quadratic(&g->q[a], 1, &RA, &RC[a], 0.0, 1));
        g->obj[a] = ent_analytic_objective(g->q[a]);
    }
    CHECK_OK(ent_replicas_new(&g->r, p, 1, RY, 0, 9, 1.0));
    for (int a = 0; g->r && a < RY; a++) ent_replicas_theta(g->r, a)[0] = (float)RX[a];
    if (g->r) CHECK_OK(ent_replicas_start(g->r));
}

static void rig_free(rig *g) {
    ent_replicas_free(g->r);
    for (int a = 0; a < RY; a++) ent_analytic_free(g->q[a]);
}

static ent_optim_params rsgd_fixed(double g, double lr, double m) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.replicas = RY, p.coupling = g, p.coupling_auto = 0, p.coupling_schedule = ENT_COUPLING_NONE, p.coupling_max = 0.0;
    p.weight_decay = 0.0, p.lr = lr, p.momentum = m, p.nesterov = m > 0;
    return p;
}

/* The implicit step's definition, k = 2 g, G_a = A (x_a - C_a):
 *   b_a' = m b_a + (G_a + k (x_a' - mean x')),  x_a' = x_a - lr (G_a + k (x_a' - mean x') + m b_a')
 * (Nesterov; without momentum b = 0), checked as residuals after each of
 * 3 steps; without momentum also against its solution
 * x_a' = c + (x_a - lr G_a - c) / (1 + lr k), c = mean_a (x_a - lr G_a). */
static void implicit_case(double m, const char *what) {
    const double g = 0.8, lr = 0.1, k = 2 * g;
    ent_optim_params p = rsgd_fixed(g, lr, m);
    rig R;
    rig_init(&R, &p);
    for (int t = 0; R.r && t < 3; t++) {
        double x0[RY], b0[RY] = {0}, xs[RY], cs = 0.0, loss;
        for (int a = 0; a < RY; a++) {
            x0[a] = ent_replicas_theta(R.r, a)[0];
            const float *b = state_vec(ent_replicas_optim(R.r, a), "momentum");
            if (b) b0[a] = b[0];
            xs[a] = x0[a] - lr * RA * (x0[a] - RC[a]);
            cs += xs[a] / RY;
        }
        CHECK_OK(ent_replicas_step(R.r, R.obj, 1.0, 0.0, &loss));
        double mean = 0.0;
        for (int a = 0; a < RY; a++) mean += ent_replicas_theta(R.r, a)[0] / (double)RY;
        for (int a = 0; a < RY; a++) {
            const double x1 = ent_replicas_theta(R.r, a)[0];
            const double G = RA * (x0[a] - RC[a]) + k * (x1 - mean);
            const float *b = state_vec(ent_replicas_optim(R.r, a), "momentum");
            const double b1 = m > 0 ? m * b0[a] + G : 0.0, want = x0[a] - lr * (G + m * b1);
            CHECK_MSG(fabs(x1 - want) <= TOL, "%s step %d: x_%d = %.9g, the implicit equation wants %.9g", what,
                      t + 1, a, x1, want);
            if (m > 0) CHECK_MSG(b && fabs(b[0] - b1) <= TOL, "%s step %d: buffer %d = %.9g, want %.9g", what, t + 1, a,
                                 b ? b[0] : NAN, b1);
            if (m == 0) {
                const double sol = cs + (xs[a] - cs) / (1 + lr * k);
                CHECK_MSG(fabs(x1 - sol) <= TOL, "%s step %d: x_%d = %.9g, closed form %.9g", what, t + 1, a, x1, sol);
            }
        }
    }
    rig_free(&R);
}

ENT_TEST(fidelity_rsgd_implicit_closed_form) {
    implicit_case(0.0, "rsgd implicit, plain");
    implicit_case(0.9, "rsgd implicit, nesterov 0.9");
}

/* g = 1e4 (the end of the paper's schedule from g0 = 1), lr 0.1, Nesterov
 * 0.9: lr 2 g = 2000, far past the explicit step's bound 1.36. Implicit:
 * the replicas stay finite and within A |C_a - m| / (2 g) ~ 2e-4 of
 * their mean (1e-3 allowed); the explicit formula blows up. */
static double spread_after(int explicit_step, int steps) {
    ent_optim_params p = rsgd_fixed(1e4, 0.1, 0.9);
    p.coupling_explicit = explicit_step;
    rig R;
    rig_init(&R, &p);
    double loss, worst = 0.0, mean = 0.0;
    for (int t = 0; R.r && t < steps; t++) CHECK_OK(ent_replicas_step(R.r, R.obj, 1.0, 0.0, &loss));
    for (int a = 0; R.r && a < RY; a++) mean += ent_replicas_theta(R.r, a)[0] / (double)RY;
    for (int a = 0; R.r && a < RY; a++) {
        const double d = fabs(ent_replicas_theta(R.r, a)[0] - mean);
        worst = isfinite(d) && isfinite(worst) ? fmax(worst, d) : INFINITY;
    }
    rig_free(&R);
    return worst;
}

ENT_TEST(fidelity_rsgd_coupling_1e4) {
    const double imp = spread_after(0, 60), exp_ = spread_after(1, 60);
    if (getenv("ENT_TEST_VERBOSE")) printf("    spread: implicit %.3g, explicit %.3g\n", imp, exp_);
    CHECK_MSG(isfinite(imp) && imp <= 1e-3, "implicit: max |x_a - mean| = %.3g after 60 steps", imp);
    CHECK_MSG(!(exp_ <= 1.0), "explicit: max |x_a - mean| = %.3g (expected to blow up)", exp_);
}

/* Parle as parle_mpi.py, written out in double for n = 1 (names as the code's):
 * per update k, gamma = min(g0 (1 + g1)^k, gmax); L inner steps
 *   g = A (p - C) + gamma (p - xa), muy = m muy + g, p -= lr (g + muy),
 *   z = 0.75 z + 0.25 p;
 * rho = min(rho0 L y (1 + g1)^(k+1), rho_max); master = mean z;
 *   G = (xa - z) + rho (xa - master), mux = m mux + G, p -= lr (G + mux), xa = p;
 * master = mean xa. Start: p = z = xa, buffers 0. */
ENT_TEST(fidelity_parle_reference_by_hand) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_PARLE);
    p.replicas = RY, p.parle_reference = 1, p.L = 2, p.lr = 0.2, p.momentum = 0.9, p.inner_momentum = 0.9;
    p.gamma0 = 0.3, p.gamma1 = 0.1, p.gamma_max = 0.35, p.coupling = 0.03, p.coupling_max = 0.25;
    rig R;
    rig_init(&R, &p);
    double xa[RY], pp[RY], z[RY], muy[RY] = {0}, mux[RY] = {0};
    for (int a = 0; a < RY; a++) xa[a] = pp[a] = z[a] = RX[a];
    for (int k = 0; R.r && k < 3; k++) {
        const double gamma = fmin(0.3 * pow(1.1, k), 0.35), rho = fmin(0.03 * 2 * RY * pow(1.1, k + 1), 0.25);
        double master = 0.0, loss;
        for (int a = 0; a < RY; a++) {
            for (int l = 0; l < 2; l++) {
                const double g = RA * (pp[a] - RC[a]) + gamma * (pp[a] - xa[a]);
                muy[a] = 0.9 * muy[a] + g;
                pp[a] -= 0.2 * (g + muy[a]);
                z[a] = 0.75 * z[a] + 0.25 * pp[a];
            }
            master += z[a] / RY;
        }
        double center = 0.0;
        for (int a = 0; a < RY; a++) {
            const double G = (xa[a] - z[a]) + rho * (xa[a] - master);
            mux[a] = 0.9 * mux[a] + G;
            pp[a] -= 0.2 * (G + mux[a]);
            xa[a] = pp[a];
            center += xa[a] / RY;
        }
        CHECK_OK(ent_replicas_step(R.r, R.obj, 1.0, 0.0, &loss));
        CHECK_NEAR(ent_replicas_coupling(R.r, 0.0), fmin(0.03 * 2 * RY * pow(1.1, k + 2), 0.25), 1e-12);
        for (int a = 0; a < RY; a++)
            CHECK_MSG(fabs(ent_replicas_theta(R.r, a)[0] - xa[a]) <= TOL, "parle reference update %d: x_%d = %.9g, want %.9g",
                      k + 1, a, ent_replicas_theta(R.r, a)[0], xa[a]);
        CHECK_MSG(fabs(ent_replicas_center(R.r)[0] - center) <= TOL, "parle reference update %d: master %.9g, want %.9g",
                  k + 1, ent_replicas_center(R.r)[0], center);
    }
    rig_free(&R);
}

/* ------------------------------------------------------------ the CLI */

static char out[16384];

/* The names `entropic reproduce` uses, end to end on a tiny run: each trains,
 * and config.json records the variant. Bad values are one-line usage errors. */
ENT_TEST(fidelity_cli_names) {
    const char *t = ent_test_tmpdir();
    char dir[700];
    snprintf(dir, sizeof dir, "%s/data", t);
    ent_test_run(out, sizeof out, "mkdir -p %s", dir);
    ent_test_mnist_like(dir, 32);
    static const struct {
        const char *args, *recorded;
    } runs[] = {
        {"--optimizer hjb --L 2", "\"name\": \"hjb\""},
        {"--optimizer heat --heat-style code --L 2", "\"heat_style\": \"code\""},
        {"--optimizer entropy-sgd --L 2 --rho 0.1 --gamma-auto --gamma-max 5", "\"gamma_auto\": true"},
        {"--optimizer parle --parle-reference --replicas 2 --L 2", "\"parle_reference\": true"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        int rc = ent_test_run(out, sizeof out,
                              "%s train --model tiny-mnistfc --dataset mnist --data-dir %s --epochs 2 --batch-size 16 --test-subset 16 "
                              "--threads 1 --quiet --force %s --out %s/r && cat %s/r/config.json",
                              ent_test_cli(), dir, runs[i].args, t, t);
        CHECK_MSG(rc == 0 && strstr(out, runs[i].recorded), "%s: exit %d: %.300s", runs[i].args, rc, out);
    }
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --rho -1", "rho");
    CHECK_TRAIN_USAGE("--optimizer replicated-sgd --coupling-step midpoint", "implicit|explicit");
}
