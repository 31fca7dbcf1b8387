/* plot.h — a small raster plotting module (internal): an RGB canvas with
 * lines, rectangles and text in a built-in 5x7 bitmap font, axes with
 * "nice" ticks (linear or log), histograms, curves with error bands,
 * legends; saved as PNG through libpng. Enough for the pictures of the
 * analysis commands (spectra, local-energy curves) and for training
 * curves later; no anti-aliasing, no fonts to find at run time.
 *
 * Coordinates are pixels, x to the right, y DOWN, (0, 0) the top-left.
 * Colours are 0xRRGGBB. Text: 6 x 10 pixel cells (5x7 glyphs with two
 * descender rows) times an integer scale; the characters PLOT_SIGMA,
 * PLOT_GAMMA, PLOT_LAMBDA, PLOT_PM draw the Greek letters and "±". */
#ifndef ENT_PLOT_H
#define ENT_PLOT_H

#include <stdint.h>

#include "entropic.h"

#define PLOT_SIGMA "\001"
#define PLOT_GAMMA "\002"
#define PLOT_LAMBDA "\003"
#define PLOT_PM "\004"

typedef struct {
    int w, h;
    uint8_t *rgb;           /* w*h*3 */
    int cx0, cy0, cx1, cy1; /* clip rectangle (inclusive) */
} ent_canvas;

ent_canvas *ent_canvas_new(int w, int h); /* white; NULL if out of memory */
void ent_canvas_free(ent_canvas *c);
ent_status ent_canvas_save_png(const ent_canvas *c, const char *path); /* atomic */
void ent_canvas_clip(ent_canvas *c, int x0, int y0, int x1, int y1);
void ent_canvas_noclip(ent_canvas *c);
void ent_canvas_rect(ent_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb);
/* A line of `width` pixels; dash > 0: on/off pattern of dash pixels. */
void ent_canvas_line(ent_canvas *c, double x0, double y0, double x1, double y1,
                     uint32_t rgb, int width, int dash);
/* align: 0 left, 1 centre, 2 right of x; y is the top of the text;
 * vertical: rotated a quarter turn (reads bottom to top), x/y as the
 * rotated box's left/centre/right along y and its left edge at x. */
void ent_canvas_text(ent_canvas *c, int x, int y, const char *s, uint32_t rgb,
                     int scale, int align, int vertical);
int ent_text_width(const char *s, int scale);
#define ENT_TEXT_H(scale) (10 * (scale))

/* Axes: a frame around the data area with ticks and labels. */
typedef struct {
    ent_canvas *c;
    int x0, y0, x1, y1;            /* data area in pixels */
    double xmin, xmax, ymin, ymax; /* data range (log axes: > 0) */
    int logx, logy;
    int scale;                     /* text scale */
} ent_axes;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
    int scale;       /* text scale (0 = 2) */
    int grid;        /* light grid lines at the ticks */
} ent_axes_style;

/* Frame of the box (x, y, w, h) in pixels, data area inset for labels. */
ent_axes ent_axes_draw(ent_canvas *c, int x, int y, int w, int h, double xmin,
                       double xmax, double ymin, double ymax,
                       const ent_axes_style *st);
double ent_axes_px(const ent_axes *a, double x); /* data -> pixel */
double ent_axes_py(const ent_axes *a, double y);

void ent_plot_line(const ent_axes *a, const double *x, const double *y, int n,
                   uint32_t rgb, int width, int dash);
void ent_plot_points(const ent_axes *a, const double *x, const double *y, int n,
                     uint32_t rgb, int radius);
/* Shaded band between lo and hi (light version of rgb). */
void ent_plot_band(const ent_axes *a, const double *x, const double *lo,
                   const double *hi, int n, uint32_t rgb);
/* Histogram bars: bin i spans [edges[i], edges[i+1]], height count[i]. */
void ent_plot_bars(const ent_axes *a, const double *edges, const double *count,
                   int nbins, uint32_t fill);
void ent_plot_vline(const ent_axes *a, double x, uint32_t rgb, int dash);
/* corner: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. */
void ent_plot_legend(const ent_axes *a, const char *const *labels,
                     const uint32_t *colors, int n, int corner);
/* Lines of text in a box at a corner of the data area. */
void ent_plot_note(const ent_axes *a, const char *const *lines, int n, int corner);
uint32_t ent_plot_color(int i); /* a palette of distinguishable colours */

#endif
