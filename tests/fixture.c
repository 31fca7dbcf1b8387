/* fixture.c — ENTFX1/ENTFX2 reader (see fixture.h). Decodes
 * little-endian explicitly, so it is correct on any host. */
#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_ARRAYS 4096
#define FX_HEADER (8 + 4)
#define FX_ENTRY(name) ((name) + 4 + 4 * 8) /* name bytes: 32 (ENTFX1) or 64 */

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static ent_status read_all(const char *path, unsigned char **buf,
                           size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return ent_fail(errno == ENOENT ? ENT_ENOENT : ENT_EIO, "%s: %s",
                        path, strerror(errno));
    unsigned char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
            }
            b = nb;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return ent_fail(ENT_EIO, "%s: read error", path);
    }
    *buf = b;
    *len = n;
    return ENT_OK;
}

/* Parse one array entry at *pos; fills a (data malloc'd). */
static ent_status parse_array(const char *path, const unsigned char *b,
                              size_t len, size_t *pos, int nb, ent_fx_array *a) {
    size_t p = *pos;
    if (len - p < (size_t)FX_ENTRY(nb))
        return ent_fail(ENT_EFORMAT, "%s: truncated array header at offset %zu",
                        path, p);
    memcpy(a->name, b + p, (size_t)nb);
    a->name[nb] = 0;
    if (memchr(b + p, 0, (size_t)nb) == NULL)
        return ent_fail(ENT_EFORMAT, "%s: array name not NUL terminated at "
                        "offset %zu", path, p);
    a->ndim = (int)(int32_t)le(b + p + nb, 4);
    if (a->ndim < 0 || a->ndim > 4)
        return ent_fail(ENT_EFORMAT, "%s: array '%s': ndim %d not in 0..4",
                        path, a->name, a->ndim);
    a->numel = 1;
    for (int i = 0; i < 4; i++) {
        a->shape[i] = (int64_t)le(b + p + nb + 4 + 8 * i, 8);
        if (i >= a->ndim) continue;
        if (a->shape[i] < 0 || (a->shape[i] > 0 &&
                                a->numel > (INT64_C(1) << 40) / a->shape[i]))
            return ent_fail(ENT_EFORMAT, "%s: array '%s': bad dimension %lld",
                            path, a->name, (long long)a->shape[i]);
        a->numel *= a->shape[i];
    }
    p += FX_ENTRY(nb);
    if ((uint64_t)a->numel > (len - p) / 4)
        return ent_fail(ENT_EFORMAT, "%s: array '%s' truncated: %lld floats "
                        "at offset %zu, %zu bytes left", path, a->name,
                        (long long)a->numel, p, len - p);
    a->data = malloc((size_t)(a->numel > 0 ? a->numel : 1) * sizeof(float));
    if (!a->data) return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    for (int64_t i = 0; i < a->numel; i++) {
        uint32_t u = (uint32_t)le(b + p + 4 * i, 4);
        memcpy(&a->data[i], &u, 4);
    }
    *pos = p + 4 * (size_t)a->numel;
    return ENT_OK;
}

ent_status ent_fixture_load(ent_fixture **out, const char *path) {
    unsigned char *b = NULL;
    size_t len = 0, pos = FX_HEADER;
    *out = NULL;
    ent_status s = read_all(path, &b, &len);
    if (s != ENT_OK) return s;
    ent_fixture *f = calloc(1, sizeof *f);
    if (!f) {
        free(b);
        return ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    }
    int32_t count = len >= FX_HEADER ? (int32_t)le(b + 8, 4) : 0;
    const int v2 = len >= FX_HEADER && memcmp(b, "ENTFX2\0\0", 8) == 0;
    if (len < FX_HEADER || (!v2 && memcmp(b, "ENTFX1\0\0", 8) != 0))
        s = ent_fail(ENT_EFORMAT, "%s: not an ENTFX1/ENTFX2 fixture (bad magic)", path);
    else if (count < 0 || count > FX_MAX_ARRAYS)
        s = ent_fail(ENT_EFORMAT, "%s: array count %d out of range", path,
                     (int)count);
    else if (!(f->arrays = calloc((size_t)(count ? count : 1), sizeof *f->arrays)))
        s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    for (int i = 0; s == ENT_OK && i < count; i++) {
        s = parse_array(path, b, len, &pos, v2 ? 64 : 32, &f->arrays[i]);
        f->count = i + 1; /* so free releases a partial array too */
    }
    if (s == ENT_OK && pos != len)
        s = ent_fail(ENT_EFORMAT, "%s: %zu trailing bytes at offset %zu", path,
                     len - pos, pos);
    free(b);
    if (s != ENT_OK) {
        ent_fixture_free(f);
        return s;
    }
    *out = f;
    return ENT_OK;
}

const ent_fx_array *ent_fixture_find(const ent_fixture *f, const char *name) {
    if (!f) return NULL;
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->arrays[i].name, name) == 0) return &f->arrays[i];
    return NULL;
}

void ent_fixture_free(ent_fixture *f) {
    if (!f) return;
    for (int i = 0; i < f->count; i++) free(f->arrays[i].data);
    free(f->arrays);
    free(f);
}

static uint64_t splitmix64(uint64_t s) {
    uint64_t z = s + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void ent_fixture_formula(float *dst, int64_t n, uint64_t key, double bound) {
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(splitmix64((key << 32) + (uint64_t)i) >> 11) * 0x1.0p-53;
        dst[i] = (float)((u - 0.5) * 2.0 * bound);
    }
}
