/* main.c — `entropic SUBCOMMAND [options]`: dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define ENT_VERSION "0.1.0"

int ent_cli_status(ent_status s, const char *cmd) {
    if (s == ENT_OK) return 0;
    fprintf(stderr, "entropic %s: error: %s\n", cmd, ent_last_error());
    return s == ENT_EDIVERGED ? 1 : 2;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"train", ent_cmd_train, "train a network (sgd, adam, entropy-sgd)"},
    {"eval", ent_cmd_eval, "loss and error of a checkpoint on a data set"},
    {"compare", ent_cmd_compare, "side-by-side table of training runs"},
    {"hessian", ent_cmd_hessian, "Hessian spectrum of a checkpoint (exact, Lanczos, SLQ density)"},
    {"flatness", ent_cmd_flatness, "local energy and local entropy of checkpoints"},
    {"bench", ent_cmd_bench, "samples/s of every preset next to PyTorch"},
};

static void usage(FILE *to) {
    fprintf(to, "usage: entropic COMMAND [options]   (entropic COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].what);
}

int main(int argc, char **argv) {
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
