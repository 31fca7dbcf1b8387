/* cifar.c — CIFAR-10, the official binary version (cifar-10-binary.tar.gz,
 * folder cifar-10-batches-bin): data_batch_1.bin .. data_batch_5.bin for
 * training, test_batch.bin for testing. A file is a sequence of 3073-byte
 * records: one label byte (0..9), then 1024 red, 1024 green and 1024 blue
 * bytes, each plane 32x32 row-major — the [c][h][w] order of the tensor.
 *
 * The format has no header, so the file's size is the only count: it must
 * be a whole, non-zero number of records, at most 10000 (the official files
 * hold exactly 10000; smaller ones of the same layout are accepted, so that
 * a subset can be cut with `head -c`). The size is taken with fstat before
 * anything is allocated, and a file that yields fewer bytes than it
 * announced is reported as truncated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entropic.h"

#define CIFAR_SIDE 32
#define CIFAR_PLANE (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_PIXELS (3 * CIFAR_PLANE)
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_MAX_RECORDS 10000
#define CIFAR_MAX_FILES 16
#define CIFAR_CLASSES 10

/* Opens path and returns its record count in *n (1..CIFAR_MAX_RECORDS). */
static ent_status cifar_open(FILE **out, const char *path, int64_t *n) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return ent_fail(e == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ent_fail(ENT_EIO, "%s: not a regular file", path);
    }
    int64_t size = (int64_t)st.st_size;
    ent_status s = ENT_OK;
    if (size == 0)
        s = ent_fail(ENT_EFORMAT, "%s: empty file (want records of %d bytes)", path, CIFAR_RECORD);
    else if (size % CIFAR_RECORD != 0)
        s = ent_fail(ENT_EFORMAT,
                     "%s: truncated or not a CIFAR-10 binary batch: %lld bytes is not a whole number "
                     "of %d-byte records (%lld records and %lld bytes over)",
                     path, (long long)size, CIFAR_RECORD, (long long)(size / CIFAR_RECORD),
                     (long long)(size % CIFAR_RECORD));
    else if (size / CIFAR_RECORD > CIFAR_MAX_RECORDS)
        s = ent_fail(ENT_EFORMAT, "%s: %lld records, more than the %d of an official CIFAR-10 batch",
                     path, (long long)(size / CIFAR_RECORD), CIFAR_MAX_RECORDS);
    if (s != ENT_OK) {
        fclose(f);
        return s;
    }
    *n = size / CIFAR_RECORD;
    *out = f;
    return ENT_OK;
}

/* Reads n records of f into x (n x 3 x 32 x 32 floats, through lut) and y. */
static ent_status cifar_read(FILE *f, const char *path, int64_t n, const float lut[3][256],
                             float *x, int32_t *y) {
    unsigned char rec[CIFAR_RECORD];
    for (int64_t i = 0; i < n; i++) {
        size_t got = fread(rec, 1, sizeof rec, f);
        if (got != sizeof rec)
            return ent_fail(ENT_EFORMAT, "%s: truncated: record %lld has %zu of %d bytes", path,
                            (long long)i, got, CIFAR_RECORD);
        if (rec[0] >= CIFAR_CLASSES)
            return ent_fail(ENT_EFORMAT, "%s: label of record %lld is %u, expected 0..%d", path,
                            (long long)i, rec[0], CIFAR_CLASSES - 1);
        y[i] = rec[0];
        float *xi = x + i * CIFAR_PIXELS;
        for (int k = 0; k < CIFAR_PIXELS; k++) xi[k] = lut[k / CIFAR_PLANE][rec[1 + k]];
    }
    return ENT_OK;
}

static ent_status cifar_check_args(const char *const *paths, int n_paths, const float mean[3],
                                   const float std[3]) {
    if (!paths || n_paths < 1 || n_paths > CIFAR_MAX_FILES)
        return ent_fail(ENT_EINVAL, "ent_cifar10_load: want 1..%d files, got %d", CIFAR_MAX_FILES, n_paths);
    for (int i = 0; i < n_paths; i++)
        if (!paths[i]) return ent_fail(ENT_EINVAL, "ent_cifar10_load: NULL path");
    for (int c = 0; c < 3; c++)
        if (!(std[c] > 0) || !(mean[c] == mean[c]))
            return ent_fail(ENT_EINVAL, "ent_cifar10_load: bad normalisation of channel %d: mean %g std %g",
                            c, (double)mean[c], (double)std[c]);
    return ENT_OK;
}

ent_status ent_cifar10_load(ent_dataset **out, const char *const *paths, int n_paths,
                            const float mean[3], const float std[3]) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_cifar10_load: NULL output");
    *out = NULL;
    ent_status s = cifar_check_args(paths, n_paths, mean, std);
    if (s != ENT_OK) return s;
    FILE *f[CIFAR_MAX_FILES] = {0};
    int64_t count[CIFAR_MAX_FILES], n = 0;
    ent_dataset *d = NULL;
    /* Every file is opened and sized before the first allocation. */
    for (int i = 0; i < n_paths && s == ENT_OK; i++)
        if ((s = cifar_open(&f[i], paths[i], &count[i])) == ENT_OK) n += count[i];
    if (s == ENT_OK) {
        d = calloc(1, sizeof *d);
        if (d) {
            d->n = n, d->c = 3, d->h = CIFAR_SIDE, d->w = CIFAR_SIDE;
            d->n_classes = CIFAR_CLASSES;
            snprintf(d->name, sizeof d->name, "cifar10");
            d->x = ent_alloc((size_t)n * CIFAR_PIXELS * sizeof(float));
            d->y = ent_alloc((size_t)n * sizeof(int32_t));
        }
        if (!d || !d->x || !d->y) s = ent_fail(ENT_ENOMEM, "%s: out of memory (%lld images)", paths[0], (long long)n);
    }
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            lut[c][v] = (float)(((double)v / 255.0 - (double)mean[c]) / (double)std[c]);
    for (int i = 0, at = 0; i < n_paths && s == ENT_OK; at += (int)count[i], i++)
        s = cifar_read(f[i], paths[i], count[i], (const float(*)[256])lut, d->x + (int64_t)at * CIFAR_PIXELS,
                       d->y + at);
    for (int i = 0; i < n_paths; i++)
        if (f[i]) fclose(f[i]);
    if (s != ENT_OK) {
        ent_dataset_free(d);
        return s;
    }
    *out = d;
    return ENT_OK;
}

/* ----------------------------------------------------------- the named set */

/* The training set's per-channel mean and standard deviation of x/255
 * (all 50000 images, population statistics). */
static const float CIFAR_MEAN[3] = {0.4914f, 0.4822f, 0.4465f};
static const float CIFAR_STD[3] = {0.2470f, 0.2435f, 0.2616f};

#define CIFAR_DEFAULT_DIR "/usr/share/datasets/cifar10"
#define CIFAR_GET                                                                      \
    "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html " \
    "and give its folder cifar-10-batches-bin as --data-dir"

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir itself, or its cifar-10-batches-bin subfolder (the tarball's
 * layout), whichever holds `probe`; dir when neither does. */
static void pick_dir(char *buf, size_t cap, const char *dir, const char *probe) {
    char p[4200];
    snprintf(buf, cap, "%s", dir);
    snprintf(p, sizeof p, "%s/%s", dir, probe);
    if (exists(p)) return;
    snprintf(p, sizeof p, "%s/cifar-10-batches-bin/%s", dir, probe);
    if (exists(p)) snprintf(buf, cap, "%s/cifar-10-batches-bin", dir);
}

ent_status ent_cifar10_load_dir(ent_dataset **out, const char *dir, ent_split split) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_cifar10_load_dir: NULL output");
    *out = NULL;
    if (!dir || !*dir) dir = CIFAR_DEFAULT_DIR;
    if (strlen(dir) > 4000) return ent_fail(ENT_EINVAL, "%s: data directory path too long", dir);
    if (split != ENT_SPLIT_TRAIN && split != ENT_SPLIT_TEST)
        return ent_fail(ENT_EINVAL, "ent_cifar10_load_dir: bad split %d", (int)split);
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    const char *const *names = split == ENT_SPLIT_TRAIN ? train : test;
    const int n = split == ENT_SPLIT_TRAIN ? 5 : 1;
    char base[4100], paths[5][4200];
    const char *ptrs[5];
    pick_dir(base, sizeof base, dir, names[0]);
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", base, names[i]);
        ptrs[i] = paths[i];
        if (!exists(paths[i]))
            return ent_fail(ENT_ENOENT, "%s: not found: %s", paths[i], CIFAR_GET);
    }
    return ent_cifar10_load(out, ptrs, n, CIFAR_MEAN, CIFAR_STD);
}
