/* train.c — the training loop: budget in effective epochs, evaluation,
 * metrics.csv, atomic checkpoints, exact resume, progress line.
 *
 * Every rank of an MPI job runs this loop in step: the same updates, the
 * same evaluation points, so the collectives inside (replica centres,
 * data-parallel gradients, evaluation, checkpoint gathers) line up. Rank 0
 * alone writes the run directory and prints. */
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "train/train_internal.h"
#include "train/train_run.h"

/* Mini-batches used per worker (data-parallel: over all ranks) / batches
 * per epoch. Replicas: per replica, since each sees its own data. */
static double effective_epoch(const ent_run *R, int64_t step) {
    return (double)step * R->batches_per_step / (double)R->steps_per_epoch;
}

/* The learning-rate factor at an effective epoch: the step milestones,
 * times Zaremba et al.'s decay (lr_decay per epoch from epoch index
 * lr_decay_after - 1 on, as their reader counts epochs), times a linear warm-up from 0 over warmup_epochs, times cosine annealing
 * to 0 over the rest of the budget (the warm-up and cosine schedules of
 * Hugging Face's transformers, by effective epoch instead of update). */
static double lr_scale_at(const ent_train_config *c, double eff_epoch) {
    double s = 1.0;
    for (int i = 0; i < c->n_milestones; i++)
        if (eff_epoch >= c->lr_milestones[i] - 1e-9) s *= c->lr_factor;
    if (c->lr_decay_after > 0) {
        const double k = floor(eff_epoch + 1e-9) + 1 - c->lr_decay_after;
        if (k > 0) s *= pow(c->lr_decay, k);
    }
    const double w = c->warmup_epochs;
    if (w > 0 && eff_epoch < w) return s * eff_epoch / w;
    if (c->lr_cosine) {
        const double p = c->epochs > w ? (eff_epoch - w) / (c->epochs - w) : 1.0;
        s *= 0.5 * (1.0 + cos(3.14159265358979323846 * (p < 1.0 ? p : 1.0)));
    }
    return s;
}

/* The optimizer that reports L and gamma: the run's, or replica 0's. */
static ent_optim *lead_optim(const ent_run *R) {
    return R->r.reps ? ent_replicas_optim(R->r.reps, 0) : R->r.optim;
}

ent_status ent_run_make_dir(const char *path) {
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

/* The end of a divergence message: where the last good checkpoint is, or
 * that there is none yet (the run diverged before its first evaluation). */
static const char *kept_checkpoint(const ent_run *R, char *buf, size_t cap) {
    /* What this run wrote or resumed from, not whatever file is there (a
     * --force start over an old run; another rank's file system). */
    if (R->have_ckpt)
        snprintf(buf, cap, "the last good checkpoint is kept in %s", R->ckpt_path);
    else
        snprintf(buf, cap, "no checkpoint had been written yet (the run diverged before its first "
                           "evaluation); start it again, for instance with a smaller --lr");
    return buf;
}

static const char *METRICS_HEADER =
    "epoch,effective_epoch,step,train_loss,test_loss,test_error,wall_seconds,grad_evals,lr,gamma,train_loss_x";

/* The header; --val-split adds the validation loss and error, replica
 * methods the coupling, the ensemble, the mean replica error and every
 * replica's error after the common columns. */
static void metrics_header(const ent_run *R, char *buf, size_t len) {
    size_t k = (size_t)snprintf(buf, len, "%s%s", METRICS_HEADER, R->val || R->text ? ",val_loss,val_error" : "");
    if (R->text)
        k += (size_t)snprintf(buf + k, len - k, ",test_perplexity,val_perplexity%s",
                              ent_vocab_kind_of(R->text->c.vocab) == ENT_VOCAB_CHARS ? ",test_bpc,val_bpc" : "");
    if (R->r.reps) {
        k += (size_t)snprintf(buf + k, len - k, ",coupling,ensemble_loss,ensemble_error,mean_replica_error");
        for (int a = 0; a < ent_replicas_count(R->r.reps) && k < len; a++)
            k += (size_t)snprintf(buf + k, len - k, ",replica_%d_error", a);
    }
    if (k < len) snprintf(buf + k, len - k, "\n");
}

/* Whether the first line of data[0..len) holds `what`. */
static int header_has(const char *data, size_t len, const char *what) {
    const size_t k = strlen(what);
    for (size_t i = 0; i + k <= len && data[i] != '\n'; i++)
        if (memcmp(data + i, what, k) == 0) return 1;
    return 0;
}

/* A metrics.csv of a run started before train_loss_x existed, as it
 * would be now: the column after gamma (the 10th), nan in the old rows, so
 * the rows a resumed run appends line up with the header. */
static char *add_loss_x_column(const char *data, size_t len, size_t *out_len) {
    char *out = malloc(len + 16 * (len / 10 + 2)), *o = out; /* a row has 10 fields of >= 1 byte */
    if (!out) return NULL;
    for (size_t i = 0, line = 0; i < len; line++) {
        size_t j = i, commas = 0;
        while (j < len && data[j] != '\n' && (data[j] != ',' || ++commas < 10)) j++;
        memcpy(o, data + i, j - i), o += j - i;
        const char *add = line == 0 ? ",train_loss_x" : ",nan";
        memcpy(o, add, strlen(add)), o += strlen(add);
        size_t e = j;
        while (e < len && data[e] != '\n') e++;
        if (e < len) e++;
        memcpy(o, data + j, e - j), o += e - j;
        i = e;
    }
    *out_len = (size_t)(o - out);
    return out;
}

/* On resume, keep only the rows up to the checkpoint's step. */
static ent_status metrics_prepare(ent_run *R) {
    if (!R->r.cfg->resume) {
        char head[8192];
        metrics_header(R, head, sizeof head);
        return ent_write_file_atomic(R->metrics_path, head, strlen(head));
    }
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
    const int old = keep > 0 && !header_has(data, keep, ",train_loss_x");
    size_t n = keep;
    char *text = old ? add_loss_x_column(data, keep, &n) : data;
    s = text ? ent_write_file_atomic(R->metrics_path, text, n) : ent_fail(ENT_ENOMEM, "metrics.csv: out of memory");
    if (text != data) free(text);
    free(data);
    return s;
}

typedef struct {
    double train_loss, train_loss_x, test_loss, test_err, val_loss, val_err, lr, ens_loss, ens_err;
} eval_row;

static ent_status metrics_append(ent_run *R, const eval_row *e) {
    FILE *f = fopen(R->metrics_path, "a");
    if (!f) return ent_fail(ENT_EIO, "%s: cannot append: %s", R->metrics_path, strerror(errno));
    double eff = effective_epoch(R, R->r.step);
    fprintf(f, "%.6f,%.6f,%lld,%.6f,%.6f,%.6f,%.3f,%lld,%.6g,%.6g,%.6f", eff / ent_optim_batches_per_step(lead_optim(R)),
            eff, (long long)R->r.step, e->train_loss, e->test_loss, e->test_err, R->r.wall_seconds,
            (long long)R->r.grad_evals, e->lr, ent_optim_gamma(lead_optim(R)), e->train_loss_x);
    if (R->val || R->text) fprintf(f, ",%.6f,%.6f", e->val_loss, e->val_err);
    if (R->text) fprintf(f, ",%.6f,%.6f", exp(e->test_loss), exp(e->val_loss));
    if (R->text && ent_vocab_kind_of(R->text->c.vocab) == ENT_VOCAB_CHARS)
        fprintf(f, ",%.6f,%.6f", e->test_loss / log(2.0), e->val_loss / log(2.0));
    if (R->r.reps) {
        const int y = ent_replicas_count(R->r.reps);
        double mean = 0.0;
        for (int a = 0; a < y; a++) mean += R->rep_err[a] / y;
        fprintf(f, ",%.6g,%.6f,%.6f,%.6f", ent_replicas_coupling(R->r.reps, eff), e->ens_loss, e->ens_err, mean);
        for (int a = 0; a < y; a++) fprintf(f, ",%.6f", R->rep_err[a]);
    }
    fputc('\n', f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ent_fail(ENT_EIO, "%s: write failed", R->metrics_path);
    return ENT_OK;
}

static void progress(ent_run *R, double loss, int force) {
    if (!R->r.cfg->progress) return;
    double now = ent_time_seconds();
    if (!force && now - R->last_print < (R->tty ? 0.25 : 15.0)) return;
    R->last_print = now;
    double el = now - R->session_start;
    int64_t done = R->r.step - R->step_at_start;
    double rate = el > 0 ? (double)done / el : 0;
    /* samples, or for token runs tokens (T per sample), per second */
    double sps = rate * R->grads_per_step * (double)R->r.cfg->batch * (R->text ? (double)R->text->steps : 1.0);
    double eta = rate > 0 ? (double)(R->total_steps - R->r.step) / rate : 0;
    char ppl[32] = "";
    if (R->text) snprintf(ppl, sizeof ppl, " (ppl %.2f)", exp(loss));
    fprintf(stderr, "%s[%s] eff.epoch %.2f/%.4g  step %lld/%lld  loss %.4f%s  %.0f %s/s  ETA %dm%02ds%s",
            R->tty ? "\r\033[K" : "", ent_optim_kind_name(R->r.cfg->optim.kind),
            effective_epoch(R, R->r.step), R->r.cfg->epochs, (long long)R->r.step,
            (long long)R->total_steps, loss, ppl, sps, R->text ? "tokens" : "samples", (int)eta / 60, (int)eta % 60,
            R->tty ? "" : "\n");
    fflush(stderr);
}

/* --bn-reestimate: the statistics of what is evaluated and saved as the
 * model (the weights, or the replicas' centre), from the same batches at
 * every evaluation. They replace the running buffers, so the checkpoint
 * holds what was evaluated and a resumed run goes on from the same ones.
 * Every rank does it alike (the same batches), so ranks stay equal. */
static ent_status reestimate_bn(ent_run *R) {
    if (R->bn_batches == 0) return ENT_OK;
    const uint64_t start[2] = {0, 0};
    R->bn_src.ops->seek(R->bn_src.ctx, start);
    return ent_model_bn_reestimate(R->r.model, R->r.theta, R->r.buffers, &R->bn_src, R->bn_batches);
}

/* Replica methods: centre, averaged buffers, replica and ensemble errors,
 * the training loss over every replica (collective). */
static ent_status evaluate_replicas(ent_run *R, eval_row *e, double sums[3]) {
    ent_status s = ent_replicas_sync(R->r.reps);
    if (s == ENT_OK) s = ent_replica_average_buffers(&R->r);
    if (s == ENT_OK) s = reestimate_bn(R);
    if (s == ENT_OK && R->text) { /* the centre's perplexity only: no ensemble of sequence models yet */
        e->ens_loss = e->ens_err = NAN;
        for (int a = 0; a < ent_replicas_count(R->r.reps); a++) R->rep_err[a] = NAN;
    } else if (s == ENT_OK) {
        s = ent_replica_evaluate(&R->r, R->test, R->probs, R->rep_err, &e->ens_loss, &e->ens_err);
    }
    if (s == ENT_OK) s = ent_dist_allreduce_sum_f64(sums, 3);
    return s;
}

static ent_status save_config(ent_run *R) {
    char cfg_path[600];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", R->r.cfg->out_dir);
    R->config_pending = 0;
    return ent_train_config_save(R->r.cfg, &R->r.model_opts, R->val_idx, cfg_path);
}

static ent_status evaluate(ent_run *R, double lr) {
    ent_run_state *r = &R->r;
    eval_row e = {.lr = lr, .val_loss = NAN, .val_err = NAN};
    double sums[3] = {R->interval_loss, (double)R->interval_steps, R->interval_loss_x};
    ent_status s = r->reps ? evaluate_replicas(R, &e, sums) : reestimate_bn(R);
    if (s == ENT_OK && r->rank == 0 && R->text) {
        s = ent_run_text_evaluate(R, R->text->c.test, &e.test_loss, &e.test_err);
        if (s == ENT_OK) s = ent_run_text_evaluate(R, R->text->c.valid, &e.val_loss, &e.val_err);
    } else if (s == ENT_OK && r->rank == 0) {
        s = ent_model_evaluate(r->model, r->theta, r->buffers, R->test, &e.test_loss, &e.test_err);
    }
    if (s == ENT_OK && r->rank == 0 && R->val)
        s = ent_model_evaluate(r->model, r->theta, r->buffers, R->val, &e.val_loss, &e.val_err);
    if (s != ENT_OK) return s;
    e.train_loss = sums[1] > 0 ? sums[0] / sums[1] : NAN;
    e.train_loss_x = sums[1] > 0 ? sums[2] / sums[1] : NAN;
    R->interval_loss = R->interval_loss_x = 0;
    R->interval_steps = 0;
    r->wall_seconds = R->wall_at_start + ent_time_seconds() - R->session_start;
    char kept[700];
    if (r->rank == 0 && (!isfinite(e.test_loss) || !ent_vec_all_finite(r->theta, ent_model_n_param(r->model))))
        return ent_fail(ENT_EDIVERGED, "the weights or the test loss became non-finite at step %lld (effective "
                        "epoch %.2f); %s", (long long)r->step, effective_epoch(R, r->step),
                        kept_checkpoint(R, kept, sizeof kept));
    if (r->rank == 0) s = metrics_append(R, &e);
    if (s == ENT_OK) s = ent_checkpoint_save(R->ckpt_path, r);
    if (s == ENT_OK) R->have_ckpt = 1;
    if (s == ENT_OK && r->rank == 0 && R->config_pending) s = save_config(R);
    const ent_eval_point at = {effective_epoch(R, r->step), r->step, e.test_loss, e.test_err, e.val_loss, e.val_err};
    if (s == ENT_OK && r->rank == 0) s = ent_keep_after_eval(R, &at);
    if (r->cfg->progress) {
        if (R->tty) fprintf(stderr, "\r\033[K");
        printf("eff.epoch %7.2f  step %7lld  train_loss %.4f  test_loss %.4f", effective_epoch(R, r->step),
               (long long)r->step, e.train_loss, e.test_loss);
        if (R->text) printf("  test_ppl %8.3f  val_ppl %8.3f", exp(e.test_loss), exp(e.val_loss));
        else printf("  test_error %6.2f%%", 100 * e.test_err);
        if (R->text && ent_vocab_kind_of(R->text->c.vocab) == ENT_VOCAB_CHARS) printf("  val_bpc %.4f", e.val_loss / log(2.0));
        if (R->val) printf("  val_error %6.2f%%", 100 * e.val_err);
        if (r->reps) printf("  ensemble %6.2f%%", 100 * e.ens_err);
        printf("  %.1fs\n", r->wall_seconds);
        fflush(stdout);
    }
    return s;
}

/* Evaluate at the first update that reaches each multiple of eval_every
 * effective epochs (Entropy-SGD's updates do not fall on epoch
 * boundaries: with L = 20 an epoch of 469 batches is 23.45 updates). */
static int eval_due(const ent_run *R) {
    double e = R->r.cfg->eval_every;
    double now = floor(effective_epoch(R, R->r.step) / e + 1e-9);
    double before = floor(effective_epoch(R, R->r.step - 1) / e + 1e-9);
    return now > before;
}

/* f at the weights the step started from, on its first batch (NAN where
 * the step did not compute it); replica methods: the mean over the local
 * replicas, each at its own weights. */
static double loss_at_x(const ent_run *R) {
    if (!R->r.reps) return ent_optim_loss_at_x(R->r.optim);
    const int n = ent_replicas_local(R->r.reps);
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += ent_optim_loss_at_x(ent_replicas_optim(R->r.reps, i));
    return sum / n;
}

static ent_status loop(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_run_state *r = &R->r;
    double lr = c->optim.lr;
    while (r->step < R->total_steps) {
        double eff = effective_epoch(R, r->step), scale = lr_scale_at(c, eff), loss = 0;
        lr = c->optim.lr * scale;
        ent_status s = r->reps ? ent_replicas_step(r->reps, R->objs, scale, eff, &loss)
                               : ent_optim_step(r->optim, &R->obj, r->theta, scale, &loss);
        if (s != ENT_OK) return s;
        char kept[700];
        if (!isfinite(loss))
            return ent_fail(ENT_EDIVERGED, "the training loss became %g at step %lld (effective epoch %.2f); %s",
                            loss, (long long)r->step, eff, kept_checkpoint(R, kept, sizeof kept));
        r->step++;
        r->grad_evals += R->grads_per_step;
        R->interval_loss += loss;
        R->interval_loss_x += loss_at_x(R);
        R->interval_steps++;
        progress(R, loss, 0);
        if (eval_due(R) || r->step == R->total_steps) {
            s = evaluate(R, lr);
            if (s != ENT_OK) return s;
        }
        ENT_FAULT_POINT("step");
    }
    return ENT_OK;
}

/* Weights of --init-from: the model's, or every replica's (then the centre). */
static ent_status init_from(ent_run *R) {
    ent_run_state *r = &R->r;
    const char *path = r->cfg->init_from;
    if (!r->reps) return ent_checkpoint_load_weights(path, r->model, r->theta, r->buffers);
    ent_status s = ENT_OK;
    for (int i = 0; s == ENT_OK && i < r->n_workers; i++)
        s = ent_checkpoint_load_weights(path, r->w[i].model, ent_replicas_theta(r->reps, i), r->w[i].buffers);
    return s;
}

/* A kill during an atomic write leaves NAME.tmp beside NAME; the next
 * write would replace it, but until then it only takes space. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        static const char *const ours[] = {".safetensors.tmp", ".json.tmp", ".csv.tmp"};
        size_t n = strlen(e->d_name), k = 0;
        while (k < 3 && (n < strlen(ours[k]) || strcmp(e->d_name + n - strlen(ours[k]), ours[k]) != 0)) k++;
        if (k == 3) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static ent_status start_in(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_run_state *r = &R->r;
    ent_status s = r->rank == 0 ? ent_run_make_dir(c->out_dir) : ENT_OK;
    if (s != ENT_OK) return s;
    snprintf(R->ckpt_path, sizeof R->ckpt_path, "%s/checkpoint.safetensors", c->out_dir);
    snprintf(R->metrics_path, sizeof R->metrics_path, "%s/metrics.csv", c->out_dir);
    if (r->rank == 0) remove_stale_temps(c->out_dir);
    if (c->resume && access(R->ckpt_path, F_OK) != 0 && errno == ENOENT)
        return ent_fail(ENT_ENOENT, "%s: no checkpoint to resume from: the run stopped before its first evaluation "
                        "wrote one; start it again (the same command with --force instead of --resume)",
                        R->ckpt_path);
    if (c->resume) s = ent_checkpoint_resume(R->ckpt_path, r);
    else if (c->init_from[0]) s = init_from(R);
    R->have_ckpt = c->resume && s == ENT_OK;
    if (s == ENT_OK && r->reps) { /* the centre: a fresh mean, or the checkpoint's explicit one */
        s = c->resume ? ent_replicas_sync(r->reps) : ent_replicas_start(r->reps);
        if (s == ENT_OK) s = ent_replica_average_buffers(r);
    }
    if (s != ENT_OK || r->rank != 0) return s;
    char cfg_path[600];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", c->out_dir);
    if (c->resume) s = ent_keep_check_split(R, cfg_path);
    /* A resumed run's settings replace config.json's with its first
     * checkpoint, so a session that diverges (--resume --lr 1e6) leaves
     * the settings of the checkpoint it left behind. */
    if (s == ENT_OK && c->resume) R->config_pending = 1;
    else if (s == ENT_OK) s = ent_train_config_save(c, &r->model_opts, R->val_idx, cfg_path);
    if (s == ENT_OK) s = metrics_prepare(R);
    if (s == ENT_OK && c->resume) s = ent_keep_resume(R);
    return s;
}

/* A start that fails takes back the run directory it made (with the files
 * it wrote there), so a failed --init-from leaves nothing behind; one that
 * existed before is left as it was found. */
static void undo_start(const ent_train_config *c) {
    static const char *const files[] = {"config.json", "metrics.csv", ENT_ZCA_FILE};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", c->out_dir, files[i]);
        unlink(path);
    }
    rmdir(c->out_dir); /* only if nothing else is in it */
}



/* Fill in what the configuration leaves to the run: the number of
 * replicas (the checkpoint's on resume, else one per rank under mpirun,
 * else 4), and check that they split evenly over the ranks. */
static ent_status resolve(ent_run *R) {
    ent_optim_params *o = &R->cfg.optim;
    const int ranks = R->r.ranks;
    if (!ent_optim_kind_is_replica(o->kind)) return ENT_OK;
    if (o->replicas == 0 && R->cfg.resume) {
        char path[600];
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", R->cfg.out_dir);
        o->replicas = ent_checkpoint_replicas(path);
    }
    if (o->replicas == 0) o->replicas = ranks > 1 ? ranks : 4;
    if (o->replicas % ranks != 0)
        return ent_fail(ENT_EUSAGE, "--replicas %d does not split over %d MPI ranks (use a multiple of %d)",
                        o->replicas, ranks, ranks);
    return ent_optim_params_check(o);
}

static void announce(const ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    printf("%s on %s: %lld parameters, %s, %lld updates of %d batch(es) of %lld = %.4g effective epochs",
           c->model, c->dataset, (long long)ent_model_n_param(R->r.model), ent_optim_kind_name(c->optim.kind),
           (long long)R->total_steps, R->batches_per_step, (long long)c->batch, c->epochs);
    if (R->r.reps) printf(", %d replicas", c->optim.replicas);
    if (R->r.ranks > 1) printf(", %d MPI ranks", R->r.ranks);
    printf("\n");
}

ent_status ent_train_run(const ent_train_config *c) {
    ent_status s = ent_train_config_check(c);
    if (s != ENT_OK) return s;
    /* Threads 0 = all cores, shared by the ranks on this machine. */
    int threads = c->threads, local = ent_dist_env_local_size();
    if (threads == 0 && local > 1) threads = omp_get_num_procs() / local > 1 ? omp_get_num_procs() / local : 1;
    ent_set_threads(threads);
    ent_run R;
    memset(&R, 0, sizeof R);
    R.cfg = *c;
    R.r.cfg = &R.cfg;
    R.r.rank = ent_dist_rank();
    R.r.ranks = ent_dist_size();
    R.cfg.progress = c->progress && R.r.rank == 0;
    R.tty = isatty(2);
    struct stat st; /* a start that fails takes back the directory it made */
    const int made = R.r.rank == 0 && stat(R.cfg.out_dir, &st) != 0;
    s = resolve(&R);
    if (s == ENT_OK) s = ent_train_build(&R);
    if (s == ENT_OK) s = start_in(&R);
    if (s != ENT_OK && made) undo_start(&R.cfg);
    if (s == ENT_OK) {
        R.session_start = ent_time_seconds();
        R.wall_at_start = R.r.wall_seconds;
        R.step_at_start = R.r.step;
        if (R.cfg.progress) announce(&R);
        s = loop(&R);
        if (R.tty && R.cfg.progress) fprintf(stderr, "\r\033[K");
        if (s == ENT_OK && R.r.rank == 0) s = ent_keep_summary(&R);
    }
    ent_train_cleanup(&R);
    return s;
}
