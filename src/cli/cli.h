/* cli.h — the sub-commands of the `entropic` program. Each returns the
 * process exit status: 0 ok, 1 the run failed (diverged), 2 usage/input. */
#ifndef ENT_CLI_H
#define ENT_CLI_H

#include "entropic.h"

int ent_cmd_train(int argc, char **argv);
int ent_cmd_eval(int argc, char **argv);
int ent_cmd_sample(int argc, char **argv);
int ent_cmd_compare(int argc, char **argv);
int ent_cmd_hessian(int argc, char **argv);
int ent_cmd_flatness(int argc, char **argv);
int ent_cmd_bench(int argc, char **argv);
int ent_cmd_info(int argc, char **argv);
int ent_cmd_model(int argc, char **argv);
int ent_cmd_data(int argc, char **argv);
int ent_cmd_reproduce(int argc, char **argv);

/* Print "entropic CMD: error: <detail>" for a failed status; map to exit code. */
int ent_cli_status(ent_status s, const char *cmd);

/* What `entropic info` reports, also in `entropic bench`'s header (cmd_info.c). */
/* The CPU's model name from /proc/cpuinfo ("unknown" without one). */
void ent_cli_cpu_model(char *out, size_t cap);
/* OpenBLAS's core in this process and where it came from, in words, e.g.
 * "Zen (OpenBLAS's own pick)". */
void ent_cli_blas_core(char *out, size_t cap);
/* Where the core came from: "detected" (OpenBLAS's own pick), "environment"
 * (OPENBLAS_CORETYPE set by the user or the machine) or "entropic" (set by
 * main's re-exec; *detected: what OpenBLAS had picked, else NULL). */
const char *ent_cli_blas_source(const char **detected);

#endif
