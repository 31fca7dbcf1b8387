/* test_data_npy.c — the "arrays" data set: .npy files written here byte by
 * byte (format 1.0, 2.0, 3.0), every dtype and shape entropic reads, every
 * bad input through the library and the CLI (exit 2, one line naming the
 * file and the problem), and a run that learns from arrays end to end. */
#include <stdint.h>
#include <stdlib.h>

#include "test.h"

/* A .npy file: magic, version major.0, header length, the dict padded with
 * spaces to a multiple of 64 bytes and a newline, then n data bytes. */
static void npy_write(const char *path, int major, const char *dict, const void *data, size_t n) {
    const size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    const size_t pad = (64 - (pre + dl + 1) % 64) % 64, hlen = dl + pad + 1;
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f), fputc(0, f);
    for (size_t i = 0; i < pre - 8; i++) fputc((int)(hlen >> (8 * i)) & 0xff, f);
    fputs(dict, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* np.save's dict for descr and shape ("6, 4" or "6,"). */
static void npy_save(const char *path, const char *descr, const char *shape, const void *data, size_t n) {
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    npy_write(path, 1, dict, data, n);
}

static void put_le(unsigned char *p, uint64_t v, int size) {
    for (int i = 0; i < size; i++) p[i] = (unsigned char)(v >> (8 * i));
}

ENT_TEST(npy_shapes_and_dtypes) {
    const char *t = ent_test_tmpdir();
    char x[600], y[600];
    snprintf(x, sizeof x, "%s/x.npy", t);
    snprintf(y, sizeof y, "%s/y.npy", t);
    /* float32 (5, 3), format 2.0 and 3.0, double-quoted keys in another order, "5L" */
    float xf[15];
    for (int i = 0; i < 15; i++) xf[i] = (float)i * 0.25f - 1.0f;
    const int64_t lab[5] = {0, 3, 1, 3, 2};
    const char *fmt[3] = {"{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }",
                          "{\"shape\": (5L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}",
                          "{'fortran_order':False,'descr':'<f4','shape':(5,3)}"};
    for (int v = 0; v < 3; v++) {
        npy_write(x, v + 1, fmt[v], xf, sizeof xf);
        npy_save(y, "<i8", "5,", lab, sizeof lab);
        ent_dataset *d = NULL;
        CHECK_OK(ent_arrays_load(&d, x, y, NULL, NULL));
        if (!d) continue;
        CHECK(d->n == 5 && d->c == 1 && d->h == 1 && d->w == 3 && d->n_classes == 4);
        CHECK(memcmp(d->x, xf, sizeof xf) == 0 && strcmp(d->name, "arrays") == 0);
        for (int i = 0; i < 5; i++) CHECK(d->y[i] == lab[i]);
        ent_dataset_free(d);
    }
    /* uint8 (4, 2, 3) -> 1 x 2 x 3, scaled v/255; float64 (2, 2, 2, 2) -> 2 x 2 x 2 */
    unsigned char xu[24];
    for (int i = 0; i < 24; i++) xu[i] = (unsigned char)(i * 11);
    xu[5] = 255;
    npy_save(x, "|u1", "4, 2, 3", xu, sizeof xu);
    npy_save(y, "|u1", "4,", "\0\0\0\0", 4);
    ent_dataset *d = NULL;
    CHECK_OK(ent_arrays_load(&d, x, y, NULL, NULL));
    if (d) {
        CHECK(d->n == 4 && d->c == 1 && d->h == 2 && d->w == 3 && d->n_classes == 2); /* at least 2 */
        for (int i = 0; i < 24; i++) CHECK_NEAR(d->x[i], xu[i] / 255.0, 1e-7);
        CHECK(d->x[5] == 1.0f && d->x[0] == 0.0f);
    }
    ent_dataset_free(d);
    double xd[32];
    for (int i = 0; i < 32; i++) xd[i] = 1.0 / (i + 1);
    npy_save(x, "<f8", "2, 2, 2, 4", xd, sizeof xd);
    npy_save(y, "|u1", "2,", "\1\0", 2);
    d = NULL;
    CHECK_OK(ent_arrays_load(&d, x, y, NULL, NULL));
    if (d) {
        CHECK(d->n == 2 && d->c == 2 && d->h == 2 && d->w == 4);
        for (int i = 0; i < 32; i++) CHECK(d->x[i] == (float)xd[i]);
    }
    ent_dataset_free(d);
}

/* Every integer label dtype; n_classes from the other split's labels too. */
ENT_TEST(npy_label_dtypes_and_classes) {
    const char *t = ent_test_tmpdir();
    char x[600], y[600], ox[600], oy[600];
    snprintf(x, sizeof x, "%s/x.npy", t);
    snprintf(y, sizeof y, "%s/y.npy", t);
    snprintf(ox, sizeof ox, "%s/ox.npy", t);
    snprintf(oy, sizeof oy, "%s/oy.npy", t);
    const float xf[6] = {0};
    npy_save(x, "<f4", "3, 2", xf, sizeof xf);
    static const char *const descr[] = {"|u1", "|i1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "=i4", "|b1"};
    for (size_t k = 0; k < sizeof descr / sizeof *descr; k++) {
        const int size = descr[k][2] - '0';
        const int top = descr[k][1] == 'b' ? 1 : size == 1 ? 100 : 300; /* fits every width */
        unsigned char b[24];
        const int want[3] = {top, 0, 1};
        for (int i = 0; i < 3; i++) put_le(b + i * size, (uint64_t)want[i], size);
        npy_save(y, descr[k], "3,", b, 3 * (size_t)size);
        ent_dataset *d = NULL;
        CHECK_OK(ent_arrays_load(&d, x, y, NULL, NULL));
        CHECK_MSG(d && d->y[0] == want[0] && d->y[1] == 0 && d->y[2] == 1 && d->n_classes == top + 1,
                  "labels of dtype %s", descr[k]);
        ent_dataset_free(d);
    }
    /* The other split's labels reach 7: both splits get 8 classes. */
    const int64_t l3[3] = {0, 1, 2}, l2[2] = {7, 0};
    npy_save(y, "<i8", "3,", l3, sizeof l3);
    npy_save(ox, "<f4", "2, 2", xf, 16);
    npy_save(oy, "<i8", "2,", l2, sizeof l2);
    ent_dataset *d = NULL;
    CHECK_OK(ent_arrays_load(&d, x, y, ox, oy));
    CHECK(d && d->n_classes == 8 && d->n == 3);
    ent_dataset_free(d);
    d = NULL;
    CHECK_OK(ent_arrays_load(&d, ox, oy, x, y));
    CHECK(d && d->n_classes == 8 && d->n == 2 && d->y[0] == 7);
    ent_dataset_free(d);
}

/* ------------------------------------------------------------ bad inputs */

enum { TRAIN_X, TRAIN_Y, TEST_X, TEST_Y };

typedef struct {
    int target;          /* which of the four files is spoiled */
    const char *raw;     /* the whole file, raw_len bytes (NULL: dict + data) */
    size_t raw_len;
    const char *dict;    /* the header dict, format 1.0 */
    size_t data_len;     /* bytes of data (from `data`, or zeros) */
    const void *data;
    ent_status status;
    const char *needle;  /* in the message, with the file's path */
} bad_case;

static const float nan_x[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, NAN};
static const int64_t neg_y[6] = {0, 1, -1, 0, 1, 2}, big_y[6] = {0, 1, 70000, 0, 1, 2};
static const uint64_t huge_y[6] = {0, 1, 2, 0, 1, UINT64_MAX};

#define F4(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"
#define I8(shape) "{'descr': '<i8', 'fortran_order': False, 'shape': " shape ", }"
static const bad_case bad_cases[] = {
    {TRAIN_X, "\x93NUMPZ\x01\x00\x10\x00{}", 12, NULL, 0, NULL, ENT_EFORMAT, "bad magic"},
    {TRAIN_X, "", 0, NULL, 0, NULL, ENT_EFORMAT, "bad magic"},
    {TRAIN_X, "PK\x03\x04zipzip", 10, NULL, 0, NULL, ENT_EFORMAT, ".npz"},
    {TRAIN_X, "\x93NUMPY\x01", 7, NULL, 0, NULL, ENT_EFORMAT, "truncated .npy header"},
    {TRAIN_X, "\x93NUMPY\x04\x00\x10\x00", 10, NULL, 0, NULL, ENT_EFORMAT, "version 4.0"},
    {TRAIN_X, "\x93NUMPY\x01\x00\xff\xff{", 11, NULL, 0, NULL, ENT_EFORMAT, "header length 65535 out of range"},
    {TRAIN_X, "\x93NUMPY\x02\x00\xff\xff\xff\x7f{", 13, NULL, 0, NULL, ENT_EFORMAT, "out of range"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), ", 96, NULL, ENT_EFORMAT, "want a quoted key"},
    {TRAIN_X, NULL, 0, "'descr': '<f4'", 96, NULL, ENT_EFORMAT, "want '{'"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), 'x': 1}", 96, NULL, ENT_EFORMAT, "unknown key 'x'"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False}", 96, NULL, ENT_EFORMAT, "lacks the key 'shape'"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'sh\nape': (6, 4)}", 96, NULL, ENT_EFORMAT, "want a quoted key"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6, 4)}", 96, NULL, ENT_EFORMAT, "repeats the key 'descr'"},
    {TRAIN_X, NULL, 0, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6, 4)}", 96, NULL, ENT_EFORMAT, "structured dtypes"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': 0, 'shape': (6, 4)}", 96, NULL, ENT_EFORMAT, "True or False"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, -4)}", 96, NULL, ENT_EFORMAT, "shape must be a tuple"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': False 'shape': (6, 4)}", 96, NULL, ENT_EFORMAT, "want ',' or '}'"},
    {TRAIN_X, NULL, 0, "{'descr': '<f4', 'fortran_order': True, 'shape': (6, 4), }", 96, NULL, ENT_EFORMAT, "Fortran order"},
    {TRAIN_X, NULL, 0, "{'descr': '<c8', 'fortran_order': False, 'shape': (6, 4), }", 192, NULL, ENT_EFORMAT, "unsupported dtype '<c8'"},
    {TRAIN_X, NULL, 0, "{'descr': '<f2', 'fortran_order': False, 'shape': (6, 4), }", 48, NULL, ENT_EFORMAT, "unsupported dtype '<f2'"},
    {TRAIN_X, NULL, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (6, 4), }", 96, NULL, ENT_EFORMAT, "unsupported dtype '<i4' for inputs"},
    {TRAIN_X, NULL, 0, "{'descr': '>f4', 'fortran_order': False, 'shape': (6, 4), }", 96, NULL, ENT_EFORMAT, "big-endian data ('>f4')"},
    {TRAIN_X, NULL, 0, F4("(6, 4)"), 93, NULL, ENT_EFORMAT, "truncated: the header's shape needs 96 bytes of data, the file has 93"},
    {TRAIN_X, NULL, 0, F4("(6, 4)"), 100, NULL, ENT_EFORMAT, "4 bytes after the 96 bytes of data"},
    {TRAIN_X, NULL, 0, F4("(6,)"), 24, NULL, ENT_ESHAPE, "inputs of shape (6,): want (N, D)"},
    {TRAIN_X, NULL, 0, F4("(6, 1, 1, 1, 4)"), 96, NULL, ENT_ESHAPE, "inputs of shape (6, 1, 1, 1, 4)"},
    {TRAIN_X, NULL, 0, F4("(6, 0)"), 0, NULL, ENT_ESHAPE, "no data"},
    {TRAIN_X, NULL, 0, F4("(4611686018427387904, 4611686018427387904)"), 96, NULL, ENT_EFORMAT, "shape too large"},
    {TRAIN_X, NULL, 0, F4("(1, 2, 3, 4, 5, 6, 7, 8, 9)"), 96, NULL, ENT_EFORMAT, "at most 8"},
    {TRAIN_X, NULL, 0, F4("(6, 4)"), 96, nan_x, ENT_EFORMAT, "input 1 of sample 2 is nan"},
    {TRAIN_Y, NULL, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", 48, NULL, ENT_EFORMAT, "unsupported dtype '<f8' for labels"},
    {TRAIN_Y, NULL, 0, I8("(6, 1)"), 48, NULL, ENT_ESHAPE, "want 1-D (N,)"},
    {TRAIN_Y, NULL, 0, I8("(5,)"), 40, NULL, ENT_ESHAPE, "6 samples but"},
    {TRAIN_Y, NULL, 0, I8("(6,)"), 48, neg_y, ENT_EFORMAT, "label at index 2 is -1"},
    {TRAIN_Y, NULL, 0, I8("(6,)"), 48, big_y, ENT_EFORMAT, "label at index 2 is 70000: labels must be 0..65535"},
    {TRAIN_Y, NULL, 0, "{'descr': '<u8', 'fortran_order': False, 'shape': (6,), }", 48, huge_y, ENT_EFORMAT, "label at index 5 is above"},
    {TEST_X, NULL, 0, F4("(3, 5)"), 60, NULL, ENT_ESHAPE, "samples of shape (5,), but"},
    {TEST_X, NULL, 0, F4("(3, 2, 2)"), 48, NULL, ENT_ESHAPE, "samples of shape (2, 2), but"},
    {TEST_Y, NULL, 0, I8("(3,)"), 24, neg_y + 1, ENT_EFORMAT, "label at index 1 is -1"},
    {TEST_Y, NULL, 0, I8("(4,)"), 32, NULL, ENT_ESHAPE, "3 samples but"},
};
#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

static const char *const file_names[4] = {"train_x.npy", "train_y.npy", "test_x.npy", "test_y.npy"};

/* The good four files in dir: train (6, 4) float32 and 6 labels, test (3, 4) and 3. */
static void write_good(const char *dir, char paths[4][500]) {
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i / 24;
    const int64_t y[6] = {0, 1, 2, 0, 1, 2};
    for (int k = 0; k < 4; k++) snprintf(paths[k], sizeof paths[k], "%s/%s", dir, file_names[k]);
    npy_save(paths[TRAIN_X], "<f4", "6, 4", x, sizeof x);
    npy_save(paths[TRAIN_Y], "<i8", "6,", y, sizeof y);
    npy_save(paths[TEST_X], "<f4", "3, 4", x, 48);
    npy_save(paths[TEST_Y], "<i8", "3,", y, 24);
}

static void write_bad(const char *path, const bad_case *c) {
    if (c->raw) {
        FILE *f = fopen(path, "wb");
        if (f) fwrite(c->raw, 1, c->raw_len, f), fclose(f);
        return;
    }
    unsigned char *zero = calloc(1, c->data_len + 1);
    npy_write(path, 1, c->dict, c->data ? c->data : zero, c->data_len);
    free(zero);
}

static ent_data_source arrays_source(char paths[4][500]) {
    ent_data_source s = {.name = "arrays"};
    memcpy(s.train_x, paths[TRAIN_X], sizeof paths[0]); /* 500 bytes into 512 */
    memcpy(s.train_y, paths[TRAIN_Y], sizeof paths[0]);
    memcpy(s.test_x, paths[TEST_X], sizeof paths[0]);
    memcpy(s.test_y, paths[TEST_Y], sizeof paths[0]);
    return s;
}

ENT_TEST(npy_bad_inputs) {
    const char *dir = ent_test_tmpdir();
    char paths[4][500];
    write_good(dir, paths);
    ent_data_source src = arrays_source(paths);
    ent_dataset *d = NULL;
    CHECK_OK(ent_data_load(&d, &src, ENT_SPLIT_TRAIN));
    CHECK(d && d->n == 6 && d->w == 4 && d->n_classes == 3);
    ent_dataset_free(d);
    for (size_t i = 0; i < N_BAD; i++) {
        const bad_case *c = &bad_cases[i];
        write_good(dir, paths);
        write_bad(paths[c->target], c);
        d = (ent_dataset *)1;
        ent_status s = ent_data_load(&d, &src, ENT_SPLIT_TRAIN);
        const char *m = ent_last_error();
        CHECK_MSG(s == c->status && d == NULL, "case %zu (%s): want %s, got %s: %s", i, c->needle,
                  ent_status_name(c->status), ent_status_name(s), m);
        CHECK_MSG(strstr(m, paths[c->target]) && strstr(m, c->needle) && !strchr(m, '\n'),
                  "case %zu: message lacks %s or '%s': %s", i, file_names[c->target], c->needle, m);
    }
    /* a missing file */
    write_good(dir, paths);
    snprintf(src.test_y, sizeof src.test_y, "%s/none.npy", dir);
    CHECK(ent_data_load(&d, &src, ENT_SPLIT_TEST) == ENT_ENOENT && strstr(ent_last_error(), "none.npy"));
}

/* The source's usage errors: which option is missing or misplaced. */
ENT_TEST(data_source_usage) {
    ent_data_source src = {.name = "arrays"};
    ent_dataset *d = NULL;
    CHECK(ent_data_load(&d, &src, ENT_SPLIT_TRAIN) == ENT_EUSAGE);
    CHECK_MSG(strstr(ent_last_error(), "--train-x X.npy and --train-y y.npy"), "%s", ent_last_error());
    snprintf(src.train_x, sizeof src.train_x, "a.npy");
    snprintf(src.train_y, sizeof src.train_y, "b.npy");
    snprintf(src.test_x, sizeof src.test_x, "c.npy");
    CHECK(ent_data_load(&d, &src, ENT_SPLIT_TRAIN) == ENT_EUSAGE);
    CHECK_MSG(strstr(ent_last_error(), "--test-x and --test-y go together"), "%s", ent_last_error());
    CHECK(ent_data_load(&d, &src, ENT_SPLIT_TEST) == ENT_EUSAGE);
    CHECK_MSG(strstr(ent_last_error(), "the test split needs --test-x"), "%s", ent_last_error());
    snprintf(src.name, sizeof src.name, "mnist");
    CHECK(ent_data_load(&d, &src, ENT_SPLIT_TRAIN) == ENT_EUSAGE);
    CHECK_MSG(strstr(ent_last_error(), "are for --dataset arrays, not 'mnist'"), "%s", ent_last_error());
    CHECK(ent_dataset_load(&d, "arrays", NULL, ENT_SPLIT_TRAIN) == ENT_EUSAGE && d == NULL);
}

static char out[65536];

static const char *arrays_args(char paths[4][500]) {
    static char a[3000];
    snprintf(a, sizeof a, "--dataset arrays --train-x %s --train-y %s --test-x %s --test-y %s", paths[0], paths[1],
             paths[2], paths[3]);
    return a;
}

/* The same bad files through `entropic train`: exit 2, one line naming the
 * file and the problem. */
ENT_TEST(cli_arrays_bad_files) {
    const char *dir = ent_test_tmpdir();
    char paths[4][500];
    for (size_t i = 0; i < N_BAD; i++) {
        const bad_case *c = &bad_cases[i];
        write_good(dir, paths);
        write_bad(paths[c->target], c);
        int rc = ent_test_run(out, sizeof out, "%s train %s --model tiny-mnistfc --epochs 1 --out %s/r --quiet",
                              ent_test_cli(), arrays_args(paths), dir);
        CHECK_MSG(rc == 2 && ent_test_count_lines(out) == 1 && strstr(out, paths[c->target]) && strstr(out, c->needle),
                  "case %zu (%s, '%s'): exit %d: %s", i, file_names[c->target], c->needle, rc, out);
    }
    CHECK_USAGE("no files", "--train-x", "%s train --dataset arrays --out %s/r", ent_test_cli(), dir);
    CHECK_USAGE("npy with mnist", "for --dataset arrays", "%s train --dataset mnist --train-x a.npy --out %s/r",
                ent_test_cli(), dir);
}

/* Three classes in 16 features: class k adds 2 to features 5k..5k+4,
 * noise N(0, 0.5^2) everywhere. Nearly separable (a linear rule errs on
 * well under 1%); chance is 2/3 error. */
static void make_blobs(const char *path_x, const char *path_y, int n, uint64_t stream, int as_f8) {
    float *x = malloc(sizeof(float) * (size_t)n * 16);
    double *xd = malloc(sizeof(double) * (size_t)n * 16);
    int64_t *y = malloc(sizeof(int64_t) * (size_t)n);
    unsigned char *yu = malloc((size_t)n);
    ent_rng r;
    ent_rng_init(&r, 7, stream);
    for (int i = 0; i < n; i++) {
        const int k = (int)ent_rng_below(&r, 3);
        y[i] = k, yu[i] = (unsigned char)k;
        for (int j = 0; j < 16; j++) {
            xd[i * 16 + j] = 0.5 * ent_rng_normal(&r) + (j / 5 == k ? 2.0 : 0.0);
            x[i * 16 + j] = (float)xd[i * 16 + j];
        }
    }
    char shape[32];
    snprintf(shape, sizeof shape, "%d, 16", n);
    if (as_f8) npy_save(path_x, "<f8", shape, xd, sizeof(double) * (size_t)n * 16);
    else npy_save(path_x, "<f4", shape, x, sizeof(float) * (size_t)n * 16);
    snprintf(shape, sizeof shape, "%d,", n);
    if (as_f8) npy_save(path_y, "|u1", shape, yu, (size_t)n);
    else npy_save(path_y, "<i8", shape, y, sizeof(int64_t) * (size_t)n);
    free(x), free(xd), free(y), free(yu);
}

static double json_error(const char *s) {
    const char *e = strstr(s, "\"error\":");
    return e ? atof(e + 8) : 1.0;
}

/* Train on arrays end to end, then eval, resume, hessian and flatness on
 * the same files. The bar, 15% test error, is far below chance (67%) and
 * far above what a working run reaches (about 1%). */
ENT_TEST(cli_train_arrays_learns) {
    const char *t = ent_test_tmpdir();
    char paths[4][500];
    for (int k = 0; k < 4; k++) snprintf(paths[k], sizeof paths[k], "%s/%s", t, file_names[k]);
    make_blobs(paths[TRAIN_X], paths[TRAIN_Y], 300, 1, 0);
    make_blobs(paths[TEST_X], paths[TEST_Y], 150, 2, 1); /* float64 and uint8 labels */
    const char *a = arrays_args(paths);
    int rc = ent_test_run(out, sizeof out,
                          "%s train %s --model tiny-mnistfc --optimizer sgd --lr 0.1 --epochs 2 --batch-size 32 "
                          "--seed 1 --threads 2 --out %s/run --quiet",
                          ent_test_cli(), a, t);
    CHECK_MSG(rc == 0, "train: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/run/checkpoint.safetensors %s --json", ent_test_cli(),
                      t, a);
    const double err = json_error(out);
    printf("    tiny-mnistfc, 2 epochs on 300 samples of 3 blobs: test error %.2f%% (bar 15%%)\n", 100 * err);
    CHECK_MSG(rc == 0 && strstr(out, "\"samples\": 150"), "eval: exit %d: %s", rc, out);
    CHECK_MSG(err < 0.15, "test error %.3f not below the 0.15 bar", err);
    rc = ent_test_run(out, sizeof out, "grep -c '\"train_x\": \"%s\"' %s/run/config.json", paths[TRAIN_X], t);
    CHECK_MSG(rc == 0, "config.json lacks train_x: %s", out);
    /* --resume finds the files again from the recorded command line */
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/run --epochs 3 --quiet", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s hessian --checkpoint %s/run/checkpoint.safetensors %s --method lanczos "
                      "--top 2 --samples 100 --threads 2 --out %s/h", ent_test_cli(), t, a, t);
    CHECK_MSG(rc == 0, "hessian: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s flatness --checkpoint %s/run/checkpoint.safetensors %s --sigma 0,0.1 "
                      "--samples 2 --threads 2 --out %s/f", ent_test_cli(), t, a, t);
    CHECK_MSG(rc == 0, "flatness: exit %d: %s", rc, out);
    CHECK_USAGE("hessian without files", "--train-x",
                "%s hessian --checkpoint %s/run/checkpoint.safetensors --dataset arrays --out %s/h2", ent_test_cli(),
                t, t);
}

/* Every command that reads data lists the data sets and the .npy options. */
ENT_TEST(cli_help_lists_datasets) {
    static const char *const cmds[] = {"train", "eval", "hessian", "flatness"};
    for (int i = 0; i < 4; i++) {
        int rc = ent_test_run(out, sizeof out, "%s %s --help", ent_test_cli(), cmds[i]);
        CHECK_MSG(rc == 0 && strstr(out, "fashion-mnist|mnist|cifar10|arrays") && strstr(out, "--train-x") &&
                      strstr(out, "--test-y") && strstr(out, "cifar10 /usr/share/datasets/cifar10"),
                  "%s --help: exit %d: %s", cmds[i], rc, out);
    }
}

/* Random damage to a good file — bytes of the header and the data changed,
 * the file cut anywhere — gives OK or one error naming the file, never a
 * crash (the sanitizer build checks every access). */
ENT_TEST(npy_damage_never_crashes) {
    const char *dir = ent_test_tmpdir();
    char paths[4][500], bad[600];
    write_good(dir, paths);
    snprintf(bad, sizeof bad, "%s/damaged.npy", dir);
    unsigned char good[512];
    FILE *f = fopen(paths[TRAIN_X], "rb");
    const size_t len = f ? fread(good, 1, sizeof good, f) : 0;
    if (f) fclose(f);
    CHECK(len == 128 + 96);
    static const char alphabet[] = "{}()[],:'\" 0123456789LTrueFalse<>|=fiub\n\x93NUMPY";
    ent_rng r;
    ent_rng_init(&r, 11, 0);
    int ok = 0, failed = 0;
    for (int it = 0; it < 600; it++) {
        unsigned char b[512];
        memcpy(b, good, len);
        size_t n = len;
        const int edits = 1 + (int)ent_rng_below(&r, 4);
        for (int e = 0; e < edits; e++) {
            const size_t at = ent_rng_below(&r, 128); /* mostly the header */
            b[at] = ent_rng_below(&r, 2) ? (unsigned char)ent_rng_below(&r, 256)
                                         : (unsigned char)alphabet[ent_rng_below(&r, sizeof alphabet - 1)];
        }
        if (ent_rng_below(&r, 4) == 0) n = ent_rng_below(&r, len + 1);
        f = fopen(bad, "wb");
        if (f) fwrite(b, 1, n, f), fclose(f);
        ent_dataset *d = NULL;
        ent_status s = ent_arrays_load(&d, bad, paths[TRAIN_Y], NULL, NULL);
        if (s == ENT_OK) {
            ok++;
            CHECK(d && d->n >= 1);
        } else {
            failed++;
            CHECK_MSG(d == NULL && strstr(ent_last_error(), bad), "%s", ent_last_error());
        }
        ent_dataset_free(d);
    }
    printf("    600 damaged files: %d loaded, %d refused\n", ok, failed);
    CHECK(failed > 300);
}
