/* vec.c — flat-vector kernels used by every optimizer. Reductions in double.
 * Loops are OpenMP-parallel above a size where the fork pays for itself.
 * The clause is `if (parallel : ...)`: a plain `if` on `parallel for simd`
 * also switches the simd part off, so short vectors ran scalar. */
#include <math.h>

#include "core/par.h"
#include "entropic.h"

void ent_vec_zero(float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] = 0.0f;
}

void ent_vec_copy(float *dst, const float *src, int64_t n) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}

void ent_vec_scal(float *x, float a, int64_t n) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] *= a;
}

void ent_vec_axpy(float *y, float a, const float *x, int64_t n) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void ent_vec_axpby(float *y, float a, const float *x, float b, int64_t n) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b * y[i];
}

double ent_vec_dot(const float *x, const float *y, int64_t n) {
    double s = 0.0;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static) reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)y[i];
    return s;
}

double ent_vec_nrm2(const float *x, int64_t n) { return sqrt(ent_vec_dot(x, x, n)); }

int ent_vec_all_finite(const float *x, int64_t n) {
    int bad = 0;
#pragma omp parallel for if (n > ENT_PAR_MIN) schedule(static) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) bad |= !isfinite(x[i]);
    return !bad;
}
