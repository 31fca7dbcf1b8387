/* rop_f32.c — the R-operator in float, on the library's float GEMM: about
 * 4x faster than double here (AVX-512 sgemm against AVX2 dgemm), with Hv
 * accurate to ~1e-6 relative: enough for the extreme eigenvalues and the
 * density, not for the fine structure at zero. */
#define REAL float
#define GEMM ent_gemm
#define FN(name) name##_f32
#include "analysis/rop_impl.h"
