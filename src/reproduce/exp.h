/* exp.h — what the experiment files (exp_*.c) share: the data fields of
 * an experiment on an image set, by its network's train options. */
#ifndef ENT_REPRO_EXP_H
#define ENT_REPRO_EXP_H

#include "reproduce/repro.h"

#define MNIST_DIFFERS                                                                                                 \
    "Fashion-MNIST stands in for MNIST (the same format and size, a harder task): compare the gap between the "     \
    "arms and their ranking, not the error itself; --paper-data --data-dir DIR runs MNIST."

/* Test error on an image set, chosen on a held-out validation split: the
 * paper's budget trains on all samples (5,000 held out), the short one as
 * SHORT_SET says. */
#define IMAGE_EXP(COMMON, PAPER_SET, SHORT_SET)                                                                       \
    .metric = "test_error", .common = COMMON, .paper_set = PAPER_SET, .short_set = SHORT_SET,                      \
    .paper_val = "--val-split 5000"

/* Fashion-MNIST standing in for MNIST; NET: the network's options. The
 * short budget: the first 10,000 training samples, 1,000 held out. */
#define MNIST_EXP(NET)                                                                                                \
    IMAGE_EXP(NET " --dataset fashion-mnist --batch-size 128", "--dataset mnist",                                  \
              "--train-subset 10000 --val-split 1000"),                                                            \
        .data = "Fashion-MNIST", .paper_data = "MNIST", .differs = MNIST_DIFFERS

/* A character corpus: the Brown corpus text for War and Peace, the test
 * loss per character (chosen on the validation split the text brings),
 * the short budget on its first megabyte. NET: the network's options. */
#define TEXT_EXP(NET)                                                                                                 \
    .data = "the Brown corpus text", .paper_data = "War and Peace (a user's copy: --paper-data --text FILE)",      \
    .metric = "test_loss", .common = NET " --dataset text --batch-size 128", .paper_set = "--dataset text",        \
    .short_set = "", .paper_val = "", .text_prefix = 1000000,                                                      \
    .differs = "The Brown corpus (short budget: its first megabyte) stands in for War and Peace; both split "      \
               "80/10/10 into train, validation and test characters."

#endif
