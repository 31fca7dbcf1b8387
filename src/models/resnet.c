/* resnet.c — residual networks for 32x32 images (they adapt to 1x28x28:
 * the head is a global mean, not a fixed pool).
 *
 * resnet18: the usual CIFAR variant of He et al.'s ResNet-18: a 3x3 stem
 *   of 64 channels (no max-pool), four stages of two basic blocks (64,
 *   128, 256, 512 channels; stages 2-4 start with stride 2), each block
 *   conv3x3-bn-relu-conv3x3-bn plus the shortcut, then ReLU; the shortcut
 *   is a 1x1 convolution with batch-norm where the shape changes, else the
 *   identity. Convolutions have no bias. Tensor names as torchvision's
 *   resnet18 (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc).
 *   11,173,962 parameters on CIFAR-10.
 * wrn-16-4: Zagoruyko & Komodakis's wide ResNet of depth 16, widening 4:
 *   a 3x3 stem of 16 channels, three groups of two pre-activation blocks
 *   (64, 128, 256 channels; groups 2-3 start with stride 2), each block
 *   bn-relu-conv3x3-[dropout]-bn-relu-conv3x3 plus the shortcut (a 1x1
 *   convolution of the block's pre-activated input where the shape
 *   changes, else the identity), then bn-relu, the global mean and fc.
 *   --dropout sets the in-block dropout (default 0: none). Names as the
 *   common PyTorch implementation (block1.layer.0.conv1, convShortcut).
 *   2,748,890 parameters on CIFAR-10. */
#include <stdio.h>

#include "models/model_internal.h"

static int conv(ent_net *n, const char *name, int in, int64_t out_c, int64_t k, int64_t stride) {
    ent_layer *l = ent_net_node(n, ENT_LAYER_CONV2D, name, in, 0);
    l->conv.out_c = out_c, l->conv.k = k, l->conv.stride = stride, l->conv.pad = k / 2;
    l->conv.no_bias = 1;
    return n->n - 1;
}

static int unary(ent_net *n, ent_layer_kind kind, const char *name, int in) {
    ent_net_node(n, kind, name, in, 0);
    return n->n - 1;
}

/* A basic block named pre ("layer2.0") from node x of in_c channels. */
static int basic_block(ent_net *n, const char *pre, int x, int64_t in_c, int64_t out_c,
                       int64_t stride) {
    char name[48];
    int h;
    snprintf(name, sizeof name, "%s.conv1", pre), h = conv(n, name, x, out_c, 3, stride);
    snprintf(name, sizeof name, "%s.bn1", pre), h = unary(n, ENT_LAYER_BATCHNORM, name, h);
    snprintf(name, sizeof name, "%s.relu1", pre), h = unary(n, ENT_LAYER_RELU, name, h);
    snprintf(name, sizeof name, "%s.conv2", pre), h = conv(n, name, h, out_c, 3, 1);
    snprintf(name, sizeof name, "%s.bn2", pre), h = unary(n, ENT_LAYER_BATCHNORM, name, h);
    int sc = x;
    if (stride != 1 || in_c != out_c) {
        snprintf(name, sizeof name, "%s.downsample.0", pre), sc = conv(n, name, x, out_c, 1, stride);
        snprintf(name, sizeof name, "%s.downsample.1", pre), sc = unary(n, ENT_LAYER_BATCHNORM, name, sc);
    }
    snprintf(name, sizeof name, "%s.add", pre);
    ent_net_node(n, ENT_LAYER_ADD, name, h, sc);
    snprintf(name, sizeof name, "%s.relu2", pre);
    return unary(n, ENT_LAYER_RELU, name, n->n - 1);
}

ent_status ent_preset_resnet18(ent_net *n) {
    n->opts.dropout = 0.0f, n->opts.input_dropout = 0.0f;
    int h = conv(n, "conv1", ENT_NODE_INPUT, 64, 3, 1);
    h = unary(n, ENT_LAYER_BATCHNORM, "bn1", h);
    h = unary(n, ENT_LAYER_RELU, "relu", h);
    int64_t c = 64;
    for (int s = 0; s < 4; s++) {
        const int64_t out = 64 << s;
        for (int b = 0; b < 2; b++) {
            char pre[16];
            snprintf(pre, sizeof pre, "layer%d.%d", s + 1, b);
            h = basic_block(n, pre, h, c, out, s > 0 && b == 0 ? 2 : 1);
            c = out;
        }
    }
    h = unary(n, ENT_LAYER_GLOBAL_AVGPOOL, "avgpool", h);
    ent_net_node(n, ENT_LAYER_DENSE, "fc", h, 0)->dense.out = n->n_classes;
    return ENT_OK;
}

/* A pre-activation block named pre ("block2.layer.0"). */
static int wide_block(ent_net *n, const char *pre, int x, int64_t in_c, int64_t out_c,
                      int64_t stride, float drop) {
    char name[48];
    const int equal = in_c == out_c && stride == 1;
    snprintf(name, sizeof name, "%s.bn1", pre);
    int a = unary(n, ENT_LAYER_BATCHNORM, name, x);
    snprintf(name, sizeof name, "%s.relu1", pre), a = unary(n, ENT_LAYER_RELU, name, a);
    snprintf(name, sizeof name, "%s.conv1", pre);
    int h = conv(n, name, a, out_c, 3, stride);
    snprintf(name, sizeof name, "%s.bn2", pre), h = unary(n, ENT_LAYER_BATCHNORM, name, h);
    snprintf(name, sizeof name, "%s.relu2", pre), h = unary(n, ENT_LAYER_RELU, name, h);
    if (drop > 0) {
        snprintf(name, sizeof name, "%s.dropout", pre);
        ent_net_node(n, ENT_LAYER_DROPOUT, name, h, 0)->dropout.p = drop;
        h = n->n - 1;
    }
    snprintf(name, sizeof name, "%s.conv2", pre), h = conv(n, name, h, out_c, 3, 1);
    int sc = x;
    if (!equal) snprintf(name, sizeof name, "%s.convShortcut", pre), sc = conv(n, name, a, out_c, 1, stride);
    snprintf(name, sizeof name, "%s.add", pre);
    ent_net_node(n, ENT_LAYER_ADD, name, h, sc);
    return n->n - 1;
}

ent_status ent_preset_wrn_16_4(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.0f;
    n->opts.input_dropout = 0.0f;
    int h = conv(n, "conv1", ENT_NODE_INPUT, 16, 3, 1);
    int64_t c = 16;
    for (int g = 0; g < 3; g++) {
        const int64_t out = 64 << g;
        for (int b = 0; b < 2; b++) {
            char pre[24];
            snprintf(pre, sizeof pre, "block%d.layer.%d", g + 1, b);
            h = wide_block(n, pre, h, c, out, g > 0 && b == 0 ? 2 : 1, n->opts.dropout);
            c = out;
        }
    }
    h = unary(n, ENT_LAYER_BATCHNORM, "bn1", h);
    h = unary(n, ENT_LAYER_RELU, "relu", h);
    h = unary(n, ENT_LAYER_GLOBAL_AVGPOOL, "avgpool", h);
    ent_net_node(n, ENT_LAYER_DENSE, "fc", h, 0)->dense.out = n->n_classes;
    return ENT_OK;
}
