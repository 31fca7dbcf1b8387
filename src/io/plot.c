/* plot.c — see plot.h. Raster drawing on an RGB canvas, axes with nice
 * ticks, histogram/curve/band/legend helpers, PNG output with libpng
 * (encoded in memory, then written atomically). */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/plot.h"

const char *ent_font_row(unsigned char c, int r); /* font.c */

ent_canvas *ent_canvas_new(int w, int h) {
    if (w < 1 || h < 1 || w > 8192 || h > 8192) return NULL;
    ent_canvas *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->rgb = malloc((size_t)w * (size_t)h * 3);
    if (!c->rgb) {
        free(c);
        return NULL;
    }
    memset(c->rgb, 255, (size_t)w * (size_t)h * 3);
    c->w = w, c->h = h;
    ent_canvas_noclip(c);
    return c;
}

void ent_canvas_free(ent_canvas *c) {
    if (!c) return;
    free(c->rgb);
    free(c);
}

void ent_canvas_clip(ent_canvas *c, int x0, int y0, int x1, int y1) {
    c->cx0 = x0 < 0 ? 0 : x0, c->cy0 = y0 < 0 ? 0 : y0;
    c->cx1 = x1 >= c->w ? c->w - 1 : x1, c->cy1 = y1 >= c->h ? c->h - 1 : y1;
}

void ent_canvas_noclip(ent_canvas *c) { ent_canvas_clip(c, 0, 0, c->w - 1, c->h - 1); }

static void pixel(ent_canvas *c, int x, int y, uint32_t rgb) {
    if (x < c->cx0 || x > c->cx1 || y < c->cy0 || y > c->cy1) return;
    uint8_t *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = (uint8_t)(rgb >> 16), p[1] = (uint8_t)(rgb >> 8), p[2] = (uint8_t)rgb;
}

void ent_canvas_rect(ent_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb) {
    if (x0 > x1) { int t = x0; x0 = x1; x1 = t; }
    if (y0 > y1) { int t = y0; y0 = y1; y1 = t; }
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) pixel(c, x, y, rgb);
}

/* Sample the segment at unit steps; square brush of `width`. */
void ent_canvas_line(ent_canvas *c, double x0, double y0, double x1, double y1, uint32_t rgb,
                     int width, int dash) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    const double len = hypot(x1 - x0, y1 - y0);
    if (len > 1e5) return; /* off any sane canvas */
    const int steps = (int)ceil(len) + 1, lo = -(width - 1) / 2, hi = width / 2;
    for (int i = 0; i <= steps; i++) {
        if (dash > 0 && (i / dash) % 2) continue;
        const double t = (double)i / steps;
        const int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        for (int dy = lo; dy <= hi; dy++)
            for (int dx = lo; dx <= hi; dx++) pixel(c, x + dx, y + dy, rgb);
    }
}

int ent_text_width(const char *s, int scale) { return (int)strlen(s) * 6 * scale; }

void ent_canvas_text(ent_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale,
                     int align, int vertical) {
    const int w = ent_text_width(s, scale);
    const int off = align == 1 ? w / 2 : align == 2 ? w : 0;
    for (int i = 0; s[i]; i++)
        for (int r = 0; r < 9; r++) {
            const char *row = ent_font_row((unsigned char)s[i], r);
            for (int k = 0; row && k < 5; k++) {
                if (row[k] != '#') continue;
                const int gx = i * 6 * scale + k * scale, gy = r * scale; /* in the text box */
                for (int a = 0; a < scale; a++)
                    for (int b = 0; b < scale; b++) {
                        if (vertical) /* box rotated: reading upwards from y + off */
                            pixel(c, x + gy + b, y + off - gx - a, rgb);
                        else
                            pixel(c, x - off + gx + a, y + gy + b, rgb);
                    }
            }
        }
}

/* ------------------------------------------------------------------ PNG */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int failed;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (m->failed) return;
    if (m->len + n > m->cap) {
        size_t cap = (m->cap ? 2 * m->cap : 65536) + n;
        unsigned char *b = realloc(m->buf, cap);
        if (!b) {
            m->failed = 1;
            return;
        }
        m->buf = b, m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* The encoder state lives on the heap: libpng reports errors by longjmp,
 * after which locals changed since setjmp would be indeterminate. */
ent_status ent_canvas_save_png(const ent_canvas *c, const char *path) {
    membuf *m = calloc(1, sizeof *m);
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)c->h);
    png_structp png = m && rows ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL) : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        free(rows), free(m);
        return ent_fail(ENT_ENOMEM, "%s: cannot set up the PNG encoder", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows), free(m->buf), free(m);
        return ent_fail(ENT_EIO, "%s: PNG encoding failed", path);
    }
    png_set_write_fn(png, m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    for (int y = 0; y < c->h; y++) rows[y] = c->rgb + (size_t)y * (size_t)c->w * 3;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    ent_status s = m->failed ? ent_fail(ENT_ENOMEM, "%s: out of memory encoding the PNG", path)
                             : ent_write_file_atomic(path, m->buf, m->len);
    free(rows), free(m->buf), free(m);
    return s;
}

/* ----------------------------------------------------------------- axes */

#define MAX_TICKS 64

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

ent_axes ent_axes_draw(ent_canvas *c, int x, int y, int w, int h, double xmin, double xmax,
                       double ymin, double ymax, const ent_axes_style *st) {
    ent_axes a = {.c = c, .xmin = xmin, .xmax = xmax, .ymin = ymin, .ymax = ymax,
                  .logx = st->logx, .logy = st->logy, .scale = st->scale ? st->scale : 2};
    if (!(a.xmax > a.xmin)) a.xmax = a.xmin + (a.logx ? a.xmin : 1.0);
    if (!(a.ymax > a.ymin)) a.ymax = a.ymin + (a.logy ? a.ymin : 1.0);
    const int s = a.scale, th = ENT_TEXT_H(s);
    double yt[MAX_TICKS], xt[MAX_TICKS], ys, xs;
    const int ny = ticks(a.ymin, a.ymax, a.logy, 5, yt, &ys);
    char buf[32];
    int lw = 0;
    for (int i = 0; i < ny; i++) {
        tick_label(yt[i], a.logy, ys, buf, sizeof buf);
        if (ent_text_width(buf, s) > lw) lw = ent_text_width(buf, s);
    }
    a.x0 = x + (st->ylabel ? th + 4 : 0) + lw + 10;
    a.x1 = x + w - 1 - ent_text_width("-0.00", s) / 2; /* room for the last x label */
    int nx = 0;
    for (double target = 6; target >= 1.5; target -= 1) { /* as many x ticks as fit */
        nx = ticks(a.xmin, a.xmax, a.logx, target, xt, &xs);
        int used = 0;
        for (int i = 0; i < nx; i++) {
            tick_label(xt[i], a.logx, xs, buf, sizeof buf);
            used += ent_text_width(buf, s) + 3 * s * 6;
        }
        if (used <= a.x1 - a.x0) break;
    }
    a.y0 = y + (st->title ? th + 6 : 4);
    a.y1 = y + h - 1 - (th + 8) - (st->xlabel ? th + 4 : 0);
    ent_canvas_noclip(c);
    if (st->title) ent_canvas_text(c, (a.x0 + a.x1) / 2, y, st->title, 0x000000, s, 1, 0);
    if (st->xlabel) ent_canvas_text(c, (a.x0 + a.x1) / 2, a.y1 + th + 12, st->xlabel, 0x000000, s, 1, 0);
    if (st->ylabel) ent_canvas_text(c, x, (a.y0 + a.y1) / 2, st->ylabel, 0x000000, s, 1, 1);
    for (int i = 0; i < ny; i++) {
        const int py = (int)lround(ent_axes_py(&a, yt[i]));
        if (st->grid) ent_canvas_line(c, a.x0, py, a.x1, py, 0xe4e4e4, 1, 0);
        ent_canvas_line(c, a.x0 - 5, py, a.x0, py, 0x000000, 1, 0);
        tick_label(yt[i], a.logy, ys, buf, sizeof buf);
        ent_canvas_text(c, a.x0 - 8, py - th / 2 + s, buf, 0x000000, s, 2, 0);
    }
    for (int i = 0; i < nx; i++) {
        const int px = (int)lround(ent_axes_px(&a, xt[i]));
        if (st->grid) ent_canvas_line(c, px, a.y0, px, a.y1, 0xe4e4e4, 1, 0);
        ent_canvas_line(c, px, a.y1, px, a.y1 + 5, 0x000000, 1, 0);
        tick_label(xt[i], a.logx, xs, buf, sizeof buf);
        ent_canvas_text(c, px, a.y1 + 8, buf, 0x000000, s, 1, 0);
    }
    for (int i = 0; a.logy && i < ny + 1; i++) /* minor ticks 2..9 x 10^k */
        for (int m = 2; m < 10; m++) {
            const double v = (i < ny ? yt[i] / 10 : yt[ny - 1]) * m;
            if (v > a.ymin && v < a.ymax) {
                const int py = (int)lround(ent_axes_py(&a, v));
                ent_canvas_line(c, a.x0 - 3, py, a.x0, py, 0x000000, 1, 0);
            }
        }
    ent_canvas_line(c, a.x0, a.y0, a.x1, a.y0, 0x000000, 1, 0);
    ent_canvas_line(c, a.x0, a.y1, a.x1, a.y1, 0x000000, 1, 0);
    ent_canvas_line(c, a.x0, a.y0, a.x0, a.y1, 0x000000, 1, 0);
    ent_canvas_line(c, a.x1, a.y0, a.x1, a.y1, 0x000000, 1, 0);
    return a;
}

static void clip_to(const ent_axes *a) { ent_canvas_clip(a->c, a->x0 + 1, a->y0 + 1, a->x1 - 1, a->y1 - 1); }

static int ok_point(const ent_axes *a, double x, double y) {
    return isfinite(x) && isfinite(y) && (!a->logx || x > 0) && (!a->logy || y > 0);
}

void ent_plot_line(const ent_axes *a, const double *x, const double *y, int n, uint32_t rgb,
                   int width, int dash) {
    clip_to(a);
    for (int i = 1; i < n; i++)
        if (ok_point(a, x[i - 1], y[i - 1]) && ok_point(a, x[i], y[i]))
            ent_canvas_line(a->c, ent_axes_px(a, x[i - 1]), ent_axes_py(a, y[i - 1]), ent_axes_px(a, x[i]),
                            ent_axes_py(a, y[i]), rgb, width, dash);
    ent_canvas_noclip(a->c);
}

void ent_plot_points(const ent_axes *a, const double *x, const double *y, int n, uint32_t rgb,
                     int radius) {
    clip_to(a);
    for (int i = 0; i < n; i++)
        if (ok_point(a, x[i], y[i])) {
            const int px = (int)lround(ent_axes_px(a, x[i])), py = (int)lround(ent_axes_py(a, y[i]));
            ent_canvas_rect(a->c, px - radius, py - radius, px + radius, py + radius, rgb);
        }
    ent_canvas_noclip(a->c);
}

static uint32_t lighten(uint32_t rgb, double f) {
    uint32_t out = 0;
    for (int sh = 0; sh <= 16; sh += 8) {
        const double v = (double)((rgb >> sh) & 255);
        out |= (uint32_t)lround(v + (255 - v) * f) << sh;
    }
    return out;
}

void ent_plot_band(const ent_axes *a, const double *x, const double *lo, const double *hi, int n,
                   uint32_t rgb) {
    clip_to(a);
    const uint32_t light = lighten(rgb, 0.75);
    for (int i = 1; i < n; i++) { /* fill column by column between the two polylines */
        if (!ok_point(a, x[i - 1], lo[i - 1]) || !ok_point(a, x[i], lo[i]) || !ok_point(a, x[i - 1], hi[i - 1]) ||
            !ok_point(a, x[i], hi[i]))
            continue;
        const double p0 = ent_axes_px(a, x[i - 1]), p1 = ent_axes_px(a, x[i]);
        for (int px = (int)ceil(p0); px <= (int)floor(p1); px++) {
            const double t = p1 > p0 ? (px - p0) / (p1 - p0) : 0;
            const double yl = ent_axes_py(a, lo[i - 1]) + t * (ent_axes_py(a, lo[i]) - ent_axes_py(a, lo[i - 1]));
            const double yh = ent_axes_py(a, hi[i - 1]) + t * (ent_axes_py(a, hi[i]) - ent_axes_py(a, hi[i - 1]));
            ent_canvas_rect(a->c, px, (int)lround(yh), px, (int)lround(yl), light);
        }
    }
    ent_canvas_noclip(a->c);
}

void ent_plot_bars(const ent_axes *a, const double *edges, const double *count, int nbins,
                   uint32_t fill) {
    clip_to(a);
    for (int i = 0; i < nbins; i++) {
        if (!(count[i] > 0) || (a->logy && count[i] < a->ymin)) continue;
        const int x0 = (int)lround(ent_axes_px(a, edges[i])), x1 = (int)lround(ent_axes_px(a, edges[i + 1]));
        const int top = (int)lround(ent_axes_py(a, count[i]));
        ent_canvas_rect(a->c, x0, top, x1 > x0 ? x1 - 1 : x0, a->y1 - 1, fill);
    }
    ent_canvas_noclip(a->c);
}

void ent_plot_vline(const ent_axes *a, double x, uint32_t rgb, int dash) {
    if (!ok_point(a, x, a->logy ? a->ymin : 0)) return;
    clip_to(a);
    const double px = ent_axes_px(a, x);
    ent_canvas_line(a->c, px, a->y0, px, a->y1, rgb, 1, dash);
    ent_canvas_noclip(a->c);
}

/* A white box with a grey frame at a corner; returns its top-left. */
static void corner_box(const ent_axes *a, int w, int h, int corner, int *bx, int *by) {
    *bx = corner % 2 ? a->x1 - 8 - w : a->x0 + 8;
    *by = corner < 2 ? a->y0 + 8 : a->y1 - 8 - h;
    ent_canvas_rect(a->c, *bx, *by, *bx + w, *by + h, 0xffffff);
    ent_canvas_line(a->c, *bx, *by, *bx + w, *by, 0x999999, 1, 0);
    ent_canvas_line(a->c, *bx, *by + h, *bx + w, *by + h, 0x999999, 1, 0);
    ent_canvas_line(a->c, *bx, *by, *bx, *by + h, 0x999999, 1, 0);
    ent_canvas_line(a->c, *bx + w, *by, *bx + w, *by + h, 0x999999, 1, 0);
}

void ent_plot_legend(const ent_axes *a, const char *const *labels, const uint32_t *colors, int n,
                     int corner) {
    const int s = a->scale, th = ENT_TEXT_H(s);
    int w = 0, bx, by;
    for (int i = 0; i < n; i++)
        if (ent_text_width(labels[i], s) > w) w = ent_text_width(labels[i], s);
    corner_box(a, w + 44, n * (th + 4) + 8, corner, &bx, &by);
    for (int i = 0; i < n; i++) {
        const int ly = by + 6 + i * (th + 4);
        ent_canvas_line(a->c, bx + 6, ly + th / 2, bx + 32, ly + th / 2, colors[i], 3, 0);
        ent_canvas_text(a->c, bx + 38, ly, labels[i], 0x000000, s, 0, 0);
    }
}

void ent_plot_note(const ent_axes *a, const char *const *lines, int n, int corner) {
    const int s = a->scale, th = ENT_TEXT_H(s);
    int w = 0, bx, by;
    for (int i = 0; i < n; i++)
        if (ent_text_width(lines[i], s) > w) w = ent_text_width(lines[i], s);
    corner_box(a, w + 12, n * (th + 4) + 8, corner, &bx, &by);
    for (int i = 0; i < n; i++) ent_canvas_text(a->c, bx + 6, by + 6 + i * (th + 4), lines[i], 0x000000, s, 0, 0);
}

uint32_t ent_plot_color(int i) {
    static const uint32_t pal[] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x17becf};
    return pal[(unsigned)i % (sizeof pal / sizeof pal[0])];
}
