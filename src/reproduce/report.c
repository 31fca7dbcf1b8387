/* report.c — OUT/NAME/report.md: per arm, our mean ± sd over the seeds
 * that finished beside the paper's number, the epoch of the best
 * evaluation (chosen on the validation split, never the test set), the
 * final value at the budget, and the time; report.png, the curves of
 * `entropic compare --plot` with one band per arm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/compare.h"
#include "entropic.h"
#include "reproduce/repro_internal.h"

/* What one finished run contributes. */
typedef struct {
    double best, best_at, final, final_at, wall;
    int has_best;
} run_numbers;

static int number(const ent_jv *o, const char *key, double *v) {
    const ent_jv *x = o && o->type == ENT_JSON_OBJECT ? ent_jv_get(o, key) : NULL;
    if (!x || x->type != ENT_JSON_NUMBER) return 0;
    *v = x->num;
    return 1;
}

/* summary.json's final and best points; 0 when the run has not finished. */
static int read_numbers(const repro_exp *e, const char *dir, const cmp_run *c, run_numbers *n) {
    char path[700], *text = NULL;
    size_t len = 0;
    ent_jv root;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if (ent_read_file(path, &text, &len) != ENT_OK) return 0;
    const int ok = ent_jv_parse(&root, text, len) == ENT_OK;
    free(text);
    if (!ok) return 0;
    const ent_jv *f = ent_jv_get(&root, "final"), *b = ent_jv_get(&root, "best");
    const int good = number(f, e->metric, &n->final) && number(f, "effective_epoch", &n->final_at);
    n->has_best = number(b, e->metric, &n->best) && number(b, "effective_epoch", &n->best_at);
    n->wall = c->n ? c->wall[c->n - 1] : 0;
    ent_jv_free(&root);
    return good;
}

typedef struct {
    int n;
    double v[5][CMP_MAX_RUNS]; /* best, its epoch, final, its epoch, wall */
} arm_numbers;

static void cell(FILE *f, const arm_numbers *a, int q, double scale, const char *fmt) {
    double m, sd;
    if (!a->n) {
        fprintf(f, " - |");
        return;
    }
    double v[CMP_MAX_RUNS];
    for (int i = 0; i < a->n; i++) v[i] = a->v[q][i] * scale;
    cmp_mean_sd(v, a->n, &m, &sd);
    fprintf(f, " ");
    fprintf(f, fmt, m);
    if (a->n > 1) fprintf(f, " ± "), fprintf(f, fmt, sd);
    fprintf(f, " |");
}

/* The paper's number and its effective epoch: two cells. */
static void paper_cell(FILE *f, const repro_ref *r) {
    if (!r->reported) {
        fprintf(f, " not reported | - |");
        return;
    }
    if (r->sd < 0) fprintf(f, " %g (no sd given) |", r->mean);
    else fprintf(f, " %g ± %g |", r->mean, r->sd);
    if (r->epochs > 0) fprintf(f, " %g |", r->epochs);
    else fprintf(f, " not stated |");
}

static void command_line(FILE *f, const repro_opts *o, const repro_arm *a) {
    repro_words w = {0};
    repro_arm_words(o->e, a, o->budget, o->paper_data, &w);
    fprintf(f, "- `%s`: `entropic train", a->label);
    for (int i = 0; i < w.n; i++) fprintf(f, " %s", w.word[i]);
    fprintf(f, " --seed S`\n");
}

static void write_table(FILE *f, const repro_opts *o, const arm_numbers *arms, int best_missing) {
    const repro_exp *e = o->e;
    const double sc = repro_metric_scale(e);
    const char *fmt = sc == 100 ? "%.2f" : "%.3f";
    fprintf(f, "| arm | runs | %s, best | at eff. epoch | final | at eff. epoch | wall s | paper | paper's epoch |\n"
               "|---|---|---|---|---|---|---|---|---|\n", repro_metric_name(e));
    for (int a = 0; a < e->n_arms; a++) {
        fprintf(f, "| %s | %d of %d |", e->arms[a].label, arms[a].n, o->seeds);
        cell(f, &arms[a], 0, sc, fmt), cell(f, &arms[a], 1, 1, "%.1f");
        cell(f, &arms[a], 2, sc, fmt), cell(f, &arms[a], 3, 1, "%.1f"), cell(f, &arms[a], 4, 1, "%.1f");
        paper_cell(f, &e->arms[a].ref);
        fprintf(f, "\n");
    }
    fprintf(f, "\nMean ± sample standard deviation over the seeds that finished. *best*: the test value at the "
               "evaluation with the lowest validation %s%s; *final*: at the end of the budget, the same number of "
               "effective epochs (mini-batch gradients) for every arm. Paper: its mean ± sd at its effective "
               "epoch.\n", strcmp(e->metric, "test_error") == 0 ? "error" : "loss",
            best_missing ? " (runs without a validation split have none: their best column is their final)" : "");
}

/* Arms with runs missing: why, where to look. */
static void write_missing(FILE *f, const repro_opts *o, const arm_numbers *arms) {
    int first = 1;
    for (int a = 0; a < o->e->n_arms; a++) {
        const repro_arm *arm = &o->e->arms[a];
        if (arms[a].n == o->seeds) continue;
        fprintf(f, "%s- `%s`: %d of %d runs finished; the others failed or stopped (`logs/%s-seed-S.log`).\n",
                first ? "\n" : "", arm->label, arms[a].n, o->seeds, arm->label);
        first = 0;
    }
}

static void write_md(FILE *f, const repro_opts *o, const arm_numbers *arms, int best_missing, int plotted) {
    const repro_exp *e = o->e;
    fprintf(f, "# %s (%s budget, %d seed%s)\n\n", e->name, o->budget == REPRO_PAPER ? "paper" : "short", o->seeds,
            o->seeds > 1 ? "s" : "");
    fprintf(f, "Reproduces: %s.\n\nData: %s; the paper: %s.\n\n", e->what,
            o->paper_data ? e->paper_data : e->data, e->paper_data);
    if (o->paper_data && o->budget == REPRO_SHORT)
        fprintf(f, "Where our data differs: the paper's data set, cut to the short budget's subset.\n\n");
    else fprintf(f, "Where our data differs: %s\n\n", o->paper_data ? "nowhere (the paper's data set)." : e->differs);
    write_table(f, o, arms, best_missing);
    write_missing(f, o, arms);
    if (plotted) fprintf(f, "\n![test error and training loss of every arm](report.png)\n");
    fprintf(f, "\n## Commands\n\n");
    for (int a = 0; a < e->n_arms; a++) command_line(f, o, &e->arms[a]);
    for (int k = 0; k < REPRO_MAX_POST && e->post[k]; k++)
        fprintf(f, "- after each run: `entropic %s`, its result in `ARM/seed-S/%s`\n", e->post[k], e->post_done[k]);
    fprintf(f, "\nRuns: `%s/ARM/seed-S`; logs: `%s/logs/`.\n", o->out, o->out);
}

/* The curves of every finished run, one band per arm. */
static int plot(const repro_opts *o, cmp_run *c, int nc) {
    if (!nc) return 0;
    cmp_group *g = calloc((size_t)nc, sizeof *g);
    if (!g) return 0;
    char path[700], every[32];
    snprintf(path, sizeof path, "%s/report.png", o->out);
    const char *v = repro_option(o->e, &o->e->arms[0], o->budget, "eval-every", every, sizeof every);
    const int ng = cmp_group_runs(c, nc, 1, g);
    const ent_status s = cmp_plot(c, nc, g, ng, v ? atof(v) : 1, path);
    free(g);
    if (s != ENT_OK) fprintf(stderr, "entropic reproduce: %s\n", ent_last_error());
    return s == ENT_OK;
}

int repro_report(const repro_opts *o) {
    static repro_run runs[REPRO_MAX_ARMS * 64];
    const int n = repro_runs(o, runs, (int)(sizeof runs / sizeof *runs));
    cmp_run *c = calloc((size_t)(n < CMP_MAX_RUNS ? n : CMP_MAX_RUNS), sizeof *c);
    arm_numbers *arms = calloc(REPRO_MAX_ARMS, sizeof *arms);
    int nc = 0, best_missing = 0;
    for (int i = 0; c && arms && i < n; i++) {
        run_numbers r;
        cmp_run *cr = nc < CMP_MAX_RUNS ? &c[nc] : NULL;
        if (!cr) break;
        if (cmp_read_run(runs[i].dir, o->e->arms[runs[i].arm].label, cr) != ENT_OK ||
            !read_numbers(o->e, runs[i].dir, cr, &r)) {
            ent_jv_free(&cr->config);
            memset(cr, 0, sizeof *cr);
            continue;
        }
        nc++;
        if (!r.has_best) r.best = r.final, r.best_at = r.final_at, best_missing = 1;
        arm_numbers *a = &arms[runs[i].arm];
        const double v[5] = {r.best, r.best_at, r.final, r.final_at, r.wall};
        for (int q = 0; q < 5; q++) a->v[q][a->n] = v[q];
        a->n++;
    }
    int rc = c && arms ? 0 : 2;
    char path[700];
    snprintf(path, sizeof path, "%s/report.md", o->out);
    char *text = NULL;
    size_t len = 0;
    FILE *f = rc ? NULL : open_memstream(&text, &len);
    if (f) {
        write_md(f, o, arms, best_missing, plot(o, c, nc));
        fclose(f);
        if (ent_write_file_atomic(path, text, len) != ENT_OK) {
            fprintf(stderr, "entropic reproduce: %s\n", ent_last_error());
            rc = 2;
        }
    }
    if (!f && !rc) rc = 2;
    if (rc == 0) printf("-> %s\n", path);
    free(text);
    for (int i = 0; c && i < nc; i++) ent_jv_free(&c[i].config);
    free(c), free(arms);
    return rc;
}
