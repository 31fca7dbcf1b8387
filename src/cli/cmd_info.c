/* cmd_info.c — `entropic info`: what this machine runs, for bug reports
 * and benchmark notes (in the spirit of `python -m torch.utils.collect_env`):
 * the CPU and its vector features, ent_gemm's backend, OpenBLAS's core type
 * and where it came from, the thread count. Then the blas check: OpenBLAS
 * runs whatever core type it is told (core/blas_core.h), so a chosen type
 * is trusted only once its products agree with a double-precision loop. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "core/blas_core.h"
#include "core/gemm_internal.h"

void ent_cli_cpu_model(char *out, size_t cap) {
    char line[512];
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        colon += 1 + strspn(colon + 1, " \t");
        colon[strcspn(colon, "\r\n")] = 0;
        snprintf(out, cap, "%s", colon);
        break;
    }
    fclose(f);
}

const char *ent_cli_blas_source(const char **detected) {
    ent_blas_core_source s = ent_blas_core_origin(detected);
    return s == ENT_BLAS_CORE_FROM_ENV ? "environment" : s == ENT_BLAS_CORE_BY_ENTROPIC ? "entropic" : "detected";
}

void ent_cli_blas_core(char *out, size_t cap) {
    const char *core = ent_blas_corename(), *detected, *type = getenv("OPENBLAS_CORETYPE");
    if (strcmp(core, "none") == 0) {
        snprintf(out, cap, "none (not linked against OpenBLAS)");
        return;
    }
    switch (ent_blas_core_origin(&detected)) {
    case ENT_BLAS_CORE_DETECTED:
        snprintf(out, cap, "%s (OpenBLAS's own pick)", core);
        break;
    case ENT_BLAS_CORE_FROM_ENV:
        snprintf(out, cap, "%s (OPENBLAS_CORETYPE=%.40s from the environment)", core, type);
        break;
    case ENT_BLAS_CORE_BY_ENTROPIC:
        snprintf(out, cap, "%s (OPENBLAS_CORETYPE chosen by entropic; OpenBLAS detected %.40s)", core, detected);
        break;
    }
}

/* ------------------------------------------------------------ the blas check */

enum { CM = 96, CN = 80, CK = 70 };
static const double check_alpha = 0.75, check_beta = 0.5; /* exact in float: both precisions see the same problem */

/* Uniform in [-1, 1) on a grid of 2^-22, exact in float. */
static double draw(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)((int64_t)(*s >> 41) - (1 << 22)) / (double)(1 << 22);
}

typedef struct {
    double a[CM * CK], b[CK * CN], c0[CM * CN], c[CM * CN];
    float af[CM * CK], bf[CK * CN], cf[CM * CN];
} check_data;

/* Largest |C - ref| / (|alpha| sum_k |a_ik b_kj| + |beta c0_ij|) of one
 * product: the error against what rounding can reach, so cancellation in
 * a sum cannot inflate it. A is M x K, stored K x M when ta; B is K x N,
 * stored N x K when tb; everything row-major. */
static double gemm_error(check_data *d, int dbl, int ta, int tb) {
    const int lda = ta ? CM : CK, ldb = tb ? CK : CN;
    const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    memcpy(d->c, d->c0, sizeof d->c);
    for (int i = 0; i < CM * CN; i++) d->cf[i] = (float)d->c0[i];
    if (dbl)
        cblas_dgemm(CblasRowMajor, TA, TB, CM, CN, CK, check_alpha, d->a, lda, d->b, ldb, check_beta, d->c, CN);
    else
        cblas_sgemm(CblasRowMajor, TA, TB, CM, CN, CK, (float)check_alpha, d->af, lda, d->bf, ldb,
                    (float)check_beta, d->cf, CN);
    double worst = 0.0;
    for (int i = 0; i < CM; i++)
        for (int j = 0; j < CN; j++) {
            double sum = 0.0, scale = 0.0;
            for (int k = 0; k < CK; k++) {
                const double aik = ta ? d->a[k * CM + i] : d->a[i * CK + k];
                const double bkj = tb ? d->b[j * CK + k] : d->b[k * CN + j];
                const double p = aik * bkj;
                sum += p, scale += fabs(p);
            }
            const double want = check_alpha * sum + check_beta * d->c0[i * CN + j];
            const double got = dbl ? d->c[i * CN + j] : (double)d->cf[i * CN + j];
            scale = fabs(check_alpha) * scale + fabs(check_beta * d->c0[i * CN + j]);
            const double e = fabs(got - want) / (scale > 0 ? scale : 1.0);
            if (!(e <= worst)) worst = e; /* NaN sticks */
        }
    return worst;
}

typedef struct {
    double err[2], limit[2]; /* [0] sgemm (worst of the four transpose cases), [1] dgemm */
    int ok;
} blas_check;

/* The inputs lie on a grid of 2^-22 and |sums| < 2^7, so every partial sum
 * of the double product is exact in any order: a correct dgemm is off by 0.
 * The forward error bound of a K-term dot product is about K units of
 * roundoff; (K + 2) epsilons (two more roundings for alpha and beta, and a
 * factor 2 of slack) is far above what a correct kernel reaches and far
 * below what a wrong one does (errors of order 1). */
static int run_check(blas_check *r) {
    check_data *d = malloc(sizeof *d);
    if (!d) return 0;
    uint64_t s = 42;
    for (int i = 0; i < CM * CK; i++) d->a[i] = draw(&s), d->af[i] = (float)d->a[i];
    for (int i = 0; i < CK * CN; i++) d->b[i] = draw(&s), d->bf[i] = (float)d->b[i];
    for (int i = 0; i < CM * CN; i++) d->c0[i] = draw(&s);
    r->limit[0] = (CK + 2) * (double)FLT_EPSILON;
    r->limit[1] = (CK + 2) * DBL_EPSILON;
    for (int p = 0; p < 2; p++) {
        r->err[p] = 0.0;
        for (int t = 0; t < 4; t++) {
            const double e = gemm_error(d, p, t >> 1, t & 1);
            if (!(e <= r->err[p])) r->err[p] = e;
        }
    }
    free(d);
    r->ok = r->err[0] <= r->limit[0] && r->err[1] <= r->limit[1];
    return 1;
}

/* ------------------------------------------------------------ the report */

static const char *const feature_names[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512dq",
                                            "avx512vl", "avx512cd", "avx512bf16"};
enum { N_FEATURES = sizeof feature_names / sizeof feature_names[0] };

/* __builtin_cpu_supports takes only string literals, hence one call each. */
static void cpu_features(int on[N_FEATURES]) {
    memset(on, 0, N_FEATURES * sizeof on[0]);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    on[0] = !!__builtin_cpu_supports("avx2"), on[1] = !!__builtin_cpu_supports("fma");
    on[2] = !!__builtin_cpu_supports("avx512f"), on[3] = !!__builtin_cpu_supports("avx512bw");
    on[4] = !!__builtin_cpu_supports("avx512dq"), on[5] = !!__builtin_cpu_supports("avx512vl");
    on[6] = !!__builtin_cpu_supports("avx512cd"), on[7] = !!__builtin_cpu_supports("avx512bf16");
#endif
}

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v ? v : fallback;
}

static void print_text(const blas_check *c, int checked) {
    char cpu[256], core[256];
    int on[N_FEATURES];
    ent_cli_cpu_model(cpu, sizeof cpu);
    ent_cli_blas_core(core, sizeof core);
    cpu_features(on);
    printf("%-16s %s, %d cores online\n", "cpu", cpu, (int)sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-16s", "cpu features");
    for (int i = 0; i < N_FEATURES; i++)
        if (on[i]) printf(" %s", feature_names[i]);
    printf(" (absent:");
    int absent = 0;
    for (int i = 0; i < N_FEATURES; i++)
        if (!on[i]) printf(" %s", feature_names[i]), absent++;
    printf("%s)\n", absent ? "" : " none");
    printf("%-16s %s (ENT_GEMM %s)\n", "gemm backend", ent_gemm_backend_name(ent_gemm_active_backend()),
           env_or("ENT_GEMM", "unset"));
    printf("%-16s %s\n", "openblas core", core);
    printf("%-16s %s\n", "openblas config", ent_blas_config());
    if (getenv(ENT_BLAS_TEST_HOOK))
        printf("%-16s %s=%s stood in for OpenBLAS's detection\n", "test hook", ENT_BLAS_TEST_HOOK,
               getenv(ENT_BLAS_TEST_HOOK));
    printf("%-16s %d OpenMP, %d OpenBLAS (OMP_NUM_THREADS %s, OMP_WAIT_POLICY %s)\n", "threads", ent_get_threads(),
           ent_blas_num_threads(), env_or("OMP_NUM_THREADS", "unset"), env_or("OMP_WAIT_POLICY", "unset"));
    if (!checked)
        printf("%-16s FAILED: out of memory\n", "blas check");
    else
        printf("%-16s %s (cblas_sgemm %dx%dx%d NN NT TN TT: max relative error %.1e, limit %.1e; "
               "cblas_dgemm: %.1e, limit %.1e)\n",
               "blas check", c->ok ? "ok" : "FAILED", CM, CN, CK, c->err[0], c->limit[0], c->err[1], c->limit[1]);
}

static void print_json(const blas_check *c, int checked) {
    char cpu[256];
    int on[N_FEATURES];
    const char *detected;
    ent_cli_cpu_model(cpu, sizeof cpu);
    cpu_features(on);
    const char *src = ent_cli_blas_source(&detected);
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "cpu", cpu);
    ent_json_int(&j, "cores", sysconf(_SC_NPROCESSORS_ONLN));
    ent_json_begin_object(&j, "features");
    for (int i = 0; i < N_FEATURES; i++) ent_json_bool(&j, feature_names[i], on[i]);
    ent_json_end_object(&j);
    ent_json_string(&j, "gemm_backend", ent_gemm_backend_name(ent_gemm_active_backend()));
    ent_json_begin_object(&j, "openblas");
    ent_json_string(&j, "core", ent_blas_corename());
    ent_json_string(&j, "config", ent_blas_config());
    ent_json_string(&j, "coretype_source", src);
    if (getenv("OPENBLAS_CORETYPE")) ent_json_string(&j, "coretype_env", getenv("OPENBLAS_CORETYPE"));
    if (detected) ent_json_string(&j, "detected", detected);
    if (getenv(ENT_BLAS_TEST_HOOK)) ent_json_string(&j, "test_hook", getenv(ENT_BLAS_TEST_HOOK));
    ent_json_int(&j, "threads", ent_blas_num_threads());
    ent_json_end_object(&j);
    ent_json_int(&j, "threads", ent_get_threads());
    ent_json_string(&j, "omp_wait_policy", env_or("OMP_WAIT_POLICY", ""));
    ent_json_begin_object(&j, "blas_check");
    ent_json_bool(&j, "ok", checked && c->ok);
    if (checked) {
        ent_json_number(&j, "sgemm_error", c->err[0]);
        ent_json_number(&j, "sgemm_limit", c->limit[0]);
        ent_json_number(&j, "dgemm_error", c->err[1]);
        ent_json_number(&j, "dgemm_limit", c->limit[1]);
    }
    ent_json_end_object(&j);
    ent_json_end_object(&j);
    printf("%.*s", (int)j.len, j.buf);
    ent_json_free(&j);
}

int ent_cmd_info(int argc, char **argv) {
    int json = 0, help = 0;
    ent_arg spec[] = {
        {.name = "json", .type = ARG_BOOL, .dst = &json, .help = "print JSON"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    int n = (int)(sizeof spec / sizeof spec[0]);
    if (ent_args_parse(spec, n, argc, argv, "info", NULL, 0, NULL) != 0) return 2;
    if (help) {
        printf("usage: entropic info [--json]\n\n"
               "What this machine runs: the CPU and its vector features, ent_gemm's backend, OpenBLAS's\n"
               "core type and where it came from, the thread counts. Then the blas check: cblas_sgemm\n"
               "(all four transpose cases) and cblas_dgemm on %dx%dx%d against a double-precision loop;\n"
               "kernels that compute wrong products fail it. Exit status 1 if the check fails.\n\n"
               "The OpenBLAS core: when OpenBLAS falls back to a generic core (Prescott, as 0.3.21 does on\n"
               "a Sapphire Rapids) on a CPU with AVX2 or AVX-512, entropic sets OPENBLAS_CORETYPE to the\n"
               "best type the CPU's flags support (Cooperlake, SkylakeX, Haswell) before it starts itself\n"
               "once more. An OPENBLAS_CORETYPE already set is never changed: set it yourself to choose.\n"
               "See docs/guide.md, \"BLAS kernels\".\n\n",
               CM, CN, CK);
        ent_args_help(spec, n);
        return 0;
    }
    blas_check c = {0};
    int checked = run_check(&c);
    if (json)
        print_json(&c, checked);
    else
        print_text(&c, checked);
    return checked && c.ok ? 0 : 1;
}
