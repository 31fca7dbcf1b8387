/* test_train_loss_x.c — metrics.csv's train_loss_x: f at the outer
 * weights x on each step's first mini-batch, averaged over the evaluation
 * interval. On a net without dropout or batch-norm (so training mode is a
 * plain function of x and the batch), the value of an Entropy-SGD run's
 * second row is recomputed here from the first evaluation's checkpoint and
 * the sampler's batch; HEAT, which never evaluates f at x, writes nan. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static char out[8192];

/* 64 MNIST-like samples in batches of 32: with --L 2 a step is an epoch. */
static int train(const char *dir, const char *name, const char *args) {
    return ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --model tiny-mnistfc --batch-size 32 "
                        "--threads 1 --quiet --seed 5 --L 2 --epochs 2 --keep-last 2 --out %s/%s %s; cat %s/%s/metrics.csv",
                        ent_test_cli(), dir, dir, name, args, dir, name);
}

/* Run `name` (options opt), then row 2's train_loss_x against f at the
 * first evaluation's weights on batch `first` (0-based) of the worker's
 * sampler (seed 5): the first batch of step 2. */
static void check_row2(const char *dir, const ent_dataset *d, ent_model *m, const char *name, const char *opt,
                       int first) {
    CHECK_MSG(train(dir, name, opt) == 0, "%s: %s", name, out);
    const double got = ent_test_csv(out, 1, "train_loss_x"), mean = ent_test_csv(out, 1, "train_loss");
    float *theta = calloc((size_t)ent_model_n_param(m), sizeof(float)), buf[1];
    char path[700];
    snprintf(path, sizeof path, "%s/%s/checkpoint-epoch-1.000-step-1.safetensors", dir, name);
    CHECK_OK(ent_checkpoint_load_weights(path, m, theta, buf));
    ent_batches b;
    CHECK_OK(ent_batches_images(&b, d, 32, 5, NULL));
    float *x = malloc(sizeof(float) * 32 * 784);
    int32_t y[32];
    int64_t n = 0;
    for (int k = 0; k <= first; k++) n = b.ops->next(b.ctx, x, y);
    double want = NAN;
    CHECK_OK(ent_model_run(m, theta, buf, x, y, n, 1, NULL, NULL, &want, NULL));
    printf("  %s, row 2: train_loss_x %.6f, recomputed %.6f (the chain's mean %.6f)\n", name, got, want, mean);
    CHECK_NEAR(got, want, 2e-6);
    CHECK_MSG(fabs(mean - want) > 1e-4, "the chain's mean equals f(x): the test could not tell them apart");
    free(x);
    free(theta);
    ent_batches_free(&b);
}

ENT_TEST(train_loss_x_is_f_at_the_outer_weights) {
    const char *dir = ent_test_mnist_like(ent_test_tmpdir(), 64);
    ent_model_opts o = ent_model_opts_default();
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, "tiny-mnistfc", &o, 1, 28, 28, 10, 32));
    ent_data_source ds = {.name = "mnist"};
    snprintf(ds.dir, sizeof ds.dir, "%s", dir);
    ent_dataset *d = NULL;
    CHECK_OK(ent_data_load(&d, &ds, ENT_SPLIT_TRAIN));
    if (!m || !d) return;
    /* 2 batches a step: step 2 starts at batch 2; with --grad-at-x 3 (its
     * first, the extra gradient's, is batch 3) */
    check_row2(dir, d, m, "esgd", "--optimizer entropy-sgd --noise 1e-3", 2);
    check_row2(dir, d, m, "esgd-x", "--optimizer entropy-sgd --noise 1e-3 --grad-at-x", 3);
    CHECK_MSG(train(dir, "heat", "--optimizer heat") == 0, "heat: %s", out);
    CHECK_MSG(isnan(ent_test_csv(out, 0, "train_loss_x")), "heat: train_loss_x should be nan: %s", out);
    ent_dataset_free(d);
    ent_model_free(m);
}

/* A run directory from before the column (its metrics.csv without it)
 * resumes into a file whose rows all line up with the header: nan in the
 * old rows, the values in the new, and the columns after it in place. */
ENT_TEST(train_loss_x_old_metrics_resume) {
    const char *dir = ent_test_mnist_like(ent_test_tmpdir(), 64);
    CHECK_MSG(train(dir, "old", "--optimizer sgd --val-split 16") == 0, "sgd: %s", out);
    int rc = ent_test_run(out, sizeof out, "cut -d, -f1-10,12- %s/old/metrics.csv > %s/m && mv %s/m %s/old/metrics.csv "
                          "&& %s train --resume %s/old --epochs 3 && cat %s/old/metrics.csv", dir, dir, dir, dir,
                          ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 0, "resume: %s", out);
    CHECK_MSG(strstr(out, ",gamma,train_loss_x,val_loss,val_error\n") != NULL, "header: %s", out);
    for (int row = 0; row < 3; row++) {
        const double x = ent_test_csv(out, row, "train_loss_x"), e = ent_test_csv(out, row, "val_error");
        CHECK_MSG(row < 2 ? isnan(x) : x == ent_test_csv(out, row, "train_loss"), "row %d: train_loss_x %g", row, x);
        CHECK_MSG(e >= 0 && e <= 1 && ent_test_count_lines(out) == 4, "row %d: val_error %g: %s", row, e, out);
    }
}
