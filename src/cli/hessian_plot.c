/* hessian_plot.c — the pictures of `entropic hessian`, after Fig. 1 of the
 * Entropy-SGD paper: a histogram of the eigenvalues near zero (log counts)
 * with the two tails in panels above it, and a box with the numbers (the
 * fraction with |lambda| below the threshold, the extremes). The same
 * picture serves the exact spectrum (counts of eigenvalues) and the SLQ
 * density (n times the smoothed quadrature measure per bin). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/analysis_cli.h"
#include "io/plot.h"

#define CENTRE_BINS 101
#define TAIL_BINS 40

/* Mass of the measure in [a, b], times count_scale. */
static double mass(const ent_spectrum_picture *p, double a, double b) {
    double m = 0.0;
    for (int64_t j = 0; j < p->n; j++) {
        const double w = p->w ? p->w[j] : 1.0;
        if (p->sigma > 0)
            m += w * 0.5 * (erf((b - p->x[j]) / (p->sigma * sqrt(2.0))) - erf((a - p->x[j]) / (p->sigma * sqrt(2.0))));
        else if (p->x[j] >= a && p->x[j] < b)
            m += w;
    }
    return m * p->count_scale;
}

/* 1, 2 or 5 times a power of 10, >= x */
static double nice_up(double x) {
    const double e = pow(10.0, floor(log10(x))), r = x / e;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * e;
}

/* Half-width of the centre window: the 95% quantile of |lambda| (by
 * weight), at least 10x the threshold and 3 kernel widths. */
static double centre_width(const ent_spectrum_picture *p) {
    double lo = 0, hi = 0, tot = 0;
    for (int64_t j = 0; j < p->n; j++) {
        hi = fmax(hi, fabs(p->x[j]) + 3 * p->sigma);
        tot += p->w ? p->w[j] : 1.0;
    }
    for (int it = 0; it < 60; it++) { /* bisection on the weighted CDF of |x| */
        const double mid = 0.5 * (lo + hi);
        double in = 0;
        for (int64_t j = 0; j < p->n; j++) in += fabs(p->x[j]) <= mid ? (p->w ? p->w[j] : 1.0) : 0.0;
        if (in >= 0.95 * tot) hi = mid;
        else lo = mid;
    }
    return nice_up(fmax(hi, fmax(10 * p->threshold, 3 * p->sigma)));
}

static void histogram(ent_canvas *c, const ent_spectrum_picture *p, double x, double y, double w, double h,
                      double a, double b, int bins, const char *title, uint32_t colour, int marks) {
    double edges[CENTRE_BINS + 1], count[CENTRE_BINS], top = 1.0;
    for (int i = 0; i <= bins; i++) edges[i] = a + (b - a) * i / bins;
    for (int i = 0; i < bins; i++) top = fmax(top, count[i] = mass(p, edges[i], edges[i + 1]));
    ent_axes_style st = {.title = title, .xlabel = p->xlabel ? p->xlabel : "eigenvalue " PLOT_LAMBDA, .ylabel = "count (log)", .logy = 1};
    ent_axes ax = ent_axes_draw(c, x, y, w, h, a, b, 0.5, pow(10.0, ceil(log10(top * 2))), &st);
    ent_plot_bars(&ax, edges, count, bins, colour);
    if (marks) {
        ent_plot_vline(&ax, -p->threshold, 0x000000, 4);
        ent_plot_vline(&ax, p->threshold, 0x000000, 4);
    }
}

static void empty_panel(ent_canvas *c, double x, double y, double w, double h, const char *title, const char *msg) {
    ent_axes_style st = {.title = title};
    ent_axes ax = ent_axes_draw(c, x, y, w, h, 0, 1, 0, 1, &st);
    ent_plot_message(&ax, msg);
}

/* The picture's title across the top; returns where the panels start. */
static double heading(ent_canvas *c, const char *title) {
    return 8 + ent_canvas_text(c, c->w / 2.0, 8, title, 0x000000, 17, 1, c->w - 20) + 8;
}

ent_status ent_spectrum_plot(const ent_spectrum_picture *p, const char *path) {
    ent_canvas *c;
    ent_status s = ent_canvas_new(&c, path, 1200, 840);
    if (s != ENT_OK) return s;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t j = 0; j < p->n; j++) lo = fmin(lo, p->x[j]), hi = fmax(hi, p->x[j]);
    const double cw = centre_width(p), top = heading(c, p->title);
    char t1[96], t2[96], t3[96];
    snprintf(t1, sizeof t1, "negative tail [%.3g, %.3g]", lo, -cw);
    if (lo < -cw) histogram(c, p, 10, top, 390, 350, lo, -cw, TAIL_BINS, t1, 0xd62728, 0);
    else empty_panel(c, 10, top, 390, 350, "negative tail", "none below -window");
    snprintf(t2, sizeof t2, "positive tail [%.3g, %.3g]", cw, hi);
    if (hi > cw) histogram(c, p, 800, top, 390, 350, cw, hi, TAIL_BINS, t2, 0x2ca02c, 0);
    else empty_panel(c, 800, top, 390, 350, "positive tail", "none above window");
    for (int i = 0; i < p->n_note; i++) ent_canvas_text(c, 420, top + 20 + i * 26, p->note[i], 0x000000, 15, 0, 370);
    snprintf(t3, sizeof t3, "near zero [-%.3g, %.3g]; dashed: |" PLOT_LAMBDA "| = %.3g", cw, cw, p->threshold);
    histogram(c, p, 10, top + 370, 1180, 840 - top - 380, -cw, cw, CENTRE_BINS, t3, 0x1f77b4, 1);
    s = ent_canvas_save(c);
    ent_canvas_free(c);
    return s;
}

/* Eigenvalue against rank. Values of one sign spanning more than a decade
 * go on a log axis (the negative ones as -lambda): on a linear one the top
 * eigenvalue flattens all the others against the floor. */
static void extremes_panel(ent_canvas *c, double x, double y, const double *v, int k, const char *title,
                           uint32_t col) {
    double r[256], u[256], lo = INFINITY, hi = -INFINITY;
    k = k < 256 ? k : 256;
    for (int i = 0; i < k; i++) r[i] = i + 1, lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    const int neg = hi < 0, logy = (lo > 0 && hi >= 10 * lo) || (neg && lo <= 10 * hi);
    for (int i = 0; i < k; i++) u[i] = logy && neg ? -v[i] : v[i];
    ent_axes_style st = {.title = title, .xlabel = "rank", .grid = 1, .logy = logy,
                         .ylabel = !logy ? "eigenvalue" : neg ? "-eigenvalue (log)" : "eigenvalue (log)"};
    double ymin, ymax;
    if (logy) {
        ymin = neg ? -hi : lo, ymax = neg ? -lo : hi;
        ymin = pow(10.0, floor(log10(ymin))), ymax = pow(10.0, ceil(log10(ymax) + 1e-9));
    } else {
        const double pad = fmax(0.05 * (hi - lo), 1e-12 + 0.05 * fabs(hi));
        ymin = lo - pad, ymax = hi + pad;
    }
    ent_axes ax = ent_axes_draw(c, x, y, 580, 430, 0.5, k + 0.5, ymin, ymax, &st);
    ent_plot_line(&ax, r, u, k, col, 1.5, 0);
    ent_plot_points(&ax, r, u, k, col, 3);
}

ent_status ent_extremes_plot(const char *title, const double *top, const double *bottom, int k,
                             const char *const *note, int n_note, const char *path) {
    ent_canvas *c;
    ent_status s = ent_canvas_new(&c, path, 1200, 500 + 26 * n_note + 10);
    if (s != ENT_OK) return s;
    const double y = heading(c, title);
    extremes_panel(c, 10, y, top, k, "largest eigenvalues", 0x2ca02c);
    extremes_panel(c, 610, y, bottom, k, "smallest (most negative) eigenvalues", 0xd62728);
    for (int i = 0; i < n_note; i++) ent_canvas_text(c, 20, y + 445 + i * 26, note[i], 0x000000, 15, 0, 1160);
    s = ent_canvas_save(c);
    ent_canvas_free(c);
    return s;
}
