/* train_internal.h — the state of a training run shared by the loop
 * (train.c), its construction (train_build.c), the replica evaluation
 * (replica_eval.c) and the checkpoint code (checkpoint*.c).
 *
 * A run has one or more workers: a model (with its own activation
 * workspace), its batch-norm buffers and its network objective (own
 * sampler and dropout streams). Single-vector optimizers have one worker
 * per process (under mpirun: data-parallel, the gradient averaged over the
 * ranks); replica methods have one worker per local replica. */
#ifndef ENT_TRAIN_INTERNAL_H
#define ENT_TRAIN_INTERNAL_H

#include "entropic.h"

#define ENT_MAX_TENSORS_CKPT 96
#define ENT_EVAL_BATCH 500

typedef struct {
    ent_model *model;
    float *buffers; /* this worker's batch-norm running statistics */
    ent_netobj *obj;
} ent_worker;

typedef struct {
    const ent_train_config *cfg; /* resolved: optim.replicas filled in */
    ent_model_opts model_opts;   /* resolved (preset defaults filled in) */
    int rank, ranks;             /* ent_dist_rank / ent_dist_size */
    int n_workers;               /* local replicas, or 1 */
    ent_worker *w;
    ent_model *model;            /* w[0].model */
    /* The weights the run reports, evaluates and saves as the model:
     * single-vector: its own theta and w[0]'s buffers; replica methods: the
     * centre and the replicas' averaged buffers. */
    float *theta, *buffers;
    ent_optim *optim;            /* single-vector optimizers */
    ent_replicas *reps;          /* replica methods */
    ent_batches *batches;        /* w[0]'s data edge */
    const ent_vocab *vocab;      /* token runs: the vocabulary (checkpoints keep it), else NULL */
    ent_rng *dropout_rng;        /* w[0]'s */
    int64_t step;                /* optimizer updates done */
    int64_t grad_evals;          /* mini-batch gradients computed, all ranks and replicas */
    double wall_seconds;         /* training time so far, over all sessions */
} ent_run_state;

/* Replica methods: every replica's test loss and error, and those of the
 * ensemble (softmax probabilities averaged over the y replicas). Collective;
 * rep_err (y entries) and the ensemble's are complete on rank 0. probs:
 * scratch of ENT_EVAL_BATCH x classes floats. */
ent_status ent_replica_evaluate(ent_run_state *r, const ent_dataset *test, float *probs,
                                double *rep_err, double *ens_loss, double *ens_err);
/* Replica methods: r->buffers <- the mean of every replica's buffers
 * (integer counters rounded up, as sacreddnn's centre of mass). Collective. */
ent_status ent_replica_average_buffers(ent_run_state *r);

/* A checkpoint being assembled: tensors and metadata with owned copies of
 * their names and of any gathered data (ckpt_builder.c). Errors stick:
 * ent_ckb_write reports the first. */
typedef struct {
    ent_st_tensor *t;
    int nt, cap_t;
    const char **keys, **vals;
    int nm, cap_m;
    void **own;
    int no, cap_o;
    int failed;
} ent_ckb;
void ent_ckb_tensor(ent_ckb *b, const char *name, const ent_tensor_info *ti, const float *base);
void ent_ckb_vec(ent_ckb *b, const char *name, const float *data, int64_t n);
void ent_ckb_meta(ent_ckb *b, const char *key, const char *val);
void ent_ckb_meta_u64(ent_ckb *b, const char *key, uint64_t v);
void ent_ckb_meta_f64(ent_ckb *b, const char *key, double v);
void ent_ckb_meta_f32(ent_ckb *b, const char *key, float v); /* shortest decimal */
void *ent_ckb_keep(ent_ckb *b, void *block); /* freed by ent_ckb_free; NULL marks failure */
ent_status ent_ckb_write(ent_ckb *b, const char *path);
void ent_ckb_free(ent_ckb *b);
/* A metadata integer of an open checkpoint (ENT_EFORMAT naming it if absent). */
ent_status ent_ckb_get_u64(const ent_st_file *f, const char *path, const char *key, uint64_t *v);
/* The same, at most max (a counter of the run state: step, epoch, position). */
ent_status ent_ckb_get_count(const ent_st_file *f, const char *path, const char *key, uint64_t max, uint64_t *v);
/* A metadata number in [lo, hi] (ENT_EFORMAT naming file and key otherwise). */
ent_status ent_ckb_get_number(const ent_st_file *f, const char *path, const char *key, double lo, double hi,
                              double *v);
/* Counters in a checkpoint stay below 2^53: exact as doubles, far past any
 * run (285 years at 10^6 steps a second), and epoch + 1 cannot overflow. */
#define ENT_CKPT_MAX_COUNT ((uint64_t)1 << 53)
/* A 1-D vector of an open checkpoint, length checked, values finite. */
ent_status ent_ckb_get_vec(const ent_st_file *f, const char *path, const char *name, float *dst, int64_t n);

/* Collective (every rank gathers to rank 0, which writes). */
ent_status ent_checkpoint_save(const char *path, const ent_run_state *r);
/* val_idx: the c->val_split held-out training indices (NULL when none). */
ent_status ent_train_config_save(const ent_train_config *c, const ent_model_opts *mo,
                                 const int64_t *val_idx, const char *path);
/* Token runs: the checkpoint's vocabulary (metadata entropic.vocab) must be v
 * (ENT_EFORMAT naming the file otherwise). */
ent_status ent_checkpoint_check_vocab(const ent_st_file *f, const char *path, const ent_vocab *v);
/* Every rank reads the file and restores its own part. */
ent_status ent_checkpoint_resume(const char *path, ent_run_state *r);
/* Replica methods' share of the checkpoint (checkpoint_replicas.c). */
ent_status ent_checkpoint_add_replicas(ent_ckb *b, const ent_run_state *r);
ent_status ent_checkpoint_resume_replicas(const ent_st_file *f, const char *path,
                                          ent_run_state *r);
/* The "replicas" count recorded in a checkpoint (0 if none or unreadable). */
int ent_checkpoint_replicas(const char *path);

#endif
