/* cli.h — the sub-commands of the `entropic` program. Each returns the
 * process exit status: 0 ok, 1 the run failed (diverged), 2 usage/input. */
#ifndef ENT_CLI_H
#define ENT_CLI_H

#include "entropic.h"

int ent_cmd_train(int argc, char **argv);
int ent_cmd_eval(int argc, char **argv);
int ent_cmd_compare(int argc, char **argv);
int ent_cmd_hessian(int argc, char **argv);
int ent_cmd_flatness(int argc, char **argv);
int ent_cmd_bench(int argc, char **argv);

/* Print "entropic CMD: error: <detail>" for a failed status; map to exit code. */
int ent_cli_status(ent_status s, const char *cmd);

#endif
