/* test_replicas_mpi.c — replica methods and data-parallel training across
 * MPI ranks, and the replica methods through `entropic train`:
 *
 *  - K ranks against K replicas in one process, on analytic objectives
 *    (the library under mpirun) and on a small network (the CLI): the same
 *    centre and replicas, bit for bit with K = 2 (float addition is
 *    commutative, so the centre's sum is the same), within a stated
 *    summation-order bound with K = 4;
 *  - data-parallel SGD over 2 ranks against the averaged gradient in one
 *    process, bit for bit;
 *  - resume across a change of the number of processes, usage errors, and
 *    failures: a killed rank or a rank-local error ends the job promptly.
 *
 * The MPI tests start mpirun themselves (as root Open MPI needs
 * --allow-run-as-root; --oversubscribe lets 4 ranks share 2 cores). The
 * library tests re-run this test binary under mpirun in "child" mode
 * (ENT_MPI_CHILD set): mpi_child_* tests do nothing otherwise. Without
 * mpirun or without an MPI build they are skipped with a message. Children
 * run with LeakSanitizer off: the MPI runtime itself leaks at exit. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static char out[65536];

static const char *self_exe(void) {
    static char path[600];
    ssize_t k = readlink("/proc/self/exe", path, sizeof path - 1);
    path[k > 0 ? k : 0] = 0;
    return path;
}

/* ------------------------------------------------ analytic: library runs */

/* Replica a's objective: f_a = 1/2 sum A_i (x_i - C_ai)^2 + gradient noise
 * of sd 0.5 from its own stream: the same for replica a wherever it runs. */
static ent_analytic *quad_of(int a, int64_t n) {
    double *A = malloc(sizeof(double) * (size_t)n), *C = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) A[i] = 0.5 + 1.5 * (double)(i % 5) / 4.0, C[i] = sin(0.7 * (double)i + 1.3 * a);
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, n, A, C, 0.5, ent_replica_seed(77, a)));
    free(A);
    free(C);
    return q;
}

#define NQ 256
#define STEPS 30

/* Case c: 0 rSGD (mean), 1 rSGD (explicit centre, Nesterov 0.5),
 * 2 EASGD, 3 Parle (L 3, SGLD noise), 4 Parle as its reference code (the
 * master from the chains' means: a second reduction). All contract on the
 * quadratic. */
static ent_optim_params case_params(int c, int y) {
    static const ent_optim_kind k[5] = {ENT_OPTIM_REPLICATED_SGD, ENT_OPTIM_REPLICATED_SGD, ENT_OPTIM_ELASTIC_SGD,
                                        ENT_OPTIM_PARLE, ENT_OPTIM_PARLE};
    ent_optim_params p = ent_optim_params_default(k[c]);
    p.replicas = y, p.weight_decay = 0.0, p.coupling_auto = 0, p.coupling_schedule = ENT_COUPLING_NONE;
    p.momentum = 0.0, p.nesterov = 0, p.lr = 0.2, p.coupling = 0.3;
    if (c == 1) p.center = 1, p.momentum = 0.5, p.nesterov = 1, p.lr = 0.1;
    if (c == 2) p.lr = 0.1, p.coupling = 1.0;
    if (c == 4) p.L = 3, p.parle_reference = 1, p.lr = 0.1, p.coupling = 0.02;
    if (c == 3) {
        p.L = 3, p.noise = 1e-2, p.inner_momentum = 0.0, p.inner_nesterov = 0, p.gamma0 = 0.3, p.gamma1 = 0.0;
        p.lr = 0.5, p.coupling = 0.5;
    }
    return p;
}

/* Replicas first .. first + nl - 1 of a y-replica run of case c: their
 * final vectors into th (nl x NQ) and the centre into cen. */
static void run_case(int c, int y, int nl, int first, float *th, float *cen) {
    ent_optim_params p = case_params(c, y);
    ent_analytic *q[8];
    ent_objective obj[8];
    for (int i = 0; i < nl; i++) q[i] = quad_of(first + i, NQ), obj[i] = ent_analytic_objective(q[i]);
    ent_replicas *r = NULL;
    CHECK_OK(ent_replicas_new(&r, &p, NQ, nl, first, 5, 1.0));
    for (int i = 0; r && i < nl; i++)
        for (int64_t k = 0; k < NQ; k++) ent_replicas_theta(r, i)[k] = (float)cos(2.1 * (double)k + first + i);
    if (r) CHECK_OK(ent_replicas_start(r));
    double loss;
    for (int t = 0; r && t < STEPS; t++) CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss));
    if (r) CHECK_OK(ent_replicas_sync(r));
    for (int i = 0; r && i < nl; i++) memcpy(th + i * NQ, ent_replicas_theta(r, i), sizeof(float) * NQ);
    if (r) memcpy(cen, ent_replicas_center(r), sizeof(float) * NQ);
    ent_replicas_free(r);
    for (int i = 0; i < nl; i++) ent_analytic_free(q[i]);
}

/* Data-parallel SGD (Nesterov momentum 0.9) on rank r's objective quad_of(r). */
static void run_dp(float *x, int steps) {
    ent_analytic *q = quad_of(ent_dist_rank(), NQ);
    ent_dp_objective w;
    ent_objective obj = ent_dist_data_parallel(&w, ent_analytic_objective(q));
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.momentum = 0.9, p.nesterov = 1;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, NQ, 3));
    double loss;
    for (int t = 0; o && t < steps; t++) CHECK_OK(ent_optim_step(o, &obj, x, 1.0, &loss));
    ent_optim_free(o);
    ent_analytic_free(q);
}

/* The in-process reference: the two ranks' gradients averaged in one
 * objective, (g0 + g1) * 0.5 as the reduction computes it. */
typedef struct {
    ent_objective o[2];
    float *g1;
} avg2;

static ent_status avg2_next(void *ctx) {
    avg2 *a = ctx;
    ent_status s = ent_objective_next(&a->o[0]);
    return s == ENT_OK ? ent_objective_next(&a->o[1]) : s;
}

static ent_status avg2_eval(void *ctx, const float *x, float *g, double *loss) {
    avg2 *a = ctx;
    double l0, l1;
    ent_objective_eval(&a->o[0], x, g, &l0);
    ent_objective_eval(&a->o[1], x, a->g1, &l1);
    for (int64_t i = 0; i < NQ; i++) g[i] = (g[i] + a->g1[i]) * 0.5f;
    if (loss) *loss = (l0 + l1) * 0.5;
    return ENT_OK;
}

static void write_floats(const char *path, const float *x, int64_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(x, sizeof(float), (size_t)n, f) == (size_t)n);
    if (f) fclose(f);
}

static int read_floats(const char *path, float *x, int64_t n) {
    FILE *f = fopen(path, "rb");
    int ok = f && fread(x, sizeof(float), (size_t)n, f) == (size_t)n;
    if (f) fclose(f);
    return ok;
}

/* Child mode: ENT_MPI_CHILD = "CASE Y" (CASE 9: data-parallel). Rank r
 * writes its replicas then the centre to $ENT_MPI_OUT/rank<r>.bin. */
ENT_TEST(mpi_child_analytic) {
    const char *spec = getenv("ENT_MPI_CHILD"), *dir = getenv("ENT_MPI_OUT");
    if (!spec || !dir) return;
    int c = 0, y = 0;
    CHECK(sscanf(spec, "%d %d", &c, &y) == 2);
    CHECK_OK(ent_dist_init(NULL, NULL));
    int K = ent_dist_size(), r = ent_dist_rank(), nl = y / K;
    char path[700];
    snprintf(path, sizeof path, "%s/rank%d.bin", dir, r);
    float *buf = calloc((size_t)(nl + 1) * NQ, sizeof(float));
    if (c == 9) {
        for (int64_t k = 0; k < NQ; k++) buf[k] = (float)cos(2.1 * (double)k);
        run_dp(buf, STEPS);
        write_floats(path, buf, NQ);
    } else {
        run_case(c, y, nl, r * nl, buf, buf + nl * NQ);
        write_floats(path, buf, (nl + 1) * NQ);
    }
    free(buf);
    ent_dist_finalize();
}

static int spawn_child(int K, const char *spec, const char *dir) {
    int rc = ent_test_run(out, sizeof out, "ENT_MPI_CHILD='%s' ENT_MPI_OUT=%s " MPIRUN " -np %d %s mpi_child_analytic",
                          spec, dir, K, self_exe());
    CHECK_MSG(rc == 0, "mpirun -np %d child '%s': exit %d: %s", K, spec, rc, out);
    return rc == 0;
}

/* The bound for K = 4: each step the centre's float sum may round
 * differently (<= 4 ulp of max|x|, with the 1/y scaling) and each
 * following operation rounds its slightly different inputs once more
 * (~4 more); the cases contract (|1 - lr h| < 1 for every mode), so the
 * differences add up over the steps rather than grow: STEPS * 8 u max|x|,
 * times 1/(1 - m) = 2 for Nesterov 0.5. */
static double k4_bound(int c, double maxabs) {
    double u = ldexp(1.0, -24);
    return STEPS * 8.0 * u * maxabs * (c == 1 ? 2.0 : 1.0);
}

ENT_TEST(mpi_replicas_match_in_process) {
    if (!ent_test_have_mpi()) return;
    static const char *names[5] = {"rsgd", "rsgd-center", "easgd", "parle", "parle-reference"};
    const int sanitized = getenv("ENT_TEST_SANITIZER") != NULL;
    for (int K = 2; K <= 4; K += 2) {
        for (int c = 0; c < 5; c++) {
            if (sanitized && K == 4 && c != 3) continue; /* keep the ASan suite short */
            if (c == 4 && K == 4) continue;               /* 2 ranks: bit for bit, enough for its reductions */
            float ref[5 * NQ], got[5 * NQ], part[3 * NQ];
            run_case(c, K, K, 0, ref, ref + K * NQ); /* all K replicas here */
            const char *dir = ent_test_tmpdir();
            char spec[32];
            snprintf(spec, sizeof spec, "%d %d", c, K);
            if (!spawn_child(K, spec, dir)) continue;
            for (int r = 0; r < K; r++) {
                char path[700];
                snprintf(path, sizeof path, "%s/rank%d.bin", dir, r);
                CHECK_MSG(read_floats(path, part, 2 * NQ), "%s: no output of rank %d", names[c], r);
                memcpy(got + r * NQ, part, sizeof(float) * NQ);
                if (r == 0) memcpy(got + K * NQ, part + NQ, sizeof(float) * NQ);
            }
            double worst = 0.0, maxabs = 0.0;
            for (int64_t i = 0; i < (K + 1) * NQ; i++)
                worst = fmax(worst, fabs((double)got[i] - ref[i])), maxabs = fmax(maxabs, fabs(ref[i]));
            double tol = K == 2 ? 0.0 : k4_bound(c, maxabs);
            printf("    %s, %d ranks vs %d replicas in one process: max |diff| %.3g (allowed %.3g)\n", names[c], K, K,
                   worst, tol);
            CHECK_MSG(worst <= tol, "%s K=%d: max |diff| %.3g > %.3g", names[c], K, worst, tol);
        }
    }
}

ENT_TEST(mpi_data_parallel_matches_averaged_gradient) {
    if (!ent_test_have_mpi()) return;
    const char *dir = ent_test_tmpdir();
    if (!spawn_child(2, "9 2", dir)) return;
    float got[NQ], ref[NQ], g1[NQ];
    char path[700];
    snprintf(path, sizeof path, "%s/rank1.bin", dir);
    CHECK(read_floats(path, got, NQ)); /* rank 1's copy: the ranks agree */
    avg2 a = {{ent_analytic_objective(quad_of(0, NQ)), ent_analytic_objective(quad_of(1, NQ))}, g1};
    ent_objective obj = {.n_param = NQ, .ctx = &a, .next_batch = avg2_next, .eval = avg2_eval};
    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_SGD);
    p.momentum = 0.9, p.nesterov = 1;
    ent_optim *o = NULL;
    CHECK_OK(ent_optim_new(&o, &p, NQ, 3));
    for (int64_t k = 0; k < NQ; k++) ref[k] = (float)cos(2.1 * (double)k);
    double loss;
    for (int t = 0; o && t < STEPS; t++) CHECK_OK(ent_optim_step(o, &obj, ref, 1.0, &loss));
    CHECK_MSG(memcmp(got, ref, sizeof ref) == 0, "data-parallel SGD over 2 ranks differs from the averaged gradient");
    snprintf(path, sizeof path, "%s/rank0.bin", dir);
    CHECK(read_floats(path, got, NQ) && memcmp(got, ref, sizeof ref) == 0);
    ent_optim_free(o);
    ent_analytic_free(a.o[0].ctx);
    ent_analytic_free(a.o[1].ctx);
}
