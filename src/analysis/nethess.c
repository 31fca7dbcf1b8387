/* nethess.c — a network's Hessian as an ent_hvp: Hv of the mean
 * cross-entropy over a fixed sample set, exact, by the R-operator of
 * rop.h, in double. The samples are processed in chunks of `batch`; each
 * chunk runs forward + R-forward through every layer, the softmax-CE head,
 * then backward + R-backward, accumulating its share of Hv. No dropout;
 * batch-norm on the running statistics unless bn_train. All workspace is
 * planned and allocated here, once. */
#include <stdlib.h>
#include <string.h>

#include "analysis/rop.h"
#include "models/model_internal.h"

struct ent_nethess {
    const ent_model *m;
    int64_t P, n, batch;
    int bn_train;
    const float *x;
    const int32_t *y;
    double *theta, *buffers;  /* the point, and the running statistics */
    double *xin;              /* chunk input in double */
    double *act, *ract;       /* every layer's output and its R */
    int64_t off[ENT_MAX_LAYERS], soff[ENT_MAX_LAYERS];
    double *saved, *scratch;
    double *g[2], *rg[2];     /* adjoints and their R, ping-pong */
    int64_t products;
};

static void *dalloc(int64_t n) { return ent_alloc(sizeof(double) * (size_t)(n > 0 ? n : 1)); }

void ent_nethess_free(ent_nethess *h) {
    if (!h) return;
    double *bufs[] = {h->theta, h->buffers, h->xin, h->act, h->ract, h->saved,
                      h->scratch, h->g[0], h->g[1], h->rg[0], h->rg[1]};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ent_free_aligned(bufs[i]);
    ent_free_aligned(h);
}

/* Offsets and sizes of every buffer, for chunks of h->batch samples. */
static ent_status plan(ent_nethess *h) {
    const ent_model *m = h->m;
    const int64_t B = h->batch;
    int64_t act = 0, saved = 0, scratch = 0, adj = m->in_c * m->in_h * m->in_w;
    for (int i = 0; i < m->n_layers; i++) {
        const ent_layer *l = &m->layers[i];
        h->off[i] = act;
        act += B * ent_layer_out_size(l);
        h->soff[i] = saved;
        saved += ent_rop_saved(l, B);
        if (ent_rop_scratch(l, B) > scratch) scratch = ent_rop_scratch(l, B);
        if (ent_layer_out_size(l) > adj) adj = ent_layer_out_size(l);
    }
    h->theta = dalloc(h->P);
    h->buffers = dalloc(m->n_buffer);
    h->xin = dalloc(B * m->in_c * m->in_h * m->in_w);
    h->act = dalloc(act);
    h->ract = dalloc(act);
    h->saved = dalloc(saved);
    h->scratch = dalloc(scratch);
    for (int k = 0; k < 2; k++) h->g[k] = dalloc(B * adj), h->rg[k] = dalloc(B * adj);
    if (!h->theta || !h->buffers || !h->xin || !h->act || !h->ract || !h->saved ||
        !h->scratch || !h->g[0] || !h->g[1] || !h->rg[0] || !h->rg[1])
        return ent_fail(ENT_ENOMEM, "hessian: cannot allocate the workspace of %s (batch %lld)",
                        m->preset, (long long)B);
    return ENT_OK;
}

/* One chunk [s, s + nc): forward (+R), head, backward (+R). v == NULL:
 * gradient only. Adds the chunk's loss sum and correct count. */
static void run_chunk(ent_nethess *h, int64_t s, int64_t nc, const double *v,
                      double *grad, double *hv, double *loss, int64_t *correct) {
    const ent_model *m = h->m;
    const int64_t per = m->in_c * m->in_h * m->in_w, L = m->n_layers;
    for (int64_t i = 0; i < nc * per; i++) h->xin[i] = h->x[s * per + i];
    ent_rop_ctx c = {.n = nc, .bn_train = h->bn_train, .buffers = h->buffers,
                     .mask = NULL, .scratch = h->scratch};
    for (int64_t i = 0; i < L; i++) {
        const ent_layer *l = &m->layers[i];
        const double *in = i ? h->act + h->off[i - 1] : h->xin;
        const double *rin = i ? h->ract + h->off[i - 1] : NULL;
        ent_rop_forward(l, h->theta, v, in, rin, h->act + h->off[i], h->ract + h->off[i],
                        h->saved + h->soff[i], &c);
    }
    int64_t right = 0;
    int cur = 0;
    *loss += ent_rop_softmax_ce(h->act + h->off[L - 1], v ? h->ract + h->off[L - 1] : NULL,
                                h->y + s, nc, m->n_classes, 1.0 / (double)h->n, h->g[0],
                                v ? h->rg[0] : NULL, &right);
    *correct += right;
    for (int64_t i = L - 1; i >= 0; i--) {
        const ent_layer *l = &m->layers[i];
        const double *in = i ? h->act + h->off[i - 1] : h->xin;
        const double *rin = i ? h->ract + h->off[i - 1] : NULL;
        ent_rop_backward(l, h->theta, v, in, rin, h->act + h->off[i], h->saved + h->soff[i],
                         h->g[cur], h->rg[cur], i ? h->g[1 - cur] : NULL,
                         i ? h->rg[1 - cur] : NULL, grad, hv, &c);
        cur = 1 - cur;
    }
}

static ent_status apply(void *ctx, const double *v, double *hv) {
    ent_nethess *h = ctx;
    double loss = 0.0;
    int64_t right = 0;
    memset(hv, 0, sizeof(double) * (size_t)h->P);
    for (int64_t s = 0; s < h->n; s += h->batch)
        run_chunk(h, s, h->n - s < h->batch ? h->n - s : h->batch, v, NULL, hv, &loss, &right);
    h->products++;
    return ENT_OK;
}

ent_status ent_nethess_grad(ent_nethess *h, double *grad, double *loss, double *error) {
    double sum = 0.0;
    int64_t right = 0;
    if (grad) memset(grad, 0, sizeof(double) * (size_t)h->P);
    for (int64_t s = 0; s < h->n; s += h->batch)
        run_chunk(h, s, h->n - s < h->batch ? h->n - s : h->batch, NULL, grad, NULL, &sum, &right);
    if (loss) *loss = sum / (double)h->n;
    if (error) *error = 1.0 - (double)right / (double)h->n;
    return ENT_OK;
}

ent_status ent_nethess_new(ent_nethess **out, const ent_model *m, const float *theta,
                           const float *buffers, const float *x, const int32_t *y,
                           int64_t n, int64_t batch, int bn_train) {
    *out = NULL;
    if (n < 1 || batch < 1)
        return ent_fail(ENT_EINVAL, "hessian: %lld samples in chunks of %lld", (long long)n,
                        (long long)batch);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= m->n_classes)
            return ent_fail(ENT_EINVAL, "hessian: label %d of sample %lld outside 0..%lld",
                            (int)y[i], (long long)i, (long long)m->n_classes - 1);
    ent_nethess *h = ent_alloc(sizeof *h);
    if (!h) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    h->m = m, h->P = m->n_param, h->n = n, h->batch = batch < n ? batch : n;
    h->bn_train = bn_train, h->x = x, h->y = y;
    ent_status s = plan(h);
    if (s != ENT_OK) {
        ent_nethess_free(h);
        return s;
    }
    for (int64_t i = 0; i < h->P; i++) h->theta[i] = theta[i];
    for (int64_t i = 0; i < m->n_buffer; i++) h->buffers[i] = buffers ? buffers[i] : 0.0;
    *out = h;
    return ENT_OK;
}

ent_hvp ent_nethess_hvp(ent_nethess *h) {
    ent_hvp op = {.n = h->P, .ctx = h, .apply = apply};
    return op;
}

void ent_nethess_set_point(ent_nethess *h, const double *theta) {
    memcpy(h->theta, theta, sizeof(double) * (size_t)h->P);
}

int64_t ent_nethess_products(const ent_nethess *h) { return h->products; }
