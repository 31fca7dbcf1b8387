/* npy.c — the "arrays" data set: inputs X and labels y as NumPy .npy files.
 *
 * X is float32, float64 (taken as they are; they must be finite) or uint8
 * (scaled to [0, 1] by v/255, as IDX pixels are before their data set's
 * normalisation: arrays have no known mean and std, so none is applied).
 * Its first dimension counts the samples; the rest is one sample:
 * (N, D) -> 1 x 1 x D, (N, H, W) -> 1 x H x W, (N, C, H, W) as it is.
 * y is 1-D, integer (any width, signed or not), one label >= 0 per sample.
 * The split's pair is read whole; the other split's pair, when given, only
 * as far as it must be for the two to agree: the same per-sample shape, and
 * n_classes = 1 + the largest label of either (at least 2), so that train
 * and test (and eval later) build the same network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"

#define NPY_MAX_CLASSES 65536
#define NPY_CHUNK (1 << 16) /* a multiple of every item size */

static uint64_t le_bytes(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static double decode_float(const unsigned char *p, int size) {
    uint64_t bits = le_bytes(p, size);
    if (size == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, 4);
        return f;
    }
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* The integer at p; 0 if it does not fit in int64 (a u8 above 2^63). */
static int decode_int(const unsigned char *p, int kind, int size, int64_t *v) {
    uint64_t u = le_bytes(p, size);
    if (kind == 'u' || kind == 'b') {
        if (u > (uint64_t)INT64_MAX) return 0;
        *v = (int64_t)u;
        return 1;
    }
    if (size < 8 && (u >> (8 * size - 1)) & 1) u |= ~(uint64_t)0 << (8 * size); /* sign-extend */
    memcpy(v, &u, 8);
    return 1;
}

/* X's dtype, order and shape; the per-sample c, h, w. */
static ent_status inputs_shape(const npy_info *a, int64_t chw[3]) {
    char sh[200];
    if (!(a->kind == 'f' || (a->kind == 'u' && a->itemsize == 1)))
        return ent_fail(ENT_EFORMAT, "%s: unsupported dtype '%s' for inputs (want float32 '<f4', float64 '<f8' or "
                        "uint8 '|u1')", a->path, a->descr);
    if (a->fortran && a->ndim > 1)
        return ent_fail(ENT_EFORMAT, "%s: Fortran order is not supported: save np.ascontiguousarray(X)", a->path);
    if (a->ndim < 2 || a->ndim > 4)
        return ent_fail(ENT_ESHAPE, "%s: inputs of shape %s: want (N, D), (N, H, W) or (N, C, H, W)%s", a->path,
                        npy_shape_str(a, 0, sh, sizeof sh), a->ndim == 1 ? " (reshape a 1-D X to (N, 1))" : "");
    chw[0] = chw[1] = 1;
    for (int i = 1; i < a->ndim; i++) chw[3 - a->ndim + i] = a->shape[i];
    if (a->count == 0)
        return ent_fail(ENT_ESHAPE, "%s: no data: inputs of shape %s", a->path, npy_shape_str(a, 0, sh, sizeof sh));
    return ENT_OK;
}

/* y's dtype and shape, and its count against X's. */
static ent_status labels_shape(const npy_info *y, const npy_info *x) {
    char sh[200];
    if (y->kind == 'f')
        return ent_fail(ENT_EFORMAT, "%s: unsupported dtype '%s' for labels (want integers: save y.astype('<i8'))",
                        y->path, y->descr);
    if (y->ndim != 1)
        return ent_fail(ENT_ESHAPE, "%s: labels of shape %s: want 1-D (N,) (save y.ravel())", y->path,
                        npy_shape_str(y, 0, sh, sizeof sh));
    if (y->shape[0] != x->shape[0])
        return ent_fail(ENT_ESHAPE, "%s: %lld samples but %s has %lld labels", x->path, (long long)x->shape[0],
                        y->path, (long long)y->shape[0]);
    return ENT_OK;
}

/* Reads a's items in chunks; item(ctx, bytes, index) handles each. */
static ent_status read_items(npy_info *a, ent_status (*item)(void *, const unsigned char *, int64_t), void *ctx) {
    unsigned char *buf = malloc(NPY_CHUNK);
    if (!buf) return ent_fail(ENT_ENOMEM, "%s: out of memory", a->path);
    const int64_t per = NPY_CHUNK / a->itemsize;
    ent_status s = ENT_OK;
    for (int64_t i = 0; i < a->count && s == ENT_OK; i += per) {
        int64_t k = a->count - i < per ? a->count - i : per;
        if (fread(buf, (size_t)a->itemsize, (size_t)k, a->f) != (size_t)k) {
            s = ent_fail(ENT_EFORMAT, "%s: truncated: the data ends before item %lld of %lld", a->path,
                         (long long)i + 1, (long long)a->count);
            break;
        }
        for (int64_t j = 0; j < k && s == ENT_OK; j++) s = item(ctx, buf + j * a->itemsize, i + j);
    }
    free(buf);
    return s;
}

typedef struct {
    const npy_info *a;
    float *x;
    int32_t *y;
    int64_t max, per_sample;
} reader;

static ent_status input_item(void *ctx, const unsigned char *p, int64_t i) {
    reader *r = ctx;
    if (r->a->kind == 'u') {
        r->x[i] = (float)(p[0] / 255.0);
        return ENT_OK;
    }
    double v = decode_float(p, r->a->itemsize);
    if (!isfinite(v) || fabs(v) > 3.4e38)
        return ent_fail(ENT_EFORMAT, "%s: input %lld of sample %lld is %g: inputs must be finite floats",
                        r->a->path, (long long)(i % r->per_sample), (long long)(i / r->per_sample), v);
    r->x[i] = (float)v;
    return ENT_OK;
}

static ent_status label_item(void *ctx, const unsigned char *p, int64_t i) {
    reader *r = ctx;
    int64_t v = 0;
    int fits = decode_int(p, r->a->kind, r->a->itemsize, &v);
    if (!fits || v < 0 || v >= NPY_MAX_CLASSES)
        return ent_fail(ENT_EFORMAT, "%s: label at index %lld is %s%lld: labels must be 0..%d", r->a->path,
                        (long long)i, fits ? "" : "above ", fits ? (long long)v : (long long)INT64_MAX,
                        NPY_MAX_CLASSES - 1);
    if (r->y) r->y[i] = (int32_t)v;
    if (v > r->max) r->max = v;
    return ENT_OK;
}

/* Labels into y (NULL: only checked); *max = the largest. */
static ent_status read_labels(npy_info *a, int32_t *y, int64_t *max) {
    reader r = {.a = a, .y = y, .max = 0};
    ent_status s = read_items(a, label_item, &r);
    *max = r.max;
    return s;
}

typedef struct {
    npy_info x, y;
    int64_t chw[3];
} npy_pair;

static void pair_close(npy_pair *p) {
    npy_close(&p->x);
    npy_close(&p->y);
}

static ent_status pair_open(npy_pair *p, const char *x_path, const char *y_path) {
    memset(p, 0, sizeof *p);
    ent_status s = npy_open(&p->x, x_path);
    if (s == ENT_OK) s = inputs_shape(&p->x, p->chw);
    if (s == ENT_OK) s = npy_open(&p->y, y_path);
    if (s == ENT_OK) s = labels_shape(&p->y, &p->x);
    if (s != ENT_OK) pair_close(p);
    return s;
}

/* The other split: its per-sample shape against p's, its largest label. */
static ent_status other_split(const npy_pair *p, const char *x_path, const char *y_path, int64_t *max) {
    npy_pair o;
    char a[200], b[200];
    ent_status s = pair_open(&o, x_path, y_path);
    if (s == ENT_OK && memcmp(o.chw, p->chw, sizeof o.chw) != 0)
        s = ent_fail(ENT_ESHAPE, "%s: samples of shape %s, but %s's are %s", o.x.path,
                     npy_shape_str(&o.x, 1, a, sizeof a), p->x.path, npy_shape_str(&p->x, 1, b, sizeof b));
    if (s == ENT_OK) s = read_labels(&o.y, NULL, max);
    pair_close(&o);
    return s;
}

static ent_status new_dataset(ent_dataset **out, const npy_pair *p) {
    ent_dataset *d = calloc(1, sizeof *d);
    if (!d) return ent_fail(ENT_ENOMEM, "%s: out of memory", p->x.path);
    d->n = p->x.shape[0], d->c = p->chw[0], d->h = p->chw[1], d->w = p->chw[2];
    snprintf(d->name, sizeof d->name, "arrays");
    d->x = ent_alloc((size_t)p->x.count * sizeof(float));
    d->y = ent_alloc((size_t)d->n * sizeof(int32_t));
    *out = d;
    if (!d->x || !d->y) return ent_fail(ENT_ENOMEM, "%s: out of memory (%lld inputs)", p->x.path, (long long)p->x.count);
    return ENT_OK;
}

ent_status ent_arrays_load(ent_dataset **out, const char *x_path, const char *y_path, const char *other_x,
                           const char *other_y) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_arrays_load: NULL output");
    *out = NULL;
    if (!x_path || !y_path || !!other_x != !!other_y)
        return ent_fail(ENT_EINVAL, "ent_arrays_load: want the X and y paths (and both or neither of the other pair)");
    npy_pair p;
    ent_dataset *d = NULL;
    int64_t max = 0, other_max = 0;
    ent_status s = pair_open(&p, x_path, y_path);
    if (s != ENT_OK) return s;
    if (other_x) s = other_split(&p, other_x, other_y, &other_max);
    if (s == ENT_OK) s = new_dataset(&d, &p);
    reader r = {.a = &p.x, .x = d ? d->x : NULL, .per_sample = p.chw[0] * p.chw[1] * p.chw[2]};
    if (s == ENT_OK) s = read_items(&p.x, input_item, &r);
    if (s == ENT_OK) s = read_labels(&p.y, d->y, &max);
    pair_close(&p);
    if (s != ENT_OK) {
        ent_dataset_free(d);
        return s;
    }
    if (other_max > max) max = other_max;
    d->n_classes = max + 1 < 2 ? 2 : (int32_t)(max + 1);
    *out = d;
    return ENT_OK;
}
