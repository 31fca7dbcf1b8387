/* test_fisher_adam.c — `entropic hessian --method fisher --fisher-from
 * adam`: after 3 Adam steps on a tiny net, fisher.csv holds per parameter
 * v_hat - m_hat^2 with v_hat = v / (1 - 0.999^3) and m_hat = m / (1 - 0.9^3),
 * recomputed here from the moments read back from the checkpoint; a
 * checkpoint without Adam state is refused with exit 2 and one line. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static char out[8192];

static int train(const char *dir, const char *name, const char *opt) {
    return ent_test_run(out, sizeof out, "%s train --dataset mnist --data-dir %s --model tiny-mnistfc --batch-size 32 "
                        "--epochs 1 --threads 1 --quiet --out %s/%s %s", ent_test_cli(), dir, dir, name, opt);
}

/* fisher.csv's columns 1 and 2 (mean_gradient, variance) of n rows. */
static int read_fisher(const char *path, double *mean, double *var, int64_t n) {
    FILE *f = fopen(path, "r");
    char line[256];
    int64_t k = 0;
    if (!f || !fgets(line, sizeof line, f)) return f ? (fclose(f), 0) : 0;
    long long i;
    while (k < n && fscanf(f, "%lld,%lf,%lf", &i, &mean[k], &var[k]) == 3 && i == k) k++;
    fclose(f);
    return k == n;
}

ENT_TEST(fisher_from_adam_moments) {
    const char *dir = ent_test_mnist_like(ent_test_tmpdir(), 96);
    CHECK_MSG(train(dir, "adam", "--optimizer adam --lr 0.01") == 0, "adam: %s", out);
    int rc = ent_test_run(out, sizeof out, "%s hessian --checkpoint %s/adam/checkpoint.safetensors --method fisher "
                          "--fisher-from adam --out %s/f", ent_test_cli(), dir, dir);
    CHECK_MSG(rc == 0, "hessian: %s", out);
    char path[700];
    snprintf(path, sizeof path, "%s/adam/checkpoint.safetensors", dir);
    ent_st_file *f = NULL;
    CHECK_OK(ent_safetensors_read(&f, path));
    int nd = 0;
    int64_t sh[4] = {0};
    if (!f || !ent_st_find(f, "optim.adam_m", &nd, sh)) return;
    const int64_t n = sh[0];
    CHECK(ent_st_meta(f, "optim.t") && strcmp(ent_st_meta(f, "optim.t"), "3") == 0);
    float *m = malloc(sizeof(float) * (size_t)n), *v = malloc(sizeof(float) * (size_t)n);
    double *gm = malloc(sizeof(double) * (size_t)n), *gv = malloc(sizeof(double) * (size_t)n);
    CHECK_OK(ent_st_get(f, "optim.adam_m", m, n));
    CHECK_OK(ent_st_get(f, "optim.adam_v", v, n));
    snprintf(path, sizeof path, "%s/f/fisher.csv", dir);
    CHECK_MSG(read_fisher(path, gm, gv, n), "%s: not %lld rows of index,mean,variance", path, (long long)n);
    const double c1 = 1 - 0.9 * 0.9 * 0.9, c2 = 1 - 0.999 * 0.999 * 0.999;
    double worst = 0, vmax = 0;
    for (int64_t i = 0; i < n; i++) {
        const double mh = m[i] / c1, want = v[i] / c2 - mh * mh;
        worst = fmax(worst, fabs(gv[i] - want) / (fabs(want) + 1e-300));
        worst = fmax(worst, fabs(gm[i] - mh) / (fabs(mh) + 1e-300));
        vmax = fmax(vmax, want);
    }
    printf("  %lld parameters: largest v_hat - m_hat^2 %.3g, worst relative difference %.2e (tolerance 1e-12)\n",
           (long long)n, vmax, worst);
    CHECK(worst <= 1e-12 && vmax > 0);
    CHECK_MSG(train(dir, "sgd", "--optimizer sgd") == 0, "sgd: %s", out);
    CHECK_USAGE("sgd checkpoint", "no Adam state", "%s hessian --checkpoint %s/sgd/checkpoint.safetensors --method "
                "fisher --fisher-from adam --out %s/g", ent_test_cli(), dir, dir);
    CHECK_USAGE("lanczos", "--fisher-from", "%s hessian --checkpoint %s/adam/checkpoint.safetensors --method lanczos "
                "--fisher-from adam --out %s/g", ent_test_cli(), dir, dir);
    free(m), free(v), free(gm), free(gv);
    ent_st_file_free(f);
}
