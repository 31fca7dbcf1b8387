/* eval_tokens.c — a sequence model over a whole token stream, in eval mode:
 * the stream cut into `batch` streams read in windows of the model's T
 * positions (ent_batches_tokens), the carried state from zero at the start
 * and handed from each window to the next, as a trained model reads text. */
#include <stdlib.h>

#include "entropic.h"

typedef struct {
    ent_batches src;
    float *x, *state[2];
    int32_t *y;
} token_pass;

static void pass_free(token_pass *p) {
    ent_batches_free(&p->src);
    ent_free_aligned(p->x);
    ent_free_aligned(p->y);
    ent_free_aligned(p->state[0]);
    ent_free_aligned(p->state[1]);
}

static ent_status pass_init(token_pass *p, const ent_model *m, const ent_tokens *t, int64_t batch) {
    const int64_t T = ent_model_positions(m), S = batch * ent_model_state_size(m);
    ent_status s = ent_batches_tokens(&p->src, t, batch, T);
    if (s != ENT_OK) return s;
    p->x = ent_alloc(sizeof(float) * (size_t)(batch * T));
    p->y = ent_alloc(sizeof(int32_t) * (size_t)(batch * T));
    for (int k = 0; k < 2; k++) p->state[k] = ent_alloc(sizeof(float) * (size_t)(S > 0 ? S : 1));
    if (!p->x || !p->y || !p->state[0] || !p->state[1]) return ent_fail(ENT_ENOMEM, "evaluation: out of memory");
    if (S > 0) ent_vec_zero(p->state[0], S);
    return ENT_OK;
}

ent_status ent_model_evaluate_tokens(ent_model *m, const float *theta, float *buffers, const ent_tokens *t,
                                     int64_t batch, double *loss, double *error) {
    const int64_t T = ent_model_positions(m);
    if (batch < 1 || batch > ent_model_max_batch(m))
        return ent_fail(ENT_EINVAL, "evaluation batch %lld outside 1..%lld", (long long)batch,
                        (long long)ent_model_max_batch(m));
    token_pass p = {0};
    ent_status s = pass_init(&p, m, t, batch);
    const int64_t windows = s == ENT_OK ? (t->n / batch - 1) / T : 0;
    const int carry = ent_model_state_size(m) > 0;
    double total = 0.0;
    int64_t wrong = 0;
    for (int64_t k = 0; s == ENT_OK && k < windows; k++) {
        const int64_t n = p.src.ops->next(p.src.ctx, p.x, p.y);
        int64_t right = 0;
        double l = 0.0;
        s = ent_model_run_state(m, theta, buffers, carry ? p.state[k & 1] : NULL, carry ? p.state[(k + 1) & 1] : NULL,
                                p.x, p.y, n, 0, NULL, NULL, &l, &right);
        total += l * (double)(n * T);
        wrong += n * T - right;
    }
    const double tokens = (double)(windows * batch * T);
    if (s == ENT_OK && loss) *loss = total / tokens;
    if (s == ENT_OK && error) *error = (double)wrong / tokens;
    pass_free(&p);
    return s;
}
