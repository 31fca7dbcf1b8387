/* checkpoint.c — model weights (+ optimizer and run state) in safetensors.
 * Model tensors keep their PyTorch state_dict names and layouts; optimizer
 * vectors go under "optim."; integers of the run state are metadata strings.
 * Data-parallel runs (K ranks) add each rank's data streams as "rankK.*";
 * token runs their vocabulary (metadata entropic.vocab, JSON) and the
 * carried recurrent state (data.state, not part of the state_dict);
 * replica methods save the centre as the model and every replica under
 * "replica.A." (checkpoint_replicas.c). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* Weights and statistics a run can use: a NaN or an infinity would only
 * show later, as a normal-looking error rate, a NaN eigenvalue or a
 * "divergence" after the first step; a running variance or a batch count
 * below zero is no statistic at all. */
static ent_status check_values(const char *path, const ent_tensor_info *t, const float *v) {
    const size_t len = strlen(t->name), tail = strlen("running_var");
    const int nonneg = t->is_int64 || (len >= tail && strcmp(t->name + len - tail, "running_var") == 0);
    for (int64_t k = 0; k < t->numel; k++) {
        if (!isfinite(v[k]))
            return ent_fail(ENT_EFORMAT, "%s: tensor '%s' holds %g at element %lld (weights and statistics must "
                            "be finite)", path, t->name, (double)v[k], (long long)k);
        if (nonneg && v[k] < 0)
            return ent_fail(ENT_EFORMAT, "%s: tensor '%s' holds %g at element %lld (must be >= 0)", path, t->name,
                            (double)v[k], (long long)k);
    }
    return ENT_OK;
}

/* Copy one table of tensors from the file into vec, checking shapes and values. */
static ent_status load_table(const ent_st_file *f, const char *path,
                             const ent_tensor_info *t, int count, float *vec) {
    for (int i = 0; i < count; i++) {
        int ndim;
        int64_t shape[4];
        if (!ent_st_find(f, t[i].name, &ndim, shape))
            return ent_fail(ENT_EFORMAT, "%s: tensor '%s' is missing", path, t[i].name);
        int same = ndim == t[i].ndim;
        for (int d = 0; same && d < ndim; d++) same = shape[d] == t[i].shape[d];
        if (!same) {
            char got[96], want[96];
            shape_str(got, sizeof got, ndim, shape);
            shape_str(want, sizeof want, t[i].ndim, t[i].shape);
            return ent_fail(ENT_ESHAPE, "%s: tensor '%s' has shape %s, the model expects %s",
                            path, t[i].name, got, want);
        }
        ent_status s = ent_st_get(f, t[i].name, vec + t[i].offset, t[i].numel);
        if (s == ENT_OK) s = check_values(path, &t[i], vec + t[i].offset);
        if (s != ENT_OK) return s;
    }
    return ENT_OK;
}

ent_status ent_checkpoint_read_weights(const ent_st_file *f, const char *path,
                                       const ent_model *m, float *theta,
                                       float *buffers) {
    int np, nb;
    const ent_tensor_info *p = ent_model_params(m, &np);
    const ent_tensor_info *b = ent_model_buffers(m, &nb);
    ent_status s = load_table(f, path, p, np, theta);
    if (s == ENT_OK) s = load_table(f, path, b, nb, buffers);
    return s;
}

ent_status ent_checkpoint_load_weights(const char *path, const ent_model *m,
                                       float *theta, float *buffers) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    if (s == ENT_OK) s = ent_checkpoint_read_weights(f, path, m, theta, buffers);
    ent_st_file_free(f);
    return s;
}

/* ---- writing ---- */

/* The data streams of one worker: the data edge's position and the
 * dropout stream. */
static void stream_state(const ent_worker *w, uint64_t out[4]) {
    const ent_batches *b = ent_netobj_batches(w->obj);
    const ent_rng *dr = ent_netobj_dropout_rng(w->obj);
    b->ops->tell(b->ctx, out);
    out[2] = dr->key, out[3] = dr->counter;
}

static const char *const STREAM_KEYS[4] = {"sampler_epoch", "sampler_pos", "dropout_rng_key", "dropout_rng_counter"};

/* Single-vector optimizers: optimizer state, and every rank's streams. */
static ent_status add_single(ent_ckb *b, const ent_run_state *r) {
    ent_state_vec vecs[16];
    int nv = ent_optim_state_vectors(r->optim, vecs, 16);
    char key[96];
    for (int i = 0; i < nv && i < 16; i++) {
        snprintf(key, sizeof key, "optim.%s", vecs[i].name);
        ent_ckb_vec(b, key, vecs[i].data, vecs[i].n);
    }
    ent_state_u64 sc[16];
    int ns = ent_optim_state_scalars(r->optim, sc, 16);
    for (int i = 0; i < ns && i < 16; i++) {
        snprintf(key, sizeof key, "optim.%s", sc[i].name);
        ent_ckb_meta_u64(b, key, sc[i].value);
    }
    uint64_t mine[4], *all = ent_ckb_keep(b, calloc((size_t)r->ranks * 4, sizeof *all));
    if (!all) return ent_fail(ENT_ENOMEM, "checkpoint: out of memory");
    stream_state(&r->w[0], mine);
    ent_status s = ent_dist_gather(mine, all, (int64_t)sizeof mine);
    for (int k = 0; s == ENT_OK && k < r->ranks; k++)
        for (int j = 0; j < 4; j++) {
            if (k == 0) snprintf(key, sizeof key, "run.%s", STREAM_KEYS[j]);
            else snprintf(key, sizeof key, "rank%d.%s", k, STREAM_KEYS[j]);
            ent_ckb_meta_u64(b, key, all[4 * k + j]);
        }
    if (r->ranks > 1) ent_ckb_meta_u64(b, "dist.ranks", (uint64_t)r->ranks);
    int64_t S = 0; /* token runs: the carried state the next batch starts from (one process) */
    const float *state = ent_netobj_state(r->w[0].obj, &S);
    if (S > 0) ent_ckb_vec(b, "data.state", state, S);
    return s;
}

ent_status ent_checkpoint_save(const char *path, const ent_run_state *r) {
    int np, nb;
    const ent_tensor_info *p = ent_model_params(r->model, &np);
    const ent_tensor_info *bt = ent_model_buffers(r->model, &nb);
    ent_ckb b = {0};
    for (int i = 0; i < np; i++) ent_ckb_tensor(&b, p[i].name, &p[i], r->theta);
    for (int i = 0; i < nb; i++) ent_ckb_tensor(&b, bt[i].name, &bt[i], r->buffers);
    /* "format": "pt" as safetensors.torch writes it (tools that check it
     * load the file as a state_dict); our own layout has its version. */
    ent_ckb_meta(&b, "format", "pt");
    ent_ckb_meta(&b, "entropic.format_version", "1");
    ent_ckb_meta(&b, "model", ent_model_preset(r->model));
    ent_json net;
    ent_json_init(&net); /* the network itself: the file loads without its preset or file */
    ent_net_write_json(ent_model_net(r->model), &net);
    if (net.failed) b.failed = 1; /* out of memory: a checkpoint without its network would load only by preset */
    ent_ckb_meta(&b, "entropic.network", net.failed ? "" : net.buf);
    ent_json_free(&net);
    ent_ckb_meta(&b, "dataset", r->cfg->dataset);
    if (r->vocab) { /* token runs: sample and eval need nothing else */
        char *v = ent_ckb_keep(&b, ent_vocab_to_json(r->vocab));
        ent_ckb_meta(&b, "entropic.vocab", v ? v : "");
        ent_ckb_meta_u64(&b, "data.bptt", (uint64_t)ent_model_positions(r->model));
        ent_ckb_meta_u64(&b, "data.batch", (uint64_t)r->cfg->batch); /* eval's streams, as the run's */
    }
    ent_ckb_meta(&b, "data.preprocess", r->cfg->preprocess == ENT_PREPROCESS_GCN_ZCA ? "gcn-zca" : "none");
    ent_ckb_meta(&b, "optimizer", ent_optim_kind_name(r->cfg->optim.kind));
    if (r->cfg->optim.kind == ENT_OPTIM_ADAM || r->cfg->optim.kind == ENT_OPTIM_ADAMW) {
        /* the moments' bias corrections need them (hessian --fisher-from adam) */
        ent_ckb_meta_f64(&b, "optim.beta1", r->cfg->optim.beta1);
        ent_ckb_meta_f64(&b, "optim.beta2", r->cfg->optim.beta2);
    }
    ent_ckb_meta_f32(&b, "model.dropout", r->model_opts.dropout);
    ent_ckb_meta_f32(&b, "model.input_dropout", r->model_opts.input_dropout);
    ent_ckb_meta_f32(&b, "model.bn_momentum", r->model_opts.bn_momentum);
    ent_ckb_meta_f32(&b, "model.bn_eps", r->model_opts.bn_eps);
    ent_ckb_meta_u64(&b, "run.step", (uint64_t)r->step);
    ent_ckb_meta_u64(&b, "run.grad_evals", (uint64_t)r->grad_evals);
    ent_ckb_meta_f64(&b, "run.wall_seconds", r->wall_seconds);
    ent_status s = r->reps ? ent_checkpoint_add_replicas(&b, r) : add_single(&b, r);
    if (s == ENT_OK && r->rank == 0) s = ent_ckb_write(&b, path);
    ent_ckb_free(&b);
    return s;
}

/* ---- resuming ---- */

static ent_status resume_single(const ent_st_file *f, const char *path, ent_run_state *r) {
    ent_status s = ENT_OK;
    ent_state_vec vecs[16];
    int nv = ent_optim_state_vectors(r->optim, vecs, 16);
    char key[96];
    for (int i = 0; s == ENT_OK && i < nv; i++) {
        snprintf(key, sizeof key, "optim.%s", vecs[i].name);
        s = ent_ckb_get_vec(f, path, key, vecs[i].data, vecs[i].n);
    }
    ent_state_u64 sc[16];
    int ns = ent_optim_state_scalars(r->optim, sc, 16);
    for (int i = 0; s == ENT_OK && i < ns; i++) {
        uint64_t v = 0;
        snprintf(key, sizeof key, "optim.%s", sc[i].name);
        s = ent_ckb_get_u64(f, path, key, &v);
        if (s == ENT_OK) s = ent_optim_set_scalar(r->optim, sc[i].name, v);
    }
    uint64_t ranks = 1, st[4] = {0};
    if (s == ENT_OK && ent_st_meta(f, "dist.ranks")) s = ent_ckb_get_u64(f, path, "dist.ranks", &ranks);
    if (s == ENT_OK && ranks != (uint64_t)r->ranks)
        return ent_fail(ENT_EUSAGE, "%s: a data-parallel run of %llu process(es) resumes exactly only with as many "
                        "(this one has %d)", path, (unsigned long long)ranks, r->ranks);
    for (int j = 0; s == ENT_OK && j < 4; j++) {
        if (r->rank == 0) snprintf(key, sizeof key, "run.%s", STREAM_KEYS[j]);
        else snprintf(key, sizeof key, "rank%d.%s", r->rank, STREAM_KEYS[j]);
        s = j < 2 ? ent_ckb_get_count(f, path, key, ENT_CKPT_MAX_COUNT, &st[j]) : ent_ckb_get_u64(f, path, key, &st[j]);
    }
    int64_t S = 0;
    float *state = ent_netobj_state(r->w[0].obj, &S);
    if (s == ENT_OK && S > 0) s = ent_ckb_get_vec(f, path, "data.state", state, S);
    if (s != ENT_OK) return s;
    r->batches->ops->seek(r->batches->ctx, st);
    r->dropout_rng->key = st[2];
    r->dropout_rng->counter = st[3];
    return ENT_OK;
}

ent_status ent_checkpoint_check_vocab(const ent_st_file *f, const char *path, const ent_vocab *v) {
    const char *saved = ent_st_meta(f, "entropic.vocab");
    char *ours = ent_vocab_to_json(v);
    ent_status s = ENT_OK;
    if (!ours) s = ent_fail(ENT_ENOMEM, "out of memory");
    else if (!saved || strcmp(saved, ours) != 0)
        s = ent_fail(ENT_EFORMAT, "%s: %s; the checkpoint's tokens would mean other tokens of this data", path,
                     saved ? "its vocabulary is not the one of this data" : "it holds no vocabulary (not a token model)");
    free(ours);
    return s;
}

ent_status ent_checkpoint_resume(const char *path, ent_run_state *r) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    if (s != ENT_OK) return s;
    const char *model = ent_st_meta(f, "model");
    const char *opt = ent_st_meta(f, "optimizer");
    const char *want = ent_optim_kind_name(r->cfg->optim.kind);
    if (!model || strcmp(model, ent_model_preset(r->model)) != 0)
        s = ent_fail(ENT_ESHAPE, "%s: checkpoint of model '%s', the run uses '%s'", path,
                     model ? model : "?", ent_model_preset(r->model));
    else if (opt && strcmp(opt, want) != 0 && (r->reps || ent_optim_kind_is_replica(r->cfg->optim.kind) ||
                                               ent_st_meta(f, "replicas")))
        s = ent_fail(ENT_EUSAGE, "%s: checkpoint of optimizer '%s', the run uses '%s'", path, opt, want);
    if (s == ENT_OK && r->vocab) s = ent_checkpoint_check_vocab(f, path, r->vocab);
    if (s == ENT_OK) s = ent_checkpoint_read_weights(f, path, r->model, r->theta, r->buffers);
    if (s == ENT_OK) s = r->reps ? ent_checkpoint_resume_replicas(f, path, r) : resume_single(f, path, r);
    uint64_t step = 0, evals = 0;
    double wall = 0.0;
    if (s == ENT_OK) s = ent_ckb_get_count(f, path, "run.step", ENT_CKPT_MAX_COUNT, &step);
    if (s == ENT_OK) s = ent_ckb_get_count(f, path, "run.grad_evals", ENT_CKPT_MAX_COUNT, &evals);
    if (s == ENT_OK && ent_st_meta(f, "run.wall_seconds"))
        s = ent_ckb_get_number(f, path, "run.wall_seconds", 0.0, 1e15, &wall);
    if (s == ENT_OK) {
        r->wall_seconds = wall;
        r->step = (int64_t)step;
        r->grad_evals = (int64_t)evals;
    }
    ent_st_file_free(f);
    return s;
}

int ent_checkpoint_replicas(const char *path) {
    ent_st_file *f = NULL;
    if (ent_safetensors_read(&f, path) != ENT_OK) return 0;
    uint64_t y = 0; /* 0 when absent or out of range: the resume then reports it */
    if (!ent_st_meta(f, "replicas") || ent_ckb_get_count(f, path, "replicas", ENT_MAX_REPLICAS, &y) != ENT_OK) y = 0;
    ent_st_file_free(f);
    return (int)y;
}
