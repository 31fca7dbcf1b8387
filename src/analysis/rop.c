/* rop.c — the kinds' R-operator tables (the `rop` of their ops tables):
 * the functions of rop_impl.h in both precisions (rop_f64.c, rop_f32.c)
 * and the sizes of their saved values and scratch (the double GEMM is
 * dgemm.c). */
#include "analysis/rop.h"

static int64_t pool_saved(const ent_layer *l, int64_t batch) {
    return batch * ent_layer_out_size(l); /* argmax */
}

static int64_t bn_saved(const ent_layer *l, int64_t batch) {
    return 4 * l->in_c; /* m, s, Rm, Rs */
}

/* conv2d: col, col2 [CKK, n OHW]; y2, ry2 [OC, n OHW] (rop_linear_impl.h). */
static int64_t conv_scratch(const ent_layer *l, int64_t batch) {
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k, NP = batch * l->out_h * l->out_w;
    return 2 * CKK * NP + 2 * l->out_c * NP;
}

/* lstm (rop_lstm_impl.h): gates and their R (4H each), c, Rc, h, Rh per
 * token and layer; backward: gh, Rgh, h', Rh' (H), ga, Rga (4H) per token,
 * gc, Rgc per sample. */
static int64_t lstm_saved(const ent_layer *l, int64_t batch) {
    return l->lstm.layers * batch * l->in_c * 12 * l->lstm.hidden;
}

static int64_t lstm_scratch(const ent_layer *l, int64_t batch) {
    return 12 * batch * l->in_c * l->lstm.hidden + 2 * batch * l->lstm.hidden;
}

#define FNS(k) .forward_f64 = ent_rop_##k##_fwd_f64, .backward_f64 = ent_rop_##k##_bwd_f64, \
               .forward_f32 = ent_rop_##k##_fwd_f32, .backward_f32 = ent_rop_##k##_bwd_f32
const ent_rop_kind ent_rop_dense = {FNS(dense)};
const ent_rop_kind ent_rop_conv2d = {.scratch = conv_scratch, FNS(conv2d)};
const ent_rop_kind ent_rop_batchnorm = {.saved = bn_saved, FNS(batchnorm)};
const ent_rop_kind ent_rop_relu = {FNS(relu)};
const ent_rop_kind ent_rop_maxpool = {.saved = pool_saved, FNS(maxpool)};
const ent_rop_kind ent_rop_dropout = {FNS(dropout)};
const ent_rop_kind ent_rop_avgpool = {FNS(avgpool)}; /* the global one too */
const ent_rop_kind ent_rop_add = {FNS(add)};
const ent_rop_kind ent_rop_embedding = {FNS(embedding)};
const ent_rop_kind ent_rop_onehot = {FNS(onehot)};
const ent_rop_kind ent_rop_lstm = {.saved = lstm_saved, .scratch = lstm_scratch, FNS(lstm)};
#undef FNS

int64_t ent_rop_saved(const ent_layer *l, int64_t batch) {
    const ent_rop_kind *r = l->ops->rop;
    return r && r->saved ? r->saved(l, batch) : 0;
}

int64_t ent_rop_scratch(const ent_layer *l, int64_t batch) {
    const ent_rop_kind *r = l->ops->rop;
    return r && r->scratch ? r->scratch(l, batch) : 0;
}

int ent_rop_supports(const ent_layer *l) { return l->ops->rop != NULL; }
