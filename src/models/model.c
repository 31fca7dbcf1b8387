/* model.c — a model is a list of layers plus the tables that place their
 * tensors in the flat vectors theta (trainable) and buffers (running
 * statistics). Every activation, gradient, saved and scratch buffer is
 * planned and allocated here, once, for max_batch samples. */
#include <stdio.h>
#include <string.h>

#include "layers/fused.h"
#include "models/model_internal.h"

#define ALIGN_FLOATS 16

/* Workspace buffers are padded to 16 floats (64 bytes). The parameter and
 * buffer vectors are NOT: tensors lie back to back, so theta is exactly the
 * concatenation of the state_dict tensors and has no gaps that an optimizer
 * (SGLD noise, say) could fill with values no checkpoint records. */
static int64_t align_up(int64_t x) {
    return (x + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

ent_model_opts ent_model_opts_default(void) {
    ent_model_opts o = {.dropout = -1.0f, .input_dropout = -1.0f,
                        .bn_momentum = 0.1f, .bn_eps = 1e-5f};
    return o;
}

ent_layer *ent_model_add(ent_model *m, ent_layer_kind kind, const char *name) {
    static ent_layer overflow; /* never planned: ent_model_new reports it */
    if (m->n_layers >= ENT_MAX_LAYERS) {
        m->n_layers++;
        return &overflow;
    }
    ent_layer *l = &m->layers[m->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->ops = ent_layer_ops_of(kind);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->bn.eps = m->opts.bn_eps;
    l->bn.momentum = m->opts.bn_momentum;
    return l;
}

/* Give each tensor of each layer its offset and a full state_dict name. */
static void place_tensors(ent_model *m) {
    for (int i = 0; i < m->n_layers; i++) {
        ent_layer *l = &m->layers[i];
        for (int t = 0; t < l->n_tensors; t++) {
            ent_tensor_info *ti = &l->tensors[t];
            int buf = l->is_buffer[t];
            int64_t *end = buf ? &m->n_buffer : &m->n_param;
            ent_tensor_info *rec = buf ? &m->buffers[m->n_buffers++]
                                       : &m->params[m->n_params++];
            ti->offset = *end;
            *end += ti->numel;
            *rec = *ti;
            snprintf(rec->name, sizeof rec->name, "%s.%s", l->name, ti->name);
        }
    }
}

static ent_status plan_layers(ent_model *m) {
    int64_t c = m->in_c, h = m->in_h, w = m->in_w;
    int64_t act = 0, saved = 0, scratch = 0;
    for (int i = 0; i < m->n_layers; i++) {
        ent_layer *l = &m->layers[i];
        l->in_c = c, l->in_h = h, l->in_w = w;
        l->max_batch = m->max_batch;
        ent_status s = l->ops->plan(l);
        if (s != ENT_OK) return s;
        c = l->out_c, h = l->out_h, w = l->out_w;
        m->act_off[i] = act;
        act += align_up(m->max_batch * ent_layer_out_size(l));
        m->saved_off[i] = saved;
        saved += align_up(l->saved);
        if (l->scratch > scratch) scratch = l->scratch;
    }
    if (c * h * w != m->n_classes)
        return ent_fail(ENT_ESHAPE, "preset %s ends with %lld outputs, want %lld classes",
                        m->preset, (long long)(c * h * w), (long long)m->n_classes);
    int64_t k = m->max_batch * m->n_classes;
    m->act = ent_alloc(sizeof(float) * (size_t)act);
    m->dact = ent_alloc(sizeof(float) * (size_t)act);
    m->saved = ent_alloc(sizeof(float) * (size_t)(saved + 1));
    m->scratch = ent_alloc(sizeof(float) * (size_t)(scratch + 1));
    m->prob = ent_alloc(sizeof(float) * (size_t)k);
    m->dlogits = ent_alloc(sizeof(float) * (size_t)k);
    if (!m->act || !m->dact || !m->saved || !m->scratch || !m->prob || !m->dlogits)
        return ent_fail(ENT_ENOMEM, "model %s: cannot allocate the workspace", m->preset);
    return ENT_OK;
}

/* Keep in step with the dispatch in ent_model_new below. */
static const char *const preset_names[] = {"mnistfc", "lenet", "small-mnistfc",
                                           "small-lenet", "tiny-mnistfc"};

const char *const *ent_model_presets(int *n) {
    *n = (int)(sizeof preset_names / sizeof preset_names[0]);
    return preset_names;
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
    snprintf(m->preset, sizeof m->preset, "%s", preset);
    m->opts = opts ? *opts : ent_model_opts_default();
    m->in_c = in_c, m->in_h = in_h, m->in_w = in_w;
    m->n_classes = n_classes, m->max_batch = max_batch;
    ent_status s;
    if (strcmp(preset, "mnistfc") == 0)
        s = ent_preset_mnistfc(m);
    else if (strcmp(preset, "lenet") == 0)
        s = ent_preset_lenet(m);
    else if (strcmp(preset, "small-mnistfc") == 0)
        s = ent_preset_small_mnistfc(m);
    else if (strcmp(preset, "small-lenet") == 0)
        s = ent_preset_small_lenet(m);
    else if (strcmp(preset, "tiny-mnistfc") == 0)
        s = ent_preset_tiny_mnistfc(m);
    else
        s = ent_fail(ENT_EUSAGE, "unknown model '%s' (known: mnistfc, lenet, small-mnistfc, small-lenet, tiny-mnistfc)", preset);
    if (s == ENT_OK && m->n_layers > ENT_MAX_LAYERS)
        s = ent_fail(ENT_EINVAL, "model %s: more than %d layers", preset, ENT_MAX_LAYERS);
    if (s == ENT_OK) s = plan_layers(m);
    if (s != ENT_OK) {
        ent_model_free(m);
        return s;
    }
    place_tensors(m);
    *out = m;
    return ENT_OK;
}

void ent_model_free(ent_model *m) {
    if (!m) return;
    ent_free_aligned(m->act);
    ent_free_aligned(m->dact);
    ent_free_aligned(m->saved);
    ent_free_aligned(m->scratch);
    ent_free_aligned(m->prob);
    ent_free_aligned(m->dlogits);
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
        /* one stream per layer: adding a layer leaves the others unchanged */
        ent_rng rng;
        ent_rng_init(&rng, seed, 100 + (uint64_t)i);
        if (m->layers[i].ops->init) m->layers[i].ops->init(&m->layers[i], theta, buffers, &rng);
    }
}

static const float *layer_input(const ent_model *m, int i, const float *x) {
    return i == 0 ? x : m->act + m->act_off[i - 1];
}

int ent_model_span(const ent_model *m, int i) {
    return m->unfused ? 1 : ent_fused_span(m->layers, m->n_layers, i);
}

void ent_model_block_starts(const ent_model *m, int *first) {
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        for (int k = 0; k < span; k++) first[i + k] = i;
    }
}

int ent_model_lowest_trained(const ent_model *m) {
    int lowest = m->n_layers - 1;
    for (int i = m->n_layers - 1; i >= 0; i--)
        for (int t = 0; t < m->layers[i].n_tensors; t++)
            if (!m->layers[i].is_buffer[t]) lowest = i;
    return lowest;
}

static void saved_of(ent_model *m, int i, int span, float **saved) {
    for (int k = 0; k < span; k++) saved[k] = m->saved + m->saved_off[i + k];
}

void ent_model_forward_at(ent_model *m, int i, int span, const float *theta,
                          const float *x, ent_ctx *ctx) {
    ent_layer *l = &m->layers[i];
    float *out = m->act + m->act_off[i + span - 1];
    float *saved[3];
    saved_of(m, i, span, saved);
    if (span > 1)
        ent_fused_forward(l, span, theta, layer_input(m, i, x), out, saved, ctx);
    else
        l->ops->forward(l, theta, layer_input(m, i, x), out, saved[0], ctx);
}

float *ent_model_backward_at(ent_model *m, int i, int last, int lowest,
                             const float *theta, const float *x,
                             const float *dout, float *grad, ent_ctx *ctx) {
    ent_layer *l = &m->layers[i];
    float *din = i > lowest ? m->dact + m->act_off[i - 1] : NULL;
    const float *out = m->act + m->act_off[last];
    float *saved[3];
    saved_of(m, i, last - i + 1, saved);
    if (last > i)
        ent_fused_backward(l, last - i + 1, theta, layer_input(m, i, x), out, saved, dout,
                           m->dact + m->act_off[i], din, grad, ctx);
    else
        l->ops->backward(l, theta, layer_input(m, i, x), out, saved[0], dout, din, grad, ctx);
    return din;
}

/* Backward in store mode (layer.h): in this plain list every gradient
 * has one writer, so layers store rather than add and nothing is zeroed
 * first. Below the lowest layer with trainable tensors nothing needs a
 * gradient: that layer gets din = NULL (mnistfc's fc1 then skips its
 * largest GEMM, the gradient for the input dropout) and the layers
 * under it are skipped. Every trainable tensor belongs to a layer that
 * runs, so grad is fully written. A fused block starts with its only
 * trainable layer (batch-norm), so `lowest` is never inside one. */
static void backward_all(ent_model *m, const float *theta, const float *x,
                         float *grad, ent_ctx *ctx) {
    const int lowest = ent_model_lowest_trained(m);
    int first[ENT_MAX_LAYERS];
    ent_model_block_starts(m, first);
    ctx->store = 1;
    const float *dout = m->dlogits;
    for (int last = m->n_layers - 1; last >= lowest; last = first[last] - 1)
        dout = ent_model_backward_at(m, first[last], last, lowest, theta, x, dout, grad, ctx);
}

ent_status ent_model_run(ent_model *m, const float *theta, float *buffers,
                         const float *x, const int32_t *y, int64_t n,
                         int train, ent_rng *rng, float *grad, double *loss,
                         int64_t *correct) {
    if (n < 1 || n > m->max_batch)
        return ent_fail(ENT_EINVAL, "batch of %lld samples, model planned for 1..%lld",
                        (long long)n, (long long)m->max_batch);
    ent_ctx ctx = {.train = train, .n = n, .rng = rng, .buffers = buffers,
                   .scratch = m->scratch};
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        ent_model_forward_at(m, i, span, theta, x, &ctx);
    }
    const float *logits = m->act + m->act_off[m->n_layers - 1];
    int64_t k = m->n_classes, right = 0;
    double l = ent_softmax_ce(logits, y, n, k, m->prob, grad ? m->dlogits : NULL, &right);
    if (loss) *loss = l;
    if (correct) *correct = right;
    if (grad) backward_all(m, theta, x, grad, &ctx);
    return ENT_OK;
}

void ent_model_set_fused(ent_model *m, int on) { m->unfused = !on; }

const float *ent_model_logits(const ent_model *m) {
    return m->act + m->act_off[m->n_layers - 1];
}

ent_status ent_model_evaluate(ent_model *m, const float *theta, float *buffers,
                              const ent_dataset *d, double *loss,
                              double *error) {
    int64_t per = d->c * d->h * d->w, wrong = 0;
    double total = 0.0;
    for (int64_t i = 0; i < d->n; i += m->max_batch) {
        int64_t n = d->n - i < m->max_batch ? d->n - i : m->max_batch, right = 0;
        double l = 0.0;
        ent_status s = ent_model_run(m, theta, buffers, d->x + i * per, d->y + i, n,
                                     0, NULL, NULL, &l, &right);
        if (s != ENT_OK) return s;
        total += l * (double)n;
        wrong += n - right;
    }
    if (loss) *loss = total / (double)d->n;
    if (error) *error = (double)wrong / (double)d->n;
    return ENT_OK;
}
