/* net.c — the network builder: nodes appended in order, each a layer's
 * kind, name and settings plus its inputs. The first error is kept in the
 * net (and returned when a model is built from it), so a builder reads as
 * a plain list of calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

ent_net *ent_net_new(const char *name) {
    ent_net *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    snprintf(n->name, sizeof n->name, "%s", name ? name : "net");
    n->opts = ent_model_opts_default();
    n->n_classes = 10;
    return n;
}

void ent_net_free(ent_net *n) {
    if (!n) return;
    free(n->layers);
    free(n->nodes);
    free(n);
}

static void fail(ent_net *n, ent_status s) {
    if (n->err == ENT_OK) n->err = s;
}

/* Room for one more node. */
static int grow(ent_net *n) {
    if (n->n < n->cap) return 1;
    const int cap = n->cap ? 2 * n->cap : 16;
    ent_layer *l = realloc(n->layers, sizeof *l * (size_t)cap);
    if (l) n->layers = l;
    ent_node *nd = realloc(n->nodes, sizeof *nd * (size_t)cap);
    if (nd) n->nodes = nd;
    if (!l || !nd) {
        fail(n, ent_fail(ENT_ENOMEM, "network %s: out of memory", n->name));
        return 0;
    }
    n->cap = cap;
    return 1;
}

/* Why node `name` reading ins[] cannot be added, or NULL. */
static ent_status check_node(const ent_net *n, const ent_layer_ops *ops, const char *name,
                             const int *ins) {
    if (!ops) return ent_fail(ENT_EINVAL, "network %s: node '%s' has an unknown kind", n->name, name);
    if (!name || !name[0] || strlen(name) >= sizeof n->layers[0].name)
        return ent_fail(ENT_EINVAL, "network %s: a node needs a name of 1 to %d characters", n->name,
                        (int)sizeof n->layers[0].name - 1);
    for (int i = 0; i < n->n; i++)
        if (strcmp(n->layers[i].name, name) == 0)
            return ent_fail(ENT_EINVAL, "network %s: two nodes are named '%s'", n->name, name);
    for (int j = 0; j < ops->n_in; j++)
        if (ins[j] < ENT_NODE_INPUT || ins[j] >= n->n)
            return ent_fail(ENT_EINVAL, "network %s: node '%s' reads node %d, which is not before it",
                            n->name, name, ins[j]);
    return ENT_OK;
}

ent_layer *ent_net_node(ent_net *n, ent_layer_kind kind, const char *name, int in0, int in1) {
    static ent_layer sink; /* handed out after an error: never planned */
    const ent_layer_ops *ops = ent_layer_ops_of(kind);
    const int ins[2] = {in0, in1};
    if (n->err == ENT_OK) fail(n, check_node(n, ops, name, ins));
    if (n->err != ENT_OK || !grow(n)) {
        memset(&sink, 0, sizeof sink);
        return &sink;
    }
    ent_layer *l = &n->layers[n->n];
    ent_node *nd = &n->nodes[n->n];
    memset(l, 0, sizeof *l);
    memset(nd, 0, sizeof *nd);
    l->kind = kind;
    l->ops = ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->bn.eps = n->opts.bn_eps;
    l->bn.momentum = n->opts.bn_momentum;
    nd->n_in = ops->n_in;
    for (int j = 0; j < ops->n_in; j++) nd->in[j] = ins[j];
    n->n++;
    return l;
}

ent_layer *ent_net_chain(ent_net *n, ent_layer_kind kind, const char *name) {
    return ent_net_node(n, kind, name, n->n - 1, ENT_NODE_INPUT);
}

ent_net *ent_net_copy(const ent_net *n) {
    ent_net *c = ent_net_new(n->name);
    if (!c) return NULL;
    c->opts = n->opts, c->n_classes = n->n_classes, c->err = n->err;
    if (n->n == 0) return c;
    c->layers = malloc(sizeof *c->layers * (size_t)n->n);
    c->nodes = malloc(sizeof *c->nodes * (size_t)n->n);
    if (!c->layers || !c->nodes) {
        ent_net_free(c);
        return NULL;
    }
    memcpy(c->layers, n->layers, sizeof *c->layers * (size_t)n->n);
    memcpy(c->nodes, n->nodes, sizeof *c->nodes * (size_t)n->n);
    c->n = c->cap = n->n;
    return c;
}

/* ---- the public calls: a node index, or -2 after an error ---- */

static int index_of(const ent_net *n) { return n->err == ENT_OK ? n->n - 1 : -2; }

static void positive(ent_net *n, const char *name, const char *what, int64_t v, int64_t min) {
    if (v < min && n->err == ENT_OK)
        fail(n, ent_fail(ENT_EINVAL, "network %s: node '%s' has %s %lld (at least %lld)", n->name, name,
                         what, (long long)v, (long long)min));
}

int ent_net_dense(ent_net *n, const char *name, int in, int64_t out) {
    positive(n, name, "out_features", out, 1);
    ent_net_node(n, ENT_LAYER_DENSE, name, in, 0)->dense.out = out;
    return index_of(n);
}

int ent_net_conv2d(ent_net *n, const char *name, int in, int64_t out_c, int64_t k, int64_t stride,
                   int64_t pad, int bias) {
    positive(n, name, "out_channels", out_c, 1);
    positive(n, name, "kernel", k, 1);
    positive(n, name, "stride", stride, 1);
    positive(n, name, "padding", pad, 0);
    ent_layer *l = ent_net_node(n, ENT_LAYER_CONV2D, name, in, 0);
    l->conv.out_c = out_c, l->conv.k = k, l->conv.stride = stride, l->conv.pad = pad;
    l->conv.no_bias = !bias;
    return index_of(n);
}

int ent_net_batchnorm(ent_net *n, const char *name, int in) {
    ent_net_node(n, ENT_LAYER_BATCHNORM, name, in, 0);
    return index_of(n);
}

int ent_net_relu(ent_net *n, const char *name, int in) {
    ent_net_node(n, ENT_LAYER_RELU, name, in, 0);
    return index_of(n);
}

int ent_net_dropout(ent_net *n, const char *name, int in, float p) {
    if (!(p >= 0.0f && p <= 1.0f) && n->err == ENT_OK)
        fail(n, ent_fail(ENT_EINVAL, "network %s: node '%s' has dropout p %g (0 to 1)", n->name, name,
                         (double)p));
    ent_net_node(n, ENT_LAYER_DROPOUT, name, in, 0)->dropout.p = p;
    return index_of(n);
}

int ent_net_maxpool(ent_net *n, const char *name, int in, int64_t k, int64_t stride) {
    positive(n, name, "kernel", k, 1);
    positive(n, name, "stride", stride, 1);
    ent_layer *l = ent_net_node(n, ENT_LAYER_MAXPOOL, name, in, 0);
    l->pool.k = k, l->pool.stride = stride;
    return index_of(n);
}

int ent_net_avgpool(ent_net *n, const char *name, int in, int64_t k, int64_t stride, int64_t pad) {
    positive(n, name, "kernel", k, 1);
    positive(n, name, "stride", stride, 1);
    positive(n, name, "padding", pad, 0);
    ent_layer *l = ent_net_node(n, ENT_LAYER_AVGPOOL, name, in, 0);
    l->pool.k = k, l->pool.stride = stride, l->pool.pad = pad;
    return index_of(n);
}

int ent_net_global_avgpool(ent_net *n, const char *name, int in) {
    ent_net_node(n, ENT_LAYER_GLOBAL_AVGPOOL, name, in, 0);
    return index_of(n);
}

int ent_net_add(ent_net *n, const char *name, int a, int b) {
    ent_net_node(n, ENT_LAYER_ADD, name, a, b);
    return index_of(n);
}

int ent_net_linear(ent_net *n, const char *name, int in, int64_t out, int bias) {
    positive(n, name, "out_features", out, 1);
    ent_layer *l = ent_net_node(n, ENT_LAYER_DENSE, name, in, 0);
    l->dense.out = out, l->dense.per_position = 1, l->dense.no_bias = !bias;
    return index_of(n);
}

int ent_net_embedding(ent_net *n, const char *name, int in, int64_t vocab, int64_t dim) {
    positive(n, name, "num_embeddings", vocab, 1);
    positive(n, name, "embedding_dim", dim, 1);
    ent_layer *l = ent_net_node(n, ENT_LAYER_EMBEDDING, name, in, 0);
    l->embed.vocab = vocab, l->embed.dim = dim;
    return index_of(n);
}

int ent_net_onehot(ent_net *n, const char *name, int in, int64_t vocab) {
    positive(n, name, "num_classes", vocab, 1);
    ent_net_node(n, ENT_LAYER_ONEHOT, name, in, 0)->embed.vocab = vocab;
    return index_of(n);
}

int ent_net_lstm(ent_net *n, const char *name, int in, int64_t hidden, int64_t layers, float dropout,
                 float init_range) {
    positive(n, name, "hidden_size", hidden, 1);
    positive(n, name, "num_layers", layers, 1);
    if (!(dropout >= 0.0f && dropout < 1.0f) && n->err == ENT_OK)
        fail(n, ent_fail(ENT_EINVAL, "network %s: node '%s' has dropout %g (0 to below 1)", n->name,
                         name, (double)dropout));
    if (!(init_range >= 0.0f) && n->err == ENT_OK)
        fail(n, ent_fail(ENT_EINVAL, "network %s: node '%s' has init_range %g (0: PyTorch's, or > 0)",
                         n->name, name, (double)init_range));
    ent_layer *l = ent_net_node(n, ENT_LAYER_LSTM, name, in, 0);
    l->lstm.hidden = hidden, l->lstm.layers = layers, l->lstm.p = dropout;
    l->lstm.init_range = init_range;
    return index_of(n);
}

int ent_net_size(const ent_net *n) { return n->n; }
const char *ent_net_name(const ent_net *n) { return n->name; }
ent_status ent_net_status(const ent_net *n) { return n->err; }
