/* nethess_run.h — one chunk of samples through the R-operator, in the
 * precision REAL (a template, included twice by nethess.c with REAL and
 * FN(name) set: _f64 and _f32). Forward (+R) through the model's nodes in
 * order, each by its kind's R-operator (its ops table's rop), the softmax-CE
 * head (the loss node), then backward (+R) in reverse, adding the chunk's share of the gradient (grad) and of Hv (hv);
 * v == NULL: gradient only. An adjoint with several writers is written by
 * the first and added to by the others (through tmp), as in the model. */
/* Input j of node i: the data, a node's output in act, or, for a node
 * below lo (the first node a restricted product runs), its output kept in
 * the chunk's cache (NULL there: R of such a node is zero). */
static const REAL *FN(in_of)(const ent_nethess *h, const REAL *act, const REAL *cache, const REAL *xin,
                             int lo, int i, int j) {
    if (j >= h->m->nodes[i].n_in) return NULL;
    const int p = h->m->nodes[i].in[j];
    if (p == ENT_NODE_INPUT) return xin;
    if (p < lo) return cache ? cache + h->coff[p] : NULL;
    return act + h->off[p];
}

static void FN(add_into)(REAL *dst, const REAL *src, int64_t n) {
    for (int64_t k = 0; k < n; k++) dst[k] += src[k];
}

/* Chunk s .. s+nc. lo > 0 (a product restricted to the support, v zero
 * on every node below lo): nodes below lo are not run, their outputs that
 * later nodes read come from the chunk's cache (filled by cache_fill),
 * backward stops at node lo, and nodes without support write no Hv. */
static void FN(run_chunk)(const ent_nethess *h, nethess_ws *w, int64_t s, int64_t nc, const REAL *v,
                          REAL *grad, REAL *hv, double *loss, int64_t *correct, int lo) {
    const ent_model *m = h->m;
    const int64_t per = m->in_c * m->in_h * m->in_w;
    const int L = m->n_layers - 1, logits = m->nodes[L].in[0]; /* node L: the loss */
    REAL *xin = w->xin, *act = w->act, *ract = w->ract, *saved = w->saved;
    REAL *g = w->g, *rg = w->rg, *tg = w->tg, *trg = w->trg;
    const REAL *th = h->theta;
    const REAL *cache = lo ? (const REAL *)h->cache + (s / h->batch) * h->csz : NULL;
    if (!lo || h->needs_x)
        for (int64_t i = 0; i < nc * per; i++) xin[i] = (REAL)h->x[s * per + i];
    ent_rop_ctx c = {.n = nc, .bn_train = h->bn_train, .buffers = h->buffers, .mask = NULL,
                     .scratch = w->scratch};
    for (int i = lo; i < L; i++) {
        const REAL *in[2] = {FN(in_of)(h, act, cache, xin, lo, i, 0), FN(in_of)(h, act, cache, xin, lo, i, 1)};
        const REAL *rin[2] = {FN(in_of)(h, ract, NULL, NULL, lo, i, 0), FN(in_of)(h, ract, NULL, NULL, lo, i, 1)};
        const ent_layer *l = &m->layers[i];
        l->ops->rop->FN(forward)(l, th, v, in, rin, act + h->off[i], ract + h->off[i],
                                 saved + h->soff[i], &c);
    }
    int64_t right = 0;
    const int64_t T = h->positions; /* labels per sample: the loss is over n*T tokens */
    *loss += FN(ent_rop_softmax_ce)(act + h->off[logits], v ? ract + h->off[logits] : NULL, h->y + s * T,
                                    nc * T, m->n_classes, 1.0 / (double)(h->n * T), g + h->off[logits],
                                    v ? rg + h->off[logits] : NULL, &right);
    *correct += right;
    for (int i = L - 1; i >= lo; i--) {
        const ent_node *nd = &m->nodes[i];
        if (!nd->grad_below) continue;
        const REAL *in[2] = {FN(in_of)(h, act, cache, xin, lo, i, 0), FN(in_of)(h, act, cache, xin, lo, i, 1)};
        const REAL *rin[2] = {FN(in_of)(h, ract, NULL, NULL, lo, i, 0), FN(in_of)(h, ract, NULL, NULL, lo, i, 1)};
        REAL *gin[2] = {NULL, NULL}, *rgin[2] = {NULL, NULL};
        for (int j = 0; j < nd->n_in; j++) {
            const int p = nd->in[j];
            if (p == ENT_NODE_INPUT || p < lo || !m->nodes[p].grad_below) continue;
            const int add = nd->din_add[j];
            gin[j] = add ? tg + j * h->n_adj : g + h->off[p];
            rgin[j] = add ? trg + j * h->n_adj : rg + h->off[p];
        }
        const ent_layer *l = &m->layers[i];
        REAL *hvi = lo && !h->hv_at[i] ? NULL : hv; /* no support here: its Hv is not wanted */
        l->ops->rop->FN(backward)(l, th, v, in, rin, act + h->off[i], saved + h->soff[i],
                                  g + h->off[i], rg + h->off[i], gin, rgin, grad, hvi, &c);
        for (int j = 0; j < nd->n_in; j++) {
            if (!gin[j] || !nd->din_add[j]) continue;
            const int64_t len = nc * ent_layer_out_size(&m->layers[nd->in[j]]);
            FN(add_into)(g + h->off[nd->in[j]], gin[j], len);
            if (v) FN(add_into)(rg + h->off[nd->in[j]], rgin[j], len);
        }
    }
}

/* Every chunk: hv (if v) or grad (if not) over all samples; a product
 * runs from the support's first node (h->first, 0 when unrestricted). */
static void FN(run_all)(const ent_nethess *h, nethess_ws *w, const REAL *v, REAL *grad, REAL *hv,
                        double *loss, int64_t *correct) {
    if (hv) memset(hv, 0, sizeof(REAL) * (size_t)h->P);
    if (grad) memset(grad, 0, sizeof(REAL) * (size_t)h->P);
    const int lo = v ? h->first : 0;
    for (int64_t s = 0; s < h->n; s += h->batch)
        FN(run_chunk)(h, w, s, h->n - s < h->batch ? h->n - s : h->batch, v, grad, hv, loss, correct, lo);
}

/* The cache of a restricted product: for every chunk, the plain forward
 * of the nodes below h->first, keeping the outputs that nodes at or above
 * it read (h->coff). */
static void FN(cache_fill)(const ent_nethess *h, nethess_ws *w) {
    const ent_model *m = h->m;
    const int64_t per = m->in_c * m->in_h * m->in_w;
    REAL *xin = w->xin, *act = w->act;
    ent_rop_ctx c = {.bn_train = h->bn_train, .buffers = h->buffers, .mask = NULL, .scratch = w->scratch};
    for (int64_t s = 0; s < h->n; s += h->batch) {
        const int64_t nc = h->n - s < h->batch ? h->n - s : h->batch;
        REAL *cache = (REAL *)h->cache + (s / h->batch) * h->csz;
        c.n = nc;
        for (int64_t i = 0; i < nc * per; i++) xin[i] = (REAL)h->x[s * per + i];
        for (int i = 0; i < h->first; i++) {
            const REAL *in[2] = {FN(in_of)(h, act, NULL, xin, 0, i, 0), FN(in_of)(h, act, NULL, xin, 0, i, 1)};
            const REAL *rin[2] = {NULL, NULL};
            const ent_layer *l = &m->layers[i];
            l->ops->rop->FN(forward)(l, h->theta, NULL, in, rin, act + h->off[i], w->ract + h->off[i],
                                     (REAL *)w->saved + h->soff[i], &c);
            if (h->coff[i] >= 0)
                memcpy(cache + h->coff[i], act + h->off[i], sizeof(REAL) * (size_t)(nc * ent_layer_out_size(l)));
        }
    }
}
