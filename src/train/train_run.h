/* train_run.h — one training run as the loop sees it (train.c), built by
 * train_build.c. */
#ifndef ENT_TRAIN_RUN_H
#define ENT_TRAIN_RUN_H

#include "train/train_internal.h"

/* One evaluation as metrics.csv has it: where, and the test and validation
 * numbers (val_* NAN without a validation set). */
typedef struct {
    double eff_epoch;
    int64_t step;
    double test_loss, test_err, val_loss, val_err;
} ent_eval_point;

/* The token data of a sequence-model run (--dataset text | ptb): the
 * vocabulary and the three splits of the stream. */
typedef struct {
    ent_corpus c;
    int64_t steps;             /* positions per window (the model's T) */
} ent_run_text;

typedef struct {
    ent_run_state r;
    ent_train_config cfg;      /* the resolved configuration r.cfg points to */
    ent_dataset *train, *test; /* image runs */
    ent_run_text *text;        /* token runs (train, test NULL) */
    ent_clip_objective clip;   /* --clip-grad-norm */
    ent_dataset *val;          /* --val-split: the held-out training samples, or NULL */
    int64_t *val_idx;          /* their indices in the training set (config.json) */
    ent_objective obj;         /* single-vector: the worker's (averaged over ranks) */
    ent_dp_objective dp;
    ent_objective *objs;       /* replica methods: one per local replica */
    ent_clip_objective *clips; /* replica methods with --clip-grad-norm: one per local replica */
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
    double interval_loss_x;    /* sum of the steps' f(x) (ent_optim_loss_at_x) since then */
    int64_t interval_steps;
    /* --bn-reestimate: the batches recomputing the batch-norm statistics of
     * the evaluated weights before each evaluation (0: off), from a source
     * of their own, rewound to its start each time (train_build.c). */
    int64_t bn_batches;
    ent_batches bn_src;
    int tty;
    int have_ckpt;             /* a checkpoint of this run is on disk (resumed from, or written) */
    int config_pending;        /* resumed: config.json is rewritten with the first checkpoint */
    /* The last evaluation, and the one of the lowest validation error
     * (first of equals); n_evals = 0 / has_best = 0 until there is one. */
    ent_eval_point last, best;
    int64_t n_evals;
    int has_best;
} ent_run;

ent_status ent_train_build(ent_run *R);
/* Token runs (text_run.c): the corpus and its vocabulary; a worker's
 * model (input T x 1 x 1, the vocabulary's classes, batches of exactly
 * --batch-size) and its token windows; the loss and error of the model
 * over a split. */
ent_status ent_run_text_load(ent_run *R);
ent_status ent_run_text_worker(ent_run *R, ent_worker *w, uint64_t stream_seed);
ent_status ent_run_text_evaluate(ent_run *R, const ent_tokens *split, double *loss, double *err);
void ent_run_text_free(ent_run_text *t);
/* mkdir -p path (train.c). */
ent_status ent_run_make_dir(const char *path);
void ent_train_cleanup(ent_run *R);

/* The files beside the latest checkpoint (keep.c), rank 0 only. After an
 * evaluation whose checkpoint was just written: note it as the last (and
 * maybe the best) point, copy the checkpoint for --keep-last and
 * --keep-best, drop epoch checkpoints beyond the last K. */
ent_status ent_keep_after_eval(ent_run *R, const ent_eval_point *e);
/* Resume: the last and best points from metrics.csv (already cut back to
 * the checkpoint's step), and the copies of the resumed checkpoint that a
 * stop between writing it and copying it left out. */
ent_status ent_keep_resume(ent_run *R);
/* Resume: the held-out samples must be those config.json recorded. */
ent_status ent_keep_check_split(const ent_run *R, const char *config_path);
/* The end of a run: summary.json, and the final and best lines on stdout. */
ent_status ent_keep_summary(ent_run *R);

#endif
