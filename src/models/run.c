/* run.c — one pass over the model's graph: the forward calls in node
 * order, the loss node last, then the backward calls in reverse (store
 * mode, model_internal.h), on the training plan when a gradient is asked
 * for and on the evaluation plan when not. */
#include "layers/fused.h"
#include "models/model_internal.h"

static float *at(const ent_plan *p, const int64_t *off, int i) {
    return off[i] < 0 ? NULL : p->base + off[i];
}

/* Input j of node i under plan p (x for the model input). */
static const float *input_of(const ent_model *m, const ent_plan *p, int i, int j, const float *x) {
    const int src = m->nodes[i].in[j];
    return src == ENT_NODE_INPUT ? x : at(p, p->act, src);
}

/* A block is a chain: each member reads only the one before, which no
 * other node reads. Its first node stores its input gradient. */
int ent_model_span(const ent_model *m, int i) {
    if (m->unfused || m->nodes[i].din_add[0]) return 1;
    const int span = ent_fused_span(m->layers, m->n_layers, i);
    for (int k = 1; k < span; k++) {
        const ent_node *nd = &m->nodes[i + k];
        if (nd->n_in != 1 || nd->in[0] != i + k - 1 || m->nodes[i + k - 1].consumers != 1)
            return k >= 2 ? k : 1;
    }
    return span;
}

void ent_model_block_starts(const ent_model *m, int *first) {
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        for (int k = 0; k < span; k++) first[i + k] = i;
    }
}

static void forward_call(ent_model *m, const ent_plan *p, int i, int span, const float *theta,
                         const float *x, ent_ctx *ctx) {
    ent_layer *l = &m->layers[i];
    float *out = at(p, p->act, i + span - 1);
    float *saved[3];
    for (int k = 0; k < span; k++) saved[k] = at(p, p->saved, i + k);
    if (span > 1) {
        ent_fused_forward(l, span, theta, input_of(m, p, i, 0, x), out, saved, ctx);
    } else if (l->ops->forward_n) {
        const float *in[2] = {input_of(m, p, i, 0, x), input_of(m, p, i, 1, x)};
        l->ops->forward_n(l, theta, in, out, saved[0], ctx);
    } else {
        l->ops->forward(l, theta, input_of(m, p, i, 0, x), out, saved[0], ctx);
    }
}

void ent_model_forward_at(ent_model *m, int i, int span, const float *theta, const float *x,
                          ent_ctx *ctx) {
    forward_call(m, &m->train, i, span, theta, x, ctx);
}

/* The gradient buffer for input j of node i, NULL when nothing upstream
 * needs one (the data, or nodes with nothing trainable above them). */
static float *din_of(const ent_model *m, int i, int j) {
    const int src = m->nodes[i].in[j];
    if (src == ENT_NODE_INPUT || !m->nodes[src].grad_below) return NULL;
    return at(&m->train, m->train.grad, src);
}

void ent_model_backward_at(ent_model *m, int i, int last, const float *theta, const float *x,
                           float *grad, ent_ctx *ctx) {
    const ent_plan *p = &m->train;
    const ent_layer *l = &m->layers[i];
    if (!m->nodes[last].grad_below) return;
    const float *out = at(p, p->act, last);
    const float *dout = m->nodes[last].consumers ? at(p, p->grad, last) : NULL;
    ctx->store = 1;
    for (int j = 0; j < 2; j++) ctx->din_add[j] = j < m->nodes[i].n_in && m->nodes[i].din_add[j];
    float *saved[3];
    for (int k = 0; k <= last - i; k++) saved[k] = at(p, p->saved, i + k);
    if (last > i) {
        ent_fused_backward(l, last - i + 1, theta, input_of(m, p, i, 0, x), out, saved,
                           dout, at(p, p->grad, i), din_of(m, i, 0), grad, ctx);
    } else if (l->ops->backward_n) {
        const float *in[2] = {input_of(m, p, i, 0, x), input_of(m, p, i, 1, x)};
        float *din[2] = {din_of(m, i, 0), din_of(m, i, 1)};
        l->ops->backward_n(l, theta, in, out, saved[0], dout, din, grad, ctx);
    } else {
        l->ops->backward(l, theta, input_of(m, p, i, 0, x), out, saved[0], dout,
                         din_of(m, i, 0), grad, ctx);
    }
    ctx->din_add[0] = ctx->din_add[1] = 0;
}

/* Every trainable tensor belongs to a node whose backward runs
 * (grad_below), so grad is fully written without zeroing it first. Below
 * the lowest such node nothing runs, and the nodes reading the data get
 * no input gradient (mnistfc's fc1 then skips its largest GEMM). */
static void backward_all(ent_model *m, const float *theta, const float *x, float *grad,
                         ent_ctx *ctx) {
    for (int last = m->n_layers - 1; last >= 0; last = m->first[last] - 1)
        ent_model_backward_at(m, m->first[last], last, theta, x, grad, ctx);
}

ent_status ent_model_run(ent_model *m, const float *theta, float *buffers,
                         const float *x, const int32_t *y, int64_t n,
                         int train, ent_rng *rng, float *grad, double *loss,
                         int64_t *correct) {
    return ent_model_run_state(m, theta, buffers, NULL, NULL, x, y, n, train, rng, grad, loss,
                               correct);
}

ent_status ent_model_run_state(ent_model *m, const float *theta, float *buffers,
                               const float *state_in, float *state_out, const float *x,
                               const int32_t *y, int64_t n, int train, ent_rng *rng,
                               float *grad, double *loss, int64_t *correct) {
    if (n < 1 || n > m->max_batch)
        return ent_fail(ENT_EINVAL, "batch of %lld samples, model planned for 1..%lld",
                        (long long)n, (long long)m->max_batch);
    ent_status s = grad ? ent_model_train_workspace(m) : ENT_OK;
    if (s != ENT_OK) return s;
    const ent_plan *p = grad ? &m->train : &m->eval;
    ent_ctx ctx = {.train = train, .n = n, .rng = rng, .buffers = buffers,
                   .scratch = m->scratch, .y = y, .state_in = state_in, .state_out = state_out,
                   .state_stride = m->state_size};
    for (int i = 0, span; i < m->n_layers; i += span) {
        span = ent_model_span(m, i);
        forward_call(m, p, i, span, theta, x, &ctx);
    }
    m->last = p;
    if (loss) *loss = ctx.loss;
    if (correct) *correct = ctx.correct;
    if (grad) backward_all(m, theta, x, grad, &ctx);
    return ENT_OK;
}

ent_status ent_model_set_fused(ent_model *m, int on) {
    m->unfused = !on;
    return ent_model_plan_memory(m);
}

const float *ent_model_logits(const ent_model *m) {
    const ent_plan *p = m->last ? m->last : &m->eval;
    return at(p, p->act, m->nodes[m->n_layers - 1].in[0]);
}

ent_status ent_model_evaluate(ent_model *m, const float *theta, float *buffers,
                              const ent_dataset *d, double *loss,
                              double *error) {
    const int64_t per = d->c * d->h * d->w, ny = ent_dataset_labels(d); /* token windows: T labels */
    int64_t wrong = 0;
    double total = 0.0;
    for (int64_t i = 0; i < d->n; i += m->max_batch) {
        int64_t n = d->n - i < m->max_batch ? d->n - i : m->max_batch, right = 0;
        double l = 0.0;
        ent_status s = ent_model_run(m, theta, buffers, d->x + i * per, d->y + i * ny, n,
                                     0, NULL, NULL, &l, &right);
        if (s != ENT_OK) return s;
        total += l * (double)(n * ny);
        wrong += n * ny - right;
    }
    if (loss) *loss = total / (double)(d->n * ny);
    if (error) *error = (double)wrong / (double)(d->n * ny);
    return ENT_OK;
}
