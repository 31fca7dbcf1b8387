/* rop_bn_impl.h — R-operator of batch-norm (1-D and 2-D), see rop.h, in the
 * precision REAL (a template: rop_impl.h includes it); sums in double.
 * Per channel, N = n*H*W values, xhat = (x - m) s, y = g xhat + b.
 * Eval: m, s are the running statistics (constants), s = 1/sqrt(var+eps).
 * Train: m = mean x, s = (var x + eps)^(-1/2) (biased variance), and
 *   Rm = mean Rx,  Rs = -s^3 mean((x - m) Rx),  Rxhat = (Rx - Rm) s + (x - m) Rs
 *   forward:  Ry = g Rxhat + Vg xhat + Vb
 *   backward: gh = g gy, A = mean gh, B = mean(gh xhat)
 *             gx  = s (gh - A - xhat B)
 *             Rgh = g Rgy + Vg gy, RA = mean Rgh, RB = mean(Rgh xhat + gh Rxhat)
 *             Rgx = Rs (gh - A - xhat B) + s (Rgh - RA - Rxhat B - xhat RB)
 *             (Hv)_g += sum(Rgy xhat + gy Rxhat),  (Hv)_b += sum Rgy
 * In eval A = B = RA = RB = Rm = Rs = 0. Saved: m, s, Rm, Rs per channel. */
typedef struct {
    int64_t n, C, HW;
} bn_dims;

static double chan_mean(const REAL *x, bn_dims d, int64_t c) {
    double s = 0.0;
    for (int64_t i = 0; i < d.n; i++)
        for (int64_t j = 0; j < d.HW; j++) s += x[(i * d.C + c) * d.HW + j];
    return s / (double)(d.n * d.HW);
}

/* mean of (x - m) * y over channel c */
static double chan_cmean(const REAL *x, double m, const REAL *y, bn_dims d, int64_t c) {
    double s = 0.0;
    for (int64_t i = 0; i < d.n; i++)
        for (int64_t j = 0; j < d.HW; j++) {
            const int64_t k = (i * d.C + c) * d.HW + j;
            s += (x[k] - m) * y[k];
        }
    return s / (double)(d.n * d.HW);
}

/* Statistics of channel c into saved (m, s, Rm, Rs at c, C+c, 2C+c, 3C+c). */
static void stats(const ent_layer *l, const REAL *in, const REAL *rin, REAL *saved,
                  bn_dims d, int64_t c, const ent_rop_ctx *ctx) {
    double m, s, rm = 0.0, rs = 0.0;
    if (ctx->bn_train) {
        m = chan_mean(in, d, c);
        s = 1.0 / sqrt(chan_cmean(in, m, in, d, c) + (double)l->bn.eps);
        if (rin) {
            rm = chan_mean(rin, d, c);
            rs = -s * s * s * chan_cmean(in, m, rin, d, c);
        }
    } else {
        const REAL *buf = ctx->buffers;
        m = buf[l->tensors[ENT_BN_MEAN].offset + c];
        s = 1.0 / sqrt(buf[l->tensors[ENT_BN_VAR].offset + c] + (double)l->bn.eps);
    }
    saved[c] = m, saved[d.C + c] = s, saved[2 * d.C + c] = rm, saved[3 * d.C + c] = rs;
}

static void bn_forward(const ent_layer *l, const REAL *th, const REAL *v,
                        const REAL *in, const REAL *rin, REAL *out,
                        REAL *rout, REAL *saved, ent_rop_ctx *ctx) {
    const bn_dims d = {ctx->n, l->in_c, l->in_h * l->in_w};
    const REAL *g = th + l->tensors[ENT_BN_WEIGHT].offset;
    const REAL *b = th + l->tensors[ENT_BN_BIAS].offset;
#pragma omp parallel for if (d.n * d.C * d.HW > ENT_PAR_MIN)
    for (int64_t c = 0; c < d.C; c++) {
        stats(l, in, v ? rin : NULL, saved, d, c, ctx);
        const double m = saved[c], s = saved[d.C + c], rm = saved[2 * d.C + c], rs = saved[3 * d.C + c];
        const double vg = v ? v[l->tensors[ENT_BN_WEIGHT].offset + c] : 0.0;
        const double vb = v ? v[l->tensors[ENT_BN_BIAS].offset + c] : 0.0;
        for (int64_t i = 0; i < d.n; i++)
            for (int64_t j = 0; j < d.HW; j++) {
                const int64_t k = (i * d.C + c) * d.HW + j;
                const double xh = (in[k] - m) * s;
                out[k] = g[c] * xh + b[c];
                if (!v) continue;
                const double rxh = rin ? (rin[k] - rm) * s + (in[k] - m) * rs : 0.0;
                rout[k] = g[c] * rxh + vg * xh + vb;
            }
    }
}

static void bn_backward(const ent_layer *l, const REAL *th, const REAL *v,
                         const REAL *in, const REAL *rin, const REAL *saved,
                         const REAL *gout, const REAL *rgout, REAL *gin,
                         REAL *rgin, REAL *gth, REAL *rgth, ent_rop_ctx *ctx) {
    const bn_dims d = {ctx->n, l->in_c, l->in_h * l->in_w};
    const int64_t go = l->tensors[ENT_BN_WEIGHT].offset, bo = l->tensors[ENT_BN_BIAS].offset;
    const REAL *g = th + go, inv = 1.0 / (double)(d.n * d.HW);
    const int train = ctx->bn_train;
#pragma omp parallel for if (d.n * d.C * d.HW > ENT_PAR_MIN)
    for (int64_t c = 0; c < d.C; c++) {
        const double m = saved[c], s = saved[d.C + c], rm = saved[2 * d.C + c], rs = saved[3 * d.C + c];
        const double vg = v ? v[go + c] : 0.0;
        /* pass 1: the channel sums */
        double sgy = 0, sgyx = 0, srgy = 0, srx = 0, srgh = 0, sb = 0;
        for (int64_t i = 0; i < d.n; i++)
            for (int64_t j = 0; j < d.HW; j++) {
                const int64_t k = (i * d.C + c) * d.HW + j;
                const double xh = (in[k] - m) * s, gy = gout[k];
                sgy += gy, sgyx += gy * xh;
                if (!v) continue;
                const double rxh = rin ? (rin[k] - rm) * s + (in[k] - m) * rs : 0.0;
                const double rgh = g[c] * rgout[k] + vg * gy;
                srgy += rgout[k], srx += rgout[k] * xh + gy * rxh;
                srgh += rgh, sb += rgh * xh + g[c] * gy * rxh;
            }
        if (gth) gth[go + c] += sgyx, gth[bo + c] += sgy;
        if (v && rgth) rgth[go + c] += srx, rgth[bo + c] += srgy;
        if (!gin) continue;
        const double A = train ? g[c] * sgy * inv : 0.0, B = train ? g[c] * sgyx * inv : 0.0;
        const double RA = train ? srgh * inv : 0.0, RB = train ? sb * inv : 0.0;
        /* pass 2: the input adjoints */
        for (int64_t i = 0; i < d.n; i++)
            for (int64_t j = 0; j < d.HW; j++) {
                const int64_t k = (i * d.C + c) * d.HW + j;
                const double xh = (in[k] - m) * s, gh = g[c] * gout[k];
                gin[k] = s * (gh - A - xh * B);
                if (!v || !rgin) continue;
                const double rxh = rin ? (rin[k] - rm) * s + (in[k] - m) * rs : 0.0;
                const double rgh = g[c] * rgout[k] + vg * gout[k];
                rgin[k] = rs * (gh - A - xh * B) + s * (rgh - RA - rxh * B - xh * RB);
            }
    }
}
