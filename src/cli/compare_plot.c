/* compare_plot.c — `entropic compare --plot FILE`: test error and training
 * loss against effective epochs and against wall time, four panels. A
 * single run is drawn through its own evaluations; a group of seeds
 * through its mean at each point of the --every grid, with a translucent
 * band of ± one standard deviation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/compare.h"
#include "io/plot.h"

#define MAX_PTS CMP_MAX_ROWS

/* A curve: x (effective epoch or wall seconds), y, and the band. */
typedef struct {
    int n, band;
    double x[MAX_PTS], y[MAX_PTS], lo[MAX_PTS], hi[MAX_PTS];
} curve;

/* what: 0 test error (%), 1 train loss; wall: x is wall time. */
static void build_curve(const cmp_run *runs, int nr, const cmp_group *g, double grid, int what, int wall,
                        curve *c) {
    c->n = 0, c->band = g->n > 1;
    if (g->n == 1) {
        const cmp_run *r = &runs[g->member[0]];
        for (int i = 0; i < r->n && i < MAX_PTS; i++, c->n++) {
            c->x[c->n] = wall ? r->wall[i] : r->eff[i];
            c->y[c->n] = c->lo[c->n] = c->hi[c->n] = what ? r->train_loss[i] : 100 * r->test_err[i];
        }
        return;
    }
    const double tol = cmp_tolerance(grid);
    for (double e = cmp_next_point(runs, nr, grid, -INFINITY); isfinite(e) && c->n < MAX_PTS;
         e = cmp_next_point(runs, nr, grid, e)) {
        cmp_cell cell;
        if (!cmp_cell_at(runs, g, e, tol, &cell)) continue;
        const double m = what ? cell.loss : 100 * cell.err, sd = what ? cell.loss_sd : 100 * cell.err_sd;
        c->x[c->n] = wall ? cell.wall : e;
        c->y[c->n] = m, c->lo[c->n] = m - sd, c->hi[c->n] = m + sd;
        c->n++;
    }
}

/* Ranges over every curve; a loss spanning more than a decade goes on a
 * log axis (a training loss falls by orders of magnitude). */
static void ranges(const curve *cv, int ng, double *x0, double *x1, double *y0, double *y1, int *logy) {
    *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
    double pos = INFINITY;
    for (int k = 0; k < ng; k++)
        for (int i = 0; i < cv[k].n; i++) {
            if (!isfinite(cv[k].y[i])) continue;
            *x0 = fmin(*x0, cv[k].x[i]), *x1 = fmax(*x1, cv[k].x[i]);
            *y0 = fmin(*y0, cv[k].lo[i]), *y1 = fmax(*y1, cv[k].hi[i]);
            if (cv[k].lo[i] > 0) pos = fmin(pos, cv[k].lo[i]);
            else if (cv[k].y[i] > 0) pos = fmin(pos, cv[k].y[i]);
        }
    if (!isfinite(*x0)) *x0 = 0, *x1 = 1, *y0 = 0, *y1 = 1;
    *logy = *logy && pos > 0 && isfinite(pos) && *y1 > 10 * pos;
    if (*logy) *y0 = pos / 1.2, *y1 *= 1.2;
    else {
        const double pad = 0.04 * (*y1 - *y0 > 0 ? *y1 - *y0 : 1);
        *y0 = *y0 - pad < 0 && *y0 >= 0 ? 0 : *y0 - pad, *y1 += pad;
    }
}

static void panel(ent_canvas *cv, double x, double y, double w, double h, const cmp_run *runs, int nr,
                  const cmp_group *g, int ng, double grid, int what, int wall, curve *buf) {
    for (int k = 0; k < ng; k++) build_curve(runs, nr, &g[k], grid, what, wall, &buf[k]);
    double x0, x1, y0, y1;
    int logy = what == 1;
    ranges(buf, ng, &x0, &x1, &y0, &y1, &logy);
    char title[96];
    snprintf(title, sizeof title, "%s against %s", what ? "training loss" : "test error",
             wall ? "wall time" : "effective epochs");
    ent_axes_style st = {.title = title, .xlabel = wall ? "wall time [s]" : "effective epoch",
                         .ylabel = what ? (logy ? "train loss (log)" : "train loss") : "test error %",
                         .logy = logy, .grid = 1};
    ent_axes ax = ent_axes_draw(cv, x, y, w, h, x0, x1, y0, y1, &st);
    for (int k = 0; k < ng; k++)
        if (buf[k].band) ent_plot_band(&ax, buf[k].x, buf[k].lo, buf[k].hi, buf[k].n, ent_plot_color(k));
    for (int k = 0; k < ng; k++) ent_plot_line(&ax, buf[k].x, buf[k].y, buf[k].n, ent_plot_color(k), 2, 0);
    if (what || wall) return;
    const char *labels[CMP_MAX_RUNS];
    char names[CMP_MAX_RUNS][80];
    uint32_t cols[CMP_MAX_RUNS];
    int band[CMP_MAX_RUNS];
    for (int k = 0; k < ng; k++) {
        if (g[k].n > 1) snprintf(names[k], sizeof names[k], "%s: mean " PLOT_PM " sd, n=%d", g[k].label, g[k].n);
        else snprintf(names[k], sizeof names[k], "%s", g[k].label);
        labels[k] = names[k], cols[k] = ent_plot_color(k), band[k] = g[k].n > 1;
    }
    ent_plot_legend(&ax, labels, cols, band, ng, 1);
}

ent_status cmp_plot(const cmp_run *runs, int nr, const cmp_group *g, int ng, double grid, const char *path) {
    ent_canvas *cv;
    ent_status s = ent_canvas_new(&cv, path, 1200, 880);
    if (s != ENT_OK) return s;
    curve *buf = malloc((size_t)ng * sizeof *buf);
    if (!buf) {
        ent_canvas_free(cv);
        return ent_fail(ENT_ENOMEM, "%s: out of memory for the curves", path);
    }
    char title[160];
    snprintf(title, sizeof title, "%d run%s in %d curve%s; groups of seeds: mean " PLOT_PM " one standard deviation",
             nr, nr > 1 ? "s" : "", ng, ng > 1 ? "s" : "");
    const double top = 8 + ent_canvas_text(cv, 600, 8, title, 0x000000, 17, 1, 1180) + 8, h = (880 - top - 10) / 2;
    for (int what = 0; what < 2; what++)
        for (int wall = 0; wall < 2; wall++)
            panel(cv, 10 + 595 * wall, top + h * what + 5 * what, 585, h - 5, runs, nr, g, ng, grid, what, wall, buf);
    free(buf);
    s = ent_canvas_save(cv);
    ent_canvas_free(cv);
    return s;
}
