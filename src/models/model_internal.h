/* model_internal.h — what a preset builder sees of a model. */
#ifndef ENT_MODEL_INTERNAL_H
#define ENT_MODEL_INTERNAL_H

#include "layers/layer.h"

#define ENT_MAX_LAYERS 32
#define ENT_MAX_TENSORS (ENT_MAX_LAYERS * 2)

struct ent_model {
    char preset[32];
    ent_model_opts opts;
    int64_t in_c, in_h, in_w, n_classes, max_batch;
    int n_layers;
    ent_layer layers[ENT_MAX_LAYERS];
    /* tables over the flat vectors */
    int n_params, n_buffers;
    ent_tensor_info params[ENT_MAX_TENSORS], buffers[ENT_MAX_TENSORS];
    int64_t n_param, n_buffer;
    /* workspace, planned once for max_batch */
    float *act;            /* outputs of every layer, back to back */
    float *dact;           /* their gradients, same layout */
    int64_t act_off[ENT_MAX_LAYERS];  /* offset of layer i's output */
    float *saved;
    int64_t saved_off[ENT_MAX_LAYERS];
    float *scratch;
    float *prob, *dlogits;
    int unfused;           /* 1: every layer on its own (tests, bench/layers.c) */
};

/* Run batch-norm / ReLU / dropout runs as fused blocks (layers/fused.h;
 * the default) or layer by layer, to compare the two. */
void ent_model_set_fused(ent_model *m, int on);

/* The steps of ent_model_run, for callers that clock them (bench/layers.c).
 * A step is a fused block of `span` layers starting at layer i, or one
 * layer (span 1). first[i] = the first layer of layer i's block. */
int ent_model_span(const ent_model *m, int i);
void ent_model_block_starts(const ent_model *m, int *first);
/* The lowest layer with trainable tensors: backward stops there, and it
 * gets no input gradient. */
int ent_model_lowest_trained(const ent_model *m);
void ent_model_forward_at(ent_model *m, int i, int span, const float *theta,
                          const float *x, ent_ctx *ctx);
/* Backward of the step of layers i .. last (store mode); returns the
 * gradient at its input (NULL below `lowest`), the next step's dout. */
float *ent_model_backward_at(ent_model *m, int i, int last, int lowest,
                             const float *theta, const float *x,
                             const float *dout, float *grad, ent_ctx *ctx);

/* Append a layer of `kind` named `name` (state_dict prefix); the caller
 * fills its settings; planning happens in ent_model_new. */
ent_layer *ent_model_add(ent_model *m, ent_layer_kind kind, const char *name);

/* Preset builders: append the layers. */
ent_status ent_preset_mnistfc(ent_model *m);
ent_status ent_preset_lenet(ent_model *m);
/* small.c: the Hessian-study nets (no BN, no dropout) */
ent_status ent_preset_small_mnistfc(ent_model *m);
ent_status ent_preset_small_lenet(ent_model *m);
ent_status ent_preset_tiny_mnistfc(ent_model *m);

#endif
