/* model.c — building a model: nodes appended by the preset builders (or a
 * network description), then planned in order (each node's shapes from its
 * inputs), its tensors placed in the flat vectors theta (trainable) and
 * buffers (running statistics), the loss node appended, and the memory
 * planned (plan.c). The tables grow as needed: no fixed caps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

ent_model_opts ent_model_opts_default(void) {
    ent_model_opts o = {.dropout = -1.0f, .input_dropout = -1.0f,
                        .bn_momentum = 0.1f, .bn_eps = 1e-5f};
    return o;
}

/* Room for one more node; a failure is recorded and NULL returned. */
static int grow(ent_model *m) {
    if (m->n_layers < m->cap) return 1;
    int cap = m->cap ? 2 * m->cap : 16;
    ent_layer *l = realloc(m->layers, sizeof *l * (size_t)cap);
    if (l) m->layers = l;
    ent_node *n = realloc(m->nodes, sizeof *n * (size_t)cap);
    if (n) m->nodes = n;
    if (!l || !n) {
        if (m->build == ENT_OK) m->build = ent_fail(ENT_ENOMEM, "model %s: out of memory", m->preset);
        return 0;
    }
    m->cap = cap;
    return 1;
}

ent_layer *ent_model_add_node(ent_model *m, ent_layer_kind kind, const char *name, int in0,
                              int in1) {
    static ent_layer sink; /* handed out after a failure: never planned */
    const ent_layer_ops *ops = ent_layer_ops_of(kind);
    const int n_in = ops ? ops->n_in : 1, ins[2] = {in0, in1};
    for (int j = 0; j < n_in && m->build == ENT_OK; j++)
        if (ins[j] < ENT_NODE_INPUT || ins[j] >= m->n_layers)
            m->build = ent_fail(ENT_EINVAL, "model %s: node '%s' reads node %d, which is not before it",
                                m->preset, name, ins[j]);
    if (!ops && m->build == ENT_OK)
        m->build = ent_fail(ENT_EINVAL, "model %s: node '%s' has an unknown kind", m->preset, name);
    if (m->build != ENT_OK || !grow(m)) {
        memset(&sink, 0, sizeof sink);
        return &sink;
    }
    ent_layer *l = &m->layers[m->n_layers];
    ent_node *nd = &m->nodes[m->n_layers];
    memset(l, 0, sizeof *l);
    memset(nd, 0, sizeof *nd);
    l->kind = kind;
    l->ops = ops;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->bn.eps = m->opts.bn_eps;
    l->bn.momentum = m->opts.bn_momentum;
    nd->n_in = n_in;
    for (int j = 0; j < n_in; j++) nd->in[j] = ins[j];
    m->n_layers++;
    return l;
}

int ent_model_last(const ent_model *m) { return m->n_layers - 1; }

ent_layer *ent_model_add(ent_model *m, ent_layer_kind kind, const char *name) {
    return ent_model_add_node(m, kind, name, ent_model_last(m), ENT_NODE_INPUT);
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
        if (l->n_tensors > ENT_LAYER_MAX_TENSORS)
            return ent_fail(ENT_EINVAL, "model %s: node '%s' (%s) declares more than %d tensors",
                            m->preset, l->name, l->ops->kind_name, ENT_LAYER_MAX_TENSORS);
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

/* Keep in step with the dispatch in build_preset below. */
static const char *const preset_names[] = {"mnistfc", "lenet", "small-mnistfc",
                                           "small-lenet", "tiny-mnistfc"};

const char *const *ent_model_presets(int *n) {
    *n = (int)(sizeof preset_names / sizeof preset_names[0]);
    return preset_names;
}

static ent_status build_preset(ent_model *m, const char *preset) {
    if (strcmp(preset, "mnistfc") == 0) return ent_preset_mnistfc(m);
    if (strcmp(preset, "lenet") == 0) return ent_preset_lenet(m);
    if (strcmp(preset, "small-mnistfc") == 0) return ent_preset_small_mnistfc(m);
    if (strcmp(preset, "small-lenet") == 0) return ent_preset_small_lenet(m);
    if (strcmp(preset, "tiny-mnistfc") == 0) return ent_preset_tiny_mnistfc(m);
    return ent_fail(ENT_EUSAGE, "unknown model '%s' (known: mnistfc, lenet, small-mnistfc, small-lenet, tiny-mnistfc)", preset);
}

/* After the builder: the loss node, shapes, tensors, memory. */
static ent_status finish(ent_model *m) {
    ent_model_add(m, ENT_LAYER_SOFTMAX_CE, "loss");
    if (m->build != ENT_OK) return m->build;
    if (m->n_layers < 2) return ent_fail(ENT_EINVAL, "model %s has no layers", m->preset);
    ent_status s = plan_nodes(m);
    if (s != ENT_OK) return s;
    const ent_layer *loss = &m->layers[m->n_layers - 1];
    if (ent_layer_in_size(loss) != m->n_classes)
        return ent_fail(ENT_ESHAPE, "model %s ends with %lld outputs, want %lld classes", m->preset,
                        (long long)ent_layer_in_size(loss), (long long)m->n_classes);
    s = place_tensors(m);
    return s == ENT_OK ? ent_model_plan_memory(m) : s;
}

ent_status ent_model_new(ent_model **out, const char *preset,
                         const ent_model_opts *opts, int64_t in_c,
                         int64_t in_h, int64_t in_w, int64_t n_classes,
                         int64_t max_batch) {
    *out = NULL;
    if (max_batch < 1 || in_c < 1 || in_h < 1 || in_w < 1 || n_classes < 2)
        return ent_fail(ENT_EINVAL, "model %s: bad input shape or batch", preset);
    ent_model *m = ent_alloc(sizeof *m);
    if (!m) return ent_fail(ENT_ENOMEM, "model: out of memory");
    memset(m, 0, sizeof *m);
    snprintf(m->preset, sizeof m->preset, "%s", preset);
    m->opts = opts ? *opts : ent_model_opts_default();
    m->in_c = in_c, m->in_h = in_h, m->in_w = in_w;
    m->n_classes = n_classes, m->max_batch = max_batch;
    ent_status s = build_preset(m, preset);
    if (s == ENT_OK) s = finish(m);
    if (s != ENT_OK) {
        ent_model_free(m);
        return s;
    }
    *out = m;
    return ENT_OK;
}

void ent_model_free(ent_model *m) {
    if (!m) return;
    ent_model_free_plans(m);
    free(m->layers);
    free(m->nodes);
    free(m->params);
    free(m->buffers);
    ent_free_aligned(m);
}

const char *ent_model_preset(const ent_model *m) { return m->preset; }
int64_t ent_model_n_param(const ent_model *m) { return m->n_param; }
int64_t ent_model_n_buffer(const ent_model *m) { return m->n_buffer; }
int64_t ent_model_max_batch(const ent_model *m) { return m->max_batch; }
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
