/* test_fixtures_layers.c — the C layers against PyTorch 1.13 (float32)
 * reference values from tools/gen_fixtures.py (tests/fixtures/, one .bin per layer).
 *
 * Each fixture holds x, the parameters (and running statistics), an
 * upstream gradient r, and PyTorch's out, dx, d<param> for the loss
 * (out * r).sum(). The layer is built from x's shape and the fixture's
 * "config", fed the same parameters, and run forward then backward with
 * dout = r.
 * Tolerances (|got - want| <= atol + rtol |want|): both sides are float32
 * with different summation orders (OpenBLAS vs MKL-DNN/ATen kernels; we sum
 * reductions in double), so outputs agree to a few ulps of the largest
 * partial sum: atol 1e-5, rtol 1e-5 for out, dx and dparams of linear, conv,
 * max-pool and relu (sums of <= 80 terms of size ~1); batch-norm backward
 * chains two reductions over the batch through rstd, so rtol 3e-5 there;
 * running statistics 1e-6. Observed maxima (printed when run): linear
 * 3e-8, conv 4e-6 (dbias, a sum of 32 terms), max-pool and relu 0,
 * batch-norm 2e-6, running statistics 1.2e-7, cross-entropy 1e-7. */
#include <stdlib.h>

#include "fixture.h"
#include "layers/layer.h"
#include "test.h"

typedef struct {
    double atol, rtol;
} tol;

static const tol TOL_DIRECT = {1e-5, 1e-5};
static const tol TOL_BN = {1e-5, 3e-5};
static const tol TOL_STATS = {1e-6, 1e-6};

static ent_fixture *fx_open(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", ent_test_fixture_dir(), name);
    ent_fixture *f = NULL;
    CHECK_OK(ent_fixture_load(&f, path));
    return f;
}

/* Array name in f, which must exist and hold n floats. */
static const float *fx_get(const ent_fixture *f, const char *name, int64_t n) {
    const ent_fx_array *a = ent_fixture_find(f, name);
    CHECK_MSG(a != NULL, "fixture array '%s' missing", name);
    if (!a) return NULL;
    CHECK_MSG(n < 0 || a->numel == n, "fixture '%s': %lld values, want %lld",
              name, (long long)a->numel, (long long)n);
    return (n < 0 || a->numel == n) ? a->data : NULL;
}

static double fx_compare(const char *fixture, const char *what,
                         const float *got, const ent_fixture *f,
                         const char *name, int64_t n, tol t) {
    const float *want = fx_get(f, name, n);
    if (!want) return 0.0;
    char label[128];
    snprintf(label, sizeof label, "%s: %s", fixture, what);
    double d = CHECK_CLOSE(label, got, want, n, t.atol, t.rtol);
    printf("    %-18s %-22s max|diff| %.2e\n", fixture, what, d);
    return d;
}

static float *zalloc(int64_t n) {
    return ent_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
}

/* Build l (settings filled by the caller) from x's shape, load its tensors
 * from the fixture, run forward + backward, compare everything present. */
static void fx_layer(const char *fixture, ent_layer l, int train, tol tg) {
    ent_fixture *f = fx_open(fixture);
    const ent_fx_array *x = f ? ent_fixture_find(f, "x") : NULL;
    CHECK(x != NULL && (x->ndim == 2 || x->ndim == 4));
    if (!x || (x->ndim != 2 && x->ndim != 4)) { ent_fixture_free(f); return; }
    snprintf(l.name, sizeof l.name, "%s", fixture);
    l.ops = ent_layer_ops_of(l.kind);
    l.max_batch = x->shape[0];
    l.in_c = x->shape[1];
    l.in_h = x->ndim == 4 ? x->shape[2] : 1;
    l.in_w = x->ndim == 4 ? x->shape[3] : 1;
    CHECK_OK(l.ops->plan(&l));
    int64_t P = 0, B = 0;
    for (int i = 0; i < l.n_tensors; i++) {
        int64_t *end = l.is_buffer[i] ? &B : &P;
        l.tensors[i].offset = *end;
        *end += l.tensors[i].numel;
    }
    const int64_t n = l.max_batch, ni = n * ent_layer_in_size(&l),
                  no = n * ent_layer_out_size(&l);
    float *theta = zalloc(P), *dtheta = zalloc(P), *buf = zalloc(B);
    float *saved = zalloc(l.saved), *scratch = zalloc(l.scratch);
    float *out = zalloc(no), *din = zalloc(ni);
    for (int i = 0; i < l.n_tensors; i++) {
        const ent_tensor_info *t = &l.tensors[i];
        if (t->is_int64) continue; /* num_batches_tracked starts at 0 */
        const float *v = fx_get(f, t->name, t->numel);
        if (v) memcpy((l.is_buffer[i] ? buf : theta) + t->offset, v,
                      (size_t)t->numel * sizeof(float));
    }
    const float *r = fx_get(f, "r", no);
    if (r && ent_test_failures == 0) {
        ent_rng rng;
        ent_rng_init(&rng, 1, 0);
        ent_ctx c = {.train = train, .n = n, .rng = &rng, .buffers = buf, .scratch = scratch};
        l.ops->forward(&l, theta, x->data, out, saved, &c);
        l.ops->backward(&l, theta, x->data, out, saved, r, din, dtheta, &c);
        fx_compare(fixture, "out", out, f, "out", no, TOL_DIRECT);
        fx_compare(fixture, "dx", din, f, "dx", ni, tg);
        for (int i = 0; i < l.n_tensors; i++) {
            const ent_tensor_info *t = &l.tensors[i];
            char name[80];
            if (!l.is_buffer[i]) {
                snprintf(name, sizeof name, "d%s", t->name);
                fx_compare(fixture, name, dtheta + t->offset, f, name,
                           t->numel, tg);
            } else if (train) {
                snprintf(name, sizeof name, "%s_new", t->name);
                fx_compare(fixture, name, buf + t->offset, f, name, t->numel,
                           TOL_STATS);
            }
        }
    }
    float *p[] = {theta, dtheta, buf, saved, scratch, out, din};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
    ent_fixture_free(f);
}

static ent_layer blank(ent_layer_kind kind) {
    ent_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    return l;
}

ENT_TEST(fixture_linear) {
    ent_layer l = blank(ENT_LAYER_DENSE);
    l.dense.out = 6;
    fx_layer("linear", l, 1, TOL_DIRECT);
}

ENT_TEST(fixture_conv2d) {
    ent_fixture *f = fx_open("conv2d");
    const float *cfg = f ? fx_get(f, "config", 4) : NULL;
    if (cfg) {
        ent_layer l = blank(ENT_LAYER_CONV2D);
        l.conv.out_c = (int64_t)cfg[0];
        l.conv.k = (int64_t)cfg[1];
        l.conv.stride = (int64_t)cfg[2];
        l.conv.pad = (int64_t)cfg[3];
        fx_layer("conv2d", l, 1, TOL_DIRECT);
    }
    ent_fixture_free(f);
}

ENT_TEST(fixture_maxpool) {
    ent_fixture *f = fx_open("maxpool");
    const float *cfg = f ? fx_get(f, "config", 2) : NULL;
    if (cfg) {
        ent_layer l = blank(ENT_LAYER_MAXPOOL);
        l.pool.k = (int64_t)cfg[0];
        l.pool.stride = (int64_t)cfg[1];
        fx_layer("maxpool", l, 1, TOL_DIRECT);
    }
    ent_fixture_free(f);
}

ENT_TEST(fixture_relu) { fx_layer("relu", blank(ENT_LAYER_RELU), 1, TOL_DIRECT); }

ENT_TEST(fixture_batchnorm) {
    static const char *names[] = {"batchnorm1d_train", "batchnorm2d_train",
                                  "batchnorm2d_eval"};
    for (int i = 0; i < 3; i++) {
        ent_fixture *f = fx_open(names[i]);
        const float *cfg = f ? fx_get(f, "config", 3) : NULL;
        if (cfg) {
            ent_layer l = blank(ENT_LAYER_BATCHNORM);
            l.bn.eps = cfg[0];
            l.bn.momentum = cfg[1];
            /* train also compares running_*_new and num_batches_tracked_new */
            fx_layer(names[i], l, cfg[2] != 0.0f, TOL_BN);
        }
        ent_fixture_free(f);
    }
}

/* Mean cross-entropy, softmax and dlogits: loss 1e-6 (double sums),
 * probabilities and dlogits 1e-6 absolute (values in [0, 1]). */
ENT_TEST(fixture_cross_entropy) {
    ent_fixture *f = fx_open("cross_entropy");
    const ent_fx_array *lg = f ? ent_fixture_find(f, "logits") : NULL;
    CHECK(lg != NULL && lg->ndim == 2);
    if (lg && lg->ndim == 2) {
        const int64_t n = lg->shape[0], k = lg->shape[1];
        const float *yf = fx_get(f, "y", n), *loss = fx_get(f, "loss", 1);
        float *prob = zalloc(n * k), *dl = zalloc(n * k);
        int32_t *y = calloc((size_t)n, sizeof *y);
        if (yf && loss && y) {
            for (int64_t i = 0; i < n; i++) y[i] = (int32_t)yf[i];
            const double L = ent_softmax_ce(lg->data, y, n, k, prob, dl, NULL);
            CHECK_NEAR(L, loss[0], 1e-6 * (1 + fabs(loss[0])));
            printf("    %-18s %-22s |diff| %.2e\n", "cross_entropy", "loss",
                   fabs(L - loss[0]));
            const tol t = {1e-6, 1e-5};
            fx_compare("cross_entropy", "prob", prob, f, "prob", n * k, t);
            fx_compare("cross_entropy", "dlogits", dl, f, "dlogits", n * k, t);
        }
        free(y);
        ent_free_aligned(prob);
        ent_free_aligned(dl);
    }
    ent_fixture_free(f);
}

/* The reader rejects what is not a well-formed ENTFX1 file. */
static ent_status load_bytes(const unsigned char *b, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/bad.bin", ent_test_tmpdir());
    FILE *fp = fopen(path, "wb");
    if (!fp) return ENT_EIO;
    fwrite(b, 1, n, fp);
    fclose(fp);
    ent_fixture *f = NULL;
    ent_status s = ent_fixture_load(&f, path);
    CHECK((s == ENT_OK) == (f != NULL));
    ent_fixture_free(f);
    return s;
}

ENT_TEST(fixture_reader_errors) {
    char path[512];
    snprintf(path, sizeof path, "%s/linear.bin", ent_test_fixture_dir());
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (!fp) return;
    unsigned char b[4096];
    size_t n = fread(b, 1, sizeof b, fp);
    fclose(fp);
    CHECK(n > 100 && n < sizeof b);
    CHECK(load_bytes(b, n) == ENT_OK);
    CHECK(load_bytes(b, n - 1) == ENT_EFORMAT);  /* truncated data */
    CHECK(load_bytes(b, 40) == ENT_EFORMAT);     /* truncated header */
    CHECK(load_bytes(b, 5) == ENT_EFORMAT);      /* shorter than the magic */
    b[n] = 0;
    CHECK(load_bytes(b, n + 1) == ENT_EFORMAT);  /* trailing byte */
    b[3] = 'X';
    CHECK(load_bytes(b, n) == ENT_EFORMAT);      /* magic */
    CHECK(strstr(ent_last_error(), "magic") != NULL);
    b[3] = 'F';
    b[12 + 32] = 7;                              /* ndim 7 */
    CHECK(load_bytes(b, n) == ENT_EFORMAT);
    b[12 + 32] = 2;
    b[8] = 0xff, b[9] = 0xff, b[10] = 0xff, b[11] = 0xff; /* count -1 */
    CHECK(load_bytes(b, n) == ENT_EFORMAT);
    ent_fixture *f = NULL;
    CHECK(ent_fixture_load(&f, "/nonexistent/x.bin") == ENT_ENOENT);
    CHECK(f == NULL);
    CHECK(ent_fixture_find(NULL, "x") == NULL);
    ent_fixture_free(NULL);
}
