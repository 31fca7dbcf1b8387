/* fixture.h — reader for ENTFX1 reference files written by
 * tools/gen_fixtures.py (format documented there):
 *   "ENTFX1\0\0", int32 count, then per array: name[32] (NUL padded),
 *   int32 ndim (0..4), int64 shape[4], float32 data; all little-endian.
 *   "ENTFX2\0\0": the same with name[64] (state_dict names of deep nets). */
#ifndef ENT_FIXTURE_H
#define ENT_FIXTURE_H

#include "entropic.h"

typedef struct {
    char name[65];
    int ndim;
    int64_t shape[4]; /* unused entries 0 */
    int64_t numel;    /* product of shape[0..ndim), 1 for ndim 0 */
    float *data;      /* numel floats, owned by the fixture */
} ent_fx_array;

typedef struct {
    int count;
    ent_fx_array *arrays;
} ent_fixture;

/* Read and validate a whole file: magic, counts, ndim, shapes, sizes,
 * truncation and trailing bytes (ENT_EFORMAT naming file and offset);
 * ENT_ENOENT if it cannot be opened. */
ent_status ent_fixture_load(ent_fixture **out, const char *path);
/* The array called name, or NULL (borrowed, valid until free). */
const ent_fx_array *ent_fixture_find(const ent_fixture *f, const char *name);
void ent_fixture_free(ent_fixture *f);
/* tools/gen_hvp_fixtures.py's weights and directions, rebuilt bit for bit:
 * dst[i] = float32((u - 0.5) * 2 * bound), u the 53 top bits of
 * splitmix64((key << 32) + i) as a fraction. */
void ent_fixture_formula(float *dst, int64_t n, uint64_t key, double bound);

#endif
