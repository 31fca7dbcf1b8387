/* plot_axes.c — see plot.h. Axes with nice ticks (linear or log), the
 * series drawn in them (lines, points, translucent bands, bars), legends
 * and notes. Every size here derives from the axes' font size, and every
 * text is measured, so a panel of any size keeps its labels inside. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/plot.h"

#define MAX_TICKS 64
#define PLOT_PI 3.14159265358979323846

/* Tick positions: linear at 1/2/5 x 10^k steps, log at powers of 10. */
static int ticks(double lo, double hi, int logscale, double target, double *t, double *step_out) {
    int n = 0;
    if (logscale) {
        for (double e = floor(log10(lo)); e <= ceil(log10(hi)) && n < MAX_TICKS; e++) {
            const double v = pow(10.0, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t[n++] = v;
        }
        *step_out = 0;
        return n;
    }
    const double raw = (hi - lo) / target, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    const double step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step && n < MAX_TICKS; v += step)
        t[n++] = fabs(v) < 1e-9 * step ? 0.0 : v;
    *step_out = step;
    return n;
}

static void tick_label(double v, int logscale, double step, char *buf, size_t cap) {
    if (logscale) {
        const int e = (int)lround(log10(v));
        if (e >= -2 && e <= 3) snprintf(buf, cap, "%g", v);
        else snprintf(buf, cap, "1e%d", e);
        return;
    }
    const double a = fabs(v);
    if (v == 0) snprintf(buf, cap, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(buf, cap, "%.3g", v);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(buf, cap, "%.*f", dec > 6 ? 6 : dec, v);
    }
}

double ent_axes_px(const ent_axes *a, double x) {
    const double f = a->logx ? (log10(x) - log10(a->xmin)) / (log10(a->xmax) - log10(a->xmin))
                             : (x - a->xmin) / (a->xmax - a->xmin);
    return a->x0 + f * (a->x1 - a->x0);
}

double ent_axes_py(const ent_axes *a, double y) {
    const double f = a->logy ? (log10(y) - log10(a->ymin)) / (log10(a->ymax) - log10(a->ymin))
                             : (y - a->ymin) / (a->ymax - a->ymin);
    return a->y1 - f * (a->y1 - a->y0);
}

/* As many x ticks as fit side by side with a gap of two font sizes. */
static int fit_xticks(const ent_axes *a, double *xt, double *xs) {
    char buf[32];
    int nx = 0;
    for (double target = 7; target >= 1.5; target -= 1) {
        nx = ticks(a->xmin, a->xmax, a->logx, target, xt, xs);
        double used = 0;
        for (int i = 0; i < nx; i++) {
            tick_label(xt[i], a->logx, *xs, buf, sizeof buf);
            used += ent_text_width(a->c, buf, a->font) + 2 * a->font;
        }
        if (used <= a->x1 - a->x0) break;
    }
    return nx;
}

static void draw_ticks(const ent_axes *a, const double *yt, int ny, double ys, const double *xt, int nx,
                       double xs, int grid) {
    const double f = a->font, th = 1.2 * f;
    char buf[32];
    for (int i = 0; i < ny; i++) {
        const double py = ent_axes_py(a, yt[i]);
        if (grid) ent_canvas_line(a->c, a->x0, py, a->x1, py, 0xe0e0e0, 1, 0);
        ent_canvas_line(a->c, a->x0 - 5, py, a->x0, py, 0x000000, 1, 0);
        tick_label(yt[i], a->logy, ys, buf, sizeof buf);
        ent_canvas_text(a->c, a->x0 - 8, py - th / 2, buf, 0x000000, f, 2, 0);
    }
    for (int i = 0; i < nx; i++) {
        const double px = ent_axes_px(a, xt[i]);
        if (grid) ent_canvas_line(a->c, px, a->y0, px, a->y1, 0xe0e0e0, 1, 0);
        ent_canvas_line(a->c, px, a->y1, px, a->y1 + 5, 0x000000, 1, 0);
        tick_label(xt[i], a->logx, xs, buf, sizeof buf);
        ent_canvas_text(a->c, px, a->y1 + 8, buf, 0x000000, f, 1, 0);
    }
    for (int i = 0; a->logy && i <= ny; i++) /* minor ticks 2..9 x 10^k */
        for (int m = 2; m < 10; m++) {
            const double v = (i < ny ? yt[i] / 10 : yt[ny - 1]) * m;
            if (ny > 0 && v > a->ymin && v < a->ymax)
                ent_canvas_line(a->c, a->x0 - 3, ent_axes_py(a, v), a->x0, ent_axes_py(a, v), 0x000000, 1, 0);
        }
}

/* The y label, read bottom to top, centred on the data area's height. */
static void ylabel(const ent_axes *a, double x, const char *s) {
    cairo_t *cr = a->c->cr;
    cairo_save(cr);
    cairo_translate(cr, x, (a->y0 + a->y1) / 2);
    cairo_rotate(cr, -PLOT_PI / 2);
    ent_canvas_text(a->c, 0, 0, s, 0x000000, a->font, 1, a->y1 - a->y0);
    cairo_restore(cr);
}

ent_axes ent_axes_draw(ent_canvas *c, double x, double y, double w, double h, double xmin, double xmax,
                       double ymin, double ymax, const ent_axes_style *st) {
    ent_axes a = {.c = c, .xmin = xmin, .xmax = xmax, .ymin = ymin, .ymax = ymax,
                  .logx = st->logx, .logy = st->logy, .font = st->font > 0 ? st->font : 15};
    if (!(a.xmax > a.xmin)) a.xmax = a.xmin + (a.logx ? a.xmin : 1.0);
    if (!(a.ymax > a.ymin)) a.ymax = a.ymin + (a.logy ? a.ymin : 1.0);
    const double f = a.font, th = 1.2 * f;
    double yt[MAX_TICKS], xt[MAX_TICKS], ys, xs;
    const int ny = ticks(a.ymin, a.ymax, a.logy, 5, yt, &ys);
    char buf[32];
    double lw = 0, lastw;
    for (int i = 0; i < ny; i++) {
        tick_label(yt[i], a.logy, ys, buf, sizeof buf);
        lw = fmax(lw, ent_text_width(c, buf, f));
    }
    snprintf(buf, sizeof buf, "%.4g", a.xmax); /* about the last x tick label's width */
    lastw = ent_text_width(c, buf, f);
    const double title_h = st->title ? ent_text_height(c, st->title, 1.1 * f, w - 4) + 6 : 4;
    a.x0 = x + (st->ylabel ? th + 6 : 0) + lw + 12;
    a.x1 = x + w - 2 - lastw / 2; /* room for the last x tick label */
    a.y0 = y + title_h + th / 2;
    a.y1 = y + h - 2 - (th + 10) - (st->xlabel ? th + 4 : 0);
    if (st->title) ent_canvas_text(c, x + w / 2, y, st->title, 0x000000, 1.1 * f, 1, w - 4);
    if (st->xlabel) ent_canvas_text(c, (a.x0 + a.x1) / 2, a.y1 + th + 12, st->xlabel, 0x000000, f, 1, a.x1 - a.x0);
    if (st->ylabel) ylabel(&a, x + 2, st->ylabel);
    const int nx = fit_xticks(&a, xt, &xs);
    draw_ticks(&a, yt, ny, ys, xt, nx, xs, st->grid);
    cairo_rectangle(c->cr, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
    cairo_set_source_rgb(c->cr, 0, 0, 0);
    cairo_set_line_width(c->cr, 1);
    cairo_stroke(c->cr);
    return a;
}

/* Drawing in the data area only; ends with unclip(). */
static cairo_t *clip_to(const ent_axes *a) {
    cairo_t *cr = a->c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, a->x0, a->y0, a->x1 - a->x0, a->y1 - a->y0);
    cairo_clip(cr);
    return cr;
}

static void unclip(const ent_axes *a) { cairo_restore(a->c->cr); }

static void source(cairo_t *cr, uint32_t rgb, double alpha) {
    cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0, alpha);
}

static int ok_point(const ent_axes *a, double x, double y) {
    return isfinite(x) && isfinite(y) && (!a->logx || x > 0) && (!a->logy || y > 0);
}

/* Points far outside the data area are pulled in to a few areas away
 * (the clip hides them), so a huge value cannot overflow cairo's fixed
 * point coordinates. */
static double clamp_px(const ent_axes *a, double v, double lo, double hi) {
    const double span = 4 * (hi - lo);
    return v < lo - span ? lo - span : v > hi + span ? hi + span : v;
}
static double X(const ent_axes *a, double x) { return clamp_px(a, ent_axes_px(a, x), a->x0, a->x1); }
static double Y(const ent_axes *a, double y) { return clamp_px(a, ent_axes_py(a, y), a->y0, a->y1); }

void ent_plot_line(const ent_axes *a, const double *x, const double *y, int n, uint32_t rgb, double width,
                   double dash) {
    cairo_t *cr = clip_to(a);
    int pen = 0; /* a gap in the data lifts the pen */
    for (int i = 0; i < n; i++) {
        if (!ok_point(a, x[i], y[i])) pen = 0;
        else if (pen) cairo_line_to(cr, X(a, x[i]), Y(a, y[i]));
        else cairo_move_to(cr, X(a, x[i]), Y(a, y[i])), pen = 1;
    }
    source(cr, rgb, 1);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    if (dash > 0) cairo_set_dash(cr, &dash, 1, 0);
    cairo_stroke(cr);
    unclip(a);
}

void ent_plot_points(const ent_axes *a, const double *x, const double *y, int n, uint32_t rgb, double radius) {
    cairo_t *cr = clip_to(a);
    source(cr, rgb, 1);
    for (int i = 0; i < n; i++)
        if (ok_point(a, x[i], y[i])) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, X(a, x[i]), Y(a, y[i]), radius, 0, 2 * PLOT_PI);
        }
    cairo_fill(cr);
    unclip(a);
}

/* One polygon per run of points where lo and hi are both drawable: along
 * hi, back along lo. */
void ent_plot_band(const ent_axes *a, const double *x, const double *lo, const double *hi, int n, uint32_t rgb) {
    cairo_t *cr = clip_to(a);
    source(cr, rgb, ENT_PLOT_BAND_ALPHA);
    for (int i = 0; i < n;) {
        if (!ok_point(a, x[i], lo[i]) || !ok_point(a, x[i], hi[i])) {
            i++;
            continue;
        }
        int j = i;
        while (j < n && ok_point(a, x[j], lo[j]) && ok_point(a, x[j], hi[j])) j++;
        cairo_move_to(cr, X(a, x[i]), Y(a, hi[i]));
        for (int k = i + 1; k < j; k++) cairo_line_to(cr, X(a, x[k]), Y(a, hi[k]));
        for (int k = j - 1; k >= i; k--) cairo_line_to(cr, X(a, x[k]), Y(a, lo[k]));
        cairo_close_path(cr);
        i = j;
    }
    cairo_fill(cr); /* one fill: a run's polygon never darkens itself */
    unclip(a);
}

void ent_plot_bars(const ent_axes *a, const double *edges, const double *count, int nbins, uint32_t fill) {
    cairo_t *cr = clip_to(a);
    source(cr, fill, 1);
    for (int i = 0; i < nbins; i++) {
        if (!(count[i] > 0) || (a->logy && count[i] < a->ymin)) continue;
        const double x0 = X(a, edges[i]), x1 = X(a, edges[i + 1]), top = Y(a, count[i]);
        cairo_rectangle(cr, x0, top, fmax(x1 - x0 - 0.5, 0.5), a->y1 - top);
    }
    cairo_fill(cr);
    unclip(a);
}

void ent_plot_vline(const ent_axes *a, double x, uint32_t rgb, double dash) {
    if (!ok_point(a, x, a->logy ? a->ymin : 0)) return;
    clip_to(a);
    ent_canvas_line(a->c, X(a, x), a->y0, X(a, x), a->y1, rgb, 1, dash);
    unclip(a);
}

void ent_plot_message(const ent_axes *a, const char *msg) {
    ent_canvas_text(a->c, (a->x0 + a->x1) / 2, (a->y0 + a->y1) / 2 - a->font / 2, msg, 0x666666, a->font, 1,
                    a->x1 - a->x0 - 8);
}

/* A text size at which the widest of lines, plus `extra` pixels, fits in
 * the data area's width, and n lines of 1.3 sizes in its height (never
 * larger than the axes' font). */
static double box_font(const ent_axes *a, const char *const *lines, int n, double extra, double *wmax) {
    double f = a->font, w = 0;
    for (int i = 0; i < n; i++) w = fmax(w, ent_text_width(a->c, lines[i], f));
    const double room = a->x1 - a->x0 - 16 - extra, tall = (a->y1 - a->y0 - 26) / (1.3 * (n > 0 ? n : 1));
    double k = 1;
    if (w > room && room > 0) k = room / w;
    if (tall < f * k && tall > 0) k = tall / f;
    *wmax = w * k;
    return f * k;
}

/* A white, slightly translucent box with a grey frame at a corner;
 * returns its top-left. */
static void corner_box(const ent_axes *a, double w, double h, int corner, double *bx, double *by) {
    cairo_t *cr = a->c->cr;
    *bx = corner % 2 ? a->x1 - 8 - w : a->x0 + 8;
    *by = corner < 2 ? a->y0 + 8 : a->y1 - 8 - h;
    cairo_rectangle(cr, *bx, *by, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

void ent_plot_legend(const ent_axes *a, const char *const *labels, const uint32_t *colors, const int *band, int n,
                     int corner) {
    double w;
    const double f = box_font(a, labels, n, 40, &w), lh = 1.3 * f;
    double bx, by;
    corner_box(a, w + 48, n * lh + 10, corner, &bx, &by);
    for (int i = 0; i < n; i++) {
        const double ly = by + 5 + i * lh, mid = ly + lh / 2;
        if (band && band[i]) {
            source(a->c->cr, colors[i], ENT_PLOT_BAND_ALPHA);
            cairo_rectangle(a->c->cr, bx + 6, mid - f / 2, 28, f);
            cairo_fill(a->c->cr);
        }
        ent_canvas_line(a->c, bx + 6, mid, bx + 34, mid, colors[i], 2.5, 0);
        ent_canvas_text(a->c, bx + 40, mid - 0.6 * f, labels[i], 0x000000, f, 0, 0);
    }
}

void ent_plot_note(const ent_axes *a, const char *const *lines, int n, int corner) {
    double w;
    const double f = box_font(a, lines, n, 0, &w), lh = 1.3 * f;
    double bx, by;
    corner_box(a, w + 12, n * lh + 10, corner, &bx, &by);
    for (int i = 0; i < n; i++) ent_canvas_text(a->c, bx + 6, by + 5 + i * lh + 0.15 * f, lines[i], 0x000000, f, 0, 0);
}

uint32_t ent_plot_color(int i) {
    static const uint32_t pal[] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x17becf};
    return pal[(unsigned)i % (sizeof pal / sizeof pal[0])];
}
