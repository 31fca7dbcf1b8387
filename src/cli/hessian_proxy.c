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
#include <string.h>

#include "cli/analysis_cli.h"
#include "train/train_internal.h"
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

static ent_status picture(const ent_cli_proxy_args *a, const char *title, const char *xlabel, const double *x,
                          int64_t n, const char *const *note, int n_note) {
    char path[600];
    snprintf(path, sizeof path, "%s/hessian.%s", a->out, a->svg ? "svg" : "png");
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
    char title[200];
    snprintf(title, sizeof title, "%s: diagonal Fisher (mini-batch gradient variance), %lld training samples", a->model,
             (long long)a->samples);
    if (s == ENT_OK) s = picture(a, title, "variance of the gradient", var, P, note, 4);
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
    char title[200];
    snprintf(title, sizeof title, "%s: Hutchinson probes z^T H z, %lld training samples", a->model,
             (long long)a->samples);
    if (s == ENT_OK) s = picture(a, title, "z^T H z of a probe", val, a->probes, note, 3);
    if (s == ENT_OK)
        printf("hutchinson: %lld parameters, %d probes: trace %.6g +- %.2g (%.1f s) -> %s/\n", (long long)h->n,
               a->probes, tr, se, secs, a->out);
    free(val);
    return s;
}

/* The length of a 1-D tensor of the file, or -1 if there is none. */
static int64_t vec_length(const ent_st_file *f, const char *name) {
    int nd;
    int64_t sh[4];
    return ent_st_find(f, name, &nd, sh) && nd == 1 ? sh[0] : -1;
}

/* The moments of an Adam checkpoint, bias-corrected by its step count t
 * as Adam's own step t was: mean = m / (1 - b1^t), var = v / (1 - b2^t) -
 * mean^2. ENT_EUSAGE when the checkpoint has no Adam moments. */
static ent_status adam_moments(const ent_ckpt *c, double **mean, double **var, int64_t *P, uint64_t *t,
                               double b[2]) {
    const char *opt = ent_st_meta(c->file, "optimizer");
    const int64_t nm = vec_length(c->file, "optim.adam_m"), nv = vec_length(c->file, "optim.adam_v");
    if (!opt || (strcmp(opt, "adam") != 0 && strcmp(opt, "adamw") != 0) || nm < 1 || nm != nv)
        return ent_fail(ENT_EUSAGE, "%s: no Adam state (optimizer %s): --fisher-from adam needs a checkpoint of "
                        "--optimizer adam or adamw, with its optim.adam_m and optim.adam_v", c->path,
                        opt ? opt : "unnamed");
    ent_status s = ent_ckb_get_count(c->file, c->path, "optim.t", ENT_CKPT_MAX_COUNT, t);
    if (s == ENT_OK) s = ent_ckb_get_number(c->file, c->path, "optim.beta1", 0.0, 1.0 - 1e-12, &b[0]);
    if (s == ENT_OK) s = ent_ckb_get_number(c->file, c->path, "optim.beta2", 0.0, 1.0 - 1e-12, &b[1]);
    if (s == ENT_OK && *t == 0) s = ent_fail(ENT_EUSAGE, "%s: Adam has made no step yet: no moments", c->path);
    if (s != ENT_OK) return s;
    *P = nm;
    float *m = malloc(sizeof(float) * (size_t)*P), *v = malloc(sizeof(float) * (size_t)*P);
    *mean = malloc(sizeof(double) * (size_t)*P), *var = malloc(sizeof(double) * (size_t)*P);
    s = m && v && *mean && *var ? ent_st_get(c->file, "optim.adam_m", m, *P)
                                : ent_fail(ENT_ENOMEM, "fisher: out of memory");
    if (s == ENT_OK) s = ent_st_get(c->file, "optim.adam_v", v, *P);
    const double bc1 = 1.0 - pow(b[0], (double)*t), bc2 = 1.0 - pow(b[1], (double)*t);
    for (int64_t i = 0; s == ENT_OK && i < *P; i++) {
        (*mean)[i] = m[i] / bc1;
        (*var)[i] = v[i] / bc2 - (*mean)[i] * (*mean)[i];
    }
    free(m), free(v);
    return s;
}

ent_status ent_cli_fisher_from_adam(const ent_cli_proxy_args *a, const ent_ckpt *c) {
    double *mean = NULL, *var = NULL, b[2] = {0, 0}, lo = 0, hi = 0, sum = 0;
    int64_t P = 0;
    uint64_t t = 0;
    ent_status s = adam_moments(c, &mean, &var, &P, &t, b);
    if (s == ENT_OK) s = ent_cli_mkdir(a->out);
    if (s == ENT_OK) s = write_values(a->out, "fisher.csv", "index,mean_gradient,variance", mean, var, P);
    if (s == ENT_OK) {
        span(var, P, &lo, &hi, &sum);
        ent_json j;
        ent_json_init(&j);
        ent_json_begin_object(&j, NULL);
        ent_json_string(&j, "checkpoint", a->ckpt);
        ent_json_string(&j, "model", a->model);
        ent_json_string(&j, "method", "fisher");
        ent_json_string(&j, "fisher_from", "adam");
        ent_json_string(&j, "estimate", "per parameter v_hat - m_hat^2 of the checkpoint's Adam moments, "
                                        "bias-corrected by its step count: m / (1 - beta1^t), v / (1 - beta2^t)");
        ent_json_int(&j, "parameters", P);
        ent_json_int(&j, "step", (int64_t)t);
        ent_json_number(&j, "beta1", b[0]);
        ent_json_number(&j, "beta2", b[1]);
        ent_json_number(&j, "sum", sum);
        ent_json_number(&j, "max", hi);
        ent_json_number(&j, "min", lo);
        ent_json_number(&j, "threshold", a->threshold);
        ent_json_number(&j, "fraction_below_threshold", frac_below(var, P, a->threshold));
        s = save_json(&j, a->out);
    }
    char l[3][96], title[200];
    snprintf(l[0], sizeof l[0], "%lld parameters, Adam after %llu steps", (long long)P, (unsigned long long)t);
    const double below = s == ENT_OK ? frac_below(var, P, a->threshold) : 0.0;
    snprintf(l[1], sizeof l[1], "variance < %.0e: %.2f%%", a->threshold, 100 * below);
    snprintf(l[2], sizeof l[2], "largest %.4g, sum %.4g", hi, sum);
    snprintf(title, sizeof title, "%s: diagonal Fisher from Adam's moments", a->model);
    const char *note[] = {l[0], l[1], l[2]};
    if (s == ENT_OK) s = picture(a, title, "v_hat - m_hat^2", var, P, note, 3);
    if (s == ENT_OK)
        printf("fisher (adam): %lld parameters, step %llu: sum %.6g, max %.6g -> %s/\n", (long long)P,
               (unsigned long long)t, sum, hi, a->out);
    free(mean), free(var);
    return s;
}

ent_status ent_cli_hessian_proxy(const ent_cli_proxy_args *a, const ent_hvp *h, const ent_ckpt *c,
                                 const ent_dataset *d, const ent_nethess_opts *no) {
    return a->fisher ? fisher(a, c, d, no) : hutchinson(a, h);
}
