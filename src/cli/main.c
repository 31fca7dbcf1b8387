/* main.c — `entropic SUBCOMMAND [options]`: dispatch only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/blas_core.h"

int ent_cli_status(ent_status s, const char *cmd) {
    if (s == ENT_OK) return 0;
    /* Out of memory says so, whatever the message names (the buffers, the replicas...). */
    const int say_oom = s == ENT_ENOMEM && !strstr(ent_last_error(), "out of memory");
    fprintf(stderr, "entropic %s: error: %s%s\n", cmd, say_oom ? "out of memory: " : "", ent_last_error());
    return s == ENT_EDIVERGED ? 1 : 2;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"train", ent_cmd_train, "train a network (sgd, adam, entropy-sgd)"},
    {"eval", ent_cmd_eval, "loss and error of a checkpoint on a data set"},
    {"sample", ent_cmd_sample, "text from a model trained on text"},
    {"compare", ent_cmd_compare, "side-by-side table of training runs"},
    {"hessian", ent_cmd_hessian, "Hessian spectrum of a checkpoint (exact, Lanczos, SLQ density)"},
    {"flatness", ent_cmd_flatness, "local energy and local entropy of checkpoints"},
    {"bench", ent_cmd_bench, "samples/s of every preset next to PyTorch"},
    {"model", ent_cmd_model, "a network's description (show) or its nodes, shapes and memory (summary)"},
    {"reproduce", ent_cmd_reproduce, "the papers' experiments: a sweep of arms x seeds and a report beside the paper's numbers"},
    {"data", ent_cmd_data, "make data sets: the Brown corpus as PTB-style word and character files"},
    {"info", ent_cmd_info, "CPU, GEMM backend, OpenBLAS core and a check of its kernels"},
};

static void usage(FILE *to) {
    fprintf(to, "usage: entropic COMMAND [options]   (entropic COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].what);
    fprintf(to, "\nentropic starts itself once more with OMP_WAIT_POLICY=passive and, when OpenBLAS fell\n"
                "back to a generic core on a CPU with AVX2 or AVX-512, OPENBLAS_CORETYPE set to the best\n"
                "one the CPU supports; a variable you set is left as it is. `entropic info` shows what\n"
                "runs (docs/guide.md, \"BLAS kernels\").\n");
}

/* Two settings are read once, when the libraries are loaded, before main:
 * so the process executes itself once more with them set, both at once.
 *
 * OMP_WAIT_POLICY=passive. OpenMP threads wait for work by spinning
 * (libgomp's default), which collapses when anything else runs on the
 * machine: the thread a spinner waits for is descheduled while the spinner
 * burns the core. mnistfc training at 2 threads beside one other busy
 * process: 680 samples/s by default, 14,700 with OMP_WAIT_POLICY=passive
 * (bench/RESULTS.md has the quiet-machine cost). A policy the user chose
 * (OMP_WAIT_POLICY or GOMP_SPINCOUNT set) is left alone.
 *
 * OPENBLAS_CORETYPE, only when OpenBLAS fell back to a generic core on a
 * CPU that runs better kernels (core/blas_core.h: Prescott's SSE3 on a
 * Sapphire Rapids, 4-5x slower) and the variable is unset: one the user or
 * the machine set is never changed. ENT_BLAS_DETECTED_VAR records what
 * OpenBLAS had picked, for `entropic info`.
 *
 * Neither can loop: the next image finds both variables set. */
static void reexec_once(char **argv) {
    const char *preload = getenv("LD_PRELOAD"); /* under valgrind, /proc/self/exe is the tool */
    if (preload && strstr(preload, "vgpreload")) return;
    int again = 0;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
        again |= setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
    const char *detected = NULL, *core = ent_blas_core_wanted(&detected);
    int set_core = 0;
    if (core && setenv(ENT_BLAS_DETECTED_VAR, detected, 1) == 0) {
        set_core = setenv("OPENBLAS_CORETYPE", core, 1) == 0;
        if (!set_core) unsetenv(ENT_BLAS_DETECTED_VAR);
    }
    if (!again && !set_core) return;
    execv("/proc/self/exe", argv); /* returns only on failure: keep going as we are */
    if (set_core) { /* this image runs the detected core: say so to `info` and to children */
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv(ENT_BLAS_DETECTED_VAR);
    }
}

int main(int argc, char **argv) {
    reexec_once(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("entropic %s\n", ENT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "entropic: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
