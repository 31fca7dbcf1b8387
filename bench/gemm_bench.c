/* gemm_bench.c — GFLOP/s of ent_gemm on our networks' shapes, per backend
 * and thread count, as a fraction of the measured FMA peak.
 *
 *   make bench-gemm && build/gemm_bench [--backends avx512,blas]
 *        [--threads 2] [--seconds 0.3] [--label TEXT]
 *   # OpenBLAS with its own core detection (AVX-512 kernels) needs a fresh
 *   # process without the project's environment:
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/gemm_bench \
 *        --backends blas --label "blas, OPENBLAS_CORETYPE/L2_SIZE unset"
 *
 * The machine is shared: each figure is the best window (neighbours only
 * slow us down); the median is kept beside it in ent_gemm_rate. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_bench.h"
#include "core/gemm_internal.h"

static const ent_gemm_shape shapes[] = {
    /* mnistfc 784-1024-1024-10, batch 128: dense forward is (0,1),
     * dW += dout^T x is (1,0), din += dout W is (0,0) */
    {"mnistfc fc1 fwd", 0, 1, 128, 1024, 784, 1.0f},
    {"mnistfc fc2 fwd", 0, 1, 128, 1024, 1024, 1.0f},
    {"mnistfc fc3 fwd", 0, 1, 128, 10, 1024, 1.0f},
    {"mnistfc fc1 dW", 1, 0, 1024, 784, 128, 1.0f},
    {"mnistfc fc2 dW", 1, 0, 1024, 1024, 128, 1.0f},
    {"mnistfc fc3 dW", 1, 0, 10, 1024, 128, 1.0f},
    {"mnistfc fc1 din", 0, 0, 128, 784, 1024, 1.0f},
    {"mnistfc fc2 din", 0, 0, 128, 1024, 1024, 1.0f},
    {"mnistfc fc3 din", 0, 0, 128, 1024, 10, 1.0f},
    /* evaluation batch 500 */
    {"mnistfc fc1 eval500", 0, 1, 500, 1024, 784, 1.0f},
    {"mnistfc fc2 eval500", 0, 1, 500, 1024, 1024, 1.0f},
    /* LeNet im2col convolutions: conv1 20x(1x5x5) on 28x28 -> 24x24, conv2
     * 50x(20x5x5) on 8x8 -> 4x4; dcol = W^T dY overwrites col. Per sample
     * (N or K = OH*OW) and per group of samples side by side (conv2d.c
     * with a 1 MiB column budget: 18 samples for conv1, 32 for conv2). */
    {"lenet conv1 fwd", 0, 0, 20, 576, 25, 1.0f},
    {"lenet conv1 dW", 0, 1, 20, 25, 576, 1.0f},
    {"lenet conv2 fwd", 0, 0, 50, 16, 500, 1.0f},
    {"lenet conv2 dW", 0, 1, 50, 500, 16, 1.0f},
    {"lenet conv2 dcol", 1, 0, 500, 16, 50, 0.0f},
    {"lenet conv1 fwd x18", 0, 0, 20, 10368, 25, 0.0f},
    {"lenet conv1 dW x18", 0, 1, 20, 25, 10368, 1.0f},
    {"lenet conv2 fwd x32", 0, 0, 50, 512, 500, 0.0f},
    {"lenet conv2 dW x32", 0, 1, 50, 500, 512, 1.0f},
    {"lenet conv2 dcol x32", 1, 0, 500, 512, 50, 0.0f},
    /* LeNet dense 200-500-10, batch 128 */
    {"lenet fc1 fwd", 0, 1, 128, 500, 200, 1.0f},
    {"lenet fc1 dW", 1, 0, 500, 200, 128, 1.0f},
    {"lenet fc1 din", 0, 0, 128, 200, 500, 1.0f},
    {"lenet fc2 fwd", 0, 1, 128, 10, 500, 1.0f},
};

const ent_gemm_shape *ent_gemm_bench_shapes(int *n) {
    *n = (int)(sizeof shapes / sizeof *shapes);
    return shapes;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const ent_gemm_shape *s;
    float *A, *B, *C;
} operands;

static void call(const operands *o) {
    const ent_gemm_shape *s = o->s;
    ent_gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, o->A, s->ta ? s->M : s->K,
             o->B, s->tb ? s->K : s->N, s->beta, o->C, s->N);
}

/* One thread is timed by its own CPU clock: on this shared machine a
 * neighbour that takes the core away for a while then does not count.
 * More threads are timed by the wall clock (the team waits for its
 * slowest member, and that wait is part of the cost). */
static double now(int threads) {
    if (threads > 1) return ent_time_seconds();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Windows of `reps` calls until `seconds` have passed; rates into r. */
static int time_windows(const operands *o, int threads, int64_t reps,
                        double seconds, double *r, int max) {
    const double flops = 2.0 * (double)o->s->M * (double)o->s->N * (double)o->s->K;
    const double end = ent_time_seconds() + seconds;
    int n = 0;
    do {
        const double t0 = now(threads);
        for (int64_t i = 0; i < reps; i++) call(o);
        const double dt = now(threads) - t0;
        r[n++] = flops * (double)reps / (dt > 0 ? dt : 1e-9) * 1e-9;
    } while (n < max && ent_time_seconds() < end);
    return n;
}

ent_status ent_gemm_bench_shape(const ent_gemm_shape *s, int backend,
                                int threads, double seconds,
                                ent_gemm_rate *out) {
    enum { MAX_WINDOWS = 4096 };
    operands o = {s, ent_alloc(sizeof(float) * (size_t)(s->M * s->K)),
                  ent_alloc(sizeof(float) * (size_t)(s->K * s->N)),
                  ent_alloc(sizeof(float) * (size_t)(s->M * s->N))};
    double *rates = malloc(sizeof(double) * MAX_WINDOWS);
    ent_status st = ENT_OK;
    if (!o.A || !o.B || !o.C || !rates) {
        st = ent_fail(ENT_ENOMEM, "gemm_bench: %s operands", s->name);
        goto done;
    }
    ent_rng r;
    ent_rng_init(&r, 1, 0);
    ent_rng_uniform_fill(&r, o.A, s->M * s->K, -1.0f, 1.0f);
    ent_rng_uniform_fill(&r, o.B, s->K * s->N, -1.0f, 1.0f);
    const ent_gemm_backend old_backend = ent_gemm_set_backend((ent_gemm_backend)backend);
    const int old_threads = ent_get_threads();
    ent_set_threads(threads);
    double t0 = ent_time_seconds();
    call(&o); /* warm-up: first touch of the operands and packing buffers */
    call(&o);
    const double once = (ent_time_seconds() - t0) / 2;
    int64_t reps = (int64_t)(0.005 / (once > 1e-9 ? once : 1e-9)); /* ~5 ms windows */
    if (reps < 1) reps = 1;
    const int n = time_windows(&o, threads, reps, seconds, rates, MAX_WINDOWS);
    qsort(rates, (size_t)n, sizeof *rates, cmp_double);
    out->best = rates[n - 1];
    out->median = rates[n / 2];
    out->windows = n;
    ent_set_threads(old_threads);
    ent_gemm_set_backend(old_backend);
done:
    ent_free_aligned(o.A);
    ent_free_aligned(o.B);
    ent_free_aligned(o.C);
    free(rates);
    return st;
}

/* Parse "avx512,blas" into backends; returns the count (0 on a bad name). */
static int parse_backends(const char *list, ent_gemm_backend *b, int max) {
    char buf[128];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save))
        if (!ent_gemm_backend_parse(t, &b[n++]) || b[n - 1] == ENT_GEMM_AUTO) return 0;
    return n;
}

/* "model name" of /proc/cpuinfo (Linux), or "unknown CPU". */
static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, cap, "%s", colon + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    fclose(f);
}

/* The peaks get at least a second each: more windows, more chances of
 * one without a neighbour on the other core. */
static void print_peaks(FILE *f, int max_threads, double seconds,
                        double *peak512) {
    fprintf(f, "| fp32 FMA peak | GFLOP/s |\n|---|---|\n");
    for (int t = 1; t <= max_threads; t++)
        for (int bits = 256; bits <= 512; bits *= 2) {
            const double p = ent_peak_fma_gflops(bits, t, seconds > 1.0 ? seconds : 1.0);
            if (bits == 512) peak512[t] = p;
            fprintf(f, "| %d-bit, %d thread%s | %.0f |\n", bits, t, t > 1 ? "s" : "", p);
        }
    fputc('\n', f);
}

ent_status ent_gemm_bench_report(FILE *f, const char *backends,
                                 int max_threads, double seconds,
                                 const char *label) {
    enum { MAX_B = 4, MAX_T = 64 };
    ent_gemm_backend b[MAX_B];
    const int nb = parse_backends(backends, b, MAX_B);
    if (nb == 0)
        return ent_fail(ENT_EUSAGE, "gemm_bench: backends '%s' (want a list of blas|avx512|naive)", backends);
    if (max_threads < 1 || max_threads >= MAX_T)
        return ent_fail(ENT_EUSAGE, "gemm_bench: threads %d", max_threads);
    double peak512[MAX_T] = {0};
    char cpu[128], date[32];
    const time_t now_t = time(NULL);
    cpu_model(cpu, sizeof cpu);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now_t));
    fprintf(f, "### GEMM%s%s\n\n%s, %s, backend default %s\n\n", label ? ": " : "",
            label ? label : "", date, cpu, ent_gemm_backend_name(ent_gemm_active_backend()));
    print_peaks(f, max_threads, seconds, peak512);
    fprintf(f, "GFLOP/s of ent_gemm: the best ~5 ms window in %.2f s (1 thread: by its CPU clock; "
               "more: wall clock), and its fraction of the 512-bit peak at the same thread count.\n\n"
               "| shape | op | MxNxK |", seconds);
    for (int i = 0; i < nb; i++)
        for (int t = 1; t <= max_threads; t++) fprintf(f, " %s %dT |", ent_gemm_backend_name(b[i]), t);
    fprintf(f, "\n|---|---|---|");
    for (int i = 0; i < nb * max_threads; i++) fprintf(f, "---|");
    fputc('\n', f);
    int n;
    const ent_gemm_shape *s = ent_gemm_bench_shapes(&n);
    for (int k = 0; k < n; k++) {
        fprintf(f, "| %s | %s%s | %lldx%lldx%lld |", s[k].name, s[k].ta ? "T" : "N",
                s[k].tb ? "T" : "N", (long long)s[k].M, (long long)s[k].N, (long long)s[k].K);
        for (int i = 0; i < nb; i++)
            for (int t = 1; t <= max_threads; t++) {
                ent_gemm_rate r;
                ent_status st = ent_gemm_bench_shape(&s[k], b[i], t, seconds, &r);
                if (st != ENT_OK) return st;
                if (peak512[t] > 0)
                    fprintf(f, " %.0f (%.0f%%) |", r.best, 100.0 * r.best / peak512[t]);
                else
                    fprintf(f, " %.0f |", r.best);
            }
        fputc('\n', f);
        fflush(f);
    }
    return ENT_OK;
}

#ifdef ENT_GEMM_BENCH_MAIN
#include "cli/args.h"

int main(int argc, char **argv) {
    char backends[128] = "avx512,blas", label[128] = "";
    int threads = 2;
    double seconds = 0.3;
    ent_arg spec[] = {
        {"backends", ARG_STRING, backends, sizeof backends, NULL, "comma-separated: avx512,blas,naive", NULL, 0},
        {"threads", ARG_INT, &threads, 0, NULL, "measure 1..T threads", NULL, 0},
        {"seconds", ARG_DOUBLE, &seconds, 0, NULL, "time per measurement", NULL, 0},
        {"label", ARG_STRING, label, sizeof label, NULL, "heading of the report", NULL, 0},
    };
    const int n_spec = (int)(sizeof spec / sizeof *spec);
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        ent_args_help(spec, n_spec);
        return 0;
    }
    if (ent_args_parse(spec, n_spec, argc - 1, argv + 1, "gemm_bench", NULL, 0, NULL)) return 2;
    ent_status st = ent_gemm_bench_report(stdout, backends, threads, seconds, label[0] ? label : NULL);
    if (st != ENT_OK) {
        fprintf(stderr, "gemm_bench: %s\n", ent_last_error());
        return st == ENT_EUSAGE ? 2 : 1;
    }
    return 0;
}
#endif
