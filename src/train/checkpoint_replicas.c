/* checkpoint_replicas.c — the replica methods' part of a checkpoint. The
 * model tensors hold the centre (weights; batch-norm buffers averaged over
 * the replicas), so `entropic eval` evaluates the centre. Besides them:
 *
 *   replica.A.theta, replica.A.buffers         replica A's weights, buffers
 *   replica.A.optim.NAME                       its optimizer's state vectors
 *   replica.A.data.state                       its carried recurrent state (token runs)
 *   center.optim.NAME                          the explicit rSGD centre's
 *   metadata: replicas (y), replicas.t, replicas.coupling0, dist.ranks,
 *   replica.A.{sampler_epoch, sampler_pos, dropout_rng_key,
 *   dropout_rng_counter}, replica.A.optim.{t, rng_key, rng_counter},
 *   center.optim.*
 *
 * Under MPI every rank sends its replicas to rank 0, which writes; on
 * resume every rank reads the file and takes its own replicas, so a run of
 * y replicas resumes with any number of ranks that divides y (1 = all in
 * one process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

/* Rank 0 gets, in ptr[0..y), every replica's copy of one vector kind of
 * length n (local[i] = local replica i's). One rank: the local pointers;
 * several: packed, gathered into one block kept by the builder. */
static ent_status gather_vecs(ent_ckb *b, const ent_run_state *r, const float *const *local,
                              int64_t n, const float **ptr) {
    const int nl = r->n_workers, y = ent_replicas_count(r->reps);
    if (r->ranks == 1) {
        for (int a = 0; a < y; a++) ptr[a] = local[a];
        return ENT_OK;
    }
    float *pack = ent_ckb_keep(b, malloc(sizeof(float) * (size_t)(nl * n)));
    float *all = r->rank == 0 ? ent_ckb_keep(b, malloc(sizeof(float) * (size_t)(y * n))) : NULL;
    if (!pack || (r->rank == 0 && !all)) return ent_fail(ENT_ENOMEM, "checkpoint: out of memory gathering replicas");
    for (int i = 0; i < nl; i++) memcpy(pack + i * n, local[i], sizeof(float) * (size_t)n);
    ent_status s = ent_dist_gather(pack, all, (int64_t)sizeof(float) * nl * n);
    for (int a = 0; all && a < y; a++) ptr[a] = all + a * n;
    return s;
}

/* One vector kind of every replica, as replica.A.<what>. */
static ent_status add_vecs(ent_ckb *b, const ent_run_state *r, const float **local, int64_t n,
                           const float **ptr, const char *what) {
    ent_status s = gather_vecs(b, r, local, n, ptr);
    char name[128];
    for (int a = 0; s == ENT_OK && r->rank == 0 && a < ent_replicas_count(r->reps); a++) {
        snprintf(name, sizeof name, "replica.%d.%s", a, what);
        ent_ckb_vec(b, name, ptr[a], n);
    }
    return s;
}

/* Per replica: 4 stream integers, then its optimizer's scalars. */
static const char *const STREAM[4] = {"sampler_epoch", "sampler_pos", "dropout_rng_key", "dropout_rng_counter"};

static ent_status add_scalars(ent_ckb *b, const ent_run_state *r) {
    const int nl = r->n_workers, y = ent_replicas_count(r->reps);
    ent_state_u64 sc[16];
    const int ns = ent_optim_state_scalars(ent_replicas_optim(r->reps, 0), sc, 16), per = 4 + ns;
    uint64_t *mine = ent_ckb_keep(b, calloc((size_t)(nl * per), sizeof *mine));
    uint64_t *all = ent_ckb_keep(b, calloc((size_t)(y * per), sizeof *all));
    if (!mine || !all) return ent_fail(ENT_ENOMEM, "checkpoint: out of memory");
    for (int i = 0; i < nl; i++) {
        const ent_batches *src = ent_netobj_batches(r->w[i].obj);
        const ent_rng *dr = ent_netobj_dropout_rng(r->w[i].obj);
        uint64_t *v = mine + i * per;
        src->ops->tell(src->ctx, v);
        v[2] = dr->key, v[3] = dr->counter;
        ent_optim_state_scalars(ent_replicas_optim(r->reps, i), sc, 16);
        for (int j = 0; j < ns; j++) v[4 + j] = sc[j].value;
    }
    ent_status s = ent_dist_gather(mine, all, (int64_t)sizeof *mine * nl * per);
    char key[128];
    for (int a = 0; s == ENT_OK && r->rank == 0 && a < y; a++)
        for (int j = 0; j < per; j++) {
            if (j < 4) snprintf(key, sizeof key, "replica.%d.%s", a, STREAM[j]);
            else snprintf(key, sizeof key, "replica.%d.optim.%s", a, sc[j - 4].name);
            ent_ckb_meta_u64(b, key, all[a * per + j]);
        }
    return s;
}

/* The explicit centre's optimizer state: the same on every rank. */
static void add_center_optim(ent_ckb *b, ent_optim *o) {
    ent_state_vec v[16];
    ent_state_u64 sc[16];
    char key[96];
    int nv = ent_optim_state_vectors(o, v, 16), ns = ent_optim_state_scalars(o, sc, 16);
    for (int i = 0; i < nv && i < 16; i++) {
        snprintf(key, sizeof key, "center.optim.%s", v[i].name);
        ent_ckb_vec(b, key, v[i].data, v[i].n);
    }
    for (int i = 0; i < ns && i < 16; i++) {
        snprintf(key, sizeof key, "center.optim.%s", sc[i].name);
        ent_ckb_meta_u64(b, key, sc[i].value);
    }
}

ent_status ent_checkpoint_add_replicas(ent_ckb *b, const ent_run_state *r) {
    ent_replicas *reps = r->reps;
    const int nl = r->n_workers, y = ent_replicas_count(reps);
    const int64_t P = ent_model_n_param(r->model), B = ent_model_n_buffer(r->model);
    const float **local = ent_ckb_keep(b, calloc((size_t)nl, sizeof *local));
    const float **ptr = ent_ckb_keep(b, calloc((size_t)y, sizeof *ptr));
    if (!local || !ptr) return ent_fail(ENT_ENOMEM, "checkpoint: out of memory");
    ent_ckb_meta_u64(b, "replicas", (uint64_t)y);
    ent_ckb_meta_u64(b, "dist.ranks", (uint64_t)r->ranks);
    ent_state_u64 rs[8];
    char key[96];
    int nrs = ent_replicas_state_scalars(reps, rs, 8);
    for (int i = 0; i < nrs && i < 8; i++) {
        snprintf(key, sizeof key, "replicas.%s", rs[i].name);
        ent_ckb_meta_u64(b, key, rs[i].value);
    }
    for (int i = 0; i < nl; i++) local[i] = ent_replicas_theta(reps, i);
    ent_status s = add_vecs(b, r, local, P, ptr, "theta");
    for (int i = 0; i < nl; i++) local[i] = r->w[i].buffers;
    if (s == ENT_OK && B > 0) s = add_vecs(b, r, local, B, ptr, "buffers");
    ent_state_vec v[16];
    int nv = ent_optim_state_vectors(ent_replicas_optim(reps, 0), v, 16);
    for (int j = 0; s == ENT_OK && j < nv && j < 16; j++) {
        for (int i = 0; i < nl; i++) {
            ent_state_vec vi[16];
            ent_optim_state_vectors(ent_replicas_optim(reps, i), vi, 16);
            local[i] = vi[j].data;
        }
        snprintf(key, sizeof key, "optim.%s", v[j].name);
        s = add_vecs(b, r, local, P, ptr, key); /* the builder copies the pointers */
    }
    int64_t S = 0;
    for (int i = 0; i < nl; i++) local[i] = ent_netobj_state(r->w[i].obj, &S);
    if (s == ENT_OK && S > 0) s = add_vecs(b, r, local, S, ptr, "data.state"); /* carried, never averaged */
    if (s == ENT_OK) s = add_scalars(b, r);
    if (s == ENT_OK && ent_replicas_center_optim(reps)) add_center_optim(b, ent_replicas_center_optim(reps));
    return s;
}

/* ---- resuming ---- */

static ent_status resume_center_optim(const ent_st_file *f, const char *path, ent_optim *o) {
    ent_state_vec v[16];
    ent_state_u64 sc[16];
    char key[96];
    ent_status s = ENT_OK;
    int nv = ent_optim_state_vectors(o, v, 16), ns = ent_optim_state_scalars(o, sc, 16);
    for (int i = 0; s == ENT_OK && i < nv; i++) {
        snprintf(key, sizeof key, "center.optim.%s", v[i].name);
        s = ent_ckb_get_vec(f, path, key, v[i].data, v[i].n);
    }
    for (int i = 0; s == ENT_OK && i < ns; i++) {
        uint64_t x = 0;
        snprintf(key, sizeof key, "center.optim.%s", sc[i].name);
        s = ent_ckb_get_u64(f, path, key, &x);
        if (s == ENT_OK) s = ent_optim_set_scalar(o, sc[i].name, x);
    }
    return s;
}

/* Local replica i (global a): weights, buffers, optimizer, data streams. */
static ent_status resume_one(const ent_st_file *f, const char *path, ent_run_state *r, int i, int a) {
    const int64_t P = ent_model_n_param(r->model), B = ent_model_n_buffer(r->model);
    ent_optim *o = ent_replicas_optim(r->reps, i);
    char key[128];
    snprintf(key, sizeof key, "replica.%d.theta", a);
    ent_status s = ent_ckb_get_vec(f, path, key, ent_replicas_theta(r->reps, i), P);
    snprintf(key, sizeof key, "replica.%d.buffers", a);
    if (s == ENT_OK && B > 0) s = ent_ckb_get_vec(f, path, key, r->w[i].buffers, B);
    ent_state_vec v[16];
    ent_state_u64 sc[16];
    int nv = ent_optim_state_vectors(o, v, 16), ns = ent_optim_state_scalars(o, sc, 16);
    for (int j = 0; s == ENT_OK && j < nv; j++) {
        snprintf(key, sizeof key, "replica.%d.optim.%s", a, v[j].name);
        s = ent_ckb_get_vec(f, path, key, v[j].data, v[j].n);
    }
    uint64_t x[4] = {0};
    for (int j = 0; s == ENT_OK && j < ns; j++) {
        snprintf(key, sizeof key, "replica.%d.optim.%s", a, sc[j].name);
        s = ent_ckb_get_u64(f, path, key, &x[0]);
        if (s == ENT_OK) s = ent_optim_set_scalar(o, sc[j].name, x[0]);
    }
    for (int j = 0; s == ENT_OK && j < 4; j++) {
        snprintf(key, sizeof key, "replica.%d.%s", a, STREAM[j]);
        s = j < 2 ? ent_ckb_get_count(f, path, key, ENT_CKPT_MAX_COUNT, &x[j]) : ent_ckb_get_u64(f, path, key, &x[j]);
    }
    int64_t S = 0;
    float *state = ent_netobj_state(r->w[i].obj, &S);
    snprintf(key, sizeof key, "replica.%d.data.state", a);
    if (s == ENT_OK && S > 0) s = ent_ckb_get_vec(f, path, key, state, S);
    if (s != ENT_OK) return s;
    ent_batches *src = ent_netobj_batches(r->w[i].obj);
    src->ops->seek(src->ctx, x);
    ent_rng *dr = ent_netobj_dropout_rng(r->w[i].obj);
    dr->key = x[2];
    dr->counter = x[3];
    return ENT_OK;
}

ent_status ent_checkpoint_resume_replicas(const ent_st_file *f, const char *path, ent_run_state *r) {
    ent_replicas *reps = r->reps;
    const int y = ent_replicas_count(reps);
    uint64_t yy = 0;
    ent_status s = ent_ckb_get_count(f, path, "replicas", ENT_MAX_REPLICAS, &yy);
    if (s == ENT_OK && yy != (uint64_t)y)
        return ent_fail(ENT_EUSAGE, "%s: a run of %llu replicas, this one has %d (leave --replicas out to keep "
                        "the checkpoint's)", path, (unsigned long long)yy, y);
    ent_state_u64 rs[8];
    char key[96];
    int nrs = ent_replicas_state_scalars(reps, rs, 8);
    for (int i = 0; s == ENT_OK && i < nrs; i++) {
        uint64_t v = 0;
        snprintf(key, sizeof key, "replicas.%s", rs[i].name);
        s = ent_ckb_get_u64(f, path, key, &v);
        if (s == ENT_OK) s = ent_replicas_set_scalar(reps, rs[i].name, v);
    }
    for (int i = 0; s == ENT_OK && i < r->n_workers; i++) s = resume_one(f, path, r, i, ent_replicas_first(reps) + i);
    if (s == ENT_OK && ent_replicas_center_optim(reps))
        s = resume_center_optim(f, path, ent_replicas_center_optim(reps));
    return s;
}
