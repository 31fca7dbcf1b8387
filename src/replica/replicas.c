/* replicas.c — y replicas of one parameter vector and their centre: the
 * object, the coupling schedule, the centre as a mean over replicas and
 * ranks, the step driver and the named state for checkpoints. The
 * per-method updates are in couple.c.
 *
 * One code path serves one process (n_local = y, every ent_dist_* call a
 * no-op) and MPI (n_local = y / ranks): a replica's arithmetic depends only
 * on its global index, and only the centre's sum crosses ranks, so the two
 * differ at most by the order of that float sum (bit-identical for y <= 2:
 * float addition is commutative). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replica/replica_internal.h"

#define PI 3.14159265358979323846

uint64_t ent_replica_seed(uint64_t seed, int a) {
    if (a == 0) return seed;
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)a; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ent_replicas_free(ent_replicas *r) {
    if (!r) return;
    for (int i = 0; r->opt && i < r->n_local; i++) ent_optim_free(r->opt[i]);
    free(r->opt);
    ent_optim_free(r->copt);
    ent_free_aligned(r->theta);
    ent_free_aligned(r->center);
    ent_free_aligned(r->mean);
    ent_free_aligned(r->diff);
    free(r);
}

/* Each replica's own rule: SGD/Adam (rSGD, EASGD) or Entropy-SGD (Parle). */
static ent_optim_params base_params(const ent_optim_params *p) {
    ent_optim_params b = *p;
    if (p->kind == ENT_OPTIM_PARLE)
        b.kind = ENT_OPTIM_ENTROPY_SGD;
    else
        b.kind = p->outer_rule == ENT_UPDATE_ADAM ? ENT_OPTIM_ADAM : ENT_OPTIM_SGD;
    return b;
}

static float *vec(int64_t n) { return ent_alloc(sizeof(float) * (size_t)n); }

ent_status ent_replicas_new(ent_replicas **out, const ent_optim_params *p,
                            int64_t n_param, int n_local, int first,
                            uint64_t seed, double total_epochs) {
    if (!out || !p) return ent_fail(ENT_EINVAL, "ent_replicas_new: NULL argument");
    *out = NULL;
    ent_status s = ent_optim_params_check(p);
    if (s != ENT_OK) return s;
    if (!ent_optim_kind_is_replica(p->kind))
        return ent_fail(ENT_EINVAL, "ent_replicas_new: %s is not a replica method", ent_optim_kind_name(p->kind));
    if (n_param < 1 || n_local < 1 || first < 0 || first + n_local > p->replicas)
        return ent_fail(ENT_EINVAL, "ent_replicas_new: replicas %d..%d of %d, n_param %lld", first,
                        first + n_local - 1, p->replicas, (long long)n_param);
    if (n_local * ent_dist_size() != p->replicas)
        return ent_fail(ENT_EUSAGE, "%d replicas do not split into %d per rank over %d ranks", p->replicas,
                        n_local, ent_dist_size());
    ent_replicas *r = calloc(1, sizeof *r);
    if (!r) return ent_fail(ENT_ENOMEM, "ent_replicas_new: out of memory");
    r->p = *p;
    r->n = n_param;
    r->y = p->replicas, r->n_local = n_local, r->first = first;
    r->total_epochs = total_epochs;
    r->g0 = p->coupling;
    const int explicit_c = p->kind == ENT_OPTIM_ELASTIC_SGD || p->center;
    const int pulls = p->kind != ENT_OPTIM_REPLICATED_SGD;
    r->theta = vec(n_local * n_param);
    r->center = vec(n_param);
    r->opt = calloc((size_t)n_local, sizeof *r->opt);
    int ok = r->theta && r->center && r->opt;
    if (ok && explicit_c) ok = (r->mean = vec(n_param)) != NULL;
    if (ok && pulls) ok = (r->diff = vec(n_local * n_param)) != NULL;
    const ent_optim_params b = base_params(p);
    for (int i = 0; ok && i < n_local; i++)
        s = ent_optim_new(&r->opt[i], &b, n_param, ent_replica_seed(seed, first + i)), ok = s == ENT_OK;
    if (ok && p->center) s = ent_optim_new(&r->copt, &b, n_param, seed), ok = s == ENT_OK;
    if (!ok) {
        ent_replicas_free(r);
        return s != ENT_OK ? s : ent_fail(ENT_ENOMEM, "ent_replicas_new: out of memory for %d replicas of %lld",
                                          n_local, (long long)n_param);
    }
    *out = r;
    return ENT_OK;
}

int ent_replicas_count(const ent_replicas *r) { return r->y; }
int ent_replicas_local(const ent_replicas *r) { return r->n_local; }
int ent_replicas_first(const ent_replicas *r) { return r->first; }
float *ent_replicas_theta(ent_replicas *r, int i) { return r->theta + (int64_t)i * r->n; }
float *ent_replicas_center(ent_replicas *r) { return r->center; }
int64_t ent_replicas_steps_done(const ent_replicas *r) { return r->t; }
ent_optim *ent_replicas_optim(ent_replicas *r, int i) { return r->opt[i]; }
ent_optim *ent_replicas_center_optim(ent_replicas *r) { return r->copt; }

int ent_replicas_center_is_state(const ent_replicas *r) {
    return r->p.kind == ENT_OPTIM_ELASTIC_SGD || r->p.center;
}

static const float *theta_of(ent_replicas *r, int i) { return r->theta + i * r->n; }

ent_status ent_replicas_mean_of(ent_replicas *r, float *out, ent_replica_vec v) {
    const int64_t n = r->n;
    ent_vec_copy(out, v(r, 0), n);
    for (int i = 1; i < r->n_local; i++) ent_vec_axpy(out, 1.0f, v(r, i), n);
    ent_status s = ent_dist_allreduce_sum(out, n);
    if (s == ENT_OK) ent_vec_scal(out, (float)(1.0 / r->y), n);
    return s;
}

ent_status ent_replicas_mean(ent_replicas *r, float *out) { return ent_replicas_mean_of(r, out, theta_of); }

ent_status ent_replicas_sq_distance(ent_replicas *r, const float *c, double *d2) {
    double sum = 0.0;
    for (int i = 0; i < r->n_local; i++) {
        const float *x = r->theta + i * r->n;
        double s = 0.0;
#pragma omp parallel for reduction(+ : s) if (r->n > 32768) schedule(static)
        for (int64_t k = 0; k < r->n; k++) {
            double d = (double)x[k] - (double)c[k];
            s += d * d;
        }
        sum += s;
    }
    ent_status s = ent_dist_allreduce_sum_f64(&sum, 1);
    *d2 = sum / r->y;
    return s;
}

ent_status ent_replicas_start(ent_replicas *r) { return ent_replicas_mean(r, r->center); }

ent_status ent_replicas_sync(ent_replicas *r) {
    return ent_replicas_center_is_state(r) ? ENT_OK : ent_replicas_mean(r, r->center);
}

double ent_replicas_coupling(const ent_replicas *r, double e) {
    const ent_optim_params *p = &r->p;
    if (p->kind == ENT_OPTIM_PARLE && p->parle_reference) return ent_parle_ref_rho(r);
    const double E = r->total_epochs > 0 ? r->total_epochs : 1.0, g0 = r->g0;
    double g = g0, rate = p->coupling_rate;
    switch (p->coupling_schedule) {
    case ENT_COUPLING_EXP:
        if (p->coupling_rate_auto) rate = pow(p->coupling_growth, 1.0 / E) - 1.0;
        g = g0 * pow(1.0 + rate, e);
        break;
    case ENT_COUPLING_LIN:
        if (p->coupling_rate_auto) rate = g0 * (p->coupling_growth - 1.0) / E;
        g = g0 + rate * e;
        break;
    case ENT_COUPLING_COSINE:
        return 0.5 * p->coupling_max * (1.0 - cos(PI * fmin(e / E, 1.0)));
    default:
        break;
    }
    if (p->coupling_max > 0.0 && g > p->coupling_max) g = p->coupling_max;
    return g;
}

/* The automatic g0 (sacreddnn's "focusing", docs/algorithms.md §5.2): loss and coupling energy
 * balanced at the start, g0 = mean loss / mean squared distance to the
 * centre. Measured on the first step, which is therefore uncoupled; with
 * identical replicas (distance 0) the given coupling stays. */
static ent_status auto_coupling(ent_replicas *r, double d2, double lsum) {
    ent_status s = ent_dist_allreduce_sum_f64(&lsum, 1);
    if (s == ENT_OK && d2 > 0.0) r->g0 = lsum / r->y / d2;
    return s;
}

ent_status ent_replicas_step(ent_replicas *r, const ent_objective *objs,
                             double lr_scale, double epoch, double *loss) {
    if (!r || !objs) return ent_fail(ENT_EINVAL, "ent_replicas_step: NULL argument");
    const int first_auto = r->p.coupling_auto && r->t == 0;
    const int every = r->p.coupling_every;
    int couple = !first_auto && r->t % every == 0;
    double g = ent_replicas_coupling(r, epoch) * every, d2 = 0.0, lsum = 0.0;
    ent_status s = ENT_OK;
    if (first_auto) {
        if (!ent_replicas_center_is_state(r)) s = ent_replicas_mean(r, r->center);
        if (s == ENT_OK) s = ent_replicas_sq_distance(r, r->center, &d2);
    }
    if (s != ENT_OK) return s;
    if (r->p.kind == ENT_OPTIM_REPLICATED_SGD)
        s = ent_rsgd_step(r, objs, lr_scale, g, couple, &lsum);
    else if (r->p.kind == ENT_OPTIM_PARLE && r->p.parle_reference)
        s = ent_parle_ref_step(r, objs, lr_scale, &lsum);
    else
        s = ent_elastic_step(r, objs, lr_scale, g, couple, &lsum);
    if (s == ENT_OK && first_auto) s = auto_coupling(r, d2, lsum);
    if (s != ENT_OK) return s;
    r->t++;
    if (loss) *loss = lsum / r->n_local;
    return ENT_OK;
}

int ent_replicas_state_scalars(const ent_replicas *r, ent_state_u64 *out, int max) {
    uint64_t g0;
    memcpy(&g0, &r->g0, sizeof g0);
    const ent_state_u64 all[] = {{"t", (uint64_t)r->t}, {"coupling0", g0}};
    int k = (int)(sizeof all / sizeof all[0]);
    for (int i = 0; out && i < k && i < max; i++) out[i] = all[i];
    return k;
}

ent_status ent_replicas_set_scalar(ent_replicas *r, const char *name, uint64_t v) {
    if (strcmp(name, "t") == 0 && v <= (uint64_t)INT64_MAX)
        r->t = (int64_t)v;
    else if (strcmp(name, "coupling0") == 0)
        memcpy(&r->g0, &v, sizeof v);
    else
        return ent_fail(ENT_EINVAL, "ent_replicas_set_scalar: bad scalar \"%s\" = %llu", name,
                        (unsigned long long)v);
    return ENT_OK;
}
