/* hutchinson.c — Hutchinson's estimate of tr(H) on any ent_hvp: for
 * Rademacher z (entries +-1), E[z^T H z] = sum_i H_ii = tr(H), and
 * Var[z^T H z] = 2 sum_{i != j} H_ij^2 (Hutchinson 1990), the smallest
 * variance of any i.i.d. probe with unit variance. The estimate is the
 * mean over the probes, its standard error their standard deviation over
 * sqrt(probes). Probes go through apply_many in groups of the thread
 * count (each product needs two vectors of n). */
#include <math.h>
#include <stdlib.h>

#include "entropic.h"

/* z = +-1, stream `probe` of seed. */
static void probe_vector(double *z, int64_t n, uint64_t seed, uint64_t probe) {
    ent_rng r;
    ent_rng_init(&r, seed, probe);
    for (int64_t i = 0; i < n; i += 32) {
        const uint32_t bits = ent_rng_u32(&r);
        for (int64_t b = 0; b < 32 && i + b < n; b++) z[i + b] = (bits >> b) & 1u ? 1.0 : -1.0;
    }
}

ent_status ent_hutchinson(const ent_hvp *h, int probes, uint64_t seed, double *values, double *trace,
                          double *std_error) {
    if (probes < 1) return ent_fail(ENT_EINVAL, "hutchinson: %d probes", probes);
    const int64_t n = h->n;
    int64_t g = ent_get_threads();
    if (!h->apply_many || g < 1) g = 1;
    double *z = malloc(sizeof(double) * (size_t)(n * g)), *hz = malloc(sizeof(double) * (size_t)(n * g));
    ent_status s = z && hz ? ENT_OK : ent_fail(ENT_ENOMEM, "hutchinson: out of memory (n = %lld)", (long long)n);
    for (int p0 = 0; p0 < probes && s == ENT_OK; p0 += (int)g) {
        const int64_t k = probes - p0 < g ? probes - p0 : g;
        for (int64_t j = 0; j < k; j++) probe_vector(z + j * n, n, seed, (uint64_t)(p0 + j));
        s = h->apply_many && k > 1 ? h->apply_many(h->ctx, k, z, hz) : ent_hvp_apply(h, z, hz);
        for (int64_t j = 0; j < k && s == ENT_OK; j++) {
            double q = 0.0;
            for (int64_t i = 0; i < n; i++) q += z[j * n + i] * hz[j * n + i];
            values[p0 + j] = q;
        }
    }
    free(z), free(hz);
    if (s != ENT_OK) return s;
    double mean = 0.0, var = 0.0;
    for (int p = 0; p < probes; p++) mean += values[p] / probes;
    for (int p = 0; p < probes; p++) var += (values[p] - mean) * (values[p] - mean);
    *trace = mean;
    *std_error = probes > 1 ? sqrt(var / (probes - 1) / probes) : INFINITY;
    return ENT_OK;
}
