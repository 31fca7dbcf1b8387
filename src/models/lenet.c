/* lenet.c — LeNet with batch-norm of the Entropy-SGD paper (docs/algorithms.md
 * §7; PyTorch module: docs/models.md): conv 5x5x20, ReLU, max-pool 3/3, BN,
 * dropout; conv 5x5x50, ReLU, max-pool 2/2, BN, dropout; FC 200->500,
 * ReLU, dropout; FC 500->10. About 131k parameters on 28x28 inputs. */
#include <stdio.h>

#include "models/model_internal.h"

/* conv{i}, relu{i}, pool{i}, bn{i}, drop{i} */
static void conv_block(ent_net *n, int i, int64_t out_c, int64_t pool) {
    char conv[16], relu[16], pl[16], bn[16], drop[16];
    snprintf(conv, sizeof conv, "conv%d", i), snprintf(relu, sizeof relu, "relu%d", i);
    snprintf(pl, sizeof pl, "pool%d", i), snprintf(bn, sizeof bn, "bn%d", i);
    snprintf(drop, sizeof drop, "drop%d", i);
    ent_layer *l = ent_net_chain(n, ENT_LAYER_CONV2D, conv);
    l->conv.out_c = out_c;
    l->conv.k = 5;
    l->conv.stride = 1;
    l->conv.pad = 0;
    ent_net_chain(n, ENT_LAYER_RELU, relu);
    l = ent_net_chain(n, ENT_LAYER_MAXPOOL, pl);
    l->pool.k = pool;
    l->pool.stride = pool;
    ent_net_chain(n, ENT_LAYER_BATCHNORM, bn);
    ent_net_chain(n, ENT_LAYER_DROPOUT, drop)->dropout.p = n->opts.dropout;
}

ent_status ent_preset_lenet(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.5f;
    if (n->opts.input_dropout < 0) n->opts.input_dropout = 0.0f;
    if (n->opts.input_dropout > 0)
        ent_net_chain(n, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = n->opts.input_dropout;
    conv_block(n, 1, 20, 3);
    conv_block(n, 2, 50, 2);
    ent_net_chain(n, ENT_LAYER_DENSE, "fc1")->dense.out = 500;
    ent_net_chain(n, ENT_LAYER_RELU, "relu3");
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop3")->dropout.p = n->opts.dropout;
    ent_net_chain(n, ENT_LAYER_DENSE, "fc2")->dense.out = n->n_classes;
    return ENT_OK;
}
