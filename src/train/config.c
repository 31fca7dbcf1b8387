/* config.c — training settings: defaults, validation, config.json. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/train_internal.h"

ent_train_config ent_train_config_default(void) {
    ent_train_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "mnistfc");
    snprintf(c.dataset, sizeof c.dataset, "fashion-mnist");
    snprintf(c.out_dir, sizeof c.out_dir, "runs/latest");
    c.model_opts = ent_model_opts_default();
    c.optim = ent_optim_params_default(ENT_OPTIM_SGD);
    c.epochs = 10;
    c.batch = 128;
    c.seed = 42;
    c.eval_every = 1;
    c.lr_factor = 0.1;
    c.lr_decay = 1.0;
    c.progress = 1;
    return c;
}

#define BAD(...) return ent_fail(ENT_EUSAGE, __VA_ARGS__)

int ent_train_config_is_text(const ent_train_config *c) {
    return strcmp(c->dataset, "text") == 0 || strcmp(c->dataset, "ptb") == 0;
}

ent_status ent_train_config_check(const ent_train_config *c) {
    if (!(c->epochs > 0 && c->epochs <= ENT_MAX_EPOCHS))
        BAD("--epochs must be in (0, %g], got %g", ENT_MAX_EPOCHS, c->epochs);
    if (c->batch < 1 || c->batch > ENT_MAX_BATCH)
        BAD("--batch-size must be in 1..%d, got %lld", ENT_MAX_BATCH, (long long)c->batch);
    if (!(c->eval_every > 0)) BAD("--eval-every must be > 0 effective epochs, got %g", c->eval_every);
    if (!(c->lr_factor > 0 && isfinite(c->lr_factor))) BAD("--lr-factor must be > 0, got %g", c->lr_factor);
    if (!(c->warmup_epochs >= 0 && c->warmup_epochs < c->epochs))
        BAD("--warmup-epochs must be in [0, --epochs), got %g", c->warmup_epochs);
    for (int i = 0; i < c->n_milestones; i++)
        if (!(c->lr_milestones[i] > 0) || (i && c->lr_milestones[i] <= c->lr_milestones[i - 1]))
            BAD("--lr-milestones must be positive and increasing (at %g)", c->lr_milestones[i]);
    if (c->threads < 0 || c->threads > ENT_MAX_THREADS)
        BAD("--threads must be in 0..%d, got %d", ENT_MAX_THREADS, c->threads);
    float d = c->model_opts.dropout, di = c->model_opts.input_dropout;
    if (d >= 1.0f || d != d) BAD("--dropout must be in [0, 1), got %g", d);
    if (di >= 1.0f || di != di) BAD("--input-dropout must be in [0, 1), got %g", di);
    if (c->train_subset < 0 || c->test_subset < 0) BAD("subset sizes must be >= 0");
    if (c->val_split < 0) BAD("--val-split must be >= 0 training samples to hold out (0 = none), got %lld",
                              (long long)c->val_split);
    if (c->keep_last < 0) BAD("--keep-last must be >= 0 checkpoints (0 = none), got %d", c->keep_last);
    if (c->keep_best && c->val_split == 0 && !ent_train_config_is_text(c))
        BAD("--keep-best needs --val-split N: the best checkpoint is chosen on validation error, and without "
            "--val-split there is no validation set");
    if (c->bptt < 0 || c->bptt > 100000) BAD("--bptt must be in 0..100000 positions (0 = the preset's), got %lld",
                                             (long long)c->bptt);
    if (!(c->clip_grad_norm >= 0 && isfinite(c->clip_grad_norm)))
        BAD("--clip-grad-norm must be >= 0 (0 = no clipping), got %g", c->clip_grad_norm);
    if (!(c->lr_decay_after >= 0) || !(c->lr_decay > 0 && c->lr_decay <= 1))
        BAD("--lr-decay must be in (0, 1] and --lr-decay-after >= 0, got %g and %g", c->lr_decay, c->lr_decay_after);
    if (ent_train_config_is_text(c) && (c->val_split || c->augment.crop_pad || c->augment.flip || c->preprocess))
        BAD("--dataset %s has its own validation split and takes no --val-split, --augment or --preprocess",
            c->dataset);
    if (!c->out_dir[0]) BAD("--out must name a run directory");
    if (c->optim.replicas < 0 || c->optim.replicas > ENT_MAX_REPLICAS)
        BAD("--replicas must be in 1..%d, got %d", ENT_MAX_REPLICAS, c->optim.replicas);
    ent_optim_params o = c->optim;
    if (o.replicas == 0) o.replicas = 1; /* 0: the run's default, resolved when it starts */
    return ent_optim_params_check(&o);
}

static const char *const SCHEDULES[] = {"none", "exp", "lin", "cosine"};

/* The settings of the optimizers after Entropy-SGD, where they apply. */
static void save_relax(ent_json *j, const ent_optim_params *o) {
    const ent_optim_kind k = o->kind;
    if (k == ENT_OPTIM_SGLD) {
        ent_json_number(j, "noise", o->noise);
        ent_json_number(j, "sgld_t0", o->sgld_t0);
        ent_json_number(j, "sgld_decay", o->sgld_decay);
    }
    if (k == ENT_OPTIM_SAM) ent_json_number(j, "sam_rho", o->sam_rho);
    if (k == ENT_OPTIM_HJ_PROX || k == ENT_OPTIM_HEAT) {
        ent_json_int(j, "L", o->L);
        ent_json_number(j, "gamma0", o->gamma0);
        ent_json_number(j, "gamma1", o->gamma1);
        ent_json_number(j, "gamma_max", o->gamma_max);
        if (k == ENT_OPTIM_HJ_PROX) ent_json_number(j, "alpha", o->alpha);
    }
    if (k == ENT_OPTIM_SAM || k == ENT_OPTIM_HJ_PROX || k == ENT_OPTIM_HEAT || ent_optim_kind_is_replica(k))
        ent_json_string(j, k == ENT_OPTIM_PARLE ? "outer_rule" : "base_rule",
                        o->outer_rule == ENT_UPDATE_ADAM ? "adam" : "sgd");
    if (!ent_optim_kind_is_replica(k)) return;
    ent_json_int(j, "replicas", o->replicas);
    ent_json_bool(j, "center", o->center);
    ent_json_bool(j, "same_init", o->same_init);
    ent_json_number(j, "coupling", o->coupling);
    ent_json_bool(j, "coupling_auto", o->coupling_auto);
    ent_json_string(j, "coupling_schedule", SCHEDULES[o->coupling_schedule]);
    if (o->coupling_rate_auto) ent_json_string(j, "coupling_rate", "auto");
    else ent_json_number(j, "coupling_rate", o->coupling_rate);
    ent_json_number(j, "coupling_growth", o->coupling_growth);
    ent_json_number(j, "coupling_max", o->coupling_max);
    ent_json_int(j, "coupling_every", o->coupling_every);
}

/* Every setting, defaults included, and the command line that made them. */
ent_status ent_train_config_save(const ent_train_config *c, const ent_model_opts *mo,
                                 const int64_t *val_idx, const char *path) {
    const ent_optim_params *o = &c->optim;
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_string(&j, "model", c->model);
    ent_json_string(&j, "model_file", c->model_file);
    ent_json_string(&j, "dataset", c->dataset);
    ent_json_string(&j, "data_dir", c->data_dir);
    if (strcmp(c->dataset, "arrays") == 0) {
        ent_json_string(&j, "train_x", c->train_x);
        ent_json_string(&j, "train_y", c->train_y);
        ent_json_string(&j, "test_x", c->test_x);
        ent_json_string(&j, "test_y", c->test_y);
    }
    if (strcmp(c->dataset, "text") == 0) ent_json_string(&j, "text", c->text);
    if (ent_train_config_is_text(c)) ent_json_int(&j, "bptt", c->bptt);
    ent_json_number(&j, "clip_grad_norm", c->clip_grad_norm);
    ent_json_number(&j, "lr_decay_after", c->lr_decay_after);
    ent_json_number(&j, "lr_decay", c->lr_decay);
    ent_json_string(&j, "init_from", c->init_from);
    ent_json_float(&j, "dropout", mo->dropout);
    ent_json_float(&j, "input_dropout", mo->input_dropout);
    ent_json_float(&j, "bn_momentum", mo->bn_momentum);
    ent_json_float(&j, "bn_eps", mo->bn_eps);
    ent_json_number(&j, "epochs", c->epochs);
    ent_json_int(&j, "batch_size", c->batch);
    ent_json_int(&j, "seed", (int64_t)c->seed);
    ent_json_int(&j, "threads", c->threads);
    ent_json_number(&j, "eval_every", c->eval_every);
    ent_json_begin_array(&j, "lr_milestones");
    for (int i = 0; i < c->n_milestones; i++) ent_json_number(&j, NULL, c->lr_milestones[i]);
    ent_json_end_array(&j);
    ent_json_number(&j, "lr_factor", c->lr_factor);
    ent_json_string(&j, "lr_schedule", c->lr_cosine ? "cosine" : "step");
    ent_json_number(&j, "warmup_epochs", c->warmup_epochs);
    ent_json_int(&j, "train_subset", c->train_subset);
    ent_json_int(&j, "test_subset", c->test_subset);
    /* The held-out samples themselves (indices into the training set after
     * --train-subset), so the split can be checked on resume and rebuilt
     * without our random streams. */
    char aug[32];
    ent_augment_text(&c->augment, aug, sizeof aug);
    ent_json_string(&j, "augment", aug);
    ent_json_string(&j, "preprocess", c->preprocess == ENT_PREPROCESS_GCN_ZCA ? "gcn-zca" : "none");
    ent_json_int(&j, "val_split", c->val_split);
    ent_json_begin_array(&j, "val_indices");
    for (int64_t i = 0; i < c->val_split; i++) ent_json_int(&j, NULL, val_idx[i]);
    ent_json_end_array(&j);
    ent_json_int(&j, "keep_last", c->keep_last);
    ent_json_bool(&j, "keep_best", c->keep_best);
    ent_json_begin_object(&j, "optimizer");
    ent_json_string(&j, "name", ent_optim_kind_name(o->kind));
    ent_json_number(&j, "lr", o->lr);
    ent_json_number(&j, "momentum", o->momentum);
    ent_json_number(&j, "dampening", o->dampening);
    ent_json_bool(&j, "nesterov", o->nesterov);
    ent_json_number(&j, "weight_decay", o->weight_decay);
    ent_json_number(&j, "beta1", o->beta1);
    ent_json_number(&j, "beta2", o->beta2);
    ent_json_number(&j, "adam_eps", o->adam_eps);
    save_relax(&j, o);
    if (o->kind == ENT_OPTIM_HEAT) ent_json_string(&j, "heat_style", o->heat_code ? "code" : "definition");
    if (o->kind == ENT_OPTIM_HEAT && o->heat_code) { /* its inner chain (L and gamma are above) */
        ent_json_number(&j, "sgld_lr", o->sgld_lr);
        ent_json_number(&j, "noise", o->noise);
        ent_json_number(&j, "inner_momentum", o->inner_momentum);
    }
    if (o->kind == ENT_OPTIM_REPLICATED_SGD)
        ent_json_string(&j, "coupling_step", o->coupling_explicit ? "explicit" : "implicit");
    if (o->kind == ENT_OPTIM_PARLE) ent_json_bool(&j, "parle_reference", o->parle_reference);
    if (o->kind == ENT_OPTIM_ENTROPY_SGD || o->kind == ENT_OPTIM_HJB) {
        ent_json_bool(&j, "gamma_auto", o->gamma_auto);
        ent_json_number(&j, "rho", o->rho);
    }
    if (o->kind == ENT_OPTIM_ENTROPY_SGD || o->kind == ENT_OPTIM_HJB || o->kind == ENT_OPTIM_PARLE) {
        ent_json_int(&j, "L", o->L);
        ent_json_number(&j, "gamma0", o->gamma0);
        ent_json_number(&j, "gamma1", o->gamma1);
        ent_json_number(&j, "gamma_max", o->gamma_max);
        ent_json_number(&j, "sgld_lr", o->sgld_lr);
        ent_json_number(&j, "noise", o->noise);
        ent_json_string(&j, "noise_convention", o->noise_code ? "code" : "paper");
        ent_json_number(&j, "alpha", o->alpha);
        ent_json_number(&j, "inner_momentum", o->inner_momentum);
        ent_json_bool(&j, "inner_nesterov", o->inner_nesterov);
        ent_json_string(&j, "inner_momentum_on", o->inner_momentum_grad_only ? "grad" : "drift");
        ent_json_number(&j, "inner_weight_decay", o->inner_weight_decay);
        ent_json_string(&j, "outer_step", o->outer_unscaled ? "unscaled" : "rescaled");
        ent_json_string(&j, "outer_rule", o->outer_rule == ENT_UPDATE_ADAM ? "adam" : "sgd");
        ent_json_string(&j, "inner_rule", o->inner_rule == ENT_UPDATE_ADAM ? "adam" : "sgd");
        ent_json_bool(&j, "grad_at_x", o->grad_at_x);
    }
    ent_json_end_object(&j);
    ent_json_begin_array(&j, "argv");
    for (int i = 0; i < c->argc; i++) ent_json_string(&j, NULL, c->argv[i]);
    ent_json_end_array(&j);
    ent_json_end_object(&j);
    ent_status s = ent_json_save(&j, path);
    ent_json_free(&j);
    return s;
}
