/* pieces.c — see pieces.h. */
#include <omp.h>

#include "core/pieces.h"

/* A cut at element v, moved down to a multiple of ENT_PIECE_ALIGN (the end
 * of the vector stays where it is). */
static int64_t cut(const ent_pieces *s, int64_t v) {
    return v >= s->n ? s->n : v - v % ENT_PIECE_ALIGN;
}

int ent_piece_mine(const ent_pieces *s, int k, int64_t *lo, int64_t *hi) {
    const int tensors = s->n_tensors > 0 ? s->n_tensors : 1;
    if (k >= tensors) return 0;
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    const int64_t a = k > 0 ? s->ends[k - 1] : 0;
    const int64_t b = s->n_tensors > 0 ? s->ends[k] : s->n;
    /* cut(a) = cut of the previous tensor's end: the pieces tile [0, n) */
    *lo = cut(s, a + (b - a) * t / T);
    *hi = cut(s, a + (b - a) * (t + 1) / T);
    return 1;
}
