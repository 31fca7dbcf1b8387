/* plot.h — the pictures of entropic (internal), drawn with cairo: a canvas
 * that becomes a PNG (cairo's image surface) or an SVG (its vector
 * surface), chosen by the file's extension; anti-aliased text in DejaVu
 * Sans that is measured, so titles, labels and legends shrink or wrap to
 * fit instead of running off the edge; axes with "nice" ticks, linear or
 * log; lines, points, translucent error bands, histograms, legends.
 *
 * Coordinates are pixels (SVG: the same numbers as user units), x to the
 * right, y DOWN, (0, 0) the top-left. Colours are 0xRRGGBB. Text sizes are
 * font sizes in pixels. Strings are UTF-8; the macros below name the
 * symbols the pictures use. */
#ifndef ENT_PLOT_H
#define ENT_PLOT_H

#include <cairo.h>
#include <stdint.h>

#include "entropic.h"

#define PLOT_SIGMA "\xcf\x83"  /* σ */
#define PLOT_GAMMA "\xce\xb3"  /* γ */
#define PLOT_LAMBDA "\xce\xbb" /* λ */
#define PLOT_PM "\xc2\xb1"     /* ± */

/* How opaque an error band is: two overlapping bands both stay visible. */
#define ENT_PLOT_BAND_ALPHA 0.22

typedef struct {
    cairo_surface_t *surface; /* RGB24 image (PNG) or SVG stream */
    cairo_t *cr;
    int w, h, svg;
    char path[600];
    unsigned char *buf; /* the SVG stream's bytes, then the encoded file */
    size_t len, cap;
    int failed;         /* out of memory while collecting buf */
} ent_canvas;

/* ENT_OK when path ends in .png or .svg (any case) and its directory is
 * writable; else ENT_EINVAL naming the file and the two formats, or
 * ENT_EIO naming the directory. For commands that check before working. */
ent_status ent_plot_check_path(const char *path);
/* A white w x h picture to be written to path by ent_canvas_save. */
ent_status ent_canvas_new(ent_canvas **out, const char *path, int w, int h);
/* Encode and write the file atomically; the canvas stays to be freed. */
ent_status ent_canvas_save(ent_canvas *c);
void ent_canvas_free(ent_canvas *c);

/* A line of `width` pixels; dash > 0: on/off pattern of dash pixels. */
void ent_canvas_line(ent_canvas *c, double x0, double y0, double x1, double y1,
                     uint32_t rgb, double width, double dash);
/* Text with its top at y; align 0 left of x, 1 centred on x, 2 right of x.
 * max_w > 0: a wider text is shrunk (to 75% of size at most), then wrapped
 * at spaces, each line shrunk again if it must, so it never exceeds max_w.
 * Returns the height it took. ent_text_height measures without drawing. */
double ent_canvas_text(ent_canvas *c, double x, double y, const char *s, uint32_t rgb,
                       double size, int align, double max_w);
double ent_text_height(ent_canvas *c, const char *s, double size, double max_w);
double ent_text_width(ent_canvas *c, const char *s, double size);

/* Axes: a frame around the data area with ticks and labels. */
typedef struct {
    ent_canvas *c;
    double x0, y0, x1, y1;         /* data area in pixels */
    double xmin, xmax, ymin, ymax; /* data range (log axes: > 0) */
    int logx, logy;
    double font;                   /* text size */
} ent_axes;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
    double font; /* text size (0 = 15) */
    int grid;    /* light grid lines at the ticks */
} ent_axes_style;

/* Frame in the box (x, y, w, h), the data area inset for title, labels
 * and tick labels; everything drawn stays inside the box. */
ent_axes ent_axes_draw(ent_canvas *c, double x, double y, double w, double h, double xmin,
                       double xmax, double ymin, double ymax, const ent_axes_style *st);
double ent_axes_px(const ent_axes *a, double x); /* data -> pixel */
double ent_axes_py(const ent_axes *a, double y);

/* Series skip points that are not finite or not > 0 on a log axis; all
 * of them are clipped to the data area. */
void ent_plot_line(const ent_axes *a, const double *x, const double *y, int n,
                   uint32_t rgb, double width, double dash);
void ent_plot_points(const ent_axes *a, const double *x, const double *y, int n,
                     uint32_t rgb, double radius);
/* The area between lo and hi in rgb at ENT_PLOT_BAND_ALPHA. */
void ent_plot_band(const ent_axes *a, const double *x, const double *lo,
                   const double *hi, int n, uint32_t rgb);
/* Histogram bars: bin i spans [edges[i], edges[i+1]], height count[i]. */
void ent_plot_bars(const ent_axes *a, const double *edges, const double *count,
                   int nbins, uint32_t fill);
void ent_plot_vline(const ent_axes *a, double x, uint32_t rgb, double dash);
/* A centred grey message in the data area (an empty panel). */
void ent_plot_message(const ent_axes *a, const char *msg);
/* corner: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. The box
 * shrinks its text to fit the data area. band: draw each entry's swatch
 * with a band behind the line (NULL: lines only). */
void ent_plot_legend(const ent_axes *a, const char *const *labels,
                     const uint32_t *colors, const int *band, int n, int corner);
/* Lines of text in a box at a corner of the data area. */
void ent_plot_note(const ent_axes *a, const char *const *lines, int n, int corner);
uint32_t ent_plot_color(int i); /* a palette of distinguishable colours */

#endif
