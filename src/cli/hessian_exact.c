/* hessian_exact.c — `entropic hessian --method exact`'s run of
 * ent_hessian_spectrum: the memory it may take (--max-memory, default
 * MemAvailable), the columns file in the run folder (--resume), the live
 * progress line on stderr, and the rounding-error bound of the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/analysis_cli.h"

double ent_cli_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024.0;
}

int ent_cli_parse_bytes(const char *text, double *bytes) {
    char *end = NULL;
    const double v = strtod(text, &end);
    double unit = 1;
    if (end && (*end == 'k' || *end == 'K')) unit = 1e3, end++;
    else if (end && (*end == 'm' || *end == 'M')) unit = 1e6, end++;
    else if (end && (*end == 'g' || *end == 'G')) unit = 1e9, end++;
    else if (end && (*end == 't' || *end == 'T')) unit = 1e12, end++;
    if (end && (*end == 'B' || *end == 'b')) end++;
    if (!end || end == text || *end || !(v > 0)) return 0;
    *bytes = v * unit;
    return 1;
}

/* FNV-1a, for the key a columns file carries. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t ent_cli_exact_key(const float *theta, int64_t P, const ent_dataset *d, const char *params, int bn_train) {
    const int64_t per = d->c * d->h * d->w;
    uint64_t h = fnv(14695981039346656037ull, theta, sizeof(float) * (size_t)P);
    h = fnv(h, d->x, sizeof(float) * (size_t)(d->n * per));
    h = fnv(h, d->y, sizeof(int32_t) * (size_t)(d->n * ent_dataset_labels(d)));
    h = fnv(h, params, strlen(params));
    return fnv(h, &bn_train, sizeof bn_train);
}

static void clock_text(char *buf, size_t cap, double s) {
    if (s < 60) snprintf(buf, cap, "%.0f s", s);
    else if (s < 3600) snprintf(buf, cap, "%.0f min %02.0f s", floor(s / 60), fmod(s, 60));
    else snprintf(buf, cap, "%.0f h %02.0f min", floor(s / 3600), floor(fmod(s, 3600) / 60));
}

/* The progress line: on a terminal redrawn in place every second, else a
 * line every 30 s. The ETA runs at the rate of the last half minute or so:
 * columns cost what their layer costs (the first layers' the most), so
 * the rate since the start would overstate what is left. */
typedef struct {
    int tty;
    double printed, t_mark;
    int64_t c_mark, d0;
    double rate;
} progress_state;

static int progress(void *ctx, int64_t done, int64_t n, double sec) {
    progress_state *p = ctx;
    if (sec - p->t_mark >= 5.0 || p->rate == 0) {
        if (sec > p->t_mark && done > p->c_mark) p->rate = (double)(done - p->c_mark) / (sec - p->t_mark);
        if (sec - p->t_mark >= 30.0 || p->rate == 0) p->t_mark = sec, p->c_mark = done;
    }
    if (sec - p->printed < (p->tty ? 1.0 : 30.0) && done < n) return 0;
    p->printed = sec;
    char el[32], eta[32];
    clock_text(el, sizeof el, sec);
    clock_text(eta, sizeof eta, p->rate > 0 ? (double)(n - done) / p->rate : 0);
    fprintf(stderr, "%shessian: products, columns %lld / %lld (%.1f%%), %s elapsed, ETA %s%s", p->tty ? "\r" : "",
            (long long)done, (long long)n, 100.0 * (double)done / (double)n, el, eta, p->tty ? "   " : "\n");
    if (p->tty && done == n) fputc('\n', stderr);
    return 0;
}

ent_status ent_cli_exact(const ent_hvp *h, const ent_nethess *nh, const ent_cli_exact_args *a, double *eig,
                         ent_spectrum_info *info, double *limit) {
    char path[600];
    snprintf(path, sizeof path, "%s/hessian_columns.bin", a->out_dir);
    progress_state ps = {.tty = isatty(2)};
    const int threads = ent_get_threads();
    ent_spectrum_opts so = {
        .max_bytes = a->max_bytes > 0 ? a->max_bytes : ent_cli_mem_available(),
        .extra_bytes = ent_nethess_bytes(nh, threads),
        .columns_path = path,
        .resume = a->resume,
        .key = a->key,
        /* one thread below n = 8000 (bench/eig.c on this shared 2-core machine: two were
         * slower there), all above, where the reduction's BLAS-3 calls are big */
        .eig_threads = h->n >= 8000 ? threads : 1,
        .progress = progress,
        .ctx = &ps,
    };
    *limit = so.max_bytes;
    const double need = ent_spectrum_bytes(h->n) + so.extra_bytes;
    if (h->n >= 2000 && need <= so.max_bytes) { /* else ent_hessian_spectrum refuses, in one line */
        char eta[32];
        clock_text(eta, sizeof eta, 7e-11 * pow((double)h->n, 3) / (so.eig_threads > 1 ? 1.6 : 1.0));
        fprintf(stderr, "hessian: exact, n = %lld: %.2f GB of memory (limit %.2f GB); the eigensolver will take about %s "
                "after the products (n^3 x 7e-11 s, measured on one Zen 3 thread)\n",
                (long long)h->n, need / 1e9, so.max_bytes / 1e9, eta);
    }
    ent_status s = ent_hessian_spectrum(h, &so, eig, info);
    if (s == ENT_OK) remove(path); /* whole and solved: 8 n^2 / 2 bytes not worth keeping */
    return s;
}

void ent_cli_exact_bounds(const double *eig, int64_t n, const ent_spectrum_info *info, double *eig_bound,
                          double *hvp_bound) {
    const double norm = fmax(fabs(eig[0]), fabs(eig[n - 1]));
    *eig_bound = (double)n * 2.220446049250313e-16 * norm;
    *hvp_bound = (double)n * info->asym_abs;
}
