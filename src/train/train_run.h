/* train_run.h — one training run as the loop sees it (train.c), built by
 * train_build.c. */
#ifndef ENT_TRAIN_RUN_H
#define ENT_TRAIN_RUN_H

#include "train/train_internal.h"

typedef struct {
    ent_run_state r;
    ent_train_config cfg;      /* the resolved configuration r.cfg points to */
    ent_dataset *train, *test;
    ent_objective obj;         /* single-vector: the worker's (averaged over ranks) */
    ent_dp_objective dp;
    ent_objective *objs;       /* replica methods: one per local replica */
    float *probs;              /* replica methods: ensemble scratch */
    double *rep_err;           /* replica methods: y test errors */
    char ckpt_path[600], metrics_path[600];
    int64_t steps_per_epoch;   /* mini-batches per data epoch */
    int64_t total_steps;
    int batches_per_step;      /* counted for effective epochs (x ranks when data-parallel) */
    int grads_per_step;        /* over every rank and replica */
    double session_start, last_print, wall_at_start;
    int64_t step_at_start;
    double interval_loss;      /* sum of step losses since the last evaluation */
    int64_t interval_steps;
    int tty;
} ent_run;

ent_status ent_train_build(ent_run *R);
void ent_train_cleanup(ent_run *R);

#endif
