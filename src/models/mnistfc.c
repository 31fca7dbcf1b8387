/* mnistfc.c — the fully connected MNIST network of Entropy-SGD (docs/algorithms.md
 * §7; PyTorch module: docs/models.md): input dropout, 784-1024-1024-10
 * with BatchNorm, ReLU and dropout after each hidden layer (the order of
 * the authors' PyTorch code: Linear, BatchNorm1d, ReLU, Dropout). About
 * 1.87M parameters. */
#include <stdio.h>

#include "models/model_internal.h"

/* fc{i}, bn{i}, relu{i}, drop{i} */
static void hidden(ent_net *n, int i, int64_t out) {
    char fc[16], bn[16], relu[16], drop[16];
    snprintf(fc, sizeof fc, "fc%d", i), snprintf(bn, sizeof bn, "bn%d", i);
    snprintf(relu, sizeof relu, "relu%d", i), snprintf(drop, sizeof drop, "drop%d", i);
    ent_net_chain(n, ENT_LAYER_DENSE, fc)->dense.out = out;
    ent_net_chain(n, ENT_LAYER_BATCHNORM, bn);
    ent_net_chain(n, ENT_LAYER_RELU, relu);
    ent_net_chain(n, ENT_LAYER_DROPOUT, drop)->dropout.p = n->opts.dropout;
}

ent_status ent_preset_mnistfc(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.5f;
    if (n->opts.input_dropout < 0) n->opts.input_dropout = 0.2f;
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = n->opts.input_dropout;
    hidden(n, 1, 1024);
    hidden(n, 2, 1024);
    ent_net_chain(n, ENT_LAYER_DENSE, "fc3")->dense.out = n->n_classes;
    return ENT_OK;
}
