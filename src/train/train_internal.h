/* train_internal.h — the state of a training run shared by the loop and
 * the checkpoint code. */
#ifndef ENT_TRAIN_INTERNAL_H
#define ENT_TRAIN_INTERNAL_H

#include "entropic.h"

#define ENT_MAX_TENSORS_CKPT 96

typedef struct {
    const ent_train_config *cfg;
    ent_model_opts model_opts; /* resolved (preset defaults filled in) */
    ent_model *model;
    float *theta, *buffers;
    ent_optim *optim;
    ent_sampler *sampler;
    ent_rng *dropout_rng;
    int64_t step;        /* optimizer updates done */
    int64_t grad_evals;  /* mini-batch gradients computed */
    double wall_seconds; /* training time so far, over all sessions */
} ent_run_state;

ent_status ent_checkpoint_save(const char *path, const ent_run_state *r);
ent_status ent_train_config_save(const ent_train_config *c,
                                 const ent_model_opts *mo, const char *path);
ent_status ent_checkpoint_resume(const char *path, ent_run_state *r);

#endif
