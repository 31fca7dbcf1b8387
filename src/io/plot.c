/* plot.c — see plot.h. The canvas (a cairo image or SVG surface), text that
 * is measured and fitted, and the output: encoded in memory, then written
 * atomically, so a failed or interrupted save never leaves half a file. */
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io/plot.h"

#define FONT "DejaVu Sans"
#define MIN_SHRINK 0.75 /* below this a text wraps rather than shrinking further */
#define MAX_LINES 6
#define LINE_CAP 256

/* LeakSanitizer's hook (read in sanitizer builds, unused otherwise):
 * fontconfig, which cairo asks for DejaVu Sans, keeps its pattern caches
 * for the life of the process by design. Only allocations made inside
 * libfontconfig are excused; a cairo object we forget still shows. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

/* 1 PNG, 2 SVG, 0 neither. */
static int format_of(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return 0;
    if (strcasecmp(dot, ".png") == 0) return 1;
    if (strcasecmp(dot, ".svg") == 0) return 2;
    return 0;
}

ent_status ent_plot_check_path(const char *path) {
    if (!format_of(path)) return ent_fail(ENT_EINVAL, "%s: unknown picture format (the name must end in .png or .svg)", path);
    char dir[600];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (access(dir, W_OK) != 0)
        return ent_fail(ENT_EIO, "%s: cannot write there: %s: %s", path, dir, strerror(errno));
    return ENT_OK;
}

/* cairo's write callback: append to the canvas's buffer. */
static cairo_status_t collect(void *closure, const unsigned char *data, unsigned int n) {
    ent_canvas *c = closure;
    if (c->failed) return CAIRO_STATUS_NO_MEMORY;
    if (c->len + n > c->cap) {
        size_t cap = (c->cap ? 2 * c->cap : 65536) + n;
        unsigned char *b = realloc(c->buf, cap);
        if (!b) {
            c->failed = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        c->buf = b, c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return CAIRO_STATUS_SUCCESS;
}

ent_status ent_canvas_new(ent_canvas **out, const char *path, int w, int h) {
    *out = NULL;
    if (!format_of(path)) return ent_plot_check_path(path);
    ent_status s;
    if (w < 1 || h < 1 || w > 8192 || h > 8192) return ent_fail(ENT_EINVAL, "%s: picture size %dx%d", path, w, h);
    ent_canvas *c = calloc(1, sizeof *c);
    if (!c) return ent_fail(ENT_ENOMEM, "%s: out of memory for the picture", path);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->w = w, c->h = h, c->svg = format_of(path) == 2;
    c->surface = c->svg ? cairo_svg_surface_create_for_stream(collect, c, w, h)
                        : cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (c->svg) cairo_svg_surface_set_document_unit(c->surface, CAIRO_SVG_UNIT_PX); /* the PNG's size, not points */
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        s = ent_fail(ENT_ENOMEM, "%s: cannot make the picture: %s", path, cairo_status_to_string(cairo_status(c->cr)));
        ent_canvas_free(c);
        return s;
    }
    /* unhinted metrics: text measures the same in PNG and SVG */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(c->cr, fo);
    cairo_font_options_destroy(fo);
    cairo_select_font_face(c->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    *out = c;
    return ENT_OK;
}

void ent_canvas_free(ent_canvas *c) {
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    free(c->buf);
    free(c);
}

ent_status ent_canvas_save(ent_canvas *c) {
    cairo_status_t st = cairo_status(c->cr);
    if (st == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(c->surface);
        if (c->svg) cairo_surface_finish(c->surface); /* emits the rest of the stream */
        else c->len = 0, st = cairo_surface_write_to_png_stream(c->surface, collect, c);
        if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(c->surface);
    }
    if (c->failed) return ent_fail(ENT_ENOMEM, "%s: out of memory encoding the picture", c->path);
    if (st != CAIRO_STATUS_SUCCESS) return ent_fail(ENT_EIO, "%s: drawing failed: %s", c->path, cairo_status_to_string(st));
    return ent_write_file_atomic(c->path, c->buf, c->len);
}

static void set_rgb(cairo_t *cr, uint32_t rgb, double alpha) {
    cairo_set_source_rgba(cr, ((rgb >> 16) & 255) / 255.0, ((rgb >> 8) & 255) / 255.0, (rgb & 255) / 255.0, alpha);
}

void ent_canvas_line(ent_canvas *c, double x0, double y0, double x1, double y1, uint32_t rgb, double width,
                     double dash) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    cairo_t *cr = c->cr;
    cairo_save(cr);
    set_rgb(cr, rgb, 1);
    cairo_set_line_width(cr, width);
    if (dash > 0) cairo_set_dash(cr, &dash, 1, 0);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ------------------------------------------------------------------ text */

double ent_text_width(ent_canvas *c, const char *s, double size) {
    cairo_text_extents_t e;
    cairo_set_font_size(c->cr, size);
    cairo_text_extents(c->cr, s, &e);
    return e.x_advance;
}

/* Greedy wrap of s at spaces into lines no wider than max_w at size
 * (a single word wider than that is a line of its own). */
static int wrap(ent_canvas *c, const char *s, double size, double max_w, char lines[MAX_LINES][LINE_CAP]) {
    int n = 0;
    size_t len = 0; /* of lines[n] */
    lines[0][0] = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        const size_t wl = strcspn(p, " ");
        if (!wl) break;
        char trial[LINE_CAP];
        const int sep = len > 0;
        if (len + sep + wl >= LINE_CAP) break; /* longer than any picture holds */
        memcpy(trial, lines[n], len);
        if (sep) trial[len] = ' ';
        memcpy(trial + len + sep, p, wl);
        trial[len + sep + wl] = 0;
        if (len > 0 && ent_text_width(c, trial, size) > max_w) {
            if (n + 1 == MAX_LINES) break;
            n++;
            memcpy(trial, p, wl);
            trial[wl] = 0;
        }
        memcpy(lines[n], trial, strlen(trial) + 1);
        len = strlen(trial);
        p += wl;
    }
    return n + 1;
}

/* Lay s out within max_w: its lines and each line's size. */
static int layout(ent_canvas *c, const char *s, double size, double max_w, char lines[MAX_LINES][LINE_CAP],
                  double sizes[MAX_LINES]) {
    const double w = ent_text_width(c, s, size);
    int n = 1;
    snprintf(lines[0], sizeof lines[0], "%s", s);
    if (max_w > 0 && w > max_w && w * MIN_SHRINK > max_w && strchr(s, ' '))
        n = wrap(c, s, size * MIN_SHRINK, max_w, lines), size *= MIN_SHRINK;
    for (int i = 0; i < n; i++) {
        const double wi = ent_text_width(c, lines[i], size);
        sizes[i] = max_w > 0 && wi > max_w ? size * max_w / wi : size;
    }
    return n;
}

static double draw_text(ent_canvas *c, double x, double y, const char *s, uint32_t rgb, double size, int align,
                        double max_w, int draw) {
    char lines[MAX_LINES][LINE_CAP];
    double sizes[MAX_LINES], top = y;
    const int n = layout(c, s, size, max_w, lines, sizes);
    for (int i = 0; i < n; i++) {
        cairo_font_extents_t fe;
        cairo_set_font_size(c->cr, sizes[i]);
        cairo_font_extents(c->cr, &fe);
        if (draw) {
            const double w = ent_text_width(c, lines[i], sizes[i]);
            set_rgb(c->cr, rgb, 1);
            cairo_move_to(c->cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), top + fe.ascent);
            cairo_show_text(c->cr, lines[i]);
        }
        top += fe.ascent + fe.descent;
    }
    return top - y;
}

double ent_canvas_text(ent_canvas *c, double x, double y, const char *s, uint32_t rgb, double size, int align,
                       double max_w) {
    return draw_text(c, x, y, s, rgb, size, align, max_w, 1);
}

double ent_text_height(ent_canvas *c, const char *s, double size, double max_w) {
    return draw_text(c, 0, 0, s, 0, size, 0, max_w, 0);
}
