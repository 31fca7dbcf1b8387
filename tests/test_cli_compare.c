/* test_cli_compare.c — `entropic compare` on made-up runs: groups of seeds
 * shown as mean ± sd against the closed form, --label, the --plot files
 * (PNG and SVG), and bad input (exit 2, one line naming the problem). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

static char out[65536];

/* A run directory: config.json (optimizer, batch size, seed; seed < 0:
 * none), metrics.csv with evaluations at epochs e = 1..n less `early`:
 * train loss c / e, test error (b + e) / 1000, wall time 2 e seconds. */
static void fake_run_at(const char *dir, const char *opt, int seed, double c, double b, int n, double early) {
    char path[700];
    snprintf(path, sizeof path, "mkdir -p %s", dir);
    CHECK(system(path) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "{\"optimizer\": {\"name\": \"%s\"}, \"batch_size\": 128", opt);
    if (seed >= 0) fprintf(f, ", \"seed\": %d, \"argv\": [\"--seed\", \"%d\"]", seed, seed);
    fprintf(f, "}\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "epoch,effective_epoch,step,train_loss,test_loss,test_error,wall_seconds,grad_evals,lr,gamma\n");
    for (int e = 1; e <= n; e++)
        fprintf(f, "%d,%.2f,%d,%.6f,0,%.6f,%d,%d,0.1,0\n", e, e - early, 100 * e, c / e, (b + e) / 1000.0, 2 * e,
                100 * e);
    fclose(f);
}

static void fake_run(const char *dir, const char *opt, int seed, double c, double b) {
    fake_run_at(dir, opt, seed, c, b, 10, 0);
}

/* Rows at multiples of --every show the evaluation at that epoch (or the
 * nearest within half an epoch: Entropy-SGD's lie off the boundaries), no
 * row where no run evaluated, runs labelled by their directory. Test
 * error is epoch / 1000 in run a, (epoch + 100) / 1000 in b, whose
 * evaluations are 0.02 epochs early; neither config names a seed, so
 * they are not a group. */
ENT_TEST(cli_compare_aligns_epochs) {
    char dir[600], a[700], b[700];
    snprintf(dir, sizeof dir, "%s/compare", ent_test_tmpdir());
    snprintf(a, sizeof a, "%s/seed1", dir);
    snprintf(b, sizeof b, "%s/seed2", dir);
    fake_run_at(a, "sgd", -1, 1.0, 0.0, 20, 0.0);
    fake_run_at(b, "sgd", -1, 1.0, 100.0, 20, 0.02);
    int rc = ent_test_run(out, sizeof out, "%s compare %s %s --every 5", ent_test_cli(), a, b);
    CHECK_MSG(rc == 0, "compare: exit %d: %s", rc, out);
    /* row 5: run a's epoch 5 (0.50%), run b's 4.98 (10.50%); not epochs 7 or 2 */
    const char *row5 = strstr(out, "\n        5 |");
    CHECK_MSG(row5 && strstr(row5, "0.50%") && strstr(row5, "10.50%") &&
                  strstr(row5, "0.50%") < strchr(row5 + 1, '\n'),
              "row 5 does not show epoch 5: %s", out);
    CHECK_MSG(!strstr(out, "0.70%"), "epoch 7 shown in a row of --every 5: %s", out);
    CHECK_MSG(!strstr(out, "\n        0 |"), "a row 0 without an evaluation near it: %s", out);
    const char *row20 = strstr(out, "\n       20 |");
    CHECK_MSG(row20 && strstr(row20, "2.00%") && strstr(row20, "12.00%"), "row 20: %s", out);
    CHECK_MSG(strstr(out, "seed1 (sgd)") && strstr(out, "seed2 (sgd)"), "labels: %s", out);
}

/* Mean and sample standard deviation (n - 1), written out. */
static void closed_form(const double *v, int n, double *m, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *m = s / n;
    for (int i = 0; i < n; i++) ss += (v[i] - *m) * (v[i] - *m);
    *sd = sqrt(ss / (n - 1));
}

static const double C[3] = {1.0, 1.2, 1.7}, B[3] = {100, 120, 170};

/* Three seeds of adam, a repeat of seed 1 (not another seed: apart), and
 * one sgd run: three columns, adam's showing mean ± sd of its three. */
ENT_TEST(cli_compare_seed_groups_mean_sd) {
    const char *t = ent_test_tmpdir();
    char dirs[5][700];
    for (int k = 0; k < 3; k++) {
        snprintf(dirs[k], sizeof dirs[k], "%s/adam-s%d", t, k + 1);
        fake_run(dirs[k], "adam", k + 1, C[k], B[k]);
    }
    snprintf(dirs[3], sizeof dirs[3], "%s/again-s1", t);
    fake_run(dirs[3], "adam", 1, 2.0, 300);
    snprintf(dirs[4], sizeof dirs[4], "%s/sgd-s1", t);
    fake_run(dirs[4], "sgd", 1, 3.0, 400);
    int rc = ent_test_run(out, sizeof out, "%s compare %s %s %s %s %s", ent_test_cli(), dirs[0], dirs[1], dirs[2],
                          dirs[3], dirs[4]);
    CHECK_MSG(rc == 0, "compare: exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "adam (n=3)") && strstr(out, "again-s1 (adam) (n=1)") && strstr(out, "sgd-s1 (sgd) (n=1)"),
              "groups: %s", out);
    double loss[3], err[3], m, sd;
    char want[128];
    for (int k = 0; k < 3; k++) loss[k] = C[k] / 5, err[k] = 100 * (B[k] + 5) / 1000;
    const char *row5 = strstr(out, "\n        5 |"), *end5 = row5 ? strchr(row5 + 1, '\n') : NULL;
    closed_form(loss, 3, &m, &sd);
    snprintf(want, sizeof want, "%7.4f ± %-7.4f", m, sd);
    const char *at = row5 ? strstr(row5, want) : NULL;
    CHECK_MSG(at && at < end5, "row 5 lacks the loss %s: %s", want, out);
    closed_form(err, 3, &m, &sd);
    snprintf(want, sizeof want, "%6.2f ± %5.2f%% %7.1f  3", m, sd, 10.0);
    at = row5 ? strstr(row5, want) : NULL;
    CHECK_MSG(at && at < end5, "row 5 lacks the error, wall and n %s: %s", want, out);
    printf("    row 5 of adam: %s\n", want);
    for (int k = 0; k < 3; k++) err[k] = 100 * (B[k] + 10) / 1000; /* the last epoch's */
    closed_form(err, 3, &m, &sd);
    snprintf(want, sizeof want, "%-40s %2d %6.2f ± %5.2f%%", "adam", 3, m, sd);
    CHECK_MSG(strstr(out, want) != NULL, "summary lacks final error %s: %s", want, out);
}

/* --label: equal names form a group, in the order of the runs. */
ENT_TEST(cli_compare_labels_group) {
    const char *t = ent_test_tmpdir();
    char d[4][700];
    for (int k = 0; k < 4; k++) {
        snprintf(d[k], sizeof d[k], "%s/r%d", t, k);
        fake_run(d[k], k < 2 ? "sgd" : "adam", -1, C[k % 2], B[k % 2]);
    }
    int rc = ent_test_run(out, sizeof out, "%s compare %s %s %s %s --label plain --label=plain --label A --label A",
                          ent_test_cli(), d[0], d[1], d[2], d[3]);
    CHECK_MSG(rc == 0 && strstr(out, "plain (n=2)") && strstr(out, "A (n=2)"), "exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s compare %s %s --label x --label y", ent_test_cli(), d[0], d[1]);
    CHECK_MSG(rc == 0 && strstr(out, "| x ") && strstr(out, "| y ") && !strstr(out, "n=2"), "exit %d: %s", rc, out);
}

static int png_size(const char *path, int *w, int *h) {
    unsigned char b[24] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    const size_t n = fread(b, 1, 24, f);
    fclose(f);
    *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    return n == 24 && b[0] == 0x89 && memcmp(b + 1, "PNG", 3) == 0 && memcmp(b + 12, "IHDR", 4) == 0;
}

ENT_TEST(cli_compare_plot_png_and_svg) {
    const char *t = ent_test_tmpdir();
    char d[3][700], p[700];
    for (int k = 0; k < 3; k++) {
        snprintf(d[k], sizeof d[k], "%s/%s-s%d", t, k < 2 ? "esgd" : "sgd", k + 1);
        fake_run(d[k], k < 2 ? "entropy-sgd" : "sgd", k + 1, C[k], B[k]);
    }
    snprintf(p, sizeof p, "%s/c.png", t);
    int rc = ent_test_run(out, sizeof out, "%s compare %s %s %s --plot %s", ent_test_cli(), d[0], d[1], d[2], p);
    CHECK_MSG(rc == 0 && strstr(out, p), "compare --plot png: exit %d: %s", rc, out);
    int w = 0, h = 0;
    CHECK_MSG(png_size(p, &w, &h) && w == 1200 && h == 880, "%s: PNG %dx%d", p, w, h);
    snprintf(p, sizeof p, "%s/c.svg", t);
    rc = ent_test_run(out, sizeof out, "%s compare %s %s %s --plot %s", ent_test_cli(), d[0], d[1], d[2], p);
    CHECK_MSG(rc == 0, "compare --plot svg: exit %d: %s", rc, out);
    char *svg = NULL;
    size_t len = 0;
    CHECK_OK(ent_read_file(p, &svg, &len));
    if (!svg) return;
    CHECK_MSG(strstr(svg, "<svg") && strstr(svg, "</svg>") && strstr(svg, "xlink:href=\"#glyph"), "%s: %zu bytes", p,
              len);
    CHECK_MSG(strstr(svg, "fill-opacity:0.22") || strstr(svg, "fill-opacity=\"0.22"), "no translucent band in %s", p);
    free(svg);
}

/* Each problem: exit 2 and one line that names it. */
static void bad(const char *args, const char *what) {
    int rc = ent_test_run(out, sizeof out, "%s compare %s", ent_test_cli(), args);
    CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, what), "compare %s: exit %d: %s", args, rc,
              out);
}

ENT_TEST(cli_compare_bad_input) {
    const char *t = ent_test_tmpdir();
    char d[700], args[2200];
    snprintf(d, sizeof d, "%s/run", t);
    fake_run(d, "sgd", 1, 1, 100);
    snprintf(args, sizeof args, "%s --plot %s/c.jpg", d, t);
    bad(args, "c.jpg: unknown picture format");
    snprintf(args, sizeof args, "%s --plot /nonexistent/dir/c.png", d);
    bad(args, "/nonexistent/dir/c.png");
    snprintf(args, sizeof args, "%s %s --label one", d, d);
    bad(args, "1 --label for 2 runs");
    snprintf(args, sizeof args, "%s --label", d);
    bad(args, "--label needs a NAME");
    snprintf(args, sizeof args, "%s/absent", t);
    bad(args, "absent");
}
