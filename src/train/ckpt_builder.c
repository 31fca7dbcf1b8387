/* ckpt_builder.c — assembles a checkpoint whose tensor and metadata counts
 * depend on the run (y replicas, K ranks): growable lists, with owned
 * copies of names, values and gathered blocks, freed together. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 1;
    int c = *cap ? *cap * 2 : 32;
    while (c < need) c *= 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p) return 0;
    *arr = p;
    *cap = c;
    return 1;
}

void *ent_ckb_keep(ent_ckb *b, void *block) {
    if (!block || !grow((void **)&b->own, &b->cap_o, b->no + 1, sizeof *b->own)) {
        free(block);
        b->failed = 1;
        return NULL;
    }
    b->own[b->no++] = block;
    return block;
}

static const char *copy(ent_ckb *b, const char *s) { return ent_ckb_keep(b, s ? strdup(s) : NULL); }

static void add_tensor(ent_ckb *b, ent_st_tensor t) {
    if (!t.name || !grow((void **)&b->t, &b->cap_t, b->nt + 1, sizeof *b->t)) {
        b->failed = 1;
        return;
    }
    b->t[b->nt++] = t;
}

void ent_ckb_tensor(ent_ckb *b, const char *name, const ent_tensor_info *ti, const float *base) {
    ent_st_tensor t = {copy(b, name), ti->ndim, {ti->shape[0], ti->shape[1], ti->shape[2], ti->shape[3]},
                       base + ti->offset, ti->is_int64};
    add_tensor(b, t);
}

void ent_ckb_vec(ent_ckb *b, const char *name, const float *data, int64_t n) {
    ent_st_tensor t = {copy(b, name), 1, {n, 0, 0, 0}, data, 0};
    if (!data) b->failed = 1;
    add_tensor(b, t);
}

void ent_ckb_meta(ent_ckb *b, const char *key, const char *val) {
    const char *k = copy(b, key), *v = copy(b, val);
    if (!k || !v || !grow((void **)&b->keys, &b->cap_m, b->nm + 1, sizeof *b->keys)) {
        b->failed = 1;
        return;
    }
    const char **vals = realloc(b->vals, (size_t)b->cap_m * sizeof *b->vals);
    if (!vals) {
        b->failed = 1;
        return;
    }
    b->vals = vals;
    b->keys[b->nm] = k;
    b->vals[b->nm++] = v;
}

void ent_ckb_meta_u64(ent_ckb *b, const char *key, uint64_t v) {
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, v);
    ent_ckb_meta(b, key, s);
}

void ent_ckb_meta_f64(ent_ckb *b, const char *key, double v) {
    char s[40];
    snprintf(s, sizeof s, "%.17g", v);
    ent_ckb_meta(b, key, s);
}

void ent_ckb_meta_f32(ent_ckb *b, const char *key, float v) {
    char s[24];
    ent_shortest_float(s, sizeof s, v);
    ent_ckb_meta(b, key, s);
}

ent_status ent_ckb_write(ent_ckb *b, const char *path) {
    if (b->failed) return ent_fail(ENT_ENOMEM, "%s: out of memory assembling the checkpoint", path);
    return ent_safetensors_write(path, b->t, b->nt, b->keys, b->vals, b->nm);
}

void ent_ckb_free(ent_ckb *b) {
    for (int i = 0; i < b->no; i++) free(b->own[i]);
    free(b->own);
    free(b->t);
    free(b->keys);
    free(b->vals);
    memset(b, 0, sizeof *b);
}

/* Digits only: strtoull alone takes "-5" as 2^64 - 5, and " 5" or "+5". */
ent_status ent_ckb_get_u64(const ent_st_file *f, const char *path, const char *key, uint64_t *v) {
    const char *s = ent_st_meta(f, key);
    char *end = NULL;
    if (!s) return ent_fail(ENT_EFORMAT, "%s: metadata '%s' is missing", path, key);
    errno = 0;
    *v = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno == ERANGE)
        return ent_fail(ENT_EFORMAT, "%s: metadata '%s' = '%.40s' is not an unsigned 64-bit integer", path, key, s);
    return ENT_OK;
}

ent_status ent_ckb_get_count(const ent_st_file *f, const char *path, const char *key, uint64_t max, uint64_t *v) {
    ent_status s = ent_ckb_get_u64(f, path, key, v);
    if (s == ENT_OK && *v > max)
        return ent_fail(ENT_EFORMAT, "%s: metadata '%s' = %llu is out of range (0..%llu)", path, key,
                        (unsigned long long)*v, (unsigned long long)max);
    return s;
}

ent_status ent_ckb_get_number(const ent_st_file *f, const char *path, const char *key, double lo, double hi,
                              double *v) {
    const char *s = ent_st_meta(f, key);
    char *end = NULL;
    if (!s) return ent_fail(ENT_EFORMAT, "%s: metadata '%s' is missing", path, key);
    *v = strtod(s, &end);
    if (end == s || *end || !(*v >= lo && *v <= hi))
        return ent_fail(ENT_EFORMAT, "%s: metadata '%s' = '%.40s' is not a number in [%g, %g]", path, key, s, lo,
                        hi);
    return ENT_OK;
}

ent_status ent_ckb_get_vec(const ent_st_file *f, const char *path, const char *name, float *dst, int64_t n) {
    int ndim;
    int64_t shape[4];
    if (!ent_st_find(f, name, &ndim, shape))
        return ent_fail(ENT_EFORMAT, "%s: tensor '%s' is missing (another optimizer or replica count?)", path, name);
    ent_status s = ent_st_get(f, name, dst, n);
    for (int64_t k = 0; s == ENT_OK && k < n; k++)
        if (!isfinite(dst[k]))
            s = ent_fail(ENT_EFORMAT, "%s: tensor '%s' holds %g at element %lld (optimizer and replica state must "
                         "be finite)", path, name, (double)dst[k], (long long)k);
    return s;
}
