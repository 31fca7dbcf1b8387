/* flatness.c — local energy (docs/algorithms.md §8.3): the scores of a network
 * (loss, error, ...) averaged over random perturbations of its weights,
 *   multiplicative  w' = w + sigma z (.) w   (relative to each weight: the
 *                   paper's reading, and the magnitude-aware family that
 *                   predicts generalisation best in Jiang et al. 2019)
 *   additive        w' = w + sigma z
 * z ~ N(0, I). Draw d uses stream d of the seed for every sigma and every
 * checkpoint (common random numbers): curves of different checkpoints and
 * neighbouring sigmas differ by the landscape, not by the draws. */
#include <math.h>
#include <stdlib.h>

#include "entropic.h"

#define MAX_SCORES 16

ent_status ent_local_energy(ent_score_fn score, void *ctx, int k, const float *w, int64_t n,
                            const double *sigma, int n_sigma, int draws, ent_noise_kind kind,
                            uint64_t seed, double *base, double *mean, double *sd) {
    if (k < 1 || k > MAX_SCORES || n < 1 || n_sigma < 1 || draws < 1)
        return ent_fail(ENT_EINVAL, "local energy: %d scores, %lld weights, %d sigmas, %d draws",
                        k, (long long)n, n_sigma, draws);
    for (int s = 0; s < n_sigma; s++)
        if (!(sigma[s] >= 0.0) || !isfinite(sigma[s]))
            return ent_fail(ENT_EINVAL, "local energy: sigma %g must be >= 0", sigma[s]);
    float *z = ent_alloc(sizeof(float) * (size_t)n), *wp = ent_alloc(sizeof(float) * (size_t)n);
    ent_status st = z && wp ? ENT_OK : ent_fail(ENT_ENOMEM, "local energy: out of memory");
    if (st == ENT_OK) st = score(ctx, w, base);
    for (int s = 0; s < n_sigma && st == ENT_OK; s++) {
        double mu[MAX_SCORES] = {0}, m2[MAX_SCORES] = {0}, v[MAX_SCORES]; /* Welford */
        for (int d = 0; d < draws && st == ENT_OK; d++) {
            ent_rng r;
            ent_rng_init(&r, seed, (uint64_t)d);
            ent_rng_normal_fill(&r, z, n, 1.0f);
            const float sg = (float)sigma[s];
#pragma omp parallel for if (n > 32768)
            for (int64_t i = 0; i < n; i++)
                wp[i] = w[i] + sg * z[i] * (kind == ENT_NOISE_MULTIPLICATIVE ? w[i] : 1.0f);
            st = score(ctx, wp, v);
            for (int j = 0; j < k; j++) {
                const double dv = v[j] - mu[j];
                mu[j] += dv / (d + 1);
                m2[j] += dv * (v[j] - mu[j]);
            }
        }
        for (int j = 0; j < k && st == ENT_OK; j++) {
            mean[s * k + j] = mu[j];
            if (sd) sd[s * k + j] = draws > 1 ? sqrt(m2[j] / (draws - 1)) : 0.0;
        }
    }
    ent_free_aligned(z);
    ent_free_aligned(wp);
    return st;
}
