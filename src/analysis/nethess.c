/* nethess.c — a network's Hessian as an ent_hvp: Hv of the mean
 * cross-entropy over a fixed sample set, exact, by the R-operator of
 * rop.h, in double (default) or float. The samples are processed in
 * chunks of `batch` (nethess_run.h); no dropout; batch-norm on the running
 * statistics unless bn_train. All workspace is planned and allocated here,
 * once. The operator's vectors are double in both precisions; the float
 * engine converts v and Hv at its boundary. */
#include <stdlib.h>
#include <string.h>

#include "analysis/rop.h"
#include "models/model_internal.h"

struct ent_nethess {
    const ent_model *m;
    int64_t P, n, batch;
    int bn_train, single;
    size_t esz;               /* bytes per value: 8 or 4 */
    const float *x;
    const int32_t *y;
    void *theta, *buffers;    /* the point, and the running statistics */
    void *xin;                /* chunk input */
    void *act, *ract;         /* every layer's output and its R */
    int64_t off[ENT_MAX_LAYERS], soff[ENT_MAX_LAYERS];
    void *saved, *scratch;
    void *g[2], *rg[2];       /* adjoints and their R, ping-pong */
    float *v32, *hv32;        /* float engine: v and Hv (P each) */
    int64_t products;
};

#define REAL double
#define FN(name) name##_f64
#include "analysis/nethess_run.h"
#undef REAL
#undef FN
#define REAL float
#define FN(name) name##_f32
#include "analysis/nethess_run.h"
#undef REAL
#undef FN

ent_nethess_opts ent_nethess_opts_default(void) {
    ent_nethess_opts o = {.batch = 128, .bn_train = 0, .single = 0};
    return o;
}

void ent_nethess_free(ent_nethess *h) {
    if (!h) return;
    void *bufs[] = {h->theta, h->buffers, h->xin, h->act, h->ract, h->saved, h->scratch,
                    h->g[0], h->g[1], h->rg[0], h->rg[1], h->v32, h->hv32};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ent_free_aligned(bufs[i]);
    ent_free_aligned(h);
}

static void *valloc(const ent_nethess *h, int64_t n) { return ent_alloc(h->esz * (size_t)(n > 0 ? n : 1)); }

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
    h->theta = valloc(h, h->P), h->buffers = valloc(h, m->n_buffer);
    h->xin = valloc(h, B * m->in_c * m->in_h * m->in_w);
    h->act = valloc(h, act), h->ract = valloc(h, act);
    h->saved = valloc(h, saved), h->scratch = valloc(h, scratch);
    for (int k = 0; k < 2; k++) h->g[k] = valloc(h, B * adj), h->rg[k] = valloc(h, B * adj);
    int ok = h->theta && h->buffers && h->xin && h->act && h->ract && h->saved && h->scratch &&
             h->g[0] && h->g[1] && h->rg[0] && h->rg[1];
    if (h->single) {
        h->v32 = ent_alloc(sizeof(float) * (size_t)h->P), h->hv32 = ent_alloc(sizeof(float) * (size_t)h->P);
        ok = ok && h->v32 && h->hv32;
    }
    return ok ? ENT_OK : ent_fail(ENT_ENOMEM, "hessian: cannot allocate the workspace of %s (batch %lld)",
                                  m->preset, (long long)B);
}

static ent_status apply(void *ctx, const double *v, double *hv) {
    ent_nethess *h = ctx;
    double loss = 0.0;
    int64_t right = 0;
    if (h->single) {
        for (int64_t i = 0; i < h->P; i++) h->v32[i] = (float)v[i];
        run_all_f32(h, h->v32, NULL, h->hv32, &loss, &right);
        for (int64_t i = 0; i < h->P; i++) hv[i] = h->hv32[i];
    } else {
        run_all_f64(h, v, NULL, hv, &loss, &right);
    }
    h->products++;
    return ENT_OK;
}

ent_status ent_nethess_grad(ent_nethess *h, double *grad, double *loss, double *error) {
    double sum = 0.0;
    int64_t right = 0;
    if (h->single) {
        run_all_f32(h, NULL, grad ? h->hv32 : NULL, NULL, &sum, &right);
        for (int64_t i = 0; grad && i < h->P; i++) grad[i] = h->hv32[i];
    } else {
        run_all_f64(h, NULL, grad, NULL, &sum, &right);
    }
    if (loss) *loss = sum / (double)h->n;
    if (error) *error = 1.0 - (double)right / (double)h->n;
    return ENT_OK;
}

ent_status ent_nethess_new(ent_nethess **out, const ent_model *m, const float *theta,
                           const float *buffers, const float *x, const int32_t *y, int64_t n,
                           const ent_nethess_opts *opts) {
    *out = NULL;
    const ent_nethess_opts o = opts ? *opts : ent_nethess_opts_default();
    if (n < 1 || o.batch < 1)
        return ent_fail(ENT_EINVAL, "hessian: %lld samples in chunks of %lld", (long long)n,
                        (long long)o.batch);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= m->n_classes)
            return ent_fail(ENT_EINVAL, "hessian: label %d of sample %lld outside 0..%lld",
                            (int)y[i], (long long)i, (long long)m->n_classes - 1);
    ent_nethess *h = ent_alloc(sizeof *h);
    if (!h) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    h->m = m, h->P = m->n_param, h->n = n, h->batch = o.batch < n ? o.batch : n;
    h->bn_train = o.bn_train, h->single = o.single, h->x = x, h->y = y;
    h->esz = h->single ? sizeof(float) : sizeof(double);
    ent_status s = plan(h);
    if (s != ENT_OK) {
        ent_nethess_free(h);
        return s;
    }
    for (int64_t i = 0; i < h->P; i++) {
        if (h->single) ((float *)h->theta)[i] = theta[i];
        else ((double *)h->theta)[i] = theta[i];
    }
    for (int64_t i = 0; i < m->n_buffer; i++) {
        const float b = buffers ? buffers[i] : 0.0f;
        if (h->single) ((float *)h->buffers)[i] = b;
        else ((double *)h->buffers)[i] = b;
    }
    *out = h;
    return ENT_OK;
}

ent_hvp ent_nethess_hvp(ent_nethess *h) {
    ent_hvp op = {.n = h->P, .ctx = h, .apply = apply};
    return op;
}

void ent_nethess_set_point(ent_nethess *h, const double *theta) {
    for (int64_t i = 0; i < h->P; i++) {
        if (h->single) ((float *)h->theta)[i] = (float)theta[i];
        else ((double *)h->theta)[i] = theta[i];
    }
}

int64_t ent_nethess_products(const ent_nethess *h) { return h->products; }
