/* data_cli.h — the data options every command that reads a data set takes
 * (train, eval, hessian, flatness): one table, one help text. */
#ifndef ENT_DATA_CLI_H
#define ENT_DATA_CLI_H

#include "cli/args.h"
#include "entropic.h"

#define ENT_CLI_DATA_ARGS 7
#define ENT_CLI_DATASETS "fashion-mnist|mnist|cifar10|arrays"
#define ENT_CLI_TEXT_DATASETS "text|ptb" /* train, eval, sample */

/* Appends --dataset, --data-dir, --train-x, --train-y, --test-x, --test-y, --text
 * (parsed into d) to spec a; returns how many (ENT_CLI_DATA_ARGS). */
int ent_cli_data_args(ent_arg *a, ent_data_source *d);
/* out = own[0..at), the data options, own[at..n_own); returns the count.
 * out has room for n_own + ENT_CLI_DATA_ARGS entries. */
int ent_cli_spec_with_data(ent_arg *out, const ent_arg *own, int n_own, int at, ent_data_source *d);

#endif
