/* bench_gemm.c — the "GEMM / peak" section of `entropic bench`: the
 * measured fp32 FMA peak and the GFLOP/s of ent_gemm (the backend it picks
 * now) on the products our networks issue, through bench/gemm_bench.h. The
 * full per-backend report is `make bench-gemm && BUILD/gemm_bench`. */
#include <math.h>
#include <stdio.h>

#include "cli/bench.h"
#include "core/gemm_internal.h"

ent_status ent_bench_gemm_run(ent_bench_gemm *g, const int *threads, int n_threads, double seconds) {
    const ent_gemm_shape *s = ent_gemm_bench_shapes(&g->n_shapes);
    if (g->n_shapes > ENT_BENCH_MAX_SHAPES) g->n_shapes = ENT_BENCH_MAX_SHAPES;
    g->n_threads = n_threads < ENT_BENCH_MAX_THREADS ? n_threads : ENT_BENCH_MAX_THREADS;
    g->backend = ent_gemm_backend_name(ent_gemm_active_backend());
    for (int t = 0; t < g->n_threads; t++) {
        g->threads[t] = threads[t];
        g->peak512[t] = ent_peak_fma_gflops(512, threads[t], seconds);
        g->peak256[t] = ent_peak_fma_gflops(256, threads[t], seconds);
        for (int k = 0; k < g->n_shapes; k++) {
            ent_status st = ent_gemm_bench_shape(&s[k], ENT_GEMM_AUTO, threads[t], seconds, &g->rate[t][k]);
            if (st != ENT_OK) return st;
        }
    }
    return ENT_OK;
}

/* The peak of the widest vectors this CPU has (512-bit, else 256-bit). */
static double widest_peak(const ent_bench_gemm *g, int t) {
    return g->peak512[t] > 0 ? g->peak512[t] : g->peak256[t];
}

/* Fraction of the widest peak in percent, or -1 when there is no peak or
 * the GEMM beat it: on a shared machine the peak's windows can all have
 * been slowed by neighbours, and a fraction above 1 would mean nothing. */
static double pct(const ent_bench_gemm *g, int t, int k) {
    double f = widest_peak(g, t) > 0 ? g->rate[t][k].best / widest_peak(g, t) : -1.0;
    return f >= 0 && f <= 1.0 ? 100.0 * f : -1.0;
}

void ent_bench_gemm_print(const ent_bench_gemm *g) {
    int n;
    const ent_gemm_shape *s = ent_gemm_bench_shapes(&n);
    /* The peaks themselves head the whole report (cmd_bench.c's header). */
    printf("\nGEMM / peak: ent_gemm backend %s; GFLOP/s, best window (median), %% of the %s FMA peak\n"
           "(the header's peak, measured just before these products)\n",
           g->backend, g->n_threads > 0 && g->peak512[0] > 0 ? "512-bit" : "256-bit");
    printf("(n/a: no peak, or one below the GEMM itself: neighbours slowed the peak's windows)\n");
    printf("\n%-22s %-3s %-15s", "shape", "op", "MxNxK");
    for (int t = 0; t < g->n_threads; t++) {
        char h[32];
        snprintf(h, sizeof h, "%d thread%s", g->threads[t], g->threads[t] > 1 ? "s" : "");
        printf("  %-20s", h);
    }
    printf("\n");
    for (int k = 0; k < g->n_shapes; k++) {
        char dims[48];
        snprintf(dims, sizeof dims, "%lldx%lldx%lld", (long long)s[k].M, (long long)s[k].N, (long long)s[k].K);
        printf("%-22s %c%c  %-15s", s[k].name, s[k].ta ? 'T' : 'N', s[k].tb ? 'T' : 'N', dims);
        for (int t = 0; t < g->n_threads; t++) {
            printf("  %6.0f (%5.0f) ", g->rate[t][k].best, g->rate[t][k].median);
            if (pct(g, t, k) >= 0)
                printf("%4.0f%%", pct(g, t, k));
            else
                printf("%5s", "n/a");
        }
        printf("\n");
    }
}

void ent_bench_gemm_json(ent_json *j, const ent_bench_gemm *g) {
    int n;
    const ent_gemm_shape *s = ent_gemm_bench_shapes(&n);
    ent_json_begin_object(j, "gemm");
    ent_json_string(j, "backend", g->backend);
    ent_json_string(j, "unit", "GFLOP/s");
    ent_json_begin_array(j, "threads");
    for (int t = 0; t < g->n_threads; t++) {
        ent_json_begin_object(j, NULL);
        ent_json_int(j, "threads", g->threads[t]);
        ent_json_number(j, "peak_fma_512", g->peak512[t]);
        ent_json_number(j, "peak_fma_256", g->peak256[t]);
        ent_json_begin_array(j, "shapes");
        for (int k = 0; k < g->n_shapes; k++) {
            ent_json_begin_object(j, NULL);
            ent_json_string(j, "name", s[k].name);
            ent_json_int(j, "M", s[k].M), ent_json_int(j, "N", s[k].N), ent_json_int(j, "K", s[k].K);
            ent_json_number(j, "best", g->rate[t][k].best);
            ent_json_number(j, "median", g->rate[t][k].median);
            ent_json_number(j, "fraction_of_peak", pct(g, t, k) >= 0 ? pct(g, t, k) / 100.0 : NAN); /* null: n/a */
            ent_json_end_object(j);
        }
        ent_json_end_array(j);
        ent_json_end_object(j);
    }
    ent_json_end_array(j);
    ent_json_end_object(j);
}
