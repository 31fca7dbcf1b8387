/* test_tokens.c — the data edge for token streams: every window is the
 * definition's (stream b = tokens b*L .. b*L + L - 1, window k = its
 * tokens k*T .. k*T + T - 1, labels the tokens after), epochs repeat the
 * same windows with restarted set only on the first, a position taken in
 * the middle of an epoch restores the very same windows in a new source,
 * and the sizes that give no window are refused. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { N = 103, B = 4, T = 5, L = N / B, WINDOWS = (L - 1) / T };

static ent_tokens *stream(int64_t n) {
    ent_tokens *t = calloc(1, sizeof *t);
    t->ids = malloc(sizeof(int32_t) * (size_t)n);
    t->n = n;
    snprintf(t->name, sizeof t->name, "toy");
    for (int64_t i = 0; i < n; i++) t->ids[i] = (int32_t)((i * 37 + 11) % 101); /* no two neighbours equal */
    return t;
}

/* Whether x, y are window k of the definition. */
static int is_window(const ent_tokens *t, int64_t k, const float *x, const int32_t *y) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < T; s++) {
            const int64_t at = b * L + k * T + s;
            if (x[b * T + s] != (float)t->ids[at] || y[b * T + s] != t->ids[at + 1]) return 0;
        }
    return 1;
}

ENT_TEST(tokens_windows_in_order) {
    ent_tokens *t = stream(N);
    ent_batches b;
    CHECK_OK(ent_batches_tokens(&b, t, B, T));
    CHECK(b.batch == B && b.c == T && b.h == 1 && b.w == 1 && b.y_per_sample == T && b.carried == 1);
    CHECK(b.ops->restarted != NULL);
    float x[B * T];
    int32_t y[B * T];
    uint64_t pos[2];
    for (int64_t step = 0; step < 3 * WINDOWS + 2; step++) {
        const int64_t k = step % WINDOWS;
        CHECK(b.ops->next(b.ctx, x, y) == B);
        CHECK_MSG(is_window(t, k, x, y), "step %lld is not window %lld", (long long)step, (long long)k);
        CHECK_MSG(b.ops->restarted(b.ctx) == (k == 0), "step %lld: restarted %d", (long long)step,
                  b.ops->restarted(b.ctx));
        b.ops->tell(b.ctx, pos);
        CHECK(pos[0] == (uint64_t)(step / WINDOWS) && pos[1] == (uint64_t)(k + 1));
    }
    /* the last window ends where the stream's tokens for it end: L - 1 >= WINDOWS * T */
    CHECK(WINDOWS == 4 && (WINDOWS * T) <= L - 1);
    ent_batches_free(&b);
    ent_tokens_free(t);
}

ENT_TEST(tokens_seek_restores) {
    ent_tokens *t = stream(N);
    ent_batches a, c;
    CHECK_OK(ent_batches_tokens(&a, t, B, T));
    CHECK_OK(ent_batches_tokens(&c, t, B, T));
    float x[B * T], x2[B * T];
    int32_t y[B * T], y2[B * T];
    uint64_t mark[2], pos[2];
    for (int i = 0; i < WINDOWS + 2; i++) a.ops->next(a.ctx, x, y); /* into the second epoch */
    a.ops->tell(a.ctx, mark);
    CHECK(mark[0] == 1 && mark[1] == 2);
    c.ops->seek(c.ctx, mark);
    c.ops->tell(c.ctx, pos);
    CHECK(pos[0] == mark[0] && pos[1] == mark[1]);
    for (int i = 0; i < WINDOWS + 1; i++) { /* across the next epoch's start */
        a.ops->next(a.ctx, x, y);
        c.ops->next(c.ctx, x2, y2);
        CHECK_MSG(memcmp(x, x2, sizeof x) == 0 && memcmp(y, y2, sizeof y) == 0, "window %d after the seek differs", i);
        CHECK(a.ops->restarted(a.ctx) == c.ops->restarted(c.ctx));
        a.ops->tell(a.ctx, mark), c.ops->tell(c.ctx, pos);
        CHECK(mark[0] == pos[0] && mark[1] == pos[1]);
    }
    /* the end of an epoch: the next window is the next epoch's first */
    const uint64_t end[2] = {5, WINDOWS};
    c.ops->seek(c.ctx, end);
    c.ops->next(c.ctx, x, y);
    c.ops->tell(c.ctx, pos);
    CHECK(is_window(t, 0, x, y) && c.ops->restarted(c.ctx) && pos[0] == 6 && pos[1] == 1);
    ent_batches_free(&a);
    ent_batches_free(&c);
    ent_tokens_free(t);
}

ENT_TEST(tokens_bad_sizes) {
    ent_tokens *t = stream(10);
    ent_batches b;
    CHECK(ent_batches_tokens(&b, t, 0, 2) == ENT_EINVAL && b.ops == NULL);
    CHECK(ent_batches_tokens(&b, t, 2, 0) == ENT_EINVAL);
    CHECK(ent_batches_tokens(&b, t, 2, -1) == ENT_EINVAL);
    /* 10 tokens in 5 streams: 2 each, one window of 1 step, none of 2 */
    CHECK(ent_batches_tokens(&b, t, 5, 2) == ENT_EINVAL);
    CHECK_MSG(strstr(ent_last_error(), "toy") && strstr(ent_last_error(), "2 per stream"), "%s", ent_last_error());
    CHECK(ent_batches_tokens(&b, t, 11, 1) == ENT_EINVAL); /* no token per stream */
    CHECK_OK(ent_batches_tokens(&b, t, 5, 1));
    float x[5];
    int32_t y[5];
    CHECK(b.ops->next(b.ctx, x, y) == 5 && b.ops->restarted(b.ctx));
    for (int s = 0; s < 5; s++) CHECK(x[s] == (float)t->ids[2 * s] && y[s] == t->ids[2 * s + 1]);
    CHECK(b.ops->next(b.ctx, x, y) == 5 && b.ops->restarted(b.ctx)); /* one window an epoch */
    ent_batches_free(&b);
    ent_tokens_free(t);
}
