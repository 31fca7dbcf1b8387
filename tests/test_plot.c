/* test_plot.c — the plotting module: drawing lands where the axes say,
 * clipping holds, and the PNG file is a valid image of the canvas size. */
#include <stdio.h>
#include <stdlib.h>

#include "io/plot.h"
#include "test.h"

static uint32_t px(const ent_canvas *c, int x, int y) {
    const uint8_t *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

ENT_TEST(plot_axes_and_png) {
    ent_canvas *c = ent_canvas_new(400, 300);
    CHECK(c != NULL);
    if (!c) return;
    ent_axes_style st = {.title = "t", .xlabel = "x " PLOT_SIGMA, .ylabel = "y", .scale = 1};
    ent_axes a = ent_axes_draw(c, 0, 0, 400, 300, 0, 10, 0, 1, &st);
    CHECK(a.x0 > 0 && a.x1 < 400 && a.y0 > 0 && a.y1 < 300 && a.x0 < a.x1 && a.y0 < a.y1);
    CHECK_NEAR(ent_axes_px(&a, 0), a.x0, 1e-9);
    CHECK_NEAR(ent_axes_py(&a, 1), a.y0, 1e-9);
    /* a horizontal line at y = 0.5 across the range, and one far outside */
    const double xs[2] = {0, 10}, ys[2] = {0.5, 0.5}, far[2] = {-100, -100};
    ent_plot_line(&a, xs, ys, 2, 0xff0000, 1, 0);
    ent_plot_line(&a, xs, far, 2, 0x00ff00, 1, 0);
    const int ym = (int)lround(ent_axes_py(&a, 0.5)), xm = (a.x0 + a.x1) / 2;
    CHECK(px(c, xm, ym) == 0xff0000);
    int green = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) green += px(c, x, y) == 0x00ff00;
    CHECK(green == 0); /* clipped away entirely */
    /* log axes refuse non-positive points silently */
    ent_axes_style lg = {.logx = 1, .logy = 1, .scale = 1};
    ent_axes b = ent_axes_draw(c, 0, 0, 200, 150, 1, 1000, 1e-3, 10, &lg);
    const double lx[3] = {10, 0, 100}, ly[3] = {1, 1, -1};
    ent_plot_points(&b, lx, ly, 3, 0x0000ff, 1);
    CHECK(px(c, (int)lround(ent_axes_px(&b, 10)), (int)lround(ent_axes_py(&b, 1))) == 0x0000ff);
    char path[600];
    snprintf(path, sizeof path, "%s/p.png", ent_test_tmpdir());
    CHECK_OK(ent_canvas_save_png(c, path));
    unsigned char h[24] = {0};
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fread(h, 1, 24, f) == 24);
        fclose(f);
    }
    CHECK(h[0] == 0x89 && h[1] == 'P' && memcmp(h + 12, "IHDR", 4) == 0);
    CHECK(((h[16] << 24) | (h[17] << 16) | (h[18] << 8) | h[19]) == 400);
    CHECK(((h[20] << 24) | (h[21] << 16) | (h[22] << 8) | h[23]) == 300);
    CHECK(ent_canvas_save_png(c, "/nonexistent/dir/p.png") != ENT_OK);
    ent_canvas_free(c);
}
