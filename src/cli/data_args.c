/* data_args.c — the data options (data_cli.h). */
#include <string.h>

#include "cli/data_cli.h"

int ent_cli_data_args(ent_arg *a, ent_data_source *d) {
    int n = 0;
#define OPT(NAME, DST, HELP) a[n++] = (ent_arg){.name = NAME, .type = ARG_STRING, .dst = DST, .cap = sizeof DST, .help = HELP}
    OPT("dataset", d->name,
        "fashion-mnist | mnist | cifar10 (IDX or CIFAR-10 binary files in --data-dir) | arrays (.npy files: "
        "--train-x ...) | text (characters of --text FILE) | ptb (word files ptb.{train,valid,test}.txt in "
        "--data-dir)");
    OPT("data-dir", d->dir,
        "folder with the data set's files (default: fashion-mnist /usr/share/datasets/fashion-mnist, "
        "cifar10 /usr/share/datasets/cifar10)");
    OPT("train-x", d->train_x, "arrays: training inputs, .npy (N, D), (N, H, W) or (N, C, H, W); float32 or uint8");
    OPT("train-y", d->train_y, "arrays: training labels, .npy (N,) integers >= 0");
    OPT("test-x", d->test_x, "arrays: test inputs, .npy (same per-sample shape as --train-x)");
    OPT("test-y", d->test_y, "arrays: test labels, .npy (N,) integers >= 0");
    OPT("text", d->text, "text: a UTF-8 file, split 80/10/10 into train, validation and test characters "
        "(default: the Brown corpus of scripts/setup.sh)");
#undef OPT
    return n;
}

int ent_cli_spec_with_data(ent_arg *out, const ent_arg *own, int n_own, int at, ent_data_source *d) {
    memcpy(out, own, sizeof *own * (size_t)at);
    int n = at + ent_cli_data_args(out + at, d);
    memcpy(out + n, own + at, sizeof *own * (size_t)(n_own - at));
    return n + n_own - at;
}
