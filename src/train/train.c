/* train.c — the training loop: budget in effective epochs, evaluation,
 * metrics.csv, atomic checkpoints, exact resume, progress line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train/train_internal.h"

#define EVAL_BATCH 500

typedef struct {
    ent_run_state r;
    ent_dataset *train, *test;
    ent_netobj *obj;
    char ckpt_path[600], metrics_path[600];
    int64_t steps_per_epoch; /* optimizer updates per data epoch of L batches */
    int64_t total_steps;
    int batches_per_step;
    double session_start, last_print, wall_at_start;
    int64_t step_at_start;
    double interval_loss;    /* sum of step losses since the last evaluation */
    int64_t interval_steps;
    int tty;
} run;

static double effective_epoch(const run *R, int64_t step) {
    int64_t spe = ent_batches_per_epoch(R->train->n, R->r.cfg->batch);
    return (double)step * R->batches_per_step / (double)spe;
}

static double lr_scale_at(const ent_train_config *c, double eff_epoch) {
    double s = 1.0;
    for (int i = 0; i < c->n_milestones; i++)
        if (eff_epoch >= c->lr_milestones[i] - 1e-9) s *= c->lr_factor;
    return s;
}

static ent_status load_data(run *R) {
    const ent_train_config *c = R->r.cfg;
    const char *dir = c->data_dir[0] ? c->data_dir : NULL;
    ent_status s = ent_dataset_load(&R->train, c->dataset, dir, ENT_SPLIT_TRAIN);
    if (s == ENT_OK) s = ent_dataset_load(&R->test, c->dataset, dir, ENT_SPLIT_TEST);
    if (s != ENT_OK) return s;
    if (c->train_subset > 0 && c->train_subset < R->train->n) ent_dataset_truncate(R->train, c->train_subset);
    if (c->test_subset > 0 && c->test_subset < R->test->n) ent_dataset_truncate(R->test, c->test_subset);
    return ENT_OK;
}

static ent_status make_dir(const char *path) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return ent_fail(ENT_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return ent_fail(ENT_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
    return ENT_OK;
}

static ent_status build(run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_status s = load_data(R);
    if (s != ENT_OK) return s;
    int64_t max_batch = c->batch > EVAL_BATCH ? c->batch : EVAL_BATCH;
    s = ent_model_new(&R->r.model, c->model, &c->model_opts, R->train->c, R->train->h,
                      R->train->w, R->train->n_classes, max_batch);
    if (s != ENT_OK) return s;
    R->r.model_opts = ent_model_get_opts(R->r.model);
    int64_t P = ent_model_n_param(R->r.model), B = ent_model_n_buffer(R->r.model);
    R->r.theta = ent_alloc(sizeof(float) * (size_t)P);
    R->r.buffers = ent_alloc(sizeof(float) * (size_t)(B + 1));
    if (!R->r.theta || !R->r.buffers) return ent_fail(ENT_ENOMEM, "cannot allocate %lld parameters", (long long)P);
    ent_model_init_params(R->r.model, R->r.theta, R->r.buffers, c->seed);
    s = ent_optim_new(&R->r.optim, &c->optim, P, c->seed);
    if (s == ENT_OK) s = ent_netobj_new(&R->obj, R->r.model, R->r.buffers, R->train, c->batch, c->seed);
    if (s != ENT_OK) return s;
    R->r.sampler = ent_netobj_sampler(R->obj);
    R->r.dropout_rng = ent_netobj_dropout_rng(R->obj);
    R->batches_per_step = ent_optim_batches_per_step(R->r.optim);
    int64_t spe = ent_batches_per_epoch(R->train->n, c->batch);
    R->total_steps = (int64_t)llround(c->epochs * (double)spe / R->batches_per_step);
    if (R->total_steps < 1) R->total_steps = 1;
    R->steps_per_epoch = spe;
    return ENT_OK;
}

static const char *METRICS_HEADER =
    "epoch,effective_epoch,step,train_loss,test_loss,test_error,wall_seconds,grad_evals,lr,gamma\n";

/* On resume, keep only the rows up to the checkpoint's step. */
static ent_status metrics_prepare(run *R) {
    if (!R->r.cfg->resume) return ent_write_file_atomic(R->metrics_path, METRICS_HEADER, strlen(METRICS_HEADER));
    char *data = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(R->metrics_path, &data, &len);
    if (s != ENT_OK) return s;
    size_t keep = 0;
    for (size_t i = 0, line = 0; i < len; line++) {
        size_t j = i;
        while (j < len && data[j] != '\n') j++;
        if (line > 0) {
            double ep, eff;
            long long step = -1;
            if (sscanf(data + i, "%lf,%lf,%lld", &ep, &eff, &step) != 3 || step > R->r.step) break;
        }
        i = j + 1;
        keep = i < len ? i : len;
    }
    s = ent_write_file_atomic(R->metrics_path, data, keep);
    free(data);
    return s;
}

static ent_status metrics_append(run *R, double train_loss, double test_loss, double test_err, double lr) {
    FILE *f = fopen(R->metrics_path, "a");
    if (!f) return ent_fail(ENT_EIO, "%s: cannot append: %s", R->metrics_path, strerror(errno));
    double eff = effective_epoch(R, R->r.step);
    fprintf(f, "%.6f,%.6f,%lld,%.6f,%.6f,%.6f,%.3f,%lld,%.6g,%.6g\n", eff / R->batches_per_step, eff,
            (long long)R->r.step, train_loss, test_loss, test_err, R->r.wall_seconds,
            (long long)R->r.grad_evals, lr, ent_optim_gamma(R->r.optim));
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ent_fail(ENT_EIO, "%s: write failed", R->metrics_path);
    return ENT_OK;
}

static void progress(run *R, double loss, int force) {
    if (!R->r.cfg->progress) return;
    double now = ent_time_seconds();
    if (!force && now - R->last_print < (R->tty ? 0.25 : 15.0)) return;
    R->last_print = now;
    double el = now - R->session_start;
    int64_t done = R->r.step - R->step_at_start;
    double rate = el > 0 ? (double)done / el : 0;
    double sps = rate * ent_optim_grads_per_step(R->r.optim) * (double)R->r.cfg->batch;
    double eta = rate > 0 ? (double)(R->total_steps - R->r.step) / rate : 0;
    fprintf(stderr, "%s[%s] eff.epoch %.2f/%.4g  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %dm%02ds%s",
            R->tty ? "\r\033[K" : "", ent_optim_kind_name(R->r.cfg->optim.kind),
            effective_epoch(R, R->r.step), R->r.cfg->epochs, (long long)R->r.step,
            (long long)R->total_steps, loss, sps, (int)eta / 60, (int)eta % 60, R->tty ? "" : "\n");
    fflush(stderr);
}

static ent_status evaluate(run *R, double lr) {
    double test_loss = 0, test_err = 0;
    ent_status s = ent_model_evaluate(R->r.model, R->r.theta, R->r.buffers, R->test, &test_loss, &test_err);
    if (s != ENT_OK) return s;
    double train_loss = R->interval_steps ? R->interval_loss / (double)R->interval_steps : NAN;
    R->interval_loss = 0;
    R->interval_steps = 0;
    R->r.wall_seconds = R->wall_at_start + ent_time_seconds() - R->session_start;
    if (!isfinite(test_loss) || !ent_vec_all_finite(R->r.theta, ent_model_n_param(R->r.model)))
        return ent_fail(ENT_EDIVERGED, "the weights or the test loss became non-finite at step %lld (effective "
                        "epoch %.2f); the last good checkpoint is kept in %s", (long long)R->r.step,
                        effective_epoch(R, R->r.step), R->ckpt_path);
    s = metrics_append(R, train_loss, test_loss, test_err, lr);
    if (s == ENT_OK) s = ent_checkpoint_save(R->ckpt_path, &R->r);
    if (R->r.cfg->progress) {
        if (R->tty) fprintf(stderr, "\r\033[K");
        printf("eff.epoch %7.2f  step %7lld  train_loss %.4f  test_loss %.4f  test_error %6.2f%%  %.1fs\n",
               effective_epoch(R, R->r.step), (long long)R->r.step, train_loss, test_loss, 100 * test_err,
               R->r.wall_seconds);
        fflush(stdout);
    }
    return s;
}

/* Evaluate at the first update that reaches each multiple of eval_every
 * effective epochs (Entropy-SGD's updates do not fall on epoch
 * boundaries: with L = 20 an epoch of 469 batches is 23.45 updates). */
static int eval_due(const run *R) {
    double e = R->r.cfg->eval_every;
    double now = floor(effective_epoch(R, R->r.step) / e + 1e-9);
    double before = floor(effective_epoch(R, R->r.step - 1) / e + 1e-9);
    return now > before;
}

static ent_status loop(run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_objective obj = ent_netobj_objective(R->obj);
    double lr = c->optim.lr;
    while (R->r.step < R->total_steps) {
        double scale = lr_scale_at(c, effective_epoch(R, R->r.step)), loss = 0;
        lr = c->optim.lr * scale;
        ent_status s = ent_optim_step(R->r.optim, &obj, R->r.theta, scale, &loss);
        if (s != ENT_OK) return s;
        if (!isfinite(loss))
            return ent_fail(ENT_EDIVERGED, "the training loss became %g at step %lld (effective epoch %.2f); "
                            "the last good checkpoint is kept in %s", loss, (long long)R->r.step,
                            effective_epoch(R, R->r.step), R->ckpt_path);
        R->r.step++;
        R->r.grad_evals += ent_optim_grads_per_step(R->r.optim);
        R->interval_loss += loss;
        R->interval_steps++;
        progress(R, loss, 0);
        if (eval_due(R) || R->r.step == R->total_steps) {
            s = evaluate(R, lr);
            if (s != ENT_OK) return s;
        }
    }
    return ENT_OK;
}

static ent_status start(run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_status s = make_dir(c->out_dir);
    if (s != ENT_OK) return s;
    snprintf(R->ckpt_path, sizeof R->ckpt_path, "%s/checkpoint.safetensors", c->out_dir);
    snprintf(R->metrics_path, sizeof R->metrics_path, "%s/metrics.csv", c->out_dir);
    if (c->resume) {
        s = ent_checkpoint_resume(R->ckpt_path, &R->r);
        if (s != ENT_OK) return s;
    } else if (c->init_from[0]) {
        s = ent_checkpoint_load_weights(c->init_from, R->r.model, R->r.theta, R->r.buffers);
        if (s != ENT_OK) return s;
    }
    char cfg_path[600];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", c->out_dir);
    s = ent_train_config_save(c, &R->r.model_opts, cfg_path);
    if (s == ENT_OK) s = metrics_prepare(R);
    return s;
}

static void cleanup(run *R) {
    ent_netobj_free(R->obj);
    ent_optim_free(R->r.optim);
    ent_free_aligned(R->r.theta);
    ent_free_aligned(R->r.buffers);
    ent_model_free(R->r.model);
    ent_dataset_free(R->train);
    ent_dataset_free(R->test);
}

ent_status ent_train_run(const ent_train_config *c) {
    ent_status s = ent_train_config_check(c);
    if (s != ENT_OK) return s;
    ent_set_threads(c->threads);
    run R;
    memset(&R, 0, sizeof R);
    R.r.cfg = c;
    R.tty = isatty(2);
    s = build(&R);
    if (s == ENT_OK) s = start(&R);
    if (s == ENT_OK) {
        R.session_start = ent_time_seconds();
        R.wall_at_start = R.r.wall_seconds;
        R.step_at_start = R.r.step;
        if (c->progress)
            printf("%s on %s: %lld parameters, %s, %lld updates of %d batch(es) of %lld = %.4g effective epochs\n",
                   c->model, c->dataset, (long long)ent_model_n_param(R.r.model), ent_optim_kind_name(c->optim.kind),
                   (long long)R.total_steps, R.batches_per_step, (long long)c->batch, c->epochs);
        s = loop(&R);
        if (R.tty && c->progress) fprintf(stderr, "\r\033[K");
    }
    cleanup(&R);
    return s;
}
