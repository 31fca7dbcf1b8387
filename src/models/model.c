/* model.c — a model from a network (net.c: a preset's, or one a user
 * built or described): the loss node appended, the nodes planned in order
 * (each node's shapes from its inputs), their tensors placed in the flat
 * vectors theta (trainable) and buffers (running statistics), and the
 * memory planned (plan.c). The tables are sized from the network: no
 * fixed caps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

ent_model_opts ent_model_opts_default(void) {
    ent_model_opts o = {.dropout = -1.0f, .input_dropout = -1.0f,
                        .bn_momentum = 0.1f, .bn_eps = 1e-5f};
    return o;
}

/* Input j's shape for node i. */
static void input_shape(const ent_model *m, int i, int j, int64_t *c, int64_t *h, int64_t *w) {
    const int p = m->nodes[i].in[j];
    if (p == ENT_NODE_INPUT) {
        *c = m->in_c, *h = m->in_h, *w = m->in_w;
        return;
    }
    *c = m->layers[p].out_c, *h = m->layers[p].out_h, *w = m->layers[p].out_w;
}

/* Shapes node by node, consumer counts, and which backward calls run. */
static ent_status plan_nodes(ent_model *m) {
    for (int i = 0; i < m->n_layers; i++) {
        ent_layer *l = &m->layers[i];
        ent_node *nd = &m->nodes[i];
        input_shape(m, i, 0, &l->in_c, &l->in_h, &l->in_w);
        for (int j = 1; j < nd->n_in; j++) {
            int64_t c, h, w;
            input_shape(m, i, j, &c, &h, &w);
            if (c != l->in_c || h != l->in_h || w != l->in_w)
                return ent_fail(ENT_ESHAPE, "model %s: node '%s' adds %lldx%lldx%lld to %lldx%lldx%lld",
                                m->preset, l->name, (long long)c, (long long)h, (long long)w,
                                (long long)l->in_c, (long long)l->in_h, (long long)l->in_w);
        }
        l->max_batch = m->max_batch;
        ent_status s = l->ops->plan(l);
        if (s != ENT_OK) return s;
        if (l->too_many_tensors)
            return ent_fail(ENT_EINVAL, "model %s: node '%s' (%s) declares more than %d tensors",
                            m->preset, l->name, l->ops->kind_name, ENT_LAYER_MAX_TENSORS);
        l->state_off = m->state_size; /* carried state: the nodes' parts in node order */
        m->state_size += l->state;
        for (int t = 0; t < l->n_tensors; t++) nd->grad_below |= !l->is_buffer[t];
        for (int j = 0; j < nd->n_in; j++)
            if (nd->in[j] != ENT_NODE_INPUT) {
                m->nodes[nd->in[j]].consumers++;
                nd->grad_below |= m->nodes[nd->in[j]].grad_below;
            }
    }
    /* backward in reverse order: the first writer of a gradient stores */
    char *written = calloc((size_t)m->n_layers + 1, 1);
    if (!written) return ent_fail(ENT_ENOMEM, "model %s: out of memory", m->preset);
    for (int i = m->n_layers - 1; i >= 0; i--)
        for (int j = 0; j < m->nodes[i].n_in; j++) {
            const int p = m->nodes[i].in[j];
            if (p == ENT_NODE_INPUT) continue;
            m->nodes[i].din_add[j] = written[p];
            written[p] = 1;
        }
    free(written);
    return ENT_OK;
}

/* Give each tensor of each node its offset and a full state_dict name. */
static ent_status place_tensors(ent_model *m) {
    int count[2] = {0, 0};
    for (int i = 0; i < m->n_layers; i++)
        for (int t = 0; t < m->layers[i].n_tensors; t++) count[m->layers[i].is_buffer[t]]++;
    m->params = calloc((size_t)count[0] + 1, sizeof *m->params);
    m->buffers = calloc((size_t)count[1] + 1, sizeof *m->buffers);
    if (!m->params || !m->buffers) return ent_fail(ENT_ENOMEM, "model %s: out of memory", m->preset);
    for (int i = 0; i < m->n_layers; i++) {
        ent_layer *l = &m->layers[i];
        for (int t = 0; t < l->n_tensors; t++) {
            ent_tensor_info *ti = &l->tensors[t];
            int buf = l->is_buffer[t];
            int64_t *end = buf ? &m->n_buffer : &m->n_param;
            ent_tensor_info *rec = buf ? &m->buffers[m->n_buffers++] : &m->params[m->n_params++];
            ti->offset = *end;
            *end += ti->numel;
            *rec = *ti;
            snprintf(rec->name, sizeof rec->name, "%s.%s", l->name, ti->name);
        }
    }
    return ENT_OK;
}

/* The presets, their builders and the input of the data their papers
 * train them on (MNIST-like 1x28x28 or CIFAR-10's 3x32x32; for the
 * sequence models windows of T tokens, T x 1 x 1). */
static const struct {
    const char *name;
    ent_status (*build)(ent_net *n);
    int64_t c, h, w;
} presets[] = {
    {"mnistfc", ent_preset_mnistfc, 1, 28, 28},
    {"lenet", ent_preset_lenet, 1, 28, 28},
    {"small-mnistfc", ent_preset_small_mnistfc, 1, 28, 28},
    {"small-lenet", ent_preset_small_lenet, 1, 28, 28},
    {"tiny-mnistfc", ent_preset_tiny_mnistfc, 1, 28, 28},
    {"allcnn", ent_preset_allcnn, 3, 32, 32},
    {"resnet18", ent_preset_resnet18, 3, 32, 32},
    {"wrn-16-4", ent_preset_wrn_16_4, 3, 32, 32},
    {"charlstm", ent_preset_charlstm, 50, 1, 1},
    {"ptblstm-large", ent_preset_ptblstm_large, 35, 1, 1},
    {"ptblstm-medium", ent_preset_ptblstm_medium, 35, 1, 1},
    {"tiny-charlstm", ent_preset_tiny_charlstm, 50, 1, 1},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

const char *const *ent_model_presets(int *n) {
    static const char *names[N_PRESETS];
    for (int i = 0; i < N_PRESETS; i++) names[i] = presets[i].name;
    *n = N_PRESETS;
    return names;
}

static int preset_index(const char *name) {
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(presets[i].name, name) == 0) return i;
    return -1;
}

ent_status ent_model_preset_input(const char *preset, int64_t *c, int64_t *h, int64_t *w) {
    const int i = preset_index(preset);
    if (i < 0) return ent_fail(ENT_EUSAGE, "unknown model '%s'", preset);
    *c = presets[i].c, *h = presets[i].h, *w = presets[i].w;
    return ENT_OK;
}

static ent_status build_preset(ent_net *n, const char *preset) {
    const int i = preset_index(preset);
    if (i >= 0) return presets[i].build(n);
    char known[512] = ""; /* from the table, so the message cannot drift from it */
    for (int k = 0; k < N_PRESETS; k++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", presets[k].name);
    return ent_fail(ENT_EUSAGE, "unknown model '%s' (known: %s)", preset, known);
}

ent_status ent_net_preset(ent_net **out, const char *preset, const ent_model_opts *opts,
                          int64_t n_classes) {
    *out = NULL;
    ent_net *n = ent_net_new(preset);
    if (!n) return ent_fail(ENT_ENOMEM, "model %s: out of memory", preset);
    n->opts = opts ? *opts : ent_model_opts_default();
    n->n_classes = n_classes;
    ent_status s = build_preset(n, preset);
    if (s == ENT_OK) s = n->err;
    if (s != ENT_OK) {
        ent_net_free(n);
        return s;
    }
    *out = n;
    return ENT_OK;
}

/* The model's own nodes: the network's, then the loss. */
static ent_status take_nodes(ent_model *m, const ent_net *net) {
    ent_net *c = ent_net_copy(net);
    m->net = ent_net_copy(net);
    if (!c || !m->net) {
        ent_net_free(c);
        return ent_fail(ENT_ENOMEM, "model %s: out of memory", m->preset);
    }
    ent_net_chain(c, ENT_LAYER_SOFTMAX_CE, "loss");
    ent_status s = c->err;
    m->layers = c->layers, m->nodes = c->nodes, m->n_layers = c->n, m->cap = c->cap;
    c->layers = NULL, c->nodes = NULL;
    ent_net_free(c);
    return s;
}

/* After the builder: shapes, tensors, memory. */
static ent_status finish(ent_model *m, const ent_net *net) {
    if (net->err != ENT_OK) return net->err;
    if (net->n < 1) return ent_fail(ENT_EINVAL, "model %s has no layers", m->preset);
    ent_status s = take_nodes(m, net);
    if (s == ENT_OK) s = plan_nodes(m);
    if (s != ENT_OK) return s;
    const ent_layer *loss = &m->layers[m->n_layers - 1];
    if (ent_loss_classes(loss) != m->n_classes)
        return ent_fail(ENT_ESHAPE, "model %s ends with %lld outputs, want %lld classes", m->preset,
                        (long long)ent_loss_classes(loss), (long long)m->n_classes);
    s = place_tensors(m);
    return s == ENT_OK ? ent_model_plan_memory(m) : s;
}

ent_status ent_model_new_net(ent_model **out, const ent_net *net, int64_t in_c, int64_t in_h,
                             int64_t in_w, int64_t n_classes, int64_t max_batch) {
    *out = NULL;
    if (max_batch < 1 || in_c < 1 || in_h < 1 || in_w < 1 || n_classes < 2)
        return ent_fail(ENT_EINVAL, "model %s: bad input shape or batch", net->name);
    ent_model *m = ent_alloc(sizeof *m);
    if (!m) return ent_fail(ENT_ENOMEM, "model: out of memory");
    memset(m, 0, sizeof *m);
    snprintf(m->preset, sizeof m->preset, "%s", net->name);
    m->opts = net->opts;
    m->in_c = in_c, m->in_h = in_h, m->in_w = in_w;
    m->n_classes = n_classes, m->max_batch = max_batch;
    ent_status s = finish(m, net);
    if (s != ENT_OK) {
        ent_model_free(m);
        return s;
    }
    *out = m;
    return ENT_OK;
}

ent_status ent_model_new(ent_model **out, const char *preset,
                         const ent_model_opts *opts, int64_t in_c,
                         int64_t in_h, int64_t in_w, int64_t n_classes,
                         int64_t max_batch) {
    *out = NULL;
    ent_net *n;
    ent_status s = ent_net_preset(&n, preset, opts, n_classes);
    if (s != ENT_OK) return s;
    s = ent_model_new_net(out, n, in_c, in_h, in_w, n_classes, max_batch);
    ent_net_free(n);
    return s;
}

void ent_model_free(ent_model *m) {
    if (!m) return;
    ent_model_free_plans(m);
    ent_net_free(m->net);
    free(m->layers);
    free(m->nodes);
    free(m->params);
    free(m->buffers);
    ent_free_aligned(m);
}

const ent_net *ent_model_net(const ent_model *m) { return m->net; }
const char *ent_model_preset(const ent_model *m) { return m->preset; }
int64_t ent_model_n_param(const ent_model *m) { return m->n_param; }
int64_t ent_model_n_buffer(const ent_model *m) { return m->n_buffer; }
int64_t ent_model_max_batch(const ent_model *m) { return m->max_batch; }
int64_t ent_model_state_size(const ent_model *m) { return m->state_size; }
int64_t ent_model_positions(const ent_model *m) {
    return ent_loss_positions(&m->layers[m->n_layers - 1]);
}
ent_model_opts ent_model_get_opts(const ent_model *m) { return m->opts; }

const ent_tensor_info *ent_model_params(const ent_model *m, int *count) {
    *count = m->n_params;
    return m->params;
}

const ent_tensor_info *ent_model_buffers(const ent_model *m, int *count) {
    *count = m->n_buffers;
    return m->buffers;
}

void ent_model_init_params(const ent_model *m, float *theta, float *buffers,
                           uint64_t seed) {
    ent_vec_zero(theta, m->n_param);
    if (m->n_buffer) ent_vec_zero(buffers, m->n_buffer);
    for (int i = 0; i < m->n_layers; i++) {
        /* one stream per node: adding a node leaves the others unchanged */
        ent_rng rng;
        ent_rng_init(&rng, seed, 100 + (uint64_t)i);
        if (m->layers[i].ops->init) m->layers[i].ops->init(&m->layers[i], theta, buffers, &rng);
    }
}

int ent_model_n_nodes(const ent_model *m) { return m->n_layers; }

ent_node_info ent_model_node(const ent_model *m, int i) {
    const ent_layer *l = &m->layers[i];
    ent_node_info info = {.name = l->name, .kind = l->ops->kind_name, .n_in = m->nodes[i].n_in,
                          .out_c = l->out_c, .out_h = l->out_h, .out_w = l->out_w};
    for (int j = 0; j < info.n_in; j++) info.in[j] = m->nodes[i].in[j];
    for (int t = 0; t < l->n_tensors; t++)
        if (!l->is_buffer[t]) info.n_param += l->tensors[t].numel;
    return info;
}

int64_t ent_model_workspace_bytes(const ent_model *m, int train) {
    const ent_plan *p = train ? &m->train : &m->eval;
    return (int64_t)sizeof(float) * (p->size + m->n_scratch);
}
