/* test_model.c — presets: parameter tables as PyTorch has them, and the
 * whole-model gradient along random directions (kann's kad_check_grad). */
#include <stdlib.h>

#include "models/model_internal.h"
#include "test.h"

static ent_model *build(const char *preset, int64_t batch) {
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, preset, NULL, 1, 28, 28, 10, batch));
    return m;
}

static int64_t numel_sum(const ent_tensor_info *t, int n, int skip_int) {
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        if (!(skip_int && t[i].is_int64)) s += t[i].numel;
    return s;
}

ENT_TEST(model_mnistfc_table) {
    ent_model *m = build("mnistfc", 4);
    if (!m) return;
    int np, nb;
    const ent_tensor_info *p = ent_model_params(m, &np);
    const ent_tensor_info *b = ent_model_buffers(m, &nb);
    /* 784*1024+1024 + 1024*1024+1024 + 1024*10+10 + 2 BN x (1024 weight + 1024 bias) */
    CHECK(numel_sum(p, np, 0) == 1867786);
    CHECK(np == 10);
    CHECK(strcmp(p[0].name, "fc1.weight") == 0 && p[0].shape[0] == 1024 && p[0].shape[1] == 784);
    CHECK(strcmp(p[2].name, "bn1.weight") == 0 && p[2].ndim == 1);
    CHECK(strcmp(p[9].name, "fc3.bias") == 0 && p[9].shape[0] == 10);
    CHECK(nb == 6); /* running_mean, running_var, num_batches_tracked for bn1, bn2 */
    CHECK(strcmp(b[2].name, "bn1.num_batches_tracked") == 0 && b[2].is_int64 && b[2].ndim == 0);
    for (int i = 1; i < np; i++) CHECK(p[i].offset == p[i - 1].offset + p[i - 1].numel); /* no gaps */
    CHECK(ent_model_n_param(m) == 1867786);
    ent_model_free(m);
}

ENT_TEST(model_lenet_table) {
    ent_model *m = build("lenet", 4);
    if (!m) return;
    int np, nb;
    const ent_tensor_info *p = ent_model_params(m, &np);
    ent_model_buffers(m, &nb);
    /* conv1 20*25+20, bn1 40, conv2 50*20*25+50, bn2 100, fc1 200*500+500, fc2 500*10+10 */
    CHECK(numel_sum(p, np, 0) == 131220);
    CHECK(strcmp(p[0].name, "conv1.weight") == 0 && p[0].ndim == 4 && p[0].shape[0] == 20 &&
          p[0].shape[1] == 1 && p[0].shape[2] == 5 && p[0].shape[3] == 5);
    CHECK(strcmp(p[8].name, "fc1.weight") == 0 && p[8].shape[0] == 500 && p[8].shape[1] == 200);
    CHECK(nb == 6);
    ent_model_free(m);
}

ENT_TEST(model_unknown_preset) {
    ent_model *m = NULL;
    CHECK(ent_model_new(&m, "resnet9000", NULL, 1, 28, 28, 10, 4) == ENT_EUSAGE);
    CHECK(m == NULL);
    CHECK(strstr(ent_last_error(), "resnet9000") != NULL);
}

/* Loss at theta with the dropout mask fixed (the rng restarts each call). */
static double loss_at(ent_model *m, const float *theta, float *buf, const float *bufsave,
                      const float *x, const int32_t *y, int64_t n, float *grad) {
    ent_rng rng;
    ent_rng_init(&rng, 7, 1);
    double loss = 0;
    memcpy(buf, bufsave, sizeof(float) * (size_t)ent_model_n_buffer(m));
    CHECK_OK(ent_model_run(m, theta, buf, x, y, n, 1, &rng, grad, &loss, NULL));
    return loss;
}

/* Central difference of the loss along unit directions d vs grad . d.
 * Direction 0 is the gradient itself (largest signal), 1..3 are random.
 * The forward pass is float32: the loss (~2.3) carries rounding noise of
 * a few ulp (~1e-6), which divided by 2h = 2e-3 gives ~1e-4 of noise in the
 * difference quotient (observed: 1e-5..1e-4). Larger h crosses ReLU and
 * max-pool kinks (at h = 1e-2 LeNet is off by 10%). Tolerance: 2% relative
 * plus 3e-4 absolute (three times the observed noise). */
static void gradcheck(const char *preset, double h) {
    const int64_t n = 8;
    ent_model *m = build(preset, n);
    if (!m) return;
    int64_t P = ent_model_n_param(m), B = ent_model_n_buffer(m) + 1;
    float *theta = ent_alloc(4 * (size_t)P), *grad = ent_alloc(4 * (size_t)P);
    float *tp = ent_alloc(4 * (size_t)P), *d = ent_alloc(4 * (size_t)P);
    float *buf = ent_alloc(4 * (size_t)B), *bufsave = ent_alloc(4 * (size_t)B);
    float *x = ent_alloc(4 * (size_t)n * 784);
    int32_t y[8];
    ent_rng rng;
    ent_rng_init(&rng, 3, 0);
    ent_model_init_params(m, theta, bufsave, 11);
    ent_rng_normal_fill(&rng, x, n * 784, 1.0f);
    for (int i = 0; i < n; i++) y[i] = (int32_t)ent_rng_below(&rng, 10);
    loss_at(m, theta, buf, bufsave, x, y, n, grad);
    for (int trial = 0; trial < 4; trial++) {
        if (trial == 0) ent_vec_copy(d, grad, P);
        else ent_rng_normal_fill(&rng, d, P, 1.0f);
        ent_vec_scal(d, (float)(1.0 / ent_vec_nrm2(d, P)), P); /* unit direction */
        double gd = ent_vec_dot(grad, d, P);
        ent_vec_copy(tp, theta, P);
        ent_vec_axpy(tp, (float)h, d, P);
        double fp = loss_at(m, tp, buf, bufsave, x, y, n, NULL);
        ent_vec_copy(tp, theta, P);
        ent_vec_axpy(tp, (float)-h, d, P);
        double fm = loss_at(m, tp, buf, bufsave, x, y, n, NULL);
        double fd = (fp - fm) / (2 * h);
        printf("    %s direction %d: finite difference %.6g, grad.d %.6g\n", preset, trial, fd, gd);
        CHECK_MSG(fabs(fd - gd) <= 0.02 * fabs(gd) + 3e-4, "%s direction %d: finite difference %.6g vs grad.d %.6g",
                  preset, trial, fd, gd);
    }
    ent_free_aligned(theta), ent_free_aligned(grad), ent_free_aligned(tp), ent_free_aligned(d);
    ent_free_aligned(buf), ent_free_aligned(bufsave), ent_free_aligned(x);
    ent_model_free(m);
}

ENT_TEST(model_gradcheck_mnistfc) { gradcheck("mnistfc", 1e-3); }
ENT_TEST(model_gradcheck_lenet) { gradcheck("lenet", 1e-3); }

/* Eval mode is deterministic and batch-independent: the loss of a batch
 * equals the mean of the losses of its halves. */
ENT_TEST(model_eval_batch_independent) {
    ent_model *m = build("lenet", 16);
    if (!m) return;
    int64_t P = ent_model_n_param(m), B = ent_model_n_buffer(m) + 1;
    float *theta = ent_alloc(4 * (size_t)P), *buf = ent_alloc(4 * (size_t)B);
    float *x = ent_alloc(4 * 16 * 784);
    int32_t y[16];
    ent_rng rng;
    ent_rng_init(&rng, 5, 0);
    ent_model_init_params(m, theta, buf, 1);
    ent_rng_normal_fill(&rng, x, 16 * 784, 1.0f);
    for (int i = 0; i < 16; i++) y[i] = i % 10;
    double all = 0, a = 0, b = 0;
    CHECK_OK(ent_model_run(m, theta, buf, x, y, 16, 0, NULL, NULL, &all, NULL));
    CHECK_OK(ent_model_run(m, theta, buf, x, y, 8, 0, NULL, NULL, &a, NULL));
    CHECK_OK(ent_model_run(m, theta, buf, x + 8 * 784, y + 8, 8, 0, NULL, NULL, &b, NULL));
    CHECK_NEAR(all, 0.5 * (a + b), 1e-5);
    CHECK(ent_model_run(m, theta, buf, x, y, 17, 0, NULL, NULL, &all, NULL) == ENT_EINVAL);
    ent_free_aligned(theta), ent_free_aligned(buf), ent_free_aligned(x);
    ent_model_free(m);
}

/* ---- fused batch-norm / ReLU / dropout blocks (layers/fused.h) ---- */

/* One training step (or eval pass) of a model, layer by layer or in fused
 * blocks, from the same state: what it leaves behind. */
typedef struct {
    double loss;
    float *grad, *logits, *buf;
    uint64_t counter;
} run_result;

static run_result run_once(ent_model *m, int fused, int train, const float *theta,
                           const float *buf0, const float *x, const int32_t *y, int64_t n) {
    const int64_t P = ent_model_n_param(m), B = ent_model_n_buffer(m);
    run_result r = {0, ent_alloc(4 * (size_t)P), ent_alloc(4 * (size_t)n * 10),
                    ent_alloc(4 * (size_t)B), 0};
    ent_rng rng;
    ent_rng_init(&rng, 21, 3);
    memcpy(r.buf, buf0, 4 * (size_t)B);
    ent_model_set_fused(m, fused);
    CHECK_OK(ent_model_run(m, theta, r.buf, x, y, n, train, train ? &rng : NULL,
                           train ? r.grad : NULL, &r.loss, NULL));
    memcpy(r.logits, ent_model_logits(m), 4 * (size_t)n * 10);
    r.counter = rng.counter;
    return r;
}

static void run_free(run_result *r) {
    ent_free_aligned(r->grad), ent_free_aligned(r->logits), ent_free_aligned(r->buf);
}

/* Elements equal as numbers (+0 == -0: a dropped unit's gradient is +0 in
 * a block, dout * 0 layer by layer); returns the count that differ. */
static int64_t count_unequal(const float *a, const float *b, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += !(a[i] == b[i]);
    return bad;
}

static void fused_matches_layers(const char *preset, float dropout, int64_t n, int train) {
    ent_model_opts o = ent_model_opts_default();
    o.dropout = dropout;
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, preset, &o, 1, 28, 28, 10, n));
    if (!m) return;
    const int64_t P = ent_model_n_param(m), B = ent_model_n_buffer(m);
    float *theta = ent_alloc(4 * (size_t)P), *buf0 = ent_alloc(4 * (size_t)B + 4);
    float *x = ent_alloc(4 * (size_t)n * 784);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)n);
    ent_rng rng;
    ent_rng_init(&rng, 9, 0);
    ent_model_init_params(m, theta, buf0, 5);
    for (int64_t i = 0; i < B; i++) buf0[i] += 0.25f * (float)(i % 7); /* non-trivial running stats */
    ent_rng_normal_fill(&rng, x, n * 784, 1.0f);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)ent_rng_below(&rng, 10);
    const int threads0 = ent_get_threads();
    for (int threads = 1; threads <= 2; threads++) {
        ent_set_threads(threads);
        run_result a = run_once(m, 0, train, theta, buf0, x, y, n);
        run_result b = run_once(m, 1, train, theta, buf0, x, y, n);
        const int64_t dg = train ? count_unequal(a.grad, b.grad, P) : 0;
        const int64_t dl = count_unequal(a.logits, b.logits, n * 10);
        const int64_t db = count_unequal(a.buf, b.buf, B);
        printf("    %s p %.1f n %lld %s, %d thread(s): loss %.9g vs %.9g, %lld/%lld/%lld "
               "gradient/logit/buffer values differ\n", preset, (double)dropout, (long long)n,
               train ? "train" : "eval", threads, a.loss, b.loss, (long long)dg,
               (long long)dl, (long long)db);
        CHECK(a.loss == b.loss && dg == 0 && dl == 0 && db == 0);
        CHECK(a.counter == b.counter);
        run_free(&a), run_free(&b);
    }
    ent_set_threads(threads0);
    ent_free_aligned(theta), ent_free_aligned(buf0), ent_free_aligned(x), free(y);
    ent_model_free(m);
}

/* The blocks give the layers' values: loss, every gradient, logits,
 * running statistics and the dropout stream's position, in training and
 * eval, with and without dropout, at batches below and above the
 * parallel threshold, on one and two threads. */
ENT_TEST(model_fused_blocks_match_layers) {
    for (int train = 0; train <= 1; train++) {
        fused_matches_layers("mnistfc", 0.2f, 128, train);
        fused_matches_layers("mnistfc", 0.0f, 128, train);
        fused_matches_layers("mnistfc", 0.5f, 7, train);
        fused_matches_layers("lenet", 0.5f, 128, train);
        fused_matches_layers("lenet", 0.0f, 33, train);
    }
}
