/* lstm.c — the sequence-model presets (docs/models.md): LSTM language
 * models over windows of T tokens, input [T, 1, 1] (token ids), logits
 * [T, 1, V] with V = n_classes, the vocabulary size; the loss is the mean
 * cross-entropy over every token of the batch.
 *
 *   charlstm        embedding(V, 85), 2-layer LSTM(85 -> 128), linear(128, V):
 *                   the character model, windows of T = 50.
 *   ptblstm-large   Zaremba et al. (2014)'s large word model: embedding(V,
 *                   1500), dropout 0.65, 2-layer LSTM(1500) with dropout
 *                   0.65 between the layers, dropout 0.65, linear(1500, V);
 *                   every tensor U(-0.04, 0.04). ~66.0M parameters at V =
 *                   10,000; T = 35.
 *   ptblstm-medium  the same with 650 units, dropout 0.5, U(-0.05, 0.05)
 *                   (~19.8M at V = 10,000).
 *   tiny-charlstm   the Hessian study's character net: one-hot(V), 1-layer
 *                   LSTM(V -> 48), linear(48, V) without bias: 32,640
 *                   parameters at V = 96.
 *
 * opts.dropout (< 0: the preset's) sets every dropout of a preset; the
 * character models have none by default. */
#include "models/model_internal.h"

static void linear(ent_net *n, const char *name, int64_t out, int bias, float init_range) {
    ent_layer *l = ent_net_chain(n, ENT_LAYER_DENSE, name);
    l->dense.out = out, l->dense.per_position = 1, l->dense.no_bias = !bias;
    l->dense.init_range = init_range;
}

static void lstm(ent_net *n, int64_t hidden, int64_t layers, float p, float init_range) {
    ent_layer *l = ent_net_chain(n, ENT_LAYER_LSTM, "lstm");
    l->lstm.hidden = hidden, l->lstm.layers = layers, l->lstm.p = p;
    l->lstm.init_range = init_range;
}

static void embedding(ent_net *n, int64_t dim, float init_range) {
    ent_layer *l = ent_net_chain(n, ENT_LAYER_EMBEDDING, "embed");
    l->embed.vocab = n->n_classes, l->embed.dim = dim, l->embed.init_range = init_range;
}

ent_status ent_preset_charlstm(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.0f;
    embedding(n, 85, 0.0f);
    lstm(n, 128, 2, n->opts.dropout, 0.0f);
    linear(n, "fc", n->n_classes, 1, 0.0f);
    return ENT_OK;
}

/* Zaremba et al.'s regularised word models (their Table 1). */
static ent_status ptb(ent_net *n, int64_t units, float p, float init_range) {
    if (n->opts.dropout < 0) n->opts.dropout = p;
    p = n->opts.dropout;
    embedding(n, units, init_range);
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop_in")->dropout.p = p;
    lstm(n, units, 2, p, init_range);
    ent_net_chain(n, ENT_LAYER_DROPOUT, "drop_out")->dropout.p = p;
    linear(n, "fc", n->n_classes, 1, init_range);
    return ENT_OK;
}

ent_status ent_preset_ptblstm_large(ent_net *n) { return ptb(n, 1500, 0.65f, 0.04f); }
ent_status ent_preset_ptblstm_medium(ent_net *n) { return ptb(n, 650, 0.5f, 0.05f); }

ent_status ent_preset_tiny_charlstm(ent_net *n) {
    if (n->opts.dropout < 0) n->opts.dropout = 0.0f;
    ent_net_chain(n, ENT_LAYER_ONEHOT, "onehot")->embed.vocab = n->n_classes;
    lstm(n, 48, 1, 0.0f, 0.0f);
    linear(n, "fc", n->n_classes, 0, 0.0f);
    return ENT_OK;
}
