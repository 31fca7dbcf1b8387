/* rop.c — what the R-operator needs independently of its precision: the
 * per-layer sizes of its saved values and scratch (the double GEMM is
 * dgemm.c).
 * The operator itself is rop_impl.h, instantiated by rop_f64.c and
 * rop_f32.c. */
#include "analysis/rop.h"

int64_t ent_rop_saved(const ent_layer *l, int64_t batch) {
    switch (l->kind) {
    case ENT_LAYER_MAXPOOL: return batch * ent_layer_out_size(l); /* argmax */
    case ENT_LAYER_BATCHNORM: return 4 * l->in_c;                   /* m, s, Rm, Rs */
    default: return 0;
    }
}

/* conv2d: col, col2 [CKK, n OHW]; y2, ry2 [OC, n OHW] (rop_linear_impl.h). */
int64_t ent_rop_scratch(const ent_layer *l, int64_t batch) {
    if (l->kind != ENT_LAYER_CONV2D) return 0;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k, NP = batch * l->out_h * l->out_w;
    return 2 * CKK * NP + 2 * l->out_c * NP;
}

/* The kinds rop_impl.h and nethess_run.h implement (the loss node is the
 * softmax-CE head of nethess.c). */
int ent_rop_supports(const ent_layer *l) {
    switch (l->kind) {
    case ENT_LAYER_CONV2D:
    case ENT_LAYER_AVGPOOL:
    case ENT_LAYER_GLOBAL_AVGPOOL:
    case ENT_LAYER_DENSE:
    case ENT_LAYER_MAXPOOL:
    case ENT_LAYER_BATCHNORM:
    case ENT_LAYER_DROPOUT:
    case ENT_LAYER_RELU:
    case ENT_LAYER_ADD: return 1;
    default: return 0;
    }
}
