/* test_data_cifar.c — CIFAR-10 binary batches: files written here in the
 * official layout (label byte, then the red, green and blue 32x32 planes),
 * the pixel order and scaling, the folder layouts, and every bad input
 * through the library and the CLI (exit 2, one line naming the file). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define REC 3073

/* The byte of record i (global index), channel c, row r, column k. */
static unsigned char pixel(int i, int c, int r, int k) { return (unsigned char)(i * 31 + c * 101 + r * 7 + k * 3); }

static int label_of(int i) { return (i * 3 + 1) % 10; }

/* Writes records first..first+n-1 to path; label_at >= 0: record
 * label_at (global) gets label `bad`. cut > 0: drop the last cut bytes. */
static void write_batch(const char *path, int first, int n, int label_at, int bad, long cut) {
    unsigned char *b = malloc((size_t)n * REC);
    for (int j = 0; j < n; j++) {
        unsigned char *r = b + (size_t)j * REC;
        r[0] = (unsigned char)(first + j == label_at ? bad : label_of(first + j));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) r[1 + c * 1024 + y * 32 + x] = pixel(first + j, c, y, x);
    }
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (f) {
        fwrite(b, 1, (size_t)n * REC - (size_t)cut, f);
        fclose(f);
    }
    free(b);
}

/* dir/name into buf[600]. */
static const char *in_dir(char *buf, const char *dir, const char *name) {
    snprintf(buf, 600, "%s/%s", dir, name);
    return buf;
}

static const float MEAN[3] = {0.1f, 0.5f, 0.9f}, STD[3] = {0.5f, 0.25f, 2.0f};

static double want_x(int i, int c, int r, int k, const float *mean, const float *std) {
    return (pixel(i, c, r, k) / 255.0 - mean[c]) / std[c];
}

ENT_TEST(cifar_load_pixel_order_and_labels) {
    const char *dir = ent_test_tmpdir();
    char a[600], b[600];
    write_batch(in_dir(a, dir, "a.bin"), 0, 3, -1, 0, 0);
    write_batch(in_dir(b, dir, "b.bin"), 3, 2, -1, 0, 0);
    const char *paths[2] = {a, b};
    ent_dataset *d = NULL;
    CHECK_OK(ent_cifar10_load(&d, paths, 2, MEAN, STD));
    if (!d) return;
    CHECK(d->n == 5 && d->c == 3 && d->h == 32 && d->w == 32 && d->n_classes == 10);
    CHECK(strcmp(d->name, "cifar10") == 0);
    /* One pixel by hand: sample 4 (the second file's second record), blue
     * (channel 2), row 5, column 17, at x[((4*3 + 2)*32 + 5)*32 + 17]. */
    const unsigned char v = pixel(4, 2, 5, 17);
    CHECK_NEAR(d->x[((4 * 3 + 2) * 32 + 5) * 32 + 17], (v / 255.0 - 0.9) / 2.0, 1e-6);
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        CHECK(d->y[i] == label_of(i));
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 32; r++)
                for (int k = 0; k < 32; k++) {
                    double e = fabs(d->x[((i * 3 + c) * 32 + r) * 32 + k] - want_x(i, c, r, k, MEAN, STD));
                    if (e > worst) worst = e;
                }
    }
    printf("    5 images, 3 x 32 x 32: largest pixel error %.2g (tolerance 1e-6)\n", worst);
    CHECK(worst < 1e-6);
    ent_dataset_free(d);
}

/* Expect status `want` and a one-line message naming `path` and `needle`. */
static void expect_fail(const char *const *paths, int n, ent_status want, const char *path, const char *needle) {
    ent_dataset *d = (ent_dataset *)1;
    ent_status s = ent_cifar10_load(&d, paths, n, MEAN, STD);
    const char *m = ent_last_error();
    CHECK_MSG(s == want, "want %s, got %s: %s", ent_status_name(want), ent_status_name(s), m);
    CHECK(d == NULL);
    CHECK_MSG(strstr(m, path) && strstr(m, needle) && !strchr(m, '\n'), "message lacks '%s' or '%s': %s", path,
              needle, m);
}

ENT_TEST(cifar_bad_files) {
    const char *dir = ent_test_tmpdir();
    char good[600], bad[600], miss[600];
    in_dir(good, dir, "good.bin"), in_dir(bad, dir, "bad.bin"), in_dir(miss, dir, "missing.bin");
    write_batch(good, 0, 2, -1, 0, 0);
    const char *p[2] = {good, bad};
    /* a record cut short, and one byte too many */
    write_batch(bad, 2, 3, -1, 0, 100);
    expect_fail(p, 2, ENT_EFORMAT, bad, "not a whole number of 3073-byte records (2 records and 2973 bytes over)");
    FILE *f = fopen(bad, "ab");
    for (int i = 0; i < 101; i++) fputc(0, f);
    fclose(f);
    expect_fail(p, 2, ENT_EFORMAT, bad, "(3 records and 1 bytes over)");
    /* empty */
    write_batch(bad, 0, 1, -1, 0, REC);
    expect_fail(p, 2, ENT_EFORMAT, bad, "empty");
    /* labels out of range: the record (of this file) and the value */
    write_batch(bad, 2, 3, 3, 10, 0);
    expect_fail(p, 2, ENT_EFORMAT, bad, "label of record 1 is 10");
    write_batch(bad, 2, 3, 4, 255, 0);
    expect_fail(p, 2, ENT_EFORMAT, bad, "label of record 2 is 255");
    /* more records than an official batch (a sparse file: nothing is read) */
    f = fopen(bad, "wb");
    CHECK(f && ftruncate(fileno(f), (off_t)10001 * REC) == 0);
    if (f) fclose(f);
    expect_fail(p, 2, ENT_EFORMAT, bad, "10001 records");
    /* missing, and a directory */
    const char *q[2] = {good, miss};
    expect_fail(q, 2, ENT_ENOENT, miss, "No such file");
    const char *r[1] = {dir};
    expect_fail(r, 1, ENT_EIO, dir, "not a regular file");
    /* bad arguments */
    ent_dataset *d = NULL;
    const float zero[3] = {1, 1, 0};
    CHECK(ent_cifar10_load(&d, p, 0, MEAN, STD) == ENT_EINVAL);
    CHECK(ent_cifar10_load(&d, p, 1, MEAN, zero) == ENT_EINVAL && d == NULL);
}

/* The official folder: 5 training batches and a test batch, here of 2-3
 * records each, in dir or in dir/cifar-10-batches-bin. */
static void write_folder(const char *dir) {
    char p[700];
    for (int b = 1; b <= 5; b++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b);
        write_batch(p, 3 * (b - 1), b == 5 ? 2 : 3, -1, 0, 0);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_batch(p, 100, 4, -1, 0, 0);
}

ENT_TEST(cifar_named_set) {
    static const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2470f, 0.2435f, 0.2616f};
    const char *dir = ent_test_tmpdir();
    char sub[600];
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
    CHECK(mkdir(sub, 0755) == 0);
    write_folder(sub);
    for (int where = 0; where < 2; where++) {
        const char *at = where ? sub : dir; /* the tarball's folder, or its parent */
        ent_dataset *tr = NULL, *te = NULL;
        CHECK_OK(ent_dataset_load(&tr, "cifar10", at, ENT_SPLIT_TRAIN));
        CHECK_OK(ent_dataset_load(&te, "cifar10", at, ENT_SPLIT_TEST));
        if (tr && te) {
            CHECK(tr->n == 14 && te->n == 4 && strcmp(tr->name, "cifar10") == 0);
            /* training sample 13 is data_batch_5's second record */
            CHECK(tr->y[13] == label_of(13) && te->y[0] == label_of(100));
            CHECK_NEAR(tr->x[((13 * 3 + 1) * 32 + 31) * 32 + 0], want_x(13, 1, 31, 0, mean, std), 1e-6);
            CHECK_NEAR(te->x[((3 * 3 + 0) * 32 + 2) * 32 + 9], want_x(103, 0, 2, 9, mean, std), 1e-6);
        }
        ent_dataset_free(tr);
        ent_dataset_free(te);
    }
    /* a missing batch: named, with where to get the data */
    char p[700];
    snprintf(p, sizeof p, "%s/data_batch_3.bin", sub);
    CHECK(unlink(p) == 0);
    ent_dataset *d = NULL;
    CHECK(ent_dataset_load(&d, "cifar10", dir, ENT_SPLIT_TRAIN) == ENT_ENOENT);
    CHECK_MSG(strstr(ent_last_error(), p) && strstr(ent_last_error(), "cifar-10-binary.tar.gz") &&
                  strstr(ent_last_error(), "https://www.cs.toronto.edu/~kriz/cifar.html"),
              "message: %s", ent_last_error());
    CHECK_OK(ent_dataset_load(&d, "cifar10", dir, ENT_SPLIT_TEST));
    ent_dataset_free(d);
}

static char out[8192];

/* The CLI: a good folder trains (a fully connected net on 3 x 32 x 32);
 * a missing folder and a broken batch end in exit 2, one line. */
ENT_TEST(cli_cifar) {
    int rc = ent_test_run(out, sizeof out, "%s train --dataset cifar10 --data-dir /nonexistent/c10 --out %s/r --quiet",
                          ent_test_cli(), ent_test_tmpdir());
    CHECK_MSG(rc == 2 && strstr(out, "/nonexistent/c10/data_batch_1.bin") && strstr(out, "cifar-10-binary.tar.gz") &&
                  ent_test_count_lines(out) == 1,
              "exit %d: %s", rc, out);
    const char *dir = ent_test_tmpdir();
    write_folder(dir);
    rc = ent_test_run(out, sizeof out, "%s train --dataset cifar10 --data-dir %s --model tiny-mnistfc --epochs 1 "
                      "--batch-size 4 --out %s/good --quiet", ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 0, "good folder: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/good/checkpoint.safetensors --dataset cifar10 "
                      "--data-dir %s --json", ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 0 && strstr(out, "\"samples\": 4"), "eval: exit %d: %s", rc, out);
    char p[700];
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_batch(p, 0, 2, 1, 77, 0);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint /nonexistent.safetensors --dataset cifar10 --data-dir %s",
                      ent_test_cli(), dir);
    CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1, "exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s train --dataset cifar10 --data-dir %s --out %s/r --quiet", ent_test_cli(),
                      dir, dir);
    CHECK_MSG(rc == 2 && strstr(out, p) && strstr(out, "label of record 1 is 77") && ent_test_count_lines(out) == 1,
              "exit %d: %s", rc, out);
}

/* fc1.weight and fc2.weight of two checkpoints: the same bits. */
static int same_fc(const char *a, const char *b) {
    ent_st_file *fa = NULL, *fb = NULL;
    int same = ent_safetensors_read(&fa, a) == ENT_OK && ent_safetensors_read(&fb, b) == ENT_OK;
    static float x[8 * 3072], y[8 * 3072];
    const char *names[] = {"fc1.weight", "fc2.weight"};
    const int64_t n[] = {8 * 3072, 10 * 8};
    for (int i = 0; same && i < 2; i++)
        same = ent_st_get(fa, names[i], x, n[i]) == ENT_OK && ent_st_get(fb, names[i], y, n[i]) == ENT_OK &&
               memcmp(x, y, sizeof(float) * (size_t)n[i]) == 0;
    ent_st_file_free(fa), ent_st_file_free(fb);
    return same;
}

/* --preprocess gcn-zca: the whitening is kept in the run directory, a
 * resumed run reads it back and ends bit-identical to an uninterrupted
 * one, eval applies it from beside the checkpoint, and without the file
 * eval says so in one line (exit 2). */
ENT_TEST(cli_cifar_gcn_zca_resume) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/zca", ent_test_tmpdir());
    CHECK(ent_test_run(out, sizeof out, "mkdir -p %s", dir) == 0);
    write_folder(dir);
    const char *common = "--model tiny-mnistfc --optimizer sgd --momentum 0.9 --batch-size 4 --preprocess gcn-zca "
                         "--augment crop4,flip --threads 2 --quiet";
    int rc = ent_test_run(out, sizeof out, "%s train --dataset cifar10 --data-dir %s %s --epochs 4 --out %s/full",
                          ent_test_cli(), dir, common, dir);
    CHECK_MSG(rc == 0, "full: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --dataset cifar10 --data-dir %s %s --epochs 2 --out %s/half",
                      ent_test_cli(), dir, common, dir);
    CHECK_MSG(rc == 0, "half: %s", out);
    rc = ent_test_run(out, sizeof out, "test -s %s/half/zca.safetensors && %s train --resume %s/half --epochs 4",
                      dir, ent_test_cli(), dir);
    CHECK_MSG(rc == 0, "resume: %s", out);
    char a[800], b[800];
    snprintf(a, sizeof a, "%s/full/checkpoint.safetensors", dir);
    snprintf(b, sizeof b, "%s/half/checkpoint.safetensors", dir);
    CHECK_MSG(same_fc(a, b), "the resumed whitened, augmented run differs from the uninterrupted one");
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --dataset cifar10 --data-dir %s --json", ent_test_cli(),
                      a, dir);
    CHECK_MSG(rc == 0 && strstr(out, "\"samples\": 4"), "eval: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "mv %s/full/zca.safetensors %s/moved && %s eval --checkpoint %s --dataset cifar10 "
                      "--data-dir %s", dir, dir, ent_test_cli(), a, dir);
    CHECK_MSG(rc == 2 && strstr(out, "zca.safetensors") && ent_test_count_lines(out) == 1, "no whitening: %d %s", rc, out);
}
