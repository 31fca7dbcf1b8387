/* transpose.h — out-of-place matrix transpose (internal). */
#ifndef ENT_TRANSPOSE_H
#define ENT_TRANSPOSE_H

#include <stdint.h>

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols. Splits over
 * the team for large matrices (not inside a parallel region). */
void ent_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds,
                   float *dst, int64_t ldd);

#endif
