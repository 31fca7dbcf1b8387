/* bench_torch.c — the PyTorch peer of `entropic bench`: runs
 * bench/torch_bench.py in fresh processes and keeps, per measurement, the
 * fastest of the runtime settings tried (PyTorch at its best on this CPU,
 * see /work/shared/docs/machine.md):
 *   - OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads (torch.set_num_threads
 *     alone leaves OpenBLAS's own pool at full size);
 *   - OMP_WAIT_POLICY passive and active (passive wins for the GEMM-bound
 *     mnistfc, where GOMP and OpenBLAS spin against each other; oneDNN's
 *     convolutions prefer active);
 *   - the environment's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as they are,
 *     and both unset in that one command (env -u) — OpenBLAS then picks its
 *     AVX-512 kernels;
 *   - glibc malloc kept from returning memory to the kernel every step.
 * Nothing here changes this process's own environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/bench.h"

#define PEER_MALLOC "MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456"
#define PEER_OUT_MAX (1 << 16)

/* s in single quotes for /bin/sh ('\'' for each quote inside). */
static void shell_quote(char *dst, size_t cap, const char *s) {
    size_t n = 0;
    if (cap < 3) return;
    dst[n++] = '\'';
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(dst + n, "'\\''", 4);
            n += 4;
        } else {
            dst[n++] = *s;
        }
    }
    dst[n++] = '\'';
    dst[n] = 0;
}

/* Run cmd, collect its standard output; returns its exit status (-1: could not run). */
static int run_capture(const char *cmd, char *out, size_t cap) {
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = 0, k;
    while (n + 1 < cap && (k = fread(out + n, 1, cap - 1 - n, f)) > 0) n += k;
    out[n] = 0;
    int rc = pclose(f);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* The script: given, else bench/torch_bench.py under the current folder,
 * else next to the program (BUILD/entropic -> BUILD/../bench/). */
static void find_script(ent_torch_peer *t) {
    if (t->script[0]) return;
    snprintf(t->script, sizeof t->script, "bench/torch_bench.py");
    if (access(t->script, R_OK) == 0) return;
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(t->script, sizeof t->script, "%s/../bench/torch_bench.py", exe);
}

void ent_torch_probe(ent_torch_peer *t) {
    char q[1100], cmd[1300];
    t->available = 0;
    if (!t->python[0])
        snprintf(t->python, sizeof t->python, "%s",
                 access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
    find_script(t);
    if (access(t->script, R_OK) != 0) {
        snprintf(t->why, sizeof t->why, "%.200s not found (--torch-script)", t->script);
        return;
    }
    shell_quote(q, sizeof q, t->python);
    snprintf(cmd, sizeof cmd, "%s -c 'import torch; print(torch.__version__)' 2>/dev/null", q);
    char out[256];
    if (run_capture(cmd, out, sizeof out) != 0 || !out[0]) {
        snprintf(t->why, sizeof t->why, "%.200s cannot import torch", t->python);
        return;
    }
    out[strcspn(out, "\r\n")] = 0;
    snprintf(t->version, sizeof t->version, "%.31s", out);
    t->available = 1;
}

/* Keep each measurement of one peer run's JSON whose median beats what out holds. */
static void merge(const ent_jv *root, const char *const *models, int n_models,
                  const char *config, ent_bench_peer *out) {
    const ent_jv *res = ent_jv_get(root, "results");
    for (int64_t i = 0; res && res->type == ENT_JSON_ARRAY && i < res->n; i++) {
        const ent_jv *r = &res->items[i], *m = ent_jv_get(r, "model"), *k = ent_jv_get(r, "kind");
        const ent_jv *med = ent_jv_get(r, "median"), *lo = ent_jv_get(r, "min"), *hi = ent_jv_get(r, "max"),
                     *w = ent_jv_get(r, "windows");
        if (!m || !k || !med || !lo || !hi || !w || m->type != ENT_JSON_STRING || k->type != ENT_JSON_STRING ||
            med->type != ENT_JSON_NUMBER)
            continue;
        for (int a = 0; a < n_models; a++)
            for (int b = 0; b < ENT_BENCH_N_KINDS; b++) {
                ent_bench_peer *p = &out[a * ENT_BENCH_N_KINDS + b];
                if (strcmp(m->str, models[a]) || strcmp(k->str, ent_bench_kind_name((ent_bench_kind)b))) continue;
                if (p->rate.windows > 0 && p->rate.median >= med->num) continue;
                p->rate = (ent_bench_rate){med->num, lo->num, hi->num, (int)w->num};
                snprintf(p->config, sizeof p->config, "%s", config);
            }
    }
}

/* One peer process with one setting; merge its results. 0: it failed. */
static int run_variant(const ent_torch_peer *t, int threads, const char *models_csv,
                        const char *kinds_csv, const ent_bench_plan *p, const char *wait, int unset_blas,
                        const char *const *models, int n_models, ent_bench_peer *out) {
    char qp[1100], qs[1100], qm[600], cmd[4096];
    shell_quote(qp, sizeof qp, t->python);
    shell_quote(qs, sizeof qs, t->script);
    shell_quote(qm, sizeof qm, models_csv);
    snprintf(cmd, sizeof cmd,
             "env %s OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d OMP_WAIT_POLICY=%s " PEER_MALLOC
             " %s %s --threads %d --models %s --kinds %s --batch %lld --L %d --repeats %d --seconds %g 2>/dev/null",
             unset_blas ? "-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" : "", threads, threads, wait, qp, qs,
             threads, qm, kinds_csv, (long long)p->batch, p->L, p->repeats, p->seconds);
    if (isatty(2))
        fprintf(stderr, "  PyTorch, %d thread%s, %s, OpenBLAS env %s ...\n", threads, threads > 1 ? "s" : "",
                wait, unset_blas ? "unset" : "as is");
    char *text = malloc(PEER_OUT_MAX);
    if (!text) return 0;
    int rc = run_capture(cmd, text, PEER_OUT_MAX);
    ent_jv root;
    if (rc != 0 || ent_jv_parse(&root, text, strlen(text)) != ENT_OK) {
        fprintf(stderr, "entropic bench: the PyTorch peer failed (exit %d); to see why, run:\n  %s\n", rc, cmd);
        free(text);
        return 0;
    }
    char config[96];
    snprintf(config, sizeof config, "%s, OpenBLAS env %s", wait, unset_blas ? "unset" : "as is");
    merge(&root, models, n_models, config, out);
    ent_jv_free(&root);
    free(text);
    return 1;
}

void ent_torch_run(const ent_torch_peer *t, int threads, const char *const *models,
                   int n_models, const ent_bench_plan *p, ent_bench_peer *out) {
    char csv[512] = "", kinds[64] = "";
    for (int i = 0; i < n_models; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s%s", i ? "," : "", models[i]);
    for (int k = 0; k < ENT_BENCH_N_KINDS; k++)
        if (p->kinds & (1u << k))
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", kinds[0] ? "," : "",
                     ent_bench_kind_name((ent_bench_kind)k));
    for (int i = 0; i < n_models * ENT_BENCH_N_KINDS; i++) out[i] = (ent_bench_peer){0};
    /* Unsetting changes nothing when the environment sets neither. */
    int n_blas = getenv("OPENBLAS_CORETYPE") || getenv("OPENBLAS_L2_SIZE") ? 2 : 1;
    static const char *const waits[] = {"passive", "active"};
    int ok = 1; /* a peer that failed once fails every time: say so once */
    for (int u = 0; u < n_blas && ok; u++)
        for (int w = 0; w < 2 && ok; w++) ok = run_variant(t, threads, csv, kinds, p, waits[w], u, models, n_models, out);
}
