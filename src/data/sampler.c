/* sampler.c — mini-batches from seeded shuffles without replacement.
 *
 * Epoch e's order is ent_rng_permutation on stream 1000 + e of `seed`, so
 * it depends only on (seed, e) and seek(e, pos) restores the stream
 * exactly by regenerating that permutation. The last batch of an epoch
 * holds n mod batch samples when that is not zero; the call after it
 * starts the next epoch. `epoch` is the index of the epoch being drawn
 * (0 first) and `pos` the next index into its permutation. */
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

#define SAMPLER_STREAM_BASE 1000

static void shuffle(ent_sampler *s) {
    ent_rng r;
    ent_rng_init(&r, s->seed, SAMPLER_STREAM_BASE + (uint64_t)s->epoch);
    ent_rng_permutation(&r, s->perm, s->data->n);
}

ent_status ent_sampler_init(ent_sampler *s, const ent_dataset *d,
                            int64_t batch, uint64_t seed) {
    if (!s) return ent_fail(ENT_EINVAL, "ent_sampler_init: NULL sampler");
    memset(s, 0, sizeof *s);
    if (!d || d->n <= 0 || !d->x || !d->y)
        return ent_fail(ENT_EINVAL, "ent_sampler_init: empty data set");
    if (batch <= 0)
        return ent_fail(ENT_EINVAL, "ent_sampler_init: batch size %lld must be > 0",
                        (long long)batch);
    if ((uint64_t)d->n > SIZE_MAX / sizeof(int64_t))
        return ent_fail(ENT_ENOMEM, "ent_sampler_init: data set too large");
    s->perm = malloc((size_t)d->n * sizeof(int64_t));
    if (!s->perm)
        return ent_fail(ENT_ENOMEM, "ent_sampler_init: out of memory (%lld samples)",
                        (long long)d->n);
    s->data = d;
    s->batch = batch;
    s->seed = seed;
    s->epoch = 0;
    s->pos = 0;
    shuffle(s);
    return ENT_OK;
}

int64_t ent_sampler_next(ent_sampler *s, float *x, int32_t *y) {
    const ent_dataset *d = s->data;
    if (s->pos >= d->n) {
        s->epoch++;
        s->pos = 0;
        shuffle(s);
    }
    int64_t k = d->n - s->pos;
    if (k > s->batch) k = s->batch;
    const int64_t sz = d->c * d->h * d->w, ny = ent_dataset_labels(d);
    for (int64_t i = 0; i < k; i++) {
        int64_t j = s->perm[s->pos + i];
        if (x) memcpy(x + i * sz, d->x + j * sz, (size_t)sz * sizeof(float));
        if (y) memcpy(y + i * ny, d->y + j * ny, (size_t)ny * sizeof(int32_t));
    }
    s->pos += k;
    return k;
}

void ent_sampler_seek(ent_sampler *s, int64_t epoch, int64_t pos) {
    if (!s || !s->perm) return;
    if (epoch < 0) epoch = 0;
    if (pos < 0) pos = 0;
    if (pos > s->data->n) pos = s->data->n;
    s->epoch = epoch;
    s->pos = pos;
    shuffle(s);
}

void ent_sampler_free(ent_sampler *s) {
    if (!s) return;
    free(s->perm);
    s->perm = NULL;
}

int64_t ent_batches_per_epoch(int64_t n, int64_t batch) {
    if (n <= 0 || batch <= 0) return 0;
    return (n + batch - 1) / batch;
}

/* The permutation that picks the held-out samples: a stream of the run's
 * seed far from every other one (0 optimizer, 2 dropout, 100 + layer
 * initialisation, 1000 + epoch data order). */
#define HOLD_OUT_STREAM (1ull << 48)

ent_status ent_dataset_hold_out(ent_dataset *d, int64_t n_val, uint64_t seed,
                                ent_dataset **val, int64_t *idx) {
    if (!d || !val) return ent_fail(ENT_EINVAL, "ent_dataset_hold_out: NULL argument");
    *val = NULL;
    if (n_val < 1 || n_val >= d->n)
        return ent_fail(ENT_EINVAL, "ent_dataset_hold_out: %lld samples of %lld: want 1..%lld",
                        (long long)n_val, (long long)d->n, (long long)d->n - 1);
    if (ent_dataset_labels(d) != 1)
        return ent_fail(ENT_EINVAL, "ent_dataset_hold_out: %s holds token windows, whose splits are the corpus's",
                        d->name);
    const int64_t n = d->n, sz = d->c * d->h * d->w;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    unsigned char *held = calloc((size_t)n, 1);
    ent_dataset *v = calloc(1, sizeof *v);
    if (v) {
        *v = *d;
        v->n = n_val;
        v->x = ent_alloc((size_t)(n_val * sz) * sizeof(float));
        v->y = ent_alloc((size_t)n_val * sizeof(int32_t));
    }
    if (!perm || !held || !v || !v->x || !v->y) {
        free(perm);
        free(held);
        ent_dataset_free(v);
        return ent_fail(ENT_ENOMEM, "ent_dataset_hold_out: out of memory (%lld samples)", (long long)n);
    }
    ent_rng r;
    ent_rng_init(&r, seed, HOLD_OUT_STREAM);
    ent_rng_permutation(&r, perm, n);
    for (int64_t i = 0; i < n_val; i++) held[perm[i]] = 1;
    /* One pass in index order: held-out samples to v, the others moved down
     * in place (k <= i), so both keep the data set's order. */
    int64_t j = 0, k = 0;
    for (int64_t i = 0; i < n; i++) {
        float *from = d->x + i * sz;
        if (held[i]) {
            memcpy(v->x + j * sz, from, (size_t)sz * sizeof(float));
            v->y[j] = d->y[i];
            if (idx) idx[j] = i;
            j++;
        } else {
            if (k != i) memmove(d->x + k * sz, from, (size_t)sz * sizeof(float));
            d->y[k] = d->y[i];
            k++;
        }
    }
    d->n = k;
    free(perm);
    free(held);
    *val = v;
    return ENT_OK;
}
