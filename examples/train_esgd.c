/* train_esgd.c — train a preset network with Entropy-SGD through
 * entropic's public API only (entropic.h), as a program outside the
 * repository would: load Fashion-MNIST, build the model and its network
 * objective, step the optimizer, evaluate on the test set.
 *
 *   train_esgd [--data-dir DIR] [--model NAME] [--train N] [--test N]
 *              [--steps N] [--L N] [--batch N] [--seed N] [--threads N]
 *
 * Defaults are a quick run (a few seconds on 2 cores): mnistfc on the
 * first 2000 training and 1000 test images, 20 Entropy-SGD updates of
 * L = 5 Langevin steps each (100 mini-batch gradients), the paper's other
 * settings (ent_optim_params_default). Build it with pkg-config
 * (examples/Makefile). Exit status: 0 ok, 1 the loss diverged, 2 bad
 * arguments or input (one line on stderr). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <entropic.h>

typedef struct {
    const char *data_dir; /* NULL: the data set's default folder */
    const char *model;
    int64_t train_n, test_n, steps, L, batch, threads;
    uint64_t seed;
} options;

static void usage(FILE *to) {
    fprintf(to, "usage: train_esgd [--data-dir DIR] [--model NAME] [--train N] [--test N] [--steps N]\n"
                "                  [--L N] [--batch N] [--seed N] [--threads N]\n"
                "Trains NAME (default mnistfc) on the first N training images of Fashion-MNIST\n"
                "(default 2000; 0 = all) with Entropy-SGD for --steps updates (20) of --L Langevin\n"
                "steps (5), batch 128, and reports the error on the first --test images (1000).\n");
}

/* A whole decimal integer in [lo, hi], or -1 (and a message) otherwise. */
static int parse_int(const char *name, const char *text, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "train_esgd: error: %s must be an integer in [%" PRId64 ", %" PRId64 "], got '%s'\n",
                name, lo, hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* 0: parsed; 1: --help printed; -1: bad arguments (message printed). */
static int parse_args(int argc, char **argv, options *o) {
    *o = (options){.model = "mnistfc", .train_n = 2000, .test_n = 1000, .steps = 20, .L = 5,
                   .batch = 128, .threads = 0, .seed = 42};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "train_esgd: error: unexpected argument '%s' (see --help)\n", a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "train_esgd: error: %s needs a value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        int64_t seed = 0;
        int bad = 0;
        if (strcmp(a, "--data-dir") == 0) o->data_dir = v;
        else if (strcmp(a, "--model") == 0) o->model = v;
        else if (strcmp(a, "--train") == 0) bad = parse_int(a, v, 0, INT64_MAX, &o->train_n);
        else if (strcmp(a, "--test") == 0) bad = parse_int(a, v, 0, INT64_MAX, &o->test_n);
        else if (strcmp(a, "--steps") == 0) bad = parse_int(a, v, 1, 1000000, &o->steps);
        else if (strcmp(a, "--L") == 0) bad = parse_int(a, v, 1, 1000, &o->L);
        else if (strcmp(a, "--batch") == 0) bad = parse_int(a, v, 1, 65536, &o->batch);
        else if (strcmp(a, "--threads") == 0) bad = parse_int(a, v, 0, 4096, &o->threads);
        else if (strcmp(a, "--seed") == 0) {
            bad = parse_int(a, v, 0, INT64_MAX, &seed);
            o->seed = (uint64_t)seed;
        } else {
            fprintf(stderr, "train_esgd: error: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (bad) return -1;
    }
    return 0;
}

/* The library's own message for a failed call, as one line; the exit
 * status the entropic program uses for it (1 diverged, 2 otherwise). */
static int fail(ent_status s, const char *what) {
    fprintf(stderr, "train_esgd: error: %s: %s\n", what, ent_last_error());
    return s == ENT_EDIVERGED ? 1 : 2;
}

static int run(const options *o, ent_dataset *train, ent_dataset *test) {
    /* The model plans every buffer for the largest batch it will see: the
     * training batch, or the evaluation's chunks of up to 1000 images. */
    int64_t max_batch = o->batch > 1000 ? o->batch : 1000;
    ent_model *m = NULL;
    ent_netobj *net = NULL;
    ent_optim *opt = NULL;
    float *theta = NULL, *buffers = NULL;
    int rc = 0;
    ent_status s = ent_model_new(&m, o->model, NULL, train->c, train->h, train->w, train->n_classes, max_batch);
    if (s != ENT_OK) return fail(s, "model");
    int64_t P = ent_model_n_param(m);
    theta = ent_alloc(sizeof(float) * (size_t)P);
    buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(m) + 1)); /* +1: batch-norm-free models have none */
    if (!theta || !buffers) {
        fprintf(stderr, "train_esgd: error: cannot allocate %" PRId64 " parameters\n", P);
        rc = 2;
        goto done;
    }
    ent_model_init_params(m, theta, buffers, o->seed);

    ent_optim_params p = ent_optim_params_default(ENT_OPTIM_ENTROPY_SGD);
    p.L = (int)o->L;
    s = ent_optim_params_check(&p);
    if (s == ENT_OK) s = ent_netobj_new(&net, m, buffers, train, o->batch, o->seed);
    if (s == ENT_OK) s = ent_optim_new(&opt, &p, P, o->seed);
    if (s != ENT_OK) {
        rc = fail(s, "setup");
        goto done;
    }
    ent_objective obj = ent_netobj_objective(net);
    printf("train_esgd: entropic %s, %s (%" PRId64 " parameters), %" PRId64 " training images, "
           "Entropy-SGD L=%d, %" PRId64 " updates, %d threads\n",
           ENT_VERSION, ent_model_preset(m), P, train->n, p.L, o->steps, ent_get_threads());

    double t0 = ent_time_seconds(), sum = 0.0;
    int64_t every = o->steps >= 10 ? o->steps / 10 : 1, since = 0;
    for (int64_t t = 1; t <= o->steps; t++) {
        double loss = 0.0;
        s = ent_optim_step(opt, &obj, theta, 1.0, &loss);
        if (s == ENT_OK && !isfinite(loss))
            s = ent_fail(ENT_EDIVERGED, "the training loss became %g at update %" PRId64, loss, t);
        if (s != ENT_OK) {
            rc = fail(s, "training");
            goto done;
        }
        sum += loss, since++;
        if (t % every == 0 || t == o->steps) {
            printf("step %4" PRId64 "  loss %.4f  gamma %.3g  %.1f s\n", t, sum / (double)since,
                   ent_optim_gamma(opt), ent_time_seconds() - t0);
            sum = 0.0, since = 0;
        }
    }

    double test_loss = 0.0, test_err = 0.0;
    s = ent_model_evaluate(m, theta, buffers, test, &test_loss, &test_err);
    if (s != ENT_OK) {
        rc = fail(s, "evaluation");
        goto done;
    }
    printf("test loss %.4f  test error %.2f%% (%" PRId64 " images)\n", test_loss, 100.0 * test_err, test->n);
done:
    ent_optim_free(opt);
    ent_netobj_free(net);
    ent_free_aligned(theta);
    ent_free_aligned(buffers);
    ent_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    ent_set_threads((int)o.threads);

    ent_dataset *train = NULL, *test = NULL;
    ent_status s = ent_dataset_load(&train, "fashion-mnist", o.data_dir, ENT_SPLIT_TRAIN);
    if (s == ENT_OK) s = ent_dataset_load(&test, "fashion-mnist", o.data_dir, ENT_SPLIT_TEST);
    if (s != ENT_OK) {
        ent_dataset_free(train);
        return fail(s, "data");
    }
    if (o.train_n > 0 && o.train_n < train->n) ent_dataset_truncate(train, o.train_n);
    if (o.test_n > 0 && o.test_n < test->n) ent_dataset_truncate(test, o.test_n);

    int rc = run(&o, train, test);
    ent_dataset_free(train);
    ent_dataset_free(test);
    return rc;
}
