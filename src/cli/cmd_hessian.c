/* cmd_hessian.c — `entropic hessian`: the Hessian spectrum of a
 * checkpoint's training loss on a fixed set of samples, exact (dense
 * eigensolve), by Lanczos (extremes) or by stochastic Lanczos quadrature
 * (density). Writes eigenvalues.csv or density.csv, summary.json and
 * hessian.png into --out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/data_cli.h"
#include "io/plot.h"

enum { EXACT = 0, LANCZOS = 1, SLQ = 2, FISHER = 3, HUTCHINSON = 4 };
static const char *const method_names[] = {"exact", "lanczos", "slq", "fisher", "hutchinson"};
static const double fractions_at[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};
#define N_FRAC 6

typedef struct {
    char ckpt[512], out[512], params[512], model[512], max_memory[32];
    ent_data_source data;
    int method, top, steps, probes, threads, bn_train, help, precision, single, svg, resume, fisher_adam;
    int64_t samples, batch, minibatch;
    double tol, threshold, max_bytes;
    uint64_t seed, key;
} opts;

/* Everything a run produced, for the files. */
typedef struct {
    const opts *o;
    const char *model;
    int64_t n_total, n;  /* parameters of the network, of the operator */
    int64_t samples;
    double loss, error, gnorm, seconds, asym;
    double eig_seconds; /* exact: the eigensolver's share of seconds */
    ent_spectrum_info info; /* exact: products' time, memory, resumed columns */
    double limit;          /* exact: the memory limit it ran under */
    double eig_bound, hvp_bound; /* exact: rounding-error bounds per eigenvalue */
    int64_t hvps;
    double *eig;         /* exact: n ascending; lanczos: top then bottom */
    double *res;         /* lanczos residuals */
    int k, steps;        /* lanczos: values per end, steps */
    int converged;       /* lanczos: every wanted value within tol (else the step cap stopped it) */
    double tol_abs;      /* lanczos: the residual it had to reach, tol x max |Ritz value| */
    double *nodes, *weights, sigma2; /* slq */
    int count;
} result;

static int usage_error(const char *msg) {
    fprintf(stderr, "entropic hessian: %s\n", msg);
    return 2;
}

/* --params "fc2,conv1.weight": the tensors whose name equals an entry or
 * starts with "entry." -> ranges of the parameter vector. */
static ent_status parse_params(const ent_model *m, const char *list, int64_t *off, int64_t *cnt, int *nr) {
    int np = 0;
    const ent_tensor_info *t = ent_model_params(m, &np);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    *nr = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int hit = 0;
        const size_t len = strlen(tok);
        for (int i = 0; i < np && *nr < 64; i++)
            if (strcmp(t[i].name, tok) == 0 || (strncmp(t[i].name, tok, len) == 0 && t[i].name[len] == '.')) {
                int dup = 0;
                for (int r = 0; r < *nr; r++) dup |= off[r] == t[i].offset;
                if (!dup) off[*nr] = t[i].offset, cnt[(*nr)++] = t[i].numel;
                hit = 1;
            }
        if (!hit) return ent_fail(ENT_EUSAGE, "--params: no tensor '%s' in %s", tok, ent_model_preset(m));
    }
    return *nr ? ENT_OK : ent_fail(ENT_EUSAGE, "--params: empty list");
}

static double fraction_below(const result *r, double tau, int smooth) {
    if (r->o->method == EXACT) {
        int64_t k = 0;
        for (int64_t i = 0; i < r->n; i++) k += fabs(r->eig[i]) < tau;
        return (double)k / (double)r->n;
    }
    double f = 0, s = sqrt(r->sigma2);
    for (int i = 0; i < r->count; i++)
        f += smooth ? r->weights[i] * 0.5 * (erf((tau - r->nodes[i]) / (s * sqrt(2.0))) - erf((-tau - r->nodes[i]) / (s * sqrt(2.0))))
                    : (fabs(r->nodes[i]) < tau ? r->weights[i] : 0.0);
    return f;
}

/* Exact: the fraction with |lambda| < tau when every eigenvalue may be
 * off by up to delta (the rounding bound): counts below tau -/+ delta. */
static void fraction_bounds(const result *r, double tau, double delta, double *lo, double *hi) {
    int64_t a = 0, b = 0;
    for (int64_t i = 0; i < r->n; i++) a += fabs(r->eig[i]) < tau - delta, b += fabs(r->eig[i]) < tau + delta;
    *lo = (double)a / (double)r->n, *hi = (double)b / (double)r->n;
}

static void extremes(const result *r, double *lmax, double *lmin) {
    if (r->o->method == EXACT) *lmax = r->eig[r->n - 1], *lmin = r->eig[0];
    else if (r->o->method == LANCZOS) *lmax = r->eig[0], *lmin = r->eig[r->k];
    else {
        *lmax = -INFINITY, *lmin = INFINITY;
        for (int i = 0; i < r->count; i++) *lmax = fmax(*lmax, r->nodes[i]), *lmin = fmin(*lmin, r->nodes[i]);
    }
}

static ent_status write_csv(const result *r, const char *dir) {
    char path[600], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    if (r->o->method == EXACT) {
        fprintf(f, "index,eigenvalue\n");
        for (int64_t i = 0; i < r->n; i++) fprintf(f, "%lld,%.17g\n", (long long)i, r->eig[i]);
    } else if (r->o->method == LANCZOS) {
        fprintf(f, "end,rank,eigenvalue,residual\n");
        for (int i = 0; i < r->k; i++) fprintf(f, "top,%d,%.17g,%.3e\n", i + 1, r->eig[i], r->res[i]);
        for (int i = 0; i < r->k; i++) fprintf(f, "bottom,%d,%.17g,%.3e\n", i + 1, r->eig[r->k + i], r->res[r->k + i]);
    } else { /* the smoothed density on a grid, then the raw quadrature */
        double lmax, lmin;
        extremes(r, &lmax, &lmin);
        const double s = sqrt(r->sigma2), a = lmin - 0.01 * (lmax - lmin) - 3 * s, b = lmax + 0.01 * (lmax - lmin) + 3 * s;
        enum { G = 2000 };
        double *t = malloc(sizeof(double) * G * 2), *phi = t + G;
        if (!t) {
            fclose(f), free(text);
            return ent_fail(ENT_ENOMEM, "hessian: out of memory");
        }
        for (int i = 0; i < G; i++) t[i] = a + (b - a) * i / (G - 1);
        ent_slq_density(r->nodes, r->weights, r->count, t, G, r->sigma2, phi);
        fprintf(f, "eigenvalue,density\n");
        for (int i = 0; i < G; i++) fprintf(f, "%.9g,%.9g\n", t[i], phi[i]);
        free(t);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s", dir, r->o->method == SLQ ? "density.csv" : "eigenvalues.csv");
    ent_status st = ent_cli_write_text(path, text, len);
    free(text);
    if (st == ENT_OK && r->o->method == SLQ) { /* nodes.csv: the quadrature itself */
        f = open_memstream(&text, &len);
        if (!f) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
        fprintf(f, "node,weight\n");
        for (int i = 0; i < r->count; i++) fprintf(f, "%.17g,%.17g\n", r->nodes[i], r->weights[i]);
        fclose(f);
        snprintf(path, sizeof path, "%s/nodes.csv", dir);
        st = ent_cli_write_text(path, text, len);
        free(text);
    }
    return st;
}

static ent_status write_summary(const result *r, const char *dir) {
    const opts *o = r->o;
    double lmax, lmin;
    extremes(r, &lmax, &lmin);
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "checkpoint", o->ckpt);
    ent_json_string(&j, "model", r->model);
    ent_json_string(&j, "dataset", o->data.name);
    ent_json_string(&j, "method", method_names[o->method]);
    ent_json_int(&j, "samples", r->samples);
    ent_json_string(&j, "batchnorm", o->bn_train ? "train (batch statistics per chunk)" : "eval (running statistics)");
    ent_json_string(&j, "dropout", "off");
    ent_json_string(&j, "precision", o->single ? "float" : "double");
    ent_json_int(&j, "parameters", r->n_total);
    ent_json_int(&j, "dimension", r->n);
    ent_json_string(&j, "params", o->params[0] ? o->params : "all");
    ent_json_number(&j, "loss", r->loss);
    ent_json_number(&j, "error", r->error);
    ent_json_number(&j, "grad_norm", r->gnorm);
    ent_json_number(&j, "lambda_max", lmax);
    ent_json_number(&j, "lambda_min", lmin);
    ent_json_number(&j, "threshold", o->threshold);
    if (o->method != LANCZOS) {
        ent_json_number(&j, "fraction_below_threshold", fraction_below(r, o->threshold, 0));
        ent_json_begin_object(&j, "fraction_abs_below");
        for (int i = 0; i < N_FRAC; i++) {
            char key[16];
            snprintf(key, sizeof key, "%g", fractions_at[i]);
            ent_json_number(&j, key, fraction_below(r, fractions_at[i], 0));
        }
        ent_json_end_object(&j);
    }
    if (o->method == EXACT) {
        double tr = 0;
        int64_t neg = 0;
        for (int64_t i = 0; i < r->n; i++) tr += r->eig[i], neg += r->eig[i] < 0;
        ent_json_number(&j, "trace", tr);
        ent_json_int(&j, "negative", neg);
        ent_json_number(&j, "asymmetry", r->asym);
        ent_json_number(&j, "asymmetry_abs", r->info.asym_abs);
        const double delta = r->eig_bound + r->hvp_bound;
        ent_json_number(&j, "rounding_bound", delta);
        ent_json_number(&j, "rounding_bound_eigensolver", r->eig_bound);
        ent_json_number(&j, "rounding_bound_products", r->hvp_bound);
        ent_json_string(&j, "rounding_bound_note", "each eigenvalue within rounding_bound of the Hessian's in exact arithmetic: "
                        "the eigensolver's n eps max|lambda| (backward stable, Weyl) plus n max|H_ij - H_ji| "
                        "(the products' double rounding, estimated by the pairs computed both ways; "
                        "a bound on the 2-norm of an n x n perturbation of that size)");
        ent_json_begin_object(&j, "fraction_abs_below_bounds");
        for (int i = 0; i < N_FRAC; i++) {
            char key[16];
            double lo, hi;
            snprintf(key, sizeof key, "%g", fractions_at[i]);
            fraction_bounds(r, fractions_at[i], delta, &lo, &hi);
            ent_json_begin_array(&j, key);
            ent_json_number(&j, NULL, lo);
            ent_json_number(&j, NULL, hi);
            ent_json_end_array(&j);
        }
        ent_json_end_object(&j);
        ent_json_string(&j, "eigensolver", "LAPACK dsyevd_2stage, eigenvalues only, lower triangle");
        ent_json_number(&j, "memory_bytes", r->info.bytes);
        ent_json_number(&j, "max_memory_bytes", r->limit);
        ent_json_int(&j, "resumed_columns", r->info.resumed);
    } else if (o->method == LANCZOS) {
        ent_json_int(&j, "k", r->k);
        ent_json_int(&j, "steps", r->steps);
        ent_json_int(&j, "max_steps", o->steps ? o->steps : 200);
        ent_json_number(&j, "tol", o->tol);
        ent_json_number(&j, "tol_abs", r->tol_abs);
        ent_json_bool(&j, "converged", r->converged);
        const char *ends[2] = {"top", "bottom"}, *res_of[2] = {"top_residual", "bottom_residual"};
        for (int e = 0; e < 2; e++) { /* each Ritz value, then its residual: an eigenvalue lies within it */
            ent_json_begin_array(&j, ends[e]);
            for (int i = 0; i < r->k; i++) ent_json_number(&j, NULL, r->eig[e * r->k + i]);
            ent_json_end_array(&j);
            ent_json_begin_array(&j, res_of[e]);
            for (int i = 0; i < r->k; i++) ent_json_number(&j, NULL, r->res[e * r->k + i]);
            ent_json_end_array(&j);
        }
        double worst = 0;
        for (int i = 0; i < 2 * r->k; i++) worst = fmax(worst, r->res[i]);
        ent_json_number(&j, "max_residual", worst);
    } else {
        double tr = 0;
        for (int i = 0; i < r->count; i++) tr += r->weights[i] * r->nodes[i];
        ent_json_int(&j, "probes", o->probes);
        ent_json_int(&j, "steps", o->steps);
        ent_json_number(&j, "sigma2", r->sigma2);
        ent_json_number(&j, "trace_estimate", tr * (double)r->n);
        ent_json_number(&j, "fraction_below_threshold_smoothed", fraction_below(r, o->threshold, 1));
        ent_json_string(&j, "fractions_from", "the quadrature nodes and weights (resolution about "
                                               "(lambda_max - lambda_min) / steps); _smoothed: the kernel density");
    }
    ent_json_int(&j, "hvps", r->hvps);
    ent_json_number(&j, "seconds", r->seconds);
    if (o->method == EXACT) ent_json_number(&j, "products_seconds", r->info.products_seconds);
    if (o->method == EXACT) ent_json_number(&j, "eigensolver_seconds", r->eig_seconds);
    ent_json_end_object(&j);
    char path[600];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    ent_status s = j.failed ? ent_fail(ENT_ENOMEM, "summary: out of memory") : ent_json_save(&j, path);
    ent_json_free(&j);
    return s;
}

static ent_status write_picture(const result *r, const char *dir) {
    const opts *o = r->o;
    char path[600], title[160], l[6][96];
    double lmax, lmin;
    extremes(r, &lmax, &lmin);
    snprintf(path, sizeof path, "%s/hessian.%s", dir, o->svg ? "svg" : "png");
    snprintf(title, sizeof title, "%s: Hessian%s%.40s of the loss on %lld training samples (BN %s), %s",
             r->model, o->params[0] ? " block " : "", o->params, (long long)r->samples,
             o->bn_train ? "train" : "eval", method_names[o->method]);
    snprintf(l[0], sizeof l[0], "%lld parameters", (long long)r->n);
    snprintf(l[1], sizeof l[1], "largest " PLOT_LAMBDA ": %.4g", lmax);
    snprintf(l[2], sizeof l[2], "most negative: %.4g", lmin);
    snprintf(l[3], sizeof l[3], "loss %.4f  error %.2f%%", r->loss, 100 * r->error);
    snprintf(l[5], sizeof l[5], "%lld HVPs, %.1f s", (long long)r->hvps, r->seconds);
    if (o->method == LANCZOS) {
        snprintf(l[4], sizeof l[4], "%d Lanczos steps, tol %.0e%s", r->steps, o->tol,
                 r->converged ? "" : ": NOT converged");
        const char *note[] = {l[0], l[3], l[4], l[5]};
        return ent_extremes_plot(title, r->eig, r->eig + r->k, r->k, note, 4, path);
    }
    if (o->method == EXACT)
        snprintf(l[4], sizeof l[4], "|" PLOT_LAMBDA "| < %.0e: %.2f%%", o->threshold, 100 * fraction_below(r, o->threshold, 0));
    else
        snprintf(l[4], sizeof l[4], "|" PLOT_LAMBDA "| < %.0e: %.1f%% nodes, %.1f%% kernel " PLOT_SIGMA " %.2g", o->threshold,
                 100 * fraction_below(r, o->threshold, 0), 100 * fraction_below(r, o->threshold, 1), sqrt(r->sigma2));
    char fr[96], tm[96];
    int nn = 6;
    const char *note[8] = {l[0], l[4], l[1], l[2], l[3], l[5]};
    if (o->method == EXACT) { /* the paper's three thresholds, and the two phases */
        snprintf(fr, sizeof fr, "|" PLOT_LAMBDA "| < 1e-4, 1e-3, 1e-2: %.1f%%, %.1f%%, %.1f%%", 100 * fraction_below(r, 1e-4, 0),
                 100 * fraction_below(r, 1e-3, 0), 100 * fraction_below(r, 1e-2, 0));
        snprintf(tm, sizeof tm, "products %.0f s, eigensolver %.0f s; error <= %.1e", r->info.products_seconds,
                 r->eig_seconds, r->eig_bound + r->hvp_bound);
        note[nn++] = fr, note[nn++] = tm;
    }
    ent_spectrum_picture p = {.title = title, .note = note, .n_note = nn, .threshold = o->threshold};
    if (o->method == EXACT) p.x = r->eig, p.n = r->n, p.count_scale = 1;
    else p.x = r->nodes, p.w = r->weights, p.n = r->count, p.count_scale = (double)r->n, p.sigma = sqrt(r->sigma2);
    return ent_spectrum_plot(&p, path);
}

/* Lanczos: the tolerance it had to reach, and a warning (not an error:
 * the values are still Ritz values with honest residuals) when the step
 * cap stopped it first. The residual test is lanczos.c's: tol x the
 * largest |Ritz value|, which is the larger end here. */
static void lanczos_verdict(result *r) {
    const opts *o = r->o;
    const double big = fmax(fabs(r->eig[0]), fabs(r->eig[r->k]));
    double worst = 0;
    for (int i = 0; i < 2 * r->k; i++) worst = fmax(worst, r->res[i]);
    r->tol_abs = o->tol * big;
    if (!r->converged)
        fprintf(stderr, "entropic hessian: warning: Lanczos stopped at its cap of %d steps before converging: "
                "worst residual %.2g > tol %.0e x max |lambda| = %.2g; the values are Ritz values within their "
                "residuals (summary.json); raise --steps or --tol\n",
                r->steps, worst, o->tol, r->tol_abs);
}

/* The chosen method on operator h; fills r. */
static ent_status run_method(const ent_hvp *h, const ent_nethess *nh, result *r) {
    const opts *o = r->o;
    ent_status s = ENT_OK;
    if (o->method == EXACT) {
        r->eig = malloc(sizeof(double) * (size_t)h->n);
        if (!r->eig) return ent_fail(ENT_ENOMEM, "exact hessian: out of memory");
        ent_cli_exact_args a = {.out_dir = o->out, .max_bytes = o->max_bytes, .resume = o->resume, .key = o->key};
        s = ent_cli_exact(h, nh, &a, r->eig, &r->info, &r->limit);
        r->asym = r->info.asym, r->eig_seconds = r->info.eig_seconds;
        if (s == ENT_OK) ent_cli_exact_bounds(r->eig, h->n, &r->info, &r->eig_bound, &r->hvp_bound);
    } else if (o->method == LANCZOS) {
        ent_lanczos_opts lo = {.k = o->top, .max_steps = o->steps ? o->steps : 200, .tol = o->tol, .seed = o->seed};
        r->eig = malloc(sizeof(double) * 2 * (size_t)o->top);
        r->res = malloc(sizeof(double) * 2 * (size_t)o->top);
        double *tr = malloc(sizeof(double) * (size_t)o->top), *br = malloc(sizeof(double) * (size_t)o->top);
        double *b = malloc(sizeof(double) * (size_t)o->top);
        if (!r->eig || !r->res || !tr || !br || !b) s = ent_fail(ENT_ENOMEM, "lanczos: out of memory");
        if (s == ENT_OK) s = ent_lanczos_extremes(h, &lo, r->eig, tr, b, br, &r->k, &r->steps, &r->converged);
        for (int i = 0; s == ENT_OK && i < r->k; i++)
            r->eig[r->k + i] = b[i], r->res[i] = tr[i], r->res[r->k + i] = br[i];
        if (s == ENT_OK) lanczos_verdict(r);
        free(tr), free(br), free(b);
    } else {
        const int m = o->steps ? o->steps : 100;
        r->nodes = malloc(sizeof(double) * (size_t)m * (size_t)o->probes);
        r->weights = malloc(sizeof(double) * (size_t)m * (size_t)o->probes);
        if (!r->nodes || !r->weights) s = ent_fail(ENT_ENOMEM, "slq: out of memory");
        if (s == ENT_OK) s = ent_slq(h, o->probes, m, o->seed, r->nodes, r->weights, &r->count);
        if (s == ENT_OK) { /* PyHessian's kernel width: 1e-5 of the range (at least 1) */
            double lmax, lmin;
            extremes(r, &lmax, &lmin);
            r->sigma2 = 1e-5 * fmax(1.0, lmax - lmin);
        }
    }
    return s;
}

static ent_status run(const opts *o) {
    ent_dataset *d = NULL;
    ent_ckpt c = {0};
    ent_nethess *nh = NULL;
    ent_hvp_block *blk = NULL;
    result r = {.o = o};
    double *g = NULL;
    ent_status s = ent_ckpt_open(&c, o->ckpt, o->model);
    if (s == ENT_OK && o->fisher_adam) { /* the moments alone: no data, no network */
        ent_cli_proxy_args pa = {.fisher = 1, .out = o->out, .model = c.model, .ckpt = o->ckpt, .svg = o->svg,
                                 .threshold = o->threshold};
        s = ent_cli_fisher_from_adam(&pa, &c);
        ent_ckpt_free(&c);
        return s;
    }
    if (s == ENT_OK) s = ent_cli_mkdir(o->out);
    if (s == ENT_OK) s = ent_cli_dataset(&d, &o->data, ENT_SPLIT_TRAIN, o->samples, o->ckpt);
    if (s == ENT_OK) s = ent_ckpt_preprocess(&c, d, NULL, 0);
    if (s == ENT_OK) s = ent_ckpt_build(&c, d, 1);
    ent_nethess_opts no = {.batch = o->batch, .bn_train = o->bn_train, .single = o->single};
    if (s == ENT_OK) s = ent_nethess_new(&nh, c.m, c.theta, c.buffers, d->x, d->y, d->n, &no);
    ent_hvp h = {0};
    opts ko = *o; /* with the key of the run (exact: its columns file) */
    if (s == ENT_OK) {
        h = ent_nethess_hvp(nh);
        r.model = c.model, r.n_total = h.n, r.samples = d->n;
        ko.key = ent_cli_exact_key(c.theta, h.n, d, o->params, o->bn_train);
        r.o = &ko;
        g = malloc(sizeof(double) * (size_t)h.n);
        s = g ? ent_nethess_grad(nh, g, &r.loss, &r.error) : ent_fail(ENT_ENOMEM, "hessian: out of memory");
    }
    if (s == ENT_OK && o->params[0]) {
        int64_t off[64], cnt[64];
        int nr = 0;
        s = parse_params(c.m, o->params, off, cnt, &nr);
        if (s == ENT_OK) s = ent_nethess_set_support(nh, off, cnt, nr); /* products from the block's first layer on */
        if (s == ENT_OK) s = ent_hvp_block_new(&blk, &h, off, cnt, nr);
        if (s == ENT_OK) h = ent_hvp_block_op(blk);
    }
    if (s == ENT_OK && (o->method == FISHER || o->method == HUTCHINSON)) { /* files of their own */
        double gg = 0;
        for (int64_t i = 0; i < r.n_total; i++) gg += g[i] * g[i];
        ent_cli_proxy_args pa = {.fisher = o->method == FISHER, .out = o->out, .model = c.model, .ckpt = o->ckpt,
                                 .dataset = o->data.name, .params = o->params, .svg = o->svg, .single = o->single,
                                 .probes = o->probes, .samples = d->n, .minibatch = o->minibatch, .n_total = r.n_total,
                                 .seed = o->seed, .threshold = o->threshold, .loss = r.loss, .error = r.error,
                                 .gnorm = sqrt(gg)};
        s = ent_cli_hessian_proxy(&pa, &h, &c, d, &no);
        free(g);
        ent_hvp_block_free(blk);
        ent_nethess_free(nh);
        ent_ckpt_free(&c);
        ent_dataset_free(d);
        return s;
    }
    if (s == ENT_OK) {
        double gg = 0;
        for (int64_t i = 0; i < r.n_total; i++) gg += g[i] * g[i];
        r.gnorm = sqrt(gg), r.n = h.n;
        const double t0 = ent_time_seconds();
        s = run_method(&h, nh, &r);
        r.seconds = ent_time_seconds() - t0;
        r.hvps = ent_nethess_products(nh);
    }
    if (s == ENT_OK) s = write_csv(&r, o->out);
    if (s == ENT_OK) s = write_summary(&r, o->out);
    if (s == ENT_OK) s = write_picture(&r, o->out);
    if (s == ENT_OK) {
        double lmax, lmin;
        extremes(&r, &lmax, &lmin);
        printf("%s: %lld parameters, %lld samples: lambda_max %.6g, lambda_min %.6g", method_names[o->method],
               (long long)r.n, (long long)r.samples, lmax, lmin);
        if (o->method != LANCZOS) printf(", |lambda| < %g: %.2f%%", o->threshold, 100 * fraction_below(&r, o->threshold, 0));
        if (o->method == LANCZOS) printf(", %d steps, %s", r.steps, r.converged ? "converged" : "NOT converged");
        if (o->method == SLQ) printf(" (smoothed: %.2f%%)", 100 * fraction_below(&r, o->threshold, 1));
        printf(" (%lld HVPs, %.1f s) -> %s/\n", (long long)r.hvps, r.seconds, o->out);
    }
    free(g), free(r.eig), free(r.res), free(r.nodes), free(r.weights);
    ent_hvp_block_free(blk);
    ent_nethess_free(nh);
    ent_ckpt_free(&c);
    ent_dataset_free(d);
    return s;
}

int ent_cmd_hessian(int argc, char **argv) {
    opts o = {.data = {.name = "fashion-mnist"}, .method = LANCZOS, .top = 20, .probes = 0, .samples = 1000,
              .batch = 128, .minibatch = 128, .tol = 1e-6, .threshold = 1e-4, .seed = 1};
    ent_arg own[] = {
        {.name = "checkpoint", .type = ARG_STRING, .dst = o.ckpt, .cap = sizeof o.ckpt, .help = "checkpoint (safetensors) of the network"},
        {.name = "model", .type = ARG_STRING, .dst = o.model, .cap = sizeof o.model, .help = "network preset, for a checkpoint without entropic metadata (PyTorch's save_file)"},
        {.name = "samples", .type = ARG_I64, .dst = &o.samples, .help = "the first N training samples define the loss"},
        {.name = "method", .type = ARG_CHOICE, .dst = &o.method, .choices = "exact|lanczos|slq|fisher|hutchinson", .help = "exact spectrum, extremes, density, diagonal Fisher, or trace"},
        {.name = "top", .type = ARG_INT, .dst = &o.top, .help = "lanczos: eigenvalues at each end"},
        {.name = "steps", .type = ARG_INT, .dst = &o.steps, .help = "Lanczos steps: lanczos max (0 = 200), slq per probe (0 = 100)"},
        {.name = "probes", .type = ARG_INT, .dst = &o.probes, .help = "random probe vectors: slq (0 = 4), hutchinson (0 = 100)"},
        {.name = "minibatch", .type = ARG_I64, .dst = &o.minibatch, .help = "fisher: samples per mini-batch (the gradients whose variance it takes)"},
        {.name = "fisher-from", .type = ARG_CHOICE, .dst = &o.fisher_adam, .choices = "batches|adam", .help = "fisher: the gradient variance over mini-batches, or v_hat - m_hat^2 of an Adam checkpoint's moments (no data)"},
        {.name = "tol", .type = ARG_DOUBLE, .dst = &o.tol, .help = "lanczos: residual / max |eigenvalue| to stop"},
        {.name = "threshold", .type = ARG_DOUBLE, .dst = &o.threshold, .help = "\"near zero\": |lambda| below this"},
        {.name = "params", .type = ARG_STRING, .dst = o.params, .cap = sizeof o.params, .help = "only these tensors (e.g. fc2 or fc2.weight,conv1): the block H[S,S]"},
        {.name = "batch", .type = ARG_I64, .dst = &o.batch, .help = "samples per chunk (memory, not the result)"},
        {.name = "precision", .type = ARG_CHOICE, .dst = &o.precision, .choices = "auto|double|float", .help = "HVPs in double or float (auto: double for exact, float otherwise)"},
        {.name = "bn-train", .type = ARG_BOOL, .dst = &o.bn_train, .help = "batch-norm on each chunk's batch statistics"},
        {.name = "seed", .type = ARG_U64, .dst = &o.seed, .help = "random start / probe vectors"},
        {.name = "threads", .type = ARG_INT, .dst = &o.threads, .help = "threads (0 = all cores)"},
        {.name = "out", .type = ARG_STRING, .dst = o.out, .cap = sizeof o.out, .help = "output directory"},
        {.name = "picture", .type = ARG_CHOICE, .dst = &o.svg, .choices = "png|svg", .help = "format of hessian.png / hessian.svg"},
        {.name = "max-memory", .type = ARG_STRING, .dst = o.max_memory, .cap = sizeof o.max_memory, .help = "exact: refuse, before any work, a run needing more (e.g. 20G; default: MemAvailable)"},
        {.name = "resume", .type = ARG_BOOL, .dst = &o.resume, .help = "exact: continue from the columns kept in --out (hessian_columns.bin)"},
        {.name = "help", .type = ARG_BOOL, .dst = &o.help, .help = "this help"},
    };
    ent_arg spec[sizeof own / sizeof own[0] + ENT_CLI_DATA_ARGS];
    const int n = ent_cli_spec_with_data(spec, own, (int)(sizeof own / sizeof own[0]), 2, &o.data);
    if (ent_args_parse(spec, n, argc, argv, "hessian", NULL, 0, NULL) != 0) return 2;
    if (o.help) {
        printf("usage: entropic hessian --checkpoint FILE --dataset " ENT_CLI_DATASETS " [--samples N]\n"
               "                        --method exact|lanczos|slq [--top K] --out DIR\n\n"
               "The Hessian of the mean training loss (cross-entropy over the first N training\n"
               "samples, dropout off, batch-norm on its running statistics) at the checkpoint's\n"
               "weights, by exact Hessian-vector products (R-operator; double precision for\n"
               "exact, float for lanczos and slq: 3-4x faster, Hv to ~1e-6 relative).\n"
               "  exact    every eigenvalue: H from one product per parameter (on every thread; a\n"
               "           layer's columns run the network from that layer on), kept on disk as they\n"
               "           come (--resume continues), then LAPACK dsyevd_2stage on its lower triangle.\n"
               "           Memory n^2 doubles (small-lenet, 47,658: 18.2 GB), refused before any work\n"
               "           above --max-memory. Time here, 1,000 samples, 2 threads: n = 6,370 about\n"
               "           18 s; the eigensolver grows as n^3 (about 7e-11 n^3 s on one Zen 3 core).\n"
               "  lanczos  the --top largest and smallest eigenvalues (full re-orthogonalisation).\n"
               "  slq      the spectral density by stochastic Lanczos quadrature.\n"
               "  fisher   per parameter, the variance over mini-batches (--minibatch) of the\n"
               "           mini-batch gradient: the paper's diagonal Fisher proxy (fisher.csv);\n"
               "           --fisher-from adam: v_hat - m_hat^2 of an Adam checkpoint's moments.\n"
               "  hutchinson  the trace of H (or of --params' block) from --probes Rademacher\n"
               "           vectors, with its standard error (probes.csv).\n"
               "Writes eigenvalues.csv (slq: density.csv, nodes.csv), summary.json, hessian.png (--picture svg: .svg).\n\n");
        ent_args_help(spec, n);
        return 0;
    }
    if (!o.ckpt[0]) return usage_error("--checkpoint FILE is required");
    if (!o.out[0]) return usage_error("--out DIR is required");
    if (o.samples < 1) return usage_error("--samples must be >= 1");
    if (o.batch < 1 || o.batch > ENT_MAX_BATCH) return usage_error("--batch must be in 1..65536 (ENT_MAX_BATCH)");
    if (o.threads < 0 || o.threads > ENT_MAX_THREADS) return usage_error("--threads must be in 0..1024 (ENT_MAX_THREADS)");
    if (o.top < 1 || o.top > 1000) return usage_error("--top must be in 1..1000");
    if (o.steps < 0 || o.steps > 5000) return usage_error("--steps must be in 0..5000");
    if (o.probes == 0) o.probes = o.method == HUTCHINSON ? 100 : 4;
    if (o.probes < 1 || o.probes > 100000) return usage_error("--probes must be in 1..100000");
    if (o.minibatch < 1) return usage_error("--minibatch must be >= 1");
    if (o.fisher_adam && o.method != FISHER) return usage_error("--fisher-from: only with --method fisher");
    if (o.method == FISHER && o.params[0]) return usage_error("--params: not with --method fisher (it is per parameter already)");
    if (!(o.tol > 0 && o.tol < 1)) return usage_error("--tol must be in (0, 1)");
    if (!(o.threshold > 0)) return usage_error("--threshold must be > 0");
    if (o.max_memory[0] && !ent_cli_parse_bytes(o.max_memory, &o.max_bytes))
        return usage_error("--max-memory must be a size such as 20G, 512M or 3e9");
    if (o.method == EXACT && o.precision == 2) return usage_error("--method exact needs --precision double (float HVPs blur |lambda| < 1e-5 of lambda_max)");
    o.single = o.precision == 2 || (o.precision == 0 && o.method != EXACT);
    ent_set_threads(o.threads);
    return ent_cli_status(run(&o), "hessian");
}
