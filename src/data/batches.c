/* batches.c — the data edge for data sets of images: the sampler's seeded
 * shuffles (sampler.c), with optional crop and flip augmentation. A
 * sample's augmentation is drawn from stream AUG_STREAM + epoch at the
 * counter of its index in the epoch, so it depends only on (seed, epoch,
 * index): the position (epoch, index) restores it, and the data order and
 * dropout streams are untouched by it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

#define AUG_STREAM 3000 /* far from the data order's 1000 + epoch */

typedef struct {
    ent_sampler s;
    ent_augment aug;
    float *pad;   /* one padded sample [c, h + 2p, w + 2p] (crop only) */
} images;

/* Crop (offsets in 0 .. 2p) and flip of sample x in place. */
static void augment(const images *im, uint64_t index, float *x) {
    const ent_dataset *d = im->s.data;
    const int64_t C = d->c, H = d->h, W = d->w, p = im->aug.crop_pad;
    ent_rng r;
    ent_rng_init(&r, im->s.seed, AUG_STREAM + (uint64_t)im->s.epoch);
    r.counter = 3 * index; /* three blocks per sample, none shared */
    const uint32_t by = ent_rng_u32(&r), bx = ent_rng_u32(&r), bf = ent_rng_u32(&r);
    const int64_t dy = p ? (int64_t)(by % (uint32_t)(2 * p + 1)) : 0;
    const int64_t dx = p ? (int64_t)(bx % (uint32_t)(2 * p + 1)) : 0;
    const int flip = im->aug.flip && (bf >> 31);
    if (p) {
        const int64_t PW = W + 2 * p, PH = H + 2 * p;
        memset(im->pad, 0, sizeof(float) * (size_t)(C * PH * PW));
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                memcpy(im->pad + (c * PH + h + p) * PW + p, x + (c * H + h) * W, sizeof(float) * (size_t)W);
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                memcpy(x + (c * H + h) * W, im->pad + (c * PH + h + dy) * PW + dx, sizeof(float) * (size_t)W);
    }
    for (int64_t row = 0; flip && row < C * H; row++)
        for (int64_t a = 0, b = W - 1; a < b; a++, b--) {
            const float t = x[row * W + a];
            x[row * W + a] = x[row * W + b], x[row * W + b] = t;
        }
}

static int64_t images_next(void *ctx, float *x, int32_t *y) {
    images *im = ctx;
    /* the position of the batch's first sample (a new epoch starts in next) */
    const int64_t before = im->s.pos >= im->s.data->n ? 0 : im->s.pos;
    const int64_t k = ent_sampler_next(&im->s, x, y);
    const int64_t per = im->s.data->c * im->s.data->h * im->s.data->w;
    if (x && (im->aug.crop_pad > 0 || im->aug.flip))
        for (int64_t i = 0; i < k; i++) augment(im, (uint64_t)(before + i), x + i * per);
    return k;
}

static void images_tell(const void *ctx, uint64_t pos[2]) {
    const images *im = ctx;
    pos[0] = (uint64_t)im->s.epoch, pos[1] = (uint64_t)im->s.pos;
}

static void images_seek(void *ctx, const uint64_t pos[2]) {
    images *im = ctx;
    ent_sampler_seek(&im->s, (int64_t)pos[0], (int64_t)pos[1]);
}

static void images_free(void *ctx) {
    images *im = ctx;
    if (!im) return;
    ent_sampler_free(&im->s);
    free(im->pad);
    free(im);
}

static const ent_batches_ops images_ops = {images_next, images_tell, images_seek, images_free, NULL};

ent_status ent_batches_images(ent_batches *out, const ent_dataset *d, int64_t batch,
                              uint64_t seed, const ent_augment *aug) {
    memset(out, 0, sizeof *out);
    images *im = calloc(1, sizeof *im);
    if (!im) return ent_fail(ENT_ENOMEM, "batches: out of memory");
    if (aug) im->aug = *aug;
    if (im->aug.crop_pad < 0 || (d && im->aug.crop_pad > d->h) || (d && im->aug.crop_pad > d->w)) {
        free(im);
        return ent_fail(ENT_EINVAL, "augmentation: crop padding %d outside 0..the image size", aug->crop_pad);
    }
    ent_status s = ent_sampler_init(&im->s, d, batch, seed);
    const int64_t p = im->aug.crop_pad;
    if (s == ENT_OK && p > 0) {
        im->pad = malloc(sizeof(float) * (size_t)(d->c * (d->h + 2 * p) * (d->w + 2 * p)));
        if (!im->pad) s = ent_fail(ENT_ENOMEM, "batches: out of memory");
    }
    if (s != ENT_OK) {
        images_free(im);
        return s;
    }
    *out = (ent_batches){.ops = &images_ops, .ctx = im, .batch = batch, .c = d->c, .h = d->h,
                         .w = d->w, .y_per_sample = ent_dataset_labels(d)};
    return ENT_OK;
}

void ent_batches_free(ent_batches *b) {
    if (b && b->ops && b->ops->free) b->ops->free(b->ctx);
    if (b) b->ctx = NULL;
}

ent_status ent_augment_parse(const char *text, ent_augment *out) {
    ent_augment a = {0, 0};
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        if (strcmp(t, "none") == 0) continue;
        if (strcmp(t, "flip") == 0) {
            a.flip = 1;
            continue;
        }
        long p = strncmp(t, "crop", 4) == 0 ? strtol(t + 4, &end, 10) : -1;
        if (p < 1 || p > 64 || !end || *end)
            return ent_fail(ENT_EUSAGE, "--augment: '%s' is not one of none, flip, cropP (P = 1..64 pixels)", t);
        a.crop_pad = (int)p;
    }
    *out = a;
    return ENT_OK;
}

void ent_augment_text(const ent_augment *a, char *buf, size_t cap) {
    if (a->crop_pad && a->flip) snprintf(buf, cap, "crop%d,flip", a->crop_pad);
    else if (a->crop_pad) snprintf(buf, cap, "crop%d", a->crop_pad);
    else snprintf(buf, cap, "%s", a->flip ? "flip" : "none");
}
