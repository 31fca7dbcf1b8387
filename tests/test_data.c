/* test_data.c — IDX loading (generated files, every bad input), named data
 * sets, the real Fashion-MNIST if installed, and the mini-batch sampler. */
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "test.h"

/* Writes an IDX file: magic, dims (big-endian), then data. gz: gzip it.
 * cut >= 0: keep only the first `cut` bytes of the (uncompressed) stream. */
static void write_idx(const char *path, int gz, uint32_t magic,
                      const uint32_t *dims, int ndim, const unsigned char *data,
                      size_t n, long cut) {
    size_t total = 4 + 4 * (size_t)ndim + n;
    unsigned char *b = malloc(total);
    uint32_t words[4] = {magic, 0, 0, 0};
    for (int d = 0; d < ndim; d++) words[1 + d] = dims[d];
    for (int i = 0; i <= ndim; i++) {
        b[4 * i] = (unsigned char)(words[i] >> 24);
        b[4 * i + 1] = (unsigned char)(words[i] >> 16);
        b[4 * i + 2] = (unsigned char)(words[i] >> 8);
        b[4 * i + 3] = (unsigned char)words[i];
    }
    if (n) memcpy(b + 4 + 4 * ndim, data, n);
    if (cut >= 0 && (size_t)cut < total) total = (size_t)cut;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            if (total) CHECK(gzwrite(f, b, (unsigned)total) == (int)total);
            gzclose(f);
        }
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK(fwrite(b, 1, total, f) == total);
            fclose(f);
        }
    }
    free(b);
}

#define NI 7
#define NR 3
#define NC 4

static unsigned char pixels[NI * NR * NC];
static unsigned char labels[NI];

static void make_pair(const char *dir, const char *ip, const char *lp, int gz) {
    (void)dir;
    for (int i = 0; i < NI * NR * NC; i++) pixels[i] = (unsigned char)(i * 37 % 256);
    pixels[0] = 0;
    pixels[1] = 255;
    for (int i = 0; i < NI; i++) labels[i] = (unsigned char)(i * 3 % 10);
    uint32_t idims[3] = {NI, NR, NC}, ldims[1] = {NI};
    write_idx(ip, gz, 0x803, idims, 3, pixels, sizeof pixels, -1);
    write_idx(lp, gz, 0x801, ldims, 1, labels, sizeof labels, -1);
}

static void check_pair(const char *ip, const char *lp) {
    ent_dataset *d = NULL;
    const float mean = 0.25f, std = 0.5f;
    CHECK_OK(ent_idx_load(&d, ip, lp, mean, std));
    if (!d) return;
    CHECK(d->n == NI && d->c == 1 && d->h == NR && d->w == NC);
    CHECK(d->n_classes == 10);
    for (int i = 0; i < NI * NR * NC; i++) {
        double want = (pixels[i] / 255.0 - mean) / std;
        CHECK_NEAR(d->x[i], want, 1e-6);
    }
    CHECK_NEAR(d->x[0], -0.5, 1e-7);
    CHECK_NEAR(d->x[1], 1.5, 1e-6);
    for (int i = 0; i < NI; i++) CHECK(d->y[i] == labels[i]);
    ent_dataset_truncate(d, 3);
    CHECK(d->n == 3);
    ent_dataset_truncate(d, 100);
    CHECK(d->n == 3);
    ent_dataset_free(d);
}

ENT_TEST(idx_load_raw_and_gzip) {
    const char *dir = ent_test_tmpdir();
    char ip[600], lp[600];
    snprintf(ip, sizeof ip, "%s/img", dir);
    snprintf(lp, sizeof lp, "%s/lab", dir);
    make_pair(dir, ip, lp, 0);
    check_pair(ip, lp);
    snprintf(ip, sizeof ip, "%s/img.gz", dir);
    snprintf(lp, sizeof lp, "%s/lab.gz", dir);
    make_pair(dir, ip, lp, 1);
    check_pair(ip, lp);
    ent_dataset_free(NULL);
}

/* Expect status `want` and a message naming `path` (and `needle`). */
static void expect_fail(const char *ip, const char *lp, ent_status want,
                        const char *path, const char *needle) {
    ent_dataset *d = (ent_dataset *)1;
    ent_status s = ent_idx_load(&d, ip, lp, 0.5f, 0.5f);
    CHECK_MSG(s == want, "want %s, got %s: %s", ent_status_name(want),
              ent_status_name(s), ent_last_error());
    CHECK(d == NULL);
    CHECK_MSG(strstr(ent_last_error(), path), "message does not name %s: %s",
              path, ent_last_error());
    if (needle)
        CHECK_MSG(strstr(ent_last_error(), needle), "message lacks '%s': %s",
                  needle, ent_last_error());
    ent_dataset_free(s == ENT_OK ? d : NULL);
}

ENT_TEST(idx_bad_inputs) {
    for (int gz = 0; gz <= 1; gz++) {
        const char *dir = ent_test_tmpdir();
        char ip[600], lp[600], bp[600];
        snprintf(ip, sizeof ip, "%s/img%s", dir, gz ? ".gz" : "");
        snprintf(lp, sizeof lp, "%s/lab%s", dir, gz ? ".gz" : "");
        snprintf(bp, sizeof bp, "%s/bad%s", dir, gz ? ".gz" : "");
        make_pair(dir, ip, lp, gz);
        uint32_t idims[3] = {NI, NR, NC}, ldims[1] = {NI};

        /* missing files */
        char miss[620];
        snprintf(miss, sizeof miss, "%s/missing", dir);
        expect_fail(miss, lp, ENT_ENOENT, miss, NULL);
        expect_fail(ip, miss, ENT_ENOENT, miss, NULL);
        /* a directory where a file should be */
        expect_fail(dir, lp, ENT_EIO, dir, NULL);
        /* wrong magic: labels file given as images and vice versa */
        expect_fail(lp, ip, ENT_EFORMAT, ip, "expected 0x00000801");
        write_idx(bp, gz, 0x0802, idims, 3, pixels, sizeof pixels, -1);
        expect_fail(bp, lp, ENT_EFORMAT, bp, "got 0x00000802");
        expect_fail(bp, lp, ENT_EFORMAT, bp, "expected 0x00000803");
        /* empty file and truncated headers */
        for (long cut = 0; cut < 16; cut += 3) {
            write_idx(bp, gz, 0x0803, idims, 3, pixels, sizeof pixels, cut);
            expect_fail(bp, lp, ENT_EFORMAT, bp, NULL);
            write_idx(bp, gz, 0x0801, ldims, 1, labels, sizeof labels, cut / 2);
            expect_fail(ip, bp, ENT_EFORMAT, bp, NULL);
        }
        /* zero and absurd dimensions */
        uint32_t zero[3] = {NI, 0, NC};
        write_idx(bp, gz, 0x0803, zero, 3, pixels, 0, -1);
        expect_fail(bp, lp, ENT_EFORMAT, bp, "out of range");
        uint32_t wide[3] = {NI, 5000, 1};
        write_idx(bp, gz, 0x0803, wide, 3, pixels, sizeof pixels, -1);
        expect_fail(bp, lp, ENT_EFORMAT, bp, "out of range");
        uint32_t huge[3] = {0xFFFFFFFFu, 4096, 4096};
        write_idx(bp, gz, 0x0803, huge, 3, pixels, sizeof pixels, -1);
        expect_fail(bp, lp, ENT_EFORMAT, bp, "out of range");
        uint32_t many[1] = {200000000u};
        write_idx(bp, gz, 0x0801, many, 1, labels, sizeof labels, -1);
        expect_fail(ip, bp, ENT_EFORMAT, bp, "out of range");
        uint32_t none[1] = {0};
        write_idx(bp, gz, 0x0801, none, 1, labels, 0, -1);
        expect_fail(ip, bp, ENT_EFORMAT, bp, "out of range");
        /* truncated data: says how many bytes were promised and found */
        write_idx(bp, gz, 0x0803, idims, 3, pixels, sizeof pixels - 5, -1);
        expect_fail(bp, lp, ENT_EFORMAT, bp, "has only 79");
        expect_fail(bp, lp, ENT_EFORMAT, bp, "84");
        write_idx(bp, gz, 0x0801, ldims, 1, labels, NI - 2, -1);
        expect_fail(ip, bp, ENT_EFORMAT, bp, "has only 5");
        /* trailing bytes are ignored */
        unsigned char more[NI * NR * NC + 9] = {0};
        memcpy(more, pixels, sizeof pixels);
        write_idx(bp, gz, 0x0803, idims, 3, more, sizeof more, -1);
        ent_dataset *d = NULL;
        CHECK_OK(ent_idx_load(&d, bp, lp, 0.0f, 1.0f));
        ent_dataset_free(d);
        /* label out of range: names index and value */
        unsigned char bl[NI];
        memcpy(bl, labels, NI);
        bl[4] = 10;
        write_idx(bp, gz, 0x0801, ldims, 1, bl, NI, -1);
        expect_fail(ip, bp, ENT_EFORMAT, bp, "index 4 is 10");
        bl[4] = 255;
        write_idx(bp, gz, 0x0801, ldims, 1, bl, NI, -1);
        expect_fail(ip, bp, ENT_EFORMAT, bp, "index 4 is 255");
        /* count mismatch */
        uint32_t fewer[1] = {NI - 1};
        write_idx(bp, gz, 0x0801, fewer, 1, labels, NI - 1, -1);
        expect_fail(ip, bp, ENT_ESHAPE, ip, bp);
        /* bad normalisation arguments */
        d = NULL;
        CHECK(ent_idx_load(&d, ip, lp, 0.0f, 0.0f) == ENT_EINVAL);
        CHECK(d == NULL);
    }
}

/* A gzip stream cut short or with corrupted bytes: an error, never a crash. */
ENT_TEST(idx_corrupt_gzip) {
    const char *dir = ent_test_tmpdir();
    char ip[600], lp[600], bp[600];
    snprintf(ip, sizeof ip, "%s/img.gz", dir);
    snprintf(lp, sizeof lp, "%s/lab.gz", dir);
    snprintf(bp, sizeof bp, "%s/bad.gz", dir);
    /* Bigger images so the compressed stream is long enough to cut. */
    enum { N = 50, R = 28, C = 28 };
    unsigned char *px = malloc(N * R * C);
    unsigned char lb[N];
    for (int i = 0; i < N * R * C; i++) px[i] = (unsigned char)((i * 2654435761u) >> 24);
    for (int i = 0; i < N; i++) lb[i] = (unsigned char)(i % 10);
    uint32_t idims[3] = {N, R, C}, ldims[1] = {N};
    write_idx(ip, 1, 0x803, idims, 3, px, N * R * C, -1);
    write_idx(lp, 1, 0x801, ldims, 1, lb, N, -1);
    ent_dataset *d = NULL;
    CHECK_OK(ent_idx_load(&d, ip, lp, 0.0f, 1.0f));
    ent_dataset_free(d);
    FILE *f = fopen(ip, "rb");
    unsigned char *gzb = malloc(100000);
    size_t len = f ? fread(gzb, 1, 100000, f) : 0;
    if (f) fclose(f);
    CHECK(len > 100);
    for (size_t cut = 0; cut < len; cut += len / 23 + 1) {
        f = fopen(bp, "wb");
        fwrite(gzb, 1, cut, f);
        fclose(f);
        d = NULL;
        ent_status s = ent_idx_load(&d, bp, lp, 0.0f, 1.0f);
        CHECK_MSG(s == ENT_EFORMAT, "cut %zu: %s", cut, ent_status_name(s));
        CHECK(strstr(ent_last_error(), bp) != NULL);
        CHECK(d == NULL);
    }
    for (size_t pos = 10; pos < len; pos += len / 17 + 1) {
        unsigned char save = gzb[pos];
        gzb[pos] ^= 0xa5;
        f = fopen(bp, "wb");
        fwrite(gzb, 1, len, f);
        fclose(f);
        gzb[pos] = save;
        d = NULL;
        ent_status s = ent_idx_load(&d, bp, lp, 0.0f, 1.0f);
        if (s != ENT_OK) CHECK(strstr(ent_last_error(), bp) != NULL);
        ent_dataset_free(d);
    }
    free(gzb);
    free(px);
}

ENT_TEST(dataset_load_named) {
    ent_dataset *d = NULL;
    CHECK(ent_dataset_load(&d, "cifar-100", NULL, ENT_SPLIT_TRAIN) == ENT_EUSAGE);
    CHECK(strstr(ent_last_error(), "cifar-100") &&
          strstr(ent_last_error(), "fashion-mnist") &&
          strstr(ent_last_error(), "mnist"));
    CHECK(ent_dataset_load(&d, "mnist", NULL, ENT_SPLIT_TRAIN) == ENT_EUSAGE);
    CHECK(strstr(ent_last_error(), "train-images-idx3-ubyte") != NULL);

    const char *dir = ent_test_tmpdir();
    CHECK(ent_dataset_load(&d, "mnist", dir, ENT_SPLIT_TRAIN) == ENT_ENOENT);
    CHECK(strstr(ent_last_error(), dir) &&
          strstr(ent_last_error(), "train-images-idx3-ubyte") &&
          strstr(ent_last_error(), "t10k-labels-idx1-ubyte") &&
          strstr(ent_last_error(), "--data-dir"));
    CHECK(ent_dataset_load(&d, "fashion-mnist", dir, ENT_SPLIT_TEST) == ENT_ENOENT);
    CHECK(strstr(ent_last_error(), dir) &&
          strstr(ent_last_error(), "t10k-images-idx3-ubyte") &&
          strstr(ent_last_error(),
                 "not found: install it with `apt-get install dataset-fashion-mnist`"));

    /* mnist from raw files (train) and gzip files (test) in one directory;
     * images present but labels missing names the labels file. */
    char ip[600], lp[600];
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", dir);
    make_pair(dir, ip, lp, 0);
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", dir);
    CHECK(ent_dataset_load(&d, "mnist", dir, ENT_SPLIT_TEST) == ENT_ENOENT);
    CHECK(strstr(ent_last_error(), "t10k-images-idx3-ubyte") != NULL);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", dir);
    make_pair(dir, ip, lp, 1);
    for (int split = 0; split <= 1; split++) {
        d = NULL;
        CHECK_OK(ent_dataset_load(&d, "mnist", dir, (ent_split)split));
        if (!d) continue;
        CHECK(strcmp(d->name, "mnist") == 0);
        CHECK(d->n == NI && d->h == NR && d->w == NC && d->c == 1);
        CHECK_NEAR(d->x[0], (0.0 - 0.1307) / 0.3081, 1e-5);
        CHECK_NEAR(d->x[1], (1.0 - 0.1307) / 0.3081, 1e-5);
        ent_dataset_free(d);
    }
    /* Both names present: the .gz is preferred (make it the broken one). */
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
    FILE *f = fopen(ip, "wb");
    fputs("junk", f);
    fclose(f);
    CHECK(ent_dataset_load(&d, "mnist", dir, ENT_SPLIT_TRAIN) == ENT_EFORMAT);
    CHECK(strstr(ent_last_error(), ip) != NULL);
}

ENT_TEST(dataset_fashion_mnist_real) {
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist", &st) != 0) {
        printf("    skip: /usr/share/datasets/fashion-mnist absent "
               "(apt-get install dataset-fashion-mnist)\n");
        return;
    }
    const int64_t want_n[2] = {60000, 10000};
    for (int split = 0; split <= 1; split++) {
        ent_dataset *d = NULL;
        CHECK_OK(ent_dataset_load(&d, "fashion-mnist", NULL, (ent_split)split));
        if (!d) continue;
        CHECK(strcmp(d->name, "fashion-mnist") == 0);
        CHECK(d->n == want_n[split] && d->c == 1 && d->h == 28 && d->w == 28);
        int64_t count[10] = {0};
        for (int64_t i = 0; i < d->n; i++) {
            CHECK(d->y[i] >= 0 && d->y[i] < 10);
            if (d->y[i] >= 0 && d->y[i] < 10) count[d->y[i]]++;
        }
        for (int k = 0; k < 10; k++) CHECK(count[k] == d->n / 10); /* balanced */
        int64_t np = d->n * 28 * 28;
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < np; i++) {
            s += d->x[i];
            s2 += (double)d->x[i] * d->x[i];
        }
        double mean = s / (double)np, sd = sqrt(s2 / (double)np - mean * mean);
        CHECK_NEAR(mean, 0.0, 0.05);
        CHECK_NEAR(sd, 1.0, 0.05);
        ent_dataset_free(d);
    }
}

/* ---------------------------------------------------------------- sampler */

/* A data set whose sample i has every pixel = i and label i % 10. */
static ent_dataset *fake_set(int64_t n) {
    ent_dataset *d = calloc(1, sizeof *d);
    d->n = n, d->c = 1, d->h = 2, d->w = 3, d->n_classes = 10;
    d->x = ent_alloc((size_t)n * 6 * sizeof(float));
    d->y = ent_alloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < 6; k++) d->x[i * 6 + k] = (float)i;
        d->y[i] = (int32_t)(i % 10);
    }
    return d;
}

/* Draws one epoch; checks every index appears exactly once and batch sizes. */
static void draw_epoch(ent_sampler *s, int64_t n, int64_t batch, int64_t *order) {
    float *x = malloc((size_t)batch * 6 * sizeof(float));
    int32_t *y = malloc((size_t)batch * sizeof(int32_t));
    char *seen = calloc((size_t)n, 1);
    int64_t got = 0, nb = ent_batches_per_epoch(n, batch);
    for (int64_t b = 0; b < nb; b++) {
        int64_t k = ent_sampler_next(s, x, y);
        int64_t want = (b == nb - 1 && n % batch) ? n % batch : batch;
        CHECK_MSG(k == want, "batch %lld has %lld samples, want %lld",
                  (long long)b, (long long)k, (long long)want);
        for (int64_t i = 0; i < k && got < n; i++) {
            int64_t idx = (int64_t)x[i * 6];
            CHECK(idx >= 0 && idx < n);
            if (idx < 0 || idx >= n) continue;
            CHECK(x[i * 6 + 5] == (float)idx);
            CHECK(y[i] == idx % 10);
            CHECK_MSG(!seen[idx], "index %lld drawn twice", (long long)idx);
            seen[idx] = 1;
            order[got++] = idx;
        }
    }
    CHECK(got == n);
    free(seen);
    free(x);
    free(y);
}

ENT_TEST(sampler_epochs) {
    const int64_t n = 103, batch = 10;
    ent_dataset *d = fake_set(n);
    CHECK(ent_batches_per_epoch(103, 10) == 11);
    CHECK(ent_batches_per_epoch(100, 10) == 10);
    CHECK(ent_batches_per_epoch(1, 10) == 1);
    ent_sampler s, s2;
    CHECK_OK(ent_sampler_init(&s, d, batch, 42));
    CHECK_OK(ent_sampler_init(&s2, d, batch, 42));
    int64_t e0[103], e1[103], f0[103], f1[103];
    draw_epoch(&s, n, batch, e0);
    CHECK(s.epoch == 0 && s.pos == n);
    draw_epoch(&s, n, batch, e1);
    CHECK(s.epoch == 1);
    CHECK(memcmp(e0, e1, sizeof e0) != 0); /* epochs differ */
    int identity = 1;
    for (int64_t i = 0; i < n; i++) identity &= e0[i] == i;
    CHECK(!identity); /* shuffled */
    draw_epoch(&s2, n, batch, f0);
    draw_epoch(&s2, n, batch, f1);
    CHECK(memcmp(e0, f0, sizeof e0) == 0 && memcmp(e1, f1, sizeof e1) == 0);
    ent_sampler_free(&s2);
    /* A different seed gives a different order. */
    CHECK_OK(ent_sampler_init(&s2, d, batch, 43));
    draw_epoch(&s2, n, batch, f0);
    CHECK(memcmp(e0, f0, sizeof e0) != 0);
    ent_sampler_free(&s2);
    /* Batch larger than the data set: one partial batch per epoch. */
    CHECK_OK(ent_sampler_init(&s2, d, 500, 1));
    float *x = malloc(500 * 6 * sizeof(float));
    int32_t y[500];
    CHECK(ent_sampler_next(&s2, x, y) == n);
    CHECK(ent_sampler_next(&s2, x, y) == n);
    CHECK(s2.epoch == 1);
    free(x);
    ent_sampler_free(&s2);
    ent_sampler_free(&s);
    ent_sampler_free(&s);
    /* Bad arguments. */
    CHECK(ent_sampler_init(&s, d, 0, 1) == ENT_EINVAL);
    CHECK(ent_sampler_init(&s, NULL, 4, 1) == ENT_EINVAL);
    ent_sampler_free(&s);
    ent_dataset_free(d);
}

ENT_TEST(sampler_seek_restores) {
    const int64_t n = 57, batch = 8;
    ent_dataset *d = fake_set(n);
    ent_sampler a, b;
    CHECK_OK(ent_sampler_init(&a, d, batch, 7));
    float xa[8 * 6], xb[8 * 6];
    int32_t ya[8], yb[8];
    /* Run a for a while, remember (epoch, pos) at some point, keep going. */
    int64_t save_epoch = 0, save_pos = 0;
    float stream[40][8 * 6];
    int64_t sizes[40];
    for (int i = 0; i < 17; i++) ent_sampler_next(&a, xa, ya);
    save_epoch = a.epoch;
    save_pos = a.pos;
    for (int i = 0; i < 40; i++) {
        sizes[i] = ent_sampler_next(&a, stream[i], ya);
    }
    /* A fresh sampler seeked there replays the same stream. */
    CHECK_OK(ent_sampler_init(&b, d, batch, 7));
    ent_sampler_seek(&b, save_epoch, save_pos);
    for (int i = 0; i < 40; i++) {
        int64_t k = ent_sampler_next(&b, xb, yb);
        CHECK(k == sizes[i]);
        CHECK(memcmp(xb, stream[i], (size_t)k * 6 * sizeof(float)) == 0);
    }
    CHECK(a.epoch == b.epoch && a.pos == b.pos);
    /* Seek to the very end of an epoch: the next call starts the next one. */
    ent_sampler_seek(&b, 3, n);
    ent_sampler_next(&b, xb, yb);
    CHECK(b.epoch == 4 && b.pos == batch);
    ent_sampler_seek(&a, 4, 0);
    ent_sampler_next(&a, xa, ya);
    CHECK(memcmp(xa, xb, sizeof xa) == 0 && memcmp(ya, yb, sizeof ya) == 0);
    ent_sampler_free(&a);
    ent_sampler_free(&b);
    ent_dataset_free(d);
}

/* --val-split's hold-out: 30 of 100 samples (pixel value = index) go to the
 * validation set, in index order, and the training set keeps the other 70
 * in order; together they are the 100, each once. A sampler on the training
 * set over 6 epochs (batch 7) never draws a held-out sample and draws every
 * kept one each epoch. The same seed picks the same samples, another seed
 * others; 0 or all samples are refused. */
ENT_TEST(dataset_hold_out_disjoint) {
    const int64_t n = 100, n_val = 30, batch = 7;
    ent_dataset *d = fake_set(n), *v = NULL;
    int64_t idx[30];
    CHECK_OK(ent_dataset_hold_out(d, n_val, 5, &v, idx));
    if (!v) return;
    CHECK(d->n == n - n_val && v->n == n_val && v->c == 1 && v->h == 2 && v->w == 3 && v->n_classes == 10);
    char held[100] = {0}, count[100] = {0};
    for (int64_t j = 0; j < n_val; j++) {
        CHECK_MSG(j == 0 || idx[j] > idx[j - 1], "held-out indices not ascending at %lld", (long long)j);
        CHECK(v->x[j * 6] == (float)idx[j] && v->x[j * 6 + 5] == (float)idx[j] && v->y[j] == idx[j] % 10);
        held[idx[j]] = 1;
        count[idx[j]]++;
    }
    for (int64_t i = 0; i < d->n; i++) {
        const int64_t k = (int64_t)d->x[i * 6];
        CHECK_MSG(i == 0 || k > (int64_t)d->x[(i - 1) * 6], "training set out of order at %lld", (long long)i);
        CHECK(d->x[i * 6 + 5] == (float)k && d->y[i] == k % 10);
        count[k]++;
    }
    for (int64_t i = 0; i < n; i++) CHECK_MSG(count[i] == 1, "sample %lld is in %d sets", (long long)i, count[i]);
    ent_sampler s;
    CHECK_OK(ent_sampler_init(&s, d, batch, 9));
    float x[7 * 6];
    int32_t y[7];
    int64_t drawn_held = 0;
    for (int e = 0; e < 6; e++) {
        char seen[100] = {0};
        int64_t got = 0;
        for (int64_t b = 0; b < ent_batches_per_epoch(d->n, batch); b++) {
            const int64_t k = ent_sampler_next(&s, x, y);
            for (int64_t i = 0; i < k; i++) {
                const int64_t id = (int64_t)x[i * 6];
                drawn_held += held[id];
                got += !seen[id];
                seen[id] = 1;
            }
        }
        CHECK_MSG(got == n - n_val, "epoch %d drew %lld distinct samples, want %lld", e, (long long)got,
                  (long long)(n - n_val));
    }
    CHECK_MSG(drawn_held == 0, "the sampler drew %lld held-out samples", (long long)drawn_held);
    ent_sampler_free(&s);
    /* the same seed: the same samples; another seed: others */
    ent_dataset *d2 = fake_set(n), *v2 = NULL, *d3 = fake_set(n), *v3 = NULL;
    int64_t idx2[30], idx3[30];
    CHECK_OK(ent_dataset_hold_out(d2, n_val, 5, &v2, idx2));
    CHECK_OK(ent_dataset_hold_out(d3, n_val, 6, &v3, idx3));
    CHECK(memcmp(idx, idx2, sizeof idx) == 0);
    CHECK(memcmp(idx, idx3, sizeof idx) != 0);
    ent_dataset *none = NULL;
    CHECK(ent_dataset_hold_out(d2, 0, 5, &none, NULL) == ENT_EINVAL && none == NULL);
    CHECK(ent_dataset_hold_out(d2, d2->n, 5, &none, NULL) == ENT_EINVAL && none == NULL);
    CHECK(d2->n == n - n_val);
    ent_dataset_free(v);
    ent_dataset_free(v2);
    ent_dataset_free(v3);
    ent_dataset_free(d);
    ent_dataset_free(d2);
    ent_dataset_free(d3);
}
