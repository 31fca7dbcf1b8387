/* nethess.c — a network's Hessian as an ent_hvp: Hv of the mean
 * cross-entropy over a fixed sample set, exact, by the R-operator of
 * rop.h, in double (default) or float. The samples are processed in
 * chunks of `batch` (nethess_run.h); no dropout; batch-norm on the running
 * statistics unless bn_train. A sequence model's loss is the mean over
 * the n*T tokens (y holds T labels per sample) from a zero carried state.
 * All workspace is planned and allocated here:
 * one set at creation, and one more per thread the first time many
 * products are asked for at once (apply_many: the exact Hessian's columns,
 * one product per thread, since the small GEMMs of one product do not
 * share two cores well). The operator's vectors are double in both
 * precisions; the float engine converts v and Hv at its boundary. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/rop.h"
#include "models/model_internal.h"

#define NETHESS_MAX_WS 64 /* workspaces: threads that may compute products at once */

/* What one product in flight writes. */
typedef struct {
    void *xin;                /* chunk input */
    void *act, *ract;         /* every node's output and its R */
    void *saved, *scratch;
    void *g, *rg;             /* every node's output adjoint and its R */
    void *tg, *trg;           /* an adjoint added to one already written (2 inputs) */
    float *v32, *hv32;        /* float engine: v and Hv (P each) */
} nethess_ws;

struct ent_nethess {
    const ent_model *m;
    int64_t P, n, batch;
    int64_t positions;        /* labels per sample (T for a sequence model, else 1) */
    int bn_train, single;
    size_t esz;               /* bytes per value: 8 or 4 */
    const float *x;
    const int32_t *y;
    void *theta, *buffers;    /* the point, and the running statistics */
    int64_t *off, *soff;      /* per node: its output, its saved values */
    int64_t n_act, n_saved, n_scratch, n_adj; /* workspace sizes (values) */
    int n_ws;
    nethess_ws ws[NETHESS_MAX_WS];
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

static void ws_free(nethess_ws *w) {
    void *bufs[] = {w->xin, w->act, w->ract, w->saved, w->scratch,
                    w->g, w->rg, w->tg, w->trg, w->v32, w->hv32};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ent_free_aligned(bufs[i]);
    *w = (nethess_ws){0};
}

void ent_nethess_free(ent_nethess *h) {
    if (!h) return;
    for (int t = 0; t < h->n_ws; t++) ws_free(&h->ws[t]);
    ent_free_aligned(h->theta), ent_free_aligned(h->buffers);
    free(h->off);
    ent_free_aligned(h);
}

static void *valloc(const ent_nethess *h, int64_t n) { return ent_alloc(h->esz * (size_t)(n > 0 ? n : 1)); }

/* One more workspace of the planned sizes (h->ws[h->n_ws]). */
static ent_status ws_add(ent_nethess *h) {
    const ent_model *m = h->m;
    const int64_t B = h->batch;
    nethess_ws *w = &h->ws[h->n_ws];
    w->xin = valloc(h, B * m->in_c * m->in_h * m->in_w);
    w->act = valloc(h, h->n_act), w->ract = valloc(h, h->n_act);
    w->saved = valloc(h, h->n_saved), w->scratch = valloc(h, h->n_scratch);
    w->g = valloc(h, h->n_act), w->rg = valloc(h, h->n_act);
    w->tg = valloc(h, 2 * B * h->n_adj), w->trg = valloc(h, 2 * B * h->n_adj);
    int ok = w->xin && w->act && w->ract && w->saved && w->scratch && w->g && w->rg && w->tg &&
             w->trg;
    if (h->single) {
        w->v32 = ent_alloc(sizeof(float) * (size_t)h->P), w->hv32 = ent_alloc(sizeof(float) * (size_t)h->P);
        ok = ok && w->v32 && w->hv32;
    }
    if (!ok) {
        ws_free(w);
        return ent_fail(ENT_ENOMEM, "hessian: cannot allocate a workspace of %s (batch %lld)",
                        m->preset, (long long)B);
    }
    h->n_ws++;
    return ENT_OK;
}

/* Offsets and sizes of every buffer, for chunks of h->batch samples. The
 * loss node is the softmax-CE head, which needs none of its own. */
static ent_status plan(ent_nethess *h) {
    const ent_model *m = h->m;
    const int64_t B = h->batch;
    int64_t act = 0, saved = 0, scratch = 0, adj = m->in_c * m->in_h * m->in_w;
    h->off = malloc(sizeof(int64_t) * 2 * (size_t)m->n_layers);
    if (!h->off) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    h->soff = h->off + m->n_layers;
    for (int i = 0; i < m->n_layers - 1; i++) {
        const ent_layer *l = &m->layers[i];
        h->off[i] = act;
        act += B * ent_layer_out_size(l);
        h->soff[i] = saved;
        saved += ent_rop_saved(l, B);
        if (ent_rop_scratch(l, B) > scratch) scratch = ent_rop_scratch(l, B);
        if (ent_layer_out_size(l) > adj) adj = ent_layer_out_size(l);
    }
    h->n_act = act, h->n_saved = saved, h->n_scratch = scratch, h->n_adj = adj;
    h->theta = valloc(h, h->P), h->buffers = valloc(h, m->n_buffer);
    if (!h->theta || !h->buffers) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    return ws_add(h);
}

/* hv = H v on workspace w. */
static void product(ent_nethess *h, nethess_ws *w, const double *v, double *hv) {
    double loss = 0.0;
    int64_t right = 0;
    if (h->single) {
        for (int64_t i = 0; i < h->P; i++) w->v32[i] = (float)v[i];
        run_all_f32(h, w, w->v32, NULL, w->hv32, &loss, &right);
        for (int64_t i = 0; i < h->P; i++) hv[i] = w->hv32[i];
    } else {
        run_all_f64(h, w, v, NULL, hv, &loss, &right);
    }
}

static ent_status apply(void *ctx, const double *v, double *hv) {
    ent_nethess *h = ctx;
    product(h, &h->ws[0], v, hv);
    h->products++;
    return ENT_OK;
}

/* k products, one per thread at a time, each on its own workspace; the
 * GEMMs inside run on their thread alone (no nested parallelism). */
static ent_status apply_many(void *ctx, int64_t k, const double *v, double *hv) {
    ent_nethess *h = ctx;
    int T = ent_get_threads();
    if (T > NETHESS_MAX_WS) T = NETHESS_MAX_WS;
    if (T > k) T = (int)k;
    while (h->n_ws < T)
        if (ws_add(h) != ENT_OK) T = h->n_ws; /* fewer threads rather than fail */
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
    for (int64_t j = 0; j < k; j++)
        product(h, &h->ws[omp_get_thread_num()], v + j * h->P, hv + j * h->P);
    h->products += k;
    return ENT_OK;
}

ent_status ent_nethess_grad(ent_nethess *h, double *grad, double *loss, double *error) {
    double sum = 0.0;
    int64_t right = 0;
    nethess_ws *w = &h->ws[0];
    if (h->single) {
        run_all_f32(h, w, NULL, grad ? w->hv32 : NULL, NULL, &sum, &right);
        for (int64_t i = 0; grad && i < h->P; i++) grad[i] = w->hv32[i];
    } else {
        run_all_f64(h, w, NULL, grad, NULL, &sum, &right);
    }
    const double tokens = (double)(h->n * h->positions);
    if (loss) *loss = sum / tokens;
    if (error) *error = 1.0 - (double)right / tokens;
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
    const int64_t T = ent_model_positions(m);
    for (int64_t i = 0; i < n * T; i++)
        if (y[i] < 0 || y[i] >= m->n_classes)
            return ent_fail(ENT_EINVAL, "hessian: label %d of sample %lld outside 0..%lld",
                            (int)y[i], (long long)(i / T), (long long)m->n_classes - 1);
    for (int i = 0; i < m->n_layers - 1; i++)
        if (!ent_rop_supports(&m->layers[i]))
            return ent_fail(ENT_EUSAGE, "hessian: node '%s' of %s is a %s, which has no R-operator",
                            m->layers[i].name, m->preset, m->layers[i].ops->kind_name);
    ent_nethess *h = ent_alloc(sizeof *h);
    if (!h) return ent_fail(ENT_ENOMEM, "hessian: out of memory");
    memset(h, 0, sizeof *h);
    h->m = m, h->P = m->n_param, h->n = n, h->batch = o.batch < n ? o.batch : n, h->positions = T;
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
    ent_hvp op = {.n = h->P, .ctx = h, .apply = apply, .apply_many = apply_many};
    return op;
}

void ent_nethess_set_point(ent_nethess *h, const double *theta) {
    for (int64_t i = 0; i < h->P; i++) {
        if (h->single) ((float *)h->theta)[i] = (float)theta[i];
        else ((double *)h->theta)[i] = theta[i];
    }
}

int64_t ent_nethess_products(const ent_nethess *h) { return h->products; }
