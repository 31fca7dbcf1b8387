/* test_cli.c — the `entropic` program end to end: training on real
 * Fashion-MNIST, evaluation, exact resume, divergence, and every class of
 * bad input (exit status 2 with one line naming the problem). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "test.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
static char out[65536];

static int have_fmnist(void) {
    FILE *f = fopen(FMNIST, "rb");
    if (!f) {
        printf("    skip: %s absent (apt-get install dataset-fashion-mnist)\n", FMNIST);
        return 0;
    }
    fclose(f);
    return 1;
}

ENT_TEST(cli_usage_errors) {
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --L -1", "L");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --L 0", "L");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --gamma0 0", "gamma0");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --gamma0 -1", "gamma0");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --sgld-lr -0.1", "sgld");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --alpha 2", "alpha");
    CHECK_TRAIN_USAGE("--optimizer entropy-sgd --noise -1", "noise");
    CHECK_TRAIN_USAGE("--batch-size 0", "batch-size");
    CHECK_TRAIN_USAGE("--epochs -1", "epochs");
    CHECK_TRAIN_USAGE("--lr nan", "lr");
    CHECK_TRAIN_USAGE("--lr 0", "lr");
    CHECK_TRAIN_USAGE("--lr abc", "lr");
    CHECK_TRAIN_USAGE("--momentum 1.5", "momentum");
    CHECK_TRAIN_USAGE("--dropout 1.5", "dropout");
    CHECK_TRAIN_USAGE("--optimizer rmsprop", "rmsprop");
    CHECK_TRAIN_USAGE("--bogus 1", "bogus");
    CHECK_TRAIN_USAGE("--model resnet9000", "resnet9000");
    CHECK_TRAIN_USAGE("--noise-convention loud --optimizer entropy-sgd", "noise-convention");
}

ENT_TEST(cli_help) {
    CHECK(ent_test_run(out, sizeof out, "%s train --optimizer entropy-sgd --help", ent_test_cli()) == 0);
    CHECK(strstr(out, "--gamma0") && strstr(out, "--sgld-lr") && strstr(out, "--resume"));
    CHECK(ent_test_run(out, sizeof out, "%s eval --help", ent_test_cli()) == 0);
    CHECK(strstr(out, "--checkpoint") != NULL);
    CHECK(ent_test_run(out, sizeof out, "%s frobnicate", ent_test_cli()) == 2);
}

ENT_TEST(cli_missing_data) {
    int rc = ent_test_run(out, sizeof out, "%s train --dataset fashion-mnist --data-dir /nonexistent/fm --out %s/r",
                          ent_test_cli(), ent_test_tmpdir());
    CHECK_MSG(rc == 2, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "/nonexistent/fm") && strstr(out, "dataset-fashion-mnist"), "message: %s", out);
    CHECK(ent_test_count_lines(out) == 1);
}

/* Write an IDX file: magic 0x0803 (images) or 0x0801 (labels). */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int nd,
                      const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ent_test_put_be32(f, magic);
    for (int i = 0; i < nd; i++) ent_test_put_be32(f, dims[i]);
    fwrite(data, 1, len, f);
    fclose(f);
}

/* An MNIST-format folder with n samples; `spoil` breaks one thing. */
static const char *make_mnist(int n, const char *spoil) {
    const char *dir = ent_test_tmpdir();
    static char keep[512];
    snprintf(keep, sizeof keep, "%s", dir);
    uint8_t *img = calloc((size_t)n * 784, 1), *lab = calloc((size_t)n, 1);
    for (int i = 0; i < n * 784; i++) img[i] = (uint8_t)(i * 7);
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)(i % 10);
    const char *split[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        char p[600];
        uint32_t di[3] = {(uint32_t)n, 28, 28}, dl[1] = {(uint32_t)n};
        uint32_t mi = 0x803, ml = 0x801;
        size_t li = (size_t)n * 784, ll = (size_t)n;
        if (s == 0 && strcmp(spoil, "magic") == 0) mi = 0x802;
        if (s == 0 && strcmp(spoil, "truncated") == 0) li -= 1000;
        if (s == 0 && strcmp(spoil, "count") == 0) dl[0] = (uint32_t)n - 1, ll -= 1;
        if (s == 0 && strcmp(spoil, "label") == 0) lab[3] = 12;
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", keep, split[s]);
        write_idx(p, mi, di, 3, img, li);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", keep, split[s]);
        write_idx(p, ml, dl, 1, lab, ll);
        if (s == 0 && strcmp(spoil, "label") == 0) lab[3] = 3;
    }
    free(img);
    free(lab);
    return keep;
}

static void expect_bad_data(const char *spoil, const char *file, const char *what) {
    const char *dir = make_mnist(50, spoil);
    int rc = ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --epochs 1 --out %s/r --quiet",
                          ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 2, "%s: exit %d, want 2: %s", spoil, rc, out);
    CHECK_MSG(strstr(out, file) != NULL, "%s: message does not name %s: %s", spoil, file, out);
    CHECK_MSG(strstr(out, what) != NULL, "%s: message lacks '%s': %s", spoil, what, out);
    CHECK_MSG(ent_test_count_lines(out) == 1, "%s: want one line: %s", spoil, out);
}

ENT_TEST(cli_bad_idx_files) {
    expect_bad_data("magic", "train-images-idx3-ubyte", "magic");
    expect_bad_data("truncated", "train-images-idx3-ubyte", "trunc");
    expect_bad_data("count", "train-labels-idx1-ubyte", "49 labels");
    expect_bad_data("label", "train-labels-idx1-ubyte", "label");
    /* and a good folder trains */
    const char *dir = make_mnist(64, "none");
    int rc = ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --epochs 1 --batch-size 32 --out %s/r --quiet",
                          ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 0, "good mnist folder: exit %d: %s", rc, out);
}

static uint64_t ckpt_meta(const char *path, const char *key) {
    ent_st_file *f = NULL;
    uint64_t v = UINT64_MAX;
    if (ent_safetensors_read(&f, path) != ENT_OK) return v;
    const char *s = ent_st_meta(f, key);
    if (s) v = strtoull(s, NULL, 10);
    ent_st_file_free(f);
    return v;
}

/* Every tensor of a equals that of b, bit for bit. */
static void same_tensors(const char *a, const char *b) {
    ent_st_file *fa = NULL, *fb = NULL;
    CHECK_OK(ent_safetensors_read(&fa, a));
    CHECK_OK(ent_safetensors_read(&fb, b));
    if (!fa || !fb) goto done;
    const char *names[] = {"fc1.weight", "fc3.bias", "bn1.running_mean", "bn2.running_var", "optim.momentum", "optim.mu", "optim.x_prime"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int nd;
        int64_t sh[4];
        if (!ent_st_find(fa, names[i], &nd, sh)) continue;
        int64_t n = 1;
        for (int d = 0; d < nd; d++) n *= sh[d];
        float *x = malloc(4 * (size_t)n), *y = malloc(4 * (size_t)n);
        CHECK_OK(ent_st_get(fa, names[i], x, n));
        CHECK_OK(ent_st_get(fb, names[i], y, n));
        CHECK_MSG(memcmp(x, y, 4 * (size_t)n) == 0, "tensor %s differs after resume", names[i]);
        free(x);
        free(y);
    }
done:
    ent_st_file_free(fa);
    ent_st_file_free(fb);
}

/* Returns the folder of the two runs (full/ and half/). */
static const char *resume_exact(const char *opt) {
    static char t[512];
    snprintf(t, sizeof t, "%s", ent_test_tmpdir());
    const char *common = "--model mnistfc --train-subset 1024 --test-subset 500 --batch-size 64 --eval-every 1 --threads 2 --quiet";
    int rc = ent_test_run(out, sizeof out, "%s train %s %s --epochs 4 --out %s/full", ent_test_cli(), opt, common, t);
    CHECK_MSG(rc == 0, "full run: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train %s %s --epochs 2 --out %s/half", ent_test_cli(), opt, common, t);
    CHECK_MSG(rc == 0, "half run: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 4", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume: %s", out);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/full/checkpoint.safetensors", t);
    snprintf(b, sizeof b, "%s/half/checkpoint.safetensors", t);
    CHECK(ckpt_meta(a, "run.step") == ckpt_meta(b, "run.step"));
    same_tensors(a, b);
    /* metrics: the resumed run has the same rows as the full one (all but wall_seconds) */
    ent_test_run(out, sizeof out, "cut -d, -f1-6,8- %s/full/metrics.csv > %s/f.csv; cut -d, -f1-6,8- %s/half/metrics.csv > %s/h.csv; cmp %s/f.csv %s/h.csv",
                 t, t, t, t, t, t);
    CHECK_MSG(out[0] == 0, "metrics differ: %s", out);
    return t;
}

ENT_TEST(cli_resume_exact_sgd) {
    if (have_fmnist()) resume_exact("--optimizer sgd --momentum 0.9 --nesterov");
}
ENT_TEST(cli_resume_exact_esgd) {
    if (have_fmnist()) resume_exact("--optimizer entropy-sgd --L 4 --noise 1e-3");
}

/* With a validation split and kept checkpoints: the resumed run is the
 * uninterrupted one, bit for bit, its validation columns and its kept
 * files too (the same epoch files, the same best); resuming with another
 * split is refused. */
ENT_TEST(cli_resume_exact_val_split_keep) {
    if (!have_fmnist()) return;
    const char *t = resume_exact("--optimizer sgd --momentum 0.9 --nesterov --lr 0.05 --val-split 200 --keep-last 2 "
                                 "--keep-best");
    char a[600], b[600];
    int rc = ent_test_run(out, sizeof out, "cd %s/full && ls checkpoint-epoch-* > ../f.ls; cd ../half && ls checkpoint-epoch-* > "
                          "../h.ls; cmp ../f.ls ../h.ls && cat ../h.ls && head -1 metrics.csv", t);
    CHECK_MSG(rc == 0 && ent_test_count_lines(out) == 3 && strstr(out, "checkpoint-epoch-4.000-step-") &&
                  strstr(out, ",val_loss,val_error"),
              "kept epoch files or header differ after resume: %s", out);
    snprintf(a, sizeof a, "%s/full/checkpoint-best.safetensors", t);
    snprintf(b, sizeof b, "%s/half/checkpoint-best.safetensors", t);
    CHECK(ckpt_meta(a, "run.step") == ckpt_meta(b, "run.step") && ckpt_meta(a, "run.step") != UINT64_MAX);
    same_tensors(a, b);
    rc = ent_test_run(out, sizeof out, "cmp %s/full/summary.json %s/half/summary.json && cat %s/half/summary.json", t, t, t);
    CHECK_MSG(rc == 0 && strstr(out, "\"chosen_on\": \"val_error\""), "summary.json differs after resume: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 5 --val-split 100 --quiet", ent_test_cli(), t);
    CHECK_MSG(rc == 2 && strstr(out, "val_indices") && ent_test_count_lines(out) == 1, "resume with another split: exit %d: %s",
              rc, out);
    /* The best so far is carried over a resume: continued with a step too
     * small to change any prediction, the later evaluations only tie, so the
     * best stays the earliest lowest of all rows (a resumed run that forgot
     * the rows before it would pick its own first evaluation). */
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 6 --lr 1e-12 --quiet", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume with lr 1e-12: %s", out);
    static char metrics[16384];
    ent_test_run(metrics, sizeof metrics, "cat %s/half/metrics.csv", t);
    int best = -1;
    for (int i = 0; i < ent_test_count_lines(metrics) - 1; i++)
        if (best < 0 || ent_test_csv(metrics, i, "val_error") < ent_test_csv(metrics, best, "val_error")) best = i;
    CHECK_MSG(best >= 0 && best < 4 && ckpt_meta(b, "run.step") == (uint64_t)ent_test_csv(metrics, best, "step"),
              "best after resume: row %d, checkpoint-best at step %llu: %s", best,
              (unsigned long long)ckpt_meta(b, "run.step"), metrics);
}

/* --keep-last K leaves exactly the K latest evaluations' checkpoints, the
 * newest the same bytes as checkpoint.safetensors; --keep-best's file is the
 * checkpoint of the evaluation with the lowest validation error in
 * metrics.csv (the earliest of equals): the same bytes as that epoch's kept
 * file, and summary.json reports that point's test error. 8 evaluations. */
ENT_TEST(cli_keep_last_and_best) {
    if (!have_fmnist()) return;
    const char *t = ent_test_tmpdir();
    const char *common = "--model mnistfc --train-subset 1024 --test-subset 300 --batch-size 64 --eval-every 0.5 --epochs 4 "
                         "--threads 2 --optimizer sgd --momentum 0.9 --lr 0.05 --val-split 200 --keep-best --quiet";
    int rc = ent_test_run(out, sizeof out, "%s train %s --keep-last 3 --out %s/k3", ent_test_cli(), common, t);
    CHECK_MSG(rc == 0, "keep-last 3: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train %s --keep-last 20 --out %s/k20", ent_test_cli(), common, t);
    CHECK_MSG(rc == 0, "keep-last 20: %s", out);
    static char metrics[16384];
    rc = ent_test_run(metrics, sizeof metrics, "cat %s/k20/metrics.csv", t);
    int rows = ent_test_count_lines(metrics) - 1, best = -1;
    CHECK_MSG(rc == 0 && rows == 8, "%d evaluations, want 8: %s", rows, metrics);
    for (int i = 0; i < rows; i++)
        if (best < 0 || ent_test_csv(metrics, i, "val_error") < ent_test_csv(metrics, best, "val_error")) best = i;
    const double best_step = ent_test_csv(metrics, best, "step"), best_epoch = ent_test_csv(metrics, best, "effective_epoch");
    printf("    lowest val error %.4f at effective epoch %.3f (step %.0f); test error there %.4f\n",
           ent_test_csv(metrics, best, "val_error"), best_epoch, best_step, ent_test_csv(metrics, best, "test_error"));
    /* exactly 3 kept: the last three evaluations */
    rc = ent_test_run(out, sizeof out, "cd %s/k3 && ls checkpoint-epoch-* | wc -l && ls checkpoint-epoch-*", t);
    CHECK_MSG(rc == 0 && atoi(out) == 3, "keep-last 3 left: %s", out);
    char name[128];
    for (int i = rows - 3; i < rows; i++) {
        snprintf(name, sizeof name, "checkpoint-epoch-%.3f-step-%.0f.safetensors", ent_test_csv(metrics, i, "effective_epoch"),
                 ent_test_csv(metrics, i, "step"));
        CHECK_MSG(strstr(out, name) != NULL, "%s not kept: %s", name, out);
    }
    rc = ent_test_run(out, sizeof out, "cd %s/k3 && cmp checkpoint.safetensors %s", t, name);
    CHECK_MSG(rc == 0, "the newest kept checkpoint differs from checkpoint.safetensors: %s", out);
    rc = ent_test_run(out, sizeof out, "ls %s/k20/checkpoint-epoch-* | wc -l", t);
    CHECK_MSG(atoi(out) == 8, "keep-last 20 of 8 evaluations left %s", out);
    /* the best: that evaluation's checkpoint */
    rc = ent_test_run(out, sizeof out, "cd %s/k20 && cmp checkpoint-best.safetensors checkpoint-epoch-%.3f-step-%.0f.safetensors",
                      t, best_epoch, best_step);
    CHECK_MSG(rc == 0, "checkpoint-best is not the checkpoint of the lowest val error: %s", out);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/k3/checkpoint-best.safetensors", t);
    CHECK(ckpt_meta(ck, "run.step") == (uint64_t)best_step);
    rc = ent_test_run(out, sizeof out, "cat %s/k3/summary.json", t);
    const char *b = strstr(out, "\"best\""), *st = b ? strstr(b, "\"step\": ") : NULL, *te = b ? strstr(b, "\"test_error\": ") : NULL;
    CHECK_MSG(rc == 0 && st && te && atof(st + 8) == best_step &&
                  fabs(atof(te + 14) - ent_test_csv(metrics, best, "test_error")) < 1e-6 && strstr(b, "\"chosen_on\": \"val_error\""),
              "summary.json's best: %s", out);
}

/* Bad values of the new options: one line naming the option, exit 2; a
 * split of the whole training set is refused once the data are loaded,
 * and the refused start leaves no run directory. Without --val-split the
 * run says there is no best rather than choosing one on the test set. */
ENT_TEST(cli_val_split_and_keep_bad_values) {
    CHECK_TRAIN_USAGE("--val-split -1", "--val-split");
    CHECK_TRAIN_USAGE("--keep-last -2", "--keep-last");
    CHECK_TRAIN_USAGE("--keep-best", "--val-split");
    CHECK_TRAIN_USAGE("--val-split abc", "val-split");
    const char *dir = make_mnist(64, "none");
    char args[1024];
    snprintf(args, sizeof args, "--dataset mnist --data-dir %s --epochs 1 --batch-size 32 --val-split 64", dir);
    CHECK_TRAIN_USAGE(args, "--val-split 64");
    snprintf(args, sizeof args, "--dataset mnist --data-dir %s --epochs 1 --batch-size 32 --train-subset 40 --val-split 50", dir);
    CHECK_TRAIN_USAGE(args, "the 40 training samples");
    int rc = ent_test_run(out, sizeof out, "test -e %s/r", ent_test_tmpdir());
    CHECK_MSG(rc != 0, "a refused start left %s/r behind", ent_test_tmpdir());
    rc = ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --epochs 1 --batch-size 32 --out %s/nv "
                      "&& cat %s/nv/summary.json", ent_test_cli(), dir, dir, dir);
    CHECK_MSG(rc == 0 && strstr(out, "best: no validation set") && strstr(out, "\"best\": \"no validation set") &&
                  !strstr(out, "val_error"),
              "no validation set: exit %d: %s", rc, out);
}

/* Entropy-SGD learns real data: Fashion-MNIST, 6000 training images, 4
 * effective epochs. Chance is 90% error; a linear classifier reaches ~16%
 * on the full set. The bar, 30%, is three times below chance and far above
 * what a working run reaches (about 17-20% here). */
ENT_TEST(cli_train_esgd_learns) {
    /* one evaluation, at the end: only the final checkpoint is judged, and
     * each evaluation re-estimates the batch-norm statistics (a pass) */
    if (!have_fmnist()) return;
    const char *t = ent_test_tmpdir();
    int rc = ent_test_run(out, sizeof out,
                          "%s train --model mnistfc --optimizer entropy-sgd --L 5 --epochs 4 --train-subset 6000 "
                          "--test-subset 2000 --batch-size 128 --seed 1 --eval-every 4 --out %s/esgd --quiet",
                          ent_test_cli(), t);
    CHECK_MSG(rc == 0, "train: %s", out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/esgd/checkpoint.safetensors --dataset fashion-mnist --json",
                      ent_test_cli(), t);
    CHECK_MSG(rc == 0, "eval: %s", out);
    const char *e = strstr(out, "\"error\":");
    double err = e ? atof(e + 8) : 1.0;
    printf("    entropy-sgd, 4 effective epochs on 6000 images: test error %.2f%%\n", 100 * err);
    CHECK_MSG(err < 0.30, "test error %.3f not below the 0.30 bar", err);
    rc = ent_test_run(out, sizeof out, "head -1 %s/esgd/metrics.csv; wc -l < %s/esgd/metrics.csv; cat %s/esgd/config.json",
                      t, t, t);
    CHECK(strstr(out, "epoch,effective_epoch,step,train_loss,test_loss,test_error,wall_seconds") != NULL);
    CHECK(strstr(out, "\"gamma0\"") && strstr(out, "\"seed\": 1"));
    /* float settings as given, not float32 leftovers; PyTorch's "format" tag */
    CHECK_MSG(strstr(out, "\"bn_momentum\": 0.1,") != NULL, "config.json: %s", out);
    rc = ent_test_run(out, sizeof out, "head -c 4096 %s/esgd/checkpoint.safetensors | tr -d '\\000' | grep -o '\"format\":\"pt\"'", t);
    CHECK_MSG(rc == 0 && strstr(out, "\"format\":\"pt\""), "checkpoint metadata lacks format pt: %s", out);
    /* a checkpoint of another network is refused with the tensor named */
    rc = ent_test_run(out, sizeof out, "%s train --model lenet --init-from %s/esgd/checkpoint.safetensors --out %s/l --quiet",
                      ent_test_cli(), t, t);
    CHECK_MSG(rc == 2 && strstr(out, "conv1.weight"), "lenet from mnistfc weights: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "test -e %s/l", t);
    CHECK_MSG(rc != 0, "the failed start left its run directory %s/l behind", t);
    /* a truncated checkpoint is refused */
    ent_test_run(out, sizeof out, "head -c 5000 %s/esgd/checkpoint.safetensors > %s/cut.safetensors", t, t);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/cut.safetensors --dataset fashion-mnist", ent_test_cli(), t);
    CHECK_MSG(rc == 2 && strstr(out, "cut.safetensors") && ent_test_count_lines(out) == 1, "truncated checkpoint: exit %d: %s", rc, out);
}

/* A loss that turns NaN stops the run with exit 1 and keeps the last good
 * checkpoint. */
ENT_TEST(cli_divergence_keeps_checkpoint) {
    if (!have_fmnist()) return;
    const char *t = ent_test_tmpdir();
    const char *common = "--model mnistfc --train-subset 512 --test-subset 200 --batch-size 64 --momentum 0.9 --nesterov --quiet";
    int rc = ent_test_run(out, sizeof out, "%s train --optimizer sgd %s --epochs 1 --out %s/r", ent_test_cli(), common, t);
    CHECK_MSG(rc == 0, "first run: %s", out);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/r/checkpoint.safetensors", t);
    uint64_t step = ckpt_meta(ck, "run.step");
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/r --epochs 20 --lr 1e30", ent_test_cli(), t);
    CHECK_MSG(rc == 1, "diverging run: exit %d, want 1: %s", rc, out);
    CHECK_MSG(strstr(out, "the last good checkpoint is kept in") != NULL, "message: %s", out);
    CHECK(ckpt_meta(ck, "run.step") == step);
    /* diverged before the first evaluation: no checkpoint to name */
    rc = ent_test_run(out, sizeof out, "%s train --optimizer sgd %s --epochs 1 --lr 1e30 --out %s/r0", ent_test_cli(),
                      common, t);
    CHECK_MSG(rc == 1 && strstr(out, "no checkpoint had been written yet") && !strstr(out, "is kept in"),
              "divergence before any checkpoint: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --dataset fashion-mnist", ent_test_cli(), ck);
    CHECK_MSG(rc == 0, "the kept checkpoint loads: %s", out);
}

/* A run directory is never overwritten by accident: --out is required, a
 * second `train` into a directory holding a run is refused (exit 2, the
 * directory and the way out named, the first run's files untouched), and
 * --force starts over. */
ENT_TEST(cli_train_refuses_existing_run) {
    char out[8192], cmd[1400], before[8192];
    const char *dir = make_mnist(64, "none");
    snprintf(cmd, sizeof cmd, "%s train --dataset mnist --data-dir %s --epochs 1 --batch-size 32 --quiet",
             ent_test_cli(), dir);
    int rc = ent_test_run(out, sizeof out, "%s", cmd);
    CHECK_MSG(rc == 2 && strstr(out, "--out RUNDIR is required"), "no --out: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s --out %s/run", cmd, dir);
    CHECK_MSG(rc == 0, "first run: exit %d: %s", rc, out);
    rc = ent_test_run(before, sizeof before, "cat %s/run/metrics.csv", dir);
    CHECK(rc == 0);
    rc = ent_test_run(out, sizeof out, "%s --out %s/run --seed 7", cmd, dir);
    CHECK_MSG(rc == 2 && strstr(out, "already holds a run") && strstr(out, "--force") &&
                  strstr(out, "--resume"),
              "second run into the same directory: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "cat %s/run/metrics.csv", dir);
    CHECK_MSG(rc == 0 && strcmp(out, before) == 0, "the refused run changed metrics.csv");
    rc = ent_test_run(out, sizeof out, "%s --out %s/run --seed 7 --force", cmd, dir);
    CHECK_MSG(rc == 0, "--force: exit %d: %s", rc, out);
}

/* `train --help` is generated from the library's tables: every preset and
 * every optimizer is in its usage line and in its option list. */
ENT_TEST(cli_help_lists_every_preset_and_optimizer) {
    static char out[65536];
    int rc = ent_test_run(out, sizeof out, "%s train --help", ent_test_cli());
    CHECK_MSG(rc == 0, "train --help: exit %d", rc);
    const char *usage_end = strstr(out, "--epochs N");
    int n;
    const char *const *presets = ent_model_presets(&n);
    for (int i = 0; i < n; i++) {
        const char *at = strstr(out, presets[i]);
        CHECK_MSG(at && usage_end && at < usage_end, "preset %s not in the usage line", presets[i]);
        CHECK_MSG(at && strstr(usage_end, presets[i]), "preset %s not in the option list", presets[i]);
    }
    for (int k = 0; k < ENT_OPTIM_KIND_COUNT; k++) {
        const char *name = ent_optim_kind_name((ent_optim_kind)k), *at = strstr(out, name);
        CHECK_MSG(at && usage_end && at < usage_end, "optimizer %s not in the usage line", name);
        CHECK_MSG(at && strstr(usage_end, name), "optimizer %s not in the option list", name);
    }
}

/* Each optimizer's --help lists its own options with its own defaults:
 * sgd's are torch.optim.SGD's (momentum 0, dampening 0, no Nesterov) and
 * leave out Adam's, Entropy-SGD's and SAM's; adam has no momentum. */
ENT_TEST(cli_help_lists_each_optimizers_own_options) {
    static char out[65536];
    int rc = ent_test_run(out, sizeof out, "%s train --optimizer sgd --help", ent_test_cli());
    CHECK_MSG(rc == 0, "sgd --help: exit %d", rc);
    const char *have[] = {"--momentum X", "--dampening X", "--nesterov", "--weight-decay X", "--lr X"};
    for (size_t i = 0; i < sizeof have / sizeof *have; i++)
        CHECK_MSG(strstr(out, have[i]) != NULL, "sgd --help lacks %s: %s", have[i], out);
    const char *line = strstr(out, "--momentum X");
    CHECK_MSG(line && strstr(line, "[0]") && strstr(line, "[0]") < strchr(line, '\n'), "sgd momentum default: %s", out);
    line = strstr(out, "--nesterov");
    CHECK_MSG(line && strstr(line, "[off]") && strstr(line, "[off]") < strchr(line, '\n'), "sgd nesterov default: %s",
              out);
    const char *lack[] = {"--beta1", "--gamma0", "--sgld-lr", "--sam-rho", "--coupling", "--inner-momentum"};
    for (size_t i = 0; i < sizeof lack / sizeof *lack; i++)
        CHECK_MSG(strstr(out, lack[i]) == NULL, "sgd --help lists %s", lack[i]);
    rc = ent_test_run(out, sizeof out, "%s train --optimizer adam --help", ent_test_cli());
    CHECK_MSG(rc == 0 && strstr(out, "--beta1") && !strstr(out, "--momentum") && !strstr(out, "--dampening"),
              "adam --help: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s train --optimizer sam --help", ent_test_cli());
    line = strstr(out, "--momentum X");
    CHECK_MSG(rc == 0 && strstr(out, "--sam-rho") && line && strstr(line, "[0.9]") < strchr(line, '\n') &&
                  !strstr(out, "--gamma0"),
              "sam --help: exit %d: %s", rc, out);
}

/* torch.optim.SGD refuses Nesterov without momentum or with dampening: so
 * does train, in one line with exit 2, and a bad dampening is named. */
ENT_TEST(cli_sgd_nesterov_needs_momentum_no_dampening) {
    CHECK_TRAIN_USAGE("--optimizer sgd --nesterov", "Nesterov requires momentum > 0");
    CHECK_TRAIN_USAGE("--optimizer sgd --momentum 0.9 --nesterov --dampening 0.1", "Nesterov requires dampening 0");
    CHECK_TRAIN_USAGE("--optimizer sgd --momentum 0.9 --dampening -0.5", "dampening");
    CHECK_TRAIN_USAGE("--optimizer sgd --momentum 0.9 --dampening 2", "dampening");
}

/* A state_dict saved without entropic's metadata (what
 * safetensors.torch.save_file(model.state_dict(), path) writes): eval
 * takes it with --model and gives the same numbers as the same weights in
 * our own checkpoint; without --model it is refused naming the option, and
 * our checkpoint refuses a --model that is not its network (exit 2, one
 * line naming the file). */
static void write_state_dict(const char *path, const ent_model *m, const float *theta,
                             const float *buffers) {
    int np, nb;
    const ent_tensor_info *p = ent_model_params(m, &np), *b = ent_model_buffers(m, &nb);
    ent_st_tensor t[64];
    int n = 0;
    for (int i = 0; i < np + nb && n < 64; i++) {
        const ent_tensor_info *ti = i < np ? &p[i] : &b[i - np];
        t[n++] = (ent_st_tensor){ti->name, ti->ndim, {ti->shape[0], ti->shape[1], ti->shape[2], ti->shape[3]},
                                 (i < np ? theta : buffers) + ti->offset, ti->is_int64};
    }
    CHECK(ent_safetensors_write(path, t, n, NULL, NULL, 0) == ENT_OK);
}

ENT_TEST(cli_eval_state_dict_with_model) {
    if (!have_fmnist()) return;
    const char *t = ent_test_tmpdir();
    int rc = ent_test_run(out, sizeof out, "%s train --model mnistfc --optimizer adam --train-subset 512 "
                          "--test-subset 200 --batch-size 64 --epochs 1 --quiet --out %s/sd",
                          ent_test_cli(), t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char ck[600], sd[600], want[8192];
    snprintf(ck, sizeof ck, "%s/sd/checkpoint.safetensors", t);
    snprintf(sd, sizeof sd, "%s/state_dict.safetensors", t);
    ent_st_file *f = NULL;
    ent_model *m = NULL;
    CHECK(ent_safetensors_read(&f, ck) == ENT_OK);
    CHECK(ent_model_new(&m, "mnistfc", NULL, 1, 28, 28, 10, 64) == ENT_OK);
    if (!f || !m) return;
    float *theta = ent_alloc(sizeof(float) * (size_t)ent_model_n_param(m));
    float *buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(m) + 1));
    CHECK(ent_checkpoint_read_weights(f, ck, m, theta, buffers) == ENT_OK);
    write_state_dict(sd, m, theta, buffers);
    rc = ent_test_run(want, sizeof want, "%s eval --checkpoint %s --dataset fashion-mnist --json", ent_test_cli(), ck);
    CHECK_MSG(rc == 0, "eval of our checkpoint: %s", want);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --model mnistfc --dataset fashion-mnist --json",
                      ent_test_cli(), sd);
    const char *we = strstr(want, "\"loss\""), *ge = strstr(out, "\"loss\"");
    CHECK_MSG(rc == 0 && we && ge && strcmp(we, ge) == 0, "state_dict with --model: exit %d: %s vs %s", rc, out,
              want);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --dataset fashion-mnist", ent_test_cli(), sd);
    CHECK_MSG(rc == 2 && strstr(out, "--model") && strstr(out, "state_dict.safetensors") &&
                  ent_test_count_lines(out) == 1,
              "state_dict without --model: exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s --model lenet --dataset fashion-mnist", ent_test_cli(),
                      ck);
    CHECK_MSG(rc == 2 && strstr(out, ck) && strstr(out, "'mnistfc'") && strstr(out, "'lenet'") &&
                  ent_test_count_lines(out) == 1,
              "wrong --model: exit %d: %s", rc, out);
    ent_free_aligned(theta);
    ent_free_aligned(buffers);
    ent_model_free(m);
    ent_st_file_free(f);
}

/* --warmup-epochs and --lr-schedule cosine: metrics.csv's lr column (the
 * rate of the last update before each evaluation) follows 0.1 t / 1 during
 * the warm-up epoch, then 0.1 (1 + cos(pi (t - 1) / 1)) / 2 to 0 at the end
 * of the 2-epoch budget. 64 images in batches of 8: 8 updates an epoch. */
ENT_TEST(cli_train_warmup_cosine_schedule) {
    const char *dir = make_mnist(64, "none");
    int rc = ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --epochs 2 --batch-size 8 "
                          "--optimizer sgd --lr 0.1 --warmup-epochs 1 --lr-schedule cosine --eval-every 0.5 "
                          "--quiet --out %s/cos && cut -d, -f2,9 %s/cos/metrics.csv",
                          ent_test_cli(), dir, dir, dir);
    CHECK_MSG(rc == 0, "train: exit %d: %s", rc, out);
    /* the update before evaluation at t starts at t - 1/8 */
    const double at[4] = {0.5, 1.0, 1.5, 2.0}, pi = 3.14159265358979323846;
    for (int i = 0; i < 4; i++) {
        const double t = at[i] - 0.125;
        const double want = t < 1 ? 0.1 * t : 0.05 * (1 + cos(pi * (t - 1)));
        char key[32];
        snprintf(key, sizeof key, "\n%.6f,", at[i]);
        const char *row = strstr(out, key);
        const double got = row ? atof(strchr(row + 1, ',') + 1) : -1;
        CHECK_MSG(row && fabs(got - want) < 1e-6, "lr at epoch %g: %g, want %g (%s)", at[i], got, want, out);
    }
    rc = ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --epochs 2 --warmup-epochs 2 --quiet "
                      "--out %s/bad", ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 2 && strstr(out, "--warmup-epochs"), "warm-up over the whole budget: exit %d: %s", rc, out);
}
