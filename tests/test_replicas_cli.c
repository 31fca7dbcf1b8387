/* test_replicas_cli.c — `entropic train` with the replica methods and the
 * new single-vector optimizers, in one process and under mpirun: usage
 * errors, the metrics columns, exact resume (also across a change of the
 * number of processes), K ranks against K in-process replicas on a network,
 * data-parallel runs, and failures (a killed rank, a rank-local error).
 *
 * Data: a synthetic MNIST-format folder (256 training, 100 test images of
 * label-dependent blobs), so nothing depends on an installed data set; the
 * mnistfc network (batch-norm and dropout: buffers and dropout streams are
 * exercised). MPI parts are skipped with a message without mpirun or an
 * MPI build; they run with LeakSanitizer off (the MPI runtime leaks). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"

static char out[65536];

/* The ASan+UBSan suite runs one case of each path: the same code as the
 * release suite, where every case runs. */
static int sanitized(void) { return getenv("ENT_TEST_SANITIZER") != NULL; }

static void write_split(const char *dir, const char *split, int n, uint32_t seed) {
    FILE *fi, *fl;
    if (!ent_test_idx_create(dir, split, n, &fi, &fl)) return;
    uint32_t s = seed;
    for (int i = 0; i < n; i++) {
        int lab = i % 10, cy = 4 + 2 * lab, cx = 24 - 2 * lab;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                s = s * 1664525u + 1013904223u;
                int v = (int)(s >> 26) + ((y - cy) * (y - cy) + (x - cx) * (x - cx) < 20 ? 180 : 0);
                fputc(v > 255 ? 255 : v, fi);
            }
        fputc(lab, fl);
    }
    fclose(fi);
    fclose(fl);
}

/* The data folder, made once per test binary run. */
static const char *data_dir(void) {
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", ent_test_tmpdir());
        write_split(dir, "train", 256, 1);
        write_split(dir, "t10k", 100, 2);
    }
    return dir;
}

/* A fresh directory for a test's runs (the data folder made first: both
 * come from ent_test_tmpdir's one buffer). */
static const char *run_dir(char buf[700]) {
    data_dir();
    snprintf(buf, 700, "%s", ent_test_tmpdir());
    return buf;
}

/* 8 steps of 32 per epoch; one thread, so that every product sums in the
 * same order in every process. */
#define COMMON "--dataset mnist --data-dir %s --model mnistfc --batch-size 32 --threads 1 --quiet --seed 3"

static int train(const char *prefix, const char *args) {
    return ent_test_run(out, sizeof out, "%s %s train " COMMON " %s", prefix, ent_test_cli(), data_dir(), args);
}

ENT_TEST(replicas_cli_usage_errors) {
    CHECK_TRAIN_USAGE("--optimizer replicated-sgd --replicas 0", "replicas");
    CHECK_TRAIN_USAGE("--optimizer parle --replicas -2", "replicas");
    CHECK_TRAIN_USAGE("--optimizer elastic-sgd --coupling -1", "coupling");
    CHECK_TRAIN_USAGE("--optimizer elastic-sgd --center", "center");
    CHECK_TRAIN_USAGE("--optimizer replicated-sgd --coupling-every 0", "coupling_every");
    CHECK_TRAIN_USAGE("--optimizer replicated-sgd --coupling-schedule cosine --coupling-max 0", "coupling_max");
    CHECK_TRAIN_USAGE("--optimizer replicated-sgd --coupling-schedule wobbly", "coupling-schedule");
    CHECK_TRAIN_USAGE("--optimizer sam --sam-rho -1", "sam_rho");
    CHECK_TRAIN_USAGE("--optimizer sgld --sgld-decay 2", "sgld_decay");
    CHECK_TRAIN_USAGE("--optimizer hj-prox --L 0", "L");
    CHECK_TRAIN_USAGE("--optimizer nosuch", "nosuch");
}

/* The tensors a checkpoint of this test's runs may hold. */
static void tensor_names(const char *path, char names[][64], int *n) {
    static const char *model[] = {"fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                  "bn1.running_var", "bn1.num_batches_tracked", "fc2.weight", "fc2.bias",
                                  "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
                                  "bn2.num_batches_tracked", "fc3.weight", "fc3.bias"};
    static const char *vecs[] = {"momentum", "adam_m", "adam_v", "x_prime", "mu", "inner_momentum"};
    (void)path;
    *n = 0;
    for (size_t i = 0; i < sizeof model / sizeof model[0]; i++) snprintf(names[(*n)++], 64, "%s", model[i]);
    for (int a = 0; a < 4; a++) {
        snprintf(names[(*n)++], 64, "replica.%d.theta", a);
        snprintf(names[(*n)++], 64, "replica.%d.buffers", a);
        for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++) snprintf(names[(*n)++], 64, "replica.%d.optim.%s", a, vecs[v]);
    }
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++) snprintf(names[(*n)++], 64, "center.optim.%s", vecs[v]);
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++) snprintf(names[(*n)++], 64, "optim.%s", vecs[v]);
}

/* Largest |a - b| over every tensor both checkpoints hold (-1: a tensor of
 * one is missing in the other, or a file is unreadable). *count: tensors. */
static double ckpt_diff(const char *a, const char *b, int *count) {
    ent_st_file *fa = NULL, *fb = NULL;
    double worst = 0.0;
    *count = 0;
    if (ent_safetensors_read(&fa, a) != ENT_OK || ent_safetensors_read(&fb, b) != ENT_OK) worst = -1.0;
    static char names[128][64];
    int n = 0;
    tensor_names(a, names, &n);
    for (int i = 0; worst >= 0 && i < n; i++) {
        int nd, nd2;
        int64_t sh[4], sh2[4], k = 1;
        int ina = ent_st_find(fa, names[i], &nd, sh), inb = ent_st_find(fb, names[i], &nd2, sh2);
        if (ina != inb) worst = -1.0;
        if (!ina || !inb) continue;
        for (int d = 0; d < nd; d++) k *= sh[d];
        float *x = malloc(sizeof(float) * (size_t)k), *y = malloc(sizeof(float) * (size_t)k);
        if (ent_st_get(fa, names[i], x, k) != ENT_OK || ent_st_get(fb, names[i], y, k) != ENT_OK) worst = -1.0;
        for (int64_t j = 0; worst >= 0 && j < k; j++) worst = fmax(worst, fabs((double)x[j] - y[j]));
        (*count)++;
        free(x);
        free(y);
    }
    ent_st_file_free(fa);
    ent_st_file_free(fb);
    return worst;
}

static void same_ckpt(const char *ta, const char *tb, double tol, const char *what) {
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/checkpoint.safetensors", ta);
    snprintf(b, sizeof b, "%s/checkpoint.safetensors", tb);
    int count = 0;
    double d = ckpt_diff(a, b, &count);
    if (getenv("ENT_TEST_VERBOSE") || tol > 0) printf("    %s: %d tensors, max |diff| %.3g\n", what, count, d);
    CHECK_MSG(d >= 0 && d <= tol && count >= 17, "%s: %d tensors, max |diff| %.3g (allowed %.3g)", what, count, d, tol);
}

/* 1 effective epoch straight, and 0.5 + resume to 1: the same checkpoint,
 * bit for bit, and the same metrics. (SAM, HJ-prox, HEAT, SGLD resume
 * through the same code as SGD; the library tests check their state.) */
static void resume_case(const char *opt) {
    char tb[700];
    const char *t = run_dir(tb);
    char args[1024];
    snprintf(args, sizeof args, "%s --epochs 1 --eval-every 0.5 --out %s/full", opt, t);
    CHECK_MSG(train("", args) == 0, "%s full: %s", opt, out);
    snprintf(args, sizeof args, "%s --epochs 0.5 --eval-every 0.5 --out %s/half", opt, t);
    CHECK_MSG(train("", args) == 0, "%s half: %s", opt, out);
    int rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 1", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "%s resume: %s", opt, out);
    char full[800], half[800];
    snprintf(full, sizeof full, "%s/full", t);
    snprintf(half, sizeof half, "%s/half", t);
    same_ckpt(full, half, 0.0, opt);
    ent_test_run(out, sizeof out, "cut -d, -f1-6,11- %s/full/metrics.csv > %s/f.csv; "
                 "cut -d, -f1-6,11- %s/half/metrics.csv > %s/h.csv; cmp %s/f.csv %s/h.csv", t, t, t, t, t, t);
    CHECK_MSG(out[0] == 0, "%s: metrics differ: %s", opt, out);
}

ENT_TEST(replicas_cli_resume_exact) {
    /* a fixed growth rate: the automatic one depends on --epochs, which a
     * resume that extends the budget changes */
    if (!sanitized()) resume_case("--optimizer replicated-sgd --replicas 2 --center --coupling-rate 1");
    resume_case("--optimizer parle --replicas 2 --L 2 --noise 1e-3");
}

/* A replica run's files: the metrics columns of every replica and the
 * ensemble, config.json's replica settings, and a checkpoint whose model
 * tensors (the centre) `entropic eval` reads. The bar on the centre's
 * error: the blobs are separable, chance is 90%; a working run is far
 * below 50% after 2 epochs. */
ENT_TEST(replicas_cli_metrics_and_eval) {
    if (sanitized()) return; /* replica evaluation runs in the resume test too */
    char tb[700];
    const char *t = run_dir(tb);
    char args[1024];
    snprintf(args, sizeof args, "--optimizer replicated-sgd --replicas 3 --epochs 2 --out %s/r", t);
    CHECK_MSG(train("", args) == 0, "train: %s", out);
    ent_test_run(out, sizeof out, "head -1 %s/r/metrics.csv; tail -1 %s/r/metrics.csv; cat %s/r/config.json", t, t, t);
    CHECK(strstr(out, "epoch,effective_epoch,step,train_loss,test_loss,test_error,wall_seconds,grad_evals,lr,gamma,"
                      "train_loss_x,coupling,ensemble_loss,ensemble_error,mean_replica_error,replica_0_error,replica_1_error,"
                      "replica_2_error\n") != NULL);
    CHECK(strstr(out, "\"replicas\": 3") && strstr(out, "\"coupling_schedule\": \"exp\""));
    double e = 1.0;
    const char *row = strchr(out, '\n');
    if (row) {
        int commas = 0;
        for (const char *p = row + 1; *p && commas < 5; p++) commas += *p == ',', row = p;
        e = atof(row + 1);
    }
    CHECK_MSG(e < 0.5, "centre test error %.3f not below 0.5: %s", e, out);
    int rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/r/checkpoint.safetensors --dataset mnist --data-dir %s",
                          ent_test_cli(), t, data_dir());
    CHECK_MSG(rc == 0, "eval of the centre: %s", out);
    /* 2 epochs of 8 batches per replica: 16 steps, 48 gradients */
    ent_test_run(out, sizeof out, "tail -1 %s/r/metrics.csv | cut -d, -f2,3,8", t);
    CHECK_MSG(strncmp(out, "2.000000,16,48", 14) == 0, "effective epoch, step, gradients: %s", out);
}

/* ---------------------------------------------------------------- MPI */

/* K ranks against K replicas in one process, same seeds: bit for bit with
 * K = 2. With K = 4 the centre's sum is ordered differently; after 4 steps
 * the weights (|w| < 2) differ by a few ulp (observed ~4e-7); 1e-5 allows
 * the network's growth of such differences over 4 steps while a wrong
 * replica, seed or coupling changes them by > 1e-3. */
ENT_TEST(mpi_cli_ranks_match_in_process) {
    if (!ent_test_have_mpi()) return;
    char tb[700];
    const char *t = run_dir(tb);
    static const char *opts[] = {"--optimizer replicated-sgd --center", "--optimizer elastic-sgd"};
    for (int i = 0; i < (sanitized() ? 1 : 2); i++) {
        char args[1024], pre[256], a[800], b[800];
        snprintf(args, sizeof args, "%s --epochs 0.5 --out %s/m%d", opts[i], t, i);
        snprintf(pre, sizeof pre, MPIRUN " -np 2");
        CHECK_MSG(train(pre, args) == 0, "%s, 2 ranks: %s", opts[i], out);
        snprintf(args, sizeof args, "%s --replicas 2 --epochs 0.5 --out %s/p%d", opts[i], t, i);
        CHECK_MSG(train("", args) == 0, "%s, in one process: %s", opts[i], out);
        snprintf(a, sizeof a, "%s/m%d", t, i);
        snprintf(b, sizeof b, "%s/p%d", t, i);
        same_ckpt(a, b, 0.0, opts[i]);
    }
    /* rank 0 alone wrote: one header, one row */
    ent_test_run(out, sizeof out, "wc -l < %s/m0/metrics.csv", t);
    CHECK_MSG(atoi(out) == 2, "metrics.csv of the 2-rank run has %d lines", atoi(out));
    if (getenv("ENT_TEST_SANITIZER")) return;
    char args[1024];
    snprintf(args, sizeof args, "--optimizer replicated-sgd --epochs 0.5 --out %s/m4", t);
    CHECK_MSG(train(MPIRUN " -np 4", args) == 0, "4 ranks: %s", out);
    snprintf(args, sizeof args, "--optimizer replicated-sgd --replicas 4 --epochs 0.5 --out %s/p4", t);
    CHECK_MSG(train("", args) == 0, "4 replicas in one process: %s", out);
    char a[800], b[800];
    snprintf(a, sizeof a, "%s/m4", t);
    snprintf(b, sizeof b, "%s/p4", t);
    same_ckpt(a, b, 1e-5, "replicated-sgd, 4 ranks vs 4 in-process replicas, 4 steps");
}

/* A run of y = 2 replicas stopped and resumed with another number of
 * processes: 2 ranks -> 1 process, and 1 process -> 2 ranks, both equal
 * bit for bit to a run that never stopped. */
ENT_TEST(mpi_cli_resume_other_process_count) {
    if (!ent_test_have_mpi() || sanitized()) return;
    char tb[700];
    const char *t = run_dir(tb);
    const char *opt = "--optimizer replicated-sgd --center --coupling-rate 1";
    char args[1024], full[800], h[800];
    snprintf(args, sizeof args, "%s --replicas 2 --epochs 1 --eval-every 0.5 --out %s/full", opt, t);
    CHECK_MSG(train("", args) == 0, "full: %s", out);
    snprintf(args, sizeof args, "%s --epochs 0.5 --eval-every 0.5 --out %s/a", opt, t);
    CHECK_MSG(train(MPIRUN " -np 2", args) == 0, "half on 2 ranks: %s", out);
    int rc = ent_test_run(out, sizeof out, "%s train --resume %s/a --epochs 1", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume in one process: %s", out);
    snprintf(args, sizeof args, "%s --replicas 2 --epochs 0.5 --eval-every 0.5 --out %s/b", opt, t);
    CHECK_MSG(train("", args) == 0, "half in one process: %s", out);
    rc = ent_test_run(out, sizeof out, MPIRUN " -np 2 %s train --resume %s/b --epochs 1", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume on 2 ranks: %s", out);
    snprintf(full, sizeof full, "%s/full", t);
    snprintf(h, sizeof h, "%s/a", t);
    same_ckpt(full, h, 0.0, "2 ranks -> 1 process");
    snprintf(h, sizeof h, "%s/b", t);
    same_ckpt(full, h, 0.0, "1 process -> 2 ranks");
    /* 3 replicas do not split over 2 ranks */
    rc = ent_test_run(out, sizeof out, MPIRUN " -np 2 %s train --resume %s/full --replicas 3", ent_test_cli(), t);
    CHECK_MSG(rc != 0 && strstr(out, "does not split"), "3 replicas on 2 ranks: exit %d: %s", rc, out);
}

/* Data-parallel Entropy-SGD over 2 ranks: effective epochs count both
 * ranks' batches; resumes exactly with 2 ranks; refuses 1. */
ENT_TEST(mpi_cli_data_parallel) {
    if (!ent_test_have_mpi()) return;
    char tb[700];
    const char *t = run_dir(tb);
    const char *opt = "--optimizer entropy-sgd --L 2 --noise 1e-3";
    char args[1024], a[800], b[800];
    snprintf(args, sizeof args, "%s --epochs 2 --out %s/full", opt, t);
    CHECK_MSG(train(MPIRUN " -np 2", args) == 0, "full: %s", out);
    if (sanitized()) return;
    snprintf(args, sizeof args, "%s --epochs 1 --out %s/half", opt, t);
    CHECK_MSG(train(MPIRUN " -np 2", args) == 0, "half: %s", out);
    int rc = ent_test_run(out, sizeof out, MPIRUN " -np 2 %s train --resume %s/half --epochs 2", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume: %s", out);
    snprintf(a, sizeof a, "%s/full", t);
    snprintf(b, sizeof b, "%s/half", t);
    same_ckpt(a, b, 0.0, "data-parallel resume");
    /* 2 epochs x 8 batches / (2 ranks x L 2) = 4 updates, 16 gradients */
    ent_test_run(out, sizeof out, "tail -1 %s/full/metrics.csv | cut -d, -f2,3,8", t);
    CHECK_MSG(strncmp(out, "2.000000,4,16", 13) == 0, "effective epoch, step, gradients: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 3", ent_test_cli(), t);
    CHECK_MSG(rc == 2 && strstr(out, "2 process"), "resume with 1 process: exit %d: %s", rc, out);
}

/* A rank killed mid-run ends the job (Open MPI's handler): mpirun exits
 * non-zero within the 60 s watchdog instead of hanging. A rank-local error
 * (rank 0 cannot create the run directory) ends every rank (MPI_Abort)
 * with the error named. */
ENT_TEST(mpi_cli_rank_failure) {
    if (!ent_test_have_mpi()) return;
    char tb[700], cli[PATH_MAX];
    const char *t = run_dir(tb);
    /* the job runs from inside t: the CLI's path must not be relative */
    if (!realpath(ent_test_cli(), cli)) {
        CHECK_MSG(0, "no CLI at %s", ent_test_cli());
        return;
    }
    int rc = ent_test_run(out, sizeof out,
        "cd %s; (" MPIRUN " -np 2 %s train " COMMON " --optimizer replicated-sgd --epochs 1000 --eval-every 100 "
        "--out %s/long > long.log 2>&1 & echo $! > mp.pid; wait) & "
        "for i in $(seq 300); do [ -s %s/long/metrics.csv ] && break; sleep 0.1; done; "
        "[ -s %s/long/metrics.csv ] && echo STARTED; sleep 1; "
        "mp=$(cat mp.pid); kids=$(pgrep -P $mp); victim=$(echo $kids | tr ' ' '\\n' | tail -1); "
        "kill -9 $victim; s=$(date +%%s); "
        "while kill -0 $mp 2>/dev/null && [ $(( $(date +%%s) - s )) -lt 60 ]; do sleep 0.2; done; "
        "if kill -0 $mp 2>/dev/null; then echo HUNG; kill -9 $mp $kids 2>/dev/null; fi; "
        "echo waited $(( $(date +%%s) - s ))s; tail -3 long.log",
        t, cli, data_dir(), t, t, t);
    /* STARTED: the run was training (it wrote metrics) when a rank was killed */
    CHECK_MSG(rc == 0 && strstr(out, "STARTED") && !strstr(out, "HUNG") && strstr(out, "waited"),
              "killed rank: %s", out);
    printf("    killed rank: %s", strstr(out, "waited") ? strstr(out, "waited") : out);
    rc = ent_test_run(out, sizeof out, "touch %s/file; timeout 60 " MPIRUN " -np 2 %s train " COMMON
                      " --optimizer elastic-sgd --epochs 1 --out %s/file/run", t, ent_test_cli(), data_dir(), t);
    CHECK_MSG(rc == 2 && strstr(out, "rank 0") && strstr(out, "file/run"), "rank-local error: exit %d: %s", rc, out);
}
