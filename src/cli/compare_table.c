/* compare_table.c — the text of `entropic compare`: one column per run or
 * group of seeds by effective epoch, then the final and best test error.
 * When every group is a single run the columns are the plain values; when
 * some group has seeds, every column shows mean ± sd and n. */
#include <math.h>
#include <stdio.h>

#include "cli/compare.h"

static int grouped(const cmp_group *g, int ng) {
    for (int k = 0; k < ng; k++)
        if (g[k].n > 1) return 1;
    return 0;
}

static void print_header(const cmp_group *g, int ng, int grp) {
    printf("%9s", "eff.epoch");
    for (int k = 0; k < ng; k++) {
        if (!grp) {
            printf(" | %-30s", g[k].label);
            continue;
        }
        char name[80];
        snprintf(name, sizeof name, "%s (n=%d)", g[k].label, g[k].n);
        printf(" | %-44s", name);
    }
    printf("\n%9s", "");
    for (int k = 0; k < ng; k++)
        if (grp) printf(" | %-18s %-16s %7s %2s", "train_loss ± sd", "test_err ± sd", "wall_s", "n"); /* ± is 2 bytes */
        else printf(" | %10s %9s %9s", "train_loss", "test_err", "wall_s");
    printf("\n");
}

/* "mean ± sd" in w + 3 + w2 columns (with % when pct); one run has no
 * spread: "-". */
static const char *pm(char *buf, size_t cap, double m, double sd, int n, int pct) {
    if (pct && n > 1) snprintf(buf, cap, "%6.2f ± %5.2f%%", 100 * m, 100 * sd);
    else if (pct) snprintf(buf, cap, "%6.2f%% ±     -", 100 * m);
    else if (n > 1) snprintf(buf, cap, "%7.4f ± %-7.4f", m, sd);
    else snprintf(buf, cap, "%7.4f ± %-7s", m, "-");
    return buf;
}

static void print_cell(const cmp_cell *c, int grp) {
    char a[48], b[48];
    if (!grp) {
        if (!c->n) printf(" | %10s %9s %9s", "-", "-", "-");
        else printf(" | %10.4f %8.2f%% %9.1f", c->loss, 100 * c->err, c->wall);
    } else if (!c->n) {
        printf(" | %17s %15s %7s %2s", "-", "-", "-", "0");
    } else {
        printf(" | %s %s %7.1f %2d", pm(a, sizeof a, c->loss, c->loss_sd, c->n, 0),
               pm(b, sizeof b, c->err, c->err_sd, c->n, 1), c->wall, c->n);
    }
}

void cmp_print_table(const cmp_run *runs, int nr, const cmp_group *g, int ng, double grid) {
    const int grp = grouped(g, ng);
    const double tol = cmp_tolerance(grid);
    print_header(g, ng, grp);
    for (double e = cmp_next_point(runs, nr, grid, -INFINITY); isfinite(e); e = cmp_next_point(runs, nr, grid, e)) {
        printf("%9.4g", e);
        for (int k = 0; k < ng; k++) {
            cmp_cell c;
            cmp_cell_at(runs, &g[k], e, tol, &c);
            print_cell(&c, grp);
        }
        printf("\n");
    }
}

typedef struct {
    double final_err, best_err, best_at, wall, evals, sps;
} run_end;

static run_end end_of(const cmp_run *r) {
    int best = 0, last = r->n - 1;
    for (int i = 1; i < r->n; i++)
        if (r->test_err[i] < r->test_err[best]) best = i;
    run_end o = {r->test_err[last], r->test_err[best], r->eff[best], r->wall[last], r->evals[last], 0};
    o.sps = r->wall[last] > 0 ? r->evals[last] * (double)r->batch / r->wall[last] : 0;
    return o;
}

void cmp_print_summary(const cmp_run *runs, int nr, const cmp_group *g, int ng) {
    const int grp = grouped(g, ng);
    if (!grp) {
        printf("\n%-30s %10s %10s %11s %9s %12s %10s\n", "run", "final_err", "best_err", "(at epoch)", "wall_s",
               "grad_evals", "samples/s");
        for (int k = 0; k < nr; k++) {
            const run_end o = end_of(&runs[k]);
            printf("%-30s %9.2f%% %9.2f%% %11.2f %9.1f %12.0f %10.0f\n", runs[k].label, 100 * o.final_err,
                   100 * o.best_err, o.best_at, o.wall, o.evals, o.sps);
        }
        return;
    }
    printf("\n%-41s %2s %16s %16s %11s %9s %12s %10s\n", "group (mean ± sd over its runs)", "n", "final_err",
           "best_err", "(at epoch)", "wall_s", "grad_evals", "samples/s");
    for (int k = 0; k < ng; k++) {
        double v[6][CMP_MAX_RUNS], m[6], sd[6];
        for (int j = 0; j < g[k].n; j++) {
            const run_end o = end_of(&runs[g[k].member[j]]);
            v[0][j] = o.final_err, v[1][j] = o.best_err, v[2][j] = o.best_at;
            v[3][j] = o.wall, v[4][j] = o.evals, v[5][j] = o.sps;
        }
        for (int q = 0; q < 6; q++) cmp_mean_sd(v[q], g[k].n, &m[q], &sd[q]);
        char f[48], b[48];
        printf("%-40s %2d %s %s %11.2f %9.1f %12.0f %10.0f\n", g[k].label, g[k].n,
               pm(f, sizeof f, m[0], sd[0], g[k].n, 1), pm(b, sizeof b, m[1], sd[1], g[k].n, 1), m[2], m[3], m[4], m[5]);
    }
}
