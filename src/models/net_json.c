/* net_json.c — networks as JSON text (docs/models.md, "Network files"):
 *
 *   {"name": "tiny-res", "nodes": [
 *     {"name": "conv1", "kind": "conv2d", "out_channels": 8, "kernel": 3,
 *      "stride": 1, "padding": 1, "bias": false},
 *     {"name": "bn1", "kind": "batchnorm"},
 *     {"name": "relu1", "kind": "relu"},
 *     {"name": "add1", "kind": "add", "in": ["relu1", "conv1"]}, ...]}
 *
 * A node reads the node before it unless "in" names its inputs ("input" is
 * the model input). Each kind has its own settings (below); a key that is
 * not one of them is an error, so a misspelt setting is never ignored. The
 * writer omits "in" where it is the previous node, and writes every
 * setting, so `entropic model show` prints a preset completely. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

/* The settings of each kind, in file order. */
static const char *const keys_of[ENT_LAYER_COUNT][6] = {
    [ENT_LAYER_DENSE] = {"out_features", "flatten", "bias", "init_range"},
    [ENT_LAYER_EMBEDDING] = {"num_embeddings", "embedding_dim", "init_range"},
    [ENT_LAYER_ONEHOT] = {"num_classes"},
    [ENT_LAYER_LSTM] = {"hidden_size", "num_layers", "dropout", "init_range"},
    [ENT_LAYER_CONV2D] = {"out_channels", "kernel", "stride", "padding", "bias"},
    [ENT_LAYER_MAXPOOL] = {"kernel", "stride"},
    [ENT_LAYER_BATCHNORM] = {"eps", "momentum"},
    [ENT_LAYER_DROPOUT] = {"p"},
    [ENT_LAYER_AVGPOOL] = {"kernel", "stride", "padding"},
};

static void write_node(const ent_net *n, int i, ent_json *j) {
    const ent_layer *l = &n->layers[i];
    const ent_node *nd = &n->nodes[i];
    ent_json_begin_object(j, NULL);
    ent_json_string(j, "name", l->name);
    ent_json_string(j, "kind", l->ops->kind_name);
    if (nd->n_in > 1 || nd->in[0] != i - 1) {
        ent_json_begin_array(j, "in");
        for (int k = 0; k < nd->n_in; k++)
            ent_json_string(j, NULL, nd->in[k] == ENT_NODE_INPUT ? "input" : n->layers[nd->in[k]].name);
        ent_json_end_array(j);
    }
    switch (l->kind) {
    case ENT_LAYER_DENSE:
        ent_json_int(j, "out_features", l->dense.out);
        if (l->dense.per_position) ent_json_bool(j, "flatten", 0);
        if (l->dense.no_bias) ent_json_bool(j, "bias", 0);
        if (l->dense.init_range > 0.0f) ent_json_float(j, "init_range", l->dense.init_range);
        break;
    case ENT_LAYER_EMBEDDING:
        ent_json_int(j, "num_embeddings", l->embed.vocab);
        ent_json_int(j, "embedding_dim", l->embed.dim);
        ent_json_float(j, "init_range", l->embed.init_range);
        break;
    case ENT_LAYER_ONEHOT: ent_json_int(j, "num_classes", l->embed.vocab); break;
    case ENT_LAYER_LSTM:
        ent_json_int(j, "hidden_size", l->lstm.hidden);
        ent_json_int(j, "num_layers", l->lstm.layers);
        ent_json_float(j, "dropout", l->lstm.p);
        ent_json_float(j, "init_range", l->lstm.init_range);
        break;
    case ENT_LAYER_CONV2D:
        ent_json_int(j, "out_channels", l->conv.out_c);
        ent_json_int(j, "kernel", l->conv.k);
        ent_json_int(j, "stride", l->conv.stride);
        ent_json_int(j, "padding", l->conv.pad);
        ent_json_bool(j, "bias", !l->conv.no_bias);
        break;
    case ENT_LAYER_AVGPOOL: ent_json_int(j, "padding", l->pool.pad); /* fall through */
    case ENT_LAYER_MAXPOOL:
        ent_json_int(j, "kernel", l->pool.k);
        ent_json_int(j, "stride", l->pool.stride);
        break;
    case ENT_LAYER_BATCHNORM:
        ent_json_float(j, "eps", l->bn.eps);
        ent_json_float(j, "momentum", l->bn.momentum);
        break;
    case ENT_LAYER_DROPOUT: ent_json_float(j, "p", l->dropout.p); break;
    default: break;
    }
    ent_json_end_object(j);
}

void ent_net_write_json(const ent_net *n, ent_json *j) {
    ent_json_begin_object(j, NULL);
    ent_json_string(j, "name", n->name);
    ent_json_begin_array(j, "nodes");
    for (int i = 0; i < n->n; i++) write_node(n, i, j);
    ent_json_end_array(j);
    ent_json_end_object(j);
}

/* ---- reading ---- */

typedef struct {
    const char *path;
    const ent_net *net;
    int node;
} where;

static ent_status bad(const where *w, const char *what, const char *key) {
    return ent_fail(ENT_EFORMAT, "%s: node %d: %s%s%s", w->path, w->node + 1, what, key ? " " : "",
                    key ? key : "");
}

static ent_status get_int(const where *w, const ent_jv *o, const char *key, int64_t min, int64_t *v) {
    const ent_jv *x = ent_jv_get(o, key);
    if (!x) return bad(w, "lacks the setting", key);
    if (x->type != ENT_JSON_NUMBER || x->num != floor(x->num) || x->num < (double)min || x->num > 1e9)
        return ent_fail(ENT_EFORMAT, "%s: node %d: %s must be an integer >= %lld", w->path, w->node + 1,
                        key, (long long)min);
    *v = (int64_t)x->num;
    return ENT_OK;
}

static ent_status get_float(const where *w, const ent_jv *o, const char *key, float lo, float hi,
                            float *v) {
    const ent_jv *x = ent_jv_get(o, key);
    if (!x) return ENT_OK; /* the default stays */
    if (x->type != ENT_JSON_NUMBER || !(x->num >= lo && x->num <= hi))
        return ent_fail(ENT_EFORMAT, "%s: node %d: %s must be a number in [%g, %g]", w->path,
                        w->node + 1, key, (double)lo, (double)hi);
    *v = (float)x->num;
    return ENT_OK;
}

/* The index of the node named s among those before, or ENT_NODE_INPUT. */
static ent_status find_input(const where *w, const ent_net *n, const ent_jv *s, int *idx) {
    if (s->type != ENT_JSON_STRING) return bad(w, "\"in\" must name nodes (strings)", NULL);
    if (strcmp(s->str, "input") == 0) return (*idx = ENT_NODE_INPUT), ENT_OK;
    for (int i = 0; i < n->n; i++)
        if (strcmp(n->layers[i].name, s->str) == 0) return (*idx = i), ENT_OK;
    return bad(w, "reads a node that is not before it:", s->str);
}

static ent_status read_inputs(const where *w, const ent_net *n, const ent_jv *o, int want, int *in) {
    const ent_jv *x = ent_jv_get(o, "in");
    in[0] = n->n - 1, in[1] = ENT_NODE_INPUT;
    if (!x) return want == 1 ? ENT_OK : bad(w, "needs \"in\" with its 2 inputs", NULL);
    if (x->type == ENT_JSON_STRING && want == 1) return find_input(w, n, x, &in[0]);
    if (x->type != ENT_JSON_ARRAY || x->n != want)
        return ent_fail(ENT_EFORMAT, "%s: node %d: \"in\" must list %d input%s", w->path, w->node + 1, want,
                        want > 1 ? "s" : "");
    for (int k = 0; k < want; k++) {
        ent_status s = find_input(w, n, &x->items[k], &in[k]);
        if (s != ENT_OK) return s;
    }
    return ENT_OK;
}

static ent_status check_keys(const where *w, const ent_jv *o, ent_layer_kind kind) {
    for (int64_t k = 0; k < o->n; k++) {
        const char *key = o->keys[k];
        int known = !strcmp(key, "name") || !strcmp(key, "kind") || !strcmp(key, "in");
        for (int s = 0; s < 6 && keys_of[kind][s] && !known; s++) known = !strcmp(key, keys_of[kind][s]);
        if (!known) return bad(w, "has a setting its kind does not take:", key);
    }
    return ENT_OK;
}

/* An optional true/false setting; *v keeps its default when absent. */
static ent_status get_bool(const where *w, const ent_jv *o, const char *key, int *v) {
    const ent_jv *b = ent_jv_get(o, key);
    if (!b) return ENT_OK;
    if (b->type != ENT_JSON_BOOL)
        return ent_fail(ENT_EFORMAT, "%s: node %d: %s must be true or false", w->path, w->node + 1, key);
    *v = b->num != 0.0;
    return ENT_OK;
}

static ent_status read_dense(const where *w, const ent_jv *o, ent_layer *l) {
    int flatten = 1, bias = 1;
    ent_status s = get_int(w, o, "out_features", 1, &l->dense.out);
    if (s == ENT_OK) s = get_bool(w, o, "flatten", &flatten);
    if (s == ENT_OK) s = get_bool(w, o, "bias", &bias);
    if (s == ENT_OK) s = get_float(w, o, "init_range", 0.0f, 1e3f, &l->dense.init_range);
    l->dense.per_position = !flatten, l->dense.no_bias = !bias;
    return s;
}

static ent_status read_lstm(const where *w, const ent_jv *o, ent_layer *l) {
    l->lstm.layers = 1;
    ent_status s = get_int(w, o, "hidden_size", 1, &l->lstm.hidden);
    if (s == ENT_OK && ent_jv_get(o, "num_layers")) s = get_int(w, o, "num_layers", 1, &l->lstm.layers);
    if (s == ENT_OK) s = get_float(w, o, "dropout", 0.0f, 0.999999f, &l->lstm.p);
    if (s == ENT_OK) s = get_float(w, o, "init_range", 0.0f, 1e3f, &l->lstm.init_range);
    return s;
}

static ent_status read_settings(const where *w, const ent_jv *o, ent_layer *l) {
    ent_status s = ENT_OK;
    switch (l->kind) {
    case ENT_LAYER_DENSE: return read_dense(w, o, l);
    case ENT_LAYER_EMBEDDING:
        s = get_int(w, o, "num_embeddings", 1, &l->embed.vocab);
        if (s == ENT_OK) s = get_int(w, o, "embedding_dim", 1, &l->embed.dim);
        return s == ENT_OK ? get_float(w, o, "init_range", 0.0f, 1e3f, &l->embed.init_range) : s;
    case ENT_LAYER_ONEHOT: return get_int(w, o, "num_classes", 1, &l->embed.vocab);
    case ENT_LAYER_LSTM: return read_lstm(w, o, l);
    case ENT_LAYER_CONV2D: {
        const ent_jv *b = ent_jv_get(o, "bias");
        if (b && b->type != ENT_JSON_BOOL) return bad(w, "bias must be true or false", NULL);
        l->conv.no_bias = b && b->num == 0.0;
        l->conv.stride = 1;
        s = get_int(w, o, "out_channels", 1, &l->conv.out_c);
        if (s == ENT_OK) s = get_int(w, o, "kernel", 1, &l->conv.k);
        if (s == ENT_OK && ent_jv_get(o, "stride")) s = get_int(w, o, "stride", 1, &l->conv.stride);
        if (s == ENT_OK && ent_jv_get(o, "padding")) s = get_int(w, o, "padding", 0, &l->conv.pad);
        return s;
    }
    case ENT_LAYER_AVGPOOL:
        if (ent_jv_get(o, "padding")) s = get_int(w, o, "padding", 0, &l->pool.pad);
        /* fall through */
    case ENT_LAYER_MAXPOOL:
        if (s == ENT_OK) s = get_int(w, o, "kernel", 1, &l->pool.k);
        l->pool.stride = l->pool.k; /* PyTorch's default stride */
        if (s == ENT_OK && ent_jv_get(o, "stride")) s = get_int(w, o, "stride", 1, &l->pool.stride);
        return s;
    case ENT_LAYER_BATCHNORM:
        s = get_float(w, o, "eps", 0.0f, 1.0f, &l->bn.eps);
        return s == ENT_OK ? get_float(w, o, "momentum", 0.0f, 1.0f, &l->bn.momentum) : s;
    case ENT_LAYER_DROPOUT:
        if (!ent_jv_get(o, "p")) return bad(w, "lacks the setting", "p");
        return get_float(w, o, "p", 0.0f, 1.0f, &l->dropout.p);
    default: return ENT_OK;
    }
}

static ent_status kind_of(const where *w, const ent_jv *o, ent_layer_kind *kind) {
    const ent_jv *k = ent_jv_get(o, "kind");
    if (!k || k->type != ENT_JSON_STRING) return bad(w, "needs a \"kind\"", NULL);
    for (int i = 0; i < ENT_LAYER_COUNT; i++)
        if (i != ENT_LAYER_SOFTMAX_CE && strcmp(ent_layer_ops_of((ent_layer_kind)i)->kind_name, k->str) == 0)
            return (*kind = (ent_layer_kind)i), ENT_OK;
    return ent_fail(ENT_EFORMAT, "%s: node %d: unknown kind '%s' (dense, conv2d, batchnorm, relu, dropout, "
                    "maxpool, avgpool, global_avgpool, add, embedding, onehot, lstm)", w->path, w->node + 1,
                    k->str);
}

static ent_status read_node(ent_net *n, const where *w, const ent_jv *o) {
    if (o->type != ENT_JSON_OBJECT) return bad(w, "is not an object", NULL);
    const ent_jv *name = ent_jv_get(o, "name");
    if (!name || name->type != ENT_JSON_STRING) return bad(w, "needs a \"name\"", NULL);
    ent_layer_kind kind = ENT_LAYER_RELU;
    int in[2];
    ent_status s = kind_of(w, o, &kind);
    if (s == ENT_OK) s = check_keys(w, o, kind);
    if (s == ENT_OK) s = read_inputs(w, n, o, ent_layer_ops_of(kind)->n_in, in);
    if (s != ENT_OK) return s;
    ent_layer *l = ent_net_node(n, kind, name->str, in[0], in[1]);
    if (n->err != ENT_OK) return ent_fail(n->err, "%s: %s", w->path, ent_last_error());
    return read_settings(w, o, l);
}

ent_status ent_net_parse(ent_net **out, const char *text, size_t len, const char *path) {
    *out = NULL;
    ent_jv root;
    ent_status s = ent_jv_parse(&root, text, len);
    if (s != ENT_OK) return ent_fail(s, "%s: %s", path, ent_last_error());
    const ent_jv *name = ent_jv_get(&root, "name"), *nodes = ent_jv_get(&root, "nodes");
    ent_net *n = NULL;
    if (root.type != ENT_JSON_OBJECT || !nodes || nodes->type != ENT_JSON_ARRAY || nodes->n < 1)
        s = ent_fail(ENT_EFORMAT, "%s: a network file is an object with a non-empty \"nodes\" list", path);
    else if (name && name->type != ENT_JSON_STRING)
        s = ent_fail(ENT_EFORMAT, "%s: \"name\" must be a string", path);
    else if (!(n = ent_net_new(name ? name->str : "net")))
        s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    for (int64_t i = 0; s == ENT_OK && i < nodes->n; i++) {
        const where w = {path, n, (int)i};
        s = read_node(n, &w, &nodes->items[i]);
    }
    ent_jv_free(&root);
    if (s != ENT_OK) {
        ent_net_free(n);
        return s;
    }
    *out = n;
    return ENT_OK;
}

ent_status ent_net_named(ent_net **out, const char *what, const ent_model_opts *opts,
                         int64_t n_classes) {
    int n;
    const char *const *names = ent_model_presets(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], what) == 0) return ent_net_preset(out, what, opts, n_classes);
    if (!strchr(what, '/') && !strchr(what, '.'))
        return ent_fail(ENT_EUSAGE, "unknown model '%s' (a preset: mnistfc, lenet, small-mnistfc, small-lenet, "
                        "tiny-mnistfc, allcnn, resnet18, wrn-16-4, charlstm, ptblstm-large, ptblstm-medium, "
                        "tiny-charlstm; or a network file)", what);
    return ent_net_load(out, what);
}

ent_status ent_net_load(ent_net **out, const char *path) {
    char *text;
    size_t len;
    *out = NULL;
    ent_status s = ent_read_file(path, &text, &len);
    if (s != ENT_OK) return s;
    s = ent_net_parse(out, text, len, path);
    free(text);
    return s;
}
