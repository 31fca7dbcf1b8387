/* pieces.h — which thread updates which part of a parameter vector (internal).
 *
 * The optimizers' update loops give thread t of T the t-th of T equal
 * pieces of every tensor of theta, rather than the t-th piece of the whole
 * vector or chunks handed out first come, first served. The reason is the
 * caches: ent_gemm splits a dense layer's weight rows between the threads
 * in its dW product and again in the next forward product (W x^T), so the
 * piece of W, of its gradient and of the optimizer's state that a thread
 * updates is the one it has just written and will read next. Measured on
 * mnistfc at 2 threads (2026-11-23, SGD with Nesterov momentum): the update
 * took 0.56 ms this way against 0.79 ms with dynamic 256-KiB chunks and
 * 0.9-1.0 ms with the vector cut in two halves, and the forward/backward
 * pass after it was 3% faster as well.
 *
 * Pieces are cut at multiples of ENT_PIECE_ALIGN floats from the start of
 * the vector, so loops that work in chunks (Entropy-SGD's noise, drawn per
 * ENT_RNG_CHUNK values) keep their chunk boundaries. Every element is
 * computed the same way whichever thread takes it: results do not depend
 * on the split or the thread count. */
#ifndef ENT_PIECES_H
#define ENT_PIECES_H

#include "entropic.h"

#define ENT_PIECE_ALIGN 256

typedef struct {
    int64_t n;             /* floats in the vector */
    int n_tensors;         /* 0: the vector is one tensor */
    const int64_t *ends;   /* tensor k ends at ends[k] (ends[n_tensors-1] = n) */
} ent_pieces;

/* The split of an objective's parameter vector (obj may be NULL: one tensor). */
static inline ent_pieces ent_pieces_of(const ent_objective *obj, int64_t n) {
    ent_pieces s = {n, 0, NULL};
    if (obj && obj->n_tensors > 0 && obj->tensor_ends &&
        obj->tensor_ends[obj->n_tensors - 1] == n)
        s.n_tensors = obj->n_tensors, s.ends = obj->tensor_ends;
    return s;
}

/* Inside a parallel region: the calling thread's piece of tensor k in
 * [*lo, *hi) (possibly empty). Returns 0 once k is past the last tensor. */
int ent_piece_mine(const ent_pieces *s, int k, int64_t *lo, int64_t *hi);

#endif
