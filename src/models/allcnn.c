/* allcnn.c — All-CNN-C with batch-norm after every convolution, the
 * Entropy-SGD paper's CIFAR-10 network (docs/algorithms.md §7; PyTorch
 * module: docs/models.md), as its authors' PyTorch code builds it: input
 * dropout 0.2; three 3x3 convolutions of 96 channels (the third with
 * stride 2); dropout 0.5; three of 192 (the third with stride 2); dropout
 * 0.5; two 3x3 convolutions of 192 and a 1x1 convolution to the classes;
 * each convolution (with bias) followed by batch-norm and ReLU; then the
 * mean of each plane (the code's 8x8 average pool on 32x32 inputs; global,
 * so 1x28x28 inputs work too). 1,667,166 parameters on CIFAR-10. All
 * convolutions pad by 1 (the 1x1 by 0), as in that code. */
#include <stdio.h>

#include "models/model_internal.h"

static void conv_bn_relu(ent_net *n, int i, int64_t out_c, int64_t k, int64_t stride) {
    char conv[16], bn[16], relu[16];
    snprintf(conv, sizeof conv, "conv%d", i), snprintf(bn, sizeof bn, "bn%d", i);
    snprintf(relu, sizeof relu, "relu%d", i);
    ent_layer *l = ent_net_chain(n, ENT_LAYER_CONV2D, conv);
    l->conv.out_c = out_c, l->conv.k = k, l->conv.stride = stride, l->conv.pad = k / 2;
    ent_net_chain(n, ENT_LAYER_BATCHNORM, bn);
    ent_net_chain(n, ENT_LAYER_RELU, relu);
}

ent_status ent_preset_allcnn(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.5f;
    if (n->opts.input_dropout < 0) n->opts.input_dropout = 0.2f;
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = n->opts.input_dropout;
    for (int i = 1; i <= 3; i++) conv_bn_relu(n, i, 96, 3, i == 3 ? 2 : 1);
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop1")->dropout.p = n->opts.dropout;
    for (int i = 4; i <= 6; i++) conv_bn_relu(n, i, 192, 3, i == 6 ? 2 : 1);
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop2")->dropout.p = n->opts.dropout;
    conv_bn_relu(n, 7, 192, 3, 1);
    conv_bn_relu(n, 8, 192, 3, 1);
    conv_bn_relu(n, 9, n->n_classes, 1, 1);
    ent_net_chain(n, ENT_LAYER_GLOBAL_AVGPOOL, "pool");
    return ENT_OK;
}
