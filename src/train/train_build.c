/* train_build.c — building a run: the workers (one model, buffers and
 * network objective each), the optimizer or the replicas, and the initial
 * weights. Seeds: the model's initial weights come from --seed (replicas:
 * replica a from ent_replica_seed(seed, a), or all from seed with
 * same_init); worker data streams (sampler, dropout) from the seed of its
 * replica, or under data-parallel MPI of its rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_internal.h"
#include "train/train_run.h"

/* --val-split N: N training samples (after --train-subset) held out, picked
 * by --seed; the training sampler is built on the rest. */
static ent_status hold_out(ent_run *R) {
    const int64_t n = R->r.cfg->val_split;
    if (n >= R->train->n)
        return ent_fail(ENT_EUSAGE, "--val-split %lld must be below the %lld training samples, or none would be left "
                        "to train on", (long long)n, (long long)R->train->n);
    R->val_idx = malloc((size_t)n * sizeof *R->val_idx);
    if (!R->val_idx) return ent_fail(ENT_ENOMEM, "out of memory for the validation split");
    return ent_dataset_hold_out(R->train, n, R->r.cfg->seed, &R->val, R->val_idx);
}

/* --preprocess gcn-zca: fitted on the training split (what is left of it
 * after --val-split), applied to every split; the fit is kept in the run
 * directory, so --resume reads it back rather than fitting again. */
static ent_status whiten(ent_run *R) {
    char cache[600];
    snprintf(cache, sizeof cache, "%s/%s", R->r.cfg->out_dir, ENT_ZCA_FILE);
    ent_dataset *others[2] = {R->test, R->val};
    const int writer = R->r.rank == 0; /* the other ranks fit the same (rounded) transform */
    ent_status s = writer ? ent_run_make_dir(R->r.cfg->out_dir) : ENT_OK;
    if (s != ENT_OK) return s;
    return ent_gcn_zca_cached(R->train, others, R->val ? 2 : 1, ENT_ZCA_GCN_BIAS, ENT_ZCA_EPS,
                              writer ? cache : NULL);
}

static ent_status load_data(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    if (ent_train_config_is_text(c)) return ent_run_text_load(R);
    ent_data_source src;
    snprintf(src.name, sizeof src.name, "%s", c->dataset);
    snprintf(src.dir, sizeof src.dir, "%s", c->data_dir);
    snprintf(src.train_x, sizeof src.train_x, "%s", c->train_x);
    snprintf(src.train_y, sizeof src.train_y, "%s", c->train_y);
    snprintf(src.test_x, sizeof src.test_x, "%s", c->test_x);
    snprintf(src.test_y, sizeof src.test_y, "%s", c->test_y);
    ent_status s = ent_data_load(&R->train, &src, ENT_SPLIT_TRAIN);
    if (s == ENT_OK) s = ent_data_load(&R->test, &src, ENT_SPLIT_TEST);
    if (s != ENT_OK) return s;
    if (c->train_subset > 0 && c->train_subset < R->train->n) ent_dataset_truncate(R->train, c->train_subset);
    if (c->test_subset > 0 && c->test_subset < R->test->n) ent_dataset_truncate(R->test, c->test_subset);
    s = c->val_split > 0 ? hold_out(R) : ENT_OK;
    return s == ENT_OK && c->preprocess == ENT_PREPROCESS_GCN_ZCA ? whiten(R) : s;
}

/* Worker i: its own model (workspace), buffers and objective. */
static ent_status build_worker(ent_run *R, int i, uint64_t stream_seed) {
    const ent_train_config *c = R->r.cfg;
    ent_worker *w = &R->r.w[i];
    if (R->text) return ent_run_text_worker(R, w, stream_seed);
    int64_t max_batch = c->batch > ENT_EVAL_BATCH ? c->batch : ENT_EVAL_BATCH;
    ent_net *net = NULL;
    ent_status s = ent_net_named(&net, c->model_file[0] ? c->model_file : c->model, &c->model_opts,
                                 R->train->n_classes);
    if (s == ENT_OK)
        s = ent_model_new_net(&w->model, net, R->train->c, R->train->h, R->train->w,
                              R->train->n_classes, max_batch);
    ent_net_free(net);
    if (s != ENT_OK) return s;
    w->buffers = ent_alloc(sizeof(float) * (size_t)(ent_model_n_buffer(w->model) + 1));
    if (!w->buffers) return ent_fail(ENT_ENOMEM, "cannot allocate the batch-norm buffers");
    ent_batches src;
    s = ent_batches_images(&src, R->train, c->batch, stream_seed, &c->augment);
    return s == ENT_OK ? ent_netobj_new_batches(&w->obj, w->model, w->buffers, src, stream_seed) : s;
}

static ent_status build_single(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_run_state *r = &R->r;
    ent_status s = build_worker(R, 0, ent_replica_seed(c->seed, r->rank));
    if (s != ENT_OK) return s;
    int64_t P = ent_model_n_param(r->w[0].model);
    r->theta = ent_alloc(sizeof(float) * (size_t)P);
    if (!r->theta) return ent_fail(ENT_ENOMEM, "cannot allocate %lld parameters", (long long)P);
    r->buffers = r->w[0].buffers;
    ent_model_init_params(r->w[0].model, r->theta, r->buffers, c->seed);
    ent_optim_params op = c->optim;
    if (op.gamma_auto) { /* the automatic scope's growth is spread over the run's updates */
        const double updates = c->epochs * (double)R->steps_per_epoch / ((double)op.L * r->ranks);
        op.gamma_auto_updates = updates < 1.0 ? 1 : (int64_t)llround(updates);
    }
    s = ent_optim_new(&r->optim, &op, P, c->seed);
    R->batches_per_step = ent_optim_batches_per_step(r->optim) * r->ranks;
    R->grads_per_step = ent_optim_grads_per_step(r->optim) * r->ranks;
    return s;
}

/* The replicas of this process must fit in its machine's memory: known
 * from the first one (its workspace, weights, buffers and about four
 * vectors of optimizer state), refused before the others are built. */
static ent_status replicas_fit(const ent_run *R) {
    const ent_run_state *r = &R->r;
    const ent_model *m = r->w[0].model;
    const double one = (double)ent_model_workspace_bytes(m, 1) +
                       4.0 * (5.0 * (double)ent_model_n_param(m) + (double)ent_model_n_buffer(m));
    const double need = one * r->n_workers;
    const double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (have > 0 && need > have)
        return ent_fail(ENT_EUSAGE, "--replicas %d: %d replicas in this process need about %.3g GB (%.3g MB each), "
                        "more than this machine's %.3g GB of memory", R->r.cfg->optim.replicas, r->n_workers,
                        need / 1e9, one / 1e6, have / 1e9);
    return ENT_OK;
}

static ent_status build_replicas(ent_run *R) {
    const ent_train_config *c = R->r.cfg;
    ent_run_state *r = &R->r;
    const int y = c->optim.replicas, first = r->rank * r->n_workers;
    ent_status s = build_worker(R, 0, ent_replica_seed(c->seed, first));
    if (s == ENT_OK) s = replicas_fit(R);
    for (int i = 1; s == ENT_OK && i < r->n_workers; i++) s = build_worker(R, i, ent_replica_seed(c->seed, first + i));
    if (s != ENT_OK) return s;
    int64_t P = ent_model_n_param(r->w[0].model), B = ent_model_n_buffer(r->w[0].model);
    s = ent_replicas_new(&r->reps, &c->optim, P, r->n_workers, first, c->seed, c->epochs);
    if (s != ENT_OK) return s;
    for (int i = 0; i < r->n_workers; i++) {
        uint64_t seed = c->optim.same_init ? c->seed : ent_replica_seed(c->seed, first + i);
        ent_model_init_params(r->w[i].model, ent_replicas_theta(r->reps, i), r->w[i].buffers, seed);
    }
    r->theta = ent_replicas_center(r->reps);
    r->buffers = ent_alloc(sizeof(float) * (size_t)(B + 1));
    const int64_t classes = R->text ? ent_vocab_size(R->text->c.vocab) : R->train->n_classes;
    R->probs = ent_alloc(sizeof(float) * (size_t)(ENT_EVAL_BATCH * classes));
    R->rep_err = calloc((size_t)y, sizeof *R->rep_err);
    R->objs = calloc((size_t)r->n_workers, sizeof *R->objs);
    if (!r->buffers || !R->probs || !R->rep_err || !R->objs) return ent_fail(ENT_ENOMEM, "cannot allocate the replicas");
    R->clips = calloc((size_t)r->n_workers, sizeof *R->clips);
    if (!R->clips) return ent_fail(ENT_ENOMEM, "cannot allocate the replicas");
    for (int i = 0; i < r->n_workers; i++) {
        R->objs[i] = ent_netobj_objective(r->w[i].obj);
        if (c->clip_grad_norm > 0) R->objs[i] = ent_clip_gradients(&R->clips[i], R->objs[i], c->clip_grad_norm);
    }
    R->batches_per_step = ent_optim_batches_per_step(ent_replicas_optim(r->reps, 0));
    R->grads_per_step = ent_optim_grads_per_step(ent_replicas_optim(r->reps, 0)) * y;
    return ENT_OK;
}

ent_status ent_train_build(ent_run *R) {
    ent_run_state *r = &R->r;
    const ent_train_config *c = r->cfg;
    ent_status s = load_data(R);
    if (s != ENT_OK) return s;
    const int replica = ent_optim_kind_is_replica(c->optim.kind);
    r->n_workers = replica ? c->optim.replicas / r->ranks : 1;
    r->w = calloc((size_t)r->n_workers, sizeof *r->w);
    if (!r->w) return ent_fail(ENT_ENOMEM, "out of memory");
    R->steps_per_epoch = R->text ? (R->text->c.train->n / c->batch - 1) / R->text->steps
                                 : ent_batches_per_epoch(R->train->n, c->batch);
    s = replica ? build_replicas(R) : build_single(R);
    if (s != ENT_OK) return s;
    r->model = r->w[0].model;
    r->model_opts = ent_model_get_opts(r->model);
    r->batches = ent_netobj_batches(r->w[0].obj);
    r->vocab = R->text ? R->text->c.vocab : NULL;
    r->dropout_rng = ent_netobj_dropout_rng(r->w[0].obj);
    /* An update larger than the whole budget would still be made once
     * (--L 100 on 10 batches: 10 effective epochs for a budget of 1). */
    const double budget = c->epochs * (double)R->steps_per_epoch;
    if ((double)R->batches_per_step > budget * (1 + 1e-9))
        return ent_fail(ENT_EUSAGE, "one update uses %d mini-batches (--L and the ranks), more than the budget of "
                        "--epochs %g x %lld batches per epoch = %.4g; raise --epochs or lower --L", R->batches_per_step,
                        c->epochs, (long long)R->steps_per_epoch, budget);
    R->total_steps = (int64_t)llround(budget / R->batches_per_step);
    if (R->total_steps < 1) R->total_steps = 1;
    if (R->text && r->ranks > 1 && !replica)
        return ent_fail(ENT_EUSAGE, "sequence models train in one process, or as replicas under mpirun (one "
                        "per rank), not data-parallel: every rank would read the same streams");
    if (!replica && r->ranks > 1) R->obj = ent_dist_data_parallel(&R->dp, ent_netobj_objective(r->w[0].obj));
    else if (!replica) R->obj = ent_netobj_objective(r->w[0].obj);
    if (!replica && c->clip_grad_norm > 0) R->obj = ent_clip_gradients(&R->clip, R->obj, c->clip_grad_norm);
    return ENT_OK;
}

void ent_train_cleanup(ent_run *R) {
    ent_run_state *r = &R->r;
    for (int i = 0; r->w && i < r->n_workers; i++) {
        ent_netobj_free(r->w[i].obj);
        ent_free_aligned(r->w[i].buffers);
        ent_model_free(r->w[i].model);
    }
    free(r->w);
    ent_optim_free(r->optim);
    if (r->reps) ent_free_aligned(r->buffers); /* else it is w[0]'s */
    else ent_free_aligned(r->theta);          /* else it is the replicas' centre */
    ent_replicas_free(r->reps);
    ent_free_aligned(R->probs);
    free(R->rep_err);
    free(R->objs);
    free(R->clips);
    ent_dataset_free(R->train);
    ent_dataset_free(R->test);
    ent_dataset_free(R->val);
    ent_run_text_free(R->text);
    free(R->val_idx);
}
