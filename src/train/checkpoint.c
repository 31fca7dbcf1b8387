/* checkpoint.c — model weights (+ optimizer and run state) in safetensors.
 * Model tensors keep their PyTorch state_dict names and layouts; optimizer
 * vectors go under "optim."; integers of the run state are metadata strings. */
#include <inttypes.h>
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

/* Copy one table of tensors from the file into vec, checking shapes. */
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

#define MAX_META 48

typedef struct {
    const char *keys[MAX_META];
    const char *vals[MAX_META];
    char store[MAX_META][40];
    int n;
} meta_list;

static void meta_str(meta_list *ml, const char *k, const char *v) {
    if (ml->n >= MAX_META) return;
    ml->keys[ml->n] = k;
    ml->vals[ml->n++] = v;
}

static void meta_u64(meta_list *ml, const char *k, uint64_t v) {
    if (ml->n >= MAX_META) return;
    snprintf(ml->store[ml->n], sizeof ml->store[0], "%" PRIu64, v);
    meta_str(ml, k, ml->store[ml->n]);
}

static void meta_f64(meta_list *ml, const char *k, double v) {
    if (ml->n >= MAX_META) return;
    snprintf(ml->store[ml->n], sizeof ml->store[0], "%.17g", v);
    meta_str(ml, k, ml->store[ml->n]);
}

ent_status ent_checkpoint_save(const char *path, const ent_run_state *r) {
    int np, nb;
    const ent_tensor_info *p = ent_model_params(r->model, &np);
    const ent_tensor_info *b = ent_model_buffers(r->model, &nb);
    ent_state_vec vecs[16];
    int nv = ent_optim_state_vectors(r->optim, vecs, 16);
    ent_st_tensor t[ENT_MAX_TENSORS_CKPT];
    char names[16][64];
    int n = 0;
    for (int i = 0; i < np; i++)
        t[n++] = (ent_st_tensor){p[i].name, p[i].ndim, {p[i].shape[0], p[i].shape[1], p[i].shape[2], p[i].shape[3]}, r->theta + p[i].offset, 0};
    for (int i = 0; i < nb; i++)
        t[n++] = (ent_st_tensor){b[i].name, b[i].ndim, {b[i].shape[0], b[i].shape[1], b[i].shape[2], b[i].shape[3]}, r->buffers + b[i].offset, b[i].is_int64};
    for (int i = 0; i < nv && i < 16; i++) {
        snprintf(names[i], sizeof names[i], "optim.%s", vecs[i].name);
        t[n++] = (ent_st_tensor){names[i], 1, {vecs[i].n, 0, 0, 0}, vecs[i].data, 0};
    }
    meta_list ml = {.n = 0};
    meta_str(&ml, "format", "entropic-checkpoint-1");
    meta_str(&ml, "model", ent_model_preset(r->model));
    meta_str(&ml, "dataset", r->cfg->dataset);
    meta_str(&ml, "optimizer", ent_optim_kind_name(r->cfg->optim.kind));
    meta_f64(&ml, "model.dropout", r->model_opts.dropout);
    meta_f64(&ml, "model.input_dropout", r->model_opts.input_dropout);
    meta_f64(&ml, "model.bn_momentum", r->model_opts.bn_momentum);
    meta_f64(&ml, "model.bn_eps", r->model_opts.bn_eps);
    meta_u64(&ml, "run.step", (uint64_t)r->step);
    meta_u64(&ml, "run.grad_evals", (uint64_t)r->grad_evals);
    meta_f64(&ml, "run.wall_seconds", r->wall_seconds);
    meta_u64(&ml, "run.sampler_epoch", (uint64_t)r->sampler->epoch);
    meta_u64(&ml, "run.sampler_pos", (uint64_t)r->sampler->pos);
    meta_u64(&ml, "run.dropout_rng_key", r->dropout_rng->key);
    meta_u64(&ml, "run.dropout_rng_counter", r->dropout_rng->counter);
    ent_state_u64 sc[16];
    char keys[16][48];
    int ns = ent_optim_state_scalars(r->optim, sc, 16);
    for (int i = 0; i < ns && i < 16; i++) {
        snprintf(keys[i], sizeof keys[i], "optim.%s", sc[i].name);
        meta_u64(&ml, keys[i], sc[i].value);
    }
    return ent_safetensors_write(path, t, n, ml.keys, ml.vals, ml.n);
}

static ent_status meta_get_u64(const ent_st_file *f, const char *path,
                               const char *key, uint64_t *v) {
    const char *s = ent_st_meta(f, key);
    char *end = NULL;
    if (!s) return ent_fail(ENT_EFORMAT, "%s: metadata '%s' is missing", path, key);
    *v = strtoull(s, &end, 10);
    if (end == s || *end) return ent_fail(ENT_EFORMAT, "%s: metadata '%s' = '%s' is not an integer", path, key, s);
    return ENT_OK;
}

ent_status ent_checkpoint_resume(const char *path, ent_run_state *r) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    if (s != ENT_OK) return s;
    const char *model = ent_st_meta(f, "model");
    if (!model || strcmp(model, ent_model_preset(r->model)) != 0)
        s = ent_fail(ENT_ESHAPE, "%s: checkpoint of model '%s', the run uses '%s'", path,
                     model ? model : "?", ent_model_preset(r->model));
    if (s == ENT_OK) s = ent_checkpoint_read_weights(f, path, r->model, r->theta, r->buffers);
    ent_state_vec vecs[16];
    int nv = ent_optim_state_vectors(r->optim, vecs, 16);
    for (int i = 0; s == ENT_OK && i < nv; i++) {
        char name[64];
        snprintf(name, sizeof name, "optim.%s", vecs[i].name);
        int ndim;
        int64_t shape[4];
        if (!ent_st_find(f, name, &ndim, shape))
            s = ent_fail(ENT_EFORMAT, "%s: optimizer state '%s' is missing (another optimizer?)", path, name);
        else
            s = ent_st_get(f, name, vecs[i].data, vecs[i].n);
    }
    ent_state_u64 sc[16];
    int ns = ent_optim_state_scalars(r->optim, sc, 16);
    for (int i = 0; s == ENT_OK && i < ns; i++) {
        char key[64];
        uint64_t v = 0;
        snprintf(key, sizeof key, "optim.%s", sc[i].name);
        s = meta_get_u64(f, path, key, &v);
        if (s == ENT_OK) s = ent_optim_set_scalar(r->optim, sc[i].name, v);
    }
    uint64_t step = 0, evals = 0, ep = 0, pos = 0, key = 0, ctr = 0;
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.step", &step);
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.grad_evals", &evals);
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.sampler_epoch", &ep);
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.sampler_pos", &pos);
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.dropout_rng_key", &key);
    if (s == ENT_OK) s = meta_get_u64(f, path, "run.dropout_rng_counter", &ctr);
    if (s == ENT_OK) {
        const char *w = ent_st_meta(f, "run.wall_seconds");
        r->wall_seconds = w ? atof(w) : 0.0;
        r->step = (int64_t)step;
        r->grad_evals = (int64_t)evals;
        ent_sampler_seek(r->sampler, (int64_t)ep, (int64_t)pos);
        r->dropout_rng->key = key;
        r->dropout_rng->counter = ctr;
    }
    ent_st_file_free(f);
    return s;
}
