/* entropy_sgd.c — Entropy-SGD (Chaudhari et al., ICLR 2017, Algorithm 1),
 * with every convention of the reference code as an option
 * (docs/algorithms.md §3.2-§3.4: the update, scoping, and the paper
 * against its reference code). One call = one outer update:
 *
 *   gamma = gamma0 (1 + gamma1)^t, capped at gamma_max (> 0); t = updates done
 *   [grad_at_x: one extra gradient at x, discarded; its loss is averaged in]
 *   x' <- x, mu <- x, inner buffers <- 0
 *   for l = 1..L:                                   (fresh batch each time)
 *     g = grad f(x')
 *     grad_only: g <- momentum(g);  d = g + iwd x' - gamma (x - x')   (Lua)
 *     else:      d = g + iwd x' - gamma (x - x');  d <- momentum(d)
 *     (inner Adam: d <- m_hat / (sqrt(v_hat) + eps), bias-corrected by l)
 *     x' <- x' - eta' d + sigma xi,  sigma = noise sqrt(eta') (code 0) or
 *                                            noise sqrt(2 eta') (code 1)
 *     mu <- (1 - alpha) mu + alpha x'
 *   G = s (x - mu) + rho grad f(x) + wd x,  s = gamma (outer_unscaled) or 1
 *   (rho: the DR code's ESGD option, grad f(x) from the extra evaluation)
 *
 * The same loop serves hjb (params.c: noise 1e-8, mu ~ the last x') and
 * the DR code's HEAT (heat_code: mu the uniform mean of x'_1..x'_L, i.e.
 * alpha = 1/l at step l). gamma_auto: see auto_scope.
 *   x <- x - lr lr_scale step(G), step = SGD(+momentum) or Adam.
 *
 * Differences from the Lua code kept deliberately: with inner momentum 0
 * the gradient is used as is (the Lua code then replaces it by the zero
 * buffer: docs/algorithms.md §3.4, item 9). No allocation here: every
 * vector is made in ent_optim_new.
 *
 * Speed: an inner step is memory-bound (x', mu, buf read and written, x and
 * g read), so it is one pass: the parameters are cut into chunks of
 * ENT_RNG_CHUNK, and each chunk draws its Gaussian noise on the stack
 * (ent_rng_normal_chunk: element i from block counter + i/4, the layout of
 * ent_rng_normal_fill, so the stream is independent of the thread count)
 * and updates its slice at once. The first inner step also does the
 * initialisation x' = mu = x, buffers = 0 (it reads x instead of x', mu and
 * the buffers), which saves four passes per update. */
#include <math.h>
#include <string.h>

#include "core/rng_internal.h"
#include "core/simd.h"
#include "optim_internal.h"

double ent_esgd_gamma_at(const ent_optim_params *p, int64_t t) {
    double g = p->gamma0 * pow(1.0 + p->gamma1, (double)t);
    if (p->gamma_max > 0.0 && !(g <= p->gamma_max)) g = p->gamma_max;
    return g;
}

#define CHUNK ENT_RNG_CHUNK

typedef struct {
    float gam, eta, alpha, iwd, m;
    /* inner Adam: step = eta / (1 - b1^l), bc2s = sqrt(1 - b2^l) */
    float b1, b2, c1, c2, eps, step, bc2s;
} inner_coef;

/* Where chunk i0's noise comes from: sigma * N(0,1) from block base + i/4. */
typedef struct {
    uint64_t key, base;
    float sigma;
} noise_src;

/* The state of one chunk; x' and mu are read from x on the first step. */
typedef struct {
    float *restrict xp, *restrict mu, *restrict b1, *restrict b2;
    const float *restrict x, *restrict g, *restrict nz;
    int len;
} chunk_view;

typedef void (*chunk_fn)(const chunk_view *v, const inner_coef *k);

/* One SGLD step with SGD-momentum preconditioning on one chunk. MODE: 0 no
 * momentum, 1 heavy ball, 2 Nesterov; GO: momentum on g before the coupling
 * (Lua); FIRST: x' = mu = x and buf = 0 on entry. The flags are literals in
 * each expansion, so every variant's loop is branch-free and vectorises. */
#define ENT_INNER_SGD(NAME, MODE, GO, FIRST)                                     \
    static void NAME(const chunk_view *v, const inner_coef *k) {                 \
        float *restrict xp = v->xp, *restrict mu = v->mu, *restrict buf = v->b1; \
        const float *restrict x = v->x, *restrict g = v->g, *restrict nz = v->nz; \
        const float gam = k->gam, eta = k->eta, al = k->alpha,                   \
                    om = 1.0f - k->alpha, iwd = k->iwd, m = k->m;                \
        (void)buf;                                                               \
        (void)m;                                                                 \
        _Pragma("omp simd")                                                      \
        for (int i = 0; i < v->len; i++) {                                       \
            float xpi = (FIRST) ? x[i] : xp[i], gi = g[i], d;                    \
            const float mui = (FIRST) ? x[i] : mu[i];                            \
            if ((MODE) != 0 && (GO)) {                                           \
                float b = (FIRST) ? 0.0f + gi : m * buf[i] + gi; /* buf = 0 */     \
                buf[i] = b;                                                      \
                gi = (MODE) == 2 ? gi + m * b : b;                               \
            }                                                                    \
            d = gi + iwd * xpi - gam * (x[i] - xpi);                             \
            if ((MODE) != 0 && !(GO)) {                                          \
                float b = (FIRST) ? 0.0f + d : m * buf[i] + d;                   \
                buf[i] = b;                                                      \
                d = (MODE) == 2 ? d + m * b : b;                                 \
            }                                                                    \
            xpi = xpi - eta * d + nz[i];                                         \
            xp[i] = xpi;                                                         \
            mu[i] = om * mui + al * xpi;                                         \
        }                                                                        \
    }
ENT_INNER_SGD(plain_0, 0, 0, 0)
ENT_INNER_SGD(heavy_d_0, 1, 0, 0)
ENT_INNER_SGD(heavy_g_0, 1, 1, 0)
ENT_INNER_SGD(nesterov_d_0, 2, 0, 0)
ENT_INNER_SGD(nesterov_g_0, 2, 1, 0)
ENT_INNER_SGD(plain_1, 0, 0, 1)
ENT_INNER_SGD(heavy_d_1, 1, 0, 1)
ENT_INNER_SGD(heavy_g_1, 1, 1, 1)
ENT_INNER_SGD(nesterov_d_1, 2, 0, 1)
ENT_INNER_SGD(nesterov_g_1, 2, 1, 1)
#undef ENT_INNER_SGD

/* One SGLD step preconditioned by Adam moments (b1 = m, b2 = v; zero on
 * the first step) on one chunk. Compiled for AVX-512 too (core/simd.h):
 * with SSE2 its division and square root made it compute-bound. */
#define ENT_INNER_ADAM(NAME, FIRST)                                              \
    ENT_CLONES static void NAME(const chunk_view *v, const inner_coef *k) {      \
        float *restrict xp = v->xp, *restrict mu = v->mu;                        \
        float *restrict am = v->b1, *restrict av = v->b2;                        \
        const float *restrict x = v->x, *restrict g = v->g, *restrict nz = v->nz; \
        const float gam = k->gam, al = k->alpha, om = 1.0f - k->alpha,           \
                    iwd = k->iwd, b1 = k->b1, b2 = k->b2, c1 = k->c1,            \
                    c2 = k->c2, eps = k->eps, step = k->step, bc2s = k->bc2s;    \
        _Pragma("omp simd")                                                      \
        for (int i = 0; i < v->len; i++) {                                       \
            float xpi = (FIRST) ? x[i] : xp[i];                                  \
            const float mui = (FIRST) ? x[i] : mu[i];                            \
            float d = g[i] + iwd * xpi - gam * (x[i] - xpi);                     \
            float mi = ((FIRST) ? 0.0f : b1 * am[i]) + c1 * d;                   \
            float vi = ((FIRST) ? 0.0f : b2 * av[i]) + c2 * d * d;               \
            am[i] = mi;                                                          \
            av[i] = vi;                                                          \
            xpi = xpi - step * mi / (sqrtf(vi) / bc2s + eps) + nz[i];            \
            xp[i] = xpi;                                                         \
            mu[i] = om * mui + al * xpi;                                         \
        }                                                                        \
    }
ENT_INNER_ADAM(adam_0, 0)
ENT_INNER_ADAM(adam_1, 1)
#undef ENT_INNER_ADAM

/* [first][variant]: variants 0..4 = plain, heavy on d, heavy on g,
 * Nesterov on d, Nesterov on g; 5 = Adam. */
static const chunk_fn chunk_fns[2][6] = {
    {plain_0, heavy_d_0, heavy_g_0, nesterov_d_0, nesterov_g_0, adam_0},
    {plain_1, heavy_d_1, heavy_g_1, nesterov_d_1, nesterov_g_1, adam_1},
};

/* One inner step over all n parameters, chunk by chunk (see the top); each
 * thread takes its pieces of the tensors (core/pieces.h), whose starts are
 * chunk boundaries. */
static void inner_step(chunk_fn fn, float *xp, float *mu, float *b1, float *b2,
                       const float *x, const float *g, int64_t n,
                       const inner_coef *k, noise_src ns, const ent_pieces *sp) {
#pragma omp parallel if (n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int t = 0; ent_piece_mine(sp, t, &lo, &hi); t++)
            for (int64_t i0 = lo; i0 < hi; i0 += CHUNK) {
                const int len = hi - i0 < CHUNK ? (int)(hi - i0) : CHUNK;
                float nz[CHUNK];
                if (ns.sigma > 0.0f)
                    ent_rng_normal_chunk(ns.key, ns.base + (uint64_t)(i0 / 4), nz, len,
                                         ns.sigma);
                else
                    memset(nz, 0, sizeof nz);
                chunk_view v = {xp + i0, mu + i0, b1 ? b1 + i0 : NULL, b2 ? b2 + i0 : NULL,
                                x + i0, g + i0, nz, len};
                fn(&v, k);
            }
    }
}

/* G = s (x - mu) [+ rho grad f(x)], then the outer rule (which adds wd x). */
ENT_CLONES static void outer_kernel(float *restrict G, const float *restrict x,
                                    const float *restrict mu, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++) G[i] = s * (x[i] - mu[i]);
}

ENT_CLONES static void outer_kernel_rho(float *restrict G, const float *restrict x,
                                        const float *restrict mu, const float *restrict gx,
                                        int64_t n, float s, float rho) {
    for (int64_t i = 0; i < n; i++) G[i] = s * (x[i] - mu[i]) + rho * gx[i];
}

static void outer_gradient(float *G, const float *x, const float *mu, const float *gx, int64_t n,
                           float s, float rho, const ent_pieces *sp) {
#pragma omp parallel if (n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int t = 0; ent_piece_mine(sp, t, &lo, &hi); t++)
            if (gx)
                outer_kernel_rho(G + lo, x + lo, mu + lo, gx + lo, hi - lo, s, rho);
            else
                outer_kernel(G + lo, x + lo, mu + lo, hi - lo, s);
    }
}

/* sacreddnn's automatic scope, after the first update (which ran with
 * gamma 0): the coupling energy gamma |x - x'|^2 / 2 made equal to the loss
 * f_last at the last inner step, and gamma1 so that gamma grows by gamma_max
 * over the run. The clock t then starts from this update (t = 1 next). */
static void auto_scope(ent_optim *o, const float *x, double f_last) {
    double d2 = 0.0;
#pragma omp parallel for reduction(+ : d2) if (o->n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < o->n; i++) {
        const double d = (double)x[i] - (double)o->x_prime[i];
        d2 += d * d;
    }
    ent_optim_params *p = &o->p;
    p->gamma0 = d2 > 0.0 && f_last > 0.0 ? f_last / (0.5 * d2) : o->gamma0_given;
    p->gamma1 = pow(p->gamma_max, 1.0 / (double)p->gamma_auto_updates) - 1.0;
}

ent_status ent_esgd_step(ent_optim *o, const ent_objective *obj, float *x,
                         double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    const ent_pieces sp = ent_pieces_of(obj, n);
    const double gamma = ent_esgd_gamma_at(p, o->t);
    double lsum = 0.0, l1;
    int nevals = 0;
    ent_status s;

    float *gx = p->rho > 0.0 ? o->scratch : NULL; /* grad f(x), kept for rho */
    if (ent_esgd_grad_at_x(p)) { /* the reference codes' extra gradient (discarded without rho) */
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        if ((s = ent_objective_eval(obj, x, gx ? gx : o->grad, &l1)) != ENT_OK) return s;
        lsum += l1;
        nevals++;
    }

    const double sigma = p->noise * sqrt((p->noise_code ? 2.0 : 1.0) * p->sgld_lr);
    inner_coef k = {(float)gamma, (float)p->sgld_lr, (float)p->alpha,
                    (float)p->inner_weight_decay, (float)p->inner_momentum,
                    (float)p->beta1, (float)p->beta2, (float)(1.0 - p->beta1),
                    (float)(1.0 - p->beta2), (float)p->adam_eps, 0.0f, 0.0f};
    const int mode = p->inner_momentum > 0.0 ? (p->inner_nesterov ? 2 : 1) : 0;
    const int adam = p->inner_rule == ENT_UPDATE_ADAM;
    const int go = p->inner_momentum_grad_only ? 1 : 0;
    const int variant = adam ? 5 : mode == 0 ? 0 : 2 * mode - 1 + go; /* chunk_fns order */
    float *b1 = adam ? o->inner_adam_m : o->inner_momentum;
    float *b2 = adam ? o->inner_adam_v : NULL;
    const int uniform = p->kind == ENT_OPTIM_HEAT; /* the DR code's HEAT (heat_code) */

    for (int l = 1; l <= p->L; l++) {
        const float *at = l == 1 ? x : o->x_prime; /* x' = x before step 1 */
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        if ((s = ent_objective_eval(obj, at, o->grad, &l1)) != ENT_OK) return s;
        lsum += l1;
        nevals++;
        if (uniform) k.alpha = 1.0f / (float)l; /* mu = mean of x'_1..x'_l */
        if (adam) {
            const double bc1 = 1.0 - pow(p->beta1, l), bc2 = 1.0 - pow(p->beta2, l);
            k.step = (float)((double)k.eta / bc1);
            k.bc2s = (float)sqrt(bc2);
        }
        const noise_src ns = {o->rng.key, o->rng.counter, (float)sigma};
        inner_step(chunk_fns[l == 1][variant], o->x_prime, o->mu, b1, b2, x, o->grad, n, &k, ns,
                   &sp);
        if (sigma > 0.0) o->rng.counter += (uint64_t)((n + 3) / 4);
    }

    if (p->gamma_auto && o->t == 0) auto_scope(o, x, l1);
    const double lr = p->lr * lr_scale;
    outer_gradient(o->grad, x, o->mu, gx, n, (float)(p->outer_unscaled ? gamma : 1.0), (float)p->rho, &sp);
    ent_optim_base_apply(o, x, o->grad, lr, p->weight_decay, &sp);
    *loss = lsum / nevals;
    return ENT_OK;
}
