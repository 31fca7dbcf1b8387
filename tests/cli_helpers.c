/* cli_helpers.c — what the end-to-end tests of the `entropic` program
 * share (test_cli.c, test_cli_analysis.c, test_replicas_cli.c,
 * test_replicas_mpi.c): one copy of each helper, so that the usage-error
 * contract and the data files are checked and written the same way
 * everywhere. Running a command is ent_test_run (runner.c). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

/* Output of the last usage-error command: no caller reads it afterwards. */
static char usage_out[65536];

int ent_test_count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

void ent_test_expect_usage_at(const char *file, int line, const char *label, const char *what, const char *fmt,
                              ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = usage_out;
    int rc = ent_test_run(out, sizeof usage_out, "%s", cmd);
    if (rc != 2) ent_test_fail(file, line, "%s: exit %d, want 2 (%s)", label, rc, out);
    if (ent_test_count_lines(out) != 1) ent_test_fail(file, line, "%s: want one line, got: %s", label, out);
    if (!strstr(out, what)) ent_test_fail(file, line, "%s: message lacks '%s': %s", label, what, out);
}

void ent_test_expect_train_usage_at(const char *file, int line, const char *args, const char *what) {
    char label[1024];
    snprintf(label, sizeof label, "'%s'", args);
    ent_test_expect_usage_at(file, line, label, what, "%s train --out %s/r %s", ent_test_cli(), ent_test_tmpdir(),
                             args);
}

void ent_test_put_be32(FILE *f, uint32_t v) {
    const uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

int ent_test_idx_create(const char *dir, const char *split, int n, FILE **images, FILE **labels) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, split);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, split);
    FILE *fl = fopen(p, "wb");
    *images = fi, *labels = fl;
    if (!fi || !fl) {
        CHECK_MSG(0, "cannot write %s", p);
        if (fi) fclose(fi);
        if (fl) fclose(fl);
        *images = *labels = NULL;
        return 0;
    }
    ent_test_put_be32(fi, 0x803), ent_test_put_be32(fi, (uint32_t)n);
    ent_test_put_be32(fi, 28), ent_test_put_be32(fi, 28);
    ent_test_put_be32(fl, 0x801), ent_test_put_be32(fl, (uint32_t)n);
    return 1;
}

int ent_test_have_mpi(void) {
    if (!ent_dist_compiled()) {
        printf("    skip: built without MPI (apt-get install libopenmpi-dev openmpi-bin; rebuild)\n");
        return 0;
    }
    if (ent_test_run(NULL, 0, "command -v mpirun") != 0) {
        printf("    skip: mpirun absent (apt-get install openmpi-bin)\n");
        return 0;
    }
    return 1;
}

const char *ent_test_mnist_like(const char *dir, int n) {
    const char *split[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        FILE *fi, *fl;
        if (!ent_test_idx_create(dir, split[s], n, &fi, &fl)) return dir;
        for (int i = 0; i < n; i++) {
            const int k = (i * 7 + s) % 10;
            for (int px = 0; px < 784; px++) fputc(px / 28 >= 2 * k && px / 28 < 2 * k + 5 ? 220 : (px * 31 + i) % 40, fi);
            fputc(k, fl);
        }
        fclose(fi), fclose(fl);
    }
    return dir;
}

/* metrics.csv's column `name` in the row `row` (0 = the first after the
 * header) of a file's text, or NAN. */
double ent_test_csv(const char *text, int row, const char *name) {
    const char *eol = strchr(text, '\n'), *at = strstr(text, name);
    if (!eol || !at || at > eol) return NAN;
    int col = 0;
    for (const char *h = text; h < at; h++) col += *h == ',';
    const char *line = eol;
    for (int r = 0; line && r < row; r++) line = strchr(line + 1, '\n');
    if (!line || !line[1]) return NAN;
    const char *f = line + 1;
    for (int c = 0; c < col && f; c++)
        if ((f = strchr(f, ',')) != NULL) f++;
    return f ? atof(f) : NAN;
}
