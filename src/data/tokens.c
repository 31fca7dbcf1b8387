/* tokens.c — the data edge for token streams (truncated back-propagation
 * through time), as Zaremba et al.'s PTB reader: the stream is cut into
 * `batch` consecutive streams of L = n / batch tokens, and window k of an
 * epoch holds tokens k*steps .. k*steps + steps - 1 of each stream with
 * the token after each as its label. Windows come in order, so sample b of
 * one batch continues sample b of the one before; the position is
 * (epoch, next window), and the epoch changes nothing but the count. */
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

typedef struct {
    const ent_tokens *t;
    int64_t batch, steps;
    int64_t len;        /* L: tokens per stream */
    int64_t windows;    /* per epoch: (L - 1) / steps */
    int64_t epoch, window; /* the next window to give */
    int restarted;      /* the last window given was an epoch's first */
} token_windows;

static int64_t tokens_next(void *ctx, float *x, int32_t *y) {
    token_windows *w = ctx;
    if (w->window >= w->windows) w->epoch++, w->window = 0;
    const int64_t T = w->steps, from = w->window * T;
    for (int64_t b = 0; b < w->batch; b++) {
        const int32_t *s = w->t->ids + b * w->len + from;
        for (int64_t t = 0; t < T; t++) {
            if (x) x[b * T + t] = (float)s[t];
            if (y) y[b * T + t] = s[t + 1];
        }
    }
    w->restarted = w->window == 0;
    w->window++;
    return w->batch;
}

static void tokens_tell(const void *ctx, uint64_t pos[2]) {
    const token_windows *w = ctx;
    pos[0] = (uint64_t)w->epoch, pos[1] = (uint64_t)w->window;
}

/* A window past the epoch's end (a position from another setting) starts
 * the next epoch, as the end of an epoch does. */
static void tokens_seek(void *ctx, const uint64_t pos[2]) {
    token_windows *w = ctx;
    w->epoch = (int64_t)pos[0];
    w->window = pos[1] > (uint64_t)w->windows ? w->windows : (int64_t)pos[1];
    w->restarted = w->window == 0;
}

static int tokens_restarted(const void *ctx) { return ((const token_windows *)ctx)->restarted; }

static void tokens_free(void *ctx) { free(ctx); }

static const ent_batches_ops tokens_ops = {tokens_next, tokens_tell, tokens_seek, tokens_free, tokens_restarted};

ent_status ent_batches_tokens(ent_batches *out, const ent_tokens *t, int64_t batch, int64_t steps) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_batches_tokens: NULL argument");
    memset(out, 0, sizeof *out);
    if (!t || (!t->ids && t->n > 0)) return ent_fail(ENT_EINVAL, "ent_batches_tokens: no tokens");
    if (batch < 1 || steps < 1)
        return ent_fail(ENT_EINVAL, "%s: batch %lld and steps %lld must both be at least 1", t->name, (long long)batch,
                        (long long)steps);
    const int64_t len = t->n / batch;
    if (len < 2 || steps > len - 1) /* a window reads steps + 1 tokens of a stream */
        return ent_fail(ENT_EINVAL,
                        "%s: %lld tokens in %lld streams are %lld per stream, too few for one window of %lld "
                        "steps (it reads steps + 1 tokens of each stream)",
                        t->name, (long long)t->n, (long long)batch, (long long)len, (long long)steps);
    token_windows *w = calloc(1, sizeof *w);
    if (!w) return ent_fail(ENT_ENOMEM, "batches: out of memory");
    *w = (token_windows){.t = t, .batch = batch, .steps = steps, .len = len, .windows = (len - 1) / steps,
                         .restarted = 1};
    *out = (ent_batches){.ops = &tokens_ops, .ctx = w, .batch = batch, .c = steps, .h = 1, .w = 1,
                         .y_per_sample = steps, .carried = 1};
    return ENT_OK;
}
