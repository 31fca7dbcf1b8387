/* cmd_compare.c — `entropic compare RUNDIR...`: runs side by side by
 * effective epoch (train loss, test error, wall time), then a summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

#define MAX_RUNS 8
#define MAX_ROWS 4096

typedef struct {
    char label[40];
    int64_t batch;
    int n;
    double eff[MAX_ROWS], train_loss[MAX_ROWS], test_err[MAX_ROWS], wall[MAX_ROWS], evals[MAX_ROWS];
} run_metrics;

static int column(char *header, const char *name) {
    int i = 0;
    for (char *tok = header; tok; i++) {
        char *comma = strchr(tok, ',');
        size_t len = comma ? (size_t)(comma - tok) : strcspn(tok, "\r\n");
        if (len == strlen(name) && strncmp(tok, name, len) == 0) return i;
        tok = comma ? comma + 1 : NULL;
    }
    return -1;
}

static ent_status read_label(const char *dir, run_metrics *r) {
    char path[600], *text = NULL;
    size_t len = 0;
    ent_jv root;
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(r->label, sizeof r->label, "%s", dir);
    ent_status s = ent_read_file(path, &text, &len);
    if (s == ENT_OK) s = ent_jv_parse(&root, text, len);
    free(text);
    if (s != ENT_OK) return s;
    const ent_jv *o = ent_jv_get(&root, "optimizer");
    const ent_jv *name = o ? ent_jv_get(o, "name") : NULL;
    const ent_jv *b = ent_jv_get(&root, "batch_size");
    /* runs are told apart by their directory (two seeds of one optimizer) */
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    if (name && name->type == ENT_JSON_STRING && strncmp(base, name->str, strcspn(base, "/")) != 0)
        snprintf(r->label, sizeof r->label, "%.24s (%.12s)", base, name->str);
    else
        snprintf(r->label, sizeof r->label, "%.38s", base);
    r->batch = b && b->type == ENT_JSON_NUMBER ? (int64_t)b->num : 0;
    ent_jv_free(&root);
    return ENT_OK;
}

static ent_status read_run(const char *dir, run_metrics *r) {
    ent_status s = read_label(dir, r);
    if (s != ENT_OK) return s;
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return ent_fail(ENT_ENOENT, "%s: cannot open", path);
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return ent_fail(ENT_EFORMAT, "%s: empty", path);
    }
    int ce = column(line, "effective_epoch"), ct = column(line, "train_loss"),
        cx = column(line, "test_error"), cw = column(line, "wall_seconds"), cg = column(line, "grad_evals");
    if (ce < 0 || ct < 0 || cx < 0 || cw < 0) {
        fclose(f);
        return ent_fail(ENT_EFORMAT, "%s: header lacks effective_epoch/train_loss/test_error/wall_seconds", path);
    }
    while (r->n < MAX_ROWS && fgets(line, sizeof line, f)) {
        double v[16] = {0};
        int k = 0;
        for (char *p = line; p && k < 16; k++) {
            v[k] = strtod(p, NULL);
            p = strchr(p, ',');
            if (p) p++;
        }
        if (k <= ce || k <= cx) continue;
        r->eff[r->n] = v[ce], r->train_loss[r->n] = v[ct], r->test_err[r->n] = v[cx];
        r->wall[r->n] = v[cw], r->evals[r->n] = cg >= 0 ? v[cg] : 0;
        r->n++;
    }
    fclose(f);
    if (r->n == 0) return ent_fail(ENT_EFORMAT, "%s: no rows", path);
    return ENT_OK;
}

/* Row of r shown at grid point e: the evaluation nearest to e, if it lies
 * within tol of it (runs evaluate at slightly different points: Entropy-
 * SGD's updates need not fall on epoch boundaries); else -1. Rounding
 * every evaluation to the grid and taking the last one, as before, showed
 * epoch 7 in the row of 5 and epoch 2 in the row of 0 with --every 5. */
static int row_at(const run_metrics *r, double e, double tol) {
    int found = -1;
    for (int i = 0; i < r->n; i++)
        if (fabs(r->eff[i] - e) <= tol + 1e-9 && (found < 0 || fabs(r->eff[i] - e) < fabs(r->eff[found] - e)))
            found = i;
    return found;
}

/* How far from a grid point an evaluation may lie and still be shown
 * there: half the grid, at most half an epoch. */
static double row_tolerance(double grid) { return grid / 2 < 0.5 ? grid / 2 : 0.5; }

static void print_table(run_metrics *runs, int nr, double grid) {
    printf("%9s", "eff.epoch");
    for (int k = 0; k < nr; k++) printf(" | %-30s", runs[k].label);
    printf("\n%9s", "");
    for (int k = 0; k < nr; k++) printf(" | %10s %9s %9s", "train_loss", "test_err", "wall_s");
    printf("\n");
    /* rows: the grid points near which some run evaluated, ascending */
    const double tol = row_tolerance(grid);
    double last = -INFINITY;
    for (;;) {
        double next = INFINITY;
        for (int k = 0; k < nr; k++)
            for (int i = 0; i < runs[k].n; i++) {
                double e = round(runs[k].eff[i] / grid) * grid;
                if (e > last + 1e-9 && e < next && fabs(runs[k].eff[i] - e) <= tol + 1e-9) next = e;
            }
        if (!isfinite(next)) break;
        printf("%9.4g", next);
        for (int k = 0; k < nr; k++) {
            int i = row_at(&runs[k], next, tol);
            if (i < 0) printf(" | %10s %9s %9s", "-", "-", "-");
            else printf(" | %10.4f %8.2f%% %9.1f", runs[k].train_loss[i], 100 * runs[k].test_err[i], runs[k].wall[i]);
        }
        printf("\n");
        last = next;
    }
}

static void print_summary(run_metrics *runs, int nr) {
    printf("\n%-30s %10s %10s %11s %9s %12s %10s\n", "run", "final_err", "best_err", "(at epoch)",
           "wall_s", "grad_evals", "samples/s");
    for (int k = 0; k < nr; k++) {
        run_metrics *r = &runs[k];
        int best = 0, last = r->n - 1;
        for (int i = 1; i < r->n; i++)
            if (r->test_err[i] < r->test_err[best]) best = i;
        double sps = r->wall[last] > 0 ? r->evals[last] * (double)r->batch / r->wall[last] : 0;
        printf("%-30s %9.2f%% %9.2f%% %11.2f %9.1f %12.0f %10.0f\n", r->label, 100 * r->test_err[last],
               100 * r->test_err[best], r->eff[best], r->wall[last], r->evals[last], sps);
    }
}

int ent_cmd_compare(int argc, char **argv) {
    double every = 1;
    int help = 0, n_dirs = 0;
    char *dirs[MAX_RUNS];
    ent_arg spec[] = {
        {.name = "every", .type = ARG_DOUBLE, .dst = &every, .help = "row spacing in effective epochs (each run's evaluations are rounded to it)"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    if (ent_args_parse(spec, 2, argc, argv, "compare", dirs, MAX_RUNS, &n_dirs) != 0) return 2;
    if (!(every > 0)) {
        fprintf(stderr, "entropic compare: --every must be > 0\n");
        return 2;
    }
    if (help || n_dirs == 0) {
        printf("usage: entropic compare RUNDIR [RUNDIR...] [--every E]\n\n"
               "Side-by-side table of runs by effective epoch (train loss, test error, wall time),\n"
               "then final and best test error, wall time, gradient evaluations and samples/s.\n\n");
        ent_args_help(spec, 2);
        return help ? 0 : 2;
    }
    run_metrics *runs = calloc((size_t)n_dirs, sizeof *runs);
    if (!runs) return ent_cli_status(ent_fail(ENT_ENOMEM, "out of memory"), "compare");
    ent_status s = ENT_OK;
    for (int k = 0; k < n_dirs && s == ENT_OK; k++) s = read_run(dirs[k], &runs[k]);
    if (s == ENT_OK) {
        print_table(runs, n_dirs, every);
        print_summary(runs, n_dirs);
    }
    free(runs);
    return ent_cli_status(s, "compare");
}
