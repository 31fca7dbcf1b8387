/* nethess_run.h — one chunk of samples through the R-operator, in the
 * precision REAL (a template, included twice by nethess.c with REAL and
 * FN(name) set: _f64 and _f32). Forward (+R) through every layer, the
 * softmax-CE head, then backward (+R), adding the chunk's share of the
 * gradient (grad) and of Hv (hv); v == NULL: gradient only. */
static void FN(run_chunk)(const ent_nethess *h, nethess_ws *w, int64_t s, int64_t nc, const REAL *v,
                          REAL *grad, REAL *hv, double *loss, int64_t *correct) {
    const ent_model *m = h->m;
    const int64_t per = m->in_c * m->in_h * m->in_w, L = m->n_layers;
    REAL *xin = w->xin, *act = w->act, *ract = w->ract, *saved = w->saved;
    REAL *g[2] = {w->g[0], w->g[1]}, *rg[2] = {w->rg[0], w->rg[1]};
    const REAL *th = h->theta;
    for (int64_t i = 0; i < nc * per; i++) xin[i] = (REAL)h->x[s * per + i];
    ent_rop_ctx c = {.n = nc, .bn_train = h->bn_train, .buffers = h->buffers, .mask = NULL,
                     .scratch = w->scratch};
    for (int64_t i = 0; i < L; i++) {
        const REAL *in = i ? act + h->off[i - 1] : xin, *rin = i ? ract + h->off[i - 1] : NULL;
        FN(ent_rop_forward)(&m->layers[i], th, v, in, rin, act + h->off[i], ract + h->off[i],
                            saved + h->soff[i], &c);
    }
    int64_t right = 0;
    int cur = 0;
    *loss += FN(ent_rop_softmax_ce)(act + h->off[L - 1], v ? ract + h->off[L - 1] : NULL, h->y + s,
                                    nc, m->n_classes, 1.0 / (double)h->n, g[0], v ? rg[0] : NULL, &right);
    *correct += right;
    for (int64_t i = L - 1; i >= 0; i--) {
        const REAL *in = i ? act + h->off[i - 1] : xin, *rin = i ? ract + h->off[i - 1] : NULL;
        FN(ent_rop_backward)(&m->layers[i], th, v, in, rin, act + h->off[i], saved + h->soff[i],
                             g[cur], rg[cur], i ? g[1 - cur] : NULL, i ? rg[1 - cur] : NULL, grad, hv, &c);
        cur = 1 - cur;
    }
}

/* Every chunk: hv (if v) or grad (if not) over all samples. */
static void FN(run_all)(const ent_nethess *h, nethess_ws *w, const REAL *v, REAL *grad, REAL *hv,
                        double *loss, int64_t *correct) {
    if (hv) memset(hv, 0, sizeof(REAL) * (size_t)h->P);
    if (grad) memset(grad, 0, sizeof(REAL) * (size_t)h->P);
    for (int64_t s = 0; s < h->n; s += h->batch)
        FN(run_chunk)(h, w, s, h->n - s < h->batch ? h->n - s : h->batch, v, grad, hv, loss, correct);
}
