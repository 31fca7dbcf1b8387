/* lenet.c — LeNet with batch-norm of the Entropy-SGD paper (docs/models.md):
 * conv 5x5x20, ReLU, max-pool 3/3, BN, dropout; conv 5x5x50, ReLU,
 * max-pool 2/2, BN, dropout; FC 200->500, ReLU, dropout; FC 500->10.
 * About 131k parameters on 28x28 inputs. */
#include "models/model_internal.h"

static void conv_block(ent_model *m, const char *conv, const char *bn,
                       int64_t out_c, int64_t pool) {
    ent_layer *l = ent_model_add(m, ENT_LAYER_CONV2D, conv);
    l->conv.out_c = out_c;
    l->conv.k = 5;
    l->conv.stride = 1;
    l->conv.pad = 0;
    ent_model_add(m, ENT_LAYER_RELU, "relu");
    l = ent_model_add(m, ENT_LAYER_MAXPOOL, "pool");
    l->pool.k = pool;
    l->pool.stride = pool;
    ent_model_add(m, ENT_LAYER_BATCHNORM, bn);
    ent_model_add(m, ENT_LAYER_DROPOUT, "drop")->dropout.p = m->opts.dropout;
}

ent_status ent_preset_lenet(ent_model *m) {
    if (m->opts.dropout < 0) m->opts.dropout = 0.5f;
    if (m->opts.input_dropout < 0) m->opts.input_dropout = 0.0f;
    if (m->opts.input_dropout > 0)
        ent_model_add(m, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = m->opts.input_dropout;
    conv_block(m, "conv1", "bn1", 20, 3);
    conv_block(m, "conv2", "bn2", 50, 2);
    ent_model_add(m, ENT_LAYER_DENSE, "fc1")->dense.out = 500;
    ent_model_add(m, ENT_LAYER_RELU, "relu");
    ent_model_add(m, ENT_LAYER_DROPOUT, "drop")->dropout.p = m->opts.dropout;
    ent_model_add(m, ENT_LAYER_DENSE, "fc2")->dense.out = m->n_classes;
    return ENT_OK;
}
