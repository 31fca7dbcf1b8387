/* bench_torch.c — the PyTorch peer of `entropic bench`: runs
 * bench/torch_bench.py in fresh processes and keeps, per measurement, the
 * fastest of the runtime settings tried, so that the peer runs at its best
 * on whatever CPU this is (bench/RESULTS.md records what each is worth):
 *   - OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads (torch.set_num_threads
 *     alone leaves OpenBLAS's own pool at full size);
 *   - OMP_WAIT_POLICY passive and active (passive wins for the GEMM-bound
 *     mnistfc, where GOMP and OpenBLAS spin against each other; oneDNN's
 *     convolutions prefer active);
 *   - the OpenBLAS variables of the environment entropic was started in
 *     (an OPENBLAS_CORETYPE entropic chose for itself is taken out again);
 *     when that environment sets OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE,
 *     also both unset in that one command (env -u), so that OpenBLAS picks
 *     its kernels itself;
 *   - when the peer's OpenBLAS fell back to a generic core (Prescott on a
 *     CPU newer than the library: SSE3 kernels, 4-5x slower), also
 *     OPENBLAS_CORETYPE = the best type this CPU's flags support, by the
 *     same decision as for our own binary (core/blas_core.h): never a type
 *     the CPU cannot run;
 *   - glibc malloc kept from returning memory to the kernel every step.
 * Nothing here changes this process's own environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "core/blas_core.h"

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

/* The OPENBLAS_CORETYPE of the environment entropic was started in: NULL
 * when unset or when entropic set it for itself (main.c's re-exec). */
static const char *user_coretype(void) {
    const char *detected;
    return strcmp(ent_cli_blas_source(&detected), "entropic") == 0 ? NULL : getenv("OPENBLAS_CORETYPE");
}

/* The peer's "as is" environment: the user's, without entropic's own
 * choice of core and its marker. */
static const char *env_as_is(void) {
    return user_coretype() || !getenv("OPENBLAS_CORETYPE") ? "-u " ENT_BLAS_DETECTED_VAR
                                                           : "-u OPENBLAS_CORETYPE -u " ENT_BLAS_DETECTED_VAR;
}

static void copy_str(char *dst, size_t cap, const ent_jv *root, const char *key, const char *fallback) {
    const ent_jv *v = ent_jv_get(root, key);
    snprintf(dst, cap, "%s", v && v->type == ENT_JSON_STRING ? v->str : fallback);
}

/* torch_bench.py --probe under env(1) arguments `env`: the peer's facts
 * into t (version, BLAS_INFO) and its OpenBLAS core and configuration.
 * 0: it did not run. */
static int probe_once(ent_torch_peer *t, const char *env, char *core, size_t core_cap, char *config,
                      size_t config_cap) {
    char qp[1100], qs[1100], cmd[2400], out[4096];
    shell_quote(qp, sizeof qp, t->python);
    shell_quote(qs, sizeof qs, t->script);
    snprintf(cmd, sizeof cmd, "env %s %s %s --probe 2>/dev/null", env, qp, qs);
    ent_jv root;
    if (run_capture(cmd, out, sizeof out) != 0 || ent_jv_parse(&root, out, strlen(out)) != ENT_OK) return 0;
    copy_str(t->version, sizeof t->version, &root, "torch", "?");
    copy_str(t->blas_info, sizeof t->blas_info, &root, "blas_info", "unknown");
    copy_str(core, core_cap, &root, "openblas_core", "unknown");
    copy_str(config, config_cap, &root, "openblas_config", "unknown");
    ent_jv_free(&root);
    return 1;
}

/* The core type to try besides: the decision of core/blas_core.h on the
 * core the peer's OpenBLAS picks by itself (OPENBLAS_CORETYPE unset: a
 * machine that sets Haswell on a CPU with AVX-512 hides what OpenBLAS
 * would do), or on the test hook's name. Only for a DYNAMIC_ARCH OpenBLAS
 * (other builds ignore the variable), never a type this CPU's flags lack,
 * and not the type the environment already sets. */
static void pick_try_core(ent_torch_peer *t, const char *config) {
    char own[32], own_config[256];
    const char *user = user_coretype(), *hook = getenv(ENT_BLAS_TEST_HOOK), *seen = t->openblas_core;
    t->try_core[0] = 0;
    if (strcmp(t->openblas_core, "unknown") == 0 || !strstr(config, "DYNAMIC_ARCH")) return;
    if (user && probe_once(t, "-u OPENBLAS_CORETYPE -u " ENT_BLAS_DETECTED_VAR, own, sizeof own, own_config,
                           sizeof own_config))
        seen = own;
    if (hook && hook[0]) seen = hook;
    ent_cpu_features f;
    ent_cpu_features_detect(&f);
    const char *best = ent_blas_choose_core(seen, &f);
    if (best && !(user && strcasecmp(user, best) == 0)) snprintf(t->try_core, sizeof t->try_core, "%s", best);
}

void ent_torch_probe(ent_torch_peer *t) {
    t->available = 0;
    if (!t->python[0])
        snprintf(t->python, sizeof t->python, "%s",
                 access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
    find_script(t);
    if (access(t->script, R_OK) != 0) {
        snprintf(t->why, sizeof t->why, "%.200s not found (--torch-script)", t->script);
        return;
    }
    char config[256];
    if (!probe_once(t, env_as_is(), t->openblas_core, sizeof t->openblas_core, config, sizeof config)) {
        snprintf(t->why, sizeof t->why, "%.180s cannot import torch (or %.30s --probe failed)", t->python, t->script);
        return;
    }
    pick_try_core(t, config);
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

/* The OpenBLAS settings the peer is run with: env(1) arguments (every -u
 * before any assignment) and how the row names them. */
typedef struct {
    char env[160];
    const char *label;
} peer_blas;

/* One peer process with one setting; merge its results. 0: it failed. */
static int run_variant(const ent_torch_peer *t, int threads, const char *models_csv,
                       const char *kinds_csv, const ent_bench_plan *p, const char *wait, const peer_blas *b,
                       const char *const *models, int n_models, ent_bench_peer *out) {
    char qp[1100], qs[1100], qm[600], cmd[4096];
    shell_quote(qp, sizeof qp, t->python);
    shell_quote(qs, sizeof qs, t->script);
    shell_quote(qm, sizeof qm, models_csv);
    snprintf(cmd, sizeof cmd,
             "env %s OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d OMP_WAIT_POLICY=%s " PEER_MALLOC
             " %s %s --threads %d --models %s --kinds %s --batch %lld --L %d --repeats %d --seconds %g 2>/dev/null",
             b->env, threads, threads, wait, qp, qs, threads, qm, kinds_csv, (long long)p->batch, p->L, p->repeats,
             p->seconds);
    if (isatty(2))
        fprintf(stderr, "  PyTorch, %d thread%s, %s, OpenBLAS %s ...\n", threads, threads > 1 ? "s" : "", wait,
                b->label);
    char *text = malloc(PEER_OUT_MAX);
    if (!text) return 0;
    int rc = run_capture(cmd, text, PEER_OUT_MAX);
    ent_jv root;
    if (rc != 0 || ent_jv_parse(&root, text, strlen(text)) != ENT_OK) {
        fprintf(stderr, "entropic bench: the PyTorch peer failed (exit %d); to see why, run:\n  %s\n", rc, cmd);
        free(text);
        return 0;
    }
    /* The core this very run had, as the peer reports it. */
    const ent_jv *core = ent_jv_get(&root, "openblas_core");
    char config[96];
    snprintf(config, sizeof config, "%s, OpenBLAS %.24s (%s)", wait,
             core && core->type == ENT_JSON_STRING ? core->str : "unknown", b->label);
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
    peer_blas b[3];
    int n_blas = 0;
    b[n_blas] = (peer_blas){.label = "env as is"};
    snprintf(b[n_blas++].env, sizeof b[0].env, "%s", env_as_is());
    /* Unsetting changes nothing when the user's environment sets neither. */
    if (user_coretype() || getenv("OPENBLAS_L2_SIZE")) {
        b[n_blas] = (peer_blas){.label = "env unset"};
        snprintf(b[n_blas++].env, sizeof b[0].env,
                 "-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u " ENT_BLAS_DETECTED_VAR);
    }
    if (t->try_core[0]) {
        b[n_blas] = (peer_blas){.label = "OPENBLAS_CORETYPE set"};
        snprintf(b[n_blas++].env, sizeof b[0].env, "-u OPENBLAS_CORETYPE -u " ENT_BLAS_DETECTED_VAR
                 " OPENBLAS_CORETYPE=%s", t->try_core);
    }
    static const char *const waits[] = {"passive", "active"};
    int ok = 1; /* a peer that failed once fails every time: say so once */
    for (int u = 0; u < n_blas && ok; u++)
        for (int w = 0; w < 2 && ok; w++)
            ok = run_variant(t, threads, csv, kinds, p, waits[w], &b[u], models, n_models, out);
}
