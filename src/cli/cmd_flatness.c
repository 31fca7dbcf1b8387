/* cmd_flatness.c — `entropic flatness`: how flat the minima of one or more
 * checkpoints are, by local energy (scores under random perturbations of
 * the weights, as a function of their size sigma) or by local entropy
 * (log-volume of low loss around the weights, as a function of the scope
 * gamma). Several --checkpoint options share one picture and one CSV.
 * Networks are evaluated in eval mode (no dropout, batch-norm running
 * statistics not re-estimated after a perturbation, as the authors did). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/data_cli.h"
#include "io/plot.h"

#define MAX_CKPT 8
#define MAX_GRID 64

typedef struct {
    const char *ckpt[MAX_CKPT];
    int n_ckpt;
    char out[512], model[512];
    ent_data_source data;
    int measure, noise, samples, temps, moves, threads, help, n_sigma, n_gamma, svg;
    int64_t train_n, test_n;
    double sigma[MAX_GRID], gamma[MAX_GRID], rho;
    uint64_t seed;
} opts;

static const double sigma_mul[] = {0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0};
static const double sigma_add[] = {0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1};
static const double gamma_def[] = {10, 30, 1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5};

/* Scores for local energy: train loss, train error, test loss, test error. */
typedef struct {
    ent_model *m;
    float *buffers;
    const ent_dataset *train, *test;
} scorer;

static ent_status score(void *ctx, const float *theta, double *out) {
    scorer *s = ctx;
    ent_status st = ent_model_evaluate(s->m, theta, s->buffers, s->train, &out[0], &out[1]);
    if (st == ENT_OK) st = ent_model_evaluate(s->m, theta, s->buffers, s->test, &out[2], &out[3]);
    return st;
}

/* The training loss as a deterministic ent_objective (local entropy). */
static ent_status loss_eval(void *ctx, const float *theta, float *grad, double *loss) {
    scorer *s = ctx;
    if (grad) return ent_fail(ENT_EINVAL, "flatness: the loss objective has no gradient");
    return ent_model_evaluate(s->m, theta, s->buffers, s->train, loss, NULL);
}

/* The run directory's name for checkpoint.safetensors, else the file name. */
static void label_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (slash && strcmp(base, "checkpoint.safetensors") == 0) {
        const char *p = slash;
        while (p > path && p[-1] != '/') p--;
        snprintf(out, cap, "%.*s", (int)(slash - p), p);
    } else {
        snprintf(out, cap, "%s", base);
    }
}

typedef struct {
    char label[MAX_CKPT][64];
    char model[MAX_CKPT][32];
    double base[MAX_CKPT][4];
    double mean[MAX_CKPT][MAX_GRID * 4], sd[MAX_CKPT][MAX_GRID * 4];
    double phi[MAX_CKPT][MAX_GRID], se[MAX_CKPT][MAX_GRID], acc[MAX_CKPT][MAX_GRID];
    int64_t n_param[MAX_CKPT];
} results;

static ent_status measure_one(const opts *o, int c, const ent_dataset *train, const ent_dataset *test,
                              results *r) {
    ent_ckpt k;
    ent_status s = ent_ckpt_open(&k, o->ckpt[c], o->model);
    if (s == ENT_OK) s = ent_ckpt_build(&k, train, 500);
    if (s != ENT_OK) {
        ent_ckpt_free(&k);
        return s;
    }
    label_of(o->ckpt[c], r->label[c], sizeof r->label[c]);
    snprintf(r->model[c], sizeof r->model[c], "%s", k.model);
    r->n_param[c] = ent_model_n_param(k.m);
    scorer sc = {.m = k.m, .buffers = k.buffers, .train = train, .test = test};
    if (o->measure == 0) {
        s = ent_local_energy(score, &sc, 4, k.theta, r->n_param[c], o->sigma, o->n_sigma, o->samples,
                             o->noise ? ENT_NOISE_ADDITIVE : ENT_NOISE_MULTIPLICATIVE, o->seed, r->base[c],
                             r->mean[c], r->sd[c]);
    } else {
        ent_objective f = {.n_param = r->n_param[c], .ctx = &sc, .eval = loss_eval};
        ent_ais_opts ao = {.chains = o->samples, .temps = o->temps, .moves = o->moves, .rho = o->rho, .seed = o->seed};
        s = ent_model_evaluate(k.m, k.theta, k.buffers, train, &r->base[c][0], &r->base[c][1]);
        if (s == ENT_OK) s = ent_local_entropy(&f, k.theta, o->gamma, o->n_gamma, &ao, r->phi[c], r->se[c], r->acc[c]);
    }
    ent_ckpt_free(&k);
    return s;
}

static ent_status write_csv(const opts *o, const results *r) {
    char *text = NULL, path[600];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return ent_fail(ENT_ENOMEM, "flatness: out of memory");
    if (o->measure == 0) {
        fprintf(f, "checkpoint,noise,sigma,draws,train_loss,train_loss_sd,train_error,train_error_sd,test_loss,"
                   "test_loss_sd,test_error,test_error_sd,d_train_loss,d_train_error,d_test_loss,d_test_error\n");
        for (int c = 0; c < o->n_ckpt; c++)
            for (int i = 0; i < o->n_sigma; i++) {
                const double *m = r->mean[c] + 4 * i, *sd = r->sd[c] + 4 * i, *b = r->base[c];
                fprintf(f, "%s,%s,%g,%d", r->label[c], o->noise ? "additive" : "multiplicative", o->sigma[i], o->samples);
                for (int j = 0; j < 4; j++) fprintf(f, ",%.8g,%.4g", m[j], sd[j]);
                for (int j = 0; j < 4; j++) fprintf(f, ",%.8g", m[j] - b[j]);
                fprintf(f, "\n");
            }
    } else {
        fprintf(f, "checkpoint,gamma,sigma_equivalent,local_entropy,standard_error,per_parameter,acceptance,chains,temps,moves\n");
        for (int c = 0; c < o->n_ckpt; c++)
            for (int i = 0; i < o->n_gamma; i++)
                fprintf(f, "%s,%g,%.6g,%.8g,%.4g,%.6g,%.3f,%d,%d,%d\n", r->label[c], o->gamma[i], 1 / sqrt(o->gamma[i]),
                        r->phi[c][i], r->se[c][i], r->phi[c][i] / (double)r->n_param[c], r->acc[c][i], o->samples,
                        o->temps, o->moves);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/%s", o->out, o->measure == 0 ? "local_energy.csv" : "local_entropy.csv");
    ent_status s = ent_cli_write_text(path, text, len);
    free(text);
    return s;
}

static ent_status write_summary(const opts *o, const results *r) {
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "measure", o->measure == 0 ? "local-energy" : "local-entropy");
    ent_json_string(&j, "dataset", o->data.name);
    if (o->measure == 0) {
        ent_json_string(&j, "noise", o->noise ? "additive: w + sigma z" : "multiplicative: w + sigma z * w");
        ent_json_int(&j, "draws", o->samples);
    } else {
        ent_json_string(&j, "definition", "log E_{w' ~ N(w, I/gamma)} exp(-(f(w') - f(w))), f = mean train loss");
        ent_json_string(&j, "estimator", "annealed importance sampling, pCN moves");
        ent_json_int(&j, "chains", o->samples);
        ent_json_int(&j, "temps", o->temps);
        ent_json_int(&j, "moves", o->moves);
        ent_json_number(&j, "rho", o->rho);
    }
    ent_json_int(&j, "train_samples", o->train_n);
    if (o->measure == 0) ent_json_int(&j, "test_samples", o->test_n);
    ent_json_int(&j, "seed", (int64_t)o->seed);
    ent_json_begin_array(&j, "checkpoints");
    for (int c = 0; c < o->n_ckpt; c++) {
        ent_json_begin_object(&j, NULL);
        ent_json_string(&j, "label", r->label[c]);
        ent_json_string(&j, "path", o->ckpt[c]);
        ent_json_string(&j, "model", r->model[c]);
        ent_json_int(&j, "parameters", r->n_param[c]);
        ent_json_number(&j, "train_loss", r->base[c][0]);
        ent_json_number(&j, "train_error", r->base[c][1]);
        if (o->measure == 0) {
            ent_json_number(&j, "test_loss", r->base[c][2]);
            ent_json_number(&j, "test_error", r->base[c][3]);
        }
        ent_json_end_object(&j);
    }
    ent_json_end_array(&j);
    ent_json_end_object(&j);
    char path[600];
    snprintf(path, sizeof path, "%s/summary.json", o->out);
    ent_status s = j.failed ? ent_fail(ENT_ENOMEM, "summary: out of memory") : ent_json_save(&j, path);
    ent_json_free(&j);
    return s;
}

/* One entry per checkpoint, its colour, with the band of its curves. */
static void legend(const ent_axes *ax, const opts *o, const results *r, int corner) {
    const char *labels[MAX_CKPT];
    uint32_t cols[MAX_CKPT];
    int band[MAX_CKPT];
    for (int c = 0; c < o->n_ckpt; c++) labels[c] = r->label[c], cols[c] = ent_plot_color(c), band[c] = 1;
    ent_plot_legend(ax, labels, cols, band, o->n_ckpt, corner);
}

/* Local energy: mean loss and error (%) vs sigma; train solid, test dashed. */
static void energy_panel(ent_canvas *cv, double x, double y, const opts *o, const results *r, int err) {
    double lo = INFINITY, hi = -INFINITY, xs[MAX_GRID], a[MAX_GRID], b[MAX_GRID], ya[MAX_GRID];
    const double k = err ? 100.0 : 1.0;
    for (int c = 0; c < o->n_ckpt; c++)
        for (int i = 0; i < o->n_sigma; i++)
            for (int j = err; j < 4; j += 2) {
                /* the range holds the whole band (2 s.e.): with 1 s.e. the top of the band was cut off */
                const double m = k * r->mean[c][4 * i + j], e = 2 * k * r->sd[c][4 * i + j] / sqrt(o->samples);
                lo = fmin(lo, m - e), hi = fmax(hi, m + e);
            }
    char xl[64];
    snprintf(xl, sizeof xl, "%s", o->noise ? "sigma (additive: w + " PLOT_SIGMA " z)" : "sigma (w + " PLOT_SIGMA " z w)");
    ent_axes_style st = {.title = err ? "error (%), train solid, test dashed" : "loss, train solid, test dashed",
                         .xlabel = xl, .ylabel = err ? "error %" : "cross-entropy", .grid = 1};
    ent_axes ax = ent_axes_draw(cv, x, y, 585, 580 - y, o->sigma[0], o->sigma[o->n_sigma - 1], fmax(0, lo - 0.03 * (hi - lo)),
                                hi + 0.03 * (hi - lo), &st);
    for (int pass = 0; pass < 2; pass++) /* every band first, then every line on top */
        for (int c = 0; c < o->n_ckpt; c++)
            for (int j = err; j < 4; j += 2) {
                for (int i = 0; i < o->n_sigma; i++) {
                    const double m = k * r->mean[c][4 * i + j], e = 2 * k * r->sd[c][4 * i + j] / sqrt(o->samples);
                    xs[i] = o->sigma[i], ya[i] = m, a[i] = m - e, b[i] = m + e;
                }
                if (pass == 0) ent_plot_band(&ax, xs, a, b, o->n_sigma, ent_plot_color(c));
                else ent_plot_line(&ax, xs, ya, o->n_sigma, ent_plot_color(c), 2, j >= 2 ? 6 : 0);
            }
    legend(&ax, o, r, 0);
}

/* -Phi on a log axis: it spans orders of magnitude over the gamma grid.
 * Values <= 0 (flat within the noise) sit on the floor of the axis. */
static void entropy_panel(ent_canvas *cv, double y0, const opts *o, const results *r) {
    double top = 0, floor_ = INFINITY, a[MAX_GRID], b[MAX_GRID], y[MAX_GRID];
    for (int c = 0; c < o->n_ckpt; c++)
        for (int i = 0; i < o->n_gamma; i++) {
            top = fmax(top, -r->phi[c][i] + 2 * r->se[c][i]);
            if (-r->phi[c][i] > 0) floor_ = fmin(floor_, -r->phi[c][i]);
        }
    if (!(top > 0)) top = 1;
    floor_ = isfinite(floor_) ? fmin(floor_ / 2, top / 10) : top / 1e3;
    double gmin = INFINITY, gmax = 0;
    for (int i = 0; i < o->n_gamma; i++) gmin = fmin(gmin, o->gamma[i]), gmax = fmax(gmax, o->gamma[i]);
    ent_axes_style st = {.title = "-Phi: local entropy lost against a flat landscape, " PLOT_PM " 2 s.e. (lower = flatter)",
                         .xlabel = "scope " PLOT_GAMMA " (w' ~ N(w, I/" PLOT_GAMMA "))",
                         .ylabel = "-log E exp(-(f(w')-f(w))) [nats]", .logx = 1, .logy = 1, .grid = 1};
    ent_axes ax = ent_axes_draw(cv, 10, y0, 1180, 580 - y0, gmin, gmax, floor_, top * 1.5, &st);
    for (int c = 0; c < o->n_ckpt; c++) {
        for (int i = 0; i < o->n_gamma; i++) {
            a[i] = fmax(floor_, -r->phi[c][i] - 2 * r->se[c][i]);
            b[i] = fmax(floor_, -r->phi[c][i] + 2 * r->se[c][i]);
        }
        ent_plot_band(&ax, o->gamma, a, b, o->n_gamma, ent_plot_color(c));
    }
    for (int c = 0; c < o->n_ckpt; c++) {
        for (int i = 0; i < o->n_gamma; i++) y[i] = fmax(floor_, -r->phi[c][i]);
        ent_plot_line(&ax, o->gamma, y, o->n_gamma, ent_plot_color(c), 2, 0);
        ent_plot_points(&ax, o->gamma, y, o->n_gamma, ent_plot_color(c), 3);
    }
    legend(&ax, o, r, 1);
}

static ent_status write_picture(const opts *o, const results *r) {
    char title[200], path[600], foot[200];
    snprintf(path, sizeof path, "%s/%s.%s", o->out, o->measure == 0 ? "local_energy" : "local_entropy",
             o->svg ? "svg" : "png");
    ent_canvas *cv;
    ent_status s = ent_canvas_new(&cv, path, 1200, 640);
    if (s != ENT_OK) return s;
    if (o->measure == 0) {
        snprintf(title, sizeof title, "local energy, %s noise, %d draws per " PLOT_SIGMA ", %lld train/%lld test",
                 o->noise ? "additive (w + " PLOT_SIGMA " z)" : "multiplicative (w + " PLOT_SIGMA " z w)", o->samples,
                 (long long)o->train_n, (long long)o->test_n);
        snprintf(foot, sizeof foot, "bands: " PLOT_PM " 2 standard errors of the mean over the draws; eval mode, BN statistics kept");
    } else {
        snprintf(title, sizeof title, "local entropy by annealed importance sampling: %d chains x %d temperatures, %lld train samples",
                 o->samples, o->temps, (long long)o->train_n);
        snprintf(foot, sizeof foot, "f = mean train loss (eval mode); Phi = F(w," PLOT_GAMMA ") minus its value for a flat f");
    }
    const double y = 8 + ent_canvas_text(cv, 600, 8, title, 0x000000, 17, 1, 1180) + 8;
    if (o->measure == 0) {
        energy_panel(cv, 10, y, o, r, 0);
        energy_panel(cv, 605, y, o, r, 1);
    } else {
        entropy_panel(cv, y, o, r);
    }
    ent_canvas_text(cv, 600, 600, foot, 0x444444, 15, 1, 1180);
    s = ent_canvas_save(cv);
    ent_canvas_free(cv);
    return s;
}

static ent_status run(opts *o) {
    ent_dataset *train = NULL, *test = NULL;
    results *r = calloc(1, sizeof *r);
    ent_status s = r ? ENT_OK : ent_fail(ENT_ENOMEM, "flatness: out of memory");
    for (int c = 0; c < o->n_ckpt && s == ENT_OK; c++) { /* fail fast, before the data */
        ent_ckpt k;
        s = ent_ckpt_open(&k, o->ckpt[c], o->model);
        ent_ckpt_free(&k);
    }
    if (s == ENT_OK) s = ent_cli_mkdir(o->out);
    if (s == ENT_OK) s = ent_cli_dataset(&train, &o->data, ENT_SPLIT_TRAIN, o->train_n, o->ckpt[0]);
    if (s == ENT_OK && o->measure == 0) s = ent_cli_dataset(&test, &o->data, ENT_SPLIT_TEST, o->test_n, o->ckpt[0]);
    if (s == ENT_OK) { /* the data as the first checkpoint's run saw them (gcn-zca) */
        ent_ckpt k;
        s = ent_ckpt_open(&k, o->ckpt[0], o->model);
        if (s == ENT_OK) s = ent_ckpt_preprocess(&k, train, &test, test ? 1 : 0);
        ent_ckpt_free(&k);
    }
    if (s == ENT_OK) o->train_n = train->n, o->test_n = test ? test->n : 0;
    for (int c = 0; c < o->n_ckpt && s == ENT_OK; c++) {
        const double t0 = ent_time_seconds();
        s = measure_one(o, c, train, test, r);
        if (s != ENT_OK) break;
        printf("%s (%s): train loss %.4f error %.2f%%", r->label[c], r->model[c], r->base[c][0], 100 * r->base[c][1]);
        if (o->measure == 0)
            printf("; at sigma %g: train loss %.4f error %.2f%%", o->sigma[o->n_sigma - 1], r->mean[c][4 * (o->n_sigma - 1)],
                   100 * r->mean[c][4 * (o->n_sigma - 1) + 1]);
        else
            printf("; local entropy at gamma %g: %.4f +- %.4f", o->gamma[0], r->phi[c][0], r->se[c][0]);
        printf(" (%.1f s)\n", ent_time_seconds() - t0);
    }
    if (s == ENT_OK) s = write_csv(o, r);
    if (s == ENT_OK) s = write_summary(o, r);
    if (s == ENT_OK) s = write_picture(o, r);
    if (s == ENT_OK) printf("-> %s/\n", o->out);
    free(r);
    ent_dataset_free(train);
    ent_dataset_free(test);
    return s;
}

static int usage_error(const char *msg) {
    fprintf(stderr, "entropic flatness: %s\n", msg);
    return 2;
}

/* --checkpoint may repeat: take every occurrence out of argv first. */
static int take_checkpoints(opts *o, int argc, char **argv, char **rest, int *n_rest) {
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--checkpoint") == 0) {
            if (i + 1 >= argc) return usage_error("--checkpoint needs a value");
            v = argv[++i];
        } else if (strncmp(argv[i], "--checkpoint=", 13) == 0) {
            v = argv[i] + 13;
        } else {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (o->n_ckpt >= MAX_CKPT) return usage_error("at most 8 --checkpoint");
        if (!v[0]) return usage_error("--checkpoint: empty file name");
        o->ckpt[o->n_ckpt++] = v;
    }
    return 0;
}

static int check_opts(opts *o, const ent_arg *spec_sigma, const ent_arg *spec_gamma) {
    if (o->n_ckpt == 0) return usage_error("--checkpoint FILE is required (repeat it to compare)");
    if (!o->out[0]) return usage_error("--out DIR is required");
    if (o->samples < 1 || o->samples > 100000) return usage_error("--samples must be in 1..100000");
    if (o->train_n < 0 || o->test_n < 0) return usage_error("--train-subset / --test-subset must be >= 0");
    /* Each temperature costs --samples x (--moves + 1) passes over the training subset, per gamma. */
    if (o->temps < 1 || o->temps > 1000) return usage_error("--temps must be in 1..1000");
    if (o->moves < 0 || o->moves > 1000) return usage_error("--moves must be in 0..1000");
    if (o->threads < 0 || o->threads > ENT_MAX_THREADS) return usage_error("--threads must be in 0..1024 (ENT_MAX_THREADS)");
    if (!(o->rho > 0 && o->rho <= 1)) return usage_error("--rho must be in (0, 1]");
    if (!spec_sigma->given) {
        const double *d = o->noise ? sigma_add : sigma_mul;
        o->n_sigma = 10;
        memcpy(o->sigma, d, sizeof(double) * 10);
    }
    if (!spec_gamma->given) o->n_gamma = 9, memcpy(o->gamma, gamma_def, sizeof gamma_def);
    for (int i = 0; i < o->n_sigma; i++)
        if (!(o->sigma[i] >= 0) || (i && !(o->sigma[i] > o->sigma[i - 1])))
            return usage_error("--sigma: want increasing values >= 0");
    for (int i = 0; i < o->n_gamma; i++)
        if (!(o->gamma[i] > 0)) return usage_error("--gamma: want values > 0");
    if (o->measure == 0 && o->n_sigma < 2) return usage_error("--sigma: want at least 2 values");
    return 0;
}

int ent_cmd_flatness(int argc, char **argv) {
    opts o = {.data = {.name = "fashion-mnist"}, .samples = 0, .temps = 20, .moves = 2, .rho = 0.5, .seed = 1,
              .train_n = -1, .test_n = 10000};
    ent_arg own[] = {
        {.name = "measure", .type = ARG_CHOICE, .dst = &o.measure, .choices = "local-energy|local-entropy", .help = "what to measure"},
        {.name = "sigma", .type = ARG_LIST, .dst = o.sigma, .cap = MAX_GRID, .count = &o.n_sigma, .help = "local energy: noise sizes [0,0.05..1 mult.; 0,0.0025..0.1 add.]"},
        {.name = "noise", .type = ARG_CHOICE, .dst = &o.noise, .choices = "multiplicative|additive", .help = "local energy: w + sigma z w, or w + sigma z"},
        {.name = "gamma", .type = ARG_LIST, .dst = o.gamma, .cap = MAX_GRID, .count = &o.n_gamma, .help = "local entropy: scopes [10,30,..,1e5]"},
        {.name = "samples", .type = ARG_INT, .dst = &o.samples, .help = "random draws per sigma / AIS chains per gamma (0 = 10 / 16)"},
        {.name = "temps", .type = ARG_INT, .dst = &o.temps, .help = "local entropy: annealing temperatures (1 = importance sampling)"},
        {.name = "moves", .type = ARG_INT, .dst = &o.moves, .help = "local entropy: pCN moves per temperature"},
        {.name = "rho", .type = ARG_DOUBLE, .dst = &o.rho, .help = "local entropy: pCN step"},
        {.name = "train-subset", .type = ARG_I64, .dst = &o.train_n, .help = "first N training samples (-1 = 10000 / 2000, 0 = all)"},
        {.name = "test-subset", .type = ARG_I64, .dst = &o.test_n, .help = "first N test samples (0 = all)"},
        {.name = "seed", .type = ARG_U64, .dst = &o.seed, .help = "noise streams (the same draws for every checkpoint)"},
        {.name = "threads", .type = ARG_INT, .dst = &o.threads, .help = "threads (0 = all cores)"},
        {.name = "out", .type = ARG_STRING, .dst = o.out, .cap = sizeof o.out, .help = "output directory"},
        {.name = "picture", .type = ARG_CHOICE, .dst = &o.svg, .choices = "png|svg", .help = "format of the picture (.png or .svg)"},
        {.name = "model", .type = ARG_STRING, .dst = o.model, .cap = sizeof o.model, .help = "network preset, for checkpoints without entropic metadata (PyTorch's save_file)"},
        {.name = "help", .type = ARG_BOOL, .dst = &o.help, .help = "this help"},
    };
    ent_arg spec[sizeof own / sizeof own[0] + ENT_CLI_DATA_ARGS];
    const int n = ent_cli_spec_with_data(spec, own, (int)(sizeof own / sizeof own[0]), 0, &o.data);
    char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
    int n_rest = 0, rc = rest ? take_checkpoints(&o, argc, argv, rest, &n_rest) : 2;
    if (rc == 0 && ent_args_parse(spec, n, n_rest, rest, "flatness", NULL, 0, NULL) != 0) rc = 2;
    free(rest);
    if (rc != 0) return rc;
    if (o.help) {
        printf("usage: entropic flatness --checkpoint FILE [--checkpoint FILE2 ...] --dataset " ENT_CLI_DATASETS "\n"
               "                         --measure local-energy|local-entropy [--sigma LIST] [--samples N] --out DIR\n\n"
               "local-energy   mean train and test loss and error of the network with its weights perturbed,\n"
               "               w + sigma z (.) w (multiplicative, default) or w + sigma z (additive), z ~ N(0, I),\n"
               "               --samples draws per sigma: local_energy.csv, local_energy.png.\n"
               "local-entropy  Phi(w, gamma) = log E exp(-(f(w') - f(w))) over w' ~ N(w, I/gamma), f the mean\n"
               "               train loss: 0 for a flat landscape, lower = sharper; by annealed importance\n"
               "               sampling with --samples chains: local_entropy.csv, local_entropy.png.\n"
               "Eval mode: no dropout, batch-norm running statistics (not re-estimated). Every checkpoint\n"
               "sees the same random draws. See docs/analysis.md.\n\n");
        ent_args_help(spec, n);
        return 0;
    }
    if (o.samples == 0) o.samples = o.measure == 0 ? 10 : 16;
    if (o.train_n < 0) o.train_n = o.measure == 0 ? 10000 : 2000;
    rc = check_opts(&o, &spec[ENT_CLI_DATA_ARGS + 1], &spec[ENT_CLI_DATA_ARGS + 3]); /* sigma, gamma */
    if (rc != 0) return rc;
    ent_set_threads(o.threads);
    return ent_cli_status(run(&o), "flatness");
}
