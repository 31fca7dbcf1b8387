/* hessian_proxy.c — `entropic hessian --method fisher | hutchinson`: the
 * cheap curvature measures for networks beyond the exact spectrum. fisher:
 * the variance over mini-batches of each parameter's mini-batch gradient
 * (fisher.csv, its histogram); hutchinson: the trace of H (or of the
 * --params block) from Rademacher probes with its standard error
 * (probes.csv, the histogram of the probes' z^T H z). Both write
 * summary.json and hessian.png / .svg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/analysis_cli.h"
#include "io/plot.h"

static ent_status write_values(const char *dir, const char *name, const char *head, const double *a,
                               const double *b, int64_t n) {
    char path[600], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    fprintf(f, "%s\n", head);
    for (int64_t i = 0; i < n; i++) {
        if (b) fprintf(f, "%lld,%.17g,%.17g\n", (long long)i, a[i], b[i]);
        else fprintf(f, "%lld,%.17g\n", (long long)i, a[i]);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ent_status s = ent_cli_write_text(path, text, len);
    free(text);
    return s;
}

static double frac_below(const double *x, int64_t n, double tau) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += fabs(x[i]) < tau;
    return (double)k / (double)n;
}

static void span(const double *x, int64_t n, double *lo, double *hi, double *sum) {
    *lo = INFINITY, *hi = -INFINITY, *sum = 0;
    for (int64_t i = 0; i < n; i++) *lo = fmin(*lo, x[i]), *hi = fmax(*hi, x[i]), *sum += x[i];
}

static void common_json(ent_json *j, const ent_cli_proxy_args *a, const char *method, int64_t dim) {
    ent_json_begin_object(j, NULL);
    ent_json_string(j, "checkpoint", a->ckpt);
    ent_json_string(j, "model", a->model);
    ent_json_string(j, "dataset", a->dataset);
    ent_json_string(j, "method", method);
    ent_json_int(j, "samples", a->samples);
    ent_json_string(j, "precision", a->single ? "float" : "double");
    ent_json_int(j, "parameters", a->n_total);
    ent_json_int(j, "dimension", dim);
    ent_json_string(j, "params", a->params[0] ? a->params : "all");
    ent_json_number(j, "loss", a->loss);
    ent_json_number(j, "error", a->error);
    ent_json_number(j, "grad_norm", a->gnorm);
}

static ent_status save_json(ent_json *j, const char *dir) {
    char path[600];
    ent_json_end_object(j);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    ent_status s = j->failed ? ent_fail(ENT_ENOMEM, "summary: out of memory") : ent_json_save(j, path);
    ent_json_free(j);
    return s;
}

static ent_status picture(const ent_cli_proxy_args *a, const char *what, const char *xlabel, const double *x,
                          int64_t n, const char *const *note, int n_note) {
    char path[600], title[200];
    snprintf(path, sizeof path, "%s/hessian.%s", a->out, a->svg ? "svg" : "png");
    snprintf(title, sizeof title, "%s: %s, %lld training samples", a->model, what, (long long)a->samples);
    ent_spectrum_picture p = {.title = title, .x = x, .n = n, .count_scale = 1, .threshold = a->threshold,
                              .note = note, .n_note = n_note, .xlabel = xlabel};
    return ent_spectrum_plot(&p, path);
}

static ent_status fisher(const ent_cli_proxy_args *a, const ent_ckpt *c, const ent_dataset *d,
                         const ent_nethess_opts *no) {
    const int64_t P = a->n_total;
    double *var = malloc(sizeof(double) * (size_t)P), *mean = malloc(sizeof(double) * (size_t)P);
    int64_t nb = 0;
    const double t0 = ent_time_seconds();
    ent_status s = var && mean ? ent_fisher_diag(c->m, c->theta, c->buffers, d->x, d->y, d->n, a->minibatch, no, var,
                                                 mean, &nb)
                               : ent_fail(ENT_ENOMEM, "fisher: out of memory");
    const double secs = ent_time_seconds() - t0;
    if (s == ENT_OK) s = write_values(a->out, "fisher.csv", "index,mean_gradient,variance", mean, var, P);
    double lo = 0, hi = 0, sum = 0;
    if (s == ENT_OK) {
        span(var, P, &lo, &hi, &sum);
        ent_json j;
        ent_json_init(&j);
        common_json(&j, a, "fisher", P);
        ent_json_string(&j, "estimate", "per parameter E_b[g_b^2] - (E_b g_b)^2 over consecutive mini-batches b");
        ent_json_int(&j, "minibatch", a->minibatch);
        ent_json_int(&j, "batches", nb);
        ent_json_number(&j, "sum", sum);
        ent_json_number(&j, "max", hi);
        ent_json_number(&j, "min", lo);
        ent_json_number(&j, "threshold", a->threshold);
        ent_json_number(&j, "fraction_below_threshold", frac_below(var, P, a->threshold));
        ent_json_number(&j, "seconds", secs);
        s = save_json(&j, a->out);
    }
    char l[4][96];
    snprintf(l[0], sizeof l[0], "%lld parameters, %lld batches of %lld", (long long)P, (long long)nb,
             (long long)a->minibatch);
    snprintf(l[1], sizeof l[1], "variance < %.0e: %.2f%%", a->threshold, 100 * frac_below(var, P, a->threshold));
    snprintf(l[2], sizeof l[2], "largest %.4g, sum %.4g", hi, sum);
    snprintf(l[3], sizeof l[3], "loss %.4f  error %.2f%%, %.1f s", a->loss, 100 * a->error, secs);
    const char *note[] = {l[0], l[1], l[2], l[3]};
    if (s == ENT_OK) s = picture(a, "diagonal Fisher (mini-batch gradient variance)", "variance of the gradient", var, P, note, 4);
    if (s == ENT_OK)
        printf("fisher: %lld parameters, %lld batches of %lld: sum %.6g, max %.6g (%.1f s) -> %s/\n", (long long)P,
               (long long)nb, (long long)a->minibatch, sum, hi, secs, a->out);
    free(var), free(mean);
    return s;
}

static ent_status hutchinson(const ent_cli_proxy_args *a, const ent_hvp *h) {
    double *val = malloc(sizeof(double) * (size_t)a->probes), tr = 0, se = 0;
    const double t0 = ent_time_seconds();
    ent_status s = val ? ent_hutchinson(h, a->probes, a->seed, val, &tr, &se) : ent_fail(ENT_ENOMEM, "out of memory");
    const double secs = ent_time_seconds() - t0;
    if (s == ENT_OK) s = write_values(a->out, "probes.csv", "probe,zHz", val, NULL, a->probes);
    if (s == ENT_OK) {
        ent_json j;
        ent_json_init(&j);
        common_json(&j, a, "hutchinson", h->n);
        ent_json_int(&j, "probes", a->probes);
        ent_json_number(&j, "trace", tr);
        ent_json_number(&j, "std_error", se);
        ent_json_number(&j, "mean_eigenvalue", tr / (double)h->n);
        ent_json_string(&j, "estimate", "mean of z^T H z over Rademacher z; std_error = sd / sqrt(probes)");
        ent_json_number(&j, "seconds", secs);
        s = save_json(&j, a->out);
    }
    char l[3][96];
    snprintf(l[0], sizeof l[0], "%lld parameters, %d probes", (long long)h->n, a->probes);
    snprintf(l[1], sizeof l[1], "trace %.5g +- %.2g", tr, se);
    snprintf(l[2], sizeof l[2], "loss %.4f  error %.2f%%, %.1f s", a->loss, 100 * a->error, secs);
    const char *note[] = {l[0], l[1], l[2]};
    if (s == ENT_OK) s = picture(a, "Hutchinson probes z^T H z", "z^T H z of a probe", val, a->probes, note, 3);
    if (s == ENT_OK)
        printf("hutchinson: %lld parameters, %d probes: trace %.6g +- %.2g (%.1f s) -> %s/\n", (long long)h->n,
               a->probes, tr, se, secs, a->out);
    free(val);
    return s;
}

ent_status ent_cli_hessian_proxy(const ent_cli_proxy_args *a, const ent_hvp *h, const ent_ckpt *c,
                                 const ent_dataset *d, const ent_nethess_opts *no) {
    return a->fisher ? fisher(a, c, d, no) : hutchinson(a, h);
}
