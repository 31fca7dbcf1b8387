/* test_replicas.c — the replica methods in one process, on analytic
 * objectives: rSGD's coupled fixed point in closed form (mean and explicit
 * centre), EASGD's and Parle's steps by hand, the reductions to SGD and
 * Entropy-SGD at y = 1, the coupling schedules and the automatic g0, the
 * gtime rule, and bit-identical resume. */
#include <stdlib.h>

#include "test.h"

#define HAND_TOL 2e-6 /* values <= ~2 after a few float ops: ~10 ulp */

/* Replica a's objective: f_a = 1/2 sum_i A_i (x_i - C_ai)^2. */
static double qa(int64_t i) { return 0.5 + 1.5 * (double)(i % 5) / 4.0; }
static double qc(int a, int64_t i) { return sin(0.7 * (double)i + 1.3 * a); }

static ent_analytic *replica_quad(int a, int64_t n, double noise) {
    double *A = malloc(sizeof(double) * (size_t)n), *C = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) A[i] = qa(i), C[i] = qc(a, i);
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, n, A, C, noise, ent_replica_seed(77, a)));
    free(A);
    free(C);
    return q;
}

typedef struct {
    ent_analytic *q[8];
    ent_objective obj[8];
    ent_replicas *r;
    int y;
    int64_t n;
} rig;

static void rig_init(rig *g, const ent_optim_params *p, int64_t n, double noise) {
    memset(g, 0, sizeof *g);
    g->y = p->replicas, g->n = n;
    for (int a = 0; a < g->y; a++) g->q[a] = replica_quad(a, n, noise), g->obj[a] = ent_analytic_objective(g->q[a]);
    CHECK_OK(ent_replicas_new(&g->r, p, n, g->y, 0, 5, 10.0));
    for (int a = 0; g->r && a < g->y; a++) {
        float *x = ent_replicas_theta(g->r, a);
        for (int64_t i = 0; i < n; i++) x[i] = (float)(cos(2.1 * (double)i + a));
    }
    if (g->r) CHECK_OK(ent_replicas_start(g->r));
}

static void rig_free(rig *g) {
    ent_replicas_free(g->r);
    for (int a = 0; a < g->y; a++) ent_analytic_free(g->q[a]);
}

static void rig_steps(rig *g, int steps) {
    double loss;
    for (int t = 0; g->r && t < steps; t++) CHECK_OK(ent_replicas_step(g->r, g->obj, 1.0, 0.0, &loss));
}

/* rSGD's fixed point: A (x_a - C_a) + 2 g (x_a - m) = 0 for every a, so
 * summing over a, m = mean_a C_a, and x_a = (A C_a + 2 g m) / (A + 2 g);
 * the explicit centre's own equation, sum_a (c - x_a) = 0, gives c = m.
 * Convergence: every mode contracts by at least 1 - lr A_min = 0.9 per step
 * (plain SGD; with Nesterov 0.5 the slowest mode is faster still), so 600
 * steps leave < 1e-25: what remains is float rounding, ~10 ulp. */
static void rsgd_fixed_point(int center, double momentum, const char *what) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.replicas = 3, p.center = center, p.coupling = 0.4, p.coupling_auto = 0;
    p.coupling_schedule = ENT_COUPLING_NONE, p.weight_decay = 0.0;
    p.lr = 0.2, p.momentum = momentum, p.nesterov = momentum > 0;
    const int64_t n = 30;
    const double g = 0.4;
    rig R;
    rig_init(&R, &p, n, 0.0);
    rig_steps(&R, 600);
    double worst = 0.0;
    for (int64_t i = 0; R.r && i < n; i++) {
        double m = 0.0, A = qa(i);
        for (int a = 0; a < 3; a++) m += qc(a, i) / 3.0;
        for (int a = 0; a < 3; a++)
            worst = fmax(worst, fabs(ent_replicas_theta(R.r, a)[i] - (A * qc(a, i) + 2 * g * m) / (A + 2 * g)));
        if (center) worst = fmax(worst, fabs(ent_replicas_center(R.r)[i] - m));
    }
    if (getenv("ENT_TEST_VERBOSE")) printf("    %s: max |x - x*| = %.3g\n", what, worst);
    CHECK_MSG(worst <= HAND_TOL, "%s: max |x - x*| = %.3g", what, worst);
    rig_free(&R);
}

ENT_TEST(replicas_rsgd_coupled_fixed_point) {
    rsgd_fixed_point(0, 0.0, "rsgd mean centre");
    rsgd_fixed_point(0, 0.5, "rsgd mean centre, nesterov");
    rsgd_fixed_point(1, 0.0, "rsgd explicit centre");
    rsgd_fixed_point(1, 0.5, "rsgd explicit centre, nesterov");
}

/* EASGD, y = 2, n = 1, f_a = (x - C_a)^2 / 2 with C = (2, 0), lr 0.1,
 * rho 1 (alpha = 0.1), plain SGD, x = (1, -1), centre = mean = 0:
 *  1: d = (1, -1), m = 0;   data x = (1.1, -0.9);  pull x = (1.0, -0.8);
 *     c = 0 + 0.2 (0 - 0) = 0
 *  2: d = (1.0, -0.8), m = 0.1;  data (1.1, -0.72);  pull (1.0, -0.64);
 *     c = 0 + 0.2 (0.1 - 0) = 0.02
 *  3: d = (0.98, -0.66), m = 0.18;  data (1.1, -0.576);  pull (1.002, -0.51);
 *     c = 0.02 + 0.2 (0.18 - 0.02) = 0.052 */
ENT_TEST(replicas_easgd_by_hand) {
    static const double A[1] = {1.0}, C[2][1] = {{2.0}, {0.0}};
    ent_analytic *q[2] = {NULL, NULL};
    ent_objective obj[2];
    for (int a = 0; a < 2; a++) {
        CHECK_OK(ent_analytic_quadratic(&q[a], 1, A, C[a], 0.0, 1));
        obj[a] = ent_analytic_objective(q[a]);
    }
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ELASTIC_SGD);
    p.replicas = 2, p.lr = 0.1, p.momentum = 0.0, p.nesterov = 0, p.coupling = 1.0;
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, 1, 2, 0, 1, 1.0));
    if (!r) return;
    ent_replicas_theta(r, 0)[0] = 1.0f;
    ent_replicas_theta(r, 1)[0] = -1.0f;
    CHECK_OK(ent_replicas_start(r));
    const double want[3][3] = {{1.0, -0.8, 0.0}, {1.0, -0.64, 0.02}, {1.002, -0.51, 0.052}};
    for (int t = 0; t < 3; t++) {
        double loss;
        CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
        CHECK_NEAR(ent_replicas_theta(r, 0)[0], want[t][0], HAND_TOL);
        CHECK_NEAR(ent_replicas_theta(r, 1)[0], want[t][1], HAND_TOL);
        CHECK_NEAR(ent_replicas_center(r)[0], want[t][2], HAND_TOL);
    }
    ent_replicas_free(r);
    for (int a = 0; a < 2; a++) ent_analytic_free(q[a]);
}

/* Parle, y = 2, n = 1, f = x^2/2, Entropy-SGD with L = 1, noise 0, alpha 1
 * (mu = x'), no momentum, gamma 0.3 (any: x' starts at x, so the coupling
 * term gamma (x - x') is 0 in the single inner step): x' = x - eta' x,
 * then x <- x - eta (x - mu) = x (1 - eta eta'); then the pull
 * x_a -= eta rho (x_a^- - m), m the mean before the step. eta 0.5,
 * eta' 0.2, rho 0.4 (a = 0.2), x = (1, 0.5):
 *  1: m = 0.75; x1 = 0.9 - 0.2 (0.25) = 0.85, x2 = 0.45 - 0.2 (-0.25) = 0.5
 *  2: m = 0.675; x1 = 0.765 - 0.2 (0.175) = 0.73, x2 = 0.45 + 0.035 = 0.485 */
ENT_TEST(replicas_parle_by_hand) {
    static const double A[1] = {1.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 1, A, NULL, 0.0, 1));
    ent_objective obj[2] = {ent_analytic_objective(q), ent_analytic_objective(q)};
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_PARLE);
    p.replicas = 2, p.L = 1, p.noise = 0.0, p.alpha = 1.0, p.inner_momentum = 0.0, p.inner_nesterov = 0;
    p.gamma0 = 0.3, p.gamma1 = 0.0, p.sgld_lr = 0.2, p.lr = 0.5, p.momentum = 0.0, p.nesterov = 0;
    p.coupling = 0.4, p.coupling_schedule = ENT_COUPLING_NONE;
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, 1, 2, 0, 1, 1.0));
    if (!r) return;
    ent_replicas_theta(r, 0)[0] = 1.0f;
    ent_replicas_theta(r, 1)[0] = 0.5f;
    CHECK_OK(ent_replicas_start(r));
    const double want[2][2] = {{0.85, 0.5}, {0.73, 0.485}};
    for (int t = 0; t < 2; t++) {
        double loss;
        CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
        CHECK_NEAR(ent_replicas_theta(r, 0)[0], want[t][0], HAND_TOL);
        CHECK_NEAR(ent_replicas_theta(r, 1)[0], want[t][1], HAND_TOL);
    }
    CHECK_OK(ent_replicas_sync(r));
    CHECK_NEAR(ent_replicas_center(r)[0], (0.73 + 0.485) / 2, HAND_TOL);
    ent_replicas_free(r);
    ent_analytic_free(q);
}

/* y = 1: rSGD is SGD (x - mean = 0 exactly), EASGD with rho 0 is SGD,
 * Parle with rho 0 is Entropy-SGD (Parle's README special cases), bit for
 * bit: replica 0 uses the run's seed. */
static void y1_case(ent_optim_params rp, ent_optim_kind base, const char *what) {
    const int64_t n = 25;
    rp.replicas = 1;
    ent_optim_params bp = rp;
    bp.kind = base;
    ent_analytic *q1 = replica_quad(0, n, 0.3), *q2 = replica_quad(0, n, 0.3);
    ent_objective o1 = ent_analytic_objective(q1), o2 = ent_analytic_objective(q2);
    ent_replicas *r = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_replicas_new(&r, &rp, n, 1, 0, 11, 1.0));
    CHECK_OK(ent_optim_new(&o, &bp, n, 11));
    float x[25];
    for (int i = 0; i < n; i++) x[i] = (float)cos(i);
    if (r) memcpy(ent_replicas_theta(r, 0), x, sizeof x);
    if (r) CHECK_OK(ent_replicas_start(r));
    double l1, l2;
    for (int t = 0; r && o && t < 7; t++) {
        CHECK_OK(ent_replicas_step(r, &o1, 1.0, 0.1 * t, &l1));
        CHECK_OK(ent_optim_step(o, &o2, x, 1.0, &l2));
        CHECK_MSG(l1 == l2, "%s: loss %.9g vs %.9g", what, l1, l2);
    }
    CHECK_MSG(r && memcmp(ent_replicas_theta(r, 0), x, sizeof x) == 0, "%s: differs from %s", what,
              ent_optim_kind_name(base));
    ent_replicas_free(r);
    ent_optim_free(o);
    ent_analytic_free(q1);
    ent_analytic_free(q2);
}

ENT_TEST(replicas_y1_reduces_to_base) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    y1_case(p, ENT_OPTIM_SGD, "rsgd y=1");
    p = ent_optim_params_default(ENT_OPTIM_ELASTIC_SGD), p.coupling = 0.0;
    y1_case(p, ENT_OPTIM_SGD, "easgd y=1 rho=0");
    p = ent_optim_params_default(ENT_OPTIM_PARLE), p.coupling = 0.0, p.L = 3, p.noise = 1e-2;
    y1_case(p, ENT_OPTIM_ENTROPY_SGD, "parle y=1 rho=0");
}

/* Schedules (E = 4 effective epochs, g0 = 0.01): exp with the automatic
 * rate from a total growth of 100: rate = 100^(1/4) - 1, g(2) = 0.1,
 * g(4) = 1; lin: g(E) = g0 growth = 1, g(2) = 0.505; cosine (peak 3):
 * g(0) = 0, g(1) = 1.5 (1 - cos(pi/4)) = 0.43934, g(2) = 1.5, g(4) = 3;
 * caps; the manual rate. */
ENT_TEST(replicas_coupling_schedules) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.replicas = 1, p.coupling = 0.01, p.coupling_auto = 0, p.coupling_growth = 100.0, p.coupling_max = 0.0;
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, 3, 1, 0, 1, 4.0));
    CHECK_NEAR(ent_replicas_coupling(r, 0.0), 0.01, 1e-15);
    CHECK_NEAR(ent_replicas_coupling(r, 2.0), 0.1, 1e-12);
    CHECK_NEAR(ent_replicas_coupling(r, 4.0), 1.0, 1e-12);
    ent_replicas_free(r);
    p.coupling_max = 0.05;
    CHECK_OK(ent_replicas_new(&r, &p, 3, 1, 0, 1, 4.0));
    CHECK_NEAR(ent_replicas_coupling(r, 2.0), 0.05, 0.0);
    ent_replicas_free(r);
    p.coupling_max = 0.0, p.coupling_schedule = ENT_COUPLING_LIN;
    CHECK_OK(ent_replicas_new(&r, &p, 3, 1, 0, 1, 4.0));
    CHECK_NEAR(ent_replicas_coupling(r, 2.0), 0.505, 1e-12);
    CHECK_NEAR(ent_replicas_coupling(r, 4.0), 1.0, 1e-12);
    ent_replicas_free(r);
    p.coupling_rate_auto = 0, p.coupling_rate = 0.5, p.coupling_schedule = ENT_COUPLING_EXP;
    CHECK_OK(ent_replicas_new(&r, &p, 3, 1, 0, 1, 4.0));
    CHECK_NEAR(ent_replicas_coupling(r, 2.0), 0.01 * 2.25, 1e-12);
    ent_replicas_free(r);
    p.coupling_schedule = ENT_COUPLING_COSINE, p.coupling_max = 3.0;
    CHECK_OK(ent_replicas_new(&r, &p, 3, 1, 0, 1, 4.0));
    CHECK_NEAR(ent_replicas_coupling(r, 0.0), 0.0, 1e-15);
    CHECK_NEAR(ent_replicas_coupling(r, 1.0), 0.43933982822, 1e-10);
    CHECK_NEAR(ent_replicas_coupling(r, 2.0), 1.5, 1e-12);
    CHECK_NEAR(ent_replicas_coupling(r, 4.0), 3.0, 1e-12);
    CHECK_NEAR(ent_replicas_coupling(r, 9.0), 3.0, 1e-12);
    ent_replicas_free(r);
}

/* Automatic g0 = mean loss / mean squared distance, measured on the first
 * step, which is uncoupled. y = 2, n = 1, f_a = (x - C_a)^2/2 with
 * C = (0.5, 0), x = (1, -1): losses 0.125, 0.5 (mean 0.3125); the centre
 * is 0, d^2 = (1 + 1)/2 = 1, so g0 = 0.3125. Step 0, lr 0.1, plain SGD:
 * x = (1 - 0.05, -1 + 0.1) = (0.95, -0.9). Step 1 is coupled with
 * 2 g0 = 0.625 towards m = 0.025:
 * x1 = 0.95 - 0.1 (0.45 + 0.625 (0.925)) = 0.8471875,
 * x2 = -0.9 - 0.1 (-0.9 + 0.625 (-0.925)) = -0.7521875
 * (the explicit formula; the implicit step is test_fidelity.c's). */
ENT_TEST(replicas_auto_coupling) {
    static const double A[1] = {1.0}, C[2][1] = {{0.5}, {0.0}};
    ent_analytic *q[2];
    ent_objective obj[2];
    for (int a = 0; a < 2; a++) {
        CHECK_OK(ent_analytic_quadratic(&q[a], 1, A, C[a], 0.0, 1));
        obj[a] = ent_analytic_objective(q[a]);
    }
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.replicas = 2, p.lr = 0.1, p.momentum = 0.0, p.nesterov = 0, p.weight_decay = 0.0;
    p.coupling_auto = 1, p.coupling_schedule = ENT_COUPLING_NONE, p.coupling_explicit = 1;
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, 1, 2, 0, 1, 1.0));
    if (!r) return;
    ent_replicas_theta(r, 0)[0] = 1.0f, ent_replicas_theta(r, 1)[0] = -1.0f;
    CHECK_OK(ent_replicas_start(r));
    double loss;
    CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
    CHECK_NEAR(loss, 0.3125, 1e-12);
    CHECK_NEAR(ent_replicas_coupling(r, 0.0), 0.3125, 1e-7);
    CHECK_NEAR(ent_replicas_theta(r, 0)[0], 0.95, HAND_TOL);
    CHECK_NEAR(ent_replicas_theta(r, 1)[0], -0.9, HAND_TOL);
    CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
    CHECK_NEAR(ent_replicas_theta(r, 0)[0], 0.8471875, HAND_TOL);
    CHECK_NEAR(ent_replicas_theta(r, 1)[0], -0.7521875, HAND_TOL);
    ent_replicas_free(r);
    for (int a = 0; a < 2; a++) ent_analytic_free(q[a]);
}

/* gtime = 2: coupling with 2 g on steps 0, 2, ..., none on 1, 3. y = 2,
 * n = 1, f_a = 0 (A = 0), lr 0.1, g 0.5, x = (1, -1), m = 0 throughout:
 * step 0: x -= 0.1 (2 * 2 * 0.5) x -> (0.8, -0.8); step 1: unchanged;
 * step 2: (0.64, -0.64) (the explicit formula). */
ENT_TEST(replicas_coupling_every) {
    static const double A[1] = {0.0};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 1, A, NULL, 0.0, 1));
    ent_objective obj[2] = {ent_analytic_objective(q), ent_analytic_objective(q)};
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.replicas = 2, p.lr = 0.1, p.momentum = 0.0, p.nesterov = 0, p.weight_decay = 0.0;
    p.coupling_auto = 0, p.coupling = 0.5, p.coupling_schedule = ENT_COUPLING_NONE, p.coupling_every = 2;
    p.coupling_explicit = 1;
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, 1, 2, 0, 1, 1.0));
    if (!r) return;
    ent_replicas_theta(r, 0)[0] = 1.0f, ent_replicas_theta(r, 1)[0] = -1.0f;
    CHECK_OK(ent_replicas_start(r));
    const double want[3] = {0.8, 0.8, 0.64};
    for (int t = 0; t < 3; t++) {
        double loss;
        CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
        CHECK_NEAR(ent_replicas_theta(r, 0)[0], want[t], HAND_TOL);
        CHECK_NEAR(ent_replicas_theta(r, 1)[0], -want[t], HAND_TOL);
    }
    ent_replicas_free(r);
    ent_analytic_free(q);
}

/* 6 steps == 3 steps, every piece of state copied into a fresh object, 3
 * more: replica vectors, the centre when it is state, each optimizer's
 * vectors and scalars, the replicas' scalars (exact objectives: their
 * state is nothing). */
static void copy_optim(ent_optim *dst, ent_optim *src) {
    ent_state_vec vs[16], vd[16];
    ent_state_u64 sc[16];
    int nv = ent_optim_state_vectors(src, vs, 16), ns = ent_optim_state_scalars(src, sc, 16);
    CHECK(ent_optim_state_vectors(dst, vd, 16) == nv);
    for (int i = 0; i < nv; i++) memcpy(vd[i].data, vs[i].data, sizeof(float) * (size_t)vs[i].n);
    for (int i = 0; i < ns; i++) CHECK_OK(ent_optim_set_scalar(dst, sc[i].name, sc[i].value));
}

static void resume_case(ent_optim_params p, const char *what) {
    rig A, B, C;
    p.replicas = 3;
    rig_init(&A, &p, 16, 0.0);
    rig_init(&B, &p, 16, 0.0);
    rig_init(&C, &p, 16, 0.0);
    rig_steps(&A, 6);
    rig_steps(&B, 3);
    if (!A.r || !B.r || !C.r) goto done;
    for (int a = 0; a < 3; a++) {
        memcpy(ent_replicas_theta(C.r, a), ent_replicas_theta(B.r, a), sizeof(float) * 16);
        copy_optim(ent_replicas_optim(C.r, a), ent_replicas_optim(B.r, a));
    }
    if (ent_replicas_center_is_state(B.r)) memcpy(ent_replicas_center(C.r), ent_replicas_center(B.r), sizeof(float) * 16);
    if (ent_replicas_center_optim(B.r)) copy_optim(ent_replicas_center_optim(C.r), ent_replicas_center_optim(B.r));
    ent_state_u64 sc[8];
    int ns = ent_replicas_state_scalars(B.r, sc, 8);
    for (int i = 0; i < ns; i++) CHECK_OK(ent_replicas_set_scalar(C.r, sc[i].name, sc[i].value));
    CHECK_OK(ent_replicas_sync(C.r));
    rig_steps(&C, 3);
    for (int a = 0; a < 3; a++)
        CHECK_MSG(memcmp(ent_replicas_theta(A.r, a), ent_replicas_theta(C.r, a), sizeof(float) * 16) == 0,
                  "%s: replica %d differs after resume", what, a);
done:
    rig_free(&A);
    rig_free(&B);
    rig_free(&C);
}

ENT_TEST(replicas_resume_bit_identical) {
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD);
    p.center = 1; /* auto g0 set at step 0, Nesterov on replicas and centre */
    resume_case(p, "rsgd explicit centre");
    p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD), p.outer_rule = ENT_UPDATE_ADAM, p.lr = 0.01;
    resume_case(p, "rsgd adam");
    p = ent_optim_params_default(ENT_OPTIM_ELASTIC_SGD);
    resume_case(p, "easgd");
    p = ent_optim_params_default(ENT_OPTIM_PARLE), p.L = 3, p.noise = 1e-2;
    resume_case(p, "parle with noise");
    p = ent_optim_params_default(ENT_OPTIM_REPLICATED_SGD); /* the implicit coupling, buffers fed at the new point */
    resume_case(p, "rsgd implicit");
    p = ent_optim_params_default(ENT_OPTIM_PARLE), p.L = 3, p.parle_reference = 1; /* chains kept across updates */
    resume_case(p, "parle reference");
}
