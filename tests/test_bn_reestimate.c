/* test_bn_reestimate.c — batch-norm statistics re-estimated at given
 * weights: on a tiny net the running mean and variance are the average
 * over the batches of each batch's mean and unbiased variance of the
 * layer's input, computed here in double from the weights (dropout off,
 * the momentum put back); in training, the checkpoint holds the statistics
 * of its own weights for the optimizers that re-estimate by default, and
 * the training-run counts for those that do not. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { NS = 10, C = 2, HW = 4, D = C * HW, F = 3, BATCH = 4 };
#define EPS 1e-5

static ent_dataset *toy(void) {
    ent_dataset *d = calloc(1, sizeof *d);
    d->n = NS, d->c = C, d->h = 2, d->w = 2, d->n_classes = 2;
    d->x = malloc(sizeof(float) * NS * D);
    d->y = malloc(sizeof(int32_t) * NS);
    for (int i = 0; i < NS; i++) {
        d->y[i] = i % 2;
        for (int k = 0; k < D; k++) d->x[i * D + k] = (float)(sin(1.7 * i + 0.9 * k) + 0.3 * k);
    }
    return d;
}

/* input -> bn0 (2 channels of 2x2) -> dropout -> fc1 (8 -> 3) -> bn1 -> relu -> fc2 */
static ent_model *tiny_bn_net(void) {
    ent_net *n = ent_net_new("tiny-bn");
    int h = ent_net_batchnorm(n, "bn0", ENT_NET_INPUT);
    h = ent_net_dropout(n, "drop", h, 0.5f);
    h = ent_net_dense(n, "fc1", h, F);
    h = ent_net_batchnorm(n, "bn1", h);
    h = ent_net_relu(n, "relu", h);
    ent_net_dense(n, "fc2", h, 2);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, n, C, 2, 2, 2, BATCH));
    ent_net_free(n);
    return m;
}

static const ent_tensor_info *named(const ent_tensor_info *t, int nt, const char *name) {
    for (int i = 0; i < nt; i++)
        if (strcmp(t[i].name, name) == 0) return &t[i];
    return NULL;
}

/* Mean and biased variance of v[i * stride + c * len + j] over i < n, j < len. */
static void moments(const double *v, int n, int stride, int c, int len, double *mean, double *var) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < len; j++) s += v[i * stride + c * len + j];
    *mean = s / (n * len);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < len; j++) q += pow(v[i * stride + c * len + j] - *mean, 2);
    *var = q / (n * len);
}

/* One batch: adds each BN layer's batch mean and unbiased variance to the
 * sums (bn0's 2 channels, then bn1's 3 features). */
static void add_batch_stats(const float *theta, const ent_tensor_info *p, int np, const float *x, int n,
                            double *sum_mean, double *sum_var) {
    const float *g0 = theta + named(p, np, "bn0.weight")->offset, *b0 = theta + named(p, np, "bn0.bias")->offset;
    const float *w1 = theta + named(p, np, "fc1.weight")->offset, *c1 = theta + named(p, np, "fc1.bias")->offset;
    double in[BATCH * D], h[BATCH * D], z[BATCH * F];
    for (int k = 0; k < n * D; k++) in[k] = x[k];
    for (int c = 0; c < C; c++) {
        double m, v;
        moments(in, n, D, c, HW, &m, &v);
        sum_mean[c] += m, sum_var[c] += v * (n * HW) / (n * HW - 1);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < HW; j++) {
                const int k = i * D + c * HW + j;
                h[k] = (in[k] - m) / sqrt(v + EPS) * g0[c] + b0[c];
            }
    }
    for (int i = 0; i < n; i++)
        for (int o = 0; o < F; o++) {
            double a = c1[o];
            for (int k = 0; k < D; k++) a += (double)w1[o * D + k] * h[i * D + k];
            z[i * F + o] = a;
        }
    for (int o = 0; o < F; o++) {
        double m, v;
        moments(z, n, F, o, 1, &m, &v);
        sum_mean[C + o] += m, sum_var[C + o] += v * n / (n - 1);
    }
}

/* nb batches (3 = one epoch of 4 + 4 + 2 samples; 5 runs into the next
 * epoch's shuffle): the statistics against the double computation over
 * the batches of a second source with the same seed. */
static void check_against_double(int nb) {
    ent_dataset *d = toy();
    ent_model *m = tiny_bn_net();
    ent_batches src, mirror;
    CHECK_OK(ent_batches_images(&src, d, BATCH, 11, NULL));
    CHECK_OK(ent_batches_images(&mirror, d, BATCH, 11, NULL));
    if (!m) return;
    int np, nbuf;
    const ent_tensor_info *p = ent_model_params(m, &np), *bt = ent_model_buffers(m, &nbuf);
    float *theta = calloc((size_t)ent_model_n_param(m), sizeof(float));
    float *buf = calloc((size_t)ent_model_n_buffer(m) + 1, sizeof(float));
    ent_model_init_params(m, theta, buf, 7);
    const float g0[C] = {1.5f, -0.7f}, b0[C] = {0.25f, -0.5f};
    memcpy(theta + named(p, np, "bn0.weight")->offset, g0, sizeof g0);
    memcpy(theta + named(p, np, "bn0.bias")->offset, b0, sizeof b0);
    for (int64_t k = 0; k < ent_model_n_buffer(m); k++) buf[k] = 3.0f; /* stale statistics, reset first */
    CHECK_OK(ent_model_bn_reestimate(m, theta, buf, &src, nb));

    double sm[C + F] = {0}, sv[C + F] = {0};
    float x[BATCH * D];
    int32_t y[BATCH], first_n = 0;
    float first_x[BATCH * D];
    for (int b = 0; b < nb; b++) {
        const int n = (int)mirror.ops->next(mirror.ctx, x, y);
        if (b == 0) first_n = n, memcpy(first_x, x, sizeof x);
        add_batch_stats(theta, p, np, x, n, sm, sv);
    }
    float want_m[C + F], want_v[C + F], got_m[C + F], got_v[C + F];
    const char *layer[2] = {"bn0", "bn1"};
    for (int l = 0, k = 0; l < 2; l++) {
        char nm[64], nv[64], nc[64];
        snprintf(nm, sizeof nm, "%s.running_mean", layer[l]);
        snprintf(nv, sizeof nv, "%s.running_var", layer[l]);
        snprintf(nc, sizeof nc, "%s.num_batches_tracked", layer[l]);
        const ent_tensor_info *tm = named(bt, nbuf, nm), *tv = named(bt, nbuf, nv);
        for (int c = 0; c < tm->numel; c++, k++) {
            got_m[k] = buf[tm->offset + c], got_v[k] = buf[tv->offset + c];
            want_m[k] = (float)(sm[k] / nb), want_v[k] = (float)(sv[k] / nb);
        }
        CHECK_MSG(buf[named(bt, nbuf, nc)->offset] == (float)nb, "%s = %g, want %d", nc,
                  (double)buf[named(bt, nbuf, nc)->offset], nb);
    }
    double e = CHECK_CLOSE("running means", got_m, want_m, C + F, 1e-6, 1e-5);
    double f = CHECK_CLOSE("running variances", got_v, want_v, C + F, 1e-6, 1e-5);
    printf("  %d batches: max |diff| mean %.2e, var %.2e (tolerance 1e-6 + 1e-5 rel)\n", nb, e, f);

    /* the momentum is the net's again: one training pass moves bn0's mean by 0.1 of the way */
    const float before = buf[named(bt, nbuf, "bn0.running_mean")->offset];
    CHECK_OK(ent_model_run(m, theta, buf, first_x, y, first_n, 1, NULL, NULL, NULL, NULL));
    double m0, v0, in[BATCH * D];
    for (int k = 0; k < first_n * D; k++) in[k] = first_x[k];
    moments(in, first_n, D, 0, HW, &m0, &v0);
    CHECK_NEAR(buf[named(bt, nbuf, "bn0.running_mean")->offset], 0.9 * before + 0.1 * m0, 1e-6);
    free(theta);
    free(buf);
    ent_batches_free(&src);
    ent_batches_free(&mirror);
    ent_model_free(m);
    ent_dataset_free(d);
}

ENT_TEST(bn_reestimate_is_the_batches_average) {
    check_against_double(3);
    check_against_double(5);
}

static char out[8192];

/* A small net with batch-norm and dropout, as a network file and built. */
static const char *TINY_BN =
    "{\"name\": \"tiny-bn\", \"nodes\": [{\"name\": \"fc1\", \"kind\": \"dense\", \"out_features\": 16},"
    " {\"name\": \"bn1\", \"kind\": \"batchnorm\"}, {\"name\": \"relu1\", \"kind\": \"relu\"},"
    " {\"name\": \"drop\", \"kind\": \"dropout\", \"p\": 0.5},"
    " {\"name\": \"fc2\", \"kind\": \"dense\", \"out_features\": 10}]}";

static ent_model *tiny_bn_mnist(void) {
    ent_net *n = ent_net_new("tiny-bn");
    int h = ent_net_dense(n, "fc1", ENT_NET_INPUT, 16);
    h = ent_net_batchnorm(n, "bn1", h);
    h = ent_net_relu(n, "relu1", h);
    h = ent_net_dropout(n, "drop", h, 0.5f);
    ent_net_dense(n, "fc2", h, 10);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, n, 1, 28, 28, 10, 32));
    ent_net_free(n);
    return m;
}

/* A 2-batch-per-epoch run of that net on MNIST-like blobs in dir. */
static int train(const char *dir, const char *name, const char *args) {
    return ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --model-file %s/tiny-bn.json "
                        "--batch-size 32 --threads 1 --quiet --seed 3 --out %s/%s %s", ent_test_cli(), dir, dir, dir,
                        name, args);
}

/* The checkpoint's weights and buffers. */
static int load(const char *dir, const char *name, ent_model *m, float *theta, float *buf) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s/checkpoint.safetensors", dir, name);
    return ent_checkpoint_load_weights(path, m, theta, buf) == ENT_OK;
}

static float tracked(const ent_model *m, const float *buf) {
    int nb;
    const ent_tensor_info *bt = ent_model_buffers(m, &nb);
    return buf[named(bt, nb, "bn1.num_batches_tracked")->offset];
}

/* Entropy-SGD by default: the checkpoint's statistics are those of its own
 * weights x over one pass of the re-estimation source (not the chain's);
 * SGD by default keeps its training statistics (one count per step), and
 * --bn-reestimate 3 gives it 3 batches. */
ENT_TEST(bn_reestimate_in_training) {
    const char *dir = ent_test_mnist_like(ent_test_tmpdir(), 64);
    char net[700];
    snprintf(net, sizeof net, "%s/tiny-bn.json", dir);
    FILE *f = fopen(net, "w");
    CHECK(f && fputs(TINY_BN, f) >= 0 && fclose(f) == 0);
    CHECK_MSG(train(dir, "esgd", "--optimizer entropy-sgd --L 2 --epochs 2") == 0, "esgd: %s", out);
    CHECK_MSG(train(dir, "sgd", "--optimizer sgd --epochs 1") == 0, "sgd: %s", out);
    CHECK_MSG(train(dir, "sgd3", "--optimizer sgd --epochs 1 --bn-reestimate 3") == 0, "sgd3: %s", out);
    ent_model *m = tiny_bn_mnist();
    ent_data_source ds = {.name = "mnist"};
    snprintf(ds.dir, sizeof ds.dir, "%s", dir);
    ent_dataset *d = NULL;
    CHECK_OK(ent_data_load(&d, &ds, ENT_SPLIT_TRAIN));
    if (!m || !d) return;
    const int64_t P = ent_model_n_param(m), B = ent_model_n_buffer(m);
    float *theta = calloc((size_t)P, sizeof(float)), *buf = calloc((size_t)B + 1, sizeof(float)),
          *want = calloc((size_t)B + 1, sizeof(float));
    ent_batches src;
    CHECK_OK(ent_batches_images(&src, d, 32, ent_replica_seed(3, INT_MAX), NULL));
    CHECK(load(dir, "esgd", m, theta, buf));
    memcpy(want, buf, sizeof(float) * (size_t)B);
    CHECK_OK(ent_model_bn_reestimate(m, theta, want, &src, 2));
    CHECK_MSG(memcmp(buf, want, sizeof(float) * (size_t)B) == 0 && tracked(m, buf) == 2.0f,
              "entropy-sgd: the checkpoint's statistics are not those of its weights (count %g)",
              (double)tracked(m, buf));
    /* what the run reported is what the checkpoint gives */
    ent_test_run(out, sizeof out, "tail -1 %s/esgd/metrics.csv | cut -d, -f5; %s eval --checkpoint "
                 "%s/esgd/checkpoint.safetensors --dataset mnist --data-dir %s --json", dir, ent_test_cli(), dir, dir);
    const char *l = strstr(out, "\"loss\":");
    CHECK_MSG(l && fabs(atof(out) - atof(l + 7)) < 1e-6, "metrics' test_loss is not eval's: %s", out);
    CHECK(load(dir, "sgd", m, theta, buf));
    CHECK_MSG(tracked(m, buf) == 2.0f, "sgd: count %g, want the 2 training steps", (double)tracked(m, buf));
    CHECK(load(dir, "sgd3", m, theta, buf));
    CHECK_MSG(tracked(m, buf) == 3.0f, "sgd --bn-reestimate 3: count %g", (double)tracked(m, buf));
    CHECK_TRAIN_USAGE("--bn-reestimate sometimes", "bn-reestimate");
    free(theta);
    free(buf);
    free(want);
    ent_batches_free(&src);
    ent_dataset_free(d);
    ent_model_free(m);
}
