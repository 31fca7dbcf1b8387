/* compare_stats.c — groups of seeds and their statistics for `entropic
 * compare` (see compare.h): which runs are repetitions of one experiment,
 * and their mean and spread at each effective epoch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/compare.h"

/* Keys of config.json that differ between seeds of one experiment by
 * construction: the seed, and argv, the command line that gave it (and
 * named the run's own --out). */
static int ignored_key(const char *k) { return strcmp(k, "seed") == 0 || strcmp(k, "argv") == 0; }

static int jv_equal(const ent_jv *a, const ent_jv *b, int top);

static int objects_equal(const ent_jv *a, const ent_jv *b, int top) {
    int na = 0, nb = 0;
    for (int64_t i = 0; i < a->n; i++) {
        if (top && ignored_key(a->keys[i])) continue;
        const ent_jv *o = ent_jv_get(b, a->keys[i]);
        if (!o || !jv_equal(&a->items[i], o, 0)) return 0;
        na++;
    }
    for (int64_t i = 0; i < b->n; i++) nb += !(top && ignored_key(b->keys[i]));
    return na == nb;
}

static int jv_equal(const ent_jv *a, const ent_jv *b, int top) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case ENT_JSON_NULL: return 1;
    case ENT_JSON_BOOL:
    case ENT_JSON_NUMBER: return a->num == b->num;
    case ENT_JSON_STRING: return strcmp(a->str, b->str) == 0;
    case ENT_JSON_ARRAY:
        if (a->n != b->n) return 0;
        for (int64_t i = 0; i < a->n; i++)
            if (!jv_equal(&a->items[i], &b->items[i], 0)) return 0;
        return 1;
    case ENT_JSON_OBJECT: return objects_equal(a, b, top);
    }
    return 0;
}

/* Run j may join group g: another seed of the same configuration. Runs
 * with equal seeds (a repeat, or configs without a seed) stay apart: they
 * are not a sample of seeds. */
static int seed_of_group(const cmp_run *runs, const cmp_group *g, int j) {
    const cmp_run *a = &runs[g->member[0]], *b = &runs[j];
    if (!a->has_seed || !b->has_seed || a->config.type != ENT_JSON_OBJECT || !jv_equal(&a->config, &b->config, 1))
        return 0;
    for (int m = 0; m < g->n; m++)
        if (runs[g->member[m]].seed == b->seed) return 0;
    return 1;
}

/* A group's name: the common start of its directories' names without
 * the trailing separators ("adam-s1", "adam-s2" -> "adam"), with the
 * optimizer when the name does not say it. */
static void group_label(const cmp_run *runs, cmp_group *g) {
    const cmp_run *r0 = &runs[g->member[0]];
    if (g->n == 1) {
        snprintf(g->label, sizeof g->label, "%s", r0->label);
        return;
    }
    size_t len = strlen(r0->base);
    for (int m = 1; m < g->n; m++) {
        const char *b = runs[g->member[m]].base;
        size_t k = 0;
        while (k < len && b[k] == r0->base[k]) k++;
        len = k;
    }
    /* a prefix that ends inside a word ("adam-s" of "adam-s1") loses the word */
    int mid_word = 0;
    for (int m = 0; m < g->n; m++) {
        const char *b = runs[g->member[m]].base;
        mid_word |= len > 0 && b[len] && !strchr("-_. ", b[len]) && !strchr("-_. ", b[len - 1]);
    }
    while (mid_word && len > 0 && !strchr("-_. ", r0->base[len - 1])) len--;
    while (len > 0 && strchr("-_. ", r0->base[len - 1])) len--;
    if (len == 0) snprintf(g->label, sizeof g->label, "%s", r0->opt[0] ? r0->opt : "runs");
    else if (r0->opt[0] && strncmp(r0->base, r0->opt, len) != 0)
        snprintf(g->label, sizeof g->label, "%.*s (%s)", (int)(len > 30 ? 30 : len), r0->base, r0->opt);
    else snprintf(g->label, sizeof g->label, "%.*s", (int)(len > 40 ? 40 : len), r0->base);
}

int cmp_group_runs(const cmp_run *runs, int nr, int by_label, cmp_group *g) {
    int ng = 0;
    for (int j = 0; j < nr; j++) {
        int k = 0;
        for (; k < ng; k++)
            if (by_label ? strcmp(runs[g[k].member[0]].label, runs[j].label) == 0 : seed_of_group(runs, &g[k], j)) break;
        if (k == ng) g[ng++].n = 0;
        g[k].member[g[k].n++] = j;
    }
    for (int k = 0; k < ng; k++) {
        if (by_label) snprintf(g[k].label, sizeof g[k].label, "%s", runs[g[k].member[0]].label);
        else group_label(runs, &g[k]);
    }
    return ng;
}

double cmp_tolerance(double grid) { return grid / 2 < 0.5 ? grid / 2 : 0.5; }

/* The grid point nearest to each evaluation, when it lies within the
 * tolerance of it (runs evaluate at slightly different points: Entropy-
 * SGD's updates need not fall on epoch boundaries). */
double cmp_next_point(const cmp_run *runs, int nr, double grid, double last) {
    const double tol = cmp_tolerance(grid);
    double next = INFINITY;
    for (int k = 0; k < nr; k++)
        for (int i = 0; i < runs[k].n; i++) {
            const double e = round(runs[k].eff[i] / grid) * grid;
            if (e > last + 1e-9 && e < next && fabs(runs[k].eff[i] - e) <= tol + 1e-9) next = e;
        }
    return next;
}

/* Row of r shown at grid point e: the evaluation nearest to e, if it lies
 * within tol of it; else -1. (Rounding every evaluation to the grid and
 * taking the last one showed epoch 7 in the row of 5 with --every 5.) */
static int row_at(const cmp_run *r, double e, double tol) {
    int found = -1;
    for (int i = 0; i < r->n; i++)
        if (fabs(r->eff[i] - e) <= tol + 1e-9 && (found < 0 || fabs(r->eff[i] - e) < fabs(r->eff[found] - e)))
            found = i;
    return found;
}

void cmp_mean_sd(const double *v, int n, double *mean, double *sd) {
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m = n > 0 ? m / n : NAN;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

int cmp_cell_at(const cmp_run *runs, const cmp_group *g, double e, double tol, cmp_cell *c) {
    double loss[CMP_MAX_RUNS], err[CMP_MAX_RUNS], wall[CMP_MAX_RUNS];
    int n = 0;
    for (int m = 0; m < g->n; m++) {
        const cmp_run *r = &runs[g->member[m]];
        const int i = row_at(r, e, tol);
        if (i < 0) continue;
        loss[n] = r->train_loss[i], err[n] = r->test_err[i], wall[n] = r->wall[i];
        n++;
    }
    c->n = n;
    cmp_mean_sd(loss, n, &c->loss, &c->loss_sd);
    cmp_mean_sd(err, n, &c->err, &c->err_sd);
    cmp_mean_sd(wall, n, &c->wall, &c->wall_sd);
    return n;
}
