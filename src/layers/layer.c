/* layer.c — shared layer helpers: tensor records and the kind table. */
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"

void ent_layer_add_tensor(ent_layer *l, const char *suffix, int is_buffer,
                          int is_int64, int ndim, int64_t d0, int64_t d1,
                          int64_t d2, int64_t d3) {
    if (l->n_tensors >= ENT_LAYER_MAX_TENSORS) {
        l->too_many_tensors = 1; /* the model's plan fails naming the node */
        return;
    }
    if (ndim < 0 || ndim > 4) return; /* internal misuse */
    ent_tensor_info *t = &l->tensors[l->n_tensors];
    const int64_t d[4] = {d0, d1, d2, d3};
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", suffix);
    t->ndim = ndim;
    t->numel = 1; /* a 0-D tensor is a scalar */
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = d[i];
        t->numel *= d[i];
    }
    t->is_int64 = is_int64;
    t->offset = 0; /* set by the model after plan */
    l->is_buffer[l->n_tensors] = is_buffer;
    l->n_tensors++;
}

const ent_layer_ops *ent_layer_ops_of(ent_layer_kind kind) {
    switch (kind) {
    case ENT_LAYER_DENSE: return &ent_dense_ops;
    case ENT_LAYER_CONV2D: return &ent_conv2d_ops;
    case ENT_LAYER_MAXPOOL: return &ent_maxpool_ops;
    case ENT_LAYER_BATCHNORM: return &ent_batchnorm_ops;
    case ENT_LAYER_DROPOUT: return &ent_dropout_ops;
    case ENT_LAYER_RELU: return &ent_relu_ops;
    case ENT_LAYER_ADD: return &ent_add_ops;
    case ENT_LAYER_AVGPOOL: return &ent_avgpool_ops;
    case ENT_LAYER_GLOBAL_AVGPOOL: return &ent_global_avgpool_ops;
    case ENT_LAYER_SOFTMAX_CE: return &ent_softmax_ce_ops;
    case ENT_LAYER_EMBEDDING: return &ent_embedding_ops;
    case ENT_LAYER_ONEHOT: return &ent_onehot_ops;
    case ENT_LAYER_LSTM: return &ent_lstm_ops;
    default: return NULL;
    }
}
