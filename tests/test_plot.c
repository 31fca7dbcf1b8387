/* test_plot.c — the plotting module, read back from the files it writes:
 * a PNG of the asked size where drawing lands where the axes say, clipping
 * holds and a too-long title is fitted inside the image; an SVG whose text
 * is real glyphs and whose error band is translucent; bad paths refused. */
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/plot.h"
#include "test.h"

#define LONG_TITLE                                                                                      \
    "a title far too long for its picture: local energy of three checkpoints under multiplicative " \
    "noise, 200 draws per sigma"

static uint32_t px(cairo_surface_t *s, int x, int y) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(d + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + 4 * (size_t)x) & 0xffffff;
}

/* Ink: a pixel clearly darker than the white background. */
static int ink(uint32_t p) { return ((p >> 16) & 255) + ((p >> 8) & 255) + (p & 255) < 600; }

/* A w x h canvas for tmpdir/name (path filled in), NULL after a failure. */
static ent_canvas *canvas(char *path, size_t cap, const char *name, int w, int h) {
    ent_canvas *c = NULL;
    snprintf(path, cap, "%s/%s", ent_test_tmpdir(), name);
    CHECK_OK(ent_canvas_new(&c, path, w, h));
    return c;
}

/* Save c, free it, and read the PNG back (NULL after a failure). */
static cairo_surface_t *save_and_read(ent_canvas *c, const char *path) {
    CHECK_OK(ent_canvas_save(c));
    ent_canvas_free(c);
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    CHECK_MSG(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS, "%s is not a PNG cairo reads", path);
    if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) return img;
    cairo_surface_destroy(img);
    return NULL;
}

ENT_TEST(plot_png_lines_clip_and_title_inside) {
    char path[600];
    ent_canvas *c = canvas(path, sizeof path, "p.png", 400, 300);
    if (!c) return;
    const double title_h = ent_canvas_text(c, 200, 4, LONG_TITLE, 0x000000, 17, 1, 396);
    const double one_line = ent_text_height(c, "x", 17, 0);
    ent_axes_style st = {.title = "t", .xlabel = "x " PLOT_SIGMA, .ylabel = "y"};
    ent_axes a = ent_axes_draw(c, 0, title_h + 8, 400, 300 - title_h - 8, 0, 10, 0, 1, &st);
    CHECK(a.x0 > 0 && a.x1 < 400 && a.y0 > title_h && a.y1 < 300 && a.x0 < a.x1 && a.y0 < a.y1);
    CHECK_NEAR(ent_axes_px(&a, 0), a.x0, 1e-9);
    CHECK_NEAR(ent_axes_py(&a, 1), a.y0, 1e-9);
    /* a 4-pixel line at y = 0.5 across the range, and one far outside */
    const double xs[2] = {0, 10}, ys[2] = {0.5, 0.5}, far[2] = {-100, -100};
    ent_plot_line(&a, xs, ys, 2, 0xff0000, 4, 0);
    ent_plot_line(&a, xs, far, 2, 0x00ff00, 4, 0);
    const int ym = (int)ent_axes_py(&a, 0.5), xm = (int)((a.x0 + a.x1) / 2);
    CHECK(ent_plot_check_path("p.PNG") == ENT_OK);
    cairo_surface_t *img = save_and_read(c, path);
    if (!img) return;
    const int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
    CHECK_MSG(w == 400 && h == 300, "size %dx%d, want 400x300", w, h);
    cairo_surface_flush(img);
    CHECK_MSG(px(img, xm, ym) == 0xff0000, "centre of the line: %06x", px(img, xm, ym));
    int green = 0, title_ink = 0, edge_ink = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint32_t p = px(img, x, y);
            green += ((p >> 8) & 255) > 128 && (p >> 16) < 64 && (p & 255) < 64;
            if (y < title_h + 4 && ink(p)) title_ink++, edge_ink += x < 2 || x >= w - 2;
        }
    CHECK_MSG(green == 0, "%d green pixels: the line outside the range was not clipped", green);
    printf("    title: %.1f px tall, %d ink pixels, %d in the outer 2 columns\n", title_h, title_ink, edge_ink);
    CHECK_MSG(title_ink > 200, "title drew %d ink pixels", title_ink);
    CHECK_MSG(edge_ink == 0, "the title's ink reaches the image's edge (%d pixels): it ran off", edge_ink);
    CHECK_MSG(title_h > one_line && title_h < 4 * one_line, "the title took %.1f px, one line %.1f: not wrapped",
              title_h, one_line);
    cairo_surface_destroy(img);
}

ENT_TEST(plot_svg_glyphs_and_translucent_band) {
    char path[600];
    ent_canvas *c = canvas(path, sizeof path, "p.svg", 500, 300);
    if (!c) return;
    ent_axes_style st = {.title = "Glyphs", .logy = 1};
    ent_axes a = ent_axes_draw(c, 0, 0, 500, 300, 0, 3, 0.1, 100, &st);
    const double x[4] = {0, 1, 2, 3}, lo[4] = {1, 2, 3, 4}, hi[4] = {2, 4, 8, 16};
    ent_plot_band(&a, x, lo, hi, 4, 0x1f77b4);
    CHECK_OK(ent_canvas_save(c));
    ent_canvas_free(c);
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(path, &text, &len));
    if (!text) return;
    CHECK_MSG(len > 100 && strstr(text, "<svg") && strstr(text, "</svg>"), "not an SVG document (%zu bytes)", len);
    int glyphs = 0; /* cairo writes text as glyph outlines, placed by <use> */
    for (const char *p = text; (p = strstr(p, "xlink:href=\"#glyph")); p++) glyphs++;
    printf("    %zu bytes, %d glyphs placed\n", len, glyphs);
    CHECK_MSG(glyphs >= 6, "%d glyphs: the title \"Glyphs\" alone has 6", glyphs);
    CHECK_MSG(strstr(text, "<path") != NULL, "no outlines");
    double alpha = -1; /* the most translucent fill */
    for (const char *p = text; (p = strstr(p, "fill-opacity")); p++) {
        const double v = strtod(p + strcspn(p, "0123456789."), NULL);
        if (alpha < 0 || v < alpha) alpha = v;
    }
    CHECK_MSG(alpha > 0 && alpha < 1, "most translucent fill-opacity %g: the band is opaque", alpha);
    CHECK_NEAR(alpha, ENT_PLOT_BAND_ALPHA, 1e-3);
    free(text);
}

ENT_TEST(plot_bad_paths) {
    ent_canvas *c = NULL;
    CHECK(ent_canvas_new(&c, "picture.jpg", 10, 10) == ENT_EINVAL && c == NULL);
    CHECK_MSG(strstr(ent_last_error(), "picture.jpg") && strstr(ent_last_error(), ".svg"), "%s", ent_last_error());
    CHECK(ent_plot_check_path("dir.png/file") == ENT_EINVAL);
    CHECK_OK(ent_canvas_new(&c, "/nonexistent/dir/p.png", 10, 10));
    if (!c) return;
    CHECK(ent_canvas_save(c) != ENT_OK);
    CHECK_MSG(strstr(ent_last_error(), "/nonexistent/dir") != NULL, "%s", ent_last_error());
    ent_canvas_free(c);
}

/* A legend wider than its panel shrinks into the data area: nothing is
 * drawn right of the frame (the legend starts at the left corner, so an
 * unfitted one would run past it). */
ENT_TEST(plot_legend_fits_the_panel) {
    char path[600];
    ent_canvas *c = canvas(path, sizeof path, "legend.png", 300, 200);
    if (!c) return;
    ent_axes_style st = {0};
    ent_axes a = ent_axes_draw(c, 0, 0, 220, 200, 0, 1, 0, 1, &st);
    const char *labels[2] = {"a legend label far wider than the panel it stands in", "b"};
    const uint32_t cols[2] = {0x1f77b4, 0xd62728};
    const int band[2] = {1, 0};
    ent_plot_legend(&a, labels, cols, band, 2, 0);
    cairo_surface_t *img = save_and_read(c, path);
    if (!img) return;
    int outside = 0, inside = 0;
    for (int y = (int)a.y0 + 2; y < (int)a.y1 - 2; y++)
        for (int x = 0; x < 300; x++) {
            if (!ink(px(img, x, y))) continue;
            if (x > a.x1 + 1) outside++;
            else if (x > a.x0 + 1 && x < a.x1 - 1) inside++;
        }
    printf("    legend: %d ink pixels inside the data area, %d right of it\n", inside, outside);
    CHECK_MSG(inside > 100, "the legend drew %d pixels", inside);
    CHECK_MSG(outside == 0, "%d ink pixels right of the frame: the legend ran out of its panel", outside);
    cairo_surface_destroy(img);
}
