/* bench_time.c — timed windows: a warm-up window thrown away, then
 * repeated windows whose median, min and max are reported. Windows rather
 * than single iterations because one step of a small network takes well
 * under the clock's useful resolution on a busy machine, and an Entropy-SGD
 * step takes far more; a window of S seconds suits both. */
#include <stdlib.h>

#include "cli/bench.h"

const char *ent_bench_kind_name(ent_bench_kind k) {
    static const char *const names[ENT_BENCH_N_KINDS] = {"train", "infer", "esgd"};
    return k >= 0 && k < ENT_BENCH_N_KINDS ? names[k] : "?";
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Samples/s of one window: at least one iteration and `seconds` long. */
static ent_status window(ent_bench_iter fn, void *ctx, double spi, double seconds, double *rate) {
    double t0 = ent_time_seconds(), dt;
    int64_t n = 0;
    do {
        ent_status s = fn(ctx);
        if (s != ENT_OK) return s;
        n++;
        dt = ent_time_seconds() - t0;
    } while (dt < seconds);
    *rate = (double)n * spi / dt;
    return ENT_OK;
}

ent_status ent_bench_time(ent_bench_iter fn, void *ctx, double samples_per_iter,
                          const ent_bench_plan *p, ent_bench_rate *out) {
    double rates[ENT_BENCH_MAX_REPEATS], warm;
    int r = p->repeats;
    *out = (ent_bench_rate){0};
    if (r < 1 || r > ENT_BENCH_MAX_REPEATS)
        return ent_fail(ENT_EUSAGE, "bench: repeats %d outside 1..%d", r, ENT_BENCH_MAX_REPEATS);
    ent_status s = window(fn, ctx, samples_per_iter, p->seconds, &warm);
    for (int i = 0; i < r && s == ENT_OK; i++)
        s = window(fn, ctx, samples_per_iter, p->seconds, &rates[i]);
    if (s != ENT_OK) return s;
    qsort(rates, (size_t)r, sizeof rates[0], cmp_double);
    out->median = r % 2 ? rates[r / 2] : 0.5 * (rates[r / 2 - 1] + rates[r / 2]);
    out->min = rates[0];
    out->max = rates[r - 1];
    out->windows = r;
    return ENT_OK;
}
