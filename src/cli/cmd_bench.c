/* cmd_bench.c — `entropic bench`: training, inference and Entropy-SGD
 * throughput of every preset at batch 128 with 1 and 2 threads, side by
 * side with PyTorch running the same networks (bench/torch_bench.py).
 * The ratio is entropic / PyTorch in samples/s, both measured in this one
 * run: on a shared machine only such ratios mean anything. Then the
 * "GEMM / peak" section (bench_gemm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "core/blas_core.h"
#include "core/gemm_internal.h"

#define MAX_MODELS 16
#define MAX_THREADS ENT_BENCH_MAX_THREADS
#define MAX_ROWS (MAX_MODELS * MAX_THREADS * ENT_BENCH_N_KINDS)
#define KIND_GEMM (ENT_BENCH_N_KINDS + 1) /* --kind gemm */

typedef struct {
    const char *model;
    int threads;
    ent_bench_kind kind;
    ent_bench_rate ours;
    ent_bench_peer peer; /* rate.windows 0: no PyTorch number */
} bench_row;

typedef struct {
    char model[32];
    int threads, json, no_torch, no_gemm, kind; /* kind: 0 all, ent_bench_kind + 1, or KIND_GEMM */
    ent_bench_plan plan;
    ent_torch_peer torch;
    const char *models[MAX_MODELS];
    int n_models, n_threads, thread_list[MAX_THREADS];
    bench_row rows[MAX_ROWS];
    int n_rows;
    char cpu[128], date[32];
    double load[2]; /* 1-minute load average at the start and the end (the machine is shared) */
    int have_gemm;
    ent_bench_gemm gemm;
    /* The fp32 FMA peak at each thread count, GFLOP/s (0: no such vectors):
     * the GEMM section's, or measured before the networks without it. */
    double peak512[MAX_THREADS], peak256[MAX_THREADS];
} bench_run;

static double load_average(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

/* The presets to measure: --model, or every preset made for 1x28x28 data
 * (the CIFAR-scale ones take minutes a measurement: named with --model). */
static int pick_models(bench_run *R) {
    int n;
    const char *const *all = ent_model_presets(&n);
    for (int i = 0; i < n && R->n_models < MAX_MODELS; i++) {
        int64_t c, h, w;
        ent_model_preset_input(all[i], &c, &h, &w);
        const int pick = R->model[0] ? strcmp(R->model, all[i]) == 0 : c == 1;
        if (pick) R->models[R->n_models++] = all[i];
    }
    if (R->n_models > 0) return 0;
    fprintf(stderr, "entropic bench: unknown --model '%s' (known:", R->model);
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", all[i]);
    fprintf(stderr, ")\n");
    return 2;
}

/* Every model at `threads`: ours, then the peer's for the same model right
 * after, so that both sides of a row are measured within a minute of each
 * other (this VM's speed drifts by up to 40% over minutes: RESULTS.md). */
static ent_status bench_threads(bench_run *R, int threads) {
    ent_set_threads(threads);
    for (int m = 0; m < R->n_models; m++) {
        ent_bench_rate r[ENT_BENCH_N_KINDS];
        ent_bench_peer peer[ENT_BENCH_N_KINDS] = {0};
        if (isatty(2)) fprintf(stderr, "  entropic, %d thread%s, %s ...\n", threads, threads > 1 ? "s" : "", R->models[m]);
        ent_status s = ent_bench_ours(R->models[m], &R->plan, r);
        if (s != ENT_OK) return s;
        if (R->torch.available) ent_torch_run(&R->torch, threads, &R->models[m], 1, &R->plan, peer);
        for (int k = 0; k < ENT_BENCH_N_KINDS; k++) {
            if (!(R->plan.kinds & (1u << k))) continue;
            bench_row *row = &R->rows[R->n_rows++];
            memset(row, 0, sizeof *row);
            row->model = R->models[m], row->threads = threads, row->kind = (ent_bench_kind)k;
            row->ours = r[k], row->peer = peer[k];
        }
    }
    return ENT_OK;
}

/* "12345 [12000–12500]" padded to `width` columns (the dash is one column, three bytes). */
static void print_rate(const ent_bench_rate *r, int width) {
    char b[96];
    if (r->windows > 0)
        snprintf(b, sizeof b, "%.0f [%.0f\u2013%.0f]", r->median, r->min, r->max);
    else
        snprintf(b, sizeof b, "-");
    int cols = (int)strlen(b) - (r->windows > 0 ? 2 : 0);
    printf("%s%*s", b, width > cols ? width - cols : 0, "");
}

static void print_table(const bench_run *R) {
    const ent_bench_plan *p = &R->plan;
    printf("batch %lld, Entropy-SGD L = %d (esgd: one outer step = L x batch samples); "
           "samples/s, median [min\u2013max] of %d windows of %g s after a warm-up window\n",
           (long long)p->batch, p->L, p->repeats, p->seconds);
    if (!R->torch.available)
        printf("PyTorch: not available (%s)\n\n", R->torch.why);
    else
        printf("ratio = entropic / PyTorch medians (above 1: entropic is faster); best = the same for the\n"
               "fastest windows, which neighbours on a shared machine disturb least\n\n");
    char peer[48];
    snprintf(peer, sizeof peer, "PyTorch %s", R->torch.available ? R->torch.version : "");
    int mw = 5;
    for (int i = 0; i < R->n_models; i++) mw = (int)strlen(R->models[i]) > mw ? (int)strlen(R->models[i]) : mw;
    int peer_cols = R->torch.available;
    printf("%-*s %-6s %7s  %s", mw, "model", "kind", "threads", "entropic");
    if (peer_cols) printf("%22s %-30s %7s %7s  %s", "", peer, "ratio", "best", "PyTorch settings (fastest)");
    printf("\n");
    for (int i = 0; i < R->n_rows; i++) {
        const bench_row *r = &R->rows[i];
        printf("%-*s %-6s %7d  ", mw, r->model, ent_bench_kind_name(r->kind), r->threads);
        print_rate(&r->ours, peer_cols ? 31 : 0);
        if (peer_cols) print_rate(&r->peer.rate, 31);
        if (peer_cols && r->peer.rate.windows > 0)
            printf("%6.2fx %6.2fx  %s", r->ours.median / r->peer.rate.median, r->ours.max / r->peer.rate.max,
                   r->peer.config);
        else if (peer_cols)
            printf("%7s %7s", "-", "-");
        printf("\n");
    }
}

/* The machine and what runs on it: CPU, load, FMA peak, GEMM backend and
 * the OpenBLAS core of each side (the peer's as its environment leaves it,
 * and the type also tried for it). */
static void print_header(const bench_run *R) {
    char core[256];
    printf("entropic bench  %s  CPU: %s (%d cores online), load average %.1f at the start, %.1f at the end\n",
           R->date, R->cpu, (int)sysconf(_SC_NPROCESSORS_ONLN), R->load[0], R->load[1]);
    printf("fp32 FMA peak, measured:");
    for (int t = 0; t < R->n_threads; t++) {
        const int n = R->thread_list[t];
        printf("%s %d thread%s %.0f GFLOP/s 256-bit, ", t ? ";" : "", n, n > 1 ? "s" : "", R->peak256[t]);
        if (R->peak512[t] > 0)
            printf("%.0f 512-bit", R->peak512[t]);
        else
            printf("no 512-bit vectors");
    }
    ent_cli_blas_core(core, sizeof core);
    printf("\nentropic: ent_gemm backend %s; OpenBLAS core %s\n", ent_gemm_backend_name(ent_gemm_active_backend()),
           core);
    if (R->torch.available) {
        printf("PyTorch %s: OpenBLAS core %s with the environment as is (BLAS_INFO %s)", R->torch.version,
               R->torch.openblas_core, R->torch.blas_info);
        if (R->torch.try_core[0]) printf("; also tried OPENBLAS_CORETYPE=%s", R->torch.try_core);
        printf("\n");
    }
}

/* {"median", "min", "max", "windows"[, "settings"]} */
static void json_rate(ent_json *j, const char *key, const ent_bench_rate *r, const char *settings) {
    ent_json_begin_object(j, key);
    ent_json_number(j, "median", r->median);
    ent_json_number(j, "min", r->min);
    ent_json_number(j, "max", r->max);
    ent_json_int(j, "windows", r->windows);
    if (settings) ent_json_string(j, "settings", settings);
    ent_json_end_object(j);
}

static void json_header(ent_json *j, const bench_run *R) {
    ent_json_string(j, "date", R->date);
    ent_json_string(j, "cpu", R->cpu);
    ent_json_int(j, "cores", sysconf(_SC_NPROCESSORS_ONLN));
    ent_json_number(j, "load_start", R->load[0]);
    ent_json_number(j, "load_end", R->load[1]);
    ent_json_int(j, "batch", R->plan.batch);
    ent_json_int(j, "L", R->plan.L);
    ent_json_int(j, "repeats", R->plan.repeats);
    ent_json_number(j, "seconds", R->plan.seconds);
    ent_json_string(j, "unit", "samples/s");
    ent_json_begin_array(j, "peak_fma");
    for (int t = 0; t < R->n_threads; t++) {
        ent_json_begin_object(j, NULL);
        ent_json_int(j, "threads", R->thread_list[t]);
        ent_json_number(j, "peak_fma_512", R->peak512[t]);
        ent_json_number(j, "peak_fma_256", R->peak256[t]);
        ent_json_end_object(j);
    }
    ent_json_end_array(j);
    ent_json_string(j, "gemm_backend", ent_gemm_backend_name(ent_gemm_active_backend()));
    const char *detected, *source = ent_cli_blas_source(&detected);
    ent_json_begin_object(j, "openblas");
    ent_json_string(j, "core", ent_blas_corename());
    ent_json_string(j, "coretype_source", source);
    if (detected) ent_json_string(j, "detected", detected);
    ent_json_string(j, "config", ent_blas_config());
    ent_json_end_object(j);
    ent_json_begin_object(j, "torch");
    ent_json_bool(j, "available", R->torch.available);
    ent_json_string(j, R->torch.available ? "version" : "why", R->torch.available ? R->torch.version : R->torch.why);
    if (R->torch.available) {
        ent_json_string(j, "openblas_core", R->torch.openblas_core);
        ent_json_string(j, "blas_info", R->torch.blas_info);
        if (R->torch.try_core[0]) ent_json_string(j, "coretype_tried", R->torch.try_core);
    }
    ent_json_end_object(j);
}

static void print_json(const bench_run *R) {
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    json_header(&j, R);
    ent_json_begin_array(&j, "results");
    for (int i = 0; i < R->n_rows; i++) {
        const bench_row *r = &R->rows[i];
        ent_json_begin_object(&j, NULL);
        ent_json_string(&j, "model", r->model);
        ent_json_string(&j, "kind", ent_bench_kind_name(r->kind));
        ent_json_int(&j, "threads", r->threads);
        json_rate(&j, "ours", &r->ours, NULL);
        if (r->peer.rate.windows > 0) {
            json_rate(&j, "torch", &r->peer.rate, r->peer.config);
            ent_json_number(&j, "ratio", r->ours.median / r->peer.rate.median);
            ent_json_number(&j, "ratio_best", r->ours.max / r->peer.rate.max);
        }
        ent_json_end_object(&j);
    }
    ent_json_end_array(&j);
    if (R->have_gemm) ent_bench_gemm_json(&j, &R->gemm);
    ent_json_end_object(&j);
    printf("%.*s", (int)j.len, j.buf);
    ent_json_free(&j);
}

static int check_options(const bench_run *R) {
    const ent_bench_plan *p = &R->plan;
    const char *bad = p->repeats < 1 || p->repeats > ENT_BENCH_MAX_REPEATS ? "--repeats must be in 1..100"
                      : !(p->seconds > 0 && p->seconds <= 60)               ? "--seconds must be in (0, 60]"
                      : p->batch < 1 || p->batch > 65536                    ? "--batch must be in 1..65536"
                      : p->L < 1 || p->L > 1000                             ? "--L must be in 1..1000"
                      : R->threads < 0 || R->threads > 1024                 ? "--threads must be in 0..1024"
                                                                            : NULL;
    if (bad) fprintf(stderr, "entropic bench: %s\n", bad);
    return bad ? 2 : 0;
}

static int parse(bench_run *R, int argc, char **argv) {
    int help = 0;
    ent_arg spec[] = {
        {.name = "model", .type = ARG_STRING, .dst = R->model, .cap = sizeof R->model, .help = "one preset (default: every preset made for 1x28x28 data; allcnn, resnet18 and wrn-16-4 only by name)"},
        {.name = "threads", .type = ARG_INT, .dst = &R->threads, .help = "one thread count (default: 1, then 2)"},
        {.name = "repeats", .type = ARG_INT, .dst = &R->plan.repeats, .help = "timed windows per measurement"},
        {.name = "seconds", .type = ARG_DOUBLE, .dst = &R->plan.seconds, .help = "length of one window"},
        {.name = "batch", .type = ARG_I64, .dst = &R->plan.batch, .help = "mini-batch size"},
        {.name = "L", .type = ARG_INT, .dst = &R->plan.L, .help = "Entropy-SGD inner steps per outer step"},
        {.name = "kind", .type = ARG_CHOICE, .dst = &R->kind, .choices = "all|train|infer|esgd|gemm", .help = "what to measure"},
        {.name = "no-gemm", .type = ARG_BOOL, .dst = &R->no_gemm, .help = "leave out the GEMM / peak section"},
        {.name = "json", .type = ARG_BOOL, .dst = &R->json, .help = "print JSON"},
        {.name = "no-torch", .type = ARG_BOOL, .dst = &R->no_torch, .help = "do not run the PyTorch peer"},
        {.name = "python", .type = ARG_STRING, .dst = R->torch.python, .cap = sizeof R->torch.python, .help = "interpreter with torch (default /usr/bin/python3)"},
        {.name = "torch-script", .type = ARG_STRING, .dst = R->torch.script, .cap = sizeof R->torch.script, .help = "the peer (default bench/torch_bench.py)"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    int n = (int)(sizeof spec / sizeof spec[0]);
    if (ent_args_parse(spec, n, argc, argv, "bench", NULL, 0, NULL) != 0) return 2;
    R->plan.kinds = R->kind == 0 ? (1u << ENT_BENCH_N_KINDS) - 1 : R->kind == KIND_GEMM ? 0 : 1u << (R->kind - 1);
    if (help) {
        printf("usage: entropic bench [--model NAME] [--threads T] [--repeats R] [--seconds S] [--kind K] [--json] [--no-torch]\n\n"
               "Samples/s of training (SGD step), inference and one Entropy-SGD outer step for each\n"
               "preset, with 1 and 2 threads, next to PyTorch running the same networks\n"
               "(bench/torch_bench.py), then GEMM GFLOP/s against the FMA peak; see bench/RESULTS.md.\n"
               "The header names the CPU, its measured FMA peak and the OpenBLAS core each side runs\n"
               "(`entropic info` for entropic's). PyTorch runs in fresh processes under each setting\n"
               "tried (OMP_WAIT_POLICY passive and active; OpenBLAS variables as they are, unset, and\n"
               "OPENBLAS_CORETYPE set to the CPU's best type where its OpenBLAS fell back to a generic\n"
               "core); each row keeps the fastest and names it.\n\n");
        ent_args_help(spec, n);
        return -1;
    }
    return check_options(R);
}

int ent_cmd_bench(int argc, char **argv) {
    bench_run R;
    memset(&R, 0, sizeof R);
    R.plan = (ent_bench_plan){.batch = 128, .L = 20, .seconds = 0.5, .repeats = 5};
    int rc = parse(&R, argc, argv);
    if (rc != 0) return rc < 0 ? 0 : rc;
    if ((rc = pick_models(&R)) != 0) return rc;
    R.n_threads = R.threads ? 1 : 2;
    R.thread_list[0] = R.threads ? R.threads : 1, R.thread_list[1] = 2;
    ent_cli_cpu_model(R.cpu, sizeof R.cpu);
    R.load[0] = load_average();
    time_t now = time(NULL);
    strftime(R.date, sizeof R.date, "%Y-%m-%d %H:%M", localtime(&now));
    if (R.no_torch || !R.plan.kinds)
        snprintf(R.torch.why, sizeof R.torch.why, "%s", R.no_torch ? "--no-torch" : "--kind gemm");
    else
        ent_torch_probe(&R.torch);
    ent_status s = ENT_OK;
    const int gemm = R.kind == KIND_GEMM || (R.kind == 0 && !R.no_gemm);
    if (!gemm) { /* the header's yardstick; the GEMM section measures its own next to its products */
        if (isatty(2)) fprintf(stderr, "  FMA peak ...\n");
        for (int t = 0; t < R.n_threads; t++) {
            R.peak512[t] = ent_peak_fma_gflops(512, R.thread_list[t], R.plan.seconds);
            R.peak256[t] = ent_peak_fma_gflops(256, R.thread_list[t], R.plan.seconds);
        }
    }
    for (int t = 0; t < R.n_threads && s == ENT_OK && R.plan.kinds; t++) s = bench_threads(&R, R.thread_list[t]);
    if (s == ENT_OK && gemm) {
        if (isatty(2)) fprintf(stderr, "  GEMM / peak ...\n");
        s = ent_bench_gemm_run(&R.gemm, R.thread_list, R.n_threads, R.plan.seconds);
        R.have_gemm = s == ENT_OK;
        for (int t = 0; t < R.gemm.n_threads; t++) R.peak512[t] = R.gemm.peak512[t], R.peak256[t] = R.gemm.peak256[t];
    }
    if (s != ENT_OK) return ent_cli_status(s, "bench");
    R.load[1] = load_average();
    if (R.json) {
        print_json(&R);
    } else {
        print_header(&R);
        if (R.n_rows) print_table(&R);
        if (R.have_gemm) ent_bench_gemm_print(&R.gemm);
    }
    return 0;
}
