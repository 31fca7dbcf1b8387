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
    /* a support (ent_nethess_set_support): products run from node `first`
     * (0: everything); hv_at[i]: node i holds support; cache: per chunk of
     * batch samples, csz values: the outputs of nodes below first that
     * later nodes read, at coff[node] (-1: not kept); needs_x: a node at
     * or above first reads the data */
    int first, needs_x;
    int64_t row0;             /* rows_from's answer for `first` (-1: not in that mode) */
    unsigned char *hv_at;
    int64_t *coff, csz;
    void *cache;
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
    free(h->off), free(h->hv_at), free(h->coff);
    ent_free_aligned(h->cache);
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
    h->row0 = -1;
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

static int64_t rows_from(void *ctx, int64_t j0);

ent_hvp ent_nethess_hvp(ent_nethess *h) {
    ent_hvp op = {.n = h->P, .ctx = h, .apply = apply, .apply_many = apply_many, .rows_from = rows_from};
    return op;
}

static void cache_fill(ent_nethess *h) {
    if (!h->first) return;
    if (h->single) cache_fill_f32(h, &h->ws[0]);
    else cache_fill_f64(h, &h->ws[0]);
}

void ent_nethess_set_point(ent_nethess *h, const double *theta) {
    for (int64_t i = 0; i < h->P; i++) {
        if (h->single) ((float *)h->theta)[i] = (float)theta[i];
        else ((double *)h->theta)[i] = theta[i];
    }
    cache_fill(h); /* the kept outputs belong to the old point */
}

/* Does a tensor of node i meet one of the ranges? */
static int meets(const ent_layer *l, const int64_t *offset, const int64_t *count, int n_ranges) {
    for (int t = 0; t < l->n_tensors; t++)
        for (int r = 0; r < n_ranges; r++)
            if (l->tensors[t].offset < offset[r] + count[r] && offset[r] < l->tensors[t].offset + l->tensors[t].numel)
                return 1;
    return 0;
}

/* Which outputs of nodes below h->first the nodes at or above it read:
 * their places in one chunk's cache (coff, csz), and needs_x. */
static void cache_plan(ent_nethess *h) {
    const ent_model *m = h->m;
    h->csz = 0, h->needs_x = 0;
    for (int i = 0; i < m->n_layers; i++) h->coff[i] = -1;
    for (int i = h->first; i < m->n_layers - 1; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++) {
            const int p = m->nodes[i].in[j];
            if (p == ENT_NODE_INPUT) h->needs_x = 1;
            else if (p < h->first && h->coff[p] < 0)
                h->coff[p] = h->csz, h->csz += h->batch * ent_layer_out_size(&m->layers[p]);
        }
}

static ent_status support_tables(ent_nethess *h) {
    const ent_model *m = h->m;
    if (!h->hv_at) h->hv_at = calloc((size_t)m->n_layers, 1);
    if (!h->coff) h->coff = malloc(sizeof(int64_t) * (size_t)m->n_layers);
    return h->hv_at && h->coff ? ENT_OK : ent_fail(ENT_ENOMEM, "hessian: out of memory");
}

/* Products from node `first` on (hv_at set): plan, hold and fill the
 * cache of the outputs below it. */
static ent_status run_from(ent_nethess *h, int first) {
    ent_free_aligned(h->cache);
    h->cache = NULL, h->first = first;
    if (!first) return ENT_OK;
    cache_plan(h);
    const int64_t chunks = (h->n + h->batch - 1) / h->batch;
    if (h->first > 0 && h->csz > 0) {
        h->cache = ent_alloc(h->esz * (size_t)(chunks * h->csz));
        if (!h->cache) {
            h->first = 0;
            return ent_fail(ENT_ENOMEM, "hessian: cannot keep the %.3g GB of outputs below the support's first node",
                            (double)h->esz * (double)(chunks * h->csz) / 1e9);
        }
    }
    cache_fill(h);
    return ENT_OK;
}

ent_status ent_nethess_set_support(ent_nethess *h, const int64_t *offset, const int64_t *count, int n_ranges) {
    const ent_model *m = h->m;
    h->row0 = -1;
    if (n_ranges < 1) return run_from(h, 0);
    ent_status s = support_tables(h);
    if (s != ENT_OK) return s;
    int first = -1;
    for (int i = 0; i < m->n_layers - 1; i++) {
        h->hv_at[i] = (unsigned char)meets(&m->layers[i], offset, count, n_ranges);
        if (h->hv_at[i] && first < 0) first = i;
    }
    if (first < 0) {
        run_from(h, 0);
        return ent_fail(ENT_EINVAL, "hessian: the support holds no parameter of %s", m->preset);
    }
    return run_from(h, first);
}

/* ent_hvp.rows_from: v zero below parameter j0, so run from the node that
 * owns j0, with Hv on every node from there on: right from that node's
 * first parameter (tensors lie in node order). Nothing changes while j0
 * stays in the same node; j0 = 0 is the whole network again. */
static int64_t rows_from(void *ctx, int64_t j0) {
    ent_nethess *h = ctx;
    const ent_model *m = h->m;
    int f = 0;
    for (int i = 0; i < m->n_layers - 1; i++)
        for (int t = 0; t < m->layers[i].n_tensors; t++)
            if (m->layers[i].tensors[t].offset <= j0 && j0 < m->layers[i].tensors[t].offset + m->layers[i].tensors[t].numel)
                f = i;
    if (h->row0 >= 0 && f == h->first) return h->row0;
    int64_t r0 = h->P;
    for (int i = f; i < m->n_layers - 1; i++)
        for (int t = 0; t < m->layers[i].n_tensors; t++)
            if (m->layers[i].tensors[t].offset < r0) r0 = m->layers[i].tensors[t].offset;
    if (support_tables(h) != ENT_OK) f = 0, r0 = 0; /* no memory for the tables: whole products */
    for (int i = 0; f && i < m->n_layers; i++) h->hv_at[i] = i >= f;
    if (run_from(h, f) != ENT_OK) { /* no room for the cache: whole products, still right */
        run_from(h, 0);
        return h->row0 = -1, 0;
    }
    return h->row0 = (f ? r0 : 0);
}

int64_t ent_nethess_products(const ent_nethess *h) { return h->products; }

double ent_nethess_bytes(const ent_nethess *h, int threads) {
    const ent_model *m = h->m;
    const double B = (double)h->batch, per = (double)(m->in_c * m->in_h * m->in_w);
    const double ws = (double)h->esz * (B * per + 4.0 * (double)h->n_act + (double)h->n_saved +
                                        (double)h->n_scratch + 4.0 * B * (double)h->n_adj) +
                      (h->single ? 8.0 * (double)h->P : 0.0);
    const double chunks = (double)((h->n + h->batch - 1) / h->batch);
    return ws * (threads > 1 ? threads : 1) + (double)h->esz * (double)h->P + chunks * (double)h->csz * (double)h->esz;
}
