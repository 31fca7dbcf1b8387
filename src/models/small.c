/* small.c — the small networks of the Entropy-SGD paper's Hessian study
 * (its section 5.1 and Fig. 1; docs/algorithms.md §7;
 * docs/models.md), plain: no batch-norm, no dropout.
 *
 *   small-mnistfc  784-64-10: fc1, ReLU, fc2. 50,890 parameters (the
 *                  paper's count; its text says 32 hidden units, which
 *                  would give 25,450).
 *   small-lenet    conv 5x5 10 ch, ReLU, max-pool 2/2, conv 5x5 20 ch,
 *                  ReLU, max-pool 2/2, fc 320->128, ReLU, fc 128->10:
 *                  47,658 parameters. The order is that of the authors'
 *                  python/hessian.py (ReLU before the pool); ReLU and
 *                  max-pool commute, so "pool, then ReLU" is the same
 *                  function.
 *   tiny-mnistfc   784-8-10 (6,370 parameters): small enough for the exact
 *                  Hessian on real data (entropic hessian --method exact).
 *
 * Options (dropout) are ignored: these nets have none, as in the paper. */
#include <stdio.h>

#include "models/model_internal.h"

static void conv(ent_net *n, int i, int64_t out_c) {
    char conv[16], relu[16], pool[16];
    snprintf(conv, sizeof conv, "conv%d", i), snprintf(relu, sizeof relu, "relu%d", i);
    snprintf(pool, sizeof pool, "pool%d", i);
    ent_layer *l = ent_net_chain(n, ENT_LAYER_CONV2D, conv);
    l->conv.out_c = out_c;
    l->conv.k = 5;
    l->conv.stride = 1;
    l->conv.pad = 0;
    ent_net_chain(n, ENT_LAYER_RELU, relu);
    l = ent_net_chain(n, ENT_LAYER_MAXPOOL, pool);
    l->pool.k = 2;
    l->pool.stride = 2;
}

static ent_status mlp(ent_net *n, int64_t hidden) {
    n->opts.dropout = 0.0f;
    n->opts.input_dropout = 0.0f;
    ent_net_chain(n, ENT_LAYER_DENSE, "fc1")->dense.out = hidden;
    ent_net_chain(n, ENT_LAYER_RELU, "relu1");
    ent_net_chain(n, ENT_LAYER_DENSE, "fc2")->dense.out = n->n_classes;
    return ENT_OK;
}

ent_status ent_preset_small_mnistfc(ent_net *n) { return mlp(n, 64); }
ent_status ent_preset_tiny_mnistfc(ent_net *n) { return mlp(n, 8); }

ent_status ent_preset_small_lenet(ent_net *n) {
    n->opts.dropout = 0.0f;
    n->opts.input_dropout = 0.0f;
    conv(n, 1, 10);
    conv(n, 2, 20);
    ent_net_chain(n, ENT_LAYER_DENSE, "fc1")->dense.out = 128;
    ent_net_chain(n, ENT_LAYER_RELU, "relu3");
    ent_net_chain(n, ENT_LAYER_DENSE, "fc2")->dense.out = n->n_classes;
    return ENT_OK;
}
