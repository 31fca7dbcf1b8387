/* test_batches.c — the data edge for images: augmented batches are the
 * samples shifted inside their zero padding and mirrored, every offset and
 * both orientations occur, a position restores the very same batches, and
 * without augmentation the batches are the sampler's. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { NS = 3, C = 2, H = 4, W = 5, PER = C * H * W, P = 2 };

static ent_dataset *toy(void) {
    ent_dataset *d = calloc(1, sizeof *d);
    d->n = NS, d->c = C, d->h = H, d->w = W, d->n_classes = NS;
    d->x = malloc(sizeof(float) * NS * PER);
    d->y = malloc(sizeof(int32_t) * NS);
    for (int i = 0; i < NS; i++) {
        d->y[i] = i;
        for (int k = 0; k < PER; k++) d->x[i * PER + k] = (float)(1 + i * 100 + k); /* never 0 */
    }
    return d;
}

/* Which (dy, dx, flip) turns source sample src into x; -1 if none. */
static int explain(const ent_dataset *d, int src, const float *x) {
    for (int dy = 0; dy <= 2 * P; dy++)
        for (int dx = 0; dx <= 2 * P; dx++)
            for (int f = 0; f < 2; f++) {
                int ok = 1;
                for (int c = 0; c < C && ok; c++)
                    for (int h = 0; h < H && ok; h++)
                        for (int w = 0; w < W && ok; w++) {
                            const int sh = h + dy - P, sw = (f ? W - 1 - w : w) + dx - P;
                            const float want = sh >= 0 && sh < H && sw >= 0 && sw < W
                                                   ? d->x[src * PER + (c * H + sh) * W + sw] : 0.0f;
                            ok = x[(c * H + h) * W + w] == want;
                        }
                if (ok) return (dy * (2 * P + 1) + dx) * 2 + f;
            }
    return -1;
}

ENT_TEST(batches_augment_crop_flip) {
    ent_dataset *d = toy();
    ent_batches b;
    const ent_augment aug = {.crop_pad = P, .flip = 1};
    CHECK_OK(ent_batches_images(&b, d, 2, 5, &aug));
    float x[2 * PER], again[2 * PER];
    int32_t y[2], y2[2];
    int seen[(2 * P + 1) * (2 * P + 1) * 2] = {0}, kinds = 0, bad = 0;
    uint64_t pos[2], mark[2] = {0, 0};
    for (int step = 0; step < 600; step++) {
        if (step == 301) b.ops->tell(b.ctx, mark);
        const int64_t k = b.ops->next(b.ctx, x, y);
        for (int64_t i = 0; i < k; i++) {
            const int e = explain(d, y[i], x + i * PER);
            bad += e < 0;
            if (e >= 0 && !seen[e]++) kinds++;
        }
    }
    CHECK_MSG(bad == 0, "%d augmented samples are no crop/flip of their source", bad);
    CHECK_MSG(kinds == (2 * P + 1) * (2 * P + 1) * 2, "only %d of 50 offset/flip combinations drawn", kinds);
    /* the batch after the marked position, drawn again after a seek */
    b.ops->seek(b.ctx, mark);
    b.ops->tell(b.ctx, pos);
    CHECK(pos[0] == mark[0] && pos[1] == mark[1]);
    ent_batches b2;
    CHECK_OK(ent_batches_images(&b2, d, 2, 5, &aug));
    b2.ops->seek(b2.ctx, mark);
    const int64_t k1 = b.ops->next(b.ctx, x, y), k2 = b2.ops->next(b2.ctx, again, y2);
    CHECK(k1 == k2 && memcmp(x, again, sizeof(float) * (size_t)(k1 * PER)) == 0 && y[0] == y2[0]);
    ent_batches_free(&b2);
    ent_batches_free(&b);
    /* no augmentation: exactly the sampler's batches */
    ent_sampler s;
    CHECK_OK(ent_sampler_init(&s, d, 2, 9));
    CHECK_OK(ent_batches_images(&b, d, 2, 9, NULL));
    for (int step = 0; step < 7; step++) {
        const int64_t ka = ent_sampler_next(&s, x, y), kb = b.ops->next(b.ctx, again, y2);
        CHECK(ka == kb && memcmp(x, again, sizeof(float) * (size_t)(ka * PER)) == 0);
    }
    ent_sampler_free(&s);
    ent_batches_free(&b);
    ent_dataset_free(d);
}

ENT_TEST(batches_augment_parse) {
    ent_augment a;
    char text[32];
    CHECK_OK(ent_augment_parse("crop4,flip", &a));
    CHECK(a.crop_pad == 4 && a.flip == 1);
    ent_augment_text(&a, text, sizeof text);
    CHECK(strcmp(text, "crop4,flip") == 0);
    CHECK_OK(ent_augment_parse("none", &a));
    CHECK(a.crop_pad == 0 && a.flip == 0);
    CHECK(ent_augment_parse("crop0", &a) == ENT_EUSAGE && strstr(ent_last_error(), "crop0"));
    CHECK(ent_augment_parse("rotate", &a) == ENT_EUSAGE && strstr(ent_last_error(), "rotate"));
    ent_dataset *d = toy();
    ent_batches b;
    const ent_augment big = {.crop_pad = 9};
    CHECK(ent_batches_images(&b, d, 2, 1, &big) == ENT_EINVAL);
    ent_dataset_free(d);
}
