/* test_cli_analysis.c — `entropic hessian` and `entropic flatness` end to
 * end on a tiny network trained for a moment on a small synthetic
 * MNIST-format data set (written here, so the test needs no download and
 * reads 300 images instead of 60,000), and their bad-input paths: one line
 * on stderr and exit status 2. */
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

static char out[65536];

/* IDX files of n images per split: class k lights rows 2k..2k+4 (plus a
 * pixel pattern), so a network can learn something from them. */
static const char *make_data(int n) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", ent_test_tmpdir());
    const char *split[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        FILE *fi, *fl;
        if (!ent_test_idx_create(dir, split[s], n, &fi, &fl)) return dir;
        for (int i = 0; i < n; i++) {
            const int k = (i * 7 + s) % 10;
            for (int px = 0; px < 784; px++) {
                const int row = px / 28, on = row >= 2 * k && row < 2 * k + 5;
                fputc(on ? 200 + (px * 13 + i) % 50 : (px * 31 + i * 17) % 40, fi);
            }
            fputc(k, fl);
        }
        fclose(fi), fclose(fl);
    }
    return dir;
}

static int file_lines(const char *path) {
    char buf[4096];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(buf, sizeof buf, f)) n++;
    fclose(f);
    return n;
}

static int is_png(const char *path) {
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(sig, 1, 8, f);
    fclose(f);
    return got == 8 && sig[0] == 0x89 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G';
}

/* An SVG document with text in it (cairo writes glyphs as <use> of symbols). */
static int is_svg(const char *path) {
    char *text = NULL;
    size_t len = 0;
    if (ent_read_file(path, &text, &len) != ENT_OK) return 0;
    char *z = realloc(text, len + 1);
    if (!z) {
        free(text);
        return 0;
    }
    z[len] = 0;
    const int ok = strstr(z, "<svg") && strstr(z, "</svg>") && strstr(z, "<use");
    free(z);
    return ok;
}

/* exit 2 and exactly one line naming `what` */
static void expect_usage(const char *cmd, const char *args, const char *what) {
    static const char *data;
    if (!data) data = make_data(20);
    char label[600];
    snprintf(label, sizeof label, "%s '%s'", cmd, args);
    CHECK_USAGE(label, what, "%s %s --dataset mnist --data-dir %s %s --out %s/o", ent_test_cli(), cmd, data, args,
                ent_test_tmpdir());
}

ENT_TEST(cli_analysis_usage) {
    CHECK(ent_test_run(out, sizeof out, "%s hessian --help", ent_test_cli()) == 0);
    CHECK(strstr(out, "--max-memory") && strstr(out, "--resume"));
    CHECK(ent_test_run(out, sizeof out, "%s flatness --help", ent_test_cli()) == 0);
    CHECK(strstr(out, "multiplicative") != NULL);
    expect_usage("hessian", "", "--checkpoint");
    expect_usage("hessian", "--checkpoint /nonexistent/c.safetensors --samples 10", "/nonexistent/c.safetensors");
    expect_usage("hessian", "--checkpoint x --method eigen", "exact|lanczos|slq");
    expect_usage("hessian", "--checkpoint x --top 0", "--top");
    expect_usage("hessian", "--checkpoint x --samples 0", "--samples");
    expect_usage("hessian", "--checkpoint x --tol 2", "--tol");
    expect_usage("hessian", "--checkpoint x --max-memory lots", "--max-memory");
    expect_usage("hessian", "--checkpoint x --frobnicate", "frobnicate");
    expect_usage("flatness", "", "--checkpoint");
    expect_usage("flatness", "--checkpoint x --sigma 0.2,0.1", "--sigma");
    expect_usage("flatness", "--checkpoint x --measure local-entropy --rho 2", "--rho");
    expect_usage("flatness", "--checkpoint x --noise gaussian", "multiplicative|additive");
    expect_usage("flatness", "--checkpoint /nonexistent/c.safetensors", "/nonexistent/c.safetensors");
}

ENT_TEST(cli_analysis_end_to_end) {
    const char *d = make_data(300), *t = ent_test_tmpdir();
    char cli[700], p[600], q[600];
    snprintf(cli, sizeof cli, "%s", ent_test_cli());
    int rc = ent_test_run(out, sizeof out, "%s train --model tiny-mnistfc --dataset mnist --data-dir %s --epochs 3 "
                          "--batch-size 50 --optimizer sgd --lr 0.1 --momentum 0.9 --nesterov --threads 1 --out %s/tiny --quiet",
                          cli, d, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    snprintf(p, sizeof p, "%s/tiny/checkpoint.safetensors", t);
    /* exact spectrum of one layer's block (90 parameters) */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method exact --params fc2 --samples 64 --threads 1 --out %s/ex",
                      cli, d, p, t);
    CHECK_MSG(rc == 0, "hessian exact: %s", out);
    snprintf(q, sizeof q, "%s/ex/eigenvalues.csv", t);
    CHECK_MSG(file_lines(q) == 91, "%s: %d lines, want 91", q, file_lines(q));
    snprintf(q, sizeof q, "%s/ex/hessian.png", t);
    CHECK(is_png(q));
    rc = ent_test_run(out, sizeof out, "cat %s/ex/summary.json", t);
    CHECK(strstr(out, "\"lambda_max\"") && strstr(out, "\"fraction_abs_below\"") && strstr(out, "\"dimension\": 90"));
    CHECK(strstr(out, "\"rounding_bound\"") && strstr(out, "\"fraction_abs_below_bounds\"") && strstr(out, "\"products_seconds\"") &&
          strstr(out, "\"samples\": 64"));
    /* the last layer's block is a Gauss-Newton matrix: positive semi-definite */
    const char *lm = strstr(out, "\"lambda_min\": ");
    CHECK(lm && atof(lm + 14) > -1e-10);
    rc = ent_test_run(out, sizeof out, "ls %s/ex", t);
    CHECK_MSG(!strstr(out, "hessian_columns.bin"), "the columns file stays after a whole run: %s", out);

    /* Hutchinson on the same block: within 4 standard errors of its exact trace */
    rc = ent_test_run(out, sizeof out, "cat %s/ex/summary.json", t);
    const char *tr = strstr(out, "\"trace\": ");
    const double exact_trace = tr ? atof(tr + 9) : NAN;
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method hutchinson --params fc2 --probes 400 --samples 64 --threads 1 --out %s/hu",
                      cli, d, p, t);
    CHECK_MSG(rc == 0, "hessian hutchinson: %s", out);
    rc = ent_test_run(out, sizeof out, "cat %s/hu/summary.json", t);
    const char *ht = strstr(out, "\"trace\": "), *hs = strstr(out, "\"std_error\": ");
    CHECK_MSG(ht && hs && fabs(atof(ht + 9) - exact_trace) <= 4 * atof(hs + 13) && atof(hs + 13) > 0,
              "hutchinson %s vs exact trace %g", out, exact_trace);
    snprintf(q, sizeof q, "%s/hu/probes.csv", t);
    CHECK(file_lines(q) == 401);
    /* the Fisher diagonal: one variance per parameter */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method fisher --minibatch 16 --samples 64 --threads 1 --out %s/fi",
                      cli, d, p, t);
    CHECK_MSG(rc == 0 && strstr(out, "4 batches of 16"), "hessian fisher: %s", out);
    snprintf(q, sizeof q, "%s/fi/fisher.csv", t);
    CHECK(file_lines(q) == 6371);
    snprintf(q, sizeof q, "%s/fi/hessian.png", t);
    CHECK(is_png(q));
    /* Lanczos extremes of the whole network, and SLQ */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method lanczos --top 3 --steps 40 --samples 64 --threads 1 --picture svg --out %s/lz",
                      cli, d, p, t);
    CHECK_MSG(rc == 0, "hessian lanczos: %s", out);
    snprintf(q, sizeof q, "%s/lz/eigenvalues.csv", t);
    CHECK_MSG(file_lines(q) == 7, "%s: %d lines, want 7", q, file_lines(q));
    snprintf(q, sizeof q, "%s/lz/hessian.svg", t);
    CHECK_MSG(is_svg(q), "%s is no SVG with text", q);
    rc = ent_test_run(out, sizeof out, "cat %s/lz/summary.json", t);
    CHECK(strstr(out, "\"converged\": ") && strstr(out, "\"top_residual\": [") && strstr(out, "\"bottom_residual\": ["));
    /* capped at 4 steps with tol 1e-12, it cannot converge: a warning on
     * stderr (one line; under ASan the leak checker's report may follow),
     * exit 0, and the summary says so */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method lanczos --top 2 --steps 4 --tol 1e-12 --samples 64 --threads 1 --out %s/lzcap 2>&1 >/dev/null",
                      cli, d, p, t);
    const char *warn = strstr(out, "warning"), *eol = warn ? strchr(warn, '\n') : NULL, *raise = strstr(out, "--steps");
    CHECK_MSG(rc == 0 && warn && raise && (!eol || raise < eol), "capped lanczos (one warning line naming --steps): %s", out);
    rc = ent_test_run(out, sizeof out, "cat %s/lzcap/summary.json", t);
    CHECK_MSG(strstr(out, "\"converged\": false") && strstr(out, "\"steps\": 4"), "capped summary: %s", out);
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method slq --probes 2 --steps 20 --samples 64 --threads 1 --out %s/slq",
                      cli, d, p, t);
    CHECK_MSG(rc == 0, "hessian slq: %s", out);
    snprintf(q, sizeof q, "%s/slq/density.csv", t);
    CHECK(file_lines(q) == 2001);
    snprintf(q, sizeof q, "%s/slq/nodes.csv", t);
    CHECK(file_lines(q) == 41);
    /* an unknown tensor for --params */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method exact --params fc9 --samples 8 --out %s/bad", cli, d, p, t);
    CHECK(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, "fc9"));
    /* exact on 50,890 parameters over --max-memory is refused before any
     * work, naming the memory it needs (50890^2 doubles: 20.72 GB) and the
     * way out; nothing is written */
    rc = ent_test_run(out, sizeof out, "%s train --model small-mnistfc --dataset mnist --data-dir %s --epochs 1 "
                      "--batch-size 50 --threads 1 --out %s/small --quiet", cli, d, t);
    CHECK_MSG(rc == 0, "train small-mnistfc: %s", out);
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s/small/checkpoint.safetensors "
                      "--method exact --samples 8 --max-memory 1G --out %s/big", cli, d, t, t);
    CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, "50890") && strstr(out, "20.7") && strstr(out, "--max-memory") &&
              strstr(out, "lanczos"), "exact memory limit: %s", out);
    rc = ent_test_run(out, sizeof out, "ls %s/big", t);
    CHECK_MSG(rc == 0 && !strstr(out, "hessian_columns.bin") && !strstr(out, "eigenvalues.csv"), "refused run wrote: %s", out);
    /* --resume without a columns file names it */
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s --method exact --params fc2 --samples 8 --resume --out %s/nocols",
                      cli, d, p, t);
    CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, "hessian_columns.bin"), "resume without columns: %s", out);
    /* a truncated checkpoint */
    ent_test_run(out, sizeof out, "head -c 3000 %s > %s/cut.safetensors", p, t);
    rc = ent_test_run(out, sizeof out, "%s hessian --dataset mnist --data-dir %s --checkpoint %s/cut.safetensors --samples 8 --out %s/bad", cli, d, t, t);
    CHECK(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, "cut.safetensors"));
    /* local energy of two checkpoints on one plot, and local entropy */
    rc = ent_test_run(out, sizeof out, "%s flatness --dataset mnist --data-dir %s --checkpoint %s --checkpoint=%s --measure local-energy "
                      "--sigma 0,0.1,0.2 --samples 2 --train-subset 200 --test-subset 100 --threads 1 --out %s/le", cli, d, p, p, t);
    CHECK_MSG(rc == 0, "flatness local-energy: %s", out);
    snprintf(q, sizeof q, "%s/le/local_energy.csv", t);
    CHECK_MSG(file_lines(q) == 7, "%s: %d lines, want 7", q, file_lines(q));
    snprintf(q, sizeof q, "%s/le/local_energy.png", t);
    CHECK(is_png(q));
    rc = ent_test_run(out, sizeof out, "%s flatness --dataset mnist --data-dir %s --checkpoint %s --measure local-entropy --gamma 1e3,1e4 --samples 3 "
                      "--temps 3 --moves 1 --train-subset 100 --threads 1 --picture svg --out %s/lent", cli, d, p, t);
    CHECK_MSG(rc == 0, "flatness local-entropy: %s", out);
    snprintf(q, sizeof q, "%s/lent/local_entropy.csv", t);
    CHECK(file_lines(q) == 3);
    snprintf(q, sizeof q, "%s/lent/local_entropy.svg", t);
    CHECK_MSG(is_svg(q), "%s is no SVG with text", q);
}
