/* cmd_eval_tokens.c — `entropic eval` of a model trained on text: the
 * checkpoint's vocabulary must be the data's, and the split is read as the
 * run read it (its batch of streams and window, the state carried). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"
#include "cli/cli.h"

ent_status ent_cli_eval_tokens(const char *ckpt, const char *model, const ent_data_source *data, int split,
                               int64_t batch, ent_token_eval *out) {
    ent_ckpt c;
    ent_vocab *cv = NULL;
    ent_corpus corpus = {0};
    int64_t T = 0;
    ent_status s = ent_ckpt_open(&c, ckpt, model);
    if (s == ENT_OK) s = ent_ckpt_vocab(&c, &cv, &T);
    if (s == ENT_OK && batch <= 0) {
        const char *b = ent_st_meta(c.file, "data.batch");
        batch = b ? atoll(b) : 0;
        if (batch <= 0) batch = 1;
    }
    if (s == ENT_OK) s = ent_corpus_load(&corpus, data);
    if (s == ENT_OK) s = ent_cli_same_vocab(cv, corpus.vocab, ckpt);
    const ent_tokens *t = split == 1 ? corpus.train : split == 2 ? corpus.valid : corpus.test;
    if (s == ENT_OK && batch > t->n / (T + 1)) batch = t->n / (T + 1) > 0 ? t->n / (T + 1) : 1;
    if (s == ENT_OK) s = ent_ckpt_build_tokens(&c, cv, T, batch);
    if (s == ENT_OK) s = ent_model_evaluate_tokens(c.m, c.theta, c.buffers, t, batch, &out->loss, &out->error);
    if (s == ENT_OK) {
        out->tokens = (t->n / batch - 1) / T * batch * T;
        out->chars = ent_vocab_kind_of(cv) == ENT_VOCAB_CHARS;
        snprintf(out->model, sizeof out->model, "%s", c.model);
    }
    ent_ckpt_free(&c);
    ent_vocab_free(cv);
    ent_corpus_free(&corpus);
    return s;
}
